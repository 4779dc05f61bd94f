//! The operator's official account settings (issue 12): the permission sets the platform
//! needs of an official account, the link limits WeChat publishes only informally, and the
//! notification templates the store application sends with their fields.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::{Operator, TypedSession};
use crate::db::{self, DbPool, audit::Actor, bindings, official_accounts as oa_store};
use crate::domain::official_account::{LinkLimits, NeededTemplate, parse_needed_templates};
use crate::error::AppError;
use crate::views::{FormErrors, PageCtx, render, see_other};

#[derive(Debug, Default, Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    pub required: String,
    #[serde(default)]
    pub same_subject: String,
    #[serde(default)]
    pub different_subject: String,
    #[serde(default)]
    pub per_month: String,
    #[serde(default)]
    pub templates: String,
}

#[derive(Template)]
#[template(path = "official_account/operator.html")]
struct SettingsPage {
    ctx: PageCtx,
    form: SettingsForm,
    errors: FormErrors,
}

async fn stored(pool: &DbPool) -> Result<SettingsForm, AppError> {
    db::run(pool, |c| -> Result<_, AppError> {
        let [required, limits, templates] =
            bindings::settings(c, &[oa_store::REQUIRED_SETS, oa_store::LINK_LIMITS, oa_store::NOTIFICATION_TEMPLATES])?;
        let limits = LinkLimits::parse(&limits);
        let templates = serde_json::to_string_pretty(&parse_needed_templates(&templates)).unwrap_or_default();
        Ok(SettingsForm {
            required,
            same_subject: limits.same_subject.to_string(),
            different_subject: limits.different_subject.to_string(),
            per_month: limits.per_month.to_string(),
            templates,
        })
    })
    .await
}

pub async fn page(ctx: PageCtx, _op: Operator, pool: web::Data<DbPool>) -> Result<HttpResponse, AppError> {
    let form = stored(&pool).await?;
    render(actix_web::http::StatusCode::OK, &SettingsPage { ctx, form, errors: FormErrors::default() })
}

fn count(s: &str) -> Option<i64> {
    s.trim().parse::<i64>().ok().filter(|n| (0..=1000).contains(n))
}

pub async fn save(
    ctx: PageCtx,
    op: Operator,
    session: TypedSession,
    pool: web::Data<DbPool>,
    form: web::Form<SettingsForm>,
) -> Result<HttpResponse, AppError> {
    let f = form.into_inner();
    let mut errors = FormErrors::default();
    let ids = crate::domain::binding::parse_ids(&f.required);
    if ids.is_empty() || ids.iter().any(|id| *id <= 0) || !ids.contains(&33) {
        errors.add("required", ctx.t("oa_settings.required_invalid"));
    }
    let (same, different, month) = (count(&f.same_subject), count(&f.different_subject), count(&f.per_month));
    for (field, value) in [("same_subject", same), ("different_subject", different), ("per_month", month)] {
        if value.is_none() {
            errors.add(field, ctx.t("oa_settings.count_invalid"));
        }
    }
    let templates = serde_json::from_str::<Vec<NeededTemplate>>(&f.templates)
        .ok()
        .filter(|t| !t.is_empty() && t.iter().all(|t| !t.short_id.trim().is_empty() && !t.title.trim().is_empty()));
    if templates.is_none() {
        errors.add("templates", ctx.t("oa_settings.templates_invalid"));
    }
    let (Some(same), Some(different), Some(month), Some(templates), true) =
        (same, different, month, templates, errors.is_empty())
    else {
        return render(actix_web::http::StatusCode::UNPROCESSABLE_ENTITY, &SettingsPage { ctx, form: f, errors });
    };
    let required = crate::domain::binding::join_ids(&ids);
    let limits = format!("{same},{different},{month}");
    let templates = serde_json::to_string(&templates).unwrap_or_default();
    let actor = Actor::user(&op.0.id, &op.0.email);
    db::run(&pool, move |c| -> Result<_, AppError> {
        let now = crate::now();
        db::write_tx(c, |c| {
            let [b_required, b_limits, b_templates] = bindings::settings(
                c,
                &[oa_store::REQUIRED_SETS, oa_store::LINK_LIMITS, oa_store::NOTIFICATION_TEMPLATES],
            )?;
            bindings::put_setting(c, oa_store::REQUIRED_SETS, &required, now)?;
            bindings::put_setting(c, oa_store::LINK_LIMITS, &limits, now)?;
            bindings::put_setting(c, oa_store::NOTIFICATION_TEMPLATES, &templates, now)?;
            db::audit::write(
                c,
                db::audit::Record {
                    actor: &actor,
                    tenant_id: None,
                    action: "platform.official_account_settings_changed",
                    subject: "platform:settings",
                    before: Some(
                        &serde_json::json!({ "required": b_required, "limits": b_limits, "templates": b_templates }),
                    ),
                    after: Some(&serde_json::json!({ "required": required, "limits": limits, "templates": templates })),
                },
                now,
            )?;
            Ok::<_, AppError>(())
        })
    })
    .await?;
    session.flash("success", "oa_settings.saved");
    Ok(see_other("/operator/official-accounts"))
}
