//! The core's I/O seam over the runtime: `fetch` with a timeout (abort), no redirects and a
//! streamed body cap; `setTimeout` as a timer; KV (binding `JWKS_CACHE`, optional) to persist
//! parsed-JWKS records across isolates. KV writes go through `waitUntil`, off the hot path.
use edge_sts_core::fetch::{Fetch, FetchError, HttpRequest, HttpResponse};
use futures_util::future::{select, Either};
use futures_util::StreamExt;
use std::time::Duration;
use worker::{AbortController, Delay, Env, Method, Request, RequestInit, RequestRedirect};

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

/// A request edge-sts sends: a key fetch (GET) or a cloud STS call (POST).
struct Outbound<'r> {
    url: &'r str,
    post: Option<&'r HttpRequest>,
}

async fn send_bounded(out: Outbound<'_>, max_bytes: usize, signal: &worker::AbortSignal) -> Result<HttpResponse, FetchError> {
    let url = out.url;
    let mut init = RequestInit::new();
    init.with_redirect(RequestRedirect::Manual);
    let headers = worker::Headers::new();
    match out.post {
        None => {
            init.with_method(Method::Get);
            let _ = headers.set("accept", "application/json");
        }
        Some(p) => {
            init.with_method(Method::Post);
            for (k, v) in &p.headers {
                let _ = headers.set(k, v);
            }
            init.with_body(Some(wasm_bindgen::JsValue::from_str(&p.body)));
        }
    }
    init.with_headers(headers);
    let req = Request::new_with_init(url, &init).map_err(|_| FetchError::Network)?;
    let mut resp = worker::Fetch::Request(req).send_with_signal(signal).await.map_err(|_| FetchError::Network)?;
    let status = resp.status_code();
    let header = |n: &str| resp.headers().get(n).ok().flatten();
    let cache_control = header("cache-control");
    let content_type = header("content-type");
    if header("content-length").and_then(|v| v.parse::<usize>().ok()).is_some_and(|n| n > max_bytes) {
        return Err(FetchError::TooLarge);
    }
    let mut body = Vec::new();
    // Key documents are read only on 200; a cloud's error answers carry their error codes.
    if status == 200 || out.post.is_some() {
        let mut stream = resp.stream().map_err(|_| FetchError::Network)?;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|_| FetchError::Network)?;
            if body.len() + chunk.len() > max_bytes {
                return Err(FetchError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
    }
    Ok(HttpResponse { status, body, cache_control, content_type })
}

async fn with_timeout(out: Outbound<'_>, max_bytes: usize, timeout_ms: u64) -> Result<HttpResponse, FetchError> {
    let ctrl = AbortController::default();
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
        let kv = self.env.kv(KV_BINDING).ok()?;
        kv.get(key).bytes().await.ok().flatten()
    }

    async fn store(&self, key: &str, value: Vec<u8>, ttl_secs: u64) {
        let Ok(kv) = self.env.kv(KV_BINDING) else {
            return;
        };
        let key = key.to_owned();
        self.ctx.wait_until(async move {
            if let Ok(put) = kv.put_bytes(&key, &value) {
                let _ = put.expiration_ttl(ttl_secs.max(60)).execute().await;
            }
        });
    }
}
