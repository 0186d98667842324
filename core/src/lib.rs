//! edge-sts core: everything that decides, nothing that does I/O.
//!
//! In scope: strict compact-JWS parsing, JWK/JWKS parsing and key selection, the JWKS cache
//! *policy* (when to fetch, what to serve), claim validation, the trust policy, minting
//! downstream tokens, and the RFC 8693 exchange flow over two small traits:
//! [`fetch::Fetch`] (HTTP GET, a timer, optional persistence) and [`crypto::SignatureBackend`]
//! (signature math).
//!
//! Out of scope: the clock (every function takes `now`), the network, randomness (the caller
//! passes the `jti`), the Workers runtime. This crate never imports `worker`, `wasm-bindgen`
//! or `web-sys`; the adapter in `src/` does.
#![forbid(unsafe_code)]
#![allow(async_fn_in_trait)] // Workers are single-threaded: no Send bounds on purpose.

pub mod alg;
pub mod b64;
pub mod cache;
pub mod claims;
pub mod config;
pub mod crypto;
pub mod discovery;
pub mod error;
pub mod exchange;
pub mod explain;
pub mod fetch;
pub mod future;
pub mod inspect;
pub mod json;
pub mod jwk;
pub mod jwks_cache;
pub mod mint;
pub mod oauth;
pub mod policy;
pub mod reason;
pub mod request;
pub mod routes;
pub mod signing;
pub mod single_flight;
// Cloud STS exchanges (AWS, Google, Entra): feature `clouds`, on by default. Without it, `sts`
// holds only the names the rest of the core uses, with no cloud (sts/off.rs).
#[cfg(feature = "clouds")]
pub mod sts;
#[cfg(not(feature = "clouds"))]
#[path = "sts/off.rs"]
pub mod sts;
pub mod token;
pub mod url;
pub mod vectors;

#[cfg(feature = "pure-crypto")]
pub mod pure_crypto;

pub use error::{Error, OAuthError};
pub use future::apart;

#[cfg(test)]
mod docs_tests;
