#!/usr/bin/env bash
# Builds the CLI (`edge-sts`) for release as one static binary per Linux target the toolchain
# has, into target/dist/edge-sts-<version>-<target>, checks that each is static, and prints its
# SHA-256 (the `sha256sum` line; also written next to it as .sha256).
#
#   scripts/release-cli.sh
#
# x86_64: the musl target when installed (`rustup target add x86_64-unknown-linux-musl`),
# otherwise glibc linked statically (`-C target-feature=+crt-static`). A static glibc still
# resolves names through getaddrinfo with its built-in `files` and `dns` lookups (/etc/hosts,
# /etc/resolv.conf), which is what ureq uses; it prints a link-time warning about getaddrinfo
# that this build accepts (no NSS module beyond those is loaded).
# aarch64: built too when an aarch64 Linux target is installed and a linker for it is on PATH
# (aarch64-linux-musl-gcc, aarch64-linux-gnu-gcc); the musl one preferred.
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(sed -n 's/^version = "\(.*\)"/\1/p' cli/Cargo.toml | head -n1)
installed=$(rustup target list --installed 2>/dev/null || rustc -vV | sed -n 's/^host: //p')
has() { grep -qx "$1" <<<"$installed"; }

targets=()
if has x86_64-unknown-linux-musl; then
  targets+=(x86_64-unknown-linux-musl)
elif has x86_64-unknown-linux-gnu; then
  targets+=(x86_64-unknown-linux-gnu)
fi
for t in aarch64-unknown-linux-musl aarch64-unknown-linux-gnu; do
  if has "$t"; then
    linker=""
    for l in aarch64-linux-musl-gcc aarch64-linux-gnu-gcc; do
      if command -v "$l" >/dev/null; then linker=$l; break; fi
    done
    host=$(rustc -vV | sed -n 's/^host: //p')
    if [[ "$host" == "$t" || -n "$linker" ]]; then
      targets+=("$t")
      if [[ "$host" != "$t" ]]; then
        var="CARGO_TARGET_$(tr 'a-z-' 'A-Z_' <<<"$t")_LINKER"
        export "$var=$linker"
      fi
      break
    fi
  fi
done
if [[ ${#targets[@]} -eq 0 ]]; then
  echo "release-cli: no Linux x86_64 or aarch64 target installed (rustup target list --installed)" >&2
  exit 1
fi

mkdir -p target/dist
for t in "${targets[@]}"; do
  echo "release-cli: building edge-sts $version for $t (static)" >&2
  # --target keeps the static flag off build scripts and proc macros (they run on the host).
  RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
    cargo build --locked --release -p edge-sts-cli --target "$t"
  bin="target/$t/release/edge-sts"
  # Static: no program interpreter (PT_INTERP) and no shared library needed.
  if command -v readelf >/dev/null; then
    if readelf -lW "$bin" | grep -q 'Requesting program interpreter' || readelf -dW "$bin" | grep -q '(NEEDED)'; then
      echo "release-cli: $bin is not static:" >&2
      readelf -dW "$bin" | grep '(NEEDED)' >&2 || true
      exit 1
    fi
  elif ldd "$bin" >/dev/null 2>&1; then
    echo "release-cli: $bin is not static (ldd lists libraries)" >&2
    exit 1
  fi
  out="target/dist/edge-sts-$version-$t"
  cp "$bin" "$out"
  (cd target/dist && sha256sum "$(basename "$out")" | tee "$(basename "$out").sha256")
done
