//! WeChat's code management as the sandbox simulates it (reference §4, wave-2 notes §2):
//! the platform's template library, each mini program's trial version and privacy scan,
//! audits decided by WeChat's reviewer, withdrawals, speed-ups, releases and rollbacks,
//! and the platform's monthly audit quota.
//!
//! * [`rules`]: the rules as pure functions; [`state`]: the queries of its tables.
//! * [`review`]: the reviewer's decisions on code audits (and the entry point deciding
//!   any review), their pushes to the mini program's message URL.
//! * [`api`]: the WeChat endpoints; [`dev`]: the JSON endpoints for tests; [`pages`]: what
//!   the human page `/sandbox/` shows and its forms.
//!
//! How the simulation behaves, and where it guesses (marked *unconfirmed*):
//!
//! * Drafts stand for uploads from WeChat DevTools by the platform's development mini
//!   program (`POST /sandbox/dev/drafts`, or the page's "Developer upload" form). WeChat
//!   keeps only the latest upload per development mini program; the sandbox keeps every
//!   draft. A draft records which privacy-sensitive interfaces its code calls. Every
//!   template has the same five pages ([`rules::PAGES`]); the library holds at most
//!   [`rules::TEMPLATE_LIMIT`] templates (85065).
//! * `commit` replaces the trial version and starts the privacy scan, which finishes
//!   `MINIHOST_SANDBOX_PRIVACY_SCAN_SECS` later (61039 until then). The scan lists an
//!   interface the code calls in `without_auth_list` unless its privacy interface is
//!   enabled (status 5 of `get_privacy_interface`), and in `without_conf_list` unless
//!   `ext_json`'s `requiredPrivateInfos` declares it (without `wx.`). A missing
//!   `user_version` is 40097 and one over 64 characters 85013 (*unconfirmed*); a missing
//!   `ext_json` is 47001 like one that is not a string.
//! * `submit_audit` answers 85086 when nothing was ever committed or when the committed
//!   code was already submitted and released (*unconfirmed*: WeChat's exact rule is
//!   "commit first"). A submission takes one from the platform's monthly quota (default
//!   20 submissions and 5 speed-ups; the month is China time, UTC+8; 85085 when none
//!   is left) and waits in the reviewer's queue as kind `code`.
//! * `get_latest_auditstatus` answers 85012 when code was committed but never submitted
//!   (*unconfirmed*). `undocodeaudit` answers 85020 when nothing is under review
//!   (*unconfirmed*), then 87013 after 5 withdrawals the same China-time day or 10 the
//!   same month; a withdrawal does not give the quota back, and closes the review
//!   without a push. `speedupaudit` is recorded but does not change the reviewer's timing.
//! * `release` makes the newest submission live when it is approved (85019 otherwise,
//!   85052 when live already); a newer submission supersedes an approved one that was not
//!   released (*unconfirmed*). `revertcoderelease` goes back one version (or to
//!   `app_version`), keeps the newest five entries, and refuses twice in a row (87012).
//!   `release` and `getversioninfo` answer an empty body with 44002.
//! * The reviewer approves, rejects with a reason and screenshots (media ids that
//!   `get_material` answers with a PNG), or delays; each may be "lost" (no push).
//!   Pushes are `weapp_audit_success` (`SuccTime`), `weapp_audit_fail` (`Reason`,
//!   `FailTime`, `ScreenShot`) and `weapp_audit_delay` (`Reason`, `DelayTime`), with no
//!   `auditid`, as WeChat sends them.
//! * Per-path call limits (45009) are the gate's ([`crate::sandbox::limits`]).

pub mod api;
pub mod dev;
pub mod pages;
pub mod review;
pub mod rules;
pub mod state;
