#!/usr/bin/env bash
# Builds the playground (scripts/build-www.sh) and runs its browser tests in headless Debian
# Chromium via playwright-core. Installs `chromium` with apt-get when /usr/bin/chromium is
# missing (never `npx playwright install`), and the Worker's test build (scripts/build.sh test)
# when build-test/ is missing. Screenshots: tests/artifacts/playground-*.png.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ]; then
  echo "==> installing Debian chromium"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium
fi
[ -d node_modules/playwright-core ] || npm ci

[ "${EDGE_STS_WWW_BUILT:-0}" = 1 ] || scripts/build-www.sh
# The configuration test compares the page with the Worker itself (build-test/, as the e2e tests).
[ -f build-test/index.js ] || scripts/build.sh test
node --test --test-concurrency=1 tests/www/
