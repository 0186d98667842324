#!/usr/bin/env bash
# Builds the Worker with worker-build, fully offline.
#   scripts/build.sh            release build -> build/
#   scripts/build.sh test       release profile + test-only routes -> build-test/
#   scripts/build.sh profile    the release build, but the wasm keeps its name section (function
#                               names for scripts/profile.sh and twiggy) -> build-profile/
set -euo pipefail
cd "$(dirname "$0")/.."
export WASM_BINDGEN_BIN="${WASM_BINDGEN_BIN:-$HOME/.cargo/bin/wasm-bindgen}"
export WASM_OPT_BIN="$PWD/node_modules/.bin/wasm-opt"
export ESBUILD_BIN="$PWD/node_modules/@esbuild/linux-x64/bin/esbuild"
mode="${1:-release}"
if [ "$mode" = test ]; then
  # A separate target dir keeps the two feature sets from invalidating each other's cache.
  out=build-test
  CARGO_TARGET_DIR=target/test-routes worker-build --release --out-dir "$out" --features test-routes
elif [ "$mode" = profile ]; then
  # Same features and target dir as the release build (cargo reuses its artefacts); only the
  # final wasm-opt pass below differs.
  out=build-profile
  worker-build --release --out-dir "$out"
else
  out=build
  worker-build --release
fi
# worker-build's own wasm-opt pass is not -Oz; this one takes the upload ~15% smaller.
# The profile build keeps the name section (-g, no --strip-debug); the code is otherwise the same.
if [ "$mode" = profile ]; then names=(-g); else names=(--strip-debug); fi
"$WASM_OPT_BIN" -Oz "${names[@]}" --strip-producers --enable-bulk-memory --enable-nontrapping-float-to-int \
  --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue \
  "$out/index_bg.wasm" -o "$out/index_bg.wasm"
