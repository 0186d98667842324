// End to end: the built Worker in workerd (Miniflare) against a real OIDC provider process
// (oidc-provider as a Keycloak realm). Every row of docs/http.md's error table, the happy paths
// for RS256/ES256/EdDSA subject tokens, jose interop on minted tokens, key rotation, unknown-kid
// storms, issuer outages, KV persistence, and the WebCrypto vector suite.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { readFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createLocalJWKSet, jwtVerify, decodeProtectedHeader, decodeJwt } from "jose";
import { startIssuer } from "../support/issuer.mjs";
import { startWorker, devConfig, generateSigningKey, exchange, loggedReason } from "../support/worker.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let iss, w, secrets;

async function keysOf(url) {
  return createLocalJWKSet(await (await fetch(`${url}/.well-known/jwks.json`)).json());
}


/** Asserts an RFC 6749 error response that echoes nothing secret. */
function assertError(res, status, code, secretsToHide = []) {
  assert.equal(res.status, status, `status for ${res.text}`);
  assert.equal(res.json.error, code, res.text);
  assert.equal(typeof res.json.error_description, "string");
  assert.ok(res.json.error_description.length < 120);
  assert.equal(res.headers.get("cache-control"), "no-store");
  for (const s of secretsToHide) {
    assert.ok(!res.text.includes(s), "response echoes a secret");
    for (const part of s.split(".")) if (part.length > 16) assert.ok(!res.text.includes(part), "response echoes a token segment");
  }
}

before(async () => {
  iss = await startIssuer();
  secrets = {
    SIGNING_KEY_ES256: JSON.stringify(await generateSigningKey("ES256", "edge-es-1")),
    SIGNING_KEY_RS256: JSON.stringify(await generateSigningKey("RS256", "edge-rs-1")),
  };
  w = await startWorker({ config: devConfig(iss.url), secrets });
});
after(async () => {
  await w?.stop();
  await iss?.close();
});

describe("happy paths", () => {
  test("RS256 Keycloak token -> default target, minted token verifies with jose against edge-sts JWKS", async () => {
    const subject = await iss.getToken("orders-service");
    const res = await exchange(w.url, { subject_token: subject });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers.get("cache-control"), "no-store");
    assert.equal(res.json.token_type, "Bearer");
    assert.equal(res.json.issued_token_type, "urn:ietf:params:oauth:token-type:access_token");
    assert.equal(res.json.scope, "orders:read");
    const { payload, protectedHeader } = await jwtVerify(res.json.access_token, await keysOf(w.url), {
      issuer: "http://127.0.0.1:8787", audience: "https://orders.example.test", typ: "at+jwt", algorithms: ["ES256"],
    });
    assert.equal(protectedHeader.kid, "edge-es-1");
    assert.equal(payload.sub, "orders-service");
    assert.equal(payload.client_id, "orders-service");
    assert.equal(payload.scope, "orders:read");
    assert.equal(payload.tenant_id, "acme");
    assert.deepEqual(payload.roles, ["orders-reader"]);
    assert.equal(payload.env, "test");
    assert.match(payload.jti, /^[A-Za-z0-9_-]{22}$/);
    const subjectExp = decodeJwt(subject).exp;
    assert.ok(payload.exp <= subjectExp, "never outlives the subject token");
    assert.ok(payload.exp - payload.iat <= 300 && payload.exp - payload.iat >= 290);
    assert.equal(res.json.expires_in, payload.exp - payload.iat);
  });

  test("ES256 subject, glob client rule, audience by name and by resource URI", async () => {
    const subject = await iss.getToken("billing-service");
    const byName = await exchange(w.url, { subject_token: subject, audience: "billing" });
    assert.equal(byName.status, 200, byName.text);
    const byUri = await exchange(w.url, { subject_token: subject, resource: "https://billing.example.test" });
    assert.equal(byUri.status, 200, byUri.text);
    for (const r of [byName, byUri]) assert.equal(decodeJwt(r.json.access_token).aud, "https://billing.example.test");
  });

  test("EdDSA subject token", async () => {
    const res = await exchange(w.url, { subject_token: await iss.getToken("eddsa-service") });
    assert.equal(res.status, 200, res.text);
  });

  test("RS256-signed target (Entra-style) verifies with jose", async () => {
    const res = await exchange(w.url, { subject_token: await iss.getToken("billing-service"), audience: "entra" });
    assert.equal(res.status, 200, res.text);
    const { protectedHeader } = await jwtVerify(res.json.access_token, await keysOf(w.url), { audience: "api://AzureADTokenExchange", algorithms: ["RS256"] });
    assert.equal(protectedHeader.kid, "edge-rs-1");
    assert.equal(decodeJwt(res.json.access_token).scope, undefined, "a target with no scopes grants none");
  });

  test("several audiences -> aud array, scopes limited to what all allow", async () => {
    const subject = await iss.getToken("orders-service");
    const res = await exchange(w.url, { subject_token: subject, audience: ["orders", "billing"], scope: "orders:read" });
    assert.equal(res.status, 200, res.text);
    // Targets granted together are in a fixed order (by name), not the request's.
    assert.deepEqual(decodeJwt(res.json.access_token).aud, ["https://billing.example.test", "https://orders.example.test"]);
    const wider = await exchange(w.url, { subject_token: subject, audience: ["orders", "billing"], scope: "orders:write" });
    assertError(wider, 400, "invalid_scope");
  });

  test("Authorization: Bearer carries the subject token", async () => {
    const subject = await iss.getToken("orders-service");
    const res = await exchange(w.url, { subject_token: undefined }, { headers: { authorization: `Bearer ${subject}` } });
    assert.equal(res.status, 200, res.text);
  });

  test("downscoping to a subset of allowed scopes", async () => {
    const res = await exchange(w.url, { subject_token: await iss.getToken("orders-service"), scope: "orders:write" });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.scope, "orders:write");
  });

  test("discovery and JWKS: public, CORS, private parts never published", async () => {
    const d = await fetch(`${w.url}/.well-known/openid-configuration`, { headers: { origin: "https://app.example" } });
    assert.equal(d.headers.get("access-control-allow-origin"), "*");
    const doc = await d.json();
    assert.equal(doc.issuer, "http://127.0.0.1:8787");
    assert.equal(doc.jwks_uri, "http://127.0.0.1:8787/.well-known/jwks.json");
    for (const f of ["token_endpoint", "grant_types_supported", "id_token_signing_alg_values_supported", "response_types_supported", "subject_types_supported", "claims_supported"]) assert.ok(doc[f], f);
    const j = await fetch(`${w.url}/.well-known/jwks.json`);
    assert.equal(j.headers.get("access-control-allow-origin"), "*");
    const text = await j.text();
    for (const k of JSON.parse(text).keys) {
      assert.equal(k.use, "sig");
      assert.ok(k.kid && k.alg);
      for (const p of ["d", "p", "q", "dp", "dq", "qi"]) assert.equal(k[p], undefined);
    }
    const pre = await fetch(`${w.url}/.well-known/jwks.json`, { method: "OPTIONS", headers: { origin: "https://x", "access-control-request-method": "GET" } });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get("access-control-allow-origin"), "*");
    assert.equal((await fetch(`${w.url}/healthz`)).status, 200);
  });
});

describe("the error table (docs/http.md)", () => {
  let good;
  before(async () => { good = await iss.getToken("orders-service"); });
  const raw = (body, ct = "application/x-www-form-urlencoded") =>
    fetch(`${w.url}/token`, { method: "POST", headers: { "content-type": ct }, body }).then(async (r) => {
      const text = await r.text(); return { status: r.status, headers: r.headers, text, json: JSON.parse(text) };
    });

  test("wrong content type", async () => assertError(await raw(JSON.stringify({ subject_token: good }), "application/json"), 400, "invalid_request", [good]));
  test("body too large", async () => assertError(await raw("x=" + "a".repeat(40 * 1024)), 400, "invalid_request"));
  test("missing subject_token", async () => assertError(await exchange(w.url, {}), 400, "invalid_request"));
  test("duplicated parameter", async () => assertError(await exchange(w.url, { subject_token: [good, good] }), 400, "invalid_request", [good]));
  test("missing subject_token_type", async () => assertError(await exchange(w.url, { subject_token: good, subject_token_type: undefined }), 400, "invalid_request", [good]));
  test("grant_type other than token exchange", async () => assertError(await exchange(w.url, { subject_token: good, grant_type: "client_credentials" }), 400, "unsupported_grant_type", [good]));
  test("actor_token without delegation", async () => assertError(await exchange(w.url, { subject_token: good, actor_token: good }), 400, "invalid_request", [good]));
  test("Bearer header differs from subject_token", async () => {
    const other = await iss.getToken("billing-service");
    assertError(await exchange(w.url, { subject_token: good }, { headers: { authorization: `Bearer ${other}` } }), 400, "invalid_request", [good, other]);
  });
  test("malformed token", async () => assertError(await exchange(w.url, { subject_token: "not.a.jwt" }), 400, "invalid_request"));
  test("bad signature", async () => {
    const [h, p, s] = good.split(".");
    const flipped = `${h}.${p}.${s.slice(0, 10)}${s[10] === "A" ? "B" : "A"}${s.slice(11)}`;
    assertError(await exchange(w.url, { subject_token: flipped }), 400, "invalid_request", [flipped]);
  });
  test("payload swapped under a valid signature", async () => {
    const other = await iss.sign({ ...iss.keyclaims("orders-service"), tenant_id: "evil" });
    const [h, , s] = good.split(".");
    const forged = `${h}.${other.split(".")[1]}.${s}`;
    assertError(await exchange(w.url, { subject_token: forged }), 400, "invalid_request", [forged]);
  });
  test("unknown key (after a successful refetch)", async () => {
    const t = await iss.sign(iss.keyclaims("orders-service"), { kid: "no-such-kid" });
    const res = await exchange(w.url, { subject_token: t });
    assertError(res, 400, "invalid_request", [t]);
    assert.match(res.json.error_description, /unknown key/);
  });
  test("wrong alg for the key (RS384 header on an RS256 key)", async () => {
    const t = await iss.sign(iss.keyclaims("orders-service"), { alg: "RS384", kid: "rsa-1" }).catch(() => null);
    if (t) assertError(await exchange(w.url, { subject_token: t }), 400, "invalid_request", [t]);
    const ps = await iss.sign(iss.keyclaims("orders-service"), { alg: "PS256", kid: "rsa-1" });
    assertError(await exchange(w.url, { subject_token: ps }), 400, "invalid_request", [ps]);
  });
  test("alg none and HMAC confusion", async () => {
    for (const opts of [{ alg: "none" }, { alg: "HS256" }]) {
      const t = await iss.sign(iss.keyclaims("orders-service"), { ...opts, kid: "rsa-1" });
      const res = await exchange(w.url, { subject_token: t });
      assertError(res, 400, "invalid_request", [t]);
      assert.match(res.json.error_description, /alg/);
    }
  });
  test("header key injection (jwk, jku, x5u, x5c) and crit", async () => {
    for (const header of [{ jku: "http://127.0.0.1:1/keys" }, { jwk: { kty: "RSA", n: "AQAB", e: "AQAB" } }, { x5u: "http://127.0.0.1:1/x" }, { x5c: ["AAAA"] }, { crit: ["b64"], b64: true }]) {
      const t = await iss.sign(iss.keyclaims("orders-service"), { header });
      assertError(await exchange(w.url, { subject_token: t }), 400, "invalid_request", [t]);
    }
  });
  const now = () => Math.floor(Date.now() / 1000);
  const claimCases = {
    "expired": (c) => ({ ...c, exp: now() - 120, iat: now() - 400 }),
    "not yet valid": (c) => ({ ...c, nbf: now() + 600 }),
    "issued in the future": (c) => ({ ...c, iat: now() + 600, exp: now() + 900 }),
    "wrong audience": (c) => ({ ...c, aud: ["account"] }),
    "typ ID (an ID token)": (c) => ({ ...c, typ: "ID" }),
    "typ Refresh": (c) => ({ ...c, typ: "Refresh" }),
    "exp as a string": (c) => ({ ...c, exp: String(now() + 300) }),
    "lifetime beyond the maximum": (c) => ({ ...c, exp: now() + 7200 }),
    "no client identity": (c) => { const { azp, client_id, ...rest } = c; return rest; },
    "conflicting client ids": (c) => ({ ...c, client_id: "billing-service" }),
  };
  for (const [name, mutate] of Object.entries(claimCases)) {
    test(`claims: ${name}`, async () => {
      const t = await iss.sign(mutate(iss.keyclaims("orders-service")));
      assertError(await exchange(w.url, { subject_token: t }), 400, "invalid_request", [t]);
    });
  }
  test("fractional NumericDate exp is valid", async () => {
    const c = iss.keyclaims("orders-service");
    const t = await iss.sign({ ...c, exp: c.exp + 0.5 });
    assert.equal((await exchange(w.url, { subject_token: t })).status, 200);
  });
  test("untrusted issuer is refused before any fetch", async () => {
    const before = iss.counters.jwks + iss.counters.discovery;
    for (const other of [iss.url + "/", iss.url.replace("127.0.0.1", "localhost"), "https://evil.example/realms/demo"]) {
      const t = await iss.sign({ ...iss.keyclaims("orders-service"), iss: other });
      assertError(await exchange(w.url, { subject_token: t }), 400, "invalid_request", [t]);
    }
    assert.equal(iss.counters.jwks + iss.counters.discovery, before);
  });
  test("a Keycloak user token through a listed client is refused (claims.not_service_account)", async () => {
    const t = await iss.sign(iss.userClaims("orders-service"));
    const res = await exchange(w.url, { subject_token: t });
    assertError(res, 400, "invalid_request", [t]);
    assert.match(res.json.error_description, /service-account/);
    assert.ok(!res.text.includes("alice") && !res.text.includes("orders-service"), "nothing of the token echoed");
    const line = await loggedReason(w, "claims.not_service_account");
    assert.equal(line.status, 400);
    // Named like a service account, still a user token: preferred_username is never the marker.
    const named = await iss.sign(iss.userClaims("orders-service", { preferred_username: "service-account-orders-service" }));
    assertError(await exchange(w.url, { subject_token: named }), 400, "invalid_request", [named]);
  });
  test("a Keycloak user token whose client id a realm mapper writes is refused (claims.not_service_account)", async () => {
    // A user-attribute or hard-coded-claim mapper writes clientId (before 26) or client_id into a
    // user's token: the user's name and session still give it away.
    for (const [name, mapped] of [
      ["clientId", { clientId: "orders-service", session_state: "b1f9c0de-0000-4000-8000-000000000001" }],
      ["client_id", { client_id: "orders-service" }],
      ["client_id and a service-account name", { client_id: "orders-service", preferred_username: "service-account-orders-service" }],
    ]) {
      const before = w.logs.length;
      const t = await iss.sign(iss.userClaims("orders-service", mapped));
      const res = await exchange(w.url, { subject_token: t });
      assertError(res, 400, "invalid_request", [t]);
      assert.match(res.json.error_description, /service-account/, name);
      assert.ok(!res.text.includes("alice") && !res.text.includes("orders-service"), `${name}: nothing of the token echoed`);
      let line;
      for (let i = 0; i < 50 && !line; i++) {
        line = w.logs.slice(before).filter((l) => l.startsWith("{")).map((l) => JSON.parse(l)).find((j) => j.reason);
        if (!line) await sleep(20);
      }
      assert.equal(line?.reason, "claims.not_service_account", name);
      assert.equal(line.status, 400);
    }
    // The issuer's own service-account token for that client is exchanged.
    assert.equal((await exchange(w.url, { subject_token: await iss.getToken("orders-service") })).status, 200);
  });
  test("a DPoP-bound token from the issuer is refused (claims.sender_constrained)", async () => {
    const bound = await iss.getToken("orders-service", { dpop: true });
    assert.equal(typeof decodeJwt(bound).cnf.jkt, "string", "the issuer bound it to the proof's key");
    const before = w.logs.length;
    const res = await exchange(w.url, { subject_token: bound });
    assertError(res, 400, "invalid_request", [bound]);
    assert.match(res.json.error_description, /bound to a key/);
    let line;
    for (let i = 0; i < 50 && !line; i++) {
      line = w.logs.slice(before).filter((l) => l.startsWith("{")).map((l) => JSON.parse(l)).find((j) => j.reason);
      if (!line) await sleep(20);
    }
    assert.equal(line?.reason, "claims.sender_constrained");
    assert.equal(line.status, 400);
    // A certificate-bound token (RFC 8705), signed by the issuer's key, too.
    const mtls = await iss.sign({ ...iss.keyclaims("orders-service"), cnf: { "x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2" } });
    assertError(await exchange(w.url, { subject_token: mtls }), 400, "invalid_request", [mtls]);
    await loggedReason(w, "claims.sender_constrained");
    // The same client's unbound token is exchanged.
    assert.equal((await exchange(w.url, { subject_token: await iss.getToken("orders-service") })).status, 200);
  });
  test("a token without sub, or with a non-string jti, is refused", async () => {
    const { sub, ...noSub } = iss.keyclaims("orders-service");
    const t = await iss.sign(noSub);
    assertError(await exchange(w.url, { subject_token: t }), 400, "invalid_request", [t]);
    await loggedReason(w, "claims.missing");
    const j = await iss.sign({ ...iss.keyclaims("orders-service"), jti: 42 });
    assertError(await exchange(w.url, { subject_token: j }), 400, "invalid_request", [j]);
    await loggedReason(w, "claims.type");
  });
  test("caller unknown to the policy", async () => {
    const t = await iss.getToken("stranger-service");
    assertError(await exchange(w.url, { subject_token: t }), 400, "invalid_request", [t]);
  });
  test("target unknown", async () => assertError(await exchange(w.url, { subject_token: good, audience: "nope" }), 400, "invalid_target", [good]));
  test("target not allowed for this known caller", async () => {
    const t = await iss.getToken("eddsa-service");
    assertError(await exchange(w.url, { subject_token: t, audience: "billing" }), 400, "invalid_target", [t]);
  });
  test("no target named and no default", async () => {
    const t = await iss.getToken("billing-service");
    assertError(await exchange(w.url, { subject_token: t }), 400, "invalid_target", [t]);
  });
  test("targets that need different signing algorithms", async () => {
    const t = await iss.getToken("billing-service");
    assertError(await exchange(w.url, { subject_token: t, audience: ["billing", "entra"] }), 400, "invalid_target", [t]);
  });
  test("scope beyond the policy", async () => {
    assertError(await exchange(w.url, { subject_token: good, scope: "orders:read admin" }), 400, "invalid_scope", [good]);
  });
  test("method other than POST", async () => {
    const r = await fetch(`${w.url}/token`);
    assert.equal(r.status, 405);
    assert.equal(r.headers.get("allow"), "POST");
    assert.equal((await r.json()).error, "invalid_request");
  });
  test("the log never holds a token or a signature", async () => {
    await sleep(100);
    const all = w.logs.join("\n");
    assert.ok(w.logs.length > 20, "one line per request");
    assert.ok(!all.includes(good.split(".")[2]), "signature in log");
    assert.ok(!all.includes(good.split(".")[1]), "payload in log");
    for (const l of w.logs.filter((l) => l.startsWith("{"))) {
      const j = JSON.parse(l);
      if (j.route) for (const k of ["rid", "status", "outcome", "ms"]) assert.ok(k in j, k);
    }
  });
});

// Every configuration error (field, problem, fix) is in the core's table,
// core/src/config/tests.rs; here, that the Worker refuses to serve with one.
describe("configuration", () => {
  test("invalid config: every request 503 server_error, /healthz names the field and the fix", async () => {
    const bad = devConfig(iss.url, { targets: { x: { audience: "https://x", scopes: ["a"], default_scopes: ["b"] } }, clients: [] });
    const w2 = await startWorker({ config: bad, secrets });
    try {
      const res = await exchange(w2.url, { subject_token: "x.y.z" });
      assertError(res, 503, "server_error");
      const h = await fetch(`${w2.url}/healthz`);
      assert.equal(h.status, 503);
      const body = await h.json();
      assert.equal(body.field, "targets.x.default_scopes");
      assert.match(body.fix, /subset/);
    } finally { await w2.stop(); }
  });

  test("realms stay apart: two issuers need distinct prefixes and issuer-scoped client rules; client_id carries the prefix", async () => {
    const other = { issuer: "http://127.0.0.1:9/realms/partners", audiences: ["edge-sts"] };
    const scoped = devConfig(iss.url).clients.map((c) => ({ ...c, issuer: iss.url }));
    const refused = [
      [{ trusted_issuers: [{ issuer: iss.url, audiences: ["edge-sts"], subject_prefix: "kc:" }, { ...other, subject_prefix: "kc:" }], clients: scoped },
        "trusted_issuers[1].subject_prefix", /is the same as/],
      [{ trusted_issuers: [{ issuer: iss.url, audiences: ["edge-sts"], subject_prefix: "kc:" }, { ...other, subject_prefix: "kc:partners:" }], clients: scoped },
        "trusted_issuers[1].subject_prefix", /overlaps/],
      [{ trusted_issuers: [{ issuer: iss.url, audiences: ["edge-sts"] }, { ...other, subject_prefix: "partners:" }], clients: scoped },
        "trusted_issuers[0].subject_prefix", /empty subject_prefix/],
      [{ trusted_issuers: [{ issuer: iss.url, audiences: ["edge-sts"], subject_prefix: "demo:" }, { ...other, subject_prefix: "partners:" }] },
        "clients[0].issuer", /more than one issuer/],
    ];
    for (const [overrides, field, problem] of refused) {
      const w2 = await startWorker({ config: devConfig(iss.url, overrides), secrets });
      try {
        assertError(await exchange(w2.url, { subject_token: "x.y.z" }), 503, "server_error");
        const h = await fetch(`${w2.url}/healthz`);
        assert.equal(h.status, 503);
        const body = await h.json();
        assert.equal(body.field, field);
        assert.match(body.problem, problem);
      } finally { await w2.stop(); }
    }
    // Distinct prefixes, every rule naming its issuer: minted sub and client_id carry the prefix.
    const good = devConfig(iss.url, {
      trusted_issuers: [{ issuer: iss.url, audiences: ["edge-sts"], subject_prefix: "demo:" }, { ...other, subject_prefix: "partners:" }],
      clients: scoped,
    });
    const w2 = await startWorker({ config: good, secrets });
    try {
      const res = await exchange(w2.url, { subject_token: await iss.getToken("orders-service") });
      assert.equal(res.status, 200, res.text);
      const c = decodeJwt(res.json.access_token);
      assert.equal(c.sub, "demo:orders-service");
      assert.equal(c.client_id, "demo:orders-service");
    } finally { await w2.stop(); }
  });
});

describe("JWKS cache against a live issuer", () => {
  test("a cold isolate under concurrent load: one shared refresh, no cross-request I/O", async () => {
    const iss2 = await startIssuer();
    const w2 = await startWorker({ config: devConfig(iss2.url), secrets });
    try {
      const tokens = await Promise.all(Array.from({ length: 24 }, (_, i) => iss2.sign({ ...iss2.keyclaims("orders-service"), jti: `cold-${i}` }, { alg: i % 2 ? "RS256" : "ES256" })));
      const results = await Promise.all(tokens.map((t) => exchange(w2.url, { subject_token: t })));
      assert.deepEqual(results.map((r) => r.status), tokens.map(() => 200), results.find((r) => r.status !== 200)?.text);
      assert.equal(iss2.counters.jwks, 1, "followers shared the leader's refresh");
    } finally { await w2.stop(); await iss2.close(); }
  });

  test("keys are fetched once, then served from the isolate cache", async () => {
    const c0 = iss.counters.jwks;
    for (let i = 0; i < 5; i++) assert.equal((await exchange(w.url, { subject_token: await iss.getToken("orders-service") })).status, 200);
    assert.equal(iss.counters.jwks, c0);
  });

  test("issuer key rotation: a new kid triggers one refetch and then verifies", async () => {
    await sleep(1100); // past the 1 s test cooldown since the last fetch
    const c0 = iss.counters.jwks;
    await iss.rotate();
    const t = await iss.getToken("orders-service");
    assert.notEqual(decodeProtectedHeader(t).kid, "rsa-1");
    const res = await exchange(w.url, { subject_token: t });
    assert.equal(res.status, 200, res.text);
    assert.equal(iss.counters.jwks, c0 + 1);
  });

  test("unknown-kid storm: 200 concurrent random kids cause at most one refetch per cooldown", async () => {
    await sleep(1100);
    const c0 = iss.counters.jwks;
    const started = Date.now();
    const tokens = await Promise.all(Array.from({ length: 200 }, (_, i) => iss.sign(iss.keyclaims("orders-service"), { kid: `storm-${i}-${Math.random()}` })));
    const results = await Promise.all(tokens.map((t) => exchange(w.url, { subject_token: t })));
    const elapsed = (Date.now() - started) / 1000;
    for (const r of results) assertError(r, 400, "invalid_request");
    const refetches = iss.counters.jwks - c0;
    assert.ok(refetches >= 1, "an unknown kid after the cooldown refetches");
    assert.ok(refetches <= Math.ceil(elapsed / 1) + 1, `${refetches} refetches in ${elapsed}s`);
  });
});

describe("token caches", () => {
  test("the same subject token and request reuse the minted token; another scope does not", async () => {
    const subject = await iss.getToken("orders-service");
    const a = await exchange(w.url, { subject_token: subject });
    const b = await exchange(w.url, { subject_token: subject });
    assert.equal(a.status, 200);
    assert.equal(b.json.access_token, a.json.access_token);
    assert.ok(b.json.expires_in <= a.json.expires_in);
    const c = await exchange(w.url, { subject_token: subject, scope: "orders:write" });
    assert.notEqual(c.json.access_token, a.json.access_token);
    assert.equal(decodeJwt(c.json.access_token).scope, "orders:write");
  });

  test("a cached verification is never served after its key left the issuer's JWKS", async () => {
    const iss2 = await startIssuer();
    // A generous fetch timeout: on a loaded machine a timed-out refresh would (rightly) fall back
    // to the stale keys, which is not what this test is about.
    const cfg = devConfig(iss2.url, { jwks_cache: { min_max_age_secs: 1, max_max_age_secs: 1, unknown_kid_cooldown_secs: 1, stale_if_error_secs: 60, fetch_timeout_ms: 10000 } });
    const w2 = await startWorker({ config: cfg, secrets });
    try {
      const t = await iss2.getToken("orders-service");
      assert.equal((await exchange(w2.url, { subject_token: t })).status, 200);
      assert.equal((await exchange(w2.url, { subject_token: t })).status, 200, "cached");
      await iss2.rotate({ keepOld: false });
      await sleep(1500); // the cached JWKS is no longer fresh
      const res = await exchange(w2.url, { subject_token: t });
      assertError(res, 400, "invalid_request", [t]);
      assert.match(res.json.error_description, /unknown key/);
    } finally { await w2.stop(); await iss2.close(); }
  });

  test("a cached verification is never served past exp", async () => {
    const cfg = devConfig(iss.url);
    cfg.trusted_issuers[0].leeway_secs = 0;
    const w2 = await startWorker({ config: cfg, secrets });
    try {
      const t = await iss.sign({ ...iss.keyclaims("orders-service"), exp: Math.floor(Date.now() / 1000) + 3 });
      assert.equal((await exchange(w2.url, { subject_token: t })).status, 200);
      await sleep(3200);
      const res = await exchange(w2.url, { subject_token: t });
      assertError(res, 400, "invalid_request", [t]);
      assert.match(res.json.error_description, /expired/);
    } finally { await w2.stop(); }
  });
});

describe("issuer outages", () => {
  test("no cached keys and issuer down: 503 temporarily_unavailable with Retry-After", async () => {
    const iss2 = await startIssuer();
    const w2 = await startWorker({ config: devConfig(iss2.url), secrets });
    try {
      const t = await iss2.getToken("orders-service");
      for (const fault of ["down", "500", "html", "redirect", "huge"]) {
        iss2.setFault(fault);
        const res = await exchange(w2.url, { subject_token: t });
        assertError(res, 503, "temporarily_unavailable", [t]);
        assert.ok(Number(res.headers.get("retry-after")) >= 1);
        await sleep(1100); // let the failure back-off (1 s in tests) lapse
      }
      // Without content-length the Worker counts the streamed bytes: the padded discovery
      // document (about 260 KB, otherwise valid) is refused at the cap, not parsed.
      iss2.setFault("huge", { only: "discovery", chunked: true });
      assertError(await exchange(w2.url, { subject_token: t }), 503, "temporarily_unavailable", [t]);
      await sleep(1100);
      iss2.setFault("slow", { ms: 4000 });
      const started = Date.now();
      assertError(await exchange(w2.url, { subject_token: t }), 503, "temporarily_unavailable");
      assert.ok(Date.now() - started < 3900, "the fetch timeout (1.5 s in tests) bounds the wait");
      iss2.setFault("none");
      await sleep(1100);
      assert.equal((await exchange(w2.url, { subject_token: t })).status, 200, "recovers when the issuer is back");
    } finally { await w2.stop(); await iss2.close(); }
  });

  test("stale keys keep serving while the issuer is down, then the window closes", async () => {
    const iss2 = await startIssuer();
    const cfg = devConfig(iss2.url, { jwks_cache: { min_max_age_secs: 1, max_max_age_secs: 1, unknown_kid_cooldown_secs: 1, stale_if_error_secs: 3, fetch_timeout_ms: 1000 } });
    const w2 = await startWorker({ config: cfg, secrets });
    try {
      const t = await iss2.getToken("orders-service");
      assert.equal((await exchange(w2.url, { subject_token: t })).status, 200);
      iss2.setFault("500");
      await sleep(1500); // cache expired (max age 1 s), inside the stale window (3 s)
      assert.equal((await exchange(w2.url, { subject_token: t })).status, 200, "stale keys serve");
      await sleep(3000); // past max age + stale window
      assertError(await exchange(w2.url, { subject_token: t }), 503, "temporarily_unavailable");
    } finally { await w2.stop(); await iss2.close(); }
  });

  test("Keycloak enc key sharing the signing kid is no ambiguity: tokens with and without kid still verify", async () => {
    const iss2 = await startIssuer();
    const w2 = await startWorker({ config: devConfig(iss2.url), secrets });
    try {
      const jwks = await (await fetch(iss2.jwksUri)).json();
      const rsa1 = jwks.keys.filter((k) => k.kid === "rsa-1");
      assert.deepEqual(rsa1.map((k) => k.use).sort(), ["enc", "sig"], "the realm publishes a sig and an enc key under one kid");
      const res = await exchange(w2.url, { subject_token: await iss2.getToken("orders-service") });
      assert.equal(res.status, 200, res.text);
      // No kid: exactly one published key is usable for RS256.
      const noKid = await iss2.sign(iss2.keyclaims("orders-service"), { kid: null });
      assert.equal((await exchange(w2.url, { subject_token: noKid })).status, 200);
    } finally { await w2.stop(); await iss2.close(); }
  });

  // Duplicate kids are refused, never tried one by one.
  test("two signature keys sharing a kid are refused, not searched (key.ambiguous)", async () => {
    const iss2 = await startIssuer();
    const w2 = await startWorker({ config: devConfig(iss2.url), secrets });
    try {
      iss2.setFault("dupkids");
      const t = await iss2.getToken("orders-service");
      const res = await exchange(w2.url, { subject_token: t });
      assertError(res, 400, "invalid_request", [t]);
      assert.match(res.json.error_description, /ambiguous/);
      await loggedReason(w2, "key.ambiguous");
      // Without a kid, two RS256 keys match: refused too.
      const noKid = await iss2.sign(iss2.keyclaims("orders-service"), { kid: null });
      assertError(await exchange(w2.url, { subject_token: noKid }), 400, "invalid_request", [noKid]);
      // Tokens of another algorithm have one key and keep working.
      assert.equal((await exchange(w2.url, { subject_token: await iss2.getToken("billing-service"), audience: "billing" })).status, 200);
    } finally { await w2.stop(); await iss2.close(); }
  });

  test("persisted JWKS (KV) is a cache, not a source of trust: a record made for another key source is not used", async () => {
    // One KV namespace shared by two configurations of the same issuer: the first names an
    // attacker's jwks_uri (its record holds the attacker's keys), the second says discovery.
    const dir = mkdtempSync(path.join(tmpdir(), "edge-sts-kv-"));
    const real = await startIssuer();
    const attacker = await startIssuer();
    try {
      // The attacker's key, the real issuer's name, the same kid the real issuer uses.
      const forged = await attacker.sign({ ...attacker.keyclaims("orders-service"), iss: real.url });
      const explicit = devConfig(real.url, {
        trusted_issuers: [{ issuer: real.url, jwks_uri: attacker.jwksUri, audiences: ["edge-sts"], leeway_secs: 60 }],
      });
      const a = await startWorker({ config: explicit, secrets, kvPersist: dir });
      try {
        assert.equal((await exchange(a.url, { subject_token: forged })).status, 200, "the record is written from the attacker's keys");
        await sleep(300); // KV write happens in waitUntil
      } finally { await a.stop(); }
      const before = { ...real.counters };
      const b = await startWorker({ config: devConfig(real.url), secrets, kvPersist: dir });
      try {
        const res = await exchange(b.url, { subject_token: forged });
        assertError(res, 400, "invalid_request", [forged]);
        await loggedReason(b, "token.signature");
        assert.equal(real.counters.discovery - before.discovery, 1, "keys found through discovery, not the KV record");
        assert.equal(real.counters.jwks - before.jwks, 1);
        assert.equal((await exchange(b.url, { subject_token: await real.getToken("orders-service") })).status, 200);
      } finally { await b.stop(); }
    } finally { await real.close(); await attacker.close(); }
  });

  test("persisted JWKS (KV): a fresh isolate does not refetch", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "edge-sts-kv-"));
    const iss2 = await startIssuer();
    try {
      const t = await iss2.getToken("orders-service");
      const a = await startWorker({ config: devConfig(iss2.url), secrets, kvPersist: dir });
      assert.equal((await exchange(a.url, { subject_token: t })).status, 200);
      await sleep(300); // KV write happens in waitUntil
      await a.stop();
      const fetched = iss2.counters.jwks;
      const b = await startWorker({ config: devConfig(iss2.url), secrets, kvPersist: dir });
      try {
        assert.equal((await exchange(b.url, { subject_token: t })).status, 200);
        assert.equal(iss2.counters.jwks, fetched, "served from KV");
      } finally { await b.stop(); }
    } finally { await iss2.close(); }
  });
});

describe("signature backends agree (WebCrypto in workerd vs the vector files)", () => {
  for (const file of ["generated.json", "rfc.json"]) {
    test(file, async (t) => {
      const doc = JSON.parse(readFileSync(new URL(`../vectors/${file}`, import.meta.url)));
      assert.ok(doc.cases.length >= 9);
      const res = await fetch(`${w.url}/__test/verify`, { method: "POST", body: JSON.stringify({ cases: doc.cases }) });
      const { verdicts } = await res.json();
      const wrong = doc.cases.map((c, i) => [c.name, c.expect, verdicts[i]]).filter(([, want, got]) => want !== got);
      assert.deepEqual(wrong, []);
    });
  }
  test("Wycheproof vectors (written by `cargo test -p edge-sts-core --test wycheproof`) through WebCrypto", async () => {
    const file = new URL("../../target/wycheproof-vectors.json", import.meta.url);
    let doc;
    try { doc = JSON.parse(readFileSync(file)); } catch { throw new Error("target/wycheproof-vectors.json missing: run `cargo test -p edge-sts-core --test wycheproof` first (scripts/test.sh does)"); }
    assert.ok(doc.cases.length > 800);
    const wrong = [];
    for (let i = 0; i < doc.cases.length; i += 250) {
      const chunk = doc.cases.slice(i, i + 250);
      const { verdicts } = await (await fetch(`${w.url}/__test/verify`, { method: "POST", body: JSON.stringify({ cases: chunk }) })).json();
      chunk.forEach((c, j) => {
        const ok = c.expect === "invalid" ? verdicts[j] !== "valid" : verdicts[j] === c.expect;
        if (!ok) wrong.push([c.name, c.expect, verdicts[j]]);
      });
    }
    assert.deepEqual(wrong, []);
  });

  test("WebCrypto signs what jose verifies, for every signing algorithm", async () => {
    for (const alg of ["ES256", "RS256", "PS256", "ES384", "EdDSA"]) {
      const jwk = await generateSigningKey(alg, `k-${alg}`);
      const input = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0";
      const r = await (await fetch(`${w.url}/__test/sign`, { method: "POST", body: JSON.stringify({ jwk, input }) })).json();
      assert.ok(r.signature, `${alg}: ${JSON.stringify(r)}`);
      const { d, p, q, dp, dq, qi, ...pub } = jwk;
      const verdict = await (await fetch(`${w.url}/__test/verify`, { method: "POST", body: JSON.stringify({ cases: [{ alg, jwk: pub, input, signature: r.signature }] }) })).json();
      assert.deepEqual(verdict.verdicts, ["valid"], alg);
    }
  });
});
