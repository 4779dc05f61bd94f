//! Operator → Template library (SPEC §3.4, §3.8): the drafts the vendor's developers
//! uploaded to WeChat, the templates made from them (`addtotemplate`, always a normal
//! template), WeChat's limit of 200, releasing a template to tenants as a version with
//! the notes they see, and deleting old templates. The platform's audit quota is shown
//! here too. Drafts and templates are read live from WeChat; released versions are ours.

use actix_web::{HttpResponse, http::StatusCode, web};
use askama::Template;
use serde::Deserialize;
use serde_json::json;

use crate::auth::{Operator, TypedSession};
use crate::db::{self, audit, releases as store};
use crate::domain::release::check_release;
use crate::error::AppError;
use crate::services::platform::Platform;
use crate::services::releases as service;
use crate::views::{FormErrors, PageCtx, render, see_other};
use crate::wechat::code::{self as api, Draft, DraftList, Quota, TemplateList};

const PATH: &str = "/operator/templates";

/// A template as the page lists it: WeChat's fields and the version it was released as.
pub struct TemplateRow {
    pub t: api::Template,
    pub version: Option<String>,
    pub is_latest: bool,
}

#[derive(Template)]
#[template(path = "operator/templates.html")]
struct LibraryPage {
    ctx: PageCtx,
    drafts: Vec<Draft>,
    templates: Vec<TemplateRow>,
    versions: Vec<store::TemplateVersion>,
    quota: Option<Quota>,
    /// WeChat could not be asked: why, in words.
    load_error: Option<String>,
    limit: usize,
    /// The release form that failed validation: its template, its input and errors.
    form_for: Option<i64>,
    form_version: String,
    form_notes: String,
    errors: FormErrors,
    /// WeChat refused an action: its sentence.
    action_error: Option<String>,
}

impl LibraryPage {
    fn full(&self) -> bool {
        self.templates.len() >= self.limit
    }

    fn form_value(&self, template_id: &i64, field: &str) -> &str {
        if self.form_for != Some(*template_id) {
            return "";
        }
        if field == "version" { &self.form_version } else { &self.form_notes }
    }

    fn error_for(&self, template_id: &i64, field: &str) -> Option<&str> {
        if self.form_for == Some(*template_id) { self.errors.get(field) } else { None }
    }
}

/// What the page shows, read from WeChat and from the database.
async fn load(ctx: PageCtx, platform: &Platform) -> Result<LibraryPage, AppError> {
    let (drafts, templates, quota) = tokio::join!(
        platform.get_component::<DraftList>(api::GET_TEMPLATE_DRAFT_LIST),
        platform.get_component::<TemplateList>(api::GET_TEMPLATE_LIST),
        service::quota(platform),
    );
    let versions = db::run(platform.pool(), |c| -> Result<_, AppError> { Ok(store::versions(c)?) }).await?;
    let load_error = match (&drafts, &templates) {
        (Err(e), _) | (_, Err(e)) => Some(ctx.failure(&e.failure())),
        _ => None,
    };
    let latest = versions.first().map(|v| v.template_id);
    let mut drafts = drafts.map(|d| d.draft_list).unwrap_or_default();
    drafts.sort_by_key(|d| std::cmp::Reverse(d.create_time));
    let mut templates: Vec<TemplateRow> = templates
        .map(|t| t.template_list)
        .unwrap_or_default()
        .into_iter()
        .map(|t| TemplateRow {
            version: versions.iter().find(|v| v.template_id == t.template_id).map(|v| v.version.clone()),
            is_latest: latest == Some(t.template_id),
            t,
        })
        .collect();
    templates.sort_by_key(|r| std::cmp::Reverse(r.t.create_time));
    Ok(LibraryPage {
        ctx,
        drafts,
        templates,
        versions,
        quota: quota.ok().flatten(),
        load_error,
        limit: api::TEMPLATE_LIMIT,
        form_for: None,
        form_version: String::new(),
        form_notes: String::new(),
        errors: FormErrors::default(),
        action_error: None,
    })
}

pub async fn page(ctx: PageCtx, _op: Operator, platform: web::Data<Platform>) -> Result<HttpResponse, AppError> {
    render(StatusCode::OK, &load(ctx, &platform).await?)
}

fn audit_row(
    c: &mut db::DbConn,
    op: &Operator,
    action: &str,
    subject: &str,
    after: serde_json::Value,
    now: i64,
) -> Result<(), diesel::result::Error> {
    let actor = audit::Actor::user(&op.0.id, &op.0.email);
    audit::write(
        c,
        audit::Record { actor: &actor, tenant_id: None, action, subject, before: None::<&()>, after: Some(&after) },
        now,
    )
}

/// WeChat refused: the page again with its sentence.
async fn refused(ctx: PageCtx, platform: &Platform, text: String) -> Result<HttpResponse, AppError> {
    let mut page = load(ctx, platform).await?;
    page.action_error = Some(text);
    render(StatusCode::OK, &page)
}

/// "Add to templates": `addtotemplate` with `template_type` 0.
pub async fn add(
    ctx: PageCtx,
    op: Operator,
    session: TypedSession,
    platform: web::Data<Platform>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let draft_id = path.into_inner();
    let body = json!({ "draft_id": draft_id, "template_type": api::TEMPLATE_TYPE_NORMAL });
    if let Err(e) = platform.call_component_wxa::<api::Done>(api::ADD_TO_TEMPLATE, &body).await {
        let text = ctx.failure(&e.failure());
        return refused(ctx, &platform, text).await;
    }
    db::run(platform.pool(), move |c| -> Result<_, AppError> {
        let now = crate::now();
        Ok(db::write_tx(c, |c| {
            audit_row(c, &op, "template.added", &format!("draft:{draft_id}"), json!({ "draft_id": draft_id }), now)
        })?)
    })
    .await?;
    session.flash("success", "templates.added");
    Ok(see_other(PATH))
}

#[derive(Deserialize)]
pub struct ReleaseForm {
    #[serde(default)]
    version: String,
    #[serde(default)]
    notes: String,
}

/// The page again (422) with the release form of `template_id` as it was sent and its
/// errors (keys under `templates.error.`) beside the fields.
async fn form_refused(
    ctx: PageCtx,
    platform: &Platform,
    template_id: i64,
    form: ReleaseForm,
    errors: &[(&str, &str)],
) -> Result<HttpResponse, AppError> {
    let mut page = load(ctx, platform).await?;
    for (field, key) in errors {
        page.errors.add(field, page.ctx.t(&format!("templates.error.{key}")));
    }
    page.form_for = Some(template_id);
    page.form_version = form.version;
    page.form_notes = form.notes;
    render(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

/// "Release to tenants": the template becomes a version with its number and notes. The
/// newest version is "latest": every tenant on an older one shows "Pending Update".
pub async fn release(
    ctx: PageCtx,
    op: Operator,
    session: TypedSession,
    platform: web::Data<Platform>,
    path: web::Path<i64>,
    form: web::Form<ReleaseForm>,
) -> Result<HttpResponse, AppError> {
    let template_id = path.into_inner();
    let form = form.into_inner();
    let latest = db::run(platform.pool(), |c| -> Result<_, AppError> { Ok(store::latest_version(c)?) }).await?;
    let checked = check_release(&form.version, &form.notes, latest.as_ref().map(|v| v.version.as_str()));
    let (version, notes) = match checked {
        Ok(v) => v,
        Err(field_errors) => return form_refused(ctx, &platform, template_id, form, &field_errors).await,
    };
    // The template must exist on WeChat (its user_version is kept beside ours).
    let templates = match platform.get_component::<TemplateList>(api::GET_TEMPLATE_LIST).await {
        Ok(t) => t.template_list,
        Err(e) => {
            let text = ctx.failure(&e.failure());
            return refused(ctx, &platform, text).await;
        }
    };
    let Some(template) = templates.into_iter().find(|t| t.template_id == template_id) else {
        let text = ctx.t("templates.gone");
        return refused(ctx, &platform, text).await;
    };
    let number = form.version.trim().to_string();
    let inserted = db::run(platform.pool(), move |c| -> Result<_, AppError> {
        let now = crate::now();
        let result = db::write_tx(c, |c| {
            let id = store::insert_version(
                c,
                &store::NewVersion {
                    template_id,
                    version: &number,
                    sort_key: &version.sort_key(),
                    notes: &notes,
                    user_version: &template.user_version,
                    published_by: &op.0.email,
                },
                now,
            )?;
            let after = json!({ "version": number, "template_id": template_id, "notes": notes, "id": id });
            audit_row(c, &op, "template.released", &format!("template:{template_id}"), after, now)?;
            Ok::<_, diesel::result::Error>(())
        });
        match result {
            Ok(()) => Ok(true),
            Err(e) if db::is_unique_violation(&e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    })
    .await?;
    if !inserted {
        return form_refused(ctx, &platform, template_id, form, &[("version", "version_taken")]).await;
    }
    session.flash("success", "templates.released");
    Ok(see_other(PATH))
}

/// "Delete": `deletetemplate`. The latest version's template stays: tenants submit it.
pub async fn delete(
    ctx: PageCtx,
    op: Operator,
    session: TypedSession,
    platform: web::Data<Platform>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let template_id = path.into_inner();
    let latest = db::run(platform.pool(), |c| -> Result<_, AppError> { Ok(store::latest_version(c)?) }).await?;
    if latest.is_some_and(|v| v.template_id == template_id) {
        let text = ctx.t("templates.latest_kept");
        return refused(ctx, &platform, text).await;
    }
    if let Err(e) =
        platform.call_component_wxa::<api::Done>(api::DELETE_TEMPLATE, &json!({ "template_id": template_id })).await
    {
        let text = ctx.failure(&e.failure());
        return refused(ctx, &platform, text).await;
    }
    db::run(platform.pool(), move |c| -> Result<_, AppError> {
        let now = crate::now();
        let subject = format!("template:{template_id}");
        Ok(db::write_tx(c, |c| audit_row(c, &op, "template.deleted", &subject, json!({ "deleted": true }), now))?)
    })
    .await?;
    session.flash("success", "templates.deleted");
    Ok(see_other(PATH))
}
