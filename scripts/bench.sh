#!/usr/bin/env bash
# Load benchmark (issue: performance). One command on a fresh clone; prints the issue's figures
# (ratios against the jose and empty Workers, the first /token of fresh isolates, upload size),
# then a table per worker and workload. Also written to bench/out/results.md.
#   scripts/bench.sh [--seconds 5] [--rounds 2] [--connections 8] [--isolates 15]
#     [--distinct-rate 5000] [--before DIR]   (options of bench/run.mjs)
# The core's micro-benchmarks are separate: cargo bench -p edge-sts-core
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
export WASM_BINDGEN_BIN="${WASM_BINDGEN_BIN:-$HOME/.cargo/bin/wasm-bindgen}"
export WASM_OPT_BIN="$PWD/node_modules/.bin/wasm-opt" ESBUILD_BIN="$PWD/node_modules/@esbuild/linux-x64/bin/esbuild"
# Built the Worker's way (same profile, executor, glue and module entry), so the entry-glue ratio
# measures them.
scripts/worker-bundle.sh edge-sts-bench-empty bench/out/empty-rust
"$ESBUILD_BIN" bench/workers/jose/index.js --bundle --format=esm --platform=neutral --main-fields=module,main --outfile=bench/out/jose.js --log-level=warning
node scripts/size.mjs build
gzip -9 -c bench/out/jose.js | wc -c | awk '{printf "jose reference worker: gzip %.1f KiB\n", $1/1024}'
WRANGLER_SEND_METRICS=false node bench/run.mjs "$@"
