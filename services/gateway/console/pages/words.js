import { h, toast, table, field, lines, api, act, can, readOnlyNote } from "../lib.js";

// ---- Sensitive words

export async function pageWords(el, id) {
  const writable = can("words:write", id);
  const actions = await api("GET", `/admin/apps/${id}/sensitive-words`);
  const custom = await api("GET", `/admin/apps/${id}/sensitive-words/custom`);
  const sel = (name, value) =>
    h(
      "select",
      { name, id: `words-${name}`, disabled: !writable },
      ["mask", "block", "off"].map((a) => h("option", { value: a, selected: value === a }, a)),
    );
  const builtin = sel("builtin", actions.builtin);
  const own = sel("custom", actions.custom);
  const save = h("button", { type: "submit", id: "save-word-actions" }, "Save");
  const form = h(
    "form",
    { class: "inline" },
    field("Built-in list", builtin),
    field("The app's words", own),
    writable ? save : null,
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    act(save, async () => {
      await api("PATCH", `/admin/apps/${id}/sensitive-words`, { builtin: builtin.value, custom: own.value });
      toast("Saved");
    });
  });
  const list = h("div", { id: "words-list" });
  const drawWords = (words) =>
    list.replaceChildren(
      table(
        [
          { label: "Word", cell: (w) => w },
          {
            label: "",
            cell: (w) => {
              if (!writable) return "";
              const b = h("button", { class: "danger", type: "button" }, "Delete");
              b.addEventListener("click", () =>
                act(b, async () => drawWords((await api("POST", `/admin/apps/${id}/sensitive-words/custom`, { delete: [w] })).words)),
              );
              return b;
            },
          },
        ],
        words,
        "No words of the app's own.",
      ),
    );
  drawWords(custom.words);
  const card = h(
    "section",
    { class: "card" },
    h("h2", {}, "What the lists do"),
    h("p", { class: "muted" }, "mask replaces a word with ***; block refuses the message (80001)."),
    form,
    readOnlyNote("words", id),
    h("h2", {}, "The app's own words"),
  );
  if (writable) {
    const word = h("input", { id: "new-word", placeholder: "a word, or several separated by commas" });
    const add = h("button", { type: "submit", id: "add-word" }, "Add");
    const addForm = h("form", { class: "inline" }, field("Add words", word), add);
    addForm.addEventListener("submit", (ev) => {
      ev.preventDefault();
      act(add, async () => {
        const got = await api("POST", `/admin/apps/${id}/sensitive-words/custom`, { add: lines(word.value) });
        word.value = "";
        drawWords(got.words);
        toast("Added: applies within seconds");
      });
    });
    card.append(addForm);
  }
  card.append(list);
  el.append(card);
}
