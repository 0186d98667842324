//! PEM public keys (SPKI `PUBLIC KEY`, PKCS#1 `RSA PUBLIC KEY`), read as a public JWK so they
//! go through the same `jwk::parse_public` rules as any other key. Only with the `pem`
//! feature (the playground's); the Worker never reads PEM.
use crate::jose::b64;
use pkcs1::der::{Decode, Document};
use serde_json::{json, Map, Value};
use spki::{ObjectIdentifier, SubjectPublicKeyInfoRef};

const RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const EC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

fn rsa(der: &[u8]) -> Result<Value, String> {
    let k = pkcs1::RsaPublicKey::from_der(der).map_err(|e| format!("RSA public key could not be read: {e}"))?;
    Ok(json!({"kty": "RSA", "n": b64::encode(k.modulus.as_bytes()), "e": b64::encode(k.public_exponent.as_bytes())}))
}

fn ec(crv: &str, len: usize, point: &[u8]) -> Result<Value, String> {
    match point.first() {
        Some(4) if point.len() == 1 + 2 * len => {
            Ok(json!({"kty": "EC", "crv": crv, "x": b64::encode(&point[1..1 + len]), "y": b64::encode(&point[1 + len..])}))
        }
        Some(2 | 3) => Err("compressed EC points are not supported; export the key uncompressed".into()),
        _ => Err(format!("not a {crv} point")),
    }
}

/// A PEM public key (SPKI `PUBLIC KEY` or PKCS#1 `RSA PUBLIC KEY`) as a public JWK, so it
/// goes through the same `jwk::parse_public` rules as any other key.
pub fn to_jwk(text: &str) -> Result<Map<String, Value>, String> {
    let text = text.trim();
    let label = text.strip_prefix("-----BEGIN ").and_then(|r| r.split_once("-----")).map_or("", |(l, _)| l);
    if label.contains("PRIVATE") {
        return Err("this is a private key: paste only the public key (openssl pkey -pubout)".into());
    }
    if label == "CERTIFICATE" {
        return Err("certificates are not read here: paste the public key (openssl x509 -pubkey -noout)".into());
    }
    let (label, doc) = Document::from_pem(text).map_err(|e| format!("PEM could not be read: {e}"))?;
    let jwk = match label {
        "PUBLIC KEY" => {
            let spki = SubjectPublicKeyInfoRef::from_der(doc.as_bytes()).map_err(|e| format!("not a SubjectPublicKeyInfo: {e}"))?;
            let bits = spki.subject_public_key.as_bytes().ok_or("public key bit string is not whole bytes")?;
            match spki.algorithm.oid {
                RSA => rsa(bits)?,
                EC => match spki.algorithm.parameters_oid() {
                    Ok(P256) => ec("P-256", 32, bits)?,
                    Ok(P384) => ec("P-384", 48, bits)?,
                    Ok(other) => return Err(format!("EC curve {other} is not supported (P-256 and P-384 are)")),
                    Err(_) => return Err("EC key without a named curve".into()),
                },
                ED25519 => json!({"kty": "OKP", "crv": "Ed25519", "x": b64::encode(bits)}),
                other => return Err(format!("key algorithm {other} is not supported (RSA, EC P-256/P-384, Ed25519 are)")),
            }
        }
        "RSA PUBLIC KEY" => rsa(doc.as_bytes())?,
        other => return Err(format!("PEM type `{other}` is not a public key")),
    };
    match jwk {
        Value::Object(m) => Ok(m),
        _ => Err("internal: not an object".into()),
    }
}
