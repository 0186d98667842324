#!/usr/bin/env bash
# Compiles a Worker crate into DIR (index.js + index_bg.wasm), offline:
#   1. cargo, wasm32-unknown-unknown, release profile (panic = abort);
#   2. wasm-bindgen --target module, with its abort handler: after a trap the next call runs on a
#      fresh wasm instance (the `worker` crate's start function hooks `schedule_reinit`);
#   3. scripts/wasm-trim.mjs: classes of dependencies that no code can create leave the glue,
#      and their exports the wasm (wasm-metadce);
#   4. wasm-opt -Oz, with import, export and module names minified and the glue renamed to match
#      (or, with WASM_OPT_NAMES=-g for profiling, every name kept, the name section too);
#   5. esbuild bundles the module entry (src/entry.js) with wasm-bindgen's glue into DIR/index.js.
#   scripts/worker-bundle.sh PACKAGE DIR [cargo build options...]
# CARGO_TARGET_DIR is honoured (each feature set keeps its own cache).
set -euo pipefail
cd "$(dirname "$0")/.."
package="$1"
dir="$2"
shift 2
wasm_bindgen="${WASM_BINDGEN_BIN:-$HOME/.cargo/bin/wasm-bindgen}"
wasm_opt="${WASM_OPT_BIN:-$PWD/node_modules/.bin/wasm-opt}"
wasm_metadce="$(dirname "$wasm_opt")/wasm-metadce"
esbuild="${ESBUILD_BIN:-$PWD/node_modules/@esbuild/linux-x64/bin/esbuild}"
cargo build --release --locked --target wasm32-unknown-unknown -p "$package" --lib "$@"
wasm="${CARGO_TARGET_DIR:-target}/wasm32-unknown-unknown/release/${package//-/_}.wasm"
mkdir -p "$dir"
rm -rf "$dir/.tmp" "$dir/index.js" "$dir/index_bg.wasm"
tmp="$dir/.tmp"
"$wasm_bindgen" --target module --out-dir "$tmp" --out-name index --no-typescript --force-enable-abort-handler "$wasm"
features=(--enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals
  --enable-reference-types --enable-multivalue --enable-exception-handling)
node scripts/wasm-trim.mjs graph "$tmp"
# -g: the name section survives to the final pass, which keeps it only for profiling.
"$wasm_metadce" -g "${features[@]}" --graph-file "$tmp/graph.json" "$tmp/index_bg.wasm" -o "$tmp/dce.wasm" >/dev/null
# --low-memory-unused: a constant added to a pointer folds into the load's or store's offset. The
# two differ only when the add wraps past 4 GiB into the lowest 1 KiB, which no valid pointer does
# (that KiB is the far end of the 1 MiB stack); such an access traps instead of reading memory.
opt=(-Oz --low-memory-unused --strip-producers "${features[@]}")
if [ -n "${WASM_OPT_NAMES:-}" ]; then
  # A profiling build keeps every name, the glue's too (a profile's JS rows are named after them).
  "$wasm_opt" "${opt[@]}" "$WASM_OPT_NAMES" "$tmp/dce.wasm" -o "$dir/index_bg.wasm"
else
  "$wasm_opt" "${opt[@]}" --strip-debug \
    --minify-imports-and-exports-and-modules "$tmp/dce.wasm" -o "$tmp/final.wasm" >"$tmp/names.json"
  node scripts/wasm-trim.mjs rename "$tmp" "$tmp/names.json"
  mv "$tmp/final.wasm" "$dir/index_bg.wasm"
fi
# workerd imports a .wasm module as a WebAssembly.Module with a plain import (the CompiledWasm
# rule); the module target writes a source-phase import.
sed -i 's/^import source \([A-Za-z_$][A-Za-z0-9_$]*\) from "\.\/index_bg\.wasm";$/import \1 from ".\/index_bg.wasm";/' "$tmp/index.js"
grep -q '^import [A-Za-z_$][A-Za-z0-9_$]* from "./index_bg.wasm";$' "$tmp/index.js"
cp src/entry.js "$tmp/entry.js"
"$esbuild" "$tmp/entry.js" --bundle --format=esm --minify --log-level=warning \
  --external:./index_bg.wasm --external:cloudflare:workers --outfile="$dir/index.js"
rm -rf "$tmp"
