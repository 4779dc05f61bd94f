//! The 0.01 self-test (seed 002: test with a 0.01 item) and the payment notifications that
//! prove it: a QR code order with WeChat Pay or Alipay, paid by scanning, seen paid only
//! through the signed notification, then refunded at once. Notifications are verified,
//! stored once per notification id and applied idempotently: a retried notification never
//! moves a payment twice.

use std::collections::BTreeMap;

use serde_json::json;

use super::checkout::{PaidFacts, settle_paid, settle_refund};
use super::{Wallet, WalletError, merchant::pay_error_text};
use crate::db::{self, DbConn, audit, wallet as store};
use crate::domain::wallet::{self as rules, ApplicationState};
use crate::pay::alipay;
use crate::pay::keys::PublicKey;
use crate::pay::wechatpay::{Notification, PlatformVerifier, SignedHeaders};
use crate::pay::wechatpay_client::{Refund, Transaction};

/// The self-test's amount: 0.01 CNY.
pub const SELF_TEST_FEN: i64 = 1;

/// Why a notification was refused (the answer is 4xx and the sender retries).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotifyRefusal {
    #[error("WeChat Pay is not configured on this platform")]
    NotConfigured,
    #[error("the signature does not verify: {0}")]
    BadSignature(String),
    #[error("the resource does not decrypt with the APIv3 key")]
    Undecryptable,
    #[error("malformed notification: {0}")]
    Malformed(String),
    #[error("stale notification: notify_time {0} is outside the accepted window")]
    Stale(String),
}

impl NotifyRefusal {
    /// A short fixed name for the reason (a metrics label; the message has details).
    pub fn reason(&self) -> &'static str {
        match self {
            Self::NotConfigured => "not_configured",
            Self::BadSignature(_) => "bad_signature",
            Self::Undecryptable => "undecryptable",
            Self::Malformed(_) => "malformed",
            Self::Stale(_) => "stale",
        }
    }
}

/// How far an Alipay notification's `notify_time` (made anew for each attempt) may be from
/// now: older ones are replays.
pub const ALIPAY_NOTIFY_WINDOW_SECS: i64 = 900;

/// What "Pay 0.01" came to.
#[derive(Debug, Clone)]
pub enum SelfTestStart {
    Started,
    /// No open WeChat Pay merchant (or no Alipay account) to pay.
    NoAccount,
    /// The platform has no WeChat Pay service provider.
    NoProvider,
    /// The order was refused: the other side's words.
    Refused(String),
}

impl Wallet {
    pub async fn latest_self_test(
        &self,
        tenant_id: &str,
        channel: &str,
    ) -> Result<Option<store::Payment>, WalletError> {
        let (tid, ch) = (tenant_id.to_string(), channel.to_string());
        self.db(move |c| Ok(store::latest_self_test(c, &tid, &ch)?)).await
    }

    pub async fn payment(&self, tenant_id: &str, id: &str) -> Result<Option<(store::Payment, i64)>, WalletError> {
        let (tid, id) = (tenant_id.to_string(), id.to_string());
        self.db(move |c| {
            let Some(p) = store::payment(c, &tid, &id)? else { return Ok(None) };
            let n = store::notifications_of(c, &p.id)?;
            Ok(Some((p, n)))
        })
        .await
    }

    /// Creates a 0.01 QR code order on `channel` ("wechatpay" or "alipay").
    pub async fn start_self_test(
        &self,
        tenant_id: &str,
        actor: &audit::Actor,
        channel: &str,
    ) -> Result<SelfTestStart, WalletError> {
        let now = crate::now();
        let id = crate::new_id();
        let out_trade_no = rules::out_trade_no("ST", &id);
        let description = "minihost self-test 0.01".to_string();
        let (merchant, answer) = if channel == "alipay" {
            let Some((account, app)) = self.alipay_app(tenant_id).await? else { return Ok(SelfTestStart::NoAccount) };
            let biz = json!({"out_trade_no": out_trade_no, "total_amount": rules::yuan(SELF_TEST_FEN), "subject": description});
            let notify = self.alipay_notify_url();
            let answer = self
                .alipay
                .call(&app, "alipay.trade.precreate", &biz, Some(&notify))
                .await
                .map(|node| node.get("qr_code").and_then(|q| q.as_str()).unwrap_or_default().to_string())
                .map_err(|e| e.to_string());
            (account.app_id, answer)
        } else {
            let Some(m) = self.merchant().await? else { return Ok(SelfTestStart::NoProvider) };
            let tid = tenant_id.to_string();
            let current = self.db(move |c| Ok(store::current_application(c, &tid)?)).await?;
            let Some(sub) =
                current.filter(|a| a.state == ApplicationState::Finished.as_str()).and_then(|a| a.sub_mchid)
            else {
                return Ok(SelfTestStart::NoAccount);
            };
            let body = json!({
                "sp_appid": m.sp_appid, "sp_mchid": m.sp_mchid, "sub_mchid": sub,
                "description": description, "out_trade_no": out_trade_no,
                "notify_url": self.wechat_notify_url(),
                "amount": {"total": SELF_TEST_FEN, "currency": "CNY"},
            });
            (sub, self.wxpay.prepay_native(&m, &body).await.map_err(|e| pay_error_text(&e)))
        };
        let (state, code_url, error) = match &answer {
            Ok(url) => ("created", Some(url.clone()), None),
            Err(e) => ("failed", None, Some(e.clone())),
        };
        let payment = store::Payment {
            id,
            tenant_id: tenant_id.to_string(),
            purpose: "self_test".into(),
            channel: channel.to_string(),
            out_trade_no,
            merchant,
            amount_fen: SELF_TEST_FEN,
            description,
            state: state.into(),
            code_url,
            transaction_id: None,
            paid_at: None,
            out_refund_no: None,
            refunded_at: None,
            error,
            created_by: actor.label.clone(),
            created_at: now,
            updated_at: now,
            request_id: None,
        };
        let (row, actor) = (payment, actor.clone());
        self.db(move |c| {
            db::write_tx(c, |c| {
                store::insert_payment(c, &row)?;
                audit::write(
                    c,
                    audit::Record {
                        actor: &actor,
                        tenant_id: Some(&row.tenant_id),
                        action: "payment.self_test_started",
                        subject: &row.out_trade_no,
                        before: None::<&()>,
                        after: Some(&json!({"channel": row.channel, "state": row.state, "error": row.error})),
                    },
                    now,
                )?;
                Ok(())
            })
        })
        .await?;
        Ok(match answer {
            Ok(_) => SelfTestStart::Started,
            Err(e) => SelfTestStart::Refused(e),
        })
    }

    /// A WeChat Pay notification: verified with the platform key, decrypted with the APIv3
    /// key, stored once, applied once.
    pub async fn wechat_notification(&self, headers: Option<SignedHeaders>, body: &str) -> Result<(), NotifyRefusal> {
        let m = match self.merchant().await {
            Ok(Some(m)) => m,
            Ok(None) => return Err(NotifyRefusal::NotConfigured),
            Err(e) => {
                tracing::error!(error = %e, "could not load WeChat Pay's keys for a notification");
                return Err(NotifyRefusal::NotConfigured);
            }
        };
        let now = crate::now();
        let applied = match open_wechat_notification(&m.platform, &m.api_v3_key, headers.as_ref(), body, now)? {
            WechatNotice::Refund { id, event, refund, plain } => {
                self.db(move |c| db::write_tx(c, |c| apply_refund(c, "wechatpay", &id, &event, &refund, &plain, now)))
                    .await
            }
            WechatNotice::Paid { id, event, paid, plain } => {
                self.db(move |c| db::write_tx(c, |c| apply_paid(c, "wechatpay", &id, &event, &paid, &plain, now))).await
            }
        };
        match applied {
            Ok(()) => Ok(()),
            Err(e) => {
                tracing::error!(error = %e, "could not store a payment notification");
                Err(NotifyRefusal::Malformed("could not be stored".into()))
            }
        }
    }

    /// An Alipay notification: verified with the Alipay public key of the account whose app
    /// it names, stored once, applied once.
    pub async fn alipay_notification(&self, params: BTreeMap<String, String>) -> Result<(), NotifyRefusal> {
        let app_id = params.get("app_id").cloned().unwrap_or_default();
        let accounts = {
            let app_id = app_id.clone();
            self.db(move |c| Ok(store::alipay_by_app_id(c, &app_id)?)).await.map_err(|e| {
                tracing::error!(error = %e, "could not load Alipay accounts for a notification");
                NotifyRefusal::NotConfigured
            })?
        };
        let keys: Vec<PublicKey> = accounts
            .iter()
            .filter_map(|a| self.unseal(&a.alipay_public_key_sealed).ok().and_then(|k| PublicKey::parse(&k).ok()))
            .collect();
        if accounts.is_empty() {
            return Err(NotifyRefusal::BadSignature(format!("no Alipay account with app_id {app_id}")));
        }
        let AlipayNotice { notify_id, event, paid, body } = read_alipay_notification(&params, &keys, crate::now())?;
        let now = crate::now();
        self.db(move |c| db::write_tx(c, |c| apply_paid(c, "alipay", &notify_id, &event, &paid, &body, now)))
            .await
            .map_err(|e: WalletError| {
                tracing::error!(error = %e, "could not store a payment notification");
                NotifyRefusal::Malformed("could not be stored".into())
            })
    }

    /// The job after a paid self-test: refund it. An error retries the job.
    pub async fn refund_self_test(&self, payment_id: &str) -> Result<(), String> {
        let id = payment_id.to_string();
        let p = self.db(move |c| Ok(store::payment_by_id(c, &id)?)).await.map_err(|e| e.to_string())?;
        let Some(p) = p.filter(|p| p.state == "paid") else { return Ok(()) };
        let out_refund_no = rules::out_trade_no("RF", &p.id);
        let now = crate::now();
        let refunded = if p.channel == "alipay" {
            let Some((_, app)) = self.alipay_app(&p.tenant_id).await.map_err(|e| e.to_string())? else {
                return Err("the Alipay account is gone".into());
            };
            let biz = json!({"out_trade_no": p.out_trade_no, "refund_amount": rules::yuan(p.amount_fen), "out_request_no": out_refund_no});
            // Alipay refunds at once: the answer is the proof.
            self.alipay.call(&app, "alipay.trade.refund", &biz, None).await.map_err(|e| e.to_string())?;
            true
        } else {
            let Some(m) = self.merchant().await.map_err(|e| e.to_string())? else {
                return Err("WeChat Pay is not configured".into());
            };
            let body = json!({
                "sub_mchid": p.merchant, "out_trade_no": p.out_trade_no, "out_refund_no": out_refund_no,
                "reason": "minihost self-test", "notify_url": self.wechat_notify_url(),
                "amount": {"refund": p.amount_fen, "total": p.amount_fen, "currency": "CNY"},
            });
            let r = self.wxpay.refund(&m, &body).await.map_err(|e| pay_error_text(&e))?;
            r.state() == "SUCCESS"
        };
        let (id, to) = (p.id.clone(), if refunded { "refunded" } else { "refunding" });
        self.db(move |c| {
            db::write_tx(c, |c| {
                let facts = store::PaymentFacts {
                    out_refund_no: Some(out_refund_no.clone()),
                    refunded_at: refunded.then_some(now),
                    ..Default::default()
                };
                if store::move_payment(c, &id, &["paid"], to, facts, now)? {
                    audit::write(
                        c,
                        audit::Record {
                            actor: &audit::Actor::system(),
                            tenant_id: Some(&p.tenant_id),
                            action: "payment.refund_requested",
                            subject: &p.out_trade_no,
                            before: Some(&json!({"state": "paid"})),
                            after: Some(&json!({"state": to, "out_refund_no": out_refund_no})),
                        },
                        now,
                    )?;
                }
                Ok(())
            })
        })
        .await
        .map_err(|e: WalletError| e.to_string())
    }
}

/// Stores the notification and, the first time, moves its payment to paid (when the
/// merchant and amount are the order's) and queues the self-test's refund.
fn apply_paid(
    c: &mut DbConn,
    channel: &str,
    notify_id: &str,
    event: &str,
    f: &PaidFacts,
    body: &str,
    now: i64,
) -> Result<(), WalletError> {
    let payment = store::payment_by_trade_no(c, channel, &f.out_trade_no)?;
    let received = store::Received {
        channel,
        notify_id,
        event_type: event,
        out_trade_no: Some(&f.out_trade_no),
        payment_id: payment.as_ref().map(|p| p.id.as_str()),
        body,
    };
    let first = store::record_notification(c, &received, now)?;
    let Some(p) = payment else {
        tracing::info!(channel, out_trade_no = %f.out_trade_no, "a payment notification for an order the console did not make");
        return Ok(());
    };
    if !first {
        return Ok(());
    }
    settle_paid(c, &p.id, f, "notification", now)
}

/// Stores a refund notification and, the first time, marks its payment refunded.
fn apply_refund(
    c: &mut DbConn,
    channel: &str,
    notify_id: &str,
    event: &str,
    r: &Refund,
    body: &str,
    now: i64,
) -> Result<(), WalletError> {
    let payment = store::payment_by_trade_no(c, channel, &r.out_trade_no)?;
    let received = store::Received {
        channel,
        notify_id,
        event_type: event,
        out_trade_no: Some(&r.out_trade_no),
        payment_id: payment.as_ref().map(|p| p.id.as_str()),
        body,
    };
    let first = store::record_notification(c, &received, now)?;
    let Some(p) = payment else { return Ok(()) };
    if !first {
        return Ok(());
    }
    if let Some(refund) = crate::db::commerce::refund_by_no(c, &r.out_refund_no)? {
        return match r.state() {
            "SUCCESS" => settle_refund(c, &refund.id, true, Some(&r.refund_id), None, now),
            "CLOSED" | "ABNORMAL" => settle_refund(c, &refund.id, false, None, Some(r.state()), now),
            _ => Ok(()),
        };
    }
    if r.state() != "SUCCESS" {
        return Ok(());
    }
    let facts = store::PaymentFacts { refunded_at: Some(now), ..Default::default() };
    if store::move_payment(c, &p.id, &["paid", "refunding"], "refunded", facts, now)? {
        audit::write(
            c,
            audit::Record {
                actor: &audit::Actor::system(),
                tenant_id: Some(&p.tenant_id),
                action: "payment.refunded",
                subject: &p.out_trade_no,
                before: Some(&json!({"state": p.state})),
                after: Some(&json!({"state": "refunded", "refund_id": r.refund_id})),
            },
            now,
        )?;
    }
    Ok(())
}

/// A WeChat Pay notification that verified and decrypted: what is stored and applied.
#[derive(Debug, Clone)]
pub enum WechatNotice {
    Paid { id: String, event: String, paid: PaidFacts, plain: String },
    Refund { id: String, event: String, refund: Refund, plain: String },
}

/// Checks a WeChat Pay notification without the database: the `Wechatpay-*` signature over
/// the body, then the envelope's JSON, the AES-256-GCM resource and the payment or refund
/// inside. Public so the fuzz targets (`fuzz/`) run exactly this on arbitrary input.
pub fn open_wechat_notification(
    platform: &PlatformVerifier,
    api_v3_key: &str,
    headers: Option<&SignedHeaders>,
    body: &str,
    now: i64,
) -> Result<WechatNotice, NotifyRefusal> {
    let headers = headers.ok_or_else(|| NotifyRefusal::BadSignature("no Wechatpay-* headers".into()))?;
    platform
        .verify(headers, body, now, crate::pay::wechatpay_client::ANSWER_WINDOW_SECS)
        .map_err(|e| NotifyRefusal::BadSignature(e.to_string()))?;
    decode_wechat_notification(api_v3_key, body)
}

/// The part of [`open_wechat_notification`] after the signature: the envelope's JSON, the
/// resource decrypted with the APIv3 key, and the payment or refund it carries.
pub fn decode_wechat_notification(api_v3_key: &str, body: &str) -> Result<WechatNotice, NotifyRefusal> {
    let n: Notification = serde_json::from_str(body).map_err(|e| NotifyRefusal::Malformed(e.to_string()))?;
    let plain = n.resource.open(api_v3_key).map_err(|_| NotifyRefusal::Undecryptable)?;
    if n.event_type.starts_with("REFUND.") {
        let refund: Refund = serde_json::from_str(&plain).map_err(|e| NotifyRefusal::Malformed(e.to_string()))?;
        return Ok(WechatNotice::Refund { id: n.id, event: n.event_type, refund, plain });
    }
    let t: Transaction = serde_json::from_str(&plain).map_err(|e| NotifyRefusal::Malformed(e.to_string()))?;
    let paid = PaidFacts {
        out_trade_no: t.out_trade_no.clone(),
        merchant: t.sub_mchid.clone(),
        amount_fen: t.amount.as_ref().map(|a| a.total),
        currency: t.amount.as_ref().and_then(|a| a.currency.clone()),
        success: t.trade_state == "SUCCESS",
        transaction_id: t.transaction_id.clone(),
    };
    Ok(WechatNotice::Paid { id: n.id, event: n.event_type, paid, plain })
}

/// An Alipay notification that verified: what is stored and applied.
#[derive(Debug, Clone)]
pub struct AlipayNotice {
    pub notify_id: String,
    pub event: String,
    pub paid: PaidFacts,
    /// The parameters without `sign`, as JSON, kept with the notification.
    pub body: String,
}

/// Checks an Alipay notification's form parameters without the database: the RSA2 `sign`
/// over the sorted content under any of `keys` (the Alipay public keys of the accounts with
/// its `app_id`), the `notify_time` window, the `notify_id`, and the payment it reports.
/// Public so the fuzz targets (`fuzz/`) run exactly this on arbitrary input.
pub fn read_alipay_notification(
    params: &BTreeMap<String, String>,
    keys: &[PublicKey],
    now: i64,
) -> Result<AlipayNotice, NotifyRefusal> {
    if !keys.iter().any(|k| alipay::verify_notification(params, k)) {
        return Err(NotifyRefusal::BadSignature("the sign does not verify with the Alipay public key".into()));
    }
    let get = |k: &str| params.get(k).cloned().unwrap_or_default();
    let sent = alipay::parse_timestamp(&get("notify_time"));
    if sent.is_none_or(|t| (now - t).abs() > ALIPAY_NOTIFY_WINDOW_SECS) {
        return Err(NotifyRefusal::Stale(get("notify_time")));
    }
    let notify_id = get("notify_id");
    if notify_id.is_empty() {
        return Err(NotifyRefusal::Malformed("no notify_id".into()));
    }
    let status = get("trade_status");
    let paid = PaidFacts {
        out_trade_no: get("out_trade_no"),
        merchant: get("app_id"),
        amount_fen: crate::domain::commerce::parse_yuan(&get("total_amount")),
        currency: None,
        success: matches!(status.as_str(), "TRADE_SUCCESS" | "TRADE_FINISHED"),
        transaction_id: Some(get("trade_no")).filter(|s| !s.is_empty()),
    };
    let mut shown = params.clone();
    shown.remove("sign");
    let body = serde_json::to_string(&shown).unwrap_or_default();
    Ok(AlipayNotice { notify_id, event: format!("alipay.{status}"), paid, body })
}
