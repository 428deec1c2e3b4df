import { timers, h, table, field, api } from "../lib.js";

// ---- Real-time monitoring, with a canvas chart

export async function pageMonitor(el, id, current) {
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
