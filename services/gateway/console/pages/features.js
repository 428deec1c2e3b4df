import { h, toast, field, api, act, can, readOnlyNote } from "../lib.js";

// ---- Feature settings: /admin/apps/{id}/messaging

// Tencent's feature switches (功能配置), each off until turned on, by section.
const SWITCHES = [
  [
    "Messages",
    [
      ["msg_extensions", "Message extensions (key-value pairs on a message)"],
      ["user_status", "User status query and change notification"],
      ["conversation_delete_sync", "Deleting a conversation deletes it on the user's other devices"],
    ],
  ],
  [
    "Groups",
    [
      ["community", "Communities"],
      ["community_topics", "Topics in Communities (needs Communities)"],
    ],
  ],
  [
    "Friends",
    [["follow", "Follow and fans: the follow commands"]],
  ],
  [
    "Live groups",
    [
      ["avchatroom_broadcast", "Broadcast messages to every live group"],
      ["avchatroom_member_list", "Online member list (the latest 1,000)"],
    ],
  ],
];

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
  const livePreJoin = num("avchatroom_pre_join_msgs", s.avchatroom_pre_join_msgs, 0, 20);
  livePreJoin.id = "avchatroom-pre-join-msgs";
  const addon = box("group_member_addon", s.group_member_addon);
  const retention = num("history_retention_days", s.history_retention_days, 1, 360);
  retention.id = "history-retention";
  const retentionNote = h("p", { class: "muted", id: "retention-next-change" });
  const showNextChange = (next) => {
    retentionNote.textContent = next
      ? `Changed this month: the next change is allowed from ${next} (UTC).`
      : "One change a calendar month. Developer apps keep at most 7 days.";
  };
  showNextChange(s.history_retention_next_change);
  const verifications = [
    ["AllowType_Type_NeedConfirm", "Needs the user's confirmation"],
    ["AllowType_Type_AllowAny", "Allow anyone"],
    ["AllowType_Type_DenyAny", "Allow no one"],
  ];
  const allowType = h(
    "select",
    { name: "default_allow_type", id: "default-allow-type", disabled: !writable },
    verifications.map(([v, t]) => h("option", { value: v, selected: s.default_allow_type === v }, t)),
  );
  const keepFriends = box("blocklist_keeps_friendship", s.blocklist_keeps_friendship);
  keepFriends.id = "blocklist-keeps-friendship";
  const pullCount = num("conversation_pull_count", s.conversation_pull_count, 1, 500);
  pullCount.id = "conversation-pull-count";
  // One checkbox per group type, checked for the types the setting `key` lists.
  const typeBoxes = (key, prefix, types) =>
    types.map((type) => [
      type,
      h("input", {
        type: "checkbox",
        name: `${key}.${type}`,
        id: `${prefix}-${type.toLowerCase()}`,
        checked: s[key].includes(type),
        disabled: !writable,
      }),
    ]);
  const checkedTypes = (boxes) => boxes.filter(([, input]) => input.checked).map(([type]) => type);
  const typesFieldset = (id, legend, boxes) =>
    h(
      "fieldset",
      { class: "wide", id },
      h("legend", {}, legend),
      boxes.map(([type, input]) => h("label", { class: "check" }, input, type)),
    );
  const receiptTypes = typeBoxes("group_receipt_types", "receipts", ["Work", "Public", "Meeting"]);
  const preJoinTypes = typeBoxes("pre_join_history_types", "pre-join", [
    "Work",
    "Public",
    "Meeting",
    "Community",
  ]);
  const storedTypes = ["Work", "Public", "Meeting", "Community"];
  const tipsMemberChange = typeBoxes("group_tips_member_change", "tips-members", storedTypes);
  const tipsGroupInfo = typeBoxes("group_tips_group_info", "tips-group", storedTypes);
  const tipsMemberInfo = typeBoxes("group_tips_member_info", "tips-member-info", [
    ...storedTypes,
    "AVChatRoom",
  ]);
  const switches = SWITCHES.map(([section, items]) => [
    section,
    items.map(([key, text]) => {
      const input = box(key, s[key]);
      input.id = `switch-${key.replaceAll("_", "-")}`;
      return [key, input, text];
    }),
  ]);
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
    field("Live-group new members see the latest messages (0–20)", livePreJoin),
    field("History retention (days)", retention),
    retentionNote,
    field("Conversations a pull returns (1–500)", pullCount),
    field("Default add-friend verification (accounts that set none)", allowType),
    h("label", { class: "check" }, friend, "C2C only between friends"),
    h("label", { class: "check" }, blockErr, "Blocked sender gets error 20007"),
    h("label", { class: "check" }, addon, "Group member add-on (Premium)"),
    h("label", { class: "check" }, keepFriends, "Blocklisting a friend keeps the friendship"),
    typesFieldset("group-receipts", "Group read receipts (groups of at most 200 members)", receiptTypes),
    typesFieldset(
      "pre-join-history",
      "New members pull messages from before they joined",
      preJoinTypes,
    ),
    typesFieldset("tips-member-change", "Group tips: members joined or left", tipsMemberChange),
    typesFieldset("tips-group-info", "Group tips: the group's profile changed", tipsGroupInfo),
    typesFieldset(
      "tips-member-info",
      "Group tips: a member's role or mute changed",
      tipsMemberInfo,
    ),
    switches.map(([section, items]) =>
      h(
        "fieldset",
        { class: "wide", id: `switches-${section.toLowerCase().replace(" ", "-")}` },
        h("legend", {}, section),
        items.map(([, input, text]) => h("label", { class: "check" }, input, text)),
      ),
    ),
    writable ? h("div", { class: "wide" }, save) : readOnlyNote("config", id),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    act(save, async () => {
      const saved = await api("PATCH", `/admin/apps/${id}/messaging`, {
        login: { mode: Number(mode.value), per_platform: Number(perPlatform.value), web: Number(web.value) },
        recall_window_s: Number(recall.value),
        send_rate: { limit: Number(rateLimit.value), per_s: Number(ratePer.value) },
        c2c_friend_check: friend.checked,
        blocklist_send_error: blockErr.checked,
        avchatroom_msg_rate: Number(live.value),
        avchatroom_pre_join_msgs: Number(livePreJoin.value),
        group_member_addon: addon.checked,
        history_retention_days: Number(retention.value),
        conversation_pull_count: Number(pullCount.value),
        default_allow_type: allowType.value,
        blocklist_keeps_friendship: keepFriends.checked,
        group_receipt_types: checkedTypes(receiptTypes),
        pre_join_history_types: checkedTypes(preJoinTypes),
        group_tips_member_change: checkedTypes(tipsMemberChange),
        group_tips_group_info: checkedTypes(tipsGroupInfo),
        group_tips_member_info: checkedTypes(tipsMemberInfo),
        ...Object.fromEntries(
          switches.flatMap(([, items]) => items.map(([key, input]) => [key, input.checked])),
        ),
      });
      showNextChange(saved.history_retention_next_change);
      toast("Saved: applies to what is sent from now on");
    });
  });
  el.append(
    h("section", { class: "card" }, h("h2", {}, "Messaging"), form),
    h(
      "p",
      { class: "muted" },
      "Custom profile, friend and group fields have their own page: ",
      h("a", { href: `#/custom-fields/${id}` }, "Custom fields"),
      ".",
    ),
  );
}
