//! Release campaigns through the sandbox over HTTP: the operator starts a campaign for the
//! latest version; a canary cohort goes first and the rest follows (by itself once the
//! canary is approved, or on the operator's go); auto-publish releases approved tenants;
//! pause holds submissions on their way; the audit quota running out pauses the campaign
//! instead of failing tenants; "Retry failed" submits the failed ones again; and every
//! tenant is submitted to WeChat exactly once (the sandbox's own record of submissions).

use minihost::db::{campaigns as store, releases as releases_store};
use minihost::domain::campaign::{Outcome, State};
use minihost::domain::release::Stage;
use serde_json::{Value, json};

use crate::helpers::{Browser, TestApp};
use crate::mini_program::{eventually, sandbox_post};
use crate::platform::add_fault;
use crate::releases::{FAST, release_version};
use crate::requirements::dev_get;

/// Campaign timings for tests: jobs polled often, results looked at every second.
fn settings() -> Vec<(&'static str, &'static str)> {
    let mut s = FAST.to_vec();
    s.extend([
        ("MINIHOST_CAMPAIGN_SETTLE_SECS", "1"),
        ("MINIHOST_CAMPAIGN_HOLD_SECS", "1"),
        ("MINIHOST_JOB_SLOTS", "4"),
    ]);
    s
}

/// `n` approved tenants whose dedicated mini programs are sandbox accounts meeting the
/// default template requirements (`minihost demo-data --sandbox --ready`). Their AppIDs.
pub(crate) async fn ready_tenants(app: &TestApp, n: usize) -> Vec<String> {
    crate::demo_ready::sandbox_demo_tenants(app, n, |_| true).await;
    (1..=n).map(minihost::demo::appid).collect()
}

fn tenant_of(app: &TestApp, appid: &str) -> String {
    let appid = appid.to_string();
    app.db(move |c| minihost::db::bindings::active_for_appid(c, &appid).unwrap().unwrap().tenant_id)
}

fn stage(app: &TestApp, appid: &str) -> Option<Stage> {
    let tenant = tenant_of(app, appid);
    let appid = appid.to_string();
    app.db(move |c| releases_store::for_tenant(c, &tenant, &appid).unwrap()).map(|r| r.stage())
}

fn campaign(app: &TestApp) -> store::Campaign {
    app.db(|c| store::recent(c, 1).unwrap()).into_iter().next().expect("a campaign")
}

fn count(app: &TestApp, outcome: Outcome) -> i64 {
    let c = campaign(app);
    app.db(move |conn| store::counts(conn, &c).unwrap()).of(outcome)
}

async fn approve(app: &TestApp, appid: &str) {
    let v = sandbox_post(app, &format!("/sandbox/dev/code/{appid}/decide"), json!({ "decision": "approve" })).await;
    assert!(v.get("error").is_none(), "{v}");
}

/// How many submissions the sandbox recorded for the AppID.
async fn audits(app: &TestApp, appid: &str) -> usize {
    dev_get(app, &format!("/code/{appid}")).await["audits"].as_array().map_or(0, Vec::len)
}

/// Successful `submit_audit` calls in the sandbox's call log.
async fn submit_calls(app: &TestApp) -> usize {
    let calls = dev_get(app, "/calls?endpoint=/wxa/submit_audit&limit=10000").await;
    calls["calls"].as_array().unwrap().iter().filter(|c| c["errcode"].is_null() || c["errcode"] == 0).count()
}

async fn start(op: &Browser, fields: &[(&str, &str)]) -> String {
    let page = op.post("/operator/campaigns", fields).await;
    page.assert_contains("The campaign started.");
    page.url().path().rsplit('/').next().unwrap().to_string()
}

#[tokio::test]
async fn a_canary_goes_first_then_the_rest_by_itself_and_approved_tenants_are_published() {
    let app = TestApp::spawn_with(&settings()).await;
    let appids = ready_tenants(&app, 5).await;
    let op = app.operator().await;
    release_version(&app, &op, "1.0.0", "1.0").await;

    let form = op.get("/operator/campaigns").await;
    form.assert_contains("Tenants pending it: 5");
    // The form refuses what it cannot do, beside the field, with the input kept.
    let refused = op
        .post(
            "/operator/campaigns",
            &[
                ("target", "list"),
                ("list", "wxnotatenant"),
                ("canary", "2"),
                ("concurrency", "0"),
                ("calls_per_minute", "6000"),
            ],
        )
        .await;
    assert_eq!(refused.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY);
    refused.assert_contains("Between 1 and 500.");
    refused.assert_contains(">wxnotatenant</textarea>");
    assert!(app.db(|c| store::recent(c, 1).unwrap()).is_empty(), "nothing started");

    let id = start(
        &op,
        &[
            ("target", "all"),
            ("canary", "2"),
            ("after_canary", "auto"),
            ("concurrency", "2"),
            ("calls_per_minute", "6000"),
            ("auto_publish", "on"),
        ],
    )
    .await;
    let detail = op.get(&format!("/operator/campaigns/{id}")).await;
    detail.assert_contains("Release campaign for version 1.0");

    // The canary (the first two) reaches review; the rest waits.
    eventually("the canary is under review", || count(&app, Outcome::UnderReview) == 2).await;
    assert_eq!(count(&app, Outcome::Waiting), 3);
    for appid in &appids[2..] {
        assert_eq!(stage(&app, appid), None, "{appid} is not submitted during the canary");
    }
    let progress = op.get(&format!("/operator/campaigns/{id}/progress")).await;
    progress.assert_contains("Under Review");
    progress.assert_contains("hx-trigger=\"every 2s\"");

    // WeChat approves the canary: auto-publish releases it, and the rest goes by itself.
    for appid in &appids[..2] {
        approve(&app, appid).await;
    }
    eventually("the rest is under review", || count(&app, Outcome::UnderReview) == 3).await;
    assert_eq!(count(&app, Outcome::Released), 2);
    for appid in &appids[2..] {
        approve(&app, appid).await;
    }
    eventually("every tenant is released", || count(&app, Outcome::Released) == 5).await;
    eventually("the campaign finishes", || campaign(&app).state() == State::Finished).await;

    // Each tenant was submitted to WeChat exactly once.
    for appid in &appids {
        assert_eq!(audits(&app, appid).await, 1, "{appid}");
    }
    assert_eq!(submit_calls(&app).await, 5);
    let page = op.get(&format!("/operator/campaigns/{id}?group=succeeded")).await;
    page.assert_contains("Demo Company 5");
    page.assert_contains("100% settled");
    page.assert_lacks("hx-trigger=\"every 2s\"");
    let actions: Vec<String> = app
        .db(|c| minihost::db::audit::list(c, &Default::default(), 200, 0).unwrap())
        .into_iter()
        .map(|e| e.action)
        .collect();
    for action in ["campaign.started", "campaign.canary_passed", "campaign.finished", "release.released"] {
        assert!(actions.iter().any(|a| a == action), "{action} in {actions:?}");
    }
}

#[tokio::test]
async fn pause_holds_the_quota_pauses_by_itself_and_failed_tenants_are_retried() {
    let app = TestApp::spawn_with(&settings()).await;
    let appids = ready_tenants(&app, 4).await;
    let op = app.operator().await;
    release_version(&app, &op, "1.0.0", "1.0").await;
    // Two submissions left this month; the first tenant's submission is refused once.
    sandbox_post(&app, "/sandbox/dev/quota", json!({ "rest": 2 })).await;
    add_fault(&app, "/wxa/submit_audit", "errcode", 85008, 1).await;

    let id = start(
        &op,
        &[
            ("target", "list"),
            ("list", &appids.join("\n")),
            ("canary", "1"),
            ("after_canary", "wait"),
            ("concurrency", "1"),
            ("calls_per_minute", "6000"),
        ],
    )
    .await;

    // The canary's submission is refused: it fails with WeChat's sentence, and the rest
    // waits for the operator.
    eventually("the canary is settled", || campaign(&app).state() == State::AwaitingGo).await;
    assert_eq!(count(&app, Outcome::NotSubmitted), 1);
    let page = op.get(&format!("/operator/campaigns/{id}?group=failed")).await;
    page.assert_contains("Not submitted");
    page.assert_contains("85008");
    page.assert_contains("Waiting for your go");

    // Pause and resume while waiting; then retry the canary and go on.
    op.post(&format!("/operator/campaigns/{id}/pause"), &[]).await.assert_contains("The campaign is paused");
    assert_eq!(campaign(&app).state(), State::Paused);
    op.post(&format!("/operator/campaigns/{id}/resume"), &[]).await.assert_contains("The campaign goes on.");
    eventually("the canary is settled again", || campaign(&app).state() == State::AwaitingGo).await;
    op.post(&format!("/operator/campaigns/{id}/go"), &[]).await;
    op.post(&format!("/operator/campaigns/{id}/retry"), &[]).await.assert_contains("tried again");

    // Two submissions use the quota up; the third meets 85085 and the campaign pauses
    // itself, holding that tenant instead of failing it.
    eventually("the quota pauses the campaign", || {
        let c = campaign(&app);
        c.state() == State::Paused && c.pause_reason.as_deref() == Some("quota")
    })
    .await;
    assert_eq!(count(&app, Outcome::UnderReview), 2);
    assert_eq!(count(&app, Outcome::NotSubmitted), 0, "nobody failed for the quota");
    assert_eq!(count(&app, Outcome::Submitting), 1, "one tenant is held");
    op.get(&format!("/operator/campaigns/{id}")).await.assert_contains("Paused: review quota used up");

    // WeChat grants more quota; the operator resumes: everyone reaches review.
    sandbox_post(&app, "/sandbox/dev/quota", json!({ "rest": 10 })).await;
    op.post(&format!("/operator/campaigns/{id}/resume"), &[]).await;
    eventually("every tenant is under review", || count(&app, Outcome::UnderReview) == 4).await;
    for appid in &appids {
        assert_eq!(audits(&app, appid).await, 1, "{appid}");
    }

    // Without auto-publish, approved tenants are told and publish themselves.
    for appid in &appids {
        approve(&app, appid).await;
    }
    eventually("the campaign finishes", || campaign(&app).state() == State::Finished).await;
    assert_eq!(count(&app, Outcome::Approved), 4);
    let mails: Vec<Value> = app
        .db(|c| minihost::db::outbox::list_recent(c, 100).unwrap())
        .into_iter()
        .map(|m| json!({ "to": m.to_address, "subject": m.subject }))
        .collect();
    assert!(
        mails.iter().filter(|m| m["subject"].as_str().unwrap_or("").contains("approved")).count() >= 4,
        "{mails:?}"
    );
}

#[tokio::test]
async fn cancelling_stops_waiting_tenants_and_drops_submissions_not_yet_sent() {
    let app = TestApp::spawn_with(&settings()).await;
    let appids = ready_tenants(&app, 3).await;
    let op = app.operator().await;
    release_version(&app, &op, "1.0.0", "1.0").await;
    // The first commit takes long enough to cancel while it is on its way.
    add_fault(&app, "/wxa/commit", "latency", 1500, 1).await;
    let id = start(&op, &[("target", "all"), ("canary", ""), ("concurrency", "1"), ("calls_per_minute", "6000")]).await;
    eventually("the first tenant is being submitted", || count(&app, Outcome::Submitting) == 1).await;
    op.post(&format!("/operator/campaigns/{id}/cancel"), &[]).await.assert_contains("The campaign is cancelled.");
    eventually("the submission on its way is dropped", || count(&app, Outcome::Cancelled) == 3).await;
    for appid in &appids {
        assert_eq!(stage(&app, appid), None, "{appid} is back at Pending Update");
        assert_eq!(audits(&app, appid).await, 0);
    }
    // A new campaign can start once this one is over.
    op.get("/operator/campaigns").await.assert_contains("Tenants pending it: 3");
}

/// `minihost serve` as a separate process on the app's database and secret key; its
/// job worker's name, read from its log, tells its jobs from the app's.
struct Process {
    child: std::process::Child,
    worker: std::sync::Arc<std::sync::Mutex<Option<String>>>,
}

impl Process {
    fn start(app: &TestApp, extra: &[(&str, &str)]) -> Self {
        use std::io::BufRead;
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_minihost"));
        cmd.arg("serve").env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
        for (k, v) in app.process_env() {
            cmd.env(k, v);
        }
        for (k, v) in extra {
            cmd.env(k, v);
        }
        cmd.env("RUST_LOG", "minihost::worker=info,warn").stdout(std::process::Stdio::piped());
        cmd.stderr(std::process::Stdio::null());
        let mut child = cmd.spawn().expect("minihost serve starts");
        let worker = std::sync::Arc::new(std::sync::Mutex::new(None));
        let (out, seen) = (child.stdout.take().unwrap(), worker.clone());
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                if line.contains("job worker started")
                    && let Some(at) = line.find("worker-")
                {
                    let name: String = line[at..].chars().take_while(|c| c.is_alphanumeric() || *c == '-').collect();
                    *seen.lock().unwrap() = Some(name);
                }
            }
        });
        Self { child, worker }
    }

    fn worker(&self) -> Option<String> {
        self.worker.lock().unwrap().clone()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Jobs of `kind` running under `worker`.
fn running_under(app: &TestApp, kind: &str, worker: &str) -> usize {
    app.db(|c| minihost::db::jobs::recent(c, 1000).unwrap())
        .into_iter()
        .filter(|j| j.kind == kind && j.status == "running" && j.locked_by.as_deref() == Some(worker))
        .count()
}

#[tokio::test]
async fn a_second_instance_killed_mid_campaign_loses_nothing_and_submits_nobody_twice() {
    // Locks a dead instance's jobs for 3 s only (a live one renews them).
    let mut s = settings();
    s.push(("MINIHOST_JOB_LEASE_SECS", "3"));
    let app = TestApp::spawn_with(&s).await;
    let appids = ready_tenants(&app, 8).await;
    let op = app.operator().await;
    release_version(&app, &op, "1.0.0", "1.0").await;
    // Slow calls, so the other instance is in the middle of submissions when it dies.
    add_fault(&app, "*", "latency", 150, 10_000).await;
    let fast = [("MINIHOST_JOB_LEASE_SECS", "3"), ("MINIHOST_JOB_SLOTS", "8"), ("MINIHOST_JOB_POLL_MS", "20")];
    let mut other = Process::start(&app, &fast);
    eventually("the other instance's worker starts", || other.worker().is_some()).await;
    let worker = other.worker().unwrap();

    start(&op, &[("target", "all"), ("canary", ""), ("concurrency", "8"), ("calls_per_minute", "1200")]).await;
    eventually("the other instance is submitting", || running_under(&app, "submit_update", &worker) > 0).await;
    other.child.kill().expect("kill -9");
    other.child.wait().unwrap();
    assert!(running_under(&app, "submit_update", &worker) > 0, "it died holding submissions");

    // A new process on the same database joins; the dead one's jobs are taken over.
    let _restarted = Process::start(&app, &fast);
    for _ in 0..600 {
        if count(&app, Outcome::UnderReview) == 8 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(count(&app, Outcome::UnderReview), 8, "every tenant reaches review within a minute");
    for appid in &appids {
        assert_eq!(audits(&app, appid).await, 1, "{appid} was submitted once");
    }
    assert_eq!(submit_calls(&app).await, 8);
}
