//! Tenants (workspaces) and their members. A member reaches a tenant only through
//! queries that join on the membership in SQL.

use diesel::prelude::*;

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

/// Every tenant, for operators.
pub fn list_all(conn: &mut DbConn) -> QueryResult<Vec<Tenant>> {
    tenants::table.select(Tenant::as_select()).order(tenants::created_at.desc()).load(conn)
}

/// The legal subject of the tenant's linked official account, when one is linked.
pub fn linked_oa_subject(conn: &mut DbConn, tenant_id: &str) -> QueryResult<Option<String>> {
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
