//! Configuration: one JSON schema (raw, serde) validated once into an immutable [`Config`].
//! Every error names the field and how to fix it. The CLI lints the same file the Worker loads.
use crate::alg::Alg;
use crate::claims::{AppTokenRule, Caller, CallerRules, ClaimRules, ClaimsError, Marker};
use crate::discovery::{is_loopback_http, url_allowed};
use crate::jwk::JwksLimits;
use crate::jwks_cache::{CachePolicy, KeySource};
use crate::policy::{ClientPattern, ClientRule, Target, TrustPolicy, PROTECTED_CLAIMS};
use crate::signing::{KeyRing, KeyStatus, SigningKey};
use crate::token::TokenLimits;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;

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

// ---- raw schema -------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
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
    limits: RawLimits,
    #[serde(default)]
    jwks_cache: RawCache,
    trusted_issuers: Vec<RawIssuer>,
    #[serde(default)]
    signing_keys: Vec<RawKeyRef>,
    #[serde(default)]
    targets: BTreeMap<String, RawTarget>,
    #[serde(default)]
    clients: Vec<RawClient>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    max_token_bytes: Option<usize>,
    max_body_bytes: Option<usize>,
    max_json_depth: Option<usize>,
    max_jwks_bytes: Option<usize>,
    max_jwks_keys: Option<usize>,
    token_cache_entries: Option<usize>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCache {
    min_max_age_secs: Option<u64>,
    max_max_age_secs: Option<u64>,
    unknown_kid_cooldown_secs: Option<u64>,
    stale_if_error_secs: Option<u64>,
    fetch_timeout_ms: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIssuer {
    issuer: String,
    #[serde(default)]
    jwks_uri: Option<String>,
    audiences: Vec<String>,
    #[serde(default)]
    leeway_secs: Option<u64>,
    #[serde(default)]
    max_token_lifetime_secs: Option<u64>,
    /// `null` disables the Keycloak `typ` check (for non-Keycloak issuers).
    #[serde(default = "default_typ")]
    expected_typ: Option<String>,
    #[serde(default)]
    required_claims: Vec<String>,
    #[serde(default)]
    subject_prefix: Option<String>,
    #[serde(default)]
    algorithms: Option<Vec<String>>,
    /// How an application token is recognised (absent: Keycloak's `client_id`/`clientId`).
    #[serde(default)]
    app_token: Option<RawAppToken>,
    /// Accept tokens without `sub` (RFC 9068 requires it; default false).
    #[serde(default)]
    allow_missing_sub: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAppToken {
    client_claim: String,
    marker: RawMarker,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMarker {
    claim: String,
    #[serde(default)]
    equals: Option<String>,
    #[serde(default)]
    equals_claim: Option<String>,
}

fn default_typ() -> Option<String> {
    Some("Bearer".into())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKeyRef {
    /// Name of the Worker secret that holds one private JWK.
    #[serde(default)]
    secret: Option<String>,
    /// A public JWK (retired keys need only this).
    #[serde(default)]
    public_jwk: Option<Map<String, Value>>,
    status: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    audience: String,
    scopes: Vec<String>,
    #[serde(default)]
    default_scopes: Vec<String>,
    #[serde(default)]
    lifetime_secs: Option<u64>,
    #[serde(default)]
    danger_allow_beyond_subject_expiry: bool,
    #[serde(default)]
    copy_claims: BTreeMap<String, String>,
    #[serde(default)]
    static_claims: Map<String, Value>,
    #[serde(default)]
    signing_alg: Option<String>,
    /// Broker an AWS STS `AssumeRoleWithWebIdentity` exchange with the minted token.
    #[serde(default)]
    aws: Option<RawAws>,
    /// Broker a Google STS token exchange (+ optional service-account impersonation).
    #[serde(default)]
    gcp: Option<RawGcp>,
    /// Broker an Entra ID client-credentials grant with the minted token as client assertion.
    #[serde(default)]
    azure: Option<RawAzure>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGcp {
    /// `projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>`
    workload_identity_provider: String,
    #[serde(default)]
    service_account: Option<String>,
    #[serde(default)]
    token_lifetime_secs: Option<u32>,
    #[serde(default)]
    sts_url: Option<String>,
    #[serde(default)]
    iam_credentials_url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAzure {
    tenant: String,
    client_id: String,
    /// e.g. `https://management.azure.com`; the scope asked for is `<resource>/.default`.
    resource: String,
    #[serde(default)]
    authority_host: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAws {
    role_arn: String,
    #[serde(default)]
    region: Option<String>,
    /// Explicit STS endpoint (e.g. a local emulator in dev mode); overrides `region`.
    #[serde(default)]
    endpoint: Option<String>,
    #[serde(default)]
    duration_secs: Option<u32>,
    /// Inline session policy (an IAM policy document object).
    #[serde(default)]
    session_policy: Option<Value>,
    #[serde(default)]
    policy_arns: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClient {
    client: String,
    #[serde(default)]
    issuer: Option<String>,
    targets: Vec<String>,
    #[serde(default)]
    default_target: Option<String>,
}

// ---- validated --------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub token: TokenLimits,
    pub max_body_bytes: usize,
    /// Entries in each token cache (verified, minted); 0 disables both.
    pub token_cache_entries: usize,
}

#[derive(Debug, Clone)]
pub struct TrustedIssuer {
    pub rules: ClaimRules,
    /// Which tokens are application tokens, who their client is, whether `sub` may be missing.
    pub caller: CallerRules,
    pub source: KeySource,
    pub subject_prefix: String,
    pub algorithms: Option<Vec<Alg>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct KeyRef {
    pub secret: Option<String>,
    pub public_jwk: Option<Map<String, Value>>,
    pub status: KeyStatus,
}

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

/// A cloud a target brokers an exchange with.
#[derive(Debug, Clone)]
pub enum CloudTarget {
    Aws(crate::sts::aws::AwsRole),
    Gcp(crate::sts::gcp::GcpTarget),
    Azure(crate::sts::azure::AzureApp),
}

impl CloudTarget {
    pub fn cloud(&self) -> crate::sts::Cloud {
        match self {
            CloudTarget::Aws(_) => crate::sts::Cloud::Aws,
            CloudTarget::Gcp(_) => crate::sts::Cloud::Gcp,
            CloudTarget::Azure(_) => crate::sts::Cloud::Azure,
        }
    }
}

pub const DEFAULT_LIFETIME_SECS: u64 = 300;
pub const MAX_LIFETIME_SECS: u64 = 43_200;

impl TrustedIssuer {
    /// Every claim rule for this issuer's tokens (`claims::validate_token`).
    pub fn validate(&self, claims: &Map<String, Value>, now: f64) -> Result<Caller, ClaimsError> {
        crate::claims::validate_token(claims, &self.rules, &self.caller, now)
    }
}

impl Config {
    pub fn token_endpoint(&self) -> String {
        format!("{}/token", self.issuer)
    }
    pub fn jwks_uri(&self) -> String {
        format!("{}/.well-known/jwks.json", self.issuer)
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

/// `trusted_issuers[i].app_token`: non-empty claim names, and exactly one of `equals` /
/// `equals_claim`.
fn app_token_rule(a: RawAppToken, field: &str) -> Result<AppTokenRule, ConfigError> {
    let example = "e.g. {\"client_claim\": \"azp\", \"marker\": {\"claim\": \"idtyp\", \"equals\": \"app\"}} (Entra v2); leave app_token out for Keycloak";
    if a.client_claim.is_empty() {
        return Err(cerr(
            format!("{field}.client_claim"),
            "empty claim name",
            format!("name the claim that holds the client id, {example}"),
        ));
    }
    if a.marker.claim.is_empty() {
        return Err(cerr(
            format!("{field}.marker.claim"),
            "empty claim name",
            format!("name the claim that marks an application token, {example}"),
        ));
    }
    let marker = match (a.marker.equals, a.marker.equals_claim) {
        (Some(value), None) if !value.is_empty() => Marker::Equals { claim: a.marker.claim, value },
        (None, Some(other)) if !other.is_empty() => Marker::EqualsClaim { claim: a.marker.claim, other },
        (Some(_), None) => {
            return Err(cerr(
                format!("{field}.marker.equals"),
                "empty value",
                "give the value that marks an application token (e.g. \"app\")",
            ))
        }
        (None, Some(_)) => {
            return Err(cerr(
                format!("{field}.marker.equals_claim"),
                "empty claim name",
                "name the claim whose value must be equal (e.g. \"cid\" for Okta's sub == cid)",
            ))
        }
        _ => {
            return Err(cerr(
                format!("{field}.marker"),
                "needs exactly one of `equals` and `equals_claim`",
                "set \"equals\": \"<value>\" (the claim has this value) or \"equals_claim\": \"<claim>\" (two claims are equal)",
            ))
        }
    };
    Ok(AppTokenRule::Claims { client_claim: a.client_claim, marker })
}

/// Parses and validates a configuration document.
pub fn load(text: &str) -> Result<Config, ConfigError> {
    let raw: RawConfig = serde_json::from_str(text).map_err(|e| {
        cerr("(document)", format!("{e}"), "compare with the documented schema in README.md (unknown fields are refused to catch typos)")
    })?;
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

    let l = raw.limits;
    let limits = Limits {
        token: TokenLimits { max_token_bytes: l.max_token_bytes.unwrap_or(16 * 1024), max_json_depth: l.max_json_depth.unwrap_or(16) },
        max_body_bytes: l.max_body_bytes.unwrap_or(32 * 1024),
        token_cache_entries: l.token_cache_entries.unwrap_or(2048),
    };
    let c = raw.jwks_cache;
    let cache = CachePolicy {
        min_max_age_secs: c.min_max_age_secs.unwrap_or(300),
        max_max_age_secs: c.max_max_age_secs.unwrap_or(86_400),
        unknown_kid_cooldown_secs: c.unknown_kid_cooldown_secs.unwrap_or(30),
        stale_if_error_secs: c.stale_if_error_secs.unwrap_or(3_600),
        fetch_timeout_ms: c.fetch_timeout_ms.unwrap_or(5_000),
        limits: JwksLimits {
            max_bytes: l.max_jwks_bytes.unwrap_or(64 * 1024),
            max_keys: l.max_jwks_keys.unwrap_or(32),
            max_depth: limits.token.max_json_depth,
        },
    };
    if cache.min_max_age_secs > cache.max_max_age_secs {
        return Err(cerr("jwks_cache.min_max_age_secs", "floor is above the ceiling", "make min_max_age_secs <= max_max_age_secs"));
    }
    if cache.fetch_timeout_ms == 0 || cache.fetch_timeout_ms > 30_000 {
        return Err(cerr("jwks_cache.fetch_timeout_ms", "out of range", "use 1..=30000 (default 5000)"));
    }
    if limits.token.max_json_depth < 2 || limits.token.max_token_bytes < 256 || limits.max_body_bytes < limits.token.max_token_bytes {
        return Err(cerr(
            "limits",
            "limits too small to accept any token",
            "keep max_json_depth >= 2, max_token_bytes >= 256, max_body_bytes >= max_token_bytes",
        ));
    }

    if raw.trusted_issuers.is_empty() {
        return Err(cerr("trusted_issuers", "no trusted issuer", "add your Keycloak realm URL, e.g. https://kc.example.com/realms/prod"));
    }
    let mut trusted = Vec::new();
    for (i, t) in raw.trusted_issuers.into_iter().enumerate() {
        let f = |name: &str| format!("trusted_issuers[{i}].{name}");
        check_url(&f("issuer"), &t.issuer, dev)?;
        if let Some(u) = &t.jwks_uri {
            check_url(&f("jwks_uri"), u, dev)?;
        }
        if t.audiences.is_empty() || t.audiences.iter().any(String::is_empty) {
            return Err(cerr(
                f("audiences"),
                "no expected audience",
                "list the audience your Keycloak Audience mapper adds (e.g. \"edge-sts\")",
            ));
        }
        if trusted.iter().any(|x: &TrustedIssuer| x.rules.issuer == t.issuer) {
            return Err(cerr(f("issuer"), "issuer listed twice", "merge the two entries"));
        }
        let algorithms = match t.algorithms {
            None => None,
            Some(list) => Some(
                list.iter()
                    .map(|a| {
                        Alg::parse(a).ok_or_else(|| {
                            cerr(
                                f("algorithms"),
                                format!("`{a}` is not accepted"),
                                "use RS256/384/512, PS256/384/512, ES256, ES384 or EdDSA",
                            )
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };
        let app_token = match t.app_token {
            None => AppTokenRule::Keycloak,
            Some(a) => app_token_rule(a, &f("app_token"))?,
        };
        let leeway = t.leeway_secs.unwrap_or(60);
        if leeway > 300 {
            return Err(cerr(f("leeway_secs"), "leeway above 300 s", "keep clock leeway small (default 60)"));
        }
        trusted.push(TrustedIssuer {
            rules: ClaimRules {
                issuer: t.issuer.clone(),
                audiences: t.audiences,
                leeway_secs: leeway,
                max_lifetime_secs: t.max_token_lifetime_secs.unwrap_or(3_600),
                expected_typ: t.expected_typ,
                required_claims: t.required_claims,
            },
            caller: CallerRules { app_token, allow_missing_sub: t.allow_missing_sub },
            source: KeySource { issuer: t.issuer, jwks_uri: t.jwks_uri, dev },
            subject_prefix: t.subject_prefix.unwrap_or_default(),
            algorithms,
        });
    }

    let mut policy = TrustPolicy::default();
    for (name, t) in raw.targets {
        let f = |n: &str| format!("targets.{name}.{n}");
        if t.audience.is_empty() {
            return Err(cerr(f("audience"), "empty audience", "set the URI the downstream API expects in `aud`"));
        }
        for s in &t.default_scopes {
            if !t.scopes.contains(s) {
                return Err(cerr(f("default_scopes"), format!("`{s}` is not in scopes"), "default scopes must be a subset of scopes"));
            }
        }
        let lifetime = t.lifetime_secs.unwrap_or(DEFAULT_LIFETIME_SECS);
        if lifetime == 0 || lifetime > MAX_LIFETIME_SECS {
            return Err(cerr(f("lifetime_secs"), "out of range", format!("use 1..={MAX_LIFETIME_SECS} (default {DEFAULT_LIFETIME_SECS})")));
        }
        for (field, dest) in t.copy_claims.values().map(|d| ("copy_claims", d)).chain(t.static_claims.keys().map(|d| ("static_claims", d)))
        {
            if PROTECTED_CLAIMS.contains(&dest.as_str()) {
                return Err(cerr(f(field), format!("`{dest}` is a protected claim"), "use another claim name"));
            }
        }
        let signing_alg = match t.signing_alg.as_deref() {
            None => Alg::ES256,
            Some(a) => Alg::parse(a).ok_or_else(|| {
                cerr(
                    f("signing_alg"),
                    format!("`{a}` is not supported"),
                    "use ES256 (default), ES384, RS256/384/512, PS256/384/512 or EdDSA",
                )
            })?,
        };
        let sts_err = |e: crate::sts::StsError| match e {
            crate::sts::StsError::Invalid { field, problem, fix, .. } => cerr(f(&format!("cloud.{field}")), problem, fix),
            other => cerr(f("cloud"), other.to_string(), "see README, cloud targets"),
        };
        let clouds = usize::from(t.aws.is_some()) + usize::from(t.gcp.is_some()) + usize::from(t.azure.is_some());
        if clouds > 1 {
            return Err(cerr(f("aws"), "a target brokers at most one cloud", "split it into one target per cloud"));
        }
        let cloud = if let Some(a) = t.aws {
            let mut role = crate::sts::aws::AwsRole::new(a.role_arn);
            if let Some(r) = &a.region {
                role.endpoint = crate::sts::aws::regional_endpoint(r)
                    .ok_or_else(|| cerr(f("aws.region"), format!("`{r}` is not an AWS region name"), "use e.g. \"eu-central-1\""))?;
            }
            if let Some(e) = a.endpoint {
                role.endpoint = e;
            }
            if let Some(d) = a.duration_secs {
                role.duration_secs = d;
            }
            role.policy = a.session_policy.map(|p| p.to_string());
            role.policy_arns = a.policy_arns;
            role.validate(dev).map_err(sts_err)?;
            Some(CloudTarget::Aws(role))
        } else if let Some(g) = t.gcp {
            let provider = crate::sts::gcp::WorkloadIdentityProvider::parse(&g.workload_identity_provider).map_err(sts_err)?;
            let mut target = crate::sts::gcp::GcpTarget::new(provider);
            if let Some(u) = g.sts_url {
                target.sts_url = u;
            }
            if let Some(sa) = g.service_account {
                let mut imp = crate::sts::gcp::ServiceAccountImpersonation::new(sa);
                if let Some(u) = g.iam_credentials_url {
                    imp.iam_credentials_url = u;
                }
                if let Some(l) = g.token_lifetime_secs {
                    imp.lifetime_secs = l;
                }
                target.impersonation = Some(imp);
            }
            if !t.scopes.is_empty() {
                target.scopes = t.scopes.clone();
            }
            target.validate(dev).map_err(sts_err)?;
            crate::sts::gcp::check_assertion_config(signing_alg, lifetime, "").map_err(sts_err)?;
            Some(CloudTarget::Gcp(target))
        } else if let Some(z) = t.azure {
            let mut app = crate::sts::azure::AzureApp::new(z.tenant, z.client_id, &z.resource);
            if let Some(h) = z.authority_host {
                app.authority_host = h;
            }
            app.validate(dev).map_err(sts_err)?;
            crate::sts::azure::check_assertion_audience(&t.audience).map_err(sts_err)?;
            Some(CloudTarget::Azure(app))
        } else {
            None
        };
        if let Some(c) = &cloud {
            let which = c.cloud();
            which.check_alg(signing_alg).map_err(|e| match e {
                crate::sts::StsError::Invalid { problem, fix, .. } => cerr(f("signing_alg"), problem, fix),
                other => cerr(f("signing_alg"), other.to_string(), "use RS256"),
            })?;
            which.check_issuer(&issuer, dev).map_err(|_| {
                cerr(
                    "issuer",
                    "a cloud needs an https issuer URL it can reach for discovery",
                    "serve edge-sts on an https custom domain and set `issuer` to it",
                )
            })?;
        }
        policy.targets.insert(
            name.clone(),
            Target {
                cloud,
                name: name.clone(),
                audience: t.audience,
                scopes: t.scopes,
                default_scopes: t.default_scopes,
                lifetime_secs: lifetime,
                allow_beyond_subject_expiry: t.danger_allow_beyond_subject_expiry,
                copy_claims: t.copy_claims.into_iter().collect(),
                static_claims: t.static_claims,
                signing_alg,
            },
        );
    }
    let mut seen_aud: BTreeMap<&str, &str> = BTreeMap::new();
    for t in policy.targets.values() {
        if let Some(other) = seen_aud.insert(&t.audience, &t.name) {
            return Err(cerr(
                format!("targets.{}.audience", t.name),
                format!("same audience as target `{other}`"),
                "give each target its own audience URI",
            ));
        }
    }
    for (i, c) in raw.clients.into_iter().enumerate() {
        let f = |n: &str| format!("clients[{i}].{n}");
        if c.client.is_empty() || c.client.chars().all(|ch| ch == '*' || ch == '?') {
            return Err(cerr(f("client"), "matches every client", "name the client id, or a narrower glob such as \"batch-*\""));
        }
        for t in c.targets.iter().chain(c.default_target.iter()) {
            if !policy.targets.contains_key(t) {
                return Err(cerr(f("targets"), format!("unknown target `{t}`"), "define it under `targets`"));
            }
        }
        if let Some(d) = &c.default_target {
            if !c.targets.contains(d) {
                return Err(cerr(f("default_target"), "default target is not in the client's targets", "add it to `targets`"));
            }
        }
        if let Some(iss) = &c.issuer {
            if !trusted.iter().any(|t| t.rules.issuer == *iss) {
                return Err(cerr(f("issuer"), "not a trusted issuer", "use an issuer from trusted_issuers"));
            }
        }
        policy.clients.push(ClientRule {
            pattern: ClientPattern::new(&c.client),
            issuer: c.issuer,
            targets: c.targets,
            default_target: c.default_target,
        });
    }

    let mut key_refs = Vec::new();
    for (i, k) in raw.signing_keys.into_iter().enumerate() {
        let f = |n: &str| format!("signing_keys[{i}].{n}");
        let status = KeyStatus::parse(&k.status).ok_or_else(|| cerr(f("status"), "unknown status", "use active, next or retired"))?;
        match (&k.secret, &k.public_jwk, status) {
            (Some(_), None, _) | (None, Some(_), KeyStatus::Retired | KeyStatus::Next) => {}
            _ => {
                return Err(cerr(
                    f("secret"),
                    "a key needs either `secret` (active/next/retired) or `public_jwk` (next/retired)",
                    "name the Worker secret holding the private JWK",
                ))
            }
        }
        key_refs.push(KeyRef { secret: k.secret, public_jwk: k.public_jwk, status });
    }
    if key_refs.is_empty() && !dev {
        return Err(cerr(
            "signing_keys",
            "no signing key",
            "generate one (`edge-sts keys generate`), `wrangler secret put SIGNING_KEY_1`, and reference it here",
        ));
    }
    Ok(Config { dev, log_successes, explain_secret: raw.explain_secret, issuer, limits, cache, trusted, policy, key_refs })
}

/// Builds the key ring from key references and a secret lookup (the Worker's env).
pub fn build_key_ring(cfg: &Config, secret: impl Fn(&str) -> Option<String>) -> Result<KeyRing, ConfigError> {
    let mut ring = KeyRing::default();
    for (i, r) in cfg.key_refs.iter().enumerate() {
        let field = format!("signing_keys[{i}]");
        let private = match &r.secret {
            Some(name) => {
                let text = secret(name)
                    .ok_or_else(|| cerr(&field, format!("secret `{name}` is not set"), format!("wrangler secret put {name} < key.json")))?;
                Some(SigningKey::from_jwk_json(&text).map_err(|e| cerr(&field, e, "use a private JWK with kty, alg, kid and d"))?)
            }
            None => None,
        };
        let public = match (&private, &r.public_jwk) {
            (Some(k), _) => k.public.clone(),
            (None, Some(m)) => {
                let (key, alg) = crate::jwk::parse_public(m, false).map_err(|e| cerr(&field, e.to_string(), "use a public JWK"))?;
                let kid = m.get("kid").and_then(Value::as_str).map(str::to_owned);
                crate::jwk::VerifyKey::new(kid.or_else(|| Some(key.thumbprint())), alg, key)
            }
            (None, None) => return Err(cerr(&field, "no key material", "set `secret` or `public_jwk`")),
        };
        match (r.status, private) {
            (KeyStatus::Active, Some(k)) => {
                if ring.active_for(k.alg()).is_some() {
                    return Err(cerr(&field, format!("a second active {} key", k.alg()), "mark one of them `next` or `retired`"));
                }
                ring.active.push(k)
            }
            (KeyStatus::Next, _) => ring.next.push(public),
            (KeyStatus::Retired, _) => ring.retired.push(public),
            (KeyStatus::Active, None) => return Err(cerr(&field, "an active key needs its private part", "set `secret`")),
        }
    }
    let mut kids: Vec<&str> =
        ring.active.iter().map(|k| k.kid()).chain(ring.next.iter().chain(ring.retired.iter()).filter_map(|k| k.kid.as_deref())).collect();
    kids.sort_unstable();
    if kids.windows(2).any(|w| w[0] == w[1]) {
        return Err(cerr("signing_keys", "two keys share a kid", "give every key its own kid"));
    }
    for t in cfg.policy.targets.values() {
        if ring.active_for(t.signing_alg).is_none() && !cfg.dev {
            return Err(cerr(
                format!("targets.{}.signing_alg", t.name),
                format!("no active {} signing key", t.signing_alg),
                "add an active key of that algorithm to signing_keys",
            ));
        }
    }
    Ok(ring)
}
