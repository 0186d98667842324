//! One structured JSON line per request: request id, route, client, targets, outcome, reason
//! code, latency. Never a token, a signature, a claim value beyond the client id, or a secret.
//! What comes from the request (the request id, the method, the client id) is [`bounded`]: any
//! caller, a service binding's too, sets `cf-ray` and the token's client id.
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
            Some(r) if !base.is_empty() && edge_sts_core::wire::routes::strip_base(base, path).is_some() => {
                format!("{base}{}", r.path).into()
            }
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
        let rid = match req.headers().get("cf-ray").ok().flatten() {
            Some(ray) => bounded(&ray, RID_MAX),
            None => format!("{:x}", (js_sys::Math::random() * 1e15) as u64),
        };
        let mut line = json!({
            "rid": rid, "method": bounded(&req.method(), METHOD_MAX), "route": self.path, "status": status,
            "outcome": if status < 400 { "ok" } else { "error" }, "reason": self.reason,
            "client": self.client.as_deref().map(|c| bounded(c, CLIENT_MAX)), "targets": self.targets, "ms": ms,
        });
        if self.cloud_status.is_some() || self.cloud_code.is_some() {
            line["cloud_status"] = json!(self.cloud_status);
            line["cloud_code"] = json!(self.cloud_code);
        }
        worker::console_log!("{}", line);
    }
}

/// The longest `rid`, `method` and `client` a log line holds (a Cloudflare ray id is 20
/// characters; workerd accepts only the known methods; client ids are policy names, possibly
/// matched by a wildcard).
const RID_MAX: usize = 64;
const METHOD_MAX: usize = 16;
const CLIENT_MAX: usize = 128;

/// A request-derived value as the log line holds it: `[A-Za-z0-9._:/@+=-]` as it is, every other
/// byte (`%`, `~`, a quote, a control character, a byte of UTF-8) as `%XX`, so two values never
/// log alike; cut to `max` characters, a cut value ending in `~`.
pub fn bounded(v: &str, max: usize) -> String {
    let mut out = String::with_capacity(v.len().min(max));
    for (i, b) in v.bytes().enumerate() {
        let safe = b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'/' | b'@' | b'+' | b'=' | b'-');
        let width = if safe { 1 } else { 3 };
        // Room for the cut mark unless this is the last byte and it fits.
        let last = i + 1 == v.len();
        if out.len() + width > max || (!last && out.len() + width == max) {
            out.push('~');
            return out;
        }
        if safe {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::bounded;

    #[test]
    fn request_fields_are_bounded_to_a_safe_alphabet() {
        assert_eq!(bounded("8a1b2c3d4e5f6789-AMS", 64), "8a1b2c3d4e5f6789-AMS");
        assert_eq!(bounded("a\"b\nc%d~", 64), "a%22b%0Ac%25d%7E");
        assert_eq!(bounded("é", 64), "%C3%A9");
        assert_eq!(bounded(&"x".repeat(64), 64), "x".repeat(64));
        let cut = bounded(&"x".repeat(100_000), 64);
        assert_eq!(cut.len(), 64);
        assert!(cut.ends_with('~'));
        let cut = bounded(&"\n".repeat(100), 64);
        assert!(cut.len() <= 64 && cut.ends_with("%0A~"), "{cut}");
        for v in ["", "a", "\u{2028}\u{0}", &"\"".repeat(50)] {
            let b = bounded(v, 16);
            assert!(b.len() <= 16 && b.bytes().all(|c| c.is_ascii_graphic() && c != b'"' && c != b'\\'), "{b}");
        }
    }
}
