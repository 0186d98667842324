//! Claim rules for a verified subject token: time, issuer, audience, Keycloak `typ`, caller
//! identity, required claims. Pure: `now` is an argument (seconds since the epoch).
use crate::wire::reason;
use serde_json::{Map, Value};
use std::fmt;

/// Largest integer a NumericDate may hold and still be exact in an f64 (2^53).
const MAX_NUMERIC_DATE: f64 = 9_007_199_254_740_992.0;

/// Rules for tokens of one trusted issuer (validated from config).
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimRules {
    pub issuer: String,
    pub audiences: Vec<String>,
    pub leeway_secs: u64,
    pub max_lifetime_secs: u64,
    /// Keycloak's own `typ` claim; `Bearer` for access tokens (ID tokens say `ID`).
    pub expected_typ: Option<String>,
    pub required_claims: Vec<String>,
}

/// How one trusted issuer's *application* tokens (the client-credentials grant: a service
/// account) are told apart from user tokens, and which claim names the client. Only application
/// tokens are exchanged. Lives beside [`ClaimRules`] (on `config::TrustedIssuer`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum AppTokenRule {
    /// Keycloak (the default): see [`keycloak_service_account`]. `client_id` (26.x) or `clientId`
    /// (older) names the client; `preferred_username` is its service-account user's name; the
    /// token carries no user session (`sid`, `session_state`). `azp`, where present, agrees.
    #[default]
    Keycloak,
    /// Another issuer (`trusted_issuers[].app_token`): `client_claim` names the client and
    /// `marker` must hold, with none of `absent_claims` present (the configuration's
    /// `marker.absent_claims`). `client_id`, `clientId` and `azp`, where present, must agree with
    /// the client claim.
    Claims { client_claim: String, marker: Marker, absent_claims: Vec<String> },
}

/// What marks a token as an application token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Marker {
    /// `claim` is a string equal to `value` (Entra `idtyp: app`, Auth0 `gty: client-credentials`).
    Equals { claim: String, value: String },
    /// `claim` and `other` are equal non-empty strings (Okta: `sub` equals `cid`).
    EqualsClaim { claim: String, other: String },
}

/// The username Keycloak gives a client's service-account user: `service-account-` and the
/// client id, lowercased as Keycloak stores every username.
pub fn keycloak_service_account_username(client: &str) -> String {
    format!("service-account-{}", client.to_lowercase())
}

/// Keycloak claims that carry a user session's id. A `client_credentials` token has none.
pub const KEYCLOAK_SESSION_CLAIMS: [&str; 2] = ["sid", "session_state"];

/// Why a Keycloak token with a client id is still not a service account's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeycloakMiss {
    /// `preferred_username` is not `service-account-<client id, lowercased>`.
    Username,
    /// It carries a user session (`sid` or `session_state`).
    Session,
}

/// Keycloak's service-account markers, beyond the client id, from Keycloak's own source (the
/// releases 24 to 26):
///
/// - The service-account user is created as `service-account-` + client id
///   (`ServiceAccountConstants.SERVICE_ACCOUNT_USER_PREFIX`, `ClientManager.enableServiceAccount`;
///   renamed with the client in `ClientManager.clientIdChanged`), and usernames are stored
///   lowercased (`JpaUserProvider.addUser`: `username.toLowerCase()`). The `profile` scope's
///   username mapper writes it to `preferred_username`.
/// - The `client_credentials` grant makes its user session TRANSIENT unless the client turns on
///   refresh tokens for that grant (off by default), and a TRANSIENT session's id is then left
///   out of the token: `ClientCredentialsGrantType` nulls it (`setSessionState(null)`, later
///   `setSessionId(null)`), current releases in `OAuth2GrantTypeBase` ("transient sessions do
///   not add the session ID to the token"). Up to 24 one field was written as both `sid` and
///   `session_state`; 25 dropped `session_state` (its "Session State" mapper adds it back). A
///   user's token carries its session's id (`TokenManager.initToken`: `setSessionId`).
///
/// A user's token whose `client_id`/`clientId` a mapper writes (user attribute, hard-coded claim)
/// fails both: its username is the user's and it carries `sid`. Errors carry no value.
pub fn keycloak_service_account(claims: &Map<String, Value>, client: &str) -> Result<(), KeycloakMiss> {
    if KEYCLOAK_SESSION_CLAIMS.iter().any(|c| claims.contains_key(*c)) {
        return Err(KeycloakMiss::Session);
    }
    if claims.get("preferred_username").and_then(Value::as_str) != Some(keycloak_service_account_username(client).as_str()) {
        return Err(KeycloakMiss::Username);
    }
    Ok(())
}

/// Whether `marker` holds and none of `absent_claims` is present (with any value, `null` too).
pub fn marker_holds(claims: &Map<String, Value>, marker: &Marker, absent_claims: &[String]) -> bool {
    let test = match marker {
        Marker::Equals { claim, value } => claims.get(claim).and_then(Value::as_str) == Some(value.as_str()),
        Marker::EqualsClaim { claim, other } => {
            let a = claims.get(claim).and_then(Value::as_str);
            a.is_some_and(|a| !a.is_empty()) && a == claims.get(other).and_then(Value::as_str)
        }
    };
    test && !absent_claims.iter().any(|c| claims.contains_key(c))
}

/// Per-issuer rules about who the caller is (beside [`ClaimRules`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CallerRules {
    pub app_token: AppTokenRule,
    /// `sub` is required (RFC 9068 §2.2) unless this is set (`allow_missing_sub`).
    pub allow_missing_sub: bool,
}

#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ClaimsError {
    WrongIssuer,
    MissingClaim(String),
    /// A time claim that is not a non-negative JSON number below 2^53.
    BadTimeClaim(&'static str),
    /// A registered or identifying claim that is present with the wrong JSON type.
    BadClaimType(String),
    Expired {
        exp: f64,
        now: f64,
    },
    NotYetValid {
        nbf: f64,
        now: f64,
    },
    IssuedInFuture {
        iat: f64,
        now: f64,
    },
    LifetimeTooLong {
        lifetime: f64,
        max: u64,
    },
    WrongAudience,
    WrongTyp,
    NoClientId,
    ConflictingClientId,
    /// Not an application (service-account) token: a user's token, for one.
    NotServiceAccount,
    /// Bound to a key (`cnf`: RFC 9449 DPoP `jkt`, RFC 8705 `x5t#S256`, or any other): never
    /// exchanged, since edge-sts does not check the binding.
    SenderConstrained,
}

impl fmt::Display for ClaimsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClaimsError::WrongIssuer => f.write_str("subject token issuer is not trusted"),
            ClaimsError::MissingClaim(c) => {
                write!(f, "subject token lacks the required claim `{c}`")
            }
            ClaimsError::BadTimeClaim(c) => {
                write!(f, "subject token `{c}` is not a valid NumericDate")
            }
            ClaimsError::BadClaimType(c) => write!(f, "subject token `{c}` has the wrong type"),
            ClaimsError::Expired { .. } => f.write_str("subject token has expired"),
            ClaimsError::NotYetValid { .. } => f.write_str("subject token is not yet valid"),
            ClaimsError::IssuedInFuture { .. } => f.write_str("subject token was issued in the future"),
            ClaimsError::LifetimeTooLong { .. } => f.write_str("subject token lifetime exceeds the allowed maximum"),
            ClaimsError::WrongAudience => f.write_str("subject token audience is not accepted"),
            ClaimsError::WrongTyp => f.write_str("subject token is not an access token (typ)"),
            ClaimsError::NoClientId => f.write_str("subject token names no client (its client claim is missing or empty)"),
            ClaimsError::ConflictingClientId => f.write_str("subject token names conflicting clients"),
            ClaimsError::NotServiceAccount => f.write_str("subject token is not a service-account (client credentials) token"),
            ClaimsError::SenderConstrained => f.write_str("subject token is bound to a key (cnf); bound tokens are not exchanged"),
        }
    }
}

impl ClaimsError {
    pub fn reason(&self) -> &'static str {
        match self {
            ClaimsError::WrongIssuer => reason::CLAIMS_ISS,
            ClaimsError::MissingClaim(_) => reason::CLAIMS_MISSING,
            ClaimsError::BadTimeClaim(_) => reason::CLAIMS_TIME_TYPE,
            ClaimsError::BadClaimType(_) => reason::CLAIMS_TYPE,
            ClaimsError::Expired { .. } => reason::CLAIMS_EXPIRED,
            ClaimsError::NotYetValid { .. } => reason::CLAIMS_NBF,
            ClaimsError::IssuedInFuture { .. } => reason::CLAIMS_IAT,
            ClaimsError::LifetimeTooLong { .. } => reason::CLAIMS_LIFETIME,
            ClaimsError::WrongAudience => reason::CLAIMS_AUD,
            ClaimsError::WrongTyp => reason::CLAIMS_TYP,
            ClaimsError::NoClientId => reason::CLAIMS_CLIENT_ID,
            ClaimsError::ConflictingClientId => reason::CLAIMS_CLIENT_ID_CONFLICT,
            ClaimsError::NotServiceAccount => reason::CLAIMS_NOT_SERVICE_ACCOUNT,
            ClaimsError::SenderConstrained => reason::CLAIMS_SENDER_CONSTRAINED,
        }
    }
}

/// Who presented the token, as the claims say.
#[derive(Debug, Clone, PartialEq)]
pub struct Caller {
    pub client_id: String,
    pub issuer: String,
    pub exp: f64,
}

/// Reads a NumericDate claim: `None` when absent, `BadTimeClaim` when it is not a
/// non-negative JSON number below 2^53.
pub fn numeric_date(claims: &Map<String, Value>, name: &'static str) -> Result<Option<f64>, ClaimsError> {
    match claims.get(name) {
        None => Ok(None),
        // Integers are checked as integers: 2^53 + 1 would round into range as an f64.
        Some(Value::Number(n)) if n.as_u64().is_some_and(|v| v > MAX_NUMERIC_DATE as u64) => Err(ClaimsError::BadTimeClaim(name)),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(v) if v.is_finite() && (0.0..=MAX_NUMERIC_DATE).contains(&v) => Ok(Some(v)),
            _ => Err(ClaimsError::BadTimeClaim(name)),
        },
        Some(_) => Err(ClaimsError::BadTimeClaim(name)),
    }
}

fn audience_ok(claims: &Map<String, Value>, accepted: &[String]) -> Result<bool, ClaimsError> {
    match claims.get("aud") {
        None => Ok(false),
        Some(Value::String(s)) => Ok(accepted.iter().any(|a| a == s)),
        Some(Value::Array(items)) => {
            let mut ok = false;
            for i in items {
                let s = i.as_str().ok_or_else(|| ClaimsError::BadClaimType("aud".into()))?;
                ok |= accepted.iter().any(|a| a == s);
            }
            Ok(ok)
        }
        Some(_) => Err(ClaimsError::BadClaimType("aud".into())),
    }
}

/// Registered (RFC 7519, RFC 9068) and identifying claims that must be JSON strings when present.
pub const STRING_CLAIMS: [&str; 7] = ["iss", "sub", "jti", "azp", "client_id", "clientId", "typ"];

/// Every registered or identifying claim that is present has its RFC type: a string for
/// [`STRING_CLAIMS`] (`typ` too when its value is not checked), a string or an array of strings
/// for `aud`, a NumericDate for `exp`, `nbf`, `iat`. `null` is not a string.
pub fn check_claim_types(claims: &Map<String, Value>) -> Result<(), ClaimsError> {
    for name in STRING_CLAIMS {
        if claims.get(name).is_some_and(|v| !v.is_string()) {
            return Err(ClaimsError::BadClaimType(name.to_owned()));
        }
    }
    match claims.get("aud") {
        None | Some(Value::String(_)) => {}
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => {}
        Some(_) => return Err(ClaimsError::BadClaimType("aud".into())),
    }
    for name in ["exp", "nbf", "iat"] {
        numeric_date(claims, name)?;
    }
    Ok(())
}

/// `sub` must be a non-empty string unless the issuer allows tokens without it.
pub fn check_sub(claims: &Map<String, Value>, allow_missing: bool) -> Result<(), ClaimsError> {
    match claims.get("sub") {
        Some(Value::String(s)) if !s.is_empty() => Ok(()),
        None if allow_missing => Ok(()),
        Some(Value::String(_)) | None => Err(ClaimsError::MissingClaim("sub".into())),
        Some(_) => Err(ClaimsError::BadClaimType("sub".into())),
    }
}

/// A claim that must be a string where present: `Ok(None)` when absent.
fn string_claim<'a>(claims: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, ClaimsError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ClaimsError::BadClaimType(name.to_owned())),
    }
}

/// The caller's client id, from an *application* token only (see [`AppTokenRule`]). A token
/// that is not marked as an application token is `NotServiceAccount`; identifying claims that
/// disagree are `ConflictingClientId`. Errors never carry a claim's value.
pub fn app_client(claims: &Map<String, Value>, rule: &AppTokenRule) -> Result<String, ClaimsError> {
    let client = match rule {
        AppTokenRule::Keycloak => {
            let (a, b) = (string_claim(claims, "client_id")?, string_claim(claims, "clientId")?);
            let client = match (a, b) {
                (None, None) => return Err(ClaimsError::NotServiceAccount),
                (Some(x), Some(y)) if x != y => return Err(ClaimsError::ConflictingClientId),
                (Some(x), _) | (None, Some(x)) => x,
            };
            if client.is_empty() {
                return Err(ClaimsError::NotServiceAccount);
            }
            if string_claim(claims, "azp")?.is_some_and(|v| v != client) {
                return Err(ClaimsError::ConflictingClientId);
            }
            if keycloak_service_account(claims, client).is_err() {
                return Err(ClaimsError::NotServiceAccount);
            }
            client
        }
        AppTokenRule::Claims { client_claim, marker, absent_claims } => {
            if !marker_holds(claims, marker, absent_claims) {
                return Err(ClaimsError::NotServiceAccount);
            }
            match string_claim(claims, client_claim)? {
                Some(c) if !c.is_empty() => c,
                _ => return Err(ClaimsError::NoClientId),
            }
        }
    };
    // Every other claim that names a client must name the same one.
    for name in ["client_id", "clientId", "azp"] {
        if string_claim(claims, name)?.is_some_and(|v| v != client) {
            return Err(ClaimsError::ConflictingClientId);
        }
    }
    Ok(client.to_owned())
}

// One function per rule, so tools (the playground's `inspect`) can report every rule, not only
// the first failure. `validate_token` calls them in its fixed order.

/// `iss` must equal the configured issuer exactly.
pub fn check_issuer(claims: &Map<String, Value>, issuer: &str) -> Result<(), ClaimsError> {
    if claims.get("iss").and_then(Value::as_str) != Some(issuer) {
        return Err(ClaimsError::WrongIssuer);
    }
    Ok(())
}

/// `exp` is required: returns it, or `MissingClaim`/`BadTimeClaim`.
pub fn required_exp(claims: &Map<String, Value>) -> Result<f64, ClaimsError> {
    numeric_date(claims, "exp")?.ok_or_else(|| ClaimsError::MissingClaim("exp".into()))
}

/// Valid while `now < exp + leeway`.
pub fn check_exp(exp: f64, leeway_secs: u64, now: f64) -> Result<(), ClaimsError> {
    if now >= exp + leeway_secs as f64 {
        return Err(ClaimsError::Expired { exp, now });
    }
    Ok(())
}

/// Valid once `nbf <= now + leeway` (no `nbf`: valid).
pub fn check_nbf(nbf: Option<f64>, leeway_secs: u64, now: f64) -> Result<(), ClaimsError> {
    if let Some(nbf) = nbf {
        if nbf > now + leeway_secs as f64 {
            return Err(ClaimsError::NotYetValid { nbf, now });
        }
    }
    Ok(())
}

/// `iat` may not be in the future beyond the leeway (no `iat`: fine).
pub fn check_iat(iat: Option<f64>, leeway_secs: u64, now: f64) -> Result<(), ClaimsError> {
    if let Some(iat) = iat {
        if iat > now + leeway_secs as f64 {
            return Err(ClaimsError::IssuedInFuture { iat, now });
        }
    }
    Ok(())
}

/// `exp - min(iat, now)` (no `iat`: `exp - now`) may not exceed the maximum.
pub fn check_lifetime(exp: f64, iat: Option<f64>, max_lifetime_secs: u64, now: f64) -> Result<(), ClaimsError> {
    let lifetime = exp - iat.unwrap_or(now).min(now);
    if lifetime > max_lifetime_secs as f64 {
        return Err(ClaimsError::LifetimeTooLong { lifetime, max: max_lifetime_secs });
    }
    Ok(())
}

/// `aud` (string or array of strings) must contain one of `accepted`, compared exactly.
pub fn check_audience(claims: &Map<String, Value>, accepted: &[String]) -> Result<(), ClaimsError> {
    if !audience_ok(claims, accepted)? {
        return Err(ClaimsError::WrongAudience);
    }
    Ok(())
}

/// Keycloak's payload `typ` must equal `expected` (`None` disables the rule).
pub fn check_typ(claims: &Map<String, Value>, expected: Option<&str>) -> Result<(), ClaimsError> {
    if let Some(expected) = expected {
        match claims.get("typ") {
            Some(Value::String(t)) if t == expected => {}
            _ => return Err(ClaimsError::WrongTyp),
        }
    }
    Ok(())
}

/// A token bound to a key (`cnf` present, whatever its value) is refused: edge-sts cannot check
/// the binding, and exchanging it would turn a stolen bound token into an unbound one (RFC 9449
/// §1, RFC 8705 §3; Keycloak's own token exchange refuses such tokens for the same reason).
pub fn check_unbound(claims: &Map<String, Value>) -> Result<(), ClaimsError> {
    if claims.contains_key("cnf") {
        return Err(ClaimsError::SenderConstrained);
    }
    Ok(())
}

/// Every listed claim must be present and not `null`.
pub fn check_required(claims: &Map<String, Value>, required: &[String]) -> Result<(), ClaimsError> {
    for c in required {
        if claims.get(c).is_none_or(Value::is_null) {
            return Err(ClaimsError::MissingClaim(c.clone()));
        }
    }
    Ok(())
}

/// Checks every claim rule, in a fixed order (cheap, non-secret checks first): the Worker's,
/// `explain`'s and the CLI's one decision about a verified token's claims.
pub fn validate_token(claims: &Map<String, Value>, rules: &ClaimRules, caller: &CallerRules, now: f64) -> Result<Caller, ClaimsError> {
    check_issuer(claims, &rules.issuer)?;
    check_claim_types(claims)?;
    let leeway = rules.leeway_secs;
    let exp = required_exp(claims)?;
    let nbf = numeric_date(claims, "nbf")?;
    let iat = numeric_date(claims, "iat")?;
    check_exp(exp, leeway, now)?;
    check_nbf(nbf, leeway, now)?;
    check_iat(iat, leeway, now)?;
    check_lifetime(exp, iat, rules.max_lifetime_secs, now)?;
    check_audience(claims, &rules.audiences)?;
    check_typ(claims, rules.expected_typ.as_deref())?;
    check_unbound(claims)?;
    check_sub(claims, caller.allow_missing_sub)?;
    check_required(claims, &rules.required_claims)?;
    let client_id = app_client(claims, &caller.app_token)?;
    Ok(Caller { client_id, issuer: rules.issuer.clone(), exp })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: f64 = 1_800_000_000.0;

    fn rules() -> ClaimRules {
        ClaimRules {
            issuer: "https://kc.example/realms/r".into(),
            audiences: vec!["edge-sts".into()],
            leeway_secs: 60,
            max_lifetime_secs: 3600,
            expected_typ: Some("Bearer".into()),
            required_claims: vec![],
        }
    }

    fn base() -> Value {
        json!({"iss": "https://kc.example/realms/r", "aud": ["account", "edge-sts"], "exp": NOW + 300.0,
               "iat": NOW - 10.0, "typ": "Bearer", "azp": "svc", "client_id": "svc",
               "preferred_username": "service-account-svc", "sub": "0b5e7c1d-service-account"})
    }

    fn patched(mut c: Value, patch: Value) -> Value {
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        c
    }

    fn check_with(patch: Value, rules: &ClaimRules, caller: &CallerRules) -> Result<Caller, ClaimsError> {
        validate_token(patched(base(), patch).as_object().unwrap(), rules, caller, NOW)
    }

    fn check(patch: Value) -> Result<Caller, ClaimsError> {
        check_with(patch, &rules(), &CallerRules::default())
    }

    fn code(r: Result<Caller, ClaimsError>) -> &'static str {
        match r {
            Ok(_) => "ok",
            Err(e) => e.reason(),
        }
    }

    fn reason(patch: Value) -> &'static str {
        code(check(patch))
    }

    #[test]
    fn accepts_keycloak_shape() {
        let c = check(json!({})).unwrap();
        assert_eq!(c.client_id, "svc");
        assert_eq!(c.exp, NOW + 300.0);
    }

    #[test]
    fn time_boundaries() {
        // exp: valid while now < exp + leeway
        assert_eq!(reason(json!({"exp": NOW - 59.0})), "ok");
        assert_eq!(reason(json!({"exp": NOW - 60.0})), "claims.expired");
        assert_eq!(reason(json!({"exp": NOW - 59.5})), "ok", "fractional NumericDate");
        assert_eq!(reason(json!({"exp": null})), "claims.missing");
        // nbf: valid while nbf <= now + leeway
        assert_eq!(reason(json!({"nbf": NOW + 60.0})), "ok");
        assert_eq!(reason(json!({"nbf": NOW + 60.5})), "claims.nbf");
        // iat: not in the future beyond leeway
        assert_eq!(reason(json!({"iat": NOW + 60.0})), "ok");
        assert_eq!(reason(json!({"iat": NOW + 61.0})), "claims.iat");
        // lifetime
        assert_eq!(reason(json!({"iat": NOW - 100.0, "exp": NOW + 3500.0})), "ok");
        assert_eq!(reason(json!({"iat": NOW - 100.0, "exp": NOW + 3500.5})), "claims.lifetime");
        assert_eq!(reason(json!({"iat": null, "exp": NOW + 3601.0})), "claims.lifetime");
    }

    #[test]
    fn time_claim_types() {
        for bad in [json!("1800000300"), json!(true), json!(-1), json!(1e300), json!([1]), json!({"a": 1})] {
            assert_eq!(reason(json!({"exp": bad.clone()})), "claims.time_type", "{bad}");
            assert_eq!(reason(json!({"nbf": bad.clone()})), "claims.time_type", "{bad}");
        }
        assert_eq!(reason(json!({"iat": 9_007_199_254_740_993u64})), "claims.time_type");
    }

    #[test]
    fn issuer_audience_typ_client() {
        assert_eq!(reason(json!({"iss": "https://kc.example/realms/r/"})), "claims.iss");
        assert_eq!(reason(json!({"iss": "http://kc.example/realms/r"})), "claims.iss");
        assert_eq!(reason(json!({"iss": "https://KC.example/realms/r"})), "claims.iss");
        assert_eq!(reason(json!({"aud": "edge-sts"})), "ok");
        assert_eq!(reason(json!({"aud": "account"})), "claims.aud");
        assert_eq!(reason(json!({"aud": ["Edge-sts"]})), "claims.aud");
        assert_eq!(reason(json!({"aud": null})), "claims.aud");
        assert_eq!(reason(json!({"aud": ["edge-sts", 5]})), "claims.type");
        assert_eq!(reason(json!({"typ": "ID"})), "claims.typ");
        assert_eq!(reason(json!({"typ": "Refresh"})), "claims.typ");
        assert_eq!(reason(json!({"typ": null})), "claims.typ");
        assert_eq!(reason(json!({"client_id": null, "clientId": "svc"})), "ok");
        assert_eq!(reason(json!({"client_id": null, "azp": null, "clientId": "svc"})), "ok");
        assert_eq!(reason(json!({"azp": null})), "ok");
        assert_eq!(reason(json!({"client_id": "other"})), "claims.client_id_conflict");
        assert_eq!(reason(json!({"client_id": 5})), "claims.type");
    }

    /// Only service-account tokens are exchanged (Keycloak rule, the default).
    #[test]
    fn keycloak_rule_accepts_only_service_account_tokens() {
        #[rustfmt::skip]
        let table: &[(&str, Value, &str)] = &[
            ("26.x service account", json!({}), "ok"),
            ("pre-26 service account (clientId)", json!({"client_id": null, "clientId": "svc"}), "ok"),
            ("both spellings agree", json!({"clientId": "svc"}), "ok"),
            ("no azp", json!({"azp": null}), "ok"),
            // A user's access token through a listed client: azp, preferred_username, sub; no client_id.
            ("user token", json!({"client_id": null, "preferred_username": "alice", "sid": "s", "scope": "openid"}), "claims.not_service_account"),
            ("user token named like a service account", json!({"client_id": null, "preferred_username": "service-account-svc"}), "claims.not_service_account"),
            ("token-exchange token (azp only)", json!({"client_id": null, "azp": "svc"}), "claims.not_service_account"),
            ("nothing names a client", json!({"client_id": null, "azp": null}), "claims.not_service_account"),
            ("empty client_id", json!({"client_id": "", "azp": null}), "claims.not_service_account"),
            ("empty client_id beside clientId", json!({"client_id": "", "clientId": "svc"}), "claims.client_id_conflict"),
            ("spellings disagree", json!({"clientId": "other"}), "claims.client_id_conflict"),
            ("azp disagrees", json!({"azp": "other"}), "claims.client_id_conflict"),
            ("empty azp", json!({"azp": ""}), "claims.client_id_conflict"),
            ("client_id not a string", json!({"client_id": ["svc"]}), "claims.type"),
            ("clientId not a string", json!({"clientId": 1}), "claims.type"),
            ("azp not a string", json!({"azp": {"id": "svc"}}), "claims.type"),
        ];
        for (name, patch, want) in table {
            assert_eq!(reason(patch.clone()), *want, "{name}");
        }
        assert_eq!(check(json!({"client_id": null, "clientId": "svc"})).unwrap().client_id, "svc");
    }

    /// A user's token whose client id a mapper writes (user attribute, hard-coded claim) is not a
    /// service account's: Keycloak's rule also needs the service-account user's name and no user
    /// session, which only the client_credentials grant gives.
    #[test]
    fn keycloak_rule_is_not_fooled_by_a_client_id_mapper() {
        #[rustfmt::skip]
        let table: &[(&str, Value, &str)] = &[
            ("client_credentials token (26.x)", json!({}), "ok"),
            ("client_credentials token (older, clientId)", json!({"client_id": null, "clientId": "svc"}), "ok"),
            // A user token from a realm whose mapper writes clientId: sid, session_state, alice.
            ("user token, clientId from a mapper", json!({"client_id": null, "clientId": "svc", "preferred_username": "alice",
                "sid": "b1f9c0de", "session_state": "b1f9c0de"}), "claims.not_service_account"),
            ("user token, client_id from a mapper (26.x: sid only)", json!({"preferred_username": "alice", "sid": "b1f9c0de"}), "claims.not_service_account"),
            ("user named like the service account, with a session", json!({"sid": "b1f9c0de"}), "claims.not_service_account"),
            ("session_state alone", json!({"session_state": "b1f9c0de"}), "claims.not_service_account"),
            ("sid empty", json!({"sid": ""}), "claims.not_service_account"),
            ("user's username, no session", json!({"preferred_username": "alice"}), "claims.not_service_account"),
            ("no preferred_username", json!({"preferred_username": null}), "claims.not_service_account"),
            ("preferred_username not a string", json!({"preferred_username": ["service-account-svc"]}), "claims.not_service_account"),
            ("another client's service account", json!({"preferred_username": "service-account-other"}), "claims.not_service_account"),
            ("the prefix alone", json!({"preferred_username": "service-account-"}), "claims.not_service_account"),
            ("username not lowercased", json!({"preferred_username": "service-account-SVC"}), "claims.not_service_account"),
            // Keycloak stores usernames lowercased: client `Orders-Svc`'s user is service-account-orders-svc.
            ("mixed-case client id", json!({"client_id": "Orders-Svc", "azp": "Orders-Svc", "preferred_username": "service-account-orders-svc"}), "ok"),
            ("mixed-case username", json!({"client_id": "Orders-Svc", "azp": "Orders-Svc", "preferred_username": "service-account-Orders-Svc"}), "claims.not_service_account"),
        ];
        for (name, patch, want) in table {
            assert_eq!(reason(patch.clone()), *want, "{name}");
        }
        // Present with any value, `null` too (`patched` removes on null: set it directly).
        for name in KEYCLOAK_SESSION_CLAIMS {
            let mut c = base();
            c[name] = Value::Null;
            assert_eq!(code(validate_token(c.as_object().unwrap(), &rules(), &CallerRules::default(), NOW)), "claims.not_service_account");
        }
        assert_eq!(keycloak_service_account_username("Orders-Svc"), "service-account-orders-svc");
        let m = |patch: Value| keycloak_service_account(patched(base(), patch).as_object().unwrap(), "svc");
        assert_eq!(m(json!({})), Ok(()));
        assert_eq!(m(json!({"sid": "s"})), Err(KeycloakMiss::Session));
        assert_eq!(m(json!({"preferred_username": "alice"})), Err(KeycloakMiss::Username));
    }

    /// A token bound to a key (`cnf`, whatever the method) is never exchanged: 400
    /// invalid_request, its own reason, nothing of the token echoed.
    #[test]
    fn sender_constrained_tokens_are_refused() {
        #[rustfmt::skip]
        let table: &[(&str, Value, &str)] = &[
            ("no cnf", json!({}), "ok"),
            ("DPoP (RFC 9449)", json!({"cnf": {"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}}), "claims.sender_constrained"),
            ("mutual TLS (RFC 8705)", json!({"cnf": {"x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}}), "claims.sender_constrained"),
            ("a JWK (RFC 7800)", json!({"cnf": {"jwk": {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}}}), "claims.sender_constrained"),
            ("an unknown method", json!({"cnf": {"x": 1}}), "claims.sender_constrained"),
            ("empty cnf", json!({"cnf": {}}), "claims.sender_constrained"),
            ("cnf not an object", json!({"cnf": "jkt"}), "claims.sender_constrained"),
            ("otherwise a user token", json!({"cnf": {"jkt": "x"}, "client_id": null}), "claims.sender_constrained"),
        ];
        for (name, patch, want) in table {
            assert_eq!(reason(patch.clone()), *want, "{name}");
        }
        let mut c = base();
        c["cnf"] = Value::Null; // `patched` removes on null: set it directly
        assert_eq!(code(validate_token(c.as_object().unwrap(), &rules(), &CallerRules::default(), NOW)), "claims.sender_constrained");
        let e = crate::Error::Claims(check(json!({"cnf": {"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}})).unwrap_err());
        let o = e.to_oauth(30);
        assert_eq!((o.status, o.error, o.reason), (400, "invalid_request", "claims.sender_constrained"));
        assert!(!o.description.contains("0ZcOCORZ") && !o.description.contains("svc"), "{}", o.description);
    }

    /// Non-Keycloak issuers say how their application tokens are recognised.
    #[test]
    fn configured_app_token_rules() {
        let mut r = rules();
        r.expected_typ = None;
        let rule_absent = |client: &str, marker: Marker, absent: &[&str]| CallerRules {
            app_token: AppTokenRule::Claims {
                client_claim: client.into(),
                marker,
                absent_claims: absent.iter().map(|a| a.to_string()).collect(),
            },
            allow_missing_sub: false,
        };
        let rule = |client: &str, marker: Marker| rule_absent(client, marker, &[]);
        let eq = |c: &str, v: &str| Marker::Equals { claim: c.into(), value: v.into() };
        let entra = rule("azp", eq("idtyp", "app"));
        let auth0 = rule("azp", eq("gty", "client-credentials"));
        let okta = rule_absent("cid", Marker::EqualsClaim { claim: "sub".into(), other: "cid".into() }, &["uid"]);
        let entra_no_scp = rule_absent("azp", eq("idtyp", "app"), &["scp"]);
        let kc = json!({"client_id": null, "typ": null});
        #[rustfmt::skip]
        let table: Vec<(&str, &CallerRules, Value, &str)> = vec![
            ("entra app", &entra, json!({"idtyp": "app", "sub": "oid"}), "ok"),
            ("entra user", &entra, json!({"idtyp": "user", "sub": "oid"}), "claims.not_service_account"),
            ("entra no idtyp", &entra, json!({"sub": "oid"}), "claims.not_service_account"),
            ("entra idtyp not a string", &entra, json!({"idtyp": ["app"]}), "claims.not_service_account"),
            ("entra app, client_id disagrees", &entra, json!({"idtyp": "app", "client_id": "x"}), "claims.client_id_conflict"),
            ("entra app, no azp", &entra, json!({"idtyp": "app", "azp": null}), "claims.client_id"),
            ("entra app, empty azp", &entra, json!({"idtyp": "app", "azp": ""}), "claims.client_id"),
            ("auth0 m2m", &auth0, json!({"gty": "client-credentials", "sub": "svc@clients"}), "ok"),
            ("auth0 user", &auth0, json!({"gty": "password"}), "claims.not_service_account"),
            ("auth0 authorization code (no gty)", &auth0, json!({}), "claims.not_service_account"),
            ("okta app", &okta, json!({"sub": "svc", "cid": "svc"}), "ok"),
            ("okta user", &okta, json!({"sub": "alice@example.com", "cid": "svc"}), "claims.not_service_account"),
            ("okta no cid", &okta, json!({"sub": "svc"}), "claims.not_service_account"),
            ("okta cid not a string", &okta, json!({"sub": "svc", "cid": 1}), "claims.not_service_account"),
            // A user whose login equals the client id: sub == cid, but Okta user tokens carry uid.
            ("okta user whose login is the client id", &okta, json!({"sub": "svc", "cid": "svc", "uid": "00u1abcd"}), "claims.not_service_account"),
            ("entra app carrying an absent claim", &entra_no_scp, json!({"idtyp": "app", "scp": "x"}), "claims.not_service_account"),
            ("entra app without it", &entra_no_scp, json!({"idtyp": "app"}), "ok"),
        ];
        // Merges two patches, keeping `null` (= remove) entries.
        let merge = |a: &Value, b: Value| {
            let mut m = a.clone();
            for (k, v) in b.as_object().unwrap() {
                m[k] = v.clone();
            }
            m
        };
        for (name, caller, patch, want) in table {
            let patch = merge(&kc, patch);
            assert_eq!(code(check_with(patch, &r, caller)), want, "{name}");
        }
        let c = check_with(merge(&kc, json!({"sub": "svc", "cid": "svc"})), &r, &okta).unwrap();
        assert_eq!(c.client_id, "svc");
        // An absent claim is absent with any value, `null` too.
        let mut t = patched(base(), merge(&kc, json!({"sub": "svc", "cid": "svc"})));
        t["uid"] = Value::Null;
        assert_eq!(code(validate_token(t.as_object().unwrap(), &r, &okta, NOW)), "claims.not_service_account");
    }

    /// `sub` is required by default (RFC 9068 §2.2); an explicit switch lifts it.
    #[test]
    fn sub_required_unless_allowed() {
        let allow = CallerRules { allow_missing_sub: true, ..CallerRules::default() };
        assert_eq!(reason(json!({"sub": null})), "claims.missing");
        assert_eq!(check(json!({"sub": null})).unwrap_err(), ClaimsError::MissingClaim("sub".into()));
        assert_eq!(reason(json!({"sub": ""})), "claims.missing");
        assert_eq!(code(check_with(json!({"sub": null}), &rules(), &allow)), "ok");
        // The switch only lifts presence: a `sub` that is there is still a string.
        assert_eq!(code(check_with(json!({"sub": 5}), &rules(), &allow)), "claims.type");
        // required_claims only adds.
        let mut r = rules();
        r.required_claims = vec!["tenant_id".into()];
        assert_eq!(code(check_with(json!({"sub": null, "tenant_id": "t"}), &r, &allow)), "ok");
        assert_eq!(code(check_with(json!({"sub": null}), &r, &allow)), "claims.missing");
    }

    /// Every registered or identifying claim present has its RFC type.
    #[test]
    fn registered_claims_have_their_types() {
        let mut untyped = rules();
        untyped.expected_typ = None;
        for name in ["sub", "jti", "azp", "client_id", "clientId", "typ"] {
            for bad in [json!(5), json!(true), json!(null), json!(["x"]), json!({"a": "b"})] {
                // `null` removes in `patched`: set the value directly.
                let mut c = base();
                c[name] = bad.clone();
                let got = validate_token(c.as_object().unwrap(), &untyped, &CallerRules::default(), NOW);
                assert_eq!(got.unwrap_err(), ClaimsError::BadClaimType(name.into()), "{name}: {bad}");
            }
        }
        // iss of the wrong type is not the issuer.
        assert_eq!(reason(json!({"iss": ["https://kc.example/realms/r"]})), "claims.iss");
        for bad in [json!(5), json!(["edge-sts", 5]), json!([["edge-sts"]]), json!({"aud": "edge-sts"})] {
            assert_eq!(reason(json!({ "aud": bad.clone() })), "claims.type", "aud {bad}");
        }
        assert_eq!(reason(json!({"aud": ["edge-sts"]})), "ok");
        assert_eq!(reason(json!({"jti": "abc"})), "ok");
        assert_eq!(reason(json!({"nbf": "1"})), "claims.time_type");
        assert_eq!(ClaimsError::BadClaimType("jti".into()).reason(), "claims.type");
    }

    /// A refused user token: `invalid_request`, its own reason, nothing of the token echoed.
    #[test]
    fn not_service_account_maps_to_invalid_request() {
        let e = crate::Error::Claims(check(json!({"client_id": null, "azp": "web-portal"})).unwrap_err());
        let o = e.to_oauth(30);
        assert_eq!((o.status, o.error, o.reason), (400, "invalid_request", "claims.not_service_account"));
        assert!(!o.description.contains("web-portal") && !o.description.contains("svc"), "{}", o.description);
    }

    fn load_issuer(extra: Value) -> Result<crate::config::Config, crate::config::ConfigError> {
        let mut iss = json!({"issuer": "https://idp.example", "audiences": ["edge-sts"]});
        for (k, v) in extra.as_object().unwrap() {
            iss[k] = v.clone();
        }
        crate::config::load(&json!({"mode": "dev", "issuer": "https://sts.example", "trusted_issuers": [iss]}).to_string())
    }

    #[test]
    fn config_app_token_and_allow_missing_sub() {
        let c = load_issuer(json!({})).unwrap();
        assert_eq!(c.trusted[0].caller, CallerRules::default());
        assert_eq!(c.trusted[0].caller.app_token, AppTokenRule::Keycloak);
        assert!(!c.trusted[0].caller.allow_missing_sub);
        let c = load_issuer(json!({"allow_missing_sub": true,
            "app_token": {"client_claim": "azp", "marker": {"claim": "idtyp", "equals": "app"}}}))
        .unwrap();
        let want = AppTokenRule::Claims {
            client_claim: "azp".into(),
            marker: Marker::Equals { claim: "idtyp".into(), value: "app".into() },
            absent_claims: vec![],
        };
        assert_eq!(c.trusted[0].caller, CallerRules { app_token: want, allow_missing_sub: true });
        let c = load_issuer(
            json!({"app_token": {"client_claim": "cid", "marker": {"claim": "sub", "equals_claim": "cid", "absent_claims": ["uid"]}}}),
        )
        .unwrap();
        assert_eq!(
            c.trusted[0].caller.app_token,
            AppTokenRule::Claims {
                client_claim: "cid".into(),
                marker: Marker::EqualsClaim { claim: "sub".into(), other: "cid".into() },
                absent_claims: vec!["uid".into()]
            }
        );
        // Refusals name the field, the problem and the fix.
        #[rustfmt::skip]
        let bad: &[(Value, &str)] = &[
            (json!({"client_claim": "", "marker": {"claim": "idtyp", "equals": "app"}}), "trusted_issuers[0].app_token.client_claim"),
            (json!({"client_claim": "azp", "marker": {"claim": "", "equals": "app"}}), "trusted_issuers[0].app_token.marker.claim"),
            (json!({"client_claim": "azp", "marker": {"claim": "idtyp", "equals": ""}}), "trusted_issuers[0].app_token.marker.equals"),
            (json!({"client_claim": "azp", "marker": {"claim": "sub", "equals_claim": ""}}), "trusted_issuers[0].app_token.marker.equals_claim"),
            (json!({"client_claim": "azp", "marker": {"claim": "idtyp"}}), "trusted_issuers[0].app_token.marker"),
            (json!({"client_claim": "azp", "marker": {"claim": "idtyp", "equals": "app", "equals_claim": "x"}}), "trusted_issuers[0].app_token.marker"),
        ];
        for (app, field) in bad {
            let e = load_issuer(json!({ "app_token": app.clone() })).unwrap_err();
            assert_eq!(e.field, *field, "{app}");
            assert!(!e.problem.is_empty() && !e.fix.is_empty());
        }
        // Unknown members are typos, refused like everywhere else.
        assert!(load_issuer(json!({"app_token": {"client_claim": "azp", "marker": {"claim": "gty", "value": "x"}}})).is_err());
        assert!(load_issuer(json!({"app_token": {"client_claim": "azp"}})).is_err());
        assert!(load_issuer(json!({"allow_missing_sub": "yes"})).is_err());
    }

    /// A marker that holds for every token (or for none) cannot tell application tokens from
    /// user tokens: refused at load, with the field, the problem and the fix.
    #[test]
    fn markers_that_cannot_tell_tokens_apart_are_refused() {
        let app = |marker: Value| json!({"app_token": {"client_claim": "cid", "marker": marker}});
        #[rustfmt::skip]
        let bad: &[(Value, &str)] = &[
            // Always holds.
            (app(json!({"claim": "sub", "equals_claim": "sub"})), "trusted_issuers[0].app_token.marker.equals_claim"),
            (app(json!({"claim": "cid", "equals_claim": "cid"})), "trusted_issuers[0].app_token.marker.equals_claim"),
            (app(json!({"claim": "iss", "equals": "https://idp.example"})), "trusted_issuers[0].app_token.marker.claim"),
            (app(json!({"claim": "sub", "equals_claim": "iss"})), "trusted_issuers[0].app_token.marker.equals_claim"),
            // `expected_typ` (default "Bearer") already fixes typ.
            (app(json!({"claim": "typ", "equals": "Bearer"})), "trusted_issuers[0].app_token.marker.claim"),
            // Never holds.
            (app(json!({"claim": "sub", "equals_claim": "cid", "absent_claims": ["sub"]})), "trusted_issuers[0].app_token.marker.absent_claims[0]"),
            (app(json!({"claim": "sub", "equals_claim": "cid", "absent_claims": ["uid", "cid"]})), "trusted_issuers[0].app_token.marker.absent_claims[1]"),
            (app(json!({"claim": "gty", "equals": "client-credentials", "absent_claims": ["cid"]})), "trusted_issuers[0].app_token.marker.absent_claims[0]"),
            (app(json!({"claim": "gty", "equals": "client-credentials", "absent_claims": ["exp"]})), "trusted_issuers[0].app_token.marker.absent_claims[0]"),
            (app(json!({"claim": "gty", "equals": "client-credentials", "absent_claims": ["typ"]})), "trusted_issuers[0].app_token.marker.absent_claims[0]"),
            (app(json!({"claim": "idtyp", "equals": "app", "absent_claims": ["sub"]})), "trusted_issuers[0].app_token.marker.absent_claims[0]"),
            (app(json!({"claim": "idtyp", "equals": "app", "absent_claims": [""]})), "trusted_issuers[0].app_token.marker.absent_claims[0]"),
        ];
        for (extra, field) in bad {
            let e = load_issuer(extra.clone()).unwrap_err();
            assert_eq!(e.field, *field, "{extra}");
            assert!(!e.problem.is_empty() && !e.fix.is_empty(), "{extra}");
        }
        let e = load_issuer(app(json!({"claim": "sub", "equals_claim": "sub"}))).unwrap_err();
        assert!(e.problem.contains("every token"), "{}", e.problem);
        // A claim the issuer's own rules require cannot be one that must be absent.
        let e = load_issuer(json!({"required_claims": ["tenant"], "app_token": {"client_claim": "cid",
            "marker": {"claim": "idtyp", "equals": "app", "absent_claims": ["tenant"]}}}))
        .unwrap_err();
        assert_eq!(e.field, "trusted_issuers[0].app_token.marker.absent_claims[0]");
        // Without expected_typ, typ is the issuer's own claim; with allow_missing_sub, sub may be absent.
        assert!(load_issuer(
            json!({"expected_typ": null, "app_token": {"client_claim": "azp", "marker": {"claim": "typ", "equals": "app"}}})
        )
        .is_ok());
        assert!(load_issuer(json!({"allow_missing_sub": true, "app_token": {"client_claim": "azp",
            "marker": {"claim": "idtyp", "equals": "app", "absent_claims": ["sub"]}}}))
        .is_ok());
        // The documented examples load.
        for marker in [
            json!({"claim": "idtyp", "equals": "app"}),
            json!({"claim": "gty", "equals": "client-credentials"}),
            json!({"claim": "sub", "equals_claim": "cid", "absent_claims": ["uid"]}),
        ] {
            assert!(load_issuer(app(marker.clone())).is_ok(), "{marker}");
        }
    }

    #[test]
    fn required_claims() {
        let mut r = rules();
        r.required_claims = vec!["tenant_id".into()];
        let caller = CallerRules::default();
        assert_eq!(code(check_with(json!({}), &r, &caller)), "claims.missing");
        assert_eq!(code(check_with(json!({"tenant_id": "acme"}), &r, &caller)), "ok");
    }
}
