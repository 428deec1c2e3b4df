import { h, toast, table, field, api, act, can, readOnlyNote } from "../lib.js";
import { render } from "../app.js";

// ---- Push: credentials (redacted) and templates with a live preview

const VENDORS = ["apns", "fcm", "huawei", "xiaomi", "oppo", "vivo", "meizu"];

export async function pagePush(el, id) {
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
