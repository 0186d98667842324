//! wasm-bindgen exports for the playground page. Thin on purpose: text in, the core's answer
//! as JSON text out. Every decision is `edge_sts_core`'s (`inspect`, `vectors`, `discovery`, `url`),
//! with the pure-Rust signature backend driven to completion by `block_on` (it never waits).
//! The `config` build (the configuration reader the page loads on demand) exports only
//! `inspect` and `inspectWithConfig`: the page takes everything else from the first module.
#[cfg(not(feature = "config"))]
use edge_sts_core::flow::inspect::CheckId;
use edge_sts_core::flow::inspect::{self, Expectations};
#[cfg(not(feature = "config"))]
use edge_sts_core::issuer::discovery;
use edge_sts_core::jose::pure_crypto::PureCrypto;
#[cfg(not(feature = "config"))]
use edge_sts_core::jose::vectors;
use futures_executor::block_on;
use serde_json::json;
#[cfg(not(feature = "config"))]
use serde_json::Value;
use wasm_bindgen::prelude::*;

fn expectations(text: &str) -> Result<Expectations, JsError> {
    if text.trim().is_empty() {
        return Ok(Expectations::default());
    }
    serde_json::from_str(text).map_err(|e| JsError::new(&format!("expectations: {e}")))
}

/// The full report for `token`: decoded parts with located problems, every check, and the
/// Worker's verdict. `keys` is a JWK, JWK Set or PEM public key (empty: none), `expect` the
/// `inspect::Expectations` as JSON (empty: defaults), `now` seconds since the epoch.
#[wasm_bindgen]
pub fn inspect(token: &str, keys: &str, expect: &str, now: f64) -> Result<String, JsError> {
    let ex = expectations(expect)?;
    let keys = (!keys.trim().is_empty()).then_some(keys);
    let report = block_on(inspect::inspect(&PureCrypto, token, keys, &ex, now));
    serde_json::to_string(&report).map_err(|e| JsError::new(&e.to_string()))
}

/// `inspect` under a pasted edge-sts configuration ("as edge-sts would"): the configuration is
/// read by the Worker's own `config::load`, and the trusted issuer whose `issuer` is the token's
/// `iss` supplies the rules (`inspect::expectations_from_config`). `key_alg` binds a PEM key
/// (empty: from the key type). Answers `{"report", "issuer", "trusted_issuers", "rules"}`; a
/// configuration that does not load is an error naming its field.
#[cfg(feature = "config")]
#[wasm_bindgen(js_name = inspectWithConfig)]
pub fn inspect_with_config(token: &str, keys: &str, config: &str, key_alg: &str, now: f64) -> Result<String, JsError> {
    let mut ex = inspect::expectations_from_config(config, token).map_err(|e| JsError::new(&e.to_string()))?;
    ex.key_alg = (!key_alg.is_empty()).then(|| key_alg.to_owned());
    let keys = (!keys.trim().is_empty()).then_some(keys);
    let report = block_on(inspect::inspect(&PureCrypto, token, keys, &ex, now));
    let rules = json!({
        "audiences": ex.audiences, "leeway_secs": ex.leeway_secs, "max_lifetime_secs": ex.max_lifetime_secs,
        "expected_typ": ex.expected_typ, "required_claims": ex.required_claims, "allow_missing_sub": ex.allow_missing_sub,
        "algorithms": ex.algorithms, "app_token": ex.app_token.is_some_and(|r| r != edge_sts_core::issuer::claims::AppTokenRule::Keycloak),
    });
    Ok(json!({"report": report, "issuer": ex.issuer, "trusted_issuers": ex.trusted_issuers, "rules": rules}).to_string())
}

/// Every check id `inspect` reports (`CheckId::ALL`, in report order), as a JSON array of
/// strings: the ids the page's `CHECK_LABELS` must label, no more and no fewer
/// (tests/www/check-labels.test.mjs).
#[cfg(not(feature = "config"))]
#[wasm_bindgen(js_name = checkIds)]
pub fn check_ids() -> String {
    json!(CheckId::ALL).to_string()
}

/// `vectors::verdict` over each case of a vector file (`{"cases": [...]}`):
/// `[{"name", "expect", "got"}]`.
#[cfg(not(feature = "config"))]
#[wasm_bindgen(js_name = vectorVerdicts)]
pub fn vector_verdicts(doc: &str) -> Result<String, JsError> {
    let doc: Value = serde_json::from_str(doc).map_err(|e| JsError::new(&e.to_string()))?;
    let cases = doc.get("cases").and_then(Value::as_array).ok_or_else(|| JsError::new("no `cases` array"))?;
    let out: Vec<Value> = cases
        .iter()
        .map(|c| json!({"name": c.get("name"), "expect": c.get("expect"), "got": block_on(vectors::verdict(&PureCrypto, c))}))
        .collect();
    Ok(Value::Array(out).to_string())
}

/// `<issuer>/.well-known/openid-configuration`.
#[cfg(not(feature = "config"))]
#[wasm_bindgen(js_name = discoveryUrl)]
pub fn discovery_url(issuer: &str) -> String {
    discovery::discovery_url(issuer)
}

/// May the page fetch keys from `url`? https, or http on loopback (as the Worker's dev mode).
#[cfg(not(feature = "config"))]
#[wasm_bindgen(js_name = urlAllowed)]
pub fn url_allowed(url: &str) -> bool {
    edge_sts_core::wire::url::url_allowed(url, true)
}

/// `jwks_uri` from a discovery document, with the Worker's rules: the document's `issuer`
/// must equal `issuer` exactly, and `jwks_uri` must be https (or loopback http).
#[cfg(not(feature = "config"))]
#[wasm_bindgen(js_name = jwksUriFrom)]
pub fn jwks_uri_from(body: &str, issuer: &str) -> Result<String, JsError> {
    discovery::jwks_uri_from(body.as_bytes(), issuer, true).map_err(|e| JsError::new(&e.to_string()))
}

/// Where `text` stops being JSON, as `{"line", "column", "message"}` (1-based, serde_json's
/// position, as `inspect` locates a token's JSON), or `""` when it is JSON. The page uses it to
/// point at a malformed pasted key.
#[cfg(not(feature = "config"))]
#[wasm_bindgen(js_name = jsonError)]
pub fn json_error(text: &str) -> String {
    match serde_json::from_str::<Value>(text) {
        Ok(_) => String::new(),
        Err(e) => {
            let full = e.to_string();
            let message = full.strip_suffix(&format!(" at line {} column {}", e.line(), e.column())).unwrap_or(&full);
            json!({"line": e.line(), "column": e.column(), "message": message}).to_string()
        }
    }
}
