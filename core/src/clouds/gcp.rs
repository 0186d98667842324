//! Google Cloud: Security Token Service v1 token exchange (RFC 8693) of edge-sts's assertion
//! for a federated access token, then, optionally, service-account impersonation through IAM
//! Credentials `generateAccessToken`.
//!
//! Cloud side: a workload identity pool with an OIDC provider whose issuer is edge-sts's
//! `issuer` (allowed audiences: the default, or the target's audience), an attribute mapping
//! with at least `google.subject=assertion.sub`, and IAM bindings for the mapped principal:
//! `roles/iam.workloadIdentityUser` on the service account when impersonating, or direct
//! resource access otherwise.
use super::{check_endpoint, expires_in_secs, form, safe_code, str_field, StsError};
use crate::clouds::Cloud;
use crate::io::fetch::{HttpRequest, FORM_CONTENT_TYPE, JSON_CONTENT_TYPE};
use crate::jose::alg::Alg;
use crate::wire::oauth::{valid_scope_token, GRANT_TOKEN_EXCHANGE, TT_ACCESS_TOKEN, TT_JWT};
use crate::wire::reason;
use serde_json::{json, Map, Value};
use std::fmt;

pub const STS_TOKEN_URL: &str = "https://sts.googleapis.com/v1/token";
pub const IAM_CREDENTIALS_URL: &str = "https://iamcredentials.googleapis.com";
pub const CLOUD_PLATFORM_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
/// `google.subject` (mapped from `sub` by default) is limited to 127 bytes.
pub const MAX_SUBJECT_BYTES: usize = 127;
/// Google refuses assertions whose `exp - iat` is 48 hours or more.
pub const MAX_ASSERTION_LIFETIME_SECS: u64 = 48 * 3600;
/// `generateAccessToken` lifetime: up to 1 hour by default, up to 12 hours where the
/// organization policy `constraints/iam.allowServiceAccountCredentialLifetimeExtension` lists
/// the service account.
pub const DEFAULT_IMPERSONATION_LIFETIME_SECS: u32 = 3600;
pub const MAX_IMPERSONATION_LIFETIME_SECS: u32 = 43_200;

fn invalid(field: &'static str, problem: &'static str, fix: &'static str) -> StsError {
    StsError::Invalid { cloud: Cloud::Gcp, field, problem, fix }
}

/// A workload identity pool provider:
/// `projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadIdentityProvider {
    pub project_number: String,
    pub pool: String,
    pub provider: String,
}

/// Pool and provider ids: 4-32 characters of `[a-z0-9-]`, not starting with `gcp-`.
fn valid_id(s: &str) -> bool {
    (4..=32).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') && !s.starts_with("gcp-")
}

impl WorkloadIdentityProvider {
    pub fn new(project_number: &str, pool: &str, provider: &str) -> Result<WorkloadIdentityProvider, StsError> {
        if project_number.is_empty() || project_number.len() > 20 || !project_number.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid(
                "project_number",
                "the project number must be digits (not the project id)",
                "use the numeric project number, e.g. from `gcloud projects describe`",
            ));
        }
        if !valid_id(pool) {
            return Err(invalid("pool", "not a workload identity pool id (4-32 of a-z, 0-9, -)", "use the pool id, e.g. edge-sts"));
        }
        if !valid_id(provider) {
            return Err(invalid(
                "provider",
                "not a workload identity provider id (4-32 of a-z, 0-9, -)",
                "use the provider id, e.g. edge-sts-oidc",
            ));
        }
        Ok(WorkloadIdentityProvider { project_number: project_number.into(), pool: pool.into(), provider: provider.into() })
    }

    /// Accepts the resource name with or without `//iam.googleapis.com/` or
    /// `https://iam.googleapis.com/` in front.
    pub fn parse(name: &str) -> Result<WorkloadIdentityProvider, StsError> {
        let rest = name.strip_prefix("//iam.googleapis.com/").or_else(|| name.strip_prefix("https://iam.googleapis.com/")).unwrap_or(name);
        let parts: Vec<&str> = rest.split('/').collect();
        match parts[..] {
            ["projects", number, "locations", "global", "workloadIdentityPools", pool, "providers", provider] => {
                WorkloadIdentityProvider::new(number, pool, provider)
            }
            _ => Err(invalid(
                "workload_identity_provider",
                "not a workload identity provider resource name",
                "use projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>",
            )),
        }
    }

    /// `projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>`
    pub fn resource_name(&self) -> String {
        format!("projects/{}/locations/global/workloadIdentityPools/{}/providers/{}", self.project_number, self.pool, self.provider)
    }

    /// The STS `audience` parameter (and `audience` of an `external_account` file):
    /// `//iam.googleapis.com/projects/...`.
    pub fn sts_audience(&self) -> String {
        format!("//iam.googleapis.com/{}", self.resource_name())
    }

    /// The `aud` a provider without configured allowed audiences accepts by default:
    /// `https://iam.googleapis.com/projects/...` (the `//iam...` form is accepted as well).
    pub fn default_assertion_audience(&self) -> String {
        format!("https://iam.googleapis.com/{}", self.resource_name())
    }

    /// Whether a provider with *default* allowed audiences accepts an assertion with this `aud`.
    /// A provider configured with its own allowed audiences accepts those instead, so a `false`
    /// here is a warning, not an error.
    pub fn accepts_by_default(&self, aud: &str) -> bool {
        aud == self.default_assertion_audience() || aud == self.sts_audience()
    }
}

/// Optional second step: trade the federated token for a service account's access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceAccountImpersonation {
    /// IAM Credentials base URL, default [`IAM_CREDENTIALS_URL`].
    pub iam_credentials_url: String,
    /// The service account's email (or unique id).
    pub service_account: String,
    /// `lifetime`, 1..=43200 seconds (more than 3600 needs the organization policy).
    pub lifetime_secs: u32,
}

impl ServiceAccountImpersonation {
    pub fn new(service_account: impl Into<String>) -> ServiceAccountImpersonation {
        ServiceAccountImpersonation {
            iam_credentials_url: IAM_CREDENTIALS_URL.into(),
            service_account: service_account.into(),
            lifetime_secs: DEFAULT_IMPERSONATION_LIFETIME_SECS,
        }
    }

    /// `<base>/v1/projects/-/serviceAccounts/<email>:generateAccessToken`
    pub fn url(&self) -> String {
        format!(
            "{}/v1/projects/-/serviceAccounts/{}:generateAccessToken",
            self.iam_credentials_url.trim_end_matches('/'),
            self.service_account
        )
    }

    fn check_params(&self) -> Result<(), StsError> {
        let sa = &self.service_account;
        let email_ok = sa.len() <= 254
            && sa.bytes().all(|b| b.is_ascii_alphanumeric() || b"._@+-".contains(&b))
            && sa.matches('@').count() == 1
            && !sa.starts_with('@')
            && !sa.ends_with('@');
        let unique_id_ok = !sa.is_empty() && sa.len() <= 32 && sa.bytes().all(|b| b.is_ascii_digit());
        if !email_ok && !unique_id_ok {
            return Err(invalid(
                "service_account",
                "not a service account email",
                "use the email, e.g. orders@my-project.iam.gserviceaccount.com",
            ));
        }
        if !(1..=MAX_IMPERSONATION_LIFETIME_SECS).contains(&self.lifetime_secs) {
            return Err(invalid(
                "lifetime_secs",
                "generateAccessToken accepts a lifetime of at most 43200 seconds",
                "use 1..=3600 (up to 43200 with the lifetime-extension organization policy)",
            ));
        }
        Ok(())
    }
}

/// One Google cloud target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GcpTarget {
    /// STS token endpoint, default [`STS_TOKEN_URL`].
    pub sts_url: String,
    pub provider: WorkloadIdentityProvider,
    /// OAuth scopes of the resulting token, default `cloud-platform`.
    pub scopes: Vec<String>,
    pub impersonation: Option<ServiceAccountImpersonation>,
}

impl GcpTarget {
    pub fn new(provider: WorkloadIdentityProvider) -> GcpTarget {
        GcpTarget { sts_url: STS_TOKEN_URL.into(), provider, scopes: vec![CLOUD_PLATFORM_SCOPE.into()], impersonation: None }
    }

    /// Config lint: https endpoints (loopback http in dev mode), scopes, impersonation.
    pub fn validate(&self, dev: bool) -> Result<(), StsError> {
        check_endpoint(Cloud::Gcp, &self.sts_url, "sts_url", dev)?;
        if let Some(imp) = &self.impersonation {
            check_endpoint(Cloud::Gcp, &imp.iam_credentials_url, "iam_credentials_url", dev)?;
        }
        self.check_params()
    }

    fn check_params(&self) -> Result<(), StsError> {
        check_scopes(&self.scopes)?;
        if let Some(imp) = &self.impersonation {
            imp.check_params()?;
        }
        Ok(())
    }

    /// The scope of the STS step: the target's scopes, or `cloud-platform` when impersonating
    /// (the federated token only has to call IAM Credentials; the service account's token gets
    /// the target's scopes). This is what Google's client libraries do.
    pub fn sts_scopes(&self) -> Vec<&str> {
        match self.impersonation {
            Some(_) => vec![CLOUD_PLATFORM_SCOPE],
            None => self.scopes.iter().map(String::as_str).collect(),
        }
    }
}

fn check_scopes(scopes: &[String]) -> Result<(), StsError> {
    if scopes.is_empty() || !scopes.iter().all(|s| valid_scope_token(s)) {
        return Err(invalid(
            "scopes",
            "Google needs at least one OAuth scope, without spaces",
            "use [\"https://www.googleapis.com/auth/cloud-platform\"]",
        ));
    }
    Ok(())
}

/// STS v1 token exchange: form POST to `target.sts_url` with `grant_type` (token exchange),
/// `audience` (the provider's `//iam.googleapis.com/...` name), `scope` (space-separated, see
/// [`GcpTarget::sts_scopes`]), `requested_token_type` (access token), `subject_token` (edge-sts's
/// assertion) and `subject_token_type` (jwt).
pub fn sts_token_request(target: &GcpTarget, subject_token: &str) -> Result<HttpRequest, StsError> {
    target.check_params()?;
    let audience = target.provider.sts_audience();
    let scope = target.sts_scopes().join(" ");
    let body = form([
        ("grant_type", GRANT_TOKEN_EXCHANGE),
        ("audience", audience.as_str()),
        ("scope", scope.as_str()),
        ("requested_token_type", TT_ACCESS_TOKEN),
        ("subject_token", subject_token),
        ("subject_token_type", TT_JWT),
    ]);
    Ok(HttpRequest::post(target.sts_url.clone(), FORM_CONTENT_TYPE, body))
}

/// IAM Credentials `generateAccessToken` for `imp.service_account`, authenticated with the
/// federated token from the STS step. JSON body `{"scope": [...], "lifetime": "<n>s"}`.
pub fn generate_access_token_request(
    imp: &ServiceAccountImpersonation,
    scopes: &[String],
    sts_access_token: &str,
) -> Result<HttpRequest, StsError> {
    imp.check_params()?;
    check_scopes(scopes)?;
    let body = json!({ "scope": scopes, "lifetime": format!("{}s", imp.lifetime_secs) }).to_string();
    let mut req = HttpRequest::post(imp.url(), JSON_CONTENT_TYPE, body);
    req.headers.push(("authorization".into(), format!("Bearer {sts_access_token}")));
    Ok(req)
}

/// A Google access token, from STS (federated) or from `generateAccessToken`.
#[derive(Clone, PartialEq)]
pub struct GcpAccessToken {
    pub access_token: String,
    /// Seconds since the epoch.
    pub expires_at: f64,
    /// The impersonated service account, if this token came from `generateAccessToken`.
    pub service_account: Option<String>,
}

impl fmt::Debug for GcpAccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GcpAccessToken")
            .field("expires_at", &self.expires_at)
            .field("service_account", &self.service_account)
            .finish_non_exhaustive()
    }
}

impl GcpAccessToken {
    pub fn expires_in(&self, now: f64) -> u64 {
        super::seconds_left(self.expires_at, now)
    }
}

/// Known Google refusals: STS answers OAuth errors (`error`, `error_description`), IAM
/// Credentials answers `{"error": {"code", "message", "status"}}`. None is the caller's fault
/// (see [`super::Blame::Upstream`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GcpErrorCode {
    /// STS `invalid_request`: a parameter STS refuses, e.g. an `audience` that is not a
    /// provider's full resource name.
    InvalidRequest,
    /// STS `invalid_grant`: the assertion was not accepted: `aud` not an allowed audience,
    /// unknown `kid` or bad signature, expired or issued in the future, lifetime >= 48 h, a
    /// mapped attribute too large.
    InvalidGrant,
    /// STS `unauthorized_client`: the provider's attribute condition rejected the assertion.
    UnauthorizedClient,
    /// STS `invalid_target`: the pool or provider does not exist or is disabled.
    InvalidTarget,
    /// STS `invalid_scope`.
    InvalidScope,
    /// IAM `PERMISSION_DENIED` (403): the federated principal lacks
    /// `iam.serviceAccounts.getAccessToken` (`roles/iam.workloadIdentityUser`) on the service
    /// account, or the service account does not exist.
    PermissionDenied,
    /// IAM `NOT_FOUND` (404): no such service account.
    NotFound,
    /// IAM `INVALID_ARGUMENT` (400): e.g. a lifetime over 3600 s without the organization policy.
    InvalidArgument,
    /// IAM `UNAUTHENTICATED` (401): IAM did not accept the federated token.
    Unauthenticated,
}

impl GcpErrorCode {
    fn from_oauth(error: &str) -> Option<GcpErrorCode> {
        Some(match error {
            "invalid_request" => GcpErrorCode::InvalidRequest,
            "invalid_grant" => GcpErrorCode::InvalidGrant,
            "unauthorized_client" => GcpErrorCode::UnauthorizedClient,
            "invalid_target" => GcpErrorCode::InvalidTarget,
            "invalid_scope" => GcpErrorCode::InvalidScope,
            _ => return None,
        })
    }

    fn from_status(status: &str) -> Option<GcpErrorCode> {
        Some(match status {
            "PERMISSION_DENIED" => GcpErrorCode::PermissionDenied,
            "NOT_FOUND" => GcpErrorCode::NotFound,
            "INVALID_ARGUMENT" => GcpErrorCode::InvalidArgument,
            "UNAUTHENTICATED" => GcpErrorCode::Unauthenticated,
            _ => return None,
        })
    }

    /// Google's own code (OAuth `error` or `google.rpc` status).
    pub fn as_str(self) -> &'static str {
        match self {
            GcpErrorCode::InvalidRequest => "invalid_request",
            GcpErrorCode::InvalidGrant => "invalid_grant",
            GcpErrorCode::UnauthorizedClient => "unauthorized_client",
            GcpErrorCode::InvalidTarget => "invalid_target",
            GcpErrorCode::InvalidScope => "invalid_scope",
            GcpErrorCode::PermissionDenied => "PERMISSION_DENIED",
            GcpErrorCode::NotFound => "NOT_FOUND",
            GcpErrorCode::InvalidArgument => "INVALID_ARGUMENT",
            GcpErrorCode::Unauthenticated => "UNAUTHENTICATED",
        }
    }

    pub fn reason(self) -> &'static str {
        match self {
            GcpErrorCode::InvalidRequest => reason::STS_GCP_INVALID_REQUEST,
            GcpErrorCode::InvalidGrant => reason::STS_GCP_INVALID_GRANT,
            GcpErrorCode::UnauthorizedClient => reason::STS_GCP_UNAUTHORIZED_CLIENT,
            GcpErrorCode::InvalidTarget => reason::STS_GCP_INVALID_TARGET,
            GcpErrorCode::InvalidScope => reason::STS_GCP_INVALID_SCOPE,
            GcpErrorCode::PermissionDenied => reason::STS_GCP_PERMISSION_DENIED,
            GcpErrorCode::NotFound => reason::STS_GCP_NOT_FOUND,
            GcpErrorCode::InvalidArgument => reason::STS_GCP_INVALID_ARGUMENT,
            GcpErrorCode::Unauthenticated => reason::STS_GCP_UNAUTHENTICATED,
        }
    }
}

impl fmt::Display for GcpErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GcpErrorCode::InvalidRequest => "Google STS refused the token exchange request",
            GcpErrorCode::InvalidGrant => "Google STS did not accept edge-sts's token",
            GcpErrorCode::UnauthorizedClient => "Google STS rejected edge-sts's token by the provider's attribute condition",
            GcpErrorCode::InvalidTarget => "Google STS does not know the workload identity provider",
            GcpErrorCode::InvalidScope => "Google STS refused the requested scope",
            GcpErrorCode::PermissionDenied => "Google IAM denied impersonating the service account",
            GcpErrorCode::NotFound => "Google IAM does not know the service account",
            GcpErrorCode::InvalidArgument => "Google IAM refused a request parameter",
            GcpErrorCode::Unauthenticated => "Google IAM did not accept the federated token",
        })
    }
}

fn by_status(status: u16, what: &'static str) -> StsError {
    match status {
        429 => StsError::Throttled { cloud: Cloud::Gcp, http_status: status },
        500..=599 => StsError::Unavailable { cloud: Cloud::Gcp, http_status: status },
        200..=299 => StsError::BadResponse { cloud: Cloud::Gcp, http_status: status, what },
        _ => StsError::Unknown { cloud: Cloud::Gcp, http_status: status, code: None },
    }
}

/// A Google error body of either shape. Descriptions and messages are never read.
fn error_from(status: u16, body: &Map<String, Value>) -> StsError {
    let (known, code) = match body.get("error") {
        Some(Value::String(e)) => match e.as_str() {
            "temporarily_unavailable" | "server_error" => return StsError::Unavailable { cloud: Cloud::Gcp, http_status: status },
            _ => (GcpErrorCode::from_oauth(e), e.as_str()),
        },
        Some(Value::Object(o)) => match o.get("status").and_then(Value::as_str).unwrap_or("") {
            "RESOURCE_EXHAUSTED" => return StsError::Throttled { cloud: Cloud::Gcp, http_status: status },
            "UNAVAILABLE" | "INTERNAL" | "DEADLINE_EXCEEDED" | "UNKNOWN" => {
                return StsError::Unavailable { cloud: Cloud::Gcp, http_status: status }
            }
            s => (GcpErrorCode::from_status(s), s),
        },
        _ => return by_status(status, "response is neither a token nor an error"),
    };
    match known {
        Some(code) => StsError::Gcp { code, http_status: status },
        None if status == 429 || status >= 500 => by_status(status, ""),
        None => StsError::Unknown { cloud: Cloud::Gcp, http_status: status, code: safe_code(code) },
    }
}

/// The body as a strict JSON object, or the status-based error.
fn object(status: u16, body: &[u8]) -> Result<Map<String, Value>, StsError> {
    crate::jose::json::parse_object(body, super::JSON_DEPTH).map_err(|_| by_status(status, "response is not a JSON object"))
}

/// Parses STS's answer. `200` with `access_token`, `expires_in`, `token_type: Bearer` and
/// `issued_token_type` (access token, if present) -> a federated [`GcpAccessToken`] expiring at
/// `now + expires_in`; otherwise the error (see [`GcpErrorCode`]), 429 `Throttled`,
/// `RESOURCE_EXHAUSTED` `Throttled`, 5xx `Unavailable`.
pub fn parse_sts_response(status: u16, body: &[u8], now: f64) -> Result<GcpAccessToken, StsError> {
    let m = object(status, body)?;
    if !(200..300).contains(&status) || m.contains_key("error") {
        return Err(error_from(status, &m));
    }
    let bad = |what| StsError::BadResponse { cloud: Cloud::Gcp, http_status: status, what };
    let access_token = str_field(&m, "access_token").ok_or(bad("no access_token"))?;
    let expires_in = expires_in_secs(m.get("expires_in")).ok_or(bad("no positive expires_in"))?;
    if !str_field(&m, "token_type").is_some_and(|t| t.eq_ignore_ascii_case("bearer")) {
        return Err(bad("token_type is not Bearer"));
    }
    if m.get("issued_token_type").is_some_and(|t| t.as_str() != Some(TT_ACCESS_TOKEN)) {
        return Err(bad("issued_token_type is not an access token"));
    }
    Ok(GcpAccessToken { access_token: access_token.to_owned(), expires_at: now + expires_in as f64, service_account: None })
}

/// Parses `generateAccessToken`'s answer: `200` with `accessToken` and `expireTime` (RFC 3339)
/// -> [`GcpAccessToken`] for `imp.service_account`; otherwise the error.
pub fn parse_generate_access_token_response(
    imp: &ServiceAccountImpersonation,
    status: u16,
    body: &[u8],
) -> Result<GcpAccessToken, StsError> {
    let m = object(status, body)?;
    if !(200..300).contains(&status) || m.contains_key("error") {
        return Err(error_from(status, &m));
    }
    let bad = |what| StsError::BadResponse { cloud: Cloud::Gcp, http_status: status, what };
    let access_token = str_field(&m, "accessToken").ok_or(bad("no accessToken"))?;
    let expire_time = str_field(&m, "expireTime").ok_or(bad("no expireTime"))?;
    let expires_at = super::parse_rfc3339(expire_time).ok_or(bad("expireTime is not an RFC 3339 time"))?;
    Ok(GcpAccessToken { access_token: access_token.to_owned(), expires_at, service_account: Some(imp.service_account.clone()) })
}

/// Config lint, Google's rules for the assertion: `RS256` or `ES256` with a `kid` (edge-sts
/// always sets one), a lifetime under 48 hours, and room for a subject under 128 bytes after
/// the issuer's `subject_prefix` (checked per request by [`check_subject`]).
pub fn check_assertion_config(alg: Alg, lifetime_secs: u64, subject_prefix: &str) -> Result<(), StsError> {
    Cloud::Gcp.check_alg(alg)?;
    if lifetime_secs >= MAX_ASSERTION_LIFETIME_SECS {
        return Err(invalid(
            "lifetime_secs",
            "Google refuses tokens whose exp - iat is 48 hours or more",
            "use a lifetime under 172800 seconds (minutes are plenty)",
        ));
    }
    if subject_prefix.len() >= MAX_SUBJECT_BYTES {
        return Err(invalid("subject_prefix", "the prefix leaves no room in Google's 127-byte subject", "shorten subject_prefix"));
    }
    Ok(())
}

/// Per-request check of Google's rules on the minted assertion's header and claims: `alg`
/// `RS256`/`ES256`, a non-empty `kid`, `exp - iat` under 48 h, `sub` at most 127 bytes.
/// A too-long `sub` comes from the caller's client id, so it is [`StsError::Caller`]
/// (`400 invalid_target`); the rest are configuration.
pub fn check_assertion(alg: Alg, kid: Option<&str>, iat: u64, exp: u64, sub: &str) -> Result<(), StsError> {
    Cloud::Gcp.check_alg(alg)?;
    if kid.is_none_or(str::is_empty) {
        return Err(invalid("kid", "Google requires a kid in the token header", "give the signing key a kid"));
    }
    if exp <= iat || exp - iat >= MAX_ASSERTION_LIFETIME_SECS {
        return Err(invalid(
            "lifetime_secs",
            "Google refuses tokens whose exp - iat is 48 hours or more",
            "use a lifetime under 172800 seconds",
        ));
    }
    check_subject(sub)
}

/// `google.subject` (the assertion's `sub` under the usual mapping) must be at most 127 bytes.
pub fn check_subject(sub: &str) -> Result<(), StsError> {
    if sub.is_empty() || sub.len() > MAX_SUBJECT_BYTES {
        return Err(StsError::Caller { cloud: Cloud::Gcp, problem: "this client's id is too long for Google's 127-byte subject" });
    }
    Ok(())
}

/// Where a Google client library reads edge-sts's assertion from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialSource<'a> {
    /// `GET url` with these headers; the assertion is the JSON field `access_token`.
    ///
    /// Google's libraries send a **GET** with **static** headers, so this needs an edge-sts
    /// route that answers GET (`POST /token` does not) and a caller credential that can sit in
    /// a file for the life of the process (a Keycloak access token cannot). It suits a local
    /// agent or sidecar that holds the caller's credentials and fronts edge-sts.
    Url { url: &'a str, headers: &'a [(&'a str, &'a str)] },
    /// A file with edge-sts's `/token` JSON, kept fresh by something else (e.g. a cron job or
    /// sidecar calling edge-sts); the assertion is the JSON field `access_token`.
    File { path: &'a str },
    /// A command Google's libraries run (split on whitespace, no quoting; only with
    /// `GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES=1`) that prints Google's executable-response
    /// JSON. `timeout_millis` must be within 5000..=120000.
    Executable { command: &'a str, timeout_millis: u32 },
}

/// An `external_account` credential configuration (an ADC file for
/// `GOOGLE_APPLICATION_CREDENTIALS`) for this target, for clients that do the Google exchange
/// themselves. The source must yield **edge-sts's assertion** for this provider in
/// `access_token`, i.e. a plain JWT target whose audience the provider accepts, not a
/// brokered Google token: the library sends it to STS as the subject token.
pub fn external_account_config(target: &GcpTarget, source: CredentialSource<'_>) -> Value {
    let format = json!({ "type": "json", "subject_token_field_name": "access_token" });
    let credential_source = match source {
        CredentialSource::Url { url, headers } => {
            let mut c = json!({ "url": url, "format": format });
            if !headers.is_empty() {
                let h: Map<String, Value> = headers.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect();
                c["headers"] = Value::Object(h);
            }
            c
        }
        CredentialSource::File { path } => json!({ "file": path, "format": format }),
        CredentialSource::Executable { command, timeout_millis } => {
            json!({ "executable": { "command": command, "timeout_millis": timeout_millis } })
        }
    };
    let mut cfg = json!({
        "type": "external_account",
        "audience": target.provider.sts_audience(),
        "subject_token_type": TT_JWT,
        "token_url": target.sts_url,
        "credential_source": credential_source,
    });
    if let Some(imp) = &target.impersonation {
        cfg["service_account_impersonation_url"] = json!(imp.url());
        cfg["service_account_impersonation"] = json!({ "token_lifetime_seconds": imp.lifetime_secs });
    }
    cfg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clouds::testutil::{fixture, Wire, WireHint};
    use crate::clouds::{Blame, CloudCredentials};

    const NOW: f64 = 1_573_303_000.0;
    const ASSERTION: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJrYy1wcm9kOm9yZGVycyJ9.c2ln";

    fn provider() -> WorkloadIdentityProvider {
        WorkloadIdentityProvider::new("123456789012", "edge-sts", "edge-sts-oidc").unwrap()
    }
    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn provider_names() {
        let p = provider();
        let name = "projects/123456789012/locations/global/workloadIdentityPools/edge-sts/providers/edge-sts-oidc";
        assert_eq!(p.resource_name(), name);
        assert_eq!(p.sts_audience(), format!("//iam.googleapis.com/{name}"));
        assert_eq!(p.default_assertion_audience(), format!("https://iam.googleapis.com/{name}"));
        assert!(p.accepts_by_default(&p.sts_audience()) && p.accepts_by_default(&p.default_assertion_audience()));
        assert!(!p.accepts_by_default("https://sts.example.com"));
        for form in [name.to_owned(), format!("//iam.googleapis.com/{name}"), format!("https://iam.googleapis.com/{name}")] {
            assert_eq!(WorkloadIdentityProvider::parse(&form), Ok(p.clone()), "{form}");
        }
        let bad: [(&str, &str); 8] = [
            ("projects/my-project/locations/global/workloadIdentityPools/edge-sts/providers/edge-sts-oidc", "project_number"),
            ("projects/123/locations/global/workloadIdentityPools/edge-sts", "workload_identity_provider"),
            ("projects/123/locations/global/workloadIdentityPools/gcp-pool/providers/edge-sts-oidc", "pool"),
            ("projects/123/locations/global/workloadIdentityPools/abc/providers/edge-sts-oidc", "pool"),
            ("projects/123/locations/global/workloadIdentityPools/Edge-Sts/providers/edge-sts-oidc", "pool"),
            ("projects/123/locations/global/workloadIdentityPools/edge-sts/providers/x?y=1", "provider"),
            ("projects/123/locations/europe/workloadIdentityPools/edge-sts/providers/edge-sts-oidc", "workload_identity_provider"),
            ("", "workload_identity_provider"),
        ];
        for (input, field) in bad {
            match WorkloadIdentityProvider::parse(input) {
                Err(StsError::Invalid { cloud: Cloud::Gcp, field: f, .. }) => assert_eq!(f, field, "{input}"),
                other => panic!("{input}: {other:?}"),
            }
        }
    }

    #[test]
    fn sts_request() {
        let t = GcpTarget::new(provider());
        let req = sts_token_request(&t, ASSERTION).unwrap();
        assert_eq!((req.method, req.url.as_str()), ("POST", "https://sts.googleapis.com/v1/token"));
        assert_eq!(req.headers, pairs(&[("content-type", "application/x-www-form-urlencoded")]));
        assert_eq!(
            req.form_params(),
            pairs(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"),
                (
                    "audience",
                    "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/edge-sts/providers/edge-sts-oidc"
                ),
                ("scope", "https://www.googleapis.com/auth/cloud-platform"),
                ("requested_token_type", "urn:ietf:params:oauth:token-type:access_token"),
                ("subject_token", ASSERTION),
                ("subject_token_type", "urn:ietf:params:oauth:token-type:jwt"),
            ])
        );

        // Several scopes, space-separated; with impersonation the STS step asks cloud-platform.
        let scopes =
            vec!["https://www.googleapis.com/auth/devstorage.read_only".to_owned(), "https://www.googleapis.com/auth/bigquery".to_owned()];
        let t2 = GcpTarget { scopes: scopes.clone(), ..GcpTarget::new(provider()) };
        let p = sts_token_request(&t2, ASSERTION).unwrap().form_params();
        assert_eq!(p[2].1, "https://www.googleapis.com/auth/devstorage.read_only https://www.googleapis.com/auth/bigquery");
        let t3 = GcpTarget { impersonation: Some(ServiceAccountImpersonation::new("orders@my-project.iam.gserviceaccount.com")), ..t2 };
        assert_eq!(sts_token_request(&t3, ASSERTION).unwrap().form_params()[2].1, CLOUD_PLATFORM_SCOPE);

        for bad in [vec![], vec!["a b".to_owned()], vec!["".to_owned()]] {
            let t = GcpTarget { scopes: bad.clone(), ..GcpTarget::new(provider()) };
            assert!(matches!(sts_token_request(&t, ASSERTION), Err(StsError::Invalid { field: "scopes", .. })), "{bad:?}");
        }
    }

    #[test]
    fn impersonation_request() {
        let imp = ServiceAccountImpersonation::new("orders@my-project.iam.gserviceaccount.com");
        let scopes = vec![CLOUD_PLATFORM_SCOPE.to_owned()];
        let req = generate_access_token_request(&imp, &scopes, "ya29.federated").unwrap();
        assert_eq!(req.method, "POST");
        assert_eq!(req.url, "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/orders@my-project.iam.gserviceaccount.com:generateAccessToken");
        assert_eq!(req.headers, pairs(&[("content-type", "application/json"), ("authorization", "Bearer ya29.federated")]));
        let body: Value = serde_json::from_str(&req.body).unwrap();
        assert_eq!(body, json!({"scope": ["https://www.googleapis.com/auth/cloud-platform"], "lifetime": "3600s"}));
        assert!(!format!("{req:?}").contains("ya29"));

        let base = |u: &str| ServiceAccountImpersonation { iam_credentials_url: u.into(), ..imp.clone() };
        assert_eq!(
            base("http://127.0.0.1:9000/").url(),
            "http://127.0.0.1:9000/v1/projects/-/serviceAccounts/orders@my-project.iam.gserviceaccount.com:generateAccessToken"
        );

        let table: [(&str, u32, Option<&str>); 9] = [
            ("orders@my-project.iam.gserviceaccount.com", 3600, None),
            ("112233445566778899001", 600, None),
            ("orders@my-project.iam.gserviceaccount.com", 43_200, None),
            ("orders@my-project.iam.gserviceaccount.com", 43_201, Some("lifetime_secs")),
            ("orders@my-project.iam.gserviceaccount.com", 0, Some("lifetime_secs")),
            ("orders", 3600, Some("service_account")),
            ("a/b@x.iam.gserviceaccount.com", 3600, Some("service_account")),
            ("a@b@c", 3600, Some("service_account")),
            ("a@x.com:getIamPolicy?", 3600, Some("service_account")),
        ];
        for (sa, life, want) in table {
            let imp = ServiceAccountImpersonation { service_account: sa.into(), lifetime_secs: life, ..imp.clone() };
            match (generate_access_token_request(&imp, &scopes, "t"), want) {
                (Ok(_), None) => {}
                (Err(StsError::Invalid { field, .. }), Some(w)) => assert_eq!(field, w, "{sa} {life}"),
                (got, _) => panic!("{sa} {life}: {got:?}"),
            }
        }
    }

    #[test]
    fn endpoint_lint() {
        let mut t = GcpTarget::new(provider());
        assert_eq!(t.validate(false), Ok(()));
        t.sts_url = "http://127.0.0.1:9100/v1/token".into();
        assert!(matches!(t.validate(false), Err(StsError::Invalid { field: "sts_url", .. })));
        assert_eq!(t.validate(true), Ok(()));
        t.impersonation = Some(ServiceAccountImpersonation {
            iam_credentials_url: "http://iam.example".into(),
            ..ServiceAccountImpersonation::new("a@b.c")
        });
        assert!(matches!(t.validate(true), Err(StsError::Invalid { field: "iam_credentials_url", .. })));
    }

    #[test]
    fn parse_sts_success() {
        let t = parse_sts_response(200, &fixture("gcp/sts_success.json"), NOW).unwrap();
        assert!(t.access_token.starts_with("ya29.d.EXAMPLE"));
        assert_eq!(t.expires_at, NOW + 3599.0);
        assert_eq!(t.expires_in(NOW + 0.5), 3598);
        assert_eq!(t.service_account, None);
        assert!(!format!("{t:?}").contains("ya29"));
        let r = CloudCredentials::Gcp(t.clone()).to_token_response(NOW);
        assert_eq!(
            Value::Object(r),
            json!({"access_token": t.access_token, "issued_token_type": TT_ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 3599})
        );
    }

    #[test]
    fn parse_impersonation_success() {
        let imp = ServiceAccountImpersonation::new("orders@my-project.iam.gserviceaccount.com");
        let t = parse_generate_access_token_response(&imp, 200, &fixture("gcp/iam_success.json")).unwrap();
        assert!(t.access_token.starts_with("ya29.c.EXAMPLE"));
        assert_eq!(t.expires_at, 1_573_306_481.0);
        assert_eq!(t.expires_in(NOW), 3481);
        assert_eq!(t.service_account.as_deref(), Some("orders@my-project.iam.gserviceaccount.com"));
    }

    #[test]
    fn parse_bad_successes() {
        let bad = |what| Err(StsError::BadResponse { cloud: Cloud::Gcp, http_status: 200, what });
        let table: [(&str, Result<GcpAccessToken, StsError>); 7] = [
            (
                r#"{"issued_token_type":"urn:ietf:params:oauth:token-type:access_token","token_type":"Bearer","expires_in":3599}"#,
                bad("no access_token"),
            ),
            (r#"{"access_token":"ya29.x","token_type":"Bearer"}"#, bad("no positive expires_in")),
            (r#"{"access_token":"ya29.x","token_type":"Bearer","expires_in":0}"#, bad("no positive expires_in")),
            (r#"{"access_token":"ya29.x","token_type":"N_A","expires_in":3599}"#, bad("token_type is not Bearer")),
            (
                r#"{"access_token":"ya29.x","token_type":"Bearer","expires_in":3599,"issued_token_type":"urn:ietf:params:oauth:token-type:jwt"}"#,
                bad("issued_token_type is not an access token"),
            ),
            (
                r#"{"access_token":"ya29.x","access_token":"y","token_type":"Bearer","expires_in":3599}"#,
                bad("response is not a JSON object"),
            ),
            ("<html>", bad("response is not a JSON object")),
        ];
        for (body, want) in table {
            assert_eq!(parse_sts_response(200, body.as_bytes(), NOW), want, "{body}");
        }
        let imp = ServiceAccountImpersonation::new("a@b.c");
        assert_eq!(
            parse_generate_access_token_response(&imp, 200, br#"{"accessToken":"ya29.x","expireTime":"tomorrow"}"#),
            bad("expireTime is not an RFC 3339 time")
        );
        assert_eq!(parse_generate_access_token_response(&imp, 200, br#"{"accessToken":"ya29.x"}"#), bad("no expireTime"));
    }

    #[test]
    fn parse_errors() {
        use GcpErrorCode::*;
        let gcp = |code, http_status| StsError::Gcp { code, http_status };
        let imp = ServiceAccountImpersonation::new("orders@my-project.iam.gserviceaccount.com");
        let upstream = WireHint { status: 502, error: "server_error", retry_after: None };
        let throttled = WireHint { status: 503, error: "temporarily_unavailable", retry_after: Some(5) };
        // (fixture, status, via impersonation?, expected, reason)
        let table: Vec<(&str, u16, bool, StsError, &str)> = vec![
            ("sts_invalid_request", 400, false, gcp(InvalidRequest, 400), "sts.gcp.invalid_request"),
            ("sts_invalid_grant_audience", 400, false, gcp(InvalidGrant, 400), "sts.gcp.invalid_grant"),
            ("sts_invalid_grant_stale", 400, false, gcp(InvalidGrant, 400), "sts.gcp.invalid_grant"),
            ("sts_unauthorized_client", 400, false, gcp(UnauthorizedClient, 400), "sts.gcp.unauthorized_client"),
            ("sts_invalid_target", 400, false, gcp(InvalidTarget, 400), "sts.gcp.invalid_target"),
            ("sts_invalid_scope", 400, false, gcp(InvalidScope, 400), "sts.gcp.invalid_scope"),
            (
                "sts_unknown",
                400,
                false,
                StsError::Unknown { cloud: Cloud::Gcp, http_status: 400, code: Some("invalid_client".into()) },
                "sts.gcp.unknown",
            ),
            ("sts_server_error", 500, false, StsError::Unavailable { cloud: Cloud::Gcp, http_status: 500 }, "sts.gcp.unavailable"),
            ("quota_exceeded", 429, false, StsError::Throttled { cloud: Cloud::Gcp, http_status: 429 }, "sts.gcp.throttled"),
            ("iam_permission_denied", 403, true, gcp(PermissionDenied, 403), "sts.gcp.permission_denied"),
            ("iam_not_found", 404, true, gcp(NotFound, 404), "sts.gcp.not_found"),
            ("iam_invalid_argument", 400, true, gcp(InvalidArgument, 400), "sts.gcp.invalid_argument"),
            ("iam_unauthenticated", 401, true, gcp(Unauthenticated, 401), "sts.gcp.unauthenticated"),
            ("quota_exceeded", 429, true, StsError::Throttled { cloud: Cloud::Gcp, http_status: 429 }, "sts.gcp.throttled"),
            ("iam_unavailable", 503, true, StsError::Unavailable { cloud: Cloud::Gcp, http_status: 503 }, "sts.gcp.unavailable"),
            ("iam_internal", 500, true, StsError::Unavailable { cloud: Cloud::Gcp, http_status: 500 }, "sts.gcp.unavailable"),
            (
                "iam_failed_precondition",
                400,
                true,
                StsError::Unknown { cloud: Cloud::Gcp, http_status: 400, code: Some("FAILED_PRECONDITION".into()) },
                "sts.gcp.unknown",
            ),
        ];
        for (name, status, via_iam, want, reason) in table {
            let body = fixture(&format!("gcp/{name}.json"));
            let got = if via_iam {
                parse_generate_access_token_response(&imp, status, &body).unwrap_err()
            } else {
                parse_sts_response(status, &body, NOW).unwrap_err()
            };
            assert_eq!(got, want, "{name}");
            assert_eq!(got.reason(), reason, "{name}");
            let hint = if matches!(got, StsError::Throttled { .. }) { throttled } else { upstream };
            assert_eq!(got.wire_hint(), hint, "{name}");
            assert_ne!(got.blame(), Blame::Caller, "{name}");
            let shown = format!("{got} {:?} {got:?}", got.cloud_code());
            for echoed in ["iam.googleapis.com", "kc-prod", "orders@", "1573303000", "Quota"] {
                assert!(!shown.contains(echoed), "{name}: {shown}");
            }
        }
        // Not JSON at all: the status decides.
        let html = fixture("aws/html_502.xml");
        assert_eq!(parse_sts_response(502, &html, NOW), Err(StsError::Unavailable { cloud: Cloud::Gcp, http_status: 502 }));
        assert_eq!(parse_sts_response(404, &html, NOW), Err(StsError::Unknown { cloud: Cloud::Gcp, http_status: 404, code: None }));
        assert_eq!(parse_generate_access_token_response(&imp, 429, b""), Err(StsError::Throttled { cloud: Cloud::Gcp, http_status: 429 }));
        assert_eq!(
            parse_sts_response(400, br#"{"foo":1}"#, NOW),
            Err(StsError::Unknown { cloud: Cloud::Gcp, http_status: 400, code: None })
        );
        // An error body with a 200 is still an error.
        assert_eq!(parse_sts_response(200, &fixture("gcp/sts_invalid_target.json"), NOW), Err(gcp(InvalidTarget, 200)));
    }

    #[test]
    fn issuer_rules() {
        assert_eq!(check_assertion_config(Alg::RS256, 300, "kc-prod:"), Ok(()));
        assert_eq!(check_assertion_config(Alg::ES256, 172_799, ""), Ok(()));
        let cfg_table: [(Alg, u64, &str, &str); 5] = [
            (Alg::EdDSA, 300, "", "signing_alg"),
            (Alg::ES384, 300, "", "signing_alg"),
            (Alg::PS256, 300, "", "signing_alg"),
            (Alg::RS256, 172_800, "", "lifetime_secs"),
            (Alg::RS256, 300, &"p".repeat(127), "subject_prefix"),
        ];
        for (alg, life, prefix, field) in cfg_table {
            match check_assertion_config(alg, life, prefix) {
                Err(StsError::Invalid { field: f, .. }) => assert_eq!(f, field, "{alg} {life}"),
                other => panic!("{alg} {life}: {other:?}"),
            }
        }

        let iat = 1_800_000_000;
        let ok_sub = "s".repeat(127);
        let long_sub = "s".repeat(128);
        // (alg, kid, exp, sub, expected failing field or "caller")
        type Case<'a> = (Alg, Option<&'a str>, u64, &'a str, Option<&'a str>);
        let table: [Case; 9] = [
            (Alg::RS256, Some("k1"), iat + 300, "kc-prod:orders", None),
            (Alg::ES256, Some("k1"), iat + 172_799, &ok_sub, None),
            (Alg::RS256, None, iat + 300, "x", Some("kid")),
            (Alg::RS256, Some(""), iat + 300, "x", Some("kid")),
            (Alg::RS256, Some("k1"), iat + 172_800, "x", Some("lifetime_secs")),
            (Alg::RS256, Some("k1"), iat, "x", Some("lifetime_secs")),
            (Alg::EdDSA, Some("k1"), iat + 300, "x", Some("signing_alg")),
            (Alg::RS256, Some("k1"), iat + 300, &long_sub, Some("caller")),
            (Alg::RS256, Some("k1"), iat + 300, "", Some("caller")),
        ];
        for (alg, kid, exp, sub, want) in table {
            let got = check_assertion(alg, kid, iat, exp, sub);
            match (got, want) {
                (Ok(()), None) => {}
                (Err(e @ StsError::Caller { .. }), Some("caller")) => {
                    assert_eq!(e.wire_hint(), WireHint { status: 400, error: "invalid_target", retry_after: None });
                    assert_eq!(e.reason(), "sts.gcp.caller");
                }
                (Err(StsError::Invalid { field, .. }), Some(w)) => assert_eq!(field, w),
                (got, _) => panic!("{alg} {kid:?} {exp} {}: {got:?}", sub.len()),
            }
        }
        // Bytes, not characters: 64 two-byte characters are 128 bytes.
        assert!(check_subject(&"é".repeat(63)).is_ok());
        assert!(check_subject(&"é".repeat(64)).is_err());
    }

    #[test]
    fn external_account_file() {
        let target = GcpTarget {
            impersonation: Some(ServiceAccountImpersonation::new("orders@my-project.iam.gserviceaccount.com")),
            ..GcpTarget::new(provider())
        };
        let cfg = external_account_config(
            &target,
            CredentialSource::Url { url: "http://127.0.0.1:9200/google/subject-token", headers: &[("Metadata-Flavor", "edge-sts")] },
        );
        let want = json!({
            "type": "external_account",
            "audience": "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/edge-sts/providers/edge-sts-oidc",
            "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
            "token_url": "https://sts.googleapis.com/v1/token",
            "service_account_impersonation_url": "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/orders@my-project.iam.gserviceaccount.com:generateAccessToken",
            "service_account_impersonation": {"token_lifetime_seconds": 3600},
            "credential_source": {
                "url": "http://127.0.0.1:9200/google/subject-token",
                "headers": {"Metadata-Flavor": "edge-sts"},
                "format": {"type": "json", "subject_token_field_name": "access_token"}
            }
        });
        assert_eq!(cfg, want);

        let plain = external_account_config(&GcpTarget::new(provider()), CredentialSource::File { path: "/run/edge-sts/google.json" });
        assert_eq!(
            plain,
            json!({
                "type": "external_account",
                "audience": "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/edge-sts/providers/edge-sts-oidc",
                "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
                "token_url": "https://sts.googleapis.com/v1/token",
                "credential_source": {
                    "file": "/run/edge-sts/google.json",
                    "format": {"type": "json", "subject_token_field_name": "access_token"}
                }
            })
        );
        let no_headers =
            external_account_config(&GcpTarget::new(provider()), CredentialSource::Url { url: "https://agent.local/t", headers: &[] });
        assert!(no_headers["credential_source"].get("headers").is_none());
        // Google's executable source: `command` and `timeout_millis` (5000..=120000), no format.
        let exe = external_account_config(
            &GcpTarget::new(provider()),
            CredentialSource::Executable {
                command: "edge-sts credentials gcp --target g --edge-sts https://sts.example",
                timeout_millis: 30_000,
            },
        );
        assert_eq!(
            exe["credential_source"],
            json!({"executable": {"command": "edge-sts credentials gcp --target g --edge-sts https://sts.example", "timeout_millis": 30000}})
        );
    }
}
