//! One structured JSON line per request: request id, route, client, targets, outcome, reason
//! code, latency. Never a token, a signature, a claim value beyond the client id, or a secret.
use edge_sts_core::exchange::Outcome;
use serde_json::json;
use web_sys::Request;

/// Built for every request, but reads the request id and method only in [`Line::finish`], so a
/// request that is not logged (`log_requests: "errors"` and a success) makes no JS calls for it.
pub struct Line {
    req: Request,
    path: &'static str,
    client: Option<String>,
    targets: Vec<String>,
    reason: Option<&'static str>,
}

impl Line {
    pub fn new(req: &Request, path: &str) -> Line {
        // Paths are logged only for the routes of `routes::ROUTES`, so nothing a caller invents lands in the log.
        let path = edge_sts_core::routes::find(path).map_or("(other)", |r| r.path);
        Line {
            req: Clone::clone(req), // the JS handle, not `Request.clone()`
            path,
            client: None,
            targets: vec![],
            reason: None,
        }
    }

    pub fn reason(&mut self, r: &'static str) {
        self.reason = Some(r);
    }

    pub fn success(&mut self, o: &Outcome) {
        self.client = Some(o.client_id.clone());
        self.targets = o.targets.clone();
    }

    pub fn finish(self, status: u16, ms: f64) {
        let req = &self.req;
        let rid = req.headers().get("cf-ray").ok().flatten().unwrap_or_else(|| format!("{:x}", (js_sys::Math::random() * 1e15) as u64));
        let line = json!({
            "rid": rid, "method": req.method(), "route": self.path, "status": status,
            "outcome": if status < 400 { "ok" } else { "error" }, "reason": self.reason,
            "client": self.client, "targets": self.targets, "ms": ms,
        });
        worker::console_log!("{}", line);
    }
}
