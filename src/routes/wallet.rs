//! Apps › Company Wallet › Third-party Accounts (SPEC §3.6, seed 000 §4, seed 001 §1–2):
//! the tenant's WeChat Pay sub-merchant (applied for through the platform), its Alipay
//! account, the AppID–merchant binding, payment readiness checked live, and the 0.01
//! self-test. Every form works without JavaScript; with HTMX the readiness panel and the
//! self-test refresh in place.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::{CurrentTenant, TypedSession};
use crate::db::{self, bindings, models::Tenant};
use crate::domain::merchant_form::{IMAGE_FIELDS, MerchantForm, TEXT_FIELDS};
use crate::domain::wallet::{ApplicationState, Detail, Outcome, Verdict, yuan};
use crate::error::AppError;
use crate::htmx::Htmx;
use crate::services::wallet::{ApplicationView, BindingView, Readiness, SelfTestStart, SubmitOutcome, Wallet};
use crate::views::{FormErrors, PageCtx, ok, qr_svg, see_other};

pub fn page_path(tenant_id: &str) -> String {
    format!("/w/{tenant_id}/wallet")
}

fn internal(e: impl Into<anyhow::Error>) -> AppError {
    AppError::Internal(e.into())
}

/// One readiness check as shown.
pub struct CheckView {
    pub key: &'static str,
    pub status: &'static str,
    pub problem: String,
    pub fix: String,
    pub detail: String,
    pub mini_program_only: bool,
}

fn check_views(ctx: &PageCtx, r: &Readiness) -> Vec<CheckView> {
    r.results
        .iter()
        .map(|(check, outcome)| {
            let key = check.as_str();
            let (status, problem, fix, detail) = match outcome {
                Outcome::Pass => ("pass", String::new(), String::new(), String::new()),
                Outcome::Fail { problem, fix, detail } => {
                    let detail = match detail {
                        Some(Detail::Words(words)) => words.clone(),
                        Some(Detail::Key(key)) => ctx.t(key),
                        None => String::new(),
                    };
                    ("fail", ctx.t(problem), ctx.t(fix), detail)
                }
                Outcome::Blocked { by } => (
                    "blocked",
                    ctx.t_with("ready.blocked", &[("check", &ctx.t(&format!("ready.{}.title", by.as_str())))]),
                    String::new(),
                    String::new(),
                ),
            };
            CheckView { key, status, problem, fix, detail, mini_program_only: check.mini_program_only() }
        })
        .collect()
}

/// The readiness panel's data.
pub struct ReadinessView {
    pub checks: Vec<CheckView>,
    pub verdict: Verdict,
    pub checked_at: i64,
}

impl ReadinessView {
    pub fn title(&self, ctx: &PageCtx, key: &str) -> String {
        ctx.t(&format!("ready.{key}.title"))
    }
}

/// A self-test as shown.
pub struct SelfTestView {
    pub id: String,
    pub channel: String,
    pub state: String,
    pub amount: String,
    pub out_trade_no: String,
    pub transaction_id: Option<String>,
    pub qr: String,
    pub code_url: Option<String>,
    pub error: Option<String>,
    pub notifications: i64,
    pub paid_at: Option<i64>,
    pub refunded_at: Option<i64>,
}

impl SelfTestView {
    pub fn active(&self) -> bool {
        matches!(self.state.as_str(), "created" | "paid" | "refunding")
    }
}

fn self_test_view(p: crate::db::wallet::Payment, notifications: i64) -> SelfTestView {
    SelfTestView {
        qr: p.code_url.as_deref().filter(|_| p.state == "created").map(qr_svg).unwrap_or_default(),
        id: p.id,
        channel: p.channel,
        state: p.state,
        amount: yuan(p.amount_fen),
        out_trade_no: p.out_trade_no,
        transaction_id: p.transaction_id,
        code_url: p.code_url,
        error: p.error,
        notifications,
        paid_at: p.paid_at,
        refunded_at: p.refunded_at,
    }
}

#[derive(Template)]
#[template(path = "wallet/page.html")]
struct WalletPage {
    ctx: PageCtx,
    tenant: Tenant,
    provider_ready: bool,
    application: Option<ApplicationView>,
    past: Vec<ApplicationView>,
    sign_qr: String,
    mini_program: Option<String>,
    binding: Option<BindingView>,
    alipay: Option<crate::db::wallet::AlipayAccount>,
    alipay_form: AlipayForm,
    alipay_errors: FormErrors,
    tests: Vec<SelfTestView>,
    readiness: Option<ReadinessView>,
    sandbox: bool,
}

#[derive(Template)]
#[template(path = "wallet/_readiness.html")]
struct ReadinessFragment {
    ctx: PageCtx,
    tenant: Tenant,
    readiness: Option<ReadinessView>,
}

#[derive(Template)]
#[template(path = "wallet/_self_test.html")]
struct SelfTestFragment {
    ctx: PageCtx,
    tenant: Tenant,
    t: SelfTestView,
    sandbox: bool,
}

#[derive(Debug, Default, Deserialize)]
pub struct AlipayForm {
    #[serde(default)]
    pub app_id: String,
    #[serde(default)]
    pub private_key: String,
    #[serde(default)]
    pub alipay_public_key: String,
}

async fn render_page(
    ctx: PageCtx,
    tenant: Tenant,
    wallet: &Wallet,
    readiness: Option<Readiness>,
    alipay_form: AlipayForm,
    alipay_errors: FormErrors,
) -> Result<HttpResponse, AppError> {
    let tid = tenant.id.clone();
    let (application, past) = wallet.applications(&tid).await.map_err(internal)?;
    let provider_ready = wallet.provider_view().await.map_err(internal)?.is_some();
    let binding = wallet.binding_view(&tid).await.map_err(internal)?;
    let t2 = tid.clone();
    let (mini_program, alipay) = db::run(wallet.pool(), move |c| -> Result<_, AppError> {
        Ok((bindings::active_for_tenant(c, &t2)?.map(|b| b.appid), crate::db::wallet::current_alipay(c, &t2)?))
    })
    .await?;
    let mut tests = Vec::new();
    for channel in ["wechatpay", "alipay"] {
        if let Some(p) = wallet.latest_self_test(&tid, channel).await.map_err(internal)?
            && let Some((p, n)) = wallet.payment(&tid, &p.id).await.map_err(internal)?
        {
            tests.push(self_test_view(p, n));
        }
    }
    let sign_qr = application
        .as_ref()
        .filter(|a| {
            a.state.needs_sign_link() || a.state == ApplicationState::Auditing || a.state == ApplicationState::Rejected
        })
        .and_then(|a| a.sign_url.as_deref())
        .map(qr_svg)
        .unwrap_or_default();
    let status = if alipay_errors.is_empty() {
        actix_web::http::StatusCode::OK
    } else {
        actix_web::http::StatusCode::UNPROCESSABLE_ENTITY
    };
    let readiness = readiness.map(|r| ReadinessView {
        checks: check_views(&ctx, &r),
        verdict: r.verdict,
        checked_at: r.checked_at,
    });
    crate::views::render(
        status,
        &WalletPage {
            sandbox: wallet.sandbox(),
            ctx,
            tenant,
            provider_ready,
            application,
            past,
            sign_qr,
            mini_program,
            binding,
            alipay,
            alipay_form,
            alipay_errors,
            tests,
            readiness,
        },
    )
}

pub async fn page(ctx: PageCtx, current: CurrentTenant, wallet: web::Data<Wallet>) -> Result<HttpResponse, AppError> {
    render_page(ctx, current.tenant, &wallet, None, AlipayForm::default(), FormErrors::default()).await
}

/// The readiness panel, every check asked live: a fragment for HTMX, else the whole page
/// with the panel filled in.
pub async fn readiness(
    ctx: PageCtx,
    current: CurrentTenant,
    wallet: web::Data<Wallet>,
    htmx: Htmx,
) -> Result<HttpResponse, AppError> {
    let r = wallet.readiness(&current.tenant.id).await.map_err(internal)?;
    if htmx.wants_fragment() {
        let readiness =
            Some(ReadinessView { checks: check_views(&ctx, &r), verdict: r.verdict, checked_at: r.checked_at });
        return ok(&ReadinessFragment { ctx, tenant: current.tenant, readiness });
    }
    render_page(ctx, current.tenant, &wallet, Some(r), AlipayForm::default(), FormErrors::default()).await
}

pub async fn check_application(
    current: CurrentTenant,
    wallet: web::Data<Wallet>,
    session: TypedSession,
) -> Result<HttpResponse, AppError> {
    wallet.refresh_application(&current.tenant.id).await.map_err(internal)?;
    session.flash("success", "wallet.checked");
    Ok(see_other(&format!("{}#wechatpay", page_path(&current.tenant.id))))
}

pub async fn replace_application(
    current: CurrentTenant,
    wallet: web::Data<Wallet>,
    session: TypedSession,
) -> Result<HttpResponse, AppError> {
    if wallet.replace_application(&current.tenant.id, &current.actor()).await.map_err(internal)? {
        return Ok(see_other(&format!("/w/{}/wallet/wechatpay/apply", current.tenant.id)));
    }
    session.flash("error", "wallet.replace_refused");
    Ok(see_other(&page_path(&current.tenant.id)))
}

pub async fn verify_binding(
    current: CurrentTenant,
    wallet: web::Data<Wallet>,
    session: TypedSession,
) -> Result<HttpResponse, AppError> {
    match wallet.verify_binding(&current.tenant.id, &current.actor()).await.map_err(internal)? {
        Some(b) if b.state == "bound" => session.flash("success", "wallet.binding.verified"),
        Some(b) if b.state == "not_bound" => session.flash("error", "wallet.binding.not_bound_flash"),
        Some(_) => session.flash("error", "wallet.binding.unknown_flash"),
        None => session.flash("error", "wallet.binding.nothing"),
    }
    Ok(see_other(&format!("{}#binding", page_path(&current.tenant.id))))
}

pub async fn save_alipay(
    ctx: PageCtx,
    current: CurrentTenant,
    wallet: web::Data<Wallet>,
    session: TypedSession,
    form: web::Form<AlipayForm>,
) -> Result<HttpResponse, AppError> {
    let f = form.into_inner();
    let app_id = f.app_id.trim().to_string();
    let result = wallet
        .save_alipay(&current.tenant.id, &current.actor(), &app_id, f.private_key.trim(), f.alipay_public_key.trim())
        .await
        .map_err(internal)?;
    match result {
        Ok(()) => {
            session.flash("success", "alipay.saved");
            Ok(see_other(&format!("{}#alipay", page_path(&current.tenant.id))))
        }
        Err(problems) => {
            let mut errors = FormErrors::default();
            for p in problems {
                errors.add(p.field, ctx.t_with(p.key, &[("detail", &p.detail)]));
            }
            // The private key is not sent back to the browser; the app id and public key are.
            let kept = AlipayForm { app_id, private_key: String::new(), alipay_public_key: f.alipay_public_key };
            render_page(ctx, current.tenant, &wallet, None, kept, errors).await
        }
    }
}

#[derive(Deserialize)]
pub struct SelfTestForm {
    #[serde(default)]
    channel: String,
}

pub async fn start_self_test(
    current: CurrentTenant,
    wallet: web::Data<Wallet>,
    session: TypedSession,
    form: web::Form<SelfTestForm>,
) -> Result<HttpResponse, AppError> {
    let channel = match form.channel.as_str() {
        "alipay" => "alipay",
        "wechatpay" => "wechatpay",
        _ => return Err(AppError::BadRequest("unknown payment channel".into())),
    };
    match wallet.start_self_test(&current.tenant.id, &current.actor(), channel).await.map_err(internal)? {
        SelfTestStart::Started => session.flash("success", "selftest.started"),
        SelfTestStart::NoAccount => session.flash("error", "selftest.no_account"),
        SelfTestStart::NoProvider => session.flash("error", "selftest.no_provider"),
        SelfTestStart::Refused(_) => session.flash("error", "selftest.refused"),
    }
    Ok(see_other(&format!("{}#self-test", page_path(&current.tenant.id))))
}

#[derive(Deserialize)]
pub struct PaymentPath {
    #[allow(dead_code)]
    tenant_id: String,
    payment_id: String,
}

/// A self-test's progress (HTMX polls it while it is under way).
pub async fn self_test(
    ctx: PageCtx,
    current: CurrentTenant,
    wallet: web::Data<Wallet>,
    path: web::Path<PaymentPath>,
) -> Result<HttpResponse, AppError> {
    let (p, n) =
        wallet.payment(&current.tenant.id, &path.payment_id).await.map_err(internal)?.ok_or(AppError::NotFound)?;
    ok(&SelfTestFragment { sandbox: wallet.sandbox(), ctx, tenant: current.tenant, t: self_test_view(p, n) })
}

// ---------------------------------------------------------------- the application form

#[derive(Template)]
#[template(path = "wallet/apply.html")]
struct ApplyPage {
    ctx: PageCtx,
    tenant: Tenant,
    form: MerchantForm,
    /// The stored sensitive values, masked, as placeholders ("leave blank to keep").
    masked: crate::domain::merchant_form::Sensitive,
    errors: FormErrors,
    refused: Option<String>,
    mini_program: Option<String>,
    state: Option<ApplicationState>,
    audit_detail: Vec<crate::pay::wechatpay_client::AuditDetail>,
}

impl ApplyPage {
    pub fn masked_of(&self, field: &str) -> String {
        let m = &self.masked;
        let v = match field {
            "id_card_name" => &m.id_card_name,
            "id_card_number" => &m.id_card_number,
            "account_name" => &m.account_name,
            "account_number" => &m.account_number,
            "contact_name" => &m.contact_name,
            "mobile_phone" => &m.mobile_phone,
            "contact_email" => &m.contact_email,
            _ => return String::new(),
        };
        if v.is_empty() { String::new() } else { self.ctx.t_with("merchant.keep_placeholder", &[("value", v)]) }
    }

    /// WeChat Pay's reason for rejecting this field, if it did.
    pub fn rejected(&self, field: &str) -> Option<&str> {
        self.audit_detail.iter().find(|d| d.field.ends_with(field)).map(|d| d.reject_reason.as_str())
    }
}

async fn mini_program_of(wallet: &Wallet, tenant_id: &str) -> Result<Option<String>, AppError> {
    let tid = tenant_id.to_string();
    db::run(wallet.pool(), move |c| -> Result<_, AppError> {
        Ok(bindings::active_for_tenant(c, &tid)?.map(|b| b.appid))
    })
    .await
}

pub async fn apply_form(
    ctx: PageCtx,
    current: CurrentTenant,
    wallet: web::Data<Wallet>,
) -> Result<HttpResponse, AppError> {
    let tid = current.tenant.id.clone();
    let (application, _) = wallet.applications(&tid).await.map_err(internal)?;
    if application.as_ref().is_some_and(|a| !a.state.editable()) {
        return Ok(see_other(&page_path(&tid)));
    }
    let mini_program = mini_program_of(&wallet, &tid).await?;
    let (form, masked, state, audit_detail) = match application {
        Some(a) => (a.form, a.masked, Some(a.state), a.audit_detail),
        None => {
            (MerchantForm::blank(&current.tenant.name, mini_program.is_some()), Default::default(), None, Vec::new())
        }
    };
    ok(&ApplyPage {
        ctx,
        tenant: current.tenant,
        form,
        masked,
        errors: FormErrors::default(),
        refused: None,
        mini_program,
        state,
        audit_detail,
    })
}

/// The largest application image WeChat Pay takes.
const MAX_IMAGE_BYTES: usize = 2 * 1024 * 1024;
const MAX_TEXT_FIELD: usize = 1024;

/// "Submit application": images go to WeChat Pay as soon as they are chosen (kept even when
/// another field needs fixing), the form is checked, kept, and submitted.
pub async fn apply(
    ctx: PageCtx,
    current: CurrentTenant,
    wallet: web::Data<Wallet>,
    session: TypedSession,
    payload: crate::multipart::Parts,
) -> Result<HttpResponse, AppError> {
    let tid = current.tenant.id.clone();
    let limits =
        super::upload::Limits { file_fields: &IMAGE_FIELDS, file_bytes: MAX_IMAGE_BYTES, text_bytes: MAX_TEXT_FIELD };
    let up = super::upload::read(payload, limits).await?;
    let mut form = MerchantForm::from_fields(|k| {
        debug_assert!(TEXT_FIELDS.contains(&k) || k == "card_forever");
        up.fields.get(k).cloned().unwrap_or_default()
    });
    let mut errors = FormErrors::default();
    for name in &up.too_large {
        let key = if IMAGE_FIELDS.contains(&name.as_str()) { "merchant.err.image_too_large" } else { "form.too_long" };
        errors.add(name, ctx.t(key));
    }
    for (name, filename, bytes) in up.files {
        let ext = match imagesize::image_type(&bytes) {
            Ok(imagesize::ImageType::Jpeg) => "jpg",
            Ok(imagesize::ImageType::Png) => "png",
            Ok(imagesize::ImageType::Bmp) => "bmp",
            _ => {
                errors.add(&name, ctx.t("merchant.err.image_type"));
                continue;
            }
        };
        let upload_name = format!("{name}.{ext}");
        match wallet.upload_image(&upload_name, bytes).await.map_err(internal)? {
            Ok(media) => {
                let shown = if filename.is_empty() { upload_name } else { filename };
                match name.as_str() {
                    "license_copy" => (form.license_media, form.license_file) = (media, shown),
                    "id_card_copy" => (form.id_front_media, form.id_front_file) = (media, shown),
                    _ => (form.id_back_media, form.id_back_file) = (media, shown),
                }
            }
            Err(e) if e.is_empty() => errors.add(&name, ctx.t("selftest.no_provider")),
            Err(e) => errors.add(&name, ctx.t_with("merchant.err.image_refused", &[("detail", &e)])),
        }
    }
    wallet.merge_stored(&tid, &mut form).await.map_err(internal)?;
    let outcome = if errors.is_empty() {
        wallet.submit_application(&tid, &current.actor(), &form).await.map_err(internal)?
    } else {
        wallet.save_form(&tid, &current.actor(), &form).await.map_err(internal)?;
        SubmitOutcome::Invalid(crate::domain::merchant_form::check(&form))
    };
    let refused = match outcome {
        SubmitOutcome::Submitted(_) => {
            session.flash("success", "merchant.submitted");
            return Ok(see_other(&format!("{}#wechatpay", page_path(&tid))));
        }
        SubmitOutcome::Locked => return Ok(see_other(&page_path(&tid))),
        SubmitOutcome::NoProvider => Some(ctx.t("selftest.no_provider")),
        SubmitOutcome::Refused(text) => Some(ctx.t_with("merchant.refused", &[("detail", &text)])),
        SubmitOutcome::Invalid(problems) => {
            for (field, key) in problems {
                if errors.get(field).is_none() {
                    errors.add(field, ctx.t(key));
                }
            }
            None
        }
    };
    let (application, _) = wallet.applications(&tid).await.map_err(internal)?;
    let (masked, state, audit_detail) = match application {
        Some(a) => (a.masked, Some(a.state), a.audit_detail),
        None => (Default::default(), None, Vec::new()),
    };
    let mini_program = mini_program_of(&wallet, &tid).await?;
    // The sensitive fields are kept sealed with the draft and shown masked, not echoed.
    form.sensitive = Default::default();
    let page =
        ApplyPage { ctx, tenant: current.tenant, form, masked, errors, refused, mini_program, state, audit_detail };
    crate::views::render(actix_web::http::StatusCode::UNPROCESSABLE_ENTITY, &page)
}
