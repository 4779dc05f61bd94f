//! The payment protocols and nothing more: RSA keys and certificates, WeChat Pay APIv3
//! (partner mode) and Alipay's gateway on the wire, and their typed clients. No database,
//! no product rules: those are `services::wallet`.

pub mod alipay;
pub mod alipay_client;
pub mod keys;
pub mod wechatpay;
pub mod wechatpay_client;
