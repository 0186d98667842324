//! The client side of edge-sts: a Keycloak `client_credentials` token (client secret from a
//! file held to `files`' rule or from an environment variable, or an RFC 7523 `private_key_jwt`
//! client assertion), then the RFC 8693 exchange at edge-sts. Blocking `ureq`: https only
//! (loopback http only with `--allow-http-loopback`), no redirects, a timeout per request, a body
//! cap, the proxy variables (ureq's `Proxy::try_from_env`: ALL_PROXY, HTTPS_PROXY, HTTP_PROXY,
//! NO_PROXY), and a custom CA bundle from `--ca-file` or `SSL_CERT_FILE`.
//!
//! Errors are one line and never carry a token or a secret: what a server answered is reduced
//! to its `error` code and a cleaned, shortened `error_description`, with the secrets of this
//! run cut out of it.
use crate::backend::CliCrypto;
use crate::files::read_secret_file;
use crate::util::{block_on, fail, CliError, Result};
use clap::Args;
use edge_sts_core::jose::b64;
use edge_sts_core::jose::signing::SigningKey;
use edge_sts_core::policy::mint;
use edge_sts_core::wire::url::{is_loopback_http, url_allowed};
use serde_json::{json, Map, Value};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
pub const JWT_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";
pub const AWS_CREDENTIAL_PROCESS: &str = "urn:edge-sts:params:token-type:aws-credential-process";
const JWT_BEARER_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const MAX_BODY: u64 = 1 << 20;

/// How the helper reaches Keycloak and edge-sts. Shared by `token` and `credentials`.
#[derive(Debug, Clone, Args)]
#[command(group = clap::ArgGroup::new("keycloak").required(true).args(["token_url", "issuer"]))]
#[command(group = clap::ArgGroup::new("client_auth").required(true).args(["client_secret_file", "client_secret_env", "private_key_jwt"]))]
pub struct ClientArgs {
    /// edge-sts's base URL (its `issuer`), e.g. https://sts.example.com
    #[arg(long = "edge-sts", value_name = "URL")]
    pub edge_sts: String,
    /// Keycloak's token endpoint, e.g. https://kc.example.com/realms/prod/protocol/openid-connect/token
    #[arg(long, value_name = "URL")]
    pub token_url: Option<String>,
    /// Keycloak realm URL: the token endpoint is read from its OIDC discovery document
    #[arg(long, value_name = "URL")]
    pub issuer: Option<String>,
    /// The Keycloak client id
    #[arg(long, value_name = "ID")]
    pub client_id: String,
    /// File holding the client secret (yours or root's, writable by no one else; 0600 if you
    /// can write it; one trailing newline is dropped)
    #[arg(long, value_name = "FILE")]
    pub client_secret_file: Option<String>,
    /// Name of the environment variable holding the client secret
    #[arg(long, value_name = "VAR")]
    pub client_secret_env: Option<String>,
    /// Authenticate to Keycloak with a signed client assertion (RFC 7523 `private_key_jwt`): a
    /// private JWK (with `alg`) or PEM file (EC P-256/P-384 as ES256/ES384, RSA as RS256), held
    /// to the same rule as --client-secret-file
    #[arg(long, value_name = "KEYFILE")]
    pub private_key_jwt: Option<String>,
    /// PEM bundle of the CAs to trust instead of the built-in roots (default: $SSL_CERT_FILE)
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<String>,
    /// Allow http:// URLs on 127.0.0.1, localhost and [::1] (local development and tests)
    #[arg(long)]
    pub allow_http_loopback: bool,
    /// Timeout of each HTTP request, seconds
    #[arg(long, default_value_t = 10, value_name = "S")]
    pub timeout: u64,
}

/// The client's credential for Keycloak. `Debug` shows no secret.
enum ClientAuth {
    Secret(String),
    KeyJwt(SigningKey),
}

impl std::fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientAuth::Secret(_) => f.write_str("Secret(..)"),
            ClientAuth::KeyJwt(k) => write!(f, "KeyJwt({k:?})"),
        }
    }
}

/// A ready client: arguments checked, secret loaded, HTTP agents built.
pub struct Client {
    pub args: ClientArgs,
    pub edge_sts: String,
    auth: ClientAuth,
    roots: Option<Arc<Vec<ureq::tls::Certificate<'static>>>>,
    /// Strings that must never appear in an error line (the secret, tokens of this run).
    redact: std::cell::RefCell<Vec<String>>,
}

macro_rules! ec_pem_jwk {
    ($curve:ident, $pem:expr) => {{
        use $curve::pkcs8::DecodePrivateKey;
        $curve::SecretKey::from_pkcs8_pem($pem)
            .ok()
            .or_else(|| $curve::SecretKey::from_sec1_pem($pem).ok())
            .and_then(|k| serde_json::from_str::<Value>(&k.to_jwk_string()).ok())
    }};
}

/// A private JWK (with `alg`) or a PEM private key, as a `SigningKey`.
pub fn load_private_key(text: &str, path: &str) -> Result<SigningKey> {
    let bad = |e: String| CliError(format!("private key {path}: {e}"));
    let t = text.trim();
    if t.starts_with('{') {
        return SigningKey::from_jwk_json(t).map_err(bad);
    }
    if !t.starts_with("-----BEGIN") {
        return Err(bad("neither a JWK nor a PEM private key".into()));
    }
    let jwk: Value = if let Some(j) = ec_pem_jwk!(p256, t) {
        with_alg(j, "ES256")
    } else if let Some(j) = ec_pem_jwk!(p384, t) {
        with_alg(j, "ES384")
    } else if let Some(k) = rsa_pem(t) {
        use rsa::traits::{PrivateKeyParts, PublicKeyParts};
        let mut k = k;
        k.precompute().map_err(|e| bad(format!("RSA key: {e}")))?;
        let enc = |n: &rsa::BigUint| b64::encode(&n.to_bytes_be());
        let primes = k.primes();
        if primes.len() != 2 {
            return Err(bad("multi-prime RSA keys are not supported".into()));
        }
        let (dp, dq, qi) = match (k.dp(), k.dq(), k.crt_coefficient()) {
            (Some(dp), Some(dq), Some(qi)) => (enc(dp), enc(dq), enc(&qi)),
            _ => return Err(bad("RSA key lacks CRT parameters".into())),
        };
        json!({"kty": "RSA", "alg": "RS256", "n": enc(k.n()), "e": enc(k.e()), "d": enc(k.d()),
               "p": enc(&primes[0]), "q": enc(&primes[1]), "dp": dp, "dq": dq, "qi": qi})
    } else {
        return Err(bad("unsupported PEM key (use an EC P-256/P-384 or RSA private key, or a JWK)".into()));
    };
    SigningKey::from_jwk_json(&jwk.to_string()).map_err(bad)
}

fn with_alg(mut j: Value, alg: &str) -> Value {
    j["alg"] = Value::from(alg);
    j
}

fn rsa_pem(pem: &str) -> Option<rsa::RsaPrivateKey> {
    use rsa::pkcs1::DecodeRsaPrivateKey;
    use rsa::pkcs8::DecodePrivateKey;
    rsa::RsaPrivateKey::from_pkcs8_pem(pem).ok().or_else(|| rsa::RsaPrivateKey::from_pkcs1_pem(pem).ok())
}

pub fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// A server's answer, reduced to its status, body and `Retry-After` (delta-seconds only).
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
    pub retry_after: Option<u64>,
}

/// edge-sts's answers that the helper asks again (a gateway's or edge-sts's own transient
/// failure, a throttled cloud: 502, 503), at most this many more times...
pub const MAX_RETRIES: u32 = 2;
/// ...after the answer's `Retry-After`, or this long without one...
pub const DEFAULT_RETRY_WAIT_SECS: u64 = 1;
/// ...but never longer: an answer asking for more is final (the SDK calling the helper has a
/// deadline of its own, e.g. Google's `timeout_millis`).
pub const MAX_RETRY_WAIT_SECS: u64 = 5;

/// How long to wait before asking again, or `None` when the answer is final.
pub fn retry_wait(a: &Answer) -> Option<u64> {
    if !matches!(a.status, 502 | 503) {
        return None;
    }
    let wait = a.retry_after.unwrap_or(DEFAULT_RETRY_WAIT_SECS);
    (wait <= MAX_RETRY_WAIT_SECS).then_some(wait)
}

impl Answer {
    pub fn json(&self) -> Option<Map<String, Value>> {
        match serde_json::from_slice(&self.body) {
            Ok(Value::Object(m)) => Some(m),
            _ => None,
        }
    }
}

impl Client {
    pub fn new(args: ClientArgs) -> Result<Client> {
        let edge_sts = args.edge_sts.trim_end_matches('/').to_owned();
        if edge_sts.contains(['?', '#']) {
            return fail("--edge-sts must be a base URL without a query or fragment");
        }
        for (flag, url) in [("--edge-sts", Some(&edge_sts)), ("--token-url", args.token_url.as_ref()), ("--issuer", args.issuer.as_ref())] {
            if let Some(u) = url {
                check_url(flag, u, args.allow_http_loopback)?;
            }
        }
        if args.client_id.is_empty() {
            return fail("--client-id is empty");
        }
        if args.timeout == 0 || args.timeout > 120 {
            return fail("--timeout must be between 1 and 120 seconds");
        }
        let mut redact = Vec::new();
        let auth = if let Some(path) = &args.client_secret_file {
            let text = read_secret_file(path, "client secret file")?;
            let secret = text.strip_suffix('\n').map(|s| s.strip_suffix('\r').unwrap_or(s)).unwrap_or(&text).to_owned();
            if secret.is_empty() {
                return fail(format!("client secret file {path} is empty"));
            }
            redact.push(secret.clone());
            ClientAuth::Secret(secret)
        } else if let Some(var) = &args.client_secret_env {
            let secret = std::env::var(var).ok().filter(|s| !s.is_empty());
            let Some(secret) = secret else {
                return fail(format!("environment variable {var} (--client-secret-env) is not set or empty"));
            };
            redact.push(secret.clone());
            ClientAuth::Secret(secret)
        } else if let Some(path) = &args.private_key_jwt {
            ClientAuth::KeyJwt(load_private_key(&read_secret_file(path, "private key file")?, path)?)
        } else {
            return fail("give --client-secret-file, --client-secret-env or --private-key-jwt");
        };
        let ca = args.ca_file.clone().or_else(|| std::env::var("SSL_CERT_FILE").ok().filter(|s| !s.is_empty()));
        let roots = match ca {
            None => None,
            Some(path) => {
                let pem = std::fs::read(&path).map_err(|e| CliError(format!("cannot read CA file {path}: {e}")))?;
                let certs: Vec<_> = ureq::tls::parse_pem(&pem)
                    .filter_map(|item| match item {
                        Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                        _ => None,
                    })
                    .collect();
                if certs.is_empty() {
                    return fail(format!("CA file {path} holds no PEM certificate"));
                }
                Some(Arc::new(certs))
            }
        };
        Ok(Client { args, edge_sts, auth, roots, redact: std::cell::RefCell::new(redact) })
    }

    /// Registers a token of this run: it is cut out of any error line.
    pub fn secret(&self, s: &str) {
        self.redact.borrow_mut().push(s.to_owned());
    }

    /// One line, printable ASCII, at most 200 characters, no secret of this run.
    pub fn clean(&self, s: &str) -> String {
        let mut out: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
        for r in self.redact.borrow().iter().filter(|r| r.len() >= 4) {
            out = out.replace(r.as_str(), "[redacted]");
        }
        // Whatever still looks like a JWT (three base64url parts) goes too.
        let out: Vec<String> = out
            .split(' ')
            .map(|w| {
                let parts: Vec<&str> = w.split('.').collect();
                if parts.len() == 3
                    && w.len() > 40
                    && parts.iter().all(|p| p.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                {
                    "[redacted]".to_owned()
                } else {
                    w.to_owned()
                }
            })
            .collect();
        let out = out.join(" ");
        if out.chars().count() > 200 {
            format!("{}...", out.chars().take(200).collect::<String>())
        } else {
            out
        }
    }

    fn agent(&self, url: &str) -> ureq::Agent {
        let loopback = is_loopback_http(url);
        let mut cfg = ureq::Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .https_only(!loopback)
            .timeout_global(Some(Duration::from_secs(self.args.timeout)))
            .user_agent(concat!("edge-sts-cli/", env!("CARGO_PKG_VERSION")));
        if loopback {
            cfg = cfg.proxy(None);
        }
        if let Some(roots) = &self.roots {
            let tls = ureq::tls::TlsConfig::builder().root_certs(ureq::tls::RootCerts::Specific(roots.clone())).build();
            cfg = cfg.tls_config(tls);
        }
        cfg.build().into()
    }

    fn host(url: &str) -> &str {
        let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
        rest.split('/').next().unwrap_or(rest)
    }

    fn read(&self, url: &str, res: std::result::Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Result<Answer> {
        let host = Self::host(url);
        let net = |e: ureq::Error| match e {
            ureq::Error::Timeout(_) => CliError(format!("{host}: no answer within {} s", self.args.timeout)),
            ureq::Error::BodyExceedsLimit(_) => CliError(format!("{host}: answer larger than {MAX_BODY} bytes")),
            e => CliError(self.clean(&format!("cannot reach {host}: {e}"))),
        };
        let mut res = res.map_err(net)?;
        let status = res.status().as_u16();
        // RFC 9110 §10.2.3: delta-seconds or an HTTP-date; only the first is read (edge-sts
        // sends seconds), a date counts as absent.
        let retry_after = res
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty() && v.len() <= 10 && v.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|v| v.parse().ok());
        let body = res.body_mut().with_config().limit(MAX_BODY).read_to_vec().map_err(net)?;
        Ok(Answer { status, body, retry_after })
    }

    /// `send` again while edge-sts answers 502 or 503 ([`retry_wait`]), at most
    /// [`MAX_RETRIES`] more times. Only for requests that may be repeated: a token exchange
    /// mints or fetches again with the same subject token, nothing else changes.
    fn retrying(&self, send: impl Fn() -> Result<Answer>) -> Result<Answer> {
        let mut a = send()?;
        for _ in 0..MAX_RETRIES {
            let Some(wait) = retry_wait(&a) else { break };
            std::thread::sleep(Duration::from_secs(wait));
            a = send()?;
        }
        Ok(a)
    }

    pub fn post_form(&self, url: &str, form: &[(&str, &str)], basic: Option<&str>) -> Result<Answer> {
        let mut req = self.agent(url).post(url).header("accept", "application/json");
        if let Some(b) = basic {
            req = req.header("authorization", b);
        }
        let res = req.send_form(form.iter().copied());
        self.read(url, res)
    }

    /// [`Client::get`] of an edge-sts route, asked again on 502 and 503 (a GET repeats safely).
    pub fn get_retrying(&self, url: &str, bearer: Option<&str>) -> Result<Answer> {
        self.retrying(|| self.get(url, bearer))
    }

    pub fn get(&self, url: &str, bearer: Option<&str>) -> Result<Answer> {
        let mut req = self.agent(url).get(url).header("accept", "application/json");
        if let Some(t) = bearer {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        self.read(url, req.call())
    }

    /// `error: error_description` of an OAuth error answer, cleaned; or the bare status.
    pub fn oauth_error(&self, a: &Answer) -> String {
        let shown = self.oauth_error_only(a);
        match a.retry_after {
            Some(s) if matches!(a.status, 429 | 502 | 503) => format!("{shown} (retry after {s} s)"),
            _ => shown,
        }
    }

    fn oauth_error_only(&self, a: &Answer) -> String {
        match a.json() {
            Some(m) => {
                let code = m.get("error").and_then(Value::as_str).unwrap_or("no error code");
                match m.get("error_description").and_then(Value::as_str) {
                    Some(d) => self.clean(&format!("HTTP {} {code}: {d}", a.status)),
                    None => self.clean(&format!("HTTP {} {code}", a.status)),
                }
            }
            None => format!("HTTP {}", a.status),
        }
    }

    /// [`Client::oauth_error`], followed by what to run instead when edge-sts's answer says the
    /// target's mode does not fit the command (its descriptions come from the same core crate,
    /// so they are compared exactly; an answer worded otherwise gets no hint).
    pub fn oauth_error_with_hint(&self, a: &Answer) -> String {
        let shown = self.oauth_error(a);
        match a.json().as_ref().and_then(mode_hint) {
            Some(hint) => format!("{shown}; {hint}"),
            None => shown,
        }
    }

    /// The token endpoint: `--token-url`, or `token_endpoint` from `--issuer`'s discovery.
    pub fn token_endpoint(&self) -> Result<String> {
        if let Some(u) = &self.args.token_url {
            return Ok(u.clone());
        }
        let issuer = self.args.issuer.as_deref().unwrap_or_default().trim_end_matches('/');
        let url = format!("{issuer}/.well-known/openid-configuration");
        let a = self.get(&url, None)?;
        if a.status != 200 {
            return fail(format!("Keycloak discovery {url} answered HTTP {}", a.status));
        }
        let endpoint = a.json().and_then(|m| m.get("token_endpoint").and_then(Value::as_str).map(str::to_owned));
        let Some(endpoint) = endpoint else {
            return fail(format!("Keycloak discovery {url} has no token_endpoint"));
        };
        check_url("the discovered token_endpoint", &endpoint, self.args.allow_http_loopback)?;
        Ok(endpoint)
    }

    /// A Keycloak access token for this client (`client_credentials`). Held in memory only.
    pub fn keycloak_token(&self) -> Result<String> {
        let url = self.token_endpoint()?;
        let id = self.args.client_id.as_str();
        let assertion;
        let basic;
        let mut form = vec![("grant_type", "client_credentials")];
        match &self.auth {
            ClientAuth::Secret(secret) => {
                // RFC 6749 §2.3.1: both parts form-urlencoded before Basic encoding.
                let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
                let credential = base64_std(format!("{}:{}", enc(id), enc(secret)).as_bytes());
                self.secret(&credential);
                basic = Some(format!("Basic {credential}"));
            }
            ClientAuth::KeyJwt(key) => {
                assertion = self.client_assertion(key, &url)?;
                self.secret(&assertion);
                form.extend([("client_id", id), ("client_assertion_type", JWT_BEARER_ASSERTION), ("client_assertion", assertion.as_str())]);
                basic = None;
            }
        }
        let a = self.post_form(&url, &form, basic.as_deref())?;
        if a.status != 200 {
            return fail(format!("Keycloak refused client {id}: {}", self.oauth_error(&a)));
        }
        match a.json().and_then(|m| m.get("access_token").and_then(Value::as_str).map(str::to_owned)) {
            Some(t) if !t.is_empty() => {
                self.secret(&t);
                Ok(t)
            }
            _ => fail(format!("Keycloak's answer for client {id} has no access_token")),
        }
    }

    /// RFC 7523 §3 client assertion: `iss` = `sub` = client id, `aud` = the token endpoint,
    /// one minute of life, a random `jti` (Keycloak and oidc-provider refuse replays).
    fn client_assertion(&self, key: &SigningKey, token_url: &str) -> Result<String> {
        let now = now_secs();
        let mut jti = [0u8; 16];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut jti);
        let claims = json!({
            "iss": self.args.client_id, "sub": self.args.client_id, "aud": token_url,
            "jti": b64::encode(&jti), "iat": now, "exp": now + 60,
        });
        let Value::Object(claims) = claims else { unreachable!() };
        block_on(mint::sign_assertion(&CliCrypto, key, &claims)).map_err(|e| CliError(format!("cannot sign the client assertion: {e}")))
    }

    /// RFC 8693 exchange of `subject` at edge-sts; the JSON answer on 200.
    pub fn exchange(&self, subject: &str, audience: &str, scope: Option<&str>, requested: Option<&str>) -> Result<Map<String, Value>> {
        let url = format!("{}/token", self.edge_sts);
        let mut form = vec![
            ("grant_type", TOKEN_EXCHANGE),
            ("subject_token_type", ACCESS_TOKEN_TYPE),
            ("subject_token", subject),
            ("audience", audience),
        ];
        if let Some(s) = scope {
            form.push(("scope", s));
        }
        if let Some(r) = requested {
            form.push(("requested_token_type", r));
        }
        let a = self.retrying(|| self.post_form(&url, &form, None))?;
        if a.status != 200 {
            return fail(format!("edge-sts refused the exchange for {audience}: {}", self.oauth_error_with_hint(&a)));
        }
        let m = a.json().ok_or_else(|| CliError(format!("edge-sts answered HTTP 200 for {audience} without a JSON object")))?;
        if let Some(t) = m.get("access_token").and_then(Value::as_str) {
            self.secret(t);
        }
        Ok(m)
    }
}

/// The hint for an answer that refuses a target for its mode: a cloud target in assertion mode
/// asked for cloud credentials (`invalid_request`), or a `/gcp/*` route asked for a target that
/// is not a Google target in assertion mode (`invalid_target`, reason `policy.target_mode`).
fn mode_hint(m: &Map<String, Value>) -> Option<&'static str> {
    use edge_sts_core::policy::trust::PolicyError;
    use edge_sts_core::wire::request::RequestError;
    let error = m.get("error").and_then(Value::as_str)?;
    let description = m.get("error_description").and_then(Value::as_str)?;
    if error == "invalid_request" && description == RequestError::AssertionTokenType.to_string() {
        return Some(
            "the target hands out its assertion only: `edge-sts credentials token-file` writes it for an AWS web_identity_token_file or AZURE_FEDERATED_TOKEN_FILE, `edge-sts credentials gcp` serves it to Google's executable source",
        );
    }
    if error == "invalid_target" && description == PolicyError::TargetMode.to_string() {
        return Some(
            "only a Google target with \"mode\": \"assertion\" has one; for other targets use `edge-sts credentials aws` (AWS, brokered), `edge-sts credentials token-file` (AWS or Entra, assertion) or `edge-sts token`",
        );
    }
    None
}

pub fn check_url(flag: &str, url: &str, allow_http_loopback: bool) -> Result<()> {
    if url_allowed(url, allow_http_loopback) {
        return Ok(());
    }
    if is_loopback_http(url) {
        fail(format!("{flag}: http:// needs --allow-http-loopback (local development only)"))
    } else {
        fail(format!("{flag} must be an https:// URL"))
    }
}

fn base64_std(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
