//! Delivery of the sandbox's pushes to the console: encrypted (WXBizMsgCrypt) POSTs to
//! `{public_url}/wechat/component/events` (authorization events) or
//! `{public_url}/wechat/mp/{appid}/events` (an authorizer's message events), retried with
//! backoff a bounded number of times, and the background task that mints a
//! `component_verify_ticket` every interval and, when the sandbox decides reviews by
//! itself (`review_delay_secs`), applies the decisions that are due.
//!
//! Pushes are rows in `sandbox_pushes`, queued in the transaction of the change they
//! report; a process claims a row before sending it, so several console processes on
//! one database deliver each push once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rand::RngExt as _;
use tokio::sync::Notify;

use crate::db::{self, DbPool};
use crate::wechat::crypto::{MsgCrypt, parse_flat_xml};

use super::code::review as code_review;
use super::manage::review;
use super::{SandboxConfig, sim, store, with_conn};

/// Attempts per push before it is given up (1 s, 2 s, 4 s, 8 s, 16 s between them).
pub const MAX_ATTEMPTS: i32 = 6;
/// WeChat gives the receiver 5 seconds.
const TIMEOUT: Duration = Duration::from_secs(5);

/// The result of one delivery attempt.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Attempt {
    pub push_id: String,
    pub http_status: Option<u16>,
    pub delivered: bool,
}

pub struct Pusher {
    pool: DbPool,
    config: SandboxConfig,
    client: reqwest::Client,
    wake: Notify,
    stop: Notify,
    stopped: AtomicBool,
}

impl Pusher {
    pub fn new(pool: DbPool, config: SandboxConfig) -> Self {
        let client = reqwest::Client::builder().timeout(TIMEOUT).build().unwrap_or_default();
        Self { pool, config, client, wake: Notify::new(), stop: Notify::new(), stopped: AtomicBool::new(false) }
    }

    /// Asks the background task to deliver what is due now.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Stops the background task (when the server stops).
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        self.stop.notify_one();
    }

    /// Claims and sends one push: the given one, or the oldest due. `None` when nothing
    /// could be claimed.
    pub async fn deliver(&self, id: Option<String>) -> Option<Attempt> {
        let now = crate::now();
        let claimed =
            with_conn(&self.pool, move |c| db::write_tx(c, |c| store::claim_push(c, id.as_deref(), now))).await;
        let push = match claimed {
            Ok(Ok(Some(p))) => p,
            Ok(Ok(None)) | Err(_) => return None,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "sandbox: cannot claim a push");
                return None;
            }
        };
        let (http_status, delivered, error) = self.send(&push).await;
        let (status, next) = if delivered {
            ("delivered", now)
        } else if push.attempts >= MAX_ATTEMPTS {
            ("failed", now)
        } else {
            ("pending", crate::now() + (1i64 << (push.attempts - 1).clamp(0, 10)))
        };
        if delivered {
            tracing::info!(info_type = %push.info_type, "sandbox: push delivered");
        } else {
            tracing::info!(info_type = %push.info_type, ?http_status, error = error.as_deref().unwrap_or(""), attempt = push.attempts, "sandbox: the console did not accept a push");
        }
        let id = push.id.clone();
        let recorded = with_conn(&self.pool, move |c| {
            db::write_tx(c, |c| store::record_push_result(c, &id, status, http_status, error.as_deref(), next))
        })
        .await;
        if let Ok(Err(e)) = recorded {
            tracing::warn!(error = %e, "sandbox: cannot record a push result");
        }
        Some(Attempt { push_id: push.id, http_status, delivered })
    }

    /// Encrypts and POSTs one push (reference §2.3, §2.4): to the authorization event URL,
    /// or for a message event to the message URL of its authorizer, whose envelope names
    /// the mini program (`ToUserName`, its original ID) instead of the platform.
    async fn send(&self, push: &store::Push) -> (Option<u16>, bool, Option<String>) {
        let payload = push.payload.as_str();
        let c = &self.config;
        let crypt = match MsgCrypt::new(&c.component_token, &c.component_aes_key, &c.component_appid) {
            Ok(crypt) => crypt,
            Err(e) => return (None, false, Some(format!("cannot encrypt: {e}"))),
        };
        let timestamp = crate::now().to_string();
        let nonce = rand::rng().random_range(100_000_000u64..10_000_000_000).to_string();
        let (path, to_user) = match (push.target.as_str(), push.authorizer_appid.as_deref()) {
            (store::TO_MINI_PROGRAM, Some(appid)) => {
                let fields = parse_flat_xml(payload).unwrap_or_default();
                let to = fields.into_iter().find(|(k, _)| k == "ToUserName").map(|(_, v)| v).unwrap_or_default();
                (format!("/wechat/mp/{appid}/events"), Some(to))
            }
            _ => ("/wechat/component/events".to_string(), None),
        };
        let (body, msg_signature) = crypt.seal_envelope(payload, &timestamp, &nonce, to_user.as_deref());
        let signature = crypt.plain_signature(&timestamp, &nonce);
        let query = serde_urlencoded::to_string([
            ("signature", signature.as_str()),
            ("timestamp", &timestamp),
            ("nonce", &nonce),
            ("encrypt_type", "aes"),
            ("msg_signature", &msg_signature),
        ])
        .unwrap_or_default();
        let url = format!("{}{path}?{query}", self.config.public_url);
        let sent = self
            .client
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "text/xml; charset=utf-8")
            .body(body)
            .send()
            .await;
        match sent {
            Ok(resp) => {
                let status = resp.status();
                let text = resp.text().await.unwrap_or_default();
                let ok = status.is_success() && text.trim() == "success";
                let error = (!ok).then(|| {
                    let answer = text.split_whitespace().collect::<Vec<_>>().join(" ");
                    format!("HTTP {status}: {}", answer.chars().take(80).collect::<String>())
                });
                (Some(status.as_u16()), ok, error)
            }
            Err(e) => (None, false, Some(e.to_string())),
        }
    }

    /// The background task: a new ticket at start and then every interval (one per
    /// interval across all processes on the database), and delivery of due pushes.
    pub async fn run(self: Arc<Self>) {
        let interval = i64::try_from(self.config.ticket_interval_secs.max(1)).unwrap_or(600);
        let mut first = true;
        while !self.stopped.load(Ordering::SeqCst) {
            let appid = self.config.component_appid.clone();
            let force = first;
            first = false;
            let ticked = with_conn(&self.pool, move |c| {
                db::write_tx(c, |c| {
                    let now = crate::now();
                    let last = store::last_ticket(c)?;
                    if force || last.as_ref().is_none_or(|t| t.created_at + interval <= now) {
                        sim::new_ticket(c, &appid, now, false)?;
                    }
                    Ok::<_, sim::SimError>(())
                })
            })
            .await;
            if let Ok(Err(e)) = ticked {
                tracing::warn!(error = ?e, "sandbox: cannot mint a component_verify_ticket");
            }
            if let Some(delay_secs) = self.config.review_delay_secs {
                let auto = code_review::Auto {
                    delay_secs,
                    reject_percent: self.config.review_reject_percent,
                    delay_percent: self.config.review_delay_percent,
                };
                let decided = with_conn(&self.pool, move |c| code_review::decide_due(c, &auto, crate::now())).await;
                match decided {
                    Ok(Ok(n)) if n > 0 => tracing::info!(count = n, "sandbox: the reviewer decided due reviews"),
                    Ok(Err(e)) => tracing::warn!(error = %e, "sandbox: cannot decide due reviews"),
                    _ => {}
                }
            }
            while !self.stopped.load(Ordering::SeqCst) {
                if self.deliver(None).await.is_none() {
                    break;
                }
            }
            let wait = self.next_wait(interval).await;
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = self.stop.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
        tracing::debug!("sandbox: pusher stopped");
    }

    /// Until the next due push, ticket or automatic review decision, between 1 and 5
    /// seconds (other processes may queue pushes too, so the database is looked at now
    /// and then).
    async fn next_wait(&self, interval: i64) -> Duration {
        let delay = self.config.review_delay_secs;
        let next = with_conn(&self.pool, move |c| {
            let push = store::next_due_push_at(c)?;
            let ticket = store::last_ticket(c)?.map(|t| t.created_at + interval);
            let review = match delay {
                Some(d) => review::next_due_at(c, d)?,
                None => None,
            };
            Ok::<_, diesel::result::Error>([push, ticket, review].into_iter().flatten().min())
        })
        .await
        .ok()
        .and_then(Result::ok)
        .flatten();
        let secs = next.map_or(5, |at| at - crate::now()).clamp(1, 5);
        Duration::from_secs(u64::try_from(secs).unwrap_or(5))
    }
}
