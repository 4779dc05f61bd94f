//! The workspace application, seed 004: role → business details → review → status.

use std::sync::LazyLock;

use actix_web::{HttpResponse, http::StatusCode, web};
use askama::Template;
use serde::Deserialize;
use validator::Validate;

use crate::auth::CurrentUser;
use crate::db::{self, DbPool, applications::Edit, audit::Actor, models::Application};
use crate::domain::application::{Landing, ROLE_TECHNICAL_MERCHANT, Status, Step, resume as resume_at};
use crate::domain::{avatar, logo};
use crate::error::AppError;
use crate::views::{FormErrors, PageCtx, ok, render, see_other};

static PHONE: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(r"^\+?[0-9][0-9 ()\-]{4,22}$").expect("the phone pattern is valid"));

fn actor(user: &CurrentUser) -> Actor {
    Actor::user(&user.0.id, &user.0.email)
}

/// Loads (or creates) the applicant's application; operators have none.
async fn load(pool: &DbPool, user: &CurrentUser) -> Result<Application, AppError> {
    if user.0.is_operator {
        return Err(AppError::Forbidden);
    }
    let actor = actor(user);
    let uid = user.0.id.clone();
    let color = avatar::pick_color(rand::random::<u32>()).to_string();
    db::run(pool, move |c| db::applications::find_or_create(c, &actor, &uid, &color, crate::now())).await
}

fn step_url(step: Step) -> &'static str {
    match step {
        Step::Role => "/apply/role",
        Step::Details => "/apply/details",
        Step::Review => "/apply/review",
    }
}

/// Where the applicant stands, for the progress bar (1–4).
fn progress(app: &Application, here: u8) -> Progress {
    Progress { current: here, status: app.status.clone() }
}

pub struct Progress {
    pub current: u8,
    pub status: String,
}

/// Guards the form steps: a submitted or decided application shows its status instead.
fn editable_or_redirect(app: &Application) -> Option<HttpResponse> {
    match resume_at(app.status(), app.step) {
        Landing::Workspace => Some(see_other("/")),
        Landing::StatusPage if app.status() == Status::Submitted => Some(see_other("/apply/status")),
        _ => None,
    }
}

pub async fn resume(user: CurrentUser, pool: web::Data<DbPool>) -> Result<HttpResponse, AppError> {
    let app = load(&pool, &user).await?;
    Ok(see_other(match resume_at(app.status(), app.step) {
        Landing::Step(step) => step_url(step),
        Landing::StatusPage => "/apply/status",
        // The status page sends members on to their workspace; an approved applicant who
        // left it (or was removed) stays there, instead of going round between `/` and here.
        Landing::Workspace => "/apply/status",
    }))
}

#[derive(Template)]
#[template(path = "apply/role.html")]
struct RolePage {
    ctx: PageCtx,
    app: Application,
    progress: Progress,
}

pub async fn role_form(ctx: PageCtx, user: CurrentUser, pool: web::Data<DbPool>) -> Result<HttpResponse, AppError> {
    let app = load(&pool, &user).await?;
    if let Some(r) = editable_or_redirect(&app) {
        return Ok(r);
    }
    ok(&RolePage { progress: progress(&app, 1), ctx, app })
}

#[derive(Deserialize)]
pub struct RoleForm {
    role: String,
}

pub async fn choose_role(
    user: CurrentUser,
    pool: web::Data<DbPool>,
    form: web::Form<RoleForm>,
) -> Result<HttpResponse, AppError> {
    if form.role != ROLE_TECHNICAL_MERCHANT {
        return Err(AppError::BadRequest("unknown role".into()));
    }
    load(&pool, &user).await?;
    let actor = actor(&user);
    let uid = user.0.id.clone();
    db::run(&pool, move |c| -> Result<_, AppError> {
        db::applications::edit(c, &actor, &uid, Edit::Role { role: ROLE_TECHNICAL_MERCHANT }, crate::now())
    })
    .await?;
    Ok(see_other("/apply/details"))
}

#[derive(Debug, Default, Validate)]
pub struct DetailsForm {
    #[validate(length(min = 2, max = 100, message = "apply.company_name_length"))]
    pub company_name: String,
    #[validate(url(message = "apply.website_invalid"), length(max = 200, message = "apply.website_invalid"))]
    pub website: Option<String>,
    #[validate(regex(path = *PHONE, message = "apply.phone_invalid"))]
    pub contact_phone: Option<String>,
    #[validate(email(message = "form.email_invalid"), length(max = 254, message = "form.email_invalid"))]
    pub contact_email: Option<String>,
}

impl DetailsForm {
    fn from_app(app: &Application) -> Self {
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
        Self {
            company_name: app.company_name.clone(),
            website: opt(&app.website),
            contact_phone: opt(&app.contact_phone),
            contact_email: opt(&app.contact_email),
        }
    }

    pub fn value(&self, field: &str) -> &str {
        match field {
            "company_name" => &self.company_name,
            "website" => self.website.as_deref().unwrap_or_default(),
            "contact_phone" => self.contact_phone.as_deref().unwrap_or_default(),
            "contact_email" => self.contact_email.as_deref().unwrap_or_default(),
            _ => "",
        }
    }
}

#[derive(Template)]
#[template(path = "apply/details.html")]
struct DetailsPage {
    ctx: PageCtx,
    app: Application,
    form: DetailsForm,
    errors: FormErrors,
    progress: Progress,
    initial: String,
}

impl DetailsPage {
    fn new(ctx: PageCtx, app: Application, form: DetailsForm, errors: FormErrors) -> Self {
        let name = if form.company_name.trim().is_empty() { "?" } else { form.company_name.as_str() };
        Self { initial: avatar::initial(name), progress: progress(&app, 2), ctx, app, form, errors }
    }
}

pub async fn details_form(ctx: PageCtx, user: CurrentUser, pool: web::Data<DbPool>) -> Result<HttpResponse, AppError> {
    let app = load(&pool, &user).await?;
    if let Some(r) = editable_or_redirect(&app) {
        return Ok(r);
    }
    if app.role.is_none() {
        return Ok(see_other("/apply/role"));
    }
    let form = DetailsForm::from_app(&app);
    ok(&DetailsPage::new(ctx, app, form, FormErrors::default()))
}

const MAX_TEXT_FIELD: usize = 4096;

/// The business-details form's multipart limits.
pub const DETAILS_LIMITS: super::upload::Limits =
    super::upload::Limits { file_fields: &["logo"], file_bytes: logo::MAX_LOGO_BYTES, text_bytes: MAX_TEXT_FIELD };

pub async fn save_details(
    ctx: PageCtx,
    user: CurrentUser,
    pool: web::Data<DbPool>,
    payload: crate::multipart::Parts,
) -> Result<HttpResponse, AppError> {
    let app = load(&pool, &user).await?;
    if let Some(r) = editable_or_redirect(&app) {
        return Ok(r);
    }
    let upload = super::upload::read(payload, DETAILS_LIMITS).await?;
    let text = |k: &str| upload.fields.get(k).cloned().unwrap_or_default();
    let opt = |k: &str| Some(text(k)).filter(|s| !s.is_empty());
    let form = DetailsForm {
        company_name: text("company_name"),
        website: opt("website"),
        contact_phone: opt("contact_phone"),
        contact_email: opt("contact_email").map(|e| e.to_lowercase()),
    };
    let mut errors = match form.validate() {
        Ok(()) => FormErrors::default(),
        Err(e) => FormErrors::from_validation(&e, ctx.locale),
    };
    if form.website.as_deref().is_some_and(|w| !(w.starts_with("http://") || w.starts_with("https://"))) {
        errors.add("website", ctx.t("apply.website_invalid"));
    }
    let actor = actor(&user);
    let uid = user.0.id.clone();
    // A good logo is kept even when another field needs fixing, so it need not be chosen again.
    let logo_bytes = upload.file("logo");
    for field in upload.too_large.iter().filter(|f| *f != "logo") {
        errors.add(field, ctx.t("form.too_long"));
    }
    let logo_checked = match (logo_bytes, upload.too_large("logo")) {
        (_, true) => Err(logo::LogoError::TooLarge),
        (Some(bytes), false) => logo::check(bytes).map(Some),
        (None, false) => Ok(None),
    };
    let mut app = app;
    match logo_checked {
        Err(e) => errors.add("logo", ctx.t(e.message_key())),
        Ok(Some(kind)) => {
            let bytes = logo_bytes.unwrap_or_default().to_vec();
            let (actor, uid) = (actor.clone(), uid.clone());
            app = db::run(&pool, move |c| -> Result<_, AppError> {
                db::applications::edit(c, &actor, &uid, Edit::Logo { bytes: &bytes, mime: kind.mime() }, crate::now())
            })
            .await?;
        }
        Ok(None) if upload.fields.get("remove_logo").is_some_and(|v| v == "on") && app.logo.is_some() => {
            let (actor, uid) = (actor.clone(), uid.clone());
            app = db::run(&pool, move |c| db::applications::edit(c, &actor, &uid, Edit::RemoveLogo, crate::now()))
                .await?;
        }
        Ok(None) => {}
    }
    if !errors.is_empty() {
        return render(StatusCode::UNPROCESSABLE_ENTITY, &DetailsPage::new(ctx, app, form, errors));
    }
    let f = form;
    db::run(&pool, move |c| -> Result<_, AppError> {
        db::applications::edit(
            c,
            &actor,
            &uid,
            Edit::Details {
                company_name: f.company_name.trim(),
                website: f.website.as_deref().unwrap_or_default(),
                contact_phone: f.contact_phone.as_deref().unwrap_or_default(),
                contact_email: f.contact_email.as_deref().unwrap_or_default(),
            },
            crate::now(),
        )
    })
    .await?;
    Ok(see_other("/apply/review"))
}

#[derive(Template)]
#[template(path = "apply/review.html")]
struct ReviewPage {
    ctx: PageCtx,
    app: Application,
    progress: Progress,
    initial: String,
    error: Option<String>,
}

pub async fn review(ctx: PageCtx, user: CurrentUser, pool: web::Data<DbPool>) -> Result<HttpResponse, AppError> {
    let app = load(&pool, &user).await?;
    if let Some(r) = editable_or_redirect(&app) {
        return Ok(r);
    }
    if app.role.is_none() {
        return Ok(see_other("/apply/role"));
    }
    if app.company_name.trim().is_empty() {
        return Ok(see_other("/apply/details"));
    }
    ok(&ReviewPage { initial: avatar::initial(&app.company_name), progress: progress(&app, 3), ctx, app, error: None })
}

pub async fn submit(ctx: PageCtx, user: CurrentUser, pool: web::Data<DbPool>) -> Result<HttpResponse, AppError> {
    load(&pool, &user).await?;
    let actor = actor(&user);
    let uid = user.0.id.clone();
    match db::run(&pool, move |c| db::applications::submit(c, &actor, &uid, crate::now())).await {
        Ok(_) => Ok(see_other("/apply/status")),
        Err(AppError::Conflict(key)) => {
            let app = load(&pool, &user).await?;
            let error = Some(ctx.t(&key));
            render(
                StatusCode::CONFLICT,
                &ReviewPage {
                    initial: avatar::initial(&app.company_name),
                    progress: progress(&app, 3),
                    ctx,
                    app,
                    error,
                },
            )
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub struct PreviousForm {
    from: u8,
}

/// "Previous step": goes one step back from the page the button was on.
pub async fn previous(
    user: CurrentUser,
    pool: web::Data<DbPool>,
    form: web::Form<PreviousForm>,
) -> Result<HttpResponse, AppError> {
    let app = load(&pool, &user).await?;
    if let Some(r) = editable_or_redirect(&app) {
        return Ok(r);
    }
    let target = Step::from_i32(i32::from(form.from)).previous();
    let actor = actor(&user);
    let uid = user.0.id.clone();
    db::run(&pool, move |c| db::applications::edit(c, &actor, &uid, Edit::Step { step: target as i32 }, crate::now()))
        .await?;
    Ok(see_other(step_url(target)))
}

#[derive(Template)]
#[template(path = "apply/status.html")]
struct StatusPage {
    ctx: PageCtx,
    app: Application,
    progress: Progress,
    initial: String,
    history: Vec<db::models::ApplicationHistory>,
}

pub async fn status(ctx: PageCtx, user: CurrentUser, pool: web::Data<DbPool>) -> Result<HttpResponse, AppError> {
    let app = load(&pool, &user).await?;
    match app.status() {
        Status::Draft => return Ok(see_other(step_url(Step::from_i32(app.step)))),
        Status::Approved => {
            let uid = user.0.id.clone();
            let member =
                db::run(&pool, move |c| Ok::<_, AppError>(db::tenants::first_for_member(c, &uid)?)).await?.is_some();
            if member {
                return Ok(see_other("/"));
            }
        }
        Status::Submitted | Status::Rejected => {}
    }
    let app_id = app.id.clone();
    let history = db::run(&pool, move |c| Ok::<_, AppError>(db::applications::history_of(c, &app_id)?)).await?;
    ok(&StatusPage { initial: avatar::initial(&app.company_name), progress: progress(&app, 4), ctx, app, history })
}

/// The applicant's own uploaded logo.
pub async fn logo(user: CurrentUser, pool: web::Data<DbPool>) -> Result<HttpResponse, AppError> {
    let uid = user.0.id.clone();
    let (bytes, mime) = db::run(&pool, move |c| Ok::<_, AppError>(db::applications::logo_for_user(c, &uid)?))
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(image_response(bytes, &mime))
}

/// An uploaded image, served so a browser never sniffs it as anything else.
pub(crate) fn image_response(bytes: Vec<u8>, mime: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(mime.to_string())
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Cache-Control", "private, max-age=60"))
        .insert_header(("Content-Security-Policy", "default-src 'none'"))
        .body(bytes)
}
