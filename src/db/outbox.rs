//! Outgoing e-mail, queued in the same transaction as the change it reports, and the
//! bookkeeping of its delivery (`crate::mailer` talks to the SMTP server).
//!
//! # Queuing a message
//!
//! - [`enqueue_letter`] with a [`Letter`]: a message from the catalog (`{key}_subject` and
//!   `{key}_body` in `locales/`, both languages), written in the recipient's language
//!   first (the `users.locale` of the account with that address, or the letter's own
//!   [`Letter::in_locale`]) with the other language below; to an address without an
//!   account and without a language: English, then Chinese. Example:
//!   `enqueue_letter(conn, &Letter::new(&email, "email.invited").arg("tenant", &name), now)?`.
//! - [`to_tenant_admins`]: the same letter to every admin of a tenant, each in their language.
//! - [`enqueue`]: words the caller has already written (subject and plain text); the
//!   HTML part says the same.
//!
//! Each gives a plain-text and an HTML part (`crate::email`), status `pending`, due at once.
//!
//! # Delivery
//!
//! [`claim_next`] marks a due message `sending` (by whom, when) in its own transaction
//! before any SMTP traffic, with a conditional UPDATE, so two instances never both claim
//! it; [`record`] writes the attempt's outcome. A message still `sending` long after its
//! claim is made `uncertain` by [`mark_stale`] and only an operator's [`send_again`]
//! queues it again. The states are `domain::email::EmailStatus`.

use diesel::prelude::*;

use super::DbConn;
use super::audit::{self, Actor};
use super::models::OutboxEmail;
use super::schema::outbox_emails;
use crate::domain::email::{EmailStatus, Next};
use crate::email::{self, Composed};
use crate::i18n::Locale;

/// A message from the catalog to one address (see the module's documentation).
#[derive(Debug, Clone)]
pub struct Letter {
    pub to: String,
    /// The catalog prefix: `{key}_subject` and `{key}_body` (e.g. `email.approved`).
    pub key: String,
    /// Values of the `%{name}` placeholders.
    pub args: Vec<(String, String)>,
    /// The language to write first; `None`: the recipient account's, if any.
    pub locale: Option<Locale>,
}

impl Letter {
    pub fn new(to: impl Into<String>, key: impl Into<String>) -> Self {
        Self { to: to.into(), key: key.into(), args: Vec::new(), locale: None }
    }

    /// Sets a `%{name}` placeholder.
    pub fn arg(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.args.push((name.into(), value.into()));
        self
    }

    /// Writes in this language first, whatever the recipient's account says (e.g. an
    /// invitation to someone without an account, in the inviter's language).
    pub fn in_locale(mut self, locale: Locale) -> Self {
        self.locale = Some(locale);
        self
    }
}

/// Queues a letter (see the module's documentation); returns the message's id.
pub fn enqueue_letter(conn: &mut DbConn, letter: &Letter, now: i64) -> QueryResult<String> {
    let locale = match letter.locale {
        Some(l) => Some(l),
        None => super::users::locale_by_email(conn, &letter.to)?.as_deref().and_then(Locale::parse),
    };
    let args: Vec<(&str, &str)> = letter.args.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    insert(conn, &letter.to, &email::from_catalog(locale, &letter.key, &args), now)
}

/// Queues a message with words the caller wrote (plain text; the HTML part says the same).
pub fn enqueue(conn: &mut DbConn, to: &str, subject: &str, body: &str, now: i64) -> QueryResult<()> {
    insert(conn, to, &email::from_text(subject, body), now).map(drop)
}

fn insert(conn: &mut DbConn, to: &str, message: &Composed, now: i64) -> QueryResult<String> {
    let id = crate::new_id();
    diesel::insert_into(outbox_emails::table)
        .values((
            outbox_emails::id.eq(&id),
            outbox_emails::to_address.eq(to),
            outbox_emails::subject.eq(&message.subject),
            outbox_emails::body_text.eq(&message.text),
            outbox_emails::body_html.eq(Some(&message.html)),
            outbox_emails::locale.eq(message.locale.map(Locale::code)),
            outbox_emails::status.eq(EmailStatus::Pending.as_str()),
            outbox_emails::next_attempt_at.eq(now),
            outbox_emails::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(id)
}

/// Queues one e-mail to each admin of the tenant, each in their language first: the
/// catalog's `{key}_subject` and `{key}_body` with `args`, and the tenant's name as
/// `%{tenant}`.
pub fn to_tenant_admins(
    conn: &mut DbConn,
    tenant_id: &str,
    key: &str,
    args: &[(&str, &str)],
    now: i64,
) -> QueryResult<()> {
    for (to, tenant_name) in super::bindings::tenant_admin_emails(conn, tenant_id)? {
        let letter = args.iter().fold(Letter::new(to, key), |l, (k, v)| l.arg(*k, *v)).arg("tenant", tenant_name);
        enqueue_letter(conn, &letter, now)?;
    }
    Ok(())
}

/// Queues one e-mail to `to` from the catalog (`{key}_subject`, `{key}_body` with
/// `args`), in the recipient account's language first (see [`enqueue_letter`]).
pub fn to_address(conn: &mut DbConn, to: &str, key: &str, args: &[(&str, &str)], now: i64) -> QueryResult<()> {
    let letter = args.iter().fold(Letter::new(to, key), |l, (k, v)| l.arg(*k, *v));
    enqueue_letter(conn, &letter, now).map(drop)
}

pub fn list_recent(conn: &mut DbConn, limit: i64) -> QueryResult<Vec<OutboxEmail>> {
    list(conn, None, limit, 0)
}

/// Messages newest first, of one status or all.
pub fn list(conn: &mut DbConn, status: Option<EmailStatus>, limit: i64, offset: i64) -> QueryResult<Vec<OutboxEmail>> {
    let mut query = outbox_emails::table
        .select(OutboxEmail::as_select())
        .order((outbox_emails::created_at.desc(), outbox_emails::id.desc()))
        .limit(limit)
        .offset(offset)
        .into_boxed();
    if let Some(s) = status {
        query = query.filter(outbox_emails::status.eq(s.as_str()));
    }
    query.load(conn)
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<OutboxEmail>> {
    outbox_emails::table.find(id).select(OutboxEmail::as_select()).get_result(conn).optional()
}

/// How many messages are in each status.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub pending: i64,
    pub sending: i64,
    pub sent: i64,
    pub failed: i64,
    pub uncertain: i64,
}

impl Counts {
    pub fn of(&self, status: EmailStatus) -> i64 {
        match status {
            EmailStatus::Pending => self.pending,
            EmailStatus::Sending => self.sending,
            EmailStatus::Sent => self.sent,
            EmailStatus::Failed => self.failed,
            EmailStatus::Uncertain => self.uncertain,
        }
    }

    pub fn total(&self) -> i64 {
        self.pending + self.sending + self.sent + self.failed + self.uncertain
    }

    /// Messages an operator has to look at: refused for good, or perhaps not sent.
    pub fn needing_attention(&self) -> i64 {
        self.failed + self.uncertain
    }
}

pub fn counts(conn: &mut DbConn) -> QueryResult<Counts> {
    let rows: Vec<(String, i64)> = outbox_emails::table
        .group_by(outbox_emails::status)
        .select((outbox_emails::status, diesel::dsl::count_star()))
        .load(conn)?;
    let mut counts = Counts::default();
    for (status, n) in rows {
        match EmailStatus::parse(&status) {
            Some(EmailStatus::Pending) => counts.pending = n,
            Some(EmailStatus::Sending) => counts.sending = n,
            Some(EmailStatus::Sent) => counts.sent = n,
            Some(EmailStatus::Failed) => counts.failed = n,
            Some(EmailStatus::Uncertain) => counts.uncertain = n,
            None => {}
        }
    }
    Ok(counts)
}

/// Claims the next due message for `worker`: `sending`, one more attempt. The UPDATE
/// repeats the condition it was picked by (`pending`, due), so when two instances pick
/// the same message only one UPDATE changes it (PostgreSQL re-reads the row after the
/// other's commit; SQLite's `BEGIN IMMEDIATE` lets one writer in at a time); the other
/// moves on to the next candidate.
pub fn claim_next(conn: &mut DbConn, worker: &str, now: i64) -> QueryResult<Option<OutboxEmail>> {
    super::write_tx(conn, |conn| {
        let due: Vec<String> = outbox_emails::table
            .filter(outbox_emails::status.eq(EmailStatus::Pending.as_str()))
            .filter(outbox_emails::next_attempt_at.le(now))
            .order((outbox_emails::next_attempt_at.asc(), outbox_emails::id.asc()))
            .select(outbox_emails::id)
            .limit(8)
            .load(conn)?;
        for id in due {
            let claimed = diesel::update(
                outbox_emails::table
                    .filter(outbox_emails::id.eq(&id))
                    .filter(outbox_emails::status.eq(EmailStatus::Pending.as_str()))
                    .filter(outbox_emails::next_attempt_at.le(now)),
            )
            .set((
                outbox_emails::status.eq(EmailStatus::Sending.as_str()),
                outbox_emails::claimed_by.eq(worker),
                outbox_emails::claimed_at.eq(now),
                outbox_emails::attempts.eq(outbox_emails::attempts + 1),
                outbox_emails::last_attempt_at.eq(now),
            ))
            .execute(conn)?;
            if claimed == 1 {
                return find(conn, &id);
            }
        }
        Ok(None)
    })
}

/// Writes an attempt's outcome, if `worker` still holds the claim. `answer` is the
/// server's refusal (or what failed on the way), kept for the operator. False when the
/// claim was no longer this worker's.
pub fn record(
    conn: &mut DbConn,
    id: &str,
    worker: &str,
    next: &Next,
    answer: Option<&str>,
    now: i64,
) -> QueryResult<bool> {
    let mine = outbox_emails::table
        .filter(outbox_emails::id.eq(id))
        .filter(outbox_emails::status.eq(EmailStatus::Sending.as_str()))
        .filter(outbox_emails::claimed_by.eq(worker));
    let changed = match next {
        Next::Sent => diesel::update(mine)
            .set((
                outbox_emails::status.eq(EmailStatus::Sent.as_str()),
                outbox_emails::sent_at.eq(now),
                outbox_emails::last_error.eq(None::<String>),
            ))
            .execute(conn)?,
        Next::RetryAt(at) => diesel::update(mine)
            .set((
                outbox_emails::status.eq(EmailStatus::Pending.as_str()),
                outbox_emails::next_attempt_at.eq(*at),
                outbox_emails::last_error.eq(answer),
                outbox_emails::claimed_by.eq(None::<String>),
                outbox_emails::claimed_at.eq(None::<i64>),
            ))
            .execute(conn)?,
        Next::Failed | Next::Uncertain => {
            let status = if *next == Next::Failed { EmailStatus::Failed } else { EmailStatus::Uncertain };
            diesel::update(mine)
                .set((outbox_emails::status.eq(status.as_str()), outbox_emails::last_error.eq(answer)))
                .execute(conn)?
        }
    };
    Ok(changed == 1)
}

/// Makes every message whose claim is older than `stale_after_secs` `uncertain`: the
/// instance sending it stopped mid-send, so it may have left. One transaction, with an
/// audit row per message. Returns how many.
pub fn mark_stale(conn: &mut DbConn, stale_after_secs: i64, now: i64) -> QueryResult<usize> {
    super::write_tx(conn, |conn| {
        let stale: Vec<OutboxEmail> = outbox_emails::table
            .filter(outbox_emails::status.eq(EmailStatus::Sending.as_str()))
            .filter(outbox_emails::claimed_at.le(now - stale_after_secs))
            .select(OutboxEmail::as_select())
            .load(conn)?;
        let mut marked = 0;
        for m in stale {
            let changed = diesel::update(
                outbox_emails::table
                    .filter(outbox_emails::id.eq(&m.id))
                    .filter(outbox_emails::status.eq(EmailStatus::Sending.as_str()))
                    .filter(outbox_emails::claimed_at.eq(m.claimed_at)),
            )
            .set(outbox_emails::status.eq(EmailStatus::Uncertain.as_str()))
            .execute(conn)?;
            if changed == 1 {
                marked += 1;
                audit::write(
                    conn,
                    audit::Record {
                        actor: &Actor::system(),
                        tenant_id: None,
                        action: "email.uncertain",
                        subject: &format!("email:{}", m.id),
                        before: Some(&serde_json::json!({
                            "status": "sending", "claimed_by": m.claimed_by, "claimed_at": m.claimed_at,
                        })),
                        after: Some(&serde_json::json!({ "status": "uncertain" })),
                    },
                    now,
                )?;
            }
        }
        Ok(marked)
    })
}

/// What an operator's "Send again" came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendAgain {
    /// Back in the queue, due at once, with a full set of attempts.
    Queued,
    /// Not failed or uncertain (any more): left as it is.
    NotAllowed(EmailStatus),
}

/// Puts a failed or uncertain message back in the queue, in one transaction with its
/// audit row. `None` when there is no such message.
pub fn send_again(conn: &mut DbConn, actor: &Actor, id: &str, now: i64) -> QueryResult<Option<SendAgain>> {
    super::write_tx(conn, |conn| {
        let Some(before) = find(conn, id)? else { return Ok(None) };
        if !before.status.can_send_again() {
            return Ok(Some(SendAgain::NotAllowed(before.status)));
        }
        let changed = diesel::update(
            outbox_emails::table
                .filter(outbox_emails::id.eq(id))
                .filter(outbox_emails::status.eq(before.status.as_str())),
        )
        .set((
            outbox_emails::status.eq(EmailStatus::Pending.as_str()),
            outbox_emails::next_attempt_at.eq(now),
            outbox_emails::attempts.eq(0),
            outbox_emails::last_error.eq(None::<String>),
            outbox_emails::claimed_by.eq(None::<String>),
            outbox_emails::claimed_at.eq(None::<i64>),
        ))
        .execute(conn)?;
        if changed != 1 {
            let now_status = find(conn, id)?.map_or(before.status, |m| m.status);
            return Ok(Some(SendAgain::NotAllowed(now_status)));
        }
        audit::write(
            conn,
            audit::Record {
                actor,
                tenant_id: None,
                action: "email.sent_again",
                subject: &format!("email:{id}"),
                before: Some(&serde_json::json!({
                    "status": before.status.as_str(), "to": before.to_address,
                    "attempts": before.attempts, "last_error": before.last_error,
                })),
                after: Some(&serde_json::json!({ "status": "pending" })),
            },
            now,
        )?;
        Ok(Some(SendAgain::Queued))
    })
}
