import { h, missing, toast, table, field, lines, api, act, can, readOnlyNote } from "../lib.js";
import { render } from "../app.js";

// ---- Sub-accounts

export async function pageSubaccounts(el) {
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
