//! WeChat Pay APIv3 in partner (service-provider) mode under `/sandbox/wechatpay`, speaking
//! the real wire format (reference §7, notes §4): base URL `{public_url}/sandbox/wechatpay`,
//! the signed canonical URL is the path after it (`/v3/...`).
//!
//! * [`api`]: request verification (401 `SIGN_ERROR`), signed answers,
//!   `GET /v3/certificates`, `POST /v3/merchant/media/upload`.
//! * [`applyment`]: `/v3/applyment4sub/applyment/` (submit, two queries), the reviewer's and
//!   the super administrator's decisions, sub-merchants opened after signing.
//! * [`orders`]: NATIVE/JSAPI prepay, queries, close, the buyer's payment, refunds.
//! * [`notify`]: `TRANSACTION.SUCCESS` / `REFUND.SUCCESS` notifications with retries, and the
//!   background task ([`spawn`] → [`Handle`]).
//! * [`rules`]: pure rules; [`state`]: queries; [`dev`]: JSON endpoints under
//!   `/sandbox/dev/wechatpay`; [`pages`]: `/sandbox/wechatpay/` (overview and reviewer),
//!   `/sandbox/wechatpay/sign/{applyment_id}`, `/sandbox/wechatpay/buyer`.
//!
//! Where the sandbox guesses: the exact v3 error codes for a sub_appid not bound
//! (`APPID_MCHID_NOT_MATCH`), a closed order (`ORDER_CLOSED`), an unknown sub-merchant
//! (`PARAM_ERROR`); WeChat's REFUND trade state (here only once fully refunded).

use actix_web::{HttpRequest, HttpResponse, web};

pub mod api;
pub mod applyment;
pub mod dev;
pub mod notify;
pub mod orders;
pub mod pages;
pub mod rules;
pub mod state;

pub use notify::{Handle, spawn};

use crate::sandbox::page;

/// Any other path under `/sandbox/wechatpay`: a JSON 404 for the API, the sandbox's page otherwise.
async fn unknown(req: HttpRequest) -> HttpResponse {
    if req.path().starts_with("/sandbox/wechatpay/v3/") {
        let e =
            api::WxError::new(404, "NOT_FOUND", format!("no such API: {} {}", req.method(), api::canonical_url(&req)));
        return api::respond(None, 404, serde_json::to_value(e.body()).ok().as_ref());
    }
    page::not_found(req).await
}

async fn dev_unknown() -> HttpResponse {
    HttpResponse::NotFound().json(serde_json::json!({ "error": "no such dev endpoint" }))
}

fn v3(cfg: &mut web::ServiceConfig) {
    use web::{get, post};
    cfg.route("/v3/certificates", get().to(api::certificates))
        .route("/v3/merchant/media/upload", post().to(api::media_upload))
        .route("/v3/applyment4sub/applyment/", post().to(applyment::create))
        .route("/v3/applyment4sub/applyment", post().to(applyment::create))
        .route("/v3/applyment4sub/applyment/business_code/{code}", get().to(applyment::by_code))
        .route("/v3/applyment4sub/applyment/applyment_id/{id}", get().to(applyment::by_id))
        .route("/v3/pay/partner/transactions/native", post().to(orders::native))
        .route("/v3/pay/partner/transactions/jsapi", post().to(orders::jsapi))
        .route("/v3/pay/partner/transactions/out-trade-no/{no}", get().to(orders::by_out_trade_no))
        .route("/v3/pay/partner/transactions/out-trade-no/{no}/close", post().to(orders::close))
        .route("/v3/pay/partner/transactions/id/{id}", get().to(orders::by_transaction_id))
        .route("/v3/refund/domestic/refunds", post().to(orders::refund))
        .route("/v3/refund/domestic/refunds/{no}", get().to(orders::refund_query));
}

fn human(cfg: &mut web::ServiceConfig) {
    use web::{get, post};
    cfg.route("/", get().to(pages::home))
        .route("", get().to(pages::home_redirect))
        .route("/applyments/{id}/decide", post().to(pages::decide))
        .route("/sub-merchants/{sub_mchid}/associate", post().to(pages::associate))
        .route("/sub-merchants/{sub_mchid}/confirm", post().to(pages::confirm))
        .route("/merchants/{mchid}/verify-mode", post().to(pages::verify_mode))
        .route("/notifications/{id}/resend", post().to(pages::resend))
        .route("/sign/{id}", get().to(pages::sign_page))
        .route("/sign/{id}", post().to(pages::sign_action))
        .route("/buyer", get().to(pages::buyer))
        .route("/buyer/orders/{id}", get().to(pages::order))
        .route("/buyer/orders/{id}/pay", post().to(pages::pay));
}

fn dev_routes(cfg: &mut web::ServiceConfig) {
    use web::{get, post};
    cfg.route("/provider", get().to(crate::sandbox::pay::published_provider))
        .route("/merchants", get().to(dev::merchants))
        .route("/merchants", post().to(dev::add_merchant))
        .route("/merchants/{mchid}", post().to(dev::edit_merchant))
        .route("/applyments", get().to(dev::applyments))
        .route("/applyments/{id}", post().to(dev::decide))
        .route("/sub-merchants", get().to(dev::sub_merchants))
        .route("/sub-merchants", post().to(dev::add_sub_merchant))
        .route("/bindings", get().to(dev::bindings))
        .route("/bindings", post().to(dev::set_binding))
        .route("/orders", get().to(dev::list_orders))
        .route("/pay", post().to(dev::pay))
        .route("/notifications", get().to(dev::notifications))
        .route("/notifications/{id}/resend", post().to(dev::resend));
}

/// Mounts the API, the pages and the dev endpoints. The dev scope must be registered
/// before the sandbox's catch-all `/sandbox/dev` scope.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let form = web::FormConfig::default().limit(64 * 1024).error_handler(page::bad_form);
    cfg.service(web::scope("/sandbox/dev/wechatpay").configure(dev_routes).default_service(web::to(dev_unknown)))
        .service(
            web::scope("/sandbox/wechatpay")
                .app_data(form)
                .app_data(web::PayloadConfig::new(256 * 1024))
                .configure(v3)
                .configure(human)
                .default_service(web::to(unknown)),
        );
}
