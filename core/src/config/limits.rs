//! `limits` and `jwks_cache`: size limits on input and the issuer-key cache's timings.
//! Defaults are the `Default` of the types that use them (`TokenLimits`, `CachePolicy`,
//! `JwksLimits`, `CacheLimits`), stated once there; the bounds below are the configuration's.
use super::{cerr, ConfigError};
use crate::issuer::key_store::CachePolicy;
use crate::jose::jwk::JwksLimits;
use crate::jose::token::TokenLimits;
use serde::Deserialize;

/// Largest request body (`limits.max_body_bytes`) when not configured.
pub const DEFAULT_MAX_BODY_BYTES: usize = 32 * 1024;
/// Upper bound of `jwks_cache.fetch_timeout_ms`.
pub const MAX_FETCH_TIMEOUT_MS: u64 = 30_000;
/// Smallest `limits.max_token_bytes` and `limits.max_json_depth` that can accept a token.
pub const MIN_TOKEN_BYTES: usize = 256;
pub const MIN_JSON_DEPTH: usize = 2;

#[derive(Debug, Deserialize, Default)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimits {
    max_token_bytes: Option<usize>,
    max_body_bytes: Option<usize>,
    max_json_depth: Option<usize>,
    max_jwks_bytes: Option<usize>,
    max_jwks_keys: Option<usize>,
    token_cache_entries: Option<usize>,
}

#[derive(Debug, Deserialize, Default)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub(super) struct RawCache {
    min_max_age_secs: Option<u64>,
    max_max_age_secs: Option<u64>,
    unknown_kid_cooldown_secs: Option<u64>,
    stale_if_error_secs: Option<u64>,
    fetch_timeout_ms: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub token: TokenLimits,
    pub max_body_bytes: usize,
    /// Entries in each token cache (verified, minted); 0 disables both.
    pub token_cache_entries: usize,
}

pub(super) fn load(l: RawLimits, c: RawCache) -> Result<(Limits, CachePolicy), ConfigError> {
    let token = TokenLimits::default();
    let limits = Limits {
        token: TokenLimits {
            max_token_bytes: l.max_token_bytes.unwrap_or(token.max_token_bytes),
            max_json_depth: l.max_json_depth.unwrap_or(token.max_json_depth),
        },
        max_body_bytes: l.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES),
        token_cache_entries: l.token_cache_entries.unwrap_or(CacheLimits::default().max_entries),
    };
    let d = CachePolicy::default();
    let cache = CachePolicy {
        min_max_age_secs: c.min_max_age_secs.unwrap_or(d.min_max_age_secs),
        max_max_age_secs: c.max_max_age_secs.unwrap_or(d.max_max_age_secs),
        unknown_kid_cooldown_secs: c.unknown_kid_cooldown_secs.unwrap_or(d.unknown_kid_cooldown_secs),
        stale_if_error_secs: c.stale_if_error_secs.unwrap_or(d.stale_if_error_secs),
        fetch_timeout_ms: c.fetch_timeout_ms.unwrap_or(d.fetch_timeout_ms),
        limits: JwksLimits {
            max_bytes: l.max_jwks_bytes.unwrap_or(d.limits.max_bytes),
            max_keys: l.max_jwks_keys.unwrap_or(d.limits.max_keys),
            max_depth: limits.token.max_json_depth,
        },
    };
    if cache.min_max_age_secs > cache.max_max_age_secs {
        return Err(cerr("jwks_cache.min_max_age_secs", "floor is above the ceiling", "make min_max_age_secs <= max_max_age_secs"));
    }
    if cache.fetch_timeout_ms == 0 || cache.fetch_timeout_ms > MAX_FETCH_TIMEOUT_MS {
        return Err(cerr(
            "jwks_cache.fetch_timeout_ms",
            "out of range",
            format!("use 1..={MAX_FETCH_TIMEOUT_MS} (default {})", d.fetch_timeout_ms),
        ));
    }
    if limits.token.max_json_depth < MIN_JSON_DEPTH
        || limits.token.max_token_bytes < MIN_TOKEN_BYTES
        || limits.max_body_bytes < limits.token.max_token_bytes
    {
        return Err(cerr(
            "limits",
            "limits too small to accept any token",
            format!("keep max_json_depth >= {MIN_JSON_DEPTH}, max_token_bytes >= {MIN_TOKEN_BYTES}, max_body_bytes >= max_token_bytes"),
        ));
    }
    Ok((limits, cache))
}

/// Bounds of each per-isolate token cache (`flow::token_cache`): entries and estimated bytes,
/// oldest evicted first. The default is 2048 entries and 4 MiB per cache;
/// `limits.token_cache_entries` sets the entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheLimits {
    pub max_entries: usize,
    pub max_bytes: usize,
}

impl Default for CacheLimits {
    fn default() -> Self {
        CacheLimits { max_entries: 2048, max_bytes: 4 * 1024 * 1024 }
    }
}
