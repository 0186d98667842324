// Mint: the claims, signing them with the key, and checking the signed token in Inspect.
import { b64u, b64uBytes, b64uText } from "./base64url.js";
import { run } from "./checker.js";
import { $ } from "./dom.js";
import { MINT_ALGS, generate, headerWarning, mint } from "./mint-keys.js";
import { selectTab } from "./tabs.js";
import { nowSecs } from "./time.js";

export function defaultClaims() {
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
export function timesToNow(c) {
  const now = Math.floor(nowSecs());
  const life = typeof c.exp === "number" && typeof c.iat === "number" ? c.exp - c.iat : 300;
  c.iat = now;
  c.exp = now + (life > 0 ? life : 300);
  mint.autoTimes = { iat: c.iat, exp: c.exp };
  return c;
}

export function setMintTimes() {
  try {
    const c = timesToNow(JSON.parse($("#mint-claims").value));
    $("#mint-claims").value = JSON.stringify(c, null, 2);
    $("#mint-status").textContent = "iat is now; exp keeps the lifetime.";
  } catch (e) {
    $("#mint-status").textContent = `Claims are not JSON: ${e.message}`;
  }
}

export async function sign() {
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
export function verifyMinted() {
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
