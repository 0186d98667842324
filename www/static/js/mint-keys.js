// Mint's key: a throwaway, non-extractable WebCrypto key pair per algorithm, or the user's own
// private key (JWK with `d`, or PKCS#8 PEM) imported in the page.
import { b64u } from "./base64url.js";
import { $ } from "./dom.js";

export const MINT_ALGS = {
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
export const mint = { alg: null, keys: null, publicJwk: null, autoTimes: null, own: false, signed: null, seq: 0 };

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

export async function generate() {
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
export async function importOwnKey() {
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
export async function algChanged() {
  if (!mint.own) return generate();
  const alg = $("#mint-alg").value;
  const fits = mint.publicJwk ? algsFor(mint.publicJwk) : [];
  if (mint.publicJwk && !fits.includes(alg)) {
    noKey(`Your key (${mint.publicJwk.kty}${mint.publicJwk.crv ? ` ${mint.publicJwk.crv}` : ""}) cannot sign ${alg}: choose ${fits.join(" or ")}, or generate a key pair.`);
    return;
  }
  return importOwnKey();
}

export function keySourceChanged() {
  mint.own = $("#mint-key-own").checked;
  mint.seq++;
  $("#mint-own-box").hidden = !mint.own;
  if (mint.own) importOwnKey();
  else generate();
}

/** A header alg that differs from the key's algorithm is signed as written (to test a
 *  verifier), with a warning. */
export function headerWarning() {
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
