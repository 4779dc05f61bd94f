//! The requirements checklist through the sandbox over HTTP: a fresh binding is checked,
//! each item is fixed (and one fix refused), WeChat's reviews approve and reject, missing
//! permission sets make items unknown, deadlines, and re-evaluation after the operator
//! changes the configuration.

use minihost::db::{audit, jobs, requirements as store};
use minihost::domain::requirements::{Item, State};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Browser, Page, TestApp};
use crate::mini_program::{ALL_SETS, VERIFIED, bind, eventually, ready, sandbox_post};

fn page(tenant: &str) -> String {
    format!("/w/{tenant}/store/requirements")
}

pub(crate) fn states(app: &TestApp, tenant: &str) -> Vec<(Item, State)> {
    let tenant = tenant.to_string();
    app.db(move |c| store::for_tenant(c, &tenant).unwrap().0).into_iter().map(|s| (s.item, s.state)).collect()
}

pub(crate) fn state(app: &TestApp, tenant: &str, item: Item) -> Option<State> {
    states(app, tenant).into_iter().find(|(i, _)| *i == item).map(|(_, s)| s)
}

pub(crate) async fn dev_get(app: &TestApp, path: &str) -> Value {
    let resp = reqwest::get(format!("{}/sandbox/dev{path}", app.base)).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "{path}");
    resp.json().await.unwrap()
}

async fn set_account(app: &TestApp, appid: &str, body: Value) {
    let v = sandbox_post(app, &format!("/sandbox/dev/accounts/{appid}/settings"), body).await;
    assert!(v.get("error").is_none(), "{v}");
}

/// Decides the newest pending review of `kind`.
pub(crate) async fn decide(app: &TestApp, kind: &str, decision: &str, reason: Option<&str>) {
    let reviews = dev_get(app, "/reviews").await;
    let review = reviews
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == kind && r["status"] == "pending")
        .unwrap_or_else(|| panic!("a pending {kind} review in {reviews}"))
        .clone();
    let mut body = json!({ "decision": decision });
    if let Some(r) = reason {
        body["reason"] = json!(r);
    }
    let id = review["id"].as_str().unwrap();
    let decided = sandbox_post(app, &format!("/sandbox/dev/reviews/{id}"), body).await;
    assert_ne!(decided["status"], "pending", "{decided}");
}

/// Binds VERIFIED with `sets` and waits for the first check to be stored.
pub(crate) async fn bound(app: &TestApp, email: &str, sets: &[i64]) -> (Browser, String) {
    let (b, t) = ready(email, "Acme Trading", app).await;
    bind(app, &b, &t, VERIFIED, sets).await;
    eventually("the first check after binding", || states(app, &t).len() == 7).await;
    (b, t)
}

pub(crate) async fn fix(b: &Browser, tenant: &str, item: &str) -> Page {
    b.post(&format!("{}/{item}/fix", page(tenant)), &[]).await
}

fn fixes_audited(app: &TestApp, tenant: &str) -> usize {
    let filter = audit::AuditFilter { action: Some("requirements.fix".into()), ..Default::default() };
    let tenant = tenant.to_string();
    app.db(move |c| audit::list(c, &filter, 100, 0).unwrap())
        .into_iter()
        .filter(|e| e.tenant_id.as_deref() == Some(tenant.as_str()))
        .count()
}

#[tokio::test]
async fn a_fresh_binding_is_checked_then_fixed_item_by_item_until_nothing_is_due() {
    let app = TestApp::spawn().await;
    let (b, t) = bound(&app, "req@acme.example", &ALL_SETS).await;

    // The sandbox's fresh mini program: basic information and standing are fine, the rest
    // is missing, and the location API waits for a category.
    let first = b.get(&page(&t)).await;
    first.assert_contains("Last checked with WeChat");
    first.assert_contains("5 item(s) due now");
    first.assert_contains("The plugin WeChat real-time translation (wx069ba97219f66d99) is not added.");
    first.assert_contains("https://www.fxiaoke.com is not a request domain.");
    first.assert_contains("wx.getLocation cannot be applied for until a service category is approved.");
    first.assert_contains("WeChat allows this only once a service category is approved.");
    assert_eq!(state(&app, &t, Item::BasicInfo), Some(State::Done));
    assert_eq!(state(&app, &t, Item::Standing), Some(State::Done));
    // The home's setup guide points at the first item due.
    let home = b.get(&format!("/w/{t}")).await;
    home.assert_contains("3 of 6 steps done");
    home.assert_contains("5 item(s) due now");
    home.assert_contains(&format!("/w/{t}/store/requirements#req-categories"));

    // Categories: both are added and, needing no qualification, approved at once.
    let after = fix(&b, &t, "categories").await;
    assert_eq!(after.status(), StatusCode::OK);
    after.assert_contains("Done: WeChat accepted the change");
    assert_eq!(state(&app, &t, Item::Categories), Some(State::Done));
    // Now the location API can be applied for.
    assert_eq!(state(&app, &t, Item::PrivacyApi), Some(State::DueNow));
    fix(&b, &t, "privacy_api").await;
    assert_eq!(state(&app, &t, Item::PrivacyApi), Some(State::Pending));
    fix(&b, &t, "plugins").await;
    assert_eq!(state(&app, &t, Item::Plugins), Some(State::Pending));
    // Domains: WeChat answers 85017 until they are on the platform's list; the fix
    // registers them there and tries again.
    assert!(dev_get(&app, "/platform-domains").await["domains"].as_array().unwrap().is_empty());
    fix(&b, &t, "domains").await;
    assert_eq!(state(&app, &t, Item::Domains), Some(State::Done));
    let registered = dev_get(&app, "/platform-domains").await;
    assert!(registered["domains"].as_array().unwrap().iter().any(|d| d == "www.fxiaoke.com"), "{registered}");
    let codes: Vec<i64> = dev_get(&app, "/calls?endpoint=/wxa/modify_domain").await["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["errcode"].as_i64().unwrap_or(-1))
        .collect();
    assert!(codes.contains(&85017), "{codes:?}");
    fix(&b, &t, "privacy_guide").await;
    assert_eq!(state(&app, &t, Item::PrivacyGuide), Some(State::Done));
    let guide = dev_get(&app, &format!("/accounts/{VERIFIED}/settings")).await;
    assert_eq!(guide["privacy_setting"]["owner_setting"]["contact_email"], "req@acme.example", "{guide}");

    let pending = b.get(&page(&t)).await;
    pending.assert_contains("Pending: WeChat is reviewing");
    pending.assert_contains("Nothing is due now");

    // The reviewer approves. The interface decision is pushed to the console, which
    // checks again by itself; the plugin's is not pushed: "Check again".
    decide(&app, "privacy_interface", "approve", None).await;
    eventually("the pushed approval re-checks the location API", || {
        state(&app, &t, Item::PrivacyApi) == Some(State::Done)
    })
    .await;
    decide(&app, "plugin", "approve", None).await;
    let checked = b.post(&format!("{}/check", page(&t)), &[]).await;
    checked.assert_contains("Checked with WeChat just now.");
    assert!(states(&app, &t).iter().all(|(_, s)| *s == State::Done), "{:?}", states(&app, &t));
    let home = b.get(&format!("/w/{t}")).await;
    // Every step but payments is done: the guide's next step is the Company Wallet.
    home.assert_contains("4 of 6 steps done");
    home.assert_contains("Take online payments");
    home.assert_contains("Open the Company Wallet");

    // Each fix by a person is in the audit log, and each change of state in the history.
    assert_eq!(fixes_audited(&app, &t), 5);
    let tid = t.clone();
    let history = app.db(move |c| store::history(c, &tid, 100).unwrap());
    let privacy: Vec<&str> =
        history.iter().rev().filter(|h| h.item == "privacy_api").map(|h| h.to_state.as_str()).collect();
    assert_eq!(privacy, ["due_now", "pending", "done"]);
}

#[tokio::test]
async fn refusals_rejections_deadlines_and_missing_permission_sets() {
    let app = TestApp::spawn().await;
    let (b, t) = bound(&app, "ops@acme.example", &ALL_SETS).await;

    // A fix WeChat refuses: its sentence is shown in the item, nothing is marked done,
    // nothing is audited.
    let fault = json!({ "endpoint": "/cgi-bin/wxopen/addcategory", "kind": "errcode", "value": 53300, "count": 1 });
    sandbox_post(&app, "/sandbox/dev/faults", fault).await;
    let refused = fix(&b, &t, "categories").await;
    assert_eq!(refused.status(), StatusCode::OK);
    refused.assert_contains("53300");
    assert_eq!(state(&app, &t, Item::Categories), Some(State::DueNow));
    assert_eq!(fixes_audited(&app, &t), 0);

    // An application WeChat rejects, with its reason.
    fix(&b, &t, "categories").await;
    fix(&b, &t, "privacy_api").await;
    decide(&app, "privacy_interface", "reject", Some("The pictures do not show where location is used")).await;
    eventually("the pushed rejection re-checks the location API", || {
        state(&app, &t, Item::PrivacyApi) == Some(State::DueNow)
    })
    .await;
    b.get(&page(&t)).await.assert_contains("The pictures do not show where location is used");

    // The annual review ends in 20 days: due later, with the date.
    let end = minihost::now() + 20 * 86_400;
    set_account(&app, VERIFIED, json!({ "annual_review_end_time": end })).await;
    let checked = b.post(&format!("{}/check", page(&t)), &[]).await;
    assert_eq!(state(&app, &t, Item::Standing), Some(State::DueLater));
    checked.assert_contains("Due later");
    checked.assert_contains(&format!("expires on {}", minihost::domain::day_of(end)));
    // And past it: due now.
    set_account(&app, VERIFIED, json!({ "annual_review_end_time": minihost::now() - 86_400 })).await;
    b.post(&format!("{}/check", page(&t)), &[]).await;
    assert_eq!(state(&app, &t, Item::Standing), Some(State::DueNow));

    // A mini program whose name is being reviewed, with ICP filing under review: pending.
    set_account(&app, VERIFIED, json!({ "nickname_under_review": "Acme Store", "icp_status": 4, "annual_review_end_time": minihost::now() + 300 * 86_400 })).await;
    b.post(&format!("{}/check", page(&t)), &[]).await;
    assert_eq!(state(&app, &t, Item::BasicInfo), Some(State::Pending));
    assert_eq!(state(&app, &t, Item::Standing), Some(State::Pending));
}

#[tokio::test]
async fn a_missing_permission_set_is_unknown_and_offers_reauthorize() {
    let app = TestApp::spawn().await;
    let (b, t) = bound(&app, "sets@acme.example", &ALL_SETS).await;
    assert_eq!(state(&app, &t, Item::Plugins), Some(State::DueNow));
    // The administrator takes the plugin set (40) away on WeChat: the push makes the
    // console check again, and WeChat answers 61007 for the plugin list.
    sandbox_post(
        &app,
        "/sandbox/dev/update-permissions",
        json!({ "appid": VERIFIED, "func_ids": [17, 18, 19, 25, 30, 31] }),
    )
    .await;
    eventually("the re-check after updateauthorized", || state(&app, &t, Item::Plugins) == Some(State::Unknown)).await;
    let shown = b.get(&page(&t)).await;
    shown.assert_contains("Could not be checked");
    shown.assert_contains("61007");
    shown.assert_contains("(40)");
    shown.assert_contains("Reauthorize");
}

#[tokio::test]
async fn a_configuration_change_re_evaluates_without_asking_wechat() {
    let app = TestApp::spawn().await;
    let (_b, t) = bound(&app, "cfg@acme.example", &ALL_SETS).await;
    assert_eq!(state(&app, &t, Item::Plugins), Some(State::DueNow));
    let calls_before = dev_get(&app, "/calls").await["count"].as_i64().unwrap();

    // The operator no longer requires any plugin.
    app.db(|c| {
        let mut config = store::config(c).unwrap();
        config.plugins.clear();
        store::put_config(c, &config, minihost::now()).unwrap();
        let now = minihost::now();
        jobs::enqueue(c, &jobs::ReevaluateRequirements, Some("config"), now, now).unwrap();
    });
    eventually("the re-evaluation", || state(&app, &t, Item::Plugins) == Some(State::Done)).await;
    let calls_after = dev_get(&app, "/calls").await["count"].as_i64().unwrap();
    assert_eq!(calls_before, calls_after, "re-evaluation asks WeChat nothing");
}

#[tokio::test]
async fn the_upgrade_guide_keeps_each_confirmation() {
    let app = TestApp::spawn().await;
    let (b, t) = ready("guide@acme.example", "Acme Trading", &app).await;
    let guide = format!("/w/{t}/store/mini-program/upgrade");
    let home = b.get(&format!("/w/{t}")).await;
    home.assert_contains("1 of 6 steps done");
    home.assert_contains("Open the guide");
    b.get(&guide).await.assert_contains("0 of 7 items marked done");
    let confirmed = b.post(&format!("{}/plugins/confirm", page(&t)), &[("confirmed", "1")]).await;
    confirmed.assert_contains("1 of 7 items marked done");
    confirmed.assert_contains("Marked done");
    // Saved: a new visit shows it.
    b.get(&guide).await.assert_contains("1 of 7 items marked done");
    b.post(&format!("{}/plugins/confirm", page(&t)), &[("confirmed", "0")]).await;
    b.get(&guide).await.assert_contains("0 of 7 items marked done");
    // The requirements page before binding explains and leads to the guide.
    b.get(&page(&t)).await.assert_contains("No dedicated mini program yet");
}

#[tokio::test]
async fn requirements_are_only_for_the_tenants_own_admins() {
    let app = TestApp::spawn().await;
    let (_a, t) = bound(&app, "own@acme.example", &ALL_SETS).await;
    let (mallory, _) = app.approved_tenant("mallory@other.example", "Other Co").await;
    for path in [page(&t), format!("/w/{t}/store/mini-program/upgrade")] {
        assert_eq!(mallory.get(&path).await.status(), StatusCode::NOT_FOUND, "{path}");
    }
    for path in
        [format!("{}/check", page(&t)), format!("{}/plugins/fix", page(&t)), format!("{}/plugins/confirm", page(&t))]
    {
        assert_eq!(mallory.post(&path, &[("confirmed", "1")]).await.status(), StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(fixes_audited(&app, &t), 0);
    let tid = t.clone();
    assert!(app.db(move |c| store::confirmations(c, &tid).unwrap()).is_empty());
}

#[tokio::test]
async fn the_background_re_check_queues_round_after_round_and_two_chains_merge() {
    use diesel::prelude::*;
    use minihost::db::schema::jobs as j;
    use minihost::services::requirements::{Pace, start_sweeping, sweep};
    use std::time::Duration;
    // This app's own worker does not sweep; the rounds here are run by hand, a day ahead
    // so that the worker never finds them due.
    let app = TestApp::spawn_with(&[("MINIHOST_REQUIREMENTS_CALLS_PER_MINUTE", "0")]).await;
    // At a window's start, so that `later + 5` below is in the same window whatever the clock.
    let later = {
        let t = minihost::now() + 86_400;
        t - t.rem_euclid(60)
    };
    let window = Duration::from_secs(60);
    let pace = Pace { every: Duration::from_secs(3600), calls_per_minute: 600 };
    let rounds = |app: &TestApp| {
        app.db(|c| {
            j::table
                .filter(j::kind.eq("sweep_requirements"))
                .filter(j::status.eq("queued"))
                .select(j::run_at)
                .order(j::run_at)
                .load::<i64>(c)
                .unwrap()
        })
    };

    assert!(app.db(|c| start_sweeping(c, window, later).unwrap()), "the first round is queued");
    assert!(!app.db(|c| start_sweeping(c, window, later).unwrap()), "a second instance adds none");
    assert_eq!(rounds(&app), vec![later]);

    // The round runs (it holds its key while running) and queues the next window's round.
    app.db(|c| {
        diesel::update(j::table.filter(j::kind.eq("sweep_requirements"))).set(j::status.eq("running")).execute(c)
    })
    .unwrap();
    app.db(|c| sweep(c, pace, window, later).unwrap());
    let next = later - later.rem_euclid(60) + 60;
    assert_eq!(rounds(&app), vec![next], "the chain goes on");
    // Another chain's round in the same window meets it on the same key.
    app.db(|c| sweep(c, pace, window, later + 5).unwrap());
    assert_eq!(rounds(&app), vec![next], "two chains merge");
}
