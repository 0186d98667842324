//! Where a token's verification keys come from (a JWKS file, a JWKS URL, or an issuer's OIDC
//! discovery) and the signature check itself, with the exchange's selection rules and errors.
use crate::backend::CliCrypto;
use crate::http::UreqFetch;
use crate::util::{block_on, fail, read_file, Result};
use edge_sts_core::issuer::discovery::discovery_url;
use edge_sts_core::issuer::key_store::{CachePolicy, KeyError, KeySource, KeyStore};
use edge_sts_core::jose::crypto;
use edge_sts_core::jose::jwk::{JwksLimits, KeySet, VerifyKey};
use edge_sts_core::jose::token::UntrustedToken;
use edge_sts_core::wire::url::{is_loopback_http, url_allowed};
use edge_sts_core::Error;
use std::rc::Rc;

#[allow(clippy::large_enum_variant)] // one per run
pub enum Keys {
    /// A JWKS read from a file (no fetch).
    File { path: String, set: KeySet },
    /// Fetched through the core's `KeyStore`, exactly as the Worker fetches.
    Remote { store: KeyStore, source: KeySource, fetch: UreqFetch },
}

fn check_url(what: &str, url: &str, allow_http_loopback: bool) -> Result<()> {
    if url_allowed(url, allow_http_loopback) {
        return Ok(());
    }
    if is_loopback_http(url) {
        return fail(format!("{what} `{url}` is http: pass --allow-http-loopback for a local issuer (the Worker's dev mode)"));
    }
    fail(format!("{what} `{url}` is not an https URL"))
}

impl Keys {
    pub fn from_file(path: &str, limits: JwksLimits) -> Result<Keys> {
        let text = read_file(path)?;
        let set = KeySet::parse(text.as_bytes(), limits).map_err(|e| crate::util::CliError(format!("{path}: {e}")))?;
        Ok(Keys::File { path: path.to_owned(), set })
    }

    /// `jwks_uri: None` means OIDC discovery from `issuer`.
    pub fn remote(issuer: &str, jwks_uri: Option<&str>, allow_http_loopback: bool, policy: CachePolicy) -> Result<Keys> {
        match jwks_uri {
            Some(u) => check_url("JWKS URL", u, allow_http_loopback)?,
            None => check_url("issuer", issuer, allow_http_loopback)?,
        }
        Ok(Keys::Remote {
            store: KeyStore::new(policy),
            source: KeySource { issuer: issuer.to_owned(), jwks_uri: jwks_uri.map(str::to_owned), dev: allow_http_loopback },
            fetch: UreqFetch { allow_http_loopback },
        })
    }

    pub fn describe(&self) -> String {
        match self {
            Keys::File { path, .. } => format!("--jwks {path}"),
            Keys::Remote { source, .. } => match &source.jwks_uri {
                Some(u) => u.clone(),
                None => format!("{} (discovery)", discovery_url(&source.issuer)),
            },
        }
    }

    /// Selects the one key and checks the signature, as `verify_subject_token` does.
    pub fn verify(&self, t: &UntrustedToken<'_>, now: f64) -> std::result::Result<VerifyKey, Error> {
        let kid = t.kid.as_deref();
        let fetched: Rc<KeySet>;
        let set: &KeySet = match self {
            Keys::File { set, .. } => set,
            Keys::Remote { store, source, fetch } => {
                fetched = block_on(store.keys_for(fetch, source, kid, t.alg, now))?;
                &fetched
            }
        };
        // One determined key (an ambiguous set is refused), as the Worker does.
        let key = set.select_one(kid, t.alg)?;
        if block_on(crypto::verify(&CliCrypto, &key, t.signing_input.as_bytes(), &t.signature))? {
            return Ok(key);
        }
        Err(Error::BadSignature)
    }
}

/// `invalid: <reason>: <message>`, with the fetch detail for `key.unavailable`.
pub fn verdict_line(e: &Error) -> String {
    match e {
        Error::Key(KeyError::Unavailable(f)) => format!("invalid: {}: {e} ({f})", e.reason()),
        Error::Crypto(c) => format!("invalid: {}: {e} ({c})", e.reason()),
        _ => format!("invalid: {}: {e}", e.reason()),
    }
}
