//! WeChat Pay APIv3 on the wire (reference §7.6–7.8): the `Authorization` header a request
//! carries, the signed headers an answer or notification carries, and the AES-256-GCM
//! resource of a notification. Shared by the console's client and the sandbox, which
//! checks requests and signs answers the way WeChat Pay does.

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

use super::keys::{PrivateKey, PublicKey};

/// The scheme of the `Authorization` header and of `Wechatpay-Signature-Type`.
pub const SCHEME: &str = "WECHATPAY2-SHA256-RSA2048";

/// Signatures WeChat Pay sends on purpose to probe that verification is on: they must fail.
pub const SIGNTEST_PREFIX: &str = "WECHATPAY/SIGNTEST/";

/// The five-line message a request signs: method, path with query, timestamp, nonce, body.
pub fn request_message(method: &str, path_and_query: &str, timestamp: i64, nonce: &str, body: &str) -> String {
    format!("{}\n{path_and_query}\n{timestamp}\n{nonce}\n{body}\n", method.to_ascii_uppercase())
}

/// The three-line message an answer or a notification signs.
pub fn response_message(timestamp: &str, nonce: &str, body: &str) -> String {
    format!("{timestamp}\n{nonce}\n{body}\n")
}

/// A random 32-character nonce of `[0-9A-Za-z]`, as the SDKs make.
pub fn nonce() -> String {
    use rand::RngExt;
    const CHARS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::rng();
    (0..32).map(|_| CHARS[rng.random_range(0..CHARS.len())] as char).collect()
}

/// The parts of an `Authorization: WECHATPAY2-SHA256-RSA2048 k="v",…` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub mchid: String,
    pub nonce_str: String,
    pub timestamp: i64,
    pub serial_no: String,
    pub signature: String,
}

impl Authorization {
    /// Signs a request: the header value to send. The arguments are the protocol's own
    /// parts (three header fields, the key, the five signed lines less the timestamp's
    /// source), kept flat so a call reads like the documentation.
    #[allow(clippy::too_many_arguments)]
    pub fn sign(
        mchid: &str,
        serial_no: &str,
        key: &PrivateKey,
        method: &str,
        path_and_query: &str,
        body: &str,
        timestamp: i64,
        nonce_str: &str,
    ) -> String {
        let signature = key.sign(request_message(method, path_and_query, timestamp, nonce_str, body).as_bytes());
        format!(
            "{SCHEME} mchid=\"{mchid}\",nonce_str=\"{nonce_str}\",timestamp=\"{timestamp}\",serial_no=\"{serial_no}\",signature=\"{signature}\""
        )
    }

    /// Reads a header value; the pairs may come in any order. `None` when the scheme or a
    /// pair is missing or malformed.
    pub fn parse(header: &str) -> Option<Self> {
        let rest = header.trim().strip_prefix(SCHEME)?.trim_start();
        let get = |name: &str| -> Option<String> {
            rest.split(',').find_map(|pair| {
                let (k, v) = pair.trim().split_once('=')?;
                (k.trim() == name).then(|| v.trim().trim_matches('"').to_string())
            })
        };
        Some(Authorization {
            mchid: get("mchid")?,
            nonce_str: get("nonce_str")?,
            timestamp: get("timestamp")?.parse().ok()?,
            serial_no: get("serial_no")?,
            signature: get("signature")?,
        })
    }

    /// Whether the signature covers this request under `key`.
    pub fn verifies(&self, key: &PublicKey, method: &str, path_and_query: &str, body: &str) -> bool {
        key.verify(
            request_message(method, path_and_query, self.timestamp, &self.nonce_str, body).as_bytes(),
            &self.signature,
        )
    }
}

/// The `Wechatpay-*` headers of an answer or a notification.
#[derive(Debug, Clone, Default)]
pub struct SignedHeaders {
    pub timestamp: String,
    pub nonce: String,
    pub signature: String,
    pub serial: String,
}

impl SignedHeaders {
    /// Signs `body` as WeChat Pay signs its answers.
    pub fn sign(key: &PrivateKey, serial: &str, body: &str, timestamp: i64) -> Self {
        let nonce = nonce();
        let timestamp = timestamp.to_string();
        let signature = key.sign(response_message(&timestamp, &nonce, body).as_bytes());
        SignedHeaders { timestamp, nonce, signature, serial: serial.to_string() }
    }

    /// Reads the headers from an HTTP header lookup (case-insensitive names).
    pub fn read(get: impl Fn(&str) -> Option<String>) -> Option<Self> {
        Some(SignedHeaders {
            timestamp: get("Wechatpay-Timestamp")?,
            nonce: get("Wechatpay-Nonce")?,
            signature: get("Wechatpay-Signature")?,
            serial: get("Wechatpay-Serial")?,
        })
    }

    pub fn pairs(&self) -> [(&'static str, &str); 5] {
        [
            ("Wechatpay-Timestamp", &self.timestamp),
            ("Wechatpay-Nonce", &self.nonce),
            ("Wechatpay-Signature", &self.signature),
            ("Wechatpay-Serial", &self.serial),
            ("Wechatpay-Signature-Type", SCHEME),
        ]
    }
}

/// Why an answer or a notification was not accepted as WeChat Pay's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the Wechatpay-* signature headers are missing")]
    MissingHeaders,
    #[error("signed with key {0}, which is not the configured platform certificate or public key")]
    UnknownSerial(String),
    #[error("timestamp outside the allowed window")]
    Stale,
    #[error("a signature test probe (WECHATPAY/SIGNTEST/), refused as it must be")]
    Probe,
    #[error("the signature does not verify")]
    BadSignature,
}

/// The key that verifies WeChat Pay: a platform certificate's key under its serial, or a
/// WeChat Pay public key under its id (`PUB_KEY_ID_…`).
#[derive(Debug, Clone)]
pub struct PlatformVerifier {
    pub serial: String,
    pub key: PublicKey,
}

impl PlatformVerifier {
    /// Checks an answer's or notification's signature over `body`, within `window_secs` of `now`.
    pub fn verify(&self, headers: &SignedHeaders, body: &str, now: i64, window_secs: i64) -> Result<(), VerifyError> {
        if headers.signature.starts_with(SIGNTEST_PREFIX) {
            return Err(VerifyError::Probe);
        }
        if headers.serial != self.serial {
            return Err(VerifyError::UnknownSerial(headers.serial.clone()));
        }
        let ts: i64 = headers.timestamp.parse().map_err(|_| VerifyError::Stale)?;
        if (now - ts).abs() > window_secs {
            return Err(VerifyError::Stale);
        }
        if self.key.verify(response_message(&headers.timestamp, &headers.nonce, body).as_bytes(), &headers.signature) {
            Ok(())
        } else {
            Err(VerifyError::BadSignature)
        }
    }
}

/// A notification's envelope (§7.8).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Notification {
    pub id: String,
    pub create_time: String,
    pub resource_type: String,
    pub event_type: String,
    #[serde(default)]
    pub summary: String,
    pub resource: Resource,
}

/// The encrypted part of a notification (and of `GET /v3/certificates`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Resource {
    pub algorithm: String,
    pub ciphertext: String,
    #[serde(default)]
    pub associated_data: String,
    pub nonce: String,
    #[serde(default)]
    pub original_type: String,
}

/// Why a resource could not be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AeadError {
    #[error("the APIv3 key must be 32 characters")]
    KeyLength,
    #[error("the nonce must be 12 characters")]
    NonceLength,
    #[error("unsupported algorithm")]
    Algorithm,
    #[error("the ciphertext does not decrypt with the APIv3 key")]
    Decrypt,
}

fn cipher(api_v3_key: &str) -> Result<Aes256Gcm, AeadError> {
    Aes256Gcm::new_from_slice(api_v3_key.as_bytes()).map_err(|_| AeadError::KeyLength)
}

impl Resource {
    /// Encrypts `plaintext` (AEAD_AES_256_GCM, key = the APIv3 key's 32 bytes).
    pub fn seal(
        api_v3_key: &str,
        nonce: &str,
        associated_data: &str,
        original_type: &str,
        plaintext: &str,
    ) -> Result<Self, AeadError> {
        if nonce.len() != 12 {
            return Err(AeadError::NonceLength);
        }
        let nonce_bytes: [u8; 12] = nonce.as_bytes().try_into().map_err(|_| AeadError::NonceLength)?;
        let sealed = cipher(api_v3_key)?
            .encrypt(&Nonce::from(nonce_bytes), Payload { msg: plaintext.as_bytes(), aad: associated_data.as_bytes() })
            .map_err(|_| AeadError::Decrypt)?;
        Ok(Resource {
            algorithm: "AEAD_AES_256_GCM".into(),
            ciphertext: B64.encode(sealed),
            associated_data: associated_data.into(),
            nonce: nonce.into(),
            original_type: original_type.into(),
        })
    }

    /// Decrypts the resource with the APIv3 key.
    pub fn open(&self, api_v3_key: &str) -> Result<String, AeadError> {
        if self.algorithm != "AEAD_AES_256_GCM" {
            return Err(AeadError::Algorithm);
        }
        if self.nonce.len() != 12 {
            return Err(AeadError::NonceLength);
        }
        let sealed = B64.decode(self.ciphertext.as_bytes()).map_err(|_| AeadError::Decrypt)?;
        let nonce_bytes: [u8; 12] = self.nonce.as_bytes().try_into().map_err(|_| AeadError::NonceLength)?;
        let plain = cipher(api_v3_key)?
            .decrypt(&Nonce::from(nonce_bytes), Payload { msg: &sealed, aad: self.associated_data.as_bytes() })
            .map_err(|_| AeadError::Decrypt)?;
        String::from_utf8(plain).map_err(|_| AeadError::Decrypt)
    }
}

/// The parameters a mini program passes to `wx.requestPayment` for a JSAPI prepay (reference
/// §7.4): `paySign` is SHA256withRSA, with the merchant's API key, over
/// `appId\ntimeStamp\nnonceStr\npackage\n`, where `appId` is the mini program's (`sub_appid`).
pub fn request_payment_params(
    key: &PrivateKey,
    appid: &str,
    prepay_id: &str,
    timestamp: i64,
    nonce_str: &str,
) -> serde_json::Value {
    let package = format!("prepay_id={prepay_id}");
    let message = format!("{appid}\n{timestamp}\n{nonce_str}\n{package}\n");
    serde_json::json!({
        "appId": appid,
        "timeStamp": timestamp.to_string(),
        "nonceStr": nonce_str,
        "package": package,
        "signType": "RSA",
        "paySign": key.sign(message.as_bytes()),
    })
}

/// WeChat Pay's error body: `{"code": "PARAM_ERROR", "message": "…"}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
}

/// Encrypts a sensitive field of an application (name, ID number, phone, account number) with
/// the platform's public key, RSA-OAEP with SHA-1 as WeChat Pay requires.
pub fn encrypt_field(key: &PublicKey, plaintext: &str) -> String {
    B64.encode(key.encrypt_oaep(plaintext.as_bytes()))
}

/// Decrypts a sensitive field (the sandbox does this with the platform's private key).
pub fn decrypt_field(key: &PrivateKey, ciphertext_b64: &str) -> Option<String> {
    let bytes = B64.decode(ciphertext_b64.as_bytes()).ok()?;
    String::from_utf8(key.decrypt_oaep(&bytes)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = include_str!("../sandbox/pay/keys/merchant_key.pem");

    #[test]
    fn the_reference_check_vector_opens() {
        let r = Resource {
            algorithm: "AEAD_AES_256_GCM".into(),
            ciphertext: "Eu6myr+6GaECeJdOZPZ6BX5lij2Vohspf9pbw6Eor54J6prefQGx4A8pw4JzQ/lkgFh/UIp8nXF6h6aOBw==".into(),
            associated_data: "transaction".into(),
            nonce: "abcdefghijkl".into(),
            original_type: "transaction".into(),
        };
        let key = "0123456789abcdef0123456789abcdef";
        assert_eq!(r.open(key).expect("opens"), r#"{"out_trade_no":"T1","trade_state":"SUCCESS"}"#);
        let again = Resource::seal(
            key,
            "abcdefghijkl",
            "transaction",
            "transaction",
            r#"{"out_trade_no":"T1","trade_state":"SUCCESS"}"#,
        )
        .expect("seals");
        assert_eq!(again.ciphertext, r.ciphertext);
        assert_eq!(r.open("0123456789abcdef0123456789abcdeX"), Err(AeadError::Decrypt));
        assert_eq!(r.open("short"), Err(AeadError::KeyLength));
    }

    #[test]
    fn an_authorization_header_round_trips_in_any_order() {
        let key = PrivateKey::parse(KEY).expect("key");
        let header = Authorization::sign("1900000100", "37AB", &key, "post", "/v3/pay?x=1", "{}", 1_700_000_000, "n1");
        let parsed = Authorization::parse(&header).expect("parses");
        assert_eq!(parsed.mchid, "1900000100");
        assert!(parsed.verifies(&key.public_key(), "POST", "/v3/pay?x=1", "{}"));
        assert!(!parsed.verifies(&key.public_key(), "POST", "/v3/pay?x=2", "{}"));
        let shuffled = format!(
            "{SCHEME} signature=\"{}\",serial_no=\"37AB\",timestamp=\"1700000000\",nonce_str=\"n1\",mchid=\"1900000100\"",
            parsed.signature
        );
        assert_eq!(Authorization::parse(&shuffled), Some(parsed));
        assert_eq!(Authorization::parse("Bearer x"), None);
    }

    #[test]
    fn answers_verify_and_probes_stale_or_foreign_ones_do_not() {
        let key = PrivateKey::parse(KEY).expect("key");
        let verifier = PlatformVerifier { serial: "S1".into(), key: key.public_key() };
        let h = SignedHeaders::sign(&key, "S1", "{\"a\":1}", 1000);
        assert_eq!(verifier.verify(&h, "{\"a\":1}", 1000, 300), Ok(()));
        assert_eq!(verifier.verify(&h, "{\"a\":2}", 1000, 300), Err(VerifyError::BadSignature));
        assert_eq!(verifier.verify(&h, "{\"a\":1}", 2000, 300), Err(VerifyError::Stale));
        let foreign = SignedHeaders { serial: "S2".into(), ..h.clone() };
        assert_eq!(verifier.verify(&foreign, "{\"a\":1}", 1000, 300), Err(VerifyError::UnknownSerial("S2".into())));
        let probe = SignedHeaders { signature: format!("{SIGNTEST_PREFIX}abc"), ..h };
        assert_eq!(verifier.verify(&probe, "{\"a\":1}", 1000, 300), Err(VerifyError::Probe));
    }

    #[test]
    fn sensitive_fields_round_trip_through_oaep() {
        let key = PrivateKey::parse(KEY).expect("key");
        let sealed = encrypt_field(&key.public_key(), "张三");
        assert_ne!(sealed, encrypt_field(&key.public_key(), "张三"), "OAEP is randomised");
        assert_eq!(decrypt_field(&key, &sealed).as_deref(), Some("张三"));
    }
}
