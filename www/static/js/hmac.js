// HMAC (HS256/384/512): edge-sts refuses these tokens, so the core never checks their signature;
// the page does, with WebCrypto and the secret the user types (which never leaves the page).
import { b64uBytes } from "./base64url.js";
import { $ } from "./dom.js";
import { state } from "./state.js";
import { renderChecks, renderVerdict } from "./verdict.js";

const HMAC_HASH = { HS256: "SHA-256", HS384: "SHA-384", HS512: "SHA-512" };
// The checks that concern the (asymmetric) signature: for an HMAC token the page's own check
// stands in for them under "any JWT".
export const SIGNATURE_CHECKS = new Set(["alg", "alg_allowed", "kid", "key_binding", "signature"]);

/** What the page knows about an HMAC token before its signature is checked (null: not HMAC). */
export function hmacState(r, token) {
  const alg = r.decoded.header?.json?.alg;
  const box = $("#hmac-box");
  if (typeof alg !== "string" || !HMAC_HASH[alg]) {
    box.hidden = true;
    return null;
  }
  box.hidden = false;
  $("#hmac-alg").textContent = alg;
  const secret = $("#hmac-secret").value;
  const parts = token.split(".");
  if (!secret) return { alg, status: "nosecret" };
  if (parts.length !== 3) return { alg, status: "error", message: "the token does not have three segments" };
  let key;
  try {
    key = $("#hmac-b64").checked ? b64uBytes(secret.trim()) : new TextEncoder().encode(secret);
  } catch {
    return { alg, status: "error", message: "the secret is not base64url (untick \u201cbase64url-encoded\u201d to use it as text)" };
  }
  let sig;
  try {
    sig = b64uBytes(parts[2]);
  } catch {
    return { alg, status: "error", message: "the signature segment is not base64url" };
  }
  return { alg, status: "pending", key, sig, input: `${parts[0]}.${parts[1]}`, token, secret };
}

export async function verifyHmac(hs) {
  let ok;
  try {
    const key = await crypto.subtle.importKey("raw", hs.key, { name: "HMAC", hash: HMAC_HASH[hs.alg] }, false, ["verify"]);
    ok = await crypto.subtle.verify("HMAC", key, hs.sig, new TextEncoder().encode(hs.input));
  } catch (e) {
    Object.assign(hs, { status: "error", message: e.message || String(e) });
  }
  if (ok !== undefined) hs.status = ok ? "valid" : "invalid";
  // Only if nothing changed meanwhile.
  if (state.hmac === hs) {
    renderVerdict(state.report);
    renderChecks(state.report);
  }
}

/** The HMAC line of the checks list. */
export function hmacCheck(hs) {
  const bits = `HMAC-${HMAC_HASH[hs.alg]}`;
  const t = {
    nosecret: ["skip", `${hs.alg} is an HMAC with a shared secret: type the secret in the Key section to check it.`],
    pending: ["skip", "checking…"],
    error: ["fail", `cannot check the HMAC: ${hs.message}`],
    valid: ["pass", `the ${bits} of header.payload under this secret is the token's signature`],
    invalid: ["fail", `the ${bits} of header.payload under this secret is not the token's signature (wrong secret, or the token was altered)`],
  }[hs.status];
  return { id: "hmac", status: t[0], reason_code: "", message: t[1] };
}
