//! `edge-sts token` and `edge-sts credentials aws|gcp|gcp-config|token-file|aws-config|azure-env`:
//! the client side of edge-sts, in the shapes the clouds' SDKs read (botocore's
//! `credential_process`, Google's `executable` and `file` sources, the token file of AWS's
//! `web_identity_token_file` and of azure-identity's `AZURE_FEDERATED_TOKEN_FILE`), and the
//! configuration that points each SDK at them.
use crate::client::{now_secs, Client, ClientArgs, AWS_CREDENTIAL_PROCESS, JWT_TOKEN_TYPE};
use crate::files;
use crate::util::{fail, CliError, Result};
use clap::{Args, Subcommand};
use edge_sts_core::jose::b64;
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
    /// The target: its name in edge-sts's configuration (cloud targets only by name) or a
    /// downstream target's audience; sent as the exchange's `audience`. Prints the token of a
    /// downstream target, or of a Google or Entra target in brokered mode
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
    /// Writes the Google `external_account` configuration whose executable is this helper (or, with --token-file, whose source is that file)
    GcpConfig(GcpConfigArgs),
    /// Writes an assertion-mode target's assertion to a file (0600): AWS_WEB_IDENTITY_TOKEN_FILE, AZURE_FEDERATED_TOKEN_FILE, Google's credential_source.file
    #[command(visible_alias = "azure")]
    TokenFile(TokenFileArgs),
    /// Prints an AWS config profile: credential_process running this helper, or (with --token-file) a web identity profile
    AwsConfig(AwsConfigArgs),
    /// Prints the azure-identity environment (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_FEDERATED_TOKEN_FILE) and the token-file command that keeps the file fresh
    AzureEnv(AzureEnvArgs),
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
    #[arg(long, value_name = "FILE", conflicts_with = "token_file")]
    pub output_file: Option<PathBuf>,
    /// The helper's path in the command (default: this binary's own path; no spaces)
    #[arg(long, value_name = "PATH", conflicts_with = "token_file")]
    pub command_path: Option<PathBuf>,
    /// `timeout_millis` of the executable (Google allows 5000 to 120000)
    #[arg(long, default_value_t = 30_000, value_name = "MS", conflicts_with = "token_file")]
    pub timeout_millis: u64,
    /// A `file` source instead of the executable: the library reads the assertion from FILE,
    /// which `credentials token-file --watch` keeps fresh (no executable to allow)
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Debug, Args)]
pub struct AwsConfigArgs {
    /// The AWS target's name in edge-sts's configuration
    #[arg(long, value_name = "NAME")]
    pub target: String,
    /// The profile's name (`default` is the `[default]` section)
    #[arg(long, value_name = "NAME")]
    pub profile: String,
    /// The profile's `region`
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// The helper's path in the command (default: this binary's own path)
    #[arg(long, value_name = "PATH")]
    pub command_path: Option<PathBuf>,
    /// An assertion-mode target: a web identity profile reading this file (which
    /// `credentials token-file --watch` keeps fresh) instead of credential_process
    #[arg(long, value_name = "FILE", requires = "role_arn")]
    pub token_file: Option<PathBuf>,
    /// The role the SDK assumes with the file's assertion (with --token-file)
    #[arg(long, value_name = "ARN", requires = "token_file")]
    pub role_arn: Option<String>,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Debug, Args)]
pub struct AzureEnvArgs {
    /// The Entra target's name in edge-sts's configuration (assertion mode)
    #[arg(long, value_name = "NAME")]
    pub target: String,
    /// The token file (AZURE_FEDERATED_TOKEN_FILE)
    #[arg(long, value_name = "FILE")]
    pub token_file: PathBuf,
    /// The Entra tenant (AZURE_TENANT_ID): the target's `azure.tenant`
    #[arg(long, value_name = "ID")]
    pub tenant: String,
    /// The application (client) id (AZURE_CLIENT_ID): the target's `azure.client_id`
    #[arg(long, value_name = "ID")]
    pub app_id: String,
    /// AZURE_AUTHORITY_HOST, for a national cloud (the target's `azure.authority_host`)
    #[arg(long, value_name = "URL")]
    pub authority_host: Option<String>,
    /// The helper's path in the command (default: this binary's own path)
    #[arg(long, value_name = "PATH")]
    pub command_path: Option<PathBuf>,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Debug, Args)]
pub struct TokenFileArgs {
    /// The target's name in edge-sts's configuration (an AWS, Google or Entra target in assertion mode)
    #[arg(long, value_name = "NAME")]
    pub target: String,
    /// The token file (web_identity_token_file, AZURE_FEDERATED_TOKEN_FILE, Google's credential_source.file)
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
        CredentialsCmd::AwsConfig(a) => aws_config(a),
        CredentialsCmd::AzureEnv(a) => azure_env(a),
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
/// library merges the two), exit 0. A failure is exit 0 too, with `success: false`, `code` and
/// `message`: all three parsers show those (google-auth `pluggable.py`, `_parse_subject_token`:
/// "Executable returned unsuccessful response: code: ..., message: ..."; golang/oauth2
/// `google/externalaccount/executablecredsource.go`: "response contains unsuccessful response:
/// (code) message"; google-auth-library-nodejs `pluggable-auth-client`: an `ExecutableError`
/// with the message and code). On a non-zero exit golang/oauth2 (so Terraform's Google
/// provider) reports only the exit code, and older Node versions drop the output.
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
            ExitCode::SUCCESS
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

/// How a command line is read: Google's libraries split it on whitespace with no quoting
/// (Python `str.split()`, Go `strings.Fields`), so no part may hold a space; botocore splits
/// `credential_process` as a POSIX shell does (`shlex.split`, botocore `compat_shell_split`),
/// the Go SDK runs it with `sh -c` (aws-sdk-go-v2 `processcreds`), and the Azure snippet is
/// shell: there each part is quoted for the shell when it needs it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Quoting {
    NoSpaces,
    Shell,
}

/// `s` as one shell word (single quotes when it holds anything but `[A-Za-z0-9_@%+=:,./-]`).
/// No control characters: the word must stay on one line of a config file.
fn shell_word(what: &str, s: &str) -> Result<String> {
    if s.chars().any(char::is_control) {
        return fail(format!("{what} contains a control character"));
    }
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c)) {
        return Ok(s.to_owned());
    }
    Ok(format!("'{}'", s.replace('\'', "'\\''")))
}

fn word(q: Quoting, what: &str, s: &str) -> Result<String> {
    match q {
        Quoting::NoSpaces => no_spaces(what, s),
        Quoting::Shell => shell_word(what, s),
    }
}

fn absolute(what: &str, p: &str) -> Result<String> {
    let a = std::path::absolute(p).map_err(|e| CliError(format!("{what} {p}: {e}")))?;
    Ok(a.to_string_lossy().into_owned())
}

fn abs(what: &str, p: &str) -> Result<String> {
    no_spaces(what, &absolute(what, p)?)
}

/// This helper's command line: `sub` with its own arguments, then this run's client options,
/// paths made absolute (the SDK runs it from its own working directory).
fn helper_command(
    q: Quoting,
    command_path: Option<&PathBuf>,
    sub: &[(&str, Option<&str>)],
    c: &ClientArgs,
    edge_sts: &str,
) -> Result<String> {
    let exe = match command_path {
        Some(p) => p.clone(),
        None => std::env::current_exe().map_err(|e| CliError(format!("cannot find this binary's path: {e}; give --command-path")))?,
    };
    let mut parts = vec![word(q, "the helper's path", &absolute("the helper's path", &exe.to_string_lossy())?)?];
    let mut push = |flag: &str, v: Option<&str>| -> Result<()> {
        parts.push(flag.to_owned());
        if let Some(v) = v {
            parts.push(word(q, flag, v)?);
        }
        Ok(())
    };
    for (flag, v) in sub {
        push(flag, *v)?;
    }
    push("--edge-sts", Some(edge_sts))?;
    if let Some(u) = &c.token_url {
        push("--token-url", Some(u))?;
    }
    if let Some(u) = &c.issuer {
        push("--issuer", Some(u))?;
    }
    push("--client-id", Some(&c.client_id))?;
    if let Some(f) = &c.client_secret_file {
        push("--client-secret-file", Some(&absolute("--client-secret-file", f)?))?;
    }
    if let Some(v) = &c.client_secret_env {
        push("--client-secret-env", Some(v))?;
    }
    if let Some(f) = &c.private_key_jwt {
        push("--private-key-jwt", Some(&absolute("--private-key-jwt", f)?))?;
    }
    if let Some(f) = &c.ca_file {
        push("--ca-file", Some(&absolute("--ca-file", f)?))?;
    }
    if c.timeout != 10 {
        push("--timeout", Some(&c.timeout.to_string()))?;
    }
    if c.allow_http_loopback {
        push("--allow-http-loopback", None)?;
    }
    Ok(parts.join(" "))
}

/// The helper's command line for Google's `executable` source.
pub fn gcp_command(a: &GcpConfigArgs, edge_sts: &str) -> Result<String> {
    let sub = [("credentials", None), ("gcp", None), ("--target", Some(a.target.as_str()))];
    // `credentials` and `gcp` are words, not flags with a value: pushed as flags without one.
    helper_command(Quoting::NoSpaces, a.command_path.as_ref(), &sub, &a.client, edge_sts)
}

/// The `token-file --watch` command that keeps `file` fresh, for a shell.
fn watch_command(command_path: Option<&PathBuf>, target: &str, file: &str, c: &ClientArgs, edge_sts: &str) -> Result<String> {
    let sub = [("credentials", None), ("token-file", None), ("--target", Some(target)), ("--out", Some(file)), ("--watch", None)];
    helper_command(Quoting::Shell, command_path, &sub, c, edge_sts)
}

fn gcp_config(a: GcpConfigArgs) -> Result<ExitCode> {
    if !(5_000..=120_000).contains(&a.timeout_millis) {
        return fail("--timeout-millis must be between 5000 and 120000 (Google's limits)");
    }
    let output_file = a.output_file.as_ref().map(|f| abs("--output-file", &f.to_string_lossy())).transpose()?;
    let token_file = a.token_file.as_ref().map(|f| absolute("--token-file", &f.to_string_lossy())).transpose()?;
    let c = Client::new(a.client.clone())?;
    let command = match &token_file {
        Some(f) => watch_command(None, &a.target, f, &a.client, &c.edge_sts)?,
        None => gcp_command(&a, &c.edge_sts)?,
    };
    let kc = c.keycloak_token()?;
    let target: String = form_urlencoded::byte_serialize(a.target.as_bytes()).collect();
    let url = format!("{}/gcp/external-account?target={target}", c.edge_sts);
    let ans = c.get_retrying(&url, Some(&kc))?;
    if ans.status != 200 {
        return fail(format!("edge-sts refused the external_account configuration for {}: {}", a.target, c.oauth_error_with_hint(&ans)));
    }
    let Some(mut cfg) = ans.json() else {
        return fail("edge-sts's external_account configuration is not a JSON object");
    };
    if cfg.get("type").and_then(Value::as_str) != Some("external_account") {
        return fail("edge-sts's answer is not an external_account configuration");
    }
    if let Some(f) = &token_file {
        // A `file` source (google-auth `identity_pool`, format `text`: the whole file is the
        // subject token), which the library reads at each refresh.
        cfg.insert("credential_source".into(), json!({"file": f, "format": {"type": "text"}}));
        let mut text = serde_json::to_string_pretty(&Value::Object(cfg)).map_err(|e| CliError(e.to_string()))?;
        text.push('\n');
        write_private(&a.out, text.as_bytes())?;
        eprintln!("wrote {}: set GOOGLE_APPLICATION_CREDENTIALS to it, and keep {f} fresh with:\n{command}", a.out.display());
        return Ok(ExitCode::SUCCESS);
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

// ---------------------------------------------------------------------------------------------
// Generators: an AWS config profile, the azure-identity environment
// ---------------------------------------------------------------------------------------------

/// botocore's `RoleSessionName` rule (`[\w+=,.@-]{2,64}`).
fn aws_session_name(s: &str) -> bool {
    (2..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b))
}

/// A profile block for `~/.aws/config`, on standard output. Brokered: `credential_process`
/// running `credentials aws` with this run's options, one line (shell-quoted where needed, as
/// botocore and the Go SDK both read it). With --token-file: `role_arn` and
/// `web_identity_token_file`, and the `token-file --watch` command as a comment. Reads the
/// client options (the secret file must pass its rule) but calls nothing.
fn aws_config(a: AwsConfigArgs) -> Result<ExitCode> {
    let p = &a.profile;
    if p.is_empty() || p.chars().any(|c| c.is_whitespace() || c.is_control() || "[]".contains(c)) {
        return fail(format!("--profile `{p}`: a profile name has no spaces or brackets"));
    }
    let one_line = |what: &str, v: &str| -> Result<String> {
        if v.is_empty() || v.chars().any(|c| c.is_control()) {
            return fail(format!("{what} must be one non-empty line"));
        }
        Ok(v.to_owned())
    };
    let c = Client::new(a.client.clone())?;
    let mut out = if p == "default" { "[default]\n".to_owned() } else { format!("[profile {p}]\n") };
    if let Some(r) = &a.region {
        out += &format!("region = {}\n", one_line("--region", r)?);
    }
    match (&a.token_file, &a.role_arn) {
        (Some(f), Some(role)) => {
            let f = absolute("--token-file", &f.to_string_lossy())?;
            out += &format!("role_arn = {}\n", one_line("--role-arn", role)?);
            out += &format!("web_identity_token_file = {}\n", one_line("--token-file", &f)?);
            if aws_session_name(&a.client.client_id) {
                out += &format!("role_session_name = {}\n", a.client.client_id);
            }
            out += &format!("# keep the file fresh: {}\n", watch_command(a.command_path.as_ref(), &a.target, &f, &a.client, &c.edge_sts)?);
        }
        _ => {
            let sub = [("credentials", None), ("aws", None), ("--target", Some(a.target.as_str()))];
            out += &format!(
                "credential_process = {}\n",
                helper_command(Quoting::Shell, a.command_path.as_ref(), &sub, &a.client, &c.edge_sts)?
            );
        }
    }
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}

/// The environment `WorkloadIdentityCredential` and `DefaultAzureCredential` read, as shell
/// `export` lines on standard output, and the `token-file --watch` command that keeps the file
/// fresh as a comment. Calls nothing.
fn azure_env(a: AzureEnvArgs) -> Result<ExitCode> {
    let c = Client::new(a.client.clone())?;
    let file = absolute("--token-file", &a.token_file.to_string_lossy())?;
    let mut out = String::new();
    for (var, v) in
        [("AZURE_TENANT_ID", Some(&a.tenant)), ("AZURE_CLIENT_ID", Some(&a.app_id)), ("AZURE_AUTHORITY_HOST", a.authority_host.as_ref())]
    {
        if let Some(v) = v {
            out += &format!("export {var}={}\n", shell_word(var, v)?);
        }
    }
    out += &format!("export AZURE_FEDERATED_TOKEN_FILE={}\n", shell_word("--token-file", &file)?);
    out += &format!("# keep the file fresh: {}\n", watch_command(a.command_path.as_ref(), &a.target, &file, &a.client, &c.edge_sts)?);
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}
