// edge-sts token playground: the page's entry point, bundled by scripts/build-www.sh (esbuild)
// into www/dist/app.js. All decisions come from the core (wasm): the page reads the form, calls
// `inspect`, and renders the report. It never sends a token anywhere, never stores anything, and
// fetches only the discovery/JWKS URLs the user asks for with a button. This module wires the
// form's events to the other modules, and loads the checker.
import { run, tick } from "./checker.js";
import { copyText } from "./clipboard.js";
import { loadConfigReader } from "./config-reader.js";
import { $, setVerdict } from "./dom.js";
import { copyCurl, fetchIssuer, fetchJwks, fetchStatus } from "./key-fetch.js";
import { algChanged, generate, headerWarning, importOwnKey, keySourceChanged } from "./mint-keys.js";
import { defaultClaims, setMintTimes, sign, timesToNow, verifyMinted } from "./mint.js";
import { partText } from "./report.js";
import { profile, state } from "./state.js";
import { wireTabs } from "./tabs.js";
import { init, vectorVerdicts } from "./wasm.js";

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
