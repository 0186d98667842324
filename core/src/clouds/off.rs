//! The `sts` module of a build without the `clouds` feature (a downstream-only Worker): no cloud
//! exchange, no AWS, Google or Entra code. The loader refuses every cloud block (`aws`, `gcp`,
//! `azure`) by name, so no target carries a cloud: [`CloudTarget`] and [`StsError`] have no
//! values, and every `match` on them, with the code behind it, is gone from the build.
use std::fmt;

#[path = "shared.rs"]
mod shared;
pub use shared::{
    exchange_audience, Blame, CloudMode, ExchangeAudience, CLOUD_PROTECTED_CLAIMS, MAX_ASSERTION_LIFETIME_SECS, THROTTLE_RETRY_AFTER_SECS,
};

/// A cloud a target brokers an exchange with: none in this build.
#[derive(Debug, Clone)]
pub enum CloudTarget {}

/// A failed cloud exchange: none in this build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StsError {}

impl StsError {
    pub fn reason(&self) -> &'static str {
        match *self {}
    }

    pub fn blame(&self) -> Blame {
        match *self {}
    }

    pub fn http_status(&self) -> Option<u16> {
        match *self {}
    }

    pub fn cloud_code(&self) -> Option<String> {
        match *self {}
    }
}

impl fmt::Display for StsError {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {}
    }
}

/// Brokered cloud credentials (the type of the isolate's cloud caches): none in this build.
#[derive(Debug, Clone, PartialEq)]
pub enum CloudCredentials {}
