//! Starting a tenant's WeChat authorization and finding where it stands, shared by the
//! Mini Program tab (`auth_type=2`) and the Official Account tab (`auth_type=1`). What
//! differs between the two is data (`Target`): the tab's address, which account kind
//! WeChat may show, the page's words and where the bound AppID is read. What each tab
//! makes of the outcome stays in its own module, since the outcomes differ.

use actix_web::HttpResponse;
use askama::Template;

use crate::auth::{CurrentTenant, TypedSession};
use crate::config::AppConfig;
use crate::db::{self, DbConn, DbPool, platform as store};
use crate::domain::binding::AuthPurpose;
use crate::error::AppError;
use crate::services::authorization::{self, Starter};
use crate::services::platform::Platform;
use crate::views::{PageCtx, ok, qr_svg, see_other};
use crate::wechat::urls::AuthType;

/// One kind of account a tenant authorizes.
pub struct Target {
    /// The tab below the workspace, e.g. `store/mini-program`.
    pub section: &'static str,
    pub purpose: AuthPurpose,
    pub auth_type: AuthType,
    /// Catalog keys of the page's words.
    pub tab_title: &'static str,
    pub title: &'static str,
    pub scan_heading: &'static str,
    pub notes: &'static [&'static str],
    /// Said as well when re-authorizing: the same AppID must be chosen.
    pub same_appid_note: &'static str,
    pub question: &'static str,
    pub question_hint: Option<&'static str>,
    /// The AppID bound to the tenant now; a re-authorization is pinned to it (`biz_appid`).
    pub bound_appid: fn(&mut DbConn, &str) -> diesel::QueryResult<Option<String>>,
}

impl Target {
    fn tab(&self, tenant_id: &str) -> String {
        format!("/w/{tenant_id}/{}", self.section)
    }
}

#[derive(Template)]
#[template(path = "authorize.html")]
struct AuthorizePage {
    ctx: PageCtx,
    /// The tab's address; the page's forms and the polled status are below it.
    tab: String,
    tab_title: String,
    title: String,
    scan_heading: String,
    notes: Vec<String>,
    question: String,
    question_hint: Option<String>,
    started: Option<authorization::Started>,
    qr_svg: String,
    reauthorize: bool,
    error: Option<String>,
}

/// "Upgrade…"/"Authorize…" (`reauthorize` false, nothing bound yet) or "Reauthorize"
/// (something bound): a fresh single-use `state` for this login, and the page with the QR
/// code and the link. Asked in the other situation, it goes back to the tab.
pub async fn start(
    target: &Target,
    ctx: PageCtx,
    current: CurrentTenant,
    session: TypedSession,
    platform: &Platform,
    config: &AppConfig,
    reauthorize: bool,
) -> Result<HttpResponse, AppError> {
    let tid = current.tenant.id.clone();
    let read_bound = target.bound_appid;
    let pinned = db::run(platform.pool(), move |c| -> Result<_, AppError> { Ok(read_bound(c, &tid)?) }).await?;
    let tab = target.tab(&current.tenant.id);
    if reauthorize != pinned.is_some() {
        return Ok(see_other(&tab));
    }
    let starter = Starter {
        purpose: target.purpose,
        tenant_id: Some(current.tenant.id.clone()),
        user_id: current.user.id.clone(),
        session_id: session.session_id().ok_or(AppError::LoginRequired)?,
        biz_appid: pinned,
    };
    let result =
        authorization::begin(platform, &config.public_url, &config.wechat_mp_base, starter, target.auth_type).await;
    let (started, error) = match result {
        Ok(started) => (Some(started), None),
        Err(e) => {
            tracing::warn!(tenant.id = %current.tenant.id, purpose = ?target.purpose, error = %e, "starting an authorization failed");
            (None, Some(ctx.failure(&e.failure())))
        }
    };
    let mut notes: Vec<String> = target.notes.iter().map(|k| ctx.t(k)).collect();
    if reauthorize {
        notes.push(ctx.t(target.same_appid_note));
    }
    ok(&AuthorizePage {
        tab,
        tab_title: ctx.t(target.tab_title),
        title: ctx.t(target.title),
        scan_heading: ctx.t(target.scan_heading),
        notes,
        question: ctx.t(target.question),
        question_hint: target.question_hint.map(|k| ctx.t(k)),
        qr_svg: started.as_ref().map(|s| qr_svg(&s.link)).unwrap_or_default(),
        started,
        reauthorize,
        error,
        ctx,
    })
}

/// The authorization `state` of this login, this tenant and this kind, or 404: another
/// login's (or another workspace's) authorization is not found here.
pub async fn own_state(
    target: &Target,
    pool: &DbPool,
    current: &CurrentTenant,
    session: &TypedSession,
    state: &str,
) -> Result<store::AuthState, AppError> {
    let (sid, st, tid, purpose) =
        (session.session_id().unwrap_or_default(), state.to_string(), current.tenant.id.clone(), target.purpose);
    db::run(pool, move |c| -> Result<_, AppError> {
        Ok(store::auth_state(c, &st)?
            .filter(|s| s.session_id == sid && s.tenant_id.as_deref() == Some(tid.as_str()) && s.purpose == purpose))
    })
    .await?
    .ok_or(AppError::NotFound)
}
