// TEST-ONLY: how a cloud checks an OIDC assertion it is handed (AWS AssumeRoleWithWebIdentity,
// Google STS, Entra's federated client assertion), for the fakes in aws.mjs and clouds.mjs.
// From the assertion's own `iss`: `<iss>/.well-known/openid-configuration` (so a path in the
// issuer is honoured), its `issuer` must be `iss`, then its `jwks_uri`; the key named by `kid`;
// the signature (jose); header `typ: JWT`; `aud`; `sub`; `exp` in the future; `iat` not in it.
// Every failure names which check failed, so each fake can answer in its cloud's own words.
import { createLocalJWKSet, compactVerify, decodeJwt, decodeProtectedHeader } from "jose";

const SKEW_SECS = 60;
const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** Is `iss` trusted? An explicit list (read at each call, so a test may add to it), or, with
 *  none configured, any http(s) issuer on loopback. */
function issuerTrusted(iss, issuers) {
  if (issuers) return issuers.includes(iss);
  try {
    const u = new URL(iss);
    return (u.protocol === "http:" || u.protocol === "https:") && LOOPBACK.has(u.hostname) && !u.search && !u.hash;
  } catch {
    return false;
  }
}

async function getJson(url) {
  const res = await fetch(url, { redirect: "error", signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.json();
}

/**
 * Checks `jwt` as a cloud does. `issuers`: trusted issuer URLs (undefined: any loopback issuer);
 * `audiences`: accepted `aud` values (undefined: any); `algorithms`: accepted `alg` values.
 * Returns `{ ok: true, header, payload }` or `{ ok: false, check, detail }` with check one of
 * malformed | alg | issuer | discovery | kid | signature | typ | audience | subject | expired | iat.
 */
export async function verifyAssertion(jwt, { issuers, audiences, algorithms } = {}) {
  let header, payload;
  try {
    header = decodeProtectedHeader(jwt);
    payload = decodeJwt(jwt);
  } catch (e) {
    return { ok: false, check: "malformed", detail: String(e.message) };
  }
  const fail = (check, detail) => ({ ok: false, check, detail, header, payload });
  if (algorithms && !algorithms.includes(header.alg)) return fail("alg", header.alg);
  const iss = payload.iss;
  if (typeof iss !== "string" || !issuerTrusted(iss, issuers)) return fail("issuer", String(iss));
  let jwks;
  try {
    const doc = await getJson(`${iss}/.well-known/openid-configuration`);
    if (doc.issuer !== iss) throw new Error(`discovery names issuer ${doc.issuer}`);
    jwks = await getJson(doc.jwks_uri);
  } catch (e) {
    return fail("discovery", String(e.message));
  }
  if (typeof header.kid !== "string" || !(jwks.keys ?? []).some((k) => k.kid === header.kid)) return fail("kid", String(header.kid));
  try {
    await compactVerify(jwt, createLocalJWKSet(jwks), algorithms ? { algorithms } : {});
  } catch (e) {
    return fail("signature", String(e.code ?? e.message));
  }
  if (header.typ !== "JWT") return fail("typ", String(header.typ));
  const auds = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  if (audiences && !auds.some((a) => audiences.includes(a))) return fail("audience", auds.join(" "));
  if (typeof payload.sub !== "string" || !payload.sub) return fail("subject", "no sub");
  const now = Math.floor(Date.now() / 1000);
  if (typeof payload.exp !== "number" || payload.exp <= now - SKEW_SECS) return fail("expired", String(payload.exp));
  if (typeof payload.iat !== "number" || payload.iat > now + SKEW_SECS) return fail("iat", String(payload.iat));
  return { ok: true, header, payload };
}
