//! `targets`: the tokens edge-sts mints (audience, scopes, lifetime, claims, algorithm) and the
//! optional cloud block (`aws`, `gcp`, `azure`) that exchanges the minted token at a cloud's STS.
use super::clouds::{self, RawAws, RawAzure, RawGcp};
use super::{cerr, ConfigError};
use crate::clouds::{exchange_audience, CLOUD_PROTECTED_CLAIMS};
use crate::jose::alg::Alg;
use crate::policy::trust::{Target, PROTECTED_CLAIMS};
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

/// All targets; `issuer` is edge-sts's own (a cloud must reach it for discovery).
pub(super) fn load(raw: BTreeMap<String, RawTarget>, issuer: &str, dev: bool) -> Result<BTreeMap<String, Target>, ConfigError> {
    let mut targets = BTreeMap::new();
    for (name, t) in raw {
        let target = target(&name, t, issuer, dev)?;
        targets.insert(name, target);
    }
    // A downstream target's audience is its own: no other target may mint for it, or a
    // `resource=` URI and the tokens themselves would be ambiguous. Cloud targets may share an
    // audience among themselves (every Entra target has `api://AzureADTokenExchange`): they are
    // requested by name, and a `resource=` URI that matches several targets is refused. A
    // cloud's exchange audience is compared in its one spelling (`exchange_audience`): Google
    // takes `//iam.googleapis.com/…` and `https://iam.googleapis.com/…` alike.
    let mut seen_aud: BTreeMap<String, &Target> = BTreeMap::new();
    for t in targets.values() {
        let key = exchange_audience(&t.audience).map_or_else(|| t.audience.clone(), |a| a.canonical);
        if let Some(other) = seen_aud.insert(key, t) {
            if t.cloud.is_some() && other.cloud.is_some() {
                continue;
            }
            let (downstream, other) = if t.cloud.is_none() { (t, other) } else { (other, t) };
            let problem = match exchange_audience(&other.audience) {
                Some(a) if other.audience != downstream.audience => {
                    format!("same audience as target `{}` in another spelling ({} takes both)", other.name, a.service())
                }
                _ => format!("same audience as target `{}`", other.name),
            };
            return Err(cerr(
                format!("targets.{}.audience", downstream.name),
                problem,
                "give each downstream target its own audience URI, used by no other target (cloud targets may share one among themselves)",
            ));
        }
    }
    Ok(targets)
}

/// One `targets.<name>` entry.
fn target(name: &str, t: RawTarget, issuer: &str, dev: bool) -> Result<Target, ConfigError> {
    let f = |n: &str| format!("targets.{name}.{n}");
    clouds::check_blocks(&f, [("aws", t.aws.is_some()), ("gcp", t.gcp.is_some()), ("azure", t.azure.is_some())])?;
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
    // A downstream target whose audience a cloud exchanges mints what that cloud accepts: the
    // cloud's rules apply to it as to a cloud target.
    let cloud_audience = exchange_audience(&t.audience);
    for (field, dest) in t.copy_claims.values().map(|d| ("copy_claims", d)).chain(t.static_claims.keys().map(|d| ("static_claims", d))) {
        if PROTECTED_CLAIMS.contains(&dest.as_str()) {
            return Err(cerr(f(field), format!("`{dest}` is a protected claim"), "use another claim name"));
        }
        if !CLOUD_PROTECTED_CLAIMS.contains(&dest.as_str()) {
            continue;
        }
        let fix = format!("use another claim name (a cloud target writes none of {})", CLOUD_PROTECTED_CLAIMS.join(", "));
        if is_cloud {
            return Err(cerr(f(field), format!("`{dest}` is a claim a cloud reads to decide trust"), fix));
        }
        if let Some(a) = &cloud_audience {
            return Err(cerr(
                f(field),
                format!("`{dest}` is a claim a cloud reads to decide trust, and the audience is {}'s token-exchange audience", a.service()),
                fix,
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
    let (cloud, cloud_mode) = clouds::block(&f, name, (t.aws, t.gcp, t.azure), &t.scopes, &t.audience, signing_alg, lifetime, issuer, dev)?;
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
        cloud_mode,
    })
}

/// What a configuration error says about a cloud block in a Worker built without the `clouds`
/// feature (a downstream-only Worker), at load or from `edge-sts check --without-clouds`.
pub const WITHOUT_CLOUDS_PROBLEM: &str = "this Worker was built without the `clouds` feature: it mints edge-sts's own tokens only";
pub const WITHOUT_CLOUDS_FIX: &str = "rebuild with the default features (`scripts/build.sh`), or remove the cloud block";
