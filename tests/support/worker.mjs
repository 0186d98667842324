// Test/dev harness: runs the built edge-sts Worker in the real Workers runtime (workerd) through
// Miniflare, on 127.0.0.1. TEST-ONLY: the keys generated here are throwaway.
import { Miniflare } from "miniflare";
import { generateKeyPair, exportJWK } from "jose";
import { readFileSync, existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** Generates edge-sts signing keys as private JWKs (what `wrangler secret put` would hold). */
export async function generateSigningKey(alg, kid) {
  const opts = { extractable: true, ...(alg.startsWith("RS") || alg.startsWith("PS") ? { modulusLength: 2048 } : {}) };
  const { privateKey } = await generateKeyPair(alg, opts);
  const jwk = await exportJWK(privateKey);
  return { ...jwk, alg, kid };
}

/** A dev-mode configuration that trusts `issuer` (the oidc-provider stand-in). */
export function devConfig(issuerUrl, overrides = {}) {
  return {
    mode: "dev",
    issuer: "http://127.0.0.1:8787",
    trusted_issuers: [
      { issuer: issuerUrl, audiences: ["edge-sts"], subject_prefix: "", leeway_secs: 60 },
    ],
    jwks_cache: { unknown_kid_cooldown_secs: 1, min_max_age_secs: 300, fetch_timeout_ms: 1500, stale_if_error_secs: 3600 },
    signing_keys: [
      { secret: "SIGNING_KEY_ES256", status: "active" },
      { secret: "SIGNING_KEY_RS256", status: "active" },
    ],
    targets: {
      orders: {
        audience: "https://orders.example.test",
        scopes: ["orders:read", "orders:write"],
        default_scopes: ["orders:read"],
        lifetime_secs: 300,
        copy_claims: { tenant_id: "tenant_id", "realm_access.roles": "roles" },
        static_claims: { env: "test" },
      },
      billing: { audience: "https://billing.example.test", scopes: ["billing:read", "orders:read"], default_scopes: ["billing:read"] },
      entra: { audience: "api://AzureADTokenExchange", scopes: [], signing_alg: "RS256" },
    },
    clients: [
      { client: "orders-service", targets: ["orders", "billing"], default_target: "orders" },
      { client: "billing-*", targets: ["billing", "entra"] },
      { client: "eddsa-service", targets: ["orders"], default_target: "orders" },
    ],
    ...overrides,
  };
}

/**
 * Starts the Worker. `build` is "build" (release), "build-test" (with /__test routes) or
 * "build-downstream" (without the `clouds` feature).
 * Returns { url, mf, logs, dispatch(path, init), stop() }.
 */
export async function startWorker({ config, secrets = {}, build = "build-test", port = 0, kvPersist = false, extraVars = {}, playground = false } = {}) {
  const script = path.join(root, build, "index.js");
  const mode = { "build-test": " test", "build-downstream": " downstream" }[build] ?? "";
  if (!existsSync(script)) throw new Error(`${build}/index.js is missing: run scripts/build.sh${mode}`);
  const logs = [];
  const mf = new Miniflare({
    host: "127.0.0.1",
    port,
    modules: true,
    modulesRoot: path.join(root, build),
    scriptPath: script,
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }],
    compatibilityDate: "2025-09-01",
    cf: false,
    kvNamespaces: ["JWKS_CACHE"],
    kvPersist,
    // Workers static assets: the playground (www/dist), as wrangler.toml's [assets] deploys it.
    ...(playground ? { assets: { directory: path.join(root, "www/dist"), routerConfig: { has_user_worker: true } } } : {}),
    bindings: { EDGE_STS_CONFIG: typeof config === "string" ? config : JSON.stringify(config), ...secrets, ...extraVars },
    handleRuntimeStdio(stdout, stderr) {
      for (const s of [stdout, stderr]) s.on("data", (d) => { for (const l of String(d).split("\n")) if (l.trim()) logs.push(l); });
    },
  });
  const url = (await mf.ready).toString().replace(/\/$/, "");
  return {
    url,
    mf,
    logs,
    async stop() { await mf.dispose(); },
  };
}

/**
 * Waits for the Worker's JSON log line with `reason` (the log is written after the answer) and
 * returns it parsed; fails after about a second without one.
 */
export async function loggedReason(worker, reason) {
  for (let i = 0; i < 50; i++) {
    const hit = worker.logs.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l)).find((j) => j.reason === reason);
    if (hit) return hit;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no log line with reason ${reason}: ${worker.logs.join("\n")}`);
}

export const GRANT = "urn:ietf:params:oauth:grant-type:token-exchange";
export const ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token";

/** POST /token with form parameters (arrays repeat the parameter). */
export async function exchange(url, params, { headers = {} } = {}) {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries({ grant_type: GRANT, subject_token_type: ACCESS_TOKEN, ...params })) {
    if (v === undefined) continue;
    for (const x of Array.isArray(v) ? v : [v]) body.append(k, x);
  }
  const res = await fetch(`${url}/token`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", ...headers }, body });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = { raw: text }; }
  return { status: res.status, headers: res.headers, json, text };
}

/** A TCP port free on 127.0.0.1 right now, for a Worker whose `issuer` must name its own URL
 *  before it starts (the fakes fetch discovery from it). */
export async function freePort() {
  const net = await import("node:net");
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts the Worker with `issuer` set to its own URL (`http://127.0.0.1:<free port><path>`), so
 * that a cloud fake can fetch its discovery document and keys as the real cloud would. Returns
 * startWorker's object plus `issuer`.
 */
export async function startWorkerAsIssuer({ config, path: issuerPath = "", ...opts }) {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const issuer = `http://127.0.0.1:${port}${issuerPath}`;
    try {
      const w = await startWorker({ ...opts, config: { ...config, issuer }, port });
      return { ...w, issuer };
    } catch (e) {
      // The port was taken between freePort() and Miniflare binding it: try another.
      if (attempt >= 3 || !/EADDRINUSE|address already in use/i.test(String(e?.message ?? e))) throw e;
    }
  }
}
