#!/usr/bin/env bash
# Runs edge-sts locally: installs what is missing, builds, starts the demo issuer and the Worker.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
scripts/build-www.sh
export WRANGLER_SEND_METRICS=false WRANGLER_HIDE_BANNER=true CLOUDFLARE_CF_FETCH_ENABLED=false
exec node scripts/dev.mjs
