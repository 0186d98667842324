// Local dev: a demo Keycloak-shaped issuer (oidc-provider, TEST-ONLY secrets) on :8180 and
// edge-sts in the real Workers runtime (workerd via Miniflare) on :8787, in explicit dev mode.
// ISSUER_PORT and PORT change the two ports.
import { startIssuer } from "../tests/support/issuer.mjs";
import { startWorker, devConfig } from "../tests/support/worker.mjs";

const issuer = await startIssuer({ port: Number(process.env.ISSUER_PORT ?? 8180) });
// No signing_keys: dev mode generates ephemeral ones (with a loud warning in the log). The
// configured issuer names the chosen port, so discovery, the JWKS URL and minted `iss` agree.
const port = Number(process.env.PORT ?? 8787);
const config = devConfig(issuer.url, { issuer: `http://127.0.0.1:${port}`, signing_keys: [] });
const worker = await startWorker({ config, build: "build", port, playground: true });
setInterval(() => { while (worker.logs.length) console.log("[worker]", worker.logs.shift()); }, 200).unref?.();

const secret = issuer.clients["orders-service"].secret;
console.log(`
edge-sts (dev mode) on ${worker.url}   demo issuer on ${issuer.url}

1) Get a Keycloak-style service-account token (client_credentials; the secret is TEST-ONLY):

  TOKEN=$(curl -s -d grant_type=client_credentials -d client_id=orders-service \\
    -d client_secret=${secret} \\
    ${issuer.tokenEndpoint} | sed -E 's/.*"access_token":"([^"]+)".*/\\1/')

2) Exchange it at edge-sts for a downstream token (RFC 8693):

  curl -s ${worker.url}/token \\
    -d grant_type=urn:ietf:params:oauth:grant-type:token-exchange \\
    -d subject_token_type=urn:ietf:params:oauth:token-type:access_token \\
    -d subject_token="$TOKEN" -d audience=orders -d scope=orders:read

3) The token playground (decode/verify/mint in your browser, nothing leaves the page): ${worker.url}/

4) edge-sts's own keys and discovery: ${worker.url}/.well-known/jwks.json  ${worker.url}/.well-known/openid-configuration

Ctrl-C to stop.`);

const stop = async () => { await worker.stop(); await issuer.close(); process.exit(0); };
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
