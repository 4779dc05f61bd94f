//! Tenants' dedicated mini programs and the platform settings they depend on.

use diesel::prelude::*;

use super::DbConn;
use super::schema::{mp_bindings, platform_settings, tenants};
use crate::domain::binding::BindingStatus;

const ACTIVE: &str = "active";

/// `status = 'active'` as a literal, never a bound parameter. The partial unique indexes on
/// `mp_bindings` (`… WHERE status = 'active'`) make SQLite compare a bound `status = ?`
/// with the index's condition while planning, and such a statement is re-prepared (parsed
/// and planned again) every time the parameter is bound: on every execution. With the
/// literal, the prepared statement stays in diesel's cache. (This was a third of the
/// Mini Program tab's CPU time in the page benchmark.)
pub(crate) fn is_active() -> diesel::expression::SqlLiteral<diesel::sql_types::Bool> {
    diesel::dsl::sql::<diesel::sql_types::Bool>("mp_bindings.status = 'active'")
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = mp_bindings)]
pub struct Binding {
    pub id: String,
    pub tenant_id: String,
    pub appid: String,
    pub application: String,
    #[diesel(deserialize_as = String)]
    pub status: BindingStatus,
    pub subject_warning: bool,
    pub bound_by: Option<String>,
    pub bound_at: i64,
    pub reauthorized_at: Option<i64>,
    pub ended_at: Option<i64>,
}

/// The tenant's current binding (active, or the last one ended by a revocation so the
/// tab can say so), newest first.
pub fn latest_for_tenant(conn: &mut DbConn, tenant_id: &str) -> QueryResult<Option<Binding>> {
    mp_bindings::table
        .filter(mp_bindings::tenant_id.eq(tenant_id))
        .filter(mp_bindings::application.eq(crate::domain::binding::APPLICATION))
        .select(Binding::as_select())
        .order((mp_bindings::bound_at.desc(), mp_bindings::id.desc()))
        .get_result(conn)
        .optional()
}

pub fn active_for_tenant(conn: &mut DbConn, tenant_id: &str) -> QueryResult<Option<Binding>> {
    mp_bindings::table
        .filter(mp_bindings::tenant_id.eq(tenant_id))
        .filter(mp_bindings::application.eq(crate::domain::binding::APPLICATION))
        .filter(is_active())
        .select(Binding::as_select())
        .get_result(conn)
        .optional()
}

pub fn active_for_appid(conn: &mut DbConn, appid: &str) -> QueryResult<Option<Binding>> {
    mp_bindings::table
        .filter(mp_bindings::appid.eq(appid))
        .filter(is_active())
        .select(Binding::as_select())
        .get_result(conn)
        .optional()
}

/// Inserts an active binding. A concurrent binding of the same AppID loses on the
/// unique index and gets the unique-violation error.
pub fn insert_active(
    conn: &mut DbConn,
    id: &str,
    tenant_id: &str,
    appid: &str,
    warning: bool,
    by: &str,
    now: i64,
) -> QueryResult<()> {
    diesel::insert_into(mp_bindings::table)
        .values((
            mp_bindings::id.eq(id),
            mp_bindings::tenant_id.eq(tenant_id),
            mp_bindings::appid.eq(appid),
            mp_bindings::application.eq(crate::domain::binding::APPLICATION),
            mp_bindings::status.eq(ACTIVE),
            mp_bindings::subject_warning.eq(warning),
            mp_bindings::bound_by.eq(by),
            mp_bindings::bound_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn mark_reauthorized(conn: &mut DbConn, id: &str, tenant_id: &str, warning: bool, now: i64) -> QueryResult<usize> {
    diesel::update(mp_bindings::table.filter(mp_bindings::id.eq(id)).filter(mp_bindings::tenant_id.eq(tenant_id)))
        .set((mp_bindings::reauthorized_at.eq(Some(now)), mp_bindings::subject_warning.eq(warning)))
        .execute(conn)
}

/// Ends the tenant's active binding (unbound by the tenant, revoked by WeChat's event).
pub fn end_for_tenant(conn: &mut DbConn, tenant_id: &str, status: BindingStatus, now: i64) -> QueryResult<usize> {
    diesel::update(
        mp_bindings::table
            .filter(mp_bindings::tenant_id.eq(tenant_id))
            .filter(mp_bindings::application.eq(crate::domain::binding::APPLICATION))
            .filter(is_active()),
    )
    .set((mp_bindings::status.eq(status.as_str()), mp_bindings::ended_at.eq(Some(now))))
    .execute(conn)
}

/// Ends every active binding of an AppID (WeChat said the authorization was withdrawn).
pub fn revoke_appid(conn: &mut DbConn, appid: &str, now: i64) -> QueryResult<Vec<Binding>> {
    let active: Vec<Binding> = mp_bindings::table
        .filter(mp_bindings::appid.eq(appid))
        .filter(is_active())
        .select(Binding::as_select())
        .load(conn)?;
    diesel::update(mp_bindings::table.filter(mp_bindings::appid.eq(appid)).filter(is_active()))
        .set((mp_bindings::status.eq(BindingStatus::Revoked.as_str()), mp_bindings::ended_at.eq(Some(now))))
        .execute(conn)?;
    Ok(active)
}

pub fn history_for_tenant(conn: &mut DbConn, tenant_id: &str) -> QueryResult<Vec<Binding>> {
    mp_bindings::table
        .filter(mp_bindings::tenant_id.eq(tenant_id))
        .select(Binding::as_select())
        .order((mp_bindings::bound_at.desc(), mp_bindings::id.desc()))
        .load(conn)
}

/// For the operator's tenants page: every tenant with its latest store binding.
pub fn all_latest(conn: &mut DbConn) -> QueryResult<Vec<Binding>> {
    mp_bindings::table
        .filter(mp_bindings::application.eq(crate::domain::binding::APPLICATION))
        .select(Binding::as_select())
        .order((mp_bindings::bound_at.desc(), mp_bindings::id.desc()))
        .load(conn)
}

pub fn tenant_admin_emails(conn: &mut DbConn, tenant_id: &str) -> QueryResult<Vec<(String, String)>> {
    use super::schema::{tenant_members, users};
    tenant_members::table
        .inner_join(users::table)
        .inner_join(tenants::table)
        .filter(tenant_members::tenant_id.eq(tenant_id))
        .filter(tenant_members::role.eq("admin"))
        .select((users::email, tenants::name))
        .load(conn)
}

// ---- platform settings ----

pub const SHARED_NAME: &str = "shared_mp_name";
pub const SHARED_SHORT_NAME: &str = "shared_mp_short_name";
pub const SHARED_ICON: &str = "shared_mp_icon";
pub const REQUIRED_SETS: &str = "required_permission_sets";
/// What the template needs of every mini program (JSON; `db::requirements::config`).
pub const REQUIREMENTS_CONFIG: &str = "requirements_config";

/// A setting, or its default.
pub fn setting(conn: &mut DbConn, key: &str) -> QueryResult<String> {
    let stored: Option<String> =
        platform_settings::table.find(key).select(platform_settings::value).get_result(conn).optional()?;
    Ok(stored.unwrap_or_else(|| default_setting(key).to_string()))
}

/// Several settings in one query, each with its default, in the order asked.
pub fn settings<const N: usize>(conn: &mut DbConn, keys: &[&str; N]) -> QueryResult<[String; N]> {
    // The table holds a few operator settings: reading it whole keeps one cached statement
    // (an `IN (…)` list is prepared anew on every call). The requirements configuration is
    // a large JSON document only its own pages read; it is left out.
    let stored: Vec<(String, String)> = platform_settings::table
        .filter(platform_settings::key.ne(REQUIREMENTS_CONFIG))
        .select((platform_settings::key, platform_settings::value))
        .load(conn)?;
    Ok(keys.map(|key| {
        stored
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| default_setting(key).to_string())
    }))
}

pub fn default_setting(key: &str) -> &'static str {
    match key {
        SHARED_NAME => "Minihost Store",
        SHARED_SHORT_NAME => "Minihost",
        SHARED_ICON => "",
        REQUIRED_SETS => "17,18,19,25,30,31,40",
        _ => super::official_accounts::default_setting(key).unwrap_or(""),
    }
}

pub fn put_setting(conn: &mut DbConn, key: &str, value: &str, now: i64) -> QueryResult<()> {
    use diesel::sql_types::{BigInt, Text};
    let inserted = diesel::sql_query(
        "INSERT INTO platform_settings (key, value, updated_at) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING",
    )
    .bind::<Text, _>(key)
    .bind::<Text, _>(value)
    .bind::<BigInt, _>(now)
    .execute(conn)?;
    if inserted == 0 {
        diesel::update(platform_settings::table.find(key))
            .set((platform_settings::value.eq(value), platform_settings::updated_at.eq(now)))
            .execute(conn)?;
    }
    Ok(())
}
