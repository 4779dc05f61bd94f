//! Outgoing e-mail, queued in the same transaction as the change it reports.

use diesel::prelude::*;

use super::DbConn;
use super::models::OutboxEmail;
use super::schema::outbox_emails;

pub fn enqueue(conn: &mut DbConn, to: &str, subject: &str, body: &str, now: i64) -> QueryResult<()> {
    diesel::insert_into(outbox_emails::table)
        .values((
            outbox_emails::id.eq(crate::new_id()),
            outbox_emails::to_address.eq(to),
            outbox_emails::subject.eq(subject),
            outbox_emails::body_text.eq(body),
            outbox_emails::status.eq("pending"),
            outbox_emails::created_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn list_recent(conn: &mut DbConn, limit: i64) -> QueryResult<Vec<OutboxEmail>> {
    outbox_emails::table
        .select(OutboxEmail::as_select())
        .order((outbox_emails::created_at.desc(), outbox_emails::id.desc()))
        .limit(limit)
        .load(conn)
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<OutboxEmail>> {
    outbox_emails::table.find(id).select(OutboxEmail::as_select()).get_result(conn).optional()
}
