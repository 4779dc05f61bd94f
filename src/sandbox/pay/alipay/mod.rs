//! Alipay's open platform under `/sandbox/alipay` (reference §8, notes §4.3): the gateway
//! `gateway.do` with its common-parameter checks, RSA2 signatures and signed answers
//! ([`gateway`]); the trade methods precreate, query, close, refund and refund query
//! ([`trades`], pure rules in [`rules`]); the buyer who scans and pays, and the signed
//! asynchronous notifications with Alipay's retries ([`notify`]); the applications registered
//! on the open platform console; the human pages ([`pages`]) and the JSON dev endpoints
//! under `/sandbox/dev/alipay` ([`dev`]). Rows are in `sandbox_alipay_*` ([`store`]).
//!
//! The console's `MINIHOST_ALIPAY_GATEWAY` is `{public_url}/sandbox/alipay/gateway.do`; every
//! application verifies answers with `ALIPAY_PUBLIC_KEY_PEM`.

use actix_web::web;

pub mod dev;
pub mod gateway;
pub mod notify;
pub mod pages;
pub mod rules;
pub mod store;
pub mod trades;

pub use notify::{Handle, spawn};

/// The host of the QR codes precreate hands out.
pub const QR_PREFIX: &str = "https://qr.alipay.com/";

/// The `qr_code` of a trade's token.
pub fn qr_code(token: &str) -> String {
    format!("{QR_PREFIX}{token}")
}

/// The token of a pasted `qr_code` (the whole URL, or the token alone).
pub fn qr_token(qr: &str) -> &str {
    let qr = qr.trim();
    let path = qr.split(['?', '#']).next().unwrap_or(qr).trim_end_matches('/');
    path.rsplit('/').next().unwrap_or(path)
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    let form = || web::FormConfig::default().limit(64 * 1024).error_handler(crate::sandbox::page::bad_form);
    cfg.service(
        web::scope("/sandbox/dev/alipay")
            .route("/published", web::get().to(super::published_alipay))
            .route("/apps", web::get().to(dev::list_apps))
            .route("/apps", web::post().to(dev::create_app))
            .route("/pay", web::post().to(dev::pay))
            .route("/notifications", web::get().to(dev::notifications))
            .route("/notifications/{id}/resend", web::post().to(dev::resend))
            .default_service(web::to(crate::sandbox::dev::not_found)),
    )
    .service(
        web::scope("/sandbox/alipay")
            .app_data(form())
            .route("/gateway.do", web::get().to(gateway::gateway))
            .route("/gateway.do", web::post().to(gateway::gateway))
            .route("", web::get().to(pages::home))
            .route("/", web::get().to(pages::home))
            .route("/apps", web::post().to(pages::create_app))
            .route("/notifications/{id}/resend", web::post().to(pages::resend))
            .route("/buyer", web::get().to(pages::buyer))
            .route("/buyer/{token}", web::get().to(pages::trade))
            .route("/buyer/{token}/pay", web::post().to(pages::pay))
            .default_service(web::to(crate::sandbox::page::not_found)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pasted_qr_code_names_its_token() {
        assert_eq!(qr_token("https://qr.alipay.com/bax0abc"), "bax0abc");
        assert_eq!(qr_token(" https://qr.alipay.com/bax0abc/ "), "bax0abc");
        assert_eq!(qr_token("https://qr.alipay.com/bax0abc?x=1"), "bax0abc");
        assert_eq!(qr_token("bax0abc"), "bax0abc");
        assert_eq!(qr_code("t"), "https://qr.alipay.com/t");
    }
}
