//! WeChat Pay's and Alipay's payment notifications (CONTRACT: `POST /pay/wechat/notify`,
//! `POST /pay/alipay/notify`): verified before anything is believed, refused with a clear
//! status and a log line when they fail, stored once and applied idempotently. A `GET`
//! answers a fixed text, so the readiness check can tell the URL reaches this console.

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, web};

use crate::observe;
use crate::pay::wechatpay::SignedHeaders;
use crate::services::wallet::{NOTIFY_PROBE_TEXT, NotifyRefusal, Wallet};

/// The largest notification body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub async fn probe() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain; charset=utf-8").body(NOTIFY_PROBE_TEXT)
}

fn refusal_status(r: &NotifyRefusal) -> actix_web::http::StatusCode {
    use actix_web::http::StatusCode;
    match r {
        NotifyRefusal::NotConfigured => StatusCode::SERVICE_UNAVAILABLE,
        NotifyRefusal::BadSignature(_) => StatusCode::UNAUTHORIZED,
        NotifyRefusal::Undecryptable | NotifyRefusal::Malformed(_) | NotifyRefusal::Stale(_) => StatusCode::BAD_REQUEST,
    }
}

/// `POST /pay/wechat/notify`: 204 once verified and stored; 4xx/5xx with WeChat Pay's
/// `{"code":"FAIL","message":…}` otherwise (WeChat Pay then retries).
pub async fn wechat(req: HttpRequest, body: web::Bytes, wallet: web::Data<Wallet>) -> HttpResponse {
    observe::payment_notification_received("wechatpay");
    let text = String::from_utf8_lossy(&body).into_owned();
    let headers = SignedHeaders::read(|name| req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string));
    match wallet.wechat_notification(headers, &text).await {
        Ok(()) => HttpResponse::NoContent().finish(),
        Err(r) => {
            tracing::warn!(reason = %r, "refused a WeChat Pay notification");
            observe::payment_notification_refused("wechatpay", r.reason());
            HttpResponse::build(refusal_status(&r)).json(serde_json::json!({"code": "FAIL", "message": r.to_string()}))
        }
    }
}

/// `POST /pay/alipay/notify`: exactly `success` once verified and stored; `fail` otherwise
/// (Alipay retries anything that is not `success`).
pub async fn alipay(body: web::Bytes, wallet: web::Data<Wallet>) -> HttpResponse {
    observe::payment_notification_received("alipay");
    let params: BTreeMap<String, String> = match serde_urlencoded::from_bytes(&body) {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, "refused an Alipay notification that is not a form");
            observe::payment_notification_refused("alipay", "not_a_form");
            return HttpResponse::BadRequest().content_type("text/plain").body("fail");
        }
    };
    match wallet.alipay_notification(params).await {
        Ok(()) => HttpResponse::Ok().content_type("text/plain").body("success"),
        Err(r) => {
            tracing::warn!(reason = %r, "refused an Alipay notification");
            observe::payment_notification_refused("alipay", r.reason());
            HttpResponse::build(refusal_status(&r)).content_type("text/plain").body("fail")
        }
    }
}
