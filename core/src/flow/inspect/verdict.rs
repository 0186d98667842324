//! Stage 8: the verdict. Walks the Worker's own path (`exchange::verify_subject_token`: parse,
//! issuer, allow-list, `KeySet::select_one` and the signature, `claims::validate_token`) with the pasted keys and the
//! expectations, stopping at the first failure as the Worker does, and says what `POST /token`
//! would answer.
use super::{Check, CheckId, Expectations, Status};
use crate::flow::error::Error;
use crate::io::fetch::FetchError;
use crate::issuer::claims::{self, ClaimRules};
use crate::issuer::key_store::KeyError;
use crate::jose::alg::Alg;
use crate::jose::crypto::{self, SignatureBackend};
use crate::jose::jwk::KeySet;
use crate::jose::token::UntrustedToken;
use serde::Serialize;
use serde_json::{Map, Value};

/// The `Retry-After` a 503 would carry: the JWKS cooldown's default.
pub(super) const RETRY_AFTER_SECS: u64 = 30;

/// The Worker's answer for this token, given the key and expectations.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// `valid`, `invalid`, or `unverified` (nothing failed, but no key was given).
    pub status: &'static str,
    pub reason_code: Option<&'static str>,
    pub description: Option<String>,
    /// What `POST /token` would answer with this failure.
    pub http_status: Option<u16>,
    pub oauth_error: Option<&'static str>,
    pub client_id: Option<String>,
    /// Rules the Worker would apply that this run could not (`iss`, `aud`, `signature`).
    pub not_checked: Vec<CheckId>,
}

/// The path `exchange::verify_subject_token` takes, with the pasted keys and the expectations.
async fn worker_path<B: SignatureBackend>(
    backend: &B,
    token: &str,
    keys: Option<Result<&KeySet, &String>>,
    ex: &Expectations,
    allowed: Option<Vec<Alg>>,
    now: f64,
    not_checked: &mut Vec<CheckId>,
) -> Result<String, Error> {
    let t = UntrustedToken::parse(token, ex.token_limits())?;
    let iss = t.issuer().ok_or(Error::UntrustedIssuer)?;
    match &ex.issuer {
        Some(want) if want != iss => return Err(Error::UntrustedIssuer),
        Some(_) => {}
        // Expectations from a configuration none of whose issuers is the token's.
        None if !ex.trusted_issuers.is_empty() => return Err(Error::UntrustedIssuer),
        None => not_checked.push(CheckId::Iss),
    }
    if allowed.as_ref().is_some_and(|a| !a.contains(&t.alg)) {
        return Err(Error::AlgNotAllowed);
    }
    match keys {
        None => not_checked.push(CheckId::Signature),
        Some(Err(_)) => return Err(Error::Key(KeyError::Unavailable(FetchError::BadDocument("key input is not usable")))),
        Some(Ok(set)) => {
            let key = set.select_one(t.kid.as_deref(), t.alg)?;
            if !crypto::verify(backend, &key, t.signing_input.as_bytes(), &t.signature).await? {
                return Err(Error::BadSignature);
            }
        }
    }
    let audiences = if ex.audiences.is_empty() {
        // Stand in a configuration that accepts the token's own audience: only an absent or
        // malformed `aud` then fails, as it would under any configuration.
        not_checked.push(CheckId::Aud);
        token_auds(&t.claims)
    } else {
        ex.audiences.clone()
    };
    let rules = ClaimRules {
        issuer: iss.to_owned(),
        audiences,
        leeway_secs: ex.leeway_secs,
        max_lifetime_secs: ex.max_lifetime_secs.unwrap_or_else(|| {
            not_checked.push(CheckId::Lifetime);
            u64::MAX
        }),
        expected_typ: ex.expected_typ.clone(),
        required_claims: ex.required_claims.clone(),
    };
    Ok(claims::validate_token(&t.claims, &rules, &ex.caller_rules(), now)?.client_id)
}

pub(super) async fn worker_verdict<B: SignatureBackend>(
    backend: &B,
    token: &str,
    keys: Option<Result<&KeySet, &String>>,
    ex: &Expectations,
    allowed: Option<Vec<Alg>>,
    now: f64,
) -> Verdict {
    let mut not_checked = vec![];
    match worker_path(backend, token, keys, ex, allowed, now, &mut not_checked).await {
        Ok(client_id) => Verdict {
            status: if not_checked.contains(&CheckId::Signature) { "unverified" } else { "valid" },
            reason_code: None,
            description: None,
            http_status: None,
            oauth_error: None,
            client_id: Some(client_id),
            not_checked,
        },
        Err(e) => {
            let o = e.to_oauth(RETRY_AFTER_SECS);
            Verdict {
                status: "invalid",
                reason_code: Some(o.reason),
                description: Some(o.description),
                http_status: Some(o.status),
                oauth_error: Some(o.error),
                client_id: None,
                not_checked,
            }
        }
    }
}

/// The "any JWT" verdict: the first failing check, in report order; otherwise valid when the
/// signature was verified, unverified when it was not.
pub(super) fn any_jwt_verdict(checks: &[Check], ex: &Expectations) -> Verdict {
    let mut not_checked = vec![];
    if ex.issuer.is_none() {
        not_checked.push(CheckId::Iss);
    }
    if ex.audiences.is_empty() {
        not_checked.push(CheckId::Aud);
    }
    let signed = checks.iter().any(|c| c.id == CheckId::Signature && c.status == Status::Pass);
    if !signed {
        not_checked.push(CheckId::Signature);
    }
    if let Some(c) = checks.iter().find(|c| c.status == Status::Fail) {
        return Verdict {
            status: "invalid",
            reason_code: c.reason_code,
            description: c.description.clone(),
            http_status: c.http_status,
            oauth_error: c.oauth_error,
            client_id: None,
            not_checked,
        };
    }
    Verdict {
        status: if signed { "valid" } else { "unverified" },
        reason_code: None,
        description: None,
        http_status: None,
        oauth_error: None,
        client_id: None,
        not_checked,
    }
}

fn token_auds(claims: &Map<String, Value>) -> Vec<String> {
    match claims.get("aud") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => vec![],
    }
}
