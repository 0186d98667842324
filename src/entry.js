// The Worker's module entry (bundled over worker-build's output by scripts/wrap-entry.sh).
//
// worker-build exports a Proxy around a `WorkerEntrypoint` class: per request it constructs the
// class, wraps the instance and its `fetch` in two more Proxies and adds an async hop, only to
// re-create the wasm instance after a trap. wasm-bindgen's glue already does that: worker-build
// builds it with `--force-enable-abort-handler` and `--experimental-reset-state-function`, and
// the `worker` crate's abort hook schedules the reset, so the next call after a trap runs on a
// fresh instance (tests/e2e/entry.test.mjs). This entry keeps that and drops the per-request
// wrapping: a plain module-worker handler calling the same exported `fetch`.
/*! edge-sts module entry (src/entry.js) */
import Entrypoint from "./worker-build.js";

const handle = Entrypoint.prototype.fetch;

export default {
  fetch(request, env, ctx) {
    return handle.call({ env, ctx }, request);
  },
};
