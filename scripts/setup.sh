#!/usr/bin/env bash
# Installs everything edge-sts needs to build, run and test, idempotently (fast when present).
# Offline-safe: only crates.io, npm, PyPI (moto, the AWS STS emulator for tests; the clouds' SDKs) and Debian
# packages. Never downloads from GitHub.
set -euo pipefail
cd "$(dirname "$0")/.."

# Must equal the wasm-bindgen version in Cargo.lock (pinned with `=` in Cargo.toml).
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/"/,"",$3); print $3; exit}' Cargo.lock)

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  step "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

if ! wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
  step "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION (~3 min, once)"
  # --locked fails for this CLI (a pinned dependency is missing from the index); plain works.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

if [ ! -x node_modules/.bin/wrangler ] || [ package.json -nt node_modules/.package-lock.json ]; then
  step "npm ci"
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
fi

if ! .venv-moto/bin/moto_server --help >/dev/null 2>&1; then
  step "python venv with moto[server] (AWS STS emulator for the e2e tests, ~1 min once)"
  python3 -m venv .venv-moto
  .venv-moto/bin/pip install -q 'moto[server]==5.2.5'
fi

# The clouds' own SDKs, as the judges of the e2e tests (tests/e2e/cli-*.test.mjs). google-auth's
# external_account has no token_url check (https, *.googleapis.com hosts) since 2023, so the
# tests' loopback http STS fake is accepted. Node's google-auth-library is an npm devDependency.
GOOGLE_AUTH_VERSION=2.63.0
AZURE_IDENTITY_VERSION=1.27.0
if ! .venv-sdk/bin/python -c "import google.auth, azure.identity._version as a, sys; sys.exit(google.auth.__version__ != '$GOOGLE_AUTH_VERSION' or a.VERSION != '$AZURE_IDENTITY_VERSION')" >/dev/null 2>&1; then
  step "python venv .venv-sdk with google-auth $GOOGLE_AUTH_VERSION and azure-identity $AZURE_IDENTITY_VERSION (~1 min once)"
  python3 -m venv .venv-sdk
  .venv-sdk/bin/pip install -q "google-auth[requests]==$GOOGLE_AUTH_VERSION" "azure-identity==$AZURE_IDENTITY_VERSION"
fi

# Chromium, for the playground's browser tests only, is installed by scripts/test-www.sh.
