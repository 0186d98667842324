//! The client side (`token`, `credentials`) against a small in-test Keycloak + edge-sts stand-in
//! on 127.0.0.1: argument errors, who may own and change the secret files and the helper's own
//! files (the cases with another owner run as root), the AWS cache (reuse, the 15-minute margin,
//! 0600 files, two concurrent processes), Google's executable contract and output file, the
//! external_account writer, the Entra token file, private_key_jwt.
//! The real Worker, oidc-provider and boto3 judge the same commands in tests/e2e/cli-*.test.mjs.
use edge_sts_core::jose::b64;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const SECRET: &str = "s3cret-TEST-ONLY-value";
const KC_TOKEN: &str = "kc.access-token.TEST-ONLY";

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

fn iso(t: u64) -> String {
    chrono::DateTime::from_timestamp(t as i64, 0).unwrap().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A recorded request.
#[derive(Debug, Clone)]
struct Req {
    method: String,
    path: String,
    headers: HashMap<String, String>,
    form: HashMap<String, String>,
}

/// How the stand-in answers.
#[derive(Clone)]
struct Behaviour {
    /// Seconds of life of AWS credentials.
    aws_life: u64,
    /// Delay of every edge-sts /token answer.
    delay_ms: u64,
    /// Seconds of life of assertions.
    assertion_life: u64,
    /// The next this many edge-sts /token answers are `transient_status`, with this
    /// `Retry-After` (a gateway's or edge-sts's transient failure).
    transient: u32,
    transient_status: u16,
    retry_after: Option<u64>,
}

struct Stub {
    port: u16,
    log: Arc<Mutex<Vec<Req>>>,
    behaviour: Arc<Mutex<Behaviour>>,
    https: bool,
}

impl Stub {
    fn url(&self) -> String {
        if self.https {
            format!("https://localhost:{}", self.port)
        } else {
            format!("http://127.0.0.1:{}", self.port)
        }
    }
    fn token_url(&self) -> String {
        format!("{}/kc/token", self.url())
    }
    fn count(&self, path: &str) -> usize {
        self.log.lock().unwrap().iter().filter(|r| r.path.split('?').next() == Some(path)).count()
    }
    fn last(&self, path: &str) -> Req {
        self.log.lock().unwrap().iter().rev().find(|r| r.path.split('?').next() == Some(path)).cloned().expect("a request")
    }
    fn set(&self, f: impl FnOnce(&mut Behaviour)) {
        f(&mut self.behaviour.lock().unwrap());
    }
}

fn fake_jwt(claims: Value) -> String {
    format!("{}.{}.{}", b64::encode(br#"{"alg":"ES256","typ":"JWT"}"#), b64::encode(claims.to_string().as_bytes()), b64::encode(&[7u8; 64]))
}

fn answer(b: &Behaviour, req: &Req, port: u16) -> (u16, Value) {
    let form = &req.form;
    match (req.method.as_str(), req.path.split('?').next().unwrap_or("")) {
        ("GET", "/kc/.well-known/openid-configuration") => {
            (200, json!({"issuer": format!("http://127.0.0.1:{port}/kc"), "token_endpoint": format!("http://127.0.0.1:{port}/kc/token")}))
        }
        ("POST", "/kc/token") => {
            if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
                return (400, json!({"error": "unsupported_grant_type"}));
            }
            let basic = req.headers.get("authorization").cloned().unwrap_or_default();
            let want = format!("Basic {}", base64_std(format!("orders-service:{SECRET}").as_bytes()));
            let assertion_ok = form.get("client_assertion_type").map(String::as_str)
                == Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
                && form.get("client_assertion").is_some();
            if basic == want || assertion_ok {
                (200, json!({"access_token": KC_TOKEN, "token_type": "Bearer", "expires_in": 300}))
            } else {
                (401, json!({"error": "invalid_client", "error_description": format!("client authentication failed ({basic})")}))
            }
        }
        ("POST", "/token") => {
            std::thread::sleep(Duration::from_millis(b.delay_ms));
            if form.get("subject_token").map(String::as_str) != Some(KC_TOKEN) {
                return (400, json!({"error": "invalid_request", "error_description": "bad subject token"}));
            }
            let aud = form.get("audience").cloned().unwrap_or_default();
            let n = now();
            match aud.as_str() {
                "aws-orders" => {
                    if form.get("requested_token_type").map(String::as_str) != Some("urn:edge-sts:params:token-type:aws-credential-process")
                    {
                        return (400, json!({"error": "invalid_request"}));
                    }
                    let id = format!("ASIA{:012}", SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() % 1_000_000_000_000);
                    (
                        200,
                        json!({"Version": 1, "AccessKeyId": id, "SecretAccessKey": "secret-TEST-ONLY", "SessionToken": "session-TEST-ONLY", "Expiration": iso(n + b.aws_life)}),
                    )
                }
                "gcp-orders" | "azure-orders" => {
                    let jwt = fake_jwt(json!({"aud": aud, "exp": n + b.assertion_life, "sub": "orders-service"}));
                    (
                        200,
                        json!({"access_token": jwt, "issued_token_type": "urn:ietf:params:oauth:token-type:jwt", "token_type": "N_A", "expires_in": b.assertion_life}),
                    )
                }
                "orders" => (
                    200,
                    json!({"access_token": "downstream-TEST-ONLY", "issued_token_type": "urn:ietf:params:oauth:token-type:access_token", "token_type": "Bearer", "expires_in": 300}),
                ),
                _ => {
                    (400, json!({"error": "invalid_target", "error_description": format!("client may not use target {aud} ({KC_TOKEN})")}))
                }
            }
        }
        ("GET", "/gcp/external-account") => {
            if req.headers.get("authorization").map(String::as_str) != Some(&format!("Bearer {KC_TOKEN}")) {
                return (401, json!({"error": "invalid_token"}));
            }
            (
                200,
                json!({
                    "type": "external_account",
                    "audience": "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/edge-sts",
                    "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
                    "token_url": "https://sts.googleapis.com/v1/token",
                    "credential_source": {"executable": {"command": "edge-sts credentials gcp --target gcp-orders --edge-sts https://sts.example.com", "timeout_millis": 30000}}
                }),
            )
        }
        _ => (404, json!({"error": "not_found"})),
    }
}

fn base64_std(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// One request on one connection (`connection: close`), plain or TLS.
fn serve_conn<S: Read + Write>(stream: S, log: &Mutex<Vec<Req>>, behaviour: &Mutex<Behaviour>, port: u16) {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_owned();
    let path = parts.next().unwrap_or("/").to_owned();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).map(|n| n == 0).unwrap_or(true) || h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.trim_end().split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    let len: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok();
    let form = form_urlencoded::parse(&body).into_owned().collect();
    let req = Req { method, path, headers, form };
    log.lock().unwrap().push(req.clone());
    let (b, transient) = {
        let mut b = behaviour.lock().unwrap();
        let transient = req.path == "/token" && b.transient > 0;
        if transient {
            b.transient -= 1;
        }
        (b.clone(), transient)
    };
    let (status, v, extra) = if transient {
        let ra = b.retry_after.map(|s| format!("retry-after: {s}\r\n")).unwrap_or_default();
        (b.transient_status, json!({"error": "temporarily_unavailable", "error_description": "try again"}), ra)
    } else {
        let (status, v) = answer(&b, &req, port);
        (status, v, String::new())
    };
    let body = v.to_string();
    let head = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{extra}connection: close\r\n\r\n",
        body.len()
    );
    let stream = reader.get_mut();
    stream.write_all(head.as_bytes()).ok();
    stream.write_all(body.as_bytes()).ok();
    stream.flush().ok();
}

fn stub() -> Stub {
    stub_with(None)
}

/// The stand-in; with a TLS configuration it speaks https (as `localhost`).
fn stub_with(tls: Option<Arc<rustls::ServerConfig>>) -> Stub {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().unwrap().port();
    let log = Arc::new(Mutex::new(Vec::new()));
    let behaviour = Arc::new(Mutex::new(Behaviour {
        aws_life: 3600,
        delay_ms: 0,
        assertion_life: 600,
        transient: 0,
        transient_status: 503,
        retry_after: None,
    }));
    let (l2, b2) = (log.clone(), behaviour.clone());
    let https = tls.is_some();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let (log, behaviour, tls) = (l2.clone(), b2.clone(), tls.clone());
            std::thread::spawn(move || match tls {
                None => serve_conn(stream, &log, &behaviour, port),
                Some(cfg) => {
                    let Ok(conn) = rustls::ServerConnection::new(cfg) else { return };
                    let mut tls_stream = rustls::StreamOwned::new(conn, stream);
                    serve_conn(&mut tls_stream, &log, &behaviour, port);
                    tls_stream.conn.send_close_notify();
                    tls_stream.flush().ok();
                }
            });
        }
    });
    Stub { port, log, behaviour, https }
}

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let e = Env { dir };
        e.write("secret", SECRET, 0o600);
        e
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn p(&self, name: &str) -> String {
        self.path(name).to_string_lossy().into_owned()
    }
    fn write(&self, name: &str, text: &str, mode: u32) {
        let p = self.path(name);
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_edge-sts"));
        c.args(args)
            .env("XDG_CACHE_HOME", self.path("cache"))
            .env("HOME", self.dir.path())
            .env_remove("GOOGLE_EXTERNAL_ACCOUNT_OUTPUT_FILE")
            .env_remove("SSL_CERT_FILE");
        for v in ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"] {
            c.env_remove(v);
        }
        c.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        c
    }
    fn run(&self, args: &[&str]) -> Out {
        out(self.cmd(args).output().unwrap())
    }
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn out(o: Output) -> Out {
    Out { code: o.status.code().unwrap_or(-1), stdout: String::from_utf8(o.stdout).unwrap(), stderr: String::from_utf8(o.stderr).unwrap() }
}

/// The usual client options: the stand-in, the secret file.
fn client_args(s: &Stub, e: &Env) -> Vec<String> {
    vec![
        "--edge-sts".into(),
        s.url(),
        "--token-url".into(),
        s.token_url(),
        "--client-id".into(),
        "orders-service".into(),
        "--client-secret-file".into(),
        e.p("secret"),
        "--allow-http-loopback".into(),
    ]
}

fn with<'a>(head: &[&'a str], tail: &'a [String]) -> Vec<&'a str> {
    head.iter().copied().chain(tail.iter().map(String::as_str)).collect()
}

fn one_line_error(o: &Out) {
    assert_ne!(o.code, 0);
    assert_eq!(o.stderr.lines().count(), 1, "one line: {:?}", o.stderr);
    assert!(o.stderr.starts_with("error: "), "{:?}", o.stderr);
    for secret in [SECRET, KC_TOKEN] {
        assert!(!o.stderr.contains(secret) && !o.stdout.contains(secret), "no secret or token in {:?}", o.stderr);
    }
}

#[test]
fn argument_errors() {
    let s = stub();
    let e = Env::new();
    // No client authentication at all.
    let o =
        e.run(&["token", "--audience", "orders", "--edge-sts", &s.url(), "--token-url", &s.token_url(), "--client-id", "orders-service"]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("--client-secret-file") && o.stderr.contains("required"), "{}", o.stderr);
    // A secret as an argument does not exist.
    let o = e.run(&with(&["token", "--audience", "orders", "--client-secret", SECRET], &client_args(&s, &e)));
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("unexpected argument '--client-secret'"), "{}", o.stderr);
    // Two client authentications.
    let o = e.run(&with(&["token", "--audience", "orders", "--client-secret-env", "X"], &client_args(&s, &e)));
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("cannot be used with"), "{}", o.stderr);
    // Loopback http without the flag; a plain http URL elsewhere never.
    let mut args = client_args(&s, &e);
    args.pop();
    let o = e.run(&with(&["token", "--audience", "orders"], &args));
    one_line_error(&o);
    assert!(o.stderr.contains("--allow-http-loopback"), "{}", o.stderr);
    let secret = e.p("secret");
    let o = e.run(&[
        "token",
        "--audience",
        "orders",
        "--edge-sts",
        &s.url(),
        "--issuer",
        "http://kc.example.com/realms/x",
        "--client-id",
        "orders-service",
        "--client-secret-file",
        &secret,
        "--allow-http-loopback",
    ]);
    one_line_error(&o);
    assert!(o.stderr.contains("--issuer must be an https:// URL"), "{}", o.stderr);
    assert_eq!(s.count("/kc/token") + s.count("/token"), 0, "nothing was sent");
    // The environment variable must be set.
    let o = e.run(&[
        "token",
        "--audience",
        "orders",
        "--edge-sts",
        &s.url(),
        "--token-url",
        &s.token_url(),
        "--client-id",
        "orders-service",
        "--client-secret-env",
        "EDGE_STS_TEST_UNSET_VAR",
        "--allow-http-loopback",
    ]);
    one_line_error(&o);
    assert!(o.stderr.contains("EDGE_STS_TEST_UNSET_VAR"), "{}", o.stderr);
}

// ---------------------------------------------------------------------------------------------
// Who may own and change the files (src/files.rs). The cases with another owner chown files to
// uid 65534 and run the helper under that uid, which needs root.

/// The account that plays "the user" (or "another user") in the ownership cases: nobody.
const OTHER: u32 = 65534;

fn need_root() {
    assert!(rustix::process::geteuid().is_root(), "this test changes file owners (chown to uid {OTHER}): run it as root");
}

fn chown(p: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::chown(p, Some(uid), Some(gid)).unwrap();
}

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

impl Env {
    /// This environment with its directory handed to `uid` (its home and cache there).
    fn owned_by(self, uid: u32) -> Env {
        chown(self.dir.path(), uid, uid);
        self
    }
    /// Runs the helper as `uid` with primary group `gid`.
    fn run_as(&self, uid: u32, gid: u32, args: &[&str]) -> Out {
        use std::os::unix::process::CommandExt;
        out(self.cmd(args).uid(uid).gid(gid).output().unwrap())
    }
}

/// A Kubernetes secret volume as kubelet's atomic writer lays it out: `name` -> `..data/name`,
/// `..data` -> a timestamped directory holding the file. Returns the path a pod would use.
fn kubernetes_volume(e: &Env, mode: u32, gid: u32) -> String {
    let vol = e.path("k8s");
    let stamp = vol.join("..2026_01_01_00_00_00.000000001");
    std::fs::create_dir_all(&stamp).unwrap();
    chmod(&vol, 0o755);
    chmod(&stamp, 0o755);
    let file = stamp.join("client-secret");
    std::fs::write(&file, format!("{SECRET}\n")).unwrap();
    chmod(&file, mode);
    chown(&file, 0, gid);
    std::os::unix::fs::symlink("..2026_01_01_00_00_00.000000001", vol.join("..data")).unwrap();
    std::os::unix::fs::symlink("..data/client-secret", vol.join("client-secret")).unwrap();
    vol.join("client-secret").to_string_lossy().into_owned()
}

fn args_with_secret(s: &Stub, e: &Env, secret_file: &str) -> Vec<String> {
    let mut a = client_args(s, e);
    a[7] = secret_file.into();
    a
}

#[test]
fn secret_files_as_kubernetes_and_docker_mount_them_are_accepted() {
    need_root();
    let s = stub();
    let e = Env::new().owned_by(OTHER);
    chmod(e.dir.path(), 0o755);
    let basic = format!("Basic {}", base64_std(format!("orders-service:{SECRET}").as_bytes()));
    // A Kubernetes secret volume (root-owned, defaultMode 0644, through its links) read by a
    // pod running as another user; with fsGroup 2000 and defaultMode 0440, read through the group.
    for (mode, gid) in [(0o644, 0), (0o440, 2000)] {
        let _ = std::fs::remove_dir_all(e.path("k8s"));
        let path = kubernetes_volume(&e, mode, gid);
        let o = e.run_as(
            OTHER,
            if gid == 0 { OTHER } else { gid },
            &with(&["token", "--audience", "orders"], &args_with_secret(&s, &e, &path)),
        );
        assert_eq!((o.code, o.stderr.as_str()), (0, ""), "kubernetes {mode:04o}");
        assert_eq!(s.last("/kc/token").headers["authorization"], basic, "the secret behind the links");
    }
    // A Docker secret: root's 0444 in /run/secrets, or the user's 0444 (`uid:` in the compose file).
    for (owner, mode) in [(0, 0o444), (OTHER, 0o444), (OTHER, 0o440), (OTHER, 0o400), (OTHER, 0o600)] {
        e.write("docker-secret", SECRET, mode);
        chown(&e.path("docker-secret"), owner, owner);
        let o = e.run_as(OTHER, OTHER, &with(&["token", "--audience", "orders"], &args_with_secret(&s, &e, &e.p("docker-secret"))));
        assert_eq!((o.code, o.stderr.as_str()), (0, ""), "owner {owner}, mode {mode:04o}");
    }
    // A pod running as root reads its root-owned 0644 volume.
    let as_root = Env::new();
    let path = kubernetes_volume(&as_root, 0o644, 0);
    let o = e.run(&with(&["token", "--audience", "orders"], &args_with_secret(&s, &e, &path)));
    assert_eq!((o.code, o.stderr.as_str()), (0, ""), "as root");
}

#[test]
fn secret_files_others_can_change_or_own_are_refused() {
    need_root();
    let s = stub();
    let e = Env::new().owned_by(OTHER);
    chmod(e.dir.path(), 0o755);
    let token = |uid: u32, file: &str| e.run_as(uid, uid, &with(&["token", "--audience", "orders"], &args_with_secret(&s, &e, file)));
    // Another user's file, even 0600 (root could read it): that user can change the secret.
    e.write("theirs", SECRET, 0o600);
    chown(&e.path("theirs"), OTHER, OTHER);
    let o = token(0, &e.p("theirs"));
    one_line_error(&o);
    assert!(o.stderr.contains("belongs to uid 65534, neither to you (uid 0) nor to root") && o.stderr.contains("chown"), "{}", o.stderr);
    e.write("theirs", SECRET, 0o444);
    chown(&e.path("theirs"), 1234, 1234);
    let o = token(OTHER, &e.p("theirs"));
    one_line_error(&o);
    assert!(o.stderr.contains("belongs to uid 1234"), "{}", o.stderr);
    // Behind a link (as in a secret volume) the final file is judged.
    std::os::unix::fs::symlink(e.path("theirs"), e.path("link")).unwrap();
    let o = token(OTHER, &e.p("link"));
    one_line_error(&o);
    assert!(o.stderr.contains("belongs to uid 1234"), "{}", o.stderr);
    // Root's file that group or others can write.
    for mode in [0o664, 0o646, 0o666] {
        e.write("rootfile", SECRET, mode);
        let o = token(OTHER, &e.p("rootfile"));
        one_line_error(&o);
        assert!(
            o.stderr.contains(&format!("can be written by group or others (mode {mode:04o}): have root run chmod go-w")),
            "{}",
            o.stderr
        );
    }
    // The user's own file: writable by group or others, or writable by the user and readable by
    // others (a file made by hand under umask 022), as ssh refuses keys.
    for (mode, says) in [
        (0o660, "can be written by group or others"),
        (0o606, "can be written by group or others"),
        (0o644, "is readable by group or others"),
        (0o640, "is readable by group or others"),
    ] {
        e.write("mine", SECRET, mode);
        chown(&e.path("mine"), OTHER, OTHER);
        let o = token(OTHER, &e.p("mine"));
        one_line_error(&o);
        assert!(o.stderr.contains(&format!("{says} (mode {mode:04o}): run chmod 600")), "{mode:04o}: {}", o.stderr);
    }
    assert_eq!(s.count("/kc/token"), 0, "refused before any request");
}

#[test]
fn token_prints_the_downstream_token_and_sends_basic_auth() {
    let s = stub();
    let e = Env::new();
    let o = e.run(&with(&["token", "--audience", "orders", "--scope", "orders:read"], &client_args(&s, &e)));
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout, "downstream-TEST-ONLY\n");
    assert_eq!(o.stderr, "");
    let kc = s.last("/kc/token");
    assert_eq!(kc.headers["authorization"], format!("Basic {}", base64_std(format!("orders-service:{SECRET}").as_bytes())));
    assert!(!kc.form.contains_key("client_secret"), "the secret goes in the Basic header only");
    let ex = s.last("/token");
    assert_eq!(ex.form["grant_type"], "urn:ietf:params:oauth:grant-type:token-exchange");
    assert_eq!(ex.form["subject_token_type"], "urn:ietf:params:oauth:token-type:access_token");
    assert_eq!(ex.form["subject_token"], KC_TOKEN);
    assert_eq!(ex.form["audience"], "orders");
    assert_eq!(ex.form["scope"], "orders:read");
    let o = e.run(&with(&["token", "--audience", "orders", "--json"], &client_args(&s, &e)));
    let v: Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(v["issued_token_type"], "urn:ietf:params:oauth:token-type:access_token");
    // Secret from an environment variable; token endpoint from discovery.
    let o = e
        .cmd(&[
            "token",
            "--audience",
            "orders",
            "--edge-sts",
            &s.url(),
            "--issuer",
            &format!("{}/kc", s.url()),
            "--client-id",
            "orders-service",
            "--client-secret-env",
            "MY_SECRET",
            "--allow-http-loopback",
        ])
        .env("MY_SECRET", SECRET)
        .output()
        .unwrap();
    let o = out(o);
    assert_eq!((o.code, o.stdout.as_str()), (0, "downstream-TEST-ONLY\n"), "{}", o.stderr);
    assert_eq!(s.count("/kc/.well-known/openid-configuration"), 1);
}

#[test]
fn refusals_are_one_line_without_secrets() {
    let s = stub();
    let e = Env::new();
    let o = e.run(&with(&["token", "--audience", "forbidden"], &client_args(&s, &e)));
    one_line_error(&o);
    assert!(o.stderr.contains("edge-sts refused the exchange for forbidden: HTTP 400 invalid_target"), "{}", o.stderr);
    assert!(o.stderr.contains("[redacted]"), "the echoed token was cut out: {}", o.stderr);
    e.write("secret", "wrong-secret", 0o600);
    let o = e.run(&with(&["token", "--audience", "orders"], &client_args(&s, &e)));
    one_line_error(&o);
    assert!(o.stderr.contains("Keycloak refused client orders-service: HTTP 401 invalid_client"), "{}", o.stderr);
    let sent = base64_std(b"orders-service:wrong-secret");
    assert!(!o.stderr.contains(&sent) && o.stderr.contains("[redacted]"), "the echoed credential was cut out: {}", o.stderr);
    // Nothing listening.
    let dead = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = dead.local_addr().unwrap().port();
    drop(dead);
    let o = e.run(&[
        "token",
        "--audience",
        "orders",
        "--edge-sts",
        &s.url(),
        "--token-url",
        &format!("http://127.0.0.1:{port}/t"),
        "--client-id",
        "x",
        "--client-secret-file",
        &e.p("secret"),
        "--allow-http-loopback",
    ]);
    one_line_error(&o);
    assert!(o.stderr.contains(&format!("cannot reach 127.0.0.1:{port}")), "{}", o.stderr);
}

fn cache_files(e: &Env) -> Vec<PathBuf> {
    let dir = e.path("cache/edge-sts");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir).map(|d| d.map(|f| f.unwrap().path()).collect()).unwrap_or_default();
    v.sort();
    v
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn aws_prints_credential_process_json_and_reuses_the_cache() {
    let s = stub();
    let e = Env::new();
    let args =
        with(&["credentials", "aws", "--target", "aws-orders"], &client_args(&s, &e)).iter().map(|a| a.to_string()).collect::<Vec<_>>();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let first = e.run(&args);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(first.stderr, "");
    let v: Map<String, Value> = serde_json::from_str(&first.stdout).unwrap();
    let mut keys: Vec<&str> = v.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["AccessKeyId", "Expiration", "SecretAccessKey", "SessionToken", "Version"]);
    assert_eq!(s.count("/token"), 1);
    // Cached: same credentials, no request at all (not even Keycloak).
    let second = e.run(&args);
    assert_eq!(second.stdout, first.stdout);
    assert_eq!((s.count("/token"), s.count("/kc/token")), (1, 1));
    // Private files in a private directory, no temporary file left behind.
    assert_eq!(mode(&e.path("cache/edge-sts")), 0o700);
    let files = cache_files(&e);
    assert_eq!(files.len(), 2, "{files:?}");
    for f in &files {
        assert_eq!(mode(f), 0o600, "{f:?}");
        assert!(f.file_name().unwrap().to_string_lossy().starts_with("aws-"));
    }
    // Another target or client id is another entry.
    let o = e.run(&with(&["credentials", "aws", "--target", "aws-orders"], &{
        let mut a = client_args(&s, &e);
        a[5] = "other-client".into();
        a
    }));
    assert_ne!(o.code, 0, "other-client has no valid secret here");
    // --no-cache always asks.
    let o = e.run(&with(&["credentials", "aws", "--target", "aws-orders", "--no-cache"], &client_args(&s, &e)));
    assert_eq!(o.code, 0);
    assert_eq!(s.count("/token"), 2);
}

#[test]
fn aws_cache_margin_is_fifteen_minutes() {
    let s = stub();
    let e = Env::new();
    let args =
        with(&["credentials", "aws", "--target", "aws-orders"], &client_args(&s, &e)).iter().map(|a| a.to_string()).collect::<Vec<_>>();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    // 14 minutes left: botocore would refresh at once, so the helper does not reuse it.
    s.set(|b| b.aws_life = 14 * 60);
    let a = e.run(&args);
    let b = e.run(&args);
    assert_eq!((a.code, b.code), (0, 0));
    assert_ne!(a.stdout, b.stdout);
    assert_eq!(s.count("/token"), 2);
    // 16 minutes left: reused.
    s.set(|b| b.aws_life = 16 * 60);
    let c = e.run(&args);
    let d = e.run(&args);
    assert_eq!(c.stdout, d.stdout);
    assert_eq!(s.count("/token"), 3);
    // An entry whose time has come (rewritten 10 min from expiry) is replaced.
    let entry = cache_files(&e).into_iter().find(|f| f.extension().is_some_and(|x| x == "json")).unwrap();
    let mut m: Map<String, Value> = serde_json::from_slice(&std::fs::read(&entry).unwrap()).unwrap();
    m.insert("Expiration".into(), Value::from(iso(now() + 600)));
    std::fs::write(&entry, Value::Object(m).to_string()).unwrap();
    let f = e.run(&args);
    assert_ne!(f.stdout, d.stdout);
    assert_eq!(s.count("/token"), 4);
    // A cache entry another user could read is not trusted.
    std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(0o644)).unwrap();
    let g = e.run(&args);
    assert_eq!(g.code, 0);
    assert_eq!(s.count("/token"), 5);
    assert_eq!(mode(&entry), 0o600, "rewritten private");
}

fn aws_args(s: &Stub, e: &Env, extra: &[&str]) -> Vec<String> {
    let mut a: Vec<String> = ["credentials", "aws", "--target", "aws-orders"].iter().chain(extra).map(|x| x.to_string()).collect();
    a.extend(client_args(s, e));
    a
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Credentials another account put where the helper looks for its own (valid for an hour).
fn planted_aws() -> String {
    json!({"Version": 1, "AccessKeyId": "PLANTED", "SecretAccessKey": "planted", "SessionToken": "planted", "Expiration": iso(now() + 3600)})
        .to_string()
}

#[test]
fn aws_cache_directory_must_be_the_users_and_closed_to_others() {
    let s = stub();
    let e = Env::new();
    let dir = e.path("shared");
    std::fs::create_dir(&dir).unwrap();
    for mode in [0o777, 0o1777, 0o770, 0o702] {
        chmod(&dir, mode);
        let o = e.run(&strs(&aws_args(&s, &e, &["--cache-dir", &e.p("shared")])));
        one_line_error(&o);
        assert!(
            o.stderr
                .contains(&format!("cache directory {} can be written by group or others (mode {mode:04o}): run chmod 700", dir.display())),
            "{}",
            o.stderr
        );
    }
    assert_eq!(s.count("/kc/token"), 0, "refused before any request");
    assert!(cache_files(&e).is_empty() && std::fs::read_dir(&dir).unwrap().next().is_none(), "nothing written");
    // Readable is fine (each file is 0600); a link to a directory of the user's is followed.
    chmod(&dir, 0o755);
    std::os::unix::fs::symlink(&dir, e.path("linked")).unwrap();
    let o = e.run(&strs(&aws_args(&s, &e, &["--cache-dir", &e.p("linked")])));
    assert_eq!((o.code, o.stderr.as_str()), (0, ""));
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2, "entry and lock in the linked directory");
}

#[test]
fn aws_cache_directory_of_another_user_is_refused() {
    need_root();
    let s = stub();
    let e = Env::new();
    let dir = e.path("theirs");
    std::fs::create_dir(&dir).unwrap();
    chmod(&dir, 0o700);
    chown(&dir, OTHER, OTHER);
    let o = e.run(&strs(&aws_args(&s, &e, &["--cache-dir", &e.p("theirs")])));
    one_line_error(&o);
    assert!(o.stderr.contains(&format!("cache directory {} belongs to uid 65534, not to you (uid 0)", dir.display())), "{}", o.stderr);
    assert_eq!(s.count("/kc/token"), 0);
}

#[test]
fn aws_cache_files_are_never_followed_and_must_be_the_users() {
    need_root();
    let s = stub();
    let e = Env::new();
    let args = aws_args(&s, &e, &[]);
    let first = e.run(&strs(&args));
    assert_eq!(first.code, 0, "{}", first.stderr);
    let files = cache_files(&e);
    let entry = files.iter().find(|f| f.extension().is_some_and(|x| x == "json")).unwrap().clone();
    let lock = files.iter().find(|f| f.extension().is_some_and(|x| x == "lock")).unwrap().clone();
    let refused = |says: &str, what: &Path| {
        let o = e.run(&strs(&args));
        one_line_error(&o);
        assert!(!o.stdout.contains("PLANTED"), "planted credentials printed: {}", o.stdout);
        assert!(o.stderr.contains(&format!("{} {says}", what.display())), "{says}: {}", o.stderr);
    };
    // An entry that is a link, even to a private file of the user's, is not read.
    e.write("planted.json", &planted_aws(), 0o600);
    std::fs::remove_file(&entry).unwrap();
    std::os::unix::fs::symlink(e.path("planted.json"), &entry).unwrap();
    refused("is a symbolic link, which the helper never follows: remove it (rm", &entry);
    // An entry another user wrote.
    std::fs::remove_file(&entry).unwrap();
    std::fs::write(&entry, planted_aws()).unwrap();
    chmod(&entry, 0o600);
    chown(&entry, OTHER, OTHER);
    refused("belongs to uid 65534, not to you (uid 0): remove it (rm", &entry);
    std::fs::remove_file(&entry).unwrap();
    // A lock another user created, could open, and so could hold.
    chown(&lock, OTHER, OTHER);
    refused("belongs to uid 65534, not to you (uid 0): remove it (rm", &lock);
    std::fs::remove_file(&lock).unwrap();
    std::fs::write(&lock, "").unwrap();
    chmod(&lock, 0o644);
    refused("is accessible by group or others (mode 0644): run chmod 600", &lock);
    std::fs::remove_file(&lock).unwrap();
    std::os::unix::fs::symlink(e.path("elsewhere.lock"), &lock).unwrap();
    refused("is a symbolic link, which the helper never follows", &lock);
    assert!(!e.path("elsewhere.lock").exists(), "nothing created through the link");
    assert_eq!(s.count("/token"), 1, "no refused run reached edge-sts");
    // Once the user removes it, the next run works again.
    std::fs::remove_file(&lock).unwrap();
    let o = e.run(&strs(&args));
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(mode(&lock), 0o600);
}

#[test]
fn aws_concurrent_runs_make_one_exchange() {
    let s = stub();
    let e = Env::new();
    s.set(|b| b.delay_ms = 700);
    let args =
        with(&["credentials", "aws", "--target", "aws-orders"], &client_args(&s, &e)).iter().map(|a| a.to_string()).collect::<Vec<_>>();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let children: Vec<_> = (0..3).map(|_| e.cmd(&args).spawn().unwrap()).collect();
    let outs: Vec<Out> = children.into_iter().map(|c| out(c.wait_with_output().unwrap())).collect();
    for o in &outs {
        assert_eq!(o.code, 0, "{}", o.stderr);
        assert_eq!(o.stdout, outs[0].stdout, "all three print the same credentials");
    }
    assert_eq!(s.count("/token"), 1, "one exchange; the others waited for the lock and read the cache");
}

#[test]
fn gcp_executable_contract_and_output_file() {
    let s = stub();
    let e = Env::new();
    let args =
        with(&["credentials", "gcp", "--target", "gcp-orders"], &client_args(&s, &e)).iter().map(|a| a.to_string()).collect::<Vec<_>>();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = e.run(&args);
    assert_eq!(o.code, 0);
    assert_eq!(o.stderr, "", "nothing on standard error: the library merges it into the answer");
    let v: Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(v["version"], 1);
    assert_eq!(v["success"], true);
    assert_eq!(v["token_type"], "urn:ietf:params:oauth:token-type:jwt");
    assert_eq!(v["id_token"].as_str().unwrap().split('.').count(), 3);
    let exp = v["expiration_time"].as_u64().unwrap();
    assert!(exp >= now() + 590 && exp <= now() + 600, "{exp}");
    assert_eq!(s.count("/token"), 1);

    // With an output file: written (0600) after a fetch, read first while valid.
    let of = e.p("gcp-out.json");
    let run_of = || out(e.cmd(&args).env("GOOGLE_EXTERNAL_ACCOUNT_OUTPUT_FILE", &of).output().unwrap());
    let a = run_of();
    assert_eq!((a.code, a.stderr.as_str()), (0, ""));
    assert_eq!(s.count("/token"), 2);
    let written: Value = serde_json::from_slice(&std::fs::read(&of).unwrap()).unwrap();
    assert_eq!(written, serde_json::from_str::<Value>(&a.stdout).unwrap());
    assert_eq!(mode(Path::new(&of)), 0o600);
    let b = run_of();
    assert_eq!(b.stdout, a.stdout, "served from the output file");
    assert_eq!(s.count("/token"), 2);
    // Expired (or without expiration_time): fetched again.
    let mut old = written.clone();
    old["expiration_time"] = Value::from(now() - 1);
    std::fs::write(&of, old.to_string()).unwrap();
    let c = run_of();
    assert_eq!(c.code, 0);
    assert_eq!(s.count("/token"), 3);
    let mut none = written.clone();
    none.as_object_mut().unwrap().remove("expiration_time");
    std::fs::write(&of, none.to_string()).unwrap();
    run_of();
    assert_eq!(s.count("/token"), 4);

    // Failure: Google's failure JSON on standard output, exit 0 (golang/oauth2 and older Node
    // show only the exit code of a failed run), nothing on standard error.
    let bad =
        with(&["credentials", "gcp", "--target", "forbidden"], &client_args(&s, &e)).iter().map(|a| a.to_string()).collect::<Vec<_>>();
    let bad: Vec<&str> = bad.iter().map(String::as_str).collect();
    let f = e.run(&bad);
    assert_eq!(f.code, 0);
    assert_eq!(f.stderr, "");
    let v: Value = serde_json::from_str(&f.stdout).unwrap();
    assert_eq!((v["version"].as_u64(), v["success"].as_bool()), (Some(1), Some(false)));
    assert!(v["code"].as_str().is_some_and(|c| !c.is_empty()));
    assert!(v["message"].as_str().unwrap().contains("invalid_target"), "{v}");
    assert!(!f.stdout.contains(KC_TOKEN));
    // A downstream (non-assertion) target is refused, not handed over as an id_token.
    let down = with(&["credentials", "gcp", "--target", "orders"], &client_args(&s, &e)).iter().map(|a| a.to_string()).collect::<Vec<_>>();
    let f = e.run(&down.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(f.code, 0);
    assert_eq!(serde_json::from_str::<Value>(&f.stdout).unwrap()["success"], false);
    assert!(f.stdout.contains("assertion mode"), "{}", f.stdout);
}

/// An executable-source answer another account put in place (valid for an hour).
fn planted_gcp() -> String {
    json!({"version": 1, "success": true, "token_type": "urn:ietf:params:oauth:token-type:jwt", "id_token": "PLANTED", "expiration_time": now() + 3600})
        .to_string()
}

#[test]
fn gcp_output_file_is_the_helpers_own() {
    need_root();
    let s = stub();
    let e = Env::new();
    let args =
        with(&["credentials", "gcp", "--target", "gcp-orders"], &client_args(&s, &e)).iter().map(|a| a.to_string()).collect::<Vec<_>>();
    let run_of = |of: &Path| out(e.cmd(&strs(&args)).env("GOOGLE_EXTERNAL_ACCOUNT_OUTPUT_FILE", of).output().unwrap());
    let refused = |of: &Path, says: &str| {
        let o = run_of(of);
        assert_eq!(o.stderr, "", "nothing on standard error");
        let v: Value = serde_json::from_str(&o.stdout).unwrap();
        assert_eq!(v["success"], false, "{v}");
        assert!(!o.stdout.contains("PLANTED"), "{}", o.stdout);
        assert!(v["message"].as_str().unwrap().contains(says), "{says}: {v}");
    };
    // In a directory others can write (/tmp, say), another user can put the file there first.
    let shared = e.path("shared");
    std::fs::create_dir(&shared).unwrap();
    chmod(&shared, 0o1777);
    refused(
        &shared.join("out.json"),
        &format!("the directory of Google's output file {} can be written by group or others (mode 1777)", shared.display()),
    );
    chmod(&shared, 0o700);
    chown(&shared, OTHER, OTHER);
    refused(&shared.join("out.json"), "belongs to uid 65534, not to you (uid 0)");
    assert_eq!(s.count("/token"), 0);
    // In the user's own directory: a link is not followed, another user's file is not read.
    let of = e.path("out.json");
    e.write("planted.json", &planted_gcp(), 0o600);
    std::os::unix::fs::symlink(e.path("planted.json"), &of).unwrap();
    refused(&of, "is a symbolic link, which the helper never follows");
    std::fs::remove_file(&of).unwrap();
    e.write("out.json", &planted_gcp(), 0o600);
    chown(&of, OTHER, OTHER);
    refused(&of, &format!("Google's output file {} belongs to uid 65534", of.display()));
    assert_eq!(s.count("/token"), 0);
    // The user's own file with a loose mode is not trusted: fetched again, replaced 0600.
    std::fs::remove_file(&of).unwrap();
    e.write("out.json", &planted_gcp(), 0o644);
    let o = run_of(&of);
    let v: Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(v["success"], true, "{v}");
    assert_ne!(v["id_token"], "PLANTED");
    assert_eq!(s.count("/token"), 1);
    assert_eq!(mode(&of), 0o600);
}

#[test]
fn gcp_config_writes_the_executable_command() {
    let s = stub();
    let e = Env::new();
    let out_file = e.p("gcp.json");
    let o = e.run(&with(
        &["credentials", "gcp-config", "--target", "gcp-orders", "--out", &out_file, "--command-path", "/usr/local/bin/edge-sts"],
        &client_args(&s, &e),
    ));
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains("GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES=1"));
    let cfg: Value = serde_json::from_slice(&std::fs::read(&out_file).unwrap()).unwrap();
    assert_eq!(cfg["type"], "external_account");
    assert_eq!(cfg["token_url"], "https://sts.googleapis.com/v1/token", "the server's fields stay");
    let exe = &cfg["credential_source"]["executable"];
    let want = format!(
        "/usr/local/bin/edge-sts credentials gcp --target gcp-orders --edge-sts {} --token-url {} --client-id orders-service --client-secret-file {} --allow-http-loopback",
        s.url(),
        s.token_url(),
        e.p("secret")
    );
    assert_eq!(exe["command"], want.as_str());
    assert_eq!(exe["timeout_millis"], 30000);
    assert_eq!(cfg["credential_source"].as_object().unwrap().len(), 1, "only the executable source");
    assert!(!std::fs::read_to_string(&out_file).unwrap().contains(KC_TOKEN), "no token in the configuration");
    assert_eq!(s.last("/gcp/external-account").path, "/gcp/external-account?target=gcp-orders");
    // Paths with a space cannot be in Google's command line.
    let o = e.run(&with(
        &["credentials", "gcp-config", "--target", "gcp-orders", "--out", &out_file, "--command-path", "/opt/my tools/edge-sts"],
        &client_args(&s, &e),
    ));
    one_line_error(&o);
    assert!(o.stderr.contains("contains a space"), "{}", o.stderr);
}

#[test]
fn token_file_writes_a_private_token_file() {
    let s = stub();
    let e = Env::new();
    let file = e.p("azure-token");
    e.write("azure-token", "old", 0o644);
    let o = e.run(&with(&["credentials", "token-file", "--target", "azure-orders", "--out", &file], &client_args(&s, &e)));
    assert_eq!(o.code, 0, "{}", o.stderr);
    let t = std::fs::read_to_string(&file).unwrap();
    assert_eq!(t.split('.').count(), 3);
    assert!(!t.ends_with('\n'));
    assert_eq!(mode(Path::new(&file)), 0o600, "replaced by a private file");
    // --watch rewrites it when half its life is gone (2 s assertions here: about every second);
    // `credentials azure` is the same command.
    s.set(|b| b.assertion_life = 2);
    let mut child = e
        .cmd(&with(&["credentials", "azure", "--target", "azure-orders", "--out", &file, "--watch"], &client_args(&s, &e)))
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(3500));
    child.kill().unwrap();
    child.wait().unwrap();
    let n = s.count("/token");
    assert!(n >= 3, "first write plus rewrites: {n} exchanges");
    assert_ne!(std::fs::read_to_string(&file).unwrap(), t);
}

#[test]
fn private_key_jwt_from_a_jwk_or_a_pem_file() {
    use p256::pkcs8::EncodePrivateKey;
    let s = stub();
    let e = Env::new();
    let key = p256::SecretKey::random(&mut rand_core::OsRng);
    let mut jwk: Value = serde_json::from_str(&key.to_jwk_string()).unwrap();
    jwk["alg"] = "ES256".into();
    e.write("key.json", &jwk.to_string(), 0o600);
    e.write("key.pem", &key.to_pkcs8_pem(Default::default()).unwrap(), 0o600);
    for file in ["key.json", "key.pem"] {
        let o = e.run(&[
            "token",
            "--audience",
            "orders",
            "--edge-sts",
            &s.url(),
            "--token-url",
            &s.token_url(),
            "--client-id",
            "orders-service",
            "--private-key-jwt",
            &e.p(file),
            "--allow-http-loopback",
        ]);
        assert_eq!(o.code, 0, "{file}: {}", o.stderr);
        let req = s.last("/kc/token");
        assert!(!req.headers.contains_key("authorization"));
        assert_eq!(req.form["client_id"], "orders-service");
        let jws = &req.form["client_assertion"];
        let parts: Vec<&str> = jws.split('.').collect();
        let header: Value = serde_json::from_slice(&b64::decode(parts[0]).unwrap()).unwrap();
        let claims: Value = serde_json::from_slice(&b64::decode(parts[1]).unwrap()).unwrap();
        assert_eq!(header["alg"], "ES256");
        assert_eq!((claims["iss"].as_str(), claims["sub"].as_str()), (Some("orders-service"), Some("orders-service")));
        assert_eq!(claims["aud"], s.token_url().as_str());
        let exp = claims["exp"].as_u64().unwrap();
        assert!(exp > now() && exp <= now() + 61);
        assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 16));
        // The signature verifies with the public key.
        use p256::ecdsa::signature::Verifier;
        let vk = p256::ecdsa::VerifyingKey::from(key.public_key());
        let sig = p256::ecdsa::Signature::from_slice(&b64::decode(parts[2]).unwrap()).unwrap();
        vk.verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig).expect("valid ES256 signature");
    }
    // A key file others can write is refused.
    e.write("key.pem", &key.to_pkcs8_pem(Default::default()).unwrap(), 0o606);
    let o = e.run(&[
        "token",
        "--audience",
        "orders",
        "--edge-sts",
        &s.url(),
        "--token-url",
        &s.token_url(),
        "--client-id",
        "orders-service",
        "--private-key-jwt",
        &e.p("key.pem"),
        "--allow-http-loopback",
    ]);
    one_line_error(&o);
    assert!(o.stderr.contains("chmod 600"));
}

/// A test CA and a `localhost` server certificate it signed: (CA PEM, server TLS configuration).
fn test_pki() -> (String, Arc<rustls::ServerConfig>) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_owned()]).unwrap().signed_by(&leaf_key, &ca).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::try_from(leaf_key.serialize_der()).unwrap();
    let cfg = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone()], key)
        .unwrap();
    (ca.pem(), Arc::new(cfg))
}

/// An HTTP CONNECT proxy on 127.0.0.1 that records each tunnel's target.
fn connect_proxy() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { continue };
            let seen = seen2.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(client.try_clone().unwrap());
                let mut line = String::new();
                reader.read_line(&mut line).ok();
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).map(|n| n == 0).unwrap_or(true) || h == "\r\n" {
                        break;
                    }
                }
                let mut parts = line.split_whitespace();
                if parts.next() != Some("CONNECT") {
                    return;
                }
                let target = parts.next().unwrap_or("").to_owned();
                seen.lock().unwrap().push(target.clone());
                let port = target.rsplit_once(':').map(|(_, p)| p.to_owned()).unwrap_or_default();
                let Ok(upstream) = std::net::TcpStream::connect(format!("127.0.0.1:{port}")) else { return };
                let mut c = client;
                c.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").ok();
                let (mut c2, mut u2) = (c.try_clone().unwrap(), upstream.try_clone().unwrap());
                let mut u = upstream;
                std::thread::spawn(move || {
                    std::io::copy(&mut u2, &mut c2).ok();
                    c2.shutdown(std::net::Shutdown::Write).ok();
                });
                std::io::copy(&mut c, &mut u).ok();
                u.shutdown(std::net::Shutdown::Write).ok();
            });
        }
    });
    (port, seen)
}

#[test]
fn custom_ca_from_the_option_or_ssl_cert_file_and_the_proxy_variables() {
    let (ca_pem, tls) = test_pki();
    let s = stub_with(Some(tls));
    let e = Env::new();
    e.write("ca.pem", &ca_pem, 0o644);
    let base = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = [
            "token",
            "--audience",
            "orders",
            "--edge-sts",
            &s.url(),
            "--token-url",
            &s.token_url(),
            "--client-id",
            "orders-service",
            "--client-secret-file",
            &e.p("secret"),
        ]
        .iter()
        .map(|a| a.to_string())
        .collect();
        v.extend(extra.iter().map(|a| a.to_string()));
        v
    };
    let run = |args: &[String], envs: &[(&str, &str)]| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut c = e.cmd(&args);
        for (k, v) in envs {
            c.env(k, v);
        }
        out(c.output().unwrap())
    };
    // The built-in roots do not know the test CA.
    let o = run(&base(&[]), &[]);
    one_line_error(&o);
    assert!(o.stderr.contains("cannot reach localhost:") && o.stderr.to_lowercase().contains("certificate"), "{}", o.stderr);
    assert_eq!(s.count("/kc/token"), 0);
    // --ca-file, or SSL_CERT_FILE.
    let o = run(&base(&["--ca-file", &e.p("ca.pem")]), &[]);
    assert_eq!((o.code, o.stdout.as_str()), (0, "downstream-TEST-ONLY\n"), "{}", o.stderr);
    let o = run(&base(&[]), &[("SSL_CERT_FILE", &e.p("ca.pem"))]);
    assert_eq!((o.code, o.stdout.as_str()), (0, "downstream-TEST-ONLY\n"), "{}", o.stderr);
    assert_eq!(s.count("/token"), 2);
    // A file with no certificate is a clear error.
    e.write("empty.pem", "nothing here", 0o644);
    let o = run(&base(&["--ca-file", &e.p("empty.pem")]), &[]);
    one_line_error(&o);
    assert!(o.stderr.contains("holds no PEM certificate"), "{}", o.stderr);
    // HTTPS_PROXY: both requests go through the CONNECT proxy; NO_PROXY bypasses it.
    let (pport, seen) = connect_proxy();
    let proxy = format!("http://127.0.0.1:{pport}");
    let o = run(&base(&["--ca-file", &e.p("ca.pem")]), &[("HTTPS_PROXY", &proxy)]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(*seen.lock().unwrap(), vec![format!("localhost:{}", s.port); 2]);
    let o = run(&base(&["--ca-file", &e.p("ca.pem")]), &[("HTTPS_PROXY", &proxy), ("NO_PROXY", "localhost")]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(seen.lock().unwrap().len(), 2, "NO_PROXY: direct");
}

#[test]
fn exchanges_are_asked_again_on_502_and_503_within_bounds() {
    let s = stub();
    let e = Env::new();
    let token = with(&["token", "--audience", "orders"], &client_args(&s, &e)).iter().map(|a| a.to_string()).collect::<Vec<_>>();
    let run = || {
        let t = std::time::Instant::now();
        (e.run(&strs(&token)), t.elapsed())
    };
    // Two 503s asking for 1 s each, then the answer: three exchanges, the waits honoured.
    s.set(|b| (b.transient, b.transient_status, b.retry_after) = (2, 503, Some(1)));
    let (o, took) = run();
    assert_eq!((o.code, o.stdout.trim()), (0, "downstream-TEST-ONLY"), "{}", o.stderr);
    assert_eq!(s.count("/token"), 3);
    assert!(took >= Duration::from_secs(2), "{took:?}");
    // 502 without Retry-After, for good: the first try and two more, then the error.
    s.set(|b| (b.transient, b.transient_status, b.retry_after) = (10, 502, None));
    let (o, _) = run();
    one_line_error(&o);
    assert!(o.stderr.contains("HTTP 502 temporarily_unavailable"), "{}", o.stderr);
    assert_eq!(s.count("/token"), 6);
    // A Retry-After longer than the helper waits: final at once, and the error says when.
    s.set(|b| (b.transient, b.transient_status, b.retry_after) = (1, 503, Some(30)));
    let (o, took) = run();
    one_line_error(&o);
    assert!(o.stderr.contains("HTTP 503 temporarily_unavailable: try again (retry after 30 s)"), "{}", o.stderr);
    assert_eq!(s.count("/token"), 7);
    assert!(took < Duration::from_secs(5), "{took:?}");
    // Any other refusal is never asked again.
    s.set(|b| b.transient = 0);
    let bad = with(&["token", "--audience", "forbidden"], &client_args(&s, &e)).iter().map(|a| a.to_string()).collect::<Vec<_>>();
    one_line_error(&e.run(&strs(&bad)));
    assert_eq!(s.count("/token"), 8);
}

/// `line` split as botocore splits `credential_process` (Python's `shlex.split`).
fn shlex_split(line: &str) -> Vec<String> {
    let o = Command::new("python3")
        .args(["-c", "import json, shlex, sys; print(json.dumps(shlex.split(sys.argv[1])))", line])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn aws_config_prints_a_profile_botocore_and_sh_run_as_is() {
    let s = stub();
    let e = Env::new();
    // A helper path and a secret file with a space and a quote in them.
    let dir = e.path("my tools");
    std::fs::create_dir(&dir).unwrap();
    let exe = dir.join("edge-sts");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_edge-sts"), &exe).unwrap();
    e.write("my tools/it's.secret", SECRET, 0o600);
    let mut args = client_args(&s, &e);
    args[7] = e.p("my tools/it's.secret");
    let exe_s = exe.to_string_lossy().into_owned();
    let o = e.run(&with(
        &[
            "credentials",
            "aws-config",
            "--target",
            "aws-orders",
            "--profile",
            "orders",
            "--region",
            "eu-central-1",
            "--command-path",
            &exe_s,
        ],
        &args,
    ));
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(s.count("/token") + s.count("/kc/token"), 0, "nothing is called");
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(lines[..2], ["[profile orders]", "region = eu-central-1"]);
    let cp = lines[2].strip_prefix("credential_process = ").expect(&o.stdout);
    assert_eq!(lines.len(), 3);
    let want: Vec<String> = [
        exe_s.as_str(),
        "credentials",
        "aws",
        "--target",
        "aws-orders",
        "--edge-sts",
        &s.url(),
        "--token-url",
        &s.token_url(),
        "--client-id",
        "orders-service",
        "--client-secret-file",
        &e.p("my tools/it's.secret"),
        "--allow-http-loopback",
    ]
    .iter()
    .map(|a| a.to_string())
    .collect();
    assert_eq!(shlex_split(cp), want, "botocore's split");
    // The Go SDK runs it with `sh -c`: the same process, which prints credential_process JSON.
    let o = out(Command::new("sh").args(["-c", cp]).env("XDG_CACHE_HOME", e.path("cache")).output().unwrap());
    assert_eq!(o.code, 0, "{}", o.stderr);
    let v: Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(v["Version"], 1);
    assert_eq!(s.count("/token"), 1);

    // Assertion mode: a web identity profile and the command that keeps its file fresh.
    let o = e.run(&with(
        &[
            "credentials",
            "aws-config",
            "--target",
            "aws-file",
            "--profile",
            "default",
            "--token-file",
            "rel/aws.jwt",
            "--role-arn",
            "arn:aws:iam::123456789012:role/r",
            "--command-path",
            &exe_s,
        ],
        &args,
    ));
    assert_eq!(o.code, 0, "{}", o.stderr);
    let cwd = std::env::current_dir().unwrap().join("rel/aws.jwt").to_string_lossy().into_owned();
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(
        lines[..4],
        [
            "[default]",
            "role_arn = arn:aws:iam::123456789012:role/r",
            &format!("web_identity_token_file = {cwd}"),
            "role_session_name = orders-service"
        ]
    );
    let watch = shlex_split(lines[4].strip_prefix("# keep the file fresh: ").unwrap());
    assert_eq!(watch[..8], [exe_s.as_str(), "credentials", "token-file", "--target", "aws-file", "--out", &cwd, "--watch"]);
    // --token-file needs --role-arn; a profile name with a space is refused.
    let o = e.run(&with(&["credentials", "aws-config", "--target", "t", "--profile", "p", "--token-file", "f"], &args));
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("--role-arn <ARN>"), "{}", o.stderr);
    let o = e.run(&with(&["credentials", "aws-config", "--target", "t", "--profile", "my profile"], &args));
    one_line_error(&o);
    assert!(o.stderr.contains("a profile name has no spaces"), "{}", o.stderr);
}

#[test]
fn azure_env_prints_what_azure_identity_reads() {
    let s = stub();
    let e = Env::new();
    let file = e.p("az token");
    let o = e.run(&with(
        &[
            "credentials",
            "azure-env",
            "--target",
            "azure-orders",
            "--token-file",
            &file,
            "--tenant",
            "11111111-2222-3333-4444-555555555555",
            "--app-id",
            "66666666-7777-8888-9999-000000000000",
            "--command-path",
            "/usr/local/bin/edge-sts",
        ],
        &client_args(&s, &e),
    ));
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(s.count("/token") + s.count("/kc/token"), 0, "nothing is called");
    // Sourced by a shell: the three variables azure-identity's WorkloadIdentityCredential reads.
    let script = format!("{}\nprintf '%s|%s|%s' \"$AZURE_TENANT_ID\" \"$AZURE_CLIENT_ID\" \"$AZURE_FEDERATED_TOKEN_FILE\"", o.stdout);
    let sh = out(Command::new("sh").args(["-c", &script]).output().unwrap());
    assert_eq!(sh.stdout, format!("11111111-2222-3333-4444-555555555555|66666666-7777-8888-9999-000000000000|{file}"));
    let comment = o.stdout.lines().last().unwrap().strip_prefix("# keep the file fresh: ").expect(&o.stdout);
    let mut want = vec!["/usr/local/bin/edge-sts", "credentials", "token-file", "--target", "azure-orders", "--out", &file, "--watch"];
    let ca = client_args(&s, &e);
    want.extend(ca.iter().map(String::as_str));
    assert_eq!(shlex_split(comment), want);
}

#[test]
fn gcp_config_with_a_token_file_writes_a_file_source() {
    let s = stub();
    let e = Env::new();
    let out_file = e.p("gcp-file.json");
    let token = e.p("gcp.jwt");
    let o = e.run(&with(
        &["credentials", "gcp-config", "--target", "gcp-orders", "--out", &out_file, "--token-file", &token],
        &client_args(&s, &e),
    ));
    assert_eq!(o.code, 0, "{}", o.stderr);
    let cfg: Value = serde_json::from_slice(&std::fs::read(&out_file).unwrap()).unwrap();
    assert_eq!(cfg["credential_source"], json!({"file": token, "format": {"type": "text"}}));
    assert_eq!(cfg["token_url"], "https://sts.googleapis.com/v1/token", "the server's fields stay");
    assert_eq!(mode(Path::new(&out_file)), 0o600);
    assert!(o.stderr.contains(&format!("credentials token-file --target gcp-orders --out {token} --watch")), "{}", o.stderr);
    // The executable's options do not go with a file source.
    let o = e.run(&with(
        &["credentials", "gcp-config", "--target", "gcp-orders", "--out", &out_file, "--token-file", &token, "--output-file", "x"],
        &client_args(&s, &e),
    ));
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("cannot be used with '--output-file <FILE>'"), "{}", o.stderr);
}
