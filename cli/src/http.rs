//! The `Fetch` seam over blocking `ureq`, with the Worker adapter's rules: redirects are not
//! followed (a 3xx comes back as its status), a timeout per request, a body cap, and the same
//! URL rule (`https://`, or loopback `http://` only when explicitly allowed).
use edge_sts_core::io::fetch::{Fetch, FetchError, HttpResponse};
use edge_sts_core::wire::url::{is_loopback_http, url_allowed};
use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub struct UreqFetch {
    /// Allow `http://` on 127.0.0.1, localhost and [::1] (the Worker's dev mode).
    pub allow_http_loopback: bool,
}

impl UreqFetch {
    fn get_blocking(&self, url: &str, max_bytes: usize, timeout_ms: u64) -> Result<HttpResponse, FetchError> {
        if !url_allowed(url, self.allow_http_loopback) {
            return Err(FetchError::BadDocument("URL is not https"));
        }
        let mut cfg = ureq::Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .https_only(!is_loopback_http(url))
            .timeout_global(Some(Duration::from_millis(timeout_ms)))
            .user_agent(concat!("edge-sts-cli/", env!("CARGO_PKG_VERSION")));
        if is_loopback_http(url) {
            cfg = cfg.proxy(None);
        }
        let agent: ureq::Agent = cfg.build().into();
        let mut resp = agent.get(url).call().map_err(|e| match e {
            ureq::Error::Timeout(_) => FetchError::Timeout,
            _ => FetchError::Network,
        })?;
        let status = resp.status().as_u16();
        let header = |name: &str| resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let cache_control = header("cache-control");
        let content_type = header("content-type");
        // Like the adapter: only a 200's body is read.
        let body = if status == 200 {
            resp.body_mut().with_config().limit(max_bytes as u64).read_to_vec().map_err(|e| match e {
                ureq::Error::BodyExceedsLimit(_) => FetchError::TooLarge,
                ureq::Error::Timeout(_) => FetchError::Timeout,
                _ => FetchError::Network,
            })?
        } else {
            Vec::new()
        };
        Ok(HttpResponse { status, body, cache_control, content_type })
    }
}

impl Fetch for UreqFetch {
    async fn get(&self, url: &str, max_bytes: usize, timeout_ms: u64) -> Result<HttpResponse, FetchError> {
        self.get_blocking(url, max_bytes, timeout_ms)
    }

    async fn sleep(&self, ms: u64) {
        std::thread::sleep(Duration::from_millis(ms));
    }
}
