//! The operator's "Platform" page: ticket and token health, authorizers, the event inbox
//! with replay, background jobs; and the platform-level authorization flow.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::{CurrentUser, Operator, TypedSession};
use crate::config::AppConfig;
use crate::db::{self, DbPool, audit::Actor, platform as store};
use crate::error::AppError;
use crate::secrets::Sealer;
use crate::views::{PageCtx, ok, see_other};
use crate::wechat::platform::Platform;

/// How long an authorization link stays usable (WeChat's pre_auth_code lives 1800 s).
pub const STATE_TTL_SECS: i64 = 1800;

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
    let (ticket, token, authorizers, events, jobs, stored) = db::run(pool, |c| {
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
        ))
    })
    .await?;
    let settings = form.unwrap_or(stored);
    crate::views::render(
        status,
        &PlatformPage { ctx, settings, errors, now: crate::now(), ticket, token, authorizers, events, jobs },
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
    let required = crate::wechat::platform::join_ids(&ids);
    let actor = Actor::user(&op.0.id, &op.0.email);
    db::run(&pool, move |c| {
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
            tracing::warn!(error = %e, "manual component token refresh failed: {}", e.user_message());
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
    let status = db::run(&pool, move |c| {
        store::event(c, &event_id)?.ok_or(AppError::NotFound)?;
        let now = crate::now();
        let status = crate::wechat::events::process(c, &sealer, &event_id, now)?;
        db::audit::write(
            c,
            db::audit::Record::<(), _> {
                actor: &Actor::user(&op.0.id, &op.0.email),
                tenant_id: None,
                action: "event.replayed",
                subject: &format!("event:{event_id}"),
                before: None,
                after: Some(&serde_json::json!({ "status": status })),
            },
            now,
        )?;
        Ok(status)
    })
    .await?;
    session.flash(if status == "failed" { "error" } else { "success" }, "platform.replayed");
    Ok(see_other(&format!("/operator/platform/events/{id}")))
}

#[derive(Template)]
#[template(path = "operator/platform_authorize.html")]
struct AuthorizeLinkPage {
    ctx: PageCtx,
    link: Option<String>,
    error: Option<String>,
}

/// Builds WeChat's authorization page URL (reference §1.6).
pub fn authorization_url(
    config: &AppConfig,
    pre_auth_code: &str,
    state: &str,
    auth_type: Option<&str>,
    biz_appid: Option<&str>,
) -> String {
    let redirect = format!("{}/wechat/authorized?state={state}", config.public_url);
    let mut pairs = vec![
        ("component_appid", config.component.appid.as_str()),
        ("pre_auth_code", pre_auth_code),
        ("redirect_uri", redirect.as_str()),
    ];
    match (biz_appid, auth_type) {
        (Some(appid), _) => pairs.push(("biz_appid", appid)),
        (None, Some(t)) => pairs.push(("auth_type", t)),
        (None, None) => {}
    }
    let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    format!("{}/cgi-bin/componentloginpage?{query}", config.wechat_mp_base)
}

/// Starts an authorization that is not tied to a tenant (to add an account to the platform).
pub async fn authorize(
    ctx: PageCtx,
    op: Operator,
    session: TypedSession,
    pool: web::Data<DbPool>,
    platform: web::Data<Platform>,
    config: web::Data<AppConfig>,
) -> Result<HttpResponse, AppError> {
    let starter = Starter {
        purpose: "platform",
        tenant_id: None,
        user_id: op.0.id.clone(),
        session_id: session.session_id().ok_or(AppError::LoginRequired)?,
        biz_appid: None,
    };
    match begin_authorization(&pool, &platform, &config, starter, "3").await? {
        Ok((_, link)) => ok(&AuthorizeLinkPage { ctx, link: Some(link), error: None }),
        Err(e) => ok(&AuthorizeLinkPage { ctx, link: None, error: Some(e.user_message()) }),
    }
}

/// Who starts an authorization and for what; the state is bound to all of it.
pub struct Starter {
    pub purpose: &'static str,
    pub tenant_id: Option<String>,
    pub user_id: String,
    pub session_id: String,
    /// Pins the authorization to this AppID (re-authorization); else `auth_type` applies.
    pub biz_appid: Option<String>,
}

/// Creates a fresh pre_auth_code and a single-use state for it, and returns the state
/// with WeChat's authorization URL — or WeChat's error, for the page to explain.
pub async fn begin_authorization(
    pool: &DbPool,
    platform: &Platform,
    config: &AppConfig,
    starter: Starter,
    auth_type: &str,
) -> Result<Result<(String, String), crate::wechat::client::WechatError>, AppError> {
    let pre_auth_code = match platform.create_preauth_code().await {
        Ok(code) => code,
        Err(e) => return Ok(Err(e)),
    };
    let state = crate::new_id().replace('-', "");
    let link = authorization_url(config, &pre_auth_code, &state, Some(auth_type), starter.biz_appid.as_deref());
    let s = state.clone();
    db::run(pool, move |c| {
        let now = crate::now();
        Ok(store::insert_auth_state(
            c,
            &store::NewAuthState {
                state: &s,
                purpose: starter.purpose,
                tenant_id: starter.tenant_id.as_deref(),
                user_id: &starter.user_id,
                session_id: &starter.session_id,
                pre_auth_code: &pre_auth_code,
                biz_appid: starter.biz_appid.as_deref(),
                created_at: now,
                expires_at: now + STATE_TTL_SECS,
            },
        )?)
    })
    .await?;
    Ok(Ok((state, link)))
}

#[derive(Deserialize)]
pub struct AuthorizedQuery {
    #[serde(default)]
    auth_code: Option<String>,
    #[serde(default)]
    state: Option<String>,
}

#[derive(Template)]
#[template(path = "wechat/authorized.html")]
struct AuthorizedPage {
    ctx: PageCtx,
    ok: bool,
    title_key: String,
    message: String,
    authorizer: Option<store::Authorizer>,
    back: String,
}

/// WeChat's redirect after the administrator authorizes (CONTRACT: `GET /wechat/authorized`).
pub async fn authorized(
    ctx: PageCtx,
    user: CurrentUser,
    session: TypedSession,
    pool: web::Data<DbPool>,
    platform: web::Data<Platform>,
    query: web::Query<AuthorizedQuery>,
) -> Result<HttpResponse, AppError> {
    let refuse = |ctx: PageCtx, key: &str, back: &str| {
        let message = ctx.t(key);
        ok(&AuthorizedPage {
            ctx,
            ok: false,
            title_key: "authorized.refused".into(),
            message,
            authorizer: None,
            back: back.into(),
        })
    };
    let (Some(state), Some(auth_code)) = (query.state.clone(), query.auth_code.clone()) else {
        return refuse(ctx, "authorized.missing", "/");
    };
    let session_id = session.session_id().unwrap_or_default();
    let (uid, sid, st) = (user.0.id.clone(), session_id.clone(), state.clone());
    let (taken, existing) = db::run(&pool, move |c| {
        let taken = store::take_auth_state(c, &st, &sid, crate::now())?.filter(|s| s.user_id == uid);
        // Used already, but by the `authorized` push for this same login: show its outcome.
        let existing = match &taken {
            Some(_) => None,
            None => {
                store::auth_state(c, &st)?.filter(|s| s.session_id == sid && s.user_id == uid && s.used_at.is_some())
            }
        };
        Ok((taken, existing))
    })
    .await?;
    if let Some(done) = existing
        && let Some(tenant_id) = done.tenant_id.clone()
    {
        // The push's background completion may still be running: wait for it (bounded).
        let mut outcome = done.outcome;
        for _ in 0..80 {
            if outcome.is_some() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            let s = done.state.clone();
            outcome = db::run(&pool, move |c| Ok(store::auth_state(c, &s)?.and_then(|s| s.outcome))).await?;
        }
        return ok(&super::mini_program::OutcomePage {
            ctx,
            o: super::mini_program::OutcomeView { tenant_id, outcome },
        });
    }
    let Some(state) = taken else {
        tracing::warn!(user.id = %user.0.id, "authorization callback with a missing, used, expired or foreign state");
        return refuse(ctx, "authorized.bad_state", "/");
    };
    if state.purpose == "tenant" {
        let actor = Actor::user(&user.0.id, &user.0.email);
        let outcome = crate::wechat::binding::complete(&platform, &state, &auth_code, actor).await;
        let tenant_id = state.tenant_id.clone().unwrap_or_default();
        return ok(&super::mini_program::OutcomePage {
            ctx,
            o: super::mini_program::OutcomeView { tenant_id, outcome: Some(outcome) },
        });
    }
    let actor = Actor::user(&user.0.id, &user.0.email);
    let result = platform.complete_authorization(&auth_code, actor).await;
    let (outcome, appid) = match &result {
        Ok(a) => ("authorized".to_string(), Some(a.appid.clone())),
        Err(e) => (format!("error: {}", e.user_message()), None),
    };
    let s = state.state.clone();
    db::run(&pool, move |c| Ok(store::finish_auth_state(c, &s, appid.as_deref(), &outcome)?)).await?;
    match result {
        Ok(authorizer) => {
            let message = ctx.t_with("authorized.platform_done", &[("name", &authorizer.nick_name)]);
            ok(&AuthorizedPage {
                ctx,
                ok: true,
                title_key: "authorized.done".into(),
                message,
                authorizer: Some(authorizer),
                back: "/operator/platform".into(),
            })
        }
        Err(e) => ok(&AuthorizedPage {
            ctx,
            ok: false,
            title_key: "authorized.failed".into(),
            message: e.user_message(),
            authorizer: None,
            back: "/operator/platform".into(),
        }),
    }
}
