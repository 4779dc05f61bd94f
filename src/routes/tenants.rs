//! The operator's list of tenants with their mini program state.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::Operator;
use crate::db::{self, DbPool, bindings, platform as store};
use crate::domain::binding::BindingStatus;
use crate::error::AppError;
use crate::views::{PageCtx, ok};

pub struct TenantRow {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub dedicated: bool,
    pub appid: Option<String>,
    pub binding_status: Option<BindingStatus>,
    pub last_event: Option<(String, i64)>,
}

#[derive(Deserialize)]
pub struct TenantsQuery {
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    q: Option<String>,
}

#[derive(Template)]
#[template(path = "operator/tenants.html")]
struct TenantsPage {
    ctx: PageCtx,
    rows: Vec<TenantRow>,
    mode: String,
    q: String,
}

pub async fn list(
    ctx: PageCtx,
    _op: Operator,
    pool: web::Data<DbPool>,
    query: web::Query<TenantsQuery>,
) -> Result<HttpResponse, AppError> {
    let mode = query.mode.clone().filter(|m| m == "platform" || m == "dedicated").unwrap_or_default();
    let q = query.q.clone().unwrap_or_default().trim().to_string();
    let (m, needle) = (mode.clone(), q.to_lowercase());
    let rows = db::run(&pool, move |c| -> Result<_, AppError> {
        let tenants = db::tenants::list_all(c)?;
        let latest = bindings::all_latest(c)?;
        let events = store::recent_events(c, 500)?;
        let mut rows = Vec::new();
        for t in tenants {
            let binding = latest.iter().find(|b| b.tenant_id == t.id);
            let appid = binding.map(|b| b.appid.clone());
            let dedicated = binding.is_some_and(|b| b.status == BindingStatus::Active);
            let last_event = appid.as_ref().and_then(|a| {
                events
                    .iter()
                    .find(|e| e.authorizer_appid.as_deref() == Some(a.as_str()))
                    .map(|e| (e.info_type.clone(), e.received_at))
            });
            let row = TenantRow {
                id: t.id.clone(),
                name: t.name.clone(),
                created_at: t.created_at,
                dedicated,
                appid,
                binding_status: binding.map(|b| b.status),
                last_event,
            };
            let mode_ok = match m.as_str() {
                "platform" => !row.dedicated,
                "dedicated" => row.dedicated,
                _ => true,
            };
            let text_ok = needle.is_empty()
                || row.name.to_lowercase().contains(&needle)
                || row.appid.as_deref().is_some_and(|a| a.to_lowercase().contains(&needle));
            if mode_ok && text_ok {
                rows.push(row);
            }
        }
        Ok(rows)
    })
    .await?;
    ok(&TenantsPage { ctx, rows, mode, q })
}
