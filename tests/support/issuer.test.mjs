// TEST-ONLY: self-test of the Keycloak stand-in in ./issuer.mjs.
// Run from the repo root: node --test tests/support/issuer.test.mjs
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { createRemoteJWKSet, decodeProtectedHeader, errors as joseErrors, jwtVerify } from "jose";

import { startIssuer } from "./issuer.mjs";

// A fresh key set each time so jose's own JWKS cache never hides what the issuer serves now.
const verify = (iss, token, opts = {}) =>
  jwtVerify(token, createRemoteJWKSet(new URL(iss.jwksUri)), { issuer: iss.url, ...opts });

describe("issuer (oidc-provider as Keycloak)", () => {
  let iss;
  before(async () => {
    iss = await startIssuer({ port: 0 });
  });
  after(() => iss?.close());

  test("urls and discovery", async () => {
    assert.match(iss.url, /^http:\/\/127\.0\.0\.1:\d+\/realms\/demo$/);
    assert.equal(iss.url, `http://127.0.0.1:${iss.port}/realms/demo`);
    assert.equal(iss.jwksUri, `${iss.url}/protocol/openid-connect/certs`);
    assert.equal(iss.tokenEndpoint, `${iss.url}/protocol/openid-connect/token`);
    assert.equal(iss.discoveryUrl, `${iss.url}/.well-known/openid-configuration`);
    const res = await fetch(iss.discoveryUrl);
    assert.equal(res.status, 200);
    const doc = await res.json();
    assert.equal(doc.issuer, iss.url);
    assert.equal(doc.jwks_uri, iss.jwksUri);
    assert.equal(doc.token_endpoint, iss.tokenEndpoint);
    assert.ok(doc.grant_types_supported.includes("client_credentials"));
  });

  test("discovery and certs send Keycloak's CORS headers to a browser origin", async () => {
    const origin = "http://127.0.0.1:8787";
    const counted = { ...iss.counters };
    for (const url of [iss.discoveryUrl, iss.jwksUri]) {
      const get = await fetch(url, { headers: { origin } });
      assert.equal(get.status, 200, url);
      assert.equal(get.headers.get("access-control-allow-origin"), origin, url);
      assert.equal(get.headers.get("access-control-allow-credentials"), "true", url);
      assert.equal(get.headers.get("access-control-allow-methods"), null, url);
      await get.json();
      const pre = await fetch(url, { method: "OPTIONS", headers: { origin, "access-control-request-method": "GET" } });
      assert.equal(pre.status, 200, url);
      assert.equal(pre.headers.get("access-control-allow-origin"), origin, url);
      assert.equal(pre.headers.get("access-control-allow-methods"), "GET", url);
      assert.match(pre.headers.get("access-control-allow-headers"), /^Origin, Accept, .*Authorization$/, url);
      assert.equal(pre.headers.get("access-control-max-age"), "3600", url);
      // No Origin: no CORS headers (Keycloak's DefaultCors ignores such requests).
      const plain = await fetch(url);
      assert.equal(plain.headers.get("access-control-allow-origin"), null, url);
      await plain.arrayBuffer();
    }
    // Preflights are not counted as document fetches.
    assert.equal(iss.counters.jwks - counted.jwks, 2);
    assert.equal(iss.counters.discovery - counted.discovery, 2);
  });

  const expected = {
    "orders-service": { alg: "RS256", roles: ["orders-reader"], tenant_id: "acme", environment: "dev" },
    "billing-service": { alg: "ES256", roles: ["billing"], tenant_id: "globex" },
    "eddsa-service": { alg: "EdDSA", roles: ["orders-reader"], tenant_id: "initech" },
  };
  for (const [clientId, want] of Object.entries(expected)) {
    test(`client_credentials token for ${clientId} (${want.alg}) is Keycloak-shaped and verifies`, async () => {
      assert.equal(iss.clients[clientId].alg, want.alg);
      assert.equal(iss.clients[clientId].secret, `${clientId}-secret-TEST-ONLY`);
      const token = await iss.getToken(clientId);
      const { payload, protectedHeader } = await verify(iss, token);
      assert.equal(protectedHeader.alg, want.alg);
      assert.equal(protectedHeader.typ, "JWT");
      assert.equal(typeof protectedHeader.kid, "string");
      assert.ok(protectedHeader.kid.length > 0);
      assert.equal(payload.iss, iss.url);
      assert.ok(Array.isArray(payload.aud));
      assert.ok(payload.aud.includes("edge-sts"));
      assert.deepEqual(payload.aud, ["account", "edge-sts"]);
      assert.equal(payload.typ, "Bearer");
      assert.equal(payload.azp, clientId);
      assert.equal(payload.client_id, clientId);
      assert.equal(payload.preferred_username, `service-account-${clientId.toLowerCase()}`);
      // A client_credentials token has no user session and is not bound to a key.
      assert.equal(payload.sid, undefined);
      assert.equal(payload.session_state, undefined);
      assert.equal(payload.cnf, undefined);
      assert.deepEqual(payload.realm_access, { roles: want.roles });
      assert.equal(payload.tenant_id, want.tenant_id);
      assert.equal(payload.environment, want.environment);
      assert.equal(payload.sub, iss.clients[clientId].sub);
      assert.equal(payload.exp - payload.iat, 300);
      assert.equal(typeof payload.jti, "string");
      assert.equal(typeof payload.scope, "string");
    });
  }

  test("scopes, basic auth, and errors", async () => {
    const token = await iss.getToken("orders-service", { scope: "openid orders:write", auth: "basic" });
    const { payload } = await verify(iss, token);
    assert.deepEqual(payload.scope.split(" ").sort(), ["openid", "orders:read", "orders:write"]);
    // unknown scopes are dropped silently
    const t2 = await iss.getToken("orders-service", { scope: "orders:read not-a-scope" });
    assert.equal((await verify(iss, t2)).payload.scope, "orders:read");
    await assert.rejects(iss.getToken("orders-service", { secret: "wrong" }), /HTTP 401 .*invalid_client/);
    await assert.rejects(iss.getToken("billing-service", { scope: "orders:read" }), /HTTP 400 .*invalid_scope/);
    const stranger = await iss.getToken("stranger-service");
    assert.equal((await verify(iss, stranger)).payload.azp, "stranger-service");
  });

  test("a token requested with a DPoP proof is bound to the proof's key (cnf.jkt)", async () => {
    const token = await iss.getToken("orders-service", { dpop: true });
    const { payload } = await verify(iss, token);
    assert.deepEqual(Object.keys(payload.cnf), ["jkt"]);
    assert.match(payload.cnf.jkt, /^[A-Za-z0-9_-]{43}$/, "an RFC 7638 SHA-256 thumbprint");
    assert.equal(payload.client_id, "orders-service", "otherwise a service account's token");
    const other = await verify(iss, await iss.getToken("orders-service", { dpop: true }));
    assert.notEqual(other.payload.cnf.jkt, payload.cnf.jkt, "a fresh key per request");
  });

  test("userClaims(): a Keycloak user's token, with its session, without a client id", async () => {
    const c = iss.userClaims("orders-service");
    assert.equal(c.azp, "orders-service");
    assert.equal(c.preferred_username, "alice");
    assert.equal(typeof c.sid, "string");
    for (const absent of ["client_id", "clientId", "clientHost", "clientAddress", "session_state"]) assert.equal(c[absent], undefined, absent);
    assert.notEqual(c.sub, iss.clients["orders-service"].sub);
    // A realm's mapper can add a claim, and a claim can be removed.
    const mapped = iss.userClaims("orders-service", { clientId: "orders-service", sid: undefined });
    assert.equal(mapped.clientId, "orders-service");
    assert.ok(!("sid" in mapped));
    const { payload } = await verify(iss, await iss.sign(c));
    assert.deepEqual(payload, c);
  });

  test("JWKS: sig keys plus a use=enc RSA-OAEP key sharing the RS256 kid", async () => {
    const res = await fetch(iss.jwksUri);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("cache-control"), "no-cache");
    const { keys } = await res.json();
    assert.deepEqual(keys, iss.publicJwks().keys);
    const sig = keys.filter((k) => k.use === "sig");
    assert.deepEqual(sig.map((k) => k.kid).sort(), ["ec-1", "ed-1", "rsa-1"]);
    for (const k of sig) {
      assert.ok(k.kid && k.alg, "kid and alg present");
      assert.equal(k.d, undefined, "no private parts published");
    }
    const rsa = sig.find((k) => k.alg === "RS256");
    assert.equal(rsa.e, "AQAB");
    assert.equal(Buffer.from(rsa.n, "base64url").length * 8, 2048);
    const enc = keys.filter((k) => k.use === "enc");
    assert.equal(enc.length, 1);
    assert.equal(enc[0].alg, "RSA-OAEP");
    assert.equal(enc[0].kid, rsa.kid);
    assert.notEqual(enc[0].n, rsa.n);
  });

  test("sign() and keyclaims() forge tokens under the current keys", async () => {
    for (const alg of ["RS256", "ES256", "EdDSA"]) {
      const claims = iss.keyclaims("orders-service");
      const token = await iss.sign(claims, { alg });
      const { payload, protectedHeader } = await verify(iss, token);
      assert.equal(protectedHeader.typ, "JWT");
      assert.equal(protectedHeader.alg, alg);
      assert.deepEqual(payload, claims);
    }
    const expired = iss.keyclaims("billing-service");
    expired.exp = expired.iat - 60;
    await assert.rejects(verify(iss, await iss.sign(expired, { alg: "ES256" })), joseErrors.JWTExpired);
    const ghost = await iss.sign(iss.keyclaims("orders-service"), { kid: "no-such-kid", header: { typ: "at+jwt" } });
    assert.deepEqual(decodeProtectedHeader(ghost), { alg: "RS256", kid: "no-such-kid", typ: "at+jwt" });
    await assert.rejects(verify(iss, ghost), joseErrors.JWKSNoMatchingKey);
  });

  test("faults on discovery/certs, counters, cache-control", async (t) => {
    t.after(() => {
      iss.setFault("none");
      iss.setCacheControl("no-cache");
    });
    const before = { ...iss.counters };

    iss.setFault("500");
    assert.equal((await fetch(iss.jwksUri)).status, 500);
    assert.equal((await fetch(iss.discoveryUrl)).status, 500);
    // the token endpoint is never faulted
    await iss.getToken("orders-service");

    iss.setFault("html");
    const html = await fetch(iss.jwksUri);
    assert.equal(html.status, 200);
    assert.match(html.headers.get("content-type"), /^text\/html/);
    await html.text();

    iss.setFault("down");
    await assert.rejects(fetch(iss.jwksUri));

    iss.setFault("redirect");
    const r = await fetch(iss.jwksUri, { redirect: "manual" });
    assert.equal(r.status, 302);
    const moved = await fetch(new URL(r.headers.get("location")));
    assert.deepEqual((await moved.json()).keys, iss.publicJwks().keys);

    iss.setFault("huge");
    const huge = await fetch(iss.jwksUri);
    const hugeText = await huge.text();
    assert.ok(Buffer.byteLength(hugeText) > 200 * 1024);
    assert.ok(JSON.parse(hugeText).keys.length > 100);

    iss.setFault("dupkids");
    const dup = (await (await fetch(iss.jwksUri)).json()).keys.filter((k) => k.use === "sig" && k.kty === "RSA");
    assert.equal(dup.length, 2);
    assert.equal(dup[0].kid, dup[1].kid);
    assert.notEqual(dup[0].n, dup[1].n);

    iss.setFault("slow", { ms: 300 });
    const t0 = Date.now();
    assert.equal((await fetch(iss.jwksUri)).status, 200);
    assert.ok(Date.now() - t0 >= 250);

    iss.setFault("none");
    iss.setCacheControl("max-age=60");
    assert.equal((await fetch(iss.jwksUri)).headers.get("cache-control"), "max-age=60");

    assert.equal(iss.counters.jwks - before.jwks, 8);
    assert.equal(iss.counters.discovery - before.discovery, 1);
    assert.equal(iss.counters.token - before.token, 1);
    assert.equal(iss.counters.moved - before.moved, 1);
  });
});

describe("issuer key rotation", () => {
  let iss;
  before(async () => {
    iss = await startIssuer();
  });
  after(() => iss?.close());

  test("rotate keeps the old key, then drops it", async () => {
    const oldToken = await iss.getToken("orders-service");
    const oldEc = await iss.getToken("billing-service");
    assert.equal(decodeProtectedHeader(oldToken).kid, "rsa-1");

    await iss.rotate(); // keepOld: true
    const newToken = await iss.getToken("orders-service");
    assert.equal(decodeProtectedHeader(newToken).kid, "rsa-2");
    assert.equal(decodeProtectedHeader(await iss.getToken("billing-service")).kid, "ec-2");
    await verify(iss, newToken);
    await verify(iss, oldToken);
    await verify(iss, oldEc);
    const keys = iss.publicJwks().keys;
    assert.deepEqual(
      keys.filter((k) => k.use === "sig").map((k) => k.kid).sort(),
      ["ec-1", "ec-2", "ed-1", "rsa-1", "rsa-2"],
    );
    assert.equal(keys.find((k) => k.use === "enc").kid, "rsa-2");
    // forged tokens follow the current key too
    assert.equal(decodeProtectedHeader(await iss.sign({ a: 1 })).kid, "rsa-2");

    await iss.rotate({ keepOld: false });
    const newest = await iss.getToken("orders-service");
    assert.equal(decodeProtectedHeader(newest).kid, "rsa-3");
    await verify(iss, newest);
    await verify(iss, await iss.getToken("eddsa-service"));
    await assert.rejects(verify(iss, oldToken), joseErrors.JWKSNoMatchingKey);
    await assert.rejects(verify(iss, newToken), joseErrors.JWKSNoMatchingKey);
    assert.deepEqual(
      iss.publicJwks().keys.filter((k) => k.use === "sig").map((k) => k.kid).sort(),
      ["ec-3", "ed-1", "rsa-3"],
    );
  });

  test("dropOldKeys removes non-current keys without new ones", async () => {
    await iss.rotate();
    const kids = () => iss.publicJwks().keys.filter((k) => k.use === "sig").map((k) => k.kid).sort();
    assert.deepEqual(kids(), ["ec-3", "ec-4", "ed-1", "rsa-3", "rsa-4"]);
    await iss.dropOldKeys();
    assert.deepEqual(kids(), ["ec-4", "ed-1", "rsa-4"]);
    await verify(iss, await iss.getToken("orders-service"));
  });
});
