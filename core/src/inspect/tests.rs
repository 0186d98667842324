//! The report end to end: fixtures shared by the stages' tests, and the tables that run whole
//! tokens through `inspect`.
use super::*;
use crate::b64;
use crate::pure_crypto::PureCrypto;
use crate::signing::SigningKey;
use futures_executor::block_on;
use serde_json::{json, Value};

pub(super) const NOW: f64 = 1_800_000_000.0;
pub(super) const ISS: &str = "https://kc.example/realms/r";

/// Fixed TEST-ONLY P-256 key (d = 1..32), the same as the benches'.
pub(super) fn es256(kid: &str) -> SigningKey {
    let d: Vec<u8> = (1..=32u8).collect();
    let jwk = json!({"kty": "EC", "crv": "P-256", "alg": "ES256", "kid": kid,
        "x": "UVw9brnjlrkE0_7Kf1T9zQzB6Ze_N13KUVrQpsO0A18", "y": "RTa-OlDzGPv5pUdZAqIhUCvvDVfgjFOyzApW8X2fk1Q",
        "d": b64::encode(&d)});
    SigningKey::from_jwk(jwk.as_object().unwrap().clone()).unwrap()
}

/// Another TEST-ONLY P-256 key (d = 2..33).
pub(super) fn other_es256(kid: &str) -> SigningKey {
    let d: Vec<u8> = (2..=33u8).collect();
    let sk = p256::ecdsa::SigningKey::from_slice(&d).unwrap();
    let pt = sk.verifying_key().to_encoded_point(false);
    let jwk = json!({"kty": "EC", "crv": "P-256", "alg": "ES256", "kid": kid,
        "x": b64::encode(pt.x().unwrap()), "y": b64::encode(pt.y().unwrap()), "d": b64::encode(&d)});
    SigningKey::from_jwk(jwk.as_object().unwrap().clone()).unwrap()
}

pub(super) const ES256_PEM: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEUVw9brnjlrkE0/7Kf1T9zQzB6Ze/
N13KUVrQpsO0A19FNr46UPMY+/mlR1kCoiFQK+8NV+CMU7LMClbxfZ+TVA==
-----END PUBLIC KEY-----";

pub(super) fn claims() -> Value {
    json!({"iss": ISS, "aud": ["account", "edge-sts"], "exp": NOW + 300.0, "iat": NOW - 10.0,
           "typ": "Bearer", "azp": "svc", "client_id": "svc", "realm_access": {"roles": ["a"]}})
}

pub(super) fn sign(key: &SigningKey, header: &Value, claims: &Value) -> String {
    let input = format!("{}.{}", b64::encode(header.to_string().as_bytes()), b64::encode(claims.to_string().as_bytes()));
    let sig = PureCrypto.sign_sync(key, input.as_bytes()).unwrap();
    format!("{input}.{}", b64::encode(&sig))
}

/// A token signed by `es256("k1")`, with header and claims patched (`null` removes).
pub(super) fn tok(hpatch: Value, cpatch: Value) -> String {
    let mut h = json!({"alg": "ES256", "typ": "JWT", "kid": "k1"});
    let mut c = claims();
    for (target, patch) in [(&mut h, hpatch), (&mut c, cpatch)] {
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                target.as_object_mut().unwrap().remove(k);
            } else {
                target[k] = v.clone();
            }
        }
    }
    sign(&es256("k1"), &h, &c)
}

pub(super) fn jwks(keys: &[&SigningKey]) -> String {
    json!({"keys": keys.iter().map(|k| k.public.to_public_jwk()).collect::<Vec<_>>()}).to_string()
}

pub(super) fn expect() -> Expectations {
    Expectations { issuer: Some(ISS.into()), audiences: vec!["edge-sts".into()], ..Expectations::default() }
}

pub(super) fn run(token: &str, keys: Option<&str>, ex: &Expectations) -> Report {
    block_on(inspect(&PureCrypto, token, keys, ex, NOW))
}

/// (verdict reason or "ok"/"unverified", the ids of the failing checks).
pub(super) fn check(token: &str, keys: Option<&str>, ex: &Expectations) -> (String, Vec<(&'static str, &'static str)>) {
    let r = run(token, keys, ex);
    let v = match (r.verdict.status, r.verdict.reason_code) {
        ("valid", _) => "ok".to_owned(),
        ("unverified", _) => "unverified".to_owned(),
        (_, Some(code)) => code.to_owned(),
        (s, None) => s.to_owned(),
    };
    let failed = r.checks.iter().filter(|c| c.status == Status::Fail).map(|c| (c.id.as_str(), c.reason_code.unwrap())).collect();
    (v, failed)
}

pub(super) fn forged(header: &str, claims: &Value) -> String {
    format!("{}.{}.{}", b64::encode(header.as_bytes()), b64::encode(claims.to_string().as_bytes()), b64::encode(b"sig"))
}

#[test]
fn outcomes_table() {
    let k1 = jwks(&[&es256("k1")]);
    let wrong = jwks(&[&other_es256("k1")]);
    let ex = expect();
    let none = forged(r#"{"alg":"none","typ":"JWT"}"#, &claims());
    let hs = forged(r#"{"alg":"HS256","typ":"JWT"}"#, &claims());
    let good = tok(json!({}), json!({}));
    let mut bad_sig = good.clone();
    let last = bad_sig.pop().unwrap();
    bad_sig.push(if last == 'A' { 'Q' } else { 'A' });
    #[rustfmt::skip]
    type Row<'a> = (&'a str, String, Option<&'a str>, &'a str, Vec<(&'a str, &'a str)>);
    let table: Vec<Row> = vec![
        ("valid", good.clone(), Some(&k1), "ok", vec![]),
        ("no key", good.clone(), None, "unverified", vec![]),
        ("bad signature", bad_sig, Some(&k1), "token.signature", vec![("signature", "token.signature")]),
        ("wrong key", good.clone(), Some(&wrong), "token.signature", vec![("signature", "token.signature")]),
        ("unknown kid", tok(json!({"kid": "k9"}), json!({})), Some(&k1), "key.unknown_kid", vec![("kid", "key.unknown_kid")]),
        ("expired", tok(json!({}), json!({"exp": NOW - 60.0})), Some(&k1), "claims.expired", vec![("exp", "claims.expired")]),
        ("expired within leeway", tok(json!({}), json!({"exp": NOW - 59.0})), Some(&k1), "ok", vec![]),
        ("nbf", tok(json!({}), json!({"nbf": NOW + 61.0})), Some(&k1), "claims.nbf", vec![("nbf", "claims.nbf")]),
        ("iat future", tok(json!({}), json!({"iat": NOW + 61.0})), Some(&k1), "claims.iat", vec![("iat", "claims.iat")]),
        ("lifetime", tok(json!({}), json!({"exp": NOW + 4000.0})), Some(&k1), "claims.lifetime", vec![("lifetime", "claims.lifetime")]),
        (
            "wrong iss",
            tok(json!({}), json!({"iss": format!("{ISS}/")})),
            Some(&k1),
            "token.untrusted_issuer",
            vec![("iss", "token.untrusted_issuer")],
        ),
        ("no iss", tok(json!({}), json!({"iss": null})), Some(&k1), "token.untrusted_issuer", vec![("iss", "token.untrusted_issuer")]),
        ("wrong aud", tok(json!({}), json!({"aud": "account"})), Some(&k1), "claims.aud", vec![("aud", "claims.aud")]),
        ("typ ID", tok(json!({}), json!({"typ": "ID"})), Some(&k1), "claims.typ", vec![("typ", "claims.typ")]),
        (
            "no client",
            tok(json!({}), json!({"azp": null, "client_id": null})),
            Some(&k1),
            "claims.client_id",
            vec![("client_id", "claims.client_id")],
        ),
        (
            "client conflict",
            tok(json!({}), json!({"client_id": "x"})),
            Some(&k1),
            "claims.client_id_conflict",
            vec![("client_id", "claims.client_id_conflict")],
        ),
        ("exp type", tok(json!({}), json!({"exp": "soon"})), Some(&k1), "claims.time_type", vec![("exp", "claims.time_type")]),
        ("alg none", none, Some(&k1), "token.alg", vec![("alg", "token.alg")]),
        ("HS256", hs, Some(&k1), "token.alg", vec![("alg", "token.alg")]),
        (
            "jku",
            tok(json!({"jku": "https://evil"}), json!({})),
            Some(&k1),
            "token.header_key",
            vec![("header_key_refs", "token.header_key")],
        ),
        ("crit", tok(json!({"crit": ["x"]}), json!({})), Some(&k1), "token.crit", vec![("crit", "token.crit")]),
        (
            "header typ",
            tok(json!({"typ": "logout+jwt"}), json!({})),
            Some(&k1),
            "token.header_typ",
            vec![("header_typ", "token.header_typ")],
        ),
        ("kid type", tok(json!({"kid": 7}), json!({})), Some(&k1), "token.kid", vec![("kid_format", "token.kid")]),
        (
            "two segments",
            "a.b".into(),
            Some(&k1),
            "token.malformed",
            vec![("segments", "token.malformed"), ("header", "token.base64"), ("payload", "token.base64")],
        ),
        ("jwe", "a.b.c.d.e".into(), Some(&k1), "token.encrypted", vec![("segments", "token.encrypted"), ("header", "token.base64")]),
        ("bad key input", good.clone(), Some("{nope"), "key.unavailable", vec![("kid", "key.unavailable")]),
        ("alg mismatch", tok(json!({"alg": "ES384"}), json!({})), Some(&k1), "key.alg_mismatch", vec![("key_binding", "key.alg_mismatch")]),
    ];
    for (name, token, keys, want, failed) in table {
        let (v, f) = check(&token, keys, &ex);
        assert_eq!(v, want, "{name}: verdict");
        assert_eq!(f, failed, "{name}: failing checks");
    }
}

#[test]
fn every_claim_failure_is_reported_not_only_the_first() {
    let t = tok(json!({}), json!({"exp": NOW - 100.0, "aud": "x", "typ": "ID", "azp": null, "client_id": null}));
    let (v, f) = check(&t, Some(&jwks(&[&es256("k1")])), &expect());
    assert_eq!(v, "claims.expired", "the Worker stops at the first, in its order");
    let ids: Vec<&str> = f.iter().map(|x| x.0).collect();
    assert_eq!(ids, ["exp", "aud", "typ", "client_id"]);
}

#[test]
fn expectations_off_means_skipped() {
    let t = tok(json!({}), json!({}));
    let r = run(&t, Some(&jwks(&[&es256("k1")])), &Expectations::default());
    assert_eq!(r.verdict.status, "valid");
    assert_eq!(r.verdict.not_checked.iter().map(|c| c.as_str()).collect::<Vec<_>>(), ["iss", "aud"]);
    let status = |id| r.checks.iter().find(|c| c.id.as_str() == id).unwrap().status;
    assert_eq!(status("iss"), Status::Skip);
    assert_eq!(status("aud"), Status::Skip);
    assert_eq!(status("signature"), Status::Pass);
    // A token without aud fails under any configuration.
    let (v, _) = check(&tok(json!({}), json!({"aud": null})), None, &Expectations::default());
    assert_eq!(v, "claims.aud");
}

#[test]
fn expectations_deserialize_with_config_defaults() {
    let e: Expectations = serde_json::from_str("{}").unwrap();
    assert_eq!(e, Expectations::default());
    assert_eq!(e.expected_typ.as_deref(), Some("Bearer"));
    let e: Expectations = serde_json::from_str(r#"{"expected_typ": null, "audiences": ["a"]}"#).unwrap();
    assert_eq!(e.expected_typ, None);
    assert!(serde_json::from_str::<Expectations>(r#"{"audience": "a"}"#).is_err(), "typos are refused");
}

#[test]
fn check_ids_serialise_to_their_names() {
    let names: Vec<Value> = CheckId::ALL.iter().map(|id| serde_json::to_value(id).unwrap()).collect();
    assert_eq!(names.len(), 24);
    for (id, name) in CheckId::ALL.iter().zip(&names) {
        assert_eq!(name.as_str(), Some(id.as_str()));
    }
    assert_eq!(names[4], "header_key_refs");
    assert_eq!(names[23], "client_id");
    let mut unique: Vec<&str> = CheckId::ALL.iter().map(|id| id.as_str()).collect();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), CheckId::ALL.len());
}

#[test]
fn every_check_id_is_reported_once_in_order() {
    let k1 = jwks(&[&es256("k1")]);
    let ex = expect();
    let no_header = format!("!!.{}.{}", b64::encode(claims().to_string().as_bytes()), b64::encode(b"s"));
    let cases: [(&str, String, Option<&str>); 7] = [
        ("valid", tok(json!({}), json!({})), Some(&k1)),
        ("no key", tok(json!({}), json!({})), None),
        ("bad key input", tok(json!({}), json!({})), Some("{nope")),
        ("unknown kid", tok(json!({"kid": "k9"}), json!({})), Some(&k1)),
        ("alg none", forged(r#"{"alg":"none"}"#, &claims()), Some(&k1)),
        ("header broken", no_header, Some(&k1)),
        ("two segments", "a.b".into(), Some(&k1)),
    ];
    for (name, token, keys) in cases {
        let ids: Vec<CheckId> = run(&token, keys, &ex).checks.iter().map(|c| c.id).collect();
        assert_eq!(ids, CheckId::ALL, "{name}");
    }
}
