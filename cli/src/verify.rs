//! `edge-sts verify`: the Worker's subject-token checks, outside the Worker.
use crate::keysrc::{verdict_line, Keys};
use crate::util::{fail, iso8601, now_or, relative, token_arg, Result};
use clap::Args;
use edge_sts_core::config;
use edge_sts_core::issuer::claims::{self, CallerRules, ClaimRules};
use edge_sts_core::issuer::key_store::CachePolicy;
use edge_sts_core::jose::alg::Alg;
use edge_sts_core::jose::token::{TokenLimits, UntrustedToken};
use edge_sts_core::Error;
use serde_json::Value;
use std::process::ExitCode;

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("keys").required(true).multiple(true).args(["issuer", "jwks_url", "jwks"]))]
pub struct VerifyArgs {
    /// The token, or `-` to read it from standard input
    pub token: String,
    /// Trusted issuer: the token's `iss` must equal it exactly. Without --jwks-url/--jwks its
    /// keys are found through OIDC discovery, as the Worker does
    #[arg(long)]
    pub issuer: Option<String>,
    /// JWKS URL to fetch the keys from (https; no redirects)
    #[arg(long, conflicts_with = "jwks")]
    pub jwks_url: Option<String>,
    /// JWKS file to take the keys from (no network)
    #[arg(long, value_name = "FILE")]
    pub jwks: Option<String>,
    /// Accepted audience (repeatable); `aud` must contain one. Without it, `aud` is not checked
    #[arg(long = "audience", value_name = "A")]
    pub audiences: Vec<String>,
    /// Clock leeway for exp/nbf/iat, seconds (the Worker allows at most 300)
    #[arg(long, default_value_t = config::DEFAULT_LEEWAY_SECS, value_name = "S")]
    pub leeway: u64,
    /// Largest accepted `exp - min(iat, now)`, seconds
    #[arg(long, default_value_t = config::DEFAULT_MAX_TOKEN_LIFETIME_SECS, value_name = "S")]
    pub max_lifetime: u64,
    /// Keycloak's payload `typ` claim must equal this
    #[arg(long, default_value = config::DEFAULT_EXPECTED_TYP, value_name = "TYP")]
    pub expected_typ: String,
    /// Do not check the payload `typ` claim (issuers other than Keycloak)
    #[arg(long)]
    pub no_typ_check: bool,
    /// Accept a token without `sub` (the Worker's `allow_missing_sub`; RFC 9068 requires it)
    #[arg(long)]
    pub allow_missing_sub: bool,
    /// Claim that must be present and not null (repeatable)
    #[arg(long = "require-claim", value_name = "NAME")]
    pub required_claims: Vec<String>,
    /// Allowed JWS algorithm (repeatable; default: all nine)
    #[arg(long = "alg", value_name = "ALG")]
    pub algorithms: Vec<String>,
    /// Verify as of this time (seconds since the epoch) instead of the system clock
    #[arg(long, value_name = "UNIX")]
    pub now: Option<f64>,
    /// Allow http:// issuer/JWKS URLs on 127.0.0.1, localhost and [::1] (the Worker's dev mode)
    #[arg(long)]
    pub allow_http_loopback: bool,
}

pub fn run(a: VerifyArgs) -> Result<ExitCode> {
    if a.leeway > config::MAX_LEEWAY_SECS {
        return fail(format!("--leeway above {} s (the Worker refuses that in configuration)", config::MAX_LEEWAY_SECS));
    }
    let algorithms = a
        .algorithms
        .iter()
        .map(|s| {
            Alg::parse(s)
                .ok_or_else(|| crate::util::CliError(format!("--alg `{s}`: use RS256/384/512, PS256/384/512, ES256, ES384 or EdDSA")))
        })
        .collect::<Result<Vec<_>>>()?;
    let token = token_arg(&a.token)?;
    let now = now_or(a.now);
    // Usage problems (an unreadable JWKS file) come before the verdict.
    let file_keys = a.jwks.as_deref().map(|f| Keys::from_file(f, CachePolicy::default().limits)).transpose()?;
    let verdict = (|| -> Result<std::result::Result<(String, String, edge_sts_core::issuer::claims::Caller), Error>> {
        let t = match UntrustedToken::parse(&token, TokenLimits::default()) {
            Ok(t) => t,
            Err(e) => return Ok(Err(e.into())),
        };
        // The issuer is settled before any fetch, as in the Worker.
        let iss = match (t.issuer(), &a.issuer) {
            (Some(i), Some(want)) if i == want => i.to_owned(),
            (Some(i), None) => i.to_owned(),
            _ => return Ok(Err(Error::UntrustedIssuer)),
        };
        if !algorithms.is_empty() && !algorithms.contains(&t.alg) {
            return Ok(Err(Error::AlgNotAllowed));
        }
        let remote;
        let keys = match &file_keys {
            Some(k) => k,
            None => {
                remote = Keys::remote(&iss, a.jwks_url.as_deref(), a.allow_http_loopback, CachePolicy::default())?;
                &remote
            }
        };
        let key = match keys.verify(&t, now) {
            Ok(k) => k,
            Err(e) => return Ok(Err(e)),
        };
        let audiences = if a.audiences.is_empty() {
            match t.claims.get("aud") {
                Some(Value::String(s)) => vec![s.clone()],
                Some(Value::Array(v)) => v.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
                _ => Vec::new(),
            }
        } else {
            a.audiences.clone()
        };
        let rules = ClaimRules {
            issuer: iss,
            audiences,
            leeway_secs: a.leeway,
            max_lifetime_secs: a.max_lifetime,
            expected_typ: (!a.no_typ_check).then(|| a.expected_typ.clone()),
            required_claims: a.required_claims.clone(),
        };
        // Keycloak's rule: only service-account tokens (client_id/clientId) pass.
        let caller = CallerRules { allow_missing_sub: a.allow_missing_sub, ..CallerRules::default() };
        Ok(claims::validate_token(&t.claims, &rules, &caller, now)
            .map(|c| (format!("{} ({}) from {}", key.kid.as_deref().unwrap_or("(no kid)"), key.alg, keys.describe()), rules.issuer, c))
            .map_err(Error::from))
    })()?;
    match verdict {
        Ok((key, iss, caller)) => {
            println!("ok");
            eprintln!("issuer:    {iss}");
            eprintln!("client_id: {}", caller.client_id);
            eprintln!("key:       {key}");
            eprintln!("expires:   {} ({})", iso8601(caller.exp), relative(caller.exp, now));
            if a.audiences.is_empty() {
                eprintln!("note:      audience not checked (pass --audience)");
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("{}", verdict_line(&e));
            Ok(ExitCode::from(1))
        }
    }
}
