use actix_web::{HttpResponse, web};
use diesel::connection::SimpleConnection;

use crate::db::{self, DbPool};
use crate::error::AppError;
use crate::worker::Heartbeat;

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

/// `200 ready` when the database answers and the job worker is alive (its heartbeat is
/// recent); 503 with the reason otherwise, so a load balancer takes the instance out while
/// it starts, stops or has a stuck worker.
pub async fn readyz(pool: web::Data<DbPool>, heartbeat: web::Data<Heartbeat>) -> HttpResponse {
    let unavailable =
        |reason: String| HttpResponse::ServiceUnavailable().content_type("text/plain; charset=utf-8").body(reason);
    if let Err(e) = db::run(&pool, |conn| Ok::<_, AppError>(conn.batch_execute("SELECT 1")?)).await {
        tracing::warn!(error = ?e, "readiness check: database does not answer");
        return unavailable("database unavailable".into());
    }
    match heartbeat.check(std::time::SystemTime::now()) {
        Ok(()) => HttpResponse::Ok().content_type("text/plain; charset=utf-8").body("ready"),
        Err(reason) => {
            tracing::warn!(%reason, "readiness check: the job worker is not alive");
            unavailable(reason)
        }
    }
}
