//! Configuration loader and key-ring builder: no input may panic.
#![no_main]
use edge_sts_core::config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(cfg) = config::load(s) {
        let _ = config::build_key_ring(&cfg, |_| Some(s.to_owned()));
    }
});
