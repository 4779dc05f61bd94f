//! minihost: a multi-tenant admin console for a WeChat Open Platform third-party platform.
//!
//! Layout, each layer using only those below it: `routes/` parse requests and pick
//! responses; `services/` are the workflows (credentials, authorization, the event inbox)
//! that routes and the job runner (`worker`) call; `wechat/` is the protocol only;
//! `domain/` holds pure rules; `db/` every query; `auth/` sessions, passwords and CSRF;
//! `views` the shared page context; `startup` the server wiring used by `main.rs` and
//! the integration tests. `email` writes the console's e-mails (both languages, text and
//! HTML); `mailer` sends the outbox over SMTP beside the job worker.
//! `sandbox` (cargo feature `sandbox`, on by default) is the simulator of WeChat; the
//! console never calls into it.

rust_i18n::i18n!("locales", fallback = "en");

pub mod auth;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod email;
pub mod error;
pub mod htmx;
pub mod i18n;
pub mod mailer;
pub mod multipart;
pub mod observe;
pub mod pay;
pub mod routes;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod secrets;
pub mod services;
pub mod startup;
pub mod telemetry;
pub mod views;
pub mod wechat;
pub mod worker;

/// Seconds since the Unix epoch. The one place the wall clock is read; domain code takes time as an argument.
pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// A new time-ordered identifier (UUIDv7), used as the primary key of every row.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
