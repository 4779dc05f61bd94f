//! The Alipay simulator's human pages (sandbox layout, CSRF-checked forms):
//!
//! * `GET /sandbox/alipay/`: the gateway URL, the Alipay public key, the applications and a
//!   form to register one (company name, application public key), recent trades,
//!   notifications with their attempts (and a button to send one again), a link to the buyer.
//! * `GET /sandbox/alipay/buyer` ("Scan with Alipay"): a field for a `qr_code` and the open
//!   trades; `GET /sandbox/alipay/buyer/{token}`: the trade (company, subject, amount) and
//!   the "Pay ¥…" button (`POST …/pay`).

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, http::header, web};
use askama::Template;

use super::dev::{self, RegisterError};
use super::rules;
use super::store::{self, Trade};
use super::trades::PayError;
use super::{notify, qr_code, qr_token};
use crate::pay::alipay::timestamp;
use crate::sandbox::page::{CheckedForm, SandboxCtx, SandboxError};
use crate::sandbox::pay::ALIPAY_PUBLIC_KEY_PEM;
use crate::sandbox::{Sandbox, with_conn};

/// The page's words in its language (the sandbox catalog has no Alipay keys).
pub struct L {
    zh: bool,
}

impl L {
    pub fn t<'a>(&self, en: &'a str, zh: &'a str) -> &'a str {
        if self.zh { zh } else { en }
    }
}

pub struct AppRow {
    pub app_id: String,
    pub name: String,
    pub created: String,
}

pub struct TradeRow {
    pub app_id: String,
    pub company: String,
    pub out_trade_no: String,
    pub trade_no: String,
    pub subject: String,
    pub amount: String,
    pub refunded: String,
    pub status: String,
    pub created: String,
    pub token: String,
    pub qr_code: String,
}

pub struct AttemptRow {
    pub at: String,
    pub http_status: String,
    pub body: String,
    pub outcome: String,
}

pub struct NoteRow {
    pub id: String,
    pub out_trade_no: String,
    pub notify_url: String,
    pub notify_id: String,
    pub status: String,
    pub attempts: Vec<AttemptRow>,
}

#[derive(Template)]
#[template(path = "sandbox/alipay.html")]
struct HomePage {
    ctx: SandboxCtx,
    l: L,
    gateway_url: String,
    console_gateway: String,
    alipay_public_key: &'static str,
    apps: Vec<AppRow>,
    trades: Vec<TradeRow>,
    notes: Vec<NoteRow>,
    form_name: String,
    form_key: String,
    error: Option<String>,
    created: Option<String>,
}

#[derive(Template)]
#[template(path = "sandbox/alipay_buyer.html")]
struct BuyerPage {
    ctx: SandboxCtx,
    l: L,
    qr_code: String,
    error: Option<String>,
    trades: Vec<TradeRow>,
}

#[derive(Template)]
#[template(path = "sandbox/alipay_trade.html")]
struct TradePage {
    ctx: SandboxCtx,
    l: L,
    trade: TradeRow,
    payable: bool,
    paid: bool,
    error: Option<String>,
}

fn when(at: i64) -> String {
    format!("{} (GMT+8)", timestamp(at))
}

fn trade_row(t: &Trade, names: &HashMap<String, String>, now: i64) -> TradeRow {
    TradeRow {
        app_id: t.app_id.clone(),
        company: names.get(&t.app_id).cloned().unwrap_or_default(),
        out_trade_no: t.out_trade_no.clone(),
        trade_no: t.trade_no.clone().unwrap_or_default(),
        subject: t.subject.clone(),
        amount: rules::yuan(t.total_cents),
        refunded: rules::yuan(t.refunded_cents),
        status: rules::effective_status(&t.status, t.expires_at, now).to_string(),
        created: when(t.created_at),
        token: t.qr_token.clone(),
        qr_code: qr_code(&t.qr_token),
    }
}

fn names(apps: &[store::App]) -> HashMap<String, String> {
    apps.iter().map(|a| (a.app_id.clone(), a.name.clone())).collect()
}

fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, to.to_string())).finish()
}

fn query(req: &HttpRequest) -> HashMap<String, String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string()).unwrap_or_default().into_iter().collect()
}

/// `GET /sandbox/alipay/`.
pub async fn home(ctx: SandboxCtx, sb: web::Data<Sandbox>, req: HttpRequest) -> Result<HttpResponse, SandboxError> {
    let created = query(&req).get("created").filter(|a| a.bytes().all(|b| b.is_ascii_digit())).cloned();
    render_home(ctx, &sb, (String::new(), String::new()), None, created, StatusCode::OK).await
}

async fn render_home(
    ctx: SandboxCtx,
    sb: &Sandbox,
    form: (String, String),
    error: Option<String>,
    created: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, SandboxError> {
    let loaded = with_conn(&sb.pool, |c| {
        Ok::<_, diesel::result::Error>((
            store::list_apps(c)?,
            store::list_trades(c, 50)?,
            dev::load_notifications(c, 30)?,
        ))
    })
    .await;
    let (apps, trades, (notes, attempts)) = match loaded {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "sandbox alipay: cannot load the page");
            return Err(ctx.internal());
        }
        Err(_) => return Err(ctx.internal()),
    };
    let now = crate::now();
    let by_app = names(&apps);
    let trade_out: HashMap<String, String> = trades.iter().map(|t| (t.id.clone(), t.out_trade_no.clone())).collect();
    let notes = notes
        .iter()
        .map(|n| NoteRow {
            id: n.id.clone(),
            out_trade_no: trade_out.get(&n.trade_id).cloned().unwrap_or_default(),
            notify_url: n.notify_url.clone(),
            notify_id: n.notify_id.clone(),
            status: n.status.clone(),
            attempts: attempts
                .iter()
                .filter(|a| a.notification_id == n.id)
                .map(|a| AttemptRow {
                    at: when(a.at_ms / 1000),
                    http_status: a.http_status.map(|s| s.to_string()).unwrap_or_else(|| "–".into()),
                    body: a.body.clone(),
                    outcome: a.outcome.clone(),
                })
                .collect(),
        })
        .collect();
    let page = HomePage {
        l: L { zh: ctx.is_zh() },
        gateway_url: format!("{}/sandbox/alipay/gateway.do", sb.config.public_url),
        console_gateway: sb.config.alipay_gateway.clone(),
        alipay_public_key: ALIPAY_PUBLIC_KEY_PEM,
        apps: apps
            .iter()
            .map(|a| AppRow { app_id: a.app_id.clone(), name: a.name.clone(), created: when(a.created_at) })
            .collect(),
        trades: trades.iter().map(|t| trade_row(t, &by_app, now)).collect(),
        notes,
        form_name: form.0,
        form_key: form.1,
        error,
        created,
        ctx,
    };
    page.ctx.reply(true).html(status, &page)
}

/// `POST /sandbox/alipay/apps`: registers an application.
pub async fn create_app(
    ctx: SandboxCtx,
    sb: web::Data<Sandbox>,
    form: CheckedForm,
) -> Result<HttpResponse, SandboxError> {
    let name = form.field("name").unwrap_or_default().to_string();
    let key = form.field("app_public_key").unwrap_or_default().to_string();
    let (n, k) = (name.clone(), key.clone());
    let done = with_conn(&sb.pool, move |c| dev::register(c, &n, &k, None, crate::now())).await;
    let error = match done {
        Ok(Ok(app)) => return Ok(see_other(&format!("/sandbox/alipay/?created={}#apps", app.app_id))),
        Ok(Err(RegisterError::Internal)) | Err(_) => return Err(ctx.internal()),
        Ok(Err(e)) => e,
    };
    let l = L { zh: ctx.is_zh() };
    let message = match error {
        RegisterError::NameRequired => l.t("Enter the company's registered name.", "请填写公司的注册名称。"),
        RegisterError::NameTooLong => l.t("The name is longer than 128 characters.", "名称超过 128 个字符。"),
        _ => l.t(
            "The application public key must be an RSA public key of 2048 bits (PEM or base64).",
            "应用公钥须为 2048 位 RSA 公钥（PEM 或 Base64）。",
        ),
    }
    .to_string();
    render_home(ctx, &sb, (name, key), Some(message), None, StatusCode::BAD_REQUEST).await
}

/// `POST /sandbox/alipay/notifications/{id}/resend`.
pub async fn resend(
    ctx: SandboxCtx,
    sb: web::Data<Sandbox>,
    path: web::Path<String>,
    _form: CheckedForm,
) -> Result<HttpResponse, SandboxError> {
    match notify::resend(&sb, &path.into_inner()).await {
        Ok(_) => Ok(see_other("/sandbox/alipay/#notifications")),
        Err(_) => Err(ctx.internal()),
    }
}

/// `GET /sandbox/alipay/buyer` (`?qr_code=` goes to its trade).
pub async fn buyer(ctx: SandboxCtx, sb: web::Data<Sandbox>, req: HttpRequest) -> Result<HttpResponse, SandboxError> {
    let asked = query(&req).get("qr_code").map(|q| q.trim().to_string()).filter(|q| !q.is_empty());
    let token = asked.as_deref().map(|q| qr_token(q).to_string());
    let loaded = with_conn(&sb.pool, move |c| {
        let found = match &token {
            Some(t) => store::find_by_qr_token(c, t)?,
            None => None,
        };
        Ok::<_, diesel::result::Error>((found, store::list_open_trades(c, crate::now(), 50)?, store::list_apps(c)?))
    })
    .await;
    let (found, open, apps) = match loaded {
        Ok(Ok(v)) => v,
        _ => return Err(ctx.internal()),
    };
    if let Some(t) = found {
        return Ok(see_other(&format!("/sandbox/alipay/buyer/{}", t.qr_token)));
    }
    let l = L { zh: ctx.is_zh() };
    let error = asked.is_some().then(|| l.t("This QR code is not a trade.", "此二维码不是有效的交易。").to_string());
    let by_app = names(&apps);
    let now = crate::now();
    let page = BuyerPage {
        qr_code: asked.unwrap_or_default(),
        error,
        trades: open.iter().map(|t| trade_row(t, &by_app, now)).collect(),
        l,
        ctx,
    };
    let status = if page.error.is_some() { StatusCode::NOT_FOUND } else { StatusCode::OK };
    page.ctx.reply(false).html(status, &page)
}

async fn render_trade(
    ctx: SandboxCtx,
    sb: &Sandbox,
    token: String,
    paid: bool,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, SandboxError> {
    let loaded = with_conn(&sb.pool, move |c| {
        Ok::<_, diesel::result::Error>((store::find_by_qr_token(c, &token)?, store::list_apps(c)?))
    })
    .await;
    let (trade, apps) = match loaded {
        Ok(Ok((Some(t), apps))) => (t, apps),
        Ok(Ok((None, _))) => return Err(SandboxError::NotFound(ctx.locale)),
        _ => return Err(ctx.internal()),
    };
    let row = trade_row(&trade, &names(&apps), crate::now());
    let page =
        TradePage { payable: rules::payable(&row.status), trade: row, paid, error, l: L { zh: ctx.is_zh() }, ctx };
    page.ctx.reply(true).html(status, &page)
}

/// `GET /sandbox/alipay/buyer/{token}`.
pub async fn trade(
    ctx: SandboxCtx,
    sb: web::Data<Sandbox>,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, SandboxError> {
    let paid = query(&req).contains_key("paid");
    render_trade(ctx, &sb, path.into_inner(), paid, None, StatusCode::OK).await
}

/// `POST /sandbox/alipay/buyer/{token}/pay`.
pub async fn pay(
    ctx: SandboxCtx,
    sb: web::Data<Sandbox>,
    path: web::Path<String>,
    _form: CheckedForm,
) -> Result<HttpResponse, SandboxError> {
    let token = path.into_inner();
    let lookup = token.clone();
    let trade = match with_conn(&sb.pool, move |c| store::find_by_qr_token(c, &lookup)).await {
        Ok(Ok(Some(t))) => t,
        Ok(Ok(None)) => return Err(SandboxError::NotFound(ctx.locale)),
        _ => return Err(ctx.internal()),
    };
    match dev::pay_trade(&sb, trade.id).await {
        Ok(_) => Ok(see_other(&format!("/sandbox/alipay/buyer/{token}?paid=1"))),
        Err(PayError::NotPayable(_)) => {
            let l = L { zh: ctx.is_zh() };
            let message = l.t("This trade can no longer be paid.", "此交易已无法支付。").to_string();
            render_trade(ctx, &sb, token, false, Some(message), StatusCode::CONFLICT).await
        }
        Err(PayError::NotFound) => Err(SandboxError::NotFound(ctx.locale)),
        Err(PayError::Db(_)) => Err(ctx.internal()),
    }
}
