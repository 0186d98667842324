//! Token parser + claim rules: no input may panic.
#![no_main]
use edge_sts_core::claims::{validate, ClaimRules};
use edge_sts_core::token::{TokenLimits, UntrustedToken};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(t) = UntrustedToken::parse(s, TokenLimits::default()) {
        let rules = ClaimRules {
            issuer: "https://kc.example/realms/r".into(),
            audiences: vec!["edge-sts".into()],
            leeway_secs: 60,
            max_lifetime_secs: 3600,
            expected_typ: Some("Bearer".into()),
            required_claims: vec!["tenant_id".into()],
        };
        let _ = validate(&t.claims, &rules, 1_800_000_000.0);
        let _ = t.issuer();
    }
});
