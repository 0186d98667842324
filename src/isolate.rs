//! Per-isolate state, built once on the first request: the validated config, the signing key
//! ring, the JWKS key store and the WebCrypto key cache. Invalid configuration is kept as an
//! error: every request then answers 503.
//!
//! The configuration's pure part (parse, validate, the key ring from the secrets) can run
//! earlier, at startup (`prepare`, called by the module entry with the `env` of
//! `cloudflare:workers`): the first request then takes it instead of loading it again.
use crate::webcrypto::WebCrypto;
use edge_sts_core::config::limits::CacheLimits;
use edge_sts_core::config::{self, Config, ConfigError};
use edge_sts_core::flow::token_cache::TokenCaches;
use edge_sts_core::issuer::key_store::KeyStore;
use edge_sts_core::jose::signing::KeyRing;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::JsValue;
use worker::Env;

pub const CONFIG_VAR: &str = "EDGE_STS_CONFIG";

pub struct State {
    pub config: Config,
    pub ring: KeyRing,
}

pub struct Isolate {
    pub state: Result<State, ConfigError>,
    pub keys: KeyStore,
    pub crypto: WebCrypto,
    pub caches: TokenCaches,
    /// Whether `prepare` loaded the configuration at startup (reported by `/__test/isolate`).
    #[cfg_attr(not(feature = "test-routes"), allow(dead_code))]
    pub loaded_at_startup: bool,
}

thread_local! {
    static ISOLATE: RefCell<Option<Rc<Isolate>>> = const { RefCell::new(None) };
    /// What `prepare` loaded at startup, taken by the first `build`.
    static PREPARED: RefCell<Option<Loaded>> = const { RefCell::new(None) };
}

type Loaded = Result<(Config, KeyRing), ConfigError>;

/// Startup: loads the configuration from `env` before any request, so that parsing and
/// validating it (and V8 compiling that code) is not part of an isolate's first request. Pure:
/// no I/O, no randomness (both are refused at a Worker's global scope). The first request's
/// `build` takes the result; dev-mode keys are still generated there.
pub fn prepare(env: &Env) {
    let loaded = load_config(env);
    PREPARED.with(|c| *c.borrow_mut() = Some(loaded));
}

/// A binding as text: strings as they are, objects (a `[vars]` table) as JSON.
pub fn binding_text(env: &Env, name: &str) -> Option<String> {
    let v = js_sys::Reflect::get(env, &JsValue::from_str(name)).ok()?;
    if v.is_undefined() || v.is_null() {
        return None;
    }
    v.as_string().or_else(|| js_sys::JSON::stringify(&v).ok().and_then(|s| s.as_string()))
}

pub async fn get(env: &Env) -> Rc<Isolate> {
    if let Some(i) = ISOLATE.with(|c| c.borrow().clone()) {
        return i;
    }
    let built = Rc::new(edge_sts_core::outlined(build(env)).await);
    // Two first requests may race through `build`; keep whichever finished first.
    ISOLATE.with(|c| c.borrow_mut().get_or_insert_with(|| built.clone()).clone())
}

async fn build(env: &Env) -> Isolate {
    let crypto = WebCrypto::new();
    let prepared = PREPARED.with(|c| c.borrow_mut().take());
    let loaded_at_startup = prepared.is_some();
    let state = load(env, &crypto, prepared).await;
    if let Err(e) = &state {
        worker::console_error!(
            "{}",
            serde_json::json!({"level": "error", "msg": "configuration invalid", "field": e.field, "problem": e.problem, "fix": e.fix})
        );
    }
    let policy = state.as_ref().map(|s| s.config.cache).unwrap_or_default();
    let entries = state.as_ref().map(|s| s.config.limits.token_cache_entries).unwrap_or(0);
    let caches = TokenCaches::new(CacheLimits { max_entries: entries, ..CacheLimits::default() });
    Isolate { state, keys: KeyStore::new(policy), crypto, caches, loaded_at_startup }
}

async fn load(env: &Env, crypto: &WebCrypto, prepared: Option<Loaded>) -> Result<State, ConfigError> {
    let (config, mut ring) = prepared.unwrap_or_else(|| load_config(env))?;
    for (kid, alg) in config::add_dev_keys(&config, &mut ring, |alg| crypto.generate_dev_key(alg)).await? {
        worker::console_warn!(
            "{}",
            serde_json::json!({"level": "warn", "msg": "DEV MODE: generated an ephemeral signing key; tokens will not verify after a restart. Never use mode=dev in production.", "kid": kid, "alg": alg.as_str()})
        );
    }
    Ok(State { config, ring })
}

/// The configuration and the key ring its secrets make. A function of its own (never inlined), so
/// that `prepare` and `build` share one copy: the code `prepare` ran at startup is the code V8 has
/// compiled.
#[inline(never)]
fn load_config(env: &Env) -> Loaded {
    let config = config::load(&config_text(env)?)?;
    let ring = config::resolve_secrets(&config, |name| binding_text(env, name))?;
    Ok((config, ring))
}

/// The configuration text: the `EDGE_STS_CONFIG` variable, or the one embedded at build time
/// (`EDGE_STS_CONFIG_FILE`, a global set by build/edge-sts-config.js); exactly one of them.
fn config_text(env: &Env) -> Result<String, ConfigError> {
    let embedded = js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str(config::source::EMBEDDED_GLOBAL)).ok();
    config::source::choose(binding_text(env, CONFIG_VAR), embedded.and_then(|v| v.as_string()))
}

/// 128 random bits from the runtime's CSPRNG, base64url: the minted token's `jti`.
/// Fails closed: no randomness, no token.
pub fn random_jti() -> Result<String, edge_sts_core::Error> {
    let mut b = [0u8; 16];
    // getrandom's `wasm_js` backend is crypto.getRandomValues, always present in workerd.
    getrandom::fill(&mut b).map_err(|_| edge_sts_core::Error::Crypto(edge_sts_core::jose::crypto::CryptoError("no randomness".into())))?;
    Ok(edge_sts_core::jose::b64::encode(&b))
}
