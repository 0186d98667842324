// scripts/release-cli.sh: the CLI as one static Linux binary. The script's SHA-256 line matches
// the file, the binary needs no program interpreter or shared library, and it still resolves
// names (ureq asks getaddrinfo, which a statically linked glibc answers from /etc/hosts): it
// reaches a listener here by 127.0.0.1 and by `localhost`, with an empty environment.
// Warm (dependencies built), the script takes about half a minute; cold, a few minutes.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { after, before, test } from "node:test";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const run = promisify(execFile);
let built, server;
const seen = [];

before(async () => {
  const { stdout } = await run(path.join(root, "scripts/release-cli.sh"), [], { cwd: root, timeout: 1_200_000, maxBuffer: 1 << 24 });
  // `<sha256>  edge-sts-<version>-<target>` per target; x86_64 is always among them.
  built = stdout.trim().split("\n").map((l) => l.split(/\s+/)).filter(([h, f]) => /^[0-9a-f]{64}$/.test(h) && f?.startsWith("edge-sts-"));
  server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.headers.host} ${req.url}`);
    res.writeHead(418, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: "teapot" }));
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
});
after(() => server?.close());

test("the script prints each binary's SHA-256, and each is static", async () => {
  assert.ok(built.some(([, f]) => /x86_64-unknown-linux-(musl|gnu)$/.test(f)), JSON.stringify(built));
  for (const [hash, file] of built) {
    const bin = path.join(root, "target/dist", file);
    assert.equal(createHash("sha256").update(readFileSync(bin)).digest("hex"), hash, file);
    assert.equal(readFileSync(`${bin}.sha256`, "utf8").trim(), `${hash}  ${file}`);
    const { stdout: program } = await run("readelf", ["-lW", bin]);
    assert.doesNotMatch(program, /Requesting program interpreter/, `${file}: no dynamic loader`);
    const { stdout: dynamic } = await run("readelf", ["-dW", bin]);
    assert.doesNotMatch(dynamic, /\(NEEDED\)/, `${file}: no shared library`);
  }
});

test("the static x86_64 binary resolves names: 127.0.0.1 and localhost both reach the listener", async () => {
  const [, file] = built.find(([, f]) => f.includes("x86_64"));
  const bin = path.join(root, "target/dist", file);
  const port = server.address().port;
  for (const host of ["127.0.0.1", "localhost"]) {
    const base = `http://${host}:${port}`;
    const e = await run(bin, ["token", "--audience", "a", "--edge-sts", base, "--token-url", `${base}/kc/token`, "--client-id", "c",
      "--client-secret-env", "S", "--allow-http-loopback"], { env: { S: "TEST-ONLY" } }).catch((x) => x);
    assert.equal(e.code, 2, host);
    assert.equal(e.stderr, "error: Keycloak refused client c: HTTP 418 teapot\n", host);
    assert.equal(seen.at(-1), `POST ${host}:${port} /kc/token`, host);
  }
});
