//! What the rest of the core names about clouds whether or not the `clouds` feature is on: how
//! a cloud target serves its caller, the claims it may not write, and who is to blame for a
//! failed exchange (the one mapping to the wire is `Error::to_oauth`). Without the feature,
//! `sts/off.rs` pairs these with uninhabited `CloudTarget` and `StsError`.

/// How a cloud target serves its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CloudMode {
    /// edge-sts calls the cloud and answers with the cloud's credentials; the target's role,
    /// scopes, service account and lifetime are enforced by edge-sts.
    #[default]
    Brokered,
    /// edge-sts answers with the assertion it mints for the cloud and calls no cloud: the
    /// caller's SDK does the cloud exchange itself, so the cloud's own trust configuration, not
    /// edge-sts, limits what the caller can do. `lifetime_secs` is the explicit
    /// `assertion_lifetime_secs` (not capped at the subject token's expiry), if set.
    Assertion { lifetime_secs: Option<u64> },
}

impl CloudMode {
    pub fn is_assertion(self) -> bool {
        matches!(self, CloudMode::Assertion { .. })
    }

    /// `"brokered"` or `"assertion"`, as configured.
    pub fn as_str(self) -> &'static str {
        match self {
            CloudMode::Brokered => "brokered",
            CloudMode::Assertion { .. } => "assertion",
        }
    }
}

/// The longest `assertion_lifetime_secs` the configuration accepts.
pub const MAX_ASSERTION_LIFETIME_SECS: u64 = 3600;

/// `Retry-After` suggested for [`Blame::Throttled`]. No cloud here sends one on the STS call.
pub const THROTTLE_RETRY_AFTER_SECS: u64 = 5;

/// Who is to blame for an `StsError`, which decides the answer to the caller
/// (`Error::to_oauth` maps each to its status, as below).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blame {
    /// The caller's identity cannot be carried to this cloud (e.g. its client id makes a
    /// Google subject over 127 bytes). Nothing is wrong with its token and retrying cannot
    /// help: **400 `invalid_target`** (RFC 8693 §2.2.2: "unable to issue a token for the
    /// target").
    Caller,
    /// edge-sts's own cloud-target configuration is invalid, found before any request was sent.
    /// The config lints catch these at load; at request time it is **503 `server_error`**, the
    /// same answer as an invalid configuration (like `Error::Config`).
    Config,
    /// The cloud refused or failed, and not because of the caller's token: **502
    /// `server_error`** (a cloud STS failure not caused by the caller's token).
    ///
    /// This includes every refusal of edge-sts's assertion and every trust-policy denial
    /// (AWS `AccessDenied`, Google's attribute condition, Entra's federated credential
    /// mismatch). The cloud only ever sees what edge-sts minted after its own policy allowed
    /// the caller, so such a refusal means edge-sts's configuration and the cloud's trust setup
    /// disagree: an operator problem to surface, not a caller error to hide among 400s.
    Upstream,
    /// The cloud throttled edge-sts: **503 `temporarily_unavailable` + `Retry-After`**
    /// ([`THROTTLE_RETRY_AFTER_SECS`]).
    ///
    /// Why 503 and not 502: nothing failed, the request is valid and will succeed later, and
    /// RFC 6749 defines `temporarily_unavailable` for exactly "temporary overloading". It is
    /// also how edge-sts already answers when its other upstream (the issuer's JWKS) cannot be
    /// reached, so clients need one retry rule for both. A throttle is shared by every caller
    /// of the same role/provider, so the caller must back off rather than retry at once, which
    /// a 502 does not say.
    Throttled,
}

/// Claims a cloud reads on its own to decide trust, so a cloud target's `copy_claims` and
/// `static_claims` may not write them (on top of `policy::PROTECTED_CLAIMS`, which edge-sts
/// itself sets):
///
/// - `azp`: AWS evaluates `<issuer host>:aud` against `azp` when the token carries it;
/// - `amr`: authentication methods, an AWS web identity condition key;
/// - `https://aws.amazon.com/tags`: AWS session tags (principal and transitive tag keys), which
///   attribute-based access control trusts;
/// - `https://aws.amazon.com/source_identity`: the AWS source identity, kept across role chains.
///
/// One list for every cloud: which claims a cloud reads is the cloud's definition, not the
/// target's, and a target moves between clouds by editing its block. Entra's federated
/// credentials read `iss`, `sub` and `aud` (protected anyway); Google reads whatever its
/// provider's attribute mapping names, so on a Google target every copied or static claim can
/// be part of what Google trusts.
pub const CLOUD_PROTECTED_CLAIMS: [&str; 4] = ["azp", "amr", "https://aws.amazon.com/tags", "https://aws.amazon.com/source_identity"];

/// A known token-exchange audience of a cloud, in one spelling: what [`exchange_audience`] finds.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ExchangeAudience {
    /// The cloud block's name: `aws`, `gcp` or `azure`.
    pub cloud: &'static str,
    /// The audience in its canonical spelling (lowercase host; Google's `//iam.googleapis.com/`
    /// form; Entra's constant).
    pub canonical: String,
}

impl ExchangeAudience {
    /// The service's name, for human-facing text.
    pub fn service(&self) -> &'static str {
        match self.cloud {
            "aws" => "AWS STS",
            "gcp" => "Google Cloud STS",
            _ => "Microsoft Entra ID",
        }
    }

    /// For a Google audience naming a workload identity provider, its pool:
    /// `projects/<number>/locations/global/workloadIdentityPools/<pool>`. Google's principals
    /// (`principal://…/workloadIdentityPools/<pool>/subject/<sub>`) belong to the pool, not the
    /// provider, so two providers of one pool give the same principal.
    pub fn gcp_pool(&self) -> Option<String> {
        let rest = self.canonical.strip_prefix(GCP_AUDIENCE_PREFIX)?;
        let parts: Vec<&str> = rest.split('/').collect();
        match parts[..] {
            ["projects", n, "locations", l, "workloadIdentityPools", pool, "providers", _] => {
                Some(format!("projects/{n}/locations/{l}/workloadIdentityPools/{pool}"))
            }
            _ => None,
        }
    }
}

const GCP_AUDIENCE_PREFIX: &str = "//iam.googleapis.com/";

/// Whether `aud` is a cloud's token-exchange audience, in any spelling that cloud accepts or
/// that is one case or slash away from it; `None` for every other audience. The clouds' rules
/// (a downstream target's audience is its own, the claims a cloud reads) apply to any target
/// whose audience this recognises, with or without a cloud block:
///
/// - AWS: `sts.amazonaws.com` (and `sts.amazonaws.com.cn`), the audience AWS's own tooling
///   mints for (EKS, the SDKs' examples); with or without `https://` and a trailing `/`;
/// - Google: a workload identity provider's resource name behind `https://iam.googleapis.com/`
///   or `//iam.googleapis.com/`, both of which a provider accepts by default;
/// - Entra: `api://AzureADTokenExchange` and its US Government and China forms.
///
/// Hosts and schemes are compared without case. An AWS target's own client id (any string an
/// IAM OIDC provider lists) is a cloud audience too, but only the configuration knows it: the
/// loader compares every target's audience with the cloud targets'.
pub fn exchange_audience(aud: &str) -> Option<ExchangeAudience> {
    // Case-insensitive comparisons in place: this runs for every target at load and must not
    // allocate for the audiences that are no cloud's.
    fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
        let n = prefix.len();
        (s.len() >= n && s.is_char_boundary(n) && s[..n].eq_ignore_ascii_case(prefix)).then(|| &s[n..])
    }
    let bare = strip_prefix_ci(aud, "https://").unwrap_or(aud);
    let bare = bare.strip_suffix('/').unwrap_or(bare);
    // (Written with the scheme, which the registry test of reason codes does not mistake for one.)
    for url in ["https://sts.amazonaws.com", "https://sts.amazonaws.com.cn"] {
        let host = &url["https://".len()..];
        if bare.eq_ignore_ascii_case(host) {
            return Some(ExchangeAudience { cloud: "aws", canonical: host.to_owned() });
        }
    }
    for prefix in ["https://iam.googleapis.com/", GCP_AUDIENCE_PREFIX] {
        // The resource name keeps its case: Google's ids are lowercase, and a name that is not
        // is one Google would refuse anyway.
        if let Some(rest) = strip_prefix_ci(aud, prefix) {
            if strip_prefix_ci(rest, "projects/").is_some() {
                let rest = rest.trim_end_matches('/');
                return Some(ExchangeAudience { cloud: "gcp", canonical: format!("{GCP_AUDIENCE_PREFIX}{rest}") });
            }
        }
    }
    let trimmed = aud.trim_end_matches('/');
    for entra in ["api://AzureADTokenExchange", "api://AzureADTokenExchangeUSGov", "api://AzureADTokenExchangeChina"] {
        if trimmed.eq_ignore_ascii_case(entra) {
            return Some(ExchangeAudience { cloud: "azure", canonical: entra.to_owned() });
        }
    }
    None
}
