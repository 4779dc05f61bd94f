//! Versions, review and release through the sandbox over HTTP: the operator releases a
//! template version; a tenant whose mini program meets the requirements sees "Pending
//! Update", submits, waits for WeChat's review, publishes; rejections, delays, a lost
//! event, a failed publish, withdraw, expedite, roll back, the privacy scan's 61039 and
//! the audit quota's 85085.

use minihost::db::{outbox, releases as store};
use minihost::domain::release::Stage;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Browser, TestApp};
use crate::mini_program::{ALL_SETS, VERIFIED, eventually, sandbox_post, tab};
use crate::requirements::{bound, decide, dev_get, fix};

/// Fast timings: the sandbox's privacy scan takes a second, the console asks again after
/// a second, and overdue reviews are asked about at once.
pub(crate) const FAST: &[(&str, &str)] = &[
    ("MINIHOST_SANDBOX_PRIVACY_SCAN_SECS", "1"),
    ("MINIHOST_PRIVACY_SCAN_RETRY_SECS", "1"),
    ("MINIHOST_JOB_POLL_MS", "100"),
];

/// A tenant whose dedicated mini program meets every requirement (nothing due now).
pub(crate) async fn compliant(app: &TestApp, email: &str) -> (Browser, String) {
    let (b, t) = bound(app, email, &ALL_SETS).await;
    for item in ["categories", "privacy_api", "plugins", "domains", "privacy_guide"] {
        fix(&b, &t, item).await;
    }
    decide(app, "privacy_interface", "approve", None).await;
    decide(app, "plugin", "approve", None).await;
    (b, t)
}

/// The developers upload a draft; the operator adds it to the library and releases it to
/// tenants as `version`. Returns the template id.
pub(crate) async fn release_version(app: &TestApp, op: &Browser, user_version: &str, version: &str) -> i64 {
    let draft = sandbox_post(
        app,
        "/sandbox/dev/drafts",
        json!({ "user_version": user_version, "user_desc": "store template" }),
    )
    .await;
    let draft_id = draft["draft_id"].as_i64().unwrap_or_else(|| panic!("a draft: {draft}"));
    let added = op.post(&format!("/operator/templates/drafts/{draft_id}/add"), &[]).await;
    added.assert_contains("The draft was added to the template library.");
    let templates = dev_templates(app).await;
    let template_id = templates
        .iter()
        .filter(|t| t["draft_id"].as_i64() == Some(draft_id))
        .filter_map(|t| t["template_id"].as_i64())
        .max()
        .unwrap_or_else(|| panic!("a template from draft {draft_id}: {templates:?}"));
    let released = op
        .post(
            &format!("/operator/templates/{template_id}/release"),
            &[("version", version), ("notes", "Faster checkout")],
        )
        .await;
    released.assert_contains("The version was released");
    template_id
}

/// The platform's template library as an independent client reads it.
pub(crate) async fn dev_templates(app: &TestApp) -> Vec<Value> {
    let client = reqwest::Client::new();
    let token: Value = client
        .post(format!("{}/sandbox/wechat/cgi-bin/component/api_component_token", app.base))
        .json(&json!({
            "component_appid": minihost::config::SANDBOX_COMPONENT_APPID,
            "component_appsecret": minihost::config::SANDBOX_COMPONENT_SECRET,
            "component_verify_ticket": dev_get(app, "/ticket").await["ticket"],
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["component_access_token"].as_str().unwrap_or_else(|| panic!("a component token: {token}"));
    let list: Value = client
        .get(format!("{}/sandbox/wechat/wxa/gettemplatelist", app.base))
        .query(&[("access_token", token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    list["template_list"].as_array().cloned().unwrap_or_default()
}

fn release(app: &TestApp, tenant: &str) -> Option<store::Release> {
    let tenant = tenant.to_string();
    app.db(move |c| store::for_tenant(c, &tenant, VERIFIED).unwrap())
}

pub(crate) async fn stage_becomes(app: &TestApp, tenant: &str, stage: Stage) {
    eventually(&format!("the release reaches {}", stage.as_str()), || {
        release(app, tenant).is_some_and(|r| r.stage() == stage)
    })
    .await;
}

/// "Submit Update", and the submission reaches WeChat's review.
async fn submitted_for_review(app: &TestApp, b: &Browser, tenant: &str) {
    b.post(&format!("{}/submit", tab(tenant)), &[]).await;
    stage_becomes(app, tenant, Stage::UnderReview).await;
}

/// The sandbox reviewer decides this mini program's pending code review.
pub(crate) async fn reviewer(app: &TestApp, body: Value) {
    let v = sandbox_post(app, &format!("/sandbox/dev/code/{VERIFIED}/decide"), body).await;
    assert!(v.get("error").is_none(), "{v}");
}

fn mails_to(app: &TestApp, to: &str) -> Vec<String> {
    let to = to.to_string();
    app.db(move |c| outbox::list_recent(c, 100).unwrap())
        .into_iter()
        .filter(|m| m.to_address == to)
        .map(|m| m.subject)
        .collect()
}

async fn calls(app: &TestApp, endpoint: &str) -> Vec<i64> {
    dev_get(app, &format!("/calls?endpoint={endpoint}")).await["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["errcode"].as_i64().unwrap_or(0))
        .collect()
}

#[tokio::test]
async fn pending_update_submit_under_review_approved_publish_released() {
    let app = TestApp::spawn_with(FAST).await;
    let op = app.operator().await;
    let (b, t) = compliant(&app, "rel@acme.example").await;

    // Nothing released by the operator yet: nothing to submit.
    let before = b.get(&tab(&t)).await;
    before.assert_contains("No version yet");
    before.assert_lacks("Submit Update");

    // The operator's form keeps the input and shows the error beside the field.
    let draft =
        sandbox_post(&app, "/sandbox/dev/drafts", json!({ "user_version": "1.0.0", "user_desc": "first" })).await;
    let draft_id = draft["draft_id"].as_i64().unwrap();
    op.post(&format!("/operator/templates/drafts/{draft_id}/add"), &[]).await;
    let template_id = dev_templates(&app).await[0]["template_id"].as_i64().unwrap();
    let bad =
        op.post(&format!("/operator/templates/{template_id}/release"), &[("version", "v1"), ("notes", "kept")]).await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    bad.assert_contains("Use numbers separated by dots");
    bad.assert_contains("value=\"kept\"");
    let ok = op
        .post(&format!("/operator/templates/{template_id}/release"), &[("version", "1.0"), ("notes", "First store")])
        .await;
    ok.assert_contains("The version was released");
    ok.assert_contains("1 of 200");

    // The tenant: "Pending Update", then "Submit Update" runs its steps as a job.
    let pending = b.get(&tab(&t)).await;
    pending.assert_contains("Pending Update");
    pending.assert_contains("First store");
    let submitted = b.post(&format!("{}/submit", tab(&t)), &[]).await;
    submitted.assert_contains("Submitting the latest version");
    stage_becomes(&app, &t, Stage::UnderReview).await;
    let under_review = b.get(&tab(&t)).await;
    under_review.assert_contains("Under Review");
    under_review.assert_contains("Withdraw submission");
    // The commit carried the tenant's ext_json and the item list its categories.
    let code = dev_get(&app, &format!("/code/{VERIFIED}")).await;
    let ext: Value = serde_json::from_str(code["trial"]["ext_json"].as_str().unwrap_or("{}")).unwrap();
    assert_eq!(ext["extAppid"], VERIFIED, "{code}");
    assert_eq!(ext["ext"]["tenant_id"], t.as_str(), "{code}");
    assert_eq!(ext["requiredPrivateInfos"][0], "getLocation", "{code}");
    assert_eq!(calls(&app, "/wxa/submit_audit").await, vec![0], "submitted exactly once");

    // WeChat approves: the push arrives and "Publish Update" appears; the admin is told.
    reviewer(&app, json!({ "decision": "approve" })).await;
    stage_becomes(&app, &t, Stage::Approved).await;
    b.get(&tab(&t)).await.assert_contains("Publish Update");
    assert!(mails_to(&app, "rel@acme.example").iter().any(|s| s.contains("1.0") && s.contains("approved")));

    let published = b.post(&format!("{}/publish", tab(&t)), &[]).await;
    published.assert_contains("Published: users can now find and open the new version in WeChat.");
    published.assert_contains("Up to date");
    assert_eq!(release(&app, &t).unwrap().released_version.as_deref(), Some("1.0"));
    assert!(mails_to(&app, "rel@acme.example").iter().any(|s| s.contains("is live")));
    let live = dev_get(&app, &format!("/code/{VERIFIED}")).await;
    assert!(live.to_string().contains("1.0"), "{live}");

    // A newer version makes the tenant pending again.
    release_version(&app, &op, "1.1.0", "1.1").await;
    b.get(&tab(&t)).await.assert_contains("Pending Update");
    let actions: Vec<String> = app
        .db(|c| minihost::db::audit::list(c, &Default::default(), 200, 0).unwrap())
        .into_iter()
        .map(|e| e.action)
        .collect();
    for action in [
        "template.added",
        "template.released",
        "release.submit_started",
        "release.committed",
        "release.submitted",
        "release.approved",
        "release.released",
    ] {
        assert!(actions.iter().any(|a| a == action), "{action} in {actions:?}");
    }
}

#[tokio::test]
async fn rejection_resubmit_delay_lost_event_and_a_failed_publish() {
    let mut fast = FAST.to_vec();
    fast.extend([("MINIHOST_REVIEW_RECONCILE_AFTER_SECS", "0"), ("MINIHOST_REVIEW_RECONCILE_EVERY_SECS", "1")]);
    let app = TestApp::spawn_with(&fast).await;
    let op = app.operator().await;
    let (b, t) = compliant(&app, "rej@acme.example").await;
    release_version(&app, &op, "1.0.0", "1.0").await;

    // Rejected with WeChat's reason (its HTML made safe) and two screenshots.
    submitted_for_review(&app, &b, &t).await;
    reviewer(&app, json!({ "decision": "reject", "reason": "1. Blank page<br>2. <b>Test</b> data", "screenshots": 2 }))
        .await;
    stage_becomes(&app, &t, Stage::Rejected).await;
    let rejected = b.get(&tab(&t)).await;
    rejected.assert_contains("Rejected");
    rejected.assert_contains("1. Blank page");
    rejected.assert_contains("2. Test data");
    rejected.assert_lacks("<b>Test</b>");
    rejected.assert_contains("Resubmit");
    let shots = release(&app, &t).unwrap().screenshot_ids();
    assert_eq!(shots.len(), 2);
    let image = b.get(&format!("{}/screenshots/{}", tab(&t), shots[0])).await;
    assert_eq!(image.status(), StatusCode::OK);
    assert_eq!(b.get(&format!("{}/screenshots/not-ours", tab(&t))).await.status(), StatusCode::NOT_FOUND);
    assert!(mails_to(&app, "rej@acme.example").iter().any(|s| s.contains("rejected")));

    // Resubmit; WeChat delays the review (a state of its own), then its approval is lost:
    // the console finds it by asking.
    submitted_for_review(&app, &b, &t).await;
    reviewer(&app, json!({ "decision": "delay", "reason": "More checks needed" })).await;
    stage_becomes(&app, &t, Stage::Delayed).await;
    let delayed = b.get(&tab(&t)).await;
    delayed.assert_contains("Review delayed");
    delayed.assert_contains("More checks needed");
    reviewer(&app, json!({ "decision": "approve", "lose": true })).await;
    stage_becomes(&app, &t, Stage::Approved).await;
    assert!(calls(&app, "/wxa/get_latest_auditstatus").await.contains(&0));

    // The release fails once: "Resubmit" publishes again.
    sandbox_post(
        &app,
        "/sandbox/dev/faults",
        json!({ "endpoint": "/wxa/release", "kind": "errcode", "value": 85020, "count": 1 }),
    )
    .await;
    let failed = b.post(&format!("{}/publish", tab(&t)), &[]).await;
    failed.assert_contains("Publish failed");
    failed.assert_contains("WeChat errcode 85020");
    assert_eq!(release(&app, &t).unwrap().stage(), Stage::PublishFailed);
    let retried = b.post(&format!("{}/publish", tab(&t)), &[]).await;
    retried.assert_contains("Up to date");
}

#[tokio::test]
async fn withdraw_expedite_and_roll_back_within_their_limits() {
    let app = TestApp::spawn_with(FAST).await;
    let op = app.operator().await;
    let (b, t) = compliant(&app, "ops@acme.example").await;
    release_version(&app, &op, "1.0.0", "1.0").await;

    // Expedite once; then it is no longer offered.
    submitted_for_review(&app, &b, &t).await;
    let expedited = b.post(&format!("{}/expedite", tab(&t)), &[]).await;
    expedited.assert_contains("The review was expedited.");
    expedited.assert_lacks("Expedite review</button>");
    // Withdraw: counted by us (5 a day).
    let page = b.get(&tab(&t)).await;
    page.assert_contains("5 today, 10 this month");
    let withdrawn = b.post(&format!("{}/withdraw", tab(&t)), &[]).await;
    withdrawn.assert_contains("The submission was withdrawn from WeChat review.");
    assert_eq!(release(&app, &t).unwrap().stage(), Stage::Withdrawn);
    for _ in 0..4 {
        submitted_for_review(&app, &b, &t).await;
        b.post(&format!("{}/withdraw", tab(&t)), &[]).await;
    }
    submitted_for_review(&app, &b, &t).await;
    let sixth = b.post(&format!("{}/withdraw", tab(&t)), &[]).await;
    sixth.assert_contains("This mini program has used its withdrawals");
    assert_eq!(calls(&app, "/wxa/undocodeaudit").await.len(), 5, "the sixth never reached WeChat");

    // Two releases, then roll back to the first; not twice in a row.
    reviewer(&app, json!({ "decision": "approve" })).await;
    stage_becomes(&app, &t, Stage::Approved).await;
    b.post(&format!("{}/publish", tab(&t)), &[]).await;
    release_version(&app, &op, "1.1.0", "1.1").await;
    submitted_for_review(&app, &b, &t).await;
    reviewer(&app, json!({ "decision": "approve" })).await;
    stage_becomes(&app, &t, Stage::Approved).await;
    b.post(&format!("{}/publish", tab(&t)), &[]).await;
    let live = b.get(&tab(&t)).await;
    live.assert_contains("Roll back to 1.0");
    let rolled = b.post(&format!("{}/roll-back", tab(&t)), &[]).await;
    rolled.assert_contains("rolled back to the previous release");
    rolled.assert_lacks("Roll back to");
    rolled.assert_contains("Pending Update");
    assert_eq!(release(&app, &t).unwrap().released_version.as_deref(), Some("1.0"));
}

#[tokio::test]
async fn the_privacy_scan_is_waited_for_and_an_empty_quota_spends_nothing() {
    let app = TestApp::spawn_with(FAST).await;
    let op = app.operator().await;
    let (b, t) = compliant(&app, "scan@acme.example").await;
    release_version(&app, &op, "1.0.0", "1.0").await;

    // 61039 first ("not finished"), then the result: the submission goes on by itself.
    submitted_for_review(&app, &b, &t).await;
    assert!(calls(&app, "/wxa/security/get_code_privacy_info").await.contains(&61039));
    reviewer(&app, json!({ "decision": "reject", "reason": "again" })).await;
    stage_becomes(&app, &t, Stage::Rejected).await;

    // The platform's quota is used up: the pre-flight stops before any commit or submit.
    sandbox_post(&app, "/sandbox/dev/quota", json!({ "rest": 0 })).await;
    let commits = calls(&app, "/wxa/commit").await.len();
    b.post(&format!("{}/submit", tab(&t)), &[]).await;
    stage_becomes(&app, &t, Stage::SubmitFailed).await;
    let stopped = b.get(&tab(&t)).await;
    stopped.assert_contains("WeChat errcode 85085");
    stopped.assert_contains("Resubmit");
    assert_eq!(calls(&app, "/wxa/commit").await.len(), commits);
    assert_eq!(calls(&app, "/wxa/submit_audit").await.len(), 1);

    // Something due now in Requirements blocks the submission, naming the item.
    sandbox_post(&app, "/sandbox/dev/quota", json!({ "rest": 10 })).await;
    let v = sandbox_post(&app, &format!("/sandbox/dev/accounts/{VERIFIED}/settings"), json!({ "plugins": [] })).await;
    assert!(v.get("error").is_none(), "{v}");
    b.post(&format!("{}/submit", tab(&t)), &[]).await;
    eventually("the blocked submission", || {
        release(&app, &t).is_some_and(|r| r.stage() == Stage::SubmitFailed && r.blockers.contains("plugins"))
    })
    .await;
    b.get(&tab(&t)).await.assert_contains("Requirements: “Plugins the template uses” is due now.");
}

#[tokio::test]
async fn a_submission_wechat_took_before_the_job_died_is_adopted_not_made_twice() {
    let app = TestApp::spawn_with(FAST).await;
    let op = app.operator().await;
    let (b, t) = compliant(&app, "twice@acme.example").await;
    release_version(&app, &op, "1.0.0", "1.0").await;
    submitted_for_review(&app, &b, &t).await;
    let auditid = release(&app, &t).unwrap().auditid;

    // As if the job had died after WeChat took it: the row says "submitting" again at the
    // submit step. WeChat answers 85009; the console checks the latest status and adopts it.
    let tid = t.clone();
    app.db(move |c| {
        use diesel::prelude::*;
        use minihost::db::schema::releases;
        diesel::update(releases::table.filter(releases::tenant_id.eq(&tid)))
            .set((
                releases::stage.eq("submitting"),
                releases::step.eq(Some("submit")),
                releases::auditid.eq(None::<i64>),
            ))
            .execute(c)
            .unwrap();
        let job = minihost::db::jobs::SubmitUpdate { tenant_id: tid.clone(), appid: VERIFIED.into() };
        minihost::db::jobs::enqueue(c, &job, Some(VERIFIED), 0, 0).unwrap();
    });
    stage_becomes(&app, &t, Stage::UnderReview).await;
    assert_eq!(release(&app, &t).unwrap().auditid, auditid);
    assert_eq!(calls(&app, "/wxa/submit_audit").await, vec![0, 85009]);
}

#[tokio::test]
async fn release_actions_are_only_for_the_tenants_own_admins() {
    let app = TestApp::spawn_with(FAST).await;
    let (_, t) = compliant(&app, "own@acme.example").await;
    let (other, _) = app.approved_tenant("other@harbor.example", "Harbor").await;
    for action in ["submit", "publish", "withdraw", "expedite", "roll-back", "check-review"] {
        let page = other.post(&format!("{}/{action}", tab(&t)), &[]).await;
        assert_eq!(page.status(), StatusCode::NOT_FOUND, "{action}");
    }
    assert_eq!(other.get(&format!("{}/version", tab(&t))).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(other.get(&format!("{}/screenshots/x", tab(&t))).await.status(), StatusCode::NOT_FOUND);
    assert!(release(&app, &t).is_none());
    let tenant_admin = app.browser();
    tenant_admin.log_in("own@acme.example", crate::helpers::PASSWORD).await;
    assert_eq!(tenant_admin.get("/operator/templates").await.status(), StatusCode::FORBIDDEN);
}
