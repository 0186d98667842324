// TEST-ONLY: AWS STS for end-to-end tests. A real emulator (PyPI moto[server], in .venv-moto,
// installed by scripts/setup.sh) behind a recording proxy. moto answers the real XML shape but
// checks nothing, so the proxy checks the web identity token as AWS does before moto sees it
// (assertion.mjs: discovery from the token's own `iss`, JWKS, signature, `typ`, `aud` among the
// OIDC provider's client ids, `sub`, `exp`, `iat`) and refuses in AWS's words
// (`InvalidIdentityToken`, `ExpiredTokenException`, `IDPCommunicationError`). Other calls, an
// SDK's signed GetCallerIdentity among them, reach moto with the SDK's own signature. The tests check
// what edge-sts *sent* (recorded here); other AWS error answers come from recorded fixtures
// (core/tests/fixtures/sts/aws/) served by the proxy.
//
//   startAwsSts({ providers })  providers: the account's IAM OIDC identity providers,
//     [{ url: <issuer, exactly as in `iss`>, clientIds: [<accepted aud>, ...] }], read at each
//     call (a test may push to it). Without it: any issuer on loopback, any audience; the token
//     is still verified through its issuer's discovery.
import http from "node:http";
import net from "node:net";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { verifyAssertion } from "./assertion.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const freePort = () => new Promise((r) => { const s = net.createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => r(p)); }); });

/** AWS's error document (the shape of the recorded fixtures). */
function awsError(code, message) {
  const esc = (t) => t.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  return `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">\n  <Error>\n    <Type>Sender</Type>\n    <Code>${code}</Code>\n    <Message>${esc(message)}</Message>\n  </Error>\n  <RequestId>4fc0d3ee-efef-11e9-9282-3b7bffe54a9b</RequestId>\n</ErrorResponse>\n`;
}

/** What AWS STS answers for a web identity token it does not accept, or null. */
async function checkWebIdentityToken(token, providers) {
  const v = await verifyAssertion(token ?? "", { issuers: providers?.map((p) => p.url) });
  if (!v.ok) {
    const now = Math.floor(Date.now() / 1000);
    switch (v.check) {
      case "issuer": return [400, "InvalidIdentityToken", `No OpenIDConnect provider found in your account for ${v.detail}`];
      case "discovery": return [400, "IDPCommunicationError", "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements"];
      case "expired": return [400, "ExpiredTokenException", `Token expired: current date/time ${now} must be before the expiration date/time ${v.detail}`];
      case "subject": return [400, "InvalidIdentityToken", "Missing a required claim: sub"];
      default: return [400, "InvalidIdentityToken", `The web identity token that was passed could not be validated by AWS (${v.check}). Get a new identity token from the identity provider and then retry the request.`];
    }
  }
  const provider = providers?.find((p) => p.url === v.payload.iss);
  const auds = Array.isArray(v.payload.aud) ? v.payload.aud : [v.payload.aud];
  if (provider && !auds.some((a) => provider.clientIds.includes(a))) return [400, "InvalidIdentityToken", "Incorrect token audience"];
  return null;
}

export async function startAwsSts({ providers } = {}) {
  const motoPort = await freePort();
  const moto = spawn(path.join(root, ".venv-moto/bin/moto_server"), ["-H", "127.0.0.1", "-p", String(motoPort)], { stdio: "ignore" });
  for (let i = 0; ; i++) {
    try { await fetch(`http://127.0.0.1:${motoPort}/moto-api/`); break; } catch { if (i > 150) throw new Error("moto_server did not start"); await new Promise((r) => setTimeout(r, 100)); }
  }
  const requests = [];
  let canned = null; // { status, fixture }
  const proxy = http.createServer(async (req, res) => {
    let body = "";
    for await (const c of req) body += c;
    const form = Object.fromEntries(new URLSearchParams(body));
    const rec = { method: req.method, url: req.url, headers: req.headers, form };
    requests.push(rec);
    if (canned) {
      res.writeHead(canned.status, { "content-type": "text/xml" });
      return res.end(readFileSync(path.join(root, "core/tests/fixtures/sts/aws", canned.fixture)));
    }
    if (form.Action === "AssumeRoleWithWebIdentity") {
      const refused = await checkWebIdentityToken(form.WebIdentityToken, providers);
      if (refused) {
        rec.refused = refused[1];
        res.writeHead(refused[0], { "content-type": "text/xml" });
        return res.end(awsError(refused[1], refused[2]));
      }
    }
    // moto routes a call by the service its Authorization header names, and names the caller of
    // a signed call (GetCallerIdentity with assumed-role credentials) by the header's access key:
    // an SDK's own signature is passed on as it is; an unsigned call (AssumeRoleWithWebIdentity,
    // from edge-sts or from an SDK) gets a header naming the sts service.
    const authorization = req.headers.authorization ?? "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=0";
    const r = await fetch(`http://127.0.0.1:${motoPort}/`, { method: "POST", body, headers: {
      "content-type": req.headers["content-type"], authorization } });
    res.writeHead(r.status, { "content-type": r.headers.get("content-type") ?? "text/xml" });
    res.end(await r.text());
  });
  await new Promise((r) => proxy.listen(0, "127.0.0.1", r));
  return {
    /** The verifying proxy: the STS endpoint for edge-sts and for SDKs. */
    endpoint: `http://127.0.0.1:${proxy.address().port}/`,
    /** moto itself, behind no checks (for a test that must reach it directly). */
    motoEndpoint: `http://127.0.0.1:${motoPort}/`,
    requests,
    /** The AssumeRoleWithWebIdentity calls received (whether refused or passed to moto). */
    assumeCalls: () => requests.filter((r) => r.form.Action === "AssumeRoleWithWebIdentity"),
    /** The providers the proxy trusts (the array passed in, or undefined: any loopback issuer). */
    providers,
    /** Answer the next calls with a recorded AWS response instead of moto's (null: moto again). */
    respondWith(status, fixture) { canned = status ? { status, fixture } : null; },
    async close() { proxy.close(); moto.kill(); },
  };
}
