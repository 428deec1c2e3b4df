// The console's shared parts: DOM helpers, the admin API client, the user's policies.
//
// The session cookie goes with every same-origin request; every request that changes
// something carries the session's CSRF token in X-CSRF-Token. What the user's policies deny is
// not offered (GET /console/api/me gives them); the admin API enforces them anyway.

// The logged-in user ({user, root, policies, csrf_token}), and what to do when the session ends.
export const session = { me: null, onEnded: (_message) => {} };
export const timers = []; // the current page's refresh timers

const toastBox = document.getElementById("toast");

// ---------------------------------------------------------------- DOM and formatting helpers

export function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  let value;
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "value") value = v;
    else if (k === "checked") el.checked = true;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of kids.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  if (value !== undefined) el.value = String(value);
  return el;
}

export function missing(text) {
  return h("p", { class: "missing" }, text);
}

export function time(ms) {
  return ms ? new Date(ms).toISOString().replace("T", " ").slice(0, 19) + " UTC" : "";
}

export function toast(text, error = false) {
  const item = h("div", { class: error ? "error" : "" }, text);
  toastBox.append(item);
  setTimeout(() => item.remove(), error ? 8000 : 4000);
}

export function table(columns, rows, empty = "Nothing yet.") {
  if (!rows.length) return h("p", { class: "muted" }, empty);
  return h(
    "table",
    {},
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { class: c.num ? "num" : "" }, c.label)))),
    h(
      "tbody",
      {},
      rows.map((r) =>
        h("tr", {}, columns.map((c) => h("td", { class: c.num ? "num" : "" }, c.cell(r)))),
      ),
    ),
  );
}

// A table read a page at a time: `load(false)` reads the first page, `load(true)` appends the
// next one (`fetch(cursor)` answers {<key>: rows, next_cursor}); `more` shows while pages remain.
export function pagedTable({ out, more, current, fetch, key, columns, empty }) {
  let rows = [];
  let cursor = "";
  return async (append) => {
    const page = await fetch(append ? cursor : "");
    if (!current()) return;
    rows = append ? rows.concat(page[key]) : page[key];
    cursor = page.next_cursor;
    more.hidden = !cursor;
    out.replaceChildren(table(columns, rows, empty));
  };
}

export function field(label, input, cls) {
  return h("label", { class: cls || "" }, label, input);
}

export function lines(text) {
  return text
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter(Boolean);
}

// ---------------------------------------------------------------- the API

export class ApiError extends Error {
  constructor(status, body) {
    const e = body && body.error;
    super(e ? `${e.code}: ${e.message}` : `HTTP ${status}`);
    this.status = status;
    this.code = e ? e.code : "";
  }
}

export async function api(method, path, body) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && session.me) headers["X-CSRF-Token"] = session.me.csrf_token;
  const r = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  const text = await r.text();
  let data = text;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep the text (CSV)
  }
  if (r.status === 401 && session.me && !path.startsWith("/console/api/login")) {
    session.me = null;
    session.onEnded("Your session ended: log in again.");
  }
  if (!r.ok) throw new ApiError(r.status, data);
  return data;
}

// Run an action from a button or form: errors become a toast, the button is busy meanwhile.
export async function act(button, fn) {
  if (button) button.disabled = true;
  try {
    return await fn();
  } catch (err) {
    toast(err.message, true);
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}

// ---------------------------------------------------------------- policies

function statements() {
  const out = [];
  for (const p of (session.me && session.me.policies) || []) {
    if (Array.isArray(p.statements)) out.push(...p.statements);
    else out.push(p);
  }
  return out;
}

export function actionMatches(pattern, action) {
  if (pattern === "*") return true;
  const [pr, pv] = pattern.split(":");
  const [ar, av] = action.split(":");
  return (pr === "*" || pr === ar) && (pv === "*" || pv === av);
}

// Whether the user may do `action` ("<resource>:<verb>") in app `sdkappid` (null: outside any
// one app), as services/common/console_policy.py decides it. Deny by default; a deny wins.
export function can(action, sdkappid = null) {
  if (!session.me) return false;
  if (session.me.root) return true;
  let allowed = false;
  for (const s of statements()) {
    if (!(s.actions || []).some((p) => actionMatches(p, action))) continue;
    const scope = s.apps || [];
    // A statement scoped to given apps covers only those apps, never what is outside them.
    const inScope = scope.some(
      (a) => a === "*" || (sdkappid !== null && String(a) === String(sdkappid)),
    );
    if (!inScope) continue;
    if (s.effect === "deny") return false;
    if (s.effect === "allow") allowed = true;
  }
  return allowed;
}

export function readOnlyNote(resource, sdkappid) {
  return can(`${resource}:write`, sdkappid)
    ? null
    : h("p", { class: "muted readonly" }, "Read-only: your policy does not allow changes here.");
}
