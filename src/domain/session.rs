//! How long a login lasts, and the second step of a login with a second factor.
//!
//! A session ends when it has not been seen for the idle timeout, and at its absolute end
//! (created + the absolute timeout) whatever its activity (configuration:
//! `MINIHOST_SESSION_IDLE_MINUTES`, `MINIHOST_SESSION_ABSOLUTE_HOURS`). Its last activity is
//! written at most once a minute, so a page stays one read of the database.

/// The idle and absolute timeouts of a login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub idle_secs: i64,
    pub absolute_secs: i64,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self { idle_secs: 120 * 60, absolute_secs: 12 * 3600 }
    }
}

/// A session's last activity is written again once it is this old.
pub const TOUCH_EVERY_SECS: i64 = 60;

impl Timeouts {
    /// Whether a session created at `created_at` and last seen at `last_seen_at` still signs
    /// its user in.
    pub fn is_live(&self, created_at: i64, last_seen_at: i64, now: i64) -> bool {
        created_at > self.created_after(now) && last_seen_at > self.seen_after(now)
    }

    /// A live session was created after this time (the absolute timeout).
    pub fn created_after(&self, now: i64) -> i64 {
        now - self.absolute_secs
    }

    /// A live session was seen after this time (the idle timeout).
    pub fn seen_after(&self, now: i64) -> i64 {
        now - self.idle_secs
    }

    /// When a session created now ends at the latest.
    pub fn absolute_end(&self, created_at: i64) -> i64 {
        created_at + self.absolute_secs
    }
}

/// Whether the last activity should be written on this request.
pub fn needs_touch(last_seen_at: i64, now: i64) -> bool {
    now - last_seen_at >= TOUCH_EVERY_SECS
}

/// How long the second step of a login (the code) may take after the password.
pub const PENDING_LOGIN_SECS: i64 = 5 * 60;
/// Wrong codes in one second step before it starts over at the password.
pub const MAX_CODE_ATTEMPTS: u32 = 5;

/// Where a login waiting for its code stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PendingStep {
    /// The code may be entered.
    Open,
    /// Too slow or too many wrong codes: log in with the password again.
    Over,
}

/// Whether a login whose password passed at `started_at` and that had `attempts` wrong
/// codes may still take a code.
pub fn pending_step(started_at: i64, attempts: u32, now: i64) -> PendingStep {
    if now - started_at > PENDING_LOGIN_SECS || now < started_at || attempts >= MAX_CODE_ATTEMPTS {
        PendingStep::Over
    } else {
        PendingStep::Open
    }
}

/// A short name for a browser from its user agent ("Firefox on Linux"), or the first 60
/// characters of it when it is none of the common ones.
pub fn describe_agent(user_agent: &str) -> String {
    let ua = user_agent;
    if ua.trim().is_empty() {
        return String::new();
    }
    // Order matters: Edge and Opera say "Chrome", Chrome says "Safari".
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("MicroMessenger", "WeChat"),
        ("Firefox/", "Firefox"),
        ("HeadlessChrome", "Headless Chrome"),
        ("Chromium/", "Chromium"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
        ("reqwest", "reqwest"),
    ]
    .iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| *name);
    let system = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| *name);
    match (browser, system) {
        (Some(b), Some(s)) => format!("{b} · {s}"),
        (Some(b), None) => b.to_string(),
        (None, _) => ua.chars().take(60).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_ends_when_idle_or_at_its_absolute_end() {
        let t = Timeouts { idle_secs: 600, absolute_secs: 3600 };
        assert!(t.is_live(1000, 1000, 1500));
        assert!(!t.is_live(1000, 1000, 1600), "idle for 600 s");
        assert!(t.is_live(1000, 4500, 4599), "active, not yet at the absolute end");
        assert!(!t.is_live(1000, 4590, 4600), "absolute end, whatever the activity");
    }

    #[test]
    fn last_activity_is_written_at_most_once_a_minute() {
        assert!(!needs_touch(1000, 1059));
        assert!(needs_touch(1000, 1060));
    }

    #[test]
    fn the_second_step_has_a_deadline_and_an_attempt_limit() {
        assert_eq!(pending_step(1000, 0, 1000 + PENDING_LOGIN_SECS), PendingStep::Open);
        assert_eq!(pending_step(1000, 0, 1001 + PENDING_LOGIN_SECS), PendingStep::Over);
        assert_eq!(pending_step(1000, MAX_CODE_ATTEMPTS - 1, 1001), PendingStep::Open);
        assert_eq!(pending_step(1000, MAX_CODE_ATTEMPTS, 1001), PendingStep::Over);
        assert_eq!(pending_step(1000, 0, 999), PendingStep::Over, "from the future");
    }

    #[test]
    fn browsers_get_short_names() {
        let chrome =
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";
        assert_eq!(describe_agent(chrome), "Chrome · Linux");
        let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36 Edg/120.0";
        assert_eq!(describe_agent(edge), "Edge · Windows");
        let safari =
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Safari/604.1";
        assert_eq!(describe_agent(safari), "Safari · iOS");
        assert_eq!(describe_agent(""), "");
        assert_eq!(describe_agent("SomeBot"), "SomeBot");
    }
}
