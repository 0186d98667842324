// Fetching keys (discovery, then the JWKS): only when the user clicks, with no credentials, no
// referrer, no redirects. A failure names the URL, the step and the cause, with a curl line.
import { run } from "./checker.js";
import { $ } from "./dom.js";
import { discoveryUrl, jwksUriFrom, urlAllowed } from "./wasm.js";

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

export function fetchStatus(msg, ok = true) {
  const s = $("#fetch-status");
  s.textContent = msg;
  s.dataset.ok = ok ? "1" : "0";
  s.dataset.cause = "";
  if (ok) $("#fetch-help").hidden = true;
}

/** A shell-safe `curl` line for `url` (single quotes, with any ' escaped). */
export const curlLine = (url) => `curl -sS '${url.replace(/'/g, "'\\''")}'`;

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

export async function fetchIssuer() {
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

export async function fetchJwks() {
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

export async function copyCurl() {
  const field = $("#fetch-curl");
  try {
    await navigator.clipboard.writeText(field.value);
    $("#fetch-curl-copy").textContent = "Copied";
  } catch {
    field.select();
    $("#fetch-curl-copy").textContent = "Selected: Ctrl+C";
  }
}
