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

#[cfg(test)]
mod tests {
    use super::*;

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
