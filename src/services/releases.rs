//! Versions, review and release at work (SPEC §3.4): "Submit Update" as a durable job
//! (pre-flight, commit, the code privacy scan, submit), WeChat's review results from its
//! pushes or, when one is overdue, from asking (`get_latest_auditstatus`), "Publish
//! Update", withdraw, expedite and roll back. Every change of state is one transaction
//! with its audit row; e-mails go through the outbox in the same transaction.
//!
//! Why a submission is never made twice: the release row's stage is the lock (a start
//! needs a stage that may submit, checked in the UPDATE's filter), the job is unique per
//! AppID, and a job that died after WeChat took its submission but before the auditid
//! was stored meets 85009 on its retry and adopts the submission under review instead.

use serde_json::json;

use crate::db::campaigns::{self, Campaign};
use crate::db::{self, DbConn, DbError, audit, bindings, jobs, outbox, releases as store};
use crate::domain::campaign::{PauseReason, State as CampaignState};
use crate::domain::failure::Failure;
pub use crate::domain::release::Timing;
use crate::domain::release::{self as rules, AuditResult, Blocker, ExtConfig, Stage, Step};
use crate::domain::requirements::Item;
use crate::services::pacing::DbPacer;
use crate::services::platform::{Platform, PlatformError};
use crate::services::requirements;
use crate::wechat::client::{WechatError, paced};
use crate::wechat::code as api;

/// Why "Submit Update" could not start.
#[derive(Debug, PartialEq, Eq)]
pub enum StartRefusal {
    NotBound,
    /// The operator has released no version yet.
    NoVersion,
    /// A submission is already being made, in review, or approved and not published (of
    /// this version, when it says so).
    Busy {
        version_id: Option<String>,
    },
    /// This version is the one released.
    UpToDate,
}

fn subject(tenant_id: &str) -> String {
    format!("tenant:{tenant_id}:mini_program:release")
}

/// Starts "Submit Update" (or "Resubmit") of the latest version for the tenant: the
/// release row, its audit row and the job, in one transaction. Returns the version. A
/// tenant waiting in the active release campaign of that version is taken off its
/// queue: the campaign follows this submission instead of making another.
pub fn start_submission(
    conn: &mut DbConn,
    tenant_id: &str,
    actor: &audit::Actor,
    now: i64,
) -> Result<Result<String, StartRefusal>, diesel::result::Error> {
    db::write_tx(conn, |c| {
        let Some(latest) = store::latest_version(c)? else { return Ok(Err(StartRefusal::NoVersion)) };
        let campaign = campaigns::waiting_in_active(c, tenant_id, &latest.id)?;
        let started = begin_submission(c, tenant_id, &latest, campaign.as_deref(), actor, now)?;
        if started.is_ok()
            && let Some(campaign_id) = &campaign
        {
            campaigns::mark_started(c, campaign_id, tenant_id, now)?;
        }
        Ok(started.map(|()| latest.version))
    })
}

/// Starts the submission of `version` inside the caller's transaction: the release row
/// (the stage in its UPDATE's filter is the lock), the audit row and the job.
pub fn begin_submission(
    c: &mut DbConn,
    tenant_id: &str,
    version: &store::TemplateVersion,
    campaign_id: Option<&str>,
    actor: &audit::Actor,
    now: i64,
) -> Result<Result<(), StartRefusal>, diesel::result::Error> {
    let Some(binding) = bindings::active_for_tenant(c, tenant_id)? else { return Ok(Err(StartRefusal::NotBound)) };
    let before = store::for_tenant(c, tenant_id, &binding.appid)?;
    if let Some(row) = &before
        && row.released_version_id.as_deref() == Some(version.id.as_str())
        && row.stage() == Stage::Released
    {
        return Ok(Err(StartRefusal::UpToDate));
    }
    if !store::start_submission(c, tenant_id, &binding.appid, &version.id, &version.version, campaign_id, now)? {
        return Ok(Err(StartRefusal::Busy { version_id: before.and_then(|r| r.version_id) }));
    }
    audit::write(
        c,
        audit::Record {
            actor,
            tenant_id: Some(tenant_id),
            action: "release.submit_started",
            subject: &subject(tenant_id),
            before: Some(&json!({ "stage": before.map(|r| r.stage) })),
            after: Some(&json!({
                "stage": Stage::Submitting.as_str(),
                "version": version.version,
                "appid": binding.appid,
                "campaign": campaign_id,
            })),
        },
        now,
    )?;
    let job = jobs::SubmitUpdate { tenant_id: tenant_id.to_string(), appid: binding.appid.clone() };
    jobs::enqueue(c, &job, Some(&binding.appid), now, now)?;
    Ok(Ok(()))
}

/// What the submission job does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Finished,
    /// Run again at this time (waiting for the privacy scan).
    Again(i64),
}

/// What a step ran into.
enum StepEnd {
    /// Go on with the next step.
    Continue,
    Stop(Next),
    /// WeChat's audit quota is used up (85085, or `queryquota` says so): a campaign
    /// pauses and holds the submission; a tenant's own submission stops with it.
    QuotaGone,
}

/// Runs the submission's steps from the one the row is at. `last_attempt`: a transient
/// failure (WeChat unreachable or busy) is then recorded as the submission's failure
/// instead of being retried by the queue.
///
/// A submission made by a release campaign keeps to the campaign: its WeChat calls take
/// the campaign's call slots; while the campaign is paused it holds before its next
/// step; once it is cancelled, a submission not yet at its last step is abandoned (the
/// tenant is back at "Pending Update"). When it ends, the campaign's driver is woken.
pub async fn run_submission(
    platform: &Platform,
    timing: Timing,
    job: &jobs::SubmitUpdate,
    last_attempt: bool,
) -> Result<Next, PlatformError> {
    let mut campaign_id = None;
    let next = loop {
        let (tid, appid) = (job.tenant_id.clone(), job.appid.clone());
        let found = db::run(platform.pool(), move |c| -> Result<_, PlatformError> {
            let bound = bindings::active_for_tenant(c, &tid)?.is_some_and(|b| b.appid == appid);
            let row = if bound { store::for_tenant(c, &tid, &appid)? } else { None };
            let campaign = campaigns::of_release(c, row.as_ref().and_then(|r| r.campaign_id.as_deref()))?;
            Ok((row, campaign))
        })
        .await?;
        let (Some(row), campaign) = found else { break Next::Finished };
        if row.stage() != Stage::Submitting {
            break Next::Finished;
        }
        campaign_id = campaign.as_ref().map(|c| c.id.clone());
        let step = row.step().unwrap_or(Step::Preflight);
        let pacer = match &campaign {
            Some(c) if c.state() == CampaignState::Paused => {
                return Ok(Next::Again(crate::now() + timing.campaign_hold_secs));
            }
            Some(c) if c.state() == CampaignState::Cancelled && step != Step::Submit => {
                abandon(platform, &row, c).await?;
                break Next::Finished;
            }
            Some(c) => Some(DbPacer::for_campaign(platform.pool(), c)),
            None => None,
        };
        let work = async {
            match step {
                Step::Preflight => preflight(platform, &row, campaign.as_ref()).await,
                Step::Commit => commit(platform, &row).await,
                Step::PrivacyScan => privacy_scan(platform, timing, &row).await,
                Step::Submit => submit(platform, timing, &row).await,
            }
        };
        let ended = match pacer {
            Some(pacer) => paced(pacer, work).await,
            None => work.await,
        };
        match ended {
            Ok(StepEnd::Continue) => continue,
            Ok(StepEnd::Stop(next)) => break next,
            Ok(StepEnd::QuotaGone) => match &campaign {
                Some(c) => {
                    pause_for_quota(platform, c).await?;
                    return Ok(Next::Again(crate::now() + timing.campaign_hold_secs));
                }
                None => {
                    fail(platform, &row, Vec::new(), Some(Failure::Errcode(85085))).await?;
                    break Next::Finished;
                }
            },
            Err(e) if transient(&e) && !last_attempt => return Err(e),
            Err(PlatformError::Database(e)) => return Err(PlatformError::Database(e)),
            Err(e) => {
                fail(platform, &row, Vec::new(), Some(e.failure())).await?;
                break Next::Finished;
            }
        }
    };
    if next == Next::Finished
        && let Some(id) = campaign_id
    {
        db::run(platform.pool(), move |c| -> Result<_, PlatformError> {
            Ok(campaigns::wake_driver(c, &id, crate::now())?)
        })
        .await?;
    }
    Ok(next)
}

/// The campaign was cancelled before this submission reached its last step: it is
/// dropped, and the tenant is back where it was before (or at "Pending Update").
async fn abandon(platform: &Platform, row: &store::Release, campaign: &Campaign) -> Result<(), PlatformError> {
    let (row, campaign_id) = (row.clone(), campaign.id.clone());
    db::run(platform.pool(), move |c| -> Result<_, PlatformError> {
        let now = crate::now();
        db::write_tx(c, |c| {
            if store::abandon_submission(c, &row.tenant_id, &row.appid, now)? == 1 {
                campaigns::mark_cancelled(c, &campaign_id, &row.tenant_id, now)?;
                audit::write(
                    c,
                    audit::Record {
                        actor: &audit::Actor::system(),
                        tenant_id: Some(&row.tenant_id),
                        action: "release.submit_abandoned",
                        subject: &subject(&row.tenant_id),
                        before: Some(&json!({ "stage": row.stage, "step": row.step })),
                        after: Some(&json!({ "campaign": campaign_id, "cancelled": true })),
                    },
                    now,
                )?;
            }
            Ok::<_, PlatformError>(())
        })
    })
    .await
}

/// WeChat's audit quota is used up: the campaign pauses itself (once), with an audit row.
async fn pause_for_quota(platform: &Platform, campaign: &Campaign) -> Result<(), PlatformError> {
    let id = campaign.id.clone();
    tracing::warn!(campaign.id = %id, "the audit quota is used up: the release campaign pauses");
    db::run(platform.pool(), move |c| -> Result<_, PlatformError> {
        let now = crate::now();
        db::write_tx(c, |c| {
            let from = [CampaignState::Running, CampaignState::AwaitingGo];
            if campaigns::set_state(c, &id, &from, CampaignState::Paused, Some(PauseReason::Quota), now)? == 1 {
                audit::write(
                    c,
                    audit::Record {
                        actor: &audit::Actor::system(),
                        tenant_id: None,
                        action: "campaign.paused_for_quota",
                        subject: &format!("campaign:{id}"),
                        before: Some(&json!({ "state": "running" })),
                        after: Some(&json!({ "state": "paused", "reason": "quota", "errcode": 85085 })),
                    },
                    now,
                )?;
                // The driver asks WeChat now and then whether the quota was renewed.
                jobs::enqueue(c, &jobs::RunCampaign { campaign_id: id.clone() }, Some(&id), now, now)?;
            }
            Ok::<_, PlatformError>(())
        })
    })
    .await
}

/// Worth another try later: WeChat unreachable, busy or rate-limiting, or our database.
fn transient(e: &PlatformError) -> bool {
    match e {
        PlatformError::Wechat(WechatError::Api { code, .. }) => matches!(code, -1 | 45011),
        PlatformError::Wechat(WechatError::Transport(_) | WechatError::Http(_)) => true,
        PlatformError::LeaseTimeout | PlatformError::Database(_) => true,
        _ => false,
    }
}

async fn set_step(platform: &Platform, row: &store::Release, step: Step) -> Result<StepEnd, PlatformError> {
    let (tid, appid) = (row.tenant_id.clone(), row.appid.clone());
    db::run(platform.pool(), move |c| -> Result<_, PlatformError> {
        Ok(store::set_step(c, &tid, &appid, step, crate::now())?)
    })
    .await?;
    Ok(StepEnd::Continue)
}

/// Records that the submission stopped, with its audit row.
async fn fail(
    platform: &Platform,
    row: &store::Release,
    blockers: Vec<Blocker>,
    failure: Option<Failure>,
) -> Result<StepEnd, PlatformError> {
    let (tid, appid, step) = (row.tenant_id.clone(), row.appid.clone(), row.step.clone());
    tracing::info!(tenant.id = %tid, authorizer.appid = %appid, ?failure, blockers = blockers.len(), "submission stopped before review");
    db::run(platform.pool(), move |c| -> Result<_, PlatformError> {
        let now = crate::now();
        db::write_tx(c, |c| {
            if store::fail_submission(c, &tid, &appid, &blockers, failure, now)? == 1 {
                let (kind, code) = failure.map(Failure::as_parts).unzip();
                audit::write(
                    c,
                    audit::Record {
                        actor: &audit::Actor::system(),
                        tenant_id: Some(&tid),
                        action: "release.submit_failed",
                        subject: &subject(&tid),
                        before: Some(&json!({ "stage": Stage::Submitting.as_str(), "step": step })),
                        after: Some(&json!({
                            "stage": Stage::SubmitFailed.as_str(),
                            "blockers": blockers,
                            "failure": kind,
                            "errcode": code.flatten(),
                        })),
                    },
                    now,
                )?;
            }
            Ok::<_, PlatformError>(())
        })
    })
    .await?;
    Ok(StepEnd::Stop(Next::Finished))
}

/// Spends no audit quota: the checklist checked live has nothing due now (the basic
/// information among it: without it WeChat answers 86002), and the platform's audit
/// quota is not used up. A tenant's own submission also leaves alone the quota the
/// active release campaign reserved for the tenants it has still to submit.
async fn preflight(
    platform: &Platform,
    row: &store::Release,
    campaign: Option<&Campaign>,
) -> Result<StepEnd, PlatformError> {
    let Some(checked) = requirements::check(platform, &row.tenant_id).await? else {
        return fail(platform, row, vec![Blocker::new("not_bound", &[])], None).await;
    };
    let blockers: Vec<Blocker> = checked
        .evaluations
        .iter()
        .filter(|e| e.state.blocks_submission())
        .map(|e| match e.item {
            Item::BasicInfo => Blocker::new("basic_info", &[]),
            item => Blocker::new("requirement_due", &[("item", item.as_str())]),
        })
        .collect();
    if !blockers.is_empty() {
        return fail(platform, row, blockers, None).await;
    }
    match platform.get_authorizer::<api::Quota>(&row.appid, api::QUERY_QUOTA).await {
        Ok(q) if q.limit > 0 && q.rest <= 0 => return Ok(StepEnd::QuotaGone),
        Ok(q) if campaign.is_none() => {
            let tid = row.tenant_id.clone();
            let (reserved, active) = db::run(platform.pool(), move |c| -> Result<_, PlatformError> {
                Ok((campaigns::reserved_for_others(c, &tid)?, campaigns::active(c)?))
            })
            .await?;
            if reserved > 0 && q.rest <= reserved {
                let version = active.map(|c| c.version).unwrap_or_default();
                let blocker =
                    Blocker::new("quota_reserved", &[("version", &version), ("count", &reserved.to_string())]);
                return fail(platform, row, vec![blocker], None).await;
            }
        }
        Ok(_) => {}
        // Not knowing the quota does not stop the submission: submit_audit answers 85085.
        Err(e) => tracing::warn!(error = %e, "could not read the audit quota before submitting"),
    }
    set_step(platform, row, Step::Commit).await
}

/// Uploads the template with the tenant's `ext_json`.
async fn commit(platform: &Platform, row: &store::Release) -> Result<StepEnd, PlatformError> {
    let (tid, version_id) = (row.tenant_id.clone(), row.version_id.clone().unwrap_or_default());
    let found = db::run(platform.pool(), move |c| -> Result<_, PlatformError> {
        let version = store::version(c, &version_id)?;
        let config = db::requirements::config(c)?;
        let name = db::tenants::name_of(c, &tid)?;
        Ok((version, config, name))
    })
    .await?;
    let (Some(version), config, name) = found else {
        return fail(platform, row, vec![Blocker::new("version_gone", &[])], None).await;
    };
    let apis: Vec<String> = config.privacy_apis.iter().map(|a| a.api_name.clone()).collect();
    let declared = rules::required_private_infos(&apis);
    let ext = ExtConfig { tenant_id: &row.tenant_id, store_name: &name };
    let body = json!({
        "template_id": version.template_id,
        "ext_json": rules::ext_json(&row.appid, &ext, &declared),
        "user_version": version.version,
        "user_desc": version.notes.chars().take(200).collect::<String>(),
    });
    platform.call_authorizer::<api::Done>(&row.appid, api::COMMIT, &body).await?;
    let (tid, appid) = (row.tenant_id.clone(), row.appid.clone());
    db::run(platform.pool(), move |c| -> Result<_, PlatformError> {
        let now = crate::now();
        db::write_tx(c, |c| {
            store::set_step(c, &tid, &appid, Step::PrivacyScan, now)?;
            audit::write(
                c,
                audit::Record {
                    actor: &audit::Actor::system(),
                    tenant_id: Some(&tid),
                    action: "release.committed",
                    subject: &subject(&tid),
                    before: None::<&()>,
                    after: Some(&json!({ "template_id": version.template_id, "version": version.version })),
                },
                now,
            )?;
            Ok::<_, PlatformError>(())
        })
    })
    .await?;
    Ok(StepEnd::Continue)
}

/// Counts a 61039 and says when to ask again, or records the scan as stuck.
async fn scan_not_finished(
    platform: &Platform,
    timing: Timing,
    row: &store::Release,
) -> Result<StepEnd, PlatformError> {
    let (tid, appid) = (row.tenant_id.clone(), row.appid.clone());
    db::run(platform.pool(), move |c| -> Result<_, PlatformError> {
        Ok(store::count_scan_attempt(c, &tid, &appid, crate::now())?)
    })
    .await?;
    match rules::scan_retry_after(row.scan_attempts, timing.scan_retry_secs, timing.scan_max_attempts) {
        Some(wait) => Ok(StepEnd::Stop(Next::Again(crate::now() + wait))),
        None => fail(platform, row, vec![Blocker::new("scan_stuck", &[])], Some(Failure::Errcode(61039))).await,
    }
}

/// WeChat's code privacy scan: 61039 is "not finished, wait", never a failure.
async fn privacy_scan(platform: &Platform, timing: Timing, row: &store::Release) -> Result<StepEnd, PlatformError> {
    match platform.get_authorizer::<api::CodePrivacyInfo>(&row.appid, api::GET_CODE_PRIVACY_INFO).await {
        Err(e) if e.code() == Some(61039) => scan_not_finished(platform, timing, row).await,
        Err(e) => Err(e),
        Ok(info) => {
            let blockers = rules::scan_blockers(&info.without_auth_list, &info.without_conf_list);
            if blockers.is_empty() {
                set_step(platform, row, Step::Submit).await
            } else {
                fail(platform, row, blockers, Some(Failure::Errcode(61040))).await
            }
        }
    }
}

/// `submit_audit` with the item list from the categories actually set.
async fn submit(platform: &Platform, timing: Timing, row: &store::Release) -> Result<StepEnd, PlatformError> {
    let categories = platform.get_authorizer::<api::Categories>(&row.appid, api::GET_CATEGORY).await?;
    let items = rules::item_list(&categories.category_list);
    if items.is_empty() {
        return fail(platform, row, vec![Blocker::new("no_category", &[])], Some(Failure::Errcode(85008))).await;
    }
    let version_id = row.version_id.clone().unwrap_or_default();
    let notes = db::run(platform.pool(), move |c| -> Result<_, PlatformError> {
        Ok(store::version(c, &version_id)?.map(|v| v.notes).unwrap_or_default())
    })
    .await?;
    let body = json!({ "item_list": items, "version_desc": notes.chars().take(200).collect::<String>() });
    let (auditid, stage, submitted_at) =
        match platform.call_authorizer::<api::Submitted>(&row.appid, api::SUBMIT_AUDIT, &body).await {
            Ok(s) => (s.auditid, Stage::UnderReview, crate::now()),
            // One is already under review: ours, if an earlier attempt of this job got as
            // far as WeChat before it died. Check the latest status before anything else.
            Err(e) if e.code() == Some(85009) => {
                let latest =
                    platform.get_authorizer::<api::AuditStatus>(&row.appid, api::GET_LATEST_AUDIT_STATUS).await?;
                match latest.status {
                    2 => (latest.auditid, Stage::UnderReview, latest.submit_audit_time),
                    4 => (latest.auditid, Stage::Delayed, latest.submit_audit_time),
                    _ => return Err(e),
                }
            }
            Err(e) if e.code() == Some(85085) => return Ok(StepEnd::QuotaGone),
            // The scan is not finished after all (WeChat answers 61039 here too).
            Err(e) if e.code() == Some(61039) => {
                set_step(platform, row, Step::PrivacyScan).await?;
                return scan_not_finished(platform, timing, row).await;
            }
            Err(e) => return Err(e),
        };
    let (tid, appid, version) = (row.tenant_id.clone(), row.appid.clone(), row.version.clone());
    db::run(platform.pool(), move |c| -> Result<_, PlatformError> {
        let now = crate::now();
        db::write_tx(c, |c| {
            let submitted_at = if submitted_at > 0 { submitted_at } else { now };
            if store::mark_in_review(c, &tid, &appid, auditid, stage, submitted_at, now)? == 1 {
                audit::write(
                    c,
                    audit::Record {
                        actor: &audit::Actor::system(),
                        tenant_id: Some(&tid),
                        action: "release.submitted",
                        subject: &subject(&tid),
                        before: Some(&json!({ "stage": Stage::Submitting.as_str() })),
                        after: Some(&json!({ "stage": stage.as_str(), "auditid": auditid, "version": version })),
                    },
                    now,
                )?;
            }
            Ok::<_, PlatformError>(())
        })
    })
    .await?;
    Ok(StepEnd::Stop(Next::Finished))
}

/// Applies a review result (from WeChat's push or from asking) to the tenant that has
/// `appid` bound. None when nothing changed (nothing in review, or the same result
/// applied before); otherwise what happened, for the event's processing note.
pub fn apply_result(
    conn: &mut DbConn,
    appid: &str,
    result: &AuditResult,
    source: &str,
    now: i64,
) -> Result<Option<Stage>, diesel::result::Error> {
    let Some(row) = store::for_active_appid(conn, appid)? else { return Ok(None) };
    let Some(next) = result.next_stage(row.stage()) else { return Ok(None) };
    let (reason, screenshots) = match result {
        AuditResult::Rejected { reason, screenshots } => (reason.as_str(), screenshots.join("|")),
        AuditResult::Delayed { reason } => (reason.as_str(), String::new()),
        _ => ("", String::new()),
    };
    if store::apply_review(conn, &row.tenant_id, &row.appid, row.stage(), next, reason, &screenshots, now)? != 1 {
        return Ok(None);
    }
    audit::write(
        conn,
        audit::Record {
            actor: &audit::Actor::system(),
            tenant_id: Some(&row.tenant_id),
            action: &format!("release.{}", next.as_str()),
            subject: &subject(&row.tenant_id),
            before: Some(&json!({ "stage": row.stage, "auditid": row.auditid })),
            after: Some(
                &json!({ "stage": next.as_str(), "reason": reason, "screenshots": screenshots, "source": source }),
            ),
        },
        now,
    )?;
    let version = row.version.clone().unwrap_or_default();
    // A campaign's submission: its driver is woken (a canary's result may let the rest
    // go), and with auto-publish an approval is released by a job instead of by the tenant.
    let campaign = campaigns::of_release(conn, row.campaign_id.as_deref())?;
    if let Some(c) = &campaign {
        campaigns::wake_driver(conn, &c.id, now)?;
    }
    let auto_publish = campaign.as_ref().is_some_and(|c| c.auto_publish && c.state().is_active());
    match next {
        Stage::Approved if auto_publish => {
            let job = jobs::PublishUpdate { tenant_id: row.tenant_id.clone(), appid: row.appid.clone() };
            jobs::enqueue(conn, &job, Some(&row.appid), now, now)?;
        }
        Stage::Approved => email(conn, &row.tenant_id, "approved", &[("version", &version), ("appid", appid)], now)?,
        Stage::Rejected => {
            let reason = rules::reason_lines(reason).join("\n");
            email(
                conn,
                &row.tenant_id,
                "rejected",
                &[("version", &version), ("appid", appid), ("reason", &reason)],
                now,
            )?
        }
        _ => {}
    }
    Ok(Some(next))
}

/// The tenant's admins are told (`email.release_<what>_*`, in both languages).
fn email(
    conn: &mut DbConn,
    tenant_id: &str,
    what: &str,
    args: &[(&str, &str)],
    now: i64,
) -> Result<(), diesel::result::Error> {
    outbox::to_tenant_admins(conn, tenant_id, &format!("email.release_{what}"), args, now)
}

/// What a tenant's action on the Version card came to.
#[derive(Debug)]
pub enum ActionError {
    NotBound,
    /// The card no longer offers it (someone else acted first, or a result arrived).
    NotNow,
    /// Our own count says WeChat would refuse (withdrawals).
    LimitReached,
    /// WeChat refused or could not be reached; nothing changed here.
    Refused(Failure),
    Platform(PlatformError),
}

impl From<PlatformError> for ActionError {
    fn from(e: PlatformError) -> Self {
        Self::Platform(e)
    }
}

impl From<DbError> for ActionError {
    fn from(e: DbError) -> Self {
        Self::Platform(PlatformError::Database(e))
    }
}

impl From<diesel::result::Error> for ActionError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Platform(e.into())
    }
}

fn refused(e: PlatformError) -> ActionError {
    e.into_refusal().map_or_else(ActionError::Platform, ActionError::Refused)
}

/// The tenant's active AppID and its release row.
async fn current(platform: &Platform, tenant_id: &str) -> Result<store::Release, ActionError> {
    let tid = tenant_id.to_string();
    db::run(platform.pool(), move |c| -> Result<_, ActionError> {
        let Some(b) = bindings::active_for_tenant(c, &tid)? else { return Err(ActionError::NotBound) };
        store::for_tenant(c, &tid, &b.appid)?.ok_or(ActionError::NotNow)
    })
    .await
}

fn write_audit(
    c: &mut DbConn,
    actor: &audit::Actor,
    row: &store::Release,
    action: &str,
    after: serde_json::Value,
    now: i64,
) -> Result<(), diesel::result::Error> {
    audit::write(
        c,
        audit::Record {
            actor,
            tenant_id: Some(&row.tenant_id),
            action,
            subject: &subject(&row.tenant_id),
            before: Some(&json!({ "stage": row.stage, "released": row.released_version })),
            after: Some(&after),
        },
        now,
    )
}

/// "Publish Update" (and, after a failed release, "Resubmit"): releases the approved
/// version. WeChat's 85052 (already released) counts as released: a release whose answer
/// was lost is not an error the second time.
pub async fn publish(platform: &Platform, tenant_id: &str, actor: &audit::Actor) -> Result<(), ActionError> {
    let row = current(platform, tenant_id).await?;
    if !matches!(row.stage(), Stage::Approved | Stage::PublishFailed) {
        return Err(ActionError::NotNow);
    }
    let answer = platform.call_authorizer::<api::Done>(&row.appid, api::RELEASE, &json!({})).await;
    let failure = match answer {
        Ok(_) => None,
        Err(e) if e.code() == Some(85052) => None,
        Err(PlatformError::Database(e)) => return Err(ActionError::Platform(PlatformError::Database(e))),
        Err(e) => Some(e.failure()),
    };
    let actor = actor.clone();
    let row_c = row.clone();
    db::run(platform.pool(), move |c| -> Result<_, ActionError> {
        let now = crate::now();
        db::write_tx(c, |c| {
            let row = row_c;
            let version = row.version.clone().unwrap_or_default();
            match failure {
                None => {
                    if store::mark_released(c, &row, now)? == 1 {
                        store::add_history(
                            c,
                            &row.tenant_id,
                            &row.appid,
                            "release",
                            row.version_id.as_deref(),
                            &version,
                            now,
                        )?;
                        write_audit(
                            c,
                            &actor,
                            &row,
                            "release.released",
                            json!({ "stage": "released", "version": version }),
                            now,
                        )?;
                        email(c, &row.tenant_id, "released", &[("version", &version), ("appid", &row.appid)], now)?;
                    }
                }
                Some(f) => {
                    store::mark_publish_failed(c, &row, f, now)?;
                    let (kind, code) = f.as_parts();
                    let after = json!({ "stage": "publish_failed", "failure": kind, "errcode": code });
                    write_audit(c, &actor, &row, "release.publish_failed", after, now)?;
                }
            }
            Ok::<_, ActionError>(())
        })
    })
    .await?;
    match failure {
        None => Ok(()),
        Some(f) => Err(ActionError::Refused(f)),
    }
}

/// The auto-publish of a campaign's approved submission (the `PublishUpdate` job): as
/// "Publish Update", by the system, within the campaign's call rate; held while the
/// campaign is paused. A refusal is recorded as "publish failed" (the campaign's
/// "Retry failed" tries again); WeChat unreachable is retried by the queue.
pub async fn run_publish(
    platform: &Platform,
    timing: Timing,
    job: &jobs::PublishUpdate,
) -> Result<Next, PlatformError> {
    let (tid, appid) = (job.tenant_id.clone(), job.appid.clone());
    let found = db::run(platform.pool(), move |c| -> Result<_, PlatformError> {
        let row = store::for_tenant(c, &tid, &appid)?;
        let campaign = campaigns::of_release(c, row.as_ref().and_then(|r| r.campaign_id.as_deref()))?;
        Ok((row, campaign))
    })
    .await?;
    let (Some(row), Some(campaign)) = found else { return Ok(Next::Finished) };
    if !matches!(row.stage(), Stage::Approved | Stage::PublishFailed) {
        return Ok(Next::Finished);
    }
    match campaign.state() {
        CampaignState::Paused => return Ok(Next::Again(crate::now() + timing.campaign_hold_secs)),
        CampaignState::Cancelled => return Ok(Next::Finished),
        _ => {}
    }
    let pacer = DbPacer::for_campaign(platform.pool(), &campaign);
    let outcome = paced(pacer, publish(platform, &job.tenant_id, &audit::Actor::system())).await;
    let id = campaign.id.clone();
    db::run(platform.pool(), move |c| -> Result<_, PlatformError> {
        Ok(campaigns::wake_driver(c, &id, crate::now())?)
    })
    .await?;
    match outcome {
        Err(ActionError::Platform(e)) if transient(&e) => Err(e),
        Err(ActionError::Refused(f)) => {
            tracing::info!(tenant.id = %job.tenant_id, failure = ?f, "the campaign's release was refused");
            Ok(Next::Finished)
        }
        _ => Ok(Next::Finished),
    }
}

/// Withdraws the submission in review (`undocodeaudit`), within the limits we count.
pub async fn withdraw(platform: &Platform, tenant_id: &str, actor: &audit::Actor) -> Result<(), ActionError> {
    let row = current(platform, tenant_id).await?;
    if !row.stage().in_review() {
        return Err(ActionError::NotNow);
    }
    let (tid, appid) = (row.tenant_id.clone(), row.appid.clone());
    let now = crate::now();
    let times = db::run(platform.pool(), move |c| -> Result<_, ActionError> {
        Ok(store::withdrawals_since(c, &tid, &appid, rules::china_month_start(now))?)
    })
    .await?;
    if rules::withdrawals_left(&times, now).0 == 0 {
        return Err(ActionError::LimitReached);
    }
    platform.get_authorizer::<api::Done>(&row.appid, api::UNDO_CODE_AUDIT).await.map_err(refused)?;
    let actor = actor.clone();
    db::run(platform.pool(), move |c| -> Result<_, ActionError> {
        let now = crate::now();
        db::write_tx(c, |c| {
            if store::mark_withdrawn(c, &row, now)? == 1 {
                write_audit(
                    c,
                    &actor,
                    &row,
                    "release.withdrawn",
                    json!({ "stage": "withdrawn", "auditid": row.auditid }),
                    now,
                )?;
            }
            Ok::<_, ActionError>(())
        })
    })
    .await
}

/// Expedites the review (`speedupaudit`): one of the platform's monthly expedites.
pub async fn expedite(platform: &Platform, tenant_id: &str, actor: &audit::Actor) -> Result<(), ActionError> {
    let row = current(platform, tenant_id).await?;
    let Some(auditid) = row.auditid.filter(|_| row.stage() == Stage::UnderReview && !row.expedited) else {
        return Err(ActionError::NotNow);
    };
    platform
        .call_authorizer::<api::Done>(&row.appid, api::SPEEDUP_AUDIT, &json!({ "auditid": auditid }))
        .await
        .map_err(refused)?;
    let actor = actor.clone();
    db::run(platform.pool(), move |c| -> Result<_, ActionError> {
        let now = crate::now();
        db::write_tx(c, |c| {
            store::mark_expedited(c, &row.tenant_id, &row.appid, now)?;
            write_audit(c, &actor, &row, "release.expedited", json!({ "auditid": auditid, "expedited": true }), now)?;
            Ok::<_, ActionError>(())
        })
    })
    .await
}

/// Rolls the live version back to the previous release (`revertcoderelease`).
pub async fn roll_back(platform: &Platform, tenant_id: &str, actor: &audit::Actor) -> Result<String, ActionError> {
    let row = current(platform, tenant_id).await?;
    let (tid, appid) = (row.tenant_id.clone(), row.appid.clone());
    let history =
        db::run(platform.pool(), move |c| -> Result<_, ActionError> { Ok(store::history(c, &tid, &appid)?) }).await?;
    let actions: Vec<&str> = history.iter().map(|h| h.action.as_str()).collect();
    let target = rules::roll_back_target(&actions).filter(|_| row.stage() != Stage::Submitting);
    let Some(previous) = target.map(|i| history[i].clone()) else {
        return Err(ActionError::NotNow);
    };
    platform.get_authorizer::<api::Done>(&row.appid, api::REVERT_CODE_RELEASE).await.map_err(refused)?;
    let actor = actor.clone();
    let version = previous.version.clone();
    db::run(platform.pool(), move |c| -> Result<_, ActionError> {
        let now = crate::now();
        db::write_tx(c, |c| {
            store::set_live(c, &row.tenant_id, &row.appid, previous.version_id.as_deref(), &previous.version, now)?;
            store::add_history(
                c,
                &row.tenant_id,
                &row.appid,
                "rollback",
                previous.version_id.as_deref(),
                &previous.version,
                now,
            )?;
            write_audit(c, &actor, &row, "release.rolled_back", json!({ "released": previous.version }), now)?;
            Ok::<_, ActionError>(())
        })
    })
    .await?;
    Ok(version)
}

/// Asks WeChat where the tenant's submission stands and applies the answer (the
/// reconciliation of one row; also "Check status" on the card).
pub async fn check_review(platform: &Platform, row: &store::Release) -> Result<Option<Stage>, ActionError> {
    if !row.stage().in_review() {
        return Ok(None);
    }
    let latest =
        platform.get_authorizer::<api::AuditStatus>(&row.appid, api::GET_LATEST_AUDIT_STATUS).await.map_err(refused)?;
    let result = AuditResult::from_status(latest.status, &latest.reason, &latest.screenshot);
    let ours = row.auditid.is_none_or(|id| id == latest.auditid);
    let (appid, tid) = (row.appid.clone(), row.tenant_id.clone());
    let changed = db::run(platform.pool(), move |c| -> Result<_, ActionError> {
        let now = crate::now();
        db::write_tx(c, |c| {
            store::mark_polled(c, &tid, &appid, now)?;
            match result.filter(|_| ours) {
                Some(result) => Ok::<_, ActionError>(apply_result(c, &appid, &result, "poll", now)?),
                None => Ok(None),
            }
        })
    })
    .await?;
    if let Some(stage) = changed {
        tracing::info!(authorizer.appid = %row.appid, stage = stage.as_str(), "a review result was found by asking WeChat");
    }
    Ok(changed)
}

/// "Check status" on the card.
pub async fn check_now(platform: &Platform, tenant_id: &str) -> Result<Option<Stage>, ActionError> {
    let row = current(platform, tenant_id).await?;
    check_review(platform, &row).await
}

/// One reconciliation round: the overdue submissions, oldest first (at most 50 a round).
pub async fn reconcile(platform: &Platform, timing: Timing) -> Result<usize, PlatformError> {
    let now = crate::now();
    let due = db::run(platform.pool(), move |c| -> Result<_, PlatformError> {
        Ok(store::due_for_reconcile(c, now - timing.reconcile_after_secs, now - timing.reconcile_every_secs, 50)?)
    })
    .await?;
    let mut changed = 0;
    for row in &due {
        match check_review(platform, row).await {
            Ok(Some(_)) => changed += 1,
            Ok(None) => {}
            Err(e) => tracing::warn!(authorizer.appid = %row.appid, error = ?e, "could not ask WeChat about a review"),
        }
    }
    Ok(changed)
}

/// Queues the next reconciliation round (unique: one round is ever queued).
pub fn queue_reconcile(conn: &mut DbConn, timing: Timing, now: i64) -> diesel::QueryResult<bool> {
    jobs::enqueue(conn, &jobs::ReconcileReviews, Some("round"), now + timing.reconcile_every_secs.max(1), now)
}

/// The platform's audit quota (`queryquota`, with any bound mini program's token); None
/// when no mini program is bound yet, so there is no token to ask with.
pub async fn quota(platform: &Platform) -> Result<Option<api::Quota>, PlatformError> {
    let appid = db::run(platform.pool(), |c| -> Result<_, PlatformError> { Ok(store::any_active_appid(c)?) }).await?;
    match appid {
        Some(appid) => Ok(Some(platform.get_authorizer::<api::Quota>(&appid, api::QUERY_QUOTA).await?)),
        None => Ok(None),
    }
}
