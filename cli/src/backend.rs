//! The CLI's signature backend. RSA signing goes through `ring` (constant-time private-key
//! operations), never through the `rsa` crate, whose private-key operations carry a timing
//! advisory (RUSTSEC-2023-0071). Ed25519 signs with `ed25519-compact` (RFC 8032, deterministic).
//! ECDSA signing (RFC 6979, `p256`/`p384`) and all verification delegate to the core's
//! `PureCrypto`.
use edge_sts_core::jose::alg::Alg;
use edge_sts_core::jose::b64;
use edge_sts_core::jose::crypto::{CryptoError, SignatureBackend};
use edge_sts_core::jose::jwk::{PublicKey, VerifyKey};
use edge_sts_core::jose::pure_crypto::PureCrypto;
use edge_sts_core::jose::signing::SigningKey;
use ring::rand::SystemRandom;
use ring::rsa::{KeyPair, KeyPairComponents, PublicKeyComponents};
use ring::signature::{self, RsaEncoding};
use serde_json::Value;

#[derive(Debug, Default, Clone, Copy)]
pub struct CliCrypto;

fn err(msg: &str) -> CryptoError {
    CryptoError(msg.to_owned())
}

fn padding(alg: Alg) -> Option<&'static dyn RsaEncoding> {
    Some(match alg {
        Alg::RS256 => &signature::RSA_PKCS1_SHA256,
        Alg::RS384 => &signature::RSA_PKCS1_SHA384,
        Alg::RS512 => &signature::RSA_PKCS1_SHA512,
        // PSS salt length = hash length (RFC 7518 §3.5); ring does exactly that.
        Alg::PS256 => &signature::RSA_PSS_SHA256,
        Alg::PS384 => &signature::RSA_PSS_SHA384,
        Alg::PS512 => &signature::RSA_PSS_SHA512,
        _ => return None,
    })
}

/// Signs with `ring::rsa::KeyPair` built from the JWK's CRT components.
pub fn rsa_sign(key: &SigningKey, msg: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let PublicKey::Rsa { n, e } = &key.public.key else {
        return Err(err("not an RSA key"));
    };
    let enc = padding(key.alg()).ok_or_else(|| err("not an RSA algorithm"))?;
    let part = |name: &str| -> Result<Vec<u8>, CryptoError> {
        key.private_jwk.get(name).and_then(Value::as_str).and_then(b64::decode).ok_or_else(|| err("private JWK member missing"))
    };
    let (d, p, q, dp, dq, qi) = (part("d")?, part("p")?, part("q")?, part("dp")?, part("dq")?, part("qi")?);
    let components = KeyPairComponents {
        public_key: PublicKeyComponents { n: n.as_slice(), e: e.as_slice() },
        d: d.as_slice(),
        p: p.as_slice(),
        q: q.as_slice(),
        dP: dp.as_slice(),
        dQ: dq.as_slice(),
        qInv: qi.as_slice(),
    };
    let pair = KeyPair::from_components(&components).map_err(|e| CryptoError(format!("RSA private key refused: {e}")))?;
    let mut sig = vec![0u8; pair.public().modulus_len()];
    pair.sign(enc, &SystemRandom::new(), msg, &mut sig).map_err(|_| err("RSA signing failed"))?;
    Ok(sig)
}

/// Ed25519 as RFC 8032 defines it: deterministic (no added noise), so test tokens are stable.
fn ed25519_sign(key: &SigningKey, msg: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let d = key.private_jwk.get("d").and_then(Value::as_str).and_then(b64::decode).ok_or_else(|| err("private JWK member missing"))?;
    let seed = ed25519_compact::Seed::from_slice(&d).map_err(|_| err("bad Ed25519 seed"))?;
    let pair = ed25519_compact::KeyPair::from_seed(seed);
    Ok(pair.sk.sign(msg, None).to_vec())
}

impl SignatureBackend for CliCrypto {
    async fn verify_raw(&self, key: &VerifyKey, msg: &[u8], sig: &[u8]) -> Result<bool, CryptoError> {
        PureCrypto.verify_sync(key, msg, sig)
    }

    async fn sign(&self, key: &SigningKey, msg: &[u8]) -> Result<Vec<u8>, CryptoError> {
        match key.public.key {
            PublicKey::Rsa { .. } => rsa_sign(key, msg),
            PublicKey::Ed25519 { .. } => ed25519_sign(key, msg),
            _ => PureCrypto.sign_sync(key, msg),
        }
    }
}
