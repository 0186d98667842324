// Shared by bench/run.mjs (load benchmark) and bench/profile.mjs (CPU profile inside workerd):
// a static issuer (discovery + JWKS, TEST-ONLY keys), Keycloak-shaped subject tokens, the
// edge-sts configuration and Miniflare options the benchmark uses, and the autocannon driver.
import http from "node:http";
import { execSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { generateKeyPair, exportJWK, SignJWT } from "jose";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const FORM = { "content-type": "application/x-www-form-urlencoded" };

/** A static issuer on 127.0.0.1: discovery + JWKS with one RS256 and one ES256 key. */
export async function startBenchIssuer() {
  const rsa = await generateKeyPair("RS256", { extractable: true, modulusLength: 2048 });
  const ec = await generateKeyPair("ES256", { extractable: true });
  let certsHits = 0;
  const jwks = { keys: [{ ...(await exportJWK(rsa.publicKey)), kid: "kc-rsa", alg: "RS256", use: "sig" }, { ...(await exportJWK(ec.publicKey)), kid: "kc-ec", alg: "ES256", use: "sig" }] };
  const srv = http.createServer((req, res) => {
    const base = `http://127.0.0.1:${srv.address().port}/realms/bench`;
    res.setHeader("content-type", "application/json");
    if (req.url.endsWith("/.well-known/openid-configuration")) return res.end(JSON.stringify({ issuer: base, jwks_uri: `${base}/protocol/openid-connect/certs` }));
    if (req.url.endsWith("/certs")) { certsHits++; return res.end(JSON.stringify(jwks)); }
    res.statusCode = 404; res.end("{}");
  });
  await new Promise((r) => srv.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${srv.address().port}/realms/bench`;
  const now = Math.floor(Date.now() / 1000);
  /** The i-th subject token (client `svc-${i % 64}`, subject `user-${i}`, its own jti). */
  const token = (alg, i) => {
    const client = `svc-${i % 64}`;
    return new SignJWT({ typ: "Bearer", azp: client, client_id: client, scope: "profile", tenant_id: "acme", realm_access: { roles: ["orders-reader", "offline_access"] }, preferred_username: `service-account-${client}` })
      .setProtectedHeader({ alg, kid: alg === "RS256" ? "kc-rsa" : "kc-ec", typ: "JWT" })
      .setIssuer(url).setAudience(["account", "edge-sts"]).setSubject(`user-${i}`).setIssuedAt(now).setExpirationTime(now + 3000).setJti(`jti-${alg}-${i}`)
      .sign(alg === "RS256" ? rsa.privateKey : ec.privateKey);
  };
  // certsHits: JWKS fetches so far (a fresh isolate must make exactly one on its first /token).
  return { url, jwksUri: `${url}/protocol/openid-connect/certs`, token, certsHits: () => certsHits, close: () => srv.close() };
}

/** The POST /token form body for a subject token. */
export const body = (t) => new URLSearchParams({ grant_type: "urn:ietf:params:oauth:grant-type:token-exchange", subject_token_type: "urn:ietf:params:oauth:token-type:access_token", subject_token: t, audience: "orders" }).toString();

/** `count` form bodies for `alg`, subject tokens `from` .. `from + count - 1` (each its own jti). */
export async function bodies(issuer, alg, from, count) {
  const out = [];
  for (let i = from; i < from + count; i++) out.push(body(await issuer.token(alg, i)));
  return out;
}

/**
 * The workload sets for `alg`: `repeated ${alg}` (64 tokens: 64 clients, each reusing its token)
 * and `distinct ${alg}` (n further tokens, none of them in the repeated set).
 */
export async function tokenSets(issuer, alg, n) {
  return { [`repeated ${alg}`]: await bodies(issuer, alg, 0, 64), [`distinct ${alg}`]: await bodies(issuer, alg, 64, n) };
}

/** edge-sts's signing key for the benchmark (ES256, TEST-ONLY), as a private JWK. */
export async function benchSigningKey() {
  return { ...(await exportJWK((await generateKeyPair("ES256", { extractable: true })).privateKey)), alg: "ES256", kid: "bench-es" };
}

/** The edge-sts configuration the benchmark runs (dev mode, one trusted issuer, one target). */
export const edgeConfig = (issuer) => ({
  mode: "dev", issuer: "http://127.0.0.1:8787",
  // The jose worker is given the JWKS URL, so edge-sts gets it too (no discovery round trip).
  trusted_issuers: [{ issuer: issuer.url, jwks_uri: issuer.jwksUri, audiences: ["edge-sts"], max_token_lifetime_secs: 3600 }],
  signing_keys: [{ secret: "SIGNING_KEY", status: "active" }],
  targets: { orders: { audience: "https://orders.example.test", scopes: ["orders:read"], default_scopes: ["orders:read"], copy_claims: { tenant_id: "tenant_id" } } },
  clients: [{ client: "svc-*", targets: ["orders"], default_target: "orders" }],
});

/** Miniflare options shared by every benchmarked worker. */
export const common = { handleRuntimeStdio: (o, e) => { o.resume(); e.resume(); }, host: "127.0.0.1", port: 0, modules: true, cf: false, compatibilityDate: "2025-09-01", modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }] };

/** Miniflare options for edge-sts built into `dir` (build/, build-profile/), `extra` merged in. */
export function edgeStsWorker({ dir = "build", issuer, signing, config = {}, extra = {} }) {
  return {
    ...common, scriptPath: path.join(root, dir, "index.js"), modulesRoot: path.join(root, dir), kvNamespaces: ["JWKS_CACHE"],
    bindings: { EDGE_STS_CONFIG: JSON.stringify({ ...edgeConfig(issuer), ...config }), SIGNING_KEY: JSON.stringify(signing) },
    ...extra,
  };
}

/**
 * Starts Miniflare's KV emulator for each of `def`'s KV namespaces by reading an unrelated key through
 * Miniflare's own API (its proxy Worker, not the Worker under test, whose isolate stays fresh). The
 * emulator is a service of its own inside workerd, started and given its storage on first use: a
 * JS Worker whose first request makes one `KV.get` answers in about 11 ms on a fresh Miniflare and
 * in about 5 ms once the emulator has run (`node bench/first-request.mjs parts`, its "emulator
 * cold" variants against the others). Cloudflare's KV is not started by a Worker's first read, so
 * the first-request figures start the emulator first and time only the Worker's own read (a miss).
 */
export async function warmKvEmulator(mf, def) {
  for (const ns of def.kvNamespaces ?? []) await (await mf.getKVNamespace(ns)).get("bench-kv-emulator-warm-up");
}

/** This process's own workerd children (other workerd processes on the machine are not ours). */
export const workerdPids = () => new Set(execSync(`pgrep -x -P ${process.pid} workerd || true`).toString().split("\n").filter(Boolean).map(Number));
/** CPU ns of thread `tid` of `pid` (schedstat: ns on CPU; /proc/stat's jiffies are 10 ms coarse); `tid = pid` is
 * the main thread, where workerd runs its isolates and event loop. 0 once the thread is gone. */
export const threadCpuNs = (pid, tid = pid) => { try { return Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]); } catch { return 0; } };
export const cpuSecs = (pid) => { const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" "); return (Number(f[11]) + Number(f[12])) / 100; };

/**
 * Drives POST `url` with autocannon for `seconds` (or `amount` requests), cycling through `bodies`.
 * With `once`, every body is sent at most once: the run fails if it would need more bodies than
 * it was given (a repeated token would hit the verified-token cache). Resolves to autocannon's
 * result plus `sent`, the number of request bodies handed out.
 */
export async function drive(url, bodies, { connections, seconds, amount, once = false }) {
  let i = 0;
  const r = await autocannon({
    url, connections, ...(amount ? { amount } : { duration: seconds }), method: "POST", headers: FORM,
    requests: [{ setupRequest: (req) => ({ ...req, body: bodies[i++ % bodies.length] }) }],
  });
  if (once && i > bodies.length) throw new Error(`${i} requests but only ${bodies.length} distinct tokens: some would repeat (raise the token pool)`);
  return { ...r, sent: i };
}
