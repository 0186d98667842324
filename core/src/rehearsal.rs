//! A rehearsal of `POST /token`'s pure steps, for a Worker's startup.
//!
//! V8 compiles a wasm function on its first call, so an isolate's first request pays for
//! compiling every function on its path. Run once at startup on input made here (a form, an
//! unsigned token shaped like the first trusted issuer's, a caller named by the first client
//! rule), the steps that need no I/O are compiled before any request: form and token parsing,
//! the claim checks, the policy, the minted claim set, the cache look-ups and the answer's JSON.
//! It reads the configuration and writes only to caches of its own, dropped when it returns;
//! it mints, signs and fetches nothing. Where a step refuses the made-up input for some
//! configuration, the rehearsal stops there and has just compiled less.
use crate::b64;
use crate::cache::{self, CacheLimits, MintedEntry, TokenCaches, VerifiedEntry};
use crate::config::Config;
use crate::exchange::TokenResponse;
use crate::mint;
use crate::oauth::{GRANT_TOKEN_EXCHANGE, TT_ACCESS_TOKEN};
use crate::request;
use crate::signing::KeyRing;
use crate::token::UntrustedToken;
use serde_json::Value;
use std::rc::Rc;

/// Runs the rehearsal at `now` (seconds) and returns the answer it would have sent (its
/// `access_token` a placeholder), for the adapter to render as it renders a real one; `None`
/// where it stopped early.
pub fn rehearse(cfg: &Config, ring: &KeyRing, now: f64) -> Option<Value> {
    let trusted = cfg.trusted.first()?;
    let now_s = now.max(0.0).floor() as u64;
    let client = cfg.policy.clients().first().map_or("edge-sts-rehearsal", |r| r.pattern.as_str());
    // The token's claims as Keycloak writes a service account's; its signature is never checked.
    let q = |v: &str| Value::from(v).to_string();
    let claims = format!(
        r#"{{"iss":{},"aud":{},"sub":{c},"azp":{c},"client_id":{c},"typ":{},"iat":{now_s},"exp":{},"scope":"profile"}}"#,
        q(&trusted.rules.issuer),
        q(trusted.rules.audiences.first().map_or("", String::as_str)),
        q(trusted.rules.expected_typ.as_deref().unwrap_or("Bearer")),
        now_s + 300,
        c = q(client),
    );
    let header = r#"{"alg":"RS256","typ":"JWT","kid":"rehearsal"}"#;
    let token = format!("{}.{}.{}", b64::encode(header.as_bytes()), b64::encode(claims.as_bytes()), b64::encode(&[0; 64]));
    let body = format!("grant_type={}&subject_token_type={}&subject_token={token}", form(GRANT_TOKEN_EXCHANGE), form(TT_ACCESS_TOKEN));
    let req = request::parse(Some("application/x-www-form-urlencoded"), body.as_bytes(), None, cfg.limits.max_body_bytes).ok()?;
    let caches = TokenCaches::new(CacheLimits::default());
    let _ = caches.verified.borrow().get_str(&req.subject_token);
    let t = UntrustedToken::parse(&req.subject_token, cfg.limits.token).ok()?;
    let trusted = cfg.trusted_issuer(t.issuer()?)?;
    let caller = trusted.validate(&t.claims, now).ok()?;
    let subject = Rc::new(t.claims);
    let entry = VerifiedEntry { issuer: trusted.rules.issuer.clone(), thumbprint: String::new(), claims: subject.clone() };
    caches.verified.borrow_mut().insert(req.subject_token.clone(), entry, req.subject_token.len() * 2 + 256);
    let grant = cfg.policy.authorize(&caller, &req.targets, req.scope.as_deref()).ok()?;
    let lifetime = mint::lifetime(&grant, &caller, now_s)?;
    let key = ring.active_for(grant.signing_alg())?;
    let minted = mint::claims(&cfg.issuer, &trusted.subject_prefix, &caller, &grant, &subject, now_s, lifetime, "").ok()?;
    let mkey = cache::minted_key(&caller.issuer, &minted, key.kid());
    let _ = caches.minted.borrow().get(&mkey);
    let entry = MintedEntry { token: String::new(), iat: now_s, exp: now_s + lifetime };
    caches.minted.borrow_mut().insert(mkey, entry, 64);
    let scope = (!grant.scopes.is_empty()).then(|| grant.scopes.join(" "));
    let answer = TokenResponse {
        access_token: "rehearsal".into(),
        issued_token_type: TT_ACCESS_TOKEN,
        token_type: "Bearer",
        expires_in: lifetime,
        scope,
    };
    serde_json::to_value(answer).ok()
}

/// A URN as a form value (its `:` percent-encoded, as clients send it).
fn form(v: &str) -> String {
    v.replace(':', "%3A")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load, resolve_secrets};
    use serde_json::json;

    const SIGNING: &str = r#"{"kty":"EC","crv":"P-256","alg":"ES256","kid":"k1","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","d":"jpsQnnGQmL-YBIffH1136cLLBkYSK9rZTGHNxeDeLVo"}"#; // TEST-ONLY (RFC 7515 A.3)

    fn config(patch: Value) -> Config {
        let mut v = json!({
            "issuer": "https://sts.example.com",
            "trusted_issuers": [{"issuer": "https://kc.example.com/realms/a", "audiences": ["edge-sts"]}],
            "signing_keys": [{"secret": "K", "status": "active"}],
            "targets": {"orders": {"audience": "https://orders.example.com", "scopes": ["orders:read"], "default_scopes": ["orders:read"]}},
            "clients": [{"client": "orders-service", "targets": ["orders"], "default_target": "orders"}],
        });
        for (k, x) in patch.as_object().unwrap() {
            v[k] = x.clone();
        }
        load(&v.to_string()).unwrap()
    }

    #[test]
    fn goes_the_whole_way_for_a_plain_configuration() {
        let cfg = config(json!({}));
        let ring = resolve_secrets(&cfg, |_| Some(SIGNING.into())).unwrap();
        let answer = rehearse(&cfg, &ring, 1_700_000_000.0).expect("every step accepted the rehearsal's input");
        assert_eq!(answer["scope"], "orders:read", "the first rule's default target and scope were granted");
        assert_eq!(answer["access_token"], "rehearsal", "nothing is minted");
    }

    #[test]
    fn glob_rules_typ_rules_and_refusals_end_it_quietly() {
        let ring = |cfg: &Config| resolve_secrets(cfg, |_| Some(SIGNING.into())).unwrap();
        // A glob rule: its pattern is the caller's name, and matches itself.
        let cfg = config(json!({"clients": [{"client": "svc-*", "targets": ["orders"], "default_target": "orders"}]}));
        assert!(rehearse(&cfg, &ring(&cfg), 1_700_000_000.0).is_some());
        // Two targets and no default: the policy refuses a request that names none, and the
        // rehearsal stops there.
        let two = json!({
            "orders": {"audience": "https://orders.example.com", "scopes": ["orders:read"]},
            "billing": {"audience": "https://billing.example.com", "scopes": ["billing:read"]},
        });
        let cfg = config(json!({"targets": two, "clients": [{"client": "svc", "targets": ["orders", "billing"]}]}));
        assert_eq!(rehearse(&cfg, &ring(&cfg), 1_700_000_000.0), None);
        // At the epoch (a runtime without a clock at startup) nothing panics either.
        let cfg = config(json!({}));
        assert!(rehearse(&cfg, &ring(&cfg), 0.0).is_some());
    }
}
