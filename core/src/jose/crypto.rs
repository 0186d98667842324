//! The signature seam. The Worker implements it over WebCrypto (`crypto.subtle`), native code
//! and the playground over pure Rust (`pure_crypto`). Both run the same vector suite.
use crate::jose::jwk::{PublicKey, VerifyKey};
use crate::jose::signing::SigningKey;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CryptoError(pub String);

impl fmt::Display for CryptoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "signature backend: {}", self.0)
    }
}

pub trait SignatureBackend {
    /// `Ok(false)` for a signature that does not verify; `Err` only when the backend cannot
    /// work at all (a key it cannot import, a runtime failure).
    async fn verify_raw(&self, key: &VerifyKey, signing_input: &[u8], signature: &[u8]) -> Result<bool, CryptoError>;

    /// JWS signature (raw r||s for ECDSA) over `signing_input` with `key.alg`.
    async fn sign(&self, key: &SigningKey, signing_input: &[u8]) -> Result<Vec<u8>, CryptoError>;
}

/// Shape checks both backends share, before any math: exact signature length for the key, and
/// no all-zero ECDSA `r` or `s` (CVE-2022-21449 class). DER-encoded ECDSA fails the length.
pub fn plausible_signature(key: &VerifyKey, signature: &[u8]) -> bool {
    if signature.len() != key.key.signature_len() {
        return false;
    }
    match &key.key {
        PublicKey::P256 { .. } | PublicKey::P384 { .. } => {
            let (r, s) = signature.split_at(signature.len() / 2);
            r.iter().any(|b| *b != 0) && s.iter().any(|b| *b != 0)
        }
        _ => true,
    }
}

/// Verifies with the shared shape checks first; the one entry point callers use.
pub async fn verify<B: SignatureBackend>(
    backend: &B,
    key: &VerifyKey,
    signing_input: &[u8],
    signature: &[u8],
) -> Result<bool, CryptoError> {
    if !plausible_signature(key, signature) {
        return Ok(false);
    }
    backend.verify_raw(key, signing_input, signature).await
}
