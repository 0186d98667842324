//! The flows over everything below: the RFC 8693 exchange, the policy dry-run (`explain`),
//! the playground's per-check report (`inspect`), the per-isolate token caches, and `Error`, the
//! one type they answer with.

pub mod error;
pub mod exchange;
pub mod explain;
pub mod inspect;
pub mod token_cache;
