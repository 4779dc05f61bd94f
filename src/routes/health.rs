use actix_web::{HttpResponse, web};
use diesel::connection::SimpleConnection;

use crate::db::{self, DbPool};
use crate::error::AppError;

/// `200 ok` when the database answers a query, 503 otherwise.
pub async fn healthz(pool: web::Data<DbPool>) -> HttpResponse {
    match db::run(&pool, |conn| Ok::<_, AppError>(conn.batch_execute("SELECT 1")?)).await {
        Ok(()) => HttpResponse::Ok().content_type("text/plain; charset=utf-8").body("ok"),
        Err(e) => {
            tracing::warn!(error = ?e, "health check: database does not answer");
            HttpResponse::ServiceUnavailable().content_type("text/plain; charset=utf-8").body("database unavailable")
        }
    }
}
