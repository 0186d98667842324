//! Stage 7: the claim rules, every one of them (the Worker stops at the first failure, in
//! `claims::validate_token`'s order; this reports each, through the same `claims::*` functions).
use super::messages::{looks_like_keycloak, relative, show, when};
use super::{fail, pass, skip, Check, CheckId, Expectations, Times};
use crate::flow::error::Error;
use crate::issuer::claims::{self, AppTokenRule, ClaimsError, KeycloakMiss, Marker};
use serde_json::{Map, Value};

/// `claim_types`, `exp`, `nbf`, `iat`, `lifetime`, `aud`, `typ`, `cnf`, `sub`,
/// `required_claims`, `client_id`. Returns the token's times for the page's countdown.
pub(super) fn check(claims: Option<&Map<String, Value>>, ex: &Expectations, now: f64, checks: &mut Vec<Check>) -> Times {
    let Some(c) = claims else {
        for id in [
            CheckId::ClaimTypes,
            CheckId::Exp,
            CheckId::Nbf,
            CheckId::Iat,
            CheckId::Lifetime,
            CheckId::Aud,
            CheckId::Typ,
            CheckId::Cnf,
            CheckId::Sub,
            CheckId::RequiredClaims,
            CheckId::ClientId,
        ] {
            checks.push(skip(id, "no claims to read"));
        }
        return Times { exp: None, nbf: None, iat: None, leeway_secs: ex.leeway_secs };
    };
    checks.push(claim_types(c));
    let times = time_rules(c, ex, now, checks);
    let client = match (&ex.app_token, ex.any_jwt()) {
        (Some(rule), _) => client_id(c, rule),
        (None, false) => client_id(c, &AppTokenRule::Keycloak),
        (None, true) => skip(CheckId::ClientId, "no application-token rule given"),
    };
    checks.extend([audience(c, ex), typ(c, ex), cnf(c, ex), sub(c, ex), required(c, ex), client]);
    times
}

/// `claim_types`: every registered or identifying claim present has its RFC type
/// (`claims::check_claim_types`, asked claim by claim so that every wrong one is named).
fn claim_types(c: &Map<String, Value>) -> Check {
    let names = claims::STRING_CLAIMS.iter().copied().chain(["aud", "exp", "nbf", "iat"]);
    let wrong: Vec<&str> = names
        .filter(|name| {
            let one: Map<String, Value> = c.get(*name).map(|v| (name.to_string(), v.clone())).into_iter().collect();
            claims::check_claim_types(&one).is_err()
        })
        .collect();
    match claims::check_claim_types(c) {
        Ok(()) => pass(CheckId::ClaimTypes, "registered claims have their types"),
        Err(e) => {
            let each: Vec<String> = wrong
                .iter()
                .map(|name| {
                    let want = match *name {
                        "aud" => "a string or an array of strings",
                        "exp" | "nbf" | "iat" => "a NumericDate",
                        _ => "a string",
                    };
                    format!("`{name}` is {} (must be {want})", show(c.get(*name)))
                })
                .collect();
            fail(CheckId::ClaimTypes, &Error::Claims(e), each.join("; "))
        }
    }
}

/// `sub`: required (RFC 9068 §2.2) unless the issuer allows tokens without it; a string.
fn sub(c: &Map<String, Value>, ex: &Expectations) -> Check {
    match claims::check_sub(c, ex.allow_missing_sub || ex.any_jwt()) {
        Ok(()) if c.contains_key("sub") => pass(CheckId::Sub, format!("sub {}", show(c.get("sub")))),
        Ok(()) if ex.any_jwt() => skip(CheckId::Sub, "no sub; not required of any JWT (list it under required claims to require it)"),
        Ok(()) => pass(CheckId::Sub, "no sub; allowed (allow_missing_sub)"),
        Err(e @ ClaimsError::BadClaimType(_)) => {
            fail(CheckId::Sub, &Error::Claims(e), format!("sub is {}: must be a string", show(c.get("sub"))))
        }
        Err(e) => fail(
            CheckId::Sub,
            &Error::Claims(e),
            format!(
                "sub is {}: RFC 9068 requires a non-empty sub; allow_missing_sub lets an issuer whose tokens lack it through",
                show(c.get("sub"))
            ),
        ),
    }
}

/// `exp`, `nbf`, `iat` and `lifetime`.
fn time_rules(c: &Map<String, Value>, ex: &Expectations, now: f64, checks: &mut Vec<Check>) -> Times {
    let leeway = ex.leeway_secs;
    let mut times = Times { exp: None, nbf: None, iat: None, leeway_secs: leeway };
    let exp = claims::required_exp(c);
    let nbf = claims::numeric_date(c, "nbf");
    let iat = claims::numeric_date(c, "iat");
    times.exp = exp.as_ref().ok().copied();
    times.nbf = nbf.as_ref().ok().copied().flatten();
    times.iat = iat.as_ref().ok().copied().flatten();
    let bad_time = |id: CheckId, claim: &str, e: ClaimsError| {
        let m = match &e {
            ClaimsError::MissingClaim(_) => format!("`{claim}` is required"),
            _ => format!("`{claim}` is {}: a NumericDate is a non-negative JSON number of seconds below 2^53", show(c.get(claim))),
        };
        fail(id, &Error::Claims(e), m)
    };
    checks.push(match exp.clone() {
        Err(ClaimsError::MissingClaim(_)) if ex.any_jwt() => skip(CheckId::Exp, "no exp: the token never expires (edge-sts requires one)"),
        Err(e) => bad_time(CheckId::Exp, "exp", e),
        Ok(t) => match claims::check_exp(t, leeway, now) {
            Ok(()) => pass(CheckId::Exp, format!("expires {} (leeway {leeway} s)", when(t, now))),
            Err(e) => fail(
                CheckId::Exp,
                &Error::Claims(e),
                format!("expired {}; with {leeway} s leeway it stopped being accepted {}", when(t, now), relative(t + leeway as f64 - now)),
            ),
        },
    });
    checks.push(match nbf.clone() {
        Err(e) => bad_time(CheckId::Nbf, "nbf", e),
        Ok(None) => pass(CheckId::Nbf, "no nbf"),
        Ok(Some(t)) => match claims::check_nbf(Some(t), leeway, now) {
            Ok(()) => pass(CheckId::Nbf, format!("valid from {}", when(t, now))),
            Err(e) => fail(
                CheckId::Nbf,
                &Error::Claims(e),
                format!("not valid before {}; with {leeway} s leeway, accepted {}", when(t, now), relative(t - leeway as f64 - now)),
            ),
        },
    });
    checks.push(match iat.clone() {
        Err(e) => bad_time(CheckId::Iat, "iat", e),
        Ok(None) => pass(CheckId::Iat, "no iat"),
        Ok(Some(t)) => match claims::check_iat(Some(t), leeway, now) {
            Ok(()) => pass(CheckId::Iat, format!("issued {}", when(t, now))),
            Err(_) if ex.any_jwt() => skip(
                CheckId::Iat,
                format!("issued in the future: {} (leeway {leeway} s); not judged for any JWT, edge-sts refuses it", when(t, now)),
            ),
            Err(e) => fail(CheckId::Iat, &Error::Claims(e), format!("issued in the future: {} (leeway {leeway} s)", when(t, now))),
        },
    });
    checks.push(match (exp, iat, ex.max_lifetime_secs) {
        (Ok(e), Ok(i), None) => {
            skip(CheckId::Lifetime, format!("lifetime {} s; no maximum given", (e - i.unwrap_or(now).min(now)).round()))
        }
        (_, _, None) => skip(CheckId::Lifetime, "no maximum given"),
        (Ok(e), Ok(i), Some(max)) => match claims::check_lifetime(e, i, max, now) {
            Ok(()) => pass(CheckId::Lifetime, format!("lifetime {} s (max {max})", (e - i.unwrap_or(now).min(now)).round())),
            Err(err) => fail(
                CheckId::Lifetime,
                &Error::Claims(err),
                format!("exp - min(iat, now) = {} s exceeds max_token_lifetime_secs {max}", (e - i.unwrap_or(now).min(now)).round()),
            ),
        },
        _ => skip(CheckId::Lifetime, "needs valid exp and iat"),
    });
    times
}

/// `aud`. Without expected audiences, only what fails under any configuration.
fn audience(c: &Map<String, Value>, ex: &Expectations) -> Check {
    if ex.audiences.is_empty() {
        match claims::check_audience(c, &[]) {
            Err(e @ ClaimsError::BadClaimType(_)) => {
                fail(CheckId::Aud, &Error::Claims(e), format!("aud is {}: a string or an array of strings", show(c.get("aud"))))
            }
            _ if c.get("aud").is_none() && ex.any_jwt() => skip(CheckId::Aud, "no aud; no expected audience given"),
            _ if c.get("aud").is_none() => fail(
                CheckId::Aud,
                &Error::Claims(ClaimsError::WrongAudience),
                "no aud: the Worker requires one of its configured audiences",
            ),
            _ => skip(CheckId::Aud, format!("aud {}; no expected audience given", show(c.get("aud")))),
        }
    } else {
        match claims::check_audience(c, &ex.audiences) {
            Ok(()) => pass(CheckId::Aud, format!("aud {} contains an expected audience", show(c.get("aud")))),
            Err(e) => {
                let m = match &e {
                    ClaimsError::BadClaimType(_) => format!("aud is {}: a string or an array of strings", show(c.get("aud"))),
                    _ => format!(
                        "aud {} contains none of {:?} (exact, case-sensitive){}",
                        show(c.get("aud")),
                        ex.audiences,
                        if looks_like_keycloak(c) { ". Keycloak adds an audience with an Audience mapper" } else { "" }
                    ),
                };
                fail(CheckId::Aud, &Error::Claims(e), m)
            }
        }
    }
}

/// `typ` (Keycloak's payload `typ`).
fn typ(c: &Map<String, Value>, ex: &Expectations) -> Check {
    match &ex.expected_typ {
        None => skip(CheckId::Typ, format!("typ {}; not checked", show(c.get("typ")))),
        Some(want) => match claims::check_typ(c, Some(want)) {
            Ok(()) => pass(CheckId::Typ, format!("typ `{want}`")),
            Err(e) => {
                let kind = match c.get("typ").and_then(Value::as_str) {
                    Some("ID") => " (an ID token, not an access token)",
                    Some("Refresh") => " (a refresh token, not an access token)",
                    _ => "",
                };
                fail(CheckId::Typ, &Error::Claims(e), format!("typ is {}{kind}; expected `{want}`", show(c.get("typ"))))
            }
        },
    }
}

/// `cnf`: a token bound to a key (`claims::check_unbound`). A generic library does not judge it;
/// edge-sts refuses it.
fn cnf(c: &Map<String, Value>, ex: &Expectations) -> Check {
    match claims::check_unbound(c) {
        Ok(()) => pass(CheckId::Cnf, "not bound to a key (no cnf)"),
        Err(e) => {
            let how = match c.get("cnf") {
                Some(Value::Object(m)) if m.contains_key("jkt") => "to a DPoP key (cnf.jkt, RFC 9449)",
                Some(Value::Object(m)) if m.contains_key("x5t#S256") => "to a client certificate (cnf[\"x5t#S256\"], RFC 8705)",
                _ => "to a key (cnf)",
            };
            if ex.any_jwt() {
                skip(CheckId::Cnf, format!("bound {how}; not judged for any JWT, edge-sts refuses it"))
            } else {
                fail(
                    CheckId::Cnf,
                    &Error::Claims(e),
                    format!("bound {how}: edge-sts does not check the binding, so it refuses every bound token rather than exchange it as a bearer token"),
                )
            }
        }
    }
}

/// `required_claims`.
fn required(c: &Map<String, Value>, ex: &Expectations) -> Check {
    if ex.required_claims.is_empty() {
        skip(CheckId::RequiredClaims, "no required claims given")
    } else {
        match claims::check_required(c, &ex.required_claims) {
            Ok(()) => pass(CheckId::RequiredClaims, format!("present: {}", ex.required_claims.join(", "))),
            Err(e @ ClaimsError::MissingClaim(_)) => {
                let m = e.to_string();
                fail(CheckId::RequiredClaims, &Error::Claims(e), m)
            }
            Err(e) => fail(CheckId::RequiredClaims, &Error::Claims(e), ""),
        }
    }
}

/// `client_id`: the token is an application (service-account) token and names its client
/// (`claims::app_client`, the issuer's app-token rule); every claim that names a client agrees.
fn client_id(c: &Map<String, Value>, rule: &AppTokenRule) -> Check {
    let from = match rule {
        AppTokenRule::Keycloak => "from client_id/clientId".to_owned(),
        AppTokenRule::Claims { client_claim, .. } => format!("from {client_claim}"),
    };
    match claims::app_client(c, rule) {
        Ok(id) => pass(CheckId::ClientId, format!("service-account client `{id}` ({from})")),
        Err(e) => {
            let mut seen =
                format!("client_id {}, clientId {}, azp {}", show(c.get("client_id")), show(c.get("clientId")), show(c.get("azp")));
            if let AppTokenRule::Claims { client_claim, .. } = rule {
                if !["client_id", "clientId", "azp"].contains(&client_claim.as_str()) {
                    seen = format!("{client_claim} {}, {seen}", show(c.get(client_claim)));
                }
            }
            let m = match (&e, rule) {
                (ClaimsError::NotServiceAccount, AppTokenRule::Keycloak) => keycloak_miss(c, &seen),
                (ClaimsError::NotServiceAccount, AppTokenRule::Claims { marker, absent_claims, .. }) => {
                    let present: Vec<&str> = absent_claims.iter().filter(|a| c.contains_key(*a)).map(String::as_str).collect();
                    let why = match marker {
                        _ if claims::marker_holds(c, marker, &[]) => {
                            format!("it carries {}, which only user tokens carry (absent_claims)", present.join(", "))
                        }
                        Marker::Equals { claim, value } => format!("`{claim}` is {}, not `{value}`", show(c.get(claim))),
                        Marker::EqualsClaim { claim, other } => {
                            format!(
                                "`{claim}` {} and `{other}` {} are not the same non-empty string",
                                show(c.get(claim)),
                                show(c.get(other))
                            )
                        }
                    };
                    format!("not a service-account (client credentials) token, e.g. a user's token: {why}")
                }
                (ClaimsError::ConflictingClientId, _) => format!("the claims naming the client disagree: {seen}"),
                (ClaimsError::NoClientId, _) => format!("no client: {seen}"),
                _ => format!("not strings: {seen}"),
            };
            fail(CheckId::ClientId, &Error::Claims(e), m)
        }
    }
}

/// Why Keycloak's rule refused a token (`claims::keycloak_service_account`): no client id, a
/// username that is not the client's service-account user, or a user session.
fn keycloak_miss(c: &Map<String, Value>, seen: &str) -> String {
    let lead = "not a service-account (client credentials) token, e.g. a user's token";
    let client = ["client_id", "clientId"].iter().find_map(|n| c.get(*n).and_then(Value::as_str)).filter(|s| !s.is_empty());
    let Some(client) = client else {
        return format!(
            "{lead}: it has no client_id or clientId (Keycloak writes them only for the client_credentials grant, through the Client ID mapper); {seen}"
        );
    };
    match claims::keycloak_service_account(c, client) {
        Err(KeycloakMiss::Session) => {
            let s: Vec<String> =
                claims::KEYCLOAK_SESSION_CLAIMS.iter().filter(|n| c.contains_key(**n)).map(|n| format!("{n} {}", show(c.get(*n)))).collect();
            format!(
                "{lead}: it carries a user session ({}), which Keycloak leaves out of client_credentials tokens; a client id in a user's token comes from a mapper",
                s.join(", ")
            )
        }
        Err(KeycloakMiss::Username) => format!(
            "{lead}: preferred_username is {}, not `{}` (the client's service-account user); a client id in a user's token comes from a mapper",
            show(c.get("preferred_username")),
            claims::keycloak_service_account_username(client)
        ),
        Ok(()) => format!("{lead}; {seen}"),
    }
}
