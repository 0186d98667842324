//! The Workers runtime as the adapter sees it: the bindings (`env`), the request's execution
//! context, the console, and the wasm instance's start (its panic hook, and a fresh instance
//! after a trap).
//!
//! Declared here rather than taken from the `worker` crate, whose exported classes (streams, R2,
//! containers) and their glue would be in every upload that links it.
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// The Worker's bindings: variables, secrets, the KV namespace.
    pub type Env;

    /// The request's execution context.
    pub type Context;
    #[wasm_bindgen(method, catch, js_name = waitUntil)]
    pub fn wait_until(this: &Context, promise: &js_sys::Promise) -> Result<(), JsValue>;

    #[wasm_bindgen(js_name = clearTimeout)]
    pub(crate) fn clear_timeout(id: &JsValue);

    #[wasm_bindgen(js_namespace = console, js_name = log)]
    pub fn console_log(line: &str);
    #[wasm_bindgen(js_namespace = console, js_name = warn)]
    pub fn console_warn(line: &str);
    #[wasm_bindgen(js_namespace = console, js_name = error)]
    pub fn console_error(line: &str);
}

// The crate's one inline snippet (wasm-bindgen numbers snippets per crate; two would collide in
// the bundle): the executor's calls (`exec`). An awaited promise or a timer calls `cb` (one
// persistent closure) with its slot id; if that call traps, `reject` fails the request it belongs
// to.
#[wasm_bindgen(inline_js = "const call = (cb, id, v, ok, reject) => {
  try { cb(id, v, ok); } catch (e) { if (reject) reject(e); else throw e; }
};
export function settle_on(p, id, cb, reject) {
  p.then((v) => call(cb, id, v, true, reject), (e) => call(cb, id, e, false, reject));
}
export function sleep_on(ms, id, cb, reject) { return setTimeout(() => call(cb, id, undefined, true, reject), ms); }
export function queue_run(f) { queueMicrotask(f); }")]
extern "C" {
    pub(crate) fn settle_on(p: &js_sys::Promise, id: u32, cb: &JsValue, reject: &JsValue);
    pub(crate) fn sleep_on(ms: f64, id: u32, cb: &JsValue, reject: &JsValue) -> JsValue;
    pub(crate) fn queue_run(f: &JsValue);
}

/// Runs when the instance starts. A panic is logged (it then traps: the build aborts on panic);
/// after a trap, wasm-bindgen's abort handler runs the next call on a fresh instance.
#[wasm_bindgen(start)]
fn start() {
    std::panic::set_hook(Box::new(|info| {
        console_error(&format!("Rust panic: {info}"));
    }));
    wasm_bindgen::handler::set_on_abort(wasm_bindgen::handler::schedule_reinit);
}
