//! The buyer's side of online payment. On the Web, `/checkout/{token}`: the page a tenant's
//! link opens (signed and expiring), with WeChat Pay by a native QR code and Alipay by a
//! precreate QR code, its status kept up to date in place while the buyer pays. In the mini
//! program, `POST /pay/mp/{token}`: the JSAPI prepay for the buyer's `openid`, answered with
//! the signed parameters of `wx.requestPayment` (only WeChat Pay there, reference §8.6).

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use serde_json::json;

use crate::db::commerce::PayRequest;
use crate::domain::commerce::{Channel, Surface};
use crate::domain::wallet::yuan;
use crate::error::AppError;
use crate::htmx::Htmx;
use crate::services::wallet::{Attempt, CheckoutError, Wallet};
use crate::views::{PageCtx, ok, qr_svg, see_other};

fn internal(e: impl Into<anyhow::Error>) -> AppError {
    AppError::Internal(e.into())
}

pub struct CheckoutView {
    pub token: String,
    pub amount: String,
    pub description: String,
    pub company: String,
    /// open, paid, cancelled, expired
    pub state: String,
    pub qr: Option<(Channel, String, String)>,
    pub sandbox: bool,
}

#[derive(Template)]
#[template(path = "checkout/page.html")]
struct CheckoutPage {
    ctx: PageCtx,
    v: CheckoutView,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "checkout/_status.html")]
struct StatusFragment {
    ctx: PageCtx,
    v: CheckoutView,
    error: Option<String>,
}

async fn load(wallet: &Wallet, token: &str) -> Result<(PayRequest, String), AppError> {
    let id = wallet.verify_link(token, crate::now()).ok_or(AppError::NotFound)?;
    let r = wallet.request_by_id(&id).await.map_err(internal)?.ok_or(AppError::NotFound)?;
    let tid = r.tenant_id.clone();
    let company =
        crate::db::run(wallet.pool(), move |c| -> Result<_, AppError> { Ok(crate::db::tenants::name_of(c, &tid)?) })
            .await?;
    Ok((r, company))
}

async fn view(wallet: &Wallet, token: &str, r: PayRequest, company: String) -> Result<CheckoutView, AppError> {
    let attempts = wallet.attempts(&r.id).await.map_err(internal)?;
    let state = if r.state == "open" && r.expires_at < crate::now() { "expired".to_string() } else { r.state.clone() };
    let qr = if state == "open" {
        attempts.into_iter().find(|p| p.state == "created").and_then(|p| {
            let code = p.code_url?;
            let channel = Channel::parse(&p.channel)?;
            (!code.starts_with("wx")).then(|| (channel, qr_svg(&code), code))
        })
    } else {
        None
    };
    Ok(CheckoutView {
        token: token.to_string(),
        amount: yuan(r.amount_fen),
        description: r.description,
        company,
        state,
        qr,
        sandbox: wallet.sandbox(),
    })
}

pub async fn page(
    ctx: PageCtx,
    wallet: web::Data<Wallet>,
    path: web::Path<String>,
    htmx: Htmx,
) -> Result<HttpResponse, AppError> {
    let token = path.into_inner();
    let (r, company) = load(&wallet, &token).await?;
    let v = view(&wallet, &token, r, company).await?;
    if htmx.wants_fragment() {
        return ok(&StatusFragment { ctx, v, error: None });
    }
    ok(&CheckoutPage { ctx, v, error: None })
}

#[derive(Deserialize)]
pub struct PayForm {
    #[serde(default)]
    channel: String,
}

/// The buyer picks WeChat Pay or Alipay: a QR code to scan on this page.
pub async fn pay(
    ctx: PageCtx,
    wallet: web::Data<Wallet>,
    path: web::Path<String>,
    form: web::Form<PayForm>,
) -> Result<HttpResponse, AppError> {
    let token = path.into_inner();
    let (r, company) = load(&wallet, &token).await?;
    let Some(channel) = Channel::parse(&form.channel) else {
        return Err(AppError::BadRequest("unknown payment channel".into()));
    };
    match wallet.start_attempt(&r.id, channel, Surface::Web, None).await {
        Ok(_) => Ok(see_other(&format!("/checkout/{token}"))),
        Err(CheckoutError::Refused(refusal)) => {
            let error = Some(refusal.sentence(|k| ctx.t(k)));
            let v = view(&wallet, &token, r, company).await?;
            crate::views::render(actix_web::http::StatusCode::CONFLICT, &CheckoutPage { ctx, v, error })
        }
        Err(CheckoutError::Wallet(e)) => Err(internal(e)),
    }
}

#[derive(Deserialize)]
pub struct MiniProgramPay {
    #[serde(default)]
    openid: String,
    #[serde(default)]
    channel: Option<String>,
}

/// `POST /pay/mp/{token}` (JSON or form `openid`, optional `channel`): what the tenant's
/// mini program calls to pay a request inside WeChat. Answers `{"payment": {...}}` with the
/// `wx.requestPayment` parameters, or 4xx with `{"error": code, "message": sentence}`.
pub async fn mini_program(wallet: web::Data<Wallet>, path: web::Path<String>, body: web::Bytes) -> HttpResponse {
    let token = path.into_inner();
    let Some(id) = wallet.verify_link(&token, crate::now()) else {
        tracing::warn!("refused a mini program payment with a bad or expired link");
        return HttpResponse::NotFound()
            .json(json!({"error": "link", "message": "This payment link is not valid or has expired."}));
    };
    let input: Option<MiniProgramPay> =
        serde_json::from_slice(&body).ok().or_else(|| serde_urlencoded::from_bytes(&body).ok());
    let Some(input) = input else {
        return HttpResponse::BadRequest().json(json!({"error": "body", "message": "Send openid as JSON or a form."}));
    };
    let channel = match input.channel.as_deref() {
        None | Some("") => Channel::WechatPay,
        Some(c) => match Channel::parse(c) {
            Some(c) => c,
            None => return HttpResponse::BadRequest().json(json!({"error": "channel", "message": "Unknown channel."})),
        },
    };
    match wallet.start_attempt(&id, channel, Surface::MiniProgram, Some(&input.openid)).await {
        Ok(Attempt::MiniProgram { payment_id, params }) => {
            HttpResponse::Ok().json(json!({"payment_id": payment_id, "payment": params}))
        }
        Ok(Attempt::Qr { .. }) => HttpResponse::InternalServerError().json(json!({"error": "internal"})),
        Err(CheckoutError::Refused(r)) => {
            let message = r.sentence(|k| crate::i18n::Locale::En.t(k));
            HttpResponse::Conflict().json(json!({"error": r.key, "message": message}))
        }
        Err(CheckoutError::Wallet(e)) => {
            tracing::error!(error = %e, "a mini program payment failed");
            HttpResponse::InternalServerError().json(json!({"error": "internal"}))
        }
    }
}
