// The Worker's module entry: a plain module-worker `fetch` handler over the wasm's `fetch` export
// (src/lib.rs), bundled with wasm-bindgen's glue by scripts/worker-bundle.sh. The export returns
// the request's promise; a trap rejects it, and wasm-bindgen's abort handler runs the next call on
// a fresh instance (tests/e2e/entry.test.mjs).
/*! edge-sts module entry (src/entry.js) */
import { fetch as handle } from "./index.js";

export default {
  fetch(request, env, ctx) {
    return handle(request, env, ctx);
  },
};
