import { h, toast, field, lines, api, act, can, readOnlyNote } from "../lib.js";

// ---- IP whitelist and REST rate limits: /admin/apps/{id}/settings

export async function pageSecurity(el, id) {
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
