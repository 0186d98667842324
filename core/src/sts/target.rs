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
