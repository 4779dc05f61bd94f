//! Notifications to a merchant's `notify_url` (reference §7.8) and the background task
//! that sends them and does what WeChat Pay does by itself (opening signed sub-merchants,
//! settling refunds).
//!
//! A notification is a row queued in the transaction of the change it reports; its body
//! (the envelope with the resource sealed with the service provider's APIv3 key) is fixed
//! then, and each attempt signs it anew with the platform key. Success is HTTP 200 or 204
//! within 5 seconds; otherwise it is retried on WeChat Pay's schedule divided by
//! `pay_retry_divisor`, 15 times, then given up. Every attempt is a row. A sender claims a
//! notification before sending it, so several processes on one database send it once.
//!
//! The task: [`spawn`] starts it for a mounted sandbox and returns a [`Handle`] whose
//! `stop` ends it; handlers that queue work call [`wake`], which also starts it if nobody
//! did (it then ends by itself once the sandbox is dropped).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex, Weak};
use std::time::Duration;

use actix_web::web;
use diesel::QueryResult;
use serde_json::json;
use tokio::sync::Notify;

use super::{api, orders, rules, state};
use crate::db::{self, DbConn};
use crate::pay::wechatpay::{Resource, SignedHeaders};
use crate::sandbox::{Sandbox, with_conn};

/// The receiver gets 5 seconds, as WeChat Pay gives it.
const TIMEOUT: Duration = Duration::from_secs(5);
/// How long a sender holds a claimed notification.
const CLAIM_MS: i64 = 10_000;

/// What a notification reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Transaction,
    Refund,
}

impl Kind {
    pub fn event_type(self) -> &'static str {
        match self {
            Kind::Transaction => "TRANSACTION.SUCCESS",
            Kind::Refund => "REFUND.SUCCESS",
        }
    }
    fn summary(self) -> &'static str {
        match self {
            Kind::Transaction => "支付成功",
            Kind::Refund => "退款成功",
        }
    }
    fn resource_type(self) -> &'static str {
        match self {
            Kind::Transaction => "transaction",
            Kind::Refund => "refund",
        }
    }
}

pub struct Event<'a> {
    pub kind: Kind,
    pub out_trade_no: &'a str,
    pub out_refund_no: Option<&'a str>,
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Queues a notification of `plaintext`, due now.
pub fn queue(
    c: &mut DbConn,
    sp_mchid: &str,
    url: &str,
    event: &Event<'_>,
    plaintext: &str,
    now: i64,
) -> QueryResult<()> {
    let Some(merchant) = state::find_merchant(c, sp_mchid)? else { return Ok(()) };
    let kind = event.kind;
    let sealed = match Resource::seal(
        &merchant.api_v3_key,
        &rules::nonce12(),
        kind.resource_type(),
        kind.resource_type(),
        plaintext,
    ) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "sandbox wechatpay: cannot seal a notification (APIv3 key)");
            return Ok(());
        }
    };
    let id = rules::new_event_id();
    let body = json!({
        "id": id,
        "create_time": rules::rfc3339(now),
        "resource_type": "encrypt-resource",
        "event_type": kind.event_type(),
        "summary": kind.summary(),
        "resource": {
            "original_type": sealed.original_type,
            "algorithm": sealed.algorithm,
            "ciphertext": sealed.ciphertext,
            "associated_data": sealed.associated_data,
            "nonce": sealed.nonce,
        }
    });
    state::insert_notification(
        c,
        &state::Notification {
            id,
            sp_mchid: sp_mchid.into(),
            url: url.into(),
            event_type: kind.event_type().into(),
            out_trade_no: event.out_trade_no.into(),
            out_refund_no: event.out_refund_no.map(str::to_string),
            body: body.to_string(),
            attempts: 0,
            last_status: None,
            last_error: None,
            delivered: false,
            next_attempt_ms: Some(now_ms()),
            claimed_until_ms: None,
            created_at: now,
        },
    )
}

// ---- the background task ----

struct Entry {
    sandbox: Weak<Sandbox>,
    wake: Arc<Notify>,
    stopped: Arc<AtomicBool>,
}

/// The running tasks, by the address of their sandbox (a `Weak` keeps the address taken).
static TASKS: LazyLock<Mutex<HashMap<usize, Entry>>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// Stops the sandbox WeChat Pay's background task.
#[derive(Clone)]
pub struct Handle {
    wake: Arc<Notify>,
    stopped: Arc<AtomicBool>,
}

impl Handle {
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        self.wake.notify_one();
    }

    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// Starts the background task for this sandbox (once; a second call returns the same
/// task's handle). Needs a Tokio runtime.
pub fn spawn(sb: &web::Data<Sandbox>) -> Handle {
    let arc: Arc<Sandbox> = sb.clone().into_inner();
    let key = Arc::as_ptr(&arc) as usize;
    let Ok(mut tasks) = TASKS.lock() else {
        return Handle { wake: Arc::new(Notify::new()), stopped: Arc::new(AtomicBool::new(true)) };
    };
    tasks.retain(|_, e| e.sandbox.strong_count() > 0);
    if let Some(e) = tasks.get(&key) {
        return Handle { wake: e.wake.clone(), stopped: e.stopped.clone() };
    }
    let entry = Entry { sandbox: Arc::downgrade(&arc), wake: Arc::new(Notify::new()), stopped: Arc::default() };
    let handle = Handle { wake: entry.wake.clone(), stopped: entry.stopped.clone() };
    tokio::spawn(run(entry.sandbox.clone(), entry.wake.clone(), entry.stopped.clone()));
    tasks.insert(key, entry);
    handle
}

/// Asks the task to look for due work now (starting it if nobody did).
pub fn wake(sb: &web::Data<Sandbox>) {
    spawn(sb).wake();
}

async fn run(sandbox: Weak<Sandbox>, wake: Arc<Notify>, stopped: Arc<AtomicBool>) {
    let client = reqwest::Client::builder().timeout(TIMEOUT).build().unwrap_or_default();
    while !stopped.load(Ordering::SeqCst) {
        let Some(sb) = sandbox.upgrade() else { break };
        let pool = sb.pool.clone();
        let step = i64::try_from(sb.config.pay_step_secs).unwrap_or(i64::MAX);
        let divisor = sb.config.pay_retry_divisor;
        drop(sb);
        let settled = with_conn(&pool, move |c| db::write_tx(c, |c| orders::settle_due(c, step, crate::now()))).await;
        if let Ok(Err(e)) = settled {
            tracing::warn!(error = %e, "sandbox wechatpay: cannot settle due work");
        }
        while !stopped.load(Ordering::SeqCst) {
            let claimed = with_conn(&pool, |c| {
                let now = now_ms();
                db::write_tx(c, |c| state::claim_due(c, now, now + CLAIM_MS))
            })
            .await;
            let Ok(Ok(Some(n))) = claimed else { break };
            deliver(&pool, &client, n, divisor).await;
        }
        let next = with_conn(&pool, move |c| {
            let n = state::earliest_notification_due(c)?;
            let r = state::earliest_refund_due(c)?.map(|s| s.saturating_mul(1000));
            let a = state::earliest_signing(c)?.map(|s| s.saturating_add(step).saturating_mul(1000));
            Ok::<_, diesel::result::Error>([n, r, a].into_iter().flatten().min())
        })
        .await
        .ok()
        .and_then(Result::ok)
        .flatten();
        let wait_ms = next.map_or(1000, |at| at - now_ms()).clamp(20, 1000);
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_millis(u64::try_from(wait_ms).unwrap_or(1000))) => {}
        }
    }
    tracing::debug!("sandbox wechatpay: notifier stopped");
}

/// Sends one claimed notification and records the attempt.
async fn deliver(pool: &crate::db::DbPool, client: &reqwest::Client, n: state::Notification, divisor: u32) {
    let mchid = n.sp_mchid.clone();
    let mode = with_conn(pool, move |c| state::find_merchant(c, &mchid))
        .await
        .ok()
        .and_then(Result::ok)
        .flatten()
        .map_or_else(|| "certificate".to_string(), |m| m.verify_mode);
    let mut request = client.post(&n.url).header("Content-Type", "application/json").body(n.body.clone());
    if let Some(key) = api::platform_key() {
        let signed = SignedHeaders::sign(key, api::platform_serial(&mode), &n.body, crate::now());
        for (k, v) in signed.pairs() {
            request = request.header(k, v);
        }
    }
    request = request.header("Request-ID", crate::new_id());
    let (http_status, error) = match request.send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap_or_default();
            let short: String = text.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(120).collect();
            let error = (!matches!(status, 200 | 204)).then(|| format!("HTTP {status}: {short}"));
            (Some(i32::from(status)), error)
        }
        Err(e) => (None, Some(if e.is_timeout() { "timed out after 5 s".to_string() } else { e.to_string() })),
    };
    let delivered = error.is_none();
    let attempts = usize::try_from(n.attempts).unwrap_or(0) + 1;
    let at = now_ms();
    let next = if delivered { None } else { rules::retry_delay_ms(attempts, divisor).map(|d| at + d) };
    tracing::info!(event_type = %n.event_type, attempt = attempts, ?http_status, delivered, gave_up = !delivered && next.is_none(), "sandbox wechatpay: notification attempt");
    let claim = n.claimed_until_ms.unwrap_or_default();
    let attempt =
        state::Attempt { id: crate::new_id(), notification_id: n.id.clone(), at_ms: at, http_status, error, delivered };
    let recorded = with_conn(pool, move |c| db::write_tx(c, |c| state::record_attempt(c, &attempt, next, claim))).await;
    if let Ok(Err(e)) = recorded {
        tracing::warn!(error = %e, "sandbox wechatpay: cannot record a notification attempt");
    }
}
