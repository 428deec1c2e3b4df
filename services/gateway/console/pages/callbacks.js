import { h, time, toast, table, field, lines, api, act, can, readOnlyNote, pagedTable } from "../lib.js";
import { render } from "../app.js";

// ---- Callbacks: URL, token, commands; delivery log; DLQ replay; Easemob rules

export async function pageCallbacks(el, id, current) {
  const writable = can("callbacks:write", id);
  let cb = null;
  try {
    cb = await api("GET", `/admin/apps/${id}/callback`);
  } catch (err) {
    if (err.status !== 404) throw err;
  }
  const url = h("input", { name: "url", id: "cb-url", value: cb ? cb.url : "", size: 50, disabled: !writable });
  const token = h("input", { name: "token", id: "cb-token", value: cb ? cb.token : "", disabled: !writable });
  const commands = h(
    "textarea",
    { name: "commands", id: "cb-commands", disabled: !writable, placeholder: "all, or one command a line" },
  );
  commands.value = !cb || cb.commands === "all" ? "all" : cb.commands.join("\n");
  const timeout = h("input", { type: "number", step: "0.1", value: cb ? cb.timeout_s : 2, disabled: !writable });
  const policy = h(
    "select",
    { disabled: !writable },
    ["open", "closed"].map((p) => h("option", { value: p, selected: cb && cb.fail_policy === p }, p)),
  );
  // Tencent's two checkboxes, ticked by default: a message whose before-send callback fails or
  // times out is still delivered. Unticked: refused. Unset, they follow the policy above.
  const deliverAnyway = (name, key) =>
    h("input", {
      type: "checkbox",
      id: `cb-${name}-open`,
      checked: (cb ? cb[key] || cb.fail_policy : "open") === "open",
      disabled: !writable,
    });
  const c2cOpen = deliverAnyway("c2c", "c2c_msg_fail_policy");
  const groupOpen = deliverAnyway("group", "group_msg_fail_policy");
  const save = h("button", { type: "submit", id: "save-callback" }, "Save callback");
  const form = h(
    "form",
    { class: "stack", id: "callback-form" },
    field("URL", url, "wide"),
    field("Token", token),
    field("Timeout (s)", timeout),
    field("When a before-callback fails", policy),
    h("label", { class: "check wide" }, c2cOpen, "If the before-C2C-message callback fails or times out, still deliver the message"),
    h("label", { class: "check wide" }, groupOpen, "If the before-group-message callback fails or times out, still deliver the message"),
    field("Commands", commands, "wide"),
    writable ? h("div", { class: "wide" }, save) : readOnlyNote("callbacks", id),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    act(save, async () => {
      const cmds = lines(commands.value);
      await api("PUT", `/admin/apps/${id}/callback`, {
        url: url.value,
        token: token.value,
        commands: cmds.length === 1 && cmds[0] === "all" ? "all" : cmds,
        timeout_s: Number(timeout.value),
        fail_policy: policy.value,
        c2c_msg_fail_policy: c2cOpen.checked ? "open" : "closed",
        group_msg_fail_policy: groupOpen.checked ? "open" : "closed",
      });
      toast("Callback saved");
    });
  });
  el.append(
    h(
      "section",
      { class: "card" },
      h("h2", {}, "Callback"),
      cb ? null : h("p", { class: "muted" }, "No callback configured."),
      form,
    ),
  );

  el.append(await deliveryLog(id, current));
  // Reading the DLQ topic takes a moment: the page does not wait for it.
  el.append(deadLetters(id, writable, current));
  await rulesSection(el, id, writable);
}

const SPANS = [
  ["1 hour", 3600e3],
  ["24 hours", 86400e3],
  ["7 days", 7 * 86400e3 - 60e3],
];

function result(d) {
  if (d.outcome === "ok") return "delivered";
  return d.http_status ? `failed (HTTP ${d.http_status})` : `failed: ${d.error}`;
}

// The delivery log: one row per HTTP try, from GET /admin/apps/{id}/callbacks/deliveries.
async function deliveryLog(id, current) {
  const span = h("select", { id: "dl-span" }, SPANS.map(([label, ms], i) => h("option", { value: ms, selected: i === 1 }, label)));
  const command = h("input", { id: "dl-command", size: 28, placeholder: "any command" });
  const outcome = h(
    "select",
    { id: "dl-outcome" },
    h("option", { value: "" }, "any"),
    h("option", { value: "ok" }, "delivered"),
    h("option", { value: "failed" }, "failed"),
  );
  const refresh = h("button", { type: "submit", id: "refresh-deliveries" }, "Refresh");
  const more = h("button", { type: "button", class: "secondary", id: "more-deliveries", hidden: true }, "Older");
  const log = h("div", { id: "deliveries" });
  const load = pagedTable({
    out: log,
    more,
    current,
    key: "deliveries",
    fetch: (cursor) => {
      const q = new URLSearchParams({ since: String(Date.now() - Number(span.value)), limit: "50" });
      if (command.value.trim()) q.set("command", command.value.trim());
      if (outcome.value) q.set("outcome", outcome.value);
      if (cursor) q.set("cursor", cursor);
      return api("GET", `/admin/apps/${id}/callbacks/deliveries?${q}`);
    },
    columns: [
      { label: "Time", cell: (d) => time(d.time_ms) },
      { label: "Command", cell: (d) => d.command },
      { label: "Server", cell: (d) => d.target_host },
      { label: "Result", cell: (d) => h("span", { class: d.outcome === "ok" ? "" : "error", title: d.error }, result(d)) },
      { label: "Try", cell: (d) => d.attempt || "", num: true },
      { label: "ms", cell: (d) => d.latency_ms, num: true },
      { label: "Event id", cell: (d) => h("code", {}, d.event_id) },
    ],
    empty: "No deliveries match.",
  });
  const form = h("form", { class: "inline", id: "deliveries-form" }, field("Last", span), field("Command", command), field("Result", outcome), refresh);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    act(refresh, () => load(false));
  });
  more.addEventListener("click", () => act(more, () => load(true)));
  await act(refresh, () => load(false));
  return h(
    "section",
    { class: "card" },
    h("h2", {}, "Delivery log"),
    h("p", { class: "muted" }, "Every HTTP try of a callback or an Easemob rule, newest first; tries 1 to 3 are inline, later ones come from the retry queue."),
    form,
    log,
    more,
  );
}

// The DLQ: after-callbacks that failed every retry, listed and replayed one by one or all.
function deadLetters(id, writable, current) {
  const list = h("div", { id: "dlq" }, h("p", { class: "muted" }, "Reading the dead letters…"));
  const refresh = h("button", { class: "secondary", type: "button", id: "refresh-dlq" }, "Refresh");
  const out = h("span", { class: "muted", id: "dlq-result" });
  const replayOne = (letter) => {
    const b = h("button", { class: "secondary", type: "button", "data-letter": letter.id }, "Replay");
    b.addEventListener("click", () =>
      act(b, async () => {
        await api("POST", `/admin/apps/${id}/callbacks/dlq/${encodeURIComponent(letter.id)}/replay`);
        toast(`Dead letter ${letter.id} replayed`);
      }),
    );
    return b;
  };
  const load = async () => {
    const dlq = await api("GET", `/admin/apps/${id}/callbacks/dlq?limit=100`);
    if (!current()) return;
    list.replaceChildren(
      table(
        [
          { label: "Id", cell: (x) => x.id },
          { label: "Command", cell: (x) => x.command + (x.rule ? ` (rule ${x.rule})` : "") },
          { label: "Event time", cell: (x) => time(x.event_time) },
          { label: "Dead since", cell: (x) => time(x.failed_at) },
          { label: "Retries", cell: (x) => x.attempts, num: true },
          { label: "Last error", cell: (x) => x.last_error },
          { label: "", cell: (x) => (writable ? replayOne(x) : "") },
        ],
        dlq.letters,
        "No dead letters.",
      ),
      dlq.complete ? "" : h("p", { class: "muted" }, "More than shown: replay these, then refresh."),
    );
  };
  refresh.addEventListener("click", () => act(refresh, load));
  act(refresh, load);
  const tools = [refresh];
  if (writable) {
    const replay = h("button", { class: "secondary", type: "button", id: "replay-dlq" }, "Replay all");
    replay.addEventListener("click", () =>
      act(replay, async () => {
        const r = await api("POST", `/admin/apps/${id}/callbacks/replay`);
        out.textContent = ` replayed ${r.replayed} (scanned ${r.scanned}${r.complete ? "" : ", more left: replay again"})`;
        await load();
      }),
    );
    tools.push(replay, out);
  }
  return h(
    "section",
    { class: "card" },
    h("h2", {}, "Dead letters"),
    h(
      "p",
      { class: "muted" },
      "After-callbacks that failed every retry, oldest first. A replay posts them again to the current URL. One replayed by itself stays listed until all are replayed (the app server drops a repeat by its TidingsEventId).",
    ),
    list,
    h("div", {}, tools),
  );
}

const CHAT_TYPES = ["single", "group", "chatroom"];
const MSG_TYPES = ["txt", "img", "loc", "audio", "video", "file", "custom", "cmd"];

function checks(name, all, chosen) {
  return h(
    "span",
    { class: "checks", "data-field": name },
    all.map((v) => h("span", {}, h("input", { type: "checkbox", value: v, title: v, checked: chosen.includes(v) }), ` ${v} `)),
  );
}

function checked(box) {
  return [...box.querySelectorAll("input:checked")].map((i) => i.value);
}

function select(values, chosen, attrs = {}) {
  return h("select", attrs, values.map((v) => h("option", { value: v, selected: v === chosen }, v)));
}

// The edit form of one rule: PUT with the rule as it is, changed where the form says.
function ruleEditor(id, kind, rule) {
  const url = h("input", { id: "rule-url", value: rule.url, size: 40, required: true });
  const enabled = h("input", { type: "checkbox", id: "rule-enabled", checked: rule.enabled });
  const save = h("button", { type: "submit", id: "rule-save" }, "Save rule");
  const cancel = h("button", { type: "button", class: "secondary" }, "Cancel");
  let extra;
  let changes;
  if (kind === "pre-send") {
    const chats = checks("chat_types", CHAT_TYPES, rule.chat_types);
    const msgs = checks("msg_types", MSG_TYPES, rule.msg_types);
    const onFailure = select(["pass", "block"], rule.on_failure, { id: "rule-on-failure" });
    const group = (label, box) => h("div", { class: "wide" }, h("span", { class: "muted" }, `${label}: `), box);
    extra = [group("Chats", chats), group("Messages", msgs), field("On failure", onFailure)];
    changes = () => ({ chat_types: checked(chats), msg_types: checked(msgs), on_failure: onFailure.value });
  } else {
    const stream = select(["chat", "offline"], rule.stream, { id: "rule-stream" });
    extra = [field("Stream", stream)];
    changes = () => ({ stream: stream.value });
  }
  const form = h(
    "form",
    { class: "stack", id: "rule-editor" },
    h("h3", { class: "wide" }, `Edit ${kind} rule ${rule.name}`),
    field("URL", url, "wide"),
    ...extra,
    field("Enabled", enabled),
    h("div", { class: "wide" }, save, " ", cancel),
  );
  cancel.addEventListener("click", () => form.remove());
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    act(save, async () => {
      // The secret as listed: an empty one would keep it too.
      const body = { ...rule, url: url.value, enabled: enabled.checked, ...changes() };
      await api("PUT", `/admin/apps/${id}/rules/${kind}/${encodeURIComponent(rule.name)}`, body);
      toast(`Rule ${rule.name} saved`);
      render();
    });
  });
  return form;
}

async function rulesSection(el, id, writable) {
  const rules = await api("GET", `/admin/apps/${id}/rules`);
  const editorSlot = h("div");
  const tools = (kind, rule) => {
    if (!writable) return "";
    const path = `/admin/apps/${id}/rules/${kind}/${encodeURIComponent(rule.name)}`;
    const toggle = h(
      "button",
      { class: "secondary", type: "button", id: `toggle-${kind}-${rule.name}` },
      rule.enabled ? "Disable" : "Enable",
    );
    toggle.addEventListener("click", () =>
      act(toggle, async () => {
        await api("PUT", path, { ...rule, enabled: !rule.enabled });
        toast(`Rule ${rule.name} ${rule.enabled ? "disabled" : "enabled"}`);
        render();
      }),
    );
    const edit = h("button", { class: "secondary", type: "button", id: `edit-${kind}-${rule.name}` }, "Edit");
    edit.addEventListener("click", () => {
      editorSlot.replaceChildren(ruleEditor(id, kind, rule));
      editorSlot.scrollIntoView();
    });
    const del = h("button", { class: "danger", type: "button" }, "Delete");
    del.addEventListener("click", () =>
      act(del, async () => {
        await api("DELETE", path);
        render();
      }),
    );
    return h("span", {}, toggle, " ", edit, " ", del);
  };
  const card = h(
    "section",
    { class: "card", id: "rules" },
    h("h2", {}, "Pre-send rules (Easemob)"),
    table(
      [
        { label: "Name", cell: (r) => r.name },
        { label: "URL", cell: (r) => r.url },
        { label: "Chats", cell: (r) => r.chat_types.join(", ") },
        { label: "Messages", cell: (r) => r.msg_types.join(", ") },
        { label: "On failure", cell: (r) => r.on_failure },
        { label: "Enabled", cell: (r) => (r.enabled ? "yes" : "no") },
        { label: "", cell: (r) => tools("pre-send", r) },
      ],
      rules.pre_send,
      "No pre-send rules.",
    ),
    h("h2", {}, "Post-send rules (Easemob)"),
    table(
      [
        { label: "Name", cell: (r) => r.name },
        { label: "URL", cell: (r) => r.url },
        { label: "Stream", cell: (r) => r.stream },
        { label: "REST too", cell: (r) => (r.include_rest ? "yes" : "no") },
        { label: "Enabled", cell: (r) => (r.enabled ? "yes" : "no") },
        { label: "", cell: (r) => tools("post-send", r) },
      ],
      rules.post_send,
      "No post-send rules.",
    ),
    editorSlot,
  );
  if (writable) {
    const name = h("input", { required: true });
    const url = h("input", { required: true, size: 40 });
    const kind = h("select", {}, h("option", { value: "pre-send" }, "pre-send"), h("option", { value: "post-send" }, "post-send"));
    const onFailure = h("select", {}, h("option", { value: "pass" }, "pass"), h("option", { value: "block" }, "block"));
    const stream = h("select", {}, h("option", { value: "chat" }, "chat"), h("option", { value: "offline" }, "offline"));
    const add = h("button", { type: "submit" }, "Add rule");
    const form = h(
      "form",
      { class: "inline" },
      field("Kind", kind),
      field("Name", name),
      field("URL", url),
      field("Pre-send: on failure", onFailure),
      field("Post-send: stream", stream),
      add,
    );
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      act(add, async () => {
        const body =
          kind.value === "pre-send"
            ? { name: name.value, url: url.value, chat_types: CHAT_TYPES, msg_types: MSG_TYPES, on_failure: onFailure.value }
            : { name: name.value, url: url.value, stream: stream.value };
        await api("POST", `/admin/apps/${id}/rules/${kind.value}`, body);
        toast("Rule added");
        render();
      });
    });
    card.append(h("h2", {}, "Add a rule"), form);
  }
  el.append(card);
}
