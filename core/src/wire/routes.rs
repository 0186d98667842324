//! The Worker's routes, in one table: the adapter routes by it, its log line names a path only
//! when the table has it, and a test (`docs_tests`) keeps docs/http.md's route list equal to it.
//!
//! Every route lives under the path of edge-sts's own `issuer` (`https://sts.example/tenant-a`
//! serves `/tenant-a/token`, `/tenant-a/.well-known/openid-configuration`, ...): [`url`] builds
//! what discovery advertises and [`dispatch_under`] routes by the same prefix, so the two agree.

/// What a route does; the adapter has one handler per variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteId {
    Token,
    Explain,
    Discovery,
    Jwks,
    #[cfg(feature = "clouds")]
    GcpExternalAccount,
    #[cfg(feature = "clouds")]
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
/// The `/gcp/*` routes serve assertion-mode Google targets: without the `clouds` feature they are
/// not routes (404).
pub const ROUTES: &[Route] = &[
    Route { other_methods: OtherMethods::NotAllowed, ..route(RouteId::Token, "/token", &["POST"]) },
    route(RouteId::Explain, "/explain", &["POST"]),
    Route { preflight: true, ..route(RouteId::Discovery, "/.well-known/openid-configuration", &["GET", "HEAD"]) },
    Route { preflight: true, ..route(RouteId::Jwks, "/.well-known/jwks.json", &["GET", "HEAD"]) },
    #[cfg(feature = "clouds")]
    route(RouteId::GcpExternalAccount, "/gcp/external-account", &["GET"]),
    #[cfg(feature = "clouds")]
    route(RouteId::GcpSubjectToken, "/gcp/subject-token", &["GET"]),
    route(RouteId::Healthz, "/healthz", &["GET", "HEAD"]),
];

/// The route at `path` (exact match: no prefixes, no trailing-slash variants).
pub fn find(path: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|r| r.path == path)
}

/// The route with id `id`.
pub fn route_of(id: RouteId) -> &'static Route {
    ROUTES.iter().find(|r| r.id == id).expect("every RouteId has a row in ROUTES")
}

/// The URL of route `id` under `issuer` (a validated issuer: no trailing slash, query or
/// fragment), as discovery advertises it: `https://sts.example/tenant-a` + `/token`.
pub fn url(issuer: &str, id: RouteId) -> String {
    format!("{issuer}{}", route_of(id).path)
}

/// The path of an issuer URL: `https://sts.example/tenant-a` -> `/tenant-a`; `""` when the
/// issuer is a bare origin. Query and fragment (a validated issuer has none) are not part of it.
pub fn base_path(issuer: &str) -> &str {
    let rest = issuer.split_once("://").map_or(issuer, |(_, r)| r);
    let path = rest.find('/').map_or("", |i| &rest[i..]);
    let path = path.split(['?', '#']).next().unwrap_or("");
    path.trim_end_matches('/')
}

/// The part of the request path `path` after the base path `base` (from [`base_path`]), or
/// `None` when `path` is not under `base`. Compared segment by segment, each segment
/// percent-decoded (`/tenant%2Da` is `/tenant-a`; `/tenant-ab` is not under `/tenant-a`; a `%2F`
/// stays inside its segment). With an empty base every path is under it, unchanged.
pub fn strip_base<'p>(base: &str, path: &'p str) -> Option<&'p str> {
    if base.is_empty() {
        return Some(path);
    }
    let mut rest = path;
    for want in base.strip_prefix('/').unwrap_or(base).split('/') {
        let r = rest.strip_prefix('/')?;
        let end = r.find('/').unwrap_or(r.len());
        let (got, tail) = r.split_at(end);
        if !percent_encoding::percent_decode_str(got).eq(percent_encoding::percent_decode_str(want)) {
            return None;
        }
        rest = tail;
    }
    Some(rest)
}

/// The route a request path names under the base path `base`: the table's path after the base.
/// With a non-empty base, `/healthz` also answers at the root (a platform's health check need not
/// know the tenant); every other root path is not found.
pub fn find_under(base: &str, path: &str) -> Option<&'static Route> {
    match strip_base(base, path) {
        Some(rest) => find(rest),
        None => find(path).filter(|r| r.id == RouteId::Healthz),
    }
}

/// What a request for `method` on `path` gets when the Worker's issuer has the base path `base`
/// ([`base_path`]; `""` for a bare-origin issuer, and when the configuration did not load).
pub fn dispatch_under(base: &str, path: &str, method: &str) -> Dispatch {
    match find_under(base, path) {
        Some(r) => dispatch_route(r, method),
        None => Dispatch::NotFound,
    }
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
    match find(path) {
        Some(r) => dispatch_route(r, method),
        None => Dispatch::NotFound,
    }
}

fn dispatch_route(r: &Route, method: &str) -> Dispatch {
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
            #[cfg(feature = "clouds")]
            ("/gcp/subject-token", "GET", Handle(RouteId::GcpSubjectToken)),
            #[cfg(not(feature = "clouds"))]
            ("/gcp/subject-token", "GET", NotFound),
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
    fn base_paths() {
        assert_eq!(base_path("https://sts.example"), "");
        assert_eq!(base_path("https://sts.example/"), "");
        assert_eq!(base_path("https://sts.example/tenant-a"), "/tenant-a");
        assert_eq!(base_path("https://sts.example/tenant-a/"), "/tenant-a");
        assert_eq!(base_path("https://sts.example:8443/a/b"), "/a/b");
        assert_eq!(base_path("http://127.0.0.1:8787/tenant-a"), "/tenant-a");
    }

    #[test]
    fn routes_under_a_base_path() {
        use Dispatch::*;
        let base = base_path("https://sts.example/tenant-a");
        let cases = [
            ("/tenant-a/token", "POST", Handle(RouteId::Token)),
            ("/tenant-a/token", "GET", MethodNotAllowed),
            ("/tenant-a/.well-known/openid-configuration", "GET", Handle(RouteId::Discovery)),
            ("/tenant-a/.well-known/openid-configuration", "OPTIONS", Preflight),
            ("/tenant-a/.well-known/jwks.json", "GET", Handle(RouteId::Jwks)),
            ("/tenant-a/explain", "POST", Handle(RouteId::Explain)),
            #[cfg(feature = "clouds")]
            ("/tenant-a/gcp/subject-token", "GET", Handle(RouteId::GcpSubjectToken)),
            #[cfg(feature = "clouds")]
            ("/tenant-a/gcp/external-account", "GET", Handle(RouteId::GcpExternalAccount)),
            #[cfg(not(feature = "clouds"))]
            ("/tenant-a/gcp/subject-token", "GET", NotFound),
            #[cfg(not(feature = "clouds"))]
            ("/tenant-a/gcp/external-account", "GET", NotFound),
            ("/tenant-a/healthz", "GET", Handle(RouteId::Healthz)),
            // percent-encoding in the base is decoded per segment
            ("/tenant%2Da/token", "POST", Handle(RouteId::Token)),
            ("/tenant%2da/token", "POST", Handle(RouteId::Token)),
            ("/tenant-a%2Ftoken", "POST", NotFound),
            // the root paths are not the tenant's, except the health check
            ("/token", "POST", NotFound),
            ("/.well-known/openid-configuration", "GET", NotFound),
            ("/.well-known/jwks.json", "GET", NotFound),
            ("/healthz", "GET", Handle(RouteId::Healthz)),
            // a sibling prefix, the prefix alone, trailing slashes, doubled slashes
            ("/tenant-ab/token", "POST", NotFound),
            ("/tenant-a", "GET", NotFound),
            ("/tenant-a/", "GET", NotFound),
            ("/tenant-a/token/", "POST", NotFound),
            ("/tenant-a//token", "POST", NotFound),
            ("/tenant/a/token", "POST", NotFound),
            ("/other/tenant-a/token", "POST", NotFound),
            ("/tenant-a/tenant-a/token", "POST", NotFound),
            ("/TENANT-A/token", "POST", NotFound),
            ("", "GET", NotFound),
        ];
        for (path, method, want) in cases {
            assert_eq!(dispatch_under(base, path, method), want, "{method} {path}");
        }
        // Without a base path (or without a configuration): the root table, unchanged.
        assert_eq!(dispatch_under("", "/token", "POST"), Handle(RouteId::Token));
        assert_eq!(dispatch_under("", "/tenant-a/token", "POST"), NotFound);
    }

    #[test]
    fn several_segments_and_encoded_bases() {
        use Dispatch::*;
        let base = base_path("https://sts.example/t/%C3%A4");
        assert_eq!(dispatch_under(base, "/t/%c3%a4/token", "POST"), Handle(RouteId::Token));
        assert_eq!(dispatch_under(base, "/t/%C3%A4/.well-known/jwks.json", "GET"), Handle(RouteId::Jwks));
        assert_eq!(dispatch_under(base, "/t/token", "POST"), NotFound);
        // A raw UTF-8 issuer path matches its percent-encoded request path (what clients send).
        let base = base_path("https://sts.example/t/ä");
        assert_eq!(dispatch_under(base, "/t/%C3%A4/token", "POST"), Handle(RouteId::Token));
    }

    #[test]
    fn advertised_urls_are_dispatched() {
        for issuer in ["https://sts.example", "https://sts.example/tenant-a", "https://sts.example:8443/a/b"] {
            let base = base_path(issuer);
            for r in ROUTES {
                let u = url(issuer, r.id);
                let path = &u[u.find("://").unwrap() + 3..];
                let path = &path[path.find('/').unwrap()..];
                assert_eq!(dispatch_under(base, path, r.methods[0]), Dispatch::Handle(r.id), "{u}");
            }
        }
    }

    #[test]
    fn paths_are_unique() {
        for (i, r) in ROUTES.iter().enumerate() {
            assert!(ROUTES[..i].iter().all(|o| o.path != r.path && o.id != r.id), "{}", r.path);
        }
    }
}
