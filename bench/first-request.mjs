// First request of a fresh isolate, small policy vs the generated 300-client, 60-target one
// (bench/gen-policy.mjs): the request that parses the configuration (Workers' Free plan allows
// 10 ms of CPU per request). Every run starts a new workerd (a fresh isolate), attaches to its
// inspector with only the Profiler domain (as bench/profile.mjs does), and profiles the first
// POST /token; CPU is the isolate's busy time in that profile (samples that are not idle), wall
// is the client's time to the answer (it includes the issuer's discovery + JWKS round trips on
// 127.0.0.1). Prints median and spread per policy.
//   node bench/first-request.mjs [--runs 15] [--dir build] [--interval 50]
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Miniflare } from "miniflare";
import WebSocket from "ws";
import { root, common } from "./harness.mjs";
import { genPolicy } from "./gen-policy.mjs";
import { embed } from "../scripts/embed-config.mjs";
import { startIssuer } from "../tests/support/issuer.mjs";
import { devConfig, generateSigningKey, GRANT, ACCESS_TOKEN } from "../tests/support/worker.mjs";

const argv = process.argv.slice(2);
const arg = (n, d) => { const i = argv.indexOf(`--${n}`); return i >= 0 ? argv[i + 1] : d; };
const RUNS = Number(arg("runs", 15)), DIR = arg("dir", "build"), INTERVAL = Number(arg("interval", 50));
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

async function cdpSession(mf) {
  const base = new URL(await mf.getInspectorURL());
  const targets = await (await fetch(`http://${base.host}/json`)).json();
  const t = targets.find((x) => x.id === "core:user:edge-sts");
  if (!t) throw new Error(`no edge-sts inspector target among ${JSON.stringify(targets.map((x) => x.id))}`);
  const ws = new WebSocket(t.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
  let id = 0;
  const pending = new Map();
  ws.on("message", (d) => { const m = JSON.parse(d); const p = pending.get(m.id); if (p) { pending.delete(m.id); m.error ? p.reject(new Error(JSON.stringify(m.error))) : p.resolve(m.result); } });
  const call = (method, params = {}) => new Promise((resolve, reject) => { pending.set(++id, { resolve, reject }); ws.send(JSON.stringify({ id, method, params })); });
  return { call, close: () => ws.close() };
}

/** Busy µs of a profile: every sample's duration except (idle). */
function busyUs(profile) {
  const idle = new Set(profile.nodes.filter((n) => n.callFrame.functionName === "(idle)").map((n) => n.id));
  let us = 0;
  for (let i = 0; i < profile.samples.length; i++) if (!idle.has(profile.samples[i])) us += profile.timeDeltas[i + 1] ?? 0;
  return us;
}

async function once(c) {
  const mf = new Miniflare({
    ...common, name: "edge-sts", scriptPath: path.join(c.dir, "index.js"), modulesRoot: c.dir, kvNamespaces: ["JWKS_CACHE"],
    bindings: { ...secrets, ...c.vars }, inspectorPort: 0,
  });
  const url = `${(await mf.ready).toString()}token`;
  const body = new URLSearchParams({ grant_type: GRANT, subject_token_type: ACCESS_TOKEN, subject_token: await token(c.client) }).toString();
  const body2 = new URLSearchParams({ grant_type: GRANT, subject_token_type: ACCESS_TOKEN, subject_token: await token(c.client) }).toString();
  const cdp = await cdpSession(mf);
  await cdp.call("Profiler.enable");
  await cdp.call("Profiler.setSamplingInterval", { interval: INTERVAL });
  const measure = async (b) => {
    await cdp.call("Profiler.start");
    const t0 = performance.now();
    const r = await fetch(url, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: b });
    const text = await r.text();
    const wall = performance.now() - t0;
    const { profile } = await cdp.call("Profiler.stop");
    if (r.status !== 200) throw new Error(`${c.name}: ${r.status} ${text}`);
    return { wall, cpu: busyUs(profile) / 1000 };
  };
  const first = await measure(body);
  const second = await measure(body2); // same isolate, a new token: configuration already parsed
  cdp.close();
  await mf.dispose();
  return { first, second };
}

const stats = (xs) => { const s = [...xs].sort((a, b) => a - b); const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))]; return { med: q(0.5), min: s[0], max: s[s.length - 1], p90: q(0.9) }; };
const f = (x) => x.toFixed(1);
const rows = [];
for (const c of CASES) {
  const runs = [];
  for (let i = 0; i < RUNS; i++) runs.push(await once(c));
  const [fc, fw, sc] = [stats(runs.map((r) => r.first.cpu)), stats(runs.map((r) => r.first.wall)), stats(runs.map((r) => r.second.cpu))];
  rows.push(`| ${c.name} | ${(c.size / 1024).toFixed(1)} KiB | ${f(fc.med)} (${f(fc.min)}–${f(fc.max)}) | ${f(fw.med)} (${f(fw.min)}–${f(fw.max)}) | ${f(sc.med)} (${f(sc.min)}–${f(sc.max)}) |`);
  process.stderr.write(`${rows.at(-1)}\n`);
}
await iss.close();
console.log(`${RUNS} fresh isolates per policy, ${DIR}/, profiler sampling every ${INTERVAL} µs; ms, median (min–max)\n`);
console.log("| policy | size | first request CPU | first request wall | second request CPU |\n|---|---:|---:|---:|---:|");
console.log(rows.join("\n"));
