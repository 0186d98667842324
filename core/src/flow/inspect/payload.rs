//! Stage 3: the payload and signature segments, strictly decoded, and the claims the claim
//! rules read.
use super::decode::Decoded;
use super::{fail, pass, skip, Check, CheckId};
use crate::flow::error::Error;
use crate::jose::token::{self, Segment, TokenError, TokenLimits};
use serde_json::{Map, Value};

/// What the later stages need from the payload and signature segments.
pub(super) struct Payload {
    /// The signature bytes, when the segment is strict base64url.
    pub signature: Option<Vec<u8>>,
    /// Claims for the claim rules: strict when possible, else whatever JSON object decoded (so
    /// a token with one broken rule still gets every other rule reported).
    pub claims: Option<Map<String, Value>>,
}

/// `payload` and `signature_format`.
pub(super) fn check(
    token: &str,
    parts: &Result<[&str; 3], TokenError>,
    limits: TokenLimits,
    decoded: &Decoded,
    checks: &mut Vec<Check>,
) -> Payload {
    let pay_seg = token.split('.').nth(1).filter(|_| *parts != Err(TokenError::Encrypted));
    let strict_claims = pay_seg.map(|s| token::decode_object(s, Segment::Payload, limits.max_json_depth));
    checks.push(match &strict_claims {
        None => skip(CheckId::Payload, "no JWS payload segment"),
        Some(Ok(_)) => pass(CheckId::Payload, "payload is strict base64url and a strict JSON object"),
        Some(Err(e)) => fail(CheckId::Payload, &Error::Token(e.clone()), decoded.problem_for("payload").unwrap_or_else(|| e.to_string())),
    });
    let signature = match parts {
        Ok(p) => {
            let r = token::signature_bytes(p[2]);
            checks.push(match &r {
                Ok(s) => pass(CheckId::SignatureFormat, format!("{} signature bytes", s.len())),
                Err(e) => fail(
                    CheckId::SignatureFormat,
                    &Error::Token(e.clone()),
                    decoded.problem_for("signature").unwrap_or_else(|| e.to_string()),
                ),
            });
            r.ok()
        }
        Err(_) => {
            checks.push(skip(CheckId::SignatureFormat, "no signature segment"));
            None
        }
    };
    // Claims for the claim rules: strict when possible, else whatever JSON object decoded.
    let claims: Option<Map<String, Value>> = match strict_claims {
        Some(Ok(m)) => Some(m),
        _ => decoded.payload.as_ref().and_then(|p| p.json.as_ref()).and_then(Value::as_object).cloned(),
    };
    Payload { signature, claims }
}
