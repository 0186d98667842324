// CPU profile of edge-sts inside workerd: runs build-profile/ (the release build with the wasm
// name section kept; `scripts/build.sh profile`) in Miniflare with an inspector port, attaches
// over the Chrome DevTools Protocol with ONLY the Profiler domain (the Debugger domain would drop
// wasm to V8's baseline tier), drives a load with autocannon, saves the .cpuprofile to bench/out/
// and prints the top functions by self time.
//   node bench/profile.mjs [distinct|repeated|es256|repeated-es256|first] [--requests 10000]
//     [--warmup 2000] [--connections 8] [--interval 100] [--top 20] [--dir build-profile]
//     [--isolates 10]
// `first` profiles the first POST /token of --isolates fresh isolates (a new Miniflare each, the
// profiler started once the isolate is ready, JWKS fetch included) and sums their samples.
// A distinct workload never repeats a token: the warm-up and the profiled load each get their own
// fresh tokens, one per request (so --requests + --warmup of them are signed first).
import { mkdirSync, writeFileSync, existsSync } from "node:fs";
import path from "node:path";
import { Miniflare } from "miniflare";
import WebSocket from "ws";
import { root, FORM, startBenchIssuer, tokenSets, benchSigningKey, edgeStsWorker, workerdPids, cpuSecs, drive, warmKvEmulator } from "./harness.mjs";
import { arg, median } from "../tests/support/measure.mjs";

const WORKLOADS = {
  distinct: ["RS256", "distinct", "fresh, distinct RS256 subject tokens (each used once)"],
  repeated: ["RS256", "repeated", "64 RS256 subject tokens (64 clients), each reused"],
  es256: ["ES256", "distinct", "fresh, distinct ES256 subject tokens (each used once)"],
  "repeated-es256": ["ES256", "repeated", "64 ES256 subject tokens (64 clients), each reused"],
  first: ["RS256", "first", "the first RS256 /token of a fresh isolate, JWKS fetch included"],
};
const argv = process.argv.slice(2);
const positional = argv.filter((a, i) => !a.startsWith("--") && !(i > 0 && argv[i - 1].startsWith("--")));
const WORKLOAD = positional[0] ?? "distinct";
if (!WORKLOADS[WORKLOAD]) { console.error(`unknown workload "${WORKLOAD}"; one of: ${Object.keys(WORKLOADS).join(", ")}`); process.exit(2); }
const REQUESTS = arg("requests", 10000), WARMUP = arg("warmup", 2000), CONNECTIONS = arg("connections", 8);
const INTERVAL = arg("interval", 100), TOP = arg("top", 20);
const DIR = arg("dir", "build-profile");
const ISOLATES = arg("isolates", 10);
const [ALG, KIND, DESCRIPTION] = WORKLOADS[WORKLOAD];
if (!existsSync(path.join(root, DIR, "index.js"))) { console.error(`${DIR}/index.js is missing: run scripts/build.sh profile`); process.exit(2); }
const out = path.join(root, "bench/out");
mkdirSync(out, { recursive: true });

// ---- issuer, tokens, worker ------------------------------------------------------------------------
const issuer = await startBenchIssuer();
// Distinct: one fresh token per request, the warm-up's (and the first request's) disjoint from the
// profiled load's, so no profiled request can hit the verified-token cache.
const count = KIND === "distinct" ? 1 + WARMUP + REQUESTS : KIND === "first" ? ISOLATES : 64;
process.stderr.write(`generating ${count} ${ALG} tokens...\n`);
const all = (await tokenSets(issuer, ALG, KIND === "repeated" ? 0 : count))[`${KIND === "repeated" ? "repeated" : "distinct"} ${ALG}`];
const warmBodies = KIND === "distinct" ? all.slice(0, 1 + WARMUP) : all, bodies = KIND === "distinct" ? all.slice(1 + WARMUP) : all;
const signing = await benchSigningKey();

/** A fresh Miniflare running the profiling build, with workerd's inspector on a free port. */
async function startWorker() {
  const before = workerdPids();
  const def = edgeStsWorker({
    dir: DIR, issuer, signing, config: { log_requests: "errors" },
    extra: { name: "edge-sts", inspectorPort: 0 }, // workerd's own inspector, on a free port
  });
  const mf = new Miniflare(def);
  const url = (await mf.ready).toString() + "token";
  await warmKvEmulator(mf, def);
  const pids = [...workerdPids()].filter((p) => !before.has(p));
  return { mf, url, pids };
}

// ---- a minimal CDP client over ws ------------------------------------------------------------------
async function inspect(mf) {
  const base = new URL(await mf.getInspectorURL());
  const targets = await (await fetch(`http://${base.host}/json`)).json();
  // Miniflare names a user worker's isolate `core:user:<name>`; the others are its own helpers.
  const t = targets.find((x) => x.id === "core:user:edge-sts");
  if (!t) throw new Error(`no edge-sts inspector target among ${JSON.stringify(targets.map((x) => x.id))}`);
  const ws = new WebSocket(t.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
  let nextId = 0;
  const pending = new Map();
  ws.on("message", (data) => {
    const msg = JSON.parse(data);
    const p = msg.id !== undefined && pending.get(msg.id);
    if (!p) return; // events: none expected, only the Profiler domain is enabled
    pending.delete(msg.id);
    msg.error ? p.reject(new Error(`${p.method}: ${JSON.stringify(msg.error)}`)) : p.resolve(msg.result);
  });
  const cdp = (method, params = {}) => new Promise((resolve, reject) => {
    const id = ++nextId;
    pending.set(id, { resolve, reject, method });
    ws.send(JSON.stringify({ id, method, params }));
  });
  return { cdp, close: () => ws.close() };
}

const check = (r, what) => { if (r.non2xx || r.errors) throw new Error(`${what}: ${r.non2xx} non-2xx, ${r.errors} errors`); };
const profiles = [];
let n, secs, cpu, firstMs = [];
if (KIND === "first") {
  // ---- the first request of fresh isolates ----------------------------------------------------------
  process.stderr.write(`profiling the first /token of ${ISOLATES} fresh isolates\n`);
  cpu = 0;
  for (let k = 0; k < ISOLATES; k++) {
    const w = await startWorker();
    const { cdp, close } = await inspect(w.mf);
    await cdp("Profiler.enable");
    await cdp("Profiler.setSamplingInterval", { interval: INTERVAL });
    await cdp("Profiler.start");
    const hits = issuer.certsHits(), cpu0 = w.pids.reduce((a, p) => a + cpuSecs(p), 0), t0 = performance.now();
    const r = await fetch(w.url, { method: "POST", headers: FORM, body: bodies[k] });
    const text = await r.text();
    firstMs.push(performance.now() - t0);
    cpu += w.pids.reduce((a, p) => a + cpuSecs(p), 0) - cpu0;
    profiles.push((await cdp("Profiler.stop")).profile);
    close();
    await w.mf.dispose();
    if (r.status !== 200) throw new Error(`first request answered ${r.status}: ${text}`);
    if (issuer.certsHits() - hits !== 1) throw new Error("the first request did not fetch the JWKS once: not a fresh isolate?");
  }
  n = ISOLATES;
  secs = firstMs.reduce((a, x) => a + x, 0) / 1000;
} else {
  const w = await startWorker();
  const first = await fetch(w.url, { method: "POST", headers: FORM, body: warmBodies[0] });
  if (first.status !== 200) throw new Error(`warm-up request answered ${first.status}: ${await first.text()}`);
  await first.text();
  const { cdp, close } = await inspect(w.mf);
  // ---- warm up (wasm tier-up), then profile under load ----------------------------------------------
  process.stderr.write(`warm-up ${WARMUP} requests, then profiling ${REQUESTS} requests of ${WORKLOAD} (${DESCRIPTION}), ${CONNECTIONS} connections\n`);
  if (WARMUP > 0) check(await drive(w.url, warmBodies.slice(1), { connections: CONNECTIONS, amount: WARMUP, once: KIND === "distinct" }), "warm-up");
  await cdp("Profiler.enable");
  await cdp("Profiler.setSamplingInterval", { interval: INTERVAL });
  await cdp("Profiler.start");
  const cpu0 = w.pids.reduce((a, p) => a + cpuSecs(p), 0);
  const r = await drive(w.url, bodies, { connections: CONNECTIONS, amount: REQUESTS, once: KIND === "distinct" });
  cpu = w.pids.reduce((a, p) => a + cpuSecs(p), 0) - cpu0;
  profiles.push((await cdp("Profiler.stop")).profile);
  await cdp("Profiler.disable");
  close();
  await w.mf.dispose();
  check(r, "profiled load");
  n = r.requests.total;
  secs = r.duration;
  if (KIND === "distinct" && n > bodies.length) throw new Error(`${n} requests > ${bodies.length} distinct tokens: some were repeats`);
}
issuer.close();

// ---- self time by function (name + url) ------------------------------------------------------------
const stamp = new Date().toISOString();
const file = path.join(out, `profile-${WORKLOAD}-${stamp.replace(/[:.]/g, "-")}.cpuprofile`);
// `first` saves the first isolate's profile (one request); the table sums all of them.
writeFileSync(file, JSON.stringify(profiles[0]));
// Aggregated by function name + url. Rust's symbol hashes (`::h0123…` and `[0123…]` crate
// disambiguators) are dropped from the name, so the monomorphised copies of one generic function
// are summed; the saved .cpuprofile keeps the full names.
const tidy = (name) => name.replace(/::h[0-9a-f]{16}$/, "").replace(/\[[0-9a-f]{16}\]/g, "");
const groups = new Map();
let samples = 0;
for (const profile of profiles) {
 samples += profile.samples.length;
 const nodes = new Map(profile.nodes.map((x) => [x.id, x]));
 const selfUs = new Map();
 // Sample i lasts until sample i+1 (as Chrome DevTools counts it); the last one gets no time.
 for (let i = 0; i < profile.samples.length; i++) {
   const dt = profile.timeDeltas[i + 1] ?? 0;
   selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + dt);
 }
 for (const [id, us] of selfUs) {
  const { functionName, url: u, lineNumber } = nodes.get(id).callFrame;
  // A nameless frame without a script is native work workerd does in the isolate with no JS frame
  // on the stack (in the profiles seen so far it sits directly under (root)).
  const name = functionName ? tidy(functionName) : u ? "(anonymous)" : "(native, no JS frame)";
  const key = `${name}\u0000${u}`;
  const g = groups.get(key) ?? { name, url: u, line: lineNumber, us: 0 };
  g.us += us;
  groups.set(key, g);
 }
}
// wasm: the Worker's Rust code; js: its JS glue (index.js); native: a workerd API or V8 builtin
// called from JS (crypto.subtle.verify shows as `verify`, new Response as `Response`); v8: the
// engine's own entries ((program), (garbage collector), wasm-to-js, ...).
const kind = (g) => g.url.startsWith("wasm://") ? "wasm" : g.url ? "js" : /^\(.*\)$/.test(g.name) && g.name !== "(native, no JS frame)" || /^(wasm|js)-to-/.test(g.name) ? "v8" : "native";
const total = [...groups.values()].reduce((a, g) => a + g.us, 0);
const idle = groups.get("(idle)\u0000")?.us ?? 0;
const busy = total - idle;
const byKind = {};
for (const g of groups.values()) if (g.name !== "(idle)") byKind[kind(g)] = (byKind[kind(g)] ?? 0) + g.us;
const where = (g) => kind(g) === "wasm" ? "wasm" : kind(g) === "js" ? `${path.basename(g.url)}:${g.line + 1}` : kind(g);
const pct = (us) => `${((100 * us) / busy).toFixed(1)}%`;
const short = (s) => (s.length > 110 ? `${s.slice(0, 107)}...` : s).replace(/\|/g, "\\|");
const rows = [...groups.values()].filter((g) => g.name !== "(idle)").sort((a, b) => b.us - a.us).slice(0, TOP);
const lines = [
  KIND === "first"
    ? `workload ${WORKLOAD}: ${DESCRIPTION}; ${DIR}/, ${ISOLATES} fresh isolates, sampling every ${INTERVAL} µs, ${stamp}`
    : `workload ${WORKLOAD}: ${DESCRIPTION}; ${DIR}/, ${CONNECTIONS} connections, ${WARMUP} warm-up requests, then ${n} profiled in ${secs.toFixed(1)} s, sampling every ${INTERVAL} µs, ${stamp}`,
  KIND === "first"
    ? `first request ${median(firstMs).toFixed(1)} ms median wall time with the profiler attached, workerd CPU ${((cpu / n) * 1e3).toFixed(1)} ms/request (all its threads); ${samples} samples, isolate busy ${(busy / 1000).toFixed(1)} ms of ${(total / 1000).toFixed(1)} ms profiled (${(busy / n / 1000).toFixed(1)} ms/request)`
    : `${(n / secs).toFixed(0)} req/s and workerd CPU ${((cpu / Math.max(n, 1)) * 1e6).toFixed(0)} µs/request with the profiler attached; ${samples} samples, isolate busy ${(busy / 1000).toFixed(0)} ms of ${(total / 1000).toFixed(0)} ms (${((busy / Math.max(n, 1))).toFixed(0)} µs/request)`,
  `busy time by kind: ${Object.entries(byKind).sort((a, b) => b[1] - a[1]).map(([k, us]) => `${k} ${pct(us)}`).join(", ")}`,
  `profile: ${path.relative(root, file)}`,
  "",
  `| # | self ms | % of busy | function | kind |`,
  "|---:|---:|---:|---|---|",
  ...rows.map((g, i) => `| ${i + 1} | ${(g.us / 1000).toFixed(1)} | ${pct(g.us)} | \`${short(g.name)}\` | ${where(g)} |`),
];
writeFileSync(path.join(out, `profile-${WORKLOAD}.md`), `${lines.join("\n")}\n`);
console.log(lines.join("\n"));
