//! Sign-up, login, logout and the language switch.

use actix_web::{HttpRequest, HttpResponse, cookie::Cookie, http::StatusCode, web};
use askama::Template;
use serde::Deserialize;
use validator::Validate;

use crate::auth::{MaybeUser, TypedSession, password};
use crate::db::{self, DbPool, audit::Actor, models::NewUser};
use crate::domain::throttle;
use crate::error::AppError;
use crate::i18n::{LANG_COOKIE, Locale};
use crate::views::{FormErrors, PageCtx, render, see_other};

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
    fn normalized(mut self) -> Self {
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

fn validate_signup(form: &SignupForm, locale: Locale) -> FormErrors {
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

pub async fn signup(
    ctx: PageCtx,
    session: TypedSession,
    pool: web::Data<DbPool>,
    form: web::Form<SignupForm>,
) -> Result<HttpResponse, AppError> {
    let mut form = form.into_inner().normalized();
    let errors = validate_signup(&form, ctx.locale);
    if !errors.is_empty() {
        form.password.clear();
        return render(StatusCode::UNPROCESSABLE_ENTITY, &SignupPage { ctx, form, errors });
    }
    let hash = password::hash(&form.password)?;
    let (email, name) = (form.email.clone(), form.name.clone());
    let session_id = crate::new_id();
    let sid = session_id.clone();
    // The language the e-mails to this user are written in first (`db::outbox`).
    let locale = ctx.locale;
    let created = db::run(&pool, move |conn| -> Result<_, AppError> {
        let now = crate::now();
        let user_id = crate::new_id();
        let result = db::write_tx(conn, |conn| {
            db::users::insert(
                conn,
                &NewUser {
                    id: &user_id,
                    email: &email,
                    name: &name,
                    password_hash: &hash,
                    is_operator: false,
                    created_at: now,
                },
            )?;
            db::sessions::insert(conn, &sid, &user_id, now)?;
            db::users::set_locale(conn, &user_id, locale.code())?;
            let actor = Actor::user(&user_id, &email);
            db::audit::write(
                conn,
                db::audit::Record::<(), _> {
                    actor: &actor,
                    tenant_id: None,
                    action: "user.signed_up",
                    subject: &format!("user:{user_id}"),
                    before: None,
                    after: Some(&serde_json::json!({ "email": email, "name": name, "locale": locale.code() })),
                },
                now,
            )
        });
        match result {
            Ok(()) => Ok(true),
            Err(e) if db::is_unique_violation(&e) => Ok(false),
            Err(e) => Err(AppError::from(e)),
        }
    })
    .await?;
    if !created {
        let mut errors = FormErrors::default();
        errors.add("email", ctx.t("signup.email_taken"));
        form.password.clear();
        return render(StatusCode::UNPROCESSABLE_ENTITY, &SignupPage { ctx, form, errors });
    }
    session.begin_login(&session_id)?;
    session.flash("success", "signup.welcome");
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
}

pub async fn login_form(ctx: PageCtx, user: MaybeUser) -> Result<HttpResponse, AppError> {
    if user.0.is_some() {
        return Ok(see_other("/"));
    }
    render(StatusCode::OK, &LoginPage { ctx, email: String::new(), error: None })
}

enum LoginOutcome {
    Locked(i64),
    Wrong,
    Ok { user_id: String, is_operator: bool },
}

pub async fn login(
    ctx: PageCtx,
    req: HttpRequest,
    session: TypedSession,
    pool: web::Data<DbPool>,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let email = form.email.trim().to_lowercase();
    let ip = req.peer_addr().map(|a| a.ip().to_string()).unwrap_or_else(|| "unknown".into());
    let session_id = crate::new_id();
    let (sid, email_q) = (session_id.clone(), email.clone());
    let locale = ctx.locale;
    let outcome = db::run(&pool, move |conn| -> Result<_, AppError> {
        let now = crate::now();
        let recent = db::throttle::recent_failures(conn, &email_q, &ip, now - throttle::WINDOW_SECS)?;
        if let Some(until) = throttle::locked_until(&recent.by_email, &recent.by_ip, now) {
            return Ok(LoginOutcome::Locked(until));
        }
        let user = db::users::find_by_email(conn, &email_q)?;
        // Verify against a dummy hash for unknown e-mails so timing does not tell them apart.
        let stored = user.as_ref().map(|u| u.password_hash.as_str()).unwrap_or(password::dummy_hash());
        let good = password::verify(&form.password, stored) && user.is_some();
        match user {
            Some(user) if good => {
                db::write_tx(conn, |conn| {
                    db::throttle::clear_for_email(conn, &email_q)?;
                    db::sessions::insert(conn, &sid, &user.id, now)?;
                    // The language the login was made in is the one e-mails to this user use.
                    let before = db::users::set_locale(conn, &user.id, locale.code())?;
                    let changed = before.as_deref() != Some(locale.code());
                    db::audit::write(
                        conn,
                        db::audit::Record::<serde_json::Value, serde_json::Value> {
                            actor: &Actor::user(&user.id, &user.email),
                            tenant_id: None,
                            action: "user.logged_in",
                            subject: &format!("user:{}", user.id),
                            before: changed.then(|| serde_json::json!({ "locale": before })).as_ref(),
                            after: changed.then(|| serde_json::json!({ "locale": locale.code() })).as_ref(),
                        },
                        now,
                    )
                })?;
                Ok(LoginOutcome::Ok { user_id: user.id, is_operator: user.is_operator })
            }
            _ => {
                db::write_tx(conn, |conn| db::throttle::record_failure(conn, &email_q, &ip, now))?;
                Ok(LoginOutcome::Wrong)
            }
        }
    })
    .await?;
    match outcome {
        LoginOutcome::Locked(until) => {
            tracing::warn!(
                email.domain = email.rsplit('@').next().unwrap_or_default(),
                "login refused: too many failures"
            );
            let minutes = ((until - crate::now()).max(60) / 60).to_string();
            let error = Some(ctx.t_with("login.locked", &[("minutes", &minutes)]));
            render(StatusCode::TOO_MANY_REQUESTS, &LoginPage { ctx, email, error })
        }
        LoginOutcome::Wrong => {
            let error = Some(ctx.t("login.wrong"));
            render(StatusCode::UNAUTHORIZED, &LoginPage { ctx, email, error })
        }
        LoginOutcome::Ok { user_id, is_operator } => {
            session.begin_login(&session_id)?;
            if is_operator {
                return Ok(see_other("/operator/applications"));
            }
            let to = super::home::landing_for(&pool, user_id).await?;
            Ok(see_other(&to))
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
    lang: String,
    #[serde(default)]
    return_to: Option<String>,
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
            db::write_tx(conn, |conn| {
                let now = crate::now();
                let before = db::users::set_locale(conn, &user.id, locale.code())?;
                if before.as_deref() != Some(locale.code()) {
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
                    )?;
                }
                Ok::<_, AppError>(())
            })
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
