//! Every query of the sandbox. Functions take `&mut DbConn`; callers wrap state changes
//! in [`crate::db::write_tx`].

use diesel::prelude::*;
use rand::RngExt as _;
use rand::distr::Alphanumeric;
use serde::Serialize;

use super::schema::*;
use crate::db::DbConn;

/// Lifetime of a `component_verify_ticket` (reference §1.2).
pub const TICKET_TTL_SECS: i64 = 12 * 3600;
/// Lifetime of a `pre_auth_code` (the newer doc text: 1800 s).
pub const PRE_AUTH_CODE_TTL_SECS: i64 = 1800;
/// Lifetime of an `auth_code` (the documented redirect: 600 s).
pub const AUTH_CODE_TTL_SECS: i64 = 600;

/// A random string in the shape WeChat uses: a fixed prefix and alphanumerics.
pub fn random_token(prefix: &str, len: usize) -> String {
    let mut rng = rand::rng();
    let mut s = String::with_capacity(prefix.len() + len);
    s.push_str(prefix);
    s.extend((0..len).map(|_| char::from(rng.sample(Alphanumeric))));
    s
}

pub fn parse_func_ids(json: &str) -> Vec<i64> {
    serde_json::from_str(json).unwrap_or_default()
}

pub fn func_ids_json(ids: &[i64]) -> String {
    serde_json::to_string(ids).unwrap_or_else(|_| "[]".into())
}

// ---- accounts ----

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = sandbox_accounts)]
pub struct Account {
    pub appid: String,
    pub kind: String,
    pub nick_name: String,
    pub head_img: String,
    pub user_name: String,
    pub principal_name: String,
    pub verified: bool,
    pub alias: String,
    pub signature: String,
    pub qrcode_url: String,
    pub service_type: i32,
    pub account_status: i32,
    /// `MiniProgramInfo.network`; its six server-domain lists are what `modify_domain` sets.
    pub network: String,
    pub business_info: String,
    pub position: i32,
    pub updated_at: i64,
}

impl Account {
    pub fn is_mini_program(&self) -> bool {
        self.kind == "mp"
    }
}

pub fn list_accounts(conn: &mut DbConn) -> QueryResult<Vec<Account>> {
    sandbox_accounts::table
        .select(Account::as_select())
        .order((sandbox_accounts::position.asc(), sandbox_accounts::appid.asc()))
        .load(conn)
}

pub fn find_account(conn: &mut DbConn, appid: &str) -> QueryResult<Option<Account>> {
    sandbox_accounts::table.find(appid).select(Account::as_select()).first(conn).optional()
}

/// Editable fields of an account; `None` leaves a field as it is.
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct AccountEdit {
    pub nick_name: Option<String>,
    pub head_img: Option<String>,
    pub verified: Option<bool>,
    pub principal_name: Option<String>,
    pub signature: Option<String>,
    pub account_status: Option<i32>,
}

#[derive(AsChangeset)]
#[diesel(table_name = sandbox_accounts)]
struct AccountChanges<'a> {
    nick_name: Option<&'a str>,
    head_img: Option<&'a str>,
    verified: Option<bool>,
    principal_name: Option<&'a str>,
    signature: Option<&'a str>,
    account_status: Option<i32>,
    updated_at: i64,
}

pub fn update_account(conn: &mut DbConn, appid: &str, edit: &AccountEdit, now: i64) -> QueryResult<usize> {
    let changes = AccountChanges {
        nick_name: edit.nick_name.as_deref(),
        head_img: edit.head_img.as_deref(),
        verified: edit.verified,
        principal_name: edit.principal_name.as_deref(),
        signature: edit.signature.as_deref(),
        account_status: edit.account_status,
        updated_at: now,
    };
    diesel::update(sandbox_accounts::table.find(appid)).set(&changes).execute(conn)
}

// ---- tickets ----

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = sandbox_tickets)]
pub struct Ticket {
    #[serde(skip)]
    pub id: String,
    pub ticket: String,
    pub created_at: i64,
}

pub fn insert_ticket(conn: &mut DbConn, now: i64) -> QueryResult<Ticket> {
    let ticket = Ticket { id: crate::new_id(), ticket: random_token("ticket@@@", 86), created_at: now };
    diesel::insert_into(sandbox_tickets::table)
        .values((
            sandbox_tickets::id.eq(&ticket.id),
            sandbox_tickets::ticket.eq(&ticket.ticket),
            sandbox_tickets::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(ticket)
}

pub fn last_ticket(conn: &mut DbConn) -> QueryResult<Option<Ticket>> {
    sandbox_tickets::table
        .select(Ticket::as_select())
        .order((sandbox_tickets::created_at.desc(), sandbox_tickets::id.desc()))
        .first(conn)
        .optional()
}

pub fn find_ticket(conn: &mut DbConn, ticket: &str) -> QueryResult<Option<Ticket>> {
    sandbox_tickets::table.filter(sandbox_tickets::ticket.eq(ticket)).select(Ticket::as_select()).first(conn).optional()
}

/// Moves every ticket back past its 12-hour lifetime (tests provoke 61005 with it).
pub fn age_all_tickets(conn: &mut DbConn) -> QueryResult<usize> {
    diesel::update(sandbox_tickets::table)
        .set(sandbox_tickets::created_at.eq(sandbox_tickets::created_at - (TICKET_TTL_SECS + 1)))
        .execute(conn)
}

// ---- tokens ----

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sandbox_tokens)]
pub struct Token {
    pub token: String,
    pub kind: String,
    pub appid: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked: bool,
}

pub const COMPONENT: &str = "component";
pub const AUTHORIZER: &str = "authorizer";

pub fn issue_token(conn: &mut DbConn, kind: &str, appid: &str, now: i64, ttl: i64) -> QueryResult<String> {
    let token = random_token(if kind == COMPONENT { "cat_" } else { "aat_" }, 96);
    diesel::insert_into(sandbox_tokens::table)
        .values((
            sandbox_tokens::token.eq(&token),
            sandbox_tokens::kind.eq(kind),
            sandbox_tokens::appid.eq(appid),
            sandbox_tokens::created_at.eq(now),
            sandbox_tokens::expires_at.eq(now.saturating_add(ttl)),
            sandbox_tokens::revoked.eq(false),
        ))
        .execute(conn)?;
    Ok(token)
}

pub fn find_token(conn: &mut DbConn, token: &str) -> QueryResult<Option<Token>> {
    sandbox_tokens::table.find(token).select(Token::as_select()).first(conn).optional()
}

pub fn expire_all_tokens(conn: &mut DbConn, now: i64) -> QueryResult<usize> {
    diesel::update(sandbox_tokens::table.filter(sandbox_tokens::expires_at.gt(now - 1)))
        .set(sandbox_tokens::expires_at.eq(now - 1))
        .execute(conn)
}

pub fn revoke_authorizer_tokens(conn: &mut DbConn, appid: &str) -> QueryResult<usize> {
    diesel::update(
        sandbox_tokens::table.filter(sandbox_tokens::kind.eq(AUTHORIZER)).filter(sandbox_tokens::appid.eq(appid)),
    )
    .set(sandbox_tokens::revoked.eq(true))
    .execute(conn)
}

// ---- pre-auth codes and auth codes ----

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sandbox_pre_auth_codes)]
pub struct PreAuthCode {
    pub code: String,
    pub component_appid: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

pub fn insert_pre_auth_code(conn: &mut DbConn, component_appid: &str, now: i64) -> QueryResult<String> {
    let code = random_token("preauthcode@@@", 64);
    diesel::insert_into(sandbox_pre_auth_codes::table)
        .values((
            sandbox_pre_auth_codes::code.eq(&code),
            sandbox_pre_auth_codes::component_appid.eq(component_appid),
            sandbox_pre_auth_codes::created_at.eq(now),
            sandbox_pre_auth_codes::expires_at.eq(now + PRE_AUTH_CODE_TTL_SECS),
        ))
        .execute(conn)?;
    Ok(code)
}

pub fn find_pre_auth_code(conn: &mut DbConn, code: &str) -> QueryResult<Option<PreAuthCode>> {
    sandbox_pre_auth_codes::table.find(code).select(PreAuthCode::as_select()).first(conn).optional()
}

/// Marks the code used if it is still unused and unexpired; true when this call won.
pub fn claim_pre_auth_code(conn: &mut DbConn, code: &str, now: i64) -> QueryResult<bool> {
    let n = diesel::update(
        sandbox_pre_auth_codes::table
            .find(code)
            .filter(sandbox_pre_auth_codes::used_at.is_null())
            .filter(sandbox_pre_auth_codes::expires_at.gt(now)),
    )
    .set(sandbox_pre_auth_codes::used_at.eq(now))
    .execute(conn)?;
    Ok(n == 1)
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sandbox_auth_codes)]
pub struct AuthCode {
    pub code: String,
    pub authorizer_appid: String,
    pub func_ids: String,
    pub pre_auth_code: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

pub fn insert_auth_code(
    conn: &mut DbConn,
    appid: &str,
    func_ids: &[i64],
    pre_auth_code: &str,
    now: i64,
) -> QueryResult<AuthCode> {
    let code = AuthCode {
        code: random_token("queryauthcode@@@", 64),
        authorizer_appid: appid.to_string(),
        func_ids: func_ids_json(func_ids),
        pre_auth_code: pre_auth_code.to_string(),
        created_at: now,
        expires_at: now + AUTH_CODE_TTL_SECS,
        used_at: None,
    };
    diesel::insert_into(sandbox_auth_codes::table)
        .values((
            sandbox_auth_codes::code.eq(&code.code),
            sandbox_auth_codes::authorizer_appid.eq(&code.authorizer_appid),
            sandbox_auth_codes::func_ids.eq(&code.func_ids),
            sandbox_auth_codes::pre_auth_code.eq(&code.pre_auth_code),
            sandbox_auth_codes::created_at.eq(now),
            sandbox_auth_codes::expires_at.eq(code.expires_at),
        ))
        .execute(conn)?;
    Ok(code)
}

pub fn find_auth_code(conn: &mut DbConn, code: &str) -> QueryResult<Option<AuthCode>> {
    sandbox_auth_codes::table.find(code).select(AuthCode::as_select()).first(conn).optional()
}

pub fn claim_auth_code(conn: &mut DbConn, code: &str, now: i64) -> QueryResult<bool> {
    let n = diesel::update(
        sandbox_auth_codes::table
            .find(code)
            .filter(sandbox_auth_codes::used_at.is_null())
            .filter(sandbox_auth_codes::expires_at.gt(now)),
    )
    .set(sandbox_auth_codes::used_at.eq(now))
    .execute(conn)?;
    Ok(n == 1)
}

/// Makes every unused pre-auth code and auth code expired (tests provoke 61010 with it).
pub fn expire_all_codes(conn: &mut DbConn, now: i64) -> QueryResult<usize> {
    let a = diesel::update(sandbox_pre_auth_codes::table.filter(sandbox_pre_auth_codes::expires_at.gt(now - 1)))
        .set(sandbox_pre_auth_codes::expires_at.eq(now - 1))
        .execute(conn)?;
    let b = diesel::update(sandbox_auth_codes::table.filter(sandbox_auth_codes::expires_at.gt(now - 1)))
        .set(sandbox_auth_codes::expires_at.eq(now - 1))
        .execute(conn)?;
    Ok(a + b)
}

// ---- authorizations ----

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = sandbox_authorizations)]
pub struct Authorization {
    pub authorizer_appid: String,
    pub active: bool,
    pub func_ids: String,
    pub refresh_token: String,
    pub auth_time: i64,
    pub updated_at: i64,
}

impl Authorization {
    pub fn func_ids(&self) -> Vec<i64> {
        parse_func_ids(&self.func_ids)
    }
}

pub fn find_authorization(conn: &mut DbConn, appid: &str) -> QueryResult<Option<Authorization>> {
    sandbox_authorizations::table.find(appid).select(Authorization::as_select()).first(conn).optional()
}

pub fn list_authorizations(conn: &mut DbConn) -> QueryResult<Vec<Authorization>> {
    sandbox_authorizations::table.select(Authorization::as_select()).load(conn)
}

pub fn list_active_authorizations(conn: &mut DbConn, offset: i64, count: i64) -> QueryResult<Vec<Authorization>> {
    sandbox_authorizations::table
        .filter(sandbox_authorizations::active.eq(true))
        .select(Authorization::as_select())
        .order((sandbox_authorizations::auth_time.asc(), sandbox_authorizations::authorizer_appid.asc()))
        .offset(offset)
        .limit(count)
        .load(conn)
}

pub fn count_active_authorizations(conn: &mut DbConn) -> QueryResult<i64> {
    sandbox_authorizations::table.filter(sandbox_authorizations::active.eq(true)).count().get_result(conn)
}

/// Records a (re-)authorization: granted sets, a new refresh token, the time.
pub fn save_authorization(conn: &mut DbConn, appid: &str, func_ids: &[i64], now: i64) -> QueryResult<String> {
    let refresh_token = random_token("refreshtoken@@@", 64);
    let json = func_ids_json(func_ids);
    let updated = diesel::update(sandbox_authorizations::table.find(appid))
        .set((
            sandbox_authorizations::active.eq(true),
            sandbox_authorizations::func_ids.eq(&json),
            sandbox_authorizations::refresh_token.eq(&refresh_token),
            sandbox_authorizations::auth_time.eq(now),
            sandbox_authorizations::updated_at.eq(now),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(sandbox_authorizations::table)
            .values((
                sandbox_authorizations::authorizer_appid.eq(appid),
                sandbox_authorizations::active.eq(true),
                sandbox_authorizations::func_ids.eq(&json),
                sandbox_authorizations::refresh_token.eq(&refresh_token),
                sandbox_authorizations::auth_time.eq(now),
                sandbox_authorizations::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(refresh_token)
}

pub fn set_func_ids(conn: &mut DbConn, appid: &str, func_ids: &[i64], now: i64) -> QueryResult<usize> {
    diesel::update(sandbox_authorizations::table.find(appid))
        .set((sandbox_authorizations::func_ids.eq(func_ids_json(func_ids)), sandbox_authorizations::updated_at.eq(now)))
        .execute(conn)
}

/// Marks the authorization revoked; its refresh token is replaced by one nobody holds.
pub fn revoke_authorization(conn: &mut DbConn, appid: &str, now: i64) -> QueryResult<usize> {
    diesel::update(sandbox_authorizations::table.find(appid).filter(sandbox_authorizations::active.eq(true)))
        .set((
            sandbox_authorizations::active.eq(false),
            sandbox_authorizations::refresh_token.eq(random_token("revoked@@@", 64)),
            sandbox_authorizations::updated_at.eq(now),
        ))
        .execute(conn)
}

// ---- faults ----

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = sandbox_faults)]
pub struct Fault {
    pub id: String,
    pub endpoint: String,
    pub kind: String,
    pub value: i64,
    pub remaining: i32,
    pub created_at: i64,
}

pub const FAULT_KINDS: [&str; 4] = ["errcode", "http", "latency", "drop"];

pub fn insert_fault(
    conn: &mut DbConn,
    endpoint: &str,
    kind: &str,
    value: i64,
    count: i32,
    now: i64,
) -> QueryResult<String> {
    let id = crate::new_id();
    diesel::insert_into(sandbox_faults::table)
        .values((
            sandbox_faults::id.eq(&id),
            sandbox_faults::endpoint.eq(endpoint),
            sandbox_faults::kind.eq(kind),
            sandbox_faults::value.eq(value),
            sandbox_faults::remaining.eq(count),
            sandbox_faults::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(id)
}

pub fn clear_faults(conn: &mut DbConn) -> QueryResult<usize> {
    diesel::delete(sandbox_faults::table).execute(conn)
}

pub fn list_faults(conn: &mut DbConn) -> QueryResult<Vec<Fault>> {
    sandbox_faults::table
        .filter(sandbox_faults::remaining.gt(0))
        .select(Fault::as_select())
        .order((sandbox_faults::created_at.asc(), sandbox_faults::id.asc()))
        .load(conn)
}

/// Takes one use of the oldest fault that applies to `endpoint` (or to `*`), if any.
/// Call inside a write transaction so two calls never take the same last use.
pub fn take_fault(conn: &mut DbConn, endpoint: &str) -> QueryResult<Option<Fault>> {
    let fault = sandbox_faults::table
        .filter(sandbox_faults::remaining.gt(0))
        .filter(sandbox_faults::endpoint.eq(endpoint).or(sandbox_faults::endpoint.eq("*")))
        .select(Fault::as_select())
        .order((sandbox_faults::created_at.asc(), sandbox_faults::id.asc()))
        .first(conn)
        .optional()?;
    let Some(fault) = fault else { return Ok(None) };
    let n = diesel::update(sandbox_faults::table.find(&fault.id).filter(sandbox_faults::remaining.gt(0)))
        .set(sandbox_faults::remaining.eq(sandbox_faults::remaining - 1))
        .execute(conn)?;
    Ok((n == 1).then_some(fault))
}

// ---- call log ----

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = sandbox_calls)]
pub struct Call {
    #[serde(skip)]
    pub id: String,
    pub endpoint: String,
    pub at: i64,
    pub errcode: Option<i64>,
    pub http_status: i32,
    pub fault: Option<String>,
}

pub fn insert_call(
    conn: &mut DbConn,
    endpoint: &str,
    errcode: Option<i64>,
    http_status: u16,
    fault: Option<&str>,
    now: i64,
) -> QueryResult<()> {
    diesel::insert_into(sandbox_calls::table)
        .values((
            sandbox_calls::id.eq(crate::new_id()),
            sandbox_calls::endpoint.eq(endpoint),
            sandbox_calls::at.eq(now),
            sandbox_calls::errcode.eq(errcode),
            sandbox_calls::http_status.eq(i32::from(http_status)),
            sandbox_calls::fault.eq(fault),
        ))
        .execute(conn)
        .map(|_| ())
}

/// The newest `limit` calls, oldest first, optionally for one endpoint.
pub fn list_calls(conn: &mut DbConn, endpoint: Option<&str>, limit: i64) -> QueryResult<Vec<Call>> {
    list_calls_since(conn, endpoint, None, limit)
}

/// [`list_calls`], only those made at or after `since` (Unix seconds).
pub fn list_calls_since(
    conn: &mut DbConn,
    endpoint: Option<&str>,
    since: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<Call>> {
    let mut q = sandbox_calls::table.select(Call::as_select()).into_boxed();
    if let Some(e) = endpoint {
        q = q.filter(sandbox_calls::endpoint.eq(e.to_string()));
    }
    if let Some(at) = since {
        q = q.filter(sandbox_calls::at.ge(at));
    }
    let mut calls: Vec<Call> = q.order(sandbox_calls::id.desc()).limit(limit).load(conn)?;
    calls.reverse();
    Ok(calls)
}

// ---- pushes ----

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = sandbox_pushes)]
pub struct Push {
    pub id: String,
    pub info_type: String,
    pub authorizer_appid: Option<String>,
    pub payload: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: i64,
    pub http_status: Option<i32>,
    pub error: Option<String>,
    pub created_at: i64,
    pub last_attempt_at: Option<i64>,
    /// Where it goes: [`TO_COMPONENT`] or [`TO_MINI_PROGRAM`].
    pub target: String,
}

/// Pushes to the platform's authorization event URL, `{public_url}/wechat/component/events`.
pub const TO_COMPONENT: &str = "component";
/// Pushes to the platform's message URL for one authorizer,
/// `{public_url}/wechat/mp/{authorizer_appid}/events`.
pub const TO_MINI_PROGRAM: &str = "mp";

pub fn enqueue_push(
    conn: &mut DbConn,
    info_type: &str,
    authorizer_appid: Option<&str>,
    payload: &str,
    now: i64,
) -> QueryResult<String> {
    enqueue_push_at(conn, info_type, authorizer_appid, payload, now, now)
}

/// Queues a push that the background task leaves alone until `due`: the caller sends it
/// itself at once (claiming it by id), and the background task is only the fallback.
pub fn enqueue_push_at(
    conn: &mut DbConn,
    info_type: &str,
    authorizer_appid: Option<&str>,
    payload: &str,
    now: i64,
    due: i64,
) -> QueryResult<String> {
    insert_push(conn, TO_COMPONENT, info_type, authorizer_appid, payload, now, due)
}

/// Queues a message event for an authorizer (its `Event` as the info type), sent to the
/// platform's message URL for that authorizer.
pub fn enqueue_message_push(
    conn: &mut DbConn,
    event: &str,
    appid: &str,
    payload: &str,
    now: i64,
) -> QueryResult<String> {
    insert_push(conn, TO_MINI_PROGRAM, event, Some(appid), payload, now, now)
}

fn insert_push(
    conn: &mut DbConn,
    target: &str,
    info_type: &str,
    authorizer_appid: Option<&str>,
    payload: &str,
    now: i64,
    due: i64,
) -> QueryResult<String> {
    let id = crate::new_id();
    diesel::insert_into(sandbox_pushes::table)
        .values((
            sandbox_pushes::id.eq(&id),
            sandbox_pushes::target.eq(target),
            sandbox_pushes::info_type.eq(info_type),
            sandbox_pushes::authorizer_appid.eq(authorizer_appid),
            sandbox_pushes::payload.eq(payload),
            sandbox_pushes::status.eq("pending"),
            sandbox_pushes::attempts.eq(0),
            sandbox_pushes::next_attempt_at.eq(due),
            sandbox_pushes::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(id)
}

/// A push stuck in `sending` this long (its process died) is tried again.
const STALE_SENDING_SECS: i64 = 60;

/// Claims one push for delivery by this process: the given one if it is pending
/// (whenever it is due), or else the oldest due one.
pub fn claim_push(conn: &mut DbConn, id: Option<&str>, now: i64) -> QueryResult<Option<Push>> {
    let stale = sandbox_pushes::status.eq("sending").and(sandbox_pushes::last_attempt_at.lt(now - STALE_SENDING_SECS));
    let mut q = sandbox_pushes::table.select(Push::as_select()).into_boxed();
    q = match id {
        Some(id) => {
            q.filter(sandbox_pushes::id.eq(id.to_string())).filter(sandbox_pushes::status.eq("pending").or(stale))
        }
        None => q.filter(sandbox_pushes::status.eq("pending").and(sandbox_pushes::next_attempt_at.le(now)).or(stale)),
    };
    let Some(push) =
        q.order((sandbox_pushes::next_attempt_at.asc(), sandbox_pushes::id.asc())).first(conn).optional()?
    else {
        return Ok(None);
    };
    let n = diesel::update(
        sandbox_pushes::table
            .find(&push.id)
            .filter(sandbox_pushes::status.eq(&push.status))
            .filter(sandbox_pushes::attempts.eq(push.attempts)),
    )
    .set((
        sandbox_pushes::status.eq("sending"),
        sandbox_pushes::attempts.eq(push.attempts + 1),
        sandbox_pushes::last_attempt_at.eq(now),
    ))
    .execute(conn)?;
    Ok((n == 1).then(|| Push { attempts: push.attempts + 1, status: "sending".into(), ..push }))
}

pub fn record_push_result(
    conn: &mut DbConn,
    id: &str,
    status: &str,
    http_status: Option<u16>,
    error: Option<&str>,
    next_attempt_at: i64,
) -> QueryResult<usize> {
    diesel::update(sandbox_pushes::table.find(id))
        .set((
            sandbox_pushes::status.eq(status),
            sandbox_pushes::http_status.eq(http_status.map(i32::from)),
            sandbox_pushes::error.eq(error),
            sandbox_pushes::next_attempt_at.eq(next_attempt_at),
        ))
        .execute(conn)
}

pub fn next_due_push_at(conn: &mut DbConn) -> QueryResult<Option<i64>> {
    sandbox_pushes::table
        .filter(sandbox_pushes::status.eq("pending"))
        .select(diesel::dsl::min(sandbox_pushes::next_attempt_at))
        .first(conn)
}

pub fn list_pushes(conn: &mut DbConn, limit: i64) -> QueryResult<Vec<Push>> {
    sandbox_pushes::table.select(Push::as_select()).order(sandbox_pushes::id.desc()).limit(limit).load(conn)
}
