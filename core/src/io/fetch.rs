//! The I/O seam, with its own request and response types. The adapter implements it over the
//! runtime's `fetch` with a timeout, no redirects (a 3xx is returned as its status) and a body
//! cap; tests implement it in memory. This module depends on no other module of the crate.
use std::fmt;

pub const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";
pub const JSON_CONTENT_TYPE: &str = "application/json";

/// One HTTP request for the adapter to send ([`Fetch::post`]): a cloud STS call, built by
/// `sts`. Always a POST over https (loopback http only if the configuration allowed it in dev
/// mode). `Debug` omits the body and the `authorization` header.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: &'static str,
    pub url: String,
    /// Header names are lowercase.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpRequest {
    #[cfg_attr(not(feature = "clouds"), allow(dead_code))]
    pub(crate) fn post(url: String, content_type: &str, body: String) -> HttpRequest {
        HttpRequest { method: "POST", url, headers: vec![("content-type".into(), content_type.into())], body }
    }

    /// The first header with this (lowercase) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The decoded form parameters of a form body (for tests and fakes).
    pub fn form_params(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(self.body.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
    }
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The body holds an assertion or a token, `authorization` a bearer token: never print them.
        let headers: Vec<(&str, &str)> =
            self.headers.iter().map(|(k, v)| (k.as_str(), if k == "authorization" { "<redacted>" } else { v.as_str() })).collect();
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &headers)
            .field("body_len", &self.body.len())
            .finish()
    }
}

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
    async fn post(&self, _req: &HttpRequest, _max_bytes: usize, _timeout_ms: u64) -> Result<HttpResponse, FetchError> {
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
