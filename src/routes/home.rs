use actix_web::{HttpResponse, web};

use crate::auth::MaybeUser;
use crate::db::{self, DbPool};
use crate::error::AppError;
use crate::views::see_other;

/// Sends each person where they work: operators to the review queue, members to their
/// workspace, applicants to their application, everyone else to the login.
pub async fn index(user: MaybeUser, pool: web::Data<DbPool>) -> Result<HttpResponse, AppError> {
    let Some(user) = user.0 else {
        return Ok(see_other("/login"));
    };
    if user.is_operator {
        return Ok(see_other("/operator/applications"));
    }
    landing_for(&pool, user.id).await.map(|to| see_other(&to))
}

/// Where a signed-in (non-operator) user lands.
pub async fn landing_for(pool: &DbPool, user_id: String) -> Result<String, AppError> {
    let tenants = db::run(pool, move |c| Ok::<_, AppError>(db::tenants::list_for_member(c, &user_id)?)).await?;
    Ok(match tenants.first() {
        Some(t) => format!("/w/{}", t.id),
        None => "/apply".to_string(),
    })
}
