//! Claim rules for a verified subject token: time, issuer, audience, Keycloak `typ`, caller
//! identity, required claims. Pure: `now` is an argument (seconds since the epoch).
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

#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ClaimsError {
    WrongIssuer,
    MissingClaim(String),
    /// A time claim that is not a non-negative JSON number below 2^53.
    BadTimeClaim(&'static str),
    BadClaimType(&'static str),
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
            ClaimsError::NoClientId => f.write_str("subject token names no client (client_id, clientId or azp)"),
            ClaimsError::ConflictingClientId => f.write_str("subject token names conflicting clients"),
        }
    }
}

impl ClaimsError {
    pub fn reason(&self) -> &'static str {
        match self {
            ClaimsError::WrongIssuer => "claims.iss",
            ClaimsError::MissingClaim(_) => "claims.missing",
            ClaimsError::BadTimeClaim(_) => "claims.time_type",
            ClaimsError::BadClaimType(_) => "claims.type",
            ClaimsError::Expired { .. } => "claims.expired",
            ClaimsError::NotYetValid { .. } => "claims.nbf",
            ClaimsError::IssuedInFuture { .. } => "claims.iat",
            ClaimsError::LifetimeTooLong { .. } => "claims.lifetime",
            ClaimsError::WrongAudience => "claims.aud",
            ClaimsError::WrongTyp => "claims.typ",
            ClaimsError::NoClientId => "claims.client_id",
            ClaimsError::ConflictingClientId => "claims.client_id_conflict",
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

/// The caller's client id: `client_id`, `clientId` and `azp` must agree where present.
pub fn client_identity(claims: &Map<String, Value>) -> Result<String, ClaimsError> {
    // Keycloak versions differ: `client_id` (>= 26), `clientId` (older), `azp` (always).
    let mut found: Option<&str> = None;
    for name in ["client_id", "clientId", "azp"] {
        match claims.get(name) {
            None => {}
            Some(Value::String(s)) if !s.is_empty() => match found {
                None => found = Some(s),
                Some(prev) if prev == s => {}
                Some(_) => return Err(ClaimsError::ConflictingClientId),
            },
            Some(_) => {
                return Err(ClaimsError::BadClaimType(match name {
                    "client_id" => "client_id",
                    "clientId" => "clientId",
                    _ => "azp",
                }))
            }
        }
    }
    found.map(str::to_owned).ok_or(ClaimsError::NoClientId)
}

fn audience_ok(claims: &Map<String, Value>, accepted: &[String]) -> Result<bool, ClaimsError> {
    match claims.get("aud") {
        None => Ok(false),
        Some(Value::String(s)) => Ok(accepted.iter().any(|a| a == s)),
        Some(Value::Array(items)) => {
            let mut ok = false;
            for i in items {
                let s = i.as_str().ok_or(ClaimsError::BadClaimType("aud"))?;
                ok |= accepted.iter().any(|a| a == s);
            }
            Ok(ok)
        }
        Some(_) => Err(ClaimsError::BadClaimType("aud")),
    }
}

// One function per rule, so tools (the playground's `inspect`) can report every rule, not only
// the first failure. `validate` calls them in its fixed order.

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

/// Every listed claim must be present and not `null`.
pub fn check_required(claims: &Map<String, Value>, required: &[String]) -> Result<(), ClaimsError> {
    for c in required {
        if claims.get(c).is_none_or(Value::is_null) {
            return Err(ClaimsError::MissingClaim(c.clone()));
        }
    }
    Ok(())
}

/// Checks every claim rule, in a fixed order (cheap, non-secret checks first).
pub fn validate(claims: &Map<String, Value>, rules: &ClaimRules, now: f64) -> Result<Caller, ClaimsError> {
    check_issuer(claims, &rules.issuer)?;
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
    check_required(claims, &rules.required_claims)?;
    let client_id = client_identity(claims)?;
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
               "iat": NOW - 10.0, "typ": "Bearer", "azp": "svc", "client_id": "svc"})
    }

    fn check(patch: Value) -> Result<Caller, ClaimsError> {
        let mut c = base();
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        validate(c.as_object().unwrap(), &rules(), NOW)
    }

    fn reason(patch: Value) -> &'static str {
        match check(patch) {
            Ok(_) => "ok",
            Err(e) => e.reason(),
        }
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
        assert_eq!(reason(json!({"client_id": null})), "ok");
        assert_eq!(reason(json!({"client_id": null, "azp": null})), "claims.client_id");
        assert_eq!(reason(json!({"client_id": null, "azp": null, "clientId": "svc"})), "ok");
        assert_eq!(reason(json!({"client_id": "other"})), "claims.client_id_conflict");
        assert_eq!(reason(json!({"client_id": 5})), "claims.type");
    }

    #[test]
    fn required_claims() {
        let mut r = rules();
        r.required_claims = vec!["tenant_id".into()];
        let mut c = base();
        assert_eq!(validate(c.as_object().unwrap(), &r, NOW).unwrap_err().reason(), "claims.missing");
        c["tenant_id"] = json!("acme");
        assert!(validate(c.as_object().unwrap(), &r, NOW).is_ok());
    }
}
