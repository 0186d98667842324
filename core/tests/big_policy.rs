//! Large policies (past what one Worker variable holds): the client-id index of
//! `TrustPolicy::rule_for` decides exactly as a scan in configuration order, and the
//! generated 300-client, 60-target policy (bench/gen-policy.mjs, committed as
//! core/tests/fixtures/big-300x60.json) loads and matches within generous bounds.
use edge_sts_core::config;
use edge_sts_core::issuer::claims::Caller;
use edge_sts_core::policy::trust::{ClientPattern, ClientRule, TrustPolicy};
use serde_json::json;
use std::time::{Duration, Instant};

const A: &str = "https://kc.example/realms/a";
const B: &str = "https://kc.example/realms/b";
const BIG: &str = include_str!("fixtures/big-300x60.json");

fn caller(id: &str, iss: &str) -> Caller {
    Caller { client_id: id.into(), issuer: iss.into(), exp: 2e9 }
}

/// The definition: exact ids first, then globs, each in configuration order, skipping rules
/// scoped to another issuer (the linear scan the index replaced).
fn reference<'a>(p: &'a TrustPolicy, c: &Caller) -> Option<&'a ClientRule> {
    let ok = |r: &&ClientRule| r.issuer.as_deref().is_none_or(|i| i == c.issuer);
    let rules = p.clients();
    rules
        .iter()
        .filter(ok)
        .find(|r| matches!(&r.pattern, ClientPattern::Exact(id) if *id == c.client_id))
        .or_else(|| rules.iter().filter(ok).find(|r| matches!(&r.pattern, ClientPattern::Glob(_, g) if g.matches(&c.client_id))))
}

fn index_of(p: &TrustPolicy, r: Option<&ClientRule>) -> Option<usize> {
    r.map(|r| p.clients().iter().position(|x| std::ptr::eq(x, r)).expect("a rule of this policy"))
}

/// 300 rules over two realms: exact ids (some in both realms, some repeated), globs placed
/// before the exact ids they overlap, and globs that overlap each other.
fn three_hundred() -> TrustPolicy {
    let mut rules = Vec::new();
    // Globs first in configuration order: exact ids must still win over them.
    rules.push(json!({"client": "app-*", "issuer": A, "targets": ["t1"]}));
    rules.push(json!({"client": "app-1*", "issuer": B, "targets": ["t2"]}));
    for i in 0..296 {
        let iss = if i % 2 == 0 { A } else { B };
        rules.push(json!({"client": format!("app-{i:03}"), "issuer": iss, "targets": [format!("t{}", i % 60)]}));
    }
    // The same id in the other realm, and a repeat (the first in order wins).
    rules.push(json!({"client": "app-000", "issuer": B, "targets": ["t3"]}));
    rules.push(json!({"client": "app-002", "issuer": A, "targets": ["t4"]}));
    assert_eq!(rules.len(), 300);
    let targets: serde_json::Map<String, serde_json::Value> =
        (0..60).map(|j| (format!("t{j}"), json!({"audience": format!("https://t{j}.example"), "scopes": ["read"]}))).collect();
    let cfg = json!({
        "mode": "dev",
        "issuer": "https://sts.example",
        "trusted_issuers": [
            {"issuer": A, "audiences": ["edge-sts"], "subject_prefix": "a:"},
            {"issuer": B, "audiences": ["edge-sts"], "subject_prefix": "b:"}
        ],
        "targets": targets,
        "clients": rules,
    });
    config::load(&cfg.to_string()).unwrap_or_else(|e| panic!("{e}")).policy
}

#[test]
fn the_index_decides_as_the_configuration_order_scan_does() {
    let p = three_hundred();
    let mut ids: Vec<String> = (0..300).map(|i| format!("app-{i:03}")).collect();
    ids.extend(["app-", "app-1", "app-1x", "other", "", "APP-001", "app-001 "].map(String::from));
    let mut matched = 0;
    for id in &ids {
        for iss in [A, B, "https://kc.example/realms/c"] {
            let c = caller(id, iss);
            let (got, want) = (index_of(&p, p.rule_for(&c)), index_of(&p, reference(&p, &c)));
            assert_eq!(got, want, "{id} from {iss}");
            matched += usize::from(got.is_some());
        }
    }
    assert!(matched > 500, "the comparison covered matches, not only misses ({matched})");
}

#[test]
fn exact_beats_an_earlier_glob_and_rules_keep_to_their_issuer() {
    let p = three_hundred();
    let rule = |id: &str, iss: &str| index_of(&p, p.rule_for(&caller(id, iss)));
    // app-004 is rule 2 + 4 (realm A): the exact rule wins over `app-*` (rule 0, also realm A).
    assert_eq!(rule("app-004", A), Some(6));
    // app-005's exact rule is for realm B: from realm A only the glob `app-*` matches.
    assert_eq!(rule("app-005", A), Some(0));
    assert_eq!(rule("app-005", B), Some(7));
    // app-150 (realm A's exact rule); from realm B, `app-1*` (rule 1) and not the A-only glob.
    assert_eq!(rule("app-150", A), Some(152));
    assert_eq!(rule("app-151", A), Some(0));
    assert_eq!(rule("app-150", B), Some(1));
    // The same id in both realms: each realm gets its own rule.
    assert_eq!(rule("app-000", A), Some(2));
    assert_eq!(rule("app-000", B), Some(298));
    // A repeated exact rule: the first in configuration order.
    assert_eq!(rule("app-002", A), Some(4));
    // No rule for the issuer, no glob: no rule.
    assert_eq!(rule("app-004", "https://kc.example/realms/c"), None);
    assert_eq!(rule("other", A), None);
}

/// The generated policy is the one the docs' figures were measured with.
#[test]
fn the_generated_policy_has_300_rules_and_60_targets() {
    let cfg = config::load(BIG).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((cfg.policy.clients().len(), cfg.policy.targets.len()), (300, 60));
    assert!(BIG.len() > 5 * 1024 * 10, "ten times a Worker variable's 5 KB");
    let p = &cfg.policy;
    let prod = "https://keycloak.example.com/realms/prod";
    let partners = "https://keycloak.example.com/realms/partners";
    // The 300th rule is app-299 (realm partners), exact; batch-00-* is a glob for realm partners.
    assert_eq!(index_of(p, p.rule_for(&caller("app-299", partners))), Some(299));
    assert_eq!(index_of(p, p.rule_for(&caller("app-299", prod))), None);
    assert_eq!(index_of(p, p.rule_for(&caller("batch-00-nightly", partners))), Some(7));
}

/// Bounds (generous: shared, unoptimised CI machines; docs/performance.md, "Large policies", has
/// the measured figures): loading the 300/60 policy under 50 ms, one rule lookup under 20 µs.
#[test]
fn the_300_client_policy_loads_and_matches_within_bounds() {
    const RUNS: u32 = 5;
    let mut load = Duration::MAX;
    let mut cfg = None;
    for _ in 0..RUNS {
        let t = Instant::now();
        cfg = Some(config::load(BIG).unwrap_or_else(|e| panic!("{e}")));
        load = load.min(t.elapsed());
    }
    let p = cfg.expect("loaded").policy;
    let realms = ["https://keycloak.example.com/realms/prod", "https://keycloak.example.com/realms/partners"];
    // Every rule's own client (batch globs by a matching id), plus misses (the slowest path:
    // every glob is tried).
    let callers: Vec<Caller> = (0..300)
        .map(|i| {
            let id = if i % 15 == 7 { format!("batch-{:02}-x", i / 15) } else { format!("app-{i:03}") };
            caller(&id, realms[i % 2])
        })
        .chain((0..300).map(|i| caller(&format!("nobody-{i}"), realms[i % 2])))
        .collect();
    let mut per_lookup = Duration::MAX;
    for _ in 0..RUNS {
        let t = Instant::now();
        let mut found = 0;
        for c in &callers {
            found += usize::from(std::hint::black_box(p.rule_for(c)).is_some());
        }
        assert_eq!(found, 300);
        per_lookup = per_lookup.min(t.elapsed() / callers.len() as u32);
    }
    eprintln!("300/60 policy: load {load:?}, rule_for {per_lookup:?} per lookup");
    assert!(load < Duration::from_millis(50), "config::load took {load:?}");
    assert!(per_lookup < Duration::from_micros(20), "rule_for took {per_lookup:?}");
}
