//! The sentences the checks are explained with: times (absolute and relative), algorithms,
//! claim values.
use crate::jose::alg::{Alg, Family};
use serde_json::{Map, Value};

/// `2027-01-15T08:00:00Z` for seconds since the epoch (proleptic Gregorian, UTC).
pub fn iso8601(secs: f64) -> String {
    let s = secs.floor() as i64;
    let (days, rem) = (s.div_euclid(86_400), s.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// `in 4 min`, `3 h ago`, `now`.
pub fn relative(delta_secs: f64) -> String {
    let a = delta_secs.abs();
    let amount = if a < 1.0 {
        return "now".into();
    } else if a < 90.0 {
        format!("{} s", a.round())
    } else if a < 90.0 * 60.0 {
        format!("{} min", (a / 60.0).round())
    } else if a < 36.0 * 3600.0 {
        format!("{} h", (a / 3600.0).round())
    } else {
        format!("{} days", (a / 86_400.0).round())
    };
    if delta_secs > 0.0 {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

pub(super) fn when(t: f64, now: f64) -> String {
    format!("{} ({})", iso8601(t), relative(t - now))
}

pub(super) fn alg_explained(a: Alg) -> &'static str {
    match a.family() {
        Family::RsaPkcs1 => "RSA PKCS#1 v1.5",
        Family::RsaPss => "RSA-PSS",
        Family::Ecdsa => "ECDSA",
        Family::Ed25519 => "Ed25519",
    }
}

pub(super) fn alg_refused_message(header: &Map<String, Value>) -> String {
    match header.get("alg") {
        None => "the header has no `alg`".into(),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("none") => {
            format!("`alg: {s}` means an unsigned token: anyone can write one, so it is never accepted")
        }
        Some(Value::String(s)) if s.to_ascii_uppercase().starts_with("HS") => format!(
            "`{s}` is HMAC with a shared secret: only asymmetric signatures are accepted (an HMAC token keyed with a public key is a classic forgery)"
        ),
        Some(Value::String(s)) => format!("`{s}` is not accepted (accepted: {})", Alg::ALL.map(Alg::as_str).join(", ")),
        Some(v) => format!("`alg` is {v}, not a string"),
    }
}

/// Whether the claims look like a Keycloak token's: `iss` is a realm URL (`.../realms/<realm>`),
/// or the payload `typ` is one Keycloak writes (`Bearer`, `ID`, `Refresh`). Explanations name
/// Keycloak only then.
pub fn looks_like_keycloak(claims: &Map<String, Value>) -> bool {
    let realm = claims.get("iss").and_then(Value::as_str).is_some_and(|i| i.contains("/realms/"));
    let typ = claims.get("typ").and_then(Value::as_str).is_some_and(|t| ["Bearer", "ID", "Refresh"].contains(&t));
    realm || typ
}

pub(super) fn show(v: Option<&Value>) -> String {
    match v {
        None => "absent".into(),
        Some(v) => v.to_string(),
    }
}

#[cfg(all(test, feature = "pure-crypto"))]
mod tests {
    use super::super::tests::{claims, expect, forged, run, NOW};
    use super::*;

    #[test]
    fn messages() {
        assert_eq!(iso8601(0.0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(NOW), "2027-01-15T08:00:00Z");
        assert_eq!(iso8601(951_782_400.0), "2000-02-29T00:00:00Z");
        assert_eq!(relative(240.0), "in 4 min");
        assert_eq!(relative(-30.0), "30 s ago");
        assert_eq!(relative(-7200.0), "2 h ago");
        assert_eq!(relative(0.2), "now");
        let hs = forged(r#"{"alg":"HS256"}"#, &claims());
        let r = run(&hs, None, &expect());
        let alg = r.checks.iter().find(|c| c.id.as_str() == "alg").unwrap();
        assert!(alg.message.contains("HMAC"), "{}", alg.message);
        assert_eq!(alg.description.as_deref(), Some("subject token alg is not accepted"));
    }
}
