//! The JWKS cache *policy* and a per-isolate key store over the [`Fetch`] seam.
//!
//! Decisions: serve cached keys while fresh (max age from `Cache-Control`, clamped to a floor
//! and ceiling); refetch on an unknown `kid` at most once per cooldown per issuer; after a failed
//! refresh serve stale keys for a bounded window, and back off for a cooldown before trying the
//! issuer again; share one in-flight refresh between concurrent requests (`single_flight`: they
//! share the parsed result, never a runtime I/O object) and bound every waiter's wait on its own.
use crate::alg::Alg;
use crate::discovery;
use crate::fetch::{Fetch, FetchError};
use crate::json;
use crate::jwk::{JwksLimits, KeySet, Selection};
use crate::single_flight::{Abandoned, SingleFlight};
use serde_json::json;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CachePolicy {
    pub min_max_age_secs: u64,
    pub max_max_age_secs: u64,
    pub unknown_kid_cooldown_secs: u64,
    pub stale_if_error_secs: u64,
    pub fetch_timeout_ms: u64,
    pub limits: JwksLimits,
}

impl Default for CachePolicy {
    fn default() -> Self {
        CachePolicy {
            min_max_age_secs: 300,
            max_max_age_secs: 86_400,
            unknown_kid_cooldown_secs: 30,
            stale_if_error_secs: 3_600,
            fetch_timeout_ms: 5_000,
            limits: JwksLimits::default(),
        }
    }
}

/// Where one trusted issuer's keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySource {
    pub issuer: String,
    /// Explicit `jwks_uri`; `None` means OIDC discovery.
    pub jwks_uri: Option<String>,
    pub dev: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// No key with the token's `kid`, and a refetch (now or within the cooldown) did not help.
    UnknownKid,
    AlgMismatch,
    /// Several keys fit the token's `kid`/`alg`: refused, not searched (`KeySet::select_one`).
    Ambiguous,
    /// Keys could not be fetched and no usable cached keys exist.
    Unavailable(FetchError),
}

impl From<crate::jwk::SelectError> for KeyError {
    fn from(e: crate::jwk::SelectError) -> Self {
        match e {
            crate::jwk::SelectError::UnknownKid => KeyError::UnknownKid,
            crate::jwk::SelectError::AlgMismatch => KeyError::AlgMismatch,
            crate::jwk::SelectError::Ambiguous => KeyError::Ambiguous,
        }
    }
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::UnknownKid => f.write_str("subject token is signed with an unknown key"),
            KeyError::AlgMismatch => f.write_str("subject token alg does not match its key"),
            KeyError::Ambiguous => f.write_str("subject token's key is ambiguous: several keys match"),
            KeyError::Unavailable(_) => f.write_str("the issuer's keys are temporarily unavailable"),
        }
    }
}

/// Parses `Cache-Control` for `max-age`; `no-cache`/`no-store`/absent give 0 (the floor wins).
pub fn max_age(cache_control: Option<&str>) -> u64 {
    let Some(cc) = cache_control else { return 0 };
    let mut age = None;
    for d in cc.split(',').map(str::trim) {
        let lower = d.to_ascii_lowercase();
        if lower == "no-cache" || lower == "no-store" {
            return 0;
        }
        if let Some(v) = lower.strip_prefix("max-age=") {
            age = v.trim_matches('"').parse::<u64>().ok();
        }
    }
    age.unwrap_or(0)
}

#[derive(Debug, Clone)]
struct Entry {
    keys: Rc<KeySet>,
    jwks_uri: String,
    fetched_at: f64,
    max_age: f64,
}

#[derive(Default)]
struct State {
    entries: HashMap<String, Entry>,
    /// Last refresh attempt (any kind) per issuer: the cooldown clock.
    last_attempt: HashMap<String, f64>,
    /// Last failed refresh per issuer: back off instead of hammering a down issuer.
    last_failure: HashMap<String, f64>,
    persisted_checked: HashMap<String, ()>,
}

/// Per-isolate key store. `RefCell` (not a lock): Workers run one thread per isolate.
pub struct KeyStore {
    policy: CachePolicy,
    state: RefCell<State>,
    /// One refresh per issuer at a time; concurrent requests share its parsed result.
    refreshing: SingleFlight<Result<Entry, FetchError>>,
}

fn persist_key(issuer: &str) -> String {
    format!("jwks:v1:{issuer}")
}

impl KeyStore {
    pub fn new(policy: CachePolicy) -> KeyStore {
        KeyStore { policy, state: RefCell::new(State::default()), refreshing: SingleFlight::default() }
    }

    pub fn policy(&self) -> &CachePolicy {
        &self.policy
    }

    /// Keys for a token with this `kid`/`alg`; on `Ok`, `select` yields candidates.
    pub async fn keys_for<F: Fetch>(
        &self,
        fetch: &F,
        src: &KeySource,
        kid: Option<&str>,
        alg: Alg,
        now: f64,
    ) -> Result<Rc<KeySet>, KeyError> {
        let p = &self.policy;
        let cached = self.cached(fetch, src, now).await;
        let cooldown = p.unknown_kid_cooldown_secs as f64;
        let backing_off = {
            let st = self.state.borrow();
            st.last_failure.get(&src.issuer).is_some_and(|t| now - t < cooldown)
        };
        if let Some(e) = &cached {
            let fresh = now < e.fetched_at + e.max_age;
            let within_stale = now < e.fetched_at + e.max_age + p.stale_if_error_secs as f64;
            if fresh || (backing_off && within_stale) {
                match e.keys.select(kid, alg) {
                    Selection::Candidates(_) => return Ok(e.keys.clone()),
                    Selection::AlgMismatch => return Err(KeyError::AlgMismatch),
                    // The last refresh failed: a new kid cannot be ruled out, so not the caller's fault.
                    Selection::UnknownKid if backing_off => return Err(KeyError::Unavailable(FetchError::Network)),
                    Selection::UnknownKid => {
                        let last = self.state.borrow().last_attempt.get(&src.issuer).copied().unwrap_or(f64::MIN);
                        if now - last < cooldown || now - e.fetched_at < cooldown {
                            return Err(KeyError::UnknownKid);
                        }
                    }
                }
            } else if backing_off {
                return Err(KeyError::Unavailable(FetchError::Network));
            }
        } else if backing_off {
            return Err(KeyError::Unavailable(FetchError::Network));
        }
        let known_uri = cached.as_ref().map(|e| e.jwks_uri.clone());
        match self.refresh(fetch, src, known_uri, now).await {
            Ok(e) => match e.keys.select(kid, alg) {
                Selection::Candidates(_) => Ok(e.keys),
                Selection::AlgMismatch => Err(KeyError::AlgMismatch),
                Selection::UnknownKid => Err(KeyError::UnknownKid),
            },
            Err(err) => match cached {
                Some(e) if now < e.fetched_at + e.max_age + p.stale_if_error_secs as f64 => {
                    match e.keys.select(kid, alg) {
                        Selection::Candidates(_) => Ok(e.keys),
                        Selection::AlgMismatch => Err(KeyError::AlgMismatch),
                        // The kid may be new and the issuer unreachable: not the caller's fault.
                        Selection::UnknownKid => Err(KeyError::Unavailable(err)),
                    }
                }
                _ => Err(KeyError::Unavailable(err)),
            },
        }
    }

    /// The in-isolate entry, else (once per isolate) the persisted one.
    async fn cached<F: Fetch>(&self, fetch: &F, src: &KeySource, now: f64) -> Option<Entry> {
        if let Some(e) = self.state.borrow().entries.get(&src.issuer) {
            return Some(e.clone());
        }
        if self.state.borrow_mut().persisted_checked.insert(src.issuer.clone(), ()).is_some() {
            return None;
        }
        let bytes = fetch.load(&persist_key(&src.issuer)).await?;
        let e = self.decode_persisted(&bytes, src)?;
        if now >= e.fetched_at + e.max_age + self.policy.stale_if_error_secs as f64 {
            return None;
        }
        let mut st = self.state.borrow_mut();
        st.entries.entry(src.issuer.clone()).or_insert(e.clone());
        st.last_attempt.entry(src.issuer.clone()).or_insert(e.fetched_at);
        Some(e)
    }

    fn decode_persisted(&self, bytes: &[u8], src: &KeySource) -> Option<Entry> {
        let v = json::parse_object(bytes, 4).ok()?;
        if v.get("issuer")?.as_str()? != src.issuer {
            return None;
        }
        let jwks = v.get("jwks")?.as_str()?;
        Some(Entry {
            keys: Rc::new(KeySet::parse(jwks.as_bytes(), self.policy.limits).ok()?),
            jwks_uri: v.get("jwks_uri")?.as_str()?.to_owned(),
            fetched_at: v.get("fetched_at")?.as_f64()?,
            max_age: v.get("max_age")?.as_f64()?,
        })
    }

    async fn refresh<F: Fetch>(&self, fetch: &F, src: &KeySource, known_uri: Option<String>, now: f64) -> Result<Entry, FetchError> {
        // A follower's wait: the leader's fetches (discovery, then the JWKS) are bounded by
        // their timeouts; bound ours too.
        let budget = 2 * self.policy.fetch_timeout_ms + 250;
        let leader = || async move {
            self.state.borrow_mut().last_attempt.insert(src.issuer.clone(), now);
            let result = self.fetch_keys(fetch, src, known_uri, now).await;
            let mut st = self.state.borrow_mut();
            match &result {
                Ok(e) => {
                    st.entries.insert(src.issuer.clone(), e.clone());
                    st.last_failure.remove(&src.issuer);
                }
                Err(_) => {
                    st.last_failure.insert(src.issuer.clone(), now);
                }
            }
            result
        };
        match self.refreshing.run(&src.issuer, fetch, budget, leader).await {
            Ok(result) => result,
            Err(Abandoned::LeaderGone) => Err(FetchError::Network),
            Err(Abandoned::TimedOut) => Err(FetchError::Timeout),
        }
    }

    async fn fetch_keys<F: Fetch>(&self, fetch: &F, src: &KeySource, known_uri: Option<String>, now: f64) -> Result<Entry, FetchError> {
        let p = &self.policy;
        let jwks_uri = match (&src.jwks_uri, known_uri) {
            (Some(u), _) => u.clone(),
            (None, Some(u)) => u,
            (None, None) => {
                let resp = fetch.get(&discovery::discovery_url(&src.issuer), p.limits.max_bytes, p.fetch_timeout_ms).await?;
                if resp.status != 200 {
                    return Err(FetchError::Status(resp.status));
                }
                discovery::jwks_uri_from(&resp.body, &src.issuer, src.dev)?
            }
        };
        let resp = fetch.get(&jwks_uri, p.limits.max_bytes, p.fetch_timeout_ms).await?;
        if resp.status != 200 {
            return Err(FetchError::Status(resp.status));
        }
        let keys =
            KeySet::parse(&resp.body, p.limits).map_err(|_| FetchError::BadDocument("JWKS is not a valid key set within the limits"))?;
        let age = max_age(resp.cache_control.as_deref()).clamp(p.min_max_age_secs, p.max_max_age_secs);
        let record = json!({
            "issuer": src.issuer, "jwks_uri": jwks_uri, "fetched_at": now, "max_age": age,
            "jwks": String::from_utf8_lossy(&resp.body),
        });
        let ttl = age + p.stale_if_error_secs;
        fetch.store(&persist_key(&src.issuer), serde_json::to_vec(&record).unwrap_or_default(), ttl.max(60)).await;
        Ok(Entry { keys: Rc::new(keys), jwks_uri, fetched_at: now, max_age: age as f64 })
    }

    /// Is the issuer's cached key set fresh and still holding this key? (No fetch.)
    pub fn holds_fresh(&self, issuer: &str, thumbprint: &str, now: f64) -> bool {
        let st = self.state.borrow();
        st.entries.get(issuer).is_some_and(|e| now < e.fetched_at + e.max_age && e.keys.keys.iter().any(|k| k.thumbprint == thumbprint))
    }

    /// For `/healthz` and logs: how many issuers have cached keys.
    pub fn cached_issuers(&self) -> usize {
        self.state.borrow().entries.len()
    }
}
