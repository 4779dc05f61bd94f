//! WeChat's reviewer for code audits, and the one entry point for deciding any review:
//! a code review (kind [`CODE`]) is decided here, every other kind by
//! [`manage::review::decide`]. A decision may approve (status 0, `weapp_audit_success`),
//! reject with a reason and screenshots (status 1, `weapp_audit_fail`), or delay with a
//! reason (status 4, `weapp_audit_delay`; the review stays pending and is decided
//! later). A decision may be "lost": the audit changes but no event is pushed, as when
//! WeChat's push never arrives, so the console's reconciliation can be exercised.
//!
//! By itself (after `review_delay_secs`) the reviewer approves reviews of the other
//! kinds, and code reviews by the configured shares: rejected (with a canned reason and
//! one screenshot) for `review_reject_percent`, delayed for `review_delay_percent` (at
//! most once: a delayed review is decided again a delay after the delay), else approved.

use rand::RngExt as _;

use super::rules::{self, AutoOutcome};
use super::state::{self as code_state, CODE};
use crate::db::{self, DbConn};
use crate::sandbox::manage::review::{self as manage_review, DecideError, Decision, message_xml};
use crate::sandbox::manage::state::{self, Review};
use crate::sandbox::store;

/// Screenshots a rejection carries at most.
pub const MAX_SCREENSHOTS: u8 = 5;
/// The reason of an automatic rejection (WeChat's reasons are HTML with `<br>`).
pub const AUTO_REJECT_REASON: &str =
    "1:小程序部分页面无法正常打开，请修复后再提交审核。<br>2:请确保提交审核的版本功能完整可用。<br>";
/// The reason of an automatic delay.
pub const AUTO_DELAY_REASON: &str = "审核资源紧张，本次审核将延后，请耐心等待。";

/// What the reviewer decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerdictKind {
    Approve,
    Reject,
    Delay,
}

/// A decision with what it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub kind: VerdictKind,
    /// Required to reject or delay; HTML such as `<br>` is passed on as is.
    pub reason: String,
    /// Screenshots of a code rejection (media ids served by `get_material`).
    pub screenshots: u8,
    /// The state changes but no event is pushed (code reviews only).
    pub lose: bool,
}

impl Verdict {
    pub fn approve() -> Self {
        Self { kind: VerdictKind::Approve, reason: String::new(), screenshots: 0, lose: false }
    }

    /// Reads `approve` / `reject` / `delay`, the reason (needed by the last two, at most
    /// 200 characters), the screenshots (0 to 5) and whether the push is lost.
    pub fn parse(
        decision: &str,
        reason: Option<&str>,
        screenshots: Option<i64>,
        lose: bool,
    ) -> Result<Self, DecideError> {
        let kind = match decision.trim() {
            "approve" => VerdictKind::Approve,
            "reject" => VerdictKind::Reject,
            "delay" => VerdictKind::Delay,
            _ => return Err(DecideError::BadDecision),
        };
        let reason = reason.map(str::trim).unwrap_or_default();
        if kind != VerdictKind::Approve && reason.is_empty() {
            return Err(DecideError::ReasonRequired);
        }
        if reason.chars().count() > 200 {
            return Err(DecideError::ReasonTooLong);
        }
        let screenshots = screenshots.unwrap_or(0);
        let screenshots =
            u8::try_from(screenshots).ok().filter(|n| *n <= MAX_SCREENSHOTS).ok_or(DecideError::BadScreenshots)?;
        let reason = if kind == VerdictKind::Approve { String::new() } else { reason.to_string() };
        let screenshots = if kind == VerdictKind::Reject { screenshots } else { 0 };
        Ok(Self { kind, reason, screenshots, lose })
    }
}

/// Decides a pending review of any kind and applies its effect. Call inside one write
/// transaction. A delay is only for code reviews; screenshots and `lose` only affect them.
pub fn decide(conn: &mut DbConn, id: &str, verdict: &Verdict, now: i64) -> Result<Review, DecideError> {
    let review = state::review(conn, id)?.ok_or(DecideError::NotFound)?;
    if review.kind != CODE {
        let decision = match verdict.kind {
            VerdictKind::Approve => Decision::Approve,
            VerdictKind::Reject => Decision::Reject(verdict.reason.clone()),
            VerdictKind::Delay => return Err(DecideError::DelayNotCode),
        };
        return manage_review::decide(conn, id, &decision, now);
    }
    if review.status != "pending" {
        return Err(DecideError::AlreadyDecided);
    }
    decide_code(conn, review, verdict, now)
}

fn decide_code(conn: &mut DbConn, review: Review, v: &Verdict, now: i64) -> Result<Review, DecideError> {
    let audit = match review.audit_id {
        Some(id) => code_state::find_audit(conn, id)?,
        None => None,
    };
    // A withdrawal closes the review in the same transaction, so a pending review's
    // submission is still under review (or delayed); anything else is not to be decided.
    let Some(audit) = audit.filter(|a| rules::in_review(a.status)) else {
        return Err(DecideError::AlreadyDecided);
    };
    let account = store::find_account(conn, &review.appid)?;
    let to_user = account.map(|a| a.user_name).unwrap_or_default();
    let at = now.to_string();
    let (status, event, xml) = match v.kind {
        VerdictKind::Approve => {
            if !state::claim_decision(conn, &review.id, "approved", "", now)? {
                return Err(DecideError::AlreadyDecided);
            }
            code_state::set_audit_status(conn, audit.auditid, rules::APPROVED, "", "", now)?;
            let xml = message_xml(&to_user, now, "weapp_audit_success", &[("SuccTime", &at)], None);
            ("approved", "weapp_audit_success", xml)
        }
        VerdictKind::Reject => {
            if !state::claim_decision(conn, &review.id, "rejected", &v.reason, now)? {
                return Err(DecideError::AlreadyDecided);
            }
            let shots = code_state::insert_screenshots(conn, &review.appid, audit.auditid, v.screenshots, now)?;
            let shots = shots.join("|");
            code_state::set_audit_status(conn, audit.auditid, rules::REJECTED, &v.reason, &shots, now)?;
            let fields = [("Reason", v.reason.as_str()), ("FailTime", at.as_str()), ("ScreenShot", shots.as_str())];
            ("rejected", "weapp_audit_fail", message_xml(&to_user, now, "weapp_audit_fail", &fields, None))
        }
        VerdictKind::Delay => {
            if !code_state::delay_review(conn, &review.id, &v.reason, now)? {
                return Err(DecideError::AlreadyDecided);
            }
            code_state::set_audit_status(conn, audit.auditid, rules::DELAYED, &v.reason, "", now)?;
            let fields = [("Reason", v.reason.as_str()), ("DelayTime", at.as_str())];
            ("pending", "weapp_audit_delay", message_xml(&to_user, now, "weapp_audit_delay", &fields, None))
        }
    };
    if v.lose {
        tracing::info!(event, appid = %review.appid, "sandbox: a code review decision's push was lost on purpose");
    } else {
        store::enqueue_message_push(conn, event, &review.appid, &xml, now)?;
    }
    let delayed = v.kind == VerdictKind::Delay;
    Ok(Review {
        status: status.into(),
        reason: v.reason.clone(),
        decided_at: if delayed { review.decided_at } else { Some(now) },
        delayed_at: if delayed { Some(now) } else { review.delayed_at },
        ..review
    })
}

/// How the reviewer decides by itself (the sandbox's configuration).
#[derive(Debug, Clone, Copy)]
pub struct Auto {
    pub delay_secs: u64,
    pub reject_percent: u8,
    pub delay_percent: u8,
}

/// The automatic decision of a due review.
fn auto_verdict(r: &Review, auto: &Auto) -> Verdict {
    if r.kind != CODE {
        return Verdict::approve();
    }
    let roll = rand::rng().random_range(0..100u32);
    match rules::auto_outcome(roll, auto.reject_percent, auto.delay_percent, r.delayed_at.is_some()) {
        AutoOutcome::Approve => Verdict::approve(),
        AutoOutcome::Reject => {
            Verdict { kind: VerdictKind::Reject, reason: AUTO_REJECT_REASON.into(), screenshots: 1, lose: false }
        }
        AutoOutcome::Delay => {
            Verdict { kind: VerdictKind::Delay, reason: AUTO_DELAY_REASON.into(), screenshots: 0, lose: false }
        }
    }
}

/// Decides every review that has waited `delay_secs` (the sandbox deciding by itself),
/// each in its own transaction; returns how many it decided.
pub fn decide_due(conn: &mut DbConn, auto: &Auto, now: i64) -> diesel::QueryResult<usize> {
    let delay = i64::try_from(auto.delay_secs).unwrap_or(i64::MAX);
    let due = state::pending_reviews(conn, now.saturating_sub(delay), 100)?;
    let mut decided = 0;
    for r in due {
        let verdict = auto_verdict(&r, auto);
        match db::write_tx(conn, |c| decide(c, &r.id, &verdict, now)) {
            Ok(_) => decided += 1,
            Err(DecideError::Db(e)) => return Err(e),
            Err(_) => {}
        }
    }
    Ok(decided)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wechat::crypto::parse_flat_xml;

    #[test]
    fn verdicts_need_reasons_to_reject_or_delay() {
        assert_eq!(Verdict::parse("approve", Some("ignored"), Some(3), true).unwrap().reason, "");
        let r = Verdict::parse("reject", Some(" 页面空白<br>请修复 "), Some(2), false).unwrap();
        assert_eq!((r.kind, r.reason.as_str(), r.screenshots), (VerdictKind::Reject, "页面空白<br>请修复", 2));
        let d = Verdict::parse("delay", Some("排队中"), Some(2), true).unwrap();
        assert_eq!((d.kind, d.screenshots, d.lose), (VerdictKind::Delay, 0, true));
        assert!(matches!(Verdict::parse("reject", None, None, false), Err(DecideError::ReasonRequired)));
        assert!(matches!(Verdict::parse("delay", Some(" "), None, false), Err(DecideError::ReasonRequired)));
        assert!(matches!(Verdict::parse("reject", Some("x"), Some(6), false), Err(DecideError::BadScreenshots)));
        assert!(matches!(Verdict::parse("reject", Some("x"), Some(-1), false), Err(DecideError::BadScreenshots)));
        assert!(matches!(Verdict::parse("later", None, None, false), Err(DecideError::BadDecision)));
    }

    #[test]
    fn a_failure_event_keeps_the_html_reason_and_the_screenshots() {
        let fields = [("Reason", "a<br>b"), ("FailTime", "5"), ("ScreenShot", "m1|m2")];
        let xml = message_xml("gh_1", 5, "weapp_audit_fail", &fields, None);
        let parsed = parse_flat_xml(&xml).unwrap();
        assert!(parsed.contains(&("Event".into(), "weapp_audit_fail".into())));
        assert!(parsed.contains(&("Reason".into(), "a<br>b".into())));
        assert!(parsed.contains(&("ScreenShot".into(), "m1|m2".into())));
    }
}
