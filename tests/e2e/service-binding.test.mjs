// Edge clients: a second Worker bound to edge-sts with a service binding (one Miniflare, two
// Workers, `serviceBindings`) calls /token with no network hop: edge-sts's issuer host does not
// even resolve. Once with a bare-origin issuer, once with an issuer path (the caller fetches
// `<issuer>/token`). docs/http.md, "Calling from another Worker".
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { createLocalJWKSet, jwtVerify } from "jose";
import { startIssuer } from "../support/issuer.mjs";
import { devConfig, generateSigningKey } from "../support/worker.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const build = path.join(root, "build-test");
// .invalid never resolves (RFC 2606): any network hop would fail.
const ISSUER_ROOT = "https://sts.example.invalid";
const ISSUER_TENANT = "https://sts.example.invalid/tenant-a";
let iss, mf, url;
const logs = [];

function stsWorker(name, issuer, secrets) {
  return {
    name,
    modules: true,
    modulesRoot: build,
    scriptPath: path.join(build, "index.js"),
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }],
    compatibilityDate: "2025-09-01",
    kvNamespaces: ["JWKS_CACHE"],
    bindings: { EDGE_STS_CONFIG: JSON.stringify(devConfig(iss.url, { issuer })), ...secrets },
  };
}

function callerWorker(name, binding, issuer) {
  return {
    name,
    modules: true,
    scriptPath: path.join(root, "tests/support/caller-worker.js"),
    compatibilityDate: "2025-09-01",
    serviceBindings: { STS: binding },
    bindings: { STS_ISSUER: issuer },
    // Each caller answers on its own route of the one Miniflare server.
    routes: [`http://${name}.test/*`],
  };
}

before(async () => {
  iss = await startIssuer();
  const secrets = {
    SIGNING_KEY_ES256: JSON.stringify(await generateSigningKey("ES256", "sb-es")),
    SIGNING_KEY_RS256: JSON.stringify(await generateSigningKey("RS256", "sb-rs")),
  };
  mf = new Miniflare({
    host: "127.0.0.1",
    port: 0,
    workers: [
      callerWorker("caller-root", "sts-root", ISSUER_ROOT),
      callerWorker("caller-tenant", "sts-tenant", ISSUER_TENANT),
      stsWorker("sts-root", ISSUER_ROOT, secrets),
      stsWorker("sts-tenant", ISSUER_TENANT, secrets),
    ],
    handleRuntimeStdio(stdout, stderr) {
      for (const s of [stdout, stderr]) s.on("data", (d) => { for (const l of String(d).split("\n")) if (l.trim()) logs.push(l); });
    },
  });
  url = (await mf.ready).toString().replace(/\/$/, "");
});
after(async () => { await mf?.dispose(); await iss?.close(); });

/** A request to one caller Worker (picked by its route's host). */
async function call(caller, p, init = {}) {
  const res = await mf.dispatchFetch(`http://${caller}.test${p}`, init);
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = { raw: text }; }
  return { status: res.status, json, text };
}

for (const [caller, issuer] of [["caller-root", ISSUER_ROOT], ["caller-tenant", ISSUER_TENANT]]) {
  test(`a Worker exchanges a Keycloak token through env.STS.fetch (issuer ${issuer})`, async () => {
    const subject = await iss.getToken("orders-service");
    const res = await call(caller, "/exchange", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ subject_token: subject, audience: "orders" }) });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.issued_token_type, "urn:ietf:params:oauth:token-type:access_token");
    const jwks = await call(caller, "/jwks");
    assert.equal(jwks.status, 200, jwks.text);
    const { payload, protectedHeader } = await jwtVerify(res.json.access_token, createLocalJWKSet(jwks.json), { issuer, audience: "https://orders.example.test", typ: "at+jwt" });
    assert.equal(payload.client_id, "orders-service");
    assert.equal(payload.scope, "orders:read");
    assert.ok(["sb-es", "sb-rs"].includes(protectedHeader.kid));
  });
}

test("through a binding the routes are the issuer's too: discovery under the path, the root not found", async () => {
  const doc = await call("caller-tenant", `/raw?path=${encodeURIComponent("/tenant-a/.well-known/openid-configuration")}`);
  assert.equal(doc.status, 200, doc.text);
  assert.equal(doc.json.token_endpoint, `${ISSUER_TENANT}/token`);
  const rootToken = await call("caller-tenant", `/raw?path=${encodeURIComponent("/token")}&method=POST`);
  assert.equal(rootToken.status, 404);
  const bad = await call("caller-root", "/exchange", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ subject_token: "not-a-token", audience: "orders" }) });
  // edge-sts's OAuth errors reach the caller as they are.
  assert.equal(bad.status, 400, bad.text);
  assert.equal(bad.json.error, "invalid_request");
});

test("a caller's cf-ray reaches the log line bounded: at most 64 characters of a safe alphabet, one JSON line", async () => {
  for (const bytes of [0, 1 << 20]) {
    const from = logs.length;
    const res = await call("caller-tenant", `/ray?path=${encodeURIComponent("/tenant-a/nope")}&bytes=${bytes}`);
    assert.equal(res.status, 404, res.text);
    // Log lines are written after the answer.
    let lines = [];
    for (let i = 0; i < 50 && !lines.length; i++) {
      await new Promise((r) => setTimeout(r, 20));
      lines = logs.slice(from).filter((l) => l.includes('"route":"(other)"'));
    }
    assert.equal(lines.length, 1, `one line for the request: ${lines.map((l) => l.slice(0, 200))}`);
    assert.ok(lines[0].length < 1024, `the line is short: ${lines[0].length} characters`);
    const line = JSON.parse(lines[0].slice(lines[0].indexOf("{")));
    assert.equal(line.status, 404);
    assert.ok(line.rid.length <= 64, line.rid);
    assert.match(line.rid, /^[A-Za-z0-9._:\/@+=%-]*~?$/);
    assert.ok(line.rid.startsWith("%22%7D%7B%1B%5B2J%09%01%5C%"), `escaped, not dropped: ${line.rid}`);
    assert.equal(line.rid.endsWith("~"), bytes > 0, "a cut value ends in ~");
  }
});
