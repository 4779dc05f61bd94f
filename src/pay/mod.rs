//! The payment protocols and nothing more: RSA keys and certificates, WeChat Pay APIv3
//! (partner mode) and Alipay's gateway on the wire, and their typed clients. No database,
//! no product rules: those are `services::wallet`.

pub mod alipay;
pub mod alipay_client;
pub mod keys;
pub mod wechatpay;
pub mod wechatpay_client;

/// The HTTP client both payment clients use: 10 s per call, 5 s to connect, our user agent.
pub(crate) fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .connect_timeout(std::time::Duration::from_secs(5))
        .user_agent(concat!("minihost/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}
