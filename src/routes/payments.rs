//! Operator → WeChat Pay: the platform's service-provider merchant (partner mode). Keys and
//! certificates are parsed and checked on save, then proved by a live signed call; their
//! expiry is shown as due later, then past due. Secrets are never shown back.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::{Operator, TypedSession};
use crate::config::AppConfig;
use crate::db::audit::Actor;
use crate::domain::wallet::{Expiry, expiry};
use crate::error::AppError;
use crate::services::wallet::{ProviderInput, ProviderView, Wallet};
use crate::views::{FormErrors, PageCtx, see_other};

pub const PAGE: &str = "/operator/payments";

#[derive(Debug, Default, Deserialize)]
pub struct ProviderForm {
    #[serde(default)]
    pub sp_mchid: String,
    #[serde(default)]
    pub sp_appid: String,
    #[serde(default)]
    pub api_v3_key: String,
    #[serde(default)]
    pub private_key: String,
    #[serde(default)]
    pub cert_serial: String,
    #[serde(default)]
    pub cert_pem: String,
    #[serde(default)]
    pub verify_mode: String,
    #[serde(default)]
    pub platform_pem: String,
    #[serde(default)]
    pub public_key_id: String,
}

/// A certificate's expiry in words and a class for its colour.
pub struct ExpiryView {
    pub text: String,
    pub class: &'static str,
}

fn expiry_view(ctx: &PageCtx, not_after: Option<i64>, now: i64) -> Option<ExpiryView> {
    let at = not_after?;
    let date = ctx.when(at);
    Some(match expiry(at, now) {
        Expiry::Valid { days_left } => ExpiryView {
            text: ctx.t_with("pay.expiry.valid", &[("date", &date), ("days", &days_left.to_string())]),
            class: "ok-text",
        },
        Expiry::DueSoon { days_left } => ExpiryView {
            text: ctx.t_with("pay.expiry.due", &[("date", &date), ("days", &days_left.to_string())]),
            class: "warn-text",
        },
        Expiry::Expired { .. } => {
            ExpiryView { text: ctx.t_with("pay.expiry.expired", &[("date", &date)]), class: "bad-text" }
        }
    })
}

#[derive(Template)]
#[template(path = "operator/wechatpay.html")]
struct PaymentsPage {
    ctx: PageCtx,
    provider: Option<ProviderView>,
    cert_expiry: Option<ExpiryView>,
    platform_expiry: Option<ExpiryView>,
    form: ProviderForm,
    errors: FormErrors,
    notify_url: String,
    sandbox: bool,
    prefilled: bool,
}

#[derive(Deserialize)]
pub struct PageQuery {
    #[serde(default)]
    sandbox: Option<String>,
}

/// The sandbox publishes its service provider (README); in sandbox mode the form can be
/// filled with it, fetched over HTTP as any outside client would.
async fn sandbox_values(config: &AppConfig) -> Option<ProviderForm> {
    #[derive(Deserialize)]
    struct Published {
        sp_mchid: String,
        sp_appid: String,
        api_v3_key: String,
        private_key_pem: String,
        cert_serial: String,
        cert_pem: String,
        platform_cert_pem: String,
    }
    let url = format!("{}/sandbox/dev/wechatpay/provider", config.public_url);
    let p: Published = reqwest::get(&url).await.ok()?.json().await.ok()?;
    Some(ProviderForm {
        sp_mchid: p.sp_mchid,
        sp_appid: p.sp_appid,
        api_v3_key: p.api_v3_key,
        private_key: p.private_key_pem,
        cert_serial: p.cert_serial,
        cert_pem: p.cert_pem,
        verify_mode: "certificate".into(),
        platform_pem: p.platform_cert_pem,
        public_key_id: String::new(),
    })
}

pub async fn page(
    ctx: PageCtx,
    _op: Operator,
    wallet: web::Data<Wallet>,
    config: web::Data<AppConfig>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let prefill = if config.sandbox && query.sandbox.is_some() { sandbox_values(&config).await } else { None };
    render(ctx, &wallet, &config, prefill, FormErrors::default()).await
}

async fn render(
    ctx: PageCtx,
    wallet: &Wallet,
    config: &AppConfig,
    form: Option<ProviderForm>,
    errors: FormErrors,
) -> Result<HttpResponse, AppError> {
    let provider = wallet.provider_view().await.map_err(|e| AppError::Internal(e.into()))?;
    let now = crate::now();
    let prefilled = form.as_ref().is_some_and(|f| !f.private_key.is_empty()) && errors.is_empty();
    let form = form.unwrap_or_else(|| match &provider {
        Some(p) => ProviderForm {
            sp_mchid: p.sp_mchid.clone(),
            sp_appid: p.sp_appid.clone(),
            cert_serial: p.cert_serial.clone(),
            verify_mode: p.verify_mode.clone(),
            public_key_id: if p.verify_mode == "public_key" { p.platform_serial.clone() } else { String::new() },
            ..Default::default()
        },
        None => ProviderForm { verify_mode: "certificate".into(), ..Default::default() },
    });
    let status = if errors.is_empty() {
        actix_web::http::StatusCode::OK
    } else {
        actix_web::http::StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = PaymentsPage {
        cert_expiry: provider.as_ref().and_then(|p| expiry_view(&ctx, p.cert_not_after, now)),
        platform_expiry: provider.as_ref().and_then(|p| expiry_view(&ctx, p.platform_not_after, now)),
        provider,
        form,
        errors,
        notify_url: format!("{}/pay/wechat/notify", config.public_url),
        sandbox: config.sandbox,
        prefilled,
        ctx,
    };
    crate::views::render(status, &page)
}

pub async fn save(
    ctx: PageCtx,
    op: Operator,
    session: TypedSession,
    wallet: web::Data<Wallet>,
    config: web::Data<AppConfig>,
    form: web::Form<ProviderForm>,
) -> Result<HttpResponse, AppError> {
    let f = form.into_inner();
    let input = ProviderInput {
        sp_mchid: f.sp_mchid.trim().to_string(),
        sp_appid: f.sp_appid.trim().to_string(),
        api_v3_key: f.api_v3_key.trim().to_string(),
        private_key: f.private_key.trim().to_string(),
        cert_serial: f.cert_serial.trim().to_string(),
        cert_pem: f.cert_pem.trim().to_string(),
        verify_mode: f.verify_mode.trim().to_string(),
        platform_pem: f.platform_pem.trim().to_string(),
        public_key_id: f.public_key_id.trim().to_string(),
    };
    let actor = Actor::user(&op.0.id, &op.0.email);
    match wallet.save_provider(input, &actor).await.map_err(|e| AppError::Internal(e.into()))? {
        Ok(()) => {
            session.flash("success", "pay.provider.saved");
            Ok(see_other(PAGE))
        }
        Err(problems) => {
            let mut errors = FormErrors::default();
            for p in problems {
                errors.add(p.field, ctx.t_with(p.key, &[("detail", &p.detail)]));
            }
            // The secrets are not sent back to the browser: they are typed again.
            let kept = ProviderForm { api_v3_key: String::new(), private_key: String::new(), ..f };
            render(ctx, &wallet, &config, Some(kept), errors).await
        }
    }
}

/// "Check now": the stored keys against WeChat Pay, live.
pub async fn check(_op: Operator, session: TypedSession, wallet: web::Data<Wallet>) -> Result<HttpResponse, AppError> {
    match wallet.check_provider().await.map_err(|e| AppError::Internal(e.into()))? {
        None => session.flash("success", "pay.provider.check_ok"),
        Some(_) => session.flash("error", "pay.provider.check_failed"),
    }
    Ok(see_other(PAGE))
}
