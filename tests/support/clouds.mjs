// TEST-ONLY protocol-faithful fakes of Google STS + IAM Credentials and Entra ID's token
// endpoint (the real ones cannot run here). They check every parameter the documented APIs
// require, verify the assertion they are handed as the cloud does (assertion.mjs: discovery from
// its own `iss`, so an issuer path is honoured, then JWKS, signature, `typ: JWT`, `aud`, `sub`,
// `exp`, `iat`) against the trust configured in them, record what they were sent, answer with
// the documented success shapes, and can be told to answer with a documented error instead.
// Unknown routes are a 404 and recorded. A refused request's record has `refused` (the check).
//
//   startGoogleFake({ issuers, allowedAudiences })  the workload identity provider's trust:
//     issuers (its issuer URI; undefined: any issuer on loopback) and allowedAudiences
//     (undefined: the provider's default, its canonical name with `//` or `https://`).
//   startEntraFake({ credentials, expiresIn })  the app's federated identity credentials,
//     [{ issuer, subject, audiences: ["api://AzureADTokenExchange"], clientId? }] (undefined: any
//     loopback issuer and subject, audience `api://AzureADTokenExchange`); expiresIn: the
//     lifetime of the tokens it issues (default 3599 s, Entra's).
// The arrays are read at each request, so a test may add to them.
import http from "node:http";
import { verifyAssertion } from "./assertion.mjs";

const ENTRA_AUDIENCE = "api://AzureADTokenExchange";

function server(handler) {
  const requests = [];
  const s = http.createServer(async (req, res) => {
    let body = "";
    for await (const c of req) body += c;
    const rec = { method: req.method, url: req.url, headers: req.headers, body };
    requests.push(rec);
    const send = (status, obj) => { res.writeHead(status, { "content-type": "application/json" }); res.end(JSON.stringify(obj)); };
    try { await handler(rec, send); } catch (e) { send(500, { error: "fake_failure", error_description: String(e) }); }
  });
  return { s, requests };
}

/** Google STS's answer to a subject token it does not accept (all `invalid_grant`, 400), or null. */
async function googleRefusal(token, stsAudience, { issuers, allowedAudiences }) {
  const provider = stsAudience.replace(/^\/\/iam\.googleapis\.com\//, "");
  const audiences = allowedAudiences ?? [`//iam.googleapis.com/${provider}`, `https://iam.googleapis.com/${provider}`];
  const v = await verifyAssertion(token, { issuers, audiences });
  if (v.ok) return null;
  const why = {
    malformed: "Unable to parse the ID Token.",
    issuer: `The issuer in ID Token ${v.detail} does not match the expected value.`,
    discovery: "Unable to retrieve the OIDC discovery document or public keys of the issuer.",
    kid: "The ID Token's kid does not match any key of the issuer.",
    signature: "Invalid ID Token signature.",
    typ: "The ID Token's type is not JWT.",
    audience: `The audience in ID Token [${v.detail}] does not match the expected audience.`,
    subject: "The ID Token has no sub claim.",
    expired: "The ID Token has expired.",
    iat: `ID Token issued at ${v.detail} is in the future.`,
  }[v.check] ?? "Invalid ID Token.";
  return { check: v.check, body: { error: "invalid_grant", error_description: why } };
}

export async function startGoogleFake({ issuers, allowedAudiences } = {}) {
  let canned = null;
  const issued = new Set();
  const { s, requests } = server(async (rec, send) => {
    if (canned) return send(canned.status, canned.body);
    if (rec.method === "POST" && rec.url === "/v1/token") {
      const f = Object.fromEntries(new URLSearchParams(rec.body));
      const need = { grant_type: "urn:ietf:params:oauth:grant-type:token-exchange", requested_token_type: "urn:ietf:params:oauth:token-type:access_token", subject_token_type: "urn:ietf:params:oauth:token-type:jwt" };
      for (const [k, v] of Object.entries(need)) if (f[k] !== v) return send(400, { error: "invalid_request", error_description: `bad ${k}` });
      if (!/^\/\/iam\.googleapis\.com\/projects\/\d+\/locations\/global\/workloadIdentityPools\/[^/]+\/providers\/[^/]+$/.test(f.audience ?? "")) return send(400, { error: "invalid_request", error_description: "bad audience" });
      if (!f.scope || !f.subject_token || f.subject_token.split(".").length !== 3) return send(400, { error: "invalid_request", error_description: "scope and subject_token required" });
      const refused = await googleRefusal(f.subject_token, f.audience, { issuers, allowedAudiences });
      if (refused) { rec.refused = refused.check; return send(400, refused.body); }
      const token = `ya29.federated-${requests.length}`;
      issued.add(token);
      return send(200, { access_token: token, issued_token_type: "urn:ietf:params:oauth:token-type:access_token", token_type: "Bearer", expires_in: 3599 });
    }
    const m = /^\/v1\/projects\/-\/serviceAccounts\/([^/:]+):generateAccessToken$/.exec(rec.url);
    if (rec.method === "POST" && m) {
      const bearer = (rec.headers.authorization ?? "").replace(/^Bearer /, "");
      if (!issued.has(bearer)) return send(401, { error: { code: 401, message: "Request had invalid authentication credentials.", status: "UNAUTHENTICATED" } });
      const b = JSON.parse(rec.body);
      if (!Array.isArray(b.scope) || !/^\d+s$/.test(b.lifetime)) return send(400, { error: { code: 400, message: "Invalid argument", status: "INVALID_ARGUMENT" } });
      return send(200, { accessToken: `ya29.sa-${decodeURIComponent(m[1])}-${requests.length}`, expireTime: new Date(Date.now() + Number(b.lifetime.slice(0, -1)) * 1000).toISOString().replace(/\.\d+Z$/, "Z") });
    }
    send(404, { error: { code: 404, message: "Not found", status: "NOT_FOUND" } });
  });
  await new Promise((r) => s.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${s.address().port}`;
  return { stsUrl: `${base}/v1/token`, iamUrl: base, requests, issuers, allowedAudiences, respondWith(status, body) { canned = status ? { status, body } : null; }, close: () => s.close() };
}

/** Entra's AADSTS code and text for a client assertion it does not accept, or null. */
export async function entraRefusal(assertion, clientId, credentials) {
  const v = await verifyAssertion(assertion, { issuers: credentials?.map((c) => c.issuer) });
  if (!v.ok) {
    const iss = v.payload?.iss;
    switch (v.check) {
      case "issuer": return [v.check, 700211, `No matching federated identity record found for presented assertion issuer '${iss}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion.`];
      case "discovery": return [v.check, 50166, `Request to External OIDC endpoint failed. Issuer: '${iss}'.`];
      case "kid": return [v.check, 7000272, `The certificate with identifier ${v.detail} used to sign the federated credential could not be found in the metadata of identity provider ${iss}.`];
      case "signature": return [v.check, 700027, "Client assertion failed signature validation."];
      case "expired":
      case "iat": return [v.check, 700024, "Client assertion is not within its valid time range."];
      default: return [v.check, 50027, "JWT token is invalid or malformed."];
    }
  }
  const { iss, sub } = v.payload;
  const auds = Array.isArray(v.payload.aud) ? v.payload.aud : [v.payload.aud];
  const creds = (credentials ?? [{ issuer: iss, subject: sub, audiences: [ENTRA_AUDIENCE] }]).filter((c) => c.issuer === iss && (!c.clientId || c.clientId === clientId));
  if (!creds.length) return ["issuer", 700211, `No matching federated identity record found for presented assertion issuer '${iss}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion.`];
  if (!creds.some((c) => auds.some((a) => c.audiences.includes(a)))) return ["audience", 700212, `No matching federated identity record found for presented assertion audience '${auds.join(",")}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion.`];
  if (!creds.some((c) => c.subject === sub && auds.some((a) => c.audiences.includes(a)))) return ["subject", 700213, `No matching federated identity record found for presented assertion subject '${sub}'. Check your federated identity credential Subject, Audience and Issuer against the presented assertion.`];
  return null;
}

export async function startEntraFake({ credentials, expiresIn = 3599 } = {}) {
  let canned = null;
  const { s, requests } = server(async (rec, send) => {
    if (canned) return send(canned.status, canned.body);
    const m = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(rec.url);
    if (rec.method !== "POST" || !m) return send(404, { error: "not_found" });
    const f = Object.fromEntries(new URLSearchParams(rec.body));
    const aad = (code, text) => send(400, { error: "invalid_client", error_description: `AADSTS${code}: ${text}`, error_codes: [code], timestamp: new Date().toISOString(), trace_id: "00000000-0000-0000-0000-000000000000", correlation_id: "00000000-0000-0000-0000-000000000000" });
    if (f.grant_type !== "client_credentials") return send(400, { error: "unsupported_grant_type", error_description: "AADSTS70003", error_codes: [70003] });
    if (f.client_assertion_type !== "urn:ietf:params:oauth:client-assertion-type:jwt-bearer") return aad(700211, "bad client_assertion_type");
    if (!/^[0-9a-f-]{36}$/.test(f.client_id ?? "") || !(f.scope ?? "").endsWith("/.default")) return aad(90002, "bad client_id or scope");
    const [h] = (f.client_assertion ?? "").split(".");
    if (JSON.parse(Buffer.from(h ?? "", "base64url").toString() || "{}").alg !== "RS256") return aad(5002738, "Invalid JWT token. 'ES256' is not a supported signature algorithm.");
    const refused = await entraRefusal(f.client_assertion, f.client_id, credentials);
    if (refused) { rec.refused = refused[0]; return aad(refused[1], refused[2]); }
    return send(200, { token_type: "Bearer", expires_in: expiresIn, ext_expires_in: expiresIn, access_token: `eyJ0eXAiOiJKV1QifQ.entra-${requests.length}.fake` });
  });
  await new Promise((r) => s.listen(0, "127.0.0.1", r));
  return { authorityHost: `http://127.0.0.1:${s.address().port}`, requests, credentials, respondWith(status, body) { canned = status ? { status, body } : null; }, close: () => s.close() };
}
