#!/usr/bin/env bash
# Builds the browser playground into www/dist/ (plain static files, no server code):
#   cargo (wasm32, release) -> wasm-bindgen --target web (www/pkg/) -> wasm-opt -Oz -> www/dist/
# Prints the gzip size of what a browser downloads for the checker (wasm + JS); budget 250 KB.
# The configuration reader (a second module, fetched only for "from its configuration") is
# printed beside it.
set -euo pipefail
cd "$(dirname "$0")/.."
WASM_BINDGEN_BIN="${WASM_BINDGEN_BIN:-$HOME/.cargo/bin/wasm-bindgen}"
WASM_OPT_BIN="$PWD/node_modules/.bin/wasm-opt"
BUDGET=$((250 * 1024))

# Two modules from one crate: the checker the page loads, and the same with the configuration
# reader (feature `config`, `inspectWithConfig`), loaded only when a configuration is pasted.
rm -rf www/pkg
for variant in "" config; do
  name=edge_sts_playground${variant:+_$variant}
  cargo build -p edge-sts-playground --release --target wasm32-unknown-unknown ${variant:+--features $variant}
  "$WASM_BINDGEN_BIN" --target web --no-typescript --out-dir www/pkg --out-name "$name" \
    target/wasm32-unknown-unknown/release/edge_sts_playground.wasm
  "$WASM_OPT_BIN" -Oz --strip-debug --strip-producers --enable-bulk-memory --enable-nontrapping-float-to-int \
    --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue \
    "www/pkg/${name}_bg.wasm" -o "www/pkg/${name}_bg.wasm"
done

rm -rf www/dist
mkdir -p www/dist/pkg
cp www/static/index.html www/static/style.css www/dist/
# The page's modules (www/static/js/) as one ES module, app.js; the wasm glue under ./pkg/ stays
# out of it and is fetched beside it.
node_modules/.bin/esbuild www/static/js/app.js --bundle --format=esm --external:'./pkg/*' \
  --outfile=www/dist/app.js --log-level=warning
cp www/pkg/edge_sts_playground.js www/pkg/edge_sts_playground_bg.wasm www/dist/pkg/
cp www/pkg/edge_sts_playground_config.js www/pkg/edge_sts_playground_config_bg.wasm www/dist/pkg/

gz() { gzip -9c "$1" | wc -c; }
wasm=$(gz www/dist/pkg/edge_sts_playground_bg.wasm)
glue=$(gz www/dist/pkg/edge_sts_playground.js)
app=$(gz www/dist/app.js)
rest=$(( $(gz www/dist/index.html) + $(gz www/dist/style.css) ))
total=$((wasm + glue + app))
printf 'playground: wasm %d B + wasm-bindgen JS %d B + app.js %d B = %d B gzip (%.1f KiB; budget 250 KB); html+css %d B gzip\n' \
  "$wasm" "$glue" "$app" "$total" "$(awk "BEGIN{print $total/1024}")" "$rest"
cfg=$(( $(gz www/dist/pkg/edge_sts_playground_config_bg.wasm) + $(gz www/dist/pkg/edge_sts_playground_config.js) ))
printf 'configuration reader (loaded only when a configuration is pasted): %d B gzip (%.1f KiB)\n' "$cfg" "$(awk "BEGIN{print $cfg/1024}")"
if [ "$total" -gt "$BUDGET" ]; then
  echo "playground wasm + JS is over the 250 KB gzip budget" >&2
  exit 1
fi
echo "www/dist/ ready: serve it as static files (any path prefix works; all URLs are relative)"
