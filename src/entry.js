// The Worker's module entry: a plain module-worker `fetch` handler over the wasm's `fetch` export
// (src/lib.rs), bundled with wasm-bindgen's glue by scripts/build.sh. The export returns
// the request's promise; a trap rejects it, and wasm-bindgen's abort handler runs the next call on
// a fresh instance (tests/e2e/entry.test.mjs).
// At startup (global scope, before any request) `prepare` loads the configuration from the same
// bindings every request sees, so an isolate's first request does not parse and validate it.
/*! edge-sts module entry (src/entry.js) */
import { env } from "cloudflare:workers";
import { fetch as handle, prepare } from "./index.js";

try {
  prepare(env);
} catch {
  // A trap while loading: the instance is replaced on the next call, and the first request
  // loads the configuration itself and answers as it always does (500 on a trap).
}

export default {
  fetch(request, env, ctx) {
    return handle(request, env, ctx);
  },
};
