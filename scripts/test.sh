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

step "style: cargo fmt --check; cargo clippy -D warnings (native and wasm32)"
cargo fmt --all --check
(cd fuzz && cargo fmt --check)
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo clippy -p edge-sts -p edge-sts-playground --target wasm32-unknown-unknown --all-targets --quiet -- -D warnings

step "native: cargo test (core with the pure-Rust backend; CLI golden tests)"
cargo test -p edge-sts-core -p edge-sts-cli --quiet
# The core without the `clouds` feature (what the downstream-only Worker compiles): its non-cloud
# tests, and the refusal of every cloud block.
cargo test -p edge-sts-core --no-default-features --features pure-crypto,pem,config-paths --quiet
# The credential helper the e2e tests hand to the clouds' SDKs (tests/e2e/cli-*.test.mjs).
cargo build -p edge-sts-cli --quiet

step "wasm: release build (build/), test-routes build (build-test/), downstream-only build (build-downstream/)"
scripts/build.sh
scripts/build.sh test
scripts/build.sh downstream
node scripts/size.mjs
node scripts/size.mjs build-downstream
scripts/build-www.sh

step "end to end: Worker in workerd (Miniflare) + oidc-provider + jose"
node --test --test-concurrency=1 tests/support/issuer.test.mjs tests/e2e/

step "playground: headless Chromium (playwright-core)"
EDGE_STS_WWW_BUILT=1 scripts/test-www.sh

step "fuzz: every target for a bounded time (no panics)"
scripts/fuzz.sh "${EDGE_STS_FUZZ_SECS:-10}"
