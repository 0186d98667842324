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
for t in token jwks config request sts; do
  mkdir -p "fuzz/corpus/$t"
  cp -n fuzz/seeds/"$t"/* "fuzz/corpus/$t/" 2>/dev/null || true
  echo "==> fuzz $t (${secs}s)"
  rm -rf "fuzz/artifacts/$t"
  log="fuzz/artifacts/$t.log"
  mkdir -p fuzz/artifacts
  # cargo-fuzz's own exit status decides (a crash, OOM, timeout or build failure fails the run).
  if ! (cd fuzz && cargo +nightly fuzz run "$t" "corpus/$t" -- -max_total_time="$secs" -max_len=20000) > "$log" 2>&1; then
    tail -40 "$log" >&2
    echo "fuzz $t failed; input and log in fuzz/artifacts/" >&2
    exit 1
  fi
  grep -E "^(#[0-9]+.*DONE|Done)" "$log" || true
done
