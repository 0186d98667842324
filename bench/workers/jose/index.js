// Reference: the same job as edge-sts POST /token, written the way a user would with `jose`:
// verify a Keycloak-shaped RS256/ES256 token against the issuer's JWKS (createRemoteJWKSet,
// jose's own JWKS handling), check iss/aud/exp, mint an ES256 token. No token caches.
import { createRemoteJWKSet, jwtVerify, SignJWT, importJWK } from "jose";

let jwks, signingKey;

export default {
  async fetch(request, env) {
    jwks ??= createRemoteJWKSet(new URL(env.JWKS_URI));
    signingKey ??= importJWK(JSON.parse(env.SIGNING_KEY), "ES256");
    const form = new URLSearchParams(await request.text());
    try {
      const { payload } = await jwtVerify(form.get("subject_token"), jwks, {
        issuer: env.ISSUER, audience: "edge-sts", algorithms: ["RS256", "ES256"],
      });
      const now = Math.floor(Date.now() / 1000);
      const token = await new SignJWT({ client_id: payload.client_id, scope: "orders:read", tenant_id: payload.tenant_id })
        .setProtectedHeader({ alg: "ES256", kid: "bench-es", typ: "at+jwt" })
        .setIssuer("http://127.0.0.1:8787").setSubject(payload.client_id).setAudience("https://orders.example.test")
        .setIssuedAt(now).setExpirationTime(now + 300).setJti(crypto.randomUUID())
        .sign(await signingKey);
      return Response.json({ access_token: token, issued_token_type: "urn:ietf:params:oauth:token-type:access_token", token_type: "Bearer", expires_in: 300 }, { headers: { "cache-control": "no-store" } });
    } catch (e) {
      return Response.json({ error: "invalid_request", error_description: "subject token is invalid" }, { status: 400 });
    }
  },
};
