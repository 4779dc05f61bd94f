//! The background worker: claims due jobs from the `jobs` table and runs them. It is the
//! one place that knows what each job kind (`db::jobs`) does.
//!
//! Jobs survive restarts; a job whose worker died is reclaimed when its lock expires.
//! On shutdown the worker stops claiming; a running job gets a grace period to finish,
//! and is otherwise given back to the queue, so nothing is left claimed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::watch;

use crate::db::jobs::{self, JobKind};
use crate::db::{self, DbError, DbPool};
use crate::services::platform::{Platform, PlatformError};
use crate::services::releases::{self, Next, Timing};
use crate::services::requirements::{self, Pace};
use crate::services::{authorization, campaigns};

/// Tells a running worker to stop, and waits until it has.
pub struct WorkerHandle {
    stop: Arc<watch::Sender<bool>>,
    task: tokio::task::JoinHandle<()>,
}

impl WorkerHandle {
    /// Something that asks the worker to stop, to be used while the handle waits elsewhere.
    pub fn stopper(&self) -> Arc<watch::Sender<bool>> {
        self.stop.clone()
    }

    /// Stops claiming; lets a running job finish within `grace`, else releases it; returns
    /// when the worker has ended.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "the job worker ended abnormally");
        }
    }
}

/// The worker's sign of life, for `GET /readyz`: the loop notes the time on every turn
/// (at least once per poll interval, even while every slot is busy) and marks itself
/// stopped when it ends. Shared with the HTTP side as app data.
#[derive(Debug)]
pub struct Heartbeat {
    last_ms: AtomicI64,
    stopped: AtomicBool,
    stale_after: Duration,
}

fn unix_ms(at: SystemTime) -> i64 {
    at.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

impl Heartbeat {
    /// A worker polling every `poll` is stale after ten polls (at least 15 s): a turn
    /// that failed to claim waits five.
    pub fn new(poll: Duration) -> Self {
        Self {
            last_ms: AtomicI64::new(unix_ms(SystemTime::now())),
            stopped: AtomicBool::new(false),
            stale_after: (poll * 10).max(Duration::from_secs(15)),
        }
    }

    fn beat(&self) {
        self.last_ms.store(unix_ms(SystemTime::now()), Ordering::Relaxed);
    }

    fn stop(&self) {
        self.stopped.store(true, Ordering::Relaxed);
    }

    /// Alive at `now`, or why not (in words for the operator reading `/readyz`).
    pub fn check(&self, now: SystemTime) -> Result<(), String> {
        if self.stopped.load(Ordering::Relaxed) {
            return Err("the job worker has stopped".into());
        }
        let silent_ms = unix_ms(now) - self.last_ms.load(Ordering::Relaxed);
        if silent_ms > self.stale_after.as_millis() as i64 {
            return Err(format!(
                "the job worker has not run for {} s (more than {} s)",
                silent_ms / 1000,
                self.stale_after.as_secs()
            ));
        }
        Ok(())
    }
}

/// How the worker runs: `idle` is the pause when nothing is due; `grace` how long a
/// running job may take to finish once shutdown is asked for; `slots` how many jobs run
/// at once; `lease_secs` how long a claimed job stays locked between heartbeats.
#[derive(Debug, Clone, Copy)]
pub struct WorkerSettings {
    pub idle: Duration,
    pub grace: Duration,
    pub slots: usize,
    pub lease_secs: i64,
}

/// Starts the worker.
pub fn start(
    pool: DbPool,
    platform: Arc<Platform>,
    wallet: Arc<crate::services::wallet::Wallet>,
    settings: WorkerSettings,
    pace: Pace,
    timing: Timing,
    heartbeat: Arc<Heartbeat>,
) -> WorkerHandle {
    let (stop, stopped) = watch::channel(false);
    let runner = Arc::new(Runner { pool, platform, wallet, pace, timing, lease_secs: settings.lease_secs.max(2) });
    let task = tokio::spawn(run(runner, settings, stopped, heartbeat));
    WorkerHandle { stop: Arc::new(stop), task }
}

/// What the jobs need.
struct Runner {
    pool: DbPool,
    platform: Arc<Platform>,
    wallet: Arc<crate::services::wallet::Wallet>,
    pace: Pace,
    timing: Timing,
    lease_secs: i64,
}

/// The background re-check queues one minute of checks at a time.
const SWEEP_WINDOW: Duration = Duration::from_secs(60);

/// Claims jobs while a slot is free and runs each in its own task; a job that ends
/// frees its slot at once. On stop, claiming ends and the running jobs finish (or are
/// released) within the grace period.
async fn run(runner: Arc<Runner>, settings: WorkerSettings, mut stop: watch::Receiver<bool>, alive: Arc<Heartbeat>) {
    let worker = format!("worker-{}", crate::new_id());
    tracing::info!(worker = %worker, slots = settings.slots, "job worker started");
    let pool = runner.pool.clone();
    if runner.pace.calls_per_minute > 0 {
        // The first round of the background re-check; each round queues the next.
        let queued = db::run(&pool, |c| -> Result<_, DbError> {
            Ok(requirements::start_sweeping(c, SWEEP_WINDOW, crate::now())?)
        })
        .await;
        if let Err(e) = queued {
            tracing::warn!(error = %e, "could not queue the requirements re-check");
        }
    }
    // The review reconciliation: each round queues the next.
    let timing = runner.timing;
    let queued =
        db::run(&pool, move |c| -> Result<_, DbError> { Ok(releases::queue_reconcile(c, timing, crate::now())?) })
            .await;
    if let Err(e) = queued {
        tracing::warn!(error = %e, "could not queue the review reconciliation");
    }
    let slots = settings.slots.max(1);
    let mut running = tokio::task::JoinSet::new();
    while !*stop.borrow() {
        alive.beat();
        // Reap what has ended, without waiting.
        while running.try_join_next().is_some() {}
        let pause = if running.len() >= slots {
            None
        } else {
            match claim(&pool, &worker, runner.lease_secs).await {
                Ok(Some(job)) => {
                    use tracing::Instrument;
                    let span =
                        tracing::info_span!("job", job.id = %job.id, job.kind = %job.kind, job.attempt = job.attempts);
                    let (runner, worker, stop) = (runner.clone(), worker.clone(), stop.clone());
                    running.spawn(
                        async move { run_one(&runner, &worker, job, settings.grace, stop).await }.instrument(span),
                    );
                    continue;
                }
                Ok(None) => Some(settings.idle),
                Err(e) => {
                    tracing::warn!(error = %e, "job worker could not claim a job");
                    Some(settings.idle * 5)
                }
            }
        };
        // Wait for a slot to free, the pause to pass, or the stop; with every slot busy,
        // still turn once per poll interval, for the heartbeat.
        tokio::select! {
            _ = running.join_next(), if !running.is_empty() => {}
            _ = tokio::time::sleep(pause.unwrap_or(settings.idle)) => {}
            _ = stop.changed() => {}
        }
    }
    alive.stop();
    // Each running job sees the stop itself and finishes or is released in its grace.
    while running.join_next().await.is_some() {}
    tracing::info!("job worker stopped");
}

async fn claim(pool: &DbPool, worker: &str, lease_secs: i64) -> Result<Option<jobs::Job>, DbError> {
    let worker = worker.to_string();
    db::run(pool, move |c| -> Result<_, DbError> { Ok(jobs::claim(c, &worker, crate::now(), lease_secs)?) }).await
}

/// Renews a running job's lock every third of the lease, for as long as it runs.
async fn heartbeat(pool: &DbPool, job_id: &str, worker: &str, lease_secs: i64) {
    let every = Duration::from_secs(u64::try_from(lease_secs / 3).unwrap_or(1).max(1));
    loop {
        tokio::time::sleep(every).await;
        let (id, worker) = (job_id.to_string(), worker.to_string());
        let renewed = db::run(pool, move |c| -> Result<_, DbError> {
            Ok(jobs::extend_lock(c, &id, &worker, crate::now() + lease_secs)?)
        })
        .await;
        if let Err(e) = renewed {
            tracing::warn!(error = %e, "could not renew the job's lock");
        }
    }
}

async fn run_one(runner: &Runner, worker: &str, job: jobs::Job, grace: Duration, mut stop: watch::Receiver<bool>) {
    let pool = &runner.pool;
    let started = Instant::now();
    let running = job.clone();
    let work = async {
        tokio::select! {
            result = execute(runner, &running) => result,
            _ = heartbeat(pool, &running.id, worker, runner.lease_secs) => unreachable!("the heartbeat never ends"),
        }
    };
    tokio::pin!(work);
    let result = tokio::select! {
        result = &mut work => Some(result),
        _ = wait_for_stop(&mut stop) => tokio::time::timeout(grace, &mut work).await.ok(),
    };
    let (job_id, worker) = (job.id.clone(), worker.to_string());
    let saved = match result {
        None => {
            crate::observe::job_ran(&job.kind, "released", started.elapsed());
            tracing::warn!("shutting down: the job did not finish in time and goes back to the queue");
            db::run(pool, move |c| -> Result<_, DbError> { Ok(jobs::release(c, &job_id, &worker, crate::now())?) })
                .await
                .map(drop)
        }
        Some(outcome) => {
            let label = match &outcome {
                Ok(Next::Finished) => "done",
                Ok(Next::Again(_)) => "again",
                Err(_) => "failed",
            };
            crate::observe::job_ran(&job.kind, label, started.elapsed());
            let outcome = outcome.map_err(|e| e.to_string());
            let recorded = outcome.clone();
            let saved = db::run(pool, move |c| -> Result<_, DbError> {
                let now = crate::now();
                match recorded {
                    Ok(Next::Finished) => jobs::complete(c, &job_id, now)?,
                    Ok(Next::Again(at)) => jobs::reschedule(c, &job_id, at, now)?,
                    Err(e) => jobs::fail(c, &job, &e, now)?,
                };
                Ok(())
            })
            .await;
            // Said once the outcome is recorded: "job done" appears at most once per job, even
            // when the process dies around the end of a job (the crash-safety test counts it).
            if saved.is_ok() {
                match &outcome {
                    Ok(Next::Finished) => tracing::info!("job done"),
                    Ok(Next::Again(at)) => tracing::info!(run_at = at, "job waits and runs again"),
                    Err(e) => tracing::warn!(error = %e, "job failed"),
                }
            }
            saved
        }
    };
    if let Err(e) = saved {
        tracing::error!(error = ?e, "could not record the job's outcome; it will be retried when its lock expires");
    }
}

async fn wait_for_stop(stop: &mut watch::Receiver<bool>) {
    while !*stop.borrow_and_update() {
        if stop.changed().await.is_err() {
            // The handle is gone without asking to stop: keep working.
            std::future::pending::<()>().await;
        }
    }
}

/// Why a job failed, for its `last_error`.
#[derive(Debug, thiserror::Error)]
enum JobError {
    #[error("{0}")]
    Platform(#[from] PlatformError),
    #[error("job payload: {0}")]
    Payload(#[from] serde_json::Error),
    #[error("{0}")]
    Wallet(String),
    #[error("unknown job kind {0}")]
    UnknownKind(String),
}

impl From<DbError> for JobError {
    fn from(e: DbError) -> Self {
        Self::Platform(PlatformError::Database(e))
    }
}

fn payload<J: JobKind>(job: &jobs::Job) -> Result<J, JobError> {
    Ok(serde_json::from_str(&job.payload)?)
}

async fn execute(runner: &Runner, job: &jobs::Job) -> Result<Next, JobError> {
    let platform = &*runner.platform;
    match job.kind.as_str() {
        jobs::SubmitUpdate::NAME => {
            let p: jobs::SubmitUpdate = payload(job)?;
            let last_attempt = job.attempts >= job.max_attempts;
            Ok(releases::run_submission(platform, runner.timing, &p, last_attempt).await?)
        }
        jobs::PollApplication::NAME => {
            let p: jobs::PollApplication = payload(job)?;
            let state =
                runner.wallet.refresh_application(&p.tenant_id).await.map_err(|e| JobError::Wallet(e.to_string()))?;
            let again = state.and_then(|s| crate::domain::wallet::next_poll_secs(s, runner.wallet.poll_secs()));
            Ok(again.map_or(Next::Finished, |secs| Next::Again(crate::now() + secs)))
        }
        jobs::RefundSelfTest::NAME => {
            let p: jobs::RefundSelfTest = payload(job)?;
            runner.wallet.refund_self_test(&p.payment_id).await.map_err(JobError::Wallet)?;
            Ok(Next::Finished)
        }
        jobs::ReconcilePayment::NAME => {
            let p: jobs::ReconcilePayment = payload(job)?;
            runner.wallet.reconcile_payment(&p.payment_id).await.map_err(JobError::Wallet)
        }
        jobs::RunCampaign::NAME => {
            let p: jobs::RunCampaign = payload(job)?;
            Ok(campaigns::drive(platform, runner.timing, &p.campaign_id).await?)
        }
        jobs::PublishUpdate::NAME => {
            let p: jobs::PublishUpdate = payload(job)?;
            Ok(releases::run_publish(platform, runner.timing, &p).await?)
        }
        jobs::ReconcileReviews::NAME => {
            let changed = releases::reconcile(platform, runner.timing).await?;
            if changed > 0 {
                tracing::info!(changed, "review results found by asking WeChat");
            }
            // This round holds the unique key, so the next round is this job rescheduled.
            Ok(Next::Again(crate::now() + runner.timing.reconcile_every_secs.max(1)))
        }
        jobs::CheckRequirements::NAME => {
            let p: jobs::CheckRequirements = payload(job)?;
            requirements::check(platform, &p.tenant_id).await?;
            Ok(Next::Finished)
        }
        jobs::SweepRequirements::NAME => {
            if runner.pace.calls_per_minute == 0 {
                return Ok(Next::Finished);
            }
            let pace = runner.pace;
            let queued = db::run(platform.pool(), move |c| -> Result<_, DbError> {
                Ok(requirements::sweep(c, pace, SWEEP_WINDOW, crate::now())?)
            })
            .await?;
            tracing::info!(queued, "queued background requirement checks");
            Ok(Next::Finished)
        }
        jobs::ReevaluateRequirements::NAME => {
            let count = db::run(platform.pool(), |c| -> Result<_, DbError> {
                Ok(requirements::reevaluate_all(c, crate::now())?)
            })
            .await?;
            tracing::info!(tenants = count, "re-evaluated requirements");
            Ok(Next::Finished)
        }
        jobs::RefreshComponentToken::NAME => {
            let p: jobs::RefreshComponentToken = payload(job)?;
            if p.force {
                platform.refresh_component_token_now().await?;
            } else {
                platform.component_token().await?;
            }
            Ok(Next::Finished)
        }
        jobs::RefreshAuthorizerToken::NAME => {
            let p: jobs::RefreshAuthorizerToken = payload(job)?;
            platform.authorizer_token(&p.appid).await?;
            Ok(Next::Finished)
        }
        jobs::SyncAuthorizer::NAME => {
            let p: jobs::SyncAuthorizer = payload(job)?;
            platform.sync_authorizer(&p.appid).await?;
            Ok(Next::Finished)
        }
        jobs::CompleteTenantAuthorization::NAME => {
            let p: jobs::CompleteTenantAuthorization = payload(job)?;
            let state = p.state.clone();
            let taken = db::run(platform.pool(), move |c| -> Result<_, JobError> {
                Ok(db::platform::take_auth_state_unbound(c, &state, crate::now()).map_err(DbError::Query)?)
            })
            .await?;
            // Already completed by the administrator's redirect: nothing to do.
            if let Some(state) = taken {
                let actor = db::audit::Actor::system();
                authorization::complete_for_tenant(platform, &state, &p.auth_code, actor).await;
            }
            Ok(Next::Finished)
        }
        other => Err(JobError::UnknownKind(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_heartbeat_goes_stale_after_ten_polls_and_says_when_the_worker_stopped() {
        let beat = Heartbeat::new(Duration::from_secs(2));
        let now = SystemTime::now();
        assert!(beat.check(now).is_ok());
        assert!(beat.check(now + Duration::from_secs(19)).is_ok());
        let stale = beat.check(now + Duration::from_secs(25)).unwrap_err();
        assert_eq!(stale, "the job worker has not run for 25 s (more than 20 s)");
        beat.beat();
        beat.stop();
        assert_eq!(beat.check(SystemTime::now()).unwrap_err(), "the job worker has stopped");
        // A fast poll still allows 15 s.
        assert!(Heartbeat::new(Duration::from_millis(50)).check(now + Duration::from_secs(10)).is_ok());
    }
}
