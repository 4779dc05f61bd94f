//! The tenant workspace. Every lookup joins on the membership of the signed-in user.

use actix_web::{HttpResponse, web};
use askama::Template;

use crate::auth::{CurrentTenant, CurrentUser};
use crate::db::{self, DbPool, models::Tenant};
use crate::error::AppError;
use crate::views::{PageCtx, ok};

#[derive(Template)]
#[template(path = "workspace/home.html")]
struct HomePage {
    ctx: PageCtx,
    tenant: Tenant,
    members: Vec<(String, String, String)>,
}

pub async fn home(ctx: PageCtx, current: CurrentTenant, pool: web::Data<DbPool>) -> Result<HttpResponse, AppError> {
    let tid = current.tenant.id.clone();
    let members = db::read(&pool, move |c| -> Result<_, AppError> { Ok(db::tenants::members(c, &tid)?) }).await?;
    ok(&HomePage { ctx, tenant: current.tenant, members })
}

pub async fn logo(
    user: CurrentUser,
    pool: web::Data<DbPool>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let uid = user.0.id.clone();
    let tid = path.into_inner();
    let (bytes, mime) = db::run(&pool, move |c| Ok::<_, AppError>(db::tenants::logo_for_member(c, &tid, &uid)?))
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(super::apply::image_response(bytes, &mime))
}
