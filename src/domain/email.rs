//! The rules of outgoing e-mail: the states of a queued message, what one attempt at
//! handing it to the SMTP server means for it, and when a refused message is tried again.
//!
//! The promise is *at most one delivery*: a message is claimed (`Sending`) before the
//! console talks to the SMTP server, and once the message's data has been handed over,
//! only the server's answer can tell whether it left. Without that answer it is
//! `Uncertain` and waits for a person; it is never sent again by itself.

use super::binding::UnknownValue;

/// Where a queued message stands (`outbox_emails.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailStatus {
    /// Waiting for its next attempt (`next_attempt_at`).
    Pending,
    /// Claimed by one instance, which is talking to the SMTP server about it now.
    Sending,
    /// The SMTP server accepted it.
    Sent,
    /// The SMTP server refused it for good (5xx), or every attempt allowed was refused.
    Failed,
    /// An attempt ended without the server's answer after the message was handed over
    /// (or the instance sending it stopped): it may have left.
    Uncertain,
}

impl EmailStatus {
    pub const ALL: [EmailStatus; 5] = [Self::Pending, Self::Sending, Self::Sent, Self::Failed, Self::Uncertain];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Failed => "failed",
            Self::Uncertain => "uncertain",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Whether an operator may send it again: only when it did not (knowingly) leave.
    pub fn can_send_again(self) -> bool {
        matches!(self, Self::Failed | Self::Uncertain)
    }
}

impl TryFrom<String> for EmailStatus {
    type Error = UnknownValue;
    fn try_from(s: String) -> Result<Self, UnknownValue> {
        Self::parse(&s).ok_or(UnknownValue(s))
    }
}

/// How one attempt at handing a message to the SMTP server ended. The strings are the
/// server's answer (code and text) or what went wrong on the way, for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// The server answered 250 to the message's data.
    Accepted,
    /// Refused for now: a 4xx answer, or no connection, before the message's data was
    /// handed over. Nothing left; trying again is safe.
    Temporary(String),
    /// Refused for good: a 5xx answer (or an address no server could take).
    Permanent(String),
    /// The connection failed after the message's data was handed over and before the
    /// server answered: the message may have left.
    Lost(String),
}

/// What becomes of the message after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    Sent,
    /// Back to `Pending`, to be tried at this time (Unix seconds).
    RetryAt(i64),
    Failed,
    Uncertain,
}

/// The longest wait between two attempts, however many there were.
pub const MAX_BACKOFF_SECS: i64 = 6 * 3600;

/// When a refused message is tried again: after `base_secs`, doubling each time (at most
/// [`MAX_BACKOFF_SECS`]), for at most `max_attempts` attempts in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: i32,
    pub base_secs: i64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { max_attempts: 8, base_secs: 60 }
    }
}

impl RetryPolicy {
    /// The wait after the `attempts`-th attempt was refused for now.
    pub fn backoff_secs(&self, attempts: i32) -> i64 {
        let doublings = u32::try_from(attempts.saturating_sub(1)).unwrap_or(0).min(30);
        self.base_secs.max(1).saturating_mul(1i64 << doublings).min(MAX_BACKOFF_SECS)
    }

    /// What follows an attempt; `attempts` counts this one.
    pub fn next(&self, attempt: &Attempt, attempts: i32, now: i64) -> Next {
        match attempt {
            Attempt::Accepted => Next::Sent,
            Attempt::Permanent(_) => Next::Failed,
            Attempt::Lost(_) => Next::Uncertain,
            Attempt::Temporary(_) if attempts >= self.max_attempts.max(1) => Next::Failed,
            Attempt::Temporary(_) => Next::RetryAt(now + self.backoff_secs(attempts)),
        }
    }
}

/// A claim this old without an outcome belongs to an instance that stopped while sending:
/// no attempt takes this long, since every step with the SMTP server has a timeout far
/// shorter than `stale_after_secs`.
pub fn claim_is_stale(claimed_at: i64, now: i64, stale_after_secs: i64) -> bool {
    now - claimed_at >= stale_after_secs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_and_only_failed_or_uncertain_can_be_sent_again() {
        for s in EmailStatus::ALL {
            assert_eq!(EmailStatus::try_from(s.as_str().to_string()).unwrap(), s);
        }
        assert!(EmailStatus::parse("queued").is_none());
        let again: Vec<_> = EmailStatus::ALL.into_iter().filter(|s| s.can_send_again()).collect();
        assert_eq!(again, [EmailStatus::Failed, EmailStatus::Uncertain]);
    }

    #[test]
    fn a_temporary_refusal_waits_longer_each_time_then_gives_up() {
        let p = RetryPolicy { max_attempts: 4, base_secs: 60 };
        let temp = Attempt::Temporary("451 4.3.0 try later".into());
        assert_eq!(p.next(&temp, 1, 1000), Next::RetryAt(1060));
        assert_eq!(p.next(&temp, 2, 1000), Next::RetryAt(1120));
        assert_eq!(p.next(&temp, 3, 1000), Next::RetryAt(1240));
        assert_eq!(p.next(&temp, 4, 1000), Next::Failed);
    }

    #[test]
    fn the_wait_is_capped_and_never_zero() {
        let p = RetryPolicy { max_attempts: 100, base_secs: 60 };
        assert_eq!(p.backoff_secs(40), MAX_BACKOFF_SECS);
        assert_eq!(RetryPolicy { max_attempts: 3, base_secs: 0 }.backoff_secs(1), 1);
        assert_eq!(p.backoff_secs(0), 60);
    }

    #[test]
    fn accepted_permanent_and_lost_are_decided_at_once() {
        let p = RetryPolicy::default();
        assert_eq!(p.next(&Attempt::Accepted, 1, 0), Next::Sent);
        assert_eq!(p.next(&Attempt::Permanent("550 no such user".into()), 1, 0), Next::Failed);
        // Never retried: the message may have left.
        assert_eq!(p.next(&Attempt::Lost("connection reset".into()), 1, 0), Next::Uncertain);
    }

    #[test]
    fn a_claim_is_stale_only_after_the_limit() {
        assert!(!claim_is_stale(1000, 1299, 300));
        assert!(claim_is_stale(1000, 1300, 300));
    }
}
