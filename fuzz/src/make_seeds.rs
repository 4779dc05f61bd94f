//! Writes the seed corpora (`fuzz/corpus/<target>/seed-*`): real, valid inputs built with the
//! sandbox's published credentials at the targets' fixed clock, so each fuzzer starts past
//! the signature checks. Run from `fuzz/`: `cargo run --example make-seeds`.

use std::collections::BTreeMap;
use std::path::Path;

use minihost::config::SANDBOX_COMPONENT_APPID;
use minihost::pay::alipay;
use minihost::pay::wechatpay::{Resource, SignedHeaders};
use minihost::sandbox::pay as sandbox;
use minihost::wechat::crypto::build_flat_xml;
use minihost_fuzz::{
    AEAD_NONCE, ALIPAY_NOW, BOUNDARY, NOW, alipay_gateway_key, crypt, lines, wechatpay_platform_key,
};

/// A valid 1×1 PNG.
const TINY_PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0D, 0x49,
    0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0xF8, 0xCF, 0xC0, 0xF0, 0x1F, 0x00, 0x05, 0x00, 0x01, 0xFF, 0x89, 0x99, 0x3D,
    0x1D, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new("corpus").join(target);
    std::fs::create_dir_all(&dir).expect("the corpus folder");
    std::fs::write(dir.join(format!("seed-{name}")), bytes).expect("a seed file");
}

fn push(xml: &str, nonce: &str, to_user: Option<&str>) -> (String, String) {
    let c = crypt();
    let ts = NOW.to_string();
    let (body, sig) = c.seal_envelope(xml, &ts, nonce, to_user);
    let query = format!(
        "signature={}&timestamp={ts}&nonce={nonce}&encrypt_type=aes&msg_signature={sig}",
        c.plain_signature(&ts, nonce)
    );
    (format!("{query}\n{body}"), body)
}

fn main() {
    // The WeChat event envelope and the message crypto.
    let ticket = build_flat_xml(&[
        ("AppId", SANDBOX_COMPONENT_APPID),
        ("CreateTime", &NOW.to_string()),
        ("InfoType", "component_verify_ticket"),
        ("ComponentVerifyTicket", "ticket@@@sandbox-seed"),
    ]);
    let authorized = build_flat_xml(&[
        ("AppId", SANDBOX_COMPONENT_APPID),
        ("CreateTime", &NOW.to_string()),
        ("InfoType", "authorized"),
        ("AuthorizerAppid", "wx1234567890abcdef"),
        ("AuthorizationCode", "queryauthcode@@@seed"),
        ("AuthorizationCodeExpiredTime", &(NOW + 3600).to_string()),
        ("PreAuthCode", "preauthcode@@@seed"),
    ]);
    let audit_fail = build_flat_xml(&[
        ("ToUserName", "gh_fb9688c2a4b2"),
        ("FromUserName", "od1P50M-fNQI5Gcq-trm4a7apsU8"),
        ("CreateTime", &NOW.to_string()),
        ("MsgType", "event"),
        ("Event", "weapp_audit_fail"),
        ("Reason", "<li>1:Test reason<br></li>"),
        ("FailTime", &NOW.to_string()),
        ("ScreenShot", "xxx|yyy|zzz"),
    ]);
    let privacy = "<xml><ToUserName><![CDATA[gh_fb9688c2a4b2]]></ToUserName><CreateTime>1700000000</CreateTime>\
        <MsgType><![CDATA[event]]></MsgType><Event><![CDATA[wxa_privacy_apply]]></Event>\
        <result_info><api_name>wx.chooseAddress</api_name><apply_time>1700000000</apply_time>\
        <audit_id>12345</audit_id><audit_time>1700000000</audit_time><reason>a &amp; b &#x4e2d;</reason>\
        <status>2</status></result_info></xml>";
    let (t, t_body) = push(&ticket, "seed1", None);
    let (a, _) = push(&authorized, "seed2", None);
    let (f, f_body) = push(&audit_fail, "seed3", Some("gh_fb9688c2a4b2"));
    let (p, _) = push(privacy, "seed4", Some("gh_fb9688c2a4b2"));
    write("wechat_envelope", "ticket", t.as_bytes());
    write("wechat_envelope", "authorized", a.as_bytes());
    write("wechat_envelope", "audit-fail", f.as_bytes());
    write("wechat_envelope", "privacy-apply", p.as_bytes());
    write("wechat_envelope", "plain-xml", format!("nonce=x\n{privacy}").as_bytes());
    for (name, body) in [("ticket", &t_body), ("audit-fail", &f_body)] {
        let encrypt = body.split("<Encrypt><![CDATA[").nth(1).and_then(|r| r.split("]]>").next()).unwrap_or_default();
        write("wechat_crypto", name, encrypt.as_bytes());
    }
    write("wechat_crypto", "message", ticket.as_bytes());

    // WeChat Pay notifications, signed with the sandbox platform key.
    let key = wechatpay_platform_key();
    let transaction = serde_json::json!({
        "sp_mchid": sandbox::SP_MCHID, "sub_mchid": "1900000109", "sp_appid": sandbox::SP_APPID,
        "out_trade_no": "MH0123456789", "transaction_id": "4200000000202311150000000001", "trade_type": "NATIVE",
        "trade_state": "SUCCESS", "trade_state_desc": "支付成功", "success_time": "2023-11-15T06:13:20+08:00",
        "amount": {"total": 1, "payer_total": 1, "currency": "CNY", "payer_currency": "CNY"},
    });
    let refund = serde_json::json!({
        "sp_mchid": sandbox::SP_MCHID, "sub_mchid": "1900000109", "out_trade_no": "MH0123456789",
        "transaction_id": "4200000000202311150000000001", "out_refund_no": "RF0123456789",
        "refund_id": "50000000382019052709732678859", "refund_status": "SUCCESS",
        "amount": {"total": 1, "refund": 1, "payer_total": 1, "payer_refund": 1},
    });
    for (name, event, plain) in [("transaction", "TRANSACTION.SUCCESS", transaction), ("refund", "REFUND.SUCCESS", refund)]
    {
        let kind = if event.starts_with("REFUND") { "refund" } else { "transaction" };
        let r = Resource::seal(sandbox::SP_API_V3_KEY, AEAD_NONCE, kind, kind, &plain.to_string()).expect("seals");
        let body = serde_json::json!({"id": format!("EV-{name}"), "create_time": "2023-11-15T06:13:20+08:00",
            "resource_type": "encrypt-resource", "event_type": event, "summary": "支付成功", "resource": r})
        .to_string();
        let h = SignedHeaders::sign(&key, sandbox::PLATFORM_CERT_SERIAL, &body, NOW);
        let input = format!("{}\n{}\n{}\n{}\n{body}", h.timestamp, h.nonce, h.signature, h.serial);
        assert_eq!(lines(&input, 4).1, body);
        write("wechatpay_notify", name, input.as_bytes());
        // The plaintext alone, for the AEAD path (the target seals the body itself).
        write("wechatpay_notify", &format!("{name}-plain"), format!("\n\n\n\n{plain}").as_bytes());
    }

    // Alipay notifications, signed with the sandbox gateway key.
    let gateway = alipay_gateway_key();
    let mut params: BTreeMap<String, String> = [
        ("app_id", sandbox::ALIPAY_DEMO_APP_ID),
        ("notify_id", "2023111500222061320012345678"),
        ("notify_time", ALIPAY_NOW),
        ("notify_type", "trade_status_sync"),
        ("charset", "utf-8"),
        ("version", "1.0"),
        ("sign_type", "RSA2"),
        ("out_trade_no", "MH0123456789"),
        ("trade_no", "2023111522001400000000000001"),
        ("trade_status", "TRADE_SUCCESS"),
        ("total_amount", "0.01"),
        ("subject", "minihost self-test 0.01"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    alipay::sign_notification(&mut params, &gateway);
    write("alipay_notify", "trade-success", serde_urlencoded::to_string(&params).expect("a form").as_bytes());
    params.insert("trade_status".into(), "TRADE_CLOSED".into());
    params.insert("total_amount".into(), "12345.67".into());
    alipay::sign_notification(&mut params, &gateway);
    write("alipay_notify", "trade-closed", serde_urlencoded::to_string(&params).expect("a form").as_bytes());
    let answer = alipay::signed_response(
        "alipay.trade.query",
        &serde_json::json!({"code": "10000", "msg": "Success", "trade_status": "TRADE_SUCCESS", "total_amount": "0.01"}),
        &gateway,
    );
    write("alipay_notify", "gateway-answer", answer.as_bytes());

    // The business-details upload (first byte: the chunk size the target feeds).
    let part = |name: &str, value: &str| {
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").into_bytes()
    };
    let mut body = vec![64u8];
    body.extend(part("company_name", "Acme Trading Co., Ltd."));
    body.extend(part("website", "https://acme.example"));
    body.extend(part("contact_phone", "+86 10 1234 5678"));
    body.extend(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"logo\"; filename=\"logo.png\"\r\nContent-Type: image/png\r\n\r\n"
        )
        .into_bytes(),
    );
    body.extend(TINY_PNG);
    body.extend(format!("\r\n--{BOUNDARY}--\r\n").into_bytes());
    write("logo_upload", "details-with-logo", &body);
    let mut text_only = vec![7u8];
    text_only.extend(part("company_name", "北京小程序科技有限公司"));
    text_only.extend(part("remove_logo", "on"));
    text_only.extend(format!("--{BOUNDARY}--\r\n").into_bytes());
    write("logo_upload", "details-text-only", &text_only);
    write("logo_upload", "png", TINY_PNG);

    // The console's URL-encoded forms.
    for (name, form) in [
        ("signup", "email=a%40example.com&name=Ann&password=long-enough-1&accept_terms=on&csrf_token=t"),
        ("login", "email=a%40example.com&password=long-enough-1"),
        ("locale", "lang=zh-CN&return_to=%2Fw%2F1"),
        (
            "order",
            "buyer_id=0190&payment_method=online&product_0=Tea&quantity_0=2&unit_price_0=12.50&product_1=Pot&quantity_1=1&unit_price_1=30",
        ),
        ("sales-settings", "online_enabled=on&order_payment=on&min_amount=0.01&max_amount=5000"),
        ("collection", "buyer_id=0190&purpose=deposit&amount=100.00&note=hi&action=qr&channel=alipay"),
        ("platform", "required=1%2C2%2C3&appid=wx0000000000000001"),
        ("needs", "plugin_appid_0=wx1&plugin_name_0=Live&category_first_0=1&domain_0=https%3A%2F%2Fa.example"),
    ] {
        write("form_decoders", name, form.as_bytes());
    }
    println!("seeds written under fuzz/corpus/");
}
