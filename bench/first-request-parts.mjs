// Where an isolate's first request goes (issue 12 §3): the first requests of fresh isolates
// (a new Miniflare each), edge-sts in variants that take one cost away at a time, beside the
// empty JS Worker. Needs build/ (scripts/build.sh); interleaved; medians.
//   node bench/first-request-parts.mjs [--isolates 9]
//   Miniflare's KV emulator is started before the timed request (harness.mjs, warmKvEmulator),
//   as bench/run.mjs does, except in the "emulator cold" variants, which show what it costs.
//   * JS, one KV read:  the empty JS Worker plus one KV `get` (a miss), emulator warm and cold
//   * token, KV:        the first POST /token, as bench/run.mjs times it (KV read + JWKS fetch)
//   * token, KV, emulator cold: the same on a fresh emulator (its start-up in the request)
//   * token, KV hit:    the same, with a KV namespace another isolate has already filled (a
//                       persisted namespace, seeded once): the read hits, the issuer is not asked
//   * token, no KV:     the same without the JWKS_CACHE binding (no KV read, no KV write)
//   * healthz, then token (no KV): GET /healthz first (isolate set-up: configuration, key ring),
//                       then the first /token (JWKS fetch, key imports, signing)
//   * healthz, no config: GET /healthz with EDGE_STS_CONFIG unset (the wasm's first run, no
//                       configuration work)
//   Each variant's later requests are timed too: the second /token (a fresh token) shows the
//   steady cost.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Miniflare } from "miniflare";
import { root, FORM, startBenchIssuer, bodies, benchSigningKey, edgeStsWorker, common, warmKvEmulator } from "./harness.mjs";

const arg = (n, d) => { const i = process.argv.indexOf(`--${n}`); return i > 0 ? Number(process.argv[i + 1]) : d; };
const N = arg("isolates", 9);
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
// Seed the persisted namespace: one isolate fetches the JWKS and writes it to KV (waitUntil).
{
  const mf = new Miniflare(kvHit);
  const base = (await mf.ready).toString();
  const r = await fetch(`${base}token`, { method: "POST", headers: FORM, body: tokens[tokens.length - 1] });
  await r.text();
  await new Promise((res) => setTimeout(res, 300));
  await mf.dispose();
  if (r.status !== 200) throw new Error(`seeding KV: ${r.status}`);
}
const tok = () => tokens[next++];

async function time(url, init, want) {
  const t0 = performance.now();
  const r = await fetch(url, init);
  await r.text();
  if (r.status !== want) throw new Error(`${url}: ${r.status}, expected ${want}`);
  return performance.now() - t0;
}
const post = (base) => time(`${base}token`, { method: "POST", headers: FORM, body: tok() }, 200);
const get = (base, p, want = 200) => time(`${base}${p}`, {}, want);

const variants = {
  "empty JS: first, second request": [{ ...common, scriptPath: path.join(root, "bench/workers/empty-js/index.js") }, async (b) => [await post(b), await post(b)]],
  "JS, one KV read: first, second request": [kvJs, async (b) => [await post(b), await post(b)]],
  "JS, one KV read, emulator cold: first, second request": [{ ...kvJs, cold: true }, async (b) => [await post(b), await post(b)]],
  "edge-sts, token, KV: first /token, second": [edge, async (b) => [await post(b), await post(b)]],
  "edge-sts, token, KV, emulator cold: first /token, second": [{ ...edge, cold: true }, async (b) => [await post(b), await post(b)]],
  "edge-sts, token, KV hit: first /token, second": [kvHit, async (b) => {
    const hits = issuer.certsHits();
    const r = [await post(b), await post(b)];
    if (issuer.certsHits() !== hits) throw new Error("KV hit variant fetched the JWKS from the issuer");
    return r;
  }],
  "edge-sts, token, no KV: first /token, second": [noKv, async (b) => [await post(b), await post(b)]],
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
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return (s[(s.length - 1) >> 1] + s[s.length >> 1]) / 2; };
console.log(`${N} fresh isolates per variant, medians, ${new Date().toISOString()}\n`);
console.log("| variant | first ms | second ms |\n|---|---:|---:|");
for (const [name, rs] of Object.entries(res)) console.log(`| ${name} | ${median(rs.map((r) => r[0])).toFixed(1)} | ${median(rs.map((r) => r[1])).toFixed(1)} |`);
