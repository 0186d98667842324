//! edge-sts Worker adapter: the only code that touches the Workers runtime.
//!
//! Thin by design: route, read the body (bounded), call the core, render. Everything that
//! decides lives in `edge-sts-core`; this crate supplies its two seams (`fetch::RuntimeIo` over
//! the runtime's `fetch`/KV/timers, `webcrypto::WebCrypto` over `crypto.subtle`), the clock,
//! randomness, and the per-isolate state (`isolate`).
#![allow(async_fn_in_trait)]
// No unsafe code in the adapter: the executor's wakers are std's `Wake` (`exec`).
#![forbid(unsafe_code)]

mod exec;
mod fetch;
mod isolate;
mod log;
mod respond;
#[cfg(feature = "test-routes")]
mod test_routes;
mod webcrypto;

use edge_sts_core::flow::exchange::{self, Context};
use edge_sts_core::outlined;
use edge_sts_core::wire::reason;
use edge_sts_core::wire::request::{self, RequestError};
use edge_sts_core::Error;
use respond::{json_response, oauth_error, Cors};
use wasm_bindgen::prelude::*;
use web_sys::{Request, Response};
use worker::Env;

fn now_secs() -> f64 {
    js_sys::Date::now() / 1000.0
}

/// The path of an absolute request URL (workerd always passes one), without query or fragment.
fn path_of(url: &str) -> &str {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = after_scheme.find('/').map_or("/", |i| &after_scheme[i..]);
    path.split(['?', '#']).next().unwrap_or("/")
}

/// Every route is served under the issuer's path; without a configuration, at the root.
fn base_path(iso: &isolate::Isolate) -> &str {
    iso.state.as_ref().map_or("", |s| s.config.base_path())
}

/// The Worker's `fetch` export, called by the module entry (`src/entry.js`): the request's future
/// runs on this crate's executor (`exec`), its answer resolves the returned promise.
#[wasm_bindgen]
pub fn fetch(req: Request, env: Env, ctx: worker::worker_sys::Context) -> js_sys::Promise {
    exec::promise(async move { main(req, env, worker::Context::new(ctx)).await.into() })
}

/// The Worker's `prepare` export, called once by the module entry at startup with the `env` of
/// `cloudflare:workers`: loads the configuration before the first request (`isolate::prepare`).
#[wasm_bindgen]
pub fn prepare(env: Env) {
    isolate::prepare(&env);
}

async fn main(req: Request, env: Env, ctx: worker::Context) -> Response {
    let started = js_sys::Date::now();
    let url = req.url();
    let path = path_of(&url);
    let method = req.method();
    let iso = isolate::get(&env).await;
    let mut line = log::Line::new(&req, base_path(&iso), path);
    let resp = route(&req, &env, &iso, &ctx, path, &method, &mut line).await;
    let log_all = iso.state.as_ref().map_or(true, |s| s.config.log_successes);
    if log_all || resp.status() >= 400 {
        line.finish(resp.status(), js_sys::Date::now() - started);
    }
    resp
}

async fn route(
    req: &Request,
    env: &Env,
    iso: &isolate::Isolate,
    ctx: &worker::Context,
    path: &str,
    method: &str,
    line: &mut log::Line,
) -> Response {
    use edge_sts_core::wire::routes::{dispatch_under, Dispatch, RouteId};
    match dispatch_under(base_path(iso), path, method) {
        Dispatch::Handle(RouteId::Token) => outlined(token(req, env, iso, ctx, line)).await,
        Dispatch::Handle(RouteId::Explain) => outlined(explain(req, env, iso, ctx, line)).await,
        #[cfg(feature = "clouds")]
        Dispatch::Handle(id @ (RouteId::GcpSubjectToken | RouteId::GcpExternalAccount)) => {
            outlined(gcp(req, env, iso, ctx, id, line)).await
        }
        Dispatch::MethodNotAllowed => {
            let e = Error::Request(RequestError::MethodNotAllowed).to_oauth(0);
            line.reason(e.reason);
            oauth_error(&e)
        }
        Dispatch::Handle(RouteId::Healthz) => match &iso.state {
            Ok(_) => json_response(200, &serde_json::json!({"status": "ok"}), Cors::No, "no-store"),
            Err(e) => {
                line.reason(reason::CONFIG_INVALID);
                json_response(
                    503,
                    &serde_json::json!({"status": "error", "field": e.field, "problem": e.problem, "fix": e.fix}),
                    Cors::No,
                    "no-store",
                )
            }
        },
        Dispatch::Preflight => respond::preflight(),
        Dispatch::Handle(RouteId::Discovery) => match &iso.state {
            Ok(s) => json_response(200, &exchange::discovery_document(&s.config, &s.ring), Cors::Yes, "public, max-age=3600"),
            Err(_) => oauth_error(&Error::Config(String::new()).to_oauth(0)),
        },
        Dispatch::Handle(RouteId::Jwks) => match &iso.state {
            Ok(s) => json_response(200, &s.ring.public_jwks(), Cors::Yes, "public, max-age=300"),
            Err(_) => oauth_error(&Error::Config(String::new()).to_oauth(0)),
        },
        #[cfg(feature = "test-routes")]
        Dispatch::NotFound if method == "POST" && path.starts_with("/__test/") => test_routes::handle(path, req, iso).await,
        Dispatch::NotFound => json_response(404, &serde_json::json!({"error": "not_found"}), Cors::No, "no-store"),
    }
}

/// The one way a failed request is answered: the core's OAuth mapping, its reason in the log line.
fn fail(e: &Error, cfg: &edge_sts_core::config::Config, line: &mut log::Line) -> Response {
    let o = e.to_oauth(cfg.cache.unknown_kid_cooldown_secs);
    line.reason(o.reason);
    if let Error::Sts(s) = e {
        line.cloud(s.http_status(), s.cloud_code());
    }
    oauth_error(&o)
}

/// The core's context over this request's own I/O (workerd forbids I/O through another
/// request's objects) and the isolate's caches.
fn context<'a>(
    iso: &'a isolate::Isolate,
    state: &'a isolate::State,
    io: &'a fetch::RuntimeIo<'a>,
) -> Context<'a, fetch::RuntimeIo<'a>, webcrypto::WebCrypto> {
    Context { config: &state.config, keys: &iso.keys, ring: &state.ring, fetch: io, crypto: &iso.crypto, caches: &iso.caches }
}

/// The request's body, read as a stream under `max` (`fetch::read_capped`): a body past the cap
/// is refused as soon as the cap is passed, with or without a `Content-Length`.
async fn read_body(req: &Request, max: usize) -> Result<Vec<u8>, RequestError> {
    // Refuse at once on a declared length; the core re-checks the actual size.
    let declared = req.headers().get("content-length").ok().flatten().and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > max) {
        return Err(RequestError::BodyTooLarge);
    }
    let Some(stream) = req.body() else { return Ok(Vec::new()) };
    fetch::read_capped(&stream, max).await.map_err(|e| match e {
        fetch::Capped::TooLarge => RequestError::BodyTooLarge,
        fetch::Capped::Failed => RequestError::Missing("body"),
    })
}

async fn token(req: &Request, env: &Env, iso: &isolate::Isolate, ctx: &worker::Context, line: &mut log::Line) -> Response {
    let state = match &iso.state {
        Ok(s) => s,
        Err(e) => {
            worker::console_error!("{}", serde_json::json!({"level": "error", "msg": "configuration invalid", "detail": e.to_string()}));
            let err = Error::Config(e.to_string()).to_oauth(0);
            line.reason(err.reason);
            return oauth_error(&err);
        }
    };
    let cfg = &state.config;
    let result = async {
        let body = read_body(req, cfg.limits.max_body_bytes).await?;
        let headers = req.headers();
        let ct = headers.get("content-type").ok().flatten();
        let auth = headers.get("authorization").ok().flatten();
        let treq = request::parse(ct.as_deref(), &body, auth.as_deref(), cfg.limits.max_body_bytes)?;
        let io = fetch::RuntimeIo::new(env, ctx);
        let c = context(iso, state, &io);
        exchange::exchange(&c, &treq, now_secs(), isolate::random_jti).await
    }
    .await;
    match result {
        Ok((resp, outcome)) => {
            line.success(&outcome);
            json_response(200, &resp, Cors::No, "no-store")
        }
        Err(e) => fail(&e, cfg, line),
    }
}

/// `POST /explain`: policy dry-run (off unless `explain_secret` is configured). Takes the same
/// form as `/token` plus the operator's key in `x-edge-sts-explain-key`; verifies the subject
/// token exactly as `/token` does, then answers allow/deny and why, minting nothing.
async fn explain(req: &Request, env: &Env, iso: &isolate::Isolate, ctx: &worker::Context, line: &mut log::Line) -> Response {
    let not_found = || json_response(404, &serde_json::json!({"error": "not_found"}), Cors::No, "no-store");
    let Ok(state) = &iso.state else { return not_found() };
    let cfg = &state.config;
    let Some(secret_name) = &cfg.explain_secret else { return not_found() };
    let expected = isolate::binding_text(env, secret_name).unwrap_or_default();
    let given = req.headers().get("x-edge-sts-explain-key").ok().flatten().unwrap_or_default();
    // Constant time; an unset secret never matches.
    let ok: bool = !expected.is_empty() && subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), given.as_bytes()).into();
    if !ok {
        line.reason(reason::EXPLAIN_UNAUTHORIZED);
        return json_response(401, &serde_json::json!({"error": "unauthorized"}), Cors::No, "no-store");
    }
    let result = async {
        let body = read_body(req, cfg.limits.max_body_bytes).await?;
        let headers = req.headers();
        let ct = headers.get("content-type").ok().flatten();
        let treq = request::parse(ct.as_deref(), &body, None, cfg.limits.max_body_bytes)?;
        let io = fetch::RuntimeIo::new(env, ctx);
        let c = context(iso, state, &io);
        let v = exchange::verify_subject_token(&c, &treq.subject_token, now_secs()).await?;
        Ok::<_, Error>(edge_sts_core::flow::explain::explain(
            cfg,
            v.issuer(),
            v.claims(),
            &treq.targets,
            treq.scope.as_deref(),
            now_secs(),
            Some(&state.ring),
        ))
    }
    .await;
    match result {
        Ok(x) => {
            if let Some(r) = x.reason {
                line.reason(r);
            }
            json_response(200, &x, Cors::No, "no-store")
        }
        Err(e) => fail(&e, cfg, line),
    }
}

/// Google `external_account` support (feature `clouds`), for `gcp` targets in assertion mode only:
/// `GET /gcp/subject-token?target=` (edge-sts's assertion for the target, as `/token` answers)
/// and `GET /gcp/external-account?target=` (the configuration with an `executable` source that
/// runs the CLI's credential helper). Both need the caller's Keycloak token as
/// `Authorization: Bearer` and the same policy as `/token`.
#[cfg(feature = "clouds")]
async fn gcp(
    req: &Request,
    env: &Env,
    iso: &isolate::Isolate,
    ctx: &worker::Context,
    id: edge_sts_core::wire::routes::RouteId,
    line: &mut log::Line,
) -> Response {
    let Ok(state) = &iso.state else { return oauth_error(&Error::Config(String::new()).to_oauth(0)) };
    let cfg = &state.config;
    let url = req.url();
    let query = url.split_once('?').map_or("", |(_, q)| q);
    let target = form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "target").map(|(_, v)| v.into_owned()).unwrap_or_default();
    let bearer = req.headers().get("authorization").ok().flatten().and_then(|h| request::bearer(&h));
    let result = async {
        let token = bearer.ok_or(Error::Request(RequestError::Missing("subject_token")))?;
        let io = fetch::RuntimeIo::new(env, ctx);
        let c = context(iso, state, &io);
        if id == edge_sts_core::wire::routes::RouteId::GcpExternalAccount {
            return exchange::gcp_external_account_for(&c, &token, &target, now_secs()).await;
        }
        exchange::gcp_subject_token(&c, &token, &target, now_secs(), isolate::random_jti).await
    }
    .await;
    match result {
        Ok(v) => json_response(200, &v, Cors::No, "no-store"),
        Err(e) => fail(&e, cfg, line),
    }
}
