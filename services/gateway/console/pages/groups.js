import { h, missing, time, toast, table, act, can, restOk } from "../lib.js";
import { render } from "../app.js";

// ---- Groups: list, members, mute, destroy (REST v4 as the administrator)


export async function pageGroups(el, id, current) {
  el.append(
    missing("The admin API has no groups route yet: this page uses REST v4 as the app's administrator."),
  );
  if (!can("app:write", id)) {
    el.append(h("p", { class: "muted" }, "Groups are read with an administrator UserSig, which needs app:write."));
    return;
  }
  const writable = can("groups:write", id);
  const list = await restOk(id, "group_open_http_svc", "get_appid_group_list", { Limit: 50 });
  const ids = (list.GroupIdList || []).map((g) => g.GroupId);
  const filter = { GroupBaseInfoFilter: ["Type", "Name", "Owner_Account", "MemberNum"] };
  const info = ids.length
    ? (await restOk(id, "group_open_http_svc", "get_group_info", { GroupIdList: ids, ResponseFilter: filter }))
        .GroupInfo
    : [];
  if (!current()) return;
  const members = h("div", { id: "group-members" });
  const showMembers = async (g) => {
    const got = await restOk(id, "group_open_http_svc", "get_group_member_info", { GroupId: g.GroupId, Limit: 100 });
    const now = Date.now() / 1000;
    members.replaceChildren(
      h("h2", {}, `Members of ${g.GroupId}`),
      table(
        [
          { label: "Member", cell: (m) => m.Member_Account },
          { label: "Role", cell: (m) => m.Role },
          { label: "Muted until", cell: (m) => (m.MuteUntil > now ? time(m.MuteUntil * 1000) : "") },
          {
            label: "",
            cell: (m) => {
              if (!writable) return "";
              const secs = h("input", { type: "number", min: 0, value: 600, class: "short", title: "seconds; 0 unmutes" });
              const mute = h("button", { type: "button", class: "secondary" }, "Mute");
              mute.addEventListener("click", () =>
                act(mute, async () => {
                  await restOk(id, "group_open_http_svc", "forbid_send_msg", {
                    GroupId: g.GroupId,
                    Members_Account: [m.Member_Account],
                    MuteTime: Number(secs.value),
                  });
                  toast(Number(secs.value) ? `${m.Member_Account} muted` : `${m.Member_Account} unmuted`);
                  await showMembers(g);
                }),
              );
              return h("span", {}, secs, " s ", mute);
            },
          },
        ],
        got.MemberList || [],
        "No members.",
      ),
    );
  };
  el.append(
    h(
      "section",
      { class: "card" },
      table(
        [
          { label: "Group", cell: (g) => g.GroupId },
          { label: "Type", cell: (g) => g.Type },
          { label: "Name", cell: (g) => g.Name },
          { label: "Owner", cell: (g) => g.Owner_Account },
          { label: "Members", cell: (g) => g.MemberNum, num: true },
          {
            label: "",
            cell: (g) => {
              const show = h("button", { type: "button", class: "secondary" }, "Members");
              show.addEventListener("click", () => act(show, () => showMembers(g)));
              if (!writable) return show;
              const destroy = h("button", { type: "button", class: "danger" }, "Destroy");
              destroy.addEventListener("click", () =>
                act(destroy, async () => {
                  await restOk(id, "group_open_http_svc", "destroy_group", { GroupId: g.GroupId });
                  toast(`${g.GroupId} destroyed`);
                  render();
                }),
              );
              return h("span", {}, show, " ", destroy);
            },
          },
        ],
        info.filter((g) => g.ErrorCode === undefined || g.ErrorCode === 0),
        "No groups.",
      ),
      members,
    ),
  );
}
