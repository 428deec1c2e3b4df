import { h, time, toast, table, field, lines, api, act, can, readOnlyNote } from "../lib.js";
import { render } from "../app.js";

// ---- Callbacks: URL, token, commands; delivery log; DLQ replay; Easemob rules

export async function pageCallbacks(el, id) {
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
  const save = h("button", { type: "submit", id: "save-callback" }, "Save callback");
  const form = h(
    "form",
    { class: "stack", id: "callback-form" },
    field("URL", url, "wide"),
    field("Token", token),
    field("Timeout (s)", timeout),
    field("When the app server fails", policy),
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

  // The delivery log: the event log's callback records.
  const log = h("div", { id: "deliveries" });
  const refresh = h("button", { class: "secondary", type: "button", id: "refresh-deliveries" }, "Refresh");
  const loadLog = () =>
    act(refresh, async () => {
      const since = Date.now() - 24 * 3600 * 1000;
      const page = await api("GET", `/admin/apps/${id}/events?event=callback&limit=50&since=${since}`);
      log.replaceChildren(
        table(
          [
            { label: "Time", cell: (e) => time(e.time) },
            { label: "Command", cell: (e) => e.detail },
            { label: "Result", cell: (e) => (e.code === 0 ? "delivered" : `failed (${e.code})`) },
            { label: "ms", cell: (e) => e.latency_ms, num: true },
            { label: "Detail", cell: (e) => e.description },
          ],
          page.events,
          "No deliveries in the last 24 hours.",
        ),
      );
    });
  refresh.addEventListener("click", loadLog);
  const dlq = h("div");
  if (writable) {
    const replay = h("button", { class: "secondary", type: "button" }, "Replay dead letters");
    const out = h("span", { class: "muted" });
    replay.addEventListener("click", () =>
      act(replay, async () => {
        const r = await api("POST", `/admin/apps/${id}/callbacks/replay`);
        out.textContent = ` replayed ${r.replayed} (scanned ${r.scanned}${r.complete ? "" : ", more left: replay again"})`;
      }),
    );
    dlq.append(replay, out);
  }
  el.append(
    h(
      "section",
      { class: "card" },
      h("h2", {}, "Deliveries (last 24 hours)"),
      refresh,
      log,
      h("h2", {}, "Dead letters"),
      h(
        "p",
        { class: "muted" },
        "After-callbacks that failed every retry wait in the DLQ. The admin API can replay them; it has no route to list them yet.",
      ),
      dlq,
    ),
  );
  await loadLog();
  await rulesSection(el, id, writable);
}

const CHAT_TYPES = ["single", "group", "chatroom"];
const MSG_TYPES = ["txt", "img", "loc", "audio", "video", "file", "custom", "cmd"];

async function rulesSection(el, id, writable) {
  const rules = await api("GET", `/admin/apps/${id}/rules`);
  const del = (kind, name) => {
    if (!writable) return "";
    const b = h("button", { class: "danger", type: "button" }, "Delete");
    b.addEventListener("click", () =>
      act(b, async () => {
        await api("DELETE", `/admin/apps/${id}/rules/${kind}/${encodeURIComponent(name)}`);
        render();
      }),
    );
    return b;
  };
  const card = h(
    "section",
    { class: "card" },
    h("h2", {}, "Pre-send rules (Easemob)"),
    table(
      [
        { label: "Name", cell: (r) => r.name },
        { label: "URL", cell: (r) => r.url },
        { label: "Chats", cell: (r) => r.chat_types.join(", ") },
        { label: "Messages", cell: (r) => r.msg_types.join(", ") },
        { label: "On failure", cell: (r) => r.on_failure },
        { label: "Enabled", cell: (r) => (r.enabled ? "yes" : "no") },
        { label: "", cell: (r) => del("pre-send", r.name) },
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
        { label: "", cell: (r) => del("post-send", r.name) },
      ],
      rules.post_send,
      "No post-send rules.",
    ),
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
