#!/usr/bin/env bash
# Builds the Worker (scripts/worker-bundle.sh: cargo, wasm-bindgen, wasm-opt, esbuild), fully offline.
#   scripts/build.sh            release build -> build/
#   scripts/build.sh test       release profile + test-only routes -> build-test/
#   scripts/build.sh profile    the release build, but the wasm keeps its name section (function
#                               names for scripts/profile.sh and twiggy) -> build-profile/
#   scripts/build.sh downstream release profile without the `clouds` feature: a downstream-only
#                               Worker (edge-sts's own tokens; a cloud block is a configuration
#                               error) -> build-downstream/
# EDGE_STS_CONFIG_FILE=path embeds that configuration in the Worker (any mode): it is validated
# first with the Worker's own loader (`edge-sts check`; an invalid file fails the build before
# anything is compiled), then written beside index.js (scripts/embed-config.mjs). The Worker reads
# it when the EDGE_STS_CONFIG variable is absent; both present is a configuration error. For the
# downstream build, a cloud block fails the build too (`edge-sts check --without-clouds`).
set -euo pipefail
config_file="${EDGE_STS_CONFIG_FILE:+$(realpath "$EDGE_STS_CONFIG_FILE")}"
cd "$(dirname "$0")/.."
mode="${1:-release}"
check_flags=()
if [ "$mode" = downstream ]; then check_flags=(--without-clouds); fi
if [ -n "$config_file" ]; then
  node scripts/embed-config.mjs "$config_file" "${check_flags[@]}"
fi
export WASM_BINDGEN_BIN="${WASM_BINDGEN_BIN:-$HOME/.cargo/bin/wasm-bindgen}"
export WASM_OPT_BIN="$PWD/node_modules/.bin/wasm-opt"
export ESBUILD_BIN="$PWD/node_modules/@esbuild/linux-x64/bin/esbuild"
# cargo, wasm-bindgen, wasm-opt -Oz and the module entry: scripts/worker-bundle.sh.
if [ "$mode" = test ]; then
  # A separate target dir keeps the two feature sets from invalidating each other's cache.
  out=build-test
  CARGO_TARGET_DIR=target/test-routes scripts/worker-bundle.sh edge-sts "$out" --features test-routes
elif [ "$mode" = downstream ]; then
  # Its own target dir too, so the release build's cache survives (same reason as test).
  out=build-downstream
  CARGO_TARGET_DIR=target/downstream scripts/worker-bundle.sh edge-sts "$out" --no-default-features
elif [ "$mode" = profile ]; then
  # Same features and target dir as the release build (cargo reuses its artefacts); only the
  # wasm-opt pass differs: it keeps the name section (-g instead of --strip-debug).
  out=build-profile
  WASM_OPT_NAMES=-g scripts/worker-bundle.sh edge-sts "$out"
else
  out=build
  scripts/worker-bundle.sh edge-sts "$out"
fi
# The embedded configuration goes in after the bundle (which writes index.js); one from an
# earlier build is removed first.
rm -f "$out/edge-sts-config.js"
sed -i '1{/^import"\.\/edge-sts-config\.js";$/d}' "$out/index.js"
if [ -n "$config_file" ]; then
  node scripts/embed-config.mjs "$config_file" "$out" "${check_flags[@]}"
fi
