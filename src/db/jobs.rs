//! The durable job queue. Jobs survive restarts; a worker claims one at a time.
//! PostgreSQL: `FOR UPDATE SKIP LOCKED`, so many workers claim without waiting on each
//! other. SQLite: the claim runs in a `BEGIN IMMEDIATE` transaction, which serialises
//! claimers across processes sharing the file.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use serde::{Serialize, de::DeserializeOwned};

use super::DbConn;
use super::schema::jobs;

/// A kind of background job: its payload type and its stored name. The kinds are defined
/// here, beside the table, so any layer can queue one; only the runner (`crate::worker`)
/// knows what each one does (the way crates.io's `BackgroundJob` trait is laid out).
pub trait JobKind: Serialize + DeserializeOwned {
    /// The name stored in `jobs.kind`; never change it once jobs of the kind exist.
    const NAME: &'static str;
}

/// Get a component_access_token: `force` refreshes a token that is still good (the
/// refresh planned before expiry); otherwise one is fetched only when none is usable
/// (the first ticket has arrived).
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct RefreshComponentToken {
    #[serde(default)]
    pub force: bool,
}

impl JobKind for RefreshComponentToken {
    const NAME: &'static str = "refresh_component_token";
}

/// Refresh one authorizer's access token.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct RefreshAuthorizerToken {
    pub appid: String,
}

impl JobKind for RefreshAuthorizerToken {
    const NAME: &'static str = "refresh_authorizer_token";
}

/// Fetch an authorizer's details and permission sets again (after an authorization event).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct SyncAuthorizer {
    pub appid: String,
}

impl JobKind for SyncAuthorizer {
    const NAME: &'static str = "sync_authorizer";
}

/// Complete a tenant's authorization whose `authorized` push arrived before the
/// administrator came back to the console.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct CompleteTenantAuthorization {
    pub state: String,
    pub auth_code: String,
}

impl JobKind for CompleteTenantAuthorization {
    const NAME: &'static str = "complete_tenant_authorization";
}

/// Check a tenant's requirements checklist against WeChat (after an event that changes
/// the answer, after binding, or as part of the background re-check).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct CheckRequirements {
    pub tenant_id: String,
}

impl JobKind for CheckRequirements {
    const NAME: &'static str = "check_requirements";
}

/// One round of the background re-check: queues the stalest tenants' checks within the
/// configured rate and queues the next round.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct SweepRequirements;

impl JobKind for SweepRequirements {
    const NAME: &'static str = "sweep_requirements";
}

/// Re-evaluate every tenant's checklist from its stored snapshot (the operator changed
/// the configuration).
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct ReevaluateRequirements;

impl JobKind for ReevaluateRequirements {
    const NAME: &'static str = "reevaluate_requirements";
}

/// "Submit Update" for one tenant's mini program: the pre-flight, the commit, the wait for
/// the code privacy scan and the submission, one step after another; the step reached is
/// kept in the tenant's release row, so a restarted job goes on from there.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct SubmitUpdate {
    pub tenant_id: String,
    pub appid: String,
}

impl JobKind for SubmitUpdate {
    const NAME: &'static str = "submit_update";
}

/// One round of review reconciliation: asks WeChat about submissions whose result is
/// overdue (its push may have been lost), then queues the next round.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct ReconcileReviews;

impl JobKind for ReconcileReviews {
    const NAME: &'static str = "reconcile_reviews";
}

/// One release campaign's driver: admits waiting tenants within the concurrency cap,
/// moves from the canary to the rest, notices the end, and, paused for the audit
/// quota, asks now and then whether it was renewed. Unique per campaign.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct RunCampaign {
    pub campaign_id: String,
}

impl JobKind for RunCampaign {
    const NAME: &'static str = "run_campaign";
}

/// "Publish Update" done for the tenant: a campaign with auto-publish, once WeChat
/// approved the tenant's submission. Unique per AppID.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct PublishUpdate {
    pub tenant_id: String,
    pub appid: String,
}

impl JobKind for PublishUpdate {
    const NAME: &'static str = "publish_update";
}

/// Ask WeChat Pay where a tenant's sub-merchant application is; runs again while WeChat
/// Pay works on it. Unique per tenant.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct PollApplication {
    pub tenant_id: String,
}

impl JobKind for PollApplication {
    const NAME: &'static str = "poll_wechatpay_application";
}

/// Refund a paid self-test payment (the 0.01 proves the way in; it goes back at once).
/// Unique per payment.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct RefundSelfTest {
    pub payment_id: String,
}

impl JobKind for RefundSelfTest {
    const NAME: &'static str = "refund_self_test";
}

/// Ask WeChat Pay or Alipay what became of a payment attempt once its window has passed:
/// collect it when paid (a lost notification), close it when not. Unique per payment.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct ReconcilePayment {
    pub payment_id: String,
}

impl JobKind for ReconcilePayment {
    const NAME: &'static str = "reconcile_payment";
}

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    Queued,
    Running,
    Done,
    Failed,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }
}

impl TryFrom<String> for JobStatus {
    type Error = crate::domain::binding::UnknownValue;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Ok(match s.as_str() {
            "queued" => Self::Queued,
            "running" => Self::Running,
            "done" => Self::Done,
            "failed" => Self::Failed,
            _ => return Err(crate::domain::binding::UnknownValue(s)),
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = jobs)]
pub struct Job {
    pub id: String,
    pub kind: String,
    pub payload: String,
    pub unique_key: Option<String>,
    /// Stored text; read it typed with [`Job::status`].
    pub status: String,
    pub run_at: i64,
    pub attempts: i32,
    pub max_attempts: i32,
    pub locked_by: Option<String>,
    pub locked_until: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Job {
    /// The status, typed (the column's CHECK keeps it to the known set).
    pub fn status(&self) -> JobStatus {
        JobStatus::try_from(self.status.clone()).unwrap_or(JobStatus::Failed)
    }
}

/// Queues a job. With a `unique` key (scoped to the kind), a job with the same key that
/// is still queued or running makes this a no-op (returns false).
pub fn enqueue<J: JobKind>(
    conn: &mut DbConn,
    job: &J,
    unique: Option<&str>,
    run_at: i64,
    now: i64,
) -> QueryResult<bool> {
    let payload = serde_json::to_string(job).map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    let unique_key = unique.map(|u| format!("{}:{u}", J::NAME));
    enqueue_raw(conn, J::NAME, &payload, unique_key.as_deref(), run_at, now)
}

fn enqueue_raw(
    conn: &mut DbConn,
    kind: &str,
    payload: &str,
    unique_key: Option<&str>,
    run_at: i64,
    now: i64,
) -> QueryResult<bool> {
    let inserted = diesel::sql_query(
        "INSERT INTO jobs (id, kind, payload, unique_key, status, run_at, attempts, max_attempts, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 'queued', $5, 0, 5, $6, $6) ON CONFLICT (unique_key) DO NOTHING",
    )
    .bind::<Text, _>(crate::new_id())
    .bind::<Text, _>(kind)
    .bind::<Text, _>(payload)
    .bind::<Nullable<Text>, _>(unique_key)
    .bind::<BigInt, _>(run_at)
    .bind::<BigInt, _>(now)
    .execute(conn)?;
    Ok(inserted == 1)
}

/// How many jobs of `kind` are queued or running.
pub fn pending_of_kind(conn: &mut DbConn, kind: &str) -> QueryResult<i64> {
    jobs::table.filter(jobs::kind.eq(kind)).filter(jobs::status.eq_any(["queued", "running"])).count().get_result(conn)
}

/// Claims the next due job for `worker`, or None.
pub fn claim(conn: &mut DbConn, worker: &str, now: i64, lock_secs: i64) -> QueryResult<Option<Job>> {
    // Jobs whose worker died mid-run go back to the queue.
    diesel::update(jobs::table.filter(jobs::status.eq("running")).filter(jobs::locked_until.lt(now)))
        .set((jobs::status.eq("queued"), jobs::locked_by.eq(None::<String>), jobs::updated_at.eq(now)))
        .execute(conn)?;
    match conn {
        #[cfg(feature = "postgres")]
        super::DbConn::Postgres(_) => {
            let claimed: Vec<Job> = diesel::sql_query(
                "UPDATE jobs SET status = 'running', locked_by = $1, locked_until = $2, attempts = attempts + 1, updated_at = $3 \
                 WHERE id = (SELECT id FROM jobs WHERE status = 'queued' AND run_at <= $3 \
                             ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) \
                 RETURNING *",
            )
            .bind::<Text, _>(worker)
            .bind::<BigInt, _>(now + lock_secs)
            .bind::<BigInt, _>(now)
            .load(conn)?;
            Ok(claimed.into_iter().next())
        }
        #[allow(unreachable_patterns)]
        _ => super::write_tx(conn, |conn| {
            let next: Option<Job> = jobs::table
                .filter(jobs::status.eq("queued"))
                .filter(jobs::run_at.le(now))
                .order((jobs::run_at.asc(), jobs::id.asc()))
                .select(Job::as_select())
                .first(conn)
                .optional()?;
            let Some(job) = next else { return Ok(None) };
            diesel::update(jobs::table.find(&job.id).filter(jobs::status.eq("queued")))
                .set((
                    jobs::status.eq("running"),
                    jobs::locked_by.eq(worker),
                    jobs::locked_until.eq(now + lock_secs),
                    jobs::attempts.eq(jobs::attempts + 1),
                    jobs::updated_at.eq(now),
                ))
                .execute(conn)?;
            jobs::table.find(&job.id).select(Job::as_select()).first(conn).optional()
        }),
    }
}

/// Done: the unique key is freed so the same kind of job can be queued again.
pub fn complete(conn: &mut DbConn, id: &str, now: i64) -> QueryResult<usize> {
    diesel::update(jobs::table.find(id))
        .set((
            jobs::status.eq("done"),
            jobs::unique_key.eq(None::<String>),
            jobs::locked_by.eq(None::<String>),
            jobs::last_error.eq(None::<String>),
            jobs::updated_at.eq(now),
        ))
        .execute(conn)
}

/// Failed: retried later with backoff, or given up after `max_attempts`.
pub fn fail(conn: &mut DbConn, job: &Job, error: &str, now: i64) -> QueryResult<usize> {
    let give_up = job.attempts >= job.max_attempts;
    let backoff = 10i64.saturating_mul(1i64 << job.attempts.clamp(0, 10));
    diesel::update(jobs::table.find(&job.id))
        .set((
            jobs::status.eq(if give_up { "failed" } else { "queued" }),
            jobs::unique_key.eq(if give_up { None } else { job.unique_key.clone() }),
            jobs::run_at.eq(now + backoff),
            jobs::locked_by.eq(None::<String>),
            jobs::last_error.eq(Some(error)),
            jobs::updated_at.eq(now),
        ))
        .execute(conn)
}

/// Puts a running job back in the queue to run again at `run_at`, without counting the
/// attempt: the job is waiting on WeChat (the code privacy scan), not failing. Its unique
/// key stays, so nobody queues a second one meanwhile.
pub fn reschedule(conn: &mut DbConn, id: &str, run_at: i64, now: i64) -> QueryResult<usize> {
    diesel::update(jobs::table.find(id).filter(jobs::status.eq("running")))
        .set((
            jobs::status.eq("queued"),
            jobs::run_at.eq(run_at),
            jobs::locked_by.eq(None::<String>),
            jobs::locked_until.eq(None::<i64>),
            jobs::attempts.eq(jobs::attempts - 1),
            jobs::updated_at.eq(now),
        ))
        .execute(conn)
}

/// The worker running a job still has it: its lock is extended to `until` (a heartbeat,
/// so a short lock finds a dead worker's job soon without taking a live one's).
pub fn extend_lock(conn: &mut DbConn, id: &str, worker: &str, until: i64) -> QueryResult<usize> {
    diesel::update(jobs::table.find(id).filter(jobs::status.eq("running")).filter(jobs::locked_by.eq(worker)))
        .set(jobs::locked_until.eq(until))
        .execute(conn)
}

/// Gives a claimed job back to the queue untouched (the worker is stopping): the attempt
/// it used is returned too, so a shutdown never counts against the job.
pub fn release(conn: &mut DbConn, id: &str, worker: &str, now: i64) -> QueryResult<usize> {
    diesel::update(jobs::table.find(id).filter(jobs::status.eq("running")).filter(jobs::locked_by.eq(worker)))
        .set((
            jobs::status.eq("queued"),
            jobs::locked_by.eq(None::<String>),
            jobs::locked_until.eq(None::<i64>),
            jobs::attempts.eq(jobs::attempts - 1),
            jobs::updated_at.eq(now),
        ))
        .execute(conn)
}

pub fn recent(conn: &mut DbConn, limit: i64) -> QueryResult<Vec<Job>> {
    jobs::table.select(Job::as_select()).order((jobs::updated_at.desc(), jobs::id.desc())).limit(limit).load(conn)
}

pub fn count_by_status(conn: &mut DbConn, status: &str) -> QueryResult<i64> {
    jobs::table.filter(jobs::status.eq(status)).count().get_result(conn)
}

/// How many queued jobs are due at `now`, and the `run_at` of the oldest of them (the
/// queue's age for `/metrics`).
pub fn due_summary(conn: &mut DbConn, now: i64) -> QueryResult<(i64, Option<i64>)> {
    use diesel::dsl::{count_star, min};
    jobs::table
        .filter(jobs::status.eq("queued"))
        .filter(jobs::run_at.le(now))
        .select((count_star(), min(jobs::run_at)))
        .first(conn)
}
