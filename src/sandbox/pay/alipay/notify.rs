//! Alipay's asynchronous notifications (reference §8.4, notes §4.3): a form POSTed to the
//! trade's `notify_url`, signed with the gateway key (`sign_notification`), delivered when
//! the answer is HTTP 200 with exactly the 7 bytes `success`; otherwise (another answer, a
//! non-200, a transport error, no answer within 5 s) sent again after
//! `ALIPAY_RETRY_SECS[i] / pay_retry_divisor`, 8 attempts in all. `notify_id` stays the
//! same across resends; `notify_time` and `sign` are made anew for each attempt.
//!
//! Notifications and attempts are rows, queued in the payment's transaction; a process
//! claims a row before sending it, so processes sharing the database send each attempt
//! once. The payment sends the first attempt right away ([`send_soon`]); the background task
//! ([`spawn`]) sends what falls due.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use actix_web::web;
use tokio::sync::Notify;

use super::rules;
use super::store::{self, Notification, Trade};
use crate::db::{self, DbConn};
use crate::pay::alipay::{sign_notification, timestamp};
use crate::pay::keys::PrivateKey;
use crate::sandbox::pay::{ALIPAY_GATEWAY_KEY_PEM, ALIPAY_RETRY_SECS};
use crate::sandbox::{Sandbox, with_conn};

/// Attempts per notification: the first and one per retry interval.
pub const MAX_ATTEMPTS: i32 = ALIPAY_RETRY_SECS.len() as i32 + 1;
/// Alipay waits this long for the answer.
const TIMEOUT: Duration = Duration::from_secs(5);
/// How much of an answer an attempt keeps.
const SNIPPET_CHARS: usize = 200;

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The wait after the `attempts`-th failed attempt, in milliseconds (`None`: give up).
pub fn retry_after_ms(attempts: i32, divisor: u32) -> Option<i64> {
    let i = usize::try_from(attempts.checked_sub(1)?).ok()?;
    let secs = *ALIPAY_RETRY_SECS.get(i)?;
    let ms = secs.saturating_mul(1000) / u64::from(divisor.max(1));
    Some(i64::try_from(ms).unwrap_or(i64::MAX).max(1))
}

/// Whether an answer acknowledges the notification: 200 and exactly `success`.
pub fn acknowledged(status: u16, body: &[u8]) -> bool {
    status == 200 && body == b"success"
}

/// The form's fields but `notify_time` and `sign` (made for each attempt).
pub fn params(trade: &Trade, notify_id: &str) -> BTreeMap<String, String> {
    let total = rules::yuan(trade.total_cents);
    let fund_bills = format!(r#"[{{"amount":"{total}","fundChannel":"ALIPAYACCOUNT"}}]"#);
    let mut p: BTreeMap<String, String> = [
        ("notify_type", "trade_status_sync"),
        ("notify_id", notify_id),
        ("app_id", &trade.app_id),
        ("auth_app_id", &trade.app_id),
        ("charset", "utf-8"),
        ("version", "1.0"),
        ("sign_type", "RSA2"),
        ("out_trade_no", &trade.out_trade_no),
        ("trade_status", &trade.status),
        ("total_amount", &total),
        ("receipt_amount", &total),
        ("buyer_pay_amount", &total),
        ("invoice_amount", &total),
        ("point_amount", "0.00"),
        ("subject", &trade.subject),
        ("fund_bill_list", &fund_bills),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    p.insert("seller_id".into(), rules::seller_id(&trade.app_id));
    p.insert("gmt_create".into(), timestamp(trade.created_at));
    let optional = [
        ("trade_no", trade.trade_no.clone()),
        ("buyer_id", trade.buyer_id.clone()),
        ("buyer_logon_id", trade.buyer_logon_id.clone()),
        ("gmt_payment", trade.paid_at.map(timestamp)),
        ("body", Some(trade.body.clone()).filter(|b| !b.is_empty())),
    ];
    for (k, v) in optional {
        if let Some(v) = v {
            p.insert(k.into(), v);
        }
    }
    p
}

/// Queues the notification of a trade's new state; returns its id.
pub fn queue(conn: &mut DbConn, trade: &Trade, url: &str, now: i64) -> diesel::QueryResult<String> {
    let notify_id = format!("{}{}", uuid::Uuid::new_v4().simple(), &rules::new_trade_no(now)[20..]);
    let fields = params(trade, &notify_id);
    let n = Notification {
        id: crate::new_id(),
        trade_id: trade.id.clone(),
        app_id: trade.app_id.clone(),
        notify_url: url.to_string(),
        notify_id,
        params: serde_json::to_string(&fields).unwrap_or_default(),
        status: "pending".into(),
        attempts: 0,
        due_ms: now_ms(),
        last_attempt_ms: None,
        created_at: now,
    };
    store::insert_notification(conn, &n)?;
    Ok(n.id)
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(TIMEOUT).build().unwrap_or_default()
}

/// The result of one attempt.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Sent {
    pub notification_id: String,
    pub attempt: i32,
    pub http_status: Option<u16>,
    pub delivered: bool,
    pub status: String,
}

/// Claims and sends one notification: the given one, or the oldest due. `None` when
/// nothing could be claimed.
pub async fn deliver(sb: &Sandbox, client: &reqwest::Client, id: Option<String>) -> Option<Sent> {
    let at = now_ms();
    let claimed =
        with_conn(&sb.pool, move |c| db::write_tx(c, |c| store::claim_notification(c, id.as_deref(), at))).await;
    let n = match claimed {
        Ok(Ok(Some(n))) => n,
        Ok(Ok(None)) | Err(_) => return None,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "sandbox alipay: cannot claim a notification");
            return None;
        }
    };
    let (http_status, body, outcome) = send(client, &n).await;
    let delivered = outcome == "delivered";
    let (status, due) = if delivered {
        ("delivered", at)
    } else {
        match retry_after_ms(n.attempts, sb.config.pay_retry_divisor) {
            Some(wait) if n.attempts < MAX_ATTEMPTS => ("pending", now_ms() + wait),
            _ => ("failed", at),
        }
    };
    tracing::info!(notify_id = %n.notify_id, attempt = n.attempts, ?http_status, outcome, status, "sandbox alipay: notification attempt");
    let attempt = store::Attempt {
        id: crate::new_id(),
        notification_id: n.id.clone(),
        at_ms: at,
        http_status: http_status.map(i32::from),
        body,
        outcome: outcome.into(),
    };
    let recorded =
        with_conn(&sb.pool, move |c| db::write_tx(c, |c| store::record_attempt(c, &attempt, status, due))).await;
    if let Ok(Err(e)) = recorded {
        tracing::warn!(error = %e, "sandbox alipay: cannot record a notification attempt");
    }
    Some(Sent { notification_id: n.id, attempt: n.attempts, http_status, delivered, status: status.into() })
}

/// POSTs the form once: (HTTP status, the start of the answer or the error, outcome).
async fn send(client: &reqwest::Client, n: &Notification) -> (Option<u16>, String, &'static str) {
    let Ok(key) = PrivateKey::parse(ALIPAY_GATEWAY_KEY_PEM) else {
        return (None, "the gateway key cannot be read".into(), "error");
    };
    let mut fields: BTreeMap<String, String> = serde_json::from_str(&n.params).unwrap_or_default();
    fields.insert("notify_time".into(), timestamp(crate::now()));
    sign_notification(&mut fields, &key);
    let form = serde_urlencoded::to_string(&fields).unwrap_or_default();
    let sent = client
        .post(&n.notify_url)
        .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded; charset=utf-8")
        .body(form)
        .send()
        .await;
    match sent {
        Ok(resp) => {
            let status = resp.status().as_u16();
            match resp.bytes().await {
                Ok(bytes) => {
                    let snippet: String = String::from_utf8_lossy(&bytes).chars().take(SNIPPET_CHARS).collect();
                    let outcome = if acknowledged(status, &bytes) { "delivered" } else { "refused" };
                    (Some(status), snippet, outcome)
                }
                Err(e) => (Some(status), format!("reading the answer failed: {e}"), "error"),
            }
        }
        Err(e) if e.is_timeout() => (None, "no answer within 5 s".into(), "error"),
        Err(e) => (None, e.to_string(), "error"),
    }
}

/// Sends a just-queued notification now, without waiting for the background task.
pub fn send_soon(sb: web::Data<Sandbox>, id: String) {
    tokio::spawn(async move {
        deliver(&sb, &client(), Some(id)).await;
    });
}

/// Queues a notification again and sends it now (the dev endpoint and the page's button).
pub async fn resend(sb: &Sandbox, id: &str) -> Result<Option<Sent>, crate::sandbox::Unavailable> {
    let (qid, at) = (id.to_string(), now_ms());
    let queued = with_conn(&sb.pool, move |c| db::write_tx(c, |c| store::queue_again(c, &qid, at))).await?;
    match queued {
        Ok(true) => Ok(deliver(sb, &client(), Some(id.to_string())).await),
        Ok(false) => Ok(None),
        Err(e) => {
            tracing::warn!(error = %e, "sandbox alipay: cannot queue a notification again");
            Ok(None)
        }
    }
}

struct Inner {
    sb: web::Data<Sandbox>,
    wake: Notify,
    stop: Notify,
    stopped: AtomicBool,
}

/// The background sender; stop it when the server stops.
#[derive(Clone)]
pub struct Handle(Arc<Inner>);

impl Handle {
    /// Sends what is due now.
    pub fn wake(&self) {
        self.0.wake.notify_one();
    }

    pub fn stop(&self) {
        self.0.stopped.store(true, Ordering::SeqCst);
        self.0.stop.notify_one();
    }
}

/// Starts the background sender of due notifications (needs a Tokio runtime).
pub fn spawn(sandbox: &web::Data<Sandbox>) -> Handle {
    let inner = Arc::new(Inner {
        sb: sandbox.clone(),
        wake: Notify::new(),
        stop: Notify::new(),
        stopped: AtomicBool::new(false),
    });
    tokio::spawn(run(inner.clone()));
    Handle(inner)
}

async fn run(inner: Arc<Inner>) {
    let client = client();
    while !inner.stopped.load(Ordering::SeqCst) {
        while !inner.stopped.load(Ordering::SeqCst) {
            if deliver(&inner.sb, &client, None).await.is_none() {
                break;
            }
        }
        // Until the next due attempt, at most a second (other processes queue too).
        let next = with_conn(&inner.sb.pool, store::next_due_ms).await.ok().and_then(Result::ok).flatten();
        let wait = next.map_or(1000, |due| due - now_ms()).clamp(5, 1000);
        tokio::select! {
            _ = inner.wake.notified() => {}
            _ = inner.stop.notified() => {}
            _ = tokio::time::sleep(Duration::from_millis(u64::try_from(wait).unwrap_or(1000))) => {}
        }
    }
    tracing::debug!("sandbox alipay: notification sender stopped");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_follow_alipay_s_schedule_divided() {
        assert_eq!(MAX_ATTEMPTS, 8);
        assert_eq!(retry_after_ms(1, 1), Some(240_000));
        assert_eq!(retry_after_ms(1, 1000), Some(240));
        assert_eq!(retry_after_ms(7, 60), Some(900_000));
        assert_eq!(retry_after_ms(8, 1), None);
        assert_eq!(retry_after_ms(0, 1), None);
    }

    #[test]
    fn only_exactly_success_acknowledges() {
        assert!(acknowledged(200, b"success"));
        assert!(!acknowledged(200, b"success\n"));
        assert!(!acknowledged(200, b" success"));
        assert!(!acknowledged(200, b"SUCCESS"));
        assert!(!acknowledged(500, b"success"));
        assert!(!acknowledged(204, b"success"));
    }
}
