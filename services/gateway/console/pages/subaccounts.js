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
  const editorSlot = h("div");
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
              const edit = h("button", { class: "secondary", type: "button", id: `edit-sub-${a.username}` }, "Edit");
              edit.addEventListener("click", () => {
                editorSlot.replaceChildren(editor(a));
                editorSlot.scrollIntoView();
              });
              const b = h("button", { class: "danger", type: "button", id: `delete-sub-${a.username}` }, "Delete");
              b.addEventListener("click", () =>
                act(b, async () => {
                  await api("DELETE", `/admin/subaccounts/${encodeURIComponent(a.username)}`);
                  toast(`Sub-account ${a.username} deleted`);
                  render();
                }),
              );
              return h("span", {}, edit, " ", b);
            },
          },
        ],
        list.subaccounts,
        "No sub-accounts.",
      ),
      editorSlot,
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
      const body = { username: username.value, password: password.value, ...policyBody(preset, scope, policies) };
      await api("POST", "/admin/subaccounts", body);
      toast(`Sub-account ${username.value} created`);
      render();
    });
  });
  el.append(h("section", { class: "card" }, h("h2", {}, "Create a sub-account"), form));
}

// The policies a form asks for: {policies} from the JSON statements when the preset is
// "custom", else {preset, apps}; {} when it keeps the current ones.
function policyBody(preset, scope, policies) {
  if (preset.value === "keep") return {};
  if (preset.value === "custom") {
    try {
      return { policies: JSON.parse(policies.value) };
    } catch {
      throw new Error("the policies are not valid JSON");
    }
  }
  const ids = lines(scope.value).map(Number);
  return ids.length ? { preset: preset.value, apps: ids } : { preset: preset.value };
}

// Change a sub-account's policies (a preset with its apps, or JSON statements) or its password.
function editor(account) {
  const preset = h(
    "select",
    { id: "edit-preset" },
    ["keep", "ReadOnlyAccess", "FullAccess", "custom"].map((p) =>
      h("option", { value: p }, p === "keep" ? "keep the current policies" : p),
    ),
  );
  const scope = h("input", { id: "edit-apps", placeholder: "every app", size: 24 });
  const policies = h("textarea", { id: "edit-policies" });
  policies.value = JSON.stringify(account.policies, null, 1);
  const password = h("input", { id: "edit-password", type: "password", autocomplete: "new-password", placeholder: "unchanged" });
  const save = h("button", { type: "submit", id: "edit-save" }, "Save changes");
  const cancel = h("button", { type: "button", class: "secondary" }, "Cancel");
  const form = h(
    "form",
    { class: "stack", id: "sub-edit" },
    h("h3", { class: "wide" }, `Edit ${account.username}`),
    field("Policies", preset),
    field("Preset's apps (SDKAppIDs, commas)", scope),
    field("New password (at least 8 characters; ends its sessions)", password),
    field("Policies as JSON statements (used when custom)", policies, "wide"),
    h("div", { class: "wide" }, save, " ", cancel),
  );
  cancel.addEventListener("click", () => form.remove());
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    act(save, async () => {
      const body = policyBody(preset, scope, policies);
      if (password.value) body.password = password.value;
      if (!Object.keys(body).length) throw new Error("nothing to change: pick policies or give a password");
      await api("PATCH", `/admin/subaccounts/${encodeURIComponent(account.username)}`, body);
      toast(`Sub-account ${account.username} saved`);
      render();
    });
  });
  return form;
}
