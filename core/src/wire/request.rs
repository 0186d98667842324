//! Parsing `POST /token` (RFC 8693 §2.1) into a `TokenRequest`, strictly.
use crate::io::fetch::FORM_CONTENT_TYPE;
use crate::wire::oauth::{GRANT_TOKEN_EXCHANGE, TT_ACCESS_TOKEN, TT_JWT};
use crate::wire::reason;
use std::fmt;

/// `requested_token_type` for an AWS target: answer with exactly the AWS CLI's
/// `credential_process` JSON (`Version: 1`), so a profile can call edge-sts directly.
pub const TT_AWS_CREDENTIAL_PROCESS: &str = "urn:edge-sts:params:token-type:aws-credential-process";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestError {
    MethodNotAllowed,
    ContentType,
    BodyTooLarge,
    Missing(&'static str),
    Repeated(&'static str),
    UnsupportedGrantType,
    SubjectTokenType,
    RequestedTokenType,
    /// A `requested_token_type` other than `...:token-type:jwt` for a cloud target in
    /// assertion mode, which answers only with its assertion.
    AssertionTokenType,
    /// `subject_token` and `Authorization: Bearer` both present and different.
    TokenMismatch,
    ActorToken,
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::MethodNotAllowed => f.write_str("method not allowed; use POST"),
            RequestError::ContentType => f.write_str("content type must be application/x-www-form-urlencoded"),
            RequestError::BodyTooLarge => f.write_str("request body is too large"),
            RequestError::Missing(p) => write!(f, "missing parameter `{p}`"),
            RequestError::Repeated(p) => write!(f, "parameter `{p}` is repeated"),
            RequestError::UnsupportedGrantType => f.write_str("only the token-exchange grant is supported"),
            RequestError::SubjectTokenType => f.write_str("subject_token_type must be access_token or jwt"),
            RequestError::RequestedTokenType => f.write_str("requested_token_type is not offered"),
            RequestError::AssertionTokenType => {
                f.write_str("the target is in assertion mode and issues only urn:ietf:params:oauth:token-type:jwt")
            }
            RequestError::TokenMismatch => f.write_str("subject_token and the Authorization header differ"),
            RequestError::ActorToken => f.write_str("delegation (actor_token) is not configured"),
        }
    }
}

impl RequestError {
    pub fn reason(&self) -> &'static str {
        match self {
            RequestError::MethodNotAllowed => reason::REQUEST_METHOD,
            RequestError::ContentType => reason::REQUEST_CONTENT_TYPE,
            RequestError::BodyTooLarge => reason::REQUEST_TOO_LARGE,
            RequestError::Missing(_) => reason::REQUEST_MISSING,
            RequestError::Repeated(_) => reason::REQUEST_REPEATED,
            RequestError::UnsupportedGrantType => reason::REQUEST_GRANT_TYPE,
            RequestError::SubjectTokenType => reason::REQUEST_SUBJECT_TOKEN_TYPE,
            RequestError::RequestedTokenType | RequestError::AssertionTokenType => reason::REQUEST_REQUESTED_TOKEN_TYPE,
            RequestError::TokenMismatch => reason::REQUEST_TOKEN_MISMATCH,
            RequestError::ActorToken => reason::REQUEST_ACTOR_TOKEN,
        }
    }
}

/// A target as the caller named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetRef {
    /// `audience=<target name>`
    Name(String),
    /// `resource=<target audience URI>` (RFC 8707)
    Uri(String),
}

/// The `requested_token_type` a request named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RequestedType {
    /// None named: the target's usual answer.
    #[default]
    Unspecified,
    /// `urn:ietf:params:oauth:token-type:access_token`
    AccessToken,
    /// `urn:ietf:params:oauth:token-type:jwt`
    Jwt,
    /// [`TT_AWS_CREDENTIAL_PROCESS`]
    AwsCredentialProcess,
}

#[derive(Clone, PartialEq, Eq)]
pub struct TokenRequest {
    pub subject_token: String,
    pub targets: Vec<TargetRef>,
    pub scope: Option<String>,
    pub requested: RequestedType,
}

impl TokenRequest {
    /// `requested_token_type` was [`TT_AWS_CREDENTIAL_PROCESS`].
    pub fn credential_process(&self) -> bool {
        self.requested == RequestedType::AwsCredentialProcess
    }
}

impl fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the token.
        f.debug_struct("TokenRequest").field("targets", &self.targets).field("scope", &self.scope).finish_non_exhaustive()
    }
}

fn single(slot: &mut Option<String>, name: &'static str, value: String) -> Result<(), RequestError> {
    if slot.replace(value).is_some() {
        return Err(RequestError::Repeated(name));
    }
    Ok(())
}

/// The token of an `Authorization: Bearer <token>` header value (scheme case-insensitive).
pub fn bearer(authorization: &str) -> Option<String> {
    let (scheme, rest) = authorization.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim().to_owned())
}

/// Parses the form body. `authorization` is the raw `Authorization` header, if any.
pub fn parse(content_type: Option<&str>, body: &[u8], authorization: Option<&str>, max_body: usize) -> Result<TokenRequest, RequestError> {
    if body.len() > max_body {
        return Err(RequestError::BodyTooLarge);
    }
    let ct = content_type.unwrap_or("").split(';').next().unwrap_or("").trim();
    if !ct.eq_ignore_ascii_case(FORM_CONTENT_TYPE) {
        return Err(RequestError::ContentType);
    }
    let (mut grant, mut token, mut token_type, mut scope, mut requested) = (None, None, None, None, None);
    let mut targets = Vec::new();
    let mut actor = false;
    for (k, v) in form_urlencoded::parse(body) {
        let v = v.into_owned();
        match k.as_ref() {
            "grant_type" => single(&mut grant, "grant_type", v)?,
            "subject_token" => single(&mut token, "subject_token", v)?,
            "subject_token_type" => single(&mut token_type, "subject_token_type", v)?,
            "scope" => single(&mut scope, "scope", v)?,
            "requested_token_type" => single(&mut requested, "requested_token_type", v)?,
            "audience" => targets.push(TargetRef::Name(v)),
            "resource" => targets.push(TargetRef::Uri(v)),
            "actor_token" | "actor_token_type" => actor = true,
            _ => {} // RFC 6749 §3.2: unknown parameters are ignored
        }
    }
    match grant.as_deref() {
        None => return Err(RequestError::Missing("grant_type")),
        Some(GRANT_TOKEN_EXCHANGE) => {}
        Some(_) => return Err(RequestError::UnsupportedGrantType),
    }
    if actor {
        return Err(RequestError::ActorToken);
    }
    let bearer = authorization.and_then(bearer);
    let subject_token = match (token, bearer) {
        (Some(t), Some(b)) if t != b => return Err(RequestError::TokenMismatch),
        (Some(t), _) | (None, Some(t)) if !t.is_empty() => t,
        _ => return Err(RequestError::Missing("subject_token")),
    };
    match token_type.as_deref() {
        None => return Err(RequestError::Missing("subject_token_type")),
        Some(TT_ACCESS_TOKEN | TT_JWT) => {}
        Some(_) => return Err(RequestError::SubjectTokenType),
    }
    let requested = match requested.as_deref() {
        None => RequestedType::Unspecified,
        Some(TT_ACCESS_TOKEN) => RequestedType::AccessToken,
        Some(TT_JWT) => RequestedType::Jwt,
        Some(TT_AWS_CREDENTIAL_PROCESS) => RequestedType::AwsCredentialProcess,
        Some(_) => return Err(RequestError::RequestedTokenType),
    };
    let scope = scope.filter(|s| !s.trim().is_empty());
    Ok(TokenRequest { subject_token, targets, scope, requested })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CT: Option<&str> = Some("application/x-www-form-urlencoded");
    const OK: &str = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token";

    fn check(body: &str, auth: Option<&str>) -> Result<TokenRequest, RequestError> {
        parse(CT, body.as_bytes(), auth, 32 * 1024)
    }

    #[test]
    fn table() {
        let r = check(&format!("{OK}&subject_token=abc&audience=orders&resource=https%3A%2F%2Fx&scope=a+b&foo=bar"), None).unwrap();
        assert_eq!(r.subject_token, "abc");
        assert_eq!(r.targets, vec![TargetRef::Name("orders".into()), TargetRef::Uri("https://x".into())]);
        assert_eq!(r.scope.as_deref(), Some("a b"));
        assert_eq!(check(OK, Some("Bearer abc")).unwrap().subject_token, "abc");
        assert_eq!(check(&format!("{OK}&subject_token=abc"), Some("Bearer abc")).unwrap().subject_token, "abc");
        assert_eq!(check(&format!("{OK}&subject_token=abc"), Some("Basic Zm9vOmJhcg==")).unwrap().subject_token, "abc");
        assert_eq!(check(&format!("{OK}&subject_token=abc"), Some("Bearer xyz")), Err(RequestError::TokenMismatch));
        assert_eq!(check(OK, None), Err(RequestError::Missing("subject_token")));
        assert_eq!(check(&format!("{OK}&subject_token="), None), Err(RequestError::Missing("subject_token")));
        assert_eq!(check(&format!("{OK}&subject_token=a&subject_token=a"), None), Err(RequestError::Repeated("subject_token")));
        assert_eq!(check(&format!("{OK}&subject_token=a&scope=x&scope=y"), None), Err(RequestError::Repeated("scope")));
        assert_eq!(check("subject_token=a", None), Err(RequestError::Missing("grant_type")));
        assert_eq!(check("grant_type=client_credentials&subject_token=a", None), Err(RequestError::UnsupportedGrantType));
        assert_eq!(check(&format!("{OK}&subject_token=a&actor_token=b"), None), Err(RequestError::ActorToken));
        assert_eq!(
            check(&format!("{OK}&subject_token=a&requested_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aid_token"), None),
            Err(RequestError::RequestedTokenType)
        );
        let no_type = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&subject_token=a";
        assert_eq!(check(no_type, None), Err(RequestError::Missing("subject_token_type")));
        assert_eq!(
            check(&format!("{no_type}&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aid_token"), None),
            Err(RequestError::SubjectTokenType)
        );
        assert_eq!(parse(Some("application/json"), b"{}", None, 10), Err(RequestError::ContentType));
        assert_eq!(parse(None, OK.as_bytes(), None, 1000), Err(RequestError::ContentType));
        assert!(
            parse(Some("application/x-www-form-urlencoded; charset=utf-8"), format!("{OK}&subject_token=a").as_bytes(), None, 1000).is_ok()
        );
        assert_eq!(parse(CT, &[b'a'; 11], None, 10), Err(RequestError::BodyTooLarge));
        let rtt = |t: &str| check(&format!("{OK}&subject_token=a&requested_token_type={t}"), None).map(|r| r.requested);
        assert_eq!(check(&format!("{OK}&subject_token=a"), None).unwrap().requested, RequestedType::Unspecified);
        assert_eq!(rtt("urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token"), Ok(RequestedType::AccessToken));
        assert_eq!(rtt("urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Ajwt"), Ok(RequestedType::Jwt));
        let cp = rtt("urn%3Aedge-sts%3Aparams%3Atoken-type%3Aaws-credential-process");
        assert_eq!(cp, Ok(RequestedType::AwsCredentialProcess));
    }
}
