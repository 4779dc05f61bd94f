//! The queries of the sandbox WeChat Pay's tables (`sandbox_wxpay_*`). Functions take
//! `&mut DbConn`; callers wrap state changes in one write transaction.

use diesel::prelude::*;
use serde::Serialize;

use crate::db::DbConn;
use crate::sandbox::schema::*;

// ---- service providers ----

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sandbox_wxpay_merchants)]
pub struct Merchant {
    pub mchid: String,
    pub appid: String,
    pub api_v3_key: String,
    pub cert_pem: String,
    pub cert_serial: String,
    pub verify_mode: String,
    pub created_at: i64,
}

pub fn find_merchant(c: &mut DbConn, mchid: &str) -> QueryResult<Option<Merchant>> {
    sandbox_wxpay_merchants::table.find(mchid).select(Merchant::as_select()).first(c).optional()
}

pub fn list_merchants(c: &mut DbConn) -> QueryResult<Vec<Merchant>> {
    sandbox_wxpay_merchants::table.select(Merchant::as_select()).order(sandbox_wxpay_merchants::created_at).load(c)
}

/// Registers a service provider, or replaces the one with the same mchid.
pub fn put_merchant(c: &mut DbConn, m: &Merchant) -> QueryResult<()> {
    diesel::delete(sandbox_wxpay_merchants::table.find(&m.mchid)).execute(c)?;
    diesel::insert_into(sandbox_wxpay_merchants::table).values(m).execute(c).map(drop)
}

pub fn set_verify_mode(c: &mut DbConn, mchid: &str, mode: &str) -> QueryResult<usize> {
    diesel::update(sandbox_wxpay_merchants::table.find(mchid))
        .set(sandbox_wxpay_merchants::verify_mode.eq(mode))
        .execute(c)
}

// ---- media ----

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sandbox_wxpay_media)]
pub struct Media {
    pub media_id: String,
    pub mchid: String,
    pub filename: String,
    pub sha256: String,
    pub size: i64,
    pub created_at: i64,
}

pub fn insert_media(c: &mut DbConn, m: &Media) -> QueryResult<()> {
    diesel::insert_into(sandbox_wxpay_media::table).values(m).execute(c).map(drop)
}

pub fn media_exists(c: &mut DbConn, mchid: &str, media_id: &str) -> QueryResult<bool> {
    use sandbox_wxpay_media::dsl as m;
    diesel::select(diesel::dsl::exists(
        m::sandbox_wxpay_media.filter(m::media_id.eq(media_id)).filter(m::mchid.eq(mchid)),
    ))
    .get_result(c)
}

// ---- applications ----

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset, Serialize)]
#[diesel(table_name = sandbox_wxpay_applyments, treat_none_as_null = true)]
pub struct Applyment {
    pub applyment_id: i64,
    pub sp_mchid: String,
    pub business_code: String,
    pub state: String,
    pub subject_type: String,
    pub merchant_name: String,
    pub merchant_shortname: String,
    #[serde(skip)]
    pub contact_name: String,
    #[serde(skip)]
    pub mobile_phone: String,
    #[serde(skip)]
    pub contact_email: String,
    #[serde(skip)]
    pub id_card_name: String,
    #[serde(skip)]
    pub id_card_number: String,
    #[serde(skip)]
    pub account_name: String,
    #[serde(skip)]
    pub account_number: String,
    pub mini_program_sub_appid: Option<String>,
    #[serde(skip)]
    pub body: String,
    pub audit_detail: String,
    pub sub_mchid: Option<String>,
    pub signed_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

pub fn find_applyment(c: &mut DbConn, id: i64) -> QueryResult<Option<Applyment>> {
    sandbox_wxpay_applyments::table.find(id).select(Applyment::as_select()).first(c).optional()
}

pub fn find_applyment_by_code(c: &mut DbConn, sp_mchid: &str, code: &str) -> QueryResult<Option<Applyment>> {
    use sandbox_wxpay_applyments::dsl as a;
    a::sandbox_wxpay_applyments
        .filter(a::sp_mchid.eq(sp_mchid))
        .filter(a::business_code.eq(code))
        .select(Applyment::as_select())
        .first(c)
        .optional()
}

pub fn list_applyments(c: &mut DbConn, limit: i64) -> QueryResult<Vec<Applyment>> {
    use sandbox_wxpay_applyments::dsl as a;
    a::sandbox_wxpay_applyments.select(Applyment::as_select()).order(a::updated_at.desc()).limit(limit).load(c)
}

/// Applications in SIGNING signed at or before `before`.
pub fn signing_due(c: &mut DbConn, before: i64) -> QueryResult<Vec<Applyment>> {
    use sandbox_wxpay_applyments::dsl as a;
    a::sandbox_wxpay_applyments
        .filter(a::state.eq("APPLYMENT_STATE_SIGNING"))
        .filter(a::signed_at.le(before))
        .select(Applyment::as_select())
        .load(c)
}

/// The earliest `signed_at` of an application still signing.
pub fn earliest_signing(c: &mut DbConn) -> QueryResult<Option<i64>> {
    use sandbox_wxpay_applyments::dsl as a;
    a::sandbox_wxpay_applyments
        .filter(a::state.eq("APPLYMENT_STATE_SIGNING"))
        .select(diesel::dsl::min(a::signed_at))
        .first::<Option<i64>>(c)
}

pub fn next_applyment_id(c: &mut DbConn) -> QueryResult<i64> {
    use sandbox_wxpay_applyments::dsl as a;
    let max: Option<i64> = a::sandbox_wxpay_applyments.select(diesel::dsl::max(a::applyment_id)).first(c)?;
    Ok(max.map_or(2_000_002_000_000_001, |m| m + 1))
}

pub fn insert_applyment(c: &mut DbConn, a: &Applyment) -> QueryResult<()> {
    diesel::insert_into(sandbox_wxpay_applyments::table).values(a).execute(c).map(drop)
}

pub fn save_applyment(c: &mut DbConn, a: &Applyment) -> QueryResult<()> {
    diesel::update(sandbox_wxpay_applyments::table.find(a.applyment_id)).set(a).execute(c).map(drop)
}

// ---- sub-merchants and their AppIDs ----

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = sandbox_wxpay_sub_merchants)]
pub struct SubMerchant {
    pub sub_mchid: String,
    pub sp_mchid: String,
    pub name: String,
    pub applyment_id: Option<i64>,
    pub created_at: i64,
}

pub fn find_sub_merchant(c: &mut DbConn, sub_mchid: &str) -> QueryResult<Option<SubMerchant>> {
    sandbox_wxpay_sub_merchants::table.find(sub_mchid).select(SubMerchant::as_select()).first(c).optional()
}

pub fn list_sub_merchants(c: &mut DbConn) -> QueryResult<Vec<SubMerchant>> {
    use sandbox_wxpay_sub_merchants::dsl as s;
    s::sandbox_wxpay_sub_merchants.select(SubMerchant::as_select()).order(s::created_at.desc()).load(c)
}

pub fn insert_sub_merchant(c: &mut DbConn, s: &SubMerchant) -> QueryResult<()> {
    diesel::insert_into(sandbox_wxpay_sub_merchants::table).values(s).execute(c).map(drop)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset, Serialize)]
#[diesel(table_name = sandbox_wxpay_bindings)]
pub struct Binding {
    pub sub_mchid: String,
    pub appid: String,
    pub state: String,
    pub method: String,
    pub note: String,
    pub updated_at: i64,
}

pub fn list_bindings(c: &mut DbConn, sub_mchid: Option<&str>) -> QueryResult<Vec<Binding>> {
    use sandbox_wxpay_bindings::dsl as b;
    let mut q = b::sandbox_wxpay_bindings.select(Binding::as_select()).order((b::sub_mchid, b::appid)).into_boxed();
    if let Some(s) = sub_mchid {
        q = q.filter(b::sub_mchid.eq(s.to_string()));
    }
    q.load(c)
}

pub fn find_binding(c: &mut DbConn, sub_mchid: &str, appid: &str) -> QueryResult<Option<Binding>> {
    sandbox_wxpay_bindings::table.find((sub_mchid, appid)).select(Binding::as_select()).first(c).optional()
}

pub fn put_binding(c: &mut DbConn, b: &Binding) -> QueryResult<()> {
    diesel::delete(sandbox_wxpay_bindings::table.find((&b.sub_mchid, &b.appid))).execute(c)?;
    diesel::insert_into(sandbox_wxpay_bindings::table).values(b).execute(c).map(drop)
}

pub fn delete_binding(c: &mut DbConn, sub_mchid: &str, appid: &str) -> QueryResult<usize> {
    diesel::delete(sandbox_wxpay_bindings::table.find((sub_mchid, appid))).execute(c)
}

// ---- orders ----

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = sandbox_wxpay_orders, treat_none_as_null = true)]
pub struct Order {
    pub id: String,
    pub sp_mchid: String,
    pub sp_appid: String,
    pub sub_mchid: String,
    pub sub_appid: Option<String>,
    pub out_trade_no: String,
    pub trade_type: String,
    pub description: String,
    pub total: i64,
    pub currency: String,
    pub notify_url: String,
    pub attach: Option<String>,
    pub sp_openid: Option<String>,
    pub sub_openid: Option<String>,
    pub fingerprint: String,
    pub prepay: String,
    pub state: String,
    pub transaction_id: Option<String>,
    pub success_time: Option<i64>,
    pub refunded: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

pub fn find_order(c: &mut DbConn, sp_mchid: &str, sub_mchid: &str, out_trade_no: &str) -> QueryResult<Option<Order>> {
    use sandbox_wxpay_orders::dsl as o;
    o::sandbox_wxpay_orders
        .filter(o::sp_mchid.eq(sp_mchid))
        .filter(o::sub_mchid.eq(sub_mchid))
        .filter(o::out_trade_no.eq(out_trade_no))
        .select(Order::as_select())
        .first(c)
        .optional()
}

pub fn find_order_by_transaction(c: &mut DbConn, transaction_id: &str) -> QueryResult<Option<Order>> {
    use sandbox_wxpay_orders::dsl as o;
    o::sandbox_wxpay_orders.filter(o::transaction_id.eq(transaction_id)).select(Order::as_select()).first(c).optional()
}

pub fn find_order_by_prepay(c: &mut DbConn, prepay: &str) -> QueryResult<Option<Order>> {
    use sandbox_wxpay_orders::dsl as o;
    o::sandbox_wxpay_orders.filter(o::prepay.eq(prepay)).select(Order::as_select()).first(c).optional()
}

pub fn find_order_by_id(c: &mut DbConn, id: &str) -> QueryResult<Option<Order>> {
    sandbox_wxpay_orders::table.find(id).select(Order::as_select()).first(c).optional()
}

/// The newest orders; only open NATIVE ones when `open_native`.
pub fn list_orders(c: &mut DbConn, open_native: bool, limit: i64) -> QueryResult<Vec<Order>> {
    use sandbox_wxpay_orders::dsl as o;
    let mut q =
        o::sandbox_wxpay_orders.select(Order::as_select()).order(o::created_at.desc()).limit(limit).into_boxed();
    if open_native {
        q = q.filter(o::state.eq("NOTPAY")).filter(o::trade_type.eq("NATIVE"));
    }
    q.load(c)
}

pub fn insert_order(c: &mut DbConn, o: &Order) -> QueryResult<()> {
    diesel::insert_into(sandbox_wxpay_orders::table).values(o).execute(c).map(drop)
}

pub fn save_order(c: &mut DbConn, o: &Order) -> QueryResult<()> {
    diesel::update(sandbox_wxpay_orders::table.find(&o.id)).set(o).execute(c).map(drop)
}

// ---- refunds ----

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = sandbox_wxpay_refunds, treat_none_as_null = true)]
pub struct Refund {
    pub refund_id: String,
    pub order_id: String,
    pub sp_mchid: String,
    pub sub_mchid: String,
    pub out_refund_no: String,
    pub reason: Option<String>,
    pub notify_url: Option<String>,
    pub refund: i64,
    pub status: String,
    pub settle_at: i64,
    pub success_time: Option<i64>,
    pub created_at: i64,
}

pub fn find_refund(c: &mut DbConn, sub_mchid: &str, out_refund_no: &str) -> QueryResult<Option<Refund>> {
    use sandbox_wxpay_refunds::dsl as r;
    r::sandbox_wxpay_refunds
        .filter(r::sub_mchid.eq(sub_mchid))
        .filter(r::out_refund_no.eq(out_refund_no))
        .select(Refund::as_select())
        .first(c)
        .optional()
}

/// The sum of an order's refunds (processing or done).
pub fn refunds_total(c: &mut DbConn, order_id: &str) -> QueryResult<i64> {
    use sandbox_wxpay_refunds::dsl as r;
    let rows: Vec<i64> = r::sandbox_wxpay_refunds.filter(r::order_id.eq(order_id)).select(r::refund).load(c)?;
    Ok(rows.into_iter().sum())
}

pub fn insert_refund(c: &mut DbConn, r: &Refund) -> QueryResult<()> {
    diesel::insert_into(sandbox_wxpay_refunds::table).values(r).execute(c).map(drop)
}

pub fn save_refund(c: &mut DbConn, r: &Refund) -> QueryResult<()> {
    diesel::update(sandbox_wxpay_refunds::table.find(&r.refund_id)).set(r).execute(c).map(drop)
}

pub fn refunds_due(c: &mut DbConn, now: i64) -> QueryResult<Vec<Refund>> {
    use sandbox_wxpay_refunds::dsl as r;
    r::sandbox_wxpay_refunds
        .filter(r::status.eq("PROCESSING"))
        .filter(r::settle_at.le(now))
        .select(Refund::as_select())
        .order(r::created_at)
        .load(c)
}

pub fn earliest_refund_due(c: &mut DbConn) -> QueryResult<Option<i64>> {
    use sandbox_wxpay_refunds::dsl as r;
    r::sandbox_wxpay_refunds.filter(r::status.eq("PROCESSING")).select(diesel::dsl::min(r::settle_at)).first(c)
}

// ---- notifications ----

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = sandbox_wxpay_notifications)]
pub struct Notification {
    pub id: String,
    pub sp_mchid: String,
    pub url: String,
    pub event_type: String,
    pub out_trade_no: String,
    pub out_refund_no: Option<String>,
    #[serde(skip)]
    pub body: String,
    pub attempts: i32,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub delivered: bool,
    pub next_attempt_ms: Option<i64>,
    #[serde(skip)]
    pub claimed_until_ms: Option<i64>,
    pub created_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = sandbox_wxpay_attempts)]
pub struct Attempt {
    #[serde(skip)]
    pub id: String,
    #[serde(skip)]
    pub notification_id: String,
    pub at_ms: i64,
    pub http_status: Option<i32>,
    pub error: Option<String>,
    pub delivered: bool,
}

pub fn insert_notification(c: &mut DbConn, n: &Notification) -> QueryResult<()> {
    diesel::insert_into(sandbox_wxpay_notifications::table).values(n).execute(c).map(drop)
}

pub fn find_notification(c: &mut DbConn, id: &str) -> QueryResult<Option<Notification>> {
    sandbox_wxpay_notifications::table.find(id).select(Notification::as_select()).first(c).optional()
}

pub fn list_notifications(c: &mut DbConn, limit: i64) -> QueryResult<Vec<Notification>> {
    use sandbox_wxpay_notifications::dsl as n;
    n::sandbox_wxpay_notifications.select(Notification::as_select()).order(n::created_at.desc()).limit(limit).load(c)
}

pub fn attempts_of(c: &mut DbConn, notification_id: &str) -> QueryResult<Vec<Attempt>> {
    use sandbox_wxpay_attempts::dsl as a;
    a::sandbox_wxpay_attempts
        .filter(a::notification_id.eq(notification_id))
        .select(Attempt::as_select())
        .order(a::at_ms)
        .load(c)
}

/// Claims the oldest notification due at `now_ms` (not held by another sender) until
/// `until_ms`; `None` when nothing is due.
pub fn claim_due(c: &mut DbConn, now_ms: i64, until_ms: i64) -> QueryResult<Option<Notification>> {
    use sandbox_wxpay_notifications::dsl as n;
    let due: Option<Notification> = n::sandbox_wxpay_notifications
        .filter(n::next_attempt_ms.le(now_ms))
        .filter(n::claimed_until_ms.is_null().or(n::claimed_until_ms.lt(now_ms)))
        .order(n::next_attempt_ms)
        .select(Notification::as_select())
        .first(c)
        .optional()?;
    let Some(mut due) = due else { return Ok(None) };
    let taken = diesel::update(
        n::sandbox_wxpay_notifications
            .filter(n::id.eq(&due.id))
            .filter(n::claimed_until_ms.is_null().or(n::claimed_until_ms.lt(now_ms))),
    )
    .set(n::claimed_until_ms.eq(until_ms))
    .execute(c)?;
    due.claimed_until_ms = Some(until_ms);
    Ok((taken == 1).then_some(due))
}

/// Records an attempt and what comes next (`next_attempt_ms` `None`: done or given up).
/// `claimed_until_ms` is the claim the attempt was made under: when a resend cleared it
/// while the attempt was on the wire, the resend's due time stays, so the notification
/// is sent again as asked.
pub fn record_attempt(
    c: &mut DbConn,
    a: &Attempt,
    next_attempt_ms: Option<i64>,
    claimed_until_ms: i64,
) -> QueryResult<()> {
    use sandbox_wxpay_notifications::dsl as n;
    diesel::insert_into(sandbox_wxpay_attempts::table).values(a).execute(c)?;
    diesel::update(n::sandbox_wxpay_notifications.find(&a.notification_id))
        .set((n::attempts.eq(n::attempts + 1), n::last_status.eq(a.http_status), n::last_error.eq(&a.error)))
        .execute(c)?;
    diesel::update(
        n::sandbox_wxpay_notifications.find(&a.notification_id).filter(n::claimed_until_ms.eq(Some(claimed_until_ms))),
    )
    .set((n::next_attempt_ms.eq(next_attempt_ms), n::claimed_until_ms.eq(None::<i64>)))
    .execute(c)?;
    if a.delivered {
        diesel::update(n::sandbox_wxpay_notifications.find(&a.notification_id))
            .set(n::delivered.eq(true))
            .execute(c)?;
    }
    Ok(())
}

/// Makes a notification due now again (resend); false when unknown.
/// Loses the notifications of an order not yet delivered (a test of reconciliation: the
/// merchant must find the payment by asking).
pub fn lose_notifications(c: &mut DbConn, sp_mchid: &str, out_trade_no: &str) -> QueryResult<usize> {
    use sandbox_wxpay_notifications::dsl as n;
    diesel::delete(
        n::sandbox_wxpay_notifications
            .filter(n::sp_mchid.eq(sp_mchid))
            .filter(n::out_trade_no.eq(out_trade_no))
            .filter(n::delivered.eq(false)),
    )
    .execute(c)
}

pub fn resend(c: &mut DbConn, id: &str, now_ms: i64) -> QueryResult<bool> {
    use sandbox_wxpay_notifications::dsl as n;
    let changed = diesel::update(n::sandbox_wxpay_notifications.find(id))
        .set((n::next_attempt_ms.eq(now_ms), n::claimed_until_ms.eq(None::<i64>)))
        .execute(c)?;
    Ok(changed == 1)
}

pub fn earliest_notification_due(c: &mut DbConn) -> QueryResult<Option<i64>> {
    use sandbox_wxpay_notifications::dsl as n;
    n::sandbox_wxpay_notifications.select(diesel::dsl::min(n::next_attempt_ms)).first(c)
}
