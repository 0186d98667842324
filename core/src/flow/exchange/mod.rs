//! The RFC 8693 exchange, start to end, over the two seams (`Fetch`, `SignatureBackend`):
//! parse -> pick issuer (before any fetch) -> keys -> signature -> claims -> policy -> mint.
use crate::config::{Config, TrustedIssuer};
use crate::flow::error::Error;
use crate::flow::token_cache::{self, MintedEntry, TokenCaches, VerifiedEntry};
use crate::io::fetch::Fetch;
use crate::issuer::claims::Caller;
use crate::issuer::key_store::KeyStore;
use crate::jose::crypto::{self, SignatureBackend};
use crate::jose::signing::KeyRing;
use crate::jose::token::UntrustedToken;
use crate::policy::mint;
use crate::wire::oauth::{GRANT_TOKEN_EXCHANGE, TT_ACCESS_TOKEN};
use crate::wire::request::TokenRequest;
use serde::Serialize;
use serde_json::{Map, Value};
use std::rc::Rc;

// Cloud targets (feature `clouds`): the brokered exchange, assertion mode and the `/gcp/*` routes.
// Without the feature no target has a cloud (`sts::CloudTarget` has no values).
#[cfg(feature = "clouds")]
mod cloud;
#[cfg(feature = "clouds")]
pub use cloud::{gcp_external_account, gcp_external_account_for, gcp_subject_token, GCP_EXECUTABLE_TIMEOUT_MS, STS_TIMEOUT_MS};

/// A subject token whose signature and claims have been checked. Only
/// [`verify_subject_token`] makes one: the fields are private, so holding a `VerifiedToken` is
/// proof of the checks (as jwt-compact's `Token` is of a validated signature).
#[derive(Debug, Clone)]
pub struct VerifiedToken<'c> {
    issuer: &'c TrustedIssuer,
    caller: Caller,
    claims: Rc<Map<String, Value>>,
}

impl<'c> VerifiedToken<'c> {
    /// The configured issuer that signed it.
    pub fn issuer(&self) -> &'c TrustedIssuer {
        self.issuer
    }

    /// Who is calling, read from the validated claims.
    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    /// All of the token's claims.
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }
}

/// Everything a request needs, borrowed from the isolate.
pub struct Context<'a, F, B> {
    pub config: &'a Config,
    pub keys: &'a KeyStore,
    pub ring: &'a KeyRing,
    pub fetch: &'a F,
    pub crypto: &'a B,
    pub caches: &'a TokenCaches,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TokenResponse {
    pub access_token: String,
    pub issued_token_type: &'static str,
    pub token_type: &'static str,
    pub expires_in: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// What the log line needs to know about a success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub client_id: String,
    pub targets: Vec<String>,
}

pub async fn verify_subject_token<'c, F: Fetch, B: SignatureBackend>(
    ctx: &Context<'c, F, B>,
    token: &str,
    now: f64,
) -> Result<VerifiedToken<'c>, Error> {
    let cfg = ctx.config;
    let hit = ctx.caches.verified.borrow().get_str(token);
    if let Some(hit) = hit {
        if let Some(trusted) = cfg.trusted_issuer(&hit.issuer) {
            // Only while the key that verified it is still in the issuer's fresh key set.
            if ctx.keys.holds_fresh(&trusted.source.issuer, &hit.thumbprint, now) {
                let caller = trusted.validate(&hit.claims, now)?;
                return Ok(VerifiedToken { issuer: trusted, caller, claims: hit.claims });
            }
        }
    }
    let t = UntrustedToken::parse(token, cfg.limits.token)?;
    let iss = t.issuer().ok_or(Error::UntrustedIssuer)?;
    let trusted = cfg.trusted_issuer(iss).ok_or(Error::UntrustedIssuer)?;
    if trusted.algorithms.as_ref().is_some_and(|a| !a.contains(&t.alg)) {
        return Err(Error::AlgNotAllowed);
    }
    let set = ctx.keys.keys_for(ctx.fetch, &trusted.source, t.kid.as_deref(), t.alg, now).await?;
    let key = set.select_one(t.kid.as_deref(), t.alg)?;
    if !crypto::verify(ctx.crypto, &key, t.signing_input.as_bytes(), &t.signature).await? {
        return Err(Error::BadSignature);
    }
    let thumbprint = key.thumbprint;
    let caller = trusted.validate(&t.claims, now)?;
    let claims = Rc::new(t.claims);
    let entry = VerifiedEntry { issuer: trusted.rules.issuer.clone(), thumbprint, claims: claims.clone() };
    ctx.caches.verified.borrow_mut().insert(token.to_owned(), entry, token.len() * 2 + 256);
    Ok(VerifiedToken { issuer: trusted, caller, claims })
}

/// `POST /token` after request parsing. `jti` draws from the adapter's CSPRNG, only on a mint.
pub async fn exchange<F: Fetch, B: SignatureBackend>(
    ctx: &Context<'_, F, B>,
    req: &TokenRequest,
    now: f64,
    jti: impl FnOnce() -> Result<String, Error>,
) -> Result<(Value, Outcome), Error> {
    let v = verify_subject_token(ctx, &req.subject_token, now).await?;
    let grant = ctx.config.policy.authorize(&v.caller, &req.targets, req.scope.as_deref())?;
    #[cfg(feature = "clouds")]
    if grant.targets[0].cloud.is_some() && grant.targets[0].cloud_mode.is_assertion() {
        // Assertion mode: the answer is the assertion itself, so only the jwt type is offered.
        if !matches!(req.requested, crate::wire::request::RequestedType::Unspecified | crate::wire::request::RequestedType::Jwt) {
            return Err(Error::Request(crate::wire::request::RequestError::AssertionTokenType));
        }
        let outcome = Outcome { client_id: v.caller.client_id.clone(), targets: vec![grant.targets[0].name.clone()] };
        return Ok((crate::outlined(cloud::mint_assertion(ctx, &v, &grant, now, jti)).await?, outcome));
    }
    let now_s = now.floor() as u64;
    let lifetime = mint::lifetime(&grant, &v.caller, now_s).ok_or(Error::SubjectExpiresTooSoon)?;
    let key = ctx.ring.active_for(grant.signing_alg()).ok_or(Error::NoSigningKey)?;
    let mut claims = mint::claims(&ctx.config.issuer, &v.issuer.subject_prefix, &v.caller, &grant, &v.claims, now_s, lifetime, "")?;
    let scope = (!grant.scopes.is_empty()).then(|| grant.scopes.join(" "));
    let outcome = Outcome { client_id: v.caller.client_id.clone(), targets: grant.targets.iter().map(|t| t.name.clone()).collect() };
    #[cfg(feature = "clouds")]
    if let Some(cloud) = &grant.targets[0].cloud {
        let body =
            crate::outlined(cloud::cloud_exchange(ctx, req, &v, cloud, &grant.targets[0].name, scope, claims, key, now, jti)).await?;
        return Ok((body, outcome));
    }
    if req.credential_process() {
        return Err(Error::Request(crate::wire::request::RequestError::RequestedTokenType));
    }
    let mkey = token_cache::minted_key(&v.caller.issuer, &claims, key.kid());
    let reusable = ctx.caches.minted.borrow().get(&mkey).filter(|m| m.usable(now_s, lifetime));
    let (access_token, expires_in) = match reusable {
        Some(m) => (m.token, m.exp - now_s),
        None => {
            claims.insert("jti".into(), Value::String(jti()?));
            let token = mint::sign(ctx.crypto, key, &claims).await?;
            let entry = MintedEntry { token: token.clone(), iat: now_s, exp: now_s + lifetime };
            let cost = token.len() + mkey.len() + 64;
            ctx.caches.minted.borrow_mut().insert(mkey, entry, cost);
            (token, lifetime)
        }
    };
    let resp = TokenResponse { access_token, issued_token_type: TT_ACCESS_TOKEN, token_type: "Bearer", expires_in, scope };
    Ok((serde_json::to_value(resp).unwrap_or_default(), outcome))
}

/// edge-sts's discovery document (what AWS IAM, Google WIF and Entra read).
pub fn discovery_document(cfg: &Config, ring: &KeyRing) -> Value {
    serde_json::json!({
        "issuer": cfg.issuer,
        "jwks_uri": cfg.jwks_uri(),
        "token_endpoint": cfg.token_endpoint(),
        "grant_types_supported": [GRANT_TOKEN_EXCHANGE],
        "token_endpoint_auth_methods_supported": ["none"],
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ring.algorithms(),
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "jti", "client_id", "scope"],
    })
}
