// AWS cloud target end to end: edge-sts (workerd) mints a web identity token with its own key,
// calls AssumeRoleWithWebIdentity on a real STS emulator (moto) through a recording proxy, and
// answers with AWS credentials. Checks what was sent, the credential cache, credential_process,
// recorded AWS errors. The proxy in front of moto verifies the token as AWS does, through
// edge-sts's own discovery and JWKS, against the IAM OIDC providers configured here (`providers`):
// each Worker runs at its issuer URL. (The config lints are in the core's table,
// core/src/config/tests.rs.)
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, test } from "node:test";
import { createLocalJWKSet, jwtVerify } from "jose";
import { startIssuer } from "../support/issuer.mjs";
import { startAwsSts } from "../support/aws.mjs";
import { startWorkerAsIssuer, devConfig, generateSigningKey, exchange, loggedReason } from "../support/worker.mjs";

const ROLE = "arn:aws:iam::123456789012:role/edge-sts-orders";
const ROLE_HASHED = "arn:aws:iam::123456789012:role/edge-sts-hashed";
const CLIENT_IDS = ["sts.amazonaws.com", "sts-hashed.amazonaws.com"];
let iss, sts, w, secrets;
// The account's IAM OIDC identity providers: one per edge-sts issuer the tests start.
const providers = [];

/** A Worker at its own issuer URL, registered with AWS as an OIDC provider (unless `trusted: false`). */
async function startTrustedWorker(cfg, { path = "", trusted = true } = {}) {
  const worker = await startWorkerAsIssuer({ config: cfg, secrets, path });
  if (trusted) providers.push({ url: worker.issuer, clientIds: CLIENT_IDS });
  return worker;
}

// Two AWS targets: `aws-orders` names the session after the client id as it is ("client_id",
// the default: exact client ids only), `aws-hashed` uses "hashed" (any rule, globs included).
function config(overrides = {}) {
  const c = devConfig(iss.url);
  c.targets["aws-orders"] = { audience: "sts.amazonaws.com", scopes: [], lifetime_secs: 300, aws: { role_arn: ROLE, endpoint: sts.endpoint, duration_secs: 3600 }, ...overrides };
  // A role of its own: one role's brokered targets share one way of naming sessions.
  c.targets["aws-hashed"] = { audience: "sts-hashed.amazonaws.com", scopes: [], aws: { role_arn: ROLE_HASHED, endpoint: sts.endpoint, session_name: "hashed" } };
  for (const client of c.clients) {
    if (!client.client.includes("*")) client.targets.push("aws-orders");
    client.targets.push("aws-hashed");
  }
  return c;
}

/** The "hashed" RoleSessionName: readable client id, "-", 16 hex of SHA-256(issuer, 0xFF, client id). */
function hashedSessionName(issuer, clientId) {
  const h = createHash("sha256").update(Buffer.concat([Buffer.from(issuer), Buffer.from([0xff]), Buffer.from(clientId)])).digest("hex").slice(0, 16);
  return `${clientId.replace(/[^\w+=,.@-]/g, "-").slice(0, 47)}-${h}`;
}

before(async () => {
  iss = await startIssuer();
  sts = await startAwsSts({ providers });
  secrets = { SIGNING_KEY_ES256: JSON.stringify(await generateSigningKey("ES256", "aws-es")), SIGNING_KEY_RS256: JSON.stringify(await generateSigningKey("RS256", "aws-rs")) };
  w = await startTrustedWorker(config());
});
after(async () => { await w?.stop(); await sts?.close(); await iss?.close(); });

test("exchange -> AssumeRoleWithWebIdentity -> AWS credentials in the /token JSON", async () => {
  const res = await exchange(w.url, { subject_token: await iss.getToken("orders-service"), audience: "aws-orders" });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.token_type, "N_A");
  assert.match(res.json.aws_access_key_id, /^[A-Z0-9]{16,}$/);
  assert.ok(res.json.aws_secret_access_key.length >= 20);
  assert.equal(res.json.access_token, res.json.aws_session_token);
  assert.ok(res.json.expires_in > 3000 && res.json.expires_in <= 3600, String(res.json.expires_in));
  assert.match(res.json.aws_expiration, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

  assert.equal(sts.requests.length, 1);
  const sent = sts.requests[0];
  assert.equal(sent.method, "POST");
  assert.match(sent.headers["content-type"], /application\/x-www-form-urlencoded/);
  assert.equal(sent.headers.authorization, undefined, "unsigned Query API: no AWS credentials sent");
  assert.equal(sent.form.Action, "AssumeRoleWithWebIdentity");
  assert.equal(sent.form.Version, "2011-06-15");
  assert.equal(sent.form.RoleArn, ROLE);
  assert.equal(sent.form.RoleSessionName, "orders-service");
  assert.equal(res.json.aws_assumed_role_arn, "arn:aws:sts::123456789012:assumed-role/edge-sts-orders/orders-service", "moto names the session");
  assert.equal(sent.form.DurationSeconds, "3600");
  // The web identity token is edge-sts's own, verifiable against its published JWKS.
  const jwks = createLocalJWKSet(await (await fetch(`${w.url}/.well-known/jwks.json`)).json());
  const { payload, protectedHeader } = await jwtVerify(sent.form.WebIdentityToken, jwks, { issuer: w.issuer, audience: "sts.amazonaws.com" });
  assert.equal(sent.refused, undefined, "the proxy verified the token through edge-sts's discovery");
  assert.equal(payload.sub, "orders-service");
  assert.equal(protectedHeader.alg, "ES256");
  assert.equal(protectedHeader.typ, "JWT", "a cloud assertion is an RFC 7523 JWT, not an at+jwt access token");
  assert.ok(!res.text.includes(sent.form.WebIdentityToken), "the web identity token is not handed to the caller");
});

test("session_name \"hashed\": the session carries the realm and a hash, for glob-matched clients too", async () => {
  const res = await exchange(w.url, { subject_token: await iss.getToken("billing-service"), audience: "aws-hashed" });
  assert.equal(res.status, 200, res.text);
  const sent = sts.requests.at(-1);
  const want = hashedSessionName(iss.url, "billing-service");
  assert.match(want, /^billing-service-[0-9a-f]{16}$/);
  assert.equal(sent.form.RoleSessionName, want);
  assert.equal(res.json.aws_assumed_role_arn, `arn:aws:sts::123456789012:assumed-role/edge-sts-hashed/${want}`, "moto names the session");
});

test("credentials are reused per (issuer, target, assertion claim set): a burst makes one STS call", async () => {
  const before = sts.requests.length;
  const t = await iss.getToken("orders-service");
  const all = await Promise.all(Array.from({ length: 5 }, () => exchange(w.url, { subject_token: t, audience: "aws-orders" })));
  for (const r of all) assert.equal(r.status, 200);
  assert.equal(sts.requests.length, before, "served from the credential cache");
});

test("a burst on a cold credential cache makes one STS call (single flight)", async () => {
  const w2 = await startTrustedWorker(config());
  try {
    const before = sts.requests.length;
    const t = await iss.getToken("orders-service");
    const all = await Promise.all(Array.from({ length: 8 }, () => exchange(w2.url, { subject_token: t, audience: "aws-orders" })));
    for (const r of all) assert.equal(r.status, 200, r.text);
    assert.equal(sts.requests.length, before + 1);
    assert.equal(new Set(all.map((r) => r.json.aws_access_key_id)).size, 1);
  } finally { await w2.stop(); }
});

test("credential_process output is exactly what the AWS CLI reads", async () => {
  const res = await exchange(w.url, { subject_token: await iss.getToken("orders-service"), audience: "aws-orders", requested_token_type: "urn:edge-sts:params:token-type:aws-credential-process" });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(Object.keys(res.json).sort(), ["AccessKeyId", "AccountId", "Expiration", "SecretAccessKey", "SessionToken", "Version"]);
  assert.equal(res.json.Version, 1);
  // botocore's ProcessProvider reads AccountId: the account of the assumed role's ARN.
  assert.match(res.json.AccountId, /^\d{12}$/);
});

test("a cloud target cannot share a request with another target", async () => {
  const res = await exchange(w.url, { subject_token: await iss.getToken("orders-service"), audience: ["aws-orders", "orders"] });
  assert.equal(res.status, 400);
  assert.equal(res.json.error, "invalid_target");
});

test("recorded AWS errors: cloud refusals are 502 server_error, throttling 503 with Retry-After", async () => {
  const cases = [
    // (billing-service's aws-hashed credentials are cached by an earlier test.)
    ["eddsa-service", "aws-hashed", 403, "access_denied.xml", 502, "server_error"],
    ["eddsa-service", "aws-orders", 400, "invalid_identity_token.xml", 502, "server_error"],
  ];
  for (const [client, audience, status, fixture, want, code] of cases) {
    sts.respondWith(status, fixture);
    const t = await iss.getToken(client);
    const res = await exchange(w.url, { subject_token: t, audience });
    assert.equal(res.status, want, `${fixture}: ${res.text}`);
    assert.equal(res.json.error, code);
    assert.ok(!res.text.includes(t.split(".")[2]));
  }
  sts.respondWith(400, "throttling.xml");
  const w2 = await startTrustedWorker(config());
  try {
    const res = await exchange(w2.url, { subject_token: await iss.getToken("orders-service"), audience: "aws-orders" });
    assert.equal(res.status, 503, res.text);
    assert.equal(res.json.error, "temporarily_unavailable");
    assert.ok(Number(res.headers.get("retry-after")) >= 1);
  } finally { sts.respondWith(null); await w2.stop(); }
});

test("AWS refuses a token whose audience is not among the provider's client ids: InvalidIdentityToken, 502", async () => {
  const cfg = config();
  cfg.targets["aws-other"] = { audience: "sts.other.example.test", scopes: [], aws: { role_arn: ROLE, endpoint: sts.endpoint } };
  cfg.clients.find((c) => c.client === "orders-service").targets.push("aws-other");
  const w2 = await startTrustedWorker(cfg);
  try {
    const t = await iss.getToken("orders-service");
    const res = await exchange(w2.url, { subject_token: t, audience: "aws-other" });
    assert.equal(res.status, 502, res.text);
    assert.equal(res.json.error, "server_error");
    assert.equal(sts.requests.at(-1).refused, "InvalidIdentityToken");
    assert.ok(!res.text.includes("Incorrect token audience"), "AWS's message is not passed through");
    await loggedReason(w2, "sts.aws.invalid_identity_token");
    // The same Worker's trusted audience still works: the refusal was the audience's.
    const ok = await exchange(w2.url, { subject_token: t, audience: "aws-orders" });
    assert.equal(ok.status, 200, ok.text);
  } finally { await w2.stop(); }
});

test("AWS refuses an issuer with no OIDC provider in the account: InvalidIdentityToken, 502", async () => {
  const w2 = await startTrustedWorker(config(), { trusted: false });
  try {
    const res = await exchange(w2.url, { subject_token: await iss.getToken("orders-service"), audience: "aws-orders" });
    assert.equal(res.status, 502, res.text);
    assert.equal(sts.requests.at(-1).refused, "InvalidIdentityToken");
    await loggedReason(w2, "sts.aws.invalid_identity_token");
  } finally { await w2.stop(); }
});

test("an issuer with a path: AWS fetches <issuer>/.well-known/openid-configuration under it and accepts the token", async () => {
  const w2 = await startTrustedWorker(config(), { path: "/tenant-a" });
  try {
    assert.match(w2.issuer, /\/tenant-a$/);
    const res = await exchange(`${w2.issuer}`, { subject_token: await iss.getToken("orders-service"), audience: "aws-orders" });
    assert.equal(res.status, 200, res.text);
    const sent = sts.requests.at(-1);
    assert.equal(sent.refused, undefined);
    const doc = await (await fetch(`${w2.issuer}/.well-known/openid-configuration`)).json();
    const { payload } = await jwtVerify(sent.form.WebIdentityToken, createLocalJWKSet(await (await fetch(doc.jwks_uri)).json()), { issuer: w2.issuer });
    assert.equal(payload.iss, w2.issuer);
  } finally { await w2.stop(); }
});
