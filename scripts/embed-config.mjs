// Embeds a configuration file in a built Worker (scripts/build.sh with EDGE_STS_CONFIG_FILE).
//   node scripts/embed-config.mjs FILE            validate only (exit 1 with field/problem/fix)
//   node scripts/embed-config.mjs FILE DIR        validate, then embed into DIR (build/, build-test/)
//   --without-clouds (either form)                for build-downstream/: cloud blocks are refused
// Validation is `edge-sts check FILE`: the loader the Worker runs (config::load), built natively
// (with `--without-clouds`, the rule of a Worker built without the `clouds` feature).
// Embedding writes DIR/edge-sts-config.js, one statement setting the global the Worker reads when
// the EDGE_STS_CONFIG variable is absent (src/isolate.rs), and imports it first in DIR/index.js;
// wrangler bundles it with the rest. The text is embedded byte for byte as validated. The wasm is
// untouched, so changing the policy never recompiles Rust.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
/** The global src/isolate.rs reads (edge_sts_core::config::source::EMBEDDED_GLOBAL). */
export const GLOBAL = "__EDGE_STS_EMBEDDED_CONFIG";
export const MODULE = "edge-sts-config.js";
const IMPORT = `import"./${MODULE}";\n`;

/** Runs `edge-sts check FILE`; returns null when valid, else the CLI's error lines. */
export function check(file, { withoutClouds = false } = {}) {
  try {
    const args = ["run", "-q", "-p", "edge-sts-cli", "--", "check", file, ...(withoutClouds ? ["--without-clouds"] : [])];
    execFileSync("cargo", args, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    return null;
  } catch (e) {
    const out = `${e.stdout ?? ""}${e.stderr ?? ""}`.trim();
    return out || `edge-sts check failed (${e.message})`;
  }
}

/** Writes DIR/edge-sts-config.js and makes DIR/index.js import it first (idempotent). */
export function embed(file, dir) {
  const text = readFileSync(file, "utf8");
  writeFileSync(path.join(dir, MODULE), `globalThis.${GLOBAL}=${JSON.stringify(text)};\n`);
  const index = path.join(dir, "index.js");
  const js = readFileSync(index, "utf8");
  if (!js.startsWith(IMPORT)) writeFileSync(index, IMPORT + js);
  return { bytes: Buffer.byteLength(text), gzip: gzipSync(text, { level: 9 }).length };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const withoutClouds = process.argv.includes("--without-clouds");
  const [file, dir] = process.argv.slice(2).filter((a) => a !== "--without-clouds");
  if (!file) { console.error("usage: node scripts/embed-config.mjs FILE [DIR]"); process.exit(2); }
  if (!existsSync(file)) { console.error(`EDGE_STS_CONFIG_FILE: ${file}: no such file`); process.exit(2); }
  const problem = check(path.resolve(file), { withoutClouds });
  if (problem) {
    console.error(`EDGE_STS_CONFIG_FILE=${file} is not a valid configuration; nothing was built or embedded:\n${problem}`);
    process.exit(1);
  }
  if (!dir) process.exit(0);
  const { bytes, gzip } = embed(file, dir);
  console.log(`embedded ${file} in ${dir}/${MODULE}: ${(bytes / 1024).toFixed(1)} KiB, gzip ${(gzip / 1024).toFixed(1)} KiB`);
}
