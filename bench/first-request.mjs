// An isolate's startup and first request: every fresh-isolate measurement but the load
// benchmark's own (bench/run.mjs) and the profiler's (bench/profile.mjs first). One mode per
// question (bench/README.md):
//
//   node bench/first-request.mjs policy [--runs 15] [--dir build]
//     Startup, first and second POST /token with the demo policy and the generated 300-client,
//     60-target one (bench/gen-policy.mjs), as a variable and embedded; Miniflare. Startup is the
//     main thread's CPU from process start to ready (the configuration is parsed there).
//   node bench/first-request.mjs parts [--isolates 9]
//     Where the first request's time goes: edge-sts in variants that take one cost away at a
//     time (KV, the KV emulator's start, configuration), beside the empty JS Worker; Miniflare.
//   node bench/first-request.mjs trace [--dir build-profile] [--top 20] [--second-worker]
//     What V8 compiles at startup, on the first /token and on the second, from its own trace
//     (--trace-wasm-compilation-times), and the first /token's largest functions (names need
//     `scripts/build.sh profile`). The trace slows compilation: compare functions, not requests.
//   node bench/first-request.mjs flags --v8-flags "--no-liftoff --no-wasm-lazy-compilation" [--runs 7]
//     The first and second /token's wall time without and with those V8 flags, interleaved.
//   node bench/first-request.mjs builds --against DIR [--dir build] [--runs 15]
//     Two builds side by side: startup CPU, and the first and second /token's wall time and
//     main-thread CPU, interleaved.
//
// `policy` and `parts` run Miniflare, as the e2e tests and the load benchmark do; Miniflare starts
// its KV emulator first (harness.mjs, warmKvEmulator), except in the "emulator cold" variants.
// `trace`, `flags` and `builds` run workerd itself (Miniflare has no option for V8 flags, and its
// own Workers drop the wasm code startup compiled: docs/performance.md), with the bench issuer and
// configuration and no KV binding; `--second-worker` declares an idle JS Worker after edge-sts, as
// Miniflare declares its own, to show that drop.
// Main-thread CPU is workerd's main thread (/proc/<pid>/task/<pid>/schedstat), where the isolate
// runs with workerd's HTTP handling; "all threads" adds V8's background compilation and GC.
// Prints medians (and min–max where it says so).
import { spawn } from "node:child_process";
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { Miniflare } from "miniflare";
import workerdPackage from "workerd";
import { root, FORM, common, startBenchIssuer, bodies, benchSigningKey, edgeConfig, edgeStsWorker, threadCpuNs, warmKvEmulator, workerdPids } from "./harness.mjs";
import { genPolicy } from "./gen-policy.mjs";
import { embed } from "../scripts/embed-config.mjs";
import { arg, flag, median } from "../tests/support/measure.mjs";
import { startIssuer } from "../tests/support/issuer.mjs";
import { devConfig, freePort, generateSigningKey, GRANT, ACCESS_TOKEN } from "../tests/support/worker.mjs";

const MODES = { policy, parts, trace, flags, builds };
const mode = process.argv[2];
if (!MODES[mode]) {
  console.error(`usage: node bench/first-request.mjs ${Object.keys(MODES).join("|")} [options] (bench/README.md)`);
  process.exit(2);
}
const f1 = (x) => x.toFixed(1);
const stamp = () => new Date().toISOString();
const needBuild = (dir, how) => {
  if (!existsSync(path.join(dir, "index.js"))) { console.error(`${path.relative(root, dir)}/index.js is missing: run ${how}`); process.exit(2); }
};

/** One timed request; throws unless it answers `want`. */
async function timed(url, init, want = 200) {
  const t0 = performance.now();
  const r = await fetch(url, init);
  const text = await r.text();
  const ms = performance.now() - t0;
  if (r.status !== want) throw new Error(`${url}: ${r.status}, expected ${want}: ${text.slice(0, 200)}`);
  return ms;
}

// ---- policy: the demo policy against the 300/60 one, Miniflare ----------------------------------
async function policy() {
  const RUNS = arg("runs", 15), DIR = path.join(root, arg("dir", "build"));
  needBuild(DIR, "scripts/build.sh");
  const iss = await startIssuer();
  const es = await generateSigningKey("ES256", "fr-es"), rs = await generateSigningKey("RS256", "fr-rs");
  const secrets = { SIGNING_KEY_ES256: JSON.stringify(es), SIGNING_KEY_RS256: JSON.stringify(rs), SIGNING_KEY_ES256_1: JSON.stringify(es) };
  const form = async (id) => new URLSearchParams({ grant_type: GRANT, subject_token_type: ACCESS_TOKEN, subject_token: await iss.sign({ ...iss.keyclaims("orders-service"), azp: id, client_id: id }) }).toString();
  const big = genPolicy({ dev: true, issuer: "http://127.0.0.1:8787", trusted: [iss.url] });
  const demo = devConfig(iss.url);
  // The big policy embedded in a copy of DIR (what EDGE_STS_CONFIG_FILE builds), and, to separate
  // delivery from parsing, the same text as a variable (workerd does not enforce the 5 KB limit).
  const out = path.join(root, "bench/out/first-request");
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const embeddedDir = path.join(out, "embedded");
  cpSync(DIR, embeddedDir, { recursive: true });
  const bigFile = path.join(out, "big.json");
  writeFileSync(bigFile, JSON.stringify(big, null, 1));
  const { bytes } = embed(bigFile, embeddedDir);
  const CASES = [
    { name: "demo (3 clients, 3 targets), variable", dir: DIR, vars: { EDGE_STS_CONFIG: JSON.stringify(demo) }, client: "orders-service", size: JSON.stringify(demo).length },
    { name: "300 clients, 60 targets, variable", dir: DIR, vars: { EDGE_STS_CONFIG: JSON.stringify(big, null, 1) }, client: "app-299", size: bytes },
    { name: "300 clients, 60 targets, embedded", dir: embeddedDir, vars: {}, client: "app-299", size: bytes },
  ];
  const cpuMs = (pids) => ({
    main: pids.reduce((a, pid) => a + threadCpuNs(pid), 0) / 1e6,
    all: pids.reduce((a, pid) => a + readdirSync(`/proc/${pid}/task`).reduce((b, tid) => b + threadCpuNs(pid, tid), 0), 0) / 1e6,
  });
  const once = async (c) => {
    const def = { ...common, name: "edge-sts", scriptPath: path.join(c.dir, "index.js"), modulesRoot: c.dir, kvNamespaces: ["JWKS_CACHE"], bindings: { ...secrets, ...c.vars } };
    const mf = new Miniflare(def);
    const url = `${(await mf.ready).toString()}token`;
    const pids = [...workerdPids()];
    const startup = cpuMs(pids).main;
    await warmKvEmulator(mf, def); // after the startup reading: the emulator is not the Worker's
    const measure = async (body) => {
      const c0 = cpuMs(pids);
      const wall = await timed(url, { method: "POST", headers: FORM, body });
      const c1 = cpuMs(pids);
      return { wall, cpu: c1.main - c0.main, all: c1.all - c0.all };
    };
    try {
      const first = await measure(await form(c.client));
      const second = await measure(await form(c.client)); // same isolate, a new token
      return { startup, first, second };
    } finally { await mf.dispose(); }
  };
  const runs = CASES.map(() => []);
  for (let i = 0; i < RUNS; i++) for (const [k, c] of CASES.entries()) runs[k].push(await once(c));
  await iss.close();
  const cell = (xs) => `${f1(median(xs))} (${f1(Math.min(...xs))}–${f1(Math.max(...xs))})`;
  console.log(`${RUNS} fresh isolates per policy, ${path.relative(root, DIR)}/, main-thread CPU from schedstat; ms, median (min–max), ${stamp()}\n`);
  console.log("| policy | size | startup CPU | 1st request CPU | 1st, all threads | 1st, wall | 2nd request CPU |\n|---|---:|---:|---:|---:|---:|---:|");
  for (const [k, c] of CASES.entries()) {
    const r = runs[k], col = (g) => cell(r.map(g));
    console.log(`| ${c.name} | ${(c.size / 1024).toFixed(1)} KiB | ${col((x) => x.startup)} | ${col((x) => x.first.cpu)} | ${col((x) => x.first.all)} | ${col((x) => x.first.wall)} | ${col((x) => x.second.cpu)} |`);
  }
}

// ---- parts: one cost taken away at a time, Miniflare ----------------------------------------------
async function parts() {
  const N = arg("isolates", 9);
  needBuild(path.join(root, "build"), "scripts/build.sh");
  const issuer = await startBenchIssuer();
  const tokens = await bodies(issuer, "RS256", 0, N * 20 + 1);
  const signing = await benchSigningKey();
  const edge = edgeStsWorker({ issuer, signing, config: { log_requests: "errors" } });
  const noKv = { ...edge, kvNamespaces: [] };
  const kvDir = mkdtempSync(path.join(os.tmpdir(), "edge-sts-kv-"));
  const kvHit = { ...edge, kvPersist: kvDir };
  const kvJs = { ...common, scriptPath: path.join(root, "bench/workers/kv-read-js/index.js"), kvNamespaces: ["JWKS_CACHE"] };
  const noConfig = { ...noKv, bindings: { SIGNING_KEY: edge.bindings.SIGNING_KEY } };
  let next = 0;
  const tok = () => tokens[next++];
  // Seed the persisted namespace: one isolate fetches the JWKS and writes it to KV (waitUntil).
  {
    const mf = new Miniflare(kvHit);
    await timed(`${(await mf.ready).toString()}token`, { method: "POST", headers: FORM, body: tokens[tokens.length - 1] });
    await new Promise((res) => setTimeout(res, 300));
    await mf.dispose();
  }
  const post = (base) => timed(`${base}token`, { method: "POST", headers: FORM, body: tok() });
  const get = (base, p, want = 200) => timed(`${base}${p}`, {}, want);
  const twoPosts = async (b) => [await post(b), await post(b)];
  const variants = {
    "empty JS: first, second request": [{ ...common, scriptPath: path.join(root, "bench/workers/empty-js/index.js") }, twoPosts],
    "JS, one KV read: first, second request": [kvJs, twoPosts],
    "JS, one KV read, emulator cold: first, second request": [{ ...kvJs, cold: true }, twoPosts],
    "edge-sts, token, KV: first /token, second": [edge, twoPosts],
    "edge-sts, token, KV, emulator cold: first /token, second": [{ ...edge, cold: true }, twoPosts],
    "edge-sts, token, KV hit: first /token, second": [kvHit, async (b) => {
      const hits = issuer.certsHits();
      const r = await twoPosts(b);
      if (issuer.certsHits() !== hits) throw new Error("KV hit variant fetched the JWKS from the issuer");
      return r;
    }],
    "edge-sts, token, no KV: first /token, second": [noKv, twoPosts],
    "edge-sts, no KV: first GET /healthz, then first /token": [noKv, async (b) => [await get(b, "healthz"), await post(b)]],
    "edge-sts, no configuration: first GET /healthz (503), second": [noConfig, async (b) => [await get(b, "healthz", 503), await get(b, "healthz", 503)]],
  };
  const res = {};
  for (let k = 0; k < N; k++) {
    for (const [name, [def, run]] of Object.entries(variants)) {
      process.stderr.write(`isolate ${k + 1}/${N}: ${name}\n`);
      const { cold, ...opts } = def;
      const mf = new Miniflare(opts);
      const base = (await mf.ready).toString();
      if (!cold) await warmKvEmulator(mf, opts);
      try { (res[name] ??= []).push(await run(base)); } finally { await mf.dispose(); }
    }
  }
  issuer.close();
  rmSync(kvDir, { recursive: true, force: true });
  console.log(`${N} fresh isolates per variant, medians, ${stamp()}\n`);
  console.log("| variant | first ms | second ms |\n|---|---:|---:|");
  for (const [name, rs] of Object.entries(res)) console.log(`| ${name} | ${f1(median(rs.map((r) => r[0])))} | ${f1(median(rs.map((r) => r[1])))} |`);
}

// ---- workerd itself: trace, flags, builds ----------------------------------------------------------
const workerd = workerdPackage.default ?? workerdPackage; // the binary's path (a CommonJS module)

/** Function index -> name, from the wasm's `name` custom section (subsection 1). */
function functionNames(bytes) {
  let p = 8;
  const leb = () => { let r = 0, s = 0, x; do { x = bytes[p++]; r += (x & 0x7f) * 2 ** s; s += 7; } while (x & 0x80); return r; };
  const str = () => { const n = leb(); const t = bytes.subarray(p, p + n).toString(); p += n; return t; };
  const names = new Map();
  while (p < bytes.length) {
    const id = bytes[p++], end = leb() + p;
    if (id === 0 && str() === "name") {
      while (p < end) {
        const sub = bytes[p++], subend = leb() + p;
        if (sub === 1) for (let n = leb(); n > 0; n--) { const i = leb(); names.set(i, str()); }
        p = subend;
      }
    }
    p = end;
  }
  return names;
}

const listening = async (port) => {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise((resolve) => { const c = net.connect(port, "127.0.0.1", () => { c.end(); resolve(true); }).on("error", () => resolve(false)); });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error("workerd did not start listening");
};
const capnpText = (s) => JSON.stringify(s); // a JSON string is a valid Cap'n Proto text literal

/** The bench issuer, its tokens and edge-sts's signing key, for the workerd modes. */
async function workerdSetup(count) {
  const issuer = await startBenchIssuer();
  return { issuer, tokens: await bodies(issuer, "RS256", 0, count), signing: await benchSigningKey() };
}

/**
 * One fresh workerd running the build in `dir` with V8 `flags`: what it compiled per phase (with
 * the trace flag), the two requests' wall ms and main-thread CPU ms, and the main thread's CPU ms
 * from process start to listening.
 */
async function workerdRun({ issuer, tokens, signing }, dir, flags) {
  const port = await freePort();
  const tmp = mkdtempSync(path.join(os.tmpdir(), "edge-sts-first-"));
  // workerd embeds files relative to its config file: the build's two files go beside it.
  for (const f of ["index.js", "index_bg.wasm"]) copyFileSync(path.join(dir, f), path.join(tmp, f));
  const second = flag("second-worker");
  writeFileSync(path.join(tmp, "config.capnp"), `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .edge),${second ? ` (name = "idle", worker = .idle),` : ""} (name = "loopback", network = (allow = ["public", "private", "local"])) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
  v8Flags = ${JSON.stringify(flags)},
);
const idle :Workerd.Worker = (
  modules = [ (name = "idle.js", esModule = "export default { fetch() { return new Response(null); } };") ],
  compatibilityDate = "2025-09-01",
);
const edge :Workerd.Worker = (
  modules = [
    (name = "index.js", esModule = embed "index.js"),
    (name = "index_bg.wasm", wasm = embed "index_bg.wasm"),
  ],
  compatibilityDate = "2025-09-01",
  globalOutbound = "loopback",
  bindings = [
    (name = "EDGE_STS_CONFIG", text = ${capnpText(JSON.stringify({ ...edgeConfig(issuer), log_requests: "errors" }))}),
    (name = "SIGNING_KEY", text = ${capnpText(JSON.stringify(signing))}),
  ],
);
`);
  let phase = "startup", rest = "";
  const compiled = [], wall = {}, cpu = {};
  let startupMs = 0;
  const child = spawn(workerd, ["serve", path.join(tmp, "config.capnp")], { stdio: ["ignore", "pipe", "pipe"] });
  const onData = (d) => {
    const lines = (rest + d.toString()).split("\n");
    rest = lines.pop();
    for (const l of lines) {
      const m = /Compiled function 0x[0-9a-f]+#(\d+) using (\w+), took (\d+) μs and \d+ bytes; bodysize (\d+)/.exec(l);
      if (m) compiled.push({ phase, index: +m[1], tier: m[2], us: +m[3], body: +m[4] });
    }
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  if (process.env.DEBUG) for (const s of [child.stdout, child.stderr]) s.on("data", (d) => process.stderr.write(d));
  // The trace is written as V8 compiles: with it, let it drain before the next phase. Without it,
  // nothing waits: on a loaded machine a first request after an idle workerd is slower the longer
  // the idle time, so a wait would be timed too.
  const traced = flags.includes("--trace-wasm-compilation-times");
  const settle = () => (traced ? new Promise((r) => setTimeout(r, 500)) : Promise.resolve());
  try {
    await listening(port);
    startupMs = threadCpuNs(child.pid) / 1e6;
    await settle();
    for (const name of ["first /token", "second /token"]) {
      phase = name;
      const c0 = threadCpuNs(child.pid);
      wall[name] = await timed(`http://127.0.0.1:${port}/token`, { method: "POST", headers: FORM, body: tokens.pop() });
      cpu[name] = (threadCpuNs(child.pid) - c0) / 1e6;
      await settle();
    }
  } finally {
    child.kill();
    rmSync(tmp, { recursive: true, force: true });
  }
  return { compiled, wall, cpu, startupMs };
}

async function trace() {
  const dir = path.resolve(root, arg("dir", "build-profile")), TOP = arg("top", 20);
  needBuild(dir, "scripts/build.sh profile");
  const setup = await workerdSetup(2);
  try {
    const { compiled } = await workerdRun(setup, dir, ["--trace-wasm-compilation-times"]);
    const names = functionNames(readFileSync(path.join(dir, "index_bg.wasm")));
    console.log(`wasm functions compiled by V8 (--trace-wasm-compilation-times), ${path.relative(root, dir)}/, ${stamp()}\n`);
    console.log("| phase | tier | functions | wasm body bytes | compile µs (traced) |\n|---|---|---:|---:|---:|");
    for (const ph of ["startup", "first /token", "second /token"]) {
      const xs = compiled.filter((c) => c.phase === ph);
      const tiers = [...new Set(xs.map((c) => c.tier))].join(", ") || "-";
      console.log(`| ${ph} | ${tiers} | ${xs.length} | ${xs.reduce((a, c) => a + c.body, 0)} | ${xs.reduce((a, c) => a + c.us, 0)} |`);
    }
    const atStartup = new Set(compiled.filter((c) => c.phase === "startup").map((c) => c.index));
    const again = compiled.filter((c) => c.phase !== "startup" && atStartup.has(c.index));
    console.log(`\ncompiled at startup and again later: ${again.length} functions, ${again.reduce((a, c) => a + c.body, 0)} wasm body bytes${flag("second-worker") ? " (with a second Worker declared after edge-sts)" : ""}`);
    const top = compiled.filter((c) => c.phase === "first /token").sort((a, b) => b.body - a.body).slice(0, TOP);
    console.log(`\nThe first /token's ${TOP} largest compiled functions:\n\n| wasm body bytes | compile µs | tier | function |\n|---:|---:|---|---|`);
    for (const c of top) console.log(`| ${c.body} | ${c.us} | ${c.tier} | \`${(names.get(c.index) ?? `#${c.index}`).replace(/::h[0-9a-f]{16}$/, "").slice(0, 110)}\` |`);
  } finally { setup.issuer.close(); }
}

async function flags() {
  const dir = path.resolve(root, arg("dir", "build-profile")), RUNS = arg("runs", 7);
  const v8 = arg("v8-flags", "").split(" ").filter(Boolean);
  if (!v8.length) { console.error('flags: give the V8 flags, e.g. --v8-flags "--no-liftoff --no-wasm-lazy-compilation"'); process.exit(2); }
  needBuild(dir, "scripts/build.sh profile");
  const setup = await workerdSetup(4 * RUNS);
  try {
    const res = { without: [], with: [] };
    for (let i = 0; i < RUNS; i++) {
      res.without.push((await workerdRun(setup, dir, [])).wall);
      res.with.push((await workerdRun(setup, dir, v8)).wall);
    }
    console.log(`first and second POST /token of fresh workerds, ${path.relative(root, dir)}/, median of ${RUNS} each, interleaved, ${stamp()}\n`);
    console.log("| V8 flags | first /token ms | second /token ms |\n|---|---:|---:|");
    for (const [label, xs] of [["(none)", res.without], [v8.join(" "), res.with]]) {
      console.log(`| ${label} | ${f1(median(xs.map((w) => w["first /token"])))} | ${f1(median(xs.map((w) => w["second /token"])))} |`);
    }
  } finally { setup.issuer.close(); }
}

async function builds() {
  const dir = path.resolve(root, arg("dir", "build")), RUNS = arg("runs", 15);
  const against = arg("against") && path.resolve(root, arg("against"));
  if (!against) { console.error("builds: give the second build, --against DIR"); process.exit(2); }
  needBuild(dir, "scripts/build.sh");
  needBuild(against, "a build of the other commit");
  const setup = await workerdSetup(4 * RUNS);
  try {
    const res = { [dir]: [], [against]: [] };
    for (let i = 0; i < RUNS; i++) for (const d of [dir, against]) res[d].push(await workerdRun(setup, d, []));
    console.log(`fresh workerds, median of ${RUNS} each, interleaved, ${stamp()}; CPU is the main thread's\n`);
    console.log("| build | startup CPU ms | first /token ms | first /token CPU ms | second /token ms | second /token CPU ms |\n|---|---:|---:|---:|---:|---:|");
    const m = (xs, g) => median(xs.map(g));
    for (const [d, xs] of Object.entries(res)) {
      console.log(`| ${path.relative(root, d) || "."}/ | ${f1(m(xs, (r) => r.startupMs))} | ${f1(m(xs, (r) => r.wall["first /token"]))} | ${f1(m(xs, (r) => r.cpu["first /token"]))} | ${f1(m(xs, (r) => r.wall["second /token"]))} | ${f1(m(xs, (r) => r.cpu["second /token"]))} |`);
    }
    const [a, b] = Object.values(res);
    const ratio = (g) => (m(a, g) / m(b, g)).toFixed(3);
    console.log(`\n${path.relative(root, dir)}/ ÷ ${path.relative(root, against)}/: startup CPU ${ratio((r) => r.startupMs)}, first /token ${ratio((r) => r.wall["first /token"])} (CPU ${ratio((r) => r.cpu["first /token"])})`);
  } finally { setup.issuer.close(); }
}

await MODES[mode]();
