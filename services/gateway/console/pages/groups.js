import { h, time, toast, table, act, api, can, readOnlyNote } from "../lib.js";
import { render } from "../app.js";

// ---- Groups: list, members, mute and unmute, destroy (/admin/apps/{id}/groups)

const MEMBER_PAGE = 100;

export async function pageGroups(el, id, current) {
  const writable = can("groups:write", id);
  const base = `/admin/apps/${id}/groups`;
  const first = await api("GET", `${base}?limit=50`);
  if (!current()) return;
  const members = h("div", { id: "group-members" });

  const showMembers = async (g, cursor = "", shown = []) => {
    const q = new URLSearchParams({ cursor, limit: String(MEMBER_PAGE) });
    const got = await api("GET", `${base}/${encodeURIComponent(g.group_id)}?${q}`);
    const all = shown.concat(got.members);
    const more = h("button", { type: "button", class: "secondary", hidden: !got.members_cursor }, "More members");
    more.addEventListener("click", () => act(more, () => showMembers(g, got.members_cursor, all)));
    members.replaceChildren(
      h("h2", {}, `Members of ${got.group_id} (${got.member_num})`),
      table(
        [
          { label: "Member", cell: (m) => m.user },
          { label: "Role", cell: (m) => m.role },
          { label: "Muted until", cell: (m) => (m.mute_until ? time(m.mute_until * 1000) : "") },
          {
            label: "",
            cell: (m) => {
              if (!writable) return "";
              const secs = h("input", { type: "number", min: 0, value: 600, class: "short", title: "seconds; 0 unmutes" });
              const mute = h("button", { type: "button", class: "secondary" }, "Mute");
              const mutes = async (seconds) => {
                await api("POST", `${base}/${encodeURIComponent(g.group_id)}/mute`, {
                  users: [m.user],
                  seconds,
                });
                toast(seconds ? `${m.user} muted` : `${m.user} unmuted`);
                await showMembers(g);
              };
              mute.addEventListener("click", () => act(mute, () => mutes(Number(secs.value))));
              if (!m.mute_until) return h("span", {}, secs, " s ", mute);
              const unmute = h("button", { type: "button", class: "secondary" }, "Unmute");
              unmute.addEventListener("click", () => act(unmute, () => mutes(0)));
              return h("span", {}, secs, " s ", mute, " ", unmute);
            },
          },
        ],
        all,
        "No members listed (an AVChatRoom's members are those online).",
      ),
      more,
    );
  };

  const groups = first.groups.slice();
  const body = h("div", {});
  const more = h("button", { type: "button", class: "secondary", hidden: !first.next_cursor }, "More groups");
  let cursor = first.next_cursor;
  const draw = () =>
    body.replaceChildren(
      h("p", { class: "muted" }, `${first.total} groups; ${groups.length} shown.`),
      table(
        [
          { label: "Group", cell: (g) => g.group_id },
          { label: "Type", cell: (g) => g.type },
          { label: "Name", cell: (g) => g.name },
          { label: "Owner", cell: (g) => g.owner },
          { label: "Members", cell: (g) => g.member_num, num: true },
          {
            label: "",
            cell: (g) => {
              const show = h("button", { type: "button", class: "secondary" }, "Members");
              show.addEventListener("click", () => act(show, () => showMembers(g)));
              if (!writable) return show;
              const destroy = h("button", { type: "button", class: "danger" }, "Destroy");
              destroy.addEventListener("click", () =>
                act(destroy, async () => {
                  await api("DELETE", `${base}/${encodeURIComponent(g.group_id)}`);
                  toast(`${g.group_id} destroyed`);
                  render();
                }),
              );
              return h("span", {}, show, " ", destroy);
            },
          },
        ],
        groups,
        "No groups.",
      ),
    );
  more.addEventListener("click", () =>
    act(more, async () => {
      const page = await api("GET", `${base}?limit=50&cursor=${cursor}`);
      groups.push(...page.groups);
      cursor = page.next_cursor;
      more.hidden = !cursor;
      draw();
    }),
  );
  draw();
  el.append(readOnlyNote("groups", id) || "", h("section", { class: "card" }, body, more, members));
}
