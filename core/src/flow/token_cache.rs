//! Per-isolate token caches (pure data structures; `now` is passed in).
//!
//! * Verified-token cache: the token itself -> the verified claims (the whole token is the key:
//!   a map compares keys in full, so no hash collision can ever alias two tokens). A hit is re-validated against
//!   the claim rules at `now` (so never served past `exp`), and only while the issuer's cached
//!   JWKS is fresh and still holds the key that verified it (so never after the key left).
//! * Minted-token cache: the subject token's issuer, the signing kid and the whole minted claim
//!   set except `iat`, `exp`, `jti` -> the signed token. Mapped claims (roles, tenant) are part of the key, so a change in
//!   the subject token's claims is a miss. Reused only while it has at least half its life left
//!   and never beyond what a fresh mint would allow now.
//!
//! Both are bounded in entries and bytes, evicting oldest first.
use crate::config::limits::CacheLimits;
use crate::io::single_flight::SingleFlight;
use serde_json::{Map, Value};
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

/// A FIFO-evicting bounded map. Entries carry a byte cost.
pub struct Bounded<K, V> {
    limits: CacheLimits,
    map: HashMap<K, (V, usize)>,
    order: VecDeque<K>,
    bytes: usize,
}

impl<V: Clone> Bounded<String, V> {
    /// Look-up by `&str` without allocating a key.
    pub fn get_str(&self, k: &str) -> Option<V> {
        self.map.get(k).map(|(v, _)| v.clone())
    }
}

impl<K: Hash + Eq + Clone, V: Clone> Bounded<K, V> {
    pub fn new(limits: CacheLimits) -> Self {
        Bounded { limits, map: HashMap::new(), order: VecDeque::new(), bytes: 0 }
    }

    pub fn get(&self, k: &K) -> Option<V> {
        self.map.get(k).map(|(v, _)| v.clone())
    }

    pub fn remove(&mut self, k: &K) {
        if let Some((_, cost)) = self.map.remove(k) {
            self.bytes -= cost;
        }
    }

    pub fn insert(&mut self, k: K, v: V, cost: usize) {
        if cost > self.limits.max_bytes || self.limits.max_entries == 0 {
            return;
        }
        if self.map.contains_key(&k) {
            // Rare (a re-mint or re-verify of the same key): O(n) keeps `order` duplicate-free.
            self.remove(&k);
            self.order.retain(|x| x != &k);
        }
        while self.map.len() >= self.limits.max_entries || self.bytes + cost > self.limits.max_bytes {
            match self.order.pop_front() {
                Some(old) => self.remove(&old),
                None => break,
            }
        }
        self.order.push_back(k.clone());
        self.map.insert(k, (v, cost));
        self.bytes += cost;
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

#[derive(Debug, Clone)]
pub struct VerifiedEntry {
    pub issuer: String,
    pub thumbprint: String,
    pub claims: std::rc::Rc<Map<String, Value>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MintedEntry {
    pub token: String,
    pub iat: u64,
    pub exp: u64,
}

/// Key of the minted-token cache: the subject token's issuer, the signing kid and every claim
/// but `iat`/`exp`/`jti`, in canonical JSON (serde_json's `Map` is ordered by key here).
/// Compared in full, never hashed down. The issuer is in the key on its own, so two realms'
/// callers never share an entry even if their minted claims were alike.
pub fn minted_key(issuer: &str, claims: &Map<String, Value>, kid: &str) -> String {
    let mut key = String::with_capacity(256);
    // JSON-quoted: an issuer cannot hold a raw newline, so the parts cannot run into each other.
    key.push_str(&Value::String(issuer.to_owned()).to_string());
    key.push('\n');
    key.push_str(kid);
    key.push('\n');
    // Written straight from the claim set (no filtered copy of it): the same bytes as the
    // filtered map's JSON, since both serialize the map's entries in its own order. A map with
    // string keys always serializes; were it ever to fail, the copy's JSON is the same key.
    let rest = serde_json::to_string(&WithoutTimeAndJti(claims)).unwrap_or_else(|_| {
        let copy: Map<String, Value> =
            claims.iter().filter(|(k, _)| !matches!(k.as_str(), "iat" | "exp" | "jti")).map(|(k, v)| (k.clone(), v.clone())).collect();
        Value::Object(copy).to_string()
    });
    key.push_str(&rest);
    key
}

/// A claim set serialized without `iat`, `exp` and `jti`.
struct WithoutTimeAndJti<'a>(&'a Map<String, Value>);

impl serde::Serialize for WithoutTimeAndJti<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().filter(|(k, _)| !matches!(k.as_str(), "iat" | "exp" | "jti")))
    }
}

impl MintedEntry {
    /// Usable at `now` for a request that a fresh mint would give `lifetime` seconds.
    pub fn usable(&self, now: u64, lifetime: u64) -> bool {
        let remaining = self.exp.saturating_sub(now);
        let original = self.exp.saturating_sub(self.iat);
        self.exp <= now + lifetime && remaining * 2 >= original && remaining >= 1
    }
}

pub struct TokenCaches {
    pub verified: RefCell<Bounded<String, VerifiedEntry>>,
    pub minted: RefCell<Bounded<String, MintedEntry>>,
    /// Brokered cloud credentials per (target, issuer, assertion claim set minus iat/exp/jti,
    /// kid), reused while
    /// `CloudCredentials::fresh_for_cache` (the cloud's refresh margin before expiry), so bursts
    /// do not hammer the STS. Isolate memory only: these are secrets, never persisted.
    pub clouds: RefCell<Bounded<String, crate::clouds::CloudCredentials>>,
    /// Cloud calls under way, by the same key: one STS call per key at a time.
    pub cloud_inflight: SingleFlight<Result<crate::clouds::CloudCredentials, crate::Error>>,
}

impl TokenCaches {
    pub fn new(limits: CacheLimits) -> Self {
        TokenCaches {
            verified: RefCell::new(Bounded::new(limits)),
            minted: RefCell::new(Bounded::new(limits)),
            clouds: RefCell::new(Bounded::new(limits)),
            cloud_inflight: SingleFlight::default(),
        }
    }
}

impl Default for TokenCaches {
    fn default() -> Self {
        TokenCaches::new(CacheLimits::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bounded_by_entries_and_bytes() {
        let mut b = Bounded::new(CacheLimits { max_entries: 3, max_bytes: 100 });
        for i in 0..5 {
            b.insert(i, i, 10);
        }
        assert_eq!(b.len(), 3);
        assert_eq!(b.get(&0), None);
        assert_eq!(b.get(&4), Some(4));
        b.insert(9, 9, 90);
        assert!(b.bytes() <= 100);
        assert_eq!(b.get(&9), Some(9));
        b.insert(10, 10, 101);
        assert_eq!(b.get(&10), None, "an entry larger than the budget is not cached");
        for i in 0..10_000 {
            b.insert(i % 2, i, 1);
        }
        assert!(b.order.len() <= 3);
        assert_eq!(b.order.len(), b.len());
    }

    #[test]
    fn minted_key_ignores_only_time_and_jti() {
        let a = json!({"sub": "x", "roles": ["a"], "iat": 1, "exp": 2, "jti": "j1"});
        let b = json!({"sub": "x", "roles": ["a"], "iat": 5, "exp": 9, "jti": "j2"});
        let c = json!({"sub": "x", "roles": ["a", "b"], "iat": 1, "exp": 2, "jti": "j1"});
        let k = |v: &Value, kid| minted_key("https://kc.test/realms/a", v.as_object().unwrap(), kid);
        assert_eq!(k(&a, "k1"), k(&b, "k1"));
        assert_ne!(k(&a, "k1"), k(&c, "k1"));
        assert_ne!(k(&a, "k1"), k(&a, "k2"));
    }

    #[test]
    fn minted_key_is_the_filtered_claim_set_as_json() {
        // The key is written without copying the claims; it must be byte for byte the JSON of
        // the claim set minus iat/exp/jti (escapes, nesting and key order included).
        let c = json!({"sub": "a\"b\n", "aud": ["x", "y"], "exp": 9, "iat": 1, "jti": "j", "roles": {"z": [1, 2.5, null]}, "tenant_id": "t\u{e9}"});
        let c = c.as_object().unwrap();
        let rest: Map<String, Value> =
            c.iter().filter(|(k, _)| !matches!(k.as_str(), "iat" | "exp" | "jti")).map(|(k, v)| (k.clone(), v.clone())).collect();
        let expected = format!("{}\nk1\n{}", Value::String("https://kc.test/realms/a".into()), Value::Object(rest));
        assert_eq!(minted_key("https://kc.test/realms/a", c, "k1"), expected);
    }

    #[test]
    fn minted_key_keeps_realms_apart() {
        // The same minted claims and kid from two issuers: two entries, never one.
        let a = json!({"sub": "x", "client_id": "x", "aud": "https://orders.test"});
        let a = a.as_object().unwrap();
        assert_ne!(minted_key("https://kc.test/realms/a", a, "k1"), minted_key("https://kc.test/realms/b", a, "k1"));
        // No issuer/kid split can make two different (issuer, kid) pairs meet.
        assert_ne!(minted_key("https://kc.test/realms/a\nk", a, "1"), minted_key("https://kc.test/realms/a", a, "k\n1"));
    }

    #[test]
    fn minted_reuse_window() {
        let e = MintedEntry { token: "t".into(), iat: 1000, exp: 1300 };
        assert!(e.usable(1000, 300));
        assert!(e.usable(1150, 300), "half the life left");
        assert!(!e.usable(1151, 300), "less than half left");
        assert!(!e.usable(1100, 100), "would outlive what a fresh mint allows (subject expiring)");
    }
}
