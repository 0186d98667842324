//! `edge-sts explain`: a policy dry-run. Verifies the token as the Worker would (or skips the
//! signature for offline use, loudly), then renders `edge_sts_core::flow::explain::explain`: allow or
//! deny, and why.
use crate::check::{print_config_error, secret_lookup};
use crate::keysrc::Keys;
use crate::util::{fail, iso8601, now_or, read_file, relative, token_arg, Result};
use clap::Args;
use edge_sts_core::config::{self, Config};
use edge_sts_core::flow::explain::{explain, Explanation, PatternKind, RuleOutcome};
use edge_sts_core::jose::token::UntrustedToken;
use edge_sts_core::wire::request::TargetRef;
use edge_sts_core::Error;
use serde_json::{json, Value};
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The configuration: EDGE_STS_CONFIG as a JSON file
    pub config: String,
    /// The subject token, or `-` to read it from standard input
    #[arg(long, value_name = "TOKEN")]
    pub token: String,
    /// Target name, as the `audience` parameter (repeatable)
    #[arg(long = "audience", value_name = "A")]
    pub audiences: Vec<String>,
    /// Target audience URI, as the `resource` parameter (repeatable)
    #[arg(long = "resource", value_name = "URI")]
    pub resources: Vec<String>,
    /// The `scope` parameter (space-separated)
    #[arg(long, value_name = "S")]
    pub scope: Option<String>,
    /// Decide as of this time (seconds since the epoch) instead of the system clock
    #[arg(long, value_name = "UNIX")]
    pub now: Option<f64>,
    /// Take the issuer's keys from this JWKS file instead of fetching them
    #[arg(long, value_name = "FILE", conflicts_with = "skip_signature")]
    pub jwks: Option<String>,
    /// Do not check the signature (offline dry-run). A forged token would get the same answer
    #[arg(long)]
    pub skip_signature: bool,
    /// Signing-key secrets as files (as for `check`): also checks that an active key would sign
    #[arg(long, value_name = "DIR")]
    pub secrets_dir: Option<String>,
    /// Print the explanation as JSON
    #[arg(long)]
    pub json: bool,
}

/// What happened before the policy: parse, issuer, algorithm allow-list, signature.
struct Subject {
    issuer: Option<String>,
    signature: String,
}

fn deny_early(a: &ExplainArgs, stage: &str, subject: &Subject, e: &Error) -> ExitCode {
    if a.json {
        let v = json!({
            "allow": false, "stage": stage, "reason": e.reason(), "message": e.to_string(),
            "issuer": subject.issuer, "signature": subject.signature,
        });
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else {
        println!("DENY  {}: {e}", e.reason());
        println!("  at: {stage}");
        if let Some(i) = &subject.issuer {
            println!("\nsubject token\n  issuer     {i}");
        }
        if !subject.signature.is_empty() {
            println!("  signature  {}", subject.signature);
        }
    }
    ExitCode::from(1)
}

fn rule_line(ex: &Explanation, r: &edge_sts_core::flow::explain::RuleNote) -> String {
    let kind = match r.kind {
        PatternKind::Exact => "exact",
        PatternKind::Glob => "glob",
    };
    let why = match r.outcome {
        RuleOutcome::Matched => match r.kind {
            PatternKind::Exact => "MATCHED (exact client id)".to_owned(),
            PatternKind::Glob => format!("MATCHED (glob `{}`)", r.pattern),
        },
        RuleOutcome::OtherIssuer => format!("not used: restricted to issuer {}", r.issuer.as_deref().unwrap_or("?")),
        RuleOutcome::Shadowed => match ex.matched_rule() {
            Some(m) if m.kind == PatternKind::Exact && r.kind == PatternKind::Glob => {
                format!("not used: the exact rule clients[{}] wins over globs", m.index)
            }
            Some(m) => format!("not used: clients[{}] comes first", m.index),
            None => "not used".to_owned(),
        },
    };
    format!("  clients[{}] \"{}\" ({kind}): {why}", r.index, r.pattern)
}

fn render(ex: &Explanation, subject: &Subject, exp: Option<f64>, now: f64) {
    let unchecked = if subject.signature.starts_with("NOT CHECKED") { "  (signature NOT checked: --skip-signature)" } else { "" };
    if ex.allow {
        println!("ALLOW{unchecked}");
    } else {
        println!("DENY  {}: {}{unchecked}", ex.reason.unwrap_or("?"), ex.message);
        println!("  at: {}", serde_json::to_value(ex.stage).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default());
    }
    println!("\nsubject token");
    println!("  issuer     {}", ex.issuer);
    println!("  signature  {}", subject.signature);
    if let Some(c) = &ex.client_id {
        println!("  client_id  {c}");
    }
    if let Some(exp) = exp {
        println!("  expires    {} ({})", iso8601(exp), relative(exp, now));
    }
    if ex.client_id.is_some() {
        println!("\nclient rule");
        if ex.rules.is_empty() {
            println!("  no clients[] pattern matches this client id");
        }
        for r in &ex.rules {
            println!("{}", rule_line(ex, r));
        }
    }
    if !ex.targets.is_empty() {
        println!("\ntargets");
        for t in &ex.targets {
            match &t.name {
                Some(n) => println!(
                    "  {} -> {n} ({}, {}, {} s): {}",
                    t.requested,
                    t.audience.as_deref().unwrap_or(""),
                    t.signing_alg.unwrap_or("?"),
                    t.lifetime_secs.unwrap_or(0),
                    t.note
                ),
                None => println!("  {}: {}", t.requested, t.note),
            }
        }
    }
    if let Some(s) = &ex.scopes {
        println!("\nscopes");
        match &s.requested {
            Some(r) => println!("  requested  {r}"),
            None => println!("  requested  (none: the default_scopes every target shares)"),
        }
        if ex.allow || !s.granted.is_empty() {
            println!(
                "  granted    {}",
                if s.granted.is_empty() { "(none: the token has no scope claim)".to_owned() } else { s.granted.join(" ") }
            );
        }
        for r in &s.refused {
            println!("  refused    {}: {}", r.scope, r.why);
        }
    }
    if let Some(l) = &ex.lifetime {
        println!("\nlifetime");
        let why = if l.allow_beyond_subject_expiry {
            "every target sets danger_allow_beyond_subject_expiry".to_owned()
        } else if l.capped_by_subject {
            format!("capped by the subject token, which has {} s left", l.subject_remaining_secs)
        } else {
            format!("the subject token has {} s left", l.subject_remaining_secs)
        };
        match l.lifetime_secs {
            Some(s) => println!("  {s} s (target lifetime {} s; {why})", l.target_lifetime_secs),
            None => println!("  none: the subject token has under one second left"),
        }
    }
    if let Some(s) = &ex.signing {
        println!("\nsigning");
        match &s.kid {
            Some(k) => println!("  {} with kid {k}", s.alg),
            None => println!("  {} (active key not checked: pass --secrets-dir)", s.alg),
        }
    }
    if let Some(c) = &ex.claims {
        println!("\nclaims that would be minted (unsigned; jti is drawn at mint time)");
        println!("{}", serde_json::to_string_pretty(&Value::Object(c.clone())).unwrap_or_default());
    }
}

pub fn run(a: ExplainArgs) -> Result<ExitCode> {
    let text = read_file(&a.config)?;
    let cfg: Config = match config::load(&text) {
        Ok(c) => c,
        Err(e) => {
            print_config_error(&e);
            println!("{}: invalid", a.config);
            return Ok(ExitCode::from(2));
        }
    };
    let ring = match &a.secrets_dir {
        Some(dir) => match config::resolve_secrets(&cfg, |n| secret_lookup(dir, n)) {
            Ok(r) => Some(r),
            Err(e) => {
                print_config_error(&e);
                println!("{}: invalid", a.config);
                return Ok(ExitCode::from(2));
            }
        },
        None => None,
    };
    let token = token_arg(&a.token)?;
    let now = now_or(a.now);
    let file_keys = a.jwks.as_deref().map(|f| Keys::from_file(f, cfg.cache.limits)).transpose()?;
    let mut subject = Subject { issuer: None, signature: String::new() };

    let t = match UntrustedToken::parse(&token, cfg.limits.token) {
        Ok(t) => t,
        Err(e) => return Ok(deny_early(&a, "token", &subject, &e.into())),
    };
    subject.issuer = t.issuer().map(str::to_owned);
    let Some(trusted) = t.issuer().and_then(|i| cfg.trusted_issuer(i)) else {
        return Ok(deny_early(&a, "issuer", &subject, &Error::UntrustedIssuer));
    };
    if trusted.algorithms.as_ref().is_some_and(|al| !al.contains(&t.alg)) {
        return Ok(deny_early(&a, "issuer", &subject, &Error::AlgNotAllowed));
    }
    if a.skip_signature {
        subject.signature = "NOT CHECKED (--skip-signature): offline dry-run; a forged token would get the same answer".into();
    } else {
        let remote;
        let keys = match &file_keys {
            Some(k) => k,
            None => {
                remote = Keys::remote(&trusted.source.issuer, trusted.source.jwks_uri.as_deref(), trusted.source.dev, cfg.cache)?;
                &remote
            }
        };
        match keys.verify(&t, now) {
            Ok(k) => {
                subject.signature = format!("verified: kid {} ({}) from {}", k.kid.as_deref().unwrap_or("(none)"), k.alg, keys.describe())
            }
            Err(e) => {
                subject.signature = format!("FAILED with keys from {}", keys.describe());
                return Ok(deny_early(&a, "signature", &subject, &e));
            }
        }
    }

    let targets: Vec<TargetRef> =
        a.audiences.iter().map(|n| TargetRef::Name(n.clone())).chain(a.resources.iter().map(|u| TargetRef::Uri(u.clone()))).collect();
    if a.scope.as_deref().is_some_and(|s| s.is_empty()) {
        return fail("--scope is empty: leave it out to get the default scopes");
    }
    let ex = explain(&cfg, trusted, &t.claims, &targets, a.scope.as_deref(), now, ring.as_ref());
    if a.json {
        let mut v = serde_json::to_value(&ex).unwrap_or_default();
        if let Some(m) = v.as_object_mut() {
            m.insert("signature".into(), json!(subject.signature));
        }
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else {
        render(&ex, &subject, t.claims.get("exp").and_then(Value::as_f64), now);
    }
    Ok(if ex.allow { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
