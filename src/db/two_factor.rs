//! The second factor: a user's TOTP secret (sealed) and recovery codes (hashed).

use diesel::prelude::*;

use super::DbConn;
use super::schema::{recovery_codes, user_totp};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = user_totp)]
pub struct TotpRow {
    pub user_id: String,
    /// Sealed with `crate::secrets::Sealer`.
    pub secret_enc: String,
    pub created_at: i64,
    pub confirmed_at: Option<i64>,
    pub last_step: i64,
}

pub fn find(conn: &mut DbConn, user_id: &str) -> QueryResult<Option<TotpRow>> {
    user_totp::table.find(user_id).select(TotpRow::as_select()).get_result(conn).optional()
}

/// Whether the user has a confirmed second factor.
pub fn is_on(conn: &mut DbConn, user_id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        user_totp::table.filter(user_totp::user_id.eq(user_id)).filter(user_totp::confirmed_at.is_not_null()),
    ))
    .get_result(conn)
}

/// Starts (or starts over) an enrolment that is not confirmed yet.
pub fn replace_unconfirmed(conn: &mut DbConn, user_id: &str, secret_enc: &str, now: i64) -> QueryResult<()> {
    diesel::delete(user_totp::table.filter(user_totp::user_id.eq(user_id)).filter(user_totp::confirmed_at.is_null()))
        .execute(conn)?;
    diesel::insert_into(user_totp::table)
        .values((
            user_totp::user_id.eq(user_id),
            user_totp::secret_enc.eq(secret_enc),
            user_totp::created_at.eq(now),
            user_totp::last_step.eq(0i64),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Confirms the enrolment with the step of its first code: 1 when it was unconfirmed.
pub fn confirm(conn: &mut DbConn, user_id: &str, step: i64, now: i64) -> QueryResult<usize> {
    diesel::update(user_totp::table.find(user_id).filter(user_totp::confirmed_at.is_null()))
        .set((user_totp::confirmed_at.eq(now), user_totp::last_step.eq(step)))
        .execute(conn)
}

/// Uses a code's step: 1 when it is later than the last one used (so a code works once,
/// even for two requests at the same moment).
pub fn use_step(conn: &mut DbConn, user_id: &str, step: i64) -> QueryResult<usize> {
    diesel::update(user_totp::table.find(user_id).filter(user_totp::last_step.lt(step)))
        .set(user_totp::last_step.eq(step))
        .execute(conn)
}

pub fn delete(conn: &mut DbConn, user_id: &str) -> QueryResult<usize> {
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id))).execute(conn)?;
    diesel::delete(user_totp::table.find(user_id)).execute(conn)
}

/// Replaces the user's recovery codes by these hashes.
pub fn replace_recovery_codes(conn: &mut DbConn, user_id: &str, hashes: &[String], now: i64) -> QueryResult<()> {
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id))).execute(conn)?;
    for hash in hashes {
        diesel::insert_into(recovery_codes::table)
            .values((
                recovery_codes::id.eq(crate::new_id()),
                recovery_codes::user_id.eq(user_id),
                recovery_codes::code_hash.eq(hash),
                recovery_codes::created_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Uses a recovery code: 1 when the user had it unused.
pub fn use_recovery_code(conn: &mut DbConn, user_id: &str, code_hash: &str, now: i64) -> QueryResult<usize> {
    diesel::update(
        recovery_codes::table
            .filter(recovery_codes::user_id.eq(user_id))
            .filter(recovery_codes::code_hash.eq(code_hash))
            .filter(recovery_codes::used_at.is_null()),
    )
    .set(recovery_codes::used_at.eq(now))
    .execute(conn)
}

/// How many recovery codes the user has left.
pub fn recovery_codes_left(conn: &mut DbConn, user_id: &str) -> QueryResult<i64> {
    recovery_codes::table
        .filter(recovery_codes::user_id.eq(user_id))
        .filter(recovery_codes::used_at.is_null())
        .count()
        .get_result(conn)
}
