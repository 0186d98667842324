//! Test-only routes (feature `test-routes`, never in release builds): run the core's signature
//! vector suite through WebCrypto inside workerd, so both backends answer the same vectors;
//! `/__test/panic` traps the instance, so a test sees the Worker recover from a bug;
//! `/__test/exec` reports the executor's slot table (a leak there grows with every request), or
//! with `stale_awaits` shows where a dropped await's late result goes;
//! `/__test/isolate` says whether the configuration was loaded at startup (`isolate::prepare`).
use crate::isolate::Isolate;
use crate::respond::{json_response, Cors};
use edge_sts_core::jose::b64;
use edge_sts_core::jose::json;
use edge_sts_core::jose::signing::SigningKey;
use serde_json::{json, Value};
use wasm_bindgen::JsValue;
use web_sys::{Request, Response};

async fn body(req: &Request) -> Option<Value> {
    let bytes = crate::fetch::read_capped(&req.body()?, 1 << 20).await.ok()?;
    json::parse_strict(&bytes, 64).ok()
}

/// `n` awaits of one pending promise, each dropped at once (as a request torn down mid-await
/// leaves its promise behind), then an await of a second promise; the first promise settles
/// ("stale") just before the second ("fresh"). Answers what the last await received.
async fn stale_then_fresh(n: u64) -> Value {
    let pending = || {
        let mut resolve = None;
        let p = js_sys::Promise::new(&mut |res, _| resolve = Some(res));
        (p, resolve)
    };
    let (stale, resolve_stale) = pending();
    for _ in 0..n {
        drop(crate::exec::settled(&stale));
    }
    let (fresh, resolve_fresh) = pending();
    let waiting = crate::exec::settled(&fresh);
    for (resolve, v) in [(resolve_stale, "stale"), (resolve_fresh, "fresh")] {
        if let Some(f) = resolve {
            let _ = f.call1(&JsValue::UNDEFINED, &JsValue::from_str(v));
        }
    }
    match waiting.await {
        Ok(v) => json!(v.as_string()),
        Err(_) => json!("rejected"),
    }
}

pub async fn handle(path: &str, req: &Request, iso: &Isolate) -> Response {
    if path == "/__test/panic" {
        // A bug's stand-in: the instance traps (panic = abort) and must come back on the next request.
        panic!("test-only panic");
    }
    let Some(doc) = body(req).await else {
        return json_response(400, &json!({"error": "bad json"}), Cors::No, "no-store");
    };
    match path {
        "/__test/exec" if doc.get("stale_awaits").is_some() => {
            let n = doc.get("stale_awaits").and_then(Value::as_u64).unwrap_or(0);
            json_response(200, &json!({"got": stale_then_fresh(n).await}), Cors::No, "no-store")
        }
        "/__test/exec" => {
            // The executor's slot table, once this request's own await (the body) is over.
            let (slots, free) = crate::exec::slot_counts();
            json_response(200, &json!({"slots": slots, "free": free}), Cors::No, "no-store")
        }
        "/__test/isolate" => json_response(200, &json!({"loaded_at_startup": iso.loaded_at_startup}), Cors::No, "no-store"),
        "/__test/verify" => {
            let cases = doc.get("cases").and_then(Value::as_array).cloned().unwrap_or_default();
            let mut out = Vec::new();
            for c in &cases {
                out.push(edge_sts_core::jose::vectors::verdict(&iso.crypto, c).await);
            }
            json_response(200, &json!({"verdicts": out}), Cors::No, "no-store")
        }
        "/__test/sign" => {
            // Signs `input` with a private JWK; the caller verifies with the pure backend / jose.
            let key = doc
                .get("jwk")
                .cloned()
                .and_then(|v| v.as_object().cloned())
                .ok_or(())
                .and_then(|m| SigningKey::from_jwk(m).map_err(|_| ()));
            let input = doc.get("input").and_then(Value::as_str).unwrap_or("");
            match key {
                Ok(k) => match edge_sts_core::jose::crypto::SignatureBackend::sign(&iso.crypto, &k, input.as_bytes()).await {
                    Ok(sig) => json_response(200, &json!({"signature": b64::encode(&sig)}), Cors::No, "no-store"),
                    Err(e) => json_response(500, &json!({"error": e.to_string()}), Cors::No, "no-store"),
                },
                Err(()) => json_response(400, &json!({"error": "bad key"}), Cors::No, "no-store"),
            }
        }
        _ => json_response(404, &json!({"error": "not_found"}), Cors::No, "no-store"),
    }
}
