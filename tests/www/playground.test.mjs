// The browser playground (www/dist) in real headless Chromium (Debian `chromium` +
// playwright-core): decode, malformed tokens, every verification outcome, PEM/JWK/JWKS keys,
// JWKS by URL and by issuer discovery from a local server, mint -> verify, the core's vector
// files judged in the page, the paste-to-verdict time, the response headers the Worker serves
// it with (no other origin can frame it), and that the page makes no network request except the
// ones a test asked for. Screenshots go to tests/artifacts/.
//
//   scripts/test-www.sh      (builds www/dist first; installs chromium if missing)
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createServer } from "node:http";
import { createPublicKey, generateKeyPairSync, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { chromium } from "playwright-core";
import * as jose from "jose";
// The demo issuer exactly as scripts/dev.sh starts it (scripts/dev.mjs calls the same startIssuer).
import { startIssuer } from "../support/issuer.mjs";
// The Worker in workerd, as the e2e tests start it (build-test/, from scripts/build.sh test).
import { startWorker, devConfig, generateSigningKey, exchange } from "../support/worker.mjs";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DIST = join(ROOT, "www/dist");
const ARTIFACTS = join(ROOT, "tests/artifacts");
const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";

// ---------------------------------------------------------------------------------------------
// Local servers: the static site, and a separate origin for keys (discovery + JWKS, with CORS).

const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".wasm": "application/wasm" };

function listen(handler) {
  return new Promise((resolve) => {
    const server = createServer(handler);
    server.listen(0, "127.0.0.1", () => resolve({ server, url: `http://127.0.0.1:${server.address().port}` }));
  });
}

function startSite() {
  return listen(async (req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    const file = normalize(join(DIST, path === "/" ? "index.html" : path));
    if (!file.startsWith(DIST) || !existsSync(file)) {
      res.writeHead(404).end("not found");
      return;
    }
    res.writeHead(200, { "content-type": TYPES[extname(file)] || "application/octet-stream", "cache-control": "no-store" });
    res.end(await readFile(file));
  });
}

/** Serves `docs` (path -> JSON) with CORS, and records every request it sees. */
function startKeyServer() {
  const seen = [];
  const docs = new Map();
  return listen((req, res) => {
    seen.push({ method: req.method, path: req.url, headers: req.headers });
    const cors = { "access-control-allow-origin": "*", "content-type": "application/json" };
    const body = docs.get(new URL(req.url, "http://x").pathname);
    if (!body) return res.writeHead(404, cors).end("{}");
    res.writeHead(200, cors).end(JSON.stringify(body));
  }).then((s) => Object.assign(s, { seen, docs }));
}

/** Like a server whose discovery sends CORS headers and whose JWKS does not (the demo issuer
 *  before it copied Keycloak's CORS). `/plain/...` sends none at all. */
function startNoCorsServer() {
  const docs = new Map();
  return listen((req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    const cors = path.endsWith("/.well-known/openid-configuration") && !path.startsWith("/plain/") ? { "access-control-allow-origin": "*" } : {};
    const body = docs.get(path);
    if (!body) return res.writeHead(404, cors).end("{}");
    res.writeHead(200, { ...cors, "content-type": "application/json" }).end(JSON.stringify(body));
  }).then((s) => Object.assign(s, { docs }));
}

/** Runs a shell line the page offers (async: the servers it reaches live in this process). */
const shell = async (line) => (await promisify(execFile)("sh", ["-c", line], { encoding: "utf8", timeout: 10000 })).stdout;

/** A loopback URL on which nothing listens. */
async function closedUrl(path) {
  const s = await listen(() => {});
  await new Promise((r) => s.server.close(r));
  return `${s.url}${path}`;
}

// ---------------------------------------------------------------------------------------------
// Keys and tokens (jose, TEST-ONLY keys generated per run).

const now = () => Math.floor(Date.now() / 1000);
let site, keysrv, nocors, demo, context, userDataDir;
const K = {};
let ISS;
const requests = []; // every request any page made: [url, page label]
const asked = new Set(); // URLs a test asked the page to fetch

async function keyPair(alg, kid, opts = {}) {
  const { publicKey, privateKey } = await jose.generateKeyPair(alg, { extractable: true, ...opts });
  const jwk = { ...(await jose.exportJWK(publicKey)), kid, alg, use: "sig" };
  return { alg, kid, publicKey, privateKey, jwk };
}

function claims(extra = {}) {
  const t = now();
  return {
    iss: ISS, aud: ["account", "edge-sts"], exp: t + 300, iat: t, jti: "test-jti", sub: "9c1c1f5e-service-account",
    typ: "Bearer", azp: "orders-service", client_id: "orders-service", scope: "profile email",
    realm_access: { roles: ["offline_access"] }, resource_access: { account: { roles: ["view-profile"] } },
    clientHost: "192.0.2.10", clientAddress: "192.0.2.10", preferred_username: "service-account-orders-service", acr: "1",
    ...extra,
  };
}

async function sign(key, claimSet, header = {}) {
  const c = Object.fromEntries(Object.entries(claimSet).filter(([, v]) => v !== undefined));
  return new jose.SignJWT(c).setProtectedHeader({ alg: key.alg, typ: "JWT", kid: key.kid, ...header }).sign(key.privateKey);
}

const b64u = (s) => Buffer.from(s).toString("base64url");
const jwks = (...keys) => JSON.stringify({ keys: keys.map((k) => k.jwk) });

before(async () => {
  assert.ok(existsSync(join(DIST, "index.html")), "www/dist is missing: run scripts/build-www.sh");
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium`);
  await mkdir(ARTIFACTS, { recursive: true });
  site = await startSite();
  keysrv = await startKeyServer();
  ISS = `${keysrv.url}/realms/demo`;
  K.rsa = await keyPair("RS256", "rsa-1");
  K.ec = await keyPair("ES256", "ec-1");
  K.ecWrong = await keyPair("ES256", "ec-1"); // same kid, different key
  K.ecOther = await keyPair("ES256", "ec-2");
  K.ed = await keyPair("EdDSA", "ed-1", { crv: "Ed25519" });
  keysrv.docs.set("/jwks.json", { keys: [K.rsa.jwk, K.ec.jwk, K.ed.jwk] });
  keysrv.docs.set("/realms/demo/.well-known/openid-configuration", { issuer: ISS, jwks_uri: `${ISS}/protocol/openid-connect/certs` });
  keysrv.docs.set("/realms/demo/protocol/openid-connect/certs", { keys: [K.rsa.jwk, K.ec.jwk] });
  nocors = await startNoCorsServer();
  demo = await startIssuer({ port: 0 });
  userDataDir = await mkdtemp(join(tmpdir(), "edge-sts-chromium-"));
  // A fresh profile per run (playwright wants it as launchPersistentContext's argument rather
  // than a --user-data-dir flag).
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
    viewport: { width: 1400, height: 1000 },
    // A zone away from UTC without daylight saving, so "local time beside UTC" is checkable.
    timezoneId: "Asia/Kolkata",
    locale: "en-GB",
  });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: site.url });
});

after(async () => {
  await context?.close();
  site?.server.close();
  keysrv?.server.close();
  nocors?.server.close();
  await demo?.close();
  if (userDataDir) await rm(userDataDir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// Page helpers.

async function openPage(label) {
  const page = await context.newPage();
  const errors = [];
  page.on("request", (r) => requests.push([r.url(), label]));
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  await page.goto(`${site.url}/`);
  await page.waitForSelector("body[data-ready='1']");
  page.errors = errors;
  return page;
}

async function setExpect(page, { profile = "edge", issuer = ISS, aud = "edge-sts", typ = "Bearer", keys = "", keyAlg = "", allowMissingSub = false, appToken = "" } = {}) {
  await page.check(`#profile-${profile}`);
  await page.fill("#exp-issuer", issuer);
  await page.fill("#exp-aud", aud);
  await page.fill("#exp-typ", typ);
  await page.selectOption("#key-alg", keyAlg);
  await page.setChecked("#exp-allow-missing-sub", allowMissingSub);
  await page.fill("#exp-app-token", appToken);
  await page.fill("#keys", keys);
}

async function verdict(page) {
  return page.$eval("#verdict", (e) => ({ status: e.dataset.status, reason: e.dataset.reason, text: e.textContent }));
}

async function checks(page) {
  return page.$$eval("#checks li", (els) => Object.fromEntries(els.map((e) => [e.dataset.id, { status: e.dataset.status, reason: e.dataset.reason, text: e.textContent }])));
}

async function shot(page, name) {
  await page.screenshot({ path: join(ARTIFACTS, `playground-${name}.png`), fullPage: true });
}

// ---------------------------------------------------------------------------------------------

test("decode: header and payload pretty-printed, claims explained in place, live times", async () => {
  const page = await openPage("decode");
  const token = await sign(K.rsa, claims());
  await page.fill("#token", token);
  const v = await verdict(page);
  assert.equal(v.status, "unverified", v.text);
  const header = await page.textContent("#header-view");
  assert.match(header, /"alg": "RS256"/);
  assert.match(header, /"kid": "rsa-1"/);
  assert.match(header, /Signature algorithm/);
  const payload = await page.textContent("#payload-view");
  for (const [claim, note] of [["azp", /Authorized party/], ["realm_access", /Realm roles/], ["resource_access", /Client roles/],
    ["clientHost", /connected from/], ["clientAddress", /IP address of the client/], ["typ", /Bearer \(access token\)/],
    ["acr", /Authentication Context Class/], ["preferred_username", /service-account-/], ["scope", /Granted scopes/], ["iss", /realm URL/]]) {
    assert.match(payload, new RegExp(`"${claim}"`), claim);
    assert.match(payload, note, claim);
  }
  const exp = await page.textContent("#times dd[data-claim='exp']");
  assert.match(exp, /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(expires in 4 min 5\d s\)|expires in 5 min 0 s/, exp);
  // The countdown ticks every second; on a loaded machine a tick can land late, so wait for it
  // (up to 5 s) instead of sampling once.
  const before = exp.match(/\((.*)\)/)[1];
  let later = before;
  for (let i = 0; i < 50 && later === before; i++) {
    await page.waitForTimeout(100);
    later = await page.textContent("#times dd[data-claim='exp'] .live");
  }
  assert.notEqual(later, before, "the countdown moves");
  assert.equal(await page.textContent("#sig-view"), "256 bytes.");
  // Nothing went into the URL.
  assert.equal(new URL(page.url()).search + new URL(page.url()).hash, "");
  await shot(page, "decode");
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("malformed tokens: the problem is pointed at (segment, character, JSON line/column)", async () => {
  const page = await openPage("malformed");
  const good = await sign(K.ec, claims());
  const [h, p, s] = good.split(".");

  // A character that is not base64url inside the payload.
  const bad = `${h}.${p.slice(0, 10)}*${p.slice(11)}.${s}`;
  await page.fill("#token", bad);
  let li = await page.$eval("#problem-list li", (e) => ({ seg: e.dataset.segment, reason: e.dataset.reason, text: e.textContent }));
  assert.equal(li.seg, "payload");
  assert.equal(li.reason, "token.base64");
  assert.match(li.text, new RegExp(`payload, character 11, token character ${h.length + 1 + 11}`));
  assert.equal(await page.textContent("#tokview mark.bad"), "*");
  let c = await checks(page);
  assert.equal(c.payload.status, "fail");
  assert.equal(c.payload.reason, "token.base64");
  assert.equal((await verdict(page)).reason, "token.base64");
  await shot(page, "malformed-base64");

  // Payload that is not JSON: line and column, with a caret under the spot.
  const notJson = `${h}.${b64u('{\n  "iss": x}')}.${s}`;
  await page.fill("#token", notJson);
  li = await page.$eval("#problem-list li", (e) => ({ seg: e.dataset.segment, reason: e.dataset.reason, text: e.textContent }));
  assert.equal(li.seg, "payload");
  assert.equal(li.reason, "token.json");
  assert.match(li.text, /line 2, column 10/);
  assert.match(await page.textContent("#payload-view .caret"), /\^ line 2, column 10/);
  assert.equal(await page.textContent("#payload-view mark.bad"), "x");
  await shot(page, "malformed-json");

  // Wrong segment count, and a JWE.
  await page.fill("#token", `${h}.${p}`);
  assert.equal((await verdict(page)).reason, "token.malformed");
  assert.match(await page.textContent("#problem-list"), /2 segments; a JWS has exactly 3/);
  c = await checks(page);
  assert.equal(c.segments.reason, "token.malformed");
  assert.equal(c.header.status, "pass", "the header still decodes");
  // Skipped rules are listed too (and visible), not only the failures.
  assert.equal(c.signature.status, "skip");
  assert.equal(await page.isVisible("#checks li[data-id='signature']"), true);
  await page.fill("#token", `${h}.${p}.${s}.extra`);
  assert.match(await page.textContent("#problem-list"), /4 segments.*one too many/);
  await page.fill("#token", "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a.b.c.d");
  assert.equal((await verdict(page)).reason, "token.encrypted");

  // Padding and whitespace are pointed at too; surrounding whitespace is ignored (and said so).
  await page.fill("#token", `${good}==`);
  assert.match(await page.textContent("#problem-list"), /signature.*padding/);
  await page.fill("#token", `  Bearer ${good}\n`);
  assert.match(await page.textContent("#normalized"), /whitespace.*Bearer/);
  assert.equal((await verdict(page)).status, "unverified");
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("every verification outcome, with the Worker's reason codes", async () => {
  const page = await openPage("outcomes");
  const all = jwks(K.rsa, K.ec, K.ed);
  const t = now();
  const rsaPem = createPublicKey({ key: K.rsa.jwk, format: "jwk" }).export({ type: "spki", format: "pem" });
  const good = await sign(K.ec, claims());
  const [gh, gp, gs] = good.split(".");
  const sigBytes = Buffer.from(gs, "base64url");
  sigBytes[10] ^= 1;
  const cases = [
    ["valid RS256", await sign(K.rsa, claims()), { keys: all }, "valid", null, null],
    ["valid ES256", good, { keys: all }, "valid", null, null],
    ["valid EdDSA", await sign(K.ed, claims()), { keys: all }, "valid", null, null],
    ["valid RS256 against a PEM public key", await sign(K.rsa, claims(), { kid: undefined }), { keys: rsaPem }, "valid", null, null],
    ["valid against a single JWK", good, { keys: JSON.stringify(K.ec.jwk) }, "valid", null, null],
    ["bad signature", `${gh}.${gp}.${sigBytes.toString("base64url")}`, { keys: all }, "invalid", "token.signature", "signature"],
    ["wrong key (same kid)", await sign(K.ecWrong, claims()), { keys: all }, "invalid", "token.signature", "signature"],
    ["unknown kid", await sign(K.ec, claims(), { kid: "nope" }), { keys: all }, "invalid", "key.unknown_kid", "kid"],
    ["key bound to another alg", await sign(K.ec, claims(), { kid: "rsa-1" }), { keys: all }, "invalid", "key.alg_mismatch", "key_binding"],
    ["expired", await sign(K.ec, claims({ exp: t - 120, iat: t - 420 })), { keys: all }, "invalid", "claims.expired", "exp"],
    ["not yet valid (nbf)", await sign(K.ec, claims({ nbf: t + 600, exp: t + 900 })), { keys: all }, "invalid", "claims.nbf", "nbf"],
    ["issued in the future", await sign(K.ec, claims({ iat: t + 600, exp: t + 900 })), { keys: all }, "invalid", "claims.iat", "iat"],
    ["lifetime too long", await sign(K.ec, claims({ exp: t + 7200 })), { keys: all }, "invalid", "claims.lifetime", "lifetime"],
    ["wrong iss", await sign(K.ec, claims({ iss: `${ISS}/` })), { keys: all }, "invalid", "token.untrusted_issuer", "iss"],
    ["wrong aud", await sign(K.ec, claims({ aud: "account" })), { keys: all }, "invalid", "claims.aud", "aud"],
    ["typ ID (an ID token)", await sign(K.ec, claims({ typ: "ID" })), { keys: all }, "invalid", "claims.typ", "typ"],
    ["no client id", await sign(K.ec, claims({ azp: undefined, client_id: undefined })), { keys: all }, "invalid", "claims.not_service_account", "client_id"],
    ["a user's token (azp, no client_id)", await sign(K.ec, claims({ client_id: undefined, preferred_username: "alice", sid: "s1" })), { keys: all },
      "invalid", "claims.not_service_account", "client_id"],
    ["pre-26 service account (clientId)", await sign(K.ec, claims({ client_id: undefined, clientId: "orders-service" })), { keys: all }, "valid", null, null],
    ["a user's token with its client id from a mapper", await sign(K.ec, claims({ preferred_username: "alice", sid: "s1" })), { keys: all },
      "invalid", "claims.not_service_account", "client_id"],
    ["a DPoP-bound service-account token", await sign(K.ec, claims({ cnf: { jkt: "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I" } })), { keys: all },
      "invalid", "claims.sender_constrained", "cnf"],
    ["an Okta user whose login is the client id", await sign(K.ec, claims({ client_id: undefined, azp: undefined, sub: "orders-service", cid: "orders-service", uid: "00u1" })),
      { keys: all, appToken: '{"client_claim": "cid", "marker": {"claim": "sub", "equals_claim": "cid", "absent_claims": ["uid"]}}' },
      "invalid", "claims.not_service_account", "client_id"],
    ["Entra app token under its app_token rule", await sign(K.ec, claims({ client_id: undefined, idtyp: "app" })),
      { keys: all, appToken: '{"client_claim": "azp", "marker": {"claim": "idtyp", "equals": "app"}}' }, "valid", null, null],
    ["Entra user token under its app_token rule", await sign(K.ec, claims({ client_id: undefined, idtyp: "user" })),
      { keys: all, appToken: '{"client_claim": "azp", "marker": {"claim": "idtyp", "equals": "app"}}' }, "invalid", "claims.not_service_account", "client_id"],
    ["no sub", await sign(K.ec, claims({ sub: undefined })), { keys: all }, "invalid", "claims.missing", "sub"],
    ["no sub, allowed", await sign(K.ec, claims({ sub: undefined })), { keys: all, allowMissingSub: true }, "valid", null, null],
    ["sub not a string", await sign(K.ec, claims({ sub: 42 })), { keys: all }, "invalid", "claims.type", "claim_types"],
    ["jti not a string", await sign(K.ec, claims({ jti: ["a"] })), { keys: all }, "invalid", "claims.type", "claim_types"],
    ["kid names two keys (ambiguous)", good, { keys: jwks(K.ec, K.ecWrong) }, "invalid", "key.ambiguous", "kid"],
    ["no kid, two keys fit ES256 (ambiguous)", await sign(K.ec, claims(), { kid: undefined }), { keys: jwks(K.ec, K.ecOther) }, "invalid", "key.ambiguous", "kid"],
    ["no kid, one key fits", await sign(K.ec, claims(), { kid: undefined }), { keys: all }, "valid", null, null],
    ["conflicting client ids", await sign(K.ec, claims({ client_id: "someone-else" })), { keys: all }, "invalid", "claims.client_id_conflict", "client_id"],
    ["alg none", `${b64u('{"alg":"none","typ":"JWT"}')}.${gp}.`, { keys: all }, "invalid", "token.alg", "alg"],
    ["HS256 keyed with the public key", await new jose.SignJWT(claims()).setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(Buffer.from(rsaPem)),
      { keys: rsaPem }, "invalid", "token.alg", "alg"],
    ["jku in the header", await sign(K.ec, claims(), { jku: "https://attacker.example/jwks" }), { keys: all }, "invalid", "token.header_key", "header_key_refs"],
    ["header typ of another token kind", await sign(K.ec, claims(), { typ: "logout+jwt" }), { keys: all }, "invalid", "token.header_typ", "header_typ"],
  ];
  // What the failing check says, for the cases where the words are the point.
  const says = {
    "a user's token (azp, no client_id)": /not a service-account \(client credentials\) token, e\.g\. a user's token/,
    "Entra user token under its app_token rule": /not a service-account \(client credentials\) token.*idtyp/,
    "a user's token with its client id from a mapper": /user session \(sid "s1"\).*mapper/,
    "a DPoP-bound service-account token": /bound to a DPoP key/,
    "an Okta user whose login is the client id": /it carries uid/,
    "no sub": /RFC 9068 requires a non-empty sub/,
    "sub not a string": /sub is 42 \(must be a string\)/,
    "kid names two keys (ambiguous)": /ambiguous: 2 different keys have kid ec-1 and fit ES256/,
    "no kid, two keys fit ES256 (ambiguous)": /ambiguous: the token has no kid and 2 different keys fit ES256/,
  };
  for (const [name, token, opts, status, reason, checkId] of cases) {
    await setExpect(page, opts);
    await page.fill("#token", token);
    const v = await verdict(page);
    assert.equal(v.status, status, `${name}: ${v.text}`);
    assert.ok(!/null|undefined/.test(v.text), `${name}: ${v.text}`);
    if (reason) {
      assert.equal(v.reason, reason, name);
      assert.match(v.text, /POST \/token would answer (400|503) (invalid_request|temporarily_unavailable)/, name);
      const c = await checks(page);
      assert.equal(c[checkId].status, "fail", `${name}: check ${checkId}`);
      assert.equal(c[checkId].reason, reason, `${name}: check ${checkId}`);
      if (says[name]) assert.match(c[checkId].text, says[name], name);
    } else {
      const c = await checks(page);
      const failed = Object.entries(c).filter(([, x]) => x.status === "fail");
      assert.deepEqual(failed, [], name);
      assert.equal(c.signature.status, "pass", name);
    }
    if (["valid RS256", "expired", "alg none", "typ ID (an ID token)", "wrong key (same kid)", "a user's token (azp, no client_id)",
      "kid names two keys (ambiguous)"].includes(name)) {
      await shot(page, `verify-${name.replace(/[^a-z0-9]+/gi, "-").toLowerCase()}`);
    }
  }
  // Every claim failure is listed, not only the first one the Worker stops at.
  await setExpect(page, { keys: all });
  await page.fill("#token", await sign(K.ec, claims({ exp: t - 120, iat: t - 420, aud: "account", typ: "ID" })));
  const c = await checks(page);
  assert.deepEqual(["exp", "aud", "typ"].map((id) => c[id].reason), ["claims.expired", "claims.aud", "claims.typ"]);
  assert.equal((await verdict(page)).reason, "claims.expired");
  // Expectations left blank are reported as not checked.
  await setExpect(page, { keys: all, issuer: "", aud: "" });
  await page.fill("#token", good);
  const v = await verdict(page);
  assert.equal(v.status, "valid");
  assert.match(v.text, /Not checked \(left blank\): issuer, audience/);
  assert.deepEqual(page.errors, []);
  await page.close();
});

// Tokens of other issuers, shaped as they issue them (generated here, signed by a test key).
function foreignTokens() {
  const t = now();
  const tid = "72f988bf-86f1-41af-91ab-2d7cd011db47";
  return {
    auth0: sign(K.ec, { iss: "https://tenant.eu.auth0.com/", sub: "abc123@clients", aud: ["https://api.example.test", "https://tenant.eu.auth0.com/userinfo"],
      iat: t - 60, exp: t + 86400 - 60, azp: "abc123", gty: "client-credentials", scope: "read:orders" }),
    entraV1: sign(K.ec, { aud: "api://orders", iss: `https://sts.windows.net/${tid}/`, iat: t - 300, nbf: t - 300, exp: t + 4200, appid: "1b3f9c2e",
      appidacr: "1", idp: `https://sts.windows.net/${tid}/`, oid: "9a0e7d61", sub: "9a0e7d61", tid, ver: "1.0", roles: ["Orders.Read"], uti: "x1" }, { x5t: "ec-1" }),
    atJwt: sign(K.ec, { iss: "https://as.example.test", sub: "5ba552d67", aud: "https://rs.example.test", exp: t + 3600, iat: t,
      jti: "dbe39bf3a3ba4238a513f51d6e1691c4", client_id: "s6BhdRkqt3", scope: "openid profile" }, { typ: "at+jwt" }),
  };
}

test("any JWT (the default): Auth0-, Entra v1- and RFC 9068-shaped tokens get a green verdict; blank means not checked", async () => {
  const page = await openPage("any-jwt");
  assert.equal(await page.isChecked("#profile-any"), true, "any JWT is the default");
  for (const id of ["#exp-issuer", "#exp-aud", "#exp-lifetime", "#exp-typ", "#exp-required", "#exp-app-token"]) {
    assert.equal(await page.inputValue(id), "", `${id} starts blank`);
  }
  await page.fill("#keys", jwks(K.ec));
  const tokens = foreignTokens();
  const edgeSays = { auth0: "claims.lifetime", entraV1: "claims.lifetime", atJwt: "claims.typ" };
  for (const [name, pending] of Object.entries(tokens)) {
    await page.check("#profile-any");
    await page.fill("#token", await pending);
    const v = await verdict(page);
    assert.equal(v.status, "valid", `${name}: ${v.text}`);
    assert.match(v.text, /Valid JWT/, name);
    const c = await checks(page);
    assert.deepEqual(Object.entries(c).filter(([, x]) => x.status === "fail"), [], name);
    assert.equal(c.signature.status, "pass", name);
    assert.equal(c.exp.status, "pass", name);
    for (const id of ["lifetime", "typ", "client_id", "iss", "aud"]) assert.equal(c[id].status, "skip", `${name}: ${id} not checked when blank`);
    // Not Keycloak: no explanation says so.
    assert.doesNotMatch(await page.textContent("#payload-view"), /Keycloak/, name);
    assert.doesNotMatch(v.text, /Keycloak/, name);
    if (name === "auth0") await shot(page, "any-jwt-auth0");
    // As edge-sts would (its defaults), the same token is refused, with the Worker's reason.
    await page.check("#profile-edge");
    assert.equal((await verdict(page)).reason, edgeSays[name], `${name} as edge-sts would`);
  }
  // What the user fills in is checked: a max lifetime under Auth0's 24 h.
  await page.check("#profile-any");
  assert.equal(await page.inputValue("#exp-lifetime"), "", "back to any JWT, the untouched default is cleared");
  await page.fill("#token", await tokens.auth0);
  await page.fill("#exp-lifetime", "3600");
  let v = await verdict(page);
  assert.equal(v.reason, "claims.lifetime");
  assert.match(v.text, /exceeds max_token_lifetime_secs 3600/, "the failing check's sentence is in the verdict");
  await page.fill("#exp-lifetime", "");
  await page.fill("#exp-aud", "https://other.example.test");
  v = await verdict(page);
  assert.equal(v.reason, "claims.aud");
  assert.doesNotMatch(v.text, /Keycloak/);
  await page.fill("#exp-aud", "");
  // A Keycloak token is explained as one.
  await page.fill("#token", await sign(K.ec, claims()));
  assert.match(await page.textContent("#payload-view"), /Keycloak realm URL/);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("as edge-sts would, from a pasted configuration: the same answer as the Worker for the same token and configuration", async () => {
  const iss2 = `${keysrv.url}/realms/other`;
  const trusted = [
    { issuer: iss2, jwks_uri: `${keysrv.url}/jwks.json`, audiences: ["x"], subject_prefix: "other:" },
    { issuer: ISS, jwks_uri: `${keysrv.url}/jwks.json`, audiences: ["edge-sts"], subject_prefix: "kc:", leeway_secs: 30,
      max_token_lifetime_secs: 600, required_claims: ["scope"], algorithms: ["ES256", "RS256"] },
  ];
  const config = devConfig(ISS, { trusted_issuers: trusted });
  config.clients = [{ client: "orders-service", issuer: ISS, targets: ["orders"], default_target: "orders" }];
  const secrets = {
    SIGNING_KEY_ES256: JSON.stringify(await generateSigningKey("ES256", "sts-es")),
    SIGNING_KEY_RS256: JSON.stringify(await generateSigningKey("RS256", "sts-rs")),
  };
  const w = await startWorker({ config, secrets });
  const page = await openPage("config");
  try {
    await page.check("#profile-config");
    assert.equal(await page.isVisible("#expectations"), false, "the configuration replaces the hand-filled rules");
    await page.fill("#token", await sign(K.ec, claims()));
    await page.waitForFunction(() => document.querySelector("#verdict").dataset.status === "config", null, { timeout: 20000 });
    await page.fill("#keys", jwks(K.rsa, K.ec, K.ed));
    const t = now();
    const cases = [
      ["service account", await sign(K.ec, claims())],
      ["lifetime over the issuer's 600 s", await sign(K.ec, claims({ exp: t + 900 }))],
      ["an ID token (typ ID)", await sign(K.ec, claims({ typ: "ID" }))],
      ["a user's token", await sign(K.ec, claims({ client_id: undefined, preferred_username: "alice" }))],
      ["a user's token with its client id from a mapper", await sign(K.ec, claims({ preferred_username: "alice", sid: "s1" }))],
      ["a token bound to a key", await sign(K.ec, claims({ cnf: { "x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2" } }))],
      ["wrong audience", await sign(K.ec, claims({ aud: "account" }))],
      ["required claim missing", await sign(K.ec, claims({ scope: undefined }))],
      ["EdDSA not in the issuer's algorithms", await sign(K.ed, claims())],
      ["expired beyond the 30 s leeway", await sign(K.ec, claims({ iat: t - 400, exp: t - 45 }))],
      ["an issuer the configuration does not trust", await sign(K.ec, claims({ iss: `${keysrv.url}/realms/nope` }))],
      ["the other trusted issuer's rules", await sign(K.ec, claims({ iss: iss2 }))],
    ];
    for (const [name, token] of cases) {
      const before = w.logs.length;
      const res = await exchange(w.url, { subject_token: token });
      let worker = "valid";
      if (res.status !== 200) {
        let line;
        for (let i = 0; i < 50 && !line; i++) {
          line = w.logs.slice(before).filter((l) => l.startsWith("{")).map((l) => JSON.parse(l)).find((j) => j.reason);
          if (!line) await new Promise((r) => setTimeout(r, 20));
        }
        assert.ok(line, `${name}: the Worker logged a reason`);
        worker = line.reason;
      }
      const want = { "service account": "valid", "the other trusted issuer's rules": "claims.aud", "an issuer the configuration does not trust": "token.untrusted_issuer",
        "EdDSA not in the issuer's algorithms": "token.alg_not_allowed", "lifetime over the issuer's 600 s": "claims.lifetime",
        "a user's token with its client id from a mapper": "claims.not_service_account", "a token bound to a key": "claims.sender_constrained" }[name];
      if (want) assert.equal(worker, want, `${name}: the Worker's own answer (${res.status} ${res.text})`);
      await page.fill("#config", JSON.stringify(config, null, 2));
      await page.fill("#token", token);
      const v = await verdict(page);
      assert.equal(v.status === "valid" ? "valid" : v.reason, worker, `${name}: the page says ${v.text}; the Worker answered ${res.status} ${res.text}`);
      if (res.status !== 200) {
        assert.match(v.text, new RegExp(`POST /token would answer ${res.status} ${res.json.error}`), name);
        assert.ok(v.text.includes(res.json.error_description), `${name}: ${v.text} / ${res.json.error_description}`);
      }
      if (name === "service account") {
        assert.match(v.text, new RegExp(`Rules of trusted issuer ${ISS.replace(/[/.]/g, "\\$&")}`));
        await shot(page, "config-valid");
      }
      if (name === "an issuer the configuration does not trust") assert.match(v.text, /none of the configuration's trusted issuers/);
    }
    // A configuration that does not load says which field, as the Worker's loader does.
    await page.fill("#config", JSON.stringify({ ...config, trusted_issuers: [{ ...trusted[1], leeway_secs: 900 }] }));
    const v = await verdict(page);
    assert.equal(v.status, "config");
    assert.match(v.text, /does not load: trusted_issuers\[0\]\.leeway_secs: leeway above 300 s/);
    await page.fill("#config", "");
    assert.match((await verdict(page)).text, /Paste the edge-sts configuration/);
    assert.deepEqual(page.errors, []);
  } finally {
    await page.close();
    await w.stop();
  }
});

test("the verdict carries the first failing check's sentence and the leeway; passing checks collapse; at 400 px it sits under the token", async () => {
  const page = await openPage("verdict-layout");
  await page.setViewportSize({ width: 400, height: 900 });
  await setExpect(page, { keys: jwks(K.rsa, K.ec) });
  await page.fill("#token", await sign(K.ec, claims(), { kid: "ec-9" }));
  let v = await verdict(page);
  assert.equal(v.reason, "key.unknown_kid");
  assert.match(await page.textContent("#verdict-why"), /no key has kid ec-9 \(keys: .*ec-1/);
  assert.match(v.text, /POST \/token would answer 400 invalid_request/);
  // The reason code and the /token answer are smaller than the sentence.
  const size = (sel) => page.$eval(sel, (e) => parseFloat(getComputedStyle(e).fontSize));
  assert.ok((await size("#verdict .answer")) < (await size("#verdict-why")));
  // Passing checks are collapsed; the failing one is open.
  assert.equal(await page.isVisible("#checks-open li[data-id='kid']"), true);
  assert.equal(await page.$eval("#checks-passed", (d) => d.open), false);
  assert.equal(await page.isVisible("#checks-passed li[data-id='header']"), false);
  assert.match(await page.textContent("#checks-passed summary"), /\d+ checks passed/);
  // At 400 px: the verdict right under the token field (only its Open/Clear row between).
  const box = (sel) => page.$eval(sel, (e) => { const r = e.getBoundingClientRect(); return { x: r.x, y: r.y, w: r.width, h: r.height, bottom: r.bottom, right: r.right }; });
  const ta = await box("#token");
  const vb = await box("#verdict");
  assert.ok(vb.y > ta.bottom && vb.y - ta.bottom < 90, `verdict top ${vb.y}, token field bottom ${ta.bottom}`);
  assert.ok(Math.abs(vb.x - ta.x) < 1 && Math.abs(vb.w - ta.w) < 1, "the verdict lines up with the token field");
  assert.ok(vb.right <= 400, "nothing wider than the screen");
  // The form controls align: the same left edge and width, none overflowing.
  const inputs = ["#exp-issuer", "#exp-aud", "#exp-leeway", "#exp-lifetime", "#exp-typ", "#exp-required", "#exp-app-token"];
  const boxes = await Promise.all(inputs.map(box));
  for (const [i, b] of boxes.entries()) {
    assert.ok(Math.abs(b.x - boxes[0].x) < 1 && Math.abs(b.w - boxes[0].w) < 1, `${inputs[i]} at x ${b.x} w ${b.w}, ${inputs[0]} at x ${boxes[0].x} w ${boxes[0].w}`);
    assert.ok(b.right <= 400, `${inputs[i]} fits`);
  }
  const docWidth = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(docWidth <= 400, `no horizontal scrolling (${docWidth} px)`);
  await shot(page, "verdict-400px");
  // Inside the leeway: the verdict says how long the token stays accepted.
  const t = now();
  await page.fill("#token", await sign(K.ec, claims({ iat: t - 300, exp: t - 32 })));
  v = await verdict(page);
  assert.equal(v.status, "valid", v.text);
  assert.match(v.text, /Expired 3\d s ago; accepted for 2\d s more under the 60 s leeway/);
  await shot(page, "verdict-leeway-400px");
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("a token that expires while shown is re-checked when it crosses exp + leeway", async () => {
  const page = await openPage("live");
  await setExpect(page, { keys: jwks(K.ec) });
  const t = now();
  await page.fill("#token", await sign(K.ec, claims({ iat: t - 100, exp: t - 58 })));
  assert.equal((await verdict(page)).status, "valid");
  await page.waitForFunction(() => document.querySelector("#verdict").dataset.reason === "claims.expired", null, { timeout: 6000 });
  await page.close();
});

test("JWKS by URL and by issuer discovery, fetched from the browser only on click", async () => {
  // Only this page's requests count here (the Worker of the configuration test fetches the
  // same key server's JWKS too).
  keysrv.seen.length = 0;
  const page = await openPage("fetch");
  await setExpect(page, { issuer: "", keys: "" });
  const token = await sign(K.rsa, claims());
  await page.fill("#token", token);
  assert.equal((await verdict(page)).status, "unverified");
  assert.equal(keysrv.seen.length, 0, "no fetch before a click");

  const jwksUrl = `${keysrv.url}/jwks.json`;
  asked.add(jwksUrl);
  await page.fill("#jwks-url", jwksUrl);
  await page.click("#fetch-jwks");
  await page.waitForFunction(() => /Fetched the JWKS/.test(document.querySelector("#fetch-status").textContent));
  let v = await verdict(page);
  assert.equal(v.status, "valid", v.text);
  assert.match(await page.textContent("#keys-summary"), /JWKS: 3 usable keys/);
  await shot(page, "jwks-by-url");

  // Issuer discovery: openid-configuration, then its jwks_uri; the expected issuer is filled in.
  await page.fill("#keys", "");
  await page.fill("#jwks-url", "");
  await page.click("#use-iss");
  assert.equal(await page.inputValue("#issuer-url"), ISS);
  asked.add(`${ISS}/.well-known/openid-configuration`);
  asked.add(`${ISS}/protocol/openid-connect/certs`);
  await page.click("#fetch-issuer");
  await page.waitForFunction(() => /via discovery/.test(document.querySelector("#fetch-status").textContent));
  assert.equal(await page.inputValue("#exp-issuer"), ISS);
  v = await verdict(page);
  assert.equal(v.status, "valid", v.text);
  assert.ok(!/iss/.test(v.text.split("Not checked")[1] || ""), "iss was checked");

  // A discovery document naming another issuer is refused (the Worker's rule).
  keysrv.docs.set("/evil/.well-known/openid-configuration", { issuer: "https://other.example", jwks_uri: jwksUrl });
  asked.add(`${keysrv.url}/evil/.well-known/openid-configuration`);
  await page.fill("#issuer-url", `${keysrv.url}/evil`);
  await page.click("#fetch-issuer");
  await page.waitForFunction(() => document.querySelector("#fetch-status").dataset.ok === "0");
  assert.match(await page.textContent("#fetch-status"), /names another issuer/);

  // Non-loopback http is refused before any request.
  await page.fill("#jwks-url", "http://example.com/jwks.json");
  await page.click("#fetch-jwks");
  await page.waitForFunction(() => /not https/.test(document.querySelector("#fetch-status").textContent));

  // What reached the key server: exactly the asked URLs, no token, no credentials, no referrer.
  const paths = keysrv.seen.map((r) => r.path);
  assert.deepEqual(paths, ["/jwks.json", "/realms/demo/.well-known/openid-configuration", "/realms/demo/protocol/openid-connect/certs", "/evil/.well-known/openid-configuration"]);
  for (const r of keysrv.seen) {
    assert.equal(r.method, "GET");
    assert.equal(r.headers.authorization, undefined);
    assert.equal(r.headers.cookie, undefined);
    assert.equal(r.headers.referer, undefined);
    assert.ok(!JSON.stringify(r).includes(token.split(".")[1]), "the token never leaves the page");
  }
  assert.deepEqual(page.errors.filter((e) => !/Failed to load resource/.test(e)), []);
  await page.close();
});

test("the demo issuer (as scripts/dev.sh starts it): Fetch issuer keys verifies its token", async () => {
  const page = await openPage("demo-issuer");
  await setExpect(page, { issuer: "", keys: "" });
  const token = await demo.getToken("orders-service"); // client_credentials, as in scripts/dev.mjs
  await page.fill("#token", token);
  assert.equal((await verdict(page)).status, "unverified");
  await page.click("#use-iss");
  assert.equal(await page.inputValue("#issuer-url"), demo.url);
  asked.add(demo.discoveryUrl);
  asked.add(demo.jwksUri);
  const before = { ...demo.counters };
  await page.click("#fetch-issuer");
  await page.waitForFunction(() => document.querySelector("#fetch-status").dataset.ok === "0" || /via discovery/.test(document.querySelector("#fetch-status").textContent));
  assert.match(await page.textContent("#fetch-status"), new RegExp(`Fetched the issuer's JWKS from ${demo.jwksUri}`));
  assert.equal(demo.counters.discovery - before.discovery, 1);
  assert.equal(demo.counters.jwks - before.jwks, 1);
  assert.equal(await page.inputValue("#jwks-url"), demo.jwksUri);
  assert.equal(await page.inputValue("#exp-issuer"), demo.url);
  const v = await verdict(page);
  assert.equal(v.status, "valid", v.text);
  const c = await checks(page);
  assert.equal(c.signature.status, "pass");
  assert.equal(c.iss.status, "pass");
  assert.match(await page.textContent("#keys-summary"), /JWKS: \d+ usable keys/);
  assert.equal(await page.isVisible("#fetch-help"), false);
  await shot(page, "demo-issuer-verified");
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("a failed fetch names the URL and the likely cause, offers curl, keeps what discovery found", async () => {
  const page = await openPage("fetch-fail");
  const iss = `${nocors.url}/realms/nocors`;
  const certs = `${iss}/protocol/openid-connect/certs`;
  nocors.docs.set("/realms/nocors/.well-known/openid-configuration", { issuer: iss, jwks_uri: certs });
  nocors.docs.set("/realms/nocors/protocol/openid-connect/certs", { keys: [K.rsa.jwk] });
  await setExpect(page, { issuer: "", keys: "" });
  await page.fill("#token", await sign(K.rsa, claims({ iss })));
  const failed = () => page.waitForFunction(() => document.querySelector("#fetch-status").dataset.ok === "0");

  // Discovery answers (with CORS), the JWKS has no CORS headers: the old "Failed to fetch".
  await page.fill("#issuer-url", iss);
  asked.add(`${iss}/.well-known/openid-configuration`);
  asked.add(certs);
  await page.click("#fetch-issuer");
  await failed();
  let status = await page.textContent("#fetch-status");
  assert.match(status, /Found the JWKS URL by discovery, but could not fetch it/);
  assert.ok(status.includes(certs), status);
  assert.match(status, /Likely cause: CORS/);
  assert.doesNotMatch(status, /Failed to fetch/);
  assert.equal(await page.getAttribute("#fetch-status", "data-cause"), "cors");
  assert.equal(await page.inputValue("#jwks-url"), certs, "the JWKS URL field holds what discovery found");
  assert.equal(await page.isVisible("#fetch-help"), true);
  const curl = await page.inputValue("#fetch-curl");
  assert.equal(curl, `curl -sS '${certs}'`);
  await page.click("#fetch-curl-copy");
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), curl);
  await shot(page, "fetch-cors-failure");

  // The user runs the line and pastes its output: the token verifies and the stale error goes.
  const out = await shell(curl);
  assert.deepEqual(JSON.parse(out), { keys: [K.rsa.jwk] });
  await page.fill("#keys", out);
  let v = await verdict(page);
  assert.equal(v.status, "valid", v.text);
  assert.equal(await page.getAttribute("#fetch-status", "data-ok"), "1");
  assert.doesNotMatch(await page.textContent("#fetch-status"), /CORS/);
  assert.equal(await page.isVisible("#fetch-help"), false);

  // Nothing listening: not blamed on CORS.
  const gone = await closedUrl("/jwks.json");
  asked.add(gone);
  await page.fill("#jwks-url", gone);
  await page.click("#fetch-jwks");
  await failed();
  status = await page.textContent("#fetch-status");
  assert.ok(status.includes(gone), status);
  assert.match(status, /did not answer.*not a CORS problem/);
  assert.equal(await page.getAttribute("#fetch-status", "data-cause"), "unreachable");
  assert.equal(await page.inputValue("#fetch-curl"), `curl -sS '${gone}'`);

  // A later step that succeeds clears the error and the curl offer.
  const good = `${keysrv.url}/jwks.json`;
  asked.add(good);
  await page.fill("#jwks-url", good);
  await page.click("#fetch-jwks");
  await page.waitForFunction(() => /Fetched the JWKS/.test(document.querySelector("#fetch-status").textContent));
  assert.equal(await page.getAttribute("#fetch-status", "data-ok"), "1");
  assert.equal(await page.isVisible("#fetch-help"), false);

  // Discovery itself blocked: the curl line fetches discovery; its pasted document gives the
  // JWKS URL.
  const plainIss = `${nocors.url}/plain`;
  const plainDisc = `${plainIss}/.well-known/openid-configuration`;
  nocors.docs.set("/plain/.well-known/openid-configuration", { issuer: plainIss, jwks_uri: certs });
  asked.add(plainDisc);
  await page.fill("#jwks-url", "");
  await page.fill("#issuer-url", plainIss);
  await page.click("#fetch-issuer");
  await failed();
  status = await page.textContent("#fetch-status");
  assert.match(status, /discovery document/);
  assert.ok(status.includes(plainDisc), status);
  assert.match(status, /CORS/);
  assert.equal(await page.inputValue("#fetch-curl"), `curl -sS '${plainDisc}'`);
  assert.match(await page.textContent("#fetch-help-text"), /jwks_uri/);
  await page.fill("#keys", await shell(await page.inputValue("#fetch-curl")));
  assert.equal(await page.inputValue("#jwks-url"), certs);
  assert.match(await page.textContent("#keys-problem"), /discovery document, not keys.*JWKS URL field/);
  assert.deepEqual(page.errors.filter((e) => !/Failed to load resource|CORS policy/.test(e)), []);
  await page.close();
});

test("a malformed pasted key is located (line/column), not reported as an outage", async () => {
  const page = await openPage("bad-key");
  await setExpect(page, { keys: "" });
  await page.fill("#token", await sign(K.rsa, claims()));
  const broken = `{"keys": [\n  {"kty": "RSA", n: "${K.rsa.jwk.n.slice(0, 8)}"}\n]}`;
  await page.fill("#keys", broken);
  const v = await verdict(page);
  assert.equal(v.status, "keyerror", v.text);
  assert.equal(v.reason, "key.unavailable");
  assert.match(v.text, /key input is not valid JSON at line 2, column \d+: key must be a string/);
  assert.doesNotMatch(v.text, /503|temporarily|unavailable:/);
  assert.equal(await page.isVisible("#keys-problem"), true);
  assert.match(await page.textContent("#keys-problem-text"), /line 2, column \d+/);
  assert.equal(await page.textContent("#keys-problem mark.bad"), "n", "the caret is on the unquoted key");
  assert.match(await page.textContent("#keys-problem .caret"), /\^ line 2, column \d+/);
  const c = await checks(page);
  assert.equal(c.kid.status, "fail");
  assert.equal(c.kid.reason, "key.unavailable");
  await shot(page, "malformed-key");
  // Not JSON at all (line 1), and JSON that is neither a JWK nor a JWK Set (no location).
  await page.fill("#keys", "{not json");
  assert.match((await verdict(page)).text, /not valid JSON at line 1, column 2/);
  await page.fill("#keys", '{"hello": 1}');
  const w = await verdict(page);
  assert.equal(w.status, "keyerror");
  assert.match(w.text, /not usable: key input is JSON but neither a JWK/);
  assert.equal(await page.isVisible("#keys-problem"), false);
  // Fixed: the verdict is the token's again.
  await page.fill("#keys", jwks(K.rsa));
  assert.equal((await verdict(page)).status, "valid");
  assert.equal(await page.isVisible("#keys-problem"), false);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("while the wasm loads, a pasted token shows checking…, then its verdict", async () => {
  const page = await context.newPage();
  page.on("request", (r) => requests.push([r.url(), "loading"]));
  let release;
  const held = new Promise((r) => (release = r));
  await page.route("**/edge_sts_playground_bg.wasm", async (route) => {
    await held;
    await route.continue();
  });
  await page.goto(`${site.url}/`);
  await page.waitForSelector("#token");
  assert.equal(await page.evaluate(() => document.body.dataset.ready), undefined, "the wasm is held back");
  await page.fill("#token", await sign(K.rsa, claims()));
  let v = await verdict(page);
  assert.equal(v.status, "checking");
  assert.match(v.text, /Checking…/);
  assert.doesNotMatch(v.text, /Paste a token/);
  await shot(page, "checking-while-loading");
  await page.fill("#token", "");
  assert.match((await verdict(page)).text, /Paste a token/);
  await page.fill("#token", await sign(K.rsa, claims()));
  release();
  await page.waitForSelector("body[data-ready='1']");
  v = await verdict(page);
  assert.equal(v.status, "unverified", v.text);
  await page.close();
});

test("minting: iat/exp are the signing time unless the user set them", async () => {
  const page = await context.newPage();
  page.on("request", (r) => requests.push([r.url(), "mint-clock"]));
  // The page's clock, movable (page.clock would fake the whole shared context's time).
  await page.addInitScript(() => {
    const real = Date.now.bind(Date);
    let offset = 0;
    Date.now = () => real() + offset;
    window.__advance = (secs) => (offset += secs * 1000);
  });
  await page.goto(`${site.url}/`);
  await page.waitForSelector("body[data-ready='1']");
  const loadedAt = await page.evaluate(() => Math.floor(Date.now() / 1000));
  await page.evaluate(() => window.__advance(600)); // the page has been open for 10 minutes
  await page.click("#tab-mint");
  await page.click("#mint-generate");
  await page.waitForFunction(() => document.querySelector("#mint-key-status").textContent.startsWith("New ES256"), null, { timeout: 20000 });
  await page.click("#mint-sign");
  await page.waitForFunction(() => /^Signed/.test(document.querySelector("#mint-status").textContent));
  const signedAt = await page.evaluate(() => Math.floor(Date.now() / 1000));
  const payload = (t) => JSON.parse(Buffer.from(t.split(".")[1], "base64url"));
  let p = payload(await page.inputValue("#mint-token"));
  assert.ok(signedAt - loadedAt >= 600);
  assert.ok(Math.abs(p.iat - signedAt) <= 1, `iat ${p.iat} is the signing time ${signedAt}, not the load time ${loadedAt}`);
  assert.equal(p.exp - p.iat, 300);
  assert.match(await page.textContent("#mint-status"), /iat is the signing time/);
  assert.equal(JSON.parse(await page.inputValue("#mint-claims")).iat, p.iat, "the claims show what was signed");
  // A user's own iat/exp are signed as they are.
  const cl = JSON.parse(await page.inputValue("#mint-claims"));
  cl.iat = 1700000000;
  cl.exp = 1700000300;
  await page.fill("#mint-claims", JSON.stringify(cl, null, 2));
  await page.evaluate(() => window.__advance(60));
  await page.click("#mint-sign");
  await page.waitForFunction(() => /^Signed/.test(document.querySelector("#mint-status").textContent) && !/signing time/.test(document.querySelector("#mint-status").textContent));
  p = payload(await page.inputValue("#mint-token"));
  assert.deepEqual([p.iat, p.exp], [1700000000, 1700000300]);
  await page.close();
});

test("mint -> verify round trip for every algorithm the page can generate", async () => {
  const page = await openPage("mint");
  await page.click("#tab-mint");
  assert.equal(await page.isVisible("#panel-mint"), true);
  for (const alg of ["ES256", "ES384", "RS256", "PS256", "EdDSA"]) {
    await page.selectOption("#mint-alg", alg);
    await page.click("#mint-generate");
    await page.waitForFunction((a) => document.querySelector("#mint-key-status").textContent.startsWith(`New ${a}`), alg, { timeout: 20000 });
    await page.click("#mint-now");
    await page.click("#mint-sign");
    await page.waitForFunction(() => /^Signed/.test(document.querySelector("#mint-status").textContent));
    const token = await page.inputValue("#mint-token");
    assert.equal(JSON.parse(Buffer.from(token.split(".")[0], "base64url")).alg, alg);
    await page.click("#mint-verify");
    assert.equal(await page.isVisible("#panel-inspect"), true);
    const v = await verdict(page);
    assert.equal(v.status, "valid", `${alg}: ${v.text}`);
    const c = await checks(page);
    assert.equal(c.signature.status, "pass", alg);
    assert.equal(c.iss.status, "pass", alg);
    assert.equal(c.aud.status, "pass", alg);
    // The page's token also verifies with jose against the page's public key.
    const pub = JSON.parse(await page.inputValue("#mint-public"));
    await jose.jwtVerify(token, await jose.importJWK(pub, alg), { issuer: "https://kc.example.test/realms/demo" });
    if (alg === "ES256") await shot(page, "mint-verified");
    // An edited claim is reflected: typ ID fails with claims.typ.
    if (alg === "ES256") {
      await page.click("#tab-mint");
      const cl = JSON.parse(await page.inputValue("#mint-claims"));
      cl.typ = "ID";
      await page.fill("#mint-claims", JSON.stringify(cl, null, 2));
      await page.click("#mint-sign");
      await page.waitForFunction(() => /^Signed/.test(document.querySelector("#mint-status").textContent));
      await page.click("#mint-verify");
      assert.equal((await verdict(page)).status, "valid", "any JWT: the payload typ is not checked when blank");
      await page.check("#profile-edge");
      assert.equal((await verdict(page)).reason, "claims.typ");
      await page.check("#profile-any");
      await page.click("#tab-mint");
      cl.typ = "Bearer";
      await page.fill("#mint-claims", JSON.stringify(cl, null, 2));
    }
    await page.click("#tab-mint");
  }
  await page.click("#tab-mint");
  await shot(page, "mint");
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("the core's vector files give the same verdicts in the page", async () => {
  const page = await openPage("vectors");
  let files = 0;
  for (const file of ["generated.json", "rfc.json"]) {
    const path = join(ROOT, "tests/vectors", file);
    if (!existsSync(path)) continue;
    files++;
    const text = await readFile(path, "utf8");
    const results = await page.evaluate((t) => window.edgeSts.vectorVerdicts(t), text);
    const cases = JSON.parse(text).cases;
    assert.equal(results.length, cases.length, file);
    const wrong = results.filter((r) => r.got !== r.expect).map((r) => `${r.name}: want ${r.expect}, got ${r.got}`);
    assert.deepEqual(wrong, [], file);
    assert.ok(results.length >= (file === "generated.json" ? 50 : 4), file);
  }
  assert.ok(files >= 1);
  await page.close();
});

test("first verdict within 100 ms of a paste", async () => {
  const page = await openPage("speed");
  // The heavier case: RSA-2048 through the pure-Rust backend, on a freshly loaded page.
  await setExpect(page, { keys: jwks(K.rsa, K.ec, K.ed) });
  const token = await sign(K.rsa, claims());

  // A real paste (Ctrl+V from the clipboard); the page times from the paste event.
  await page.evaluate((t) => navigator.clipboard.writeText(t), token);
  await page.focus("#token");
  await page.keyboard.press("Control+V");
  await page.waitForFunction(() => document.querySelector("#verdict").dataset.status === "valid");
  const pageMs = Number(await page.evaluate(() => document.body.dataset.verdictMs));

  // A paste event dispatched in the page, timed with performance.now() to the rendered verdict
  // and to the next frame.
  const m = await page.evaluate((t) => {
    const ta = document.querySelector("#token");
    ta.value = "";
    ta.focus();
    const dt = new DataTransfer();
    dt.setData("text/plain", t);
    const t0 = performance.now();
    ta.dispatchEvent(new ClipboardEvent("paste", { clipboardData: dt, bubbles: true, cancelable: true }));
    const sync = performance.now() - t0;
    const status = document.querySelector("#verdict").dataset.status;
    return new Promise((resolve) => requestAnimationFrame(() => resolve({ sync, frame: performance.now() - t0, status })));
  }, token);
  console.log(`# first verdict after a paste: ${pageMs.toFixed(1)} ms (Ctrl+V, page-timed); dispatched paste: ${m.sync.toFixed(1)} ms to verdict, ${m.frame.toFixed(1)} ms to next frame`);
  assert.equal(m.status, "valid");
  assert.ok(pageMs < 100, `Ctrl+V to verdict took ${pageMs} ms`);
  assert.ok(m.sync < 100, `paste to verdict took ${m.sync} ms`);
  assert.ok(m.frame < 100, `paste to painted frame took ${m.frame} ms`);
  await page.close();
});

test("keyboard and labels: tabs by arrow keys, every control labelled, focus visible", async () => {
  const page = await openPage("a11y");
  await page.focus("#tab-inspect");
  await page.keyboard.press("ArrowRight");
  assert.equal(await page.getAttribute("#tab-mint", "aria-selected"), "true");
  assert.equal(await page.evaluate(() => document.activeElement.id), "tab-mint");
  await page.keyboard.press("ArrowLeft");
  assert.equal(await page.getAttribute("#tab-inspect", "aria-selected"), "true");
  const unlabelled = await page.$$eval("input, textarea, select", (els) =>
    els.filter((e) => !(e.labels && e.labels.length) && !e.getAttribute("aria-label")).map((e) => e.id || e.outerHTML));
  assert.deepEqual(unlabelled, []);
  // Tab from the tab list reaches the token field, and focus is drawn.
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.id), "token");
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(outline, "none");
  assert.match(await page.textContent("#privacy"), /Nothing you paste or type leaves it/);
  await page.close();
});

const boxOf = (page, sel) => page.$eval(sel, (e) => { const r = e.getBoundingClientRect(); return { x: r.x, y: r.y, w: r.width, h: r.height, bottom: r.bottom, right: r.right }; });
const waitVerdict = (page, status) => page.waitForFunction((s) => document.querySelector("#verdict").dataset.status === s, status, { timeout: 5000 });

test("HMAC: HS256/384/512 verified with a secret typed into the page; edge-sts refuses them, and says so", async () => {
  const page = await openPage("hmac");
  await page.fill("#exp-issuer", ISS);
  for (const alg of ["HS256", "HS384", "HS512"]) {
    const secret = `a shared secret for ${alg} that is long enough for its hash: ${"x".repeat(48)}`;
    const token = await new jose.SignJWT(claims()).setProtectedHeader({ alg, typ: "JWT" }).sign(new TextEncoder().encode(secret));
    await page.fill("#token", token);
    await page.fill("#hmac-secret", "");
    assert.equal(await page.isVisible("#hmac-box"), true, alg);
    assert.equal(await page.textContent("#hmac-alg"), alg);
    let v = await verdict(page);
    assert.equal(v.status, "unverified", v.text);
    assert.match(v.text, new RegExp(`${alg} is an HMAC with a shared secret: type the secret`));
    assert.match(await page.textContent("#hmac-refused"), /edge-sts itself refuses HMAC subject tokens \(token\.alg\), by design/);
    // A wrong secret, then the right one.
    await page.fill("#hmac-secret", `${secret}!`);
    await waitVerdict(page, "invalid");
    v = await verdict(page);
    assert.match(v.text, /Invalid: HMAC signature.*is not the token's signature/, v.text);
    await page.fill("#hmac-secret", secret);
    await waitVerdict(page, "valid");
    v = await verdict(page);
    assert.match(v.text, new RegExp(`The ${alg} signature verifies with this secret and the token is within its time window`), v.text);
    const c = await checks(page);
    assert.equal(c.hmac.status, "pass", alg);
    assert.match(c.hmac.text, new RegExp(`HMAC-SHA-${alg.slice(2)} of header.payload under this secret is the token's signature`));
    assert.equal(c.iss.status, "pass", "the claim rules still apply");
    if (alg === "HS256") {
      await shot(page, "hmac-valid");
      await page.locator("#verdict").screenshot({ path: join(ARTIFACTS, "playground-hmac-valid-verdict.png") });
    }
    // As edge-sts would: refused with token.alg, and the HMAC outcome beside it.
    await page.check("#profile-edge");
    v = await verdict(page);
    assert.equal(v.status, "invalid");
    assert.equal(v.reason, "token.alg");
    assert.match(v.text, new RegExp(`Invalid as edge-sts would: ${alg} is refused.*Signature with the secret: verifies`));
    await page.check("#profile-any");
  }
  // A base64url-encoded secret (random bytes, as many issuers hand out).
  const raw = randomBytes(64);
  const token = await new jose.SignJWT(claims()).setProtectedHeader({ alg: "HS512", typ: "JWT" }).sign(raw);
  await page.fill("#token", token);
  await page.fill("#hmac-secret", raw.toString("base64url"));
  await waitVerdict(page, "invalid");
  await page.check("#hmac-b64");
  await waitVerdict(page, "valid");
  // The right secret on an expired token: the time rule decides.
  const t = now();
  const secret = "s".repeat(64);
  await page.uncheck("#hmac-b64");
  await page.fill("#hmac-secret", secret);
  await page.fill("#token", await new jose.SignJWT(claims({ iat: t - 900, exp: t - 600 })).setProtectedHeader({ alg: "HS256" }).sign(new TextEncoder().encode(secret)));
  await waitVerdict(page, "invalid");
  const v = await verdict(page);
  assert.equal(v.reason, "claims.expired", v.text);
  assert.equal((await checks(page)).hmac.status, "pass");
  // Not an HMAC token: no secret field.
  await page.fill("#token", await sign(K.ec, claims()));
  assert.equal(await page.isVisible("#hmac-box"), false);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("copy buttons for header, payload and minted token; local time beside UTC", async () => {
  const page = await openPage("copy-local");
  const token = await sign(K.ec, claims({ iat: 1767225600, exp: 1767225600 + 3600, nbf: 1767225600 }));
  await page.fill("#token", token);
  const clip = () => page.evaluate(() => navigator.clipboard.readText());
  await page.click("#copy-header");
  assert.equal(await clip(), JSON.stringify({ alg: "ES256", typ: "JWT", kid: "ec-1" }, null, 2));
  assert.equal(await page.textContent("#copy-header"), "Copied");
  await page.click("#copy-payload");
  assert.deepEqual(JSON.parse(await clip()), JSON.parse(Buffer.from(token.split(".")[1], "base64url")));
  assert.match(await clip(), /^\{\n {2}"iss"/, "pretty-printed");
  // UTC and the browser's zone (Asia/Kolkata, UTC+5:30) side by side.
  const iat = await page.textContent("#times dd[data-claim='iat']");
  assert.match(iat, /2026-01-01T00:00:00Z .*· 1 Jan 2026, 05:30:00 GMT\+5:30/, iat);
  assert.match(await page.textContent("#times dd[data-claim='exp']"), /2026-01-01T01:00:00Z .*06:30:00 GMT\+5:30/);
  assert.match(await page.textContent("#payload-view .member[data-key='iat']"), /2026-01-01T00:00:00Z \(1 Jan 2026, 05:30:00 GMT\+5:30\)/);
  await shot(page, "local-time");
  // The minted token's Copy button.
  await page.click("#tab-mint");
  await page.click("#mint-sign");
  await page.waitForFunction(() => /^Signed/.test(document.querySelector("#mint-status").textContent), null, { timeout: 20000 });
  await page.click("#mint-copy");
  assert.equal(await clip(), await page.inputValue("#mint-token"));
  assert.equal(await page.textContent("#mint-copy"), "Copied");
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("malformed views: the caret under wrapped JSON, no repaired view of bytes that are not text, times from a broken payload", async () => {
  const page = await openPage("malformed-views");
  await page.setViewportSize({ width: 400, height: 900 });
  const good = await sign(K.ec, claims());
  const [h, , s] = good.split(".");
  // One long JSON line with non-ASCII text before the error (serde_json counts bytes), which
  // wraps at 400 px.
  const text = `{"iss": "${ISS}", "aud": ["account", "edge-sts"], "name": "Zoë Ünal – ✓", "exp": 1767229200, "iat": 1767225600, "scope": "profile email", x}`;
  await page.fill("#token", `${h}.${b64u(text)}.${s}`);
  const problem = await page.textContent("#problem-list");
  const m = /line 1, column (\d+)/.exec(problem);
  assert.ok(m, problem);
  assert.ok(Number(m[1]) > text.indexOf("x}") + 1, "the column is in bytes, past the character index");
  assert.equal(await page.textContent("#payload-view mark.bad"), "x");
  const mark = await boxOf(page, "#payload-view mark.bad");
  const caret = await boxOf(page, "#payload-view .caret");
  const pre = await boxOf(page, "#payload-view pre");
  const lineHeight = await page.$eval("#payload-view pre", (e) => parseFloat(getComputedStyle(e).lineHeight) || 16);
  assert.ok(mark.y - pre.y > 2 * lineHeight, `the JSON wraps: the mark is on a later row (mark y ${mark.y}, pre y ${pre.y})`);
  assert.ok(Math.abs(caret.x - mark.x) <= 1 || Math.abs(caret.right - mark.right) <= 1, `caret x ${caret.x}..${caret.right}, mark x ${mark.x}..${mark.right}`);
  assert.ok(caret.y >= mark.bottom - 2 && caret.y - mark.bottom < lineHeight / 2, `caret top ${caret.y} right under the mark (bottom ${mark.bottom})`);
  assert.ok(caret.right <= pre.right && caret.x >= pre.x, "the caret label stays inside the view");
  assert.match(await page.textContent("#payload-view .caret"), new RegExp(`line 1, column ${m[1]}`));
  // The times the broken payload carries are still shown.
  assert.match(await page.textContent("#times dd[data-claim='exp']"), /2026-01-01T01:00:00Z/);
  assert.match(await page.textContent("#times dd[data-claim='iat']"), /2026-01-01T00:00:00Z/);
  assert.match(await page.textContent("#raw-times-note"), /Read from the payload's text: its JSON is broken/);
  await shot(page, "malformed-wrapped-caret");
  await page.locator("#payload-view").screenshot({ path: join(ARTIFACTS, "playground-malformed-wrapped-caret-payload.png") });
  // Near the right edge, the caret label is drawn leftwards, still inside the view.
  const short = '{"sub": "a", "aud": "b", "pad": "aaaaaaaaaaaaaa",x}';
  await page.fill("#token", `${h}.${b64u(short)}.${s}`);
  const c2 = await boxOf(page, "#payload-view .caret");
  const p2 = await boxOf(page, "#payload-view pre");
  const m2 = await boxOf(page, "#payload-view mark.bad");
  assert.ok(c2.right <= p2.right && c2.x >= p2.x, `caret ${c2.x}..${c2.right} inside ${p2.x}..${p2.right}`);
  assert.ok(Math.abs(c2.x - m2.x) <= 1 || Math.abs(c2.right - m2.right) <= 1);
  // A header whose bytes are not text, with a stray character: no "repaired" header view.
  const bin = Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x9c, 0x80, 0x07, 0x1b, 0xc3, 0x28, 0xa0, 0xa1]).toString("base64url");
  const [, p] = good.split(".");
  await page.fill("#token", `${bin.slice(0, 5)}*${bin.slice(5)}.${p}.${s}`);
  assert.equal(await page.$$eval("#header-view .warn", (e) => e.length), 0, "no repaired header");
  assert.match(await page.textContent("#header-view"), /bytes that are not text/);
  assert.match(await page.textContent("#problem-list"), /header .*bytes are not text/);
  await shot(page, "malformed-binary-header");
  // A repaired segment that is text is still shown, and says it was repaired.
  await page.fill("#token", `${h}.${p.slice(0, 10)}*${p.slice(11)}.${s}`);
  assert.match(await page.textContent("#payload-view .warn"), /repairing the base64url/);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("minting: the key follows the algorithm, a header alg that differs is a warning, Verify checks the signed token", async () => {
  const page = await openPage("mint-traps");
  await page.click("#tab-mint");
  await page.click("#mint-generate");
  await page.waitForFunction(() => document.querySelector("#mint-key-status").textContent.startsWith("New ES256"), null, { timeout: 20000 });
  // Choosing another algorithm makes a key for it (no stale ES256 key under an RS256 header).
  await page.selectOption("#mint-alg", "RS256");
  await page.waitForFunction(() => document.querySelector("#mint-key-status").textContent.startsWith("New RS256"), null, { timeout: 20000 });
  assert.equal(JSON.parse(await page.inputValue("#mint-public")).kty, "RSA");
  assert.equal(JSON.parse(await page.inputValue("#mint-header")).alg, "RS256");
  assert.equal(await page.isVisible("#mint-warning"), false);
  // A header alg that is not the key's: a warning, and the token is signed as written.
  const header = JSON.parse(await page.inputValue("#mint-header"));
  await page.fill("#mint-header", JSON.stringify({ ...header, alg: "ES256" }, null, 2));
  assert.equal(await page.isVisible("#mint-warning"), true);
  assert.match(await page.textContent("#mint-warning"), /header says alg "ES256", but the key signs RS256/);
  await page.click("#mint-sign");
  await page.waitForFunction(() => /^Signed/.test(document.querySelector("#mint-status").textContent));
  assert.match(await page.textContent("#mint-status"), /the header says alg ES256, not RS256/);
  await shot(page, "mint-alg-warning");
  await page.fill("#mint-header", JSON.stringify(header, null, 2));
  assert.equal(await page.isVisible("#mint-warning"), false);
  // Verify after editing: the signed token is checked, and the edits are pointed out.
  await page.click("#mint-sign");
  await page.waitForFunction(() => /^Signed/.test(document.querySelector("#mint-status").textContent) && !/header says/.test(document.querySelector("#mint-status").textContent));
  const token = await page.inputValue("#mint-token");
  const cl = JSON.parse(await page.inputValue("#mint-claims"));
  await page.fill("#mint-claims", JSON.stringify({ ...cl, iss: "https://edited.example/realms/x", aud: "other" }, null, 2));
  await page.click("#mint-verify");
  assert.equal(await page.inputValue("#token"), token);
  assert.equal(await page.inputValue("#exp-issuer"), cl.iss, "the signed token's iss, not the edited one");
  assert.equal(await page.inputValue("#exp-aud"), "edge-sts");
  const v = await verdict(page);
  assert.equal(v.status, "valid", v.text);
  assert.match(await page.textContent("#minted-note"), /edited after signing.*Sign again/);
  await shot(page, "mint-verify-edited");
  // Typing another token clears the note.
  await page.fill("#token", await sign(K.ec, claims()));
  assert.equal(await page.isVisible("#minted-note"), false);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("minting with your own private key (JWK or PKCS#8 PEM): kept in the page, no request made", async () => {
  const page = await openPage("mint-own");
  const seen = [];
  page.on("request", (r) => seen.push(r.url()));
  await page.click("#tab-mint");
  await page.check("#mint-key-own");
  assert.equal(await page.isVisible("#mint-private"), true);
  // A private JWK (ES384, its own kid).
  const es = await jose.generateKeyPair("ES384", { extractable: true });
  const priv = { ...(await jose.exportJWK(es.privateKey)), kid: "my-es384" };
  await page.fill("#mint-private", JSON.stringify(priv));
  await page.waitForFunction(() => /^Your ES384 key, kid my-es384/.test(document.querySelector("#mint-key-status").textContent), null, { timeout: 10000 });
  assert.match(await page.textContent("#mint-key-status"), /the algorithm is now ES384.*nothing is sent or stored/);
  assert.equal(await page.inputValue("#mint-alg"), "ES384");
  const pub = JSON.parse(await page.inputValue("#mint-public"));
  assert.equal(pub.d, undefined, "the public half only");
  assert.deepEqual([pub.kty, pub.crv, pub.x, pub.y, pub.kid], ["EC", "P-384", priv.x, priv.y, "my-es384"]);
  await page.click("#mint-sign");
  await page.waitForFunction(() => /^Signed/.test(document.querySelector("#mint-status").textContent));
  let token = await page.inputValue("#mint-token");
  await jose.jwtVerify(token, es.publicKey, { algorithms: ["ES384"] });
  assert.equal(JSON.parse(Buffer.from(token.split(".")[0], "base64url")).kid, "my-es384");
  await page.click("#mint-verify");
  assert.equal((await verdict(page)).status, "valid");
  await page.click("#tab-mint");
  // A PKCS#8 PEM (RSA), for PS256.
  const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
  await page.selectOption("#mint-alg", "PS256");
  await page.fill("#mint-private", rsa.privateKey.export({ type: "pkcs8", format: "pem" }));
  await page.waitForFunction(() => /^Your PS256 key/.test(document.querySelector("#mint-key-status").textContent), null, { timeout: 10000 });
  await page.click("#mint-sign");
  await page.waitForFunction(() => /^Signed with PS256/.test(document.querySelector("#mint-status").textContent));
  token = await page.inputValue("#mint-token");
  await jose.jwtVerify(token, rsa.publicKey, { algorithms: ["PS256"] });
  await shot(page, "mint-own-key");
  // The key decides: an RSA key cannot sign ES256, and Sign says so.
  await page.selectOption("#mint-alg", "ES256");
  await page.waitForFunction(() => /cannot sign ES256: choose RS256 or PS256, or generate/.test(document.querySelector("#mint-key-status").textContent));
  await page.click("#mint-sign");
  await page.waitForFunction(() => /^No key to sign with/.test(document.querySelector("#mint-status").textContent));
  // PKCS#1 is named, with the conversion.
  await page.fill("#mint-private", rsa.privateKey.export({ type: "pkcs1", format: "pem" }));
  await page.waitForFunction(() => /must be PKCS#8.*PKCS#1.*openssl pkcs8 -topk8/.test(document.querySelector("#mint-key-status").textContent));
  // A public JWK is not a private key.
  await page.fill("#mint-private", JSON.stringify(await jose.exportJWK(es.publicKey)));
  await page.waitForFunction(() => /no private part/.test(document.querySelector("#mint-key-status").textContent));
  // Kept in the page: no request at all, nothing stored.
  assert.deepEqual(seen, []);
  assert.deepEqual(await page.evaluate(() => [localStorage.length, sessionStorage.length, document.cookie]), [0, 0, ""]);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("served by the Worker: the policy, nosniff and no-referrer as response headers, and no other origin can frame the page", async () => {
  // The policy's one home is the page's <meta> tag; the header adds what a <meta> cannot carry.
  const html = await readFile(join(ROOT, "www/static/index.html"), "utf8");
  const meta = html.match(/<meta http-equiv="Content-Security-Policy" content="([^"]*)">/)[1];
  const w = await startWorker({ config: devConfig(ISS, { signing_keys: [] }), playground: true });
  const framer = await listen((req, res) => {
    const src = new URL(req.url, "http://x").searchParams.get("src");
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(`<!doctype html><title>framer</title><iframe id="f" src="${src}"></iframe>`);
  });
  const page = await context.newPage();
  try {
    for (const path of ["/", "/index.html", "/app.js", "/style.css", "/pkg/edge_sts_playground.js", "/pkg/edge_sts_playground_bg.wasm",
      "/pkg/edge_sts_playground_config_bg.wasm"]) {
      const r = await fetch(`${w.url}${path}`, { redirect: "manual" });
      assert.ok(r.status === 200 || r.status === 307, `${path}: ${r.status}`);
      assert.equal(r.headers.get("content-security-policy"), `${meta}; frame-ancestors 'none'`, path);
      assert.equal(r.headers.get("x-content-type-options"), "nosniff", path);
      assert.equal(r.headers.get("referrer-policy"), "no-referrer", path);
    }
    assert.equal((await fetch(`${w.url}/_headers`)).status, 404, "the headers file itself is not served");

    // Under the header policy the page still works: the checker's wasm loads and decodes.
    await page.goto(`${w.url}/`);
    await page.waitForSelector("body[data-ready='1']");
    await page.fill("#token", await sign(K.ec, claims()));
    assert.equal((await verdict(page)).status, "unverified");

    // Another origin (another port) frames it: Chromium refuses, the frame never holds the page.
    const blocked = [];
    page.on("console", (m) => blocked.push(m.text()));
    const frameOf = async (src) => {
      await page.goto(`${framer.url}/?src=${encodeURIComponent(src)}`, { waitUntil: "load" });
      return (await page.waitForSelector("#f")).contentFrame();
    };
    // Control: the same page from a server that sends no frame-ancestors is framed and runs.
    const open = await frameOf(`${site.url}/`);
    await open.waitForSelector("body[data-ready='1']", { timeout: 10000 });
    assert.equal(new URL(open.url()).origin, site.url);
    const framed = await frameOf(`${w.url}/`);
    for (let i = 0; i < 50 && !framed.url().startsWith("chrome-error:"); i++) await page.waitForTimeout(100);
    assert.equal(await framed.$("body[data-ready='1']"), null, "the playground did not run inside the frame");
    assert.equal(await framed.$("#token"), null, "no playground markup inside the frame");
    assert.match(framed.url(), /^chrome-error:/, `the frame shows Chromium's error page, not ${framed.url()}`);
    assert.ok(blocked.some((t) => /frame-ancestors 'none'/.test(t)), `Chromium names the directive: ${blocked.join(" | ")}`);
    await shot(page, "framed");
  } finally {
    await page.close();
    framer.server.close();
    await w.stop();
  }
});

test("the page made no network request except the ones the tests asked for", () => {
  const allowed = new Set(["/", "/app.js", "/style.css", "/pkg/edge_sts_playground.js", "/pkg/edge_sts_playground_bg.wasm",
    "/pkg/edge_sts_playground_config.js", "/pkg/edge_sts_playground_config_bg.wasm"]);
  const unexpected = requests.filter(([url]) => {
    if (url.startsWith("data:")) return false;
    const u = new URL(url);
    if (u.origin === site.url) return !allowed.has(u.pathname) || u.search !== "";
    return !asked.has(url);
  });
  assert.deepEqual(unexpected, []);
  assert.ok(requests.length > 0);
});
