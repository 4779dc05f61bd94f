//! RSA keys and X.509 certificates as WeChat Pay and Alipay use them: PEM (or Alipay's bare
//! base64) parsing with a reason a person can act on, SHA256withRSA (PKCS#1 v1.5) signatures
//! in Base64, and the facts of a certificate the console checks (serial, validity, whether
//! a private key belongs to it).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::Sha256;
use x509_cert::der::{DecodePem, Encode};

/// Why a key or certificate was refused; each maps to a sentence beside the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("not a PEM block or base64 key")]
    Malformed,
    #[error("not an RSA private key")]
    NotPrivateKey,
    #[error("not an RSA public key")]
    NotPublicKey,
    #[error("not an X.509 certificate")]
    NotCertificate,
    #[error("the RSA key is shorter than 2048 bits")]
    TooShort,
}

impl KeyError {
    /// The locale key of the sentence shown beside the field.
    pub fn message_key(self) -> &'static str {
        match self {
            KeyError::Malformed => "pay.key.malformed",
            KeyError::NotPrivateKey => "pay.key.not_private",
            KeyError::NotPublicKey => "pay.key.not_public",
            KeyError::NotCertificate => "pay.key.not_certificate",
            KeyError::TooShort => "pay.key.too_short",
        }
    }
}

/// A private key that signs with SHA256withRSA. Its `Debug` never shows the key.
#[derive(Clone)]
pub struct PrivateKey {
    key: RsaPrivateKey,
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrivateKey(***)")
    }
}

/// A public key that verifies SHA256withRSA signatures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    key: RsaPublicKey,
}

/// The facts of an X.509 certificate the console uses.
#[derive(Clone, Debug)]
pub struct Certificate {
    /// The serial number as WeChat Pay writes it: uppercase hex, no separators, no leading
    /// zero byte.
    pub serial: String,
    pub not_before: i64,
    pub not_after: i64,
    pub subject: String,
    pub public_key: PublicKey,
}

/// Strips PEM armour if present; Alipay's key tool hands out bare base64 on one line.
fn der_of(text: &str) -> Result<Vec<u8>, KeyError> {
    let body: String =
        text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with("-----")).collect::<Vec<_>>().concat();
    if body.is_empty() {
        return Err(KeyError::Malformed);
    }
    B64.decode(body.as_bytes()).map_err(|_| KeyError::Malformed)
}

fn check_size(bits: usize) -> Result<(), KeyError> {
    if bits < 2048 { Err(KeyError::TooShort) } else { Ok(()) }
}

impl PrivateKey {
    /// Reads a PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1 (`BEGIN RSA PRIVATE KEY`) key, armoured or
    /// bare base64.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let der = der_of(text)?;
        let key = RsaPrivateKey::from_pkcs8_der(&der)
            .or_else(|_| RsaPrivateKey::from_pkcs1_der(&der))
            .map_err(|_| KeyError::NotPrivateKey)?;
        check_size(key.size() * 8)?;
        Ok(PrivateKey { key })
    }

    /// Base64(SHA256withRSA(message)).
    pub fn sign(&self, message: &[u8]) -> String {
        let signer = SigningKey::<Sha256>::new(self.key.clone());
        B64.encode(signer.sign(message).to_bytes())
    }

    pub fn public_key(&self) -> PublicKey {
        PublicKey { key: self.key.to_public_key() }
    }

    /// Decrypts RSA-OAEP (SHA-1) ciphertext.
    pub fn decrypt_oaep(&self, ciphertext: &[u8]) -> Option<Vec<u8>> {
        self.key.decrypt(rsa::Oaep::<sha1::Sha1>::new(), ciphertext).ok()
    }
}

impl PublicKey {
    /// Reads a SubjectPublicKeyInfo (`BEGIN PUBLIC KEY`) or PKCS#1 (`BEGIN RSA PUBLIC KEY`) key,
    /// armoured or bare base64.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let der = der_of(text)?;
        let key = RsaPublicKey::from_public_key_der(&der)
            .or_else(|_| RsaPublicKey::from_pkcs1_der(&der))
            .map_err(|_| KeyError::NotPublicKey)?;
        check_size(key.size() * 8)?;
        Ok(PublicKey { key })
    }

    /// Whether `signature_b64` is Base64(SHA256withRSA(message)) under this key.
    pub fn verify(&self, message: &[u8], signature_b64: &str) -> bool {
        let Ok(bytes) = B64.decode(signature_b64.trim().as_bytes()) else {
            return false;
        };
        let Ok(signature) = Signature::try_from(bytes.as_slice()) else {
            return false;
        };
        VerifyingKey::<Sha256>::new(self.key.clone()).verify(message, &signature).is_ok()
    }

    /// Encrypts with RSA-OAEP (SHA-1), as WeChat Pay wants sensitive fields.
    pub fn encrypt_oaep(&self, plaintext: &[u8]) -> Vec<u8> {
        let mut rng = rand::rng();
        self.key.encrypt(&mut rng, rsa::Oaep::<sha1::Sha1>::new(), plaintext).unwrap_or_default()
    }
}

impl Certificate {
    /// Reads one PEM certificate (`BEGIN CERTIFICATE`).
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let text = text.trim();
        if !text.contains("-----BEGIN") {
            return Err(KeyError::Malformed);
        }
        let cert = x509_cert::Certificate::from_pem(text.as_bytes()).map_err(|_| KeyError::NotCertificate)?;
        let tbs = cert.tbs_certificate();
        let mut serial_bytes = tbs.serial_number().as_bytes();
        while serial_bytes.len() > 1 && serial_bytes[0] == 0 {
            serial_bytes = &serial_bytes[1..];
        }
        let serial: String = serial_bytes.iter().map(|b| format!("{b:02X}")).collect();
        let validity = tbs.validity();
        let secs = |t: x509_cert::time::Time| t.to_unix_duration().as_secs() as i64;
        let spki = tbs.subject_public_key_info().to_der().map_err(|_| KeyError::NotCertificate)?;
        let key = RsaPublicKey::from_public_key_der(&spki).map_err(|_| KeyError::NotPublicKey)?;
        check_size(key.size() * 8)?;
        Ok(Certificate {
            serial,
            not_before: secs(validity.not_before),
            not_after: secs(validity.not_after),
            subject: tbs.subject().to_string(),
            public_key: PublicKey { key },
        })
    }

    /// Whether `key` is the private half of this certificate's key.
    pub fn belongs_to(&self, key: &PrivateKey) -> bool {
        key.public_key() == self.public_key
    }
}

/// Normalises a certificate serial as typed (spaces, colons, lowercase) to WeChat Pay's form.
pub fn normalise_serial(typed: &str) -> String {
    let hex: String = typed.chars().filter(|c| !c.is_whitespace() && *c != ':').collect();
    let hex = hex.to_ascii_uppercase();
    let trimmed = hex.trim_start_matches('0');
    if trimmed.is_empty() { hex } else { trimmed.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MERCHANT_KEY: &str = include_str!("../sandbox/pay/keys/merchant_key.pem");
    const MERCHANT_CERT: &str = include_str!("../sandbox/pay/keys/merchant_cert.pem");
    const APP_KEY_PKCS1: &str = include_str!("../sandbox/pay/keys/alipay_app_key.pem");
    const APP_PUBLIC: &str = include_str!("../sandbox/pay/keys/alipay_app_public_key.pem");
    const OTHER_KEY: &str = include_str!("../../tests/fixtures/pay/other_key.pem");

    #[test]
    fn a_signature_verifies_under_its_key_and_not_another() {
        let key = PrivateKey::parse(MERCHANT_KEY).expect("key");
        let other = PrivateKey::parse(OTHER_KEY).expect("other");
        let sig = key.sign(b"POST\n/v3/x\n1\nn\n{}\n");
        assert!(key.public_key().verify(b"POST\n/v3/x\n1\nn\n{}\n", &sig));
        assert!(!key.public_key().verify(b"POST\n/v3/x\n1\nn\n{ }\n", &sig));
        assert!(!other.public_key().verify(b"POST\n/v3/x\n1\nn\n{}\n", &sig));
        assert!(!key.public_key().verify(b"x", "not base64!"));
    }

    #[test]
    fn certificates_give_serial_validity_and_their_key() {
        let cert = Certificate::parse(MERCHANT_CERT).expect("cert");
        assert_eq!(cert.serial, "3775B6A45ACD588826D15E583A95F5DD2C5CE3A5");
        assert_eq!(cert.not_after, 1_906_502_400); // 2030-06-01T00:00:00Z
        assert!(cert.belongs_to(&PrivateKey::parse(MERCHANT_KEY).expect("key")));
        assert!(!cert.belongs_to(&PrivateKey::parse(OTHER_KEY).expect("other")));
    }

    #[test]
    fn pkcs1_bare_base64_and_garbage_are_told_apart() {
        let key = PrivateKey::parse(APP_KEY_PKCS1).expect("pkcs1 key");
        let bare: String = APP_KEY_PKCS1.lines().filter(|l| !l.starts_with("-----")).collect();
        assert!(PrivateKey::parse(&bare).is_ok());
        assert_eq!(key.public_key(), PublicKey::parse(APP_PUBLIC).expect("public"));
        assert_eq!(PrivateKey::parse("hello").unwrap_err(), KeyError::Malformed);
        assert_eq!(PrivateKey::parse("").unwrap_err(), KeyError::Malformed);
        assert_eq!(PrivateKey::parse(APP_PUBLIC).unwrap_err(), KeyError::NotPrivateKey);
        assert_eq!(PublicKey::parse(MERCHANT_KEY).unwrap_err(), KeyError::NotPublicKey);
        assert_eq!(Certificate::parse(MERCHANT_KEY).unwrap_err(), KeyError::NotCertificate);
    }

    #[test]
    fn serials_are_normalised() {
        assert_eq!(normalise_serial(" 37:75:b6 a4 "), "3775B6A4");
        assert_eq!(normalise_serial("00ab"), "AB");
    }
}
