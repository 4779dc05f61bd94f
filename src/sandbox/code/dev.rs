//! JSON endpoints for tests and scripts (no session, no CSRF token: JSON bodies only):
//!
//! * `POST /sandbox/dev/drafts {"user_version", "user_desc"?, "privacy_apis"?: [..],
//!   "create_time"?}`: the developers upload a draft from WeChat DevTools; 201 with the
//!   draft, 400 `{"error"}` (`version_required`, `version_too_long` over 64 characters,
//!   `desc_too_long` over 200, `privacy_api_unknown`). `GET` lists the drafts.
//! * `GET /sandbox/dev/code/{appid}`: the mini program's whole code state; 404 unknown.
//! * `POST /sandbox/dev/code/{appid}/decide` and `POST /sandbox/dev/reviews/{id}`
//!   `{"decision": "approve"|"reject"|"delay", "reason", "screenshots": n, "lose": bool}`:
//!   decide the mini program's pending code review, or any review (404 none, 409
//!   already decided, 400 bad input or a delay of a review that is not a code audit).
//! * `GET|POST /sandbox/dev/quota {"rest", "limit", "speedup_rest", "speedup_limit"}`
//!   (each optional, 0 to 100000): the platform's quota for this month.

use actix_web::{HttpResponse, http::StatusCode, web};
use serde_json::{Map, Value, json};

use super::review::{self, Verdict};
use super::rules::{self, Upload};
use super::state;
use crate::db::{self, DbConn};
use crate::sandbox::manage::review::DecideError;
use crate::sandbox::manage::state::Review;
use crate::sandbox::{Sandbox, store, with_conn};

fn error(status: StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "error": message }))
}

fn internal(e: impl std::fmt::Debug) -> HttpResponse {
    tracing::error!(error = ?e, "sandbox dev endpoint failed");
    error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
}

fn object(bytes: &[u8]) -> Result<Map<String, Value>, Box<HttpResponse>> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(Box::new(error(StatusCode::BAD_REQUEST, "the body must be a JSON object"))),
        Err(e) => Err(Box::new(error(StatusCode::BAD_REQUEST, &format!("invalid JSON body: {e}")))),
    }
}

// ---- drafts ----

/// A draft as the dev endpoints show it.
pub fn draft_json(d: &state::Draft) -> Value {
    json!({
        "draft_id": d.draft_id,
        "user_version": d.user_version,
        "user_desc": d.user_desc,
        "privacy_apis": state::parse_apis(&d.privacy_apis),
        "create_time": d.create_time,
    })
}

/// Stores an upload (the dev endpoint and the page's form).
pub async fn create_draft(
    sb: &Sandbox,
    upload: Upload,
    create_time: Option<i64>,
) -> Result<state::Draft, HttpResponse> {
    let stored = with_conn(&sb.pool, move |c| {
        db::write_tx(c, |c| state::insert_draft(c, &upload, create_time.unwrap_or_else(crate::now)))
    })
    .await;
    match stored {
        Ok(Ok(d)) => Ok(d),
        Ok(Err(e)) => Err(internal(e)),
        Err(e) => Err(internal(e)),
    }
}

/// `POST /sandbox/dev/drafts`.
pub async fn add_draft(sb: web::Data<Sandbox>, bytes: web::Bytes) -> HttpResponse {
    let body = match object(&bytes) {
        Ok(b) => b,
        Err(resp) => return *resp,
    };
    let text = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or_default();
    let apis: Vec<&str> = match body.get("privacy_apis") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => match items.iter().map(Value::as_str).collect::<Option<Vec<_>>>() {
            Some(a) => a,
            None => return error(StatusCode::BAD_REQUEST, "privacy_apis must be a list of interface names"),
        },
        Some(_) => return error(StatusCode::BAD_REQUEST, "privacy_apis must be a list of interface names"),
    };
    let create_time = match body.get("create_time") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_i64().filter(|t| *t > 0) {
            Some(t) => Some(t),
            None => return error(StatusCode::BAD_REQUEST, "create_time must be Unix seconds"),
        },
    };
    let upload = match rules::upload(text("user_version"), text("user_desc"), apis) {
        Ok(u) => u,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.key()),
    };
    match create_draft(&sb, upload, create_time).await {
        Ok(d) => HttpResponse::Created().json(draft_json(&d)),
        Err(resp) => resp,
    }
}

/// `GET /sandbox/dev/drafts`.
pub async fn list_drafts(sb: web::Data<Sandbox>) -> HttpResponse {
    match with_conn(&sb.pool, state::list_drafts).await {
        Ok(Ok(drafts)) => {
            HttpResponse::Ok().json(json!({ "drafts": drafts.iter().map(draft_json).collect::<Vec<_>>() }))
        }
        Ok(Err(e)) => internal(e),
        Err(e) => internal(e),
    }
}

// ---- a mini program's code state ----

fn release_json(r: &state::Release) -> Value {
    json!({
        "kind": r.kind, "app_version": r.app_version, "auditid": r.auditid, "template_id": r.template_id,
        "user_version": r.user_version, "user_desc": r.user_desc,
        "commit_time": r.commit_time, "release_time": r.release_time,
    })
}

/// The whole code state of a mini program; `None` for an unknown AppID or an official account.
pub fn code_state(conn: &mut DbConn, appid: &str, now: i64) -> diesel::QueryResult<Option<Value>> {
    if !store::find_account(conn, appid)?.is_some_and(|a| a.is_mini_program()) {
        return Ok(None);
    }
    let trial = state::find_trial(conn, appid)?;
    let audits: Vec<Value> = state::list_audits(conn, appid)?
        .iter()
        .map(|a| {
            let shots: Vec<&str> = a.screenshot.split('|').filter(|s| !s.is_empty()).collect();
            json!({
                "auditid": a.auditid, "status": a.status, "reason": a.reason,
                "screenshot": a.screenshot, "screenshots": shots,
                "template_id": a.template_id, "user_version": a.user_version, "user_desc": a.user_desc,
                "expedited": a.expedited, "submit_audit_time": a.submit_audit_time,
                "decided_at": a.decided_at, "released_at": a.released_at,
                "item_list": serde_json::from_str::<Value>(&a.item_list).unwrap_or(Value::Null),
            })
        })
        .collect();
    let history = state::history(conn, appid)?;
    let pending = state::pending_code_review(conn, appid)?.map(|r| r.id);
    Ok(Some(json!({
        "appid": appid,
        "trial": trial.as_ref().map(|t| json!({
            "template_id": t.template_id, "user_version": t.user_version, "user_desc": t.user_desc,
            "ext_json": t.ext_json, "privacy_apis": state::parse_apis(&t.privacy_apis),
            "committed_at": t.committed_at, "scan_done_at": t.scan_done_at,
            "scan_done": now >= t.scan_done_at,
        })),
        "audits": audits,
        "pending_review": pending,
        "release": history.first().map(release_json),
        "history": history.iter().map(release_json).collect::<Vec<_>>(),
        "withdrawals": {
            "today": state::count_undos_since(conn, appid, rules::china_day_start(now))?,
            "this_month": state::count_undos_since(conn, appid, rules::china_month_start(now))?,
        },
    })))
}

/// `GET /sandbox/dev/code/{appid}`.
pub async fn get_code(sb: web::Data<Sandbox>, path: web::Path<String>) -> HttpResponse {
    let appid = path.into_inner();
    match with_conn(&sb.pool, move |c| code_state(c, &appid, crate::now())).await {
        Ok(Ok(Some(v))) => HttpResponse::Ok().json(v),
        Ok(Ok(None)) => error(StatusCode::NOT_FOUND, "no such mini program"),
        Ok(Err(e)) => internal(e),
        Err(e) => internal(e),
    }
}

// ---- decisions ----

/// Reads a decision body; `Err` is the 400 answer.
fn verdict_of(bytes: &[u8]) -> Result<Verdict, Box<HttpResponse>> {
    let body = object(bytes)?;
    let text = |k: &str| body.get(k).and_then(Value::as_str);
    let screenshots = match body.get("screenshots") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_i64().ok_or_else(|| Box::new(error(StatusCode::BAD_REQUEST, "bad_screenshots")))?),
    };
    let lose = matches!(body.get("lose"), Some(Value::Bool(true)));
    Verdict::parse(text("decision").unwrap_or_default(), text("reason"), screenshots, lose)
        .map_err(|e| Box::new(error(StatusCode::BAD_REQUEST, e.key())))
}

fn refused(e: &DecideError) -> HttpResponse {
    let status = match e {
        DecideError::NotFound => StatusCode::NOT_FOUND,
        DecideError::AlreadyDecided => StatusCode::CONFLICT,
        DecideError::Db(_) | DecideError::Unavailable => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    error(status, e.key())
}

/// Decides a review in one transaction and wakes the pusher for the event it queued.
pub async fn decide_now(sb: &Sandbox, id: String, verdict: Verdict) -> Result<Review, DecideError> {
    let decided = with_conn(&sb.pool, move |c| db::write_tx(c, |c| review::decide(c, &id, &verdict, crate::now())))
        .await
        .unwrap_or(Err(DecideError::Unavailable));
    if decided.is_ok() {
        sb.pusher.wake();
    }
    decided
}

/// `POST /sandbox/dev/reviews/{id}`: the decided review.
pub async fn decide_review(sb: web::Data<Sandbox>, path: web::Path<String>, bytes: web::Bytes) -> HttpResponse {
    let verdict = match verdict_of(&bytes) {
        Ok(v) => v,
        Err(resp) => return *resp,
    };
    match decide_now(&sb, path.into_inner(), verdict).await {
        Ok(r) => HttpResponse::Ok().json(r),
        Err(e) => refused(&e),
    }
}

/// `POST /sandbox/dev/code/{appid}/decide`: decides the mini program's pending code review.
pub async fn decide_code(sb: web::Data<Sandbox>, path: web::Path<String>, bytes: web::Bytes) -> HttpResponse {
    let verdict = match verdict_of(&bytes) {
        Ok(v) => v,
        Err(resp) => return *resp,
    };
    let appid = path.into_inner();
    let pending = match with_conn(&sb.pool, move |c| state::pending_code_review(c, &appid)).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => return internal(e),
        Err(e) => return internal(e),
    };
    let Some(r) = pending else { return error(StatusCode::NOT_FOUND, "no_review") };
    match decide_now(&sb, r.id, verdict).await {
        Ok(r) => HttpResponse::Ok().json(r),
        Err(e) => refused(&e),
    }
}

// ---- the platform's quota ----

/// The quota as the dev endpoints show it.
pub fn quota_json(q: &state::Quota) -> Value {
    json!({
        "rest": q.audit_rest, "limit": q.audit_limit,
        "speedup_rest": q.speedup_rest, "speedup_limit": q.speedup_limit, "period": q.period,
    })
}

/// A change of the quota: each field optional, 0 to 100000.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QuotaEdit {
    pub rest: Option<i32>,
    pub limit: Option<i32>,
    pub speedup_rest: Option<i32>,
    pub speedup_limit: Option<i32>,
}

impl QuotaEdit {
    /// The largest value any field takes.
    pub const MAX: i64 = 100_000;

    /// Checks one given value; `Err` names the field.
    pub fn value(field: &'static str, v: Option<i64>) -> Result<Option<i32>, &'static str> {
        match v {
            None => Ok(None),
            Some(n) if (0..=Self::MAX).contains(&n) => Ok(i32::try_from(n).ok()),
            Some(_) => Err(field),
        }
    }

    /// Applies the change to this month's quota (the month does not reset it again).
    pub fn apply(self, conn: &mut DbConn, now: i64) -> diesel::QueryResult<state::Quota> {
        db::write_tx(conn, |c| {
            let q = state::quota(c, now)?;
            let next = state::Quota {
                audit_rest: self.rest.unwrap_or(q.audit_rest),
                audit_limit: self.limit.unwrap_or(q.audit_limit),
                speedup_rest: self.speedup_rest.unwrap_or(q.speedup_rest),
                speedup_limit: self.speedup_limit.unwrap_or(q.speedup_limit),
                period: q.period,
            };
            state::set_quota(c, &next)?;
            Ok(next)
        })
    }
}

async fn quota_answer(sb: &Sandbox, edit: QuotaEdit) -> HttpResponse {
    match with_conn(&sb.pool, move |c| edit.apply(c, crate::now())).await {
        Ok(Ok(q)) => HttpResponse::Ok().json(quota_json(&q)),
        Ok(Err(e)) => internal(e),
        Err(e) => internal(e),
    }
}

/// `GET /sandbox/dev/quota`.
pub async fn get_quota(sb: web::Data<Sandbox>) -> HttpResponse {
    quota_answer(&sb, QuotaEdit::default()).await
}

/// `POST /sandbox/dev/quota`: answers the quota after the change.
pub async fn set_quota(sb: web::Data<Sandbox>, bytes: web::Bytes) -> HttpResponse {
    let body = match object(&bytes) {
        Ok(b) => b,
        Err(resp) => return *resp,
    };
    let field = |k: &'static str| match body.get(k) {
        None | Some(Value::Null) => QuotaEdit::value(k, None),
        Some(v) => QuotaEdit::value(k, Some(v.as_i64().unwrap_or(-1))),
    };
    let edit = (|| {
        Ok::<_, &'static str>(QuotaEdit {
            rest: field("rest")?,
            limit: field("limit")?,
            speedup_rest: field("speedup_rest")?,
            speedup_limit: field("speedup_limit")?,
        })
    })();
    match edit {
        Ok(edit) => quota_answer(&sb, edit).await,
        Err(f) => error(StatusCode::BAD_REQUEST, &format!("{f} must be a whole number from 0 to 100000")),
    }
}
