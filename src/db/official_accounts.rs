//! Tenants' official accounts and their link requests (issue 12). Every query filters by
//! the tenant in SQL.

use diesel::prelude::*;

use super::DbConn;
use super::schema::{oa_link_requests, official_accounts};
use crate::domain::binding::BindingStatus;

/// `status = 'active'` as a literal (see `bindings::is_active`: the partial unique indexes
/// would otherwise make SQLite re-plan the statement on every execution).
fn is_active() -> diesel::expression::SqlLiteral<diesel::sql_types::Bool> {
    diesel::dsl::sql::<diesel::sql_types::Bool>("official_accounts.status = 'active'")
}

/// Operator configuration: the permission sets the platform needs of an official account.
pub const REQUIRED_SETS: &str = "oa_required_permission_sets";
/// Operator configuration: the link limits, `"same,different,per_month"`.
pub const LINK_LIMITS: &str = "oa_link_limits";
/// Operator configuration: the notification templates the store application sends and
/// their fields (JSON, `domain::official_account::NeededTemplate`); empty means the default.
pub const NOTIFICATION_TEMPLATES: &str = "oa_notification_templates";

pub fn default_setting(key: &str) -> Option<&'static str> {
    match key {
        REQUIRED_SETS => Some("33"),
        LINK_LIMITS => Some("10,3,13"),
        _ => None,
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = official_accounts)]
pub struct OfficialAccount {
    pub id: String,
    pub tenant_id: String,
    pub appid: String,
    #[diesel(deserialize_as = String)]
    pub status: BindingStatus,
    pub bound_by: Option<String>,
    pub bound_at: i64,
    pub reauthorized_at: Option<i64>,
    pub ended_at: Option<i64>,
}

/// The tenant's current official account (active, or the last one that ended), newest first.
pub fn latest_for_tenant(conn: &mut DbConn, tenant_id: &str) -> QueryResult<Option<OfficialAccount>> {
    official_accounts::table
        .filter(official_accounts::tenant_id.eq(tenant_id))
        .select(OfficialAccount::as_select())
        .order((official_accounts::bound_at.desc(), official_accounts::id.desc()))
        .first(conn)
        .optional()
}

pub fn active_for_tenant(conn: &mut DbConn, tenant_id: &str) -> QueryResult<Option<OfficialAccount>> {
    official_accounts::table
        .filter(official_accounts::tenant_id.eq(tenant_id))
        .filter(is_active())
        .select(OfficialAccount::as_select())
        .first(conn)
        .optional()
}

pub fn active_for_appid(conn: &mut DbConn, appid: &str) -> QueryResult<Option<OfficialAccount>> {
    official_accounts::table
        .filter(official_accounts::appid.eq(appid))
        .filter(is_active())
        .select(OfficialAccount::as_select())
        .first(conn)
        .optional()
}

/// Inserts the tenant's active official account; a concurrent one for the same AppID
/// loses on the unique index (unique violation).
pub fn insert_active(conn: &mut DbConn, id: &str, tenant_id: &str, appid: &str, by: &str, now: i64) -> QueryResult<()> {
    diesel::insert_into(official_accounts::table)
        .values((
            official_accounts::id.eq(id),
            official_accounts::tenant_id.eq(tenant_id),
            official_accounts::appid.eq(appid),
            official_accounts::status.eq(BindingStatus::Active.as_str()),
            official_accounts::bound_by.eq(by),
            official_accounts::bound_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn mark_reauthorized(conn: &mut DbConn, id: &str, tenant_id: &str, now: i64) -> QueryResult<usize> {
    diesel::update(
        official_accounts::table
            .filter(official_accounts::id.eq(id))
            .filter(official_accounts::tenant_id.eq(tenant_id)),
    )
    .set(official_accounts::reauthorized_at.eq(Some(now)))
    .execute(conn)
}

/// Ends the tenant's active official account.
pub fn end_for_tenant(conn: &mut DbConn, tenant_id: &str, status: BindingStatus, now: i64) -> QueryResult<usize> {
    diesel::update(official_accounts::table.filter(official_accounts::tenant_id.eq(tenant_id)).filter(is_active()))
        .set((official_accounts::status.eq(status.as_str()), official_accounts::ended_at.eq(Some(now))))
        .execute(conn)
}

/// Ends every active use of an AppID (WeChat said the authorization was withdrawn).
pub fn revoke_appid(conn: &mut DbConn, appid: &str, now: i64) -> QueryResult<Vec<OfficialAccount>> {
    let active: Vec<OfficialAccount> = official_accounts::table
        .filter(official_accounts::appid.eq(appid))
        .filter(is_active())
        .select(OfficialAccount::as_select())
        .load(conn)?;
    diesel::update(official_accounts::table.filter(official_accounts::appid.eq(appid)).filter(is_active()))
        .set((official_accounts::status.eq(BindingStatus::Revoked.as_str()), official_accounts::ended_at.eq(Some(now))))
        .execute(conn)?;
    Ok(active)
}

/// The legal subject of the tenant's active official account (from its authorizer details).
pub fn active_subject(conn: &mut DbConn, tenant_id: &str) -> QueryResult<Option<String>> {
    use super::schema::authorizers;
    official_accounts::table
        .inner_join(authorizers::table.on(authorizers::appid.eq(official_accounts::appid)))
        .filter(official_accounts::tenant_id.eq(tenant_id))
        .filter(is_active())
        .select(authorizers::principal_name)
        .first::<String>(conn)
        .optional()
        .map(|s| s.filter(|s| !s.trim().is_empty()))
}

/// Records a link request WeChat accepted.
pub fn record_link_request(
    conn: &mut DbConn,
    tenant_id: &str,
    oa_appid: &str,
    mp_appid: &str,
    notify_users: bool,
    show_profile: bool,
    now: i64,
) -> QueryResult<()> {
    diesel::insert_into(oa_link_requests::table)
        .values((
            oa_link_requests::id.eq(crate::new_id()),
            oa_link_requests::tenant_id.eq(tenant_id),
            oa_link_requests::oa_appid.eq(oa_appid),
            oa_link_requests::mp_appid.eq(mp_appid),
            oa_link_requests::notify_users.eq(notify_users),
            oa_link_requests::show_profile.eq(show_profile),
            oa_link_requests::requested_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Link requests the official account made through this platform since `since`.
pub fn link_requests_since(conn: &mut DbConn, oa_appid: &str, since: i64) -> QueryResult<i64> {
    oa_link_requests::table
        .filter(oa_link_requests::oa_appid.eq(oa_appid))
        .filter(oa_link_requests::requested_at.ge(since))
        .count()
        .get_result(conn)
}
