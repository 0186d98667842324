//! OIDC discovery (`/.well-known/openid-configuration`): where an issuer's keys are, and
//! edge-sts's own discovery document.
use crate::io::fetch::FetchError;
use crate::jose::json;
use crate::wire::url::url_allowed;
use serde_json::Value;

pub fn discovery_url(issuer: &str) -> String {
    format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'))
}

/// Reads `jwks_uri` from a discovery document whose `issuer` must equal the configured one
/// exactly (OIDC Discovery §4.3).
pub fn jwks_uri_from(body: &[u8], issuer: &str, dev: bool) -> Result<String, FetchError> {
    let doc = json::parse_object(body, 16).map_err(|_| FetchError::BadDocument("discovery document is not strict JSON"))?;
    if doc.get("issuer").and_then(Value::as_str) != Some(issuer) {
        return Err(FetchError::BadDocument("discovery document names another issuer"));
    }
    let uri = doc.get("jwks_uri").and_then(Value::as_str).ok_or(FetchError::BadDocument("discovery document has no jwks_uri"))?;
    if !url_allowed(uri, dev) {
        return Err(FetchError::BadDocument("jwks_uri is not https"));
    }
    Ok(uri.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery() {
        let doc = br#"{"issuer":"https://i","jwks_uri":"https://i/certs"}"#;
        assert_eq!(jwks_uri_from(doc, "https://i", false).unwrap(), "https://i/certs");
        assert!(jwks_uri_from(doc, "https://i/", false).is_err());
        assert!(jwks_uri_from(br#"{"issuer":"https://i","jwks_uri":"http://i/certs"}"#, "https://i", false).is_err());
        assert!(jwks_uri_from(br#"{"issuer":"https://i"}"#, "https://i", false).is_err());
        assert!(jwks_uri_from(b"<html>", "https://i", false).is_err());
    }
}
