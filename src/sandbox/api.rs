//! `api.weixin.qq.com` under `/sandbox/wechat`: the component (third-party platform)
//! endpoints, the fault-injection and call-log gate in front of every call, and the
//! token checks later simulated endpoints use.

use std::collections::HashMap;

use actix_web::{
    Error, HttpRequest, HttpResponse,
    body::{BoxBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::StatusCode,
    middleware::Next,
    web,
};
use serde_json::{Value, json};

use crate::db::{self, DbConn};

use super::manage::state;
use super::{Sandbox, limits, sim, store, with_conn};

/// Largest response body the call log reads to find the errcode.
const MAX_LOGGED_BODY: usize = 4 * 1024 * 1024;

/// A WeChat error answer: the errcode (HTTP 200 with `{errcode, errmsg}`).
#[derive(Debug)]
pub enum ApiError {
    Wx(i64),
    Db(diesel::result::Error),
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Db(e)
    }
}

pub type ApiResult = Result<Value, ApiError>;

fn wx(code: i64) -> ApiError {
    ApiError::Wx(code)
}

/// WeChat's message for the errcodes the sandbox answers.
pub fn errmsg(code: i64) -> &'static str {
    match code {
        0 => "ok",
        -1 => "system error",
        40001 => "invalid credential, access_token is invalid or not latest",
        40013 => "invalid appid",
        40014 => "invalid access_token",
        40066 => "invalid url",
        40097 => "invalid args",
        40125 => "invalid appsecret",
        41001 => "access_token missing",
        41002 => "appid missing",
        41004 => "appsecret missing",
        42001 => "access_token expired",
        43001 => "require GET method",
        43002 => "require POST method",
        45009 => "reach max api daily quota limit",
        45011 => "api minute-quota reach limit, must slower, retry next minute",
        47001 => "data format error",
        48001 => "api unauthorized",
        61003 => "component is not authorized by this account",
        61005 => "component ticket is expired",
        61006 => "component ticket is invalid",
        61009 => "code is invalid",
        61010 => "code is expired",
        61011 => "invalid component",
        61023 => "refresh_token is invalid",
        _ => manage_errmsg(code),
    }
}

/// Messages of the code management errcodes (`code::api`).
fn code_errmsg(code: i64) -> &'static str {
    match code {
        40007 => "invalid media_id",
        44002 => "empty post data",
        61039 => "隐私接口检查任务未完成，请稍等一分钟再重试",
        61040 => {
            "ext.json配置的隐私接口无权限，或代码中含有ext.json未配置的隐私接口，请配置并申请权限或者承诺不使用这些接口（privacy_api_not_use=true）"
        }
        85006 => "tag is in invalid format",
        85007 => "page path is invalid",
        85008 => "category is invalid or not approved",
        85009 => "there is already a version under review",
        85010 => "item_list has invalid fields",
        85011 => "title is in invalid format",
        85012 => "invalid audit id",
        85013 => "invalid custom configuration",
        85014 => "invalid template id",
        85019 => "no approved version to release",
        85020 => "status not allowed",
        85023 => "item count must be from 1 to 5",
        85048 => "ext_json parse error",
        85052 => "the version has been released",
        85064 => "template not found",
        85065 => "template library reached the limit",
        85085 => "submit audit reach limit",
        85086 => "must commit code before submitting for review",
        86001 => "no code committed by the third-party platform",
        86002 => "the mini program has no name, icon or introduction yet",
        87012 => "cannot revert the release",
        87013 => "no quota to undo code",
        89402 => "the audit is not in the review queue",
        89404 => "the audit has already been sped up",
        89405 => "speed up quota reached the limit",
        _ => official_errmsg(code),
    }
}

/// Messages of the official account errcodes (`official`).
fn official_errmsg(code: i64) -> &'static str {
    match code {
        1003 => "the administrator's bound account count reached the limit",
        1005 => "the administrator's phone bound account count reached the limit",
        40037 => "invalid template_id",
        45026 => "template size out of limit",
        89010 => "link message has sent",
        89015 => "has linked wxa",
        89016 => "reach same realname quota",
        89017 => "reach different realname quota",
        89407 => "reach different realname limit",
        _ => "sandbox error",
    }
}

/// Messages of the mini program management errcodes (`manage::api`).
fn manage_errmsg(code: i64) -> &'static str {
    match code {
        53300 => "category modify count reach monthly limit",
        53301 => "category count reach limit",
        53303 => "invalid category args",
        53304 => "category already exists",
        53308 => "category under review cannot be deleted",
        53311 => "qualification material of this category is required",
        61007 => "api is unauthorized to component",
        61031 => "the interface is under review, do not apply again",
        61032 => "the video must be mp4",
        61034 => "required args are missing",
        61035 => "this api needs no application and can be used directly",
        61036 => "this account cannot apply for the api, check its categories",
        61037 => "content must be utf-8",
        85015 => "not a mini program account",
        85016 => "domain count reach limit",
        85017 => {
            "no domain to modify after filtered, please confirm the domain has been set in the third-party platform"
        }
        85301 => "no domain to modify after filtered, please confirm the domain follows the rule of domains",
        86069 => "owner_setting required fields are missing",
        86070 => "notice_method is missing",
        86071 => "privacy_ver is invalid",
        86072 => "store_expire_timestamp is invalid",
        86073 => "ext_file_media_id is invalid",
        86074 => "the released privacy setting does not exist",
        89044 => "plugin appid does not exist",
        89236 => "this plugin cannot be applied for",
        89237 => "plugin already added",
        89238 => "plugin count reach limit",
        89239 => "plugin does not exist",
        89243 => "a pending application cannot be deleted",
        89257 => "this plugin version does not support quick update",
        _ => code_errmsg(code),
    }
}

/// The body WeChat answers an error with, `errmsg` ending in a request id.
pub fn error_body(code: i64) -> Value {
    let rid = store::random_token("", 8).to_ascii_lowercase();
    json!({ "errcode": code, "errmsg": format!("{} rid: {rid}", errmsg(code)) })
}

pub fn error_response(code: i64) -> HttpResponse {
    HttpResponse::Ok().json(error_body(code))
}

/// Runs `f` on a connection and answers its JSON, or WeChat's error body.
pub async fn answer<F>(sb: &Sandbox, f: F) -> HttpResponse
where
    F: FnOnce(&mut DbConn, i64) -> ApiResult + Send + 'static,
{
    match with_conn(&sb.pool, move |c| f(c, crate::now())).await {
        Ok(Ok(v)) => HttpResponse::Ok().json(v),
        Ok(Err(ApiError::Wx(code))) => error_response(code),
        Ok(Err(ApiError::Db(e))) => {
            tracing::error!(error = %e, "sandbox: database error");
            error_response(-1)
        }
        Err(_) => error_response(-1),
    }
}

// ---- request parsing ----

/// A JSON object body; anything else is 47001 like WeChat.
pub struct Body(serde_json::Map<String, Value>);

impl Body {
    pub fn parse(bytes: &[u8]) -> Result<Self, ApiError> {
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(map)) => Ok(Self(map)),
            _ => Err(wx(47001)),
        }
    }

    /// Like [`Body::parse`], but an empty body reads as `{}`.
    pub fn parse_or_empty(bytes: &[u8]) -> Result<Self, ApiError> {
        if bytes.iter().all(u8::is_ascii_whitespace) { Ok(Self(serde_json::Map::new())) } else { Self::parse(bytes) }
    }

    /// The whole object.
    pub fn map(&self) -> &serde_json::Map<String, Value> {
        &self.0
    }

    /// A non-empty string field (numbers are accepted as their text).
    pub fn str(&self, key: &str) -> Option<String> {
        match self.0.get(key)? {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    /// An integer field (a numeric string is accepted too); `Err` when present but not a number.
    pub fn int(&self, key: &str) -> Result<Option<i64>, ApiError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n.as_i64().map(Some).ok_or(wx(40097)),
            Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| wx(40097)),
            Some(_) => Err(wx(40097)),
        }
    }
}

pub fn query_map(req: &HttpRequest) -> HashMap<String, String> {
    web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .map(|q| q.into_inner().into_iter().collect())
        .unwrap_or_default()
}

// ---- token checks ----

/// Checks `component_access_token` (or `access_token`) from the query string.
pub fn check_component_token(conn: &mut DbConn, token: Option<&str>, now: i64) -> Result<String, i64> {
    let token = token.map(str::trim).filter(|t| !t.is_empty()).ok_or(41001)?;
    let row = store::find_token(conn, token).map_err(|_| -1)?.ok_or(40001)?;
    if row.kind != store::COMPONENT || row.revoked {
        return Err(40001);
    }
    if row.expires_at <= now {
        return Err(42001);
    }
    Ok(row.appid)
}

/// Checks an authorizer `access_token` for the simulated mini program endpoints: the
/// authorizer's AppID, or the errcode WeChat answers (41001 missing, 40001 unknown or
/// superseded, 42001 expired, 61003 the authorization was revoked).
pub fn check_authorizer_token(conn: &mut DbConn, token: Option<&str>, now: i64) -> Result<String, i64> {
    let token = token.map(str::trim).filter(|t| !t.is_empty()).ok_or(41001)?;
    let row = store::find_token(conn, token).map_err(|_| -1)?.ok_or(40001)?;
    if row.kind != store::AUTHORIZER {
        return Err(40001);
    }
    let active = store::find_authorization(conn, &row.appid).map_err(|_| -1)?.is_some_and(|a| a.active);
    if !active {
        return Err(61003);
    }
    if row.revoked {
        return Err(40001);
    }
    if row.expires_at <= now {
        return Err(42001);
    }
    Ok(row.appid)
}

fn component_token_from(query: &HashMap<String, String>) -> Option<&str> {
    query.get("component_access_token").or_else(|| query.get("access_token")).map(String::as_str)
}

/// The token and the `component_appid` of the body, both checked.
fn component_call(
    conn: &mut DbConn,
    sb_appid: &str,
    query: &HashMap<String, String>,
    body: &Body,
    now: i64,
) -> Result<(), ApiError> {
    let token_appid = check_component_token(conn, component_token_from(query), now).map_err(wx)?;
    let appid = body.str("component_appid").ok_or(wx(41002))?;
    if appid != sb_appid || token_appid != sb_appid {
        return Err(wx(61011));
    }
    Ok(())
}

fn func_info(ids: &[i64]) -> Value {
    Value::Array(ids.iter().map(|id| json!({ "funcscope_category": { "id": id } })).collect())
}

// ---- the endpoints ----

/// `POST /cgi-bin/component/api_component_token` (reference §1.4).
pub async fn component_token(sb: web::Data<Sandbox>, bytes: web::Bytes) -> HttpResponse {
    let (appid, secret, ttl) =
        (sb.config.component_appid.clone(), sb.config.component_secret.clone(), sb.config.token_ttl_secs);
    answer(&sb, move |c, now| {
        let body = Body::parse(&bytes)?;
        let given_appid = body.str("component_appid").ok_or(wx(41002))?;
        if given_appid != appid {
            return Err(wx(61011));
        }
        let given_secret = body.str("component_appsecret").ok_or(wx(41004))?;
        if given_secret != secret {
            return Err(wx(40125));
        }
        let ticket = body.str("component_verify_ticket").ok_or(wx(61006))?;
        let ticket = store::find_ticket(c, &ticket)?.ok_or(wx(61006))?;
        if ticket.created_at + store::TICKET_TTL_SECS <= now {
            return Err(wx(61005));
        }
        let token = db::write_tx(c, |c| store::issue_token(c, store::COMPONENT, &appid, now, ttl))?;
        Ok(json!({ "component_access_token": token, "expires_in": ttl }))
    })
    .await
}

/// `POST /cgi-bin/component/api_create_preauthcode` (reference §1.5).
pub async fn create_preauthcode(sb: web::Data<Sandbox>, req: HttpRequest, bytes: web::Bytes) -> HttpResponse {
    let appid = sb.config.component_appid.clone();
    let query = query_map(&req);
    answer(&sb, move |c, now| {
        let body = Body::parse(&bytes)?;
        component_call(c, &appid, &query, &body, now)?;
        let code = db::write_tx(c, |c| store::insert_pre_auth_code(c, &appid, now))?;
        Ok(json!({ "pre_auth_code": code, "expires_in": store::PRE_AUTH_CODE_TTL_SECS }))
    })
    .await
}

/// `POST /cgi-bin/component/api_query_auth` (reference §1.7). Unknown or used code:
/// 61009; expired code: 61010; authorization revoked since: 61003.
pub async fn query_auth(sb: web::Data<Sandbox>, req: HttpRequest, bytes: web::Bytes) -> HttpResponse {
    let appid = sb.config.component_appid.clone();
    let ttl = sb.config.token_ttl_secs;
    let query = query_map(&req);
    answer(&sb, move |c, now| {
        let body = Body::parse(&bytes)?;
        component_call(c, &appid, &query, &body, now)?;
        let code = body.str("authorization_code").ok_or(wx(61009))?;
        db::write_tx(c, |c| {
            let row = store::find_auth_code(c, &code)?.ok_or(wx(61009))?;
            if row.used_at.is_some() {
                return Err(wx(61009));
            }
            if row.expires_at <= now {
                return Err(wx(61010));
            }
            let auth = store::find_authorization(c, &row.authorizer_appid)?.filter(|a| a.active).ok_or(wx(61003))?;
            if !store::claim_auth_code(c, &code, now)? {
                return Err(wx(61009));
            }
            let token = store::issue_token(c, store::AUTHORIZER, &row.authorizer_appid, now, ttl)?;
            Ok(json!({ "authorization_info": {
                "authorizer_appid": row.authorizer_appid,
                "authorizer_access_token": token,
                "expires_in": ttl,
                "authorizer_refresh_token": auth.refresh_token,
                "func_info": func_info(&auth.func_ids()),
            }}))
        })
    })
    .await
}

/// `POST /cgi-bin/component/api_authorizer_token` (reference §1.8): a new access token;
/// the refresh token stays the same until the next (re-)authorization.
pub async fn authorizer_token(sb: web::Data<Sandbox>, req: HttpRequest, bytes: web::Bytes) -> HttpResponse {
    let appid = sb.config.component_appid.clone();
    let ttl = sb.config.token_ttl_secs;
    let query = query_map(&req);
    answer(&sb, move |c, now| {
        let body = Body::parse(&bytes)?;
        component_call(c, &appid, &query, &body, now)?;
        let authorizer = body.str("authorizer_appid").ok_or(wx(40013))?;
        let refresh = body.str("authorizer_refresh_token").ok_or(wx(61023))?;
        let auth = store::find_authorization(c, &authorizer)?.ok_or(wx(61003))?;
        if !auth.active || auth.refresh_token != refresh {
            return Err(wx(61023));
        }
        let token = db::write_tx(c, |c| store::issue_token(c, store::AUTHORIZER, &authorizer, now, ttl))?;
        Ok(json!({
            "authorizer_access_token": token,
            "expires_in": ttl,
            "authorizer_refresh_token": auth.refresh_token,
        }))
    })
    .await
}

/// `POST /cgi-bin/component/api_get_authorizer_info` (reference §1.9).
pub async fn get_authorizer_info(sb: web::Data<Sandbox>, req: HttpRequest, bytes: web::Bytes) -> HttpResponse {
    let appid = sb.config.component_appid.clone();
    let query = query_map(&req);
    answer(&sb, move |c, now| {
        let body = Body::parse(&bytes)?;
        component_call(c, &appid, &query, &body, now)?;
        let authorizer = body.str("authorizer_appid").ok_or(wx(40013))?;
        let auth = store::find_authorization(c, &authorizer)?.filter(|a| a.active).ok_or(wx(61003))?;
        let account = store::find_account(c, &authorizer)?.ok_or(wx(61003))?;
        let categories = state::categories(c, &authorizer)?;
        Ok(json!({
            "authorizer_info": authorizer_info(&account, &categories),
            "authorization_info": {
                "authorizer_appid": authorizer,
                "authorizer_refresh_token": auth.refresh_token,
                "func_info": func_info(&auth.func_ids()),
            },
        }))
    })
    .await
}

/// `authorizer_info`; a mini program's `MiniProgramInfo.categories` are its approved
/// service categories, by name.
fn authorizer_info(a: &store::Account, categories: &[state::CategoryRow]) -> Value {
    let mut info = json!({
        "nick_name": a.nick_name,
        "head_img": a.head_img,
        "service_type_info": { "id": a.service_type },
        "verify_type_info": { "id": if a.verified { 0 } else { -1 } },
        "user_name": a.user_name,
        "principal_name": a.principal_name,
        "alias": a.alias,
        "signature": a.signature,
        "qrcode_url": a.qrcode_url,
        "account_status": a.account_status,
        "register_type": 0,
        "business_info": serde_json::from_str::<Value>(&a.business_info).unwrap_or_else(|_| json!({})),
        "basic_config": { "is_phone_configured": true, "is_email_configured": true },
    });
    if a.is_mini_program()
        && let Some(obj) = info.as_object_mut()
    {
        let network = serde_json::from_str::<Value>(&a.network).unwrap_or_else(|_| json!({}));
        let categories: Vec<Value> = categories
            .iter()
            .filter(|c| c.audit_status == 3)
            .map(|c| {
                let (first, second) = c.names();
                json!({ "first": first, "second": second })
            })
            .collect();
        obj.insert(
            "MiniProgramInfo".into(),
            json!({ "network": network, "categories": categories, "visit_status": 0 }),
        );
    }
    info
}

/// `POST /cgi-bin/component/api_get_authorizer_list` (reference §1.10); count 1..=500.
pub async fn get_authorizer_list(sb: web::Data<Sandbox>, req: HttpRequest, bytes: web::Bytes) -> HttpResponse {
    let appid = sb.config.component_appid.clone();
    let query = query_map(&req);
    answer(&sb, move |c, now| {
        let body = Body::parse(&bytes)?;
        component_call(c, &appid, &query, &body, now)?;
        let offset = body.int("offset")?.unwrap_or(0);
        let count = body.int("count")?.unwrap_or(100);
        if offset < 0 || !(1..=500).contains(&count) {
            return Err(wx(40097));
        }
        let total = store::count_active_authorizations(c)?;
        let list: Vec<Value> = store::list_active_authorizations(c, offset, count)?
            .into_iter()
            .map(|a| json!({ "authorizer_appid": a.authorizer_appid, "refresh_token": a.refresh_token, "auth_time": a.auth_time }))
            .collect();
        Ok(json!({ "total_count": total, "list": list }))
    })
    .await
}

/// `POST /cgi-bin/component/api_start_push_ticket` (reference §1.3): pushes a new ticket now.
pub async fn start_push_ticket(sb: web::Data<Sandbox>, bytes: web::Bytes) -> HttpResponse {
    let (appid, secret) = (sb.config.component_appid.clone(), sb.config.component_secret.clone());
    let started = with_conn(&sb.pool, move |c| {
        (|| {
            let body = Body::parse(&bytes)?;
            let given = body.str("component_appid").ok_or(wx(41002))?;
            if given != appid {
                return Err(wx(61011));
            }
            let given_secret = body.str("component_secret").ok_or(wx(41004))?;
            if given_secret != secret {
                return Err(wx(40125));
            }
            let now = crate::now();
            db::write_tx(c, |c| {
                sim::new_ticket(c, &appid, now, true).map(|(_, push)| push).map_err(|e| match e {
                    sim::SimError::Db(e) => ApiError::Db(e),
                    sim::SimError::Refused(_) => wx(-1),
                })
            })
        })()
    })
    .await;
    match started {
        Ok(Ok(push_id)) => {
            sb.pusher.deliver(Some(push_id)).await;
            HttpResponse::Ok().json(json!({ "errcode": 0, "errmsg": "ok" }))
        }
        Ok(Err(ApiError::Wx(code))) => error_response(code),
        Ok(Err(ApiError::Db(e))) => {
            tracing::error!(error = %e, "sandbox: database error");
            error_response(-1)
        }
        Err(_) => error_response(-1),
    }
}

/// Any method but POST on an API path.
/// Registers a read-only API at `path`: it answers GET and POST alike (SDKs use either),
/// and 43001 to any other method.
pub(crate) fn read<F, Args>(cfg: &mut web::ServiceConfig, path: &str, handler: F)
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    cfg.service(
        web::resource(path)
            .route(web::get().to(handler.clone()))
            .route(web::post().to(handler))
            .default_service(web::to(require_get)),
    );
}

/// Registers an API at `path` that changes state: POST only, 43002 to anything else.
pub(crate) fn write<F, Args>(cfg: &mut web::ServiceConfig, path: &str, handler: F)
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    cfg.service(web::resource(path).route(web::post().to(handler)).default_service(web::to(require_post)));
}

pub async fn require_post() -> HttpResponse {
    error_response(43002)
}

/// A method other than GET (or POST) on a read-only API path.
pub async fn require_get() -> HttpResponse {
    error_response(43001)
}

/// A path the sandbox does not simulate.
pub async fn unknown_api() -> HttpResponse {
    HttpResponse::NotFound().json(error_body(40066))
}

// ---- faults and the call log ----

/// In front of every `/sandbox/wechat/...` call: applies the first matching fault (one
/// use taken in a transaction), answers 45009 when the path's call limit is reached
/// ([`limits`]), then logs the call with the errcode it answered.
pub async fn gate(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let Some(sb) = req.app_data::<web::Data<Sandbox>>().cloned() else {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    };
    let endpoint = req.path().strip_prefix("/sandbox/wechat").unwrap_or(req.path()).to_string();
    let ep = endpoint.clone();
    // One trip for both: the fault to apply, and whether the path's call limit is reached
    // (not looked at when a fault answers instead).
    let checked = with_conn(&sb.pool, move |c| {
        db::write_tx(c, |c| {
            let fault = store::take_fault(c, &ep)?;
            let answered_by_fault = fault.as_ref().is_some_and(|f| f.kind != "latency");
            let limited = !answered_by_fault && limits::exceeded(c, &ep, crate::now())?;
            Ok::<_, diesel::result::Error>((fault, limited))
        })
    })
    .await;
    let (fault, limited) = match checked {
        Ok(Ok(f)) => f,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "sandbox: cannot read faults");
            (None, false)
        }
        Err(_) => (None, false),
    };
    let mut fault_label = None;
    if let Some(f) = fault {
        let label = format!("{}:{}", f.kind, f.value);
        match f.kind.as_str() {
            "latency" => {
                let ms = u64::try_from(f.value.clamp(0, 120_000)).unwrap_or(0);
                tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
                fault_label = Some(label);
            }
            "errcode" => {
                log_call(&sb, endpoint, Some(f.value), 200, Some(label)).await;
                let (http_req, _) = req.into_parts();
                return Ok(ServiceResponse::new(http_req, error_response(f.value)));
            }
            "http" => {
                let status = u16::try_from(f.value).ok().and_then(|s| StatusCode::from_u16(s).ok());
                let status = status.unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
                log_call(&sb, endpoint, None, status.as_u16(), Some(label)).await;
                let (http_req, _) = req.into_parts();
                let resp = HttpResponse::build(status).content_type("text/html").body(format!(
                    "<html><body><h1>{} {}</h1></body></html>",
                    status.as_u16(),
                    status.canonical_reason().unwrap_or("")
                ));
                return Ok(ServiceResponse::new(http_req, resp));
            }
            _ => {
                // "drop": a body that fails at once, so actix aborts the connection.
                log_call(&sb, endpoint, None, 0, Some(label)).await;
                let (http_req, _) = req.into_parts();
                let failing = futures_util::stream::once(async {
                    Err::<web::Bytes, std::io::Error>(std::io::Error::new(
                        std::io::ErrorKind::ConnectionAborted,
                        "sandbox fault: connection dropped",
                    ))
                });
                return Ok(ServiceResponse::new(http_req, HttpResponse::Ok().streaming(failing)));
            }
        }
    }
    if limited {
        log_call(&sb, endpoint, Some(limits::QUOTA_ERRCODE), 200, fault_label).await;
        let (http_req, _) = req.into_parts();
        return Ok(ServiceResponse::new(http_req, error_response(limits::QUOTA_ERRCODE)));
    }
    let res = next.call(req).await?;
    let status = res.status();
    let (http_req, res) = res.into_parts();
    let (head, body) = res.into_parts();
    let bytes = actix_web::body::to_bytes_limited(body, MAX_LOGGED_BODY)
        .await
        .map_err(|_| actix_web::error::ErrorInternalServerError("response too large"))?
        .map_err(|e| actix_web::error::ErrorInternalServerError(e.into().to_string()))?;
    let errcode =
        serde_json::from_slice::<Value>(&bytes).ok().map(|v| v.get("errcode").and_then(Value::as_i64).unwrap_or(0));
    log_call(&sb, endpoint, errcode, status.as_u16(), fault_label).await;
    Ok(ServiceResponse::new(http_req, head.set_body(BoxBody::new(bytes))))
}

async fn log_call(sb: &Sandbox, endpoint: String, errcode: Option<i64>, status: u16, fault: Option<String>) {
    let logged = with_conn(&sb.pool, move |c| {
        db::write_tx(c, |c| store::insert_call(c, &endpoint, errcode, status, fault.as_deref(), crate::now()))
    })
    .await;
    if let Ok(Err(e)) = logged {
        tracing::warn!(error = %e, "sandbox: cannot log a call");
    }
}
