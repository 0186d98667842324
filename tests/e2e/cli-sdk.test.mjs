// NEEDS the assertion mode (branch cloud-modes: `mode: "assertion"` in cloud blocks, the executable
// source from GET /gcp/external-account) and `npm ci` with google-auth-library, and .venv-sdk
// (scripts/setup.sh). On a branch without them these tests fail. All five passed on a trial merge
// of this branch with cloud-modes (f95e262), google-auth-library installed apart.
//
// The credential helper judged by Google's and Microsoft's own SDKs:
// - google-auth (Python; its pluggable.Credentials, the class google.auth.default() builds for
//   this file, which would also look the project up at Cloud Resource Manager) and
//   google-auth-library (Node) load the external_account configuration
//   that `edge-sts credentials gcp-config` wrote, run `edge-sts credentials gcp` as its
//   `executable` source, and exchange the assertion at the Google fake (tests/support/clouds.mjs)
//   themselves, then impersonate the service account there.
// - azure-identity's WorkloadIdentityCredential reads the token file `edge-sts credentials token-file`
//   wrote and redeems it at an https Entra stand-in (azure-identity refuses a non-https
//   authority) whose certificate comes from a test CA made here with openssl.
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import https from "node:https";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { after, before, test } from "node:test";
import { createLocalJWKSet, jwtVerify } from "jose";
import { startIssuer } from "../support/issuer.mjs";
import { startGoogleFake, entraRefusal } from "../support/clouds.mjs";
import { startWorkerAsIssuer, devConfig, generateSigningKey } from "../support/worker.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const CLI = path.join(root, "target/debug/edge-sts");
const PYTHON = path.join(root, ".venv-sdk/bin/python");
const run = promisify(execFile);
const WIF = "projects/123456789/locations/global/workloadIdentityPools/edge-sts/providers/edge-sts-oidc";
const SA = "orders@example-proj.iam.gserviceaccount.com";
const CP = "https://www.googleapis.com/auth/cloud-platform";
const TENANT = "11111111-2222-3333-4444-555555555555", APP = "66666666-7777-8888-9999-000000000000";
let iss, google, entra, w, dir;

/** A TEST-ONLY CA and a localhost server certificate it signed, made with openssl. */
function testPki() {
  const o = (...a) => execFileSync("openssl", a, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  o("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=edge-sts test CA");
  o("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "tls.key", "-out", "tls.csr", "-subj", "/CN=localhost");
  writeFileSync(path.join(dir, "san.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n");
  o("x509", "-req", "-in", "tls.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "tls.pem", "-days", "1", "-extfile", "san.ext");
  return { ca: path.join(dir, "ca.pem"), key: readFileSync(path.join(dir, "tls.key")), cert: readFileSync(path.join(dir, "tls.pem")) };
}

/** Entra over https: the tenant's OIDC metadata (what MSAL reads) and the token endpoint. */
async function startHttpsEntra(pki) {
  const requests = [];
  const s = https.createServer({ key: pki.key, cert: pki.cert }, async (req, res) => {
    let body = "";
    for await (const c of req) body += c;
    requests.push({ method: req.method, url: req.url, body });
    const send = (status, obj) => { res.writeHead(status, { "content-type": "application/json" }); res.end(JSON.stringify(obj)); };
    const base = `https://localhost:${s.address().port}`;
    if (req.method === "GET" && req.url.startsWith(`/${TENANT}/v2.0/.well-known/openid-configuration`)) {
      return send(200, { issuer: `${base}/${TENANT}/v2.0`, token_endpoint: `${base}/${TENANT}/oauth2/v2.0/token`,
        authorization_endpoint: `${base}/${TENANT}/oauth2/v2.0/authorize`, jwks_uri: `${base}/${TENANT}/discovery/v2.0/keys` });
    }
    if (req.method === "POST" && req.url === `/${TENANT}/oauth2/v2.0/token`) {
      const f = Object.fromEntries(new URLSearchParams(body));
      if (f.grant_type !== "client_credentials" || f.client_id !== APP || f.client_assertion_type !== "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" || !f.scope?.endsWith("/.default")) {
        return send(400, { error: "invalid_request", error_description: "AADSTS900144: bad request", error_codes: [900144] });
      }
      // The assertion is verified as the other fakes do (discovery, JWKS, typ, aud, sub, exp).
      const refused = await entraRefusal(f.client_assertion, f.client_id);
      requests.at(-1).refused = refused?.[0];
      if (refused) return send(400, { error: "invalid_client", error_description: `AADSTS${refused[1]}: ${refused[2]}`, error_codes: [refused[1]] });
      return send(200, { token_type: "Bearer", expires_in: 3599, ext_expires_in: 3599, access_token: `entra-token-${requests.length}` });
    }
    send(404, { error: "not_found" });
  });
  await new Promise((r) => s.listen(0, "127.0.0.1", r));
  return { authority: `https://localhost:${s.address().port}`, requests, close: () => s.close() };
}

function config() {
  const c = devConfig(iss.url);
  c.targets["gcp-orders"] = { audience: `https://iam.googleapis.com/${WIF}`, scopes: [CP], default_scopes: [CP],
    gcp: { mode: "assertion", workload_identity_provider: WIF, service_account: SA, token_lifetime_secs: 3600, sts_url: google.stsUrl, iam_credentials_url: google.iamUrl } };
  c.targets["azure-orders"] = { audience: "api://AzureADTokenExchange", scopes: [], signing_alg: "RS256",
    azure: { mode: "assertion", tenant: TENANT, client_id: APP, resource: "https://management.azure.com", assertion_lifetime_secs: 1500 } };
  // The dev configuration's plain JWT target `entra` has the Entra exchange audience, which a
  // downstream target cannot share with a cloud target.
  delete c.targets.entra;
  for (const rule of c.clients) rule.targets = rule.targets.filter((t) => t !== "entra");
  c.clients.find((x) => x.client === "orders-service").targets.push("gcp-orders", "azure-orders");
  return c;
}

const clientArgs = () => ["--edge-sts", w.url, "--issuer", iss.url, "--client-id", "orders-service",
  "--client-secret-file", path.join(dir, "orders.secret"), "--allow-http-loopback"];
const jwks = async () => createLocalJWKSet(await (await fetch(`${w.url}/.well-known/jwks.json`)).json());
const sdkEnv = (extra) => ({ PATH: process.env.PATH, HOME: dir, XDG_CACHE_HOME: path.join(dir, "cache"), NO_PROXY: "127.0.0.1,localhost", ...extra });

before(async () => {
  execFileSync("cargo", ["build", "-q", "-p", "edge-sts-cli"], { cwd: root, stdio: ["ignore", "ignore", "inherit"], timeout: 900_000 });
  dir = mkdtempSync(path.join(tmpdir(), "edge-sts-cli-sdk-"));
  iss = await startIssuer();
  google = await startGoogleFake();
  entra = await startHttpsEntra(testPki());
  const secrets = { SIGNING_KEY_ES256: JSON.stringify(await generateSigningKey("ES256", "sdk-es")), SIGNING_KEY_RS256: JSON.stringify(await generateSigningKey("RS256", "sdk-rs")) };
  w = await startWorkerAsIssuer({ config: config(), secrets });
  writeFileSync(path.join(dir, "orders.secret"), iss.clients["orders-service"].secret, { mode: 0o600 });
  await run(CLI, ["credentials", "gcp-config", "--target", "gcp-orders", "--out", path.join(dir, "gcp.json"), "--output-file", path.join(dir, "gcp-out.json"), ...clientArgs()]);
});
after(async () => { await w?.stop(); google?.close(); entra?.close(); await iss?.close(); if (dir) rmSync(dir, { recursive: true, force: true }); });

/** Checks the Google fake's STS call: edge-sts's assertion for the provider, for orders-service. */
async function assertStsCallCarriesTheAssertion(stsReq) {
  const f = Object.fromEntries(new URLSearchParams(stsReq.body));
  assert.equal(f.audience, `//iam.googleapis.com/${WIF}`);
  assert.equal(f.subject_token_type, "urn:ietf:params:oauth:token-type:jwt");
  const { payload, protectedHeader } = await jwtVerify(f.subject_token, await jwks(), { audience: `https://iam.googleapis.com/${WIF}` });
  assert.equal(payload.sub, "orders-service");
  assert.equal(protectedHeader.typ, "JWT");
}

test("gcp-config wrote an executable source naming the helper with this client's options", () => {
  const cfg = JSON.parse(readFileSync(path.join(dir, "gcp.json"), "utf8"));
  assert.equal(cfg.type, "external_account");
  assert.equal(cfg.token_url, google.stsUrl);
  const exe = cfg.credential_source.executable;
  assert.equal(exe.command, [CLI, "credentials", "gcp", "--target", "gcp-orders", ...clientArgs().slice(0, 2), "--issuer", iss.url,
    "--client-id", "orders-service", "--client-secret-file", path.join(dir, "orders.secret"), "--allow-http-loopback"].join(" "));
  assert.equal(exe.output_file, path.join(dir, "gcp-out.json"));
  assert.ok(!JSON.stringify(cfg).includes("Bearer"), "no static Authorization header");
});

test("gcp-config for a target that is not a Google target in assertion mode: edge-sts's refusal and what serves it instead", async () => {
  const out = path.join(dir, "gcp-wrong.json");
  const e = await run(CLI, ["credentials", "gcp-config", "--target", "azure-orders", "--out", out, ...clientArgs()]).catch((x) => x);
  assert.equal(e.code, 2);
  assert.equal(e.stderr.trim().split("\n").length, 1, e.stderr);
  assert.match(e.stderr, /^error: edge-sts refused the external_account configuration for azure-orders: HTTP 400 invalid_target: this route serves only gcp targets in assertion mode; only a Google target with "mode": "assertion" has one; .*`edge-sts credentials token-file` \(AWS or Entra, assertion\)/);
  assert.throws(() => statSync(out), /ENOENT/);
});

test("google-auth (Python) with the executable source: STS, then impersonation, at the Google fake", async () => {
  const before = google.requests.length;
  const py = `
import os, google.auth.transport.requests as r
from google.auth import pluggable
creds = pluggable.Credentials.from_file(os.environ["GOOGLE_APPLICATION_CREDENTIALS"], scopes=["${CP}"])
creds.refresh(r.Request())
print(creds.token)
`;
  const { stdout } = await run(PYTHON, ["-c", py], { env: sdkEnv({ GOOGLE_APPLICATION_CREDENTIALS: path.join(dir, "gcp.json"), GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES: "1" }) });
  assert.match(stdout.trim(), new RegExp(`^ya29\\.sa-${SA.replace(/\./g, "\\.")}-`));
  const [stsReq, iamReq] = google.requests.slice(before);
  await assertStsCallCarriesTheAssertion(stsReq);
  assert.equal(iamReq.url, `/v1/projects/-/serviceAccounts/${SA}:generateAccessToken`);
  // The library's output file now holds the helper's answer (0600).
  const out = JSON.parse(readFileSync(path.join(dir, "gcp-out.json"), "utf8"));
  assert.equal(out.success, true);
  assert.equal(statSync(path.join(dir, "gcp-out.json")).mode & 0o777, 0o600);
});

test("google-auth-library (Node) with the same configuration", async () => {
  const before = google.requests.length;
  rmSync(path.join(dir, "gcp-out.json"), { force: true });
  const js = `
import { GoogleAuth } from "google-auth-library";
const auth = new GoogleAuth({ keyFile: process.argv[1], scopes: ["${CP}"] });
const client = await auth.getClient();
const { token } = await client.getAccessToken();
console.log(token);
`;
  const { stdout } = await run(process.execPath, ["--input-type=module", "-e", js, path.join(dir, "gcp.json")],
    { cwd: root, env: sdkEnv({ GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES: "1" }) });
  assert.match(stdout.trim(), /^ya29\.sa-/);
  await assertStsCallCarriesTheAssertion(google.requests.slice(before)[0]);
});

/** The configuration gcp-config wrote, with the helper asking for a target the client may not have. */
function refusedConfig() {
  const cfg = JSON.parse(readFileSync(path.join(dir, "gcp.json"), "utf8"));
  cfg.credential_source.executable.command = cfg.credential_source.executable.command.replace("--target gcp-orders", "--target gcp-nowhere");
  delete cfg.credential_source.executable.output_file;
  writeFileSync(path.join(dir, "gcp-bad.json"), JSON.stringify(cfg));
}

test("google-auth: a refused helper run is the library's RefreshError with the helper's code and message", async () => {
  refusedConfig();
  const py = `
import os, google.auth.transport.requests as r
from google.auth import pluggable
creds = pluggable.Credentials.from_file(os.environ["GOOGLE_APPLICATION_CREDENTIALS"], scopes=["${CP}"])
try:
    creds.refresh(r.Request())
except Exception as e:
    print(type(e).__name__, str(e))
`;
  const { stdout } = await run(PYTHON, ["-c", py], { env: sdkEnv({ GOOGLE_APPLICATION_CREDENTIALS: path.join(dir, "gcp-bad.json"), GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES: "1" }) });
  assert.match(stdout, /^RefreshError Executable returned unsuccessful response: code: EDGE_STS_ERROR, message: edge-sts refused the exchange for gcp-nowhere: HTTP 400 invalid_target: /);
  assert.ok(!stdout.includes(iss.clients["orders-service"].secret));
});

test("google-auth-library (Node): a refused helper run shows the helper's code and message", async () => {
  refusedConfig();
  const js = `
import { GoogleAuth } from "google-auth-library";
const auth = new GoogleAuth({ keyFile: process.argv[1], scopes: ["${CP}"] });
try { await (await auth.getClient()).getAccessToken(); } catch (e) { console.log(e.message); }
`;
  const { stdout } = await run(process.execPath, ["--input-type=module", "-e", js, path.join(dir, "gcp-bad.json")],
    { cwd: root, env: sdkEnv({ GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES: "1" }) });
  assert.match(stdout, /^The executable failed with exit code: EDGE_STS_ERROR and error message: edge-sts refused the exchange for gcp-nowhere: HTTP 400 invalid_target: /);
});

test("google-auth (Python) with a file source: gcp-config --token-file, the file token-file wrote", async () => {
  const before = google.requests.length;
  const token = path.join(dir, "gcp.jwt");
  await run(CLI, ["credentials", "gcp-config", "--target", "gcp-orders", "--out", path.join(dir, "gcp-file.json"), "--token-file", token, ...clientArgs()]);
  await run(CLI, ["credentials", "token-file", "--target", "gcp-orders", "--out", token, ...clientArgs()]);
  const py = `
import os, google.auth.transport.requests as r
from google.auth import identity_pool
creds = identity_pool.Credentials.from_file(os.environ["GOOGLE_APPLICATION_CREDENTIALS"], scopes=["${CP}"])
creds.refresh(r.Request())
print(creds.token)
`;
  // No GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES: a file source runs nothing.
  const { stdout } = await run(PYTHON, ["-c", py], { env: sdkEnv({ GOOGLE_APPLICATION_CREDENTIALS: path.join(dir, "gcp-file.json") }) });
  assert.match(stdout.trim(), new RegExp(`^ya29\\.sa-${SA.replace(/\./g, "\\.")}-`));
  const [stsReq] = google.requests.slice(before);
  await assertStsCallCarriesTheAssertion(stsReq);
  assert.equal(Object.fromEntries(new URLSearchParams(stsReq.body)).subject_token, readFileSync(token, "utf8"), "the file's assertion");
});

test("azure-identity WorkloadIdentityCredential reads the helper's token file and redeems it at Entra", async () => {
  const file = path.join(dir, "azure.jwt");
  await run(CLI, ["credentials", "token-file", "--target", "azure-orders", "--out", file, ...clientArgs()]);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const { payload, protectedHeader } = await jwtVerify(readFileSync(file, "utf8"), await jwks(), { audience: "api://AzureADTokenExchange" });
  assert.equal(payload.sub, "orders-service");
  assert.equal(protectedHeader.alg, "RS256");
  assert.ok(payload.exp - payload.iat >= 1500 - 1, "assertion_lifetime_secs: outlives azure-identity's 600 s re-read");
  const py = `
from azure.identity import WorkloadIdentityCredential
c = WorkloadIdentityCredential(tenant_id="${TENANT}", client_id="${APP}", token_file_path="${file}",
                               authority="${entra.authority}", disable_instance_discovery=True)
print(c.get_token("https://management.azure.com/.default").token)
`;
  const { stdout } = await run(PYTHON, ["-c", py], { env: sdkEnv({ REQUESTS_CA_BUNDLE: path.join(dir, "ca.pem") }) });
  assert.match(stdout.trim(), /^entra-token-\d+$/);
  const tokenReq = entra.requests.find((r) => r.method === "POST");
  const f = Object.fromEntries(new URLSearchParams(tokenReq.body));
  assert.equal(f.client_assertion, readFileSync(file, "utf8"), "the SDK sent the file's assertion");
  assert.equal(tokenReq.refused, undefined, "the stand-in verified the assertion through edge-sts's discovery and JWKS");
  assert.equal(f.scope, "https://management.azure.com/.default");
});
