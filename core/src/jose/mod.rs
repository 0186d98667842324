//! JOSE primitives: the accepted algorithms, strict base64url and JSON, JWKs and key
//! selection, compact JWS parsing, the signature backends and edge-sts's own signing keys.

pub mod alg;
pub mod b64;
pub mod crypto;
pub mod json;
pub mod jwk;
#[cfg(feature = "pure-crypto")]
pub mod pure_crypto;
pub mod signing;
pub mod token;
pub mod vectors;
