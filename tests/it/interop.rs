//! Interoperability: an independent client of WeChat Pay and Alipay (`tests/interop/payments.py`,
//! written from the documentation with Python's `cryptography`, none of minihost's code) signs
//! requests the sandbox accepts, verifies the sandbox's signed answers, and sends the console
//! notifications built as WeChat Pay and Alipay build them, which it collects. Needs python3
//! with `cryptography` (Debian's python3-cryptography); .ci/run runs it in the browser lane.

use minihost::sandbox::pay as sandbox;
use serde_json::json;

use crate::helpers::TestApp;
use crate::mini_program::eventually;
use crate::online_payment::{attempts, collections_of, create_order, online_payment, order_status, ready_tenant};

#[tokio::test]
#[ignore = "needs python3 with cryptography; .ci/run runs it"]
async fn interop_an_independent_client_talks_to_the_sandbox_and_pays_through_the_console() {
    let app = TestApp::spawn_with(crate::wallet::FAST).await;
    let (b, t, buyer) = ready_tenant(&app, "interop@acme.example").await;
    let wx_order = create_order(&b, &t, &buyer, &[("Tea", "1", "12.34")]).await;
    let wx_token = online_payment(&b, &t, &wx_order).await;
    app.browser().post(&format!("/checkout/{wx_token}"), &[("channel", "wechatpay")]).await;
    let wx = attempts(&app, &wx_token)[0].clone();
    let ali_order = create_order(&b, &t, &buyer, &[("Tea", "2", "5.55")]).await;
    let ali_token = online_payment(&b, &t, &ali_order).await;
    app.browser().post(&format!("/checkout/{ali_token}"), &[("channel", "alipay")]).await;
    let ali = attempts(&app, &ali_token)[0].clone();

    let config = json!({
        "console": app.base,
        "wechatpay_base": format!("{}/sandbox/wechatpay", app.base),
        "alipay_gateway": format!("{}/sandbox/alipay/gateway.do", app.base),
        "sp_mchid": sandbox::SP_MCHID,
        "merchant_serial": sandbox::SP_CERT_SERIAL,
        "merchant_key": sandbox::SP_KEY_PEM,
        "api_v3_key": sandbox::SP_API_V3_KEY,
        "platform_cert": sandbox::PLATFORM_CERT_PEM,
        "platform_key": sandbox::PLATFORM_KEY_PEM,
        "platform_serial": sandbox::PLATFORM_CERT_SERIAL,
        "sub_mchid": wx.merchant,
        "wechat_out_trade_no": wx.out_trade_no,
        "wechat_total": wx.amount_fen,
        "alipay_app_id": sandbox::ALIPAY_DEMO_APP_ID,
        "alipay_app_key": sandbox::ALIPAY_DEMO_APP_KEY_PEM,
        "alipay_public_key": sandbox::ALIPAY_PUBLIC_KEY_PEM,
        "alipay_gateway_key": sandbox::ALIPAY_GATEWAY_KEY_PEM,
        "alipay_out_trade_no": ali.out_trade_no,
        "alipay_total": minihost::domain::wallet::yuan(ali.amount_fen),
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    std::fs::write(&path, config.to_string()).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/payments.py");
    let run = path.clone();
    let out = tokio::task::spawn_blocking(move || std::process::Command::new("python3").arg(script).arg(run).output())
        .await
        .unwrap()
        .expect("python3 runs");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(said.lines().filter(|l| l.starts_with("ok")).count(), 7, "{said}");

    eventually("both orders are paid", || {
        order_status(&app, &t, &wx_order) == "paid" && order_status(&app, &t, &ali_order) == "paid"
    })
    .await;
    assert_eq!(collections_of(&app, &t), 2);
}
