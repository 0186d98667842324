//! Runs every signature vector file through the pure-Rust backend. The Worker's e2e suite runs
//! the same files through WebCrypto inside workerd; both must match `expect`.
use edge_sts_core::jose::pure_crypto::PureCrypto;
use edge_sts_core::jose::vectors::verdict;
use futures_executor::block_on;
use serde_json::Value;

fn run(file: &str) -> usize {
    let path = format!("{}/../tests/vectors/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("vector file");
    let doc: Value = serde_json::from_str(&text).expect("vector file is JSON");
    let cases = doc["cases"].as_array().expect("cases");
    let mut failures = vec![];
    for c in cases {
        let got = block_on(verdict(&PureCrypto, c));
        let want = c["expect"].as_str().unwrap();
        if got != want {
            failures.push(format!("{}: want {want}, got {got}", c["name"]));
        }
    }
    assert!(failures.is_empty(), "{file}:\n{}", failures.join("\n"));
    cases.len()
}

#[test]
fn generated_vectors() {
    assert!(run("generated.json") > 50, "tests/vectors/generated.json must exist and be full");
}

#[test]
fn rfc_vectors() {
    // RFC 7515 A.1-A.5, RFC 7520 4.1-4.3, RFC 8037 A.4: HS256/ES512/none must be refused.
    assert_eq!(run("rfc.json"), 9);
}

#[test]
fn flip_every_bit() {
    // Every single-bit change of a valid signature, for one key per algorithm family.
    let text = std::fs::read_to_string(format!("{}/../tests/vectors/generated.json", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    for c in doc["cases"].as_array().unwrap().iter().filter(|c| c["expect"] == "valid") {
        let sig = edge_sts_core::jose::b64::decode(c["signature"].as_str().unwrap()).unwrap();
        let step = if sig.len() > 100 { 7 } else { 1 }; // RSA: every 7th bit keeps the test fast
        for bit in (0..sig.len() * 8).step_by(step) {
            let mut f = sig.clone();
            f[bit / 8] ^= 1 << (bit % 8);
            let mut case = c.clone();
            case["signature"] = Value::String(edge_sts_core::jose::b64::encode(&f));
            assert_eq!(block_on(verdict(&PureCrypto, &case)), "invalid", "{} bit {bit}", c["name"]);
        }
    }
}
