//! The JWS algorithms edge-sts accepts (RFC 7518). `none` and HMAC are not representable.
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Alg {
    RS256,
    RS384,
    RS512,
    PS256,
    PS384,
    PS512,
    ES256,
    ES384,
    EdDSA,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    RsaPkcs1,
    RsaPss,
    Ecdsa,
    Ed25519,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

impl Alg {
    pub const ALL: [Alg; 9] = [Alg::RS256, Alg::RS384, Alg::RS512, Alg::PS256, Alg::PS384, Alg::PS512, Alg::ES256, Alg::ES384, Alg::EdDSA];

    /// Exact, case-sensitive match (RFC 7515 §4.1.1): `none`, `None`, `HS256` are all `None`.
    pub fn parse(s: &str) -> Option<Alg> {
        Alg::ALL.into_iter().find(|a| a.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Alg::RS256 => "RS256",
            Alg::RS384 => "RS384",
            Alg::RS512 => "RS512",
            Alg::PS256 => "PS256",
            Alg::PS384 => "PS384",
            Alg::PS512 => "PS512",
            Alg::ES256 => "ES256",
            Alg::ES384 => "ES384",
            Alg::EdDSA => "EdDSA",
        }
    }

    pub fn family(self) -> Family {
        match self {
            Alg::RS256 | Alg::RS384 | Alg::RS512 => Family::RsaPkcs1,
            Alg::PS256 | Alg::PS384 | Alg::PS512 => Family::RsaPss,
            Alg::ES256 | Alg::ES384 => Family::Ecdsa,
            Alg::EdDSA => Family::Ed25519,
        }
    }

    pub fn hash(self) -> Hash {
        match self {
            Alg::RS256 | Alg::PS256 | Alg::ES256 | Alg::EdDSA => Hash::Sha256,
            Alg::RS384 | Alg::PS384 | Alg::ES384 => Hash::Sha384,
            Alg::RS512 | Alg::PS512 => Hash::Sha512,
        }
    }
}

impl Hash {
    /// Output length in bytes; also the RSA-PSS salt length (RFC 7518 §3.5).
    #[allow(clippy::len_without_is_empty)]
    pub fn len(self) -> usize {
        match self {
            Hash::Sha256 => 32,
            Hash::Sha384 => 48,
            Hash::Sha512 => 64,
        }
    }

    pub fn webcrypto_name(self) -> &'static str {
        match self {
            Hash::Sha256 => "SHA-256",
            Hash::Sha384 => "SHA-384",
            Hash::Sha512 => "SHA-512",
        }
    }
}

impl fmt::Display for Alg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_is_exact() {
        for a in Alg::ALL {
            assert_eq!(Alg::parse(a.as_str()), Some(a));
        }
        for bad in ["none", "None", "NONE", "nOnE", "HS256", "rs256", "ES512", "", "RS256 "] {
            assert_eq!(Alg::parse(bad), None, "{bad}");
        }
    }
}
