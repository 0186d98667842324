// DOM helpers: element lookup, a builder that only ever inserts text, and the verdict box.

export const $ = (sel) => document.querySelector(sel);

/** Small DOM builder: text only ever goes in as text (never as HTML). */
export function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "dataset") Object.assign(e.dataset, v);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

export function setVerdict(status, ...content) {
  const v = $("#verdict");
  v.dataset.status = status;
  v.replaceChildren(...content.filter((c) => c !== null && c !== undefined));
}

/** The core's messages mark names and values with `backticks`: show those as code. */
export function rich(text) {
  return String(text).split("`").map((part, i) => (i % 2 ? h("code", {}, part) : part));
}
