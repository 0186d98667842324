#!/usr/bin/env bash
# Bundles src/entry.js over worker-build's index.js in DIR (a worker-build output directory):
# DIR/index.js becomes a plain module-worker `fetch` handler (see src/entry.js for why).
#   scripts/wrap-entry.sh DIR
set -euo pipefail
cd "$(dirname "$0")/.."
dir="$1"
esbuild="${ESBUILD_BIN:-$PWD/node_modules/@esbuild/linux-x64/bin/esbuild}"
if grep -q 'edge-sts module entry' "$dir/index.js"; then echo "wrap-entry: $dir/index.js is already wrapped" >&2; exit 1; fi
mv "$dir/index.js" "$dir/worker-build.js"
cp src/entry.js "$dir/entry.js"
"$esbuild" "$dir/entry.js" --bundle --format=esm --minify --log-level=warning \
  --external:./index_bg.wasm '--external:cloudflare:*' --outfile="$dir/index.js"
rm "$dir/worker-build.js" "$dir/entry.js"
