//! Failed-login bookkeeping for slowing down password guessing.

use diesel::prelude::*;

use super::DbConn;
use super::schema::login_failures;

pub fn record_failure(conn: &mut DbConn, email: &str, ip: &str, now: i64) -> QueryResult<()> {
    diesel::insert_into(login_failures::table)
        .values((
            login_failures::id.eq(crate::new_id()),
            login_failures::email.eq(email),
            login_failures::ip.eq(ip),
            login_failures::at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Failures since `since` for this account and from this address, and the oldest of
/// them (which decides when the lock lifts).
pub fn recent_failures(conn: &mut DbConn, email: &str, ip: &str, since: i64) -> QueryResult<FailureCounts> {
    let by_email: Vec<i64> = login_failures::table
        .filter(login_failures::email.eq(email))
        .filter(login_failures::at.gt(since))
        .select(login_failures::at)
        .order(login_failures::at.desc())
        .load(conn)?;
    let by_ip: Vec<i64> = login_failures::table
        .filter(login_failures::ip.eq(ip))
        .filter(login_failures::at.gt(since))
        .select(login_failures::at)
        .order(login_failures::at.desc())
        .load(conn)?;
    Ok(FailureCounts { by_email, by_ip })
}

/// Newest first.
#[derive(Debug, Default)]
pub struct FailureCounts {
    pub by_email: Vec<i64>,
    pub by_ip: Vec<i64>,
}

pub fn clear_for_email(conn: &mut DbConn, email: &str) -> QueryResult<usize> {
    diesel::delete(login_failures::table.filter(login_failures::email.eq(email))).execute(conn)
}

pub fn prune(conn: &mut DbConn, before: i64) -> QueryResult<usize> {
    diesel::delete(login_failures::table.filter(login_failures::at.lt(before))).execute(conn)
}
