//! Stage 2: the token's size, its shape (three segments) and the header rules, each reported
//! on its own (the Worker stops at the first failure).
use super::decode::Decoded;
use super::messages::{alg_explained, alg_refused_message, show};
use super::{fail, pass, skip, Check, CheckId};
use crate::flow::error::Error;
use crate::jose::alg::Alg;
use crate::jose::token::{self, Segment, TokenError, TokenLimits};

/// What the later stages need from the header.
pub(super) struct Header<'t> {
    /// The three segments, or why the token is not a JWS.
    pub parts: Result<[&'t str; 3], TokenError>,
    /// The header's `alg`, when it is one the Worker accepts.
    pub alg: Option<Alg>,
    pub kid: Option<String>,
}

/// `size`, `segments`, `header`, then the header rules: `alg`, `header_key_refs`, `crit`,
/// `enc`, `kid_format`, `header_typ` (skipped when the header does not decode).
pub(super) fn check<'t>(token: &'t str, limits: TokenLimits, decoded: &Decoded, checks: &mut Vec<Check>) -> Header<'t> {
    // Size, then shape.
    checks.push(match token::check_size(token, limits) {
        Ok(()) => pass(CheckId::Size, format!("{} bytes (limit {})", token.len(), limits.max_token_bytes)),
        Err(e) => fail(
            CheckId::Size,
            &Error::Token(e),
            format!("{} bytes; the limit is {} (limits.max_token_bytes)", token.len(), limits.max_token_bytes),
        ),
    });
    let parts = token::split_segments(token);
    checks.push(match &parts {
        Ok(_) => pass(CheckId::Segments, "three segments: header.payload.signature"),
        Err(e) => {
            let m = decoded.problems.iter().find(|p| p.reason_code == e.reason()).map_or_else(|| e.to_string(), |p| p.message.clone());
            fail(CheckId::Segments, &Error::Token(e.clone()), m)
        }
    });

    // Header rules, each on its own (the Worker stops at the first).
    let hdr_seg = token.split('.').next().unwrap_or("");
    let header = token::decode_object(hdr_seg, Segment::Header, limits.max_json_depth);
    checks.push(match &header {
        Ok(_) => pass(CheckId::Header, "header is strict base64url and a strict JSON object"),
        Err(e) => fail(CheckId::Header, &Error::Token(e.clone()), decoded.problem_for("header").unwrap_or_else(|| e.to_string())),
    });
    let Ok(h) = header else {
        for id in [CheckId::Alg, CheckId::HeaderKeyRefs, CheckId::Crit, CheckId::Enc, CheckId::KidFormat, CheckId::HeaderTyp] {
            checks.push(skip(id, "header could not be decoded"));
        }
        return Header { parts, alg: None, kid: None };
    };
    let h = &h;
    let mut alg = None;
    let mut kid = None;
    checks.push(match token::header_alg(h) {
        Ok(a) => {
            alg = Some(a);
            pass(CheckId::Alg, format!("{a}: {} with SHA-{}", alg_explained(a), a.hash().len() * 8))
        }
        Err(e) => fail(CheckId::Alg, &Error::Token(e), alg_refused_message(h)),
    });
    checks.push(match token::header_key_refs(h) {
        Ok(()) => pass(CheckId::HeaderKeyRefs, "no jku/jwk/x5u/x5c: keys come from the issuer's JWKS only"),
        Err(e @ TokenError::HeaderKey(name)) => fail(
            CheckId::HeaderKeyRefs,
            &Error::Token(e),
            format!("`{name}` in the header lets the token name its own key; it is refused, never followed"),
        ),
        Err(e) => fail(CheckId::HeaderKeyRefs, &Error::Token(e.clone()), e.to_string()),
    });
    checks.push(match token::header_crit(h) {
        Ok(()) => pass(CheckId::Crit, "no crit/b64 extensions"),
        Err(e) => {
            fail(CheckId::Crit, &Error::Token(e), format!("`crit`/`b64` present ({}): no JWS extension is understood", show(h.get("crit"))))
        }
    });
    checks.push(match token::header_not_encrypted(h) {
        Ok(()) => pass(CheckId::Enc, "no JWE members (enc/zip)"),
        Err(e) => fail(CheckId::Enc, &Error::Token(e), "`enc`/`zip` in the header: this is (part of) an encrypted token"),
    });
    checks.push(match token::header_kid(h) {
        Ok(Some(k)) => {
            let m = format!("kid `{k}`");
            kid = Some(k);
            pass(CheckId::KidFormat, m)
        }
        Ok(None) => pass(CheckId::KidFormat, "no kid: every key bound to the token's alg is a candidate"),
        Err(e) => fail(CheckId::KidFormat, &Error::Token(e), format!("kid is {}, not a string", show(h.get("kid")))),
    });
    checks.push(match token::header_typ(h) {
        Ok(()) => pass(CheckId::HeaderTyp, format!("header typ {}", h.get("typ").map_or("absent".into(), |t| t.to_string()))),
        Err(e) => fail(
            CheckId::HeaderTyp,
            &Error::Token(e),
            if h.contains_key("cty") {
                "`cty` present: a nested token is refused".to_owned()
            } else {
                format!("header typ {} is not JWT, at+jwt or application/at+jwt", show(h.get("typ")))
            },
        ),
    });
    Header { parts, alg, kid }
}
