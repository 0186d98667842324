//! `cargo bench -p edge-sts-core`: the core's hot path, piece by piece, with the pure-Rust
//! backend. Fixed NOW; keys generated deterministically from fixed seeds (TEST-ONLY).
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use edge_sts_core::config;
use edge_sts_core::issuer::claims::{self, Caller, CallerRules, ClaimRules};
use edge_sts_core::jose::alg::Alg;
use edge_sts_core::jose::b64;
use edge_sts_core::jose::jwk::{JwksLimits, KeySet};
use edge_sts_core::jose::pure_crypto::PureCrypto;
use edge_sts_core::jose::signing::SigningKey;
use edge_sts_core::jose::token::{TokenLimits, UntrustedToken};
use edge_sts_core::policy::mint;
use edge_sts_core::wire::request::TargetRef;
use futures_executor::block_on;
use serde_json::{json, Value};

const NOW: f64 = 1_800_000_000.0;

fn es256_key(kid: &str) -> SigningKey {
    // Fixed TEST-ONLY P-256 key (d = 1..32 as bytes).
    let d: Vec<u8> = (1..=32u8).collect();
    let sk = p256::ecdsa::SigningKey::from_slice(&d).unwrap();
    let pt = sk.verifying_key().to_encoded_point(false);
    let jwk = json!({"kty": "EC", "crv": "P-256", "alg": "ES256", "kid": kid,
        "x": b64::encode(pt.x().unwrap()), "y": b64::encode(pt.y().unwrap()), "d": b64::encode(&d)});
    SigningKey::from_jwk(jwk.as_object().unwrap().clone()).unwrap()
}

fn keycloak_claims() -> Value {
    json!({"iss": "https://kc.example/realms/prod", "aud": ["account", "edge-sts"], "exp": NOW + 300.0, "iat": NOW - 5.0,
        "jti": "5b0d7a0e-6b8e-4e4b-9c57-1f2d3c4b5a69", "sub": "8c3f1d2e-0000-4000-8000-000000000001", "typ": "Bearer",
        "azp": "orders-service", "client_id": "orders-service", "scope": "profile email",
        "realm_access": {"roles": ["offline_access", "uma_authorization", "orders-reader"]},
        "resource_access": {"account": {"roles": ["manage-account", "view-profile"]}},
        "clientHost": "10.0.0.7", "preferred_username": "service-account-orders-service", "tenant_id": "acme"})
}

fn benches(c: &mut Criterion) {
    let key = es256_key("kc-1");
    let body = serde_json::to_vec(&keycloak_claims()).unwrap();
    let header = br#"{"alg":"ES256","typ":"JWT","kid":"kc-1"}"#;
    let input = format!("{}.{}", b64::encode(header), b64::encode(&body));
    let sig = PureCrypto.sign_sync(&key, input.as_bytes()).unwrap();
    let token = format!("{input}.{}", b64::encode(&sig));

    c.bench_function("token_parse", |b| b.iter(|| UntrustedToken::parse(black_box(&token), TokenLimits::default()).unwrap()));

    let parsed = UntrustedToken::parse(&token, TokenLimits::default()).unwrap();
    let rules = ClaimRules {
        issuer: "https://kc.example/realms/prod".into(),
        audiences: vec!["edge-sts".into()],
        leeway_secs: 60,
        max_lifetime_secs: 3600,
        expected_typ: Some("Bearer".into()),
        required_claims: vec![],
    };
    let caller_rules = CallerRules::default();
    c.bench_function("claims_validate", |b| {
        b.iter(|| claims::validate_token(black_box(&parsed.claims), &rules, &caller_rules, NOW).unwrap())
    });

    let jwks = json!({"keys": (0..8).map(|i| { let mut j = key.public.to_public_jwk(); j["kid"] = json!(format!("kc-{i}")); j }).collect::<Vec<_>>()});
    let jwks_bytes = serde_json::to_vec(&jwks).unwrap();
    c.bench_function("jwks_parse_8_keys", |b| b.iter(|| KeySet::parse(black_box(&jwks_bytes), JwksLimits::default()).unwrap()));
    let set = KeySet::parse(&jwks_bytes, JwksLimits::default()).unwrap();
    c.bench_function("key_select", |b| b.iter(|| set.select_one(black_box(Some("kc-7")), Alg::ES256).unwrap()));

    let cfg = config::load(&json!({
        "issuer": "https://sts.example", "trusted_issuers": [{"issuer": "https://kc.example/realms/prod", "audiences": ["edge-sts"]}],
        "signing_keys": [{"secret": "K", "status": "active"}],
        "targets": {"orders": {"audience": "https://orders.example", "scopes": ["orders:read", "orders:write"], "default_scopes": ["orders:read"],
                    "copy_claims": {"tenant_id": "tenant_id", "realm_access.roles": "roles"}}},
        "clients": (0..50).map(|i| json!({"client": format!("svc-{i}"), "targets": ["orders"]})).chain([json!({"client": "orders-*", "targets": ["orders"], "default_target": "orders"})]).collect::<Vec<_>>(),
    }).to_string()).unwrap();
    let caller = Caller { client_id: "orders-service".into(), issuer: rules.issuer.clone(), exp: NOW + 300.0 };
    let targets = vec![TargetRef::Name("orders".into())];
    c.bench_function("policy_authorize_51_rules_glob", |b| {
        b.iter(|| cfg.policy.authorize(black_box(&caller), &targets, Some("orders:read")).unwrap())
    });

    let grant = cfg.policy.authorize(&caller, &targets, None).unwrap();
    c.bench_function("mint_claims", |b| {
        b.iter(|| mint::claims("https://sts.example", "", &caller, &grant, &parsed.claims, NOW as u64, 300, "jti").unwrap())
    });
    let claims = mint::claims("https://sts.example", "", &caller, &grant, &parsed.claims, NOW as u64, 300, "jti").unwrap();
    c.bench_function("mint_sign_es256_pure", |b| b.iter(|| block_on(mint::sign(&PureCrypto, &key, black_box(&claims))).unwrap()));
    c.bench_function("verify_es256_pure", |b| b.iter(|| PureCrypto.verify_sync(&key.public, input.as_bytes(), black_box(&sig)).unwrap()));
}

criterion_group!(core_benches, benches);
criterion_main!(core_benches);
