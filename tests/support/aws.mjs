// TEST-ONLY: AWS STS for end-to-end tests. A real emulator (PyPI moto[server], in .venv-moto,
// installed by scripts/setup.sh) behind a recording proxy. moto answers the real XML shape but
// checks nothing, so the tests check what edge-sts *sent* (recorded here), and AWS's error
// answers come from recorded fixtures (core/tests/fixtures/sts/aws/) served by the proxy.
import http from "node:http";
import net from "node:net";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const freePort = () => new Promise((r) => { const s = net.createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => r(p)); }); });

export async function startAwsSts() {
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
    requests.push({ method: req.method, url: req.url, headers: req.headers, form: Object.fromEntries(new URLSearchParams(body)) });
    if (canned) {
      res.writeHead(canned.status, { "content-type": "text/xml" });
      return res.end(readFileSync(path.join(root, "core/tests/fixtures/sts/aws", canned.fixture)));
    }
    // An Authorization header naming the sts service makes moto route the unsigned call to STS.
    const r = await fetch(`http://127.0.0.1:${motoPort}/`, { method: "POST", body, headers: {
      "content-type": req.headers["content-type"], authorization: "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=0" } });
    res.writeHead(r.status, { "content-type": r.headers.get("content-type") ?? "text/xml" });
    res.end(await r.text());
  });
  await new Promise((r) => proxy.listen(0, "127.0.0.1", r));
  return {
    endpoint: `http://127.0.0.1:${proxy.address().port}/`,
    requests,
    /** Answer the next calls with a recorded AWS response instead of moto's (null: moto again). */
    respondWith(status, fixture) { canned = status ? { status, fixture } : null; },
    async close() { proxy.close(); moto.kill(); },
  };
}
