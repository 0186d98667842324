// `edge-sts agent` judged by the clouds' own SDKs, configured by nothing but the environment lines
// the agent prints: boto3's default chain (its container provider) against moto behind the
// verifying proxy (tests/support/aws.mjs), google-auth's `google.auth.default()` (Python) and
// google-auth-library's `GoogleAuth` (Node) finding the "metadata server", and azure-identity's
// `ManagedIdentityCredential` and `DefaultAzureCredential` finding the "App Service" endpoint,
// against the Google and Entra fakes (tests/support/clouds.mjs), which verify every assertion
// edge-sts sends them. The real Worker runs in Miniflare at its issuer URL.
//
// Two agents: one for targets whose credentials live an hour (served from the agent's cache,
// one exchange for two SDK processes at once) and one for short-lived credentials (AWS 900 s,
// Google and Entra 235 s), which every SDK refreshes by its own margin: botocore 15 min,
// google-auth 3 min 45 s, google-auth-library and MSAL 5 min. Each exchange the agent makes is one
// client_credentials call at the issuer (`iss.counters.token`): the tests count those.
import assert from "node:assert/strict";
import { execFile, execFileSync, spawn } from "node:child_process";
import http from "node:http";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { after, before, test } from "node:test";
import { createLocalJWKSet, jwtVerify } from "jose";
import { startIssuer } from "../support/issuer.mjs";
import { startAwsSts } from "../support/aws.mjs";
import { startGoogleFake, startEntraFake } from "../support/clouds.mjs";
import { startWorkerAsIssuer, devConfig, generateSigningKey } from "../support/worker.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const CLI = path.join(root, "target/debug/edge-sts");
const BOTO_PYTHON = path.join(root, ".venv-moto/bin/python");
const SDK_PYTHON = path.join(root, ".venv-sdk/bin/python");
const run = promisify(execFile);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const ROLE = "arn:aws:iam::123456789012:role/edge-sts-orders";
const WIF = "projects/123456789/locations/global/workloadIdentityPools/edge-sts/providers/edge-sts-oidc";
const SA = "orders@example-proj.iam.gserviceaccount.com";
const CP = "https://www.googleapis.com/auth/cloud-platform";
const ARM = "https://management.azure.com";
const TENANT = "11111111-2222-3333-4444-555555555555", APP = "66666666-7777-8888-9999-000000000000";
let iss, sts, google, entra, entraShort, w, dir, long, short;
const agents = [];

function config() {
  const c = devConfig(iss.url);
  const aws = (duration_secs) => ({ role_arn: ROLE, endpoint: sts.endpoint, duration_secs });
  const gcp = (token_lifetime_secs) => ({ workload_identity_provider: WIF, service_account: SA, token_lifetime_secs, sts_url: google.stsUrl, iam_credentials_url: google.iamUrl });
  const azure = (fake) => ({ tenant: TENANT, client_id: APP, resource: ARM, authority_host: fake.authorityHost });
  c.targets["aws-orders"] = { audience: "sts.amazonaws.com", scopes: [], aws: aws(3600) };
  c.targets["aws-short"] = { audience: "sts.short.example.test", scopes: [], aws: aws(900) };
  c.targets["gcp-orders"] = { audience: `https://iam.googleapis.com/${WIF}`, scopes: [CP], default_scopes: [CP], gcp: gcp(3600) };
  c.targets["gcp-short"] = { audience: `//iam.googleapis.com/${WIF}`, scopes: [CP], default_scopes: [CP], gcp: gcp(235) };
  c.targets["azure-orders"] = { audience: "api://AzureADTokenExchange", scopes: [], signing_alg: "RS256", azure: azure(entra) };
  c.targets["azure-short"] = { audience: "api://AzureADTokenExchange", scopes: [], signing_alg: "RS256", azure: azure(entraShort) };
  // The dev configuration's plain JWT target `entra` has the Entra exchange audience, which a
  // downstream target cannot share with a cloud target.
  delete c.targets.entra;
  for (const rule of c.clients) rule.targets = rule.targets.filter((t) => t !== "entra");
  c.clients.find((x) => x.client === "orders-service").targets.push("aws-orders", "aws-short", "gcp-orders", "gcp-short", "azure-orders", "azure-short");
  return c;
}

/** Starts `edge-sts agent` and reads the export lines it prints (as a shell would `eval` them). */
async function startAgent(args, lines) {
  const p = spawn(CLI, ["agent", ...args, "--edge-sts", w.url, "--token-url", iss.tokenEndpoint, "--client-id", "orders-service",
    "--client-secret-file", path.join(dir, "orders.secret"), "--allow-http-loopback"], { stdio: ["ignore", "pipe", "pipe"] });
  agents.push(p);
  const a = { proc: p, stdout: "", stderr: "", env: {} };
  p.stderr.on("data", (d) => { a.stderr += d; });
  await new Promise((resolve, reject) => {
    p.on("exit", (code) => reject(new Error(`agent exited ${code}: ${a.stderr}`)));
    p.stdout.on("data", (d) => { a.stdout += d; if (a.stdout.split("\n").filter(Boolean).length >= lines) resolve(); });
  });
  for (const l of a.stdout.trim().split("\n")) {
    const m = /^export ([A-Z_]+)=(\S+)$/.exec(l);
    assert.ok(m, `an export line: ${l}`);
    a.env[m[1]] = m[2];
  }
  return a;
}

/** The environment of an SDK process: the agent's lines, and nothing that names a credential. */
function sdkEnv(agentEnv, extra = {}) {
  return { PATH: process.env.PATH, HOME: dir, NO_PROXY: "127.0.0.1,localhost", ...agentEnv, ...extra };
}

const BOTO = `
import json, sys, boto3
s = boto3.Session()
try:
    ids = [s.client("sts").get_caller_identity()["Arn"] for _ in range(int(sys.argv[1]))]
    print(json.dumps({"ok": True, "arns": ids, "method": s.get_credentials().method}))
except Exception as e:
    print(json.dumps({"ok": False, "type": type(e).__name__, "message": str(e)}))
`;
/** boto3's default chain with only the agent's variables (plus the region and moto's endpoint). */
async function boto3(agentEnv, calls = 1, extra = {}) {
  const env = sdkEnv(agentEnv, { AWS_DEFAULT_REGION: "us-east-1", AWS_ENDPOINT_URL_STS: sts.endpoint, AWS_EC2_METADATA_DISABLED: "true",
    AWS_CONFIG_FILE: path.join(dir, "none"), AWS_SHARED_CREDENTIALS_FILE: path.join(dir, "none"), ...extra });
  const { stdout } = await run(BOTO_PYTHON, ["-c", BOTO, String(calls)], { env, timeout: 60_000 });
  return JSON.parse(stdout.trim().split("\n").at(-1));
}

const GOOGLE_PY = `
import json, sys, time, google.auth
from google.auth.transport.requests import Request
creds, project = google.auth.default(scopes=["${CP}"])
req = Request()
def token():
    headers = {}
    creds.before_request(req, "GET", "https://storage.googleapis.com/storage/v1/b", headers)
    return headers["authorization"].removeprefix("Bearer ")
tokens = [token(), token()]
time.sleep(float(sys.argv[1]))
tokens.append(token())
print(json.dumps({"class": type(creds).__module__ + "." + type(creds).__name__, "project": project, "tokens": tokens}))
`;
/** google-auth's default credentials: two requests' tokens, then a third after `wait` seconds. */
async function googlePython(agentEnv, wait = 0) {
  const { stdout } = await run(SDK_PYTHON, ["-c", GOOGLE_PY, String(wait)], { env: sdkEnv(agentEnv), timeout: 60_000 });
  return JSON.parse(stdout.trim().split("\n").at(-1));
}

const GOOGLE_NODE = `
import { GoogleAuth } from "google-auth-library";
const auth = new GoogleAuth({ scopes: ["${CP}"] });
const client = await auth.getClient();
const tokens = [(await client.getAccessToken()).token, (await client.getAccessToken()).token];
console.log(JSON.stringify({ class: client.constructor.name, tokens }));
`;
async function googleNode(agentEnv) {
  const { stdout } = await run(process.execPath, ["--input-type=module", "-e", GOOGLE_NODE], { cwd: root, env: sdkEnv(agentEnv), timeout: 60_000 });
  return JSON.parse(stdout.trim().split("\n").at(-1));
}

const AZURE_PY = `
import json, sys
from azure.identity import ManagedIdentityCredential, DefaultAzureCredential
cred = {"mi": ManagedIdentityCredential, "default": DefaultAzureCredential}[sys.argv[1]]()
try:
    t = [cred.get_token("${ARM}/.default") for _ in range(2)]
    print(json.dumps({"ok": True, "tokens": [x.token for x in t], "expires_on": t[0].expires_on}))
except Exception as e:
    print(json.dumps({"ok": False, "type": type(e).__name__, "message": str(e)}))
`;
async function azure(agentEnv, kind, extra = {}) {
  const { stdout } = await run(SDK_PYTHON, ["-c", AZURE_PY, kind], { env: sdkEnv(agentEnv, extra), timeout: 60_000 });
  return JSON.parse(stdout.trim().split("\n").at(-1));
}

/** A raw request to the agent, with any Host header (node:http lets a test set it). */
function raw(port, pathname, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path: pathname, headers }, (res) => {
      let body = "";
      res.on("data", (d) => { body += d; });
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

const exchanges = () => iss.counters.token;
const keyOf = (authorization) => /Credential=(\w+)\//.exec(authorization ?? "")?.[1];
const gciKeys = () => sts.requests.filter((r) => r.form.Action === "GetCallerIdentity").map((r) => keyOf(r.headers.authorization));

before(async () => {
  execFileSync("cargo", ["build", "-q", "-p", "edge-sts-cli"], { cwd: root, stdio: ["ignore", "ignore", "inherit"], timeout: 900_000 });
  dir = mkdtempSync(path.join(tmpdir(), "edge-sts-cli-agent-"));
  iss = await startIssuer();
  sts = await startAwsSts();
  google = await startGoogleFake();
  entra = await startEntraFake();
  entraShort = await startEntraFake({ expiresIn: 235 });
  const secrets = { SIGNING_KEY_ES256: JSON.stringify(await generateSigningKey("ES256", "agent-es")), SIGNING_KEY_RS256: JSON.stringify(await generateSigningKey("RS256", "agent-rs")) };
  w = await startWorkerAsIssuer({ config: config(), secrets });
  writeFileSync(path.join(dir, "orders.secret"), iss.clients["orders-service"].secret, { mode: 0o600 });
  long = await startAgent(["--aws-target", "aws-orders", "--gcp-target", "gcp-orders", "--azure-target", "azure-orders",
    "--azure-resource", ARM], 6);
  short = await startAgent(["--aws-target", "aws-short", "--gcp-target", "gcp-short", "--azure-target", "azure-short"], 6);
});
after(async () => {
  for (const p of agents) p.kill();
  await w?.stop(); await sts?.close(); google?.close(); entra?.close(); entraShort?.close(); await iss?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("the agent prints the export lines of each protocol: loopback URLs, one fresh secret per start", () => {
  const { env } = long;
  const port = Number(new URL(env.AWS_CONTAINER_CREDENTIALS_FULL_URI).port);
  assert.deepEqual(Object.keys(env), ["AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN", "GCE_METADATA_HOST",
    "GCE_METADATA_IP", "IDENTITY_ENDPOINT", "IDENTITY_HEADER"]);
  assert.equal(env.AWS_CONTAINER_CREDENTIALS_FULL_URI, `http://127.0.0.1:${port}/aws/credentials`);
  assert.equal(env.GCE_METADATA_HOST, `127.0.0.1:${port}`);
  assert.equal(env.GCE_METADATA_IP, `127.0.0.1:${port}`);
  assert.equal(env.IDENTITY_ENDPOINT, `http://127.0.0.1:${port}/azure/token`);
  assert.match(env.AWS_CONTAINER_AUTHORIZATION_TOKEN, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(env.IDENTITY_HEADER, env.AWS_CONTAINER_AUTHORIZATION_TOKEN);
  assert.notEqual(short.env.IDENTITY_HEADER, env.IDENTITY_HEADER, "another start, another secret");
});

test("--env-file: the lines go to a 0600 file only, not to standard output or the log", async () => {
  const file = path.join(dir, "agent.env");
  const p = spawn(CLI, ["agent", "--aws-target", "aws-orders", "--env-file", file, "--edge-sts", w.url, "--token-url", iss.tokenEndpoint,
    "--client-id", "orders-service", "--client-secret-file", path.join(dir, "orders.secret"), "--allow-http-loopback"], { stdio: ["ignore", "pipe", "pipe"] });
  agents.push(p);
  let stdout = "", stderr = "";
  p.stdout.on("data", (d) => { stdout += d; });
  p.stderr.on("data", (d) => { stderr += d; });
  for (let i = 0; !/wrote the environment lines/.test(stderr); i++) { assert.ok(i < 200, stderr); await sleep(50); }
  const text = readFileSync(file, "utf8");
  assert.match(text, /^export AWS_CONTAINER_CREDENTIALS_FULL_URI=http:\/\/127\.0\.0\.1:\d+\/aws\/credentials\nexport AWS_CONTAINER_AUTHORIZATION_TOKEN=[\w-]{43}\n$/);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(stdout, "");
  assert.ok(!stderr.includes(/TOKEN=(\S+)/.exec(text)[1]), "the secret is not logged");
  // The SDK works from the file's lines.
  const env = Object.fromEntries(text.trim().split("\n").map((l) => l.replace(/^export /, "").split("=")));
  const r = await boto3(env);
  assert.equal(r.ok, true, r.message);
});

test("AWS: two boto3 processes at once, default chain, one exchange; the next process is served from the agent's cache", async () => {
  const before = exchanges();
  const [a, b] = await Promise.all([boto3(long.env), boto3(long.env)]);
  for (const r of [a, b]) {
    assert.equal(r.ok, true, r.message);
    assert.equal(r.method, "container-role", "botocore's container provider");
    assert.deepEqual(r.arns, ["arn:aws:sts::123456789012:assumed-role/edge-sts-orders/orders-service"]);
  }
  assert.equal(exchanges() - before, 1, "one exchange for both processes");
  const assume = sts.assumeCalls().at(-1);
  assert.equal(assume.refused, undefined, "the proxy verified edge-sts's web identity token");
  // Both processes signed with the key the agent serves.
  const served = JSON.parse((await raw(Number(new URL(long.env.AWS_CONTAINER_CREDENTIALS_FULL_URI).port), "/aws/credentials",
    { Authorization: long.env.AWS_CONTAINER_AUTHORIZATION_TOKEN })).body);
  assert.deepEqual(Object.keys(served).sort(), ["AccessKeyId", "AccountId", "Expiration", "RoleArn", "SecretAccessKey", "Token"]);
  assert.equal(served.AccountId, "123456789012");
  assert.deepEqual(gciKeys().slice(-2), [served.AccessKeyId, served.AccessKeyId]);
  const c = await boto3(long.env);
  assert.equal(c.ok, true, c.message);
  assert.equal(exchanges() - before, 1, "served from the agent's cache");
});

test("AWS: 900-second credentials are inside botocore's 15-minute margin, so each call refreshes through the agent", async () => {
  const before = exchanges();
  const r = await boto3(short.env, 2);
  assert.equal(r.ok, true, r.message);
  // The container provider's first load, then, as the credentials are always inside the margin,
  // botocore's refresh before signing each call: each one a new fetch by the agent.
  assert.equal(exchanges() - before, 3);
  const [k1, k2] = gciKeys().slice(-2);
  assert.ok(k1 && k2 && k1 !== k2, `new credentials for the second call: ${k1} ${k2}`);
});

test("Google: google.auth.default() (Python) and GoogleAuth (Node) at once find the metadata server, one exchange", async () => {
  const before = exchanges();
  const [py, node] = await Promise.all([googlePython(long.env), googleNode(long.env)]);
  assert.equal(py.class, "google.auth.compute_engine.credentials.Credentials");
  assert.equal(node.class, "Compute");
  assert.equal(py.project, null, "no project id is served");
  const all = [...py.tokens, ...node.tokens];
  assert.match(all[0], new RegExp(`^ya29\\.sa-${SA.replace(/\./g, "\\.")}-\\d+$`), "the service account's token from generateAccessToken");
  assert.ok(all.every((t) => t === all[0]), `one token: ${all}`);
  assert.equal(exchanges() - before, 1);
  const again = await googleNode(long.env);
  assert.equal(again.tokens[0], all[0], "served from the agent's cache");
  assert.equal(exchanges() - before, 1);
});

test("Google: a 235-second token refreshes in google-auth after its 3 min 45 s margin and at every call in google-auth-library (5 min)", async () => {
  let before = exchanges();
  const py = await googlePython(short.env, 10.5);
  assert.equal(py.tokens[0], py.tokens[1], "valid for google-auth for 10 s: no second request");
  assert.notEqual(py.tokens[2], py.tokens[0], "after 10 s, google-auth asked again and the agent fetched anew");
  assert.equal(exchanges() - before, 2);
  before = exchanges();
  const node = await googleNode(short.env);
  assert.notEqual(node.tokens[0], node.tokens[1]);
  assert.equal(exchanges() - before, 2);
});

test("Azure: ManagedIdentityCredential and DefaultAzureCredential at once use the App Service endpoint, one exchange", async () => {
  const before = exchanges();
  const seen = entra.requests.length;
  const [mi, dac] = await Promise.all([azure(long.env, "mi"), azure(long.env, "default")]);
  for (const r of [mi, dac]) {
    assert.equal(r.ok, true, r.message);
    assert.match(r.tokens[0], /^eyJ0eXAiOiJKV1QifQ\.entra-\d+\.fake$/);
    assert.equal(r.tokens[1], r.tokens[0], "MSAL's cache");
    assert.ok(r.expires_on > Date.now() / 1000 + 3000);
  }
  assert.equal(mi.tokens[0], dac.tokens[0]);
  assert.equal(exchanges() - before, 1);
  const calls = entra.requests.slice(seen);
  assert.equal(calls.length, 1);
  assert.equal(calls[0].refused, undefined, "the fake verified edge-sts's client assertion");
  assert.equal(new URLSearchParams(calls[0].body).get("scope"), `${ARM}/.default`);
});

test("Azure: a 235-second token is inside MSAL's 5-minute margin, so each get_token refreshes through the agent", async () => {
  const before = exchanges();
  const r = await azure(short.env, "mi");
  assert.equal(r.ok, true, r.message);
  assert.notEqual(r.tokens[0], r.tokens[1]);
  assert.equal(exchanges() - before, 2);
});

test("calls without the secret, or not from an SDK, are refused and never see credentials", async () => {
  const port = Number(new URL(long.env.AWS_CONTAINER_CREDENTIALS_FULL_URI).port);
  const before = exchanges();
  const host = `127.0.0.1:${port}`;
  const cases = [
    ["/aws/credentials", {}, 401],
    ["/aws/credentials", { Authorization: "x".repeat(43) }, 401],
    ["/aws/credentials", { Authorization: long.env.AWS_CONTAINER_AUTHORIZATION_TOKEN, Origin: "https://evil.example" }, 403],
    [`/azure/token?api-version=2019-08-01&resource=${encodeURIComponent(ARM)}`, {}, 401],
    [`/azure/token?api-version=2019-08-01&resource=${encodeURIComponent(ARM)}`, { "X-IDENTITY-HEADER": short.env.IDENTITY_HEADER }, 401],
    [`/azure/token?api-version=2019-08-01&resource=https%3A%2F%2Fvault.azure.net`, { "X-IDENTITY-HEADER": long.env.IDENTITY_HEADER }, 400],
    ["/computeMetadata/v1/instance/service-accounts/default/token", {}, 403],
    ["/computeMetadata/v1/instance/service-accounts/default/token", { "Metadata-Flavor": "Google", "X-Forwarded-For": "10.0.0.1" }, 403],
    ["/computeMetadata/v1/instance/service-accounts/default/token", { "Metadata-Flavor": "Google", Host: `rebound.example:${port}` }, 403],
  ];
  for (const [p, headers, status] of cases) {
    const r = await raw(port, p, { Host: host, ...headers });
    assert.equal(r.status, status, `${p} ${JSON.stringify(headers)}: ${r.body}`);
    assert.ok(!/ASIA|ya29|eyJ0eXAi/.test(r.body), r.body);
  }
  // Each protocol's error shape.
  assert.deepEqual(JSON.parse((await raw(port, "/aws/credentials", { Host: host })).body).Code, "Unauthorized");
  assert.equal(JSON.parse((await raw(port, `/azure/token?api-version=2019-08-01&resource=x`, { Host: host })).body).statusCode, 401);
  assert.equal((await raw(port, "/", { Host: host })).headers["metadata-flavor"], "Google");
  assert.equal(exchanges(), before, "no exchange for a refused call");
});

test("an SDK holding a wrong secret: boto3 and azure-identity show the agent's refusal", async () => {
  const before = exchanges();
  const r = await boto3(long.env, 1, { AWS_CONTAINER_AUTHORIZATION_TOKEN: "wrong" });
  assert.equal(r.ok, false);
  assert.equal(r.type, "CredentialRetrievalError");
  assert.match(r.message, /Error when retrieving credentials from container-role: Error retrieving metadata: Received non 200 response 401 from container metadata: \{"Code":"Unauthorized","Message":"the Authorization header is not this agent's AWS_CONTAINER_AUTHORIZATION_TOKEN"\}/);
  const a = await azure(long.env, "mi", { IDENTITY_HEADER: "wrong" });
  assert.equal(a.ok, false);
  assert.match(a.message, /App Service managed identity configuration not found in environment\. Token request error: \(invalid_scope\) 401, the X-IDENTITY-HEADER header is not this agent's IDENTITY_HEADER/);
  assert.equal(exchanges(), before);
});

test("a refused exchange: boto3 shows edge-sts's one-line refusal, and its retries cost one exchange", async () => {
  const bad = await startAgent(["--aws-target", "aws-nowhere"], 2);
  const before = exchanges();
  const r = await boto3(bad.env);
  assert.equal(r.ok, false);
  assert.equal(r.type, "CredentialRetrievalError");
  assert.match(r.message, /Received non 200 response 502 from container metadata: \{"Code":"EdgeStsError","Message":"edge-sts refused the exchange for aws-nowhere: HTTP 400 invalid_target: [^"]+"\}/);
  assert.ok(!r.message.includes(iss.clients["orders-service"].secret));
  assert.equal(exchanges() - before, 1, "botocore's three attempts within the agent's 5 s hold of the failure");
  assert.match(bad.stderr, /error: aws target aws-nowhere: edge-sts refused the exchange for aws-nowhere: HTTP 400 invalid_target/);
});

test("a refused exchange in google-auth, google-auth-library and azure-identity: the agent's message in the SDK's error", async () => {
  const bad = await startAgent(["--gcp-target", "gcp-nowhere", "--azure-target", "azure-nowhere"], 4);
  const refusal = (t) => `edge-sts refused the exchange for ${t}: HTTP 400 invalid_target: target is unknown`;
  const pyCode = GOOGLE_PY.replace("tokens = [token(), token()]", "try:\n    token()\nexcept Exception as e:\n    print(json.dumps({'type': type(e).__name__, 'message': str(e)})); sys.exit(0)");
  const py = JSON.parse((await run(SDK_PYTHON, ["-c", pyCode, "0"], { env: sdkEnv(bad.env) })).stdout);
  assert.equal(py.type, "RefreshError");
  assert.ok(py.message.includes(`metadata service. Status: 502 Response:\\nb'${refusal("gcp-nowhere")}'`), py.message);
  const jsCode = GOOGLE_NODE.replace("const tokens", "try { await client.getAccessToken(); } catch (e) { console.log(JSON.stringify({ type: e.constructor.name, message: e.message })); process.exit(0); }\nconst tokens");
  const node = JSON.parse((await run(process.execPath, ["--input-type=module", "-e", jsCode], { cwd: root, env: sdkEnv(bad.env) })).stdout);
  assert.deepEqual(node, { type: "GaxiosError", message: `Could not refresh access token: ${refusal("gcp-nowhere")}` });
  const mi = await azure(bad.env, "mi");
  assert.equal(mi.type, "CredentialUnavailableError");
  assert.equal(mi.message, `App Service managed identity configuration not found in environment. Token request error: (invalid_scope) 502, ${refusal("azure-nowhere")}`);
  const dac = await azure(bad.env, "default");
  assert.equal(dac.type, "ClientAuthenticationError");
  assert.ok(dac.message.includes(`\tManagedIdentityCredential: ${mi.message}\n`), dac.message);
});
