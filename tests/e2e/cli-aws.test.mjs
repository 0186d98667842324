// The credential helper judged by the real AWS SDK: boto3 (botocore) with an AWS config file whose
// profile's `credential_process` is the built CLI (`edge-sts credentials aws`). The helper gets a
// client_credentials token from the oidc-provider issuer (client secret in a 0600 file, or
// private_key_jwt), exchanges it at the real Worker (Miniflare), which calls
// AssumeRoleWithWebIdentity on moto; boto3 then signs GetCallerIdentity with those credentials.
//
// moto is started here (not through tests/support/aws.mjs) because boto3 must reach it directly:
// that proxy replaces the Authorization header, and moto names the caller from it. This file's
// proxy adds the header only to edge-sts's unsigned AssumeRoleWithWebIdentity and counts those.
import assert from "node:assert/strict";
import { execFile, execFileSync, spawn } from "node:child_process";
import { promisify } from "node:util";
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";
import { createLocalJWKSet, jwtVerify } from "jose";
import { startIssuer } from "../support/issuer.mjs";
import { startWorker, devConfig, generateSigningKey } from "../support/worker.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const CLI = path.join(root, "target/debug/edge-sts");
const PYTHON = path.join(root, ".venv-moto/bin/python");
const ROLE = "arn:aws:iam::123456789012:role/edge-sts-orders";
let iss, moto, w, dir;

const run = promisify(execFile);
const freePort = () => new Promise((r) => { const s = net.createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => r(p)); }); });

async function startMoto() {
  const port = await freePort();
  const proc = spawn(path.join(root, ".venv-moto/bin/moto_server"), ["-H", "127.0.0.1", "-p", String(port)], { stdio: "ignore" });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try { await fetch(`${url}/moto-api/`); break; } catch { if (i > 150) throw new Error("moto_server did not start"); await new Promise((r) => setTimeout(r, 100)); }
  }
  const assumeCalls = [];
  const proxy = http.createServer(async (req, res) => {
    let body = "";
    for await (const c of req) body += c;
    const form = Object.fromEntries(new URLSearchParams(body));
    if (form.Action === "AssumeRoleWithWebIdentity") assumeCalls.push(form);
    const r = await fetch(`${url}/`, { method: "POST", body, headers: {
      "content-type": req.headers["content-type"], authorization: "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=0" } });
    res.writeHead(r.status, { "content-type": r.headers.get("content-type") ?? "text/xml" });
    res.end(await r.text());
  });
  await new Promise((r) => proxy.listen(0, "127.0.0.1", r));
  return { url, endpoint: `http://127.0.0.1:${proxy.address().port}/`, assumeCalls, close() { proxy.close(); proc.kill(); } };
}

function config() {
  const c = devConfig(iss.url);
  c.targets["aws-orders"] = { audience: "sts.amazonaws.com", scopes: [], aws: { role_arn: ROLE, endpoint: moto.endpoint, duration_secs: 3600 } };
  c.clients.find((r) => r.client === "orders-service").targets.push("aws-orders");
  c.clients.push({ client: "keyjwt-service", targets: ["aws-orders"] });
  return c;
}

/** The helper's command line for a profile (one line, as credential_process needs). */
function helper(args) {
  return [CLI, "credentials", "aws", "--edge-sts", w.url, "--token-url", iss.tokenEndpoint, "--allow-http-loopback", ...args].join(" ");
}

function writeAwsConfig(profiles) {
  const text = Object.entries(profiles).map(([name, cmd]) => `[profile ${name}]\nregion = us-east-1\ncredential_process = ${cmd}\n`).join("\n");
  writeFileSync(path.join(dir, "aws-config"), text);
}

const BOTO = `
import json, sys, boto3
try:
    r = boto3.Session(profile_name=sys.argv[1]).client("sts", endpoint_url=sys.argv[2]).get_caller_identity()
    print(json.dumps({"ok": True, "arn": r["Arn"], "user_id": r["UserId"]}))
except Exception as e:
    print(json.dumps({"ok": False, "type": type(e).__name__, "message": str(e)}))
`;

/** Runs boto3 in a fresh process (as the AWS CLI would be run), with only the test's AWS files. */
async function boto3(profile) {
  const env = { PATH: process.env.PATH, HOME: dir, XDG_CACHE_HOME: path.join(dir, "cache"), AWS_CONFIG_FILE: path.join(dir, "aws-config"),
    AWS_SHARED_CREDENTIALS_FILE: path.join(dir, "no-credentials"), AWS_EC2_METADATA_DISABLED: "true", NO_PROXY: "127.0.0.1,localhost" };
  // Asynchronously: the issuer and the proxy answer from this process's event loop.
  const { stdout } = await run(PYTHON, ["-c", BOTO, profile, moto.url], { env, encoding: "utf8", timeout: 60_000 });
  return JSON.parse(stdout.trim().split("\n").at(-1));
}

before(async () => {
  // The helper binary (debug). scripts/test.sh builds it before the e2e step; this keeps a
  // single-file run honest too (a no-op when it is up to date).
  execFileSync("cargo", ["build", "-q", "-p", "edge-sts-cli"], { cwd: root, stdio: ["ignore", "ignore", "inherit"], timeout: 900_000 });
  dir = mkdtempSync(path.join(tmpdir(), "edge-sts-cli-aws-"));
  iss = await startIssuer();
  moto = await startMoto();
  const secrets = { SIGNING_KEY_ES256: JSON.stringify(await generateSigningKey("ES256", "cli-es")), SIGNING_KEY_RS256: JSON.stringify(await generateSigningKey("RS256", "cli-rs")) };
  w = await startWorker({ config: config(), secrets });
  writeFileSync(path.join(dir, "orders.secret"), iss.clients["orders-service"].secret, { mode: 0o600 });
  writeFileSync(path.join(dir, "keyjwt.jwk"), JSON.stringify(iss.clientKeys["keyjwt-service"]), { mode: 0o600 });
  writeAwsConfig({
    orders: helper(["--target", "aws-orders", "--client-id", "orders-service", "--client-secret-file", path.join(dir, "orders.secret")]),
    keyjwt: helper(["--target", "aws-orders", "--client-id", "keyjwt-service", "--private-key-jwt", path.join(dir, "keyjwt.jwk")]),
    refused: helper(["--target", "aws-nowhere", "--client-id", "orders-service", "--client-secret-file", path.join(dir, "orders.secret")]),
    badsecret: helper(["--target", "aws-orders", "--client-id", "orders-service", "--client-secret-file", path.join(dir, "loose.secret")]),
  });
});
after(async () => { await w?.stop(); moto?.close(); await iss?.close(); if (dir) rmSync(dir, { recursive: true, force: true }); });

test("boto3 with credential_process = edge-sts credentials aws: the assumed role's identity", async () => {
  const r = await boto3("orders");
  assert.equal(r.ok, true, r.message);
  assert.equal(r.arn, "arn:aws:sts::123456789012:assumed-role/edge-sts-orders/orders-service");
  assert.match(r.user_id, /:orders-service$/);
  assert.equal(moto.assumeCalls.length, 1);
  assert.equal(moto.assumeCalls[0].RoleArn, ROLE);
  // The web identity token moto received is edge-sts's own, for this client.
  const jwks = createLocalJWKSet(await (await fetch(`${w.url}/.well-known/jwks.json`)).json());
  const { payload } = await jwtVerify(moto.assumeCalls[0].WebIdentityToken, jwks, { audience: "sts.amazonaws.com" });
  assert.equal(payload.sub, "orders-service");
  // The credentials are cached in a private file under XDG_CACHE_HOME/edge-sts.
  const cache = path.join(dir, "cache/edge-sts");
  assert.equal(statSync(cache).mode & 0o777, 0o700);
  const entries = readdirSync(cache).filter((f) => f.endsWith(".json"));
  assert.equal(entries.length, 1);
  assert.equal(statSync(path.join(cache, entries[0])).mode & 0o777, 0o600);
});

test("a second boto3 process reuses the helper's cache: no second STS call", async () => {
  const before = moto.assumeCalls.length;
  const r = await boto3("orders");
  assert.equal(r.ok, true, r.message);
  assert.equal(r.arn, "arn:aws:sts::123456789012:assumed-role/edge-sts-orders/orders-service");
  assert.equal(moto.assumeCalls.length, before);
});

test("private_key_jwt client authentication to the issuer (oidc-provider verifies the assertion)", async () => {
  const tokensBefore = iss.counters.token;
  const r = await boto3("keyjwt");
  assert.equal(r.ok, true, r.message);
  assert.equal(r.arn, "arn:aws:sts::123456789012:assumed-role/edge-sts-orders/keyjwt-service");
  assert.equal(iss.counters.token, tokensBefore + 1);
});

test("a refused exchange: boto3 raises with the helper's one-line message, no token in it", async () => {
  const before = moto.assumeCalls.length;
  const r = await boto3("refused");
  assert.equal(r.ok, false);
  assert.equal(r.type, "CredentialRetrievalError");
  assert.match(r.message, /custom-process: error: edge-sts refused the exchange for aws-nowhere: HTTP 400 invalid_target/);
  assert.equal(r.message.trim().split("\n").length, 1, r.message);
  assert.ok(!r.message.includes(iss.clients["orders-service"].secret));
  assert.ok(!/eyJ[\w-]+\.[\w-]+\./.test(r.message), "no JWT in the message");
  assert.equal(moto.assumeCalls.length, before);
});

test("a secret file others can read: boto3 shows the helper's refusal", async () => {
  writeFileSync(path.join(dir, "loose.secret"), iss.clients["orders-service"].secret);
  chmodSync(path.join(dir, "loose.secret"), 0o644);
  const tokensBefore = iss.counters.token;
  const r = await boto3("badsecret");
  assert.equal(r.ok, false);
  assert.match(r.message, /loose\.secret is accessible by group or others \(mode 0644\): run chmod 600/);
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
