//! The tenant workspace. Every lookup joins on the membership of the signed-in user.

use actix_web::{HttpResponse, web};
use askama::Template;

use crate::auth::CurrentUser;
use crate::db::{self, DbConn, DbPool, bindings, models::Tenant, requirements};
use crate::domain::requirements::State;
use crate::domain::setup::{self, Standing, Step};
use crate::error::AppError;
use crate::views::{PageCtx, TenantLoader, TenantPage, ok};

#[derive(Template)]
#[template(path = "workspace/home.html")]
struct HomePage {
    ctx: PageCtx,
    tenant: Tenant,
    members: Vec<(String, String, String)>,
    steps: Vec<(Step, bool)>,
    next: Option<Step>,
    standing: Standing,
}

impl HomePage {
    fn done_count(&self) -> usize {
        self.steps.iter().filter(|(_, done)| *done).count()
    }

    /// Where a step's button leads.
    fn link(&self, step: &Step) -> String {
        let t = &self.tenant.id;
        match (step, self.standing.first_due) {
            (Step::Requirements, Some(item)) => format!("/w/{t}/store/requirements#req-{}", item.as_str()),
            (Step::Requirements, None) => format!("/w/{t}/store/requirements"),
            (Step::Prepare | Step::Authorize, _) => format!("/w/{t}/store/mini-program/upgrade"),
            (Step::Approved, _) => format!("/w/{t}"),
            (Step::Payments, _) => format!("/w/{t}/wallet"),
            (Step::OnlinePayment, _) => format!("/w/{t}/sales/settings"),
        }
    }

    fn title_key(&self, step: &Step) -> String {
        format!("setup.{}.title", step.as_str())
    }

    fn text_key(&self, step: &Step) -> String {
        format!("setup.{}.text", step.as_str())
    }
}

/// The home page's data: members and where the setup stands.
pub struct HomeData {
    members: Vec<(String, String, String)>,
    standing: Standing,
}

impl TenantLoader for HomeData {
    type Params = ();

    fn load(c: &mut DbConn, tenant: &Tenant, (): ()) -> Result<Self, AppError> {
        let members = db::tenants::members(c, &tenant.id)?;
        let bound = bindings::active_for_tenant(c, &tenant.id)?.is_some();
        let (items, checked_at) = requirements::for_tenant(c, &tenant.id)?;
        let due: Vec<_> = items.iter().filter(|i| i.state == State::DueNow).collect();
        let standing = Standing {
            confirmed: requirements::confirmations(c, &tenant.id)?.len(),
            bound,
            checked: checked_at.is_some(),
            due_now: due.len(),
            first_due: due.first().map(|i| i.item),
            earliest_deadline: items.iter().filter_map(|i| i.deadline).min(),
            merchant_open: db::wallet::current_application(c, &tenant.id)?.is_some_and(|a| a.state == "finished"),
            self_tested: db::wallet::latest_self_test(c, &tenant.id, "wechatpay")?
                .is_some_and(|p| p.state == "refunded"),
            online_enabled: db::commerce::settings(c, &tenant.id)?.online_enabled,
        };
        Ok(HomeData { members, standing })
    }
}

pub async fn home(page: TenantPage<HomeData>) -> Result<HttpResponse, AppError> {
    let TenantPage { ctx, current, data: HomeData { members, standing } } = page;
    let (steps, next) = (setup::steps(&standing), setup::next(&standing));
    ok(&HomePage { ctx, tenant: current.tenant, members, steps, next, standing })
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
