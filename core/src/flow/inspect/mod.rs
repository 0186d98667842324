//! A per-check report on one token, for people debugging tokens (the browser playground).
//!
//! `inspect` decodes a token even when it is malformed, pointing at the segment and position
//! that breaks, then runs every rule the Worker runs and reports each one on its own, not only
//! the first failure. The rules are the Worker's own functions (`token::*`, `KeySet::select_one`,
//! `crypto::verify`, `claims::*`) and every reason code comes from the Worker's error types
//! (`Error::reason()`), so the strings are the ones the Worker logs. The overall verdict walks
//! the same path as `exchange::verify_subject_token` (with the pasted key instead of a fetched
//! JWKS and the expectations instead of a configured issuer).
//!
//! One submodule per stage, in the order the report lists them: `decode` (forgiving, located,
//! for display), `header` (size, shape, header rules), `payload` (payload and signature
//! segments), `issuer` (`iss`, the allow-list), `keys` (key input, `kid`, algorithm binding),
//! `signature`, `claims` (the claim rules), `verdict` (the Worker's path and answer). Each check
//! carries a [`CheckId`], whose serialised name is the page's key for its label.
//!
//! Pure like the rest of the core: `now` is an argument, keys are passed in as text, and the
//! signature math goes through a `SignatureBackend`.
use crate::config::issuers::{app_token_rule, RawAppToken};
use crate::config::{Config, ConfigError, TrustedIssuer, DEFAULT_EXPECTED_TYP, DEFAULT_LEEWAY_SECS, DEFAULT_MAX_TOKEN_LIFETIME_SECS};
use crate::flow::error::Error;
use crate::issuer::claims::{AppTokenRule, CallerRules};
use crate::jose::crypto::SignatureBackend;
use crate::jose::jwk::JwksLimits;
use crate::jose::token::TokenLimits;
use serde::{Deserialize, Serialize, Serializer};

mod claims;
mod decode;
mod header;
mod issuer;
mod keys;
mod messages;
mod payload;
#[cfg(feature = "pem")]
mod pem;
mod signature;
#[cfg(all(test, feature = "pure-crypto"))]
mod tests;
mod verdict;

pub use decode::{decode, Decoded, Part, Problem, SignaturePart};
pub use keys::{KeyInfo, KeysReport, SkippedKey};
pub use messages::{iso8601, looks_like_keycloak, relative};
pub use verdict::Verdict;

#[cfg(not(feature = "pem"))]
mod pem {
    use serde_json::{Map, Value};
    pub fn to_jwk(_text: &str) -> Result<Map<String, Value>, String> {
        Err("PEM keys are not supported in this build".into())
    }
}

/// Which rules make the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    /// Any JWT, as a generic library would judge it: the header rules, the signature, `exp` and
    /// `nbf` (each only when present), claim types, and only those other rules the expectations
    /// name (`issuer`, `audiences`, `expected_typ`, `max_lifetime_secs`, `required_claims`,
    /// `app_token`). `sub`, `aud`, `iss` and `exp` are not required; `iat` is reported, not judged.
    AnyJwt,
    /// As edge-sts would: one trusted issuer's rules, the Worker's path and answer.
    #[default]
    EdgeSts,
}

/// What the token is checked against: a stand-in for one `trusted_issuers[]` entry plus
/// `limits`. Defaults are the configuration's defaults. Absent `issuer`/`audiences` mean "not
/// checked" (reported as skipped), since a pasted token has no configuration; so does `null`
/// for `max_lifetime_secs` and `expected_typ`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Expectations {
    pub profile: Profile,
    pub issuer: Option<String>,
    /// The configuration's trusted issuers, when the expectations come from one
    /// ([`expectations_from_config`]): with `issuer` absent, the token's `iss` is none of them.
    pub trusted_issuers: Vec<String>,
    pub audiences: Vec<String>,
    pub leeway_secs: u64,
    /// `null`: not checked.
    pub max_lifetime_secs: Option<u64>,
    /// Keycloak's payload `typ`. Absent: `Bearer`; `null`: not checked.
    pub expected_typ: Option<String>,
    pub required_claims: Vec<String>,
    /// How an application (service-account) token is recognised, in the configuration's
    /// `app_token` shape; absent or `null`: Keycloak's rule (`client_id`/`clientId` required)
    /// as edge-sts would, not checked for any JWT.
    #[serde(deserialize_with = "app_token")]
    pub app_token: Option<AppTokenRule>,
    /// Accept a token without `sub` (`allow_missing_sub`; default: `sub` is required).
    pub allow_missing_sub: bool,
    /// The issuer's `algorithms` allow-list (names); absent: all nine.
    pub algorithms: Option<Vec<String>>,
    /// Algorithm a PEM key is bound to. A PEM carries none; without this, the key type decides
    /// (RSA -> RS256, P-256 -> ES256, P-384 -> ES384, Ed25519 -> EdDSA), as for a JWK.
    pub key_alg: Option<String>,
    pub max_token_bytes: usize,
    pub max_json_depth: usize,
    pub max_jwks_bytes: usize,
    pub max_jwks_keys: usize,
}

impl Default for Expectations {
    fn default() -> Self {
        let t = TokenLimits::default();
        let j = JwksLimits::default();
        Expectations {
            profile: Profile::EdgeSts,
            issuer: None,
            trusted_issuers: vec![],
            audiences: vec![],
            leeway_secs: DEFAULT_LEEWAY_SECS,
            max_lifetime_secs: Some(DEFAULT_MAX_TOKEN_LIFETIME_SECS),
            expected_typ: Some(DEFAULT_EXPECTED_TYP.into()),
            required_claims: vec![],
            app_token: None,
            allow_missing_sub: false,
            algorithms: None,
            key_alg: None,
            max_token_bytes: t.max_token_bytes,
            max_json_depth: t.max_json_depth,
            max_jwks_bytes: j.max_bytes,
            max_jwks_keys: j.max_keys,
        }
    }
}

impl Expectations {
    fn token_limits(&self) -> TokenLimits {
        TokenLimits { max_token_bytes: self.max_token_bytes, max_json_depth: self.max_json_depth }
    }

    fn caller_rules(&self) -> CallerRules {
        CallerRules { app_token: self.app_token.clone().unwrap_or_default(), allow_missing_sub: self.allow_missing_sub }
    }

    fn any_jwt(&self) -> bool {
        self.profile == Profile::AnyJwt
    }

    /// The rules of the trusted issuer `t` of `config`, as edge-sts applies them.
    pub fn for_issuer(config: &Config, t: &TrustedIssuer) -> Self {
        let l = &config.limits.token;
        let j = &config.cache.limits;
        Expectations {
            profile: Profile::EdgeSts,
            issuer: Some(t.rules.issuer.clone()),
            trusted_issuers: config.trusted.iter().map(|t| t.rules.issuer.clone()).collect(),
            audiences: t.rules.audiences.clone(),
            leeway_secs: t.rules.leeway_secs,
            max_lifetime_secs: Some(t.rules.max_lifetime_secs),
            expected_typ: t.rules.expected_typ.clone(),
            required_claims: t.rules.required_claims.clone(),
            app_token: Some(t.caller.app_token.clone()),
            allow_missing_sub: t.caller.allow_missing_sub,
            algorithms: t.algorithms.as_ref().map(|a| a.iter().map(|a| a.as_str().to_owned()).collect()),
            key_alg: None,
            max_token_bytes: l.max_token_bytes,
            max_json_depth: l.max_json_depth,
            max_jwks_bytes: j.max_bytes,
            max_jwks_keys: j.max_keys,
        }
    }
}

/// The expectations for `token` under a pasted edge-sts configuration (`config::load`, the
/// Worker's reader): the trusted issuer whose `issuer` equals the token's `iss` exactly, as the
/// Worker picks it. When none does, `issuer` is absent and `trusted_issuers` lists them, so the
/// `iss` check fails with `token.untrusted_issuer` as the Worker would.
pub fn expectations_from_config(config: &str, token: &str) -> Result<Expectations, ConfigError> {
    let cfg = crate::config::load(config)?;
    let decoded = decode(token, cfg.limits.token);
    let iss = decoded.payload.as_ref().and_then(|p| p.json.as_ref()).and_then(|j| j.get("iss")).and_then(|i| i.as_str());
    Ok(match iss.and_then(|i| cfg.trusted_issuer(i)) {
        Some(t) => Expectations::for_issuer(&cfg, t),
        None => {
            let mut ex = Expectations::for_issuer(&cfg, &cfg.trusted[0]);
            ex.issuer = None;
            ex
        }
    })
}

/// `trusted_issuers[].app_token` as the configuration writes it:
/// `{"client_claim": "azp", "marker": {"claim": "idtyp", "equals": "app"}}`, or
/// `{"client_claim": "cid", "marker": {"claim": "sub", "equals_claim": "cid", "absent_claims": ["uid"]}}`;
/// `null`: not given.
fn app_token<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<AppTokenRule>, D::Error> {
    use serde::de::Error as _;
    match Option::<RawAppToken>::deserialize(d)? {
        None => Ok(None),
        // The configuration's own reader and rules, so the page accepts exactly what loads.
        Some(raw) => app_token_rule(raw, "app_token").map(Some).map_err(D::Error::custom),
    }
}

/// Every check `inspect` reports, in report order. Serialised as its snake_case name (`exp`,
/// `header_key_refs`, ...), the stable id the page keys its labels by; `CheckId::ALL` is the
/// list a test holds the page's labels to. Not a reason code: one check can fail with
/// several (`exp`: `claims.expired`, `claims.time_type`, `claims.missing`). The claim checks
/// follow `claims::validate_token`'s order (`iss` comes earlier, with the issuer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::VariantArray)]
#[strum(serialize_all = "snake_case")]
pub enum CheckId {
    // header::check
    Size,
    Segments,
    Header,
    Alg,
    HeaderKeyRefs,
    Crit,
    Enc,
    KidFormat,
    HeaderTyp,
    // payload::check
    Payload,
    SignatureFormat,
    // issuer::check
    Iss,
    AlgAllowed,
    // keys::select
    Kid,
    KeyBinding,
    // signature::check
    Signature,
    // claims::check
    ClaimTypes,
    Exp,
    Nbf,
    Iat,
    Lifetime,
    Aud,
    Typ,
    Cnf,
    Sub,
    RequiredClaims,
    ClientId,
}

impl CheckId {
    /// Every check, in report order.
    pub const ALL: &'static [CheckId] = <CheckId as strum::VariantArray>::VARIANTS;

    /// The serialised id.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl Serialize for CheckId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Skip,
}

/// One rule and its outcome. `reason_code` is the Worker's code for the failure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    pub id: CheckId,
    pub status: Status,
    pub ok: bool,
    pub reason_code: Option<&'static str>,
    /// The Worker's fixed `error_description` for this failure.
    pub description: Option<String>,
    /// What `POST /token` would answer with this failure (status, OAuth `error`).
    pub http_status: Option<u16>,
    pub oauth_error: Option<&'static str>,
    /// What was found, in detail (claim values included: this report stays on the user's page).
    pub message: String,
}

fn pass(id: CheckId, message: impl Into<String>) -> Check {
    Check {
        id,
        status: Status::Pass,
        ok: true,
        reason_code: None,
        description: None,
        http_status: None,
        oauth_error: None,
        message: message.into(),
    }
}

fn skip(id: CheckId, message: impl Into<String>) -> Check {
    Check {
        id,
        status: Status::Skip,
        ok: false,
        reason_code: None,
        description: None,
        http_status: None,
        oauth_error: None,
        message: message.into(),
    }
}

fn fail(id: CheckId, err: &Error, message: impl Into<String>) -> Check {
    let o = err.to_oauth(verdict::RETRY_AFTER_SECS);
    Check {
        id,
        status: Status::Fail,
        ok: false,
        reason_code: Some(o.reason),
        description: Some(o.description),
        http_status: Some(o.status),
        oauth_error: Some(o.error),
        message: message.into(),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Times {
    pub exp: Option<f64>,
    pub nbf: Option<f64>,
    pub iat: Option<f64>,
    pub leeway_secs: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub now: f64,
    pub decoded: Decoded,
    pub keys: Option<KeysReport>,
    pub times: Times,
    pub checks: Vec<Check>,
    pub verdict: Verdict,
    /// The claims look like a Keycloak token's ([`looks_like_keycloak`]).
    pub keycloak: bool,
}

/// Everything about one token: decoded parts, each rule's outcome and the Worker's verdict.
/// `keys` is the key input as pasted (JWK, JWK Set or PEM); `None` skips the key rules.
pub async fn inspect<B: SignatureBackend>(backend: &B, token: &str, keys: Option<&str>, ex: &Expectations, now: f64) -> Report {
    let limits = ex.token_limits();
    let decoded = decode(token, limits);
    let mut checks = vec![];
    let header = header::check(token, limits, &decoded, &mut checks);
    let payload = payload::check(token, &header.parts, limits, &decoded, &mut checks);
    let allowed = issuer::check(payload.claims.as_ref(), header.alg, ex, &mut checks);
    let keyset = keys.filter(|k| !k.trim().is_empty()).map(|k| keys::parse(k, ex, header.kid.as_deref()));
    let key = keys::select(keyset.as_ref(), header.kid.as_deref(), header.alg, &mut checks);
    checks.push(signature::check(backend, token, &header.parts, payload.signature.as_deref(), key).await);
    let times = claims::check(payload.claims.as_ref(), ex, now, &mut checks);
    let key_set = keyset.as_ref().map(|k| k.set.as_ref());
    let verdict = if ex.any_jwt() {
        verdict::any_jwt_verdict(&checks, ex)
    } else {
        verdict::worker_verdict(backend, token, key_set, ex, allowed.and_then(Result::ok), now).await
    };
    let keycloak = payload.claims.as_ref().is_some_and(looks_like_keycloak);
    Report { now, decoded, keys: keyset.map(|k| k.report), times, checks, verdict, keycloak }
}
