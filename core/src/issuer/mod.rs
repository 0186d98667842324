//! A trusted issuer: OIDC discovery, the per-isolate store of its keys (the JWKS cache
//! policy), and the claim rules that turn a verified payload into a `Caller`.

pub mod claims;
pub mod discovery;
pub mod key_store;
