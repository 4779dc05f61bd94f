//! Slowing down password guessing: per account and per client address.

/// The window in which failures count.
pub const WINDOW_SECS: i64 = 15 * 60;
/// Failures for one account before it is locked for the rest of the window.
pub const MAX_PER_ACCOUNT: usize = 5;
/// Failures from one address (any accounts) before it is locked.
pub const MAX_PER_ADDRESS: usize = 20;

/// Decides whether a login attempt may proceed, given the times (newest first) of
/// recent failures for the account and for the address. Returns the time the lock
/// lifts when it may not.
pub fn locked_until(by_account: &[i64], by_address: &[i64], now: i64) -> Option<i64> {
    let lift = |times: &[i64], max: usize| -> Option<i64> {
        let recent: Vec<i64> = times.iter().copied().filter(|t| *t > now - WINDOW_SECS).collect();
        // Locked while `max` failures remain inside the window: the lock lifts when the
        // max-th newest one leaves it.
        (recent.len() >= max).then(|| recent[max - 1] + WINDOW_SECS)
    };
    match (lift(by_account, MAX_PER_ACCOUNT), lift(by_address, MAX_PER_ADDRESS)) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
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
}
