#!/usr/bin/env bash
# Builds the Worker with worker-build, fully offline.
#   scripts/build.sh            release build -> build/
#   scripts/build.sh test       release profile + test-only routes -> build-test/
set -euo pipefail
cd "$(dirname "$0")/.."
export WASM_BINDGEN_BIN="${WASM_BINDGEN_BIN:-$HOME/.cargo/bin/wasm-bindgen}"
export WASM_OPT_BIN="$PWD/node_modules/.bin/wasm-opt"
export ESBUILD_BIN="$PWD/node_modules/@esbuild/linux-x64/bin/esbuild"
if [ "${1:-release}" = test ]; then
  # A separate target dir keeps the two feature sets from invalidating each other's cache.
  CARGO_TARGET_DIR=target/test-routes worker-build --release --out-dir build-test --features test-routes
else
  worker-build --release
fi
