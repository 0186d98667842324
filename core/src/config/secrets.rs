//! The secrets a configuration names, resolved and checked the same way by the Worker (its env)
//! and `edge-sts check` (`--secrets-dir`): the signing keys ([`build_key_ring`]) and
//! `explain_secret`. Dev mode's ephemeral keys come from the caller's crypto ([`add_dev_keys`]):
//! the core has no randomness.
use super::keys::build_key_ring;
use super::{cerr, Config, ConfigError};
use crate::jose::alg::Alg;
use crate::jose::signing::{KeyRing, SigningKey};
use serde_json::{Map, Value};
use std::fmt;
use std::future::Future;

/// The shortest value the secret named by `explain_secret` may hold (bytes).
pub const EXPLAIN_SECRET_MIN_LEN: usize = 16;

/// Fails closed: a configured `explain_secret` whose secret is unset or shorter than
/// [`EXPLAIN_SECRET_MIN_LEN`] refuses the whole configuration (not a silent 401 per request).
pub fn check_explain_secret(cfg: &Config, secret: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
    let Some(name) = &cfg.explain_secret else { return Ok(()) };
    // The error names the field, never the string in it.
    match secret(name) {
        Some(v) if v.len() >= EXPLAIN_SECRET_MIN_LEN => Ok(()),
        _ => Err(cerr(
            "explain_secret",
            format!("the Worker secret this names is not set or shorter than {EXPLAIN_SECRET_MIN_LEN} characters"),
            "put a long random value into the secret of that name (`npx wrangler secret put <name>`), or remove explain_secret",
        )),
    }
}

/// Every secret the configuration names: the signing key ring, then `explain_secret`.
pub fn resolve_secrets(cfg: &Config, secret: impl Fn(&str) -> Option<String>) -> Result<KeyRing, ConfigError> {
    let ring = build_key_ring(cfg, &secret)?;
    check_explain_secret(cfg, &secret)?;
    Ok(ring)
}

/// Dev mode only: for every target algorithm without an active key, adds an ephemeral key made
/// by `generate` (the runtime's crypto; a private JWK). Returns the `(kid, alg)` of each key
/// added, for the caller to warn about. Outside dev mode it adds nothing.
pub async fn add_dev_keys<F, Fut, E>(cfg: &Config, ring: &mut KeyRing, mut generate: F) -> Result<Vec<(String, Alg)>, ConfigError>
where
    F: FnMut(Alg) -> Fut,
    Fut: Future<Output = Result<Map<String, Value>, E>>,
    E: fmt::Display,
{
    let mut added = Vec::new();
    if !cfg.dev {
        return Ok(added);
    }
    for alg in cfg.policy.targets.values().map(|t| t.signing_alg) {
        if ring.active_for(alg).is_none() {
            let jwk = generate(alg)
                .await
                .map_err(|e| cerr("signing_keys", format!("could not generate a dev {alg} key: {e}"), "configure a signing key"))?;
            let key = SigningKey::from_jwk(jwk).map_err(|e| cerr("signing_keys", e, "configure a signing key"))?;
            added.push((key.kid().to_owned(), alg));
            ring.active.push(key);
        }
    }
    Ok(added)
}
