//! The job worker stops with the server: on SIGTERM (here: the same stop) a running job
//! either finishes within the grace period or goes back to the queue, and nothing is
//! left claimed by a worker that no longer exists.
//!
//! WeChat must outlive the instance that stops, as the real one would: the stopping
//! instance calls the sandbox served by another instance on the same database.

use std::time::Duration;

use minihost::db::jobs::{self, Job, JobStatus};

use crate::helpers::TestApp;
use crate::platform::{add_fault, wait_for_ticket};

const TOKEN_PATH: &str = "/cgi-bin/component/api_component_token";

/// The instance that will be stopped, talking to WeChat on `wechat`, which stays up.
/// `wechat`'s own worker sleeps (a ten-minute poll), so jobs are this instance's.
async fn instances(grace_secs: &str) -> (TestApp, TestApp) {
    let wechat = TestApp::spawn_with(&[("MINIHOST_JOB_POLL_MS", "600000")]).await;
    let api_base = format!("{}/sandbox/wechat", wechat.base);
    let console = wechat
        .second_instance_with(&[
            ("MINIHOST_SANDBOX", "on"),
            ("MINIHOST_WECHAT_API_BASE", &api_base),
            ("MINIHOST_JOB_SHUTDOWN_GRACE", grace_secs),
            ("MINIHOST_JOB_POLL_MS", "50"),
        ])
        .await;
    (wechat, console)
}

/// Makes WeChat slow to answer the next token request, queues a forced token refresh,
/// and waits until the console's worker has claimed it.
async fn a_job_waiting_on_a_slow_wechat(wechat: &TestApp, console: &TestApp, latency_ms: i64) -> String {
    wait_for_ticket(console).await;
    // The first ticket queues a token fetch of its own: let that one finish first.
    console.platform.component_token().await.unwrap();
    for _ in 0..200 {
        let busy =
            console.db(|c| jobs::count_by_status(c, "queued").unwrap() + jobs::count_by_status(c, "running").unwrap());
        if busy == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    add_fault(wechat, TOKEN_PATH, "latency", latency_ms, 1).await;
    let now = minihost::now();
    console.db(|c| {
        jobs::enqueue(c, &jobs::RefreshComponentToken { force: true }, Some("shutdown-test"), now, now).unwrap()
    });
    let id = console.db(|c| {
        use diesel::prelude::*;
        use minihost::db::schema::jobs::dsl as j;
        j::jobs
            .filter(j::unique_key.eq("refresh_component_token:shutdown-test"))
            .select(j::id)
            .first::<String>(c)
            .unwrap()
    });
    for _ in 0..200 {
        if job(console, &id).status() == JobStatus::Running {
            return id;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no worker claimed the job");
}

fn job(app: &TestApp, id: &str) -> Job {
    app.db(|c| {
        use diesel::prelude::*;
        use minihost::db::schema::jobs::dsl as j;
        j::jobs.find(id).select(Job::as_select()).first(c).unwrap()
    })
}

#[tokio::test]
async fn a_job_that_cannot_finish_in_the_grace_period_goes_back_to_the_queue_on_shutdown() {
    let (wechat, mut console) = instances("1").await;
    let id = a_job_waiting_on_a_slow_wechat(&wechat, &console, 8000).await;
    console.stop().await;
    let after = job(&wechat, &id);
    assert_eq!(after.status(), JobStatus::Queued, "released for another worker");
    assert_eq!(after.locked_by, None, "nothing is left claimed");
    assert_eq!(after.attempts, 0, "a shutdown does not count as a failed attempt");
    assert_eq!(after.last_error, None);
}

#[tokio::test]
async fn a_running_job_finishes_when_the_server_stops_within_the_grace_period() {
    let (wechat, mut console) = instances("20").await;
    let id = a_job_waiting_on_a_slow_wechat(&wechat, &console, 1000).await;
    console.stop().await;
    let after = job(&wechat, &id);
    assert_eq!(after.status(), JobStatus::Done, "finished, not abandoned: {:?}", after.last_error);
    assert_eq!(after.locked_by, None);
}
