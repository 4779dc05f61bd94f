//! The operator's "Template requirements" page: what the vendor's template needs of every
//! dedicated mini program (plugins, service categories, request domains, privacy-sensitive
//! APIs, the user privacy guide). Saving re-evaluates every tenant's checklist from its
//! last WeChat snapshot, in the background.

use std::collections::HashMap;

use actix_web::{HttpResponse, http::StatusCode, web};
use askama::Template;

use crate::auth::{Operator, TypedSession};
use crate::db::{self, DbPool, audit::Actor, jobs, requirements as store};
use crate::domain::requirements::Config;
use crate::domain::template_needs::NeedsForm;
use crate::error::AppError;
use crate::views::{FormErrors, PageCtx, render, see_other};
use crate::wechat::manage::{PRIVACY_INTERFACES, PRIVACY_KEYS};

const PATH: &str = "/operator/platform/requirements";

#[derive(Template)]
#[template(path = "operator/template_needs.html")]
struct NeedsPage {
    ctx: PageCtx,
    form: NeedsForm,
    errors: FormErrors,
    /// The errors in form order, each with the field it links to (the summary on top).
    summary: Vec<(String, String)>,
    interfaces: &'static [&'static str],
    keys: &'static [(&'static str, &'static str)],
    /// Tenants whose checklist was checked at least once (what a save re-evaluates).
    checked_tenants: i64,
}

impl NeedsPage {
    fn new(ctx: PageCtx, form: NeedsForm, summary: Vec<(String, String)>, checked_tenants: i64) -> Self {
        let mut errors = FormErrors::default();
        for (field, message) in &summary {
            errors.add(field, message.clone());
        }
        Self {
            ctx,
            form: form.with_blank_rows(),
            errors,
            summary,
            interfaces: PRIVACY_INTERFACES,
            keys: PRIVACY_KEYS,
            checked_tenants,
        }
    }

    fn error(&self, field: &str, i: &usize) -> Option<&str> {
        self.errors.get(&format!("{field}_{i}"))
    }

    fn known_key(&self, key: &str) -> bool {
        self.keys.iter().any(|(k, _)| *k == key)
    }

    fn field_class(&self, field: &str, i: &usize) -> &'static str {
        if self.error(field, i).is_some() { "field has-error" } else { "field" }
    }
}

pub async fn page(ctx: PageCtx, _op: Operator, pool: web::Data<DbPool>) -> Result<HttpResponse, AppError> {
    let (config, checked) = db::run(&pool, |c| -> Result<_, AppError> {
        db::read_tx(c, |c| Ok((store::config(c)?, store::checked_tenants(c)?)))
    })
    .await?;
    render(StatusCode::OK, &NeedsPage::new(ctx, NeedsForm::from_config(&config), Vec::new(), checked))
}

pub async fn save(
    ctx: PageCtx,
    op: Operator,
    session: TypedSession,
    pool: web::Data<DbPool>,
    fields: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let form = NeedsForm::from_fields(&fields);
    match form.validate() {
        Ok(config) => {
            store_config(&pool, &op, config, "platform.requirements_config").await?;
            session.flash("success", "needs.saved");
            Ok(see_other(PATH))
        }
        Err(field_errors) => {
            let summary = field_errors.into_iter().map(|e| (e.field, ctx.t(e.key))).collect();
            let checked = db::run(&pool, |c| Ok::<_, AppError>(store::checked_tenants(c)?)).await?;
            render(StatusCode::UNPROCESSABLE_ENTITY, &NeedsPage::new(ctx, form, summary, checked))
        }
    }
}

/// Puts seed 000's requirements back.
pub async fn restore_defaults(
    op: Operator,
    session: TypedSession,
    pool: web::Data<DbPool>,
) -> Result<HttpResponse, AppError> {
    store_config(&pool, &op, Config::default(), "platform.requirements_restored").await?;
    session.flash("success", "needs.restored");
    Ok(see_other(PATH))
}

/// One transaction: the configuration, its audit row (before and after) and the job
/// that re-evaluates every tenant. Each save queues its own job, so a save made while
/// an earlier re-evaluation runs is never lost behind it.
async fn store_config(pool: &DbPool, op: &Operator, config: Config, action: &'static str) -> Result<(), AppError> {
    let actor = Actor::user(&op.0.id, &op.0.email);
    db::run(pool, move |c| -> Result<_, AppError> {
        let now = crate::now();
        db::write_tx(c, |c| {
            let before = store::config(c)?;
            store::put_config(c, &config, now)?;
            db::audit::write(
                c,
                db::audit::Record {
                    actor: &actor,
                    tenant_id: None,
                    action,
                    subject: "platform:requirements",
                    before: Some(&serde_json::to_value(&before).unwrap_or_default()),
                    after: Some(&serde_json::to_value(&config).unwrap_or_default()),
                },
                now,
            )?;
            jobs::enqueue(c, &jobs::ReevaluateRequirements, None, now, now)?;
            Ok::<_, AppError>(())
        })
    })
    .await
}
