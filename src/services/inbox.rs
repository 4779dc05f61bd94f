//! The event inbox: a push that `wechat::push` verified and decrypted is checked against
//! replays, stored, then processed idempotently. Processing only touches the database;
//! anything that needs WeChat again is queued as a job, so the answer goes back well
//! within WeChat's 5 seconds.

use sha2::{Digest, Sha256};

use super::platform::Platform;
use crate::db::platform::EventStatus;
use crate::db::{self, DbConn, audit, jobs, platform as store};
use crate::domain::release::AuditResult;
use crate::secrets::Sealer;
use crate::wechat::crypto::parse_flat_xml;

pub use crate::wechat::push::{Endpoint, Refusal};

/// The result of accepting a verified push.
#[derive(Debug, PartialEq, Eq)]
pub enum Accepted {
    /// Stored and processed (with its outcome).
    Stored { id: String, status: EventStatus },
    /// The same event was stored before: nothing happens twice.
    Duplicate,
}

/// A field whose name WeChat spells inconsistently (`ScreenShot`, `screenshot`).
fn field_any_case<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// A push that `wechat::push` verified and decrypted, waiting to be stored.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub endpoint: Endpoint,
    /// The AppID in the path of `/wechat/mp/{appid}/events`.
    pub path_appid: Option<String>,
    /// The push's timestamp (already inside the window).
    pub ts: i64,
    pub nonce: String,
    /// The body as received, kept for the inbox page.
    pub raw_body: String,
    /// The decrypted XML.
    pub xml: String,
}

/// What happened to one push: stored (or a redelivery), or refused.
pub type Verdict = Result<Accepted, Refusal>;

/// What is read from a push before it is stored: its id, fields and keys.
struct Prepared {
    id: String,
    fields: Vec<(String, String)>,
    info_type: String,
    authorizer: Option<String>,
    dedupe_key: String,
}

impl Prepared {
    fn of(item: &Incoming) -> Self {
        let fields = parse_flat_xml(&item.xml).unwrap_or_default();
        let info_type = field(&fields, "InfoType")
            .or_else(|| field(&fields, "Event"))
            .or_else(|| field(&fields, "MsgType"))
            .unwrap_or("unknown")
            .to_string();
        let authorizer = field(&fields, "AuthorizerAppid").map(str::to_string).or_else(|| item.path_appid.clone());
        let dedupe_key = format!("{}:{}", item.endpoint.as_str(), hex(&Sha256::digest(item.xml.as_bytes())));
        Self { id: crate::new_id(), fields, info_type, authorizer, dedupe_key }
    }

    fn row<'a>(&'a self, item: &'a Incoming, now: i64) -> store::NewEvent<'a> {
        store::NewEvent {
            id: &self.id,
            endpoint: item.endpoint.as_str(),
            path_appid: item.path_appid.as_deref(),
            received_at: now,
            msg_timestamp: item.ts,
            nonce: &item.nonce,
            raw_body: &item.raw_body,
            decoded: &item.xml,
            info_type: &self.info_type,
            authorizer_appid: self.authorizer.as_deref(),
            dedupe_key: &self.dedupe_key,
        }
    }

    /// The stored row as it stands right after the insert, for `apply`.
    fn event(&self, item: &Incoming, now: i64) -> store::Event {
        store::Event {
            id: self.id.clone(),
            endpoint: item.endpoint.as_str().to_string(),
            path_appid: item.path_appid.clone(),
            received_at: now,
            msg_timestamp: item.ts,
            nonce: item.nonce.clone(),
            raw_body: item.raw_body.clone(),
            decoded: item.xml.clone(),
            info_type: self.info_type.clone(),
            authorizer_appid: self.authorizer.clone(),
            dedupe_key: self.dedupe_key.clone(),
            status: EventStatus::Received,
            outcome: String::new(),
            attempts: 0,
            processed_at: None,
        }
    }
}

/// Stores a verified, decrypted push and processes it, in one transaction: a process
/// that dies anywhere in between leaves nothing behind, so WeChat's retry (same nonce)
/// is taken as new rather than refused as a replay of an event never stored or processed
/// (found by the crash-safety test). The processing runs in a savepoint, so a push whose
/// effect fails is still stored, marked failed, for "Process again".
pub fn accept(conn: &mut DbConn, sealer: &Sealer, item: &Incoming, now: i64) -> Result<Verdict, diesel::result::Error> {
    db::write_tx(conn, |conn| {
        if !store::remember_nonce(conn, &item.nonce, item.ts, now)? {
            return Ok(Err(Refusal::Replay));
        }
        let prepared = Prepared::of(item);
        if !store::insert_event(conn, &prepared.row(item, now))? {
            tracing::info!(event.type = %prepared.info_type, "duplicate WeChat push ignored");
            return Ok(Ok(Accepted::Duplicate));
        }
        let status = process_within(conn, sealer, &prepared.event(item, now), &prepared.fields, now)?;
        Ok(Ok(Accepted::Stored { id: prepared.id, status }))
    })
}

/// Stores and processes several pushes in ONE transaction, each step one statement for
/// all of them on PostgreSQL: one commit, so one WAL flush, for the whole batch instead
/// of three per push. Nothing is answered before the commit (see [`EventWriter`]), so a
/// push answered `success` is as durable as with [`accept`].
///
/// All or nothing: when any push's processing fails, the batch is rolled back and the
/// caller takes the pushes one by one with [`accept`], which keeps a failing push in the
/// inbox marked failed without holding its neighbours back.
pub fn accept_batch(
    conn: &mut DbConn,
    sealer: &Sealer,
    items: &[Incoming],
    now: i64,
) -> Result<Vec<Verdict>, diesel::result::Error> {
    db::write_tx(conn, |conn| {
        let pairs: Vec<(&str, i64)> = items.iter().map(|i| (i.nonce.as_str(), i.ts)).collect();
        let fresh = store::remember_nonces(conn, &pairs, now)?;
        let prepared: Vec<Option<Prepared>> =
            items.iter().zip(&fresh).map(|(item, fresh)| fresh.then(|| Prepared::of(item))).collect();
        let rows: Vec<store::NewEvent<'_>> =
            items.iter().zip(&prepared).filter_map(|(item, p)| p.as_ref().map(|p| p.row(item, now))).collect();
        let mut stored = store::insert_events(conn, &rows)?.into_iter();
        let mut verdicts = Vec::with_capacity(items.len());
        let mut finished = Vec::new();
        for (item, p) in items.iter().zip(&prepared) {
            let Some(p) = p else {
                verdicts.push(Err(Refusal::Replay));
                continue;
            };
            if !stored.next().unwrap_or(false) {
                tracing::info!(event.type = %p.info_type, "duplicate WeChat push ignored");
                verdicts.push(Ok(Accepted::Duplicate));
                continue;
            }
            let (status, outcome) = apply(conn, sealer, &p.event(item, now), &p.fields, now)?;
            tracing::info!(event.id = %p.id, event.type = %p.info_type, status = status.as_str(), "processed WeChat push: {outcome}");
            verdicts.push(Ok(Accepted::Stored { id: p.id.clone(), status }));
            finished.push((p.id.clone(), status, outcome));
        }
        store::finish_events(conn, &finished, now)?;
        Ok(verdicts)
    })
}

/// Applies a stored event's effect in one transaction with its new status. Safe to run
/// again (replay): every effect is idempotent.
/// An event that does not exist is diesel's `NotFound`.
pub fn process(
    conn: &mut DbConn,
    sealer: &Sealer,
    event_id: &str,
    now: i64,
) -> Result<EventStatus, diesel::result::Error> {
    let event = store::event(conn, event_id)?.ok_or(diesel::result::Error::NotFound)?;
    let fields = parse_flat_xml(&event.decoded).unwrap_or_default();
    db::write_tx(conn, |conn| process_within(conn, sealer, &event, &fields, now))
}

/// Processes an event inside the caller's transaction: its effect and its new status in a
/// savepoint, so an effect that fails is undone and the event is marked failed instead.
fn process_within(
    conn: &mut DbConn,
    sealer: &Sealer,
    event: &store::Event,
    fields: &[(String, String)],
    now: i64,
) -> Result<EventStatus, diesel::result::Error> {
    use diesel::Connection as _;
    let result = conn.transaction(|conn| -> Result<(EventStatus, String), diesel::result::Error> {
        let outcome = apply(conn, sealer, event, fields, now)?;
        store::finish_event(conn, &event.id, outcome.0, &outcome.1, now)?;
        Ok(outcome)
    });
    match result {
        Ok((status, outcome)) => {
            tracing::info!(event.id = %event.id, event.type = %event.info_type, status = status.as_str(), "processed WeChat push: {outcome}");
            Ok(status)
        }
        Err(e) => {
            tracing::error!(event.id = %event.id, error = %e, "processing a WeChat push failed");
            store::finish_event(conn, &event.id, EventStatus::Failed, &format!("processing failed: {e}"), now)?;
            Ok(EventStatus::Failed)
        }
    }
}

fn apply(
    conn: &mut DbConn,
    sealer: &Sealer,
    event: &store::Event,
    fields: &[(String, String)],
    now: i64,
) -> Result<(EventStatus, String), diesel::result::Error> {
    let processed = |s: &str| Ok((EventStatus::Processed, s.to_string()));
    if event.endpoint == Endpoint::MiniProgram.as_str() {
        return match event.info_type.as_str() {
            // Review results that change the requirements checklist (reference §3.5, §3.6,
            // §3.8): the checklist is read again rather than trusting the push's numbers.
            "wxa_category_audit" | "wxa_privacy_apply" | "wxa_nickname_audit" => {
                let appid = event.path_appid.as_deref().unwrap_or_default();
                match db::bindings::active_for_appid(conn, appid)? {
                    Some(b) => {
                        db::requirements::queue_check(conn, &b.tenant_id, now)?;
                        processed("the requirements will be checked again")
                    }
                    None => Ok((EventStatus::Ignored, format!("no tenant has {appid} bound"))),
                }
            }
            // Review results (reference §4.8). They carry no auditid, and the same events
            // report privacy-guide reviews: a result with nothing in review changes nothing.
            "weapp_audit_success" | "weapp_audit_fail" | "weapp_audit_delay" => {
                let appid = event.path_appid.as_deref().unwrap_or_default();
                let reason = field_any_case(fields, "Reason").unwrap_or_default();
                let screenshots = field_any_case(fields, "ScreenShot").unwrap_or_default();
                let Some(result) = AuditResult::from_event(&event.info_type, reason, screenshots) else {
                    return Ok((EventStatus::Ignored, "not a review result".into()));
                };
                match super::releases::apply_result(conn, appid, &result, "push", now)? {
                    Some(stage) => processed(&format!("the submission is now {}", stage.as_str())),
                    None => Ok((EventStatus::Ignored, format!("no submission of {appid} was waiting for this result"))),
                }
            }
            // Trade component review results (wave-2 notes §1.5; issue 13).
            "open_product_account_register"
            | "open_product_brand_audit"
            | "open_product_category_audit"
            | "open_product_spu_audit"
            | "open_product_scene_group_audit" => {
                let appid = event.path_appid.as_deref().unwrap_or_default();
                super::live_selling::apply_push(conn, appid, &event.info_type, fields, now)
            }
            other => Ok((EventStatus::Ignored, format!("no handler for mini program event {other}"))),
        };
    }
    let appid = field(fields, "AuthorizerAppid").unwrap_or_default();
    match event.info_type.as_str() {
        "component_verify_ticket" => {
            let Some(ticket) = field(fields, "ComponentVerifyTicket").filter(|t| !t.is_empty()) else {
                return Ok((EventStatus::Failed, "the push has no ComponentVerifyTicket".into()));
            };
            let created = field(fields, "CreateTime").and_then(|t| t.parse().ok()).unwrap_or(now);
            if !Platform::store_ticket(conn, sealer, ticket, created)? {
                return processed("an older ticket than the one kept; ignored");
            }
            // With the first ticket (or after a long gap) a component token can now be had.
            let token_ok = store::credential(conn, store::COMPONENT_TOKEN)?.is_some_and(|t| t.expires_at > now);
            if !token_ok {
                jobs::enqueue(conn, &jobs::RefreshComponentToken { force: false }, Some("ticket"), now, now)?;
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
                let job = jobs::CompleteTenantAuthorization { state: state.state.clone(), auth_code: code.to_string() };
                jobs::enqueue(conn, &job, Some(&state.state), now, now)?;
            }
            jobs::enqueue(conn, &jobs::SyncAuthorizer { appid: appid.to_string() }, Some(appid), now, now)?;
            // Changed permission sets change what the checklist can read.
            if event.info_type == "updateauthorized"
                && let Some(b) = db::bindings::active_for_appid(conn, appid)?
            {
                db::requirements::queue_check(conn, &b.tenant_id, now)?;
            }
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
                db::requirements::clear(conn, &binding.tenant_id)?;
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
                db::outbox::to_tenant_admins(conn, &binding.tenant_id, "email.revoked", &[("appid", appid)], now)?;
            }
            // A tenant's official account (issue 12).
            for oa in db::official_accounts::revoke_appid(conn, appid, now)? {
                audit::write(
                    conn,
                    audit::Record {
                        actor: &audit::Actor::system(),
                        tenant_id: Some(&oa.tenant_id),
                        action: "official_account.revoked",
                        subject: &format!("tenant:{}:official_account", oa.tenant_id),
                        before: Some(&serde_json::json!({ "appid": appid, "status": "active" })),
                        after: Some(&serde_json::json!({ "appid": appid, "status": "revoked" })),
                    },
                    now,
                )?;
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
        other => Ok((EventStatus::Ignored, format!("no handler for {other}"))),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
