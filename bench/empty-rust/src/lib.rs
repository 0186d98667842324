//! The Rust worker's ceiling: same `worker` version, same profile, same raw web-sys request and
//! response types as edge-sts; it reads the body (as the JS baseline does) and does nothing else.
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, Response, ResponseInit};
use worker::event;

#[event(fetch)]
async fn main(req: Request, _env: worker::Env, _ctx: worker::Context) -> worker::Result<Response> {
    if req.method() == "POST" {
        if let Ok(p) = req.array_buffer() {
            let _ = JsFuture::from(p).await;
        }
    }
    let init = ResponseInit::new();
    init.set_status(200);
    Response::new_with_opt_str_and_init(Some(r#"{"ok":true}"#), &init).map_err(|_| worker::Error::RustError("response".into()))
}
