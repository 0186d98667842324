//! Configuration: one JSON schema (raw, serde) validated once into an immutable [`Config`].
//! Every error names the field by its JSON path (`targets.orders.scopes`, `trusted_issuers[0]`)
//! and how to fix it, type errors included (serde's own errors only with `config-paths`). The CLI lints the same file the Worker loads, and
//! both resolve the secrets it names through [`resolve_secrets`].
//!
//! One submodule per section, each holding its raw (serde) shape, its validation and its
//! defaults as named constants: [`limits`] (`limits`, `jwks_cache`), [`issuers`]
//! (`trusted_issuers`), [`targets`] (`targets`, cloud blocks included), [`clients`], [`keys`]
//! (`signing_keys`) and [`secrets`] (resolving what the configuration names).
use crate::issuer::key_store::CachePolicy;
use crate::policy::trust::TrustPolicy;
use crate::wire::url::{is_loopback_http, url_allowed};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;

pub mod clients;
// The cloud blocks of a target; without the `clouds` feature, their refusal.
#[cfg(feature = "clouds")]
mod clouds;
#[cfg(not(feature = "clouds"))]
#[path = "clouds_off.rs"]
mod clouds;
pub mod issuers;
pub mod keys;
pub mod limits;
pub mod secrets;
pub mod source;
pub mod targets;
#[cfg(test)]
mod tests;

pub use clouds::{check_without_clouds, cloud_trust_warnings};
pub use issuers::{TrustedIssuer, DEFAULT_EXPECTED_TYP, DEFAULT_LEEWAY_SECS, DEFAULT_MAX_TOKEN_LIFETIME_SECS, MAX_LEEWAY_SECS};
pub use keys::{build_key_ring, is_secret_name, KeyRef};
pub use limits::{Limits, DEFAULT_MAX_BODY_BYTES};
pub use secrets::{add_dev_keys, check_explain_secret, resolve_secrets, EXPLAIN_SECRET_MIN_LEN};
pub use targets::{DEFAULT_LIFETIME_SECS, DEFAULT_SIGNING_ALG, MAX_LIFETIME_SECS, WITHOUT_CLOUDS_FIX, WITHOUT_CLOUDS_PROBLEM};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// JSON path of the offending field, e.g. `targets.orders.scopes`.
    pub field: String,
    pub problem: String,
    pub fix: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} (fix: {})", self.field, self.problem, self.fix)
    }
}

fn cerr(field: impl Into<String>, problem: impl Into<String>, fix: impl Into<String>) -> ConfigError {
    ConfigError { field: field.into(), problem: problem.into(), fix: fix.into() }
}

/// The `field` of an error that belongs to no field: the text is not JSON, or not an object.
pub const DOCUMENT: &str = "(document)";
const SCHEMA_FIX: &str = "compare with the configuration reference, docs/configuration.md (unknown fields are refused to catch typos)";

// ---- raw schema -------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    mode: Option<String>,
    issuer: String,
    #[serde(default)]
    log_requests: Option<String>,
    /// Name of a Worker secret; when set, `POST /explain` answers policy dry-runs to callers
    /// presenting that secret in `x-edge-sts-explain-key`. Absent: the endpoint does not exist.
    #[serde(default)]
    explain_secret: Option<String>,
    #[serde(default)]
    limits: limits::RawLimits,
    #[serde(default)]
    jwks_cache: limits::RawCache,
    trusted_issuers: Vec<issuers::RawIssuer>,
    #[serde(default)]
    signing_keys: Vec<keys::RawKeyRef>,
    #[serde(default)]
    targets: BTreeMap<String, targets::RawTarget>,
    #[serde(default)]
    clients: Vec<clients::RawClient>,
}

// ---- validated --------------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct Config {
    pub dev: bool,
    /// Log a line for every request (`true`, default) or only for failed ones.
    pub log_successes: bool,
    /// Secret name guarding `POST /explain`; `None` (default) = no such endpoint.
    pub explain_secret: Option<String>,
    pub issuer: String,
    pub limits: Limits,
    pub cache: CachePolicy,
    pub trusted: Vec<TrustedIssuer>,
    pub policy: TrustPolicy,
    pub key_refs: Vec<KeyRef>,
}

impl Config {
    pub fn token_endpoint(&self) -> String {
        crate::wire::routes::url(&self.issuer, crate::wire::routes::RouteId::Token)
    }
    pub fn jwks_uri(&self) -> String {
        crate::wire::routes::url(&self.issuer, crate::wire::routes::RouteId::Jwks)
    }
    /// The issuer's path (`/tenant-a`, or `""`): every route is served under it.
    pub fn base_path(&self) -> &str {
        crate::wire::routes::base_path(&self.issuer)
    }
    pub fn trusted_issuer(&self, iss: &str) -> Option<&TrustedIssuer> {
        self.trusted.iter().find(|t| t.rules.issuer == iss)
    }
}

fn check_url(field: &str, url: &str, dev: bool) -> Result<(), ConfigError> {
    if url_allowed(url, dev) {
        return Ok(());
    }
    if is_loopback_http(url) {
        return Err(cerr(
            field,
            "http on loopback is allowed only in dev mode",
            "use an https URL, or set \"mode\": \"dev\" for local development only",
        ));
    }
    Err(cerr(field, format!("`{url}` is not an https URL"), "use https://..."))
}

/// Parses and validates a configuration document.
pub fn load(text: &str) -> Result<Config, ConfigError> {
    let raw = parse(text)?;
    let dev = match raw.mode.as_deref() {
        None | Some("production") => false,
        Some("dev") => true,
        Some(other) => return Err(cerr("mode", format!("unknown mode `{other}`"), "use \"production\" (default) or \"dev\"")),
    };
    let log_successes = match raw.log_requests.as_deref() {
        None | Some("all") => true,
        Some("errors") => false,
        Some(other) => return Err(cerr("log_requests", format!("unknown value `{other}`"), "use \"all\" (default) or \"errors\"")),
    };
    let issuer = raw.issuer.trim_end_matches('/').to_owned();
    check_url("issuer", &issuer, dev)?;
    if let Some(problem) = crate::wire::url::issuer_path_problem(&issuer) {
        return Err(cerr("issuer", problem, "give a plain URL, e.g. https://sts.example.com or https://sts.example.com/tenant-a (percent-encode other characters); every route is served under its path"));
    }
    let (limits, cache) = limits::load(raw.limits, raw.jwks_cache)?;
    let trusted = issuers::load(raw.trusted_issuers, dev)?;
    let targets = targets::load(raw.targets, &issuer, dev)?;
    let clients = clients::load(raw.clients, &targets, &trusted)?;
    clouds::check_aws_session_names(&targets, &clients, trusted.len())?;
    clouds::check_cloud_trust(&targets, &clients)?;
    let key_refs = keys::load(raw.signing_keys, dev)?;
    if let Some(name) = &raw.explain_secret {
        keys::check_secret_name("explain_secret", name)?;
    }
    let policy = TrustPolicy::new(targets, clients);
    Ok(Config { dev, log_successes, explain_secret: raw.explain_secret, issuer, limits, cache, trusted, policy, key_refs })
}

/// The document into its raw shape. A type error, a missing field or an unknown field names its
/// JSON path (`serde_path_to_error`); text that is not a JSON object is a `(document)` error.
#[cfg(feature = "config-paths")]
fn parse(text: &str) -> Result<RawConfig, ConfigError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let raw: Result<RawConfig, _> = serde_path_to_error::deserialize(&mut de);
    let raw = raw.map_err(|e| {
        let path = e.path().to_string();
        let e = e.into_inner();
        // serde_json appends the position; the path says more in a one-line JSON variable.
        let text = e.to_string();
        let problem = text.strip_suffix(&format!(" at line {} column {}", e.line(), e.column())).unwrap_or(&text).to_owned();
        let missing = problem.strip_prefix("missing field `").and_then(|m| m.strip_suffix('`')).map(str::to_owned);
        match (path.as_str(), missing) {
            _ if e.is_syntax() || e.is_eof() || path.starts_with('[') => cerr(DOCUMENT, text, SCHEMA_FIX),
            (".", Some(name)) => cerr(name, problem, SCHEMA_FIX),
            (".", None) => cerr(DOCUMENT, text, SCHEMA_FIX),
            (_, Some(name)) => cerr(format!("{path}.{name}"), problem, SCHEMA_FIX),
            (_, None) => cerr(path, problem, SCHEMA_FIX),
        }
    })?;
    de.end().map_err(|e| cerr(DOCUMENT, e.to_string(), SCHEMA_FIX))?;
    Ok(raw)
}

/// The document into its raw shape, without `config-paths` (the Worker's build): serde's own
/// errors keep serde's message and its line and column, as a `(document)` error.
#[cfg(not(feature = "config-paths"))]
fn parse(text: &str) -> Result<RawConfig, ConfigError> {
    parse_pathless(text)
}

#[cfg_attr(feature = "config-paths", allow(dead_code))]
fn parse_pathless(text: &str) -> Result<RawConfig, ConfigError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let raw = RawConfig::deserialize(&mut de).map_err(pathless_error)?;
    de.end().map_err(pathless_error)?;
    Ok(raw)
}

/// Fix of a serde error without its path: the CLI, which has the path, is one command away.
const PATHLESS_FIX: &str = "`edge-sts check FILE` names the field's JSON path; compare with the configuration reference, docs/configuration.md (unknown fields are refused to catch typos)";

/// A serde error as a `(document)` error: serde's text as it is (it names the field for a
/// missing or unknown field, and the line and column always), and [`PATHLESS_FIX`].
#[cfg_attr(feature = "config-paths", allow(dead_code))]
fn pathless_error(e: serde_json::Error) -> ConfigError {
    let fix = if e.is_syntax() || e.is_eof() { SCHEMA_FIX } else { PATHLESS_FIX };
    cerr(DOCUMENT, e.to_string(), fix)
}

/// The JSON Schema of the configuration document, from the types above (the docs test walks it).
#[cfg(test)]
pub(crate) fn raw_schema() -> schemars::Schema {
    schemars::schema_for!(RawConfig)
}
