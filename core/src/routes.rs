//! The Worker's routes, in one table: the adapter routes by it, its log line names a path only
//! when the table has it, and a test (`docs_tests`) keeps docs/http.md's route list equal to it.

/// What a route does; the adapter has one handler per variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteId {
    Token,
    Explain,
    Discovery,
    Jwks,
    GcpExternalAccount,
    GcpSubjectToken,
    Healthz,
}

/// How a route answers a method its table row does not list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtherMethods {
    /// `405` with `Allow` (an OAuth endpoint: RFC 6749 wants it to exist for every method).
    NotAllowed,
    /// `404`, as for an unknown path.
    NotFound,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub id: RouteId,
    pub path: &'static str,
    /// The methods the route answers; the first is the one the docs name it by.
    pub methods: &'static [&'static str],
    /// Whether `OPTIONS` answers a CORS preflight (the public documents).
    pub preflight: bool,
    pub other_methods: OtherMethods,
}

const fn route(id: RouteId, path: &'static str, methods: &'static [&'static str]) -> Route {
    Route { id, path, methods, preflight: false, other_methods: OtherMethods::NotFound }
}

/// Every route the Worker's code answers (the playground's static files are served before it).
pub const ROUTES: &[Route] = &[
    Route { other_methods: OtherMethods::NotAllowed, ..route(RouteId::Token, "/token", &["POST"]) },
    route(RouteId::Explain, "/explain", &["POST"]),
    Route { preflight: true, ..route(RouteId::Discovery, "/.well-known/openid-configuration", &["GET", "HEAD"]) },
    Route { preflight: true, ..route(RouteId::Jwks, "/.well-known/jwks.json", &["GET", "HEAD"]) },
    route(RouteId::GcpExternalAccount, "/gcp/external-account", &["GET"]),
    route(RouteId::GcpSubjectToken, "/gcp/subject-token", &["GET"]),
    route(RouteId::Healthz, "/healthz", &["GET", "HEAD"]),
];

/// The route at `path` (exact match: no prefixes, no trailing-slash variants).
pub fn find(path: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|r| r.path == path)
}

/// What a request for `method` on `path` gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dispatch {
    Handle(RouteId),
    Preflight,
    MethodNotAllowed,
    NotFound,
}

pub fn dispatch(path: &str, method: &str) -> Dispatch {
    let Some(r) = find(path) else { return Dispatch::NotFound };
    if r.methods.contains(&method) {
        Dispatch::Handle(r.id)
    } else if r.preflight && method == "OPTIONS" {
        Dispatch::Preflight
    } else if r.other_methods == OtherMethods::NotAllowed {
        Dispatch::MethodNotAllowed
    } else {
        Dispatch::NotFound
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispatch_follows_the_table() {
        use Dispatch::*;
        let cases = [
            ("/token", "POST", Handle(RouteId::Token)),
            ("/token", "GET", MethodNotAllowed),
            ("/token", "OPTIONS", MethodNotAllowed),
            ("/explain", "POST", Handle(RouteId::Explain)),
            ("/explain", "GET", NotFound),
            ("/.well-known/jwks.json", "HEAD", Handle(RouteId::Jwks)),
            ("/.well-known/jwks.json", "OPTIONS", Preflight),
            ("/.well-known/openid-configuration", "GET", Handle(RouteId::Discovery)),
            ("/.well-known/openid-configuration", "POST", NotFound),
            ("/gcp/subject-token", "GET", Handle(RouteId::GcpSubjectToken)),
            ("/gcp/external-account", "HEAD", NotFound),
            ("/healthz", "HEAD", Handle(RouteId::Healthz)),
            ("/healthz", "OPTIONS", NotFound),
            ("/token/", "POST", NotFound),
            ("/", "GET", NotFound),
        ];
        for (path, method, want) in cases {
            assert_eq!(dispatch(path, method), want, "{method} {path}");
        }
    }

    #[test]
    fn paths_are_unique() {
        for (i, r) in ROUTES.iter().enumerate() {
            assert!(ROUTES[..i].iter().all(|o| o.path != r.path && o.id != r.id), "{}", r.path);
        }
    }
}
