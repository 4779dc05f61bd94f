//! Live selling (SPEC §3.7, seed 003): the capability banner from the operator's
//! register; for a tenant whose mini program is on the custom trade component, the
//! tracker of the four parts and seventeen steps; for every other tenant, the WeChat Shop
//! path and never an offer to apply. And the operator's capability register (SPEC §3.8).
//!
//! Every form works without JavaScript (post, redirect, flash); a refusal re-renders the
//! page with the sentence on top (409), an invalid field beside the field (422).

use std::collections::HashMap;

use actix_web::{HttpResponse, http::StatusCode, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::{CurrentTenant, Operator, TypedSession};
use crate::db::live_selling::{self as store, CapabilityRow, World};
use crate::db::{self, DbConn, audit::Actor, bindings, models::Tenant};
use crate::domain::failure::Failure;
use crate::domain::live_selling::{
    Capability, CapabilityForm, CategoryOption, ItemKind, ItemStatus, OrderStage, Section, Step, StepState,
    may_apply_scene, track,
};
use crate::error::AppError;
use crate::services::live_selling::{self as service, Action, ActionError};
use crate::services::platform::Platform;
use crate::views::{FormErrors, PageCtx, TenantLoader, TenantPage, render, see_other};
use crate::wechat::shop::SHOP_LIST_SET;

pub fn page_path(tenant_id: &str) -> String {
    format!("/w/{tenant_id}/live-selling")
}

const OPERATOR_PATH: &str = "/operator/capabilities";

/// One capability as the banner shows it.
pub struct CapabilityView {
    pub key: &'static str,
    pub status: &'static str,
    pub since: String,
    pub note: String,
}

impl CapabilityView {
    fn of(r: &CapabilityRow) -> Self {
        Self { key: r.key.as_str(), status: r.status.as_str(), since: r.since.clone(), note: r.note.clone() }
    }

    pub fn name_key(&self) -> String {
        format!("capability.{}.name", self.key)
    }

    pub fn status_key(&self) -> String {
        format!("capability.status.{}", self.status)
    }

    pub fn meaning_key(&self) -> String {
        format!("capability.{}.meaning.{}", self.key, self.status)
    }
}

/// A submission as shown.
pub struct ItemView {
    pub id: String,
    pub label: String,
    pub status: &'static str,
    pub reason: String,
    pub stage: Option<&'static str>,
    /// The next call an order needs (catalog key of its button), when there is one.
    pub next: Option<&'static str>,
    /// The next call is a delivery: the express company is chosen first.
    pub needs_company: bool,
    /// A rejected product: it can be corrected and resubmitted.
    pub resubmit: bool,
}

impl ItemView {
    fn of(i: &store::Item) -> Self {
        let next = match (i.kind, i.stage) {
            (ItemKind::Order, Some(OrderStage::Created)) if i.scene => Some("live.next.payment_params"),
            (ItemKind::Order, Some(OrderStage::Created | OrderStage::PaymentParams)) => Some("live.next.pay"),
            (ItemKind::Order, Some(OrderStage::Paid)) => Some("live.next.ship"),
            (ItemKind::Order, Some(OrderStage::Shipped)) => Some("live.next.receive"),
            (ItemKind::Order, Some(OrderStage::Received)) => Some("live.next.aftersale"),
            _ => None,
        };
        Self {
            id: i.id.clone(),
            label: i.label.clone(),
            status: i.status.as_str(),
            reason: i.reason.clone(),
            stage: i.stage.map(OrderStage::as_str),
            next,
            needs_company: i.stage == Some(OrderStage::Paid),
            resubmit: i.kind == ItemKind::Product && i.status == ItemStatus::Failed,
        }
    }

    pub fn status_key(&self) -> String {
        format!("live.item.{}", self.status)
    }

    pub fn stage_key(&self) -> String {
        self.stage.map(|s| format!("live.stage.{s}")).unwrap_or_default()
    }
}

/// One step of the tracker as shown.
pub struct StepView {
    pub key: &'static str,
    pub number: &'static str,
    pub part: u8,
    pub actor: &'static str,
    pub api: &'static str,
    pub state: &'static str,
    pub reason: String,
    pub note: bool,
    pub section: Section,
    /// `finish_access_info` may be sent for it now.
    pub finish: bool,
    pub items: Vec<ItemView>,
}

impl StepView {
    pub fn text(&self, part: &str) -> String {
        format!("live.step.{}.{part}", self.key)
    }

    pub fn state_key(&self) -> String {
        format!("live.state.{}", self.state)
    }

    pub fn actor_key(&self) -> String {
        format!("live.actor.{}", self.actor)
    }

    pub fn part_key(&self) -> String {
        format!("live.part.{}", self.part)
    }

    pub fn starts_part(&self) -> bool {
        matches!(self.key, "apply" | "develop" | "scene_apply" | "scene_order")
    }

    pub fn qualifications(&self) -> bool {
        self.section == Section::Qualifications
    }

    pub fn products(&self) -> bool {
        self.section == Section::Products
    }

    pub fn test_orders(&self) -> bool {
        self.section == Section::TestOrders
    }

    pub fn scene_orders(&self) -> bool {
        self.section == Section::SceneOrders
    }

    pub fn scene_apply(&self) -> bool {
        self.section == Section::SceneApply
    }
}

/// What the form fields held (kept on a 422).
#[derive(Default)]
pub struct Input {
    pub brand_wording: String,
    pub title: String,
    pub third_cat_id: String,
    pub openid: String,
    pub name: String,
    /// The action whose form was posted (its fields keep what was typed).
    pub form: String,
    /// The item a correction was posted for (its form shows the title and the error).
    pub item: String,
}

/// A sharer or promoter as listed.
pub struct PersonView {
    pub id: String,
    pub openid: String,
    pub name: String,
    pub status: String,
    pub bound_at: Option<i64>,
    /// Can be unbound or removed now (the rules may still refuse it).
    pub active: bool,
}

impl PersonView {
    fn of(p: &store::Person) -> Self {
        Self {
            id: p.id.clone(),
            openid: p.openid.clone(),
            name: p.name.clone(),
            status: p.status.clone(),
            bound_at: p.bound_at,
            active: matches!(p.status.as_str(), "inviting" | "bound"),
        }
    }

    pub fn status_key(&self) -> String {
        format!("live.people.status.{}", self.status)
    }
}

/// What the page reads, in one trip.
pub struct PageData {
    capabilities: Vec<CapabilityRow>,
    appid: Option<String>,
    snapshot: Option<store::Snapshot>,
    items: Vec<store::Item>,
    people: Vec<store::Person>,
}

impl TenantLoader for PageData {
    type Params = ();

    fn load(c: &mut DbConn, tenant: &Tenant, (): ()) -> Result<Self, AppError> {
        load(c, &tenant.id)
    }
}

fn load(c: &mut DbConn, tenant_id: &str) -> Result<PageData, AppError> {
    let capabilities = store::capabilities(c)?;
    let appid = bindings::active_for_tenant(c, tenant_id)?.map(|b| b.appid);
    let (snapshot, items, people) = match &appid {
        Some(a) => (
            store::snapshot(c, tenant_id)?.filter(|s| &s.appid == a),
            store::items(c, tenant_id, a)?,
            store::people(c, tenant_id, a)?,
        ),
        None => (None, Vec::new(), Vec::new()),
    };
    Ok(PageData { capabilities, appid, snapshot, items, people })
}

#[derive(Template)]
#[template(path = "live_selling/page.html")]
struct LivePage {
    ctx: PageCtx,
    tenant: Tenant,
    capabilities: Vec<CapabilityView>,
    appid: Option<String>,
    /// "legacy", "shop", "unknown", or "" when never checked.
    world: &'static str,
    checked_at: Option<i64>,
    failure: Option<String>,
    /// WeChat refused the shop list for want of permission set 185.
    missing_set: Option<i64>,
    shops: Vec<String>,
    steps: Vec<StepView>,
    done: usize,
    companies: Vec<(String, String)>,
    categories: Vec<CategoryOption>,
    error: Option<String>,
    errors: FormErrors,
    input: Input,
    sharers: Vec<PersonView>,
    promoters: Vec<PersonView>,
}

impl LivePage {
    fn new(ctx: PageCtx, tenant: Tenant, data: PageData) -> Self {
        let capabilities = data.capabilities.iter().map(CapabilityView::of).collect();
        let (world, checked_at) = match &data.snapshot {
            Some(s) => (s.world.as_str(), Some(s.checked_at)),
            None => ("", None),
        };
        let mut page = Self {
            ctx,
            tenant,
            capabilities,
            appid: data.appid,
            world,
            checked_at,
            failure: None,
            missing_set: None,
            shops: Vec::new(),
            steps: Vec::new(),
            done: 0,
            companies: Vec::new(),
            categories: Vec::new(),
            error: None,
            errors: FormErrors::default(),
            input: Input::default(),
            sharers: Vec::new(),
            promoters: Vec::new(),
        };
        let Some(snap) = data.snapshot else { return page };
        if let Some(f) = snap.failure {
            if f == Failure::Errcode(61007) && snap.world == World::Shop {
                page.missing_set = Some(SHOP_LIST_SET);
            }
            page.failure = Some(page.ctx.failure(&f));
        }
        page.shops = snap.reading.shops.clone();
        if snap.world == World::Legacy {
            let submitted: Vec<_> = data.items.iter().map(store::Item::submitted).collect();
            let tracked = track(&snap.reading, &submitted);
            let a = &snap.reading.access_info;
            let success_for = |step: Step| match step {
                Step::Products => a.spu_audit_success == 1,
                Step::Orders => a.ec_order_success == 1,
                Step::Delivery => a.send_delivery_success == 1,
                Step::AfterSales => a.ec_after_sale_success == 1,
                _ => true,
            };
            let scene_apply = may_apply_scene(&snap.reading);
            page.done = tracked.iter().filter(|(_, s)| *s == StepState::Done).count();
            page.steps = tracked
                .into_iter()
                .map(|(step, state)| {
                    let section = Section::of(step);
                    let items =
                        data.items.iter().filter(|i| section.shows(i.kind, i.scene)).map(ItemView::of).collect();
                    let reason = match &state {
                        StepState::Failed(r) => r.clone(),
                        _ => String::new(),
                    };
                    StepView {
                        key: step.as_str(),
                        number: step.number(),
                        part: step.part(),
                        actor: step.actor().as_str(),
                        api: step.api(),
                        state: state.as_str(),
                        reason,
                        note: step.has_note(),
                        section: if section == Section::SceneApply && !scene_apply { Section::None } else { section },
                        finish: step.finish_item().is_some() && state != StepState::Done && success_for(step),
                        items,
                    }
                })
                .collect();
            page.companies = snap.reading.companies;
            page.sharers = data.people.iter().filter(|p| p.role == "sharer").map(PersonView::of).collect();
            page.promoters = data.people.iter().filter(|p| p.role == "promoter").map(PersonView::of).collect();
            page.categories = snap.reading.categories;
        }
        page
    }

    pub fn banner_for_world(&self) -> String {
        match self.world {
            "legacy" => self.ctx.t("live.for_you.legacy"),
            "shop" => self.ctx.t("live.for_you.shop"),
            _ => String::new(),
        }
    }

    pub fn is_legacy(&self) -> bool {
        self.world == "legacy"
    }

    pub fn is_shop(&self) -> bool {
        self.world == "shop"
    }

    pub fn is_unknown(&self) -> bool {
        self.world == "unknown"
    }

    pub fn field_class(&self, field: &str) -> &'static str {
        if self.errors.get(field).is_some() { "field has-error" } else { "field" }
    }

    pub fn set_name(&self, set: &i64) -> String {
        self.ctx.t(&crate::domain::binding::set_name_key(*set))
    }
}

pub async fn page(page: TenantPage<PageData>) -> Result<HttpResponse, AppError> {
    let TenantPage { ctx, current, data } = page;
    render(StatusCode::OK, &LivePage::new(ctx, current.tenant, data))
}

#[derive(Deserialize)]
pub struct ActionPath {
    #[allow(dead_code)]
    tenant_id: String,
    action: String,
}

fn field(form: &HashMap<String, String>, name: &str) -> String {
    form.get(name).map(|s| s.trim().to_string()).unwrap_or_default()
}

/// The action the form asks for, or the invalid fields with their message keys.
fn parse_action(
    name: &str,
    form: &HashMap<String, String>,
) -> Option<Result<Action, Vec<(&'static str, &'static str)>>> {
    let title = field(form, "title");
    let cat = field(form, "third_cat_id").parse::<i64>().ok();
    let title_ok = !title.is_empty() && title.chars().count() <= 60;
    let name_of = name;
    Some(match name {
        "check" => Ok(Action::Check),
        "apply" => Ok(Action::Apply),
        "brand" => {
            let wording = field(form, "brand_wording");
            if wording.is_empty() || wording.chars().count() > 50 {
                Err(vec![("brand_wording", "live.error.brand_wording")])
            } else {
                Ok(Action::Brand { wording })
            }
        }
        "category" => cat
            .map(|third_cat_id| Action::Category { third_cat_id })
            .ok_or(vec![("third_cat_id", "live.error.pick_category")]),
        "product" => {
            let mut errors = Vec::new();
            if !title_ok {
                errors.push(("title", "live.error.title"));
            }
            if cat.is_none() {
                errors.push(("third_cat_id", "live.error.pick_category"));
            }
            match cat {
                Some(third_cat_id) if errors.is_empty() => Ok(Action::Product { title, third_cat_id }),
                _ => Err(errors),
            }
        }
        "resubmit" => {
            if title_ok {
                Ok(Action::Resubmit { item: field(form, "item"), title })
            } else {
                Err(vec![("resubmit_title", "live.error.title")])
            }
        }
        "order" => Ok(Action::Order { scene: field(form, "scene") == "1" }),
        "advance" => {
            let delivery_id = Some(field(form, "delivery_id")).filter(|d| !d.is_empty());
            Ok(Action::Advance { item: field(form, "item"), delivery_id })
        }
        "finish" => Ok(Action::Finish { step: Step::parse(&field(form, "step"))? }),
        "scene" => Ok(Action::Scene),
        "sharer_bind" | "promoter_add" => {
            let (openid, name) = (field(form, "openid"), field(form, "name"));
            let mut errors = Vec::new();
            let id_ok = !openid.is_empty()
                && openid.len() <= 64
                && openid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            let sharer = name_of == "sharer_bind";
            if !id_ok {
                errors.push((if sharer { "sharer_openid" } else { "promoter_openid" }, "live.people.error.openid"));
            }
            if name.is_empty() || name.chars().count() > 30 {
                errors.push((if sharer { "sharer_name" } else { "promoter_name" }, "live.people.error.name"));
            }
            if !errors.is_empty() {
                Err(errors)
            } else if sharer {
                Ok(Action::SharerBind { openid, name })
            } else {
                Ok(Action::PromoterAdd { openid, name })
            }
        }
        "sharer_unbind" => Ok(Action::SharerUnbind { item: field(form, "item") }),
        "promoter_remove" => Ok(Action::PromoterRemove { item: field(form, "item") }),
        _ => return None,
    })
}

/// Any action of the page.
pub async fn act(
    ctx: PageCtx,
    current: CurrentTenant,
    path: web::Path<ActionPath>,
    platform: web::Data<Platform>,
    session: TypedSession,
    form: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let tid = current.tenant.id.clone();
    let parsed = parse_action(&path.action, &form).ok_or(AppError::NotFound)?;
    let (status, error, errors) = match parsed {
        Err(fields) => {
            let mut errors = FormErrors::default();
            for (f, key) in fields {
                errors.add(f, ctx.t(key));
            }
            (StatusCode::UNPROCESSABLE_ENTITY, None, errors)
        }
        Ok(action) => {
            let name = action.name();
            match service::act(&platform, &tid, &current.actor(), action).await {
                Ok(()) => {
                    session.flash("success", &format!("live.done.{name}"));
                    return Ok(see_other(&page_path(&tid)));
                }
                Err(ActionError::NotBound) => {
                    session.flash("error", "live.not_bound");
                    return Ok(see_other(&page_path(&tid)));
                }
                Err(ActionError::Rule(key)) => (StatusCode::CONFLICT, Some(ctx.t(key)), FormErrors::default()),
                Err(ActionError::Refused(f)) => (StatusCode::CONFLICT, Some(ctx.failure(&f)), FormErrors::default()),
                Err(ActionError::People(r)) => {
                    let date = r.date().map(crate::domain::day_of).unwrap_or_default();
                    (StatusCode::CONFLICT, Some(ctx.t_with(r.key(), &[("date", &date)])), FormErrors::default())
                }
                Err(ActionError::Invitation(code)) => {
                    let key = match code {
                        200 => "live.people.reason.200",
                        204 => "live.people.reason.204",
                        _ => "live.people.reason.other",
                    };
                    (StatusCode::CONFLICT, Some(ctx.t_with(key, &[("code", &code.to_string())])), FormErrors::default())
                }
                Err(ActionError::Platform(e)) => return Err(AppError::Internal(e.into())),
            }
        }
    };
    let t = tid.clone();
    let data = db::read(platform.pool(), move |c| load(c, &t)).await?;
    // A correction's title is refused beside it, in the form of the rejected product it
    // corrects; posted for an item that is no rejected product, no form would show the
    // error: refused as the item it is instead.
    let item = field(&form, "item");
    let rejected = |i: &store::Item| i.id == item && i.kind == ItemKind::Product && i.status == ItemStatus::Failed;
    let (status, error, errors) = if path.action == "resubmit" && !errors.is_empty() && !data.items.iter().any(rejected)
    {
        (StatusCode::CONFLICT, Some(ctx.t("live.error.no_item")), FormErrors::default())
    } else {
        (status, error, errors)
    };
    let mut page = LivePage::new(ctx, current.tenant, data);
    page.error = error;
    page.errors = errors;
    page.input = Input {
        brand_wording: field(&form, "brand_wording"),
        title: field(&form, "title"),
        third_cat_id: field(&form, "third_cat_id"),
        openid: field(&form, "openid"),
        name: field(&form, "name"),
        form: path.action.clone(),
        item,
    };
    render(status, &page)
}

// ---- the operator's capability register ----

#[derive(Template)]
#[template(path = "operator/capabilities.html")]
struct RegisterPage {
    ctx: PageCtx,
    rows: Vec<CapabilityView>,
    /// The capability whose edit was refused, with what was typed and the errors.
    editing: Option<(&'static str, CapabilityForm)>,
    errors: FormErrors,
    statuses: [&'static str; 3],
}

impl RegisterPage {
    fn new(ctx: PageCtx, rows: &[CapabilityRow]) -> Self {
        Self {
            ctx,
            rows: rows.iter().map(CapabilityView::of).collect(),
            editing: None,
            errors: FormErrors::default(),
            statuses: ["current", "legacy", "retired"],
        }
    }

    /// The value a field shows: what was typed when this row's edit was refused.
    pub fn value(&self, row: &CapabilityView, field: &str) -> String {
        match &self.editing {
            Some((key, form)) if *key == row.key => match field {
                "status" => form.status.clone(),
                "since" => form.since.clone(),
                _ => form.note.clone(),
            },
            _ => match field {
                "status" => row.status.to_string(),
                "since" => row.since.clone(),
                _ => row.note.clone(),
            },
        }
    }

    pub fn error(&self, row: &CapabilityView, field: &str) -> Option<&str> {
        match &self.editing {
            Some((key, _)) if *key == row.key => self.errors.get(field),
            _ => None,
        }
    }
}

pub async fn register(ctx: PageCtx, _op: Operator, platform: web::Data<Platform>) -> Result<HttpResponse, AppError> {
    let rows = db::read(platform.pool(), |c| -> Result<_, AppError> { Ok(store::capabilities(c)?) }).await?;
    render(StatusCode::OK, &RegisterPage::new(ctx, &rows))
}

#[derive(Deserialize)]
pub struct CapabilityFields {
    #[serde(default)]
    status: String,
    #[serde(default)]
    since: String,
    #[serde(default)]
    note: String,
}

pub async fn save_capability(
    ctx: PageCtx,
    op: Operator,
    session: TypedSession,
    platform: web::Data<Platform>,
    key: web::Path<String>,
    fields: web::Form<CapabilityFields>,
) -> Result<HttpResponse, AppError> {
    let key = Capability::parse(&key).ok_or(AppError::NotFound)?;
    let form = CapabilityForm { status: fields.status.clone(), since: fields.since.clone(), note: fields.note.clone() };
    match form.validate() {
        Ok(edit) => {
            let actor = Actor::user(&op.0.id, &op.0.email);
            db::run(platform.pool(), move |c| -> Result<_, AppError> {
                let now = crate::now();
                db::write_tx(c, |c| {
                    let before = store::capability(c, key)?
                        .map(|r| serde_json::json!({ "status": r.status.as_str(), "since": r.since, "note": r.note }));
                    store::update_capability(c, key, &edit, &actor.label, now)?;
                    let subject = format!("capability:{}", key.as_str());
                    db::audit::write(
                        c,
                        db::audit::Record {
                            actor: &actor,
                            tenant_id: None,
                            action: "platform.capability",
                            subject: &subject,
                            before: before.as_ref(),
                            after: Some(&edit),
                        },
                        now,
                    )?;
                    Ok::<_, AppError>(())
                })
            })
            .await?;
            session.flash("success", "capability.saved");
            Ok(see_other(OPERATOR_PATH))
        }
        Err(field_errors) => {
            let rows = db::read(platform.pool(), |c| -> Result<_, AppError> { Ok(store::capabilities(c)?) }).await?;
            let mut page = RegisterPage::new(ctx, &rows);
            for (f, msg) in field_errors {
                page.errors.add(f, page.ctx.t(msg));
            }
            page.editing = Some((key.as_str(), form));
            render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
    }
}
