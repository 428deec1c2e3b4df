import { h, toast, table, field, lines, act, api, can, readOnlyNote, ApiError } from "../lib.js";

// ---- Accounts: search, import from a file, check, profile, kick (/admin/apps/{id}/accounts)

const IMPORT_BATCH = 100; // the admin API's limit per request
const PROFILE_FIELDS = [
  { tag: "Tag_Profile_IM_Nick", label: "Nick" },
  { tag: "Tag_Profile_IM_Image", label: "Face URL" },
  {
    tag: "Tag_Profile_IM_Gender",
    label: "Gender",
    choices: ["Gender_Type_Unknown", "Gender_Type_Female", "Gender_Type_Male"],
  },
  { tag: "Tag_Profile_IM_SelfSignature", label: "Signature" },
  { tag: "Tag_Profile_IM_Location", label: "Location" },
];

// A file's rows: one UserID a line, CSV (UserID,Nick,FaceUrl; a header line is skipped), or
// JSON lines ({"UserID","Nick","FaceUrl"}). Each row keeps its line number.
function parseAccounts(text) {
  const rows = [];
  const bad = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    const n = i + 1;
    if (!line) return;
    let row;
    if (line.startsWith("{")) {
      try {
        const o = JSON.parse(line);
        row = { user: String(o.UserID ?? o.user ?? ""), nick: o.Nick, face_url: o.FaceUrl };
      } catch {
        bad.push({ line: n, reason: "not valid JSON" });
        return;
      }
    } else {
      const [id, nick, face] = line.split(",").map((s) => s.trim());
      if (n === 1 && /^userid$/i.test(id)) return;
      row = { user: id, nick: nick || undefined, face_url: face || undefined };
    }
    const bytes = new TextEncoder().encode(row.user).length;
    if (!row.user) bad.push({ line: n, reason: "no UserID" });
    else if (bytes > 32) bad.push({ line: n, reason: "UserID longer than 32 bytes" });
    else rows.push({ ...row, line: n });
  });
  return { rows, bad };
}

function importCard(id) {
  const file = h("input", { type: "file", id: "import-file", accept: ".csv,.txt,.jsonl,.json" });
  const progress = h("p", { id: "import-progress", class: "muted" });
  const badBox = h("div", { id: "import-bad" });
  const button = h("button", { type: "button", id: "import-go" }, "Import");
  button.addEventListener("click", () =>
    act(button, async () => {
      if (!file.files.length) throw new Error("choose a file first");
      const { rows, bad } = parseAccounts(await file.files[0].text());
      let done = 0;
      progress.textContent = `Importing ${rows.length} accounts…`;
      for (let start = 0; start < rows.length; start += IMPORT_BATCH) {
        const batch = rows.slice(start, start + IMPORT_BATCH);
        const lineOf = new Map(batch.map((r) => [r.user, r.line]));
        try {
          const reply = await api("POST", `/admin/apps/${id}/accounts/import`, {
            accounts: batch.map(({ user, nick, face_url }) => ({ user, nick, face_url })),
          });
          for (const r of reply.results) {
            if (r.ok) done++;
            else bad.push({ line: lineOf.get(r.user), reason: r.error });
          }
        } catch (err) {
          // The whole batch was refused (a quota, a bad value): each of its rows says why.
          if (!(err instanceof ApiError)) throw err;
          for (const r of batch) bad.push({ line: r.line, reason: err.message });
        }
        progress.textContent = `Imported ${done} of ${rows.length}`;
      }
      bad.sort((a, b) => a.line - b.line);
      progress.textContent = `Imported ${done} accounts; ${bad.length} bad rows.`;
      progress.className = bad.length ? "error" : "okay";
      badBox.replaceChildren(
        bad.length
          ? table(
              [
                { label: "Line", cell: (b) => b.line, num: true },
                { label: "Why", cell: (b) => b.reason },
              ],
              bad,
            )
          : "",
      );
    }),
  );
  return h(
    "section",
    { class: "card" },
    h("h2", {}, "Import accounts from a file"),
    h(
      "p",
      { class: "muted" },
      'One UserID a line, CSV lines UserID,Nick,FaceUrl, or JSON lines {"UserID", "Nick", "FaceUrl"}.',
    ),
    h("div", { class: "inline" }, file, " ", button),
    progress,
    badBox,
  );
}

// One account: its profile (editable with accounts:write), its connections, and a kick.
async function showProfile(id, user, box) {
  const path = `/admin/apps/${id}/accounts/${encodeURIComponent(user)}`;
  const got = await api("GET", path);
  const writable = can("accounts:write", id);
  const inputs = PROFILE_FIELDS.map((f) => {
    const value = got.profile[f.tag] ?? "";
    const input = f.choices
      ? h("select", { name: f.tag }, f.choices.map((c) => h("option", { value: c, selected: c === value }, c)))
      : h("input", { name: f.tag, value, size: 40 });
    input.disabled = !writable;
    return field(f.label, input);
  });
  const others = Object.entries(got.profile).filter(([tag]) => !PROFILE_FIELDS.some((f) => f.tag === tag));
  const form = h("form", { id: "profile-form", class: "stack" }, inputs);
  const parts = [
    h("h2", {}, `Profile of ${got.user}`),
    h("p", { class: "muted", id: "profile-connections" }, `${got.connections} connection(s) now.`),
    form,
  ];
  if (others.length) {
    parts.push(table([{ label: "Tag", cell: ([t]) => t }, { label: "Value", cell: ([, v]) => String(v) }], others));
  }
  if (writable) {
    const save = h("button", { type: "submit", id: "profile-save" }, "Save profile");
    form.append(save);
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      act(save, async () => {
        const profile = {};
        for (const f of PROFILE_FIELDS) {
          const value = form.elements[f.tag].value;
          if (value !== String(got.profile[f.tag] ?? "")) profile[f.tag] = value;
        }
        if (!Object.keys(profile).length) throw new Error("nothing changed");
        await api("PATCH", path, { profile });
        toast(`Profile of ${user} saved`);
        await showProfile(id, user, box);
      });
    });
    const kick = h("button", { class: "danger", type: "button", id: "profile-kick" }, "Kick");
    kick.addEventListener("click", () =>
      act(kick, async () => {
        const done = await api("POST", `${path}/kick`);
        toast(`${user} kicked (${done.connections} connection(s))`);
        await showProfile(id, user, box);
      }),
    );
    parts.push(h("p", {}, kick));
  }
  box.replaceChildren(...parts);
}

function profileButton(id, user, box) {
  const button = h("button", { class: "secondary", type: "button" }, "Profile");
  button.addEventListener("click", () => act(button, () => showProfile(id, user, box)));
  return button;
}

function searchCard(id, profileBox) {
  const prefix = h("input", { id: "search-prefix", placeholder: "UserID prefix", size: 24 });
  const go = h("button", { type: "submit", id: "search-go" }, "Search");
  const result = h("div", { id: "search-result" });
  const more = h("button", { type: "button", class: "secondary", id: "search-more", hidden: true }, "More");
  let cursor = "";
  let found = [];
  const load = async (fresh) => {
    if (fresh) {
      cursor = "";
      found = [];
    }
    const q = new URLSearchParams({ prefix: prefix.value.trim(), cursor, limit: "50" });
    const page = await api("GET", `/admin/apps/${id}/accounts?${q}`);
    found = found.concat(page.accounts);
    cursor = page.next_cursor;
    more.hidden = !cursor;
    result.replaceChildren(
      table(
        [
          { label: "UserID", cell: (a) => a.user },
          { label: "Nick", cell: (a) => a.nick },
          { label: "", cell: (a) => profileButton(id, a.user, profileBox) },
        ],
        found,
        "No accounts match.",
      ),
    );
  };
  const form = h("form", { class: "inline" }, field("Search", prefix), go);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    act(go, () => load(true));
  });
  more.addEventListener("click", () => act(more, () => load(false)));
  return { card: h("section", { class: "card" }, h("h2", {}, "Find accounts"), form, result, more), load };
}

function checkCard(id, profileBox) {
  const ids = h("input", { id: "check-ids", placeholder: "user1, user2", size: 40 });
  const result = h("div", { id: "check-result" });
  const check = h("button", { type: "submit", id: "check-go" }, "Check");
  const form = h("form", { class: "inline" }, field("UserIDs", ids), check);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    act(check, async () => {
      const users = [...new Set(lines(ids.value))].slice(0, 100);
      const rows = await Promise.all(
        users.map(async (user) => {
          try {
            await api("GET", `/admin/apps/${id}/accounts/${encodeURIComponent(user)}`);
            return { user, status: "Imported" };
          } catch (err) {
            if (err instanceof ApiError && err.code === "not_found") return { user, status: "NotImported" };
            if (err instanceof ApiError && err.code === "invalid_argument") return { user, status: err.message };
            throw err;
          }
        }),
      );
      result.replaceChildren(
        table(
          [
            { label: "UserID", cell: (r) => r.user },
            { label: "Status", cell: (r) => r.status },
            { label: "", cell: (r) => (r.status === "Imported" ? profileButton(id, r.user, profileBox) : "") },
          ],
          rows,
        ),
      );
    });
  });
  return h("section", { class: "card" }, h("h2", {}, "Check accounts"), form, result);
}

export async function pageAccounts(el, id) {
  const profileBox = h("section", { class: "card", id: "profile" });
  const search = searchCard(id, profileBox);
  el.append(can("accounts:write", id) ? importCard(id) : readOnlyNote("accounts", id));
  el.append(search.card, checkCard(id, profileBox), profileBox);
  await search.load(true);
}
