//! What the fuzz targets share: the sandbox's credentials, the fixed clock, the input
//! layouts (so `make-seeds` writes seeds the targets read the same way) and a tiny executor.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use minihost::config::{SANDBOX_COMPONENT_AES_KEY, SANDBOX_COMPONENT_APPID, SANDBOX_COMPONENT_TOKEN};
use minihost::pay::keys::{PrivateKey, PublicKey};
use minihost::pay::wechatpay::PlatformVerifier;
use minihost::sandbox::pay as sandbox;
use minihost::wechat::crypto::MsgCrypt;

/// The clock every target runs at, so a seed signed at this time stays fresh.
pub const NOW: i64 = 1_700_000_000;
/// `NOW` as Alipay writes it (Beijing time).
pub const ALIPAY_NOW: &str = "2023-11-15 06:13:20";
/// The boundary of the multipart bodies the upload target reads.
pub const BOUNDARY: &str = "minihostfuzzboundary";
/// The nonce the AEAD path seals with.
pub const AEAD_NONCE: &str = "abcdefghijkl";

pub fn crypt() -> MsgCrypt {
    MsgCrypt::new(SANDBOX_COMPONENT_TOKEN, SANDBOX_COMPONENT_AES_KEY, SANDBOX_COMPONENT_APPID).expect("the sandbox key")
}

pub fn wechatpay_platform() -> PlatformVerifier {
    let key = PublicKey::parse(sandbox::PLATFORM_PUBLIC_KEY_PEM).expect("the sandbox platform key");
    PlatformVerifier { serial: sandbox::PLATFORM_CERT_SERIAL.to_string(), key }
}

pub fn wechatpay_platform_key() -> PrivateKey {
    PrivateKey::parse(sandbox::PLATFORM_KEY_PEM).expect("the sandbox platform key")
}

pub fn alipay_public_key() -> PublicKey {
    PublicKey::parse(sandbox::ALIPAY_PUBLIC_KEY_PEM).expect("the sandbox Alipay key")
}

pub fn alipay_gateway_key() -> PrivateKey {
    PrivateKey::parse(sandbox::ALIPAY_GATEWAY_KEY_PEM).expect("the sandbox Alipay gateway key")
}

/// Splits off the first `n` lines; the rest (possibly empty) is the last item.
pub fn lines(text: &str, n: usize) -> (Vec<&str>, &str) {
    let mut head = Vec::with_capacity(n);
    let mut rest = text;
    for _ in 0..n {
        match rest.split_once('\n') {
            Some((line, more)) => {
                head.push(line);
                rest = more;
            }
            None => {
                head.push(rest);
                rest = "";
            }
        }
    }
    (head, rest)
}

/// Runs a future that needs no outside wake-up (its input is all in memory) to the end.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..1_000_000 {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
    panic!("a future over an in-memory body never completed");
}
