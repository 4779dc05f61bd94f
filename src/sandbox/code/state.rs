//! Every query of the code-management tables (`migrations/sandbox/*/2026-11-25-000003_code`)
//! and the code reviews of the reviewer's queue. Functions take `&mut DbConn`; callers
//! wrap state changes in [`crate::db::write_tx`].
//!
//! Draft and template ids count up from 1 and are never reused (WeChat's are small
//! counters too); audit ids are random unsigned 32-bit numbers like the other audit ids
//! of the sandbox.

use diesel::prelude::*;
use serde::Serialize;

use super::rules::{self, HistoryEntry, Upload};
use crate::db::DbConn;
use crate::sandbox::manage::state::Review;
use crate::sandbox::schema::*;

/// The reviewer's kind for code audits (`sandbox_reviews.kind`).
pub const CODE: &str = "code";

fn apis_json(apis: &[String]) -> String {
    serde_json::to_string(apis).unwrap_or_else(|_| "[]".into())
}

/// A JSON array of interface names as stored.
pub fn parse_apis(json: &str) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_default()
}

// ---- drafts and templates ----

/// The next id of a counter (`draft`, `template`). Call inside a write transaction.
fn next_id(conn: &mut DbConn, name: &str) -> QueryResult<i64> {
    diesel::update(sandbox_code_counters::table.find(name))
        .set(sandbox_code_counters::value.eq(sandbox_code_counters::value + 1))
        .execute(conn)?;
    sandbox_code_counters::table.find(name).select(sandbox_code_counters::value).first(conn)
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = sandbox_code_drafts)]
pub struct Draft {
    pub draft_id: i64,
    pub user_version: String,
    pub user_desc: String,
    #[serde(skip)]
    pub privacy_apis: String,
    pub create_time: i64,
}

/// Stores an upload. Call inside a write transaction.
pub fn insert_draft(conn: &mut DbConn, upload: &Upload, create_time: i64) -> QueryResult<Draft> {
    let draft = Draft {
        draft_id: next_id(conn, "draft")?,
        user_version: upload.user_version.clone(),
        user_desc: upload.user_desc.clone(),
        privacy_apis: apis_json(&upload.privacy_apis),
        create_time,
    };
    diesel::insert_into(sandbox_code_drafts::table)
        .values((
            sandbox_code_drafts::draft_id.eq(draft.draft_id),
            sandbox_code_drafts::user_version.eq(&draft.user_version),
            sandbox_code_drafts::user_desc.eq(&draft.user_desc),
            sandbox_code_drafts::privacy_apis.eq(&draft.privacy_apis),
            sandbox_code_drafts::create_time.eq(create_time),
        ))
        .execute(conn)?;
    Ok(draft)
}

pub fn list_drafts(conn: &mut DbConn) -> QueryResult<Vec<Draft>> {
    sandbox_code_drafts::table.select(Draft::as_select()).order(sandbox_code_drafts::draft_id.asc()).load(conn)
}

pub fn find_draft(conn: &mut DbConn, draft_id: i64) -> QueryResult<Option<Draft>> {
    sandbox_code_drafts::table.find(draft_id).select(Draft::as_select()).first(conn).optional()
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = sandbox_code_templates)]
pub struct Template {
    pub template_id: i64,
    pub draft_id: i64,
    pub user_version: String,
    pub user_desc: String,
    #[serde(skip)]
    pub privacy_apis: String,
    pub template_type: i32,
    pub create_time: i64,
}

pub fn count_templates(conn: &mut DbConn) -> QueryResult<i64> {
    sandbox_code_templates::table.count().get_result(conn)
}

/// Copies a draft into the library as a new template. Call inside a write transaction.
pub fn insert_template(conn: &mut DbConn, draft: &Draft, template_type: i32, now: i64) -> QueryResult<Template> {
    let template = Template {
        template_id: next_id(conn, "template")?,
        draft_id: draft.draft_id,
        user_version: draft.user_version.clone(),
        user_desc: draft.user_desc.clone(),
        privacy_apis: draft.privacy_apis.clone(),
        template_type,
        create_time: now,
    };
    diesel::insert_into(sandbox_code_templates::table)
        .values((
            sandbox_code_templates::template_id.eq(template.template_id),
            sandbox_code_templates::draft_id.eq(template.draft_id),
            sandbox_code_templates::user_version.eq(&template.user_version),
            sandbox_code_templates::user_desc.eq(&template.user_desc),
            sandbox_code_templates::privacy_apis.eq(&template.privacy_apis),
            sandbox_code_templates::template_type.eq(template_type),
            sandbox_code_templates::create_time.eq(now),
        ))
        .execute(conn)?;
    Ok(template)
}

/// The library, oldest first; only one `template_type` when given.
pub fn list_templates(conn: &mut DbConn, template_type: Option<i32>) -> QueryResult<Vec<Template>> {
    let mut q = sandbox_code_templates::table.select(Template::as_select()).into_boxed();
    if let Some(t) = template_type {
        q = q.filter(sandbox_code_templates::template_type.eq(t));
    }
    q.order(sandbox_code_templates::template_id.asc()).load(conn)
}

pub fn find_template(conn: &mut DbConn, template_id: i64) -> QueryResult<Option<Template>> {
    sandbox_code_templates::table.find(template_id).select(Template::as_select()).first(conn).optional()
}

pub fn delete_template(conn: &mut DbConn, template_id: i64) -> QueryResult<usize> {
    diesel::delete(sandbox_code_templates::table.find(template_id)).execute(conn)
}

// ---- the trial version ----

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = sandbox_code_trials)]
pub struct Trial {
    #[serde(skip)]
    pub appid: String,
    pub template_id: i64,
    pub user_version: String,
    pub user_desc: String,
    pub ext_json: String,
    #[serde(skip)]
    pub privacy_apis: String,
    pub commit_id: String,
    pub committed_at: i64,
    /// When the privacy scan of this commit finishes.
    pub scan_done_at: i64,
}

pub fn find_trial(conn: &mut DbConn, appid: &str) -> QueryResult<Option<Trial>> {
    sandbox_code_trials::table.find(appid).select(Trial::as_select()).first(conn).optional()
}

/// Replaces the mini program's trial version.
pub fn put_trial(conn: &mut DbConn, t: &Trial) -> QueryResult<()> {
    diesel::delete(sandbox_code_trials::table.find(&t.appid)).execute(conn)?;
    diesel::insert_into(sandbox_code_trials::table)
        .values((
            sandbox_code_trials::appid.eq(&t.appid),
            sandbox_code_trials::template_id.eq(t.template_id),
            sandbox_code_trials::user_version.eq(&t.user_version),
            sandbox_code_trials::user_desc.eq(&t.user_desc),
            sandbox_code_trials::ext_json.eq(&t.ext_json),
            sandbox_code_trials::privacy_apis.eq(&t.privacy_apis),
            sandbox_code_trials::commit_id.eq(&t.commit_id),
            sandbox_code_trials::committed_at.eq(t.committed_at),
            sandbox_code_trials::scan_done_at.eq(t.scan_done_at),
        ))
        .execute(conn)
        .map(|_| ())
}

// ---- audits ----

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = sandbox_code_audits)]
pub struct Audit {
    pub auditid: i64,
    #[serde(skip)]
    pub appid: String,
    #[serde(skip)]
    pub seq: i64,
    pub template_id: i64,
    pub user_version: String,
    pub user_desc: String,
    #[serde(skip)]
    pub commit_id: String,
    pub committed_at: i64,
    #[serde(skip)]
    pub item_list: String,
    pub status: i32,
    pub reason: String,
    /// Pipe-joined media ids.
    pub screenshot: String,
    pub expedited: bool,
    pub submit_audit_time: i64,
    pub decided_at: Option<i64>,
    pub released_at: Option<i64>,
}

/// A new submission, under review.
pub fn insert_audit(conn: &mut DbConn, trial: &Trial, auditid: i64, item_list: &str, now: i64) -> QueryResult<Audit> {
    let last: Option<i64> = sandbox_code_audits::table
        .filter(sandbox_code_audits::appid.eq(&trial.appid))
        .select(diesel::dsl::max(sandbox_code_audits::seq))
        .first(conn)?;
    let audit = Audit {
        auditid,
        appid: trial.appid.clone(),
        seq: last.unwrap_or(0) + 1,
        template_id: trial.template_id,
        user_version: trial.user_version.clone(),
        user_desc: trial.user_desc.clone(),
        commit_id: trial.commit_id.clone(),
        committed_at: trial.committed_at,
        item_list: item_list.to_string(),
        status: rules::UNDER_REVIEW,
        reason: String::new(),
        screenshot: String::new(),
        expedited: false,
        submit_audit_time: now,
        decided_at: None,
        released_at: None,
    };
    diesel::insert_into(sandbox_code_audits::table)
        .values((
            sandbox_code_audits::auditid.eq(audit.auditid),
            sandbox_code_audits::appid.eq(&audit.appid),
            sandbox_code_audits::seq.eq(audit.seq),
            sandbox_code_audits::template_id.eq(audit.template_id),
            sandbox_code_audits::user_version.eq(&audit.user_version),
            sandbox_code_audits::user_desc.eq(&audit.user_desc),
            sandbox_code_audits::commit_id.eq(&audit.commit_id),
            sandbox_code_audits::committed_at.eq(audit.committed_at),
            sandbox_code_audits::item_list.eq(&audit.item_list),
            sandbox_code_audits::status.eq(audit.status),
            sandbox_code_audits::submit_audit_time.eq(now),
        ))
        .execute(conn)?;
    Ok(audit)
}

pub fn find_audit(conn: &mut DbConn, auditid: i64) -> QueryResult<Option<Audit>> {
    sandbox_code_audits::table.find(auditid).select(Audit::as_select()).first(conn).optional()
}

/// A mini program's submissions, newest first.
pub fn list_audits(conn: &mut DbConn, appid: &str) -> QueryResult<Vec<Audit>> {
    sandbox_code_audits::table
        .filter(sandbox_code_audits::appid.eq(appid))
        .select(Audit::as_select())
        .order(sandbox_code_audits::seq.desc())
        .load(conn)
}

pub fn latest_audit(conn: &mut DbConn, appid: &str) -> QueryResult<Option<Audit>> {
    sandbox_code_audits::table
        .filter(sandbox_code_audits::appid.eq(appid))
        .select(Audit::as_select())
        .order(sandbox_code_audits::seq.desc())
        .first(conn)
        .optional()
}

/// The submission still waiting for the reviewer (under review or delayed), if any.
pub fn audit_in_review(conn: &mut DbConn, appid: &str) -> QueryResult<Option<Audit>> {
    sandbox_code_audits::table
        .filter(sandbox_code_audits::appid.eq(appid))
        .filter(sandbox_code_audits::status.eq_any([rules::UNDER_REVIEW, rules::DELAYED]))
        .select(Audit::as_select())
        .order(sandbox_code_audits::seq.desc())
        .first(conn)
        .optional()
}

/// Records a decision (or a withdrawal) of a submission.
pub fn set_audit_status(
    conn: &mut DbConn,
    auditid: i64,
    status: i32,
    reason: &str,
    screenshot: &str,
    now: i64,
) -> QueryResult<usize> {
    diesel::update(sandbox_code_audits::table.find(auditid))
        .set((
            sandbox_code_audits::status.eq(status),
            sandbox_code_audits::reason.eq(reason),
            sandbox_code_audits::screenshot.eq(screenshot),
            sandbox_code_audits::decided_at.eq(Some(now)),
        ))
        .execute(conn)
}

pub fn set_expedited(conn: &mut DbConn, auditid: i64) -> QueryResult<usize> {
    diesel::update(sandbox_code_audits::table.find(auditid)).set(sandbox_code_audits::expedited.eq(true)).execute(conn)
}

pub fn set_released(conn: &mut DbConn, auditid: i64, now: i64) -> QueryResult<usize> {
    diesel::update(sandbox_code_audits::table.find(auditid))
        .set(sandbox_code_audits::released_at.eq(Some(now)))
        .execute(conn)
}

// ---- releases ----

pub const RELEASE: &str = "release";
pub const ROLLBACK: &str = "rollback";

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = sandbox_code_releases)]
pub struct Release {
    #[serde(skip)]
    pub id: String,
    #[serde(skip)]
    pub appid: String,
    #[serde(skip)]
    pub seq: i64,
    /// [`RELEASE`] or [`ROLLBACK`].
    pub kind: String,
    pub app_version: i64,
    pub auditid: Option<i64>,
    pub template_id: i64,
    pub user_version: String,
    pub user_desc: String,
    pub commit_time: i64,
    pub release_time: i64,
}

impl Release {
    pub fn entry(&self) -> HistoryEntry {
        HistoryEntry { rollback: self.kind == ROLLBACK, app_version: self.app_version }
    }
}

/// The live version's history, newest (the live one) first.
pub fn history(conn: &mut DbConn, appid: &str) -> QueryResult<Vec<Release>> {
    sandbox_code_releases::table
        .filter(sandbox_code_releases::appid.eq(appid))
        .select(Release::as_select())
        .order(sandbox_code_releases::seq.desc())
        .load(conn)
}

/// What a release or rollback makes live.
pub struct NewRelease<'a> {
    pub kind: &'a str,
    /// `None`: a new version number (a release).
    pub app_version: Option<i64>,
    pub auditid: Option<i64>,
    pub template_id: i64,
    pub user_version: &'a str,
    pub user_desc: &'a str,
    pub commit_time: i64,
}

/// Makes a version live and keeps the newest [`rules::HISTORY_KEPT`] entries.
pub fn insert_release(conn: &mut DbConn, appid: &str, r: &NewRelease<'_>, now: i64) -> QueryResult<i64> {
    let (last_seq, last_version): (Option<i64>, Option<i64>) = sandbox_code_releases::table
        .filter(sandbox_code_releases::appid.eq(appid))
        .select((diesel::dsl::max(sandbox_code_releases::seq), diesel::dsl::max(sandbox_code_releases::app_version)))
        .first(conn)?;
    let seq = last_seq.unwrap_or(0) + 1;
    let app_version = r.app_version.unwrap_or(last_version.unwrap_or(0) + 1);
    diesel::insert_into(sandbox_code_releases::table)
        .values((
            sandbox_code_releases::id.eq(crate::new_id()),
            sandbox_code_releases::appid.eq(appid),
            sandbox_code_releases::seq.eq(seq),
            sandbox_code_releases::kind.eq(r.kind),
            sandbox_code_releases::app_version.eq(app_version),
            sandbox_code_releases::auditid.eq(r.auditid),
            sandbox_code_releases::template_id.eq(r.template_id),
            sandbox_code_releases::user_version.eq(r.user_version),
            sandbox_code_releases::user_desc.eq(r.user_desc),
            sandbox_code_releases::commit_time.eq(r.commit_time),
            sandbox_code_releases::release_time.eq(now),
        ))
        .execute(conn)?;
    diesel::delete(
        sandbox_code_releases::table
            .filter(sandbox_code_releases::appid.eq(appid))
            .filter(sandbox_code_releases::seq.le(seq - rules::HISTORY_KEPT)),
    )
    .execute(conn)?;
    Ok(app_version)
}

// ---- withdrawals ----

pub fn insert_undo(conn: &mut DbConn, appid: &str, auditid: i64, now: i64) -> QueryResult<()> {
    diesel::insert_into(sandbox_code_undos::table)
        .values((
            sandbox_code_undos::id.eq(crate::new_id()),
            sandbox_code_undos::appid.eq(appid),
            sandbox_code_undos::auditid.eq(auditid),
            sandbox_code_undos::at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Withdrawals of the mini program at or after `since`.
pub fn count_undos_since(conn: &mut DbConn, appid: &str, since: i64) -> QueryResult<i64> {
    sandbox_code_undos::table
        .filter(sandbox_code_undos::appid.eq(appid))
        .filter(sandbox_code_undos::at.ge(since))
        .count()
        .get_result(conn)
}

// ---- the reviewer's screenshots ----

/// Creates `n` screenshot media ids of an audit (pipe-joined as WeChat sends them).
pub fn insert_screenshots(conn: &mut DbConn, appid: &str, auditid: i64, n: u8, now: i64) -> QueryResult<Vec<String>> {
    let mut ids = Vec::new();
    for _ in 0..n {
        let media_id = crate::sandbox::store::random_token("", 64);
        diesel::insert_into(sandbox_code_media::table)
            .values((
                sandbox_code_media::media_id.eq(&media_id),
                sandbox_code_media::appid.eq(appid),
                sandbox_code_media::auditid.eq(auditid),
                sandbox_code_media::created_at.eq(now),
            ))
            .execute(conn)?;
        ids.push(media_id);
    }
    Ok(ids)
}

/// Whether the media id is one of the mini program's screenshots.
pub fn media_exists(conn: &mut DbConn, appid: &str, media_id: &str) -> QueryResult<bool> {
    let n: i64 = sandbox_code_media::table
        .filter(sandbox_code_media::media_id.eq(media_id))
        .filter(sandbox_code_media::appid.eq(appid))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

// ---- the platform's quota ----

const QUOTA_ROW: &str = "platform";

#[derive(Debug, Clone, Queryable, Selectable, Serialize, PartialEq, Eq)]
#[diesel(table_name = sandbox_code_quota)]
pub struct Quota {
    #[serde(rename = "rest")]
    pub audit_rest: i32,
    #[serde(rename = "limit")]
    pub audit_limit: i32,
    pub speedup_rest: i32,
    pub speedup_limit: i32,
    #[serde(skip)]
    pub period: String,
}

/// The quota of the China-time month of `now`: a new month starts with the rests at the
/// limits (written back). Call inside a write transaction.
pub fn quota(conn: &mut DbConn, now: i64) -> QueryResult<Quota> {
    let q: Quota = sandbox_code_quota::table.find(QUOTA_ROW).select(Quota::as_select()).first(conn)?;
    let month = rules::china_month(now);
    if q.period == month {
        return Ok(q);
    }
    let fresh = Quota { audit_rest: q.audit_limit, speedup_rest: q.speedup_limit, period: month, ..q };
    set_quota(conn, &fresh)?;
    Ok(fresh)
}

pub fn set_quota(conn: &mut DbConn, q: &Quota) -> QueryResult<usize> {
    diesel::update(sandbox_code_quota::table.find(QUOTA_ROW))
        .set((
            sandbox_code_quota::audit_rest.eq(q.audit_rest),
            sandbox_code_quota::audit_limit.eq(q.audit_limit),
            sandbox_code_quota::speedup_rest.eq(q.speedup_rest),
            sandbox_code_quota::speedup_limit.eq(q.speedup_limit),
            sandbox_code_quota::period.eq(&q.period),
        ))
        .execute(conn)
}

// ---- code reviews in the reviewer's queue ----

/// The pending review of a submission.
pub fn pending_review_of(conn: &mut DbConn, auditid: i64) -> QueryResult<Option<Review>> {
    sandbox_reviews::table
        .filter(sandbox_reviews::kind.eq(CODE))
        .filter(sandbox_reviews::audit_id.eq(auditid))
        .filter(sandbox_reviews::status.eq("pending"))
        .select(Review::as_select())
        .first(conn)
        .optional()
}

/// The mini program's pending code review, if any.
pub fn pending_code_review(conn: &mut DbConn, appid: &str) -> QueryResult<Option<Review>> {
    sandbox_reviews::table
        .filter(sandbox_reviews::kind.eq(CODE))
        .filter(sandbox_reviews::appid.eq(appid))
        .filter(sandbox_reviews::status.eq("pending"))
        .select(Review::as_select())
        .order(sandbox_reviews::created_at.desc())
        .first(conn)
        .optional()
}

/// Marks a pending code review delayed (it stays pending); false when it was not pending.
pub fn delay_review(conn: &mut DbConn, id: &str, reason: &str, now: i64) -> QueryResult<bool> {
    let n = diesel::update(sandbox_reviews::table.find(id).filter(sandbox_reviews::status.eq("pending")))
        .set((sandbox_reviews::reason.eq(reason), sandbox_reviews::delayed_at.eq(Some(now))))
        .execute(conn)?;
    Ok(n == 1)
}
