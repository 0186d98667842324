// A policy past one Worker variable's 5 KB, embedded at build time (scripts/embed-config.mjs, what
// `EDGE_STS_CONFIG_FILE=path scripts/build.sh` runs): the generated 300-client, 60-target policy
// (bench/gen-policy.mjs) in a copy of build-test/, with no EDGE_STS_CONFIG variable.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";
import { createLocalJWKSet, jwtVerify } from "jose";
import { Miniflare } from "miniflare";
import { genPolicy, targetsOf } from "../../bench/gen-policy.mjs";
import { startIssuer } from "../support/issuer.mjs";
import { devConfig, exchange, generateSigningKey } from "../support/worker.mjs";
import { median } from "../support/measure.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
// Scratch space inside the (git-ignored) tests/artifacts: copies of build-test/ and policy files.
const scratch = path.join(root, "tests/artifacts/big-policy");
const embedScript = path.join(root, "scripts/embed-config.mjs");

let iss, signing, policyFile, dir;
const workers = [];

/** Runs the Worker in `dir` in workerd; `vars` are plain bindings (the variable, secrets). */
async function start(dir, vars) {
  const logs = [];
  const mf = new Miniflare({
    host: "127.0.0.1", port: 0, modules: true, cf: false, compatibilityDate: "2025-09-01",
    modulesRoot: dir, scriptPath: path.join(dir, "index.js"),
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }],
    kvNamespaces: ["JWKS_CACHE"], bindings: vars,
    handleRuntimeStdio(o, e) { for (const s of [o, e]) s.on("data", (d) => logs.push(...String(d).split("\n").filter(Boolean))); },
  });
  workers.push(mf);
  return { url: (await mf.ready).toString().replace(/\/$/, ""), logs };
}

/** A copy of build-test/ with `file` embedded by the build's own script. */
function embedded(name, file) {
  const d = path.join(scratch, name);
  rmSync(d, { recursive: true, force: true });
  cpSync(path.join(root, "build-test"), d, { recursive: true });
  execFileSync("node", [embedScript, file, d], { cwd: root, stdio: "pipe" });
  return d;
}

/** A subject token from the test realm for client `id` (Keycloak's claims, its signing key). */
async function tokenFor(id) {
  const claims = iss.keyclaims("orders-service");
  return iss.sign({ ...claims, azp: id, client_id: id, preferred_username: `service-account-${id}` });
}

before(async () => {
  assert.ok(existsSync(path.join(root, "build-test/index.js")), "build-test/ is missing: run scripts/build.sh test");
  mkdirSync(scratch, { recursive: true });
  iss = await startIssuer();
  signing = await generateSigningKey("ES256", "big-es");
  policyFile = path.join(scratch, "policy.json");
  writeFileSync(policyFile, JSON.stringify(genPolicy({ dev: true, issuer: "http://127.0.0.1:8787", trusted: [iss.url] }), null, 1));
  dir = embedded("embedded", policyFile);
});
after(async () => {
  for (const mf of workers) await mf.dispose();
  await iss?.close();
  rmSync(scratch, { recursive: true, force: true });
});

test("the committed bench policy is the generator's default output", () => {
  const committed = JSON.parse(readFileSync(path.join(root, "core/tests/fixtures/big-300x60.json"), "utf8"));
  assert.deepEqual(committed, genPolicy());
  assert.ok(JSON.stringify(committed).length > 10 * 5 * 1024, "ten times a Worker variable's 5 KB");
});

test("the embedded 300-client policy answers /token for the 300th client, with no EDGE_STS_CONFIG variable", async () => {
  const w = await start(dir, { SIGNING_KEY_ES256_1: JSON.stringify(signing) });
  // The embedded file's global is set before the module entry runs, so it is loaded at startup too.
  assert.deepEqual(await (await fetch(`${w.url}/__test/isolate`, { method: "POST", body: "{}" })).json(), { loaded_at_startup: true });
  assert.equal((await fetch(`${w.url}/healthz`)).status, 200);
  const [first] = targetsOf(299, 60);
  const res = await exchange(w.url, { subject_token: await tokenFor("app-299") });
  assert.equal(res.status, 200, res.text);
  const jwks = await (await fetch(`${w.url}/.well-known/jwks.json`)).json();
  const { payload } = await jwtVerify(res.json.access_token, createLocalJWKSet(jwks), { audience: `https://${first}.example.com` });
  assert.equal(payload.client_id, "app-299");
  assert.equal(res.json.scope, `${first}:read`, "the rule's default target and its default scope");
  // Another of its targets by name; a target of no rule of this client is refused.
  const other = targetsOf(299, 60)[3];
  assert.equal((await exchange(w.url, { subject_token: await tokenFor("app-299"), audience: other })).status, 200);
  const notAllowed = await exchange(w.url, { subject_token: await tokenFor("app-299"), audience: "svc-00" });
  assert.equal(notAllowed.status, 400, notAllowed.text);
  // A glob rule (batch-19-*, rule 292) and a client with no rule.
  assert.equal((await exchange(w.url, { subject_token: await tokenFor("batch-19-nightly") })).status, 200);
  const unknown = await exchange(w.url, { subject_token: await tokenFor("app-300") });
  assert.equal(unknown.status, 400, unknown.text);
  assert.ok(w.logs.some((l) => l.includes("policy.unknown_client")), "the refusal's reason is logged");
});

test("an embedded configuration and the EDGE_STS_CONFIG variable together are refused, naming both", async () => {
  const w = await start(dir, { SIGNING_KEY_ES256_1: JSON.stringify(signing), EDGE_STS_CONFIG: readFileSync(policyFile, "utf8") });
  const h = await fetch(`${w.url}/healthz`);
  assert.equal(h.status, 503);
  const body = await h.json();
  assert.equal(body.field, "EDGE_STS_CONFIG");
  assert.match(body.problem, /EDGE_STS_CONFIG variable/);
  assert.match(body.problem, /embedded/);
  const res = await exchange(w.url, { subject_token: await tokenFor("app-299") });
  assert.equal(res.status, 503, "no token from an ambiguous configuration");
});

test("the small-variable path is unchanged: without an embedded file the variable is read", async () => {
  const small = genPolicy({ clients: 20, targets: 5, dev: true, issuer: "http://127.0.0.1:8787", trusted: [iss.url] });
  assert.ok(JSON.stringify(small).length < 5 * 1024);
  const w = await start(path.join(root, "build-test"), { EDGE_STS_CONFIG: JSON.stringify(small), SIGNING_KEY_ES256_1: JSON.stringify(signing) });
  assert.equal((await exchange(w.url, { subject_token: await tokenFor("app-019") })).status, 200);
  const none = await start(path.join(root, "build-test"), { SIGNING_KEY_ES256_1: JSON.stringify(signing) });
  const h = await (await fetch(`${none.url}/healthz`)).json();
  assert.equal(h.field, "EDGE_STS_CONFIG");
  assert.match(h.problem, /not set/);
});

test("an invalid file fails the embedding with the loader's field, problem and fix, and embeds nothing", () => {
  const bad = genPolicy({ dev: true, issuer: "http://127.0.0.1:8787", trusted: [iss.url] });
  bad.clients[299].targets.push("svc-60");
  const file = path.join(scratch, "bad.json");
  writeFileSync(file, JSON.stringify(bad));
  const d = path.join(scratch, "bad-build");
  cpSync(path.join(root, "build-test"), d, { recursive: true });
  const r = spawnSync("node", [embedScript, file, d], { cwd: root, encoding: "utf8" });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /error: clients\[299\]\.targets/);
  assert.match(r.stderr, /problem: unknown target `svc-60`/);
  assert.match(r.stderr, /fix: /);
  assert.ok(!existsSync(path.join(d, "edge-sts-config.js")));
  assert.ok(!readFileSync(path.join(d, "index.js"), "utf8").includes("edge-sts-config"));
});

test("a private key in the file is refused before anything is embedded", () => {
  const leaky = genPolicy({ dev: true, issuer: "http://127.0.0.1:8787", trusted: [iss.url] });
  leaky.signing_keys.push({ status: "retired", public_jwk: { ...signing, kid: "old" } });
  const file = path.join(scratch, "leaky.json");
  writeFileSync(file, JSON.stringify(leaky));
  const r = spawnSync("node", [embedScript, file], { cwd: root, encoding: "utf8" });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /signing_keys\[1\]\.public_jwk/);
  assert.ok(!r.stderr.includes(signing.d), "the private part is not echoed");
});

/** The workerd processes this test started (Miniflare's children). */
const ownWorkerds = () => new Set(readdirSync("/proc").filter((d) => /^\d+$/.test(d)).map(Number).filter((pid) => {
  try { const st = readFileSync(`/proc/${pid}/stat`, "utf8"); return st.includes("(workerd)") && Number(st.split(") ")[1].split(" ")[1]) === process.pid; } catch { return false; }
}));
/** ns on CPU of a process's main thread, where workerd runs the isolate (schedstat, not jiffies). */
const mainThreadNs = (pid) => Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, "utf8").split(" ")[0]);

/** Main-thread CPU ms of a fresh isolate up to the end of its first POST /token: the process's
 * start, the module's startup (where the configuration is loaded) and the request. */
async function firstRequestMs(d, vars, client) {
  const before = ownWorkerds();
  const mf = new Miniflare({
    host: "127.0.0.1", port: 0, modules: true, cf: false, compatibilityDate: "2025-09-01", modulesRoot: d, scriptPath: path.join(d, "index.js"),
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }], kvNamespaces: ["JWKS_CACHE"], bindings: vars,
    handleRuntimeStdio(o, e) { o.resume(); e.resume(); },
  });
  try {
    const url = (await mf.ready).toString().replace(/\/$/, "");
    const [pid] = [...ownWorkerds()].filter((p) => !before.has(p));
    const subject = await tokenFor(client);
    const res = await exchange(url, { subject_token: subject });
    const ms = mainThreadNs(pid) / 1e6;
    assert.equal(res.status, 200, res.text);
    return ms;
  } finally {
    await mf.dispose();
  }
}

// docs/performance.md, "Large policies": measured +3.2 ms over the demo policy. CPU
// time of workerd's main thread (where the isolate runs) from its start, 7 fresh isolates each,
// interleaved; the median of the 7 differences.
test("the 300-client, 60-target policy adds under 8 ms of CPU to an isolate's startup and first request", async (t) => {
  const secrets = { SIGNING_KEY_ES256: JSON.stringify(signing), SIGNING_KEY_RS256: JSON.stringify(await generateSigningKey("RS256", "rs")), SIGNING_KEY_ES256_1: JSON.stringify(signing) };
  const small = [], big = [];
  for (let i = 0; i < 7; i++) {
    small.push(await firstRequestMs(path.join(root, "build-test"), { ...secrets, EDGE_STS_CONFIG: JSON.stringify(devConfig(iss.url)) }, "orders-service"));
    big.push(await firstRequestMs(dir, secrets, "app-299"));
  }
  // Each pair ran back to back, so the median of the pairs' differences is not moved by the
  // machine slowing down for a while in the middle of the run.
  const extra = median(big.map((b, i) => b - small[i]));
  const said = `${median(big).toFixed(1)} ms with the big policy, ${median(small).toFixed(1)} ms with the demo one (medians), ${extra.toFixed(1)} ms more (median of the pairs)`;
  t.diagnostic(`startup and first request, main-thread CPU: ${said}`);
  assert.ok(extra < 8, `startup and first request: ${said}`);
});
