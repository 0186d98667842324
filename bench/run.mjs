// Load benchmark: empty JS worker, empty Rust worker, a jose reference worker and edge-sts, each
// in its own workerd (Miniflare) on 127.0.0.1, driven by autocannon in rounds that interleave
// the workers so machine noise hits all of them alike; then the first /token of fresh isolates,
// with the CPU each isolate's startup took.
// Prints the headline figures (ratios and their targets), a per-worker table and the upload sizes.
//   node bench/run.mjs [--seconds 5] [--rounds 2] [--connections 8] [--isolates 15]
//     [--distinct-rate 5000] [--before DIR]
// --before DIR adds a second edge-sts build (e.g. a copy of main's build/) to every edge-sts
// workload and to the first-request set, so a change is measured side by side in one run.
// Distinct workloads: every request of every round carries a token that worker has never seen
// (each round has its own slice of the pool, sized seconds x distinct-rate; a run that would
// need more fails rather than repeat a token).
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import path from "node:path";
import { Miniflare } from "miniflare";
import { root, FORM, startBenchIssuer, bodies, tokenSets, benchSigningKey, common, edgeStsWorker, workerdPids, cpuSecs, threadCpuNs, drive, warmKvEmulator } from "./harness.mjs";
import { arg, median, quantile } from "../tests/support/measure.mjs";

const SECONDS = arg("seconds", 5), ROUNDS = arg("rounds", 2), CONNECTIONS = arg("connections", 8);
const ISOLATES = arg("isolates", 15), RATE = arg("distinct-rate", 5000);
const PER_RUN = Math.ceil(SECONDS * RATE);
const BEFORE = arg("before") ? path.resolve(arg("before")) : null;
const out = path.join(root, "bench/out");
mkdirSync(out, { recursive: true });

// ---- a static issuer: discovery + JWKS (TEST-ONLY keys), and its tokens ------------------------
const issuer = await startBenchIssuer();
process.stderr.write(`generating ${2 * (64 + ROUNDS * PER_RUN)} subject tokens (${ROUNDS} rounds x ${PER_RUN} distinct per algorithm)...\n`);
const sets = {};
for (const alg of ["RS256", "ES256"]) Object.assign(sets, await tokenSets(issuer, alg, ROUNDS * PER_RUN));
// The slice of a distinct pool that round `r` sends (the same slice to every worker: each
// worker is its own isolate, so none has seen it).
const slice = (wl, r) => (wl.startsWith("distinct") ? sets[wl].slice(r * PER_RUN, (r + 1) * PER_RUN) : sets[wl]);
// First requests: one more fresh RS256 token per fresh isolate, seen by no worker before.
const firstBodies = await bodies(issuer, "RS256", 64 + ROUNDS * PER_RUN, ISOLATES);

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
if (BEFORE) defs["edge-sts, before"] = edgeStsWorker({ dir: path.relative(root, BEFORE), issuer, signing, config: { log_requests: "errors" } });
const fetchesJwks = (name) => name === "jose" || name.startsWith("edge-sts");

async function start(name) {
  const before = workerdPids();
  const mf = new Miniflare(defs[name]);
  const url = (await mf.ready).toString() + "token";
  const pids = [...workerdPids()].filter((p) => !before.has(p));
  return { mf, url, pids };
}

/** One POST /token; its status and the wall time from sending to the last body byte. */
async function post(url, body) {
  const t0 = performance.now();
  const r = await fetch(url, { method: "POST", headers: FORM, body });
  await r.text();
  return { status: r.status, ms: performance.now() - t0 };
}

async function load(w, bodies, once) {
  const cpu0 = w.pids.reduce((a, p) => a + cpuSecs(p), 0);
  const r = await drive(w.url, bodies, { connections: CONNECTIONS, seconds: SECONDS, once });
  const cpu = w.pids.reduce((a, p) => a + cpuSecs(p), 0) - cpu0;
  const n = r.requests.total;
  return { rps: n / r.duration, p50: r.latency.p50, cpuUs: (cpu / Math.max(n, 1)) * 1e6, non2xx: r.non2xx, errors: r.errors, n };
}

// ---- the first /token of a fresh isolate -----------------------------------------------------------
// A new Miniflare is a new workerd process: a new isolate with empty caches and an empty KV. Once
// it is ready (listening, module loaded) and Miniflare's KV emulator has been started (harness.mjs,
// warmKvEmulator), one POST /token is timed, KV miss and JWKS fetch included; jose and edge-sts
// must each fetch the JWKS exactly once, which shows the isolate was new. Interleaved.
const firstNames = ["empty JS", "empty Rust", "jose", "edge-sts", ...(BEFORE ? ["edge-sts, before"] : [])];
const firstRuns = Object.fromEntries(firstNames.map((n) => [n, []]));
// Startup: CPU time of workerd's main thread (where the isolate runs) from process start to ready:
// workerd's own start, loading the module, and whatever the Worker does at global scope (edge-sts
// loads its configuration there). Work moved out of the first request shows up here.
const startupRuns = Object.fromEntries(firstNames.map((n) => [n, []]));
for (let k = 0; k < ISOLATES; k++) {
  for (const name of firstNames) {
    process.stderr.write(`fresh isolate ${k + 1}/${ISOLATES}: ${name}\n`);
    const w = await start(name);
    if (w.pids.length !== 1) throw new Error(`${name}: expected one workerd process, found ${w.pids.length}`);
    startupRuns[name].push(threadCpuNs(w.pids[0]) / 1e6);
    await warmKvEmulator(w.mf, defs[name]); // after the startup reading: the emulator is not the Worker's
    const hits = issuer.certsHits();
    const r = await post(w.url, firstBodies[k]);
    await w.mf.dispose();
    if (r.status !== 200) throw new Error(`${name}: first request answered ${r.status}`);
    const fetched = issuer.certsHits() - hits;
    if (fetched !== (fetchesJwks(name) ? 1 : 0)) throw new Error(`${name}: first request made ${fetched} JWKS fetches (not a fresh isolate?)`);
    firstRuns[name].push(r.ms);
  }
}
const first = Object.fromEntries(firstNames.map((n) => [n, median(firstRuns[n])]));
const startup = Object.fromEntries(firstNames.map((n) => [n, median(startupRuns[n])]));

// ---- load, interleaved rounds ----------------------------------------------------------------------
const workers = {};
for (const name of Object.keys(defs)) {
  workers[name] = await start(name);
  // Warm-up: a repeated-set token (never in a distinct pool), so the JWKS is fetched before load.
  const r = await post(workers[name].url, sets["repeated ES256"][0]);
  if (r.status !== 200) throw new Error(`${name}: warm-up request answered ${r.status}`);
}
const plan = [
  ["empty JS", "repeated ES256"], ["empty Rust", "repeated ES256"],
  ...["distinct RS256", "distinct ES256", "repeated RS256", "repeated ES256"].flatMap((wl) => [["jose", wl], ["edge-sts", wl], ...(BEFORE ? [["edge-sts, before", wl]] : [])]),
  ["edge-sts, log all", "distinct RS256"], ["edge-sts, log all", "repeated ES256"],
];
const acc = {};
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, wl] of plan) {
    process.stderr.write(`round ${round + 1}/${ROUNDS}: ${name} / ${wl}\n`);
    const r = await load(workers[name], slice(wl, round), wl.startsWith("distinct"));
    if (r.non2xx || r.errors) throw new Error(`${name} ${wl}: ${r.non2xx} non-2xx, ${r.errors} errors`);
    (acc[`${name}|${wl}`] ??= []).push(r);
  }
}
for (const w of Object.values(workers)) await w.mf.dispose();
issuer.close();

// ---- sizes ---------------------------------------------------------------------------------------------
const gz = (f) => gzipSync(readFileSync(path.join(root, f)), { level: 9 }).length / 1024;
const sizes = {
  "edge-sts": { wasm: readFileSync(path.join(root, "build/index_bg.wasm")).length / 1024, gz: gz("build/index_bg.wasm") + gz("build/index.js") },
  "empty Rust": { gz: gz("bench/out/empty-rust/index_bg.wasm") + gz("bench/out/empty-rust/index.js") },
  "jose": { gz: gz("bench/out/jose.js") },
};

// ---- report --------------------------------------------------------------------------------------------
// Per worker and workload: the median over rounds of req/s, p50 and CPU µs per request.
const row = (name, wl) => { const xs = acc[`${name}|${wl}`]; const m = (k) => median(xs.map((x) => x[k])); return { rps: m("rps"), p50: m("p50"), cpu: m("cpuUs") }; };
const f2 = (x) => x.toFixed(2), ms = (x) => `${x >= 0 ? "+" : ""}${x.toFixed(1)} ms`;
const eJs = row("empty JS", "repeated ES256"), eRs = row("empty Rust", "repeated ES256");
const lines = ["| figure | value | target |", "|---|---:|---|"];
for (const alg of ["RS256", "ES256"]) lines.push(`| distinct ${alg}, req/s, edge-sts ÷ jose | ${f2(row("edge-sts", `distinct ${alg}`).rps / row("jose", `distinct ${alg}`).rps)} | ≥ 1.2 |`);
for (const alg of ["RS256", "ES256"]) lines.push(`| distinct ${alg}, CPU µs/req, edge-sts ÷ jose | ${f2(row("edge-sts", `distinct ${alg}`).cpu / row("jose", `distinct ${alg}`).cpu)} | ≤ 0.8 |`);
for (const alg of ["RS256", "ES256"]) lines.push(`| repeated ${alg}, req/s, edge-sts ÷ empty Rust | ${f2(row("edge-sts", `repeated ${alg}`).rps / eRs.rps)} | ≥ 0.9 |`);
lines.push(`| empty Rust ÷ empty JS, req/s (the entry glue) | ${f2(eRs.rps / eJs.rps)} | ≥ 0.95 |`);
lines.push(`| first /token of a fresh isolate, over the empty JS Worker's: edge-sts | ${ms(first["edge-sts"] - first["empty JS"])} | ≤ 15 ms |`);
lines.push(`| first /token of a fresh isolate, over the empty JS Worker's: jose | ${ms(first.jose - first["empty JS"])} | |`);
lines.push(`| first /token of a fresh isolate, over the empty Rust Worker's: edge-sts / jose | ${ms(first["edge-sts"] - first["empty Rust"])} / ${ms(first.jose - first["empty Rust"])} | |`);
lines.push(`| startup of a fresh isolate, main-thread CPU to ready, over the empty JS Worker's: edge-sts / jose | ${ms(startup["edge-sts"] - startup["empty JS"])} / ${ms(startup.jose - startup["empty JS"])} | |`);
lines.push(`| Worker upload, wasm + JS gzip | ${sizes["edge-sts"].gz.toFixed(1)} KiB (${sizes["edge-sts"].wasm.toFixed(0)} KiB wasm) | ≤ 250 KiB (the budget, scripts/size.mjs) |`);
lines.push("", "| other ratio | value |", "|---|---:|");
for (const alg of ["RS256", "ES256"]) lines.push(`| repeated ${alg}, req/s, edge-sts ÷ jose | ${f2(row("edge-sts", `repeated ${alg}`).rps / row("jose", `repeated ${alg}`).rps)} |`);
for (const alg of ["RS256", "ES256"]) lines.push(`| repeated ${alg}, CPU µs/req, edge-sts ÷ jose | ${f2(row("edge-sts", `repeated ${alg}`).cpu / row("jose", `repeated ${alg}`).cpu)} |`);
lines.push(`| default logging (a line per request) ÷ errors only, req/s, repeated ES256 | ${f2(row("edge-sts, log all", "repeated ES256").rps / row("edge-sts", "repeated ES256").rps)} |`);
if (BEFORE) {
  for (const wl of ["distinct RS256", "distinct ES256", "repeated RS256", "repeated ES256"]) {
    const a = row("edge-sts", wl), b = row("edge-sts, before", wl);
    lines.push(`| ${wl}: edge-sts ÷ edge-sts before, req/s / CPU µs/req | ${f2(a.rps / b.rps)} / ${f2(a.cpu / b.cpu)} |`);
  }
  lines.push(`| first /token of a fresh isolate: edge-sts − edge-sts before | ${ms(first["edge-sts"] - first["edge-sts, before"])} |`);
  lines.push(`| startup of a fresh isolate, main-thread CPU: edge-sts − edge-sts before | ${ms(startup["edge-sts"] - startup["edge-sts, before"])} |`);
}
lines.push(`| upload gzip: empty Rust / jose | ${sizes["empty Rust"].gz.toFixed(1)} / ${sizes.jose.gz.toFixed(1)} KiB |`);
lines.push("", "| worker | workload | req/s | p50 ms | CPU µs/req |", "|---|---|---:|---:|---:|");
for (const [name, wl] of plan) { const r = row(name, wl); lines.push(`| ${name} | ${wl} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(1)} | ${r.cpu.toFixed(0)} |`); }
lines.push("", `| first /token of a fresh isolate (${ISOLATES} each) | median ms | quartiles ms | min–max ms | startup CPU ms, median |`, "|---|---:|---:|---:|---:|");
for (const n of firstNames) { const xs = firstRuns[n]; lines.push(`| ${n} | ${median(xs).toFixed(1)} | ${quantile(xs, 0.25).toFixed(1)}–${quantile(xs, 0.75).toFixed(1)} | ${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)} | ${startup[n].toFixed(1)} |`); }
const table = lines.join("\n");
const meta = `${BEFORE ? `edge-sts before = ${path.relative(root, BEFORE)}/; ` : ""}${ROUNDS} rounds x ${SECONDS} s (medians over rounds), ${CONNECTIONS} connections, autocannon, Miniflare/workerd on 127.0.0.1; first request: ${ISOLATES} fresh isolates per worker; ${new Date().toISOString()}`;
writeFileSync(path.join(out, "results.md"), `${meta}\n\n${table}\n`);
console.log(`${meta}\n\n${table}`);
