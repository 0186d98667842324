// Generates a large edge-sts policy (default: 300 client rules, 60 targets, two trusted realms),
// deterministic, to measure what a policy past one Worker variable (5 KB) costs: load time, the
// first request, rule matching. core/tests/fixtures/big-300x60.json is its default output (the core's
// tests read it; tests/e2e/big-policy.test.mjs checks they still agree).
//
//   node bench/gen-policy.mjs [--clients 300] [--targets 60] [--issuer URL] [--trusted URL]... [--dev] > policy.json
//
// Client rule i is `app-NNN` (exact), except every 15th (i % 15 == 7), which is a glob
// `batch-K-*`; rules alternate between the trusted issuers; each rule may get 4 targets.
import { writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

export const DEFAULT_TRUSTED = ["https://keycloak.example.com/realms/prod", "https://keycloak.example.com/realms/partners"];

const pad = (n, w) => String(n).padStart(w, "0");
export const targetName = (j) => `svc-${pad(j, 2)}`;
/** The client id rule `i` is for (a glob for every 15th rule). */
export const clientOf = (i) => (i % 15 === 7 ? `batch-${pad(Math.floor(i / 15), 2)}-*` : `app-${pad(i, 3)}`);
/** The targets rule `i` may get (4 distinct ones; the first is its default). */
export const targetsOf = (i, n) => [0, 13, 26, 39].map((k) => targetName((i * 7 + k) % n));

export function genPolicy({ clients = 300, targets = 60, issuer = "https://sts.example.com", trusted = DEFAULT_TRUSTED, dev = false } = {}) {
  const t = {};
  for (let j = 0; j < targets; j++) {
    const name = targetName(j);
    t[name] = {
      audience: `https://${name}.example.com`,
      scopes: [`${name}:read`, `${name}:write`, `${name}:admin`],
      default_scopes: [`${name}:read`],
      lifetime_secs: 300 * (1 + (j % 4)),
      ...(j % 3 === 0 ? { copy_claims: { tenant_id: "tenant_id", "realm_access.roles": "roles" } } : {}),
      ...(j % 5 === 0 ? { static_claims: { env: "prod" } } : {}),
    };
  }
  const rules = [];
  for (let i = 0; i < clients; i++) {
    const ts = targetsOf(i, targets);
    rules.push({ client: clientOf(i), issuer: trusted[i % trusted.length], targets: ts, default_target: ts[0] });
  }
  return {
    ...(dev ? { mode: "dev" } : {}),
    issuer,
    log_requests: "errors",
    // Several realms: each needs its own subject prefix (`kc-prod:`, `kc-partners:`).
    trusted_issuers: trusted.map((url) => ({
      issuer: url, audiences: ["edge-sts"], ...(trusted.length > 1 ? { subject_prefix: `kc-${url.split("/").pop()}:` } : {}),
    })),
    signing_keys: [{ secret: "SIGNING_KEY_ES256_1", status: "active" }],
    targets: t,
    clients: rules,
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const opts = { trusted: [] };
  const args = process.argv.slice(2);
  for (let k = 0; k < args.length; k++) {
    const a = args[k];
    if (a === "--clients") opts.clients = Number(args[++k]);
    else if (a === "--targets") opts.targets = Number(args[++k]);
    else if (a === "--issuer") opts.issuer = args[++k];
    else if (a === "--trusted") opts.trusted.push(args[++k]);
    else if (a === "--dev") opts.dev = true;
    else { console.error(`unknown argument ${a}`); process.exit(2); }
  }
  if (!opts.trusted.length) delete opts.trusted;
  writeFileSync(1, JSON.stringify(genPolicy(opts), null, 1) + "\n");
}
