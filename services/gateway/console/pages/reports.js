import { h, time, toast, table, field, api, act, can, readOnlyNote } from "../lib.js";

// ---- Message reports and their review

export async function pageReports(el, id, current) {
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
