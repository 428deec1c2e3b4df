import { h, time, field, api, act, pagedTable } from "../lib.js";

// ---- The admin audit log

export async function pageAudit(el, _id, current) {
  const app = h("input", { id: "audit-app", size: 12, placeholder: "every app" });
  const actor = h("input", { size: 12 });
  const action = h("input", { size: 16, placeholder: "e.g. callback." });
  const search = h("button", { type: "submit" }, "Search");
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "More");
  const out = h("div", { id: "audit" });
  const load = pagedTable({
    out,
    more,
    current,
    key: "entries",
    fetch: (cursor) => {
      const q = new URLSearchParams({ limit: "50" });
      if (app.value.trim()) q.set("app", app.value.trim());
      if (actor.value.trim()) q.set("actor", actor.value.trim());
      if (action.value.trim()) q.set("action", action.value.trim());
      if (cursor) q.set("cursor", cursor);
      return api("GET", `/admin/audit-log?${q}`);
    },
    columns: [
      { label: "Time", cell: (e) => time(e.time_ms) },
      { label: "Who", cell: (e) => `${e.actor} (${e.source}${e.client_ip ? `, ${e.client_ip}` : ""})` },
      { label: "App", cell: (e) => e.sdkappid || "" },
      { label: "Action", cell: (e) => e.action + (e.resource ? ` ${e.resource}` : "") },
      { label: "Before", cell: (e) => h("pre", {}, e.before === null ? "" : JSON.stringify(e.before)) },
      { label: "After", cell: (e) => h("pre", {}, e.after === null ? "" : JSON.stringify(e.after)) },
    ],
    empty: "No changes recorded.",
  });
  const form = h("form", { class: "inline" }, field("App", app), field("Who", actor), field("Action", action), search);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    act(search, () => load(false));
  });
  more.addEventListener("click", () => act(more, () => load(true)));
  el.append(form, out, more);
  await load(false);
}
