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

/// Queues one e-mail to each admin of the tenant, in English then Simplified Chinese:
/// the catalog's `{key}_subject` and `{key}_body` with `args`, and the tenant's name as
/// `%{tenant}`.
pub fn to_tenant_admins(
    conn: &mut DbConn,
    tenant_id: &str,
    key: &str,
    args: &[(&str, &str)],
    now: i64,
) -> QueryResult<()> {
    use crate::i18n::Locale::{En, ZhCn};
    let (subject_key, body_key) = (format!("{key}_subject"), format!("{key}_body"));
    for (to, tenant_name) in super::bindings::tenant_admin_emails(conn, tenant_id)? {
        let mut all = args.to_vec();
        all.push(("tenant", &tenant_name));
        let subject = format!("{} / {}", En.t_with(&subject_key, &all), ZhCn.t_with(&subject_key, &all));
        let body = format!("{}\n\n---\n\n{}", En.t_with(&body_key, &all), ZhCn.t_with(&body_key, &all));
        enqueue(conn, &to, &subject, &body, now)?;
    }
    Ok(())
}

/// Queues one e-mail to `to`, in English then Simplified Chinese: the catalog's
/// `{key}_subject` and `{key}_body` with `args`.
pub fn to_address(conn: &mut DbConn, to: &str, key: &str, args: &[(&str, &str)], now: i64) -> QueryResult<()> {
    use crate::i18n::Locale::{En, ZhCn};
    let (subject_key, body_key) = (format!("{key}_subject"), format!("{key}_body"));
    let subject = format!("{} / {}", En.t_with(&subject_key, args), ZhCn.t_with(&subject_key, args));
    let body = format!("{}\n\n---\n\n{}", En.t_with(&body_key, args), ZhCn.t_with(&body_key, args));
    enqueue(conn, to, &subject, &body, now)
}
