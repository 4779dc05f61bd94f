//! Versions, review and release: the operator's released template versions, each
//! tenant's release row (its stage on the way to a released version), the release
//! history and counted withdrawals. Every tenant row is reached through its tenant id
//! (or, for WeChat's pushes, through the active binding of the AppID), filtered in SQL.
//! Functions take `&mut DbConn`; callers wrap state changes in [`super::write_tx`].

use diesel::prelude::*;

use super::DbConn;
use super::schema::{mp_bindings, release_history, releases, review_withdrawals, template_versions};
use crate::domain::failure::Failure;
use crate::domain::release::{Blocker, Stage, Step};

// ---- template versions (the operator's) ----

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = template_versions)]
pub struct TemplateVersion {
    pub id: String,
    pub template_id: i64,
    pub version: String,
    pub sort_key: String,
    pub notes: String,
    pub user_version: String,
    pub published_by: String,
    pub published_at: i64,
}

/// The newest released version: the greatest version number.
pub fn latest_version(conn: &mut DbConn) -> QueryResult<Option<TemplateVersion>> {
    template_versions::table
        .select(TemplateVersion::as_select())
        .order(template_versions::sort_key.desc())
        .first(conn)
        .optional()
}

/// Every released version, newest first.
pub fn versions(conn: &mut DbConn) -> QueryResult<Vec<TemplateVersion>> {
    template_versions::table.select(TemplateVersion::as_select()).order(template_versions::sort_key.desc()).load(conn)
}

pub struct NewVersion<'a> {
    pub template_id: i64,
    pub version: &'a str,
    pub sort_key: &'a str,
    pub notes: &'a str,
    pub user_version: &'a str,
    pub published_by: &'a str,
}

/// Inserts a released version; a version number already used is the unique-violation
/// error.
pub fn insert_version(conn: &mut DbConn, v: &NewVersion<'_>, now: i64) -> QueryResult<String> {
    let id = crate::new_id();
    diesel::insert_into(template_versions::table)
        .values((
            template_versions::id.eq(&id),
            template_versions::template_id.eq(v.template_id),
            template_versions::version.eq(v.version),
            template_versions::sort_key.eq(v.sort_key),
            template_versions::notes.eq(v.notes),
            template_versions::user_version.eq(v.user_version),
            template_versions::published_by.eq(v.published_by),
            template_versions::published_at.eq(now),
        ))
        .execute(conn)?;
    Ok(id)
}

pub fn version(conn: &mut DbConn, id: &str) -> QueryResult<Option<TemplateVersion>> {
    template_versions::table.find(id).select(TemplateVersion::as_select()).first(conn).optional()
}

// ---- each tenant's release row ----

/// One tenant's row for one AppID (a macro: diesel's filtered table types are long).
macro_rules! row {
    ($tenant_id:expr, $appid:expr) => {
        releases::table.filter(releases::tenant_id.eq($tenant_id)).filter(releases::appid.eq($appid))
    };
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = releases)]
pub struct Release {
    pub tenant_id: String,
    pub appid: String,
    pub stage: String,
    pub step: Option<String>,
    pub version_id: Option<String>,
    pub version: Option<String>,
    pub auditid: Option<i64>,
    pub submitted_at: Option<i64>,
    pub expedited: bool,
    pub reason: String,
    pub screenshots: String,
    pub blockers: String,
    pub failure_kind: Option<String>,
    pub failure_code: Option<i64>,
    pub scan_attempts: i32,
    pub polled_at: Option<i64>,
    pub released_version_id: Option<String>,
    pub released_version: Option<String>,
    pub released_at: Option<i64>,
    pub campaign_id: Option<String>,
    pub stage_changed_at: i64,
    pub updated_at: i64,
}

impl Release {
    /// The stage, typed (the column's CHECK keeps it to the known set).
    pub fn stage(&self) -> Stage {
        Stage::parse(&self.stage).unwrap_or(Stage::SubmitFailed)
    }

    pub fn step(&self) -> Option<Step> {
        self.step.as_deref().and_then(Step::parse)
    }

    pub fn failure(&self) -> Option<Failure> {
        self.failure_kind.as_deref().and_then(|k| Failure::from_parts(k, self.failure_code))
    }

    pub fn blockers(&self) -> Vec<Blocker> {
        Blocker::from_stored(&self.blockers)
    }

    pub fn screenshot_ids(&self) -> Vec<String> {
        crate::domain::release::split_media_ids(&self.screenshots)
    }
}

/// The tenant's release row for one AppID.
pub fn for_tenant(conn: &mut DbConn, tenant_id: &str, appid: &str) -> QueryResult<Option<Release>> {
    row!(tenant_id, appid).select(Release::as_select()).first(conn).optional()
}

/// The release row of the tenant that has `appid` bound now (a push names only the AppID).
pub fn for_active_appid(conn: &mut DbConn, appid: &str) -> QueryResult<Option<Release>> {
    releases::table
        .inner_join(
            mp_bindings::table.on(mp_bindings::tenant_id
                .eq(releases::tenant_id)
                .and(mp_bindings::appid.eq(releases::appid))
                .and(super::bindings::is_active())),
        )
        .filter(releases::appid.eq(appid))
        .select(Release::as_select())
        .first(conn)
        .optional()
}

/// Starts a submission of `version` unless one is already on its way (being submitted,
/// in review, or approved and waiting to be published). Keeps what is live. True when
/// it started.
pub fn start_submission(
    conn: &mut DbConn,
    tenant_id: &str,
    appid: &str,
    version_id: &str,
    version: &str,
    campaign_id: Option<&str>,
    now: i64,
) -> QueryResult<bool> {
    let current = for_tenant(conn, tenant_id, appid)?;
    let fields = (
        releases::stage.eq(Stage::Submitting.as_str()),
        releases::step.eq(Some(Step::Preflight.as_str())),
        releases::version_id.eq(Some(version_id)),
        releases::version.eq(Some(version)),
        releases::auditid.eq(None::<i64>),
        releases::submitted_at.eq(None::<i64>),
        releases::expedited.eq(false),
        releases::reason.eq(""),
        releases::screenshots.eq(""),
        releases::blockers.eq("[]"),
        releases::failure_kind.eq(None::<String>),
        releases::failure_code.eq(None::<i64>),
        releases::scan_attempts.eq(0),
        releases::polled_at.eq(None::<i64>),
        releases::campaign_id.eq(campaign_id),
        releases::stage_changed_at.eq(now),
        releases::updated_at.eq(now),
    );
    match current {
        None => {
            diesel::insert_into(releases::table)
                .values((releases::tenant_id.eq(tenant_id), releases::appid.eq(appid), fields))
                .execute(conn)?;
            Ok(true)
        }
        Some(r) if r.stage().may_submit() => {
            // The stage in the filter makes two concurrent starts one winner.
            let updated = diesel::update(row!(tenant_id, appid).filter(releases::stage.eq(&r.stage)))
                .set(fields)
                .execute(conn)?;
            Ok(updated == 1)
        }
        Some(_) => Ok(false),
    }
}

/// Drops a submission not yet made (its campaign was cancelled): the row goes back to
/// what is live, or away when nothing was ever released. 1 when it was dropped.
pub fn abandon_submission(conn: &mut DbConn, tenant_id: &str, appid: &str, now: i64) -> QueryResult<usize> {
    let submitting = row!(tenant_id, appid).filter(releases::stage.eq(Stage::Submitting.as_str()));
    let back = diesel::update(submitting.filter(releases::released_version_id.is_not_null()))
        .set((
            releases::stage.eq(Stage::Released.as_str()),
            releases::step.eq(None::<String>),
            releases::version_id.eq(releases::released_version_id),
            releases::version.eq(releases::released_version),
            releases::campaign_id.eq(None::<String>),
            releases::stage_changed_at.eq(now),
            releases::updated_at.eq(now),
        ))
        .execute(conn)?;
    if back == 1 {
        return Ok(1);
    }
    diesel::delete(
        row!(tenant_id, appid)
            .filter(releases::stage.eq(Stage::Submitting.as_str()))
            .filter(releases::released_version_id.is_null()),
    )
    .execute(conn)
}

/// Moves a submission on to `step` (only while it is being submitted).
pub fn set_step(conn: &mut DbConn, tenant_id: &str, appid: &str, step: Step, now: i64) -> QueryResult<usize> {
    diesel::update(row!(tenant_id, appid).filter(releases::stage.eq(Stage::Submitting.as_str())))
        .set((releases::step.eq(Some(step.as_str())), releases::updated_at.eq(now)))
        .execute(conn)
}

/// Counts one more 61039 while waiting for the privacy scan.
pub fn count_scan_attempt(conn: &mut DbConn, tenant_id: &str, appid: &str, now: i64) -> QueryResult<usize> {
    diesel::update(row!(tenant_id, appid).filter(releases::stage.eq(Stage::Submitting.as_str())))
        .set((releases::scan_attempts.eq(releases::scan_attempts + 1), releases::updated_at.eq(now)))
        .execute(conn)
}

/// The submission stopped before review: the blockers found, or WeChat's refusal.
pub fn fail_submission(
    conn: &mut DbConn,
    tenant_id: &str,
    appid: &str,
    blockers: &[Blocker],
    failure: Option<Failure>,
    now: i64,
) -> QueryResult<usize> {
    let (kind, code) = failure.map(Failure::as_parts).unzip();
    diesel::update(row!(tenant_id, appid).filter(releases::stage.eq(Stage::Submitting.as_str())))
        .set((
            releases::stage.eq(Stage::SubmitFailed.as_str()),
            releases::blockers.eq(Blocker::to_stored(blockers)),
            releases::failure_kind.eq(kind),
            releases::failure_code.eq(code.flatten()),
            releases::stage_changed_at.eq(now),
            releases::updated_at.eq(now),
        ))
        .execute(conn)
}

/// WeChat took the submission: under review (or delayed, when an earlier submission
/// found by 85009 already was).
pub fn mark_in_review(
    conn: &mut DbConn,
    tenant_id: &str,
    appid: &str,
    auditid: i64,
    stage: Stage,
    submitted_at: i64,
    now: i64,
) -> QueryResult<usize> {
    diesel::update(row!(tenant_id, appid).filter(releases::stage.eq(Stage::Submitting.as_str())))
        .set((
            releases::stage.eq(stage.as_str()),
            releases::step.eq(None::<String>),
            releases::auditid.eq(Some(auditid)),
            releases::submitted_at.eq(Some(submitted_at)),
            releases::stage_changed_at.eq(now),
            releases::updated_at.eq(now),
        ))
        .execute(conn)
}

/// A review result moves the row from `from` to `to`, with WeChat's reason and
/// screenshots. The stage in the filter makes a push and a poll of the same result
/// apply once.
#[expect(clippy::too_many_arguments, reason = "one row's review outcome, each part its own column")]
pub fn apply_review(
    conn: &mut DbConn,
    tenant_id: &str,
    appid: &str,
    from: Stage,
    to: Stage,
    reason: &str,
    screenshots: &str,
    now: i64,
) -> QueryResult<usize> {
    diesel::update(row!(tenant_id, appid).filter(releases::stage.eq(from.as_str())))
        .set((
            releases::stage.eq(to.as_str()),
            releases::reason.eq(reason),
            releases::screenshots.eq(screenshots),
            releases::polled_at.eq(Some(now)),
            releases::stage_changed_at.eq(now),
            releases::updated_at.eq(now),
        ))
        .execute(conn)
}

/// Notes that the review status was asked for (reconciliation), whatever it said.
pub fn mark_polled(conn: &mut DbConn, tenant_id: &str, appid: &str, now: i64) -> QueryResult<usize> {
    diesel::update(row!(tenant_id, appid)).set(releases::polled_at.eq(Some(now))).execute(conn)
}

pub fn mark_expedited(conn: &mut DbConn, tenant_id: &str, appid: &str, now: i64) -> QueryResult<usize> {
    diesel::update(row!(tenant_id, appid))
        .set((releases::expedited.eq(true), releases::updated_at.eq(now)))
        .execute(conn)
}

/// Released: what was approved is live.
pub fn mark_released(conn: &mut DbConn, r: &Release, now: i64) -> QueryResult<usize> {
    diesel::update(row!(&r.tenant_id, &r.appid).filter(releases::stage.eq(r.stage.clone())))
        .set((
            releases::stage.eq(Stage::Released.as_str()),
            releases::released_version_id.eq(r.version_id.clone()),
            releases::released_version.eq(r.version.clone()),
            releases::released_at.eq(Some(now)),
            releases::failure_kind.eq(None::<String>),
            releases::failure_code.eq(None::<i64>),
            releases::stage_changed_at.eq(now),
            releases::updated_at.eq(now),
        ))
        .execute(conn)
}

pub fn mark_publish_failed(conn: &mut DbConn, r: &Release, failure: Failure, now: i64) -> QueryResult<usize> {
    let (kind, code) = failure.as_parts();
    diesel::update(row!(&r.tenant_id, &r.appid).filter(releases::stage.eq(r.stage.clone())))
        .set((
            releases::stage.eq(Stage::PublishFailed.as_str()),
            releases::failure_kind.eq(Some(kind)),
            releases::failure_code.eq(code),
            releases::stage_changed_at.eq(now),
            releases::updated_at.eq(now),
        ))
        .execute(conn)
}

/// Withdrawn by us: the stage, and one more counted withdrawal.
pub fn mark_withdrawn(conn: &mut DbConn, r: &Release, now: i64) -> QueryResult<usize> {
    let updated = diesel::update(row!(&r.tenant_id, &r.appid).filter(releases::stage.eq(r.stage.clone())))
        .set((
            releases::stage.eq(Stage::Withdrawn.as_str()),
            releases::stage_changed_at.eq(now),
            releases::updated_at.eq(now),
        ))
        .execute(conn)?;
    diesel::insert_into(review_withdrawals::table)
        .values((
            review_withdrawals::id.eq(crate::new_id()),
            review_withdrawals::tenant_id.eq(&r.tenant_id),
            review_withdrawals::appid.eq(&r.appid),
            review_withdrawals::at.eq(now),
        ))
        .execute(conn)?;
    Ok(updated)
}

/// After a roll-back: what is live now.
pub fn set_live(
    conn: &mut DbConn,
    tenant_id: &str,
    appid: &str,
    version_id: Option<&str>,
    version: &str,
    now: i64,
) -> QueryResult<usize> {
    diesel::update(row!(tenant_id, appid))
        .set((
            releases::released_version_id.eq(version_id),
            releases::released_version.eq(Some(version)),
            releases::released_at.eq(Some(now)),
            releases::updated_at.eq(now),
        ))
        .execute(conn)
}

/// Withdrawal times of this AppID since `since` (WeChat counts per mini program).
pub fn withdrawals_since(conn: &mut DbConn, tenant_id: &str, appid: &str, since: i64) -> QueryResult<Vec<i64>> {
    review_withdrawals::table
        .filter(review_withdrawals::tenant_id.eq(tenant_id))
        .filter(review_withdrawals::appid.eq(appid))
        .filter(review_withdrawals::at.ge(since))
        .select(review_withdrawals::at)
        .load(conn)
}

// ---- history ----

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = release_history)]
pub struct HistoryEntry {
    pub id: String,
    pub tenant_id: String,
    pub appid: String,
    pub action: String,
    pub version_id: Option<String>,
    pub version: String,
    pub at: i64,
}

pub fn add_history(
    conn: &mut DbConn,
    tenant_id: &str,
    appid: &str,
    action: &str,
    version_id: Option<&str>,
    version: &str,
    now: i64,
) -> QueryResult<()> {
    diesel::insert_into(release_history::table)
        .values((
            release_history::id.eq(crate::new_id()),
            release_history::tenant_id.eq(tenant_id),
            release_history::appid.eq(appid),
            release_history::action.eq(action),
            release_history::version_id.eq(version_id),
            release_history::version.eq(version),
            release_history::at.eq(now),
        ))
        .execute(conn)
        .map(drop)
}

/// The AppID's releases and roll-backs, oldest first (the last 20).
pub fn history(conn: &mut DbConn, tenant_id: &str, appid: &str) -> QueryResult<Vec<HistoryEntry>> {
    let mut newest: Vec<HistoryEntry> = release_history::table
        .filter(release_history::tenant_id.eq(tenant_id))
        .filter(release_history::appid.eq(appid))
        .select(HistoryEntry::as_select())
        .order((release_history::at.desc(), release_history::id.desc()))
        .limit(20)
        .load(conn)?;
    newest.reverse();
    Ok(newest)
}

// ---- reconciliation ----

/// Rows in review since before `submitted_before` that were not asked about since
/// `polled_before`: the ones whose result may have been lost.
pub fn due_for_reconcile(
    conn: &mut DbConn,
    submitted_before: i64,
    polled_before: i64,
    limit: i64,
) -> QueryResult<Vec<Release>> {
    releases::table
        .filter(releases::stage.eq_any([Stage::UnderReview.as_str(), Stage::Delayed.as_str()]))
        .filter(releases::submitted_at.le(submitted_before))
        .filter(releases::polled_at.is_null().or(releases::polled_at.le(polled_before)))
        .select(Release::as_select())
        .order(releases::submitted_at.asc())
        .limit(limit)
        .load(conn)
}

/// Any mini program bound now: its token asks for the platform's audit quota, which all
/// the platform's mini programs share.
pub fn any_active_appid(conn: &mut DbConn) -> QueryResult<Option<String>> {
    mp_bindings::table
        .filter(super::bindings::is_active())
        .select(mp_bindings::appid)
        .order(mp_bindings::bound_at.desc())
        .first(conn)
        .optional()
}
