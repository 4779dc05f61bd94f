//! The account page (`/account`): name and e-mail, "Change password", the active sessions
//! with "End session" and "End all other sessions", and the way to the second factor.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use serde::Deserialize;
use validator::Validate;

use super::account::client;
use crate::auth::{CurrentUser, TypedSession, password};
use crate::config::AppConfig;
use crate::db::{self, DbPool, sessions::SessionRow};
use crate::domain::session::describe_agent;
use crate::domain::throttle;
use crate::error::AppError;
use crate::services::accounts::{self, PasswordChange};
use crate::views::{FormErrors, PageCtx, render, see_other};

/// One session as the list shows it.
pub struct SessionView {
    pub public_id: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub browser: String,
    pub user_agent: String,
    pub ip: String,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "account/page.html")]
struct AccountPage {
    ctx: PageCtx,
    name: String,
    email: String,
    two_factor_on: bool,
    sessions: Vec<SessionView>,
    errors: FormErrors,
}

impl AccountPage {
    fn others(&self) -> usize {
        self.sessions.iter().filter(|s| !s.current).count()
    }
}

/// The signed-in session's id (the cookie's); `CurrentUser` guarantees there is one.
fn this_session(session: &TypedSession) -> Result<String, AppError> {
    session.session_id().ok_or(AppError::LoginRequired)
}

async fn account_page(
    ctx: PageCtx,
    pool: &DbPool,
    config: &AppConfig,
    user: CurrentUser,
    session: &TypedSession,
    status: StatusCode,
    errors: FormErrors,
) -> Result<HttpResponse, AppError> {
    let current = this_session(session)?;
    let (user_id, timeouts) = (user.0.id.clone(), config.session_timeouts);
    let (rows, two_factor_on) = db::run(pool, move |conn| -> Result<(Vec<SessionRow>, bool), AppError> {
        db::read_tx(conn, |conn| {
            let rows = db::sessions::list_live_for_user(conn, &user_id, crate::now(), &timeouts)?;
            Ok((rows, db::two_factor::is_on(conn, &user_id)?))
        })
    })
    .await?;
    let sessions = rows
        .into_iter()
        .map(|r| SessionView {
            current: r.session_id == current,
            browser: describe_agent(&r.user_agent),
            public_id: r.public_id,
            created_at: r.created_at,
            last_seen_at: r.last_seen_at,
            user_agent: r.user_agent,
            ip: r.ip,
        })
        .collect();
    let (name, email) = (user.0.name, user.0.email);
    render(status, &AccountPage { ctx, name, email, two_factor_on, sessions, errors })
}

pub async fn page(
    ctx: PageCtx,
    pool: web::Data<DbPool>,
    config: web::Data<AppConfig>,
    user: CurrentUser,
    session: TypedSession,
) -> Result<HttpResponse, AppError> {
    account_page(ctx, &pool, &config, user, &session, StatusCode::OK, FormErrors::default()).await
}

#[derive(Debug, Default, Deserialize, Validate)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    #[validate(length(min = 10, max = 128, message = "signup.password_length"))]
    new_password: String,
}

pub async fn change_password(
    ctx: PageCtx,
    req: HttpRequest,
    pool: web::Data<DbPool>,
    config: web::Data<AppConfig>,
    user: CurrentUser,
    session: TypedSession,
    form: web::Form<PasswordForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let mut errors = match form.validate() {
        Ok(()) => FormErrors::default(),
        Err(e) => FormErrors::from_validation(&e, ctx.locale),
    };
    if form.current_password.is_empty() {
        errors.add("current_password", ctx.t("account.current_password_required"));
    }
    if !errors.is_empty() {
        return account_page(ctx, &pool, &config, user, &session, StatusCode::UNPROCESSABLE_ENTITY, errors).await;
    }
    let hash = password::hash(&form.new_password)?;
    let (this, ip, user_id) = (this_session(&session)?, client(&req).ip, user.0.id.clone());
    let public_url = config.public_url.clone();
    let outcome = db::run(&pool, move |conn| {
        Ok::<_, AppError>(accounts::change_password(
            conn,
            &user_id,
            &this,
            &form.current_password,
            &hash,
            &ip,
            &public_url,
            crate::now(),
        )?)
    })
    .await?;
    match outcome {
        PasswordChange::Changed { sessions_ended } => {
            tracing::info!(sessions_ended, "password changed; the user's other sessions ended");
            session.flash("success", "account.password_changed");
            Ok(see_other("/account"))
        }
        PasswordChange::WrongCurrent => {
            errors.add("current_password", ctx.t("account.wrong_current_password"));
            account_page(ctx, &pool, &config, user, &session, StatusCode::UNPROCESSABLE_ENTITY, errors).await
        }
        PasswordChange::Locked { until } => {
            let minutes = throttle::minutes_until(until, crate::now()).to_string();
            errors.add("current_password", ctx.t_with("login.locked", &[("minutes", &minutes)]));
            account_page(ctx, &pool, &config, user, &session, StatusCode::TOO_MANY_REQUESTS, errors).await
        }
    }
}

/// "End session" for one of the list (this one too: then it is a logout).
pub async fn end_session(
    pool: web::Data<DbPool>,
    user: CurrentUser,
    session: TypedSession,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let public_id = path.into_inner();
    let this = this_session(&session)?;
    let u = user.0.clone();
    let ended = db::run(&pool, move |conn| {
        Ok::<_, AppError>(accounts::end_session(conn, &u, &public_id, &this, crate::now())?)
    })
    .await?;
    match ended {
        None => Err(AppError::NotFound),
        Some(true) => {
            session.end();
            Ok(see_other("/login"))
        }
        Some(false) => {
            session.flash("success", "account.session_ended");
            Ok(see_other("/account"))
        }
    }
}

pub async fn end_other_sessions(
    pool: web::Data<DbPool>,
    user: CurrentUser,
    session: TypedSession,
) -> Result<HttpResponse, AppError> {
    let this = this_session(&session)?;
    let u = user.0.clone();
    db::run(&pool, move |conn| Ok::<_, AppError>(accounts::end_other_sessions(conn, &u, &this, crate::now())?)).await?;
    session.flash("success", "account.other_sessions_ended");
    Ok(see_other("/account"))
}
