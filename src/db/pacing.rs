//! Call pacing shared by every instance on the database: each paced WeChat call takes
//! the next free slot of its key (a campaign's call rate cap). One statement takes a
//! slot, so two instances never take the same one.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use super::DbConn;

#[derive(QueryableByName)]
struct Taken {
    #[diesel(sql_type = BigInt)]
    next_at_us: i64,
}

/// Takes the next slot of `key`, `interval_us` apart from the one before and not before
/// `now_us`; returns its time (microseconds since the epoch). A key not yet used starts now.
pub fn take_slot(conn: &mut DbConn, key: &str, interval_us: i64, now_us: i64) -> QueryResult<i64> {
    let taken: Taken = diesel::sql_query(
        "INSERT INTO call_pacers (key, next_at_us) VALUES ($1, $2 + $3) \
         ON CONFLICT (key) DO UPDATE SET next_at_us = \
           (CASE WHEN call_pacers.next_at_us > $2 THEN call_pacers.next_at_us ELSE $2 END) + $3 \
         RETURNING next_at_us",
    )
    .bind::<Text, _>(key)
    .bind::<BigInt, _>(now_us)
    .bind::<BigInt, _>(interval_us)
    .get_result(conn)?;
    Ok(taken.next_at_us - interval_us)
}

/// Forgets a key (its campaign ended).
pub fn forget(conn: &mut DbConn, key: &str) -> QueryResult<usize> {
    use super::schema::call_pacers;
    diesel::delete(call_pacers::table.filter(call_pacers::key.eq(key))).execute(conn)
}
