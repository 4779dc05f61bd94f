//! The sandbox's Alipay gateway, talked to as an outside client would: RSA2-signed requests
//! built with `minihost::pay::alipay` and the test's own keys, answers verified with the
//! published Alipay public key; the buyer paying through the dev endpoint and the page; signed
//! notifications to a small receiver that refuses the first one; refunds and closing.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use minihost::pay::alipay::{self, verify_notification, verify_response};
use minihost::pay::alipay_client::{AlipayClient, App as ClientApp};
use minihost::pay::keys::{PrivateKey, PublicKey};
use minihost::sandbox::pay::{ALIPAY_DEMO_APP_ID, ALIPAY_DEMO_APP_KEY_PEM, ALIPAY_PUBLIC_KEY_PEM};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::mini_program::eventually;

const OTHER_KEY: &str = include_str!("../fixtures/pay/other_key.pem");
const OTHER_PUBLIC_KEY: &str = include_str!("../fixtures/pay/other_public_key.pem");
/// Retries in milliseconds instead of minutes.
const FAST: &[(&str, &str)] = &[("MINIHOST_SANDBOX_PAY_RETRY_DIVISOR", "1000")];

/// An application's side of the gateway.
struct Client {
    base: String,
    http: reqwest::Client,
    app_id: String,
    key: PrivateKey,
}

impl Client {
    fn new(app: &TestApp, app_id: &str, key_pem: &str) -> Self {
        let key = PrivateKey::parse(key_pem).unwrap();
        Self { base: app.base.clone(), http: reqwest::Client::new(), app_id: app_id.to_string(), key }
    }

    fn gateway(&self) -> String {
        format!("{}/sandbox/alipay/gateway.do", self.base)
    }

    /// The common parameters of a call, signed (after `extra` is applied; an empty value
    /// removes a parameter).
    fn params(&self, method: &str, biz: &Value, extra: &[(&str, &str)]) -> BTreeMap<String, String> {
        let mut p: BTreeMap<String, String> = [
            ("app_id", self.app_id.as_str()),
            ("method", method),
            ("format", "JSON"),
            ("charset", "utf-8"),
            ("sign_type", "RSA2"),
            ("version", "1.0"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        p.insert("timestamp".into(), alipay::timestamp(minihost::now()));
        p.insert("biz_content".into(), biz.to_string());
        for (k, v) in extra {
            if v.is_empty() {
                p.remove(*k);
            } else {
                p.insert((*k).into(), (*v).into());
            }
        }
        alipay::sign_request(&mut p, &self.key);
        p
    }

    async fn post(&self, params: &BTreeMap<String, String>) -> String {
        let resp = self
            .http
            .post(self.gateway())
            .header("Content-Type", "application/x-www-form-urlencoded;charset=utf-8")
            .body(serde_urlencoded::to_string(params).unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        resp.text().await.unwrap()
    }

    /// Calls a method and returns its node, verified with the Alipay public key.
    async fn call(&self, method: &str, biz: Value) -> Value {
        self.call_with(method, biz, &[]).await
    }

    async fn call_with(&self, method: &str, biz: Value, extra: &[(&str, &str)]) -> Value {
        let body = self.post(&self.params(method, &biz, extra)).await;
        verify_response(method, &body, &alipay_public_key()).unwrap_or_else(|e| panic!("{e}: {body}"))
    }

    async fn precreate(&self, out_trade_no: &str, amount: &str, notify_url: Option<&str>) -> Value {
        let biz = json!({"out_trade_no": out_trade_no, "total_amount": amount, "subject": "Acme membership"});
        self.call_with("alipay.trade.precreate", biz, &[("notify_url", notify_url.unwrap_or(""))]).await
    }

    async fn query(&self, out_trade_no: &str) -> Value {
        self.call("alipay.trade.query", json!({ "out_trade_no": out_trade_no })).await
    }
}

fn alipay_public_key() -> PublicKey {
    PublicKey::parse(ALIPAY_PUBLIC_KEY_PEM).unwrap()
}

#[track_caller]
fn assert_success(node: &Value) {
    assert_eq!((node["code"].as_str(), node["msg"].as_str()), (Some("10000"), Some("Success")), "{node}");
}

#[track_caller]
fn assert_refused(node: &Value, code: &str, sub_code: &str) {
    assert_eq!((node["code"].as_str(), node["sub_code"].as_str()), (Some(code), Some(sub_code)), "{node}");
}

async fn dev_post(app: &TestApp, path: &str, body: Value) -> (StatusCode, Value) {
    let resp =
        reqwest::Client::new().post(format!("{}/sandbox/dev/alipay{path}", app.base)).json(&body).send().await.unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn dev_get(app: &TestApp, path: &str) -> Value {
    reqwest::get(format!("{}/sandbox/dev/alipay{path}", app.base)).await.unwrap().json().await.unwrap()
}

/// Registers an application whose key pair is the test's "other" key.
async fn register_other_app(app: &TestApp) -> Client {
    let (status, v) = dev_post(
        app,
        "/apps",
        json!({"name": "Bright Harbor Food Supply Co., Ltd.", "app_public_key": OTHER_PUBLIC_KEY}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["alipay_public_key"], ALIPAY_PUBLIC_KEY_PEM);
    let app_id = v["app_id"].as_str().unwrap();
    assert!(app_id.len() == 16 && app_id.bytes().all(|b| b.is_ascii_digit()), "{app_id}");
    Client::new(app, app_id, OTHER_KEY)
}

type Seen = Arc<Mutex<Vec<BTreeMap<String, String>>>>;

/// A merchant's notify_url: records every form and answers `fail` to the first, `success`
/// after that.
async fn receiver() -> (String, Seen) {
    use actix_web::{App, HttpServer, web};
    let seen: Seen = Arc::default();
    let data = web::Data::new(seen.clone());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/alipay/notify", listener.local_addr().unwrap());
    let server = HttpServer::new(move || {
        App::new().app_data(data.clone()).route(
            "/alipay/notify",
            web::post().to(|form: web::Form<BTreeMap<String, String>>, seen: web::Data<Seen>| async move {
                let mut seen = seen.lock().unwrap();
                seen.push(form.into_inner());
                if seen.len() == 1 { "fail" } else { "success" }
            }),
        )
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    (url, seen)
}

#[tokio::test]
async fn alipay_query_of_an_unknown_trade_is_a_signed_business_failure() {
    let app = TestApp::spawn().await;
    let demo = Client::new(&app, ALIPAY_DEMO_APP_ID, ALIPAY_DEMO_APP_KEY_PEM);
    let node = demo.query("no_such_order").await;
    assert_refused(&node, "40004", "ACQ.TRADE_NOT_EXIST");
    assert_eq!(node["msg"], "Business Failed");
    assert_eq!(node["sub_msg"], "交易不存在");

    // The console's own client agrees, over GET as well.
    let client = AlipayClient::new(&demo.gateway());
    let creds =
        ClientApp { app_id: ALIPAY_DEMO_APP_ID.into(), key: demo.key.clone(), alipay_public_key: alipay_public_key() };
    let err = client.call(&creds, "alipay.trade.query", &json!({"out_trade_no": "x"}), None).await.unwrap_err();
    assert_eq!(err.sub_code(), Some("ACQ.TRADE_NOT_EXIST"));
    let params = demo.params("alipay.trade.query", &json!({"trade_no": "2026"}), &[]);
    let query = serde_urlencoded::to_string(&params).unwrap();
    let body = reqwest::get(format!("{}?{query}", demo.gateway())).await.unwrap().text().await.unwrap();
    let node = verify_response("alipay.trade.query", &body, &alipay_public_key()).unwrap();
    assert_refused(&node, "40004", "ACQ.TRADE_NOT_EXIST");

    let apps = dev_get(&app, "/apps").await;
    let demo_app = apps["apps"].as_array().unwrap().iter().find(|a| a["app_id"] == ALIPAY_DEMO_APP_ID).unwrap();
    assert_eq!(demo_app["name"], "Acme Trading Co., Ltd.");
}

#[tokio::test]
async fn alipay_gateway_refuses_bad_signatures_unknown_apps_and_stale_timestamps() {
    let app = TestApp::spawn().await;
    // Signed with a key that is not the demo application's.
    let forged = Client::new(&app, ALIPAY_DEMO_APP_ID, OTHER_KEY);
    let params = forged.params("alipay.trade.query", &json!({"out_trade_no": "o1"}), &[]);
    let body = forged.post(&params).await;
    let node = verify_response("alipay.trade.query", &body, &alipay_public_key()).unwrap();
    assert_refused(&node, "40002", "isv.invalid-signature");
    assert_eq!(node["msg"], "Invalid Arguments");
    let expected = format!(
        "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为：{}",
        alipay::request_content(&params)
    );
    assert_eq!(node["sub_msg"], expected.as_str());

    // An unknown app is answered unsigned.
    let stranger = Client::new(&app, "2021009999999999", OTHER_KEY);
    let body = stranger.post(&stranger.params("alipay.trade.query", &json!({"out_trade_no": "o1"}), &[])).await;
    let parsed: Value = serde_json::from_str(&body).unwrap();
    assert!(parsed.get("sign").is_none(), "{body}");
    assert_eq!(
        parsed["alipay_trade_query_response"],
        json!({"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-app-id", "sub_msg": "无效的AppID参数"})
    );
    let missing = Client::new(&app, "", OTHER_KEY);
    let body = missing.post(&missing.params("alipay.trade.query", &json!({}), &[("app_id", "")])).await;
    assert!(body.contains("isv.invalid-app-id") && !body.contains("\"sign\""), "{body}");

    let demo = Client::new(&app, ALIPAY_DEMO_APP_ID, ALIPAY_DEMO_APP_KEY_PEM);
    let stale = alipay::timestamp(minihost::now() - 16 * 60);
    let node = demo.call_with("alipay.trade.query", json!({"out_trade_no": "o1"}), &[("timestamp", &stale)]).await;
    assert_refused(&node, "40002", "isv.invalid-timestamp");
    let node = demo.call_with("alipay.trade.query", json!({"out_trade_no": "o1"}), &[("timestamp", "yesterday")]).await;
    assert_refused(&node, "40002", "isv.invalid-timestamp");
    let node = demo.call_with("alipay.trade.query", json!({"out_trade_no": "o1"}), &[("sign_type", "RSA")]).await;
    assert_refused(&node, "40002", "isv.invalid-signature-type");
    let mut unsigned = demo.params("alipay.trade.query", &json!({"out_trade_no": "o1"}), &[]);
    unsigned.remove("sign");
    let node = verify_response("alipay.trade.query", &demo.post(&unsigned).await, &alipay_public_key()).unwrap();
    assert_refused(&node, "40002", "isv.missing-signature");

    // An unknown method is answered in error_response, signed.
    let body = demo.post(&demo.params("alipay.trade.nothing", &json!({}), &[])).await;
    let node = verify_response("error", &body, &alipay_public_key()).unwrap();
    assert_refused(&node, "40002", "isv.invalid-method");
    assert_eq!(node["sub_msg"], "不存在的方法名");

    // Business fields.
    let node = demo.precreate("bad-no", "1.00", None).await;
    assert_refused(&node, "40002", "isv.invalid-parameter");
    let node = demo.precreate("o1", "1.234", None).await;
    assert_refused(&node, "40002", "isv.invalid-parameter");
    let node = demo.precreate("o1", "0.00", None).await;
    assert_refused(&node, "40002", "isv.invalid-parameter");
    let node = demo.call("alipay.trade.precreate", json!({"out_trade_no": "o1", "total_amount": "1.00"})).await;
    assert_refused(&node, "40002", "isv.missing-parameter");
    let node = demo.call_with("alipay.trade.query", json!({}), &[("biz_content", "not json")]).await;
    assert_refused(&node, "40002", "isv.invalid-parameter");
}

#[tokio::test]
async fn alipay_precreate_pay_and_a_notification_retried_until_success() {
    let app = TestApp::spawn_with(FAST).await;
    let (notify_url, seen) = receiver().await;
    let shop = register_other_app(&app).await;

    let node = shop.precreate("order_1001", "88.8", Some(&notify_url)).await;
    assert_success(&node);
    assert_eq!(node["out_trade_no"], "order_1001");
    let qr = node["qr_code"].as_str().unwrap().to_string();
    assert!(qr.starts_with("https://qr.alipay.com/"), "{qr}");
    // The same order again: the same QR code; another amount is refused.
    assert_eq!(shop.precreate("order_1001", "88.80", Some(&notify_url)).await["qr_code"], qr.as_str());
    assert_refused(&shop.precreate("order_1001", "88.81", None).await, "40004", "ACQ.INVALID_PARAMETER");
    let node = shop.query("order_1001").await;
    assert_success(&node);
    assert_eq!((node["trade_status"].as_str(), node["total_amount"].as_str()), (Some("WAIT_BUYER_PAY"), Some("88.80")));
    // Another application does not see this trade.
    let demo = Client::new(&app, ALIPAY_DEMO_APP_ID, ALIPAY_DEMO_APP_KEY_PEM);
    assert_refused(&demo.query("order_1001").await, "40004", "ACQ.TRADE_NOT_EXIST");

    // The buyer scans and pays.
    let (status, trade) = dev_post(&app, "/pay", json!({ "qr_code": qr })).await;
    assert_eq!(status, StatusCode::OK, "{trade}");
    assert_eq!(trade["trade_status"], "TRADE_SUCCESS");
    let trade_no = trade["trade_no"].as_str().unwrap().to_string();
    assert_eq!(trade_no.len(), 28);
    assert_eq!(&trade_no[8..10], "22");
    let (status, again) = dev_post(&app, "/pay", json!({ "app_id": shop.app_id, "out_trade_no": "order_1001" })).await;
    assert_eq!((status, again["trade_status"].as_str()), (StatusCode::CONFLICT, Some("TRADE_SUCCESS")));
    let (status, _) = dev_post(&app, "/pay", json!({ "qr_code": "https://qr.alipay.com/nothing" })).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let node = shop.query("order_1001").await;
    assert_success(&node);
    assert_eq!(node["trade_status"], "TRADE_SUCCESS");
    assert_eq!(node["trade_no"], trade_no.as_str());
    assert_eq!(node["buyer_pay_amount"], "88.80");
    assert!(node["send_pay_date"].as_str().is_some());
    assert_refused(&shop.precreate("order_1001", "88.80", None).await, "40004", "ACQ.TRADE_HAS_SUCCESS");

    // The notification: refused once ("fail"), sent again, then delivered.
    let notifications = || async { dev_get(&app, "/notifications").await };
    let mut delivered = Value::Null;
    for _ in 0..400 {
        let v = notifications().await;
        if v["notifications"][0]["status"] == "delivered" {
            delivered = v["notifications"][0].clone();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(delivered["status"], "delivered", "the notification was not delivered within 20 s");
    assert_eq!(delivered["attempts"], 2);
    let tries: Vec<(&str, &str)> = delivered["tries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["body"].as_str().unwrap(), t["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(tries, vec![("fail", "refused"), ("success", "delivered")]);

    let forms = seen.lock().unwrap().clone();
    assert_eq!(forms.len(), 2);
    let key = alipay_public_key();
    for form in &forms {
        assert!(verify_notification(form, &key), "the notification's signature verifies: {form:?}");
        assert_eq!(form["notify_type"], "trade_status_sync");
        assert_eq!(form["app_id"], shop.app_id.as_str());
        assert_eq!(form["out_trade_no"], "order_1001");
        assert_eq!(form["trade_no"], trade_no.as_str());
        assert_eq!(form["trade_status"], "TRADE_SUCCESS");
        assert_eq!(form["total_amount"], "88.80");
        assert_eq!(form["sign_type"], "RSA2");
        assert!(form["buyer_id"].starts_with("2088") && form["buyer_id"].len() == 16);
        assert!(form["seller_id"].starts_with("2088"));
        assert!(alipay::parse_timestamp(&form["gmt_payment"]).is_some());
    }
    assert_eq!(forms[0]["notify_id"], forms[1]["notify_id"], "notify_id is stable across resends");
    let mut tampered = forms[0].clone();
    tampered.insert("total_amount".into(), "0.01".into());
    assert!(!verify_notification(&tampered, &key));

    // Sent again by hand: one more attempt, delivered.
    let id = delivered["id"].as_str().unwrap();
    let (status, sent) = dev_post(&app, &format!("/notifications/{id}/resend"), json!({})).await;
    assert_eq!((status, sent["delivered"].as_bool(), sent["attempt"].as_i64()), (StatusCode::OK, Some(true), Some(3)));
    eventually("the third form", || seen.lock().unwrap().len() == 3).await;
}

#[tokio::test]
async fn alipay_refunds_partial_then_full_and_closing() {
    let app = TestApp::spawn_with(FAST).await;
    let demo = Client::new(&app, ALIPAY_DEMO_APP_ID, ALIPAY_DEMO_APP_KEY_PEM);
    assert_success(&demo.precreate("order_r1", "10.00", None).await);
    let refund = |out_request_no: &'static str, amount: &'static str| {
        let biz = json!({"out_trade_no": "order_r1", "refund_amount": amount, "out_request_no": out_request_no});
        demo.call("alipay.trade.refund", biz)
    };
    assert_refused(&refund("r0", "1.00").await, "40004", "ACQ.TRADE_STATUS_ERROR");
    let (status, trade) =
        dev_post(&app, "/pay", json!({"app_id": ALIPAY_DEMO_APP_ID, "out_trade_no": "order_r1"})).await;
    assert_eq!(status, StatusCode::OK, "{trade}");
    let trade_no = trade["trade_no"].as_str().unwrap().to_string();

    let node = refund("r1", "3.00").await;
    assert_success(&node);
    assert_eq!((node["fund_change"].as_str(), node["refund_fee"].as_str()), (Some("Y"), Some("3.00")));
    assert_eq!(node["trade_no"], trade_no.as_str());
    assert!(node["buyer_logon_id"].as_str().is_some());
    // The same request again changes nothing.
    let node = refund("r1", "3.00").await;
    assert_eq!((node["fund_change"].as_str(), node["refund_fee"].as_str()), (Some("N"), Some("3.00")));
    assert_refused(&refund("r2", "7.01").await, "40004", "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL");
    assert_eq!(demo.query("order_r1").await["trade_status"], "TRADE_SUCCESS");

    let node =
        demo.call("alipay.trade.fastpay.refund.query", json!({"trade_no": trade_no, "out_request_no": "r1"})).await;
    assert_success(&node);
    assert_eq!(
        (node["refund_status"].as_str(), node["refund_amount"].as_str()),
        (Some("REFUND_SUCCESS"), Some("3.00"))
    );
    let node = demo
        .call("alipay.trade.fastpay.refund.query", json!({"out_trade_no": "order_r1", "out_request_no": "r9"}))
        .await;
    assert_success(&node);
    assert!(node.get("refund_status").is_none(), "{node}");

    // Refunding the rest closes the trade.
    let node = refund("r3", "7.00").await;
    assert_eq!((node["fund_change"].as_str(), node["refund_fee"].as_str()), (Some("Y"), Some("10.00")));
    assert_eq!(demo.query("order_r1").await["trade_status"], "TRADE_CLOSED");
    assert_refused(&refund("r4", "0.01").await, "40004", "ACQ.TRADE_STATUS_ERROR");

    // Close: an unpaid trade closes and can no longer be paid; a paid one cannot close.
    assert_success(&demo.precreate("order_c1", "5.00", None).await);
    let node = demo.call("alipay.trade.close", json!({"out_trade_no": "order_c1"})).await;
    assert_success(&node);
    assert_eq!(node["out_trade_no"], "order_c1");
    assert_eq!(demo.query("order_c1").await["trade_status"], "TRADE_CLOSED");
    let (status, _) = dev_post(&app, "/pay", json!({"app_id": ALIPAY_DEMO_APP_ID, "out_trade_no": "order_c1"})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_refused(&demo.precreate("order_c1", "5.00", None).await, "40004", "ACQ.TRADE_HAS_CLOSE");
    assert_refused(
        &demo.call("alipay.trade.close", json!({"out_trade_no": "order_c1"})).await,
        "40004",
        "ACQ.TRADE_STATUS_ERROR",
    );
    assert_success(&demo.precreate("order_c2", "5.00", None).await);
    dev_post(&app, "/pay", json!({"app_id": ALIPAY_DEMO_APP_ID, "out_trade_no": "order_c2"})).await;
    assert_refused(
        &demo.call("alipay.trade.close", json!({"out_trade_no": "order_c2"})).await,
        "40004",
        "ACQ.TRADE_STATUS_ERROR",
    );
    assert_refused(
        &demo.call("alipay.trade.close", json!({"out_trade_no": "nothing"})).await,
        "40004",
        "ACQ.TRADE_NOT_EXIST",
    );
}

#[tokio::test]
async fn alipay_page_registers_an_app_and_the_buyer_pays_on_the_page() {
    let app = TestApp::spawn_with(FAST).await;
    let b = app.browser();
    let page = b.get("/sandbox/alipay/").await;
    assert_eq!(page.status(), StatusCode::OK);
    page.assert_contains("/sandbox/alipay/gateway.do");
    page.assert_contains(ALIPAY_PUBLIC_KEY_PEM.lines().nth(1).unwrap());
    page.assert_contains(ALIPAY_DEMO_APP_ID);
    page.assert_contains(r#"<label for="app-name">"#);
    page.assert_contains(r#"<label for="app-key">"#);

    let refused = b.post("/sandbox/alipay/apps", &[("name", "Harbor"), ("app_public_key", "nope")]).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    refused.assert_contains("RSA public key");
    let forged =
        b.post_without_csrf("/sandbox/alipay/apps", &[("name", "Harbor"), ("app_public_key", OTHER_PUBLIC_KEY)]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let created = b
        .post(
            "/sandbox/alipay/apps",
            &[("name", "Bright Harbor Food Supply Co., Ltd."), ("app_public_key", OTHER_PUBLIC_KEY)],
        )
        .await;
    assert_eq!(created.status(), StatusCode::OK);
    created.assert_contains("Application registered");
    let app_id = created.url().query_pairs().find(|(k, _)| k == "created").unwrap().1.to_string();
    let shop = Client::new(&app, &app_id, OTHER_KEY);

    let qr = shop.precreate("order_page", "12.34", None).await["qr_code"].as_str().unwrap().to_string();
    let buyer = b.get("/sandbox/alipay/buyer").await;
    buyer.assert_contains("order_page");
    buyer.assert_contains(r#"<label for="qr-code">"#);
    let scanned = b.get(&format!("/sandbox/alipay/buyer?qr_code={}", urlencode(&qr))).await;
    assert_eq!(scanned.status(), StatusCode::OK);
    scanned.assert_contains("Bright Harbor Food Supply Co., Ltd.");
    scanned.assert_contains("Acme membership");
    scanned.assert_contains("Pay ¥12.34");
    let path = scanned.url().path().to_string();
    let paid = b.post(&format!("{path}/pay"), &[]).await;
    assert_eq!(paid.status(), StatusCode::OK);
    paid.assert_contains("TRADE_SUCCESS");
    paid.assert_lacks("Pay ¥12.34");
    assert_eq!(shop.query("order_page").await["trade_status"], "TRADE_SUCCESS");
    let again = b.post(&format!("{path}/pay"), &[]).await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let unknown = b.get("/sandbox/alipay/buyer?qr_code=https%3A%2F%2Fqr.alipay.com%2Fnothing").await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);

    let home = b.get("/sandbox/alipay/").await;
    home.assert_contains("order_page");
    home.assert_contains("Bright Harbor Food Supply Co., Ltd.");
    assert!(b.get("/sandbox/").await.body.contains(r#"href="/sandbox/alipay/""#));
}

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("x", s)]).unwrap().trim_start_matches("x=").to_string()
}
