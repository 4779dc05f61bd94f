//! The Official Account tab (issue 12): authorizing the tenant's official account and
//! each refusal, the link with the dedicated mini program through the sandbox (pending →
//! both administrators' confirmations → linked; refused; unlink), each limit errcode as
//! its sentence, the different-subject warning, and WeChat's revocation.

use minihost::db::{audit, bindings, official_accounts};
use serde_json::{Value, json};

use crate::helpers::{Browser, Page, TestApp};
use crate::mini_program::{ALL_SETS, VERIFIED, bind, eventually, ready, sandbox_post};
use crate::platform::{add_fault, authorization_link, query_param};

pub(crate) const ACME_OA: &str = "wx5b1c0a3e7d2f4a04";
const SUBSCRIPTION: &str = "wx5b1c0a3e7d2f4a05";
const BRIGHT_OA: &str = "wx5b1c0a3e7d2f4a06";
const BRIGHT_MP: &str = "wx5b1c0a3e7d2f4a03";

pub fn tab(tenant: &str) -> String {
    format!("/w/{tenant}/store/official-account")
}

fn path_of(url: &str) -> String {
    let u = reqwest::Url::parse(url).unwrap();
    format!("{}?{}", u.path(), u.query().unwrap_or_default())
}

/// Starts an (re)authorization and returns the link to WeChat's page.
async fn start(b: &Browser, tenant: &str, action: &str) -> String {
    let page = b.post(&format!("{}/{action}", tab(tenant)), &[]).await;
    page.assert_contains("<svg");
    authorization_link(&page)
}

/// The administrator authorizes `appid` on WeChat's page; the browser follows the redirect.
async fn authorize_with(app: &TestApp, b: &Browser, link: &str, appid: &str, sets: &[i64]) -> Page {
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
    let redirect = resp["redirect"].as_str().unwrap_or_else(|| panic!("no redirect: {resp}")).to_string();
    b.get(&path_of(&redirect)).await
}

pub async fn authorize_oa(app: &TestApp, b: &Browser, tenant: &str, appid: &str) -> Page {
    let link = start(b, tenant, "authorize").await;
    authorize_with(app, b, &link, appid, &[33]).await
}

async fn decide(app: &TestApp, oa: &str, mp: &str, side: &str, decision: &str) -> Value {
    sandbox_post(
        app,
        "/sandbox/dev/oa-links/decide",
        json!({ "oa_appid": oa, "mp_appid": mp, "side": side, "decision": decision }),
    )
    .await
}

async fn add_link(app: &TestApp, oa: &str, mp: &str, status: i64, same_subject: bool) {
    let r = sandbox_post(
        app,
        "/sandbox/dev/oa-links",
        json!({ "oa_appid": oa, "mp_appid": mp, "status": status, "same_subject": same_subject }),
    )
    .await;
    assert_eq!(r["ok"], json!(true), "{r}");
}

/// The link section as the page's polling gets it (an HTMX request: the fragment only).
async fn link_fragment(b: &Browser, tenant: &str) -> String {
    let resp = b.client.get(b.url(&format!("{}/link", tab(tenant)))).header("HX-Request", "true").send().await.unwrap();
    assert!(resp.status().is_success());
    resp.text().await.unwrap()
}

fn audited(app: &TestApp, tenant: &str, action: &str) -> bool {
    let subject = format!("tenant:{tenant}:official_account");
    app.db(move |c| audit::list_for_subject(c, &subject).unwrap()).iter().any(|r| r.action == action)
}

#[tokio::test]
async fn authorize_the_official_account_and_each_refusal() {
    let app = TestApp::spawn().await;
    let (b, t) = ready("oa@acme.example", "Acme Trading", &app).await;
    let (other, other_t) = app.approved_tenant("oa@bright.example", "Bright Harbor").await;

    let none = b.get(&tab(&t)).await;
    none.assert_contains("Authorize your official account");
    none.assert_contains("e-commerce needs a corporate service account");
    let link = start(&b, &t, "authorize").await;
    assert_eq!(query_param(&link, "auth_type"), "1", "official accounts only");

    // A subscription account, then a mini program picked instead.
    authorize_with(&app, &b, &link, SUBSCRIPTION, &[33]).await.assert_contains("This is a subscription account");
    let link = start(&b, &t, "authorize").await;
    authorize_with(&app, &b, &link, VERIFIED, &ALL_SETS).await.assert_contains("A mini program was chosen");
    // Unverified.
    sandbox_post(&app, &format!("/sandbox/dev/accounts/{ACME_OA}"), json!({ "verified": false })).await;
    authorize_oa(&app, &b, &t, ACME_OA).await.assert_contains("is not verified on WeChat");
    sandbox_post(&app, &format!("/sandbox/dev/accounts/{ACME_OA}"), json!({ "verified": true })).await;
    // A permission set the operator requires was not granted.
    app.db(|c| bindings::put_setting(c, official_accounts::REQUIRED_SETS, "3,33", 1).unwrap());
    let missing = authorize_oa(&app, &b, &t, ACME_OA).await;
    missing.assert_contains("Some permission sets the platform needs were not granted");
    missing.assert_contains("Official account service (3)");
    app.db(|c| bindings::put_setting(c, official_accounts::REQUIRED_SETS, "33", 2).unwrap());
    // Another tenant's official account.
    authorize_oa(&app, &other, &other_t, BRIGHT_OA).await.assert_contains("The official account is authorized");
    authorize_oa(&app, &b, &t, BRIGHT_OA).await.assert_contains("already used by another company");
    assert!(app.db(|c| official_accounts::active_for_tenant(c, &t).unwrap()).is_none());

    // Bound.
    authorize_oa(&app, &b, &t, ACME_OA).await.assert_contains("The official account is authorized");
    let bound = b.get(&tab(&t)).await;
    bound.assert_contains("Acme Trading Co., Ltd.");
    bound.assert_contains("Service account");
    bound.assert_contains("Bind a dedicated mini program first");
    // Its subject is what the mini program binding compares against.
    assert_eq!(
        app.db(|c| minihost::db::tenants::linked_oa_subject(c, &t).unwrap()).as_deref(),
        Some("Acme Trading Co., Ltd.")
    );

    // Reauthorize is pinned to the bound AppID.
    let relink = start(&b, &t, "reauthorize").await;
    assert_eq!(query_param(&relink, "biz_appid"), ACME_OA);
    authorize_with(&app, &b, &relink, ACME_OA, &[33]).await.assert_contains("The official account is authorized");
    assert!(app.db(|c| official_accounts::active_for_tenant(c, &t).unwrap()).unwrap().reauthorized_at.is_some());

    // Unbind.
    let unbound = b.post(&format!("{}/unbind", tab(&t)), &[]).await;
    unbound.assert_contains("The official account was unbound from this store");
    unbound.assert_contains("Authorize your official account");
    for action in ["official_account.bound", "official_account.reauthorized", "official_account.unbound"] {
        assert!(audited(&app, &t, action), "{action} audited");
    }
}

#[tokio::test]
async fn link_waits_for_both_administrators_then_unlinks() {
    let app = TestApp::spawn().await;
    let (b, t) = ready("link@acme.example", "Acme Trading", &app).await;
    bind(&app, &b, &t, VERIFIED, &ALL_SETS).await.assert_contains("The mini program is bound");
    authorize_oa(&app, &b, &t, ACME_OA).await.assert_contains("The official account is authorized");

    let tab_page = b.get(&tab(&t)).await;
    tab_page.assert_contains("Not linked");
    tab_page.assert_contains("Notify the official account&#39;s followers");
    tab_page.assert_contains("0 of 13 (10 with the same legal subject, 3 with another)");
    tab_page.assert_lacks("have different legal subjects");

    let pending = b.post(&format!("{}/link", tab(&t)), &[("notify_users", "1"), ("show_profile", "1")]).await;
    pending.assert_contains("Waiting for the official account&#39;s administrator to confirm");
    pending.assert_contains("hx-trigger=\"every 3s\"");
    pending.assert_contains("Withdraw the request");
    pending.assert_contains("Link requests this month");
    pending.assert_contains("1 of 13");
    assert!(audited(&app, &t, "official_account.link_requested"));

    assert_eq!(decide(&app, ACME_OA, VERIFIED, "oa", "confirm").await["status"], json!(2));
    let fragment = link_fragment(&b, &t).await;
    assert!(fragment.contains("Waiting for the mini program&#39;s administrator to confirm"), "{fragment}");
    assert!(!fragment.contains("<html"), "the poll gets the fragment only");

    assert_eq!(decide(&app, ACME_OA, VERIFIED, "mp", "confirm").await["status"], json!(1));
    let linked = link_fragment(&b, &t).await;
    assert!(linked.contains(">Linked<"), "{linked}");
    assert!(linked.contains("shown on the official account&#39;s profile"), "{linked}");
    assert!(!linked.contains("every 3s"), "a settled state is not polled");

    let unlinked = b.post(&format!("{}/unlink", tab(&t)), &[]).await;
    unlinked.assert_contains("Not linked");
    assert!(audited(&app, &t, "official_account.unlinked"));
}

#[tokio::test]
async fn a_refusal_by_the_mini_programs_administrator_can_be_asked_again() {
    let app = TestApp::spawn().await;
    let (b, t) = ready("refuse@acme.example", "Acme Trading", &app).await;
    bind(&app, &b, &t, VERIFIED, &ALL_SETS).await;
    authorize_oa(&app, &b, &t, ACME_OA).await;
    b.post(&format!("{}/link", tab(&t)), &[]).await;
    decide(&app, ACME_OA, VERIFIED, "oa", "confirm").await;
    decide(&app, ACME_OA, VERIFIED, "mp", "refuse").await;
    let refused = b.get(&tab(&t)).await;
    refused.assert_contains("Refused by the mini program&#39;s administrator");
    refused.assert_contains(">Link</button>");
    b.post(&format!("{}/link", tab(&t)), &[]).await.assert_contains("Waiting for the official account&#39;s");
    // The official account's administrator refusing drops the request.
    decide(&app, ACME_OA, VERIFIED, "oa", "refuse").await;
    b.get(&tab(&t)).await.assert_contains("Not linked");
}

#[tokio::test]
async fn each_limit_errcode_is_a_sentence_with_what_to_do() {
    let app = TestApp::spawn().await;
    let (b, t) = ready("limits@acme.example", "Acme Trading", &app).await;
    bind(&app, &b, &t, VERIFIED, &ALL_SETS).await;
    authorize_oa(&app, &b, &t, ACME_OA).await;
    let link = format!("{}/link", tab(&t));

    // 89016: ten same-subject mini programs already linked.
    for i in 0..10 {
        add_link(&app, ACME_OA, &format!("wx00000000000000{i:02}"), 1, true).await;
    }
    let page = b.post(&link, &[]).await;
    page.assert_contains("limit of linked mini programs with the same owner");
    page.assert_contains("89016");
    page.assert_contains("10 of 13");

    // Faults stand for the codes that depend on the administrators or WeChat's side.
    for (code, words) in [
        (89015, "already linked to this official account"),
        (89010, "already been sent and is waiting for confirmation"),
        (89017, "limit of linked mini programs with a different owner"),
        (89407, "with a different legal subject"),
        (1003, "number of accounts one person may administer"),
        (1005, "phone number is bound to as many accounts"),
    ] {
        add_fault(&app, "/cgi-bin/wxopen/wxamplink", "errcode", code, 1).await;
        let page = b.post(&link, &[]).await;
        page.assert_contains(words);
        page.assert_contains(&code.to_string());
    }
}

#[tokio::test]
async fn a_different_subject_is_warned_and_its_quota_answered_by_wechat() {
    let app = TestApp::spawn().await;
    let (b, t) = ready("subject@bright.example", "Bright Harbor", &app).await;
    bind(&app, &b, &t, BRIGHT_MP, &ALL_SETS).await.assert_contains("The mini program is bound");
    authorize_oa(&app, &b, &t, ACME_OA).await.assert_contains("different legal subjects");
    let page = b.get(&tab(&t)).await;
    page.assert_contains("have different legal subjects. They can be linked, but cannot jump to each other");

    for i in 0..3 {
        add_link(&app, ACME_OA, &format!("wx00000000000001{i:02}"), 1, false).await;
    }
    let refused = b.post(&format!("{}/link", tab(&t)), &[]).await;
    refused.assert_contains("89407");
    refused.assert_contains("Unlink one of them in the official account&#39;s admin site");
}

#[tokio::test]
async fn wechat_revoking_the_official_account_is_shown() {
    let app = TestApp::spawn().await;
    let (b, t) = ready("revoke@acme.example", "Acme Trading", &app).await;
    authorize_oa(&app, &b, &t, ACME_OA).await;
    sandbox_post(&app, "/sandbox/dev/revoke", json!({ "appid": ACME_OA })).await;
    eventually("the revocation is applied", || {
        app.db(|c| official_accounts::active_for_tenant(c, &t).unwrap()).is_none()
    })
    .await;
    b.get(&tab(&t)).await.assert_contains("withdrew its authorization on WeChat");
    assert!(audited(&app, &t, "official_account.revoked"));
}

fn cause(page: &Page, n: u8) -> String {
    let start = page.body.find(&format!("id=\"cause-{n}\"")).unwrap_or_else(|| panic!("cause {n} on:\n{}", page.body));
    let rest = &page.body[start..];
    rest[..rest.find("</section>").unwrap()].to_string()
}

#[track_caller]
fn assert_cause(page: &Page, n: u8, ok: bool, words: &str) {
    let c = cause(page, n);
    assert_eq!(c.contains("data-cause-ok"), ok, "cause {n} should be {}:\n{c}", if ok { "green" } else { "red" });
    assert!(c.contains(words), "cause {n} should say {words:?}:\n{c}");
}

#[tokio::test]
async fn each_notification_cause_is_red_then_green() {
    let app = TestApp::spawn().await;
    let (b, t) = ready("notify@acme.example", "Acme Trading", &app).await;
    bind(&app, &b, &t, VERIFIED, &ALL_SETS).await;
    authorize_oa(&app, &b, &t, ACME_OA).await;
    let path = format!("{}/notifications", tab(&t));
    b.get(&tab(&t)).await.assert_contains(&path);

    let page = b.get(&path).await;
    page.assert_contains("Why are notifications not received?");
    assert_cause(&page, 1, false, "No menu entry opens the store&#39;s mini program");
    assert_cause(&page, 1, false, "About us › Contact");
    assert_cause(&page, 1, false, "replaces the whole menu");
    assert_cause(&page, 2, false, "订单支付成功 (TM00015): missing");
    assert_cause(&page, 3, false, "Cannot be compared until the missing templates are added");
    assert_cause(&page, 4, false, "Not linked");

    // (1) The administrator adds the store's entry to the menu on WeChat's side.
    let menu = json!({ "button": [
        { "type": "view", "name": "Latest news", "url": "https://acme.example/news" },
        { "type": "miniprogram", "name": "Store", "url": "https://acme.example", "appid": VERIFIED, "pagepath": "pages/index/index" },
    ]});
    sandbox_post(&app, &format!("/sandbox/dev/accounts/{ACME_OA}/menu"), menu).await;
    // (2) and (3): the missing templates are added from the page.
    let added = b.post(&format!("{path}/templates"), &[]).await;
    assert_cause(&added, 1, true, "carries the notifications");
    assert_cause(&added, 2, true, "订单发货提醒 (OPENTM200565259): on the official account");
    assert_cause(&added, 3, true, "Every template has the fields the platform fills");
    assert!(audited(&app, &t, "official_account.template_added"));

    // (3) A template edited on WeChat's side without a field the platform fills.
    let templates = json!({ "templates": [
        { "title": "订单支付成功", "content": "{{first.DATA}}\n{{orderMoneySum.DATA}}\n{{orderProductName.DATA}}\n{{Remark.DATA}}" },
        { "title": "订单发货提醒", "content": "{{first.DATA}}\n{{keyword1.DATA}}\n{{remark.DATA}}" },
    ]});
    sandbox_post(&app, &format!("/sandbox/dev/accounts/{ACME_OA}/templates"), templates).await;
    assert_cause(&b.get(&path).await, 3, false, "订单发货提醒: lacks keyword2, keyword3");
    let fixed = json!({ "templates": [
        { "title": "订单支付成功", "content": "{{first.DATA}}\n{{orderMoneySum.DATA}}\n{{orderProductName.DATA}}\n{{Remark.DATA}}" },
        { "title": "订单发货提醒", "content": "{{first.DATA}}\n{{keyword1.DATA}}\n{{keyword2.DATA}}\n{{keyword3.DATA}}\n{{remark.DATA}}" },
    ]});
    sandbox_post(&app, &format!("/sandbox/dev/accounts/{ACME_OA}/templates"), fixed).await;
    assert_cause(&b.get(&path).await, 3, true, "Every template has the fields");

    // (4) Linked.
    b.post(&format!("{}/link", tab(&t)), &[]).await;
    decide(&app, ACME_OA, VERIFIED, "oa", "confirm").await;
    decide(&app, ACME_OA, VERIFIED, "mp", "confirm").await;
    let all = b.get(&path).await;
    assert_cause(&all, 4, true, "Linked");
    assert_eq!(all.body.matches("data-cause-ok").count(), 4);
}

#[tokio::test]
async fn the_trial_store_guide_is_on_the_mini_program_tab_and_the_home_in_both_languages() {
    let app = TestApp::spawn().await;
    let (b, t) = ready("guide@acme.example", "Acme Trading", &app).await;
    let guide = format!("/w/{t}/store/guide");
    let mp_tab = b.get(&format!("/w/{t}/store/mini-program")).await;
    mp_tab.assert_contains("From the trial store to your own store");
    mp_tab.assert_contains(&guide);
    b.get(&format!("/w/{t}")).await.assert_contains(&guide);

    let page = b.get(&guide).await;
    for words in [
        "runs under the platform&#39;s WeChat account",
        "a service account (服务号) in the company&#39;s name",
        "Mini Program management (小程序管理)",
        "cannot apply for it on your behalf",
        "approval takes a few days",
        "priced 0.01",
        "WeChat does not allow personal accounts to sell",
        "cannot build a follower base or push content",
        "Food-related items",
        "Milk powder is a grey area",
        "Do not send the official account&#39;s developer ID",
        "registermidpage",
        &format!("/w/{t}/store/official-account"),
        &format!("/w/{t}/wallet"),
    ] {
        page.assert_contains(words);
    }
    let zh = app.browser_with_language("zh-CN");
    zh.log_in("guide@acme.example", crate::helpers::PASSWORD).await;
    let page = zh.get(&guide).await;
    page.assert_contains("从试用店铺到自有店铺");
    page.assert_contains("请勿发送公众号的开发者 ID");

    // A store on its own mini program no longer sees the card.
    bind(&app, &b, &t, VERIFIED, &ALL_SETS).await;
    b.get(&format!("/w/{t}/store/mini-program")).await.assert_lacks("From the trial store to your own store");
}

#[tokio::test]
async fn the_operator_configures_the_limits_the_sets_and_the_templates() {
    let app = TestApp::spawn().await;
    let (b, t) = ready("config@acme.example", "Acme Trading", &app).await;
    bind(&app, &b, &t, VERIFIED, &ALL_SETS).await;
    authorize_oa(&app, &b, &t, ACME_OA).await;
    let op = app.operator().await;
    op.get("/operator/platform").await.assert_contains("/operator/official-accounts");
    let form = op.get("/operator/official-accounts").await;
    form.assert_contains("订单发货提醒");
    form.assert_contains("value=\"13\"");

    let templates = r#"[{"short_id":"TM00015","title":"订单支付成功","fields":["first","orderMoneySum"]}]"#;
    let refused = op
        .post(
            "/operator/official-accounts",
            &[
                ("required", "7"),
                ("same_subject", "five"),
                ("different_subject", "2"),
                ("per_month", "7"),
                ("templates", "["),
            ],
        )
        .await;
    assert_eq!(refused.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY);
    refused.assert_contains("including 33");
    refused.assert_contains("Give a whole number from 0 to 1000.");
    refused.assert_contains("Give a JSON list of templates");
    refused.assert_contains("value=\"five\"");

    let saved = op
        .post(
            "/operator/official-accounts",
            &[
                ("required", "33"),
                ("same_subject", "5"),
                ("different_subject", "2"),
                ("per_month", "7"),
                ("templates", templates),
            ],
        )
        .await;
    saved.assert_contains("The official account settings are saved.");
    b.get(&tab(&t)).await.assert_contains("0 of 7 (5 with the same legal subject, 2 with another)");
    let causes = b.get(&format!("{}/notifications", tab(&t))).await;
    assert_cause(&causes, 2, false, "订单支付成功 (TM00015): missing");
    causes.assert_lacks("OPENTM200565259");
}

#[tokio::test]
async fn a_mini_program_bound_after_the_official_account_is_compared_with_its_subject() {
    let app = TestApp::spawn().await;
    let (b, t) = ready("order@bright.example", "Bright Harbor", &app).await;
    authorize_oa(&app, &b, &t, ACME_OA).await.assert_contains("The official account is authorized");
    let warned = bind(&app, &b, &t, BRIGHT_MP, &ALL_SETS).await;
    warned.assert_contains("The mini program is bound");
    warned.assert_contains("cannot jump to each other or share data");
}
