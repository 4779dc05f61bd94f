//! The sandbox WeChat Pay's human pages, in the sandbox's own layout: the overview
//! `/sandbox/wechatpay/` (service providers, the applications queue with the reviewer's
//! buttons, sub-merchants and their AppID relations, orders, notifications), the sign page
//! the super administrator opens from `sign_url`, and the buyer's "Scan with WeChat" pages.
//! Every POST is a [`CheckedForm`] answered with a redirect (303) carrying a notice code.

use actix_web::{HttpRequest, HttpResponse, http::header, web};
use askama::Template;

use super::applyment::{self, AuditItem, DecideError};
use super::orders::{self, PayRefusal};
use super::rules::{self, Decision, State};
use super::{dev, notify, state};
use crate::db::{self, DbConn};
use crate::sandbox::page::{CheckedForm, SandboxCtx, SandboxError};
use crate::sandbox::pay::{PLATFORM_CERT_SERIAL, PLATFORM_PUBLIC_KEY_ID};
use crate::sandbox::{Sandbox, api::query_map, with_conn};

/// Notices a redirect may name, in English and Chinese.
const NOTICES: &[(&str, &str, &str)] = &[
    ("decided", "The application moved on.", "申请单状态已更新。"),
    ("not_allowed", "That is not allowed in the application's current state.", "申请单当前状态不允许此操作。"),
    ("no_reason", "A rejection needs a field and a reason.", "驳回需要填写字段和原因。"),
    ("associated", "The AppID is associated; its administrator must confirm.", "已关联AppID，待AppID管理员确认。"),
    ("bound", "The AppID is bound to the sub-merchant.", "AppID已与特约商户绑定。"),
    ("subject_mismatch", applyment::SUBJECT_MISMATCH, applyment::SUBJECT_MISMATCH),
    ("no_appid", "Enter an AppID.", "请填写AppID。"),
    ("no_sub_merchant", "No such sub-merchant.", "特约商户不存在。"),
    ("mode_saved", "The verify mode is saved.", "验签方式已保存。"),
    ("resent", "The notification is queued again.", "通知已重新排队。"),
    ("paid", "Paid. The merchant is being notified.", "支付成功，正在通知商户。"),
    ("not_payable", "This order cannot be paid (closed or paid already).", "该订单不可支付（已关闭或已支付）。"),
    ("no_order", "No open order has that code.", "没有与该二维码对应的订单。"),
    ("verified", "Account verified; the application is back in review.", "账户验证完成，申请单重新进入审核。"),
    ("signed", "Signed. The sub-merchant opens shortly.", "签约完成，稍后开通。"),
];

fn notice_text(zh: bool, code: &str) -> Option<String> {
    NOTICES.iter().find(|(c, _, _)| *c == code).map(|(_, en, cn)| if zh { cn } else { en }.to_string())
}

fn flash(ctx: &SandboxCtx, req: &HttpRequest) -> Option<String> {
    query_map(req).get("notice").and_then(|c| notice_text(ctx.is_zh(), c))
}

fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, to.to_string())).finish()
}

fn back(to: &str, notice: &str) -> HttpResponse {
    see_other(&format!("{to}?notice={notice}"))
}

/// Picks the page's language.
fn tr<'a>(ctx: &SandboxCtx, en: &'a str, zh: &'a str) -> &'a str {
    if ctx.is_zh() { zh } else { en }
}

pub struct ApplymentView {
    pub a: state::Applyment,
    pub state_msg: &'static str,
    pub auditing: bool,
    pub open: bool,
    pub masked: String,
}

pub struct SubView {
    pub s: state::SubMerchant,
    pub bindings: Vec<state::Binding>,
}

pub struct OrderView {
    pub o: state::Order,
    pub yuan: String,
}

pub struct NotificationView {
    pub n: state::Notification,
    pub attempts: Vec<state::Attempt>,
    pub gave_up: bool,
}

#[derive(Template)]
#[template(path = "sandbox/wechatpay.html")]
struct HomePage {
    ctx: SandboxCtx,
    notice: Option<String>,
    base: String,
    cert_serial: &'static str,
    public_key_id: &'static str,
    merchants: Vec<state::Merchant>,
    applyments: Vec<ApplymentView>,
    subs: Vec<SubView>,
    orders: Vec<OrderView>,
    notifications: Vec<NotificationView>,
}

impl HomePage {
    fn tr<'a>(&self, en: &'a str, zh: &'a str) -> &'a str {
        tr(&self.ctx, en, zh)
    }
}

fn load_home(c: &mut DbConn, step: i64) -> diesel::QueryResult<HomeData> {
    db::write_tx(c, |c| orders::settle_due(c, step, crate::now()))?;
    let applyments = state::list_applyments(c, 100)?
        .into_iter()
        .map(|a| {
            let st = State::parse(&a.state).unwrap_or(State::Auditing);
            let masked = format!(
                "{} · {} · {}",
                rules::mask(&a.contact_name),
                rules::mask(&a.mobile_phone),
                rules::mask(&a.account_number)
            );
            ApplymentView { state_msg: st.msg(), auditing: st == State::Auditing, open: !st.is_final(), masked, a }
        })
        .collect();
    let mut subs = Vec::new();
    for s in state::list_sub_merchants(c)? {
        let bindings = state::list_bindings(c, Some(&s.sub_mchid))?;
        subs.push(SubView { s, bindings });
    }
    let orders =
        state::list_orders(c, false, 30)?.into_iter().map(|o| OrderView { yuan: rules::yuan(o.total), o }).collect();
    let mut notifications = Vec::new();
    for n in state::list_notifications(c, 30)? {
        let attempts = state::attempts_of(c, &n.id)?;
        let gave_up = !n.delivered && n.next_attempt_ms.is_none() && n.attempts > 0;
        notifications.push(NotificationView { n, attempts, gave_up });
    }
    Ok((state::list_merchants(c)?, applyments, subs, orders, notifications))
}

type HomeData = (Vec<state::Merchant>, Vec<ApplymentView>, Vec<SubView>, Vec<OrderView>, Vec<NotificationView>);

/// `GET /sandbox/wechatpay/`.
pub async fn home(ctx: SandboxCtx, sb: web::Data<Sandbox>, req: HttpRequest) -> Result<HttpResponse, SandboxError> {
    let step = applyment::step_secs(&sb);
    let loaded = with_conn(&sb.pool, move |c| load_home(c, step)).await;
    let Ok(Ok((merchants, applyments, subs, orders, notifications))) = loaded else { return Err(ctx.internal()) };
    let page = HomePage {
        notice: flash(&ctx, &req),
        base: format!("{}/sandbox/wechatpay", sb.config.public_url),
        cert_serial: PLATFORM_CERT_SERIAL,
        public_key_id: PLATFORM_PUBLIC_KEY_ID,
        merchants,
        applyments,
        subs,
        orders,
        notifications,
        ctx,
    };
    page.ctx.reply(true).ok(&page)
}

/// `GET /sandbox/wechatpay` → the page with its slash.
pub async fn home_redirect() -> HttpResponse {
    see_other("/sandbox/wechatpay/")
}

const HOME: &str = "/sandbox/wechatpay/";

async fn apply_decision(sb: &Sandbox, id: i64, decision: Decision, audit: Vec<AuditItem>) -> &'static str {
    let done =
        with_conn(&sb.pool, move |c| db::write_tx(c, |c| applyment::decide(c, id, decision, &audit, crate::now())))
            .await;
    match done {
        Ok(Ok(_)) => "decided",
        Ok(Err(DecideError::NoReason)) => "no_reason",
        _ => "not_allowed",
    }
}

/// `POST /sandbox/wechatpay/applyments/{id}/decide` (`decision`, and for a rejection
/// `field`, `field_name`, `reject_reason`).
pub async fn decide(sb: web::Data<Sandbox>, path: web::Path<i64>, form: CheckedForm) -> HttpResponse {
    let Some(decision) = form.field("decision").and_then(Decision::parse) else { return back(HOME, "not_allowed") };
    let audit = vec![AuditItem {
        field: form.field("field").unwrap_or_default().into(),
        field_name: form.field("field_name").unwrap_or_default().into(),
        reject_reason: form.field("reject_reason").unwrap_or_default().into(),
    }];
    let notice = apply_decision(&sb, path.into_inner(), decision, audit).await;
    notify::wake(&sb);
    back(HOME, notice)
}

/// `POST /sandbox/wechatpay/sub-merchants/{sub_mchid}/associate` (`appid`): the merchant
/// associates an AppID on the merchant platform (pending its administrator).
pub async fn associate(sb: web::Data<Sandbox>, path: web::Path<String>, form: CheckedForm) -> HttpResponse {
    let appid = form.field("appid").unwrap_or_default().to_string();
    if appid.is_empty() {
        return back(HOME, "no_appid");
    }
    let sub = path.into_inner();
    let done = with_conn(&sb.pool, move |c| {
        db::write_tx(c, |c| {
            if state::find_sub_merchant(c, &sub)?.is_none() {
                return Ok("no_sub_merchant");
            }
            if state::find_binding(c, &sub, &appid)?.is_some_and(|b| b.state == "bound") {
                return Ok("bound");
            }
            let b = state::Binding {
                sub_mchid: sub,
                appid,
                state: "pending".into(),
                method: "association".into(),
                note: String::new(),
                updated_at: crate::now(),
            };
            state::put_binding(c, &b).map(|()| "associated")
        })
    })
    .await;
    back(HOME, done.ok().and_then(Result::<_, diesel::result::Error>::ok).unwrap_or("not_allowed"))
}

/// `POST /sandbox/wechatpay/sub-merchants/{sub_mchid}/confirm` (`appid`): the AppID's
/// administrator confirms; bound when the AppID's subject is the sub-merchant's.
pub async fn confirm(sb: web::Data<Sandbox>, path: web::Path<String>, form: CheckedForm) -> HttpResponse {
    let appid = form.field("appid").unwrap_or_default().to_string();
    let sub = path.into_inner();
    let done = with_conn(&sb.pool, move |c| {
        db::write_tx(c, |c| {
            let Some(s) = state::find_sub_merchant(c, &sub)? else { return Ok("no_sub_merchant") };
            let Some(mut b) = state::find_binding(c, &sub, &appid)? else { return Ok("not_allowed") };
            let (ok, note) = applyment::subject_check(c, &appid, &s.name)?;
            b.state = if ok { "bound" } else { "refused" }.into();
            b.note = note;
            b.updated_at = crate::now();
            state::put_binding(c, &b)?;
            Ok::<_, diesel::result::Error>(if ok { "bound" } else { "subject_mismatch" })
        })
    })
    .await;
    back(HOME, done.ok().and_then(Result::ok).unwrap_or("not_allowed"))
}

/// `POST /sandbox/wechatpay/merchants/{mchid}/verify-mode` (`verify_mode`).
pub async fn verify_mode(sb: web::Data<Sandbox>, path: web::Path<String>, form: CheckedForm) -> HttpResponse {
    let mode = form.field("verify_mode").unwrap_or_default().to_string();
    if mode != "certificate" && mode != "public_key" {
        return back(HOME, "not_allowed");
    }
    let mchid = path.into_inner();
    let _ = with_conn(&sb.pool, move |c| state::set_verify_mode(c, &mchid, &mode)).await;
    back(HOME, "mode_saved")
}

/// `POST /sandbox/wechatpay/notifications/{id}/resend`.
pub async fn resend(sb: web::Data<Sandbox>, path: web::Path<String>, _form: CheckedForm) -> HttpResponse {
    let id = path.into_inner();
    let _ = with_conn(&sb.pool, move |c| state::resend(c, &id, notify::now_ms())).await;
    notify::wake(&sb);
    back(HOME, "resent")
}

// ---- the sign page ----

#[derive(Template)]
#[template(path = "sandbox/wechatpay_sign.html")]
struct SignPage {
    ctx: SandboxCtx,
    notice: Option<String>,
    a: state::Applyment,
    state_msg: &'static str,
    to_confirm: bool,
    to_sign: bool,
    deadline: String,
    remark: String,
}

impl SignPage {
    fn tr<'a>(&self, en: &'a str, zh: &'a str) -> &'a str {
        tr(&self.ctx, en, zh)
    }
}

/// `GET /sandbox/wechatpay/sign/{applyment_id}`.
pub async fn sign_page(
    ctx: SandboxCtx,
    sb: web::Data<Sandbox>,
    req: HttpRequest,
    path: web::Path<i64>,
) -> Result<HttpResponse, SandboxError> {
    let id = path.into_inner();
    let step = applyment::step_secs(&sb);
    let loaded = with_conn(&sb.pool, move |c| {
        db::write_tx(c, |c| orders::settle_due(c, step, crate::now()))?;
        state::find_applyment(c, id)
    })
    .await;
    let a = match loaded {
        Ok(Ok(Some(a))) => a,
        Ok(Ok(None)) => return Err(SandboxError::NotFound(ctx.locale)),
        _ => return Err(ctx.internal()),
    };
    let st = State::parse(&a.state).unwrap_or(State::Auditing);
    let page = SignPage {
        notice: flash(&ctx, &req),
        state_msg: st.msg(),
        to_confirm: st == State::ToBeConfirmed,
        to_sign: st == State::ToBeSigned,
        deadline: rules::rfc3339(a.updated_at + 7 * 24 * 3600)[..10].to_string(),
        remark: format!("{:06}", a.applyment_id % 1_000_000),
        a,
        ctx,
    };
    page.ctx.reply(true).ok(&page)
}

/// `POST /sandbox/wechatpay/sign/{applyment_id}` (`action`: `verify_account` or `sign`).
pub async fn sign_action(sb: web::Data<Sandbox>, path: web::Path<i64>, form: CheckedForm) -> HttpResponse {
    let id = path.into_inner();
    let to = format!("/sandbox/wechatpay/sign/{id}");
    let (decision, ok_notice) = match form.field("action") {
        Some("verify_account") => (Decision::VerifyAccount, "verified"),
        Some("sign") => (Decision::Sign, "signed"),
        _ => return back(&to, "not_allowed"),
    };
    let notice = apply_decision(&sb, id, decision, Vec::new()).await;
    notify::wake(&sb);
    back(&to, if notice == "decided" { ok_notice } else { notice })
}

// ---- the buyer ----

#[derive(Template)]
#[template(path = "sandbox/wechatpay_buyer.html")]
struct BuyerPage {
    ctx: SandboxCtx,
    notice: Option<String>,
    open: Vec<(OrderView, String)>,
}

impl BuyerPage {
    fn tr<'a>(&self, en: &'a str, zh: &'a str) -> &'a str {
        tr(&self.ctx, en, zh)
    }
}

/// `GET /sandbox/wechatpay/buyer[?code_url=]`: scanning a pasted code opens its order.
pub async fn buyer(ctx: SandboxCtx, sb: web::Data<Sandbox>, req: HttpRequest) -> Result<HttpResponse, SandboxError> {
    let code_url = query_map(&req).get("code_url").map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    if let Some(code_url) = code_url {
        let found =
            with_conn(&sb.pool, move |c| dev::find_payable(c, &serde_json::json!({ "code_url": code_url }))).await;
        return Ok(match found {
            Ok(Ok(Some(o))) => see_other(&format!("/sandbox/wechatpay/buyer/orders/{}", o.id)),
            _ => back("/sandbox/wechatpay/buyer", "no_order"),
        });
    }
    let loaded = with_conn(&sb.pool, |c| {
        let mut out = Vec::new();
        for o in state::list_orders(c, true, 50)? {
            let name = state::find_sub_merchant(c, &o.sub_mchid)?.map(|s| s.name).unwrap_or_default();
            out.push((OrderView { yuan: rules::yuan(o.total), o }, name));
        }
        Ok::<_, diesel::result::Error>(out)
    })
    .await;
    let Ok(Ok(open)) = loaded else { return Err(ctx.internal()) };
    let page = BuyerPage { notice: flash(&ctx, &req), open, ctx };
    page.ctx.reply(true).ok(&page)
}

#[derive(Template)]
#[template(path = "sandbox/wechatpay_order.html")]
struct OrderPage {
    ctx: SandboxCtx,
    notice: Option<String>,
    o: state::Order,
    merchant_name: String,
    yuan: String,
    payable: bool,
    success_time: String,
}

impl OrderPage {
    fn tr<'a>(&self, en: &'a str, zh: &'a str) -> &'a str {
        tr(&self.ctx, en, zh)
    }
}

/// `GET /sandbox/wechatpay/buyer/orders/{id}`.
pub async fn order(
    ctx: SandboxCtx,
    sb: web::Data<Sandbox>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, SandboxError> {
    let id = path.into_inner();
    let loaded = with_conn(&sb.pool, move |c| {
        let Some(o) = state::find_order_by_id(c, &id)? else { return Ok(None) };
        let name = state::find_sub_merchant(c, &o.sub_mchid)?.map(|s| s.name).unwrap_or_default();
        Ok::<_, diesel::result::Error>(Some((o, name)))
    })
    .await;
    let (o, merchant_name) = match loaded {
        Ok(Ok(Some(found))) => found,
        Ok(Ok(None)) => return Err(SandboxError::NotFound(ctx.locale)),
        _ => return Err(ctx.internal()),
    };
    let page = OrderPage {
        notice: flash(&ctx, &req),
        yuan: rules::yuan(o.total),
        payable: o.state == "NOTPAY",
        success_time: o.success_time.map(rules::rfc3339).unwrap_or_default(),
        merchant_name,
        o,
        ctx,
    };
    page.ctx.reply(true).ok(&page)
}

/// `POST /sandbox/wechatpay/buyer/orders/{id}/pay`.
pub async fn pay(sb: web::Data<Sandbox>, path: web::Path<String>, _form: CheckedForm) -> HttpResponse {
    let id = path.into_inner();
    let to = format!("/sandbox/wechatpay/buyer/orders/{id}");
    let paid = with_conn(&sb.pool, move |c| db::write_tx(c, |c| orders::pay(c, &id, crate::now()))).await;
    notify::wake(&sb);
    match paid {
        Ok(Ok(_)) => back(&to, "paid"),
        Ok(Err(PayRefusal::NotPayable(_))) => back(&to, "not_payable"),
        _ => back(&to, "no_order"),
    }
}
