//! A WeChat Pay notification: four lines of `Wechatpay-Timestamp`, `-Nonce`, `-Signature`
//! and `-Serial`, then the body. It goes through `open_wechat_notification` (signature,
//! window, JSON envelope, AES-256-GCM resource, the payment or refund inside) with the
//! sandbox's platform key at the fixed clock, and the part after the signature on its own.
//! The AEAD path: the body is sealed as a resource with the sandbox APIv3 key (so the
//! payment and refund parsers see arbitrary JSON), and a tampered copy must not open.
//! The first line is also read as an `Authorization` header (the sandbox checks those).
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use minihost::pay::wechatpay::{Authorization, PlatformVerifier, Resource, SignedHeaders};
use minihost::sandbox::pay::SP_API_V3_KEY;
use minihost::services::wallet::{NotifyRefusal, decode_wechat_notification, open_wechat_notification};
use minihost_fuzz::{AEAD_NONCE, NOW, lines, wechatpay_platform};

static PLATFORM: LazyLock<PlatformVerifier> = LazyLock::new(wechatpay_platform);

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (head, body) = lines(&text, 4);
    let headers = SignedHeaders {
        timestamp: head[0].to_string(),
        nonce: head[1].to_string(),
        signature: head[2].to_string(),
        serial: head[3].to_string(),
    };
    let _ = Authorization::parse(head[0]);
    let _ = open_wechat_notification(&PLATFORM, SP_API_V3_KEY, Some(&headers), body, NOW);
    let _ = decode_wechat_notification(SP_API_V3_KEY, body);

    // The resource path with arbitrary plaintext.
    let event = if data.first().is_some_and(|b| b % 2 == 1) { "REFUND.SUCCESS" } else { "TRANSACTION.SUCCESS" };
    let sealed = Resource::seal(SP_API_V3_KEY, AEAD_NONCE, "transaction", "transaction", body).expect("seals");
    let envelope = |resource: &Resource| {
        serde_json::json!({
            "id": "EV-fuzz", "create_time": "2023-11-15T06:13:20+08:00", "resource_type": "encrypt-resource",
            "event_type": event, "summary": "", "resource": resource,
        })
        .to_string()
    };
    match decode_wechat_notification(SP_API_V3_KEY, &envelope(&sealed)) {
        Err(NotifyRefusal::Malformed(_)) | Ok(_) => {}
        Err(other) => panic!("a well-sealed resource was refused as {other:?}"),
    }
    let tampered = Resource { associated_data: "certificate".into(), ..sealed };
    assert_eq!(
        decode_wechat_notification(SP_API_V3_KEY, &envelope(&tampered)).err(),
        Some(NotifyRefusal::Undecryptable),
        "a resource with other associated data opened"
    );
});
