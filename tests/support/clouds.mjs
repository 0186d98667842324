// TEST-ONLY protocol-faithful fakes of Google STS + IAM Credentials and Entra ID's token
// endpoint (the real ones cannot run here). They check every parameter the documented APIs
// require, record what they were sent, answer with the documented success shapes, and can be
// told to answer with a documented error instead. Unknown routes are a 404 and recorded.
import http from "node:http";

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

export async function startGoogleFake() {
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
  return { stsUrl: `${base}/v1/token`, iamUrl: base, requests, respondWith(status, body) { canned = status ? { status, body } : null; }, close: () => s.close() };
}

export async function startEntraFake() {
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
    return send(200, { token_type: "Bearer", expires_in: 3599, ext_expires_in: 3599, access_token: `eyJ0eXAiOiJKV1QifQ.entra-${requests.length}.fake` });
  });
  await new Promise((r) => s.listen(0, "127.0.0.1", r));
  return { authorityHost: `http://127.0.0.1:${s.address().port}`, requests, respondWith(status, body) { canned = status ? { status, body } : null; }, close: () => s.close() };
}
