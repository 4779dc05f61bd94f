//! The sandbox's official account APIs over real HTTP, as an independent WeChat client
//! calls them: linking a mini program (wxamplink → both administrators → wxamplinkget →
//! wxampunlink) with its errcodes, the current menu and the private templates.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::sandbox_manage::authorized_tokens;

const ACME_MP: &str = "wx5b1c0a3e7d2f4a01";
const HARBOR_MP: &str = "wx5b1c0a3e7d2f4a03";
const ACME_OA: &str = "wx5b1c0a3e7d2f4a04";

async fn call(app: &TestApp, path: &str, token: &str, body: Option<Value>) -> Value {
    let client = reqwest::Client::new();
    let url = format!("{}/sandbox/wechat{path}", app.base);
    let req = match body {
        Some(b) => client.post(url).json(&b),
        None => client.get(url),
    }
    .query(&[("access_token", token)]);
    req.send().await.unwrap().json().await.unwrap()
}

async fn dev(app: &TestApp, path: &str, body: Value) -> (StatusCode, Value) {
    let resp = reqwest::Client::new().post(format!("{}/sandbox/dev{path}", app.base)).json(&body).send().await.unwrap();
    (resp.status(), resp.json().await.unwrap_or(Value::Null))
}

fn status_of(v: &Value, mp: &str) -> Option<i64> {
    v["wxopens"]["items"].as_array()?.iter().find(|i| i["appid"] == mp).and_then(|i| i["status"].as_i64())
}

#[tokio::test]
async fn link_is_confirmed_by_both_administrators_then_unlinked() {
    let app = TestApp::spawn().await;
    let (_, token) = authorized_tokens(&app, ACME_OA, &[33]).await;

    let empty = call(&app, "/cgi-bin/wxopen/wxamplinkget", &token, Some(json!({}))).await;
    assert_eq!(empty["errcode"], 0, "{empty}");
    assert_eq!(empty["wxopens"]["items"], json!([]));

    assert_eq!(
        call(&app, "/cgi-bin/wxopen/wxamplink", &token, Some(json!({ "appid": "wxnope" }))).await["errcode"],
        40013
    );
    let asked = call(
        &app,
        "/cgi-bin/wxopen/wxamplink",
        &token,
        Some(json!({ "appid": ACME_MP, "notify_users": 1, "show_profile": "1" })),
    )
    .await;
    assert_eq!(asked["errcode"], 0, "{asked}");
    let got = call(&app, "/cgi-bin/wxopen/wxamplinkget", &token, Some(json!({}))).await;
    assert_eq!(status_of(&got, ACME_MP), Some(12));
    assert_eq!(
        call(&app, "/cgi-bin/wxopen/wxamplink", &token, Some(json!({ "appid": ACME_MP }))).await["errcode"],
        89010
    );

    // The mini program's administrator cannot confirm before the official account's.
    let early = json!({ "oa_appid": ACME_OA, "mp_appid": ACME_MP, "side": "mp", "decision": "confirm" });
    assert_eq!(dev(&app, "/oa-links/decide", early).await.0, StatusCode::CONFLICT);
    let oa = json!({ "oa_appid": ACME_OA, "mp_appid": ACME_MP, "side": "oa", "decision": "confirm" });
    assert_eq!(dev(&app, "/oa-links/decide", oa).await.1["status"], 2);
    let mp = json!({ "oa_appid": ACME_OA, "mp_appid": ACME_MP, "side": "mp", "decision": "confirm" });
    assert_eq!(dev(&app, "/oa-links/decide", mp).await.1["status"], 1);
    let linked = call(&app, "/cgi-bin/wxopen/wxamplinkget", &token, Some(json!({}))).await;
    assert_eq!(status_of(&linked, ACME_MP), Some(1));
    assert_eq!(linked["wxopens"]["items"][0]["selected"], 1);
    assert_eq!(linked["wxopens"]["items"][0]["nickname"], "Acme Mall");
    assert_eq!(
        call(&app, "/cgi-bin/wxopen/wxamplink", &token, Some(json!({ "appid": ACME_MP }))).await["errcode"],
        89015
    );

    assert_eq!(
        call(&app, "/cgi-bin/wxopen/wxampunlink", &token, Some(json!({ "appid": ACME_MP }))).await["errcode"],
        0
    );
    assert_eq!(
        call(&app, "/cgi-bin/wxopen/wxampunlink", &token, Some(json!({ "appid": ACME_MP }))).await["errcode"],
        40097
    );
    // A mini program's token is not an official account's.
    let (_, mp_token) = authorized_tokens(&app, ACME_MP, &[17, 18]).await;
    assert_eq!(call(&app, "/cgi-bin/wxopen/wxamplinkget", &mp_token, Some(json!({}))).await["errcode"], 61007);
}

#[tokio::test]
async fn subject_quotas_answer_89016_and_89407() {
    let app = TestApp::spawn().await;
    let (_, token) = authorized_tokens(&app, ACME_OA, &[33]).await;
    for i in 0..3 {
        let link = json!({ "oa_appid": ACME_OA, "mp_appid": format!("wx000000000000a{i}"), "same_subject": false });
        assert_eq!(dev(&app, "/oa-links", link).await.0, StatusCode::OK);
    }
    assert_eq!(
        call(&app, "/cgi-bin/wxopen/wxamplink", &token, Some(json!({ "appid": HARBOR_MP }))).await["errcode"],
        89407
    );
    for i in 0..10 {
        let link = json!({ "oa_appid": ACME_OA, "mp_appid": format!("wx000000000000b{i}") });
        dev(&app, "/oa-links", link).await;
    }
    assert_eq!(
        call(&app, "/cgi-bin/wxopen/wxamplink", &token, Some(json!({ "appid": ACME_MP }))).await["errcode"],
        89016
    );
}

#[tokio::test]
async fn the_menu_and_the_private_templates() {
    let app = TestApp::spawn().await;
    let (_, token) = authorized_tokens(&app, ACME_OA, &[33]).await;
    let menu = call(&app, "/cgi-bin/get_current_selfmenu_info", &token, None).await;
    assert_eq!(menu["is_menu_open"], 1, "{menu}");
    assert_eq!(menu["selfmenu_info"]["button"][1]["sub_button"]["list"][0]["name"], "Contact");

    let none = call(&app, "/cgi-bin/template/get_all_private_template", &token, None).await;
    assert_eq!(none["template_list"], json!([]));
    let bad =
        call(&app, "/cgi-bin/template/api_add_template", &token, Some(json!({ "template_id_short": "TMnope" }))).await;
    assert_eq!(bad["errcode"], 40037);
    let added =
        call(&app, "/cgi-bin/template/api_add_template", &token, Some(json!({ "template_id_short": "TM00015" }))).await;
    assert_eq!(added["errcode"], 0, "{added}");
    let list = call(&app, "/cgi-bin/template/get_all_private_template", &token, None).await;
    assert_eq!(list["template_list"][0]["template_id"], added["template_id"]);
    assert_eq!(list["template_list"][0]["title"], "订单支付成功");
}

#[tokio::test]
async fn the_human_page_confirms_links_and_adds_a_menu_entry() {
    let app = TestApp::spawn().await;
    let (_, token) = authorized_tokens(&app, ACME_OA, &[33]).await;
    call(&app, "/cgi-bin/wxopen/wxamplink", &token, Some(json!({ "appid": ACME_MP }))).await;
    let b = app.browser();
    b.get("/sandbox/").await.assert_contains("/sandbox/official-accounts");
    let page = b.get("/sandbox/official-accounts").await;
    page.assert_contains("waiting for the official account&#39;s administrator");
    page.assert_contains(&format!(r#"<label for="mp-{ACME_OA}">"#));
    let forged = b.post_without_csrf("/sandbox/official-accounts/decide", &[]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let fields =
        |side: &'static str| [("oa_appid", ACME_OA), ("mp_appid", ACME_MP), ("side", side), ("decision", "confirm")];
    b.post("/sandbox/official-accounts/decide", &fields("oa")).await.assert_contains("waiting for the mini program");
    b.post("/sandbox/official-accounts/decide", &fields("mp")).await.assert_contains("1 · linked");

    let added = b
        .post(&format!("/sandbox/official-accounts/{ACME_OA}/menu-entry"), &[("mp_appid", ACME_MP), ("name", "Shop")])
        .await;
    added.assert_contains("The menu entry is added.");
    let menu = call(&app, "/cgi-bin/get_current_selfmenu_info", &token, None).await;
    assert_eq!(menu["selfmenu_info"]["button"][2]["type"], "miniprogram");
    assert_eq!(menu["selfmenu_info"]["button"][2]["appid"], ACME_MP);
    let full = b.post(&format!("/sandbox/official-accounts/{ACME_OA}/menu-entry"), &[("mp_appid", ACME_MP)]).await;
    full.assert_contains("three top-level entries");
}
