//! The tenant workspace. Every lookup joins on the membership of the signed-in user.

use actix_web::{HttpResponse, web};
use askama::Template;

use crate::auth::CurrentUser;
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

/// The tenant if the user is a member, else 404 (the same answer as for a tenant that does not exist).
pub async fn member_tenant(pool: &DbPool, user: &CurrentUser, tenant_id: String) -> Result<Tenant, AppError> {
    let uid = user.0.id.clone();
    db::run(pool, move |c| db::tenants::find_for_member(c, &tenant_id, &uid)?.ok_or(AppError::NotFound)).await
}

pub async fn home(
    mut ctx: PageCtx,
    user: CurrentUser,
    pool: web::Data<DbPool>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let tenant = member_tenant(&pool, &user, path.into_inner()).await?;
    let tid = tenant.id.clone();
    let members = db::run(&pool, move |c| Ok(db::tenants::members(c, &tid)?)).await?;
    ctx.set_workspace(&tenant);
    ok(&HomePage { ctx, tenant, members })
}

pub async fn logo(
    user: CurrentUser,
    pool: web::Data<DbPool>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let uid = user.0.id.clone();
    let tid = path.into_inner();
    let (bytes, mime) =
        db::run(&pool, move |c| Ok(db::tenants::logo_for_member(c, &tid, &uid)?)).await?.ok_or(AppError::NotFound)?;
    Ok(super::apply::image_response(bytes, &mime))
}
