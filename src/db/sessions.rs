//! Server-side login sessions. The cookie carries only the session id; deleting the
//! row ends the session everywhere, so a copied cookie is worthless after logout.
//!
//! A session signs its user in while it is younger than the absolute timeout and was seen
//! within the idle timeout (`domain::session::Timeouts`), both checked in the one read of
//! every request. The account page names a session by its `public_id`, never by its id.

use diesel::prelude::*;

use super::DbConn;
use super::models::User;
use super::schema::{user_sessions, user_totp, users};
use crate::domain::session::{TOUCH_EVERY_SECS, Timeouts};

/// A new login: where it came from.
pub struct NewSession<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub user_agent: &'a str,
    pub ip: &'a str,
}

pub fn insert(conn: &mut DbConn, s: &NewSession<'_>, timeouts: &Timeouts, now: i64) -> QueryResult<()> {
    diesel::insert_into(user_sessions::table)
        .values((
            user_sessions::id.eq(s.id),
            user_sessions::user_id.eq(s.user_id),
            user_sessions::created_at.eq(now),
            user_sessions::expires_at.eq(timeouts.absolute_end(now)),
            user_sessions::last_seen_at.eq(now),
            user_sessions::user_agent.eq(s.user_agent),
            user_sessions::ip.eq(s.ip),
            user_sessions::public_id.eq(crate::new_id()),
        ))
        .execute(conn)
        .map(|_| ())
}

/// The live session behind a cookie, as the request's context needs it.
#[derive(Debug, Clone)]
pub struct LiveSession {
    pub user: User,
    pub public_id: String,
    pub last_seen_at: i64,
    /// The user has a confirmed second factor.
    pub two_factor: bool,
}

/// The user of a live session (one indexed read: the session, its user, and whether the
/// user has a second factor).
pub fn find_live(conn: &mut DbConn, session_id: &str, now: i64, t: &Timeouts) -> QueryResult<Option<LiveSession>> {
    let row: Option<(User, String, i64, Option<i64>)> = user_sessions::table
        .inner_join(users::table)
        .left_join(user_totp::table.on(user_totp::user_id.eq(user_sessions::user_id)))
        .filter(user_sessions::id.eq(session_id))
        .filter(user_sessions::created_at.gt(t.created_after(now)))
        .filter(user_sessions::last_seen_at.gt(t.seen_after(now)))
        .select((
            User::as_select(),
            user_sessions::public_id,
            user_sessions::last_seen_at,
            user_totp::confirmed_at.nullable(),
        ))
        .get_result(conn)
        .optional()?;
    Ok(row.map(|(user, public_id, last_seen_at, confirmed)| LiveSession {
        user,
        public_id,
        last_seen_at,
        two_factor: confirmed.is_some(),
    }))
}

/// Records activity, at most once a minute per session (the condition is in the UPDATE, so
/// two requests in the same minute write once).
pub fn touch(conn: &mut DbConn, session_id: &str, now: i64) -> QueryResult<usize> {
    diesel::update(
        user_sessions::table
            .filter(user_sessions::id.eq(session_id))
            .filter(user_sessions::last_seen_at.le(now - TOUCH_EVERY_SECS)),
    )
    .set(user_sessions::last_seen_at.eq(now))
    .execute(conn)
}

/// One of a user's sessions as the account page lists it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = user_sessions)]
pub struct SessionRow {
    #[diesel(column_name = id)]
    pub session_id: String,
    pub public_id: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub user_agent: String,
    pub ip: String,
}

/// The user's live sessions, the most recently seen first.
pub fn list_live_for_user(conn: &mut DbConn, user_id: &str, now: i64, t: &Timeouts) -> QueryResult<Vec<SessionRow>> {
    user_sessions::table
        .filter(user_sessions::user_id.eq(user_id))
        .filter(user_sessions::created_at.gt(t.created_after(now)))
        .filter(user_sessions::last_seen_at.gt(t.seen_after(now)))
        .select(SessionRow::as_select())
        .order((user_sessions::last_seen_at.desc(), user_sessions::created_at.desc()))
        .load(conn)
}

/// The user's session with this public id (the user's own only).
pub fn find_for_user(conn: &mut DbConn, user_id: &str, public_id: &str) -> QueryResult<Option<SessionRow>> {
    user_sessions::table
        .filter(user_sessions::user_id.eq(user_id))
        .filter(user_sessions::public_id.eq(public_id))
        .select(SessionRow::as_select())
        .get_result(conn)
        .optional()
}

pub fn delete(conn: &mut DbConn, session_id: &str) -> QueryResult<usize> {
    diesel::delete(user_sessions::table.find(session_id)).execute(conn)
}

/// Ends the user's session with this public id; 0 when the user has none such.
pub fn delete_for_user(conn: &mut DbConn, user_id: &str, public_id: &str) -> QueryResult<usize> {
    diesel::delete(
        user_sessions::table.filter(user_sessions::user_id.eq(user_id)).filter(user_sessions::public_id.eq(public_id)),
    )
    .execute(conn)
}

/// Ends every session of the user but `keep`.
pub fn delete_others(conn: &mut DbConn, user_id: &str, keep: &str) -> QueryResult<usize> {
    diesel::delete(user_sessions::table.filter(user_sessions::user_id.eq(user_id)).filter(user_sessions::id.ne(keep)))
        .execute(conn)
}

/// Ends every session of the user.
pub fn delete_all_for_user(conn: &mut DbConn, user_id: &str) -> QueryResult<usize> {
    diesel::delete(user_sessions::table.filter(user_sessions::user_id.eq(user_id))).execute(conn)
}

/// Removes sessions that no longer sign anyone in.
pub fn delete_ended(conn: &mut DbConn, now: i64, t: &Timeouts) -> QueryResult<usize> {
    diesel::delete(user_sessions::table.filter(
        user_sessions::created_at.le(t.created_after(now)).or(user_sessions::last_seen_at.le(t.seen_after(now))),
    ))
    .execute(conn)
}
