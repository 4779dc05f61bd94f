//! JSON endpoints for tests and scripts under `/sandbox/dev/wechatpay` (no signature, no
//! CSRF token; errors are `{"error": "…"}`):
//!
//! * `POST /merchants {"mchid","appid","api_v3_key","cert_pem","verify_mode"?}` → `{"mchid"}`;
//!   `POST /merchants/{mchid} {"verify_mode": "certificate"|"public_key"}`; `GET /merchants`.
//! * `GET /applyments`; `POST /applyments/{applyment_id} {"decision", "audit_detail"?}` → the
//!   query JSON (404 unknown, 409 not allowed from its state, 400 a rejection without reasons).
//! * `GET /sub-merchants`; `POST /sub-merchants {"name", "sp_mchid"?, "sub_mchid"?}` opens a
//!   sub-merchant directly (without an application) → `{"sub_mchid"}`.
//! * `POST /bindings {"sub_mchid","appid","bound"}`; `GET /bindings?sub_mchid=`.
//! * `GET /orders`; `POST /pay {"code_url"}|{"prepay_id"}|{"sp_mchid","sub_mchid","out_trade_no"}`
//!   → the transaction JSON (404 unknown, 409 not payable).
//! * `GET /notifications`; `POST /notifications/{id}/resend`.
//! * `GET /provider`: the published service provider's identity and keys.
//!
//! Every `GET` list answers a bare JSON array.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use serde_json::{Value, json};

use super::applyment::{self, AuditItem, DecideError};
use super::orders::{self, PayRefusal};
use super::rules::{self, Decision};
use super::{notify, state};
use crate::db::{self, DbConn};
use crate::pay::keys::Certificate;
use crate::sandbox::pay::SP_MCHID;
use crate::sandbox::{Sandbox, api::query_map, with_conn};

fn error(status: StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "error": message }))
}

fn internal(e: impl std::fmt::Debug) -> HttpResponse {
    tracing::error!(error = ?e, "sandbox wechatpay dev endpoint failed");
    error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
}

fn object(bytes: &[u8]) -> Result<Value, Box<HttpResponse>> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err(Box::new(error(StatusCode::BAD_REQUEST, "the body must be a JSON object"))),
    }
}

fn s<'a>(b: &'a Value, k: &str) -> &'a str {
    b.get(k).and_then(Value::as_str).unwrap_or("").trim()
}

/// An answer built inside a transaction (an `HttpResponse` cannot cross threads).
type Answer = (StatusCode, Value);

fn okj(v: Value) -> Answer {
    (StatusCode::OK, v)
}

fn errj(status: StatusCode, message: &str) -> Answer {
    (status, json!({ "error": message }))
}

/// Runs `f` in one write transaction; its answer, or 500.
async fn tx<F>(sb: &Sandbox, f: F) -> HttpResponse
where
    F: FnOnce(&mut DbConn, i64) -> Result<Answer, diesel::result::Error> + Send + 'static,
{
    match with_conn(&sb.pool, move |c| db::write_tx(c, |c| f(c, crate::now()))).await {
        Ok(Ok((status, v))) => HttpResponse::build(status).json(v),
        Ok(Err(e)) => internal(e),
        Err(e) => internal(e),
    }
}

fn check_mode(mode: &str) -> Result<(), Box<HttpResponse>> {
    if mode == "certificate" || mode == "public_key" {
        Ok(())
    } else {
        Err(Box::new(error(StatusCode::BAD_REQUEST, "verify_mode must be certificate or public_key")))
    }
}

/// `GET /sandbox/dev/wechatpay/merchants`.
pub async fn merchants(sb: web::Data<Sandbox>) -> HttpResponse {
    tx(&sb, |c, _| {
        let list: Vec<Value> = state::list_merchants(c)?
            .iter()
            .map(|m| json!({"mchid": m.mchid, "appid": m.appid, "cert_serial": m.cert_serial, "verify_mode": m.verify_mode}))
            .collect();
        Ok(okj(json!(list)))
    })
    .await
}

/// `POST /sandbox/dev/wechatpay/merchants`.
pub async fn add_merchant(sb: web::Data<Sandbox>, bytes: web::Bytes) -> HttpResponse {
    let b = match object(&bytes) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let mode = Some(s(&b, "verify_mode")).filter(|m| !m.is_empty()).unwrap_or("certificate").to_string();
    if let Err(r) = check_mode(&mode) {
        return *r;
    }
    let (mchid, appid, key, pem) = (s(&b, "mchid"), s(&b, "appid"), s(&b, "api_v3_key"), s(&b, "cert_pem"));
    if mchid.is_empty() || appid.is_empty() {
        return error(StatusCode::BAD_REQUEST, "mchid and appid are required");
    }
    if key.len() != 32 {
        return error(StatusCode::BAD_REQUEST, "api_v3_key must be 32 characters");
    }
    let Ok(cert) = Certificate::parse(pem) else {
        return error(StatusCode::BAD_REQUEST, "cert_pem is not a PEM certificate");
    };
    let m = state::Merchant {
        mchid: mchid.into(),
        appid: appid.into(),
        api_v3_key: key.into(),
        cert_pem: pem.into(),
        cert_serial: cert.serial,
        verify_mode: mode,
        created_at: crate::now(),
    };
    tx(&sb, move |c, _| {
        state::put_merchant(c, &m)?;
        Ok(okj(json!({ "mchid": m.mchid })))
    })
    .await
}

/// `POST /sandbox/dev/wechatpay/merchants/{mchid}`.
pub async fn edit_merchant(sb: web::Data<Sandbox>, path: web::Path<String>, bytes: web::Bytes) -> HttpResponse {
    let b = match object(&bytes) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let mode = s(&b, "verify_mode").to_string();
    if let Err(r) = check_mode(&mode) {
        return *r;
    }
    let mchid = path.into_inner();
    tx(&sb, move |c, _| {
        Ok(if state::set_verify_mode(c, &mchid, &mode)? == 0 {
            errj(StatusCode::NOT_FOUND, "no such merchant")
        } else {
            okj(json!({ "mchid": mchid, "verify_mode": mode }))
        })
    })
    .await
}

fn applyment_json(a: &state::Applyment, public_url: &str) -> Value {
    let mut v = applyment::query_json(a, public_url);
    v["sp_mchid"] = json!(a.sp_mchid);
    v["merchant_name"] = json!(a.merchant_name);
    v["mini_program_sub_appid"] = json!(a.mini_program_sub_appid);
    v
}

/// `GET /sandbox/dev/wechatpay/applyments`.
pub async fn applyments(sb: web::Data<Sandbox>) -> HttpResponse {
    let (url, step) = (sb.config.public_url.clone(), applyment::step_secs(&sb));
    tx(&sb, move |c, now| {
        orders::settle_due(c, step, now)?;
        let list: Vec<Value> = state::list_applyments(c, 500)?.iter().map(|a| applyment_json(a, &url)).collect();
        Ok(okj(json!(list)))
    })
    .await
}

/// `POST /sandbox/dev/wechatpay/applyments/{applyment_id}`.
pub async fn decide(sb: web::Data<Sandbox>, path: web::Path<String>, bytes: web::Bytes) -> HttpResponse {
    let b = match object(&bytes) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let Some(decision) = Decision::parse(s(&b, "decision")) else {
        return error(
            StatusCode::BAD_REQUEST,
            "decision must be confirm_account, approve, reject, cancel, verify_account or sign",
        );
    };
    let audit: Vec<AuditItem> =
        b.get("audit_detail").cloned().and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default();
    let Ok(id) = path.into_inner().parse::<i64>() else { return error(StatusCode::NOT_FOUND, "no such application") };
    let url = sb.config.public_url.clone();
    let done =
        with_conn(&sb.pool, move |c| db::write_tx(c, |c| applyment::decide(c, id, decision, &audit, crate::now())))
            .await;
    notify::wake(&sb);
    match done {
        Ok(Ok(a)) => HttpResponse::Ok().json(applyment_json(&a, &url)),
        Ok(Err(DecideError::NotFound)) => error(StatusCode::NOT_FOUND, "no such application"),
        Ok(Err(DecideError::NotAllowed(st))) => error(StatusCode::CONFLICT, &format!("not allowed from {st}")),
        Ok(Err(DecideError::NoReason)) => {
            error(StatusCode::BAD_REQUEST, "a rejection needs audit_detail with a reject_reason")
        }
        Ok(Err(e)) => internal(e),
        Err(e) => internal(e),
    }
}

/// `GET /sandbox/dev/wechatpay/sub-merchants`.
pub async fn sub_merchants(sb: web::Data<Sandbox>) -> HttpResponse {
    let step = applyment::step_secs(&sb);
    tx(&sb, move |c, now| {
        orders::settle_due(c, step, now)?;
        Ok(okj(json!(state::list_sub_merchants(c)?)))
    })
    .await
}

/// `POST /sandbox/dev/wechatpay/sub-merchants`.
pub async fn add_sub_merchant(sb: web::Data<Sandbox>, bytes: web::Bytes) -> HttpResponse {
    let b = match object(&bytes) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let name = s(&b, "name").to_string();
    if name.is_empty() {
        return error(StatusCode::BAD_REQUEST, "name is required");
    }
    let sp = Some(s(&b, "sp_mchid")).filter(|v| !v.is_empty()).unwrap_or(SP_MCHID).to_string();
    let given = Some(s(&b, "sub_mchid")).filter(|v| !v.is_empty()).map(str::to_string);
    tx(&sb, move |c, now| {
        if state::find_merchant(c, &sp)?.is_none() {
            return Ok(errj(StatusCode::BAD_REQUEST, "no such service provider"));
        }
        let mut sub_mchid = given.clone().unwrap_or_else(rules::new_sub_mchid);
        while state::find_sub_merchant(c, &sub_mchid)?.is_some() {
            if given.is_some() {
                return Ok(errj(StatusCode::CONFLICT, "sub_mchid exists"));
            }
            sub_mchid = rules::new_sub_mchid();
        }
        let sm = state::SubMerchant { sub_mchid, sp_mchid: sp, name, applyment_id: None, created_at: now };
        state::insert_sub_merchant(c, &sm)?;
        Ok(okj(json!({ "sub_mchid": sm.sub_mchid })))
    })
    .await
}

/// `POST /sandbox/dev/wechatpay/bindings`.
pub async fn set_binding(sb: web::Data<Sandbox>, bytes: web::Bytes) -> HttpResponse {
    let b = match object(&bytes) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let (sub_mchid, appid) = (s(&b, "sub_mchid").to_string(), s(&b, "appid").to_string());
    let Some(bound) = b.get("bound").and_then(Value::as_bool) else {
        return error(StatusCode::BAD_REQUEST, "bound must be true or false");
    };
    if sub_mchid.is_empty() || appid.is_empty() {
        return error(StatusCode::BAD_REQUEST, "sub_mchid and appid are required");
    }
    tx(&sb, move |c, now| {
        if state::find_sub_merchant(c, &sub_mchid)?.is_none() {
            return Ok(errj(StatusCode::NOT_FOUND, "no such sub-merchant"));
        }
        if bound {
            let binding = state::Binding {
                sub_mchid: sub_mchid.clone(),
                appid: appid.clone(),
                state: "bound".into(),
                method: "dev".into(),
                note: String::new(),
                updated_at: now,
            };
            state::put_binding(c, &binding)?;
        } else {
            state::delete_binding(c, &sub_mchid, &appid)?;
        }
        Ok(okj(json!({ "sub_mchid": sub_mchid, "appid": appid, "bound": bound })))
    })
    .await
}

/// `GET /sandbox/dev/wechatpay/bindings?sub_mchid=`.
pub async fn bindings(sb: web::Data<Sandbox>, req: HttpRequest) -> HttpResponse {
    let sub = query_map(&req).get("sub_mchid").cloned().filter(|v| !v.is_empty());
    tx(&sb, move |c, _| {
        let list: Vec<Value> = state::list_bindings(c, sub.as_deref())?
            .into_iter()
            .map(|b| {
                let bound = b.state == "bound";
                let mut v = serde_json::to_value(&b).unwrap_or_default();
                v["bound"] = json!(bound);
                v
            })
            .collect();
        Ok(okj(json!(list)))
    })
    .await
}

/// `GET /sandbox/dev/wechatpay/orders`.
pub async fn list_orders(sb: web::Data<Sandbox>) -> HttpResponse {
    tx(&sb, |c, _| {
        let list: Vec<Value> = state::list_orders(c, false, 200)?.iter().map(orders::transaction_json).collect();
        Ok(okj(json!(list)))
    })
    .await
}

/// Finds the order a payment names.
pub fn find_payable(c: &mut DbConn, b: &Value) -> diesel::QueryResult<Option<state::Order>> {
    let code_url = s(b, "code_url");
    if let Some(token) = code_url.strip_prefix(rules::CODE_URL_PREFIX) {
        return state::find_order_by_prepay(c, token);
    }
    if !s(b, "prepay_id").is_empty() {
        return state::find_order_by_prepay(c, s(b, "prepay_id"));
    }
    state::find_order(c, s(b, "sp_mchid"), s(b, "sub_mchid"), s(b, "out_trade_no"))
}

/// `POST /sandbox/dev/wechatpay/pay`: `code_url`, `prepay_id`, or `sp_mchid` + `sub_mchid` +
/// `out_trade_no`; with `"lose_notification": true` the payment notification is lost, as
/// WeChat Pay's sometimes are (the merchant finds the payment by querying).
pub async fn pay(sb: web::Data<Sandbox>, bytes: web::Bytes) -> HttpResponse {
    let b = match object(&bytes) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let lose = b.get("lose_notification").and_then(Value::as_bool).unwrap_or(false);
    let paid = with_conn(&sb.pool, move |c| {
        db::write_tx(c, |c| {
            let now = crate::now();
            let o = find_payable(c, &b)?.ok_or(PayRefusal::NotFound)?;
            let o = orders::pay(c, &o.id, now)?;
            if lose {
                state::lose_notifications(c, &o.sp_mchid, &o.out_trade_no)?;
            }
            Ok(o)
        })
    })
    .await;
    notify::wake(&sb);
    match paid {
        Ok(Ok(o)) => HttpResponse::Ok().json(orders::transaction_json(&o)),
        Ok(Err(PayRefusal::NotFound)) => error(StatusCode::NOT_FOUND, "no such order"),
        Ok(Err(PayRefusal::NotPayable(st))) => error(StatusCode::CONFLICT, &format!("the order is {st}")),
        Ok(Err(e)) => internal(e),
        Err(e) => internal(e),
    }
}

/// A notification with its attempts, as the dev endpoint and the page show it.
pub fn notification_json(n: &state::Notification, attempts: &[state::Attempt]) -> Value {
    let mut v = serde_json::to_value(n).unwrap_or_default();
    v["attempt_log"] = json!(attempts);
    v["gave_up"] = json!(!n.delivered && n.next_attempt_ms.is_none() && n.attempts > 0);
    v
}

/// `GET /sandbox/dev/wechatpay/notifications`.
pub async fn notifications(sb: web::Data<Sandbox>) -> HttpResponse {
    tx(&sb, |c, _| {
        let mut list = Vec::new();
        for n in state::list_notifications(c, 200)? {
            let attempts = state::attempts_of(c, &n.id)?;
            list.push(notification_json(&n, &attempts));
        }
        Ok(okj(json!(list)))
    })
    .await
}

/// `POST /sandbox/dev/wechatpay/notifications/{id}/resend`.
pub async fn resend(sb: web::Data<Sandbox>, path: web::Path<String>) -> HttpResponse {
    let id = path.into_inner();
    let r = tx(&sb, move |c, _| {
        Ok(if state::resend(c, &id, notify::now_ms())? {
            okj(json!({ "id": id }))
        } else {
            errj(StatusCode::NOT_FOUND, "no such notification")
        })
    })
    .await;
    notify::wake(&sb);
    r
}
