//! Online payment (seed 001 §3–4): the tenant's switches, buyers, sales orders and what a
//! buyer is asked to pay (a pay request behind a signed, expiring link); payment attempts
//! by WeChat Pay (a native QR code on the Web, a JSAPI prepay in the mini program) and
//! Alipay (a precreate QR code); the collection a verified payment makes, exactly once;
//! reconciliation of attempts whose notification never came; refunds.

use diesel::prelude::*;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::json;
use sha2::Sha256;

use super::{Wallet, WalletError, merchant::pay_error_text};
use crate::db::{self, DbConn, audit, bindings, commerce as store, jobs, wallet as wallet_store};
use crate::domain::commerce::{self as rules, ButtonRule, Channel, OrderFacts, OrderStatus, Purpose, Surface};
use crate::domain::wallet::{ApplicationState, out_trade_no, yuan};
use crate::services::releases::Next;

/// Why an online payment action was refused: the locale key of a sentence for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub key: &'static str,
    /// The other side's own words, when it refused.
    pub detail: Option<String>,
}

impl Refusal {
    fn new(key: &'static str) -> Self {
        Self { key, detail: None }
    }

    /// The sentence, translated by `t`, followed by the other side's words when it refused.
    pub fn sentence(&self, t: impl Fn(&str) -> String) -> String {
        match &self.detail {
            Some(d) => format!("{} {d}", t(self.key)),
            None => t(self.key),
        }
    }
}

/// A checkout action's result: refused with a sentence, or failed inside.
#[derive(Debug, thiserror::Error)]
pub enum CheckoutError {
    #[error("refused: {}", .0.key)]
    Refused(Refusal),
    #[error(transparent)]
    Wallet(#[from] WalletError),
}

impl From<db::DbError> for CheckoutError {
    fn from(e: db::DbError) -> Self {
        Self::Wallet(e.into())
    }
}

impl From<diesel::result::Error> for CheckoutError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Wallet(e.into())
    }
}

fn refused<T>(key: &'static str) -> Result<T, CheckoutError> {
    Err(CheckoutError::Refused(Refusal::new(key)))
}

/// The tenant's payment settings as submitted.
#[derive(Debug, Clone)]
pub struct SettingsInput {
    pub online_enabled: bool,
    pub order_payment: bool,
    pub collection_payment: bool,
    pub deposit_topup: bool,
    pub rule: ButtonRule,
}

/// What the buyer's page shows to pay with.
#[derive(Debug, Clone)]
pub enum Attempt {
    /// A QR code to scan (WeChat Pay `code_url` or Alipay `qr_code`).
    Qr { payment_id: String, channel: Channel, code: String },
    /// The parameters the mini program hands to `wx.requestPayment`.
    MiniProgram { payment_id: String, params: serde_json::Value },
}

/// A new buyer as typed (checked by the route).
#[derive(Debug, Clone)]
pub struct BuyerInput {
    pub name: String,
    pub customer_group: String,
    pub openid: Option<String>,
}

fn audit_record<'a>(
    actor: &'a audit::Actor,
    tenant_id: &'a str,
    action: &'a str,
    subject: &'a str,
    after: &'a serde_json::Value,
) -> audit::Record<'a, (), serde_json::Value> {
    audit::Record { actor, tenant_id: Some(tenant_id), action, subject, before: None, after: Some(after) }
}

impl Wallet {
    // ------------------------------------------------------------ links

    fn link_mac(&self, id: &str, expires: i64) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.checkout.link_key).expect("HMAC takes any key");
        mac.update(format!("{id}.{expires}").as_bytes());
        let bytes = mac.finalize().into_bytes();
        bytes.iter().take(16).map(|b| format!("{b:02x}")).collect()
    }

    /// The buyer's link to a request: `{public}/checkout/{id}.{expires}.{mac}`.
    pub fn pay_link(&self, r: &store::PayRequest) -> String {
        format!("{}/checkout/{}", self.public_url, self.link_token(r))
    }

    pub fn link_token(&self, r: &store::PayRequest) -> String {
        format!("{}.{}.{}", r.id, r.expires_at, self.link_mac(&r.id, r.expires_at))
    }

    /// The request a link names, when its signature holds and it has not expired.
    pub fn verify_link(&self, token: &str, now: i64) -> Option<String> {
        let mut parts = token.split('.');
        let (id, expires, mac) = (parts.next()?, parts.next()?.parse::<i64>().ok()?, parts.next()?);
        if parts.next().is_some() || expires < now {
            return None;
        }
        let want = self.link_mac(id, expires);
        let same = want.len() == mac.len() && subtle::ConstantTimeEq::ct_eq(want.as_bytes(), mac.as_bytes()).into();
        same.then(|| id.to_string())
    }

    // ------------------------------------------------------------ settings

    pub async fn pay_settings(&self, tenant_id: &str) -> Result<store::Settings, WalletError> {
        let tid = tenant_id.to_string();
        self.db(move |c| Ok(store::settings(c, &tid)?)).await
    }

    /// Saves the switches. Switching "Enable Online Payment" on asks for readiness live and
    /// is refused while neither WeChat Pay nor Alipay can take a payment.
    pub async fn save_pay_settings(
        &self,
        tenant_id: &str,
        actor: &audit::Actor,
        input: SettingsInput,
    ) -> Result<(), CheckoutError> {
        let before = self.pay_settings(tenant_id).await?;
        if input.online_enabled && !before.online_enabled {
            let r = self.readiness(tenant_id).await?;
            if !(r.verdict.wechatpay_web || r.verdict.alipay_web) {
                return refused("checkout.err.not_ready");
            }
        }
        let now = crate::now();
        let s = store::Settings {
            tenant_id: tenant_id.to_string(),
            online_enabled: input.online_enabled,
            order_payment: input.order_payment,
            collection_payment: input.collection_payment,
            deposit_topup: input.deposit_topup,
            button_statuses: input.rule.statuses_text(),
            button_min_fen: input.rule.min_fen,
            button_max_fen: input.rule.max_fen,
            button_group: input.rule.group.clone(),
            updated_by: actor.label.clone(),
            updated_at: now,
        };
        let (tid, actor) = (tenant_id.to_string(), actor.clone());
        self.db(move |c| {
            db::write_tx(c, |c| {
                store::put_settings(c, &s)?;
                let after = json!({
                    "online_enabled": s.online_enabled, "order_payment": s.order_payment,
                    "collection_payment": s.collection_payment, "deposit_topup": s.deposit_topup,
                    "button": {"statuses": s.button_statuses, "min_fen": s.button_min_fen, "max_fen": s.button_max_fen, "group": s.button_group},
                });
                audit::write(
                    c,
                    audit::Record {
                        actor: &actor,
                        tenant_id: Some(&tid),
                        action: "payment.settings_saved",
                        subject: &tid,
                        before: Some(&json!({"online_enabled": before.online_enabled})),
                        after: Some(&after),
                    },
                    now,
                )?;
                Ok(())
            })
        })
        .await?;
        Ok(())
    }

    // ------------------------------------------------------------ buyers and orders

    pub async fn add_buyer(
        &self,
        tenant_id: &str,
        actor: &audit::Actor,
        b: BuyerInput,
    ) -> Result<String, CheckoutError> {
        let now = crate::now();
        let row = store::Buyer {
            id: crate::new_id(),
            tenant_id: tenant_id.to_string(),
            name: b.name,
            customer_group: b.customer_group,
            openid: b.openid,
            deposit_fen: 0,
            created_at: now,
        };
        let actor = actor.clone();
        let id = row.id.clone();
        let taken = self
            .db(move |c| {
                db::write_tx(c, |c| {
                    if store::buyer_name_taken(c, &row.tenant_id, &row.name)? {
                        return Ok(true);
                    }
                    store::insert_buyer(c, &row)?;
                    let after = json!({"name": row.name, "group": row.customer_group});
                    audit::write(c, audit_record(&actor, &row.tenant_id, "buyer.added", &row.id, &after), now)?;
                    Ok(false)
                })
            })
            .await?;
        if taken {
            return refused("sales.err.buyer_taken");
        }
        Ok(id)
    }

    /// Creates a sales order with its lines for one of the tenant's buyers.
    pub async fn create_order(
        &self,
        tenant_id: &str,
        actor: &audit::Actor,
        buyer_id: &str,
        online: bool,
        lines: Vec<rules::Line>,
    ) -> Result<String, CheckoutError> {
        let now = crate::now();
        let (tid, bid, actor) = (tenant_id.to_string(), buyer_id.to_string(), actor.clone());
        let amount = rules::total_fen(&lines);
        let created = self
            .db(move |c| {
                db::write_tx(c, |c| {
                    if store::buyer(c, &tid, &bid)?.is_none() {
                        return Ok(None);
                    }
                    let order = store::Order {
                        id: crate::new_id(),
                        tenant_id: tid.clone(),
                        number: store::next_order_number(c, &tid)?,
                        buyer_id: bid.clone(),
                        payment_method: if online { "online" } else { "offline" }.into(),
                        amount_fen: amount,
                        paid_fen: 0,
                        refunded_fen: 0,
                        status: OrderStatus::Unpaid.as_str().into(),
                        created_by: actor.label.clone(),
                        created_at: now,
                        updated_at: now,
                    };
                    let rows: Vec<store::OrderLine> = lines
                        .iter()
                        .enumerate()
                        .map(|(i, l)| store::OrderLine {
                            id: crate::new_id(),
                            order_id: order.id.clone(),
                            position: i32::try_from(i).unwrap_or(i32::MAX),
                            product: l.product.clone(),
                            quantity: l.quantity,
                            unit_fen: l.unit_fen,
                        })
                        .collect();
                    store::insert_order(c, &order, &rows)?;
                    let after =
                        json!({"number": order.number, "amount_fen": amount, "payment_method": order.payment_method});
                    audit::write(c, audit_record(&actor, &tid, "sales_order.created", &order.id, &after), now)?;
                    Ok(Some(order.id))
                })
            })
            .await?;
        created.map_or_else(|| refused("sales.err.buyer"), Ok)
    }

    pub async fn cancel_order(
        &self,
        tenant_id: &str,
        actor: &audit::Actor,
        order_id: &str,
    ) -> Result<(), CheckoutError> {
        let now = crate::now();
        let (tid, oid, actor) = (tenant_id.to_string(), order_id.to_string(), actor.clone());
        let done = self
            .db(move |c| {
                db::write_tx(c, |c| {
                    if !store::cancel_order(c, &tid, &oid, now)? {
                        return Ok(false);
                    }
                    store::cancel_requests_of_order(c, &oid, now)?;
                    let after = json!({"status": "cancelled"});
                    audit::write(c, audit_record(&actor, &tid, "sales_order.cancelled", &oid, &after), now)?;
                    Ok(true)
                })
            })
            .await?;
        if !done {
            return refused("sales.err.not_unpaid");
        }
        // QR codes already shown stop working: closed at WeChat Pay or Alipay, then here. One
        // that cannot be closed (paid a moment ago) is left to its reconciliation, which
        // collects it: the money arrived, and the tenant can refund it.
        let (tid, oid) = (tenant_id.to_string(), order_id.to_string());
        let open = self.db(move |c| Ok(store::open_attempts_of_order(c, &tid, &oid)?)).await?;
        for p in open {
            if let Err(e) = self.close_at_provider(&p).await {
                tracing::warn!(out_trade_no = %p.out_trade_no, error = %e, "an attempt of a cancelled order could not be closed");
                continue;
            }
            self.mark_closed(&p, "its order was cancelled").await?;
        }
        Ok(())
    }

    /// Whether the Online Payment button shows for an order under these settings.
    pub fn button_shows(settings: &store::Settings, order: &store::Order, group: &str) -> bool {
        let rule = ButtonRule {
            statuses: ButtonRule::parse_statuses(&settings.button_statuses),
            min_fen: settings.button_min_fen,
            max_fen: settings.button_max_fen,
            group: settings.button_group.clone(),
        };
        settings.online_enabled
            && settings.order_payment
            && OrderStatus::parse(&order.status).is_some_and(|status| {
                rule.shows(&OrderFacts {
                    status,
                    amount_fen: order.amount_fen,
                    group,
                    online: order.payment_method == "online",
                })
            })
    }

    /// "Online Payment" on an order: its open pay request, or a new one. Refused when the
    /// switches or the button's conditions do not allow it.
    pub async fn request_for_order(
        &self,
        tenant_id: &str,
        actor: &audit::Actor,
        order_id: &str,
    ) -> Result<store::PayRequest, CheckoutError> {
        let now = crate::now();
        let ttl = self.checkout.link_ttl_secs;
        let (tid, oid, actor) = (tenant_id.to_string(), order_id.to_string(), actor.clone());
        let out = self
            .db(move |c| {
                db::write_tx(c, |c| {
                    let Some((order, buyer_name, group)) = store::order(c, &tid, &oid)? else {
                        return Ok(Err("sales.err.no_order"));
                    };
                    let settings = store::settings(c, &tid)?;
                    if !settings.online_enabled || !settings.order_payment {
                        return Ok(Err("checkout.err.order_payment_off"));
                    }
                    if !Self::button_shows(&settings, &order, &group) {
                        return Ok(Err("checkout.err.conditions"));
                    }
                    if let Some(open) = store::open_request_of_order(c, &tid, &oid, now)? {
                        return Ok(Ok(open));
                    }
                    let r = store::PayRequest {
                        id: crate::new_id(),
                        tenant_id: tid.clone(),
                        purpose: Purpose::Order.as_str().into(),
                        order_id: Some(order.id.clone()),
                        buyer_id: order.buyer_id.clone(),
                        amount_fen: order.amount_fen - order.paid_fen,
                        description: format!("{} · {}", order.number, buyer_name),
                        state: "open".into(),
                        expires_at: now + ttl,
                        created_by: actor.label.clone(),
                        created_at: now,
                        updated_at: now,
                    };
                    store::insert_request(c, &r)?;
                    let after = json!({"order": order.number, "amount_fen": r.amount_fen});
                    audit::write(c, audit_record(&actor, &tid, "pay_request.created", &r.id, &after), now)?;
                    Ok(Ok(r))
                })
            })
            .await?;
        out.or_else(refused)
    }

    /// A payment collection asked for outside an order (seed 001 §3.2), or an online top-up
    /// of the buyer's prepaid deposit (§4).
    pub async fn request_collection(
        &self,
        tenant_id: &str,
        actor: &audit::Actor,
        buyer_id: &str,
        purpose: Purpose,
        amount_fen: i64,
        note: &str,
    ) -> Result<store::PayRequest, CheckoutError> {
        let now = crate::now();
        let ttl = self.checkout.link_ttl_secs;
        let (tid, bid, actor, note) = (tenant_id.to_string(), buyer_id.to_string(), actor.clone(), note.to_string());
        let out = self
            .db(move |c| {
                db::write_tx(c, |c| {
                    let settings = store::settings(c, &tid)?;
                    let allowed = match purpose {
                        Purpose::Deposit => settings.deposit_topup,
                        _ => settings.collection_payment,
                    };
                    if !settings.online_enabled || !allowed {
                        return Ok(Err(if purpose == Purpose::Deposit {
                            "checkout.err.topup_off"
                        } else {
                            "checkout.err.collection_off"
                        }));
                    }
                    let Some(buyer) = store::buyer(c, &tid, &bid)? else { return Ok(Err("sales.err.buyer")) };
                    let description =
                        if note.is_empty() { buyer.name.clone() } else { format!("{note} · {}", buyer.name) };
                    let r = store::PayRequest {
                        id: crate::new_id(),
                        tenant_id: tid.clone(),
                        purpose: purpose.as_str().into(),
                        order_id: None,
                        buyer_id: buyer.id.clone(),
                        amount_fen,
                        description,
                        state: "open".into(),
                        expires_at: now + ttl,
                        created_by: actor.label.clone(),
                        created_at: now,
                        updated_at: now,
                    };
                    store::insert_request(c, &r)?;
                    let after = json!({"purpose": r.purpose, "amount_fen": amount_fen, "buyer": buyer.name});
                    audit::write(c, audit_record(&actor, &tid, "pay_request.created", &r.id, &after), now)?;
                    Ok(Ok(r))
                })
            })
            .await?;
        out.or_else(refused)
    }

    pub async fn request_by_id(&self, id: &str) -> Result<Option<store::PayRequest>, WalletError> {
        let id = id.to_string();
        self.db(move |c| Ok(store::request_by_id(c, &id)?)).await
    }

    /// The attempts of a request (newest first).
    pub async fn attempts(&self, request_id: &str) -> Result<Vec<wallet_store::Payment>, WalletError> {
        let id = request_id.to_string();
        self.db(move |c| Ok(store::attempts_of(c, &id)?)).await
    }

    // ------------------------------------------------------------ paying

    /// Starts (or reuses) a payment attempt of an open request on `channel`, as the buyer's
    /// page (`Surface::Web`) or the mini program (`Surface::MiniProgram`, with the buyer's
    /// `openid` in it) asks.
    pub async fn start_attempt(
        &self,
        request_id: &str,
        channel: Channel,
        surface: Surface,
        openid: Option<&str>,
    ) -> Result<Attempt, CheckoutError> {
        if let Some(key) = rules::channel_refusal(surface, channel) {
            return refused(key);
        }
        let now = crate::now();
        let r =
            self.request_by_id(request_id).await?.ok_or(CheckoutError::Refused(Refusal::new("checkout.err.gone")))?;
        if r.state == "paid" {
            return refused("checkout.err.already_paid");
        }
        if r.state != "open" || r.expires_at < now {
            return refused("checkout.err.gone");
        }
        let settings = self.pay_settings(&r.tenant_id).await?;
        if !settings.online_enabled {
            return refused("checkout.err.off");
        }
        let trade = match (surface, channel) {
            (Surface::MiniProgram, _) => "jsapi",
            (_, Channel::WechatPay) => "native",
            (_, Channel::Alipay) => "precreate",
        };
        // A QR code already shown for this channel is shown again rather than made anew.
        if surface == Surface::Web
            && let Some(p) = self
                .attempts(&r.id)
                .await?
                .into_iter()
                .find(|p| p.channel == channel.as_str() && p.state == "created" && p.code_url.is_some())
            && p.created_at + self.checkout.window_secs > now
        {
            let code = p.code_url.clone().unwrap_or_default();
            return Ok(Attempt::Qr { payment_id: p.id, channel, code });
        }
        let id = crate::new_id();
        let out_no = out_trade_no("MH", &id);
        let (merchant, answer) = match channel {
            Channel::Alipay => {
                let Some((account, app)) = self.alipay_app(&r.tenant_id).await? else {
                    return refused("checkout.err.no_alipay");
                };
                let biz = json!({"out_trade_no": out_no, "total_amount": yuan(r.amount_fen), "subject": r.description,
                    "timeout_express": format!("{}m", (self.checkout.window_secs / 60).max(1))});
                let notify = self.alipay_notify_url();
                let answer = self
                    .alipay
                    .call(&app, "alipay.trade.precreate", &biz, Some(&notify))
                    .await
                    .map(|node| node.get("qr_code").and_then(|q| q.as_str()).unwrap_or_default().to_string())
                    .map_err(|e| e.to_string());
                (account.app_id, answer.map(|qr| (qr, None)))
            }
            Channel::WechatPay => {
                let Some(m) = self.merchant().await? else { return refused("checkout.err.no_wechatpay") };
                let Some(sub) = self.open_sub_mchid(&r.tenant_id).await? else {
                    return refused("checkout.err.no_wechatpay");
                };
                let mut body = json!({
                    "sp_appid": m.sp_appid, "sp_mchid": m.sp_mchid, "sub_mchid": sub,
                    "description": r.description.chars().take(120).collect::<String>(), "out_trade_no": out_no,
                    "notify_url": self.wechat_notify_url(),
                    "amount": {"total": r.amount_fen, "currency": "CNY"},
                });
                let answer = if trade == "jsapi" {
                    let tid = r.tenant_id.clone();
                    let appid = self.db(move |c| Ok(bindings::active_for_tenant(c, &tid)?.map(|b| b.appid))).await?;
                    let Some(appid) = appid else { return refused("checkout.err.no_mini_program") };
                    let Some(openid) = openid.filter(|o| !o.trim().is_empty()) else {
                        return refused("checkout.err.no_openid");
                    };
                    body["sub_appid"] = json!(appid);
                    body["payer"] = json!({"sub_openid": openid});
                    self.wxpay
                        .prepay_jsapi(&m, &body)
                        .await
                        .map(|prepay_id| {
                            let params = crate::pay::wechatpay::request_payment_params(
                                &m.key,
                                &appid,
                                &prepay_id,
                                crate::now(),
                                &crate::pay::wechatpay::nonce(),
                            );
                            (prepay_id, Some(params))
                        })
                        .map_err(|e| pay_error_text(&e))
                } else {
                    self.wxpay.prepay_native(&m, &body).await.map(|url| (url, None)).map_err(|e| pay_error_text(&e))
                };
                (sub, answer)
            }
        };
        let (code, params) = match answer {
            Ok(a) => a,
            Err(words) => {
                tracing::warn!(request = %r.id, channel = channel.as_str(), error = %words, "a payment could not be started");
                return Err(CheckoutError::Refused(Refusal { key: "checkout.err.provider", detail: Some(words) }));
            }
        };
        let payment = wallet_store::Payment {
            id: id.clone(),
            tenant_id: r.tenant_id.clone(),
            purpose: "checkout".into(),
            channel: channel.as_str().into(),
            out_trade_no: out_no,
            merchant,
            amount_fen: r.amount_fen,
            description: r.description.clone(),
            state: "created".into(),
            code_url: Some(code.clone()),
            transaction_id: None,
            paid_at: None,
            out_refund_no: None,
            refunded_at: None,
            error: None,
            created_by: "buyer".into(),
            created_at: now,
            updated_at: now,
            request_id: Some(r.id.clone()),
        };
        let window = self.checkout.window_secs;
        let row = payment.clone();
        self.db(move |c| {
            db::write_tx(c, |c| {
                wallet_store::insert_payment(c, &row)?;
                // The attempt is asked about once its window has passed, whatever the notifications do.
                jobs::enqueue(c, &jobs::ReconcilePayment { payment_id: row.id.clone() }, Some(&row.id), now + window, now)?;
                audit::write(
                    c,
                    audit::Record {
                        actor: &audit::Actor::system(),
                        tenant_id: Some(&row.tenant_id),
                        action: "payment.started",
                        subject: &row.out_trade_no,
                        before: None::<&()>,
                        after: Some(&json!({"channel": row.channel, "trade": trade, "amount_fen": row.amount_fen, "request": row.request_id})),
                    },
                    now,
                )?;
                Ok(())
            })
        })
        .await?;
        Ok(match params {
            Some(params) => Attempt::MiniProgram { payment_id: id, params },
            None => Attempt::Qr { payment_id: id, channel, code },
        })
    }

    async fn open_sub_mchid(&self, tenant_id: &str) -> Result<Option<String>, WalletError> {
        let tid = tenant_id.to_string();
        let current = self.db(move |c| Ok(wallet_store::current_application(c, &tid)?)).await?;
        Ok(current.filter(|a| a.state == ApplicationState::Finished.as_str()).and_then(|a| a.sub_mchid))
    }

    // ------------------------------------------------------------ reconciliation

    /// The job after an attempt's window: asks WeChat Pay or Alipay what became of it. Paid:
    /// collected (the query's answer is verified like a notification). Unpaid: closed there
    /// and here. Paying: asked again a little later.
    pub async fn reconcile_payment(&self, payment_id: &str) -> Result<Next, String> {
        let id = payment_id.to_string();
        let p = self.db(move |c| Ok(wallet_store::payment_by_id(c, &id)?)).await.map_err(|e| e.to_string())?;
        let Some(p) = p.filter(|p| p.state == "created") else { return Ok(Next::Finished) };
        let now = crate::now();
        let facts = match p.channel.as_str() {
            "alipay" => self.query_alipay(&p).await?,
            _ => self.query_wechatpay(&p).await?,
        };
        match facts {
            Queried::Paid(f) => {
                let pid = p.id.clone();
                self.db(move |c| db::write_tx(c, |c| settle_paid(c, &pid, &f, "query", now)))
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(Next::Finished)
            }
            Queried::Paying => Ok(Next::Again(now + 60)),
            Queried::Unpaid => {
                self.close_at_provider(&p).await?;
                self.mark_closed(&p, "unpaid when its window passed").await.map_err(|e| e.to_string())?;
                Ok(Next::Finished)
            }
        }
    }

    /// Marks an attempt closed here (only while it waits for the buyer), with its audit row.
    async fn mark_closed(&self, p: &wallet_store::Payment, why: &'static str) -> Result<(), WalletError> {
        let (pid, tid, out) = (p.id.clone(), p.tenant_id.clone(), p.out_trade_no.clone());
        let now = crate::now();
        self.db(move |c| {
            db::write_tx(c, |c| {
                if wallet_store::move_payment(c, &pid, &["created"], "closed", Default::default(), now)? {
                    audit::write(
                        c,
                        audit::Record {
                            actor: &audit::Actor::system(),
                            tenant_id: Some(&tid),
                            action: "payment.closed",
                            subject: &out,
                            before: Some(&json!({"state": "created"})),
                            after: Some(&json!({"state": "closed", "why": why})),
                        },
                        now,
                    )?;
                }
                Ok(())
            })
        })
        .await
    }

    async fn query_wechatpay(&self, p: &wallet_store::Payment) -> Result<Queried, String> {
        let m = self.merchant().await.map_err(|e| e.to_string())?.ok_or("WeChat Pay is not configured")?;
        match self.wxpay.query_order(&m, &p.merchant, &p.out_trade_no).await {
            Ok(t) => Ok(match t.trade_state.as_str() {
                "SUCCESS" | "REFUND" => Queried::Paid(PaidFacts {
                    out_trade_no: t.out_trade_no.clone(),
                    merchant: t.sub_mchid.clone(),
                    amount_fen: t.amount.as_ref().map(|a| a.total),
                    currency: t.amount.as_ref().and_then(|a| a.currency.clone()),
                    success: true,
                    transaction_id: t.transaction_id.clone(),
                }),
                "USERPAYING" | "ACCEPT" => Queried::Paying,
                _ => Queried::Unpaid,
            }),
            Err(e) if e.code() == Some("ORDER_NOT_EXIST") || e.code() == Some("ORDERNOTEXIST") => Ok(Queried::Unpaid),
            Err(e) => Err(pay_error_text(&e)),
        }
    }

    async fn query_alipay(&self, p: &wallet_store::Payment) -> Result<Queried, String> {
        let Some((_, app)) = self.alipay_app(&p.tenant_id).await.map_err(|e| e.to_string())? else {
            return Err("the Alipay account is gone".into());
        };
        match self.alipay.call(&app, "alipay.trade.query", &json!({"out_trade_no": p.out_trade_no}), None).await {
            Ok(node) => {
                let get = |k: &str| node.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_string();
                Ok(match get("trade_status").as_str() {
                    "TRADE_SUCCESS" | "TRADE_FINISHED" => Queried::Paid(PaidFacts {
                        out_trade_no: get("out_trade_no"),
                        merchant: app.app_id.clone(),
                        amount_fen: rules::parse_yuan(&get("total_amount")),
                        currency: None,
                        success: true,
                        transaction_id: Some(get("trade_no")).filter(|s| !s.is_empty()),
                    }),
                    "WAIT_BUYER_PAY" if p.created_at + self.checkout.window_secs > crate::now() => Queried::Paying,
                    _ => Queried::Unpaid,
                })
            }
            // A QR code nobody scanned is not a trade at Alipay yet.
            Err(e) if e.to_string().contains("TRADE_NOT_EXIST") => Ok(Queried::Unpaid),
            Err(e) => Err(e.to_string()),
        }
    }

    async fn close_at_provider(&self, p: &wallet_store::Payment) -> Result<(), String> {
        if p.channel == "alipay" {
            let Some((_, app)) = self.alipay_app(&p.tenant_id).await.map_err(|e| e.to_string())? else { return Ok(()) };
            match self.alipay.call(&app, "alipay.trade.close", &json!({"out_trade_no": p.out_trade_no}), None).await {
                Ok(_) => Ok(()),
                Err(e) if e.to_string().contains("TRADE_NOT_EXIST") => Ok(()),
                Err(e) => Err(e.to_string()),
            }
        } else {
            let m = self.merchant().await.map_err(|e| e.to_string())?.ok_or("WeChat Pay is not configured")?;
            match self.wxpay.close_order(&m, &p.merchant, &p.out_trade_no).await {
                Ok(()) => Ok(()),
                // Paid after all between the query and the close: the next round collects it.
                Err(e) if e.code() == Some("ORDERPAID") => Err("paid while being closed; asked again".into()),
                Err(e) => Err(pay_error_text(&e)),
            }
        }
    }

    // ------------------------------------------------------------ refunds

    /// Refunds `amount_fen` of a collection (full or partial). The refund cannot exceed what
    /// was paid less what is refunded or being refunded; a top-up's refund takes the money
    /// back from the deposit first, and cannot take what the buyer has spent.
    pub async fn refund_collection(
        &self,
        tenant_id: &str,
        actor: &audit::Actor,
        collection_id: &str,
        amount_fen: i64,
        reason: &str,
    ) -> Result<(), CheckoutError> {
        let now = crate::now();
        let (tid, cid, actor2, reason) =
            (tenant_id.to_string(), collection_id.to_string(), actor.clone(), reason.trim().to_string());
        let started = self
            .db(move |c| {
                db::write_tx(c, |c| {
                    let Some((col, _, _)) = store::collection(c, &tid, &cid)? else {
                        return Ok(Err("sales.err.no_collection"));
                    };
                    let refunded = store::refunds_pending_or_done(c, &col.id)?;
                    let deposit = if col.purpose == Purpose::Deposit.as_str() {
                        store::buyer(c, &tid, &col.buyer_id)?.map(|b| b.deposit_fen)
                    } else {
                        None
                    };
                    if let Some(key) = rules::refund_refusal(amount_fen, col.amount_fen, refunded, deposit) {
                        return Ok(Err(key));
                    }
                    let payment =
                        wallet_store::payment_by_id(c, &col.payment_id)?.ok_or(diesel::result::Error::NotFound)?;
                    let r = store::Refund {
                        id: crate::new_id(),
                        tenant_id: tid.clone(),
                        collection_id: col.id.clone(),
                        out_refund_no: out_trade_no("RF", &crate::new_id()),
                        amount_fen,
                        reason: if reason.is_empty() { "refund".into() } else { reason.clone() },
                        state: "processing".into(),
                        refund_id: None,
                        error: None,
                        created_by: actor2.label.clone(),
                        created_at: now,
                        settled_at: None,
                    };
                    store::insert_refund(c, &r)?;
                    if deposit.is_some()
                        && !store::move_deposit(c, &tid, &col.buyer_id, -amount_fen, &col.id, Some(&r.id), now)?
                    {
                        return Ok(Err("sales.refund.err.deposit_spent"));
                    }
                    let after = json!({"amount_fen": amount_fen, "out_refund_no": r.out_refund_no, "reason": r.reason});
                    audit::write(c, audit_record(&actor2, &tid, "refund.requested", &col.id, &after), now)?;
                    Ok(Ok((r, col, payment)))
                })
            })
            .await?;
        let (r, col, payment) = match started {
            Ok(x) => x,
            Err(key) => return refused(key),
        };
        // Ask the provider; its answer (or the refund notification) settles the refund.
        let answer: Result<Option<String>, String> = if col.channel == "alipay" {
            match self.alipay_app(tenant_id).await? {
                None => Err("the Alipay account is gone".into()),
                Some((_, app)) => {
                    let biz = json!({"out_trade_no": payment.out_trade_no, "refund_amount": yuan(amount_fen),
                        "out_request_no": r.out_refund_no, "refund_reason": r.reason});
                    self.alipay
                        .call(&app, "alipay.trade.refund", &biz, None)
                        .await
                        .map(|node| {
                            Some(node.get("trade_no").and_then(|v| v.as_str()).unwrap_or(&r.out_refund_no).to_string())
                        })
                        .map_err(|e| e.to_string())
                }
            }
        } else {
            match self.merchant().await? {
                None => Err("WeChat Pay is not configured".into()),
                Some(m) => {
                    let body = json!({
                        "sub_mchid": payment.merchant, "out_trade_no": payment.out_trade_no, "out_refund_no": r.out_refund_no,
                        "reason": r.reason, "notify_url": self.wechat_notify_url(),
                        "amount": {"refund": amount_fen, "total": payment.amount_fen, "currency": "CNY"},
                    });
                    self.wxpay
                        .refund(&m, &body)
                        .await
                        .map(|answer| (answer.state() == "SUCCESS").then(|| answer.refund_id.clone()))
                        .map_err(|e| pay_error_text(&e))
                }
            }
        };
        let rid = r.id.clone();
        match answer {
            Ok(None) => Ok(()), // WeChat Pay is processing it: its notification settles it.
            Ok(Some(refund_id)) => {
                self.db(move |c| {
                    db::write_tx(c, |c| settle_refund(c, &rid, true, Some(&refund_id), None, crate::now()))
                })
                .await?;
                Ok(())
            }
            Err(words) => {
                let w = words.clone();
                self.db(move |c| db::write_tx(c, |c| settle_refund(c, &rid, false, None, Some(&w), crate::now())))
                    .await?;
                Err(CheckoutError::Refused(Refusal { key: "sales.refund.err.provider", detail: Some(words) }))
            }
        }
    }
}

/// What a query said of an attempt.
enum Queried {
    Paid(PaidFacts),
    Paying,
    Unpaid,
}

/// What a verified payment says, whichever channel and whichever way (notification or
/// query) it came.
#[derive(Debug, Clone)]
pub struct PaidFacts {
    pub out_trade_no: String,
    pub merchant: String,
    pub amount_fen: Option<i64>,
    pub currency: Option<String>,
    pub success: bool,
    pub transaction_id: Option<String>,
}

/// Moves a payment to paid once, from a verified notification or query: the state is in
/// the UPDATE's filter, so of a notification, its retries, a second instance and a racing
/// query only one moves it; the collection follows in the same transaction. A payment
/// whose merchant, amount or currency is not the order's is flagged, not collected.
pub(super) fn settle_paid(
    c: &mut DbConn,
    payment_id: &str,
    f: &PaidFacts,
    source: &str,
    now: i64,
) -> Result<(), WalletError> {
    let Some(p) = wallet_store::payment_by_id(c, payment_id)? else { return Ok(()) };
    if !f.success {
        return Ok(());
    }
    if !rules::payment_matches(&p.merchant, p.amount_fen, &f.merchant, f.amount_fen, f.currency.as_deref()) {
        tracing::warn!(channel = %p.channel, out_trade_no = %p.out_trade_no, "a verified payment's merchant, amount or currency is not the order's: flagged, not collected");
        let facts = wallet_store::PaymentFacts {
            error: Some(format!(
                "not collected: paid {} {} to {}, ordered {} to {}",
                f.amount_fen.map(yuan).unwrap_or_default(),
                f.currency.clone().unwrap_or_else(|| "CNY".into()),
                f.merchant,
                yuan(p.amount_fen),
                p.merchant
            )),
            ..Default::default()
        };
        if wallet_store::move_payment(c, &p.id, &["created", "closed"], "failed", facts, now)? {
            audit::write(
                c,
                audit::Record {
                    actor: &audit::Actor::system(),
                    tenant_id: Some(&p.tenant_id),
                    action: "payment.mismatch",
                    subject: &p.out_trade_no,
                    before: Some(&json!({"state": p.state})),
                    after: Some(
                        &json!({"state": "failed", "paid_fen": f.amount_fen, "merchant": f.merchant, "currency": f.currency}),
                    ),
                },
                now,
            )?;
        }
        return Ok(());
    }
    let facts = wallet_store::PaymentFacts {
        transaction_id: f.transaction_id.clone(),
        paid_at: Some(now),
        ..Default::default()
    };
    // A closed attempt that was paid all the same is collected: the money arrived.
    if !wallet_store::move_payment(c, &p.id, &["created", "closed"], "paid", facts, now)? {
        return Ok(());
    }
    audit::write(
        c,
        audit::Record {
            actor: &audit::Actor::system(),
            tenant_id: Some(&p.tenant_id),
            action: "payment.paid",
            subject: &p.out_trade_no,
            before: Some(&json!({"state": p.state})),
            after: Some(&json!({"state": "paid", "transaction_id": f.transaction_id, "source": source})),
        },
        now,
    )?;
    if p.purpose == "self_test" {
        jobs::enqueue(c, &jobs::RefundSelfTest { payment_id: p.id.clone() }, Some(&p.id), now, now)?;
        return Ok(());
    }
    collect(c, &p, f.transaction_id.as_deref(), source, now)
}

/// The payment collection, transaction record, order and deposit effects of one paid
/// attempt; once per payment (the collection's payment id is unique).
fn collect(
    c: &mut DbConn,
    p: &wallet_store::Payment,
    transaction_id: Option<&str>,
    source: &str,
    now: i64,
) -> Result<(), WalletError> {
    let Some(request_id) = p.request_id.as_deref() else { return Ok(()) };
    let Some(r) = store::request(c, &p.tenant_id, request_id)? else { return Ok(()) };
    let col = store::Collection {
        id: crate::new_id(),
        tenant_id: p.tenant_id.clone(),
        request_id: r.id.clone(),
        payment_id: p.id.clone(),
        buyer_id: r.buyer_id.clone(),
        order_id: r.order_id.clone(),
        purpose: r.purpose.clone(),
        channel: p.channel.clone(),
        amount_fen: p.amount_fen,
        refunded_fen: 0,
        transaction_id: transaction_id.map(str::to_string),
        source: source.into(),
        collected_at: now,
    };
    if !store::insert_collection(c, &col)? {
        return Ok(());
    }
    store::insert_record(
        c,
        &store::TransactionRecord {
            id: crate::new_id(),
            tenant_id: p.tenant_id.clone(),
            collection_id: col.id.clone(),
            kind: "payment".into(),
            channel: p.channel.clone(),
            amount_fen: p.amount_fen,
            reference: transaction_id.unwrap_or(&p.out_trade_no).to_string(),
            at: now,
        },
    )?;
    store::request_paid(c, &r.id, now)?;
    if let Some(order_id) = &r.order_id
        && !store::order_paid(c, order_id, p.amount_fen, now)?
    {
        store::order_paid_again(c, order_id, p.amount_fen, now)?;
    }
    if r.purpose == Purpose::Deposit.as_str() {
        store::move_deposit(c, &p.tenant_id, &r.buyer_id, p.amount_fen, &col.id, None, now)?;
    }
    audit::write(
        c,
        audit::Record {
            actor: &audit::Actor::system(),
            tenant_id: Some(&p.tenant_id),
            action: "payment.collected",
            subject: &col.id,
            before: None::<&()>,
            after: Some(
                &json!({"amount_fen": p.amount_fen, "channel": p.channel, "purpose": r.purpose, "order": r.order_id, "source": source}),
            ),
        },
        now,
    )?;
    Ok(())
}

/// Settles a refund once: succeeded (the collection, order and transaction records follow)
/// or failed (a top-up's deposit is given back).
pub(super) fn settle_refund(
    c: &mut DbConn,
    refund_row_id: &str,
    succeeded: bool,
    refund_id: Option<&str>,
    error: Option<&str>,
    now: i64,
) -> Result<(), WalletError> {
    let to = if succeeded { "succeeded" } else { "failed" };
    if !store::settle_refund(c, refund_row_id, to, refund_id, error, now)? {
        return Ok(());
    }
    let r = crate::db::schema::refunds::table
        .find(refund_row_id)
        .select(store::Refund::as_select())
        .first(c)
        .map_err(WalletError::from)?;
    let Some((col, _, _)) = store::collection(c, &r.tenant_id, &r.collection_id)? else { return Ok(()) };
    if succeeded {
        store::collection_refunded(c, &col.id, r.amount_fen)?;
        if let Some(order_id) = &col.order_id {
            store::order_refunded(c, order_id, r.amount_fen, now)?;
        }
        store::insert_record(
            c,
            &store::TransactionRecord {
                id: crate::new_id(),
                tenant_id: r.tenant_id.clone(),
                collection_id: col.id.clone(),
                kind: "refund".into(),
                channel: col.channel.clone(),
                amount_fen: -r.amount_fen,
                reference: r.out_refund_no.clone(),
                at: now,
            },
        )?;
    } else if col.purpose == Purpose::Deposit.as_str() {
        store::move_deposit(c, &r.tenant_id, &col.buyer_id, r.amount_fen, &col.id, Some(&r.id), now)?;
    }
    audit::write(
        c,
        audit::Record {
            actor: &audit::Actor::system(),
            tenant_id: Some(&r.tenant_id),
            action: if succeeded { "refund.succeeded" } else { "refund.failed" },
            subject: &col.id,
            before: Some(&json!({"state": "processing"})),
            after: Some(&json!({"state": to, "amount_fen": r.amount_fen, "refund_id": refund_id, "error": error})),
        },
        now,
    )?;
    Ok(())
}
