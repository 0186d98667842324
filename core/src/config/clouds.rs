//! The cloud blocks of a target (`aws`, `gcp`, `azure`, feature `clouds`): their raw (serde)
//! shape, their validation into a [`CloudTarget`], and the checks across the configuration that
//! they need. Without the feature, `clouds_off.rs` takes this module's place and refuses them.
use super::{cerr, Config, ConfigError, WITHOUT_CLOUDS_FIX, WITHOUT_CLOUDS_PROBLEM};
use crate::clouds::{aws, azure, exchange_audience, gcp, Cloud, CloudMode, CloudTarget, StsError, MAX_ASSERTION_LIFETIME_SECS};
use crate::jose::alg::Alg;
use crate::policy::trust::{ClientPattern, ClientRule, Target};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub(super) struct RawAws {
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
    /// `"brokered"` (default: edge-sts calls the cloud) or `"assertion"` (edge-sts answers with
    /// its assertion and the caller's SDK calls the cloud).
    #[serde(default)]
    mode: Option<String>,
    /// Assertion mode only: the assertion's lifetime, `1..=3600` s, not capped at the subject
    /// token's expiry.
    #[serde(default)]
    assertion_lifetime_secs: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub(super) struct RawGcp {
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
    /// `"brokered"` (default: edge-sts calls the cloud) or `"assertion"` (edge-sts answers with
    /// its assertion and the caller's SDK calls the cloud).
    #[serde(default)]
    mode: Option<String>,
    /// Assertion mode only: the assertion's lifetime, `1..=3600` s, not capped at the subject
    /// token's expiry.
    #[serde(default)]
    assertion_lifetime_secs: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub(super) struct RawAzure {
    tenant: String,
    client_id: String,
    /// e.g. `https://management.azure.com`; the scope asked for is `<resource>/.default`.
    resource: String,
    #[serde(default)]
    authority_host: Option<String>,
    /// `"brokered"` (default: edge-sts calls the cloud) or `"assertion"` (edge-sts answers with
    /// its assertion and the caller's SDK calls the cloud).
    #[serde(default)]
    mode: Option<String>,
    /// Assertion mode only: the assertion's lifetime, `1..=3600` s, not capped at the subject
    /// token's expiry.
    #[serde(default)]
    assertion_lifetime_secs: Option<u64>,
}

/// At most one cloud block per target; `blocks` says which of `aws`, `gcp`, `azure` are present.
pub(super) fn check_blocks(f: &impl Fn(&str) -> String, blocks: [(&str, bool); 3]) -> Result<(), ConfigError> {
    if blocks.iter().filter(|(_, present)| *present).count() > 1 {
        return Err(cerr(f("aws"), "a target brokers at most one cloud", "split it into one target per cloud"));
    }
    Ok(())
}

/// The target's cloud block, if any (`blocks` is its `aws`, `gcp`, `azure`; at most one is
/// set, [`check_blocks`]), validated against the rest of the target and edge-sts's `issuer`.
#[allow(clippy::too_many_arguments)]
pub(super) fn block(
    f: &impl Fn(&str) -> String,
    name: &str,
    blocks: (Option<RawAws>, Option<RawGcp>, Option<RawAzure>),
    scopes: &[String],
    audience: &str,
    signing_alg: Alg,
    lifetime: u64,
    issuer: &str,
    dev: bool,
) -> Result<(Option<CloudTarget>, CloudMode), ConfigError> {
    let (aws, gcp, azure) = blocks;
    let (cloud, cloud_mode) = if let Some(mut a) = aws {
        let mode = cloud_mode(f, "aws", a.mode.take(), a.assertion_lifetime_secs.take())?;
        (Some(aws_target(f, a, mode, dev)?), mode)
    } else if let Some(mut g) = gcp {
        let mode = cloud_mode(f, "gcp", g.mode.take(), g.assertion_lifetime_secs.take())?;
        if mode.is_assertion() && !command_safe(name) {
            return Err(cerr(
                f("gcp.mode"),
                "an assertion-mode Google target's name goes into the external_account command line, which Google's libraries split on spaces",
                "rename the target to letters, digits, `.`, `_` and `-`",
            ));
        }
        (Some(gcp_target(f, g, scopes, signing_alg, lifetime, dev)?), mode)
    } else if let Some(mut z) = azure {
        let mode = cloud_mode(f, "azure", z.mode.take(), z.assertion_lifetime_secs.take())?;
        entra_assertion_lifetime(f, mode)?;
        (Some(azure_target(f, z, audience, dev)?), mode)
    } else {
        (None, CloudMode::Brokered)
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
    Ok((cloud, cloud_mode))
}

/// An assertion-mode Entra target's assertion is read from a token file that azure-identity
/// re-reads only every [`azure::TOKEN_FILE_REREAD_SECS`]: without an explicit lifetime it is
/// cut at the subject token's expiry (often 300 s), and a short one expires in the SDK's
/// cache. Either loads fine and fails now and then with AADSTS700024, so both are refused here.
fn entra_assertion_lifetime(f: &impl Fn(&str) -> String, mode: CloudMode) -> Result<(), ConfigError> {
    let min = azure::MIN_TOKEN_FILE_ASSERTION_LIFETIME_SECS;
    let problem = match mode {
        CloudMode::Assertion { lifetime_secs: None } => format!(
            "without it the assertion is cut at the subject token's expiry, shorter than azure-identity keeps a token file's assertion ({} s) before reading the file again: Entra then refuses it now and then (AADSTS700024)",
            azure::TOKEN_FILE_REREAD_SECS
        ),
        CloudMode::Assertion { lifetime_secs: Some(l) } if l < min => format!(
            "{l} s is shorter than the token file needs: azure-identity keeps the assertion it read for {} s, and the helper rewrites the file at half-life; Entra then refuses it now and then (AADSTS700024)",
            azure::TOKEN_FILE_REREAD_SECS
        ),
        _ => return Ok(()),
    };
    Err(cerr(f("azure.assertion_lifetime_secs"), problem, format!("set it to {min}..={MAX_ASSERTION_LIFETIME_SECS}")))
}

/// A cloud block's `mode` and `assertion_lifetime_secs` (`block` is `aws`, `gcp` or `azure`).
fn cloud_mode(f: &impl Fn(&str) -> String, block: &str, mode: Option<String>, lifetime: Option<u64>) -> Result<CloudMode, ConfigError> {
    match mode.as_deref() {
        None | Some("brokered") => match lifetime {
            None => Ok(CloudMode::Brokered),
            Some(_) => Err(cerr(
                f(&format!("{block}.assertion_lifetime_secs")),
                "only an assertion-mode target hands out its assertion",
                "remove it, or set `mode` to \"assertion\"",
            )),
        },
        Some("assertion") => {
            if lifetime.is_some_and(|l| l == 0 || l > MAX_ASSERTION_LIFETIME_SECS) {
                return Err(cerr(
                    f(&format!("{block}.assertion_lifetime_secs")),
                    "out of range",
                    format!("use 1..={MAX_ASSERTION_LIFETIME_SECS}"),
                ));
            }
            Ok(CloudMode::Assertion { lifetime_secs: lifetime })
        }
        Some(other) => {
            Err(cerr(f(&format!("{block}.mode")), format!("unknown mode `{other}`"), "use \"brokered\" (default) or \"assertion\""))
        }
    }
}

/// Safe as one word of a command line that is split on whitespace without quoting.
fn command_safe(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// A cloud's own validation error, placed under the target (`targets.<name>.cloud.<field>`).
fn sts_err(f: &impl Fn(&str) -> String, e: StsError) -> ConfigError {
    match e {
        StsError::Invalid { field, problem, fix, .. } => cerr(f(&format!("cloud.{field}")), problem, fix),
        other => cerr(f("cloud"), other.to_string(), "see docs/configuration.md, the cloud blocks"),
    }
}

fn aws_target(f: &impl Fn(&str) -> String, a: RawAws, mode: CloudMode, dev: bool) -> Result<CloudTarget, ConfigError> {
    if mode.is_assertion() {
        // What edge-sts would enforce when brokering: in assertion mode the caller's SDK calls
        // AWS STS itself, so these would only look like limits.
        let brokered_only = [
            ("duration_secs", a.duration_secs.is_some()),
            ("session_policy", a.session_policy.is_some()),
            ("policy_arns", !a.policy_arns.is_empty()),
            ("session_name", a.session_name.is_some()),
        ];
        if let Some((field, _)) = brokered_only.iter().find(|(_, set)| *set) {
            return Err(cerr(
                f(&format!("aws.{field}")),
                "not enforced in assertion mode: the caller's SDK calls AWS STS itself, and the role's trust policy decides",
                "remove it (limit the role itself), or use mode \"brokered\"",
            ));
        }
    }
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
    // One role, one way of naming sessions: a `"client_id"` name is the id as it is, and an id
    // may look exactly like another client's `"hashed"` name (`<readable>-<16 hex>`), so mixing
    // the two on one role would let one caller assume it under another's session name. IAM role
    // names are unique without regard to case, so the ARNs are compared that way.
    let mut by_role: BTreeMap<String, (&str, aws::SessionName)> = BTreeMap::new();
    for t in targets.values().filter(|t| !t.cloud_mode.is_assertion()) {
        let Some(CloudTarget::Aws(role)) = &t.cloud else { continue };
        let (other, mode) = *by_role.entry(role.role_arn.to_ascii_lowercase()).or_insert((&t.name, role.session_name));
        if mode != role.session_name {
            let mode = if mode == aws::SessionName::Hashed { "hashed" } else { "client_id" };
            return Err(cerr(
                format!("targets.{}.aws.session_name", t.name),
                format!(
                    "target `{other}` assumes the same role with session_name \"{mode}\": a client id can equal another client's hashed name (`<id>-<16 hex>`), and then both get one RoleSessionName"
                ),
                format!("give every brokered target of role `{}` the same session_name (\"hashed\" when any needs it)", role.role_arn),
            ));
        }
    }
    // Assertion-mode targets are skipped: the caller's SDK names its own session.
    let client_id_mode = |name: &str| {
        targets.get(name).is_some_and(|t| {
            !t.cloud_mode.is_assertion() && matches!(&t.cloud, Some(CloudTarget::Aws(r)) if r.session_name == aws::SessionName::ClientId)
        })
    };
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

/// Where a cloud accepts a target's token for one caller, as far as the configuration tells:
/// every token edge-sts mints for one caller has the same `iss` and `sub`, so two targets with one
/// `Trust` mint tokens the same cloud trust accepts (`aud` is all that could tell them apart).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Trust {
    cloud: Cloud,
    /// AWS and Entra: the audience (an AWS IAM OIDC provider's client id, Entra's exchange
    /// audience). Google: the workload identity pool, since its principals
    /// (`principal://…/workloadIdentityPools/<pool>/subject/<sub>`) belong to the pool and every
    /// provider of the pool gives the same one.
    key: String,
}

impl Trust {
    fn describe(&self) -> String {
        match self.cloud {
            Cloud::Aws => format!("AWS audience `{}`", self.key),
            Cloud::Gcp => format!("Google workload identity pool `{}`", self.key),
            Cloud::Azure => format!("Entra audience `{}`", self.key),
        }
    }
}

/// How the caller gets a target's token: `Brokered` targets' tokens go only to the cloud;
/// `Held` ones are the caller's own (an assertion-mode target, or a downstream target whose
/// audience is a cloud's exchange audience).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Held {
    Brokered,
    Assertion,
    Downstream,
}

/// A target's [`Trust`] and whether the caller holds its token; `None` for a target no cloud
/// accepts.
fn trust(t: &Target) -> Option<(Trust, Held)> {
    let aud = exchange_audience(&t.audience);
    let held = match (&t.cloud, t.cloud_mode.is_assertion()) {
        (None, _) => Held::Downstream,
        (Some(_), true) => Held::Assertion,
        (Some(_), false) => Held::Brokered,
    };
    let trust = match (&t.cloud, aud) {
        (Some(CloudTarget::Aws(_)), aud) => Trust { cloud: Cloud::Aws, key: aud.map_or_else(|| t.audience.clone(), |a| a.canonical) },
        (Some(CloudTarget::Azure(_)), aud) => Trust { cloud: Cloud::Azure, key: aud.map_or_else(|| t.audience.clone(), |a| a.canonical) },
        (Some(CloudTarget::Gcp(g)), _) => Trust {
            cloud: Cloud::Gcp,
            key: format!("projects/{}/locations/global/workloadIdentityPools/{}", g.provider.project_number, g.provider.pool),
        },
        (None, Some(a)) => match a.cloud {
            "aws" => Trust { cloud: Cloud::Aws, key: a.canonical },
            "gcp" => Trust { cloud: Cloud::Gcp, key: a.gcp_pool().unwrap_or(a.canonical) },
            _ => Trust { cloud: Cloud::Azure, key: a.canonical },
        },
        (None, None) => return None,
    };
    Some((trust, held))
}

/// Each target's [`trust`], computed once per load (a policy may have hundreds of rules).
fn trusts(targets: &BTreeMap<String, Target>) -> BTreeMap<&str, (Trust, Held)> {
    targets.values().filter_map(|t| trust(t).map(|x| (t.name.as_str(), x))).collect()
}

/// The targets a client rule grants (its `targets`; `default_target` is one of them), each once,
/// by name, with their [`trust`].
fn granted<'a>(
    targets: &'a BTreeMap<String, Target>,
    trusts: &BTreeMap<&str, (Trust, Held)>,
    rule: &ClientRule,
) -> Vec<(&'a Target, Trust, Held)> {
    let mut out: Vec<(&Target, Trust, Held)> = Vec::new();
    for name in &rule.targets {
        if let (Some(t), Some((tr, h))) = (targets.get(name), trusts.get(name.as_str())) {
            if !out.iter().any(|(x, _, _)| x.name == t.name) {
                out.push((t, tr.clone(), *h));
            }
        }
    }
    out.sort_by(|a, b| a.0.name.cmp(&b.0.name));
    out
}

/// A client rule may not grant a brokered cloud target and a token the caller holds (an
/// assertion-mode target, or a downstream token for a cloud's exchange audience) on one
/// [`Trust`]: the caller could take the held token to the cloud itself, past the session policy,
/// duration, scopes, service account or resource the brokered target enforces, and removing
/// the brokered target from the policy would no longer revoke it. A client matches exactly one
/// rule, so this covers every client; across clients the minted `sub` differs, and the cloud
/// trust must condition on it (docs/clouds.md, per cloud).
pub(super) fn check_cloud_trust(targets: &BTreeMap<String, Target>, clients: &[ClientRule]) -> Result<(), ConfigError> {
    let trusts = trusts(targets);
    // Nothing to check without a brokered target.
    if !trusts.values().any(|(_, h)| *h == Held::Brokered) {
        return Ok(());
    }
    for (i, rule) in clients.iter().enumerate() {
        let ts = granted(targets, &trusts, rule);
        for (b, tb, _) in ts.iter().filter(|x| x.2 == Held::Brokered) {
            let Some((h, _, held)) = ts.iter().find(|x| x.2 != Held::Brokered && x.1 == *tb) else { continue };
            let what = if *held == Held::Assertion { "assertion-mode target" } else { "downstream target" };
            let fix = match tb.cloud {
                Cloud::Aws => format!(
                    "give `{}` an audience of its own (another client id of the IAM OIDC provider) and condition `{}`'s role trust policy on `<issuer host>:aud`, or grant this client only one of the two",
                    h.name, b.name
                ),
                Cloud::Gcp => format!(
                    "give `{}` a workload identity provider in a pool of its own (Google's principals belong to the pool), or grant this client only one of the two",
                    h.name
                ),
                Cloud::Azure => "Entra tells one client's assertions apart by subject only: grant this client brokered or assertion-mode Entra targets, not both (another client id for the other)".to_owned(),
            };
            return Err(cerr(
                format!("clients[{i}].targets"),
                format!(
                    "grants brokered target `{}` and {what} `{}` on one {}: the caller holds `{}`'s token, which the cloud trust behind `{}` accepts, without what `{}` enforces",
                    b.name,
                    h.name,
                    tb.describe(),
                    h.name,
                    b.name,
                    b.name
                ),
                fix,
            ));
        }
    }
    Ok(())
}

/// `edge-sts check`'s warnings about cloud trust that only the cloud's configuration can keep:
/// `(field, message)`, each saying what holds it safe.
pub fn cloud_trust_warnings(cfg: &Config) -> Vec<(String, String)> {
    let targets = &cfg.policy.targets;
    let clients = cfg.policy.clients();
    let trusts = trusts(targets);
    let mut w = Vec::new();
    for (i, rule) in clients.iter().enumerate() {
        let ts = granted(targets, &trusts, rule);
        for (x, (a, ta, ha)) in ts.iter().enumerate() {
            for (b, tb, hb) in &ts[x + 1..] {
                if ta.cloud != tb.cloud {
                    continue;
                }
                let field = format!("clients[{i}].targets");
                let held = |h: &Held| *h != Held::Brokered;
                if ta == tb && held(ha) && held(hb) {
                    w.push((field, format!(
                        "the caller holds the tokens of `{}` and `{}` on one {}: the cloud accepts either wherever it accepts the other, so removing one from this rule does not revoke what the other still gets; give each its own audience (AWS) or pool (Google)",
                        a.name, b.name, ta.describe()
                    )));
                } else if ta != tb && held(ha) != held(hb) {
                    let (brokered, tr, other, to) = if held(ha) { (b, tb, a, ta) } else { (a, ta, b, tb) };
                    let holds = match tr.cloud {
                        Cloud::Aws => format!(
                            "`{}`'s role trust policy conditions on `<issuer host>:aud` equal to `{}` (and on `:sub`)",
                            brokered.name, tr.key
                        ),
                        Cloud::Gcp => format!(
                            "the service account and resources `{}` reaches are bound to principals of its own pool only",
                            brokered.name
                        ),
                        Cloud::Azure => format!("`{}`'s app has federated credentials for its own audience only", brokered.name),
                    };
                    w.push((
                        field,
                        format!(
                            "grants brokered `{}` ({}) and `{}`, whose token the caller holds ({}): safe only while {holds}",
                            brokered.name,
                            tr.describe(),
                            other.name,
                            to.describe()
                        ),
                    ));
                }
            }
        }
    }
    // Across rules: a brokered target and a held token on one trust, for different clients.
    for b in targets.values() {
        let Some((tb, Held::Brokered)) = trust(b) else { continue };
        for h in targets.values() {
            let Some((th, held)) = trust(h) else { continue };
            if held == Held::Brokered || th != tb {
                continue;
            }
            let rules = |t: &Target| clients.iter().enumerate().filter(|(_, r)| r.targets.contains(&t.name)).collect::<Vec<_>>();
            let (rb, rh) = (rules(b), rules(h));
            if rb.is_empty() || rh.is_empty() {
                continue;
            }
            let subject = match tb.cloud {
                Cloud::Aws => "the role trust policy's `<issuer host>:sub`",
                Cloud::Gcp => "the IAM bindings' `principal://…/subject/<sub>`",
                Cloud::Azure => "each federated credential's subject",
            };
            let mut msg = format!(
                "shares {} with `{}`, whose token the callers of {} hold: safe only while {subject} names exactly the callers of {} (`subject_prefix` + client id), so no token of `{}` matches",
                tb.describe(),
                h.name,
                rh.iter().map(|(i, _)| format!("clients[{i}]")).collect::<Vec<_>>().join(", "),
                rb.iter().map(|(i, _)| format!("clients[{i}]")).collect::<Vec<_>>().join(", "),
                h.name,
            );
            for (i, r) in &rb {
                let ClientPattern::Glob(glob, g) = &r.pattern else { continue };
                for (j, o) in &rh {
                    if let ClientPattern::Exact(id) = &o.pattern {
                        if g.matches(id) && o.issuer.as_deref().is_none_or(|x| r.issuer.as_deref().is_none_or(|y| x == y)) {
                            msg.push_str(&format!(
                                "; clients[{i}]'s glob `{glob}` matches `{id}`, whom clients[{j}] gives `{}`: a subject pattern made from the glob would accept its token",
                                h.name
                            ));
                        }
                    }
                }
            }
            w.push((format!("targets.{}", b.name), msg));
        }
    }
    // One role, assertion mode beside brokered: the SDK names its own session.
    for t in targets.values().filter(|t| t.cloud_mode.is_assertion()) {
        let Some(CloudTarget::Aws(role)) = &t.cloud else { continue };
        let same = |o: &&Target| matches!(&o.cloud, Some(CloudTarget::Aws(r)) if !o.cloud_mode.is_assertion() && r.role_arn.eq_ignore_ascii_case(&role.role_arn));
        if let Some(b) = targets.values().find(same) {
            w.push((format!("targets.{}.aws.mode", t.name), format!(
                "role `{}` is also brokered by `{}`: callers of this assertion-mode target choose their own RoleSessionName, which can equal a brokered caller's; tell callers apart by `:sub`, never by the session name",
                role.role_arn, b.name
            )));
        }
    }
    w
}

/// Refuses a valid configuration that a Worker built without the `clouds` feature would refuse:
/// its first target (by name) with a cloud block, by that block's path, in that Worker's words.
/// `scripts/build.sh downstream` runs it (`edge-sts check --without-clouds`) on an embedded
/// configuration, so the build fails instead of the deployed Worker.
pub fn check_without_clouds(cfg: &Config) -> Result<(), ConfigError> {
    match cfg.policy.targets.iter().find_map(|(name, t)| t.cloud.as_ref().map(|c| (name, c.cloud().as_str()))) {
        Some((name, block)) => Err(cerr(format!("targets.{name}.{block}"), WITHOUT_CLOUDS_PROBLEM, WITHOUT_CLOUDS_FIX)),
        None => Ok(()),
    }
}
