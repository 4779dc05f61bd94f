//! Inbound WeChat pushes at the protocol level: the query WeChat sends, the timestamp
//! window, the signature and the decryption. What the console does with a verified push
//! (storing it, refusing replays, applying it) is `services::inbox`.

use super::crypto::{CryptError, MsgCrypt};

/// Pushes older or newer than this (seconds) are refused.
pub const TIMESTAMP_WINDOW_SECS: i64 = 300;
/// The largest body accepted; real pushes are a few hundred bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Which URL the push came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Component,
    MiniProgram,
}

impl Endpoint {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Component => "component",
            Self::MiniProgram => "mp",
        }
    }
}

/// Why a push was refused; each maps to a 4xx status and a log line.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Refusal {
    #[error("missing query parameter {0}")]
    MissingParam(&'static str),
    #[error("timestamp outside the accepted window")]
    Stale,
    #[error("message signature does not verify")]
    BadSignature,
    #[error("message could not be decrypted: {0}")]
    Undecryptable(String),
    #[error("nonce already seen (replay)")]
    Replay,
}

impl Refusal {
    /// A short fixed name for the reason (a metrics label; the message has details).
    pub fn reason(&self) -> &'static str {
        match self {
            Self::MissingParam(_) => "missing_param",
            Self::Stale => "stale",
            Self::BadSignature => "bad_signature",
            Self::Undecryptable(_) => "undecryptable",
            Self::Replay => "replay",
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            Self::MissingParam(_) | Self::Undecryptable(_) => 400,
            Self::BadSignature | Self::Stale => 401,
            Self::Replay => 409,
        }
    }
}

/// The query string WeChat sends with every push.
#[derive(Debug, Default, serde::Deserialize)]
pub struct PushQuery {
    pub timestamp: Option<String>,
    pub nonce: Option<String>,
    pub msg_signature: Option<String>,
    pub signature: Option<String>,
    pub encrypt_type: Option<String>,
}

/// Checks what can be checked without the database: parameters, window, signature, decryption.
pub fn open(crypt: &MsgCrypt, q: &PushQuery, body: &str, now: i64) -> Result<(i64, String, String), Refusal> {
    let timestamp = q.timestamp.as_deref().ok_or(Refusal::MissingParam("timestamp"))?;
    let nonce = q.nonce.as_deref().ok_or(Refusal::MissingParam("nonce"))?;
    let signature = q.msg_signature.as_deref().ok_or(Refusal::MissingParam("msg_signature"))?;
    let ts: i64 = timestamp.parse().map_err(|_| Refusal::Stale)?;
    if (now - ts).abs() > TIMESTAMP_WINDOW_SECS {
        return Err(Refusal::Stale);
    }
    let xml = crypt.open_envelope(body, signature, timestamp, nonce).map_err(|e| match e {
        CryptError::BadSignature => Refusal::BadSignature,
        other => Refusal::Undecryptable(other.to_string()),
    })?;
    Ok((ts, nonce.to_string(), xml))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crypt() -> MsgCrypt {
        MsgCrypt::new("token", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wx0000000000000001").unwrap()
    }

    fn sealed(now: i64) -> (PushQuery, String) {
        let c = crypt();
        let ts = now.to_string();
        let (body, sig) = c.seal_envelope("<xml><InfoType>component_verify_ticket</InfoType></xml>", &ts, "n1", None);
        (
            PushQuery { timestamp: Some(ts), nonce: Some("n1".into()), msg_signature: Some(sig), ..Default::default() },
            body,
        )
    }

    #[test]
    fn a_good_push_opens() {
        let (q, body) = sealed(1000);
        let (ts, nonce, xml) = open(&crypt(), &q, &body, 1000).unwrap();
        assert_eq!((ts, nonce.as_str()), (1000, "n1"));
        assert!(xml.contains("component_verify_ticket"));
    }

    #[test]
    fn stale_forged_and_incomplete_pushes_are_refused() {
        let (q, body) = sealed(1000);
        assert_eq!(open(&crypt(), &q, &body, 1000 + TIMESTAMP_WINDOW_SECS + 1), Err(Refusal::Stale));
        let forged = PushQuery { msg_signature: Some("0".repeat(40)), ..sealed(1000).0 };
        assert_eq!(open(&crypt(), &forged, &body, 1000), Err(Refusal::BadSignature));
        let missing = PushQuery { nonce: None, ..sealed(1000).0 };
        assert_eq!(open(&crypt(), &missing, &body, 1000), Err(Refusal::MissingParam("nonce")));
        assert!(matches!(open(&crypt(), &q, "<xml>nonsense", 1000), Err(Refusal::Undecryptable(_))));
    }
}
