//! URL rules: where edge-sts may fetch from, and what it may publish as its own or a cloud's
//! endpoint. `https://` with a host, or `http://` on loopback (127.0.0.1, localhost, [::1]) in
//! dev mode only.

/// Is `url` acceptable as a place to fetch keys from? https, or loopback http in dev mode.
pub fn url_allowed(url: &str, dev: bool) -> bool {
    if let Some(rest) = url.strip_prefix("https://") {
        return !rest.is_empty() && !rest.starts_with('/');
    }
    dev && is_loopback_http(url)
}

/// `http://` on 127.0.0.1, localhost or [::1] (any port).
pub fn is_loopback_http(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let host_port = rest.split('/').next().unwrap_or("");
    let host = match host_port.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host_port,
    };
    matches!(host, "127.0.0.1" | "localhost" | "[::1]")
}

/// An endpoint edge-sts publishes or posts to (its issuer, a cloud's STS): [`url_allowed`], and
/// no query or fragment.
pub fn endpoint_allowed(url: &str, dev: bool) -> bool {
    url_allowed(url, dev) && !url.contains(['?', '#'])
}

/// What is wrong with the path of `url` as edge-sts's own issuer (every route is served under
/// it), if anything: no query or fragment (OpenID Connect Discovery §3), no empty or dot segment
/// (a client would normalise it away), and only RFC 3986 path characters, so that the issuer is
/// the URL clients send.
pub fn issuer_path_problem(url: &str) -> Option<&'static str> {
    if url.contains(['?', '#']) {
        return Some("an issuer has no query or fragment");
    }
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let i = rest.find('/')?;
    let path = rest[i..].trim_end_matches('/');
    for seg in path.split('/').skip(1) {
        let decoded: Vec<u8> = percent_encoding::percent_decode_str(seg).collect();
        if seg.is_empty() || decoded == b"." || decoded == b".." {
            return Some("the path has an empty, `.` or `..` segment");
        }
        let b = seg.as_bytes();
        let mut j = 0;
        while j < b.len() {
            let c = b[j];
            if c == b'%' {
                if !(j + 2 < b.len() && b[j + 1].is_ascii_hexdigit() && b[j + 2].is_ascii_hexdigit()) {
                    return Some("the path has a `%` that is not a percent-escape");
                }
                j += 3;
                continue;
            }
            if !(c.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&c)) {
                return Some("the path has a character that must be percent-encoded");
            }
            j += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_paths() {
        for ok in [
            "https://sts.example",
            "https://sts.example/",
            "https://sts.example/tenant-a",
            "https://sts.example/t/a~b/%C3%A4",
            "http://127.0.0.1:8787/tenant-a/",
        ] {
            assert_eq!(issuer_path_problem(ok), None, "{ok}");
        }
        for bad in [
            "https://sts.example/tenant-a?x=1",
            "https://sts.example/tenant-a#x",
            "https://sts.example/a//b",
            "https://sts.example/a/./b",
            "https://sts.example/a/%2e%2E/b",
            "https://sts.example/tenant a",
            "https://sts.example/tenant-%C",
            "https://sts.example/tenant-%zz",
            "https://sts.example/tenant-ä",
        ] {
            assert!(issuer_path_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn urls() {
        assert!(url_allowed("https://kc.example/realms/r", false));
        assert!(!url_allowed("http://kc.example/realms/r", false));
        assert!(!url_allowed("http://127.0.0.1:8080/realms/r", false));
        assert!(url_allowed("http://127.0.0.1:8080/realms/r", true));
        assert!(url_allowed("http://localhost/x", true));
        assert!(!url_allowed("http://127.0.0.1.evil.example/x", true));
        assert!(!url_allowed("http://evil.example/127.0.0.1:80", true));
        assert!(!url_allowed("https:///x", false));
        assert!(!url_allowed("ftp://x", true));
    }
}
