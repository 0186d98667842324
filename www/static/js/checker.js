// Runs the core's `inspect` over the form: the token (normalised), the key input, and the
// expectations of the chosen rules, or a pasted configuration. Then renders the report.
import { configReader, loadConfigReader } from "./config-reader.js";
import { $, setVerdict } from "./dom.js";
import { hmacState, verifyHmac } from "./hmac.js";
import { render } from "./report.js";
import { profile, state } from "./state.js";
import { nowSecs } from "./time.js";
import { inspect } from "./wasm.js";

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
export function run(t0 = performance.now()) {
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

/** Live countdown; re-check when a time rule flips (exp + leeway, nbf - leeway, iat - leeway). */
export function tick() {
  const now = nowSecs();
  for (const e of document.querySelectorAll(".live")) {
    const epoch = Number(e.dataset.epoch);
    if (e._fmt) e.textContent = e._fmt(epoch - now);
  }
  if (state.report && state.boundaries.some((b) => b > state.lastTick && b <= now)) run();
  state.lastTick = now;
}
