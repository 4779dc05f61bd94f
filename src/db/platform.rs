//! Platform credentials, authorizers, leases, and the event inbox.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use super::DbConn;
use super::schema::{authorizers, event_nonces, leases, platform_credentials, wechat_events};
use crate::domain::binding::{AuthOutcome, AuthPurpose, Outcome};
use crate::domain::failure::Failure;

pub const TICKET: &str = "component_verify_ticket";
pub const COMPONENT_TOKEN: &str = "component_access_token";

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = platform_credentials)]
pub struct Credential {
    pub name: String,
    pub value_enc: String,
    pub obtained_at: i64,
    pub expires_at: i64,
}

pub fn credential(conn: &mut DbConn, name: &str) -> QueryResult<Option<Credential>> {
    platform_credentials::table.find(name).select(Credential::as_select()).get_result(conn).optional()
}

/// Inserts or replaces a credential. The insert yields on conflict, so two processes
/// writing at once never fail on the primary key (PostgreSQL does not serialise them).
pub fn put_credential(
    conn: &mut DbConn,
    name: &str,
    value_enc: &str,
    obtained_at: i64,
    expires_at: i64,
) -> QueryResult<()> {
    let inserted = diesel::sql_query(
        "INSERT INTO platform_credentials (name, value_enc, obtained_at, expires_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind::<Text, _>(name)
    .bind::<Text, _>(value_enc)
    .bind::<BigInt, _>(obtained_at)
    .bind::<BigInt, _>(expires_at)
    .execute(conn)?;
    if inserted == 0 {
        diesel::update(platform_credentials::table.find(name))
            .set((
                platform_credentials::value_enc.eq(value_enc),
                platform_credentials::obtained_at.eq(obtained_at),
                platform_credentials::expires_at.eq(expires_at),
            ))
            .execute(conn)?;
    }
    Ok(())
}

// ---- leases ----

/// Takes the named lease for `owner` until `now + ttl`, if it is free, expired or already
/// ours. Each statement is atomic on its own, so two processes can never both hold it.
pub fn try_lease(conn: &mut DbConn, name: &str, owner: &str, now: i64, ttl: i64) -> QueryResult<bool> {
    let taken = diesel::update(
        leases::table.filter(leases::name.eq(name)).filter(leases::expires_at.le(now).or(leases::owner.eq(owner))),
    )
    .set((leases::owner.eq(owner), leases::expires_at.eq(now + ttl)))
    .execute(conn)?;
    if taken == 1 {
        return Ok(true);
    }
    // Both SQLite and PostgreSQL understand this upsert form.
    let inserted = diesel::sql_query(
        "INSERT INTO leases (name, owner, expires_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
    )
    .bind::<Text, _>(name)
    .bind::<Text, _>(owner)
    .bind::<BigInt, _>(now + ttl)
    .execute(conn)?;
    Ok(inserted == 1)
}

pub fn release_lease(conn: &mut DbConn, name: &str, owner: &str) -> QueryResult<usize> {
    diesel::delete(leases::table.filter(leases::name.eq(name)).filter(leases::owner.eq(owner))).execute(conn)
}

// ---- authorizers ----

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = authorizers)]
pub struct Authorizer {
    pub appid: String,
    pub status: String,
    pub refresh_token_enc: Option<String>,
    pub access_token_enc: Option<String>,
    pub access_expires_at: i64,
    pub func_ids: String,
    pub nick_name: String,
    pub head_img: String,
    pub user_name: String,
    pub principal_name: String,
    pub service_type: i32,
    pub verify_type: i32,
    pub is_mini_program: bool,
    pub info_json: String,
    pub authorized_at: i64,
    pub revoked_at: Option<i64>,
    pub updated_at: i64,
}

impl Authorizer {
    pub fn func_id_list(&self) -> Vec<i64> {
        self.func_ids.split(',').filter_map(|s| s.trim().parse().ok()).collect()
    }
    pub fn is_verified(&self) -> bool {
        self.verify_type == 0
    }
    pub fn is_revoked(&self) -> bool {
        self.status == "revoked"
    }
}

pub fn authorizer(conn: &mut DbConn, appid: &str) -> QueryResult<Option<Authorizer>> {
    authorizers::table.find(appid).select(Authorizer::as_select()).get_result(conn).optional()
}

pub fn list_authorizers(conn: &mut DbConn) -> QueryResult<Vec<Authorizer>> {
    authorizers::table.select(Authorizer::as_select()).order(authorizers::authorized_at.desc()).load(conn)
}

/// What an authorization (query_auth or a refresh from the list) gave us.
pub struct Grant<'a> {
    pub appid: &'a str,
    pub refresh_token_enc: Option<&'a str>,
    pub access_token_enc: Option<&'a str>,
    pub access_expires_at: i64,
    pub func_ids: Option<&'a str>,
}

/// Records an authorization: creates the row or marks it authorized again with new tokens.
pub fn upsert_grant(conn: &mut DbConn, g: &Grant<'_>, now: i64) -> QueryResult<()> {
    // Insert-or-nothing first: the callback and the `authorized` push may record the
    // same account at the same moment.
    let inserted = diesel::sql_query(
        "INSERT INTO authorizers (appid, status, authorized_at, updated_at) VALUES ($1, 'authorized', $2, $2) \
         ON CONFLICT (appid) DO NOTHING",
    )
    .bind::<Text, _>(g.appid)
    .bind::<BigInt, _>(now)
    .execute(conn)?;
    if inserted == 0 {
        diesel::update(authorizers::table.find(g.appid))
            .set((
                authorizers::status.eq("authorized"),
                authorizers::revoked_at.eq(None::<i64>),
                authorizers::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    if let Some(refresh) = g.refresh_token_enc {
        diesel::update(authorizers::table.find(g.appid))
            .set(authorizers::refresh_token_enc.eq(refresh))
            .execute(conn)?;
    }
    if let Some(access) = g.access_token_enc {
        diesel::update(authorizers::table.find(g.appid))
            .set((authorizers::access_token_enc.eq(access), authorizers::access_expires_at.eq(g.access_expires_at)))
            .execute(conn)?;
    }
    if let Some(func) = g.func_ids {
        diesel::update(authorizers::table.find(g.appid)).set(authorizers::func_ids.eq(func)).execute(conn)?;
    }
    Ok(())
}

/// The account details from api_get_authorizer_info.
pub struct Details<'a> {
    pub nick_name: &'a str,
    pub head_img: &'a str,
    pub user_name: &'a str,
    pub principal_name: &'a str,
    pub service_type: i32,
    pub verify_type: i32,
    pub is_mini_program: bool,
    pub info_json: &'a str,
    pub func_ids: &'a str,
}

pub fn update_details(conn: &mut DbConn, appid: &str, d: &Details<'_>, now: i64) -> QueryResult<usize> {
    diesel::update(authorizers::table.find(appid))
        .set((
            authorizers::nick_name.eq(d.nick_name),
            authorizers::head_img.eq(d.head_img),
            authorizers::user_name.eq(d.user_name),
            authorizers::principal_name.eq(d.principal_name),
            authorizers::service_type.eq(d.service_type),
            authorizers::verify_type.eq(d.verify_type),
            authorizers::is_mini_program.eq(d.is_mini_program),
            authorizers::info_json.eq(d.info_json),
            authorizers::func_ids.eq(d.func_ids),
            authorizers::updated_at.eq(now),
        ))
        .execute(conn)
}

pub fn set_access_token(
    conn: &mut DbConn,
    appid: &str,
    access_enc: &str,
    expires_at: i64,
    refresh_enc: Option<&str>,
    now: i64,
) -> QueryResult<usize> {
    let n = diesel::update(authorizers::table.find(appid).filter(authorizers::status.eq("authorized")))
        .set((
            authorizers::access_token_enc.eq(access_enc),
            authorizers::access_expires_at.eq(expires_at),
            authorizers::updated_at.eq(now),
        ))
        .execute(conn)?;
    if let Some(refresh) = refresh_enc {
        diesel::update(authorizers::table.find(appid)).set(authorizers::refresh_token_enc.eq(refresh)).execute(conn)?;
    }
    Ok(n)
}

pub fn set_refresh_token(conn: &mut DbConn, appid: &str, refresh_enc: &str, now: i64) -> QueryResult<usize> {
    diesel::update(authorizers::table.find(appid))
        .set((authorizers::refresh_token_enc.eq(refresh_enc), authorizers::updated_at.eq(now)))
        .execute(conn)
}

pub fn expire_access_token(conn: &mut DbConn, appid: &str) -> QueryResult<usize> {
    diesel::update(authorizers::table.find(appid)).set(authorizers::access_expires_at.eq(0)).execute(conn)
}

/// The authorization was withdrawn: drop every token; nothing is called for it afterwards.
pub fn revoke(conn: &mut DbConn, appid: &str, now: i64) -> QueryResult<usize> {
    diesel::update(authorizers::table.find(appid))
        .set((
            authorizers::status.eq("revoked"),
            authorizers::refresh_token_enc.eq(None::<String>),
            authorizers::access_token_enc.eq(None::<String>),
            authorizers::access_expires_at.eq(0),
            authorizers::revoked_at.eq(Some(now)),
            authorizers::updated_at.eq(now),
        ))
        .execute(conn)
}

// ---- events ----

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = wechat_events)]
pub struct Event {
    pub id: String,
    pub endpoint: String,
    pub path_appid: Option<String>,
    pub received_at: i64,
    pub msg_timestamp: i64,
    pub nonce: String,
    pub raw_body: String,
    pub decoded: String,
    pub info_type: String,
    pub authorizer_appid: Option<String>,
    pub dedupe_key: String,
    #[diesel(deserialize_as = String)]
    pub status: EventStatus,
    pub outcome: String,
    pub attempts: i32,
    pub processed_at: Option<i64>,
}

/// Where a stored WeChat push stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventStatus {
    Received,
    Processed,
    Failed,
    /// Nothing to do for this kind of event.
    Ignored,
}

impl EventStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Processed => "processed",
            Self::Failed => "failed",
            Self::Ignored => "ignored",
        }
    }
}

impl TryFrom<String> for EventStatus {
    type Error = crate::domain::binding::UnknownValue;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Ok(match s.as_str() {
            "received" => Self::Received,
            "processed" => Self::Processed,
            "failed" => Self::Failed,
            "ignored" => Self::Ignored,
            _ => return Err(crate::domain::binding::UnknownValue(s)),
        })
    }
}

pub struct NewEvent<'a> {
    pub id: &'a str,
    pub endpoint: &'a str,
    pub path_appid: Option<&'a str>,
    pub received_at: i64,
    pub msg_timestamp: i64,
    pub nonce: &'a str,
    pub raw_body: &'a str,
    pub decoded: &'a str,
    pub info_type: &'a str,
    pub authorizer_appid: Option<&'a str>,
    pub dedupe_key: &'a str,
}

/// Remembers a nonce; false when it was already seen (a replay).
pub fn remember_nonce(conn: &mut DbConn, nonce: &str, timestamp: i64, now: i64) -> QueryResult<bool> {
    let inserted = diesel::sql_query(
        "INSERT INTO event_nonces (nonce, msg_timestamp, seen_at) VALUES ($1, $2, $3) ON CONFLICT (nonce, msg_timestamp) DO NOTHING",
    )
    .bind::<Text, _>(nonce)
    .bind::<BigInt, _>(timestamp)
    .bind::<BigInt, _>(now)
    .execute(conn)?;
    Ok(inserted == 1)
}

pub fn prune_nonces(conn: &mut DbConn, before: i64) -> QueryResult<usize> {
    diesel::delete(event_nonces::table.filter(event_nonces::seen_at.lt(before))).execute(conn)
}

/// Remembers several nonces in one statement; for each, true when it was new. A pair
/// repeated within the list is new only the first time, as if they came one by one.
pub fn remember_nonces(conn: &mut DbConn, items: &[(&str, i64)], now: i64) -> QueryResult<Vec<bool>> {
    #[cfg(feature = "postgres")]
    if let Some(pg) = super::pg_inner(conn) {
        use diesel::sql_types::Array;
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = Text)]
            nonce: String,
            #[diesel(sql_type = BigInt)]
            msg_timestamp: i64,
        }
        let nonces: Vec<&str> = items.iter().map(|(n, _)| *n).collect();
        let stamps: Vec<i64> = items.iter().map(|(_, t)| *t).collect();
        let rows: Vec<Row> = diesel::sql_query(
            "INSERT INTO event_nonces (nonce, msg_timestamp, seen_at) SELECT n, t, $3 FROM unnest($1::text[], $2::bigint[]) AS u(n, t) \
             ON CONFLICT (nonce, msg_timestamp) DO NOTHING RETURNING nonce, msg_timestamp",
        )
        .bind::<Array<Text>, _>(&nonces)
        .bind::<Array<BigInt>, _>(&stamps)
        .bind::<BigInt, _>(now)
        .load(pg)?;
        let mut fresh: std::collections::HashSet<(String, i64)> =
            rows.into_iter().map(|r| (r.nonce, r.msg_timestamp)).collect();
        return Ok(items.iter().map(|(n, t)| fresh.remove(&((*n).to_string(), *t))).collect());
    }
    items.iter().map(|(n, t)| remember_nonce(conn, n, *t, now)).collect()
}

/// Stores several events in one statement; for each, true when it was stored (false: an
/// identical one was stored before, or earlier in the list).
pub fn insert_events(conn: &mut DbConn, events: &[NewEvent<'_>]) -> QueryResult<Vec<bool>> {
    #[cfg(feature = "postgres")]
    if let Some(pg) = super::pg_inner(conn) {
        use diesel::sql_types::{Array, Nullable};
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = Text)]
            id: String,
        }
        fn col<'a, T>(events: &'a [NewEvent<'a>], f: impl Fn(&'a NewEvent<'a>) -> T) -> Vec<T> {
            events.iter().map(f).collect()
        }
        let rows: Vec<Row> = diesel::sql_query(
            "INSERT INTO wechat_events (id, endpoint, path_appid, received_at, msg_timestamp, nonce, raw_body, decoded, \
             info_type, authorizer_appid, dedupe_key, status, outcome, attempts) \
             SELECT id, ep, pa, ra, ts, nonce, raw, dec, it, aa, dk, 'received', '', 0 \
             FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::text[], $7::text[], \
                         $8::text[], $9::text[], $10::text[], $11::text[]) \
                  AS u(id, ep, pa, ra, ts, nonce, raw, dec, it, aa, dk) \
             ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
        )
        .bind::<Array<Text>, _>(col(events, |e| e.id))
        .bind::<Array<Text>, _>(col(events, |e| e.endpoint))
        .bind::<Array<Nullable<Text>>, _>(col(events, |e| e.path_appid))
        .bind::<Array<BigInt>, _>(col(events, |e| e.received_at))
        .bind::<Array<BigInt>, _>(col(events, |e| e.msg_timestamp))
        .bind::<Array<Text>, _>(col(events, |e| e.nonce))
        .bind::<Array<Text>, _>(col(events, |e| e.raw_body))
        .bind::<Array<Text>, _>(col(events, |e| e.decoded))
        .bind::<Array<Text>, _>(col(events, |e| e.info_type))
        .bind::<Array<Nullable<Text>>, _>(col(events, |e| e.authorizer_appid))
        .bind::<Array<Text>, _>(col(events, |e| e.dedupe_key))
        .load(pg)?;
        let stored: std::collections::HashSet<String> = rows.into_iter().map(|r| r.id).collect();
        return Ok(events.iter().map(|e| stored.contains(e.id)).collect());
    }
    events.iter().map(|e| insert_event(conn, e)).collect()
}

/// Stores an event; false when an identical one was stored before (a redelivery).
pub fn insert_event(conn: &mut DbConn, e: &NewEvent<'_>) -> QueryResult<bool> {
    let inserted = diesel::sql_query(
        "INSERT INTO wechat_events (id, endpoint, path_appid, received_at, msg_timestamp, nonce, raw_body, decoded, \
         info_type, authorizer_appid, dedupe_key, status, outcome, attempts) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'received', '', 0) ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind::<Text, _>(e.id)
    .bind::<Text, _>(e.endpoint)
    .bind::<diesel::sql_types::Nullable<Text>, _>(e.path_appid)
    .bind::<BigInt, _>(e.received_at)
    .bind::<BigInt, _>(e.msg_timestamp)
    .bind::<Text, _>(e.nonce)
    .bind::<Text, _>(e.raw_body)
    .bind::<Text, _>(e.decoded)
    .bind::<Text, _>(e.info_type)
    .bind::<diesel::sql_types::Nullable<Text>, _>(e.authorizer_appid)
    .bind::<Text, _>(e.dedupe_key)
    .execute(conn)?;
    Ok(inserted == 1)
}

pub fn event(conn: &mut DbConn, id: &str) -> QueryResult<Option<Event>> {
    wechat_events::table.find(id).select(Event::as_select()).get_result(conn).optional()
}

pub fn recent_events(conn: &mut DbConn, limit: i64) -> QueryResult<Vec<Event>> {
    wechat_events::table
        .select(Event::as_select())
        .order((wechat_events::received_at.desc(), wechat_events::id.desc()))
        .limit(limit)
        .load(conn)
}

pub fn finish_event(conn: &mut DbConn, id: &str, status: EventStatus, outcome: &str, now: i64) -> QueryResult<usize> {
    diesel::update(wechat_events::table.find(id))
        .set((
            wechat_events::status.eq(status.as_str()),
            wechat_events::outcome.eq(outcome),
            wechat_events::attempts.eq(wechat_events::attempts + 1),
            wechat_events::processed_at.eq(Some(now)),
        ))
        .execute(conn)
}

/// Records the outcome of several processed events in one statement.
pub fn finish_events(conn: &mut DbConn, done: &[(String, EventStatus, String)], now: i64) -> QueryResult<()> {
    #[cfg(feature = "postgres")]
    if let Some(pg) = super::pg_inner(conn) {
        use diesel::sql_types::Array;
        if done.is_empty() {
            return Ok(());
        }
        let ids: Vec<&str> = done.iter().map(|(id, _, _)| id.as_str()).collect();
        let statuses: Vec<&str> = done.iter().map(|(_, s, _)| s.as_str()).collect();
        let outcomes: Vec<&str> = done.iter().map(|(_, _, o)| o.as_str()).collect();
        diesel::sql_query(
            "UPDATE wechat_events AS e SET status = u.status, outcome = u.outcome, attempts = e.attempts + 1, \
             processed_at = $4 FROM unnest($1::text[], $2::text[], $3::text[]) AS u(id, status, outcome) WHERE e.id = u.id",
        )
        .bind::<Array<Text>, _>(&ids)
        .bind::<Array<Text>, _>(&statuses)
        .bind::<Array<Text>, _>(&outcomes)
        .bind::<BigInt, _>(now)
        .execute(pg)?;
        return Ok(());
    }
    for (id, status, outcome) in done {
        finish_event(conn, id, *status, outcome, now)?;
    }
    Ok(())
}

pub fn count_events(conn: &mut DbConn) -> QueryResult<i64> {
    wechat_events::table.count().get_result(conn)
}

/// Events whose processing is done: applied, or nothing to do for their kind.
pub fn count_events_handled(conn: &mut DbConn) -> QueryResult<i64> {
    let done = [EventStatus::Processed.as_str(), EventStatus::Ignored.as_str()];
    wechat_events::table.filter(wechat_events::status.eq_any(done)).count().get_result(conn)
}

// ---- authorization states ----

/// The stored columns of an authorization state; [`AuthState`] is what callers get.
#[derive(Queryable, Selectable)]
#[diesel(table_name = super::schema::auth_states)]
struct AuthStateRow {
    state: String,
    #[diesel(deserialize_as = String)]
    purpose: AuthPurpose,
    tenant_id: Option<String>,
    user_id: String,
    session_id: String,
    pre_auth_code: String,
    biz_appid: Option<String>,
    created_at: i64,
    expires_at: i64,
    used_at: Option<i64>,
    result_appid: Option<String>,
    result: Option<String>,
    result_sets: Option<String>,
    result_failure: Option<String>,
    result_code: Option<i64>,
}

/// A single-use authorization `state` with its typed outcome (None while pending).
#[derive(Debug, Clone)]
pub struct AuthState {
    pub state: String,
    pub purpose: AuthPurpose,
    pub tenant_id: Option<String>,
    pub user_id: String,
    pub session_id: String,
    pub pre_auth_code: String,
    pub biz_appid: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub result_appid: Option<String>,
    pub outcome: Option<AuthOutcome>,
}

impl From<AuthStateRow> for AuthState {
    fn from(r: AuthStateRow) -> Self {
        let failure = r.result_failure.as_deref().and_then(|k| Failure::from_parts(k, r.result_code));
        let sets = crate::domain::binding::parse_ids(r.result_sets.as_deref().unwrap_or_default());
        let outcome = r.result.as_deref().and_then(|kind| AuthOutcome::from_parts(kind, &sets, failure));
        Self {
            state: r.state,
            purpose: r.purpose,
            tenant_id: r.tenant_id,
            user_id: r.user_id,
            session_id: r.session_id,
            pre_auth_code: r.pre_auth_code,
            biz_appid: r.biz_appid,
            created_at: r.created_at,
            expires_at: r.expires_at,
            used_at: r.used_at,
            result_appid: r.result_appid,
            outcome,
        }
    }
}

fn load_auth_state(conn: &mut DbConn, state: &str) -> QueryResult<Option<AuthState>> {
    use super::schema::auth_states as a;
    Ok(a::table.find(state).select(AuthStateRow::as_select()).get_result(conn).optional()?.map(AuthState::from))
}

pub struct NewAuthState<'a> {
    pub state: &'a str,
    pub purpose: AuthPurpose,
    pub tenant_id: Option<&'a str>,
    pub user_id: &'a str,
    pub session_id: &'a str,
    pub pre_auth_code: &'a str,
    pub biz_appid: Option<&'a str>,
    pub created_at: i64,
    pub expires_at: i64,
}

pub fn insert_auth_state(conn: &mut DbConn, s: &NewAuthState<'_>) -> QueryResult<()> {
    use super::schema::auth_states as a;
    diesel::insert_into(a::table)
        .values((
            a::state.eq(s.state),
            a::purpose.eq(s.purpose.as_str()),
            a::tenant_id.eq(s.tenant_id),
            a::user_id.eq(s.user_id),
            a::session_id.eq(s.session_id),
            a::pre_auth_code.eq(s.pre_auth_code),
            a::biz_appid.eq(s.biz_appid),
            a::created_at.eq(s.created_at),
            a::expires_at.eq(s.expires_at),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Takes a state for use: only once, only before it expires, only by the session that made it.
/// Returns None when any of that does not hold (the caller shows one refusal page).
pub fn take_auth_state(conn: &mut DbConn, state: &str, session_id: &str, now: i64) -> QueryResult<Option<AuthState>> {
    use super::schema::auth_states as a;
    let taken = diesel::update(
        a::table
            .filter(a::state.eq(state))
            .filter(a::session_id.eq(session_id))
            .filter(a::used_at.is_null())
            .filter(a::expires_at.gt(now)),
    )
    .set(a::used_at.eq(Some(now)))
    .execute(conn)?;
    if taken != 1 {
        return Ok(None);
    }
    load_auth_state(conn, state)
}

/// Records how an authorization ended (typed; see `domain::binding::AuthOutcome`).
pub fn finish_auth_state(
    conn: &mut DbConn,
    state: &str,
    appid: Option<&str>,
    outcome: &AuthOutcome,
) -> QueryResult<usize> {
    use super::schema::auth_states as a;
    let sets = match outcome {
        AuthOutcome::Decided(Outcome::MissingSets(ids)) => Some(crate::domain::binding::join_ids(ids)),
        AuthOutcome::Official(crate::domain::official_account::OaOutcome::MissingSets(ids)) => {
            Some(crate::domain::binding::join_ids(ids))
        }
        _ => None,
    };
    let (failure, code) = match outcome {
        AuthOutcome::Failed(f) => {
            let (kind, code) = f.as_parts();
            (Some(kind), code)
        }
        _ => (None, None),
    };
    diesel::update(a::table.find(state))
        .set((
            a::result_appid.eq(appid),
            a::result.eq(outcome.kind()),
            a::result_sets.eq(sets),
            a::result_failure.eq(failure),
            a::result_code.eq(code),
        ))
        .execute(conn)
}

pub fn auth_state(conn: &mut DbConn, state: &str) -> QueryResult<Option<AuthState>> {
    load_auth_state(conn, state)
}

pub fn put_credential_expiry(conn: &mut DbConn, name: &str, expires_at: i64) -> QueryResult<usize> {
    diesel::update(platform_credentials::table.find(name))
        .set(platform_credentials::expires_at.eq(expires_at))
        .execute(conn)
}

pub fn count_auth_states(conn: &mut DbConn) -> QueryResult<i64> {
    super::schema::auth_states::table.count().get_result(conn)
}

/// The tenant authorization (mini program or official account) still waiting for this pre_auth_code, if any.
pub fn pending_state_for_pre_auth_code(
    conn: &mut DbConn,
    pre_auth_code: &str,
    now: i64,
) -> QueryResult<Option<AuthState>> {
    use super::schema::auth_states as a;
    a::table
        .filter(a::pre_auth_code.eq(pre_auth_code))
        .filter(a::purpose.ne(AuthPurpose::Platform.as_str()))
        .filter(a::used_at.is_null())
        .filter(a::expires_at.gt(now))
        .select(AuthStateRow::as_select())
        .get_result(conn)
        .optional()
        .map(|row| row.map(AuthState::from))
}

/// Takes a state for the background completion (the `authorized` push came first).
pub fn take_auth_state_unbound(conn: &mut DbConn, state: &str, now: i64) -> QueryResult<Option<AuthState>> {
    use super::schema::auth_states as a;
    let taken =
        diesel::update(a::table.filter(a::state.eq(state)).filter(a::used_at.is_null()).filter(a::expires_at.gt(now)))
            .set(a::used_at.eq(Some(now)))
            .execute(conn)?;
    if taken != 1 {
        return Ok(None);
    }
    load_auth_state(conn, state)
}
