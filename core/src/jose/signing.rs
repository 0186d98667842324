//! edge-sts's own signing keys: private JWKs from Worker secrets, each with a rotation status.
use crate::jose::alg::Alg;
use crate::jose::b64;
use crate::jose::json;
use crate::jose::jwk::{self, JwkError, PublicKey, VerifyKey};
use serde_json::{json, Map, Value};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    /// Signs new tokens (one per algorithm).
    Active,
    /// Published ahead of promotion so relying parties already have it cached.
    Next,
    /// Published only, so tokens it signed keep verifying until they expire.
    Retired,
}

impl KeyStatus {
    pub fn parse(s: &str) -> Option<KeyStatus> {
        match s {
            "active" => Some(KeyStatus::Active),
            "next" => Some(KeyStatus::Next),
            "retired" => Some(KeyStatus::Retired),
            _ => None,
        }
    }
}

/// A private key. `private_jwk` keeps the full JWK for backends that import it (WebCrypto);
/// it is never serialized anywhere else, and `Debug` hides it.
#[derive(Clone)]
pub struct SigningKey {
    pub public: VerifyKey,
    pub private_jwk: Map<String, Value>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey").field("kid", &self.public.kid).field("alg", &self.public.alg).finish_non_exhaustive()
    }
}

impl SigningKey {
    pub fn kid(&self) -> &str {
        self.public.kid.as_deref().unwrap_or("")
    }
    pub fn alg(&self) -> Alg {
        self.public.alg
    }

    /// Parses one private JWK. `alg` is required (the key decides the algorithm); a missing
    /// `kid` becomes the RFC 7638 thumbprint.
    pub fn from_jwk_json(text: &str) -> Result<SigningKey, String> {
        let m = json::parse_object(text.as_bytes(), 8).map_err(|e| format!("signing key {e}"))?;
        SigningKey::from_jwk(m)
    }

    pub fn from_jwk(m: Map<String, Value>) -> Result<SigningKey, String> {
        let alg = m.get("alg").and_then(Value::as_str).and_then(Alg::parse).ok_or("signing key needs an `alg` (ES256, RS256, ...)")?;
        let (key, bound) = jwk::parse_public(&m, true).map_err(|e: JwkError| format!("signing key: {e}"))?;
        if bound != alg {
            return Err("signing key `alg` does not fit the key".into());
        }
        let d_len = match &key {
            PublicKey::P256 { .. } => Some(32),
            PublicKey::P384 { .. } => Some(48),
            PublicKey::Ed25519 { .. } => Some(32),
            PublicKey::Rsa { .. } => None,
        };
        let d = m.get("d").and_then(Value::as_str).and_then(b64::decode).ok_or("signing key has no private part `d`")?;
        if d_len.is_some_and(|l| l != d.len()) {
            return Err("signing key `d` has the wrong length".into());
        }
        if matches!(key, PublicKey::Rsa { .. }) {
            for member in ["p", "q", "dp", "dq", "qi"] {
                if m.get(member).and_then(Value::as_str).and_then(b64::decode).is_none() {
                    return Err(format!("RSA signing key lacks `{member}` (CRT parameters are required)"));
                }
            }
        }
        let kid = match m.get("kid").and_then(Value::as_str) {
            Some(k) if !k.is_empty() => k.to_owned(),
            _ => key.thumbprint(),
        };
        let mut private_jwk = m;
        private_jwk.insert("kid".into(), Value::String(kid.clone()));
        private_jwk.remove("use");
        private_jwk.remove("key_ops");
        Ok(SigningKey { public: VerifyKey::new(Some(kid), alg, key), private_jwk })
    }
}

/// The published and usable key ring.
#[derive(Debug, Clone, Default)]
pub struct KeyRing {
    pub active: Vec<SigningKey>,
    pub next: Vec<VerifyKey>,
    pub retired: Vec<VerifyKey>,
}

impl KeyRing {
    pub fn active_for(&self, alg: Alg) -> Option<&SigningKey> {
        self.active.iter().find(|k| k.alg() == alg)
    }

    /// `/.well-known/jwks.json`: public parts only, each with `kid`, `alg`, `use: sig`.
    pub fn public_jwks(&self) -> Value {
        let keys: Vec<Value> = self
            .active
            .iter()
            .map(|k| &k.public)
            .chain(self.next.iter())
            .chain(self.retired.iter())
            .map(VerifyKey::to_public_jwk)
            .collect();
        json!({ "keys": keys })
    }

    pub fn algorithms(&self) -> Vec<&'static str> {
        let mut v: Vec<&'static str> = self.active.iter().map(|k| k.alg().as_str()).collect();
        v.sort_unstable();
        v.dedup();
        v
    }
}
