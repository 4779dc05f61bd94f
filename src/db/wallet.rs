//! The Company Wallet's rows: the platform's WeChat Pay service provider, each tenant's
//! sub-merchant applications, Alipay accounts and AppID–merchant bindings, payments and the
//! payment notifications received. Every tenant query filters on the tenant id in SQL.
//! Secret columns hold sealed text only (`crate::secrets::Sealer`).

use diesel::prelude::*;

use super::DbConn;
use super::schema::{
    alipay_accounts, payment_notifications, payments, wechatpay_applications, wechatpay_bindings, wechatpay_provider,
};

/// The one row of the platform's service provider.
pub const PROVIDER_ID: &str = "current";

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = wechatpay_provider)]
#[diesel(treat_none_as_null = true)]
pub struct Provider {
    pub id: String,
    pub sp_mchid: String,
    pub sp_appid: String,
    pub api_v3_key_sealed: String,
    pub private_key_sealed: String,
    pub cert_serial: String,
    pub cert_pem: Option<String>,
    pub cert_not_after: Option<i64>,
    pub verify_mode: String,
    pub platform_serial: String,
    pub platform_pem: String,
    pub platform_not_after: Option<i64>,
    pub checked_at: Option<i64>,
    pub check_error: Option<String>,
    pub updated_by: String,
    pub updated_at: i64,
}

pub fn provider(conn: &mut DbConn) -> QueryResult<Option<Provider>> {
    wechatpay_provider::table.find(PROVIDER_ID).select(Provider::as_select()).first(conn).optional()
}

/// Saves the provider (the one row), replacing what was there. Call inside a write
/// transaction (update, else insert).
pub fn put_provider(conn: &mut DbConn, p: &Provider) -> QueryResult<()> {
    if diesel::update(wechatpay_provider::table.find(&p.id)).set(p).execute(conn)? == 0 {
        diesel::insert_into(wechatpay_provider::table).values(p).execute(conn)?;
    }
    Ok(())
}

/// Records the outcome of a live check of the provider's keys.
pub fn provider_checked(conn: &mut DbConn, error: Option<&str>, now: i64) -> QueryResult<()> {
    diesel::update(wechatpay_provider::table.find(PROVIDER_ID))
        .set((wechatpay_provider::checked_at.eq(now), wechatpay_provider::check_error.eq(error)))
        .execute(conn)
        .map(drop)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = wechatpay_applications)]
pub struct Application {
    pub id: String,
    pub tenant_id: String,
    pub current_key: Option<String>,
    pub business_code: String,
    pub state: String,
    pub state_msg: String,
    pub applyment_id: Option<i64>,
    pub sub_mchid: Option<String>,
    pub sign_url: Option<String>,
    pub audit_detail: String,
    pub merchant_name: String,
    pub sub_appid: Option<String>,
    pub form: String,
    pub sensitive_sealed: String,
    pub last_error: Option<String>,
    pub submitted_at: Option<i64>,
    pub checked_at: Option<i64>,
    pub next_check_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub replaced_at: Option<i64>,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The tenant's current application (its merchant, or the one on its way).
pub fn current_application(conn: &mut DbConn, tenant_id: &str) -> QueryResult<Option<Application>> {
    wechatpay_applications::table
        .filter(wechatpay_applications::tenant_id.eq(tenant_id))
        .filter(wechatpay_applications::current_key.is_not_null())
        .select(Application::as_select())
        .first(conn)
        .optional()
}

/// The tenant's replaced applications, newest first.
pub fn past_applications(conn: &mut DbConn, tenant_id: &str) -> QueryResult<Vec<Application>> {
    wechatpay_applications::table
        .filter(wechatpay_applications::tenant_id.eq(tenant_id))
        .filter(wechatpay_applications::current_key.is_null())
        .order((wechatpay_applications::created_at.desc(), wechatpay_applications::id.desc()))
        .limit(20)
        .select(Application::as_select())
        .load(conn)
}

pub fn insert_application(conn: &mut DbConn, a: &Application) -> QueryResult<()> {
    diesel::insert_into(wechatpay_applications::table).values(a).execute(conn).map(drop)
}

/// What the tenant typed, as stored: the form without its sensitive fields, and those sealed.
pub struct TypedForm<'a> {
    pub merchant_name: &'a str,
    pub sub_appid: Option<&'a str>,
    pub form: &'a str,
    pub sensitive_sealed: &'a str,
}

/// Keeps what the tenant typed (a draft, or a rejected application being corrected).
pub fn save_form(conn: &mut DbConn, tenant_id: &str, id: &str, f: &TypedForm, now: i64) -> QueryResult<usize> {
    diesel::update(
        wechatpay_applications::table
            .filter(wechatpay_applications::id.eq(id))
            .filter(wechatpay_applications::tenant_id.eq(tenant_id)),
    )
    .set((
        wechatpay_applications::merchant_name.eq(f.merchant_name),
        wechatpay_applications::sub_appid.eq(f.sub_appid),
        wechatpay_applications::form.eq(f.form),
        wechatpay_applications::sensitive_sealed.eq(f.sensitive_sealed),
        wechatpay_applications::updated_at.eq(now),
    ))
    .execute(conn)
}

/// WeChat Pay's answer about an application, as stored.
#[derive(Debug, Clone)]
pub struct StateUpdate<'a> {
    pub state: &'a str,
    pub state_msg: &'a str,
    pub applyment_id: Option<i64>,
    pub sub_mchid: Option<&'a str>,
    pub sign_url: Option<&'a str>,
    pub audit_detail: &'a str,
    pub last_error: Option<&'a str>,
    pub submitted_at: Option<i64>,
    pub next_check_at: Option<i64>,
    pub finished_at: Option<i64>,
}

pub fn update_state(conn: &mut DbConn, tenant_id: &str, id: &str, u: &StateUpdate, now: i64) -> QueryResult<usize> {
    let target = wechatpay_applications::table
        .filter(wechatpay_applications::id.eq(id))
        .filter(wechatpay_applications::tenant_id.eq(tenant_id));
    diesel::update(target)
        .set((
            wechatpay_applications::state.eq(u.state),
            wechatpay_applications::state_msg.eq(u.state_msg),
            wechatpay_applications::applyment_id.eq(u.applyment_id),
            wechatpay_applications::sub_mchid.eq(u.sub_mchid),
            wechatpay_applications::sign_url.eq(u.sign_url),
            wechatpay_applications::audit_detail.eq(u.audit_detail),
            wechatpay_applications::last_error.eq(u.last_error),
            wechatpay_applications::submitted_at.eq(u.submitted_at),
            wechatpay_applications::next_check_at.eq(u.next_check_at),
            wechatpay_applications::finished_at.eq(u.finished_at),
            wechatpay_applications::checked_at.eq(now),
            wechatpay_applications::updated_at.eq(now),
        ))
        .execute(conn)
}

/// Records a failed submission or check without changing the state.
pub fn application_error(conn: &mut DbConn, tenant_id: &str, id: &str, error: &str, now: i64) -> QueryResult<usize> {
    diesel::update(
        wechatpay_applications::table
            .filter(wechatpay_applications::id.eq(id))
            .filter(wechatpay_applications::tenant_id.eq(tenant_id)),
    )
    .set((
        wechatpay_applications::last_error.eq(error),
        wechatpay_applications::checked_at.eq(now),
        wechatpay_applications::updated_at.eq(now),
    ))
    .execute(conn)
}

/// Retires the tenant's current application (it stays in the history).
pub fn replace_application(conn: &mut DbConn, tenant_id: &str, now: i64) -> QueryResult<usize> {
    diesel::update(
        wechatpay_applications::table
            .filter(wechatpay_applications::tenant_id.eq(tenant_id))
            .filter(wechatpay_applications::current_key.is_not_null()),
    )
    .set((wechatpay_applications::current_key.eq(None::<String>), wechatpay_applications::replaced_at.eq(now)))
    .execute(conn)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = alipay_accounts)]
pub struct AlipayAccount {
    pub id: String,
    pub tenant_id: String,
    pub current_key: Option<String>,
    pub app_id: String,
    pub private_key_sealed: String,
    pub alipay_public_key_sealed: String,
    pub key_hint: String,
    pub verified_at: i64,
    pub checked_at: Option<i64>,
    pub check_error: Option<String>,
    pub replaced_at: Option<i64>,
    pub created_by: String,
    pub created_at: i64,
}

pub fn current_alipay(conn: &mut DbConn, tenant_id: &str) -> QueryResult<Option<AlipayAccount>> {
    alipay_accounts::table
        .filter(alipay_accounts::tenant_id.eq(tenant_id))
        .filter(alipay_accounts::current_key.is_not_null())
        .select(AlipayAccount::as_select())
        .first(conn)
        .optional()
}

pub fn past_alipay(conn: &mut DbConn, tenant_id: &str) -> QueryResult<Vec<AlipayAccount>> {
    alipay_accounts::table
        .filter(alipay_accounts::tenant_id.eq(tenant_id))
        .filter(alipay_accounts::current_key.is_null())
        .order((alipay_accounts::created_at.desc(), alipay_accounts::id.desc()))
        .limit(20)
        .select(AlipayAccount::as_select())
        .load(conn)
}

/// Makes `a` the tenant's Alipay account; the one before stays in the history.
pub fn put_alipay(conn: &mut DbConn, a: &AlipayAccount, now: i64) -> QueryResult<()> {
    diesel::update(
        alipay_accounts::table
            .filter(alipay_accounts::tenant_id.eq(&a.tenant_id))
            .filter(alipay_accounts::current_key.is_not_null()),
    )
    .set((alipay_accounts::current_key.eq(None::<String>), alipay_accounts::replaced_at.eq(now)))
    .execute(conn)?;
    diesel::insert_into(alipay_accounts::table).values(a).execute(conn).map(drop)
}

/// Every current Alipay account with this app id (a notification names only the app).
pub fn alipay_by_app_id(conn: &mut DbConn, app_id: &str) -> QueryResult<Vec<AlipayAccount>> {
    alipay_accounts::table
        .filter(alipay_accounts::app_id.eq(app_id))
        .filter(alipay_accounts::current_key.is_not_null())
        .select(AlipayAccount::as_select())
        .load(conn)
}

pub fn alipay_checked(
    conn: &mut DbConn,
    tenant_id: &str,
    id: &str,
    error: Option<&str>,
    now: i64,
) -> QueryResult<usize> {
    diesel::update(
        alipay_accounts::table.filter(alipay_accounts::id.eq(id)).filter(alipay_accounts::tenant_id.eq(tenant_id)),
    )
    .set((alipay_accounts::checked_at.eq(now), alipay_accounts::check_error.eq(error)))
    .execute(conn)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = wechatpay_bindings)]
#[diesel(treat_none_as_null = true)]
pub struct Binding {
    pub tenant_id: String,
    pub sub_mchid: String,
    pub appid: String,
    pub state: String,
    pub method: String,
    pub detail: Option<String>,
    pub checked_at: Option<i64>,
}

pub fn binding(conn: &mut DbConn, tenant_id: &str, sub_mchid: &str, appid: &str) -> QueryResult<Option<Binding>> {
    wechatpay_bindings::table.find((tenant_id, sub_mchid, appid)).select(Binding::as_select()).first(conn).optional()
}

/// Saves a binding's state. Call inside a write transaction (update, else insert).
pub fn put_binding(conn: &mut DbConn, b: &Binding) -> QueryResult<()> {
    let target = wechatpay_bindings::table.find((&b.tenant_id, &b.sub_mchid, &b.appid));
    if diesel::update(target).set(b).execute(conn)? == 0 {
        diesel::insert_into(wechatpay_bindings::table).values(b).execute(conn)?;
    }
    Ok(())
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = payments)]
pub struct Payment {
    pub id: String,
    pub tenant_id: String,
    pub purpose: String,
    pub channel: String,
    pub out_trade_no: String,
    pub merchant: String,
    pub amount_fen: i64,
    pub description: String,
    pub state: String,
    pub code_url: Option<String>,
    pub transaction_id: Option<String>,
    pub paid_at: Option<i64>,
    pub out_refund_no: Option<String>,
    pub refunded_at: Option<i64>,
    pub error: Option<String>,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// The pay request this attempt pays (online payment); None for the self-test.
    pub request_id: Option<String>,
}

pub fn insert_payment(conn: &mut DbConn, p: &Payment) -> QueryResult<()> {
    diesel::insert_into(payments::table).values(p).execute(conn).map(drop)
}

/// The tenant's latest self-test on a channel.
pub fn latest_self_test(conn: &mut DbConn, tenant_id: &str, channel: &str) -> QueryResult<Option<Payment>> {
    payments::table
        .filter(payments::tenant_id.eq(tenant_id))
        .filter(payments::purpose.eq("self_test"))
        .filter(payments::channel.eq(channel))
        .order((payments::created_at.desc(), payments::id.desc()))
        .select(Payment::as_select())
        .first(conn)
        .optional()
}

pub fn payment(conn: &mut DbConn, tenant_id: &str, id: &str) -> QueryResult<Option<Payment>> {
    payments::table
        .filter(payments::id.eq(id))
        .filter(payments::tenant_id.eq(tenant_id))
        .select(Payment::as_select())
        .first(conn)
        .optional()
}

/// A payment by id, for the job runner (the job names the payment it was queued for).
pub fn payment_by_id(conn: &mut DbConn, id: &str) -> QueryResult<Option<Payment>> {
    payments::table.find(id).select(Payment::as_select()).first(conn).optional()
}

/// A payment by the number the console gave it (a notification names only that).
pub fn payment_by_trade_no(conn: &mut DbConn, channel: &str, out_trade_no: &str) -> QueryResult<Option<Payment>> {
    payments::table
        .filter(payments::out_trade_no.eq(out_trade_no))
        .filter(payments::channel.eq(channel))
        .select(Payment::as_select())
        .first(conn)
        .optional()
}

/// Moves a payment from one of `from` to `to`: the state is in the filter, so of two
/// deliveries of the same notification only one moves it. Returns whether it moved.
pub fn move_payment(
    conn: &mut DbConn,
    id: &str,
    from: &[&str],
    to: &str,
    set: PaymentFacts,
    now: i64,
) -> QueryResult<bool> {
    let target = payments::table.filter(payments::id.eq(id)).filter(payments::state.eq_any(from));
    let n = diesel::update(target).set((payments::state.eq(to), payments::updated_at.eq(now))).execute(conn)?;
    if n == 0 {
        return Ok(false);
    }
    if let Some(t) = set.transaction_id {
        diesel::update(payments::table.find(id)).set(payments::transaction_id.eq(t)).execute(conn)?;
    }
    if let Some(at) = set.paid_at {
        diesel::update(payments::table.find(id)).set(payments::paid_at.eq(at)).execute(conn)?;
    }
    if let Some(no) = set.out_refund_no {
        diesel::update(payments::table.find(id)).set(payments::out_refund_no.eq(no)).execute(conn)?;
    }
    if let Some(at) = set.refunded_at {
        diesel::update(payments::table.find(id)).set(payments::refunded_at.eq(at)).execute(conn)?;
    }
    if let Some(e) = set.error {
        diesel::update(payments::table.find(id)).set(payments::error.eq(e)).execute(conn)?;
    }
    Ok(true)
}

/// What a state change of a payment also records.
#[derive(Debug, Default)]
pub struct PaymentFacts {
    pub transaction_id: Option<String>,
    pub paid_at: Option<i64>,
    pub out_refund_no: Option<String>,
    pub refunded_at: Option<i64>,
    pub error: Option<String>,
}

/// A verified notification as received.
#[derive(Clone, Copy)]
pub struct Received<'a> {
    pub channel: &'a str,
    pub notify_id: &'a str,
    pub event_type: &'a str,
    pub out_trade_no: Option<&'a str>,
    pub payment_id: Option<&'a str>,
    /// The decrypted resource or the form fields (JSON).
    pub body: &'a str,
}

/// Stores a verified notification once per (channel, notify id). Returns false when it was
/// already there (a retry): the count goes up and nothing is processed again.
pub fn record_notification(conn: &mut DbConn, n: &Received, now: i64) -> QueryResult<bool> {
    let Received { channel, notify_id, event_type, out_trade_no, payment_id, body } = *n;
    use diesel::sql_types::{BigInt, Nullable, Text};
    let inserted = diesel::sql_query(
        "INSERT INTO payment_notifications (id, channel, notify_id, event_type, out_trade_no, payment_id, body, \
         received_at, times_received) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1) \
         ON CONFLICT (channel, notify_id) DO NOTHING",
    )
    .bind::<Text, _>(crate::new_id())
    .bind::<Text, _>(channel)
    .bind::<Text, _>(notify_id)
    .bind::<Text, _>(event_type)
    .bind::<Nullable<Text>, _>(out_trade_no)
    .bind::<Nullable<Text>, _>(payment_id)
    .bind::<Text, _>(body)
    .bind::<BigInt, _>(now)
    .execute(conn)?;
    if inserted == 0 {
        diesel::update(
            payment_notifications::table
                .filter(payment_notifications::channel.eq(channel))
                .filter(payment_notifications::notify_id.eq(notify_id)),
        )
        .set(payment_notifications::times_received.eq(payment_notifications::times_received + 1))
        .execute(conn)?;
    }
    Ok(inserted == 1)
}

/// How many notifications a payment received, counting retries.
pub fn notifications_of(conn: &mut DbConn, payment_id: &str) -> QueryResult<i64> {
    payment_notifications::table
        .filter(payment_notifications::payment_id.eq(payment_id))
        .select(diesel::dsl::sum(payment_notifications::times_received))
        .first::<Option<i64>>(conn)
        .map(Option::unwrap_or_default)
}
