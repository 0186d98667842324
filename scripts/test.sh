#!/usr/bin/env bash
# Every test: native core tests, both wasm builds, the Worker end to end in workerd against a
# real OIDC provider, jose interop and the WebCrypto vector suite. Benchmarks stay out.
set -euo pipefail
cd "$(dirname "$0")/.."
export WRANGLER_SEND_METRICS=false WRANGLER_HIDE_BANNER=true CLOUDFLARE_CF_FETCH_ENABLED=false
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "setup"
scripts/setup.sh

step "docs: links, anchors, word caps (the registries: cargo test, core/src/docs_tests.rs)"
node scripts/check-docs.mjs

step "native: cargo test (core with the pure-Rust backend; CLI golden tests)"
cargo test -p edge-sts-core -p edge-sts-cli --quiet
# The credential helper the e2e tests hand to the clouds' SDKs (tests/e2e/cli-*.test.mjs).
cargo build -p edge-sts-cli --quiet

step "wasm: release build (build/) and test-routes build (build-test/)"
scripts/build.sh
scripts/build.sh test
node scripts/size.mjs
scripts/build-www.sh

step "end to end: Worker in workerd (Miniflare) + oidc-provider + jose"
node --test --test-concurrency=1 tests/support/issuer.test.mjs tests/e2e/

step "playground: headless Chromium (playwright-core)"
EDGE_STS_WWW_BUILT=1 scripts/test-www.sh

step "fuzz: every target for a bounded time (no panics)"
scripts/fuzz.sh "${EDGE_STS_FUZZ_SECS:-10}"
