//! Stage 5: the key input (a JWK Set, one JWK, or a PEM public key) and the key rules: selection
//! by `kid`, then the key's algorithm binding (`KeySet::select_one`, the Worker's own). The key
//! is determined, not searched for: several different keys that fit refuse the token.
use super::{fail, pass, pem, skip, Check, CheckId, Expectations};
use crate::flow::error::Error;
use crate::io::fetch::FetchError;
use crate::issuer::key_store::KeyError;
use crate::jose::alg::Alg;
use crate::jose::json;
use crate::jose::jwk::{self, JwkError, JwksLimits, KeySet, PublicKey, SelectError, Selection, VerifyKey};
use serde::Serialize;
use serde_json::{json, Value};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyInfo {
    pub kid: Option<String>,
    pub alg: &'static str,
    pub kty: &'static str,
    pub thumbprint: String,
    /// No `alg` in the key: an RSA key then permits every RS*/PS* algorithm.
    pub alg_implied: bool,
    /// A single key without `kid` (PEM or lone JWK) is used for the token's `kid`.
    pub adopted_kid: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SkippedKey {
    pub kid: Option<String>,
    pub reason: String,
}

/// What the key input turned out to be.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeysReport {
    /// `jwks`, `jwk`, `pem` or `unknown`.
    pub format: &'static str,
    pub keys: Vec<KeyInfo>,
    pub skipped: Vec<SkippedKey>,
    pub error: Option<String>,
}

pub(super) struct Keys {
    pub report: KeysReport,
    /// `Err` when the input as a whole is unusable (the Worker's `key.unavailable`).
    pub set: Result<KeySet, String>,
}

fn kty_name(k: &PublicKey) -> &'static str {
    match k {
        PublicKey::Rsa { .. } => "RSA",
        PublicKey::P256 { .. } => "EC P-256",
        PublicKey::P384 { .. } => "EC P-384",
        PublicKey::Ed25519 { .. } => "OKP Ed25519",
    }
}

/// What the key input is, each key in it, and the set the key rules select from.
pub(super) fn parse(text: &str, ex: &Expectations, token_kid: Option<&str>) -> Keys {
    let limits = JwksLimits { max_bytes: ex.max_jwks_bytes, max_keys: ex.max_jwks_keys, max_depth: ex.max_json_depth };
    let trimmed = text.trim();
    let bad = |format: &'static str, e: String| Keys {
        report: KeysReport { format, keys: vec![], skipped: vec![], error: Some(e.clone()) },
        set: Err(e),
    };
    let (format, parsed, single) = if trimmed.starts_with("-----BEGIN") {
        let set = pem::to_jwk(trimmed).map(|mut m| {
            if let Some(a) = &ex.key_alg {
                m.insert("alg".into(), Value::String(a.clone()));
            }
            let mut set = KeySet::default();
            match jwk::parse_public(&m, false) {
                Ok((key, alg)) => {
                    // Like a JWK without `alg`: an RSA key then permits the whole RSA family.
                    let mut k = VerifyKey::new(None, alg, key);
                    k.alg_implied = ex.key_alg.is_none();
                    set.keys.push(k)
                }
                Err(e) => set.skipped.push((None, e)),
            }
            set
        });
        ("pem", set, true)
    } else {
        let doc = match json::parse_object(trimmed.as_bytes(), ex.max_json_depth) {
            Ok(d) => d,
            Err(e) => return bad("unknown", format!("key input {e}; paste a JWK, a JWK Set ({{\"keys\":[...]}}) or a PEM public key")),
        };
        if doc.contains_key("keys") {
            ("jwks", KeySet::parse(trimmed.as_bytes(), limits).map_err(|e| e.to_string()), false)
        } else if doc.contains_key("kty") {
            let wrapped = serde_json::to_vec(&json!({ "keys": [Value::Object(doc)] })).unwrap_or_default();
            ("jwk", KeySet::parse(&wrapped, limits).map_err(|e| e.to_string()), true)
        } else {
            return bad("unknown", "key input is JSON but neither a JWK (no `kty`) nor a JWK Set (no `keys`)".into());
        }
    };
    let mut set = match parsed {
        Ok(s) => s,
        Err(e) => return bad(format, e),
    };
    // One pasted key without a `kid` is *the* key: it answers to the token's `kid`.
    let mut adopted = false;
    if single && set.keys.len() == 1 && set.keys[0].kid.is_none() {
        if let Some(kid) = token_kid {
            set.keys[0].kid = Some(kid.to_owned());
            adopted = true;
        }
    }
    let keys = set
        .keys
        .iter()
        .map(|k| KeyInfo {
            kid: k.kid.clone(),
            alg: k.alg.as_str(),
            kty: kty_name(&k.key),
            thumbprint: k.thumbprint.clone(),
            alg_implied: k.alg_implied,
            adopted_kid: adopted,
        })
        .collect();
    let skipped = set.skipped.iter().map(|(kid, e)| SkippedKey { kid: kid.clone(), reason: skip_reason(*e) }).collect();
    let error = set.keys.is_empty().then(|| "no usable signature key in the input".to_owned());
    Keys { report: KeysReport { format, keys, skipped, error }, set: Ok(set) }
}

fn skip_reason(e: JwkError) -> String {
    match e {
        JwkError::PrivateMaterial => format!("{e}: paste the public key only"),
        e => e.to_string(),
    }
}

fn list_keys(set: &KeySet) -> String {
    let v: Vec<String> =
        set.keys.iter().map(|k| format!("{} ({})", k.kid.as_deref().map_or("no kid".to_owned(), |k| format!("`{k}`")), k.alg)).collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

/// `kid` and `key_binding`. Returns the one key the signature is checked with, or why there is
/// none (the `signature` check's skip message).
pub(super) fn select(
    keyset: Option<&Keys>,
    kid: Option<&str>,
    alg: Option<Alg>,
    checks: &mut Vec<Check>,
) -> Result<VerifyKey, &'static str> {
    let unavailable = || Error::Key(KeyError::Unavailable(FetchError::BadDocument("key input is not a usable JWK, JWK Set or PEM key")));
    let (set, report, a) = match (keyset, alg) {
        (None, _) => {
            let why = "no key given: paste a JWK, JWK Set or PEM, or fetch the issuer's JWKS";
            checks.extend([CheckId::Kid, CheckId::KeyBinding].map(|id| skip(id, why)));
            return Err(why);
        }
        (Some(Keys { set: Err(e), .. }), _) => {
            checks.push(fail(CheckId::Kid, &unavailable(), e.clone()));
            checks.push(skip(CheckId::KeyBinding, "no usable keys"));
            return Err("no usable keys");
        }
        (Some(_), None) => {
            let why = "no accepted alg to select a key with";
            checks.extend([CheckId::Kid, CheckId::KeyBinding].map(|id| skip(id, why)));
            return Err(why);
        }
        (Some(Keys { set: Ok(set), report }), Some(a)) => (set, report, a),
    };
    match (set.select_one(kid, a), kid) {
        (Err(SelectError::UnknownKid), Some(k)) => {
            checks.push(fail(CheckId::Kid, &Error::Key(KeyError::UnknownKid), format!("no key has kid `{k}` (keys: {})", list_keys(set))));
            checks.push(skip(CheckId::KeyBinding, "no key with this kid"));
        }
        (Err(SelectError::UnknownKid), None) => {
            checks.push(pass(CheckId::Kid, format!("token has no kid: the key is the one key bound to {a}")));
            checks.push(fail(
                CheckId::KeyBinding,
                &Error::Key(KeyError::UnknownKid),
                format!("no key is bound to {a} (keys: {})", list_keys(set)),
            ));
        }
        (Err(SelectError::AlgMismatch), k) => {
            checks.push(pass(CheckId::Kid, format!("a key has kid `{}`", k.unwrap_or(""))));
            let bound: Vec<&str> = set.keys.iter().filter(|x| x.kid.as_deref() == k).map(|x| x.alg.as_str()).collect();
            let pem_hint =
                if report.format == "pem" { " A PEM carries no algorithm: choose one for the key, or leave it on automatic." } else { "" };
            checks.push(fail(
                CheckId::KeyBinding,
                &Error::Key(KeyError::AlgMismatch),
                format!("the key is bound to {} and the token says {a}: the key decides the algorithm.{pem_hint}", bound.join("/")),
            ));
        }
        (Err(SelectError::Ambiguous), k) => {
            let fit = match set.select(k, a) {
                Selection::Candidates(c) => c,
                _ => vec![],
            };
            let mut prints: Vec<&str> = fit.iter().map(|x| x.thumbprint.as_str()).collect();
            prints.sort_unstable();
            prints.dedup();
            let m = match k {
                Some(k) => format!(
                    "ambiguous: {} different keys have kid `{k}` and fit {a}, so the key is not determined and the token is refused \
                     (kids must name one signature key; keys: {})",
                    prints.len(),
                    list_keys(set)
                ),
                None => format!(
                    "ambiguous: the token has no kid and {} different keys fit {a}, so the key is not determined and the token is \
                     refused (sign with a kid, or publish one key for {a}; keys: {})",
                    prints.len(),
                    list_keys(set)
                ),
            };
            checks.push(fail(CheckId::Kid, &Error::Key(KeyError::Ambiguous), m));
            checks.push(skip(CheckId::KeyBinding, "no single key"));
            return Err("no single key");
        }
        (Ok(key), k) => {
            checks.push(match k {
                Some(k) => pass(CheckId::Kid, format!("key `{k}` found")),
                None => pass(CheckId::Kid, format!("token has no kid: one key is bound to {a}")),
            });
            checks.push(pass(CheckId::KeyBinding, format!("key bound to {a}")));
            return Ok(key);
        }
    }
    Err("no key")
}

#[cfg(all(test, feature = "pure-crypto"))]
mod tests {
    use super::super::tests::{check, es256, expect, jwks, run, tok, ES256_PEM};
    use super::super::{Expectations, Status};
    use serde_json::{json, Value};

    #[test]
    fn keys_in_every_form() {
        let t = tok(json!({}), json!({}));
        let key = es256("k1");
        let bare = key.public.key.to_jwk().to_string(); // no kid, no alg: adopts the token's kid
        let ex = expect();
        for (name, keys) in
            [("jwks", jwks(&[&key])), ("jwk", key.public.to_public_jwk().to_string()), ("bare jwk", bare), ("pem", ES256_PEM.into())]
        {
            let r = run(&t, Some(&keys), &ex);
            assert_eq!(r.verdict.status, "valid", "{name}: {:?}", r.checks);
            assert_eq!(r.keys.as_ref().unwrap().format, if name == "bare jwk" { "jwk" } else { name });
        }
        // A private JWK is refused with a reason; the report says why.
        let private = Value::Object(key.private_jwk.clone()).to_string();
        let r = run(&t, Some(&private), &ex);
        assert_eq!(r.verdict.reason_code, Some("key.unknown_kid"));
        assert!(r.keys.unwrap().skipped[0].reason.contains("private"));
        // A JWKS kid mismatch is not adopted (only a single pasted key is).
        let (v, _) = check(&t, Some(&jwks(&[&es256("other")])), &ex);
        assert_eq!(v, "key.unknown_kid");
        // PEM bound to another algorithm.
        let ex384 = Expectations { key_alg: Some("ES384".into()), ..expect() };
        let r = run(&t, Some(ES256_PEM), &ex384);
        assert_eq!(r.verdict.reason_code, Some("key.unknown_kid"), "a P-256 key cannot be ES384: skipped");
        assert!(r.keys.unwrap().skipped[0].reason.contains("does not fit"));
        for (pem, why) in [
            ("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----", "private"),
            ("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----", "certificate"),
            ("-----BEGIN PUBLIC KEY-----\n!!!\n-----END PUBLIC KEY-----", "PEM"),
        ] {
            let r = run(&t, Some(pem), &ex);
            assert_eq!(r.verdict.reason_code, Some("key.unavailable"), "{pem}");
            assert!(r.keys.unwrap().error.unwrap().contains(why), "{pem}");
        }
    }

    #[test]
    fn rsa_pem_spki_and_pkcs1_verify_a_vector() {
        let text = std::fs::read_to_string(format!("{}/../tests/vectors/generated.json", env!("CARGO_MANIFEST_DIR"))).unwrap();
        let doc: Value = serde_json::from_str(&text).unwrap();
        let case = doc["cases"].as_array().unwrap().iter().find(|c| c["name"] == "RS256 valid").unwrap();
        let token = format!("{}.{}", case["input"].as_str().unwrap(), case["signature"].as_str().unwrap());
        let spki = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA9O5YGWCyM9Ycsw72sfML
QlmCfzz56gDvGrgRCPUcVxi/ehnfJOFGtIoLPjrAtzQyL60y9KaPorgnFwwnm8J5
f2ZDyQ7DMaMVFmWtUt+asrM0bF4Bu4TOBjefZDjCRiRInE74K5LjuOCyaMP+2+DN
a+YLRLevxvvfVT2mgwTYaTXmcSUC9zUMQpN7ihKR8CFo+gab8A2tnTsZVOYq0WJp
mGeNTGwvJ4ONXz2QH7DkbxllObydx7Yd1Cf8uduN6KhLODu42xsnJefiwQzSgRmk
Kmx40yMFKzgHKaLNnh0BhvQ52szeOL07xnUo4SgHK+X9z2uq0vl3+Ii0y2Y0jcXM
SQIDAQAB
-----END PUBLIC KEY-----";
        let pkcs1 = "-----BEGIN RSA PUBLIC KEY-----
MIIBCgKCAQEA9O5YGWCyM9Ycsw72sfMLQlmCfzz56gDvGrgRCPUcVxi/ehnfJOFG
tIoLPjrAtzQyL60y9KaPorgnFwwnm8J5f2ZDyQ7DMaMVFmWtUt+asrM0bF4Bu4TO
BjefZDjCRiRInE74K5LjuOCyaMP+2+DNa+YLRLevxvvfVT2mgwTYaTXmcSUC9zUM
QpN7ihKR8CFo+gab8A2tnTsZVOYq0WJpmGeNTGwvJ4ONXz2QH7DkbxllObydx7Yd
1Cf8uduN6KhLODu42xsnJefiwQzSgRmkKmx40yMFKzgHKaLNnh0BhvQ52szeOL07
xnUo4SgHK+X9z2uq0vl3+Ii0y2Y0jcXMSQIDAQAB
-----END RSA PUBLIC KEY-----";
        // The vector's claims are not a Keycloak token's; only the signature path matters here.
        for pem in [spki, pkcs1] {
            let r = run(&token, Some(pem), &Expectations::default());
            let sig = r.checks.iter().find(|c| c.id.as_str() == "signature").unwrap();
            assert_eq!(sig.status, Status::Pass, "{sig:?}");
        }
        // The same RSA key bound to PS256 does not verify an RS256 token: the key decides.
        let ex = Expectations { key_alg: Some("PS256".into()), ..Expectations::default() };
        let r = run(&token, Some(spki), &ex);
        let binding = r.checks.iter().find(|c| c.id.as_str() == "key_binding").unwrap();
        assert_eq!(binding.reason_code, Some("key.unknown_kid"), "no kid in the token and no key bound to RS256");
    }
}
