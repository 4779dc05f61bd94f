//! Random tokens for links sent by e-mail (password reset, invitations) and the hash that
//! is stored instead of them, so a copy of the database opens no link.

use base64::Engine;
use sha2::{Digest, Sha256};

/// 32 random bytes, URL-safe base64 (43 characters).
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The SHA-256 of a token (or a recovery code), lowercase hex: what the database keeps.
pub fn hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new recovery code: `RECOVERY_LEN` characters of Crockford's base 32.
pub fn new_recovery_code() -> String {
    use crate::domain::credentials::{RECOVERY_ALPHABET, RECOVERY_LEN};
    let mut bytes = [0u8; RECOVERY_LEN];
    rand::fill(&mut bytes);
    bytes.iter().map(|b| RECOVERY_ALPHABET[usize::from(b & 31)] as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_hashed() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert_eq!(hash(&a), hash(&a));
        assert_eq!(hash(&a).len(), 64);
        assert_ne!(hash(&a), hash(&b));
        let code = new_recovery_code();
        assert!(crate::domain::credentials::normalize_recovery(&code).is_some(), "{code}");
    }
}
