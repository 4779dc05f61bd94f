//! Release campaigns: the campaign rows, the tenants each targets (in admission order)
//! and how they fare. A started tenant's outcome is not copied here: it is its release
//! row's stage for the campaign's version, read by a join, so the Version card, WeChat's
//! pushes and the campaign can never disagree. Functions take `&mut DbConn`; callers
//! wrap state changes in [`super::write_tx`].
//!
//! Raw SQL here numbers its parameters in the order they first appear: SQLite reads
//! `$n` as a name and numbers names by first appearance, PostgreSQL by `n`.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text};

use super::DbConn;
use super::schema::{campaign_tenants, campaigns, jobs};
use crate::domain::campaign::{Cohort, Counts, Group, Outcome, PauseReason, Phase, State};
use crate::domain::release::Stage;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = campaigns)]
pub struct Campaign {
    pub id: String,
    pub version_id: String,
    pub version: String,
    pub state: String,
    pub active_key: Option<String>,
    pub pause_reason: Option<String>,
    pub phase: String,
    pub after_canary: String,
    pub target: String,
    pub target_list: String,
    pub canary: String,
    pub canary_size: i32,
    pub concurrency: i32,
    pub calls_per_minute: i32,
    pub auto_publish: bool,
    pub total: i32,
    pub quota_rest_at_start: Option<i64>,
    pub quota_checked_at: Option<i64>,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
}

impl Campaign {
    pub fn state(&self) -> State {
        State::parse(&self.state).unwrap_or(State::Finished)
    }

    pub fn pause_reason(&self) -> Option<PauseReason> {
        self.pause_reason.as_deref().and_then(PauseReason::parse)
    }

    pub fn phase(&self) -> Phase {
        Phase::parse(&self.phase)
    }

    /// The key of its call pacer (shared by every instance).
    pub fn pacer_key(&self) -> String {
        format!("campaign:{}", self.id)
    }
}

pub fn get(conn: &mut DbConn, id: &str) -> QueryResult<Option<Campaign>> {
    campaigns::table.find(id).select(Campaign::as_select()).first(conn).optional()
}

/// The campaign a release row was started by, if any (`releases.campaign_id`).
pub fn of_release(conn: &mut DbConn, campaign_id: Option<&str>) -> QueryResult<Option<Campaign>> {
    match campaign_id {
        Some(id) => get(conn, id),
        None => Ok(None),
    }
}

/// The campaign that is not over yet (there is at most one).
pub fn active(conn: &mut DbConn) -> QueryResult<Option<Campaign>> {
    campaigns::table.filter(campaigns::active_key.eq("active")).select(Campaign::as_select()).first(conn).optional()
}

/// The newest campaigns first.
pub fn recent(conn: &mut DbConn, limit: i64) -> QueryResult<Vec<Campaign>> {
    campaigns::table
        .select(Campaign::as_select())
        .order((campaigns::created_at.desc(), campaigns::id.desc()))
        .limit(limit)
        .load(conn)
}

/// A tenant a campaign may target.
#[derive(Debug, Clone, QueryableByName)]
pub struct Target {
    #[diesel(sql_type = Text)]
    pub tenant_id: String,
    #[diesel(sql_type = Text)]
    pub appid: String,
}

/// Every tenant pending the version whose sort key is `sort_key`: a dedicated mini
/// program bound now, nothing on its way (being submitted, in review, approved and not
/// published), and nothing as new released. Oldest binding first.
pub fn pending_targets(conn: &mut DbConn, sort_key: &str) -> QueryResult<Vec<Target>> {
    let free = [Stage::SubmitFailed, Stage::Rejected, Stage::Withdrawn, Stage::Released]
        .map(|s| format!("'{}'", s.as_str()))
        .join(", ");
    diesel::sql_query(format!(
        "SELECT b.tenant_id, b.appid FROM mp_bindings b \
         LEFT JOIN releases r ON r.tenant_id = b.tenant_id AND r.appid = b.appid \
         LEFT JOIN template_versions rv ON rv.id = r.released_version_id \
         WHERE b.status = 'active' \
           AND (r.tenant_id IS NULL OR (r.stage IN ({free}) AND (rv.sort_key IS NULL OR rv.sort_key < $1))) \
         ORDER BY b.bound_at, b.tenant_id"
    ))
    .bind::<Text, _>(sort_key)
    .load(conn)
}

pub struct NewCampaign<'a> {
    pub version_id: &'a str,
    pub version: &'a str,
    pub phase: Phase,
    pub auto_after_canary: bool,
    pub target_list: Option<&'a str>,
    pub canary: &'a str,
    pub canary_size: i32,
    pub concurrency: i32,
    pub calls_per_minute: i32,
    pub auto_publish: bool,
    pub quota_rest: Option<i64>,
    pub created_by: &'a str,
}

/// Inserts the campaign and its targets (the first `canary_size` are the canary).
/// Fails on the unique `active_key` when another campaign is active.
pub fn insert(conn: &mut DbConn, c: &NewCampaign<'_>, targets: &[Target], now: i64) -> QueryResult<String> {
    let id = crate::new_id();
    diesel::insert_into(campaigns::table)
        .values((
            campaigns::id.eq(&id),
            campaigns::version_id.eq(c.version_id),
            campaigns::version.eq(c.version),
            campaigns::state.eq(State::Running.as_str()),
            campaigns::active_key.eq(Some("active")),
            campaigns::phase.eq(c.phase.as_str()),
            campaigns::after_canary.eq(if c.auto_after_canary { "auto" } else { "wait" }),
            campaigns::target.eq(if c.target_list.is_some() { "list" } else { "all" }),
            campaigns::target_list.eq(c.target_list.unwrap_or("")),
            campaigns::canary.eq(c.canary),
            campaigns::canary_size.eq(c.canary_size),
            campaigns::concurrency.eq(c.concurrency),
            campaigns::calls_per_minute.eq(c.calls_per_minute),
            campaigns::auto_publish.eq(c.auto_publish),
            campaigns::total.eq(i32::try_from(targets.len()).unwrap_or(i32::MAX)),
            campaigns::quota_rest_at_start.eq(c.quota_rest),
            campaigns::quota_checked_at.eq(c.quota_rest.map(|_| now)),
            campaigns::created_by.eq(c.created_by),
            campaigns::created_at.eq(now),
            campaigns::updated_at.eq(now),
        ))
        .execute(conn)?;
    let canary = usize::try_from(c.canary_size).unwrap_or(0);
    // One row at a time: batch inserts are not available on the multi-backend
    // connection; in one transaction 10,000 rows take well under a second.
    for (position, t) in targets.iter().enumerate() {
        diesel::insert_into(campaign_tenants::table)
            .values((
                campaign_tenants::campaign_id.eq(&id),
                campaign_tenants::tenant_id.eq(&t.tenant_id),
                campaign_tenants::appid.eq(&t.appid),
                campaign_tenants::position.eq(i32::try_from(position).unwrap_or(i32::MAX)),
                campaign_tenants::cohort.eq(if position < canary { "canary" } else { "rest" }),
                campaign_tenants::state.eq("waiting"),
                campaign_tenants::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(id)
}

/// Moves the campaign to `to` if it is in one of `from`; returns the rows changed (0:
/// someone else moved it first). A final state frees the active slot.
pub fn set_state(
    conn: &mut DbConn,
    id: &str,
    from: &[State],
    to: State,
    pause_reason: Option<PauseReason>,
    now: i64,
) -> QueryResult<usize> {
    let from: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
    let finished = if to.is_active() { None } else { Some(now) };
    diesel::update(campaigns::table.find(id).filter(campaigns::state.eq_any(from)))
        .set((
            campaigns::state.eq(to.as_str()),
            campaigns::active_key.eq(if to.is_active() { Some("active") } else { None }),
            campaigns::pause_reason.eq(pause_reason.map(PauseReason::as_str)),
            campaigns::finished_at.eq(finished),
            campaigns::updated_at.eq(now),
        ))
        .execute(conn)
}

pub fn set_phase(conn: &mut DbConn, id: &str, phase: Phase, now: i64) -> QueryResult<usize> {
    diesel::update(campaigns::table.find(id))
        .set((campaigns::phase.eq(phase.as_str()), campaigns::updated_at.eq(now)))
        .execute(conn)
}

pub fn note_quota(conn: &mut DbConn, id: &str, now: i64) -> QueryResult<usize> {
    diesel::update(campaigns::table.find(id)).set(campaigns::quota_checked_at.eq(Some(now))).execute(conn)
}

#[derive(QueryableByName)]
struct CountRow {
    #[diesel(sql_type = Text)]
    cohort: String,
    #[diesel(sql_type = Text)]
    state: String,
    #[diesel(sql_type = Nullable<Text>)]
    stage: Option<String>,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// How many targeted tenants have each outcome, per cohort.
pub fn counts(conn: &mut DbConn, c: &Campaign) -> QueryResult<Counts> {
    let rows: Vec<CountRow> = diesel::sql_query(
        "SELECT ct.cohort, ct.state, r.stage, COUNT(*) AS n FROM campaign_tenants ct \
         LEFT JOIN releases r ON r.tenant_id = ct.tenant_id AND r.appid = ct.appid AND r.version_id = $1 \
         WHERE ct.campaign_id = $2 GROUP BY ct.cohort, ct.state, r.stage",
    )
    .bind::<Text, _>(&c.version_id)
    .bind::<Text, _>(&c.id)
    .load(conn)?;
    let mut counts = Counts::default();
    for r in rows {
        counts.add(Cohort::parse(&r.cohort), Outcome::of(&r.state, r.stage.as_deref()), r.n);
    }
    Ok(counts)
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = campaign_tenants)]
pub struct CampaignTenant {
    pub campaign_id: String,
    pub tenant_id: String,
    pub appid: String,
    pub position: i32,
    pub cohort: String,
    pub state: String,
    pub note: Option<String>,
    pub attempts: i32,
    pub started_at: Option<i64>,
    pub updated_at: i64,
}

/// The next waiting tenants the phase admits, in order.
pub fn next_waiting(conn: &mut DbConn, id: &str, phase: Phase, limit: i64) -> QueryResult<Vec<CampaignTenant>> {
    let cohorts: &[&str] = match phase {
        Phase::Canary => &["canary"],
        Phase::Rest => &["canary", "rest"],
    };
    campaign_tenants::table
        .filter(campaign_tenants::campaign_id.eq(id))
        .filter(campaign_tenants::state.eq("waiting"))
        .filter(campaign_tenants::cohort.eq_any(cohorts))
        .order(campaign_tenants::position.asc())
        .limit(limit)
        .select(CampaignTenant::as_select())
        .load(conn)
}

macro_rules! target {
    ($id:expr, $tenant_id:expr) => {
        campaign_tenants::table
            .filter(campaign_tenants::campaign_id.eq($id))
            .filter(campaign_tenants::tenant_id.eq($tenant_id))
    };
}

/// A waiting tenant is started (its submission was queued). 0 when it was not waiting.
pub fn mark_started(conn: &mut DbConn, id: &str, tenant_id: &str, now: i64) -> QueryResult<usize> {
    diesel::update(target!(id, tenant_id).filter(campaign_tenants::state.eq("waiting")))
        .set((
            campaign_tenants::state.eq("started"),
            campaign_tenants::note.eq(None::<String>),
            campaign_tenants::attempts.eq(campaign_tenants::attempts + 1),
            campaign_tenants::started_at.eq(Some(now)),
            campaign_tenants::updated_at.eq(now),
        ))
        .execute(conn)
}

/// A tenant just taken off the queue is not submitted by the campaign after all, and why.
pub fn mark_skipped(conn: &mut DbConn, id: &str, tenant_id: &str, note: &str, now: i64) -> QueryResult<usize> {
    diesel::update(target!(id, tenant_id).filter(campaign_tenants::state.eq_any(["waiting", "started"])))
        .set((
            campaign_tenants::state.eq("skipped"),
            campaign_tenants::note.eq(Some(note)),
            campaign_tenants::updated_at.eq(now),
        ))
        .execute(conn)
}

/// A started tenant whose submission was abandoned before review (the campaign was
/// cancelled).
pub fn mark_cancelled(conn: &mut DbConn, id: &str, tenant_id: &str, now: i64) -> QueryResult<usize> {
    diesel::update(target!(id, tenant_id))
        .set((campaign_tenants::state.eq("cancelled"), campaign_tenants::updated_at.eq(now)))
        .execute(conn)
}

/// Every waiting tenant is cancelled.
pub fn cancel_waiting(conn: &mut DbConn, id: &str, now: i64) -> QueryResult<usize> {
    diesel::update(
        campaign_tenants::table
            .filter(campaign_tenants::campaign_id.eq(id))
            .filter(campaign_tenants::state.eq("waiting")),
    )
    .set((campaign_tenants::state.eq("cancelled"), campaign_tenants::updated_at.eq(now)))
    .execute(conn)
}

/// "Retry failed", the part that submits again: the started tenants whose submission
/// stopped before review wait again. Returns how many.
pub fn requeue_not_submitted(conn: &mut DbConn, c: &Campaign, now: i64) -> QueryResult<usize> {
    diesel::sql_query(
        "UPDATE campaign_tenants SET state = 'waiting', updated_at = $1 \
         WHERE campaign_id = $2 AND state = 'started' AND EXISTS (SELECT 1 FROM releases r \
           WHERE r.tenant_id = campaign_tenants.tenant_id AND r.appid = campaign_tenants.appid \
             AND r.version_id = $3 AND r.stage = 'submit_failed')",
    )
    .bind::<BigInt, _>(now)
    .bind::<Text, _>(&c.id)
    .bind::<Text, _>(&c.version_id)
    .execute(conn)
}

/// The started tenants whose release failed ("Retry failed" publishes them again).
pub fn publish_failed(conn: &mut DbConn, c: &Campaign) -> QueryResult<Vec<Target>> {
    diesel::sql_query(
        "SELECT ct.tenant_id, ct.appid FROM campaign_tenants ct \
         JOIN releases r ON r.tenant_id = ct.tenant_id AND r.appid = ct.appid AND r.version_id = $1 \
         WHERE ct.campaign_id = $2 AND ct.state = 'started' AND r.stage = 'publish_failed' ORDER BY ct.position",
    )
    .bind::<Text, _>(&c.version_id)
    .bind::<Text, _>(&c.id)
    .load(conn)
}

/// The active campaign for `version_id` in which the tenant waits, if any.
pub fn waiting_in_active(conn: &mut DbConn, tenant_id: &str, version_id: &str) -> QueryResult<Option<String>> {
    campaign_tenants::table
        .inner_join(campaigns::table)
        .filter(campaigns::active_key.eq("active"))
        .filter(campaigns::version_id.eq(version_id))
        .filter(campaign_tenants::tenant_id.eq(tenant_id))
        .filter(campaign_tenants::state.eq("waiting"))
        .select(campaigns::id)
        .first(conn)
        .optional()
}

/// Audit quota the active campaign still needs for tenants other than `tenant_id`: its
/// waiting tenants (those being submitted already took theirs into account at WeChat).
pub fn reserved_for_others(conn: &mut DbConn, tenant_id: &str) -> QueryResult<i64> {
    campaign_tenants::table
        .inner_join(campaigns::table)
        .filter(campaigns::active_key.eq("active"))
        .filter(campaign_tenants::state.eq("waiting"))
        .filter(campaign_tenants::tenant_id.ne(tenant_id))
        .count()
        .get_result(conn)
}

/// The queued jobs of the campaign's started tenants (held while it was paused) run now.
pub fn wake_held_jobs(conn: &mut DbConn, id: &str, now: i64) -> QueryResult<usize> {
    diesel::sql_query(
        "UPDATE jobs SET run_at = $1, updated_at = $1 WHERE status = 'queued' AND run_at > $1 AND ( \
           unique_key IN (SELECT 'submit_update:' || appid FROM campaign_tenants WHERE campaign_id = $2 AND state = 'started') \
           OR unique_key IN (SELECT 'publish_update:' || appid FROM campaign_tenants WHERE campaign_id = $2 AND state = 'started'))",
    )
    .bind::<BigInt, _>(now)
    .bind::<Text, _>(id)
    .execute(conn)
}

/// The campaign's driver runs now (something it waits for happened).
pub fn wake_driver(conn: &mut DbConn, id: &str, now: i64) -> QueryResult<usize> {
    diesel::update(
        jobs::table
            .filter(jobs::unique_key.eq(format!("run_campaign:{id}")))
            .filter(jobs::status.eq("queued"))
            .filter(jobs::run_at.gt(now)),
    )
    .set((jobs::run_at.eq(now), jobs::updated_at.eq(now)))
    .execute(conn)
}

/// A targeted tenant as the campaign's table shows it.
#[derive(Debug, Clone, QueryableByName)]
pub struct TenantRow {
    #[diesel(sql_type = Text)]
    pub tenant_id: String,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Text)]
    pub appid: String,
    #[diesel(sql_type = Integer)]
    pub position: i32,
    #[diesel(sql_type = Text)]
    pub cohort: String,
    #[diesel(sql_type = Text)]
    pub state: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub note: Option<String>,
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    #[diesel(sql_type = Nullable<Text>)]
    pub stage: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub step: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub failure_kind: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub failure_code: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    pub blockers: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub reason: Option<String>,
    #[diesel(sql_type = BigInt)]
    pub changed_at: i64,
}

impl TenantRow {
    pub fn outcome(&self) -> Outcome {
        Outcome::of(&self.state, self.stage.as_deref())
    }
}

/// The SQL condition that picks the tenants of one outcome (`ct` the campaign tenant,
/// `r` its release row for the campaign's version). Only constants are spliced in.
fn outcome_condition(o: Outcome) -> String {
    let stage = |s: Stage| format!("(ct.state = 'started' AND r.stage = '{}')", s.as_str());
    match o {
        Outcome::Waiting => "ct.state = 'waiting'".into(),
        Outcome::Skipped => "ct.state = 'skipped'".into(),
        Outcome::Cancelled => "ct.state = 'cancelled'".into(),
        Outcome::Superseded => "(ct.state = 'started' AND r.stage IS NULL)".into(),
        Outcome::Submitting => stage(Stage::Submitting),
        Outcome::NotSubmitted => stage(Stage::SubmitFailed),
        Outcome::UnderReview => stage(Stage::UnderReview),
        Outcome::Delayed => stage(Stage::Delayed),
        Outcome::Approved => stage(Stage::Approved),
        Outcome::Rejected => stage(Stage::Rejected),
        Outcome::Withdrawn => stage(Stage::Withdrawn),
        Outcome::PublishFailed => stage(Stage::PublishFailed),
        Outcome::Released => stage(Stage::Released),
    }
}

/// One page of the campaign's tenants in admission order, optionally of one group.
pub fn tenant_rows(
    conn: &mut DbConn,
    c: &Campaign,
    group: Option<Group>,
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<TenantRow>> {
    let filter = match group {
        Some(g) => {
            let parts: Vec<String> = g.outcomes().into_iter().map(outcome_condition).collect();
            format!(" AND ({})", parts.join(" OR "))
        }
        None => String::new(),
    };
    diesel::sql_query(format!(
        "SELECT ct.tenant_id, t.name, ct.appid, ct.position, ct.cohort, ct.state, ct.note, ct.attempts, \
           r.stage, r.step, r.failure_kind, r.failure_code, r.blockers, r.reason, \
           COALESCE(r.stage_changed_at, ct.updated_at) AS changed_at \
         FROM campaign_tenants ct JOIN tenants t ON t.id = ct.tenant_id \
         LEFT JOIN releases r ON r.tenant_id = ct.tenant_id AND r.appid = ct.appid AND r.version_id = $1 \
         WHERE ct.campaign_id = $2{filter} ORDER BY ct.position LIMIT $3 OFFSET $4"
    ))
    .bind::<Text, _>(&c.version_id)
    .bind::<Text, _>(&c.id)
    .bind::<BigInt, _>(limit)
    .bind::<BigInt, _>(offset)
    .load(conn)
}
