// What V8 compiles, and when: a fresh isolate's startup, its first POST /token and its second,
// from V8's own trace (`--trace-wasm-compilation-times`, one line per compiled wasm function).
// V8 compiles a wasm function on its first call (lazy compilation), so what an isolate's first
// request compiles is part of its latency (docs/profiling.md, "What a first request compiles").
//
//   scripts/build.sh profile && node bench/compile-trace.mjs [--dir build-profile] [--top 20]
//   node bench/compile-trace.mjs --v8-flags "--no-liftoff --no-wasm-lazy-compilation" [--runs 7]
//     An experiment instead of the trace: the first and second /token's wall time (median of
//     fresh workerds) without and with those V8 flags, interleaved. The trace itself slows
//     compilation down, so its timings are only for comparing functions with each other.
//   node bench/compile-trace.mjs --second-worker [...]
//     Any mode, with an idle JS Worker declared after edge-sts (Miniflare declares its own that
//     way): its isolate's creation drops the wasm code startup compiled (see SECOND below).
//   node bench/compile-trace.mjs --dir build --against bench/out/before [--runs 25]
//     Two builds side by side: the first and second /token's wall time and the startup CPU (main
//     thread, process start to listening) of fresh workerds, no flags, interleaved (without
//     Miniflare's own Workers in the request's path).
//
// Miniflare has no option for V8 flags, so this runs workerd itself, with a config of its own
// (workerd's `v8Flags` field): the bench issuer and configuration (bench/harness.mjs), no KV
// binding (a KV read compiles nothing in the wasm). Function names come from the wasm's name
// section, so use a build that keeps it (build-profile/); with build/ the rows show indices.
import { spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import workerdPackage from "workerd";
import { root, FORM, startBenchIssuer, bodies, benchSigningKey, edgeConfig, threadCpuNs } from "./harness.mjs";
import { freePort } from "../tests/support/worker.mjs";
import { sections } from "../scripts/wasm-sections.mjs";

const workerd = workerdPackage.default ?? workerdPackage; // the binary's path (a CommonJS module)
const arg = (n, d) => { const i = process.argv.indexOf(`--${n}`); return i > 0 ? process.argv[i + 1] : d; };
const dir = path.resolve(root, arg("dir", "build-profile"));
const TOP = Number(arg("top", 20));
const EXPERIMENT = (arg("v8-flags", "") ?? "").split(" ").filter(Boolean);
const RUNS = Number(arg("runs", 7));
const against = arg("against", undefined);
const AGAINST = against && path.resolve(root, against);
// A second, idle JS Worker declared after edge-sts, as Miniflare declares its own Workers after
// the user's: creating its isolate makes workerd signal memory pressure, and V8 then drops the
// Liftoff code of every wasm module in the process, so the first request compiles again what
// startup compiled (the trace counts it).
const SECOND = process.argv.includes("--second-worker");

/** Function index -> name, from the wasm's `name` custom section (subsection 1). */
function functionNames(bytes) {
  const names = new Map();
  for (const { id, at, end } of sections(bytes)) {
    if (id !== 0 || at.str() !== "name") continue;
    while (at.p < end) {
      const sub = at.byte(), subend = at.leb() + at.p;
      if (sub === 1) for (let n = at.leb(); n > 0; n--) { const i = at.leb(); names.set(i, at.str()); }
      at.p = subend;
    }
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

const issuer = await startBenchIssuer();
const tokens = await bodies(issuer, "RS256", 0, 2 * (1 + 2 * RUNS));
const signing = await benchSigningKey();

/** One fresh workerd with `flags`: what it compiled per phase (with the trace flag), the two requests' wall ms and the
 * main thread's CPU ms from process start to listening. */
async function run(flags, from = dir) {
  const port = await freePort();
  const tmp = mkdtempSync(path.join(os.tmpdir(), "edge-sts-compile-"));
  // workerd embeds files relative to its config file: the build's two files go beside it.
  for (const f of ["index.js", "index_bg.wasm"]) copyFileSync(path.join(from, f), path.join(tmp, f));
  writeFileSync(path.join(tmp, "config.capnp"), `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .edge),${SECOND ? ` (name = "idle", worker = .idle),` : ""} (name = "loopback", network = (allow = ["public", "private", "local"])) ],
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
  const compiled = [], wall = {};
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
  // nothing waits: on this machine a first request after an idle workerd is slower the longer the
  // idle time (docs/performance.md, "Miniflare drops what startup compiled"), so a wait would time it.
  const traced = flags.includes("--trace-wasm-compilation-times");
  const settle = () => (traced ? new Promise((r) => setTimeout(r, 500)) : Promise.resolve());
  try {
    await listening(port);
    startupMs = threadCpuNs(child.pid) / 1e6; // main-thread CPU from process start to listening
    await settle();
    for (const name of ["first /token", "second /token"]) {
      phase = name;
      const t0 = performance.now();
      const r = await fetch(`http://127.0.0.1:${port}/token`, { method: "POST", headers: FORM, body: tokens.pop() });
      const text = await r.text();
      wall[name] = performance.now() - t0;
      if (r.status !== 200) throw new Error(`${name}: ${r.status} ${text.slice(0, 200)}`);
      await settle();
    }
  } finally {
    child.kill();
    rmSync(tmp, { recursive: true, force: true });
  }
  return { compiled, wall, startupMs };
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return (s[(s.length - 1) >> 1] + s[s.length >> 1]) / 2; };
try {
  if (AGAINST) {
    const res = { [dir]: [], [AGAINST]: [] };
    for (let i = 0; i < RUNS; i++) for (const d of [dir, AGAINST]) res[d].push(await run([], d));
    console.log(`first and second POST /token of fresh workerds, median of ${RUNS} each, interleaved, ${new Date().toISOString()}\n`);
    console.log("| build | first /token ms | second /token ms | startup CPU ms |\n|---|---:|---:|---:|");
    for (const [d, xs] of Object.entries(res)) {
      console.log(`| ${path.relative(root, d)}/ | ${median(xs.map((r) => r.wall["first /token"])).toFixed(1)} | ${median(xs.map((r) => r.wall["second /token"])).toFixed(1)} | ${median(xs.map((r) => r.startupMs)).toFixed(1)} |`);
    }
  } else if (EXPERIMENT.length) {
    const res = { without: [], with: [] };
    for (let i = 0; i < RUNS; i++) {
      res.without.push((await run([])).wall);
      res.with.push((await run(EXPERIMENT)).wall);
    }
    console.log(`first and second POST /token of fresh workerds, ${path.relative(root, dir)}/, median of ${RUNS} each, interleaved, ${new Date().toISOString()}\n`);
    console.log("| V8 flags | first /token ms | second /token ms |\n|---|---:|---:|");
    for (const [label, xs] of [["(none)", res.without], [EXPERIMENT.join(" "), res.with]]) {
      console.log(`| ${label} | ${median(xs.map((w) => w["first /token"])).toFixed(1)} | ${median(xs.map((w) => w["second /token"])).toFixed(1)} |`);
    }
  } else {
    const { compiled } = await run(["--trace-wasm-compilation-times"]);
    const names = functionNames(readFileSync(path.join(dir, "index_bg.wasm")));
    console.log(`wasm functions compiled by V8 (--trace-wasm-compilation-times), ${path.relative(root, dir)}/, ${new Date().toISOString()}\n`);
    console.log("| phase | tier | functions | wasm body bytes | compile µs (traced) |\n|---|---|---:|---:|---:|");
    for (const ph of ["startup", "first /token", "second /token"]) {
      const xs = compiled.filter((c) => c.phase === ph);
      const tiers = [...new Set(xs.map((c) => c.tier))].join(", ") || "-";
      console.log(`| ${ph} | ${tiers} | ${xs.length} | ${xs.reduce((a, c) => a + c.body, 0)} | ${xs.reduce((a, c) => a + c.us, 0)} |`);
    }
    const atStartup = new Set(compiled.filter((c) => c.phase === "startup").map((c) => c.index));
    const again = compiled.filter((c) => c.phase !== "startup" && atStartup.has(c.index));
    console.log(`\ncompiled at startup and again later: ${again.length} functions, ${again.reduce((a, c) => a + c.body, 0)} wasm body bytes${SECOND ? " (with a second Worker declared after edge-sts)" : ""}`);
    const top = compiled.filter((c) => c.phase === "first /token").sort((a, b) => b.body - a.body).slice(0, TOP);
    console.log(`\nThe first /token's ${TOP} largest compiled functions:\n\n| wasm body bytes | compile µs | tier | function |\n|---:|---:|---|---|`);
    for (const c of top) console.log(`| ${c.body} | ${c.us} | ${c.tier} | \`${(names.get(c.index) ?? `#${c.index}`).replace(/::h[0-9a-f]{16}$/, "").slice(0, 110)}\` |`);
  }
} finally {
  issuer.close();
}
