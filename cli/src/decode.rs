//! `edge-sts decode`: header and payload, pretty-printed, with readable times. Verifies nothing.
use crate::util::{iso8601, now_or, relative, token_arg, Result};
use clap::Args;
use edge_sts_core::jose::b64;
use edge_sts_core::jose::token::{TokenLimits, UntrustedToken};
use serde_json::Value;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct DecodeArgs {
    /// The token, or `-` to read it from standard input
    pub token: String,
    /// Show relative times as of this time (seconds since the epoch)
    #[arg(long, value_name = "UNIX")]
    pub now: Option<f64>,
}

/// Claims holding NumericDates (RFC 7519 §4.1, OIDC `auth_time`).
const TIME_CLAIMS: [&str; 4] = ["iat", "nbf", "exp", "auth_time"];

fn segment(name: &str, seg: &str) -> std::result::Result<Value, String> {
    let bytes = b64::decode(seg).ok_or_else(|| format!("{name} is not strict base64url (no padding, URL-safe alphabet)"))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{name} is not JSON: {e}"))
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

pub fn run(a: DecodeArgs) -> Result<ExitCode> {
    let token = token_arg(&a.token)?;
    let now = now_or(a.now);
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 && parts.len() != 5 {
        println!("not a JWT: {} dot-separated segments (a JWS has 3, a JWE 5)", parts.len());
        return Ok(ExitCode::from(1));
    }
    let header = match segment("header", parts[0]) {
        Ok(h) => h,
        Err(e) => {
            println!("{e}");
            return Ok(ExitCode::from(1));
        }
    };
    println!("header\n{}", pretty(&header));
    if parts.len() == 5 {
        println!("payload\n(encrypted: this is a JWE; edge-sts accepts signed tokens only)");
        return Ok(ExitCode::from(1));
    }
    let payload = match segment("payload", parts[1]) {
        Ok(p) => p,
        Err(e) => {
            println!("{e}");
            return Ok(ExitCode::from(1));
        }
    };
    println!("payload\n{}", pretty(&payload));
    let times: Vec<(&str, f64)> = TIME_CLAIMS.iter().filter_map(|c| payload.get(*c).and_then(Value::as_f64).map(|v| (*c, v))).collect();
    if !times.is_empty() {
        println!("times (now {})", iso8601(now));
        let raw: Vec<String> = times.iter().map(|(name, _)| payload[*name].to_string()).collect();
        let w = raw.iter().map(String::len).max().unwrap_or(0);
        for ((name, v), raw) in times.iter().zip(&raw) {
            println!("  {name:<9} {raw:<w$}  {}  {}", iso8601(*v), relative(*v, now));
        }
        if let (Some(iat), Some(exp)) = (payload.get("iat").and_then(Value::as_f64), payload.get("exp").and_then(Value::as_f64)) {
            println!("  lifetime  {}", crate::util::duration(exp - iat));
        }
    }
    match b64::decode(parts[2]) {
        Some(sig) => println!("signature\n  {} bytes, not verified (use `edge-sts verify`)", sig.len()),
        None => println!("signature\n  not strict base64url"),
    }
    match UntrustedToken::parse(&token, TokenLimits::default()) {
        Ok(_) => println!("strict parse\n  ok: the Worker's parser accepts this token's shape"),
        Err(e) => println!("strict parse\n  the Worker refuses this token: {}: {e}", e.reason()),
    }
    Ok(ExitCode::SUCCESS)
}
