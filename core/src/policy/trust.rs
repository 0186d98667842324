//! The trust policy: which caller may get which target, with which scopes and claims.
//! Compiled once from config (`config::load`), then applied per request with reasons.
use crate::issuer::claims::Caller;
use crate::jose::alg::Alg;
use crate::wire::oauth::valid_scope_token;
use crate::wire::reason;
use crate::wire::request::TargetRef;
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
    pub cloud: Option<crate::clouds::CloudTarget>,
    /// How a cloud target serves its caller (`Brokered` for a downstream target, unused).
    pub cloud_mode: crate::clouds::CloudMode,
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
    /// The client rules in configuration order; private so the index below cannot go stale.
    clients: Vec<ClientRule>,
    /// Built once by [`TrustPolicy::new`]: the indices of the exact-id rules, sorted by client id
    /// and, within one id, in configuration order (several only when rules differ by issuer, or
    /// repeat). Searched by bisection.
    exact: Vec<usize>,
    /// The indices of the glob rules, in configuration order.
    globs: Vec<usize>,
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
    /// Two granted targets write one claim with different values (copied or static).
    ConflictingClaims,
    /// A `resource=` URI that is the audience of more than one target (cloud targets may share
    /// one, e.g. every Entra target's `api://AzureADTokenExchange`): name the target instead.
    AmbiguousTarget,
    /// A route that serves only cloud targets in assertion mode (`/gcp/*`) was asked for another.
    TargetMode,
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
            PolicyError::ConflictingClaims => "these targets set one claim to different values",
            PolicyError::AmbiguousTarget => "resource matches more than one target; name the target with audience",
            PolicyError::TargetMode => "this route serves only gcp targets in assertion mode",
        })
    }
}

impl PolicyError {
    pub fn reason(&self) -> &'static str {
        match self {
            PolicyError::UnknownClient => reason::POLICY_UNKNOWN_CLIENT,
            PolicyError::NoTarget => reason::POLICY_NO_TARGET,
            PolicyError::UnknownTarget => reason::POLICY_UNKNOWN_TARGET,
            PolicyError::TargetNotAllowed => reason::POLICY_TARGET_NOT_ALLOWED,
            PolicyError::IncompatibleTargets => reason::POLICY_INCOMPATIBLE_TARGETS,
            PolicyError::InvalidScope => reason::POLICY_SCOPE,
            PolicyError::ConflictingClaims => reason::POLICY_CLAIM_CONFLICT,
            PolicyError::AmbiguousTarget => reason::POLICY_AMBIGUOUS_TARGET,
            PolicyError::TargetMode => reason::POLICY_TARGET_MODE,
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
    /// The smallest `lifetime_secs` of the targets; for an assertion-mode cloud target (always
    /// alone in its grant) with `assertion_lifetime_secs`, that value.
    pub fn lifetime_secs(&self) -> u64 {
        if let Some(l) = self.assertion_lifetime_secs() {
            return l;
        }
        self.targets.iter().map(|t| t.lifetime_secs).min().unwrap_or(0)
    }
    /// Whether the minted token may outlive the subject token: every target allows it, or the
    /// grant is an assertion-mode target's explicit `assertion_lifetime_secs`.
    pub fn allow_beyond_subject_expiry(&self) -> bool {
        self.assertion_lifetime_secs().is_some() || self.targets.iter().all(|t| t.allow_beyond_subject_expiry)
    }
    fn assertion_lifetime_secs(&self) -> Option<u64> {
        match self.targets.as_slice() {
            [t] if t.cloud.is_some() => match t.cloud_mode {
                crate::clouds::CloudMode::Assertion { lifetime_secs } => lifetime_secs,
                crate::clouds::CloudMode::Brokered => None,
            },
            _ => None,
        }
    }
    pub fn signing_alg(&self) -> Alg {
        self.targets[0].signing_alg
    }
}

/// What a target writes into one claim of the minted token.
#[derive(Debug, Clone, PartialEq)]
enum Write<'a> {
    Copied(&'a str),
    Static(&'a Value),
}

fn writes(t: &Target) -> impl Iterator<Item = (&str, Write<'_>)> {
    t.static_claims
        .iter()
        .map(|(k, v)| (k.as_str(), Write::Static(v)))
        .chain(t.copy_claims.iter().map(|(src, dest)| (dest.as_str(), Write::Copied(src.as_str()))))
}

/// A pair of targets one client may request together that could write one claim with
/// different values (so such a request would be refused with `policy.claim_conflict`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PossibleConflict {
    /// Index of the client rule in `clients`.
    pub client: usize,
    pub targets: (String, String),
    pub claim: String,
    /// The subject-token paths either target copies the claim from, `(target, path)`: when one
    /// is missing, that target's claim is absent, which conflicts with the other's value too (a
    /// copied claim is never filled from another target).
    pub copied: Vec<(String, String)>,
}

impl TrustPolicy {
    /// The policy over `targets` and `clients` (in configuration order), with the client-id
    /// index [`TrustPolicy::rule_for`] uses.
    pub fn new(targets: BTreeMap<String, Target>, clients: Vec<ClientRule>) -> TrustPolicy {
        let (mut exact, mut globs): (Vec<usize>, Vec<usize>) = (Vec::new(), Vec::new());
        for (i, r) in clients.iter().enumerate() {
            match &r.pattern {
                // After every rule whose id sorts before or equals this one: configuration order
                // within one id. (An insertion sort: smaller in the Worker than a sort routine.)
                ClientPattern::Exact(id) => exact.insert(exact.partition_point(|&j| clients[j].pattern.as_str() <= id.as_str()), i),
                ClientPattern::Glob(..) => globs.push(i),
            }
        }
        TrustPolicy { targets, clients, exact, globs }
    }

    /// The client rules, in configuration order.
    pub fn clients(&self) -> &[ClientRule] {
        &self.clients
    }

    /// Every pair of targets a client rule may request together (both downstream targets with
    /// the same signing algorithm) where one claim could get two values: two static values
    /// that differ, a copied value beside a static one, or values copied from different paths
    /// (a missing source included: the copying target's claim is then absent, never the other's).
    pub fn possible_conflicts(&self) -> Vec<PossibleConflict> {
        let mut out = Vec::new();
        for (i, rule) in self.clients.iter().enumerate() {
            let mut ts: Vec<&Target> = rule.targets.iter().filter_map(|n| self.targets.get(n)).collect();
            ts.sort_unstable_by(|a, b| a.name.cmp(&b.name));
            ts.dedup_by(|a, b| a.name == b.name);
            for (x, a) in ts.iter().enumerate() {
                for b in &ts[x + 1..] {
                    if a.cloud.is_some() || b.cloud.is_some() || a.signing_alg != b.signing_alg {
                        continue; // never granted together
                    }
                    let mut claims: Vec<&str> = Vec::new();
                    for (ka, wa) in writes(a) {
                        for (kb, wb) in writes(b) {
                            if ka == kb && wa != wb && !claims.contains(&ka) {
                                claims.push(ka);
                            }
                        }
                    }
                    for c in claims {
                        let copied = [a, b]
                            .iter()
                            .flat_map(|t| t.copy_claims.iter().filter(|(_, d)| d == c).map(|(src, _)| (t.name.clone(), src.clone())))
                            .collect();
                        out.push(PossibleConflict { client: i, targets: (a.name.clone(), b.name.clone()), claim: c.to_owned(), copied });
                    }
                }
            }
        }
        out
    }

    /// Exact client ids win over globs; globs are tried in configuration order. Among rules of
    /// one kind, the first in configuration order whose issuer (if any) is the caller's wins.
    /// Exact ids are found by bisecting the index built at load (O(log n)); only globs are scanned.
    pub fn rule_for(&self, caller: &Caller) -> Option<&ClientRule> {
        let issuer_ok = |r: &&ClientRule| r.issuer.as_deref().is_none_or(|i| i == caller.issuer);
        let id = caller.client_id.as_str();
        let from = self.exact.partition_point(|&i| self.clients[i].pattern.as_str() < id);
        let mut exact = self.exact[from..].iter().map(|&i| &self.clients[i]).take_while(|r| r.pattern.as_str() == id);
        exact.find(issuer_ok).or_else(|| {
            self.globs
                .iter()
                .map(|&i| &self.clients[i])
                .filter(issuer_ok)
                .find(|r| matches!(&r.pattern, ClientPattern::Glob(_, g) if g.matches(&caller.client_id)))
        })
    }

    /// The target a request names. A `resource=` URI must be the audience of exactly one
    /// target: cloud targets may share an audience, and then only their names select them.
    fn resolve(&self, r: &TargetRef) -> Result<&Target, PolicyError> {
        match r {
            TargetRef::Name(n) => self.targets.get(n).ok_or(PolicyError::UnknownTarget),
            TargetRef::Uri(u) => {
                let mut found = self.targets.values().filter(|t| t.audience == *u);
                match (found.next(), found.next()) {
                    (Some(t), None) => Ok(t),
                    (None, _) => Err(PolicyError::UnknownTarget),
                    (Some(_), Some(_)) => Err(PolicyError::AmbiguousTarget),
                }
            }
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
            let t = self.resolve(r)?;
            if !rule.targets.contains(&t.name) {
                return Err(PolicyError::TargetNotAllowed);
            }
            if !targets.iter().any(|x| x.name == t.name) {
                targets.push(t);
            }
        }
        // Targets granted together are processed in one fixed order (by target name), whatever
        // the order of the request's parameters: it decides the `aud` array, whose default
        // scopes apply and the order claims are merged in.
        targets.sort_unstable_by(|a, b| a.name.cmp(&b.name));
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
                for s in req.split(' ').filter(|s| !s.is_empty()) {
                    if !valid_scope_token(s) || !allowed(s) {
                        return Err(PolicyError::InvalidScope);
                    }
                }
                // Scopes are a set (RFC 6749 §3.3): granted in the first target's configured
                // order, not the caller's, so the order of the request cannot change the token.
                let wanted: Vec<&str> = req.split(' ').filter(|s| !s.is_empty()).collect();
                targets[0].scopes.iter().filter(|s| wanted.contains(&s.as_str())).cloned().collect()
            }
            None => targets[0].default_scopes.iter().filter(|s| targets.iter().all(|t| t.default_scopes.contains(s))).cloned().collect(),
        };
        Ok(Grant { rule, targets, scopes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;
    use crate::policy::mint;
    use serde_json::json;

    const ISS: &str = "https://kc.example/realms/r";

    fn policy() -> TrustPolicy {
        config::load(
            &json!({
                "mode": "dev",
                "issuer": "https://sts.example",
                "trusted_issuers": [{"issuer": ISS, "audiences": ["edge-sts"]}],
                "targets": {
                    "orders": {"audience": "https://orders", "scopes": ["read", "write", "admin"], "default_scopes": ["read"],
                               "copy_claims": {"realm_access.roles": "roles"}, "static_claims": {"env": "prod"}},
                    "billing": {"audience": "https://billing", "scopes": ["read", "write", "admin"], "default_scopes": ["write"],
                                "static_claims": {"roles": ["billing"], "env": "prod"}},
                    "audit": {"audience": "https://audit", "scopes": ["read", "write", "admin"], "default_scopes": ["read"],
                              "static_claims": {"env": "prod"}, "copy_claims": {"tenant": "tenant"}},
                    "reports": {"audience": "https://reports", "scopes": ["read", "write", "admin"],
                                "copy_claims": {"realm_access.roles": "roles", "org": "tenant"}}
                },
                "clients": [{"client": "svc", "targets": ["orders", "billing", "audit", "reports"]}]
            })
            .to_string(),
        )
        .unwrap_or_else(|e| panic!("{e}"))
        .policy
    }

    fn caller() -> Caller {
        Caller { client_id: "svc".into(), issuer: ISS.into(), exp: 2e9 }
    }

    fn names(ns: &[&str]) -> Vec<TargetRef> {
        ns.iter().map(|n| TargetRef::Name((*n).to_owned())).collect()
    }

    fn mint(p: &TrustPolicy, ts: &[&str], scope: Option<&str>) -> Result<Map<String, Value>, PolicyError> {
        let subject = json!({"realm_access": {"roles": ["admin"]}, "tenant": "acme", "org": "acme"});
        let grant = p.authorize(&caller(), &names(ts), scope)?;
        mint::claims("https://sts.example", "", &caller(), &grant, subject.as_object().unwrap(), 1_000, 60, "j")
    }

    #[test]
    fn request_order_does_not_change_the_minted_claims() {
        let p = policy();
        for (ts, rev, scope, rscope) in [
            (&["orders", "audit"][..], &["audit", "orders"][..], None, None),
            (&["orders", "audit"][..], &["audit", "orders"][..], Some("read write"), Some("write read")),
            (&["billing", "audit"][..], &["audit", "billing"][..], None, None),
            (&["orders", "reports"][..], &["reports", "orders"][..], Some("admin read"), Some("read admin")),
        ] {
            let a = mint(&p, ts, scope).unwrap_or_else(|e| panic!("{ts:?}: {e}"));
            let b = mint(&p, rev, rscope).unwrap_or_else(|e| panic!("{rev:?}: {e}"));
            assert_eq!(a, b, "{ts:?} {scope:?} vs {rev:?} {rscope:?}");
        }
        // The fixed order is the targets' names: `aud` and the default scopes follow it.
        let m = mint(&p, &["orders", "audit"], None).unwrap();
        assert_eq!(m["aud"], json!(["https://audit", "https://orders"]));
        assert_eq!(m["scope"], json!("read"));
        // Granted scopes keep the configured order, not the request's.
        assert_eq!(mint(&p, &["orders"], Some("admin read")).unwrap()["scope"], json!("read admin"));
    }

    #[test]
    fn two_targets_writing_one_claim_differently_are_refused() {
        let p = policy();
        // orders copies `roles` (["admin"]); billing sets it statically to ["billing"].
        for ts in [&["orders", "billing"][..], &["billing", "orders"][..]] {
            assert_eq!(mint(&p, ts, None), Err(PolicyError::ConflictingClaims), "{ts:?}");
        }
        // Copied from different paths that happen to hold the same value: no conflict.
        let m = mint(&p, &["audit", "reports"], None).unwrap();
        assert_eq!(m["tenant"], json!("acme"));
        // The same static value (`env`) and the same copied path (`roles`) do not conflict.
        let m = mint(&p, &["orders", "reports"], None).unwrap();
        assert_eq!((m["env"].clone(), m["roles"].clone()), (json!("prod"), json!(["admin"])));
        assert_eq!(PolicyError::ConflictingClaims.reason(), "policy.claim_conflict");
        assert_eq!(
            crate::Error::Policy(PolicyError::ConflictingClaims).to_oauth(1).error,
            "invalid_target",
            "a conflict is the targets' fault, not the token's"
        );
    }

    #[cfg(feature = "clouds")]
    #[test]
    fn a_resource_uri_shared_by_cloud_targets_is_ambiguous_and_names_still_select() {
        let entra = |app: &str, resource: &str| {
            json!({"audience": "api://AzureADTokenExchange", "scopes": [], "signing_alg": "RS256",
                   "azure": {"tenant": "11111111-2222-3333-4444-555555555555", "client_id": app, "resource": resource}})
        };
        let p = config::load(
            &json!({
                "mode": "dev", "issuer": "https://sts.example",
                "trusted_issuers": [{"issuer": ISS, "audiences": ["edge-sts"]}],
                "targets": {
                    "graph": entra("66666666-7777-8888-9999-000000000000", "https://graph.microsoft.com"),
                    "vault": entra("77777777-8888-9999-0000-111111111111", "https://vault.azure.net"),
                    "orders": {"audience": "https://orders", "scopes": []}
                },
                "clients": [{"client": "svc", "targets": ["graph", "orders"]}]
            })
            .to_string(),
        )
        .unwrap_or_else(|e| panic!("{e}"))
        .policy;
        let uri = |u: &str| vec![TargetRef::Uri(u.to_owned())];
        // Ambiguous even though the caller may have only one of the two: fail closed.
        assert_eq!(p.authorize(&caller(), &uri("api://AzureADTokenExchange"), None).unwrap_err(), PolicyError::AmbiguousTarget);
        assert_eq!(p.authorize(&caller(), &names(&["graph"]), None).unwrap().targets[0].name, "graph");
        assert_eq!(p.authorize(&caller(), &names(&["vault"]), None).unwrap_err(), PolicyError::TargetNotAllowed);
        assert_eq!(p.authorize(&caller(), &uri("https://orders"), None).unwrap().targets[0].name, "orders");
        assert_eq!(p.authorize(&caller(), &uri("https://nowhere"), None).unwrap_err(), PolicyError::UnknownTarget);
        let e = crate::Error::Policy(PolicyError::AmbiguousTarget).to_oauth(1);
        assert_eq!((e.status, e.error, e.reason), (400, "invalid_target", "policy.ambiguous_target"));
    }

    #[cfg(feature = "clouds")]
    #[test]
    fn an_assertion_lifetime_is_the_grants_lifetime_and_outlives_the_subject_token() {
        let entra = |extra: Value| {
            let mut z = json!({"tenant": "11111111-2222-3333-4444-555555555555", "client_id": "66666666-7777-8888-9999-000000000000", "resource": "https://vault.azure.net"});
            z.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            json!({"audience": "api://AzureADTokenExchange", "scopes": [], "signing_alg": "RS256", "lifetime_secs": 600, "azure": z})
        };
        let p = config::load(
            &json!({
                "mode": "dev", "issuer": "https://sts.example",
                "trusted_issuers": [{"issuer": ISS, "audiences": ["edge-sts"]}],
                "targets": {
                    "file": entra(json!({"mode": "assertion", "assertion_lifetime_secs": 1800})),
                    // An Entra assertion-mode target needs its explicit lifetime (load rule): AWS.
                    "file-default": {"audience": "sts.amazonaws.com", "scopes": [], "lifetime_secs": 600,
                                     "aws": {"role_arn": "arn:aws:iam::123456789012:role/r", "mode": "assertion"}},
                    "brokered": entra(json!({})),
                    "orders": {"audience": "https://orders", "scopes": [], "lifetime_secs": 600}
                },
                // Brokered and assertion-mode Entra targets go to different clients (the load rule).
                "clients": [{"client": "svc", "targets": ["file", "file-default", "orders"]}, {"client": "svc-brokered", "targets": ["brokered"]}]
            })
            .to_string(),
        )
        .unwrap_or_else(|e| panic!("{e}"))
        .policy;
        // The subject token has 300 s left at `now`.
        let c = Caller { client_id: "svc".into(), issuer: ISS.into(), exp: 1_300.0 };
        let life = |t: &str| mint::lifetime(&p.authorize(&c, &names(&[t]), None).unwrap(), &c, 1_000);
        assert_eq!(life("file"), Some(1800), "explicit: not capped at the subject token");
        assert_eq!(life("file-default"), Some(300), "default: lifetime_secs, capped as usual");
        let b = Caller { client_id: "svc-brokered".into(), ..c.clone() };
        assert_eq!(mint::lifetime(&p.authorize(&b, &names(&["brokered"]), None).unwrap(), &b, 1_000), Some(300));
        // The subject token has 5 s left. The brokered assertion, which edge-sts keeps, gets the
        // floor; every token edge-sts returns stays within the subject token's life.
        let (c5, b5) = (Caller { exp: 1_005.0, ..c.clone() }, Caller { exp: 1_005.0, ..b.clone() });
        let brokered = p.authorize(&b5, &names(&["brokered"]), None).unwrap();
        assert_eq!(mint::lifetime(&brokered, &b5, 1_000), Some(mint::BROKERED_ASSERTION_FLOOR_SECS));
        assert_eq!(mint::lifetime(&p.authorize(&c5, &names(&["orders"]), None).unwrap(), &c5, 1_000), Some(5), "downstream token");
        assert_eq!(mint::lifetime(&p.authorize(&c5, &names(&["file-default"]), None).unwrap(), &c5, 1_000), Some(5), "returned assertion");
        assert_eq!(mint::lifetime(&p.authorize(&c5, &names(&["file"]), None).unwrap(), &c5, 1_000), Some(1800), "explicit");
        // Under a second left: refused, brokered or not; the floor never exceeds the target's own lifetime.
        let b0 = Caller { exp: 1_000.5, ..b.clone() };
        assert_eq!(mint::lifetime(&brokered, &b0, 1_000), None);
        let mut short = brokered.clone();
        let mut t = short.targets[0].clone();
        t.lifetime_secs = 30;
        short.targets = vec![&t];
        assert_eq!(mint::lifetime(&short, &b5, 1_000), Some(30));
    }

    #[test]
    fn a_copied_claim_whose_source_is_missing_is_never_filled_by_another_target() {
        let p = policy();
        let mint_from = |ts: &[&str], subject: Value| {
            let grant = p.authorize(&caller(), &names(ts), None)?;
            mint::claims("https://sts.example", "", &caller(), &grant, subject.as_object().unwrap(), 1_000, 60, "j")
        };
        // orders copies `realm_access.roles` into `roles`, billing writes `roles: ["billing"]`:
        // without `realm_access`, orders' `roles` is absent, which is not billing's value.
        let bare = json!({"tenant": "acme", "org": "acme"});
        for ts in [&["orders", "billing"][..], &["billing", "orders"][..]] {
            assert_eq!(mint_from(ts, bare.clone()), Err(PolicyError::ConflictingClaims), "{ts:?}");
        }
        // Alone, each target mints as before: orders without `roles`, billing with its own.
        assert!(!mint_from(&["orders"], bare.clone()).unwrap().contains_key("roles"));
        assert_eq!(mint_from(&["billing"], bare.clone()).unwrap()["roles"], json!(["billing"]));
        // The same source, missing for both: nothing to conflict, no claim.
        assert!(!mint_from(&["orders", "reports"], bare.clone()).unwrap().contains_key("roles"));
        // Two sources into one claim (audit: `tenant`, reports: `org`): one missing conflicts,
        // both missing do not.
        assert_eq!(mint_from(&["audit", "reports"], json!({"tenant": "acme"})), Err(PolicyError::ConflictingClaims));
        assert_eq!(mint_from(&["audit", "reports"], json!({"org": "acme"})), Err(PolicyError::ConflictingClaims));
        assert!(!mint_from(&["audit", "reports"], json!({})).unwrap().contains_key("tenant"));
    }

    #[test]
    fn possible_conflicts_lists_every_pair_that_could_conflict() {
        let p = policy();
        let all = p.possible_conflicts();
        // What each target copies into the claim: the sources whose absence also conflicts.
        let copied = |a: &str, b: &str| all.iter().find(|c| c.targets == (a.to_owned(), b.to_owned())).unwrap().copied.clone();
        let pair = |t: &str, src: &str| (t.to_owned(), src.to_owned());
        assert_eq!(copied("audit", "reports"), [pair("audit", "tenant"), pair("reports", "org")]);
        assert_eq!(copied("billing", "orders"), [pair("orders", "realm_access.roles")]);
        let mut got: Vec<(String, String, String)> = all.into_iter().map(|c| (c.targets.0, c.targets.1, c.claim)).collect();
        got.sort();
        let want: Vec<(String, String, String)> = [
            // audit copies `tenant`, reports copies `org` into it: values may differ.
            ("audit", "reports", "tenant"),
            // a static list beside a copied value
            ("billing", "orders", "roles"),
            ("billing", "reports", "roles"),
        ]
        .iter()
        .map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), (*c).to_owned()))
        .collect();
        assert_eq!(got, want);
    }
}
