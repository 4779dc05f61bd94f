//! The operator console: the review queue and the audit log.

use actix_web::{HttpResponse, http::StatusCode, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::{Operator, TypedSession};
use crate::db::{
    self, DbPool,
    audit::{Actor, AuditFilter},
    models::{Application, ApplicationHistory, ApplicationSummary, AuditEntry, User},
    outbox::Letter,
};
use crate::domain::application::{Decision, Status};
use crate::domain::avatar;
use crate::error::AppError;
use crate::views::{FormErrors, PageCtx, ok, render, see_other};

pub async fn index(_op: Operator) -> HttpResponse {
    see_other("/operator/applications")
}

#[derive(Deserialize)]
pub struct QueueQuery {
    #[serde(default)]
    status: Option<String>,
}

#[derive(Template)]
#[template(path = "operator/queue.html")]
struct QueuePage {
    ctx: PageCtx,
    status: String,
    rows: Vec<ApplicationSummary>,
    email_alert: super::emails::EmailAlert,
}

pub async fn queue(
    ctx: PageCtx,
    _op: Operator,
    pool: web::Data<DbPool>,
    query: web::Query<QueueQuery>,
) -> Result<HttpResponse, AppError> {
    let status = query.status.as_deref().and_then(Status::parse).unwrap_or(Status::Submitted);
    let (rows, emails) = db::read(&pool, move |c| -> Result<_, AppError> {
        Ok((db::applications::list_by_status(c, status)?, db::outbox::counts(c)?))
    })
    .await?;
    let email_alert = super::emails::EmailAlert::of(&emails);
    ok(&QueuePage { ctx, status: status.as_str().to_string(), rows, email_alert })
}

#[derive(Template)]
#[template(path = "operator/application.html")]
struct ApplicationPage {
    ctx: PageCtx,
    app: Application,
    applicant: User,
    history: Vec<ApplicationHistory>,
    initial: String,
    logo_url: String,
    reason: String,
    errors: FormErrors,
}

async fn load_application(pool: &DbPool, id: String) -> Result<(Application, User, Vec<ApplicationHistory>), AppError> {
    db::run(pool, move |c| -> Result<_, AppError> {
        let app = db::applications::find(c, &id)?.ok_or(AppError::NotFound)?;
        let applicant = db::users::find(c, &app.user_id)?.ok_or(AppError::NotFound)?;
        let history = db::applications::history_of(c, &id)?;
        Ok((app, applicant, history))
    })
    .await
}

pub async fn application(
    ctx: PageCtx,
    _op: Operator,
    pool: web::Data<DbPool>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (app, applicant, history) = load_application(&pool, path.into_inner()).await?;
    ok(&ApplicationPage {
        initial: avatar::initial(&app.company_name),
        logo_url: format!("/operator/applications/{}/logo", app.id),
        ctx,
        app,
        applicant,
        history,
        reason: String::new(),
        errors: FormErrors::default(),
    })
}

pub async fn logo(_op: Operator, pool: web::Data<DbPool>, path: web::Path<String>) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let (bytes, mime) = db::run(&pool, move |c| Ok::<_, AppError>(db::applications::logo_of(c, &id)?))
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(super::apply::image_response(bytes, &mime))
}

/// The notification e-mail to the applicant, in their language first (`db::outbox`).
fn decision_email(applicant_email: String, public_url: String) -> impl Fn(&Application) -> Option<Letter> {
    move |app: &Application| {
        let key = if app.status == Status::Approved.as_str() { "email.approved" } else { "email.rejected" };
        Some(
            Letter::new(applicant_email.clone(), key)
                .arg("company", app.company_name.as_str())
                .arg("reason", app.rejection_reason.clone().unwrap_or_default())
                .arg("url", public_url.as_str()),
        )
    }
}

async fn decide(
    pool: &DbPool,
    op: &Operator,
    id: String,
    reason: Option<String>,
    public_url: String,
) -> Result<Application, AppError> {
    let actor = Actor::user(&op.0.id, &op.0.email);
    db::run(pool, move |c| -> Result<_, AppError> {
        let app = db::applications::find(c, &id)?.ok_or(AppError::NotFound)?;
        let applicant = db::users::find(c, &app.user_id)?.ok_or(AppError::NotFound)?;
        let decision = match &reason {
            Some(r) => Decision::Reject { reason: r },
            None => Decision::Approve,
        };
        db::applications::decide(c, &actor, &id, &decision, decision_email(applicant.email, public_url), crate::now())
    })
    .await
}

pub async fn approve(
    op: Operator,
    session: TypedSession,
    pool: web::Data<DbPool>,
    config: web::Data<crate::config::AppConfig>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    decide(&pool, &op, id.clone(), None, config.public_url.clone()).await?;
    session.flash("success", "operator.approved_flash");
    Ok(see_other(&format!("/operator/applications/{id}")))
}

#[derive(Deserialize)]
pub struct RejectForm {
    #[serde(default)]
    reason: String,
}

pub async fn reject(
    ctx: PageCtx,
    op: Operator,
    session: TypedSession,
    pool: web::Data<DbPool>,
    config: web::Data<crate::config::AppConfig>,
    path: web::Path<String>,
    form: web::Form<RejectForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let reason = form.into_inner().reason.trim().to_string();
    let too_long = reason.chars().count() > 2000;
    if reason.is_empty() || too_long {
        let (app, applicant, history) = load_application(&pool, id).await?;
        let mut errors = FormErrors::default();
        errors.add("reason", ctx.t(if too_long { "operator.reason_too_long" } else { "operator.reason_required" }));
        return render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &ApplicationPage {
                initial: avatar::initial(&app.company_name),
                logo_url: format!("/operator/applications/{}/logo", app.id),
                ctx,
                app,
                applicant,
                history,
                reason,
                errors,
            },
        );
    }
    decide(&pool, &op, id.clone(), Some(reason), config.public_url.clone()).await?;
    session.flash("success", "operator.rejected_flash");
    Ok(see_other(&format!("/operator/applications/{id}")))
}

#[derive(Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    tenant: Option<String>,
    #[serde(default)]
    actor: Option<String>,
    #[serde(default)]
    page: Option<i64>,
}

#[derive(Template)]
#[template(path = "operator/audit.html")]
struct AuditPage {
    ctx: PageCtx,
    rows: Vec<AuditEntry>,
    action: String,
    tenant: String,
    actor: String,
    page: i64,
    has_next: bool,
}

impl AuditPage {
    fn page_link(&self, page: i64) -> String {
        let filters =
            [("action", self.action.as_str()), ("tenant", self.tenant.as_str()), ("actor", self.actor.as_str())];
        crate::views::page_link("/operator/audit", &filters, page)
    }
}

const AUDIT_PAGE_SIZE: i64 = 50;

pub async fn audit(
    ctx: PageCtx,
    _op: Operator,
    pool: web::Data<DbPool>,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.into_inner();
    let clean = |s: Option<String>| s.map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let filter = AuditFilter { action: clean(q.action), tenant_id: clean(q.tenant), actor: clean(q.actor) };
    let page = q.page.unwrap_or(1).max(1);
    let f = filter.clone();
    let mut rows = db::run(&pool, move |c| {
        Ok::<_, AppError>(db::audit::list(c, &f, AUDIT_PAGE_SIZE + 1, (page - 1) * AUDIT_PAGE_SIZE)?)
    })
    .await?;
    let has_next = rows.len() as i64 > AUDIT_PAGE_SIZE;
    rows.truncate(AUDIT_PAGE_SIZE as usize);
    ok(&AuditPage {
        ctx,
        rows,
        action: filter.action.unwrap_or_default(),
        tenant: filter.tenant_id.unwrap_or_default(),
        actor: filter.actor.unwrap_or_default(),
        page,
        has_next,
    })
}
