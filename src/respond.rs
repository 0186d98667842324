//! Rendering: OAuth errors (RFC 6749 §5.2) and JSON documents. No logic beyond headers.
use edge_sts_core::OAuthError;
use serde::Serialize;
use std::cell::RefCell;
use web_sys::{Headers, Response, ResponseInit};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Cors {
    Yes,
    No,
}

fn init(status: u16, headers: &Headers) -> ResponseInit {
    let init = ResponseInit::new();
    init.set_status(status);
    init.set_headers(headers);
    init
}

fn respond(status: u16, body: &str, headers: &Headers) -> Response {
    respond_with(body, &init(status, headers))
}

fn respond_with(body: &str, init: &ResponseInit) -> Response {
    let body = (!body.is_empty()).then_some(body);
    // Only an invalid status makes this fail, and callers pass fixed valid ones.
    Response::new_with_opt_str_and_init(body, init).unwrap_or_else(|_| Response::new().expect("an empty 200 always builds"))
}

/// The JSON answers' status and headers, one `ResponseInit` per (status, cache, CORS), built on
/// first use and reused for the isolate's life: `new Response` copies an init's headers into
/// the response's own (Fetch standard, "fill" from a `Headers`), so no response can carry
/// another's state. Spares a JS object, a `Headers` and four header writes per response.
/// Callers pass fixed values, so the list stays a handful long; the bound is a safeguard.
struct InitCache(Vec<(u16, Cors, String, ResponseInit)>);

thread_local! {
    static JSON_INITS: RefCell<InitCache> = const { RefCell::new(InitCache(Vec::new())) };
}

const MAX_CACHED_INITS: usize = 16;

fn json_init(status: u16, cache: &str, cors: Cors) -> ResponseInit {
    JSON_INITS.with(|c| {
        let mut c = c.borrow_mut();
        if let Some((.., init)) = c.0.iter().find(|(s, o, k, _)| *s == status && *o == cors && k == cache) {
            return init.clone();
        }
        let built = init(status, &headers("application/json", cache, cors));
        if c.0.len() < MAX_CACHED_INITS {
            c.0.push((status, cors, cache.to_owned(), built.clone()));
        }
        built
    })
}

fn headers(content_type: &str, cache: &str, cors: Cors) -> Headers {
    let h = Headers::new().expect("Headers::new");
    let _ = h.set("content-type", content_type);
    let _ = h.set("cache-control", cache);
    let _ = h.set("x-content-type-options", "nosniff");
    if cors == Cors::Yes {
        let _ = h.set("access-control-allow-origin", "*");
    }
    h
}

pub fn json_response<T: Serialize>(status: u16, body: &T, cors: Cors, cache: &str) -> Response {
    let text = serde_json::to_string(body).unwrap_or_else(|_| "{}".into());
    respond_with(&text, &json_init(status, cache, cors))
}

pub fn oauth_error(e: &OAuthError) -> Response {
    let h = headers("application/json", "no-store", Cors::No);
    let _ = h.set("pragma", "no-cache");
    if let Some(s) = e.retry_after {
        let _ = h.set("retry-after", &s.to_string());
    }
    if e.status == 405 {
        let _ = h.set("allow", "POST");
    }
    let body = serde_json::json!({"error": e.error, "error_description": e.description});
    respond(e.status, &body.to_string(), &h)
}

pub fn preflight() -> Response {
    let h = headers("text/plain", "public, max-age=86400", Cors::Yes);
    let _ = h.set("access-control-allow-methods", "GET, HEAD, OPTIONS");
    let _ = h.set("access-control-max-age", "86400");
    respond(204, "", &h)
}
