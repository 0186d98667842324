//! The exchange for a cloud target (feature `clouds`): brokered (edge-sts calls the cloud's STS
//! and answers with its credentials) or assertion mode (edge-sts answers with the assertion it
//! mints for the cloud), and the `/gcp/*` routes of assertion-mode Google targets.
use super::{verify_subject_token, Context, VerifiedToken};
use crate::config::Config;
use crate::flow::error::Error;
use crate::flow::token_cache;
use crate::io::fetch::{Fetch, HttpRequest};
use crate::io::single_flight;
use crate::jose::crypto::SignatureBackend;
use crate::policy::mint;
use crate::wire::oauth::{TOKEN_TYPE_NA, TT_JWT};
use crate::wire::request::TokenRequest;
use serde_json::{Map, Value};

/// Longest wait for a cloud STS answer.
pub const STS_TIMEOUT_MS: u64 = 10_000;

/// Longest a request waits on another's cloud exchange for the same key: the leader makes at
/// most two STS calls (Google: STS, then IAM Credentials), then one last look.
const CLOUD_FOLLOWER_BUDGET_MS: u64 = 2 * STS_TIMEOUT_MS + single_flight::POLL_MS;

/// A cloud target: mint an assertion (always fresh: a new `jti` per STS call), exchange it at
/// the cloud's STS (AWS `AssumeRoleWithWebIdentity`; Google STS + optional `generateAccessToken`;
/// Entra client credentials), answer with the cloud's credentials. Credentials are reused per
/// (issuer, client, target, scope) until the cloud's refresh margin before expiry.
#[allow(clippy::too_many_arguments)]
pub(super) async fn cloud_exchange<F: Fetch, B: SignatureBackend>(
    ctx: &Context<'_, F, B>,
    req: &TokenRequest,
    v: &VerifiedToken<'_>,
    cloud: &crate::clouds::CloudTarget,
    target: &str,
    scope: Option<String>,
    mut claims: Map<String, Value>,
    key: &crate::jose::signing::SigningKey,
    now: f64,
    jti: impl FnOnce() -> Result<String, Error>,
) -> Result<Value, Error> {
    use crate::clouds::CloudTarget;
    use crate::clouds::{self, aws, azure, gcp, CloudCredentials, StsError};
    if req.credential_process() && !matches!(cloud, CloudTarget::Aws(_)) {
        return Err(Error::Request(crate::wire::request::RequestError::RequestedTokenType));
    }
    // The whole assertion claim set (minus iat/exp/jti) is part of the key, so mapped claims a
    // cloud's trust policy may test (tenant, roles) can never reuse another token's credentials.
    let ckey = format!("{target}\n{}", token_cache::minted_key(&v.caller.issuer, &claims, key.kid()));
    let cached = ctx.caches.clouds.borrow().get(&ckey).filter(|c| c.fresh_for_cache(now));
    let creds = match cached {
        Some(c) => c,
        None => {
            // Single flight per key, like the JWKS refresh: concurrent misses wait for the one
            // STS call already under way.
            let leader = || async {
                let result = async {
                    claims.insert("jti".into(), Value::String(jti()?));
                    let which = cloud.cloud();
                    let send = |request: HttpRequest| async move {
                        let resp = ctx.fetch.post(&request, clouds::MAX_RESPONSE_BYTES, STS_TIMEOUT_MS).await;
                        resp.map_err(|_| Error::Sts(StsError::Unavailable { cloud: which, http_status: 0 }))
                    };
                    let c = match cloud {
                        CloudTarget::Aws(role) => {
                            let token = mint::sign_assertion(ctx.crypto, key, &claims).await?;
                            let request = aws::assume_role_with_web_identity(role, &v.caller.issuer, &v.caller.client_id, &token);
                            let resp = send(request.map_err(Error::Sts)?).await?;
                            CloudCredentials::Aws(aws::parse_response(resp.status, &resp.body).map_err(Error::Sts)?)
                        }
                        CloudTarget::Gcp(g) => {
                            let (iat, exp) = (claims["iat"].as_u64().unwrap_or(0), claims["exp"].as_u64().unwrap_or(0));
                            let sub = claims["sub"].as_str().unwrap_or("");
                            gcp::check_assertion(key.alg(), Some(key.kid()), iat, exp, sub).map_err(Error::Sts)?;
                            let token = mint::sign_assertion(ctx.crypto, key, &claims).await?;
                            let mut g = g.clone();
                            if let Some(s) = &scope {
                                g.scopes = s.split(' ').map(str::to_owned).collect();
                            }
                            let resp = send(gcp::sts_token_request(&g, &token).map_err(Error::Sts)?).await?;
                            let federated = gcp::parse_sts_response(resp.status, &resp.body, now).map_err(Error::Sts)?;
                            match &g.impersonation {
                                None => CloudCredentials::Gcp(federated),
                                Some(imp) => {
                                    let request =
                                        gcp::generate_access_token_request(imp, &g.scopes, &federated.access_token).map_err(Error::Sts)?;
                                    let resp = send(request).await?;
                                    CloudCredentials::Gcp(
                                        gcp::parse_generate_access_token_response(imp, resp.status, &resp.body).map_err(Error::Sts)?,
                                    )
                                }
                            }
                        }
                        CloudTarget::Azure(app) => {
                            let token = mint::sign_assertion(ctx.crypto, key, &claims).await?;
                            let resp = send(azure::token_request(app, &token).map_err(Error::Sts)?).await?;
                            CloudCredentials::Azure(azure::parse_response(resp.status, &resp.body, now).map_err(Error::Sts)?)
                        }
                    };
                    Ok::<_, Error>(c)
                }
                .await;
                if let Ok(c) = &result {
                    ctx.caches.clouds.borrow_mut().insert(ckey.clone(), c.clone(), 4096);
                }
                result
            };
            match ctx.caches.cloud_inflight.run(&ckey, ctx.fetch, CLOUD_FOLLOWER_BUDGET_MS, leader).await {
                Ok(result) => result?,
                Err(_) => return Err(Error::Sts(StsError::Unavailable { cloud: cloud.cloud(), http_status: 0 })),
            }
        }
    };
    if req.credential_process() {
        if let CloudCredentials::Aws(a) = &creds {
            return Ok(a.credential_process_json());
        }
    }
    let mut m = creds.to_token_response(now);
    if let Some(s) = scope {
        m.insert("scope".into(), Value::String(s));
    }
    Ok(Value::Object(m))
}
/// An assertion-mode cloud target's answer: the assertion edge-sts mints for that cloud
/// (header `typ: JWT`, a fresh `jti`), for the caller's SDK to present to the cloud itself.
/// Its lifetime is the target's `assertion_lifetime_secs` when set (not capped at the subject
/// token's expiry: the assertion is good only at that cloud's exchange endpoint), otherwise
/// the usual rule. No cloud is called.
pub(super) async fn mint_assertion<F: Fetch, B: SignatureBackend>(
    ctx: &Context<'_, F, B>,
    v: &VerifiedToken<'_>,
    grant: &crate::policy::trust::Grant<'_>,
    now: f64,
    jti: impl FnOnce() -> Result<String, Error>,
) -> Result<Value, Error> {
    let now_s = now.floor() as u64;
    // `assertion_lifetime_secs`, when set, is the grant's lifetime and is not capped (`Grant`).
    let lifetime = mint::lifetime(grant, &v.caller, now_s).ok_or(Error::SubjectExpiresTooSoon)?;
    let key = ctx.ring.active_for(grant.signing_alg()).ok_or(Error::NoSigningKey)?;
    let mut claims = mint::claims(&ctx.config.issuer, &v.issuer.subject_prefix, &v.caller, grant, &v.claims, now_s, lifetime, "")?;
    claims.insert("jti".into(), Value::String(jti()?));
    if let Some(crate::clouds::CloudTarget::Gcp(_)) = &grant.targets[0].cloud {
        let sub = claims["sub"].as_str().unwrap_or("").to_owned();
        crate::clouds::gcp::check_assertion(key.alg(), Some(key.kid()), now_s, now_s + lifetime, &sub).map_err(Error::Sts)?;
    }
    let token = mint::sign_assertion(ctx.crypto, key, &claims).await?;
    if let Some(crate::clouds::CloudTarget::Aws(_)) = &grant.targets[0].cloud {
        crate::clouds::aws::check_web_identity_token(&token).map_err(Error::Sts)?;
    }
    Ok(serde_json::json!({"access_token": token, "issued_token_type": TT_JWT, "token_type": TOKEN_TYPE_NA, "expires_in": lifetime}))
}

/// `GET /gcp/subject-token`: the assertion of an assertion-mode Google target, the same answer
/// as `/token` gives for it. Same verification and policy as `/token`.
pub async fn gcp_subject_token<F: Fetch, B: SignatureBackend>(
    ctx: &Context<'_, F, B>,
    subject_token: &str,
    target: &str,
    now: f64,
    jti: impl FnOnce() -> Result<String, Error>,
) -> Result<Value, Error> {
    let (v, grant) = gcp_grant(ctx, subject_token, target, now).await?;
    mint_assertion(ctx, &v, &grant, now, jti).await
}

/// Verifies the subject token and checks that the policy gives its caller this target, and
/// that it is a Google target in assertion mode (after the policy, so a caller learns nothing
/// about targets it may not have).
async fn gcp_grant<'c, F: Fetch, B: SignatureBackend>(
    ctx: &Context<'c, F, B>,
    subject_token: &str,
    target: &str,
    now: f64,
) -> Result<(VerifiedToken<'c>, crate::policy::trust::Grant<'c>), Error> {
    let v = verify_subject_token(ctx, subject_token, now).await?;
    let requested = [crate::wire::request::TargetRef::Name(target.to_owned())];
    let grant = ctx.config.policy.authorize(&v.caller, &requested, None)?;
    let t = grant.targets[0];
    if !matches!(t.cloud, Some(crate::clouds::CloudTarget::Gcp(_))) || !t.cloud_mode.is_assertion() {
        return Err(Error::Policy(crate::policy::trust::PolicyError::TargetMode));
    }
    Ok((v, grant))
}

/// `GET /gcp/external-account`: the configuration, for a caller the policy gives this Google
/// target. Authorizes like [`gcp_subject_token`] but mints nothing.
pub async fn gcp_external_account_for<F: Fetch, B: SignatureBackend>(
    ctx: &Context<'_, F, B>,
    subject_token: &str,
    target: &str,
    now: f64,
) -> Result<Value, Error> {
    gcp_grant(ctx, subject_token, target, now).await?;
    gcp_external_account(ctx.config, target).ok_or(Error::Policy(crate::policy::trust::PolicyError::UnknownTarget))
}

/// The `external_account` credential configuration for an assertion-mode Google target: an
/// `executable` source running edge-sts's CLI credential helper
/// (`edge-sts credentials gcp --target <name> --edge-sts <issuer>`), which the helper extends
/// with its own authentication flags. `None` for any other target.
pub fn gcp_external_account(cfg: &Config, target: &str) -> Option<Value> {
    let t = cfg.policy.targets.get(target)?;
    let crate::clouds::CloudTarget::Gcp(g) = t.cloud.as_ref()? else { return None };
    if !t.cloud_mode.is_assertion() {
        return None;
    }
    // Google's libraries split the command on whitespace without quoting: the target name is
    // checked at load (letters, digits, `.`, `_`, `-`) and the issuer is a URL without spaces.
    let command = format!("edge-sts credentials gcp --target {target} --edge-sts {}", cfg.issuer);
    let source = crate::clouds::gcp::CredentialSource::Executable { command: &command, timeout_millis: GCP_EXECUTABLE_TIMEOUT_MS };
    Some(crate::clouds::gcp::external_account_config(g, source))
}

/// `timeout_millis` of the served `executable` source (Google's libraries accept 5000..=120000).
pub const GCP_EXECUTABLE_TIMEOUT_MS: u32 = 30_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_external_account_is_served_for_assertion_mode_google_targets_only() {
        let wif = "projects/123/locations/global/workloadIdentityPools/pool/providers/prov";
        let gcp = |mode: &str| {
            serde_json::json!({"audience": format!("https://iam.googleapis.com/{wif}"), "scopes": [],
                               "gcp": {"workload_identity_provider": wif, "mode": mode}})
        };
        let cfg = crate::config::load(
            &serde_json::json!({
                "issuer": "https://sts.example.com/tenant-a",
                "trusted_issuers": [{"issuer": "https://kc.example/realms/r", "audiences": ["edge-sts"]}],
                "signing_keys": [{"secret": "K", "status": "active"}],
                "targets": {"g.exec-1": gcp("assertion"), "g-brokered": gcp("brokered"), "orders": {"audience": "https://orders", "scopes": []}},
                // One client may not hold an assertion for the pool a brokered target of its own uses.
                "clients": [{"client": "svc", "targets": ["g.exec-1", "orders"]}, {"client": "svc-brokered", "targets": ["g-brokered"]}]
            })
            .to_string(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let ext = gcp_external_account(&cfg, "g.exec-1").unwrap();
        assert_eq!(
            ext["credential_source"]["executable"],
            serde_json::json!({"command": "edge-sts credentials gcp --target g.exec-1 --edge-sts https://sts.example.com/tenant-a", "timeout_millis": 30000})
        );
        assert!((5_000..=120_000).contains(&GCP_EXECUTABLE_TIMEOUT_MS));
        for other in ["g-brokered", "orders", "missing"] {
            assert_eq!(gcp_external_account(&cfg, other), None, "{other}");
        }
    }
}
