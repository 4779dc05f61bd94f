//! Server-side login sessions. The cookie carries only the session id; deleting the
//! row ends the session everywhere, so a copied cookie is worthless after logout.

use diesel::prelude::*;

use super::DbConn;
use super::models::User;
use super::schema::{user_sessions, users};

/// How long a login lasts.
pub const SESSION_TTL_SECS: i64 = 12 * 3600;

pub fn insert(conn: &mut DbConn, id: &str, user_id: &str, now: i64) -> QueryResult<()> {
    diesel::insert_into(user_sessions::table)
        .values((
            user_sessions::id.eq(id),
            user_sessions::user_id.eq(user_id),
            user_sessions::created_at.eq(now),
            user_sessions::expires_at.eq(now + SESSION_TTL_SECS),
        ))
        .execute(conn)
        .map(|_| ())
}

/// The user of a live session.
pub fn find_user(conn: &mut DbConn, session_id: &str, now: i64) -> QueryResult<Option<User>> {
    user_sessions::table
        .inner_join(users::table)
        .filter(user_sessions::id.eq(session_id))
        .filter(user_sessions::expires_at.gt(now))
        .select(User::as_select())
        .get_result(conn)
        .optional()
}

pub fn delete(conn: &mut DbConn, session_id: &str) -> QueryResult<usize> {
    diesel::delete(user_sessions::table.find(session_id)).execute(conn)
}

pub fn delete_expired(conn: &mut DbConn, now: i64) -> QueryResult<usize> {
    diesel::delete(user_sessions::table.filter(user_sessions::expires_at.le(now))).execute(conn)
}
