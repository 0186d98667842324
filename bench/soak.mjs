// Soak: 60 s at 64 connections on POST /token with a mix of valid (repeated and fresh) and
// invalid tokens (garbage, bad signature, expired, unknown kid, wrong audience) against edge-sts
// in workerd and the oidc-provider Keycloak stand-in. Asserts no 5xx and reports workerd's
// resident memory over time.   node bench/soak.mjs [--seconds 60] [--connections 64]
import { execSync } from "node:child_process";
import { readFileSync } from "node:fs";
import autocannon from "autocannon";
import { startIssuer } from "../tests/support/issuer.mjs";
import { startWorker, devConfig, generateSigningKey } from "../tests/support/worker.mjs";
import { arg } from "../tests/support/measure.mjs";

const SECONDS = arg("seconds", 60), CONNECTIONS = arg("connections", 64);
const iss = await startIssuer();
const before = new Set(execSync("pgrep -x workerd || true").toString().split("\n").filter(Boolean));
const w = await startWorker({ build: "build", config: { ...devConfig(iss.url), log_requests: "errors" }, secrets: {
  SIGNING_KEY_ES256: JSON.stringify(await generateSigningKey("ES256", "soak-es")),
  SIGNING_KEY_RS256: JSON.stringify(await generateSigningKey("RS256", "soak-rs")),
} });
const pids = execSync("pgrep -x workerd || true").toString().split("\n").filter((p) => p && !before.has(p));
const rss = () => pids.reduce((a, p) => { try { return a + Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, "utf8"))[1]); } catch { return a; } }, 0);

const form = (t, extra = {}) => new URLSearchParams({ grant_type: "urn:ietf:params:oauth:grant-type:token-exchange", subject_token_type: "urn:ietf:params:oauth:token-type:access_token", subject_token: t, ...extra }).toString();
const now = () => Math.floor(Date.now() / 1000);
const valid = [];
for (let i = 0; i < 32; i++) valid.push(form(await iss.getToken(i % 2 ? "orders-service" : "eddsa-service")));
const fresh = [];
for (let i = 0; i < 2000; i++) fresh.push(form(await iss.sign({ ...iss.keyclaims("orders-service"), jti: `soak-${i}` }, { alg: i % 2 ? "RS256" : "ES256" })));
const good = await iss.getToken("orders-service");
const [h, p, s] = good.split(".");
const invalid = [
  form("garbage"), form(`${h}.${p}.${s.slice(0, -4)}AAAA`), form(await iss.sign({ ...iss.keyclaims("orders-service"), exp: now() - 600, iat: now() - 900 })),
  form(await iss.sign(iss.keyclaims("orders-service"), { kid: "soak-unknown" })), form(await iss.sign({ ...iss.keyclaims("orders-service"), aud: "x" })),
  form(good, { audience: "nope" }), form(good, { scope: "admin" }), "grant_type=password",
];
let i = 0;
const pick = () => { const r = i++ % 10; return r < 5 ? valid[i % valid.length] : r < 7 ? fresh[i % fresh.length] : invalid[i % invalid.length]; };
const samples = [rss()];
const timer = setInterval(() => samples.push(rss()), 5000);
const statuses = {};
const inst = autocannon({ url: `${w.url}/token`, connections: CONNECTIONS, duration: SECONDS, method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, requests: [{ setupRequest: (req) => ({ ...req, body: pick() }) }] });
inst.on("response", (_c, code) => { statuses[code] = (statuses[code] ?? 0) + 1; });
const r = await inst;
clearInterval(timer);
samples.push(rss());
const bad = w.logs.filter((l) => /"status":5\d\d|panicked|Uncaught|Cannot perform I\/O/.test(l));
if (bad.length) console.error(bad.slice(0, 8).join("\n"));
await w.stop(); await iss.close();
const fivexx = Object.entries(statuses).filter(([c]) => c >= 500).reduce((a, [, n]) => a + n, 0);
console.log(JSON.stringify({ seconds: SECONDS, connections: CONNECTIONS, requests: r.requests.total, rps: Math.round(r.requests.average), statuses, errors: r.errors, rss_kib: { start: samples[0], max: Math.max(...samples), end: samples.at(-1), samples } }, null, 1));
if (fivexx || r.errors) { console.error(`FAIL: ${fivexx} 5xx, ${r.errors} errors`); process.exit(1); }
