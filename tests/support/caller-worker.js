// TEST-ONLY: a Worker that calls edge-sts through a service binding (`env.STS`, no network hop),
// as docs/http.md's "Calling from another Worker" shows. `env.STS_ISSUER` is edge-sts's issuer:
// the binding ignores the host, the path is the route under the issuer's path.
//   POST /exchange  {"subject_token", "audience"} -> edge-sts's /token answer, as it came
//   GET  /jwks      edge-sts's JWKS, through the binding
//   GET  /raw?path= any edge-sts path through the binding (status and body as they came)
//   GET  /ray?path=&bytes= that path with a forged `cf-ray` of about `bytes` bytes: a quote, braces,
//                 a backslash, control characters (ESC, tab, 0x01) and Latin-1, then `x`s
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (request.method === "POST" && url.pathname === "/exchange") {
      const { subject_token, audience } = await request.json();
      const res = await env.STS.fetch(`${env.STS_ISSUER}/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
          subject_token_type: "urn:ietf:params:oauth:token-type:access_token",
          subject_token,
          audience,
        }),
      });
      return new Response(res.body, { status: res.status, headers: { "content-type": "application/json" } });
    }
    if (url.pathname === "/jwks") return env.STS.fetch(`${env.STS_ISSUER}/.well-known/jwks.json`);
    if (url.pathname === "/raw") return env.STS.fetch(new URL(url.searchParams.get("path"), env.STS_ISSUER), { method: url.searchParams.get("method") ?? "GET" });
    if (url.pathname === "/ray") {
      const ray = '"}{\x1b[2J\t\x01\\\xe9' + "x".repeat(Number(url.searchParams.get("bytes") ?? 0));
      return env.STS.fetch(new URL(url.searchParams.get("path"), env.STS_ISSUER), { headers: { "cf-ray": ray } });
    }
    return new Response("not found", { status: 404 });
  },
};
