//! Stage 1: decode the token as far as it decodes, forgiving and located. Display only: the
//! checks themselves (`header`, `payload`) use the Worker's strict functions; this stage says
//! *where* a token breaks (character offset, JSON line/column) and shows what it can.
use crate::jose::b64;
use crate::jose::json;
use crate::jose::token::{self, Segment, TokenError, TokenLimits};
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use serde::Serialize;
use serde_json::Value;

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

/// A decoded header or payload. `text` is the decoded bytes when they are text (UTF-8 without
/// control characters other than tab, CR and LF), `json` the value when it is JSON at all.
/// `binary` says the bytes are not text: `text` is absent then, as there is nothing readable
/// to show. `repaired` says the base64url was not strict and the bytes come from a forgiving
/// decode (the Worker refuses it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Part {
    pub start: usize,
    pub end: usize,
    pub text: Option<String>,
    pub json: Option<Value>,
    pub repaired: bool,
    pub binary: bool,
}

/// Bytes a person can read: UTF-8, and no control characters but tab, CR and LF.
fn is_text(bytes: &[u8]) -> bool {
    std::str::from_utf8(bytes).is_ok_and(|s| !s.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\r' | '\n')))
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

impl Decoded {
    /// The first problem found in `segment`, as a sentence.
    pub(super) fn problem_for(&self, segment: &str) -> Option<String> {
        self.problems.iter().find(|p| p.segment == segment).map(|p| p.message.clone())
    }
}

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
        return Part { start: js_start, end, text: None, json: None, repaired, binary: false };
    };
    let binary = !is_text(&bytes);
    let text = (!binary).then(|| String::from_utf8_lossy(&bytes).into_owned());
    let loose: Result<Value, serde_json::Error> = serde_json::from_slice(&bytes);
    let strict = json::parse_strict(&bytes, depth);
    let err = match &strict {
        Ok(Value::Object(_)) => None,
        Ok(_) => Some(TokenError::NotAnObject(which)),
        Err(e) => Some(TokenError::Json(which, *e)),
    };
    if let Some(err) = err {
        let (line, column, detail) = match &loose {
            // Bytes that are not text have no lines to point into.
            Err(_) if binary => (None, None, format!(": its {} bytes are not text", bytes.len())),
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
    Part { start: js_start, end, text, json: loose.ok(), repaired, binary }
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

#[cfg(all(test, feature = "pure-crypto"))]
mod tests {
    use super::super::tests::{expect, run, tok};
    use super::super::Expectations;
    use super::*;
    use serde_json::json;

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
    fn bytes_that_are_not_text_are_not_shown() {
        // A header segment that is binary, with a stray character: repaired, but not text.
        let bin = b64::encode(&[0xff, 0xfe, 0x00, 0x01, 0x9c, 0x80, 0x07, 0x1b, 0xc3]);
        let t = format!("{}*{}.{}.{}", &bin[..4], &bin[4..], b64::encode(br#"{"exp":1}"#), b64::encode(b"s"));
        let d = decode(&t, TokenLimits::default());
        let h = d.header.as_ref().unwrap();
        assert!(h.repaired && h.binary, "{h:?}");
        assert_eq!((h.text.as_deref(), h.json.as_ref()), (None, None));
        let p = d.problems.iter().find(|p| p.reason_code == "token.json").unwrap();
        assert_eq!((p.line, p.column), (None, None));
        assert!(p.message.contains("bytes are not text"), "{}", p.message);
        // Text stays text, tabs and newlines included.
        let t = format!("{}.{}.{}", b64::encode(b"{\t\"alg\":\n x}"), b64::encode(b"{}"), b64::encode(b"s"));
        let h = decode(&t, TokenLimits::default()).header.unwrap();
        assert!(!h.binary && h.text.is_some());
    }

    #[test]
    fn bom_and_non_object() {
        let t = format!("{}.{}.{}", b64::encode("\u{feff}{\"alg\":\"ES256\"}".as_bytes()), b64::encode(b"[1]"), b64::encode(b"s"));
        let d = decode(&t, TokenLimits::default());
        assert!(d.problems[0].message.contains("byte order mark"), "{}", d.problems[0].message);
        assert_eq!(d.problems[1].reason_code, "token.json");
        assert!(d.problems[1].message.contains("not an object"));
    }
}
