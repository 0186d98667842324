//! The core's I/O seam over the runtime: `fetch` with a timeout (abort), no redirects and a
//! streamed body cap ([`read_capped`], which reads the requests' bodies too); `setTimeout` as a
//! timer; KV (binding `JWKS_CACHE`, optional) to persist
//! parsed-JWKS records across isolates. KV writes go through `waitUntil`, off the hot path.
use edge_sts_core::io::fetch::{Fetch, FetchError, HttpRequest, HttpResponse};
use futures_util::future::{select, Either};
use std::time::Duration;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use worker::{Delay, Env};

pub const KV_BINDING: &str = "JWKS_CACHE";

pub struct RuntimeIo<'a> {
    env: &'a Env,
    ctx: &'a worker::Context,
}

impl<'a> RuntimeIo<'a> {
    pub fn new(env: &'a Env, ctx: &'a worker::Context) -> Self {
        RuntimeIo { env, ctx }
    }
}

#[wasm_bindgen]
extern "C" {
    /// A KV namespace binding: the two calls edge-sts makes, on web-sys/js-sys types (`worker`'s
    /// `KvStore` serializes its options through serde-wasm-bindgen).
    type KvNamespace;
    #[wasm_bindgen(method, catch)]
    fn get(this: &KvNamespace, key: &str, kind: &str) -> Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn put(this: &KvNamespace, key: &str, value: &js_sys::Uint8Array, options: &js_sys::Object) -> Result<js_sys::Promise, JsValue>;
}

/// The `JWKS_CACHE` binding, when the Worker has one.
fn kv_namespace(env: &Env) -> Option<KvNamespace> {
    let binding = js_sys::Reflect::get(env, &JsValue::from_str(KV_BINDING)).ok()?;
    (!binding.is_undefined() && !binding.is_null()).then(|| binding.unchecked_into())
}

/// A request edge-sts sends: a key fetch (GET) or a cloud STS call (POST).
struct Outbound<'r> {
    url: &'r str,
    post: Option<&'r HttpRequest>,
}

#[wasm_bindgen]
extern "C" {
    /// The runtime's global `fetch` (workerd has no `window`).
    #[wasm_bindgen(js_name = fetch)]
    fn global_fetch(req: &web_sys::Request) -> js_sys::Promise;
}

/// Sent and read with web-sys types directly: `worker`'s `Fetch`/`Response` would add its
/// request-options serialization and a streams adapter to the upload for the same calls.
async fn send_bounded(out: Outbound<'_>, max_bytes: usize, signal: &web_sys::AbortSignal) -> Result<HttpResponse, FetchError> {
    let init = web_sys::RequestInit::new();
    init.set_redirect(web_sys::RequestRedirect::Manual);
    init.set_signal(Some(signal));
    let headers = web_sys::Headers::new().map_err(|_| FetchError::Network)?;
    match out.post {
        None => {
            init.set_method("GET");
            let _ = headers.set("accept", "application/json");
        }
        Some(p) => {
            init.set_method("POST");
            for (k, v) in &p.headers {
                let _ = headers.set(k, v);
            }
            init.set_body(&JsValue::from_str(&p.body));
        }
    }
    init.set_headers(&headers);
    let req = web_sys::Request::new_with_str_and_init(out.url, &init).map_err(|_| FetchError::Network)?;
    let resp: web_sys::Response =
        crate::exec::settled(&global_fetch(&req)).await.and_then(|r| r.dyn_into()).map_err(|_| FetchError::Network)?;
    let status = resp.status();
    let header = |n: &str| resp.headers().get(n).ok().flatten();
    let cache_control = header("cache-control");
    let content_type = header("content-type");
    if header("content-length").and_then(|v| v.parse::<usize>().ok()).is_some_and(|n| n > max_bytes) {
        return Err(FetchError::TooLarge);
    }
    let mut body = Vec::new();
    // Key documents are read only on 200; a cloud's error answers carry their error codes.
    if status == 200 || out.post.is_some() {
        if let Some(stream) = resp.body() {
            body = read_capped(&stream, max_bytes).await.map_err(|e| match e {
                Capped::TooLarge => FetchError::TooLarge,
                Capped::Failed => FetchError::Network,
            })?;
        }
    }
    Ok(HttpResponse { status: status as u16, body, cache_control, content_type })
}

/// Why [`read_capped`] gave up.
pub enum Capped {
    TooLarge,
    Failed,
}

/// `stream` read to its end, chunk by chunk, holding at most `max` bytes: the chunk that would
/// pass `max` cancels the stream and nothing more is read, so what a body holds in memory never
/// depends on its length (declared or not: a chunked body has none).
pub async fn read_capped(stream: &web_sys::ReadableStream, max: usize) -> Result<Vec<u8>, Capped> {
    let reader: web_sys::ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
    let mut body = Vec::new();
    loop {
        let chunk = crate::exec::settled(&reader.read()).await.map_err(|_| Capped::Failed)?;
        if js_sys::Reflect::get(&chunk, &JsValue::from_str("done")).is_ok_and(|d| d.is_truthy()) {
            return Ok(body);
        }
        let value = js_sys::Reflect::get(&chunk, &JsValue::from_str("value")).map_err(|_| Capped::Failed)?;
        let chunk: js_sys::Uint8Array = value.dyn_into().map_err(|_| Capped::Failed)?;
        let n = chunk.length() as usize;
        if body.len() + n > max {
            let _ = reader.cancel();
            return Err(Capped::TooLarge);
        }
        let at = body.len();
        body.resize(at + n, 0);
        chunk.copy_to(&mut body[at..]);
    }
}

async fn with_timeout(out: Outbound<'_>, max_bytes: usize, timeout_ms: u64) -> Result<HttpResponse, FetchError> {
    let ctrl = web_sys::AbortController::new().map_err(|_| FetchError::Network)?;
    let signal = ctrl.signal();
    let work = Box::pin(send_bounded(out, max_bytes, &signal));
    let timer = Delay::from(Duration::from_millis(timeout_ms));
    let outcome = match select(work, timer).await {
        Either::Left((r, _)) => r,
        Either::Right(_) => {
            ctrl.abort();
            Err(FetchError::Timeout)
        }
    };
    outcome
}

impl Fetch for RuntimeIo<'_> {
    async fn post(&self, req: &HttpRequest, max_bytes: usize, timeout_ms: u64) -> Result<HttpResponse, FetchError> {
        with_timeout(Outbound { url: &req.url, post: Some(req) }, max_bytes, timeout_ms).await
    }

    async fn get(&self, url: &str, max_bytes: usize, timeout_ms: u64) -> Result<HttpResponse, FetchError> {
        with_timeout(Outbound { url, post: None }, max_bytes, timeout_ms).await
    }

    async fn sleep(&self, ms: u64) {
        Delay::from(Duration::from_millis(ms)).await
    }

    async fn load(&self, key: &str) -> Option<Vec<u8>> {
        let kv = kv_namespace(self.env)?;
        let value = crate::exec::settled(&kv.get(key, "arrayBuffer").ok()?).await.ok()?;
        (!value.is_null() && !value.is_undefined()).then(|| js_sys::Uint8Array::new(&value).to_vec())
    }

    async fn store(&self, key: &str, value: Vec<u8>, ttl_secs: u64) {
        let Some(kv) = kv_namespace(self.env) else {
            return;
        };
        let key = key.to_owned();
        let _ = self.ctx.as_ref().wait_until(&crate::exec::promise(async move {
            let options = js_sys::Object::new();
            let _ = js_sys::Reflect::set(&options, &JsValue::from_str("expirationTtl"), &JsValue::from_f64(ttl_secs.max(60) as f64));
            // `From<&[u8]>` copies the bytes out of wasm memory.
            if let Ok(put) = kv.put(&key, &js_sys::Uint8Array::from(&value[..]), &options) {
                let _ = crate::exec::settled(&put).await;
            }
            JsValue::UNDEFINED
        }));
    }
}
