//! The Company Wallet through the sandbox's WeChat Pay and Alipay over HTTP: the operator's
//! service-provider keys checked on save; a tenant's sub-merchant application through every
//! state; Alipay keys verified by a signed call; the AppID–merchant binding read back; the
//! legal subject compared; payment readiness; the 0.01 self-test paid and refunded through
//! signed notifications; notifications that fail verification refused.

use minihost::db::wallet as store;
use minihost::sandbox::pay as sandbox;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Browser, TINY_PNG, TestApp};
use crate::mini_program::{ALL_SETS, eventually, sandbox_post};
use crate::requirements::bound;

/// Fast timings: WeChat Pay opens a signed merchant at once, notifications are retried
/// within milliseconds, the console asks WeChat Pay again every second.
pub(crate) const FAST: &[(&str, &str)] = &[
    ("MINIHOST_SANDBOX_PAY_STEP_SECS", "0"),
    ("MINIHOST_SANDBOX_PAY_RETRY_DIVISOR", "1000"),
    ("MINIHOST_JOB_POLL_MS", "100"),
    ("MINIHOST_WALLET_POLL_SECS", "1"),
];

/// The sandbox's verified mini program of another legal subject.
const BRIGHT_HARBOR: &str = "wx5b1c0a3e7d2f4a03";

const OTHER_KEY: &str = include_str!("../fixtures/pay/other_key.pem");
const OTHER_PUBLIC: &str = include_str!("../fixtures/pay/other_public_key.pem");
const EXPIRED_CERT: &str = include_str!("../fixtures/pay/merchant_cert_expired.pem");

/// The operator's form filled with the sandbox's published service provider.
fn provider_fields() -> Vec<(&'static str, String)> {
    vec![
        ("sp_mchid", sandbox::SP_MCHID.into()),
        ("sp_appid", sandbox::SP_APPID.into()),
        ("api_v3_key", sandbox::SP_API_V3_KEY.into()),
        ("private_key", sandbox::SP_KEY_PEM.into()),
        ("cert_serial", sandbox::SP_CERT_SERIAL.into()),
        ("cert_pem", sandbox::SP_CERT_PEM.into()),
        ("verify_mode", "certificate".into()),
        ("platform_pem", sandbox::PLATFORM_CERT_PEM.into()),
        ("public_key_id", String::new()),
    ]
}

fn with(fields: &[(&'static str, String)], changes: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    fields
        .iter()
        .map(|(k, v)| (*k, changes.iter().find(|(c, _)| c == k).map_or(v.clone(), |(_, n)| (*n).to_string())))
        .collect()
}

async fn post_provider(op: &Browser, fields: &[(&'static str, String)]) -> crate::helpers::Page {
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    op.post("/operator/payments", &pairs).await
}

/// The operator configures the sandbox's service provider.
pub(crate) async fn configure_provider(app: &TestApp) -> Browser {
    let op = app.operator().await;
    let saved = post_provider(&op, &provider_fields()).await;
    assert_eq!(saved.status(), StatusCode::OK, "{}", saved.body);
    saved.assert_contains("WeChat Pay accepted the keys");
    op
}

/// A complete application form for a company registered as `name`.
fn application_fields(name: &str) -> Vec<(&'static str, String)> {
    [
        ("subject_type", "enterprise"),
        ("license_number", "91440300MA5FXXXX1X"),
        ("legal_person", "张三"),
        ("id_card_name", "张三"),
        ("id_card_number", "11010519491231002X"),
        ("card_period_begin", "2019-06-01"),
        ("card_period_end", "2039-06-01"),
        ("merchant_shortname", "Acme"),
        ("service_phone", "0755-8888888"),
        ("scene_mini_program", "on"),
        ("scene_web", "on"),
        ("settlement_id", "716"),
        ("qualification_type", "零售批发"),
        ("bank_account_type", "corporate"),
        ("account_bank", "招商银行"),
        ("bank_address_code", "440300"),
        ("account_number", "755912345678901"),
        ("contact_name", "李四"),
        ("mobile_phone", "13800138000"),
        ("contact_email", "finance@acme.example"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_string()))
    .chain([("merchant_name", name.to_string()), ("account_name", name.to_string())])
    .collect()
}

const IMAGES: [(&str, &str, &[u8]); 3] = [
    ("license_copy", "license.png", TINY_PNG),
    ("id_card_copy", "id-front.png", TINY_PNG),
    ("id_card_national", "id-back.png", TINY_PNG),
];

async fn apply(
    b: &Browser,
    t: &str,
    fields: &[(&'static str, String)],
    images: &[(&str, &str, &[u8])],
) -> crate::helpers::Page {
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    b.post_multipart(&format!("/w/{t}/wallet/wechatpay/apply"), &pairs, images).await
}

pub(crate) fn application(app: &TestApp, t: &str) -> store::Application {
    let t = t.to_string();
    app.db(move |c| store::current_application(c, &t).unwrap()).expect("an application")
}

/// WeChat Pay's reviewer or the super administrator acts on the tenant's application.
pub(crate) async fn decide(app: &TestApp, t: &str, decision: &str, detail: Value) -> Value {
    let id = application(app, t).applyment_id.expect("submitted");
    let body = json!({ "decision": decision, "audit_detail": detail });
    let answer = sandbox_post(app, &format!("/sandbox/dev/wechatpay/applyments/{id}"), body).await;
    assert!(answer.get("applyment_state").is_some(), "{decision}: {answer}");
    answer
}

async fn state_becomes(app: &TestApp, t: &str, state: &str) {
    eventually(&format!("the application becomes {state}"), || application(app, t).state == state).await;
}

/// A tenant bound to the sandbox's verified mini program (legal subject "Acme Trading Co.,
/// Ltd.") whose sub-merchant application has finished; returns its sub_mchid.
pub(crate) async fn open_merchant(app: &TestApp, b: &Browser, t: &str, name: &str) -> String {
    let submitted = apply(b, t, &application_fields(name), &IMAGES).await;
    assert_eq!(submitted.status(), StatusCode::OK, "{}", submitted.body);
    decide(app, t, "approve", Value::Null).await;
    decide(app, t, "sign", Value::Null).await;
    state_becomes(app, t, "finished").await;
    application(app, t).sub_mchid.expect("a sub_mchid")
}

#[tokio::test]
async fn the_operators_keys_are_checked_on_save_and_never_shown_back() {
    let app = TestApp::spawn().await;
    let op = app.operator().await;
    let page = op.get("/operator/payments").await;
    page.assert_contains("WeChat Pay service provider");
    page.assert_contains("<label for=\"private_key\"");

    // A malformed key: refused beside its field, the other input kept, no secret echoed.
    let bad =
        post_provider(&op, &with(&provider_fields(), &[("private_key", "-----BEGIN PRIVATE KEY-----\nnot a key\n")]))
            .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    bad.assert_contains("has-error");
    bad.assert_contains(sandbox::SP_CERT_SERIAL);
    bad.assert_lacks(sandbox::SP_API_V3_KEY);

    // A key that is not the certificate's, an expired certificate, a serial that is not the
    // certificate's: each refused with its reason, before anything is sent.
    let other = post_provider(&op, &with(&provider_fields(), &[("private_key", OTHER_KEY)])).await;
    assert_eq!(other.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let expired = post_provider(
        &op,
        &with(
            &provider_fields(),
            &[("cert_pem", EXPIRED_CERT), ("cert_serial", "1A2B3C4D5E6F708192A3B4C5D6E7F80912345678")],
        ),
    )
    .await;
    assert_eq!(expired.status(), StatusCode::UNPROCESSABLE_ENTITY);
    expired.assert_contains("2024-01-01");
    let serial = post_provider(&op, &with(&provider_fields(), &[("cert_serial", "ABCDEF")])).await;
    assert_eq!(serial.status(), StatusCode::UNPROCESSABLE_ENTITY);
    serial.assert_contains(sandbox::SP_CERT_SERIAL);

    // Without the certificate, only WeChat Pay can tell the key does not match the serial:
    // it refuses the signature (401) and the console says so beside the key.
    let live = post_provider(&op, &with(&provider_fields(), &[("private_key", OTHER_KEY), ("cert_pem", "")])).await;
    assert_eq!(live.status(), StatusCode::UNPROCESSABLE_ENTITY, "{}", live.body);
    live.assert_contains("SIGN_ERROR");
    // A wrong APIv3 key: WeChat Pay's certificates do not decrypt with it.
    let v3 = post_provider(&op, &with(&provider_fields(), &[("api_v3_key", "0123456789abcdef0123456789abcdef")])).await;
    assert_eq!(v3.status(), StatusCode::UNPROCESSABLE_ENTITY, "{}", v3.body);
    // A platform key WeChat Pay does not sign with.
    let platform = post_provider(
        &op,
        &with(
            &provider_fields(),
            &[("verify_mode", "public_key"), ("platform_pem", OTHER_PUBLIC), ("public_key_id", "PUB_KEY_ID_0000")],
        ),
    )
    .await;
    assert_eq!(platform.status(), StatusCode::UNPROCESSABLE_ENTITY, "{}", platform.body);
    assert!(app.db(|c| store::provider(c).unwrap()).is_none(), "nothing was saved");

    // The right keys: saved sealed, shown by serial and validity only.
    let saved = post_provider(&op, &provider_fields()).await;
    assert_eq!(saved.status(), StatusCode::OK, "{}", saved.body);
    saved.assert_contains("2030-06-01");
    saved.assert_contains(sandbox::PLATFORM_CERT_SERIAL);
    saved.assert_lacks(sandbox::SP_API_V3_KEY);
    saved.assert_lacks("BEGIN PRIVATE KEY");
    let row = app.db(|c| store::provider(c).unwrap()).unwrap();
    assert!(!row.api_v3_key_sealed.contains(sandbox::SP_API_V3_KEY));
    assert!(!row.private_key_sealed.contains("PRIVATE KEY"));
    // Saving again without the secrets keeps them (blank means keep).
    let again = post_provider(&op, &with(&provider_fields(), &[("api_v3_key", ""), ("private_key", "")])).await;
    assert_eq!(again.status(), StatusCode::OK, "{}", again.body);
    let checked = op.post("/operator/payments/check", &[]).await;
    checked.assert_contains("WeChat Pay accepted the keys");
}

#[tokio::test]
async fn an_application_goes_through_rejection_account_check_and_signing_to_finished() {
    let app = TestApp::spawn_with(FAST).await;
    configure_provider(&app).await;
    let (b, t) = bound(&app, "pay@acme.example", &ALL_SETS).await;
    let wallet = b.get(&format!("/w/{t}/wallet")).await;
    wallet.assert_contains("Company Wallet");

    // An incomplete form: the errors beside the fields, the input kept, the images kept.
    let mut fields = application_fields("Acme Trading Co., Ltd.");
    fields.retain(|(k, _)| *k != "legal_person");
    let fields = with(&fields, &[("mobile_phone", "12345"), ("bank_address_code", "44")]);
    let incomplete = apply(&b, &t, &fields, &IMAGES).await;
    assert_eq!(incomplete.status(), StatusCode::UNPROCESSABLE_ENTITY);
    incomplete.assert_contains("value=\"Acme\"");
    incomplete.assert_contains("license.png");
    incomplete.assert_lacks("13800138000");
    assert_eq!(application(&app, &t).state, "draft");

    // Complete: submitted to WeChat Pay with the mini program as mini_program_sub_appid.
    let submitted = apply(&b, &t, &application_fields("Acme Trading Co., Ltd."), &[]).await;
    assert_eq!(submitted.status(), StatusCode::OK, "{}", submitted.body);
    let a = application(&app, &t);
    assert_eq!(a.state, "auditing");
    assert_eq!(a.sub_appid.as_deref(), Some(crate::mini_program::VERIFIED));
    assert!(!a.sensitive_sealed.contains("13800138000"), "sensitive fields are sealed");
    submitted.assert_contains("审核中");

    // Rejected with per-field reasons: shown, and the form offers them beside the fields.
    decide(&app, &t, "reject", json!([{"field": "business_license_info.license_copy", "field_name": "营业执照", "reject_reason": "营业执照照片模糊"}])).await;
    state_becomes(&app, &t, "rejected").await;
    let rejected = b.get(&format!("/w/{t}/wallet")).await;
    rejected.assert_contains("营业执照照片模糊");
    rejected.assert_contains("Resubmit");
    let form = b.get(&format!("/w/{t}/wallet/wechatpay/apply")).await;
    form.assert_contains("营业执照照片模糊");
    let applyment_id = a.applyment_id;
    let resubmitted = apply(&b, &t, &application_fields("Acme Trading Co., Ltd."), &IMAGES[..1]).await;
    assert_eq!(resubmitted.status(), StatusCode::OK, "{}", resubmitted.body);
    let a = application(&app, &t);
    assert_eq!(a.state, "auditing");
    assert_eq!(a.applyment_id, applyment_id, "the same application, replaced");

    // The super administrator verifies the account, then signs, through the sign link.
    decide(&app, &t, "confirm_account", Value::Null).await;
    state_becomes(&app, &t, "to_be_confirmed").await;
    let confirm = b.get(&format!("/w/{t}/wallet")).await;
    confirm.assert_contains("/sandbox/wechatpay/sign/");
    confirm.assert_contains("<svg");
    decide(&app, &t, "verify_account", Value::Null).await;
    decide(&app, &t, "approve", Value::Null).await;
    state_becomes(&app, &t, "to_be_signed").await;
    decide(&app, &t, "sign", Value::Null).await;
    state_becomes(&app, &t, "finished").await;
    let a = application(&app, &t);
    let sub = a.sub_mchid.clone().expect("a sub_mchid");
    let done = b.get(&format!("/w/{t}/wallet")).await;
    done.assert_contains(&sub);
    done.assert_lacks("13800138000");
    done.assert_lacks("755912345678901");

    // Every change is in the audit log.
    let actions: Vec<String> = app
        .db(|c| minihost::db::audit::list(c, &Default::default(), 100, 0).unwrap())
        .into_iter()
        .filter(|e| e.tenant_id.as_deref() == Some(t.as_str()))
        .map(|e| e.action)
        .collect();
    assert!(actions.iter().filter(|a| *a == "wechatpay.application_submitted").count() == 2, "{actions:?}");
    assert!(actions.iter().any(|a| a == "wechatpay.application_state"), "{actions:?}");
}

#[tokio::test]
async fn alipay_keys_are_verified_by_a_signed_call_and_a_wrong_one_is_named() {
    let app = TestApp::spawn().await;
    let (b, t) = app.approved_tenant("ali@acme.example", "Acme Ltd").await;
    let path = format!("/w/{t}/wallet/alipay");
    let good = [
        ("app_id", sandbox::ALIPAY_DEMO_APP_ID),
        ("private_key", sandbox::ALIPAY_DEMO_APP_KEY_PEM),
        ("alipay_public_key", sandbox::ALIPAY_PUBLIC_KEY_PEM),
    ];
    let change = |k: &str, v: &'static str| -> Vec<(&'static str, &'static str)> {
        good.iter().map(|(gk, gv)| (*gk, if *gk == k { v } else { *gv })).collect()
    };
    for (fields, field) in [
        (change("app_id", "12345"), "app_id"),
        (change("app_id", "2021999999999999"), "app_id"),
        (change("private_key", OTHER_KEY), "private_key"),
        (change("alipay_public_key", OTHER_PUBLIC), "alipay_public_key"),
        (change("alipay_public_key", sandbox::ALIPAY_DEMO_APP_PUBLIC_KEY_PEM), "alipay_public_key"),
    ] {
        let page = b.post(&path, &fields).await;
        assert_eq!(page.status(), StatusCode::UNPROCESSABLE_ENTITY, "{field}: {}", page.body);
        assert!(page.body.contains(&format!("<label for=\"{field}\"")), "{field}");
        page.assert_lacks("BEGIN RSA PRIVATE KEY");
    }
    let tid = t.clone();
    assert!(app.db(move |c| store::current_alipay(c, &tid).unwrap()).is_none(), "nothing saved");

    let saved = b.post(&path, &good).await;
    assert_eq!(saved.status(), StatusCode::OK, "{}", saved.body);
    saved.assert_contains(sandbox::ALIPAY_DEMO_APP_ID);
    saved.assert_lacks("PRIVATE KEY-----\nMII");
    let tid = t.clone();
    let row = app.db(move |c| store::current_alipay(c, &tid).unwrap()).unwrap();
    assert!(!row.private_key_sealed.contains("PRIVATE KEY"));
    // Replacing it keeps the one before in the history.
    b.post(&path, &good).await;
    let tid = t.clone();
    assert_eq!(app.db(move |c| store::past_alipay(c, &tid).unwrap()).len(), 1);
}

#[tokio::test]
async fn the_binding_is_read_back_for_both_methods_and_a_subject_mismatch_is_explained() {
    let app = TestApp::spawn_with(FAST).await;
    configure_provider(&app).await;

    // Method 1: the mini program named at onboarding, same legal subject: bound.
    let (b, t) = bound(&app, "m1@acme.example", &ALL_SETS).await;
    open_merchant(&app, &b, &t, "Acme Trading Co., Ltd.").await;
    let verified = b.post(&format!("/w/{t}/wallet/wechatpay/binding"), &[]).await;
    assert_eq!(verified.status(), StatusCode::OK);
    let tid = t.clone();
    let binding = app.db(move |c| {
        let a = store::current_application(c, &tid).unwrap().unwrap();
        store::binding(c, &tid, &a.sub_mchid.unwrap(), crate::mini_program::VERIFIED).unwrap().unwrap()
    });
    assert_eq!((binding.state.as_str(), binding.method.as_str()), ("bound", "onboarding"));

    // The relation removed on WeChat Pay's side: the read-back says not bound, with the
    // steps of method 2; once the merchant binds it, the read-back says bound.
    let sub = application(&app, &t).sub_mchid.unwrap();
    sandbox_post(
        &app,
        "/sandbox/dev/wechatpay/bindings",
        json!({"sub_mchid": sub, "appid": crate::mini_program::VERIFIED, "bound": false}),
    )
    .await;
    let not_bound = b.post(&format!("/w/{t}/wallet/wechatpay/binding"), &[]).await;
    not_bound.assert_contains("APPID_MCHID_NOT_MATCH");
    not_bound.assert_contains("AppID账号管理");
    sandbox_post(
        &app,
        "/sandbox/dev/wechatpay/bindings",
        json!({"sub_mchid": sub, "appid": crate::mini_program::VERIFIED, "bound": true}),
    )
    .await;
    b.post(&format!("/w/{t}/wallet/wechatpay/binding"), &[]).await;
    let tid = t.clone();
    let again = app.db(move |c| store::binding(c, &tid, &sub, crate::mini_program::VERIFIED).unwrap().unwrap());
    assert_eq!(again.state, "bound");

    // A mini program registered to another company than the merchant: readiness names
    // both subjects, and WeChat Pay did not bind them at onboarding.
    let (b2, t2) = crate::mini_program::ready("m2@bright.example", "Bright Harbor", &app).await;
    crate::mini_program::bind(&app, &b2, &t2, BRIGHT_HARBOR, &ALL_SETS).await;
    open_merchant(&app, &b2, &t2, "Acme Trading Co., Ltd.").await;
    let panel = b2.get(&format!("/w/{t2}/wallet/readiness")).await;
    panel.assert_contains("Bright Harbor Food Supply Co., Ltd. ≠ Acme Trading Co., Ltd.");
}

#[tokio::test]
async fn the_self_test_is_paid_seen_through_the_signed_notification_and_refunded() {
    let app = TestApp::spawn_with(FAST).await;
    configure_provider(&app).await;
    let (b, t) = bound(&app, "st@acme.example", &ALL_SETS).await;
    open_merchant(&app, &b, &t, "Acme Trading Co., Ltd.").await;

    let started = b.post(&format!("/w/{t}/wallet/self-test"), &[("channel", "wechatpay")]).await;
    assert_eq!(started.status(), StatusCode::OK, "{}", started.body);
    started.assert_contains("weixin://wxpay/bizpayurl");
    let tid = t.clone();
    let payment = app.db(move |c| store::latest_self_test(c, &tid, "wechatpay").unwrap()).unwrap();
    assert_eq!(payment.state, "created");

    // The buyer scans and pays in the sandbox: the notification makes it paid, then the
    // console refunds it and the refund notification makes it refunded.
    let paid = sandbox_post(&app, "/sandbox/dev/wechatpay/pay", json!({"code_url": payment.code_url})).await;
    assert_eq!(paid["trade_state"], "SUCCESS", "{paid}");
    let id = payment.id.clone();
    let tid = t.clone();
    eventually("the self-test is refunded", || {
        let (tid, id) = (tid.clone(), id.clone());
        app.db(move |c| store::payment(c, &tid, &id).unwrap()).unwrap().state == "refunded"
    })
    .await;
    let fragment = b.get(&format!("/w/{t}/wallet/self-test/{}", payment.id)).await;
    fragment.assert_contains(paid["transaction_id"].as_str().unwrap());

    // A notification delivered again changes nothing but its count.
    let notes: Value =
        reqwest::get(format!("{}/sandbox/dev/wechatpay/notifications", app.base)).await.unwrap().json().await.unwrap();
    let first = notes
        .as_array()
        .and_then(|n| n.iter().find(|n| n["event_type"] == "TRANSACTION.SUCCESS"))
        .cloned()
        .expect("a payment notification");
    let resent = reqwest::Client::new()
        .post(format!("{}/sandbox/dev/wechatpay/notifications/{}/resend", app.base, first["id"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert!(resent.status().is_success());
    let id = payment.id.clone();
    eventually("the resent notification is counted", || {
        let id = id.clone();
        app.db(move |c| store::notifications_of(c, &id).unwrap()) >= 3
    })
    .await;
    let tid = t.clone();
    let id = payment.id.clone();
    let after = app.db(move |c| store::payment(c, &tid, &id).unwrap()).unwrap();
    assert_eq!(after.state, "refunded");
    let paid_rows = app
        .db(|c| minihost::db::audit::list(c, &Default::default(), 200, 0).unwrap())
        .into_iter()
        .filter(|e| e.action == "payment.paid")
        .count();
    assert_eq!(paid_rows, 1, "paid exactly once");
}

#[tokio::test]
async fn notifications_that_fail_verification_are_refused() {
    let app = TestApp::spawn().await;
    configure_provider(&app).await;
    let client = reqwest::Client::new();
    let url = format!("{}/pay/wechat/notify", app.base);
    // No signature headers.
    let bare = client.post(&url).body("{}").send().await.unwrap();
    assert_eq!(bare.status(), StatusCode::UNAUTHORIZED);
    assert!(bare.text().await.unwrap().contains("FAIL"));
    // Signed by a key that is not WeChat Pay's.
    let other = minihost::pay::keys::PrivateKey::parse(OTHER_KEY).unwrap();
    let body = r#"{"id":"EV-1","create_time":"2026-01-01T00:00:00+08:00","resource_type":"encrypt-resource","event_type":"TRANSACTION.SUCCESS","summary":"","resource":{"algorithm":"AEAD_AES_256_GCM","ciphertext":"","associated_data":"transaction","nonce":"abcdefghijkl"}}"#;
    let h = minihost::pay::wechatpay::SignedHeaders::sign(&other, sandbox::PLATFORM_CERT_SERIAL, body, minihost::now());
    let mut req = client.post(&url).body(body);
    for (k, v) in h.pairs() {
        req = req.header(k, v);
    }
    assert_eq!(req.send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    // The probe answers, so readiness can tell the URL reaches this console.
    let probe = client.get(&url).send().await.unwrap();
    assert_eq!(probe.status(), StatusCode::OK);
    // Alipay: a form with a bad sign gets "fail", never "success".
    let ali = client
        .post(format!("{}/pay/alipay/notify", app.base))
        .form(&[("app_id", sandbox::ALIPAY_DEMO_APP_ID), ("notify_id", "n1"), ("sign", "AAAA"), ("sign_type", "RSA2")])
        .send()
        .await
        .unwrap();
    assert_ne!(ali.status(), StatusCode::OK);
    assert_eq!(ali.text().await.unwrap(), "fail");
}

#[tokio::test]
async fn readiness_is_all_green_for_a_released_mini_program_with_a_bound_merchant_and_alipay() {
    let mut settings = FAST.to_vec();
    settings.extend_from_slice(crate::releases::FAST);
    let app = TestApp::spawn_with(&settings).await;
    let op = configure_provider(&app).await;
    let (b, t) = crate::releases::compliant(&app, "green@acme.example").await;

    // Nothing yet: every WeChat Pay check says what to do.
    let empty = b.get(&format!("/w/{t}/wallet/readiness")).await;
    empty.assert_contains("WeChat Pay payments are not possible yet");

    // A released version, an open merchant bound at onboarding, a verified Alipay account.
    crate::releases::release_version(&app, &op, "1.0.0", "1.0").await;
    b.post(&format!("/w/{t}/store/mini-program/submit"), &[]).await;
    crate::releases::stage_becomes(&app, &t, minihost::domain::release::Stage::UnderReview).await;
    crate::releases::reviewer(&app, json!({ "decision": "approve" })).await;
    crate::releases::stage_becomes(&app, &t, minihost::domain::release::Stage::Approved).await;
    b.post(&format!("/w/{t}/store/mini-program/publish"), &[]).await;
    open_merchant(&app, &b, &t, "Acme Trading Co., Ltd.").await;
    let alipay = b
        .post(
            &format!("/w/{t}/wallet/alipay"),
            &[
                ("app_id", sandbox::ALIPAY_DEMO_APP_ID),
                ("private_key", sandbox::ALIPAY_DEMO_APP_KEY_PEM),
                ("alipay_public_key", sandbox::ALIPAY_PUBLIC_KEY_PEM),
            ],
        )
        .await;
    assert_eq!(alipay.status(), StatusCode::OK, "{}", alipay.body);

    let green = b.get(&format!("/w/{t}/wallet/readiness")).await;
    green.assert_contains("Ready: WeChat Pay payments work in the mini program");
    green.assert_contains("Alipay payments on the Web are ready.");
    assert_eq!(green.body.matches("class=\"pass\"").count(), 7, "every check passes: {}", green.body);
    // The same panel on the home page's setup guide, on demand.
    let home = b.get(&format!("/w/{t}")).await;
    home.assert_contains("Check payment readiness");
}

/// `minihost serve` as its own process with every log line kept.
struct Logged {
    child: std::process::Child,
    lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Logged {
    fn start(app: &TestApp) -> Self {
        use std::io::BufRead;
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_minihost"));
        cmd.arg("serve").env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
        for (k, v) in app.process_env() {
            cmd.env(k, v);
        }
        cmd.env("RUST_LOG", "debug").env("NO_COLOR", "1");
        cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().expect("minihost serve starts");
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let lines = lines.clone();
            std::thread::spawn(move || {
                for line in std::io::BufReader::new(stream).lines().map_while(Result::ok) {
                    lines.lock().unwrap().push(line);
                }
            });
        }
        Self { child, lines }
    }

    fn base(&self) -> Option<String> {
        let lines = self.lines.lock().unwrap();
        let line = lines.iter().find(|l| l.contains("minihost is listening on"))?;
        let at = line.find("listening on ")? + "listening on ".len();
        Some(format!("http://{}", line[at..].split_whitespace().next()?))
    }

    fn log(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }
}

impl Drop for Logged {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn secrets_are_never_in_a_page_or_a_log_line_and_refused_notifications_are_logged() {
    let app = TestApp::spawn().await;
    let (_, t) = app.approved_tenant("logs@acme.example", "Acme Ltd").await;
    let server = Logged::start(&app);
    eventually("the second server is listening", || server.base().is_some()).await;
    let base = server.base().unwrap();

    let op = app.browser().moved_to(&base);
    op.log_in(crate::helpers::OPERATOR_EMAIL, crate::helpers::OPERATOR_PASSWORD).await;
    let saved = post_provider(&op, &provider_fields()).await;
    assert_eq!(saved.status(), StatusCode::OK, "{}", saved.body);
    let refused = post_provider(&op, &with(&provider_fields(), &[("private_key", OTHER_KEY)])).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let tenant = app.browser().moved_to(&base);
    tenant.log_in("logs@acme.example", crate::helpers::PASSWORD).await;
    let alipay = tenant
        .post(
            &format!("/w/{t}/wallet/alipay"),
            &[
                ("app_id", sandbox::ALIPAY_DEMO_APP_ID),
                ("private_key", sandbox::ALIPAY_DEMO_APP_KEY_PEM),
                ("alipay_public_key", sandbox::ALIPAY_PUBLIC_KEY_PEM),
            ],
        )
        .await;
    assert_eq!(alipay.status(), StatusCode::OK, "{}", alipay.body);
    let pages =
        [op.get("/operator/payments").await, tenant.get(&format!("/w/{t}/wallet")).await, saved, refused, alipay];
    let forged = reqwest::Client::new().post(format!("{base}/pay/wechat/notify")).body("{}").send().await.unwrap();
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    eventually("the refusal is logged", || server.log().contains("refused a WeChat Pay notification")).await;

    // A line from the middle of each private key, and the APIv3 key.
    let key_line = |pem: &str| pem.lines().nth(5).unwrap().to_string();
    let secrets = [
        sandbox::SP_API_V3_KEY.to_string(),
        key_line(sandbox::SP_KEY_PEM),
        key_line(sandbox::ALIPAY_DEMO_APP_KEY_PEM),
        key_line(OTHER_KEY),
    ];
    let log = server.log();
    assert!(log.len() > 1000, "debug logging is on");
    for secret in &secrets {
        assert!(!log.contains(secret.as_str()), "a secret in the log");
        for page in &pages {
            page.assert_lacks(secret);
        }
    }
}
