//! The operator's list of tenants: mini program state, requirements due and the last
//! WeChat event, filtered and paged in SQL.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::Operator;
use crate::db::tenants::{OperatorFilter, OperatorRow};
use crate::db::{self, DbPool};
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
    pub due_now: i64,
    pub earliest_deadline: Option<i64>,
    pub last_event: Option<(String, i64)>,
}

impl From<OperatorRow> for TenantRow {
    fn from(r: OperatorRow) -> Self {
        let binding_status = r.binding_status.and_then(|s| BindingStatus::try_from(s).ok());
        Self {
            dedicated: binding_status == Some(BindingStatus::Active),
            id: r.id,
            name: r.name,
            created_at: r.created_at,
            appid: r.appid,
            binding_status,
            due_now: r.due_now,
            earliest_deadline: r.earliest_deadline,
            last_event: r.last_event_kind.zip(r.last_event_at),
        }
    }
}

#[derive(Deserialize)]
pub struct TenantsQuery {
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    blocked: Option<String>,
    #[serde(default)]
    page: Option<i64>,
}

#[derive(Template)]
#[template(path = "operator/tenants.html")]
struct TenantsPage {
    ctx: PageCtx,
    rows: Vec<TenantRow>,
    mode: String,
    q: String,
    blocked: bool,
    page: i64,
    has_next: bool,
}

impl TenantsPage {
    fn page_link(&self, page: i64) -> String {
        let blocked = if self.blocked { "1" } else { "" };
        let filters = [("mode", self.mode.as_str()), ("q", self.q.as_str()), ("blocked", blocked)];
        crate::views::page_link("/operator/tenants", &filters, page)
    }
}

const PAGE_SIZE: i64 = 50;

pub async fn list(
    ctx: PageCtx,
    _op: Operator,
    pool: web::Data<DbPool>,
    query: web::Query<TenantsQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.into_inner();
    let filter = OperatorFilter {
        mode: q.mode.filter(|m| m == "platform" || m == "dedicated").unwrap_or_default(),
        text: q.q.unwrap_or_default().trim().chars().take(100).collect(),
        blocked: q.blocked.is_some_and(|b| !b.is_empty() && b != "0"),
    };
    let page = q.page.unwrap_or(1).clamp(1, 100_000);
    let f = filter.clone();
    let mut rows = db::run(&pool, move |c| {
        Ok::<_, AppError>(db::tenants::operator_page(c, &f, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE)?)
    })
    .await?;
    let has_next = rows.len() as i64 > PAGE_SIZE;
    rows.truncate(PAGE_SIZE as usize);
    ok(&TenantsPage {
        ctx,
        rows: rows.into_iter().map(TenantRow::from).collect(),
        mode: filter.mode,
        q: filter.text,
        blocked: filter.blocked,
        page,
        has_next,
    })
}
