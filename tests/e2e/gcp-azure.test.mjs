// Google and Entra cloud targets end to end, against protocol-faithful local fakes that check
// every parameter and record what edge-sts sent.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createLocalJWKSet, jwtVerify } from "jose";
import { startIssuer } from "../support/issuer.mjs";
import { startGoogleFake, startEntraFake } from "../support/clouds.mjs";
import { startWorker, devConfig, generateSigningKey, exchange } from "../support/worker.mjs";

const WIF = "projects/123456789/locations/global/workloadIdentityPools/edge-sts/providers/edge-sts-oidc";
const SA = "orders@example-proj.iam.gserviceaccount.com";
const TENANT = "11111111-2222-3333-4444-555555555555", APP = "66666666-7777-8888-9999-000000000000";
const CP = "https://www.googleapis.com/auth/cloud-platform";
let iss, google, entra, w, secrets;

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
  google = await startGoogleFake();
  entra = await startEntraFake();
  secrets = { SIGNING_KEY_ES256: JSON.stringify(await generateSigningKey("ES256", "c-es")), SIGNING_KEY_RS256: JSON.stringify(await generateSigningKey("RS256", "c-rs")) };
  w = await startWorker({ config: config(), secrets });
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
  const { payload, protectedHeader } = await jwtVerify(f.subject_token, await jwksOf(), { audience: `https://iam.googleapis.com/${WIF}` });
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
  const { protectedHeader } = await jwtVerify(sent.client_assertion, await jwksOf(), { audience: "api://AzureADTokenExchange", algorithms: ["RS256"] });
  assert.equal(protectedHeader.alg, "RS256");
  assert.equal(protectedHeader.typ, "JWT", "a cloud assertion is an RFC 7523 JWT, not an at+jwt access token");
});

test("documented cloud errors map to 502 server_error without echoing the cloud's message", async () => {
  const w2 = await startWorker({ config: config(), secrets });
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
