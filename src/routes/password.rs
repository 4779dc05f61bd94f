//! "Forgot password?": the request form (one answer whatever the address), and the e-mailed
//! link that sets a new password once within an hour.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use serde::Deserialize;
use validator::Validate;

use super::account::client;
use crate::auth::{TypedSession, password};
use crate::config::AppConfig;
use crate::db::{self, DbPool};
use crate::error::AppError;
use crate::services::accounts::{self, LinkRefused, ResetRequest};
use crate::views::{FormErrors, PageCtx, render, see_other};

#[derive(Debug, Default, Deserialize, Validate)]
pub struct ForgotForm {
    #[serde(default)]
    #[validate(email(message = "form.email_invalid"), length(max = 254, message = "form.email_invalid"))]
    email: String,
}

#[derive(Template)]
#[template(path = "account/forgot.html")]
struct ForgotPage {
    ctx: PageCtx,
    form: ForgotForm,
    errors: FormErrors,
    /// The request was taken: the one answer, whether or not an account exists.
    sent: bool,
}

pub async fn forgot_form(ctx: PageCtx) -> Result<HttpResponse, AppError> {
    render(StatusCode::OK, &ForgotPage { ctx, form: ForgotForm::default(), errors: FormErrors::default(), sent: false })
}

pub async fn forgot(
    ctx: PageCtx,
    req: HttpRequest,
    pool: web::Data<DbPool>,
    config: web::Data<AppConfig>,
    form: web::Form<ForgotForm>,
) -> Result<HttpResponse, AppError> {
    let mut form = form.into_inner();
    form.email = form.email.trim().to_lowercase();
    if let Err(e) = form.validate() {
        let errors = FormErrors::from_validation(&e, ctx.locale);
        return render(StatusCode::UNPROCESSABLE_ENTITY, &ForgotPage { ctx, form, errors, sent: false });
    }
    let (email, ip) = (form.email.clone(), client(&req).ip);
    let (limits, public_url) = (config.rate_limits, config.public_url.clone());
    let outcome = db::run(&pool, move |conn| {
        Ok::<_, AppError>(accounts::request_reset(conn, &email, &ip, &limits, &public_url, crate::now())?)
    })
    .await?;
    let domain = form.email.rsplit('@').next().unwrap_or_default();
    match outcome {
        ResetRequest::Limited => tracing::warn!(email.domain = domain, "password reset not sent: over the rate limit"),
        ResetRequest::NoAccount => tracing::info!(email.domain = domain, "password reset asked for an unknown address"),
        ResetRequest::Sent => tracing::info!(email.domain = domain, "password reset link sent"),
    }
    render(StatusCode::OK, &ForgotPage { ctx, form, errors: FormErrors::default(), sent: true })
}

#[derive(Debug, Default, Deserialize, Validate)]
pub struct ResetForm {
    #[serde(default)]
    #[validate(length(min = 10, max = 128, message = "signup.password_length"))]
    password: String,
}

#[derive(Template)]
#[template(path = "account/reset.html")]
struct ResetPage {
    ctx: PageCtx,
    token: String,
    email: String,
    errors: FormErrors,
}

#[derive(Template)]
#[template(path = "account/reset_invalid.html")]
struct ResetInvalidPage {
    ctx: PageCtx,
    reason: LinkRefused,
}

fn invalid(ctx: PageCtx, reason: LinkRefused) -> Result<HttpResponse, AppError> {
    let status = if reason == LinkRefused::Unknown { StatusCode::NOT_FOUND } else { StatusCode::GONE };
    render(status, &ResetInvalidPage { ctx, reason })
}

/// The e-mailed link: the new-password form (opening it uses nothing up).
pub async fn reset_form(
    ctx: PageCtx,
    pool: web::Data<DbPool>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let token = path.into_inner();
    let t = token.clone();
    let checked = db::run(&pool, move |conn| Ok::<_, AppError>(accounts::check_reset(conn, &t, crate::now())?)).await?;
    match checked {
        Ok(user) => render(StatusCode::OK, &ResetPage { ctx, token, email: user.email, errors: FormErrors::default() }),
        Err(reason) => invalid(ctx, reason),
    }
}

pub async fn reset(
    ctx: PageCtx,
    pool: web::Data<DbPool>,
    config: web::Data<AppConfig>,
    session: TypedSession,
    path: web::Path<String>,
    form: web::Form<ResetForm>,
) -> Result<HttpResponse, AppError> {
    let token = path.into_inner();
    let form = form.into_inner();
    if let Err(e) = form.validate() {
        let errors = FormErrors::from_validation(&e, ctx.locale);
        let t = token.clone();
        let checked =
            db::run(&pool, move |conn| Ok::<_, AppError>(accounts::check_reset(conn, &t, crate::now())?)).await?;
        return match checked {
            Ok(user) => render(StatusCode::UNPROCESSABLE_ENTITY, &ResetPage { ctx, token, email: user.email, errors }),
            Err(reason) => invalid(ctx, reason),
        };
    }
    let hash = password::hash(&form.password)?;
    let public_url = config.public_url.clone();
    let done = db::run(&pool, move |conn| {
        Ok::<_, AppError>(accounts::complete_reset(conn, &token, &hash, &public_url, crate::now())?)
    })
    .await?;
    match done {
        Ok(_) => {
            // Every session of the user ended, this browser's too if it was theirs.
            tracing::info!("password reset through an e-mailed link; every session of the user ended");
            session.flash("success", "password.reset_done");
            Ok(see_other("/login"))
        }
        Err(reason) => invalid(ctx, reason),
    }
}
