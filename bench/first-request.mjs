// Startup and first request of a fresh isolate, small policy vs the generated 300-client,
// 60-target one (bench/gen-policy.mjs). The configuration is parsed at startup (src/entry.js
// calls `prepare`), so the startup column is main-thread CPU from process start to ready:
// workerd's own start, loading the module, and parsing the configuration. Then the first POST
// /token (Workers' Free plan allows 10 ms of CPU per request) and a second one (new token, same
// isolate). Main-thread CPU is the CPU
// time of workerd's main thread over the request (/proc/<pid>/task/<pid>/schedstat, ns): the
// isolate runs there, with workerd's HTTP handling and Miniflare's small entry worker. All
// threads adds V8's background compilation and GC helpers. Wall is the client's time to the
// answer (the first includes the issuer's discovery + JWKS round trips on 127.0.0.1).
// The inspector's CPU profile (bench/profile.mjs) was tried and is no help for one request: its
// sample intervals are wall time (a descheduled thread's wait counts for the frame it was in) and
// workerd does not mark its event loop idle; it read more than the thread's whole CPU time.
//   node bench/first-request.mjs [--runs 15] [--dir build]
// Runs interleave the policies (so machine noise hits all alike). Prints median (min–max).
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Miniflare } from "miniflare";
import { root, common, threadCpuNs, warmKvEmulator } from "./harness.mjs";
import { genPolicy } from "./gen-policy.mjs";
import { embed } from "../scripts/embed-config.mjs";
import { startIssuer } from "../tests/support/issuer.mjs";
import { devConfig, generateSigningKey, GRANT, ACCESS_TOKEN } from "../tests/support/worker.mjs";

const argv = process.argv.slice(2);
const arg = (n, d) => { const i = argv.indexOf(`--${n}`); return i >= 0 ? argv[i + 1] : d; };
const RUNS = Number(arg("runs", 15)), DIR = arg("dir", "build");
if (!existsSync(path.join(root, DIR, "index.js"))) { console.error(`${DIR}/index.js is missing: run scripts/build.sh`); process.exit(2); }

const iss = await startIssuer();
const es = await generateSigningKey("ES256", "fr-es"), rs = await generateSigningKey("RS256", "fr-rs");
const secrets = { SIGNING_KEY_ES256: JSON.stringify(es), SIGNING_KEY_RS256: JSON.stringify(rs), SIGNING_KEY_ES256_1: JSON.stringify(es) };
const token = async (id) => iss.sign({ ...iss.keyclaims("orders-service"), azp: id, client_id: id });
const big = genPolicy({ dev: true, issuer: "http://127.0.0.1:8787", trusted: [iss.url] });
const demo = devConfig(iss.url);

// The big policy embedded in a copy of DIR (what EDGE_STS_CONFIG_FILE builds), and, to separate
// delivery from parsing, the same text as a variable (workerd does not enforce the 5 KB limit).
const out = path.join(root, "bench/out/first-request");
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const embeddedDir = path.join(out, "embedded");
cpSync(path.join(root, DIR), embeddedDir, { recursive: true });
const bigFile = path.join(out, "big.json");
writeFileSync(bigFile, JSON.stringify(big, null, 1));
const { bytes } = embed(bigFile, embeddedDir);

const CASES = [
  { name: "demo policy (3 clients, 3 targets), variable", dir: path.join(root, DIR), vars: { EDGE_STS_CONFIG: JSON.stringify(demo) }, client: "orders-service", size: JSON.stringify(demo).length },
  { name: "300 clients, 60 targets, variable", dir: path.join(root, DIR), vars: { EDGE_STS_CONFIG: JSON.stringify(big, null, 1) }, client: "app-299", size: bytes },
  { name: "300 clients, 60 targets, embedded", dir: embeddedDir, vars: {}, client: "app-299", size: bytes },
];

/** The workerd processes this node process started (Miniflare's children). */
const ownWorkerds = () => readdirSync("/proc").filter((d) => /^\d+$/.test(d)).map(Number).filter((pid) => {
  try { const st = readFileSync(`/proc/${pid}/stat`, "utf8"); return st.includes("(workerd)") && Number(st.split(") ")[1].split(" ")[1]) === process.pid; } catch { return false; }
});
/**
 * CPU ns of `pids`: `main`, the main threads (where workerd runs its isolates and event loop),
 * and `all` threads (V8's background compilation and GC helpers too).
 */
const cpuNs = (pids) => ({
  main: pids.reduce((a, pid) => a + threadCpuNs(pid), 0),
  all: pids.reduce((a, pid) => a + readdirSync(`/proc/${pid}/task`).reduce((b, tid) => b + threadCpuNs(pid, tid), 0), 0),
});

async function once(c) {
  const def = {
    ...common, name: "edge-sts", scriptPath: path.join(c.dir, "index.js"), modulesRoot: c.dir, kvNamespaces: ["JWKS_CACHE"],
    bindings: { ...secrets, ...c.vars },
  };
  const mf = new Miniflare(def);
  const url = `${(await mf.ready).toString()}token`;
  const pids = ownWorkerds();
  const startup = cpuNs(pids).main / 1e6;
  await warmKvEmulator(mf, def); // after the startup reading: the emulator is not the Worker's
  const body = new URLSearchParams({ grant_type: GRANT, subject_token_type: ACCESS_TOKEN, subject_token: await token(c.client) }).toString();
  const body2 = new URLSearchParams({ grant_type: GRANT, subject_token_type: ACCESS_TOKEN, subject_token: await token(c.client) }).toString();
  const measure = async (b) => {
    const c0 = cpuNs(pids), t0 = performance.now();
    const r = await fetch(url, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: b });
    const text = await r.text();
    const wall = performance.now() - t0, c1 = cpuNs(pids);
    const cpu = (c1.main - c0.main) / 1e6, all = (c1.all - c0.all) / 1e6;
    if (r.status !== 200) throw new Error(`${c.name}: ${r.status} ${text}`);
    return { wall, cpu, all };
  };
  const first = await measure(body);
  const second = await measure(body2); // same isolate, a new token: configuration already parsed
  await mf.dispose();
  return { startup, first, second };
}

const stats = (xs) => { const s = [...xs].sort((a, b) => a - b); const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))]; return { med: q(0.5), min: s[0], max: s[s.length - 1], p90: q(0.9) }; };
const f = (x) => x.toFixed(1);
const runs = CASES.map(() => []);
for (let i = 0; i < RUNS; i++) for (const [k, c] of CASES.entries()) runs[k].push(await once(c));
const cell = (xs) => { const s = stats(xs); return `${f(s.med)} (${f(s.min)}–${f(s.max)})`; };
const rows = CASES.map((c, k) => {
  const r = runs[k], col = (g) => cell(r.map(g));
  return `| ${c.name} | ${(c.size / 1024).toFixed(1)} KiB | ${col((x) => x.startup)} | ${col((x) => x.first.cpu)} | ${col((x) => x.first.all)} | ${col((x) => x.first.wall)} | ${col((x) => x.second.cpu)} |`;
});
await iss.close();
console.log(`${RUNS} fresh isolates per policy, ${DIR}/, main-thread CPU from schedstat; ms, median (min–max)\n`);
console.log("| policy | size | startup: main thread CPU | 1st request: main thread CPU | 1st: all threads | 1st: wall | 2nd request: main thread CPU |\n|---|---:|---:|---:|---:|---:|---:|");
console.log(rows.join("\n"));
