// edge-sts with an issuer that has a path (`http://127.0.0.1:<port>/tenant-a`): every route is
// served under that path, found the way a relying party or a cloud finds it (discovery in the
// OIDC "append" form, then its jwks_uri and token_endpoint); the root paths and a sibling prefix
// are not this Worker's. docs/http.md, "Routes under the issuer's path".
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { startIssuer } from "../support/issuer.mjs";
import { ACCESS_TOKEN, GRANT, devConfig, freePort, generateSigningKey, startWorker } from "../support/worker.mjs";

let iss, w, issuer;

before(async () => {
  iss = await startIssuer();
  const port = await freePort();
  issuer = `http://127.0.0.1:${port}/tenant-a`;
  const secrets = {
    SIGNING_KEY_ES256: JSON.stringify(await generateSigningKey("ES256", "edge-es-1")),
    SIGNING_KEY_RS256: JSON.stringify(await generateSigningKey("RS256", "edge-rs-1")),
  };
  // A trailing slash in the configuration is the same issuer.
  w = await startWorker({ config: devConfig(iss.url, { issuer: `${issuer}/`, explain_secret: "EXPLAIN_KEY" }), secrets, port, extraVars: { EXPLAIN_KEY: "explain-key-TEST-ONLY" } });
  assert.equal(w.url, `http://127.0.0.1:${port}`);
});
after(async () => {
  await w?.stop();
  await iss?.close();
});

function form(params) {
  return new URLSearchParams({ grant_type: GRANT, subject_token_type: ACCESS_TOKEN, ...params });
}

test("discovery under the issuer's path leads to its keys and token endpoint; a minted token verifies against them", async () => {
  const res = await fetch(`${issuer}/.well-known/openid-configuration`);
  assert.equal(res.status, 200);
  const doc = await res.json();
  assert.equal(doc.issuer, issuer);
  assert.equal(doc.jwks_uri, `${issuer}/.well-known/jwks.json`);
  assert.equal(doc.token_endpoint, `${issuer}/token`);

  const jwksRes = await fetch(doc.jwks_uri);
  assert.equal(jwksRes.status, 200);
  const jwks = await jwksRes.json();
  assert.ok(jwks.keys.some((k) => k.kid === "edge-es-1"));

  const subject = await iss.getToken("orders-service");
  const t = await fetch(doc.token_endpoint, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: form({ subject_token: subject }) });
  assert.equal(t.status, 200);
  const body = await t.json();
  const { payload, protectedHeader } = await jwtVerify(body.access_token, createLocalJWKSet(jwks), { issuer: doc.issuer, audience: "https://orders.example.test", typ: "at+jwt" });
  assert.equal(payload.iss, issuer);
  assert.equal(payload.client_id, "orders-service");
  assert.ok(jwks.keys.some((k) => k.kid === protectedHeader.kid));
  assert.equal(decodeProtectedHeader(body.access_token).kid, protectedHeader.kid);
});

test("every route answers under the path", async () => {
  assert.equal((await fetch(`${issuer}/healthz`)).status, 200);
  assert.equal((await fetch(`${issuer}/token`)).status, 405, "GET /tenant-a/token is the token endpoint's 405");
  const pre = await fetch(`${issuer}/.well-known/jwks.json`, { method: "OPTIONS", headers: { origin: "https://app.example", "access-control-request-method": "GET" } });
  assert.equal(pre.status, 204);
  // /explain: the operator's dry-run, under the path too.
  const subject = await iss.getToken("orders-service");
  const x = await fetch(`${issuer}/explain`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", "x-edge-sts-explain-key": "explain-key-TEST-ONLY" }, body: form({ subject_token: subject }) });
  assert.equal(x.status, 200, await x.clone().text());
  assert.equal((await x.json()).allow, true);
  // /gcp/*: reached (no gcp target in this policy, so the policy refuses: not a 404).
  const g = await fetch(`${issuer}/gcp/subject-token?target=orders`, { headers: { authorization: `Bearer ${subject}` } });
  assert.notEqual(g.status, 404);
  assert.equal((await g.json()).error, "invalid_target");
  // Percent-encoding of the prefix is the same path.
  const enc = await fetch(`${w.url}/tenant%2Da/.well-known/openid-configuration`);
  assert.equal(enc.status, 200);
  assert.equal((await enc.json()).issuer, issuer);
});

test("the root paths, a sibling prefix and the bare prefix are not this Worker's routes", async () => {
  const subject = await iss.getToken("orders-service");
  const post = (url) => fetch(url, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: form({ subject_token: subject }) });
  for (const [what, res] of [
    ["root discovery", await fetch(`${w.url}/.well-known/openid-configuration`)],
    ["root jwks", await fetch(`${w.url}/.well-known/jwks.json`)],
    ["root token", await post(`${w.url}/token`)],
    ["root explain", await post(`${w.url}/explain`)],
    ["root gcp", await fetch(`${w.url}/gcp/external-account?target=orders`)],
    ["sibling prefix token", await post(`${w.url}/tenant-ab/token`)],
    ["sibling prefix discovery", await fetch(`${w.url}/tenant-ab/.well-known/openid-configuration`)],
    ["parent of prefix", await fetch(`${w.url}/tenant/.well-known/jwks.json`)],
    ["prefix alone", await fetch(issuer)],
    ["prefix with slash", await fetch(`${issuer}/`)],
    ["encoded slash", await post(`${w.url}/tenant-a%2Ftoken`)],
  ]) {
    assert.equal(res.status, 404, what);
    assert.deepEqual(await res.json(), { error: "not_found" }, what);
  }
  // The health check also answers at the root (a platform's probe need not know the tenant).
  assert.equal((await fetch(`${w.url}/healthz`)).status, 200);
});

test("the log line names the route under its prefix, and nothing a caller invents", async () => {
  await fetch(`${w.url}/tenant%2Da/healthz`);
  await fetch(`${w.url}/tenant-ab/token-INVENTED`);
  let lines = [];
  for (let i = 0; i < 50 && !lines.some((l) => l.route === "(other)"); i++) {
    lines = w.logs.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(lines.some((l) => l.route === "/tenant-a/healthz"), JSON.stringify(lines.map((l) => l.route)));
  assert.ok(!lines.some((l) => String(l.route).includes("INVENTED") || String(l.route).includes("%2D")));
});

test("without a configuration, the root paths keep their answers", async () => {
  const bad = await startWorker({ config: "{not json", port: 0 });
  try {
    const t = await fetch(`${bad.url}/token`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "x=1" });
    assert.equal(t.status, 503);
    assert.equal((await fetch(`${bad.url}/healthz`)).status, 503);
    assert.equal((await fetch(`${bad.url}/tenant-a/token`, { method: "POST" })).status, 404);
  } finally {
    await bad.stop();
  }
});
