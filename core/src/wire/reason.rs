//! Every reason code edge-sts logs, in one place. A reason code names why a request failed (the
//! log line's `reason`, `/explain`'s `reason`); docs/http.md's error table lists each one, and a
//! test (`docs_tests`) keeps the two equal. The `reason()` functions return these constants only:
//! another test refuses a code-shaped string literal anywhere else in the crate or the adapter.

/// Declares one `pub const` per code and [`ALL`], the list of them, from one table.
macro_rules! reasons {
    ($($(#[$doc:meta])* $name:ident = $code:literal,)*) => {
        $($(#[$doc])* pub const $name: &str = $code;)*
        /// Every reason code, in declaration order.
        pub const ALL: &[&str] = &[$($name),*];
    };
}

reasons! {
    // The request (RFC 8693 form).
    REQUEST_METHOD = "request.method",
    REQUEST_CONTENT_TYPE = "request.content_type",
    REQUEST_TOO_LARGE = "request.too_large",
    REQUEST_MISSING = "request.missing",
    REQUEST_REPEATED = "request.repeated",
    REQUEST_GRANT_TYPE = "request.grant_type",
    REQUEST_SUBJECT_TOKEN_TYPE = "request.subject_token_type",
    REQUEST_REQUESTED_TOKEN_TYPE = "request.requested_token_type",
    REQUEST_TOKEN_MISMATCH = "request.token_mismatch",
    REQUEST_ACTOR_TOKEN = "request.actor_token",
    // The subject token's form and header.
    TOKEN_TOO_LARGE = "token.too_large",
    TOKEN_ENCRYPTED = "token.encrypted",
    TOKEN_MALFORMED = "token.malformed",
    TOKEN_BASE64 = "token.base64",
    TOKEN_DUPLICATE_KEY = "token.duplicate_key",
    TOKEN_TOO_DEEP = "token.too_deep",
    TOKEN_JSON = "token.json",
    TOKEN_ALG = "token.alg",
    TOKEN_HEADER_KEY = "token.header_key",
    TOKEN_CRIT = "token.crit",
    TOKEN_KID = "token.kid",
    TOKEN_HEADER_TYP = "token.header_typ",
    TOKEN_UNTRUSTED_ISSUER = "token.untrusted_issuer",
    TOKEN_ALG_NOT_ALLOWED = "token.alg_not_allowed",
    TOKEN_SIGNATURE = "token.signature",
    // The issuer's keys.
    KEY_UNKNOWN_KID = "key.unknown_kid",
    KEY_ALG_MISMATCH = "key.alg_mismatch",
    KEY_AMBIGUOUS = "key.ambiguous",
    KEY_UNAVAILABLE = "key.unavailable",
    // The subject token's claims.
    CLAIMS_ISS = "claims.iss",
    CLAIMS_MISSING = "claims.missing",
    CLAIMS_TIME_TYPE = "claims.time_type",
    CLAIMS_TYPE = "claims.type",
    CLAIMS_EXPIRED = "claims.expired",
    CLAIMS_NBF = "claims.nbf",
    CLAIMS_IAT = "claims.iat",
    CLAIMS_LIFETIME = "claims.lifetime",
    CLAIMS_AUD = "claims.aud",
    CLAIMS_TYP = "claims.typ",
    CLAIMS_CLIENT_ID = "claims.client_id",
    CLAIMS_CLIENT_ID_CONFLICT = "claims.client_id_conflict",
    CLAIMS_NOT_SERVICE_ACCOUNT = "claims.not_service_account",
    CLAIMS_SENDER_CONSTRAINED = "claims.sender_constrained",
    CLAIMS_EXPIRES_TOO_SOON = "claims.expires_too_soon",
    // The trust policy.
    POLICY_UNKNOWN_CLIENT = "policy.unknown_client",
    POLICY_NO_TARGET = "policy.no_target",
    POLICY_UNKNOWN_TARGET = "policy.unknown_target",
    POLICY_TARGET_NOT_ALLOWED = "policy.target_not_allowed",
    POLICY_INCOMPATIBLE_TARGETS = "policy.incompatible_targets",
    POLICY_SCOPE = "policy.scope",
    POLICY_CLAIM_CONFLICT = "policy.claim_conflict",
    POLICY_AMBIGUOUS_TARGET = "policy.ambiguous_target",
    POLICY_TARGET_MODE = "policy.target_mode",
    // edge-sts itself.
    CONFIG_INVALID = "config.invalid",
    CONFIG_NO_SIGNING_KEY = "config.no_signing_key",
    CRYPTO_FAILURE = "crypto.failure",
    /// `POST /explain` without the operator key (the adapter's only own code).
    EXPLAIN_UNAUTHORIZED = "explain.unauthorized",
    // Cloud STS: the shared outcomes, per cloud.
    STS_AWS_CONFIG = "sts.aws.config",
    STS_AWS_CALLER = "sts.aws.caller",
    STS_AWS_THROTTLED = "sts.aws.throttled",
    STS_AWS_UNAVAILABLE = "sts.aws.unavailable",
    STS_AWS_BAD_RESPONSE = "sts.aws.bad_response",
    STS_AWS_UNKNOWN = "sts.aws.unknown",
    STS_GCP_CONFIG = "sts.gcp.config",
    STS_GCP_CALLER = "sts.gcp.caller",
    STS_GCP_THROTTLED = "sts.gcp.throttled",
    STS_GCP_UNAVAILABLE = "sts.gcp.unavailable",
    STS_GCP_BAD_RESPONSE = "sts.gcp.bad_response",
    STS_GCP_UNKNOWN = "sts.gcp.unknown",
    STS_AZURE_CONFIG = "sts.azure.config",
    STS_AZURE_CALLER = "sts.azure.caller",
    STS_AZURE_THROTTLED = "sts.azure.throttled",
    STS_AZURE_UNAVAILABLE = "sts.azure.unavailable",
    STS_AZURE_BAD_RESPONSE = "sts.azure.bad_response",
    STS_AZURE_UNKNOWN = "sts.azure.unknown",
    // AWS STS error codes.
    STS_AWS_INVALID_IDENTITY_TOKEN = "sts.aws.invalid_identity_token",
    STS_AWS_EXPIRED_TOKEN = "sts.aws.expired_token",
    STS_AWS_IDP_COMMUNICATION = "sts.aws.idp_communication",
    STS_AWS_IDP_REJECTED_CLAIM = "sts.aws.idp_rejected_claim",
    STS_AWS_ACCESS_DENIED = "sts.aws.access_denied",
    STS_AWS_VALIDATION = "sts.aws.validation",
    STS_AWS_MALFORMED_POLICY = "sts.aws.malformed_policy",
    STS_AWS_PACKED_POLICY_TOO_LARGE = "sts.aws.packed_policy_too_large",
    STS_AWS_REGION_DISABLED = "sts.aws.region_disabled",
    // Google STS / IAM Credentials error codes.
    STS_GCP_INVALID_REQUEST = "sts.gcp.invalid_request",
    STS_GCP_INVALID_GRANT = "sts.gcp.invalid_grant",
    STS_GCP_UNAUTHORIZED_CLIENT = "sts.gcp.unauthorized_client",
    STS_GCP_INVALID_TARGET = "sts.gcp.invalid_target",
    STS_GCP_INVALID_SCOPE = "sts.gcp.invalid_scope",
    STS_GCP_PERMISSION_DENIED = "sts.gcp.permission_denied",
    STS_GCP_NOT_FOUND = "sts.gcp.not_found",
    STS_GCP_INVALID_ARGUMENT = "sts.gcp.invalid_argument",
    STS_GCP_UNAUTHENTICATED = "sts.gcp.unauthenticated",
    // Entra AADSTS error codes.
    STS_AZURE_NO_FEDERATED_CREDENTIAL = "sts.azure.no_federated_credential",
    STS_AZURE_ISSUER_MISMATCH = "sts.azure.issuer_mismatch",
    STS_AZURE_AUDIENCE_MISMATCH = "sts.azure.audience_mismatch",
    STS_AZURE_SUBJECT_MISMATCH = "sts.azure.subject_mismatch",
    STS_AZURE_SUBJECT_CASE = "sts.azure.subject_case",
    STS_AZURE_EXPRESSION_MISMATCH = "sts.azure.expression_mismatch",
    STS_AZURE_ASSERTION_TIME = "sts.azure.assertion_time",
    STS_AZURE_UNSUPPORTED_ALG = "sts.azure.unsupported_alg",
    STS_AZURE_APP_NOT_FOUND = "sts.azure.app_not_found",
    STS_AZURE_TENANT_NOT_FOUND = "sts.azure.tenant_not_found",
    STS_AZURE_INVALID_SCOPE = "sts.azure.invalid_scope",
    STS_AZURE_RESOURCE_NOT_FOUND = "sts.azure.resource_not_found",
    STS_AZURE_KEY_NOT_FOUND = "sts.azure.key_not_found",
    STS_AZURE_IDP_COMMUNICATION = "sts.azure.idp_communication",
    STS_AZURE_INVALID_SIGNATURE = "sts.azure.invalid_signature",
}

/// The namespaces a reason code starts with (`<namespace>.<what>`).
pub const NAMESPACES: &[&str] = &["request", "token", "key", "claims", "policy", "config", "crypto", "explain", "sts"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_well_formed() {
        let mut seen = std::collections::BTreeSet::new();
        for c in ALL {
            assert!(seen.insert(*c), "{c} declared twice");
            let (ns, rest) = c.split_once('.').unwrap();
            assert!(NAMESPACES.contains(&ns), "{c}: unknown namespace");
            assert!(
                !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.'),
                "{c}"
            );
        }
        assert!(ALL.len() > 90, "the registry lists every code");
    }
}
