// Google and Entra cloud targets end to end, against protocol-faithful local fakes that check
// every parameter, verify edge-sts's assertion through its own discovery and JWKS against the
// trust configured in them (the workload identity provider's issuer and audiences, the app's
// federated credentials), and record what edge-sts sent. Each Worker runs at its issuer URL.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createLocalJWKSet, jwtVerify } from "jose";
import { startIssuer } from "../support/issuer.mjs";
import { startGoogleFake, startEntraFake } from "../support/clouds.mjs";
import { startWorker, startWorkerAsIssuer, devConfig, generateSigningKey, exchange, freePort, loggedReason } from "../support/worker.mjs";

const WIF = "projects/123456789/locations/global/workloadIdentityPools/edge-sts/providers/edge-sts-oidc";
const SA = "orders@example-proj.iam.gserviceaccount.com";
const TENANT = "11111111-2222-3333-4444-555555555555", APP = "66666666-7777-8888-9999-000000000000";
const CP = "https://www.googleapis.com/auth/cloud-platform";
let iss, google, entra, w, secrets;
// The clouds' trust configuration, one entry per Worker (issuer) the tests start.
const googleIssuers = [];
const entraCredentials = [];

/** A Worker at its own issuer URL, trusted by the Google provider and by the Entra app for
 *  orders-service (unless `trusted: false`). */
async function startTrustedWorker(cfg, { path = "", trusted = true } = {}) {
  const worker = await startWorkerAsIssuer({ config: cfg, secrets, path });
  if (trusted) {
    googleIssuers.push(worker.issuer);
    entraCredentials.push({ issuer: worker.issuer, subject: "orders-service", audiences: ["api://AzureADTokenExchange"] });
  }
  return worker;
}

function config(over = {}) {
  const c = devConfig(iss.url);
  c.targets.gcp = { audience: `https://iam.googleapis.com/${WIF}`, scopes: [CP], default_scopes: [CP],
    gcp: { workload_identity_provider: WIF, service_account: SA, token_lifetime_secs: 3600, sts_url: google.stsUrl, iam_credentials_url: google.iamUrl }, ...over.gcp };
  c.targets.entra = { audience: "api://AzureADTokenExchange", scopes: [], signing_alg: "RS256",
    azure: { tenant: TENANT, client_id: APP, resource: "https://management.azure.com", authority_host: entra.authorityHost }, ...over.entra };
  c.clients.find((x) => x.client === "orders-service").targets.push("gcp", "entra");
  return c;
}

before(async () => {
  iss = await startIssuer();
  google = await startGoogleFake({ issuers: googleIssuers });
  entra = await startEntraFake({ credentials: entraCredentials });
  secrets = { SIGNING_KEY_ES256: JSON.stringify(await generateSigningKey("ES256", "c-es")), SIGNING_KEY_RS256: JSON.stringify(await generateSigningKey("RS256", "c-rs")) };
  w = await startTrustedWorker(config());
});
after(async () => { await w?.stop(); google?.close(); entra?.close(); await iss?.close(); });

const jwksOf = async () => createLocalJWKSet(await (await fetch(`${w.url}/.well-known/jwks.json`)).json());

test("Google: STS token exchange, then service-account impersonation", async () => {
  const res = await exchange(w.url, { subject_token: await iss.getToken("orders-service"), audience: "gcp" });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.token_type, "Bearer");
  assert.match(res.json.access_token, /^ya29\.sa-orders@example-proj\.iam\.gserviceaccount\.com-/);
  assert.ok(res.json.expires_in > 3500 && res.json.expires_in <= 3600);
  assert.equal(res.json.scope, CP);
  const [stsReq, iamReq] = google.requests;
  const f = Object.fromEntries(new URLSearchParams(stsReq.body));
  assert.equal(f.audience, `//iam.googleapis.com/${WIF}`);
  assert.equal(f.subject_token_type, "urn:ietf:params:oauth:token-type:jwt");
  assert.equal(stsReq.refused, undefined, "Google verified the assertion through edge-sts's discovery");
  const { payload, protectedHeader } = await jwtVerify(f.subject_token, await jwksOf(), { issuer: w.issuer, audience: `https://iam.googleapis.com/${WIF}` });
  assert.ok(protectedHeader.kid, "Google requires a kid");
  assert.equal(protectedHeader.typ, "JWT", "a cloud assertion is an RFC 7523 JWT, not an at+jwt access token");
  assert.ok(payload.exp - payload.iat < 48 * 3600);
  assert.equal(iamReq.url, `/v1/projects/-/serviceAccounts/${SA}:generateAccessToken`);
  assert.equal(iamReq.headers.authorization, "Bearer ya29.federated-1");
  assert.deepEqual(JSON.parse(iamReq.body), { scope: [CP], lifetime: "3600s" });
  const again = await exchange(w.url, { subject_token: await iss.getToken("orders-service"), audience: "gcp" });
  assert.equal(again.json.access_token, res.json.access_token, "cached until the refresh margin");
  assert.equal(google.requests.length, 2);
});

test("Entra: client credentials with edge-sts's RS256 assertion", async () => {
  const res = await exchange(w.url, { subject_token: await iss.getToken("orders-service"), audience: "entra" });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.token_type, "Bearer");
  const sent = Object.fromEntries(new URLSearchParams(entra.requests[0].body));
  assert.equal(entra.requests[0].url, `/${TENANT}/oauth2/v2.0/token`);
  assert.equal(sent.client_id, APP);
  assert.equal(sent.scope, "https://management.azure.com/.default");
  assert.equal(sent.grant_type, "client_credentials");
  assert.equal(sent.client_assertion_type, "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
  assert.equal(entra.requests[0].refused, undefined, "Entra verified the assertion through edge-sts's discovery");
  const { protectedHeader } = await jwtVerify(sent.client_assertion, await jwksOf(), { issuer: w.issuer, audience: "api://AzureADTokenExchange", algorithms: ["RS256"] });
  assert.equal(protectedHeader.alg, "RS256");
  assert.equal(protectedHeader.typ, "JWT", "a cloud assertion is an RFC 7523 JWT, not an at+jwt access token");
});

test("documented cloud errors map to 502 server_error without echoing the cloud's message", async () => {
  const w2 = await startTrustedWorker(config());
  try {
    entra.respondWith(400, { error: "invalid_client", error_description: "AADSTS700213: No matching federated identity record found for presented assertion subject 'orders-service'.", error_codes: [700213] });
    const r1 = await exchange(w2.url, { subject_token: await iss.getToken("orders-service"), audience: "entra" });
    assert.equal(r1.status, 502, r1.text);
    assert.equal(r1.json.error, "server_error");
    assert.ok(!r1.text.includes("No matching federated"), "the cloud's text is not passed through");
    google.respondWith(403, { error: { code: 403, message: "Permission 'iam.serviceAccounts.getAccessToken' denied", status: "PERMISSION_DENIED" } });
    const r2 = await exchange(w2.url, { subject_token: await iss.getToken("orders-service"), audience: "gcp" });
    assert.equal(r2.status, 502, r2.text);
  } finally { entra.respondWith(null); google.respondWith(null); await w2.stop(); }
});

// Google's external_account routes serve assertion-mode targets only: tests/e2e/cloud-modes.test.mjs.

test("Google refuses an assertion whose audience the provider does not allow: invalid_grant, 502", async () => {
  const cfg = config();
  cfg.targets["gcp-other"] = { audience: "https://gcp-other.example.test", scopes: [CP], default_scopes: [CP],
    gcp: { workload_identity_provider: WIF, sts_url: google.stsUrl, iam_credentials_url: google.iamUrl } };
  cfg.clients.find((x) => x.client === "orders-service").targets.push("gcp-other");
  const w2 = await startTrustedWorker(cfg);
  try {
    const res = await exchange(w2.url, { subject_token: await iss.getToken("orders-service"), audience: "gcp-other" });
    assert.equal(res.status, 502, res.text);
    assert.equal(res.json.error, "server_error");
    assert.equal(google.requests.at(-1).refused, "audience");
    assert.ok(!res.text.includes("does not match"), "Google's message is not passed through");
    await loggedReason(w2, "sts.gcp.invalid_grant");
  } finally { await w2.stop(); }
});

test("Entra refuses an assertion for a subject with no federated credential: AADSTS700213, 502", async () => {
  const cfg = config();
  const billing = cfg.clients.find((x) => x.client === "billing-*");
  if (!billing.targets.includes("entra")) billing.targets.push("entra");
  const w2 = await startTrustedWorker(cfg);
  try {
    const res = await exchange(w2.url, { subject_token: await iss.getToken("billing-service"), audience: "entra" });
    assert.equal(res.status, 502, res.text);
    assert.equal(res.json.error, "server_error");
    assert.equal(entra.requests.at(-1).refused, "subject");
    await loggedReason(w2, "sts.azure.subject_mismatch");
  } finally { await w2.stop(); }
});

test("an untrusted issuer: Google invalid_grant, Entra AADSTS700211", async () => {
  const w2 = await startTrustedWorker(config(), { trusted: false });
  try {
    const g = await exchange(w2.url, { subject_token: await iss.getToken("orders-service"), audience: "gcp" });
    assert.equal(g.status, 502, g.text);
    assert.equal(google.requests.at(-1).refused, "issuer");
    const e = await exchange(w2.url, { subject_token: await iss.getToken("orders-service"), audience: "entra" });
    assert.equal(e.status, 502, e.text);
    assert.equal(entra.requests.at(-1).refused, "issuer");
    await loggedReason(w2, "sts.azure.issuer_mismatch");
  } finally { await w2.stop(); }
});

test("Entra's refusals of a key rotation gone wrong and of an issuer it cannot reach: AADSTS7000272, 700027, 50166", async () => {
  // Workers that sign as `w`'s issuer (which the app trusts, and whose discovery and JWKS
  // `w` serves) with keys `w` does not publish: a kid it does not list (a key made active
  // before it was published), and `w`'s own kid on a new key (a kid reused). A third names
  // an issuer where nothing answers.
  const cases = [
    [w.issuer, await generateSigningKey("RS256", "never-published"), "kid", "sts.azure.key_not_found", "AADSTS7000272"],
    [w.issuer, await generateSigningKey("RS256", "c-rs"), "signature", "sts.azure.invalid_signature", "AADSTS700027"],
    [`http://127.0.0.1:${await freePort()}`, await generateSigningKey("RS256", "c-rs"), "discovery", "sts.azure.idp_communication", "AADSTS50166"],
  ];
  for (const [issuer, rsKey, check, reason, code] of cases) {
    if (issuer !== w.issuer) entraCredentials.push({ issuer, subject: "orders-service", audiences: ["api://AzureADTokenExchange"] });
    const w2 = await startWorker({ config: { ...config(), issuer }, secrets: { ...secrets, SIGNING_KEY_RS256: JSON.stringify(rsKey) } });
    try {
      const res = await exchange(w2.url, { subject_token: await iss.getToken("orders-service"), audience: "entra" });
      assert.equal(res.status, 502, `${code}: ${res.text}`);
      assert.equal(res.json.error, "server_error");
      assert.equal(entra.requests.at(-1).refused, check, code);
      const line = await loggedReason(w2, reason);
      assert.equal(line.cloud_code, code);
      assert.ok(!/certificate|External OIDC|signature validation/i.test(res.text + JSON.stringify(line)), "Entra's message is neither passed on nor logged");
    } finally { await w2.stop(); }
  }
});

test("an issuer with a path: Google and Entra find discovery under it and accept the assertions", async () => {
  const w2 = await startTrustedWorker(config(), { path: "/tenant-a" });
  try {
    for (const audience of ["gcp", "entra"]) {
      const res = await exchange(w2.issuer, { subject_token: await iss.getToken("orders-service"), audience });
      assert.equal(res.status, 200, `${audience}: ${res.text}`);
    }
    const gSent = Object.fromEntries(new URLSearchParams(google.requests.filter((r) => r.url === "/v1/token").at(-1).body));
    const { payload } = await jwtVerify(gSent.subject_token, createLocalJWKSet(await (await fetch(`${w2.issuer}/.well-known/jwks.json`)).json()), { issuer: w2.issuer });
    assert.equal(payload.iss, w2.issuer);
    assert.equal(entra.requests.at(-1).refused, undefined);
  } finally { await w2.stop(); }
});
