//! The cloud blocks of a target in a build without the `clouds` feature (a downstream-only
//! Worker): serde still accepts `aws`, `gcp` and `azure` (as anything) only so that the loader can
//! refuse them by their path, naming the feature, instead of serde's "unknown field".
use super::{cerr, Config, ConfigError, WITHOUT_CLOUDS_FIX, WITHOUT_CLOUDS_PROBLEM};
use crate::clouds::{CloudMode, CloudTarget};
use crate::jose::alg::Alg;
use crate::policy::trust::{ClientRule, Target};
use serde::de::IgnoredAny;
use serde::Deserialize;
use std::collections::BTreeMap;

/// A cloud block, read as anything and never used: [`check_blocks`] refuses it.
#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub(super) struct Unsupported(
    #[cfg_attr(test, schemars(with = "serde_json::Value"))]
    #[allow(dead_code)]
    IgnoredAny,
);
pub(super) type RawAws = Unsupported;
pub(super) type RawGcp = Unsupported;
pub(super) type RawAzure = Unsupported;

/// No cloud block at all: the first present one (`blocks` says which of `aws`, `gcp`, `azure`
/// are) is refused by its path.
pub(super) fn check_blocks(f: &impl Fn(&str) -> String, blocks: [(&str, bool); 3]) -> Result<(), ConfigError> {
    match blocks.iter().find(|(_, present)| *present) {
        Some((block, _)) => Err(cerr(f(block), WITHOUT_CLOUDS_PROBLEM, WITHOUT_CLOUDS_FIX)),
        None => Ok(()),
    }
}

/// No target has a cloud ([`check_blocks`] refused every block).
#[allow(clippy::too_many_arguments)]
pub(super) fn block(
    _: &impl Fn(&str) -> String,
    _: &str,
    _: (Option<RawAws>, Option<RawGcp>, Option<RawAzure>),
    _: &[String],
    _: &str,
    _: Alg,
    _: u64,
    _: &str,
    _: bool,
) -> Result<(Option<CloudTarget>, CloudMode), ConfigError> {
    Ok((None, CloudMode::Brokered))
}

/// Nothing to check: no target is an AWS target.
pub(super) fn check_aws_session_names(_: &BTreeMap<String, Target>, _: &[ClientRule], _: usize) -> Result<(), ConfigError> {
    Ok(())
}

/// Nothing to check: no target is brokered.
pub(super) fn check_cloud_trust(_: &BTreeMap<String, Target>, _: &[ClientRule]) -> Result<(), ConfigError> {
    Ok(())
}

/// Nothing to warn about: no target is brokered.
pub fn cloud_trust_warnings(_: &Config) -> Vec<(String, String)> {
    Vec::new()
}

/// Nothing to refuse: the loader already refused every cloud block.
pub fn check_without_clouds(_: &Config) -> Result<(), ConfigError> {
    Ok(())
}
