// edge-sts token playground. All decisions come from the core (wasm): this file reads the form,
// calls `inspect`, and renders the report. It never sends a token anywhere, never stores
// anything, and fetches only the discovery/JWKS URLs the user asks for with a button.
import init, { inspect, vectorVerdicts, discoveryUrl, urlAllowed, jwksUriFrom, jsonError } from "./pkg/edge_sts_playground.js";

const $ = (sel) => document.querySelector(sel);

/** Small DOM builder: text only ever goes in as text (never as HTML). */
function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "dataset") Object.assign(e.dataset, v);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

// ---------------------------------------------------------------------------------------------
// What claims mean (registered, common issuers', and Keycloak's), shown next to each claim. The
// Keycloak words are used only when the token looks like Keycloak's (the core's `keycloak`).

const CLAIMS = {
  iss: "Issuer: who issued the token (usually a URL). edge-sts compares it exactly with trusted_issuers[].issuer, before any fetch.",
  sub: "Subject: who the token is about (a user, or the client itself for a client-credentials token). edge-sts requires it (RFC 9068) unless the issuer allows tokens without it.",
  aud: "Audience: who the token is for (a string or an array). edge-sts needs one of its configured audiences.",
  exp: "Expiration time (NumericDate, seconds since 1970).",
  nbf: "Not before: the token is not valid earlier (NumericDate).",
  iat: "Issued at (NumericDate).",
  auth_time: "When the user authenticated (NumericDate).",
  jti: "JWT id: unique per token.",
  typ: "A token-kind claim some issuers write (not an RFC 7519 claim). edge-sts checks it against expected_typ.",
  azp: "Authorized party: the client the token was issued to.",
  client_id: "Client id (RFC 9068, RFC 8693): the client the token was issued to.",
  scope: "Granted scopes, space separated.",
  scp: "Granted scopes (delegated permissions), space separated.",
  roles: "Roles granted (application permissions, for an app token).",
  gty: "Grant type: client-credentials marks a machine-to-machine token.",
  appid: "Application (client) id of the caller (v1 access tokens).",
  appidacr: "How the client authenticated: 0 public client, 1 client secret, 2 certificate.",
  azpacr: "How the client authenticated: 0 public client, 1 client secret, 2 certificate.",
  tid: "Tenant id: the directory the token was issued in.",
  oid: "Object id of the subject in the directory.",
  idp: "Identity provider that authenticated the subject.",
  idtyp: "Token kind: app for an application token, user for a user's.",
  ver: "Token format version (\"1.0\" or \"2.0\").",
  uti: "Token id (internal).",
  rh: "Internal claim, used to re-validate tokens.",
  cid: "Client id.",
  uid: "User id.",
  sid: "Session id.",
  acr: "Authentication Context Class Reference: how strongly the user authenticated.",
  amr: "Authentication methods used (e.g. pwd, otp).",
  preferred_username: "Username.",
  email: "E-mail address.",
  email_verified: "Whether the e-mail address was verified.",
  name: "Full name.",
  given_name: "First name.",
  family_name: "Last name.",
  nonce: "OIDC nonce (ID tokens): binds the token to the login request.",
  at_hash: "Access token hash (ID tokens).",
  cnf: "Confirmation: the token is bound to a key (DPoP or mutual TLS). edge-sts refuses bound tokens.",
  act: "Actor: who acts on behalf of the subject (token exchange delegation).",
  may_act: "Who may act on behalf of the subject.",
};
const KEYCLOAK = {
  iss: "Issuer: the Keycloak realm URL (https://host/realms/<realm>). edge-sts compares it exactly with trusted_issuers[].issuer, before any fetch.",
  sub: "Subject: the user id. For a client_credentials token, the id of the client's service-account user. Required (RFC 9068) unless the issuer allows tokens without it.",
  aud: "Audience: who the token is for. Keycloak adds \"account\" by default; add your API with an Audience mapper. edge-sts needs one of its configured audiences.",
  typ: "Keycloak's token kind: Bearer (access token), ID (ID token), Refresh (refresh token). edge-sts expects Bearer by default.",
  azp: "Authorized party: the client the token was issued to. A user's token carries it too, so it is not enough: when present it must agree with client_id/clientId.",
  client_id: "Client id. Keycloak 26+ writes it only into client_credentials (service-account) tokens, and edge-sts exchanges only those: required (or clientId), with preferred_username service-account-<client id> and no sid. Must agree with clientId/azp.",
  clientId: "Client id from older Keycloak versions' service-account mapper (in place of client_id). Must agree with client_id/azp.",
  clientHost: "Host or IP the client connected from when it requested the token (service accounts).",
  clientAddress: "IP address of the client that requested the token (service accounts).",
  sid: "Keycloak session id (SSO session). A client_credentials token has none: edge-sts refuses a Keycloak token that carries one.",
  session_state: "Keycloak session id (older name of sid). A client_credentials token has none: edge-sts refuses a Keycloak token that carries one.",
  acr: "Authentication Context Class Reference: \"1\" for a fresh login, \"0\" when it came from an SSO cookie.",
  scope: "Granted scopes, space separated (client scopes in Keycloak).",
  realm_access: "Realm roles of the user or service account: {\"roles\": [...]}.",
  resource_access: "Client roles, per client: {\"<client>\": {\"roles\": [...]}}.",
  preferred_username: "Username. For a service account: service-account-<client id, lower case>, which edge-sts requires.",
  email: "E-mail address (profile scope).",
  email_verified: "Whether Keycloak verified the e-mail address.",
  "allowed-origins": "Web origins the client may call from (CORS), from the client's settings.",
};
const HEADER = {
  alg: "Signature algorithm. Accepted: RS256/384/512, PS256/384/512, ES256, ES384, EdDSA. The key decides: the token's alg must match the key's.",
  typ: "Media type: JWT or at+jwt (RFC 9068). edge-sts refuses other types.",
  kid: "Key id: which key of the issuer's JWKS signed the token.",
  jku: "JWK Set URL chosen by the token: never followed, refused.",
  jwk: "A key embedded in the token: never trusted, refused.",
  x5u: "Certificate URL chosen by the token: refused.",
  x5c: "Certificate chain embedded in the token: refused.",
  crit: "Critical extensions: none are understood, so refused.",
  cty: "Content type: a nested token, refused.",
  enc: "Content encryption: a JWE, refused.",
  zip: "Compression: a JWE feature, refused.",
  "x5t": "Certificate SHA-1 thumbprint (informational).",
  "x5t#S256": "Certificate SHA-256 thumbprint (informational).",
};
const TIME_CLAIMS = new Set(["exp", "nbf", "iat", "auth_time"]);

// Keyed by the core's check ids (`inspect::CheckId`, serialised): exactly one label per id,
// held to the core's list by tests/www/check-labels.test.mjs.
const CHECK_LABELS = {
  size: "Size limit",
  segments: "Three segments (JWS, not JWE)",
  header: "Header decodes (strict base64url + JSON)",
  alg: "Algorithm accepted",
  header_key_refs: "No key references in the header (jku/jwk/x5u/x5c)",
  crit: "No crit extensions",
  enc: "Not encrypted (enc/zip)",
  kid_format: "kid is a string",
  header_typ: "Header typ",
  payload: "Payload decodes (strict base64url + JSON)",
  signature_format: "Signature encoding",
  iss: "Issuer (iss)",
  alg_allowed: "Algorithm allowed for the issuer",
  kid: "Key selection (kid)",
  key_binding: "Algorithm / key binding",
  signature: "Signature",
  claim_types: "Registered claims have their types",
  exp: "Expiry (exp)",
  nbf: "Not before (nbf)",
  iat: "Issued at (iat)",
  lifetime: "Lifetime",
  aud: "Audience (aud)",
  typ: "Payload typ",
  cnf: "Not bound to a key (cnf)",
  sub: "Subject (sub)",
  required_claims: "Required claims",
  client_id: "Service-account token and its client (client_id / clientId)",
};

// ---------------------------------------------------------------------------------------------
// Time.

function iso(secs) {
  const d = new Date(secs * 1000);
  return Number.isNaN(d.getTime()) ? "not a date" : d.toISOString().replace(".000Z", "Z");
}

/** "in 4 min 12 s", "3 h 5 min ago", "now". */
function relative(delta) {
  const a = Math.abs(delta);
  if (a < 1) return "now";
  const s = Math.floor(a);
  let txt;
  if (s < 60) txt = `${s} s`;
  else if (s < 3600) txt = `${Math.floor(s / 60)} min ${s % 60} s`;
  else if (s < 86400 * 2) txt = `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  else txt = `${Math.floor(s / 86400)} days`;
  return delta > 0 ? `in ${txt}` : `${txt} ago`;
}

const nowSecs = () => Date.now() / 1000;

/** The same instant in the browser's own time zone, e.g. "25 Nov 2026, 20:45:00 CET". */
function local(secs) {
  const d = new Date(secs * 1000);
  if (Number.isNaN(d.getTime())) return "";
  return d.toLocaleString(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short" });
}

/** Element whose text is kept current by the 1 s ticker. */
function live(epoch, fmt) {
  const e = h("span", { class: "live", dataset: { epoch: String(epoch) } });
  e._fmt = fmt;
  e.textContent = fmt(epoch - nowSecs());
  return e;
}

// ---------------------------------------------------------------------------------------------
// State and the main run.

const state = { report: null, config: null, token: "", boundaries: [], lastTick: 0 };

function normalize(raw) {
  let t = raw;
  const notes = [];
  const trimmed = t.trim();
  if (trimmed !== t) notes.push("surrounding whitespace");
  t = trimmed;
  const m = /^bearer\s+/i.exec(t);
  if (m) {
    notes.push("the \"Bearer \" prefix");
    t = t.slice(m[0].length);
  }
  return { token: t, notes };
}

/** The chosen rules: "any_jwt", "edge_sts" or "config". */
const profile = () => document.querySelector('input[name="profile"]:checked')?.value || "any_jwt";

/** The expectations the form says, as `inspect::Expectations` JSON. Blank means not checked. */
function expectations() {
  const words = (s) => s.split(/[\s,]+/).filter(Boolean);
  const num = (id) => {
    const v = $(id).value.trim();
    return v === "" ? null : Math.max(0, Math.floor(Number(v) || 0));
  };
  const ex = {
    profile: profile() === "any_jwt" ? "any_jwt" : "edge_sts",
    audiences: words($("#exp-aud").value),
    required_claims: words($("#exp-required").value),
    leeway_secs: num("#exp-leeway") ?? 0,
    max_lifetime_secs: num("#exp-lifetime"),
    expected_typ: $("#exp-typ").value.trim() || null,
    allow_missing_sub: $("#exp-allow-missing-sub").checked,
  };
  const app = $("#exp-app-token").value.trim();
  if (app) {
    try {
      ex.app_token = JSON.parse(app);
    } catch (e) {
      throw new Error(`the application-token rule is not JSON (${e.message})`);
    }
  }
  const iss = $("#exp-issuer").value.trim();
  if (iss) ex.issuer = iss;
  const alg = $("#key-alg").value;
  if (alg) ex.key_alg = alg;
  return ex;
}

/** The configuration reader: a second module (the checker plus `config::load`), fetched the first
 *  time the user chooses "from its configuration", so the first download stays small. */
const configReader = { module: null, loading: null, error: null };

function loadConfigReader() {
  configReader.loading ??= import("./pkg/edge_sts_playground_config.js")
    .then(async (m) => {
      await m.default();
      configReader.module = m;
    })
    .catch((e) => {
      configReader.error = e;
    })
    .finally(() => run());
  return configReader.loading;
}

/** The report for `token` under the chosen rules. With a pasted configuration, `config` says
 *  which trusted issuer applied, or why the configuration does not load. */
function check(token) {
  const keys = $("#keys").value;
  if (profile() === "config") {
    const text = $("#config").value;
    if (!text.trim()) {
      const report = JSON.parse(inspect(token, keys, JSON.stringify({ profile: "any_jwt", expected_typ: null, max_lifetime_secs: null }), nowSecs()));
      return { report, config: { error: "Paste the edge-sts configuration (the JSON of EDGE_STS_CONFIG) to check the token as edge-sts would." } };
    }
    if (!configReader.module) {
      loadConfigReader();
      const report = JSON.parse(inspect(token, keys, JSON.stringify({ profile: "any_jwt", expected_typ: null, max_lifetime_secs: null }), nowSecs()));
      const why = configReader.error ? `The configuration reader could not load: ${configReader.error.message || configReader.error}.` : "Loading the configuration reader…";
      return { report, config: { error: why, loading: !configReader.error } };
    }
    try {
      const out = JSON.parse(configReader.module.inspectWithConfig(token, keys, text, $("#key-alg").value, nowSecs()));
      return { report: out.report, config: out };
    } catch (e) {
      const report = JSON.parse(inspect(token, keys, JSON.stringify({ profile: "any_jwt", expected_typ: null, max_lifetime_secs: null }), nowSecs()));
      return { report, config: { error: `The configuration does not load: ${e.message || e}.` } };
    }
  }
  return { report: JSON.parse(inspect(token, keys, JSON.stringify(expectations()), nowSecs())), config: null };
}

/** Runs the core over the current inputs and renders. `t0` is when the user acted. */
function run(t0 = performance.now()) {
  const { token, notes } = normalize($("#token").value);
  $("#normalized").textContent = notes.length ? `Ignored ${notes.join(" and ")}.` : "";
  if (!token) {
    clearReport();
    return;
  }
  let out;
  try {
    out = check(token);
  } catch (e) {
    setVerdict("error", `The checker could not run: ${e.message || e}`);
    return;
  }
  state.report = out.report;
  state.config = out.config;
  state.token = token;
  state.hmac = hmacState(out.report, token);
  render(out.report, token);
  if (state.hmac?.status === "pending") verifyHmac(state.hmac);
  const ms = performance.now() - t0;
  $("#timing").textContent = `Verdict in ${ms.toFixed(1)} ms.`;
  document.body.dataset.verdictMs = ms.toFixed(2);
}

function clearReport() {
  state.report = null;
  state.boundaries = [];
  $("#decoded").hidden = true;
  $("#checks").replaceChildren();
  $("#timing").textContent = "";
  $("#keys-summary").textContent = "";
  $("#keys-problem").hidden = true;
  setVerdict("empty", "Paste a token to see the verdict.");
}

function setVerdict(status, ...content) {
  const v = $("#verdict");
  v.dataset.status = status;
  v.replaceChildren(...content.filter((c) => c !== null && c !== undefined));
}

/** The core's messages mark names and values with `backticks`: show those as code. */
function rich(text) {
  return String(text).split("`").map((part, i) => (i % 2 ? h("code", {}, part) : part));
}

// ---------------------------------------------------------------------------------------------
// HMAC (HS256/384/512): edge-sts refuses these tokens, so the core never checks their signature;
// the page does, with WebCrypto and the secret the user types (which never leaves the page).

const HMAC_HASH = { HS256: "SHA-256", HS384: "SHA-384", HS512: "SHA-512" };
// The checks that concern the (asymmetric) signature: for an HMAC token the page's own check
// stands in for them under "any JWT".
const SIGNATURE_CHECKS = new Set(["alg", "alg_allowed", "kid", "key_binding", "signature"]);

function b64uBytes(s) {
  const t = s.replace(/-/g, "+").replace(/_/g, "/");
  if (/[^A-Za-z0-9+/=]/.test(t)) throw new Error("not base64url");
  const bin = atob(t + "===".slice((t.length + 3) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/** What the page knows about an HMAC token before its signature is checked (null: not HMAC). */
function hmacState(r, token) {
  const alg = r.decoded.header?.json?.alg;
  const box = $("#hmac-box");
  if (typeof alg !== "string" || !HMAC_HASH[alg]) {
    box.hidden = true;
    return null;
  }
  box.hidden = false;
  $("#hmac-alg").textContent = alg;
  const secret = $("#hmac-secret").value;
  const parts = token.split(".");
  if (!secret) return { alg, status: "nosecret" };
  if (parts.length !== 3) return { alg, status: "error", message: "the token does not have three segments" };
  let key;
  try {
    key = $("#hmac-b64").checked ? b64uBytes(secret.trim()) : new TextEncoder().encode(secret);
  } catch {
    return { alg, status: "error", message: "the secret is not base64url (untick \u201cbase64url-encoded\u201d to use it as text)" };
  }
  let sig;
  try {
    sig = b64uBytes(parts[2]);
  } catch {
    return { alg, status: "error", message: "the signature segment is not base64url" };
  }
  return { alg, status: "pending", key, sig, input: `${parts[0]}.${parts[1]}`, token, secret };
}

async function verifyHmac(hs) {
  let ok;
  try {
    const key = await crypto.subtle.importKey("raw", hs.key, { name: "HMAC", hash: HMAC_HASH[hs.alg] }, false, ["verify"]);
    ok = await crypto.subtle.verify("HMAC", key, hs.sig, new TextEncoder().encode(hs.input));
  } catch (e) {
    Object.assign(hs, { status: "error", message: e.message || String(e) });
  }
  if (ok !== undefined) hs.status = ok ? "valid" : "invalid";
  // Only if nothing changed meanwhile.
  if (state.hmac === hs) {
    renderVerdict(state.report);
    renderChecks(state.report);
  }
}

/** The HMAC line of the checks list. */
function hmacCheck(hs) {
  const bits = `HMAC-${HMAC_HASH[hs.alg]}`;
  const t = {
    nosecret: ["skip", `${hs.alg} is an HMAC with a shared secret: type the secret in the Key section to check it.`],
    pending: ["skip", "checking…"],
    error: ["fail", `cannot check the HMAC: ${hs.message}`],
    valid: ["pass", `the ${bits} of header.payload under this secret is the token's signature`],
    invalid: ["fail", `the ${bits} of header.payload under this secret is not the token's signature (wrong secret, or the token was altered)`],
  }[hs.status];
  return { id: "hmac", status: t[0], reason_code: "", message: t[1] };
}

// ---------------------------------------------------------------------------------------------
// Rendering.

function render(r, token) {
  $("#decoded").hidden = false;
  renderToken(r, token);
  renderProblems(r);
  renderTimes(r);
  renderPart($("#header-view"), r.decoded.header, HEADER, "header");
  renderPart($("#payload-view"), r.decoded.payload, r.keycloak ? { ...CLAIMS, ...KEYCLOAK } : CLAIMS, "payload");
  fitCarets($("#decoded"));
  const s = r.decoded.signature;
  $("#sig-view").textContent = !s
    ? "No signature segment."
    : s.bytes == null
      ? "The signature segment is not strict base64url."
      : `${s.bytes} bytes.`;
  renderKeys(r);
  state.keyProblem = null;
  renderKeyInput(r);
  renderVerdict(r);
  renderChecks(r);
  const t = r.times, l = t.leeway_secs;
  state.boundaries = [t.exp != null && t.exp + l, t.nbf != null && t.nbf - l, t.iat != null && t.iat - l].filter((x) => x !== false);
  state.lastTick = nowSecs();
}

function renderToken(r, token) {
  const view = $("#tokview");
  const d = r.decoded;
  const marks = d.problems.filter((p) => p.offset != null).map((p) => p.offset);
  const spans = [];
  const segClass = (i) => {
    if (d.header && i >= d.header.start && i < d.header.end) return "seg-h";
    if (d.payload && i >= d.payload.start && i < d.payload.end) return "seg-p";
    if (d.signature && i >= d.signature.start && i < d.signature.end) return "seg-s";
    return "seg-x";
  };
  let i = 0;
  const show = token.length > 20000 ? 20000 : token.length;
  while (i < show) {
    if (marks.includes(i)) {
      const p = d.problems.find((x) => x.offset === i);
      spans.push(h("mark", { class: "bad", title: p.message }, token[i] ?? "⏎"));
      i += 1;
      continue;
    }
    const cls = segClass(i);
    let j = i + 1;
    while (j < show && segClass(j) === cls && !marks.includes(j)) j++;
    spans.push(h("span", { class: cls }, token.slice(i, j)));
    i = j;
  }
  // A problem located at the very end (missing segment): show an end marker.
  if (marks.includes(token.length)) spans.push(h("mark", { class: "bad", title: "here" }, "⟂"));
  if (show < token.length) spans.push(h("span", { class: "seg-x" }, `… (${token.length - show} more characters)`));
  view.replaceChildren(...spans);
}

function renderProblems(r) {
  const box = $("#problems");
  const ps = r.decoded.problems;
  if (!ps.length) {
    box.replaceChildren();
    return;
  }
  const items = ps.map((p) => {
    const where = [p.segment];
    if (p.segment_offset != null) where.push(`character ${p.segment_offset + 1}`);
    if (p.offset != null) where.push(`token character ${p.offset + 1}`);
    if (p.line != null) where.push(`line ${p.line}, column ${p.column}`);
    return h("li", { dataset: { segment: p.segment, reason: p.reason_code } },
      h("strong", {}, where.join(", ")), ": ", rich(p.message), " ", h("code", { class: "reason" }, p.reason_code));
  });
  box.replaceChildren(h("h3", {}, "Problems"), h("ul", { id: "problem-list" }, items));
}

function renderTimes(r) {
  const dl = $("#times");
  const t = r.times;
  const rows = [];
  const add = (name, v, fmt) => {
    if (v == null) return;
    rows.push(h("dt", {}, name), h("dd", { dataset: { claim: name } }, h("time", { datetime: iso(v) }, iso(v)), " (", live(v, fmt), ")",
      h("span", { class: "local" }, ` · ${local(v)}`)));
  };
  const fmts = {
    exp: (d) => (d > 0 ? `expires ${relative(d)}` : `expired ${relative(d)}`),
    nbf: (d) => (d > 0 ? `valid ${relative(d)}` : `valid since ${relative(d).replace(/ ago$/, "")}`),
    iat: (d) => `issued ${relative(d)}`,
    auth_time: (d) => `authenticated ${relative(d)}`,
  };
  add("exp", t.exp, fmts.exp);
  add("nbf", t.nbf, fmts.nbf);
  add("iat", t.iat, fmts.iat);
  if (t.exp != null && t.iat != null) rows.push(h("dt", {}, "lifetime"), h("dd", {}, `${Math.round(t.exp - t.iat)} s`));
  // A payload whose JSON is broken still shows the times its text carries.
  const part = r.decoded.payload;
  if (!rows.length && part?.text != null && part.json == null) {
    const found = rawTimes(part.text);
    for (const [name, v] of found) add(name, v, fmts[name]);
    if (found.length) rows.push(h("dd", { class: "hint span-all", id: "raw-times-note" }, "Read from the payload's text: its JSON is broken, so edge-sts would refuse the token before any time rule."));
  }
  if (!rows.length) rows.push(h("dt", {}, "—"), h("dd", {}, "no readable time claims"));
  dl.replaceChildren(...rows);
}

/** `"exp": 1767225600` and the like, found in text that is not JSON (first of each name). */
function rawTimes(text) {
  const out = [];
  for (const name of ["exp", "nbf", "iat", "auth_time"]) {
    const m = new RegExp(`"${name}"\\s*:\\s*(-?\\d+(?:\\.\\d+)?(?:[eE][+-]?\\d+)?)`).exec(text);
    if (m && Number.isFinite(Number(m[1]))) out.push([name, Number(m[1])]);
  }
  return out;
}

/** Pretty JSON with each top-level member explained in place. */
function renderPart(box, part, explain, name) {
  if (!part) {
    box.replaceChildren(h("p", { class: "hint" }, `No ${name} segment.`));
    return;
  }
  const out = [];
  if (part.binary) {
    box.replaceChildren(h("p", { class: "hint", dataset: { binary: "1" } },
      `The ${name} segment decodes to bytes that are not text (not UTF-8 JSON): there is nothing readable to show.`));
    return;
  }
  if (part.repaired) out.push(h("p", { class: "warn" }, "Shown after repairing the base64url; edge-sts refuses it as it is."));
  let value;
  try {
    value = part.text != null ? JSON.parse(part.text) : undefined;
  } catch {
    value = undefined;
  }
  if (value && typeof value === "object" && !Array.isArray(value)) {
    const lines = [h("span", { class: "p" }, "{\n")];
    const keys = Object.keys(value);
    keys.forEach((k, idx) => {
      const v = value[k];
      const pretty = JSON.stringify(v, null, 2).replace(/\n/g, "\n  ");
      const comma = idx < keys.length - 1 ? "," : "";
      const note = explainClaim(k, v, explain);
      lines.push(h("span", { class: "member", dataset: { key: k } },
        "  ", h("span", { class: "k" }, JSON.stringify(k)), ": ", h("span", { class: valueClass(v) }, pretty), comma,
        note ? h("span", { class: "note" }, "  // ", note) : null, "\n"));
    });
    lines.push(h("span", { class: "p" }, "}"));
    out.push(h("pre", { class: "json", tabindex: "0", "aria-label": `${name} JSON` }, lines));
  } else if (part.text != null) {
    // Not JSON (or not an object): show the text, with a caret at the JSON error if located.
    const p = state.report?.decoded.problems.find((x) => x.segment === name && x.line != null);
    out.push(h("pre", { class: "json raw", tabindex: "0", "aria-label": `${name} text` }, withCaret(part.text, p)));
  } else {
    out.push(h("p", { class: "hint" }, "Could not be decoded at all."));
  }
  box.replaceChildren(...out);
}

/** `text` with the character at JSON line/column `p` marked, and a caret right under it. The
 *  caret hangs below the marked character itself (not on a line of spaces after the JSON line),
 *  so it stays under it however the text wraps. serde_json counts the column in bytes. */
function withCaret(text, p) {
  if (!p) return [text];
  const lines = text.split("\n");
  const li = Math.max(0, Math.min(p.line, lines.length) - 1);
  let pos = 0;
  for (let i = 0; i < li; i++) pos += lines[i].length + 1;
  const at = pos + utf16Index(lines[li], Math.max(0, p.column - 1));
  const cp = text.codePointAt(at);
  const ch = cp === undefined || cp === 10 ? "" : String.fromCodePoint(cp);
  return [
    text.slice(0, at),
    h("span", { class: "at" }, h("mark", { class: "bad", title: p.message }, ch || " "),
      h("span", { class: "caret" }, `^ line ${p.line}, column ${p.column}`)),
    text.slice(at + ch.length),
  ];
}

/** The UTF-16 index in `line` of the character that starts at UTF-8 byte `bytes`. */
function utf16Index(line, bytes) {
  let b = 0;
  let i = 0;
  for (const c of line) {
    if (b >= bytes) return i;
    const cp = c.codePointAt(0);
    b += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    i += c.length;
  }
  return i;
}

/** A caret label that would run past the right edge of its box is drawn leftwards instead. */
function fitCarets(root) {
  for (const c of root.querySelectorAll(".at .caret")) {
    c.parentElement.classList.remove("flip");
    const box = c.closest("pre")?.getBoundingClientRect();
    if (box && c.getBoundingClientRect().right > box.right - 4) {
      c.parentElement.classList.add("flip");
      c.textContent = `line ${c.textContent.replace(/^\^ line /, "")} ^`;
    }
  }
}

function valueClass(v) {
  if (typeof v === "string") return "s";
  if (typeof v === "number") return "n";
  if (typeof v === "boolean" || v === null) return "b";
  return "o";
}

function explainClaim(k, v, table) {
  const base = table[k];
  if (table !== HEADER && TIME_CLAIMS.has(k) && typeof v === "number") {
    return h("span", {}, `${iso(v)} (${local(v)}), `, live(v, (d) => relative(d)), base ? ` — ${base}` : "");
  }
  return base || null;
}

function renderKeys(r) {
  const k = r.keys;
  const box = $("#keys-summary");
  if (!k) {
    box.textContent = "";
    return;
  }
  const parts = [];
  if (k.error) parts.push(`${k.error}.`);
  if (k.keys.length) {
    parts.push(`${k.format.toUpperCase()}: ${k.keys.length} usable key${k.keys.length === 1 ? "" : "s"} (` +
      k.keys.map((x) => `${x.kid ? `kid ${x.kid}` : "no kid"}${x.adopted_kid ? " (taken from the token)" : ""}, ${x.alg_implied && x.kty === "RSA" ? "any RS/PS" : x.alg}`).join("; ") + ").");
  }
  for (const s of k.skipped) parts.push(`Skipped ${s.kid ? `key ${s.kid}` : "a key"}: ${s.reason}.`);
  box.textContent = parts.join(" ");
}

/** A clock-leeway note: the token is past `exp`, or before `nbf`, but inside the leeway. */
function leewayNote(r) {
  const t = r.times, l = t.leeway_secs, now = r.now;
  if (t.exp != null && now >= t.exp && now < t.exp + l) {
    return `Expired ${relative(t.exp - now).replace(/ ago$/, "")} ago; accepted for ${relative(t.exp + l - now).replace(/^in /, "")} more under the ${l} s leeway.`;
  }
  if (t.nbf != null && t.nbf > now && t.nbf <= now + l) {
    return `Not valid for ${relative(t.nbf - now).replace(/^in /, "")} yet; accepted now under the ${l} s leeway.`;
  }
  return null;
}

/** The verdict: the outcome, the first failing check's own sentence, any leeway note; then,
 *  smaller, the reason code and what `POST /token` would answer. */
function renderVerdict(r) {
  if (keyInputVerdict(r)) return;
  const cfg = state.config;
  if (cfg?.error) {
    setVerdict(cfg.loading ? "checking" : "config", cfg.loading ? null : h("strong", {}, "Configuration needed. "), cfg.error);
    $("#verdict").dataset.reason = "";
    return;
  }
  if (state.hmac && hmacVerdict(r, state.hmac, cfg)) return;
  const v = r.verdict;
  const any = profile() === "any_jwt";
  const names = { iss: "issuer", aud: "audience", lifetime: "lifetime" };
  const notChecked = v.not_checked.filter((x) => x !== "signature").map((x) => names[x] || x);
  const nc = notChecked.length ? h("span", { class: "nc" }, `Not checked (left blank): ${notChecked.join(", ")}.`) : null;
  const lw = leewayNote(r);
  const note = lw ? h("span", { class: "leeway", id: "verdict-leeway" }, lw) : null;
  const rules = cfg ? h("span", { class: "nc" }, cfg.issuer ? ["Rules of trusted issuer ", h("code", {}, cfg.issuer), " from the pasted configuration."]
    : `The configuration trusts ${cfg.trusted_issuers.join(", ")}.`) : null;
  if (v.status === "valid") {
    const head = any
      ? [h("strong", {}, "✓ Valid JWT."), " The signature verifies and the token is within its time window."]
      : [h("strong", {}, "✓ Valid."), " The Worker would accept this token from client ", h("code", {}, v.client_id), "."];
    setVerdict("valid", ...head, note, rules, nc);
  } else if (v.status === "unverified") {
    setVerdict("unverified", h("strong", {}, "… Not verified."), " Every rule that could be checked passed, but there is no key: paste one or fetch the issuer's keys.", note, rules, nc);
  } else {
    const first = r.checks.find((c) => c.status === "fail" && c.reason_code === v.reason_code) || r.checks.find((c) => c.status === "fail");
    const label = first ? CHECK_LABELS[first.id] || first.id : "Refused";
    setVerdict("invalid", h("strong", {}, `✗ Invalid: ${label}.`), " ",
      first ? h("span", { class: "why", id: "verdict-why" }, rich(first.message)) : null, note, rules,
      h("span", { class: "answer" }, "Reason ", h("code", { class: "reason", id: "verdict-reason" }, v.reason_code),
        `; POST /token would answer ${v.http_status} ${v.oauth_error}: “${v.description}”.`), nc);
  }
  $("#verdict").dataset.reason = v.reason_code || "";
}

/** The verdict on an HMAC token. Under "any JWT": the page's HMAC check, then the claim rules
 *  (the first failure among them). As edge-sts would: the core's verdict (`token.alg`), with the
 *  HMAC outcome beside it. Returns false when the core's own verdict should be shown. */
function hmacVerdict(r, hs, cfg) {
  const refuse = h("span", { class: "nc", id: "hmac-refused" }, "edge-sts itself refuses HMAC subject tokens (",
    h("code", {}, "token.alg"), "), by design: whoever holds the secret to verify one can also mint one.");
  const c = hmacCheck(hs);
  if (profile() !== "any_jwt" || cfg) {
    const v = r.verdict;
    setVerdict("invalid", h("strong", {}, `✗ Invalid as edge-sts would: ${hs.alg} is refused.`), " ",
      h("span", { class: "why", id: "verdict-why" }, `Signature with the secret: ${c.status === "pass" ? "verifies" : c.status === "fail" ? "does not verify" : "not checked"}.`),
      refuse, h("span", { class: "answer" }, "Reason ", h("code", { class: "reason", id: "verdict-reason" }, v.reason_code || "token.alg"),
        v.http_status ? `; POST /token would answer ${v.http_status} ${v.oauth_error}: “${v.description}”.` : "."));
    $("#verdict").dataset.reason = v.reason_code || "token.alg";
    return true;
  }
  const first = r.checks.find((x) => x.status === "fail" && !SIGNATURE_CHECKS.has(x.id));
  const lw = leewayNote(r);
  const note = lw ? h("span", { class: "leeway", id: "verdict-leeway" }, lw) : null;
  if (c.status === "fail") {
    setVerdict("invalid", h("strong", {}, "✗ Invalid: HMAC signature."), " ", h("span", { class: "why", id: "verdict-why" }, c.message, "."), refuse);
    $("#verdict").dataset.reason = "hmac";
  } else if (first) {
    setVerdict("invalid", h("strong", {}, `✗ Invalid: ${CHECK_LABELS[first.id] || first.id}.`), " ",
      h("span", { class: "why", id: "verdict-why" }, rich(first.message)), note, refuse);
    $("#verdict").dataset.reason = first.reason_code || "";
  } else if (c.status === "pass") {
    setVerdict("valid", h("strong", {}, "✓ Valid JWT."), ` The ${hs.alg} signature verifies with this secret and the token is within its time window.`, note, refuse);
    $("#verdict").dataset.reason = "";
  } else {
    setVerdict(hs.status === "pending" ? "checking" : "unverified", h("strong", {}, hs.status === "pending" ? "Checking…" : "… Not verified."), " ", c.message, note, refuse);
    $("#verdict").dataset.reason = "";
  }
  return true;
}

/** Every check; failing and skipped ones in the open, passing ones collapsed. */
function renderChecks(r) {
  const icon = { pass: "✓", fail: "✗", skip: "–" };
  const item = (c) =>
    h("li", { class: `check ${c.status}`, dataset: { id: c.id, status: c.status, reason: c.reason_code || "" } },
      h("span", { class: "icon", "aria-hidden": "true" }, icon[c.status]),
      h("span", { class: "label" }, c.id === "hmac" ? "HMAC signature (checked in this page)" : CHECK_LABELS[c.id] || c.id),
      " ", h("span", { class: "st" }, c.status === "pass" ? "pass" : c.status === "fail" ? "FAIL" : "not checked"),
      c.reason_code ? [" ", h("code", { class: "reason" }, c.reason_code)] : null,
      h("div", { class: "msg" }, rich(c.message)),
    );
  let all = r.checks;
  if (state.hmac) {
    const hc = hmacCheck(state.hmac);
    const i = all.findIndex((c) => c.id === "signature");
    all = [...all.slice(0, i + 1), hc, ...all.slice(i + 1)];
  }
  const open = all.filter((c) => c.status !== "pass");
  const passed = all.filter((c) => c.status === "pass");
  $("#checks").replaceChildren(
    open.length ? h("ol", { class: "checks", id: "checks-open" }, open.map(item)) : null,
    passed.length ? h("details", { id: "checks-passed" }, h("summary", {}, `${passed.length} check${passed.length === 1 ? "" : "s"} passed`),
      h("ol", { class: "checks" }, passed.map(item))) : null,
  );
}

// ---------------------------------------------------------------------------------------------
// Live countdown; re-check when a time rule flips (exp + leeway, nbf - leeway, iat - leeway).

function tick() {
  const now = nowSecs();
  for (const e of document.querySelectorAll(".live")) {
    const epoch = Number(e.dataset.epoch);
    if (e._fmt) e.textContent = e._fmt(epoch - now);
  }
  if (state.report && state.boundaries.some((b) => b > state.lastTick && b <= now)) run();
  state.lastTick = now;
}

// ---------------------------------------------------------------------------------------------
// Fetching keys: only when the user clicks, with no credentials, no referrer, no redirects.

const MAX_DOC_BYTES = 65536;
const FETCH_TIMEOUT_MS = 15000;

/** A failed fetch: `message` names the URL and the likely cause, `url` is what curl should get. */
class FetchFailure extends Error {
  constructor(url, message, cause) {
    super(message);
    this.url = url;
    this.cause = cause; // "cors", "unreachable", "http", "timeout", "size", "refused"
  }
}

const fetchOpts = { credentials: "omit", referrerPolicy: "no-referrer", cache: "no-store" };

/** Why a fetch gave no response. A cross-origin URL that answers an opaque request (no-cors: no
 *  credentials, no referrer, the body is never readable) is reachable, so the browser withheld
 *  the answer for want of CORS headers. no-cors requires following redirects, so a redirect
 *  (which the real fetch refuses) also lands here. */
async function whyNoResponse(url) {
  const u = new URL(url);
  if (u.origin === location.origin) {
    return ["unreachable", `${url} did not answer (the server is down or unreachable from this browser).`];
  }
  try {
    await fetch(url, { ...fetchOpts, mode: "no-cors", signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    return ["cors", `${url} answered, but not in a way this page (origin ${location.origin}) may read: ` +
      `${u.origin} sends no Access-Control-Allow-Origin for it (or redirects, which the page does not follow). Likely cause: CORS.`];
  } catch {
    return ["unreachable", `${url} did not answer: the server is down or unreachable from this browser (not a CORS problem).`];
  }
}

async function getJson(url) {
  if (!urlAllowed(url)) throw new FetchFailure(url, `${url} is not https (http is allowed on 127.0.0.1/localhost only)`, "refused");
  let res;
  try {
    res = await fetch(url, { ...fetchOpts, redirect: "error", mode: "cors", signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  } catch (e) {
    if (e?.name === "TimeoutError") throw new FetchFailure(url, `${url} did not answer within ${FETCH_TIMEOUT_MS / 1000} s.`, "timeout");
    const [cause, message] = await whyNoResponse(url);
    throw new FetchFailure(url, message, cause);
  }
  if (!res.ok) throw new FetchFailure(url, `${url} answered HTTP ${res.status}.`, "http");
  const text = await res.text();
  if (text.length > MAX_DOC_BYTES) throw new FetchFailure(url, `${url} is larger than ${MAX_DOC_BYTES} bytes.`, "size");
  return text;
}

function fetchStatus(msg, ok = true) {
  const s = $("#fetch-status");
  s.textContent = msg;
  s.dataset.ok = ok ? "1" : "0";
  s.dataset.cause = "";
  if (ok) $("#fetch-help").hidden = true;
}

/** A shell-safe `curl` line for `url` (single quotes, with any ' escaped). */
const curlLine = (url) => `curl -sS '${url.replace(/'/g, "'\\''")}'`;

/** Shows a failed step: what failed, and a curl line the user can run instead. */
function fetchFailed(what, e) {
  const s = $("#fetch-status");
  s.textContent = `${what}: ${e.message || e}`;
  s.dataset.ok = "0";
  s.dataset.cause = e.cause || "";
  const help = $("#fetch-help");
  if (!(e instanceof FetchFailure) || e.cause === "refused") {
    help.hidden = true;
    return;
  }
  const isDiscovery = /\/\.well-known\/openid-configuration$/.test(e.url);
  $("#fetch-help-text").textContent = isDiscovery
    ? "This is the discovery document: its jwks_uri is the JWKS URL. Paste the document into the key field and the page takes the jwks_uri from it."
    : "This is the JWKS: paste it into the key field to check the token against it.";
  $("#fetch-curl").value = curlLine(e.url);
  $("#fetch-curl-copy").textContent = "Copy";
  help.hidden = false;
}

async function fetchIssuer() {
  const issuer = $("#issuer-url").value.trim();
  if (!issuer) return fetchStatus("Enter an issuer URL first.", false);
  let step = "Could not fetch the issuer's discovery document";
  try {
    const disc = discoveryUrl(issuer);
    fetchStatus(`Fetching ${disc} …`);
    const body = await getJson(disc);
    const jwksUri = jwksUriFrom(body, issuer);
    $("#jwks-url").value = jwksUri; // what discovery found, even if its fetch fails next
    step = "Found the JWKS URL by discovery, but could not fetch it";
    fetchStatus(`Fetching ${jwksUri} …`);
    const jwks = await getJson(jwksUri);
    $("#keys").value = jwks;
    if (!$("#exp-issuer").value.trim()) $("#exp-issuer").value = issuer;
    fetchStatus(`Fetched the issuer's JWKS from ${jwksUri} (via discovery).`);
    run();
  } catch (e) {
    fetchFailed(step, e);
  }
}

async function fetchJwks() {
  const url = $("#jwks-url").value.trim();
  if (!url) return fetchStatus("Enter a JWKS URL first.", false);
  try {
    fetchStatus(`Fetching ${url} …`);
    $("#keys").value = await getJson(url);
    fetchStatus(`Fetched the JWKS from ${url}.`);
    run();
  } catch (e) {
    fetchFailed("Could not fetch the JWKS", e);
  }
}

/** Copies `text`; the button says so (or, without clipboard access, selects `fallback`). */
async function copyText(text, button, fallback) {
  button.dataset.label ??= button.textContent;
  const label = button.dataset.label;
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = "Copied";
  } catch {
    if (fallback) fallback.select();
    button.textContent = fallback ? "Selected: Ctrl+C" : "Copy failed";
  }
  setTimeout(() => (button.textContent = label), 1500);
}

/** The decoded header or payload as the user would paste it elsewhere: pretty JSON, or the
 *  decoded text when it is not JSON. */
function partText(name) {
  const part = state.report?.decoded[name];
  if (!part || part.text == null) return "";
  try {
    return JSON.stringify(JSON.parse(part.text), null, 2);
  } catch {
    return part.text;
  }
}

async function copyCurl() {
  const field = $("#fetch-curl");
  try {
    await navigator.clipboard.writeText(field.value);
    $("#fetch-curl-copy").textContent = "Copied";
  } catch {
    field.select();
    $("#fetch-curl-copy").textContent = "Selected: Ctrl+C";
  }
}

// ---------------------------------------------------------------------------------------------
// The key field: where pasted key text is malformed, and a pasted discovery document.

/** Called after each run: points at a JSON error in the key input, takes a pasted discovery
 *  document's jwks_uri, and clears a stale fetch error once the pasted keys are usable. */
function renderKeyInput(r) {
  const box = $("#keys-problem");
  const text = $("#keys").value;
  const trimmed = text.trim();
  box.hidden = true;
  box.replaceChildren();
  const k = r?.keys;
  if (!k || !trimmed) return;
  if (k.keys.length && $("#fetch-status").dataset.ok === "0") {
    fetchStatus(`The key field holds ${k.keys.length} usable key${k.keys.length === 1 ? "" : "s"}.`);
  }
  if (!k.error || trimmed.startsWith("-----BEGIN")) return;
  const located = jsonError(text);
  if (located) {
    const p = JSON.parse(located);
    state.keyProblem = p;
    box.append(h("p", { id: "keys-problem-text" }, `The key input is not valid JSON at line ${p.line}, column ${p.column}: ${p.message}.`),
      h("pre", { class: "json raw", tabindex: "0", "aria-label": "key input, with the JSON error marked" }, withCaret(text, p)));
    box.hidden = false;
    fitCarets(box);
    return;
  }
  let doc;
  try {
    doc = JSON.parse(trimmed);
  } catch {
    doc = null;
  }
  if (doc && typeof doc.jwks_uri === "string" && !("keys" in doc) && !("kty" in doc)) {
    $("#jwks-url").value = doc.jwks_uri;
    box.append(h("p", { id: "keys-problem-text" }, "This is a discovery document, not keys: its jwks_uri is now in the JWKS URL field. Fetch it, or run ",
      h("code", {}, curlLine(doc.jwks_uri)), " and paste the output here."));
    box.hidden = false;
  }
}

/** The verdict when the key input is unusable: the key is at fault, not the token, and not an
 *  outage (the Worker's `key.unavailable` is about an issuer's JWKS it could not use). */
function keyInputVerdict(r) {
  const k = r.keys;
  if (r.verdict.reason_code !== "key.unavailable" || !k?.error) return false;
  const p = state.keyProblem;
  const head = p?.line != null
    ? [h("strong", {}, `✗ The key input is not valid JSON at line ${p.line}, column ${p.column}`), `: ${p.message}.`]
    : [h("strong", {}, "✗ The key input is not usable"), ": ", rich(k.error), "."];
  setVerdict("keyerror", ...head,
    h("span", { class: "nc" }, "The signature cannot be checked until the key is fixed. ",
      "(From an issuer's JWKS the Worker would log ", h("code", { class: "reason", id: "verdict-reason" }, "key.unavailable"), ".)"));
  $("#verdict").dataset.reason = "key.unavailable";
  return true;
}

// ---------------------------------------------------------------------------------------------
// Mint: a throwaway WebCrypto key pair, then sign edited claims.

const b64u = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const b64uText = (s) => b64u(new TextEncoder().encode(s));

const MINT_ALGS = {
  ES256: { gen: { name: "ECDSA", namedCurve: "P-256" }, sign: { name: "ECDSA", hash: "SHA-256" } },
  ES384: { gen: { name: "ECDSA", namedCurve: "P-384" }, sign: { name: "ECDSA", hash: "SHA-384" } },
  RS256: { gen: { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" }, sign: { name: "RSASSA-PKCS1-v1_5" } },
  PS256: { gen: { name: "RSA-PSS", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" }, sign: { name: "RSA-PSS", saltLength: 32 } },
  EdDSA: { gen: { name: "Ed25519" }, sign: { name: "Ed25519" } },
};

// autoTimes: the iat/exp the page itself wrote into the claims; while they are unedited, Sign
// sets them to the moment of signing (keeping the lifetime). own: the key is the user's own
// (pasted private key), not one generated here. signed: the last token signed, with the public
// key that verifies it.
const mint = { alg: null, keys: null, publicJwk: null, autoTimes: null, own: false, signed: null, seq: 0 };

/** RFC 7638 thumbprint of a public JWK: the kid of generated keys. */
async function thumbprint(jwk) {
  const req = { RSA: ["e", "kty", "n"], EC: ["crv", "kty", "x", "y"], OKP: ["crv", "kty", "x"] }[jwk.kty];
  const canon = JSON.stringify(Object.fromEntries(req.map((k) => [k, jwk[k]])));
  return b64u(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canon)));
}

const PUBLIC_MEMBERS = ["kty", "crv", "x", "y", "n", "e", "kid"];

/** A key is ready: show its public half and write its alg and kid into the header (keeping
 *  the user's other header members). */
function useKey(alg, keys, jwk, status) {
  Object.assign(mint, { alg, keys, publicJwk: jwk });
  $("#mint-public").value = JSON.stringify(jwk, null, 2);
  let header;
  try {
    header = JSON.parse($("#mint-header").value);
  } catch {
    header = null;
  }
  if (!header || typeof header !== "object" || Array.isArray(header)) header = { typ: "JWT" };
  $("#mint-header").value = JSON.stringify({ ...header, alg, kid: jwk.kid }, null, 2);
  $("#mint-key-status").textContent = status;
  headerWarning();
}

function noKey(message) {
  Object.assign(mint, { keys: null, publicJwk: null });
  $("#mint-public").value = "";
  $("#mint-key-status").textContent = message;
  headerWarning();
}

async function generate() {
  if (mint.own) {
    $("#mint-key-gen").checked = true;
    mint.own = false;
    $("#mint-own-box").hidden = true;
  }
  const alg = $("#mint-alg").value;
  const spec = MINT_ALGS[alg];
  const seq = ++mint.seq; // only the latest request's key is used
  Object.assign(mint, { keys: null, publicJwk: null });
  $("#mint-key-status").textContent = `Generating an ${alg} key pair…`;
  try {
    // The private key is not extractable: it lives only in this page.
    const keys = await crypto.subtle.generateKey(spec.gen, false, ["sign", "verify"]);
    const pub = await crypto.subtle.exportKey("jwk", keys.publicKey);
    const jwk = Object.fromEntries(Object.entries(pub).filter(([k]) => !["ext", "key_ops", "alg"].includes(k)));
    jwk.kid = await thumbprint(jwk);
    jwk.alg = alg;
    jwk.use = "sig";
    if (seq === mint.seq) useKey(alg, keys, jwk, `New ${alg} key pair, kid ${jwk.kid}. The private key cannot leave this page.`);
  } catch (e) {
    if (seq === mint.seq) noKey(`This browser cannot generate ${alg} keys: ${e.message || e}`);
  }
}

/** The algorithms a private key can sign with, from its JWK members. */
function algsFor(jwk) {
  if (jwk.kty === "EC") return { "P-256": ["ES256"], "P-384": ["ES384"] }[jwk.crv] || [];
  if (jwk.kty === "OKP") return jwk.crv === "Ed25519" ? ["EdDSA"] : [];
  if (jwk.kty === "RSA") return ["RS256", "PS256"];
  return [];
}

const importParams = (alg) => {
  const g = MINT_ALGS[alg].gen;
  return g.name === "ECDSA" ? { name: "ECDSA", namedCurve: g.namedCurve } : g.name === "Ed25519" ? { name: "Ed25519" } : { name: g.name, hash: g.hash };
};

/** The user's own private key (JWK with `d`, or PKCS#8 PEM), imported with WebCrypto in this
 *  page. It is never sent anywhere or stored; its public half (JWK) is derived from it. */
async function importOwnKey() {
  const seq = ++mint.seq;
  const text = $("#mint-private").value.trim();
  if (!text) return noKey("Paste your private key: a JWK with d, or a PKCS#8 PEM.");
  const want = $("#mint-alg").value;
  let format, data, candidates, kid = null;
  if (text.startsWith("-----BEGIN")) {
    const m = /^-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----\s*$/.exec(text);
    if (!m) return noKey("This PEM has no matching END line.");
    if (m[1] !== "PRIVATE KEY") {
      const why = m[1] === "ENCRYPTED PRIVATE KEY" ? "it is encrypted; decrypt it first"
        : /^(RSA|EC) PRIVATE KEY$/.test(m[1]) ? `it is ${m[1] === "RSA PRIVATE KEY" ? "PKCS#1" : "SEC1"}; convert it with: openssl pkcs8 -topk8 -nocrypt -in key.pem`
        : `it is a ${m[1]}`;
      return noKey(`A PEM private key must be PKCS#8 (BEGIN PRIVATE KEY): ${why}.`);
    }
    try {
      data = Uint8Array.from(atob(m[2].replace(/\s+/g, "")), (c) => c.charCodeAt(0));
    } catch {
      return noKey("The PEM's body is not base64.");
    }
    format = "pkcs8";
    candidates = [want, ...Object.keys(MINT_ALGS).filter((a) => a !== want)];
  } else {
    let jwk;
    try {
      jwk = JSON.parse(text);
    } catch (e) {
      return noKey(`The private key is neither a PEM nor JSON: ${e.message}`);
    }
    if (Array.isArray(jwk?.keys) && jwk.keys.length === 1) jwk = jwk.keys[0];
    if (!jwk || typeof jwk !== "object" || typeof jwk.d !== "string") return noKey("This JWK has no private part (d): paste the private key, not the public one.");
    const fits = algsFor(jwk);
    if (!fits.length) return noKey(`A ${jwk.kty} ${jwk.crv || ""} key cannot sign any algorithm this page mints.`.replace(/ +/g, " "));
    if (typeof jwk.alg === "string" && !fits.includes(jwk.alg)) return noKey(`The key says alg ${jwk.alg}, which this page does not mint (${fits.join(", ")} fit the key).`);
    format = "jwk";
    kid = typeof jwk.kid === "string" ? jwk.kid : null;
    data = Object.fromEntries(Object.entries(jwk).filter(([k]) => !["alg", "use", "key_ops", "ext", "kid", "x5c", "x5t", "x5t#S256"].includes(k)));
    candidates = jwk.alg ? [jwk.alg] : fits.includes(want) ? [want, ...fits.filter((a) => a !== want)] : fits;
  }
  for (const alg of candidates) {
    try {
      // Imported once extractable only to derive the public half, then kept non-extractable.
      const probe = await crypto.subtle.importKey(format, data, importParams(alg), true, ["sign"]);
      const full = await crypto.subtle.exportKey("jwk", probe);
      const jwk = Object.fromEntries(PUBLIC_MEMBERS.filter((k) => full[k] !== undefined).map((k) => [k, full[k]]));
      jwk.kid = kid || (await thumbprint(jwk));
      jwk.alg = alg;
      jwk.use = "sig";
      const privateKey = await crypto.subtle.importKey(format, data, importParams(alg), false, ["sign"]);
      if (seq !== mint.seq) return;
      if (alg !== want) $("#mint-alg").value = alg;
      const note = alg !== want ? ` (it cannot sign ${want}, so the algorithm is now ${alg})` : "";
      useKey(alg, { privateKey }, jwk, `Your ${alg} key, kid ${jwk.kid}${note}. It stays in this page: nothing is sent or stored.`);
      return;
    } catch {
      /* the next algorithm */
    }
  }
  if (seq === mint.seq) noKey(format === "jwk" ? `WebCrypto could not import this key for ${candidates.join(" or ")}: check its members.`
    : `WebCrypto could not import this PKCS#8 key for any of ${candidates.join(", ")}.`);
}

/** The key follows the algorithm: a new pair is generated, or the user's own key is checked
 *  against it (and the change is refused with a reason when it cannot sign it). */
async function algChanged() {
  if (!mint.own) return generate();
  const alg = $("#mint-alg").value;
  const fits = mint.publicJwk ? algsFor(mint.publicJwk) : [];
  if (mint.publicJwk && !fits.includes(alg)) {
    noKey(`Your key (${mint.publicJwk.kty}${mint.publicJwk.crv ? ` ${mint.publicJwk.crv}` : ""}) cannot sign ${alg}: choose ${fits.join(" or ")}, or generate a key pair.`);
    return;
  }
  return importOwnKey();
}

function keySourceChanged() {
  mint.own = $("#mint-key-own").checked;
  mint.seq++;
  $("#mint-own-box").hidden = !mint.own;
  if (mint.own) importOwnKey();
  else generate();
}

/** A header alg that differs from the key's algorithm is signed as written (to test a
 *  verifier), with a warning. */
function headerWarning() {
  const w = $("#mint-warning");
  let alg;
  try {
    alg = JSON.parse($("#mint-header").value)?.alg;
  } catch {
    alg = undefined;
  }
  const bad = mint.keys && mint.alg && alg !== mint.alg;
  w.hidden = !bad;
  w.textContent = bad ? `The header says alg ${alg === undefined ? "(none)" : JSON.stringify(alg)}, but the key signs ${mint.alg}: a verifier will refuse the token (the key's algorithm decides). Sign signs it as written.` : "";
  return bad;
}

function defaultClaims() {
  const now = Math.floor(nowSecs());
  return {
    exp: now + 300,
    iat: now,
    jti: crypto.randomUUID(),
    iss: "https://kc.example.test/realms/demo",
    aud: ["account", "edge-sts"],
    sub: "7d3c4b5a-0000-4000-8000-000000000001",
    typ: "Bearer",
    azp: "orders-service",
    acr: "1",
    "allowed-origins": ["/*"],
    realm_access: { roles: ["offline_access", "default-roles-demo"] },
    resource_access: { account: { roles: ["manage-account", "view-profile"] } },
    scope: "profile email",
    clientHost: "192.0.2.10",
    email_verified: false,
    preferred_username: "service-account-orders-service",
    clientAddress: "192.0.2.10",
    client_id: "orders-service",
  };
}

/** Sets iat to now and exp to now + the claims' lifetime (300 s if there is none). */
function timesToNow(c) {
  const now = Math.floor(nowSecs());
  const life = typeof c.exp === "number" && typeof c.iat === "number" ? c.exp - c.iat : 300;
  c.iat = now;
  c.exp = now + (life > 0 ? life : 300);
  mint.autoTimes = { iat: c.iat, exp: c.exp };
  return c;
}

function setMintTimes() {
  try {
    const c = timesToNow(JSON.parse($("#mint-claims").value));
    $("#mint-claims").value = JSON.stringify(c, null, 2);
    $("#mint-status").textContent = "iat is now; exp keeps the lifetime.";
  } catch (e) {
    $("#mint-status").textContent = `Claims are not JSON: ${e.message}`;
  }
}

async function sign() {
  const status = $("#mint-status");
  if (!mint.keys && !mint.own) await generate();
  if (!mint.keys) {
    status.textContent = `No key to sign with: ${$("#mint-key-status").textContent}`;
    return;
  }
  let header, claims;
  try {
    header = JSON.parse($("#mint-header").value);
    claims = JSON.parse($("#mint-claims").value);
  } catch (e) {
    status.textContent = `Header or claims are not JSON: ${e.message}`;
    return;
  }
  // Times the page wrote and the user did not touch are "now", at signing.
  const auto = mint.autoTimes;
  const refreshed = auto && claims.iat === auto.iat && claims.exp === auto.exp;
  if (refreshed) {
    timesToNow(claims);
    $("#mint-claims").value = JSON.stringify(claims, null, 2);
  }
  const mismatch = headerWarning();
  const spec = MINT_ALGS[mint.alg];
  const input = `${b64uText(JSON.stringify(header))}.${b64uText(JSON.stringify(claims))}`;
  try {
    const sig = await crypto.subtle.sign(spec.sign, mint.keys.privateKey, new TextEncoder().encode(input));
    const token = `${input}.${b64u(sig)}`;
    $("#mint-token").value = token;
    mint.signed = { token, claims: $("#mint-claims").value, header: $("#mint-header").value, publicJwk: mint.publicJwk };
    status.textContent = `Signed with ${mint.alg} key ${mint.publicJwk.kid}${refreshed ? `; iat is the signing time, exp ${claims.exp - claims.iat} s later` : ""}` +
      `${mismatch ? `; the header says alg ${header.alg}, not ${mint.alg}` : ""}.`;
  } catch (e) {
    status.textContent = `Signing failed: ${e.message || e}`;
  }
}

/** Checks the signed token (what Sign produced), not the claims as edited since: its own
 *  iss/aud fill the expectations, and edits made after signing are pointed out. */
function verifyMinted() {
  const signed = mint.signed;
  const token = $("#mint-token").value.trim();
  if (!signed || !token) {
    $("#mint-status").textContent = "Sign a token first.";
    return;
  }
  $("#token").value = token;
  $("#keys").value = JSON.stringify({ keys: [signed.publicJwk] }, null, 2);
  $("#key-alg").value = "";
  try {
    const c = JSON.parse(new TextDecoder().decode(b64uBytes(token.split(".")[1])));
    if (typeof c.iss === "string") $("#exp-issuer").value = c.iss;
    const aud = Array.isArray(c.aud) ? c.aud.filter((a) => typeof a === "string" && a !== "account") : typeof c.aud === "string" ? [c.aud] : [];
    $("#exp-aud").value = (aud.length ? aud : Array.isArray(c.aud) ? c.aud : []).join(" ");
  } catch {
    /* the checks will say what is wrong */
  }
  const edited = $("#mint-claims").value !== signed.claims || $("#mint-header").value !== signed.header;
  const note = $("#minted-note");
  note.hidden = !edited;
  note.textContent = edited ? "This is the signed token. The header or claims were edited after signing, and those edits are not in it: Sign again to include them." : "";
  selectTab("inspect");
  run();
  $("#verdict").focus?.();
}

// ---------------------------------------------------------------------------------------------
// Tabs (WAI-ARIA tabs pattern: arrows move, Home/End jump).

function selectTab(name, focus = false) {
  for (const t of document.querySelectorAll('[role="tab"]')) {
    const on = t.id === `tab-${name}`;
    t.setAttribute("aria-selected", String(on));
    t.tabIndex = on ? 0 : -1;
    document.getElementById(t.getAttribute("aria-controls")).hidden = !on;
    if (on && focus) t.focus();
  }
}

function wireTabs() {
  const tabs = [...document.querySelectorAll('[role="tab"]')];
  tabs.forEach((t, i) => {
    t.addEventListener("click", () => selectTab(t.id.slice(4)));
    t.addEventListener("keydown", (e) => {
      let j = null;
      if (e.key === "ArrowRight") j = (i + 1) % tabs.length;
      else if (e.key === "ArrowLeft") j = (i - 1 + tabs.length) % tabs.length;
      else if (e.key === "Home") j = 0;
      else if (e.key === "End") j = tabs.length - 1;
      if (j !== null) {
        e.preventDefault();
        selectTab(tabs[j].id.slice(4), true);
      }
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Wiring.

function readFileInto(file, target) {
  file.text().then((text) => {
    target.value = text;
    run();
  });
}

function wireDrop(target) {
  target.addEventListener("dragover", (e) => {
    e.preventDefault();
    target.classList.add("drop");
  });
  target.addEventListener("dragleave", () => target.classList.remove("drop"));
  target.addEventListener("drop", (e) => {
    target.classList.remove("drop");
    const f = e.dataTransfer?.files?.[0];
    if (f) {
      e.preventDefault();
      readFileInto(f, target);
    }
  });
}

function wire() {
  const token = $("#token");
  // A paste replaces the selection and is checked at once; the verdict time counts from the
  // paste event itself.
  token.addEventListener("paste", (e) => {
    const text = e.clipboardData?.getData("text");
    if (text == null) return;
    e.preventDefault();
    const t0 = e.timeStamp > 0 && e.timeStamp <= performance.now() ? e.timeStamp : performance.now();
    token.setRangeText(text, token.selectionStart, token.selectionEnd, "end");
    run(t0);
  });
  token.addEventListener("input", () => {
    $("#minted-note").hidden = true;
    run();
  });
  $("#token-file").addEventListener("change", (e) => e.target.files[0] && readFileInto(e.target.files[0], token));
  wireDrop(token);
  wireDrop($("#keys"));
  $("#clear").addEventListener("click", () => {
    token.value = "";
    run();
    token.focus();
  });
  for (const r of document.querySelectorAll('input[name="profile"]')) r.addEventListener("change", profileChanged);
  $("#config").addEventListener("input", () => run());
  wireDrop($("#config"));
  profileChanged();
  for (const id of ["#keys", "#exp-issuer", "#exp-aud", "#exp-leeway", "#exp-lifetime", "#exp-typ", "#exp-required", "#exp-app-token"]) {
    $(id).addEventListener("input", () => run());
  }
  $("#exp-allow-missing-sub").addEventListener("change", () => run());
  $("#key-alg").addEventListener("change", () => run());
  $("#use-iss").addEventListener("click", () => {
    const iss = state.report?.decoded.payload?.json?.iss;
    if (typeof iss === "string") $("#issuer-url").value = iss;
    else fetchStatus("The token has no string iss.", false);
  });
  $("#fetch-issuer").addEventListener("click", fetchIssuer);
  $("#fetch-jwks").addEventListener("click", fetchJwks);
  $("#fetch-curl-copy").addEventListener("click", copyCurl);
  $("#copy-header").addEventListener("click", (e) => copyText(partText("header"), e.currentTarget));
  $("#copy-payload").addEventListener("click", (e) => copyText(partText("payload"), e.currentTarget));
  $("#hmac-secret").addEventListener("input", () => run());
  $("#hmac-b64").addEventListener("change", () => run());
  wireTabs();
  $("#mint-generate").addEventListener("click", generate);
  $("#mint-alg").addEventListener("change", algChanged);
  $("#mint-header").addEventListener("input", headerWarning);
  for (const r of document.querySelectorAll('input[name="mint-key"]')) r.addEventListener("change", keySourceChanged);
  $("#mint-private").addEventListener("input", importOwnKey);
  $("#mint-now").addEventListener("click", setMintTimes);
  $("#mint-sign").addEventListener("click", sign);
  $("#mint-verify").addEventListener("click", verifyMinted);
  $("#mint-copy").addEventListener("click", (e) => copyText($("#mint-token").value, e.currentTarget, $("#mint-token")));
  $("#mint-claims").value = JSON.stringify(timesToNow(defaultClaims()), null, 2);
  $("#verdict").tabIndex = -1;
  setInterval(tick, 1000);
}

/** Shows the fields the chosen rules use. "As edge-sts would" starts from the configuration's
 *  defaults (max lifetime 3600 s, payload typ Bearer, Keycloak's application-token rule); back
 *  to "any JWT", defaults still untouched are cleared. */
function profileChanged() {
  const p = profile();
  $("#config-box").hidden = p !== "config";
  if (p === "config") loadConfigReader();
  $("#expectations").hidden = p === "config";
  for (const e of document.querySelectorAll(".edge-only")) e.hidden = p !== "edge_sts";
  $("#app-token-hint").textContent = p === "edge_sts" ? "(blank: Keycloak's rule: client_id/clientId, its service-account username, no session)" : "(blank: not checked)";
  const [life, typ] = [$("#exp-lifetime"), $("#exp-typ")];
  if (p === "edge_sts") {
    if (!life.value.trim()) life.value = "3600";
    if (!typ.value.trim()) typ.value = "Bearer";
  } else if (p === "any_jwt") {
    if (life.value === "3600") life.value = "";
    if (typ.value === "Bearer") typ.value = "";
  }
  run();
}

/** Until the checker is loaded, a token in the field gets "checking…", not "Paste a token". */
function whileLoading() {
  const token = $("#token");
  const onInput = () => {
    if (token.value.trim()) setVerdict("checking", "Checking… (the checker is still loading)");
    else setVerdict("empty", "Paste a token to see the verdict.");
  };
  token.addEventListener("input", onInput);
  if (token.value.trim()) onInput();
  return () => token.removeEventListener("input", onInput);
}

async function main() {
  const loaded = whileLoading();
  await init();
  loaded();
  wire();
  $("#loading").hidden = true;
  document.body.dataset.ready = "1";
  if ($("#token").value.trim()) run();
}

// For the browser console (and the tests): the core's vector verdicts and the last report.
window.edgeSts = {
  vectorVerdicts: (text) => JSON.parse(vectorVerdicts(typeof text === "string" ? text : JSON.stringify(text))),
  report: () => state.report,
};

main().catch((e) => {
  const l = $("#loading");
  l.textContent = `The checker could not load: ${e.message || e}`;
  setVerdict("error", `The checker could not load: ${e.message || e}`);
  l.dataset.error = "1";
});
