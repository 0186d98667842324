//! `trusted_issuers`: the token issuers (Keycloak realms) whose subject tokens are accepted.
//! One entry is validated by [`issuer`]; a new field is one line in `RawIssuer` and one in it.
use super::{cerr, check_url, ConfigError};
use crate::issuer::claims::{AppTokenRule, Caller, CallerRules, ClaimRules, ClaimsError, Marker};
use crate::issuer::key_store::KeySource;
use crate::jose::alg::Alg;
use serde::Deserialize;
use serde_json::{Map, Value};

/// Clock leeway for `exp`/`nbf`/`iat` when `leeway_secs` is not set.
pub const DEFAULT_LEEWAY_SECS: u64 = 60;
/// The largest `leeway_secs` the configuration accepts.
pub const MAX_LEEWAY_SECS: u64 = 300;
/// Largest accepted subject-token lifetime when `max_token_lifetime_secs` is not set.
pub const DEFAULT_MAX_TOKEN_LIFETIME_SECS: u64 = 3_600;
/// The payload `typ` Keycloak access tokens carry (`expected_typ` when not set).
pub const DEFAULT_EXPECTED_TYP: &str = "Bearer";

#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
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
    /// How an application token is recognised (absent: Keycloak's `client_id`/`clientId`).
    #[serde(default)]
    app_token: Option<RawAppToken>,
    /// Accept tokens without `sub` (RFC 9068 requires it; default false).
    #[serde(default)]
    allow_missing_sub: bool,
}

#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAppToken {
    client_claim: String,
    marker: RawMarker,
}

#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
struct RawMarker {
    claim: String,
    #[serde(default)]
    equals: Option<String>,
    #[serde(default)]
    equals_claim: Option<String>,
    /// Claims an application token never carries (Okta: `uid`, only in user tokens).
    #[serde(default)]
    absent_claims: Vec<String>,
}

fn default_typ() -> Option<String> {
    Some(DEFAULT_EXPECTED_TYP.into())
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

impl TrustedIssuer {
    /// Every claim rule for this issuer's tokens (`claims::validate_token`).
    pub fn validate(&self, claims: &Map<String, Value>, now: f64) -> Result<Caller, ClaimsError> {
        crate::issuer::claims::validate_token(claims, &self.rules, &self.caller, now)
    }
}

/// `trusted_issuers[i].app_token`: non-empty claim names, exactly one of `equals` /
/// `equals_claim`, and a marker that can tell tokens apart (see [`marker_tells_apart`]).
pub(crate) fn app_token_rule(a: RawAppToken, field: &str) -> Result<AppTokenRule, ConfigError> {
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
    let rule = AppTokenRule::Claims { client_claim: a.client_claim, marker, absent_claims: a.marker.absent_claims };
    marker_tells_apart(&rule, &[], field)?;
    Ok(rule)
}

/// Claims every token accepted from any issuer carries: `validate_token` requires them.
const ALWAYS_PRESENT: [&str; 3] = ["iss", "exp", "aud"];

/// A marker must be able to tell application tokens from user tokens: one that holds for every
/// token (`equals_claim` naming `claim` itself; a test on `iss`, the same in every token of the
/// issuer, or on `typ` when `expected_typ` fixes it) makes every user token an application token,
/// and one that can never hold (an absent claim that the marker, the client claim or the issuer's
/// rules need present) refuses every token. `present` lists the claims this issuer's own rules
/// require beyond [`ALWAYS_PRESENT`] (`sub`, `typ`, `required_claims`), empty where they are not
/// known. `field` is the `app_token` path.
pub(crate) fn marker_tells_apart(rule: &AppTokenRule, present: &[&str], field: &str) -> Result<(), ConfigError> {
    let AppTokenRule::Claims { client_claim, marker, absent_claims } = rule else { return Ok(()) };
    let (claim, other) = match marker {
        Marker::Equals { claim, .. } => (claim, None),
        Marker::EqualsClaim { claim, other } => (claim, Some(other)),
    };
    if other == Some(claim) {
        return Err(cerr(
            format!("{field}.marker.equals_claim"),
            format!("`{claim}` compared with itself: the marker holds for every token, so every user token would pass as an application token"),
            "compare two different claims (e.g. \"claim\": \"sub\", \"equals_claim\": \"cid\", with \"absent_claims\": [\"uid\"] for Okta), or use \"equals\": \"<value>\"",
        ));
    }
    for (name, at) in std::iter::once((claim, "claim")).chain(other.map(|o| (o, "equals_claim"))) {
        let fixed = match name.as_str() {
            "iss" => Some("every token of this issuer has the same `iss`"),
            "typ" if present.contains(&"typ") => Some("expected_typ already fixes `typ`: every accepted token has the same one"),
            _ => None,
        };
        if let Some(why) = fixed {
            return Err(cerr(
                format!("{field}.marker.{at}"),
                format!("{why}, so the marker cannot tell application tokens from user tokens"),
                "mark application tokens by a claim only they carry (e.g. Entra \"idtyp\": \"app\", Auth0 \"gty\": \"client-credentials\")",
            ));
        }
    }
    for (i, absent) in absent_claims.iter().enumerate() {
        let at = format!("{field}.marker.absent_claims[{i}]");
        if absent.is_empty() {
            return Err(cerr(at, "empty claim name", "name a claim only user tokens carry (e.g. \"uid\" for Okta)"));
        }
        let needed = if absent == claim || Some(absent) == other {
            Some("the marker itself compares it")
        } else if absent == client_claim {
            Some("it is the client_claim")
        } else if ALWAYS_PRESENT.contains(&absent.as_str()) || present.contains(&absent.as_str()) {
            Some("every accepted token carries it")
        } else {
            None
        };
        if let Some(why) = needed {
            return Err(cerr(
                at,
                format!("`{absent}` must be absent, but {why}: the marker never holds and every token would be refused"),
                "list only claims that user tokens carry and application tokens do not (e.g. \"uid\" for Okta)",
            ));
        }
    }
    Ok(())
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
    realms_apart(&trusted)?;
    Ok(trusted)
}

/// With more than one trusted issuer, every `subject_prefix` is non-empty and none is a prefix
/// of another (equal included): `sub` and the minted `client_id` are the prefix plus the client
/// id, so two issuers' callers can never mint the same values downstream.
fn realms_apart(trusted: &[TrustedIssuer]) -> Result<(), ConfigError> {
    if trusted.len() < 2 {
        return Ok(());
    }
    let fix = "give every trusted issuer its own subject_prefix, none the start of another (e.g. \"kc-prod:\" and \"kc-partners:\"); it prefixes `sub` and the minted `client_id`";
    for (i, t) in trusted.iter().enumerate() {
        let field = format!("trusted_issuers[{i}].subject_prefix");
        if t.subject_prefix.is_empty() {
            return Err(cerr(field, "empty subject_prefix while more than one issuer is trusted", fix));
        }
        for (j, o) in trusted[..i].iter().enumerate() {
            let (a, b) = (&t.subject_prefix, &o.subject_prefix);
            if a.starts_with(b.as_str()) || b.starts_with(a.as_str()) {
                let how = if a == b { "is the same as" } else { "overlaps (one starts the other)" };
                return Err(cerr(field, format!("`{a}` {how} trusted_issuers[{j}].subject_prefix `{b}`"), fix));
            }
        }
    }
    Ok(())
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
    let app_token = match t.app_token {
        None => AppTokenRule::Keycloak,
        Some(a) => app_token_rule(a, &f("app_token"))?,
    };
    // The claims this issuer's own rules require, which a marker can neither test nor need absent.
    let mut present: Vec<&str> = t.required_claims.iter().map(String::as_str).collect();
    present.extend(t.expected_typ.is_some().then_some("typ"));
    present.extend((!t.allow_missing_sub).then_some("sub"));
    marker_tells_apart(&app_token, &present, &f("app_token"))?;
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
        caller: CallerRules { app_token, allow_missing_sub: t.allow_missing_sub },
        source: KeySource { issuer: t.issuer, jwks_uri: t.jwks_uri, dev },
        subject_prefix: t.subject_prefix.unwrap_or_default(),
        algorithms,
    })
}
