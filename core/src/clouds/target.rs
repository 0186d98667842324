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
