//! Adversarial suite (RFC 8725, OWASP JWT cheat sheet, PortSwigger JWT attacks, JWT library
//! advisories), run through the whole exchange (`exchange::exchange`) with the pure-Rust backend
//! and an in-memory issuer. Every case asserts the exact OAuth error and that the answer's
//! description echoes neither the token nor any of its segments.
//! Keys: TEST-ONLY fixtures from cli/tests/fixtures.
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use edge_sts_core::config::{self, Config};
use edge_sts_core::flow::exchange::{exchange, Context};
use edge_sts_core::flow::token_cache::TokenCaches;
use edge_sts_core::io::fetch::{Fetch, FetchError, HttpResponse};
use edge_sts_core::issuer::key_store::{CachePolicy, KeyStore};
use edge_sts_core::jose::pure_crypto::PureCrypto;
use edge_sts_core::jose::signing::{KeyRing, SigningKey};
use edge_sts_core::wire::request::TokenRequest;
use futures_executor::block_on;
use serde_json::{json, Value};

const NOW: f64 = 1_800_000_000.0;
const ISS: &str = "https://kc.test/realms/prod";
const JWKS_URI: &str = "https://kc.test/realms/prod/protocol/openid-connect/certs";

fn fixture(path: &str) -> String {
    std::fs::read_to_string(format!("{}/../cli/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"))).expect("fixture")
}

struct Issuer {
    jwks: String,
}

impl Fetch for Issuer {
    async fn get(&self, url: &str, _max: usize, _t: u64) -> Result<HttpResponse, FetchError> {
        assert_eq!(url, JWKS_URI, "no fetch may go anywhere but the configured jwks_uri");
        Ok(HttpResponse { status: 200, body: self.jwks.clone().into_bytes(), cache_control: None, content_type: None })
    }
    async fn sleep(&self, _ms: u64) {}
}

struct World {
    cfg: Config,
    ring: KeyRing,
    rs: SigningKey,
    es: SigningKey,
    pem_public: String,
}

fn world() -> World {
    let rs = SigningKey::from_jwk_json(&fixture("keys/issuer-rs256.json")).unwrap();
    let es = SigningKey::from_jwk_json(&fixture("keys/issuer-es256.json")).unwrap();
    let cfg = config::load(
        &json!({
            "issuer": "https://sts.test",
            "trusted_issuers": [{"issuer": ISS, "jwks_uri": JWKS_URI, "audiences": ["edge-sts"]}],
            "signing_keys": [{"secret": "K", "status": "active"}],
            "targets": {"orders": {"audience": "https://orders.test", "scopes": ["orders:read"], "default_scopes": ["orders:read"]}},
            "clients": [{"client": "orders-service", "targets": ["orders"], "default_target": "orders"}]
        })
        .to_string(),
    )
    .unwrap();
    let ring = config::build_key_ring(&cfg, |_| Some(fixture("secrets/SIGNING_KEY_ES256_2026_01"))).unwrap();
    // The RSA public key as PEM text, for HMAC confusion with "the public key as secret".
    let n = &rs.public.to_public_jwk()["n"];
    let pem_public = format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n", n.as_str().unwrap());
    World { cfg, ring, rs, es, pem_public }
}

fn jwks(w: &World) -> String {
    json!({"keys": [w.rs.public.to_public_jwk(), w.es.public.to_public_jwk()]}).to_string()
}

fn claims() -> Value {
    json!({"iss": ISS, "aud": ["account", "edge-sts"], "exp": NOW + 300.0, "iat": NOW - 10.0, "typ": "Bearer",
           "azp": "orders-service", "client_id": "orders-service", "preferred_username": "service-account-orders-service",
           "jti": "j", "sub": "5f0c9d3e-service-account"})
}

fn b64(v: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(v)
}

fn sign_raw(key: &SigningKey, header: &str, payload: &str) -> String {
    let input = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
    let sig = PureCrypto.sign_sync(key, input.as_bytes()).unwrap();
    format!("{input}.{}", b64(&sig))
}

fn sign(key: &SigningKey, header: Value, payload: &Value) -> String {
    let mut h = json!({"alg": key.alg().as_str(), "kid": key.kid(), "typ": "JWT"});
    for (k, v) in header.as_object().unwrap() {
        h[k] = v.clone();
    }
    sign_raw(key, &h.to_string(), &payload.to_string())
}

fn hs256(secret: &[u8], header: &str, payload: &str) -> String {
    use hmac::{Hmac, Mac};
    // Forging test tokens only; edge-sts itself never computes an HMAC.
    let input = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
    mac.update(input.as_bytes());
    format!("{input}.{}", b64(&mac.finalize().into_bytes()))
}

/// Runs one exchange against an issuer serving `jwks`: `Ok` or the wire error.
fn run_in(w: &World, jwks: String, token: &str) -> Result<(), edge_sts_core::flow::error::OAuthError> {
    let keys = KeyStore::new(CachePolicy::default());
    let caches = TokenCaches::default();
    let fetch = Issuer { jwks };
    let ctx = Context { config: &w.cfg, keys: &keys, ring: &w.ring, fetch: &fetch, crypto: &PureCrypto, caches: &caches };
    let req = TokenRequest { subject_token: token.to_owned(), targets: vec![], scope: None, requested: Default::default() };
    block_on(exchange(&ctx, &req, NOW, || Ok("jti".into()))).map(|_| ()).map_err(|e| e.to_oauth(30))
}

/// Runs one exchange; returns (status, error code, description) or "ok".
fn run(w: &World, token: &str) -> (u16, &'static str, String) {
    match run_in(w, jwks(w), token) {
        Ok(()) => (200, "ok", String::new()),
        Err(o) => (o.status, o.error, o.description),
    }
}

/// Asserts a refusal with `invalid_request` and this reason code, echoing nothing of the token.
fn refused(w: &World, jwks: String, name: &str, token: &str, reason: &str) {
    let o = run_in(w, jwks, token).err().unwrap_or_else(|| panic!("{name}: accepted"));
    assert_eq!((o.status, o.error, o.reason), (400, "invalid_request", reason), "{name}: {}", o.description);
    for part in token.split('.').filter(|p| p.len() >= 8) {
        assert!(!o.description.contains(part), "{name}: description echoes the token");
    }
}

fn check(w: &World, name: &str, token: &str, want: (u16, &str)) {
    let (status, code, desc) = run(w, token);
    assert_eq!((status, code), want, "{name}: {desc}");
    assert!(desc.len() < 120, "{name}: description too long");
    for part in token.split('.').filter(|p| p.len() >= 8) {
        assert!(!desc.contains(part), "{name}: description echoes the token");
    }
}

const BAD: (u16, &str) = (400, "invalid_request");

#[test]
fn baseline_is_accepted() {
    let w = world();
    check(&w, "RS256", &sign(&w.rs, json!({}), &claims()), (200, "ok"));
    check(&w, "ES256", &sign(&w.es, json!({}), &claims()), (200, "ok"));
}

#[test]
fn alg_none_in_every_spelling() {
    let w = world();
    let p = b64(claims().to_string().as_bytes());
    for alg in ["none", "None", "NONE", "nOnE", "", " none"] {
        let h = b64(json!({"alg": alg, "kid": "kc-rs256"}).to_string().as_bytes());
        check(&w, alg, &format!("{h}.{p}."), BAD);
        check(&w, alg, &format!("{h}.{p}.AAAA"), BAD);
    }
}

#[test]
fn hmac_algorithm_confusion() {
    let w = world();
    let payload = claims().to_string();
    let jwk_text = w.rs.public.to_public_jwk().to_string();
    for alg in ["HS256", "HS384", "HS512"] {
        let header = json!({"alg": alg, "kid": "kc-rs256"}).to_string();
        for secret in [w.pem_public.as_bytes(), jwk_text.as_bytes()] {
            check(&w, alg, &hs256(secret, &header, &payload), BAD);
        }
    }
}

#[test]
fn ecdsa_signature_forgeries() {
    let w = world();
    let good = sign(&w.es, json!({}), &claims());
    let (input, sig) = good.rsplit_once('.').unwrap();
    let raw = URL_SAFE_NO_PAD.decode(sig).unwrap();
    let zero = format!("{input}.{}", b64(&[0u8; 64]));
    check(&w, "r=s=0 (CVE-2022-21449)", &zero, BAD);
    let mut der = vec![0x30, 0x44, 0x02, 0x20];
    der.extend_from_slice(&raw[..32]);
    der.extend_from_slice(&[0x02, 0x20]);
    der.extend_from_slice(&raw[32..]);
    check(&w, "DER instead of raw r||s", &format!("{input}.{}", b64(&der)), BAD);
    check(&w, "short signature", &format!("{input}.{}", b64(&raw[..63])), BAD);
    check(&w, "long signature", &format!("{input}.{}", b64(&[raw.clone(), vec![0]].concat())), BAD);
    let mut high = raw.clone();
    high[63] ^= 1;
    check(&w, "flipped bit", &format!("{input}.{}", b64(&high)), BAD);
}

#[test]
fn weak_rsa_keys_in_the_jwks_never_verify() {
    // e=1 makes "signature == padded hash" a forgery; e=3 and short moduli are classic weak keys.
    // The JWKS parser refuses such keys, so a token naming them has no key at all.
    for (e, n_len) in [(vec![1u8], 256), (vec![3u8], 256), (vec![1u8, 0, 1], 128)] {
        let jwk = json!({"kty": "RSA", "kid": "weak", "alg": "RS256", "e": b64(&e), "n": b64(&vec![0xc5; n_len])});
        let set = edge_sts_core::jose::jwk::KeySet::parse(json!({"keys": [jwk]}).to_string().as_bytes(), Default::default()).unwrap();
        assert!(set.keys.is_empty(), "weak key accepted: e={e:?} n={n_len}");
    }
}

#[test]
fn kid_tricks() {
    let w = world();
    for kid in ["unknown", "../../../../etc/passwd", "' OR '1'='1", "kc-rs256\u{0000}", "kc-rs256 ", "KC-RS256", "https://evil.test/k"] {
        check(&w, kid, &sign(&w.rs, json!({"kid": kid}), &claims()), BAD);
    }
    check(&w, "kid of the other algorithm", &sign(&w.rs, json!({"kid": "kc-es256"}), &claims()), BAD);
}

#[test]
fn header_key_injection_crit_b64_jwe_nested() {
    let w = world();
    let own = w.rs.public.to_public_jwk();
    for h in [
        json!({"jwk": own}),
        json!({"jku": "https://evil.test/jwks"}),
        json!({"x5u": "https://evil.test/c"}),
        json!({"x5c": ["MIIB"]}),
        json!({"crit": ["exp"]}),
        json!({"b64": false, "crit": ["b64"]}),
        json!({"enc": "A256GCM"}),
        json!({"zip": "DEF"}),
        json!({"cty": "JWT"}),
        json!({"typ": "logout+jwt"}),
    ] {
        check(&w, &h.to_string(), &sign(&w.rs, h.clone(), &claims()), BAD);
    }
    check(&w, "JWE (5 segments)", "eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d", BAD);
}

#[test]
fn encoding_and_json_tricks() {
    let w = world();
    let good = sign(&w.rs, json!({}), &claims());
    let parts: Vec<&str> = good.split('.').collect();
    let std_alphabet = format!("{}.{}.{}", STANDARD.encode(URL_SAFE_NO_PAD.decode(parts[0]).unwrap()), parts[1], parts[2]);
    let padded = format!("{}.{}.{}", URL_SAFE.encode(URL_SAFE_NO_PAD.decode(parts[0]).unwrap()), parts[1], parts[2]);
    for (name, t) in [
        ("padding", padded),
        ("standard alphabet / whitespace", std_alphabet.replace('=', "")),
        ("trailing garbage", format!("{good}x")),
        ("trailing dot", format!("{good}.")),
        ("leading space", format!(" {good}")),
        ("two segments", format!("{}.{}", parts[0], parts[1])),
    ] {
        if t != good {
            check(&w, name, &t, BAD);
        }
    }
    // Non-canonical trailing bits in the signature segment.
    let mut s = parts[2].to_owned();
    let last = s.pop().unwrap();
    let alt = if "AQgw".contains(last) { 'B' } else { 'A' };
    check(&w, "non-canonical base64url", &format!("{}.{}.{s}{alt}", parts[0], parts[1]), BAD);
    let dup = r#"{"iss":"https://kc.test/realms/prod","iss":"https://evil.test","aud":"edge-sts","exp":1800000300,"typ":"Bearer","azp":"orders-service"}"#;
    check(&w, "duplicate claim", &sign_raw(&w.rs, r#"{"alg":"RS256","kid":"kc-rs256"}"#, dup), BAD);
    check(&w, "duplicate header alg", &sign_raw(&w.rs, r#"{"alg":"RS256","alg":"none","kid":"kc-rs256"}"#, &claims().to_string()), BAD);
    check(&w, "BOM", &sign_raw(&w.rs, "\u{feff}{\"alg\":\"RS256\",\"kid\":\"kc-rs256\"}", &claims().to_string()), BAD);
    let mut deep = claims();
    deep["x"] = serde_json::from_str(&format!("{}1{}", "[".repeat(40), "]".repeat(40))).unwrap();
    check(&w, "deeply nested", &sign(&w.rs, json!({}), &deep), BAD);
    let mut huge = claims();
    huge["pad"] = json!("a".repeat(20_000));
    check(&w, "huge", &sign(&w.rs, json!({}), &huge), BAD);
}

#[test]
fn time_claims() {
    let w = world();
    let with = |k: &str, v: Value| {
        let mut c = claims();
        c[k] = v;
        sign(&w.rs, json!({}), &c)
    };
    for v in [json!("1800000300"), json!(true), json!(null), json!(-1), json!(1e300), json!(9_007_199_254_740_993u64), json!([1])] {
        check(&w, &format!("exp {v}"), &with("exp", v), BAD);
    }
    check(&w, "fractional exp is valid", &with("exp", json!(NOW + 300.5)), (200, "ok"));
    // Leeway 60 s, exactly at the boundary: now == exp + leeway is expired.
    check(&w, "exp + leeway == now", &with("exp", json!(NOW - 60.0)), BAD);
    check(&w, "nbf == now + leeway", &with("nbf", json!(NOW + 60.0)), (200, "ok"));
    check(&w, "nbf beyond leeway", &with("nbf", json!(NOW + 60.001)), BAD);
}

#[test]
fn issuer_and_audience_look_alikes() {
    let w = world();
    let with = |k: &str, v: Value| {
        let mut c = claims();
        c[k] = v;
        sign(&w.rs, json!({}), &c)
    };
    for iss in [
        "https://kc.test/realms/prod/",
        "https://KC.test/realms/prod",
        "http://kc.test/realms/prod",
        "https://kc.test/realms/Prod",
        "https://kc.test/realms/pr\u{043e}d",
        "https://kc.test/realms/prod\u{200b}",
    ] {
        check(&w, iss, &with("iss", json!(iss)), BAD);
    }
    for aud in [json!("Edge-sts"), json!("edge-sts "), json!(["edge-st\u{0455}"]), json!("account"), json!([]), json!({"aud": "edge-sts"})]
    {
        check(&w, &aud.to_string(), &with("aud", aud.clone()), BAD);
    }
}

#[test]
fn keycloak_id_refresh_and_logout_tokens() {
    let w = world();
    let with = |k: &str, v: Value| {
        let mut c = claims();
        c[k] = v;
        sign(&w.rs, json!({}), &c)
    };
    check(&w, "ID token", &with("typ", json!("ID")), BAD);
    check(&w, "refresh token typ", &with("typ", json!("Refresh")), BAD);
    check(&w, "offline token typ", &with("typ", json!("Offline")), BAD);
    check(&w, "logout token", &sign(&w.rs, json!({"typ": "logout+jwt"}), &claims()), BAD);
    // Keycloak signs refresh tokens with HS512: refused on the algorithm alone.
    check(&w, "HS512 refresh token", &hs256(b"realm-secret", r#"{"alg":"HS512","typ":"JWT","kid":"x"}"#, &claims().to_string()), BAD);
}

/// A user's access token (Keycloak: `azp`, `preferred_username`, `sub`, no
/// `client_id`/`clientId`) is never exchanged for the client's identity.
#[test]
fn user_tokens_are_not_exchanged() {
    let w = world();
    let user = |patch: Value| {
        let mut c = claims();
        c.as_object_mut().unwrap().remove("client_id");
        c["preferred_username"] = json!("alice");
        c["sid"] = json!("9a1c");
        c["scope"] = json!("openid profile email");
        for (k, v) in patch.as_object().unwrap() {
            c[k] = v.clone();
        }
        sign(&w.rs, json!({}), &c)
    };
    let j = || jwks(&w);
    refused(&w, j(), "user token through a listed client", &user(json!({})), "claims.not_service_account");
    refused(
        &w,
        j(),
        "user named like a service account",
        &user(json!({"preferred_username": "service-account-orders-service"})),
        "claims.not_service_account",
    );
    refused(&w, j(), "user token with empty client_id", &user(json!({"client_id": ""})), "claims.not_service_account");
    refused(&w, j(), "client_id names another client than azp", &user(json!({"client_id": "batch-1"})), "claims.client_id_conflict");
    refused(
        &w,
        j(),
        "clientId and client_id disagree",
        &user(json!({"client_id": "orders-service", "clientId": "batch-1"})),
        "claims.client_id_conflict",
    );
    // A client id from a user-attribute or hard-coded-claim mapper does not make a user's token a
    // service account's: its username is the user's and it carries the user's session.
    for (name, patch) in [
        ("user token, clientId from a mapper (pre-26)", json!({"clientId": "orders-service", "session_state": "9a1c"})),
        ("user token, client_id from a mapper", json!({"client_id": "orders-service"})),
        (
            "mapper plus a service-account name",
            json!({"client_id": "orders-service", "preferred_username": "service-account-orders-service"}),
        ),
    ] {
        refused(&w, j(), name, &user(patch), "claims.not_service_account");
    }
    // The pre-26 spelling on a service account's own token.
    let mut sa = claims();
    sa.as_object_mut().unwrap().remove("client_id");
    sa["clientId"] = json!("orders-service");
    assert_eq!(run(&w, &sign(&w.rs, json!({}), &sa)).0, 200);
}

/// A token bound to a key (`cnf`) is never exchanged as a bearer token: a stolen DPoP- or
/// certificate-bound service-account token buys nothing.
#[test]
fn bound_tokens_are_not_laundered() {
    let w = world();
    let bound = |cnf: Value| {
        let mut c = claims();
        c["cnf"] = cnf;
        sign(&w.es, json!({}), &c)
    };
    for (name, cnf) in [
        ("DPoP (RFC 9449)", json!({"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"})),
        ("mutual TLS (RFC 8705)", json!({"x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"})),
        ("a key (RFC 7800)", json!({"kid": "k"})),
        ("empty", json!({})),
        ("null", Value::Null),
    ] {
        refused(&w, jwks(&w), name, &bound(cnf), "claims.sender_constrained");
    }
}

/// `sub` is required; registered claims have their RFC types.
#[test]
fn registered_claims_are_what_the_rfcs_say() {
    let w = world();
    let with = |k: &str, v: Option<Value>| {
        let mut c = claims();
        match v {
            Some(v) => c[k] = v,
            None => {
                c.as_object_mut().unwrap().remove(k);
            }
        }
        sign(&w.rs, json!({}), &c)
    };
    refused(&w, jwks(&w), "no sub", &with("sub", None), "claims.missing");
    refused(&w, jwks(&w), "empty sub", &with("sub", Some(json!(""))), "claims.missing");
    for (k, v) in [
        ("sub", json!(42)),
        ("sub", json!(null)),
        ("jti", json!(7)),
        ("jti", json!({"id": 1})),
        ("typ", json!(["Bearer"])),
        ("azp", json!(1)),
    ] {
        refused(&w, jwks(&w), &format!("{k} = {v}"), &with(k, Some(v.clone())), "claims.type");
    }
}

/// A second RSA public key (TEST-ONLY, never used to sign): the fixture modulus with a low bit
/// flipped.
fn decoy_rsa(w: &World, kid: Option<&str>) -> Value {
    let mut k = w.rs.public.to_public_jwk();
    let mut n = URL_SAFE_NO_PAD.decode(k["n"].as_str().unwrap()).unwrap();
    let last = n.len() - 1;
    n[last] ^= 0x02;
    k["n"] = json!(b64(&n));
    match kid {
        Some(kid) => k["kid"] = json!(kid),
        None => {
            k.as_object_mut().unwrap().remove("kid");
        }
    }
    k
}

/// An ambiguous key set is refused, not searched — even when one of the keys
/// would verify.
#[test]
fn ambiguous_key_sets_are_refused() {
    let w = world();
    let rs = w.rs.public.to_public_jwk();
    let es = w.es.public.to_public_jwk();
    let kid = w.rs.kid().to_owned();
    let token = sign(&w.rs, json!({}), &claims());
    let set = |keys: Vec<Value>| json!({ "keys": keys }).to_string();
    refused(&w, set(vec![decoy_rsa(&w, Some(&kid)), rs.clone()]), "decoy first, same kid", &token, "key.ambiguous");
    refused(&w, set(vec![rs.clone(), decoy_rsa(&w, Some(&kid))]), "decoy second, same kid", &token, "key.ambiguous");
    let no_kid = sign_raw(&w.rs, r#"{"alg":"RS256","typ":"JWT"}"#, &claims().to_string());
    refused(&w, set(vec![rs.clone(), decoy_rsa(&w, Some("other")), es.clone()]), "no kid, two RSA keys", &no_kid, "key.ambiguous");
    // Not ambiguous: one RS256 key (the ES256 key does not fit RS256).
    assert_eq!(run_in(&w, set(vec![rs.clone(), es.clone()]), &no_kid), Ok(()));
    // Keycloak: the RSA-OAEP encryption key shares the signing key's kid. Keeps working.
    let enc = json!({"kty": "RSA", "use": "enc", "alg": "RSA-OAEP", "kid": kid, "e": rs["e"], "n": decoy_rsa(&w, None)["n"]});
    assert_eq!(run_in(&w, set(vec![enc.clone(), rs.clone(), es.clone()]), &token), Ok(()));
    assert_eq!(run_in(&w, set(vec![rs.clone(), enc, es]), &token), Ok(()));
    // The same key twice is one key.
    assert_eq!(run_in(&w, set(vec![rs.clone(), rs]), &token), Ok(()));
}
