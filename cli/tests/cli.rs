//! Golden tests: every command of the built `edge-sts` binary, run from `tests/fixtures` with a
//! fixed clock (`--now`) and the TEST-ONLY keys there. Transcripts (command, exit code, stdout,
//! stderr) are compared with `tests/golden/*.txt`; generated kids, key material, temporary paths
//! and ports are normalised first. `UPDATE_GOLDEN=1 cargo test -p edge-sts-cli` rewrites them.
//!
//! No network: the only HTTP is a `TcpListener` on 127.0.0.1 started by these tests.
use edge_sts_core::jose::b64;
use edge_sts_core::jose::signing::SigningKey;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

const NOW: u64 = 1_800_000_000;
const ISS: &str = "https://kc.test/realms/demo";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run_with(args: &[&str], stdin: Option<&str>) -> Out {
    let mut child = Command::new(env!("CARGO_BIN_EXE_edge-sts"))
        .args(args)
        .current_dir(fixtures())
        .env_remove("HTTP_PROXY")
        .env_remove("HTTPS_PROXY")
        .env_remove("ALL_PROXY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run edge-sts");
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(stdin.unwrap_or("").as_bytes()).expect("write stdin");
    drop(input);
    let out = child.wait_with_output().expect("wait");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8(out.stderr).expect("utf-8 stderr"),
    }
}

fn run(args: &[&str]) -> Out {
    run_with(args, None)
}

/// One command's transcript. `shown` is the command line as documented (tokens abbreviated).
fn transcript(shown: &str, o: &Out) -> String {
    let mut s = format!("$ edge-sts {shown}\nexit {}\n", o.code);
    if !o.stdout.is_empty() {
        s.push_str("--- stdout\n");
        s.push_str(&o.stdout);
    }
    if !o.stderr.is_empty() {
        s.push_str("--- stderr\n");
        s.push_str(&o.stderr);
    }
    s.push('\n');
    s
}

/// Shell-style single quotes where an argument needs them.
fn quote(a: &str) -> String {
    if !a.is_empty() && a.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+%".contains(c)) {
        a.to_owned()
    } else {
        format!("'{}'", a.replace('\'', "'\\''"))
    }
}

/// Runs `args`; the transcript shows `<NAME>` for each (placeholder, value) pair.
fn step(log: &mut String, args: &[&str], stdin: Option<&str>, names: &[(&str, &str)]) -> Out {
    let o = run_with(args, stdin);
    let shown: Vec<String> = args
        .iter()
        .map(|a| names.iter().find(|(_, v)| v == a && *a != "-").map(|(n, _)| format!("<{n}>")).unwrap_or_else(|| quote(a)))
        .collect();
    let mut shown = shown.join(" ");
    if stdin.is_some() {
        shown.push_str("   (with standard input)");
    }
    log.push_str(&transcript(&shown, &o));
    o
}

fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(format!("{name}.txt"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).expect("write golden");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("missing {}; run with UPDATE_GOLDEN=1", path.display()));
    if expected != actual {
        let first =
            expected.lines().zip(actual.lines()).position(|(a, b)| a != b).unwrap_or(expected.lines().count().min(actual.lines().count()));
        panic!(
            "golden {name} differs at line {}:\n  expected: {:?}\n  actual:   {:?}\n--- full actual output ---\n{actual}",
            first + 1,
            expected.lines().nth(first).unwrap_or("<end>"),
            actual.lines().nth(first).unwrap_or("<end>"),
        );
    }
}

fn tmpdir(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!("edge-sts-cli-test-{}-{tag}-{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst)));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("tmpdir");
    d
}

fn subject_claims(client: &str) -> Value {
    json!({
        "iss": ISS, "aud": ["account", "edge-sts"], "typ": "Bearer", "azp": client, "client_id": client,
        "preferred_username": format!("service-account-{client}"), "sub": "5f0c9d3e-0000-4000-8000-service-acct",
        "tenant_id": "acme", "realm_access": {"roles": ["reader", "writer"]}
    })
}

fn with(mut base: Value, patch: Value) -> Value {
    for (k, v) in patch.as_object().expect("object") {
        if v.is_null() {
            base.as_object_mut().expect("object").remove(k);
        } else {
            base[k] = v.clone();
        }
    }
    base
}

fn mint_at(key: &str, claims: &Value, now: u64) -> String {
    let o = run(&["mint", "--key", key, "--claims", &claims.to_string(), "--now", &now.to_string()]);
    assert_eq!(o.code, 0, "mint failed: {}", o.stderr);
    o.stdout.trim().to_owned()
}

fn mint(key: &str, claims: &Value) -> String {
    mint_at(key, claims, NOW)
}

/// Replaces the payload of a signed token: the signature no longer covers it.
fn tamper(token: &str, claims: &Value) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    format!("{}.{}.{}", parts[0], b64::encode(claims.to_string().as_bytes()), parts[2])
}

fn unsigned(header: &Value, claims: &Value) -> String {
    format!("{}.{}.{}", b64::encode(header.to_string().as_bytes()), b64::encode(claims.to_string().as_bytes()), b64::encode(b"sig"))
}

// ---- a tiny HTTP/1.1 server on 127.0.0.1 --------------------------------------------------------

struct Route {
    path: String,
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn route(path: &str, status: u16, headers: &[(&str, &str)], body: impl Into<Vec<u8>>) -> Route {
    Route { path: path.into(), status, headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(), body: body.into() }
}

/// Serves `routes(port)` until the test process exits; returns the port.
fn serve(routes: impl FnOnce(u16) -> Vec<Route>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let port = listener.local_addr().expect("addr").port();
    let routes = Arc::new(routes(port));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let routes = routes.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    return;
                }
                let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).map(|n| n == 0).unwrap_or(true) || h == "\r\n" {
                        break;
                    }
                }
                let (status, headers, body) = match routes.iter().find(|r| r.path == path) {
                    Some(r) => (r.status, r.headers.clone(), r.body.clone()),
                    None => (404, vec![], b"not found".to_vec()),
                };
                let mut head = format!("HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n", body.len());
                for (k, v) in headers {
                    head.push_str(&format!("{k}: {v}\r\n"));
                }
                head.push_str("\r\n");
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body);
                let _ = stream.flush();
                let mut rest = [0u8; 64];
                let _ = stream.set_read_timeout(Some(std::time::Duration::from_millis(50)));
                let _ = stream.read(&mut rest);
            });
        }
    });
    port
}

fn public_jwks() -> String {
    std::fs::read_to_string(fixtures().join("keys/issuer-jwks.json")).expect("jwks fixture")
}

// ---- keys ---------------------------------------------------------------------------------------

#[test]
fn keys_generate_every_algorithm() {
    for alg in ["ES256", "ES384", "RS256", "PS256", "EdDSA"] {
        let o = run(&["keys", "generate", "--alg", alg, "--secret", "SIGNING_KEY_TEST"]);
        assert_eq!(o.code, 0, "{alg}: {}", o.stderr);
        assert!(o.stdout.ends_with('\n') && o.stdout.trim_end().lines().count() == 1, "{alg}: one line on stdout");
        let key = SigningKey::from_jwk_json(o.stdout.trim()).unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(key.alg().as_str(), alg);
        assert_eq!(key.kid(), key.public.thumbprint, "{alg}: kid is the RFC 7638 thumbprint");
        let jwk: Value = serde_json::from_str(&o.stdout).expect("json");
        assert_eq!(jwk["kid"], key.kid());
        assert_eq!(jwk["alg"], alg);
        // no private member ever reaches stderr
        for m in ["d", "p", "q", "dp", "dq", "qi"] {
            if let Some(v) = jwk.get(m).and_then(Value::as_str) {
                assert!(!o.stderr.contains(v), "{alg}: private `{m}` on stderr");
            }
        }
        assert!(!o.stderr.contains("\"d\""));
        if alg.starts_with("RS") || alg.starts_with("PS") {
            assert_eq!(edge_sts_core::jose::jwk::bit_len(&b64::decode(jwk["n"].as_str().unwrap()).unwrap()), 2048);
        }

        // Round trip: mint with the new key (RSA through ring), verify against its public JWK.
        let dir = tmpdir("gen");
        let key_path = dir.join("key.json");
        std::fs::write(&key_path, &o.stdout).unwrap();
        let jwks_path = dir.join("jwks.json");
        std::fs::write(&jwks_path, json!({"keys": [key.public.to_public_jwk()]}).to_string()).unwrap();
        let token = mint(key_path.to_str().unwrap(), &subject_claims("svc"));
        let v = run(&[
            "verify",
            &token,
            "--jwks",
            jwks_path.to_str().unwrap(),
            "--issuer",
            ISS,
            "--audience",
            "edge-sts",
            "--now",
            &(NOW + 5).to_string(),
        ]);
        assert_eq!((v.code, v.stdout.as_str()), (0, "ok\n"), "{alg}: {}", v.stderr);
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[test]
fn keys_generate_golden() {
    let mut log = String::new();
    let o = run(&["keys", "generate", "--alg", "ES256", "--secret", "SIGNING_KEY_ES256_2027_01"]);
    let kid = serde_json::from_str::<Value>(&o.stdout).unwrap()["kid"].as_str().unwrap().to_owned();
    let shown = Out { code: o.code, stdout: "<private JWK, one line>\n".into(), stderr: o.stderr.replace(&kid, "<KID>") };
    log.push_str(&transcript("keys generate --alg ES256 --secret SIGNING_KEY_ES256_2027_01", &shown));

    let o = run(&["keys", "generate", "--alg", "EdDSA", "--kid", "sts-eddsa-1", "--status", "active", "--secret", "SIGNING_KEY_EDDSA_1"]);
    let jwk: Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!((jwk["kid"].as_str(), jwk["kty"].as_str(), jwk["crv"].as_str()), (Some("sts-eddsa-1"), Some("OKP"), Some("Ed25519")));
    let shown = Out { code: o.code, stdout: "<private JWK, one line>\n".into(), stderr: o.stderr };
    log.push_str(&transcript("keys generate --alg EdDSA --kid sts-eddsa-1 --status active --secret SIGNING_KEY_EDDSA_1", &shown));

    step(&mut log, &["keys", "generate", "--alg", "HS256"], None, &[]);
    step(&mut log, &["keys", "generate", "--alg", "ES256", "--secret", "not a name"], None, &[]);
    step(&mut log, &["keys", "generate", "--alg", "RS256", "--bits", "1024"], None, &[]);
    golden("keys-generate", &log);
}

#[test]
fn keys_rotate() {
    let dir = tmpdir("rotate");
    let d = dir.to_str().unwrap();
    let key_out = format!("{d}/new-key.json");
    let array_out = format!("{d}/signing_keys.json");
    let norm = |s: &str, kid: &str| s.replace(kid, "<KID>").replace(d, "<TMP>");
    let mut log = String::new();

    // Promotion: active -> retired (public_jwk, secret read from --secrets-dir), next -> active, new -> next.
    let args = [
        "keys",
        "rotate",
        "--config",
        "configs/rotate.json",
        "--alg",
        "ES256",
        "--secret",
        "SIGNING_KEY_ES256_2026_07",
        "--secrets-dir",
        "secrets",
        "--key-out",
        &key_out,
    ];
    let o = run(&args);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let private = std::fs::read_to_string(&key_out).unwrap();
    let key = SigningKey::from_jwk_json(&private).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key_out).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let public: Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(public, key.public.to_public_jwk(), "stdout: the new key's public JWK");
    let d_value = key.private_jwk["d"].as_str().unwrap();
    assert!(!o.stdout.contains(d_value) && !o.stderr.contains(d_value), "no private key printed");
    let shown = Out { code: o.code, stdout: "<new public JWK>\n".into(), stderr: norm(&o.stderr, key.kid()) };
    log.push_str(&transcript(&norm(&args.join(" "), key.kid()), &shown));

    // The printed array is a configuration the Worker loads, with the new secret set.
    let array_text = o.stderr.split("signing_keys:\n").nth(1).unwrap();
    let array: Value = serde_json::from_str(array_text).unwrap();
    assert_eq!(array[0]["status"], "retired");
    assert_eq!(array[0]["public_jwk"]["kid"], "sts-es256-2026-01");
    assert_eq!(array[2], json!({"secret": "SIGNING_KEY_ES256_2026_04", "status": "active"}));
    assert_eq!(array[3], json!({"secret": "SIGNING_KEY_ES256_2026_07", "status": "next"}));
    let mut cfg: Value = serde_json::from_str(&std::fs::read_to_string(fixtures().join("configs/rotate.json")).unwrap()).unwrap();
    cfg["signing_keys"] = array;
    let cfg = edge_sts_core::config::load(&cfg.to_string()).unwrap();
    let ring = edge_sts_core::config::build_key_ring(&cfg, |n| {
        if n == "SIGNING_KEY_ES256_2026_07" {
            Some(private.clone())
        } else {
            std::fs::read_to_string(fixtures().join("secrets").join(n)).ok()
        }
    })
    .unwrap();
    assert_eq!(ring.active_for(edge_sts_core::jose::alg::Alg::ES256).unwrap().kid(), "sts-es256-2026-04");
    assert_eq!(ring.next[0].kid.as_deref(), Some(key.kid()));

    // No next key of that algorithm: the new key is only added as next. --show-private, --out.
    let args = [
        "keys",
        "rotate",
        "--config",
        "configs/rotate.json",
        "--alg",
        "RS256",
        "--secret",
        "SIGNING_KEY_RS256_2026_07",
        "--show-private",
        "--out",
        &array_out,
    ];
    let o = run(&args);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let key = SigningKey::from_jwk_json(o.stdout.trim()).expect("private JWK on stdout with --show-private");
    assert!(!o.stderr.contains(key.private_jwk["d"].as_str().unwrap()));
    let shown = Out { code: o.code, stdout: "<new private JWK, one line>\n".into(), stderr: norm(&o.stderr, key.kid()) };
    log.push_str(&transcript(&norm(&args.join(" "), key.kid()), &shown));
    log.push_str(&format!("--- {}\n{}\n", "<TMP>/signing_keys.json", std::fs::read_to_string(&array_out).unwrap()));

    // Promotion without the secrets: the retired entry keeps its secret reference.
    let args =
        ["keys", "rotate", "--config", "configs/rotate.json", "--alg", "ES256", "--secret", "SIGNING_KEY_ES256_2026_07", "--show-private"];
    let o = run(&args);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let key = SigningKey::from_jwk_json(o.stdout.trim()).unwrap();
    let shown = Out { code: o.code, stdout: "<new private JWK, one line>\n".into(), stderr: norm(&o.stderr, key.kid()) };
    log.push_str(&transcript(&args.join(" "), &shown));

    // Refusals.
    step(&mut log, &["keys", "rotate", "--config", "configs/rotate.json", "--alg", "ES256"], None, &[]);
    step(
        &mut log,
        &["keys", "rotate", "--config", "configs/rotate.json", "--alg", "ES256", "--show-private", "--secret", "SIGNING_KEY_ES256_2026_04"],
        None,
        &[],
    );
    step(&mut log, &["keys", "rotate", "--config", "configs/bad/mode-unknown.json", "--alg", "ES256", "--show-private"], None, &[]);
    let o = run(&["keys", "rotate", "--config", "configs/rotate.json", "--alg", "ES256", "--secret", "X1", "--key-out", &key_out]);
    let shown = Out { code: o.code, stdout: o.stdout.clone(), stderr: o.stderr.replace(d, "<TMP>") };
    log.push_str(&transcript(
        "keys rotate --config configs/rotate.json --alg ES256 --secret X1 --key-out <TMP>/new-key.json   (file exists)",
        &shown,
    ));
    golden("keys-rotate", &log);
    let _ = std::fs::remove_dir_all(dir);
}

// ---- check --------------------------------------------------------------------------------------

#[test]
fn check_valid_and_lint() {
    let mut log = String::new();
    step(&mut log, &["check", "configs/edge-sts.json", "--secrets-dir", "secrets"], None, &[]);
    step(&mut log, &["check", "configs/edge-sts.json"], None, &[]);
    step(&mut log, &["check", "configs/rotate.json", "--secrets-dir", "secrets"], None, &[]);
    step(&mut log, &["check", "configs/lint.json"], None, &[]);
    let o = step(&mut log, &["check", "configs/lint.json", "--strict"], None, &[]);
    assert_eq!(o.code, 1);
    // Cloud trust that only the cloud's configuration keeps, and a copied claim beside a static
    // one: each warning says what holds it safe, or what really happens.
    let o = step(&mut log, &["check", "configs/trust.json", "--secrets-dir", "secrets"], None, &[]);
    assert_eq!(o.code, 0, "{}", o.stdout);
    for w in [
        "  warning: clients[0].targets: targets `billing` and `orders` may both write claim `roles`; a request for both is refused (policy.claim_conflict) whenever their values differ, and whenever the subject token lacks a source one of them copies (`orders` copies `realm_access.roles`), since a copied claim is then absent and never filled from the other target; use one claim name per value",
        "  warning: clients[0].targets: grants brokered `s3-reader` (AWS audience `sts.amazonaws.com`) and `s3-file`, whose token the caller holds (AWS audience `edge-sts-s3-file`): safe only while `s3-reader`'s role trust policy conditions on `<issuer host>:aud` equal to `sts.amazonaws.com` (and on `:sub`)",
        "  warning: clients[3].targets: the caller holds the tokens of `reports-a` and `reports-b` on one AWS audience `edge-sts-reports`",
        "  warning: targets.graph: shares Entra audience `api://AzureADTokenExchange` with `vault-file`, whose token the callers of clients[1] hold: safe only while each federated credential's subject names exactly the callers of clients[2]",
        "clients[2]'s glob `batch-*` matches `batch-nightly`, whom clients[1] gives `vault-file`",
    ] {
        assert!(o.stdout.contains(w), "{w}\n{}", o.stdout);
    }
    step(&mut log, &["check", "configs/missing.json"], None, &[]);
    golden("check", &log);
}

#[test]
fn check_bad_configs() {
    let mut names: Vec<String> = std::fs::read_dir(fixtures().join("configs/bad"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    // A few of each kind (document, secrets, explain_secret): the full table of configuration
    // errors is the core's own (core/src/config/tests.rs); here, how `check` prints them.
    assert!(names.len() >= 7, "bad config fixtures");
    let mut log = String::new();
    for n in names {
        let path = format!("configs/bad/{n}");
        let o = step(&mut log, &["check", &path, "--secrets-dir", "secrets"], None, &[]);
        assert_eq!(o.code, 1, "{n}");
        assert!(o.stdout.starts_with("error: ") && o.stdout.contains("\n  problem: ") && o.stdout.contains("\n  fix:     "), "{n}");
        // the Worker's own loader refuses it with the same field
        let text = std::fs::read_to_string(fixtures().join(&path)).unwrap();
        let field = o.stdout.lines().next().unwrap().trim_start_matches("error: ");
        let worker = edge_sts_core::config::load(&text).and_then(|c| {
            edge_sts_core::config::resolve_secrets(&c, |s| std::fs::read_to_string(fixtures().join("secrets").join(s)).ok()).map(|_| ())
        });
        assert_eq!(worker.unwrap_err().field, field, "{n}");
    }
    golden("check-bad", &log);
}

#[test]
fn check_explain_secret() {
    // `check --secrets-dir` applies the Worker's rule: the named secret is set and 16+ characters.
    let o = run(&["check", "configs/explain-secret.json", "--secrets-dir", "secrets"]);
    assert_eq!(o.code, 0, "{}", o.stdout);
    assert!(o.stdout.contains("\n  explain         https://sts.test/explain, key in secret EXPLAIN_KEY\n"), "{}", o.stdout);
    for (file, secret) in [("explain-secret-not-set", "EXPLAIN_KEY_NOT_SET"), ("explain-secret-too-short", "EXPLAIN_KEY_SHORT")] {
        let path = format!("configs/bad/{file}.json");
        let o = run(&["check", &path, "--secrets-dir", "secrets"]);
        assert_eq!(o.code, 1, "{file}: {}", o.stdout);
        assert_eq!(
            o.stdout,
            format!(
                "error: explain_secret\n  problem: the Worker secret this names is not set or shorter than 16 characters\n  fix:     put a long random value into the secret of that name (`npx wrangler secret put <name>`), or remove explain_secret\n{path}: invalid\n"
            )
        );
        assert!(!o.stdout.contains(secret), "the error names the field, not the secret: {}", o.stdout);
        // Without the secrets, nothing is read: valid, and said so.
        let o = run(&["check", &path]);
        assert_eq!(o.code, 0, "{file}: {}", o.stdout);
        assert!(o.stdout.contains("secrets not checked: pass --secrets-dir"), "{file}");
    }
}

#[test]
fn closed_stdout_is_no_panic() {
    // `edge-sts check … | head`: the reader is gone before the CLI writes. The pipe's read end is
    // closed before the process starts, so every write fails with EPIPE.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_edge-sts"))
        .args(["check", "configs/edge-sts.json"])
        .current_dir(fixtures())
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(141), "{stderr}");
}

#[test]
fn check_without_clouds() {
    // The downstream-only Worker's rule, for `scripts/build.sh downstream`: the first cloud
    // target by name is refused, in that Worker's words; a configuration without one passes.
    let o = run(&["check", "configs/clouds.json", "--without-clouds"]);
    assert_eq!(o.code, 1, "{}", o.stdout);
    assert!(
        o.stdout.starts_with("error: targets.s3-file.aws\n  problem: this Worker was built without the `clouds` feature: it mints edge-sts's own tokens only\n  fix:     rebuild with the default features (`scripts/build.sh`), or remove the cloud block\n"),
        "{}",
        o.stdout
    );
    let o = run(&["check", "configs/clouds.json"]);
    assert_eq!(o.code, 0, "valid with the clouds: {}", o.stdout);
    assert!(
        o.stdout.contains("\n  s3-reader: cloud aws, mode brokered (edge-sts calls the cloud and answers with its credentials)\n"),
        "the policy names each cloud target's mode: {}",
        o.stdout
    );
    assert!(
        o.stdout.contains("\n  s3-file: cloud aws, mode assertion (the caller gets the assertion; its SDK calls the cloud"),
        "{}",
        o.stdout
    );
    let o = run(&["check", "configs/edge-sts.json", "--without-clouds"]);
    assert_eq!(o.code, 0, "{}", o.stdout);
}

// ---- decode -------------------------------------------------------------------------------------

#[test]
fn decode() {
    let mut log = String::new();
    let claims = with(subject_claims("orders-service"), json!({"nbf": NOW - 5, "auth_time": NOW - 3600}));
    let token = mint("keys/issuer-es256.json", &claims);
    let now = (NOW + 10).to_string();
    step(&mut log, &["decode", &token, "--now", &now], None, &[("ES256 TOKEN", &token)]);
    step(&mut log, &["decode", "-", "--now", &now], Some(&format!("{token}\n")), &[]);
    let none = unsigned(&json!({"alg": "none"}), &json!({"iss": ISS, "exp": NOW + 60}));
    step(&mut log, &["decode", &none, "--now", &now], None, &[("alg none TOKEN", &none)]);
    step(&mut log, &["decode", "a.b.c.d.e"], None, &[]);
    step(&mut log, &["decode", "not-a-token"], None, &[]);
    step(&mut log, &["decode", "e30=.e30.c2ln"], None, &[]);
    golden("decode", &log);
}

// ---- mint ---------------------------------------------------------------------------------------

#[test]
fn mint_tokens() {
    let mut log = String::new();
    let claims = json!({"iss": ISS, "aud": "edge-sts", "typ": "Bearer", "azp": "orders-service"}).to_string();
    // ECDSA (RFC 6979) and RSA PKCS#1 v1.5 signatures are deterministic: the tokens are golden.
    for key in ["keys/issuer-es256.json", "keys/issuer-rs256.json", "keys/issuer-eddsa.json"] {
        step(&mut log, &["mint", "--key", key, "--claims", &claims, "--now", &NOW.to_string()], None, &[]);
    }
    step(
        &mut log,
        &["mint", "--key", "keys/issuer-es256.json", "--claims", "-", "--lifetime", "60", "--now", &NOW.to_string()],
        Some(&claims),
        &[],
    );
    let dir = tmpdir("mint");
    let f = dir.join("claims.json");
    std::fs::write(&f, json!({"iss": ISS, "exp": NOW + 5, "iat": NOW - 5}).to_string()).unwrap();
    let at = format!("@{}", f.display());
    step(&mut log, &["mint", "--key", "keys/issuer-es256.json", "--claims", &at, "--now", &NOW.to_string()], None, &[("@FILE", &at)]);
    step(&mut log, &["mint", "--key", "keys/issuer-es256.json", "--claims", "[1]"], None, &[]);
    step(&mut log, &["mint", "--key", "keys/issuer-jwks.json", "--claims", "{}"], None, &[]);
    step(&mut log, &["mint", "--key", "keys/nope.json", "--claims", "{}"], None, &[]);
    golden("mint", &log);
    let _ = std::fs::remove_dir_all(dir);

    // PS256 (randomised) through ring: verifies with the pure-Rust backend.
    let dir = tmpdir("mint-ps");
    let o = run(&["keys", "generate", "--alg", "PS256", "--secret", "X"]);
    let key = SigningKey::from_jwk_json(o.stdout.trim()).unwrap();
    std::fs::write(dir.join("k.json"), &o.stdout).unwrap();
    std::fs::write(dir.join("jwks.json"), json!({"keys": [key.public.to_public_jwk()]}).to_string()).unwrap();
    let t1 = mint(dir.join("k.json").to_str().unwrap(), &subject_claims("svc"));
    let t2 = mint(dir.join("k.json").to_str().unwrap(), &subject_claims("svc"));
    assert_ne!(t1, t2, "PSS is randomised");
    for t in [t1, t2] {
        let v = run(&["verify", &t, "--jwks", dir.join("jwks.json").to_str().unwrap(), "--now", &NOW.to_string()]);
        assert_eq!(v.stdout, "ok\n", "{}", v.stderr);
    }
    let _ = std::fs::remove_dir_all(dir);
}

// ---- verify -------------------------------------------------------------------------------------

#[test]
fn verify_with_jwks_file() {
    let mut log = String::new();
    let now = (NOW + 10).to_string();
    let base = subject_claims("orders-service");
    let es = mint("keys/issuer-es256.json", &base);
    let rs = mint("keys/issuer-rs256.json", &base);
    let ed = mint("keys/issuer-eddsa.json", &base);
    let jw = "keys/issuer-jwks.json";
    let aud = ["--audience", "edge-sts"];
    let mut case = |label: &str, token: &str, extra: &[&str], stdin: Option<&str>| {
        let mut args = vec!["verify", token, "--jwks", jw, "--issuer", ISS, "--now", &now];
        args.extend_from_slice(extra);
        step(&mut log, &args, stdin, &[(label, token)])
    };
    assert_eq!(case("ES256 TOKEN", &es, &aud, None).code, 0);
    assert_eq!(case("RS256 TOKEN", &rs, &aud, None).code, 0);
    assert_eq!(case("EdDSA TOKEN", &ed, &aud, None).code, 0);
    case("-", "-", &aud, Some(&es));
    case("ES256 TOKEN", &es, &[], None);
    let o = case("ES256 TOKEN", &es, &["--audience", "orders"], None);
    assert_eq!((o.code, o.stdout.as_str()), (1, "invalid: claims.aud: subject token audience is not accepted\n"));
    case("ES256 TOKEN", &es, &["--alg", "RS256", "--alg", "EdDSA"], None);
    case("ES256 TOKEN", &es, &["--require-claim", "email"], None);
    case("ES256 TOKEN", &es, &["--expected-typ", "ID"], None);

    let at = |claims: Value| mint("keys/issuer-es256.json", &claims);
    case("EXPIRED TOKEN", &mint_at("keys/issuer-es256.json", &base, NOW - 400), &[], None);
    case("NBF+120 TOKEN", &at(with(base.clone(), json!({"nbf": NOW + 120}))), &[], None);
    case("IAT+120 TOKEN", &at(with(base.clone(), json!({"iat": NOW + 120}))), &[], None);
    case("2H TOKEN", &at(with(base.clone(), json!({"exp": NOW + 7200}))), &[], None);
    case("TYP=ID TOKEN", &at(with(base.clone(), json!({"typ": "ID"}))), &[], None);
    case("NO-TYP TOKEN", &at(with(base.clone(), json!({"typ": null}))), &["--no-typ-check"], None);
    case("NO-CLIENT TOKEN", &at(with(base.clone(), json!({"azp": null, "client_id": null}))), &[], None);
    let user = at(with(base.clone(), json!({"client_id": null, "preferred_username": "alice", "sid": "s1"})));
    let o = case("USER TOKEN", &user, &[], None);
    assert_eq!(
        (o.code, o.stdout.as_str()),
        (1, "invalid: claims.not_service_account: subject token is not a service-account (client credentials) token\n")
    );
    case("PRE-26 SERVICE-ACCOUNT TOKEN", &at(with(base.clone(), json!({"client_id": null, "clientId": "orders-service"}))), &[], None);
    // A user's token whose client id a mapper writes: its username and session give it away.
    let mapped = at(with(base.clone(), json!({"preferred_username": "alice", "sid": "s1"})));
    let o = case("MAPPED-CLIENT-ID USER TOKEN", &mapped, &[], None);
    assert_eq!(
        (o.code, o.stdout.as_str()),
        (1, "invalid: claims.not_service_account: subject token is not a service-account (client credentials) token\n")
    );
    // Bound to a key (DPoP): refused, whatever else holds.
    let bound = at(with(base.clone(), json!({"cnf": {"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}})));
    let o = case("DPOP-BOUND TOKEN", &bound, &[], None);
    assert_eq!(
        (o.code, o.stdout.as_str()),
        (1, "invalid: claims.sender_constrained: subject token is bound to a key (cnf); bound tokens are not exchanged\n")
    );
    let no_sub = at(with(base.clone(), json!({"sub": null})));
    assert_eq!(case("NO-SUB TOKEN", &no_sub, &[], None).code, 1);
    assert_eq!(case("NO-SUB TOKEN", &no_sub, &["--allow-missing-sub"], None).code, 0);
    case("JTI-NUMBER TOKEN", &at(with(base.clone(), json!({"jti": 7}))), &[], None);
    case("CONFLICT TOKEN", &at(with(base.clone(), json!({"clientId": "someone-else"}))), &[], None);
    case("OTHER-ISS TOKEN", &at(with(base.clone(), json!({"iss": "https://kc.test/realms/other"}))), &[], None);
    case("UNKNOWN-KID TOKEN", &mint("keys/stranger-es256.json", &base), &[], None);
    case(
        "TAMPERED TOKEN",
        &tamper(
            &es,
            &with(
                base.clone(),
                json!({"client_id": "admin", "azp": "admin", "preferred_username": "service-account-admin", "iat": NOW, "exp": NOW + 300}),
            ),
        ),
        &[],
        None,
    );
    case("ALG=none TOKEN", &unsigned(&json!({"alg": "none"}), &base), &[], None);
    case("JKU TOKEN", &unsigned(&json!({"alg": "ES256", "jku": "https://evil.test/jwks"}), &base), &[], None);
    case("RS256-AS-PS256 TOKEN", &unsigned(&json!({"alg": "PS256", "kid": "kc-rs256"}), &base), &[], None);
    case("JWE", "a.b.c.d.e", &[], None);
    case("GARBAGE", "garbage", &[], None);
    // usage problems: exit 2
    step(&mut log, &["verify", &es, "--jwks", "keys/nope.json"], None, &[("ES256 TOKEN", &es)]);
    step(&mut log, &["verify", &es], None, &[("ES256 TOKEN", &es)]);
    step(&mut log, &["verify", &es, "--jwks", jw, "--leeway", "301"], None, &[("ES256 TOKEN", &es)]);
    golden("verify", &log);
}

#[test]
fn verify_over_http() {
    let jwks = public_jwks();
    let port = serve(|port| {
        let iss = format!("http://127.0.0.1:{port}/realms/t");
        let wrong = format!("http://127.0.0.1:{port}/realms/wrong");
        vec![
            route("/certs", 200, &[("content-type", "application/json"), ("cache-control", "max-age=60")], jwks.clone()),
            route(
                "/realms/t/.well-known/openid-configuration",
                200,
                &[],
                json!({"issuer": iss, "jwks_uri": format!("{iss}/certs")}).to_string(),
            ),
            route("/realms/t/certs", 200, &[], jwks.clone()),
            route(
                "/realms/wrong/.well-known/openid-configuration",
                200,
                &[],
                json!({"issuer": iss, "jwks_uri": format!("{wrong}/certs")}).to_string(),
            ),
            route(
                "/realms/https-only/.well-known/openid-configuration",
                200,
                &[],
                json!({"issuer": format!("http://127.0.0.1:{port}/realms/https-only"), "jwks_uri": "http://kc.test/certs"}).to_string(),
            ),
            route("/redirect", 302, &[("location", "/certs")], ""),
            route("/error", 500, &[], "boom"),
            route("/html", 200, &[("content-type", "text/html")], "<html>login</html>"),
            route("/big", 200, &[], vec![b' '; 70_000]),
        ]
    });
    let host = format!("127.0.0.1:{port}");
    let url = |p: &str| format!("http://{host}{p}");
    let now = (NOW + 10).to_string();
    let claims = |iss: &str| with(subject_claims("orders-service"), json!({"iss": iss}));
    let t = mint("keys/issuer-es256.json", &claims(&url("/realms/t")));
    let t_other = mint("keys/issuer-es256.json", &claims(&url("/realms/wrong")));
    let t_https = mint("keys/issuer-es256.json", &claims(&url("/realms/https-only")));
    let mut log = String::new();
    let names: [(&str, &str); 3] = [("TOKEN", &t), ("TOKEN FROM /realms/wrong", &t_other), ("TOKEN FROM /realms/https-only", &t_https)];
    let mut go = |args: &[&str]| {
        let mut a = vec!["verify"];
        a.extend_from_slice(args);
        a.extend_from_slice(&["--now", &now]);
        step(&mut log, &a, None, &names)
    };
    let certs = url("/certs");
    let issuer = url("/realms/t");
    assert_eq!(go(&[&t, "--jwks-url", &certs, "--allow-http-loopback", "--audience", "edge-sts"]).code, 0);
    assert_eq!(go(&[&t, "--issuer", &issuer, "--allow-http-loopback"]).code, 0);
    go(&[&t, "--jwks-url", &certs]); // http refused without the flag: usage error
    go(&[&t, "--issuer", &issuer]);
    go(&[&t, "--jwks-url", &url("/redirect"), "--allow-http-loopback"]);
    go(&[&t, "--jwks-url", &url("/error"), "--allow-http-loopback"]);
    go(&[&t, "--jwks-url", &url("/html"), "--allow-http-loopback"]);
    go(&[&t, "--jwks-url", &url("/big"), "--allow-http-loopback"]);
    go(&[&t, "--jwks-url", &url("/missing"), "--allow-http-loopback"]);
    go(&[&t_other, "--issuer", &url("/realms/wrong"), "--allow-http-loopback"]);
    go(&[&t_https, "--issuer", &url("/realms/https-only"), "--allow-http-loopback"]);
    go(&[&t, "--issuer", &url("/realms/wrong"), "--allow-http-loopback"]); // iss differs: no fetch at all
                                                                           // a closed port
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let o = run(&["verify", &t, "--jwks-url", &format!("http://127.0.0.1:{closed}/certs"), "--allow-http-loopback", "--now", &now]);
    assert_eq!(o.stdout, "invalid: key.unavailable: the issuer's keys are temporarily unavailable (network error)\n");
    golden("verify-http", &log.replace(&host, "127.0.0.1:<PORT>"));
}

// ---- explain ------------------------------------------------------------------------------------

#[test]
fn explain() {
    let mut log = String::new();
    let now = (NOW + 10).to_string();
    let base = subject_claims("orders-service");
    let orders = mint("keys/issuer-es256.json", &base);
    // Keycloak before 26 spells it clientId.
    let batch = mint("keys/issuer-rs256.json", &with(subject_claims("batch-7"), json!({"client_id": null, "clientId": "batch-7"})));
    let stranger = mint("keys/issuer-eddsa.json", &subject_claims("stranger-service"));
    let partner = mint(
        "keys/issuer-es256.json",
        // That realm's app-token rule: `gty` marks the token, `azp` names the client; no `sub` needed.
        &json!({"iss": "https://kc.test/realms/partners", "aud": "edge-sts", "azp": "partner-eu-sync", "gty": "client-credentials", "tenant_id": "p"}),
    );
    let names: Vec<(&str, &str)> =
        vec![("orders-service TOKEN", &orders), ("batch-7 TOKEN", &batch), ("stranger TOKEN", &stranger), ("partner TOKEN", &partner)];
    let mut go = |token: &str, extra: &[&str], label: Option<&str>| {
        let mut a = vec!["explain", "configs/edge-sts.json", "--token", token, "--jwks", "keys/issuer-jwks.json", "--now", &now];
        a.extend_from_slice(extra);
        let mut names = names.clone();
        if let Some(l) = label {
            names.push((l, token));
        }
        step(&mut log, &a, None, &names)
    };
    assert_eq!(go(&orders, &["--secrets-dir", "secrets"], None).code, 0);
    go(&orders, &["--audience", "billing", "--scope", "orders:read billing:read orders:read"], None);
    go(&orders, &["--resource", "https://billing.test", "--audience", "orders", "--scope", "orders:read"], None);
    assert_eq!(go(&orders, &["--audience", "orders", "--audience", "billing", "--scope", "orders:write orders:read"], None).code, 1);
    go(&orders, &["--scope", "orders:admin"], None);
    go(&orders, &["--audience", "entra"], None);
    go(&orders, &["--audience", "shipping"], None);
    go(&batch, &["--audience", "entra", "--secrets-dir", "secrets"], None);
    go(&batch, &[], None);
    go(&batch, &["--audience", "billing", "--audience", "entra"], None);
    go(&stranger, &[], None);
    go(&partner, &[], None);
    let expired = mint_at("keys/issuer-es256.json", &base, NOW - 400);
    go(&expired, &[], Some("EXPIRED TOKEN"));
    let no_tenant = mint("keys/issuer-es256.json", &with(base.clone(), json!({"tenant_id": null})));
    go(&no_tenant, &[], Some("NO-TENANT TOKEN"));
    let forged = tamper(
        &orders,
        &with(
            base.clone(),
            json!({"client_id": "batch-1", "azp": "batch-1", "preferred_username": "service-account-batch-1", "iat": NOW, "exp": NOW + 300}),
        ),
    );
    go(&forged, &[], Some("FORGED TOKEN"));
    let unknown = mint("keys/stranger-es256.json", &base);
    go(&unknown, &[], Some("UNKNOWN-KID TOKEN"));
    let user = mint("keys/issuer-es256.json", &with(base.clone(), json!({"client_id": null, "preferred_username": "alice"})));
    assert_eq!(go(&user, &[], Some("USER TOKEN")).code, 1);
    let mapped = mint("keys/issuer-es256.json", &with(base.clone(), json!({"preferred_username": "alice", "sid": "s1"})));
    let o = go(&mapped, &[], Some("MAPPED-CLIENT-ID USER TOKEN"));
    assert_eq!(o.code, 1);
    assert!(o.stdout.contains("claims.not_service_account"), "{}", o.stdout);
    let bound =
        mint("keys/issuer-es256.json", &with(base.clone(), json!({"cnf": {"x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}})));
    let o = go(&bound, &[], Some("CERTIFICATE-BOUND TOKEN"));
    assert_eq!(o.code, 1);
    assert!(o.stdout.contains("claims.sender_constrained"), "{}", o.stdout);
    let partner_user = mint(
        "keys/issuer-es256.json",
        &json!({"iss": "https://kc.test/realms/partners", "aud": "edge-sts", "azp": "partner-eu-sync", "gty": "password", "tenant_id": "p"}),
    );
    assert_eq!(go(&partner_user, &[], Some("partner USER TOKEN")).code, 1);
    let other = mint("keys/issuer-es256.json", &with(base.clone(), json!({"iss": "https://kc.test/realms/other"})));
    go(&other, &[], Some("OTHER-ISSUER TOKEN"));
    go("garbage", &[], None);

    // offline: no --jwks, signature skipped and labelled
    let late = (NOW + 330).to_string(); // past exp, within the 60 s leeway
    let forged_args = ["explain", "configs/edge-sts.json", "--token", &forged, "--skip-signature", "--now", &now, "--audience", "billing"];
    step(&mut log, &forged_args, None, &[("FORGED TOKEN", &forged)]);
    step(
        &mut log,
        &["explain", "configs/edge-sts.json", "--token", &orders, "--skip-signature", "--now", &late],
        None,
        &[("orders-service TOKEN", &orders)],
    );
    step(
        &mut log,
        &["explain", "configs/edge-sts.json", "--token", "-", "--skip-signature", "--now", &now, "--json", "--audience", "billing"],
        Some(&orders),
        &[],
    );
    step(
        &mut log,
        &["explain", "configs/bad/mode-unknown.json", "--token", &orders, "--skip-signature"],
        None,
        &[("orders-service TOKEN", &orders)],
    );
    golden("explain", &log);
}

/// `verify` and `explain` refuse an ambiguous key set, as the Worker does.
#[test]
fn ambiguous_key_sets_are_refused() {
    let token = mint("keys/issuer-rs256.json", &subject_claims("orders-service"));
    let jwks: Value = serde_json::from_str(&public_jwks()).unwrap();
    let rs = jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == "kc-rs256").unwrap().clone();
    // A second RSA key under the same kid (the modulus with a low bit flipped; never signs).
    let mut decoy = rs.clone();
    let mut n = b64::decode(rs["n"].as_str().unwrap()).unwrap();
    let last = n.len() - 1;
    n[last] ^= 0x02;
    decoy["n"] = json!(b64::encode(&n));
    let enc = json!({"kty": "RSA", "use": "enc", "alg": "RSA-OAEP", "kid": "kc-rs256", "e": "AQAB", "n": decoy["n"]});
    let dir = tmpdir("ambiguous");
    let file = |name: &str, keys: Vec<Value>| {
        let p = dir.join(name);
        std::fs::write(&p, json!({ "keys": keys }).to_string()).unwrap();
        p.to_str().unwrap().to_owned()
    };
    let now = (NOW + 10).to_string();
    for keys in [vec![decoy.clone(), rs.clone()], vec![rs.clone(), decoy.clone()]] {
        let f = file("dup.json", keys);
        let o = run(&["verify", &token, "--jwks", &f, "--now", &now]);
        assert_eq!((o.code, o.stdout.as_str()), (1, "invalid: key.ambiguous: subject token's key is ambiguous: several keys match\n"));
        let o = run(&["explain", "configs/edge-sts.json", "--token", &token, "--jwks", &f, "--now", &now]);
        assert_eq!(o.code, 1);
        assert!(o.stdout.contains("key.ambiguous"), "{}", o.stdout);
    }
    // Keycloak's encryption key sharing the signing kid is no ambiguity.
    let f = file("sig-enc.json", vec![enc, rs]);
    let o = run(&["verify", &token, "--jwks", &f, "--now", &now]);
    assert_eq!((o.code, o.stdout.as_str()), (0, "ok\n"), "{}", o.stderr);
    let _ = std::fs::remove_dir_all(dir);
}
