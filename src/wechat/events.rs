//! Inbound WeChat pushes: verify, refuse replays, decrypt, store, then process
//! idempotently. Processing only touches the database; anything that needs WeChat
//! again is queued as a job, so the answer goes back well within WeChat's 5 seconds.

use sha2::{Digest, Sha256};

use super::crypto::{CryptError, MsgCrypt, parse_flat_xml};
use super::platform::Platform;
use crate::db::{self, DbConn, audit, platform as store};
use crate::secrets::Sealer;

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
    fn as_str(self) -> &'static str {
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

/// The result of accepting a verified push.
#[derive(Debug, PartialEq, Eq)]
pub enum Accepted {
    /// Stored and processed (with its outcome).
    Stored { id: String, status: String },
    /// The same event was stored before: nothing happens twice.
    Duplicate,
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Stores a verified, decrypted push and processes it.
#[expect(clippy::too_many_arguments, reason = "the parts of one verified push, kept apart for the database call")]
pub fn accept(
    conn: &mut DbConn,
    sealer: &Sealer,
    endpoint: Endpoint,
    path_appid: Option<&str>,
    ts: i64,
    nonce: &str,
    raw_body: &str,
    xml: &str,
    now: i64,
) -> Result<Result<Accepted, Refusal>, diesel::result::Error> {
    if !store::remember_nonce(conn, nonce, ts, now)? {
        return Ok(Err(Refusal::Replay));
    }
    let fields = parse_flat_xml(xml).unwrap_or_default();
    let info_type = field(&fields, "InfoType")
        .or_else(|| field(&fields, "Event"))
        .or_else(|| field(&fields, "MsgType"))
        .unwrap_or("unknown")
        .to_string();
    let authorizer = field(&fields, "AuthorizerAppid").map(str::to_string).or_else(|| path_appid.map(str::to_string));
    let dedupe_key = format!("{}:{}", endpoint.as_str(), hex(&Sha256::digest(xml.as_bytes())));
    let id = crate::new_id();
    let stored = store::insert_event(
        conn,
        &store::NewEvent {
            id: &id,
            endpoint: endpoint.as_str(),
            path_appid,
            received_at: now,
            msg_timestamp: ts,
            nonce,
            raw_body,
            decoded: xml,
            info_type: &info_type,
            authorizer_appid: authorizer.as_deref(),
            dedupe_key: &dedupe_key,
        },
    )?;
    if !stored {
        tracing::info!(event.type = %info_type, "duplicate WeChat push ignored");
        return Ok(Ok(Accepted::Duplicate));
    }
    let status = process(conn, sealer, &id, now)?;
    Ok(Ok(Accepted::Stored { id, status }))
}

/// Applies a stored event's effect in one transaction with its new status. Safe to run
/// again (replay): every effect is idempotent.
pub fn process(conn: &mut DbConn, sealer: &Sealer, event_id: &str, now: i64) -> Result<String, diesel::result::Error> {
    let Some(event) = store::event(conn, event_id)? else {
        return Ok("missing".into());
    };
    let fields = parse_flat_xml(&event.decoded).unwrap_or_default();
    let result = db::write_tx(conn, |conn| -> Result<(String, String), diesel::result::Error> {
        let outcome = apply(conn, sealer, &event, &fields, now)?;
        store::finish_event(conn, &event.id, &outcome.0, &outcome.1, now)?;
        Ok(outcome)
    });
    match result {
        Ok((status, outcome)) => {
            tracing::info!(event.id = %event.id, event.type = %event.info_type, status = %status, "processed WeChat push: {outcome}");
            Ok(status)
        }
        Err(e) => {
            tracing::error!(event.id = %event.id, error = %e, "processing a WeChat push failed");
            store::finish_event(conn, &event.id, "failed", &format!("processing failed: {e}"), now)?;
            Ok("failed".into())
        }
    }
}

fn apply(
    conn: &mut DbConn,
    sealer: &Sealer,
    event: &store::Event,
    fields: &[(String, String)],
    now: i64,
) -> Result<(String, String), diesel::result::Error> {
    let processed = |s: &str| Ok(("processed".to_string(), s.to_string()));
    if event.endpoint == "mp" {
        return Ok(("ignored".into(), format!("no handler for mini program event {}", event.info_type)));
    }
    let appid = field(fields, "AuthorizerAppid").unwrap_or_default();
    match event.info_type.as_str() {
        "component_verify_ticket" => {
            let Some(ticket) = field(fields, "ComponentVerifyTicket").filter(|t| !t.is_empty()) else {
                return Ok(("failed".into(), "the push has no ComponentVerifyTicket".into()));
            };
            let created = field(fields, "CreateTime").and_then(|t| t.parse().ok()).unwrap_or(now);
            if !Platform::store_ticket(conn, sealer, ticket, created)? {
                return processed("an older ticket than the one kept; ignored");
            }
            // With the first ticket (or after a long gap) a component token can now be had.
            let token_ok = store::credential(conn, store::COMPONENT_TOKEN)?.is_some_and(|t| t.expires_at > now);
            if !token_ok {
                db::jobs::enqueue(
                    conn,
                    crate::jobs::REFRESH_COMPONENT_TOKEN,
                    "{}",
                    Some(&format!("{}:ticket", crate::jobs::REFRESH_COMPONENT_TOKEN)),
                    now,
                    now,
                )?;
            }
            processed("ticket stored")
        }
        "authorized" | "updateauthorized" if !appid.is_empty() => {
            // The tokens come from api_query_auth or the authorizer list; fetch them and
            // the account's details in the background.
            let before = store::authorizer(conn, appid)?.map(|a| a.status);
            store::upsert_grant(
                conn,
                &store::Grant {
                    appid,
                    refresh_token_enc: None,
                    access_token_enc: None,
                    access_expires_at: 0,
                    func_ids: None,
                },
                now,
            )?;
            // An `authorized` push can arrive before the administrator is back in the
            // console: match it to the pending authorization by its pre_auth_code.
            if event.info_type == "authorized"
                && let (Some(pre), Some(code)) = (field(fields, "PreAuthCode"), field(fields, "AuthorizationCode"))
                && let Some(state) = store::pending_state_for_pre_auth_code(conn, pre, now)?
            {
                db::jobs::enqueue(
                    conn,
                    crate::jobs::COMPLETE_TENANT_AUTHORIZATION,
                    &serde_json::json!({ "state": state.state, "auth_code": code }).to_string(),
                    Some(&format!("{}:{}", crate::jobs::COMPLETE_TENANT_AUTHORIZATION, state.state)),
                    now,
                    now,
                )?;
            }
            db::jobs::enqueue(
                conn,
                crate::jobs::SYNC_AUTHORIZER,
                &serde_json::json!({ "appid": appid }).to_string(),
                Some(&format!("{}:{appid}", crate::jobs::SYNC_AUTHORIZER)),
                now,
                now,
            )?;
            audit::write(
                conn,
                audit::Record {
                    actor: &audit::Actor::system(),
                    tenant_id: None,
                    action: &format!("authorizer.{}", event.info_type),
                    subject: &format!("authorizer:{appid}"),
                    before: before.map(|s| serde_json::json!({ "status": s })).as_ref(),
                    after: Some(
                        &serde_json::json!({ "status": "authorized", "pre_auth_code": field(fields, "PreAuthCode") }),
                    ),
                },
                now,
            )?;
            processed("authorization recorded; details will be fetched")
        }
        "unauthorized" if !appid.is_empty() => {
            let before = store::authorizer(conn, appid)?.map(|a| a.status);
            for binding in db::bindings::revoke_appid(conn, appid, now)? {
                audit::write(
                    conn,
                    audit::Record {
                        actor: &audit::Actor::system(),
                        tenant_id: Some(&binding.tenant_id),
                        action: "mini_program.revoked",
                        subject: &format!("tenant:{}:mini_program", binding.tenant_id),
                        before: Some(&serde_json::json!({ "appid": appid, "status": "active" })),
                        after: Some(&serde_json::json!({ "appid": appid, "status": "revoked" })),
                    },
                    now,
                )?;
                for (email, tenant_name) in db::bindings::tenant_admin_emails(conn, &binding.tenant_id)? {
                    let args = [("appid", appid), ("tenant", tenant_name.as_str())];
                    let (en, zh) = (crate::i18n::Locale::En, crate::i18n::Locale::ZhCn);
                    let subject = format!(
                        "{} / {}",
                        en.t_with("email.revoked_subject", &args),
                        zh.t_with("email.revoked_subject", &args)
                    );
                    let body = format!(
                        "{}\n\n---\n\n{}",
                        en.t_with("email.revoked_body", &args),
                        zh.t_with("email.revoked_body", &args)
                    );
                    db::outbox::enqueue(conn, &email, &subject, &body, now)?;
                }
            }
            if store::revoke(conn, appid, now)? == 0 {
                return processed("authorization withdrawn by an account we did not know");
            }
            audit::write(
                conn,
                audit::Record {
                    actor: &audit::Actor::system(),
                    tenant_id: None,
                    action: "authorizer.unauthorized",
                    subject: &format!("authorizer:{appid}"),
                    before: before.map(|s| serde_json::json!({ "status": s })).as_ref(),
                    after: Some(&serde_json::json!({ "status": "revoked" })),
                },
                now,
            )?;
            processed("authorization revoked; tokens dropped")
        }
        other => Ok(("ignored".into(), format!("no handler for {other}"))),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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
