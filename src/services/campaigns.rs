//! Release campaigns at work (SPEC §3.4, "The fleet"): starting one, its driver (a
//! durable job, unique per campaign, that admits waiting tenants within the
//! concurrency cap, moves from the canary to the rest, and notices the end), and the
//! operator's pause, resume, cancel, go and retry. The submissions themselves are the
//! same `SubmitUpdate` jobs a tenant's own "Submit Update" makes, paced by the
//! campaign's call rate cap (`services::releases`).
//!
//! Why a tenant is never submitted twice for one campaign: the campaign's state is in
//! the database, not in memory; a tenant is started in the same transaction that marks
//! it started (`waiting` → `started`, the state in the UPDATE's filter), and a started
//! tenant is only started again by "Retry failed" after its submission stopped before
//! WeChat's review. The release row's stage and the job's unique key do the rest
//! (`services::releases`).

use serde_json::json;

use crate::db::campaigns::{self as store, Campaign, Target};
use crate::db::{self, DbConn, DbError, audit, jobs, pacing, releases};
use crate::domain::campaign::{self as rules, Checked, Forecast, Form, Move, PauseReason, Phase, Plan, State};
use crate::services::pacing::DbPacer;
use crate::services::platform::{Platform, PlatformError};
use crate::services::releases::{self as release_service, Next, StartRefusal, Timing};
use crate::wechat::client::paced;

/// A field of the "Start campaign" form that is wrong: the message key under
/// `campaigns.error.` and its argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub key: &'static str,
    pub arg: Option<String>,
}

impl FieldError {
    fn new(field: &'static str, key: &'static str) -> Self {
        Self { field, key, arg: None }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("the form has errors")]
    Form(Vec<FieldError>),
    #[error(transparent)]
    Database(#[from] DbError),
}

impl From<diesel::result::Error> for StartError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Database(e.into())
    }
}

fn subject(id: &str) -> String {
    format!("campaign:{id}")
}

fn write_audit(
    c: &mut DbConn,
    actor: &audit::Actor,
    id: &str,
    action: &str,
    before: serde_json::Value,
    after: serde_json::Value,
    now: i64,
) -> Result<(), diesel::result::Error> {
    audit::write(
        c,
        audit::Record {
            actor,
            tenant_id: None,
            action,
            subject: &subject(id),
            before: Some(&before),
            after: Some(&after),
        },
        now,
    )
}

/// The targets of a checked form among the pending tenants: all of them, or the listed
/// ones (by AppID or tenant id); listed entries that are not pending are an error.
fn pick_targets(pending: Vec<Target>, list: Option<&[String]>) -> Result<Vec<Target>, FieldError> {
    let Some(list) = list else { return Ok(pending) };
    let wanted: std::collections::HashSet<&str> = list.iter().map(String::as_str).collect();
    let picked: Vec<Target> = pending
        .into_iter()
        .filter(|t| wanted.contains(t.appid.as_str()) || wanted.contains(t.tenant_id.as_str()))
        .collect();
    let unknown: Vec<&str> = list
        .iter()
        .map(String::as_str)
        .filter(|e| !picked.iter().any(|t| t.appid == *e || t.tenant_id == *e))
        .collect();
    if unknown.is_empty() {
        return Ok(picked);
    }
    let mut shown = unknown.iter().take(10).copied().collect::<Vec<_>>().join(", ");
    if unknown.len() > 10 {
        shown.push_str(&format!(" (+{})", unknown.len() - 10));
    }
    Err(FieldError { field: "list", key: "not_pending", arg: Some(shown) })
}

/// What the "Start campaign" form shows before anything is started: the latest
/// version, how many tenants are pending it, the active campaign if any.
pub struct Outlook {
    pub latest: Option<releases::TemplateVersion>,
    pub pending: usize,
    pub active: Option<Campaign>,
}

pub fn outlook(conn: &mut DbConn) -> Result<Outlook, diesel::result::Error> {
    let latest = releases::latest_version(conn)?;
    let pending = match &latest {
        Some(v) => store::pending_targets(conn, &v.sort_key)?.len(),
        None => 0,
    };
    Ok(Outlook { latest, pending, active: store::active(conn)? })
}

/// Starts a campaign for the latest version: the campaign, its targets in order (the
/// canary first), its audit row and its driver, in one transaction. `quota_rest` is
/// what WeChat said is left of the audit quota (None: not known).
pub fn start(
    conn: &mut DbConn,
    form: &Form,
    quota_rest: Option<i64>,
    actor: &audit::Actor,
    now: i64,
) -> Result<String, StartError> {
    let checked: Checked = rules::check_form(form).map_err(|errors| {
        StartError::Form(errors.into_iter().map(|(field, key)| FieldError::new(field, key)).collect())
    })?;
    db::write_tx(conn, |c| {
        let Some(latest) = releases::latest_version(c)? else {
            return Err(StartError::Form(vec![FieldError::new("target", "no_version")]));
        };
        if let Some(active) = store::active(c)? {
            let e = FieldError { field: "target", key: "already_active", arg: Some(active.version) };
            return Err(StartError::Form(vec![e]));
        }
        let pending = store::pending_targets(c, &latest.sort_key)?;
        let targets = pick_targets(pending, checked.list.as_deref()).map_err(|e| StartError::Form(vec![e]))?;
        if targets.is_empty() {
            let e = FieldError { field: "target", key: "no_targets", arg: Some(latest.version.clone()) };
            return Err(StartError::Form(vec![e]));
        }
        let canary = rules::canary_size(&checked.canary, targets.len())
            .map_err(|key| StartError::Form(vec![FieldError::new("canary", key)]))?;
        let list = checked.list.as_ref().map(|l| l.join("\n"));
        let new = store::NewCampaign {
            version_id: &latest.id,
            version: &latest.version,
            phase: if canary > 0 { Phase::Canary } else { Phase::Rest },
            auto_after_canary: checked.auto_after_canary,
            target_list: list.as_deref(),
            canary: &checked.canary,
            canary_size: i32::try_from(canary).unwrap_or(i32::MAX),
            concurrency: i32::try_from(checked.concurrency).unwrap_or(1),
            calls_per_minute: i32::try_from(checked.calls_per_minute).unwrap_or(1),
            auto_publish: checked.auto_publish,
            quota_rest,
            created_by: &actor.label,
        };
        let id = store::insert(c, &new, &targets, now)?;
        write_audit(
            c,
            actor,
            &id,
            "campaign.started",
            json!(null),
            json!({
                "version": latest.version,
                "tenants": targets.len(),
                "canary": canary,
                "after_canary": if checked.auto_after_canary { "auto" } else { "wait" },
                "concurrency": checked.concurrency,
                "calls_per_minute": checked.calls_per_minute,
                "auto_publish": checked.auto_publish,
                "quota_rest": quota_rest,
            }),
            now,
        )?;
        jobs::enqueue(c, &jobs::RunCampaign { campaign_id: id.clone() }, Some(&id), now, now)?;
        Ok(id)
    })
}

/// The driver's turn (the `RunCampaign` job): does what the campaign's state and its
/// tenants' outcomes call for, and says when to look again.
pub async fn drive(platform: &Platform, timing: Timing, campaign_id: &str) -> Result<Next, PlatformError> {
    let id = campaign_id.to_string();
    let campaign = db::run(platform.pool(), move |c| -> Result<_, PlatformError> { Ok(store::get(c, &id)?) }).await?;
    let Some(campaign) = campaign else { return Ok(Next::Finished) };
    match campaign.state() {
        State::Running => {}
        State::Paused if campaign.pause_reason() == Some(PauseReason::Quota) => {
            return recheck_quota(platform, timing, &campaign).await;
        }
        // Resume, go and retry queue the driver again.
        State::Paused | State::AwaitingGo | State::Cancelled | State::Finished => return Ok(Next::Finished),
    }
    let settle = timing.campaign_settle_secs.max(1);
    db::run(platform.pool(), move |c| -> Result<_, PlatformError> {
        let now = crate::now();
        let counts = store::counts(c, &campaign)?;
        let plan = Plan {
            phase: campaign.phase(),
            auto_after_canary: campaign.after_canary == "auto",
            auto_publish: campaign.auto_publish,
            concurrency: campaign.concurrency.into(),
        };
        let busy = counts.of(rules::Outcome::Submitting) > 0;
        Ok(match rules::next_move(plan, &counts) {
            Move::Admit(n) => {
                admit(c, &campaign, n, now)?;
                Next::Again(now + 1)
            }
            // Submissions on their way wake the driver when they end; a second's poll
            // covers a wake that came while it was running.
            Move::Wait => Next::Again(now + if busy { 1 } else { settle }),
            Move::GoRest => {
                db::write_tx(c, |c| {
                    store::set_phase(c, &campaign.id, Phase::Rest, now)?;
                    let before = json!({ "phase": "canary" });
                    let after = json!({ "phase": "rest", "canary": counts.in_cohort(rules::Cohort::Canary, |_| true) });
                    write_audit(c, &audit::Actor::system(), &campaign.id, "campaign.canary_passed", before, after, now)
                })?;
                Next::Again(now)
            }
            Move::AwaitGo => {
                db::write_tx(c, |c| {
                    if store::set_state(c, &campaign.id, &[State::Running], State::AwaitingGo, None, now)? == 1 {
                        let failed = counts.in_cohort(rules::Cohort::Canary, |o| o.group() == rules::Group::Failed);
                        let after = json!({ "state": "awaiting_go", "canary_failed": failed });
                        let before = json!({ "state": "running" });
                        write_audit(
                            c,
                            &audit::Actor::system(),
                            &campaign.id,
                            "campaign.canary_settled",
                            before,
                            after,
                            now,
                        )?;
                    }
                    Ok::<_, diesel::result::Error>(())
                })?;
                Next::Finished
            }
            Move::Finish => {
                db::write_tx(c, |c| {
                    if store::set_state(c, &campaign.id, &[State::Running], State::Finished, None, now)? == 1 {
                        let after: serde_json::Map<String, serde_json::Value> =
                            counts.by_outcome().into_iter().map(|(o, n)| (o.as_str().to_string(), json!(n))).collect();
                        write_audit(
                            c,
                            &audit::Actor::system(),
                            &campaign.id,
                            "campaign.finished",
                            json!({ "state": "running" }),
                            serde_json::Value::Object(after),
                            now,
                        )?;
                        pacing::forget(c, &campaign.pacer_key())?;
                    }
                    Ok::<_, diesel::result::Error>(())
                })?;
                Next::Finished
            }
        })
    })
    .await
}

/// Starts up to `n` waiting tenants of the phase, each in its own transaction with its
/// bookkeeping: started, or skipped with the reason.
fn admit(c: &mut DbConn, campaign: &Campaign, n: i64, now: i64) -> Result<usize, PlatformError> {
    let Some(version) = releases::version(c, &campaign.version_id)? else { return Ok(0) };
    let next = store::next_waiting(c, &campaign.id, campaign.phase(), n)?;
    let actor = audit::Actor::system();
    let mut started = 0;
    for t in next {
        db::write_tx(c, |c| {
            // Checked again inside the transaction: a paused or cancelled campaign, or a
            // tenant someone else started meanwhile, admits nothing.
            let still = store::get(c, &campaign.id)?.is_some_and(|now| now.state() == State::Running);
            if !still {
                return Ok::<_, PlatformError>(());
            }
            // The bookkeeping first: a tenant no longer waiting is left alone.
            if store::mark_started(c, &campaign.id, &t.tenant_id, now)? != 1 {
                return Ok(());
            }
            let skipped =
                match release_service::begin_submission(c, &t.tenant_id, &version, Some(&campaign.id), &actor, now)? {
                    Ok(()) => {
                        started += 1;
                        None
                    }
                    // On its way with this very version (the tenant pressed Submit Update
                    // itself): the campaign follows that submission.
                    Err(StartRefusal::Busy { version_id })
                        if version_id.as_deref() == Some(campaign.version_id.as_str()) =>
                    {
                        None
                    }
                    Err(StartRefusal::Busy { .. }) => Some("busy"),
                    Err(StartRefusal::NotBound) => Some("not_bound"),
                    Err(StartRefusal::UpToDate | StartRefusal::NoVersion) => Some("up_to_date"),
                };
            if let Some(note) = skipped {
                store::mark_skipped(c, &campaign.id, &t.tenant_id, note, now)?;
            }
            Ok::<_, PlatformError>(())
        })?;
    }
    Ok(started)
}

/// Paused because the quota ran out: asks WeChat now and then (within the campaign's
/// call rate) whether it was renewed, and resumes by itself when it was.
async fn recheck_quota(platform: &Platform, timing: Timing, campaign: &Campaign) -> Result<Next, PlatformError> {
    let now = crate::now();
    let every = timing.quota_recheck_secs.max(1);
    let due = campaign.quota_checked_at.map_or(0, |at| at + every);
    if due > now {
        return Ok(Next::Again(due));
    }
    let pacer = DbPacer::for_campaign(platform.pool(), campaign);
    let quota = paced(pacer, release_service::quota(platform)).await;
    let rest = match quota {
        Ok(Some(q)) => Some(q.rest),
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(campaign.id = %campaign.id, error = %e, "could not read the audit quota");
            None
        }
    };
    let id = campaign.id.clone();
    db::run(platform.pool(), move |c| -> Result<_, PlatformError> {
        let now = crate::now();
        db::write_tx(c, |c| {
            store::note_quota(c, &id, now)?;
            if rest.is_some_and(|r| r > 0) {
                resume_in(c, &id, &audit::Actor::system(), &[PauseReason::Quota], now)?;
                return Ok(Next::Again(now));
            }
            Ok(Next::Again(now + every))
        })
    })
    .await
}

/// Resumes a paused campaign (for one of `reasons`): its held submissions go on now.
fn resume_in(
    c: &mut DbConn,
    id: &str,
    actor: &audit::Actor,
    reasons: &[PauseReason],
    now: i64,
) -> Result<bool, diesel::result::Error> {
    let Some(campaign) = store::get(c, id)? else { return Ok(false) };
    if campaign.state() != State::Paused || !campaign.pause_reason().is_some_and(|r| reasons.contains(&r)) {
        return Ok(false);
    }
    if store::set_state(c, id, &[State::Paused], State::Running, None, now)? != 1 {
        return Ok(false);
    }
    let reason = campaign.pause_reason.clone();
    write_audit(
        c,
        actor,
        id,
        "campaign.resumed",
        json!({ "state": "paused", "reason": reason }),
        json!({ "state": "running" }),
        now,
    )?;
    store::wake_held_jobs(c, id, now)?;
    queue_driver(c, id, now)?;
    Ok(true)
}

/// Queues the driver now, or moves a queued one to now.
fn queue_driver(c: &mut DbConn, id: &str, now: i64) -> Result<(), diesel::result::Error> {
    if !jobs::enqueue(c, &jobs::RunCampaign { campaign_id: id.to_string() }, Some(id), now, now)? {
        store::wake_driver(c, id, now)?;
    }
    Ok(())
}

/// What an operator's action came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Acted {
    Done,
    /// The campaign is not in a state that offers it (someone acted first).
    NotNow,
    /// Retry: another campaign is active, so this one cannot run again.
    OtherActive,
}

/// Pause: nothing new starts and submissions on their way hold before their next step.
pub fn pause(c: &mut DbConn, id: &str, actor: &audit::Actor, now: i64) -> Result<Acted, diesel::result::Error> {
    db::write_tx(c, |c| {
        let from = [State::Running, State::AwaitingGo];
        if store::set_state(c, id, &from, State::Paused, Some(PauseReason::Operator), now)? != 1 {
            return Ok(Acted::NotNow);
        }
        write_audit(c, actor, id, "campaign.paused", json!({ "state": "running" }), json!({ "state": "paused" }), now)?;
        Ok(Acted::Done)
    })
}

/// Resume (after the operator's pause, or early after the quota's).
pub fn resume(c: &mut DbConn, id: &str, actor: &audit::Actor, now: i64) -> Result<Acted, diesel::result::Error> {
    db::write_tx(c, |c| {
        let reasons = [PauseReason::Operator, PauseReason::Quota];
        Ok(if resume_in(c, id, actor, &reasons, now)? { Acted::Done } else { Acted::NotNow })
    })
}

/// Cancel: waiting tenants are not submitted; submissions not yet at their last step
/// are abandoned; those in WeChat's review stay there.
pub fn cancel(c: &mut DbConn, id: &str, actor: &audit::Actor, now: i64) -> Result<Acted, diesel::result::Error> {
    db::write_tx(c, |c| {
        let from = [State::Running, State::AwaitingGo, State::Paused];
        if store::set_state(c, id, &from, State::Cancelled, None, now)? != 1 {
            return Ok(Acted::NotNow);
        }
        let cancelled = store::cancel_waiting(c, id, now)?;
        write_audit(
            c,
            actor,
            id,
            "campaign.cancelled",
            json!({ "state": "active" }),
            json!({ "state": "cancelled", "waiting_cancelled": cancelled }),
            now,
        )?;
        // Held submissions notice the cancellation now rather than after their hold.
        store::wake_held_jobs(c, id, now)?;
        Ok(Acted::Done)
    })
}

/// Go: the canary is settled and the operator releases the rest.
pub fn go(c: &mut DbConn, id: &str, actor: &audit::Actor, now: i64) -> Result<Acted, diesel::result::Error> {
    db::write_tx(c, |c| {
        if store::set_state(c, id, &[State::AwaitingGo], State::Running, None, now)? != 1 {
            return Ok(Acted::NotNow);
        }
        store::set_phase(c, id, Phase::Rest, now)?;
        write_audit(c, actor, id, "campaign.go", json!({ "state": "awaiting_go" }), json!({ "phase": "rest" }), now)?;
        queue_driver(c, id, now)?;
        Ok(Acted::Done)
    })
}

/// Retry failed: tenants whose submission stopped before review wait again, and
/// releases that failed are tried again. A finished campaign runs again for them.
pub fn retry(c: &mut DbConn, id: &str, actor: &audit::Actor, now: i64) -> Result<Acted, diesel::result::Error> {
    db::write_tx(c, |c| {
        let Some(campaign) = store::get(c, id)? else { return Ok(Acted::NotNow) };
        match campaign.state() {
            State::Cancelled => return Ok(Acted::NotNow),
            State::Finished => {
                if store::active(c)?.is_some() {
                    return Ok(Acted::OtherActive);
                }
                store::set_state(c, id, &[State::Finished], State::Running, None, now)?;
            }
            _ => {}
        }
        let resubmit = store::requeue_not_submitted(c, &campaign, now)?;
        let republish = store::publish_failed(c, &campaign)?;
        for t in &republish {
            let job = jobs::PublishUpdate { tenant_id: t.tenant_id.clone(), appid: t.appid.clone() };
            jobs::enqueue(c, &job, Some(&t.appid), now, now)?;
        }
        write_audit(
            c,
            actor,
            id,
            "campaign.retried",
            json!({ "state": campaign.state }),
            json!({ "resubmit": resubmit, "republish": republish.len() }),
            now,
        )?;
        if campaign.state() == State::Running || campaign.state() == State::Finished {
            queue_driver(c, id, now)?;
        }
        Ok(Acted::Done)
    })
}

/// The audit quota against what the campaign still needs (None: the quota is not known).
pub fn forecast(counts: &rules::Counts, rest: Option<i64>) -> Option<Forecast> {
    rest.map(|rest| Forecast::new(counts.still_to_submit(), rest))
}
