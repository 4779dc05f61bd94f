//! Per-path call limits of the gate: WeChat answers 45009 ("reach max api daily quota
//! limit") once an API's quota is used up. A limit allows `max_calls` calls of one path
//! (after `/sandbox/wechat`) within `window_secs`; the gate counts that path's rows of the
//! call log in the window, leaving out calls it answered with 45009 itself, so the path
//! opens again once the window has passed its earlier calls. Paths without a limit cost
//! one primary-key lookup.
//!
//! Dev endpoints: `GET /sandbox/dev/limits` lists them; `POST` `{"path", "max_calls",
//! "window_secs"}` sets one (replacing the path's limit); `DELETE` clears them all.

use actix_web::{HttpResponse, http::StatusCode, web};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::schema::{sandbox_call_limits, sandbox_calls};
use super::{Sandbox, with_conn};
use crate::db::{self, DbConn};

/// The errcode of a used-up quota.
pub const QUOTA_ERRCODE: i64 = 45009;

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = sandbox_call_limits)]
pub struct Limit {
    pub path: String,
    pub max_calls: i32,
    pub window_secs: i64,
    #[serde(skip)]
    pub created_at: i64,
}

/// Whether a call of `path` now is over its limit (false without one).
pub fn exceeded(conn: &mut DbConn, path: &str, now: i64) -> QueryResult<bool> {
    let Some(limit) = sandbox_call_limits::table.find(path).select(Limit::as_select()).first(conn).optional()? else {
        return Ok(false);
    };
    let made: i64 = sandbox_calls::table
        .filter(sandbox_calls::endpoint.eq(path))
        .filter(sandbox_calls::at.gt(now - limit.window_secs))
        .filter(sandbox_calls::errcode.is_null().or(sandbox_calls::errcode.ne(QUOTA_ERRCODE)))
        .count()
        .get_result(conn)?;
    Ok(made >= i64::from(limit.max_calls))
}

pub fn list(conn: &mut DbConn) -> QueryResult<Vec<Limit>> {
    sandbox_call_limits::table.select(Limit::as_select()).order(sandbox_call_limits::path.asc()).load(conn)
}

pub fn put(conn: &mut DbConn, path: &str, max_calls: i32, window_secs: i64, now: i64) -> QueryResult<()> {
    db::write_tx(conn, |c| {
        diesel::delete(sandbox_call_limits::table.find(path)).execute(c)?;
        diesel::insert_into(sandbox_call_limits::table)
            .values((
                sandbox_call_limits::path.eq(path),
                sandbox_call_limits::max_calls.eq(max_calls),
                sandbox_call_limits::window_secs.eq(window_secs),
                sandbox_call_limits::created_at.eq(now),
            ))
            .execute(c)
            .map(|_| ())
    })
}

pub fn clear(conn: &mut DbConn) -> QueryResult<usize> {
    diesel::delete(sandbox_call_limits::table).execute(conn)
}

#[derive(Deserialize)]
pub struct NewLimit {
    path: String,
    max_calls: i64,
    window_secs: i64,
}

/// Checks a limit; returns the path as the call log names it.
pub fn validate(path: &str, max_calls: i64, window_secs: i64) -> Result<(String, i32, i64), &'static str> {
    let path = path.trim();
    let path = path.strip_prefix("/sandbox/wechat").unwrap_or(path);
    if !path.starts_with('/') || path.len() > 200 {
        return Err("path must be an API path such as /wxa/submit_audit");
    }
    let max_calls = i32::try_from(max_calls).ok().filter(|n| *n >= 0).ok_or("max_calls must be 0 or more")?;
    if !(1..=366 * 86_400).contains(&window_secs) {
        return Err("window_secs must be between 1 and 31622400");
    }
    Ok((path.to_string(), max_calls, window_secs))
}

fn error(status: StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "error": message }))
}

async fn answer_list(sb: &Sandbox) -> HttpResponse {
    match with_conn(&sb.pool, list).await {
        Ok(Ok(limits)) => HttpResponse::Ok().json(json!({ "limits": limits })),
        other => {
            tracing::error!(error = ?other, "sandbox: cannot list call limits");
            error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

/// `GET /sandbox/dev/limits`.
pub async fn list_limits(sb: web::Data<Sandbox>) -> HttpResponse {
    answer_list(&sb).await
}

/// `POST /sandbox/dev/limits {"path", "max_calls", "window_secs"}`: answers every limit.
pub async fn set_limit(sb: web::Data<Sandbox>, bytes: web::Bytes) -> HttpResponse {
    let given: NewLimit = match serde_json::from_slice(&bytes) {
        Ok(l) => l,
        Err(e) => return error(StatusCode::BAD_REQUEST, &format!("invalid JSON body: {e}")),
    };
    let (path, max_calls, window_secs) = match validate(&given.path, given.max_calls, given.window_secs) {
        Ok(v) => v,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    match with_conn(&sb.pool, move |c| put(c, &path, max_calls, window_secs, crate::now())).await {
        Ok(Ok(())) => answer_list(&sb).await,
        other => {
            tracing::error!(error = ?other, "sandbox: cannot set a call limit");
            error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

/// `DELETE /sandbox/dev/limits`.
pub async fn clear_limits(sb: web::Data<Sandbox>) -> HttpResponse {
    match with_conn(&sb.pool, clear).await {
        Ok(Ok(n)) => HttpResponse::Ok().json(json!({ "cleared": n })),
        other => {
            tracing::error!(error = ?other, "sandbox: cannot clear call limits");
            error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_name_an_api_path_and_a_window() {
        assert_eq!(validate("/sandbox/wechat/wxa/commit", 2, 60), Ok(("/wxa/commit".into(), 2, 60)));
        assert!(validate("wxa/commit", 2, 60).is_err());
        assert!(validate("/wxa/commit", -1, 60).is_err());
        assert!(validate("/wxa/commit", 1, 0).is_err());
    }
}
