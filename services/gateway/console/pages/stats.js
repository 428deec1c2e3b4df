import { timers, h, table, field, api } from "../lib.js";

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

export async function pageStats(el, id, current) {
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
