// The verdict box and the list of checks.
import { CHECK_LABELS } from "./check-labels.js";
import { $, h, rich, setVerdict } from "./dom.js";
import { SIGNATURE_CHECKS, hmacCheck } from "./hmac.js";
import { keyInputVerdict } from "./key-input.js";
import { profile, state } from "./state.js";
import { relative } from "./time.js";

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
export function renderVerdict(r) {
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
export function renderChecks(r) {
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
