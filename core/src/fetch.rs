//! The I/O seam. The adapter implements it over the runtime's `fetch` with a timeout, no
//! redirects (a 3xx is returned as its status) and a body cap; tests implement it in memory.
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub body: Vec<u8>,
    pub cache_control: Option<String>,
    pub content_type: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchError {
    Timeout,
    Network,
    /// The body exceeded the cap the caller passed.
    TooLarge,
    /// A well-formed HTTP answer edge-sts cannot use (non-2xx, redirect, wrong content).
    Status(u16),
    /// The body was not what was expected (not JSON, wrong issuer, no `jwks_uri`, ...).
    BadDocument(&'static str),
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchError::Timeout => f.write_str("timed out"),
            FetchError::Network => f.write_str("network error"),
            FetchError::TooLarge => f.write_str("response body too large"),
            FetchError::Status(s) if (300..400).contains(s) => write!(f, "redirect ({s}) refused"),
            FetchError::Status(s) => write!(f, "HTTP status {s}"),
            FetchError::BadDocument(why) => write!(f, "unusable document: {why}"),
        }
    }
}

pub trait Fetch {
    /// GET `url`; answers any HTTP status (redirects are not followed); errors only for
    /// timeout, network or a body over `max_bytes`.
    async fn get(&self, url: &str, max_bytes: usize, timeout_ms: u64) -> Result<HttpResponse, FetchError>;

    /// POST a cloud STS request (same rules as `get`: no redirects, timeout, body cap).
    /// Default: unsupported (tools that never broker cloud exchanges need not implement it).
    async fn post(&self, _req: &crate::sts::HttpRequest, _max_bytes: usize, _timeout_ms: u64) -> Result<HttpResponse, FetchError> {
        Err(FetchError::Network)
    }

    /// Resolves after `ms` milliseconds (bounds how long a request waits on another's refresh).
    async fn sleep(&self, ms: u64);

    /// Cross-isolate persistence (KV). Default: none.
    async fn load(&self, _key: &str) -> Option<Vec<u8>> {
        None
    }
    async fn store(&self, _key: &str, _value: Vec<u8>, _ttl_secs: u64) {}
}
