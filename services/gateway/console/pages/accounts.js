import { h, missing, toast, table, field, lines, act, rest, can, readOnlyNote, restOk } from "../lib.js";

// ---- Accounts: import from a file, check, kick

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
        row = { UserID: String(o.UserID ?? o.user ?? ""), Nick: o.Nick, FaceUrl: o.FaceUrl };
      } catch {
        bad.push({ line: n, reason: "not valid JSON" });
        return;
      }
    } else {
      const [id, nick, face] = line.split(",").map((s) => s.trim());
      if (n === 1 && /^userid$/i.test(id)) return;
      row = { UserID: id, Nick: nick || undefined, FaceUrl: face || undefined };
    }
    const bytes = new TextEncoder().encode(row.UserID).length;
    if (!row.UserID) bad.push({ line: n, reason: "no UserID" });
    else if (bytes > 32) bad.push({ line: n, reason: "UserID longer than 32 bytes" });
    else rows.push({ ...row, line: n });
  });
  return { rows, bad };
}

export async function pageAccounts(el, id) {
  el.append(
    missing(
      "The admin API has no accounts route yet: this page imports, checks and kicks through " +
        "REST v4 (account_import, account_check, kick) as the app's administrator, with a " +
        "UserSig the admin API issues (POST /admin/apps/{id}/usersig).",
    ),
  );
  // REST v4 as the administrator: the UserSig it takes needs app:write.
  if (can("accounts:write", id) && can("app:write", id)) {
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
        const queue = rows.slice();
        const worker = async () => {
          for (let row = queue.shift(); row; row = queue.shift()) {
            const body = { UserID: row.UserID };
            if (row.Nick) body.Nick = row.Nick;
            if (row.FaceUrl) body.FaceUrl = row.FaceUrl;
            const reply = await rest(id, "im_open_login_svc", "account_import", body);
            if (reply.ErrorCode === 0) done++;
            else bad.push({ line: row.line, reason: `${reply.ErrorCode} ${reply.ErrorInfo}` });
            progress.textContent = `Imported ${done} of ${rows.length}`;
          }
        };
        await Promise.all([worker(), worker(), worker(), worker()]);
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
    el.append(
      h(
        "section",
        { class: "card" },
        h("h2", {}, "Import accounts from a file"),
        h(
          "p",
          { class: "muted" },
          "One UserID a line, CSV lines UserID,Nick,FaceUrl, or JSON lines {\"UserID\", \"Nick\", \"FaceUrl\"}.",
        ),
        h("div", { class: "inline" }, file, " ", button),
        progress,
        badBox,
      ),
    );
  } else {
    el.append(readOnlyNote("accounts", id));
  }
  if (!can("app:write", id)) {
    el.append(h("p", { class: "muted" }, "Finding accounts takes an administrator UserSig, which needs app:write."));
    return;
  }
  const ids = h("input", { id: "check-ids", placeholder: "user1, user2", size: 40 });
  const result = h("div", { id: "check-result" });
  const profileBox = h("div", { id: "profile" });
  const check = h("button", { type: "submit", id: "check-go" }, "Check");
  const form = h("form", { class: "inline" }, field("UserIDs", ids), check);
  const writable = can("accounts:write", id);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    act(check, async () => {
      const users = lines(ids.value).slice(0, 100);
      const reply = await rest(id, "im_open_login_svc", "account_check", {
        CheckItem: users.map((u) => ({ UserID: u })),
      });
      if (reply.ErrorCode !== 0) throw new Error(`${reply.ErrorCode} ${reply.ErrorInfo}`);
      result.replaceChildren(
        table(
          [
            { label: "UserID", cell: (r) => r.UserID },
            { label: "Status", cell: (r) => r.AccountStatus || `error ${r.ResultCode}` },
            {
              label: "",
              cell: (r) => {
                if (r.AccountStatus !== "Imported") return "";
                const profile = h("button", { class: "secondary", type: "button" }, "Profile");
                profile.addEventListener("click", () =>
                  act(profile, async () => {
                    const got = await restOk(id, "profile", "portrait_get", {
                      To_Account: [r.UserID],
                      TagList: ["Tag_Profile_IM_Nick", "Tag_Profile_IM_Image", "Tag_Profile_IM_Gender", "Tag_Profile_IM_SelfSignature"],
                    });
                    const items = got.UserProfileItem[0].ProfileItem || [];
                    profileBox.replaceChildren(
                      h("h2", {}, `Profile of ${r.UserID}`),
                      table([{ label: "Tag", cell: (t) => t.Tag }, { label: "Value", cell: (t) => String(t.Value) }], items, "No profile fields set."),
                    );
                  }),
                );
                if (!writable) return profile;
                const kick = h("button", { class: "danger", type: "button" }, "Kick");
                kick.addEventListener("click", () =>
                  act(kick, async () => {
                    const got = await rest(id, "im_open_login_svc", "kick", { UserID: r.UserID });
                    if (got.ErrorCode !== 0) throw new Error(`${got.ErrorCode} ${got.ErrorInfo}`);
                    toast(`${r.UserID} kicked`);
                  }),
                );
                return h("span", {}, profile, " ", kick);
              },
            },
          ],
          reply.ResultItem || [],
        ),
      );
    });
  });
  el.append(h("section", { class: "card" }, h("h2", {}, "Find accounts"), form, result, profileBox));
}
