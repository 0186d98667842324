//! `POST /token` form parser: no input may panic.
#![no_main]
use edge_sts_core::wire::request;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let split = data.first().copied().unwrap_or(0) as usize % (data.len() + 1);
    let (auth, body) = data.split_at(split);
    let auth = std::str::from_utf8(auth).ok();
    let _ = request::parse(Some("application/x-www-form-urlencoded"), body, auth, 32 * 1024);
});
