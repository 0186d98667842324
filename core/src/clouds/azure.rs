//! Microsoft Entra ID: the OAuth 2.0 client credentials grant with a client assertion
//! (workload identity federation). edge-sts's assertion stands in for the application's
//! secret or certificate.
//!
//! Cloud side: an app registration (or user-assigned managed identity) with a federated
//! identity credential whose issuer is edge-sts's `issuer`, subject is the minted `sub`
//! (`subject_prefix` + client id, matched case-sensitively) and audience is
//! `api://AzureADTokenExchange`.
use super::{check_endpoint, expires_in_secs, form, safe_code, str_field, StsError};
use crate::clouds::Cloud;
use crate::io::fetch::{HttpRequest, FORM_CONTENT_TYPE};
use crate::jose::alg::Alg;
use crate::wire::oauth::valid_scope_token;
use crate::wire::reason;
use serde_json::{Map, Value};
use std::fmt;

pub const DEFAULT_AUTHORITY_HOST: &str = "https://login.microsoftonline.com";
/// The assertion's `aud` Entra expects, per national cloud.
pub const ASSERTION_AUDIENCE: &str = "api://AzureADTokenExchange";
pub const ASSERTION_AUDIENCE_US_GOV: &str = "api://AzureADTokenExchangeUSGov";
pub const ASSERTION_AUDIENCE_CHINA: &str = "api://AzureADTokenExchangeChina";
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How long azure-identity keeps the token file's assertion before it reads the file again:
/// 600 s in Python (`TokenFileMixin._get_service_account_token`, azure-identity
/// `_credentials/workload_identity.py`) and Go (`WorkloadIdentityCredential.getAssertion`,
/// azidentity `workload_identity.go`), 300 s in JS (`readFileContents`, identity
/// `workloadIdentityCredential.ts`). The longest is what an assertion must outlive.
pub const TOKEN_FILE_REREAD_SECS: u64 = 600;

/// The shortest `assertion_lifetime_secs` of an assertion-mode Entra target. The SDK may read
/// the file just before the helper rewrites it (at half-life), then present that assertion for
/// [`TOKEN_FILE_REREAD_SECS`] more: half the lifetime must cover the re-read interval plus
/// 300 s for clock skew and a late rewrite. Shorter, Entra refuses it now and then with
/// AADSTS700024, depending on when the SDK last read the file.
pub const MIN_TOKEN_FILE_ASSERTION_LIFETIME_SECS: u64 = 2 * (TOKEN_FILE_REREAD_SECS + 150);

fn invalid(field: &'static str, problem: &'static str, fix: &'static str) -> StsError {
    StsError::Invalid { cloud: Cloud::Azure, field, problem, fix }
}

fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5 && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn is_domain(s: &str) -> bool {
    s.len() <= 253
        && s.contains('.')
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// `<resource>/.default`: the scope asking for the app's statically granted permissions on a
/// resource (`https://management.azure.com` -> `https://management.azure.com/.default`). A
/// value that already ends in `/.default` is kept.
pub fn default_scope(resource: &str) -> String {
    if resource.ends_with("/.default") {
        return resource.to_owned();
    }
    format!("{}/.default", resource.trim_end_matches('/'))
}

/// One Azure cloud target: which tenant and application, for which resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzureApp {
    /// Authority host, default [`DEFAULT_AUTHORITY_HOST`] (`https://login.microsoftonline.us`,
    /// `https://login.chinacloudapi.cn` for national clouds).
    pub authority_host: String,
    /// Tenant id (GUID) or verified domain. `common`/`organizations`/`consumers` cannot issue
    /// app-only tokens.
    pub tenant: String,
    /// The application (client) id, a GUID.
    pub client_id: String,
    /// `<resource>/.default`.
    pub scope: String,
}

impl AzureApp {
    pub fn new(tenant: impl Into<String>, client_id: impl Into<String>, resource: &str) -> AzureApp {
        AzureApp {
            authority_host: DEFAULT_AUTHORITY_HOST.into(),
            tenant: tenant.into(),
            client_id: client_id.into(),
            scope: default_scope(resource),
        }
    }

    /// `<authority_host>/<tenant>/oauth2/v2.0/token`
    pub fn token_url(&self) -> String {
        format!("{}/{}/oauth2/v2.0/token", self.authority_host.trim_end_matches('/'), self.tenant)
    }

    /// Config lint: https authority (loopback http in dev mode), tenant, client id, scope.
    pub fn validate(&self, dev: bool) -> Result<(), StsError> {
        check_endpoint(Cloud::Azure, &self.authority_host, "authority_host", dev)?;
        self.check_params()
    }

    fn check_params(&self) -> Result<(), StsError> {
        if matches!(self.tenant.to_ascii_lowercase().as_str(), "common" | "organizations" | "consumers") {
            return Err(invalid(
                "tenant",
                "client credentials need a specific tenant, not common/organizations/consumers",
                "use the tenant id (a GUID)",
            ));
        }
        if !is_guid(&self.tenant) && !is_domain(&self.tenant) {
            return Err(invalid("tenant", "not a tenant id or domain", "use the tenant id (a GUID), e.g. from `az account show`"));
        }
        if !is_guid(&self.client_id) {
            return Err(invalid(
                "client_id",
                "not an application (client) id",
                "use the app registration's or managed identity's client id (a GUID)",
            ));
        }
        if !self.scope.ends_with("/.default") || self.scope.len() <= "/.default".len() || !valid_scope_token(&self.scope) {
            return Err(invalid(
                "scope",
                "client credentials take exactly one scope of the form <resource>/.default",
                "set resource, e.g. https://management.azure.com",
            ));
        }
        Ok(())
    }
}

/// Config lint: Entra takes only `RS256` client assertions.
pub fn check_assertion_alg(alg: Alg) -> Result<(), StsError> {
    Cloud::Azure.check_alg(alg)
}

/// Config lint: the assertion's audience must be Entra's token-exchange audience (public cloud,
/// US Government or China).
pub fn check_assertion_audience(aud: &str) -> Result<(), StsError> {
    if [ASSERTION_AUDIENCE, ASSERTION_AUDIENCE_US_GOV, ASSERTION_AUDIENCE_CHINA].contains(&aud) {
        return Ok(());
    }
    Err(invalid(
        "audience",
        "Entra accepts federated assertions only for its token-exchange audience",
        "set the target's audience to api://AzureADTokenExchange",
    ))
}

/// The token request: form POST to [`AzureApp::token_url`] with `client_id`, `scope`,
/// `grant_type=client_credentials`, `client_assertion_type` (jwt-bearer) and
/// `client_assertion` (edge-sts's assertion).
pub fn token_request(app: &AzureApp, client_assertion: &str) -> Result<HttpRequest, StsError> {
    app.check_params()?;
    let body = form([
        ("client_id", app.client_id.as_str()),
        ("scope", app.scope.as_str()),
        ("grant_type", "client_credentials"),
        ("client_assertion_type", CLIENT_ASSERTION_TYPE),
        ("client_assertion", client_assertion),
    ]);
    Ok(HttpRequest::post(app.token_url(), FORM_CONTENT_TYPE, body))
}

/// An Entra access token for the target's resource.
#[derive(Clone, PartialEq)]
pub struct AzureAccessToken {
    pub access_token: String,
    /// Seconds since the epoch.
    pub expires_at: f64,
}

impl fmt::Debug for AzureAccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AzureAccessToken").field("expires_at", &self.expires_at).finish_non_exhaustive()
    }
}

impl AzureAccessToken {
    pub fn expires_in(&self, now: f64) -> u64 {
        super::seconds_left(self.expires_at, now)
    }
}

/// Known AADSTS codes (from `error_codes`, else the `AADSTS<n>:` prefix of
/// `error_description`). None is the caller's fault (see [`super::Blame::Upstream`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AadstsCode {
    /// 70021: no federated identity credential matches the assertion's issuer, subject and
    /// audience together.
    NoMatchingFederatedIdentity,
    /// 700211: no federated identity credential for the assertion's issuer (check the issuer
    /// URL exactly, trailing slash included).
    FederatedIssuerMismatch,
    /// 700212: no federated identity credential for the assertion's audience.
    FederatedAudienceMismatch,
    /// 700213: no federated identity credential for the assertion's subject (matched
    /// case-sensitively).
    FederatedSubjectMismatch,
    /// 7002131: no federated identity credential whose subject, or (for a flexible federated
    /// identity credential) whose claims-matching expression, matches the assertion.
    FederatedSubjectOrExpressionMismatch,
    /// 7002138: a federated identity credential's subject equals the assertion's only when case
    /// is ignored ("The subject matches with case-insensitive comparison, but not with
    /// case-sensitive comparison": Entra compares issuer, subject and audience case-sensitively,
    /// Microsoft's identity-platform breaking-changes notes).
    FederatedSubjectCaseMismatch,
    /// 7002137: "no matching federated identity record" in the words troubleshooting notes
    /// quote for it (Azure DevOps service connections, Power Platform), without saying which of
    /// issuer, subject and audience failed: read as 70021.
    NoMatchingFederatedRecord,
    /// 700024: the assertion is not within its valid time range (clock skew, or too short a
    /// lifetime for the round trip).
    AssertionNotValidNow,
    /// 5002738: the assertion's algorithm is not supported (ES256 and friends).
    UnsupportedAlgorithm,
    /// 700016: the application is not found in the tenant.
    ApplicationNotFound,
    /// 90002: the tenant does not exist.
    TenantNotFound,
    /// 70011: the scope is not valid.
    InvalidScope,
    /// 500011: the resource principal is not found in the tenant.
    ResourceNotFound,
    /// 7000272: the assertion's `kid` is not in the JWKS Entra found through the issuer's
    /// discovery (a key used before it was published, or a JWKS Entra still has cached).
    KeyNotFound,
    /// 50166 (also seen as 90061 and 501661, the same "Request to External OIDC endpoint
    /// failed"): Entra could not fetch the issuer's discovery document or JWKS. Holds the number
    /// Entra sent, for the log.
    ExternalOidcRequestFailed(u64),
    /// 700027: the assertion's signature does not verify with the published key of its `kid`.
    InvalidSignature,
}

impl AadstsCode {
    pub fn from_number(n: u64) -> Option<AadstsCode> {
        Some(match n {
            70021 => AadstsCode::NoMatchingFederatedIdentity,
            700211 => AadstsCode::FederatedIssuerMismatch,
            700212 => AadstsCode::FederatedAudienceMismatch,
            700213 => AadstsCode::FederatedSubjectMismatch,
            7002131 => AadstsCode::FederatedSubjectOrExpressionMismatch,
            7002138 => AadstsCode::FederatedSubjectCaseMismatch,
            7002137 => AadstsCode::NoMatchingFederatedRecord,
            700024 => AadstsCode::AssertionNotValidNow,
            5002738 => AadstsCode::UnsupportedAlgorithm,
            700016 => AadstsCode::ApplicationNotFound,
            90002 => AadstsCode::TenantNotFound,
            70011 => AadstsCode::InvalidScope,
            500011 => AadstsCode::ResourceNotFound,
            7000272 => AadstsCode::KeyNotFound,
            50166 | 90061 | 501661 => AadstsCode::ExternalOidcRequestFailed(n),
            700027 => AadstsCode::InvalidSignature,
            _ => return None,
        })
    }

    pub fn number(self) -> u64 {
        match self {
            AadstsCode::NoMatchingFederatedIdentity => 70021,
            AadstsCode::FederatedIssuerMismatch => 700211,
            AadstsCode::FederatedAudienceMismatch => 700212,
            AadstsCode::FederatedSubjectMismatch => 700213,
            AadstsCode::FederatedSubjectOrExpressionMismatch => 7002131,
            AadstsCode::FederatedSubjectCaseMismatch => 7002138,
            AadstsCode::NoMatchingFederatedRecord => 7002137,
            AadstsCode::AssertionNotValidNow => 700024,
            AadstsCode::UnsupportedAlgorithm => 5002738,
            AadstsCode::ApplicationNotFound => 700016,
            AadstsCode::TenantNotFound => 90002,
            AadstsCode::InvalidScope => 70011,
            AadstsCode::ResourceNotFound => 500011,
            AadstsCode::KeyNotFound => 7000272,
            AadstsCode::ExternalOidcRequestFailed(n) => n,
            AadstsCode::InvalidSignature => 700027,
        }
    }

    pub fn reason(self) -> &'static str {
        match self {
            AadstsCode::NoMatchingFederatedIdentity | AadstsCode::NoMatchingFederatedRecord => reason::STS_AZURE_NO_FEDERATED_CREDENTIAL,
            AadstsCode::FederatedIssuerMismatch => reason::STS_AZURE_ISSUER_MISMATCH,
            AadstsCode::FederatedAudienceMismatch => reason::STS_AZURE_AUDIENCE_MISMATCH,
            AadstsCode::FederatedSubjectMismatch => reason::STS_AZURE_SUBJECT_MISMATCH,
            AadstsCode::FederatedSubjectOrExpressionMismatch => reason::STS_AZURE_EXPRESSION_MISMATCH,
            AadstsCode::FederatedSubjectCaseMismatch => reason::STS_AZURE_SUBJECT_CASE,
            AadstsCode::AssertionNotValidNow => reason::STS_AZURE_ASSERTION_TIME,
            AadstsCode::UnsupportedAlgorithm => reason::STS_AZURE_UNSUPPORTED_ALG,
            AadstsCode::ApplicationNotFound => reason::STS_AZURE_APP_NOT_FOUND,
            AadstsCode::TenantNotFound => reason::STS_AZURE_TENANT_NOT_FOUND,
            AadstsCode::InvalidScope => reason::STS_AZURE_INVALID_SCOPE,
            AadstsCode::ResourceNotFound => reason::STS_AZURE_RESOURCE_NOT_FOUND,
            AadstsCode::KeyNotFound => reason::STS_AZURE_KEY_NOT_FOUND,
            AadstsCode::ExternalOidcRequestFailed(_) => reason::STS_AZURE_IDP_COMMUNICATION,
            AadstsCode::InvalidSignature => reason::STS_AZURE_INVALID_SIGNATURE,
        }
    }
}

impl fmt::Display for AadstsCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AadstsCode::NoMatchingFederatedIdentity | AadstsCode::NoMatchingFederatedRecord => {
                "Entra ID found no federated credential matching edge-sts's assertion"
            }
            AadstsCode::FederatedIssuerMismatch => "Entra ID found no federated credential for edge-sts's issuer",
            AadstsCode::FederatedAudienceMismatch => "Entra ID found no federated credential for the assertion's audience",
            AadstsCode::FederatedSubjectMismatch => "Entra ID found no federated credential for this subject",
            AadstsCode::FederatedSubjectOrExpressionMismatch => {
                "Entra ID found no federated credential whose subject or claims expression matches"
            }
            AadstsCode::FederatedSubjectCaseMismatch => "Entra ID found a federated credential for this subject only when case is ignored",
            AadstsCode::AssertionNotValidNow => "Entra ID found edge-sts's assertion outside its validity",
            AadstsCode::UnsupportedAlgorithm => "Entra ID does not support the assertion's signing algorithm",
            AadstsCode::ApplicationNotFound => "Entra ID does not know the application in this tenant",
            AadstsCode::TenantNotFound => "Entra ID does not know the tenant",
            AadstsCode::InvalidScope => "Entra ID refused the scope",
            AadstsCode::ResourceNotFound => "Entra ID does not know the resource",
            AadstsCode::KeyNotFound => "Entra ID did not find the assertion's signing key in edge-sts's JWKS",
            AadstsCode::ExternalOidcRequestFailed(_) => "Entra ID could not fetch edge-sts's discovery document or JWKS",
            AadstsCode::InvalidSignature => "Entra ID found the assertion's signature invalid",
        })
    }
}

fn by_status(status: u16, what: &'static str) -> StsError {
    match status {
        429 => StsError::Throttled { cloud: Cloud::Azure, http_status: status },
        500..=599 => StsError::Unavailable { cloud: Cloud::Azure, http_status: status },
        200..=299 => StsError::BadResponse { cloud: Cloud::Azure, http_status: status, what },
        _ => StsError::Unknown { cloud: Cloud::Azure, http_status: status, code: None },
    }
}

/// The first AADSTS number: `error_codes[0]`, else the digits after a leading `AADSTS` in
/// `error_description` (only the digits are read).
fn aadsts_number(m: &Map<String, Value>) -> Option<u64> {
    if let Some(n) = m.get("error_codes").and_then(Value::as_array).and_then(|a| a.first()).and_then(Value::as_u64) {
        return Some(n);
    }
    let rest = str_field(m, "error_description")?.strip_prefix("AADSTS")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).take(10).collect();
    digits.parse().ok()
}

fn error_from(status: u16, m: &Map<String, Value>) -> StsError {
    let number = aadsts_number(m);
    if let Some(code) = number.and_then(AadstsCode::from_number) {
        return StsError::Azure { code, http_status: status };
    }
    let error = m.get("error").and_then(Value::as_str).unwrap_or("");
    if status == 429 {
        return StsError::Throttled { cloud: Cloud::Azure, http_status: status };
    }
    if status >= 500 || matches!(error, "temporarily_unavailable" | "server_error") {
        return StsError::Unavailable { cloud: Cloud::Azure, http_status: status };
    }
    let code = match number {
        Some(n) => Some(format!("AADSTS{n}")),
        None => safe_code(error),
    };
    StsError::Unknown { cloud: Cloud::Azure, http_status: status, code }
}

/// Parses Entra's answer. `200` with `access_token`, `expires_in` (number or numeric string)
/// and `token_type: Bearer` -> [`AzureAccessToken`] expiring at `now + expires_in`; otherwise
/// the AADSTS code (see [`AadstsCode`]), 429 `Throttled`, 5xx or `temporarily_unavailable`
/// `Unavailable`, other codes `Unknown` with `AADSTS<n>`. `error_description` is never kept:
/// it echoes the assertion's issuer and subject.
pub fn parse_response(status: u16, body: &[u8], now: f64) -> Result<AzureAccessToken, StsError> {
    let m = crate::jose::json::parse_object(body, super::JSON_DEPTH).map_err(|_| by_status(status, "response is not a JSON object"))?;
    if !(200..300).contains(&status) || m.contains_key("error") {
        return Err(error_from(status, &m));
    }
    let bad = |what| StsError::BadResponse { cloud: Cloud::Azure, http_status: status, what };
    let access_token = str_field(&m, "access_token").ok_or(bad("no access_token"))?;
    let expires_in = expires_in_secs(m.get("expires_in")).ok_or(bad("no positive expires_in"))?;
    if !str_field(&m, "token_type").is_some_and(|t| t.eq_ignore_ascii_case("bearer")) {
        return Err(bad("token_type is not Bearer"));
    }
    Ok(AzureAccessToken { access_token: access_token.to_owned(), expires_at: now + expires_in as f64 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clouds::testutil::{fixture, Wire, WireHint};
    use crate::clouds::{Blame, CloudCredentials};
    use serde_json::json;

    const NOW: f64 = 1_573_303_000.0;
    const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    const CLIENT: &str = "af3110ba-0ba9-4412-b1a0-59f50b7e9273";
    const ASSERTION: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJhdWQiOiJhcGk6Ly9BenVyZUFEVG9rZW5FeGNoYW5nZSJ9.c2ln";

    fn app() -> AzureApp {
        AzureApp::new(TENANT, CLIENT, "https://management.azure.com/")
    }

    #[test]
    fn scopes() {
        let table = [
            ("https://management.azure.com", "https://management.azure.com/.default"),
            ("https://management.azure.com/", "https://management.azure.com/.default"),
            ("https://vault.azure.net", "https://vault.azure.net/.default"),
            ("api://orders-api", "api://orders-api/.default"),
            ("00000003-0000-0000-c000-000000000000", "00000003-0000-0000-c000-000000000000/.default"),
            ("https://graph.microsoft.com/.default", "https://graph.microsoft.com/.default"),
        ];
        for (resource, want) in table {
            assert_eq!(default_scope(resource), want, "{resource}");
        }
    }

    #[test]
    fn request() {
        let req = token_request(&app(), ASSERTION).unwrap();
        assert_eq!(req.method, "POST");
        assert_eq!(req.url, format!("https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token"));
        assert_eq!(req.headers, vec![("content-type".to_owned(), "application/x-www-form-urlencoded".to_owned())]);
        let want: Vec<(String, String)> = [
            ("client_id", CLIENT),
            ("scope", "https://management.azure.com/.default"),
            ("grant_type", "client_credentials"),
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
            ("client_assertion", ASSERTION),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(req.form_params(), want);

        let gov = AzureApp { authority_host: "https://login.microsoftonline.us/".into(), tenant: "contoso.onmicrosoft.us".into(), ..app() };
        assert_eq!(
            token_request(&gov, ASSERTION).unwrap().url,
            "https://login.microsoftonline.us/contoso.onmicrosoft.us/oauth2/v2.0/token"
        );
    }

    #[test]
    fn request_refusals() {
        let with = |f: &dyn Fn(&mut AzureApp)| {
            let mut a = app();
            f(&mut a);
            a
        };
        let table: Vec<(AzureApp, Option<&str>)> = vec![
            (with(&|a| a.tenant = "common".into()), Some("tenant")),
            (with(&|a| a.tenant = "Organizations".into()), Some("tenant")),
            (with(&|a| a.tenant = "contoso.onmicrosoft.com".into()), None),
            (with(&|a| a.tenant = "contoso".into()), Some("tenant")),
            (with(&|a| a.tenant = "../evil".into()), Some("tenant")),
            (with(&|a| a.tenant = "72f988bf-86f1-41af-91ab-2d7cd011db4".into()), Some("tenant")),
            (with(&|a| a.client_id = "orders-service".into()), Some("client_id")),
            (with(&|a| a.client_id = "AF3110BA-0BA9-4412-B1A0-59F50B7E9273".into()), None),
            (with(&|a| a.scope = "https://management.azure.com/user_impersonation".into()), Some("scope")),
            (with(&|a| a.scope = "/.default".into()), Some("scope")),
            (with(&|a| a.scope = "a b/.default".into()), Some("scope")),
        ];
        for (a, want) in &table {
            match (token_request(a, ASSERTION), want) {
                (Ok(_), None) => {}
                (Err(e @ StsError::Invalid { cloud: Cloud::Azure, .. }), Some(f)) => {
                    assert!(matches!(e, StsError::Invalid { field, .. } if field == *f), "{a:?}: {e:?}");
                    assert_eq!(e.wire_hint(), WireHint { status: 503, error: "server_error", retry_after: None });
                }
                (got, _) => panic!("{a:?}: {got:?}"),
            }
        }
        assert_eq!(app().validate(false), Ok(()));
        let local = AzureApp { authority_host: "http://127.0.0.1:9300".into(), ..app() };
        assert!(matches!(local.validate(false), Err(StsError::Invalid { field: "authority_host", .. })));
        assert_eq!(local.validate(true), Ok(()));
        assert_eq!(local.token_url(), format!("http://127.0.0.1:9300/{TENANT}/oauth2/v2.0/token"));
    }

    #[test]
    fn lints() {
        assert_eq!(check_assertion_alg(Alg::RS256), Ok(()));
        for alg in [Alg::ES256, Alg::ES384, Alg::EdDSA, Alg::PS256, Alg::RS512] {
            assert!(matches!(check_assertion_alg(alg), Err(StsError::Invalid { field: "signing_alg", .. })), "{alg}");
        }
        for aud in [ASSERTION_AUDIENCE, ASSERTION_AUDIENCE_US_GOV, ASSERTION_AUDIENCE_CHINA] {
            assert_eq!(check_assertion_audience(aud), Ok(()));
        }
        for aud in ["api://azureadtokenexchange", "https://login.microsoftonline.com", "api://AzureADTokenExchange/"] {
            assert!(matches!(check_assertion_audience(aud), Err(StsError::Invalid { field: "audience", .. })), "{aud}");
        }
    }

    #[test]
    fn parse_success() {
        let t = parse_response(200, &fixture("azure/success.json"), NOW).unwrap();
        assert!(t.access_token.starts_with("eyJ0eXAiOiJKV1Qi"));
        assert_eq!(t.expires_at, NOW + 3599.0);
        assert!(!format!("{t:?}").contains("eyJ"));
        let r = CloudCredentials::Azure(t.clone()).to_token_response(NOW + 99.0);
        assert_eq!(
            Value::Object(r),
            json!({"access_token": t.access_token, "issued_token_type": "urn:ietf:params:oauth:token-type:access_token", "token_type": "Bearer", "expires_in": 3500})
        );
        // The v1-style string expires_in.
        let t1 = parse_response(200, &fixture("azure/success_string_expiry.json"), NOW).unwrap();
        assert_eq!(t1.expires_in(NOW), 3599);

        let bad = |what| Err(StsError::BadResponse { cloud: Cloud::Azure, http_status: 200, what });
        let table: [(&str, Result<AzureAccessToken, StsError>); 4] = [
            (r#"{"token_type":"Bearer","expires_in":3599}"#, bad("no access_token")),
            (r#"{"token_type":"Bearer","expires_in":"soon","access_token":"x"}"#, bad("no positive expires_in")),
            (r#"{"token_type":"pop","expires_in":3599,"access_token":"x"}"#, bad("token_type is not Bearer")),
            (r#"{"token_type":"Bearer","expires_in":3599,"access_token":"x"} trailing"#, bad("response is not a JSON object")),
        ];
        for (body, want) in table {
            assert_eq!(parse_response(200, body.as_bytes(), NOW), want, "{body}");
        }
    }

    #[test]
    fn parse_errors() {
        use AadstsCode::*;
        let az = |code, http_status| StsError::Azure { code, http_status };
        let upstream = WireHint { status: 502, error: "server_error", retry_after: None };
        let table: Vec<(&str, u16, StsError, &str)> = vec![
            ("aadsts70021", 400, az(NoMatchingFederatedIdentity, 400), "sts.azure.no_federated_credential"),
            ("aadsts700211", 401, az(FederatedIssuerMismatch, 401), "sts.azure.issuer_mismatch"),
            ("aadsts700212", 401, az(FederatedAudienceMismatch, 401), "sts.azure.audience_mismatch"),
            ("aadsts700213", 401, az(FederatedSubjectMismatch, 401), "sts.azure.subject_mismatch"),
            ("aadsts7002131", 401, az(FederatedSubjectOrExpressionMismatch, 401), "sts.azure.expression_mismatch"),
            ("aadsts7002138", 400, az(FederatedSubjectCaseMismatch, 400), "sts.azure.subject_case"),
            ("aadsts7002137", 400, az(NoMatchingFederatedRecord, 400), "sts.azure.no_federated_credential"),
            ("aadsts700024", 401, az(AssertionNotValidNow, 401), "sts.azure.assertion_time"),
            ("aadsts5002738", 400, az(UnsupportedAlgorithm, 400), "sts.azure.unsupported_alg"),
            ("aadsts700016", 400, az(ApplicationNotFound, 400), "sts.azure.app_not_found"),
            ("aadsts90002", 400, az(TenantNotFound, 400), "sts.azure.tenant_not_found"),
            ("aadsts70011", 400, az(InvalidScope, 400), "sts.azure.invalid_scope"),
            ("aadsts500011", 400, az(ResourceNotFound, 400), "sts.azure.resource_not_found"),
            ("aadsts7000272", 401, az(KeyNotFound, 401), "sts.azure.key_not_found"),
            ("aadsts50166", 400, az(ExternalOidcRequestFailed(50166), 400), "sts.azure.idp_communication"),
            ("aadsts90061", 400, az(ExternalOidcRequestFailed(90061), 400), "sts.azure.idp_communication"),
            ("aadsts700027", 401, az(InvalidSignature, 401), "sts.azure.invalid_signature"),
            // No error_codes: the description's AADSTS prefix still identifies it.
            ("aadsts700213_no_error_codes", 401, az(FederatedSubjectMismatch, 401), "sts.azure.subject_mismatch"),
            (
                "aadsts50027_unknown",
                400,
                StsError::Unknown { cloud: Cloud::Azure, http_status: 400, code: Some("AADSTS50027".into()) },
                "sts.azure.unknown",
            ),
            (
                "plain_oauth_error",
                400,
                StsError::Unknown { cloud: Cloud::Azure, http_status: 400, code: Some("invalid_request".into()) },
                "sts.azure.unknown",
            ),
            ("aadsts90033_transient", 503, StsError::Unavailable { cloud: Cloud::Azure, http_status: 503 }, "sts.azure.unavailable"),
            ("temporarily_unavailable", 400, StsError::Unavailable { cloud: Cloud::Azure, http_status: 400 }, "sts.azure.unavailable"),
            ("plain_oauth_error", 429, StsError::Throttled { cloud: Cloud::Azure, http_status: 429 }, "sts.azure.throttled"),
        ];
        for (name, status, want, reason) in table {
            let got = parse_response(status, &fixture(&format!("azure/{name}.json")), NOW).unwrap_err();
            assert_eq!(got, want, "{name}");
            assert_eq!(got.reason(), reason, "{name}");
            if !matches!(got, StsError::Throttled { .. }) {
                assert_eq!(got.wire_hint(), upstream, "{name}");
            }
            assert_ne!(got.blame(), Blame::Caller, "{name}");
            let shown = format!("{got} {:?} {got:?}", got.cloud_code());
            for echoed in ["kc-prod", "sts.example.com", "Trace ID", "72f988bf", "ES256"] {
                assert!(!shown.contains(echoed), "{name}: {shown}");
            }
        }
        assert_eq!(
            parse_response(400, &fixture("azure/aadsts700213.json"), NOW).unwrap_err().cloud_code().as_deref(),
            Some("AADSTS700213")
        );
        assert_eq!(
            parse_response(401, &fixture("azure/aadsts7002131.json"), NOW).unwrap_err().cloud_code().as_deref(),
            Some("AADSTS7002131")
        );
        for n in ["7002138", "7002137"] {
            let e = parse_response(400, &fixture(&format!("azure/aadsts{n}.json")), NOW).unwrap_err();
            assert_eq!(e.cloud_code(), Some(format!("AADSTS{n}")));
            assert!(!e.retryable(), "{n}: a trust configuration to fix, not a passing fault");
        }
        // The codes of a key rotation gone wrong and of an unreachable issuer: each its own
        // reason and cloud code; only the fetch failure may pass by itself.
        for (name, status, code, retryable) in [
            ("aadsts7000272", 401, "AADSTS7000272", false),
            ("aadsts50166", 400, "AADSTS50166", true),
            ("aadsts90061", 400, "AADSTS90061", true),
            ("aadsts700027", 401, "AADSTS700027", false),
        ] {
            let e = parse_response(status, &fixture(&format!("azure/{name}.json")), NOW).unwrap_err();
            assert_eq!(e.cloud_code().as_deref(), Some(code), "{name}");
            assert_eq!(e.retryable(), retryable, "{name}");
            assert!(!e.to_string().contains("3F2A9C1E"), "{name}: no thumbprint echoed");
        }
        assert_eq!(parse_response(429, b"Too Many Requests", NOW), Err(StsError::Throttled { cloud: Cloud::Azure, http_status: 429 }));
        assert_eq!(parse_response(502, b"<html>", NOW), Err(StsError::Unavailable { cloud: Cloud::Azure, http_status: 502 }));
        assert_eq!(parse_response(400, b"", NOW), Err(StsError::Unknown { cloud: Cloud::Azure, http_status: 400, code: None }));
    }
}
