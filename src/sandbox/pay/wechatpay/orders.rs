//! Partner orders (reference §7.3, §7.5; notes §4.2): NATIVE and JSAPI prepay with WeChat
//! Pay's checks, the two queries, close, the buyer's payment (which queues
//! `TRANSACTION.SUCCESS`), and refunds, which settle `pay_step_secs` after they are asked
//! (queuing `REFUND.SUCCESS` when they named a `notify_url`).

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::api::{self, Outcome, WxError, ok};
use super::state::{self, Order, Refund};
use super::{applyment, notify, rules};
use crate::db::DbConn;
use crate::sandbox::{Sandbox, api::query_map};

/// The buyer's openid under the service provider's AppID when they scan a code.
pub const BUYER_SP_OPENID: &str = "o-sandbox-buyer-0000000000001";

fn order_not_found() -> WxError {
    WxError::new(404, "ORDER_NOT_EXIST", "订单不存在")
}

fn order_paid() -> WxError {
    WxError::new(400, "ORDERPAID", "该订单已支付")
}

/// The transaction as the queries and `TRANSACTION.SUCCESS` show it.
pub fn transaction_json(o: &Order) -> Value {
    let paid = o.transaction_id.is_some();
    let mut v = json!({
        "sp_appid": o.sp_appid,
        "sp_mchid": o.sp_mchid,
        "sub_mchid": o.sub_mchid,
        "out_trade_no": o.out_trade_no,
        "trade_type": o.trade_type,
        "trade_state": o.state,
        "trade_state_desc": rules::trade_state_desc(&o.state),
        "attach": o.attach.clone().unwrap_or_default(),
        "amount": {"total": o.total, "currency": o.currency},
    });
    if let Some(a) = &o.sub_appid {
        v["sub_appid"] = json!(a);
    }
    if let Some(t) = &o.transaction_id {
        v["transaction_id"] = json!(t);
        v["bank_type"] = json!("OTHERS");
    }
    if let Some(at) = o.success_time {
        v["success_time"] = json!(rules::rfc3339(at));
    }
    if paid {
        v["amount"]["payer_total"] = json!(o.total);
        v["amount"]["payer_currency"] = json!(o.currency);
    }
    let mut payer = serde_json::Map::new();
    if let Some(s) = &o.sp_openid {
        payer.insert("sp_openid".into(), json!(s));
    }
    if let Some(s) = &o.sub_openid {
        payer.insert("sub_openid".into(), json!(s));
    }
    if !payer.is_empty() {
        v["payer"] = Value::Object(payer);
    }
    v
}

fn str_field<'a>(b: &'a Value, k: &str) -> &'a str {
    b.get(k).and_then(Value::as_str).unwrap_or("")
}

fn opt_str(b: &Value, path: &str) -> Option<String> {
    Some(rules::text(b, path).to_string()).filter(|s| !s.is_empty())
}

fn required<'a>(b: &'a Value, k: &str) -> Result<&'a str, WxError> {
    Some(str_field(b, k)).filter(|s| !s.trim().is_empty()).ok_or_else(|| WxError::param(format!("{k} 不能为空")))
}

/// The sub-merchant must be a finished one of this service provider.
fn own_sub_merchant(c: &mut DbConn, sp_mchid: &str, sub_mchid: &str) -> Result<state::SubMerchant, WxError> {
    state::find_sub_merchant(c, sub_mchid)?
        .filter(|s| s.sp_mchid == sp_mchid)
        .ok_or_else(|| WxError::param("特约商户号不存在或未完成进件"))
}

/// A prepay request (`trade_type` NATIVE or JSAPI).
fn prepay(c: &mut DbConn, m: &state::Merchant, trade_type: &str, text: &str, now: i64) -> Outcome {
    let b = api::json_body(text)?;
    let sp_mchid = required(&b, "sp_mchid")?;
    if sp_mchid != m.mchid {
        return Err(WxError::param("sp_mchid 与请求签名的商户号不一致"));
    }
    let sp_appid = required(&b, "sp_appid")?;
    if sp_appid != m.appid {
        return Err(WxError::new(400, "APPID_MCHID_NOT_MATCH", "sp_appid与sp_mchid不匹配"));
    }
    let sub_mchid = required(&b, "sub_mchid")?;
    let description = required(&b, "description")?;
    rules::check_description(description).map_err(WxError::param)?;
    let out_trade_no = required(&b, "out_trade_no")?;
    rules::check_out_no("out_trade_no", out_trade_no).map_err(WxError::param)?;
    let notify_url = required(&b, "notify_url")?;
    rules::check_notify_url(notify_url).map_err(WxError::param)?;
    let total = rules::at(&b, "amount.total").and_then(Value::as_i64).unwrap_or(0);
    if total < 1 {
        return Err(WxError::param("amount.total 必须为大于0的整数（单位：分）"));
    }
    let currency = opt_str(&b, "amount.currency").unwrap_or_else(|| "CNY".into());
    if currency != "CNY" {
        return Err(WxError::param("amount.currency 只支持CNY"));
    }
    let attach = opt_str(&b, "attach");
    if attach.as_ref().is_some_and(|a| a.chars().count() > 128) {
        return Err(WxError::param("attach 长度不能超过128"));
    }
    own_sub_merchant(c, &m.mchid, sub_mchid)?;
    let sub_appid = opt_str(&b, "sub_appid");
    if let Some(appid) = &sub_appid {
        let bound = state::find_binding(c, sub_mchid, appid)?.is_some_and(|x| x.state == "bound");
        if !bound {
            return Err(WxError::new(400, "APPID_MCHID_NOT_MATCH", "sub_mchid与sub_appid不匹配"));
        }
    }
    let (sp_openid, sub_openid) = (opt_str(&b, "payer.sp_openid"), opt_str(&b, "payer.sub_openid"));
    if trade_type == "JSAPI" {
        match (&sp_openid, &sub_openid) {
            (_, Some(_)) if sub_appid.is_none() => {
                return Err(WxError::param("使用payer.sub_openid时sub_appid不能为空"));
            }
            (None, None) => return Err(WxError::param("payer.sp_openid与payer.sub_openid不能同时为空")),
            _ => {}
        }
    }
    let fingerprint =
        json!([trade_type, sp_appid, sub_appid, description, total, notify_url, attach, sp_openid, sub_openid])
            .to_string();
    if let Some(existing) = state::find_order(c, &m.mchid, sub_mchid, out_trade_no)? {
        return match existing.state.as_str() {
            "SUCCESS" | "REFUND" => Err(order_paid()),
            "CLOSED" => Err(WxError::new(400, "ORDER_CLOSED", "订单已关闭")),
            _ if existing.fingerprint == fingerprint => ok(prepay_answer(&existing)),
            _ => Err(WxError::invalid("商户订单号重复")),
        };
    }
    let prepay = if trade_type == "NATIVE" { rules::new_code_token() } else { rules::new_prepay_id(now) };
    let o = Order {
        id: crate::new_id(),
        sp_mchid: m.mchid.clone(),
        sp_appid: sp_appid.into(),
        sub_mchid: sub_mchid.into(),
        sub_appid,
        out_trade_no: out_trade_no.into(),
        trade_type: trade_type.into(),
        description: description.into(),
        total,
        currency,
        notify_url: notify_url.into(),
        attach,
        sp_openid,
        sub_openid,
        fingerprint,
        prepay,
        state: "NOTPAY".into(),
        transaction_id: None,
        success_time: None,
        refunded: 0,
        created_at: now,
        updated_at: now,
    };
    state::insert_order(c, &o)?;
    ok(prepay_answer(&o))
}

fn prepay_answer(o: &Order) -> Value {
    if o.trade_type == "NATIVE" {
        json!({ "code_url": format!("{}{}", rules::CODE_URL_PREFIX, o.prepay) })
    } else {
        json!({ "prepay_id": o.prepay })
    }
}

/// `POST /v3/pay/partner/transactions/native`.
pub async fn native(sb: web::Data<Sandbox>, req: HttpRequest, bytes: web::Bytes) -> HttpResponse {
    let text = api::body_text(&bytes);
    api::serve(&sb, &req, text.clone(), move |c, m, now| prepay(c, m, "NATIVE", &text, now)).await
}

/// `POST /v3/pay/partner/transactions/jsapi`.
pub async fn jsapi(sb: web::Data<Sandbox>, req: HttpRequest, bytes: web::Bytes) -> HttpResponse {
    let text = api::body_text(&bytes);
    api::serve(&sb, &req, text.clone(), move |c, m, now| prepay(c, m, "JSAPI", &text, now)).await
}

async fn query(sb: web::Data<Sandbox>, req: HttpRequest, by_transaction: bool, key: String) -> HttpResponse {
    let q = query_map(&req);
    let step = applyment::step_secs(&sb);
    api::serve(&sb, &req, String::new(), move |c, m, now| {
        settle_due(c, step, now)?;
        let sub_mchid = q.get("sub_mchid").cloned().unwrap_or_default();
        if sub_mchid.is_empty() {
            return Err(WxError::param("sub_mchid 不能为空"));
        }
        if q.get("sp_mchid").is_some_and(|s| *s != m.mchid) {
            return Err(WxError::param("sp_mchid 与请求签名的商户号不一致"));
        }
        let found = if by_transaction {
            state::find_order_by_transaction(c, &key)?
        } else {
            state::find_order(c, &m.mchid, &sub_mchid, &key)?
        };
        let o = found.filter(|o| o.sp_mchid == m.mchid && o.sub_mchid == sub_mchid).ok_or_else(order_not_found)?;
        ok(transaction_json(&o))
    })
    .await
}

/// `GET /v3/pay/partner/transactions/out-trade-no/{out_trade_no}?sp_mchid=&sub_mchid=`.
pub async fn by_out_trade_no(sb: web::Data<Sandbox>, req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    query(sb, req, false, path.into_inner()).await
}

/// `GET /v3/pay/partner/transactions/id/{transaction_id}?sp_mchid=&sub_mchid=`.
pub async fn by_transaction_id(sb: web::Data<Sandbox>, req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    query(sb, req, true, path.into_inner()).await
}

/// `POST /v3/pay/partner/transactions/out-trade-no/{out_trade_no}/close` → 204.
pub async fn close(
    sb: web::Data<Sandbox>,
    req: HttpRequest,
    path: web::Path<String>,
    bytes: web::Bytes,
) -> HttpResponse {
    let text = api::body_text(&bytes);
    let out_trade_no = path.into_inner();
    api::serve(&sb, &req, text.clone(), move |c, m, now| {
        let b = api::json_body(&text)?;
        if required(&b, "sp_mchid")? != m.mchid {
            return Err(WxError::param("sp_mchid 与请求签名的商户号不一致"));
        }
        let sub_mchid = required(&b, "sub_mchid")?;
        let mut o = state::find_order(c, &m.mchid, sub_mchid, &out_trade_no)?.ok_or_else(order_not_found)?;
        match o.state.as_str() {
            "SUCCESS" | "REFUND" => return Err(order_paid()),
            "NOTPAY" => {
                o.state = "CLOSED".into();
                o.updated_at = now;
                state::save_order(c, &o)?;
            }
            _ => {}
        }
        Ok((204, None))
    })
    .await
}

/// Why an order cannot be paid.
#[derive(Debug, PartialEq, Eq)]
pub enum PayRefusal {
    NotFound,
    /// Closed or paid already (its state).
    NotPayable(String),
    Db(String),
}

impl From<diesel::result::Error> for PayRefusal {
    fn from(e: diesel::result::Error) -> Self {
        PayRefusal::Db(e.to_string())
    }
}

/// The buyer pays an order: SUCCESS with a transaction id, and `TRANSACTION.SUCCESS` queued.
pub fn pay(c: &mut DbConn, order_id: &str, now: i64) -> Result<Order, PayRefusal> {
    let mut o = state::find_order_by_id(c, order_id)?.ok_or(PayRefusal::NotFound)?;
    if o.state != "NOTPAY" {
        return Err(PayRefusal::NotPayable(o.state));
    }
    let mut tid = rules::new_transaction_id(now);
    while state::find_order_by_transaction(c, &tid)?.is_some() {
        tid = rules::new_transaction_id(now);
    }
    o.state = "SUCCESS".into();
    o.transaction_id = Some(tid);
    o.success_time = Some(now);
    if o.sp_openid.is_none() && o.sub_openid.is_none() {
        o.sp_openid = Some(BUYER_SP_OPENID.into());
    }
    o.updated_at = now;
    state::save_order(c, &o)?;
    let plaintext = transaction_json(&o).to_string();
    let event = notify::Event { kind: notify::Kind::Transaction, out_trade_no: &o.out_trade_no, out_refund_no: None };
    notify::queue(c, &o.sp_mchid, &o.notify_url, &event, &plaintext, now)?;
    tracing::info!(out_trade_no = %o.out_trade_no, "sandbox wechatpay: order paid");
    Ok(o)
}

/// The refund as its answer and query show it.
pub fn refund_json(r: &Refund, o: &Order) -> Value {
    let mut v = json!({
        "refund_id": r.refund_id,
        "out_refund_no": r.out_refund_no,
        "transaction_id": o.transaction_id.clone().unwrap_or_default(),
        "out_trade_no": o.out_trade_no,
        "channel": "ORIGINAL",
        "user_received_account": "支付用户零钱",
        "create_time": rules::rfc3339(r.created_at),
        "status": r.status,
        "funds_account": "AVAILABLE",
        "amount": {"total": o.total, "refund": r.refund, "payer_total": o.total, "payer_refund": r.refund,
                   "settlement_refund": r.refund, "settlement_total": o.total, "discount_refund": 0, "currency": "CNY"},
    });
    if let Some(at) = r.success_time {
        v["success_time"] = json!(rules::rfc3339(at));
    }
    v
}

fn refund_not_found() -> WxError {
    WxError::new(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
}

fn create_refund(c: &mut DbConn, m: &state::Merchant, text: &str, step: i64, now: i64) -> Outcome {
    let b = api::json_body(text)?;
    let sub_mchid = required(&b, "sub_mchid")?;
    let out_refund_no = required(&b, "out_refund_no")?;
    rules::check_out_no("out_refund_no", out_refund_no).map_err(WxError::param)?;
    let notify_url = opt_str(&b, "notify_url");
    if let Some(u) = &notify_url {
        rules::check_notify_url(u).map_err(WxError::param)?;
    }
    let refund = rules::at(&b, "amount.refund").and_then(Value::as_i64).unwrap_or(0);
    let total = rules::at(&b, "amount.total").and_then(Value::as_i64).unwrap_or(0);
    if refund < 1 || total < 1 {
        return Err(WxError::param("amount.refund 与 amount.total 必须为大于0的整数（单位：分）"));
    }
    if opt_str(&b, "amount.currency").is_some_and(|cur| cur != "CNY") {
        return Err(WxError::param("amount.currency 只支持CNY"));
    }
    own_sub_merchant(c, &m.mchid, sub_mchid)?;
    if let Some(r) = state::find_refund(c, sub_mchid, out_refund_no)? {
        let o = state::find_order_by_id(c, &r.order_id)?.ok_or_else(order_not_found)?;
        return ok(refund_json(&r, &o));
    }
    let order = match (opt_str(&b, "transaction_id"), opt_str(&b, "out_trade_no")) {
        (Some(t), _) => state::find_order_by_transaction(c, &t)?,
        (None, Some(n)) => state::find_order(c, &m.mchid, sub_mchid, &n)?,
        (None, None) => return Err(WxError::param("transaction_id 与 out_trade_no 不能同时为空")),
    };
    let o = order.filter(|o| o.sp_mchid == m.mchid && o.sub_mchid == sub_mchid).ok_or_else(order_not_found)?;
    if !matches!(o.state.as_str(), "SUCCESS" | "REFUND") {
        return Err(WxError::invalid("订单未支付，不能退款"));
    }
    if total != o.total {
        return Err(WxError::invalid("订单金额 amount.total 与原订单金额不一致"));
    }
    let remaining = o.total - state::refunds_total(c, &o.id)?;
    if refund > remaining {
        return Err(WxError::invalid(format!("退款金额超过订单可退金额（剩余可退{remaining}分）")));
    }
    let r = Refund {
        refund_id: rules::new_refund_id(now),
        order_id: o.id.clone(),
        sp_mchid: m.mchid.clone(),
        sub_mchid: sub_mchid.into(),
        out_refund_no: out_refund_no.into(),
        reason: opt_str(&b, "reason"),
        notify_url,
        refund,
        status: "PROCESSING".into(),
        settle_at: now.saturating_add(step),
        success_time: None,
        created_at: now,
    };
    state::insert_refund(c, &r)?;
    tracing::info!(out_refund_no = %r.out_refund_no, "sandbox wechatpay: refund asked");
    ok(refund_json(&r, &o))
}

/// `POST /v3/refund/domestic/refunds`.
pub async fn refund(sb: web::Data<Sandbox>, req: HttpRequest, bytes: web::Bytes) -> HttpResponse {
    let text = api::body_text(&bytes);
    let step = applyment::step_secs(&sb);
    api::serve(&sb, &req, text.clone(), move |c, m, now| create_refund(c, m, &text, step, now)).await
}

/// `GET /v3/refund/domestic/refunds/{out_refund_no}?sub_mchid=`.
pub async fn refund_query(sb: web::Data<Sandbox>, req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let q = query_map(&req);
    let out_refund_no = path.into_inner();
    let step = applyment::step_secs(&sb);
    api::serve(&sb, &req, String::new(), move |c, m, now| {
        settle_due(c, step, now)?;
        let sub_mchid = q.get("sub_mchid").cloned().unwrap_or_default();
        if sub_mchid.is_empty() {
            return Err(WxError::param("sub_mchid 不能为空"));
        }
        let r = state::find_refund(c, &sub_mchid, &out_refund_no)?
            .filter(|r| r.sp_mchid == m.mchid)
            .ok_or_else(refund_not_found)?;
        let o = state::find_order_by_id(c, &r.order_id)?.ok_or_else(refund_not_found)?;
        ok(refund_json(&r, &o))
    })
    .await
}

/// Settles due refunds (SUCCESS; the order REFUND when fully refunded; `REFUND.SUCCESS`
/// queued when a notify_url was given). Returns how many.
pub fn settle_refunds(c: &mut DbConn, now: i64) -> diesel::QueryResult<usize> {
    let due = state::refunds_due(c, now)?;
    for mut r in due.iter().cloned() {
        let Some(mut o) = state::find_order_by_id(c, &r.order_id)? else { continue };
        r.status = "SUCCESS".into();
        r.success_time = Some(r.settle_at);
        state::save_refund(c, &r)?;
        o.refunded += r.refund;
        if o.refunded >= o.total {
            o.state = "REFUND".into();
        }
        o.updated_at = now;
        state::save_order(c, &o)?;
        if let Some(url) = &r.notify_url {
            let plaintext = json!({
                "sp_mchid": o.sp_mchid, "sub_mchid": o.sub_mchid, "out_trade_no": o.out_trade_no,
                "transaction_id": o.transaction_id, "out_refund_no": r.out_refund_no, "refund_id": r.refund_id,
                "refund_status": "SUCCESS", "success_time": rules::rfc3339(r.settle_at),
                "user_received_account": "支付用户零钱",
                "amount": {"total": o.total, "refund": r.refund, "payer_total": o.total, "payer_refund": r.refund},
            })
            .to_string();
            let event = notify::Event {
                kind: notify::Kind::Refund,
                out_trade_no: &o.out_trade_no,
                out_refund_no: Some(&r.out_refund_no),
            };
            notify::queue(c, &o.sp_mchid, url, &event, &plaintext, now)?;
        }
        tracing::info!(out_refund_no = %r.out_refund_no, "sandbox wechatpay: refund settled");
    }
    Ok(due.len())
}

/// Everything WeChat Pay does by itself that is due: sub-merchants opened, refunds settled.
pub fn settle_due(c: &mut DbConn, step: i64, now: i64) -> diesel::QueryResult<usize> {
    Ok(applyment::finish_due(c, step, now)? + settle_refunds(c, now)?)
}
