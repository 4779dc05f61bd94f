//! Pure rules: no actix, diesel, reqwest or askama in here (CI greps for it).
//! Time is passed in as an argument so tests control it.

pub mod application;
pub mod avatar;
pub mod binding;
pub mod campaign;
pub mod commerce;
pub mod credentials;
pub mod email;
pub mod failure;
pub mod logo;
pub mod merchant_form;
pub mod official_account;
pub mod release;
pub mod requirements;
pub mod session;
pub mod setup;
pub mod team;
pub mod template_needs;
pub mod throttle;
pub mod wallet;
// live selling (issue 13)
pub mod live_selling;

/// The calendar day (UTC, `YYYY-MM-DD`) of a Unix time.
pub fn day_of(at: i64) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    time::OffsetDateTime::from_unix_timestamp(at).ok().and_then(|t| t.format(&fmt).ok()).unwrap_or_default()
}
