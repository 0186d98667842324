//! The trust policy: which caller may get which target, with which scopes and claims.
//! Compiled once from config (`config::load`), then applied per request with reasons.
use crate::alg::Alg;
use crate::claims::Caller;
use crate::request::TargetRef;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;
use wildmatch::WildMatch;

/// Claims the policy may never set or overwrite.
pub const PROTECTED_CLAIMS: [&str; 12] = ["iss", "sub", "aud", "exp", "iat", "nbf", "jti", "client_id", "scope", "act", "cnf", "typ"];

#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    pub audience: String,
    pub scopes: Vec<String>,
    pub default_scopes: Vec<String>,
    pub lifetime_secs: u64,
    pub allow_beyond_subject_expiry: bool,
    /// (source path in the subject token, e.g. `realm_access.roles`; destination claim)
    pub copy_claims: Vec<(String, String)>,
    pub static_claims: Map<String, Value>,
    pub signing_alg: Alg,
    /// A cloud target: the minted token is exchanged at that cloud's STS and the answer is the
    /// cloud's credentials.
    pub cloud: Option<crate::sts::CloudTarget>,
}

#[derive(Debug, Clone)]
pub enum ClientPattern {
    Exact(String),
    Glob(String, WildMatch),
}

impl ClientPattern {
    pub fn new(p: &str) -> ClientPattern {
        if p.contains(['*', '?']) {
            ClientPattern::Glob(p.to_owned(), WildMatch::new(p))
        } else {
            ClientPattern::Exact(p.to_owned())
        }
    }
    pub fn as_str(&self) -> &str {
        match self {
            ClientPattern::Exact(s) | ClientPattern::Glob(s, _) => s,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ClientRule {
    pub pattern: ClientPattern,
    /// Restrict the rule to callers from one trusted issuer.
    pub issuer: Option<String>,
    pub targets: Vec<String>,
    pub default_target: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct TrustPolicy {
    pub targets: BTreeMap<String, Target>,
    pub clients: Vec<ClientRule>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyError {
    UnknownClient,
    NoTarget,
    UnknownTarget,
    TargetNotAllowed,
    /// Several targets that cannot share one token (different signing algorithms).
    IncompatibleTargets,
    InvalidScope,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PolicyError::UnknownClient => "client is not known to the trust policy",
            PolicyError::NoTarget => "no target named and the client has no default target",
            PolicyError::UnknownTarget => "target is unknown",
            PolicyError::TargetNotAllowed => "target is not allowed for this client",
            PolicyError::IncompatibleTargets => "these targets cannot share one token",
            PolicyError::InvalidScope => "requested scope exceeds what the policy allows",
        })
    }
}

impl PolicyError {
    pub fn reason(&self) -> &'static str {
        match self {
            PolicyError::UnknownClient => "policy.unknown_client",
            PolicyError::NoTarget => "policy.no_target",
            PolicyError::UnknownTarget => "policy.unknown_target",
            PolicyError::TargetNotAllowed => "policy.target_not_allowed",
            PolicyError::IncompatibleTargets => "policy.incompatible_targets",
            PolicyError::InvalidScope => "policy.scope",
        }
    }
}

/// What a caller gets: the decision, with the rule that made it.
#[derive(Debug, Clone)]
pub struct Grant<'a> {
    pub rule: &'a ClientRule,
    pub targets: Vec<&'a Target>,
    pub scopes: Vec<String>,
}

impl Grant<'_> {
    pub fn audiences(&self) -> Vec<&str> {
        self.targets.iter().map(|t| t.audience.as_str()).collect()
    }
    pub fn lifetime_secs(&self) -> u64 {
        self.targets.iter().map(|t| t.lifetime_secs).min().unwrap_or(0)
    }
    pub fn allow_beyond_subject_expiry(&self) -> bool {
        self.targets.iter().all(|t| t.allow_beyond_subject_expiry)
    }
    pub fn signing_alg(&self) -> Alg {
        self.targets[0].signing_alg
    }
}

pub fn valid_scope_token(s: &str) -> bool {
    // RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
    !s.is_empty() && s.bytes().all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
}

impl TrustPolicy {
    /// Exact client ids win over globs; globs are tried in configuration order.
    pub fn rule_for(&self, caller: &Caller) -> Option<&ClientRule> {
        let issuer_ok = |r: &&ClientRule| r.issuer.as_deref().is_none_or(|i| i == caller.issuer);
        self.clients.iter().filter(issuer_ok).find(|r| matches!(&r.pattern, ClientPattern::Exact(id) if *id == caller.client_id)).or_else(
            || {
                self.clients
                    .iter()
                    .filter(issuer_ok)
                    .find(|r| matches!(&r.pattern, ClientPattern::Glob(_, g) if g.matches(&caller.client_id)))
            },
        )
    }

    fn resolve(&self, r: &TargetRef) -> Option<&Target> {
        match r {
            TargetRef::Name(n) => self.targets.get(n),
            TargetRef::Uri(u) => self.targets.values().find(|t| t.audience == *u),
        }
    }

    pub fn authorize(&self, caller: &Caller, requested: &[TargetRef], scope: Option<&str>) -> Result<Grant<'_>, PolicyError> {
        let rule = self.rule_for(caller).ok_or(PolicyError::UnknownClient)?;
        let mut targets: Vec<&Target> = Vec::new();
        if requested.is_empty() {
            let name = rule.default_target.as_ref().ok_or(PolicyError::NoTarget)?;
            targets.push(self.targets.get(name).ok_or(PolicyError::UnknownTarget)?);
        }
        for r in requested {
            let t = self.resolve(r).ok_or(PolicyError::UnknownTarget)?;
            if !rule.targets.contains(&t.name) {
                return Err(PolicyError::TargetNotAllowed);
            }
            if !targets.iter().any(|x| x.name == t.name) {
                targets.push(t);
            }
        }
        // A cloud target answers with that cloud's credentials: it cannot share a request.
        if targets.len() > 1 && targets.iter().any(|t| t.cloud.is_some()) {
            return Err(PolicyError::IncompatibleTargets);
        }
        if targets.iter().any(|t| t.signing_alg != targets[0].signing_alg) {
            return Err(PolicyError::IncompatibleTargets);
        }
        // A token for several audiences may carry only scopes every one of them allows.
        let allowed = |s: &str| targets.iter().all(|t| t.scopes.iter().any(|x| x == s));
        let scopes: Vec<String> = match scope {
            Some(req) => {
                let mut out: Vec<String> = Vec::new();
                for s in req.split(' ').filter(|s| !s.is_empty()) {
                    if !valid_scope_token(s) || !allowed(s) {
                        return Err(PolicyError::InvalidScope);
                    }
                    if !out.iter().any(|x| x == s) {
                        out.push(s.to_owned());
                    }
                }
                out
            }
            None => targets[0].default_scopes.iter().filter(|s| targets.iter().all(|t| t.default_scopes.contains(s))).cloned().collect(),
        };
        Ok(Grant { rule, targets, scopes })
    }
}
