//! Store Settings → Requirements (SPEC §3.3): the pre-configuration checklist of the
//! tenant's dedicated mini program, checked live, grouped by state, fixed in one click
//! where WeChat allows; and, before authorization, the same items as a guide the tenant
//! confirms one by one on the way to "Upgrade to Company Dedicated Mini Program".
//!
//! Every form works without JavaScript (post, redirect, flash). With HTMX, "Fix" and
//! "Check again" swap the item or the list in place.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::{CurrentTenant, TypedSession};
use crate::config::AppConfig;
use crate::db::{self, DbConn, bindings, models::Tenant, requirements as store};
use crate::domain::requirements::{Item, Problem, Remedy, State};
use crate::error::AppError;
use crate::htmx::Htmx;
use crate::services::platform::Platform;
use crate::services::requirements::{self as service, FixError};
use crate::views::{PageCtx, TenantLoader, TenantPage, ok, see_other};

pub fn page_path(tenant_id: &str) -> String {
    format!("/w/{tenant_id}/store/requirements")
}

/// One item as the page shows it.
pub struct ItemView {
    pub item: Item,
    pub state: State,
    pub problems: Vec<String>,
    pub deadline: Option<i64>,
    pub failure: Option<String>,
    pub remedy: Remedy,
    pub changed_at: i64,
    /// A fix or check just failed: WeChat's sentence, shown in the item.
    pub error: Option<String>,
}

/// The catalog key of an item's text: its title, why it is needed, how to do it by hand.
pub fn item_key(item: Item, part: &str) -> String {
    format!("requirements.item.{}.{part}", item.as_str())
}

impl ItemView {
    pub fn text(&self, part: &str) -> String {
        item_key(self.item, part)
    }

    pub fn after_title(&self) -> String {
        match self.remedy {
            Remedy::After(item) => item_key(item, "title"),
            _ => String::new(),
        }
    }

    pub fn set_key(&self) -> String {
        crate::domain::binding::set_name_key(self.reauthorize_set().unwrap_or_default())
    }

    fn of(ctx: &PageCtx, s: store::Stored) -> Self {
        Self {
            item: s.item,
            state: s.state,
            problems: s.problems.iter().map(|p| problem_text(ctx, p)).collect(),
            deadline: s.deadline,
            failure: s.failure.as_ref().map(|f| ctx.failure(f)),
            remedy: s.remedy,
            changed_at: s.changed_at,
            error: None,
        }
    }

    pub fn key(&self) -> &'static str {
        self.item.as_str()
    }

    pub fn fixable(&self) -> bool {
        self.remedy == Remedy::Fix
    }

    pub fn after(&self) -> Option<&'static str> {
        match self.remedy {
            Remedy::After(item) => Some(item.as_str()),
            _ => None,
        }
    }

    pub fn reauthorize_set(&self) -> Option<i64> {
        match self.remedy {
            Remedy::Reauthorize(set) => Some(set),
            _ => None,
        }
    }

    pub fn by_hand(&self) -> bool {
        self.remedy == Remedy::ByHand
    }
}

fn problem_text(ctx: &PageCtx, p: &Problem) -> String {
    let args: Vec<(&str, &str)> = p.args.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    ctx.t_with(&p.key, &args)
}

/// The items grouped by state, worst first; empty groups left out.
pub struct Group {
    pub state: State,
    pub items: Vec<ItemView>,
}

fn groups(items: Vec<ItemView>) -> Vec<Group> {
    let mut groups: Vec<Group> = State::ALL.iter().map(|s| Group { state: *s, items: Vec::new() }).collect();
    for item in items {
        if let Some(g) = groups.iter_mut().find(|g| g.state == item.state) {
            g.items.push(item);
        }
    }
    groups.retain(|g| !g.items.is_empty());
    groups
}

#[derive(Template)]
#[template(path = "requirements/page.html")]
struct RequirementsPage {
    ctx: PageCtx,
    tenant: Tenant,
    bound: Option<String>,
    groups: Vec<Group>,
    checked_at: Option<i64>,
    due_now: usize,
}

#[derive(Template)]
#[template(path = "requirements/_list.html")]
struct ListFragment {
    ctx: PageCtx,
    tenant: Tenant,
    groups: Vec<Group>,
    checked_at: Option<i64>,
    due_now: usize,
}

#[derive(Template)]
#[template(path = "requirements/_item.html")]
struct ItemFragment {
    ctx: PageCtx,
    tenant: Tenant,
    i: ItemView,
}

/// What the page reads: the active binding's AppID and the stored checklist.
pub struct PageData {
    bound: Option<String>,
    items: Vec<store::Stored>,
    checked_at: Option<i64>,
}

impl TenantLoader for PageData {
    type Params = ();

    fn load(c: &mut DbConn, tenant: &Tenant, (): ()) -> Result<Self, AppError> {
        let bound = bindings::active_for_tenant(c, &tenant.id)?.map(|b| b.appid);
        let (items, checked_at) = store::for_tenant(c, &tenant.id)?;
        Ok(PageData { bound, items, checked_at })
    }
}

pub async fn page(page: TenantPage<PageData>) -> Result<HttpResponse, AppError> {
    let TenantPage { ctx, current, data } = page;
    render_page(ctx, current.tenant, data, None)
}

/// The whole page; `error` is shown inside its item (a refused fix without JavaScript).
fn render_page(
    ctx: PageCtx,
    tenant: Tenant,
    data: PageData,
    error: Option<(Item, String)>,
) -> Result<HttpResponse, AppError> {
    let mut views: Vec<ItemView> = data.items.into_iter().map(|s| ItemView::of(&ctx, s)).collect();
    if let Some((item, text)) = error
        && let Some(v) = views.iter_mut().find(|v| v.item == item)
    {
        v.error = Some(text);
    }
    let due_now = views.iter().filter(|v| v.state == State::DueNow).count();
    ok(&RequirementsPage {
        groups: groups(views),
        ctx,
        tenant,
        bound: data.bound,
        checked_at: data.checked_at,
        due_now,
    })
}

/// "Check again": asks WeChat now (the seven reads run concurrently).
pub async fn check(
    ctx: PageCtx,
    current: CurrentTenant,
    platform: web::Data<Platform>,
    session: TypedSession,
    htmx: Htmx,
) -> Result<HttpResponse, AppError> {
    let tid = current.tenant.id.clone();
    let checked = service::check(&platform, &tid).await.map_err(|e| AppError::Internal(e.into()))?;
    if checked.is_none() {
        session.flash("error", "requirements.not_bound");
        return Ok(see_other(&crate::routes::mini_program::tab_path(&tid)));
    }
    if !htmx.wants_fragment() {
        session.flash("success", "requirements.checked");
        return Ok(see_other(&page_path(&tid)));
    }
    let (items, checked_at) = read_items(&platform, &tid).await?;
    let views: Vec<ItemView> = items.into_iter().map(|s| ItemView::of(&ctx, s)).collect();
    let due_now = views.iter().filter(|v| v.state == State::DueNow).count();
    ok(&ListFragment { groups: groups(views), ctx, tenant: current.tenant, checked_at, due_now })
}

async fn read_items(platform: &Platform, tenant_id: &str) -> Result<(Vec<store::Stored>, Option<i64>), AppError> {
    let tid = tenant_id.to_string();
    db::read(platform.pool(), move |c| -> Result<_, AppError> { Ok(store::for_tenant(c, &tid)?) }).await
}

#[derive(Deserialize)]
pub struct ItemPath {
    #[allow(dead_code)]
    tenant_id: String,
    item: String,
}

/// "Fix": WeChat's write API for one item, then a fresh check. A refusal is shown in the
/// item (HTMX) or as a flash; nothing is recorded as done.
pub async fn fix(
    ctx: PageCtx,
    current: CurrentTenant,
    path: web::Path<ItemPath>,
    platform: web::Data<Platform>,
    config: web::Data<AppConfig>,
    session: TypedSession,
    htmx: Htmx,
) -> Result<HttpResponse, AppError> {
    let item = Item::parse(&path.item).ok_or(AppError::NotFound)?;
    let tid = current.tenant.id.clone();
    let result = service::fix(&platform, &tid, item, current.actor(), &config.public_url).await;
    let error = match result {
        Ok(_) => None,
        Err(FixError::NotBound) => {
            session.flash("error", "requirements.not_bound");
            return Ok(see_other(&crate::routes::mini_program::tab_path(&tid)));
        }
        Err(FixError::ByHand) => Some(ctx.t("requirements.by_hand_only")),
        Err(FixError::Refused(f)) => Some(ctx.failure(&f)),
        Err(FixError::Platform(e)) => return Err(AppError::Internal(e.into())),
    };
    if !htmx.wants_fragment() {
        let Some(error) = error else {
            session.flash("success", "requirements.fixed");
            return Ok(see_other(&format!("{}#req-{}", page_path(&tid), item.as_str())));
        };
        // WeChat's answer is shown in the item, on the page itself (no redirect).
        let tenant = current.tenant.clone();
        let data = db::read(platform.pool(), move |c| PageData::load(c, &tenant, ())).await?;
        return render_page(ctx, current.tenant, data, Some((item, error)));
    }
    let (items, _) = read_items(&platform, &tid).await?;
    let stored = items.into_iter().find(|s| s.item == item).ok_or(AppError::NotFound)?;
    let mut i = ItemView::of(&ctx, stored);
    i.error = error;
    ok(&ItemFragment { ctx, tenant: current.tenant, i })
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    /// "1" confirms, anything else withdraws.
    #[serde(default)]
    confirmed: String,
}

/// Before authorization: the tenant confirms an item as done by hand (saved).
pub async fn confirm(
    ctx: PageCtx,
    current: CurrentTenant,
    path: web::Path<ItemPath>,
    form: web::Form<ConfirmForm>,
    pool: web::Data<db::DbPool>,
    htmx: Htmx,
) -> Result<HttpResponse, AppError> {
    let item = Item::parse(&path.item).ok_or(AppError::NotFound)?;
    let confirmed = form.confirmed == "1";
    let (tid, uid, actor) = (current.tenant.id.clone(), current.user.id.clone(), current.actor());
    let confirmations = db::run(&pool, move |c| -> Result<_, AppError> {
        Ok(db::write_tx(c, |c| {
            let now = crate::now();
            if store::set_confirmation(c, &tid, item, confirmed, &uid, now)? {
                db::audit::write(
                    c,
                    db::audit::Record {
                        actor: &actor,
                        tenant_id: Some(&tid),
                        action: if confirmed { "requirements.confirmed" } else { "requirements.unconfirmed" },
                        subject: &format!("tenant:{tid}:requirements:{}", item.as_str()),
                        before: None::<&()>,
                        after: Some(&serde_json::json!({ "confirmed": confirmed })),
                    },
                    now,
                )?;
            }
            store::confirmations(c, &tid)
        })?)
    })
    .await?;
    if !htmx.wants_fragment() {
        return Ok(see_other(&format!("{}#guide-{}", upgrade_path(&current.tenant.id), item.as_str())));
    }
    let guide = GuideItem::list(&confirmations);
    let (confirmed, total) = (guide.iter().filter(|g| g.confirmed_at.is_some()).count(), guide.len());
    let g = guide.into_iter().find(|g| g.item == item).ok_or(AppError::NotFound)?;
    ok(&GuideItemFragment { ctx, tenant: current.tenant, g, confirmed, total })
}

pub fn upgrade_path(tenant_id: &str) -> String {
    format!("/w/{tenant_id}/store/mini-program/upgrade")
}

/// One item of the guide before authorization.
pub struct GuideItem {
    pub item: Item,
    pub confirmed_at: Option<i64>,
}

impl GuideItem {
    fn list(confirmations: &[(Item, i64)]) -> Vec<GuideItem> {
        Item::ALL
            .into_iter()
            .map(|item| GuideItem {
                item,
                confirmed_at: confirmations.iter().find(|(i, _)| *i == item).map(|(_, at)| *at),
            })
            .collect()
    }

    pub fn key(&self) -> &'static str {
        self.item.as_str()
    }

    pub fn text(&self, part: &str) -> String {
        item_key(self.item, part)
    }
}

#[derive(Template)]
#[template(path = "requirements/upgrade.html")]
struct UpgradePage {
    ctx: PageCtx,
    tenant: Tenant,
    guide: Vec<GuideItem>,
    confirmed: usize,
}

#[derive(Template)]
#[template(path = "requirements/_guide_fragment.html")]
struct GuideItemFragment {
    ctx: PageCtx,
    tenant: Tenant,
    g: GuideItem,
    /// The progress line, swapped out of band.
    confirmed: usize,
    total: usize,
}

/// The guide's data: the confirmations, and whether a binding is already active.
pub struct UpgradeData {
    confirmations: Vec<(Item, i64)>,
    bound: bool,
}

impl TenantLoader for UpgradeData {
    type Params = ();

    fn load(c: &mut DbConn, tenant: &Tenant, (): ()) -> Result<Self, AppError> {
        Ok(UpgradeData {
            confirmations: store::confirmations(c, &tenant.id)?,
            bound: bindings::active_for_tenant(c, &tenant.id)?.is_some(),
        })
    }
}

/// "Upgrade to Company Dedicated Mini Program": the checklist as a guide, then the QR page.
pub async fn upgrade(page: TenantPage<UpgradeData>) -> Result<HttpResponse, AppError> {
    let TenantPage { ctx, current, data } = page;
    if data.bound {
        return Ok(see_other(&page_path(&current.tenant.id)));
    }
    let guide = GuideItem::list(&data.confirmations);
    let confirmed = guide.iter().filter(|g| g.confirmed_at.is_some()).count();
    ok(&UpgradePage { ctx, tenant: current.tenant, guide, confirmed })
}
