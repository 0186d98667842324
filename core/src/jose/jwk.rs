//! JWK and JWK Set parsing (RFC 7517/7518) into keys that can only verify.
//!
//! Architecture invariant: the key decides the algorithm. A token's `alg` is only ever compared
//! with the `alg` bound to a key here (the JWK's `alg`, or the one its `kty`/`crv` implies).
use crate::jose::alg::{Alg, Family};
use crate::jose::b64;
use crate::jose::json::{self, JsonError};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::fmt;

pub const MIN_RSA_BITS: usize = 2048;
pub const MAX_RSA_BITS: usize = 8192;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    Rsa { n: Vec<u8>, e: Vec<u8> },
    P256 { x: Vec<u8>, y: Vec<u8> },
    P384 { x: Vec<u8>, y: Vec<u8> },
    Ed25519 { x: Vec<u8> },
}

/// A public key bound to exactly one algorithm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyKey {
    pub kid: Option<String>,
    pub alg: Alg,
    pub key: PublicKey,
    /// RFC 7638 thumbprint: a stable identity for caches of imported keys.
    pub thumbprint: String,
    /// The JWK named no `alg`. For RSA keys the key type then fixes only the family: any
    /// RS*/PS* algorithm may be checked against it (every one needs the private key); for EC
    /// and OKP keys the curve fixes the one algorithm anyway.
    pub alg_implied: bool,
}

/// Why a JWK was not used. Stable, short, safe to log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwkError {
    NotAnObject,
    UnsupportedKty,
    NotForSigning,
    UnsupportedAlg,
    AlgDoesNotFitKey,
    BadMember(&'static str),
    WeakRsaKey,
    RsaExponent,
    PrivateMaterial,
}

impl fmt::Display for JwkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JwkError::NotAnObject => f.write_str("key is not a JSON object"),
            JwkError::UnsupportedKty => f.write_str("unsupported kty (only RSA, EC and OKP verify)"),
            JwkError::NotForSigning => f.write_str("key is not for signatures (use/key_ops)"),
            JwkError::UnsupportedAlg => f.write_str("unsupported alg"),
            JwkError::AlgDoesNotFitKey => f.write_str("alg does not fit the key type or curve"),
            JwkError::BadMember(m) => write!(f, "member `{m}` is missing or not strict base64url of the right length"),
            JwkError::WeakRsaKey => write!(f, "RSA modulus outside {MIN_RSA_BITS}..={MAX_RSA_BITS} bits"),
            JwkError::RsaExponent => f.write_str("RSA public exponent must be 65537"),
            JwkError::PrivateMaterial => f.write_str("private key material in a public key set"),
        }
    }
}

fn member<'a>(m: &'a Map<String, Value>, name: &'static str) -> Result<&'a str, JwkError> {
    m.get(name).and_then(Value::as_str).ok_or(JwkError::BadMember(name))
}

fn bytes(m: &Map<String, Value>, name: &'static str, len: Option<usize>) -> Result<Vec<u8>, JwkError> {
    let v = b64::decode(member(m, name)?).ok_or(JwkError::BadMember(name))?;
    match len {
        Some(l) if v.len() != l => Err(JwkError::BadMember(name)),
        _ if v.is_empty() => Err(JwkError::BadMember(name)),
        _ => Ok(v),
    }
}

fn strip_zeros(v: &[u8]) -> &[u8] {
    let i = v.iter().position(|b| *b != 0).unwrap_or(v.len());
    &v[i..]
}

/// Bit length of a big-endian unsigned integer.
pub fn bit_len(v: &[u8]) -> usize {
    let v = strip_zeros(v);
    match v.first() {
        None => 0,
        Some(b) => (v.len() - 1) * 8 + (8 - b.leading_zeros() as usize),
    }
}

/// Parses the public part of a JWK. `allow_private` is for signing-key files (see `signing`).
pub fn parse_public(m: &Map<String, Value>, allow_private: bool) -> Result<(PublicKey, Alg), JwkError> {
    if !allow_private && ["d", "p", "q", "dp", "dq", "qi", "k"].iter().any(|k| m.contains_key(*k)) {
        return Err(JwkError::PrivateMaterial);
    }
    if let Some(u) = m.get("use") {
        if u.as_str() != Some("sig") {
            return Err(JwkError::NotForSigning);
        }
    }
    if let Some(ops) = m.get("key_ops") {
        let ops = ops.as_array().ok_or(JwkError::NotForSigning)?;
        let wanted = if allow_private { "sign" } else { "verify" };
        if !ops.iter().any(|o| o.as_str() == Some(wanted)) {
            return Err(JwkError::NotForSigning);
        }
    }
    let declared = match m.get("alg") {
        None => None,
        Some(a) => Some(a.as_str().and_then(Alg::parse).ok_or(JwkError::UnsupportedAlg)?),
    };
    let kty = m.get("kty").and_then(Value::as_str).ok_or(JwkError::UnsupportedKty)?;
    let (key, implied) = match kty {
        "RSA" => {
            let n = bytes(m, "n", None)?;
            let e = bytes(m, "e", None)?;
            let bits = bit_len(&n);
            if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
                return Err(JwkError::WeakRsaKey);
            }
            if strip_zeros(&e) != [1, 0, 1] {
                return Err(JwkError::RsaExponent);
            }
            let n = strip_zeros(&n).to_vec();
            (PublicKey::Rsa { n, e: vec![1, 0, 1] }, Alg::RS256)
        }
        "EC" => match member(m, "crv").map_err(|_| JwkError::AlgDoesNotFitKey)? {
            "P-256" => (PublicKey::P256 { x: bytes(m, "x", Some(32))?, y: bytes(m, "y", Some(32))? }, Alg::ES256),
            "P-384" => (PublicKey::P384 { x: bytes(m, "x", Some(48))?, y: bytes(m, "y", Some(48))? }, Alg::ES384),
            _ => return Err(JwkError::AlgDoesNotFitKey),
        },
        "OKP" => match member(m, "crv").map_err(|_| JwkError::AlgDoesNotFitKey)? {
            "Ed25519" => (PublicKey::Ed25519 { x: bytes(m, "x", Some(32))? }, Alg::EdDSA),
            _ => return Err(JwkError::AlgDoesNotFitKey),
        },
        _ => return Err(JwkError::UnsupportedKty),
    };
    if let Some(a) = declared {
        let fits = match &key {
            PublicKey::Rsa { .. } => matches!(a.family(), Family::RsaPkcs1 | Family::RsaPss),
            _ => a == implied,
        };
        if !fits {
            return Err(JwkError::AlgDoesNotFitKey);
        }
    }
    Ok((key, declared.unwrap_or(implied)))
}

impl PublicKey {
    /// The public JWK with only its required members, in RFC 7638 lexicographic order.
    pub fn to_jwk(&self) -> Value {
        match self {
            PublicKey::Rsa { n, e } => {
                json!({"e": b64::encode(e), "kty": "RSA", "n": b64::encode(n)})
            }
            PublicKey::P256 { x, y } => {
                json!({"crv": "P-256", "kty": "EC", "x": b64::encode(x), "y": b64::encode(y)})
            }
            PublicKey::P384 { x, y } => {
                json!({"crv": "P-384", "kty": "EC", "x": b64::encode(x), "y": b64::encode(y)})
            }
            PublicKey::Ed25519 { x } => {
                json!({"crv": "Ed25519", "kty": "OKP", "x": b64::encode(x)})
            }
        }
    }

    /// RFC 7638 JWK thumbprint (SHA-256, base64url).
    pub fn thumbprint(&self) -> String {
        // serde_json's Map is a BTreeMap here, so keys serialize sorted, with no whitespace.
        let canonical = serde_json::to_vec(&self.to_jwk()).unwrap_or_default();
        b64::encode(&Sha256::digest(canonical))
    }

    /// Length in bytes of a valid signature by this key, where it is fixed.
    pub fn signature_len(&self) -> usize {
        match self {
            PublicKey::Rsa { n, .. } => n.len(),
            PublicKey::P256 { .. } => 64,
            PublicKey::P384 { .. } => 96,
            PublicKey::Ed25519 { .. } => 64,
        }
    }
}

impl VerifyKey {
    pub fn new(kid: Option<String>, alg: Alg, key: PublicKey) -> VerifyKey {
        let thumbprint = key.thumbprint();
        VerifyKey { kid, alg, key, thumbprint, alg_implied: false }
    }

    /// Does this key allow a token signed with `alg`? (The key decides; see `alg_implied`.)
    pub fn permits(&self, alg: Alg) -> bool {
        self.alg == alg
            || (self.alg_implied && matches!(self.key, PublicKey::Rsa { .. }) && matches!(alg.family(), Family::RsaPkcs1 | Family::RsaPss))
    }

    /// This key bound to `alg`, when it permits it.
    pub fn bound_to(&self, alg: Alg) -> Option<VerifyKey> {
        self.permits(alg).then(|| VerifyKey { alg, ..self.clone() })
    }

    /// Public JWK with `kid`, `alg`, `use` — the form published and handed to WebCrypto.
    pub fn to_public_jwk(&self) -> Value {
        let mut v = self.key.to_jwk();
        let m = v.as_object_mut().expect("to_jwk returns an object");
        if let Some(kid) = &self.kid {
            m.insert("kid".into(), Value::String(kid.clone()));
        }
        m.insert("alg".into(), Value::String(self.alg.as_str().into()));
        m.insert("use".into(), Value::String("sig".into()));
        v
    }
}

/// A parsed JWK Set: the usable signature keys, plus why the others were skipped.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    pub keys: Vec<VerifyKey>,
    pub skipped: Vec<(Option<String>, JwkError)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwksError {
    TooLarge,
    Json(JsonError),
    NotAKeySet,
    TooManyKeys,
}

impl fmt::Display for JwksError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JwksError::TooLarge => f.write_str("JWKS body is too large"),
            JwksError::Json(e) => write!(f, "JWKS {e}"),
            JwksError::NotAKeySet => f.write_str("JWKS has no `keys` array"),
            JwksError::TooManyKeys => f.write_str("JWKS has too many keys"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JwksLimits {
    pub max_bytes: usize,
    pub max_keys: usize,
    pub max_depth: usize,
}

impl Default for JwksLimits {
    fn default() -> Self {
        JwksLimits { max_bytes: 64 * 1024, max_keys: 32, max_depth: 16 }
    }
}

/// Why a key set yields no single key for a token (`KeySet::select_one`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectError {
    /// No key with the token's `kid` (or, without one, none bound to its `alg`).
    UnknownKid,
    /// The token's `kid` names keys, none usable for its `alg`.
    AlgMismatch,
    /// Several keys fit the token's `kid`/`alg`: refused, not searched.
    Ambiguous,
}

/// Which keys a token may be checked against.
#[derive(Debug, PartialEq, Eq)]
pub enum Selection {
    /// Keys bound to the token's `alg`.
    Candidates(Vec<VerifyKey>),
    /// No signing key has this `kid` (or, without a `kid`, none has this `alg`).
    UnknownKid,
    /// A key with this `kid` exists but is bound to another algorithm.
    AlgMismatch,
}

impl KeySet {
    pub fn parse(body: &[u8], limits: JwksLimits) -> Result<KeySet, JwksError> {
        if body.len() > limits.max_bytes {
            return Err(JwksError::TooLarge);
        }
        let doc = json::parse_object(body, limits.max_depth).map_err(JwksError::Json)?;
        let keys = doc.get("keys").and_then(Value::as_array).ok_or(JwksError::NotAKeySet)?;
        if keys.len() > limits.max_keys {
            return Err(JwksError::TooManyKeys);
        }
        let mut set = KeySet::default();
        for k in keys {
            let Some(m) = k.as_object() else {
                set.skipped.push((None, JwkError::NotAnObject));
                continue;
            };
            let kid = m.get("kid").and_then(Value::as_str).map(str::to_owned);
            match parse_public(m, false) {
                Ok((key, alg)) => {
                    let mut k = VerifyKey::new(kid, alg, key);
                    k.alg_implied = !m.contains_key("alg");
                    set.keys.push(k)
                }
                Err(e) => set.skipped.push((kid, e)),
            }
        }
        Ok(set)
    }

    /// Key selection: by `kid` when the token has one, else every key bound to `alg`.
    pub fn select(&self, kid: Option<&str>, alg: Alg) -> Selection {
        let by_kid: Vec<&VerifyKey> = match kid {
            Some(kid) => self.keys.iter().filter(|k| k.kid.as_deref() == Some(kid)).collect(),
            None => self.keys.iter().collect(),
        };
        if by_kid.is_empty() {
            return Selection::UnknownKid;
        }
        let fit: Vec<VerifyKey> = by_kid.into_iter().filter_map(|k| k.bound_to(alg)).collect();
        match (fit.is_empty(), kid) {
            (false, _) => Selection::Candidates(fit),
            (true, Some(_)) => Selection::AlgMismatch,
            (true, None) => Selection::UnknownKid,
        }
    }

    /// The one key a token's signature is checked with: determined, never found by trying.
    /// Refuses (`Ambiguous`) when the token's `kid` names two different keys usable for its
    /// `alg`, or it has no `kid` and more than one usable key matches (panva/jose's
    /// `JWKSMultipleMatchingKeys`). The same key listed twice (one RFC 7638 thumbprint) is one
    /// key. Keys that are not for signatures (`use: enc`, e.g. Keycloak's RSA-OAEP key sharing
    /// the signing key's `kid`) never got into the set, so they are no ambiguity.
    pub fn select_one(&self, kid: Option<&str>, alg: Alg) -> Result<VerifyKey, SelectError> {
        match self.select(kid, alg) {
            Selection::UnknownKid => Err(SelectError::UnknownKid),
            Selection::AlgMismatch => Err(SelectError::AlgMismatch),
            Selection::Candidates(c) => {
                let first = c.first().map(|k| k.thumbprint.clone()).unwrap_or_default();
                if c.iter().any(|k| k.thumbprint != first) {
                    return Err(SelectError::Ambiguous);
                }
                c.into_iter().next().ok_or(SelectError::UnknownKid)
            }
        }
    }

    pub fn contains_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid.as_deref() == Some(kid))
    }
}

#[cfg(test)]
mod tests {
    use super::SelectError as KeyError;
    use super::*;

    /// TEST-ONLY public keys from cli/tests/fixtures/keys (by kid: kc-es256, kc-rs256, kc-eddsa, kc-enc).
    fn fixture_keys() -> Vec<Value> {
        let path = format!("{}/../cli/tests/fixtures/keys/issuer-jwks.json", env!("CARGO_MANIFEST_DIR"));
        let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        v["keys"].as_array().unwrap().clone()
    }

    fn key(kid: &str) -> Value {
        fixture_keys().into_iter().find(|k| k["kid"] == kid).unwrap()
    }

    /// The stranger's ES256 public key (another P-256 key).
    fn stranger() -> Value {
        let path = format!("{}/../cli/tests/fixtures/keys/stranger-es256.json", env!("CARGO_MANIFEST_DIR"));
        let mut v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        v.as_object_mut().unwrap().remove("d");
        v
    }

    fn with(mut k: Value, patch: Value) -> Value {
        for (n, v) in patch.as_object().unwrap() {
            if v.is_null() {
                k.as_object_mut().unwrap().remove(n);
            } else {
                k[n] = v.clone();
            }
        }
        k
    }

    fn set(keys: Vec<Value>) -> KeySet {
        KeySet::parse(json!({ "keys": keys }).to_string().as_bytes(), JwksLimits::default()).unwrap()
    }

    fn one(keys: Vec<Value>, kid: Option<&str>, alg: Alg) -> Result<String, KeyError> {
        set(keys).select_one(kid, alg).map(|k| format!("{}:{}", k.kid.unwrap_or_default(), k.alg))
    }

    /// An ambiguous key set is refused, not searched.
    #[test]
    fn select_one_refuses_ambiguous_key_sets() {
        let es = key("kc-es256");
        let rs = key("kc-rs256");
        let enc = key("kc-enc");
        let other_es = with(stranger(), json!({"kid": "kc-es256", "use": "sig", "alg": "ES256"}));
        let ok = |s: &str| Ok::<String, KeyError>(s.to_owned());
        type Row<'a> = (&'a str, Vec<Value>, Option<&'a str>, Alg, Result<String, KeyError>);
        #[rustfmt::skip]
        let table: Vec<Row> = vec![
            ("the whole fixture set, by kid", fixture_keys(), Some("kc-rs256"), Alg::RS256, ok("kc-rs256:RS256")),
            ("no kid, one key fits the alg", fixture_keys(), None, Alg::ES256, ok("kc-es256:ES256")),
            ("two signature keys share a kid", vec![es.clone(), other_es.clone()], Some("kc-es256"), Alg::ES256, Err(KeyError::Ambiguous)),
            ("no kid, two keys fit", vec![es.clone(), with(other_es.clone(), json!({"kid": "k2"}))], None, Alg::ES256, Err(KeyError::Ambiguous)),
            ("no kid, two keys fit, neither has a kid", vec![with(es.clone(), json!({"kid": null})), with(other_es.clone(), json!({"kid": null}))], None, Alg::ES256, Err(KeyError::Ambiguous)),
            // Keycloak: the RSA-OAEP encryption key carries the signing key's kid. Not ambiguous.
            ("sig + enc share a kid", vec![with(enc.clone(), json!({"kid": "kc-rs256"})), rs.clone()], Some("kc-rs256"), Alg::RS256, ok("kc-rs256:RS256")),
            ("sig + enc (key_ops) share a kid", vec![with(enc.clone(), json!({"kid": "kc-rs256", "use": null, "key_ops": ["encrypt"]})), rs.clone()], Some("kc-rs256"), Alg::RS256, ok("kc-rs256:RS256")),
            // Only keys usable for the token's alg count.
            ("kid shared across algorithms", vec![es.clone(), with(rs.clone(), json!({"kid": "kc-es256"}))], Some("kc-es256"), Alg::ES256, ok("kc-es256:ES256")),
            ("kid shared across algorithms (RSA side)", vec![es.clone(), with(rs.clone(), json!({"kid": "kc-es256"}))], Some("kc-es256"), Alg::RS256, ok("kc-es256:RS256")),
            // An RSA key without `alg` is usable for every RSA algorithm.
            ("RS256 key + alg-less RSA key, RS256", vec![rs.clone(), with(stranger_rsa(), json!({"kid": "kc-rs256"}))], Some("kc-rs256"), Alg::RS256, Err(KeyError::Ambiguous)),
            ("RS256 key + alg-less RSA key, PS256", vec![rs.clone(), with(stranger_rsa(), json!({"kid": "kc-rs256"}))], Some("kc-rs256"), Alg::PS256, ok("kc-rs256:PS256")),
            // The same key listed twice is one key.
            ("one key listed twice", vec![es.clone(), es.clone()], Some("kc-es256"), Alg::ES256, ok("kc-es256:ES256")),
            ("one key listed twice, no kid", vec![es.clone(), es.clone(), rs.clone()], None, Alg::ES256, ok("kc-es256:ES256")),
            ("unknown kid", fixture_keys(), Some("nope"), Alg::ES256, Err(KeyError::UnknownKid)),
            ("kid bound to another alg", fixture_keys(), Some("kc-es256"), Alg::ES384, Err(KeyError::AlgMismatch)),
            ("no kid, no key for the alg", fixture_keys(), None, Alg::ES384, Err(KeyError::UnknownKid)),
        ];
        for (name, keys, kid, alg, want) in table {
            assert_eq!(one(keys, kid, alg), want, "{name}");
        }
    }

    /// A second RSA public key (2048-bit), no `alg`, no `use`.
    fn stranger_rsa() -> Value {
        // Derived from the fixture modulus by flipping a low bit: a different (never used) key.
        let rs = key("kc-rs256");
        let mut n = b64::decode(rs["n"].as_str().unwrap()).unwrap();
        let last = n.len() - 1;
        n[last] ^= 0x02;
        json!({"kty": "RSA", "e": "AQAB", "n": b64::encode(&n)})
    }
}
