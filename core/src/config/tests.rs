//! The configuration's own table tests: every way `load` + `resolve_secrets` refuse a
//! configuration, each a patch to one valid base, with the exact field, problem and fix. The
//! Worker (503 + `/healthz`) and `edge-sts check` print these same errors.
use super::*;
use crate::jose::alg::Alg;
use serde_json::{json, Value};

const BASE: &str = r#"{"issuer": "https://sts.test", "trusted_issuers": [{"issuer": "https://kc.test/realms/demo", "audiences": ["edge-sts"]}], "signing_keys": [{"secret": "SIGNING_KEY_ES256_2026_01", "status": "active"}], "targets": {"orders": {"audience": "https://orders.test", "scopes": ["orders:read"], "default_scopes": ["orders:read"]}}, "clients": [{"client": "orders-service", "targets": ["orders"], "default_target": "orders"}]}"#;

/// `(JSON pointer, new value)`; `None` removes the member.
type Patch<'a> = &'a [(&'a str, Option<Value>)];

fn patched(patch: Patch<'_>) -> Value {
    let mut v: Value = serde_json::from_str(BASE).unwrap();
    for (pointer, value) in patch {
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        let obj = v.pointer_mut(parent).and_then(Value::as_object_mut).unwrap_or_else(|| panic!("no object at {parent}"));
        match value {
            Some(x) => obj.insert(key.to_owned(), x.clone()),
            None => obj.remove(key),
        };
    }
    v
}

/// TEST-ONLY signing keys (cli/tests/fixtures/secrets), plus an explain secret or two.
fn secret(name: &str) -> Option<String> {
    match name {
        "EXPLAIN_KEY" => Some("a-long-random-explain-key".into()),
        "EXPLAIN_KEY_SHORT" => Some("fifteen-chars!!".into()),
        _ if name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
            std::fs::read_to_string(format!("{}/../cli/tests/fixtures/secrets/{name}", env!("CARGO_MANIFEST_DIR"))).ok()
        }
        _ => None,
    }
}

/// What the Worker does at start-up (and `edge-sts check --secrets-dir`).
fn load_all(v: &Value) -> Result<(Config, crate::jose::signing::KeyRing), ConfigError> {
    let cfg = load(&v.to_string())?;
    let ring = resolve_secrets(&cfg, secret)?;
    Ok((cfg, ring))
}

#[test]
fn the_base_configuration_is_valid() {
    let (cfg, ring) = load_all(&patched(&[])).unwrap();
    assert!(!cfg.dev);
    assert_eq!(ring.active.len(), 1);
    assert_eq!(cfg.policy.targets["orders"].lifetime_secs, DEFAULT_LIFETIME_SECS);
}

/// What loading `v` fails with: `case` (field, problem, fix); without the `clouds` feature, a
/// configuration with a cloud block fails on that block instead, whatever else it says (the
/// first target by name with one, as `load` reads them).
fn expected(v: &Value, case: (&str, &str, &str)) -> (String, String, String) {
    #[cfg(not(feature = "clouds"))]
    if let Some(field) = cloud_block(v) {
        return (field, WITHOUT_CLOUDS_PROBLEM.into(), WITHOUT_CLOUDS_FIX.into());
    }
    let _ = v;
    (case.0.into(), case.1.into(), case.2.into())
}

/// `targets.<name>.<block>` of the first cloud block of `v`'s targets, by target name.
#[cfg(not(feature = "clouds"))]
fn cloud_block(v: &Value) -> Option<String> {
    let mut names: Vec<&String> = v["targets"].as_object()?.keys().collect();
    names.sort();
    names.into_iter().find_map(|name| {
        let block = ["aws", "gcp", "azure"].into_iter().find(|b| v["targets"][name].get(b).is_some())?;
        Some(format!("targets.{name}.{block}"))
    })
}

#[cfg(not(feature = "clouds"))]
#[test]
fn without_the_clouds_feature_a_cloud_block_does_not_load() {
    let blocks = [
        ("aws", json!({"role_arn": "arn:aws:iam::123456789012:role/edge-sts-orders"})),
        ("gcp", json!({"workload_identity_provider": "projects/123/locations/global/workloadIdentityPools/pool/providers/prov"})),
        (
            "azure",
            json!({"tenant": "11111111-2222-3333-4444-555555555555", "client_id": "66666666-7777-8888-9999-000000000000", "resource": "https://management.azure.com"}),
        ),
    ];
    for (block, value) in blocks {
        // A block the default build accepts, and one it would refuse: both are refused by name.
        for value in [value, json!({"not": "a cloud block"})] {
            let target = json!({"audience": "https://cloud.test", "scopes": [], "signing_alg": "RS256", block: value});
            let e = load(&patched(&[("/targets/cloud", Some(target))]).to_string()).expect_err(block);
            assert_eq!(e.field, format!("targets.cloud.{block}"));
            assert!(e.problem.contains("without the `clouds` feature"), "{e}");
            assert!(e.fix.contains("default features (`scripts/build.sh`)") && e.fix.contains("remove the cloud block"), "{e}");
        }
    }
    // Without a cloud block the same build loads, and mints for its downstream targets.
    let (cfg, _) = load_all(&patched(&[])).unwrap();
    assert!(cfg.policy.targets.values().all(|t| t.cloud.is_none()));
}

const CLOUD_CLAIMS_FIX: &str =
    "use another claim name (a cloud target writes none of azp, amr, https://aws.amazon.com/tags, https://aws.amazon.com/source_identity)";
const SECRET_NAME_PROBLEM: &str = "not a secret name (`A`-`Z`, `0`-`9` and `_`, starting with a letter, at most 64; not a value)";
const SECRET_NAME_FIX: &str =
    "name the Worker secret that holds the value, e.g. SIGNING_KEY_1 (`npx wrangler secret put SIGNING_KEY_1`), never the value itself";
const SECRET_NOT_SET: &str = "the Worker secret this names is not set";
const SECRET_NOT_SET_FIX: &str = "put the private JWK into the secret of that name: `npx wrangler secret put <name> < key.json`";
const EXPLAIN_NOT_SET: &str = "the Worker secret this names is not set or shorter than 16 characters";
const EXPLAIN_NOT_SET_FIX: &str =
    "put a long random value into the secret of that name (`npx wrangler secret put <name>`), or remove explain_secret";
const AWS_MIXED_FIX: &str = "give `orders-file` an audience of its own (another client id of the IAM OIDC provider) and condition `aws-orders`'s role trust policy on `<issuer host>:aud`, or grant this client only one of the two";
const ENTRA_MIXED_FIX: &str = "Entra tells one client's assertions apart by subject only: grant this client brokered or assertion-mode Entra targets, not both (another client id for the other)";
const GCP_POOL: &str = "projects/123/locations/global/workloadIdentityPools/pool";

#[test]
fn bad_configurations() {
    #[rustfmt::skip]
    let cases: &[(&str, Patch<'_>, &str, &str, &str)] = &[
    ("client-default-target-not-allowed", &[("/clients", Some(json!([{"client": "orders-service", "targets": ["orders"], "default_target": "billing"}]))), ("/targets/billing", Some(json!({"audience": "https://billing.test", "scopes": []})))], "clients[0].default_target", "default target is not in the client's targets", "add it to `targets`"),
    ("client-matches-everyone", &[("/clients", Some(json!([{"client": "*", "targets": ["orders"], "default_target": "orders"}])))], "clients[0].client", "matches every client", "name the client id, or a narrower glob such as \"batch-*\""),
    ("client-unknown-target", &[("/clients", Some(json!([{"client": "orders-service", "targets": ["orders", "shipping"], "default_target": "orders"}])))], "clients[0].targets", "unknown target `shipping`", "define it under `targets`"),
    ("client-untrusted-issuer", &[("/clients", Some(json!([{"client": "orders-service", "targets": ["orders"], "default_target": "orders", "issuer": "https://kc.test/realms/other"}])))], "clients[0].issuer", "not a trusted issuer", "use an issuer from trusted_issuers"),
    ("document-unknown-field", &[("/trusted_issuer", Some(json!([{"issuer": "https://kc.test/realms/demo", "audiences": ["edge-sts"]}]))), ("/trusted_issuers", None)], "trusted_issuer", "unknown field `trusted_issuer`, expected one of `mode`, `issuer`, `log_requests`, `explain_secret`, `limits`, `jwks_cache`, `trusted_issuers`, `signing_keys`, `targets`, `clients`", SCHEMA_FIX),
    ("document-wrong-type", &[("/targets/orders/lifetime_secs", Some(json!("300")))], "targets.orders.lifetime_secs", "invalid type: string \"300\", expected u64", SCHEMA_FIX),
    ("explain-secret-not-a-name", &[("/explain_secret", Some(json!("correct horse battery staple")))], "explain_secret", SECRET_NAME_PROBLEM, SECRET_NAME_FIX),
    ("issuer-loopback-in-production", &[("/issuer", Some(json!("http://127.0.0.1:8787")))], "issuer", "http on loopback is allowed only in dev mode", "use an https URL, or set \"mode\": \"dev\" for local development only"),
    ("issuer-not-https", &[("/issuer", Some(json!("http://sts.test")))], "issuer", "`http://sts.test` is not an https URL", "use https://..."),
    ("issuer-query", &[("/issuer", Some(json!("https://sts.test/tenant-a?x=1")))], "issuer", "an issuer has no query or fragment", "give a plain URL, e.g. https://sts.example.com or https://sts.example.com/tenant-a (percent-encode other characters); every route is served under its path"),
    ("issuer-path-dot-segment", &[("/issuer", Some(json!("https://sts.test/a/../tenant-a")))], "issuer", "the path has an empty, `.` or `..` segment", "give a plain URL, e.g. https://sts.example.com or https://sts.example.com/tenant-a (percent-encode other characters); every route is served under its path"),
    ("issuer-path-space", &[("/issuer", Some(json!("https://sts.test/tenant a")))], "issuer", "the path has a character that must be percent-encoded", "give a plain URL, e.g. https://sts.example.com or https://sts.example.com/tenant-a (percent-encode other characters); every route is served under its path"),
    ("jwks-cache-floor-above-ceiling", &[("/jwks_cache", Some(json!({"min_max_age_secs": 600, "max_max_age_secs": 300})))], "jwks_cache.min_max_age_secs", "floor is above the ceiling", "make min_max_age_secs <= max_max_age_secs"),
    ("jwks-cache-timeout-zero", &[("/jwks_cache", Some(json!({"fetch_timeout_ms": 0})))], "jwks_cache.fetch_timeout_ms", "out of range", "use 1..=30000 (default 5000)"),
    ("limits-too-small", &[("/limits", Some(json!({"max_token_bytes": 100})))], "limits", "limits too small to accept any token", "keep max_json_depth >= 2, max_token_bytes >= 256, max_body_bytes >= max_token_bytes"),
    ("mode-unknown", &[("/mode", Some(json!("staging")))], "mode", "unknown mode `staging`", "use \"production\" (default) or \"dev\""),
    ("ring-duplicate-kid", &[("/signing_keys", Some(json!([{"secret": "SIGNING_KEY_ES256_2026_01", "status": "active"}, {"secret": "SIGNING_KEY_ES256_2026_01", "status": "next"}])))], "signing_keys", "two keys share a kid", "give every key its own kid"),
    ("ring-no-active-key-for-target", &[("/targets/orders/signing_alg", Some(json!("ES384")))], "targets.orders.signing_alg", "no active ES384 signing key", "add an active key of that algorithm to signing_keys"),
    ("ring-secret-not-a-private-key", &[("/signing_keys", Some(json!([{"secret": "BROKEN_PUBLIC_ONLY", "status": "active"}])))], "signing_keys[0]", "signing key has no private part `d`", "use a private JWK with kty, alg, kid and d"),
    ("ring-secret-not-set", &[("/signing_keys", Some(json!([{"secret": "SIGNING_KEY_ES256_2026_01", "status": "active"}, {"secret": "SIGNING_KEY_ES256_2027_01", "status": "next"}])))], "signing_keys[1].secret", SECRET_NOT_SET, SECRET_NOT_SET_FIX),
    ("ring-two-active-same-alg", &[("/signing_keys", Some(json!([{"secret": "SIGNING_KEY_ES256_2026_01", "status": "active"}, {"secret": "SIGNING_KEY_ES256_2026_04", "status": "active"}])))], "signing_keys[1]", "a second active ES256 key", "mark one of them `next` or `retired`"),
    ("signing-key-active-public-only", &[("/signing_keys", Some(json!([{"status": "active", "public_jwk": {"kty": "EC", "crv": "P-256", "x": "x", "y": "y"}}])))], "signing_keys[0].secret", "a key needs either `secret` (active/next/retired) or `public_jwk` (next/retired)", "name the Worker secret holding the private JWK"),
    ("signing-key-public-jwk-private", &[("/signing_keys", Some(json!([{"secret": "SIGNING_KEY_ES256_2026_01", "status": "active"}, {"status": "retired", "public_jwk": {"kty": "EC", "crv": "P-256", "x": "x", "y": "y", "d": "private"}}])))], "signing_keys[1].public_jwk", "holds private key material", "keep the private JWK in a Worker secret named by `secret`; publish only its public members here"),
    ("signing-key-secret-not-a-name", &[("/signing_keys", Some(json!([{"secret": "{\"kty\":\"EC\",\"d\":\"private\"}", "status": "active"}])))], "signing_keys[0].secret", SECRET_NAME_PROBLEM, SECRET_NAME_FIX),
    ("signing-key-secret-hex-value", &[("/signing_keys", Some(json!([{"secret": "3f9a0c7d1e2b4a6f8c0d2e4f6a8b0c1d3e5f7a9b1c3d5e7f9a0b2c4d6e8f0a1b", "status": "active"}])))], "signing_keys[0].secret", SECRET_NAME_PROBLEM, SECRET_NAME_FIX),
    ("explain-secret-base64url-value", &[("/explain_secret", Some(json!("q2V9kT7xLw0bZ4nR8sYc1uJ5mA3hD6fG9pE2iK_oW-M")))], "explain_secret", SECRET_NAME_PROBLEM, SECRET_NAME_FIX),
    ("explain-secret-uppercase-hex-value", &[("/explain_secret", Some(json!("3F9A0C7D1E2B4A6F8C0D2E4F6A8B0C1D")))], "explain_secret", SECRET_NAME_PROBLEM, SECRET_NAME_FIX),
    ("explain-secret-letters-only-hex-value", &[("/explain_secret", Some(json!("DEADBEEFCAFEBABEFACEFEEDBADC0FFE")))], "explain_secret", SECRET_NAME_PROBLEM, SECRET_NAME_FIX),
    ("explain-secret-lowercase-name", &[("/explain_secret", Some(json!("explain_key")))], "explain_secret", SECRET_NAME_PROBLEM, SECRET_NAME_FIX),
    ("signing-key-unknown-status", &[("/signing_keys", Some(json!([{"secret": "SIGNING_KEY_ES256_2026_01", "status": "primary"}])))], "signing_keys[0].status", "unknown status", "use active, next or retired"),
    ("signing-keys-missing", &[("/signing_keys", None)], "signing_keys", "no signing key", "generate one (`edge-sts keys generate`), `wrangler secret put SIGNING_KEY_1`, and reference it here"),
    ("target-copy-into-protected-claim", &[("/targets/orders/copy_claims", Some(json!({"preferred_username": "sub"})))], "targets.orders.copy_claims", "`sub` is a protected claim", "use another claim name"),
    ("target-default-scope-not-allowed", &[("/targets/orders/default_scopes", Some(json!(["orders:write"])))], "targets.orders.default_scopes", "`orders:write` is not in scopes", "default scopes must be a subset of scopes"),
    ("target-empty-audience", &[("/targets/orders/audience", Some(json!("")))], "targets.orders.audience", "empty audience", "set the URI the downstream API expects in `aud`"),
    ("target-lifetime-too-long", &[("/targets/orders/lifetime_secs", Some(json!(86400)))], "targets.orders.lifetime_secs", "out of range", "use 1..=43200 (default 300)"),
    ("target-signing-alg-unsupported", &[("/targets/orders/signing_alg", Some(json!("ES512")))], "targets.orders.signing_alg", "`ES512` is not supported", "use ES256 (default), ES384, RS256/384/512, PS256/384/512 or EdDSA"),
    ("target-static-protected-claim", &[("/targets/orders/static_claims", Some(json!({"iss": "https://evil.test"})))], "targets.orders.static_claims", "`iss` is a protected claim", "use another claim name"),
    ("targets-same-audience", &[("/targets/orders2", Some(json!({"audience": "https://orders.test", "scopes": []})))], "targets.orders2.audience", "same audience as target `orders`", "give each downstream target its own audience URI, used by no other target (cloud targets may share one among themselves)"),
    ("trusted-issuer-hmac-algorithm", &[("/trusted_issuers", Some(json!([{"issuer": "https://kc.test/realms/demo", "audiences": ["edge-sts"], "algorithms": ["RS256", "HS256"]}])))], "trusted_issuers[0].algorithms", "`HS256` is not accepted", "use RS256/384/512, PS256/384/512, ES256, ES384 or EdDSA"),
    ("trusted-issuer-jwks-uri-http", &[("/trusted_issuers", Some(json!([{"issuer": "https://kc.test/realms/demo", "audiences": ["edge-sts"], "jwks_uri": "http://kc.test/certs"}])))], "trusted_issuers[0].jwks_uri", "`http://kc.test/certs` is not an https URL", "use https://..."),
    ("trusted-issuer-leeway-too-large", &[("/trusted_issuers", Some(json!([{"issuer": "https://kc.test/realms/demo", "audiences": ["edge-sts"], "leeway_secs": 600}])))], "trusted_issuers[0].leeway_secs", "leeway above 300 s", "keep clock leeway small (default 60)"),
    ("trusted-issuer-no-audience", &[("/trusted_issuers", Some(json!([{"issuer": "https://kc.test/realms/demo", "audiences": []}])))], "trusted_issuers[0].audiences", "no expected audience", "list the audience your Keycloak Audience mapper adds (e.g. \"edge-sts\")"),
    ("trusted-issuer-twice", &[("/trusted_issuers", Some(json!([{"issuer": "https://kc.test/realms/demo", "audiences": ["edge-sts"]}, {"issuer": "https://kc.test/realms/demo", "audiences": ["edge-sts"]}])))], "trusted_issuers[1].issuer", "issuer listed twice", "merge the two entries"),
    ("realms-default-prefixes", &[("/trusted_issuers", Some(json!([{"issuer": "https://kc.test/realms/demo", "audiences": ["edge-sts"]}, {"issuer": "https://kc.test/realms/partners", "audiences": ["edge-sts"]}]))), ("/clients", Some(json!([{"client": "orders-service", "issuer": "https://kc.test/realms/demo", "targets": ["orders"], "default_target": "orders"}])))], "trusted_issuers[0].subject_prefix", "empty subject_prefix while more than one issuer is trusted", "give every trusted issuer its own subject_prefix, none the start of another (e.g. \"kc-prod:\" and \"kc-partners:\"); it prefixes `sub` and the minted `client_id`"),
    ("realms-one-prefix-empty", &[("/trusted_issuers", Some(json!([{"issuer": "https://kc.test/realms/demo", "audiences": ["edge-sts"], "subject_prefix": "demo:"}, {"issuer": "https://kc.test/realms/partners", "audiences": ["edge-sts"]}]))), ("/clients", Some(json!([{"client": "orders-service", "issuer": "https://kc.test/realms/demo", "targets": ["orders"], "default_target": "orders"}])))], "trusted_issuers[1].subject_prefix", "empty subject_prefix while more than one issuer is trusted", "give every trusted issuer its own subject_prefix, none the start of another (e.g. \"kc-prod:\" and \"kc-partners:\"); it prefixes `sub` and the minted `client_id`"),
    ("realms-one-prefix-explicitly-empty", &[("/trusted_issuers", Some(json!([{"issuer": "https://kc.test/realms/demo", "audiences": ["edge-sts"]}, {"issuer": "https://kc.test/realms/partners", "audiences": ["edge-sts"], "subject_prefix": "partners:"}]))), ("/clients", Some(json!([{"client": "orders-service", "issuer": "https://kc.test/realms/demo", "targets": ["orders"], "default_target": "orders"}])))], "trusted_issuers[0].subject_prefix", "empty subject_prefix while more than one issuer is trusted", "give every trusted issuer its own subject_prefix, none the start of another (e.g. \"kc-prod:\" and \"kc-partners:\"); it prefixes `sub` and the minted `client_id`"),
    ("realms-same-prefix", &[("/trusted_issuers", Some(json!([{"issuer": "https://kc.test/realms/demo", "audiences": ["edge-sts"], "subject_prefix": "kc:"}, {"issuer": "https://kc.test/realms/partners", "audiences": ["edge-sts"], "subject_prefix": "kc:"}]))), ("/clients", Some(json!([{"client": "orders-service", "issuer": "https://kc.test/realms/demo", "targets": ["orders"], "default_target": "orders"}])))], "trusted_issuers[1].subject_prefix", "`kc:` is the same as trusted_issuers[0].subject_prefix `kc:`", "give every trusted issuer its own subject_prefix, none the start of another (e.g. \"kc-prod:\" and \"kc-partners:\"); it prefixes `sub` and the minted `client_id`"),
    ("realms-prefix-starts-another", &[("/trusted_issuers", Some(json!([{"issuer": "https://kc.test/realms/demo", "audiences": ["edge-sts"], "subject_prefix": "kc:"}, {"issuer": "https://kc.test/realms/partners", "audiences": ["edge-sts"], "subject_prefix": "kc:p:"}]))), ("/clients", Some(json!([{"client": "orders-service", "issuer": "https://kc.test/realms/demo", "targets": ["orders"], "default_target": "orders"}])))], "trusted_issuers[1].subject_prefix", "`kc:p:` overlaps (one starts the other) trusted_issuers[0].subject_prefix `kc:`", "give every trusted issuer its own subject_prefix, none the start of another (e.g. \"kc-prod:\" and \"kc-partners:\"); it prefixes `sub` and the minted `client_id`"),
    ("realms-prefix-started-by-another", &[("/trusted_issuers", Some(json!([{"issuer": "https://kc.test/realms/demo", "audiences": ["edge-sts"], "subject_prefix": "kc-partners"}, {"issuer": "https://kc.test/realms/partners", "audiences": ["edge-sts"], "subject_prefix": "kc-"}]))), ("/clients", Some(json!([{"client": "orders-service", "issuer": "https://kc.test/realms/demo", "targets": ["orders"], "default_target": "orders"}])))], "trusted_issuers[1].subject_prefix", "`kc-` overlaps (one starts the other) trusted_issuers[0].subject_prefix `kc-partners`", "give every trusted issuer its own subject_prefix, none the start of another (e.g. \"kc-prod:\" and \"kc-partners:\"); it prefixes `sub` and the minted `client_id`"),
    ("realms-client-rule-without-issuer", &[("/trusted_issuers", Some(json!([{"issuer": "https://kc.test/realms/demo", "audiences": ["edge-sts"], "subject_prefix": "demo:"}, {"issuer": "https://kc.test/realms/partners", "audiences": ["edge-sts"], "subject_prefix": "partners:"}]))), ("/clients", Some(json!([{"client": "orders-service", "issuer": "https://kc.test/realms/demo", "targets": ["orders"]}, {"client": "batch-*", "targets": ["orders"]}])))], "clients[1].issuer", "no issuer, and more than one issuer is trusted", "name the trusted issuer whose client this rule is for (one rule per issuer)"),
    ("trusted-issuers-empty", &[("/trusted_issuers", Some(json!([])))], "trusted_issuers", "no trusted issuer", "add your Keycloak realm URL, e.g. https://kc.example.com/realms/prod"),
        // A second key's secret unset, explain_secret, cloud lints.
        ("secret-not-set", &[("/signing_keys", Some(json!([{"secret": "SIGNING_KEY_ES256_2026_01", "status": "active"}, {"secret": "SIGNING_KEY_RS256", "status": "active"}])))], "signing_keys[1].secret", SECRET_NOT_SET, SECRET_NOT_SET_FIX),
        ("explain-secret-not-set", &[("/explain_secret", Some(json!("NOT_SET")))], "explain_secret", EXPLAIN_NOT_SET, EXPLAIN_NOT_SET_FIX),
        ("explain-secret-too-short", &[("/explain_secret", Some(json!("EXPLAIN_KEY_SHORT")))], "explain_secret", EXPLAIN_NOT_SET, EXPLAIN_NOT_SET_FIX),
        ("entra-es256", &[("/targets/entra", Some(json!({"audience": "api://AzureADTokenExchange", "scopes": [], "signing_alg": "ES256", "azure": {"tenant": "11111111-2222-3333-4444-555555555555", "client_id": "66666666-7777-8888-9999-000000000000", "resource": "https://management.azure.com"}})))], "targets.entra.signing_alg", "Entra ID accepts only RS256 client assertions (ES256 fails with AADSTS5002738)", "set signing_alg to RS256"),
        ("entra-wrong-assertion-audience", &[("/targets/entra", Some(json!({"audience": "https://wrong", "scopes": [], "signing_alg": "RS256", "azure": {"tenant": "11111111-2222-3333-4444-555555555555", "client_id": "66666666-7777-8888-9999-000000000000", "resource": "https://management.azure.com"}})))], "targets.entra.cloud.audience", "Entra accepts federated assertions only for its token-exchange audience", "set the target's audience to api://AzureADTokenExchange"),
        ("aws-eddsa", &[("/targets/aws-orders", Some(json!({"audience": "sts.amazonaws.com", "scopes": [], "signing_alg": "EdDSA", "aws": {"role_arn": "arn:aws:iam::123456789012:role/edge-sts-orders"}})))], "targets.aws-orders.signing_alg", "AWS STS accepts only RSA (RS256/384/512) or ECDSA (ES256/384) web identity tokens, never EdDSA", "set signing_alg to RS256 or ES256"),
        // What a cloud sees. RoleSessionName in "client_id" mode (the default)...
        ("aws-session-name-unknown", &[("/targets/aws-orders", Some(json!({"audience": "sts.amazonaws.com", "scopes": [], "aws": {"role_arn": "arn:aws:iam::123456789012:role/edge-sts-orders", "session_name": "client"}})))], "targets.aws-orders.aws.session_name", "unknown value `client`", "use \"client_id\" (default) or \"hashed\""),
        ("aws-client-id-glob", &[("/targets/aws-orders", Some(json!({"audience": "sts.amazonaws.com", "scopes": [], "aws": {"role_arn": "arn:aws:iam::123456789012:role/edge-sts-orders"}}))), ("/clients", Some(json!([{"client": "orders-service", "targets": ["orders"]}, {"client": "batch-*", "targets": ["orders", "aws-orders"]}])))], "clients[1].client", "a glob may match client ids that cannot be an AWS RoleSessionName (target `aws-orders`)", "use exact client ids of 2 to 64 characters from [A-Za-z0-9_+=,.@-], or set `targets.aws-orders.aws.session_name` to \"hashed\""),
        ("aws-client-id-not-a-session-name", &[("/targets/aws-orders", Some(json!({"audience": "sts.amazonaws.com", "scopes": [], "aws": {"role_arn": "arn:aws:iam::123456789012:role/edge-sts-orders", "session_name": "client_id"}}))), ("/clients", Some(json!([{"client": "batch/nightly", "targets": ["aws-orders"]}])))], "clients[0].client", "the client id cannot be an AWS RoleSessionName as it is (target `aws-orders`)", "use exact client ids of 2 to 64 characters from [A-Za-z0-9_+=,.@-], or set `targets.aws-orders.aws.session_name` to \"hashed\""),
        ("aws-client-id-too-long", &[("/targets/aws-orders", Some(json!({"audience": "sts.amazonaws.com", "scopes": [], "aws": {"role_arn": "arn:aws:iam::123456789012:role/edge-sts-orders"}}))), ("/clients", Some(json!([{"client": "orders-service", "targets": ["orders"]}, {"client": "a".repeat(65), "targets": ["aws-orders"]}])))], "clients[1].client", "the client id cannot be an AWS RoleSessionName as it is (target `aws-orders`)", "use exact client ids of 2 to 64 characters from [A-Za-z0-9_+=,.@-], or set `targets.aws-orders.aws.session_name` to \"hashed\""),
        ("aws-client-id-two-issuers", &[("/trusted_issuers", Some(json!([{"issuer": "https://kc.test/realms/demo", "audiences": ["edge-sts"], "subject_prefix": "demo:"}, {"issuer": "https://kc.test/realms/partners", "audiences": ["edge-sts"], "subject_prefix": "partners:"}]))), ("/targets/aws-orders", Some(json!({"audience": "sts.amazonaws.com", "scopes": [], "aws": {"role_arn": "arn:aws:iam::123456789012:role/edge-sts-orders"}}))), ("/clients", Some(json!([{"client": "orders-service", "issuer": "https://kc.test/realms/demo", "targets": ["aws-orders"]}])))], "targets.aws-orders.aws.session_name", "with more than one trusted issuer the session name must carry the realm, and a client id alone does not", "set it to \"hashed\""),
        // ...and claims a cloud reads to decide trust, on every cloud target.
        ("aws-copy-into-azp", &[("/targets/aws-orders", Some(json!({"audience": "sts.amazonaws.com", "scopes": [], "copy_claims": {"azp": "azp"}, "aws": {"role_arn": "arn:aws:iam::123456789012:role/edge-sts-orders"}})))], "targets.aws-orders.copy_claims", "`azp` is a claim a cloud reads to decide trust", CLOUD_CLAIMS_FIX),
        ("aws-static-session-tags", &[("/targets/aws-orders", Some(json!({"audience": "sts.amazonaws.com", "scopes": [], "static_claims": {"https://aws.amazon.com/tags": {"principal_tags": {"team": ["orders"]}}}, "aws": {"role_arn": "arn:aws:iam::123456789012:role/edge-sts-orders"}})))], "targets.aws-orders.static_claims", "`https://aws.amazon.com/tags` is a claim a cloud reads to decide trust", CLOUD_CLAIMS_FIX),
        ("gcp-static-amr", &[("/targets/gcp", Some(json!({"audience": "https://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/pool/providers/prov", "scopes": [], "static_claims": {"amr": ["pwd"]}, "gcp": {"workload_identity_provider": "projects/123/locations/global/workloadIdentityPools/pool/providers/prov"}})))], "targets.gcp.static_claims", "`amr` is a claim a cloud reads to decide trust", CLOUD_CLAIMS_FIX),
        ("entra-copy-into-source-identity", &[("/targets/entra", Some(json!({"audience": "api://AzureADTokenExchange", "scopes": [], "signing_alg": "RS256", "copy_claims": {"preferred_username": "https://aws.amazon.com/source_identity"}, "azure": {"tenant": "11111111-2222-3333-4444-555555555555", "client_id": "66666666-7777-8888-9999-000000000000", "resource": "https://management.azure.com"}})))], "targets.entra.copy_claims", "`https://aws.amazon.com/source_identity` is a claim a cloud reads to decide trust", CLOUD_CLAIMS_FIX),
        // Cloud modes and cloud targets sharing an audience.
        ("cloud-mode-unknown", &[("/targets/aws-orders", Some(json!({"audience": "sts.amazonaws.com", "scopes": [], "aws": {"role_arn": "arn:aws:iam::123456789012:role/edge-sts-orders", "mode": "direct"}})))], "targets.aws-orders.aws.mode", "unknown mode `direct`", "use \"brokered\" (default) or \"assertion\""),
        ("assertion-lifetime-when-brokered", &[("/targets/entra", Some(json!({"audience": "api://AzureADTokenExchange", "scopes": [], "signing_alg": "RS256", "azure": {"tenant": "11111111-2222-3333-4444-555555555555", "client_id": "66666666-7777-8888-9999-000000000000", "resource": "https://graph.microsoft.com", "assertion_lifetime_secs": 1800}})))], "targets.entra.azure.assertion_lifetime_secs", "only an assertion-mode target hands out its assertion", "remove it, or set `mode` to \"assertion\""),
        ("assertion-lifetime-too-long", &[("/targets/entra", Some(json!({"audience": "api://AzureADTokenExchange", "scopes": [], "signing_alg": "RS256", "azure": {"tenant": "11111111-2222-3333-4444-555555555555", "client_id": "66666666-7777-8888-9999-000000000000", "resource": "https://graph.microsoft.com", "mode": "assertion", "assertion_lifetime_secs": 3601}})))], "targets.entra.azure.assertion_lifetime_secs", "out of range", "use 1..=3600"),
        ("entra-assertion-lifetime-unset", &[("/targets/entra", Some(json!({"audience": "api://AzureADTokenExchange", "scopes": [], "signing_alg": "RS256", "azure": {"tenant": "11111111-2222-3333-4444-555555555555", "client_id": "66666666-7777-8888-9999-000000000000", "resource": "https://graph.microsoft.com", "mode": "assertion"}})))], "targets.entra.azure.assertion_lifetime_secs", "without it the assertion is cut at the subject token's expiry, shorter than azure-identity keeps a token file's assertion (600 s) before reading the file again: Entra then refuses it now and then (AADSTS700024)", "set it to 1500..=3600"),
        ("entra-assertion-lifetime-short", &[("/targets/entra", Some(json!({"audience": "api://AzureADTokenExchange", "scopes": [], "signing_alg": "RS256", "azure": {"tenant": "11111111-2222-3333-4444-555555555555", "client_id": "66666666-7777-8888-9999-000000000000", "resource": "https://graph.microsoft.com", "mode": "assertion", "assertion_lifetime_secs": 1499}})))], "targets.entra.azure.assertion_lifetime_secs", "1499 s is shorter than the token file needs: azure-identity keeps the assertion it read for 600 s, and the helper rewrites the file at half-life; Entra then refuses it now and then (AADSTS700024)", "set it to 1500..=3600"),
        ("assertion-lifetime-zero", &[("/targets/gcp", Some(json!({"audience": "https://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/pool/providers/prov", "scopes": [], "gcp": {"workload_identity_provider": "projects/123/locations/global/workloadIdentityPools/pool/providers/prov", "mode": "assertion", "assertion_lifetime_secs": 0}})))], "targets.gcp.gcp.assertion_lifetime_secs", "out of range", "use 1..=3600"),
        ("aws-assertion-session-policy", &[("/targets/aws-orders", Some(json!({"audience": "sts.amazonaws.com", "scopes": [], "aws": {"role_arn": "arn:aws:iam::123456789012:role/edge-sts-orders", "mode": "assertion", "session_policy": {"Version": "2012-10-17", "Statement": []}}})))], "targets.aws-orders.aws.session_policy", "not enforced in assertion mode: the caller's SDK calls AWS STS itself, and the role's trust policy decides", "remove it (limit the role itself), or use mode \"brokered\""),
        ("aws-assertion-duration", &[("/targets/aws-orders", Some(json!({"audience": "sts.amazonaws.com", "scopes": [], "aws": {"role_arn": "arn:aws:iam::123456789012:role/edge-sts-orders", "mode": "assertion", "duration_secs": 3600}})))], "targets.aws-orders.aws.duration_secs", "not enforced in assertion mode: the caller's SDK calls AWS STS itself, and the role's trust policy decides", "remove it (limit the role itself), or use mode \"brokered\""),
        ("gcp-assertion-name-with-space", &[("/targets/gcp orders", Some(json!({"audience": "https://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/pool/providers/prov", "scopes": [], "gcp": {"workload_identity_provider": "projects/123/locations/global/workloadIdentityPools/pool/providers/prov", "mode": "assertion"}})))], "targets.gcp orders.gcp.mode", "an assertion-mode Google target's name goes into the external_account command line, which Google's libraries split on spaces", "rename the target to letters, digits, `.`, `_` and `-`"),
        ("downstream-shares-a-cloud-audience", &[("/targets/entra", Some(json!({"audience": "api://AzureADTokenExchange", "scopes": [], "signing_alg": "RS256", "azure": {"tenant": "11111111-2222-3333-4444-555555555555", "client_id": "66666666-7777-8888-9999-000000000000", "resource": "https://graph.microsoft.com"}}))), ("/targets/plain", Some(json!({"audience": "api://AzureADTokenExchange", "scopes": []})))], "targets.plain.audience", "same audience as target `entra`", "give each downstream target its own audience URI, used by no other target (cloud targets may share one among themselves)"),
        // A brokered target and a token the caller holds, on one cloud trust, for one client.
        ("cloud-trust-aws-brokered-and-assertion", &[("/targets/aws-orders", Some(json!({"audience": "sts.amazonaws.com", "scopes": [], "aws": {"role_arn": "arn:aws:iam::123456789012:role/edge-sts-orders", "session_policy": {"Version": "2012-10-17", "Statement": []}}}))), ("/targets/orders-file", Some(json!({"audience": "sts.amazonaws.com", "scopes": [], "aws": {"role_arn": "arn:aws:iam::123456789012:role/edge-sts-orders", "mode": "assertion"}}))), ("/clients", Some(json!([{"client": "orders-service", "targets": ["orders", "aws-orders", "orders-file"]}])))], "clients[0].targets", "grants brokered target `aws-orders` and assertion-mode target `orders-file` on one AWS audience `sts.amazonaws.com`: the caller holds `orders-file`'s token, which the cloud trust behind `aws-orders` accepts, without what `aws-orders` enforces", AWS_MIXED_FIX),
        ("cloud-trust-aws-custom-audience-on-two-roles", &[("/targets/aws-orders", Some(json!({"audience": "edge-sts-orders", "scopes": [], "aws": {"role_arn": "arn:aws:iam::123456789012:role/edge-sts-orders", "session_name": "hashed"}}))), ("/targets/orders-file", Some(json!({"audience": "edge-sts-orders", "scopes": [], "aws": {"role_arn": "arn:aws:iam::210987654321:role/other", "mode": "assertion"}}))), ("/clients", Some(json!([{"client": "batch-*", "targets": ["aws-orders", "orders-file"]}])))], "clients[0].targets", "grants brokered target `aws-orders` and assertion-mode target `orders-file` on one AWS audience `edge-sts-orders`: the caller holds `orders-file`'s token, which the cloud trust behind `aws-orders` accepts, without what `aws-orders` enforces", AWS_MIXED_FIX),
        ("cloud-trust-entra-two-apps", &[("/targets/graph", Some(json!({"audience": "api://AzureADTokenExchange", "scopes": [], "signing_alg": "RS256", "azure": {"tenant": "11111111-2222-3333-4444-555555555555", "client_id": "66666666-7777-8888-9999-000000000000", "resource": "https://graph.microsoft.com"}}))), ("/targets/vault-file", Some(json!({"audience": "api://AzureADTokenExchange", "scopes": [], "signing_alg": "RS256", "azure": {"tenant": "11111111-2222-3333-4444-555555555555", "client_id": "77777777-8888-9999-0000-111111111111", "resource": "https://vault.azure.net", "mode": "assertion", "assertion_lifetime_secs": 1800}}))), ("/clients", Some(json!([{"client": "orders-service", "targets": ["orders"]}, {"client": "orders-service", "issuer": "https://kc.test/realms/demo", "targets": ["graph"]}, {"client": "billing-*", "targets": ["graph", "vault-file"]}])))], "clients[2].targets", "grants brokered target `graph` and assertion-mode target `vault-file` on one Entra audience `api://AzureADTokenExchange`: the caller holds `vault-file`'s token, which the cloud trust behind `graph` accepts, without what `graph` enforces", ENTRA_MIXED_FIX),
        ("cloud-trust-gcp-two-providers-one-pool", &[("/targets/gcp", Some(json!({"audience": "https://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/pool/providers/prov", "scopes": [], "gcp": {"workload_identity_provider": "projects/123/locations/global/workloadIdentityPools/pool/providers/prov", "service_account": "orders@p.iam.gserviceaccount.com"}}))), ("/targets/gcp-exec", Some(json!({"audience": "https://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/pool/providers/other", "scopes": [], "gcp": {"workload_identity_provider": "projects/123/locations/global/workloadIdentityPools/pool/providers/other", "mode": "assertion"}}))), ("/clients", Some(json!([{"client": "orders-service", "targets": ["gcp", "gcp-exec"]}])))], "clients[0].targets", &format!("grants brokered target `gcp` and assertion-mode target `gcp-exec` on one Google workload identity pool `{GCP_POOL}`: the caller holds `gcp-exec`'s token, which the cloud trust behind `gcp` accepts, without what `gcp` enforces"), "give `gcp-exec` a workload identity provider in a pool of its own (Google's principals belong to the pool), or grant this client only one of the two"),
        ("cloud-trust-gcp-downstream-token-for-the-pool", &[("/targets/gcp", Some(json!({"audience": "https://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/pool/providers/prov", "scopes": [], "gcp": {"workload_identity_provider": "projects/123/locations/global/workloadIdentityPools/pool/providers/prov"}}))), ("/targets/plain", Some(json!({"audience": "//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/pool/providers/other", "scopes": []}))), ("/clients", Some(json!([{"client": "orders-service", "targets": ["gcp", "plain"]}])))], "clients[0].targets", &format!("grants brokered target `gcp` and downstream target `plain` on one Google workload identity pool `{GCP_POOL}`: the caller holds `plain`'s token, which the cloud trust behind `gcp` accepts, without what `gcp` enforces"), "give `plain` a workload identity provider in a pool of its own (Google's principals belong to the pool), or grant this client only one of the two"),
        // A cloud's exchange audience in another spelling is the same audience; its claims rules
        // apply to any target for it.
        ("downstream-google-audience-other-spelling", &[("/targets/gcp", Some(json!({"audience": "https://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/pool/providers/prov", "scopes": [], "gcp": {"workload_identity_provider": "projects/123/locations/global/workloadIdentityPools/pool/providers/prov"}}))), ("/targets/plain", Some(json!({"audience": "//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/pool/providers/prov", "scopes": []})))], "targets.plain.audience", "same audience as target `gcp` in another spelling (Google Cloud STS takes both)", "give each downstream target its own audience URI, used by no other target (cloud targets may share one among themselves)"),
        ("downstream-entra-audience-other-case", &[("/targets/entra", Some(json!({"audience": "api://AzureADTokenExchange", "scopes": [], "signing_alg": "RS256", "azure": {"tenant": "11111111-2222-3333-4444-555555555555", "client_id": "66666666-7777-8888-9999-000000000000", "resource": "https://graph.microsoft.com"}}))), ("/targets/plain", Some(json!({"audience": "api://azureadtokenexchange/", "scopes": []})))], "targets.plain.audience", "same audience as target `entra` in another spelling (Microsoft Entra ID takes both)", "give each downstream target its own audience URI, used by no other target (cloud targets may share one among themselves)"),
        ("downstream-aws-audience-copies-session-tags", &[("/targets/plain", Some(json!({"audience": "sts.amazonaws.com", "scopes": [], "copy_claims": {"team_tags": "https://aws.amazon.com/tags"}})))], "targets.plain.copy_claims", "`https://aws.amazon.com/tags` is a claim a cloud reads to decide trust, and the audience is AWS STS's token-exchange audience", CLOUD_CLAIMS_FIX),
        ("downstream-google-audience-static-amr", &[("/targets/plain", Some(json!({"audience": "//IAM.googleapis.com/projects/123/locations/global/workloadIdentityPools/pool/providers/prov", "scopes": [], "static_claims": {"amr": ["mfa"]}})))], "targets.plain.static_claims", "`amr` is a claim a cloud reads to decide trust, and the audience is Google Cloud STS's token-exchange audience", CLOUD_CLAIMS_FIX),
        // One role, one way of naming sessions.
        ("aws-session-names-mixed-on-one-role", &[("/targets/aws-a", Some(json!({"audience": "sts.amazonaws.com", "scopes": [], "aws": {"role_arn": "arn:aws:iam::123456789012:role/edge-sts-orders", "session_name": "hashed"}}))), ("/targets/aws-b", Some(json!({"audience": "sts.amazonaws.com", "scopes": [], "aws": {"role_arn": "arn:aws:iam::123456789012:role/Edge-STS-Orders"}}))), ("/clients", Some(json!([{"client": "orders-service", "targets": ["aws-a"]}, {"client": "billing-service", "targets": ["aws-b"]}])))], "targets.aws-b.aws.session_name", "target `aws-a` assumes the same role with session_name \"hashed\": a client id can equal another client's hashed name (`<id>-<16 hex>`), and then both get one RoleSessionName", "give every brokered target of role `arn:aws:iam::123456789012:role/Edge-STS-Orders` the same session_name (\"hashed\" when any needs it)"),
    ];
    assert!(cases.len() >= 40);
    for (name, patch, field, problem, fix) in cases {
        let v = patched(patch);
        let e = load_all(&v).err().unwrap_or_else(|| panic!("{name}: accepted"));
        assert_eq!((e.field, e.problem, e.fix), expected(&v, (field, problem, fix)), "{name}");
    }
}

#[test]
fn type_errors_name_the_field_by_its_path() {
    #[rustfmt::skip]
    let cases: &[(&str, Patch<'_>, &str, &str)] = &[
        ("scopes not a list", &[("/targets/orders/scopes", Some(json!("orders:read")))], "targets.orders.scopes", "invalid type: string \"orders:read\", expected a sequence"),
        ("scope not a string", &[("/targets/orders/scopes", Some(json!(["orders:read", 7])))], "targets.orders.scopes[1]", "invalid type: integer `7`, expected a string"),
        ("audiences not a list", &[("/trusted_issuers/0/audiences", Some(json!("edge-sts")))], "trusted_issuers[0].audiences", "invalid type: string \"edge-sts\", expected a sequence"),
        ("leeway negative", &[("/trusted_issuers/0/leeway_secs", Some(json!(-1)))], "trusted_issuers[0].leeway_secs", "invalid value: integer `-1`, expected u64"),
        ("limit a float", &[("/limits", Some(json!({"max_body_bytes": 1.5})))], "limits.max_body_bytes", "invalid type: floating point `1.5`, expected usize"),
        ("aws duration a string", &[("/targets/aws", Some(json!({"audience": "sts.amazonaws.com", "scopes": [], "aws": {"role_arn": "arn:aws:iam::1:role/r", "duration_secs": "3600"}})))], "targets.aws.aws.duration_secs", "invalid type: string \"3600\", expected u32"),
        ("client targets an object", &[("/clients/0/targets", Some(json!({"orders": true})))], "clients[0].targets", "invalid type: map, expected a sequence"),
        ("signing key status a bool", &[("/signing_keys/0/status", Some(json!(true)))], "signing_keys[0].status", "invalid type: boolean `true`, expected a string"),
        ("danger flag a string", &[("/targets/orders/danger_allow_beyond_subject_expiry", Some(json!("yes")))], "targets.orders.danger_allow_beyond_subject_expiry", "invalid type: string \"yes\", expected a boolean"),
        ("missing nested field", &[("/targets/orders/scopes", None)], "targets.orders.scopes", "missing field `scopes`"),
        ("missing top-level field", &[("/trusted_issuers", None)], "trusted_issuers", "missing field `trusted_issuers`"),
        ("unknown nested field", &[("/trusted_issuers/0/audience", Some(json!("edge-sts")))], "trusted_issuers[0].audience", "unknown field `audience`, expected one of `issuer`, `jwks_uri`, `audiences`, `leeway_secs`, `max_token_lifetime_secs`, `expected_typ`, `required_claims`, `subject_prefix`, `algorithms`, `app_token`, `allow_missing_sub`"),
        ("unknown field in a cloud block", &[("/targets/gcp", Some(json!({"audience": "https://gcp", "scopes": [], "gcp": {"workload_identity_provider": "p", "service_acount": "x"}})))], "targets.gcp.gcp.service_acount", "unknown field `service_acount`, expected one of `workload_identity_provider`, `service_account`, `token_lifetime_secs`, `sts_url`, `iam_credentials_url`, `mode`, `assertion_lifetime_secs`"),
    ];
    for (name, patch, field, problem) in cases {
        let v = patched(patch);
        let e = load(&v.to_string()).err().unwrap_or_else(|| panic!("{name}: accepted"));
        assert_eq!((e.field.clone(), e.problem.clone(), e.fix.clone()), expected(&v, (field, problem, SCHEMA_FIX)), "{name}");
        assert!(!e.problem.contains(" at line "), "{name}: no position once the path is known");
    }
}

#[test]
fn without_config_paths_serde_errors_keep_serdes_text_and_point_at_the_cli() {
    // The Worker's build (no `config-paths`): the same documents parse, and serde's own errors
    // are `(document)` errors with serde's message, its position, and the CLI as the fix.
    assert!(parse_pathless(&patched(&[]).to_string()).is_ok());
    let cases: &[(&str, Patch<'_>, &str)] = &[
        (
            "lifetime a string",
            &[("/targets/orders/lifetime_secs", Some(json!("300")))],
            "invalid type: string \"300\", expected u64 at line 1 column ",
        ),
        ("missing nested field", &[("/targets/orders/scopes", None)], "missing field `scopes` at line 1 column "),
        (
            "unknown nested field",
            &[("/trusted_issuers/0/audience", Some(json!("edge-sts")))],
            "unknown field `audience`, expected one of `issuer`",
        ),
    ];
    for (name, patch, problem) in cases {
        let e = parse_pathless(&patched(patch).to_string()).err().unwrap_or_else(|| panic!("{name}: accepted"));
        assert_eq!((e.field.as_str(), e.fix.as_str()), (DOCUMENT, PATHLESS_FIX), "{name}");
        assert!(e.problem.starts_with(problem) && e.problem.contains(" at line 1 column "), "{name}: {}", e.problem);
    }
    let e = parse_pathless("{\"issuer\": ").expect_err("truncated text");
    assert_eq!(
        (e.field.as_str(), e.problem.as_str(), e.fix.as_str()),
        (DOCUMENT, "EOF while parsing a value at line 1 column 11", SCHEMA_FIX)
    );
}

#[test]
fn text_that_is_not_a_json_object_is_a_document_error() {
    for (text, problem) in [
        ("", "EOF while parsing a value at line 1 column 0"),
        ("{\"issuer\": ", "EOF while parsing a value at line 1 column 11"),
        ("[1]", "invalid type: integer `1`, expected a string at line 1 column 2"),
        ("null", "invalid type: null, expected struct RawConfig at line 1 column 4"),
    ] {
        let e = load(text).unwrap_err();
        assert_eq!((e.field.as_str(), e.problem.as_str()), (DOCUMENT, problem), "{text:?}");
    }
    let trailing = format!("{BASE} x");
    let e = load(&trailing).unwrap_err();
    assert_eq!(
        (e.field.as_str(), e.problem.as_str()),
        (DOCUMENT, format!("trailing characters at line 1 column {}", BASE.len() + 2).as_str())
    );
}

#[test]
fn defaults_are_the_named_constants() {
    let cfg = load(BASE).unwrap();
    let t = &cfg.trusted[0].rules;
    assert_eq!(
        (t.leeway_secs, t.max_lifetime_secs, t.expected_typ.as_deref()),
        (DEFAULT_LEEWAY_SECS, DEFAULT_MAX_TOKEN_LIFETIME_SECS, Some(DEFAULT_EXPECTED_TYP))
    );
    let orders = &cfg.policy.targets["orders"];
    assert_eq!((orders.lifetime_secs, orders.signing_alg), (DEFAULT_LIFETIME_SECS, DEFAULT_SIGNING_ALG));
    assert_eq!(cfg.limits.token, crate::jose::token::TokenLimits::default());
    assert_eq!(cfg.limits.max_body_bytes, DEFAULT_MAX_BODY_BYTES);
    assert_eq!(cfg.limits.token_cache_entries, crate::config::limits::CacheLimits::default().max_entries);
    assert_eq!(cfg.cache, CachePolicy::default());
    assert!((cfg.dev, cfg.log_successes, cfg.explain_secret.as_deref()) == (false, true, None));
}

#[test]
fn explain_secret_long_enough_is_accepted() {
    let v = patched(&[("/explain_secret", Some(json!("EXPLAIN_KEY")))]);
    let (cfg, _) = load_all(&v).unwrap();
    assert_eq!(cfg.explain_secret.as_deref(), Some("EXPLAIN_KEY"));
    // Exactly the minimum is enough; one byte less is not.
    let cfg = load(&v.to_string()).unwrap();
    let exactly = |n: usize| move |_: &str| Some("k".repeat(n));
    assert!(check_explain_secret(&cfg, exactly(EXPLAIN_SECRET_MIN_LEN)).is_ok());
    assert_eq!(check_explain_secret(&cfg, exactly(EXPLAIN_SECRET_MIN_LEN - 1)).unwrap_err().field, "explain_secret");
    // No explain_secret: no secret is read at all.
    let cfg = load(BASE).unwrap();
    assert!(check_explain_secret(&cfg, |n| panic!("read {n}")).is_ok());
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    futures_executor::block_on(f)
}

#[test]
fn dev_keys_fill_each_target_algorithm_without_an_active_key() {
    let es = secret("SIGNING_KEY_ES256_2026_01").unwrap();
    let rs = secret("SIGNING_KEY_RS256_2026_01").unwrap();
    let gen = |alg: Alg| {
        let text = if alg == Alg::RS256 { rs.clone() } else { es.clone() };
        async move { Ok::<_, String>(serde_json::from_str::<serde_json::Map<String, Value>>(&text).unwrap()) }
    };
    let v = patched(&[
        ("/mode", Some(json!("dev"))),
        ("/signing_keys", None),
        ("/targets/rs", Some(json!({"audience": "https://rs", "scopes": [], "signing_alg": "RS256"}))),
        ("/targets/rs2", Some(json!({"audience": "https://rs2", "scopes": [], "signing_alg": "RS256"}))),
    ]);
    let (cfg, mut ring) = load_all(&v).unwrap();
    assert!(ring.active.is_empty());
    let added = block_on(add_dev_keys(&cfg, &mut ring, gen)).unwrap();
    let algs: Vec<Alg> = added.iter().map(|(_, a)| *a).collect();
    assert_eq!(algs, [Alg::ES256, Alg::RS256], "one key per algorithm, not per target");
    assert_eq!(added[0].0, ring.active_for(Alg::ES256).unwrap().kid());

    // The runtime's crypto fails: the configuration is refused, naming signing_keys.
    let failing = |_: Alg| async { Err::<serde_json::Map<String, Value>, _>("no crypto") };
    let mut ring = resolve_secrets(&cfg, secret).unwrap();
    let e = block_on(add_dev_keys(&cfg, &mut ring, failing)).unwrap_err();
    assert_eq!((e.field.as_str(), e.problem.as_str()), ("signing_keys", "could not generate a dev ES256 key: no crypto"));

    // Production: nothing is generated, even when asked.
    let cfg = load(BASE).unwrap();
    let mut ring = resolve_secrets(&cfg, secret).unwrap();
    let called = std::cell::Cell::new(false);
    let spy = |_: Alg| {
        called.set(true);
        async { Err::<serde_json::Map<String, Value>, _>("not called") }
    };
    assert!(block_on(add_dev_keys(&cfg, &mut ring, spy)).unwrap().is_empty());
    assert!(!called.get());
}

#[test]
fn realms_apart_accepts_distinct_prefixes_and_one_issuer_without_one() {
    // One issuer: the empty default prefix and issuer-less client rules stay valid.
    let cfg = load(BASE).unwrap();
    assert_eq!(cfg.trusted[0].subject_prefix, "");
    // Two issuers with prefixes neither of which starts the other, every rule naming its issuer.
    let v = patched(&[
        (
            "/trusted_issuers",
            Some(json!([
                {"issuer": "https://kc.test/realms/demo", "audiences": ["edge-sts"], "subject_prefix": "demo:"},
                {"issuer": "https://kc.test/realms/partners", "audiences": ["edge-sts"], "subject_prefix": "partners:"},
            ])),
        ),
        (
            "/clients",
            Some(json!([
                {"client": "orders-service", "issuer": "https://kc.test/realms/demo", "targets": ["orders"]},
                {"client": "orders-service", "issuer": "https://kc.test/realms/partners", "targets": ["orders"]},
            ])),
        ),
    ]);
    let (cfg, _) = load_all(&v).unwrap();
    assert_eq!(cfg.trusted.len(), 2);
}

#[cfg(feature = "clouds")]
#[test]
fn aws_session_names_that_load() {
    use crate::clouds::{aws::SessionName, CloudTarget};
    let aws = |mode: Option<&str>| {
        let mut a = json!({"role_arn": "arn:aws:iam::123456789012:role/edge-sts-orders"});
        if let Some(m) = mode {
            a["session_name"] = json!(m);
        }
        json!({"audience": "sts.amazonaws.com", "scopes": [], "aws": a})
    };
    let mode_of = |cfg: &Config| match &cfg.policy.targets["aws-orders"].cloud {
        Some(CloudTarget::Aws(r)) => r.session_name,
        other => panic!("{other:?}"),
    };
    // client_id (default and explicit): exact ids that are session names as they are; a glob
    // rule that does not list the AWS target does not matter.
    let clients = json!([{"client": "orders-service", "targets": ["orders", "aws-orders"]}, {"client": "svc_1+x=y,z.w@corp-2", "targets": ["aws-orders"]}, {"client": "batch-*", "targets": ["orders"]}]);
    for mode in [None, Some("client_id")] {
        let cfg = load(&patched(&[("/targets/aws-orders", Some(aws(mode))), ("/clients", Some(clients.clone()))]).to_string()).unwrap();
        assert_eq!(mode_of(&cfg), SessionName::ClientId);
    }
    // hashed: globs, ids that are not session names, two issuers.
    let two = json!([{"issuer": "https://kc.test/realms/demo", "audiences": ["edge-sts"], "subject_prefix": "demo:"}, {"issuer": "https://kc.test/realms/partners", "audiences": ["edge-sts"], "subject_prefix": "partners:"}]);
    let clients = json!([{"client": "batch-*", "issuer": "https://kc.test/realms/demo", "targets": ["aws-orders"]}, {"client": "batch/nightly", "issuer": "https://kc.test/realms/partners", "targets": ["aws-orders"]}]);
    let cfg = load(
        &patched(&[("/trusted_issuers", Some(two)), ("/targets/aws-orders", Some(aws(Some("hashed")))), ("/clients", Some(clients))])
            .to_string(),
    )
    .unwrap();
    assert_eq!(mode_of(&cfg), SessionName::Hashed);
    // A target without a cloud may write the claims a cloud target may not.
    let plain = json!({"audience": "https://plain.test", "scopes": [], "copy_claims": {"azp": "azp"}, "static_claims": {"amr": ["mfa"], "https://aws.amazon.com/tags": {}}});
    assert!(load(&patched(&[("/targets/plain", Some(plain))]).to_string()).is_ok());
}

#[cfg(feature = "clouds")]
#[test]
fn cloud_targets_may_share_an_audience_and_opt_into_assertion_mode() {
    use crate::clouds::{CloudMode, CloudTarget};
    let entra = |client_id: &str, resource: &str, extra: Value| {
        let mut z = json!({"tenant": "11111111-2222-3333-4444-555555555555", "client_id": client_id, "resource": resource});
        z.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        json!({"audience": "api://AzureADTokenExchange", "scopes": [], "signing_alg": "RS256", "azure": z})
    };
    let cfg = load(
        &patched(&[
            ("/targets/graph", Some(entra("66666666-7777-8888-9999-000000000000", "https://graph.microsoft.com", json!({})))),
            ("/targets/vault", Some(entra("77777777-8888-9999-0000-111111111111", "https://vault.azure.net", json!({})))),
            (
                "/targets/vault-file",
                Some(entra("77777777-8888-9999-0000-111111111111", "https://vault.azure.net", json!({"mode": "assertion", "assertion_lifetime_secs": 1800}))),
            ),
            // Two AWS targets on one audience; session_name rules skip the assertion-mode one.
            ("/targets/aws-a", Some(json!({"audience": "sts.amazonaws.com", "scopes": [], "aws": {"role_arn": "arn:aws:iam::123456789012:role/a"}}))),
            ("/targets/aws-b", Some(json!({"audience": "sts.amazonaws.com", "scopes": [], "aws": {"role_arn": "arn:aws:iam::123456789012:role/b", "mode": "assertion"}}))),
            // Brokered and assertion-mode Entra targets for different clients (different `sub`).
            ("/clients", Some(json!([{"client": "orders-service", "targets": ["orders", "graph", "vault", "aws-a"]}, {"client": "batch-*", "targets": ["aws-b", "vault-file"]}]))),
        ])
        .to_string(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let t = &cfg.policy.targets;
    assert_eq!(t["graph"].cloud_mode, CloudMode::Brokered);
    assert_eq!(t["vault-file"].cloud_mode, CloudMode::Assertion { lifetime_secs: Some(1800) });
    assert_eq!(t["aws-b"].cloud_mode, CloudMode::Assertion { lifetime_secs: None });
    assert_eq!(t["orders"].cloud_mode, CloudMode::Brokered, "a downstream target is never in assertion mode");
    match (&t["graph"].cloud, &t["vault"].cloud) {
        (Some(CloudTarget::Azure(g)), Some(CloudTarget::Azure(v))) => {
            assert_eq!((g.scope.as_str(), v.scope.as_str()), ("https://graph.microsoft.com/.default", "https://vault.azure.net/.default"));
        }
        other => panic!("{other:?}"),
    }
}

/// `cloud_trust_warnings(load(patch))`, as (field, message) pairs.
#[cfg(feature = "clouds")]
fn trust_warnings(patch: Patch<'_>) -> Vec<(String, String)> {
    cloud_trust_warnings(&load(&patched(patch).to_string()).unwrap_or_else(|e| panic!("{e}")))
}

#[cfg(feature = "clouds")]
#[test]
fn cloud_trust_that_loads_and_what_check_says_holds_it_safe() {
    let aws = |aud: &str, role: &str, extra: Value| {
        let mut a = json!({"role_arn": format!("arn:aws:iam::123456789012:role/{role}")});
        a.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        json!({"audience": aud, "scopes": [], "aws": a})
    };
    let entra = |app: &str, extra: Value| {
        let mut z = json!({"tenant": "11111111-2222-3333-4444-555555555555", "client_id": app, "resource": "https://vault.azure.net"});
        z.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        json!({"audience": "api://AzureADTokenExchange", "scopes": [], "signing_alg": "RS256", "azure": z})
    };
    let gcp = |pool: &str, extra: Value| {
        let wip = format!("projects/123/locations/global/workloadIdentityPools/{pool}/providers/prov");
        let mut g = json!({"workload_identity_provider": wip});
        g.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        json!({"audience": format!("https://iam.googleapis.com/{wip}"), "scopes": [], "gcp": g})
    };
    let assertion = || json!({"mode": "assertion"});

    // One client, both modes on AWS, each on an audience of its own: loads, and `check` says
    // that the brokered role's trust must condition on its audience.
    let w = trust_warnings(&[
        ("/targets/aws-orders", Some(aws("sts.amazonaws.com", "orders", json!({})))),
        ("/targets/aws-file", Some(aws("edge-sts-orders-federated", "orders-federated", assertion()))),
        ("/clients", Some(json!([{"client": "orders-service", "targets": ["aws-orders", "aws-file"]}]))),
    ]);
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(w[0].0, "clients[0].targets");
    assert_eq!(w[0].1, "grants brokered `aws-orders` (AWS audience `sts.amazonaws.com`) and `aws-file`, whose token the caller holds (AWS audience `edge-sts-orders-federated`): safe only while `aws-orders`'s role trust policy conditions on `<issuer host>:aud` equal to `sts.amazonaws.com` (and on `:sub`)");

    // Google: two pools are two sets of principals; `check` names what else must hold.
    let w = trust_warnings(&[
        ("/targets/gcp", Some(gcp("pool", json!({"service_account": "orders@p.iam.gserviceaccount.com"})))),
        ("/targets/gcp-exec", Some(gcp("pool-sdk", assertion()))),
        ("/clients", Some(json!([{"client": "orders-service", "targets": ["gcp", "gcp-exec"]}]))),
    ]);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].1.ends_with("safe only while the service account and resources `gcp` reaches are bound to principals of its own pool only"),
        "{w:?}"
    );

    // Across clients the minted `sub` differs: loads, and `check` says the trust must name the
    // subjects; a glob rule whose pattern matches the other rule's client is named.
    let w = trust_warnings(&[
        ("/targets/graph", Some(entra("66666666-7777-8888-9999-000000000000", json!({})))),
        (
            "/targets/vault-file",
            Some(entra("77777777-8888-9999-0000-111111111111", json!({"mode": "assertion", "assertion_lifetime_secs": 1800}))),
        ),
        ("/clients", Some(json!([{"client": "batch-nightly", "targets": ["vault-file"]}, {"client": "batch-*", "targets": ["graph"]}]))),
    ]);
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(w[0].0, "targets.graph");
    assert_eq!(w[0].1, "shares Entra audience `api://AzureADTokenExchange` with `vault-file`, whose token the callers of clients[0] hold: safe only while each federated credential's subject names exactly the callers of clients[1] (`subject_prefix` + client id), so no token of `vault-file` matches; clients[1]'s glob `batch-*` matches `batch-nightly`, whom clients[0] gives `vault-file`: a subject pattern made from the glob would accept its token");

    // Two tokens the caller holds on one trust: removing one does not revoke the other.
    let w = trust_warnings(&[
        ("/targets/aws-a", Some(aws("sts.amazonaws.com", "a", assertion()))),
        ("/targets/aws-b", Some(aws("sts.amazonaws.com", "b", assertion()))),
        ("/clients", Some(json!([{"client": "orders-service", "targets": ["aws-a", "aws-b"]}]))),
    ]);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].1.starts_with("the caller holds the tokens of `aws-a` and `aws-b` on one AWS audience `sts.amazonaws.com`: "), "{w:?}");

    // One role, brokered and assertion mode: the SDK's caller picks its own session name.
    let w = trust_warnings(&[
        ("/targets/aws-orders", Some(aws("sts.amazonaws.com", "orders", json!({})))),
        ("/targets/aws-file", Some(aws("edge-sts-orders-federated", "orders", assertion()))),
        (
            "/clients",
            Some(json!([{"client": "orders-service", "targets": ["aws-orders"]}, {"client": "billing-service", "targets": ["aws-file"]}])),
        ),
    ]);
    assert_eq!(w.iter().map(|(f, _)| f.as_str()).collect::<Vec<_>>(), ["targets.aws-file.aws.mode"], "{w:?}");

    // Nothing shared, nothing to say.
    assert!(trust_warnings(&[]).is_empty());
}

#[test]
fn cloud_exchange_audiences_in_every_spelling_are_one() {
    use crate::clouds::exchange_audience;
    let p = "projects/123/locations/global/workloadIdentityPools/pool/providers/prov";
    #[rustfmt::skip]
    let cases: &[(&str, Option<(&str, &str)>)] = &[
        ("sts.amazonaws.com", Some(("aws", "sts.amazonaws.com"))),
        ("https://STS.amazonaws.com/", Some(("aws", "sts.amazonaws.com"))),
        ("sts.amazonaws.com.cn", Some(("aws", "sts.amazonaws.com.cn"))),
        (&format!("https://iam.googleapis.com/{p}"), Some(("gcp", &format!("//iam.googleapis.com/{p}")))),
        (&format!("//iam.googleapis.com/{p}"), Some(("gcp", &format!("//iam.googleapis.com/{p}")))),
        (&format!("HTTPS://IAM.GOOGLEAPIS.COM/{p}/"), Some(("gcp", &format!("//iam.googleapis.com/{p}")))),
        ("api://AzureADTokenExchange", Some(("azure", "api://AzureADTokenExchange"))),
        ("API://azureadtokenexchange/", Some(("azure", "api://AzureADTokenExchange"))),
        ("api://AzureADTokenExchangeUSGov", Some(("azure", "api://AzureADTokenExchangeUSGov"))),
        ("api://AzureADTokenExchangeChina", Some(("azure", "api://AzureADTokenExchangeChina"))),
        ("https://orders.example.com", None),
        ("sts.amazonaws.com.evil.test", None),
        ("https://iam.googleapis.com/v1/projects", None),
        ("api://AzureADTokenExchangeX", None),
        ("edge-sts-orders", None),
    ];
    for (aud, want) in cases {
        let got = exchange_audience(aud);
        assert_eq!(got.as_ref().map(|a| (a.cloud, a.canonical.as_str())), *want, "{aud}");
    }
    let pool = exchange_audience(&format!("https://iam.googleapis.com/{p}")).and_then(|a| a.gcp_pool());
    assert_eq!(pool.as_deref(), Some("projects/123/locations/global/workloadIdentityPools/pool"));
}

#[test]
fn an_unresolved_secret_is_named_by_its_field_never_by_the_string_in_it() {
    let name = "SIGNING_KEY_ES256_2099_01";
    let v =
        patched(&[("/signing_keys", Some(json!([{"secret": name, "status": "active"}]))), ("/explain_secret", Some(json!("EXPLAIN_KEY")))]);
    let e = load_all(&v).unwrap_err();
    assert_eq!(e.field, "signing_keys[0].secret");
    assert!(!e.to_string().contains(name), "{e}");
    let v = patched(&[("/explain_secret", Some(json!("EXPLAIN_KEY_UNSET")))]);
    let e = load_all(&v).unwrap_err();
    assert_eq!(e.field, "explain_secret");
    assert!(!e.to_string().contains("EXPLAIN_KEY_UNSET"), "{e}");
    // Names as the docs write them load.
    for ok in ["SIGNING_KEY_ES256_2026_01", "EXPLAIN_KEY", "K", "A1", "SIGNING_KEY_1"] {
        assert!(is_secret_name(ok), "{ok}");
    }
    for value in [
        "",
        "1KEY",
        "_KEY",
        "key",
        "Key",
        "SIGNING-KEY",
        &"A".repeat(65),
        "ABCDEF0123456789",
        "q2V9kT7xLw0bZ4nR8sYc1uJ5mA3hD6fG9pE2iK_oW-M",
    ] {
        assert!(!is_secret_name(value), "{value}");
    }
}
