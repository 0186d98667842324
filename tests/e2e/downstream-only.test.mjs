// The downstream-only Worker (build-downstream/: `scripts/build.sh downstream`, built without the
// `clouds` feature): it mints edge-sts's own tokens as the release build does, refuses a
// configuration with a cloud block (503, /healthz names the block and the feature), and has no
// `/gcp/*` routes.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { createLocalJWKSet, jwtVerify } from "jose";
import { startIssuer } from "../support/issuer.mjs";
import { startWorker, devConfig, generateSigningKey, exchange } from "../support/worker.mjs";

const BUILD = "build-downstream";
let iss, w, secrets;

before(async () => {
  iss = await startIssuer();
  secrets = {
    SIGNING_KEY_ES256: JSON.stringify(await generateSigningKey("ES256", "edge-es-1")),
    SIGNING_KEY_RS256: JSON.stringify(await generateSigningKey("RS256", "edge-rs-1")),
  };
  w = await startWorker({ build: BUILD, config: devConfig(iss.url), secrets });
});
after(async () => { await w?.stop(); await iss?.close(); });

test("a downstream exchange works: 200, and the token verifies against the Worker's own JWKS", async () => {
  assert.equal((await fetch(`${w.url}/healthz`)).status, 200);
  const res = await exchange(w.url, { subject_token: await iss.getToken("orders-service"), scope: "orders:write" });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.token_type, "Bearer");
  assert.equal(res.json.scope, "orders:write");
  const jwks = createLocalJWKSet(await (await fetch(`${w.url}/.well-known/jwks.json`)).json());
  const { payload, protectedHeader } = await jwtVerify(res.json.access_token, jwks, {
    issuer: "http://127.0.0.1:8787",
    audience: "https://orders.example.test",
    typ: "at+jwt",
  });
  assert.equal(protectedHeader.alg, "ES256");
  assert.equal(payload.client_id, "orders-service");
  assert.equal(payload.scope, "orders:write");
  assert.equal(payload.env, "test");
});

test("the /gcp/* routes are not routes in this build: 404", async () => {
  const bearer = { authorization: `Bearer ${await iss.getToken("orders-service")}` };
  for (const p of ["/gcp/subject-token?target=orders", "/gcp/external-account?target=orders"]) {
    const r = await fetch(`${w.url}${p}`, { headers: bearer });
    assert.equal(r.status, 404, p);
    assert.deepEqual(await r.json(), { error: "not_found" });
  }
});

test("a configuration with an aws block: /healthz 503 names the block and the feature, /token 503", async () => {
  const cfg = devConfig(iss.url);
  cfg.targets["aws-orders"] = {
    audience: "sts.amazonaws.com",
    scopes: [],
    aws: { role_arn: "arn:aws:iam::123456789012:role/edge-sts-orders", endpoint: "http://127.0.0.1:9" },
  };
  const w2 = await startWorker({ build: BUILD, config: cfg, secrets });
  try {
    const h = await fetch(`${w2.url}/healthz`);
    assert.equal(h.status, 503);
    const body = await h.json();
    assert.equal(body.status, "error");
    assert.equal(body.field, "targets.aws-orders.aws");
    assert.match(body.problem, /without the `clouds` feature/);
    assert.match(body.fix, /default features \(`scripts\/build\.sh`\)/);
    assert.match(body.fix, /remove the cloud block/);
    const res = await exchange(w2.url, { subject_token: await iss.getToken("orders-service") });
    assert.equal(res.status, 503, res.text);
    assert.equal(res.json.error, "server_error");
    assert.equal(res.json.error_description, "edge-sts is not configured correctly");

    // Embedded at build time (`EDGE_STS_CONFIG_FILE=… scripts/build.sh downstream`), the same
    // file fails the build with the Worker's own field, problem and fix; the default build takes it.
    const dir = mkdtempSync(path.join(tmpdir(), "edge-sts-downstream-"));
    try {
      const file = path.join(dir, "aws.json");
      writeFileSync(file, JSON.stringify(cfg));
      const embed = (...flags) => spawnSync("node", ["scripts/embed-config.mjs", file, ...flags], { cwd: new URL("../..", import.meta.url), encoding: "utf8" });
      const r = embed("--without-clouds");
      assert.equal(r.status, 1, r.stderr);
      assert.ok(r.stderr.includes(`error: ${body.field}\n  problem: ${body.problem}\n  fix:     ${body.fix}\n`), r.stderr);
      const ok = embed();
      assert.equal(ok.status, 0, ok.stderr + ok.stdout);
    } finally { rmSync(dir, { recursive: true, force: true }); }
  } finally { await w2.stop(); }
});
