// End to end: what edge-sts mints does not depend on the order of the request's
// parameters, and two granted targets that would write one claim differently are refused.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { decodeJwt } from "jose";
import { startIssuer } from "../support/issuer.mjs";
import { startWorker, devConfig, generateSigningKey, exchange } from "../support/worker.mjs";

let iss, w;

before(async () => {
  iss = await startIssuer();
  const secrets = { SIGNING_KEY_ES256: JSON.stringify(await generateSigningKey("ES256", "edge-es-1")) };
  const config = devConfig(iss.url, {
    signing_keys: [{ secret: "SIGNING_KEY_ES256", status: "active" }],
    targets: {
      // orders copies the caller's realm roles into `roles`; billing states its own `roles`.
      orders: { audience: "https://orders.example.test", scopes: ["read", "write"], default_scopes: ["read"],
                copy_claims: { "realm_access.roles": "roles" }, static_claims: { env: "test" } },
      billing: { audience: "https://billing.example.test", scopes: ["read", "write"], default_scopes: ["write"],
                 static_claims: { roles: ["billing"], env: "test" } },
      audit: { audience: "https://audit.example.test", scopes: ["read", "write"], default_scopes: ["read"],
               static_claims: { env: "test", tier: "gold" } },
    },
    clients: [{ client: "orders-service", targets: ["orders", "billing", "audit"] }],
  });
  w = await startWorker({ config, secrets });
});
after(async () => {
  await w?.stop();
  await iss?.close();
});

/** The minted claims without the per-mint fields. */
function minted(res) {
  assert.equal(res.status, 200, res.text);
  const { jti, iat, exp, ...rest } = decodeJwt(res.json.access_token);
  return rest;
}

test("audience order and scope order do not change the minted token", async () => {
  const subject = await iss.getToken("orders-service");
  const a = minted(await exchange(w.url, { subject_token: subject, audience: ["orders", "audit"], scope: "read write" }));
  const b = minted(await exchange(w.url, { subject_token: subject, audience: ["audit", "orders"], scope: "write read" }));
  assert.deepEqual(a, b);
  assert.deepEqual(a.aud, ["https://audit.example.test", "https://orders.example.test"]);
  assert.equal(a.scope, "read write");
  // Default scopes come from the first target in the fixed order (audit), whatever was asked first.
  const d1 = minted(await exchange(w.url, { subject_token: subject, audience: ["orders", "audit"] }));
  const d2 = minted(await exchange(w.url, { subject_token: subject, audience: ["audit", "orders"] }));
  assert.deepEqual(d1, d2);
});

test("two targets writing one claim with different values are refused in either order", async () => {
  const subject = await iss.getToken("orders-service");
  for (const audience of [["orders", "billing"], ["billing", "orders"]]) {
    const res = await exchange(w.url, { subject_token: subject, audience });
    assert.equal(res.status, 400, res.text);
    assert.equal(res.json.error, "invalid_target");
    assert.ok(!res.text.includes(subject.split(".")[1]), "no token echoed");
  }
  for (let i = 0; i < 50 && !w.logs.some((l) => l.includes('"policy.claim_conflict"')); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(w.logs.some((l) => l.includes('"policy.claim_conflict"')), "the log names the reason");
  // The same static value (`env`) in two targets is no conflict.
  const ok = minted(await exchange(w.url, { subject_token: subject, audience: ["billing", "audit"] }));
  assert.equal(ok.env, "test");
  assert.deepEqual(ok.roles, ["billing"]);
});

test("a copied claim whose source is missing is refused beside another target's value, never filled from it", async () => {
  // orders copies `realm_access.roles` into `roles`; billing writes `roles: ["billing"]`. A token
  // without `realm_access` must not get billing's roles into a token orders accepts.
  const { realm_access, ...claims } = iss.keyclaims("orders-service");
  assert.ok(realm_access, "the issuer's tokens carry realm_access");
  const bare = await iss.sign(claims);
  const seen = w.logs.filter((l) => l.includes('"policy.claim_conflict"')).length;
  for (const audience of [["orders", "billing"], ["billing", "orders"]]) {
    const res = await exchange(w.url, { subject_token: bare, audience });
    assert.equal(res.status, 400, res.text);
    assert.equal(res.json.error, "invalid_target");
    assert.ok(!("access_token" in res.json));
  }
  for (let i = 0; i < 50 && w.logs.filter((l) => l.includes('"policy.claim_conflict"')).length < seen + 2; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(w.logs.filter((l) => l.includes('"policy.claim_conflict"')).length, seen + 2, "both refusals logged as policy.claim_conflict");
  // Alone, orders mints without `roles`; with a target writing no `roles`, the same.
  const alone = minted(await exchange(w.url, { subject_token: bare, audience: "orders" }));
  assert.ok(!("roles" in alone));
  const withAudit = minted(await exchange(w.url, { subject_token: bare, audience: ["orders", "audit"] }));
  assert.ok(!("roles" in withAudit));
  assert.equal(withAudit.tier, "gold");
});
