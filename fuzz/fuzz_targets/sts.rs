//! Cloud STS response parsers (AWS XML, Google JSON, Entra JSON): no input may panic.
#![no_main]
use edge_sts_core::clouds::{aws, azure, gcp};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let status = match data.first() {
        Some(b) if b % 3 == 0 => 200,
        Some(b) if b % 3 == 1 => 400,
        _ => 503,
    };
    let _ = aws::parse_response(status, data);
    let _ = gcp::parse_sts_response(status, data, 1_800_000_000.0);
    let imp = gcp::ServiceAccountImpersonation::new("sa@p.iam.gserviceaccount.com");
    let _ = gcp::parse_generate_access_token_response(&imp, status, data);
    let _ = azure::parse_response(status, data, 1_800_000_000.0);
});
