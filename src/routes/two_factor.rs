//! The second factor: the login's second step (`/login/code`) and setting it up or turning
//! it off (`/account/two-factor`).

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use serde::Deserialize;

use super::account::{client, landing_after_login};
use crate::auth::{CurrentUser, TypedSession};
use crate::config::AppConfig;
use crate::db::{self, DbPool};
use crate::domain::session::{MAX_CODE_ATTEMPTS, PendingStep, pending_step};
use crate::domain::throttle;
use crate::error::AppError;
use crate::secrets::Sealer;
use crate::services::accounts::{self, CodeStep, Confirmation, Disable, TwoFactor};
use crate::views::{FormErrors, PageCtx, qr_svg, render, see_other};

// ------------------------------------------------------------------ the login's second step

#[derive(Template)]
#[template(path = "account/login_code.html")]
struct CodePage {
    ctx: PageCtx,
    error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    pub(super) code: String,
}

/// The pending login, if it may still take a code; otherwise back to the password.
fn open_pending(session: &TypedSession) -> Option<crate::auth::session::PendingLogin> {
    let pending = session.pending_login()?;
    (pending_step(pending.started_at, pending.attempts, crate::now()) == PendingStep::Open).then_some(pending)
}

fn start_over(session: &TypedSession) -> HttpResponse {
    session.clear_pending_login();
    session.flash("info", "two_factor.login_start_over");
    see_other("/login")
}

pub async fn login_code_form(ctx: PageCtx, session: TypedSession) -> Result<HttpResponse, AppError> {
    if open_pending(&session).is_none() {
        return Ok(start_over(&session));
    }
    render(StatusCode::OK, &CodePage { ctx, error: None })
}

pub async fn login_code(
    ctx: PageCtx,
    req: HttpRequest,
    session: TypedSession,
    pool: web::Data<DbPool>,
    sealer: web::Data<Sealer>,
    config: web::Data<AppConfig>,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, AppError> {
    let Some(mut pending) = open_pending(&session) else {
        return Ok(start_over(&session));
    };
    let (client, timeouts, user_id) = (client(&req), config.session_timeouts, pending.user_id.clone());
    let code = form.into_inner().code;
    let sealer = sealer.into_inner();
    let step = db::run(&pool, move |conn| -> Result<_, AppError> {
        Ok(accounts::finish_login(conn, &sealer, &user_id, &code, &client, &timeouts, crate::now())?)
    })
    .await?;
    match step {
        CodeStep::SignedIn { user, session_id, via } => {
            tracing::info!(via = ?via, "second factor passed");
            session.begin_login(&session_id)?;
            if via == accounts::Proof::RecoveryCode {
                session.flash("info", "two_factor.recovery_used");
            }
            landing_after_login(&session, &pool, user.id, user.is_operator).await
        }
        CodeStep::Wrong => {
            pending.attempts += 1;
            if pending.attempts >= MAX_CODE_ATTEMPTS {
                tracing::warn!("second factor: too many wrong codes in one login");
                return Ok(start_over(&session));
            }
            session.set_pending_login(&pending)?;
            let error = Some(ctx.t("two_factor.wrong_code"));
            render(StatusCode::UNPROCESSABLE_ENTITY, &CodePage { ctx, error })
        }
        CodeStep::Locked { until } => {
            tracing::warn!("second factor refused: too many failures");
            let minutes = throttle::minutes_until(until, crate::now()).to_string();
            let error = Some(ctx.t_with("login.locked", &[("minutes", &minutes)]));
            render(StatusCode::TOO_MANY_REQUESTS, &CodePage { ctx, error })
        }
        CodeStep::NoLogin => Ok(start_over(&session)),
    }
}

// ------------------------------------------------------------------ setting it up

#[derive(Template)]
#[template(path = "account/two_factor.html")]
struct TwoFactorPage {
    ctx: PageCtx,
    state: TwoFactor,
    /// The QR code of the otpauth URL while enrolling.
    qr: String,
    /// Shown once, right after the second factor is turned on.
    recovery_codes: Vec<String>,
    errors: FormErrors,
}

async fn state_page(
    ctx: PageCtx,
    pool: &DbPool,
    sealer: web::Data<Sealer>,
    user: CurrentUser,
    status: StatusCode,
    errors: FormErrors,
) -> Result<HttpResponse, AppError> {
    let sealer = sealer.into_inner();
    let state = db::run(pool, move |conn| Ok::<_, AppError>(accounts::two_factor(conn, &sealer, &user.0)?)).await?;
    let qr = match &state {
        TwoFactor::Enrolling { otpauth_url, .. } => qr_svg(otpauth_url),
        _ => String::new(),
    };
    render(status, &TwoFactorPage { ctx, state, qr, recovery_codes: Vec::new(), errors })
}

pub async fn page(
    ctx: PageCtx,
    pool: web::Data<DbPool>,
    sealer: web::Data<Sealer>,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    state_page(ctx, &pool, sealer, user, StatusCode::OK, FormErrors::default()).await
}

/// "Set up two-factor authentication" (or "Start over" while setting up): a new secret.
pub async fn setup(
    pool: web::Data<DbPool>,
    sealer: web::Data<Sealer>,
    user: CurrentUser,
    session: TypedSession,
) -> Result<HttpResponse, AppError> {
    let sealer = sealer.into_inner();
    let started =
        db::run(&pool, move |conn| Ok::<_, AppError>(accounts::start_enrolment(conn, &sealer, &user.0, crate::now())?))
            .await?;
    if !started {
        session.flash("info", "two_factor.already_on");
    }
    Ok(see_other("/account/two-factor"))
}

pub async fn confirm(
    ctx: PageCtx,
    pool: web::Data<DbPool>,
    sealer: web::Data<Sealer>,
    user: CurrentUser,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, AppError> {
    let code = form.into_inner().code;
    let (sealer_c, user_c) = (sealer.clone().into_inner(), user.0.clone());
    let outcome = db::run(&pool, move |conn| {
        Ok::<_, AppError>(accounts::confirm_enrolment(conn, &sealer_c, &user_c, &code, crate::now())?)
    })
    .await?;
    match outcome {
        Confirmation::Confirmed { recovery_codes } => {
            tracing::info!("second factor turned on");
            let state = TwoFactor::On { since: crate::now(), recovery_codes_left: recovery_codes.len() as i64 };
            // The page is rendered by this answer, not after a redirect: the codes are shown once.
            let mut ctx = ctx;
            ctx.remind_two_factor = false;
            let page = TwoFactorPage { ctx, state, qr: String::new(), recovery_codes, errors: FormErrors::default() };
            render(StatusCode::OK, &page)
        }
        Confirmation::WrongCode => {
            let mut errors = FormErrors::default();
            errors.add("code", ctx.t("two_factor.wrong_code"));
            state_page(ctx, &pool, sealer, user, StatusCode::UNPROCESSABLE_ENTITY, errors).await
        }
        Confirmation::NotEnrolling => Ok(see_other("/account/two-factor")),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct DisableForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    code: String,
}

pub async fn disable(
    ctx: PageCtx,
    pool: web::Data<DbPool>,
    sealer: web::Data<Sealer>,
    user: CurrentUser,
    session: TypedSession,
    form: web::Form<DisableForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let (sealer_c, user_id) = (sealer.clone().into_inner(), user.0.id.clone());
    let outcome = db::run(&pool, move |conn| {
        Ok::<_, AppError>(accounts::disable_two_factor(
            conn,
            &sealer_c,
            &user_id,
            &form.password,
            &form.code,
            crate::now(),
        )?)
    })
    .await?;
    let mut errors = FormErrors::default();
    match outcome {
        Disable::Disabled => {
            tracing::info!("second factor turned off");
            session.flash("success", "two_factor.disabled");
            return Ok(see_other("/account/two-factor"));
        }
        Disable::NotOn => return Ok(see_other("/account/two-factor")),
        Disable::WrongPassword => errors.add("password", ctx.t("account.wrong_current_password")),
        Disable::WrongCode => errors.add("disable_code", ctx.t("two_factor.wrong_code")),
    }
    state_page(ctx, &pool, sealer, user, StatusCode::UNPROCESSABLE_ENTITY, errors).await
}
