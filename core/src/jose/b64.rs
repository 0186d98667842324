//! Strict base64url (RFC 7515 §2): no padding, no whitespace, canonical trailing bits.
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// Decodes strict base64url. `URL_SAFE_NO_PAD` refuses `=` padding and non-zero trailing bits.
pub fn decode(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(s).ok()
}

pub fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict() {
        assert_eq!(decode("QQ"), Some(b"A".to_vec()));
        assert_eq!(decode("QQ=="), None, "padding");
        assert_eq!(decode("QR"), None, "non-canonical trailing bits");
        assert_eq!(decode("Q Q"), None, "whitespace");
        assert_eq!(decode("Q+"), None, "standard alphabet");
        assert_eq!(decode("-_8"), Some(vec![0xfb, 0xff]));
        assert_eq!(decode("Q"), None, "impossible length");
    }
}
