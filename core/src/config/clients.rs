//! `clients`: which caller (client id or glob, optionally from one issuer) may get which targets.
use super::issuers::TrustedIssuer;
use super::{cerr, ConfigError};
use crate::policy::trust::{ClientPattern, ClientRule, Target};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub(super) struct RawClient {
    client: String,
    #[serde(default)]
    issuer: Option<String>,
    targets: Vec<String>,
    #[serde(default)]
    default_target: Option<String>,
}

pub(super) fn load(
    raw: Vec<RawClient>,
    targets: &BTreeMap<String, Target>,
    trusted: &[TrustedIssuer],
) -> Result<Vec<ClientRule>, ConfigError> {
    let mut rules = Vec::new();
    for (i, c) in raw.into_iter().enumerate() {
        let f = |n: &str| format!("clients[{i}].{n}");
        if c.client.is_empty() || c.client.chars().all(|ch| ch == '*' || ch == '?') {
            return Err(cerr(f("client"), "matches every client", "name the client id, or a narrower glob such as \"batch-*\""));
        }
        for t in c.targets.iter().chain(c.default_target.iter()) {
            if !targets.contains_key(t) {
                return Err(cerr(f("targets"), format!("unknown target `{t}`"), "define it under `targets`"));
            }
        }
        if let Some(d) = &c.default_target {
            if !c.targets.contains(d) {
                return Err(cerr(f("default_target"), "default target is not in the client's targets", "add it to `targets`"));
            }
        }
        match &c.issuer {
            Some(iss) if !trusted.iter().any(|t| t.rules.issuer == *iss) => {
                return Err(cerr(f("issuer"), "not a trusted issuer", "use an issuer from trusted_issuers"));
            }
            // Two realms may both have a client of this name: a rule names the realm it is for.
            None if trusted.len() > 1 => {
                return Err(cerr(
                    f("issuer"),
                    "no issuer, and more than one issuer is trusted",
                    "name the trusted issuer whose client this rule is for (one rule per issuer)",
                ));
            }
            _ => {}
        }
        rules.push(ClientRule {
            pattern: ClientPattern::new(&c.client),
            issuer: c.issuer,
            targets: c.targets,
            default_target: c.default_target,
        });
    }
    Ok(rules)
}
