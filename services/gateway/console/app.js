// Tidings console: a single-page app over the admin API (/admin/*) and the console session
// (/console/api/*). No framework, no build step: plain ES modules, served by the gateway.
// This module is the shell (navigation, the app picker, login); each page is a module of
// pages/, and lib.js holds what they share.

import { act, api, can, h, missing, session, timers, field } from "./lib.js";
import { pageApps } from "./pages/apps.js";
import { pageAccounts } from "./pages/accounts.js";
import { pageGroups } from "./pages/groups.js";
import { pageFeatures } from "./pages/features.js";
import { pageCustomFields } from "./pages/custom_fields.js";
import { pageCallbacks } from "./pages/callbacks.js";
import { pageWords } from "./pages/words.js";
import { pagePush } from "./pages/push.js";
import { pageSecurity } from "./pages/security.js";
import { pageStats } from "./pages/stats.js";
import { pageMonitor } from "./pages/monitor.js";
import { pageEvents } from "./pages/events.js";
import { pageReports } from "./pages/reports.js";
import { pageAudit } from "./pages/audit.js";
import { pageSubaccounts } from "./pages/subaccounts.js";
import { pageUserSig } from "./pages/usersig.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const appSelect = document.getElementById("app-select");

// The apps the user may see (GET /admin/apps) and the SDKAppID the app pages show.
export const state = { apps: [], currentApp: null };
let renderToken = 0; // a page render that is no longer current stops drawing

// ---------------------------------------------------------------- pages

const PAGES = [
  { id: "apps", res: "app", label: "Apps", group: "Apps", render: pageApps },
  { id: "accounts", res: "accounts", label: "Accounts", group: "App", app: true, render: pageAccounts },
  { id: "groups", res: "groups", label: "Groups", group: "App", app: true, render: pageGroups },
  { id: "features", res: "config", label: "Feature settings", group: "App", app: true, render: pageFeatures },
  { id: "custom-fields", res: "config", label: "Custom fields", group: "App", app: true, render: pageCustomFields },
  { id: "callbacks", res: "callbacks", label: "Callbacks", group: "App", app: true, render: pageCallbacks },
  { id: "words", res: "words", label: "Sensitive words", group: "App", app: true, render: pageWords },
  { id: "push", res: "push", label: "Push", group: "App", app: true, render: pagePush },
  { id: "security", res: "config", label: "IP whitelist & limits", group: "App", app: true, render: pageSecurity },
  { id: "usersig", res: "app", label: "UserSig", group: "App", app: true, render: pageUserSig },
  { id: "stats", res: "stats", label: "Statistics", group: "Operations", app: true, render: pageStats },
  { id: "monitor", res: "stats", label: "Monitoring", group: "Operations", app: true, render: pageMonitor },
  { id: "events", res: "stats", label: "Troubleshooting", group: "Operations", app: true, render: pageEvents },
  { id: "reports", res: "reports", label: "Reports", group: "Operations", app: true, render: pageReports },
  { id: "audit", res: "audit", label: "Audit log", group: "Administration", render: pageAudit },
  { id: "subaccounts", res: "subaccounts", label: "Sub-accounts", group: "Administration", render: pageSubaccounts },
];

export function route() {
  const [, page = "apps", app = ""] = location.hash.split("/");
  return { page, app: app ? Number(app) : null };
}

export function go(page, app = state.currentApp) {
  const spec = PAGES.find((p) => p.id === page);
  location.hash = spec && spec.app && app ? `#/${page}/${app}` : `#/${page}`;
}

export function drawNav(active) {
  nav.replaceChildren();
  let group = "";
  for (const p of PAGES) {
    if (p.app && state.currentApp === null) continue;
    // What the policy does not let the user read is not offered (the apps list is filtered).
    if (p.id !== "apps" && !can(`${p.res}:read`, p.app ? state.currentApp : null)) continue;
    if (p.group !== group) {
      group = p.group;
      nav.append(h("div", { class: "group" }, group));
    }
    const href = p.app ? `#/${p.id}/${state.currentApp}` : `#/${p.id}`;
    nav.append(h("a", { href, class: p.id === active ? "active" : "", "data-page": p.id }, p.label));
  }
  nav.hidden = false;
}

function drawAppPicker() {
  appSelect.replaceChildren(
    ...state.apps.map((a) =>
      h("option", { value: a.sdkappid, selected: a.sdkappid === state.currentApp }, `${a.sdkappid} ${a.name}`),
    ),
  );
  if (state.currentApp !== null) appSelect.value = String(state.currentApp);
  document.getElementById("app-picker").hidden = state.apps.length === 0;
}

export async function loadApps() {
  state.apps = (await api("GET", "/admin/apps")).apps;
  if (state.currentApp === null || !state.apps.some((a) => a.sdkappid === state.currentApp)) {
    state.currentApp = state.apps.length ? state.apps[0].sdkappid : null;
  }
  drawAppPicker();
}

export async function render() {
  if (!session.me) return;
  for (const t of timers.splice(0)) clearInterval(t);
  const { page, app } = route();
  const spec = PAGES.find((p) => p.id === page) || PAGES[0];
  const token = ++renderToken;
  // An app made since the list was read (by the CLI, another admin): read the list again.
  const known = () => state.apps.some((a) => a.sdkappid === app);
  if (app !== null && !known()) await loadApps();
  if (token !== renderToken) return;
  if (app !== null && known()) state.currentApp = app;
  drawAppPicker();
  drawNav(spec.id);
  const body = h("div", { id: `page-${spec.id}` });
  main.replaceChildren(h("h1", {}, spec.label + (spec.app && state.currentApp ? ` · ${state.currentApp}` : "")), body);
  if (spec.app && app !== null && !known()) {
    body.append(missing(`No app ${app}, or your policy does not let you read it.`));
    return;
  }
  if (spec.app && state.currentApp === null) {
    body.append(missing("No app yet: create one on the Apps page."));
    return;
  }
  try {
    await spec.render(body, state.currentApp, () => token === renderToken);
  } catch (err) {
    if (token === renderToken) body.append(h("p", { class: "error" }, err.message));
  }
  // Drawn, with its first data (the browser tests wait for this).
  body.dataset.ready = "true";
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
    session.me = await api("GET", "/console/api/me");
  } catch {
    session.me = null;
    showLogin();
    return;
  }
  document.getElementById("who").textContent = `${session.me.user}${session.me.root ? " (root)" : ""}`;
  document.getElementById("logout").hidden = false;
  await loadApps();
  await render();
}

document.getElementById("logout").addEventListener("click", async () => {
  await act(null, () => api("POST", "/console/api/logout"));
  session.me = null;
  showLogin();
});
appSelect.addEventListener("change", () => {
  state.currentApp = Number(appSelect.value);
  const { page } = route();
  const spec = PAGES.find((p) => p.id === page);
  go(spec && spec.app ? page : "features");
});
window.addEventListener("hashchange", render);
session.onEnded = showLogin;
start();
