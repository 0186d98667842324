//! AWS STS `AssumeRoleWithWebIdentity` over the Query API. The call is unsigned: the web
//! identity token (edge-sts's assertion) is the authentication, so edge-sts needs no AWS keys.
//!
//! Cloud side: an IAM OIDC identity provider for edge-sts's `issuer` with the assertion's
//! audience as a client id, and a role whose trust policy allows
//! `sts:AssumeRoleWithWebIdentity` for that provider, usually with conditions on
//! `<issuer host>:aud` and `<issuer host>:sub`.
use super::{check_endpoint, form, safe_code, StsError};
use crate::clouds::Cloud;
use crate::io::fetch::{HttpRequest, FORM_CONTENT_TYPE};
use crate::wire::reason;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::fmt;

/// The global endpoint. Regional endpoints ([`regional_endpoint`]) are recommended: lower
/// latency, and they keep working if the global one is unavailable.
pub const DEFAULT_ENDPOINT: &str = "https://sts.amazonaws.com/";
pub const ACTION: &str = "AssumeRoleWithWebIdentity";
pub const API_VERSION: &str = "2011-06-15";
/// `DurationSeconds` bounds. The role's `MaxSessionDuration` (default 1 hour) caps it further;
/// asking for more gives `ValidationError`.
pub const MIN_DURATION_SECS: u32 = 900;
pub const MAX_DURATION_SECS: u32 = 43_200;
pub const DEFAULT_DURATION_SECS: u32 = 3600;
/// At most 10 managed session policies.
pub const MAX_POLICY_ARNS: usize = 10;
/// Inline session policy: at most 2048 characters of plaintext.
pub const MAX_POLICY_CHARS: usize = 2048;
/// `WebIdentityToken` length bounds.
pub const MIN_TOKEN_LEN: usize = 4;
pub const MAX_TOKEN_LEN: usize = 20_000;
/// `RoleSessionName` length bounds.
pub const MIN_SESSION_NAME_LEN: usize = 2;
pub const MAX_SESSION_NAME_LEN: usize = 64;

/// The regional endpoint `https://sts.<region>.amazonaws.com/` (`.amazonaws.com.cn` for the
/// China regions). `None` if `region` is not of the form `xx-name-1`.
pub fn regional_endpoint(region: &str) -> Option<String> {
    let parts: Vec<&str> = region.split('-').collect();
    let ok = parts.len() >= 3
        && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
        && parts.last().is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()));
    if !ok || region.len() > 32 {
        return None;
    }
    let domain = if region.starts_with("cn-") { "amazonaws.com.cn" } else { "amazonaws.com" };
    Some(format!("https://sts.{region}.{domain}/"))
}

/// One AWS cloud target: which role, where, for how long, narrowed by which session policies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsRole {
    /// STS endpoint URL, default [`DEFAULT_ENDPOINT`].
    pub endpoint: String,
    /// `arn:<partition>:iam::<account>:role/<path/name>`.
    pub role_arn: String,
    /// `DurationSeconds`, 900..=43200. Prefer >= 3600: botocore refreshes 15 minutes before
    /// expiry, so 900-second credentials are "expiring" as soon as they are issued.
    pub duration_secs: u32,
    /// Inline session policy, a JSON object serialized as text (sent as `Policy`).
    pub policy: Option<String>,
    /// Managed session policy ARNs (sent as `PolicyArns.member.N.arn`).
    pub policy_arns: Vec<String>,
    /// How the `RoleSessionName` is formed (`aws.session_name`).
    pub session_name: SessionName,
}

impl AwsRole {
    /// A role on the global endpoint with the default duration and no session policies.
    pub fn new(role_arn: impl Into<String>) -> AwsRole {
        AwsRole {
            endpoint: DEFAULT_ENDPOINT.into(),
            role_arn: role_arn.into(),
            duration_secs: DEFAULT_DURATION_SECS,
            policy: None,
            policy_arns: Vec::new(),
            session_name: SessionName::ClientId,
        }
    }

    /// Config lint: everything AWS would refuse, plus an https endpoint (loopback http in dev
    /// mode, for an emulator such as moto).
    pub fn validate(&self, dev: bool) -> Result<(), StsError> {
        check_endpoint(Cloud::Aws, &self.endpoint, "endpoint", dev)?;
        self.check_params()
    }

    fn check_params(&self) -> Result<(), StsError> {
        if !valid_arn(&self.role_arn, "role/") {
            return Err(invalid(
                "role_arn",
                "not an IAM role ARN",
                "use the role's ARN, e.g. arn:aws:iam::123456789012:role/edge-sts-orders",
            ));
        }
        if !(MIN_DURATION_SECS..=MAX_DURATION_SECS).contains(&self.duration_secs) {
            return Err(invalid(
                "duration_secs",
                "AWS accepts DurationSeconds from 900 to 43200",
                "choose 900..=43200, and at most the role's MaxSessionDuration",
            ));
        }
        if let Some(p) = &self.policy {
            check_policy(p)?;
        }
        if self.policy_arns.len() > MAX_POLICY_ARNS {
            return Err(invalid("policy_arns", "AWS accepts at most 10 managed session policies", "list at most 10 policy ARNs"));
        }
        if !self.policy_arns.iter().all(|a| valid_arn(a, "policy/")) {
            return Err(invalid("policy_arns", "not an IAM policy ARN", "use ARNs such as arn:aws:iam::aws:policy/ReadOnlyAccess"));
        }
        Ok(())
    }
}

fn invalid(field: &'static str, problem: &'static str, fix: &'static str) -> StsError {
    StsError::Invalid { cloud: Cloud::Aws, field, problem, fix }
}

/// `arn:<partition>:iam::<account>:<kind><path/name>`; `account` is 12 digits, or `aws` for
/// AWS-managed policies.
fn valid_arn(arn: &str, kind: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [arn_lit, partition, service, region, account, resource] = parts[..] else {
        return false;
    };
    let account_ok = (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())) || (kind == "policy/" && account == "aws");
    (20..=2048).contains(&arn.len())
        && arn_lit == "arn"
        && partition.starts_with("aws")
        && partition.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
        && service == "iam"
        && region.is_empty()
        && account_ok
        && resource.len() > kind.len()
        && resource.starts_with(kind)
        && !resource.ends_with('/')
        && resource.bytes().all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-/".contains(&b))
}

/// An inline session policy: a JSON object of at most 2048 characters from the set AWS allows
/// (tab, LF, CR, U+0020..=U+00FF).
fn check_policy(p: &str) -> Result<(), StsError> {
    if p.chars().count() > MAX_POLICY_CHARS {
        return Err(invalid(
            "policy",
            "the session policy is longer than 2048 characters",
            "shorten the policy or use managed policy_arns",
        ));
    }
    if !p.chars().all(|c| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{ff}')) {
        return Err(invalid("policy", "the session policy has characters AWS refuses", "use only printable Latin-1 characters"));
    }
    if crate::jose::json::parse_object(p.as_bytes(), super::JSON_DEPTH).is_err() {
        return Err(invalid("policy", "the session policy is not a JSON object", "give an IAM policy document object"));
    }
    Ok(())
}

fn session_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '=' | ',' | '.' | '@' | '-')
}

/// Whether `s` is a `RoleSessionName` as it is: `[\w+=,.@-]{2,64}` (`\w` being ASCII letters,
/// digits and `_`).
pub fn is_session_name(s: &str) -> bool {
    (MIN_SESSION_NAME_LEN..=MAX_SESSION_NAME_LEN).contains(&s.len()) && s.chars().all(session_name_char)
}

/// Hex digits of the hash in a [`SessionName::Hashed`] name.
pub const SESSION_HASH_HEX: usize = 16;

/// How a target forms the `RoleSessionName` (`aws.session_name`). No mapping of arbitrary
/// client ids into 2..=64 characters of `[\w+=,.@-]` is both readable and collision-free, so
/// the configuration chooses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SessionName {
    /// `"client_id"` (default): the client id exactly as it is. The configuration accepts it
    /// only when every client rule listing the target is an exact id that is already a session
    /// name, and only one issuer is trusted (the name does not carry the realm).
    #[default]
    ClientId,
    /// `"hashed"`: `<readable>-<h>`, `h` the first 16 hex digits of
    /// SHA-256(issuer, 0xFF, client id) (0xFF never occurs in UTF-8, so the split is
    /// unambiguous), `<readable>` the client id with every other character replaced by `-`,
    /// cut so the whole is at most 64. Distinct (issuer, client id) pairs get distinct names up
    /// to the hash: two realms' callers never share one.
    Hashed,
}

impl SessionName {
    /// From the configuration's `aws.session_name`.
    pub fn parse(s: &str) -> Option<SessionName> {
        match s {
            "client_id" => Some(SessionName::ClientId),
            "hashed" => Some(SessionName::Hashed),
            _ => None,
        }
    }
}

/// The [`SessionName::Hashed`] name of (issuer, client id).
pub fn hashed_session_name(issuer: &str, client_id: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(issuer.as_bytes());
    hasher.update([0xff]);
    hasher.update(client_id.as_bytes());
    let hash: String = hasher.finalize().iter().map(|b| format!("{b:02x}")).take(SESSION_HASH_HEX / 2).collect();
    let readable: String =
        client_id.chars().map(|c| if session_name_char(c) { c } else { '-' }).take(MAX_SESSION_NAME_LEN - SESSION_HASH_HEX - 1).collect();
    if readable.is_empty() {
        hash
    } else {
        format!("{readable}-{hash}")
    }
}

/// `RoleSessionName` for the caller (`issuer`, `client_id`) under `mode`. In `ClientId` mode a
/// client id that is not a session name as it is is refused (the configuration lint keeps such
/// ids away; this keeps the request fail-closed whatever reaches it), never mapped.
pub fn role_session_name(mode: SessionName, issuer: &str, client_id: &str) -> Result<String, StsError> {
    match mode {
        SessionName::ClientId if is_session_name(client_id) => Ok(client_id.to_owned()),
        SessionName::ClientId => Err(invalid(
            "session_name",
            "the client id cannot be an AWS RoleSessionName as it is",
            "set the target's aws.session_name to \"hashed\"",
        )),
        SessionName::Hashed => Ok(hashed_session_name(issuer, client_id)),
    }
}

/// The length AWS accepts for a `WebIdentityToken` (4..=20000 characters): checked before the
/// brokered call, and before an assertion-mode AWS target's assertion is handed to the caller,
/// whose SDK would otherwise fail at AWS with a less telling error.
pub fn check_web_identity_token(token: &str) -> Result<(), StsError> {
    if !(MIN_TOKEN_LEN..=MAX_TOKEN_LEN).contains(&token.len()) {
        return Err(invalid(
            "web_identity_token",
            "the minted token is outside the 4..=20000 characters AWS accepts",
            "mint fewer claims for this target",
        ));
    }
    Ok(())
}

/// The `AssumeRoleWithWebIdentity` request for the caller (`issuer`, `client_id`): an unsigned
/// form POST to `role.endpoint` with `Action`, `Version`, `RoleArn`, `RoleSessionName` (from
/// [`role_session_name`] under `role.session_name`), `WebIdentityToken`, `DurationSeconds`,
/// then `Policy` and `PolicyArns.member.N.arn` if set.
pub fn assume_role_with_web_identity(
    role: &AwsRole,
    issuer: &str,
    client_id: &str,
    web_identity_token: &str,
) -> Result<HttpRequest, StsError> {
    role.check_params()?;
    check_web_identity_token(web_identity_token)?;
    let session = role_session_name(role.session_name, issuer, client_id)?;
    let duration = role.duration_secs.to_string();
    let arn_keys: Vec<String> = (1..=role.policy_arns.len()).map(|i| format!("PolicyArns.member.{i}.arn")).collect();
    let mut pairs: Vec<(&str, &str)> = vec![
        ("Action", ACTION),
        ("Version", API_VERSION),
        ("RoleArn", &role.role_arn),
        ("RoleSessionName", &session),
        ("WebIdentityToken", web_identity_token),
        ("DurationSeconds", &duration),
    ];
    if let Some(p) = &role.policy {
        pairs.push(("Policy", p));
    }
    pairs.extend(arn_keys.iter().map(String::as_str).zip(role.policy_arns.iter().map(String::as_str)));
    let mut req = HttpRequest::post(role.endpoint.clone(), FORM_CONTENT_TYPE, form(pairs));
    req.headers[0].1 = format!("{FORM_CONTENT_TYPE}; charset=utf-8");
    Ok(req)
}

/// Temporary credentials from `AssumeRoleWithWebIdentityResult`.
#[derive(Clone, PartialEq)]
pub struct AwsCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    /// `Expiration` exactly as STS sent it (ISO 8601 / RFC 3339, UTC).
    pub expiration: String,
    /// `Expiration` in seconds since the epoch.
    pub expires_at: f64,
    /// `AssumedRoleUser/Arn`, e.g. `arn:aws:sts::123456789012:assumed-role/orders/orders-service`.
    pub assumed_role_arn: Option<String>,
    /// `AssumedRoleUser/AssumedRoleId`, e.g. `AROA...:orders-service`.
    pub assumed_role_id: Option<String>,
}

impl fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("expiration", &self.expiration)
            .field("assumed_role_arn", &self.assumed_role_arn)
            .finish_non_exhaustive()
    }
}

impl AwsCredentials {
    pub fn expires_in(&self, now: f64) -> u64 {
        super::seconds_left(self.expires_at, now)
    }

    /// `Expiration` normalized to `YYYY-MM-DDTHH:MM:SSZ`.
    pub fn expiration_rfc3339(&self) -> String {
        super::format_rfc3339(self.expires_at)
    }

    /// What an AWS CLI / SDK `credential_process` must print on stdout:
    /// `{"Version": 1, "AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"}`, with
    /// `Expiration` in RFC 3339 UTC (the SDKs refresh before it), and `AccountId` when the
    /// assumed role's ARN names the account: botocore's `ProcessProvider` reads it
    /// (`parsed.get('AccountId')`, botocore credentials.py) for account-based endpoints.
    pub fn credential_process_json(&self) -> Value {
        let mut v = json!({
            "Version": 1,
            "AccessKeyId": self.access_key_id,
            "SecretAccessKey": self.secret_access_key,
            "SessionToken": self.session_token,
            "Expiration": self.expiration_rfc3339(),
        });
        if let Some(account) = self.account_id() {
            v["AccountId"] = Value::from(account);
        }
        v
    }

    /// The account of the assumed role: the fifth field of
    /// `arn:<partition>:sts::<account>:assumed-role/<role>/<session>`, twelve digits.
    pub fn account_id(&self) -> Option<&str> {
        let arn = self.assumed_role_arn.as_deref()?;
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        match parts.as_slice() {
            ["arn", _, "sts", "", account, rest]
                if account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) && rest.starts_with("assumed-role/") =>
            {
                Some(account)
            }
            _ => None,
        }
    }
}

/// The AWS STS error codes `AssumeRoleWithWebIdentity` documents, plus the common
/// `AccessDenied` and `ValidationError`. None of them is the caller's fault (see
/// [`super::Blame::Upstream`]); the comments say what to fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AwsErrorCode {
    /// `InvalidIdentityToken` (400): STS could not validate edge-sts's token: no IAM OIDC
    /// provider for the issuer, `aud` not among the provider's client ids, or a signature the
    /// published JWKS does not verify.
    InvalidIdentityToken,
    /// `ExpiredTokenException` (400): the token had expired when STS checked it: clock skew, or
    /// an assertion lifetime too short for the round trip.
    ExpiredToken,
    /// `IDPCommunicationError` (400): STS could not fetch edge-sts's discovery document or JWKS
    /// (unreachable, slow, or an error). May be transient.
    IdpCommunicationError,
    /// `IDPRejectedClaim` (403): the identity provider rejected a claim in the token.
    IdpRejectedClaim,
    /// `AccessDenied` (403): the role's trust policy does not allow this federated principal,
    /// `aud` or `sub` (the client).
    AccessDenied,
    /// `ValidationError` (400): a parameter AWS refuses, typically `DurationSeconds` above the
    /// role's `MaxSessionDuration`.
    ValidationError,
    /// `MalformedPolicyDocument` (400): the inline session policy is not a valid policy.
    MalformedPolicyDocument,
    /// `PackedPolicyTooLarge` (400): the session policies and tags exceed the packed size.
    PackedPolicyTooLarge,
    /// `RegionDisabledException` (403): STS is not activated in this region for the account.
    RegionDisabled,
}

impl AwsErrorCode {
    /// From the `Code` of an `ErrorResponse`.
    pub fn from_code(code: &str) -> Option<AwsErrorCode> {
        Some(match code {
            "InvalidIdentityToken" => AwsErrorCode::InvalidIdentityToken,
            "ExpiredTokenException" | "ExpiredToken" => AwsErrorCode::ExpiredToken,
            "IDPCommunicationError" => AwsErrorCode::IdpCommunicationError,
            "IDPRejectedClaim" => AwsErrorCode::IdpRejectedClaim,
            "AccessDenied" | "AccessDeniedException" => AwsErrorCode::AccessDenied,
            "ValidationError" => AwsErrorCode::ValidationError,
            "MalformedPolicyDocument" => AwsErrorCode::MalformedPolicyDocument,
            "PackedPolicyTooLarge" => AwsErrorCode::PackedPolicyTooLarge,
            "RegionDisabledException" => AwsErrorCode::RegionDisabled,
            _ => return None,
        })
    }

    /// The AWS code (canonical spelling).
    pub fn as_str(self) -> &'static str {
        match self {
            AwsErrorCode::InvalidIdentityToken => "InvalidIdentityToken",
            AwsErrorCode::ExpiredToken => "ExpiredTokenException",
            AwsErrorCode::IdpCommunicationError => "IDPCommunicationError",
            AwsErrorCode::IdpRejectedClaim => "IDPRejectedClaim",
            AwsErrorCode::AccessDenied => "AccessDenied",
            AwsErrorCode::ValidationError => "ValidationError",
            AwsErrorCode::MalformedPolicyDocument => "MalformedPolicyDocument",
            AwsErrorCode::PackedPolicyTooLarge => "PackedPolicyTooLarge",
            AwsErrorCode::RegionDisabled => "RegionDisabledException",
        }
    }

    pub fn reason(self) -> &'static str {
        match self {
            AwsErrorCode::InvalidIdentityToken => reason::STS_AWS_INVALID_IDENTITY_TOKEN,
            AwsErrorCode::ExpiredToken => reason::STS_AWS_EXPIRED_TOKEN,
            AwsErrorCode::IdpCommunicationError => reason::STS_AWS_IDP_COMMUNICATION,
            AwsErrorCode::IdpRejectedClaim => reason::STS_AWS_IDP_REJECTED_CLAIM,
            AwsErrorCode::AccessDenied => reason::STS_AWS_ACCESS_DENIED,
            AwsErrorCode::ValidationError => reason::STS_AWS_VALIDATION,
            AwsErrorCode::MalformedPolicyDocument => reason::STS_AWS_MALFORMED_POLICY,
            AwsErrorCode::PackedPolicyTooLarge => reason::STS_AWS_PACKED_POLICY_TOO_LARGE,
            AwsErrorCode::RegionDisabled => reason::STS_AWS_REGION_DISABLED,
        }
    }
}

impl fmt::Display for AwsErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AwsErrorCode::InvalidIdentityToken => "AWS STS did not accept edge-sts's web identity token",
            AwsErrorCode::ExpiredToken => "AWS STS found edge-sts's web identity token expired",
            AwsErrorCode::IdpCommunicationError => "AWS STS could not reach edge-sts's keys",
            AwsErrorCode::IdpRejectedClaim => "AWS STS rejected a claim of edge-sts's web identity token",
            AwsErrorCode::AccessDenied => "AWS STS denied assuming the role",
            AwsErrorCode::ValidationError => "AWS STS refused a request parameter",
            AwsErrorCode::MalformedPolicyDocument => "AWS STS refused the session policy",
            AwsErrorCode::PackedPolicyTooLarge => "AWS STS found the session policies too large",
            AwsErrorCode::RegionDisabled => "AWS STS is not activated in this region",
        })
    }
}

const THROTTLING: [&str; 3] = ["Throttling", "ThrottlingException", "RequestLimitExceeded"];
const SERVICE_FAILURE: [&str; 4] = ["InternalFailure", "InternalError", "ServiceUnavailable", "ServiceUnavailableException"];

/// Bounds on an STS XML answer (real ones have about 15 elements, 4 deep).
const MAX_XML_ELEMENTS: usize = 512;
const MAX_XML_DEPTH: usize = 16;

/// The leaf elements of a small XML document, by `/`-joined local-name path
/// (`AssumeRoleWithWebIdentityResponse/AssumeRoleWithWebIdentityResult/Credentials/AccessKeyId`),
/// with their text trimmed. quick-xml does the XML: tokens, well-formed tag nesting, character
/// and predefined entity references, CDATA. A DTD, any other entity, a second root or text
/// outside the root makes the document unusable (`None`).
struct Leaves {
    root: String,
    leaves: Vec<(String, String)>,
}

impl Leaves {
    fn parse(xml: &str) -> Option<Leaves> {
        use quick_xml::events::Event;
        let mut reader = quick_xml::Reader::from_str(xml);
        // (local name, text, has child elements)
        let mut stack: Vec<(String, String, bool)> = Vec::new();
        let (mut root, mut leaves, mut elements) = (None, Vec::new(), 0usize);
        loop {
            let event = reader.read_event().ok()?;
            let closes = match &event {
                Event::Start(e) | Event::Empty(e) => {
                    elements += 1;
                    if elements > MAX_XML_ELEMENTS || stack.len() >= MAX_XML_DEPTH || (stack.is_empty() && root.is_some()) {
                        return None;
                    }
                    let name = std::str::from_utf8(e.local_name().into_inner()).ok()?.to_owned();
                    match stack.last_mut() {
                        Some(parent) => parent.2 = true,
                        None => root = Some(name.clone()),
                    }
                    stack.push((name, String::new(), false));
                    matches!(event, Event::Empty(_))
                }
                Event::End(_) => true,
                Event::Text(t) => {
                    let text = t.xml10_content().ok()?;
                    match stack.last_mut() {
                        Some(top) => top.1.push_str(&text),
                        None if text.trim().is_empty() => {}
                        None => return None,
                    }
                    false
                }
                Event::CData(c) => {
                    stack.last_mut()?.1.push_str(&c.decode().ok()?);
                    false
                }
                Event::GeneralRef(r) => {
                    let top = stack.last_mut()?;
                    match r.resolve_char_ref().ok()? {
                        Some(c) => top.1.push(c),
                        None => top.1.push_str(quick_xml::escape::resolve_predefined_entity(&r.decode().ok()?)?),
                    }
                    false
                }
                Event::DocType(_) => return None,
                Event::Decl(_) | Event::Comment(_) | Event::PI(_) => false,
                Event::Eof => break,
            };
            if closes {
                // quick-xml checks that end tags match their start tags.
                let (name, text, has_children) = stack.pop()?;
                if !has_children {
                    let mut path: Vec<&str> = stack.iter().map(|(n, _, _)| n.as_str()).collect();
                    path.push(&name);
                    leaves.push((path.join("/"), text.trim().to_owned()));
                }
            }
        }
        if !stack.is_empty() {
            return None;
        }
        Some(Leaves { root: root?, leaves })
    }

    /// The text of the one non-empty leaf at `path`; `None` if it is absent, empty or repeated.
    fn one(&self, path: &str) -> Option<&str> {
        let mut found = self.leaves.iter().filter(|(p, t)| p == path && !t.is_empty());
        let first = found.next()?;
        found.next().is_none().then_some(first.1.as_str())
    }
}

/// When the body says nothing usable, the status decides.
fn by_status(status: u16, what: &'static str) -> StsError {
    match status {
        429 => StsError::Throttled { cloud: Cloud::Aws, http_status: status },
        500..=599 => StsError::Unavailable { cloud: Cloud::Aws, http_status: status },
        200..=299 => StsError::BadResponse { cloud: Cloud::Aws, http_status: status, what },
        _ => StsError::Unknown { cloud: Cloud::Aws, http_status: status, code: None },
    }
}

/// Parses STS's answer (`status` and body as received, redirects not followed).
///
/// - `200` with `AssumeRoleWithWebIdentityResponse` -> [`AwsCredentials`];
/// - `ErrorResponse/Error/Code` -> [`AwsErrorCode`], throttling codes -> `Throttled`,
///   `InternalFailure`/`ServiceUnavailable` (or any 5xx) -> `Unavailable`, others -> `Unknown`
///   with the code;
/// - anything else (HTML from a proxy, empty, a DTD, truncated) by status: 429 `Throttled`,
///   5xx `Unavailable`, 2xx `BadResponse`, others `Unknown`.
///
/// The error `Message` is never read: AWS messages can echo the presented token's claims.
pub fn parse_response(status: u16, body: &[u8]) -> Result<AwsCredentials, StsError> {
    let Ok(text) = std::str::from_utf8(body) else {
        return Err(by_status(status, "response is not UTF-8"));
    };
    let Some(doc) = Leaves::parse(text) else {
        return Err(by_status(status, "response is not XML"));
    };
    match doc.root.as_str() {
        "ErrorResponse" => Err(error_from(status, doc.one("ErrorResponse/Error/Code").unwrap_or(""))),
        "AssumeRoleWithWebIdentityResponse" if (200..300).contains(&status) => success_from(status, &doc),
        _ => Err(by_status(status, "unexpected XML document")),
    }
}

fn error_from(status: u16, code: &str) -> StsError {
    if let Some(c) = AwsErrorCode::from_code(code) {
        return StsError::Aws { code: c, http_status: status };
    }
    if THROTTLING.contains(&code) {
        return StsError::Throttled { cloud: Cloud::Aws, http_status: status };
    }
    if SERVICE_FAILURE.contains(&code) || status >= 500 {
        return StsError::Unavailable { cloud: Cloud::Aws, http_status: status };
    }
    if status == 429 {
        return StsError::Throttled { cloud: Cloud::Aws, http_status: status };
    }
    StsError::Unknown { cloud: Cloud::Aws, http_status: status, code: safe_code(code) }
}

fn success_from(status: u16, doc: &Leaves) -> Result<AwsCredentials, StsError> {
    const RESULT: &str = "AssumeRoleWithWebIdentityResponse/AssumeRoleWithWebIdentityResult";
    let bad = |what| StsError::BadResponse { cloud: Cloud::Aws, http_status: status, what };
    let get = |leaf: &str| doc.one(&format!("{RESULT}/{leaf}")).map(str::to_owned);
    let field = |leaf: &str| get(leaf).ok_or(bad("Credentials are incomplete or repeated"));
    let (access_key_id, secret_access_key, session_token, expiration) = (
        field("Credentials/AccessKeyId")?,
        field("Credentials/SecretAccessKey")?,
        field("Credentials/SessionToken")?,
        field("Credentials/Expiration")?,
    );
    let expires_at = super::parse_rfc3339(&expiration).ok_or(bad("Expiration is not an RFC 3339 time"))?;
    Ok(AwsCredentials {
        access_key_id,
        secret_access_key,
        session_token,
        expiration,
        expires_at,
        assumed_role_arn: get("AssumedRoleUser/Arn"),
        assumed_role_id: get("AssumedRoleUser/AssumedRoleId"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clouds::testutil::{fixture, Wire, WireHint};
    use crate::clouds::{Blame, CloudCredentials};

    const ROLE: &str = "arn:aws:iam::123456789012:role/edge-sts-orders";
    const TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJvcmRlcnMifQ.c2ln";

    const ISS: &str = "https://kc.test/realms/demo";
    const ISS2: &str = "https://kc.test/realms/partners";

    /// SHA-256(issuer, 0xFF, client id), first 16 hex digits, written out independently.
    fn h(issuer: &str, client_id: &str) -> String {
        let mut bytes = issuer.as_bytes().to_vec();
        bytes.push(0xff);
        bytes.extend_from_slice(client_id.as_bytes());
        let hex: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
        hex[..16].to_owned()
    }

    #[test]
    fn session_names_client_id_mode() {
        let long_valid = "a".repeat(64);
        for id in ["orders-service", "svc_1+x=y,z.w@corp-2", "ab", long_valid.as_str()] {
            assert_eq!(role_session_name(SessionName::ClientId, ISS, id).as_deref(), Ok(id), "{id:?}");
            assert_eq!(role_session_name(SessionName::ClientId, ISS2, id).as_deref(), Ok(id), "the issuer plays no part");
        }
        // Never mapped: an id that is not a session name as it is is refused (fail closed).
        let too_long = "b".repeat(65);
        for id in ["", "a", "svc/a", "svc:a", "büro dienst", "日本", "a b", too_long.as_str(), "batch-*"] {
            match role_session_name(SessionName::ClientId, ISS, id) {
                Err(e @ StsError::Invalid { cloud: Cloud::Aws, field: "session_name", .. }) => assert_eq!(e.blame(), Blame::Config),
                other => panic!("{id:?}: {other:?}"),
            }
            assert!(!is_session_name(id), "{id:?}");
        }
    }

    #[test]
    fn session_names_hashed_mode() {
        let too_long = "b".repeat(65);
        let table: Vec<(&str, String)> = vec![
            ("orders-service", format!("orders-service-{}", h(ISS, "orders-service"))),
            ("a", format!("a-{}", h(ISS, "a"))),
            ("", h(ISS, "")),
            ("svc/a", format!("svc-a-{}", h(ISS, "svc/a"))),
            ("svc:a", format!("svc-a-{}", h(ISS, "svc:a"))),
            ("büro dienst", format!("b-ro-dienst-{}", h(ISS, "büro dienst"))),
            ("日本", format!("---{}", h(ISS, "日本"))),
            (&too_long, format!("{}-{}", "b".repeat(47), h(ISS, &too_long))),
        ];
        for (id, want) in &table {
            let got = role_session_name(SessionName::Hashed, ISS, id).unwrap();
            assert_eq!(&got, want, "{id:?}");
            assert!(is_session_name(&got), "{id:?} -> {got:?}");
            assert_eq!(got, hashed_session_name(ISS, id));
        }
        assert_eq!(hashed_session_name(ISS, &"é".repeat(200)).len(), 64);
        assert_eq!(hashed_session_name(ISS, &"x".repeat(47)).len(), 64);
        // Known answer (Python: hashlib.sha256(b"https://kc.test/realms/demo\xfforders-service")),
        // so the hash input (issuer, 0xFF, client id) cannot drift unnoticed.
        assert_eq!(hashed_session_name("https://kc.test/realms/demo", "orders-service"), "orders-service-347851771fd858f1");
    }

    #[test]
    fn hashed_session_names_do_not_collide() {
        // Ids that read the same once replaced, ids that differ past the readable cut, and the
        // same id from two realms: all distinct names.
        let long = "c".repeat(60);
        let ids = ["svc/a", "svc:a", "svc-a", "svc a", &format!("{long}1"), &format!("{long}2")];
        let mut names = std::collections::BTreeSet::new();
        for iss in [ISS, ISS2] {
            for id in ids {
                assert!(names.insert(hashed_session_name(iss, id)), "{iss} {id}");
            }
        }
        assert_eq!(names.len(), 12);
        assert_ne!(hashed_session_name(ISS, "orders-service"), hashed_session_name(ISS2, "orders-service"));
        // The separator keeps (issuer, id) pairs apart even when their concatenations agree.
        assert_ne!(hashed_session_name("https://a.test/x", "yz"), hashed_session_name("https://a.test/xy", "z"));
    }

    #[test]
    fn regional_endpoints() {
        let table = [
            ("eu-central-1", Some("https://sts.eu-central-1.amazonaws.com/")),
            ("us-gov-west-1", Some("https://sts.us-gov-west-1.amazonaws.com/")),
            ("cn-north-1", Some("https://sts.cn-north-1.amazonaws.com.cn/")),
            ("eu-central", None),
            ("EU-central-1", None),
            ("eu-central-1.evil.com/x", None),
            ("", None),
        ];
        for (region, want) in table {
            assert_eq!(regional_endpoint(region).as_deref(), want, "{region}");
        }
    }

    #[test]
    fn request_minimal() {
        let req = assume_role_with_web_identity(&AwsRole::new(ROLE), ISS, "orders-service", TOKEN).unwrap();
        assert_eq!(req.method, "POST");
        assert_eq!(req.url, "https://sts.amazonaws.com/");
        assert_eq!(req.headers, vec![("content-type".to_owned(), "application/x-www-form-urlencoded; charset=utf-8".to_owned())]);
        let want: Vec<(String, String)> = [
            ("Action", "AssumeRoleWithWebIdentity"),
            ("Version", "2011-06-15"),
            ("RoleArn", ROLE),
            ("RoleSessionName", "orders-service"),
            ("WebIdentityToken", TOKEN),
            ("DurationSeconds", "3600"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(req.form_params(), want);
        assert_eq!(
            req.body,
            "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fedge-sts-orders\
             &RoleSessionName=orders-service&WebIdentityToken=eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJvcmRlcnMifQ.c2ln&DurationSeconds=3600"
        );
    }

    #[test]
    fn request_with_session_policies() {
        let policy =
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::orders/*"}]}"#;
        let role = AwsRole {
            endpoint: regional_endpoint("eu-west-1").unwrap(),
            role_arn: ROLE.into(),
            duration_secs: 900,
            policy: Some(policy.into()),
            policy_arns: vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".into(), "arn:aws:iam::123456789012:policy/team/orders-read".into()],
            session_name: SessionName::Hashed,
        };
        let req = assume_role_with_web_identity(&role, ISS, "batch/nightly", TOKEN).unwrap();
        assert_eq!(req.url, "https://sts.eu-west-1.amazonaws.com/");
        let p = req.form_params();
        let keys: Vec<&str> = p.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "Action",
                "Version",
                "RoleArn",
                "RoleSessionName",
                "WebIdentityToken",
                "DurationSeconds",
                "Policy",
                "PolicyArns.member.1.arn",
                "PolicyArns.member.2.arn"
            ]
        );
        assert_eq!(p[3].1, format!("batch-nightly-{}", h(ISS, "batch/nightly")));
        // The same client from another realm is another session.
        let other = assume_role_with_web_identity(&role, ISS2, "batch/nightly", TOKEN).unwrap();
        assert_eq!(other.form_params()[3].1, format!("batch-nightly-{}", h(ISS2, "batch/nightly")));
        // In client_id mode an id that is not a session name as it is sends nothing.
        let strict = AwsRole { session_name: SessionName::ClientId, ..role.clone() };
        assert!(matches!(
            assume_role_with_web_identity(&strict, ISS, "batch/nightly", TOKEN),
            Err(StsError::Invalid { field: "session_name", .. })
        ));
        assert_eq!(p[5].1, "900");
        assert_eq!(p[6].1, policy);
        assert_eq!(p[7].1, "arn:aws:iam::aws:policy/ReadOnlyAccess");
        assert_eq!(p[8].1, "arn:aws:iam::123456789012:policy/team/orders-read");
    }

    #[test]
    fn request_refusals() {
        let with = |f: &dyn Fn(&mut AwsRole)| {
            let mut r = AwsRole::new(ROLE);
            f(&mut r);
            r
        };
        let arns = |n: usize| (0..n).map(|i| format!("arn:aws:iam::123456789012:policy/p{i}")).collect::<Vec<_>>();
        let long_token = "x".repeat(20_001);
        let table: Vec<(AwsRole, &str, Option<&str>)> = vec![
            (with(&|r| r.duration_secs = 899), TOKEN, Some("duration_secs")),
            (with(&|r| r.duration_secs = 43_201), TOKEN, Some("duration_secs")),
            (with(&|r| r.duration_secs = 43_200), TOKEN, None),
            (with(&|r| r.role_arn = "arn:aws:iam::123456789012:user/bob".into()), TOKEN, Some("role_arn")),
            (with(&|r| r.role_arn = "arn:aws:iam::12345678901:role/x".into()), TOKEN, Some("role_arn")),
            (with(&|r| r.role_arn = "arn:aws:sts::123456789012:role/x".into()), TOKEN, Some("role_arn")),
            (with(&|r| r.role_arn = "arn:aws:iam:eu-west-1:123456789012:role/x".into()), TOKEN, Some("role_arn")),
            (with(&|r| r.role_arn = "arn:aws:iam::aws:role/x".into()), TOKEN, Some("role_arn")),
            (with(&|r| r.role_arn = "arn:aws:iam::123456789012:role/".into()), TOKEN, Some("role_arn")),
            (with(&|r| r.role_arn = "arn:aws:iam::123456789012:role/a b".into()), TOKEN, Some("role_arn")),
            (with(&|r| r.role_arn = "arn:aws-cn:iam::123456789012:role/path/x".into()), TOKEN, None),
            (with(&|r| r.policy = Some("[1]".into())), TOKEN, Some("policy")),
            (with(&|r| r.policy = Some("{not json".into())), TOKEN, Some("policy")),
            (with(&|r| r.policy = Some(format!(r#"{{"a":"{}"}}"#, "x".repeat(2041)))), TOKEN, Some("policy")),
            (with(&|r| r.policy = Some(format!(r#"{{"a":"{}"}}"#, "x".repeat(2040)))), TOKEN, None),
            (with(&|r| r.policy = Some(r#"{"a":"☃"}"#.into())), TOKEN, Some("policy")),
            (with(&|r| r.policy_arns = arns(10)), TOKEN, None),
            (with(&|r| r.policy_arns = arns(11)), TOKEN, Some("policy_arns")),
            (with(&|r| r.policy_arns = vec![ROLE.into()]), TOKEN, Some("policy_arns")),
            (AwsRole::new(ROLE), "abc", Some("web_identity_token")),
            (AwsRole::new(ROLE), &long_token, Some("web_identity_token")),
        ];
        for (role, token, want) in &table {
            let got = assume_role_with_web_identity(role, ISS, "cc", token);
            match want {
                None => assert!(got.is_ok(), "{role:?}: {got:?}"),
                Some(f) => match got {
                    Err(e @ StsError::Invalid { cloud: Cloud::Aws, field, .. }) => {
                        assert_eq!(field, *f, "{role:?}");
                        assert_eq!(e.blame(), Blame::Config);
                        assert_eq!(e.reason(), "sts.aws.config");
                    }
                    other => panic!("{role:?}: {other:?}"),
                },
            }
        }
    }

    #[test]
    fn endpoint_lint() {
        let with = |e: &str| AwsRole { endpoint: e.into(), ..AwsRole::new(ROLE) };
        assert_eq!(with(DEFAULT_ENDPOINT).validate(false), Ok(()));
        assert!(matches!(with("http://sts.amazonaws.com/").validate(false), Err(StsError::Invalid { field: "endpoint", .. })));
        assert!(with("http://127.0.0.1:5000/").validate(false).is_err());
        assert_eq!(with("http://127.0.0.1:5000/").validate(true), Ok(()));
        assert!(matches!(
            with(DEFAULT_ENDPOINT).validate(false).and(AwsRole { duration_secs: 1, ..AwsRole::new(ROLE) }.validate(false)),
            Err(StsError::Invalid { field: "duration_secs", .. })
        ));
    }

    const NOW: f64 = 1_573_303_000.0; // 2019-11-09T12:36:40Z

    #[test]
    fn parse_success() {
        let c = parse_response(200, &fixture("aws/success.xml")).unwrap();
        assert_eq!(c.access_key_id, "ASIAQEXAMPLE7KEYID01");
        assert_eq!(c.secret_access_key, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY");
        assert!(c.session_token.starts_with("IQoJb3JpZ2luX2VjEXAMPLE") && c.session_token.ends_with("=="));
        assert_eq!(c.expiration, "2019-11-09T13:34:41Z");
        assert_eq!(c.expires_at, 1_573_306_481.0);
        assert_eq!(c.expires_in(NOW), 3481);
        assert_eq!(c.assumed_role_arn.as_deref(), Some("arn:aws:sts::123456789012:assumed-role/edge-sts-orders/orders-service"));
        assert_eq!(c.assumed_role_id.as_deref(), Some("AROACLKWSDQRAOEXAMPLE:orders-service"));
        let d = format!("{c:?}");
        assert!(!d.contains("wJalr") && !d.contains("IQoJ"), "{d}");

        // moto's shape: millisecond expiration, no Audience/Provider.
        let m = parse_response(200, &fixture("aws/success_moto.xml")).unwrap();
        assert_eq!(m.expiration, "2019-11-09T13:34:41.123Z");
        assert_eq!(m.expires_in(NOW), 3481);
        assert_eq!(m.expiration_rfc3339(), "2019-11-09T13:34:41Z");
    }

    #[test]
    fn credential_process_output() {
        let c = parse_response(200, &fixture("aws/success.xml")).unwrap();
        let want = json!({
            "Version": 1,
            "AccessKeyId": "ASIAQEXAMPLE7KEYID01",
            "SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY",
            "SessionToken": c.session_token,
            "Expiration": "2019-11-09T13:34:41Z",
            "AccountId": "123456789012",
        });
        assert_eq!(c.credential_process_json(), want);
        // Without an assumed-role ARN that names an account, the five fields only.
        for arn in [None, Some("arn:aws:iam::123456789012:role/x"), Some("arn:aws:sts::12345:assumed-role/r/s"), Some("garbage")] {
            let c = AwsCredentials { assumed_role_arn: arn.map(str::to_owned), ..c.clone() };
            let out = c.credential_process_json();
            assert_eq!(out.as_object().unwrap().len(), 5, "{arn:?}");
            assert!(out.get("AccountId").is_none(), "{arn:?}");
        }
    }

    #[test]
    fn token_response() {
        let c = parse_response(200, &fixture("aws/success.xml")).unwrap();
        let tok = c.session_token.clone();
        let r = CloudCredentials::Aws(c).to_token_response(NOW);
        let want = json!({
            "access_token": tok,
            "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
            "token_type": "N_A",
            "expires_in": 3481,
            "aws_access_key_id": "ASIAQEXAMPLE7KEYID01",
            "aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY",
            "aws_session_token": tok,
            "aws_expiration": "2019-11-09T13:34:41Z",
            "aws_assumed_role_arn": "arn:aws:sts::123456789012:assumed-role/edge-sts-orders/orders-service",
        });
        assert_eq!(Value::Object(r), want);
    }

    #[test]
    fn parse_errors() {
        use AwsErrorCode::*;
        let aws = |code, http_status| StsError::Aws { code, http_status };
        let table: Vec<(&str, u16, StsError, &str, WireHint)> = vec![
            ("invalid_identity_token", 400, aws(InvalidIdentityToken, 400), "sts.aws.invalid_identity_token", bad_gateway()),
            ("expired_token", 400, aws(ExpiredToken, 400), "sts.aws.expired_token", bad_gateway()),
            ("idp_communication_error", 400, aws(IdpCommunicationError, 400), "sts.aws.idp_communication", bad_gateway()),
            ("idp_rejected_claim", 403, aws(IdpRejectedClaim, 403), "sts.aws.idp_rejected_claim", bad_gateway()),
            ("access_denied", 403, aws(AccessDenied, 403), "sts.aws.access_denied", bad_gateway()),
            ("validation_error", 400, aws(ValidationError, 400), "sts.aws.validation", bad_gateway()),
            ("malformed_policy", 400, aws(MalformedPolicyDocument, 400), "sts.aws.malformed_policy", bad_gateway()),
            ("packed_policy_too_large", 400, aws(PackedPolicyTooLarge, 400), "sts.aws.packed_policy_too_large", bad_gateway()),
            ("region_disabled", 403, aws(RegionDisabled, 403), "sts.aws.region_disabled", bad_gateway()),
            ("throttling", 400, StsError::Throttled { cloud: Cloud::Aws, http_status: 400 }, "sts.aws.throttled", throttled()),
            ("throttling_exception", 400, StsError::Throttled { cloud: Cloud::Aws, http_status: 400 }, "sts.aws.throttled", throttled()),
            ("request_limit_exceeded", 400, StsError::Throttled { cloud: Cloud::Aws, http_status: 400 }, "sts.aws.throttled", throttled()),
            (
                "service_unavailable",
                503,
                StsError::Unavailable { cloud: Cloud::Aws, http_status: 503 },
                "sts.aws.unavailable",
                bad_gateway(),
            ),
            ("internal_failure", 500, StsError::Unavailable { cloud: Cloud::Aws, http_status: 500 }, "sts.aws.unavailable", bad_gateway()),
            (
                "unknown_code",
                400,
                StsError::Unknown { cloud: Cloud::Aws, http_status: 400, code: Some("InvalidParameterCombination".into()) },
                "sts.aws.unknown",
                bad_gateway(),
            ),
            ("html_502", 502, StsError::Unavailable { cloud: Cloud::Aws, http_status: 502 }, "sts.aws.unavailable", bad_gateway()),
            ("html_502", 429, StsError::Throttled { cloud: Cloud::Aws, http_status: 429 }, "sts.aws.throttled", throttled()),
            ("html_502", 403, StsError::Unknown { cloud: Cloud::Aws, http_status: 403, code: None }, "sts.aws.unknown", bad_gateway()),
            (
                "html_502",
                200,
                StsError::BadResponse { cloud: Cloud::Aws, http_status: 200, what: "response is not XML" },
                "sts.aws.bad_response",
                bad_gateway(),
            ),
            (
                "entity_expansion",
                200,
                StsError::BadResponse { cloud: Cloud::Aws, http_status: 200, what: "response is not XML" },
                "sts.aws.bad_response",
                bad_gateway(),
            ),
            (
                "missing_session_token",
                200,
                StsError::BadResponse { cloud: Cloud::Aws, http_status: 200, what: "Credentials are incomplete or repeated" },
                "sts.aws.bad_response",
                bad_gateway(),
            ),
            (
                "duplicate_access_key",
                200,
                StsError::BadResponse { cloud: Cloud::Aws, http_status: 200, what: "Credentials are incomplete or repeated" },
                "sts.aws.bad_response",
                bad_gateway(),
            ),
            (
                "bad_expiration",
                200,
                StsError::BadResponse { cloud: Cloud::Aws, http_status: 200, what: "Expiration is not an RFC 3339 time" },
                "sts.aws.bad_response",
                bad_gateway(),
            ),
            (
                "get_caller_identity",
                200,
                StsError::BadResponse { cloud: Cloud::Aws, http_status: 200, what: "unexpected XML document" },
                "sts.aws.bad_response",
                bad_gateway(),
            ),
            // A success document with an error status is not a success.
            ("success", 400, StsError::Unknown { cloud: Cloud::Aws, http_status: 400, code: None }, "sts.aws.unknown", bad_gateway()),
        ];
        for (name, status, want, reason, hint) in table {
            let body = fixture(&format!("aws/{name}.xml"));
            let got = parse_response(status, &body).unwrap_err();
            assert_eq!(got, want, "{name} {status}");
            assert_eq!(got.reason(), reason, "{name}");
            assert_eq!(got.wire_hint(), hint, "{name}");
            assert_ne!(got.blame(), Blame::Caller, "{name}: no AWS answer is the caller's fault");
            // Nothing from the Message may leak into what is shown or logged.
            let shown = format!("{got} {:?} {:?}", got.cloud_code(), got);
            for secret in ["eyJ", "orders-service", "123456789012", "ECHOED"] {
                assert!(!shown.contains(secret), "{name}: {shown}");
            }
        }
        assert_eq!(parse_response(400, &fixture("aws/access_denied.xml")).unwrap_err().cloud_code().as_deref(), Some("AccessDenied"));
        assert!(parse_response(400, &fixture("aws/idp_communication_error.xml")).unwrap_err().retryable());
        assert!(!parse_response(400, &fixture("aws/access_denied.xml")).unwrap_err().retryable());
        // Not UTF-8, empty.
        assert_eq!(
            parse_response(200, b"\xff\xfe<x/>"),
            Err(StsError::BadResponse { cloud: Cloud::Aws, http_status: 200, what: "response is not UTF-8" })
        );
        assert_eq!(parse_response(503, b""), Err(StsError::Unavailable { cloud: Cloud::Aws, http_status: 503 }));
    }

    #[test]
    fn xml_leaves() {
        let ok = |xml: &str| Leaves::parse(xml).map(|d| (d.root, d.leaves));
        let leaf = |p: &str, t: &str| (p.to_owned(), t.to_owned());
        assert_eq!(
            ok("<?xml version=\"1.0\"?><!-- c --><r xmlns=\"urn:x\"><a>\n  x&amp;y&#x41;&#66;&lt; \n</a><b><c><![CDATA[<raw>]]></c><d/></b></r>"),
            Some(("r".to_owned(), vec![leaf("r/a", "x&yAB<"), leaf("r/b/c", "<raw>"), leaf("r/b/d", "")]))
        );
        // Namespace prefixes are dropped: paths use local names.
        assert_eq!(ok("<s:r xmlns:s=\"urn:x\"><s:a>1</s:a></s:r>"), Some(("r".to_owned(), vec![leaf("r/a", "1")])));
        let refused = [
            "",
            "   ",
            "<r>",
            "<r></s>",
            "<r/><r/>",
            "text<r/>",
            "<r/>text",
            "<r>&custom;</r>",
            "<r>&#0;</r>",
            "<!DOCTYPE r><r/>",
            "<r><a></r></a>",
            "<r a='1' a='2'/>x",
        ];
        for xml in refused {
            assert!(Leaves::parse(xml).is_none(), "{xml:?}");
        }
        let deep = format!("{}{}", "<a>".repeat(17), "</a>".repeat(17));
        assert!(Leaves::parse(&deep).is_none());
        assert!(Leaves::parse(&format!("{}{}", "<a>".repeat(16), "</a>".repeat(16))).is_some());
        let wide = format!("<r>{}</r>", "<a/>".repeat(MAX_XML_ELEMENTS));
        assert!(Leaves::parse(&wide).is_none());
        // A repeated field is not a field.
        let doc = Leaves::parse("<r><a>1</a><a>2</a><b>3</b></r>").unwrap();
        assert_eq!((doc.one("r/a"), doc.one("r/b"), doc.one("r/c")), (None, Some("3"), None));
    }

    fn bad_gateway() -> WireHint {
        WireHint { status: 502, error: "server_error", retry_after: None }
    }
    fn throttled() -> WireHint {
        WireHint { status: 503, error: "temporarily_unavailable", retry_after: Some(crate::clouds::THROTTLE_RETRY_AFTER_SECS) }
    }
}
