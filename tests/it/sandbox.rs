//! The WeChat sandbox over real HTTP: component tokens and their errcodes, the
//! authorization page and flow, revocation, faults, restarts and the pushes.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use minihost::config::{
    SANDBOX_COMPONENT_AES_KEY, SANDBOX_COMPONENT_APPID, SANDBOX_COMPONENT_SECRET, SANDBOX_COMPONENT_TOKEN,
};
use minihost::wechat::crypto::{MsgCrypt, parse_flat_xml};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::TestApp;

const ACME_MP: &str = "wx5b1c0a3e7d2f4a01";
const ACME_TRIAL: &str = "wx5b1c0a3e7d2f4a02";
const HARBOR_MP: &str = "wx5b1c0a3e7d2f4a03";
const ACME_OA: &str = "wx5b1c0a3e7d2f4a04";

const TOKEN_PATH: &str = "/cgi-bin/component/api_component_token";

struct Wx {
    base: String,
    client: reqwest::Client,
}

fn errcode(v: &Value) -> i64 {
    v["errcode"].as_i64().unwrap_or(0)
}

impl Wx {
    fn new(app: &TestApp) -> Self {
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Self { base: app.base.clone(), client }
    }

    async fn api(&self, path: &str, token: Option<&str>, body: Value) -> Value {
        let mut url = format!("{}/sandbox/wechat{path}", self.base);
        if let Some(t) = token {
            url.push_str(&format!("?component_access_token={}", urlencode(t)));
        }
        let resp = self.client.post(url).json(&body).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        resp.json().await.unwrap()
    }

    async fn dev(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let resp = self.client.post(format!("{}/sandbox/dev{path}", self.base)).json(&body).send().await.unwrap();
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn get_json(&self, path: &str) -> (StatusCode, Value) {
        let resp = self.client.get(format!("{}{path}", self.base)).send().await.unwrap();
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn ticket(&self) -> String {
        let (status, v) = self.dev("/push-ticket", json!({})).await;
        assert_eq!(status, StatusCode::OK);
        v["ticket"].as_str().unwrap().to_string()
    }

    async fn token_with(&self, ticket: &str) -> Value {
        self.api(
            TOKEN_PATH,
            None,
            json!({
                "component_appid": SANDBOX_COMPONENT_APPID,
                "component_appsecret": SANDBOX_COMPONENT_SECRET,
                "component_verify_ticket": ticket,
            }),
        )
        .await
    }

    async fn component_token(&self) -> String {
        let ticket = self.ticket().await;
        let v = self.token_with(&ticket).await;
        v["component_access_token"].as_str().unwrap_or_else(|| panic!("a token: {v}")).to_string()
    }

    async fn pre_auth_code(&self, token: &str) -> String {
        let v = self
            .api(
                "/cgi-bin/component/api_create_preauthcode",
                Some(token),
                json!({ "component_appid": SANDBOX_COMPONENT_APPID }),
            )
            .await;
        assert_eq!(v["expires_in"], 1800, "{v}");
        v["pre_auth_code"].as_str().unwrap().to_string()
    }

    fn redirect_uri(&self) -> String {
        format!("{}/wechat/authorized?state=abc", self.base)
    }

    /// Authorizes through the dev endpoint; returns the auth code.
    async fn authorize(&self, token: &str, appid: &str, funcs: &[i64]) -> String {
        let pre = self.pre_auth_code(token).await;
        let (status, v) = self
            .dev(
                "/authorize",
                json!({ "pre_auth_code": pre, "appid": appid, "func_ids": funcs, "redirect_uri": self.redirect_uri() }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{v}");
        let code = v["auth_code"].as_str().unwrap().to_string();
        assert!(v["redirect"].as_str().unwrap().contains("?state=abc&auth_code="), "{v}");
        code
    }

    async fn query_auth(&self, token: &str, code: &str) -> Value {
        self.api(
            "/cgi-bin/component/api_query_auth",
            Some(token),
            json!({ "component_appid": SANDBOX_COMPONENT_APPID, "authorization_code": code }),
        )
        .await
    }

    async fn refresh(&self, token: &str, appid: &str, refresh_token: &str) -> Value {
        self.api(
            "/cgi-bin/component/api_authorizer_token",
            Some(token),
            json!({ "component_appid": SANDBOX_COMPONENT_APPID, "authorizer_appid": appid, "authorizer_refresh_token": refresh_token }),
        )
        .await
    }

    async fn info(&self, token: &str, appid: &str) -> Value {
        self.api(
            "/cgi-bin/component/api_get_authorizer_info",
            Some(token),
            json!({ "component_appid": SANDBOX_COMPONENT_APPID, "authorizer_appid": appid }),
        )
        .await
    }

    async fn list(&self, token: &str) -> Value {
        self.api(
            "/cgi-bin/component/api_get_authorizer_list",
            Some(token),
            json!({ "component_appid": SANDBOX_COMPONENT_APPID, "offset": 0, "count": 100 }),
        )
        .await
    }

    async fn pushes(&self) -> Vec<Value> {
        let (_, v) = self.get_json("/sandbox/dev/pushes").await;
        v["pushes"].as_array().cloned().unwrap_or_default()
    }

    /// Waits (bounded) until a push of `info_type` for `appid` has been attempted.
    async fn wait_for_push(&self, info_type: &str, appid: Option<&str>) -> Value {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let found = self.pushes().await.into_iter().find(|p| {
                p["info_type"] == info_type
                    && appid.is_none_or(|a| p["authorizer_appid"] == a)
                    && p["attempts"].as_i64().unwrap_or(0) > 0
                    && p["status"] != "sending"
            });
            if let Some(p) = found {
                return p;
            }
            assert!(Instant::now() < deadline, "no {info_type} push for {appid:?}: {:?}", self.pushes().await);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("x", s)]).unwrap().trim_start_matches("x=").to_string()
}

#[tokio::test]
async fn the_component_token_is_validated_like_wechat() {
    let app = TestApp::spawn().await;
    let wx = Wx::new(&app);
    let ticket = wx.ticket().await;
    let (status, last) = wx.get_json("/sandbox/dev/ticket").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(last["ticket"], ticket.as_str());

    let ok = wx.token_with(&ticket).await;
    assert_eq!(ok["expires_in"], 7200);
    assert!(ok["component_access_token"].as_str().unwrap().len() > 20);
    assert!(ok.get("errcode").is_none());

    let body = |appid: &str, secret: Option<&str>, ticket: &str| {
        let mut b = json!({ "component_appid": appid, "component_verify_ticket": ticket });
        if let Some(s) = secret {
            b["component_appsecret"] = json!(s);
        }
        b
    };
    let cases = [
        (body(SANDBOX_COMPONENT_APPID, None, &ticket), 41004),
        (body(SANDBOX_COMPONENT_APPID, Some("wrong"), &ticket), 40125),
        (body("wx0000000000000000", Some(SANDBOX_COMPONENT_SECRET), &ticket), 61011),
        (body(SANDBOX_COMPONENT_APPID, Some(SANDBOX_COMPONENT_SECRET), "ticket@@@unknown"), 61006),
    ];
    for (b, code) in cases {
        let v = wx.api(TOKEN_PATH, None, b.clone()).await;
        assert_eq!(errcode(&v), code, "{b} -> {v}");
        assert!(v["errmsg"].as_str().unwrap().contains("rid: "));
    }
    // Not JSON at all.
    let resp = wx.client.post(format!("{}/sandbox/wechat{TOKEN_PATH}", app.base)).body("{oops").send().await.unwrap();
    assert_eq!(errcode(&resp.json().await.unwrap()), 47001);
    // A ticket older than 12 hours.
    wx.dev("/expire-tickets", json!({})).await;
    assert_eq!(errcode(&wx.token_with(&ticket).await), 61005);
    // GET is refused as WeChat does.
    let (_, v) = wx.get_json(&format!("/sandbox/wechat{TOKEN_PATH}")).await;
    assert_eq!(errcode(&v), 43002);

    // Token checks on the next endpoint.
    let token = wx.component_token().await;
    let pre = "/cgi-bin/component/api_create_preauthcode";
    let b = json!({ "component_appid": SANDBOX_COMPONENT_APPID });
    assert_eq!(errcode(&wx.api(pre, None, b.clone()).await), 41001);
    assert_eq!(errcode(&wx.api(pre, Some("not-a-token"), b.clone()).await), 40001);
    assert_eq!(errcode(&wx.api(pre, Some(&token), json!({})).await), 41002);
    assert_eq!(errcode(&wx.api(pre, Some(&token), json!({ "component_appid": "wx1" })).await), 61011);
    assert!(
        wx.api(pre, Some(&token), b.clone()).await["pre_auth_code"].as_str().unwrap().starts_with("preauthcode@@@")
    );
    wx.dev("/expire-tokens", json!({})).await;
    assert_eq!(errcode(&wx.api(pre, Some(&token), b.clone()).await), 42001);

    // Every call is in the call log with its errcode.
    let (_, log) = wx.get_json(&format!("/sandbox/dev/calls?endpoint={TOKEN_PATH}")).await;
    let codes: Vec<i64> =
        log["calls"].as_array().unwrap().iter().map(|c| c["errcode"].as_i64().unwrap_or(-99)).collect();
    // The console's own worker calls the same endpoint in between (a token, or a refusal
    // once the tickets expired): this test's refusals appear in order among them.
    let expected = [41004, 40125, 61011, 61006, 47001, 61005, 43002];
    let mut rest = codes.iter();
    let found = expected.iter().take_while(|want| rest.any(|c| c == *want)).count();
    assert_eq!(found, expected.len(), "refusals in order {expected:?} in {log}");
    assert!(codes.contains(&0), "{log}");
    assert_eq!(log["count"].as_u64().unwrap() as usize, codes.len());
}

#[tokio::test]
async fn the_authorization_page_and_the_whole_flow() {
    let app = TestApp::spawn().await;
    let wx = Wx::new(&app);
    let token = wx.component_token().await;
    let pre = wx.pre_auth_code(&token).await;
    let redirect = wx.redirect_uri();
    let page_url = |extra: &str| {
        format!(
            "/sandbox/mp/cgi-bin/componentloginpage?component_appid={SANDBOX_COMPONENT_APPID}&pre_auth_code={}&redirect_uri={}{extra}",
            urlencode(&pre),
            urlencode(&redirect)
        )
    };
    let b = app.browser();

    // Mini programs only: the official account is there but disabled, with the reason.
    let page = b.get(&page_url("&auth_type=2")).await;
    assert_eq!(page.status(), StatusCode::OK);
    page.assert_contains("minihost Sandbox Platform");
    for (appid, name) in [
        (ACME_MP, "Acme Mall"),
        (ACME_TRIAL, "Acme Trial Shop"),
        (HARBOR_MP, "Bright Harbor Foods"),
        (ACME_OA, "Acme Trading"),
    ] {
        page.assert_contains(appid);
        page.assert_contains(name);
    }
    page.assert_contains("Acme Trading Co., Ltd.");
    page.assert_contains("Bright Harbor Food Supply Co., Ltd.");
    page.assert_contains(&format!(r#"id="acct-{ACME_OA}" value="{ACME_OA}" disabled"#));
    page.assert_lacks(&format!(r#"id="acct-{ACME_MP}" value="{ACME_MP}" disabled"#));
    page.assert_contains("This link only accepts mini programs.");
    for id in [17, 18, 19, 25, 30, 31, 40] {
        page.assert_contains(&format!(r#"id="func-mp-{id}" value="{id}" checked"#));
        page.assert_contains(&format!(r#"<label for="func-mp-{id}">"#));
    }
    page.assert_contains("Development management and data analysis");
    page.assert_contains(r#"<label for="func-oa-33">Mini program management</label>"#);
    // Official accounts only: the mini programs are disabled.
    let page = b.get(&page_url("&auth_type=1")).await;
    page.assert_contains(&format!(r#"id="acct-{ACME_MP}" value="{ACME_MP}" disabled"#));
    // Pinned to one AppID: only that account.
    let page = b.get(&page_url(&format!("&biz_appid={HARBOR_MP}"))).await;
    page.assert_contains(HARBOR_MP);
    page.assert_lacks(ACME_MP);
    page.assert_lacks(ACME_OA);
    // The mobile link renders the same page; Chinese too.
    let zh = app.browser_with_language("zh-CN");
    let mobile = zh
        .get(&page_url("&action=bindcomponent&no_scan=1").replace("cgi-bin/componentloginpage", "safe/bindcomponent"))
        .await;
    mobile.assert_contains("授权第三方平台");
    mobile.assert_contains("开发管理与数据分析权限");
    // A wrong component_appid or an unknown code: WeChat's error page.
    b.get(&page_url("").replace(SANDBOX_COMPONENT_APPID, "wx0000000000000000"))
        .await
        .assert_contains("Authorization failed");
    b.get(&page_url("").replace("preauthcode", "nope")).await.assert_contains("authorization link is invalid");

    // Choosing nothing keeps the page (and the code) with a message.
    let form = |appid: Option<&str>, funcs: &[&str]| {
        let mut f: Vec<(String, String)> = vec![
            ("component_appid".into(), SANDBOX_COMPONENT_APPID.into()),
            ("pre_auth_code".into(), pre.clone()),
            ("redirect_uri".into(), redirect.clone()),
            ("auth_type".into(), "2".into()),
        ];
        if let Some(a) = appid {
            f.push(("appid".into(), a.into()));
        }
        f.extend(funcs.iter().map(|id| ("func_id".to_string(), id.to_string())));
        f
    };
    let post = |fields: Vec<(String, String)>| {
        wx.client.post(format!("{}/sandbox/mp/cgi-bin/componentloginpage", app.base)).form(&fields).send()
    };
    let resp = post(form(Some(ACME_OA), &["33"])).await.unwrap();
    assert!(resp.text().await.unwrap().contains("Choose one of the accounts that this link allows."));
    let resp = post(form(Some(ACME_MP), &["33"])).await.unwrap();
    assert!(resp.text().await.unwrap().contains("Choose at least one permission set"));

    // Authorize: a redirect with the code, keeping the console's own parameters.
    let resp = post(form(Some(ACME_MP), &["17", "18", "30", "33"])).await.unwrap();
    assert_eq!(resp.status(), StatusCode::FOUND);
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with(&format!("{}/wechat/authorized?state=abc&auth_code=", app.base)), "{location}");
    assert!(location.ends_with("&expires_in=600"), "{location}");
    let url = reqwest::Url::parse(&location).unwrap();
    let code = url.query_pairs().find(|(k, _)| k == "auth_code").unwrap().1.to_string();
    // The code is single use: the page refuses it now.
    let again = post(form(Some(ACME_MP), &["17"])).await.unwrap();
    assert!(again.text().await.unwrap().contains("already been used"));
    b.get(&page_url("")).await.assert_contains("already been used");

    // The `authorized` push carries the same code and the PreAuthCode.
    let push = wx.wait_for_push("authorized", Some(ACME_MP)).await;
    let payload = parse_flat_xml(push["payload"].as_str().unwrap()).unwrap();
    let field = |name: &str| payload.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
    assert_eq!(field("AuthorizationCode"), code);
    assert_eq!(field("PreAuthCode"), pre);
    assert_eq!(field("AppId"), SANDBOX_COMPONENT_APPID);
    assert!(field("AuthorizationCodeExpiredTime").parse::<i64>().unwrap() > 0);
    assert!(push["http_status"].as_i64().is_some(), "the console answered: {push}");

    // Exchange the code once.
    let auth = wx.query_auth(&token, &code).await;
    let info = &auth["authorization_info"];
    assert_eq!(info["authorizer_appid"], ACME_MP);
    assert_eq!(info["expires_in"], 7200);
    let ids: Vec<i64> =
        info["func_info"].as_array().unwrap().iter().map(|f| f["funcscope_category"]["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, vec![17, 18, 30]);
    let access = info["authorizer_access_token"].as_str().unwrap().to_string();
    let refresh = info["authorizer_refresh_token"].as_str().unwrap().to_string();
    assert_eq!(errcode(&wx.query_auth(&token, &code).await), 61009);
    assert_eq!(errcode(&wx.query_auth(&token, "queryauthcode@@@nope").await), 61009);
    let now = minihost::now();
    assert_eq!(app.db(|c| minihost::sandbox::check_authorizer_token(c, Some(&access), now)), Ok(ACME_MP.to_string()));

    // Details, including mini program information.
    let details = wx.info(&token, ACME_MP).await;
    let ai = &details["authorizer_info"];
    assert_eq!(ai["nick_name"], "Acme Mall");
    assert_eq!(ai["principal_name"], "Acme Trading Co., Ltd.");
    assert_eq!(ai["verify_type_info"]["id"], 0);
    assert_eq!(ai["user_name"], "gh_5b1c0a3e7d01");
    assert_eq!(ai["MiniProgramInfo"]["categories"], json!([]), "a freshly bound mini program has no categories");
    assert!(ai["MiniProgramInfo"]["network"]["RequestDomain"].is_array());
    assert_eq!(details["authorization_info"]["authorizer_refresh_token"], refresh.as_str());
    assert_eq!(errcode(&wx.info(&token, HARBOR_MP).await), 61003);
    // Edits flow into the details.
    let (status, _) = wx
        .dev(&format!("/accounts/{ACME_MP}"), json!({ "nick_name": "Acme Mall 2", "verified": false, "categories": [{"first": "教育服务", "second": "在线教育"}] }))
        .await;
    assert_eq!(status, StatusCode::OK);
    let ai = wx.info(&token, ACME_MP).await["authorizer_info"].clone();
    assert_eq!(ai["nick_name"], "Acme Mall 2");
    assert_eq!(ai["verify_type_info"]["id"], -1);
    assert_eq!(ai["MiniProgramInfo"]["categories"][0]["second"], "在线教育");

    // Refresh: a new access token, the same refresh token.
    let refreshed = wx.refresh(&token, ACME_MP, &refresh).await;
    assert_ne!(refreshed["authorizer_access_token"], access.as_str());
    assert_eq!(refreshed["authorizer_refresh_token"], refresh.as_str());
    assert_eq!(errcode(&wx.refresh(&token, ACME_MP, "refreshtoken@@@wrong").await), 61023);

    // The list.
    let list = wx.list(&token).await;
    assert_eq!(list["total_count"], 1);
    assert_eq!(list["list"][0]["authorizer_appid"], ACME_MP);
    assert_eq!(list["list"][0]["refresh_token"], refresh.as_str());

    // An expired auth code is refused.
    let code2 = wx.authorize(&token, HARBOR_MP, &[18]).await;
    wx.dev("/expire-codes", json!({})).await;
    assert_eq!(errcode(&wx.query_auth(&token, &code2).await), 61010);
    // And an expired pre-auth code shows the error page.
    let pre2 = wx.pre_auth_code(&token).await;
    wx.dev("/expire-codes", json!({})).await;
    let page = b
        .get(&format!(
            "/sandbox/mp/cgi-bin/componentloginpage?component_appid={SANDBOX_COMPONENT_APPID}&pre_auth_code={}&redirect_uri={}",
            urlencode(&pre2),
            urlencode(&redirect)
        ))
        .await;
    page.assert_contains("has expired");
    // A redirect to another site is refused.
    let pre3 = wx.pre_auth_code(&token).await;
    let (status, v) = wx
        .dev("/authorize", json!({ "pre_auth_code": pre3, "appid": ACME_OA, "func_ids": [33], "redirect_uri": "http://evil.example/cb" }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
}

#[tokio::test]
async fn revoking_and_changing_permissions_push_events() {
    let app = TestApp::spawn().await;
    let wx = Wx::new(&app);
    let token = wx.component_token().await;
    let code = wx.authorize(&token, ACME_OA, &[33, 17]).await;
    let info = wx.query_auth(&token, &code).await["authorization_info"].clone();
    assert_eq!(info["func_info"], json!([{ "funcscope_category": { "id": 33 } }]));
    let refresh = info["authorizer_refresh_token"].as_str().unwrap().to_string();
    let access = info["authorizer_access_token"].as_str().unwrap().to_string();
    assert!(wx.info(&token, ACME_OA).await["authorizer_info"].get("MiniProgramInfo").is_none());

    // Re-authorizing replaces the refresh token; the old one fails with 61023.
    let code = wx.authorize(&token, ACME_MP, &[17, 18]).await;
    let first = wx.query_auth(&token, &code).await["authorization_info"]["authorizer_refresh_token"].clone();
    let code = wx.authorize(&token, ACME_MP, &[17, 18, 40]).await;
    let second = wx.query_auth(&token, &code).await["authorization_info"]["authorizer_refresh_token"].clone();
    assert_ne!(first, second);
    assert_eq!(errcode(&wx.refresh(&token, ACME_MP, first.as_str().unwrap()).await), 61023);
    let update = wx.wait_for_push("updateauthorized", Some(ACME_MP)).await;
    assert!(update["payload"].as_str().unwrap().contains("<PreAuthCode>"));

    // Changing the permission sets from the account side.
    let (status, v) = wx.dev("/update-permissions", json!({ "appid": ACME_MP, "func_ids": [18] })).await;
    assert_eq!((status, v["changed"].clone()), (StatusCode::OK, json!(true)));
    let (_, v) = wx.dev("/update-permissions", json!({ "appid": ACME_MP, "func_ids": [18] })).await;
    assert_eq!(v["changed"], false);
    let ids = wx.info(&token, ACME_MP).await["authorization_info"]["func_info"].clone();
    assert_eq!(ids, json!([{ "funcscope_category": { "id": 18 } }]));

    // Revocation: refresh fails with 61023, details with 61003, the access token with 61003.
    let (status, _) = wx.dev("/revoke", json!({ "appid": ACME_OA })).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(errcode(&wx.refresh(&token, ACME_OA, &refresh).await), 61023);
    assert_eq!(errcode(&wx.info(&token, ACME_OA).await), 61003);
    let now = minihost::now();
    assert_eq!(app.db(|c| minihost::sandbox::check_authorizer_token(c, Some(&access), now)), Err(61003));
    assert_eq!(app.db(|c| minihost::sandbox::check_authorizer_token(c, None, now)), Err(41001));
    assert_eq!(app.db(|c| minihost::sandbox::check_authorizer_token(c, Some("x"), now)), Err(40001));
    let (status, _) = wx.dev("/revoke", json!({ "appid": ACME_OA })).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let push = wx.wait_for_push("unauthorized", Some(ACME_OA)).await;
    assert!(!push["payload"].as_str().unwrap().contains("AuthorizationCode"));
    let list = wx.list(&token).await;
    assert_eq!(list["total_count"], 1);
    // Expired authorizer tokens give 42001.
    let access = wx.refresh(&token, ACME_MP, second.as_str().unwrap()).await["authorizer_access_token"]
        .as_str()
        .unwrap()
        .to_string();
    wx.dev("/expire-tokens", json!({})).await;
    let now = minihost::now();
    assert_eq!(app.db(|c| minihost::sandbox::check_authorizer_token(c, Some(&access), now)), Err(42001));
}

#[tokio::test]
async fn faults_apply_to_exactly_the_given_number_of_calls() {
    let app = TestApp::spawn().await;
    let wx = Wx::new(&app);
    let ticket = wx.ticket().await;
    // The console fetches its own component token once the first ticket arrives; that
    // call must not take one of the faults below.
    crate::mini_program::eventually("the console has its component token", || {
        app.db(|c| minihost::db::platform::credential(c, minihost::db::platform::COMPONENT_TOKEN).unwrap()).is_some()
    })
    .await;
    let add = |kind: &str, value: i64, count: i64| {
        wx.dev("/faults", json!({ "endpoint": TOKEN_PATH, "kind": kind, "value": value, "count": count }))
    };
    assert_eq!(add("errcode", -1, 2).await.0, StatusCode::CREATED);
    assert_eq!(errcode(&wx.token_with(&ticket).await), -1);
    assert_eq!(errcode(&wx.token_with(&ticket).await), -1);
    assert_eq!(errcode(&wx.token_with(&ticket).await), 0);

    add("http", 503, 1).await;
    let url = format!("{}/sandbox/wechat{TOKEN_PATH}", app.base);
    let body = json!({ "component_appid": SANDBOX_COMPONENT_APPID, "component_appsecret": SANDBOX_COMPONENT_SECRET, "component_verify_ticket": ticket });
    let resp = wx.client.post(&url).json(&body).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(errcode(&wx.token_with(&ticket).await), 0);

    add("latency", 400, 1).await;
    let started = Instant::now();
    assert_eq!(errcode(&wx.token_with(&ticket).await), 0);
    assert!(started.elapsed() >= Duration::from_millis(400));

    add("drop", 0, 1).await;
    let dropped = async { wx.client.post(&url).json(&body).send().await?.bytes().await };
    assert!(dropped.await.is_err(), "a dropped connection is a transport error");
    assert_eq!(errcode(&wx.token_with(&ticket).await), 0);

    // "*" applies to any endpoint; clearing removes what is left.
    let (status, _) =
        wx.dev("/faults", json!({ "endpoint": "*", "kind": "errcode", "value": 45009, "count": 5 })).await;
    assert_eq!(status, StatusCode::CREATED);
    let v = wx.api("/cgi-bin/component/api_create_preauthcode", None, json!({})).await;
    assert_eq!(errcode(&v), 45009);
    let resp = wx.client.delete(format!("{}/sandbox/dev/faults", app.base)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(errcode(&wx.token_with(&ticket).await), 0);
    let (status, _) = wx.dev("/faults", json!({ "endpoint": "x", "kind": "errcode", "value": 1, "count": 1 })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (_, log) = wx.get_json(&format!("/sandbox/dev/calls?endpoint={TOKEN_PATH}")).await;
    let faults: Vec<String> =
        log["calls"].as_array().unwrap().iter().filter_map(|c| c["fault"].as_str().map(str::to_string)).collect();
    assert_eq!(faults, ["errcode:-1", "errcode:-1", "http:503", "latency:400", "drop:0"]);
}

#[tokio::test]
async fn sandbox_state_survives_a_restart() {
    let app = TestApp::spawn().await;
    let wx = Wx::new(&app);
    let token = wx.component_token().await;
    let code = wx.authorize(&token, HARBOR_MP, &[18, 30]).await;
    let refresh = wx.query_auth(&token, &code).await["authorization_info"]["authorizer_refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    let pre = wx.pre_auth_code(&token).await;

    let app = app.restart().await;
    let wx = Wx::new(&app);
    // The old component token and the authorization are still there.
    let list = wx.list(&token).await;
    assert_eq!(list["total_count"], 1, "{list}");
    assert_eq!(wx.info(&token, HARBOR_MP).await["authorization_info"]["authorizer_refresh_token"], refresh.as_str());
    assert!(wx.refresh(&token, HARBOR_MP, &refresh).await["authorizer_access_token"].is_string());
    // A used code stays used; an unused pre-auth code still works.
    assert_eq!(errcode(&wx.query_auth(&token, &code).await), 61009);
    let (status, v) = wx
        .dev(
            "/authorize",
            json!({ "pre_auth_code": pre, "appid": ACME_MP, "func_ids": [17], "redirect_uri": wx.redirect_uri() }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
}

#[tokio::test]
async fn the_pusher_reaches_the_console_event_url() {
    // Pushes go to the app's own /wechat/component/events (whatever it answers).
    let app = TestApp::spawn_with(&[("MINIHOST_SANDBOX_TICKET_INTERVAL", "1")]).await;
    let wx = Wx::new(&app);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let tickets: Vec<Value> = wx
            .pushes()
            .await
            .into_iter()
            .filter(|p| p["info_type"] == "component_verify_ticket" && p["http_status"].as_i64().is_some())
            .collect();
        if tickets.len() >= 2 {
            break;
        }
        assert!(Instant::now() < deadline, "tickets pushed every second: {tickets:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, v) = wx.get_json("/sandbox/dev/ticket").await;
    assert_eq!(status, StatusCode::OK);
    assert!(v["ticket"].as_str().unwrap().starts_with("ticket@@@"));
    let page = app.browser().get("/sandbox/").await;
    page.assert_contains(v["ticket"].as_str().unwrap());
    page.assert_contains("component_verify_ticket");
}

type Received = Arc<Mutex<Vec<(String, String)>>>;

/// A stand-in console that records what reaches `/wechat/component/events`.
async fn stub_console() -> (String, Received) {
    use actix_web::{App, HttpRequest, HttpServer, web};
    let received: Received = Arc::default();
    let data = web::Data::new(received.clone());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = HttpServer::new(move || {
        App::new().app_data(data.clone()).route(
            "/wechat/component/events",
            web::post().to(|req: HttpRequest, body: String, seen: web::Data<Received>| async move {
                seen.lock().unwrap().push((req.query_string().to_string(), body));
                "success"
            }),
        )
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    (url, received)
}

#[tokio::test]
async fn pushes_are_encrypted_and_signed_like_wechat() {
    let (console, received) = stub_console().await;
    let app = TestApp::spawn_with(&[("MINIHOST_PUBLIC_URL", &console)]).await;
    let wx = Wx::new(&app);
    let (_, v) = wx.dev("/push-ticket", json!({})).await;
    assert_eq!(v["http_status"], 200);
    assert_eq!(v["delivered"], true);
    let ticket = v["ticket"].as_str().unwrap().to_string();
    let crypt = MsgCrypt::new(SANDBOX_COMPONENT_TOKEN, SANDBOX_COMPONENT_AES_KEY, SANDBOX_COMPONENT_APPID).unwrap();
    // Every push the console received is verified and opened; the one asked for is among
    // them (the sandbox's own ticket at start may arrive before or after it).
    let pushes = received.lock().unwrap().clone();
    assert!(!pushes.is_empty(), "the console received the push");
    let mut found = false;
    for (query, body) in pushes {
        let q: std::collections::HashMap<String, String> = serde_urlencoded::from_str(&query).unwrap();
        assert_eq!(q["encrypt_type"], "aes");
        assert_eq!(q["signature"], crypt.plain_signature(&q["timestamp"], &q["nonce"]));
        let envelope = parse_flat_xml(&body).unwrap();
        assert_eq!(envelope[0], ("AppId".to_string(), SANDBOX_COMPONENT_APPID.to_string()));
        let xml = crypt.open_envelope(&body, &q["msg_signature"], &q["timestamp"], &q["nonce"]).unwrap();
        let fields = parse_flat_xml(&xml).unwrap();
        assert!(fields.contains(&("InfoType".to_string(), "component_verify_ticket".to_string())));
        found |= fields.contains(&("ComponentVerifyTicket".to_string(), ticket.clone()));
    }
    assert!(found, "the pushed ticket reached the console");
    // The push log records the delivery.
    let push = wx.wait_for_push("component_verify_ticket", None).await;
    assert_eq!(push["status"], "delivered");
    assert_eq!(push["http_status"], 200);
    // api_start_push_ticket pushes too.
    let before = received.lock().unwrap().len();
    let v = wx
        .api(
            "/cgi-bin/component/api_start_push_ticket",
            None,
            json!({ "component_appid": SANDBOX_COMPONENT_APPID, "component_secret": SANDBOX_COMPONENT_SECRET }),
        )
        .await;
    assert_eq!((errcode(&v), v["errmsg"].clone()), (0, json!("ok")));
    assert!(received.lock().unwrap().len() > before);
    let v = wx
        .api(
            "/cgi-bin/component/api_start_push_ticket",
            None,
            json!({ "component_appid": SANDBOX_COMPONENT_APPID, "component_secret": "x" }),
        )
        .await;
    assert_eq!(errcode(&v), 40125);
}

#[tokio::test]
async fn the_sandbox_page_drives_the_simulation() {
    let app = TestApp::spawn().await;
    let wx = Wx::new(&app);
    let token = wx.component_token().await;
    let code = wx.authorize(&token, ACME_MP, &[17, 18]).await;
    wx.query_auth(&token, &code).await;
    let b = app.browser();
    let page = b.get("/sandbox/").await;
    page.assert_contains("Acme Mall");
    page.assert_contains("Revoke authorization");
    page.assert_contains(&format!(r#"<label for="name-{ACME_MP}">"#));
    // Without the CSRF token the forms are refused.
    let forged = b.post_without_csrf(&format!("/sandbox/accounts/{ACME_MP}/revoke"), &[]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    // Edit, change permissions, revoke, add a fault.
    let saved = b
        .post(
            &format!("/sandbox/accounts/{ACME_MP}"),
            &[
                ("nick_name", "Acme Renamed"),
                ("head_img", ""),
                ("principal_name", "Acme Trading Co., Ltd."),
                ("categories", "商家自营 / 食品"),
            ],
        )
        .await;
    saved.assert_contains("The account was saved.");
    let ai = wx.info(&token, ACME_MP).await["authorizer_info"].clone();
    assert_eq!(ai["nick_name"], "Acme Renamed");
    assert_eq!(ai["verify_type_info"]["id"], -1);
    assert_eq!(ai["MiniProgramInfo"]["categories"][0]["second"], "食品");
    b.post(&format!("/sandbox/accounts/{ACME_MP}/permissions"), &[("func_id", "18"), ("func_id", "40")])
        .await
        .assert_contains("The permission sets were changed");
    wx.wait_for_push("updateauthorized", Some(ACME_MP)).await;
    b.post(&format!("/sandbox/accounts/{ACME_MP}/revoke"), &[]).await.assert_contains("The authorization was revoked");
    wx.wait_for_push("unauthorized", Some(ACME_MP)).await;
    b.post("/sandbox/faults", &[("endpoint", TOKEN_PATH), ("kind", "http"), ("value", "502"), ("count", "3")])
        .await
        .assert_contains("The fault was added.");
    let (_, faults) = wx.get_json("/sandbox/dev/faults").await;
    assert_eq!(faults["faults"][0]["remaining"], 3);
    b.post("/sandbox/faults/clear", &[]).await.assert_contains("All faults were cleared.");
    b.post("/sandbox/push-ticket", &[]).await.assert_contains("A new ticket was pushed.");
    app.browser_with_language("zh-CN").get("/sandbox/").await.assert_contains("故障注入");
}

#[tokio::test]
async fn the_sandbox_pages_are_wechats_not_the_consoles() {
    let app = TestApp::spawn().await;
    let wx = Wx::new(&app);
    let token = wx.component_token().await;
    let pre = wx.pre_auth_code(&token).await;
    // Even for a signed-in operator, the authorization page shows no console header and
    // sets no console session.
    let op = app.operator().await;
    let url = format!(
        "/sandbox/mp/cgi-bin/componentloginpage?component_appid={SANDBOX_COMPONENT_APPID}&pre_auth_code={}&redirect_uri={}",
        urlencode(&pre),
        urlencode(&wx.redirect_uri())
    );
    let resp = op.client.get(op.url(&url)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers().get_all("set-cookie").iter().all(|c| !c.to_str().unwrap().starts_with("minihost_session")));
    let page = resp.text().await.unwrap();
    for console in ["/static/app.css", "class=\"topbar\"", "/logout", "/operator/applications"] {
        assert!(!page.contains(console), "{console} on the authorization page");
    }
    // The sandbox's own look, in its own stylesheet (no inline style under the CSP).
    assert!(
        page.contains("WeChat sandbox") && page.contains("/sandbox/static/sandbox.css"),
        "the sandbox's own layout"
    );
    let css = op.client.get(op.url("/sandbox/static/sandbox.css")).send().await.unwrap().text().await.unwrap();
    assert!(css.contains("#07c160"), "WeChat's green");
    assert!(page.contains("minihost Sandbox Platform"));

    // The human page: its own CSRF cookie, no console session.
    let b = app.browser();
    let resp = b.client.get(b.url("/sandbox/")).send().await.unwrap();
    let cookies: Vec<String> =
        resp.headers().get_all("set-cookie").iter().map(|c| c.to_str().unwrap().to_string()).collect();
    assert!(cookies.iter().all(|c| !c.starts_with("minihost_session")), "{cookies:?}");
    let csrf = cookies.iter().find(|c| c.starts_with("sandbox_csrf=")).expect("a sandbox CSRF cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/sandbox"] {
        assert!(csrf.contains(attribute), "{csrf}");
    }
    let page = b.get("/sandbox/").await;
    page.assert_lacks("/static/app.css");
    page.assert_contains("WeChat sandbox");
    // A token copied from the page but sent without the cookie is refused with the sandbox's page.
    let token = page.body.split(r#"name="csrf_token" value=""#).nth(1).unwrap().split('"').next().unwrap();
    let stranger = app.browser();
    let forged = stranger.post_without_csrf("/sandbox/faults/clear", &[("csrf_token", token)]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    forged.assert_contains("Request refused");
    forged.assert_lacks("/static/app.css");
    // The language switch is the sandbox's own and is remembered.
    let zh = app.browser();
    zh.get("/sandbox/?lang=zh-CN").await.assert_contains("故障注入");
    zh.get("/sandbox/").await.assert_contains("微信沙箱");
    // Unknown paths under the sandbox's prefixes are its own 404s.
    let unknown = app.browser().get("/sandbox/mp/nope").await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    unknown.assert_contains("WeChat sandbox");
    assert_eq!(wx.get_json("/sandbox/dev/nope").await.0, StatusCode::NOT_FOUND);
    // The dev mailbox is still the console's page, open without logging in.
    let mailbox = app.browser().get("/sandbox/mailbox").await;
    assert_eq!(mailbox.status(), StatusCode::OK);
    mailbox.assert_contains("Dev mailbox");
}

#[tokio::test]
async fn with_the_sandbox_off_there_is_no_sandbox_and_no_sandbox_table() {
    let app = TestApp::spawn_with(&[
        ("MINIHOST_SANDBOX", "off"),
        ("MINIHOST_WECHAT_API_BASE", "http://127.0.0.1:9/wechat"),
        ("MINIHOST_WECHAT_MP_BASE", "http://127.0.0.1:9/mp"),
    ])
    .await;
    let missing = app.db(|c| {
        use diesel::RunQueryDsl;
        diesel::sql_query("SELECT count(*) FROM sandbox_accounts").execute(c)
    });
    assert!(missing.is_err(), "sandbox_accounts exists: {missing:?}");
    let b = app.browser();
    for path in ["/sandbox/", "/sandbox", "/sandbox/dev/ticket", "/sandbox/mailbox"] {
        assert_eq!(b.get(path).await.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let resp = b.client.post(b.url("/sandbox/wechat/cgi-bin/component/api_component_token")).send().await.unwrap();
    assert_ne!(resp.status(), StatusCode::OK);
}
