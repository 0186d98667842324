//! One structured JSON line per request: request id, route, client, targets, outcome, reason
//! code, latency. Never a token, a signature, a claim value beyond the client id, or a secret.
use edge_sts_core::flow::exchange::Outcome;
use serde_json::json;
use std::borrow::Cow;
use web_sys::Request;

/// Built for every request, but reads the request id and method only in [`Line::finish`], so a
/// request that is not logged (`log_requests: "errors"` and a success) makes no JS calls for it.
pub struct Line {
    req: Request,
    path: Cow<'static, str>,
    client: Option<String>,
    targets: Vec<String>,
    reason: Option<&'static str>,
    cloud_status: Option<u16>,
    cloud_code: Option<String>,
}

impl Line {
    /// `base` is the issuer's path (`""` without one): a route is logged as the base plus the
    /// table's path, whatever percent-encoding the request used.
    pub fn new(req: &Request, base: &str, path: &str) -> Line {
        // Paths are logged only for the routes of `routes::ROUTES`, so nothing a caller invents lands in the log.
        let path: Cow<'static, str> = match edge_sts_core::wire::routes::find_under(base, path) {
            Some(r) if !base.is_empty() && edge_sts_core::wire::routes::strip_base(base, path).is_some() => format!("{base}{}", r.path).into(),
            Some(r) => r.path.into(),
            None => "(other)".into(),
        };
        Line {
            req: Clone::clone(req), // the JS handle, not `Request.clone()`
            path,
            client: None,
            targets: vec![],
            reason: None,
            cloud_status: None,
            cloud_code: None,
        }
    }

    pub fn reason(&mut self, r: &'static str) {
        self.reason = Some(r);
    }

    /// A cloud's own answer to a failed exchange: its HTTP status (none when it did not answer)
    /// and its error code, kept only if it is `[A-Za-z0-9._:-]{1,64}` (the core has already
    /// reduced it to that; this is the adapter's own check, never the cloud's message).
    pub fn cloud(&mut self, status: Option<u16>, code: Option<String>) {
        self.cloud_status = status.filter(|s| (100..=599).contains(s));
        self.cloud_code = code.filter(|c| {
            (1..=64).contains(&c.len()) && c.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
        });
    }

    pub fn success(&mut self, o: &Outcome) {
        self.client = Some(o.client_id.clone());
        self.targets = o.targets.clone();
    }

    pub fn finish(self, status: u16, ms: f64) {
        let req = &self.req;
        let rid = req.headers().get("cf-ray").ok().flatten().unwrap_or_else(|| format!("{:x}", (js_sys::Math::random() * 1e15) as u64));
        let mut line = json!({
            "rid": rid, "method": req.method(), "route": self.path, "status": status,
            "outcome": if status < 400 { "ok" } else { "error" }, "reason": self.reason,
            "client": self.client, "targets": self.targets, "ms": ms,
        });
        if self.cloud_status.is_some() || self.cloud_code.is_some() {
            line["cloud_status"] = json!(self.cloud_status);
            line["cloud_code"] = json!(self.cloud_code);
        }
        worker::console_log!("{}", line);
    }
}
