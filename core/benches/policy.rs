//! `cargo bench -p edge-sts-core --bench policy`: rule matching and loading with the generated
//! 300-client, 60-target policy (core/tests/fixtures/big-300x60.json, from bench/gen-policy.mjs).
//! Uses only `config::load`, `rule_for` and `authorize`, so it runs unchanged against other
//! revisions (the figures are in docs/performance.md, "Large policies").
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use edge_sts_core::config;
use edge_sts_core::issuer::claims::Caller;
use edge_sts_core::wire::request::TargetRef;

const BIG: &str = include_str!("../tests/fixtures/big-300x60.json");
const PROD: &str = "https://keycloak.example.com/realms/prod";
const PARTNERS: &str = "https://keycloak.example.com/realms/partners";

fn caller(id: &str, iss: &str) -> Caller {
    Caller { client_id: id.into(), issuer: iss.into(), exp: 2e9 }
}

fn benches(c: &mut Criterion) {
    c.bench_function("config_load_300x60", |b| b.iter(|| config::load(black_box(BIG)).unwrap()));
    let cfg = config::load(BIG).unwrap();
    let p = &cfg.policy;
    // The 300th rule (exact, last in configuration order), a glob (batch-19-*, rule 292), a miss.
    for (name, c_) in [
        ("rule_for_300_exact_last", caller("app-299", PARTNERS)),
        ("rule_for_300_exact_first", caller("app-000", PROD)),
        ("rule_for_300_glob", caller("batch-19-nightly", PARTNERS)),
        ("rule_for_300_miss", caller("nobody", PROD)),
    ] {
        c.bench_function(name, |b| b.iter(|| p.rule_for(black_box(&c_))));
    }
    let last = caller("app-299", PARTNERS);
    let t = vec![TargetRef::Name("svc-53".into())];
    assert!(p.authorize(&last, &t, None).is_ok());
    c.bench_function("authorize_300_exact_last", |b| b.iter(|| p.authorize(black_box(&last), &t, None).unwrap()));
}

criterion_group!(policy_benches, benches);
criterion_main!(policy_benches);
