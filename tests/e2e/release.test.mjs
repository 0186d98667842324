// The release build (build/, what `wrangler deploy` ships): no test routes compiled in, and dev
// mode's generated signing key works end to end (what the quick-start dev command runs).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createLocalJWKSet, jwtVerify } from "jose";
import { startIssuer } from "../support/issuer.mjs";
import { startWorker, devConfig, exchange } from "../support/worker.mjs";

let iss, w;
before(async () => {
  iss = await startIssuer();
  w = await startWorker({ build: "build", config: devConfig(iss.url, { signing_keys: [] }), playground: true });
});
after(async () => { await w?.stop(); await iss?.close(); });

test("test-only routes are compiled out of the release build", async () => {
  for (const p of ["/__test/verify", "/__test/sign"]) {
    const r = await fetch(`${w.url}${p}`, { method: "POST", body: "{}" });
    assert.equal(r.status, 404, p);
  }
});

test("dev mode generates a signing key, warns loudly, and its tokens verify with jose", async () => {
  const res = await exchange(w.url, { subject_token: await iss.getToken("orders-service") });
  assert.equal(res.status, 200, res.text);
  const jwks = await (await fetch(`${w.url}/.well-known/jwks.json`)).json();
  assert.deepEqual(jwks.keys.map((k) => k.alg).sort(), ["ES256", "RS256"]);
  await jwtVerify(res.json.access_token, createLocalJWKSet(jwks), { audience: "https://orders.example.test" });
  assert.ok(w.logs.some((l) => l.includes("DEV MODE")), "dev key warning in the log");
  assert.ok(!w.logs.some((l) => /"d":"/.test(l)), "private key never logged");
});

test("the Worker serves the playground as static assets, beside its API routes", async () => {
  const page = await fetch(`${w.url}/`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get("content-type"), /text\/html/);
  assert.match(await page.text(), /edge-sts/);
  assert.equal((await fetch(`${w.url}/healthz`)).status, 200, "API routes still reach the Worker");
});
