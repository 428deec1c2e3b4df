import { h, time, toast, field, api, act, can } from "../lib.js";

// ---- UserSig: generate one with the app's key (Tencent's console tool), and check one as the
// gateway would (POST .../usersig/verify, a read).

const DAY_S = 86400;
const DEFAULT_DAYS = 180; // Tencent's console default
const MAX_DAYS = 3650; // the admin API's cap, 10 years

function validity(s) {
  return s % DAY_S === 0 ? `${s / DAY_S} days` : `${s} s`;
}

function claims(r) {
  return h(
    "table",
    { id: "usv-claims" },
    h(
      "tbody",
      {},
      [
        ["SDKAppID", r.sdkappid],
        ["UserID", r.user],
        ["Generated at", time(r.generated_at * 1000)],
        ["Validity", validity(r.validity_s)],
        ["Expires at", time(r.expires_at * 1000)],
        ["Expired", r.expired ? "yes" : "no"],
      ].map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", {}, v))),
    ),
  );
}

function outcome(r) {
  if (r.valid) return [h("p", { class: "okay" }, "Valid: the gateway accepts this UserSig for this UserID."), claims(r)];
  return [
    h("p", { class: "error" }, `Invalid (${r.error_code}): ${r.reason}`),
    h("p", {}, `Fix: ${r.fix}`),
    r.user === null ? null : claims(r),
  ];
}

function verifier(id) {
  const user = h("input", { id: "usv-user", required: true, maxlength: 32 });
  const sig = h("textarea", { id: "usv-sig", required: true });
  const check = h("button", { type: "submit", id: "usv-verify" }, "Verify");
  const result = h("div", { id: "usv-result" });
  const form = h("form", { class: "stack", id: "usersig-verify" }, field("UserID", user), field("UserSig", sig, "wide"), h("div", { class: "wide" }, check));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    act(check, async () => {
      const r = await api("POST", `/admin/apps/${id}/usersig/verify`, { user: user.value, usersig: sig.value.trim() });
      result.replaceChildren(...outcome(r).filter(Boolean));
    });
  });
  const card = h("section", { class: "card" }, h("h2", {}, "Verify a UserSig"), form, result);
  return { card, fill: (u, s) => ((user.value = u), (sig.value = s)) };
}

function generator(id, fill) {
  const user = h("input", { id: "us-user", required: true, maxlength: 32 });
  const days = h("input", { id: "us-days", type: "number", min: 1, max: MAX_DAYS, value: DEFAULT_DAYS, class: "short" });
  const make = h("button", { type: "submit", id: "us-generate" }, "Generate");
  const out = h("textarea", { id: "us-output", readonly: true });
  const form = h("form", { class: "stack", id: "usersig-generate" }, field("UserID", user), field("Validity (days)", days), h("div", { class: "wide" }, make));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    act(make, async () => {
      const r = await api("POST", `/admin/apps/${id}/usersig`, { user: user.value, expire: Number(days.value) * DAY_S });
      out.value = r.usersig;
      fill(r.user, r.usersig);
      toast(`UserSig for ${r.user} generated`);
    });
  });
  const note =
    "For development only: signed with the app's current key. In production, compute UserSigs on your business server; a key shipped in client code (a web page above all) can be extracted.";
  return h("section", { class: "card" }, h("h2", {}, "Generate a UserSig"), h("p", { class: "muted" }, note), form, field("UserSig", out, "wide"));
}

export async function pageUserSig(el, id) {
  const check = verifier(id);
  // Issuing needs app:write (the key signs the administrator's UserSig too); verifying is a read.
  if (can("app:write", id)) el.append(generator(id, check.fill));
  else el.append(h("p", { class: "muted readonly" }, "Read-only: your policy lets you verify UserSigs, not generate them."));
  el.append(check.card);
}
