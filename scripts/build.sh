#!/usr/bin/env bash
# Builds the Worker, fully offline: cargo -> wasm-bindgen -> wasm-opt -> esbuild. Every tool's path
# and flags are in this file.
#   scripts/build.sh            release build -> build/
#   scripts/build.sh test       release profile + test-only routes -> build-test/
#   scripts/build.sh profile    the release build, but the wasm keeps its name section (function
#                               names for scripts/profile.sh and twiggy) -> build-profile/
#   scripts/build.sh downstream release profile without the `clouds` feature: a downstream-only
#                               Worker (edge-sts's own tokens; a cloud block is a configuration
#                               error) -> build-downstream/
#   scripts/build.sh bench      the load benchmark's reference Workers (bench/README.md): the empty
#                               Rust Worker, built as the Worker is -> bench/out/empty-rust/, and
#                               the jose Worker -> bench/out/jose.js
# EDGE_STS_CONFIG_FILE=path embeds that configuration in the Worker (any Worker mode): it is
# validated first with the Worker's own loader (`edge-sts check`; an invalid file fails the build
# before anything is compiled), then written beside index.js (scripts/embed-config.mjs). The Worker
# reads it when the EDGE_STS_CONFIG variable is absent; both present is a configuration error. For
# the downstream build, a cloud block fails the build too (`edge-sts check --without-clouds`).
# The tools: wasm-bindgen from cargo (scripts/setup.sh installs the version Cargo.lock pins; set
# WASM_BINDGEN_BIN to use another), wasm-opt (binaryen) and esbuild from node_modules (package.json),
# so the build is the same on Linux and macOS, x86-64 and arm64.
set -euo pipefail
config_file="${EDGE_STS_CONFIG_FILE:+$(realpath "$EDGE_STS_CONFIG_FILE")}"
cd "$(dirname "$0")/.."
mode="${1:-release}"

wasm_bindgen="${WASM_BINDGEN_BIN:-$(command -v wasm-bindgen || echo "$HOME/.cargo/bin/wasm-bindgen")}"
wasm_opt="$PWD/node_modules/.bin/wasm-opt"
esbuild="$PWD/node_modules/.bin/esbuild"
# The wasm features wasm-opt may use: those Rust's wasm32-unknown-unknown target emits by default,
# and what the runtime (V8) runs.
wasm_features=(--enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext
  --enable-mutable-globals --enable-reference-types --enable-multivalue --enable-exception-handling)

# bundle PACKAGE DIR [cargo build options...]: compiles a Worker crate into DIR (index.js +
# index_bg.wasm). CARGO_TARGET_DIR is honoured (each feature set keeps its own cache); with
# WASM_OPT_NAMES=-g the wasm keeps its name section.
bundle() {
  local package="$1" dir="$2"
  shift 2
  # 1. cargo, wasm32-unknown-unknown, release profile (panic = abort).
  cargo build --release --locked --target wasm32-unknown-unknown -p "$package" --lib "$@"
  local wasm="${CARGO_TARGET_DIR:-target}/wasm32-unknown-unknown/release/${package//-/_}.wasm"
  mkdir -p "$dir"
  rm -rf "$dir/.tmp" "$dir/index.js" "$dir/index_bg.wasm"
  local tmp="$dir/.tmp"
  # 2. wasm-bindgen --target module, with its abort handler: after a trap the next call runs on a
  #    fresh wasm instance (the `worker` crate's start function hooks `schedule_reinit`).
  "$wasm_bindgen" --target module --out-dir "$tmp" --out-name index --no-typescript --force-enable-abort-handler "$wasm"
  # 3. wasm-opt -Oz. --low-memory-unused: a constant added to a pointer folds into the load's or
  #    store's offset. The two differ only when the add wraps past 4 GiB into the lowest 1 KiB,
  #    which no valid pointer does (that KiB is the far end of the 1 MiB stack); such an access
  #    traps instead of reading memory. A profiling build keeps the name section (-g).
  "$wasm_opt" -Oz --low-memory-unused --strip-producers "${wasm_features[@]}" "${WASM_OPT_NAMES:---strip-debug}" \
    "$tmp/index_bg.wasm" -o "$dir/index_bg.wasm"
  # 4. The one fix-up of generated code, the one Cloudflare's worker-build makes too (workers-rs,
  #    worker-build/src/main.rs, `fix_wasm_import`): workerd imports a .wasm module as a
  #    WebAssembly.Module with a plain import (the CompiledWasm rule), where the module target
  #    writes a source-phase import. The check after it fails the build if the line changes shape.
  sed 's/^import source \([A-Za-z_$][A-Za-z0-9_$]*\) from "\.\/index_bg\.wasm";$/import \1 from ".\/index_bg.wasm";/' \
    "$tmp/index.js" >"$tmp/glue.js"
  grep -q '^import [A-Za-z_$][A-Za-z0-9_$]* from "./index_bg.wasm";$' "$tmp/glue.js"
  mv "$tmp/glue.js" "$tmp/index.js"
  # 5. esbuild bundles the module entry (src/entry.js) with wasm-bindgen's glue into DIR/index.js.
  cp src/entry.js "$tmp/entry.js"
  "$esbuild" "$tmp/entry.js" --bundle --format=esm --minify --log-level=warning \
    --external:./index_bg.wasm --external:cloudflare:workers --outfile="$dir/index.js"
  rm -rf "$tmp"
}

if [ "$mode" = bench ]; then
  # Built the Worker's way (same profile, executor, glue and module entry), so the entry-glue
  # ratio of the load benchmark measures them.
  bundle edge-sts-bench-empty bench/out/empty-rust
  "$esbuild" bench/workers/jose/index.js --bundle --format=esm --platform=neutral --main-fields=module,main \
    --outfile=bench/out/jose.js --log-level=warning
  exit 0
fi

# (An array that may be empty is expanded as ${a[@]+"${a[@]}"}: bash 3.2, macOS's, has `set -u`
# refuse "${a[@]}" when it is empty.)
check_flags=()
if [ "$mode" = downstream ]; then check_flags=(--without-clouds); fi
if [ -n "$config_file" ]; then
  node scripts/embed-config.mjs "$config_file" ${check_flags[@]+"${check_flags[@]}"}
fi
if [ "$mode" = test ]; then
  # A separate target dir keeps the two feature sets from invalidating each other's cache.
  out=build-test
  CARGO_TARGET_DIR=target/test-routes bundle edge-sts "$out" --features test-routes
elif [ "$mode" = downstream ]; then
  # Its own target dir too, so the release build's cache survives (same reason as test).
  out=build-downstream
  CARGO_TARGET_DIR=target/downstream bundle edge-sts "$out" --no-default-features
elif [ "$mode" = profile ]; then
  # Same features and target dir as the release build (cargo reuses its artefacts); only the
  # wasm-opt pass differs: it keeps the name section (-g instead of --strip-debug).
  out=build-profile
  WASM_OPT_NAMES=-g bundle edge-sts "$out"
elif [ "$mode" = release ]; then
  out=build
  bundle edge-sts "$out"
else
  echo "usage: scripts/build.sh [release|test|profile|downstream|bench]" >&2
  exit 2
fi
# The embedded configuration goes in after the bundle (which writes index.js); one from an
# earlier build is removed first. These are the build's own lines, not generated code.
rm -f "$out/edge-sts-config.js"
sed '1{/^import"\.\/edge-sts-config\.js";$/d;}' "$out/index.js" >"$out/index.js.tmp"
mv "$out/index.js.tmp" "$out/index.js"
if [ -n "$config_file" ]; then
  node scripts/embed-config.mjs "$config_file" "$out" ${check_flags[@]+"${check_flags[@]}"}
fi
