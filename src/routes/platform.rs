//! The operator's "Platform" page: ticket and token health, authorizers, the event inbox
//! with replay, background jobs; and the platform-level authorization flow.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::{Operator, TypedSession};
use crate::config::AppConfig;
use crate::db::platform::EventStatus;
use crate::db::{self, DbPool, audit::Actor, platform as store};
use crate::domain::binding::AuthPurpose;
use crate::error::AppError;
use crate::secrets::Sealer;
use crate::services::authorization::{self, Starter};
use crate::services::inbox;
use crate::services::platform::Platform;
use crate::views::{PageCtx, ok, see_other};
use crate::wechat::urls::AuthType;

pub struct CredentialView {
    pub obtained_at: i64,
    pub expires_at: i64,
}

/// The operator's configuration of the shared mini program and the required sets.
#[derive(Debug, Default, Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub short_name: String,
    #[serde(default)]
    pub icon: String,
    #[serde(default)]
    pub required: String,
}

#[derive(Template)]
#[template(path = "operator/platform.html")]
struct PlatformPage {
    ctx: PageCtx,
    settings: SettingsForm,
    errors: crate::views::FormErrors,
    now: i64,
    ticket: Option<CredentialView>,
    token: Option<CredentialView>,
    authorizers: Vec<store::Authorizer>,
    events: Vec<store::Event>,
    jobs: Vec<db::jobs::Job>,
    email_alert: super::emails::EmailAlert,
}

impl PlatformPage {
    fn minutes(&self, from: &i64, to: &i64) -> i64 {
        (to - from) / 60
    }
}

pub async fn page(ctx: PageCtx, _op: Operator, pool: web::Data<DbPool>) -> Result<HttpResponse, AppError> {
    render_page(ctx, &pool, None, crate::views::FormErrors::default()).await
}

async fn render_page(
    ctx: PageCtx,
    pool: &DbPool,
    form: Option<SettingsForm>,
    errors: crate::views::FormErrors,
) -> Result<HttpResponse, AppError> {
    use crate::db::bindings::{self, REQUIRED_SETS, SHARED_ICON, SHARED_NAME, SHARED_SHORT_NAME};
    let status = if errors.is_empty() {
        actix_web::http::StatusCode::OK
    } else {
        actix_web::http::StatusCode::UNPROCESSABLE_ENTITY
    };
    let (ticket, token, authorizers, events, jobs, stored, emails) = db::run(pool, |c| -> Result<_, AppError> {
        let view = |c: Option<store::Credential>| {
            c.map(|c| CredentialView { obtained_at: c.obtained_at, expires_at: c.expires_at })
        };
        Ok((
            view(store::credential(c, store::TICKET)?),
            view(store::credential(c, store::COMPONENT_TOKEN)?),
            store::list_authorizers(c)?,
            store::recent_events(c, 50)?,
            db::jobs::recent(c, 20)?,
            SettingsForm {
                name: bindings::setting(c, SHARED_NAME)?,
                short_name: bindings::setting(c, SHARED_SHORT_NAME)?,
                icon: bindings::setting(c, SHARED_ICON)?,
                required: bindings::setting(c, REQUIRED_SETS)?,
            },
            db::outbox::counts(c)?,
        ))
    })
    .await?;
    let settings = form.unwrap_or(stored);
    let email_alert = super::emails::EmailAlert::of(&emails);
    crate::views::render(
        status,
        &PlatformPage {
            ctx,
            settings,
            errors,
            now: crate::now(),
            ticket,
            token,
            authorizers,
            events,
            jobs,
            email_alert,
        },
    )
}

/// Saves the shared mini program and the required permission sets.
pub async fn save_settings(
    ctx: PageCtx,
    op: Operator,
    session: TypedSession,
    pool: web::Data<DbPool>,
    form: web::Form<SettingsForm>,
) -> Result<HttpResponse, AppError> {
    use crate::db::bindings::{self, REQUIRED_SETS, SHARED_ICON, SHARED_NAME, SHARED_SHORT_NAME};
    let mut f = form.into_inner();
    f.name = f.name.trim().to_string();
    f.short_name = f.short_name.trim().to_string();
    f.icon = f.icon.trim().to_string();
    let ids = crate::domain::binding::parse_ids(&f.required);
    let mut errors = crate::views::FormErrors::default();
    if f.name.is_empty() || f.name.chars().count() > 40 {
        errors.add("name", ctx.t("settings.name_invalid"));
    }
    if f.short_name.is_empty() || f.short_name.chars().count() > 20 {
        errors.add("short_name", ctx.t("settings.short_invalid"));
    }
    let icon_ok = f.icon.is_empty() || f.icon.starts_with("https://") || f.icon.starts_with("http://");
    if !icon_ok || f.icon.len() > 500 {
        errors.add("icon", ctx.t("settings.icon_invalid"));
    }
    const KNOWN: [i64; 7] = [17, 18, 19, 25, 30, 31, 40];
    if ids.is_empty() || ids.iter().any(|id| !KNOWN.contains(id)) {
        errors.add("required", ctx.t("settings.required_invalid"));
    }
    if !errors.is_empty() {
        return render_page(ctx, &pool, Some(f), errors).await;
    }
    let required = crate::domain::binding::join_ids(&ids);
    let actor = Actor::user(&op.0.id, &op.0.email);
    db::run(&pool, move |c| -> Result<_, AppError> {
        let now = crate::now();
        db::write_tx(c, |c| {
            let before = serde_json::json!({
                "name": bindings::setting(c, SHARED_NAME)?, "short_name": bindings::setting(c, SHARED_SHORT_NAME)?,
                "icon": bindings::setting(c, SHARED_ICON)?, "required": bindings::setting(c, REQUIRED_SETS)?,
            });
            bindings::put_setting(c, SHARED_NAME, &f.name, now)?;
            bindings::put_setting(c, SHARED_SHORT_NAME, &f.short_name, now)?;
            bindings::put_setting(c, SHARED_ICON, &f.icon, now)?;
            bindings::put_setting(c, REQUIRED_SETS, &required, now)?;
            db::audit::write(
                c,
                db::audit::Record {
                    actor: &actor,
                    tenant_id: None,
                    action: "platform.settings_changed",
                    subject: "platform:settings",
                    before: Some(&before),
                    after: Some(&serde_json::json!({
                        "name": f.name, "short_name": f.short_name, "icon": f.icon, "required": required,
                    })),
                },
                now,
            )?;
            Ok::<_, AppError>(())
        })
    })
    .await?;
    session.flash("success", "settings.saved");
    Ok(see_other("/operator/platform"))
}

pub async fn refresh_token(_op: Operator, session: TypedSession, platform: web::Data<Platform>) -> HttpResponse {
    match platform.refresh_component_token_now().await {
        Ok(()) => session.flash("success", "platform.token_refreshed"),
        Err(e) => {
            session.flash("error", "platform.token_refresh_failed");
            tracing::warn!(error = %e, "manual component token refresh failed");
        }
    }
    see_other("/operator/platform")
}

#[derive(Template)]
#[template(path = "operator/event.html")]
struct EventPage {
    ctx: PageCtx,
    event: store::Event,
}

pub async fn event(
    ctx: PageCtx,
    _op: Operator,
    pool: web::Data<DbPool>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let event = db::run(&pool, move |c| store::event(c, &id)?.ok_or(AppError::NotFound)).await?;
    ok(&EventPage { ctx, event })
}

pub async fn replay(
    op: Operator,
    session: TypedSession,
    pool: web::Data<DbPool>,
    sealer: web::Data<Sealer>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let sealer = sealer.get_ref().clone();
    let event_id = id.clone();
    let status = db::run(&pool, move |c| -> Result<_, AppError> {
        let now = crate::now();
        let status = inbox::process(c, &sealer, &event_id, now)?;
        db::audit::write(
            c,
            db::audit::Record::<(), _> {
                actor: &Actor::user(&op.0.id, &op.0.email),
                tenant_id: None,
                action: "event.replayed",
                subject: &format!("event:{event_id}"),
                before: None,
                after: Some(&serde_json::json!({ "status": status.as_str() })),
            },
            now,
        )?;
        Ok::<_, AppError>(status)
    })
    .await?;
    session.flash(if status == EventStatus::Failed { "error" } else { "success" }, "platform.replayed");
    Ok(see_other(&format!("/operator/platform/events/{id}")))
}

#[derive(Template)]
#[template(path = "operator/platform_authorize.html")]
struct AuthorizeLinkPage {
    ctx: PageCtx,
    link: Option<String>,
    error: Option<String>,
}

/// Starts an authorization that is not tied to a tenant (to add an account to the platform).
pub async fn authorize(
    ctx: PageCtx,
    op: Operator,
    session: TypedSession,
    platform: web::Data<Platform>,
    config: web::Data<AppConfig>,
) -> Result<HttpResponse, AppError> {
    let starter = Starter {
        purpose: AuthPurpose::Platform,
        tenant_id: None,
        user_id: op.0.id.clone(),
        session_id: session.session_id().ok_or(AppError::LoginRequired)?,
        biz_appid: None,
    };
    match authorization::begin(&platform, &config.public_url, &config.wechat_mp_base, starter, AuthType::Any).await {
        Ok(started) => ok(&AuthorizeLinkPage { ctx, link: Some(started.link), error: None }),
        Err(e) => {
            tracing::warn!(error = %e, "starting a platform authorization failed");
            let error = Some(ctx.failure(&e.failure()));
            ok(&AuthorizeLinkPage { ctx, link: None, error })
        }
    }
}
