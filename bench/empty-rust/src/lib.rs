//! The Rust worker's ceiling: same `worker` version, same profile, same raw web-sys request and
//! response types as edge-sts, the same `fetch` export over edge-sts's own executor
//! (`src/exec.rs`) and the same build and module entry (`scripts/build.sh bench`,
//! `src/entry.js`); it reads the body (as the JS baseline does) and does nothing else.
#[path = "../../../src/exec.rs"]
mod exec;

use wasm_bindgen::prelude::*;
use web_sys::{Request, Response, ResponseInit};

/// The module entry calls this at startup (edge-sts loads its configuration there); nothing to do.
#[wasm_bindgen]
pub fn prepare(_env: worker::Env) {}

#[wasm_bindgen]
pub fn fetch(req: Request, _env: worker::Env, _ctx: worker::worker_sys::Context) -> js_sys::Promise {
    exec::promise(async move {
        if req.method() == "POST" {
            if let Ok(p) = req.array_buffer() {
                let _ = exec::settled(&p).await;
            }
        }
        let init = ResponseInit::new();
        init.set_status(200);
        Response::new_with_opt_str_and_init(Some(r#"{"ok":true}"#), &init).map_or(JsValue::UNDEFINED, JsValue::from)
    })
}
