import { h, time, toast, table, field, api, act, can } from "../lib.js";
import { drawNav, loadApps, state } from "../app.js";

// ---- Apps: list, create with an edition, show and rotate keys

export async function pageApps(el) {
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
        state.currentApp = made.sdkappid;
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
      state.apps,
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
