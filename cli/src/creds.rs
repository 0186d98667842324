//! `edge-sts token` and `edge-sts credentials aws|gcp|gcp-config|token-file`: the client side of
//! edge-sts, in the shapes the clouds' SDKs read (botocore's `credential_process`, Google's
//! `executable` source, the token file of AWS's `web_identity_token_file` and of
//! azure-identity's `AZURE_FEDERATED_TOKEN_FILE`).
use crate::client::{now_secs, Client, ClientArgs, AWS_CREDENTIAL_PROCESS, JWT_TOKEN_TYPE};
use crate::files;
use crate::util::{fail, CliError, Result};
use clap::{Args, Subcommand};
use edge_sts_core::b64;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// botocore refreshes `credential_process` credentials 15 minutes before `Expiration` (its
/// advisory refresh timeout): a cached entry is served only while it has more left than that.
pub const AWS_REFRESH_MARGIN_SECS: u64 = 15 * 60;
/// A Google output file is reused only while its token has more than this left.
pub const GCP_OUTPUT_FILE_MARGIN_SECS: u64 = 60;

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// The downstream target to ask for (its name, or its audience)
    #[arg(long, value_name = "NAME")]
    pub audience: String,
    /// Scopes to ask for (space-separated)
    #[arg(long)]
    pub scope: Option<String>,
    /// Print edge-sts's whole JSON answer instead of the bare token
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Debug, Subcommand)]
pub enum CredentialsCmd {
    /// AWS `credential_process`: prints the credentials JSON, cached (0600) until 15 min before expiry
    Aws(AwsArgs),
    /// Google `executable` source: prints the executable-source JSON for an assertion-mode target
    Gcp(GcpArgs),
    /// Writes the Google `external_account` configuration whose executable is this helper
    GcpConfig(GcpConfigArgs),
    /// Writes an assertion-mode target's assertion to a file (0600): AWS_WEB_IDENTITY_TOKEN_FILE, AZURE_FEDERATED_TOKEN_FILE
    #[command(visible_alias = "azure")]
    TokenFile(TokenFileArgs),
}

#[derive(Debug, Args)]
pub struct AwsArgs {
    /// The AWS target's name in edge-sts's configuration
    #[arg(long, value_name = "NAME")]
    pub target: String,
    /// Cache directory (default: the user's cache directory + /edge-sts, e.g. ~/.cache/edge-sts)
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Neither read nor write the cache
    #[arg(long)]
    pub no_cache: bool,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Debug, Args)]
pub struct GcpArgs {
    /// The Google target's name in edge-sts's configuration (assertion mode)
    #[arg(long, value_name = "NAME")]
    pub target: String,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Debug, Args)]
pub struct GcpConfigArgs {
    /// The Google target's name in edge-sts's configuration (assertion mode)
    #[arg(long, value_name = "NAME")]
    pub target: String,
    /// Where to write the configuration (GOOGLE_APPLICATION_CREDENTIALS)
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// `output_file` for the library's cache of the executable's answer (no spaces)
    #[arg(long, value_name = "FILE")]
    pub output_file: Option<PathBuf>,
    /// The helper's path in the command (default: this binary's own path; no spaces)
    #[arg(long, value_name = "PATH")]
    pub command_path: Option<PathBuf>,
    /// `timeout_millis` of the executable (Google allows 5000 to 120000)
    #[arg(long, default_value_t = 30_000, value_name = "MS")]
    pub timeout_millis: u64,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Debug, Args)]
pub struct TokenFileArgs {
    /// The target's name in edge-sts's configuration (an AWS or Entra target in assertion mode)
    #[arg(long, value_name = "NAME")]
    pub target: String,
    /// The token file (web_identity_token_file, AZURE_FEDERATED_TOKEN_FILE)
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Keep running and rewrite the file each time half of the assertion's life is left
    #[arg(long)]
    pub watch: bool,
    #[command(flatten)]
    pub client: ClientArgs,
}

pub fn run_token(a: TokenArgs) -> Result<ExitCode> {
    let c = Client::new(a.client)?;
    let kc = c.keycloak_token()?;
    let m = c.exchange(&kc, &a.audience, a.scope.as_deref(), None)?;
    if a.json {
        println!("{}", Value::Object(m));
    } else {
        match m.get("access_token").and_then(Value::as_str) {
            Some(t) => println!("{t}"),
            None => return fail("edge-sts's answer has no access_token"),
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run(cmd: CredentialsCmd) -> Result<ExitCode> {
    match cmd {
        CredentialsCmd::Aws(a) => aws(a),
        CredentialsCmd::Gcp(a) => Ok(gcp(a)),
        CredentialsCmd::GcpConfig(a) => gcp_config(a),
        CredentialsCmd::TokenFile(a) => token_file(a),
    }
}

// ---------------------------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------------------------

/// Writes `data` to `path` atomically: a 0600 temporary file in the same directory, then rename.
pub fn write_private(path: &Path, data: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let shown = path.display();
    let mut tmp = tempfile::Builder::new()
        .prefix(".edge-sts-")
        .tempfile_in(dir)
        .map_err(|e| CliError(format!("cannot create a temporary file next to {shown}: {e}")))?;
    tmp.write_all(data).and_then(|_| tmp.as_file().sync_all()).map_err(|e| CliError(format!("cannot write {shown}: {e}")))?;
    tmp.persist(path).map_err(|e| CliError(format!("cannot replace {shown}: {}", e.error)))?;
    Ok(())
}

fn expiry_of(rfc3339: &str) -> Option<u64> {
    chrono::DateTime::parse_from_rfc3339(rfc3339.trim()).ok().and_then(|t| u64::try_from(t.timestamp()).ok())
}

/// `exp` of a JWT's payload (read, not verified: only for the expiry the helper reports).
fn jwt_exp(token: &str) -> Option<u64> {
    let payload = token.split('.').nth(1)?;
    let v: Value = serde_json::from_slice(&b64::decode(payload)?).ok()?;
    v.get("exp")?.as_u64()
}

/// The assertion of an assertion-mode target and its expiry (unix seconds).
fn assertion(c: &Client, target: &str) -> Result<(String, u64)> {
    let kc = c.keycloak_token()?;
    let m = c.exchange(&kc, target, None, None)?;
    let token = m.get("access_token").and_then(Value::as_str).unwrap_or_default().to_owned();
    if m.get("issued_token_type").and_then(Value::as_str) != Some(JWT_TOKEN_TYPE) || token.is_empty() {
        // What edge-sts answered says which command serves this target.
        let bearer = m.get("token_type").and_then(Value::as_str).is_some_and(|t| t.eq_ignore_ascii_case("bearer"));
        let instead = if m.contains_key("aws_access_key_id") {
            "with AWS credentials (an AWS target in brokered mode): `edge-sts credentials aws` prints them for credential_process"
        } else if bearer {
            "with a bearer token (a downstream target, or a Google or Entra target in brokered mode): `edge-sts token` prints it"
        } else {
            "without an assertion"
        };
        return fail(format!("target {target} is not in assertion mode: edge-sts answered {instead}"));
    }
    let now = now_secs();
    let by_expires_in = m.get("expires_in").and_then(Value::as_u64).map(|s| now + s);
    let exp = match (by_expires_in, jwt_exp(&token)) {
        (Some(a), Some(b)) => a.min(b),
        (Some(a), None) | (None, Some(a)) => a,
        (None, None) => return fail(format!("edge-sts's answer for {target} says nothing of its expiry")),
    };
    if exp <= now {
        return fail(format!("edge-sts's assertion for {target} is already expired"));
    }
    Ok((token, exp))
}

// ---------------------------------------------------------------------------------------------
// AWS
// ---------------------------------------------------------------------------------------------

fn cache_dir(a: &AwsArgs) -> Result<PathBuf> {
    let dir = match &a.cache_dir {
        Some(d) => d.clone(),
        None => {
            dirs::cache_dir().ok_or_else(|| CliError("no cache directory (set XDG_CACHE_HOME or --cache-dir)".into()))?.join("edge-sts")
        }
    };
    let mut b = fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(&dir).map_err(|e| CliError(format!("cannot create cache directory {}: {e}", dir.display())))?;
    files::check_own_dir(&dir, "cache directory")?;
    Ok(dir)
}

/// The cache entry's name: a hash of (edge-sts URL, Keycloak token URL or issuer, client id, target).
pub fn aws_cache_key(c: &Client, target: &str) -> String {
    let keycloak = c.args.token_url.as_deref().or(c.args.issuer.as_deref()).unwrap_or_default();
    let id = json!([c.edge_sts, keycloak, c.args.client_id, target]).to_string();
    let h = Sha256::digest(id.as_bytes());
    h.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// The credentials in a cache file, if they are well formed and have more than the margin left
/// (the file's owner, mode and kind: `files::read_own`).
fn cached_aws(path: &Path, now: u64) -> Result<Option<Map<String, Value>>> {
    let Some(bytes) = files::read_own(path, "cache file")? else { return Ok(None) };
    let fresh = || -> Option<Map<String, Value>> {
        let m: Map<String, Value> = serde_json::from_slice(&bytes).ok()?;
        valid_aws(&m)?;
        let exp = expiry_of(m.get("Expiration")?.as_str()?)?;
        (exp > now + AWS_REFRESH_MARGIN_SECS).then_some(m)
    };
    Ok(fresh())
}

/// The credential_process shape botocore reads, or None.
fn valid_aws(m: &Map<String, Value>) -> Option<()> {
    (m.get("Version")?.as_u64()? == 1).then_some(())?;
    for k in ["AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"] {
        m.get(k)?.as_str().filter(|s| !s.is_empty())?;
    }
    expiry_of(m.get("Expiration")?.as_str()?).map(|_| ())
}

fn fetch_aws(c: &Client, target: &str) -> Result<Map<String, Value>> {
    let kc = c.keycloak_token()?;
    let m = c.exchange(&kc, target, None, Some(AWS_CREDENTIAL_PROCESS))?;
    if valid_aws(&m).is_none() {
        return fail(format!("edge-sts's answer for {target} is not credential_process JSON"));
    }
    if let Some(s) = m.get("SecretAccessKey").and_then(Value::as_str) {
        c.secret(s);
    }
    Ok(m)
}

fn aws(a: AwsArgs) -> Result<ExitCode> {
    let target = a.target.clone();
    if a.no_cache {
        let c = Client::new(a.client.clone())?;
        println!("{}", Value::Object(fetch_aws(&c, &target)?));
        return Ok(ExitCode::SUCCESS);
    }
    let dir = cache_dir(&a)?;
    let c = Client::new(a.client)?;
    let key = aws_cache_key(&c, &target);
    let path = dir.join(format!("aws-{key}.json"));
    // One process at a time per entry: the others wait, then find the fresh entry.
    let lock_path = dir.join(format!("aws-{key}.lock"));
    let lock = files::open_lock(&lock_path)?;
    lock.lock().map_err(|e| CliError(format!("cannot lock {}: {e}", lock_path.display())))?;
    let m = match cached_aws(&path, now_secs())? {
        Some(m) => m,
        None => {
            let m = fetch_aws(&c, &target)?;
            if cached_aws_reusable(&m) {
                write_private(&path, Value::Object(m.clone()).to_string().as_bytes())?;
            } else {
                let _ = fs::remove_file(&path);
            }
            m
        }
    };
    drop(lock);
    println!("{}", Value::Object(m));
    Ok(ExitCode::SUCCESS)
}

fn cached_aws_reusable(m: &Map<String, Value>) -> bool {
    m.get("Expiration").and_then(Value::as_str).and_then(expiry_of).is_some_and(|exp| exp > now_secs() + AWS_REFRESH_MARGIN_SECS)
}

// ---------------------------------------------------------------------------------------------
// Google
// ---------------------------------------------------------------------------------------------

/// An executable-source answer in the output file that is still good for a while. The file is
/// the helper's own, like the AWS cache (`files`): in a directory of the user's, no link, the
/// user's, 0600. The Google library reads it too, before it runs the helper, and checks nothing
/// of its owner (google-auth's `pluggable.py`, `retrieve_subject_token`): the directory rule is
/// what keeps another user from putting an answer there first.
fn gcp_output_file_valid(path: &str, now: u64) -> Result<Option<Value>> {
    let p = Path::new(path);
    let dir = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    files::check_own_dir(dir, "the directory of Google's output file")?;
    let Some(bytes) = files::read_own(p, "Google's output file")? else { return Ok(None) };
    Ok(output_file_answer(&bytes, now))
}

fn output_file_answer(bytes: &[u8], now: u64) -> Option<Value> {
    let v: Value = serde_json::from_slice(bytes).ok()?;
    let ok = v.get("version")?.as_u64()? == 1
        && v.get("success")?.as_bool()?
        && v.get("token_type")?.as_str()? == JWT_TOKEN_TYPE
        && !v.get("id_token")?.as_str()?.is_empty()
        && v.get("expiration_time")?.as_u64()? > now + GCP_OUTPUT_FILE_MARGIN_SECS;
    ok.then_some(v)
}

/// Google's executable contract: the JSON on standard output, nothing on standard error (the
/// library merges the two), exit 0 on success, 1 with a `success: false` answer on failure.
fn gcp(a: GcpArgs) -> ExitCode {
    let output_file = std::env::var("GOOGLE_EXTERNAL_ACCOUNT_OUTPUT_FILE").ok().filter(|s| !s.is_empty());
    let result = (|| -> Result<Value> {
        if let Some(v) = output_file.as_deref().map(|f| gcp_output_file_valid(f, now_secs())).transpose()?.flatten() {
            return Ok(v);
        }
        let c = Client::new(a.client)?;
        let (token, exp) = assertion(&c, &a.target)?;
        let v = json!({"version": 1, "success": true, "token_type": JWT_TOKEN_TYPE, "id_token": token, "expiration_time": exp});
        if let Some(f) = &output_file {
            write_private(Path::new(f), v.to_string().as_bytes())?;
        }
        Ok(v)
    })();
    match result {
        Ok(v) => {
            println!("{v}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("{}", json!({"version": 1, "success": false, "code": "EDGE_STS_ERROR", "message": e.0}));
            ExitCode::from(1)
        }
    }
}

fn no_spaces(what: &str, s: &str) -> Result<String> {
    if s.is_empty() || s.chars().any(char::is_whitespace) {
        return fail(format!(
            "{what} `{s}` contains a space: Google splits the command on spaces without quoting; use a path without spaces"
        ));
    }
    Ok(s.to_owned())
}

fn abs(what: &str, p: &str) -> Result<String> {
    let a = std::path::absolute(p).map_err(|e| CliError(format!("{what} {p}: {e}")))?;
    no_spaces(what, &a.to_string_lossy())
}

/// The helper's command line for Google's `executable` source: this run's own client options,
/// with absolute paths (the library runs it from its own working directory).
pub fn gcp_command(a: &GcpConfigArgs, edge_sts: &str) -> Result<String> {
    let c = &a.client;
    let exe = match &a.command_path {
        Some(p) => p.clone(),
        None => std::env::current_exe().map_err(|e| CliError(format!("cannot find this binary's path: {e}; give --command-path")))?,
    };
    let mut parts = vec![abs("the helper's path", &exe.to_string_lossy())?, "credentials".into(), "gcp".into()];
    let mut push = |flag: &str, v: &str| -> Result<()> {
        parts.push(flag.to_owned());
        parts.push(no_spaces(flag, v)?);
        Ok(())
    };
    push("--target", &a.target)?;
    push("--edge-sts", edge_sts)?;
    if let Some(u) = &c.token_url {
        push("--token-url", u)?;
    }
    if let Some(u) = &c.issuer {
        push("--issuer", u)?;
    }
    push("--client-id", &c.client_id)?;
    if let Some(f) = &c.client_secret_file {
        push("--client-secret-file", &abs("--client-secret-file", f)?)?;
    }
    if let Some(v) = &c.client_secret_env {
        push("--client-secret-env", v)?;
    }
    if let Some(f) = &c.private_key_jwt {
        push("--private-key-jwt", &abs("--private-key-jwt", f)?)?;
    }
    if let Some(f) = &c.ca_file {
        push("--ca-file", &abs("--ca-file", f)?)?;
    }
    if c.timeout != 10 {
        push("--timeout", &c.timeout.to_string())?;
    }
    if c.allow_http_loopback {
        parts.push("--allow-http-loopback".into());
    }
    Ok(parts.join(" "))
}

fn gcp_config(a: GcpConfigArgs) -> Result<ExitCode> {
    if !(5_000..=120_000).contains(&a.timeout_millis) {
        return fail("--timeout-millis must be between 5000 and 120000 (Google's limits)");
    }
    let output_file = a.output_file.as_ref().map(|f| abs("--output-file", &f.to_string_lossy())).transpose()?;
    let c = Client::new(a.client.clone())?;
    let command = gcp_command(&a, &c.edge_sts)?;
    let kc = c.keycloak_token()?;
    let target: String = form_urlencoded::byte_serialize(a.target.as_bytes()).collect();
    let url = format!("{}/gcp/external-account?target={target}", c.edge_sts);
    let ans = c.get(&url, Some(&kc))?;
    if ans.status != 200 {
        return fail(format!("edge-sts refused the external_account configuration for {}: {}", a.target, c.oauth_error_with_hint(&ans)));
    }
    let Some(mut cfg) = ans.json() else {
        return fail("edge-sts's external_account configuration is not a JSON object");
    };
    if cfg.get("type").and_then(Value::as_str) != Some("external_account") {
        return fail("edge-sts's answer is not an external_account configuration");
    }
    // The executable source replaces whatever source the server described; its other members
    // (a timeout, say) stay unless this run sets them.
    let mut exe = cfg.get("credential_source").and_then(|s| s.get("executable")).and_then(Value::as_object).cloned().unwrap_or_default();
    exe.insert("command".into(), Value::from(command));
    exe.insert("timeout_millis".into(), Value::from(a.timeout_millis));
    match output_file {
        Some(f) => exe.insert("output_file".into(), Value::from(f)),
        None => exe.remove("output_file"),
    };
    cfg.insert("credential_source".into(), json!({ "executable": exe }));
    let mut text = serde_json::to_string_pretty(&Value::Object(cfg)).map_err(|e| CliError(e.to_string()))?;
    text.push('\n');
    write_private(&a.out, text.as_bytes())?;
    eprintln!("wrote {}: set GOOGLE_APPLICATION_CREDENTIALS to it and GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES=1", a.out.display());
    Ok(ExitCode::SUCCESS)
}

// ---------------------------------------------------------------------------------------------
// Token file (AWS web identity, Entra federated token)
// ---------------------------------------------------------------------------------------------

/// Both SDKs read the file again at each refresh (botocore whenever its credentials near expiry,
/// azure-identity when its last read is 600 s old), so a file rewritten at half-life stays good.
fn token_file(a: TokenFileArgs) -> Result<ExitCode> {
    let c = Client::new(a.client)?;
    let write = || -> Result<(u64, u64)> {
        let (token, exp) = assertion(&c, &a.target)?;
        write_private(&a.out, token.as_bytes())?;
        Ok((now_secs(), exp))
    };
    let (issued, mut exp) = write()?;
    if !a.watch {
        eprintln!("wrote {} (valid for {} s)", a.out.display(), exp.saturating_sub(issued));
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!("wrote {}; rewriting it each time half of the assertion's life is left", a.out.display());
    let mut next = issued + exp.saturating_sub(issued) / 2;
    loop {
        std::thread::sleep(Duration::from_secs(next.saturating_sub(now_secs()).max(1)));
        match write() {
            Ok((i, e)) => {
                exp = e;
                next = i + e.saturating_sub(i) / 2;
            }
            Err(err) => {
                // The file keeps its assertion (still valid for a while); try again soon.
                let left = exp.saturating_sub(now_secs());
                eprintln!("error: {err} (the file's assertion has {left} s left; retrying)");
                next = now_secs() + (left / 4).clamp(5, 60);
            }
        }
    }
}
