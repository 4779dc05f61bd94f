//! WeChat's reviewer: plugin applications, privacy-interface applications, categories
//! that need qualifications and name changes wait in `sandbox_reviews` until someone
//! decides them (the human page, `POST /sandbox/dev/reviews/{id}`, or the sandbox itself
//! after `review_delay_secs`; those go through `code::review::decide`, which hands every
//! kind but code audits to [`decide`]). A decision changes the resource and, for
//! categories and privacy interfaces, queues WeChat's encrypted event to the mini
//! program's message URL.

use rand::RngExt as _;

use super::state::{self, Review};
use crate::db::DbConn;
use crate::sandbox::store;
use crate::wechat::crypto::build_flat_xml;

pub const PLUGIN: &str = "plugin";
pub const PRIVACY_INTERFACE: &str = "privacy_interface";
pub const CATEGORY: &str = "category";
pub const NICKNAME: &str = "nickname";

/// What the reviewer decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Approve,
    /// Rejected, with the reason the account is told.
    Reject(String),
}

impl Decision {
    /// Reads `approve` / `reject` and the reason; a rejection needs a reason.
    pub fn parse(decision: &str, reason: Option<&str>) -> Result<Self, DecideError> {
        match decision.trim() {
            "approve" => Ok(Self::Approve),
            "reject" => match reason.map(str::trim).filter(|r| !r.is_empty()) {
                Some(r) if r.chars().count() <= 200 => Ok(Self::Reject(r.to_string())),
                Some(_) => Err(DecideError::ReasonTooLong),
                None => Err(DecideError::ReasonRequired),
            },
            _ => Err(DecideError::BadDecision),
        }
    }
}

#[derive(Debug)]
pub enum DecideError {
    NotFound,
    AlreadyDecided,
    ReasonRequired,
    ReasonTooLong,
    BadDecision,
    /// More screenshots than a code rejection may carry.
    BadScreenshots,
    /// A delay was asked of a review that is not a code audit.
    DelayNotCode,
    Db(diesel::result::Error),
    /// The database could not be reached (already logged).
    Unavailable,
}

impl From<diesel::result::Error> for DecideError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Db(e)
    }
}

impl DecideError {
    /// The catalog key under `sandbox.err.` (also the dev endpoints' error text).
    pub fn key(&self) -> &'static str {
        match self {
            Self::NotFound => "no_review",
            Self::AlreadyDecided => "already_decided",
            Self::ReasonRequired => "reason_required",
            Self::ReasonTooLong => "reason_too_long",
            Self::BadDecision => "bad_decision",
            Self::BadScreenshots => "bad_screenshots",
            Self::DelayNotCode => "delay_not_code",
            Self::Db(_) | Self::Unavailable => "internal",
        }
    }
}

/// A new `audit_id`, in the range WeChat's fit (an unsigned 32-bit number).
pub fn new_audit_id() -> i64 {
    rand::rng().random_range(100_000_000..=4_294_967_295)
}

/// Queues a review.
pub fn queue(
    conn: &mut DbConn,
    kind: &str,
    appid: &str,
    subject: &str,
    audit_id: Option<i64>,
    now: i64,
) -> diesel::QueryResult<Review> {
    state::insert_review(conn, kind, appid, subject, audit_id, now)
}

/// Decides a pending review and applies its effect. Call inside one write transaction.
pub fn decide(conn: &mut DbConn, id: &str, decision: &Decision, now: i64) -> Result<Review, DecideError> {
    let review = state::review(conn, id)?.ok_or(DecideError::NotFound)?;
    let (status, reason) = match decision {
        Decision::Approve => ("approved", ""),
        Decision::Reject(r) => ("rejected", r.as_str()),
    };
    if !state::claim_decision(conn, id, status, reason, now)? {
        return Err(DecideError::AlreadyDecided);
    }
    let approved = matches!(decision, Decision::Approve);
    match review.kind.as_str() {
        PLUGIN => decide_plugin(conn, &review, approved, reason, now)?,
        PRIVACY_INTERFACE => decide_interface(conn, &review, approved, reason, now)?,
        CATEGORY => decide_category(conn, &review, approved, reason, now)?,
        NICKNAME => decide_nickname(conn, &review, approved, now)?,
        other => tracing::warn!(kind = other, "sandbox: a review of an unknown kind was decided"),
    }
    Ok(Review { status: status.into(), reason: reason.into(), decided_at: Some(now), ..review })
}

/// Plugin: 2 approved, or 3 rejected with the reason; only while it is still applying.
fn decide_plugin(conn: &mut DbConn, r: &Review, approved: bool, reason: &str, now: i64) -> diesel::QueryResult<()> {
    if state::plugin(conn, &r.appid, &r.subject)?.is_some_and(|p| p.status == 1) {
        let status = if approved { 2 } else { 3 };
        state::put_plugin(conn, &r.appid, &r.subject, status, reason, None, now)?;
    }
    Ok(())
}

/// Privacy interface: 5 enabled, or 4 rejected with `fail_reason`; then `wxa_privacy_apply`.
fn decide_interface(conn: &mut DbConn, r: &Review, approved: bool, reason: &str, now: i64) -> diesel::QueryResult<()> {
    let categories = state::categories(conn, &r.appid)?;
    let current = state::interfaces(conn, &r.appid, &categories)?.into_iter().find(|i| i.api.api_name == r.subject);
    let Some(current) = current.filter(|i| i.status == 3 && i.audit_id == r.audit_id) else {
        return Ok(());
    };
    let status = if approved { 5 } else { 4 };
    let change = state::InterfaceChange { status, fail_reason: reason, application: None };
    state::put_interface(conn, &r.appid, &r.subject, &change, now)?;
    let Some(account) = store::find_account(conn, &r.appid)? else { return Ok(()) };
    let (apply_time, audit_id, audit_time) = (
        current.apply_time.unwrap_or(r.created_at).to_string(),
        r.audit_id.unwrap_or_default().to_string(),
        now.to_string(),
    );
    // The push's own status: 3 approved, 2 rejected (not the get_privacy_interface values).
    let push_status = if approved { "3" } else { "2" };
    let result_info = [
        ("api_name", r.subject.as_str()),
        ("apply_time", apply_time.as_str()),
        ("audit_id", audit_id.as_str()),
        ("audit_time", audit_time.as_str()),
        ("reason", reason),
        ("status", push_status),
    ];
    let xml = message_xml(&account.user_name, now, "wxa_privacy_apply", &[], Some(("result_info", &result_info)));
    store::enqueue_message_push(conn, "wxa_privacy_apply", &r.appid, &xml, now)?;
    Ok(())
}

/// Category: `audit_status` 3, or 2 with `audit_reason`; then `wxa_category_audit`.
fn decide_category(conn: &mut DbConn, r: &Review, approved: bool, reason: &str, now: i64) -> diesel::QueryResult<()> {
    let Some((first, second)) = state::parse_category_subject(&r.subject) else { return Ok(()) };
    if state::category(conn, &r.appid, first, second)?.is_none_or(|c| c.audit_status != 1) {
        return Ok(());
    }
    let ret = if approved { 3 } else { 2 };
    state::set_category_status(conn, &r.appid, first, second, ret, reason)?;
    state::follow_categories(conn, &r.appid, now)?;
    let Some(account) = store::find_account(conn, &r.appid)? else { return Ok(()) };
    let (first_s, second_s, ret_s) = (first.to_string(), second.to_string(), ret.to_string());
    let fields = [
        ("ret", ret_s.as_str()),
        ("nickname", account.nick_name.as_str()),
        ("reason", reason),
        ("first", first_s.as_str()),
        ("second", second_s.as_str()),
    ];
    let xml = message_xml(&account.user_name, now, "wxa_category_audit", &fields, None);
    store::enqueue_message_push(conn, "wxa_category_audit", &r.appid, &xml, now)?;
    Ok(())
}

/// Name: applied when approved (one of the year's renames used), dropped when rejected.
fn decide_nickname(conn: &mut DbConn, r: &Review, approved: bool, now: i64) -> diesel::QueryResult<()> {
    let settings = state::settings(conn, &r.appid)?;
    if settings.nickname_pending.as_deref() != Some(r.subject.as_str()) {
        return Ok(());
    }
    let mut change = state::SettingsChange { nickname_pending: Some(None), ..Default::default() };
    if approved {
        change.nickname_used = Some(settings.nickname_used + 1);
        let edit = store::AccountEdit { nick_name: Some(r.subject.clone()), ..Default::default() };
        store::update_account(conn, &r.appid, &edit, now)?;
    }
    state::update_settings(conn, &r.appid, &change, now)
}

/// The system sender of message events in the sandbox.
const SYSTEM_SENDER: &str = "oSandboxWeChatSystem0000000";

/// A message event as WeChat pushes it to the message URL: `ToUserName` (the mini
/// program's original ID), `FromUserName`, `CreateTime`, `MsgType` event, `Event`, the
/// event's fields, and optionally one nested element (`result_info`).
pub fn message_xml(
    to_user: &str,
    now: i64,
    event: &str,
    fields: &[(&str, &str)],
    nested: Option<(&str, &[(&str, &str)])>,
) -> String {
    let created = now.to_string();
    let mut all: Vec<(&str, &str)> = vec![
        ("ToUserName", to_user),
        ("FromUserName", SYSTEM_SENDER),
        ("CreateTime", created.as_str()),
        ("MsgType", "event"),
        ("Event", event),
    ];
    all.extend_from_slice(fields);
    let outer = build_flat_xml(&all);
    let Some((name, inner)) = nested else { return outer };
    let inner = build_flat_xml(inner);
    let inner = inner.strip_prefix("<xml>").and_then(|s| s.strip_suffix("</xml>")).unwrap_or(&inner);
    let body = outer.strip_suffix("</xml>").unwrap_or(&outer);
    format!("{body}<{name}>{inner}</{name}></xml>")
}

/// When the next automatic decision is due.
pub fn next_due_at(conn: &mut DbConn, delay: u64) -> diesel::QueryResult<Option<i64>> {
    let delay = i64::try_from(delay).unwrap_or(i64::MAX);
    Ok(state::oldest_pending_at(conn)?.map(|at| at.saturating_add(delay)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wechat::crypto::parse_flat_xml;

    #[test]
    fn a_rejection_needs_a_reason() {
        assert_eq!(Decision::parse("approve", None).ok(), Some(Decision::Approve));
        assert_eq!(Decision::parse("reject", Some(" blurry ")).ok(), Some(Decision::Reject("blurry".into())));
        assert!(matches!(Decision::parse("reject", Some("  ")), Err(DecideError::ReasonRequired)));
        assert!(matches!(Decision::parse("maybe", None), Err(DecideError::BadDecision)));
    }

    #[test]
    fn message_events_nest_the_result_info() {
        let xml = message_xml(
            "gh_1",
            5,
            "wxa_privacy_apply",
            &[],
            Some(("result_info", &[("api_name", "wx.getLocation"), ("status", "3")])),
        );
        let fields = parse_flat_xml(&xml).unwrap();
        assert!(fields.contains(&("Event".into(), "wxa_privacy_apply".into())));
        let inner = &fields.iter().find(|(k, _)| k == "result_info").unwrap().1;
        let inner = parse_flat_xml(&format!("<xml>{inner}</xml>")).unwrap();
        assert_eq!(inner, vec![("api_name".into(), "wx.getLocation".into()), ("status".into(), "3".into())]);
    }
}
