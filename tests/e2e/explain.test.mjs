// POST /explain: the policy dry-run endpoint. Off by default; guarded by an operator secret;
// verifies the subject token like /token, then explains allow/deny without minting.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startIssuer } from "../support/issuer.mjs";
import { startWorker, devConfig, generateSigningKey, GRANT, ACCESS_TOKEN } from "../support/worker.mjs";

let iss, w, plain, secrets;
const KEY = "explain-key-TEST-ONLY";
before(async () => {
  iss = await startIssuer();
  secrets = { SIGNING_KEY_ES256: JSON.stringify(await generateSigningKey("ES256", "x-es")), SIGNING_KEY_RS256: JSON.stringify(await generateSigningKey("RS256", "x-rs")) };
  w = await startWorker({ config: devConfig(iss.url, { explain_secret: "EXPLAIN_KEY" }), secrets: { ...secrets, EXPLAIN_KEY: KEY } });
  plain = await startWorker({ config: devConfig(iss.url), secrets });
});
after(async () => { await w?.stop(); await plain?.stop(); await iss?.close(); });

async function explain(url, params, key = KEY) {
  const body = new URLSearchParams({ grant_type: GRANT, subject_token_type: ACCESS_TOKEN, ...params });
  const res = await fetch(`${url}/explain`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", ...(key ? { "x-edge-sts-explain-key": key } : {}) }, body });
  return { status: res.status, json: await res.json() };
}

test("off by default", async () => {
  assert.equal((await explain(plain.url, { subject_token: await iss.getToken("orders-service") })).status, 404);
});

test("needs the operator key", async () => {
  const t = await iss.getToken("orders-service");
  assert.equal((await explain(w.url, { subject_token: t }, null)).status, 401);
  assert.equal((await explain(w.url, { subject_token: t }, "wrong")).status, 401);
});

test("allow: names the rule, the target, the scopes and the claims it would mint", async () => {
  const r = await explain(w.url, { subject_token: await iss.getToken("orders-service"), audience: "orders" });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.equal(r.json.allow, true);
  assert.equal(r.json.client_id, "orders-service");
  assert.equal(r.json.claims.aud, "https://orders.example.test");
  assert.equal(r.json.claims.jti, undefined, "nothing is minted");
});

test("deny: scope beyond the policy, with the reason code /token would log", async () => {
  const r = await explain(w.url, { subject_token: await iss.getToken("orders-service"), scope: "admin" });
  assert.equal(r.status, 200);
  assert.equal(r.json.allow, false);
  assert.equal(r.json.reason, "policy.scope");
});

test("deny: a glob rule names the target the client may not have", async () => {
  const r = await explain(w.url, { subject_token: await iss.getToken("billing-service"), audience: "orders" });
  assert.equal(r.json.allow, false);
  assert.equal(r.json.reason, "policy.target_not_allowed");
});

test("an invalid subject token gets the OAuth error /token would give", async () => {
  const r = await explain(w.url, { subject_token: "a.b.c" });
  assert.equal(r.status, 400);
  assert.equal(r.json.error, "invalid_request");
});

test("explain_secret naming an unset secret is a configuration error, not a silent 401", async () => {
  const w2 = await startWorker({ config: devConfig(iss.url, { explain_secret: "NOT_SET" }), secrets });
  try {
    const h = await fetch(`${w2.url}/healthz`);
    assert.equal(h.status, 503);
    assert.equal((await h.json()).field, "explain_secret");
  } finally { await w2.stop(); }
});

test("explain_secret holding a secret's value instead of its name: refused, and the value is echoed nowhere", async () => {
  const value = "9b2f4c6e8a0d1f3b5c7e9a1d3f5b7c9e"; // what `openssl rand -hex 16` prints
  const w2 = await startWorker({ config: devConfig(iss.url, { explain_secret: value }), secrets });
  try {
    const h = await fetch(`${w2.url}/healthz`);
    assert.equal(h.status, 503);
    const text = await h.text();
    assert.equal(JSON.parse(text).field, "explain_secret");
    assert.ok(!text.includes(value), text);
    const res = await fetch(`${w2.url}/token`, { method: "POST" });
    assert.equal(res.status, 503);
    for (let i = 0; i < 50 && !w2.logs.some((l) => l.includes("configuration invalid")); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(w2.logs.some((l) => l.includes("configuration invalid")), "the error is logged");
    assert.ok(!w2.logs.some((l) => l.includes(value)), "nor is it in the log");
  } finally { await w2.stop(); }
});

test("a user token gets the refusal /token gives (claims.not_service_account)", async () => {
  const { client_id, ...c } = iss.keyclaims("orders-service");
  const t = await iss.sign({ ...c, preferred_username: "alice", sub: "8d0f4b7e-1c2a-4f3e-9b6d-5a4c3b2a1f00" });
  const r = await explain(w.url, { subject_token: t });
  assert.equal(r.status, 400);
  assert.equal(r.json.error, "invalid_request");
  assert.match(r.json.error_description, /service-account/);
});

test("a bound token and a user token with a mapped client id get the refusal /token gives", async () => {
  const cases = [
    ["a DPoP-bound token", await iss.getToken("orders-service", { dpop: true }), /bound to a key/],
    ["a user token with a mapped client_id", await iss.sign(iss.userClaims("orders-service", { client_id: "orders-service" })), /service-account/],
  ];
  for (const [name, t, says] of cases) {
    const r = await explain(w.url, { subject_token: t });
    const tok = await fetch(`${w.url}/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: GRANT, subject_token_type: ACCESS_TOKEN, subject_token: t }),
    });
    const tj = await tok.json();
    assert.equal(tok.status, 400, name);
    assert.equal(r.status, tok.status, name);
    assert.deepEqual(r.json, tj, `${name}: /explain answers as /token does`);
    assert.equal(r.json.error, "invalid_request", name);
    assert.match(r.json.error_description, says, name);
  }
});
