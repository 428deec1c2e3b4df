import { h, toast, table, field, api, act, can, readOnlyNote } from "../lib.js";

// ---- Custom fields: Tencent's user-profile, friend, group and group-member fields. A field is
// declared once and never deleted, renamed or retyped; permissions change, and group and member
// fields gain group types.

const GROUP_TYPES = ["Work", "Public", "Meeting", "AVChatRoom", "Community"];
const LEVELS = ["everyone", "member", "admin", "owner"];
const SELF_LEVELS = ["read_write", "read", "write", "none"];
const PROFILE_PERMISSIONS = ["app_read", "app_write", "admin_read", "admin_write"];
const KINDS = [
  { kind: "profile", title: "User profile fields", note: "Tag_Profile_Custom_ + 1-8 English letters; at most 20.", types: ["string", "integer"] },
  { kind: "friend", title: "Friend fields", note: "Tag_SNS_Custom_ + 1-8 English letters; at most 20.", types: ["string", "integer"] },
  { kind: "group", title: "Group fields", note: "AppDefinedData keys: letters, digits, _; at most 16 characters; at most 10.", types: ["string"] },
  { kind: "member", title: "Group-member fields", note: "AppMemberDefinedData keys, named unlike any group field; at most 5.", types: ["string"] },
];

const select = (id, options, value) =>
  h("select", { id }, options.map((o) => h("option", { value: o, selected: o === value }, o)));

const box = (id, checked) => h("input", { type: "checkbox", id, checked });

function rowsText(types) {
  return Object.entries(types)
    .map(([t, r]) => `${t}: read ${r.read}, write ${r.write}${r.self ? `, self ${r.self}` : ""}`)
    .join("; ");
}

// The group-type row inputs of a group or member field: which type, and its permissions.
function typeRowInputs(prefix, kind) {
  const inputs = {
    type: select(`${prefix}-gtype`, GROUP_TYPES, "Public"),
    read: select(`${prefix}-read`, LEVELS, "member"),
    write: select(`${prefix}-write`, LEVELS, "admin"),
  };
  if (kind === "member") inputs.self = select(`${prefix}-self`, SELF_LEVELS, "read_write");
  const row = () => {
    const r = { read: inputs.read.value, write: inputs.write.value };
    if (inputs.self) r.self = inputs.self.value;
    return { [inputs.type.value]: r };
  };
  const fields = [field("Group type", inputs.type), field("Read", inputs.read), field("Write", inputs.write)];
  if (inputs.self) fields.push(field("Self", inputs.self));
  return { fields, row };
}

function permissionInputs(prefix, current) {
  const boxes = Object.fromEntries(PROFILE_PERMISSIONS.map((p) => [p, box(`${prefix}-${p}`, current ? current[p] : true)]));
  const fields = PROFILE_PERMISSIONS.map((p) => field(p.replace("_", " "), boxes[p], "check"));
  const values = () => Object.fromEntries(PROFILE_PERMISSIONS.map((p) => [p, boxes[p].checked]));
  return { fields, values };
}

function editControl(id, spec, f, redraw) {
  if (spec.kind === "friend") return "";
  const prefix = `cf-${spec.kind}-${f.name}`;
  const save = h("button", { type: "submit", id: `${prefix}-save` }, "Save");
  let body;
  let inputs;
  if (spec.kind === "profile") {
    inputs = permissionInputs(prefix, f);
    body = () => inputs.values();
  } else {
    inputs = typeRowInputs(prefix, spec.kind);
    body = () => ({ types: inputs.row() });
  }
  const form = h("form", { class: "inline" }, inputs.fields, save);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    act(save, async () => {
      await api("PATCH", `/admin/apps/${id}/custom-fields/${spec.kind}/${encodeURIComponent(f.name)}`, body());
      toast("Saved");
      await redraw();
    });
  });
  return form;
}

function declareForm(id, spec, redraw) {
  const prefix = `cf-${spec.kind}`;
  const name = h("input", { id: `${prefix}-name`, placeholder: "name", required: true, maxlength: 16 });
  const type = select(`${prefix}-type`, spec.types, "string");
  const add = h("button", { type: "submit", id: `${prefix}-add` }, "Declare");
  let extra = [];
  let body = () => ({});
  if (spec.kind === "profile") {
    const inputs = permissionInputs(`${prefix}-new`, null);
    extra = inputs.fields;
    body = inputs.values;
  } else if (spec.kind !== "friend") {
    const inputs = typeRowInputs(`${prefix}-new`, spec.kind);
    extra = inputs.fields;
    body = () => ({ types: inputs.row() });
  }
  const form = h("form", { class: "inline", id: `${prefix}-form` }, field("Name", name), field("Type", type), extra, add);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    act(add, async () => {
      await api("POST", `/admin/apps/${id}/custom-fields/${spec.kind}`, { name: name.value, type: type.value, ...body() });
      toast(`Declared ${name.value}: it cannot be deleted, renamed or retyped`);
      await redraw();
    });
  });
  return form;
}

export async function pageCustomFields(el, id) {
  const writable = can("config:write", id);
  const holder = h("div", { id: "custom-fields" });
  const redraw = async () => {
    const all = await api("GET", `/admin/apps/${id}/custom-fields`);
    holder.replaceChildren(
      ...KINDS.map((spec) => {
        const columns = [
          { label: "Name", cell: (f) => f.name },
          { label: "Tag / key", cell: (f) => f.tag },
          { label: "Type", cell: (f) => f.type },
        ];
        if (spec.kind === "profile") {
          columns.push({ label: "Permissions", cell: (f) => PROFILE_PERMISSIONS.filter((p) => f[p]).join(", ") });
        } else if (spec.kind !== "friend") {
          columns.push({ label: "Group types", cell: (f) => rowsText(f.types) });
        }
        if (writable && spec.kind !== "friend") {
          columns.push({ label: "Change permissions", cell: (f) => editControl(id, spec, f, redraw) });
        }
        return h(
          "section",
          { class: "card", id: `cf-${spec.kind}` },
          h("h2", {}, spec.title),
          h("p", { class: "muted" }, spec.note),
          table(columns, all[spec.kind], "None declared: any well-formed name is accepted."),
          writable ? declareForm(id, spec, redraw) : null,
        );
      }),
    );
  };
  const intro = h("p", { class: "muted" }, "Once a kind has declared fields, REST accepts only those (40009, 30001, 10004).");
  el.append(...[intro, readOnlyNote("config", id), holder].filter(Boolean));
  await redraw();
}
