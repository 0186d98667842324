//! The core's I/O seam over the runtime: `fetch` with a timeout (abort), no redirects and a
//! streamed body cap; `setTimeout` as a timer; KV (binding `JWKS_CACHE`, optional) to persist
//! parsed-JWKS records across isolates. KV writes go through `waitUntil`, off the hot path.
use edge_sts_core::fetch::{Fetch, FetchError, HttpResponse};
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

async fn get_bounded(url: &str, max_bytes: usize, signal: &worker::AbortSignal) -> Result<HttpResponse, FetchError> {
    let mut init = RequestInit::new();
    init.with_method(Method::Get).with_redirect(RequestRedirect::Manual);
    let headers = worker::Headers::new();
    let _ = headers.set("accept", "application/json");
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
    if status == 200 {
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

impl Fetch for RuntimeIo<'_> {
    async fn get(&self, url: &str, max_bytes: usize, timeout_ms: u64) -> Result<HttpResponse, FetchError> {
        let ctrl = AbortController::default();
        let signal = ctrl.signal();
        let work = Box::pin(get_bounded(url, max_bytes, &signal));
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
