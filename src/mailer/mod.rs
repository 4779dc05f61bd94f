//! E-mail delivery: a background task that sends the outbox (`db::outbox`) over SMTP.
//!
//! Why its own task and not a job kind of `crate::worker`: a job whose instance dies is
//! taken over by another once its lock expires and run again, which is right for asking
//! WeChat something twice but wrong for an e-mail, which must leave at most once. The
//! outbox row is its own claim ('sending', by whom, when): a message found 'sending' long
//! after its claim is made 'uncertain' and waits for an operator's "Send again"; it is
//! never sent again by itself. Retries of refused messages are the row's own
//! `next_attempt_at`, and the outbox is already the queue, so a job would only copy it.
//!
//! Started by `startup` when `MINIHOST_SMTP_URL` is set; without it messages stay
//! pending in the outbox (and the sandbox's dev mailbox shows them). It stops with the job
//! worker; a message being handed over when the stop comes is finished first (every
//! attempt is bounded by the SMTP timeout), so a clean stop leaves nothing 'sending'.

pub mod smtp;

use std::time::Duration;

use lettre::message::Mailbox;
use tokio::sync::watch;

use crate::db::models::OutboxEmail;
use crate::db::{self, DbError, DbPool, outbox};
use crate::domain::email::{Attempt, Next, RetryPolicy};
use smtp::{Outgoing, SmtpTarget};

/// What the delivery needs from the configuration.
#[derive(Debug, Clone)]
pub struct MailerSettings {
    pub target: SmtpTarget,
    pub from: Mailbox,
    pub retry: RetryPolicy,
    /// The pause when nothing is due.
    pub poll: Duration,
    /// The longest one attempt may take, from connecting to the server's last answer.
    pub timeout: Duration,
}

impl MailerSettings {
    /// A claim older than this has no instance behind it any more: an attempt never takes
    /// longer than the timeout, so three of them (and five minutes at least) is sure.
    pub fn stale_after_secs(&self) -> i64 {
        i64::try_from(self.timeout.as_secs().saturating_mul(3)).unwrap_or(i64::MAX).max(300)
    }
}

/// Starts the delivery; it ends when `stop` turns true.
pub fn start(pool: DbPool, settings: MailerSettings, stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(run(pool, settings, stop))
}

async fn run(pool: DbPool, settings: MailerSettings, mut stop: watch::Receiver<bool>) {
    let me = format!("mailer-{}", crate::new_id());
    tracing::info!(mailer = %me, smtp = %settings.target.describe(), "e-mail delivery started");
    // Looked for at start (a previous run of this or another instance may have died
    // mid-send) and then now and then: the check is a read unless something is found.
    let sweep_every = settings.poll.max(Duration::from_secs(10));
    let mut next_sweep = tokio::time::Instant::now();
    while !*stop.borrow() {
        if tokio::time::Instant::now() >= next_sweep {
            sweep(&pool, settings.stale_after_secs()).await;
            next_sweep = tokio::time::Instant::now() + sweep_every;
        }
        let worker = me.clone();
        let claimed =
            db::run(&pool, move |c| -> Result<_, DbError> { Ok(outbox::claim_next(c, &worker, crate::now())?) }).await;
        let pause = match claimed {
            Ok(Some(message)) => {
                send(&pool, &settings, &me, message).await;
                continue;
            }
            Ok(None) => settings.poll,
            Err(e) => {
                tracing::warn!(error = %e, "e-mail delivery could not read the outbox");
                settings.poll * 5
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = stop.changed() => {}
        }
    }
    tracing::info!(mailer = %me, "e-mail delivery stopped");
}

/// Makes stale claims 'uncertain'.
async fn sweep(pool: &DbPool, stale_after_secs: i64) {
    let marked =
        db::run(pool, move |c| -> Result<_, DbError> { Ok(outbox::mark_stale(c, stale_after_secs, crate::now())?) })
            .await;
    match marked {
        Ok(0) => {}
        Ok(n) => {
            metrics::counter!("minihost_emails_total", "outcome" => "uncertain").increment(n as u64);
            tracing::warn!(
                count = n,
                "e-mails were being sent when their instance stopped: marked uncertain for the operator"
            );
        }
        Err(e) => tracing::warn!(error = %e, "could not look for e-mails left sending"),
    }
}

/// One attempt at a claimed message, and its outcome written down.
async fn send(pool: &DbPool, settings: &MailerSettings, me: &str, m: OutboxEmail) {
    let outgoing = Outgoing {
        id: &m.id,
        from: &settings.from,
        to: &m.to_address,
        subject: &m.subject,
        text: &m.body_text,
        html: m.body_html.as_deref(),
    };
    let attempt = smtp::deliver(&settings.target, settings.timeout, &outgoing).await;
    let now = crate::now();
    let next = settings.retry.next(&attempt, m.attempts, now);
    let answer = match &attempt {
        Attempt::Accepted => None,
        Attempt::Temporary(a) | Attempt::Permanent(a) | Attempt::Lost(a) => Some(a.clone()),
    };
    let outcome = match next {
        Next::Sent => "sent",
        Next::RetryAt(_) => "retry",
        Next::Failed => "failed",
        Next::Uncertain => "uncertain",
    };
    metrics::counter!("minihost_emails_total", "outcome" => outcome).increment(1);
    match (&next, &answer) {
        (Next::Sent, _) => tracing::info!(email.id = %m.id, attempts = m.attempts, "e-mail sent"),
        (Next::RetryAt(at), Some(a)) => {
            tracing::warn!(email.id = %m.id, attempts = m.attempts, retry_at = at, answer = %a, "e-mail refused for now; tried again later")
        }
        (_, a) => tracing::warn!(email.id = %m.id, attempts = m.attempts, outcome, answer = ?a, "e-mail not sent"),
    }
    // The outcome is worth a few tries: unrecorded, the message would end up uncertain.
    for wait in [0, 1, 2, 4] {
        tokio::time::sleep(Duration::from_secs(wait)).await;
        let (id, worker, next, answer) = (m.id.clone(), me.to_string(), next.clone(), answer.clone());
        let recorded = db::run(pool, move |c| -> Result<_, DbError> {
            Ok(outbox::record(c, &id, &worker, &next, answer.as_deref(), now)?)
        })
        .await;
        match recorded {
            Ok(true) => return,
            Ok(false) => {
                tracing::warn!(email.id = %m.id, "the e-mail's claim was no longer ours; its outcome is not recorded");
                return;
            }
            Err(e) => tracing::warn!(email.id = %m.id, error = %e, "could not record the e-mail's outcome"),
        }
    }
    tracing::error!(email.id = %m.id, outcome, "the e-mail's outcome could not be recorded; it will show as uncertain");
}
