//! Minting downstream tokens (RFC 9068 profile) and signing them through the backend.
use crate::issuer::claims::Caller;
use crate::jose::b64;
use crate::jose::crypto::{CryptoError, SignatureBackend};
use crate::jose::signing::SigningKey;
use crate::policy::trust::{Grant, PolicyError};
use serde_json::{json, Map, Value};

/// Looks up a dotted path (`realm_access.roles`) in the subject token's claims.
fn lookup<'a>(claims: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('.');
    let mut cur = claims.get(parts.next()?)?;
    for p in parts {
        cur = cur.as_object()?.get(p)?;
    }
    Some(cur)
}

/// Writes one policy claim; a second write of a different value is a conflict.
fn put(c: &mut Map<String, Value>, name: &str, v: &Value) -> Result<(), PolicyError> {
    match c.get(name) {
        None => {
            c.insert(name.to_owned(), v.clone());
            Ok(())
        }
        Some(prev) if prev == v => Ok(()),
        Some(_) => Err(PolicyError::ConflictingClaims),
    }
}

#[allow(clippy::too_many_arguments)] // each is a distinct input of the claim set
/// The claim set of a downstream token. `now` is whole seconds; `lifetime` already decided.
/// Fails when two granted targets write one claim with different values, or one target copies
/// a claim whose source the subject token lacks while another target writes it.
pub fn claims(
    issuer: &str,
    subject_prefix: &str,
    caller: &Caller,
    grant: &Grant<'_>,
    subject: &Map<String, Value>,
    now: u64,
    lifetime: u64,
    jti: &str,
) -> Result<Map<String, Value>, PolicyError> {
    let mut c = Map::new();
    // Mapped and static claims first, so registered claims below always win (config also
    // refuses protected names). The grant's targets are in a fixed order, and two targets may
    // write one claim only with the same value: the caller's parameter order cannot matter.
    // A target that copies a claim owns it: when its source is missing from the subject token,
    // it says "no such claim", which conflicts with another target's value as any other value
    // would. Another target never fills it.
    let mut missing: Vec<(usize, &str)> = Vec::new();
    let mut writers: Vec<(usize, &str)> = Vec::new();
    for (i, t) in grant.targets.iter().enumerate() {
        for (k, v) in &t.static_claims {
            put(&mut c, k, v)?;
            writers.push((i, k.as_str()));
        }
        for (src, dest) in &t.copy_claims {
            match lookup(subject, src) {
                Some(v) => {
                    put(&mut c, dest, v)?;
                    writers.push((i, dest.as_str()));
                }
                None => missing.push((i, dest.as_str())),
            }
        }
    }
    if missing.iter().any(|&(i, dest)| writers.iter().any(|&(j, w)| j != i && w == dest)) {
        return Err(PolicyError::ConflictingClaims);
    }
    let aud = grant.audiences();
    c.insert("iss".into(), json!(issuer));
    // `sub` and `client_id` both carry the issuer's prefix: with several trusted issuers the
    // prefixes are distinct and none starts another (config), so two realms' callers never
    // look alike downstream, whichever of the two claims a resource server or cloud reads.
    let who = format!("{subject_prefix}{}", caller.client_id);
    c.insert("sub".into(), json!(who));
    c.insert("aud".into(), if aud.len() == 1 { json!(aud[0]) } else { json!(aud) });
    c.insert("client_id".into(), json!(who));
    if !grant.scopes.is_empty() {
        c.insert("scope".into(), json!(grant.scopes.join(" ")));
    }
    c.insert("iat".into(), json!(now));
    c.insert("exp".into(), json!(now + lifetime));
    c.insert("jti".into(), json!(jti));
    Ok(c)
}

/// The shortest life of a brokered cloud target's assertion (unless the target's own
/// `lifetime_secs` is shorter): it must outlast edge-sts's call to the cloud's STS (up to two
/// 10 s calls for Google) and the clock skew between edge-sts and the cloud.
pub const BROKERED_ASSERTION_FLOOR_SECS: u64 = 60;

/// Lifetime of the minted token: the target's, capped by the subject token's remaining life
/// unless every target allows more. `None` when under one second remains.
///
/// A brokered cloud target's assertion is the exception: edge-sts presents it to the cloud
/// itself and never returns it, so a subject token with seconds left does not cut it below
/// [`BROKERED_ASSERTION_FLOOR_SECS`] (an assertion expiring in flight is refused by the cloud).
/// What the caller gets back, the cloud's credentials, has the lifetime the target asks the
/// cloud for; every token edge-sts returns (downstream tokens, assertion-mode assertions) keeps
/// the cap.
pub fn lifetime(grant: &Grant<'_>, caller: &Caller, now: u64) -> Option<u64> {
    let wanted = grant.lifetime_secs();
    let life = if grant.allow_beyond_subject_expiry() {
        wanted
    } else {
        let remaining = (caller.exp - now as f64).floor();
        if remaining < 1.0 {
            return None;
        }
        let capped = wanted.min(remaining as u64);
        if brokered_cloud(grant) {
            capped.max(wanted.min(BROKERED_ASSERTION_FLOOR_SECS))
        } else {
            capped
        }
    };
    (life >= 1).then_some(life)
}

/// A grant of one cloud target in brokered mode: its token is an assertion edge-sts keeps.
fn brokered_cloud(grant: &Grant<'_>) -> bool {
    matches!(grant.targets.as_slice(), [t] if t.cloud.is_some() && !t.cloud_mode.is_assertion())
}

/// Signs a downstream token: a compact JWS with `typ: at+jwt` (RFC 9068 §2.1).
pub async fn sign<B: SignatureBackend>(backend: &B, key: &SigningKey, claims: &Map<String, Value>) -> Result<String, CryptoError> {
    sign_typed(backend, key, claims, "at+jwt").await
}

/// Signs a cloud-target assertion: an RFC 7523 JWT for a cloud's STS, not an access token for a
/// resource server, so its header says `typ: JWT`.
pub async fn sign_assertion<B: SignatureBackend>(
    backend: &B,
    key: &SigningKey,
    claims: &Map<String, Value>,
) -> Result<String, CryptoError> {
    sign_typed(backend, key, claims, "JWT").await
}

async fn sign_typed<B: SignatureBackend>(
    backend: &B,
    key: &SigningKey,
    claims: &Map<String, Value>,
    typ: &str,
) -> Result<String, CryptoError> {
    let header = json!({"alg": key.alg().as_str(), "kid": key.kid(), "typ": typ});
    let h = b64::encode(&serde_json::to_vec(&header).map_err(|_| CryptoError("header".into()))?);
    let p = b64::encode(&serde_json::to_vec(claims).map_err(|_| CryptoError("claims".into()))?);
    let input = format!("{h}.{p}");
    let sig = backend.sign(key, input.as_bytes()).await?;
    Ok(format!("{input}.{}", b64::encode(&sig)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::pure_crypto::PureCrypto;

    #[test]
    fn downstream_tokens_are_at_jwt_and_cloud_assertions_jwt() {
        // Fixed TEST-ONLY P-256 key (d = 1..32), the same as the benches'.
        let d: Vec<u8> = (1..=32u8).collect();
        let jwk = json!({"kty": "EC", "crv": "P-256", "alg": "ES256", "kid": "t",
            "x": "UVw9brnjlrkE0_7Kf1T9zQzB6Ze_N13KUVrQpsO0A18", "y": "RTa-OlDzGPv5pUdZAqIhUCvvDVfgjFOyzApW8X2fk1Q",
            "d": b64::encode(&d)});
        let key = SigningKey::from_jwk(jwk.as_object().unwrap().clone()).unwrap();
        let claims = Map::new();
        let header = |t: &str| -> Value {
            let h = t.split('.').next().unwrap();
            serde_json::from_slice(&b64::decode(h).unwrap()).unwrap()
        };
        let at = futures_executor::block_on(sign(&PureCrypto, &key, &claims)).unwrap();
        let jwt = futures_executor::block_on(sign_assertion(&PureCrypto, &key, &claims)).unwrap();
        assert_eq!(header(&at)["typ"], "at+jwt");
        assert_eq!(header(&jwt)["typ"], "JWT");
    }
}
