//! The JWKS cache *policy* and a per-isolate key store over the [`Fetch`] seam.
//!
//! Decisions: serve cached keys while fresh (max age from `Cache-Control`, clamped to a floor
//! and ceiling); refetch on an unknown `kid` at most once per cooldown per issuer; after a failed
//! refresh serve stale keys for a bounded window, and back off for a cooldown before trying the
//! issuer again; share one in-flight refresh between concurrent requests (`single_flight`: they
//! share the parsed result, never a runtime I/O object) and bound every waiter's wait on its own.
//!
//! The persisted (KV) copy is a cache, never a source of trust: a record is used only when it
//! was made for the key source the configuration names now ([`KeySource::tag`]), never when it
//! claims to come from the future, and its max age is clamped again by the policy in force now.
//! A refresh finds the keys where the configuration says: the explicit `jwks_uri`, or OIDC
//! discovery every time (never a `jwks_uri` remembered from an earlier discovery or a record).
use crate::io::fetch::{Fetch, FetchError};
use crate::io::single_flight::{Abandoned, SingleFlight};
use crate::issuer::discovery;
use crate::jose::alg::Alg;
use crate::jose::json;
use crate::jose::jwk::{JwksLimits, KeySet, Selection};
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

impl KeySource {
    /// What a persisted record must have been made for: the explicit `jwks_uri`, or discovery,
    /// and the mode (dev mode lets discovery name loopback http URIs). The issuer is checked too.
    fn tag(&self) -> String {
        let mode = if self.dev { "dev" } else { "production" };
        match &self.jwks_uri {
            Some(u) => format!("jwks_uri {u} ({mode})"),
            None => format!("discovery ({mode})"),
        }
    }
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

impl From<crate::jose::jwk::SelectError> for KeyError {
    fn from(e: crate::jose::jwk::SelectError) -> Self {
        match e {
            crate::jose::jwk::SelectError::UnknownKid => KeyError::UnknownKid,
            crate::jose::jwk::SelectError::AlgMismatch => KeyError::AlgMismatch,
            crate::jose::jwk::SelectError::Ambiguous => KeyError::Ambiguous,
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

/// The KV key of an issuer's record. `v2` records carry the key source they were made for;
/// `v1` records (without it) are never read.
fn persist_key(issuer: &str) -> String {
    format!("jwks:v2:{issuer}")
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
        match self.refresh(fetch, src, now).await {
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
        let e = self.decode_persisted(&bytes, src, now)?;
        if now >= e.fetched_at + e.max_age + self.policy.stale_if_error_secs as f64 {
            return None;
        }
        let mut st = self.state.borrow_mut();
        st.entries.entry(src.issuer.clone()).or_insert(e.clone());
        st.last_attempt.entry(src.issuer.clone()).or_insert(e.fetched_at);
        Some(e)
    }

    /// A persisted record, if it was made for this issuer and the key source the configuration
    /// names now; its age clamped by the policy in force now. Anything else: `None` (refetch).
    fn decode_persisted(&self, bytes: &[u8], src: &KeySource, now: f64) -> Option<Entry> {
        let v = json::parse_object(bytes, 4).ok()?;
        if v.get("issuer")?.as_str()? != src.issuer || v.get("key_source")?.as_str()? != src.tag() {
            return None;
        }
        let fetched_at = v.get("fetched_at")?.as_f64()?;
        if !fetched_at.is_finite() || fetched_at > now {
            return None;
        }
        let p = &self.policy;
        let max_age = v.get("max_age")?.as_f64()?;
        if !max_age.is_finite() {
            return None;
        }
        let max_age = max_age.clamp(p.min_max_age_secs as f64, p.max_max_age_secs as f64);
        let jwks = v.get("jwks")?.as_str()?;
        Some(Entry { keys: Rc::new(KeySet::parse(jwks.as_bytes(), p.limits).ok()?), fetched_at, max_age })
    }

    async fn refresh<F: Fetch>(&self, fetch: &F, src: &KeySource, now: f64) -> Result<Entry, FetchError> {
        // A follower's wait: the leader's fetches (discovery, then the JWKS) are bounded by
        // their timeouts; bound ours too.
        let budget = 2 * self.policy.fetch_timeout_ms + 250;
        let leader = || async move {
            self.state.borrow_mut().last_attempt.insert(src.issuer.clone(), now);
            let result = self.fetch_keys(fetch, src, now).await;
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

    async fn fetch_keys<F: Fetch>(&self, fetch: &F, src: &KeySource, now: f64) -> Result<Entry, FetchError> {
        let p = &self.policy;
        // From the configuration, or from discovery on every refresh: a `jwks_uri` found
        // earlier is never reused, so the issuer's discovery document stays the authority.
        let jwks_uri = match &src.jwks_uri {
            Some(u) => u.clone(),
            None => {
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
            "issuer": src.issuer, "key_source": src.tag(), "jwks_uri": jwks_uri, "fetched_at": now, "max_age": age,
            "jwks": String::from_utf8_lossy(&resp.body),
        });
        let ttl = age + p.stale_if_error_secs;
        fetch.store(&persist_key(&src.issuer), serde_json::to_vec(&record).unwrap_or_default(), ttl.max(60)).await;
        Ok(Entry { keys: Rc::new(keys), fetched_at: now, max_age: age as f64 })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::fetch::HttpResponse;
    use futures_executor::block_on;
    use serde_json::Value;

    const ISS: &str = "https://kc.test/realms/prod";
    const REAL_URI: &str = "https://kc.test/realms/prod/protocol/openid-connect/certs";
    const EVIL_URI: &str = "https://evil.test/certs";
    const NOW: f64 = 1_800_000_000.0;

    /// One signature key (the CLI fixtures' ES256 issuer key) under the given `kid`.
    fn jwks(kid: &str) -> String {
        let text = std::fs::read_to_string(format!("{}/../cli/tests/fixtures/keys/issuer-jwks.json", env!("CARGO_MANIFEST_DIR"))).unwrap();
        let doc: Value = serde_json::from_str(&text).unwrap();
        let mut key = doc["keys"][0].clone();
        key["kid"] = json!(kid);
        json!({ "keys": [key] }).to_string()
    }

    fn discovery_doc(jwks_uri: &str) -> String {
        json!({ "issuer": ISS, "jwks_uri": jwks_uri }).to_string()
    }

    /// In-memory web (URL -> body) and KV, recording every GET.
    #[derive(Default)]
    struct World {
        web: RefCell<HashMap<String, String>>,
        kv: RefCell<HashMap<String, Vec<u8>>>,
        gets: RefCell<Vec<String>>,
    }

    impl World {
        fn serve(&self, url: &str, body: String) {
            self.web.borrow_mut().insert(url.into(), body);
        }
        fn gets(&self) -> Vec<String> {
            std::mem::take(&mut *self.gets.borrow_mut())
        }
    }

    impl Fetch for World {
        async fn get(&self, url: &str, _: usize, _: u64) -> Result<HttpResponse, FetchError> {
            self.gets.borrow_mut().push(url.into());
            match self.web.borrow().get(url) {
                Some(b) => Ok(HttpResponse { status: 200, body: b.clone().into_bytes(), cache_control: None, content_type: None }),
                None => Ok(HttpResponse { status: 404, body: vec![], cache_control: None, content_type: None }),
            }
        }
        async fn sleep(&self, _: u64) {}
        async fn load(&self, key: &str) -> Option<Vec<u8>> {
            self.kv.borrow().get(key).cloned()
        }
        async fn store(&self, key: &str, value: Vec<u8>, _: u64) {
            self.kv.borrow_mut().insert(key.into(), value);
        }
    }

    fn discovery() -> KeySource {
        KeySource { issuer: ISS.into(), jwks_uri: None, dev: false }
    }

    fn explicit(uri: &str) -> KeySource {
        KeySource { issuer: ISS.into(), jwks_uri: Some(uri.into()), dev: false }
    }

    fn keys_for(store: &KeyStore, w: &World, src: &KeySource, kid: &str, now: f64) -> Result<(), KeyError> {
        block_on(store.keys_for(w, src, Some(kid), Alg::ES256, now)).map(|_| ())
    }

    fn disc_url() -> String {
        discovery::discovery_url(ISS)
    }

    #[test]
    fn a_persisted_record_is_used_only_for_the_key_source_it_was_made_for() {
        let w = World::default();
        w.serve(EVIL_URI, jwks("evil"));
        w.serve(&disc_url(), discovery_doc(REAL_URI));
        w.serve(REAL_URI, jwks("real"));
        // Another environment sharing the namespace names the same issuer with its own jwks_uri.
        let other = KeyStore::new(CachePolicy::default());
        assert_eq!(keys_for(&other, &w, &explicit(EVIL_URI), "evil", NOW), Ok(()));
        assert_eq!(w.gets(), [EVIL_URI]);
        assert_eq!(w.kv.borrow().len(), 1, "the record was persisted");

        // A fresh isolate of the same configuration: served from KV, no fetch.
        let same = KeyStore::new(CachePolicy::default());
        assert_eq!(keys_for(&same, &w, &explicit(EVIL_URI), "evil", NOW + 1.0), Ok(()));
        assert!(w.gets().is_empty(), "a matching record is a cache hit");

        // This configuration says discovery: the record is not used, discovery is.
        let now_discovery = KeyStore::new(CachePolicy::default());
        assert_eq!(keys_for(&now_discovery, &w, &discovery(), "evil", NOW + 1.0), Err(KeyError::UnknownKid));
        assert_eq!(w.gets(), [disc_url(), REAL_URI.to_owned()]);
        assert_eq!(keys_for(&now_discovery, &w, &discovery(), "real", NOW + 2.0), Ok(()));

        // Another explicit jwks_uri, or the same one in another mode: not used either.
        w.serve("https://kc.test/other-certs", jwks("real"));
        for src in [explicit("https://kc.test/other-certs"), KeySource { dev: true, ..explicit(EVIL_URI) }] {
            w.kv.borrow_mut().clear();
            let s = KeyStore::new(CachePolicy::default());
            assert_eq!(keys_for(&s, &w, &explicit(EVIL_URI), "evil", NOW), Ok(()));
            w.gets();
            let fresh = KeyStore::new(CachePolicy::default());
            let got = keys_for(&fresh, &w, &src, "evil", NOW + 1.0);
            assert_eq!(w.gets(), [src.jwks_uri.clone().unwrap()], "{src:?}: refetched, not served from the record");
            // (The dev-mode source fetches the same URI, which still serves "evil".)
            assert_eq!(got.is_ok(), src.dev, "{src:?}");
        }
    }

    /// A record written by hand, as the refresh writes it (or as a mis-shared namespace holds).
    fn put_record(w: &World, src: &KeySource, fetched_at: f64, max_age: f64, kid: &str) {
        let record = json!({"issuer": src.issuer, "key_source": src.tag(), "jwks_uri": REAL_URI, "fetched_at": fetched_at,
                            "max_age": max_age, "jwks": jwks(kid)});
        w.kv.borrow_mut().insert(persist_key(&src.issuer), record.to_string().into_bytes());
    }

    #[test]
    fn a_persisted_record_is_aged_by_the_policy_in_force_now() {
        let p = CachePolicy::default();
        let src = explicit(REAL_URI);
        let fresh_store = || KeyStore::new(p);
        let w = World::default();
        w.serve(REAL_URI, jwks("real"));

        // A record claiming a ten-year max age, a day and a bit old: the ceiling (a day) makes it
        // stale beyond the stale window, so the keys are fetched again.
        let old = p.max_max_age_secs as f64 + p.stale_if_error_secs as f64 + 60.0;
        put_record(&w, &src, NOW - old, 315_360_000.0, "gone");
        assert_eq!(keys_for(&fresh_store(), &w, &src, "gone", NOW), Err(KeyError::UnknownKid));
        assert_eq!(w.gets(), [REAL_URI]);

        // A record from the future is never fresh.
        put_record(&w, &src, NOW + 600.0, 300.0, "gone");
        assert_eq!(keys_for(&fresh_store(), &w, &src, "gone", NOW), Err(KeyError::UnknownKid));
        assert_eq!(w.gets(), [REAL_URI]);

        // A record with max_age 0, 100 s old: the floor (300 s) keeps it fresh, no fetch.
        put_record(&w, &src, NOW - 100.0, 0.0, "kept");
        assert_eq!(keys_for(&fresh_store(), &w, &src, "kept", NOW), Ok(()));
        assert!(w.gets().is_empty());

        // Records of the old format (no key source) are not read.
        let v1 = json!({"issuer": ISS, "jwks_uri": REAL_URI, "fetched_at": NOW, "max_age": 300, "jwks": jwks("old")});
        w.kv.borrow_mut().clear();
        w.kv.borrow_mut().insert(format!("jwks:v1:{ISS}"), v1.to_string().into_bytes());
        assert_eq!(keys_for(&fresh_store(), &w, &src, "old", NOW), Err(KeyError::UnknownKid));
    }

    #[test]
    fn a_discovery_issuer_refreshes_through_discovery() {
        let p = CachePolicy::default();
        let w = World::default();
        w.serve(&disc_url(), discovery_doc(REAL_URI));
        w.serve(REAL_URI, jwks("k1"));
        let store = KeyStore::new(p);
        assert_eq!(keys_for(&store, &w, &discovery(), "k1", NOW), Ok(()));
        assert_eq!(w.gets(), [disc_url(), REAL_URI.to_owned()]);

        // The issuer moves its keys: discovery names a new jwks_uri; the old one still answers.
        let moved = "https://kc.test/realms/prod/keys-2";
        w.serve(&disc_url(), discovery_doc(moved));
        w.serve(moved, jwks("k2"));
        let later = NOW + p.min_max_age_secs as f64 + 1.0;
        assert_eq!(keys_for(&store, &w, &discovery(), "k2", later), Ok(()));
        assert_eq!(w.gets(), [disc_url(), moved.to_owned()], "the refresh asked discovery, not the old jwks_uri");

        // A fresh isolate with only the KV record: its refresh goes through discovery too.
        w.serve(&disc_url(), discovery_doc(REAL_URI));
        w.serve(REAL_URI, jwks("k3"));
        let isolate = KeyStore::new(p);
        let much_later = later + p.unknown_kid_cooldown_secs as f64 + 1.0;
        assert_eq!(keys_for(&isolate, &w, &discovery(), "k3", much_later), Ok(()));
        assert_eq!(w.gets(), [disc_url(), REAL_URI.to_owned()]);
    }
}
