//! Store Settings → Mini Program tab (seed 000 §1, §3): the shared platform mini
//! program, the upgrade to a dedicated one, and the bound mini program's actions.

use actix_web::{HttpResponse, web};
use askama::Template;

use crate::auth::{CurrentUser, TypedSession};
use crate::config::AppConfig;
use crate::db::{self, DbPool, audit::Actor, bindings, models::Tenant, platform as store};
use crate::domain::binding as rules;
use crate::error::AppError;
use crate::views::{PageCtx, ok, see_other};
use crate::wechat::platform::Platform;

use super::platform::{Starter, begin_authorization};
use super::workspace::member_tenant;

/// The platform mini program every store starts on (operator configuration).
pub struct SharedProgram {
    pub name: String,
    pub short_name: String,
    pub icon: String,
}

pub struct SetView {
    pub id: i64,
    pub name: String,
}

#[derive(Template)]
#[template(path = "mini_program/tab.html")]
struct TabPage {
    ctx: PageCtx,
    tenant: Tenant,
    shared: SharedProgram,
    binding: Option<bindings::Binding>,
    authorizer: Option<store::Authorizer>,
    granted: Vec<SetView>,
    missing: Vec<SetView>,
}

impl TabPage {
    fn active(&self) -> bool {
        self.binding.as_ref().is_some_and(|b| b.status == "active")
    }
    fn base(&self) -> String {
        format!("/w/{}/store/mini-program", self.tenant.id)
    }
}

fn set_views(ctx: &PageCtx, ids: &[i64]) -> Vec<SetView> {
    ids.iter().map(|id| SetView { id: *id, name: ctx.t(&rules::set_name_key(*id)) }).collect()
}

pub async fn tab(
    mut ctx: PageCtx,
    user: CurrentUser,
    pool: web::Data<DbPool>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let tenant = member_tenant(&pool, &user, path.into_inner()).await?;
    let tid = tenant.id.clone();
    let (shared, binding, authorizer, required) = db::run(&pool, move |c| {
        let shared = SharedProgram {
            name: bindings::setting(c, bindings::SHARED_NAME)?,
            short_name: bindings::setting(c, bindings::SHARED_SHORT_NAME)?,
            icon: bindings::setting(c, bindings::SHARED_ICON)?,
        };
        let binding = bindings::latest_for_tenant(c, &tid)?;
        let authorizer = match &binding {
            Some(b) => store::authorizer(c, &b.appid)?,
            None => None,
        };
        let required = rules::parse_ids(&bindings::setting(c, bindings::REQUIRED_SETS)?);
        Ok((shared, binding, authorizer, required))
    })
    .await?;
    let granted_ids = authorizer.as_ref().map(|a| a.func_id_list()).unwrap_or_default();
    let missing_ids: Vec<i64> = required.iter().copied().filter(|id| !granted_ids.contains(id)).collect();
    let (granted, missing) = (set_views(&ctx, &granted_ids), set_views(&ctx, &missing_ids));
    ctx.set_workspace(&tenant);
    ok(&TabPage { ctx, tenant, shared, binding, authorizer, granted, missing })
}

#[derive(Template)]
#[template(path = "mini_program/authorize.html")]
struct AuthorizePage {
    ctx: PageCtx,
    tenant: Tenant,
    qr_svg: String,
    link: String,
    mobile_link: String,
    state: String,
    reauthorize: bool,
    error: Option<String>,
}

/// The mobile form of the authorization link (reference §1.6).
fn mobile_url(config: &AppConfig, pc_url: &str) -> String {
    let query = pc_url.split_once('?').map(|(_, q)| q).unwrap_or_default();
    format!("{}/safe/bindcomponent?action=bindcomponent&no_scan=1&{query}#wechat_redirect", config.wechat_mp_base)
}

fn qr_svg(data: &str) -> String {
    match qrcode::QrCode::new(data.as_bytes()) {
        Ok(code) => code.render::<qrcode::render::svg::Color<'_>>().min_dimensions(220, 220).quiet_zone(true).build(),
        Err(_) => String::new(),
    }
}

#[expect(clippy::too_many_arguments, reason = "the two handlers pass their extractors straight through")]
async fn start_authorization(
    mut ctx: PageCtx,
    user: CurrentUser,
    session: TypedSession,
    pool: &DbPool,
    platform: &Platform,
    config: &AppConfig,
    tenant_id: String,
    reauthorize: bool,
) -> Result<HttpResponse, AppError> {
    let tenant = member_tenant(pool, &user, tenant_id).await?;
    ctx.set_workspace(&tenant);
    let tid = tenant.id.clone();
    let pinned = db::run(pool, move |c| Ok(bindings::active_for_tenant(c, &tid)?)).await?.map(|b| b.appid);
    if reauthorize && pinned.is_none() {
        return Ok(see_other(&format!("/w/{}/store/mini-program", tenant.id)));
    }
    if !reauthorize && pinned.is_some() {
        return Ok(see_other(&format!("/w/{}/store/mini-program", tenant.id)));
    }
    let empty = |ctx, tenant, error| AuthorizePage {
        ctx,
        tenant,
        qr_svg: String::new(),
        link: String::new(),
        mobile_link: String::new(),
        state: String::new(),
        reauthorize,
        error: Some(error),
    };
    let starter = Starter {
        purpose: "tenant",
        tenant_id: Some(tenant.id.clone()),
        user_id: user.0.id.clone(),
        session_id: session.session_id().ok_or(AppError::LoginRequired)?,
        biz_appid: pinned,
    };
    // Mini programs only (auth_type 2); a re-authorization is pinned to the bound AppID.
    let (state, link) = match begin_authorization(pool, platform, config, starter, "2").await? {
        Ok(started) => started,
        Err(e) => return ok(&empty(ctx, tenant, e.user_message())),
    };
    let page = AuthorizePage {
        qr_svg: qr_svg(&link),
        mobile_link: mobile_url(config, &link),
        link,
        state,
        reauthorize,
        error: None,
        ctx,
        tenant,
    };
    ok(&page)
}

pub async fn authorize(
    ctx: PageCtx,
    user: CurrentUser,
    session: TypedSession,
    pool: web::Data<DbPool>,
    platform: web::Data<Platform>,
    config: web::Data<AppConfig>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    start_authorization(ctx, user, session, &pool, &platform, &config, path.into_inner(), false).await
}

pub async fn reauthorize(
    ctx: PageCtx,
    user: CurrentUser,
    session: TypedSession,
    pool: web::Data<DbPool>,
    platform: web::Data<Platform>,
    config: web::Data<AppConfig>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    start_authorization(ctx, user, session, &pool, &platform, &config, path.into_inner(), true).await
}

/// Where a tenant's authorization stands, for the result page and the polled fragment.
pub struct OutcomeView {
    pub tenant_id: String,
    /// None while WeChat has not sent the administrator back yet.
    pub outcome: Option<String>,
}

impl OutcomeView {
    fn is_bound(&self) -> bool {
        self.outcome.as_deref().is_some_and(|o| o.starts_with("bound"))
    }
    fn code(&self) -> &str {
        let o = self.outcome.as_deref().unwrap_or("pending");
        o.split(':').next().unwrap_or(o)
    }
    /// The sets named in a "missing:30,40" outcome, in words.
    fn missing_sets(&self, ctx: &PageCtx) -> Vec<String> {
        let ids =
            self.outcome.as_deref().and_then(|o| o.strip_prefix("missing:")).map(rules::parse_ids).unwrap_or_default();
        ids.into_iter().map(|id| format!("{} ({id})", ctx.t(&rules::set_name_key(id)))).collect()
    }
    fn error_text(&self) -> &str {
        self.outcome.as_deref().and_then(|o| o.strip_prefix("error:")).unwrap_or_default()
    }
    fn tab(&self) -> String {
        format!("/w/{}/store/mini-program", self.tenant_id)
    }
}

#[derive(Template)]
#[template(path = "mini_program/outcome.html")]
pub struct OutcomePage {
    pub ctx: PageCtx,
    pub o: OutcomeView,
}

#[derive(Template)]
#[template(path = "mini_program/_outcome_body.html")]
struct OutcomeFragment {
    ctx: PageCtx,
    o: OutcomeView,
}

/// "Authorized": shows where the authorization stands (also polled by HTMX).
pub async fn status(
    mut ctx: PageCtx,
    user: CurrentUser,
    session: TypedSession,
    pool: web::Data<DbPool>,
    path: web::Path<(String, String)>,
    req: actix_web::HttpRequest,
) -> Result<HttpResponse, AppError> {
    let (tenant_id, state) = path.into_inner();
    let tenant = member_tenant(&pool, &user, tenant_id).await?;
    ctx.set_workspace(&tenant);
    let (sid, st, tid) = (session.session_id().unwrap_or_default(), state.clone(), tenant.id.clone());
    let found = db::run(&pool, move |c| {
        Ok(store::auth_state(c, &st)?.filter(|s| s.session_id == sid && s.tenant_id.as_deref() == Some(tid.as_str())))
    })
    .await?
    .ok_or(AppError::NotFound)?;
    let o = OutcomeView { tenant_id: tenant.id, outcome: found.outcome };
    if req.headers().contains_key("HX-Request") {
        return ok(&OutcomeFragment { ctx, o });
    }
    ok(&OutcomePage { ctx, o })
}

pub async fn unbind(
    user: CurrentUser,
    session: TypedSession,
    pool: web::Data<DbPool>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let tenant = member_tenant(&pool, &user, path.into_inner()).await?;
    let (tid, actor) = (tenant.id.clone(), Actor::user(&user.0.id, &user.0.email));
    let ended = db::run(&pool, move |c| {
        let now = crate::now();
        db::write_tx(c, |c| {
            let Some(before) = bindings::active_for_tenant(c, &tid)? else { return Ok(false) };
            bindings::end_for_tenant(c, &tid, "unbound", now)?;
            db::audit::write(
                c,
                db::audit::Record {
                    actor: &actor,
                    tenant_id: Some(&tid),
                    action: "mini_program.unbound",
                    subject: &format!("tenant:{tid}:mini_program"),
                    before: Some(&serde_json::json!({ "appid": before.appid, "status": "active" })),
                    after: Some(&serde_json::json!({ "appid": before.appid, "status": "unbound" })),
                },
                now,
            )?;
            Ok::<_, AppError>(true)
        })
    })
    .await?;
    if ended {
        session.flash("success", "mini_program.unbound_flash");
    }
    Ok(see_other(&format!("/w/{}/store/mini-program", tenant.id)))
}

/// Fetches the bound mini program's details again from WeChat.
pub async fn refresh(
    user: CurrentUser,
    session: TypedSession,
    pool: web::Data<DbPool>,
    platform: web::Data<Platform>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let tenant = member_tenant(&pool, &user, path.into_inner()).await?;
    let tid = tenant.id.clone();
    if let Some(b) = db::run(&pool, move |c| Ok(bindings::active_for_tenant(c, &tid)?)).await? {
        match platform.sync_authorizer(&b.appid).await {
            Ok(_) => session.flash("success", "mini_program.refreshed"),
            Err(e) => {
                tracing::warn!(tenant.id = %tenant.id, error = %e, "refreshing the mini program failed");
                session.flash("error", "mini_program.refresh_failed");
            }
        }
    }
    Ok(see_other(&format!("/w/{}/store/mini-program", tenant.id)))
}
