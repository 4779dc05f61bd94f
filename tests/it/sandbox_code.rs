//! The sandbox's code management over real HTTP, as an independent WeChat client calls
//! it: the template library (component token), commit and the privacy scan, submission
//! for review and its errcodes, WeChat's reviewer (by the dev endpoint, the page and by
//! itself) with its encrypted pushes to the console's message URL, screenshots,
//! withdrawals, speed-ups, the platform's quota, releases and rollbacks, call limits, and
//! the human page's upload form.

use std::time::{Duration, Instant};

use minihost::wechat::crypto::parse_flat_xml;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::sandbox_manage::authorized_tokens;

const ACME_MP: &str = "wx5b1c0a3e7d2f4a01";
const HARBOR_MP: &str = "wx5b1c0a3e7d2f4a03";
const ALL_SETS: &[i64] = &[17, 18, 19, 25, 30, 31, 40];

fn errcode(v: &Value) -> i64 {
    v["errcode"].as_i64().unwrap_or(-99)
}

#[track_caller]
fn assert_ok(v: &Value) {
    assert_eq!((errcode(v), v["errmsg"].as_str()), (0, Some("ok")), "{v}");
}

#[track_caller]
fn assert_errcode(v: &Value, code: i64) {
    assert_eq!(errcode(v), code, "{v}");
}

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("x", s)]).unwrap().trim_start_matches("x=").to_string()
}

/// A WeChat client for one authorized mini program (and the platform's component token),
/// plus the sandbox's dev endpoints.
struct Mp {
    base: String,
    client: reqwest::Client,
    appid: String,
    component_token: String,
    token: String,
}

impl Mp {
    /// Authorizes `appid` with the given permission sets the way the console would.
    async fn authorize(app: &TestApp, appid: &str, funcs: &[i64]) -> Self {
        let (component_token, token) = authorized_tokens(app, appid, funcs).await;
        let client = reqwest::Client::new();
        Self { base: app.base.clone(), client, appid: appid.to_string(), component_token, token }
    }

    fn url_with(&self, path: &str, token: &str) -> String {
        let sep = if path.contains('?') { '&' } else { '?' };
        format!("{}/sandbox/wechat{path}{sep}access_token={}", self.base, urlencode(token))
    }

    async fn json(resp: reqwest::Response, path: &str) -> Value {
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        resp.json().await.unwrap()
    }

    async fn get(&self, path: &str) -> Value {
        Self::json(self.client.get(self.url_with(path, &self.token)).send().await.unwrap(), path).await
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.post_raw(path, &body.to_string()).await
    }

    async fn post_raw(&self, path: &str, body: &str) -> Value {
        let resp = self.client.post(self.url_with(path, &self.token)).body(body.to_string()).send().await.unwrap();
        Self::json(resp, path).await
    }

    /// A template-library call with the component token.
    async fn component_get(&self, path: &str) -> Value {
        Self::json(self.client.get(self.url_with(path, &self.component_token)).send().await.unwrap(), path).await
    }

    async fn component_post(&self, path: &str, body: Value) -> Value {
        let resp = self.client.post(self.url_with(path, &self.component_token)).json(&body).send().await.unwrap();
        Self::json(resp, path).await
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

    async fn dev_ok(&self, path: &str, body: Value) -> Value {
        let (status, v) = self.dev_post(path, body).await;
        assert!(status.is_success(), "{path}: {status} {v}");
        v
    }

    /// Uploads a draft and adds it to the library; returns the template id.
    async fn template(&self, version: &str, privacy_apis: &[&str]) -> i64 {
        let draft = self
            .dev_ok("/drafts", json!({ "user_version": version, "user_desc": "upload", "privacy_apis": privacy_apis }))
            .await;
        assert_ok(
            &self
                .component_post("/wxa/addtotemplate", json!({ "draft_id": draft["draft_id"], "template_type": 0 }))
                .await,
        );
        let list = self.component_get("/wxa/gettemplatelist").await;
        let found = list["template_list"].as_array().unwrap().iter().find(|t| t["draft_id"] == draft["draft_id"]);
        found.unwrap()["template_id"].as_i64().unwrap()
    }

    /// Commits a template with an `ext_json` of this mini program.
    async fn commit(&self, template_id: i64, version: &str, ext: Value) -> Value {
        let mut ext = ext;
        ext["extAppid"] = json!(self.appid);
        self.post(
            "/wxa/commit",
            json!({ "template_id": template_id, "ext_json": ext.to_string(), "user_version": version, "user_desc": format!("desc {version}") }),
        )
        .await
    }

    /// An approved category (IT科技 / 软件服务提供商) for `item_list`.
    async fn approve_category(&self) {
        let body = json!({ "categories": [{ "first": 7, "second": 70, "audit_status": 3 }] });
        self.dev_ok(&format!("/accounts/{}/settings", self.appid), body).await;
    }

    async fn submit(&self) -> Value {
        self.post(
            "/wxa/submit_audit",
            json!({
                "item_list": [{ "address": "pages/index/index", "tag": "工具 软件", "title": "首页",
                    "first_class": "IT科技", "second_class": "软件服务提供商", "first_id": 7, "second_id": 70 }],
                "version_desc": "sandbox test",
                "privacy_api_not_use": true,
            }),
        )
        .await
    }

    /// Commits version `version` of a new template and submits it; returns the auditid.
    async fn committed_and_submitted(&self, version: &str) -> i64 {
        let t = self.template(version, &[]).await;
        assert_ok(&self.commit(t, version, json!({})).await);
        let submitted = self.submit().await;
        assert_ok(&submitted);
        submitted["auditid"].as_i64().unwrap()
    }

    async fn decide(&self, body: Value) -> (StatusCode, Value) {
        self.dev_post(&format!("/code/{}/decide", self.appid), body).await
    }

    async fn status_of(&self, auditid: i64) -> Value {
        let v = self.post("/wxa/get_auditstatus", json!({ "auditid": auditid })).await;
        assert_ok(&v);
        v
    }

    async fn quota(&self) -> Value {
        let v = self.get("/wxa/queryquota").await;
        assert_ok(&v);
        v
    }

    /// The pushes of `event` for this mini program in the push log.
    async fn pushes(&self, event: &str) -> Vec<Value> {
        let (_, v) = self.dev_get("/pushes").await;
        v["pushes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["info_type"] == event && p["authorizer_appid"] == json!(self.appid))
            .cloned()
            .collect()
    }

    /// Waits (bounded) until the push of `event` was accepted by the console's message
    /// URL; returns its fields.
    async fn delivered(&self, event: &str) -> Vec<(String, String)> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let found = self.pushes(event).await.into_iter().next();
            if let Some(p) = found.filter(|p| p["status"] == "delivered") {
                assert_eq!((p["target"].clone(), p["http_status"].clone()), (json!("mp"), json!(200)), "{p}");
                return parse_flat_xml(p["payload"].as_str().unwrap()).unwrap();
            }
            assert!(Instant::now() < deadline, "{event} never reached the console");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or_else(|| panic!("no {name}"))
}

/// Polls `f` until it answers something other than `errcode`, for at most 20 seconds.
async fn until_not<F, Fut>(errcode_waited: i64, mut f: F) -> Value
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Value>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let v = f().await;
        if errcode(&v) != errcode_waited {
            return v;
        }
        assert!(Instant::now() < deadline, "still {errcode_waited}: {v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn the_template_library_takes_drafts_lists_and_deletes_templates() {
    let app = TestApp::spawn().await;
    let mp = Mp::authorize(&app, ACME_MP, ALL_SETS).await;
    // The developers' uploads.
    let (status, v) = mp.dev_post("/drafts", json!({ "user_desc": "no version" })).await;
    assert_eq!((status, v["error"].clone()), (StatusCode::BAD_REQUEST, json!("version_required")));
    let (status, v) = mp.dev_post("/drafts", json!({ "user_version": "1".repeat(65) })).await;
    assert_eq!((status, v["error"].clone()), (StatusCode::BAD_REQUEST, json!("version_too_long")));
    let (status, v) = mp.dev_post("/drafts", json!({ "user_version": "1", "privacy_apis": ["wx.getUserInfo"] })).await;
    assert_eq!((status, v["error"].clone()), (StatusCode::BAD_REQUEST, json!("privacy_api_unknown")));
    let (status, draft) = mp
        .dev_post(
            "/drafts",
            json!({ "user_version": "1.0.0", "user_desc": "首个版本", "privacy_apis": ["getLocation"], "create_time": 1_790_000_000 }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{draft}");
    assert_eq!((draft["draft_id"].clone(), draft["privacy_apis"].clone()), (json!(1), json!(["wx.getLocation"])));
    assert_eq!(mp.dev_get("/drafts").await.1["drafts"][0]["user_version"], "1.0.0");

    let drafts = mp.component_get("/wxa/gettemplatedraftlist").await;
    assert_ok(&drafts);
    assert_eq!(
        drafts["draft_list"],
        json!([{ "create_time": 1_790_000_000, "user_version": "1.0.0", "user_desc": "首个版本", "draft_id": 1 }])
    );
    // Only the component token opens the library.
    assert_errcode(&mp.get("/wxa/gettemplatedraftlist").await, 40001);

    assert_errcode(
        &mp.component_post("/wxa/addtotemplate", json!({ "draft_id": 99, "template_type": 0 })).await,
        85064,
    );
    assert_errcode(&mp.component_post("/wxa/addtotemplate", json!({ "draft_id": 1, "template_type": 7 })).await, 40097);
    assert_ok(&mp.component_post("/wxa/addtotemplate", json!({ "draft_id": 1, "template_type": 1 })).await);
    let list = mp.component_get("/wxa/gettemplatelist").await;
    assert_ok(&list);
    let t = &list["template_list"][0];
    assert_eq!(
        (t["template_id"].clone(), t["draft_id"].clone(), t["template_type"].clone()),
        (json!(1), json!(1), json!(1))
    );
    assert_eq!((t["user_version"].clone(), t["category_list"].clone()), (json!("1.0.0"), json!([])));
    assert!(t["source_miniprogram_appid"].as_str().unwrap().starts_with("wx"));
    assert_eq!((t["audit_status"].clone(), t["reason"].clone()), (json!(0), json!("")));
    assert_eq!(mp.component_get("/wxa/gettemplatelist?template_type=0").await["template_list"], json!([]));
    // The deprecated POST is still answered.
    let posted = mp.component_post("/wxa/gettemplatelist", json!({})).await;
    assert_eq!(posted["template_list"].as_array().unwrap().len(), 1);

    assert_ok(&mp.component_post("/wxa/deletetemplate", json!({ "template_id": 1 })).await);
    assert_errcode(&mp.component_post("/wxa/deletetemplate", json!({ "template_id": 1 })).await, 85064);
    assert_eq!(mp.component_get("/wxa/gettemplatelist").await["template_list"], json!([]));

    // The library holds 200 templates at most.
    app.db(|c| {
        use minihost::sandbox::code::state;
        let draft = state::find_draft(c, 1).unwrap().unwrap();
        for _ in 0..200 {
            state::insert_template(c, &draft, 0, 1_790_000_000).unwrap();
        }
    });
    assert_errcode(&mp.component_post("/wxa/addtotemplate", json!({ "draft_id": 1, "template_type": 0 })).await, 85065);
    assert_ok(&mp.component_post("/wxa/deletetemplate", json!({ "template_id": 201 })).await);
    assert_ok(&mp.component_post("/wxa/addtotemplate", json!({ "draft_id": 1, "template_type": 0 })).await);
    // Ids are never reused.
    let list = mp.component_get("/wxa/gettemplatelist").await;
    assert_eq!(list["template_list"].as_array().unwrap().last().unwrap()["template_id"], 202);
}

#[tokio::test]
async fn commit_checks_its_fields_and_the_privacy_scan_takes_its_time() {
    let app = TestApp::spawn_with(&[("MINIHOST_SANDBOX_PRIVACY_SCAN_SECS", "2")]).await;
    let mp = Mp::authorize(&app, ACME_MP, ALL_SETS).await;
    for path in ["/wxa/get_page", "/wxa/security/get_code_privacy_info", "/wxa/get_latest_auditstatus"] {
        assert_errcode(&mp.get(path).await, 86001);
    }
    let t = mp.template("1.0.0", &["wx.getLocation"]).await;
    let body = |template_id: i64, ext_json: Value, version: Value| json!({ "template_id": template_id, "ext_json": ext_json, "user_version": version, "user_desc": "d" });
    let ext = json!({ "extAppid": ACME_MP, "ext": { "tenant": "acme" } }).to_string();
    assert_errcode(&mp.post("/wxa/commit", body(999, json!(ext), json!("1.0.0"))).await, 85014);
    assert_errcode(&mp.post("/wxa/commit", body(t, json!({ "extAppid": ACME_MP }), json!("1.0.0"))).await, 47001);
    assert_errcode(&mp.post("/wxa/commit", body(t, json!("{\"extAppid\":"), json!("1.0.0"))).await, 85048);
    let other = json!({ "extAppid": HARBOR_MP }).to_string();
    assert_errcode(&mp.post("/wxa/commit", body(t, json!(other), json!("1.0.0"))).await, 85013);
    assert_errcode(&mp.post("/wxa/commit", body(t, json!(ext), json!("1".repeat(65)))).await, 85013);
    assert_errcode(&mp.post("/wxa/commit", body(t, json!(ext), Value::Null)).await, 40097);
    assert_errcode(&mp.post_raw("/wxa/commit", "not json").await, 47001);

    // The code calls wx.getLocation, neither enabled nor declared.
    assert_ok(&mp.post("/wxa/commit", body(t, json!(ext), json!("1.0.0"))).await);
    assert_errcode(&mp.get("/wxa/security/get_code_privacy_info").await, 61039);
    let scanned = until_not(61039, || mp.get("/wxa/security/get_code_privacy_info")).await;
    assert_ok(&scanned);
    assert_eq!(
        (scanned["without_auth_list"].clone(), scanned["without_conf_list"].clone()),
        (json!(["wx.getLocation"]), json!(["wx.getLocation"]))
    );
    // Enabled and declared, the next scan finds nothing.
    mp.dev_ok(
        &format!("/accounts/{ACME_MP}/settings"),
        json!({ "privacy_interfaces": [{ "api_name": "wx.getLocation", "status": 5 }] }),
    )
    .await;
    assert_ok(&mp.commit(t, "1.0.1", json!({ "requiredPrivateInfos": ["getLocation"] })).await);
    assert_errcode(&mp.get("/wxa/security/get_code_privacy_info").await, 61039);
    let scanned = until_not(61039, || mp.get("/wxa/security/get_code_privacy_info")).await;
    assert_eq!((scanned["without_auth_list"].clone(), scanned["without_conf_list"].clone()), (json!([]), json!([])));

    let pages = mp.get("/wxa/get_page").await;
    assert_ok(&pages);
    assert_eq!(pages["page_list"][0], "pages/index/index");
    // Committed but never submitted (85012 is the sandbox's guess).
    assert_errcode(&mp.get("/wxa/get_latest_auditstatus").await, 85012);
    let info = mp.post("/wxa/getversioninfo", json!({})).await;
    assert_ok(&info);
    assert_eq!((info["exp_info"]["exp_version"].clone(), info["release_info"].clone()), (json!("1.0.1"), Value::Null));
    assert!(info["exp_info"]["exp_time"].as_i64().unwrap() > 0);
    assert_errcode(&mp.post_raw("/wxa/getversioninfo", "").await, 44002);
    // The categories for item_list.
    assert_eq!(mp.get("/wxa/get_category").await["category_list"], json!([]));
    mp.approve_category().await;
    assert_eq!(
        mp.get("/wxa/get_category").await["category_list"],
        json!([{ "first_class": "IT科技", "second_class": "软件服务提供商", "third_class": "",
                 "first_id": 7, "second_id": 70, "third_id": 0 }])
    );
    let state = mp.dev_get(&format!("/code/{ACME_MP}")).await.1;
    assert_eq!(
        (state["trial"]["user_version"].clone(), state["trial"]["scan_done"].clone()),
        (json!("1.0.1"), json!(true))
    );
    assert_eq!(mp.dev_get("/code/wx0000000000000000").await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn submit_audit_checks_in_order_and_takes_the_platform_quota() {
    let app = TestApp::spawn_with(&[("MINIHOST_SANDBOX_PRIVACY_SCAN_SECS", "0")]).await;
    let mp = Mp::authorize(&app, ACME_MP, ALL_SETS).await;
    let settings = format!("/accounts/{ACME_MP}/settings");
    // 86002 before anything else: the introduction is empty.
    mp.dev_ok(&settings, json!({ "signature": "" })).await;
    assert_errcode(&mp.submit().await, 86002);
    mp.dev_ok(&settings, json!({ "signature": "Wholesale ordering." })).await;
    assert_errcode(&mp.submit().await, 85086);

    let t = mp.template("2.0.0", &["wx.chooseLocation"]).await;
    assert_ok(&mp.commit(t, "2.0.0", json!({})).await);
    let items = json!([{ "first_id": 7, "second_id": 70, "first_class": "IT科技", "second_class": "软件服务提供商" }]);
    assert_errcode(&mp.post("/wxa/submit_audit", json!({ "item_list": items })).await, 61040);
    let submit = |extra: Value| {
        let mut body = json!({ "item_list": items, "privacy_api_not_use": true });
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        mp.post("/wxa/submit_audit", body)
    };
    assert_errcode(&submit(json!({ "item_list": [] })).await, 85023);
    assert_errcode(&submit(json!({ "item_list": [{ "first_id": 7 }] })).await, 85010);
    // Not an approved category of the account (it has none yet).
    assert_errcode(&submit(json!({})).await, 85008);
    mp.approve_category().await;
    let item = |extra: Value| {
        let mut i = items[0].clone();
        for (k, v) in extra.as_object().unwrap() {
            i[k] = v.clone();
        }
        json!({ "item_list": [i] })
    };
    assert_errcode(&submit(item(json!({ "address": "pages/nowhere/index" }))).await, 85007);
    assert_errcode(&submit(item(json!({ "title": "标".repeat(33) }))).await, 85011);
    assert_errcode(&submit(item(json!({ "tag": "a b c d e f g h i j k" }))).await, 85006);

    let before = mp.quota().await;
    assert_eq!(
        (
            before["rest"].clone(),
            before["limit"].clone(),
            before["speedup_rest"].clone(),
            before["speedup_limit"].clone()
        ),
        (json!(20), json!(20), json!(5), json!(5))
    );
    let submitted = submit(item(json!({ "address": "pages/goods/list?cat=1", "tag": "电商 商品" }))).await;
    assert_ok(&submitted);
    let auditid = submitted["auditid"].as_i64().unwrap();
    assert!((100_000_000..=4_294_967_295).contains(&auditid));
    assert_eq!(mp.quota().await["rest"], 19);
    assert_errcode(&submit(json!({})).await, 85009);

    let status = mp.status_of(auditid).await;
    assert_eq!(
        (status["status"].clone(), status["reason"].clone(), status["screenshot"].clone()),
        (json!(2), json!(""), json!(""))
    );
    assert_errcode(&mp.post("/wxa/get_auditstatus", json!({ "auditid": 123 })).await, 85012);
    let latest = mp.get("/wxa/get_latest_auditstatus").await;
    assert_ok(&latest);
    assert_eq!((latest["auditid"].clone(), latest["status"].clone()), (json!(auditid), json!(2)));
    assert_eq!((latest["user_version"].clone(), latest["user_desc"].clone()), (json!("2.0.0"), json!("desc 2.0.0")));
    assert!(latest.get("ScreenShot").is_some() && latest["submit_audit_time"].as_i64().unwrap() > 0);
    // Another mini program cannot read this one's audit.
    let harbor = Mp::authorize(&app, HARBOR_MP, ALL_SETS).await;
    assert_errcode(&harbor.post("/wxa/get_auditstatus", json!({ "auditid": auditid })).await, 85012);
    // The reviewer's queue has it.
    let reviews = mp.dev_get("/reviews").await.1;
    let r = reviews.as_array().unwrap().iter().find(|r| r["kind"] == "code").unwrap().clone();
    assert_eq!(
        (r["subject"].clone(), r["audit_id"].clone(), r["status"].clone()),
        (json!("2.0.0"), json!(auditid), json!("pending"))
    );

    // No quota left this month: 85085, and nothing is taken.
    assert_ok(&mp.get("/wxa/undocodeaudit").await);
    let (status, q) = mp.dev_post("/quota", json!({ "rest": 0 })).await;
    assert_eq!((status, q["rest"].clone(), q["limit"].clone()), (StatusCode::OK, json!(0), json!(20)));
    let refused = submit(json!({})).await;
    assert_errcode(&refused, 85085);
    assert!(refused["errmsg"].as_str().unwrap().starts_with("submit audit reach limit"), "{refused}");
    assert_eq!(mp.quota().await["rest"], 0);
    assert_eq!(mp.dev_post("/quota", json!({ "rest": -1 })).await.0, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_reviewer_delays_rejects_and_approves_with_pushes_to_the_console() {
    let app = TestApp::spawn_with(&[("MINIHOST_SANDBOX_PRIVACY_SCAN_SECS", "0")]).await;
    let mp = Mp::authorize(&app, ACME_MP, ALL_SETS).await;
    mp.approve_category().await;
    assert_eq!(mp.decide(json!({ "decision": "approve" })).await.0, StatusCode::NOT_FOUND);
    let first = mp.committed_and_submitted("3.0.0").await;

    // Delayed: status 4 with the reason, weapp_audit_delay pushed; still pending.
    let (status, _) = mp.decide(json!({ "decision": "delay" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a delay needs a reason");
    let (status, r) = mp.decide(json!({ "decision": "delay", "reason": "审核排队中" })).await;
    assert_eq!((status, r["status"].clone()), (StatusCode::OK, json!("pending")), "{r}");
    let s = mp.status_of(first).await;
    assert_eq!((s["status"].clone(), s["reason"].clone()), (json!(4), json!("审核排队中")));
    let delay = mp.delivered("weapp_audit_delay").await;
    assert_eq!((field(&delay, "ToUserName"), field(&delay, "MsgType")), ("gh_5b1c0a3e7d01", "event"));
    assert_eq!(field(&delay, "Reason"), "审核排队中");
    assert!(field(&delay, "DelayTime").parse::<i64>().unwrap() > 0);

    // Rejected with two screenshots and an HTML reason.
    let reason = "1:首页无法打开<br>2:请补充测试账号";
    let (status, r) = mp.decide(json!({ "decision": "reject", "reason": reason, "screenshots": 2 })).await;
    assert_eq!((status, r["status"].clone()), (StatusCode::OK, json!("rejected")), "{r}");
    let s = mp.status_of(first).await;
    assert_eq!((s["status"].clone(), s["reason"].clone()), (json!(1), json!(reason)));
    let shots: Vec<String> = s["screenshot"].as_str().unwrap().split('|').map(str::to_string).collect();
    assert_eq!(shots.len(), 2);
    let fail = mp.delivered("weapp_audit_fail").await;
    assert_eq!((field(&fail, "Reason"), field(&fail, "ScreenShot")), (reason, shots.join("|").as_str()));
    assert!(field(&fail, "FailTime").parse::<i64>().unwrap() > 0);
    assert_eq!(mp.decide(json!({ "decision": "approve" })).await.0, StatusCode::NOT_FOUND, "nothing pending now");

    // The screenshots are images for this mini program only.
    let material = |token: &str, media_id: &str| {
        mp.client
            .post(mp.url_with("/cgi-bin/material/get_material", token))
            .json(&json!({ "media_id": media_id }))
            .send()
    };
    let image = material(&mp.token, &shots[0]).await.unwrap();
    assert_eq!(image.headers()["content-type"], "image/png");
    assert!(image.bytes().await.unwrap().starts_with(b"\x89PNG\r\n\x1a\n"));
    let unknown: Value = material(&mp.token, "nope").await.unwrap().json().await.unwrap();
    assert_errcode(&unknown, 40007);
    let harbor = Mp::authorize(&app, HARBOR_MP, ALL_SETS).await;
    let foreign: Value = material(&harbor.token, &shots[1]).await.unwrap().json().await.unwrap();
    assert_errcode(&foreign, 40007);

    // Approved with the push lost: the state says so, nothing is pushed.
    let second = mp.committed_and_submitted("3.0.1").await;
    let review = mp.dev_get("/reviews").await.1;
    let id = review.as_array().unwrap().iter().find(|r| r["audit_id"] == json!(second)).unwrap()["id"].clone();
    let (status, r) = mp
        .dev_post(&format!("/reviews/{}", id.as_str().unwrap()), json!({ "decision": "approve", "lose": true }))
        .await;
    assert_eq!((status, r["status"].clone()), (StatusCode::OK, json!("approved")), "{r}");
    let latest = mp.get("/wxa/get_latest_auditstatus").await;
    assert_eq!((latest["auditid"].clone(), latest["status"].clone()), (json!(second), json!(0)));
    assert!(mp.pushes("weapp_audit_success").await.is_empty(), "a lost decision pushes nothing");
    let (status, v) =
        mp.dev_post(&format!("/reviews/{}", id.as_str().unwrap()), json!({ "decision": "approve" })).await;
    assert_eq!((status, v["error"].clone()), (StatusCode::CONFLICT, json!("already_decided")));

    // Approved and pushed.
    let third = mp.committed_and_submitted("3.0.2").await;
    assert_eq!(mp.decide(json!({ "decision": "approve" })).await.0, StatusCode::OK);
    assert_eq!(mp.status_of(third).await["status"], 0);
    let success = mp.delivered("weapp_audit_success").await;
    assert!(field(&success, "SuccTime").parse::<i64>().unwrap() > 0);

    // Only a code audit can be delayed.
    mp.dev_ok(&format!("/accounts/{ACME_MP}/settings"), json!({ "nickname_under_review": "Acme Mall Plus" })).await;
    let reviews = mp.dev_get("/reviews").await.1;
    let name = reviews.as_array().unwrap().iter().find(|r| r["kind"] == "nickname").unwrap()["id"].clone();
    let (status, v) = mp
        .dev_post(&format!("/reviews/{}", name.as_str().unwrap()), json!({ "decision": "delay", "reason": "x" }))
        .await;
    assert_eq!((status, v["error"].clone()), (StatusCode::BAD_REQUEST, json!("delay_not_code")));
    let state = mp.dev_get(&format!("/code/{ACME_MP}")).await.1;
    assert_eq!(state["audits"][2]["screenshots"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn withdrawals_speed_ups_and_the_shared_quota_are_counted() {
    let app = TestApp::spawn_with(&[("MINIHOST_SANDBOX_PRIVACY_SCAN_SECS", "0")]).await;
    let mp = Mp::authorize(&app, ACME_MP, ALL_SETS).await;
    let harbor = Mp::authorize(&app, HARBOR_MP, ALL_SETS).await;
    mp.approve_category().await;
    assert_errcode(&mp.get("/wxa/undocodeaudit").await, 85020);
    let t = mp.template("4.0.0", &[]).await;
    assert_ok(&mp.commit(t, "4.0.0", json!({})).await);
    for _ in 0..5 {
        assert_ok(&mp.submit().await);
        assert_ok(&mp.get("/wxa/undocodeaudit").await);
    }
    let sixth = mp.submit().await;
    assert_ok(&sixth);
    let auditid = sixth["auditid"].as_i64().unwrap();
    assert_errcode(&mp.get("/wxa/undocodeaudit").await, 87013);
    let state = mp.dev_get(&format!("/code/{ACME_MP}")).await.1;
    assert_eq!(
        (state["withdrawals"]["today"].clone(), state["withdrawals"]["this_month"].clone()),
        (json!(5), json!(5))
    );
    assert_eq!(state["audits"][1]["status"], 3);
    // The withdrawn reviews were closed without a push.
    let reviews = mp.dev_get("/reviews").await.1;
    let withdrawn = reviews.as_array().unwrap().iter().filter(|r| r["status"] == "withdrawn").count();
    assert_eq!(withdrawn, 5);
    // Six submissions took six: withdrawing gives nothing back. The quota is the
    // platform's: every authorizer sees the same.
    let q = mp.quota().await;
    assert_eq!((q["rest"].clone(), q["limit"].clone()), (json!(14), json!(20)));
    assert_eq!(harbor.quota().await, q);

    // Speed-ups.
    assert_errcode(&mp.post("/wxa/speedupaudit", json!({ "auditid": 1 })).await, 85012);
    assert_errcode(&harbor.post("/wxa/speedupaudit", json!({ "auditid": auditid })).await, 85012);
    assert_ok(&mp.post("/wxa/speedupaudit", json!({ "auditid": auditid })).await);
    assert_errcode(&mp.post("/wxa/speedupaudit", json!({ "auditid": auditid })).await, 89404);
    assert_eq!(harbor.quota().await["speedup_rest"], 4);
    let state = mp.dev_get(&format!("/code/{ACME_MP}")).await.1;
    assert_eq!(state["audits"][0]["expedited"], true);
    assert_eq!(mp.decide(json!({ "decision": "approve" })).await.0, StatusCode::OK);
    assert_errcode(&mp.post("/wxa/speedupaudit", json!({ "auditid": auditid })).await, 89402);
    mp.dev_ok("/quota", json!({ "speedup_rest": 0 })).await;
    let next = mp.committed_and_submitted("4.0.1").await;
    assert_errcode(&mp.post("/wxa/speedupaudit", json!({ "auditid": next })).await, 89405);
}

#[tokio::test]
async fn releases_go_live_and_roll_back_once() {
    let app = TestApp::spawn_with(&[("MINIHOST_SANDBOX_PRIVACY_SCAN_SECS", "0")]).await;
    let mp = Mp::authorize(&app, ACME_MP, ALL_SETS).await;
    mp.approve_category().await;
    assert_errcode(&mp.post("/wxa/release", json!({})).await, 85019);
    assert_errcode(&mp.get("/wxa/revertcoderelease").await, 87012);
    mp.committed_and_submitted("5.0.0").await;
    assert_errcode(&mp.post("/wxa/release", json!({})).await, 85019);
    assert_eq!(mp.decide(json!({ "decision": "approve" })).await.0, StatusCode::OK);
    assert_errcode(&mp.post_raw("/wxa/release", "").await, 44002);
    assert_ok(&mp.post("/wxa/release", json!({})).await);
    assert_errcode(&mp.post("/wxa/release", json!({})).await, 85052);
    let info = mp.post("/wxa/getversioninfo", json!({})).await;
    assert_eq!(info["release_info"]["release_version"], "5.0.0");
    assert!(info["release_info"]["release_time"].as_i64().unwrap() > 0);
    // Nothing earlier to go back to.
    assert_errcode(&mp.get("/wxa/revertcoderelease").await, 87012);
    // The released code cannot be submitted again: commit first.
    assert_errcode(&mp.submit().await, 85086);

    mp.committed_and_submitted("5.1.0").await;
    assert_eq!(mp.decide(json!({ "decision": "approve" })).await.0, StatusCode::OK);
    assert_ok(&mp.post("/wxa/release", json!({})).await);
    let history = mp.get("/wxa/revertcoderelease?action=get_history_version").await;
    assert_ok(&history);
    let list = history["version_list"].as_array().unwrap();
    assert_eq!(
        (list.len(), list[0]["user_version"].clone(), list[0]["app_version"].clone()),
        (1, json!("5.0.0"), json!(1))
    );
    assert!(list[0]["commit_time"].as_i64().unwrap() > 0);
    assert_errcode(&mp.get("/wxa/revertcoderelease?app_version=7").await, 87012);
    assert_ok(&mp.get("/wxa/revertcoderelease").await);
    assert_eq!(mp.post("/wxa/getversioninfo", json!({})).await["release_info"]["release_version"], "5.0.0");
    // Never twice in a row.
    assert_errcode(&mp.get("/wxa/revertcoderelease").await, 87012);
    assert_errcode(&mp.get("/wxa/revertcoderelease?app_version=2").await, 87012);
    let state = mp.dev_get(&format!("/code/{ACME_MP}")).await.1;
    assert_eq!((state["release"]["kind"].clone(), state["history"].as_array().unwrap().len()), (json!("rollback"), 3));
}

#[tokio::test]
async fn call_limits_answer_45009_until_cleared() {
    let app = TestApp::spawn().await;
    let mp = Mp::authorize(&app, ACME_MP, ALL_SETS).await;
    let (status, v) =
        mp.dev_post("/limits", json!({ "path": "/wxa/queryquota", "max_calls": 2, "window_secs": 3600 })).await;
    assert_eq!((status, v["limits"][0]["path"].clone()), (StatusCode::OK, json!("/wxa/queryquota")), "{v}");
    assert_eq!(
        mp.dev_post("/limits", json!({ "path": "wxa", "max_calls": 1, "window_secs": 1 })).await.0,
        StatusCode::BAD_REQUEST
    );
    mp.quota().await;
    mp.quota().await;
    let limited = mp.get("/wxa/queryquota").await;
    assert_errcode(&limited, 45009);
    assert!(limited["errmsg"].as_str().unwrap().starts_with("reach max api daily quota limit"));
    assert_errcode(&mp.get("/wxa/queryquota").await, 45009);
    // Other paths are not limited.
    assert_errcode(&mp.get("/wxa/get_page").await, 86001);
    let calls = mp.dev_get("/calls?endpoint=/wxa/queryquota").await.1;
    let codes: Vec<i64> = calls["calls"].as_array().unwrap().iter().map(|c| c["errcode"].as_i64().unwrap()).collect();
    assert_eq!(codes, vec![0, 0, 45009, 45009]);
    assert_eq!(mp.dev_get("/limits").await.1["limits"].as_array().unwrap().len(), 1);
    let resp = mp.client.delete(format!("{}/sandbox/dev/limits", mp.base)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    mp.quota().await;
}

#[tokio::test]
async fn the_reviewer_rejects_or_delays_by_itself_by_the_configured_shares() {
    let app = TestApp::spawn_with(&[
        ("MINIHOST_SANDBOX_PRIVACY_SCAN_SECS", "0"),
        ("MINIHOST_SANDBOX_REVIEW_DELAY_SECS", "1"),
        ("MINIHOST_SANDBOX_REVIEW_DELAY_PERCENT", "100"),
    ])
    .await;
    let mp = Mp::authorize(&app, ACME_MP, ALL_SETS).await;
    mp.approve_category().await;
    let auditid = mp.committed_and_submitted("6.0.0").await;
    // Delayed once, then approved (never delayed twice).
    assert_eq!(status_after(&mp, auditid, 2).await, 4);
    assert_eq!(status_after(&mp, auditid, 4).await, 0);
    mp.delivered("weapp_audit_delay").await;
    mp.delivered("weapp_audit_success").await;

    let app = TestApp::spawn_with(&[
        ("MINIHOST_SANDBOX_PRIVACY_SCAN_SECS", "0"),
        ("MINIHOST_SANDBOX_REVIEW_DELAY_SECS", "1"),
        ("MINIHOST_SANDBOX_REVIEW_REJECT_PERCENT", "100"),
    ])
    .await;
    let mp = Mp::authorize(&app, ACME_MP, ALL_SETS).await;
    mp.approve_category().await;
    let auditid = mp.committed_and_submitted("6.1.0").await;
    assert_eq!(status_after(&mp, auditid, 2).await, 1);
    let s = mp.status_of(auditid).await;
    assert!(s["reason"].as_str().unwrap().contains("<br>") && !s["screenshot"].as_str().unwrap().is_empty());
    mp.delivered("weapp_audit_fail").await;
}

/// Waits (bounded) until the audit's status is no longer `from`; returns the new one.
async fn status_after(mp: &Mp, auditid: i64, from: i64) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status = mp.status_of(auditid).await["status"].as_i64().unwrap();
        if status != from {
            return status;
        }
        assert!(Instant::now() < deadline, "audit {auditid} stayed in status {from}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn the_sandbox_page_uploads_drafts_edits_the_quota_and_decides_code_reviews() {
    let app = TestApp::spawn_with(&[("MINIHOST_SANDBOX_PRIVACY_SCAN_SECS", "0")]).await;
    let mp = Mp::authorize(&app, ACME_MP, ALL_SETS).await;
    let b = app.browser();
    let page = b.get("/sandbox/").await;
    for label in [
        r#"<label for="upload-version">Version</label>"#,
        r#"<label for="upload-desc">Description</label>"#,
        r#"<label for="upload-time">Upload time (optional)</label>"#,
        r#"<label for="upload-api-1">"#,
        r#"<label for="quota-rest">Submissions left</label>"#,
        r#"<label for="quota-speedup-limit">Speed-ups a month</label>"#,
    ] {
        page.assert_contains(label);
    }
    page.assert_contains("Developer upload");
    page.assert_contains("The template library is empty.");

    // Refused: shown again with the input kept and the error beside the field.
    let refused = b
        .post(
            "/sandbox/drafts",
            &[("user_version", ""), ("user_desc", "keep this text"), ("privacy_api", "wx.getLocation")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    refused.assert_contains(r#"<p class="field-error" id="upload-version-error">Enter a version.</p>"#);
    refused.assert_contains("keep this text");
    refused.assert_contains(r#"value="wx.getLocation" checked"#);
    let refused = b.post("/sandbox/drafts", &[("user_version", "7.0.0"), ("create_time", "soon")]).await;
    refused.assert_contains(r#"id="upload-time-error""#);
    refused.assert_contains(r#"value="7.0.0""#);
    assert_eq!(mp.dev_get("/drafts").await.1["drafts"], json!([]));
    let forged = b.post_without_csrf("/sandbox/drafts", &[("user_version", "7.0.0")]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);

    let saved = b
        .post(
            "/sandbox/drafts",
            &[
                ("user_version", "7.0.0"),
                ("user_desc", "From the page"),
                ("create_time", "2026-11-25T08:30"),
                ("privacy_api", "wx.chooseLocation"),
            ],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::OK);
    saved.assert_contains("The draft was uploaded.");
    saved.assert_contains("From the page");
    let drafts = mp.dev_get("/drafts").await.1;
    assert_eq!(
        drafts["drafts"][0],
        json!({ "draft_id": 1, "user_version": "7.0.0", "user_desc": "From the page",
                "privacy_apis": ["wx.chooseLocation"], "create_time": 1_795_595_400 })
    );

    // The quota.
    b.post("/sandbox/quota", &[("rest", "7"), ("limit", "30"), ("speedup_rest", ""), ("speedup_limit", "")])
        .await
        .assert_contains("The audit quota was saved.");
    let q = mp.quota().await;
    assert_eq!((q["rest"].clone(), q["limit"].clone(), q["speedup_rest"].clone()), (json!(7), json!(30), json!(5)));
    b.post("/sandbox/quota", &[("rest", "lots")]).await.assert_contains("Each quota must be a whole number");

    // A code review on the page: delayed, then rejected with screenshots and the push lost.
    mp.approve_category().await;
    assert_ok(&mp.component_post("/wxa/addtotemplate", json!({ "draft_id": 1, "template_type": 0 })).await);
    assert_ok(&mp.commit(1, "7.0.0", json!({})).await);
    let auditid = mp.submit().await["auditid"].as_i64().unwrap();
    let page = b.get("/sandbox/").await;
    let id = mp.dev_get(&format!("/code/{ACME_MP}")).await.1["pending_review"].as_str().unwrap().to_string();
    for label in [
        format!(r#"<label for="delay-reason-{id}">Reason for delaying</label>"#),
        format!(r#"<label for="shots-{id}">Screenshots</label>"#),
        format!(r#"<label for="lose-reject-{id}">Lose the event"#),
    ] {
        page.assert_contains(&label);
    }
    page.assert_contains(&format!("auditid {auditid}"));
    b.post(&format!("/sandbox/reviews/{id}"), &[("decision", "delay"), ("reason", "排队中")])
        .await
        .assert_contains("The review was decided.");
    assert_eq!(mp.status_of(auditid).await["status"], 4);
    b.get("/sandbox/").await.assert_contains("Delayed");
    b.post(&format!("/sandbox/reviews/{id}"), &[("decision", "reject"), ("reason", "r"), ("screenshots", "9")])
        .await
        .assert_contains("A rejection carries 0 to 5 screenshots.");
    b.post(
        &format!("/sandbox/reviews/{id}"),
        &[("decision", "reject"), ("reason", "页面空白"), ("screenshots", "3"), ("lose", "on")],
    )
    .await
    .assert_contains("The review was decided.");
    let s = mp.status_of(auditid).await;
    assert_eq!((s["status"].clone(), s["screenshot"].as_str().unwrap().split('|').count()), (json!(1), 3));
    assert!(mp.pushes("weapp_audit_fail").await.is_empty());
    assert_eq!(mp.pushes("weapp_audit_delay").await.len(), 1);
    // In Chinese too.
    let zh = app.browser_with_language("zh-CN").get("/sandbox/").await;
    zh.assert_contains("开发者上传");
    zh.assert_contains("本月审核额度");
    zh.assert_contains("代码审核");
}
