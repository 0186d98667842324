//! `edge-sts mint`: signs test tokens with the core's `mint::sign` (header `alg`, `kid`,
//! `typ: at+jwt`). RSA keys sign through `ring`, never through the `rsa` crate.
use crate::backend::CliCrypto;
use crate::util::{block_on, fail, now_or, read_file, CliError, Result};
use clap::Args;
use edge_sts_core::jose::signing::SigningKey;
use edge_sts_core::policy::mint;
use serde_json::{Map, Value};
use std::io::Read;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct MintArgs {
    /// Private JWK file (as made by `edge-sts keys generate`)
    #[arg(long, value_name = "FILE")]
    pub key: String,
    /// Claims as a JSON object, `@FILE`, or `-` for standard input. `iat` and `exp` are added
    /// unless present
    #[arg(long, value_name = "JSON")]
    pub claims: String,
    /// Seconds until `exp` (when the claims have no `exp`)
    #[arg(long, default_value_t = 300, value_name = "S")]
    pub lifetime: u64,
    /// Issue as of this time (seconds since the epoch) instead of the system clock
    #[arg(long, value_name = "UNIX")]
    pub now: Option<f64>,
}

pub fn run(a: MintArgs) -> Result<ExitCode> {
    let key = SigningKey::from_jwk_json(&read_file(&a.key)?).map_err(|e| CliError(format!("{}: {e}", a.key)))?;
    let text = match a.claims.as_str() {
        "-" => {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s).map_err(|e| CliError(format!("cannot read standard input: {e}")))?;
            s
        }
        c if c.starts_with('@') => read_file(&c[1..])?,
        c => c.to_owned(),
    };
    let mut claims: Map<String, Value> = match serde_json::from_str(&text) {
        Ok(Value::Object(m)) => m,
        Ok(_) => return fail("--claims must be a JSON object"),
        Err(e) => return fail(format!("--claims is not JSON: {e}")),
    };
    let now = now_or(a.now).floor() as u64;
    claims.entry("iat").or_insert(Value::from(now));
    claims.entry("exp").or_insert(Value::from(now + a.lifetime));
    let token = block_on(mint::sign(&CliCrypto, &key, &claims)).map_err(|e| CliError(e.to_string()))?;
    println!("{token}");
    Ok(ExitCode::SUCCESS)
}
