//! The sandbox's mini program management APIs over real HTTP, as an independent WeChat
//! client calls them: account basic info, plugins, privacy interfaces, service
//! categories, server domains, the privacy guide and the ICP filing; WeChat's reviewer
//! (by hand, by the dev endpoint, and by itself after a delay) and the events it pushes
//! to the console's message URL; faults and the call log on the new endpoints.

use std::time::{Duration, Instant};

use minihost::config::{SANDBOX_COMPONENT_APPID, SANDBOX_COMPONENT_SECRET};
use minihost::wechat::crypto::parse_flat_xml;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::TestApp;

const ACME_MP: &str = "wx5b1c0a3e7d2f4a01";
const HARBOR_MP: &str = "wx5b1c0a3e7d2f4a03";
const ACME_OA: &str = "wx5b1c0a3e7d2f4a04";
const TRANSLATION: &str = "wx069ba97219f66d99";
const ALL_SETS: &[i64] = &[17, 18, 19, 25, 30, 31, 40];

fn errcode(v: &Value) -> i64 {
    v["errcode"].as_i64().unwrap_or(-99)
}

#[track_caller]
fn assert_ok(v: &Value) {
    assert_eq!((errcode(v), v["errmsg"].as_str()), (0, Some("ok")), "{v}");
}

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("x", s)]).unwrap().trim_start_matches("x=").to_string()
}

/// Authorizes `appid` with the given permission sets the way the console would, and
/// exchanges the code: the component access token and the authorizer access token.
pub(crate) async fn authorized_tokens(app: &TestApp, appid: &str, funcs: &[i64]) -> (String, String) {
    let client = reqwest::Client::new();
    let base = app.base.clone();
    let dev = |path: &str, body: Value| client.post(format!("{base}/sandbox/dev{path}")).json(&body).send();
    let ticket: Value = dev("/push-ticket", json!({})).await.unwrap().json().await.unwrap();
    let api = |path: &str, token: Option<&str>, body: Value| {
        let mut url = format!("{base}/sandbox/wechat{path}");
        if let Some(t) = token {
            url.push_str(&format!("?component_access_token={}", urlencode(t)));
        }
        client.post(url).json(&body).send()
    };
    let token: Value = api(
        "/cgi-bin/component/api_component_token",
        None,
        json!({
            "component_appid": SANDBOX_COMPONENT_APPID,
            "component_appsecret": SANDBOX_COMPONENT_SECRET,
            "component_verify_ticket": ticket["ticket"],
        }),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let component_token = token["component_access_token"].as_str().unwrap().to_string();
    let pre: Value = api(
        "/cgi-bin/component/api_create_preauthcode",
        Some(&component_token),
        json!({ "component_appid": SANDBOX_COMPONENT_APPID }),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let redirect = format!("{base}/wechat/authorized?state=t");
    let auth: Value = dev(
        "/authorize",
        json!({ "pre_auth_code": pre["pre_auth_code"], "appid": appid, "func_ids": funcs, "redirect_uri": redirect }),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let exchanged: Value = api(
        "/cgi-bin/component/api_query_auth",
        Some(&component_token),
        json!({ "component_appid": SANDBOX_COMPONENT_APPID, "authorization_code": auth["auth_code"] }),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let token = exchanged["authorization_info"]["authorizer_access_token"].as_str().unwrap().to_string();
    (component_token, token)
}

/// A WeChat client for one authorized mini program, plus the sandbox's dev endpoints.
struct Mp {
    base: String,
    client: reqwest::Client,
    component_token: String,
    token: String,
}

impl Mp {
    /// Authorizes `appid` with the given permission sets the way the console would.
    async fn authorize(app: &TestApp, appid: &str, funcs: &[i64]) -> Self {
        let (component_token, token) = authorized_tokens(app, appid, funcs).await;
        Self { base: app.base.clone(), client: reqwest::Client::new(), component_token, token }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/sandbox/wechat{path}?access_token={}", self.base, urlencode(&self.token))
    }

    async fn get(&self, path: &str) -> Value {
        let resp = self.client.get(self.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        resp.json().await.unwrap()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.post_raw(path, &body.to_string()).await
    }

    async fn post_raw(&self, path: &str, body: &str) -> Value {
        let resp = self.client.post(self.url(path)).body(body.to_string()).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        resp.json().await.unwrap()
    }

    /// The platform's server domains, with the component token.
    async fn platform_domains(&self, body: Value) -> Value {
        let url = format!(
            "{}/sandbox/wechat/cgi-bin/component/modify_wxa_server_domain?component_access_token={}",
            self.base,
            urlencode(&self.component_token)
        );
        self.client.post(url).json(&body).send().await.unwrap().json().await.unwrap()
    }

    async fn dev_get(&self, path: &str) -> (StatusCode, Value) {
        let resp = self.client.get(format!("{}/sandbox/dev{path}", self.base)).send().await.unwrap();
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn dev_post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let resp = self.client.post(format!("{}/sandbox/dev{path}", self.base)).json(&body).send().await.unwrap();
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn settings(&self, appid: &str) -> Value {
        let (status, v) = self.dev_get(&format!("/accounts/{appid}/settings")).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        v
    }

    async fn set(&self, appid: &str, body: Value) -> Value {
        let (status, v) = self.dev_post(&format!("/accounts/{appid}/settings"), body).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        v
    }

    async fn reviews(&self) -> Vec<Value> {
        let (status, v) = self.dev_get("/reviews").await;
        assert_eq!(status, StatusCode::OK);
        v.as_array().cloned().unwrap()
    }

    /// The newest pending review of `kind` for `subject`.
    async fn pending(&self, kind: &str, subject: &str) -> Value {
        let found = self.reviews().await.into_iter().find(|r| r["kind"] == kind && r["subject"] == subject);
        let r = found.unwrap_or_else(|| panic!("a {kind} review of {subject}"));
        assert_eq!(r["status"], "pending", "{r}");
        r
    }

    async fn decide(&self, id: &Value, decision: &str, reason: Option<&str>) -> (StatusCode, Value) {
        let mut body = json!({ "decision": decision });
        if let Some(r) = reason {
            body["reason"] = json!(r);
        }
        self.dev_post(&format!("/reviews/{}", id.as_str().unwrap()), body).await
    }
}

/// Waits (bounded) until the console has stored a message event `event` for `appid`;
/// returns its decrypted fields.
async fn console_event(app: &TestApp, event: &str, appid: &str) -> Vec<(String, String)> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let events = app.db(|c| minihost::db::platform::recent_events(c, 100).unwrap());
        let found = events
            .into_iter()
            .find(|e| e.info_type == event && e.endpoint == "mp" && e.path_appid.as_deref() == Some(appid));
        if let Some(e) = found {
            return parse_flat_xml(&e.decoded).unwrap();
        }
        assert!(Instant::now() < deadline, "the console never stored {event} for {appid}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or_default()
}

fn interface<'a>(list: &'a Value, api_name: &str) -> &'a Value {
    list["interface_list"].as_array().unwrap().iter().find(|i| i["api_name"] == api_name).unwrap()
}

#[tokio::test]
async fn account_basic_info_tokens_and_permission_sets() {
    let app = TestApp::spawn().await;
    // Only development management (18): basic info (30) and plugins (40) are refused.
    let mp = Mp::authorize(&app, ACME_MP, &[18]).await;
    assert_eq!(errcode(&mp.get("/cgi-bin/account/getaccountbasicinfo").await), 61007);
    assert_eq!(errcode(&mp.post("/wxa/plugin", json!({ "action": "list" })).await), 61007);
    assert_eq!(errcode(&mp.get("/cgi-bin/wxopen/getcategory").await), 61007);
    assert_ok(&mp.get("/wxa/security/get_privacy_interface").await);
    let mp = Mp::authorize(&app, ACME_MP, &[30]).await;
    for path in ["/wxa/security/get_privacy_interface", "/wxa/icp/get_icp_entrance_info"] {
        assert_eq!(errcode(&mp.get(path).await), 61007, "{path}");
    }
    assert_eq!(errcode(&mp.post("/wxa/modify_domain", json!({ "action": "get" })).await), 61007);
    assert_eq!(errcode(&mp.post("/cgi-bin/component/getprivacysetting", json!({ "privacy_ver": 2 })).await), 61007);

    // The seeded account: a freshly bound, verified mini program.
    let mp = Mp::authorize(&app, ACME_MP, ALL_SETS).await;
    let info = mp.get("/cgi-bin/account/getaccountbasicinfo").await;
    assert_ok(&info);
    assert_eq!(info["appid"], ACME_MP);
    assert_eq!(info["account_type"], 3);
    assert_eq!(info["principal_name"], "Acme Trading Co., Ltd.");
    assert_eq!(info["nickname"], "Acme Mall");
    assert_eq!(info["nickname_info"]["nickname"], "Acme Mall");
    assert!(info["nickname_info"].get("audit_stat").is_none(), "{info}");
    assert_eq!(info["signature_info"]["signature"], "Wholesale ordering for Acme distributors.");
    assert!(info["head_image_info"]["head_image_url"].as_str().unwrap().starts_with("https://"));
    let verify = &info["wx_verify_info"];
    assert_eq!((verify["qualification_verify"].clone(), verify["naming_verify"].clone()), (json!(true), json!(true)));
    let days_left = (verify["annual_review_end_time"].as_i64().unwrap() - minihost::now()) / 86400;
    assert!((295..=300).contains(&days_left), "{verify}");
    assert!(verify["annual_review_begin_time"].as_i64().unwrap() < verify["annual_review_end_time"].as_i64().unwrap());
    // POST answers the same.
    let posted = mp.post("/cgi-bin/account/getaccountbasicinfo", json!({})).await;
    assert_eq!(posted["nickname_info"], info["nickname_info"]);

    // A name under review shows as the sandbox's extension, and the reviewer renames.
    mp.set(ACME_MP, json!({ "nickname_under_review": "Acme Mall Pro" })).await;
    let info = mp.get("/cgi-bin/account/getaccountbasicinfo").await;
    assert_eq!(info["nickname_info"]["audit_stat"], 1);
    assert_eq!(info["nickname_info"]["pending_nickname"], "Acme Mall Pro");
    assert_eq!(info["nickname"], "Acme Mall");
    let review = mp.pending("nickname", "Acme Mall Pro").await;
    let (status, decided) = mp.decide(&review["id"], "approve", None).await;
    assert_eq!((status, decided["status"].clone()), (StatusCode::OK, json!("approved")), "{decided}");
    let info = mp.get("/cgi-bin/account/getaccountbasicinfo").await;
    assert_eq!(info["nickname"], "Acme Mall Pro");
    assert_eq!(info["nickname_info"]["modify_used_count"], 1);
    assert!(info["nickname_info"].get("pending_nickname").is_none(), "{info}");

    // The ICP filing.
    let icp = mp.get("/wxa/icp/get_icp_entrance_info").await;
    assert_ok(&icp);
    assert_eq!(icp["info"], json!({ "status": 6, "is_canceling": false, "audit_data": [] }));
    mp.set(ACME_MP, json!({ "icp_status": 5 })).await;
    let icp = mp.get("/wxa/icp/get_icp_entrance_info").await;
    assert_eq!(icp["info"]["status"], 5);
    let finding = &icp["info"]["audit_data"][0];
    assert!(finding["key_name"].is_string() && finding["error"].is_string() && finding["suggest"].is_string());

    // Bad bodies, methods and tokens, as WeChat answers them.
    for path in [
        "/wxa/plugin",
        "/wxa/security/apply_privacy_interface",
        "/cgi-bin/wxopen/addcategory",
        "/cgi-bin/wxopen/deletecategory",
        "/wxa/modify_domain",
        "/cgi-bin/component/setprivacysetting",
        "/cgi-bin/component/getprivacysetting",
    ] {
        assert_eq!(errcode(&mp.post_raw(path, "{oops").await), 47001, "{path}");
        assert_eq!(errcode(&mp.get(path).await), 43002, "{path}");
    }
    let resp = mp.client.delete(mp.url("/cgi-bin/wxopen/getcategory")).send().await.unwrap();
    assert_eq!(errcode(&resp.json().await.unwrap()), 43001);
    let no_token = format!("{}/sandbox/wechat/cgi-bin/wxopen/getcategory", app.base);
    assert_eq!(errcode(&mp.client.get(&no_token).send().await.unwrap().json().await.unwrap()), 41001);
    let bad = format!("{no_token}?access_token=nope");
    assert_eq!(errcode(&mp.client.get(&bad).send().await.unwrap().json().await.unwrap()), 40001);
    let component = format!("{no_token}?access_token={}", urlencode(&mp.component_token));
    assert_eq!(errcode(&mp.client.get(&component).send().await.unwrap().json().await.unwrap()), 40001);
    mp.dev_post("/expire-tokens", json!({})).await;
    assert_eq!(errcode(&mp.get("/cgi-bin/wxopen/getcategory").await), 42001);
}

#[tokio::test]
async fn plugins_are_applied_for_reviewed_and_unbound() {
    let app = TestApp::spawn().await;
    let mp = Mp::authorize(&app, ACME_MP, ALL_SETS).await;
    let list = mp.post("/wxa/plugin", json!({ "action": "list" })).await;
    assert_ok(&list);
    assert_eq!(list["plugin_list"], json!([]));

    let apply = |appid: &str| json!({ "action": "apply", "plugin_appid": appid, "reason": "同声传译用于商品语音搜索" });
    assert_ok(&mp.post("/wxa/plugin", apply(TRANSLATION)).await);
    let list = mp.post("/wxa/plugin", json!({ "action": "list" })).await;
    let item = &list["plugin_list"][0];
    assert_eq!((item["appid"].clone(), item["status"].clone()), (json!(TRANSLATION), json!(1)));
    assert_eq!(item["nickname"], "微信同声传译");
    assert!(item["headimgurl"].as_str().unwrap().starts_with("https://"));
    assert_eq!(errcode(&mp.post("/wxa/plugin", apply(TRANSLATION)).await), 89237);
    let unbind = json!({ "action": "unbind", "plugin_appid": TRANSLATION });
    assert_eq!(errcode(&mp.post("/wxa/plugin", unbind.clone()).await), 89243);
    assert_eq!(errcode(&mp.post("/wxa/plugin", apply("wx0000000000000001")).await), 89239);
    assert_eq!(errcode(&mp.post("/wxa/plugin", apply("wx9a3c1f0e2d4b5a61")).await), 89236);
    let unknown = json!({ "action": "unbind", "plugin_appid": "wx76a9a06e5b4e693e" });
    assert_eq!(errcode(&mp.post("/wxa/plugin", unknown).await), 89044);
    let without_reason = json!({ "action": "apply", "plugin_appid": "wx76a9a06e5b4e693e" });
    assert_eq!(errcode(&mp.post("/wxa/plugin", without_reason).await), 40097);
    assert_eq!(errcode(&mp.post("/wxa/plugin", json!({ "action": "fly" })).await), 40097);

    // The reviewer: a rejection needs a reason; a decision is final.
    let review = mp.pending("plugin", TRANSLATION).await;
    assert_eq!(review["appid"], ACME_MP);
    assert!(review["decided_at"].is_null());
    let (status, _) = mp.decide(&review["id"], "reject", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = mp.decide(&review["id"], "perhaps", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, decided) = mp.decide(&review["id"], "reject", Some("用途说明不清晰")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((decided["status"].clone(), decided["reason"].clone()), (json!("rejected"), json!("用途说明不清晰")));
    assert!(decided["decided_at"].as_i64().is_some());
    assert_eq!(mp.decide(&review["id"], "approve", None).await.0, StatusCode::CONFLICT);
    assert_eq!(mp.decide(&json!("no-such-review"), "approve", None).await.0, StatusCode::NOT_FOUND);
    let list = mp.post("/wxa/plugin", json!({ "action": "list" })).await;
    assert_eq!(list["plugin_list"][0]["status"], 3);
    let settings = mp.settings(ACME_MP).await;
    assert_eq!(settings["plugins"][0]["reason"], "用途说明不清晰");

    // A rejected plugin may be applied for again; approved, it is in use and can go.
    assert_ok(&mp.post("/wxa/plugin", apply(TRANSLATION)).await);
    let review = mp.pending("plugin", TRANSLATION).await;
    assert_eq!(mp.decide(&review["id"], "approve", None).await.0, StatusCode::OK);
    let list = mp.post("/wxa/plugin", json!({ "action": "list" })).await;
    assert_eq!(list["plugin_list"][0]["status"], 2);
    let update = json!({ "action": "update", "plugin_appid": TRANSLATION, "user_version": "1.0.0" });
    assert_eq!(errcode(&mp.post("/wxa/plugin", update).await), 89257);
    assert_ok(&mp.post("/wxa/plugin", unbind).await);
    assert_eq!(mp.post("/wxa/plugin", json!({ "action": "list" })).await["plugin_list"], json!([]));
    // Newest first.
    let reviews = mp.reviews().await;
    assert_eq!(reviews[0]["status"], "approved");
    assert_eq!(reviews[1]["status"], "rejected");
    for key in ["id", "kind", "appid", "subject", "status", "reason", "created_at", "decided_at"] {
        assert!(reviews[0].get(key).is_some(), "{key} in {}", reviews[0]);
    }

    // The plugin limit.
    let ten: Vec<Value> = (0..10).map(|i| json!({ "appid": format!("wx00000000000000{i:02}"), "status": 2 })).collect();
    mp.set(ACME_MP, json!({ "plugins": ten })).await;
    assert_eq!(errcode(&mp.post("/wxa/plugin", apply(TRANSLATION)).await), 89238);
}

#[tokio::test]
async fn categories_are_added_reviewed_and_pushed_to_the_console() {
    let app = TestApp::spawn().await;
    let mp = Mp::authorize(&app, ACME_MP, ALL_SETS).await;
    let all = mp.get("/cgi-bin/wxopen/getallcategories").await;
    assert_ok(&all);
    let nodes = all["categories_list"]["categories"].as_array().unwrap();
    let node = |id: i64| nodes.iter().find(|n| n["id"] == id).unwrap().clone();
    assert_eq!(node(0)["level"], 0);
    assert!(node(0)["children"].as_array().unwrap().contains(&json!(7)));
    assert_eq!((node(7)["name"].clone(), node(7)["level"].clone()), (json!("IT科技"), json!(1)));
    assert_eq!((node(70)["name"].clone(), node(70)["father"].clone()), (json!("软件服务提供商"), json!(7)));
    assert_eq!(node(70)["sensitive_type"], 0);
    assert_eq!(node(305)["name"], "服装/内衣");
    assert_eq!(node(307)["sensitive_type"], 1);
    assert_eq!(node(307)["qualify"]["exter_list"][0]["inner_list"][0]["name"], "食品经营许可证");

    let mine = mp.get("/cgi-bin/wxopen/getcategory").await;
    assert_ok(&mine);
    assert_eq!(mine["categories"], json!([]));
    assert_eq!(
        (mine["limit"].clone(), mine["quota"].clone(), mine["category_limit"].clone()),
        (json!(20), json!(20), json!(5))
    );

    let add = |cats: Value| mp.post("/cgi-bin/wxopen/addcategory", json!({ "categories": cats }));
    assert_ok(&add(json!([{ "first": 7, "second": 70, "certicates": [] }])).await);
    let mine = mp.get("/cgi-bin/wxopen/getcategory").await;
    assert_eq!(
        mine["categories"][0],
        json!({ "first": 7, "first_name": "IT科技", "second": 70, "second_name": "软件服务提供商", "audit_status": 3, "audit_reason": "" })
    );
    assert_eq!(mine["quota"], 19);
    assert_eq!(errcode(&add(json!([{ "first": 7, "second": 70 }])).await), 53304);
    assert_eq!(errcode(&add(json!([{ "first": 304, "second": 305 }, { "first": 304, "second": 305 }])).await), 53304);
    assert_eq!(errcode(&add(json!([{ "first": 7, "second": 305 }])).await), 53303);
    assert_eq!(errcode(&add(json!([{ "first": "x" }])).await), 53303);
    assert_eq!(errcode(&mp.post("/cgi-bin/wxopen/addcategory", json!({})).await), 53303);
    assert_eq!(errcode(&add(json!([{ "first": 304, "second": 307 }])).await), 53311);
    assert_eq!(
        errcode(&add(json!([{ "first": 304, "second": 307, "certicates": [{ "key": "食品经营许可证" }] }])).await),
        53303
    );

    // A category that needs qualifications waits for the reviewer.
    let food =
        json!([{ "first": 304, "second": 307, "certicates": [{ "key": "食品经营许可证", "value": "media_id_1" }] }]);
    assert_ok(&add(food).await);
    let mine = mp.get("/cgi-bin/wxopen/getcategory").await;
    assert_eq!(mine["categories"][1]["audit_status"], 1);
    let delete = |first: i64, second: i64| {
        mp.post("/cgi-bin/wxopen/deletecategory", json!({ "first": first, "second": second }))
    };
    assert_eq!(errcode(&delete(304, 307).await), 53308);
    let review = mp.pending("category", "304:307").await;
    assert_eq!(mp.decide(&review["id"], "reject", Some("许可证照片模糊")).await.0, StatusCode::OK);
    let mine = mp.get("/cgi-bin/wxopen/getcategory").await;
    assert_eq!(
        (mine["categories"][1]["audit_status"].clone(), mine["categories"][1]["audit_reason"].clone()),
        (json!(2), json!("许可证照片模糊"))
    );
    // The decision reaches the console's message URL, encrypted and signed like WeChat's.
    let event = console_event(&app, "wxa_category_audit", ACME_MP).await;
    assert_eq!(field(&event, "ToUserName"), "gh_5b1c0a3e7d01");
    assert_eq!(field(&event, "MsgType"), "event");
    assert_eq!((field(&event, "first"), field(&event, "second"), field(&event, "ret")), ("304", "307", "2"));
    assert_eq!(field(&event, "reason"), "许可证照片模糊");
    // The push log records where it went and that the console accepted it.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let pushes = mp.dev_get("/pushes").await.1;
        let push =
            pushes["pushes"].as_array().unwrap().iter().find(|p| p["info_type"] == "wxa_category_audit").cloned();
        let push = push.unwrap();
        assert_eq!((push["target"].clone(), push["authorizer_appid"].clone()), (json!("mp"), json!(ACME_MP)));
        if push["status"] == "delivered" {
            assert_eq!(push["http_status"], 200);
            break;
        }
        assert!(Instant::now() < deadline, "not recorded as delivered: {push}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Deleting, and the category limit of five.
    assert_ok(&delete(304, 307).await);
    assert_eq!(errcode(&delete(304, 307).await), 53303);
    assert_ok(&add(json!([{ "first": 304, "second": 305 }, { "first": 304, "second": 306 }, { "first": 632, "second": 633 }, { "first": 10, "second": 100 }])).await);
    assert_eq!(errcode(&add(json!([{ "first": 7, "second": 71 }])).await), 53301);
    let ai = {
        let url = format!(
            "{}/sandbox/wechat/cgi-bin/component/api_get_authorizer_info?component_access_token={}",
            app.base,
            urlencode(&mp.component_token)
        );
        let body = json!({ "component_appid": SANDBOX_COMPONENT_APPID, "authorizer_appid": ACME_MP });
        let v: Value = mp.client.post(url).json(&body).send().await.unwrap().json().await.unwrap();
        v["authorizer_info"]["MiniProgramInfo"]["categories"].clone()
    };
    assert_eq!(ai.as_array().unwrap().len(), 5, "{ai}");
    assert_eq!(ai[0], json!({ "first": "IT科技", "second": "软件服务提供商" }));
}

#[tokio::test]
async fn the_location_interface_needs_a_category_then_a_review_then_is_pushed() {
    let app = TestApp::spawn().await;
    let mp = Mp::authorize(&app, ACME_MP, ALL_SETS).await;
    let list = mp.get("/wxa/security/get_privacy_interface").await;
    assert_ok(&list);
    for name in [
        "wx.getLocation",
        "wx.onLocationChange",
        "wx.startLocationUpdate",
        "wx.chooseLocation",
        "wx.choosePoi",
        "wx.chooseAddress",
    ] {
        let i = interface(&list, name);
        assert_eq!(i["status"], 2, "{i}");
        assert!(!i["fail_reason"].as_str().unwrap().is_empty());
        assert_eq!(i["group_name"], "地理位置");
        for key in ["api_ch_name", "api_desc", "api_link"] {
            assert!(i[key].as_str().is_some_and(|s| !s.is_empty()), "{key} of {i}");
        }
    }
    let apply = |name: &str, extra: Value| {
        let mut body =
            json!({ "api_name": name, "content": "本功能涉及收集收货地址，需要获取用户位置信息，请审核通过" });
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        mp.post("/wxa/security/apply_privacy_interface", body)
    };
    let pics = json!({ "pic_list": ["https://img.example.com/delivery.png"] });
    // Without an approved category that allows it: refused.
    assert_eq!(errcode(&apply("wx.getLocation", pics.clone()).await), 61036);
    // The application's own checks.
    assert_eq!(errcode(&apply("wx.getLocation", json!({})).await), 61034);
    assert_eq!(
        errcode(
            &mp.post(
                "/wxa/security/apply_privacy_interface",
                json!({ "api_name": "wx.getLocation", "url_list": ["https://a.example.com"] })
            )
            .await
        ),
        61034
    );
    assert_eq!(errcode(&apply("wx.request", pics.clone()).await), 61035);
    assert_eq!(
        errcode(&apply("wx.getLocation", json!({ "video_list": ["https://v.example.com/demo.mov"] })).await),
        61032
    );

    // With a category: available, then applied for and under review.
    assert_ok(&mp.post("/cgi-bin/wxopen/addcategory", json!({ "categories": [{ "first": 7, "second": 70 }] })).await);
    let list = mp.get("/wxa/security/get_privacy_interface").await;
    assert_eq!(interface(&list, "wx.getLocation")["status"], 1);
    assert!(interface(&list, "wx.getLocation").get("fail_reason").is_none());
    let applied = apply("wx.getLocation", pics.clone()).await;
    assert_ok(&applied);
    let audit_id = applied["audit_id"].as_i64().unwrap();
    let list = mp.get("/wxa/security/get_privacy_interface").await;
    let i = interface(&list, "wx.getLocation");
    assert_eq!((i["status"].clone(), i["audit_id"].clone()), (json!(3), json!(audit_id)));
    assert!(i["apply_time"].as_i64().unwrap() > 0);
    assert_eq!(errcode(&apply("wx.getLocation", pics.clone()).await), 61031);

    // Approved through the dev endpoint: enabled, and the console receives wxa_privacy_apply.
    let review = mp.pending("privacy_interface", "wx.getLocation").await;
    let (status, decided) = mp.decide(&review["id"], "approve", None).await;
    assert_eq!((status, decided["status"].clone()), (StatusCode::OK, json!("approved")));
    let list = mp.get("/wxa/security/get_privacy_interface").await;
    assert_eq!(interface(&list, "wx.getLocation")["status"], 5);
    assert_eq!(errcode(&apply("wx.getLocation", pics.clone()).await), 61035);
    let event = console_event(&app, "wxa_privacy_apply", ACME_MP).await;
    assert_eq!(field(&event, "ToUserName"), "gh_5b1c0a3e7d01");
    let result = parse_flat_xml(&format!("<xml>{}</xml>", field(&event, "result_info"))).unwrap();
    assert_eq!(field(&result, "api_name"), "wx.getLocation");
    assert_eq!(field(&result, "audit_id"), audit_id.to_string());
    assert_eq!(field(&result, "status"), "3");
    assert!(
        field(&result, "audit_time").parse::<i64>().unwrap() >= field(&result, "apply_time").parse::<i64>().unwrap()
    );

    // A rejection: status 4 with the reason, pushed with status 2.
    assert_ok(&apply("wx.chooseAddress", json!({ "video_list": ["https://v.example.com/demo.mp4"] })).await);
    let review = mp.pending("privacy_interface", "wx.chooseAddress").await;
    mp.decide(&review["id"], "reject", Some("小程序内未含有相应使用场景")).await;
    let list = mp.get("/wxa/security/get_privacy_interface").await;
    let i = interface(&list, "wx.chooseAddress");
    assert_eq!((i["status"].clone(), i["fail_reason"].clone()), (json!(4), json!("小程序内未含有相应使用场景")));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let events = app.db(|c| minihost::db::platform::recent_events(c, 100).unwrap());
        let rejected = events
            .iter()
            .filter(|e| e.info_type == "wxa_privacy_apply")
            .find(|e| e.decoded.contains("wx.chooseAddress"));
        if let Some(e) = rejected {
            let fields = parse_flat_xml(&e.decoded).unwrap();
            let result = parse_flat_xml(&format!("<xml>{}</xml>", field(&fields, "result_info"))).unwrap();
            assert_eq!((field(&result, "status"), field(&result, "reason")), ("2", "小程序内未含有相应使用场景"));
            break;
        }
        assert!(Instant::now() < deadline, "the rejection never reached the console");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A rejected interface may be applied for again.
    assert_ok(&apply("wx.chooseAddress", pics).await);

    // Deleting the last category that allows location takes away the untouched interfaces.
    let review = mp.pending("privacy_interface", "wx.chooseAddress").await;
    mp.decide(&review["id"], "approve", None).await;
    assert_ok(&mp.post("/cgi-bin/wxopen/deletecategory", json!({ "first": 7, "second": 70 })).await);
    let list = mp.get("/wxa/security/get_privacy_interface").await;
    assert_eq!(interface(&list, "wx.choosePoi")["status"], 2);
    assert_eq!(interface(&list, "wx.getLocation")["status"], 5, "an enabled interface stays enabled");
}

#[tokio::test]
async fn request_domains_must_be_registered_on_the_platform_first() {
    let app = TestApp::spawn().await;
    let mp = Mp::authorize(&app, ACME_MP, ALL_SETS).await;
    let got = mp.post("/wxa/modify_domain", json!({ "action": "get" })).await;
    assert_ok(&got);
    for list in ["requestdomain", "wsrequestdomain", "uploaddomain", "downloaddomain", "udpdomain", "tcpdomain"] {
        assert_eq!(got[list], json!([]), "{list}");
    }
    let add = |domains: Value| mp.post("/wxa/modify_domain", json!({ "action": "add", "requestdomain": domains }));
    // The platform's list starts empty: any domain is refused with 85017.
    assert_eq!(errcode(&add(json!(["https://api.example.com"])).await), 85017);
    assert_eq!(mp.dev_get("/platform-domains").await.1, json!({ "domains": [] }));
    for bad in [
        "api.example.com",
        "http://api.example.com",
        "https://1.2.3.4",
        "https://api.example.com/v1",
        "https://api.weixin.qq.com",
    ] {
        assert_eq!(errcode(&add(json!([bad])).await), 85301, "{bad}");
    }
    let ws =
        mp.post("/wxa/modify_domain", json!({ "action": "add", "wsrequestdomain": ["https://ws.example.com"] })).await;
    assert_eq!(errcode(&ws), 85301);

    // The platform registers its domains with the component token.
    let registered = mp
        .platform_domains(json!({
            "action": "add",
            "wxa_server_domain": "api.example.com;https://bad.example.com;img.example.com",
            "is_modify_published_together": true,
        }))
        .await;
    assert_ok(&registered);
    assert_eq!(registered["published_wxa_server_domain"], "api.example.com;img.example.com");
    assert_eq!(registered["testing_wxa_server_domain"], "api.example.com;img.example.com");
    assert_eq!(registered["invalid_wxa_server_domain"], "https://bad.example.com");
    let testing_only = mp.platform_domains(json!({ "action": "add", "wxa_server_domain": "ws.example.com" })).await;
    assert_eq!(testing_only["published_wxa_server_domain"], "api.example.com;img.example.com");
    assert_eq!(testing_only["testing_wxa_server_domain"], "api.example.com;img.example.com;ws.example.com");
    let got = mp.platform_domains(json!({ "action": "get" })).await;
    assert_eq!(got["invalid_wxa_server_domain"], "");
    // The authorizer's token does not work there.
    let url = format!(
        "{}/sandbox/wechat/cgi-bin/component/modify_wxa_server_domain?component_access_token={}",
        app.base,
        urlencode(&mp.token)
    );
    let v: Value = mp.client.post(url).json(&json!({ "action": "get" })).send().await.unwrap().json().await.unwrap();
    assert_eq!(errcode(&v), 40001);
    assert_eq!(
        mp.dev_get("/platform-domains").await.1,
        json!({ "domains": ["api.example.com", "img.example.com", "ws.example.com"] })
    );

    // Now the mini program can use them (compared by host, the port kept).
    let added = add(json!(["https://api.example.com", "https://img.example.com:8443"])).await;
    assert_ok(&added);
    assert_eq!(added["requestdomain"], json!(["https://api.example.com", "https://img.example.com:8443"]));
    assert_eq!(added["uploaddomain"], json!([]));
    assert_eq!(errcode(&add(json!(["https://api.example.com"])).await), 85017, "nothing new");
    assert_eq!(errcode(&add(json!(["https://other.example.com"])).await), 85017, "not registered");
    let set = mp
        .post(
            "/wxa/modify_domain",
            json!({
                "action": "set",
                "requestdomain": ["https://api.example.com"],
                "wsrequestdomain": ["wss://ws.example.com"],
                "downloaddomain": ["https://img.example.com"],
            }),
        )
        .await;
    assert_ok(&set);
    assert_eq!(set["wsrequestdomain"], json!(["wss://ws.example.com"]));
    assert_eq!(set["requestdomain"], json!(["https://api.example.com"]));
    let deleted = mp
        .post("/wxa/modify_domain", json!({ "action": "delete", "downloaddomain": ["https://img.example.com"] }))
        .await;
    assert_ok(&deleted);
    assert_eq!(deleted["downloaddomain"], json!([]));
    assert_eq!(deleted["wsrequestdomain"], json!(["wss://ws.example.com"]));
    assert_eq!(mp.settings(ACME_MP).await["requestdomain"], json!(["https://api.example.com"]));
    let too_many: Vec<String> = (0..201).map(|i| format!("https://h{i}.example.com")).collect();
    assert_eq!(errcode(&add(json!(too_many)).await), 85016);
    assert_eq!(errcode(&mp.post("/wxa/modify_domain", json!({ "action": "replace" })).await), 40097);

    // The dev endpoint replaces the platform's list, checking each host.
    let (status, v) = mp.dev_post("/platform-domains", json!({ "domains": ["a.example.com", "A.example.com"] })).await;
    assert_eq!((status, v), (StatusCode::OK, json!({ "domains": ["a.example.com"] })));
    let (status, v) = mp.dev_post("/platform-domains", json!({ "domains": ["https://a.example.com"] })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert!(v["error"].as_str().unwrap().contains("https://a.example.com"));
    assert_eq!(errcode(&add(json!(["https://img.example.com"])).await), 85017);
}

#[tokio::test]
async fn the_privacy_guide_is_validated_and_kept() {
    let app = TestApp::spawn().await;
    let mp = Mp::authorize(&app, HARBOR_MP, ALL_SETS).await;
    let never = mp.post("/cgi-bin/component/getprivacysetting", json!({ "privacy_ver": 2 })).await;
    assert_ok(&never);
    assert_eq!(never["setting_list"], json!([]));
    assert_eq!(never["update_time"], 0);
    assert_eq!(never["code_exist"], 0);
    assert_eq!(never["privacy_list"], json!([]));
    let owner = never["owner_setting"].as_object().unwrap();
    for key in [
        "contact_email",
        "contact_phone",
        "contact_qq",
        "contact_weixin",
        "notice_method",
        "store_expire_timestamp",
        "ext_file_media_id",
    ] {
        assert_eq!(owner[key], "", "{key}");
    }
    let desc = never["privacy_desc"]["privacy_desc_list"].as_array().unwrap();
    assert!(desc.iter().any(|d| d["privacy_key"] == "Location" && d["privacy_desc"].is_string()));

    let good = json!({
        "privacy_ver": 2,
        "owner_setting": { "contact_phone": "400-000-0000", "notice_method": "弹窗提示", "store_expire_timestamp": "180天" },
        "setting_list": [
            { "privacy_key": "Location", "privacy_text": "为您计算配送距离" },
            { "privacy_key": "PhoneNumber", "privacy_text": "联系您确认订单" },
        ],
    });
    let set = |body: Value| mp.post("/cgi-bin/component/setprivacysetting", body);
    let with = |key: &str, value: Value| {
        let mut b = good.clone();
        b[key] = value;
        b
    };
    assert_eq!(errcode(&set(with("owner_setting", json!({ "notice_method": "弹窗" }))).await), 86069);
    assert_eq!(errcode(&set(with("owner_setting", json!({ "contact_email": "a@example.com" }))).await), 86070);
    assert_eq!(errcode(&set(with("privacy_ver", json!(1))).await), 86074);
    assert_eq!(errcode(&set(with("privacy_ver", json!(9))).await), 86071);
    assert_eq!(errcode(&set(with("setting_list", json!([]))).await), 40097);
    assert_eq!(
        errcode(&set(with("setting_list", json!([{ "privacy_key": "Mood", "privacy_text": "x" }]))).await),
        40097
    );
    let mut bad_period = good.clone();
    bad_period["owner_setting"]["store_expire_timestamp"] = json!("forever");
    assert_eq!(errcode(&set(bad_period).await), 86072);
    assert_ok(&set(good).await);

    let got = mp.post("/cgi-bin/component/getprivacysetting", json!({ "privacy_ver": 2 })).await;
    assert_eq!(
        got["setting_list"][0],
        json!({ "privacy_key": "Location", "privacy_text": "为您计算配送距离", "privacy_label": "" })
    );
    assert_eq!(got["owner_setting"]["contact_phone"], "400-000-0000");
    assert_eq!(got["owner_setting"]["notice_method"], "弹窗提示");
    assert!(got["update_time"].as_i64().unwrap() > 0);
    assert_eq!(errcode(&mp.post("/cgi-bin/component/getprivacysetting", json!({ "privacy_ver": 0 })).await), 86071);
    // The dev endpoint shows and clears it.
    assert_eq!(mp.settings(HARBOR_MP).await["privacy_setting"]["owner_setting"]["contact_phone"], "400-000-0000");
    let cleared = mp.set(HARBOR_MP, json!({ "privacy_setting": null })).await;
    assert!(cleared["privacy_setting"].is_null());
    let got = mp.post("/cgi-bin/component/getprivacysetting", json!({ "privacy_ver": 2 })).await;
    assert_eq!(got["setting_list"], json!([]));
}

#[tokio::test]
async fn faults_and_the_call_log_cover_the_new_endpoints() {
    let app = TestApp::spawn().await;
    let mp = Mp::authorize(&app, ACME_MP, ALL_SETS).await;
    let fault = |endpoint: &str, kind: &str, value: i64| {
        mp.dev_post("/faults", json!({ "endpoint": endpoint, "kind": kind, "value": value, "count": 1 }))
    };
    assert_eq!(fault("/wxa/plugin", "errcode", 45009).await.0, StatusCode::CREATED);
    assert_eq!(errcode(&mp.post("/wxa/plugin", json!({ "action": "list" })).await), 45009);
    assert_ok(&mp.post("/wxa/plugin", json!({ "action": "list" })).await);

    fault("/cgi-bin/wxopen/getcategory", "http", 503).await;
    let resp = mp.client.get(mp.url("/cgi-bin/wxopen/getcategory")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_ok(&mp.get("/cgi-bin/wxopen/getcategory").await);

    fault("/wxa/security/get_privacy_interface", "latency", 300).await;
    let started = Instant::now();
    assert_ok(&mp.get("/wxa/security/get_privacy_interface").await);
    assert!(started.elapsed() >= Duration::from_millis(300));

    fault("/wxa/modify_domain", "drop", 0).await;
    let dropped =
        async { mp.client.post(mp.url("/wxa/modify_domain")).body(r#"{"action":"get"}"#).send().await?.bytes().await };
    assert!(dropped.await.is_err(), "a dropped connection");

    let (_, log) = mp.dev_get("/calls?endpoint=/wxa/plugin").await;
    let calls = log["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 2);
    assert_eq!((calls[0]["errcode"].clone(), calls[0]["fault"].clone()), (json!(45009), json!("errcode:45009")));
    assert_eq!((calls[1]["errcode"].clone(), calls[1]["fault"].clone()), (json!(0), Value::Null));
    let (_, log) = mp.dev_get("/calls?endpoint=/cgi-bin/wxopen/getcategory").await;
    let faults: Vec<Value> = log["calls"].as_array().unwrap().iter().map(|c| c["fault"].clone()).collect();
    assert_eq!(faults, vec![json!("http:503"), Value::Null]);
    let (_, log) = mp.dev_get("/calls?endpoint=/wxa/modify_domain").await;
    assert_eq!(log["calls"][0]["fault"], "drop:0");
}

#[tokio::test]
async fn the_reviewer_approves_by_itself_after_the_configured_delay() {
    let app = TestApp::spawn_with(&[("MINIHOST_SANDBOX_REVIEW_DELAY_SECS", "1")]).await;
    let mp = Mp::authorize(&app, ACME_MP, ALL_SETS).await;
    let apply = json!({ "action": "apply", "plugin_appid": TRANSLATION, "reason": "语音搜索" });
    assert_ok(&mp.post("/wxa/plugin", apply).await);
    let food =
        json!([{ "first": 304, "second": 307, "certicates": [{ "key": "食品经营许可证", "value": "media_id_1" }] }]);
    assert_ok(&mp.post("/cgi-bin/wxopen/addcategory", json!({ "categories": food })).await);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let list = mp.post("/wxa/plugin", json!({ "action": "list" })).await;
        let category = mp.get("/cgi-bin/wxopen/getcategory").await;
        if list["plugin_list"][0]["status"] == 2 && category["categories"][0]["audit_status"] == 3 {
            break;
        }
        assert!(Instant::now() < deadline, "no automatic decision: {list} {category}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let reviews = mp.reviews().await;
    assert!(reviews.iter().all(|r| r["status"] == "approved" && r["decided_at"].as_i64().is_some()), "{reviews:?}");
    let event = console_event(&app, "wxa_category_audit", ACME_MP).await;
    assert_eq!(field(&event, "ret"), "3");
}

#[tokio::test]
async fn the_dev_settings_endpoint_replaces_what_is_given() {
    let app = TestApp::spawn().await;
    let mp = Mp::authorize(&app, ACME_MP, ALL_SETS).await;
    let seeded = mp.settings(ACME_MP).await;
    assert_eq!(seeded["nickname"], "Acme Mall");
    assert_eq!(seeded["verified"], true);
    assert_eq!(seeded["icp_status"], 6);
    assert_eq!((seeded["plugins"].clone(), seeded["categories"].clone()), (json!([]), json!([])));
    assert_eq!(seeded["requestdomain"], json!([]));
    assert!(seeded["nickname_under_review"].is_null() && seeded["privacy_setting"].is_null());
    let statuses: Vec<i64> =
        seeded["privacy_interfaces"].as_array().unwrap().iter().map(|i| i["status"].as_i64().unwrap()).collect();
    assert!(statuses.len() >= 6 && statuses.iter().all(|s| *s == 2), "{statuses:?}");

    assert_eq!(mp.dev_get("/accounts/wx0000000000000000/settings").await.0, StatusCode::NOT_FOUND);
    assert_eq!(mp.dev_get(&format!("/accounts/{ACME_OA}/settings")).await.0, StatusCode::NOT_FOUND);
    let (status, _) = mp.dev_post("/accounts/wx0000000000000000/settings", json!({ "icp_status": 6 })).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for bad in [
        json!({ "icp_status": 7 }),
        json!({ "nickname": 5 }),
        json!({ "plugins": [{ "appid": TRANSLATION, "status": 5 }] }),
        json!({ "categories": [{ "first": 1, "second": 2, "audit_status": 3 }] }),
        json!({ "requestdomain": ["ftp://a.example.com"] }),
        json!({ "privacy_interfaces": [{ "api_name": "wx.getLocation", "status": 0 }] }),
        json!({ "colour": "red" }),
        json!([1, 2]),
    ] {
        let (status, v) = mp.dev_post(&format!("/accounts/{ACME_MP}/settings"), bad.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()), "{v}");
    }

    let end = minihost::now() + 30 * 86400;
    let set = mp
        .set(
            ACME_MP,
            json!({
                "nickname": "Acme Shop", "signature": "", "head_image_url": "", "verified": false,
                "annual_review_end_time": end, "icp_status": 1027,
                "plugins": [{ "appid": TRANSLATION, "status": 1 }],
                "categories": [{ "first": 7, "second": 70, "audit_status": 3 }, { "first": 304, "second": 307, "audit_status": 1 }],
                "requestdomain": ["https://api.example.com"],
                "privacy_interfaces": [{ "api_name": "wx.getLocation", "status": 3 }, { "api_name": "wx.chooseAddress", "status": 4, "fail_reason": "场景不符" }],
            }),
        )
        .await;
    assert_eq!(
        (set["nickname"].clone(), set["signature"].clone(), set["verified"].clone()),
        (json!("Acme Shop"), json!(""), json!(false))
    );
    assert_eq!(set["annual_review_end_time"], end);
    assert_eq!(set["icp_status"], 1027);
    assert_eq!(set["requestdomain"], json!(["https://api.example.com"]));
    let iface = |name: &str| {
        set["privacy_interfaces"].as_array().unwrap().iter().find(|i| i["api_name"] == name).unwrap().clone()
    };
    assert_eq!(iface("wx.getLocation")["status"], 3);
    assert!(iface("wx.getLocation")["audit_id"].as_i64().is_some());
    assert_eq!(
        (iface("wx.chooseAddress")["status"].clone(), iface("wx.chooseAddress")["fail_reason"].clone()),
        (json!(4), json!("场景不符"))
    );
    assert_eq!(iface("wx.choosePoi")["status"], 1, "an approved category allows the others");
    // States that wait for the reviewer have a pending review each.
    mp.pending("plugin", TRANSLATION).await;
    mp.pending("category", "304:307").await;
    let location = mp.pending("privacy_interface", "wx.getLocation").await;
    // The API sees the same state.
    let info = mp.get("/cgi-bin/account/getaccountbasicinfo").await;
    assert_eq!(info["wx_verify_info"]["qualification_verify"], false);
    assert_eq!(info["wx_verify_info"]["annual_review_end_time"], 0, "only a verified account has an annual review");
    assert_eq!(mp.get("/wxa/icp/get_icp_entrance_info").await["info"]["status"], 1027);

    // Setting a state by hand replaces the pending review.
    let set = mp
        .set(ACME_MP, json!({ "plugins": [{ "appid": TRANSLATION, "status": 2 }], "privacy_interfaces": [{ "api_name": "wx.getLocation", "status": 5 }] }))
        .await;
    assert_eq!(set["plugins"][0]["status"], 2);
    let reviews = mp.reviews().await;
    assert!(!reviews.iter().any(|r| r["kind"] == "plugin" || r["id"] == location["id"]), "{reviews:?}");
    // Applying again after a rejection by hand works through the API.
    let again = mp
        .post(
            "/wxa/security/apply_privacy_interface",
            json!({ "api_name": "wx.chooseAddress", "content": "收货地址", "url_list": ["https://a.example.com/help"] }),
        )
        .await;
    assert_ok(&again);
}

#[tokio::test]
async fn the_sandbox_page_edits_the_management_state_and_decides_reviews() {
    let app = TestApp::spawn().await;
    let mp = Mp::authorize(&app, ACME_MP, ALL_SETS).await;
    let b = app.browser();
    let page = b.get("/sandbox/").await;
    for label in [
        format!(r#"<label for="signature-{ACME_MP}">Introduction</label>"#),
        format!(r#"<label for="pending-{ACME_MP}">Name under review</label>"#),
        format!(r#"<label for="annual-{ACME_MP}">Annual review deadline</label>"#),
        format!(r#"<label for="icp-{ACME_MP}">ICP filing status</label>"#),
        format!(r#"<label for="plugins-{ACME_MP}">Plugins</label>"#),
        format!(r#"<label for="domains-{ACME_MP}">Request domains (requestdomain)</label>"#),
        r#"<label for="platform-domains-text">"#.to_string(),
    ] {
        page.assert_contains(&label);
    }
    page.assert_contains(r#"name="iface:wx.getLocation""#);
    page.assert_contains("6 · filed");
    page.assert_contains("WeChat&#39;s reviewer");
    page.assert_contains("Nothing has been sent for review yet.");

    let form = |extra: &[(&'static str, &'static str)]| {
        let mut f = vec![
            ("nick_name", "Acme Mall"),
            ("head_img", "https://wx.qlogo.cn/mmhead/sandbox/acme-mall/0"),
            ("principal_name", "Acme Trading Co., Ltd."),
            ("verified", "on"),
        ];
        f.extend_from_slice(extra);
        f
    };
    let saved = b
        .post(
            &format!("/sandbox/accounts/{ACME_MP}"),
            &form(&[
                ("signature", "New introduction"),
                ("nickname_pending", "Acme Mall Plus"),
                ("annual_review_end", "2030-01-31"),
                ("icp_status", "2"),
                ("plugins", "wx069ba97219f66d99 : 1"),
                ("categories", "IT & Technology / Software Service Provider\n商家自营 / 服装/内衣 : 3"),
                ("requestdomain", "https://api.example.com\nhttps://img.example.com"),
                ("iface:wx.getLocation", "5"),
                ("iface_was:wx.getLocation", "2"),
                ("iface:wx.chooseAddress", "2"),
                // Left as the page showed it: it follows the new category.
                ("iface:wx.choosePoi", "2"),
                ("iface_was:wx.choosePoi", "2"),
            ]),
        )
        .await;
    saved.assert_contains("The account was saved.");
    let s = mp.settings(ACME_MP).await;
    assert_eq!(s["signature"], "New introduction");
    assert_eq!(s["nickname_under_review"], "Acme Mall Plus");
    assert_eq!(s["annual_review_end_time"], 1_896_048_000);
    assert_eq!(s["icp_status"], 2);
    assert_eq!(s["plugins"][0]["status"], 1);
    assert_eq!(s["categories"].as_array().unwrap().len(), 2);
    assert_eq!(s["categories"][1]["second_name"], "服装/内衣");
    assert_eq!(s["requestdomain"], json!(["https://api.example.com", "https://img.example.com"]));
    let iface = |name: &str| {
        s["privacy_interfaces"].as_array().unwrap().iter().find(|i| i["api_name"] == name).unwrap()["status"].clone()
    };
    assert_eq!(
        (iface("wx.getLocation"), iface("wx.chooseAddress"), iface("wx.choosePoi")),
        (json!(5), json!(2), json!(1))
    );
    // Bad input keeps everything and says why.
    let bad = b.post(&format!("/sandbox/accounts/{ACME_MP}"), &form(&[("plugins", "not-a-plugin : 2")])).await;
    bad.assert_contains("Write each plugin as AppID");
    let bad =
        b.post(&format!("/sandbox/accounts/{ACME_MP}"), &form(&[("requestdomain", "http://api.example.com")])).await;
    bad.assert_contains("Each request domain must be an https:// domain");
    let bad = b.post(&format!("/sandbox/accounts/{ACME_MP}"), &form(&[("categories", "Nowhere / Nothing")])).await;
    bad.assert_contains("Write each category");
    assert_eq!(mp.settings(ACME_MP).await["requestdomain"], s["requestdomain"]);

    // The queue on the page: approve the plugin, reject the name with a reason.
    let page = b.get("/sandbox/").await;
    let plugin = mp.pending("plugin", TRANSLATION).await;
    let name = mp.pending("nickname", "Acme Mall Plus").await;
    page.assert_contains(&format!(r#"action="/sandbox/reviews/{}""#, plugin["id"].as_str().unwrap()));
    page.assert_contains(&format!(
        r#"<label for="reason-{}">Reason for rejecting</label>"#,
        name["id"].as_str().unwrap()
    ));
    let forged = b
        .post_without_csrf(&format!("/sandbox/reviews/{}", plugin["id"].as_str().unwrap()), &[("decision", "approve")])
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    b.post(&format!("/sandbox/reviews/{}", plugin["id"].as_str().unwrap()), &[("decision", "approve")])
        .await
        .assert_contains("The review was decided.");
    b.post(&format!("/sandbox/reviews/{}", name["id"].as_str().unwrap()), &[("decision", "reject"), ("reason", "")])
        .await
        .assert_contains("Give a reason for rejecting.");
    b.post(
        &format!("/sandbox/reviews/{}", name["id"].as_str().unwrap()),
        &[("decision", "reject"), ("reason", "名称与主体不符")],
    )
    .await
    .assert_contains("The review was decided.");
    b.post(&format!("/sandbox/reviews/{}", name["id"].as_str().unwrap()), &[("decision", "approve")])
        .await
        .assert_contains("This review was already decided.");
    let s = mp.settings(ACME_MP).await;
    assert_eq!(s["plugins"][0]["status"], 2);
    assert!(s["nickname_under_review"].is_null());
    assert_eq!(s["nickname"], "Acme Mall");

    // The platform's domains from the page.
    b.post("/sandbox/platform-domains", &[("domains", "api.example.com\nimg.example.com")])
        .await
        .assert_contains("The platform&#39;s server domains were saved.");
    assert_eq!(mp.dev_get("/platform-domains").await.1, json!({ "domains": ["api.example.com", "img.example.com"] }));
    b.post("/sandbox/platform-domains", &[("domains", "https://api.example.com")])
        .await
        .assert_contains("Write one host name per line");
    // In Chinese too.
    let zh = app.browser_with_language("zh-CN").get("/sandbox/").await;
    zh.assert_contains("微信审核");
    zh.assert_contains("隐私接口");
    zh.assert_contains("已备案");
}
