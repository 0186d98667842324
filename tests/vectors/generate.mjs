// Generates tests/vectors/generated.json: signature vectors for every algorithm edge-sts accepts,
// made with jose (Node's own crypto), plus cases that must be refused. TEST-ONLY keys; the file
// holds public keys only. Re-run with: node tests/vectors/generate.mjs
// The same file is checked natively (core/tests/vectors.rs, pure-Rust backend) and inside
// workerd (tests/e2e, WebCrypto backend): both must give every case the verdict it expects.
import { generateKeyPair, exportJWK, CompactSign } from "jose";
import { generateKeyPairSync, sign as nodeSign, createHmac } from "node:crypto";
import { writeFileSync } from "node:fs";

const b64u = (b) => Buffer.from(b).toString("base64url");
const enc = new TextEncoder();
const cases = [];
const pub = (jwk) => Object.fromEntries(Object.entries(jwk).filter(([k]) => !["d", "p", "q", "dp", "dq", "qi"].includes(k)));

async function make(alg, opts = {}) {
  const kp = await generateKeyPair(alg, { extractable: true, ...(alg.startsWith("RS") || alg.startsWith("PS") ? { modulusLength: 2048 } : {}), ...opts });
  return { kp, jwk: { ...pub(await exportJWK(kp.publicKey)), alg } };
}

const payload = JSON.stringify({ iss: "https://issuer.example", sub: "vector", exp: 1300819380 });
for (const alg of ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"]) {
  const { kp, jwk } = await make(alg, alg === "EdDSA" ? { crv: "Ed25519" } : {});
  const other = await make(alg, alg === "EdDSA" ? { crv: "Ed25519" } : {});
  const jws = await new CompactSign(enc.encode(payload)).setProtectedHeader({ alg }).sign(kp.privateKey);
  const [h, p, s] = jws.split(".");
  const input = `${h}.${p}`;
  cases.push({ name: `${alg} valid`, alg, jwk, input, signature: s, expect: "valid" });
  cases.push({ name: `${alg} wrong key`, alg, jwk: other.jwk, input, signature: s, expect: "invalid" });
  const sig = Buffer.from(s, "base64url");
  for (const bit of [0, 7, 8 * Math.floor(sig.length / 2), 8 * sig.length - 1]) {
    const f = Buffer.from(sig); f[bit >> 3] ^= 1 << (bit & 7);
    cases.push({ name: `${alg} signature bit ${bit} flipped`, alg, jwk, input, signature: b64u(f), expect: "invalid" });
  }
  const tampered = `${h}.${b64u(JSON.stringify({ iss: "https://issuer.example", sub: "admin", exp: 1300819380 }))}`;
  cases.push({ name: `${alg} payload changed`, alg, jwk, input: tampered, signature: s, expect: "invalid" });
  cases.push({ name: `${alg} signature truncated`, alg, jwk, input, signature: b64u(sig.subarray(0, sig.length - 1)), expect: "invalid" });
  if (alg.startsWith("ES")) {
    const n = sig.length;
    cases.push({ name: `${alg} r=s=0 (CVE-2022-21449)`, alg, jwk, input, signature: b64u(Buffer.alloc(n)), expect: "invalid" });
    // DER instead of raw r||s
    const r = sig.subarray(0, n / 2), sv = sig.subarray(n / 2);
    const int = (x) => { let v = Buffer.from(x); while (v.length > 1 && v[0] === 0 && !(v[1] & 0x80)) v = v.subarray(1); if (v[0] & 0x80) v = Buffer.concat([Buffer.from([0]), v]); return Buffer.concat([Buffer.from([2, v.length]), v]); };
    const body = Buffer.concat([int(r), int(sv)]);
    cases.push({ name: `${alg} DER-encoded signature`, alg, jwk, input, signature: b64u(Buffer.concat([Buffer.from([0x30, body.length]), body])), expect: "invalid" });
  }
  if (alg === "RS256") {
    cases.push({ name: "RS256 key used as PS256", alg: "PS256", jwk, input, signature: s, expect: "refused:alg" });
    cases.push({ name: "RS256 signature checked with the same key bound to RS384", alg: "RS384", jwk: { ...jwk, alg: "RS384" }, input, signature: s, expect: "invalid" });
  }
}

// Keys that must never verify.
{
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 1024 });
  const jwk = publicKey.export({ format: "jwk" });
  const input = `${b64u('{"alg":"RS256"}')}.${b64u(payload)}`;
  cases.push({ name: "RSA 1024-bit key refused", alg: "RS256", jwk, input, signature: b64u(nodeSign("sha256", Buffer.from(input), privateKey)), expect: "refused:WeakRsaKey" });
}
{
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048, publicExponent: 3 });
  const jwk = publicKey.export({ format: "jwk" });
  const input = `${b64u('{"alg":"RS256"}')}.${b64u(payload)}`;
  cases.push({ name: "RSA e=3 refused", alg: "RS256", jwk, input, signature: b64u(nodeSign("sha256", Buffer.from(input), privateKey)), expect: "refused:RsaExponent" });
}
{
  const { jwk: bound } = await make("RS256");
  const { alg: _a, ...jwk } = bound;
  const input = `${b64u('{"alg":"HS256"}')}.${b64u(payload)}`;
  const pem = Buffer.from(JSON.stringify(jwk));
  cases.push({ name: "HS256 with the RSA public key as secret (alg confusion)", alg: "HS256", jwk, input, signature: b64u(createHmac("sha256", pem).update(input).digest()), expect: "refused:alg" });
  cases.push({ name: "alg none", alg: "none", jwk, input: `${b64u('{"alg":"none"}')}.${b64u(payload)}`, signature: "", expect: "refused:alg" });
  cases.push({ name: "use=enc key refused", alg: "RS256", jwk: { ...jwk, use: "enc" }, input, signature: "AA", expect: "refused:NotForSigning" });
  cases.push({ name: "key_ops without verify refused", alg: "RS256", jwk: { ...jwk, key_ops: ["encrypt"] }, input, signature: "AA", expect: "refused:NotForSigning" });
  cases.push({ name: "oct key refused", alg: "RS256", jwk: { kty: "oct", k: "c2VjcmV0" }, input, signature: "AA", expect: "refused:PrivateMaterial" });
  cases.push({ name: "EC key with RS256 alg refused", alg: "RS256", jwk: { ...(await make("ES256")).jwk, alg: "RS256" }, input, signature: "AA", expect: "refused:AlgDoesNotFitKey" });
}

writeFileSync(new URL("./generated.json", import.meta.url), JSON.stringify({ source: "tests/vectors/generate.mjs (jose + node:crypto), TEST-ONLY keys, public parts only", cases }, null, 1) + "\n");
console.log(`wrote ${cases.length} cases`);
