//! `edge-sts check`: load a configuration exactly as the Worker does (`config::load`, then
//! `config::resolve_secrets` — the signing keys and `explain_secret` — when the secrets are
//! available as files), print the problem or the effective policy, and lint it against the
//! rules of the clouds that consume minted tokens.
use crate::util::{read_file, Result};
use clap::Args;
use edge_sts_core::config::{self, Config, ConfigError};
use edge_sts_core::issuer::claims::{AppTokenRule, Marker};
use edge_sts_core::jose::alg::Alg;
use edge_sts_core::jose::jwk;
use edge_sts_core::jose::signing::KeyRing;
use edge_sts_core::policy::trust::ClientPattern;
use serde_json::Value;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The configuration: EDGE_STS_CONFIG as a JSON file
    pub config: String,
    /// Directory holding one file per secret the configuration names (signing keys,
    /// explain_secret), named like the secret (or NAME.json)
    #[arg(long, value_name = "DIR")]
    pub secrets_dir: Option<String>,
    /// Exit 1 on warnings too
    #[arg(long)]
    pub strict: bool,
    /// Refuse cloud blocks, as a Worker built without the `clouds` feature does
    /// (`scripts/build.sh downstream`)
    #[arg(long)]
    pub without_clouds: bool,
}

/// Reads the secret `name` from `dir/name` or `dir/name.json`. Names that could leave the
/// directory are never looked up.
pub fn secret_lookup(dir: &str, name: &str) -> Option<String> {
    if name.is_empty() || name.starts_with('.') || name.contains(['/', '\\']) {
        return None;
    }
    let base = std::path::Path::new(dir);
    std::fs::read_to_string(base.join(name)).or_else(|_| std::fs::read_to_string(base.join(format!("{name}.json")))).ok()
}

pub fn print_config_error(e: &ConfigError) {
    println!("error: {}", e.field);
    println!("  problem: {}", e.problem);
    println!("  fix:     {}", e.fix);
}

/// For commands whose stdout may be piped into `wrangler secret put`: errors go to stderr only.
pub fn eprint_config_error(e: &ConfigError) {
    eprintln!("error: {}", e.field);
    eprintln!("  problem: {}", e.problem);
    eprintln!("  fix:     {}", e.fix);
}

/// Left-aligned columns, two spaces apart, indented by two.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let n = cells.len();
        let mut s = String::from("  ");
        for (i, c) in cells.into_iter().enumerate() {
            if i + 1 == n {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        s.trim_end().to_owned()
    };
    let mut out = vec![line(headers.to_vec())];
    out.extend(rows.iter().map(|r| line(r.iter().map(String::as_str).collect())));
    out.join("\n")
}

fn list(v: &[String]) -> String {
    if v.is_empty() {
        "-".into()
    } else {
        v.join(" ")
    }
}

/// Lint warnings: valid configurations that will not do what their author wants.
pub fn lints(cfg: &Config) -> Vec<(String, String)> {
    let mut w = Vec::new();
    if cfg.dev {
        w.push((
            "mode".into(),
            "\"dev\" allows loopback http issuers and generates ephemeral signing keys; never deploy it (use \"production\")".into(),
        ));
    }
    for t in cfg.policy.targets.values() {
        let f = |n: &str| format!("targets.{}.{n}", t.name);
        if t.audience == "api://AzureADTokenExchange" && t.signing_alg != Alg::RS256 {
            w.push((
                f("signing_alg"),
                format!("Entra ID federated credentials accept RS256 tokens only, not {}; set \"signing_alg\": \"RS256\"", t.signing_alg),
            ));
        }
        if t.signing_alg == Alg::EdDSA && t.audience.contains("amazonaws.com") {
            w.push((f("signing_alg"), "AWS IAM OIDC providers (sts.amazonaws.com) do not accept EdDSA; use ES256 or RS256".into()));
        }
        if t.lifetime_secs > 3600 {
            w.push((
                f("lifetime_secs"),
                format!("{} s is over an hour; short-lived tokens (<= 3600) limit the damage of a leak", t.lifetime_secs),
            ));
        }
        if t.allow_beyond_subject_expiry {
            w.push((
                f("danger_allow_beyond_subject_expiry"),
                "minted tokens may outlive the Keycloak token they were exchanged for".into(),
            ));
        }
        if !cfg.policy.clients().iter().any(|c| c.targets.contains(&t.name)) {
            w.push((format!("targets.{}", t.name), "no client rule lists this target, so it is never minted".into()));
        }
    }
    for c in cfg.policy.possible_conflicts() {
        let missing = if c.copied.is_empty() {
            String::new()
        } else {
            let copies: Vec<String> = c.copied.iter().map(|(t, src)| format!("`{t}` copies `{src}`")).collect();
            format!(
                ", and whenever the subject token lacks a source one of them copies ({}), since a copied claim is then absent and never filled from the other target",
                copies.join(", ")
            )
        };
        w.push((
            format!("clients[{}].targets", c.client),
            format!(
                "targets `{}` and `{}` may both write claim `{}`; a request for both is refused (policy.claim_conflict) whenever their values differ{missing}; use one claim name per value, or the same static value",
                c.targets.0, c.targets.1, c.claim
            ),
        ));
    }
    w.extend(config::cloud_trust_warnings(cfg));
    // (A rule without `issuer` while several issuers are trusted is a load error, not a warning.)
    for (i, c) in cfg.policy.clients().iter().enumerate() {
        let dup = cfg.policy.clients()[..i]
            .iter()
            .position(|o| o.pattern.as_str() == c.pattern.as_str() && (o.issuer.is_none() || o.issuer == c.issuer));
        if let Some(j) = dup {
            w.push((format!("clients[{i}].client"), format!("never matches: clients[{j}] has the same pattern and wins")));
        }
    }
    w
}

fn key_rows(cfg: &Config, ring: Option<&KeyRing>) -> Vec<Vec<String>> {
    // `build_key_ring` keeps config order within each status; walk the refs the same way.
    let (mut a, mut n, mut r) = (0, 0, 0);
    cfg.key_refs
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let status = format!("{:?}", k.status).to_ascii_lowercase();
            let source = match (&k.secret, &k.public_jwk) {
                (Some(s), _) => format!("secret {s}"),
                _ => "public_jwk".into(),
            };
            let from_ring = ring.and_then(|ring| match k.status {
                edge_sts_core::jose::signing::KeyStatus::Active => {
                    a += 1;
                    ring.active.get(a - 1).map(|k| (k.kid().to_owned(), k.alg()))
                }
                edge_sts_core::jose::signing::KeyStatus::Next => {
                    n += 1;
                    ring.next.get(n - 1).map(|k| (k.kid.clone().unwrap_or_default(), k.alg))
                }
                edge_sts_core::jose::signing::KeyStatus::Retired => {
                    r += 1;
                    ring.retired.get(r - 1).map(|k| (k.kid.clone().unwrap_or_default(), k.alg))
                }
            });
            let from_public = || {
                let m = k.public_jwk.as_ref()?;
                let (key, alg) = jwk::parse_public(m, false).ok()?;
                Some((m.get("kid").and_then(Value::as_str).map(str::to_owned).unwrap_or_else(|| key.thumbprint()), alg))
            };
            let (kid, alg) = match from_ring.or_else(from_public) {
                Some((kid, alg)) => (kid, alg.to_string()),
                None => ("(secret not read)".into(), "?".into()),
            };
            vec![i.to_string(), status, source, kid, alg]
        })
        .collect()
}

pub fn print_policy(cfg: &Config, ring: Option<&KeyRing>, secrets_note: &str) {
    println!("issuer {}", cfg.issuer);
    println!("  jwks_uri        {}", cfg.jwks_uri());
    println!("  token_endpoint  {}", cfg.token_endpoint());
    if let Some(name) = &cfg.explain_secret {
        println!("  explain         {}/explain, key in secret {name}", cfg.issuer);
    }

    println!("\ntrusted issuers");
    for (i, t) in cfg.trusted.iter().enumerate() {
        let r = &t.rules;
        println!("  [{i}] {}", r.issuer);
        match &t.source.jwks_uri {
            Some(u) => println!("      keys        {u}"),
            None => println!("      keys        discovery: {}", edge_sts_core::issuer::discovery::discovery_url(&r.issuer)),
        }
        println!("      audiences   {}", list(&r.audiences));
        println!("      leeway      {} s; max token lifetime {} s", r.leeway_secs, r.max_lifetime_secs);
        println!("      typ claim   {}", r.expected_typ.as_deref().unwrap_or("(not checked)"));
        match &t.caller.app_token {
            AppTokenRule::Keycloak => {
                println!(
                    "      app tokens  Keycloak service account: client_id or clientId, preferred_username service-account-<client id>, no sid or session_state; azp, if present, agrees"
                )
            }
            AppTokenRule::Claims { client_claim, marker, absent_claims } => {
                let mut m = match marker {
                    Marker::Equals { claim, value } => format!("{claim} = {}", Value::String(value.clone())),
                    Marker::EqualsClaim { claim, other } => format!("{claim} equals {other}"),
                };
                if !absent_claims.is_empty() {
                    m = format!("{m}, no {}", absent_claims.join(" or "));
                }
                println!("      app tokens  {m}; client from {client_claim}");
            }
        }
        println!("      sub         {}", if t.caller.allow_missing_sub { "optional (allow_missing_sub)" } else { "required" });
        if !r.required_claims.is_empty() {
            println!("      required    {}", list(&r.required_claims));
        }
        if !t.subject_prefix.is_empty() {
            println!("      sub prefix  {}", t.subject_prefix);
        }
        match &t.algorithms {
            Some(a) => println!("      algorithms  {}", a.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(" ")),
            None => println!("      algorithms  any of the nine (the key decides)"),
        }
    }

    println!("\nsigning keys ({secrets_note})");
    if cfg.key_refs.is_empty() && cfg.dev {
        println!("  (none: dev mode generates an ephemeral key for every target algorithm)");
    } else if cfg.key_refs.is_empty() {
        println!("  (none)");
    } else {
        println!("{}", table(&["#", "status", "source", "kid", "alg"], &key_rows(cfg, ring)));
    }

    println!("\ntargets");
    if cfg.policy.targets.is_empty() {
        println!("  (none)");
    } else {
        let rows: Vec<Vec<String>> = cfg
            .policy
            .targets
            .values()
            .map(|t| {
                let life = if t.allow_beyond_subject_expiry {
                    format!("{} s (beyond subject)", t.lifetime_secs)
                } else {
                    format!("{} s", t.lifetime_secs)
                };
                vec![t.name.clone(), t.audience.clone(), list(&t.scopes), list(&t.default_scopes), life, t.signing_alg.to_string()]
            })
            .collect();
        println!("{}", table(&["name", "audience", "scopes", "default_scopes", "lifetime", "alg"], &rows));
        for t in cfg.policy.targets.values() {
            if let Some(c) = &t.cloud {
                let how = if t.cloud_mode.is_assertion() {
                    "the caller gets the assertion; its SDK calls the cloud, whose trust configuration limits it"
                } else {
                    "edge-sts calls the cloud and answers with its credentials"
                };
                println!("  {}: cloud {}, mode {} ({how})", t.name, c.cloud().as_str(), t.cloud_mode.as_str());
            }
            if !t.copy_claims.is_empty() {
                let c: Vec<String> = t.copy_claims.iter().map(|(s, d)| format!("{s} -> {d}")).collect();
                println!("  {}: copy_claims {}", t.name, c.join(", "));
            }
            if !t.static_claims.is_empty() {
                println!("  {}: static_claims {}", t.name, Value::Object(t.static_claims.clone()));
            }
        }
    }

    println!("\nclients (exact ids first, then globs in order; the first match is the whole answer)");
    if cfg.policy.clients().is_empty() {
        println!("  (none: every exchange is refused with policy.unknown_client)");
    } else {
        let rows: Vec<Vec<String>> = cfg
            .policy
            .clients()
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let kind = match c.pattern {
                    ClientPattern::Exact(_) => "exact",
                    ClientPattern::Glob(..) => "glob",
                };
                let targets: Vec<String> = c
                    .targets
                    .iter()
                    .map(|n| match cfg.policy.targets.get(n) {
                        Some(t) => format!("{n} ({})", t.audience),
                        None => n.clone(),
                    })
                    .collect();
                vec![
                    i.to_string(),
                    c.pattern.as_str().to_owned(),
                    kind.into(),
                    c.issuer.clone().unwrap_or_else(|| "(any trusted)".into()),
                    c.default_target.clone().unwrap_or_else(|| "-".into()),
                    targets.join(", "),
                ]
            })
            .collect();
        println!("{}", table(&["#", "client", "kind", "issuer", "default", "targets"], &rows));
    }
}

/// The Worker's loading of the file: the configuration, the cloud rule of a downstream-only
/// build (`--without-clouds`) and, with `--secrets-dir`, the secrets.
fn load(a: &CheckArgs, text: &str) -> std::result::Result<(Config, Option<KeyRing>, String), ConfigError> {
    let cfg = config::load(text)?;
    if a.without_clouds {
        config::check_without_clouds(&cfg)?;
    }
    let (ring, note) = match &a.secrets_dir {
        Some(dir) => (Some(config::resolve_secrets(&cfg, |name| secret_lookup(dir, name))?), format!("secrets read from {dir}")),
        None => (None, "secrets not checked: pass --secrets-dir".to_owned()),
    };
    Ok((cfg, ring, note))
}

pub fn run(a: CheckArgs) -> Result<ExitCode> {
    let text = read_file(&a.config)?;
    let (cfg, ring, note) = match load(&a, &text) {
        Ok(loaded) => loaded,
        Err(e) => {
            print_config_error(&e);
            println!("{}: invalid", a.config);
            return Ok(ExitCode::from(1));
        }
    };
    let mode = if cfg.dev { "dev" } else { "production" };
    println!("{}: valid ({mode} mode)\n", a.config);
    print_policy(&cfg, ring.as_ref(), &note);
    let warnings = lints(&cfg);
    if !warnings.is_empty() {
        println!("\nwarnings");
        for (field, msg) in &warnings {
            println!("  warning: {field}: {msg}");
        }
    }
    Ok(if a.strict && !warnings.is_empty() { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
