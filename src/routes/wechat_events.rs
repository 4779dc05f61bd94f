//! `POST /wechat/component/events` and `POST /wechat/mp/{appid}/events`: WeChat's pushes.

use actix_web::{HttpResponse, web};

use crate::error::AppError;
use crate::services::event_writer::EventWriter;
use crate::services::inbox::{Accepted, Incoming};
use crate::wechat::crypto::MsgCrypt;
use crate::wechat::push::{self, Endpoint, PushQuery, Refusal};

fn refused(r: &Refusal, endpoint: Endpoint) -> HttpResponse {
    tracing::warn!(endpoint = ?endpoint, reason = %r, "refused a WeChat push");
    crate::observe::wechat_event_refused(endpoint.as_str(), r.reason());
    HttpResponse::build(
        actix_web::http::StatusCode::from_u16(r.status()).unwrap_or(actix_web::http::StatusCode::BAD_REQUEST),
    )
    .content_type("text/plain; charset=utf-8")
    .body(r.to_string())
}

async fn receive(
    endpoint: Endpoint,
    path_appid: Option<String>,
    writer: &EventWriter,
    crypt: &MsgCrypt,
    query: PushQuery,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    crate::observe::wechat_event_received(endpoint.as_str());
    let Ok(body) = String::from_utf8(body.to_vec()) else {
        return Ok(refused(&Refusal::Undecryptable("body is not UTF-8".into()), endpoint));
    };
    let now = crate::now();
    let (ts, nonce, xml) = match push::open(crypt, &query, &body, now) {
        Ok(opened) => opened,
        Err(r) => return Ok(refused(&r, endpoint)),
    };
    // Answered only once the push is committed (`EventWriter`).
    let accepted = writer.accept(Incoming { endpoint, path_appid, ts, nonce, raw_body: body, xml }).await?;
    match accepted {
        Err(r) => Ok(refused(&r, endpoint)),
        Ok(Accepted::Duplicate | Accepted::Stored { .. }) => {
            Ok(HttpResponse::Ok().content_type("text/plain; charset=utf-8").body("success"))
        }
    }
}

pub async fn component(
    writer: web::Data<EventWriter>,
    crypt: web::Data<MsgCrypt>,
    query: web::Query<PushQuery>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    receive(Endpoint::Component, None, &writer, &crypt, query.into_inner(), body).await
}

pub async fn mini_program(
    writer: web::Data<EventWriter>,
    crypt: web::Data<MsgCrypt>,
    path: web::Path<String>,
    query: web::Query<PushQuery>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let appid = path.into_inner();
    if appid.len() > 32 || !appid.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Ok(HttpResponse::NotFound().finish());
    }
    receive(Endpoint::MiniProgram, Some(appid), &writer, &crypt, query.into_inner(), body).await
}
