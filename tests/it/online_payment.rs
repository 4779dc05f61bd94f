//! Online payment through the sandbox's WeChat Pay and Alipay over HTTP: the switches and
//! the button's display conditions; sales orders paid by WeChat Pay and Alipay QR codes and
//! inside the mini program; payment collections by QR Code Payment; a top-up crediting the
//! prepaid deposit; refunds; and the money rules: a collection only from a verified payment,
//! exactly once, whatever the retries, races and lost notifications.

use minihost::db::commerce as store;
use minihost::db::wallet as wallet_store;
use minihost::sandbox::pay as sandbox;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Browser, TestApp};
use crate::mini_program::{ALL_SETS, eventually, sandbox_post};
use crate::requirements::bound;
use crate::wallet::{FAST, configure_provider, open_merchant};

/// A tenant whose wallet is ready on both channels, with online payment switched on
/// everywhere and one buyer "Harbor Foods" (group Gold, with a mini program openid).
pub(crate) async fn ready_tenant(app: &TestApp, email: &str) -> (Browser, String, String) {
    let (b, t, buyer) = ready_wallet(app, email).await;
    let saved = b.post(&format!("/w/{t}/sales/settings"), &ALL_ON).await;
    assert_eq!(saved.status(), StatusCode::OK, "{}", saved.body);
    saved.assert_contains("Payment settings saved.");
    (b, t, buyer)
}

/// The same tenant with online payment still off.
pub(crate) async fn ready_wallet(app: &TestApp, email: &str) -> (Browser, String, String) {
    configure_provider(app).await;
    let (b, t) = bound(app, email, &ALL_SETS).await;
    open_merchant(app, &b, &t, "Acme Trading Co., Ltd.").await;
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
    let buyer = add_buyer(&b, &t, "Harbor Foods", "Gold", "oBuyerHarbor0001").await;
    (b, t, buyer)
}

const ALL_ON: [(&str, &str); 5] = [
    ("online_enabled", "on"),
    ("order_payment", "on"),
    ("collection_payment", "on"),
    ("deposit_topup", "on"),
    ("status_unpaid", "on"),
];

async fn add_buyer(b: &Browser, t: &str, name: &str, group: &str, openid: &str) -> String {
    let added =
        b.post(&format!("/w/{t}/sales/buyers"), &[("name", name), ("customer_group", group), ("openid", openid)]).await;
    assert_eq!(added.status(), StatusCode::OK, "{}", added.body);
    added.assert_contains("The buyer is added.");
    added.assert_contains(name);
    // The buyer's id is in its link on the list: /sales/buyers/{id}">{name}</a>
    let marker = format!("\">{name}</a>");
    let end = added.body.find(&marker).expect("the buyer's link");
    let start = added.body[..end].rfind("/sales/buyers/").expect("the buyer's link") + "/sales/buyers/".len();
    added.body[start..end].to_string()
}

/// Creates an online order of `lines` (product, quantity, unit price) for `buyer`; its id.
pub(crate) async fn create_order(b: &Browser, t: &str, buyer: &str, lines: &[(&str, &str, &str)]) -> String {
    let mut fields: Vec<(String, String)> =
        vec![("buyer_id".into(), buyer.into()), ("payment_method".into(), "online".into())];
    for (i, (p, q, u)) in lines.iter().enumerate() {
        fields.push((format!("product_{i}"), p.to_string()));
        fields.push((format!("quantity_{i}"), q.to_string()));
        fields.push((format!("unit_price_{i}"), u.to_string()));
    }
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let page = b.post(&format!("/w/{t}/sales/orders"), &pairs).await;
    assert_eq!(page.status(), StatusCode::OK, "{}", page.body);
    page.assert_contains("The sales order is created.");
    page.url().path().rsplit('/').next().unwrap().to_string()
}

/// Presses Online Payment on an order; returns the buyer's link token.
pub(crate) async fn online_payment(b: &Browser, t: &str, order: &str) -> String {
    let page = b.post(&format!("/w/{t}/sales/orders/{order}/pay"), &[]).await;
    assert_eq!(page.status(), StatusCode::OK, "{}", page.body);
    page.assert_contains("The payment link is ready");
    link_token(&page.body)
}

fn link_token(body: &str) -> String {
    let start = body.find("/checkout/").expect("a payment link") + "/checkout/".len();
    let rest = &body[start..];
    let end = rest.find(['"', '<', ' ']).unwrap();
    rest[..end].to_string()
}

pub(crate) fn attempts(app: &TestApp, token: &str) -> Vec<wallet_store::Payment> {
    let id = token.split('.').next().unwrap().to_string();
    app.db(move |c| store::attempts_of(c, &id).unwrap())
}

pub(crate) fn order_status(app: &TestApp, t: &str, order: &str) -> String {
    let (t, o) = (t.to_string(), order.to_string());
    app.db(move |c| store::order(c, &t, &o).unwrap()).unwrap().0.status
}

pub(crate) fn collections_of(app: &TestApp, t: &str) -> i64 {
    let t = t.to_string();
    app.db(move |c| store::collection_count(c, &t).unwrap())
}

fn audit_count(app: &TestApp, action: &str) -> usize {
    app.db(|c| minihost::db::audit::list(c, &Default::default(), 500, 0).unwrap())
        .into_iter()
        .filter(|e| e.action == action)
        .count()
}

#[tokio::test]
async fn an_order_is_paid_by_wechat_pay_and_another_by_alipay_each_collected_once() {
    let app = TestApp::spawn_with(FAST).await;
    let (b, t, buyer) = ready_tenant(&app, "orders@acme.example").await;

    let order = create_order(&b, &t, &buyer, &[("Oolong tea", "2", "12.50"), ("Teapot", "1", "30")]).await;
    let page = b.get(&format!("/w/{t}/sales/orders/{order}")).await;
    page.assert_contains("SO-00001");
    page.assert_contains("¥55.00");
    page.assert_contains("Online Payment");
    let token = online_payment(&b, &t, &order).await;

    // The buyer opens the link (no login), picks WeChat Pay and sees a QR code.
    let buyer_browser = app.browser();
    let checkout = buyer_browser.get(&format!("/checkout/{token}")).await;
    assert_eq!(checkout.status(), StatusCode::OK);
    checkout.assert_contains("Acme Trading");
    checkout.assert_contains("¥55.00");
    let qr = buyer_browser.post(&format!("/checkout/{token}"), &[("channel", "wechatpay")]).await;
    qr.assert_contains("weixin://wxpay/bizpayurl");
    qr.assert_contains("<svg");
    // Asking again shows the same code, not a second order.
    buyer_browser.post(&format!("/checkout/{token}"), &[("channel", "wechatpay")]).await;
    let tries = attempts(&app, &token);
    assert_eq!(tries.len(), 1);

    let paid = sandbox_post(&app, "/sandbox/dev/wechatpay/pay", json!({"code_url": tries[0].code_url})).await;
    assert_eq!(paid["trade_state"], "SUCCESS", "{paid}");
    eventually("the order is paid", || order_status(&app, &t, &order) == "paid").await;
    let done = buyer_browser.get(&format!("/checkout/{token}")).await;
    done.assert_contains("Paid. Thank you!");
    let page = b.get(&format!("/w/{t}/sales/orders/{order}")).await;
    page.assert_contains("Paid");
    page.assert_lacks("/pay\" class=\"inline\"");
    let list = b.get(&format!("/w/{t}/sales/collections")).await;
    list.assert_contains("Harbor Foods");
    list.assert_contains("SO-00001");
    list.assert_contains("WeChat Pay");
    // The collection shows the transaction record and says it came from the notification.
    let (tid, pid) = (t.clone(), tries[0].id.clone());
    let col = app.db(move |c| store::collection_of_payment(c, &pid).unwrap()).expect("a collection");
    let _ = tid;
    let detail = b.get(&format!("/w/{t}/sales/collections/{}", col.id)).await;
    detail.assert_contains(paid["transaction_id"].as_str().unwrap());
    detail.assert_contains("the signed payment notification");
    detail.assert_contains("¥55.00");

    // A second order, paid with Alipay.
    let order2 = create_order(&b, &t, &buyer, &[("Green tea", "3", "8.80")]).await;
    let token2 = online_payment(&b, &t, &order2).await;
    let qr = buyer_browser.post(&format!("/checkout/{token2}"), &[("channel", "alipay")]).await;
    qr.assert_contains("Alipay");
    let tries = attempts(&app, &token2);
    let code = tries[0].code_url.clone().unwrap();
    let ali = sandbox_post(&app, "/sandbox/dev/alipay/pay", json!({"qr_code": code})).await;
    assert_eq!(ali["trade_status"], "TRADE_SUCCESS", "{ali}");
    eventually("the Alipay order is paid", || order_status(&app, &t, &order2) == "paid").await;
    assert_eq!(collections_of(&app, &t), 2);
    assert_eq!(audit_count(&app, "payment.collected"), 2);
    let filtered = b.get(&format!("/w/{t}/sales/collections?channel=alipay")).await;
    filtered.assert_contains("¥26.40");
    filtered.assert_lacks("¥55.00");
}

#[tokio::test]
async fn inside_the_mini_program_only_wechat_pay_with_signed_request_payment_parameters() {
    let app = TestApp::spawn_with(FAST).await;
    let (b, t, buyer) = ready_tenant(&app, "mp@acme.example").await;
    let order = create_order(&b, &t, &buyer, &[("Oolong tea", "1", "9.90")]).await;
    let token = online_payment(&b, &t, &order).await;
    let client = reqwest::Client::new();
    let url = format!("{}/pay/mp/{token}", app.base);

    // Alipay is refused inside the mini program, with the rule as a sentence.
    let refused =
        client.post(&url).json(&json!({"openid": "oBuyerHarbor0001", "channel": "alipay"})).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    let body: Value = refused.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("only WeChat Pay"), "{body}");
    // No openid: refused, nothing made.
    let no_openid = client.post(&url).json(&json!({"openid": ""})).send().await.unwrap();
    assert_eq!(no_openid.status(), StatusCode::CONFLICT);
    assert!(attempts(&app, &token).is_empty());

    let answer = client.post(&url).json(&json!({"openid": "oBuyerHarbor0001"})).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let answer: Value = answer.json().await.unwrap();
    let p = &answer["payment"];
    let tid = t.clone();
    let appid = app.db(move |c| minihost::db::bindings::active_for_tenant(c, &tid).unwrap()).unwrap().appid;
    assert_eq!(p["appId"], appid.as_str());
    assert_eq!(p["signType"], "RSA");
    let package = p["package"].as_str().unwrap();
    assert!(package.starts_with("prepay_id="), "{p}");
    // paySign verifies with the merchant's key over appId, timeStamp, nonceStr, package.
    let message = format!(
        "{}\n{}\n{}\n{}\n",
        p["appId"].as_str().unwrap(),
        p["timeStamp"].as_str().unwrap(),
        p["nonceStr"].as_str().unwrap(),
        package
    );
    let key = minihost::pay::keys::PrivateKey::parse(sandbox::SP_KEY_PEM).unwrap().public_key();
    assert!(key.verify(message.as_bytes(), p["paySign"].as_str().unwrap()));

    // The sandbox's phone confirms the payment.
    let prepay_id = package.trim_start_matches("prepay_id=");
    let paid = sandbox_post(&app, "/sandbox/dev/wechatpay/pay", json!({"prepay_id": prepay_id})).await;
    assert_eq!(paid["trade_type"], "JSAPI", "{paid}");
    eventually("the order is paid in the mini program", || order_status(&app, &t, &order) == "paid").await;
    assert_eq!(collections_of(&app, &t), 1);
}

#[tokio::test]
async fn qr_code_payment_on_a_collection_and_a_top_up_credit_then_refunds_reverse_them() {
    let app = TestApp::spawn_with(FAST).await;
    let (b, t, buyer) = ready_tenant(&app, "collect@acme.example").await;

    // QR Code Payment: the code is on the tenant's screen at once.
    let shown = b
        .post(
            &format!("/w/{t}/sales/collections"),
            &[
                ("buyer_id", &buyer),
                ("purpose", "other"),
                ("amount", "18.00"),
                ("note", "Samples"),
                ("action", "qr"),
                ("channel", "wechatpay"),
            ],
        )
        .await;
    assert_eq!(shown.status(), StatusCode::OK, "{}", shown.body);
    shown.assert_contains("Samples · Harbor Foods");
    shown.assert_contains("<svg");
    let request_id = shown.url().path().rsplit('/').next().unwrap().to_string();
    let code = app.db(move |c| store::attempts_of(c, &request_id).unwrap())[0].code_url.clone().unwrap();
    sandbox_post(&app, "/sandbox/dev/wechatpay/pay", json!({"code_url": code})).await;
    eventually("the collection is made", || collections_of(&app, &t) == 1).await;

    // Online top-up of the prepaid deposit, paid with Alipay on the Web.
    let topup = b
        .post(
            &format!("/w/{t}/sales/collections"),
            &[
                ("buyer_id", &buyer),
                ("purpose", "deposit"),
                ("amount", "50"),
                ("action", "online"),
                ("channel", "wechatpay"),
            ],
        )
        .await;
    topup.assert_contains("Prepaid Deposit");
    let token = link_token(&topup.body);
    let phone = app.browser();
    phone.post(&format!("/checkout/{token}"), &[("channel", "alipay")]).await;
    let code = attempts(&app, &token)[0].code_url.clone().unwrap();
    sandbox_post(&app, "/sandbox/dev/alipay/pay", json!({"qr_code": code})).await;
    let deposit = |app: &TestApp| {
        let (t, buyer) = (t.clone(), buyer.clone());
        app.db(move |c| store::buyer(c, &t, &buyer).unwrap()).unwrap().deposit_fen
    };
    eventually("the deposit is credited", || deposit(&app) == 5000).await;
    let page = b.get(&format!("/w/{t}/sales/buyers/{buyer}")).await;
    page.assert_contains("¥50.00");

    // Refunds: partial, then more than is left is refused, then the rest.
    let pid = attempts(&app, &token)[0].id.clone();
    let col = app.db(move |c| store::collection_of_payment(c, &pid).unwrap()).unwrap();
    let refund = |amount: &'static str| {
        let (b, path) = (&b, format!("/w/{t}/sales/collections/{}/refund", col.id));
        async move { b.post(&path, &[("amount", amount), ("reason", "Returned")]).await }
    };
    let partial = refund("20").await;
    assert_eq!(partial.status(), StatusCode::OK, "{}", partial.body);
    partial.assert_contains("The refund is on its way.");
    eventually("the partial refund settles", || deposit(&app) == 3000).await;
    let too_much = refund("30.01").await;
    assert_eq!(too_much.status(), StatusCode::UNPROCESSABLE_ENTITY);
    too_much.assert_contains("A refund cannot exceed what was paid");
    too_much.assert_contains("value=\"30.01\"");
    let rest = refund("30").await;
    assert_eq!(rest.status(), StatusCode::OK, "{}", rest.body);
    eventually("the deposit is back to zero", || deposit(&app) == 0).await;
    let detail = b.get(&format!("/w/{t}/sales/collections/{}", col.id)).await;
    detail.assert_contains("Everything paid is refunded");
    detail.assert_contains("-¥20.00");

    // A WeChat Pay collection refunded in full through the refund notification.
    let first = app.db({
        let t = t.clone();
        move |c| {
            store::collections(c, &t, &store::ListFilter { channel: "wechatpay".into(), ..Default::default() }, 10, 0)
                .unwrap()
        }
    });
    let wx = first[0].0.id.clone();
    let full = b.post(&format!("/w/{t}/sales/collections/{wx}/refund"), &[("amount", "18.00"), ("reason", "")]).await;
    assert_eq!(full.status(), StatusCode::OK, "{}", full.body);
    eventually("the WeChat Pay refund settles", || {
        let (t, wx) = (t.clone(), wx.clone());
        app.db(move |c| store::collection(c, &t, &wx).unwrap()).unwrap().0.refunded_fen == 1800
    })
    .await;
    assert_eq!(audit_count(&app, "refund.succeeded"), 3);
}

#[tokio::test]
async fn the_display_conditions_hide_and_show_the_online_payment_button() {
    let app = TestApp::spawn_with(FAST).await;
    let (b, t, gold) = ready_tenant(&app, "rules@acme.example").await;
    let silver = add_buyer(&b, &t, "River Mart", "Silver", "").await;
    let mut rules: Vec<(&str, &str)> = ALL_ON.to_vec();
    rules.extend([("min_amount", "100"), ("max_amount", "500"), ("group", "Gold")]);
    let saved = b.post(&format!("/w/{t}/sales/settings"), &rules).await;
    saved.assert_contains("Payment settings saved.");

    let small = create_order(&b, &t, &gold, &[("Tea", "1", "50")]).await;
    let right = create_order(&b, &t, &gold, &[("Tea", "2", "100")]).await;
    let other_group = create_order(&b, &t, &silver, &[("Tea", "2", "100")]).await;
    let has_button =
        |page: &crate::helpers::Page, order: &str| page.body.contains(&format!("/sales/orders/{order}/pay"));
    let list = b.get(&format!("/w/{t}/sales/orders")).await;
    assert!(has_button(&list, &right), "shown for a Gold order of ¥200");
    assert!(!has_button(&list, &small), "hidden under ¥100");
    assert!(!has_button(&list, &other_group), "hidden for another group");
    // Pressing it anyway (a stale page, a typed URL) is refused with the reason.
    let refused = b.post(&format!("/w/{t}/sales/orders/{small}/pay"), &[]).await;
    refused.assert_contains("does not meet the Online Payment button");
    let (tid, o) = (t.clone(), small.clone());
    assert!(app.db(move |c| store::open_request_of_order(c, &tid, &o, 0).unwrap()).is_none(), "no link made");

    // Order-based payment switched off: no button anywhere, and refused.
    let off: Vec<(&str, &str)> = vec![("online_enabled", "on"), ("status_unpaid", "on")];
    b.post(&format!("/w/{t}/sales/settings"), &off).await;
    let list = b.get(&format!("/w/{t}/sales/orders")).await;
    assert!(!has_button(&list, &right));
    let refused = b.post(&format!("/w/{t}/sales/orders/{right}/pay"), &[]).await;
    refused.assert_contains("Online payment on sales orders is off");
    // Bad input is shown beside its field with the input kept.
    let bad = b.post(&format!("/w/{t}/sales/settings"), &[("min_amount", "12.345"), ("max_amount", "abc")]).await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    bad.assert_contains("min_amount-error");
    bad.assert_contains("value=\"12.345\"");
}

#[tokio::test]
async fn enable_online_payment_is_refused_while_the_wallet_is_not_ready() {
    let app = TestApp::spawn_with(FAST).await;
    configure_provider(&app).await;
    let (b, t) = bound(&app, "early@acme.example", &ALL_SETS).await;
    let refused = b.post(&format!("/w/{t}/sales/settings"), &ALL_ON).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    refused.assert_contains("neither WeChat Pay nor Alipay passes the payment readiness checks");
    refused.assert_contains("/wallet#readiness");
    let tid = t.clone();
    assert!(!app.db(move |c| store::settings(c, &tid).unwrap()).online_enabled, "nothing stored");
    // And a collection cannot be asked for meanwhile.
    let buyer = add_buyer(&b, &t, "Harbor Foods", "", "").await;
    let no = b
        .post(
            &format!("/w/{t}/sales/collections"),
            &[("buyer_id", &buyer), ("purpose", "other"), ("amount", "1"), ("action", "online")],
        )
        .await;
    no.assert_contains("Online payment on payment collections is off");
}

#[tokio::test]
async fn retries_duplicates_and_a_late_notification_collect_once_and_a_lost_one_is_found_by_asking() {
    let mut settings = FAST.to_vec();
    // Long enough that each payment below is made well within its window, short enough to wait for.
    settings.push(("MINIHOST_PAY_WINDOW_SECS", "4"));
    let app = TestApp::spawn_with(&settings).await;
    let (b, t, buyer) = ready_tenant(&app, "once@acme.example").await;

    // Paid, then the same notification delivered five more times at once.
    let order = create_order(&b, &t, &buyer, &[("Tea", "1", "10")]).await;
    let token = online_payment(&b, &t, &order).await;
    app.browser().post(&format!("/checkout/{token}"), &[("channel", "wechatpay")]).await;
    let code = attempts(&app, &token)[0].code_url.clone().unwrap();
    sandbox_post(&app, "/sandbox/dev/wechatpay/pay", json!({"code_url": code})).await;
    eventually("paid", || order_status(&app, &t, &order) == "paid").await;
    let notes: Value =
        reqwest::get(format!("{}/sandbox/dev/wechatpay/notifications", app.base)).await.unwrap().json().await.unwrap();
    let first = notes
        .as_array()
        .and_then(|n| n.iter().find(|n| n["event_type"] == "TRANSACTION.SUCCESS"))
        .cloned()
        .expect("a payment notification");
    let resend = format!("{}/sandbox/dev/wechatpay/notifications/{}/resend", app.base, first["id"].as_str().unwrap());
    let client = reqwest::Client::new();
    let pid = attempts(&app, &token)[0].id.clone();
    let received = |app: &TestApp| {
        let pid = pid.clone();
        app.db(move |c| wallet_store::notifications_of(c, &pid).unwrap())
    };
    for n in 2..=6 {
        assert!(client.post(&resend).send().await.unwrap().status().is_success());
        eventually(&format!("delivery {n} is counted"), || received(&app) >= n).await;
    }
    assert_eq!(collections_of(&app, &t), 1, "one collection whatever the retries");

    // Lost: the notification never comes; the query after the window collects it.
    let lost = create_order(&b, &t, &buyer, &[("Tea", "2", "10")]).await;
    let token = online_payment(&b, &t, &lost).await;
    let token_lost = token.clone();
    app.browser().post(&format!("/checkout/{token}"), &[("channel", "wechatpay")]).await;
    let code = attempts(&app, &token)[0].code_url.clone().unwrap();
    sandbox_post(&app, "/sandbox/dev/wechatpay/pay", json!({"code_url": code, "lose_notification": true})).await;
    eventually("the lost payment is found by asking", || order_status(&app, &t, &lost) == "paid").await;
    let pid = attempts(&app, &token)[0].id.clone();
    let col = app.db(move |c| store::collection_of_payment(c, &pid).unwrap()).unwrap();
    assert_eq!(col.source, "query");

    // Unpaid past the window: closed at WeChat Pay and here; the order stays unpaid.
    let unpaid = create_order(&b, &t, &buyer, &[("Tea", "3", "10")]).await;
    let token = online_payment(&b, &t, &unpaid).await;
    app.browser().post(&format!("/checkout/{token}"), &[("channel", "wechatpay")]).await;
    eventually("the unpaid attempt is closed", || attempts(&app, &token)[0].state == "closed").await;
    assert_eq!(order_status(&app, &t, &unpaid), "unpaid");
    let late =
        sandbox_post(&app, "/sandbox/dev/wechatpay/pay", json!({"code_url": attempts(&app, &token)[0].code_url})).await;
    assert!(late.get("trade_state").is_none(), "a closed order cannot be paid: {late}");

    // The query and the notification both say "paid", in either order: collected once. The
    // lost payment above was collected by the query; its notification now arrives after all
    // (WeChat Pay's own, signed as documented, with the same facts).
    let found = attempts(&app, &token_lost)[0].clone();
    let key = minihost::pay::keys::PrivateKey::parse(sandbox::PLATFORM_KEY_PEM).unwrap();
    let (body, headers) =
        notification("EV-late", &found.out_trade_no, found.amount_fen, &found.merchant, minihost::now(), &key);
    let mut late = client.post(format!("{}/pay/wechat/notify", app.base)).body(body);
    for (k, v) in headers {
        late = late.header(k, v);
    }
    assert!(late.send().await.unwrap().status().is_success(), "a late notification is acknowledged");
    // And the first order, collected by its notification, had its query run after: nothing more.
    eventually("every reconciliation has run", || {
        app.db(|c| minihost::db::jobs::pending_of_kind(c, "reconcile_payment").unwrap()) == 0
    })
    .await;
    let token = token_lost;
    let pid = attempts(&app, &token)[0].id.clone();
    assert_eq!(app.db(move |c| store::collections_of_payment_count(c, &pid).unwrap()), 1);
    assert_eq!(collections_of(&app, &t), 2);
    assert_eq!(audit_count(&app, "payment.collected"), 2);
}

/// A payment notification as WeChat Pay documents it (reference §7.7–7.8): the transaction
/// AEAD-encrypted with the APIv3 key, the body signed with the platform key (the sandbox's
/// published keys), at `at`. The body and the `Wechatpay-*` headers.
fn notification(
    id: &str,
    out_trade_no: &str,
    amount: i64,
    sub_mchid: &str,
    at: i64,
    key: &minihost::pay::keys::PrivateKey,
) -> (String, Vec<(String, String)>) {
    use minihost::pay::wechatpay::{Resource, SignedHeaders};
    let plain = json!({
        "sp_mchid": sandbox::SP_MCHID, "sub_mchid": sub_mchid, "out_trade_no": out_trade_no,
        "transaction_id": format!("4200000000{id}"), "trade_type": "NATIVE", "trade_state": "SUCCESS",
        "trade_state_desc": "支付成功", "success_time": "2026-12-07T10:00:00+08:00",
        "amount": {"total": amount, "payer_total": amount, "currency": "CNY", "payer_currency": "CNY"},
    })
    .to_string();
    let r = Resource::seal(sandbox::SP_API_V3_KEY, "abcdefghijkl", "transaction", "transaction", &plain).unwrap();
    let body = json!({"id": id, "create_time": "2026-12-07T10:00:00+08:00", "resource_type": "encrypt-resource",
        "event_type": "TRANSACTION.SUCCESS", "summary": "支付成功",
        "resource": {"original_type": "transaction", "algorithm": r.algorithm, "ciphertext": r.ciphertext,
            "associated_data": r.associated_data, "nonce": r.nonce}})
    .to_string();
    let h = SignedHeaders::sign(key, sandbox::PLATFORM_CERT_SERIAL, &body, at);
    let headers = h.pairs().iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    (body, headers)
}

#[tokio::test]
async fn the_same_payment_notified_to_two_instances_at_once_is_collected_once() {
    let app = TestApp::spawn_with(FAST).await;
    let (b, t, buyer) = ready_tenant(&app, "twice@acme.example").await;
    let other = app.second_instance().await;
    let order = create_order(&b, &t, &buyer, &[("Tea", "1", "10")]).await;
    let token = online_payment(&b, &t, &order).await;
    app.browser().post(&format!("/checkout/{token}"), &[("channel", "wechatpay")]).await;
    let attempt = attempts(&app, &token)[0].clone();
    let key = minihost::pay::keys::PrivateKey::parse(sandbox::PLATFORM_KEY_PEM).unwrap();
    let client = reqwest::Client::new();
    // Ten deliveries at once, half to each instance: two notification ids (a retry and a
    // second notice of the same payment), each sent five times.
    let sends = (0..10).map(|i| {
        let base = if i % 2 == 0 { &app.base } else { &other.base };
        let (body, headers) = notification(
            &format!("EV-twice-{}", i % 3 % 2),
            &attempt.out_trade_no,
            1000,
            &attempt.merchant,
            minihost::now(),
            &key,
        );
        let mut req =
            client.post(format!("{base}/pay/wechat/notify")).header("Content-Type", "application/json").body(body);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        req.send()
    });
    for r in futures_util::future::join_all(sends).await {
        let r = r.unwrap();
        assert!(r.status().is_success(), "{}", r.status());
    }
    assert_eq!(order_status(&app, &t, &order), "paid");
    assert_eq!(collections_of(&app, &t), 1);
    assert_eq!(audit_count(&app, "payment.collected"), 1);
    let tid = t.clone();
    let paid = app.db(move |c| store::order(c, &tid, &order).unwrap()).unwrap().0.paid_fen;
    assert_eq!(paid, 1000, "paid once, not twice");
}

#[tokio::test]
async fn notifications_with_a_wrong_amount_or_merchant_stale_or_forged_are_not_collected() {
    use minihost::pay::keys::PrivateKey;
    let app = TestApp::spawn_with(FAST).await;
    let (b, t, buyer) = ready_tenant(&app, "forged@acme.example").await;
    let order = create_order(&b, &t, &buyer, &[("Tea", "1", "10")]).await;
    let token = online_payment(&b, &t, &order).await;
    app.browser().post(&format!("/checkout/{token}"), &[("channel", "wechatpay")]).await;
    let attempt = attempts(&app, &token)[0].clone();
    let platform = PrivateKey::parse(sandbox::PLATFORM_KEY_PEM).unwrap();
    let client = reqwest::Client::new();
    let url = format!("{}/pay/wechat/notify", app.base);
    let send = |id: &str, out_trade_no: &str, amount: i64, sub_mchid: &str, at: i64, key: &PrivateKey| {
        let (body, headers) = notification(id, out_trade_no, amount, sub_mchid, at, key);
        let mut req = client.post(&url).header("Content-Type", "application/json").body(body);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        req.send()
    };
    let now = minihost::now();
    // Stale timestamp and a key that is not WeChat Pay's: refused, nothing stored.
    assert_eq!(
        send("EV-stale", &attempt.out_trade_no, 1000, &attempt.merchant, now - 3600, &platform).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let other = PrivateKey::parse(include_str!("../fixtures/pay/other_key.pem")).unwrap();
    assert_eq!(
        send("EV-forged", &attempt.out_trade_no, 1000, &attempt.merchant, now, &other).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    // Signed by WeChat Pay's key but not encrypted with our APIv3 key: refused, nothing stored.
    let bad = json!({"id": "EV-garbled", "create_time": "2026-12-07T10:00:00+08:00", "resource_type": "encrypt-resource",
        "event_type": "TRANSACTION.SUCCESS", "summary": "",
        "resource": {"original_type": "transaction", "algorithm": "AEAD_AES_256_GCM", "ciphertext": "bm90IGVuY3J5cHRlZA==",
            "associated_data": "transaction", "nonce": "abcdefghijkl"}})
    .to_string();
    let h = minihost::pay::wechatpay::SignedHeaders::sign(&platform, sandbox::PLATFORM_CERT_SERIAL, &bad, now);
    let mut req = client.post(&url).body(bad);
    for (k, v) in h.pairs() {
        req = req.header(k, v);
    }
    assert_eq!(req.send().await.unwrap().status(), StatusCode::BAD_REQUEST);
    // Genuine signatures with a tampered amount or another merchant: stored, flagged, not collected.
    assert!(
        send("EV-amount", &attempt.out_trade_no, 1, &attempt.merchant, now, &platform)
            .await
            .unwrap()
            .status()
            .is_success()
    );
    assert_eq!(collections_of(&app, &t), 0);
    assert_eq!(order_status(&app, &t, &order), "unpaid");
    let flagged = attempts(&app, &token)[0].clone();
    assert_eq!(flagged.state, "failed");
    assert!(flagged.error.unwrap().contains("not collected"));
    assert_eq!(audit_count(&app, "payment.mismatch"), 1);
    let order2 = create_order(&b, &t, &buyer, &[("Tea", "1", "10")]).await;
    let token2 = online_payment(&b, &t, &order2).await;
    app.browser().post(&format!("/checkout/{token2}"), &[("channel", "wechatpay")]).await;
    let second = attempts(&app, &token2)[0].clone();
    assert!(
        send("EV-merchant", &second.out_trade_no, 1000, "1900009999", now, &platform)
            .await
            .unwrap()
            .status()
            .is_success()
    );
    assert_eq!(collections_of(&app, &t), 0, "another merchant's payment is not ours to collect");
    assert_eq!(order_status(&app, &t, &order2), "unpaid");
    // A replayed notification id changes nothing, even with the right facts.
    let order3 = create_order(&b, &t, &buyer, &[("Tea", "1", "10")]).await;
    let token3 = online_payment(&b, &t, &order3).await;
    app.browser().post(&format!("/checkout/{token3}"), &[("channel", "wechatpay")]).await;
    let third = attempts(&app, &token3)[0].clone();
    assert!(
        send("EV-amount", &third.out_trade_no, 1000, &third.merchant, now, &platform)
            .await
            .unwrap()
            .status()
            .is_success()
    );
    assert_eq!(collections_of(&app, &t), 0, "a replayed id is stored once and not applied again");
    // The same facts under a new id are a real payment: collected once.
    assert!(
        send("EV-genuine", &third.out_trade_no, 1000, &third.merchant, now, &platform)
            .await
            .unwrap()
            .status()
            .is_success()
    );
    assert_eq!(collections_of(&app, &t), 1);

    // Alipay: a stale notify_time is refused even with a good signature.
    let key = PrivateKey::parse(sandbox::ALIPAY_GATEWAY_KEY_PEM).unwrap();
    let mut params = std::collections::BTreeMap::new();
    for (k, v) in [
        ("app_id", sandbox::ALIPAY_DEMO_APP_ID),
        ("notify_id", "stale-1"),
        ("notify_type", "trade_status_sync"),
        ("notify_time", "2020-01-01 10:00:00"),
        ("out_trade_no", attempt.out_trade_no.as_str()),
        ("trade_status", "TRADE_SUCCESS"),
        ("total_amount", "10.00"),
        ("charset", "utf-8"),
        ("version", "1.0"),
    ] {
        params.insert(k.to_string(), v.to_string());
    }
    minihost::pay::alipay::sign_notification(&mut params, &key);
    let ali = client.post(format!("{}/pay/alipay/notify", app.base)).form(&params).send().await.unwrap();
    assert_eq!(ali.status(), StatusCode::BAD_REQUEST);
    assert_eq!(ali.text().await.unwrap(), "fail");
}

#[tokio::test]
async fn another_tenants_orders_collections_and_buyers_are_not_found_under_your_url() {
    let app = TestApp::spawn_with(FAST).await;
    let (b, t, buyer) = ready_tenant(&app, "mine@acme.example").await;
    let (other, other_t) = app.approved_tenant("theirs@beta.example", "Beta Ltd").await;
    let their_buyer = add_buyer(&other, &other_t, "Beta Buyer", "", "").await;
    let their_order = create_order(&other, &other_t, &their_buyer, &[("Secret tea", "1", "99")]).await;
    // A collection of ours, to try under their URL's ids the other way round.
    let order = create_order(&b, &t, &buyer, &[("Tea", "1", "10")]).await;
    let token = online_payment(&b, &t, &order).await;
    app.browser().post(&format!("/checkout/{token}"), &[("channel", "wechatpay")]).await;
    let request_id = token.split('.').next().unwrap().to_string();

    for path in [format!("/w/{t}/sales/orders/{their_order}"), format!("/w/{t}/sales/buyers/{their_buyer}")] {
        let page = b.get(&path).await;
        assert_eq!(page.status(), StatusCode::NOT_FOUND, "{path}");
        page.assert_lacks("Secret tea");
    }
    for path in [format!("/w/{t}/sales/orders/{their_order}/pay"), format!("/w/{t}/sales/orders/{their_order}/cancel")]
    {
        assert_eq!(b.post(&path, &[]).await.status(), StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(order_status(&app, &other_t, &their_order), "unpaid", "their order untouched");
    // They cannot see or act on our request, through their own URL.
    assert_eq!(other.get(&format!("/w/{other_t}/sales/requests/{request_id}")).await.status(), StatusCode::NOT_FOUND);
    let qr = other.post(&format!("/w/{other_t}/sales/requests/{request_id}/qr"), &[("channel", "alipay")]).await;
    assert_eq!(qr.status(), StatusCode::NOT_FOUND);
    assert_eq!(attempts(&app, &token).len(), 1, "no attempt made for them");
    // An order with a buyer of another tenant is refused beside the field.
    let page = b
        .post(
            &format!("/w/{t}/sales/orders"),
            &[
                ("buyer_id", &their_buyer),
                ("payment_method", "online"),
                ("product_0", "Tea"),
                ("quantity_0", "1"),
                ("unit_price_0", "1"),
            ],
        )
        .await;
    assert_eq!(page.status(), StatusCode::UNPROCESSABLE_ENTITY);
    page.assert_contains("Choose one of your buyers.");
    // A tampered link is not a payment page.
    let last = if token.ends_with('0') { '1' } else { '0' };
    let tampered = format!("{}{last}", &token[..token.len() - 1]);
    assert_eq!(app.browser().get(&format!("/checkout/{tampered}")).await.status(), StatusCode::NOT_FOUND);
}

/// `minihost serve` as its own process on the app's database and secret key, on `port`.
struct Serve(std::process::Child);

impl Serve {
    fn start(app: &TestApp, port: u16) -> Self {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_minihost"));
        cmd.arg("serve").env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
        for (k, v) in app.process_env() {
            cmd.env(k, v);
        }
        cmd.env("MINIHOST_BIND", format!("127.0.0.1:{port}")).env("RUST_LOG", "warn");
        cmd.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
        Self(cmd.spawn().expect("minihost serve starts"))
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn answers(base: &str) -> bool {
    reqwest::get(format!("{base}/healthz")).await.is_ok_and(|r| r.status().is_success())
}

#[tokio::test]
async fn a_process_killed_while_notifications_arrive_loses_none_and_collects_none_twice() {
    let app = TestApp::spawn_with(FAST).await;
    let (b, t, buyer) = ready_tenant(&app, "killed@acme.example").await;
    let mut out_trade_nos = Vec::new();
    for i in 0..12 {
        let order = create_order(&b, &t, &buyer, &[("Tea", "1", &format!("{}", 10 + i))]).await;
        let token = online_payment(&b, &t, &order).await;
        app.browser().post(&format!("/checkout/{token}"), &[("channel", "wechatpay")]).await;
        let a = attempts(&app, &token)[0].clone();
        out_trade_nos.push((a.out_trade_no, a.amount_fen, a.merchant));
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let key = minihost::pay::keys::PrivateKey::parse(sandbox::PLATFORM_KEY_PEM).unwrap();
    let deliveries: Vec<(String, Vec<(String, String)>)> = out_trade_nos
        .iter()
        .enumerate()
        .map(|(i, (no, fen, mch))| notification(&format!("EV-kill-{i}"), no, *fen, mch, minihost::now(), &key))
        .collect();
    let post = |body: String, headers: Vec<(String, String)>| {
        let mut req = reqwest::Client::new().post(format!("{base}/pay/wechat/notify")).body(body);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        req.send()
    };

    let mut serve = Serve::start(&app, port);
    eventually_async(&base).await;
    // Every notification at once; the process is killed with SIGKILL while they are in flight.
    let in_flight: Vec<_> = deliveries.iter().cloned().map(|(b, h)| tokio::spawn(post(b, h))).collect();
    tokio::task::yield_now().await;
    serve.0.kill().expect("kill -9");
    serve.0.wait().unwrap();
    let mut acknowledged = 0;
    for r in futures_util::future::join_all(in_flight).await {
        if r.unwrap().is_ok_and(|r| r.status().is_success()) {
            acknowledged += 1;
        }
    }
    let stored_before_restart = collections_of(&app, &t);
    assert!(stored_before_restart >= acknowledged, "an acknowledged notification was stored");

    // A new process on the same database; WeChat Pay sends every notification again.
    let _again = Serve::start(&app, port);
    eventually_async(&base).await;
    for (body, headers) in deliveries {
        assert!(post(body, headers).await.unwrap().status().is_success());
    }
    assert_eq!(collections_of(&app, &t), 12, "every payment collected");
    assert_eq!(audit_count(&app, "payment.collected"), 12, "none collected twice");
}

/// Waits (at most 20 s) for a started process to answer.
async fn eventually_async(base: &str) {
    for _ in 0..400 {
        if answers(base).await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{base} did not start within 20 s");
}

#[tokio::test]
async fn cancelling_an_order_closes_the_qr_codes_already_shown() {
    let app = TestApp::spawn_with(FAST).await;
    let (b, t, buyer) = ready_tenant(&app, "cancel@acme.example").await;
    let order = create_order(&b, &t, &buyer, &[("Tea", "1", "10")]).await;
    let token = online_payment(&b, &t, &order).await;
    let phone = app.browser();
    phone.post(&format!("/checkout/{token}"), &[("channel", "wechatpay")]).await;
    phone.post(&format!("/checkout/{token}"), &[("channel", "alipay")]).await;
    assert_eq!(attempts(&app, &token).len(), 2);

    let cancelled = b.post(&format!("/w/{t}/sales/orders/{order}/cancel"), &[]).await;
    cancelled.assert_contains("The order is cancelled");
    assert!(attempts(&app, &token).iter().all(|p| p.state == "closed"), "both codes closed here");
    // Closed at WeChat Pay and Alipay too: scanning them now pays nothing.
    let wx = attempts(&app, &token).into_iter().find(|p| p.channel == "wechatpay").unwrap();
    let late = sandbox_post(&app, "/sandbox/dev/wechatpay/pay", json!({"code_url": wx.code_url})).await;
    assert!(late.get("trade_state").is_none(), "{late}");
    let ali = attempts(&app, &token).into_iter().find(|p| p.channel == "alipay").unwrap();
    let late = sandbox_post(&app, "/sandbox/dev/alipay/pay", json!({"qr_code": ali.code_url})).await;
    assert_ne!(late["trade_status"], "TRADE_SUCCESS", "{late}");
    phone.get(&format!("/checkout/{token}")).await.assert_contains("This payment was cancelled.");
    assert_eq!(order_status(&app, &t, &order), "cancelled");
    assert_eq!(collections_of(&app, &t), 0);
}
