//! Pure-Rust signature backend: `jwt-compact` (RSA PKCS#1 v1.5 / PSS, ES256, Ed25519) plus
//! `p384` for ES384, which jwt-compact 0.8 lacks. Native tests, the CLI and the playground use
//! it. RSA-PSS salt length is the hash length (RFC 7518 §3.5): jwt-compact pins it that way.
//!
//! RSA *signing* here uses the `rsa` crate, whose private-key operations carry a timing
//! advisory (RUSTSEC-2023-0071): fine for tests and fixtures, not for a network-facing signer.
//! The Worker signs through WebCrypto.
use crate::jose::alg::Alg;
use crate::jose::b64;
use crate::jose::crypto::{plausible_signature, CryptoError, SignatureBackend};
use crate::jose::jwk::{PublicKey, VerifyKey};
use crate::jose::signing::SigningKey;
use jwt_compact::alg::{Ed25519, Es256, Rsa, RsaSignature};
use jwt_compact::{Algorithm, AlgorithmSignature};
use p384::ecdsa::signature::{Signer as _, Verifier as _};
use rsa::{BigUint, RsaPrivateKey, RsaPublicKey};
use serde_json::{Map, Value};

#[derive(Debug, Default, Clone, Copy)]
pub struct PureCrypto;

fn err(msg: &str) -> CryptoError {
    CryptoError(msg.to_owned())
}

fn rsa_alg(alg: Alg) -> Rsa {
    match alg {
        Alg::RS256 => Rsa::rs256(),
        Alg::RS384 => Rsa::rs384(),
        Alg::RS512 => Rsa::rs512(),
        Alg::PS256 => Rsa::ps256(),
        Alg::PS384 => Rsa::ps384(),
        _ => Rsa::ps512(),
    }
}

fn sec1(x: &[u8], y: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(1 + x.len() + y.len());
    v.push(4);
    v.extend_from_slice(x);
    v.extend_from_slice(y);
    v
}

fn member(jwk: &Map<String, Value>, name: &str) -> Result<Vec<u8>, CryptoError> {
    jwk.get(name).and_then(Value::as_str).and_then(b64::decode).ok_or_else(|| err("private JWK member missing"))
}

impl PureCrypto {
    pub fn verify_sync(&self, key: &VerifyKey, msg: &[u8], sig: &[u8]) -> Result<bool, CryptoError> {
        if !plausible_signature(key, sig) {
            return Ok(false);
        }
        Ok(match (&key.key, key.alg) {
            (PublicKey::Rsa { n, e }, alg) => {
                let pk = RsaPublicKey::new(BigUint::from_bytes_be(n), BigUint::from_bytes_be(e)).map_err(|_| err("bad RSA key"))?;
                let s = RsaSignature::try_from_slice(sig).map_err(|_| err("bad RSA signature"))?;
                rsa_alg(alg).verify_signature(&s, &pk, msg)
            }
            (PublicKey::P256 { x, y }, Alg::ES256) => {
                let pk = p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1(x, y)).map_err(|_| err("bad P-256 point"))?;
                match <Es256 as Algorithm>::Signature::try_from_slice(sig) {
                    Ok(s) => Es256.verify_signature(&s, &pk, msg),
                    Err(_) => false,
                }
            }
            (PublicKey::P384 { x, y }, Alg::ES384) => {
                let pk = p384::ecdsa::VerifyingKey::from_sec1_bytes(&sec1(x, y)).map_err(|_| err("bad P-384 point"))?;
                match p384::ecdsa::Signature::from_slice(sig) {
                    Ok(s) => pk.verify(msg, &s).is_ok(),
                    Err(_) => false,
                }
            }
            (PublicKey::Ed25519 { x }, Alg::EdDSA) => {
                let pk = ed25519_compact::PublicKey::from_slice(x).map_err(|_| err("bad Ed25519 key"))?;
                match <Ed25519 as Algorithm>::Signature::try_from_slice(sig) {
                    Ok(s) => Ed25519.verify_signature(&s, &pk, msg),
                    Err(_) => false,
                }
            }
            _ => return Err(err("key and algorithm do not fit")),
        })
    }

    pub fn sign_sync(&self, key: &SigningKey, msg: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let jwk = &key.private_jwk;
        Ok(match (&key.public.key, key.alg()) {
            (PublicKey::Rsa { n, e }, alg) => {
                let big = |v: &[u8]| BigUint::from_bytes_be(v);
                let sk = RsaPrivateKey::from_components(
                    big(n),
                    big(e),
                    big(&member(jwk, "d")?),
                    vec![big(&member(jwk, "p")?), big(&member(jwk, "q")?)],
                )
                .map_err(|_| err("bad RSA private key"))?;
                rsa_alg(alg).sign(&sk, msg).as_bytes().into_owned()
            }
            (PublicKey::P256 { .. }, Alg::ES256) => {
                let sk = p256::ecdsa::SigningKey::from_slice(&member(jwk, "d")?).map_err(|_| err("bad P-256 private key"))?;
                Es256.sign(&sk, msg).as_bytes().into_owned()
            }
            (PublicKey::P384 { .. }, Alg::ES384) => {
                let sk = p384::ecdsa::SigningKey::from_slice(&member(jwk, "d")?).map_err(|_| err("bad P-384 private key"))?;
                let s: p384::ecdsa::Signature = sk.sign(msg);
                s.to_bytes().to_vec()
            }
            (PublicKey::Ed25519 { .. }, Alg::EdDSA) => {
                let seed = ed25519_compact::Seed::from_slice(&member(jwk, "d")?).map_err(|_| err("bad Ed25519 seed"))?;
                let kp = ed25519_compact::KeyPair::from_seed(seed);
                Ed25519.sign(&kp.sk, msg).as_bytes().into_owned()
            }
            _ => return Err(err("key and algorithm do not fit")),
        })
    }
}

impl SignatureBackend for PureCrypto {
    async fn verify_raw(&self, key: &VerifyKey, msg: &[u8], sig: &[u8]) -> Result<bool, CryptoError> {
        self.verify_sync(key, msg, sig)
    }
    async fn sign(&self, key: &SigningKey, msg: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.sign_sync(key, msg)
    }
}
