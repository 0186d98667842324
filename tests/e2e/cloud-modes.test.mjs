// Cloud target modes (brokered, assertion), several Entra targets on one assertion audience, and
// the Google external_account routes, end to end in workerd against the local cloud fakes.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { createLocalJWKSet, jwtVerify } from "jose";
import { startIssuer } from "../support/issuer.mjs";
import { startGoogleFake, startEntraFake } from "../support/clouds.mjs";
import { startWorkerAsIssuer, devConfig, generateSigningKey, exchange } from "../support/worker.mjs";

const WIF = "projects/123456789/locations/global/workloadIdentityPools/edge-sts/providers/edge-sts-oidc";
const GCP_AUD = `https://iam.googleapis.com/${WIF}`;
const SA = "orders@example-proj.iam.gserviceaccount.com";
const TENANT = "11111111-2222-3333-4444-555555555555";
const GRAPH_APP = "66666666-7777-8888-9999-000000000000", VAULT_APP = "77777777-8888-9999-0000-111111111111";
const CP = "https://www.googleapis.com/auth/cloud-platform";
const ENTRA_AUD = "api://AzureADTokenExchange";
const JWT = "urn:ietf:params:oauth:token-type:jwt";
const ROLE = "arn:aws:iam::123456789012:role/edge-sts-orders";
let iss, google, entra, w;

function config() {
  const c = devConfig(iss.url);
  const entraTarget = (client_id, resource, extra = {}) => ({ audience: ENTRA_AUD, scopes: [], signing_alg: "RS256",
    azure: { tenant: TENANT, client_id, resource, authority_host: entra.authorityHost, ...extra } });
  const gcpTarget = (extra = {}) => ({ audience: GCP_AUD, scopes: [CP], default_scopes: [CP],
    gcp: { workload_identity_provider: WIF, service_account: SA, sts_url: google.stsUrl, iam_credentials_url: google.iamUrl, ...extra } });
  delete c.targets.entra; // devConfig's plain JWT target on Entra's audience: a downstream audience is its own
  Object.assign(c.targets, {
    // Two Entra apps, one for Graph and one for Key Vault: one assertion audience, requested by name.
    "entra-graph": entraTarget(GRAPH_APP, "https://graph.microsoft.com"),
    "entra-vault": entraTarget(VAULT_APP, "https://vault.azure.net"),
    // Assertion mode, one target per cloud.
    "entra-file": entraTarget(VAULT_APP, "https://vault.azure.net", { mode: "assertion", assertion_lifetime_secs: 1800 }),
    "gcp-brokered": gcpTarget(),
    "gcp-exec": gcpTarget({ mode: "assertion" }),
    "aws-file": { audience: "sts.amazonaws.com", scopes: [], aws: { role_arn: ROLE, mode: "assertion", assertion_lifetime_secs: 900 } },
    // An assertion past the 20,000 characters AWS takes as a WebIdentityToken.
    "aws-file-big": { audience: "sts.amazonaws.com", scopes: [], static_claims: { blob: "x".repeat(15_000) },
      aws: { role_arn: ROLE, mode: "assertion" } },
  });
  // Brokered targets for one client, assertion-mode ones for another: one client granted both on
  // one cloud trust (an AWS audience, a Google pool, Entra) could take the assertion to the cloud
  // past what the brokered target enforces, and such a configuration does not load (last test).
  c.clients = [
    { client: "orders-service", targets: ["orders", "entra-graph", "entra-vault", "gcp-brokered"] },
    { client: "billing-service", targets: ["entra-file", "gcp-exec", "aws-file", "aws-file-big"] },
  ];
  return c;
}

before(async () => {
  iss = await startIssuer();
  google = await startGoogleFake();
  entra = await startEntraFake();
  const secrets = { SIGNING_KEY_ES256: JSON.stringify(await generateSigningKey("ES256", "m-es")), SIGNING_KEY_RS256: JSON.stringify(await generateSigningKey("RS256", "m-rs")) };
  w = await startWorkerAsIssuer({ config: config(), secrets });
});
after(async () => { await w?.stop(); google?.close(); entra?.close(); await iss?.close(); });

const jwks = async () => createLocalJWKSet(await (await fetch(`${w.url}/.well-known/jwks.json`)).json());
const token = () => iss.getToken("orders-service");
/** The token of the client granted the assertion-mode targets. */
const held = () => iss.getToken("billing-service");

/** The Worker's JSON log lines (written after the answer, so wait for `pred` to hold). */
async function logLine(pred, worker = w) {
  for (let i = 0; i < 50; i++) {
    const hit = worker.logs.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l)).find(pred);
    if (hit) return hit;
    await sleep(20);
  }
  assert.fail("no such log line");
}

test("two Entra targets on one assertion audience: each exchanged by name, with its own app and resource", async () => {
  const seen = entra.requests.length;
  for (const [name, app, scope] of [["entra-graph", GRAPH_APP, "https://graph.microsoft.com/.default"], ["entra-vault", VAULT_APP, "https://vault.azure.net/.default"]]) {
    const res = await exchange(w.url, { subject_token: await token(), audience: name });
    assert.equal(res.status, 200, `${name}: ${res.text}`);
    assert.equal(res.json.token_type, "Bearer");
    const sent = Object.fromEntries(new URLSearchParams(entra.requests.at(-1).body));
    assert.equal(sent.client_id, app, name);
    assert.equal(sent.scope, scope, name);
    const { payload, protectedHeader } = await jwtVerify(sent.client_assertion, await jwks(), { audience: ENTRA_AUD, algorithms: ["RS256"] });
    assert.equal(protectedHeader.typ, "JWT");
    assert.equal(payload.sub, "orders-service");
  }
  assert.equal(entra.requests.length, seen + 2, "one Entra call per target");
});

test("a resource URI that several targets share is refused as ambiguous", async () => {
  const seen = entra.requests.length;
  const res = await exchange(w.url, { subject_token: await token(), resource: ENTRA_AUD });
  assert.equal(res.status, 400, res.text);
  assert.equal(res.json.error, "invalid_target");
  assert.match(res.json.error_description, /more than one target/);
  assert.equal(entra.requests.length, seen, "no cloud is called");
  await logLine((j) => j.reason === "policy.ambiguous_target" && j.status === 400);
  // A URI that names one target still works.
  const ok = await exchange(w.url, { subject_token: await token(), resource: "https://orders.example.test" });
  assert.equal(ok.status, 200, ok.text);
});

test("assertion mode: each cloud's target answers with a verifiable assertion and calls no cloud", async () => {
  const calls = () => google.requests.length + entra.requests.length;
  const before = calls();
  const keys = await jwks();
  const subject = await held();
  const subjectExp = JSON.parse(Buffer.from(subject.split(".")[1], "base64url")).exp;
  const cases = [
    // target, aud, lifetime (null: the usual rule, capped at the subject token), alg
    ["entra-file", ENTRA_AUD, 1800, "RS256"],
    ["gcp-exec", GCP_AUD, null, "ES256"],
    ["aws-file", "sts.amazonaws.com", 900, "ES256"],
  ];
  for (const [name, aud, lifetime, alg] of cases) {
    for (const requested of [undefined, JWT]) {
      const res = await exchange(w.url, { subject_token: subject, audience: name, requested_token_type: requested });
      assert.equal(res.status, 200, `${name}: ${res.text}`);
      assert.deepEqual(Object.keys(res.json).sort(), ["access_token", "expires_in", "issued_token_type", "token_type"], name);
      assert.equal(res.json.issued_token_type, JWT, name);
      assert.equal(res.json.token_type, "N_A", name);
      const { payload, protectedHeader } = await jwtVerify(res.json.access_token, keys, { audience: aud, issuer: w.issuer, algorithms: [alg] });
      assert.equal(protectedHeader.typ, "JWT", `${name}: an RFC 7523 assertion, not an at+jwt`);
      assert.ok(protectedHeader.kid, name);
      assert.equal(payload.sub, "billing-service", name);
      assert.ok(payload.jti, name);
      assert.equal(payload.exp - payload.iat, res.json.expires_in, name);
      if (lifetime) {
        assert.equal(res.json.expires_in, lifetime, name);
        assert.ok(payload.exp > subjectExp, `${name}: assertion_lifetime_secs may outlive the subject token`);
      } else {
        assert.ok(payload.exp <= subjectExp && res.json.expires_in <= 300, `${name}: the usual rule caps it at the subject token`);
      }
    }
    // It answers with the assertion only: cloud credentials are not on offer in this mode.
    for (const requested of ["urn:ietf:params:oauth:token-type:access_token", "urn:edge-sts:params:token-type:aws-credential-process"]) {
      const res = await exchange(w.url, { subject_token: subject, audience: name, requested_token_type: requested });
      assert.equal(res.status, 400, `${name} ${requested}: ${res.text}`);
      assert.equal(res.json.error, "invalid_request");
      assert.match(res.json.error_description, /assertion mode/);
    }
  }
  assert.equal(calls(), before, "assertion mode calls no cloud");
  // Brokered targets are unchanged: a Google access token, not an assertion.
  const brokered = await exchange(w.url, { subject_token: await token(), audience: "gcp-brokered" });
  assert.equal(brokered.status, 200, brokered.text);
  assert.equal(brokered.json.token_type, "Bearer");
  assert.match(brokered.json.access_token, /^ya29\./);
});

test("assertion mode, AWS: an assertion longer than AWS accepts is refused here, not handed to the SDK", async () => {
  const res = await exchange(w.url, { subject_token: await held(), audience: "aws-file-big" });
  assert.equal(res.status, 503, res.text);
  assert.equal(res.json.error, "server_error");
  assert.ok(!res.text.includes("xxxx"), "the assertion is not echoed");
  const line = await logLine((l) => l.reason === "sts.aws.config");
  assert.deepEqual(line.targets, []);
});

test("GET /gcp/subject-token: served for an assertion-mode Google target only", async () => {
  const auth = { authorization: `Bearer ${await held()}` };
  const ok = await fetch(`${w.url}/gcp/subject-token?target=gcp-exec`, { headers: auth });
  assert.equal(ok.status, 200);
  const body = await ok.json();
  assert.equal(body.issued_token_type, JWT);
  const { protectedHeader } = await jwtVerify(body.access_token, await jwks(), { audience: GCP_AUD });
  assert.equal(protectedHeader.typ, "JWT");
  const brokeredAuth = { authorization: `Bearer ${await token()}` };
  for (const [target, reason, headers] of [["gcp-brokered", "policy.target_mode", brokeredAuth], ["entra-file", "policy.target_mode", auth],
    ["orders", "policy.target_mode", brokeredAuth], ["nope", "policy.unknown_target", auth], ["gcp-exec", "policy.target_not_allowed", brokeredAuth]]) {
    for (const route of ["subject-token", "external-account"]) {
      const res = await fetch(`${w.url}/gcp/${route}?target=${target}`, { headers });
      assert.equal(res.status, 400, `${route} ${target}`);
      assert.equal((await res.json()).error, "invalid_target", `${route} ${target}`);
      await logLine((j) => j.route === `/gcp/${route}` && j.reason === reason);
    }
  }
  assert.equal((await fetch(`${w.url}/gcp/subject-token?target=gcp-exec`)).status, 400, "the caller's token is required");
});

test("GET /gcp/external-account: Google's executable source running the CLI's credential helper", async () => {
  const res = await fetch(`${w.url}/gcp/external-account?target=gcp-exec`, { headers: { authorization: `Bearer ${await held()}` } });
  assert.equal(res.status, 200);
  const ext = await res.json();
  assert.deepEqual(ext, {
    type: "external_account",
    audience: `//iam.googleapis.com/${WIF}`,
    subject_token_type: JWT,
    token_url: google.stsUrl,
    credential_source: { executable: { command: `edge-sts credentials gcp --target gcp-exec --edge-sts ${w.issuer}`, timeout_millis: 30000 } },
    service_account_impersonation_url: `${google.iamUrl}/v1/projects/-/serviceAccounts/${SA}:generateAccessToken`,
    service_account_impersonation: { token_lifetime_seconds: 3600 },
  });
  // google-auth splits the command on whitespace, without quoting, and bounds the timeout.
  assert.deepEqual(ext.credential_source.executable.command.split(/\s+/).slice(0, 3), ["edge-sts", "credentials", "gcp"]);
  assert.ok(ext.credential_source.executable.timeout_millis >= 5000 && ext.credential_source.executable.timeout_millis <= 120000);
});

test("an Entra refusal logs the cloud's own code and status, never its message", async () => {
  // A Worker of its own: the first test's Entra credentials are cached in `w`.
  const w2 = await startWorkerAsIssuer({ config: config(), secrets: { SIGNING_KEY_ES256: JSON.stringify(await generateSigningKey("ES256", "x")), SIGNING_KEY_RS256: JSON.stringify(await generateSigningKey("RS256", "y")) } });
  entra.respondWith(401, { error: "invalid_client", error_codes: [7002131],
    error_description: "AADSTS7002131: No matching federated identity record found for presented assertion subject 'orders-service' or no federated identity credential expression matches. Trace ID: 1" });
  try {
    const res = await exchange(w2.url, { subject_token: await token(), audience: "entra-vault" });
    assert.equal(res.status, 502, res.text);
    assert.equal(res.json.error, "server_error");
    assert.ok(!res.text.includes("No matching"), "the cloud's message is not passed on");
    const line = await logLine((j) => j.reason === "sts.azure.expression_mismatch", w2);
    assert.equal(line.cloud_code, "AADSTS7002131");
    assert.equal(line.cloud_status, 401);
    assert.ok(!JSON.stringify(line).includes("No matching"), "nor logged");
  } finally { entra.respondWith(null); await w2.stop(); }
  // A refusal that is not the cloud's carries no cloud fields.
  const line = await logLine((j) => j.reason === "policy.ambiguous_target");
  assert.ok(!("cloud_code" in line) && !("cloud_status" in line));
});

test("a configuration where a downstream target shares a cloud target's audience is refused", async () => {
  const c = config();
  c.targets.plain = { audience: ENTRA_AUD, scopes: [] };
  const w2 = await startWorkerAsIssuer({ config: c, secrets: { SIGNING_KEY_ES256: JSON.stringify(await generateSigningKey("ES256", "x")), SIGNING_KEY_RS256: JSON.stringify(await generateSigningKey("RS256", "y")) } });
  try {
    const h = await fetch(`${w2.url}/healthz`);
    assert.equal(h.status, 503);
    const j = await h.json();
    assert.equal(j.field, "targets.plain.audience");
    assert.match(j.problem, /same audience as target `entra-/);
  } finally { await w2.stop(); }
});

test("one client granted a brokered and an assertion-mode target on one cloud trust: the configuration does not load", async () => {
  const secrets = { SIGNING_KEY_ES256: JSON.stringify(await generateSigningKey("ES256", "x")), SIGNING_KEY_RS256: JSON.stringify(await generateSigningKey("RS256", "y")) };
  // Entra: every assertion has one audience, and a federated credential tells one client's
  // assertions apart by subject only, so the brokered Graph app would accept `entra-file`'s.
  const c = config();
  c.clients = [{ client: "orders-service", targets: ["orders", "entra-graph", "entra-file"] }];
  const w2 = await startWorkerAsIssuer({ config: c, secrets });
  try {
    const seen = entra.requests.length;
    for (const audience of ["entra-file", "entra-graph", "orders"]) {
      const res = await exchange(w2.url, { subject_token: await token(), audience });
      assert.equal(res.status, 503, `${audience}: ${res.text}`);
      assert.equal(res.json.error, "server_error");
    }
    assert.equal(entra.requests.length, seen, "no cloud is called");
    await logLine((j) => j.reason === "config.invalid" && j.status === 503, w2);
    const h = await fetch(`${w2.url}/healthz`);
    assert.equal(h.status, 503);
    const j = await h.json();
    assert.equal(j.field, "clients[0].targets");
    assert.match(j.problem, /brokered target `entra-graph` and assertion-mode target `entra-file` on one Entra audience/);
    assert.match(j.fix, /not both/);
  } finally { await w2.stop(); }
  // AWS: one audience for a brokered and an assertion-mode target; Google: one pool.
  for (const [targets, problem] of [[["aws-brokered", "aws-file"], /on one AWS audience `sts.amazonaws.com`/], [["gcp-brokered", "gcp-exec"], /on one Google workload identity pool/]]) {
    const c2 = config();
    c2.targets["aws-brokered"] = { audience: "sts.amazonaws.com", scopes: [], aws: { role_arn: ROLE, session_policy: { Version: "2012-10-17", Statement: [] } } };
    c2.clients = [{ client: "orders-service", targets }];
    const w3 = await startWorkerAsIssuer({ config: c2, secrets });
    try {
      assert.equal((await exchange(w3.url, { subject_token: await token(), audience: targets[0] })).status, 503);
      const j = await (await fetch(`${w3.url}/healthz`)).json();
      assert.equal(j.field, "clients[0].targets");
      assert.match(j.problem, problem);
    } finally { await w3.stop(); }
  }
});
