//! The background worker: claims due jobs from the `jobs` table and runs them.
//! Jobs survive restarts; a job whose worker died is reclaimed when its lock expires.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use crate::db::{self, DbPool};
use crate::wechat::client::WechatError;
use crate::wechat::platform::Platform;

pub const REFRESH_COMPONENT_TOKEN: &str = "refresh_component_token";
pub const REFRESH_AUTHORIZER_TOKEN: &str = "refresh_authorizer_token";
pub const SYNC_AUTHORIZER: &str = "sync_authorizer";
pub const COMPLETE_TENANT_AUTHORIZATION: &str = "complete_tenant_authorization";

/// How long a claimed job is ours before another worker may take it over.
const LOCK_SECS: i64 = 120;

#[derive(Deserialize)]
struct AppidPayload {
    appid: String,
}

#[derive(Deserialize)]
struct CompletionPayload {
    state: String,
    auth_code: String,
}

/// Runs jobs until the process ends. `idle` is the pause when nothing is due.
pub async fn run_worker(pool: DbPool, platform: Arc<Platform>, idle: Duration) {
    let worker = format!("worker-{}", crate::new_id());
    loop {
        match claim(&pool, &worker).await {
            Ok(Some(job)) => run_one(&pool, &platform, job).await,
            Ok(None) => tokio::time::sleep(idle).await,
            Err(e) => {
                tracing::warn!(error = %e, "job worker could not claim a job");
                tokio::time::sleep(idle * 5).await;
            }
        }
    }
}

async fn claim(pool: &DbPool, worker: &str) -> anyhow::Result<Option<db::jobs::Job>> {
    let (pool, worker) = (pool.clone(), worker.to_string());
    tokio::task::spawn_blocking(move || {
        let mut conn = pool.get()?;
        Ok(db::jobs::claim(&mut conn, &worker, crate::now(), LOCK_SECS)?)
    })
    .await?
}

async fn run_one(pool: &DbPool, platform: &Platform, job: db::jobs::Job) {
    let span = tracing::info_span!("job", job.id = %job.id, job.kind = %job.kind, job.attempt = job.attempts);
    let _entered = span.enter();
    let result = execute(platform, &job).await;
    let (pool, job_id) = (pool.clone(), job.id.clone());
    let outcome = match &result {
        Ok(()) => None,
        Err(e) => Some(e.to_string()),
    };
    match &outcome {
        None => tracing::info!("job done"),
        Some(e) => tracing::warn!(error = %e, "job failed"),
    }
    let saved = tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let mut conn = pool.get()?;
        let now = crate::now();
        match outcome {
            None => db::jobs::complete(&mut conn, &job_id, now)?,
            Some(e) => db::jobs::fail(&mut conn, &job, &e, now)?,
        };
        Ok(())
    })
    .await;
    if !matches!(saved, Ok(Ok(()))) {
        tracing::error!("could not record the job's outcome; it will be retried when its lock expires");
    }
}

async fn execute(platform: &Platform, job: &db::jobs::Job) -> Result<(), WechatError> {
    match job.kind.as_str() {
        REFRESH_COMPONENT_TOKEN => platform.refresh_component_token_now().await,
        REFRESH_AUTHORIZER_TOKEN => {
            let p: AppidPayload = payload(job)?;
            platform.authorizer_token(&p.appid).await.map(|_| ())
        }
        SYNC_AUTHORIZER => {
            let p: AppidPayload = payload(job)?;
            platform.sync_authorizer(&p.appid).await.map(|_| ())
        }
        COMPLETE_TENANT_AUTHORIZATION => {
            let p: CompletionPayload = payload(job)?;
            let pool = platform.pool().clone();
            let state = p.state.clone();
            let taken = tokio::task::spawn_blocking(move || {
                let mut conn = pool.get().map_err(|e| WechatError::Database(e.to_string()))?;
                db::platform::take_auth_state_unbound(&mut conn, &state, crate::now()).map_err(WechatError::from)
            })
            .await
            .map_err(|e| WechatError::Database(e.to_string()))??;
            // Already completed by the administrator's redirect: nothing to do.
            if let Some(state) = taken {
                let actor = crate::db::audit::Actor::system();
                crate::wechat::binding::complete(platform, &state, &p.auth_code, actor).await;
            }
            Ok(())
        }
        other => Err(WechatError::Decode(format!("unknown job kind {other}"))),
    }
}

fn payload<T: serde::de::DeserializeOwned>(job: &db::jobs::Job) -> Result<T, WechatError> {
    serde_json::from_str(&job.payload).map_err(|e| WechatError::Decode(format!("job payload: {e}")))
}
