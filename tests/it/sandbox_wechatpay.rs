//! The sandbox's WeChat Pay, talked to as an outside client would: requests signed with the
//! published merchant key (`crate::pay` wire functions and the console's own client),
//! answers and notifications verified with the platform certificate or public key,
//! resources decrypted with the APIv3 key. Covers request verification, certificates,
//! media upload, the whole sub-merchant application loop with the reviewer, the sign page
//! and the opening of the sub-merchant, AppID relations, orders, payment by the buyer,
//! notifications retried until a receiver accepts them, refunds and close.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use minihost::pay::keys::{Certificate, PrivateKey, PublicKey};
use minihost::pay::wechatpay::{
    Authorization, Notification, PlatformVerifier, Resource, SignedHeaders, encrypt_field, nonce,
};
use minihost::pay::wechatpay_client::{Merchant, WechatPayClient};
use minihost::sandbox::pay::{
    PLATFORM_CERT_PEM, PLATFORM_CERT_SERIAL, PLATFORM_PUBLIC_KEY_ID, PLATFORM_PUBLIC_KEY_PEM, SP_API_V3_KEY, SP_APPID,
    SP_CERT_SERIAL, SP_KEY_PEM, SP_MCHID,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Digest;

use crate::helpers::{TINY_PNG, TestApp};

const ACME_MP: &str = "wx5b1c0a3e7d2f4a01";
const HARBOR_MP: &str = "wx5b1c0a3e7d2f4a03";
const ACME: &str = "Acme Trading Co., Ltd.";

async fn spawn() -> TestApp {
    TestApp::spawn_with(&[("MINIHOST_SANDBOX_PAY_STEP_SECS", "1"), ("MINIHOST_SANDBOX_PAY_RETRY_DIVISOR", "1000")])
        .await
}

/// Polls `check` until it gives a value, for at most 20 s.
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "{what} did not happen within 20 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

struct Answer {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }
    fn signed(&self) -> Option<SignedHeaders> {
        SignedHeaders::read(|n| self.headers.get(n).and_then(|v| v.to_str().ok()).map(str::to_string))
    }
    #[track_caller]
    fn assert_code(&self, status: u16, code: &str) {
        assert_eq!((self.status.as_u16(), self.json()["code"].as_str()), (status, Some(code)), "{}", self.text);
    }
}

fn platform_cert() -> PlatformVerifier {
    PlatformVerifier {
        serial: PLATFORM_CERT_SERIAL.into(),
        key: Certificate::parse(PLATFORM_CERT_PEM).unwrap().public_key,
    }
}

/// A service provider's signed client.
struct Wx {
    base: String,
    http: reqwest::Client,
    key: PrivateKey,
}

impl Wx {
    fn new(app: &TestApp) -> Self {
        Self {
            base: format!("{}/sandbox/wechatpay", app.base),
            http: reqwest::Client::new(),
            key: PrivateKey::parse(SP_KEY_PEM).unwrap(),
        }
    }

    fn auth(&self, method: &str, path: &str, body: &str, ts: i64) -> String {
        Authorization::sign(SP_MCHID, SP_CERT_SERIAL, &self.key, method, path, body, ts, &nonce())
    }

    async fn send(&self, method: &str, path: &str, body: Option<&Value>, auth: Option<String>) -> Answer {
        let text = body.map(Value::to_string).unwrap_or_default();
        let auth = auth.unwrap_or_else(|| self.auth(method, path, &text, minihost::now()));
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.http.request(m, format!("{}{path}", self.base)).header("Authorization", auth);
        req = req.header("Wechatpay-Serial", PLATFORM_CERT_SERIAL).header("Accept", "application/json");
        if body.is_some() {
            req = req.header("Content-Type", "application/json").body(text);
        }
        let resp = req.send().await.unwrap();
        let answer =
            Answer { status: resp.status(), headers: resp.headers().clone(), text: resp.text().await.unwrap() };
        if answer.status != StatusCode::UNAUTHORIZED {
            let signed = answer
                .signed()
                .unwrap_or_else(|| panic!("a signed answer: {} {} {:?}", answer.status, answer.text, answer.headers));
            platform_cert().verify(&signed, &answer.text, minihost::now(), 300).expect("the answer verifies");
            assert!(answer.headers.get("Request-ID").is_some());
        }
        answer
    }

    async fn get(&self, path: &str) -> Answer {
        self.send("GET", path, None, None).await
    }

    async fn post(&self, path: &str, body: &Value) -> Answer {
        self.send("POST", path, Some(body), None).await
    }

    async fn upload(&self, filename: &str, bytes: &[u8], sha256: Option<&str>) -> Answer {
        let digest: String = sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
        let meta = json!({"filename": filename, "sha256": sha256.unwrap_or(&digest)}).to_string();
        let path = "/v3/merchant/media/upload";
        let form = reqwest::multipart::Form::new()
            .part("meta", reqwest::multipart::Part::text(meta.clone()).mime_str("application/json").unwrap())
            .part("file", reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(filename.to_string()));
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .header("Authorization", self.auth("POST", path, &meta, minihost::now()))
            .multipart(form)
            .send()
            .await
            .unwrap();
        Answer { status: resp.status(), headers: resp.headers().clone(), text: resp.text().await.unwrap() }
    }
}

async fn dev(app: &TestApp, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    let http = reqwest::Client::new();
    let url = format!("{}/sandbox/dev/wechatpay{path}", app.base);
    let req = if method == "GET" { http.get(url) } else { http.post(url).json(&body.unwrap_or(json!({}))) };
    let resp = req.send().await.unwrap();
    (resp.status(), resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn sandbox_wechatpay_verifies_requests_and_signs_answers() {
    let app = spawn().await;
    let wx = Wx::new(&app);

    // Certificates: the answer verifies with the platform certificate, the PEM decrypts.
    let certs = wx.get("/v3/certificates").await;
    assert_eq!(certs.status, StatusCode::OK, "{}", certs.text);
    let item = &certs.json()["data"][0];
    assert_eq!(item["serial_no"], PLATFORM_CERT_SERIAL);
    let sealed: Resource = serde_json::from_value(item["encrypt_certificate"].clone()).unwrap();
    assert_eq!(sealed.nonce.len(), 12);
    assert_eq!(sealed.open(SP_API_V3_KEY).unwrap(), PLATFORM_CERT_PEM);

    // The console's own client agrees.
    let merchant = Merchant {
        sp_mchid: SP_MCHID.into(),
        sp_appid: SP_APPID.into(),
        serial: SP_CERT_SERIAL.into(),
        key: PrivateKey::parse(SP_KEY_PEM).unwrap(),
        api_v3_key: SP_API_V3_KEY.into(),
        platform: platform_cert(),
    };
    let client = WechatPayClient::new(&wx.base);
    let got = client.certificates(&merchant).await.expect("the console's client reads the certificates");
    assert_eq!(got[0].serial_no, PLATFORM_CERT_SERIAL);

    // Refusals say why, 401 SIGN_ERROR, unsigned.
    let now = minihost::now();
    let cases = [
        (Some("Bearer x".to_string()), "Authorization"),
        (Some(wx.auth("GET", "/v3/other", "", now)), "signature"),
        (Some(wx.auth("GET", "/v3/certificates", "", now - 301)), "timestamp"),
        (
            Some(Authorization::sign("1900009999", SP_CERT_SERIAL, &wx.key, "GET", "/v3/certificates", "", now, "n")),
            "mchid",
        ),
        (Some(Authorization::sign(SP_MCHID, "ABCDEF", &wx.key, "GET", "/v3/certificates", "", now, "n")), "serial_no"),
    ];
    for (auth, says) in cases {
        let refused = wx.send("GET", "/v3/certificates", None, auth).await;
        refused.assert_code(401, "SIGN_ERROR");
        assert!(refused.json()["message"].as_str().unwrap().contains(says), "{says}: {}", refused.text);
        assert!(refused.signed().is_none(), "a 401 is not signed");
    }
    let none = reqwest::Client::new().get(format!("{}/v3/certificates", wx.base)).send().await.unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);

    // The published identity, as a console configures itself from it.
    let (status, published) = dev(&app, "GET", "/provider", None).await;
    assert_eq!((status, published["sp_mchid"].as_str()), (StatusCode::OK, Some(SP_MCHID)));
    assert_eq!(published["platform_public_key_id"], PLATFORM_PUBLIC_KEY_ID);

    // Public-key mode: the answer names the public key id and verifies with the public key.
    let (status, _) =
        dev(&app, "POST", &format!("/merchants/{SP_MCHID}"), Some(json!({"verify_mode": "public_key"}))).await;
    assert_eq!(status, StatusCode::OK);
    let text = String::new();
    let resp = reqwest::Client::new()
        .get(format!("{}/v3/certificates", wx.base))
        .header("Authorization", wx.auth("GET", "/v3/certificates", &text, minihost::now()))
        .send()
        .await
        .unwrap();
    let headers = resp.headers().clone();
    let body = resp.text().await.unwrap();
    let signed = SignedHeaders::read(|n| headers.get(n).and_then(|v| v.to_str().ok()).map(str::to_string)).unwrap();
    assert_eq!(signed.serial, PLATFORM_PUBLIC_KEY_ID);
    let by_key = PlatformVerifier {
        serial: PLATFORM_PUBLIC_KEY_ID.into(),
        key: PublicKey::parse(PLATFORM_PUBLIC_KEY_PEM).unwrap(),
    };
    by_key.verify(&signed, &body, minihost::now(), 300).expect("verifies with the public key");

    // Media: a good image, then a wrong digest and a wrong type.
    let (status, _) =
        dev(&app, "POST", &format!("/merchants/{SP_MCHID}"), Some(json!({"verify_mode": "certificate"}))).await;
    assert_eq!(status, StatusCode::OK);
    let up = wx.upload("license.png", TINY_PNG, None).await;
    assert_eq!(up.status, StatusCode::OK, "{}", up.text);
    assert!(serde_json::from_str::<Value>(&up.text).unwrap()["media_id"].as_str().is_some());
    let bad = wx.upload("license.png", TINY_PNG, Some("00")).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
    assert!(bad.text.contains("PARAM_ERROR") && bad.text.contains("sha256"), "{}", bad.text);
    let gif = wx.upload("license.gif", TINY_PNG, None).await;
    assert_eq!(gif.status, StatusCode::BAD_REQUEST, "{}", gif.text);
    let id = client.upload_image(&merchant, "id.jpg", TINY_PNG.to_vec()).await.expect("the console's client uploads");
    assert!(!id.is_empty());
}

fn application(business_code: &str, media: &str, name: &str, sub_appid: &str) -> Value {
    let pk = Certificate::parse(PLATFORM_CERT_PEM).unwrap().public_key;
    let enc = |s: &str| encrypt_field(&pk, s);
    json!({
        "business_code": business_code,
        "contact_info": {"contact_type": "LEGAL", "contact_name": enc("张三"), "mobile_phone": enc("13800000000"), "contact_email": enc("a@acme.example")},
        "subject_info": {
            "subject_type": "SUBJECT_TYPE_ENTERPRISE",
            "business_license_info": {"license_copy": media, "license_number": "91440300MA5EXAMPLE", "merchant_name": name, "legal_person": "张三"},
            "identity_info": {"id_doc_type": "IDENTIFICATION_TYPE_IDCARD", "id_card_info": {
                "id_card_copy": media, "id_card_national": media, "id_card_name": enc("张三"), "id_card_number": enc("110101199003070000"),
                "card_period_begin": "2020-01-01", "card_period_end": "长期"}}
        },
        "business_info": {"merchant_shortname": "Acme", "service_phone": "4000000000",
            "sales_info": {"sales_scenes_type": ["SALES_SCENES_MINI_PROGRAM"], "mini_program_info": {"mini_program_sub_appid": sub_appid}}},
        "settlement_info": {"settlement_id": "716", "qualification_type": "零售批发"},
        "bank_account_info": {"bank_account_type": "BANK_ACCOUNT_TYPE_CORPORATE", "account_name": enc(name),
            "account_bank": "工商银行", "bank_address_code": "440300", "account_number": enc("6222021234567890")}
    })
}

async fn decide(app: &TestApp, id: i64, decision: &str, extra: Value) -> (StatusCode, Value) {
    let mut body = json!({ "decision": decision });
    if let Value::Object(m) = extra {
        body.as_object_mut().unwrap().extend(m);
    }
    dev(app, "POST", &format!("/applyments/{id}"), Some(body)).await
}

#[tokio::test]
async fn sandbox_wechatpay_application_loop_opens_a_sub_merchant_bound_to_its_mini_program() {
    let app = spawn().await;
    let wx = Wx::new(&app);
    let media = wx.upload("license.jpg", TINY_PNG, None).await.json()["media_id"].as_str().unwrap().to_string();
    let path = "/v3/applyment4sub/applyment/";

    // WeChat Pay's checks.
    let mut missing = application("BC-ACME-1", &media, ACME, ACME_MP);
    missing["contact_info"]["mobile_phone"] = json!("");
    let a = wx.post(path, &missing).await;
    a.assert_code(400, "PARAM_ERROR");
    assert!(a.json()["message"].as_str().unwrap().contains("contact_info.mobile_phone 不能为空"), "{}", a.text);
    let mut garbled = application("BC-ACME-1", &media, ACME, ACME_MP);
    garbled["bank_account_info"]["account_number"] = json!("bm90IGNpcGhlcnRleHQ=");
    let a = wx.post(path, &garbled).await;
    a.assert_code(400, "PARAM_ERROR");
    assert!(a.text.contains("bank_account_info.account_number"), "{}", a.text);
    let a = wx.post(path, &application("BC-ACME-1", "no-such-media", ACME, ACME_MP)).await;
    a.assert_code(400, "PARAM_ERROR");
    let body = application("BC-ACME-1", &media, ACME, ACME_MP);
    let text = body.to_string();
    let no_serial = reqwest::Client::new()
        .post(format!("{}{path}", wx.base))
        .header("Authorization", wx.auth("POST", path, &text, minihost::now()))
        .header("Content-Type", "application/json")
        .body(text)
        .send()
        .await
        .unwrap();
    assert_eq!(no_serial.status(), StatusCode::BAD_REQUEST);

    // Submitted, queried by business code, refused as a duplicate while in review.
    let a = wx.post(path, &body).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let id = a.json()["applyment_id"].as_i64().unwrap();
    assert_eq!(id.to_string().len(), 16);
    assert!(id.to_string().starts_with("2000002"));
    let q = wx.get("/v3/applyment4sub/applyment/business_code/BC-ACME-1").await.json();
    assert_eq!(
        (q["applyment_state"].as_str(), q["applyment_state_msg"].as_str()),
        (Some("APPLYMENT_STATE_AUDITING"), Some("审核中"))
    );
    assert_eq!(q["sign_url"], format!("{}/sandbox/wechatpay/sign/{id}", app.base));
    assert!(q.get("sub_mchid").is_none() && q.get("audit_detail").is_none());
    let dup = wx.post(path, &body).await;
    dup.assert_code(400, "PARAM_ERROR");
    assert!(dup.text.contains("业务申请编号已存在"));
    wx.get("/v3/applyment4sub/applyment/business_code/NOPE").await.assert_code(404, "RESOURCE_NOT_EXISTS");

    // Rejected with reasons, resubmitted under the same business code.
    let (s, _) = decide(&app, id, "reject", json!({})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "a rejection needs a reason");
    let detail = json!([{"field": "id_card_copy", "field_name": "身份证人像面照片", "reject_reason": "照片模糊"}]);
    let (s, v) = decide(&app, id, "reject", json!({ "audit_detail": detail })).await;
    assert_eq!((s, v["applyment_state"].as_str()), (StatusCode::OK, Some("APPLYMENT_STATE_REJECTED")));
    let q = wx.get(&format!("/v3/applyment4sub/applyment/applyment_id/{id}")).await.json();
    assert_eq!(q["applyment_state_msg"], "已驳回");
    assert_eq!(q["audit_detail"][0]["reject_reason"], "照片模糊");
    let again = wx.post(path, &body).await;
    assert_eq!(again.json()["applyment_id"].as_i64(), Some(id), "{}", again.text);
    let q = wx.get(&format!("/v3/applyment4sub/applyment/applyment_id/{id}")).await.json();
    assert_eq!(q["applyment_state"], "APPLYMENT_STATE_AUDITING");
    assert!(q.get("audit_detail").is_none());

    // Account verification on the sign page, approval, signing, then FINISHED by itself.
    let (s, v) = decide(&app, id, "confirm_account", json!({})).await;
    assert_eq!((s, v["applyment_state_msg"].as_str()), (StatusCode::OK, Some("待账户验证")));
    let (s, _) = decide(&app, id, "approve", json!({})).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let admin = app.browser();
    let page = admin.get(&format!("/sandbox/wechatpay/sign/{id}")).await;
    page.assert_contains("0.63");
    page.assert_contains("I have verified the account");
    let page = admin.post(&format!("/sandbox/wechatpay/sign/{id}"), &[("action", "verify_account")]).await;
    assert_eq!(page.status(), StatusCode::OK);
    page.assert_contains("APPLYMENT_STATE_AUDITING");
    let (s, v) = decide(&app, id, "approve", json!({})).await;
    assert_eq!((s, v["applyment_state"].as_str()), (StatusCode::OK, Some("APPLYMENT_STATE_TO_BE_SIGNED")));
    let page = admin.get(&format!("/sandbox/wechatpay/sign/{id}")).await;
    page.assert_contains("Sign");
    let page = admin.post(&format!("/sandbox/wechatpay/sign/{id}"), &[("action", "sign")]).await;
    assert!(
        page.body.contains("APPLYMENT_STATE_SIGNING") || page.body.contains("APPLYMENT_STATE_FINISHED"),
        "{}",
        page.body
    );
    let (s, _) = decide(&app, id, "sign", json!({})).await;
    assert_eq!(s, StatusCode::CONFLICT, "signed once");
    let q = eventually("the sub-merchant opens", || async {
        let q = wx.get(&format!("/v3/applyment4sub/applyment/applyment_id/{id}")).await.json();
        (q["applyment_state"] == "APPLYMENT_STATE_FINISHED").then_some(q)
    })
    .await;
    assert_eq!(q["applyment_state_msg"], "已完成");
    let sub = q["sub_mchid"].as_str().unwrap().to_string();
    assert!(sub.len() == 10 && sub.starts_with("16"), "{sub}");
    let (_, b) = dev(&app, "GET", &format!("/bindings?sub_mchid={sub}"), None).await;
    assert_eq!(b[0]["appid"], ACME_MP);
    assert_eq!((b[0]["bound"].as_bool(), b[0]["method"].as_str()), (Some(true), Some("onboarding")));
    let (s, _) = decide(&app, id, "cancel", json!({})).await;
    assert_eq!(s, StatusCode::CONFLICT, "a finished application cannot be cancelled");

    // A mini program of another subject is not bound at onboarding.
    let other = wx.post(path, &application("BC-ACME-2", &media, ACME, HARBOR_MP)).await.json()["applyment_id"]
        .as_i64()
        .unwrap();
    for d in ["approve", "sign"] {
        assert_eq!(decide(&app, other, d, json!({})).await.0, StatusCode::OK);
    }
    let q = eventually("the second sub-merchant opens", || async {
        let q = wx.get(&format!("/v3/applyment4sub/applyment/applyment_id/{other}")).await.json();
        q["sub_mchid"].as_str().map(str::to_string)
    })
    .await;
    let (_, b) = dev(&app, "GET", &format!("/bindings?sub_mchid={q}"), None).await;
    assert_eq!(b[0]["bound"], false);
    assert_eq!(b[0]["note"], "该APPID认证主体与特约商户主体不一致");
}

/// A notify_url receiver: answers 500 to the first request of each path, then 204.
/// One request received: its path, signed headers, body and the status answered.
type Received = (String, SignedHeaders, String, u16);

#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
}

async fn receive(req: HttpRequest, body: web::Bytes, rx: web::Data<Receiver>) -> HttpResponse {
    let headers = SignedHeaders::read(|n| req.headers().get(n).and_then(|v| v.to_str().ok()).map(str::to_string))
        .unwrap_or_default();
    let path = req.path().to_string();
    let mut got = rx.got.lock().unwrap();
    let first = !got.iter().any(|(p, ..)| *p == path);
    let status = if first { 500 } else { 204 };
    got.push((path, headers, String::from_utf8_lossy(&body).into_owned(), status));
    if first {
        HttpResponse::InternalServerError().json(json!({"code": "FAIL", "message": "busy"}))
    } else {
        HttpResponse::NoContent().finish()
    }
}

async fn start_receiver() -> (Receiver, String) {
    let rx = Receiver::default();
    let data = web::Data::new(rx.clone());
    let server = HttpServer::new(move || App::new().app_data(data.clone()).default_service(web::to(receive)))
        .workers(1)
        .bind("127.0.0.1:0")
        .unwrap();
    let addr = server.addrs()[0];
    tokio::spawn(server.run());
    (rx, format!("http://{addr}"))
}

impl Receiver {
    /// The accepted notifications to `path`, verified and decrypted: (envelope, plaintext).
    fn delivered(&self, path: &str) -> Vec<(Notification, Value, u16)> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, ..)| p == path)
            .map(|(_, h, body, status)| {
                platform_cert().verify(h, body, minihost::now(), 300).expect("the notification verifies");
                let n: Notification = serde_json::from_str(body).unwrap();
                let plain: Value = serde_json::from_str(&n.resource.open(SP_API_V3_KEY).unwrap()).unwrap();
                (n, plain, *status)
            })
            .collect()
    }
}

fn order(out_trade_no: &str, sub_mchid: &str, total: i64, notify_url: &str) -> Value {
    json!({"sp_appid": SP_APPID, "sp_mchid": SP_MCHID, "sub_mchid": sub_mchid, "description": "Acme order",
           "out_trade_no": out_trade_no, "notify_url": notify_url, "attach": "a1", "amount": {"total": total, "currency": "CNY"}})
}

#[tokio::test]
async fn sandbox_wechatpay_orders_are_paid_notified_with_retries_refunded_and_closed() {
    let app = spawn().await;
    let wx = Wx::new(&app);
    let (rx, rx_base) = start_receiver().await;
    let (s, v) = dev(&app, "POST", "/sub-merchants", Some(json!({"name": ACME}))).await;
    assert_eq!(s, StatusCode::OK);
    let sub = v["sub_mchid"].as_str().unwrap().to_string();
    let native = "/v3/pay/partner/transactions/native";

    // Refusals: an AppID not bound to the sub-merchant, an unknown sub-merchant, bad fields.
    let mut with_appid = order("ORDER-0001", &sub, 100, &format!("{rx_base}/pay"));
    with_appid["sub_appid"] = json!(ACME_MP);
    let a = wx.post(native, &with_appid).await;
    a.assert_code(400, "APPID_MCHID_NOT_MATCH");
    assert_eq!(a.json()["message"], "sub_mchid与sub_appid不匹配");
    wx.post(native, &order("ORDER-0001", "1699999999", 100, &format!("{rx_base}/pay")))
        .await
        .assert_code(400, "PARAM_ERROR");
    wx.post(native, &order("ORD", &sub, 100, &format!("{rx_base}/pay"))).await.assert_code(400, "PARAM_ERROR");
    wx.post(native, &order("ORDER-0001", &sub, 0, &format!("{rx_base}/pay"))).await.assert_code(400, "PARAM_ERROR");
    wx.post(native, &order("ORDER-0001", &sub, 100, &format!("{rx_base}/pay?x=1")))
        .await
        .assert_code(400, "PARAM_ERROR");

    // Prepay, the same again, a different one under the same number.
    let body = order("ORDER-0001", &sub, 100, &format!("{rx_base}/pay"));
    let first = wx.post(native, &body).await;
    let code_url = first.json()["code_url"].as_str().unwrap().to_string();
    assert!(code_url.starts_with("weixin://wxpay/bizpayurl?pr="), "{code_url}");
    assert_eq!(wx.post(native, &body).await.json()["code_url"], code_url.as_str());
    wx.post(native, &order("ORDER-0001", &sub, 200, &format!("{rx_base}/pay")))
        .await
        .assert_code(400, "INVALID_REQUEST");
    let q = wx
        .get(&format!("/v3/pay/partner/transactions/out-trade-no/ORDER-0001?sp_mchid={SP_MCHID}&sub_mchid={sub}"))
        .await
        .json();
    assert_eq!((q["trade_state"].as_str(), q.get("transaction_id")), (Some("NOTPAY"), None));

    // The buyer pays; the notification is refused once (500), retried and accepted (204).
    let (s, paid) = dev(&app, "POST", "/pay", Some(json!({ "code_url": code_url }))).await;
    assert_eq!((s, paid["trade_state"].as_str()), (StatusCode::OK, Some("SUCCESS")), "{paid}");
    let tid = paid["transaction_id"].as_str().unwrap().to_string();
    assert!(tid.len() == 28 && tid.starts_with("4200"), "{tid}");
    assert!(paid["success_time"].as_str().unwrap().ends_with("+08:00"));
    assert_eq!(paid["payer"]["sp_openid"].as_str().map(|s| s.starts_with("o-sandbox-buyer")), Some(true));
    assert_eq!(dev(&app, "POST", "/pay", Some(json!({ "code_url": code_url }))).await.0, StatusCode::CONFLICT);
    let got = eventually("the payment notification is accepted", || async {
        let got = rx.delivered("/pay");
        (got.len() >= 2).then_some(got)
    })
    .await;
    assert_eq!(got.iter().map(|(.., s)| *s).collect::<Vec<_>>(), vec![500, 204]);
    let (n, plain, _) = &got[1];
    assert_eq!((n.event_type.as_str(), n.resource_type.as_str()), ("TRANSACTION.SUCCESS", "encrypt-resource"));
    assert_eq!((n.resource.associated_data.as_str(), n.resource.nonce.len()), ("transaction", 12));
    assert_eq!(n.id, got[0].0.id, "a retry is the same notification");
    assert_eq!((plain["out_trade_no"].as_str(), plain["trade_state"].as_str()), (Some("ORDER-0001"), Some("SUCCESS")));
    assert_eq!((plain["transaction_id"].as_str(), plain["amount"]["total"].as_i64()), (Some(tid.as_str()), Some(100)));
    let log = eventually("the delivery is recorded", || async {
        let (_, v) = dev(&app, "GET", "/notifications", None).await;
        let n = v.as_array().unwrap().iter().find(|n| n["out_trade_no"] == "ORDER-0001")?.clone();
        (n["delivered"] == true).then_some(n)
    })
    .await;
    assert_eq!(log["attempts"], 2);
    let statuses: Vec<i64> =
        log["attempt_log"].as_array().unwrap().iter().map(|a| a["http_status"].as_i64().unwrap()).collect();
    assert_eq!(statuses, vec![500, 204]);
    let by_id =
        wx.get(&format!("/v3/pay/partner/transactions/id/{tid}?sp_mchid={SP_MCHID}&sub_mchid={sub}")).await.json();
    assert_eq!((by_id["trade_state"].as_str(), by_id["bank_type"].as_str()), (Some("SUCCESS"), Some("OTHERS")));
    wx.post(native, &body).await.assert_code(400, "ORDERPAID");
    wx.get(&format!("/v3/pay/partner/transactions/out-trade-no/NOPE01?sp_mchid={SP_MCHID}&sub_mchid={sub}"))
        .await
        .assert_code(404, "ORDER_NOT_EXIST");

    // Refunds: checked, idempotent, settled by itself, notified.
    let refunds = "/v3/refund/domestic/refunds";
    let refund = |no: &str, amount: i64, total: i64| {
        json!({"sub_mchid": sub, "transaction_id": tid, "out_refund_no": no,
        "reason": "退货", "notify_url": format!("{rx_base}/refund"), "amount": {"refund": amount, "total": total, "currency": "CNY"}})
    };
    wx.post(refunds, &refund("REFUND-001", 101, 100)).await.assert_code(400, "INVALID_REQUEST");
    wx.post(refunds, &refund("REFUND-001", 10, 99)).await.assert_code(400, "INVALID_REQUEST");
    let r = wx.post(refunds, &refund("REFUND-001", 100, 100)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = r.json();
    assert_eq!(
        (r["status"].as_str(), r["channel"].as_str(), r["amount"]["payer_refund"].as_i64()),
        (Some("PROCESSING"), Some("ORIGINAL"), Some(100))
    );
    assert_eq!(wx.post(refunds, &refund("REFUND-001", 100, 100)).await.json()["refund_id"], r["refund_id"]);
    wx.post(refunds, &refund("REFUND-002", 1, 100)).await.assert_code(400, "INVALID_REQUEST");
    let got = eventually("the refund notification is accepted", || async {
        let got = rx.delivered("/refund");
        (got.len() >= 2).then_some(got)
    })
    .await;
    let (n, plain, _) = &got[1];
    assert_eq!(
        (n.event_type.as_str(), n.resource.associated_data.as_str(), n.resource.original_type.as_str()),
        ("REFUND.SUCCESS", "refund", "refund")
    );
    assert_eq!(
        (plain["refund_status"].as_str(), plain["out_refund_no"].as_str()),
        (Some("SUCCESS"), Some("REFUND-001"))
    );
    assert_eq!(
        (plain["amount"]["refund"].as_i64(), plain["user_received_account"].as_str()),
        (Some(100), Some("支付用户零钱"))
    );
    let q = wx.get(&format!("/v3/refund/domestic/refunds/REFUND-001?sub_mchid={sub}")).await.json();
    assert_eq!(q["status"], "SUCCESS");
    let q = wx
        .get(&format!("/v3/pay/partner/transactions/out-trade-no/ORDER-0001?sp_mchid={SP_MCHID}&sub_mchid={sub}"))
        .await
        .json();
    assert_eq!(q["trade_state"], "REFUND");
    let unpaid = order("ORDER-0002", &sub, 50, &format!("{rx_base}/pay2"));
    wx.post(native, &unpaid).await;
    let r = json!({"sub_mchid": sub, "out_trade_no": "ORDER-0002", "out_refund_no": "REFUND-003", "amount": {"refund": 1, "total": 50, "currency": "CNY"}});
    wx.post(refunds, &r).await.assert_code(400, "INVALID_REQUEST");

    // JSAPI under a bound AppID, then closed (204, signed over the empty body).
    let jsapi = "/v3/pay/partner/transactions/jsapi";
    let (s, _) = dev(&app, "POST", "/bindings", Some(json!({"sub_mchid": sub, "appid": ACME_MP, "bound": true}))).await;
    assert_eq!(s, StatusCode::OK);
    let mut j = order("ORDER-JS-01", &sub, 1, &format!("{rx_base}/js"));
    j["payer"] = json!({"sub_openid": "o-tenant-user"});
    wx.post(jsapi, &j).await.assert_code(400, "PARAM_ERROR");
    j["sub_appid"] = json!(ACME_MP);
    let prepay = wx.post(jsapi, &j).await.json();
    let prepay_id = prepay["prepay_id"].as_str().unwrap().to_string();
    assert!(prepay_id.starts_with("wx"), "{prepay_id}");
    let close = wx
        .post(
            "/v3/pay/partner/transactions/out-trade-no/ORDER-JS-01/close",
            &json!({"sp_mchid": SP_MCHID, "sub_mchid": sub}),
        )
        .await;
    assert_eq!((close.status, close.text.as_str()), (StatusCode::NO_CONTENT, ""));
    let q = wx
        .get(&format!("/v3/pay/partner/transactions/out-trade-no/ORDER-JS-01?sp_mchid={SP_MCHID}&sub_mchid={sub}"))
        .await
        .json();
    assert_eq!((q["trade_state"].as_str(), q["payer"]["sub_openid"].as_str()), (Some("CLOSED"), Some("o-tenant-user")));
    assert_eq!(dev(&app, "POST", "/pay", Some(json!({ "prepay_id": prepay_id }))).await.0, StatusCode::CONFLICT);
    wx.post(
        "/v3/pay/partner/transactions/out-trade-no/ORDER-0001/close",
        &json!({"sp_mchid": SP_MCHID, "sub_mchid": sub}),
    )
    .await
    .assert_code(400, "ORDERPAID");
}

#[tokio::test]
async fn sandbox_wechatpay_pages_associate_appids_and_let_the_buyer_pay() {
    let app = spawn().await;
    let wx = Wx::new(&app);
    let (_, v) = dev(&app, "POST", "/sub-merchants", Some(json!({"name": ACME}))).await;
    let sub = v["sub_mchid"].as_str().unwrap().to_string();
    let b = app.browser();
    let page = b.get("/sandbox/wechatpay/").await;
    assert_eq!(page.status(), StatusCode::OK);
    page.assert_contains(SP_MCHID);
    page.assert_contains(PLATFORM_PUBLIC_KEY_ID);
    page.assert_contains(&sub);
    let root = b.get("/sandbox/").await;
    root.assert_contains("/sandbox/wechatpay/");

    // Another subject's AppID is refused by its administrator; the merchant's own is bound.
    let page = b.post(&format!("/sandbox/wechatpay/sub-merchants/{sub}/associate"), &[("appid", HARBOR_MP)]).await;
    page.assert_contains("its administrator must confirm");
    let page = b.post(&format!("/sandbox/wechatpay/sub-merchants/{sub}/confirm"), &[("appid", HARBOR_MP)]).await;
    page.assert_contains("该APPID认证主体与特约商户主体不一致");
    b.post(&format!("/sandbox/wechatpay/sub-merchants/{sub}/associate"), &[("appid", ACME_MP)]).await;
    let page = b.post(&format!("/sandbox/wechatpay/sub-merchants/{sub}/confirm"), &[("appid", ACME_MP)]).await;
    page.assert_contains("The AppID is bound to the sub-merchant.");
    let (_, v) = dev(&app, "GET", &format!("/bindings?sub_mchid={sub}"), None).await;
    let states: Vec<(String, bool)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["appid"].as_str().unwrap().to_string(), b["bound"].as_bool().unwrap()))
        .collect();
    assert_eq!(states, vec![(ACME_MP.to_string(), true), (HARBOR_MP.to_string(), false)]);
    let mut with_appid = order("ORDER-PAGE-1", &sub, 1, "http://127.0.0.1:9/notify");
    with_appid["sub_appid"] = json!(ACME_MP);
    let code_url = wx.post("/v3/pay/partner/transactions/native", &with_appid).await.json()["code_url"]
        .as_str()
        .unwrap()
        .to_string();

    // The buyer scans the code and pays ¥0.01.
    let list = b.get("/sandbox/wechatpay/buyer").await;
    list.assert_contains("Acme order");
    list.assert_contains(r#"<label for="code-url">"#);
    let scanned = b.get(&format!("/sandbox/wechatpay/buyer?code_url={}", urlencode(&code_url))).await;
    scanned.assert_contains(ACME);
    scanned.assert_contains("Pay ¥0.01");
    let path = scanned.url().path().to_string();
    let paid = b.post(&format!("{path}/pay"), &[]).await;
    paid.assert_contains("SUCCESS");
    let q = wx
        .get(&format!("/v3/pay/partner/transactions/out-trade-no/ORDER-PAGE-1?sp_mchid={SP_MCHID}&sub_mchid={sub}"))
        .await
        .json();
    assert_eq!(q["trade_state"], "SUCCESS");
    let forged = b.post_without_csrf(&format!("{path}/pay"), &[]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    // The page shows the notification (to an unreachable receiver: attempts recorded).
    let (_, v) = eventually("a failed attempt is recorded", || async {
        let (s, v) = dev(&app, "GET", "/notifications", None).await;
        (v[0]["attempts"].as_i64().unwrap_or(0) >= 1).then_some((s, v))
    })
    .await;
    assert!(v[0]["last_error"].as_str().is_some());
    b.get("/sandbox/wechatpay/").await.assert_contains("TRANSACTION.SUCCESS");
}

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("x", s)]).unwrap().trim_start_matches("x=").to_string()
}
