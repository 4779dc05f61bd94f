//! Counted actions for rate limits (`domain::throttle::Counted`): sign-ups per client
//! address, password-reset requests per e-mail and per address.

use diesel::prelude::*;

use super::DbConn;
use super::schema::rate_events;
use crate::domain::throttle::Counted;

pub fn record(conn: &mut DbConn, kind: Counted, key: &str, now: i64) -> QueryResult<()> {
    diesel::insert_into(rate_events::table)
        .values((
            rate_events::id.eq(crate::new_id()),
            rate_events::kind.eq(kind.as_str()),
            rate_events::key.eq(key),
            rate_events::at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Times of the events of this kind and key since `since`, newest first.
pub fn times_since(conn: &mut DbConn, kind: Counted, key: &str, since: i64) -> QueryResult<Vec<i64>> {
    rate_events::table
        .filter(rate_events::kind.eq(kind.as_str()))
        .filter(rate_events::key.eq(key))
        .filter(rate_events::at.gt(since))
        .select(rate_events::at)
        .order(rate_events::at.desc())
        .load(conn)
}

pub fn prune(conn: &mut DbConn, before: i64) -> QueryResult<usize> {
    diesel::delete(rate_events::table.filter(rate_events::at.lt(before))).execute(conn)
}
