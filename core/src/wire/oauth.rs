//! OAuth 2.0 and RFC 8693 vocabulary shared by the `/token` request, its answers and the
//! cloud STS calls: the grant and token-type identifiers and the scope-token grammar.

/// RFC 8693 §2.1 `grant_type`.
pub const GRANT_TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// RFC 8693 §3 token type: an OAuth access token.
pub const TT_ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";
/// RFC 8693 §3 token type: a JWT.
pub const TT_JWT: &str = "urn:ietf:params:oauth:token-type:jwt";
/// RFC 8693 §2.2.1: `token_type` when the issued thing is not a bearer token (AWS credentials,
/// an assertion for the caller to exchange itself).
pub const TOKEN_TYPE_NA: &str = "N_A";

/// A scope token (RFC 6749 §3.3): `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`, so
/// non-empty, no spaces, quotes or backslashes.
pub fn valid_scope_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
}
