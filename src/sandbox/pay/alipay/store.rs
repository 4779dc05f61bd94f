//! The Alipay simulator's rows (`sandbox_alipay_*`): applications, trades, refunds,
//! notifications and their delivery attempts, and the queries on them. Callers run writes
//! inside one transaction.

use diesel::prelude::*;
use serde::Serialize;

use crate::db::DbConn;
use crate::sandbox::schema::{
    sandbox_alipay_apps as apps, sandbox_alipay_attempts as attempts, sandbox_alipay_notifications as notes,
    sandbox_alipay_refunds as refunds, sandbox_alipay_trades as trades,
};

/// A delivery older than this that never recorded its result is tried again.
const STALE_SENDING_MS: i64 = 30_000;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = apps)]
pub struct App {
    pub app_id: String,
    pub name: String,
    pub app_public_key: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = trades)]
pub struct Trade {
    pub id: String,
    pub app_id: String,
    pub out_trade_no: String,
    pub trade_no: Option<String>,
    pub qr_token: String,
    pub subject: String,
    pub body: String,
    pub total_cents: i64,
    pub refunded_cents: i64,
    pub status: String,
    pub notify_url: Option<String>,
    pub buyer_id: Option<String>,
    pub buyer_logon_id: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub paid_at: Option<i64>,
    pub closed_at: Option<i64>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = refunds)]
pub struct Refund {
    pub id: String,
    pub trade_id: String,
    pub out_request_no: String,
    pub refund_cents: i64,
    pub refund_fee_cents: i64,
    pub reason: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = notes)]
pub struct Notification {
    pub id: String,
    pub trade_id: String,
    pub app_id: String,
    pub notify_url: String,
    pub notify_id: String,
    pub params: String,
    pub status: String,
    pub attempts: i32,
    pub due_ms: i64,
    pub last_attempt_ms: Option<i64>,
    pub created_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = attempts)]
pub struct Attempt {
    pub id: String,
    pub notification_id: String,
    pub at_ms: i64,
    pub http_status: Option<i32>,
    pub body: String,
    pub outcome: String,
}

// ---- applications ----

pub fn find_app(conn: &mut DbConn, app_id: &str) -> QueryResult<Option<App>> {
    apps::table.find(app_id).select(App::as_select()).first(conn).optional()
}

pub fn list_apps(conn: &mut DbConn) -> QueryResult<Vec<App>> {
    apps::table.select(App::as_select()).order((apps::created_at.asc(), apps::app_id.asc())).load(conn)
}

pub fn insert_app(conn: &mut DbConn, app: &App) -> QueryResult<usize> {
    diesel::insert_into(apps::table).values(app).execute(conn)
}

// ---- trades ----

pub fn insert_trade(conn: &mut DbConn, trade: &Trade) -> QueryResult<usize> {
    diesel::insert_into(trades::table).values(trade).execute(conn)
}

pub fn find_trade(conn: &mut DbConn, id: &str) -> QueryResult<Option<Trade>> {
    trades::table.find(id).select(Trade::as_select()).first(conn).optional()
}

pub fn find_by_out_trade_no(conn: &mut DbConn, app_id: &str, out_trade_no: &str) -> QueryResult<Option<Trade>> {
    trades::table
        .filter(trades::app_id.eq(app_id))
        .filter(trades::out_trade_no.eq(out_trade_no))
        .select(Trade::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_trade_no(conn: &mut DbConn, app_id: &str, trade_no: &str) -> QueryResult<Option<Trade>> {
    trades::table
        .filter(trades::app_id.eq(app_id))
        .filter(trades::trade_no.eq(trade_no))
        .select(Trade::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_qr_token(conn: &mut DbConn, token: &str) -> QueryResult<Option<Trade>> {
    trades::table.filter(trades::qr_token.eq(token)).select(Trade::as_select()).first(conn).optional()
}

/// The newest trades (every app).
pub fn list_trades(conn: &mut DbConn, limit: i64) -> QueryResult<Vec<Trade>> {
    trades::table
        .select(Trade::as_select())
        .order((trades::created_at.desc(), trades::id.desc()))
        .limit(limit)
        .load(conn)
}

/// Unpaid trades still payable at `now`, newest first.
pub fn list_open_trades(conn: &mut DbConn, now: i64, limit: i64) -> QueryResult<Vec<Trade>> {
    trades::table
        .filter(trades::status.eq(super::rules::WAIT_BUYER_PAY))
        .filter(trades::expires_at.gt(now))
        .select(Trade::as_select())
        .order((trades::created_at.desc(), trades::id.desc()))
        .limit(limit)
        .load(conn)
}

pub fn set_status(conn: &mut DbConn, id: &str, status: &str, closed_at: Option<i64>) -> QueryResult<usize> {
    diesel::update(trades::table.find(id))
        .set((trades::status.eq(status), trades::closed_at.eq(closed_at)))
        .execute(conn)
}

/// The buyer paid: the trade's Alipay id, its buyer and time.
pub fn set_paid(conn: &mut DbConn, id: &str, trade_no: &str, buyer: &(String, String), now: i64) -> QueryResult<usize> {
    diesel::update(trades::table.find(id).filter(trades::status.eq(super::rules::WAIT_BUYER_PAY)))
        .set((
            trades::status.eq(super::rules::TRADE_SUCCESS),
            trades::trade_no.eq(trade_no),
            trades::buyer_id.eq(&buyer.0),
            trades::buyer_logon_id.eq(&buyer.1),
            trades::paid_at.eq(now),
        ))
        .execute(conn)
}

pub fn set_notify_url(conn: &mut DbConn, id: &str, url: &str) -> QueryResult<usize> {
    diesel::update(trades::table.find(id)).set(trades::notify_url.eq(url)).execute(conn)
}

pub fn set_refunded(conn: &mut DbConn, id: &str, refunded: i64, status: &str, now: i64) -> QueryResult<usize> {
    let closed_at = (status == super::rules::TRADE_CLOSED).then_some(now);
    diesel::update(trades::table.find(id))
        .set((trades::refunded_cents.eq(refunded), trades::status.eq(status), trades::closed_at.eq(closed_at)))
        .execute(conn)
}

// ---- refunds ----

pub fn find_refund(conn: &mut DbConn, trade_id: &str, out_request_no: &str) -> QueryResult<Option<Refund>> {
    refunds::table
        .filter(refunds::trade_id.eq(trade_id))
        .filter(refunds::out_request_no.eq(out_request_no))
        .select(Refund::as_select())
        .first(conn)
        .optional()
}

pub fn insert_refund(conn: &mut DbConn, refund: &Refund) -> QueryResult<usize> {
    diesel::insert_into(refunds::table).values(refund).execute(conn)
}

// ---- notifications ----

pub fn insert_notification(conn: &mut DbConn, n: &Notification) -> QueryResult<usize> {
    diesel::insert_into(notes::table).values(n).execute(conn)
}

pub fn find_notification(conn: &mut DbConn, id: &str) -> QueryResult<Option<Notification>> {
    notes::table.find(id).select(Notification::as_select()).first(conn).optional()
}

pub fn list_notifications(conn: &mut DbConn, limit: i64) -> QueryResult<Vec<Notification>> {
    notes::table
        .select(Notification::as_select())
        .order((notes::created_at.desc(), notes::id.desc()))
        .limit(limit)
        .load(conn)
}

/// The attempts of these notifications, oldest first.
pub fn attempts_of(conn: &mut DbConn, ids: &[String]) -> QueryResult<Vec<Attempt>> {
    attempts::table
        .filter(attempts::notification_id.eq_any(ids))
        .select(Attempt::as_select())
        .order((attempts::at_ms.asc(), attempts::id.asc()))
        .load(conn)
}

/// Claims one notification for an attempt: the given one (when pending), or the oldest due;
/// a delivery that never recorded its result is claimed again after a while. The claim counts
/// the attempt.
pub fn claim_notification(conn: &mut DbConn, id: Option<&str>, now_ms: i64) -> QueryResult<Option<Notification>> {
    let stale = notes::status.eq("sending").and(notes::last_attempt_ms.lt(now_ms - STALE_SENDING_MS));
    let mut q = notes::table.select(Notification::as_select()).into_boxed();
    q = match id {
        Some(id) => q.filter(notes::id.eq(id.to_string())).filter(notes::status.eq("pending").or(stale)),
        None => q.filter(notes::status.eq("pending").and(notes::due_ms.le(now_ms)).or(stale)),
    };
    let Some(n) = q.order((notes::due_ms.asc(), notes::id.asc())).first(conn).optional()? else {
        return Ok(None);
    };
    let claimed = diesel::update(
        notes::table.find(&n.id).filter(notes::status.eq(&n.status)).filter(notes::attempts.eq(n.attempts)),
    )
    .set((notes::status.eq("sending"), notes::attempts.eq(n.attempts + 1), notes::last_attempt_ms.eq(now_ms)))
    .execute(conn)?;
    Ok((claimed == 1).then(|| Notification {
        attempts: n.attempts + 1,
        status: "sending".into(),
        last_attempt_ms: Some(now_ms),
        ..n
    }))
}

/// Records an attempt and the notification's state after it.
pub fn record_attempt(conn: &mut DbConn, attempt: &Attempt, status: &str, due_ms: i64) -> QueryResult<usize> {
    diesel::insert_into(attempts::table).values(attempt).execute(conn)?;
    diesel::update(notes::table.find(&attempt.notification_id))
        .set((notes::status.eq(status), notes::due_ms.eq(due_ms)))
        .execute(conn)
}

/// Queues a notification to be sent again now, whatever became of it (not while it is being
/// sent). Whether it was found in a state that allows it.
pub fn queue_again(conn: &mut DbConn, id: &str, now_ms: i64) -> QueryResult<bool> {
    let n = diesel::update(notes::table.find(id).filter(notes::status.ne("sending")))
        .set((notes::status.eq("pending"), notes::due_ms.eq(now_ms)))
        .execute(conn)?;
    Ok(n == 1)
}

/// When the next pending notification is due (milliseconds).
pub fn next_due_ms(conn: &mut DbConn) -> QueryResult<Option<i64>> {
    notes::table.filter(notes::status.eq("pending")).select(diesel::dsl::min(notes::due_ms)).first(conn)
}
