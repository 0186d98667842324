//! A cloud a target brokers an exchange with: the validated `aws`, `gcp` or `azure` block of a
//! target (`config` builds it, `policy::Target` carries it, `exchange` runs it).
use super::{aws::AwsRole, azure::AzureApp, gcp::GcpTarget, Cloud};

/// A cloud a target brokers an exchange with.
#[derive(Debug, Clone)]
pub enum CloudTarget {
    Aws(AwsRole),
    Gcp(GcpTarget),
    Azure(AzureApp),
}

/// How a cloud target serves its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CloudMode {
    /// edge-sts calls the cloud and answers with the cloud's credentials; the target's role,
    /// scopes, service account and lifetime are enforced by edge-sts.
    #[default]
    Brokered,
    /// edge-sts answers with the assertion it mints for the cloud and calls no cloud: the
    /// caller's SDK does the cloud exchange itself, so the cloud's own trust configuration, not
    /// edge-sts, limits what the caller can do. `lifetime_secs` is the explicit
    /// `assertion_lifetime_secs` (not capped at the subject token's expiry), if set.
    Assertion { lifetime_secs: Option<u64> },
}

impl CloudMode {
    pub fn is_assertion(self) -> bool {
        matches!(self, CloudMode::Assertion { .. })
    }

    /// `"brokered"` or `"assertion"`, as configured.
    pub fn as_str(self) -> &'static str {
        match self {
            CloudMode::Brokered => "brokered",
            CloudMode::Assertion { .. } => "assertion",
        }
    }
}

/// The longest `assertion_lifetime_secs` the configuration accepts.
pub const MAX_ASSERTION_LIFETIME_SECS: u64 = 3600;

impl CloudTarget {
    pub fn cloud(&self) -> Cloud {
        match self {
            CloudTarget::Aws(_) => Cloud::Aws,
            CloudTarget::Gcp(_) => Cloud::Gcp,
            CloudTarget::Azure(_) => Cloud::Azure,
        }
    }
}

/// Claims a cloud reads on its own to decide trust, so a cloud target's `copy_claims` and
/// `static_claims` may not write them (on top of `policy::PROTECTED_CLAIMS`, which edge-sts
/// itself sets):
///
/// - `azp`: AWS evaluates `<issuer host>:aud` against `azp` when the token carries it;
/// - `amr`: authentication methods, an AWS web identity condition key;
/// - `https://aws.amazon.com/tags`: AWS session tags (principal and transitive tag keys), which
///   attribute-based access control trusts;
/// - `https://aws.amazon.com/source_identity`: the AWS source identity, kept across role chains.
///
/// One list for every cloud: which claims a cloud reads is the cloud's definition, not the
/// target's, and a target moves between clouds by editing its block. Entra's federated
/// credentials read `iss`, `sub` and `aud` (protected anyway); Google reads whatever its
/// provider's attribute mapping names, so on a Google target every copied or static claim can
/// be part of what Google trusts.
pub const CLOUD_PROTECTED_CLAIMS: [&str; 4] = ["azp", "amr", "https://aws.amazon.com/tags", "https://aws.amazon.com/source_identity"];
