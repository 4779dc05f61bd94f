//! Invitations to a workspace. Every query names the tenant, except the look-up by the
//! link's token hash (the link is the invitee's proof); only the hash is stored.

use diesel::prelude::*;

use super::DbConn;
use super::schema::{invitations, tenants};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = invitations)]
pub struct Invitation {
    pub id: String,
    pub tenant_id: String,
    pub email: String,
    pub role: String,
    pub invited_by: Option<String>,
    pub created_at: i64,
    pub sent_at: i64,
    pub expires_at: i64,
    pub accepted_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

pub struct NewInvitation<'a> {
    pub id: &'a str,
    pub tenant_id: &'a str,
    pub email: &'a str,
    pub role: &'a str,
    pub token_hash: &'a str,
    pub invited_by: &'a str,
    pub expires_at: i64,
}

pub fn insert(conn: &mut DbConn, i: &NewInvitation<'_>, now: i64) -> QueryResult<()> {
    diesel::insert_into(invitations::table)
        .values((
            invitations::id.eq(i.id),
            invitations::tenant_id.eq(i.tenant_id),
            invitations::email.eq(i.email),
            invitations::role.eq(i.role),
            invitations::token_hash.eq(i.token_hash),
            invitations::invited_by.eq(i.invited_by),
            invitations::created_at.eq(now),
            invitations::sent_at.eq(now),
            invitations::expires_at.eq(i.expires_at),
        ))
        .execute(conn)
        .map(|_| ())
}

/// The tenant's invitations that are neither accepted nor revoked (expired ones too), newest first.
pub fn list_open(conn: &mut DbConn, tenant_id: &str) -> QueryResult<Vec<Invitation>> {
    invitations::table
        .filter(invitations::tenant_id.eq(tenant_id))
        .filter(invitations::accepted_at.is_null())
        .filter(invitations::revoked_at.is_null())
        .select(Invitation::as_select())
        .order((invitations::created_at.desc(), invitations::id.desc()))
        .load(conn)
}

/// The tenant's open invitation for this address.
pub fn find_open_for_email(conn: &mut DbConn, tenant_id: &str, email: &str) -> QueryResult<Option<Invitation>> {
    invitations::table
        .filter(invitations::tenant_id.eq(tenant_id))
        .filter(invitations::email.eq(email))
        .filter(invitations::accepted_at.is_null())
        .filter(invitations::revoked_at.is_null())
        .select(Invitation::as_select())
        .get_result(conn)
        .optional()
}

/// The tenant's open invitation with this id (another tenant's id finds nothing).
pub fn find_open(conn: &mut DbConn, tenant_id: &str, id: &str) -> QueryResult<Option<Invitation>> {
    invitations::table
        .filter(invitations::id.eq(id))
        .filter(invitations::tenant_id.eq(tenant_id))
        .filter(invitations::accepted_at.is_null())
        .filter(invitations::revoked_at.is_null())
        .select(Invitation::as_select())
        .get_result(conn)
        .optional()
}

/// The invitation behind a link, with its workspace's name.
pub fn find_by_hash(conn: &mut DbConn, token_hash: &str) -> QueryResult<Option<(Invitation, String)>> {
    invitations::table
        .inner_join(tenants::table)
        .filter(invitations::token_hash.eq(token_hash))
        .select((Invitation::as_select(), tenants::name))
        .get_result(conn)
        .optional()
}

/// A new link and a new week for an open invitation of the tenant.
pub fn renew(
    conn: &mut DbConn,
    tenant_id: &str,
    id: &str,
    token_hash: &str,
    now: i64,
    expires_at: i64,
) -> QueryResult<usize> {
    diesel::update(
        invitations::table
            .filter(invitations::id.eq(id))
            .filter(invitations::tenant_id.eq(tenant_id))
            .filter(invitations::accepted_at.is_null())
            .filter(invitations::revoked_at.is_null()),
    )
    .set((invitations::token_hash.eq(token_hash), invitations::sent_at.eq(now), invitations::expires_at.eq(expires_at)))
    .execute(conn)
}

pub fn revoke(conn: &mut DbConn, tenant_id: &str, id: &str, now: i64) -> QueryResult<usize> {
    diesel::update(
        invitations::table
            .filter(invitations::id.eq(id))
            .filter(invitations::tenant_id.eq(tenant_id))
            .filter(invitations::accepted_at.is_null())
            .filter(invitations::revoked_at.is_null()),
    )
    .set(invitations::revoked_at.eq(now))
    .execute(conn)
}

/// Accepts an open, unexpired invitation: 1 when it was (so a link works once).
pub fn accept(conn: &mut DbConn, id: &str, user_id: &str, now: i64) -> QueryResult<usize> {
    diesel::update(
        invitations::table
            .filter(invitations::id.eq(id))
            .filter(invitations::accepted_at.is_null())
            .filter(invitations::revoked_at.is_null())
            .filter(invitations::expires_at.gt(now)),
    )
    .set((invitations::accepted_at.eq(now), invitations::accepted_by.eq(user_id)))
    .execute(conn)
}
