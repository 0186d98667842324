// Load benchmark: empty JS worker, empty Rust worker, a jose reference worker and edge-sts, each
// in its own workerd (Miniflare) on 127.0.0.1, driven by autocannon in rounds that interleave
// the workers so machine noise hits all of them alike. Prints one table with ratios.
//   node bench/run.mjs [--seconds 5] [--rounds 2] [--connections 8]
import http from "node:http";
import { execSync } from "node:child_process";
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import autocannon from "autocannon";
import { generateKeyPair, exportJWK, SignJWT } from "jose";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const arg = (n, d) => { const i = process.argv.indexOf(`--${n}`); return i > 0 ? Number(process.argv[i + 1]) : d; };
const SECONDS = arg("seconds", 5), ROUNDS = arg("rounds", 2), CONNECTIONS = arg("connections", 8), DISTINCT = arg("distinct", 6000);
const out = path.join(root, "bench/out");
mkdirSync(out, { recursive: true });

// ---- a static issuer: discovery + JWKS (TEST-ONLY keys) --------------------------------------
const rsa = await generateKeyPair("RS256", { extractable: true, modulusLength: 2048 });
const ec = await generateKeyPair("ES256", { extractable: true });
const jwks = { keys: [{ ...(await exportJWK(rsa.publicKey)), kid: "kc-rsa", alg: "RS256", use: "sig" }, { ...(await exportJWK(ec.publicKey)), kid: "kc-ec", alg: "ES256", use: "sig" }] };
const srv = http.createServer((req, res) => {
  const base = `http://127.0.0.1:${srv.address().port}/realms/bench`;
  res.setHeader("content-type", "application/json");
  if (req.url.endsWith("/.well-known/openid-configuration")) return res.end(JSON.stringify({ issuer: base, jwks_uri: `${base}/protocol/openid-connect/certs` }));
  if (req.url.endsWith("/certs")) return res.end(JSON.stringify(jwks));
  res.statusCode = 404; res.end("{}");
});
await new Promise((r) => srv.listen(0, "127.0.0.1", r));
const ISSUER = `http://127.0.0.1:${srv.address().port}/realms/bench`;

// ---- tokens ------------------------------------------------------------------------------------
const now = Math.floor(Date.now() / 1000);
async function token(alg, i) {
  const client = `svc-${i % 64}`;
  return new SignJWT({ typ: "Bearer", azp: client, client_id: client, scope: "profile", tenant_id: "acme", realm_access: { roles: ["orders-reader", "offline_access"] }, preferred_username: `service-account-${client}` })
    .setProtectedHeader({ alg, kid: alg === "RS256" ? "kc-rsa" : "kc-ec", typ: "JWT" })
    .setIssuer(ISSUER).setAudience(["account", "edge-sts"]).setSubject(`user-${i}`).setIssuedAt(now).setExpirationTime(now + 3000).setJti(`jti-${alg}-${i}`)
    .sign(alg === "RS256" ? rsa.privateKey : ec.privateKey);
}
const body = (t) => new URLSearchParams({ grant_type: "urn:ietf:params:oauth:grant-type:token-exchange", subject_token_type: "urn:ietf:params:oauth:token-type:access_token", subject_token: t, audience: "orders" }).toString();
process.stderr.write(`generating ${2 * DISTINCT} distinct tokens...\n`);
const sets = {};
for (const alg of ["RS256", "ES256"]) {
  const distinct = [];
  for (let i = 0; i < DISTINCT; i++) distinct.push(body(await token(alg, i)));
  sets[`distinct ${alg}`] = distinct;
  sets[`repeated ${alg}`] = distinct.slice(0, 64); // 64 clients, each reusing its token
}

// ---- workers -------------------------------------------------------------------------------------
const signing = { ...(await exportJWK((await generateKeyPair("ES256", { extractable: true })).privateKey)), alg: "ES256", kid: "bench-es" };
const edgeConfig = {
  mode: "dev", issuer: "http://127.0.0.1:8787",
  // The jose worker is given the JWKS URL, so edge-sts gets it too (no discovery round trip).
  trusted_issuers: [{ issuer: ISSUER, jwks_uri: `${ISSUER}/protocol/openid-connect/certs`, audiences: ["edge-sts"], max_token_lifetime_secs: 3600 }],
  signing_keys: [{ secret: "SIGNING_KEY", status: "active" }],
  targets: { orders: { audience: "https://orders.example.test", scopes: ["orders:read"], default_scopes: ["orders:read"], copy_claims: { tenant_id: "tenant_id" } } },
  clients: [{ client: "svc-*", targets: ["orders"], default_target: "orders" }],
};
const common = { handleRuntimeStdio: (o, e) => { o.resume(); e.resume(); }, host: "127.0.0.1", port: 0, modules: true, cf: false, compatibilityDate: "2025-09-01", modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }] };
const defs = {
  "empty JS": { ...common, scriptPath: path.join(root, "bench/workers/empty-js/index.js") },
  "empty Rust": { ...common, scriptPath: path.join(root, "bench/out/empty-rust/index.js"), modulesRoot: path.join(root, "bench/out/empty-rust") },
  "jose": { ...common, scriptPath: path.join(out, "jose.js"), bindings: { JWKS_URI: `${ISSUER}/protocol/openid-connect/certs`, ISSUER, SIGNING_KEY: JSON.stringify(signing) } },
  // The reference does not log; edge-sts runs with `log_requests: "errors"` for a like-for-like
  // comparison, and once more with its default (a JSON line per request) to show that cost.
  "edge-sts": { ...common, scriptPath: path.join(root, "build/index.js"), modulesRoot: path.join(root, "build"), kvNamespaces: ["JWKS_CACHE"], bindings: { EDGE_STS_CONFIG: JSON.stringify({ ...edgeConfig, log_requests: "errors" }), SIGNING_KEY: JSON.stringify(signing) } },
  "edge-sts, log all": { ...common, scriptPath: path.join(root, "build/index.js"), modulesRoot: path.join(root, "build"), kvNamespaces: ["JWKS_CACHE"], bindings: { EDGE_STS_CONFIG: JSON.stringify(edgeConfig), SIGNING_KEY: JSON.stringify(signing) } },
};

const workerdPids = () => new Set(execSync("pgrep -x workerd || true").toString().split("\n").filter(Boolean).map(Number));
const cpuSecs = (pid) => { const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" "); return (Number(f[11]) + Number(f[12])) / 100; };

async function start(name) {
  const before = workerdPids();
  const t0 = performance.now();
  const mf = new Miniflare(defs[name]);
  const url = (await mf.ready).toString() + "token";
  const first = await fetch(url, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: sets["repeated ES256"][0] });
  await first.text();
  const ready = performance.now() - t0;
  const pids = [...workerdPids()].filter((p) => !before.has(p));
  return { mf, url, pids, ready, firstStatus: first.status };
}

async function load(w, bodies) {
  let i = 0;
  const cpu0 = w.pids.reduce((a, p) => a + cpuSecs(p), 0);
  const r = await autocannon({
    url: w.url, connections: CONNECTIONS, duration: SECONDS, method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    requests: [{ setupRequest: (req) => ({ ...req, body: bodies[i++ % bodies.length] }) }],
  });
  const cpu = w.pids.reduce((a, p) => a + cpuSecs(p), 0) - cpu0;
  const n = r.requests.total;
  return { rps: r.requests.average, p50: r.latency.p50, cpuUs: (cpu / Math.max(n, 1)) * 1e6, non2xx: r.non2xx, errors: r.errors, n };
}

// ---- cold start: process start to first /token answer; 5 interleaved tries each, median ----
const cold = {}, coldRuns = { "empty JS": [], jose: [], "edge-sts": [] };
for (let k = 0; k < 5; k++) {
  for (const name of Object.keys(coldRuns)) { const w = await start(name); coldRuns[name].push(w.ready); await w.mf.dispose(); }
}
for (const [name, xs] of Object.entries(coldRuns)) cold[name] = xs.sort((a, b) => a - b)[2];

// ---- load, interleaved rounds ----------------------------------------------------------------------
const workers = {};
for (const name of Object.keys(defs)) {
  workers[name] = await start(name);
  if (workers[name].firstStatus !== 200) throw new Error(`${name}: warm-up request answered ${workers[name].firstStatus}`);
}
const plan = [
  ["empty JS", "repeated ES256"], ["empty Rust", "repeated ES256"],
  ...["distinct RS256", "distinct ES256", "repeated RS256", "repeated ES256"].flatMap((wl) => [["jose", wl], ["edge-sts", wl]]),
  ["edge-sts, log all", "distinct RS256"], ["edge-sts, log all", "repeated ES256"],
];
const acc = {};
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, wl] of plan) {
    process.stderr.write(`round ${round + 1}/${ROUNDS}: ${name} / ${wl}\n`);
    const r = await load(workers[name], sets[wl]);
    if (r.non2xx || r.errors) throw new Error(`${name} ${wl}: ${r.non2xx} non-2xx, ${r.errors} errors`);
    (acc[`${name}|${wl}`] ??= []).push(r);
  }
}
for (const w of Object.values(workers)) await w.mf.dispose();
srv.close();

const mean = (xs, k) => xs.reduce((a, x) => a + x[k], 0) / xs.length;
const row = (name, wl) => { const xs = acc[`${name}|${wl}`]; return { rps: mean(xs, "rps"), p50: mean(xs, "p50"), cpu: mean(xs, "cpuUs") }; };
const lines = ["| worker | workload | req/s | p50 ms | CPU µs/req |", "|---|---|---:|---:|---:|"];
for (const [name, wl] of plan) { const r = row(name, wl); lines.push(`| ${name} | ${wl} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(1)} | ${r.cpu.toFixed(0)} |`); }
const ratio = (a, b) => (a / b).toFixed(2);
const eJs = row("empty JS", "repeated ES256"), eRs = row("empty Rust", "repeated ES256");
lines.push("", "| ratio (req/s) | value | target |", "|---|---:|---|");
for (const alg of ["RS256", "ES256"]) lines.push(`| distinct ${alg}: edge-sts / jose | ${ratio(row("edge-sts", `distinct ${alg}`).rps, row("jose", `distinct ${alg}`).rps)} | >= 1.2 |`);
for (const alg of ["RS256", "ES256"]) lines.push(`| repeated ${alg}: edge-sts / empty Rust | ${ratio(row("edge-sts", `repeated ${alg}`).rps, eRs.rps)} | >= 0.9 |`);
for (const alg of ["RS256", "ES256"]) lines.push(`| repeated ${alg}: edge-sts / jose | ${ratio(row("edge-sts", `repeated ${alg}`).rps, row("jose", `repeated ${alg}`).rps)} | |`);
lines.push(`| empty Rust / empty JS | ${ratio(eRs.rps, eJs.rps)} | raise it |`);
lines.push(`| default logging (a line per request) / errors only, repeated ES256 | ${ratio(row("edge-sts, log all", "repeated ES256").rps, row("edge-sts", "repeated ES256").rps)} | |`);
const over = (n) => cold[n] - cold["empty JS"];
const margins = over("jose") > 5 ? ratio(over("edge-sts"), over("jose")) : "n/a (jose within noise of empty JS)";
lines.push(`| cold start over empty JS: edge-sts / jose | ${margins}; absolute ${ratio(cold["edge-sts"], cold.jose)} (medians: empty JS ${cold["empty JS"].toFixed(0)}, jose ${cold.jose.toFixed(0)}, edge-sts ${cold["edge-sts"].toFixed(0)} ms) | <= 1.5 |`);
const table = lines.join("\n");
const meta = `${ROUNDS} rounds x ${SECONDS} s, ${CONNECTIONS} connections, autocannon, Miniflare/workerd on 127.0.0.1, ${new Date().toISOString()}`;
writeFileSync(path.join(out, "results.md"), `${meta}\n\n${table}\n`);
console.log(`${meta}\n\n${table}`);
