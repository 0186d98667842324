//! The core's signature seam over the runtime's native WebCrypto (`crypto.subtle`).
//! Keys are imported once per isolate and cached as `CryptoKey`s; private keys are imported
//! non-extractable. RSA-PSS salt length = hash length (RFC 7518 §3.5), passed explicitly.
use edge_sts_core::jose::alg::{Alg, Family};
use edge_sts_core::jose::crypto::{CryptoError, SignatureBackend};
use edge_sts_core::jose::jwk::VerifyKey;
use edge_sts_core::jose::signing::SigningKey;
use js_sys::{Array, Object, Reflect, Uint8Array};
use serde_json::{Map, Value};
use std::cell::RefCell;
use std::collections::HashMap;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{CryptoKey, SubtleCrypto};

pub struct WebCrypto {
    verify_keys: RefCell<HashMap<String, CryptoKey>>,
    sign_keys: RefCell<HashMap<String, CryptoKey>>,
    /// Sign/verify parameter objects per algorithm, built once (they are plain JS objects).
    op_params: RefCell<HashMap<Alg, Object>>,
}

fn err(what: &str) -> CryptoError {
    CryptoError(what.to_owned())
}

thread_local! {
    static SUBTLE: RefCell<Option<SubtleCrypto>> = const { RefCell::new(None) };
}

fn subtle() -> Result<SubtleCrypto, CryptoError> {
    if let Some(s) = SUBTLE.with(|c| c.borrow().clone()) {
        return Ok(s);
    }
    let crypto = Reflect::get(&js_sys::global(), &"crypto".into()).map_err(|_| err("no crypto"))?;
    let s = crypto.unchecked_into::<web_sys::Crypto>().subtle();
    SUBTLE.with(|c| *c.borrow_mut() = Some(s.clone()));
    Ok(s)
}

fn obj(pairs: &[(&str, JsValue)]) -> Object {
    let o = Object::new();
    for (k, v) in pairs {
        let _ = Reflect::set(&o, &JsValue::from_str(k), v);
    }
    o
}

fn s(v: &str) -> JsValue {
    JsValue::from_str(v)
}

/// (import params, sign/verify params) for an algorithm.
fn params(alg: Alg) -> (Object, Object) {
    let hash = s(alg.hash().webcrypto_name());
    match alg.family() {
        Family::RsaPkcs1 => (obj(&[("name", s("RSASSA-PKCS1-v1_5")), ("hash", hash)]), obj(&[("name", s("RSASSA-PKCS1-v1_5"))])),
        Family::RsaPss => (
            obj(&[("name", s("RSA-PSS")), ("hash", hash)]),
            obj(&[("name", s("RSA-PSS")), ("saltLength", JsValue::from_f64(alg.hash().len() as f64))]),
        ),
        Family::Ecdsa => {
            let curve = if alg == Alg::ES256 { "P-256" } else { "P-384" };
            (obj(&[("name", s("ECDSA")), ("namedCurve", s(curve))]), obj(&[("name", s("ECDSA")), ("hash", hash)]))
        }
        Family::Ed25519 => (obj(&[("name", s("Ed25519"))]), obj(&[("name", s("Ed25519"))])),
    }
}

fn to_js_json(v: &Value) -> Result<Object, CryptoError> {
    let text = serde_json::to_string(v).map_err(|_| err("jwk"))?;
    js_sys::JSON::parse(&text).map(|o| o.unchecked_into()).map_err(|_| err("jwk"))
}

async fn import(jwk: &Value, alg: Alg, usage: &str) -> Result<CryptoKey, CryptoError> {
    let (import_params, _) = params(alg);
    let usages = Array::of1(&s(usage));
    let promise =
        subtle()?.import_key_with_object("jwk", &to_js_json(jwk)?, &import_params, false, &usages).map_err(|_| err("import rejected"))?;
    let key = crate::exec::settled(&promise).await.map_err(|_| err("import failed"))?;
    Ok(key.unchecked_into())
}

impl WebCrypto {
    pub fn new() -> Self {
        WebCrypto {
            verify_keys: RefCell::new(HashMap::new()),
            sign_keys: RefCell::new(HashMap::new()),
            op_params: RefCell::new(HashMap::new()),
        }
    }

    fn op(&self, alg: Alg) -> Object {
        self.op_params.borrow_mut().entry(alg).or_insert_with(|| params(alg).1).clone()
    }

    async fn verify_key(&self, key: &VerifyKey) -> Result<CryptoKey, CryptoError> {
        let id = format!("{}:{}", key.alg, key.thumbprint);
        if let Some(k) = self.verify_keys.borrow().get(&id) {
            return Ok(k.clone());
        }
        let k = import(&key.to_public_jwk(), key.alg, "verify").await?;
        let mut cache = self.verify_keys.borrow_mut();
        // Bounded: issuers publish few keys; clear on overflow rather than grow forever.
        if cache.len() >= 256 {
            cache.clear();
        }
        cache.insert(id, k.clone());
        Ok(k)
    }

    async fn sign_key(&self, key: &SigningKey) -> Result<CryptoKey, CryptoError> {
        if let Some(k) = self.sign_keys.borrow().get(key.kid()) {
            return Ok(k.clone());
        }
        let k = import(&Value::Object(key.private_jwk.clone()), key.alg(), "sign").await?;
        self.sign_keys.borrow_mut().insert(key.kid().to_owned(), k.clone());
        Ok(k)
    }

    /// Dev mode only: an ephemeral key pair, exported as a private JWK.
    pub async fn generate_dev_key(&self, alg: Alg) -> Result<Map<String, Value>, CryptoError> {
        let (gen, _) = params(alg);
        if matches!(alg.family(), Family::RsaPkcs1 | Family::RsaPss) {
            let _ = Reflect::set(&gen, &s("modulusLength"), &JsValue::from_f64(2048.0));
            let _ = Reflect::set(&gen, &s("publicExponent"), &Uint8Array::from(&[1u8, 0, 1][..]));
        }
        let usages = Array::of2(&s("sign"), &s("verify"));
        let p = subtle()?.generate_key_with_object(&gen, true, &usages).map_err(|_| err("generate"))?;
        let pair = crate::exec::settled(&p).await.map_err(|_| err("generate"))?;
        let private = Reflect::get(&pair, &s("privateKey")).map_err(|_| err("generate"))?;
        let p = subtle()?.export_key("jwk", private.unchecked_ref()).map_err(|_| err("export"))?;
        let jwk = crate::exec::settled(&p).await.map_err(|_| err("export"))?;
        let text: String = js_sys::JSON::stringify(&jwk).map_err(|_| err("export"))?.into();
        let mut m: Map<String, Value> = serde_json::from_str(&text).map_err(|_| err("export"))?;
        m.insert("alg".into(), Value::String(alg.as_str().into()));
        m.remove("key_ops");
        m.remove("ext");
        Ok(m)
    }
}

impl SignatureBackend for WebCrypto {
    async fn verify_raw(&self, key: &VerifyKey, msg: &[u8], sig: &[u8]) -> Result<bool, CryptoError> {
        // A key WebCrypto refuses to import (e.g. a point off the curve) verifies nothing.
        let Ok(k) = self.verify_key(key).await else { return Ok(false) };
        let alg = self.op(key.alg);
        let p = subtle()?.verify_with_object_and_u8_array_and_u8_array(&alg, &k, sig, msg).map_err(|_| err("verify rejected"))?;
        // A rejected promise means malformed input for this key: not a valid signature.
        Ok(crate::exec::settled(&p).await.map(|v| v.as_bool() == Some(true)).unwrap_or(false))
    }

    async fn sign(&self, key: &SigningKey, msg: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let k = self.sign_key(key).await?;
        let alg = self.op(key.alg());
        let p = subtle()?.sign_with_object_and_u8_array(&alg, &k, msg).map_err(|_| err("sign rejected"))?;
        let buf = crate::exec::settled(&p).await.map_err(|_| err("sign failed"))?;
        Ok(Uint8Array::new(&buf).to_vec())
    }
}
