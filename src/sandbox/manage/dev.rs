//! JSON endpoints for tests and scripts: a mini program's whole management state, the
//! reviewer's queue and its decisions, the platform's registered server domains.
//!
//! * `GET /sandbox/dev/accounts/{appid}/settings`, `POST` the same path to replace parts
//!   of it (see [`edit::parse_json`]); 404 for an unknown AppID, 400 for bad input.
//! * `GET /sandbox/dev/reviews` (newest first); decisions (`POST
//!   /sandbox/dev/reviews/{id}`) are taken by `code::dev`, which decides every kind.
//! * `GET|POST /sandbox/dev/platform-domains` `{"domains": [...]}` (POST replaces both of
//!   the platform's lists).

use actix_web::{HttpResponse, http::StatusCode, web};
use serde_json::{Value, json};

use super::api::{category_list, interface_list};
use super::edit::{self, EditError};
use super::rules;
use super::state::{self, MpState};
use crate::db;
use crate::sandbox::{Sandbox, with_conn};

fn error(status: StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "error": message }))
}

fn internal(e: impl std::fmt::Debug) -> HttpResponse {
    tracing::error!(error = ?e, "sandbox dev endpoint failed");
    error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
}

fn object(bytes: &[u8]) -> Result<serde_json::Map<String, Value>, Box<HttpResponse>> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(Box::new(error(StatusCode::BAD_REQUEST, "the body must be a JSON object"))),
        Err(e) => Err(Box::new(error(StatusCode::BAD_REQUEST, &format!("invalid JSON body: {e}")))),
    }
}

/// A mini program's whole management state as the dev endpoints show it.
pub fn settings_json(st: &MpState) -> Value {
    let (a, s) = (&st.account, &st.settings);
    let mut v = json!({
        "appid": a.appid,
        "nickname": a.nick_name,
        "principal_name": a.principal_name,
        "signature": a.signature,
        "head_image_url": a.head_img,
        "nickname_under_review": s.nickname_pending,
        "verified": a.verified,
        "annual_review_begin_time": s.annual_review_begin,
        "annual_review_end_time": s.annual_review_end,
        "icp_status": s.icp_status,
        "plugins": st.plugins.iter().map(|p| json!({
            "appid": p.plugin_appid,
            "status": p.status,
            "reason": p.reason,
            "apply_time": p.apply_time,
        })).collect::<Vec<_>>(),
        "categories": category_list(&st.categories),
        "privacy_interfaces": interface_list(&st.interfaces).into_iter().map(|i| json!({
            "api_name": i["api_name"],
            "status": i["status"],
            "fail_reason": i.get("fail_reason").cloned().unwrap_or_else(|| json!("")),
            "apply_time": i.get("apply_time").cloned().unwrap_or(Value::Null),
            "audit_id": i.get("audit_id").cloned().unwrap_or(Value::Null),
        })).collect::<Vec<_>>(),
        "privacy_setting": s.privacy().map(|p| json!({
            "setting_list": p.setting_list,
            "owner_setting": p.owner_setting,
            "update_time": p.update_time,
        })),
    });
    if let Some(o) = v.as_object_mut() {
        for (list, entries) in &st.domains {
            o.insert(list.field().into(), json!(entries));
        }
    }
    v
}

async fn load(sb: &Sandbox, appid: String) -> HttpResponse {
    match with_conn(&sb.pool, move |c| state::load(c, &appid)).await {
        Ok(Ok(Some(st))) => HttpResponse::Ok().json(settings_json(&st)),
        Ok(Ok(None)) => error(StatusCode::NOT_FOUND, "no such mini program"),
        Ok(Err(e)) => internal(e),
        Err(e) => internal(e),
    }
}

/// `GET /sandbox/dev/accounts/{appid}/settings`.
pub async fn get_settings(sb: web::Data<Sandbox>, path: web::Path<String>) -> HttpResponse {
    load(&sb, path.into_inner()).await
}

/// `POST /sandbox/dev/accounts/{appid}/settings`: replaces what is given, in one
/// transaction; answers the whole state.
pub async fn set_settings(sb: web::Data<Sandbox>, path: web::Path<String>, bytes: web::Bytes) -> HttpResponse {
    let appid = path.into_inner();
    let body = match object(&bytes) {
        Ok(b) => b,
        Err(resp) => return *resp,
    };
    let edit = match edit::parse_json(&body, crate::now()) {
        Ok(e) => e,
        Err(message) => return error(StatusCode::BAD_REQUEST, &message),
    };
    let id = appid.clone();
    let applied = with_conn(&sb.pool, move |c| db::write_tx(c, |c| edit::apply(c, &id, &edit, crate::now()))).await;
    match applied {
        Ok(Ok(())) => {
            sb.pusher.wake();
            load(&sb, appid).await
        }
        Ok(Err(EditError::NotFound)) => error(StatusCode::NOT_FOUND, "no such mini program"),
        Ok(Err(EditError::Db(e))) => internal(e),
        Err(e) => internal(e),
    }
}

/// `GET /sandbox/dev/reviews`: every review, newest first (the last 500).
pub async fn reviews(sb: web::Data<Sandbox>) -> HttpResponse {
    match with_conn(&sb.pool, |c| state::reviews(c, 500)).await {
        Ok(Ok(list)) => HttpResponse::Ok().json(list),
        Ok(Err(e)) => internal(e),
        Err(e) => internal(e),
    }
}

async fn platform_answer(sb: &Sandbox) -> HttpResponse {
    match with_conn(&sb.pool, state::registered_hosts).await {
        Ok(Ok(domains)) => HttpResponse::Ok().json(json!({ "domains": domains })),
        Ok(Err(e)) => internal(e),
        Err(e) => internal(e),
    }
}

/// `GET /sandbox/dev/platform-domains`.
pub async fn platform_domains(sb: web::Data<Sandbox>) -> HttpResponse {
    platform_answer(&sb).await
}

/// Checks the platform's domain list as given by hand; `Err` names the first bad entry.
pub fn parse_platform_domains<'a>(entries: impl IntoIterator<Item = &'a str>) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for entry in entries {
        let d = rules::platform_domain(entry).ok_or_else(|| entry.to_string())?;
        if !out.contains(&d) {
            out.push(d);
        }
    }
    if out.len() > rules::MAX_PLATFORM_DOMAINS {
        return Err("more than 1000 domains".into());
    }
    Ok(out)
}

/// Replaces both of the platform's lists (testing and published).
pub fn replace_platform_domains(conn: &mut crate::db::DbConn, domains: &[String]) -> diesel::QueryResult<()> {
    db::write_tx(conn, |c| {
        state::set_platform_domains(c, state::TESTING, domains)?;
        state::set_platform_domains(c, state::PUBLISHED, domains)
    })
}

/// `POST /sandbox/dev/platform-domains` `{"domains": ["a.example.com", …]}`.
pub async fn set_platform_domains(sb: web::Data<Sandbox>, bytes: web::Bytes) -> HttpResponse {
    let body = match object(&bytes) {
        Ok(b) => b,
        Err(resp) => return *resp,
    };
    let Some(items) = body.get("domains").and_then(Value::as_array) else {
        return error(StatusCode::BAD_REQUEST, "domains must be an array of host names");
    };
    let Some(entries) = items.iter().map(Value::as_str).collect::<Option<Vec<_>>>() else {
        return error(StatusCode::BAD_REQUEST, "domains must be an array of host names");
    };
    let domains = match parse_platform_domains(entries) {
        Ok(d) => d,
        Err(bad) => return error(StatusCode::BAD_REQUEST, &format!("not a bare host name WeChat accepts: {bad:?}")),
    };
    match with_conn(&sb.pool, move |c| replace_platform_domains(c, &domains)).await {
        Ok(Ok(())) => platform_answer(&sb).await,
        Ok(Err(e)) => internal(e),
        Err(e) => internal(e),
    }
}
