//! Slowing down guessing and abuse: failed logins per account and per client address, and
//! counted actions (sign-ups, password-reset requests) per address and per e-mail.

/// The window in which failed logins count.
pub const WINDOW_SECS: i64 = 15 * 60;
/// Failures for one account before it is locked for the rest of the window.
pub const MAX_PER_ACCOUNT: usize = 5;
/// Failures from one address (any accounts) before it is locked.
pub const MAX_PER_ADDRESS: usize = 20;

/// At most `max` events in any `window_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub max: usize,
    pub window_secs: i64,
}

impl Limit {
    pub const fn per_hour(max: usize) -> Self {
        Self { max, window_secs: 3600 }
    }

    /// Given the times (newest first, or in any order) of recent events, the time the limit
    /// lifts when one more is not allowed now; `None` when it is. A limit of 0 refuses always
    /// for a window.
    pub fn blocked_until(&self, times: &[i64], now: i64) -> Option<i64> {
        let mut recent: Vec<i64> = times.iter().copied().filter(|t| *t > now - self.window_secs).collect();
        if self.max == 0 {
            return Some(now + self.window_secs);
        }
        // Blocked while `max` events remain inside the window: it lifts when the max-th
        // newest one leaves it.
        recent.sort_unstable_by(|a, b| b.cmp(a));
        (recent.len() >= self.max).then(|| recent[self.max - 1] + self.window_secs)
    }
}

/// Decides whether a login attempt may proceed, given the times (newest first) of
/// recent failures for the account and for the address. Returns the time the lock
/// lifts when it may not.
pub fn locked_until(by_account: &[i64], by_address: &[i64], now: i64) -> Option<i64> {
    let account = Limit { max: MAX_PER_ACCOUNT, window_secs: WINDOW_SECS };
    let address = Limit { max: MAX_PER_ADDRESS, window_secs: WINDOW_SECS };
    later(account.blocked_until(by_account, now), address.blocked_until(by_address, now))
}

/// The later of two optional lifts.
pub fn later(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// What a rate event counts; stored as `rate_events.kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    /// An account created, keyed by the client address.
    SignupAddress,
    /// A password-reset request, keyed by the e-mail it names.
    ResetAccount,
    /// A password-reset request, keyed by the client address.
    ResetAddress,
}

impl Counted {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignupAddress => "signup_ip",
            Self::ResetAccount => "reset_email",
            Self::ResetAddress => "reset_ip",
        }
    }
}

/// The rate limits of sign-up and password reset (configuration: `MINIHOST_SIGNUPS_PER_IP_PER_HOUR`,
/// `MINIHOST_RESETS_PER_EMAIL_PER_HOUR`, `MINIHOST_RESETS_PER_IP_PER_HOUR`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub signup_per_address: Limit,
    pub reset_per_account: Limit,
    pub reset_per_address: Limit,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            signup_per_address: Limit::per_hour(5),
            reset_per_account: Limit::per_hour(3),
            reset_per_address: Limit::per_hour(10),
        }
    }
}

impl Limits {
    /// The longest window, for pruning old events.
    pub fn longest_window(&self) -> i64 {
        [self.signup_per_address, self.reset_per_account, self.reset_per_address]
            .iter()
            .map(|l| l.window_secs)
            .max()
            .unwrap_or(3600)
    }
}

/// Whole minutes until `until`, at least one (for "try again in N minutes").
pub fn minutes_until(until: i64, now: i64) -> i64 {
    ((until - now).max(1) + 59) / 60
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_failures_do_not_lock() {
        assert_eq!(locked_until(&[100, 90, 80, 70], &[], 110), None);
    }

    #[test]
    fn five_failures_lock_until_the_fifth_newest_leaves_the_window() {
        let times = [100, 90, 80, 70, 60];
        assert_eq!(locked_until(&times, &[], 110), Some(60 + WINDOW_SECS));
        assert_eq!(locked_until(&times, &[], 60 + WINDOW_SECS), None);
    }

    #[test]
    fn many_accounts_from_one_address_lock_the_address() {
        let times: Vec<i64> = (0..20).map(|i| 1000 - i).collect();
        assert_eq!(locked_until(&[], &times, 1001), Some(981 + WINDOW_SECS));
        assert_eq!(locked_until(&[], &times[..19], 1001), None);
    }

    #[test]
    fn old_failures_are_forgotten() {
        let times = [10, 9, 8, 7, 6];
        assert_eq!(locked_until(&times, &[], 10 + WINDOW_SECS + 1), None);
    }

    #[test]
    fn a_limit_counts_events_in_its_window_in_any_order() {
        let three = Limit::per_hour(3);
        assert_eq!(three.blocked_until(&[100, 200], 300), None);
        assert_eq!(three.blocked_until(&[200, 100, 300], 301), Some(100 + 3600));
        // The oldest leaves the window: one more is allowed again.
        assert_eq!(three.blocked_until(&[200, 100, 300], 100 + 3600), None);
        assert_eq!(Limit::per_hour(0).blocked_until(&[], 5), Some(5 + 3600));
    }

    #[test]
    fn minutes_round_up_and_are_at_least_one() {
        assert_eq!(minutes_until(100, 100), 1);
        assert_eq!(minutes_until(161, 100), 2);
        assert_eq!(minutes_until(3700, 100), 60);
    }
}
