//! The report end to end: fixtures shared by the stages' tests, and the tables that run whole
//! tokens through `inspect`.
use super::*;
use crate::issuer::claims::Marker;
use crate::jose::b64;
use crate::jose::pure_crypto::PureCrypto;
use crate::jose::signing::SigningKey;
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
           "typ": "Bearer", "azp": "svc", "client_id": "svc", "preferred_username": "service-account-svc",
           "sub": "5f0c9d3e-service-account", "realm_access": {"roles": ["a"]}})
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
            "claims.not_service_account",
            vec![("client_id", "claims.not_service_account")],
        ),
        (
            "client conflict",
            tok(json!({}), json!({"client_id": "x"})),
            Some(&k1),
            "claims.client_id_conflict",
            vec![("client_id", "claims.client_id_conflict")],
        ),
        (
            "exp type",
            tok(json!({}), json!({"exp": "soon"})),
            Some(&k1),
            "claims.time_type",
            vec![("claim_types", "claims.time_type"), ("exp", "claims.time_type")],
        ),
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
    let t = tok(json!({}), json!({"exp": NOW - 100.0, "aud": "x", "typ": "ID", "azp": null, "client_id": null, "sub": null}));
    let (v, f) = check(&t, Some(&jwks(&[&es256("k1")])), &expect());
    assert_eq!(v, "claims.expired", "the Worker stops at the first, in its order");
    let ids: Vec<&str> = f.iter().map(|x| x.0).collect();
    assert_eq!(ids, ["exp", "aud", "typ", "sub", "client_id"]);
    // Every wrongly typed claim is named, the first one's reason is the Worker's.
    let t = tok(json!({}), json!({"sub": 5, "jti": ["j"], "aud": [1]}));
    let r = run(&t, Some(&jwks(&[&es256("k1")])), &expect());
    let types = r.checks.iter().find(|c| c.id == CheckId::ClaimTypes).unwrap();
    assert_eq!((types.reason_code, r.verdict.reason_code), (Some("claims.type"), Some("claims.type")));
    for name in ["`sub` is 5", "`jti` is [\"j\"]", "`aud` is [1]"] {
        assert!(types.message.contains(name), "{name}: {}", types.message);
    }
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
    assert_eq!((e.app_token.clone(), e.allow_missing_sub), (None, false));
    assert_eq!(e.caller_rules().app_token, AppTokenRule::Keycloak, "edge-sts's default rule is Keycloak's");
    let e: Expectations = serde_json::from_str(
        r#"{"allow_missing_sub": true, "app_token": {"client_claim": "azp", "marker": {"claim": "idtyp", "equals": "app"}}}"#,
    )
    .unwrap();
    let entra = Marker::Equals { claim: "idtyp".into(), value: "app".into() };
    assert_eq!(e.app_token, Some(AppTokenRule::Claims { client_claim: "azp".into(), marker: entra, absent_claims: vec![] }));
    assert!(e.allow_missing_sub);
    let e: Expectations = serde_json::from_str(r#"{"app_token": null, "max_lifetime_secs": null, "profile": "any_jwt"}"#).unwrap();
    assert_eq!((e.app_token, e.max_lifetime_secs, e.profile), (None, None, Profile::AnyJwt));
    for bad in [
        r#"{"app_token": {"client_claim": "azp", "marker": {"claim": "idtyp"}}}"#,
        r#"{"app_token": {"client_claim": "azp", "marker": {"claim": "idtyp", "equals": "app", "equals_claim": "x"}}}"#,
        r#"{"app_token": {"client_claim": "", "marker": {"claim": "idtyp", "equals": "app"}}}"#,
        r#"{"app_token": {"client_claim": "azp", "marker": {"claim": "idtyp", "value": "app"}}}"#,
    ] {
        assert!(serde_json::from_str::<Expectations>(bad).is_err(), "{bad}");
    }
}

#[test]
fn check_ids_serialise_to_their_names() {
    let names: Vec<Value> = CheckId::ALL.iter().map(|id| serde_json::to_value(id).unwrap()).collect();
    assert_eq!(names.len(), 27);
    for (id, name) in CheckId::ALL.iter().zip(&names) {
        assert_eq!(name.as_str(), Some(id.as_str()));
    }
    assert_eq!(names[4], "header_key_refs");
    assert_eq!(names[16], "claim_types");
    assert_eq!(names[23], "cnf");
    assert_eq!(names[24], "sub");
    assert_eq!(names[26], "client_id");
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

/// A JWKS served from memory at `JWKS_URI` (the exchange's side of the parity table).
struct Served(String);

const JWKS_URI: &str = "https://kc.example/realms/r/protocol/openid-connect/certs";

impl crate::io::fetch::Fetch for Served {
    async fn get(&self, url: &str, _max: usize, _t: u64) -> Result<crate::io::fetch::HttpResponse, crate::io::fetch::FetchError> {
        assert_eq!(url, JWKS_URI);
        Ok(crate::io::fetch::HttpResponse { status: 200, body: self.0.clone().into_bytes(), cache_control: None, content_type: None })
    }
    async fn sleep(&self, _ms: u64) {}
}

/// What `exchange::verify_subject_token` answers for `token` under one trusted issuer (`ISS`,
/// audience `edge-sts`, plus `extra`) whose JWKS is `keys`: the client id or the reason code.
fn exchange_answer(token: &str, keys: &str, extra: &Value) -> Result<String, &'static str> {
    use crate::flow::exchange::{verify_subject_token, Context};
    use crate::flow::token_cache::TokenCaches;
    use crate::issuer::key_store::{CachePolicy, KeyStore};
    let mut iss = json!({"issuer": ISS, "jwks_uri": JWKS_URI, "audiences": ["edge-sts"]});
    for (k, v) in extra.as_object().unwrap() {
        iss[k] = v.clone();
    }
    let cfg = crate::config::load(&json!({"mode": "dev", "issuer": "https://sts.example", "trusted_issuers": [iss]}).to_string()).unwrap();
    let (store, caches, ring) = (KeyStore::new(CachePolicy::default()), TokenCaches::default(), crate::jose::signing::KeyRing::default());
    let fetch = Served(keys.to_owned());
    let ctx = Context { config: &cfg, keys: &store, ring: &ring, fetch: &fetch, crypto: &PureCrypto, caches: &caches };
    match block_on(verify_subject_token(&ctx, token, NOW)) {
        Ok(v) => Ok(v.caller().client_id.clone()),
        Err(e) => Err(e.reason()),
    }
}

/// The playground's verdict is `/token`'s. Each row runs through `inspect`
/// (the failing checks, the verdict) and through `exchange::verify_subject_token` with the same
/// issuer settings (`extra` is both the configuration's `trusted_issuers[]` members and the
/// expectations: the two share their names).
#[test]
fn inspect_agrees_with_the_exchange() {
    let k1 = jwks(&[&es256("k1")]);
    let twins = jwks(&[&es256("k1"), &other_es256("k1")]);
    let two_es256 = jwks(&[&es256("a"), &other_es256("b")]);
    let user = json!({"client_id": null, "preferred_username": "alice", "sid": "s", "scope": "openid"});
    let entra = json!({"app_token": {"client_claim": "azp", "marker": {"claim": "idtyp", "equals": "app"}}});
    let okta = json!({"expected_typ": null, "app_token": {"client_claim": "cid", "marker": {"claim": "sub", "equals_claim": "cid", "absent_claims": ["uid"]}}});
    let mapped = json!({"preferred_username": "alice", "sid": "s", "scope": "openid"});
    let dpop = json!({"cnf": {"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}});
    type Row<'a> = (&'a str, String, &'a str, Value, Result<&'a str, &'a str>, Vec<&'a str>);
    #[rustfmt::skip]
    let table: Vec<Row> = vec![
        ("service account", tok(json!({}), json!({})), &k1, json!({}), Ok("svc"), vec![]),
        ("pre-26 clientId", tok(json!({}), json!({"client_id": null, "clientId": "svc"})), &k1, json!({}), Ok("svc"), vec![]),
        ("user token", tok(json!({}), user.clone()), &k1, json!({}), Err("claims.not_service_account"), vec!["client_id"]),
        ("token-exchange token (azp only)", tok(json!({}), json!({"client_id": null})), &k1, json!({}), Err("claims.not_service_account"), vec!["client_id"]),
        ("azp disagrees", tok(json!({}), json!({"azp": "web"})), &k1, json!({}), Err("claims.client_id_conflict"), vec!["client_id"]),
        ("sub missing", tok(json!({}), json!({"sub": null})), &k1, json!({}), Err("claims.missing"), vec!["sub"]),
        ("sub empty", tok(json!({}), json!({"sub": ""})), &k1, json!({}), Err("claims.missing"), vec!["sub"]),
        ("sub missing, allowed", tok(json!({}), json!({"sub": null})), &k1, json!({"allow_missing_sub": true}), Ok("svc"), vec![]),
        ("sub a number", tok(json!({}), json!({"sub": 5})), &k1, json!({"allow_missing_sub": true}), Err("claims.type"), vec!["claim_types", "sub"]),
        ("jti an array", tok(json!({}), json!({"jti": ["j"]})), &k1, json!({}), Err("claims.type"), vec!["claim_types"]),
        ("typ unchecked, a number", tok(json!({}), json!({"typ": 1})), &k1, json!({"expected_typ": null}), Err("claims.type"), vec!["claim_types"]),
        ("client_id a list", tok(json!({}), json!({"client_id": ["svc"]})), &k1, json!({}), Err("claims.type"), vec!["claim_types", "client_id"]),
        ("kid names two keys", tok(json!({}), json!({})), &twins, json!({}), Err("key.ambiguous"), vec!["kid"]),
        ("no kid, two keys fit", tok(json!({"kid": null}), json!({})), &two_es256, json!({}), Err("key.ambiguous"), vec!["kid"]),
        ("no kid, one key fits", tok(json!({"kid": null}), json!({})), &k1, json!({}), Ok("svc"), vec![]),
        ("entra app token", tok(json!({}), json!({"client_id": null, "idtyp": "app"})), &k1, entra.clone(), Ok("svc"), vec![]),
        ("entra user token", tok(json!({}), json!({"client_id": null, "idtyp": "user"})), &k1, entra.clone(), Err("claims.not_service_account"), vec!["client_id"]),
        // A user's token whose client id a mapper writes: the user's name and session give it away.
        ("user token, client id from a mapper", tok(json!({}), mapped.clone()), &k1, json!({}), Err("claims.not_service_account"), vec!["client_id"]),
        ("pre-26 user token, clientId from a mapper", tok(json!({}), json!({"client_id": null, "clientId": "svc", "preferred_username": "alice", "session_state": "s"})),
            &k1, json!({}), Err("claims.not_service_account"), vec!["client_id"]),
        ("service account with a session (refresh tokens on)", tok(json!({}), json!({"sid": "s"})), &k1, json!({}), Err("claims.not_service_account"), vec!["client_id"]),
        // Bound to a key: refused whatever else holds.
        ("DPoP-bound service account", tok(json!({}), dpop.clone()), &k1, json!({}), Err("claims.sender_constrained"), vec!["cnf"]),
        ("certificate-bound service account", tok(json!({}), json!({"cnf": {"x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}})), &k1, json!({}),
            Err("claims.sender_constrained"), vec!["cnf"]),
        ("bound user token", tok(json!({}), json!({"cnf": {"jkt": "x"}, "client_id": null})), &k1, json!({}), Err("claims.sender_constrained"), vec!["cnf", "client_id"]),
        // Okta: sub == cid, but a user whose login equals the client id carries uid.
        ("okta app token", tok(json!({}), json!({"client_id": null, "azp": null, "sub": "svc", "cid": "svc"})), &k1, okta.clone(), Ok("svc"), vec![]),
        ("okta user named like the client", tok(json!({}), json!({"client_id": null, "azp": null, "sub": "svc", "cid": "svc", "uid": "00u1"})), &k1, okta.clone(),
            Err("claims.not_service_account"), vec!["client_id"]),
    ];
    for (name, token, keys, extra, want, failing) in table {
        assert_eq!(exchange_answer(&token, keys, &extra), want.map(str::to_owned), "{name}: exchange");
        let mut ex: Expectations = serde_json::from_value(extra).unwrap();
        ex.issuer = Some(ISS.into());
        ex.audiences = vec!["edge-sts".into()];
        let r = run(&token, Some(keys), &ex);
        assert_eq!(r.verdict.client_id.as_deref().ok_or(r.verdict.reason_code.unwrap_or("none")), want, "{name}: inspect's verdict");
        let failed: Vec<(&str, &str)> =
            r.checks.iter().filter(|c| c.status == Status::Fail).map(|c| (c.id.as_str(), c.reason_code.unwrap())).collect();
        let ids: Vec<&str> = failed.iter().map(|f| f.0).collect();
        assert_eq!(ids, failing, "{name}: failing checks {failed:?}");
        if let Some(first) = failed.first() {
            assert_eq!(Err(first.1), want, "{name}: the first failing check carries the verdict's reason");
        }
    }
    // The messages say what happened, in words a person debugging can act on.
    let msg =
        |token: &str, keys: &str, id: CheckId| run(token, Some(keys), &expect()).checks.into_iter().find(|c| c.id == id).unwrap().message;
    assert!(msg(&tok(json!({}), user), &k1, CheckId::ClientId).contains("not a service-account (client credentials) token"));
    assert!(msg(&tok(json!({}), json!({})), &twins, CheckId::Kid).contains("ambiguous: 2 different keys have kid `k1`"));
    assert!(msg(&tok(json!({"kid": null}), json!({})), &two_es256, CheckId::Kid).contains("ambiguous: the token has no kid and 2"));
    assert!(msg(&tok(json!({"kid": null}), json!({})), &k1, CheckId::Kid).contains("one key is bound to ES256"));
    assert!(msg(&tok(json!({}), json!({"sub": null})), &k1, CheckId::Sub).contains("RFC 9068"));
    let m = msg(&tok(json!({}), mapped), &k1, CheckId::ClientId);
    assert!(m.contains("user session (sid \"s\")") && m.contains("mapper"), "{m}");
    let m = msg(&tok(json!({}), json!({"preferred_username": "alice"})), &k1, CheckId::ClientId);
    assert!(m.contains("preferred_username is \"alice\", not `service-account-svc`"), "{m}");
    let m = msg(&tok(json!({}), dpop.clone()), &k1, CheckId::Cnf);
    assert!(m.contains("DPoP key (cnf.jkt, RFC 9449)"), "{m}");
    let m = msg(&tok(json!({}), json!({"cnf": {"x5t#S256": "x"}})), &k1, CheckId::Cnf);
    assert!(m.contains("client certificate"), "{m}");
    let okta_ex: Expectations = serde_json::from_value(okta).unwrap();
    let r = run(&tok(json!({}), json!({"client_id": null, "azp": null, "sub": "svc", "cid": "svc", "uid": "00u1"})), Some(&k1), &okta_ex);
    let m = r.checks.into_iter().find(|c| c.id == CheckId::ClientId).unwrap().message;
    assert!(m.contains("it carries uid"), "{m}");
    // Under "any JWT", a bound token is not judged (a generic library accepts it); edge-sts refuses it.
    let bound = tok(json!({}), dpop);
    let r = run(&bound, Some(&k1), &any_jwt());
    let c = r.checks.iter().find(|c| c.id == CheckId::Cnf).unwrap();
    assert_eq!((c.status, r.verdict.status), (Status::Skip, "valid"), "{}", c.message);
    assert_eq!(check(&bound, Some(&k1), &Expectations::default()).0, "claims.sender_constrained");
}

/// A token of another issuer, signed by `es256(kid)`: `header` and `claims` as given.
fn foreign(header: Value, claims: Value) -> String {
    sign(&es256("k1"), &header, &claims)
}

fn any_jwt() -> Expectations {
    Expectations { profile: Profile::AnyJwt, expected_typ: None, max_lifetime_secs: None, ..Expectations::default() }
}

/// Ordinary tokens of other issuers get a fair verdict under "any JWT" (signature,
/// `exp`/`nbf`, and only what the user asks), and the same tokens still fail as edge-sts would.
#[test]
fn any_jwt_is_fair_to_other_issuers() {
    let k1 = jwks(&[&es256("k1")]);
    let tid = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    let auth0 = foreign(
        json!({"alg": "ES256", "typ": "JWT", "kid": "k1"}),
        json!({"iss": "https://tenant.eu.auth0.com/", "sub": "abc@clients", "aud": ["https://api.example", "https://tenant.eu.auth0.com/userinfo"],
               "iat": NOW - 60.0, "exp": NOW + 86_340.0, "azp": "abc", "gty": "client-credentials", "scope": "read:orders"}),
    );
    let entra_v1 = foreign(
        json!({"alg": "ES256", "typ": "JWT", "kid": "k1", "x5t": "k1"}),
        json!({"aud": "api://orders", "iss": format!("https://sts.windows.net/{tid}/"), "iat": NOW - 300.0, "nbf": NOW - 300.0,
               "exp": NOW + 4200.0, "appid": "1b3f", "appidacr": "1", "idp": format!("https://sts.windows.net/{tid}/"),
               "oid": "9a0e", "sub": "9a0e", "tid": tid, "ver": "1.0", "roles": ["Orders.Read"]}),
    );
    let at_jwt = foreign(
        json!({"alg": "ES256", "typ": "at+jwt", "kid": "k1"}),
        json!({"iss": "https://as.example", "sub": "5ba552d67", "aud": "https://rs.example", "exp": NOW + 3600.0, "iat": NOW,
               "jti": "dbe39bf3a3ba4238a513f51d6e1691c4", "client_id": "s6BhdRkqt3", "scope": "openid profile"}),
    );
    for (name, token, edge_sts_says) in
        [("auth0", &auth0, "claims.lifetime"), ("entra v1", &entra_v1, "claims.lifetime"), ("at+jwt", &at_jwt, "claims.typ")]
    {
        let r = run(token, Some(&k1), &any_jwt());
        let failed: Vec<_> = r.checks.iter().filter(|c| c.status == Status::Fail).map(|c| c.id.as_str()).collect();
        assert_eq!((r.verdict.status, failed), ("valid", vec![]), "{name}: {:?}", r.verdict);
        assert!(!r.keycloak, "{name} does not look like Keycloak");
        let status = |id: CheckId| r.checks.iter().find(|c| c.id == id).unwrap().status;
        assert_eq!(status(CheckId::Signature), Status::Pass, "{name}");
        assert_eq!(status(CheckId::Exp), Status::Pass, "{name}");
        for id in [CheckId::Lifetime, CheckId::Typ, CheckId::ClientId, CheckId::Iss, CheckId::Aud] {
            assert_eq!(status(id), Status::Skip, "{name}: {id:?} is not checked when blank");
        }
        // As edge-sts would (its defaults), the same token is refused, with the Worker's reason.
        let (v, _) = check(token, Some(&k1), &Expectations::default());
        assert_eq!(v, edge_sts_says, "{name} as edge-sts would");
    }
    // What the user fills in is checked: an audience, a maximum lifetime, a typ.
    let ex = Expectations { audiences: vec!["https://other".into()], ..any_jwt() };
    assert_eq!(check(&auth0, Some(&k1), &ex).0, "claims.aud");
    let ex = Expectations { max_lifetime_secs: Some(3600), ..any_jwt() };
    assert_eq!(check(&auth0, Some(&k1), &ex).0, "claims.lifetime");
    let ex =
        Expectations { issuer: Some("https://tenant.eu.auth0.com/".into()), audiences: vec!["https://api.example".into()], ..any_jwt() };
    assert_eq!(check(&auth0, Some(&k1), &ex).0, "ok");
    let auth0_rule = json!({"profile": "any_jwt", "expected_typ": null, "max_lifetime_secs": null, "app_token": {"client_claim": "azp", "marker": {"claim": "gty", "equals": "client-credentials"}}});
    let ex: Expectations = serde_json::from_value(auth0_rule).unwrap();
    assert_eq!(check(&auth0, Some(&k1), &ex).0, "ok");
    assert_eq!(check(&entra_v1, Some(&k1), &ex).0, "claims.not_service_account");
    // Expired, not yet valid and a bad signature still fail; no key: unverified.
    let expired = foreign(json!({"alg": "ES256", "kid": "k1"}), json!({"exp": NOW - 61.0}));
    assert_eq!(check(&expired, Some(&k1), &any_jwt()).0, "claims.expired");
    let early = foreign(json!({"alg": "ES256", "kid": "k1"}), json!({"nbf": NOW + 61.0}));
    assert_eq!(check(&early, Some(&k1), &any_jwt()).0, "claims.nbf");
    assert_eq!(check(&auth0, Some(&jwks(&[&other_es256("k1")])), &any_jwt()).0, "token.signature");
    assert_eq!(check(&auth0, None, &any_jwt()).0, "unverified");
    // A bare token (no iss, sub, aud or exp) is a JWT too.
    let bare = foreign(json!({"alg": "ES256", "kid": "k1"}), json!({"name": "x"}));
    assert_eq!(check(&bare, Some(&k1), &any_jwt()), ("ok".into(), vec![]));
    // A Keycloak token is recognised as one.
    assert!(run(&tok(json!({}), json!({})), None, &any_jwt()).keycloak);
}

/// "As edge-sts would" from a pasted configuration: the trusted issuer whose `issuer` is the
/// token's `iss`, its rules, and the Worker's answer (`exchange_answer` under the same issuer).
#[test]
fn expectations_from_a_configuration() {
    let k1 = jwks(&[&es256("k1")]);
    let cfg = |extra: Value| {
        let mut iss = json!({"issuer": ISS, "jwks_uri": JWKS_URI, "audiences": ["edge-sts"], "subject_prefix": "kc:"});
        for (k, v) in extra.as_object().unwrap() {
            iss[k] = v.clone();
        }
        let other = json!({"issuer": "https://other.example", "audiences": ["x"], "subject_prefix": "o:", "max_token_lifetime_secs": 60});
        json!({"mode": "dev", "issuer": "https://sts.example", "trusted_issuers": [other, iss], "limits": {"max_token_bytes": 4096}})
            .to_string()
    };
    let ex =
        expectations_from_config(&cfg(json!({"max_token_lifetime_secs": 600, "expected_typ": null})), &tok(json!({}), json!({}))).unwrap();
    assert_eq!(ex.issuer.as_deref(), Some(ISS), "the issuer matching iss, not the first");
    assert_eq!((ex.max_lifetime_secs, ex.expected_typ.clone(), ex.max_token_bytes), (Some(600), None, 4096));
    assert_eq!(ex.trusted_issuers, ["https://other.example", ISS]);
    let rows: Vec<(&str, String, Value)> = vec![
        ("service account", tok(json!({}), json!({})), json!({})),
        ("lifetime over the issuer's max", tok(json!({}), json!({"exp": NOW + 900.0})), json!({"max_token_lifetime_secs": 600})),
        ("typ unchecked", tok(json!({}), json!({"typ": "ID"})), json!({"expected_typ": null})),
        ("typ checked", tok(json!({}), json!({"typ": "ID"})), json!({})),
        ("RS256 only", tok(json!({}), json!({})), json!({"algorithms": ["RS256"]})),
        ("required claim", tok(json!({}), json!({})), json!({"required_claims": ["tenant"]})),
        ("unknown issuer", tok(json!({}), json!({"iss": "https://evil.example"})), json!({})),
    ];
    for (name, token, extra) in rows {
        let text = cfg(extra.clone());
        let ex = expectations_from_config(&text, &token).unwrap();
        let r = run(&token, Some(&k1), &ex);
        let mine = r.verdict.client_id.clone().ok_or(r.verdict.reason_code.unwrap_or("none"));
        let mut worker_extra = extra.clone();
        worker_extra["subject_prefix"] = json!("kc:");
        let worker = if name == "unknown issuer" { Err("token.untrusted_issuer") } else { exchange_answer(&token, &k1, &worker_extra) };
        assert_eq!(mine.map_err(|e| e.to_owned()), worker.map_err(str::to_owned), "{name}");
    }
    let unknown = tok(json!({}), json!({"iss": "https://evil.example"}));
    let r = run(&unknown, Some(&k1), &expectations_from_config(&cfg(json!({})), &unknown).unwrap());
    let iss = r.checks.iter().find(|c| c.id == CheckId::Iss).unwrap();
    assert!(
        iss.message.contains("none of the configuration's trusted issuers (https://other.example, https://kc.example/realms/r)"),
        "{}",
        iss.message
    );
    // A configuration that does not load says where, with the configuration's own error.
    let e = expectations_from_config(
        r#"{"issuer": "https://sts.example", "trusted_issuers": [{"issuer": "http://kc", "audiences": ["a"]}]}"#,
        &unknown,
    )
    .unwrap_err();
    assert_eq!(e.field, "trusted_issuers[0].issuer");
}
