//! Policy dry-run: for a subject token's claims and a requested target/scope, answer allow or
//! deny and *why*, without signing anything. Pure, like the rest of the core: `now` and the
//! key ring are arguments.
//!
//! The decision is never re-implemented here. It comes from the same calls the exchange makes,
//! in the same order: `TrustedIssuer::validate` (`claims::validate_token`), `TrustPolicy::authorize` (which uses `rule_for`),
//! `mint::lifetime`, `KeyRing::active_for`, `mint::claims`. The surrounding detail (which rules
//! were considered, how each target resolved, which target refused which scope) only explains
//! that decision. The CLI (`edge-sts explain`) renders it; a Worker endpoint can serialize it.
use crate::config::{Config, TrustedIssuer};
use crate::flow::error::Error;
use crate::issuer::claims::Caller;
use crate::jose::signing::KeyRing;
use crate::policy::mint;
use crate::policy::trust::{ClientPattern, ClientRule, PolicyError, Target};
use crate::wire::request::TargetRef;
use serde::Serialize;
use serde_json::{Map, Value};

/// Where the decision was made. Everything before it passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Claims,
    Client,
    Targets,
    Scopes,
    Lifetime,
    SigningKey,
    /// Every step passed: the exchange would mint.
    Done,
}

/// How a client rule's pattern was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PatternKind {
    Exact,
    Glob,
}

/// What happened to one client rule whose pattern matches the caller's client id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleOutcome {
    /// This rule is the answer.
    Matched,
    /// The pattern matches, but the rule is restricted to another issuer.
    OtherIssuer,
    /// The pattern matches, but an exact rule (or an earlier glob) won.
    Shadowed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleNote {
    /// Index in `clients[]`.
    pub index: usize,
    pub pattern: String,
    pub kind: PatternKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    pub targets: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_target: Option<String>,
    pub outcome: RuleOutcome,
}

/// How one requested target (or the default target) resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TargetNote {
    /// `audience=<name>`, `resource=<uri>` or `(default target)`.
    pub requested: String,
    /// The target's name, when it resolved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_alg: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifetime_secs: Option<u64>,
    /// Resolved and in the matched rule's `targets`.
    pub allowed: bool,
    pub note: String,
}

/// One scope the policy refused, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScopeRefusal {
    pub scope: String,
    pub why: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScopeNote {
    /// The request's `scope` parameter; `None` means the shared `default_scopes` apply.
    pub requested: Option<String>,
    pub granted: Vec<String>,
    pub refused: Vec<ScopeRefusal>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LifetimeNote {
    /// The smallest `lifetime_secs` of the granted targets.
    pub target_lifetime_secs: u64,
    /// Whole seconds until the subject token expires (negative within the leeway after `exp`).
    pub subject_remaining_secs: i64,
    /// Every target sets `danger_allow_beyond_subject_expiry`.
    pub allow_beyond_subject_expiry: bool,
    /// The subject token's remaining life is what limits the minted token.
    pub capped_by_subject: bool,
    /// The minted token's lifetime; `None` when under one second remains.
    pub lifetime_secs: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SigningNote {
    pub alg: &'static str,
    /// The active key that would sign; `None` when no key ring was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
}

/// The whole answer. `allow` is exactly what the exchange would decide.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    pub allow: bool,
    pub stage: Stage,
    /// Stable reason code of the denial (the one the Worker logs); `None` when allowed.
    pub reason: Option<&'static str>,
    /// The fixed phrase the Worker would answer with, or `allowed`.
    pub message: String,
    pub issuer: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Client rules whose pattern matches the client id, in configuration order.
    pub rules: Vec<RuleNote>,
    pub targets: Vec<TargetNote>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<ScopeNote>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifetime: Option<LifetimeNote>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing: Option<SigningNote>,
    /// The claim set that would be minted, without `jti` (drawn at mint time) and unsigned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claims: Option<Map<String, Value>>,
}

impl Explanation {
    /// The matched rule, if any.
    pub fn matched_rule(&self) -> Option<&RuleNote> {
        self.rules.iter().find(|r| r.outcome == RuleOutcome::Matched)
    }

    fn deny(mut self, stage: Stage, e: &Error) -> Explanation {
        self.allow = false;
        self.stage = stage;
        self.reason = Some(e.reason());
        self.message = e.to_string();
        self
    }
}

fn pattern_matches(p: &ClientPattern, id: &str) -> bool {
    match p {
        ClientPattern::Exact(x) => x == id,
        ClientPattern::Glob(_, g) => g.matches(id),
    }
}

fn rule_notes(rules: &[ClientRule], chosen: Option<&ClientRule>, caller: &Caller) -> Vec<RuleNote> {
    rules
        .iter()
        .enumerate()
        .filter(|(_, r)| pattern_matches(&r.pattern, &caller.client_id))
        .map(|(index, r)| {
            let outcome = if chosen.is_some_and(|c| std::ptr::eq(c, r)) {
                RuleOutcome::Matched
            } else if r.issuer.as_deref().is_some_and(|i| i != caller.issuer) {
                RuleOutcome::OtherIssuer
            } else {
                RuleOutcome::Shadowed
            };
            RuleNote {
                index,
                pattern: r.pattern.as_str().to_owned(),
                kind: match r.pattern {
                    ClientPattern::Exact(_) => PatternKind::Exact,
                    ClientPattern::Glob(..) => PatternKind::Glob,
                },
                issuer: r.issuer.clone(),
                targets: r.targets.clone(),
                default_target: r.default_target.clone(),
                outcome,
            }
        })
        .collect()
}

fn target_note(requested: String, target: Option<&Target>, rule: &ClientRule, missing: &str) -> TargetNote {
    match target {
        None => TargetNote {
            requested,
            name: None,
            audience: None,
            signing_alg: None,
            lifetime_secs: None,
            allowed: false,
            note: missing.to_owned(),
        },
        Some(t) => {
            let allowed = rule.targets.contains(&t.name);
            TargetNote {
                requested,
                name: Some(t.name.clone()),
                audience: Some(t.audience.clone()),
                signing_alg: Some(t.signing_alg.as_str()),
                lifetime_secs: Some(t.lifetime_secs),
                allowed,
                note: if allowed {
                    "allowed by the matched rule".to_owned()
                } else {
                    format!("not in the matched rule's targets {:?}", rule.targets)
                },
            }
        }
    }
}

fn target_notes(config: &Config, rule: &ClientRule, requested: &[TargetRef]) -> Vec<TargetNote> {
    let targets = &config.policy.targets;
    if requested.is_empty() {
        return vec![match &rule.default_target {
            None => TargetNote {
                requested: "(default target)".into(),
                name: None,
                audience: None,
                signing_alg: None,
                lifetime_secs: None,
                allowed: false,
                note: "no audience or resource requested, and the matched rule has no default_target".into(),
            },
            Some(name) => target_note("(default target)".into(), targets.get(name), rule, "default_target names an unknown target"),
        }];
    }
    requested
        .iter()
        .map(|r| match r {
            TargetRef::Name(n) => target_note(format!("audience={n}"), targets.get(n), rule, "no target has this name"),
            TargetRef::Uri(u) => {
                target_note(format!("resource={u}"), targets.values().find(|t| t.audience == *u), rule, "no target has this audience URI")
            }
        })
        .collect()
}

/// Why each requested scope is or is not grantable for the resolved targets.
fn scope_note(targets: &[&Target], scope: Option<&str>, granted: Option<&[String]>) -> ScopeNote {
    let mut refused = Vec::new();
    if let Some(req) = scope {
        for s in req.split(' ').filter(|s| !s.is_empty()) {
            let token_ok = crate::wire::oauth::valid_scope_token(s);
            if !token_ok {
                refused.push(ScopeRefusal { scope: s.to_owned(), why: "not an RFC 6749 scope-token".into() });
                continue;
            }
            let without: Vec<&str> = targets.iter().filter(|t| !t.scopes.iter().any(|x| x == s)).map(|t| t.name.as_str()).collect();
            if !without.is_empty() {
                refused.push(ScopeRefusal { scope: s.to_owned(), why: format!("not in the scopes of target(s) {}", without.join(", ")) });
            }
        }
    }
    ScopeNote { requested: scope.map(str::to_owned), granted: granted.map(<[String]>::to_vec).unwrap_or_default(), refused }
}

/// Explains the exchange of a subject token whose signature has been verified (or, for an
/// offline dry-run, deliberately not), issued by `trusted`. `ring` is the signing key ring when
/// known; without it the signing-key step is skipped (and reported without a `kid`).
#[allow(clippy::too_many_arguments)] // each is a distinct input of the exchange
pub fn explain(
    config: &Config,
    trusted: &TrustedIssuer,
    subject: &Map<String, Value>,
    requested: &[TargetRef],
    scope: Option<&str>,
    now: f64,
    ring: Option<&KeyRing>,
) -> Explanation {
    let mut ex = Explanation {
        allow: false,
        stage: Stage::Claims,
        reason: None,
        message: String::new(),
        issuer: trusted.rules.issuer.clone(),
        client_id: None,
        rules: Vec::new(),
        targets: Vec::new(),
        scopes: None,
        lifetime: None,
        signing: None,
        claims: None,
    };
    let caller = match trusted.validate(subject, now) {
        Ok(c) => c,
        Err(e) => return ex.deny(Stage::Claims, &Error::Claims(e)),
    };
    ex.client_id = Some(caller.client_id.clone());

    let policy = &config.policy;
    let rule = policy.rule_for(&caller);
    ex.rules = rule_notes(policy.clients(), rule, &caller);
    let Some(rule) = rule else {
        return ex.deny(Stage::Client, &Error::Policy(PolicyError::UnknownClient));
    };
    ex.targets = target_notes(config, rule, requested);

    // The authoritative decision.
    let grant = match policy.authorize(&caller, requested, scope) {
        Ok(g) => g,
        Err(e) => {
            let stage = if e == PolicyError::InvalidScope { Stage::Scopes } else { Stage::Targets };
            if stage == Stage::Scopes {
                let resolved: Vec<&Target> =
                    ex.targets.iter().filter_map(|n| n.name.as_ref()).filter_map(|n| policy.targets.get(n)).collect();
                ex.scopes = Some(scope_note(&resolved, scope, None));
            } else if e == PolicyError::IncompatibleTargets {
                for n in &mut ex.targets {
                    n.note = format!("{}; signs with {}", n.note, n.signing_alg.unwrap_or("?"));
                }
            }
            return ex.deny(stage, &Error::Policy(e));
        }
    };
    ex.scopes = Some(scope_note(&grant.targets, scope, Some(&grant.scopes)));

    let now_s = now.floor() as u64;
    let lifetime = mint::lifetime(&grant, &caller, now_s);
    let wanted = grant.lifetime_secs();
    let remaining = (caller.exp - now_s as f64).floor();
    ex.lifetime = Some(LifetimeNote {
        target_lifetime_secs: wanted,
        subject_remaining_secs: remaining as i64,
        allow_beyond_subject_expiry: grant.allow_beyond_subject_expiry(),
        capped_by_subject: !grant.allow_beyond_subject_expiry() && lifetime.map_or(remaining < wanted as f64, |l| l < wanted),
        lifetime_secs: lifetime,
    });
    let Some(lifetime) = lifetime else {
        return ex.deny(Stage::Lifetime, &Error::SubjectExpiresTooSoon);
    };

    let alg = grant.signing_alg();
    ex.signing = Some(SigningNote { alg: alg.as_str(), kid: None });
    if let Some(ring) = ring {
        match ring.active_for(alg) {
            Some(k) => ex.signing = Some(SigningNote { alg: alg.as_str(), kid: Some(k.kid().to_owned()) }),
            None => return ex.deny(Stage::SigningKey, &Error::NoSigningKey),
        }
    }

    let mut minted = match mint::claims(&config.issuer, &trusted.subject_prefix, &caller, &grant, subject, now_s, lifetime, "") {
        Ok(m) => m,
        Err(e) => return ex.deny(Stage::Targets, &Error::Policy(e)),
    };
    minted.remove("jti");
    ex.claims = Some(minted);
    ex.allow = true;
    ex.stage = Stage::Done;
    ex.message = "allowed".into();
    ex
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;
    use serde_json::json;

    const NOW: f64 = 1_800_000_000.0;
    const ISS: &str = "https://kc.example/realms/r";

    fn cfg() -> Config {
        config::load(
            &json!({
                "mode": "dev",
                "issuer": "https://sts.example",
                "trusted_issuers": [
                    {"issuer": ISS, "audiences": ["edge-sts"], "subject_prefix": "kc:"},
                    {"issuer": "https://other.example", "audiences": ["edge-sts"], "subject_prefix": "other:", "expected_typ": null, "allow_missing_sub": true,
                     "app_token": {"client_claim": "azp", "marker": {"claim": "gty", "equals": "client-credentials"}}}
                ],
                "targets": {
                    "orders": {"audience": "https://orders", "scopes": ["orders:read", "orders:write"], "default_scopes": ["orders:read"],
                               "copy_claims": {"tenant": "tenant_id"}, "static_claims": {"env": "test"}},
                    "billing": {"audience": "https://billing", "scopes": ["orders:read"], "lifetime_secs": 120},
                    "entra": {"audience": "api://AzureADTokenExchange", "scopes": [], "signing_alg": "RS256"}
                },
                "clients": [
                    {"client": "batch-*", "issuer": ISS, "targets": ["billing"]},
                    {"client": "orders-service", "issuer": ISS, "targets": ["orders", "billing", "entra"], "default_target": "orders"},
                    {"client": "orders-*", "issuer": ISS, "targets": ["billing"]},
                    {"client": "partner", "issuer": "https://other.example", "targets": ["orders"]}
                ]
            })
            .to_string(),
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn subject(client: &str, exp: f64) -> Map<String, Value> {
        json!({"iss": ISS, "aud": "edge-sts", "exp": exp, "iat": NOW - 10.0, "typ": "Bearer", "azp": client, "client_id": client,
               "preferred_username": format!("service-account-{client}"), "sub": "service-account-uuid", "tenant": "acme"})
        .as_object()
        .unwrap()
        .clone()
    }

    fn run(client: &str, targets: &[TargetRef], scope: Option<&str>) -> Explanation {
        let c = cfg();
        explain(&c, &c.trusted[0], &subject(client, NOW + 300.0), targets, scope, NOW, None)
    }

    fn name(n: &str) -> TargetRef {
        TargetRef::Name(n.into())
    }

    #[test]
    fn default_target_allowed_with_claims() {
        let ex = run("orders-service", &[], None);
        assert!(ex.allow, "{ex:?}");
        assert_eq!(ex.stage, Stage::Done);
        let r = ex.matched_rule().unwrap();
        assert_eq!((r.index, r.kind), (1, PatternKind::Exact));
        // the glob `orders-*` also matches, but the exact rule wins
        assert_eq!(
            ex.rules.iter().map(|r| (r.index, r.outcome)).collect::<Vec<_>>(),
            [(1, RuleOutcome::Matched), (2, RuleOutcome::Shadowed)]
        );
        let claims = ex.claims.unwrap();
        assert_eq!(claims["sub"], "kc:orders-service");
        // The minted client_id carries the issuer's prefix as `sub` does: realms stay apart.
        assert_eq!(claims["client_id"], "kc:orders-service");
        assert_eq!(claims["aud"], "https://orders");
        assert_eq!(claims["scope"], "orders:read");
        assert_eq!(claims["tenant_id"], "acme");
        assert_eq!(claims["env"], "test");
        assert_eq!(claims["exp"], json!(1_800_000_300u64));
        assert!(!claims.contains_key("jti"));
    }

    #[test]
    fn glob_rule_and_lifetime() {
        let ex = run("batch-7", &[name("billing")], Some("orders:read"));
        assert!(ex.allow);
        let r = ex.matched_rule().unwrap();
        assert_eq!((r.index, r.kind, r.pattern.as_str()), (0, PatternKind::Glob, "batch-*"));
        let l = ex.lifetime.unwrap();
        assert_eq!((l.lifetime_secs, l.capped_by_subject), (Some(120), false));
    }

    #[test]
    fn denials_name_the_stage_and_reason() {
        let ex = run("stranger", &[], None);
        assert_eq!((ex.allow, ex.stage, ex.reason), (false, Stage::Client, Some("policy.unknown_client")));
        let ex = run("partner", &[], None);
        assert_eq!(ex.reason, Some("policy.unknown_client"));
        assert_eq!(ex.rules[0].outcome, RuleOutcome::OtherIssuer);
        let ex = run("batch-1", &[name("orders")], None);
        assert_eq!((ex.stage, ex.reason), (Stage::Targets, Some("policy.target_not_allowed")));
        assert!(!ex.targets[0].allowed);
        let ex = run("batch-1", &[], None);
        assert_eq!(ex.reason, Some("policy.no_target"));
        let ex = run("orders-service", &[TargetRef::Uri("https://nope".into())], None);
        assert_eq!(ex.reason, Some("policy.unknown_target"));
        let ex = run("orders-service", &[name("orders"), name("entra")], None);
        assert_eq!(ex.reason, Some("policy.incompatible_targets"));
        let ex = run("orders-service", &[name("orders"), name("billing")], Some("orders:write orders:read"));
        assert_eq!((ex.stage, ex.reason), (Stage::Scopes, Some("policy.scope")));
        let s = ex.scopes.unwrap();
        assert_eq!(s.refused, [ScopeRefusal { scope: "orders:write".into(), why: "not in the scopes of target(s) billing".into() }]);
    }

    #[test]
    fn claims_and_lifetime_failures() {
        let c = cfg();
        let ex = explain(&c, &c.trusted[0], &subject("orders-service", NOW - 120.0), &[], None, NOW, None);
        assert_eq!((ex.stage, ex.reason), (Stage::Claims, Some("claims.expired")));
        let ex = explain(&c, &c.trusted[0], &subject("orders-service", NOW + 0.5), &[], None, NOW, None);
        assert_eq!((ex.stage, ex.reason), (Stage::Lifetime, Some("claims.expires_too_soon")));
        let ex = explain(&c, &c.trusted[0], &subject("orders-service", NOW + 100.0), &[], None, NOW, None);
        let l = ex.lifetime.unwrap();
        assert_eq!((l.lifetime_secs, l.capped_by_subject), (Some(100), true));
        let ex = explain(&c, &c.trusted[0], &subject("orders-service", NOW + 100.0), &[], None, NOW, Some(&KeyRing::default()));
        assert_eq!((ex.stage, ex.reason), (Stage::SigningKey, Some("config.no_signing_key")));
    }

    /// Explain gives the Worker's verdict on user tokens, `sub` and claim types.
    #[test]
    fn only_service_account_tokens_with_rfc_claims() {
        let c = cfg();
        let with = |patch: Value| {
            let mut m = subject("orders-service", NOW + 300.0);
            for (k, v) in patch.as_object().unwrap() {
                if v.is_null() {
                    m.remove(k);
                } else {
                    m.insert(k.clone(), v.clone());
                }
            }
            let ex = explain(&c, &c.trusted[0], &m, &[], None, NOW, None);
            (ex.stage, ex.reason.unwrap_or("ok"))
        };
        // A Keycloak user token: azp and preferred_username, no client_id/clientId.
        let user = json!({"client_id": null, "preferred_username": "alice"});
        assert_eq!(with(user), (Stage::Claims, "claims.not_service_account"));
        assert_eq!(with(json!({"client_id": null, "clientId": "orders-service"})), (Stage::Done, "ok"));
        assert_eq!(with(json!({"azp": "other"})), (Stage::Claims, "claims.client_id_conflict"));
        assert_eq!(with(json!({"sub": null})), (Stage::Claims, "claims.missing"));
        assert_eq!(with(json!({"sub": 7})), (Stage::Claims, "claims.type"));
        assert_eq!(with(json!({"jti": ["a"]})), (Stage::Claims, "claims.type"));

        // The second issuer: an Auth0-style app-token rule, `sub` optional.
        let other = |patch: Value| {
            let mut m = json!({"iss": "https://other.example", "aud": "edge-sts", "exp": NOW + 300.0, "azp": "partner",
                               "gty": "client-credentials"});
            for (k, v) in patch.as_object().unwrap() {
                if v.is_null() {
                    m.as_object_mut().unwrap().remove(k);
                } else {
                    m[k] = v.clone();
                }
            }
            let ex = explain(&c, &c.trusted[1], m.as_object().unwrap(), &[name("orders")], None, NOW, None);
            (ex.reason.unwrap_or("ok"), ex.client_id)
        };
        assert_eq!(other(json!({})), ("ok", Some("partner".into())));
        assert_eq!(other(json!({"gty": "password"})).0, "claims.not_service_account");
        assert_eq!(other(json!({"gty": null})).0, "claims.not_service_account");
        assert_eq!(other(json!({"typ": 1})).0, "claims.type", "typ has its type even when its value is not checked");
    }
}
