//! The trade methods of gateway.do (reference §8.5, notes §4.3) and the buyer's payment.
//! Each runs inside one write transaction for one known application and returns the
//! success node (`code` 10000) or the [`Refusal`] Alipay writes.

use serde_json::{Map, Value, json};

use super::rules::{self, Refusal, TRADE_CLOSED, TRADE_SUCCESS, WAIT_BUYER_PAY};
use super::store::{self, App, Trade};
use super::{notify, qr_code};
use crate::db::DbConn;
use crate::pay::alipay::timestamp;

/// Why a method did not succeed.
#[derive(Debug)]
pub enum Failure {
    Refused(Refusal),
    Db(diesel::result::Error),
}

impl From<diesel::result::Error> for Failure {
    fn from(e: diesel::result::Error) -> Self {
        Self::Db(e)
    }
}

impl From<Refusal> for Failure {
    fn from(r: Refusal) -> Self {
        Self::Refused(r)
    }
}

/// One call: the application (its signature checked), the parsed `biz_content`, the common
/// `notify_url`, and the gateway's clock.
pub struct Call<'a> {
    pub app: &'a App,
    pub biz: &'a Map<String, Value>,
    pub notify_url: Option<&'a str>,
    pub now: i64,
}

impl Call<'_> {
    /// A business field as text (a JSON number is taken as written); empty counts as absent.
    fn text(&self, key: &str) -> Option<String> {
        match self.biz.get(key)? {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    fn required(&self, key: &str) -> Result<String, Refusal> {
        self.text(key).ok_or_else(|| Refusal::missing(key))
    }
}

pub type Method = fn(&mut DbConn, &Call<'_>) -> Result<Value, Failure>;

/// The methods the gateway knows.
pub fn method(name: &str) -> Option<Method> {
    Some(match name {
        "alipay.trade.precreate" => precreate,
        "alipay.trade.query" => query,
        "alipay.trade.close" => close,
        "alipay.trade.refund" => refund,
        "alipay.trade.fastpay.refund.query" => refund_query,
        _ => return None,
    })
}

fn success() -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("code".into(), "10000".into());
    m.insert("msg".into(), "Success".into());
    m
}

fn new_qr_token() -> String {
    use rand::RngExt as _;
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    let tail: String = (0..21).map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())])).collect();
    format!("bax0{tail}")
}

/// A trade as of `now`: an unpaid trade past its time is closed (and recorded so).
pub fn settle(conn: &mut DbConn, mut trade: Trade, now: i64) -> diesel::QueryResult<Trade> {
    let effective = rules::effective_status(&trade.status, trade.expires_at, now);
    if effective != trade.status {
        store::set_status(conn, &trade.id, effective, Some(trade.expires_at))?;
        trade.status = effective.to_string();
        trade.closed_at = Some(trade.expires_at);
    }
    Ok(trade)
}

/// The app's trade named by `trade_no` (preferred) or `out_trade_no`.
fn find(conn: &mut DbConn, call: &Call<'_>) -> Result<Trade, Failure> {
    let app_id = &call.app.app_id;
    let found = match (call.text("trade_no"), call.text("out_trade_no")) {
        (Some(no), _) => store::find_by_trade_no(conn, app_id, &no)?,
        (None, Some(out)) => store::find_by_out_trade_no(conn, app_id, &out)?,
        (None, None) => return Err(Refusal::missing("out_trade_no").into()),
    };
    let trade = found.ok_or_else(Refusal::not_exist)?;
    Ok(settle(conn, trade, call.now)?)
}

/// `alipay.trade.precreate`: a QR code the buyer scans.
fn precreate(conn: &mut DbConn, call: &Call<'_>) -> Result<Value, Failure> {
    let out_trade_no = call.required("out_trade_no")?;
    if !rules::valid_out_no(&out_trade_no) {
        return Err(Refusal::bad("out_trade_no").into());
    }
    let cents = rules::trade_amount(&call.required("total_amount")?).ok_or_else(|| Refusal::bad("total_amount"))?;
    let subject = call.required("subject")?;
    if !rules::valid_subject(&subject) {
        return Err(Refusal::bad("subject").into());
    }
    let body = call.text("body").unwrap_or_default();
    if body.chars().count() > 128 {
        return Err(Refusal::bad("body").into());
    }
    let timeout = match call.text("qr_code_timeout_express").or_else(|| call.text("timeout_express")) {
        Some(t) => rules::timeout_secs(&t, call.now).ok_or_else(|| Refusal::bad("timeout_express"))?,
        None => rules::DEFAULT_TIMEOUT_SECS,
    };
    let token = match store::find_by_out_trade_no(conn, &call.app.app_id, &out_trade_no)? {
        Some(existing) => {
            let existing = settle(conn, existing, call.now)?;
            rules::precreate_again(&existing.status, existing.total_cents, cents)?;
            if let Some(url) = call.notify_url {
                store::set_notify_url(conn, &existing.id, url)?;
            }
            existing.qr_token
        }
        None => {
            let trade = Trade {
                id: crate::new_id(),
                app_id: call.app.app_id.clone(),
                out_trade_no: out_trade_no.clone(),
                trade_no: None,
                qr_token: new_qr_token(),
                subject,
                body,
                total_cents: cents,
                refunded_cents: 0,
                status: WAIT_BUYER_PAY.into(),
                notify_url: call.notify_url.map(str::to_string),
                buyer_id: None,
                buyer_logon_id: None,
                created_at: call.now,
                expires_at: call.now + timeout,
                paid_at: None,
                closed_at: None,
            };
            store::insert_trade(conn, &trade)?;
            tracing::info!(app_id = %trade.app_id, out_trade_no = %trade.out_trade_no, "sandbox alipay: trade precreated");
            trade.qr_token
        }
    };
    let mut node = success();
    node.insert("out_trade_no".into(), out_trade_no.into());
    node.insert("qr_code".into(), qr_code(&token).into());
    Ok(Value::Object(node))
}

/// The fields of a paid trade that query and refund repeat.
fn paid_fields(node: &mut Map<String, Value>, trade: &Trade) {
    if let Some(no) = &trade.trade_no {
        node.insert("trade_no".into(), no.clone().into());
    }
    if let Some(logon) = &trade.buyer_logon_id {
        node.insert("buyer_logon_id".into(), logon.clone().into());
    }
    if let Some(id) = &trade.buyer_id {
        node.insert("buyer_user_id".into(), id.clone().into());
    }
}

/// `alipay.trade.query`.
fn query(conn: &mut DbConn, call: &Call<'_>) -> Result<Value, Failure> {
    let trade = find(conn, call)?;
    let mut node = success();
    node.insert("out_trade_no".into(), trade.out_trade_no.clone().into());
    node.insert("trade_status".into(), trade.status.clone().into());
    node.insert("total_amount".into(), rules::yuan(trade.total_cents).into());
    paid_fields(&mut node, &trade);
    if let Some(paid_at) = trade.paid_at {
        let paid = rules::yuan(trade.total_cents);
        node.insert("buyer_pay_amount".into(), paid.clone().into());
        node.insert("receipt_amount".into(), paid.clone().into());
        node.insert("invoice_amount".into(), paid.into());
        node.insert("point_amount".into(), "0.00".into());
        node.insert("send_pay_date".into(), timestamp(paid_at).into());
    }
    Ok(Value::Object(node))
}

/// `alipay.trade.close`: an unpaid trade is closed.
fn close(conn: &mut DbConn, call: &Call<'_>) -> Result<Value, Failure> {
    let trade = find(conn, call)?;
    rules::close(&trade.status)?;
    store::set_status(conn, &trade.id, TRADE_CLOSED, Some(call.now))?;
    tracing::info!(app_id = %trade.app_id, out_trade_no = %trade.out_trade_no, "sandbox alipay: trade closed");
    let mut node = success();
    node.insert("out_trade_no".into(), trade.out_trade_no.into());
    if let Some(no) = trade.trade_no {
        node.insert("trade_no".into(), no.into());
    }
    Ok(Value::Object(node))
}

/// `alipay.trade.refund`: synchronous; `out_request_no` (default: the `out_trade_no`) makes it
/// idempotent; refunding everything closes the trade.
fn refund(conn: &mut DbConn, call: &Call<'_>) -> Result<Value, Failure> {
    let amount = rules::parse_amount(&call.required("refund_amount")?)
        .filter(|c| *c > 0)
        .ok_or_else(|| Refusal::bad("refund_amount"))?;
    let reason = call.text("refund_reason").unwrap_or_default();
    if reason.chars().count() > 256 {
        return Err(Refusal::bad("refund_reason").into());
    }
    if call.text("out_request_no").is_some_and(|r| !rules::valid_out_no(&r)) {
        return Err(Refusal::bad("out_request_no").into());
    }
    let trade = find(conn, call)?;
    let request_no = call.text("out_request_no").unwrap_or_else(|| trade.out_trade_no.clone());
    let (fee, at, fund_change) = match store::find_refund(conn, &trade.id, &request_no)? {
        Some(done) => (done.refund_fee_cents, done.created_at, "N"),
        None => {
            let (after, status) = rules::refund(&trade.status, trade.total_cents, trade.refunded_cents, amount)?;
            store::insert_refund(
                conn,
                &store::Refund {
                    id: crate::new_id(),
                    trade_id: trade.id.clone(),
                    out_request_no: request_no.clone(),
                    refund_cents: amount,
                    refund_fee_cents: after,
                    reason,
                    created_at: call.now,
                },
            )?;
            store::set_refunded(conn, &trade.id, after, status, call.now)?;
            tracing::info!(app_id = %trade.app_id, out_trade_no = %trade.out_trade_no, refund = %rules::yuan(amount), "sandbox alipay: refunded");
            (after, call.now, "Y")
        }
    };
    let mut node = success();
    node.insert("out_trade_no".into(), trade.out_trade_no.clone().into());
    paid_fields(&mut node, &trade);
    node.insert("fund_change".into(), fund_change.into());
    node.insert("refund_fee".into(), rules::yuan(fee).into());
    node.insert("gmt_refund_pay".into(), timestamp(at).into());
    Ok(Value::Object(node))
}

/// `alipay.trade.fastpay.refund.query`: a refund that is not found is answered 10000
/// without `refund_status` (Alipay's way of saying "no such refund").
fn refund_query(conn: &mut DbConn, call: &Call<'_>) -> Result<Value, Failure> {
    let request_no = call.required("out_request_no")?;
    let trade = find(conn, call)?;
    let mut node = success();
    node.insert("out_trade_no".into(), trade.out_trade_no.clone().into());
    if let Some(no) = &trade.trade_no {
        node.insert("trade_no".into(), no.clone().into());
    }
    if let Some(r) = store::find_refund(conn, &trade.id, &request_no)? {
        node.insert("out_request_no".into(), r.out_request_no.into());
        node.insert("total_amount".into(), rules::yuan(trade.total_cents).into());
        node.insert("refund_amount".into(), rules::yuan(r.refund_cents).into());
        node.insert("refund_status".into(), "REFUND_SUCCESS".into());
        node.insert("gmt_refund_pay".into(), timestamp(r.created_at).into());
    }
    Ok(Value::Object(node))
}

/// Why the buyer could not pay.
#[derive(Debug)]
pub enum PayError {
    NotFound,
    /// Paid, closed or past its time.
    NotPayable(String),
    Db(diesel::result::Error),
}

impl From<diesel::result::Error> for PayError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Db(e)
    }
}

/// The buyer pays: TRADE_SUCCESS with a `trade_no` and a buyer, and, when the precreate
/// gave a `notify_url`, a `trade_status_sync` notification queued (its id is returned).
pub fn pay(conn: &mut DbConn, trade_id: &str, now: i64) -> Result<(Trade, Option<String>), PayError> {
    let trade = store::find_trade(conn, trade_id)?.ok_or(PayError::NotFound)?;
    let trade = settle(conn, trade, now)?;
    if !rules::payable(&trade.status) {
        return Err(PayError::NotPayable(trade.status));
    }
    let trade_no = rules::new_trade_no(now);
    let buyer = rules::new_buyer();
    if store::set_paid(conn, &trade.id, &trade_no, &buyer, now)? != 1 {
        return Err(PayError::NotPayable(trade.status));
    }
    let trade = store::find_trade(conn, trade_id)?.ok_or(PayError::NotFound)?;
    debug_assert_eq!(trade.status, TRADE_SUCCESS);
    tracing::info!(app_id = %trade.app_id, out_trade_no = %trade.out_trade_no, "sandbox alipay: the buyer paid");
    let queued = match &trade.notify_url {
        Some(url) => Some(notify::queue(conn, &trade, url, now)?),
        None => None,
    };
    Ok((trade, queued))
}

/// A trade as the dev endpoints show it.
pub fn trade_json(t: &Trade) -> Value {
    json!({
        "app_id": t.app_id,
        "out_trade_no": t.out_trade_no,
        "trade_no": t.trade_no,
        "trade_status": t.status,
        "total_amount": rules::yuan(t.total_cents),
        "refund_fee": rules::yuan(t.refunded_cents),
        "subject": t.subject,
        "qr_code": qr_code(&t.qr_token),
        "notify_url": t.notify_url,
        "buyer_id": t.buyer_id,
        "buyer_logon_id": t.buyer_logon_id,
        "gmt_create": timestamp(t.created_at),
        "gmt_payment": t.paid_at.map(timestamp),
        "expires_at": t.expires_at,
    })
}
