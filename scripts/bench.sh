#!/usr/bin/env bash
# The load benchmark (bench/README.md), one command on a fresh clone: builds the release Worker and
# the reference Workers (scripts/build.sh bench), then runs bench/run.mjs, which prints the ratios
# against the jose and empty Workers, the first /token of fresh isolates and the upload size, then
# a table per worker and workload (also written to bench/out/results.md).
#   scripts/bench.sh [--seconds 5] [--rounds 2] [--connections 8] [--isolates 15]
#     [--distinct-rate 5000] [--before DIR]   (options of bench/run.mjs)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
scripts/build.sh bench
node scripts/size.mjs build
gzip -9 -c bench/out/jose.js | wc -c | awk '{printf "jose reference worker: gzip %.1f KiB\n", $1/1024}'
WRANGLER_SEND_METRICS=false node bench/run.mjs "$@"
