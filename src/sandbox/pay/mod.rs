//! The sandbox's WeChat Pay (APIv3, partner mode) under `/sandbox/wechatpay` and Alipay's
//! gateway under `/sandbox/alipay`, with their fixed, published identities and keys
//! (README.md, "The sandbox's payment keys"). The key files are made once by
//! `scripts/gen-sandbox-pay-keys.py` and committed, so they never change between builds.

pub mod alipay;
pub mod wechatpay;

/// The simulated service provider (普通服务商): its merchant id, its AppID, its APIv3 key,
/// and its merchant API certificate and private key (the console's demo settings use them).
pub const SP_MCHID: &str = "1900000100";
pub const SP_APPID: &str = "wxd0c1e5a1b2c3d4e5";
pub const SP_API_V3_KEY: &str = "minihostsandboxapiv3key012345678";
pub const SP_CERT_SERIAL: &str = "3775B6A45ACD588826D15E583A95F5DD2C5CE3A5";
pub const SP_KEY_PEM: &str = include_str!("keys/merchant_key.pem");
pub const SP_CERT_PEM: &str = include_str!("keys/merchant_cert.pem");

/// WeChat Pay's platform key: signs every answer and notification. Merchants in certificate
/// mode verify it with the platform certificate (its serial); in public-key mode with the
/// public key (its id).
pub const PLATFORM_KEY_PEM: &str = include_str!("keys/wechatpay_platform_key.pem");
pub const PLATFORM_CERT_PEM: &str = include_str!("keys/wechatpay_platform_cert.pem");
pub const PLATFORM_CERT_SERIAL: &str = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1";
pub const PLATFORM_PUBLIC_KEY_PEM: &str = include_str!("keys/wechatpay_platform_public_key.pem");
pub const PLATFORM_PUBLIC_KEY_ID: &str = "PUB_KEY_ID_0119000001002025010100000000000001";

/// Alipay's gateway key: signs answers and notifications; its public half is what Alipay calls
/// "the Alipay public key" (支付宝公钥).
pub const ALIPAY_GATEWAY_KEY_PEM: &str = include_str!("keys/alipay_gateway_key.pem");
pub const ALIPAY_PUBLIC_KEY_PEM: &str = include_str!("keys/alipay_public_key.pem");
/// A demo enterprise application registered with the sandbox gateway, and its key pair.
pub const ALIPAY_DEMO_APP_ID: &str = "2021000100000001";
pub const ALIPAY_DEMO_APP_KEY_PEM: &str = include_str!("keys/alipay_app_key.pem");
pub const ALIPAY_DEMO_APP_PUBLIC_KEY_PEM: &str = include_str!("keys/alipay_app_public_key.pem");

/// The real retry schedules, in seconds, before dividing by `pay_retry_divisor`.
pub const WECHATPAY_RETRY_SECS: [u64; 15] =
    [15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600];
pub const ALIPAY_RETRY_SECS: [u64; 7] = [240, 600, 600, 3600, 7200, 21600, 54000];

/// `GET /sandbox/dev/wechatpay/provider`: the simulated service provider's published
/// identity and keys (as README.md prints them), for a console or any client to configure
/// itself against the sandbox.
pub async fn published_provider() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok().json(serde_json::json!({
        "sp_mchid": SP_MCHID,
        "sp_appid": SP_APPID,
        "api_v3_key": SP_API_V3_KEY,
        "private_key_pem": SP_KEY_PEM,
        "cert_serial": SP_CERT_SERIAL,
        "cert_pem": SP_CERT_PEM,
        "platform_cert_serial": PLATFORM_CERT_SERIAL,
        "platform_cert_pem": PLATFORM_CERT_PEM,
        "platform_public_key_id": PLATFORM_PUBLIC_KEY_ID,
        "platform_public_key_pem": PLATFORM_PUBLIC_KEY_PEM,
    }))
}

/// `GET /sandbox/dev/alipay/published`: the gateway's public key and the demo app's keys.
pub async fn published_alipay() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok().json(serde_json::json!({
        "alipay_public_key_pem": ALIPAY_PUBLIC_KEY_PEM,
        "demo_app_id": ALIPAY_DEMO_APP_ID,
        "demo_app_private_key_pem": ALIPAY_DEMO_APP_KEY_PEM,
        "demo_app_public_key_pem": ALIPAY_DEMO_APP_PUBLIC_KEY_PEM,
    }))
}
