//! Cloud STS exchanges, sans I/O: request builders, response parsers and issuer-rule lints for
//! AWS STS (`AssumeRoleWithWebIdentity`), Google Cloud (STS v1 token exchange, then optionally
//! IAM Credentials `generateAccessToken`) and Microsoft Entra ID (client credentials with a
//! client assertion).
//!
//! The flow for a cloud target: edge-sts verifies the caller's Keycloak token and applies its
//! policy as for any target, mints a short-lived assertion with its own key (audience and
//! algorithm as the cloud requires), then
//!
//! 1. builds a [`crate::io::fetch::HttpRequest`] here ([`aws::assume_role_with_web_identity`],
//!    [`gcp::sts_token_request`] + [`gcp::generate_access_token_request`],
//!    [`azure::token_request`]);
//! 2. the adapter sends it (POST, no redirects, a timeout, a body cap of
//!    [`MAX_RESPONSE_BYTES`]) and hands back the status and body;
//! 3. the matching parser here turns that into [`CloudCredentials`] or an [`StsError`];
//! 4. [`CloudCredentials::to_token_response`] gives the `/token` JSON fields.
//!
//! Nothing here does I/O or reads a clock: every time-dependent function takes `now`
//! (seconds since the epoch, `f64`, as everywhere in the core).
//!
//! **Secrets.** Requests carry edge-sts's assertion (and, for Google impersonation, a Google
//! access token); results carry cloud credentials. `Debug` of [`crate::io::fetch::HttpRequest`] and
//! of every credential type omits them. [`StsError`] never holds text from the cloud's answer
//! except an error *code* reduced to `[A-Za-z0-9._:-]` (AWS `Message`s and OAuth
//! `error_description`s may echo the presented assertion's claims, so they are never kept).
use crate::jose::alg::Alg;
use crate::wire::oauth::{TOKEN_TYPE_NA, TT_ACCESS_TOKEN};
use crate::wire::reason;
use serde_json::{json, Map, Value};
use std::fmt;

pub mod aws;
pub mod azure;
pub mod gcp;
mod shared;
mod target;
pub use shared::{
    exchange_audience, Blame, CloudMode, ExchangeAudience, CLOUD_PROTECTED_CLAIMS, MAX_ASSERTION_LIFETIME_SECS, THROTTLE_RETRY_AFTER_SECS,
};
pub use target::CloudTarget;

/// Body cap the adapter should pass when reading an STS answer. Real answers are 1-8 KB (an
/// Entra access token with many groups is the largest); errors are smaller.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// Nesting bound for STS JSON answers (Google's error `details` are the deepest, about 5).
pub(crate) const JSON_DEPTH: usize = 16;

/// `application/x-www-form-urlencoded` (WHATWG), in the given order.
pub(crate) fn form<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cloud {
    Aws,
    Gcp,
    Azure,
}

impl Cloud {
    /// Short lowercase name, as used in reason codes (`sts.<cloud>.*`).
    pub fn as_str(self) -> &'static str {
        match self {
            Cloud::Aws => "aws",
            Cloud::Gcp => "gcp",
            Cloud::Azure => "azure",
        }
    }

    /// The service's name, for human-facing text.
    pub fn service(self) -> &'static str {
        match self {
            Cloud::Aws => "AWS STS",
            Cloud::Gcp => "Google Cloud STS",
            Cloud::Azure => "Microsoft Entra ID",
        }
    }

    /// How long before expiry a cached credential should stop being handed out. The clients'
    /// own refresh windows decide it: botocore refreshes `credential_process` credentials
    /// 15 minutes (advisory) / 10 minutes (mandatory) before expiry, so AWS credentials served
    /// with less than 15 minutes left make every SDK call come back; Google's and Azure's
    /// libraries refresh about 4-5 minutes ahead.
    pub fn refresh_margin_secs(self) -> u64 {
        match self {
            Cloud::Aws => 15 * 60,
            Cloud::Gcp | Cloud::Azure => 5 * 60,
        }
    }

    /// Assertion algorithms the cloud accepts, among those edge-sts can sign with.
    ///
    /// - AWS IAM OIDC providers: the documented RSA PKCS#1 v1.5 and ECDSA algorithms
    ///   (`RS256/384/512`, `ES256/384`). Never `EdDSA`; RSA-PSS is not among the documented
    ///   ones, so it is refused to stay on the supported path.
    /// - Google Workload Identity Federation: `RS256` or `ES256` only.
    /// - Entra ID: `RS256`. It refuses `ES256` (`AADSTS5002738`).
    pub fn accepts_alg(self, alg: Alg) -> bool {
        match self {
            Cloud::Aws => matches!(alg, Alg::RS256 | Alg::RS384 | Alg::RS512 | Alg::ES256 | Alg::ES384),
            Cloud::Gcp => matches!(alg, Alg::RS256 | Alg::ES256),
            Cloud::Azure => alg == Alg::RS256,
        }
    }

    /// Config lint: the target's `signing_alg` must be one the cloud accepts.
    pub fn check_alg(self, alg: Alg) -> Result<(), StsError> {
        if self.accepts_alg(alg) {
            return Ok(());
        }
        let (problem, fix) = match self {
            Cloud::Aws => (
                "AWS STS accepts only RSA (RS256/384/512) or ECDSA (ES256/384) web identity tokens, never EdDSA",
                "set signing_alg to RS256 or ES256",
            ),
            Cloud::Gcp => ("Google workload identity federation accepts only RS256 or ES256 tokens", "set signing_alg to RS256 or ES256"),
            Cloud::Azure => ("Entra ID accepts only RS256 client assertions (ES256 fails with AADSTS5002738)", "set signing_alg to RS256"),
        };
        Err(StsError::Invalid { cloud: self, field: "signing_alg", problem, fix })
    }

    /// Config lint: the cloud fetches edge-sts's discovery document and JWKS from `issuer`, so
    /// it must be an `https://` URL (loopback `http` only in dev mode, for local fakes).
    pub fn check_issuer(self, issuer: &str, dev: bool) -> Result<(), StsError> {
        if crate::wire::url::endpoint_allowed(issuer, dev) {
            return Ok(());
        }
        Err(StsError::Invalid {
            cloud: self,
            field: "issuer",
            problem: "a cloud fetches edge-sts's discovery document and keys from the issuer URL, which must be https",
            fix: "set issuer to the public https URL edge-sts is served at, without a query or fragment",
        })
    }
}

/// Config lint shared by every endpoint setting: https, or loopback http in dev mode.
pub(crate) fn check_endpoint(cloud: Cloud, url: &str, field: &'static str, dev: bool) -> Result<(), StsError> {
    if crate::wire::url::endpoint_allowed(url, dev) {
        return Ok(());
    }
    Err(StsError::Invalid {
        cloud,
        field,
        problem: "the endpoint must be an https URL without a query or fragment",
        fix: "use the cloud's https endpoint (loopback http is allowed only in dev mode)",
    })
}

/// Credentials from a cloud, ready for the `/token` answer and for a cache.
#[derive(Clone, PartialEq)]
pub enum CloudCredentials {
    Aws(aws::AwsCredentials),
    Gcp(gcp::GcpAccessToken),
    Azure(azure::AzureAccessToken),
}

impl fmt::Debug for CloudCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloudCredentials::Aws(c) => c.fmt(f),
            CloudCredentials::Gcp(c) => c.fmt(f),
            CloudCredentials::Azure(c) => c.fmt(f),
        }
    }
}

impl CloudCredentials {
    pub fn cloud(&self) -> Cloud {
        match self {
            CloudCredentials::Aws(_) => Cloud::Aws,
            CloudCredentials::Gcp(_) => Cloud::Gcp,
            CloudCredentials::Azure(_) => Cloud::Azure,
        }
    }

    /// Expiry, seconds since the epoch.
    pub fn expires_at(&self) -> f64 {
        match self {
            CloudCredentials::Aws(c) => c.expires_at,
            CloudCredentials::Gcp(c) => c.expires_at,
            CloudCredentials::Azure(c) => c.expires_at,
        }
    }

    /// Whole seconds left at `now` (0 once expired).
    pub fn expires_in(&self, now: f64) -> u64 {
        seconds_left(self.expires_at(), now)
    }

    /// Still worth handing out from a cache at `now`: more than the cloud's
    /// [`Cloud::refresh_margin_secs`] left.
    pub fn fresh_for_cache(&self, now: f64) -> bool {
        self.expires_at() - now > self.cloud().refresh_margin_secs() as f64
    }

    /// The `/token` success fields (docs/http.md: cloud targets add their fields to the same
    /// object). The wiring adds `scope` when the grant has one.
    ///
    /// - AWS: `access_token` is the session token, `token_type` is `N_A` (the credentials are
    ///   not a bearer token), and `aws_access_key_id`, `aws_secret_access_key`,
    ///   `aws_session_token` (the names of the AWS shared credentials file), `aws_expiration`
    ///   (RFC 3339, UTC) and `aws_assumed_role_arn` (when STS sent it).
    /// - Google, Entra: `access_token` is the cloud's access token, `token_type: Bearer`.
    ///
    /// `issued_token_type` is always `...:token-type:access_token`; `expires_in` is the cloud's
    /// expiry as seen at `now`.
    pub fn to_token_response(&self, now: f64) -> Map<String, Value> {
        let mut m = Map::new();
        match self {
            CloudCredentials::Aws(c) => {
                m.insert("access_token".into(), json!(c.session_token));
                m.insert("issued_token_type".into(), json!(TT_ACCESS_TOKEN));
                m.insert("token_type".into(), json!(TOKEN_TYPE_NA));
                m.insert("expires_in".into(), json!(self.expires_in(now)));
                m.insert("aws_access_key_id".into(), json!(c.access_key_id));
                m.insert("aws_secret_access_key".into(), json!(c.secret_access_key));
                m.insert("aws_session_token".into(), json!(c.session_token));
                m.insert("aws_expiration".into(), json!(c.expiration_rfc3339()));
                if let Some(arn) = &c.assumed_role_arn {
                    m.insert("aws_assumed_role_arn".into(), json!(arn));
                }
            }
            CloudCredentials::Gcp(gcp::GcpAccessToken { access_token, .. })
            | CloudCredentials::Azure(azure::AzureAccessToken { access_token, .. }) => {
                m.insert("access_token".into(), json!(access_token));
                m.insert("issued_token_type".into(), json!(TT_ACCESS_TOKEN));
                m.insert("token_type".into(), json!("Bearer"));
                m.insert("expires_in".into(), json!(self.expires_in(now)));
            }
        }
        m
    }
}

pub(crate) fn seconds_left(expires_at: f64, now: f64) -> u64 {
    let left = (expires_at - now).floor();
    if left.is_finite() && left > 0.0 {
        left as u64
    } else {
        0
    }
}

/// Every way a cloud exchange can fail. `Display` is a fixed short phrase, safe for
/// `error_description`; [`StsError::reason`] is the stable log code; [`StsError::cloud_code`]
/// is the cloud's own code for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StsError {
    /// A value from the target's configuration (or derived from it) that the cloud would
    /// refuse. No request was built. `field` names the setting, `problem`/`fix` explain it (for
    /// `ConfigError` at load time).
    Invalid { cloud: Cloud, field: &'static str, problem: &'static str, fix: &'static str },
    /// A value derived from the caller's identity that the cloud would refuse. No request was
    /// built.
    Caller { cloud: Cloud, problem: &'static str },
    /// AWS STS refused with a known error code.
    Aws { code: aws::AwsErrorCode, http_status: u16 },
    /// Google STS or IAM Credentials refused with a known error code.
    Gcp { code: gcp::GcpErrorCode, http_status: u16 },
    /// Entra ID refused with a known AADSTS code.
    Azure { code: azure::AadstsCode, http_status: u16 },
    /// Throttled (AWS `Throttling`/`ThrottlingException`/`RequestLimitExceeded`, HTTP 429,
    /// Google `RESOURCE_EXHAUSTED`).
    Throttled { cloud: Cloud, http_status: u16 },
    /// The cloud failed on its side (5xx, `InternalFailure`, `temporarily_unavailable`, ...).
    Unavailable { cloud: Cloud, http_status: u16 },
    /// The answer could not be used: not UTF-8, not XML/JSON, a required field missing, a bad
    /// expiry. `what` is a fixed phrase.
    BadResponse { cloud: Cloud, http_status: u16, what: &'static str },
    /// An error this module does not know. `code` is the cloud's code (AWS `Code`, OAuth
    /// `error`, Google `status`, `AADSTS<n>`), reduced to `[A-Za-z0-9._:-]` and 64 characters.
    Unknown { cloud: Cloud, http_status: u16, code: Option<String> },
}

fn per_cloud(cloud: Cloud, aws: &'static str, gcp: &'static str, azure: &'static str) -> &'static str {
    match cloud {
        Cloud::Aws => aws,
        Cloud::Gcp => gcp,
        Cloud::Azure => azure,
    }
}

impl StsError {
    pub fn cloud(&self) -> Cloud {
        match self {
            StsError::Aws { .. } => Cloud::Aws,
            StsError::Gcp { .. } => Cloud::Gcp,
            StsError::Azure { .. } => Cloud::Azure,
            StsError::Invalid { cloud, .. }
            | StsError::Caller { cloud, .. }
            | StsError::Throttled { cloud, .. }
            | StsError::Unavailable { cloud, .. }
            | StsError::BadResponse { cloud, .. }
            | StsError::Unknown { cloud, .. } => *cloud,
        }
    }

    /// Stable reason code for the log, `sts.<cloud>.<what>`.
    pub fn reason(&self) -> &'static str {
        let c = self.cloud();
        match self {
            StsError::Invalid { .. } => per_cloud(c, reason::STS_AWS_CONFIG, reason::STS_GCP_CONFIG, reason::STS_AZURE_CONFIG),
            StsError::Caller { .. } => per_cloud(c, reason::STS_AWS_CALLER, reason::STS_GCP_CALLER, reason::STS_AZURE_CALLER),
            StsError::Aws { code, .. } => code.reason(),
            StsError::Gcp { code, .. } => code.reason(),
            StsError::Azure { code, .. } => code.reason(),
            StsError::Throttled { .. } => per_cloud(c, reason::STS_AWS_THROTTLED, reason::STS_GCP_THROTTLED, reason::STS_AZURE_THROTTLED),
            StsError::Unavailable { .. } => {
                per_cloud(c, reason::STS_AWS_UNAVAILABLE, reason::STS_GCP_UNAVAILABLE, reason::STS_AZURE_UNAVAILABLE)
            }
            StsError::BadResponse { .. } => {
                per_cloud(c, reason::STS_AWS_BAD_RESPONSE, reason::STS_GCP_BAD_RESPONSE, reason::STS_AZURE_BAD_RESPONSE)
            }
            StsError::Unknown { .. } => per_cloud(c, reason::STS_AWS_UNKNOWN, reason::STS_GCP_UNKNOWN, reason::STS_AZURE_UNKNOWN),
        }
    }

    pub fn blame(&self) -> Blame {
        match self {
            StsError::Invalid { .. } => Blame::Config,
            StsError::Caller { .. } => Blame::Caller,
            StsError::Throttled { .. } => Blame::Throttled,
            _ => Blame::Upstream,
        }
    }

    /// Whether the same request may succeed later without anyone changing configuration
    /// (for logs and alerting: a non-retryable `Upstream` error needs an operator).
    pub fn retryable(&self) -> bool {
        matches!(
            self,
            StsError::Throttled { .. }
                | StsError::Unavailable { .. }
                | StsError::BadResponse { .. }
                | StsError::Aws { code: aws::AwsErrorCode::IdpCommunicationError, .. }
                | StsError::Azure { code: azure::AadstsCode::ExternalOidcRequestFailed(_), .. }
        )
    }

    /// The HTTP status of the cloud's answer, if there was one.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            StsError::Invalid { .. } | StsError::Caller { .. } => None,
            StsError::Aws { http_status, .. }
            | StsError::Gcp { http_status, .. }
            | StsError::Azure { http_status, .. }
            | StsError::Throttled { http_status, .. }
            | StsError::Unavailable { http_status, .. }
            | StsError::BadResponse { http_status, .. }
            | StsError::Unknown { http_status, .. } => Some(*http_status),
        }
    }

    /// The cloud's own error code, for the log (never its message).
    pub fn cloud_code(&self) -> Option<String> {
        match self {
            StsError::Aws { code, .. } => Some(code.as_str().to_owned()),
            StsError::Gcp { code, .. } => Some(code.as_str().to_owned()),
            StsError::Azure { code, .. } => Some(format!("AADSTS{}", code.number())),
            StsError::Unknown { code, .. } => code.clone(),
            _ => None,
        }
    }
}

impl fmt::Display for StsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let service = self.cloud().service();
        match self {
            StsError::Invalid { .. } => write!(f, "the {} target is not configured correctly", self.cloud().as_str()),
            StsError::Caller { problem, .. } => f.write_str(problem),
            StsError::Aws { code, .. } => code.fmt(f),
            StsError::Gcp { code, .. } => code.fmt(f),
            StsError::Azure { code, .. } => code.fmt(f),
            StsError::Throttled { .. } => write!(f, "{service} is throttling requests; retry later"),
            StsError::Unavailable { .. } => write!(f, "{service} is unavailable"),
            StsError::BadResponse { .. } => write!(f, "{service} sent an unusable response"),
            StsError::Unknown { .. } => write!(f, "{service} refused the exchange"),
        }
    }
}

/// A cloud's error code reduced to what is safe to log: `[A-Za-z0-9._:-]`, at most 64
/// characters; `None` if nothing is left.
pub(crate) fn safe_code(code: &str) -> Option<String> {
    let s: String = code.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-')).take(64).collect();
    (!s.is_empty()).then_some(s)
}

/// RFC 3339 (`2011-07-15T23:28:33.359Z`, any offset) to seconds since the epoch.
pub(crate) fn parse_rfc3339(s: &str) -> Option<f64> {
    let t = chrono::DateTime::parse_from_rfc3339(s.trim()).ok()?;
    Some(t.timestamp() as f64 + f64::from(t.timestamp_subsec_nanos()) / 1e9)
}

/// Seconds since the epoch to `YYYY-MM-DDTHH:MM:SSZ` (whole seconds, rounded down).
pub(crate) fn format_rfc3339(unix: f64) -> String {
    use chrono::{Datelike, Timelike};
    match chrono::DateTime::from_timestamp(unix.floor() as i64, 0) {
        Some(t) => format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", t.year(), t.month(), t.day(), t.hour(), t.minute(), t.second()),
        None => String::new(),
    }
}

/// `expires_in` as a positive JSON integer, or a decimal string of one (Entra's v1 endpoint and
/// some proxies send strings).
pub(crate) fn expires_in_secs(v: Option<&Value>) -> Option<u64> {
    let n = match v? {
        Value::Number(n) => n.as_u64()?,
        Value::String(s) if !s.is_empty() && s.len() <= 10 && s.bytes().all(|b| b.is_ascii_digit()) => s.parse().ok()?,
        _ => return None,
    };
    (n > 0).then_some(n)
}

/// A non-empty JSON string field.
pub(crate) fn str_field<'a>(m: &'a Map<String, Value>, k: &str) -> Option<&'a str> {
    m.get(k).and_then(Value::as_str).filter(|s| !s.is_empty())
}

#[cfg(test)]
pub(crate) mod testutil {
    use super::StsError;

    /// A recorded response from `core/tests/fixtures/sts/`.
    pub fn fixture(path: &str) -> Vec<u8> {
        let full = format!("{}/tests/fixtures/sts/{path}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
    }

    /// The wire part of an answer: status, OAuth `error`, `Retry-After`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct WireHint {
        pub status: u16,
        pub error: &'static str,
        pub retry_after: Option<u64>,
    }

    /// What the caller gets for an [`StsError`], through the one mapping, `Error::to_oauth`.
    pub trait Wire {
        fn wire_hint(&self) -> WireHint;
    }

    impl Wire for StsError {
        fn wire_hint(&self) -> WireHint {
            let o = crate::Error::Sts(self.clone()).to_oauth(0);
            WireHint { status: o.status, error: o.error, retry_after: o.retry_after }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::{Wire, WireHint};
    use super::*;
    use crate::io::fetch::{HttpRequest, FORM_CONTENT_TYPE};

    #[test]
    fn http_request_debug_hides_secrets() {
        let mut r = HttpRequest::post("https://sts.example/".into(), FORM_CONTENT_TYPE, form([("WebIdentityToken", "eyJSECRET")]));
        r.headers.push(("authorization".into(), "Bearer ya29.SECRET".into()));
        let d = format!("{r:?}");
        assert!(!d.contains("SECRET"), "{d}");
        assert!(d.contains("https://sts.example/") && d.contains("<redacted>") && d.contains("body_len"), "{d}");
        assert_eq!(r.header("content-type"), Some(FORM_CONTENT_TYPE));
        assert_eq!(r.form_params(), vec![("WebIdentityToken".to_owned(), "eyJSECRET".to_owned())]);
    }

    #[test]
    fn form_encoding() {
        assert_eq!(form([("a", "b c"), ("x", "+/=&?é")]), "a=b+c&x=%2B%2F%3D%26%3F%C3%A9");
    }

    #[test]
    fn safe_codes() {
        let table: [(&str, Option<&str>); 6] = [
            ("InvalidIdentityToken", Some("InvalidIdentityToken")),
            ("invalid_grant", Some("invalid_grant")),
            ("a b<script>\"c", Some("abscriptc")),
            ("", None),
            ("  ", None),
            (&"x".repeat(100), Some(&"x".repeat(64))),
        ];
        for (input, want) in table {
            assert_eq!(safe_code(input).as_deref(), want, "{input}");
        }
    }

    #[test]
    fn rfc3339() {
        let table: [(&str, Option<f64>); 8] = [
            ("2011-07-15T23:28:33Z", Some(1310772513.0)),
            ("2011-07-15T23:28:33.359Z", Some(1310772513.359)),
            ("2014-10-02T15:01:23.045123456Z", Some(1_412_262_083.045_123)),
            ("2011-07-15T23:28:33+02:00", Some(1310765313.0)),
            (" 2011-07-15T23:28:33Z\n", Some(1310772513.0)),
            ("2011-07-15", None),
            ("Fri, 15 Jul 2011 23:28:33 GMT", None),
            ("", None),
        ];
        for (input, want) in table {
            let got = parse_rfc3339(input);
            match (got, want) {
                (Some(g), Some(w)) => assert!((g - w).abs() < 1e-6, "{input}: {g} != {w}"),
                _ => assert_eq!(got, want, "{input}"),
            }
        }
        assert_eq!(format_rfc3339(1310772513.359), "2011-07-15T23:28:33Z");
        assert_eq!(format_rfc3339(0.0), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn expires_in_values() {
        let table: [(Value, Option<u64>); 9] = [
            (json!(3599), Some(3599)),
            (json!("3599"), Some(3599)),
            (json!(0), None),
            (json!(-5), None),
            (json!(1.5), None),
            (json!("1e3"), None),
            (json!(""), None),
            (json!("99999999999"), None),
            (json!(null), None),
        ];
        for (v, want) in table {
            assert_eq!(expires_in_secs(Some(&v)), want, "{v}");
        }
        assert_eq!(expires_in_secs(None), None);
    }

    #[test]
    fn seconds_left_floors_and_saturates() {
        assert_eq!(seconds_left(100.0, 40.5), 59);
        assert_eq!(seconds_left(100.0, 100.0), 0);
        assert_eq!(seconds_left(100.0, 200.0), 0);
        assert_eq!(seconds_left(f64::NAN, 0.0), 0);
    }

    #[test]
    fn algs_per_cloud() {
        use Alg::*;
        let table = [
            (Cloud::Aws, vec![RS256, RS384, RS512, ES256, ES384], vec![PS256, PS384, PS512, EdDSA]),
            (Cloud::Gcp, vec![RS256, ES256], vec![RS384, RS512, PS256, PS384, PS512, ES384, EdDSA]),
            (Cloud::Azure, vec![RS256], vec![RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA]),
        ];
        for (cloud, ok, bad) in table {
            for a in ok {
                assert_eq!(cloud.check_alg(a), Ok(()), "{cloud:?} {a}");
            }
            for a in bad {
                let e = cloud.check_alg(a).unwrap_err();
                assert!(matches!(e, StsError::Invalid { field: "signing_alg", .. }), "{cloud:?} {a}");
                assert_eq!(e.blame(), Blame::Config);
            }
        }
    }

    #[test]
    fn cache_freshness() {
        let aws = CloudCredentials::Aws(aws::AwsCredentials {
            access_key_id: "ASIA".into(),
            secret_access_key: "s".into(),
            session_token: "t".into(),
            expiration: "2019-11-09T13:34:41Z".into(),
            expires_at: 10_000.0,
            assumed_role_arn: None,
            assumed_role_id: None,
        });
        let gcp = CloudCredentials::Gcp(gcp::GcpAccessToken { access_token: "ya29".into(), expires_at: 10_000.0, service_account: None });
        let azure = CloudCredentials::Azure(azure::AzureAccessToken { access_token: "eyJ".into(), expires_at: 10_000.0 });
        // (credentials, last `now` still fresh, first `now` not fresh)
        for (c, fresh, stale) in [(&aws, 9_099.0, 9_100.0), (&gcp, 9_699.0, 9_700.0), (&azure, 9_699.0, 9_700.0)] {
            assert!(c.fresh_for_cache(fresh), "{:?}", c.cloud());
            assert!(!c.fresh_for_cache(stale), "{:?}", c.cloud());
            assert_eq!(c.expires_in(stale), 10_000 - stale as u64);
            assert_eq!(c.expires_at(), 10_000.0);
        }
        let d = format!("{aws:?} {gcp:?} {azure:?}");
        assert!(!d.contains("ya29") && !d.contains("eyJ") && !d.contains("session_token"), "{d}");
    }

    #[test]
    fn issuer_lint() {
        let table = [
            ("https://sts.example.com", false, true),
            ("https://sts.example.com/tenant-a", false, true),
            ("http://sts.example.com", false, false),
            ("http://127.0.0.1:8787", false, false),
            ("http://127.0.0.1:8787", true, true),
            ("https://sts.example.com?x=1", false, false),
            ("https://sts.example.com#f", false, false),
            ("", false, false),
        ];
        for cloud in [Cloud::Aws, Cloud::Gcp, Cloud::Azure] {
            for (issuer, dev, ok) in table {
                assert_eq!(cloud.check_issuer(issuer, dev).is_ok(), ok, "{cloud:?} {issuer} dev={dev}");
            }
        }
    }

    #[test]
    fn error_mapping_and_wire() {
        let c = Cloud::Gcp;
        // (error, reason, blame, (status, error, retry_after), retryable)
        type Case = (StsError, &'static str, Blame, (u16, &'static str, Option<u64>), bool);
        let table: [Case; 6] = [
            (
                StsError::Invalid { cloud: c, field: "x", problem: "p", fix: "f" },
                "sts.gcp.config",
                Blame::Config,
                (503, "server_error", None),
                false,
            ),
            (StsError::Caller { cloud: c, problem: "p" }, "sts.gcp.caller", Blame::Caller, (400, "invalid_target", None), false),
            (
                StsError::Throttled { cloud: c, http_status: 429 },
                "sts.gcp.throttled",
                Blame::Throttled,
                (503, "temporarily_unavailable", Some(5)),
                true,
            ),
            (
                StsError::Unavailable { cloud: c, http_status: 503 },
                "sts.gcp.unavailable",
                Blame::Upstream,
                (502, "server_error", None),
                true,
            ),
            (
                StsError::BadResponse { cloud: c, http_status: 200, what: "w" },
                "sts.gcp.bad_response",
                Blame::Upstream,
                (502, "server_error", None),
                true,
            ),
            (
                StsError::Unknown { cloud: c, http_status: 400, code: Some("x".into()) },
                "sts.gcp.unknown",
                Blame::Upstream,
                (502, "server_error", None),
                false,
            ),
        ];
        for (e, reason, blame, (status, error, retry), retryable) in table {
            assert_eq!(e.reason(), reason);
            assert_eq!(e.blame(), blame, "{reason}");
            assert_eq!(e.wire_hint(), WireHint { status, error, retry_after: retry }, "{reason}");
            assert_eq!(e.retryable(), retryable, "{reason}");
            assert!(e.to_string().len() < 120, "{reason}: {e}");
        }
    }
}
