// Rendering the core's report: the token with its segments and problems marked, the times, the
// header and payload, and the keys found.
import { CLAIMS, HEADER, KEYCLOAK } from "./claim-notes.js";
import { $, h, rich } from "./dom.js";
import { fitCarets, renderPart } from "./json-view.js";
import { renderKeyInput } from "./key-input.js";
import { state } from "./state.js";
import { iso, live, local, nowSecs, relative } from "./time.js";
import { renderChecks, renderVerdict } from "./verdict.js";

export function render(r, token) {
  $("#decoded").hidden = false;
  renderToken(r, token);
  renderProblems(r);
  renderTimes(r);
  renderPart($("#header-view"), r.decoded.header, HEADER, "header");
  renderPart($("#payload-view"), r.decoded.payload, r.keycloak ? { ...CLAIMS, ...KEYCLOAK } : CLAIMS, "payload");
  fitCarets($("#decoded"));
  const s = r.decoded.signature;
  $("#sig-view").textContent = !s
    ? "No signature segment."
    : s.bytes == null
      ? "The signature segment is not strict base64url."
      : `${s.bytes} bytes.`;
  renderKeys(r);
  state.keyProblem = null;
  renderKeyInput(r);
  renderVerdict(r);
  renderChecks(r);
  const t = r.times, l = t.leeway_secs;
  state.boundaries = [t.exp != null && t.exp + l, t.nbf != null && t.nbf - l, t.iat != null && t.iat - l].filter((x) => x !== false);
  state.lastTick = nowSecs();
}

function renderToken(r, token) {
  const view = $("#tokview");
  const d = r.decoded;
  const marks = d.problems.filter((p) => p.offset != null).map((p) => p.offset);
  const spans = [];
  const segClass = (i) => {
    if (d.header && i >= d.header.start && i < d.header.end) return "seg-h";
    if (d.payload && i >= d.payload.start && i < d.payload.end) return "seg-p";
    if (d.signature && i >= d.signature.start && i < d.signature.end) return "seg-s";
    return "seg-x";
  };
  let i = 0;
  const show = token.length > 20000 ? 20000 : token.length;
  while (i < show) {
    if (marks.includes(i)) {
      const p = d.problems.find((x) => x.offset === i);
      spans.push(h("mark", { class: "bad", title: p.message }, token[i] ?? "⏎"));
      i += 1;
      continue;
    }
    const cls = segClass(i);
    let j = i + 1;
    while (j < show && segClass(j) === cls && !marks.includes(j)) j++;
    spans.push(h("span", { class: cls }, token.slice(i, j)));
    i = j;
  }
  // A problem located at the very end (missing segment): show an end marker.
  if (marks.includes(token.length)) spans.push(h("mark", { class: "bad", title: "here" }, "⟂"));
  if (show < token.length) spans.push(h("span", { class: "seg-x" }, `… (${token.length - show} more characters)`));
  view.replaceChildren(...spans);
}

function renderProblems(r) {
  const box = $("#problems");
  const ps = r.decoded.problems;
  if (!ps.length) {
    box.replaceChildren();
    return;
  }
  const items = ps.map((p) => {
    const where = [p.segment];
    if (p.segment_offset != null) where.push(`character ${p.segment_offset + 1}`);
    if (p.offset != null) where.push(`token character ${p.offset + 1}`);
    if (p.line != null) where.push(`line ${p.line}, column ${p.column}`);
    return h("li", { dataset: { segment: p.segment, reason: p.reason_code } },
      h("strong", {}, where.join(", ")), ": ", rich(p.message), " ", h("code", { class: "reason" }, p.reason_code));
  });
  box.replaceChildren(h("h3", {}, "Problems"), h("ul", { id: "problem-list" }, items));
}

function renderTimes(r) {
  const dl = $("#times");
  const t = r.times;
  const rows = [];
  const add = (name, v, fmt) => {
    if (v == null) return;
    rows.push(h("dt", {}, name), h("dd", { dataset: { claim: name } }, h("time", { datetime: iso(v) }, iso(v)), " (", live(v, fmt), ")",
      h("span", { class: "local" }, ` · ${local(v)}`)));
  };
  const fmts = {
    exp: (d) => (d > 0 ? `expires ${relative(d)}` : `expired ${relative(d)}`),
    nbf: (d) => (d > 0 ? `valid ${relative(d)}` : `valid since ${relative(d).replace(/ ago$/, "")}`),
    iat: (d) => `issued ${relative(d)}`,
    auth_time: (d) => `authenticated ${relative(d)}`,
  };
  add("exp", t.exp, fmts.exp);
  add("nbf", t.nbf, fmts.nbf);
  add("iat", t.iat, fmts.iat);
  if (t.exp != null && t.iat != null) rows.push(h("dt", {}, "lifetime"), h("dd", {}, `${Math.round(t.exp - t.iat)} s`));
  // A payload whose JSON is broken still shows the times its text carries.
  const part = r.decoded.payload;
  if (!rows.length && part?.text != null && part.json == null) {
    const found = rawTimes(part.text);
    for (const [name, v] of found) add(name, v, fmts[name]);
    if (found.length) rows.push(h("dd", { class: "hint span-all", id: "raw-times-note" }, "Read from the payload's text: its JSON is broken, so edge-sts would refuse the token before any time rule."));
  }
  if (!rows.length) rows.push(h("dt", {}, "—"), h("dd", {}, "no readable time claims"));
  dl.replaceChildren(...rows);
}

/** `"exp": 1767225600` and the like, found in text that is not JSON (first of each name). */
function rawTimes(text) {
  const out = [];
  for (const name of ["exp", "nbf", "iat", "auth_time"]) {
    const m = new RegExp(`"${name}"\\s*:\\s*(-?\\d+(?:\\.\\d+)?(?:[eE][+-]?\\d+)?)`).exec(text);
    if (m && Number.isFinite(Number(m[1]))) out.push([name, Number(m[1])]);
  }
  return out;
}

function renderKeys(r) {
  const k = r.keys;
  const box = $("#keys-summary");
  if (!k) {
    box.textContent = "";
    return;
  }
  const parts = [];
  if (k.error) parts.push(`${k.error}.`);
  if (k.keys.length) {
    parts.push(`${k.format.toUpperCase()}: ${k.keys.length} usable key${k.keys.length === 1 ? "" : "s"} (` +
      k.keys.map((x) => `${x.kid ? `kid ${x.kid}` : "no kid"}${x.adopted_kid ? " (taken from the token)" : ""}, ${x.alg_implied && x.kty === "RSA" ? "any RS/PS" : x.alg}`).join("; ") + ").");
  }
  for (const s of k.skipped) parts.push(`Skipped ${s.kid ? `key ${s.kid}` : "a key"}: ${s.reason}.`);
  box.textContent = parts.join(" ");
}

/** The decoded header or payload as the user would paste it elsewhere: pretty JSON, or the
 *  decoded text when it is not JSON. */
export function partText(name) {
  const part = state.report?.decoded[name];
  if (!part || part.text == null) return "";
  try {
    return JSON.stringify(JSON.parse(part.text), null, 2);
  } catch {
    return part.text;
  }
}
