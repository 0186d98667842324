//! JWKS parser, key selection and (for parsed keys) the pure-Rust verifier: no input may panic.
#![no_main]
use edge_sts_core::jose::alg::Alg;
use edge_sts_core::jose::jwk::{JwksLimits, KeySet, Selection};
use edge_sts_core::jose::pure_crypto::PureCrypto;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(set) = KeySet::parse(data, JwksLimits::default()) {
        for alg in Alg::ALL {
            if let Selection::Candidates(keys) = set.select(None, alg) {
                for k in keys.iter().take(2) {
                    let _ = PureCrypto.verify_sync(k, b"a.b", &data[..data.len().min(k.key.signature_len())]);
                }
            }
        }
    }
});
