//! Sign-up, login (with the second factor's step when the user has one), logout and the
//! language switch.

use actix_web::{HttpRequest, HttpResponse, cookie::Cookie, http::StatusCode, web};
use askama::Template;
use serde::Deserialize;
use validator::Validate;

use crate::auth::{MaybeUser, TypedSession, password};
use crate::config::AppConfig;
use crate::db::{self, DbPool, audit::Actor, models::User};
use crate::domain::throttle;
use crate::error::AppError;
use crate::i18n::{LANG_COOKIE, Locale};
use crate::services::accounts::{self, Client, NewAccount, SignUp};
use crate::views::{FormErrors, PageCtx, render, see_other};

/// Where a request comes from: the peer address (the rate limits' key) and the browser.
pub(crate) fn client(req: &HttpRequest) -> Client {
    let ip = req.peer_addr().map(|a| a.ip().to_string()).unwrap_or_else(|| "unknown".into());
    let user_agent = req
        .headers()
        .get(actix_web::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().take(300).collect())
        .unwrap_or_default();
    Client { ip, user_agent }
}

/// Where a login lands: an invitation opened before it, else the operator's queue or the
/// user's workspace (or the application).
pub(crate) async fn landing_after_login(
    session: &TypedSession,
    pool: &DbPool,
    user_id: String,
    is_operator: bool,
) -> Result<HttpResponse, AppError> {
    if let Some(token) = session.invitation() {
        return Ok(see_other(&format!("/invitations/{token}")));
    }
    if is_operator {
        return Ok(see_other("/operator/applications"));
    }
    let to = super::home::landing_for(pool, user_id).await?;
    Ok(see_other(&to))
}

#[derive(Debug, Default, Deserialize, Validate)]
pub struct SignupForm {
    #[serde(default)]
    #[validate(email(message = "form.email_invalid"), length(max = 254, message = "form.email_invalid"))]
    pub email: String,
    #[serde(default)]
    #[validate(length(min = 1, max = 80, message = "signup.name_required"))]
    pub name: String,
    #[serde(default)]
    #[validate(length(min = 10, max = 128, message = "signup.password_length"))]
    pub password: String,
    #[serde(default)]
    pub accept_terms: Option<String>,
}

impl SignupForm {
    pub(crate) fn normalized(mut self) -> Self {
        self.email = self.email.trim().to_lowercase();
        self.name = self.name.trim().to_string();
        self
    }
}

#[derive(Template)]
#[template(path = "account/signup.html")]
struct SignupPage {
    ctx: PageCtx,
    form: SignupForm,
    errors: FormErrors,
}

#[derive(Template)]
#[template(path = "account/_email_field.html")]
struct EmailField {
    ctx: PageCtx,
    form: SignupForm,
    errors: FormErrors,
}

pub async fn signup_form(ctx: PageCtx, user: MaybeUser) -> Result<HttpResponse, AppError> {
    if user.0.is_some() {
        return Ok(see_other("/"));
    }
    render(StatusCode::OK, &SignupPage { ctx, form: SignupForm::default(), errors: FormErrors::default() })
}

pub(crate) fn validate_signup(form: &SignupForm, locale: Locale) -> FormErrors {
    let mut errors = match form.validate() {
        Ok(()) => FormErrors::default(),
        Err(e) => FormErrors::from_validation(&e, locale),
    };
    if form.accept_terms.as_deref() != Some("on") {
        errors.add("accept_terms", locale.t("signup.terms_required"));
    }
    errors
}

/// HTMX inline check of the e-mail field as soon as it is typed.
pub async fn check_email(
    ctx: PageCtx,
    pool: web::Data<DbPool>,
    form: web::Form<SignupForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner().normalized();
    let mut errors = FormErrors::default();
    if let Err(e) = form.validate() {
        let all = FormErrors::from_validation(&e, ctx.locale);
        if let Some(msg) = all.get("email") {
            errors.add("email", msg.to_string());
        }
    }
    if errors.is_empty() {
        let email = form.email.clone();
        if db::run(&pool, move |c| Ok::<_, AppError>(db::users::find_by_email(c, &email)?)).await?.is_some() {
            errors.add("email", ctx.t("signup.email_taken"));
        }
    }
    render(StatusCode::OK, &EmailField { ctx, form, errors })
}

/// "Too many accounts were created from your address; try again in N minutes."
pub(crate) fn signup_limited_text(ctx: &PageCtx, until: i64) -> String {
    let minutes = throttle::minutes_until(until, crate::now()).to_string();
    ctx.t_with("signup.limited", &[("minutes", &minutes)])
}

pub async fn signup(
    ctx: PageCtx,
    req: HttpRequest,
    session: TypedSession,
    pool: web::Data<DbPool>,
    config: web::Data<AppConfig>,
    form: web::Form<SignupForm>,
) -> Result<HttpResponse, AppError> {
    let mut form = form.into_inner().normalized();
    let errors = validate_signup(&form, ctx.locale);
    if !errors.is_empty() {
        form.password.clear();
        return render(StatusCode::UNPROCESSABLE_ENTITY, &SignupPage { ctx, form, errors });
    }
    let hash = password::hash(&form.password)?;
    let (email, name, client) = (form.email.clone(), form.name.clone(), client(&req));
    let (timeouts, limits) = (config.session_timeouts, config.rate_limits);
    let outcome = db::run(&pool, move |conn| -> Result<_, AppError> {
        let account = NewAccount { email: &email, name: &name, password_hash: &hash };
        Ok(accounts::sign_up(conn, &account, &client, &timeouts, &limits, crate::now())?)
    })
    .await?;
    form.password.clear();
    match outcome {
        SignUp::Created { session_id, user } => {
            let (account, locale) = (user.clone(), ctx.locale);
            db::run(&pool, move |conn| -> Result<_, AppError> {
                Ok(db::write_tx(conn, |conn| remember_locale(conn, &account, locale, crate::now()))?)
            })
            .await?;
            session.begin_login(&session_id)?;
            session.flash("success", "signup.welcome");
            landing_after_signup(&session, &pool, user.id).await
        }
        SignUp::EmailTaken => {
            let mut errors = FormErrors::default();
            errors.add("email", ctx.t("signup.email_taken"));
            render(StatusCode::UNPROCESSABLE_ENTITY, &SignupPage { ctx, form, errors })
        }
        SignUp::Limited { until } => {
            tracing::warn!("sign-up refused: too many accounts from one address");
            let mut errors = FormErrors::default();
            errors.add("form", signup_limited_text(&ctx, until));
            render(StatusCode::TOO_MANY_REQUESTS, &SignupPage { ctx, form, errors })
        }
    }
}

async fn landing_after_signup(
    session: &TypedSession,
    pool: &DbPool,
    user_id: String,
) -> Result<HttpResponse, AppError> {
    if session.invitation().is_some() {
        return landing_after_login(session, pool, user_id, false).await;
    }
    Ok(see_other("/apply"))
}

#[derive(Debug, Default, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub password: String,
}

#[derive(Template)]
#[template(path = "account/login.html")]
struct LoginPage {
    ctx: PageCtx,
    email: String,
    error: Option<String>,
    /// An invitation waits for this login.
    invited: bool,
}

pub async fn login_form(ctx: PageCtx, user: MaybeUser, session: TypedSession) -> Result<HttpResponse, AppError> {
    if user.0.is_some() {
        return Ok(see_other("/"));
    }
    let invited = session.invitation().is_some();
    render(StatusCode::OK, &LoginPage { ctx, email: String::new(), error: None, invited })
}

enum LoginOutcome {
    Locked(i64),
    Wrong,
    /// The password passed; the second factor is next.
    SecondFactor {
        user_id: String,
    },
    Ok {
        session_id: String,
        user_id: String,
        is_operator: bool,
    },
}

pub async fn login(
    ctx: PageCtx,
    req: HttpRequest,
    session: TypedSession,
    pool: web::Data<DbPool>,
    config: web::Data<AppConfig>,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let email = form.email.trim().to_lowercase();
    let client = client(&req);
    let (email_q, timeouts) = (email.clone(), config.session_timeouts);
    let locale = ctx.locale;
    let outcome = db::run(&pool, move |conn| -> Result<_, AppError> {
        let now = crate::now();
        let recent = db::throttle::recent_failures(conn, &email_q, &client.ip, now - throttle::WINDOW_SECS)?;
        if let Some(until) = throttle::locked_until(&recent.by_email, &recent.by_ip, now) {
            return Ok(LoginOutcome::Locked(until));
        }
        let user = db::users::find_by_email(conn, &email_q)?;
        // Verify against a dummy hash for unknown e-mails so timing does not tell them apart.
        let stored = user.as_ref().map(|u| u.password_hash.as_str()).unwrap_or(password::dummy_hash());
        let good = password::verify(&form.password, stored) && user.is_some();
        match user {
            Some(user) if good => {
                if db::two_factor::is_on(conn, &user.id)? {
                    return Ok(LoginOutcome::SecondFactor { user_id: user.id });
                }
                let session_id = db::write_tx(conn, |conn| {
                    db::throttle::clear_for_email(conn, &email_q)?;
                    // The language the login was made in is the one e-mails to this user use.
                    remember_locale(conn, &user, locale, now)?;
                    accounts::open_session(conn, &user, &client, &timeouts, "password", now)
                })?;
                Ok(LoginOutcome::Ok { session_id, user_id: user.id, is_operator: user.is_operator })
            }
            _ => {
                db::write_tx(conn, |conn| db::throttle::record_failure(conn, &email_q, &client.ip, now))?;
                Ok(LoginOutcome::Wrong)
            }
        }
    })
    .await?;
    let invited = session.invitation().is_some();
    match outcome {
        LoginOutcome::Locked(until) => {
            tracing::warn!(
                email.domain = email.rsplit('@').next().unwrap_or_default(),
                "login refused: too many failures"
            );
            let minutes = throttle::minutes_until(until, crate::now()).to_string();
            let error = Some(ctx.t_with("login.locked", &[("minutes", &minutes)]));
            render(StatusCode::TOO_MANY_REQUESTS, &LoginPage { ctx, email, error, invited })
        }
        LoginOutcome::Wrong => {
            let error = Some(ctx.t("login.wrong"));
            render(StatusCode::UNAUTHORIZED, &LoginPage { ctx, email, error, invited })
        }
        LoginOutcome::SecondFactor { user_id } => {
            session.begin_second_factor(&user_id, crate::now())?;
            Ok(see_other("/login/code"))
        }
        LoginOutcome::Ok { session_id, user_id, is_operator } => {
            session.begin_login(&session_id)?;
            landing_after_login(&session, &pool, user_id, is_operator).await
        }
    }
}

pub async fn logout(session: TypedSession, pool: web::Data<DbPool>, user: MaybeUser) -> Result<HttpResponse, AppError> {
    if let Some(sid) = session.session_id() {
        let user = user.0;
        db::run(&pool, move |conn| -> Result<_, AppError> {
            db::write_tx(conn, |conn| {
                db::sessions::delete(conn, &sid)?;
                if let Some(u) = &user {
                    db::audit::write(
                        conn,
                        db::audit::Record::<(), ()> {
                            actor: &Actor::user(&u.id, &u.email),
                            tenant_id: None,
                            action: "user.logged_out",
                            subject: &format!("user:{}", u.id),
                            before: None,
                            after: None,
                        },
                        crate::now(),
                    )?;
                }
                Ok::<_, AppError>(())
            })
        })
        .await?;
    }
    session.end();
    Ok(see_other("/login"))
}

#[derive(Deserialize)]
pub struct LocaleForm {
    pub(super) lang: String,
    #[serde(default)]
    pub(super) return_to: Option<String>,
}

/// Keeps the language a user works in as the one e-mails to them are written in first
/// (`db::outbox`), with an audit row when it changes. Inside the caller's transaction.
fn remember_locale(conn: &mut db::DbConn, user: &User, locale: Locale, now: i64) -> diesel::QueryResult<()> {
    let before = db::users::set_locale(conn, &user.id, locale.code())?;
    if before.as_deref() == Some(locale.code()) {
        return Ok(());
    }
    db::audit::write(
        conn,
        db::audit::Record {
            actor: &Actor::user(&user.id, &user.email),
            tenant_id: None,
            action: "user.locale_changed",
            subject: &format!("user:{}", user.id),
            before: Some(&serde_json::json!({ "locale": before })),
            after: Some(&serde_json::json!({ "locale": locale.code() })),
        },
        now,
    )
}

/// The header's language switch; remembered in a cookie for a year, and for a signed-in
/// user as the language of the e-mails written to them (with an audit row when it changes).
pub async fn set_locale(
    user: MaybeUser,
    pool: web::Data<DbPool>,
    form: web::Form<LocaleForm>,
) -> Result<HttpResponse, AppError> {
    let locale = Locale::parse(&form.lang).ok_or_else(|| AppError::BadRequest("unknown language".into()))?;
    if let Some(user) = user.0 {
        db::run(&pool, move |conn| -> Result<_, AppError> {
            Ok(db::write_tx(conn, |conn| remember_locale(conn, &user, locale, crate::now()))?)
        })
        .await?;
    }
    let cookie = Cookie::build(LANG_COOKIE, locale.code())
        .path("/")
        .http_only(true)
        .same_site(actix_web::cookie::SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::days(365))
        .finish();
    let to = super::safe_return_path(form.return_to.as_deref());
    Ok(HttpResponse::SeeOther().insert_header(("Location", to)).cookie(cookie).finish())
}
