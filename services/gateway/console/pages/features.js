import { h, missing, toast, field, api, act, can, readOnlyNote } from "../lib.js";

// ---- Feature settings: /admin/apps/{id}/messaging

export async function pageFeatures(el, id) {
  const s = await api("GET", `/admin/apps/${id}/messaging`);
  const writable = can("config:write", id);
  const num = (name, value, min, max) =>
    h("input", { type: "number", name, value, min, max, disabled: !writable });
  const box = (name, value) => h("input", { type: "checkbox", name, checked: value, disabled: !writable });
  const modes = [
    [1, "1: one device"],
    [2, "2: one mobile + one PC/Web"],
    [3, "3: one per platform"],
    [4, "4: several per platform"],
  ];
  const mode = h(
    "select",
    { name: "login.mode", id: "login-mode", disabled: !writable },
    modes.map(([v, t]) => h("option", { value: v, selected: s.login.mode === v }, t)),
  );
  const perPlatform = num("login.per_platform", s.login.per_platform, 1, 3);
  const web = num("login.web", s.login.web, 1, 10);
  const recall = num("recall_window_s", s.recall_window_s, 1, 604800);
  const rateLimit = num("send_rate.limit", s.send_rate.limit, 1, 1000000);
  const ratePer = num("send_rate.per_s", s.send_rate.per_s, 1, 86400);
  const friend = box("c2c_friend_check", s.c2c_friend_check);
  const blockErr = box("blocklist_send_error", s.blocklist_send_error);
  const live = num("avchatroom_msg_rate", s.avchatroom_msg_rate, 1, 5);
  const addon = box("group_member_addon", s.group_member_addon);
  const save = h("button", { type: "submit", id: "save-features" }, "Save");
  const form = h(
    "form",
    { class: "stack", id: "features-form" },
    field("Login mode (multi-device policy)", mode),
    field("Sessions per platform (mode 4)", perPlatform),
    field("Web sessions (mode 4)", web),
    field("Recall window (s)", recall),
    field("Sender throttle: messages", rateLimit),
    field("… per seconds", ratePer),
    field("Live-group messages a second", live),
    h("label", { class: "check" }, friend, "C2C only between friends"),
    h("label", { class: "check" }, blockErr, "Blocked sender gets error 20007"),
    h("label", { class: "check" }, addon, "Group member add-on (Premium)"),
    writable ? h("div", { class: "wide" }, save) : readOnlyNote("config", id),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    act(save, async () => {
      await api("PATCH", `/admin/apps/${id}/messaging`, {
        login: { mode: Number(mode.value), per_platform: Number(perPlatform.value), web: Number(web.value) },
        recall_window_s: Number(recall.value),
        send_rate: { limit: Number(rateLimit.value), per_s: Number(ratePer.value) },
        c2c_friend_check: friend.checked,
        blocklist_send_error: blockErr.checked,
        avchatroom_msg_rate: Number(live.value),
        group_member_addon: addon.checked,
      });
      toast("Saved: applies to what is sent from now on");
    });
  });
  el.append(
    h("section", { class: "card" }, h("h2", {}, "Messaging"), form),
    missing(
      "Not in the admin API yet, so not on this page: history retention, conversation pull " +
        "count, read receipts, custom fields.",
    ),
  );
}
