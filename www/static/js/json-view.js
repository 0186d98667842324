// A decoded header or payload: pretty JSON with each member explained, or the text with a caret
// under a located JSON error.
import { HEADER, TIME_CLAIMS } from "./claim-notes.js";
import { h } from "./dom.js";
import { state } from "./state.js";
import { iso, live, local, relative } from "./time.js";

/** Pretty JSON with each top-level member explained in place. */
export function renderPart(box, part, explain, name) {
  if (!part) {
    box.replaceChildren(h("p", { class: "hint" }, `No ${name} segment.`));
    return;
  }
  const out = [];
  if (part.binary) {
    box.replaceChildren(h("p", { class: "hint", dataset: { binary: "1" } },
      `The ${name} segment decodes to bytes that are not text (not UTF-8 JSON): there is nothing readable to show.`));
    return;
  }
  if (part.repaired) out.push(h("p", { class: "warn" }, "Shown after repairing the base64url; edge-sts refuses it as it is."));
  let value;
  try {
    value = part.text != null ? JSON.parse(part.text) : undefined;
  } catch {
    value = undefined;
  }
  if (value && typeof value === "object" && !Array.isArray(value)) {
    const lines = [h("span", { class: "p" }, "{\n")];
    const keys = Object.keys(value);
    keys.forEach((k, idx) => {
      const v = value[k];
      const pretty = JSON.stringify(v, null, 2).replace(/\n/g, "\n  ");
      const comma = idx < keys.length - 1 ? "," : "";
      const note = explainClaim(k, v, explain);
      lines.push(h("span", { class: "member", dataset: { key: k } },
        "  ", h("span", { class: "k" }, JSON.stringify(k)), ": ", h("span", { class: valueClass(v) }, pretty), comma,
        note ? h("span", { class: "note" }, "  // ", note) : null, "\n"));
    });
    lines.push(h("span", { class: "p" }, "}"));
    out.push(h("pre", { class: "json", tabindex: "0", "aria-label": `${name} JSON` }, lines));
  } else if (part.text != null) {
    // Not JSON (or not an object): show the text, with a caret at the JSON error if located.
    const p = state.report?.decoded.problems.find((x) => x.segment === name && x.line != null);
    out.push(h("pre", { class: "json raw", tabindex: "0", "aria-label": `${name} text` }, withCaret(part.text, p)));
  } else {
    out.push(h("p", { class: "hint" }, "Could not be decoded at all."));
  }
  box.replaceChildren(...out);
}

/** `text` with the character at JSON line/column `p` marked, and a caret right under it. The
 *  caret hangs below the marked character itself (not on a line of spaces after the JSON line),
 *  so it stays under it however the text wraps. serde_json counts the column in bytes. */
export function withCaret(text, p) {
  if (!p) return [text];
  const lines = text.split("\n");
  const li = Math.max(0, Math.min(p.line, lines.length) - 1);
  let pos = 0;
  for (let i = 0; i < li; i++) pos += lines[i].length + 1;
  const at = pos + utf16Index(lines[li], Math.max(0, p.column - 1));
  const cp = text.codePointAt(at);
  const ch = cp === undefined || cp === 10 ? "" : String.fromCodePoint(cp);
  return [
    text.slice(0, at),
    h("span", { class: "at" }, h("mark", { class: "bad", title: p.message }, ch || " "),
      h("span", { class: "caret" }, `^ line ${p.line}, column ${p.column}`)),
    text.slice(at + ch.length),
  ];
}

/** The UTF-16 index in `line` of the character that starts at UTF-8 byte `bytes`. */
function utf16Index(line, bytes) {
  let b = 0;
  let i = 0;
  for (const c of line) {
    if (b >= bytes) return i;
    const cp = c.codePointAt(0);
    b += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    i += c.length;
  }
  return i;
}

/** A caret label that would run past the right edge of its box is drawn leftwards instead. */
export function fitCarets(root) {
  for (const c of root.querySelectorAll(".at .caret")) {
    c.parentElement.classList.remove("flip");
    const box = c.closest("pre")?.getBoundingClientRect();
    if (box && c.getBoundingClientRect().right > box.right - 4) {
      c.parentElement.classList.add("flip");
      c.textContent = `line ${c.textContent.replace(/^\^ line /, "")} ^`;
    }
  }
}

function valueClass(v) {
  if (typeof v === "string") return "s";
  if (typeof v === "number") return "n";
  if (typeof v === "boolean" || v === null) return "b";
  return "o";
}

function explainClaim(k, v, table) {
  const base = table[k];
  if (table !== HEADER && TIME_CLAIMS.has(k) && typeof v === "number") {
    return h("span", {}, `${iso(v)} (${local(v)}), `, live(v, (d) => relative(d)), base ? ` — ${base}` : "");
  }
  return base || null;
}
