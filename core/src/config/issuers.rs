//! `trusted_issuers`: the token issuers (Keycloak realms) whose subject tokens are accepted.
//! One entry is validated by [`issuer`]; a new field is one line in `RawIssuer` and one in it.
use super::{cerr, check_url, ConfigError};
use crate::alg::Alg;
use crate::claims::ClaimRules;
use crate::jwks_cache::KeySource;
use serde::Deserialize;

/// Clock leeway for `exp`/`nbf`/`iat` when `leeway_secs` is not set.
pub const DEFAULT_LEEWAY_SECS: u64 = 60;
/// The largest `leeway_secs` the configuration accepts.
pub const MAX_LEEWAY_SECS: u64 = 300;
/// Largest accepted subject-token lifetime when `max_token_lifetime_secs` is not set.
pub const DEFAULT_MAX_TOKEN_LIFETIME_SECS: u64 = 3_600;
/// The payload `typ` Keycloak access tokens carry (`expected_typ` when not set).
pub const DEFAULT_EXPECTED_TYP: &str = "Bearer";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawIssuer {
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
}

fn default_typ() -> Option<String> {
    Some(DEFAULT_EXPECTED_TYP.into())
}

#[derive(Debug, Clone)]
pub struct TrustedIssuer {
    pub rules: ClaimRules,
    pub source: KeySource,
    pub subject_prefix: String,
    pub algorithms: Option<Vec<Alg>>,
}

pub(super) fn load(raw: Vec<RawIssuer>, dev: bool) -> Result<Vec<TrustedIssuer>, ConfigError> {
    if raw.is_empty() {
        return Err(cerr("trusted_issuers", "no trusted issuer", "add your Keycloak realm URL, e.g. https://kc.example.com/realms/prod"));
    }
    let mut trusted: Vec<TrustedIssuer> = Vec::new();
    for (i, t) in raw.into_iter().enumerate() {
        let t = issuer(&format!("trusted_issuers[{i}]"), t, &trusted, dev)?;
        trusted.push(t);
    }
    Ok(trusted)
}

/// One `trusted_issuers[i]` entry; `at` is its path, `earlier` the entries before it.
fn issuer(at: &str, t: RawIssuer, earlier: &[TrustedIssuer], dev: bool) -> Result<TrustedIssuer, ConfigError> {
    let f = |name: &str| format!("{at}.{name}");
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
    if earlier.iter().any(|x| x.rules.issuer == t.issuer) {
        return Err(cerr(f("issuer"), "issuer listed twice", "merge the two entries"));
    }
    let algorithms = match t.algorithms {
        None => None,
        Some(list) => Some(
            list.iter()
                .map(|a| {
                    Alg::parse(a).ok_or_else(|| {
                        cerr(f("algorithms"), format!("`{a}` is not accepted"), "use RS256/384/512, PS256/384/512, ES256, ES384 or EdDSA")
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    let leeway = t.leeway_secs.unwrap_or(DEFAULT_LEEWAY_SECS);
    if leeway > MAX_LEEWAY_SECS {
        return Err(cerr(
            f("leeway_secs"),
            format!("leeway above {MAX_LEEWAY_SECS} s"),
            format!("keep clock leeway small (default {DEFAULT_LEEWAY_SECS})"),
        ));
    }
    Ok(TrustedIssuer {
        rules: ClaimRules {
            issuer: t.issuer.clone(),
            audiences: t.audiences,
            leeway_secs: leeway,
            max_lifetime_secs: t.max_token_lifetime_secs.unwrap_or(DEFAULT_MAX_TOKEN_LIFETIME_SECS),
            expected_typ: t.expected_typ,
            required_claims: t.required_claims,
        },
        source: KeySource { issuer: t.issuer, jwks_uri: t.jwks_uri, dev },
        subject_prefix: t.subject_prefix.unwrap_or_default(),
        algorithms,
    })
}
