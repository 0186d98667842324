//! edge-sts core: everything that decides, nothing that does I/O.
//!
//! In scope: strict compact-JWS parsing, JWK/JWKS parsing and key selection, the JWKS cache
//! *policy* (when to fetch, what to serve), claim validation, the trust policy, minting
//! downstream tokens, and the RFC 8693 exchange flow over two small traits:
//! [`io::fetch::Fetch`] (HTTP GET, a timer, optional persistence) and [`jose::crypto::SignatureBackend`]
//! (signature math).
//!
//! Out of scope: the clock (every function takes `now`), the network, randomness (the caller
//! passes the `jti`), the Workers runtime. This crate never imports `worker`, `wasm-bindgen`
//! or `web-sys`; the adapter in `src/` does.
#![forbid(unsafe_code)]
#![allow(async_fn_in_trait)] // Workers are single-threaded: no Send bounds on purpose.

// The layers, bottom to top. A module imports only from its own layer and the layers below it
// (core/tests/module_graph.rs holds this).

// The seams to the outside world: HTTP and KV (`Fetch`), single flight, outlined futures.
pub mod io;

// The wire's vocabulary: reason codes, OAuth identifiers, URL rules, routes, the /token form.
pub mod wire;

// JOSE primitives: algorithms, base64url, strict JSON, JWKs, compact JWS, signatures, our keys.
pub mod jose;

// A trusted issuer: discovery, its key store, its claim rules.
pub mod issuer;

// Cloud STS exchanges (AWS, Google, Entra): feature `clouds`, on by default. Without it,
// `clouds` holds only the names the rest of the core uses, with no cloud (clouds/off.rs).
#[cfg(feature = "clouds")]
pub mod clouds;
#[cfg(not(feature = "clouds"))]
#[path = "clouds/off.rs"]
pub mod clouds;

// The trust policy and minting.
pub mod policy;

// The configuration: loaded and validated once into all of the above.
pub mod config;

// The flows: exchange, explain, inspect, the token caches, and the one error type they answer with.
pub mod flow;

pub use flow::error::{Error, OAuthError};
pub use io::outlined::outlined;

#[cfg(test)]
mod docs_tests;
