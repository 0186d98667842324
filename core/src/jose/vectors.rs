//! The signature vector suite's single verdict function. Native tests run it over the pure-Rust
//! backend and the Worker's test-only route runs it over WebCrypto, so both backends are judged
//! by the same code against the same files (`tests/vectors/*.json`).
use crate::jose::alg::Alg;
use crate::jose::b64;
use crate::jose::crypto::{self, SignatureBackend};
use crate::jose::jwk::{self, VerifyKey};
use serde_json::Value;

/// `valid` | `invalid` | `refused:<why>` | `error:<backend failure>`.
pub async fn verdict<B: SignatureBackend>(backend: &B, case: &Value) -> String {
    let Some(alg) = case.get("alg").and_then(Value::as_str).and_then(Alg::parse) else {
        return "refused:alg".into();
    };
    let Some(m) = case.get("jwk").and_then(Value::as_object) else {
        return "refused:jwk".into();
    };
    let mut key = match jwk::parse_public(m, false) {
        Ok((k, bound)) => VerifyKey::new(None, bound, k),
        Err(e) => return format!("refused:{e:?}"),
    };
    key.alg_implied = !m.contains_key("alg");
    // The key decides: a token alg the key does not permit is refused, never tried.
    let Some(key) = key.bound_to(alg) else {
        return "refused:alg".into();
    };
    // `input` is the JWS signing input; `input_b64` carries arbitrary bytes (Wycheproof messages).
    let input = match case.get("input_b64").and_then(Value::as_str) {
        Some(b) => match b64::decode(b) {
            Some(bytes) => bytes,
            None => return "refused:input".into(),
        },
        None => case.get("input").and_then(Value::as_str).unwrap_or("").as_bytes().to_vec(),
    };
    let Some(sig) = case.get("signature").and_then(Value::as_str).and_then(b64::decode) else {
        return "invalid".into();
    };
    match crypto::verify(backend, &key, &input, &sig).await {
        Ok(true) => "valid".into(),
        Ok(false) => "invalid".into(),
        Err(e) => format!("error:{e}"),
    }
}
