// Load benchmark: empty JS worker, empty Rust worker, a jose reference worker and edge-sts, each
// in its own workerd (Miniflare) on 127.0.0.1, driven by autocannon in rounds that interleave
// the workers so machine noise hits all of them alike. Prints one table with ratios.
//   node bench/run.mjs [--seconds 5] [--rounds 2] [--connections 8]
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Miniflare } from "miniflare";
import { root, FORM, startBenchIssuer, tokenSets, benchSigningKey, common, edgeStsWorker, workerdPids, cpuSecs, drive } from "./harness.mjs";

const arg = (n, d) => { const i = process.argv.indexOf(`--${n}`); return i > 0 ? Number(process.argv[i + 1]) : d; };
const SECONDS = arg("seconds", 5), ROUNDS = arg("rounds", 2), CONNECTIONS = arg("connections", 8), DISTINCT = arg("distinct", 6000);
const out = path.join(root, "bench/out");
mkdirSync(out, { recursive: true });

// ---- a static issuer: discovery + JWKS (TEST-ONLY keys), and its tokens ------------------------
const issuer = await startBenchIssuer();
process.stderr.write(`generating ${2 * DISTINCT} distinct tokens...\n`);
const sets = {};
for (const alg of ["RS256", "ES256"]) Object.assign(sets, await tokenSets(issuer, alg, DISTINCT));

// ---- workers -------------------------------------------------------------------------------------
const signing = await benchSigningKey();
const defs = {
  "empty JS": { ...common, scriptPath: path.join(root, "bench/workers/empty-js/index.js") },
  "empty Rust": { ...common, scriptPath: path.join(root, "bench/out/empty-rust/index.js"), modulesRoot: path.join(root, "bench/out/empty-rust") },
  "jose": { ...common, scriptPath: path.join(out, "jose.js"), bindings: { JWKS_URI: issuer.jwksUri, ISSUER: issuer.url, SIGNING_KEY: JSON.stringify(signing) } },
  // The reference does not log; edge-sts runs with `log_requests: "errors"` for a like-for-like
  // comparison, and once more with its default (a JSON line per request) to show that cost.
  "edge-sts": edgeStsWorker({ issuer, signing, config: { log_requests: "errors" } }),
  "edge-sts, log all": edgeStsWorker({ issuer, signing }),
};

async function start(name) {
  const before = workerdPids();
  const t0 = performance.now();
  const mf = new Miniflare(defs[name]);
  const url = (await mf.ready).toString() + "token";
  const first = await fetch(url, { method: "POST", headers: FORM, body: sets["repeated ES256"][0] });
  await first.text();
  const ready = performance.now() - t0;
  const pids = [...workerdPids()].filter((p) => !before.has(p));
  return { mf, url, pids, ready, firstStatus: first.status };
}

async function load(w, bodies) {
  const cpu0 = w.pids.reduce((a, p) => a + cpuSecs(p), 0);
  const r = await drive(w.url, bodies, { connections: CONNECTIONS, seconds: SECONDS });
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
issuer.close();

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
