//! `edge-sts keys generate` and `edge-sts keys rotate`: edge-sts's own signing keys, in the
//! form `wrangler secret put` takes (one private JWK on one line).
//!
//! Private keys go to standard output (generate; rotate with --show-private) or to a 0600 file
//! (rotate --key-out), never to standard error.
use crate::backend::CliCrypto;
use crate::check::{eprint_config_error, secret_lookup};
use crate::util::{block_on, fail, now_or, read_file, ymd, CliError, Result};
use clap::{Args, Subcommand};
use edge_sts_core::config;
use edge_sts_core::jose::alg::{Alg, Family};
use edge_sts_core::jose::b64;
use edge_sts_core::jose::crypto::{self, SignatureBackend};
use edge_sts_core::jose::jwk;
use edge_sts_core::jose::signing::SigningKey;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use rand_core::{OsRng, RngCore};
use serde_json::{json, Map, Value};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum KeysCmd {
    /// Generate one private signing JWK (standard output) and show its config entry (stderr)
    Generate(GenerateArgs),
    /// Roll the signing keys of one algorithm: active -> retired, next -> active, new -> next
    Rotate(RotateArgs),
}

#[derive(Debug, Args)]
pub struct KeyOpts {
    /// Algorithm: ES256, ES384, RS256, PS256, EdDSA (also RS384/512, PS384/512)
    #[arg(long, value_name = "ALG")]
    pub alg: String,
    /// Key id (default: the RFC 7638 thumbprint)
    #[arg(long, value_name = "K")]
    pub kid: Option<String>,
    /// RSA modulus size
    #[arg(long, default_value_t = 2048, value_parser = parse_bits, value_name = "2048|3072|4096")]
    pub bits: usize,
    /// Worker secret name (default: SIGNING_KEY_<ALG>_<YYYY_MM_DD>)
    #[arg(long, value_name = "NAME")]
    pub secret: Option<String>,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    #[command(flatten)]
    pub key: KeyOpts,
    /// Status for the suggested signing_keys entry
    #[arg(long, default_value = "next", value_parser = ["active", "next"])]
    pub status: String,
}

#[derive(Debug, Args)]
pub struct RotateArgs {
    /// The configuration (EDGE_STS_CONFIG as a JSON file)
    #[arg(long, value_name = "FILE")]
    pub config: String,
    #[command(flatten)]
    pub key: KeyOpts,
    /// Directory of secret files named like the secrets: tells each key's algorithm, and lets
    /// the retired key become a `public_jwk` entry so its secret can be deleted
    #[arg(long, value_name = "DIR")]
    pub secrets_dir: Option<String>,
    /// Write the new private JWK to this file (created with mode 0600; must not exist)
    #[arg(long, value_name = "FILE")]
    pub key_out: Option<String>,
    /// Print the new private JWK on standard output (default: its public JWK)
    #[arg(long)]
    pub show_private: bool,
    /// Write the rewritten signing_keys array here instead of standard error
    #[arg(long, value_name = "FILE")]
    pub out: Option<String>,
}

pub fn run(cmd: KeysCmd) -> Result<ExitCode> {
    match cmd {
        KeysCmd::Generate(a) => generate(a),
        KeysCmd::Rotate(a) => rotate(a),
    }
}

fn parse_bits(s: &str) -> std::result::Result<usize, String> {
    match s {
        "2048" | "3072" | "4096" => Ok(s.parse().unwrap_or(2048)),
        _ => Err("use 2048, 3072 or 4096".into()),
    }
}

fn parse_alg(s: &str) -> Result<Alg> {
    Alg::parse(s).ok_or_else(|| CliError(format!("--alg `{s}`: use ES256, ES384, RS256, PS256 or EdDSA (or RS384/512, PS384/512)")))
}

fn default_secret(alg: Alg) -> String {
    let (y, m, d) = ymd(now_or(None));
    format!("SIGNING_KEY_{}_{y:04}_{m:02}_{d:02}", alg.as_str().to_ascii_uppercase())
}

/// The core's rule for a secret's name (`config::is_secret_name`): the configuration refuses
/// any other, so a key stored under one could never be named there.
fn check_secret_name(name: &str) -> Result<()> {
    if !edge_sts_core::config::is_secret_name(name) {
        return fail(
            "--secret: use `A`-`Z`, `0`-`9` and `_`, starting with a letter, at most 64 (a Worker secret name, e.g. SIGNING_KEY_1)",
        );
    }
    Ok(())
}

fn big(v: &rsa::BigUint) -> String {
    b64::encode(&v.to_bytes_be())
}

/// A fresh private JWK for `alg`, validated by the core (`SigningKey::from_jwk`) and checked
/// with one sign/verify round trip through the CLI backend.
pub fn new_key(alg: Alg, kid: Option<&str>, bits: usize) -> Result<SigningKey> {
    let mut m = Map::new();
    match alg.family() {
        Family::Ecdsa if alg == Alg::ES256 => {
            let sk = p256::SecretKey::random(&mut OsRng);
            let pt = sk.public_key().to_encoded_point(false);
            m.insert("kty".into(), json!("EC"));
            m.insert("crv".into(), json!("P-256"));
            m.insert("x".into(), json!(b64::encode(pt.x().ok_or(CliError("P-256 point".into()))?)));
            m.insert("y".into(), json!(b64::encode(pt.y().ok_or(CliError("P-256 point".into()))?)));
            m.insert("d".into(), json!(b64::encode(&sk.to_bytes())));
        }
        Family::Ecdsa => {
            let sk = p384::SecretKey::random(&mut OsRng);
            let pt = sk.public_key().to_encoded_point(false);
            m.insert("kty".into(), json!("EC"));
            m.insert("crv".into(), json!("P-384"));
            m.insert("x".into(), json!(b64::encode(pt.x().ok_or(CliError("P-384 point".into()))?)));
            m.insert("y".into(), json!(b64::encode(pt.y().ok_or(CliError("P-384 point".into()))?)));
            m.insert("d".into(), json!(b64::encode(&sk.to_bytes())));
        }
        Family::Ed25519 => {
            let mut seed = [0u8; 32];
            OsRng.fill_bytes(&mut seed);
            let kp = ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new(seed));
            m.insert("kty".into(), json!("OKP"));
            m.insert("crv".into(), json!("Ed25519"));
            m.insert("x".into(), json!(b64::encode(kp.pk.as_ref())));
            m.insert("d".into(), json!(b64::encode(&seed)));
        }
        Family::RsaPkcs1 | Family::RsaPss => {
            // Generation only: the `rsa` crate never signs here (RUSTSEC-2023-0071).
            use rsa::traits::{PrivateKeyParts, PublicKeyParts};
            let mut sk = rsa::RsaPrivateKey::new(&mut OsRng, bits).map_err(|e| CliError(format!("RSA key generation failed: {e}")))?;
            sk.precompute().map_err(|e| CliError(format!("RSA key generation failed: {e}")))?;
            let primes = sk.primes();
            let (Some(dp), Some(dq), Some(qi)) = (sk.dp(), sk.dq(), sk.crt_coefficient()) else {
                return fail("RSA key generation gave no CRT parameters");
            };
            m.insert("kty".into(), json!("RSA"));
            m.insert("n".into(), json!(big(sk.n())));
            m.insert("e".into(), json!(big(sk.e())));
            m.insert("d".into(), json!(big(sk.d())));
            m.insert("p".into(), json!(big(&primes[0])));
            m.insert("q".into(), json!(big(&primes[1])));
            m.insert("dp".into(), json!(big(dp)));
            m.insert("dq".into(), json!(big(dq)));
            m.insert("qi".into(), json!(big(&qi)));
        }
    }
    m.insert("alg".into(), json!(alg.as_str()));
    if let Some(k) = kid {
        if k.is_empty() {
            return fail("--kid must not be empty");
        }
        m.insert("kid".into(), json!(k));
    }
    let key = SigningKey::from_jwk(m).map_err(CliError)?;
    let probe = b"edge-sts keys self-test";
    let sig = block_on(CliCrypto.sign(&key, probe)).map_err(|e| CliError(e.to_string()))?;
    if !block_on(crypto::verify(&CliCrypto, &key.public, probe, &sig)).unwrap_or(false) {
        return fail("generated key failed its sign/verify self-test");
    }
    Ok(key)
}

fn private_line(key: &SigningKey) -> String {
    serde_json::to_string(&key.private_jwk).unwrap_or_default()
}

fn generate(a: GenerateArgs) -> Result<ExitCode> {
    let alg = parse_alg(&a.key.alg)?;
    let secret = a.key.secret.clone().unwrap_or_else(|| default_secret(alg));
    check_secret_name(&secret)?;
    let key = new_key(alg, a.key.kid.as_deref(), a.key.bits)?;
    println!("{}", private_line(&key));
    let mut e = std::io::stderr().lock();
    let _ = writeln!(e, "generated signing key: {alg}, kid {}", key.kid());
    if std::io::stdout().is_terminal() {
        let _ = writeln!(e, "warning: standard output is a terminal, so the private key above is on your screen");
    }
    let _ = writeln!(e, "store it as a Worker secret (the private JWK went to standard output only):");
    let _ = writeln!(e, "  npx wrangler secret put {secret} < key.json && shred -u key.json");
    let _ = writeln!(e, "signing_keys entry for EDGE_STS_CONFIG:");
    let _ = writeln!(e, "  {{ \"secret\": \"{secret}\", \"status\": \"{}\" }}", a.status);
    if a.status == "next" {
        let _ = writeln!(
            e,
            "(\"next\" publishes it before it signs; promote it with `edge-sts keys rotate`. Use --status active for the first {alg} key.)"
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The algorithm of one `signing_keys` entry: its `public_jwk`, else its secret's file, else an
/// algorithm named in the secret name (`SIGNING_KEY_ES256_2026_11`).
fn entry_alg(entry: &Map<String, Value>, secrets_dir: Option<&str>) -> Option<Alg> {
    if let Some(Value::Object(pj)) = entry.get("public_jwk") {
        return jwk::parse_public(pj, false).ok().map(|(_, alg)| alg);
    }
    let name = entry.get("secret")?.as_str()?;
    if let Some(text) = secrets_dir.and_then(|d| secret_lookup(d, name)) {
        if let Ok(k) = SigningKey::from_jwk_json(&text) {
            return Some(k.alg());
        }
    }
    name.split(['_', '-']).find_map(|part| Alg::ALL.into_iter().find(|a| a.as_str().eq_ignore_ascii_case(part)))
}

fn label(entry: &Map<String, Value>) -> String {
    match (entry.get("secret").and_then(Value::as_str), entry.get("public_jwk").and_then(|p| p.get("kid")).and_then(Value::as_str)) {
        (Some(s), _) => format!("secret {s}"),
        (None, Some(k)) => format!("public_jwk kid {k}"),
        (None, None) => "public_jwk".into(),
    }
}

fn write_private_file(path: &str, content: &str) -> Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(|e| CliError(format!("cannot create {path}: {e} (it must not exist yet)")))?;
    f.write_all(content.as_bytes()).and_then(|_| f.sync_all()).map_err(|e| CliError(format!("cannot write {path}: {e}")))
}

fn rotate(a: RotateArgs) -> Result<ExitCode> {
    let alg = parse_alg(&a.key.alg)?;
    if a.key_out.is_none() && !a.show_private {
        return fail("the new private key needs a destination: --key-out FILE (written 0600) or --show-private (standard output)");
    }
    if let Some(p) = &a.key_out {
        if std::path::Path::new(p).exists() {
            return fail(format!("--key-out {p} already exists; the new private key is only ever written to a new file"));
        }
    }
    let text = read_file(&a.config)?;
    // The configuration must load as the Worker loads it, before and after.
    if let Err(e) = config::load(&text) {
        eprint_config_error(&e);
        println!("{}: invalid; fix it before rotating", a.config);
        return Ok(ExitCode::from(1));
    }
    let mut doc: Value = serde_json::from_str(&text).map_err(|e| CliError(format!("{}: {e}", a.config)))?;
    let mut keys: Vec<Value> = doc.get("signing_keys").and_then(Value::as_array).cloned().unwrap_or_default();
    let dir = a.secrets_dir.as_deref();

    let mut active = None;
    let mut next = None;
    let mut names: Vec<String> = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        let Some(m) = k.as_object() else { continue };
        if let Some(s) = m.get("secret").and_then(Value::as_str) {
            names.push(s.to_owned());
        }
        let status = m.get("status").and_then(Value::as_str).unwrap_or("");
        if status == "retired" {
            continue;
        }
        let Some(entry_alg) = entry_alg(m, dir) else {
            return fail(format!(
                "cannot tell the algorithm of signing_keys[{i}] ({}): pass --secrets-dir, or name the secret with its algorithm (SIGNING_KEY_ES256_...)",
                label(m)
            ));
        };
        if entry_alg != alg {
            continue;
        }
        match status {
            "active" if active.is_none() => active = Some(i),
            "next" if next.is_none() => next = Some(i),
            _ => {}
        }
    }

    let secret = a.key.secret.clone().unwrap_or_else(|| default_secret(alg));
    check_secret_name(&secret)?;
    if names.contains(&secret) {
        return fail(format!("secret `{secret}` is already in signing_keys; pass another --secret"));
    }
    let key = new_key(alg, a.key.kid.as_deref(), a.key.bits)?;

    let mut log: Vec<String> = Vec::new();
    let mut deletable: Option<String> = None;
    let mut promoted: Option<String> = None;
    let mut retired_secret: Option<String> = None;
    if let Some(n) = next {
        if let Some(i) = active {
            let m = keys[i].as_object_mut().expect("checked above");
            let before = label(m);
            // With the old private key at hand, publish it as `public_jwk`: its secret is no
            // longer needed.
            let old =
                m.get("secret").and_then(Value::as_str).and_then(|s| dir.and_then(|d| secret_lookup(d, s)).map(|t| (s.to_owned(), t)));
            match old.map(|(s, t)| (s, SigningKey::from_jwk_json(&t))) {
                Some((s, Ok(k))) => {
                    *m = json!({"status": "retired", "public_jwk": k.public.to_public_jwk()}).as_object().cloned().expect("object");
                    log.push(format!("  signing_keys[{i}] {before}: active -> retired (now public_jwk kid {})", k.kid()));
                    deletable = Some(s);
                }
                _ => {
                    m.insert("status".into(), json!("retired"));
                    retired_secret = m.get("secret").and_then(Value::as_str).map(str::to_owned);
                    log.push(format!("  signing_keys[{i}] {before}: active -> retired"));
                }
            }
        }
        let m = keys[n].as_object_mut().expect("checked above");
        m.insert("status".into(), json!("active"));
        promoted = Some(label(m));
        log.push(format!("  signing_keys[{n}] {}: next -> active", label(m)));
    } else {
        log.push(format!("  no next {alg} key to promote: the current keys are unchanged"));
    }
    keys.push(json!({"secret": secret, "status": "next"}));
    log.push(format!("  signing_keys[{}] secret {secret}: new -> next (kid {})", keys.len() - 1, key.kid()));

    // Self-check: the rewritten configuration must still load (and, with secrets, build).
    doc.as_object_mut()
        .ok_or(CliError("configuration is not a JSON object".into()))?
        .insert("signing_keys".into(), Value::Array(keys.clone()));
    let new_text = serde_json::to_string(&doc).unwrap_or_default();
    let new_private = private_line(&key);
    let self_check = config::load(&new_text).and_then(|cfg| match dir {
        Some(d) => {
            config::build_key_ring(&cfg, |name| if name == secret { Some(new_private.clone()) } else { secret_lookup(d, name) }).map(|_| ())
        }
        None => Ok(()),
    });

    if let Some(path) = &a.key_out {
        write_private_file(path, &format!("{new_private}\n"))?;
    }
    if a.show_private {
        println!("{new_private}");
    } else {
        println!("{}", serde_json::to_string(&key.public.to_public_jwk()).unwrap_or_default());
    }
    let array = serde_json::to_string_pretty(&Value::Array(keys)).unwrap_or_default();
    if let Some(out) = &a.out {
        std::fs::write(out, format!("{array}\n")).map_err(|e| CliError(format!("cannot write {out}: {e}")))?;
    }

    let mut e = std::io::stderr().lock();
    let _ = writeln!(e, "rotating {alg} signing keys in {}:", a.config);
    for l in &log {
        let _ = writeln!(e, "{l}");
    }
    match &self_check {
        Ok(()) if dir.is_some() => {
            let _ = writeln!(e, "check: the rewritten configuration loads and its key ring builds");
        }
        Ok(()) => {
            let _ = writeln!(e, "check: the rewritten configuration loads (secrets not checked: pass --secrets-dir)");
        }
        Err(err) => {
            let _ = writeln!(e, "check: the rewritten configuration does NOT load: {err}");
        }
    }
    if let Some(p) = &promoted {
        let _ = writeln!(
            e,
            "note: promoting {p} assumes it has been published as `next` for at least 5 minutes plus the relying parties' own JWKS caching"
        );
    }
    let _ = writeln!(e, "next steps:");
    match &a.key_out {
        Some(p) => {
            let _ = writeln!(e, "  1. npx wrangler secret put {secret} < {p} && shred -u {p}");
        }
        None => {
            let _ = writeln!(e, "  1. npx wrangler secret put {secret}   (paste the private JWK printed on standard output)");
        }
    }
    match &a.out {
        Some(p) => {
            let _ = writeln!(e, "  2. replace signing_keys in EDGE_STS_CONFIG with the array in {p}, then deploy");
        }
        None => {
            let _ = writeln!(e, "  2. replace signing_keys in EDGE_STS_CONFIG with the array below, then deploy");
        }
    }
    let _ = writeln!(e, "  3. wait until relying parties refresh /.well-known/jwks.json (max-age 300 s plus their own caching) before the next rotation promotes {secret}");
    if promoted.is_some() {
        let _ = writeln!(e, "  4. remove the retired entry once the longest target lifetime_secs (plus clock leeway) has passed");
        if let Some(s) = &retired_secret {
            let _ = writeln!(e, "     and then its secret: npx wrangler secret delete {s}");
        }
    }
    if let Some(s) = deletable {
        let _ =
            writeln!(e, "     the retired key is now a public_jwk, so its secret can go after the deploy: npx wrangler secret delete {s}");
    }
    if a.out.is_none() {
        let _ = writeln!(e, "signing_keys:\n{array}");
    }
    Ok(if self_check.is_ok() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
