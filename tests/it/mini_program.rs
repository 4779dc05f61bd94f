//! The Mini Program tab: upgrade, every outcome of the callback, reauthorize, unbind,
//! WeChat's events, and two tenants racing for one AppID — all through the sandbox over HTTP.

use std::time::Duration;

use minihost::db::{bindings, platform as store};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Browser, Page, TestApp};
use crate::platform::{authorization_link, query_param, wait_for_ticket};

pub const VERIFIED: &str = "wx5b1c0a3e7d2f4a01";
pub const UNVERIFIED: &str = "wx5b1c0a3e7d2f4a02";
const OTHER_SUBJECT: &str = "wx5b1c0a3e7d2f4a03";
const OFFICIAL_ACCOUNT: &str = "wx5b1c0a3e7d2f4a04";
pub const ALL_SETS: [i64; 7] = [17, 18, 19, 25, 30, 31, 40];

pub fn tab(tenant: &str) -> String {
    format!("/w/{tenant}/store/mini-program")
}

fn path_of(url: &str) -> String {
    let u = reqwest::Url::parse(url).unwrap();
    format!("{}?{}", u.path(), u.query().unwrap_or_default())
}

pub async fn sandbox_post(app: &TestApp, path: &str, body: Value) -> Value {
    let resp = reqwest::Client::new().post(format!("{}{path}", app.base)).json(&body).send().await.unwrap();
    resp.json().await.unwrap_or(Value::Null)
}

/// Starts the upgrade and returns the authorization link shown to the tenant admin.
async fn start(b: &Browser, tenant: &str, action: &str) -> String {
    let page = b.post(&format!("{}/{action}", tab(tenant)), &[]).await;
    page.assert_contains("<svg");
    authorization_link(&page)
}

/// The administrator authorizes `appid` with `sets`; returns the redirect to the console.
async fn admin_authorizes(app: &TestApp, link: &str, appid: &str, sets: &[i64]) -> String {
    let resp = sandbox_post(
        app,
        "/sandbox/dev/authorize",
        json!({
            "pre_auth_code": query_param(link, "pre_auth_code"),
            "appid": appid,
            "func_ids": sets,
            "redirect_uri": query_param(link, "redirect_uri"),
        }),
    )
    .await;
    resp["redirect"].as_str().unwrap_or_else(|| panic!("no redirect: {resp}")).to_string()
}

/// The whole round trip for a tenant admin.
pub async fn bind(app: &TestApp, b: &Browser, tenant: &str, appid: &str, sets: &[i64]) -> Page {
    let link = start(b, tenant, "authorize").await;
    let redirect = admin_authorizes(app, &link, appid, sets).await;
    b.get(&path_of(&redirect)).await
}

pub async fn ready(email: &str, company: &str, app: &TestApp) -> (Browser, String) {
    wait_for_ticket(app).await;
    app.approved_tenant(email, company).await
}

fn active(app: &TestApp, tenant: &str) -> Option<bindings::Binding> {
    let tenant = tenant.to_string();
    app.db(move |c| bindings::active_for_tenant(c, &tenant).unwrap())
}

/// Polls `check` every 50 ms until it holds, for at most 20 s: a bound for what happens
/// in the background (a push, a job), generous because CI runs every test at once on
/// two cores.
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..400 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what} did not happen within 20 s");
}

#[tokio::test]
async fn upgrade_bind_reauthorize_and_unbind() {
    let app = TestApp::spawn().await;
    let (b, t) = ready("mp@acme.example", "Acme Trading", &app).await;

    let unbound = b.get(&tab(&t)).await;
    unbound.assert_contains("Platform mini program in use");
    unbound.assert_contains("Minihost Store");
    unbound.assert_contains("Upgrade to Company Dedicated Mini Program");
    // The button leads to the checklist as a guide first, then to the QR page.
    let guide = b.get(&format!("{}/upgrade", tab(&t))).await;
    guide.assert_contains("wx069ba97219f66d99");
    guide.assert_contains("0 of 7 items marked done");

    let link = start(&b, &t, "authorize").await;
    assert_eq!(query_param(&link, "auth_type"), "2", "mini programs only");
    let auth_page = b.post(&format!("{}/authorize", tab(&t)), &[]).await;
    auth_page.assert_contains("Has the WeChat mini program been successfully authorized?");
    auth_page.assert_contains(">Authorized</a>");
    auth_page.assert_contains("Only the mini program&#39;s administrator can authorize it");
    auth_page.assert_contains("/sandbox/mp/safe/bindcomponent?action=bindcomponent");
    auth_page.assert_contains("no_scan=1");
    auth_page.assert_contains("#wechat_redirect");

    let redirect = admin_authorizes(&app, &link, VERIFIED, &ALL_SETS).await;
    let done = b.get(&path_of(&redirect)).await;
    done.assert_contains("The mini program is bound");

    let bound = b.get(&tab(&t)).await;
    for text in [
        "Acme Mall",
        VERIFIED,
        "Acme Trading Co., Ltd.",
        "Verified on WeChat",
        "Plugin management",
        "Go to Login",
        "Reauthorize",
        "Unbind",
    ] {
        bound.assert_contains(text);
    }
    bound.assert_lacks("Upgrade to Company Dedicated Mini Program");
    assert_eq!(active(&app, &t).unwrap().appid, VERIFIED);

    // Reauthorize is pinned to the bound AppID.
    let relink = start(&b, &t, "reauthorize").await;
    assert_eq!(query_param(&relink, "biz_appid"), VERIFIED);
    let redirect = admin_authorizes(&app, &relink, VERIFIED, &ALL_SETS).await;
    b.get(&path_of(&redirect)).await.assert_contains("The mini program is bound");
    assert!(active(&app, &t).unwrap().reauthorized_at.is_some());

    // A different AppID coming back from a re-authorization is refused: unbind first.
    let relink = start(&b, &t, "reauthorize").await;
    let redirect = admin_authorizes(&app, &relink, OTHER_SUBJECT, &ALL_SETS).await;
    let refused = b.get(&path_of(&redirect)).await;
    refused.assert_contains(
        "Reauthorization returned a different mini program. To use another mini program, unbind first.",
    );
    assert_eq!(active(&app, &t).unwrap().appid, VERIFIED);

    // Unbind: back to the platform mini program, with WeChat's second step explained.
    let after = b.post(&format!("{}/unbind", tab(&t)), &[]).await;
    after.assert_contains("Unbound. The store uses the platform mini program again.");
    after.assert_contains("Second step, on WeChat&#39;s side");
    after.assert_contains("Upgrade to Company Dedicated Mini Program");
    assert!(active(&app, &t).is_none());

    // History is kept, and the mini program can be bound again.
    let history = app.db(|c| bindings::history_for_tenant(c, &t).unwrap());
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].status, minihost::domain::binding::BindingStatus::Unbound);
    bind(&app, &b, &t, VERIFIED, &ALL_SETS).await.assert_contains("The mini program is bound");
    let actions: Vec<String> = app.db(|c| {
        minihost::db::audit::list(
            c,
            &minihost::db::audit::AuditFilter { action: Some("mini_program.".into()), ..Default::default() },
            50,
            0,
        )
        .unwrap()
        .into_iter()
        .map(|r| r.action)
        .collect()
    });
    for action in ["mini_program.bound", "mini_program.reauthorized", "mini_program.unbound"] {
        assert!(actions.iter().any(|a| a == action), "audit row {action}: {actions:?}");
    }
}

#[tokio::test]
async fn refusals_official_account_unverified_and_missing_permission_sets() {
    let app = TestApp::spawn().await;
    let (b, t) = ready("refuse@acme.example", "Acme Trading", &app).await;

    let oa = bind(&app, &b, &t, OFFICIAL_ACCOUNT, &[33]).await;
    oa.assert_contains("An official account was chosen");
    let unverified = bind(&app, &b, &t, UNVERIFIED, &ALL_SETS).await;
    unverified.assert_contains("This mini program is not verified on WeChat");
    unverified.assert_contains("WeChat Verification");
    let missing = bind(&app, &b, &t, VERIFIED, &[17, 18, 19, 25, 31]).await;
    missing.assert_contains("Some permission sets the platform needs were not granted");
    missing.assert_contains("Basic information settings (30)");
    missing.assert_contains("Plugin management (40)");
    assert!(active(&app, &t).is_none(), "nothing was bound");
}

#[tokio::test]
async fn the_state_must_be_this_logins_unused_and_unexpired() {
    let app = TestApp::spawn().await;
    let (b, t) = ready("state@acme.example", "Acme Trading", &app).await;
    let (other, _) = app.approved_tenant("other@bright.example", "Bright Harbor").await;

    // Missing state.
    b.get("/wechat/authorized?auth_code=x").await.assert_contains("This authorization link cannot be used");

    // Another login (another tenant's admin) cannot use this tenant's state.
    let link = start(&b, &t, "authorize").await;
    let redirect = admin_authorizes(&app, &link, VERIFIED, &ALL_SETS).await;
    other.get(&path_of(&redirect)).await.assert_contains("This authorization link cannot be used");

    // Expired.
    let link = start(&b, &t, "authorize").await;
    let state = query_param(&query_param(&link, "redirect_uri"), "state");
    app.db(|c| {
        use diesel::prelude::*;
        use minihost::db::schema::auth_states::dsl as a;
        diesel::update(a::auth_states.find(&state)).set(a::expires_at.eq(0)).execute(c).unwrap();
    });
    let redirect = admin_authorizes(&app, &link, VERIFIED, &ALL_SETS).await;
    b.get(&path_of(&redirect)).await.assert_contains("This authorization link cannot be used");
    assert!(active(&app, &t).is_none(), "nothing bound");

    // Reused by the same login: the stored outcome, never a second binding.
    let page = bind(&app, &b, &t, VERIFIED, &ALL_SETS).await;
    page.assert_contains("The mini program is bound");
    assert_eq!(app.db(|c| bindings::history_for_tenant(c, &t).unwrap()).len(), 1);
}

#[tokio::test]
async fn an_appid_bound_elsewhere_is_refused_and_a_different_subject_warns() {
    let app = TestApp::spawn().await;
    let (a, ta) = ready("a@acme.example", "Acme Trading", &app).await;
    let (b, tb) = app.approved_tenant("b@bright.example", "Bright Harbor").await;

    bind(&app, &a, &ta, VERIFIED, &ALL_SETS).await.assert_contains("The mini program is bound");
    let taken = bind(&app, &b, &tb, VERIFIED, &ALL_SETS).await;
    taken.assert_contains("already bound to another company");
    assert!(active(&app, &tb).is_none());

    // Bound to another application of the platform (e.g. Marketing) for this tenant.
    app.db(|c| {
        use diesel::prelude::*;
        use minihost::db::schema::mp_bindings::dsl as m;
        diesel::insert_into(m::mp_bindings)
            .values((
                m::id.eq("marketing-1"),
                m::tenant_id.eq(&tb),
                m::appid.eq(UNVERIFIED),
                m::application.eq("marketing"),
                m::status.eq("active"),
                m::bound_at.eq(1i64),
            ))
            .execute(c)
            .unwrap();
        diesel::update(minihost::db::schema::tenants::table.find(&tb))
            .set(minihost::db::schema::tenants::linked_oa_subject.eq(Some("Acme Trading Co., Ltd.")))
            .execute(c)
            .unwrap();
    });
    // Make the trial shop pass verification so the application rule is what decides.
    sandbox_post(&app, &format!("/sandbox/dev/accounts/{UNVERIFIED}"), json!({ "verified": true })).await;
    let other_app = bind(&app, &b, &tb, UNVERIFIED, &ALL_SETS).await;
    other_app.assert_contains("already authorized to another application of the platform");

    // The linked official account's subject differs: bound, with a warning.
    let warned = bind(&app, &b, &tb, OTHER_SUBJECT, &ALL_SETS).await;
    warned.assert_contains("The mini program is bound");
    warned.assert_contains("cannot jump to each other or share data");
    b.get(&tab(&tb)).await.assert_contains("cannot jump to each other or share data");
}

#[tokio::test]
async fn two_tenants_racing_for_one_appid_one_wins() {
    let app = TestApp::spawn().await;
    let (a, ta) = ready("race-a@acme.example", "Acme Trading", &app).await;
    let (b, tb) = app.approved_tenant("race-b@bright.example", "Bright Harbor").await;
    let (la, lb) = (start(&a, &ta, "authorize").await, start(&b, &tb, "authorize").await);
    let ra = admin_authorizes(&app, &la, VERIFIED, &ALL_SETS).await;
    let rb = admin_authorizes(&app, &lb, VERIFIED, &ALL_SETS).await;
    let (pra, prb) = (path_of(&ra), path_of(&rb));
    let (pa, pb) = tokio::join!(a.get(&pra), b.get(&prb));
    let wins = [&pa, &pb].iter().filter(|p| p.body.contains("The mini program is bound")).count();
    let losses = [&pa, &pb].iter().filter(|p| p.body.contains("already bound to another company")).count();
    assert_eq!((wins, losses), (1, 1), "one wins, the other is refused");
    let actives = app
        .db(|c| bindings::all_latest(c).unwrap())
        .into_iter()
        .filter(|x| x.status == minihost::domain::binding::BindingStatus::Active && x.appid == VERIFIED)
        .count();
    assert_eq!(actives, 1);
}

#[tokio::test]
async fn wechat_events_revoke_refresh_permissions_and_are_matched_before_the_return() {
    let app = TestApp::spawn().await;
    let (b, t) = ready("events@acme.example", "Acme Trading", &app).await;

    // `authorized` pushed before the admin is back: the "Authorized" button finds it.
    let link = start(&b, &t, "authorize").await;
    let state = query_param(&query_param(&link, "redirect_uri"), "state");
    admin_authorizes(&app, &link, VERIFIED, &ALL_SETS).await;
    let status_url = format!("{}/authorizations/{state}", tab(&t));
    let mut bound = false;
    for _ in 0..200 {
        if b.get(&status_url).await.body.contains("The mini program is bound") {
            bound = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(bound, "the push completed the binding");

    // updateauthorized: a set removed on WeChat's side is flagged.
    sandbox_post(
        &app,
        "/sandbox/dev/update-permissions",
        json!({ "appid": VERIFIED, "func_ids": [17, 18, 19, 25, 30, 31] }),
    )
    .await;
    eventually("the permission sets refresh", || {
        app.db(|c| store::authorizer(c, VERIFIED).unwrap()).is_some_and(|a| !a.func_id_list().contains(&40))
    })
    .await;
    let page = b.get(&tab(&t)).await;
    page.assert_contains("These permission sets are no longer granted");
    page.assert_contains("Plugin management (40)");

    // Changing the account on WeChat's side and pressing refresh shows the change.
    sandbox_post(&app, &format!("/sandbox/dev/accounts/{VERIFIED}"), json!({ "nick_name": "Acme Mall Plus" })).await;
    b.post(&format!("{}/refresh", tab(&t)), &[]).await.assert_contains("Acme Mall Plus");

    // unauthorized: revoked with the date, the admin is e-mailed, nothing is called afterwards.
    sandbox_post(&app, "/sandbox/dev/revoke", json!({ "appid": VERIFIED })).await;
    eventually("the binding is revoked", || active(&app, &t).is_none()).await;
    let page = b.get(&tab(&t)).await;
    page.assert_contains("withdrew its authorization on WeChat on");
    page.assert_contains("Upgrade to Company Dedicated Mini Program");
    let mailbox = app.browser().get("/sandbox/mailbox").await;
    mailbox.assert_contains("events@acme.example");
    mailbox.assert_contains("withdrew its authorization");
    assert!(app.platform.authorizer_token(VERIFIED).await.is_err());
}

#[tokio::test]
async fn the_tab_and_its_actions_are_only_for_the_tenants_own_admins() {
    let app = TestApp::spawn().await;
    let (a, ta) = ready("own-a@acme.example", "Acme Trading", &app).await;
    let (b, tb) = app.approved_tenant("own-b@bright.example", "Bright Harbor").await;
    bind(&app, &b, &tb, VERIFIED, &ALL_SETS).await;
    assert_eq!(a.get(&tab(&tb)).await.status(), StatusCode::NOT_FOUND);
    for action in ["authorize", "reauthorize", "unbind", "refresh"] {
        assert_eq!(a.post(&format!("{}/{action}", tab(&tb)), &[]).await.status(), StatusCode::NOT_FOUND, "{action}");
    }
    assert!(active(&app, &tb).is_some(), "B's binding untouched");
    assert_eq!(a.get(&tab(&ta)).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn operators_configure_the_platform_and_see_every_tenants_mini_program() {
    let app = TestApp::spawn().await;
    let (a, ta) = ready("list-a@acme.example", "Acme Trading", &app).await;
    let (b, tb) = app.approved_tenant("list-b@bright.example", "Bright Harbor").await;
    let op = app.operator().await;

    // Settings: errors beside their fields, input kept; then saved.
    let bad = op
        .post(
            "/operator/platform/settings",
            &[("name", ""), ("short_name", "Shop"), ("icon", "ftp://x"), ("required", "18,99")],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    bad.assert_contains("Enter a name of 1 to 40 characters.");
    bad.assert_contains("Enter a full https:// or http:// address");
    bad.assert_contains("List permission set ids");
    bad.assert_contains(r#"value="18,99""#);
    let saved = op
        .post(
            "/operator/platform/settings",
            &[("name", "Vendor Shop"), ("short_name", "VShop"), ("icon", ""), ("required", "17,18,30")],
        )
        .await;
    saved.assert_contains("Settings saved.");
    b.get(&tab(&tb)).await.assert_contains("Vendor Shop");
    // With plugin management no longer required, an authorization without it binds.
    bind(&app, &a, &ta, VERIFIED, &[17, 18, 30]).await.assert_contains("The mini program is bound");

    let all = op.get("/operator/tenants").await;
    all.assert_contains("Acme Trading");
    all.assert_contains("Bright Harbor");
    all.assert_contains(VERIFIED);
    let dedicated = op.get("/operator/tenants?mode=dedicated").await;
    dedicated.assert_contains("Acme Trading");
    dedicated.assert_lacks("Bright Harbor");
    let platform = op.get("/operator/tenants?mode=platform").await;
    platform.assert_contains("Bright Harbor");
    platform.assert_lacks("Acme Trading");
    op.get(&format!("/operator/tenants?q={VERIFIED}")).await.assert_contains("Acme Trading");
    assert_eq!(a.get("/operator/tenants").await.status(), StatusCode::FORBIDDEN);
}
