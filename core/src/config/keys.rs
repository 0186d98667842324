//! `signing_keys`: references to edge-sts's own signing keys (a Worker secret holding a private
//! JWK, or a public JWK for keys that only verify). [`build_key_ring`] resolves them.
use super::{cerr, Config, ConfigError};
use crate::jose::signing::{KeyRing, KeyStatus, SigningKey};
use serde::Deserialize;
use serde_json::{Map, Value};

#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub(super) struct RawKeyRef {
    /// Name of the Worker secret that holds one private JWK.
    #[serde(default)]
    secret: Option<String>,
    /// A public JWK (retired keys need only this).
    #[serde(default)]
    public_jwk: Option<Map<String, Value>>,
    status: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct KeyRef {
    pub secret: Option<String>,
    pub public_jwk: Option<Map<String, Value>>,
    pub status: KeyStatus,
}

/// JWK members that only a private key has (RFC 7518 §6.2.2, §6.3.2, §6.4).
const PRIVATE_MEMBERS: [&str; 7] = ["d", "p", "q", "dp", "dq", "qi", "k"];
/// The longest secret name accepted.
pub const MAX_SECRET_NAME_LEN: usize = 64;

/// Whether `name` is a secret's name: an environment-variable-style name, `A`-`Z`, `0`-`9` and
/// `_`, starting with a letter, at most [`MAX_SECRET_NAME_LEN`] (what every Worker secret in the
/// docs looks like: `SIGNING_KEY_ES256_2026_01`, `EXPLAIN_KEY`). A value pasted in place of the
/// name is refused: a JWK or PEM has other characters, `openssl rand -hex` and UUIDs are
/// lowercase, base64 and base64url mix cases (or use `+ / = -`), and 16 or more characters of
/// hex digits alone (an uppercase hex value) are refused as a value too.
pub fn is_secret_name(name: &str) -> bool {
    let b = name.as_bytes();
    let shaped = !b.is_empty()
        && b.len() <= MAX_SECRET_NAME_LEN
        && b[0].is_ascii_uppercase()
        && b.iter().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'_');
    let hex_value = b.len() >= 16 && b.iter().all(u8::is_ascii_hexdigit);
    shaped && !hex_value
}

/// A secret is named, never inlined ([`is_secret_name`]). The configuration may be embedded in
/// the Worker bundle and is echoed by `/healthz` and the log when invalid, so a value pasted in
/// place of its name must fail the load, and no error repeats it: errors name the field.
pub(super) fn check_secret_name(field: &str, name: &str) -> Result<(), ConfigError> {
    if is_secret_name(name) {
        return Ok(());
    }
    Err(cerr(
        field,
        format!("not a secret name (`A`-`Z`, `0`-`9` and `_`, starting with a letter, at most {MAX_SECRET_NAME_LEN}; not a value)"),
        "name the Worker secret that holds the value, e.g. SIGNING_KEY_1 (`npx wrangler secret put SIGNING_KEY_1`), never the value itself",
    ))
}

pub(super) fn load(raw: Vec<RawKeyRef>, dev: bool) -> Result<Vec<KeyRef>, ConfigError> {
    let mut key_refs = Vec::new();
    for (i, k) in raw.into_iter().enumerate() {
        let f = |n: &str| format!("signing_keys[{i}].{n}");
        let status = KeyStatus::parse(&k.status).ok_or_else(|| cerr(f("status"), "unknown status", "use active, next or retired"))?;
        if let Some(name) = &k.secret {
            check_secret_name(&f("secret"), name)?;
        }
        if k.public_jwk.as_ref().is_some_and(|m| PRIVATE_MEMBERS.iter().any(|p| m.contains_key(*p))) {
            return Err(cerr(
                f("public_jwk"),
                "holds private key material",
                "keep the private JWK in a Worker secret named by `secret`; publish only its public members here",
            ));
        }
        match (&k.secret, &k.public_jwk, status) {
            (Some(_), None, _) | (None, Some(_), KeyStatus::Retired | KeyStatus::Next) => {}
            _ => {
                return Err(cerr(
                    f("secret"),
                    "a key needs either `secret` (active/next/retired) or `public_jwk` (next/retired)",
                    "name the Worker secret holding the private JWK",
                ))
            }
        }
        key_refs.push(KeyRef { secret: k.secret, public_jwk: k.public_jwk, status });
    }
    if key_refs.is_empty() && !dev {
        return Err(cerr(
            "signing_keys",
            "no signing key",
            "generate one (`edge-sts keys generate`), `wrangler secret put SIGNING_KEY_1`, and reference it here",
        ));
    }
    Ok(key_refs)
}

/// Builds the key ring from key references and a secret lookup (the Worker's env, or the
/// CLI's `--secrets-dir`).
pub fn build_key_ring(cfg: &Config, secret: impl Fn(&str) -> Option<String>) -> Result<KeyRing, ConfigError> {
    let mut ring = KeyRing::default();
    for (i, r) in cfg.key_refs.iter().enumerate() {
        let field = format!("signing_keys[{i}]");
        let private = match &r.secret {
            Some(name) => {
                // The error names the field, never the string in it (the log and `/healthz`
                // show errors, and a name may be a value the name check could not tell).
                let text = secret(name).ok_or_else(|| {
                    cerr(
                        format!("{field}.secret"),
                        "the Worker secret this names is not set",
                        "put the private JWK into the secret of that name: `npx wrangler secret put <name> < key.json`",
                    )
                })?;
                Some(SigningKey::from_jwk_json(&text).map_err(|e| cerr(&field, e, "use a private JWK with kty, alg, kid and d"))?)
            }
            None => None,
        };
        let public = match (&private, &r.public_jwk) {
            (Some(k), _) => k.public.clone(),
            (None, Some(m)) => {
                let (key, alg) = crate::jose::jwk::parse_public(m, false).map_err(|e| cerr(&field, e.to_string(), "use a public JWK"))?;
                let kid = m.get("kid").and_then(Value::as_str).map(str::to_owned);
                crate::jose::jwk::VerifyKey::new(kid.or_else(|| Some(key.thumbprint())), alg, key)
            }
            (None, None) => return Err(cerr(&field, "no key material", "set `secret` or `public_jwk`")),
        };
        match (r.status, private) {
            (KeyStatus::Active, Some(k)) => {
                if ring.active_for(k.alg()).is_some() {
                    return Err(cerr(&field, format!("a second active {} key", k.alg()), "mark one of them `next` or `retired`"));
                }
                ring.active.push(k)
            }
            (KeyStatus::Next, _) => ring.next.push(public),
            (KeyStatus::Retired, _) => ring.retired.push(public),
            (KeyStatus::Active, None) => return Err(cerr(&field, "an active key needs its private part", "set `secret`")),
        }
    }
    let mut kids: Vec<&str> =
        ring.active.iter().map(|k| k.kid()).chain(ring.next.iter().chain(ring.retired.iter()).filter_map(|k| k.kid.as_deref())).collect();
    kids.sort_unstable();
    if kids.windows(2).any(|w| w[0] == w[1]) {
        return Err(cerr("signing_keys", "two keys share a kid", "give every key its own kid"));
    }
    for t in cfg.policy.targets.values() {
        if ring.active_for(t.signing_alg).is_none() && !cfg.dev {
            return Err(cerr(
                format!("targets.{}.signing_alg", t.name),
                format!("no active {} signing key", t.signing_alg),
                "add an active key of that algorithm to signing_keys",
            ));
        }
    }
    Ok(ring)
}
