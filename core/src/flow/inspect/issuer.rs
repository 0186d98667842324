//! Stage 4: the issuer. The Worker picks the issuer's configuration by `iss` before anything
//! else (`token.untrusted_issuer`), then holds the token's `alg` to that issuer's allow-list.
use super::messages::show;
use super::{fail, pass, skip, Check, CheckId, Expectations};
use crate::flow::error::Error;
use crate::jose::alg::Alg;
use serde_json::{Map, Value};

/// `iss` and `alg_allowed`. Returns the parsed allow-list (`None`: not given; `Err`: a name
/// in it is not an algorithm) for the verdict.
pub(super) fn check(
    claims: Option<&Map<String, Value>>,
    alg: Option<Alg>,
    ex: &Expectations,
    checks: &mut Vec<Check>,
) -> Option<Result<Vec<Alg>, String>> {
    let token_iss = claims.and_then(|c| c.get("iss"));
    checks.push(match (token_iss.and_then(Value::as_str), &ex.issuer) {
        _ if claims.is_none() => skip(CheckId::Iss, "no claims to read"),
        (None, None) if ex.any_jwt() && ex.trusted_issuers.is_empty() => {
            skip(CheckId::Iss, format!("iss is {}; no expected issuer given", show(token_iss)))
        }
        (None, _) => fail(
            CheckId::Iss,
            &Error::UntrustedIssuer,
            format!("iss is {}: the Worker picks the issuer by `iss`, so it is required", show(token_iss)),
        ),
        (Some(i), Some(want)) if i == want => pass(CheckId::Iss, format!("iss `{i}` is the expected issuer")),
        (Some(i), Some(want)) => {
            let hint = if i.trim_end_matches('/') == want.trim_end_matches('/') {
                " (they differ only by a trailing slash, and that counts)"
            } else if i.eq_ignore_ascii_case(want) {
                " (they differ only in case, and that counts)"
            } else {
                ""
            };
            fail(CheckId::Iss, &Error::UntrustedIssuer, format!("iss `{i}` is not the expected `{want}`: compared exactly{hint}"))
        }
        (Some(i), None) if !ex.trusted_issuers.is_empty() => fail(
            CheckId::Iss,
            &Error::UntrustedIssuer,
            format!("iss `{i}` is none of the configuration's trusted issuers ({}): compared exactly", ex.trusted_issuers.join(", ")),
        ),
        (Some(i), None) => skip(CheckId::Iss, format!("iss `{i}`; no expected issuer given")),
    });
    let allowed: Option<Result<Vec<Alg>, String>> = ex
        .algorithms
        .as_ref()
        .map(|names| names.iter().map(|n| Alg::parse(n).ok_or_else(|| format!("`{n}` in the allow-list is not an algorithm"))).collect());
    checks.push(match (&allowed, alg) {
        (None, _) => skip(CheckId::AlgAllowed, "no algorithm allow-list given (all nine accepted)"),
        (_, None) => skip(CheckId::AlgAllowed, "no usable alg"),
        (Some(Err(e)), _) => skip(CheckId::AlgAllowed, e.clone()),
        (Some(Ok(list)), Some(a)) if list.contains(&a) => pass(CheckId::AlgAllowed, format!("{a} is in the allow-list")),
        (Some(Ok(_)), Some(a)) => fail(CheckId::AlgAllowed, &Error::AlgNotAllowed, format!("{a} is not in the issuer's allow-list")),
    });
    allowed
}
