#!/usr/bin/env bash
# CPU profile of edge-sts inside workerd (bench/README.md). Builds build-profile/ (the release build
# with the wasm name section kept), drives a load through Miniflare with the Chrome DevTools
# Protocol's Profiler domain attached, saves bench/out/profile-<workload>-<time>.cpuprofile and
# prints the top 20 functions by self time.
#   scripts/profile.sh [distinct|repeated|es256|repeated-es256] [--seconds 10] [--warmup 3]
#     [--connections 8] [--interval 100] [--distinct 8000] [--top 20]
# Set PROFILE_NO_BUILD=1 to reuse an existing build-profile/.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${PROFILE_NO_BUILD:-0}" != 1 ]; then
  scripts/setup.sh
  scripts/build.sh profile
fi
WRANGLER_SEND_METRICS=false exec node bench/profile.mjs "$@"
