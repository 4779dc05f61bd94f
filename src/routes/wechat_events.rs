//! `POST /wechat/component/events` and `POST /wechat/mp/{appid}/events`: WeChat's pushes.

use actix_web::{HttpResponse, web};

use crate::db::{self, DbPool};
use crate::error::AppError;
use crate::secrets::Sealer;
use crate::services::inbox::{self, Accepted};
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
    pool: &DbPool,
    crypt: &MsgCrypt,
    sealer: &Sealer,
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
    let sealer = sealer.clone();
    let accepted = db::run(pool, move |conn| -> Result<_, AppError> {
        Ok(inbox::accept(conn, &sealer, endpoint, path_appid.as_deref(), ts, &nonce, &body, &xml, now)?)
    })
    .await?;
    match accepted {
        Err(r) => Ok(refused(&r, endpoint)),
        Ok(Accepted::Duplicate | Accepted::Stored { .. }) => {
            Ok(HttpResponse::Ok().content_type("text/plain; charset=utf-8").body("success"))
        }
    }
}

pub async fn component(
    pool: web::Data<DbPool>,
    crypt: web::Data<MsgCrypt>,
    sealer: web::Data<Sealer>,
    query: web::Query<PushQuery>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    receive(Endpoint::Component, None, &pool, &crypt, &sealer, query.into_inner(), body).await
}

pub async fn mini_program(
    pool: web::Data<DbPool>,
    crypt: web::Data<MsgCrypt>,
    sealer: web::Data<Sealer>,
    path: web::Path<String>,
    query: web::Query<PushQuery>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let appid = path.into_inner();
    if appid.len() > 32 || !appid.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Ok(HttpResponse::NotFound().finish());
    }
    receive(Endpoint::MiniProgram, Some(appid), &pool, &crypt, &sealer, query.into_inner(), body).await
}
