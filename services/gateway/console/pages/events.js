import { h, time, field, table, api, act, can } from "../lib.js";

// ---- Troubleshooting: the event log

const EVENTS = ["", "login", "logout", "disconnect", "kick", "c2c_send", "group_send", "recall", "callback", "push"];

function localInput(ms) {
  const d = new Date(ms - new Date().getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 16);
}

export async function pageEvents(el, id, current) {
  const since = h("input", { type: "datetime-local", value: localInput(Date.now() - 3600 * 1000) });
  const until = h("input", { type: "datetime-local" });
  const event = h("select", { id: "ev-event" }, EVENTS.map((e) => h("option", { value: e }, e || "any")));
  const user = h("input", { id: "ev-user", size: 12 });
  const peer = h("input", { size: 12 });
  const group = h("input", { size: 12 });
  const code = h("input", { size: 6, placeholder: "any" });
  const search = h("button", { type: "submit", id: "ev-search" }, "Search");
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "More");
  const body = h("tbody");
  const out = h("div", { id: "ev-result" });
  let cursor = "";
  const query = () => {
    const q = new URLSearchParams({ since: String(new Date(since.value).getTime()), limit: "50" });
    if (until.value) q.set("until", String(new Date(until.value).getTime()));
    for (const [k, i] of [["event", event], ["user", user], ["peer", peer], ["group", group], ["code", code]]) {
      if (i.value.trim()) q.set(k, i.value.trim());
    }
    if (cursor) q.set("cursor", cursor);
    return q;
  };
  const load = async (append) => {
    const page = await api("GET", `/admin/apps/${id}/events?${query()}`);
    if (!current()) return;
    if (!append) body.replaceChildren();
    for (const e of page.events) {
      body.append(
        h(
          "tr",
          {},
          h("td", {}, time(e.time)),
          h("td", {}, e.event),
          h("td", {}, e.user),
          h("td", {}, e.peer || e.group_id),
          h("td", { class: e.code ? "error" : "" }, e.code),
          h("td", {}, e.description, e.detail ? ` (${e.detail})` : ""),
          h("td", {}, e.platform, " ", e.client_ip),
          h("td", { class: "num" }, e.latency_ms),
        ),
      );
    }
    cursor = page.next_cursor;
    more.hidden = !cursor;
    out.replaceChildren(
      body.children.length
        ? h("table", {}, h("thead", {}, h("tr", {}, ["Time", "Event", "User", "Peer / group", "Code", "What", "Client", "ms"].map((c) => h("th", {}, c)))), body)
        : h("p", { class: "muted" }, "No events match."),
    );
  };
  const form = h(
    "form",
    { class: "inline" },
    field("Since", since),
    field("Until", until),
    field("Event", event),
    field("User", user),
    field("Peer", peer),
    field("Group", group),
    field("Code", code),
    search,
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    cursor = "";
    act(search, () => load(false));
  });
  more.addEventListener("click", () => act(more, () => load(true)));
  el.append(h("p", { class: "muted" }, "The app's event log keeps 7 days: logins, kicks, sends, recalls, callbacks and pushes."), form, out, more);
  await load(false);
  // Device logs are the accounts' data: shown to whoever may read accounts.
  if (can("accounts:read", id)) await deviceLogs(el, id, current);
}

// ---- Device logs: ask a user's connected clients for their SDK logs, list and download them

async function deviceLogs(el, id, current) {
  const user = h("input", { id: "dl-user", size: 16, placeholder: "every user" });
  const list = h("div", { id: "dl-list" });
  const show = h("button", { type: "submit", id: "dl-show" }, "Show logs");
  const ask = h("button", { type: "button", class: "secondary", id: "dl-ask" }, "Ask this user's clients");
  const load = async () => {
    const q = new URLSearchParams({ limit: "50" });
    if (user.value.trim()) q.set("user", user.value.trim());
    const page = await api("GET", `/admin/apps/${id}/device-logs?${q}`);
    if (!current()) return;
    list.replaceChildren(
      table(
        [
          { label: "Uploaded", cell: (l) => time(l.uploaded_at) },
          { label: "User", cell: (l) => l.user },
          { label: "Platform", cell: (l) => l.platform },
          { label: "Bytes", cell: (l) => l.size, num: true },
          {
            label: "",
            cell: (l) =>
              h("a", { href: `/admin/apps/${id}/device-logs/${encodeURIComponent(l.upload_id)}`, download: "" }, "Download"),
          },
        ],
        page.device_logs,
        "No device logs uploaded.",
      ),
    );
  };
  const form = h("form", { class: "inline" }, field("User", user), show);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    act(show, load);
  });
  if (can("accounts:write", id)) {
    form.append(ask);
    ask.addEventListener("click", () =>
      act(ask, async () => {
        if (!user.value.trim()) throw new Error("name the user whose clients should upload");
        const r = await api("POST", `/admin/apps/${id}/users/${encodeURIComponent(user.value.trim())}/device-logs`);
        list.prepend(h("p", { class: "okay" }, `Asked ${r.sessions} connected client(s) to upload (request ${r.request_id}).`));
      }),
    );
  }
  el.append(h("section", { class: "card" }, h("h2", {}, "Device logs"), form, list));
  await load();
}
