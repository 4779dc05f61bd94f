//! CSRF protection for every state-changing request, in one middleware so no handler
//! can forget it.
//!
//! The token is per session and travels as the `csrf_token` form field (URL-encoded
//! forms; HTMX sends the enclosing form's fields too), the `X-CSRF-Token` header, or, for
//! multipart uploads only, the `csrf_token` query parameter. Endpoints that outside
//! systems call (WeChat events, payment notifications) are exempt: they are verified by
//! signature instead. The sandbox (`/sandbox/...`) never passes through this middleware:
//! it is mounted outside the console's scope and protects its own forms.

use actix_session::SessionExt;
use actix_web::{
    Error, HttpMessage, ResponseError,
    body::{BoxBody, MessageBody},
    dev::{Payload, ServiceRequest, ServiceResponse},
    http::Method,
    middleware::Next,
    web::{self, BytesMut},
};
use futures_util::StreamExt;

use crate::error::AppError;

pub const FIELD: &str = "csrf_token";
pub const HEADER: &str = "X-CSRF-Token";
/// Bodies of console forms are small; uploads go through multipart, not this buffer.
const MAX_FORM_BYTES: usize = 256 * 1024;

/// Paths whose callers authenticate by signature, not by session.
fn exempt(path: &str) -> bool {
    const PREFIXES: [&str; 2] = ["/wechat/", "/pay/"];
    PREFIXES.iter().any(|p| path.starts_with(p))
}

pub async fn middleware(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) || exempt(req.path()) {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    }
    let expected = req.get_session().get::<String>("csrf").ok().flatten();
    let presented = presented_token(&mut req).await?;
    let ok = match (&expected, &presented) {
        (Some(e), Some(p)) => constant_time_eq(e.as_bytes(), p.as_bytes()),
        _ => false,
    };
    if !ok {
        tracing::warn!(path = %req.path(), has_token = presented.is_some(), "refused a request without a valid CSRF token");
        let (http_req, _) = req.into_parts();
        return Ok(ServiceResponse::new(http_req, AppError::Csrf.error_response()));
    }
    next.call(req).await.map(ServiceResponse::map_into_boxed_body)
}

async fn presented_token(req: &mut ServiceRequest) -> Result<Option<String>, Error> {
    if let Some(h) = req.headers().get(HEADER).and_then(|v| v.to_str().ok()) {
        return Ok(Some(h.to_string()));
    }
    let content_type = req.content_type().to_ascii_lowercase();
    if content_type.starts_with("multipart/form-data") {
        return Ok(web::Query::<Vec<(String, String)>>::from_query(req.query_string())
            .ok()
            .and_then(|q| q.0.into_iter().find(|(k, _)| k == FIELD).map(|(_, v)| v)));
    }
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return Ok(None);
    }
    // Read the body, look for the field, and put the body back for the handler.
    let mut body = BytesMut::new();
    let mut payload = req.take_payload();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk?;
        if body.len() + chunk.len() > MAX_FORM_BYTES {
            return Err(actix_web::error::ErrorPayloadTooLarge("form too large"));
        }
        body.extend_from_slice(&chunk);
    }
    let body = body.freeze();
    let token = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body)
        .ok()
        .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == FIELD).map(|(_, v)| v));
    req.set_payload(Payload::from(body));
    Ok(token)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_endpoints_are_exempt_and_console_forms_are_not() {
        assert!(exempt("/wechat/component/events"));
        assert!(exempt("/pay/wechat/notify"));
        assert!(!exempt("/login"));
        assert!(!exempt("/apply/details"));
        assert!(!exempt("/wechatx"));
        // The sandbox is not the console's: it never reaches this middleware at all.
        assert!(!exempt("/sandbox/dev/faults"));
    }

    #[test]
    fn tokens_compare_exactly() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
