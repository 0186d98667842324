//! `UntrustedToken`: strict compact-JWS parsing with bounded sizes. Nothing here is trusted yet;
//! a token becomes a `VerifiedToken` only in `exchange::verify_subject_token`.
use crate::jose::alg::Alg;
use crate::jose::b64;
use crate::jose::json::{self, JsonError};
use crate::wire::reason;
use serde_json::{Map, Value};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenLimits {
    pub max_token_bytes: usize,
    pub max_json_depth: usize,
}

impl Default for TokenLimits {
    fn default() -> Self {
        TokenLimits { max_token_bytes: 16 * 1024, max_json_depth: 16 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment {
    Header,
    Payload,
    Signature,
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Segment::Header => "header",
            Segment::Payload => "payload",
            Segment::Signature => "signature",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenError {
    TooLarge,
    /// Five segments: a JWE. edge-sts takes signed tokens only.
    Encrypted,
    Segments(usize),
    Base64(Segment),
    Json(Segment, JsonError),
    NotAnObject(Segment),
    MissingAlg,
    /// `none`, HMAC, or anything not in the accept list (never echoed back).
    UnsupportedAlg,
    /// The header names a key source (`jku`, `jwk`, `x5u`, `x5c`): never trusted, so refused.
    HeaderKey(&'static str),
    /// `crit` is present: edge-sts understands no JWS extensions (this also refuses `b64: false`).
    Crit,
    BadKid,
    /// Header `typ` that marks a different token kind (e.g. `JWE`, a logout token).
    BadHeaderTyp,
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenError::TooLarge => f.write_str("subject token is too large"),
            TokenError::Encrypted => f.write_str("subject token is encrypted (JWE); a signed JWT is required"),
            TokenError::Segments(_) => f.write_str("subject token is not a compact JWS (three dot-separated segments)"),
            TokenError::Base64(s) => write!(f, "subject token {s} is not strict base64url"),
            TokenError::Json(s, e) => write!(f, "subject token {s} {e}"),
            TokenError::NotAnObject(s) => write!(f, "subject token {s} is not a JSON object"),
            TokenError::MissingAlg => f.write_str("subject token header has no alg"),
            TokenError::UnsupportedAlg => f.write_str("subject token alg is not accepted"),
            TokenError::HeaderKey(h) => write!(f, "subject token header carries a key reference (`{h}`), which is not accepted"),
            TokenError::Crit => f.write_str("subject token header has crit extensions that are not understood"),
            TokenError::BadKid => f.write_str("subject token kid is not a string"),
            TokenError::BadHeaderTyp => f.write_str("subject token header typ is not a JWT access token type"),
        }
    }
}

impl TokenError {
    pub fn reason(&self) -> &'static str {
        match self {
            TokenError::TooLarge => reason::TOKEN_TOO_LARGE,
            TokenError::Encrypted => reason::TOKEN_ENCRYPTED,
            TokenError::Segments(_) => reason::TOKEN_MALFORMED,
            TokenError::Base64(_) => reason::TOKEN_BASE64,
            TokenError::Json(_, JsonError::DuplicateKey) => reason::TOKEN_DUPLICATE_KEY,
            TokenError::Json(_, JsonError::TooDeep) => reason::TOKEN_TOO_DEEP,
            TokenError::Json(..) | TokenError::NotAnObject(_) => reason::TOKEN_JSON,
            TokenError::MissingAlg | TokenError::UnsupportedAlg => reason::TOKEN_ALG,
            TokenError::HeaderKey(_) => reason::TOKEN_HEADER_KEY,
            TokenError::Crit => reason::TOKEN_CRIT,
            TokenError::BadKid => reason::TOKEN_KID,
            TokenError::BadHeaderTyp => reason::TOKEN_HEADER_TYP,
        }
    }
}

/// A parsed, unverified compact JWS.
#[derive(Debug, Clone)]
pub struct UntrustedToken<'a> {
    pub alg: Alg,
    pub kid: Option<String>,
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
    /// `BASE64URL(header) || '.' || BASE64URL(payload)`, the bytes the signature covers.
    pub signing_input: &'a str,
    pub signature: Vec<u8>,
}

/// Decodes one segment as strict base64url, then strict JSON that must be an object.
pub fn decode_object(seg: &str, which: Segment, depth: usize) -> Result<Map<String, Value>, TokenError> {
    let raw = b64::decode(seg).ok_or(TokenError::Base64(which))?;
    match json::parse_strict(&raw, depth) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(TokenError::NotAnObject(which)),
        Err(e) => Err(TokenError::Json(which, e)),
    }
}

// One function per header rule, so tools (the playground's `inspect`) can report each rule.
// `UntrustedToken::parse` calls them in its fixed order.

/// Size bound, checked before anything is decoded.
pub fn check_size(token: &str, limits: TokenLimits) -> Result<(), TokenError> {
    if token.len() > limits.max_token_bytes {
        return Err(TokenError::TooLarge);
    }
    Ok(())
}

/// Three segments (five is a JWE).
pub fn split_segments(token: &str) -> Result<[&str; 3], TokenError> {
    let parts: Vec<&str> = token.split('.').collect();
    match parts.len() {
        3 => Ok([parts[0], parts[1], parts[2]]),
        5 => Err(TokenError::Encrypted),
        n => Err(TokenError::Segments(n)),
    }
}

/// `alg` must be present and one of the accepted algorithms (exact match).
pub fn header_alg(header: &Map<String, Value>) -> Result<Alg, TokenError> {
    match header.get("alg") {
        None => Err(TokenError::MissingAlg),
        Some(v) => v.as_str().and_then(Alg::parse).ok_or(TokenError::UnsupportedAlg),
    }
}

/// No key references in the header (`jku`, `jwk`, `x5u`, `x5c`).
pub fn header_key_refs(header: &Map<String, Value>) -> Result<(), TokenError> {
    for h in ["jku", "jwk", "x5u", "x5c"] {
        if header.contains_key(h) {
            return Err(TokenError::HeaderKey(h));
        }
    }
    Ok(())
}

/// No `crit` (and no `b64`): no JWS extension is understood.
pub fn header_crit(header: &Map<String, Value>) -> Result<(), TokenError> {
    if header.contains_key("crit") || header.contains_key("b64") {
        return Err(TokenError::Crit);
    }
    Ok(())
}

/// No JWE members (`enc`, `zip`).
pub fn header_not_encrypted(header: &Map<String, Value>) -> Result<(), TokenError> {
    if header.contains_key("enc") || header.contains_key("zip") {
        return Err(TokenError::Encrypted);
    }
    Ok(())
}

/// `kid`, when present, must be a string.
pub fn header_kid(header: &Map<String, Value>) -> Result<Option<String>, TokenError> {
    match header.get("kid") {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(TokenError::BadKid),
    }
}

/// Header `typ`, when present, must name a JWT access token; no `cty` (nested JWT).
pub fn header_typ(header: &Map<String, Value>) -> Result<(), TokenError> {
    // Keycloak sends `JWT`; RFC 9068 tokens say `at+jwt`. Anything else (e.g. a nested
    // `JOSE`/`JWE` or a `logout+jwt`) is some other kind of token.
    if let Some(t) = header.get("typ") {
        let t = t.as_str().ok_or(TokenError::BadHeaderTyp)?.to_ascii_lowercase();
        if !matches!(t.as_str(), "jwt" | "at+jwt" | "application/at+jwt") {
            return Err(TokenError::BadHeaderTyp);
        }
    }
    if header.get("cty").is_some() {
        return Err(TokenError::BadHeaderTyp); // nested JWT
    }
    Ok(())
}

/// The signature segment: strict base64url, not empty.
pub fn signature_bytes(seg: &str) -> Result<Vec<u8>, TokenError> {
    let signature = b64::decode(seg).ok_or(TokenError::Base64(Segment::Signature))?;
    if signature.is_empty() {
        return Err(TokenError::Base64(Segment::Signature));
    }
    Ok(signature)
}

impl<'a> UntrustedToken<'a> {
    pub fn parse(token: &'a str, limits: TokenLimits) -> Result<UntrustedToken<'a>, TokenError> {
        check_size(token, limits)?;
        let parts = split_segments(token)?;
        let header = decode_object(parts[0], Segment::Header, limits.max_json_depth)?;
        let alg = header_alg(&header)?;
        header_key_refs(&header)?;
        header_crit(&header)?;
        header_not_encrypted(&header)?;
        let kid = header_kid(&header)?;
        header_typ(&header)?;
        let claims = decode_object(parts[1], Segment::Payload, limits.max_json_depth)?;
        let signature = signature_bytes(parts[2])?;
        let signing_input = &token[..parts[0].len() + 1 + parts[1].len()];
        Ok(UntrustedToken { alg, kid, header, claims, signing_input, signature })
    }

    /// The unverified `iss`, used only to pick a configured issuer before any fetch.
    pub fn issuer(&self) -> Option<&str> {
        self.claims.get("iss").and_then(Value::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::b64::encode;

    fn tok(header: &str, payload: &str) -> String {
        format!("{}.{}.{}", encode(header.as_bytes()), encode(payload.as_bytes()), encode(b"sig"))
    }

    fn check(t: &str) -> Result<Alg, TokenError> {
        UntrustedToken::parse(t, TokenLimits::default()).map(|t| t.alg)
    }

    #[test]
    fn table() {
        let p = r#"{"iss":"x"}"#;
        assert_eq!(check(&tok(r#"{"alg":"RS256","kid":"a"}"#, p)), Ok(Alg::RS256));
        assert_eq!(check(&tok(r#"{"alg":"ES256","typ":"at+jwt"}"#, p)), Ok(Alg::ES256));
        for none in ["none", "None", "NONE", "nOnE", "HS256", "HS512", "ES512"] {
            let h = format!(r#"{{"alg":"{none}"}}"#);
            assert_eq!(check(&tok(&h, p)), Err(TokenError::UnsupportedAlg), "{none}");
        }
        assert_eq!(check(&tok(r#"{"kid":"a"}"#, p)), Err(TokenError::MissingAlg));
        assert_eq!(check(&tok(r#"{"alg":["RS256"]}"#, p)), Err(TokenError::UnsupportedAlg));
        for h in ["jku", "jwk", "x5u", "x5c"] {
            let hd = format!(r#"{{"alg":"RS256","{h}":"x"}}"#);
            assert_eq!(
                check(&tok(&hd, p)),
                Err(TokenError::HeaderKey(match h {
                    "jku" => "jku",
                    "jwk" => "jwk",
                    "x5u" => "x5u",
                    _ => "x5c",
                }))
            );
        }
        assert_eq!(check(&tok(r#"{"alg":"RS256","crit":["exp"]}"#, p)), Err(TokenError::Crit));
        assert_eq!(check(&tok(r#"{"alg":"RS256","b64":false,"crit":["b64"]}"#, p)), Err(TokenError::Crit));
        assert_eq!(check(&tok(r#"{"alg":"RS256","alg":"none"}"#, p)), Err(TokenError::Json(Segment::Header, JsonError::DuplicateKey)));
        assert_eq!(
            check(&tok(r#"{"alg":"RS256"}"#, r#"{"iss":"a","iss":"b"}"#)),
            Err(TokenError::Json(Segment::Payload, JsonError::DuplicateKey))
        );
        assert_eq!(check(&tok(r#"{"alg":"RS256","kid":7}"#, p)), Err(TokenError::BadKid));
        assert_eq!(check(&tok(r#"{"alg":"RS256","typ":"logout+jwt"}"#, p)), Err(TokenError::BadHeaderTyp));
        assert_eq!(check(&tok(r#"{"alg":"RS256","cty":"JWT"}"#, p)), Err(TokenError::BadHeaderTyp));
        assert_eq!(check(&tok(r#"{"alg":"RS256"}"#, "[1]")), Err(TokenError::NotAnObject(Segment::Payload)));
        assert_eq!(check("a.b"), Err(TokenError::Segments(2)));
        assert_eq!(check("a.b.c.d.e"), Err(TokenError::Encrypted));
        assert_eq!(check(""), Err(TokenError::Segments(1)));
        let good = tok(r#"{"alg":"RS256"}"#, p);
        assert_eq!(check(&format!("{good}=")), Err(TokenError::Base64(Segment::Signature)));
        assert_eq!(check(&format!(" {good}")), Err(TokenError::Base64(Segment::Header)));
        assert_eq!(check(&format!("{}.", &good[..good.rfind('.').unwrap()])), Err(TokenError::Base64(Segment::Signature)));
        let big = tok(r#"{"alg":"RS256"}"#, &format!(r#"{{"x":"{}"}}"#, "a".repeat(20_000)));
        assert_eq!(check(&big), Err(TokenError::TooLarge));
        let bom = format!("{}.{}.{}", encode("\u{feff}{\"alg\":\"RS256\"}".as_bytes()), encode(p.as_bytes()), encode(b"s"));
        assert_eq!(check(&bom), Err(TokenError::Json(Segment::Header, JsonError::Syntax)));
    }

    #[test]
    fn signing_input_is_the_first_two_segments() {
        let t = tok(r#"{"alg":"RS256"}"#, r#"{"iss":"x"}"#);
        let u = UntrustedToken::parse(&t, TokenLimits::default()).unwrap();
        assert_eq!(format!("{}.{}", u.signing_input, encode(b"sig")), t);
        assert_eq!(u.issuer(), Some("x"));
    }
}
