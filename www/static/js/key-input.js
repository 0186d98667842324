// The key field: where pasted key text is malformed, and a pasted discovery document.
import { $, h, rich, setVerdict } from "./dom.js";
import { fitCarets, withCaret } from "./json-view.js";
import { curlLine, fetchStatus } from "./key-fetch.js";
import { state } from "./state.js";
import { jsonError } from "./wasm.js";

/** Called after each run: points at a JSON error in the key input, takes a pasted discovery
 *  document's jwks_uri, and clears a stale fetch error once the pasted keys are usable. */
export function renderKeyInput(r) {
  const box = $("#keys-problem");
  const text = $("#keys").value;
  const trimmed = text.trim();
  box.hidden = true;
  box.replaceChildren();
  const k = r?.keys;
  if (!k || !trimmed) return;
  if (k.keys.length && $("#fetch-status").dataset.ok === "0") {
    fetchStatus(`The key field holds ${k.keys.length} usable key${k.keys.length === 1 ? "" : "s"}.`);
  }
  if (!k.error || trimmed.startsWith("-----BEGIN")) return;
  const located = jsonError(text);
  if (located) {
    const p = JSON.parse(located);
    state.keyProblem = p;
    box.append(h("p", { id: "keys-problem-text" }, `The key input is not valid JSON at line ${p.line}, column ${p.column}: ${p.message}.`),
      h("pre", { class: "json raw", tabindex: "0", "aria-label": "key input, with the JSON error marked" }, withCaret(text, p)));
    box.hidden = false;
    fitCarets(box);
    return;
  }
  let doc;
  try {
    doc = JSON.parse(trimmed);
  } catch {
    doc = null;
  }
  if (doc && typeof doc.jwks_uri === "string" && !("keys" in doc) && !("kty" in doc)) {
    $("#jwks-url").value = doc.jwks_uri;
    box.append(h("p", { id: "keys-problem-text" }, "This is a discovery document, not keys: its jwks_uri is now in the JWKS URL field. Fetch it, or run ",
      h("code", {}, curlLine(doc.jwks_uri)), " and paste the output here."));
    box.hidden = false;
  }
}

/** The verdict when the key input is unusable: the key is at fault, not the token, and not an
 *  outage (the Worker's `key.unavailable` is about an issuer's JWKS it could not use). */
export function keyInputVerdict(r) {
  const k = r.keys;
  if (r.verdict.reason_code !== "key.unavailable" || !k?.error) return false;
  const p = state.keyProblem;
  const head = p?.line != null
    ? [h("strong", {}, `✗ The key input is not valid JSON at line ${p.line}, column ${p.column}`), `: ${p.message}.`]
    : [h("strong", {}, "✗ The key input is not usable"), ": ", rich(k.error), "."];
  setVerdict("keyerror", ...head,
    h("span", { class: "nc" }, "The signature cannot be checked until the key is fixed. ",
      "(From an issuer's JWKS the Worker would log ", h("code", { class: "reason", id: "verdict-reason" }, "key.unavailable"), ".)"));
  $("#verdict").dataset.reason = "key.unavailable";
  return true;
}
