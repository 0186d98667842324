//! The wire's vocabulary, shared by every layer: reason codes, RFC 6749/8693 identifiers,
//! the URL rules, the route table and the parsed `/token` form.

pub mod oauth;
pub mod reason;
pub mod request;
pub mod routes;
pub mod url;
