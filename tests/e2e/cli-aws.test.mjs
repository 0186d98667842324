// The credential helper judged by the real AWS SDK, against the real Worker (Miniflare, at its
// issuer URL), the oidc-provider issuer and moto behind the verifying proxy (tests/support/aws.mjs:
// it checks every web identity token through edge-sts's discovery and JWKS, as AWS does, against
// the account's one OIDC provider for edge-sts's issuer, client ids sts.amazonaws.com for the
// brokered target and edge-sts-orders-federated for the assertion-mode one).
// - Brokered: boto3 (botocore) with a profile whose `credential_process` is the built CLI
//   (`edge-sts credentials aws`). The helper gets a client_credentials token from the issuer
//   (client secret in a 0600 file, or private_key_jwt), exchanges it at the Worker, which calls
//   AssumeRoleWithWebIdentity at the proxy; boto3 then signs GetCallerIdentity with those
//   credentials (the proxy passes the SDK's own signature to moto, which names the caller by it).
// - Assertion: `edge-sts credentials token-file` writes an assertion-mode target's assertion to
//   a file, and boto3 assumes the role with it itself (AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN,
//   AWS_ROLE_SESSION_NAME, or the same in a profile), its STS client pointed at the proxy by
//   AWS_ENDPOINT_URL_STS: a wrong audience or an untrusted issuer is refused there, in AWS's words.
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";
import { createLocalJWKSet, jwtVerify } from "jose";
import { startIssuer } from "../support/issuer.mjs";
import { startAwsSts } from "../support/aws.mjs";
import { startWorkerAsIssuer, devConfig, generateSigningKey } from "../support/worker.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const CLI = path.join(root, "target/debug/edge-sts");
const PYTHON = path.join(root, ".venv-moto/bin/python");
const ROLE = "arn:aws:iam::123456789012:role/edge-sts-orders";
const FEDERATED_AUD = "edge-sts-orders-federated";
// The account's IAM OIDC providers (the proxy reads this array at each call): edge-sts's issuer
// is added once the Worker runs at it.
const providers = [];
let iss, sts, w, dir;

const run = promisify(execFile);

function config() {
  const c = devConfig(iss.url);
  c.targets["aws-orders"] = { audience: "sts.amazonaws.com", scopes: [], aws: { role_arn: ROLE, endpoint: sts.endpoint, duration_secs: 3600 } };
  // Assertion mode: the SDK calls STS itself (no endpoint here). Its audience is a client id of
  // its own (one client may not hold an assertion for a brokered target's audience); the second
  // target's audience is not among the provider's client ids.
  c.targets["aws-file"] = { audience: FEDERATED_AUD, scopes: [], aws: { role_arn: ROLE, mode: "assertion", assertion_lifetime_secs: 900 } };
  c.targets["aws-file-other"] = { audience: "sts.other.example.test", scopes: [], aws: { role_arn: ROLE, mode: "assertion" } };
  c.clients.find((r) => r.client === "orders-service").targets.push("aws-orders", "aws-file", "aws-file-other");
  c.clients.push({ client: "keyjwt-service", targets: ["aws-orders"] });
  return c;
}

/** The helper's command line for a profile (one line, as credential_process needs). */
function helper(args) {
  return [CLI, "credentials", "aws", "--edge-sts", w.url, "--token-url", iss.tokenEndpoint, "--allow-http-loopback", ...args].join(" ");
}

/** Adds profiles to the AWS config file (a string is a profile's credential_process). */
const profiles = {};
function writeAwsConfig(more) {
  Object.assign(profiles, more);
  const text = Object.entries(profiles).map(([name, p]) => {
    const keys = typeof p === "string" ? { credential_process: p } : p;
    return `[profile ${name}]\nregion = us-east-1\n${Object.entries(keys).map(([k, v]) => `${k} = ${v}\n`).join("")}`;
  }).join("\n");
  writeFileSync(path.join(dir, "aws-config"), text);
}

// No endpoint_url in the code: AWS_ENDPOINT_URL_STS (botocore's service-specific endpoint
// variable) points every STS client at the proxy, the one botocore's web identity provider
// creates for AssumeRoleWithWebIdentity included.
const BOTO = `
import json, sys, boto3
try:
    r = boto3.Session(profile_name=sys.argv[1] or None).client("sts").get_caller_identity()
    print(json.dumps({"ok": True, "arn": r["Arn"], "user_id": r["UserId"]}))
except Exception as e:
    print(json.dumps({"ok": False, "type": type(e).__name__, "message": str(e)}))
`;

/** Runs boto3 in a fresh process (as the AWS CLI would be run), with only the test's AWS files
 *  (profile "": the default chain, e.g. the web identity environment variables in `extra`). */
async function boto3(profile, extra = {}) {
  const env = { PATH: process.env.PATH, HOME: dir, XDG_CACHE_HOME: path.join(dir, "cache"), AWS_CONFIG_FILE: path.join(dir, "aws-config"),
    AWS_SHARED_CREDENTIALS_FILE: path.join(dir, "no-credentials"), AWS_EC2_METADATA_DISABLED: "true", NO_PROXY: "127.0.0.1,localhost",
    AWS_DEFAULT_REGION: "us-east-1", AWS_ENDPOINT_URL_STS: sts.endpoint, ...extra };
  // Asynchronously: the issuer and the proxy answer from this process's event loop.
  const { stdout } = await run(PYTHON, ["-c", BOTO, profile], { env, encoding: "utf8", timeout: 60_000 });
  return JSON.parse(stdout.trim().split("\n").at(-1));
}

/** `edge-sts credentials token-file` for an assertion-mode target: the file it wrote. */
async function tokenFile(target, name) {
  const file = path.join(dir, name);
  await run(CLI, ["credentials", "token-file", "--target", target, "--out", file, "--edge-sts", w.url, "--issuer", iss.url,
    "--client-id", "orders-service", "--client-secret-file", path.join(dir, "orders.secret"), "--allow-http-loopback"]);
  return file;
}

before(async () => {
  // The helper binary (debug). scripts/test.sh builds it before the e2e step; this keeps a
  // single-file run honest too (a no-op when it is up to date).
  execFileSync("cargo", ["build", "-q", "-p", "edge-sts-cli"], { cwd: root, stdio: ["ignore", "ignore", "inherit"], timeout: 900_000 });
  dir = mkdtempSync(path.join(tmpdir(), "edge-sts-cli-aws-"));
  iss = await startIssuer();
  sts = await startAwsSts({ providers });
  const secrets = { SIGNING_KEY_ES256: JSON.stringify(await generateSigningKey("ES256", "cli-es")), SIGNING_KEY_RS256: JSON.stringify(await generateSigningKey("RS256", "cli-rs")) };
  w = await startWorkerAsIssuer({ config: config(), secrets });
  providers.push({ url: w.issuer, clientIds: ["sts.amazonaws.com", FEDERATED_AUD] });
  writeFileSync(path.join(dir, "orders.secret"), iss.clients["orders-service"].secret, { mode: 0o600 });
  writeFileSync(path.join(dir, "keyjwt.jwk"), JSON.stringify(iss.clientKeys["keyjwt-service"]), { mode: 0o600 });
  writeAwsConfig({
    orders: helper(["--target", "aws-orders", "--client-id", "orders-service", "--client-secret-file", path.join(dir, "orders.secret")]),
    keyjwt: helper(["--target", "aws-orders", "--client-id", "keyjwt-service", "--private-key-jwt", path.join(dir, "keyjwt.jwk")]),
    refused: helper(["--target", "aws-nowhere", "--client-id", "orders-service", "--client-secret-file", path.join(dir, "orders.secret")]),
    badsecret: helper(["--target", "aws-orders", "--client-id", "orders-service", "--client-secret-file", path.join(dir, "loose.secret")]),
  });
});
after(async () => { await w?.stop(); await sts?.close(); await iss?.close(); if (dir) rmSync(dir, { recursive: true, force: true }); });

test("boto3 with credential_process = edge-sts credentials aws: the assumed role's identity", async () => {
  const r = await boto3("orders");
  assert.equal(r.ok, true, r.message);
  assert.equal(r.arn, "arn:aws:sts::123456789012:assumed-role/edge-sts-orders/orders-service");
  assert.match(r.user_id, /:orders-service$/);
  const calls = sts.assumeCalls();
  assert.equal(calls.length, 1);
  assert.equal(calls[0].form.RoleArn, ROLE);
  assert.equal(calls[0].refused, undefined, "the proxy verified edge-sts's web identity token");
  assert.equal(calls[0].headers.authorization, undefined, "edge-sts's AssumeRoleWithWebIdentity is unsigned");
  // The web identity token it received is edge-sts's own, for this client.
  const jwks = createLocalJWKSet(await (await fetch(`${w.url}/.well-known/jwks.json`)).json());
  const { payload } = await jwtVerify(calls[0].form.WebIdentityToken, jwks, { audience: "sts.amazonaws.com", issuer: w.issuer });
  assert.equal(payload.sub, "orders-service");
  // boto3's GetCallerIdentity went through the proxy with boto3's own signature.
  const gci = sts.requests.filter((r) => r.form.Action === "GetCallerIdentity").at(-1);
  assert.match(gci.headers.authorization, /^AWS4-HMAC-SHA256 Credential=ASIA\w+\/\d{8}\/us-east-1\/sts\/aws4_request/);
  // The credentials are cached in a private file under XDG_CACHE_HOME/edge-sts.
  const cache = path.join(dir, "cache/edge-sts");
  assert.equal(statSync(cache).mode & 0o777, 0o700);
  const entries = readdirSync(cache).filter((f) => f.endsWith(".json"));
  assert.equal(entries.length, 1);
  assert.equal(statSync(path.join(cache, entries[0])).mode & 0o777, 0o600);
});

test("a second boto3 process reuses the helper's cache: no second STS call", async () => {
  const before = sts.assumeCalls().length;
  const r = await boto3("orders");
  assert.equal(r.ok, true, r.message);
  assert.equal(r.arn, "arn:aws:sts::123456789012:assumed-role/edge-sts-orders/orders-service");
  assert.equal(sts.assumeCalls().length, before);
});

test("private_key_jwt client authentication to the issuer (oidc-provider verifies the assertion)", async () => {
  const tokensBefore = iss.counters.token;
  const r = await boto3("keyjwt");
  assert.equal(r.ok, true, r.message);
  assert.equal(r.arn, "arn:aws:sts::123456789012:assumed-role/edge-sts-orders/keyjwt-service");
  assert.equal(iss.counters.token, tokensBefore + 1);
});

test("a refused exchange: boto3 raises with the helper's one-line message, no token in it", async () => {
  const before = sts.assumeCalls().length;
  const r = await boto3("refused");
  assert.equal(r.ok, false);
  assert.equal(r.type, "CredentialRetrievalError");
  assert.match(r.message, /custom-process: error: edge-sts refused the exchange for aws-nowhere: HTTP 400 invalid_target/);
  assert.equal(r.message.trim().split("\n").length, 1, r.message);
  assert.ok(!r.message.includes(iss.clients["orders-service"].secret));
  assert.ok(!/eyJ[\w-]+\.[\w-]+\./.test(r.message), "no JWT in the message");
  assert.equal(sts.assumeCalls().length, before);
});

test("a secret file others can write: boto3 shows the helper's refusal", async () => {
  writeFileSync(path.join(dir, "loose.secret"), iss.clients["orders-service"].secret);
  chmodSync(path.join(dir, "loose.secret"), 0o666);
  const tokensBefore = iss.counters.token;
  const r = await boto3("badsecret");
  assert.equal(r.ok, false);
  assert.match(r.message, /loose\.secret can be written by group or others \(mode 0666\): run chmod 600/);
  assert.equal(iss.counters.token, tokensBefore, "nothing sent to the issuer");
});

test("edge-sts token: a downstream token the Worker's JWKS verifies", async () => {
  const { stdout: out } = await run(CLI, ["token", "--audience", "orders", "--scope", "orders:read", "--edge-sts", w.url, "--issuer", iss.url,
    "--client-id", "orders-service", "--client-secret-file", path.join(dir, "orders.secret"), "--allow-http-loopback"], { encoding: "utf8" });
  const jwks = createLocalJWKSet(await (await fetch(`${w.url}/.well-known/jwks.json`)).json());
  const { payload, protectedHeader } = await jwtVerify(out.trim(), jwks, { audience: "https://orders.example.test" });
  assert.equal(protectedHeader.typ, "at+jwt");
  assert.equal(payload.sub, "orders-service");
  assert.equal(payload.scope, "orders:read");
});

test("assertion mode: boto3 assumes the role itself with the token file edge-sts credentials token-file wrote", async () => {
  const file = await tokenFile("aws-file", "aws-web-identity.jwt");
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const written = readFileSync(file, "utf8");
  const jwks = createLocalJWKSet(await (await fetch(`${w.url}/.well-known/jwks.json`)).json());
  const { payload, protectedHeader } = await jwtVerify(written, jwks, { audience: FEDERATED_AUD, issuer: w.issuer });
  assert.equal(protectedHeader.typ, "JWT");
  assert.equal(payload.sub, "orders-service");
  assert.equal(payload.exp - payload.iat, 900, "assertion_lifetime_secs");
  const before = sts.assumeCalls().length;
  // The environment variables botocore reads (as EKS sets them for a pod).
  const r = await boto3("", { AWS_WEB_IDENTITY_TOKEN_FILE: file, AWS_ROLE_ARN: ROLE, AWS_ROLE_SESSION_NAME: "orders-batch" });
  assert.equal(r.ok, true, r.message);
  assert.equal(r.arn, "arn:aws:sts::123456789012:assumed-role/edge-sts-orders/orders-batch");
  const calls = sts.assumeCalls().slice(before);
  assert.equal(calls.length, 1, "boto3's own AssumeRoleWithWebIdentity, at the endpoint AWS_ENDPOINT_URL_STS names");
  assert.equal(calls[0].refused, undefined);
  assert.equal(calls[0].form.WebIdentityToken, written, "the file's assertion");
  assert.equal(calls[0].form.RoleArn, ROLE);
  assert.equal(calls[0].form.RoleSessionName, "orders-batch");
  assert.match(calls[0].headers["user-agent"], /Boto3\//, "sent by boto3, not by edge-sts");
});

test("assertion mode: the same from a profile's role_arn and web_identity_token_file", async () => {
  const file = await tokenFile("aws-file", "aws-web-identity-profile.jwt");
  writeAwsConfig({ federated: { role_arn: ROLE, web_identity_token_file: file, role_session_name: "orders-profile" } });
  const before = sts.assumeCalls().length;
  const r = await boto3("federated");
  assert.equal(r.ok, true, r.message);
  assert.equal(r.arn, "arn:aws:sts::123456789012:assumed-role/edge-sts-orders/orders-profile");
  assert.equal(sts.assumeCalls().slice(before).length, 1);
});

test("assertion mode: an audience the OIDC provider does not list is AWS's InvalidIdentityToken in boto3", async () => {
  const file = await tokenFile("aws-file-other", "aws-other-aud.jwt");
  const before = sts.assumeCalls().length;
  const r = await boto3("", { AWS_WEB_IDENTITY_TOKEN_FILE: file, AWS_ROLE_ARN: ROLE, AWS_ROLE_SESSION_NAME: "orders-batch" });
  assert.equal(r.ok, false);
  assert.equal(r.type, "InvalidIdentityTokenException", "botocore's modelled error, a ClientError");
  assert.equal(r.message, "An error occurred (InvalidIdentityToken) when calling the AssumeRoleWithWebIdentity operation: Incorrect token audience");
  const calls = sts.assumeCalls().slice(before);
  assert.equal(calls.length, 1, "not retried");
  assert.equal(calls[0].refused, "InvalidIdentityToken");
});

test("assertion mode: an issuer with no OIDC provider in the account is InvalidIdentityToken naming it", async () => {
  const file = await tokenFile("aws-file", "aws-untrusted.jwt");
  const trusted = providers.splice(0); // the account forgets edge-sts's provider
  try {
    const r = await boto3("", { AWS_WEB_IDENTITY_TOKEN_FILE: file, AWS_ROLE_ARN: ROLE, AWS_ROLE_SESSION_NAME: "orders-batch" });
    assert.equal(r.ok, false);
    assert.equal(r.type, "InvalidIdentityTokenException", "botocore's modelled error, a ClientError");
    assert.equal(r.message, `An error occurred (InvalidIdentityToken) when calling the AssumeRoleWithWebIdentity operation: No OpenIDConnect provider found in your account for ${w.issuer}`);
  } finally { providers.push(...trusted); }
});

test("credentials token-file on a brokered target: a one-line error naming the command that serves it, exit 2, no file", async () => {
  const file = path.join(dir, "brokered.jwt");
  const e = await run(CLI, ["credentials", "token-file", "--target", "aws-orders", "--out", file, "--edge-sts", w.url, "--issuer", iss.url,
    "--client-id", "orders-service", "--client-secret-file", path.join(dir, "orders.secret"), "--allow-http-loopback"]).catch((x) => x);
  assert.equal(e.code, 2);
  assert.equal(e.stderr.trim().split("\n").length, 1, e.stderr);
  assert.equal(e.stderr.trim(), "error: target aws-orders is not in assertion mode: edge-sts answered with AWS credentials (an AWS target in brokered mode): `edge-sts credentials aws` prints them for credential_process");
  assert.throws(() => statSync(file), /ENOENT/);
});

test("credential_process on an assertion-mode target: boto3 shows edge-sts's refusal and the command to use instead", async () => {
  writeAwsConfig({ assertionproc: helper(["--target", "aws-file", "--client-id", "orders-service", "--client-secret-file", path.join(dir, "orders.secret")]) });
  const before = sts.assumeCalls().length;
  const r = await boto3("assertionproc");
  assert.equal(r.ok, false);
  assert.equal(r.type, "CredentialRetrievalError");
  assert.equal(r.message.trim().split("\n").length, 1, r.message);
  assert.match(r.message, /error: edge-sts refused the exchange for aws-file: HTTP 400 invalid_request: the target is in assertion mode and issues only urn:ietf:params:oauth:token-type:jwt; the target hands out its assertion only: `edge-sts credentials token-file` writes it for an AWS web_identity_token_file/);
  assert.equal(sts.assumeCalls().length, before, "no AWS call");
});

test("credentials aws-config: the profile it prints runs as is in boto3 (a path with a space), AccountId included", async () => {
  // The helper under a path with a space, which the profile must quote as botocore splits it (shlex).
  const tools = path.join(dir, "my tools");
  execFileSync("mkdir", ["-p", tools]);
  execFileSync("ln", ["-sf", CLI, path.join(tools, "edge-sts")]);
  const { stdout: profile } = await run(CLI, ["credentials", "aws-config", "--target", "aws-orders", "--profile", "generated", "--region", "us-east-1",
    "--command-path", path.join(tools, "edge-sts"), "--edge-sts", w.url, "--token-url", iss.tokenEndpoint, "--client-id", "orders-service",
    "--client-secret-file", path.join(dir, "orders.secret"), "--allow-http-loopback"]);
  assert.match(profile, /^\[profile generated\]\nregion = us-east-1\ncredential_process = '[^']*my tools\/edge-sts' credentials aws --target aws-orders /);
  writeFileSync(path.join(dir, "aws-config-generated"), profile);
  const py = `
import json, boto3
s = boto3.Session(profile_name="generated")
f = s.get_credentials().get_frozen_credentials()
print(json.dumps({"account_id": f.account_id, "arn": s.client("sts").get_caller_identity()["Arn"]}))
`;
  const env = { PATH: process.env.PATH, HOME: dir, XDG_CACHE_HOME: path.join(dir, "cache-generated"), AWS_CONFIG_FILE: path.join(dir, "aws-config-generated"),
    AWS_SHARED_CREDENTIALS_FILE: path.join(dir, "no-credentials"), AWS_EC2_METADATA_DISABLED: "true", NO_PROXY: "127.0.0.1,localhost", AWS_ENDPOINT_URL_STS: sts.endpoint };
  const { stdout } = await run(PYTHON, ["-c", py], { env, encoding: "utf8", timeout: 60_000 });
  const r = JSON.parse(stdout.trim().split("\n").at(-1));
  assert.equal(r.arn, "arn:aws:sts::123456789012:assumed-role/edge-sts-orders/orders-service");
  assert.equal(r.account_id, "123456789012", "botocore read AccountId from the helper's output");
});
