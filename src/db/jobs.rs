//! The durable job queue. Jobs survive restarts; a worker claims one at a time.
//! PostgreSQL: `FOR UPDATE SKIP LOCKED`, so many workers claim without waiting on each
//! other. SQLite: the claim runs in a `BEGIN IMMEDIATE` transaction, which serialises
//! claimers across processes sharing the file.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};

use super::DbConn;
use super::schema::jobs;

#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = jobs)]
pub struct Job {
    pub id: String,
    pub kind: String,
    pub payload: String,
    pub unique_key: Option<String>,
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

/// Queues a job. With a `unique_key`, a job with the same key that is still queued or
/// running makes this a no-op (returns false).
pub fn enqueue(
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

pub fn recent(conn: &mut DbConn, limit: i64) -> QueryResult<Vec<Job>> {
    jobs::table.select(Job::as_select()).order((jobs::updated_at.desc(), jobs::id.desc())).limit(limit).load(conn)
}

pub fn count_by_status(conn: &mut DbConn, status: &str) -> QueryResult<i64> {
    jobs::table.filter(jobs::status.eq(status)).count().get_result(conn)
}
