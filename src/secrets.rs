//! Keys derived from the one master key (`MINIHOST_SECRET_KEY`), one per purpose, so
//! the cookie key and the at-rest encryption key are never the same bytes.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// HMAC-SHA256(master, label): a 32-byte key for one purpose.
pub fn derive(master: &[u8], label: &str) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(master).unwrap_or_else(|_| unreachable_key());
    mac.update(b"minihost:");
    mac.update(label.as_bytes());
    mac.finalize().into_bytes().into()
}

fn unreachable_key() -> Hmac<Sha256> {
    // HMAC accepts keys of any length; this branch exists only to avoid a panic path.
    <Hmac<Sha256> as KeyInit>::new_from_slice(b"minihost").unwrap_or_else(|_| unreachable_key())
}

/// The 64 bytes actix-session wants: signing half and encryption half.
pub fn cookie_key(master: &[u8]) -> actix_web::cookie::Key {
    let mut bytes = [0u8; 64];
    bytes[..32].copy_from_slice(&derive(master, "cookie-sign"));
    bytes[32..].copy_from_slice(&derive(master, "cookie-encrypt"));
    actix_web::cookie::Key::from(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_get_different_keys() {
        let master = [7u8; 64];
        assert_ne!(derive(&master, "a"), derive(&master, "b"));
        assert_eq!(derive(&master, "a"), derive(&master, "a"));
    }
}

/// Encrypts secrets before they are stored (tokens, merchant keys): AES-256-GCM with
/// a random nonce, stored as `v1:` + base64(nonce ‖ ciphertext).
#[derive(Clone)]
pub struct Sealer {
    cipher: aes_gcm::Aes256Gcm,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(***)")
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a stored secret could not be decrypted (was MINIHOST_SECRET_KEY changed?)")]
pub struct OpenError;

impl Sealer {
    pub fn new(master: &[u8]) -> Self {
        use aes_gcm::KeyInit;
        let key = derive(master, "secrets-at-rest");
        Self { cipher: aes_gcm::Aes256Gcm::new(&key.into()) }
    }

    pub fn seal(&self, plaintext: &str) -> String {
        use aes_gcm::aead::Aead;
        use base64::Engine;
        let mut nonce = [0u8; 12];
        rand::fill(&mut nonce);
        // Encryption with a fresh nonce and an in-memory buffer cannot fail.
        let sealed = self.cipher.encrypt(&nonce.into(), plaintext.as_bytes()).unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        format!("v1:{}", base64::engine::general_purpose::STANDARD.encode(out))
    }

    pub fn open(&self, stored: &str) -> Result<String, OpenError> {
        use aes_gcm::aead::Aead;
        use base64::Engine;
        let raw = stored
            .strip_prefix("v1:")
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .ok_or(OpenError)?;
        if raw.len() < 12 + 16 {
            return Err(OpenError);
        }
        let (nonce, body) = raw.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| OpenError)?;
        let plain = self.cipher.decrypt(&nonce.into(), body).map_err(|_| OpenError)?;
        String::from_utf8(plain).map_err(|_| OpenError)
    }
}

#[cfg(test)]
mod sealer_tests {
    use super::*;

    #[test]
    fn sealed_secrets_round_trip_and_do_not_show_the_plaintext() {
        let s = Sealer::new(&[1u8; 64]);
        let sealed = s.seal("authorizer-refresh-token");
        assert!(!sealed.contains("authorizer-refresh-token"));
        assert_ne!(sealed, s.seal("authorizer-refresh-token"), "a fresh nonce every time");
        assert_eq!(s.open(&sealed).unwrap(), "authorizer-refresh-token");
    }

    #[test]
    fn tampering_or_another_key_is_detected() {
        let s = Sealer::new(&[1u8; 64]);
        let sealed = s.seal("x");
        assert_eq!(Sealer::new(&[2u8; 64]).open(&sealed), Err(OpenError));
        let mut bytes = sealed.into_bytes();
        let last = bytes.len() - 2;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(s.open(&String::from_utf8(bytes).unwrap()), Err(OpenError));
        assert_eq!(s.open("plain"), Err(OpenError));
        assert_eq!(s.open("v1:%%%"), Err(OpenError));
    }
}
