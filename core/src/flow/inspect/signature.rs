//! Stage 6: the signature, checked with the one key the key rules selected (`crypto::verify`,
//! the Worker's own), with a hint when it does not verify.
use super::{fail, pass, skip, Check, CheckId};
use crate::flow::error::Error;
use crate::jose::crypto::{self, SignatureBackend};
use crate::jose::jwk::{PublicKey, VerifyKey};
use crate::jose::token::TokenError;

/// `signature`: skipped with `why` when the key rules determined no key.
pub(super) async fn check<B: SignatureBackend>(
    backend: &B,
    token: &str,
    parts: &Result<[&str; 3], TokenError>,
    signature: Option<&[u8]>,
    key: Result<VerifyKey, &'static str>,
) -> Check {
    let key = match key {
        Ok(k) => k,
        Err(why) => return skip(CheckId::Signature, why),
    };
    let input = match parts {
        Ok(p) => Some(&token[..p[0].len() + 1 + p[1].len()]),
        Err(_) => None,
    };
    match (input, signature) {
        (Some(input), Some(sig)) => verify(backend, &key, input.as_bytes(), sig).await,
        _ => skip(CheckId::Signature, "no signature to verify"),
    }
}

async fn verify<B: SignatureBackend>(backend: &B, key: &VerifyKey, input: &[u8], sig: &[u8]) -> Check {
    match crypto::verify(backend, key, input, sig).await {
        Ok(true) => {
            let who = key.kid.as_deref().map_or("the key".to_owned(), |k| format!("key `{k}`"));
            return pass(CheckId::Signature, format!("{} signature verified with {who} (thumbprint {})", key.alg, key.thumbprint));
        }
        Ok(false) => {}
        Err(e) => return fail(CheckId::Signature, &Error::Crypto(e.clone()), e.to_string()),
    }
    let want = key.key.signature_len();
    let hint = if sig.len() != want {
        format!(": the signature is {} bytes, a signature by this key is {want}", sig.len())
            + if matches!(key.key, PublicKey::P256 { .. } | PublicKey::P384 { .. }) && sig.first() == Some(&0x30) {
                " (it looks DER-encoded; JWS ECDSA signatures are raw r||s)"
            } else {
                ""
            }
    } else {
        ": a different key signed it, or the token was changed after signing".to_owned()
    };
    fail(CheckId::Signature, &Error::BadSignature, format!("the key does not verify this signature{hint}"))
}
