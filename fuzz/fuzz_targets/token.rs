//! Token parser + claim rules: no input may panic.
#![no_main]
use edge_sts_core::issuer::claims::{validate_token, AppTokenRule, CallerRules, ClaimRules, Marker};
use edge_sts_core::jose::token::{TokenLimits, UntrustedToken};
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
        // Keycloak's app-token rule (the default), and a configured one without `sub`.
        let okta = CallerRules {
            app_token: AppTokenRule::Claims {
                client_claim: "cid".into(),
                marker: Marker::EqualsClaim { claim: "sub".into(), other: "cid".into() },
                absent_claims: vec!["uid".into()],
            },
            allow_missing_sub: true,
        };
        for caller in [CallerRules::default(), okta] {
            let _ = validate_token(&t.claims, &rules, &caller, 1_800_000_000.0);
        }
        let _ = t.issuer();
    }
});
