//! `targets`: the tokens edge-sts mints (audience, scopes, lifetime, claims, algorithm) and the
//! optional cloud block (`aws`, `gcp`, `azure`) that exchanges the minted token at a cloud's STS.
use super::{cerr, ConfigError};
use crate::alg::Alg;
use crate::policy::{ClientPattern, ClientRule, Target, PROTECTED_CLAIMS};
use crate::sts::{aws, azure, gcp, CloudTarget, StsError, CLOUD_PROTECTED_CLAIMS};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Lifetime of a minted token when the target sets no `lifetime_secs`.
pub const DEFAULT_LIFETIME_SECS: u64 = 300;
/// The longest `lifetime_secs` the configuration accepts.
pub const MAX_LIFETIME_SECS: u64 = 43_200;
/// The algorithm a target signs with when it sets no `signing_alg`.
pub const DEFAULT_SIGNING_ALG: Alg = Alg::ES256;

#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub(super) struct RawTarget {
    audience: String,
    scopes: Vec<String>,
    #[serde(default)]
    default_scopes: Vec<String>,
    #[serde(default)]
    lifetime_secs: Option<u64>,
    #[serde(default)]
    danger_allow_beyond_subject_expiry: bool,
    #[serde(default)]
    copy_claims: BTreeMap<String, String>,
    #[serde(default)]
    static_claims: Map<String, Value>,
    #[serde(default)]
    signing_alg: Option<String>,
    /// Broker an AWS STS `AssumeRoleWithWebIdentity` exchange with the minted token.
    #[serde(default)]
    aws: Option<RawAws>,
    /// Broker a Google STS token exchange (+ optional service-account impersonation).
    #[serde(default)]
    gcp: Option<RawGcp>,
    /// Broker an Entra ID client-credentials grant with the minted token as client assertion.
    #[serde(default)]
    azure: Option<RawAzure>,
}

#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
struct RawAws {
    role_arn: String,
    #[serde(default)]
    region: Option<String>,
    /// Explicit STS endpoint (e.g. a local emulator in dev mode); overrides `region`.
    #[serde(default)]
    endpoint: Option<String>,
    #[serde(default)]
    duration_secs: Option<u32>,
    /// Inline session policy (an IAM policy document object).
    #[serde(default)]
    session_policy: Option<Value>,
    #[serde(default)]
    policy_arns: Vec<String>,
    /// How the `RoleSessionName` is formed: `"client_id"` (default) or `"hashed"`.
    #[serde(default)]
    session_name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
struct RawGcp {
    /// `projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>`
    workload_identity_provider: String,
    #[serde(default)]
    service_account: Option<String>,
    #[serde(default)]
    token_lifetime_secs: Option<u32>,
    #[serde(default)]
    sts_url: Option<String>,
    #[serde(default)]
    iam_credentials_url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
struct RawAzure {
    tenant: String,
    client_id: String,
    /// e.g. `https://management.azure.com`; the scope asked for is `<resource>/.default`.
    resource: String,
    #[serde(default)]
    authority_host: Option<String>,
}

/// All targets; `issuer` is edge-sts's own (a cloud must reach it for discovery).
pub(super) fn load(raw: BTreeMap<String, RawTarget>, issuer: &str, dev: bool) -> Result<BTreeMap<String, Target>, ConfigError> {
    let mut targets = BTreeMap::new();
    for (name, t) in raw {
        let target = target(&name, t, issuer, dev)?;
        targets.insert(name, target);
    }
    let mut seen_aud: BTreeMap<&str, &str> = BTreeMap::new();
    for t in targets.values() {
        if let Some(other) = seen_aud.insert(&t.audience, &t.name) {
            return Err(cerr(
                format!("targets.{}.audience", t.name),
                format!("same audience as target `{other}`"),
                "give each target its own audience URI",
            ));
        }
    }
    Ok(targets)
}

/// One `targets.<name>` entry.
fn target(name: &str, t: RawTarget, issuer: &str, dev: bool) -> Result<Target, ConfigError> {
    let f = |n: &str| format!("targets.{name}.{n}");
    if t.audience.is_empty() {
        return Err(cerr(f("audience"), "empty audience", "set the URI the downstream API expects in `aud`"));
    }
    for s in &t.default_scopes {
        if !t.scopes.contains(s) {
            return Err(cerr(f("default_scopes"), format!("`{s}` is not in scopes"), "default scopes must be a subset of scopes"));
        }
    }
    let lifetime = t.lifetime_secs.unwrap_or(DEFAULT_LIFETIME_SECS);
    if lifetime == 0 || lifetime > MAX_LIFETIME_SECS {
        return Err(cerr(f("lifetime_secs"), "out of range", format!("use 1..={MAX_LIFETIME_SECS} (default {DEFAULT_LIFETIME_SECS})")));
    }
    let is_cloud = t.aws.is_some() || t.gcp.is_some() || t.azure.is_some();
    for (field, dest) in t.copy_claims.values().map(|d| ("copy_claims", d)).chain(t.static_claims.keys().map(|d| ("static_claims", d))) {
        if PROTECTED_CLAIMS.contains(&dest.as_str()) {
            return Err(cerr(f(field), format!("`{dest}` is a protected claim"), "use another claim name"));
        }
        if is_cloud && CLOUD_PROTECTED_CLAIMS.contains(&dest.as_str()) {
            return Err(cerr(
                f(field),
                format!("`{dest}` is a claim a cloud reads to decide trust"),
                format!("use another claim name (a cloud target writes none of {})", CLOUD_PROTECTED_CLAIMS.join(", ")),
            ));
        }
    }
    let signing_alg = match t.signing_alg.as_deref() {
        None => DEFAULT_SIGNING_ALG,
        Some(a) => Alg::parse(a).ok_or_else(|| {
            cerr(
                f("signing_alg"),
                format!("`{a}` is not supported"),
                format!("use {DEFAULT_SIGNING_ALG} (default), ES384, RS256/384/512, PS256/384/512 or EdDSA"),
            )
        })?,
    };
    let clouds = usize::from(t.aws.is_some()) + usize::from(t.gcp.is_some()) + usize::from(t.azure.is_some());
    if clouds > 1 {
        return Err(cerr(f("aws"), "a target brokers at most one cloud", "split it into one target per cloud"));
    }
    let cloud = if let Some(a) = t.aws {
        Some(aws_target(&f, a, dev)?)
    } else if let Some(g) = t.gcp {
        Some(gcp_target(&f, g, &t.scopes, signing_alg, lifetime, dev)?)
    } else if let Some(z) = t.azure {
        Some(azure_target(&f, z, &t.audience, dev)?)
    } else {
        None
    };
    if let Some(c) = &cloud {
        let which = c.cloud();
        which.check_alg(signing_alg).map_err(|e| match e {
            StsError::Invalid { problem, fix, .. } => cerr(f("signing_alg"), problem, fix),
            other => cerr(f("signing_alg"), other.to_string(), "use RS256"),
        })?;
        which.check_issuer(issuer, dev).map_err(|_| {
            cerr(
                "issuer",
                "a cloud needs an https issuer URL it can reach for discovery",
                "serve edge-sts on an https custom domain and set `issuer` to it",
            )
        })?;
    }
    Ok(Target {
        cloud,
        name: name.to_owned(),
        audience: t.audience,
        scopes: t.scopes,
        default_scopes: t.default_scopes,
        lifetime_secs: lifetime,
        allow_beyond_subject_expiry: t.danger_allow_beyond_subject_expiry,
        copy_claims: t.copy_claims.into_iter().collect(),
        static_claims: t.static_claims,
        signing_alg,
    })
}

/// A cloud's own validation error, placed under the target (`targets.<name>.cloud.<field>`).
fn sts_err(f: &impl Fn(&str) -> String, e: StsError) -> ConfigError {
    match e {
        StsError::Invalid { field, problem, fix, .. } => cerr(f(&format!("cloud.{field}")), problem, fix),
        other => cerr(f("cloud"), other.to_string(), "see docs/configuration.md, the cloud blocks"),
    }
}

fn aws_target(f: &impl Fn(&str) -> String, a: RawAws, dev: bool) -> Result<CloudTarget, ConfigError> {
    let mut role = aws::AwsRole::new(a.role_arn);
    if let Some(r) = &a.region {
        role.endpoint = aws::regional_endpoint(r)
            .ok_or_else(|| cerr(f("aws.region"), format!("`{r}` is not an AWS region name"), "use e.g. \"eu-central-1\""))?;
    }
    if let Some(e) = a.endpoint {
        role.endpoint = e;
    }
    if let Some(d) = a.duration_secs {
        role.duration_secs = d;
    }
    if let Some(m) = &a.session_name {
        role.session_name = aws::SessionName::parse(m)
            .ok_or_else(|| cerr(f("aws.session_name"), format!("unknown value `{m}`"), "use \"client_id\" (default) or \"hashed\""))?;
    }
    role.policy = a.session_policy.map(|p| p.to_string());
    role.policy_arns = a.policy_arns;
    role.validate(dev).map_err(|e| sts_err(f, e))?;
    Ok(CloudTarget::Aws(role))
}

fn gcp_target(
    f: &impl Fn(&str) -> String,
    g: RawGcp,
    scopes: &[String],
    signing_alg: Alg,
    lifetime: u64,
    dev: bool,
) -> Result<CloudTarget, ConfigError> {
    let provider = gcp::WorkloadIdentityProvider::parse(&g.workload_identity_provider).map_err(|e| sts_err(f, e))?;
    let mut target = gcp::GcpTarget::new(provider);
    if let Some(u) = g.sts_url {
        target.sts_url = u;
    }
    if let Some(sa) = g.service_account {
        let mut imp = gcp::ServiceAccountImpersonation::new(sa);
        if let Some(u) = g.iam_credentials_url {
            imp.iam_credentials_url = u;
        }
        if let Some(l) = g.token_lifetime_secs {
            imp.lifetime_secs = l;
        }
        target.impersonation = Some(imp);
    }
    if !scopes.is_empty() {
        target.scopes = scopes.to_vec();
    }
    target.validate(dev).map_err(|e| sts_err(f, e))?;
    gcp::check_assertion_config(signing_alg, lifetime, "").map_err(|e| sts_err(f, e))?;
    Ok(CloudTarget::Gcp(target))
}

fn azure_target(f: &impl Fn(&str) -> String, z: RawAzure, audience: &str, dev: bool) -> Result<CloudTarget, ConfigError> {
    let mut app = azure::AzureApp::new(z.tenant, z.client_id, &z.resource);
    if let Some(h) = z.authority_host {
        app.authority_host = h;
    }
    app.validate(dev).map_err(|e| sts_err(f, e))?;
    azure::check_assertion_audience(audience).map_err(|e| sts_err(f, e))?;
    Ok(CloudTarget::Azure(app))
}

/// What an AWS target's `RoleSessionName` needs from the rest of the configuration. In
/// `"client_id"` mode the name is the client id as it is, so: only one trusted issuer (the name
/// carries no realm), and every client rule listing the target is an exact client id that is
/// already a session name (a glob may match ids that are not). `"hashed"` needs nothing.
pub(super) fn check_aws_session_names(
    targets: &BTreeMap<String, Target>,
    clients: &[ClientRule],
    issuers: usize,
) -> Result<(), ConfigError> {
    let client_id_mode = |name: &str| matches!(targets.get(name).and_then(|t| t.cloud.as_ref()), Some(CloudTarget::Aws(r)) if r.session_name == aws::SessionName::ClientId);
    if issuers > 1 {
        if let Some(name) = targets.keys().find(|n| client_id_mode(n)) {
            return Err(cerr(
                format!("targets.{name}.aws.session_name"),
                "with more than one trusted issuer the session name must carry the realm, and a client id alone does not",
                "set it to \"hashed\"",
            ));
        }
    }
    for (i, rule) in clients.iter().enumerate() {
        let Some(name) = rule.targets.iter().chain(rule.default_target.iter()).find(|n| client_id_mode(n)) else {
            continue;
        };
        let problem = match &rule.pattern {
            ClientPattern::Glob(..) => format!("a glob may match client ids that cannot be an AWS RoleSessionName (target `{name}`)"),
            ClientPattern::Exact(id) if !aws::is_session_name(id) => {
                format!("the client id cannot be an AWS RoleSessionName as it is (target `{name}`)")
            }
            ClientPattern::Exact(_) => continue,
        };
        return Err(cerr(
            format!("clients[{i}].client"),
            problem,
            format!("use exact client ids of 2 to 64 characters from [A-Za-z0-9_+=,.@-], or set `targets.{name}.aws.session_name` to \"hashed\""),
        ));
    }
    Ok(())
}
