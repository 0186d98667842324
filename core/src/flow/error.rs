//! Every way a request can fail, and the one mapping from those to the OAuth wire error
//! (RFC 6749 §5.2, RFC 8693 §2.2.2). The adapter only renders what `to_oauth` returns.
//!
//! Descriptions are short, fixed phrases: never the token, a claim value, a key or a secret.
use crate::clouds::{Blame, StsError, THROTTLE_RETRY_AFTER_SECS};
use crate::issuer::claims::ClaimsError;
use crate::issuer::key_store::KeyError;
use crate::jose::crypto::CryptoError;
use crate::jose::token::TokenError;
use crate::policy::trust::PolicyError;
use crate::wire::reason;
use crate::wire::request::RequestError;
use std::fmt;

#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    Request(RequestError),
    Token(TokenError),
    /// The token's `iss` is not a configured issuer (checked before any fetch).
    UntrustedIssuer,
    /// The issuer is configured with an algorithm allow-list that excludes the token's `alg`.
    AlgNotAllowed,
    Key(KeyError),
    BadSignature,
    Claims(ClaimsError),
    Policy(PolicyError),
    /// The subject token's remaining life is under one second.
    SubjectExpiresTooSoon,
    /// No active signing key for the algorithm the target needs.
    NoSigningKey,
    Crypto(CryptoError),
    Config(String),
    /// A brokered cloud exchange failed (see `sts::Blame` for who is to blame).
    Sts(StsError),
}

/// What goes on the wire, plus a stable reason code for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub status: u16,
    pub error: &'static str,
    pub description: String,
    pub reason: &'static str,
    pub retry_after: Option<u64>,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Request(e) => e.fmt(f),
            Error::Token(e) => e.fmt(f),
            Error::UntrustedIssuer => f.write_str("subject token issuer is not trusted"),
            Error::AlgNotAllowed => f.write_str("subject token alg is not accepted for this issuer"),
            Error::Key(e) => e.fmt(f),
            Error::BadSignature => f.write_str("subject token signature is invalid"),
            Error::Claims(e) => e.fmt(f),
            Error::Policy(e) => e.fmt(f),
            Error::SubjectExpiresTooSoon => f.write_str("subject token expires too soon to exchange"),
            Error::NoSigningKey => f.write_str("no signing key is configured for this target"),
            Error::Crypto(_) => f.write_str("token could not be signed"),
            Error::Config(_) => f.write_str("edge-sts is not configured correctly"),
            Error::Sts(e) => e.fmt(f),
        }
    }
}

impl Error {
    pub fn reason(&self) -> &'static str {
        match self {
            Error::Request(e) => e.reason(),
            Error::Token(e) => e.reason(),
            Error::UntrustedIssuer => reason::TOKEN_UNTRUSTED_ISSUER,
            Error::AlgNotAllowed => reason::TOKEN_ALG_NOT_ALLOWED,
            Error::Key(KeyError::UnknownKid) => reason::KEY_UNKNOWN_KID,
            Error::Key(KeyError::AlgMismatch) => reason::KEY_ALG_MISMATCH,
            Error::Key(KeyError::Ambiguous) => reason::KEY_AMBIGUOUS,
            Error::Key(KeyError::Unavailable(_)) => reason::KEY_UNAVAILABLE,
            Error::BadSignature => reason::TOKEN_SIGNATURE,
            Error::Claims(e) => e.reason(),
            Error::Policy(e) => e.reason(),
            Error::SubjectExpiresTooSoon => reason::CLAIMS_EXPIRES_TOO_SOON,
            Error::NoSigningKey => reason::CONFIG_NO_SIGNING_KEY,
            Error::Crypto(_) => reason::CRYPTO_FAILURE,
            Error::Config(_) => reason::CONFIG_INVALID,
            Error::Sts(e) => e.reason(),
        }
    }

    /// The one mapping to the wire. `retry_after_secs` is the JWKS cooldown.
    pub fn to_oauth(&self, retry_after_secs: u64) -> OAuthError {
        let (status, error, retry_after) = match self {
            Error::Request(RequestError::UnsupportedGrantType) => (400, "unsupported_grant_type", None),
            Error::Request(RequestError::MethodNotAllowed) => (405, "invalid_request", None),
            Error::Request(_) | Error::Token(_) | Error::UntrustedIssuer | Error::AlgNotAllowed => (400, "invalid_request", None),
            Error::Key(KeyError::UnknownKid | KeyError::AlgMismatch | KeyError::Ambiguous) => (400, "invalid_request", None),
            Error::Key(KeyError::Unavailable(_)) => (503, "temporarily_unavailable", Some(retry_after_secs.max(1))),
            Error::BadSignature | Error::Claims(_) | Error::SubjectExpiresTooSoon => (400, "invalid_request", None),
            Error::Policy(PolicyError::UnknownClient) => (400, "invalid_request", None),
            Error::Policy(PolicyError::InvalidScope) => (400, "invalid_scope", None),
            Error::Policy(_) => (400, "invalid_target", None),
            Error::NoSigningKey | Error::Config(_) => (503, "server_error", None),
            Error::Crypto(_) => (500, "server_error", None),
            // See `Blame` for why each answer.
            Error::Sts(e) => match e.blame() {
                Blame::Caller => (400, "invalid_target", None),
                Blame::Config => (503, "server_error", None),
                Blame::Upstream => (502, "server_error", None),
                Blame::Throttled => (503, "temporarily_unavailable", Some(THROTTLE_RETRY_AFTER_SECS)),
            },
        };
        OAuthError { status, error, description: self.to_string(), reason: self.reason(), retry_after }
    }
}

impl From<RequestError> for Error {
    fn from(e: RequestError) -> Self {
        Error::Request(e)
    }
}
impl From<TokenError> for Error {
    fn from(e: TokenError) -> Self {
        Error::Token(e)
    }
}
impl From<crate::jose::jwk::SelectError> for Error {
    fn from(e: crate::jose::jwk::SelectError) -> Self {
        Error::Key(e.into())
    }
}
impl From<KeyError> for Error {
    fn from(e: KeyError) -> Self {
        Error::Key(e)
    }
}
impl From<ClaimsError> for Error {
    fn from(e: ClaimsError) -> Self {
        Error::Claims(e)
    }
}
impl From<PolicyError> for Error {
    fn from(e: PolicyError) -> Self {
        Error::Policy(e)
    }
}
impl From<CryptoError> for Error {
    fn from(e: CryptoError) -> Self {
        Error::Crypto(e)
    }
}
