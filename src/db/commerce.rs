//! Online payment's rows: payment settings, buyers and their deposit ledger, sales orders,
//! pay requests, payment collections, refunds and transaction records. Every tenant query
//! filters on the tenant id in SQL; the money moves are guarded UPDATEs whose filter holds
//! the state they leave, so two deliveries of one fact move money once.

use diesel::prelude::*;

use super::DbConn;
use super::schema::{
    buyers, deposit_ledger, pay_requests, payment_collections, payment_settings, payments, refunds, sales_order_lines,
    sales_orders, transaction_records,
};

// ---------------------------------------------------------------- settings

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = payment_settings)]
#[diesel(treat_none_as_null = true)]
pub struct Settings {
    pub tenant_id: String,
    pub online_enabled: bool,
    pub order_payment: bool,
    pub collection_payment: bool,
    pub deposit_topup: bool,
    pub button_statuses: String,
    pub button_min_fen: Option<i64>,
    pub button_max_fen: Option<i64>,
    pub button_group: Option<String>,
    pub updated_by: String,
    pub updated_at: i64,
}

impl Settings {
    /// What a tenant that never saved its settings has: everything off, the button for
    /// unpaid orders.
    pub fn off(tenant_id: &str) -> Self {
        Self {
            tenant_id: tenant_id.to_string(),
            online_enabled: false,
            order_payment: false,
            collection_payment: false,
            deposit_topup: false,
            button_statuses: "unpaid".into(),
            button_min_fen: None,
            button_max_fen: None,
            button_group: None,
            updated_by: String::new(),
            updated_at: 0,
        }
    }
}

pub fn settings(conn: &mut DbConn, tenant_id: &str) -> QueryResult<Settings> {
    Ok(payment_settings::table
        .find(tenant_id)
        .select(Settings::as_select())
        .first(conn)
        .optional()?
        .unwrap_or_else(|| Settings::off(tenant_id)))
}

pub fn put_settings(conn: &mut DbConn, s: &Settings) -> QueryResult<()> {
    if diesel::update(payment_settings::table.find(&s.tenant_id)).set(s).execute(conn)? == 0 {
        diesel::insert_into(payment_settings::table).values(s).execute(conn)?;
    }
    Ok(())
}

// ---------------------------------------------------------------- buyers

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = buyers)]
pub struct Buyer {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub customer_group: String,
    pub openid: Option<String>,
    pub deposit_fen: i64,
    pub created_at: i64,
}

pub fn insert_buyer(conn: &mut DbConn, b: &Buyer) -> QueryResult<()> {
    diesel::insert_into(buyers::table).values(b).execute(conn).map(drop)
}

pub fn buyers_of(conn: &mut DbConn, tenant_id: &str) -> QueryResult<Vec<Buyer>> {
    buyers::table
        .filter(buyers::tenant_id.eq(tenant_id))
        .order(buyers::name.asc())
        .select(Buyer::as_select())
        .load(conn)
}

pub fn buyer(conn: &mut DbConn, tenant_id: &str, id: &str) -> QueryResult<Option<Buyer>> {
    buyers::table
        .filter(buyers::id.eq(id))
        .filter(buyers::tenant_id.eq(tenant_id))
        .select(Buyer::as_select())
        .first(conn)
        .optional()
}

pub fn buyer_name_taken(conn: &mut DbConn, tenant_id: &str, name: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        buyers::table.filter(buyers::tenant_id.eq(tenant_id)).filter(buyers::name.eq(name)),
    ))
    .get_result(conn)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = deposit_ledger)]
pub struct LedgerEntry {
    pub id: String,
    pub tenant_id: String,
    pub buyer_id: String,
    pub delta_fen: i64,
    pub balance_fen: i64,
    pub collection_id: String,
    pub refund_id: Option<String>,
    pub at: i64,
}

pub fn ledger_of(conn: &mut DbConn, tenant_id: &str, buyer_id: &str) -> QueryResult<Vec<LedgerEntry>> {
    deposit_ledger::table
        .filter(deposit_ledger::tenant_id.eq(tenant_id))
        .filter(deposit_ledger::buyer_id.eq(buyer_id))
        .order((deposit_ledger::at.desc(), deposit_ledger::id.desc()))
        .select(LedgerEntry::as_select())
        .load(conn)
}

/// Moves a buyer's deposit by `delta` (never below zero) and writes the ledger row.
/// Returns false, moving nothing, when the balance would go negative.
pub fn move_deposit(
    conn: &mut DbConn,
    tenant_id: &str,
    buyer_id: &str,
    delta: i64,
    collection_id: &str,
    refund_id: Option<&str>,
    now: i64,
) -> QueryResult<bool> {
    let target = buyers::table
        .filter(buyers::id.eq(buyer_id))
        .filter(buyers::tenant_id.eq(tenant_id))
        .filter(buyers::deposit_fen.ge(-delta));
    let n = diesel::update(target).set(buyers::deposit_fen.eq(buyers::deposit_fen + delta)).execute(conn)?;
    if n == 0 {
        return Ok(false);
    }
    let balance: i64 = buyers::table.find(buyer_id).select(buyers::deposit_fen).first(conn)?;
    let entry = LedgerEntry {
        id: crate::new_id(),
        tenant_id: tenant_id.to_string(),
        buyer_id: buyer_id.to_string(),
        delta_fen: delta,
        balance_fen: balance,
        collection_id: collection_id.to_string(),
        refund_id: refund_id.map(str::to_string),
        at: now,
    };
    diesel::insert_into(deposit_ledger::table).values(&entry).execute(conn)?;
    Ok(true)
}

// ---------------------------------------------------------------- sales orders

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sales_orders)]
pub struct Order {
    pub id: String,
    pub tenant_id: String,
    pub number: String,
    pub buyer_id: String,
    pub payment_method: String,
    pub amount_fen: i64,
    pub paid_fen: i64,
    pub refunded_fen: i64,
    pub status: String,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sales_order_lines)]
pub struct OrderLine {
    pub id: String,
    pub order_id: String,
    pub position: i32,
    pub product: String,
    pub quantity: i64,
    pub unit_fen: i64,
}

/// The next order number of a tenant: SO-00001, SO-00002, … (call inside the write
/// transaction that inserts it).
pub fn next_order_number(conn: &mut DbConn, tenant_id: &str) -> QueryResult<String> {
    let n: i64 = sales_orders::table.filter(sales_orders::tenant_id.eq(tenant_id)).count().get_result(conn)?;
    Ok(format!("SO-{:05}", n + 1))
}

pub fn insert_order(conn: &mut DbConn, o: &Order, lines: &[OrderLine]) -> QueryResult<()> {
    diesel::insert_into(sales_orders::table).values(o).execute(conn)?;
    for line in lines {
        diesel::insert_into(sales_order_lines::table).values(line).execute(conn)?;
    }
    Ok(())
}

/// A list page's filters (empty strings: no filter).
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub status: String,
    pub channel: String,
    pub purpose: String,
    pub min_fen: Option<i64>,
    pub max_fen: Option<i64>,
    pub since: Option<i64>,
    pub until: Option<i64>,
}

/// An order with its buyer's name and group, for lists.
pub type OrderRow = (Order, String, String);

pub fn orders(
    conn: &mut DbConn,
    tenant_id: &str,
    f: &ListFilter,
    limit: i64,
    offset: i64,
) -> QueryResult<Vec<OrderRow>> {
    let mut q =
        sales_orders::table.inner_join(buyers::table).filter(sales_orders::tenant_id.eq(tenant_id)).into_boxed();
    if !f.status.is_empty() {
        q = q.filter(sales_orders::status.eq(f.status.clone()));
    }
    if let Some(m) = f.min_fen {
        q = q.filter(sales_orders::amount_fen.ge(m));
    }
    if let Some(m) = f.max_fen {
        q = q.filter(sales_orders::amount_fen.le(m));
    }
    if let Some(t) = f.since {
        q = q.filter(sales_orders::created_at.ge(t));
    }
    if let Some(t) = f.until {
        q = q.filter(sales_orders::created_at.lt(t));
    }
    q.order((sales_orders::created_at.desc(), sales_orders::id.desc()))
        .limit(limit)
        .offset(offset)
        .select((Order::as_select(), buyers::name, buyers::customer_group))
        .load(conn)
}

pub fn order(conn: &mut DbConn, tenant_id: &str, id: &str) -> QueryResult<Option<OrderRow>> {
    sales_orders::table
        .inner_join(buyers::table)
        .filter(sales_orders::id.eq(id))
        .filter(sales_orders::tenant_id.eq(tenant_id))
        .select((Order::as_select(), buyers::name, buyers::customer_group))
        .first(conn)
        .optional()
}

pub fn lines_of(conn: &mut DbConn, order_id: &str) -> QueryResult<Vec<OrderLine>> {
    sales_order_lines::table
        .filter(sales_order_lines::order_id.eq(order_id))
        .order(sales_order_lines::position.asc())
        .select(OrderLine::as_select())
        .load(conn)
}

/// Marks an order paid by `fen` once (only while unpaid).
pub fn order_paid(conn: &mut DbConn, order_id: &str, fen: i64, now: i64) -> QueryResult<bool> {
    let target = sales_orders::table.filter(sales_orders::id.eq(order_id)).filter(sales_orders::status.eq("unpaid"));
    diesel::update(target)
        .set((
            sales_orders::status.eq("paid"),
            sales_orders::paid_fen.eq(sales_orders::paid_fen + fen),
            sales_orders::updated_at.eq(now),
        ))
        .execute(conn)
        .map(|n| n == 1)
}

/// Adds money to an order that was already paid (a second payment of the same order: the
/// money arrived and is collected; the order shows more paid than its amount).
pub fn order_paid_again(conn: &mut DbConn, order_id: &str, fen: i64, now: i64) -> QueryResult<()> {
    diesel::update(sales_orders::table.find(order_id))
        .set((sales_orders::paid_fen.eq(sales_orders::paid_fen + fen), sales_orders::updated_at.eq(now)))
        .execute(conn)
        .map(drop)
}

/// Records a settled refund on its order; the order is refunded once everything paid is.
pub fn order_refunded(conn: &mut DbConn, order_id: &str, fen: i64, now: i64) -> QueryResult<()> {
    diesel::update(sales_orders::table.find(order_id))
        .set((sales_orders::refunded_fen.eq(sales_orders::refunded_fen + fen), sales_orders::updated_at.eq(now)))
        .execute(conn)?;
    diesel::update(
        sales_orders::table
            .filter(sales_orders::id.eq(order_id))
            .filter(sales_orders::refunded_fen.ge(sales_orders::paid_fen))
            .filter(sales_orders::paid_fen.gt(0)),
    )
    .set(sales_orders::status.eq("refunded"))
    .execute(conn)
    .map(drop)
}

pub fn cancel_order(conn: &mut DbConn, tenant_id: &str, id: &str, now: i64) -> QueryResult<bool> {
    let target = sales_orders::table
        .filter(sales_orders::id.eq(id))
        .filter(sales_orders::tenant_id.eq(tenant_id))
        .filter(sales_orders::status.eq("unpaid"));
    diesel::update(target)
        .set((sales_orders::status.eq("cancelled"), sales_orders::updated_at.eq(now)))
        .execute(conn)
        .map(|n| n == 1)
}

// ---------------------------------------------------------------- pay requests

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = pay_requests)]
pub struct PayRequest {
    pub id: String,
    pub tenant_id: String,
    pub purpose: String,
    pub order_id: Option<String>,
    pub buyer_id: String,
    pub amount_fen: i64,
    pub description: String,
    pub state: String,
    pub expires_at: i64,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
}

pub fn insert_request(conn: &mut DbConn, r: &PayRequest) -> QueryResult<()> {
    diesel::insert_into(pay_requests::table).values(r).execute(conn).map(drop)
}

/// A request by id alone: the buyer's signed link names it (the signature is the proof).
pub fn request_by_id(conn: &mut DbConn, id: &str) -> QueryResult<Option<PayRequest>> {
    pay_requests::table.find(id).select(PayRequest::as_select()).first(conn).optional()
}

pub fn request(conn: &mut DbConn, tenant_id: &str, id: &str) -> QueryResult<Option<PayRequest>> {
    pay_requests::table
        .filter(pay_requests::id.eq(id))
        .filter(pay_requests::tenant_id.eq(tenant_id))
        .select(PayRequest::as_select())
        .first(conn)
        .optional()
}

/// The open request of an order, if one is open and not expired.
pub fn open_request_of_order(
    conn: &mut DbConn,
    tenant_id: &str,
    order_id: &str,
    now: i64,
) -> QueryResult<Option<PayRequest>> {
    pay_requests::table
        .filter(pay_requests::tenant_id.eq(tenant_id))
        .filter(pay_requests::order_id.eq(order_id))
        .filter(pay_requests::state.eq("open"))
        .filter(pay_requests::expires_at.gt(now))
        .order(pay_requests::created_at.desc())
        .select(PayRequest::as_select())
        .first(conn)
        .optional()
}

/// Requests that are not for an order (collections and top-ups asked for), newest first.
pub fn open_requests(conn: &mut DbConn, tenant_id: &str, limit: i64) -> QueryResult<Vec<(PayRequest, String)>> {
    pay_requests::table
        .inner_join(buyers::table.on(buyers::id.eq(pay_requests::buyer_id)))
        .filter(pay_requests::tenant_id.eq(tenant_id))
        .filter(pay_requests::order_id.is_null())
        .filter(pay_requests::state.eq("open"))
        .order((pay_requests::created_at.desc(), pay_requests::id.desc()))
        .limit(limit)
        .select((PayRequest::as_select(), buyers::name))
        .load(conn)
}

pub fn request_paid(conn: &mut DbConn, id: &str, now: i64) -> QueryResult<bool> {
    diesel::update(pay_requests::table.filter(pay_requests::id.eq(id)).filter(pay_requests::state.eq("open")))
        .set((pay_requests::state.eq("paid"), pay_requests::updated_at.eq(now)))
        .execute(conn)
        .map(|n| n == 1)
}

pub fn cancel_requests_of_order(conn: &mut DbConn, order_id: &str, now: i64) -> QueryResult<usize> {
    diesel::update(
        pay_requests::table.filter(pay_requests::order_id.eq(order_id)).filter(pay_requests::state.eq("open")),
    )
    .set((pay_requests::state.eq("cancelled"), pay_requests::updated_at.eq(now)))
    .execute(conn)
}

/// The payment attempts of a request, newest first.
pub fn attempts_of(conn: &mut DbConn, request_id: &str) -> QueryResult<Vec<super::wallet::Payment>> {
    payments::table
        .filter(payments::request_id.eq(request_id))
        .order((payments::created_at.desc(), payments::id.desc()))
        .select(super::wallet::Payment::as_select())
        .load(conn)
}

/// The attempts of an order's requests still waiting for the buyer (to close on cancel).
pub fn open_attempts_of_order(
    conn: &mut DbConn,
    tenant_id: &str,
    order_id: &str,
) -> QueryResult<Vec<super::wallet::Payment>> {
    payments::table
        .inner_join(pay_requests::table.on(pay_requests::id.nullable().eq(payments::request_id)))
        .filter(payments::tenant_id.eq(tenant_id))
        .filter(pay_requests::order_id.eq(order_id))
        .filter(payments::state.eq("created"))
        .select(super::wallet::Payment::as_select())
        .load(conn)
}

// ---------------------------------------------------------------- collections

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = payment_collections)]
pub struct Collection {
    pub id: String,
    pub tenant_id: String,
    pub request_id: String,
    pub payment_id: String,
    pub buyer_id: String,
    pub order_id: Option<String>,
    pub purpose: String,
    pub channel: String,
    pub amount_fen: i64,
    pub refunded_fen: i64,
    pub transaction_id: Option<String>,
    pub source: String,
    pub collected_at: i64,
}

/// Inserts a collection once per payment: false when the payment already has one.
pub fn insert_collection(conn: &mut DbConn, c: &Collection) -> QueryResult<bool> {
    let exists: bool = diesel::select(diesel::dsl::exists(
        payment_collections::table.filter(payment_collections::payment_id.eq(&c.payment_id)),
    ))
    .get_result(conn)?;
    if exists {
        return Ok(false);
    }
    diesel::insert_into(payment_collections::table).values(c).execute(conn).map(|n| n == 1)
}

pub type CollectionRow = (Collection, String, Option<String>);

pub fn collections(
    conn: &mut DbConn,
    tenant_id: &str,
    f: &ListFilter,
    limit: i64,
    offset: i64,
) -> QueryResult<Vec<CollectionRow>> {
    let mut q = payment_collections::table
        .inner_join(buyers::table)
        .left_join(sales_orders::table.on(sales_orders::id.nullable().eq(payment_collections::order_id)))
        .filter(payment_collections::tenant_id.eq(tenant_id))
        .into_boxed();
    if !f.channel.is_empty() {
        q = q.filter(payment_collections::channel.eq(f.channel.clone()));
    }
    if !f.purpose.is_empty() {
        q = q.filter(payment_collections::purpose.eq(f.purpose.clone()));
    }
    match f.status.as_str() {
        "refunded" => q = q.filter(payment_collections::refunded_fen.gt(0)),
        "collected" => q = q.filter(payment_collections::refunded_fen.eq(0)),
        _ => {}
    }
    if let Some(m) = f.min_fen {
        q = q.filter(payment_collections::amount_fen.ge(m));
    }
    if let Some(m) = f.max_fen {
        q = q.filter(payment_collections::amount_fen.le(m));
    }
    if let Some(t) = f.since {
        q = q.filter(payment_collections::collected_at.ge(t));
    }
    if let Some(t) = f.until {
        q = q.filter(payment_collections::collected_at.lt(t));
    }
    q.order((payment_collections::collected_at.desc(), payment_collections::id.desc()))
        .limit(limit)
        .offset(offset)
        .select((Collection::as_select(), buyers::name, sales_orders::number.nullable()))
        .load(conn)
}

pub fn collection(conn: &mut DbConn, tenant_id: &str, id: &str) -> QueryResult<Option<CollectionRow>> {
    payment_collections::table
        .inner_join(buyers::table)
        .left_join(sales_orders::table.on(sales_orders::id.nullable().eq(payment_collections::order_id)))
        .filter(payment_collections::id.eq(id))
        .filter(payment_collections::tenant_id.eq(tenant_id))
        .select((Collection::as_select(), buyers::name, sales_orders::number.nullable()))
        .first(conn)
        .optional()
}

pub fn collections_of_order(conn: &mut DbConn, tenant_id: &str, order_id: &str) -> QueryResult<Vec<Collection>> {
    payment_collections::table
        .filter(payment_collections::tenant_id.eq(tenant_id))
        .filter(payment_collections::order_id.eq(order_id))
        .order(payment_collections::collected_at.asc())
        .select(Collection::as_select())
        .load(conn)
}

pub fn collection_of_payment(conn: &mut DbConn, payment_id: &str) -> QueryResult<Option<Collection>> {
    payment_collections::table
        .filter(payment_collections::payment_id.eq(payment_id))
        .select(Collection::as_select())
        .first(conn)
        .optional()
}

pub fn collection_refunded(conn: &mut DbConn, id: &str, fen: i64) -> QueryResult<()> {
    diesel::update(payment_collections::table.find(id))
        .set(payment_collections::refunded_fen.eq(payment_collections::refunded_fen + fen))
        .execute(conn)
        .map(drop)
}

// ---------------------------------------------------------------- refunds and records

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = refunds)]
pub struct Refund {
    pub id: String,
    pub tenant_id: String,
    pub collection_id: String,
    pub out_refund_no: String,
    pub amount_fen: i64,
    pub reason: String,
    pub state: String,
    pub refund_id: Option<String>,
    pub error: Option<String>,
    pub created_by: String,
    pub created_at: i64,
    pub settled_at: Option<i64>,
}

pub fn insert_refund(conn: &mut DbConn, r: &Refund) -> QueryResult<()> {
    diesel::insert_into(refunds::table).values(r).execute(conn).map(drop)
}

pub fn refunds_of(conn: &mut DbConn, collection_id: &str) -> QueryResult<Vec<Refund>> {
    refunds::table
        .filter(refunds::collection_id.eq(collection_id))
        .order((refunds::created_at.asc(), refunds::id.asc()))
        .select(Refund::as_select())
        .load(conn)
}

/// What is refunded or being refunded of a collection (failed refunds do not count).
pub fn refunds_pending_or_done(conn: &mut DbConn, collection_id: &str) -> QueryResult<i64> {
    refunds::table
        .filter(refunds::collection_id.eq(collection_id))
        .filter(refunds::state.ne("failed"))
        .select(refunds::amount_fen)
        .load::<i64>(conn)
        .map(|amounts| amounts.into_iter().sum())
}

pub fn refund_by_no(conn: &mut DbConn, out_refund_no: &str) -> QueryResult<Option<Refund>> {
    refunds::table.filter(refunds::out_refund_no.eq(out_refund_no)).select(Refund::as_select()).first(conn).optional()
}

/// Settles a refund once (only while processing): `succeeded` or `failed`.
pub fn settle_refund(
    conn: &mut DbConn,
    id: &str,
    to: &str,
    refund_id: Option<&str>,
    error: Option<&str>,
    now: i64,
) -> QueryResult<bool> {
    let target = refunds::table.filter(refunds::id.eq(id)).filter(refunds::state.eq("processing"));
    diesel::update(target)
        .set((
            refunds::state.eq(to),
            refunds::refund_id.eq(refund_id),
            refunds::error.eq(error),
            refunds::settled_at.eq(now),
        ))
        .execute(conn)
        .map(|n| n == 1)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = transaction_records)]
pub struct TransactionRecord {
    pub id: String,
    pub tenant_id: String,
    pub collection_id: String,
    pub kind: String,
    pub channel: String,
    pub amount_fen: i64,
    pub reference: String,
    pub at: i64,
}

pub fn insert_record(conn: &mut DbConn, r: &TransactionRecord) -> QueryResult<()> {
    diesel::insert_into(transaction_records::table).values(r).execute(conn).map(drop)
}

pub fn records_of(conn: &mut DbConn, tenant_id: &str, collection_id: &str) -> QueryResult<Vec<TransactionRecord>> {
    transaction_records::table
        .filter(transaction_records::tenant_id.eq(tenant_id))
        .filter(transaction_records::collection_id.eq(collection_id))
        .order((transaction_records::at.asc(), transaction_records::id.asc()))
        .select(TransactionRecord::as_select())
        .load(conn)
}

/// How many collections a payment produced (the exactly-once tests read it).
pub fn collections_of_payment_count(conn: &mut DbConn, payment_id: &str) -> QueryResult<i64> {
    payment_collections::table.filter(payment_collections::payment_id.eq(payment_id)).count().get_result(conn)
}

/// Every collection of a tenant, counted (tests and the benchmark).
pub fn collection_count(conn: &mut DbConn, tenant_id: &str) -> QueryResult<i64> {
    payment_collections::table.filter(payment_collections::tenant_id.eq(tenant_id)).count().get_result(conn)
}
