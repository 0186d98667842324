//! `edge-sts agent`: a local credential server for brokered cloud targets. It serves, on
//! 127.0.0.1 only, the part of each cloud's local credential protocol that the SDKs use, so that
//! an unmodified SDK gets refreshing credentials from edge-sts through its default chain:
//!
//! - AWS's container credentials endpoint (`AWS_CONTAINER_CREDENTIALS_FULL_URI` with
//!   `AWS_CONTAINER_AUTHORIZATION_TOKEN`);
//! - Google's metadata server (`GCE_METADATA_HOST`, `GCE_METADATA_IP`);
//! - Azure's App Service managed-identity endpoint (`IDENTITY_ENDPOINT` with `IDENTITY_HEADER`).
//!
//! One random secret per start (32 bytes from the OS, base64url) guards the AWS and Azure
//! routes through each protocol's own header. Google's protocol has no secret the SDKs send, so
//! its routes rely on the loopback listener, the `Metadata-Flavor: Google` request header, a
//! `Host` naming the listener, and no `Origin` or `X-Forwarded-For`: whoever can open a
//! connection to the port from this host gets the token (docs/clouds.md says where that holds).
//!
//! Credentials live in memory only. Each target has one [`Flight`]: a cached answer is served
//! while it has more than the SDKs' refresh margin left, and concurrent misses share one call to
//! Keycloak and edge-sts.
use crate::client::{now_secs, Client, ClientArgs};
use crate::util::{fail, CliError, Result};
use clap::Args;
use edge_sts_core::jose::b64;
use serde_json::{json, Map, Value};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// botocore refreshes container credentials when fewer than 15 minutes are left (botocore
/// `credentials.py`, `_DEFAULT_ADVISORY_REFRESH_TIMEOUT`): the agent serves only credentials
/// with more left, or the newest it could get.
pub const AWS_MARGIN_SECS: u64 = crate::creds::AWS_REFRESH_MARGIN_SECS;
/// google-auth-library (Node, `authclient.js` `DEFAULT_EAGER_REFRESH_THRESHOLD_MILLIS`) refreshes
/// 5 minutes before expiry, google-auth (Python, `_helpers.py` `REFRESH_THRESHOLD`) 3 min 45 s
/// before: the larger of the two.
pub const GCP_MARGIN_SECS: u64 = 300;
/// MSAL's managed-identity cache, which azure-identity (Python) uses, treats a token with fewer
/// than 5 minutes left as expired (msal `managed_identity.py`, `acquire_token_for_client`).
pub const AZURE_MARGIN_SECS: u64 = 300;
/// A failed fetch is the answer for this long (the SDKs retry at once: botocore three times a
/// second apart, google-auth up to five times), so a refusal costs one exchange, not one per retry.
const FAILURE_HOLD: Duration = Duration::from_secs(5);
/// The longest a request waits for another request's fetch.
const FOLLOWER_WAIT: Duration = Duration::from_secs(60);
/// Request head cap, connection cap, socket timeouts.
const MAX_HEAD: usize = 16 * 1024;
const MAX_CONNECTIONS: usize = 64;
const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// botocore, google-auth, gcp-metadata and azure-identity call these with GET, and so the agent.
const AWS_PATH: &str = "/aws/credentials";
const AZURE_PATH: &str = "/azure/token";
/// The App Service protocol version MSAL (`_obtain_token_on_app_service`) and azure-identity
/// (`_credentials/app_service.py`) send with `X-IDENTITY-HEADER`.
const AZURE_API_VERSION: &str = "2019-08-01";

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("targets").required(true).multiple(true).args(["aws_target", "gcp_target", "azure_target"]))]
pub struct AgentArgs {
    /// An AWS target in brokered mode, served as the container credentials endpoint
    #[arg(long, value_name = "NAME")]
    pub aws_target: Option<String>,
    /// A Google target in brokered mode, served as the metadata server's default service account
    #[arg(long, value_name = "NAME")]
    pub gcp_target: Option<String>,
    /// An Entra target in brokered mode, served as the App Service managed-identity endpoint
    #[arg(long, value_name = "NAME")]
    pub azure_target: Option<String>,
    /// The Azure target's resource: a request for another resource is refused (default: any
    /// request gets the target's token)
    #[arg(long, value_name = "URI", requires = "azure_target")]
    pub azure_resource: Option<String>,
    /// The port on 127.0.0.1 (0: any free port)
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Write the export lines to FILE (0600, replaced atomically) instead of standard output,
    /// for another container of the pod
    #[arg(long, value_name = "FILE")]
    pub env_file: Option<PathBuf>,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cloud {
    Aws,
    Gcp,
    Azure,
}

impl Cloud {
    fn name(self) -> &'static str {
        match self {
            Cloud::Aws => "aws",
            Cloud::Gcp => "gcp",
            Cloud::Azure => "azure",
        }
    }
    fn margin(self) -> u64 {
        match self {
            Cloud::Aws => AWS_MARGIN_SECS,
            Cloud::Gcp => GCP_MARGIN_SECS,
            Cloud::Azure => AZURE_MARGIN_SECS,
        }
    }
}

/// One target's credentials: their expiry (unix seconds) and what the protocol answer is built
/// from (AWS: the container credentials JSON; Google and Entra: `access_token` and `scope`).
#[derive(Debug, Clone)]
pub struct Cred {
    pub expires: u64,
    pub value: Map<String, Value>,
}

type Fetch = Box<dyn Fn() -> std::result::Result<Cred, String> + Send + Sync>;

/// Single flight with a cache: one fetch at a time; a request arriving during it waits for its
/// result (credentials or error), whatever their remaining life.
pub struct Flight {
    margin: u64,
    fetch: Fetch,
    state: Mutex<FlightState>,
    done: Condvar,
}

#[derive(Default)]
struct FlightState {
    last: Option<(std::result::Result<Cred, String>, Instant)>,
    generation: u64,
    in_flight: bool,
}

/// Ends a fetch even if it panicked: followers are woken with an error, never left waiting.
struct Landing<'a> {
    flight: &'a Flight,
    result: Option<std::result::Result<Cred, String>>,
}

impl Drop for Landing<'_> {
    fn drop(&mut self) {
        let result = self.result.take().unwrap_or_else(|| Err("the fetch failed unexpectedly".into()));
        let mut s = self.flight.state.lock().unwrap_or_else(|e| e.into_inner());
        s.last = Some((result, Instant::now()));
        s.generation += 1;
        s.in_flight = false;
        self.flight.done.notify_all();
    }
}

impl Flight {
    pub fn new(margin: u64, fetch: Fetch) -> Flight {
        Flight { margin, fetch, state: Mutex::new(FlightState::default()), done: Condvar::new() }
    }

    /// The credentials last fetched, if any and not expired (no fetch).
    pub fn peek(&self) -> Option<Cred> {
        let s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match &s.last {
            Some((Ok(c), _)) if c.expires > now_secs() => Some(c.clone()),
            _ => None,
        }
    }

    pub fn get(&self) -> std::result::Result<Cred, String> {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = now_secs();
        match &s.last {
            Some((Ok(c), _)) if c.expires > now + self.margin => return Ok(c.clone()),
            Some((Err(e), at)) if at.elapsed() < FAILURE_HOLD => return Err(e.clone()),
            _ => {}
        }
        if s.in_flight {
            let generation = s.generation;
            let deadline = Instant::now() + FOLLOWER_WAIT;
            while s.in_flight && s.generation == generation {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err("no answer from edge-sts in time".into());
                }
                s = self.done.wait_timeout(s, left).unwrap_or_else(|e| e.into_inner()).0;
            }
            return match &s.last {
                Some((Ok(c), _)) if c.expires > now_secs() => Ok(c.clone()),
                Some((Ok(_), _)) => Err("edge-sts's credentials expired at once".into()),
                Some((Err(e), _)) => Err(e.clone()),
                None => Err("no credentials".into()),
            };
        }
        s.in_flight = true;
        drop(s);
        let mut landing = Landing { flight: self, result: None };
        let result = (self.fetch)();
        landing.result = Some(result.clone());
        drop(landing);
        match result {
            Ok(c) if c.expires <= now_secs() => Err("edge-sts's credentials expired at once".into()),
            r => r,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Fetching from edge-sts
// ---------------------------------------------------------------------------------------------

fn parse_rfc3339(s: &str) -> Option<u64> {
    chrono::DateTime::parse_from_rfc3339(s.trim()).ok().and_then(|t| u64::try_from(t.timestamp()).ok())
}

/// `typ` of a JWT's header, if the string is one (edge-sts's own downstream tokens are `at+jwt`).
fn jwt_typ(token: &str) -> Option<String> {
    let header = token.split('.').next()?;
    let v: Value = serde_json::from_slice(&b64::decode(header)?).ok()?;
    v.get("typ")?.as_str().map(str::to_owned)
}

/// What a `/token` answer that is not this cloud's brokered credentials is, for the error line.
fn wrong_kind(cloud: Cloud, target: &str, m: &Map<String, Value>) -> String {
    let token = m.get("access_token").and_then(Value::as_str).unwrap_or_default();
    let what = if m.get("issued_token_type").and_then(Value::as_str) == Some(crate::client::JWT_TOKEN_TYPE) {
        "an assertion (a target in assertion mode: `edge-sts credentials token-file` or `credentials gcp-config` serves it)"
    } else if m.contains_key("aws_access_key_id") {
        "AWS credentials (an AWS target: --aws-target)"
    } else if jwt_typ(token).is_some_and(|t| t.eq_ignore_ascii_case("at+jwt")) {
        "one of its own tokens (a downstream target: `edge-sts token` serves it)"
    } else {
        "a bearer token (a Google or Entra target)"
    };
    format!("target {target} is not a brokered {} target: edge-sts answered with {what}", cloud.name())
}

/// The credentials of `target` from edge-sts's answer, in the shape the route serves.
pub fn cred_from_answer(cloud: Cloud, target: &str, m: &Map<String, Value>, now: u64) -> std::result::Result<Cred, String> {
    let s = |k: &str| m.get(k).and_then(Value::as_str).filter(|v| !v.is_empty());
    match cloud {
        Cloud::Aws => {
            let (Some(id), Some(secret), Some(session), Some(exp_text)) =
                (s("aws_access_key_id"), s("aws_secret_access_key"), s("aws_session_token"), s("aws_expiration"))
            else {
                return Err(wrong_kind(cloud, target, m));
            };
            let expires = parse_rfc3339(exp_text).ok_or_else(|| format!("edge-sts's aws_expiration for {target} is not RFC 3339"))?;
            // The container credentials shape: botocore `ContainerProvider._create_fetcher` reads
            // AccessKeyId, SecretAccessKey, Token, Expiration and AccountId; the AWS SDK for
            // JavaScript (`credential-provider-http` `requestHelpers.ts`) requires the first four
            // as strings. RoleArn as ECS sends it.
            let mut v = Map::new();
            v.insert("AccessKeyId".into(), id.into());
            v.insert("SecretAccessKey".into(), secret.into());
            v.insert("Token".into(), session.into());
            v.insert("Expiration".into(), exp_text.into());
            if let Some(arn) = s("aws_assumed_role_arn") {
                v.insert("RoleArn".into(), arn.into());
                // arn:aws:sts::<account>:assumed-role/...
                if let Some(account) = arn.split(':').nth(4).filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit())) {
                    v.insert("AccountId".into(), account.into());
                }
            }
            Ok(Cred { expires, value: v })
        }
        Cloud::Gcp | Cloud::Azure => {
            let bearer = s("token_type").is_some_and(|t| t.eq_ignore_ascii_case("bearer"));
            let access_token = type_checked(m);
            let (Some(token), Some(expires_in), true) = (access_token, m.get("expires_in").and_then(Value::as_u64), bearer) else {
                return Err(wrong_kind(cloud, target, m));
            };
            if jwt_typ(token).is_some_and(|t| t.eq_ignore_ascii_case("at+jwt")) || m.contains_key("aws_access_key_id") {
                return Err(wrong_kind(cloud, target, m));
            }
            let mut v = Map::new();
            v.insert("access_token".into(), token.into());
            if let Some(scope) = s("scope") {
                v.insert("scope".into(), scope.into());
            }
            Ok(Cred { expires: now + expires_in, value: v })
        }
    }
}

/// `access_token` of an access-token answer (not an assertion).
fn type_checked(m: &Map<String, Value>) -> Option<&str> {
    if m.get("issued_token_type").and_then(Value::as_str) == Some(crate::client::JWT_TOKEN_TYPE) {
        return None;
    }
    m.get("access_token").and_then(Value::as_str).filter(|t| !t.is_empty())
}

/// Keycloak's token, then the exchange. A new `Client` per fetch: the secret file is read again
/// (a rotated secret is picked up) and nothing of the run outlives it.
fn fetch_from_edge_sts(args: &ClientArgs, cloud: Cloud, target: &str) -> std::result::Result<Cred, String> {
    let run = || -> Result<Cred> {
        let c = Client::new(args.clone())?;
        let kc = c.keycloak_token()?;
        let m = c.exchange(&kc, target, None, None)?;
        let cred = cred_from_answer(cloud, target, &m, now_secs()).map_err(CliError)?;
        for k in ["SecretAccessKey", "Token", "access_token"] {
            if let Some(v) = cred.value.get(k).and_then(Value::as_str) {
                c.secret(v);
            }
        }
        Ok(cred)
    };
    match run() {
        Ok(c) => {
            eprintln!("{} target {target}: new credentials, valid for {} s", cloud.name(), c.expires.saturating_sub(now_secs()));
            Ok(c)
        }
        Err(e) => {
            eprintln!("error: {} target {target}: {e}", cloud.name());
            Err(e.0)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------------

#[derive(Debug)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    /// Names lowercased.
    pub headers: Vec<(String, String)>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
    fn param(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl Response {
    fn json(status: u16, v: Value) -> Response {
        Response { status, headers: vec![("Content-Type", "application/json".into())], body: v.to_string().into_bytes() }
    }
    fn text(status: u16, t: &str) -> Response {
        Response { status, headers: vec![("Content-Type", "text/plain; charset=utf-8".into())], body: t.as_bytes().to_vec() }
    }
    fn with(mut self, name: &'static str, value: &str) -> Response {
        self.headers.push((name, value.into()));
        self
    }
}

/// Parses a request head (request line and headers, up to the blank line). `Err(status)` for
/// what the agent will not read.
pub fn parse_head(head: &[u8]) -> std::result::Result<Request, u16> {
    let text = std::str::from_utf8(head).map_err(|_| 400u16)?;
    let mut lines = text.split("\r\n");
    let line = lines.next().ok_or(400u16)?;
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(400);
    };
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Err(505);
    }
    if !target.starts_with('/') {
        return Err(400);
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let query = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let mut headers = Vec::new();
    for l in lines {
        if l.is_empty() {
            break;
        }
        // No obsolete line folding; every header is `name: value`.
        let (name, value) = l.split_once(':').ok_or(400u16)?;
        if name.is_empty() || name.starts_with([' ', '\t']) || name.ends_with([' ', '\t']) {
            return Err(400);
        }
        headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
    }
    Ok(Request { method: method.to_owned(), path: path.to_owned(), query, headers })
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

fn write_response(stream: &mut TcpStream, r: &Response) {
    let mut head = format!("HTTP/1.1 {} {}\r\n", r.status, reason(r.status));
    for (n, v) in &r.headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n", r.body.len()));
    let _ = stream.write_all(head.as_bytes()).and_then(|_| stream.write_all(&r.body)).and_then(|_| stream.flush());
}

fn read_head(stream: &mut TcpStream) -> std::result::Result<Vec<u8>, u16> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            buf.truncate(end + 2);
            return Ok(buf);
        }
        if buf.len() > MAX_HEAD {
            return Err(431);
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return Err(0),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The three protocols
// ---------------------------------------------------------------------------------------------

pub struct Agent {
    pub secret: String,
    pub port: u16,
    pub aws: Option<Flight>,
    pub gcp: Option<Flight>,
    pub azure: Option<(Flight, Option<String>)>,
}

/// Equal secrets, compared in time independent of where they differ.
fn same_secret(given: &str, secret: &str) -> bool {
    let (a, b) = (given.as_bytes(), secret.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn trim_resource(r: &str) -> &str {
    r.strip_suffix("/.default").unwrap_or(r).trim_end_matches('/')
}

impl Agent {
    pub fn handle(&self, req: &Request) -> Response {
        // SDKs send no Origin; a browser page does. No cross-origin caller gets anything.
        if req.header("origin").is_some() {
            return Response::text(403, "requests from browsers are refused");
        }
        match (req.path.as_str(), &self.aws, &self.azure) {
            (AWS_PATH, Some(f), _) => return self.aws(req, f),
            (AZURE_PATH, _, Some((f, resource))) => return self.azure(req, f, resource.as_deref()),
            _ => {}
        }
        match &self.gcp {
            Some(f) => self.gcp(req, f),
            None => Response::text(404, "not found"),
        }
    }

    /// The container credentials endpoint. botocore (`ContainerProvider._build_headers`) sends
    /// `AWS_CONTAINER_AUTHORIZATION_TOKEN` as the whole `Authorization` value; any non-200 is
    /// retried, then raised with the body (`ContainerMetadataFetcher._get_response`). Errors are
    /// `{"Code","Message"}`, which the AWS SDK for JavaScript reads on a 4xx
    /// (`requestHelpers.ts`) and the Go SDK's `endpointcreds` decodes case-insensitively.
    fn aws(&self, req: &Request, f: &Flight) -> Response {
        let err = |status, code: &str, msg: &str| Response::json(status, json!({"Code": code, "Message": msg}));
        if req.method != "GET" {
            return err(405, "MethodNotAllowed", "only GET");
        }
        if !req.header("authorization").is_some_and(|a| same_secret(a, &self.secret)) {
            return err(401, "Unauthorized", "the Authorization header is not this agent's AWS_CONTAINER_AUTHORIZATION_TOKEN");
        }
        match f.get() {
            Ok(c) => Response::json(200, Value::Object(c.value)),
            Err(e) => err(502, "EdgeStsError", &e),
        }
    }

    /// The App Service managed-identity endpoint (msal `managed_identity.py`
    /// `_obtain_token_on_app_service`, used by azure-identity's `ManagedIdentityCredential` and
    /// so `DefaultAzureCredential` whenever IDENTITY_ENDPOINT and IDENTITY_HEADER are set and
    /// IDENTITY_SERVER_THUMBPRINT is not): GET with `api-version=2019-08-01`, `resource`, header
    /// `X-IDENTITY-HEADER`. Success is `access_token`, `expires_on` (epoch seconds, a string as
    /// App Service sends it), `resource`, `token_type`; errors are `{"statusCode","message"}`,
    /// which MSAL shows.
    fn azure(&self, req: &Request, f: &Flight, resource: Option<&str>) -> Response {
        let err = |status: u16, msg: &str| Response::json(status, json!({"statusCode": status, "message": msg}));
        if req.method != "GET" {
            return err(405, "only GET");
        }
        if !req.header("x-identity-header").is_some_and(|h| same_secret(h, &self.secret)) {
            return err(401, "the X-IDENTITY-HEADER header is not this agent's IDENTITY_HEADER");
        }
        if req.param("api-version") != Some(AZURE_API_VERSION) {
            return err(400, "api-version must be 2019-08-01");
        }
        let Some(asked) = req.param("resource").filter(|r| !r.is_empty()) else {
            return err(400, "resource is required");
        };
        if ["client_id", "mi_res_id", "object_id", "principal_id"].iter().any(|p| req.param(p).is_some()) {
            return err(400, "this agent serves one identity: ask without a user-assigned identity (client_id, mi_res_id, object_id)");
        }
        if let Some(r) = resource {
            if trim_resource(asked) != trim_resource(r) {
                return err(400, &format!("this agent's Azure target is for {r}, not {}", trim_resource(asked)));
            }
        }
        match f.get() {
            Ok(c) => Response::json(
                200,
                json!({
                    "access_token": c.value.get("access_token").cloned().unwrap_or_default(),
                    "expires_on": c.expires.to_string(),
                    "resource": asked,
                    "token_type": "Bearer",
                }),
            ),
            Err(e) => err(502, &e),
        }
    }

    /// The metadata server, as google-auth (Python, `compute_engine/_metadata.py`) and
    /// gcp-metadata (Node, under google-auth-library) call it: every request carries
    /// `Metadata-Flavor: Google` and every answer must too (gcp-metadata checks each one,
    /// google-auth the ping). The ping is `GET /` at `GCE_METADATA_IP` (Python) or
    /// `GET /computeMetadata/v1/instance` (Node); then `.../service-accounts/default/?recursive=true`
    /// (email, scopes) and `.../service-accounts/default/token` (`access_token`, `expires_in`,
    /// `token_type`). JSON goes out as `application/json` (google-auth parses only that).
    /// The `scopes` parameter is not passed on: the token carries the target's scopes, as a
    /// VM's token carries the instance's. Errors are text, as the metadata server's.
    fn gcp(&self, req: &Request, f: &Flight) -> Response {
        let flavor = |r: Response| r.with("Metadata-Flavor", "Google");
        if req.method != "GET" {
            return flavor(Response::text(405, "only GET"));
        }
        // The metadata server refuses proxied requests (SSRF through a proxy).
        if req.header("x-forwarded-for").is_some() {
            return flavor(Response::text(403, "requests with X-Forwarded-For are refused"));
        }
        // A page that rebinds a name of its own to 127.0.0.1 sends that name as Host.
        let host_ok =
            req.header("host").is_some_and(|h| h == format!("127.0.0.1:{}", self.port) || h == format!("localhost:{}", self.port));
        if !host_ok {
            return flavor(Response::text(403, "the Host header must name this agent (127.0.0.1:port)"));
        }
        if req.header("metadata-flavor") != Some("Google") {
            return flavor(Response::text(403, "Missing Metadata-Flavor:Google header."));
        }
        let scopes = || -> Vec<String> {
            f.peek()
                .and_then(|c| c.value.get("scope").and_then(Value::as_str).map(|s| s.split(' ').map(str::to_owned).collect()))
                .unwrap_or_default()
        };
        let text = |t: &str| flavor(Response::text(200, t).with_type("application/text"));
        let sa = "/computeMetadata/v1/instance/service-accounts/default";
        let recursive = req.param("recursive").is_some_and(|r| r.eq_ignore_ascii_case("true"));
        match req.path.as_str() {
            "/" => text("computeMetadata/\n"),
            "/computeMetadata/v1" | "/computeMetadata/v1/" => text("instance/\n"),
            "/computeMetadata/v1/instance" | "/computeMetadata/v1/instance/" => text("service-accounts/\n"),
            "/computeMetadata/v1/instance/service-accounts" | "/computeMetadata/v1/instance/service-accounts/" => text("default/\n"),
            p if (p == sa || p == format!("{sa}/")) && recursive => {
                flavor(Response::json(200, json!({"aliases": ["default"], "email": "default", "scopes": scopes()})))
            }
            p if p == sa || p == format!("{sa}/") => text("aliases\nemail\nscopes\ntoken\n"),
            p if p == format!("{sa}/email") => text("default"),
            p if p == format!("{sa}/aliases") => text("default"),
            p if p == format!("{sa}/scopes") => text(&scopes().iter().map(|s| format!("{s}\n")).collect::<String>()),
            p if p == format!("{sa}/token") => match f.get() {
                Ok(c) => flavor(Response::json(
                    200,
                    json!({
                        "access_token": c.value.get("access_token").cloned().unwrap_or_default(),
                        "expires_in": c.expires.saturating_sub(now_secs()),
                        "token_type": "Bearer",
                    }),
                )),
                Err(e) => flavor(Response::text(502, &e)),
            },
            _ => flavor(Response::text(404, "not found")),
        }
    }
}

impl Response {
    fn with_type(mut self, t: &str) -> Response {
        if let Some(h) = self.headers.iter_mut().find(|(n, _)| *n == "Content-Type") {
            h.1 = t.to_owned();
        }
        self
    }
}

// ---------------------------------------------------------------------------------------------
// The command
// ---------------------------------------------------------------------------------------------

/// 32 random bytes from the OS, base64url (43 characters).
fn new_secret() -> String {
    let mut b = [0u8; 32];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut b);
    b64::encode(&b)
}

/// The `export` lines for the clouds served (values need no shell quoting).
pub fn env_lines(port: u16, secret: &str, aws: bool, gcp: bool, azure: bool) -> String {
    let mut out = String::new();
    if aws {
        out.push_str(&format!("export AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:{port}{AWS_PATH}\n"));
        out.push_str(&format!("export AWS_CONTAINER_AUTHORIZATION_TOKEN={secret}\n"));
    }
    if gcp {
        // google-auth reads GCE_METADATA_HOST for data and GCE_METADATA_IP for its ping;
        // gcp-metadata takes GCE_METADATA_IP first. Both hold host:port only (gcp-metadata
        // resolves its path against them, so a path in them is lost).
        out.push_str(&format!("export GCE_METADATA_HOST=127.0.0.1:{port}\n"));
        out.push_str(&format!("export GCE_METADATA_IP=127.0.0.1:{port}\n"));
    }
    if azure {
        out.push_str(&format!("export IDENTITY_ENDPOINT=http://127.0.0.1:{port}{AZURE_PATH}\n"));
        out.push_str(&format!("export IDENTITY_HEADER={secret}\n"));
    }
    out
}

pub fn run(a: AgentArgs) -> Result<ExitCode> {
    // The client options are checked (and the secret file read) once before listening.
    Client::new(a.client.clone())?;
    let listener = TcpListener::bind(("127.0.0.1", a.port)).map_err(|e| CliError(format!("cannot listen on 127.0.0.1:{}: {e}", a.port)))?;
    let port = listener.local_addr().map_err(|e| CliError(e.to_string()))?.port();
    let secret = new_secret();
    let args = Arc::new(a.client.clone());
    let flight = |cloud: Cloud, target: &Option<String>| {
        target.clone().map(|t| {
            let args = args.clone();
            Flight::new(cloud.margin(), Box::new(move || fetch_from_edge_sts(&args, cloud, &t)))
        })
    };
    let agent = Arc::new(Agent {
        secret: secret.clone(),
        port,
        aws: flight(Cloud::Aws, &a.aws_target),
        gcp: flight(Cloud::Gcp, &a.gcp_target),
        azure: flight(Cloud::Azure, &a.azure_target).map(|f| (f, a.azure_resource.clone())),
    });
    let lines = env_lines(port, &secret, a.aws_target.is_some(), a.gcp_target.is_some(), a.azure_target.is_some());
    // With --env-file the lines (and so the secret) go to the file only, not to a log that
    // collects standard output.
    match &a.env_file {
        Some(path) => {
            crate::creds::write_private(path, lines.as_bytes())?;
            eprintln!("wrote the environment lines to {}", path.display());
        }
        None => {
            print!("{lines}");
            std::io::stdout().flush().map_err(|e| CliError(format!("cannot write to standard output: {e}")))?;
        }
    }
    let served: Vec<String> = [("aws", &a.aws_target), ("gcp", &a.gcp_target), ("azure", &a.azure_target)]
        .iter()
        .filter_map(|(c, t)| t.as_ref().map(|t| format!("{c} target {t}")))
        .collect();
    eprintln!("edge-sts agent on 127.0.0.1:{port}: {}", served.join(", "));
    serve(listener, agent)
}

fn serve(listener: TcpListener, agent: Arc<Agent>) -> Result<ExitCode> {
    let active = Arc::new(AtomicUsize::new(0));
    for conn in listener.incoming() {
        let mut stream = match conn {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: accept: {e}");
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
        let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
        if active.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            active.fetch_sub(1, Ordering::SeqCst);
            write_response(&mut stream, &Response::text(503, "too many connections"));
            continue;
        }
        let (agent, active2) = (agent.clone(), active.clone());
        let spawned = std::thread::Builder::new().name("edge-sts-agent-conn".into()).spawn(move || {
            connection(stream, &agent);
            active2.fetch_sub(1, Ordering::SeqCst);
        });
        if let Err(e) = spawned {
            active.fetch_sub(1, Ordering::SeqCst);
            eprintln!("error: cannot start a thread: {e}");
        }
    }
    fail("the listener stopped")
}

fn connection(mut stream: TcpStream, agent: &Agent) {
    let head = match read_head(&mut stream) {
        Ok(h) => h,
        Err(0) => return,
        Err(status) => return write_response(&mut stream, &Response::text(status, reason(status))),
    };
    let response = match parse_head(&head) {
        Ok(req) => agent.handle(&req),
        Err(status) => Response::text(status, reason(status)),
    };
    write_response(&mut stream, &response);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;

    fn cred(expires_in: u64, token: &str) -> Cred {
        let mut value = Map::new();
        value.insert("access_token".into(), token.into());
        Cred { expires: now_secs() + expires_in, value }
    }

    fn counting(expires_in: u64, delay_ms: u64, calls: Arc<AtomicU32>) -> Fetch {
        Box::new(move || {
            let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
            std::thread::sleep(Duration::from_millis(delay_ms));
            Ok(cred(expires_in, &format!("t{n}")))
        })
    }

    #[test]
    fn concurrent_requests_share_one_fetch() {
        let calls = Arc::new(AtomicU32::new(0));
        let f = Arc::new(Flight::new(300, counting(3600, 300, calls.clone())));
        let handles: Vec<_> = (0..16)
            .map(|_| {
                let f = f.clone();
                std::thread::spawn(move || f.get().unwrap().value["access_token"].as_str().unwrap().to_owned())
            })
            .collect();
        let tokens: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(tokens.iter().all(|t| t == "t1"), "{tokens:?}");
        // Served from the cache afterwards.
        assert_eq!(f.get().unwrap().value["access_token"], "t1");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn within_the_margin_each_request_fetches_anew() {
        let calls = Arc::new(AtomicU32::new(0));
        let f = Flight::new(300, counting(299, 0, calls.clone()));
        assert_eq!(f.get().unwrap().value["access_token"], "t1");
        assert_eq!(f.get().unwrap().value["access_token"], "t2");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn followers_get_the_leaders_answer_even_within_the_margin() {
        let calls = Arc::new(AtomicU32::new(0));
        let f = Arc::new(Flight::new(900, counting(600, 300, calls.clone())));
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let f = f.clone();
                std::thread::spawn(move || f.get().unwrap().value["access_token"].as_str().unwrap().to_owned())
            })
            .collect();
        let tokens: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(calls.load(Ordering::SeqCst), 1, "{tokens:?}");
    }

    #[test]
    fn a_failure_is_held_briefly_then_retried() {
        let calls = Arc::new(AtomicU32::new(0));
        let c = calls.clone();
        let f = Flight::new(
            300,
            Box::new(move || {
                c.fetch_add(1, Ordering::SeqCst);
                Err("refused".into())
            }),
        );
        assert_eq!(f.get().unwrap_err(), "refused");
        assert_eq!(f.get().unwrap_err(), "refused");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        f.state.lock().unwrap().last.as_mut().unwrap().1 -= FAILURE_HOLD;
        assert_eq!(f.get().unwrap_err(), "refused");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_panicking_fetch_wakes_its_followers() {
        let f = Arc::new(Flight::new(
            300,
            Box::new(|| {
                std::thread::sleep(Duration::from_millis(200));
                panic!("boom")
            }),
        ));
        let f2 = f.clone();
        let leader = std::thread::spawn(move || f2.get());
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(f.get().unwrap_err(), "the fetch failed unexpectedly");
        assert!(leader.join().is_err());
    }

    fn agent(aws: bool, gcp: bool, azure: Option<Option<&str>>) -> Agent {
        let ok = |e: u64| {
            Flight::new(
                300,
                Box::new(move || {
                    let mut c = cred(e, "tok");
                    c.value.insert("scope".into(), "https://www.googleapis.com/auth/cloud-platform".into());
                    c.value.insert("AccessKeyId".into(), "ASIA1".into());
                    Ok(c)
                }),
            )
        };
        Agent {
            secret: "s".repeat(43),
            port: 4000,
            aws: aws.then(|| ok(3600)),
            gcp: gcp.then(|| ok(3600)),
            azure: azure.map(|r| (ok(3600), r.map(str::to_owned))),
        }
    }

    fn req(raw: &str) -> Request {
        parse_head(raw.replace('\n', "\r\n").as_bytes()).unwrap()
    }

    fn body(r: &Response) -> Value {
        serde_json::from_slice(&r.body).unwrap_or(Value::Null)
    }

    #[test]
    fn aws_needs_the_secret() {
        let a = agent(true, false, None);
        let ok = a.handle(&req(&format!("GET /aws/credentials HTTP/1.1\nAuthorization: {}\n", "s".repeat(43))));
        assert_eq!(ok.status, 200);
        assert_eq!(body(&ok)["AccessKeyId"], "ASIA1");
        for h in ["", "Authorization: wrong\n", &format!("Authorization: Bearer {}\n", "s".repeat(43))] {
            let r = a.handle(&req(&format!("GET /aws/credentials HTTP/1.1\n{h}")));
            assert_eq!(r.status, 401, "{h}");
            assert_eq!(body(&r)["Code"], "Unauthorized");
            assert!(!String::from_utf8_lossy(&r.body).contains("ASIA1"));
        }
        let r =
            a.handle(&req(&format!("GET /aws/credentials HTTP/1.1\nAuthorization: {}\nOrigin: https://evil.example\n", "s".repeat(43))));
        assert_eq!(r.status, 403);
    }

    #[test]
    fn azure_speaks_app_service() {
        let a = agent(false, false, Some(Some("https://management.azure.com")));
        let s = "s".repeat(43);
        let good = format!(
            "GET /azure/token?api-version=2019-08-01&resource=https%3A%2F%2Fmanagement.azure.com HTTP/1.1\nX-IDENTITY-HEADER: {s}\n"
        );
        let r = a.handle(&req(&good));
        assert_eq!(r.status, 200);
        let b = body(&r);
        assert_eq!(b["access_token"], "tok");
        assert_eq!(b["resource"], "https://management.azure.com");
        assert!(b["expires_on"].as_str().unwrap().parse::<u64>().unwrap() > now_secs() + 3500);
        let cases = [
            ("GET /azure/token?api-version=2019-08-01&resource=x HTTP/1.1\nX-IDENTITY-HEADER: nope\n".to_owned(), 401),
            ("GET /azure/token?api-version=2019-08-01&resource=x HTTP/1.1\n".to_owned(), 401),
            (format!("GET /azure/token?api-version=2017-09-01&resource=x HTTP/1.1\nX-IDENTITY-HEADER: {s}\n"), 400),
            (format!("GET /azure/token?api-version=2019-08-01 HTTP/1.1\nX-IDENTITY-HEADER: {s}\n"), 400),
            (format!("GET /azure/token?api-version=2019-08-01&resource=https://vault.azure.net HTTP/1.1\nX-IDENTITY-HEADER: {s}\n"), 400),
            (format!("GET /azure/token?api-version=2019-08-01&resource=https://management.azure.com&client_id=x HTTP/1.1\nX-IDENTITY-HEADER: {s}\n"), 400),
        ];
        for (raw, status) in cases {
            let r = a.handle(&req(&raw));
            assert_eq!(r.status, status, "{raw}");
            assert_eq!(body(&r)["statusCode"], status);
            assert!(!String::from_utf8_lossy(&r.body).contains("tok\""));
        }
    }

    #[test]
    fn gcp_speaks_metadata_server() {
        let a = agent(false, true, None);
        let get = |path: &str, extra: &str| a.handle(&req(&format!("GET {path} HTTP/1.1\nHost: 127.0.0.1:4000\n{extra}")));
        let flavor = "Metadata-Flavor: Google\n";
        let ping = get("/", flavor);
        assert_eq!(ping.status, 200);
        assert!(ping.headers.contains(&("Metadata-Flavor", "Google".into())));
        let t = get("/computeMetadata/v1/instance/service-accounts/default/token?scopes=a,b", flavor);
        assert_eq!(t.status, 200);
        assert_eq!(body(&t)["access_token"], "tok");
        assert_eq!(body(&t)["token_type"], "Bearer");
        assert!(t.headers.contains(&("Content-Type", "application/json".into())));
        let info = get("/computeMetadata/v1/instance/service-accounts/default/?recursive=true", flavor);
        assert_eq!(body(&info)["scopes"], json!(["https://www.googleapis.com/auth/cloud-platform"]));
        assert_eq!(get("/computeMetadata/v1/instance", flavor).status, 200);
        assert_eq!(get("/computeMetadata/v1/project/project-id", flavor).status, 404);
        for (path, extra) in [
            ("/computeMetadata/v1/instance/service-accounts/default/token", ""),
            ("/computeMetadata/v1/instance/service-accounts/default/token", "Metadata-Flavor: google-ish\n"),
            ("/computeMetadata/v1/instance/service-accounts/default/token", "Metadata-Flavor: Google\nX-Forwarded-For: 10.0.0.1\n"),
        ] {
            let r = get(path, extra);
            assert_eq!(r.status, 403, "{extra}");
            assert!(!String::from_utf8_lossy(&r.body).contains("tok"));
        }
        let rebound = a.handle(&req(
            "GET /computeMetadata/v1/instance/service-accounts/default/token HTTP/1.1\nHost: evil.example:4000\nMetadata-Flavor: Google\n",
        ));
        assert_eq!(rebound.status, 403);
    }

    #[test]
    fn unserved_clouds_are_not_found() {
        let a = agent(false, false, Some(None));
        assert_eq!(a.handle(&req("GET /aws/credentials HTTP/1.1\nAuthorization: x\n")).status, 404);
        assert_eq!(a.handle(&req("GET / HTTP/1.1\nMetadata-Flavor: Google\n")).status, 404);
    }

    #[test]
    fn heads_parse_strictly() {
        assert!(parse_head(b"GET / HTTP/1.1\r\nA: b\r\n").is_ok());
        assert_eq!(parse_head(b"GET / HTTP/2\r\n").unwrap_err(), 505);
        assert_eq!(parse_head(b"GET http://x/ HTTP/1.1\r\n").unwrap_err(), 400);
        assert_eq!(parse_head(b"GET / HTTP/1.1 x\r\n").unwrap_err(), 400);
        assert_eq!(parse_head(b"GET / HTTP/1.1\r\n folded\r\n").unwrap_err(), 400);
        assert_eq!(parse_head(b"GET / HTTP/1.1\r\nname : v\r\n").unwrap_err(), 400);
        assert_eq!(parse_head(b"GET / HTTP/1.1\r\n\xff: v\r\n").unwrap_err(), 400);
    }

    #[test]
    fn answers_map_to_each_protocol() {
        let aws = json!({"access_token": "S", "token_type": "N_A", "expires_in": 3599, "aws_access_key_id": "ASIA1",
            "aws_secret_access_key": "K", "aws_session_token": "S", "aws_expiration": "2030-01-01T00:00:00Z",
            "aws_assumed_role_arn": "arn:aws:sts::123456789012:assumed-role/r/orders"});
        let c = cred_from_answer(Cloud::Aws, "t", aws.as_object().unwrap(), 0).unwrap();
        assert_eq!(
            Value::Object(c.value),
            json!({"AccessKeyId": "ASIA1", "SecretAccessKey": "K", "Token": "S",
            "Expiration": "2030-01-01T00:00:00Z", "RoleArn": "arn:aws:sts::123456789012:assumed-role/r/orders", "AccountId": "123456789012"})
        );
        assert_eq!(c.expires, 1_893_456_000);
        let bearer = json!({"access_token": "ya29.x", "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
            "token_type": "Bearer", "expires_in": 100, "scope": "a b"});
        let c = cred_from_answer(Cloud::Gcp, "t", bearer.as_object().unwrap(), 1000).unwrap();
        assert_eq!(c.expires, 1100);
        assert!(cred_from_answer(Cloud::Aws, "t", bearer.as_object().unwrap(), 0).unwrap_err().contains("a bearer token"));
        assert!(cred_from_answer(Cloud::Gcp, "t", aws.as_object().unwrap(), 0).unwrap_err().contains("AWS credentials"));
        let assertion = json!({"access_token": "a.b.c", "issued_token_type": "urn:ietf:params:oauth:token-type:jwt", "token_type": "N_A", "expires_in": 100});
        assert!(cred_from_answer(Cloud::Azure, "t", assertion.as_object().unwrap(), 0).unwrap_err().contains("assertion mode"));
        let header = b64::encode(br#"{"alg":"ES256","typ":"at+jwt"}"#);
        let downstream = json!({"access_token": format!("{header}.e30.sig"), "issued_token_type": "urn:ietf:params:oauth:token-type:access_token", "token_type": "Bearer", "expires_in": 300});
        assert!(cred_from_answer(Cloud::Gcp, "t", downstream.as_object().unwrap(), 0).unwrap_err().contains("downstream target"));
    }

    #[test]
    fn env_lines_per_cloud() {
        let s = env_lines(4000, "SECRET", true, true, true);
        assert_eq!(
            s,
            "export AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:4000/aws/credentials\nexport AWS_CONTAINER_AUTHORIZATION_TOKEN=SECRET\n\
             export GCE_METADATA_HOST=127.0.0.1:4000\nexport GCE_METADATA_IP=127.0.0.1:4000\n\
             export IDENTITY_ENDPOINT=http://127.0.0.1:4000/azure/token\nexport IDENTITY_HEADER=SECRET\n"
        );
        assert_eq!(env_lines(1, "S", false, true, false).lines().count(), 2);
        let secret = new_secret();
        assert_eq!(secret.len(), 43);
        assert_ne!(secret, new_secret());
    }
}
