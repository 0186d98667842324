//! A per-check report on one token, for people debugging tokens (the browser playground).
//!
//! `inspect` decodes a token even when it is malformed, pointing at the segment and position
//! that breaks, then runs every rule the Worker runs and reports each one on its own, not only
//! the first failure. The rules are the Worker's own functions (`token::*`, `KeySet::select`,
//! `crypto::verify`, `claims::*`) and every reason code comes from the Worker's error types
//! (`Error::reason()`), so the strings are the ones the Worker logs. The overall verdict walks
//! the same path as `exchange::verify_subject_token` (with the pasted key instead of a fetched
//! JWKS and the expectations instead of a configured issuer).
//!
//! Pure like the rest of the core: `now` is an argument, keys are passed in as text, and the
//! signature math goes through a `SignatureBackend`.
use crate::alg::{Alg, Family};
use crate::b64;
use crate::claims::{self, ClaimRules, ClaimsError};
use crate::crypto::{self, SignatureBackend};
use crate::error::Error;
use crate::fetch::FetchError;
use crate::json;
use crate::jwk::{self, JwkError, JwksLimits, KeySet, PublicKey, Selection, VerifyKey};
use crate::jwks_cache::KeyError;
use crate::token::{self, Segment, TokenError, TokenLimits, UntrustedToken};
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// What the token is checked against: a stand-in for one `trusted_issuers[]` entry plus
/// `limits`. Defaults are the configuration's defaults. Absent `issuer`/`audiences` mean "not
/// checked" (reported as skipped), since a pasted token has no configuration.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Expectations {
    pub issuer: Option<String>,
    pub audiences: Vec<String>,
    pub leeway_secs: u64,
    pub max_lifetime_secs: u64,
    /// Keycloak's payload `typ`. Absent: `Bearer`; `null`: not checked.
    pub expected_typ: Option<String>,
    pub required_claims: Vec<String>,
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
            issuer: None,
            audiences: vec![],
            leeway_secs: 60,
            max_lifetime_secs: 3600,
            expected_typ: Some("Bearer".into()),
            required_claims: vec![],
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
    pub id: &'static str,
    pub status: Status,
    pub ok: bool,
    pub reason_code: Option<&'static str>,
    /// The Worker's fixed `error_description` for this failure.
    pub description: Option<String>,
    /// What was found, in detail (claim values included: this report stays on the user's page).
    pub message: String,
}

fn pass(id: &'static str, message: impl Into<String>) -> Check {
    Check { id, status: Status::Pass, ok: true, reason_code: None, description: None, message: message.into() }
}

fn skip(id: &'static str, message: impl Into<String>) -> Check {
    Check { id, status: Status::Skip, ok: false, reason_code: None, description: None, message: message.into() }
}

fn fail(id: &'static str, err: &Error, message: impl Into<String>) -> Check {
    Check {
        id,
        status: Status::Fail,
        ok: false,
        reason_code: Some(err.reason()),
        description: Some(err.to_string()),
        message: message.into(),
    }
}

/// A decoding problem, located. `offset` is an index into the token as a JS string (UTF-16
/// units), `segment_offset` the same within its segment; `line`/`column` (1-based) locate a
/// JSON error in the decoded segment text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    pub segment: &'static str,
    pub reason_code: &'static str,
    pub message: String,
    pub offset: Option<usize>,
    pub segment_offset: Option<usize>,
    pub line: Option<usize>,
    pub column: Option<usize>,
}

/// A decoded header or payload. `text` is the decoded bytes (lossy UTF-8), `json` the value
/// when it is JSON at all. `repaired` says the base64url was not strict and `text` comes from
/// a forgiving decode (the Worker refuses it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Part {
    pub start: usize,
    pub end: usize,
    pub text: Option<String>,
    pub json: Option<Value>,
    pub repaired: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SignaturePart {
    pub start: usize,
    pub end: usize,
    pub bytes: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decoded {
    pub length: usize,
    pub segment_count: usize,
    pub header: Option<Part>,
    pub payload: Option<Part>,
    pub signature: Option<SignaturePart>,
    pub problems: Vec<Problem>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyInfo {
    pub kid: Option<String>,
    pub alg: &'static str,
    pub kty: &'static str,
    pub thumbprint: String,
    /// No `alg` in the key: an RSA key then permits every RS*/PS* algorithm.
    pub alg_implied: bool,
    /// A single key without `kid` (PEM or lone JWK) is used for the token's `kid`.
    pub adopted_kid: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SkippedKey {
    pub kid: Option<String>,
    pub reason: String,
}

/// What the key input turned out to be.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeysReport {
    /// `jwks`, `jwk`, `pem` or `unknown`.
    pub format: &'static str,
    pub keys: Vec<KeyInfo>,
    pub skipped: Vec<SkippedKey>,
    pub error: Option<String>,
}

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
    pub not_checked: Vec<&'static str>,
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
}

// ---------------------------------------------------------------------------------------------
// Decoding, forgiving and located.

/// Forgiving base64url for display only: standard alphabet mapped, padding and whitespace
/// dropped, any other stray character read as `A` (so the bytes after it stay aligned),
/// non-canonical trailing bits accepted.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true).with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Decoding a token larger than this is pointless in a page (the limit is 16 KiB by default).
const MAX_DECODE_BYTES: usize = 1 << 20;

fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

fn is_b64url(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// Where and why `seg` is not strict base64url: (byte offset in `seg`, explanation).
fn base64_problem(seg: &str) -> (usize, String) {
    for (i, c) in seg.char_indices() {
        if !is_b64url(c) {
            let why = match c {
                '=' => "`=` padding is not allowed (JWS base64url has no padding)".to_owned(),
                '+' | '/' => format!("`{c}` is standard base64; base64url uses `-` and `_`"),
                c if c.is_whitespace() => "whitespace inside the token".to_owned(),
                c => format!("character {c:?} is not base64url"),
            };
            return (i, why);
        }
    }
    if seg.len() % 4 == 1 {
        return (
            seg.len().saturating_sub(1),
            format!("length {} is impossible for base64url (a character is missing or extra)", seg.len()),
        );
    }
    (seg.len().saturating_sub(1), "the last character has non-zero unused bits (not canonical base64url)".to_owned())
}

fn lenient_b64(seg: &str) -> Option<Vec<u8>> {
    let mut s: String = seg
        .chars()
        .filter_map(|c| match c {
            '+' => Some('-'),
            '/' => Some('_'),
            c if is_b64url(c) => Some(c),
            c if c == '=' || c.is_whitespace() => None,
            _ => Some('A'),
        })
        .collect();
    if s.len() % 4 == 1 {
        s.pop();
    }
    LENIENT.decode(s).ok()
}

fn segment_name(s: Segment) -> &'static str {
    match s {
        Segment::Header => "header",
        Segment::Payload => "payload",
        Segment::Signature => "signature",
    }
}

/// Decodes the header or payload segment starting at byte `start` of `token`, recording every
/// problem with its position.
fn decode_part(token: &str, start: usize, seg: &str, which: Segment, depth: usize, problems: &mut Vec<Problem>) -> Part {
    let name = segment_name(which);
    let js_start = utf16_len(&token[..start]);
    let end = js_start + utf16_len(seg);
    let (bytes, repaired) = match b64::decode(seg) {
        Some(b) => (Some(b), false),
        None => {
            let (at, why) = base64_problem(seg);
            let seg_off = utf16_len(&seg[..at]);
            problems.push(Problem {
                segment: name,
                reason_code: TokenError::Base64(which).reason(),
                message: format!("{name} segment is not strict base64url at character {}: {why}", seg_off + 1),
                offset: Some(js_start + seg_off),
                segment_offset: Some(seg_off),
                line: None,
                column: None,
            });
            (lenient_b64(seg), true)
        }
    };
    let Some(bytes) = bytes else {
        return Part { start: js_start, end, text: None, json: None, repaired };
    };
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let loose: Result<Value, serde_json::Error> = serde_json::from_slice(&bytes);
    let strict = json::parse_strict(&bytes, depth);
    let err = match &strict {
        Ok(Value::Object(_)) => None,
        Ok(_) => Some(TokenError::NotAnObject(which)),
        Err(e) => Some(TokenError::Json(which, *e)),
    };
    if let Some(err) = err {
        let (line, column, detail) = match &loose {
            Err(e) => (Some(e.line()), Some(e.column()), format!(": {e}")),
            Ok(_) => (None, None, String::new()),
        };
        let what = match &err {
            TokenError::NotAnObject(_) => "is JSON but not an object".to_owned(),
            TokenError::Json(_, e) => e.to_string(),
            other => other.to_string(),
        };
        let hint = if bytes.starts_with(b"\xEF\xBB\xBF") {
            " (it starts with a byte order mark)"
        } else if repaired {
            " (read after repairing the base64url)"
        } else {
            ""
        };
        problems.push(Problem {
            segment: name,
            reason_code: err.reason(),
            message: format!("{name} {what}{detail}{hint}"),
            offset: None,
            segment_offset: None,
            line,
            column,
        });
    }
    Part { start: js_start, end, text: Some(text), json: loose.ok(), repaired }
}

/// Decodes as much of `token` as can be decoded, with every problem located.
pub fn decode(token: &str, limits: TokenLimits) -> Decoded {
    let mut problems = vec![];
    let length = token.len();
    let segs: Vec<&str> = token.split('.').collect();
    let n = segs.len();
    if token.len() > limits.max_token_bytes {
        problems.push(Problem {
            segment: "token",
            reason_code: TokenError::TooLarge.reason(),
            message: format!("token is {length} bytes; the limit is {} (limits.max_token_bytes)", limits.max_token_bytes),
            offset: None,
            segment_offset: None,
            line: None,
            column: None,
        });
    }
    if n != 3 {
        let (code, msg, at) = if n == 5 {
            (
                TokenError::Encrypted.reason(),
                "five segments: this is an encrypted token (JWE); a signed JWT (three segments) is required".to_owned(),
                None,
            )
        } else if n > 3 {
            // Point at the first dot too many.
            let third_dot = token.match_indices('.').nth(2).map(|(i, _)| utf16_len(&token[..i]));
            (
                TokenError::Segments(n).reason(),
                format!(
                    "{n} segments; a JWS has exactly 3 (header.payload.signature): the dot at character {} is one too many",
                    third_dot.map_or(0, |o| o + 1)
                ),
                third_dot,
            )
        } else {
            (
                TokenError::Segments(n).reason(),
                format!("{n} segment{}; a JWS has exactly 3 (header.payload.signature)", if n == 1 { "" } else { "s" }),
                Some(utf16_len(token)),
            )
        };
        problems.push(Problem {
            segment: "token",
            reason_code: code,
            message: msg,
            offset: at,
            segment_offset: None,
            line: None,
            column: None,
        });
    }
    if token.len() > MAX_DECODE_BYTES {
        return Decoded { length, segment_count: n, header: None, payload: None, signature: None, problems };
    }
    let depth = limits.max_json_depth;
    let header = Some(decode_part(token, 0, segs[0], Segment::Header, depth, &mut problems));
    let pay_start = segs[0].len() + 1;
    let payload = (n >= 2 && n != 5).then(|| decode_part(token, pay_start, segs[1], Segment::Payload, depth, &mut problems));
    let signature = (n == 3).then(|| {
        let start = pay_start + segs[1].len() + 1;
        let js_start = utf16_len(&token[..start]);
        let bytes = match token::signature_bytes(segs[2]) {
            Ok(b) => Some(b.len()),
            Err(e) => {
                let (at, why) = if segs[2].is_empty() { (0, "the signature segment is empty".to_owned()) } else { base64_problem(segs[2]) };
                let seg_off = utf16_len(&segs[2][..at]);
                problems.push(Problem {
                    segment: "signature",
                    reason_code: e.reason(),
                    message: format!("signature segment is not strict base64url at character {}: {why}", seg_off + 1),
                    offset: Some(js_start + seg_off),
                    segment_offset: Some(seg_off),
                    line: None,
                    column: None,
                });
                None
            }
        };
        SignaturePart { start: js_start, end: js_start + utf16_len(segs[2]), bytes }
    });
    Decoded { length, segment_count: n, header, payload, signature, problems }
}

// ---------------------------------------------------------------------------------------------
// Keys: a JWK Set, one JWK, or a PEM public key.

struct Keys {
    report: KeysReport,
    /// `Err` when the input as a whole is unusable (the Worker's `key.unavailable`).
    set: Result<KeySet, String>,
}

fn kty_name(k: &PublicKey) -> &'static str {
    match k {
        PublicKey::Rsa { .. } => "RSA",
        PublicKey::P256 { .. } => "EC P-256",
        PublicKey::P384 { .. } => "EC P-384",
        PublicKey::Ed25519 { .. } => "OKP Ed25519",
    }
}

#[cfg(feature = "pem")]
mod pem {
    use crate::b64;
    use pkcs1::der::{Decode, Document};
    use serde_json::{json, Map, Value};
    use spki::{ObjectIdentifier, SubjectPublicKeyInfoRef};

    const RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
    const EC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
    const P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
    const P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
    const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

    fn rsa(der: &[u8]) -> Result<Value, String> {
        let k = pkcs1::RsaPublicKey::from_der(der).map_err(|e| format!("RSA public key could not be read: {e}"))?;
        Ok(json!({"kty": "RSA", "n": b64::encode(k.modulus.as_bytes()), "e": b64::encode(k.public_exponent.as_bytes())}))
    }

    fn ec(crv: &str, len: usize, point: &[u8]) -> Result<Value, String> {
        match point.first() {
            Some(4) if point.len() == 1 + 2 * len => {
                Ok(json!({"kty": "EC", "crv": crv, "x": b64::encode(&point[1..1 + len]), "y": b64::encode(&point[1 + len..])}))
            }
            Some(2 | 3) => Err("compressed EC points are not supported; export the key uncompressed".into()),
            _ => Err(format!("not a {crv} point")),
        }
    }

    /// A PEM public key (SPKI `PUBLIC KEY` or PKCS#1 `RSA PUBLIC KEY`) as a public JWK, so it
    /// goes through the same `jwk::parse_public` rules as any other key.
    pub fn to_jwk(text: &str) -> Result<Map<String, Value>, String> {
        let text = text.trim();
        let label = text.strip_prefix("-----BEGIN ").and_then(|r| r.split_once("-----")).map_or("", |(l, _)| l);
        if label.contains("PRIVATE") {
            return Err("this is a private key: paste only the public key (openssl pkey -pubout)".into());
        }
        if label == "CERTIFICATE" {
            return Err("certificates are not read here: paste the public key (openssl x509 -pubkey -noout)".into());
        }
        let (label, doc) = Document::from_pem(text).map_err(|e| format!("PEM could not be read: {e}"))?;
        let jwk = match label {
            "PUBLIC KEY" => {
                let spki = SubjectPublicKeyInfoRef::from_der(doc.as_bytes()).map_err(|e| format!("not a SubjectPublicKeyInfo: {e}"))?;
                let bits = spki.subject_public_key.as_bytes().ok_or("public key bit string is not whole bytes")?;
                match spki.algorithm.oid {
                    RSA => rsa(bits)?,
                    EC => match spki.algorithm.parameters_oid() {
                        Ok(P256) => ec("P-256", 32, bits)?,
                        Ok(P384) => ec("P-384", 48, bits)?,
                        Ok(other) => return Err(format!("EC curve {other} is not supported (P-256 and P-384 are)")),
                        Err(_) => return Err("EC key without a named curve".into()),
                    },
                    ED25519 => json!({"kty": "OKP", "crv": "Ed25519", "x": b64::encode(bits)}),
                    other => return Err(format!("key algorithm {other} is not supported (RSA, EC P-256/P-384, Ed25519 are)")),
                }
            }
            "RSA PUBLIC KEY" => rsa(doc.as_bytes())?,
            other => return Err(format!("PEM type `{other}` is not a public key")),
        };
        match jwk {
            Value::Object(m) => Ok(m),
            _ => Err("internal: not an object".into()),
        }
    }
}

#[cfg(not(feature = "pem"))]
mod pem {
    use serde_json::{Map, Value};
    pub fn to_jwk(_text: &str) -> Result<Map<String, Value>, String> {
        Err("PEM keys are not supported in this build".into())
    }
}

fn parse_keys(text: &str, ex: &Expectations, token_kid: Option<&str>) -> Keys {
    let limits = JwksLimits { max_bytes: ex.max_jwks_bytes, max_keys: ex.max_jwks_keys, max_depth: ex.max_json_depth };
    let trimmed = text.trim();
    let bad = |format: &'static str, e: String| Keys {
        report: KeysReport { format, keys: vec![], skipped: vec![], error: Some(e.clone()) },
        set: Err(e),
    };
    let (format, parsed, single) = if trimmed.starts_with("-----BEGIN") {
        let set = pem::to_jwk(trimmed).map(|mut m| {
            if let Some(a) = &ex.key_alg {
                m.insert("alg".into(), Value::String(a.clone()));
            }
            let mut set = KeySet::default();
            match jwk::parse_public(&m, false) {
                Ok((key, alg)) => {
                    // Like a JWK without `alg`: an RSA key then permits the whole RSA family.
                    let mut k = VerifyKey::new(None, alg, key);
                    k.alg_implied = ex.key_alg.is_none();
                    set.keys.push(k)
                }
                Err(e) => set.skipped.push((None, e)),
            }
            set
        });
        ("pem", set, true)
    } else {
        let doc = match json::parse_object(trimmed.as_bytes(), ex.max_json_depth) {
            Ok(d) => d,
            Err(e) => return bad("unknown", format!("key input {e}; paste a JWK, a JWK Set ({{\"keys\":[...]}}) or a PEM public key")),
        };
        if doc.contains_key("keys") {
            ("jwks", KeySet::parse(trimmed.as_bytes(), limits).map_err(|e| e.to_string()), false)
        } else if doc.contains_key("kty") {
            let wrapped = serde_json::to_vec(&json!({ "keys": [Value::Object(doc)] })).unwrap_or_default();
            ("jwk", KeySet::parse(&wrapped, limits).map_err(|e| e.to_string()), true)
        } else {
            return bad("unknown", "key input is JSON but neither a JWK (no `kty`) nor a JWK Set (no `keys`)".into());
        }
    };
    let mut set = match parsed {
        Ok(s) => s,
        Err(e) => return bad(format, e),
    };
    // One pasted key without a `kid` is *the* key: it answers to the token's `kid`.
    let mut adopted = false;
    if single && set.keys.len() == 1 && set.keys[0].kid.is_none() {
        if let Some(kid) = token_kid {
            set.keys[0].kid = Some(kid.to_owned());
            adopted = true;
        }
    }
    let keys = set
        .keys
        .iter()
        .map(|k| KeyInfo {
            kid: k.kid.clone(),
            alg: k.alg.as_str(),
            kty: kty_name(&k.key),
            thumbprint: k.thumbprint.clone(),
            alg_implied: k.alg_implied,
            adopted_kid: adopted,
        })
        .collect();
    let skipped = set.skipped.iter().map(|(kid, e)| SkippedKey { kid: kid.clone(), reason: skip_reason(*e) }).collect();
    let error = set.keys.is_empty().then(|| "no usable signature key in the input".to_owned());
    Keys { report: KeysReport { format, keys, skipped, error }, set: Ok(set) }
}

fn skip_reason(e: JwkError) -> String {
    match e {
        JwkError::PrivateMaterial => format!("{e}: paste the public key only"),
        e => e.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// Messages.

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

fn when(t: f64, now: f64) -> String {
    format!("{} ({})", iso8601(t), relative(t - now))
}

fn alg_explained(a: Alg) -> &'static str {
    match a.family() {
        Family::RsaPkcs1 => "RSA PKCS#1 v1.5",
        Family::RsaPss => "RSA-PSS",
        Family::Ecdsa => "ECDSA",
        Family::Ed25519 => "Ed25519",
    }
}

fn alg_refused_message(header: &Map<String, Value>) -> String {
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

fn list_keys(set: &KeySet) -> String {
    let v: Vec<String> =
        set.keys.iter().map(|k| format!("{} ({})", k.kid.as_deref().map_or("no kid".to_owned(), |k| format!("`{k}`")), k.alg)).collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

fn token_auds(claims: &Map<String, Value>) -> Vec<String> {
    match claims.get("aud") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => vec![],
    }
}

fn show(v: Option<&Value>) -> String {
    match v {
        None => "absent".into(),
        Some(v) => v.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// The report.

/// Everything about one token: decoded parts, each rule's outcome and the Worker's verdict.
/// `keys` is the key input as pasted (JWK, JWK Set or PEM); `None` skips the key rules.
pub async fn inspect<B: SignatureBackend>(backend: &B, token: &str, keys: Option<&str>, ex: &Expectations, now: f64) -> Report {
    let limits = ex.token_limits();
    let decoded = decode(token, limits);
    let mut checks = vec![];
    let problem_for = |seg: &str| decoded.problems.iter().find(|p| p.segment == seg).map(|p| p.message.clone());

    // Size, then shape.
    checks.push(match token::check_size(token, limits) {
        Ok(()) => pass("size", format!("{} bytes (limit {})", token.len(), limits.max_token_bytes)),
        Err(e) => fail(
            "size",
            &Error::Token(e),
            format!("{} bytes; the limit is {} (limits.max_token_bytes)", token.len(), limits.max_token_bytes),
        ),
    });
    let parts = token::split_segments(token);
    checks.push(match &parts {
        Ok(_) => pass("segments", "three segments: header.payload.signature"),
        Err(e) => {
            let m = decoded.problems.iter().find(|p| p.reason_code == e.reason()).map_or_else(|| e.to_string(), |p| p.message.clone());
            fail("segments", &Error::Token(e.clone()), m)
        }
    });

    // Header rules, each on its own (the Worker stops at the first).
    let hdr_seg = token.split('.').next().unwrap_or("");
    let header = token::decode_object(hdr_seg, Segment::Header, limits.max_json_depth);
    checks.push(match &header {
        Ok(_) => pass("header", "header is strict base64url and a strict JSON object"),
        Err(e) => fail("header", &Error::Token(e.clone()), problem_for("header").unwrap_or_else(|| e.to_string())),
    });
    let header = header.ok();
    let mut alg = None;
    let mut kid = None;
    match &header {
        None => {
            for id in ["alg", "header_key_refs", "crit", "enc", "kid_format", "header_typ"] {
                checks.push(skip(id, "header could not be decoded"));
            }
        }
        Some(h) => {
            checks.push(match token::header_alg(h) {
                Ok(a) => {
                    alg = Some(a);
                    pass("alg", format!("{a}: {} with SHA-{}", alg_explained(a), a.hash().len() * 8))
                }
                Err(e) => fail("alg", &Error::Token(e), alg_refused_message(h)),
            });
            checks.push(match token::header_key_refs(h) {
                Ok(()) => pass("header_key_refs", "no jku/jwk/x5u/x5c: keys come from the issuer's JWKS only"),
                Err(e @ TokenError::HeaderKey(name)) => fail(
                    "header_key_refs",
                    &Error::Token(e),
                    format!("`{name}` in the header lets the token name its own key; it is refused, never followed"),
                ),
                Err(e) => fail("header_key_refs", &Error::Token(e.clone()), e.to_string()),
            });
            checks.push(match token::header_crit(h) {
                Ok(()) => pass("crit", "no crit/b64 extensions"),
                Err(e) => fail(
                    "crit",
                    &Error::Token(e),
                    format!("`crit`/`b64` present ({}): no JWS extension is understood", show(h.get("crit"))),
                ),
            });
            checks.push(match token::header_not_encrypted(h) {
                Ok(()) => pass("enc", "no JWE members (enc/zip)"),
                Err(e) => fail("enc", &Error::Token(e), "`enc`/`zip` in the header: this is (part of) an encrypted token"),
            });
            checks.push(match token::header_kid(h) {
                Ok(Some(k)) => {
                    let m = format!("kid `{k}`");
                    kid = Some(k);
                    pass("kid_format", m)
                }
                Ok(None) => pass("kid_format", "no kid: every key bound to the token's alg is a candidate"),
                Err(e) => fail("kid_format", &Error::Token(e), format!("kid is {}, not a string", show(h.get("kid")))),
            });
            checks.push(match token::header_typ(h) {
                Ok(()) => pass("header_typ", format!("header typ {}", h.get("typ").map_or("absent".into(), |t| t.to_string()))),
                Err(e) => fail(
                    "header_typ",
                    &Error::Token(e),
                    if h.contains_key("cty") {
                        "`cty` present: a nested token is refused".to_owned()
                    } else {
                        format!("header typ {} is not JWT, at+jwt or application/at+jwt", show(h.get("typ")))
                    },
                ),
            });
        }
    }

    // Payload and signature segments.
    let pay_seg = token.split('.').nth(1).filter(|_| parts != Err(TokenError::Encrypted));
    let strict_claims = pay_seg.map(|s| token::decode_object(s, Segment::Payload, limits.max_json_depth));
    checks.push(match &strict_claims {
        None => skip("payload", "no JWS payload segment"),
        Some(Ok(_)) => pass("payload", "payload is strict base64url and a strict JSON object"),
        Some(Err(e)) => fail("payload", &Error::Token(e.clone()), problem_for("payload").unwrap_or_else(|| e.to_string())),
    });
    let signature = match &parts {
        Ok(p) => {
            let r = token::signature_bytes(p[2]);
            checks.push(match &r {
                Ok(s) => pass("signature_format", format!("{} signature bytes", s.len())),
                Err(e) => fail("signature_format", &Error::Token(e.clone()), problem_for("signature").unwrap_or_else(|| e.to_string())),
            });
            r.ok()
        }
        Err(_) => {
            checks.push(skip("signature_format", "no signature segment"));
            None
        }
    };
    // Claims for the claim rules: strict when possible, else whatever JSON object decoded.
    let claims: Option<Map<String, Value>> = match strict_claims {
        Some(Ok(m)) => Some(m),
        _ => decoded.payload.as_ref().and_then(|p| p.json.as_ref()).and_then(Value::as_object).cloned(),
    };

    // The issuer picks the configuration before anything else (`token.untrusted_issuer`).
    let token_iss = claims.as_ref().and_then(|c| c.get("iss"));
    checks.push(match (token_iss.and_then(Value::as_str), &ex.issuer) {
        _ if claims.is_none() => skip("iss", "no claims to read"),
        (None, _) => fail(
            "iss",
            &Error::UntrustedIssuer,
            format!("iss is {}: the Worker picks the issuer by `iss`, so it is required", show(token_iss)),
        ),
        (Some(i), Some(want)) if i == want => pass("iss", format!("iss `{i}` is the expected issuer")),
        (Some(i), Some(want)) => {
            let hint = if i.trim_end_matches('/') == want.trim_end_matches('/') {
                " (they differ only by a trailing slash, and that counts)"
            } else if i.eq_ignore_ascii_case(want) {
                " (they differ only in case, and that counts)"
            } else {
                ""
            };
            fail("iss", &Error::UntrustedIssuer, format!("iss `{i}` is not the expected `{want}`: compared exactly{hint}"))
        }
        (Some(i), None) => skip("iss", format!("iss `{i}`; no expected issuer given")),
    });
    let allowed: Option<Result<Vec<Alg>, String>> = ex
        .algorithms
        .as_ref()
        .map(|names| names.iter().map(|n| Alg::parse(n).ok_or_else(|| format!("`{n}` in the allow-list is not an algorithm"))).collect());
    checks.push(match (&allowed, alg) {
        (None, _) => skip("alg_allowed", "no algorithm allow-list given (all nine accepted)"),
        (_, None) => skip("alg_allowed", "no usable alg"),
        (Some(Err(e)), _) => skip("alg_allowed", e.clone()),
        (Some(Ok(list)), Some(a)) if list.contains(&a) => pass("alg_allowed", format!("{a} is in the allow-list")),
        (Some(Ok(_)), Some(a)) => fail("alg_allowed", &Error::AlgNotAllowed, format!("{a} is not in the issuer's allow-list")),
    });

    // Keys: selection by kid, then the key's algorithm binding, then the signature.
    let keyset = keys.filter(|k| !k.trim().is_empty()).map(|k| parse_keys(k, ex, kid.as_deref()));
    let unavailable = || Error::Key(KeyError::Unavailable(FetchError::BadDocument("key input is not a usable JWK, JWK Set or PEM key")));
    let mut candidates: Vec<VerifyKey> = vec![];
    match (&keyset, alg) {
        (None, _) => {
            for id in ["kid", "key_binding", "signature"] {
                checks.push(skip(id, "no key given: paste a JWK, JWK Set or PEM, or fetch the issuer's JWKS"));
            }
        }
        (Some(Keys { set: Err(e), .. }), _) => {
            checks.push(fail("kid", &unavailable(), e.clone()));
            checks.push(skip("key_binding", "no usable keys"));
            checks.push(skip("signature", "no usable keys"));
        }
        (Some(_), None) => {
            for id in ["kid", "key_binding", "signature"] {
                checks.push(skip(id, "no accepted alg to select a key with"));
            }
        }
        (Some(Keys { set: Ok(set), .. }), Some(a)) => {
            let sel = set.select(kid.as_deref(), a);
            match (&sel, kid.as_deref()) {
                (Selection::UnknownKid, Some(k)) => {
                    checks.push(fail("kid", &Error::Key(KeyError::UnknownKid), format!("no key has kid `{k}` (keys: {})", list_keys(set))));
                    checks.push(skip("key_binding", "no key with this kid"));
                }
                (Selection::UnknownKid, None) => {
                    checks.push(pass("kid", "token has no kid: every key bound to its alg is tried"));
                    checks.push(fail(
                        "key_binding",
                        &Error::Key(KeyError::UnknownKid),
                        format!("no key is bound to {a} (keys: {})", list_keys(set)),
                    ));
                }
                (Selection::AlgMismatch, k) => {
                    checks.push(pass("kid", format!("a key has kid `{}`", k.unwrap_or(""))));
                    let bound: Vec<&str> = set.keys.iter().filter(|x| x.kid.as_deref() == k).map(|x| x.alg.as_str()).collect();
                    let pem_hint = if keyset.as_ref().is_some_and(|k| k.report.format == "pem") {
                        " A PEM carries no algorithm: choose one for the key, or leave it on automatic."
                    } else {
                        ""
                    };
                    checks.push(fail(
                        "key_binding",
                        &Error::Key(KeyError::AlgMismatch),
                        format!("the key is bound to {} and the token says {a}: the key decides the algorithm.{pem_hint}", bound.join("/")),
                    ));
                }
                (Selection::Candidates(c), k) => {
                    checks.push(match k {
                        Some(k) => pass("kid", format!("key `{k}` found")),
                        None => pass("kid", "token has no kid: every key bound to its alg is tried"),
                    });
                    checks.push(pass("key_binding", format!("{} key{} bound to {a}", c.len(), if c.len() == 1 { "" } else { "s" })));
                    candidates = c.clone();
                }
            }
            if candidates.is_empty() {
                checks.push(skip("signature", "no candidate key"));
            }
        }
    }
    if !candidates.is_empty() {
        let input = match &parts {
            Ok(p) => Some(&token[..p[0].len() + 1 + p[1].len()]),
            Err(_) => None,
        };
        checks.push(match (input, &signature) {
            (Some(input), Some(sig)) => signature_check(backend, &candidates, input.as_bytes(), sig).await,
            _ => skip("signature", "no signature to verify"),
        });
    }

    // Claim rules, every one of them.
    let leeway = ex.leeway_secs;
    let mut times = Times { exp: None, nbf: None, iat: None, leeway_secs: leeway };
    match &claims {
        None => {
            for id in ["exp", "nbf", "iat", "lifetime", "aud", "typ", "required_claims", "client_id"] {
                checks.push(skip(id, "no claims to read"));
            }
        }
        Some(c) => {
            let exp = claims::required_exp(c);
            let nbf = claims::numeric_date(c, "nbf");
            let iat = claims::numeric_date(c, "iat");
            times.exp = exp.as_ref().ok().copied();
            times.nbf = nbf.as_ref().ok().copied().flatten();
            times.iat = iat.as_ref().ok().copied().flatten();
            let bad_time = |id: &'static str, e: ClaimsError, v: Option<&Value>| {
                let m = match &e {
                    ClaimsError::MissingClaim(_) => format!("`{id}` is required"),
                    _ => format!("`{id}` is {}: a NumericDate is a non-negative JSON number of seconds below 2^53", show(v)),
                };
                fail(id, &Error::Claims(e), m)
            };
            checks.push(match exp.clone() {
                Err(e) => bad_time("exp", e, c.get("exp")),
                Ok(t) => match claims::check_exp(t, leeway, now) {
                    Ok(()) => pass("exp", format!("expires {} (leeway {leeway} s)", when(t, now))),
                    Err(e) => fail(
                        "exp",
                        &Error::Claims(e),
                        format!(
                            "expired {}; with {leeway} s leeway it stopped being accepted {}",
                            when(t, now),
                            relative(t + leeway as f64 - now)
                        ),
                    ),
                },
            });
            checks.push(match nbf.clone() {
                Err(e) => bad_time("nbf", e, c.get("nbf")),
                Ok(None) => pass("nbf", "no nbf"),
                Ok(Some(t)) => match claims::check_nbf(Some(t), leeway, now) {
                    Ok(()) => pass("nbf", format!("valid from {}", when(t, now))),
                    Err(e) => fail(
                        "nbf",
                        &Error::Claims(e),
                        format!(
                            "not valid before {}; with {leeway} s leeway, accepted {}",
                            when(t, now),
                            relative(t - leeway as f64 - now)
                        ),
                    ),
                },
            });
            checks.push(match iat.clone() {
                Err(e) => bad_time("iat", e, c.get("iat")),
                Ok(None) => pass("iat", "no iat"),
                Ok(Some(t)) => match claims::check_iat(Some(t), leeway, now) {
                    Ok(()) => pass("iat", format!("issued {}", when(t, now))),
                    Err(e) => fail("iat", &Error::Claims(e), format!("issued in the future: {} (leeway {leeway} s)", when(t, now))),
                },
            });
            checks.push(match (exp, iat) {
                (Ok(e), Ok(i)) => match claims::check_lifetime(e, i, ex.max_lifetime_secs, now) {
                    Ok(()) => {
                        pass("lifetime", format!("lifetime {} s (max {})", (e - i.unwrap_or(now).min(now)).round(), ex.max_lifetime_secs))
                    }
                    Err(err) => fail(
                        "lifetime",
                        &Error::Claims(err),
                        format!(
                            "exp - min(iat, now) = {} s exceeds max_token_lifetime_secs {}",
                            (e - i.unwrap_or(now).min(now)).round(),
                            ex.max_lifetime_secs
                        ),
                    ),
                },
                _ => skip("lifetime", "needs valid exp and iat"),
            });
            checks.push(if ex.audiences.is_empty() {
                // No expectation: only what fails under any configuration.
                match claims::check_audience(c, &[]) {
                    Err(e @ ClaimsError::BadClaimType(_)) => {
                        fail("aud", &Error::Claims(e), format!("aud is {}: a string or an array of strings", show(c.get("aud"))))
                    }
                    _ if c.get("aud").is_none() => fail(
                        "aud",
                        &Error::Claims(ClaimsError::WrongAudience),
                        "no aud: the Worker requires one of its configured audiences",
                    ),
                    _ => skip("aud", format!("aud {}; no expected audience given", show(c.get("aud")))),
                }
            } else {
                match claims::check_audience(c, &ex.audiences) {
                    Ok(()) => pass("aud", format!("aud {} contains an expected audience", show(c.get("aud")))),
                    Err(e) => {
                        let m = match &e {
                            ClaimsError::BadClaimType(_) => format!("aud is {}: a string or an array of strings", show(c.get("aud"))),
                            _ => format!(
                                "aud {} contains none of {:?} (exact, case-sensitive). Keycloak needs an Audience mapper",
                                show(c.get("aud")),
                                ex.audiences
                            ),
                        };
                        fail("aud", &Error::Claims(e), m)
                    }
                }
            });
            checks.push(match &ex.expected_typ {
                None => skip("typ", format!("typ {}; not checked", show(c.get("typ")))),
                Some(want) => match claims::check_typ(c, Some(want)) {
                    Ok(()) => pass("typ", format!("typ `{want}`")),
                    Err(e) => {
                        let kind = match c.get("typ").and_then(Value::as_str) {
                            Some("ID") => " (an ID token, not an access token)",
                            Some("Refresh") => " (a refresh token, not an access token)",
                            _ => "",
                        };
                        fail("typ", &Error::Claims(e), format!("typ is {}{kind}; expected `{want}`", show(c.get("typ"))))
                    }
                },
            });
            checks.push(if ex.required_claims.is_empty() {
                skip("required_claims", "no required claims given")
            } else {
                match claims::check_required(c, &ex.required_claims) {
                    Ok(()) => pass("required_claims", format!("present: {}", ex.required_claims.join(", "))),
                    Err(e @ ClaimsError::MissingClaim(_)) => {
                        let m = e.to_string();
                        fail("required_claims", &Error::Claims(e), m)
                    }
                    Err(e) => fail("required_claims", &Error::Claims(e), ""),
                }
            });
            checks.push(match claims::client_identity(c) {
                Ok(id) => pass("client_id", format!("client `{id}` (from client_id/clientId/azp)")),
                Err(e) => {
                    let seen =
                        format!("client_id {}, clientId {}, azp {}", show(c.get("client_id")), show(c.get("clientId")), show(c.get("azp")));
                    let m = match &e {
                        ClaimsError::ConflictingClientId => format!("they disagree: {seen}"),
                        ClaimsError::NoClientId => "none of client_id, clientId, azp is a non-empty string".into(),
                        _ => format!("not strings: {seen}"),
                    };
                    fail("client_id", &Error::Claims(e), m)
                }
            });
        }
    }

    let key_set = keyset.as_ref().map(|k| k.set.as_ref());
    let verdict = worker_verdict(backend, token, key_set, ex, allowed.and_then(Result::ok), now).await;
    Report { now, decoded, keys: keyset.map(|k| k.report), times, checks, verdict }
}

async fn signature_check<B: SignatureBackend>(backend: &B, candidates: &[VerifyKey], input: &[u8], sig: &[u8]) -> Check {
    for key in candidates {
        match crypto::verify(backend, key, input, sig).await {
            Ok(true) => {
                let who = key.kid.as_deref().map_or("the key".to_owned(), |k| format!("key `{k}`"));
                return pass("signature", format!("{} signature verified with {who} (thumbprint {})", key.alg, key.thumbprint));
            }
            Ok(false) => {}
            Err(e) => return fail("signature", &Error::Crypto(e.clone()), e.to_string()),
        }
    }
    let want = candidates[0].key.signature_len();
    let hint = if sig.len() != want {
        format!(": the signature is {} bytes, a signature by this key is {want}", sig.len())
            + if matches!(candidates[0].key, PublicKey::P256 { .. } | PublicKey::P384 { .. }) && sig.first() == Some(&0x30) {
                " (it looks DER-encoded; JWS ECDSA signatures are raw r||s)"
            } else {
                ""
            }
    } else {
        ": a different key signed it, or the token was changed after signing".to_owned()
    };
    fail("signature", &Error::BadSignature, format!("no candidate key verifies this signature ({} tried){hint}", candidates.len()))
}

/// The path `exchange::verify_subject_token` takes, with the pasted keys and the expectations.
async fn worker_path<B: SignatureBackend>(
    backend: &B,
    token: &str,
    keys: Option<Result<&KeySet, &String>>,
    ex: &Expectations,
    allowed: Option<Vec<Alg>>,
    now: f64,
    not_checked: &mut Vec<&'static str>,
) -> Result<String, Error> {
    let t = UntrustedToken::parse(token, ex.token_limits())?;
    let iss = t.issuer().ok_or(Error::UntrustedIssuer)?;
    match &ex.issuer {
        Some(want) if want != iss => return Err(Error::UntrustedIssuer),
        Some(_) => {}
        None => not_checked.push("iss"),
    }
    if allowed.as_ref().is_some_and(|a| !a.contains(&t.alg)) {
        return Err(Error::AlgNotAllowed);
    }
    match keys {
        None => not_checked.push("signature"),
        Some(Err(_)) => return Err(Error::Key(KeyError::Unavailable(FetchError::BadDocument("key input is not usable")))),
        Some(Ok(set)) => {
            let candidates = match set.select(t.kid.as_deref(), t.alg) {
                Selection::Candidates(c) => c,
                Selection::UnknownKid => return Err(Error::Key(KeyError::UnknownKid)),
                Selection::AlgMismatch => return Err(Error::Key(KeyError::AlgMismatch)),
            };
            let mut ok = false;
            for key in &candidates {
                if crypto::verify(backend, key, t.signing_input.as_bytes(), &t.signature).await? {
                    ok = true;
                    break;
                }
            }
            if !ok {
                return Err(Error::BadSignature);
            }
        }
    }
    let audiences = if ex.audiences.is_empty() {
        // Stand in a configuration that accepts the token's own audience: only an absent or
        // malformed `aud` then fails, as it would under any configuration.
        not_checked.push("aud");
        token_auds(&t.claims)
    } else {
        ex.audiences.clone()
    };
    let rules = ClaimRules {
        issuer: iss.to_owned(),
        audiences,
        leeway_secs: ex.leeway_secs,
        max_lifetime_secs: ex.max_lifetime_secs,
        expected_typ: ex.expected_typ.clone(),
        required_claims: ex.required_claims.clone(),
    };
    Ok(claims::validate(&t.claims, &rules, now)?.client_id)
}

async fn worker_verdict<B: SignatureBackend>(
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
            status: if not_checked.contains(&"signature") { "unverified" } else { "valid" },
            reason_code: None,
            description: None,
            http_status: None,
            oauth_error: None,
            client_id: Some(client_id),
            not_checked,
        },
        Err(e) => {
            let o = e.to_oauth(30);
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

#[cfg(all(test, feature = "pure-crypto"))]
mod tests {
    use super::*;
    use crate::pure_crypto::PureCrypto;
    use crate::signing::SigningKey;
    use futures_executor::block_on;

    const NOW: f64 = 1_800_000_000.0;
    const ISS: &str = "https://kc.example/realms/r";

    /// Fixed TEST-ONLY P-256 key (d = 1..32), the same as the benches'.
    fn es256(kid: &str) -> SigningKey {
        let d: Vec<u8> = (1..=32u8).collect();
        let jwk = json!({"kty": "EC", "crv": "P-256", "alg": "ES256", "kid": kid,
            "x": "UVw9brnjlrkE0_7Kf1T9zQzB6Ze_N13KUVrQpsO0A18", "y": "RTa-OlDzGPv5pUdZAqIhUCvvDVfgjFOyzApW8X2fk1Q",
            "d": b64::encode(&d)});
        SigningKey::from_jwk(jwk.as_object().unwrap().clone()).unwrap()
    }

    /// Another TEST-ONLY P-256 key (d = 2..33).
    fn other_es256(kid: &str) -> SigningKey {
        let d: Vec<u8> = (2..=33u8).collect();
        let sk = p256::ecdsa::SigningKey::from_slice(&d).unwrap();
        let pt = sk.verifying_key().to_encoded_point(false);
        let jwk = json!({"kty": "EC", "crv": "P-256", "alg": "ES256", "kid": kid,
            "x": b64::encode(pt.x().unwrap()), "y": b64::encode(pt.y().unwrap()), "d": b64::encode(&d)});
        SigningKey::from_jwk(jwk.as_object().unwrap().clone()).unwrap()
    }

    const ES256_PEM: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEUVw9brnjlrkE0/7Kf1T9zQzB6Ze/
N13KUVrQpsO0A19FNr46UPMY+/mlR1kCoiFQK+8NV+CMU7LMClbxfZ+TVA==
-----END PUBLIC KEY-----";

    fn claims() -> Value {
        json!({"iss": ISS, "aud": ["account", "edge-sts"], "exp": NOW + 300.0, "iat": NOW - 10.0,
               "typ": "Bearer", "azp": "svc", "client_id": "svc", "realm_access": {"roles": ["a"]}})
    }

    fn sign(key: &SigningKey, header: &Value, claims: &Value) -> String {
        let input = format!("{}.{}", b64::encode(header.to_string().as_bytes()), b64::encode(claims.to_string().as_bytes()));
        let sig = PureCrypto.sign_sync(key, input.as_bytes()).unwrap();
        format!("{input}.{}", b64::encode(&sig))
    }

    /// A token signed by `es256("k1")`, with header and claims patched (`null` removes).
    fn tok(hpatch: Value, cpatch: Value) -> String {
        let mut h = json!({"alg": "ES256", "typ": "JWT", "kid": "k1"});
        let mut c = claims();
        for (target, patch) in [(&mut h, hpatch), (&mut c, cpatch)] {
            for (k, v) in patch.as_object().unwrap() {
                if v.is_null() {
                    target.as_object_mut().unwrap().remove(k);
                } else {
                    target[k] = v.clone();
                }
            }
        }
        sign(&es256("k1"), &h, &c)
    }

    fn jwks(keys: &[&SigningKey]) -> String {
        json!({"keys": keys.iter().map(|k| k.public.to_public_jwk()).collect::<Vec<_>>()}).to_string()
    }

    fn expect() -> Expectations {
        Expectations { issuer: Some(ISS.into()), audiences: vec!["edge-sts".into()], ..Expectations::default() }
    }

    fn run(token: &str, keys: Option<&str>, ex: &Expectations) -> Report {
        block_on(inspect(&PureCrypto, token, keys, ex, NOW))
    }

    /// (verdict reason or "ok"/"unverified", the ids of the failing checks).
    fn check(token: &str, keys: Option<&str>, ex: &Expectations) -> (String, Vec<(&'static str, &'static str)>) {
        let r = run(token, keys, ex);
        let v = match (r.verdict.status, r.verdict.reason_code) {
            ("valid", _) => "ok".to_owned(),
            ("unverified", _) => "unverified".to_owned(),
            (_, Some(code)) => code.to_owned(),
            (s, None) => s.to_owned(),
        };
        let failed = r.checks.iter().filter(|c| c.status == Status::Fail).map(|c| (c.id, c.reason_code.unwrap())).collect();
        (v, failed)
    }

    fn forged(header: &str, claims: &Value) -> String {
        format!("{}.{}.{}", b64::encode(header.as_bytes()), b64::encode(claims.to_string().as_bytes()), b64::encode(b"sig"))
    }

    #[test]
    fn outcomes_table() {
        let k1 = jwks(&[&es256("k1")]);
        let wrong = jwks(&[&other_es256("k1")]);
        let ex = expect();
        let none = forged(r#"{"alg":"none","typ":"JWT"}"#, &claims());
        let hs = forged(r#"{"alg":"HS256","typ":"JWT"}"#, &claims());
        let good = tok(json!({}), json!({}));
        let mut bad_sig = good.clone();
        let last = bad_sig.pop().unwrap();
        bad_sig.push(if last == 'A' { 'Q' } else { 'A' });
        #[rustfmt::skip]
        type Row<'a> = (&'a str, String, Option<&'a str>, &'a str, Vec<(&'a str, &'a str)>);
        let table: Vec<Row> = vec![
            ("valid", good.clone(), Some(&k1), "ok", vec![]),
            ("no key", good.clone(), None, "unverified", vec![]),
            ("bad signature", bad_sig, Some(&k1), "token.signature", vec![("signature", "token.signature")]),
            ("wrong key", good.clone(), Some(&wrong), "token.signature", vec![("signature", "token.signature")]),
            ("unknown kid", tok(json!({"kid": "k9"}), json!({})), Some(&k1), "key.unknown_kid", vec![("kid", "key.unknown_kid")]),
            ("expired", tok(json!({}), json!({"exp": NOW - 60.0})), Some(&k1), "claims.expired", vec![("exp", "claims.expired")]),
            ("expired within leeway", tok(json!({}), json!({"exp": NOW - 59.0})), Some(&k1), "ok", vec![]),
            ("nbf", tok(json!({}), json!({"nbf": NOW + 61.0})), Some(&k1), "claims.nbf", vec![("nbf", "claims.nbf")]),
            ("iat future", tok(json!({}), json!({"iat": NOW + 61.0})), Some(&k1), "claims.iat", vec![("iat", "claims.iat")]),
            ("lifetime", tok(json!({}), json!({"exp": NOW + 4000.0})), Some(&k1), "claims.lifetime", vec![("lifetime", "claims.lifetime")]),
            (
                "wrong iss",
                tok(json!({}), json!({"iss": format!("{ISS}/")})),
                Some(&k1),
                "token.untrusted_issuer",
                vec![("iss", "token.untrusted_issuer")],
            ),
            ("no iss", tok(json!({}), json!({"iss": null})), Some(&k1), "token.untrusted_issuer", vec![("iss", "token.untrusted_issuer")]),
            ("wrong aud", tok(json!({}), json!({"aud": "account"})), Some(&k1), "claims.aud", vec![("aud", "claims.aud")]),
            ("typ ID", tok(json!({}), json!({"typ": "ID"})), Some(&k1), "claims.typ", vec![("typ", "claims.typ")]),
            (
                "no client",
                tok(json!({}), json!({"azp": null, "client_id": null})),
                Some(&k1),
                "claims.client_id",
                vec![("client_id", "claims.client_id")],
            ),
            (
                "client conflict",
                tok(json!({}), json!({"client_id": "x"})),
                Some(&k1),
                "claims.client_id_conflict",
                vec![("client_id", "claims.client_id_conflict")],
            ),
            ("exp type", tok(json!({}), json!({"exp": "soon"})), Some(&k1), "claims.time_type", vec![("exp", "claims.time_type")]),
            ("alg none", none, Some(&k1), "token.alg", vec![("alg", "token.alg")]),
            ("HS256", hs, Some(&k1), "token.alg", vec![("alg", "token.alg")]),
            (
                "jku",
                tok(json!({"jku": "https://evil"}), json!({})),
                Some(&k1),
                "token.header_key",
                vec![("header_key_refs", "token.header_key")],
            ),
            ("crit", tok(json!({"crit": ["x"]}), json!({})), Some(&k1), "token.crit", vec![("crit", "token.crit")]),
            (
                "header typ",
                tok(json!({"typ": "logout+jwt"}), json!({})),
                Some(&k1),
                "token.header_typ",
                vec![("header_typ", "token.header_typ")],
            ),
            ("kid type", tok(json!({"kid": 7}), json!({})), Some(&k1), "token.kid", vec![("kid_format", "token.kid")]),
            (
                "two segments",
                "a.b".into(),
                Some(&k1),
                "token.malformed",
                vec![("segments", "token.malformed"), ("header", "token.base64"), ("payload", "token.base64")],
            ),
            ("jwe", "a.b.c.d.e".into(), Some(&k1), "token.encrypted", vec![("segments", "token.encrypted"), ("header", "token.base64")]),
            ("bad key input", good.clone(), Some("{nope"), "key.unavailable", vec![("kid", "key.unavailable")]),
            (
                "alg mismatch",
                tok(json!({"alg": "ES384"}), json!({})),
                Some(&k1),
                "key.alg_mismatch",
                vec![("key_binding", "key.alg_mismatch")],
            ),
        ];
        for (name, token, keys, want, failed) in table {
            let (v, f) = check(&token, keys, &ex);
            assert_eq!(v, want, "{name}: verdict");
            assert_eq!(f, failed, "{name}: failing checks");
        }
    }

    #[test]
    fn every_claim_failure_is_reported_not_only_the_first() {
        let t = tok(json!({}), json!({"exp": NOW - 100.0, "aud": "x", "typ": "ID", "azp": null, "client_id": null}));
        let (v, f) = check(&t, Some(&jwks(&[&es256("k1")])), &expect());
        assert_eq!(v, "claims.expired", "the Worker stops at the first, in its order");
        let ids: Vec<&str> = f.iter().map(|x| x.0).collect();
        assert_eq!(ids, ["exp", "aud", "typ", "client_id"]);
    }

    #[test]
    fn expectations_off_means_skipped() {
        let t = tok(json!({}), json!({}));
        let r = run(&t, Some(&jwks(&[&es256("k1")])), &Expectations::default());
        assert_eq!(r.verdict.status, "valid");
        assert_eq!(r.verdict.not_checked, ["iss", "aud"]);
        let status = |id| r.checks.iter().find(|c| c.id == id).unwrap().status;
        assert_eq!(status("iss"), Status::Skip);
        assert_eq!(status("aud"), Status::Skip);
        assert_eq!(status("signature"), Status::Pass);
        // A token without aud fails under any configuration.
        let (v, _) = check(&tok(json!({}), json!({"aud": null})), None, &Expectations::default());
        assert_eq!(v, "claims.aud");
    }

    #[test]
    fn keys_in_every_form() {
        let t = tok(json!({}), json!({}));
        let key = es256("k1");
        let bare = key.public.key.to_jwk().to_string(); // no kid, no alg: adopts the token's kid
        let ex = expect();
        for (name, keys) in
            [("jwks", jwks(&[&key])), ("jwk", key.public.to_public_jwk().to_string()), ("bare jwk", bare), ("pem", ES256_PEM.into())]
        {
            let r = run(&t, Some(&keys), &ex);
            assert_eq!(r.verdict.status, "valid", "{name}: {:?}", r.checks);
            assert_eq!(r.keys.as_ref().unwrap().format, if name == "bare jwk" { "jwk" } else { name });
        }
        // A private JWK is refused with a reason; the report says why.
        let private = Value::Object(key.private_jwk.clone()).to_string();
        let r = run(&t, Some(&private), &ex);
        assert_eq!(r.verdict.reason_code, Some("key.unknown_kid"));
        assert!(r.keys.unwrap().skipped[0].reason.contains("private"));
        // A JWKS kid mismatch is not adopted (only a single pasted key is).
        let (v, _) = check(&t, Some(&jwks(&[&es256("other")])), &ex);
        assert_eq!(v, "key.unknown_kid");
        // PEM bound to another algorithm.
        let ex384 = Expectations { key_alg: Some("ES384".into()), ..expect() };
        let r = run(&t, Some(ES256_PEM), &ex384);
        assert_eq!(r.verdict.reason_code, Some("key.unknown_kid"), "a P-256 key cannot be ES384: skipped");
        assert!(r.keys.unwrap().skipped[0].reason.contains("does not fit"));
        for (pem, why) in [
            ("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----", "private"),
            ("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----", "certificate"),
            ("-----BEGIN PUBLIC KEY-----\n!!!\n-----END PUBLIC KEY-----", "PEM"),
        ] {
            let r = run(&t, Some(pem), &ex);
            assert_eq!(r.verdict.reason_code, Some("key.unavailable"), "{pem}");
            assert!(r.keys.unwrap().error.unwrap().contains(why), "{pem}");
        }
    }

    #[test]
    fn rsa_pem_spki_and_pkcs1_verify_a_vector() {
        let text = std::fs::read_to_string(format!("{}/../tests/vectors/generated.json", env!("CARGO_MANIFEST_DIR"))).unwrap();
        let doc: Value = serde_json::from_str(&text).unwrap();
        let case = doc["cases"].as_array().unwrap().iter().find(|c| c["name"] == "RS256 valid").unwrap();
        let token = format!("{}.{}", case["input"].as_str().unwrap(), case["signature"].as_str().unwrap());
        let spki = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA9O5YGWCyM9Ycsw72sfML
QlmCfzz56gDvGrgRCPUcVxi/ehnfJOFGtIoLPjrAtzQyL60y9KaPorgnFwwnm8J5
f2ZDyQ7DMaMVFmWtUt+asrM0bF4Bu4TOBjefZDjCRiRInE74K5LjuOCyaMP+2+DN
a+YLRLevxvvfVT2mgwTYaTXmcSUC9zUMQpN7ihKR8CFo+gab8A2tnTsZVOYq0WJp
mGeNTGwvJ4ONXz2QH7DkbxllObydx7Yd1Cf8uduN6KhLODu42xsnJefiwQzSgRmk
Kmx40yMFKzgHKaLNnh0BhvQ52szeOL07xnUo4SgHK+X9z2uq0vl3+Ii0y2Y0jcXM
SQIDAQAB
-----END PUBLIC KEY-----";
        let pkcs1 = "-----BEGIN RSA PUBLIC KEY-----
MIIBCgKCAQEA9O5YGWCyM9Ycsw72sfMLQlmCfzz56gDvGrgRCPUcVxi/ehnfJOFG
tIoLPjrAtzQyL60y9KaPorgnFwwnm8J5f2ZDyQ7DMaMVFmWtUt+asrM0bF4Bu4TO
BjefZDjCRiRInE74K5LjuOCyaMP+2+DNa+YLRLevxvvfVT2mgwTYaTXmcSUC9zUM
QpN7ihKR8CFo+gab8A2tnTsZVOYq0WJpmGeNTGwvJ4ONXz2QH7DkbxllObydx7Yd
1Cf8uduN6KhLODu42xsnJefiwQzSgRmkKmx40yMFKzgHKaLNnh0BhvQ52szeOL07
xnUo4SgHK+X9z2uq0vl3+Ii0y2Y0jcXMSQIDAQAB
-----END RSA PUBLIC KEY-----";
        // The vector's claims are not a Keycloak token's; only the signature path matters here.
        for pem in [spki, pkcs1] {
            let r = run(&token, Some(pem), &Expectations::default());
            let sig = r.checks.iter().find(|c| c.id == "signature").unwrap();
            assert_eq!(sig.status, Status::Pass, "{sig:?}");
        }
        // The same RSA key bound to PS256 does not verify an RS256 token: the key decides.
        let ex = Expectations { key_alg: Some("PS256".into()), ..Expectations::default() };
        let r = run(&token, Some(spki), &ex);
        let binding = r.checks.iter().find(|c| c.id == "key_binding").unwrap();
        assert_eq!(binding.reason_code, Some("key.unknown_kid"), "no kid in the token and no key bound to RS256");
    }

    #[test]
    fn malformed_tokens_are_located() {
        let good = tok(json!({}), json!({}));
        let dots: Vec<usize> = good.match_indices('.').map(|(i, _)| i).collect();
        // A bad base64url character in the payload.
        let mut bad = good.clone();
        bad.replace_range(dots[0] + 5..dots[0] + 6, "*");
        let d = decode(&bad, TokenLimits::default());
        let p = &d.problems[0];
        assert_eq!((p.segment, p.reason_code, p.offset, p.segment_offset), ("payload", "token.base64", Some(dots[0] + 5), Some(4)));
        assert!(d.payload.as_ref().unwrap().repaired);
        // Invalid JSON: line and column of the break.
        let t = format!("{}.{}.{}", b64::encode(br#"{"alg":"ES256"}"#), b64::encode(b"{\n  \"iss\": x}"), b64::encode(b"s"));
        let p = &decode(&t, TokenLimits::default()).problems[0];
        assert_eq!((p.segment, p.reason_code, p.line, p.column), ("payload", "token.json", Some(2), Some(10)));
        // Duplicate key: strict JSON catches what serde_json would silently accept.
        let t = format!("{}.{}.{}", b64::encode(br#"{"alg":"ES256","alg":"none"}"#), b64::encode(b"{}"), b64::encode(b"s"));
        let d = decode(&t, TokenLimits::default());
        assert_eq!(d.problems[0].reason_code, "token.duplicate_key");
        assert!(d.header.unwrap().json.is_some(), "still shown");
        // Padding, standard alphabet and whitespace, each pointed at.
        for (bad, at, what) in
            [(format!("{good}="), good.len(), "padding"), (good.replacen('-', "+", 1), good.find('-').unwrap_or(0), "standard")]
        {
            if !bad.contains('+') && what == "standard" {
                continue; // this token happens to have no `-`
            }
            let p = decode(&bad, TokenLimits::default()).problems.into_iter().next().unwrap();
            assert_eq!(p.offset, Some(at), "{what}");
            assert!(p.message.contains(what), "{}", p.message);
        }
        // Segment counts.
        let p = &decode("a.b.c.d", TokenLimits::default()).problems[0];
        assert_eq!((p.reason_code, p.offset), ("token.malformed", Some(5)));
        assert_eq!(decode("a.b.c.d.e", TokenLimits::default()).problems[0].reason_code, "token.encrypted");
        // Too large.
        let small = TokenLimits { max_token_bytes: 256, max_json_depth: 16 };
        let big = tok(json!({}), json!({"pad": "x".repeat(300)}));
        assert_eq!(decode(&big, small).problems[0].reason_code, "token.too_large");
        let r = run(&big, None, &Expectations { max_token_bytes: 256, ..expect() });
        assert_eq!(r.verdict.reason_code, Some("token.too_large"));
        assert!(r.decoded.payload.unwrap().json.is_some(), "decoded for display anyway");
    }

    #[test]
    fn bom_and_non_object() {
        let t = format!("{}.{}.{}", b64::encode("\u{feff}{\"alg\":\"ES256\"}".as_bytes()), b64::encode(b"[1]"), b64::encode(b"s"));
        let d = decode(&t, TokenLimits::default());
        assert!(d.problems[0].message.contains("byte order mark"), "{}", d.problems[0].message);
        assert_eq!(d.problems[1].reason_code, "token.json");
        assert!(d.problems[1].message.contains("not an object"));
    }

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
        let alg = r.checks.iter().find(|c| c.id == "alg").unwrap();
        assert!(alg.message.contains("HMAC"), "{}", alg.message);
        assert_eq!(alg.description.as_deref(), Some("subject token alg is not accepted"));
    }

    #[test]
    fn expectations_deserialize_with_config_defaults() {
        let e: Expectations = serde_json::from_str("{}").unwrap();
        assert_eq!(e, Expectations::default());
        assert_eq!(e.expected_typ.as_deref(), Some("Bearer"));
        let e: Expectations = serde_json::from_str(r#"{"expected_typ": null, "audiences": ["a"]}"#).unwrap();
        assert_eq!(e.expected_typ, None);
        assert!(serde_json::from_str::<Expectations>(r#"{"audience": "a"}"#).is_err(), "typos are refused");
    }
}
