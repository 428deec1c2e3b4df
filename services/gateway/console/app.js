// Tidings console: a single-page app over the admin API (/admin/*) and the console session
// (/console/api/*). No framework, no build step: plain ES modules, served by the gateway.
//
// The session cookie goes with every same-origin request; every request that changes
// something carries the session's CSRF token in X-CSRF-Token. What the user's policies deny is
// not offered (GET /console/api/me gives them); the admin API enforces them anyway.

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const appSelect = document.getElementById("app-select");
const toastBox = document.getElementById("toast");

let me = null; // {user, root, policies, csrf_token}
let apps = []; // GET /admin/apps
let currentApp = null; // SDKAppID the app pages show
let renderToken = 0; // a page render that is no longer current stops drawing
let timers = []; // the current page's refresh timers

// ---------------------------------------------------------------- DOM and formatting helpers

function h(tag, attrs, ...kids) {
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

function missing(text) {
  return h("p", { class: "missing" }, text);
}

function time(ms) {
  return ms ? new Date(ms).toISOString().replace("T", " ").slice(0, 19) + " UTC" : "";
}

function toast(text, error = false) {
  const item = h("div", { class: error ? "error" : "" }, text);
  toastBox.append(item);
  setTimeout(() => item.remove(), error ? 8000 : 4000);
}

function table(columns, rows, empty = "Nothing yet.") {
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

function field(label, input, cls) {
  return h("label", { class: cls || "" }, label, input);
}

function lines(text) {
  return text
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter(Boolean);
}

// ---------------------------------------------------------------- the API

class ApiError extends Error {
  constructor(status, body) {
    const e = body && body.error;
    super(e ? `${e.code}: ${e.message}` : `HTTP ${status}`);
    this.status = status;
    this.code = e ? e.code : "";
  }
}

async function api(method, path, body) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && me) headers["X-CSRF-Token"] = me.csrf_token;
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
  if (r.status === 401 && me && !path.startsWith("/console/api/login")) {
    me = null;
    showLogin("Your session ended: log in again.");
  }
  if (!r.ok) throw new ApiError(r.status, data);
  return data;
}

// Run an action from a button or form: errors become a toast, the button is busy meanwhile.
async function act(button, fn) {
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

// REST v4 as the app's administrator: the admin API issues a short-lived UserSig.
const sigs = new Map();
async function rest(sdkappid, service, command, body) {
  let sig = sigs.get(sdkappid);
  if (!sig || sig.until < Date.now()) {
    const issued = await api("POST", `/admin/apps/${sdkappid}/usersig`, {
      user: "administrator",
      expire: 600,
    });
    sig = { usersig: issued.usersig, until: Date.now() + 500_000 };
    sigs.set(sdkappid, sig);
  }
  const q = new URLSearchParams({
    sdkappid: String(sdkappid),
    identifier: "administrator",
    usersig: sig.usersig,
    random: String(Math.floor(Math.random() * 2 ** 31)),
    contenttype: "json",
  });
  const r = await fetch(`/v4/${service}/${command}?${q}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
    credentials: "omit",
  });
  if (!r.ok) throw new Error(`REST ${service}/${command}: HTTP ${r.status}`);
  return r.json();
}

// ---------------------------------------------------------------- policies

function statements() {
  const out = [];
  for (const p of (me && me.policies) || []) {
    if (Array.isArray(p.statements)) out.push(...p.statements);
    else out.push(p);
  }
  return out;
}

function actionMatches(pattern, action) {
  if (pattern === "*") return true;
  const [pr, pv] = pattern.split(":");
  const [ar, av] = action.split(":");
  return (pr === "*" || pr === ar) && (pv === "*" || pv === av);
}

// Whether the user may do `action` ("<resource>:<verb>") in app `sdkappid` (null: outside any
// one app), as services/common/console_policy.py decides it. Deny by default; a deny wins.
function can(action, sdkappid = null) {
  if (!me) return false;
  if (me.root) return true;
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

function readOnlyNote(resource, sdkappid) {
  return can(`${resource}:write`, sdkappid)
    ? null
    : h("p", { class: "muted readonly" }, "Read-only: your policy does not allow changes here.");
}

// ---------------------------------------------------------------- pages

const PAGES = [
  { id: "apps", res: "app", label: "Apps", group: "Apps", render: pageApps },
  { id: "accounts", res: "accounts", label: "Accounts", group: "App", app: true, render: pageAccounts },
  { id: "groups", res: "groups", label: "Groups", group: "App", app: true, render: pageGroups },
  { id: "features", res: "config", label: "Feature settings", group: "App", app: true, render: pageFeatures },
  { id: "callbacks", res: "callbacks", label: "Callbacks", group: "App", app: true, render: pageCallbacks },
  { id: "words", res: "words", label: "Sensitive words", group: "App", app: true, render: pageWords },
  { id: "push", res: "push", label: "Push", group: "App", app: true, render: pagePush },
  { id: "security", res: "config", label: "IP whitelist & limits", group: "App", app: true, render: pageSecurity },
  { id: "stats", res: "stats", label: "Statistics", group: "Operations", app: true, render: pageStats },
  { id: "monitor", res: "stats", label: "Monitoring", group: "Operations", app: true, render: pageMonitor },
  { id: "events", res: "stats", label: "Troubleshooting", group: "Operations", app: true, render: pageEvents },
  { id: "reports", res: "reports", label: "Reports", group: "Operations", app: true, render: pageReports },
  { id: "audit", res: "audit", label: "Audit log", group: "Administration", render: pageAudit },
  { id: "subaccounts", res: "subaccounts", label: "Sub-accounts", group: "Administration", render: pageSubaccounts },
];

function route() {
  const [, page = "apps", app = ""] = location.hash.split("/");
  return { page, app: app ? Number(app) : null };
}

function go(page, app = currentApp) {
  const spec = PAGES.find((p) => p.id === page);
  location.hash = spec && spec.app && app ? `#/${page}/${app}` : `#/${page}`;
}

function drawNav(active) {
  nav.replaceChildren();
  let group = "";
  for (const p of PAGES) {
    if (p.app && currentApp === null) continue;
    // What the policy does not let the user read is not offered (the apps list is filtered).
    if (p.id !== "apps" && !can(`${p.res}:read`, p.app ? currentApp : null)) continue;
    if (p.group !== group) {
      group = p.group;
      nav.append(h("div", { class: "group" }, group));
    }
    const href = p.app ? `#/${p.id}/${currentApp}` : `#/${p.id}`;
    nav.append(h("a", { href, class: p.id === active ? "active" : "", "data-page": p.id }, p.label));
  }
  nav.hidden = false;
}

function drawAppPicker() {
  appSelect.replaceChildren(
    ...apps.map((a) =>
      h("option", { value: a.sdkappid, selected: a.sdkappid === currentApp }, `${a.sdkappid} ${a.name}`),
    ),
  );
  if (currentApp !== null) appSelect.value = String(currentApp);
  document.getElementById("app-picker").hidden = apps.length === 0;
}

async function loadApps() {
  apps = (await api("GET", "/admin/apps")).apps;
  if (currentApp === null || !apps.some((a) => a.sdkappid === currentApp)) {
    currentApp = apps.length ? apps[0].sdkappid : null;
  }
  drawAppPicker();
}

async function render() {
  if (!me) return;
  for (const t of timers) clearInterval(t);
  timers = [];
  const { page, app } = route();
  const spec = PAGES.find((p) => p.id === page) || PAGES[0];
  const token = ++renderToken;
  // An app made since the list was read (by the CLI, another admin): read the list again.
  const known = () => apps.some((a) => a.sdkappid === app);
  if (app !== null && !known()) await loadApps();
  if (token !== renderToken) return;
  if (app !== null && known()) currentApp = app;
  drawAppPicker();
  drawNav(spec.id);
  const body = h("div", { id: `page-${spec.id}` });
  main.replaceChildren(h("h1", {}, spec.label + (spec.app && currentApp ? ` · ${currentApp}` : "")), body);
  if (spec.app && app !== null && !known()) {
    body.append(missing(`No app ${app}, or your policy does not let you read it.`));
    return;
  }
  if (spec.app && currentApp === null) {
    body.append(missing("No app yet: create one on the Apps page."));
    return;
  }
  try {
    await spec.render(body, currentApp, () => token === renderToken);
  } catch (err) {
    if (token === renderToken) body.append(h("p", { class: "error" }, err.message));
  }
  // Drawn, with its first data (the browser tests wait for this).
  body.dataset.ready = "true";
}

// ---- Apps: list, create with an edition, show and rotate keys

async function pageApps(el) {
  await loadApps();
  const createResult = h("div");
  if (can("app:write")) {
    const name = h("input", { name: "name", required: true, maxlength: 64, placeholder: "my app" });
    const edition = h(
      "select",
      { name: "edition" },
      ["Developer", "Standard", "Premium"].map((e) => h("option", { value: e }, e)),
    );
    const form = h(
      "form",
      { class: "inline", id: "create-app" },
      field("Name", name),
      field("Edition", edition),
      h("button", { type: "submit" }, "Create app"),
    );
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      act(form.querySelector("button"), async () => {
        const made = await api("POST", "/admin/apps", { name: name.value, edition: edition.value });
        currentApp = made.sdkappid;
        createResult.replaceChildren(
          h(
            "p",
            { class: "okay created-app" },
            `Created app ${made.sdkappid} (${made.edition}). Its key: `,
            h("code", { class: "key" }, made.key),
          ),
        );
        toast(`App ${made.sdkappid} created`);
        await loadApps();
        drawNav("apps");
        listBox.replaceChildren(appTable());
      });
    });
    el.append(h("section", { class: "card" }, h("h2", {}, "Create an app"), form, createResult));
  }
  const listBox = h("div");
  const appTable = () =>
    table(
      [
        { label: "SDKAppID", cell: (a) => h("a", { href: `#/features/${a.sdkappid}` }, a.sdkappid) },
        { label: "Name", cell: (a) => a.name },
        { label: "Edition", cell: (a) => a.edition },
        { label: "Created", cell: (a) => time(a.created_at * 1000) },
        {
          label: "Keys",
          cell: (a) =>
            a.keys
              .map((k) => (k.current ? "current" : `old, valid until ${time((k.valid_until || 0) * 1000)}`))
              .join("; "),
        },
        { label: "Key", cell: (a) => keyCell(a) },
      ],
      apps,
      "No apps yet.",
    );
  listBox.append(appTable());
  el.append(h("section", { class: "card" }, h("h2", {}, "Apps"), listBox));
}

function keyCell(a) {
  const out = h("div", { class: "key-cell" });
  const shown = h("code", { class: "key" });
  // Reading the key (include_key=true) needs app:write, as rotating it does.
  if (can("app:write", a.sdkappid)) {
    const show = h("button", { class: "secondary", type: "button" }, "Show key");
    show.addEventListener("click", () =>
      act(show, async () => {
        const got = await api("GET", `/admin/apps/${a.sdkappid}?include_key=true`);
        shown.textContent = got.key;
      }),
    );
    out.append(show, " ");
    const grace = h("input", { type: "number", min: 0, value: 86400, class: "short", title: "grace (s)" });
    const rotate = h("button", { class: "danger", type: "button" }, "Rotate key");
    rotate.addEventListener("click", () =>
      act(rotate, async () => {
        const got = await api("POST", `/admin/apps/${a.sdkappid}/rotate-key`, {
          grace_s: Number(grace.value),
        });
        shown.textContent = got.key;
        toast(`New key for ${a.sdkappid}; the old one verifies for ${got.grace_s} s`);
      }),
    );
    out.append(rotate, " grace ", grace, " s");
  }
  out.append(h("div", {}, shown));
  return out;
}

// ---- Accounts: import from a file, check, kick

// A file's rows: one UserID a line, CSV (UserID,Nick,FaceUrl; a header line is skipped), or
// JSON lines ({"UserID","Nick","FaceUrl"}). Each row keeps its line number.
function parseAccounts(text) {
  const rows = [];
  const bad = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    const n = i + 1;
    if (!line) return;
    let row;
    if (line.startsWith("{")) {
      try {
        const o = JSON.parse(line);
        row = { UserID: String(o.UserID ?? o.user ?? ""), Nick: o.Nick, FaceUrl: o.FaceUrl };
      } catch {
        bad.push({ line: n, reason: "not valid JSON" });
        return;
      }
    } else {
      const [id, nick, face] = line.split(",").map((s) => s.trim());
      if (n === 1 && /^userid$/i.test(id)) return;
      row = { UserID: id, Nick: nick || undefined, FaceUrl: face || undefined };
    }
    const bytes = new TextEncoder().encode(row.UserID).length;
    if (!row.UserID) bad.push({ line: n, reason: "no UserID" });
    else if (bytes > 32) bad.push({ line: n, reason: "UserID longer than 32 bytes" });
    else rows.push({ ...row, line: n });
  });
  return { rows, bad };
}

async function pageAccounts(el, id) {
  el.append(
    missing(
      "The admin API has no accounts route yet: this page imports, checks and kicks through " +
        "REST v4 (account_import, account_check, kick) as the app's administrator, with a " +
        "UserSig the admin API issues (POST /admin/apps/{id}/usersig).",
    ),
  );
  // REST v4 as the administrator: the UserSig it takes needs app:write.
  if (can("accounts:write", id) && can("app:write", id)) {
    const file = h("input", { type: "file", id: "import-file", accept: ".csv,.txt,.jsonl,.json" });
    const progress = h("p", { id: "import-progress", class: "muted" });
    const badBox = h("div", { id: "import-bad" });
    const button = h("button", { type: "button", id: "import-go" }, "Import");
    button.addEventListener("click", () =>
      act(button, async () => {
        if (!file.files.length) throw new Error("choose a file first");
        const { rows, bad } = parseAccounts(await file.files[0].text());
        let done = 0;
        progress.textContent = `Importing ${rows.length} accounts…`;
        const queue = rows.slice();
        const worker = async () => {
          for (let row = queue.shift(); row; row = queue.shift()) {
            const body = { UserID: row.UserID };
            if (row.Nick) body.Nick = row.Nick;
            if (row.FaceUrl) body.FaceUrl = row.FaceUrl;
            const reply = await rest(id, "im_open_login_svc", "account_import", body);
            if (reply.ErrorCode === 0) done++;
            else bad.push({ line: row.line, reason: `${reply.ErrorCode} ${reply.ErrorInfo}` });
            progress.textContent = `Imported ${done} of ${rows.length}`;
          }
        };
        await Promise.all([worker(), worker(), worker(), worker()]);
        bad.sort((a, b) => a.line - b.line);
        progress.textContent = `Imported ${done} accounts; ${bad.length} bad rows.`;
        progress.className = bad.length ? "error" : "okay";
        badBox.replaceChildren(
          bad.length
            ? table(
                [
                  { label: "Line", cell: (b) => b.line, num: true },
                  { label: "Why", cell: (b) => b.reason },
                ],
                bad,
              )
            : "",
        );
      }),
    );
    el.append(
      h(
        "section",
        { class: "card" },
        h("h2", {}, "Import accounts from a file"),
        h(
          "p",
          { class: "muted" },
          "One UserID a line, CSV lines UserID,Nick,FaceUrl, or JSON lines {\"UserID\", \"Nick\", \"FaceUrl\"}.",
        ),
        h("div", { class: "inline" }, file, " ", button),
        progress,
        badBox,
      ),
    );
  } else {
    el.append(readOnlyNote("accounts", id));
  }
  if (!can("app:write", id)) {
    el.append(h("p", { class: "muted" }, "Finding accounts takes an administrator UserSig, which needs app:write."));
    return;
  }
  const ids = h("input", { id: "check-ids", placeholder: "user1, user2", size: 40 });
  const result = h("div", { id: "check-result" });
  const profileBox = h("div", { id: "profile" });
  const check = h("button", { type: "submit", id: "check-go" }, "Check");
  const form = h("form", { class: "inline" }, field("UserIDs", ids), check);
  const writable = can("accounts:write", id);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    act(check, async () => {
      const users = lines(ids.value).slice(0, 100);
      const reply = await rest(id, "im_open_login_svc", "account_check", {
        CheckItem: users.map((u) => ({ UserID: u })),
      });
      if (reply.ErrorCode !== 0) throw new Error(`${reply.ErrorCode} ${reply.ErrorInfo}`);
      result.replaceChildren(
        table(
          [
            { label: "UserID", cell: (r) => r.UserID },
            { label: "Status", cell: (r) => r.AccountStatus || `error ${r.ResultCode}` },
            {
              label: "",
              cell: (r) => {
                if (r.AccountStatus !== "Imported") return "";
                const profile = h("button", { class: "secondary", type: "button" }, "Profile");
                profile.addEventListener("click", () =>
                  act(profile, async () => {
                    const got = await restOk(id, "profile", "portrait_get", {
                      To_Account: [r.UserID],
                      TagList: ["Tag_Profile_IM_Nick", "Tag_Profile_IM_Image", "Tag_Profile_IM_Gender", "Tag_Profile_IM_SelfSignature"],
                    });
                    const items = got.UserProfileItem[0].ProfileItem || [];
                    profileBox.replaceChildren(
                      h("h2", {}, `Profile of ${r.UserID}`),
                      table([{ label: "Tag", cell: (t) => t.Tag }, { label: "Value", cell: (t) => String(t.Value) }], items, "No profile fields set."),
                    );
                  }),
                );
                if (!writable) return profile;
                const kick = h("button", { class: "danger", type: "button" }, "Kick");
                kick.addEventListener("click", () =>
                  act(kick, async () => {
                    const got = await rest(id, "im_open_login_svc", "kick", { UserID: r.UserID });
                    if (got.ErrorCode !== 0) throw new Error(`${got.ErrorCode} ${got.ErrorInfo}`);
                    toast(`${r.UserID} kicked`);
                  }),
                );
                return h("span", {}, profile, " ", kick);
              },
            },
          ],
          reply.ResultItem || [],
        ),
      );
    });
  });
  el.append(h("section", { class: "card" }, h("h2", {}, "Find accounts"), form, result, profileBox));
}

// ---- Groups: list, members, mute, destroy (REST v4 as the administrator)

async function restOk(id, service, command, body) {
  const reply = await rest(id, service, command, body);
  if (reply.ErrorCode !== 0) throw new Error(`${command}: ${reply.ErrorCode} ${reply.ErrorInfo}`);
  return reply;
}

async function pageGroups(el, id, current) {
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

// ---- Feature settings: /admin/apps/{id}/messaging

async function pageFeatures(el, id) {
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

// ---- Callbacks: URL, token, commands; delivery log; DLQ replay; Easemob rules

async function pageCallbacks(el, id) {
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

// ---- Sensitive words

async function pageWords(el, id) {
  const writable = can("words:write", id);
  const actions = await api("GET", `/admin/apps/${id}/sensitive-words`);
  const custom = await api("GET", `/admin/apps/${id}/sensitive-words/custom`);
  const sel = (name, value) =>
    h(
      "select",
      { name, id: `words-${name}`, disabled: !writable },
      ["mask", "block", "off"].map((a) => h("option", { value: a, selected: value === a }, a)),
    );
  const builtin = sel("builtin", actions.builtin);
  const own = sel("custom", actions.custom);
  const save = h("button", { type: "submit", id: "save-word-actions" }, "Save");
  const form = h(
    "form",
    { class: "inline" },
    field("Built-in list", builtin),
    field("The app's words", own),
    writable ? save : null,
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    act(save, async () => {
      await api("PATCH", `/admin/apps/${id}/sensitive-words`, { builtin: builtin.value, custom: own.value });
      toast("Saved");
    });
  });
  const list = h("div", { id: "words-list" });
  const drawWords = (words) =>
    list.replaceChildren(
      table(
        [
          { label: "Word", cell: (w) => w },
          {
            label: "",
            cell: (w) => {
              if (!writable) return "";
              const b = h("button", { class: "danger", type: "button" }, "Delete");
              b.addEventListener("click", () =>
                act(b, async () => drawWords((await api("POST", `/admin/apps/${id}/sensitive-words/custom`, { delete: [w] })).words)),
              );
              return b;
            },
          },
        ],
        words,
        "No words of the app's own.",
      ),
    );
  drawWords(custom.words);
  const card = h(
    "section",
    { class: "card" },
    h("h2", {}, "What the lists do"),
    h("p", { class: "muted" }, "mask replaces a word with ***; block refuses the message (80001)."),
    form,
    readOnlyNote("words", id),
    h("h2", {}, "The app's own words"),
  );
  if (writable) {
    const word = h("input", { id: "new-word", placeholder: "a word, or several separated by commas" });
    const add = h("button", { type: "submit", id: "add-word" }, "Add");
    const addForm = h("form", { class: "inline" }, field("Add words", word), add);
    addForm.addEventListener("submit", (ev) => {
      ev.preventDefault();
      act(add, async () => {
        const got = await api("POST", `/admin/apps/${id}/sensitive-words/custom`, { add: lines(word.value) });
        word.value = "";
        drawWords(got.words);
        toast("Added: applies within seconds");
      });
    });
    card.append(addForm);
  }
  card.append(list);
  el.append(card);
}

// ---- Push: credentials (redacted) and templates with a live preview

const VENDORS = ["apns", "fcm", "huawei", "xiaomi", "oppo", "vivo", "meizu"];

async function pagePush(el, id) {
  const writable = can("push:write", id);
  const creds = await api("GET", `/admin/apps/${id}/push/credentials`);
  const credCard = h(
    "section",
    { class: "card" },
    h("h2", {}, "Credentials (secrets redacted)"),
    table(
      [
        { label: "Vendor", cell: (v) => v },
        { label: "Credentials", cell: (v) => h("pre", {}, JSON.stringify(creds[v], null, 1)) },
        {
          label: "",
          cell: (v) => {
            if (!writable) return "";
            const b = h("button", { class: "danger", type: "button" }, "Remove");
            b.addEventListener("click", () =>
              act(b, async () => {
                await api("DELETE", `/admin/apps/${id}/push/credentials/${v}`);
                render();
              }),
            );
            return b;
          },
        },
      ],
      Object.keys(creds),
      "No push credentials yet.",
    ),
  );
  if (writable) {
    const vendor = h("select", {}, VENDORS.map((v) => h("option", { value: v }, v)));
    const json = h("textarea", { placeholder: '{"app_id": "...", "client_secret": "..."}' });
    const sandbox = h("input", { type: "checkbox" });
    const save = h("button", { type: "submit" }, "Save credentials");
    const form = h(
      "form",
      { class: "stack" },
      field("Vendor", vendor),
      h("label", { class: "check" }, sandbox, "Sandbox / test"),
      field("Credentials (JSON; the FCM service-account file as it is)", json, "wide"),
      h("div", { class: "wide" }, save),
    );
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      act(save, async () => {
        let credentials;
        try {
          credentials = JSON.parse(json.value);
        } catch {
          throw new Error("the credentials are not valid JSON");
        }
        await api("PUT", `/admin/apps/${id}/push/credentials/${vendor.value}`, { credentials, sandbox: sandbox.checked });
        toast(`${vendor.value} credentials saved`);
        render();
      });
    });
    credCard.append(form);
  }
  el.append(credCard);

  const templates = (await api("GET", `/admin/apps/${id}/push/templates`)).templates;
  const tplCard = h("section", { class: "card" }, h("h2", {}, "Templates"));
  const name = h("input", { id: "tpl-name", value: templates.length ? templates[0].name : "default", pattern: "[A-Za-z0-9]{1,64}" });
  const title = h("textarea", { id: "tpl-title", disabled: !writable });
  const content = h("textarea", { id: "tpl-content", disabled: !writable });
  const fill = (t) => {
    name.value = t.name;
    title.value = t.title.join("\n");
    content.value = t.content.join("\n");
  };
  if (templates.length) fill(templates[0]);
  else {
    title.value = "{$from_nickname}";
    content.value = "{$msg}";
  }
  tplCard.append(
    table(
      [
        { label: "Name", cell: (t) => h("a", { href: "#", onclick: (ev) => { ev.preventDefault(); fill(t); preview(); } }, t.name) },
        { label: "Title", cell: (t) => t.title.join("") },
        { label: "Content", cell: (t) => t.content.join("") },
      ],
      templates,
      "No templates yet.",
    ),
  );
  const sender = h("input", { value: "alice" });
  const nick = h("input", { value: "Alice" });
  const msg = h("input", { value: "See you at 8" });
  const shown = h("div", { class: "preview", id: "tpl-preview" }, h("div", { class: "title" }), h("div", { class: "content" }));
  let timer = 0;
  const preview = () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      try {
        const r = await api("POST", `/admin/apps/${id}/push/templates/${encodeURIComponent(name.value)}/preview`, {
          sender: sender.value,
          from_nickname: nick.value,
          msg: msg.value,
        });
        shown.children[0].textContent = r.title;
        shown.children[1].textContent = r.content;
      } catch (err) {
        shown.children[0].textContent = "";
        shown.children[1].textContent = err.status === 404 ? "Save the template to preview it." : err.message;
      }
    }, 250);
  };
  for (const i of [sender, nick, msg, name]) i.addEventListener("input", preview);
  const save = h("button", { type: "submit", id: "tpl-save" }, "Save template");
  const form = h(
    "form",
    { class: "stack" },
    field("Name", name),
    field("Title pieces, one a line ({$from_nickname}, {$msg}, {$title_arg0}…)", title, "wide"),
    field("Content pieces, one a line", content, "wide"),
    writable ? h("div", { class: "wide" }, save) : readOnlyNote("push", id),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    act(save, async () => {
      await api("PUT", `/admin/apps/${id}/push/templates/${encodeURIComponent(name.value)}`, {
        title: title.value.split("\n").filter((s) => s !== ""),
        content: content.value.split("\n").filter((s) => s !== ""),
      });
      toast("Template saved");
      preview();
    });
  });
  tplCard.append(
    h(
      "div",
      { class: "row" },
      form,
      h(
        "div",
        {},
        h("h2", {}, "Live preview"),
        h("form", { class: "inline" }, field("Sender", sender), field("Nickname", nick), field("Message", msg)),
        h("p"),
        shown,
      ),
    ),
  );
  el.append(tplCard);
  preview();
}

// ---- IP whitelist and REST rate limits: /admin/apps/{id}/settings

async function pageSecurity(el, id) {
  const writable = can("config:write", id);
  const s = await api("GET", `/admin/apps/${id}/settings`);
  const ips = h("textarea", { id: "ip-whitelist", disabled: !writable, placeholder: "empty: every caller" });
  ips.value = s.ip_whitelist.join("\n");
  const rates = h("textarea", { id: "rate-limits", disabled: !writable, placeholder: "openim/sendmsg 100/1" });
  rates.value = Object.entries(s.rate_limits)
    .map(([k, r]) => `${k} ${r.limit}/${r.per_s}`)
    .join("\n");
  const admins = h("textarea", { id: "admins", disabled: !writable });
  admins.value = s.admins.join("\n");
  const save = h("button", { type: "submit" }, "Save");
  const form = h(
    "form",
    { class: "stack" },
    field("REST IP whitelist: IPs or CIDRs, one a line", ips),
    field("REST rate limits: service/command limit/seconds, one a line", rates),
    field("REST admin accounts", admins),
    writable ? h("div", { class: "wide" }, save) : readOnlyNote("config", id),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    act(save, async () => {
      const limits = {};
      for (const line of rates.value.split("\n").map((l) => l.trim()).filter(Boolean)) {
        const m = line.match(/^(\S+)\s+(\d+)(?:\/(\d+))?$/);
        if (!m) throw new Error(`not "service/command limit/seconds": ${line}`);
        limits[m[1]] = { limit: Number(m[2]), per_s: Number(m[3] || 1) };
      }
      await api("PATCH", `/admin/apps/${id}/settings`, {
        ip_whitelist: lines(ips.value),
        rate_limits: limits,
        admins: lines(admins.value),
      });
      toast("Saved: applies at once");
    });
  });
  el.append(h("section", { class: "card" }, form));
}

// ---- Statistics, with an SVG bar chart

const FIGURES = [
  "messages", "c2c_messages", "group_messages", "active_users", "new_users", "peak_online",
  "senders", "new_groups", "groups", "active_groups", "pushes_sent", "callbacks_ok",
  "callbacks_failed",
];

function barChart(days, figure) {
  const W = 640;
  const H = 220;
  const pad = 30;
  const max = Math.max(1, ...days.map((d) => d[figure] || 0));
  const bw = (W - pad * 2) / days.length;
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("width", W);
  svg.setAttribute("height", H);
  svg.setAttribute("class", "chart");
  svg.setAttribute("id", "stats-chart");
  const add = (tag, attrs, text) => {
    const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    svg.append(e);
  };
  days.forEach((d, i) => {
    const v = d[figure] || 0;
    const bh = ((H - pad * 2) * v) / max;
    const x = pad + i * bw + 4;
    add("rect", { class: "bar", x, y: H - pad - bh, width: bw - 8, height: bh, "data-day": d.day, "data-value": v });
    add("text", { x: x + (bw - 8) / 2, y: H - pad + 14, "text-anchor": "middle" }, d.day.slice(5));
    add("text", { x: x + (bw - 8) / 2, y: H - pad - bh - 4, "text-anchor": "middle" }, String(v));
  });
  add("line", { x1: pad, y1: H - pad, x2: W - pad, y2: H - pad, stroke: "#999" });
  return svg;
}

async function pageStats(el, id, current) {
  const days = h("select", { id: "stats-days" }, [7, 14, 30].map((d) => h("option", { value: d }, `${d} days`)));
  const figure = h("select", { id: "stats-figure" }, FIGURES.map((f) => h("option", { value: f }, f)));
  const box = h("div", { id: "stats-box" });
  const csv = h("a", { href: `/admin/apps/${id}/stats?days=7&format=csv`, download: "" }, "CSV");
  const draw = async () => {
    const doc = await api("GET", `/admin/apps/${id}/stats?days=${days.value}`);
    if (!current()) return;
    csv.href = `/admin/apps/${id}/stats?days=${days.value}&format=csv`;
    const today = doc.days[doc.days.length - 1];
    box.replaceChildren(
      h(
        "div",
        { class: "figures" },
        ["messages", "active_users", "peak_online", "groups"].map((f) =>
          h("div", { class: "figure" }, f.replace("_", " "), h("b", { "data-figure": f }, today[f])),
        ),
      ),
      h("h2", {}, `${figure.value}, per UTC day`),
      barChart(doc.days, figure.value),
      h("h2", {}, "Every figure"),
      table(
        [{ label: "Day", cell: (d) => d.day }, ...FIGURES.map((f) => ({ label: f.replace(/_/g, " "), cell: (d) => d[f], num: true }))],
        doc.days.slice().reverse(),
      ),
    );
  };
  days.addEventListener("change", draw);
  figure.addEventListener("change", draw);
  el.append(h("form", { class: "inline" }, field("Range", days), field("Chart", figure), csv), box);
  await draw();
  timers.push(setInterval(() => current() && draw().catch(() => {}), 10000));
}

// ---- Real-time monitoring, with a canvas chart

async function pageMonitor(el, id, current) {
  const windowSel = h("select", { id: "monitor-window" }, ["1h", "6h", "24h", "3d"].map((w) => h("option", { value: w }, w)));
  const metricSel = h("select", { id: "monitor-metric" });
  const box = h("div", { id: "monitor-box" });
  const canvas = h("canvas", { class: "chart", id: "monitor-chart", width: 640, height: 200 });
  const draw = async () => {
    const m = await api("GET", `/admin/apps/${id}/monitor?window=${windowSel.value}`);
    if (!current()) return;
    const names = Object.keys(m.rates);
    if (!metricSel.options.length) {
      metricSel.replaceChildren(...names.map((n) => h("option", { value: n }, n)));
      if (names.includes("c2c_send")) metricSel.value = "c2c_send";
    }
    box.replaceChildren(
      h(
        "div",
        { class: "figures" },
        h("div", { class: "figure" }, "online now", h("b", { id: "online-now" }, m.online_now, m.online_exact ? "" : "≈")),
        ...Object.entries(m.today).map(([k, v]) => h("div", { class: "figure" }, `today: ${k.replace("_", " ")}`, h("b", {}, v))),
      ),
      h("h2", {}, `Success rates, last ${m.window}`),
      table(
        [
          { label: "Metric", cell: ([n]) => n },
          { label: "Total", cell: ([, r]) => r.total, num: true },
          { label: "Success", cell: ([, r]) => r.success, num: true },
          { label: "Rate", cell: ([, r]) => (r.success_rate === null ? "—" : `${(r.success_rate * 100).toFixed(1)} %`), num: true },
          { label: "Avg ms", cell: ([, r]) => (r.latency_ms.avg === null ? "—" : r.latency_ms.avg.toFixed(1)), num: true },
          { label: "Codes", cell: ([, r]) => Object.entries(r.codes).map(([c, n]) => `${c}: ${n}`).join(", ") },
        ],
        Object.entries(m.rates),
      ),
      h("h2", {}, `${metricSel.value} per ${m.step_s} s`),
      canvas,
    );
    lineChart(canvas, m.series.map((p) => (p.metrics[metricSel.value] || { total: 0 }).total));
  };
  windowSel.addEventListener("change", draw);
  metricSel.addEventListener("change", draw);
  el.append(h("form", { class: "inline" }, field("Window", windowSel), field("Chart", metricSel)), box);
  await draw();
  timers.push(setInterval(() => current() && draw().catch(() => {}), 5000));
}

function lineChart(canvas, values) {
  const ctx = canvas.getContext("2d");
  const { width: W, height: H } = canvas;
  const pad = 24;
  ctx.clearRect(0, 0, W, H);
  const max = Math.max(1, ...values);
  ctx.strokeStyle = "#bbb";
  ctx.beginPath();
  ctx.moveTo(pad, H - pad);
  ctx.lineTo(W - pad, H - pad);
  ctx.stroke();
  ctx.fillStyle = "#6b7385";
  ctx.font = "10px sans-serif";
  ctx.fillText(String(max), 2, pad);
  ctx.fillText("0", 2, H - pad);
  ctx.strokeStyle = "#2a62d9";
  ctx.lineWidth = 2;
  ctx.beginPath();
  values.forEach((v, i) => {
    const x = pad + ((W - pad * 2) * i) / Math.max(1, values.length - 1);
    const y = H - pad - ((H - pad * 2) * v) / max;
    if (i === 0) ctx.moveTo(x, y);
    else ctx.lineTo(x, y);
  });
  ctx.stroke();
  canvas.dataset.total = String(values.reduce((a, b) => a + b, 0));
}

// ---- Troubleshooting: the event log

const EVENTS = ["", "login", "logout", "disconnect", "kick", "c2c_send", "group_send", "recall", "callback", "push"];

function localInput(ms) {
  const d = new Date(ms - new Date().getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 16);
}

async function pageEvents(el, id, current) {
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
}

// ---- Message reports and their review

async function pageReports(el, id, current) {
  const writable = can("reports:write", id);
  const status = h("select", { id: "rep-status" }, ["pending", "upheld", "dismissed", ""].map((s) => h("option", { value: s }, s || "all")));
  const out = h("div", { id: "reports" });
  const load = async () => {
    const q = status.value ? `?status=${status.value}` : "";
    const page = await api("GET", `/admin/apps/${id}/reports${q}`);
    if (!current()) return;
    out.replaceChildren(
      table(
        [
          { label: "Reported", cell: (r) => time(r.created_ms) },
          { label: "By", cell: (r) => r.reporter },
          { label: "Sender", cell: (r) => r.sender },
          { label: "Where", cell: (r) => r.group_id || r.conversation },
          { label: "Category", cell: (r) => `${r.category}${r.reason ? `: ${r.reason}` : ""}` },
          { label: "Message", cell: (r) => h("pre", {}, r.msg_body.map((e) => (e.MsgContent && e.MsgContent.Text) || e.MsgType).join(" ")) },
          { label: "Status", cell: (r) => `${r.status}${r.recalled ? ", recalled" : ""}${r.note ? ` (${r.note})` : ""}` },
          { label: "", cell: (r) => (writable && r.status === "pending" ? resolveForm(id, r, load) : "") },
        ],
        page.reports,
        "No reports.",
      ),
    );
  };
  status.addEventListener("change", () => load());
  el.append(h("form", { class: "inline" }, field("Status", status)), out);
  if (!writable) el.append(readOnlyNote("reports", id));
  await load();
}

function resolveForm(id, r, reload) {
  const note = h("input", { placeholder: "note", size: 12 });
  const recall = h("input", { type: "checkbox" });
  const button = (status, label) => {
    const b = h("button", { type: "button", class: status === "upheld" ? "danger" : "secondary" }, label);
    b.addEventListener("click", () =>
      act(b, async () => {
        await api("POST", `/admin/apps/${id}/reports/${r.report_id}/resolve`, { status, note: note.value, recall: recall.checked });
        toast(`Report ${status}`);
        await reload();
      }),
    );
    return b;
  };
  return h("div", {}, note, h("label", { class: "check" }, recall, "recall"), button("upheld", "Uphold"), " ", button("dismissed", "Dismiss"));
}

// ---- The admin audit log

async function pageAudit(el, _id, current) {
  const app = h("input", { id: "audit-app", size: 12, placeholder: "every app" });
  const actor = h("input", { size: 12 });
  const action = h("input", { size: 16, placeholder: "e.g. callback." });
  const search = h("button", { type: "submit" }, "Search");
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "More");
  const out = h("div", { id: "audit" });
  let cursor = "";
  let rows = [];
  const load = async (append) => {
    const q = new URLSearchParams({ limit: "50" });
    if (app.value.trim()) q.set("app", app.value.trim());
    if (actor.value.trim()) q.set("actor", actor.value.trim());
    if (action.value.trim()) q.set("action", action.value.trim());
    if (append && cursor) q.set("cursor", cursor);
    const page = await api("GET", `/admin/audit-log?${q}`);
    if (!current()) return;
    rows = append ? rows.concat(page.entries) : page.entries;
    cursor = page.next_cursor;
    more.hidden = !cursor;
    out.replaceChildren(
      table(
        [
          { label: "Time", cell: (e) => time(e.time_ms) },
          { label: "Who", cell: (e) => `${e.actor} (${e.source}${e.client_ip ? `, ${e.client_ip}` : ""})` },
          { label: "App", cell: (e) => e.sdkappid || "" },
          { label: "Action", cell: (e) => e.action + (e.resource ? ` ${e.resource}` : "") },
          { label: "Before", cell: (e) => h("pre", {}, e.before === null ? "" : JSON.stringify(e.before)) },
          { label: "After", cell: (e) => h("pre", {}, e.after === null ? "" : JSON.stringify(e.after)) },
        ],
        rows,
        "No changes recorded.",
      ),
    );
  };
  const form = h("form", { class: "inline" }, field("App", app), field("Who", actor), field("Action", action), search);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    act(search, () => load(false));
  });
  more.addEventListener("click", () => act(more, () => load(true)));
  el.append(form, out, more);
  await load(false);
}

// ---- Sub-accounts

async function pageSubaccounts(el) {
  let list;
  try {
    list = await api("GET", "/admin/subaccounts");
  } catch (err) {
    if (err.status === 404) {
      el.append(missing("This server has no sub-accounts yet (no /admin/subaccounts)."));
      return;
    }
    throw err;
  }
  const writable = can("subaccounts:write");
  const policiesOf = (a) => (a.root ? "root: everything" : JSON.stringify(a.policies));
  el.append(
    h(
      "section",
      { class: "card" },
      table(
        [
          { label: "User", cell: (a) => a.username },
          { label: "Policies", cell: (a) => h("pre", {}, policiesOf(a)) },
          {
            label: "",
            cell: (a) => {
              if (!writable || a.root) return "";
              const b = h("button", { class: "danger", type: "button" }, "Delete");
              b.addEventListener("click", () =>
                act(b, async () => {
                  await api("DELETE", `/admin/subaccounts/${encodeURIComponent(a.username)}`);
                  render();
                }),
              );
              return b;
            },
          },
        ],
        list.subaccounts,
        "No sub-accounts.",
      ),
    ),
  );
  if (!writable) {
    el.append(readOnlyNote("subaccounts", null));
    return;
  }
  const username = h("input", { id: "sub-user", required: true });
  const password = h("input", { id: "sub-password", type: "password", required: true, autocomplete: "new-password" });
  const preset = h(
    "select",
    { id: "sub-preset" },
    ["ReadOnlyAccess", "FullAccess", "custom"].map((p) => h("option", { value: p }, p)),
  );
  const scope = h("input", { id: "sub-apps", placeholder: "every app", size: 24 });
  const policies = h("textarea", {
    id: "sub-policies",
    placeholder: '[{"effect": "allow", "actions": ["stats:read"], "apps": [1400000001]}]',
  });
  const create = h("button", { type: "submit" }, "Create sub-account");
  const form = h(
    "form",
    { class: "stack" },
    field("Username", username),
    field("Password", password),
    field("Preset", preset),
    field("Preset's apps (SDKAppIDs, commas)", scope),
    field("Custom policies (JSON statements; used when the preset is custom)", policies, "wide"),
    h("div", { class: "wide" }, create),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    act(create, async () => {
      const body = { username: username.value, password: password.value };
      if (preset.value === "custom") {
        try {
          body.policies = JSON.parse(policies.value);
        } catch {
          throw new Error("the policies are not valid JSON");
        }
      } else {
        body.preset = preset.value;
        const ids = lines(scope.value).map(Number);
        if (ids.length) body.apps = ids;
      }
      await api("POST", "/admin/subaccounts", body);
      toast(`Sub-account ${username.value} created`);
      render();
    });
  });
  el.append(h("section", { class: "card" }, h("h2", {}, "Create a sub-account"), form));
}

// ---------------------------------------------------------------- login and start

function showLogin(message = "") {
  nav.hidden = true;
  document.getElementById("app-picker").hidden = true;
  document.getElementById("logout").hidden = true;
  document.getElementById("who").textContent = "";
  const user = h("input", { id: "login-user", name: "username", autocomplete: "username", required: true });
  const password = h("input", { id: "login-password", name: "password", type: "password", autocomplete: "current-password", required: true });
  const error = h("p", { class: "error", id: "login-error" }, message);
  const submit = h("button", { type: "submit", id: "login-submit" }, "Log in");
  const form = h("form", {}, field("User", user), field("Password", password), submit, error);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    try {
      await api("POST", "/console/api/login", { username: user.value, password: password.value });
      await start();
    } catch (err) {
      error.textContent =
        err.code === "bad_credentials"
          ? "Wrong user or password."
          : err.code === "too_many_attempts"
            ? "Too many attempts: wait a little, then try again."
            : err.message;
    } finally {
      submit.disabled = false;
    }
  });
  main.replaceChildren(h("section", { class: "card", id: "login-box" }, h("h1", {}, "Log in"), form));
  user.focus();
}

async function start() {
  try {
    me = await api("GET", "/console/api/me");
  } catch {
    me = null;
    showLogin();
    return;
  }
  document.getElementById("who").textContent = `${me.user}${me.root ? " (root)" : ""}`;
  document.getElementById("logout").hidden = false;
  await loadApps();
  await render();
}

document.getElementById("logout").addEventListener("click", async () => {
  await act(null, () => api("POST", "/console/api/logout"));
  me = null;
  showLogin();
});
appSelect.addEventListener("change", () => {
  currentApp = Number(appSelect.value);
  const { page } = route();
  const spec = PAGES.find((p) => p.id === page);
  go(spec && spec.app ? page : "features");
});
window.addEventListener("hashchange", render);
start();
