#!/usr/bin/env bash
# Runs every fuzz target for a bounded time (default 20 s each): scripts/fuzz.sh [seconds]
# Needs the nightly toolchain (on the machine image; `rustup toolchain install nightly
# --profile minimal` otherwise) and cargo-fuzz (installed here if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-20}"
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
mkdir -p fuzz/corpus
for t in token jwks config request; do
  mkdir -p "fuzz/corpus/$t"
  cp -n fuzz/seeds/"$t"/* "fuzz/corpus/$t/" 2>/dev/null || true
  echo "==> fuzz $t (${secs}s)"
  (cd fuzz && cargo +nightly fuzz run "$t" "corpus/$t" -- -max_total_time="$secs" -max_len=20000 2>&1 | grep -E "^(#[0-9]+.*DONE|Done|==[0-9]+==|SUMMARY|thread|panicked)" || true)
  if ls fuzz/artifacts/"$t"/crash-* >/dev/null 2>&1; then echo "fuzz $t: crash found in fuzz/artifacts/$t" >&2; exit 1; fi
done
