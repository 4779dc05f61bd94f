//! Tenants (workspaces) and their members. A member reaches a tenant only through
//! queries that join on the membership in SQL.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};

use super::DbConn;
use super::models::Tenant;
use super::schema::{tenant_members, tenants, users};

/// The tenant, if `user_id` is one of its members.
pub fn find_for_member(conn: &mut DbConn, tenant_id: &str, user_id: &str) -> QueryResult<Option<Tenant>> {
    tenants::table
        .inner_join(tenant_members::table)
        .filter(tenants::id.eq(tenant_id))
        .filter(tenant_members::user_id.eq(user_id))
        .select(Tenant::as_select())
        .get_result(conn)
        .optional()
}

/// The workspaces a user belongs to, oldest first.
pub fn list_for_member(conn: &mut DbConn, user_id: &str) -> QueryResult<Vec<Tenant>> {
    tenants::table
        .inner_join(tenant_members::table)
        .filter(tenant_members::user_id.eq(user_id))
        .select(Tenant::as_select())
        .order((tenants::created_at.asc(), tenants::id.asc()))
        .load(conn)
}

/// The user's first workspace (the oldest), for the header.
pub fn first_for_member(conn: &mut DbConn, user_id: &str) -> QueryResult<Option<Tenant>> {
    tenants::table
        .inner_join(tenant_members::table)
        .filter(tenant_members::user_id.eq(user_id))
        .select(Tenant::as_select())
        .order((tenants::created_at.asc(), tenants::id.asc()))
        .get_result(conn)
        .optional()
}

/// The logo of a tenant the user is a member of.
pub fn logo_for_member(conn: &mut DbConn, tenant_id: &str, user_id: &str) -> QueryResult<Option<(Vec<u8>, String)>> {
    let row: Option<(Option<Vec<u8>>, Option<String>)> = tenants::table
        .inner_join(tenant_members::table)
        .filter(tenants::id.eq(tenant_id))
        .filter(tenant_members::user_id.eq(user_id))
        .select((tenants::logo, tenants::logo_mime))
        .get_result(conn)
        .optional()?;
    Ok(row.and_then(|(logo, mime)| Some((logo?, mime?))))
}

/// Members of a tenant, for its home page: (name, email, role).
pub fn members(conn: &mut DbConn, tenant_id: &str) -> QueryResult<Vec<(String, String, String)>> {
    tenant_members::table
        .inner_join(users::table)
        .filter(tenant_members::tenant_id.eq(tenant_id))
        .select((users::name, users::email, tenant_members::role))
        .order(users::name.asc())
        .load(conn)
}

/// What the operator's tenants page asks for.
#[derive(Debug, Clone, Default)]
pub struct OperatorFilter {
    /// "platform", "dedicated" or "" for every tenant.
    pub mode: String,
    /// Part of the name or AppID (case-insensitive); "" for any.
    pub text: String,
    /// Only tenants with at least one requirement due now.
    pub blocked: bool,
}

/// One tenant as the operator's list shows it: its latest binding of the template
/// application, its requirements' summary and the last WeChat event of its AppID.
#[derive(Debug, Clone, QueryableByName)]
pub struct OperatorRow {
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = BigInt)]
    pub created_at: i64,
    #[diesel(sql_type = Nullable<Text>)]
    pub appid: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub binding_status: Option<String>,
    #[diesel(sql_type = BigInt)]
    pub due_now: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub earliest_deadline: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    pub last_event_kind: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub last_event_at: Option<i64>,
}

/// A page of tenants for operators, newest first, filtered in SQL (10,000 tenants are
/// never loaded to filter them here).
pub fn operator_page(
    conn: &mut DbConn,
    filter: &OperatorFilter,
    limit: i64,
    offset: i64,
) -> QueryResult<Vec<OperatorRow>> {
    let pattern = if filter.text.is_empty() {
        String::new()
    } else {
        let escaped = filter.text.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        format!("%{escaped}%")
    };
    // SQLite numbers `$n` in the order they first appear: keep them increasing.
    diesel::sql_query(
        "SELECT t.id, t.name, t.created_at, b.appid, b.status AS binding_status, \
           COALESCE(r.due_now, 0) AS due_now, r.earliest_deadline, \
           (SELECT e.info_type FROM wechat_events e WHERE e.authorizer_appid = b.appid \
              ORDER BY e.received_at DESC LIMIT 1) AS last_event_kind, \
           (SELECT MAX(e.received_at) FROM wechat_events e WHERE e.authorizer_appid = b.appid) AS last_event_at \
         FROM tenants t \
         LEFT JOIN mp_bindings b ON b.id = (SELECT b2.id FROM mp_bindings b2 \
              WHERE b2.tenant_id = t.id AND b2.application = $1 ORDER BY b2.bound_at DESC, b2.id DESC LIMIT 1) \
         LEFT JOIN (SELECT tenant_id, SUM(CASE WHEN state = 'due_now' THEN 1 ELSE 0 END) AS due_now, \
              MIN(deadline) AS earliest_deadline FROM requirements GROUP BY tenant_id) r ON r.tenant_id = t.id \
         WHERE ($2 = '' OR ($2 = 'dedicated' AND b.status = 'active') \
                OR ($2 = 'platform' AND (b.status IS NULL OR b.status <> 'active'))) \
           AND ($3 = '' OR LOWER(t.name) LIKE $3 ESCAPE '\\' OR LOWER(COALESCE(b.appid, '')) LIKE $3 ESCAPE '\\') \
           AND ($4 = 0 OR COALESCE(r.due_now, 0) > 0) \
         ORDER BY t.created_at DESC, t.id DESC \
         LIMIT $5 OFFSET $6",
    )
    .bind::<Text, _>(crate::domain::binding::APPLICATION)
    .bind::<Text, _>(&filter.mode)
    .bind::<Text, _>(&pattern)
    .bind::<BigInt, _>(i64::from(filter.blocked))
    .bind::<BigInt, _>(limit)
    .bind::<BigInt, _>(offset)
    .load(conn)
}

/// The legal subject of the tenant's official account: the one authorized to the platform
/// (`official_accounts`), else the subject recorded by hand before that existed.
pub fn linked_oa_subject(conn: &mut DbConn, tenant_id: &str) -> QueryResult<Option<String>> {
    if let Some(subject) = super::official_accounts::active_subject(conn, tenant_id)? {
        return Ok(Some(subject));
    }
    Ok(tenants::table
        .find(tenant_id)
        .select(tenants::linked_oa_subject)
        .first::<Option<String>>(conn)
        .optional()?
        .flatten())
}

/// The tenant's contact details (from its approved application), for the privacy guide.
pub fn contact(conn: &mut DbConn, tenant_id: &str) -> QueryResult<crate::domain::requirements::Contact> {
    let (email, phone): (String, String) =
        tenants::table.find(tenant_id).select((tenants::contact_email, tenants::contact_phone)).get_result(conn)?;
    Ok(crate::domain::requirements::Contact { email, phone })
}

/// The tenant's name ("" for an unknown id).
pub fn name_of(conn: &mut DbConn, tenant_id: &str) -> QueryResult<String> {
    Ok(tenants::table.find(tenant_id).select(tenants::name).first(conn).optional()?.unwrap_or_default())
}

/// A member of a tenant as the Members page lists it.
#[derive(Debug, Clone, Queryable)]
pub struct MemberRow {
    pub user_id: String,
    pub name: String,
    pub email: String,
    pub role: String,
    pub joined_at: i64,
}

/// The tenant's members, admins first, then by name.
pub fn member_rows(conn: &mut DbConn, tenant_id: &str) -> QueryResult<Vec<MemberRow>> {
    tenant_members::table
        .inner_join(users::table)
        .filter(tenant_members::tenant_id.eq(tenant_id))
        .select((users::id, users::name, users::email, tenant_members::role, tenant_members::created_at))
        .order((tenant_members::role.asc(), users::name.asc(), users::id.asc()))
        .load(conn)
}

/// The role of `user_id` in the tenant, if a member.
pub fn role_of(conn: &mut DbConn, tenant_id: &str, user_id: &str) -> QueryResult<Option<String>> {
    tenant_members::table
        .filter(tenant_members::tenant_id.eq(tenant_id))
        .filter(tenant_members::user_id.eq(user_id))
        .select(tenant_members::role)
        .get_result(conn)
        .optional()
}

/// The role of the member with this e-mail in the tenant, if one.
pub fn role_of_email(conn: &mut DbConn, tenant_id: &str, email: &str) -> QueryResult<Option<String>> {
    tenant_members::table
        .inner_join(users::table)
        .filter(tenant_members::tenant_id.eq(tenant_id))
        .filter(users::email.eq(email))
        .select(tenant_members::role)
        .get_result(conn)
        .optional()
}

pub fn admin_count(conn: &mut DbConn, tenant_id: &str) -> QueryResult<i64> {
    tenant_members::table
        .filter(tenant_members::tenant_id.eq(tenant_id))
        .filter(tenant_members::role.eq("admin"))
        .count()
        .get_result(conn)
}

pub fn add_member(conn: &mut DbConn, tenant_id: &str, user_id: &str, role: &str, now: i64) -> QueryResult<()> {
    diesel::insert_into(tenant_members::table)
        .values((
            tenant_members::tenant_id.eq(tenant_id),
            tenant_members::user_id.eq(user_id),
            tenant_members::role.eq(role),
            tenant_members::created_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn remove_member(conn: &mut DbConn, tenant_id: &str, user_id: &str) -> QueryResult<usize> {
    diesel::delete(
        tenant_members::table
            .filter(tenant_members::tenant_id.eq(tenant_id))
            .filter(tenant_members::user_id.eq(user_id)),
    )
    .execute(conn)
}

pub fn set_role(conn: &mut DbConn, tenant_id: &str, user_id: &str, role: &str) -> QueryResult<usize> {
    diesel::update(
        tenant_members::table
            .filter(tenant_members::tenant_id.eq(tenant_id))
            .filter(tenant_members::user_id.eq(user_id)),
    )
    .set(tenant_members::role.eq(role))
    .execute(conn)
}

/// Serialises changes to one tenant's team inside a write transaction, so two admins
/// leaving at once cannot both pass the "another admin remains" check. SQLite's write
/// transactions (`BEGIN IMMEDIATE`) are already one at a time; PostgreSQL locks the
/// tenant's row until the transaction ends.
pub fn lock_team(conn: &mut DbConn, tenant_id: &str) -> QueryResult<()> {
    match conn {
        #[cfg(feature = "postgres")]
        super::DbConn::Postgres(_) => {
            diesel::sql_query("SELECT id FROM tenants WHERE id = $1 FOR UPDATE")
                .bind::<Text, _>(tenant_id)
                .execute(conn)?;
            Ok(())
        }
        #[allow(unreachable_patterns)]
        _ => {
            let _ = tenant_id;
            Ok(())
        }
    }
}
