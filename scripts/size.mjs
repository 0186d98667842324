// Prints the Worker upload size (gzip of wasm + JS), as `wrangler deploy --dry-run` reports it.
import { existsSync, readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import path from "node:path";
const dir = process.argv[2] ?? "build";
const wasm = readFileSync(`${dir}/index_bg.wasm`), js = readFileSync(`${dir}/index.js`);
const gz = gzipSync(wasm, { level: 9 }).length + gzipSync(js, { level: 9 }).length;
console.log(`worker size (${dir}): wasm ${(wasm.length / 1024).toFixed(1)} KiB, js ${(js.length / 1024).toFixed(1)} KiB, gzip total ${(gz / 1024).toFixed(1)} KiB`);
// A configuration embedded at build time (EDGE_STS_CONFIG_FILE) is reported on its own line: it
// counts toward Cloudflare's upload limit but is data, not code, so not toward the budget below.
if (existsSync(`${dir}/edge-sts-config.js`)) {
  const cfg = readFileSync(`${dir}/edge-sts-config.js`);
  console.log(`embedded configuration (${dir}/edge-sts-config.js): ${(cfg.length / 1024).toFixed(1)} KiB, gzip ${(gzipSync(cfg, { level: 9 }).length / 1024).toFixed(1)} KiB (not in the code budget)`);
}
// Upload-size budgets for the release build and the downstream-only build (`scripts/build.sh
// downstream`, without the `clouds` feature): growth past them fails the test command. They are
// guards, far below Cloudflare's own limits (docs/performance.md, "Budgets").
const BUDGETS_KIB = { build: 260, "build-downstream": 205 };
const budget = BUDGETS_KIB[path.basename(path.resolve(dir))];
if (budget !== undefined && gz / 1024 > budget) {
  console.error(`worker upload (${dir}) ${(gz / 1024).toFixed(1)} KiB is over its budget of ${budget} KiB`);
  process.exit(1);
}
