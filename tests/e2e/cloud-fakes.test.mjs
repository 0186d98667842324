// The cloud fakes verify what they receive, as the clouds do: every check of
// tests/support/assertion.mjs, then each fake's refusal in its cloud's own words. The issuer here
// is the Keycloak stand-in (it serves discovery and JWKS), signing assertions by hand.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startIssuer } from "../support/issuer.mjs";
import { verifyAssertion } from "../support/assertion.mjs";
import { startGoogleFake, startEntraFake } from "../support/clouds.mjs";
import { startAwsSts } from "../support/aws.mjs";

const WIF = "projects/123456789/locations/global/workloadIdentityPools/edge-sts/providers/edge-sts-oidc";
const TENANT = "11111111-2222-3333-4444-555555555555", APP = "66666666-7777-8888-9999-000000000000";
const now = () => Math.floor(Date.now() / 1000);
let iss;

before(async () => { iss = await startIssuer(); });
after(async () => { await iss?.close(); });

const claims = (over = {}) => ({ iss: iss.url, sub: "orders-service", aud: "sts.amazonaws.com", iat: now(), exp: now() + 300, jti: "j1", ...over });
const tamper = (jwt) => { const [h, p, s] = jwt.split("."); return `${h}.${p}.${s.slice(0, -4)}${s.slice(-4) === "AAAA" ? "BBBB" : "AAAA"}`; };

describe("verifyAssertion", () => {
  test("accepts a well-formed assertion found through its issuer's discovery", async () => {
    const v = await verifyAssertion(await iss.sign(claims()), { audiences: ["sts.amazonaws.com"] });
    assert.equal(v.ok, true, JSON.stringify(v));
    assert.equal(v.payload.sub, "orders-service");
  });

  test("names the check that failed", async () => {
    const cases = [
      ["malformed", "not-a-jwt", {}],
      ["issuer", await iss.sign(claims()), { issuers: ["https://other.example"] }],
      ["issuer", await iss.sign(claims({ iss: "https://evil.example/realms/demo" })), {}],
      ["discovery", await iss.sign(claims({ iss: "http://127.0.0.1:9/nowhere" })), {}],
      ["kid", await iss.sign(claims(), { kid: "no-such-key" }), {}],
      ["kid", await iss.sign(claims(), { kid: null }), {}],
      ["signature", tamper(await iss.sign(claims())), {}],
      ["signature", await iss.sign(claims(), { alg: "HS256" }), {}],
      ["typ", await iss.sign(claims(), { header: { typ: "at+jwt" } }), {}],
      ["audience", await iss.sign(claims({ aud: "sts.other.example" })), { audiences: ["sts.amazonaws.com"] }],
      ["subject", await iss.sign(claims({ sub: undefined })), {}],
      ["subject", await iss.sign(claims({ sub: "" })), {}],
      ["expired", await iss.sign(claims({ exp: now() - 3600 })), {}],
      ["iat", await iss.sign(claims({ iat: now() + 3600, exp: now() + 7200 })), {}],
      ["alg", await iss.sign(claims(), { alg: "ES256" }), { algorithms: ["RS256"] }],
    ];
    for (const [check, jwt, opts] of cases) {
      const v = await verifyAssertion(jwt, opts);
      assert.equal(v.ok, false, `${check}: accepted`);
      assert.equal(v.check, check, `${check}: ${JSON.stringify(v)}`);
    }
  });

  test("discovery that redirects elsewhere is refused (no redirects followed)", async () => {
    iss.setFault("redirect", { only: "discovery" });
    try {
      const v = await verifyAssertion(await iss.sign(claims()));
      assert.equal(v.check, "discovery");
    } finally { iss.setFault("none"); }
  });
});

describe("each fake refuses in its cloud's words", () => {
  test("AWS: InvalidIdentityToken / ExpiredTokenException XML; moto is not reached", async () => {
    const sts = await startAwsSts({ providers: [{ url: iss.url, clientIds: ["sts.amazonaws.com"] }] });
    try {
      const call = async (token) => {
        const r = await fetch(sts.endpoint, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({
          Action: "AssumeRoleWithWebIdentity", Version: "2011-06-15", RoleArn: "arn:aws:iam::123456789012:role/r", RoleSessionName: "s", WebIdentityToken: token }) });
        return { status: r.status, text: await r.text() };
      };
      const ok = await call(await iss.sign(claims()));
      assert.equal(ok.status, 200, ok.text);
      assert.match(ok.text, /<AssumeRoleWithWebIdentityResponse/);
      for (const [token, code, words] of [
        [await iss.sign(claims({ aud: "sts.other.example" })), "InvalidIdentityToken", "Incorrect token audience"],
        [tamper(await iss.sign(claims())), "InvalidIdentityToken", "could not be validated"],
        [await iss.sign(claims({ exp: now() - 3600 })), "ExpiredTokenException", "Token expired"],
        [await iss.sign(claims({ iss: "http://127.0.0.1:9/x" })), "InvalidIdentityToken", "No OpenIDConnect provider found"],
      ]) {
        const r = await call(token);
        assert.equal(r.status, 400, r.text);
        assert.match(r.text, new RegExp(`<Code>${code}</Code>`));
        assert.match(r.text, new RegExp(words));
        assert.match(r.text, /^<ErrorResponse xmlns="https:\/\/sts\.amazonaws\.com\/doc\/2011-06-15\/">/);
        assert.equal(sts.requests.at(-1).refused, code, "refused by the proxy, before moto");
      }
    } finally { await sts.close(); }
  });

  test("Google STS: invalid_grant; the provider's default audience in both spellings, or the allowed ones", async () => {
    const google = await startGoogleFake({ issuers: [iss.url] });
    const strict = await startGoogleFake({ issuers: [iss.url], allowedAudiences: ["https://only-this.example"] });
    try {
      const call = async (fake, token) => {
        const r = await fetch(fake.stsUrl, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({
          grant_type: "urn:ietf:params:oauth:grant-type:token-exchange", audience: `//iam.googleapis.com/${WIF}`, scope: "https://www.googleapis.com/auth/cloud-platform",
          requested_token_type: "urn:ietf:params:oauth:token-type:access_token", subject_token_type: "urn:ietf:params:oauth:token-type:jwt", subject_token: token }) });
        return { status: r.status, json: await r.json() };
      };
      for (const aud of [`https://iam.googleapis.com/${WIF}`, `//iam.googleapis.com/${WIF}`]) assert.equal((await call(google, await iss.sign(claims({ aud })))).status, 200, aud);
      assert.equal((await call(strict, await iss.sign(claims({ aud: "https://only-this.example" })))).status, 200);
      for (const [fake, token, words] of [
        [google, await iss.sign(claims({ aud: "https://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/other" })), /audience in ID Token/],
        [strict, await iss.sign(claims({ aud: `https://iam.googleapis.com/${WIF}` })), /audience in ID Token/],
        [google, tamper(await iss.sign(claims({ aud: `https://iam.googleapis.com/${WIF}` }))), /signature/],
        [google, await iss.sign(claims({ aud: `https://iam.googleapis.com/${WIF}`, exp: now() - 3600 })), /expired/],
        [google, await iss.sign(claims({ aud: `https://iam.googleapis.com/${WIF}`, iss: "http://127.0.0.1:9/x" })), /issuer/],
      ]) {
        const r = await call(fake, token);
        assert.equal(r.status, 400);
        assert.equal(r.json.error, "invalid_grant");
        assert.match(r.json.error_description, words);
      }
    } finally { google.close(); strict.close(); }
  });

  test("Entra: AADSTS codes for issuer, audience, subject, signature, time", async () => {
    const entra = await startEntraFake({ credentials: [{ issuer: iss.url, subject: "orders-service", audiences: ["api://AzureADTokenExchange"] }] });
    try {
      const call = async (assertion) => {
        const r = await fetch(`${entra.authorityHost}/${TENANT}/oauth2/v2.0/token`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({
          grant_type: "client_credentials", client_id: APP, scope: "https://management.azure.com/.default",
          client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", client_assertion: assertion }) });
        return { status: r.status, json: await r.json() };
      };
      const aud = "api://AzureADTokenExchange";
      assert.equal((await call(await iss.sign(claims({ aud })))).status, 200);
      for (const [token, code] of [
        [await iss.sign(claims({ aud, iss: "http://127.0.0.1:9/x" })), 700211],
        [await iss.sign(claims({ aud: "api://Other" })), 700212],
        [await iss.sign(claims({ aud, sub: "billing-service" })), 700213],
        [tamper(await iss.sign(claims({ aud }))), 700027],
        [await iss.sign(claims({ aud }), { kid: "no-such-key" }), 7000272],
        [await iss.sign(claims({ aud, exp: now() - 3600 })), 700024],
      ]) {
        const r = await call(token);
        assert.equal(r.status, 400, JSON.stringify(r.json));
        assert.equal(r.json.error, "invalid_client");
        assert.deepEqual(r.json.error_codes, [code]);
        assert.match(r.json.error_description, new RegExp(`^AADSTS${code}: `));
      }
    } finally { entra.close(); }
  });

  test("with no trust configured, any loopback issuer is trusted but the assertion is still verified", async () => {
    const google = await startGoogleFake();
    const entra = await startEntraFake();
    try {
      const g = await fetch(google.stsUrl, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({
        grant_type: "urn:ietf:params:oauth:grant-type:token-exchange", audience: `//iam.googleapis.com/${WIF}`, scope: "x",
        requested_token_type: "urn:ietf:params:oauth:token-type:access_token", subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
        subject_token: await iss.sign(claims({ aud: `https://iam.googleapis.com/${WIF}` }), { header: { typ: "at+jwt" } }) }) });
      assert.equal(g.status, 400);
      assert.equal(google.requests.at(-1).refused, "typ");
      const e = await fetch(`${entra.authorityHost}/${TENANT}/oauth2/v2.0/token`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({
        grant_type: "client_credentials", client_id: APP, scope: "https://management.azure.com/.default",
        client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", client_assertion: await iss.sign(claims({ aud: "api://AzureADTokenExchange" })) }) });
      assert.equal(e.status, 200);
    } finally { google.close(); entra.close(); }
  });
});
