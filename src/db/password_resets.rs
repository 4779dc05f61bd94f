//! "Forgot password?" links. Only the SHA-256 of a link's token is stored.

use diesel::prelude::*;

use super::DbConn;
use super::schema::password_resets;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = password_resets)]
pub struct PasswordReset {
    pub id: String,
    pub user_id: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

pub fn insert(conn: &mut DbConn, user_id: &str, token_hash: &str, now: i64, expires_at: i64) -> QueryResult<()> {
    diesel::insert_into(password_resets::table)
        .values((
            password_resets::id.eq(crate::new_id()),
            password_resets::user_id.eq(user_id),
            password_resets::token_hash.eq(token_hash),
            password_resets::created_at.eq(now),
            password_resets::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn find_by_hash(conn: &mut DbConn, token_hash: &str) -> QueryResult<Option<PasswordReset>> {
    password_resets::table
        .filter(password_resets::token_hash.eq(token_hash))
        .select(PasswordReset::as_select())
        .get_result(conn)
        .optional()
}

/// Uses the link: 1 when it was still unused (the condition is in the UPDATE, so of two
/// requests with the same link only one changes the password).
pub fn mark_used(conn: &mut DbConn, id: &str, now: i64) -> QueryResult<usize> {
    diesel::update(password_resets::table.find(id).filter(password_resets::used_at.is_null()))
        .set(password_resets::used_at.eq(now))
        .execute(conn)
}

/// Closes every other link of the user (a new password makes them pointless).
pub fn close_all_for_user(conn: &mut DbConn, user_id: &str, now: i64) -> QueryResult<usize> {
    diesel::update(
        password_resets::table.filter(password_resets::user_id.eq(user_id)).filter(password_resets::used_at.is_null()),
    )
    .set(password_resets::used_at.eq(now))
    .execute(conn)
}
