//! An Alipay notification: the body decoded as the route decodes it (serde_urlencoded into
//! a sorted map), then `read_alipay_notification` (the sorted sign content, RSA2 under the
//! sandbox's Alipay public key, `notify_time`, `notify_id`, the amount) at the fixed clock.
//! One input in four is signed with the sandbox gateway key first, so the checks after the
//! signature see arbitrary parameters too. The body is also read as a gateway answer
//! (`verify_response`), which the console's Alipay client checks the same way.
#![no_main]

use std::collections::BTreeMap;
use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use minihost::pay::alipay;
use minihost::pay::keys::{PrivateKey, PublicKey};
use minihost::services::wallet::{NotifyRefusal, read_alipay_notification};
use minihost_fuzz::{NOW, alipay_gateway_key, alipay_public_key};

static PUBLIC: LazyLock<PublicKey> = LazyLock::new(alipay_public_key);
static GATEWAY: LazyLock<PrivateKey> = LazyLock::new(alipay_gateway_key);

fuzz_target!(|data: &[u8]| {
    let _ = alipay::verify_response("alipay.trade.query", &String::from_utf8_lossy(data), &PUBLIC);
    let Ok(mut params) = serde_urlencoded::from_bytes::<BTreeMap<String, String>>(data) else { return };
    let keys = std::slice::from_ref(&*PUBLIC);
    let _ = read_alipay_notification(&params, keys, NOW);
    if data.len() % 4 == 0 {
        alipay::sign_notification(&mut params, &GATEWAY);
        match read_alipay_notification(&params, keys, NOW) {
            Err(NotifyRefusal::BadSignature(why)) => panic!("a notification signed with the gateway key: {why}"),
            Ok(n) => assert!(!n.notify_id.is_empty()),
            Err(_) => {}
        }
    }
});
