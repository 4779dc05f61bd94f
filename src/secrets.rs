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
