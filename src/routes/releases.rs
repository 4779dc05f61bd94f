//! The Version card on Store Settings → Mini Program (seed 000 §3.1, §3.5): "Pending
//! Update", "Submit Update" with its progress, "Under Review", "Publish Update",
//! "Resubmit", and withdraw, expedite and roll back with their limits. The card is part of
//! the tab and also a fragment the tab polls while something is under way.
//!
//! Every form works without JavaScript (post, redirect, flash); WeChat's refusal is shown
//! on the card itself, on the page re-rendered without a redirect.

use actix_web::{HttpResponse, web};
use askama::Template;

use crate::auth::{CurrentTenant, TypedSession};
use crate::db::{self, DbConn, bindings, models::Tenant, releases as store};
use crate::error::AppError;
use crate::htmx::Htmx;
use crate::services::platform::Platform;
use crate::services::releases::{self as service, ActionError, StartRefusal};
use crate::views::{PageCtx, TenantLoader, TenantPage, ok, see_other};
use crate::wechat::code as api;

use super::mini_program::{TabData, render_tab, tab_path};
use super::version_card::{VersionCard, VersionData};

/// The card alone (the tab polls it while something is under way).
#[derive(Template)]
#[template(path = "mini_program/version_card.html")]
struct CardFragment {
    ctx: PageCtx,
    card: VersionCard,
}

pub struct CardData(Option<VersionData>);

impl TenantLoader for CardData {
    type Params = ();

    fn load(c: &mut DbConn, tenant: &Tenant, (): ()) -> Result<Self, AppError> {
        Ok(Self(VersionData::load(c, &tenant.id)?))
    }
}

/// `GET …/mini-program/version`: the card, for HTMX; a navigation goes to the tab.
pub async fn card(page: TenantPage<CardData>, htmx: Htmx) -> Result<HttpResponse, AppError> {
    let TenantPage { ctx, current, data: CardData(data) } = page;
    let Some(data) = data.filter(|_| htmx.wants_fragment()) else {
        return Ok(see_other(&tab_path(&current.tenant.id)));
    };
    let card = VersionCard::new(&ctx, tab_path(&current.tenant.id), &data, None);
    ok(&CardFragment { ctx, card })
}

/// After an action: success goes back to the tab with a flash; WeChat's refusal is shown
/// on the card, on the tab rendered again.
async fn finish(
    ctx: PageCtx,
    current: CurrentTenant,
    session: TypedSession,
    platform: &Platform,
    result: Result<&'static str, ActionError>,
) -> Result<HttpResponse, AppError> {
    let tid = current.tenant.id.clone();
    let error = match result {
        Ok(flash) => {
            session.flash("success", flash);
            return Ok(see_other(&tab_path(&tid)));
        }
        Err(ActionError::NotBound) => {
            session.flash("error", "requirements.not_bound");
            return Ok(see_other(&tab_path(&tid)));
        }
        Err(ActionError::NotNow) => {
            session.flash("error", "release.not_now");
            return Ok(see_other(&tab_path(&tid)));
        }
        Err(ActionError::LimitReached) => ctx.t("release.withdraw_limit"),
        Err(ActionError::Refused(f)) => ctx.failure(&f),
        Err(ActionError::Platform(e)) => return Err(AppError::Internal(e.into())),
    };
    let tenant = current.tenant.clone();
    let data = db::read(platform.pool(), move |c| TabData::load(c, &tenant, ())).await?;
    render_tab(ctx, current, data, Some(error))
}

/// "Submit Update" and "Resubmit": queues the submission of the latest version.
pub async fn submit(
    current: CurrentTenant,
    session: TypedSession,
    pool: web::Data<db::DbPool>,
) -> Result<HttpResponse, AppError> {
    let (tid, actor) = (current.tenant.id.clone(), current.actor());
    let started = db::run(&pool, move |c| -> Result<_, AppError> {
        Ok(service::start_submission(c, &tid, &actor, crate::now())?)
    })
    .await?;
    let flash = match started {
        Ok(_) => ("success", "release.submit_started"),
        Err(StartRefusal::NotBound) => ("error", "requirements.not_bound"),
        Err(StartRefusal::NoVersion) => ("error", "release.no_version"),
        Err(StartRefusal::Busy { .. } | StartRefusal::UpToDate) => ("error", "release.not_now"),
    };
    session.flash(flash.0, flash.1);
    Ok(see_other(&tab_path(&current.tenant.id)))
}

/// "Publish Update" (and "Resubmit" after a failed release).
pub async fn publish(
    ctx: PageCtx,
    current: CurrentTenant,
    session: TypedSession,
    platform: web::Data<Platform>,
) -> Result<HttpResponse, AppError> {
    let result = service::publish(&platform, &current.tenant.id, &current.actor()).await.map(|_| "release.published");
    finish(ctx, current, session, &platform, result).await
}

pub async fn withdraw(
    ctx: PageCtx,
    current: CurrentTenant,
    session: TypedSession,
    platform: web::Data<Platform>,
) -> Result<HttpResponse, AppError> {
    let result = service::withdraw(&platform, &current.tenant.id, &current.actor()).await.map(|_| "release.withdrawn");
    finish(ctx, current, session, &platform, result).await
}

pub async fn expedite(
    ctx: PageCtx,
    current: CurrentTenant,
    session: TypedSession,
    platform: web::Data<Platform>,
) -> Result<HttpResponse, AppError> {
    let result = service::expedite(&platform, &current.tenant.id, &current.actor()).await.map(|_| "release.expedited");
    finish(ctx, current, session, &platform, result).await
}

pub async fn roll_back(
    ctx: PageCtx,
    current: CurrentTenant,
    session: TypedSession,
    platform: web::Data<Platform>,
) -> Result<HttpResponse, AppError> {
    let result =
        service::roll_back(&platform, &current.tenant.id, &current.actor()).await.map(|_| "release.rolled_back");
    finish(ctx, current, session, &platform, result).await
}

/// "Check status": asks WeChat now instead of waiting for its push.
pub async fn check(
    ctx: PageCtx,
    current: CurrentTenant,
    session: TypedSession,
    platform: web::Data<Platform>,
) -> Result<HttpResponse, AppError> {
    let result = service::check_now(&platform, &current.tenant.id).await.map(|changed| match changed {
        Some(_) => "release.checked_changed",
        None => "release.checked_same",
    });
    finish(ctx, current, session, &platform, result).await
}

/// A rejection screenshot, fetched from WeChat with the mini program's token. Only the
/// media ids of the tenant's own rejection are served (the filter is in SQL).
pub async fn screenshot(
    current: CurrentTenant,
    path: web::Path<(String, String)>,
    platform: web::Data<Platform>,
) -> Result<HttpResponse, AppError> {
    let (_, media_id) = path.into_inner();
    let tid = current.tenant.id.clone();
    let id = media_id.clone();
    let appid = db::run(platform.pool(), move |c| -> Result<_, AppError> {
        let Some(b) = bindings::active_for_tenant(c, &tid)? else { return Ok(None) };
        let row = store::for_tenant(c, &tid, &b.appid)?;
        Ok(row.filter(|r| r.screenshot_ids().contains(&id)).map(|r| r.appid))
    })
    .await?
    .ok_or(AppError::NotFound)?;
    match platform.authorizer_media(&appid, api::GET_MATERIAL, &serde_json::json!({ "media_id": media_id })).await {
        Ok((content_type, bytes)) => Ok(HttpResponse::Ok()
            .content_type(content_type)
            .insert_header(("Cache-Control", "private, max-age=3600"))
            .body(bytes)),
        Err(e) => {
            tracing::warn!(authorizer.appid = %appid, error = %e, "could not fetch a review screenshot");
            Err(AppError::NotFound)
        }
    }
}
