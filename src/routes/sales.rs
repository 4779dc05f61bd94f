//! Sales (seed 001 §3–4): Payment Settings with "Enable Online Payment" and the Online
//! Payment button's display conditions; buyers and their prepaid deposit; sales orders with
//! "Online Payment"; payment collections asked for ("Online Payment" sends a link, "QR Code
//! Payment" shows the code at once) and collected; refunds. Every query is the tenant's.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::{CurrentTenant, TypedSession};
use crate::db;
use crate::db::commerce::{self as store, ListFilter};
use crate::db::models::Tenant;
use crate::domain::commerce::{self as rules, ButtonRule, Channel, LineInput, OrderStatus, Purpose, Surface};
use crate::domain::wallet::yuan;
use crate::error::AppError;
use crate::htmx::Htmx;
use crate::services::wallet::{BuyerInput, CheckoutError, SettingsInput, Wallet};
use crate::views::{FormErrors, PageCtx, ok, qr_svg, render, see_other};

const PAGE_SIZE: i64 = 20;

fn internal(e: impl Into<anyhow::Error>) -> AppError {
    AppError::Internal(e.into())
}

fn base(tenant_id: &str) -> String {
    format!("/w/{tenant_id}/sales")
}

/// A refusal as a flash or a field error; anything else is an internal error.
fn refusal_text(ctx: &PageCtx, e: CheckoutError) -> Result<String, AppError> {
    match e {
        CheckoutError::Refused(r) => Ok(r.sentence(|k| ctx.t(k))),
        CheckoutError::Wallet(e) => Err(internal(e)),
    }
}

fn refusal_key(e: CheckoutError) -> Result<&'static str, AppError> {
    match e {
        CheckoutError::Refused(r) => Ok(r.key),
        CheckoutError::Wallet(e) => Err(internal(e)),
    }
}

fn checked(v: &Option<String>) -> bool {
    v.as_deref().is_some_and(|s| s == "on" || s == "true" || s == "1")
}

/// A view of an amount: "¥12.34".
fn money(fen: i64) -> String {
    if fen < 0 { format!("-¥{}", yuan(-fen)) } else { format!("¥{}", yuan(fen)) }
}

// ---------------------------------------------------------------- settings

#[derive(Debug, Default, Deserialize, Clone)]
pub struct SettingsForm {
    #[serde(default)]
    online_enabled: Option<String>,
    #[serde(default)]
    order_payment: Option<String>,
    #[serde(default)]
    collection_payment: Option<String>,
    #[serde(default)]
    deposit_topup: Option<String>,
    #[serde(default)]
    status_unpaid: Option<String>,
    #[serde(default)]
    min_amount: String,
    #[serde(default)]
    max_amount: String,
    #[serde(default)]
    group: String,
}

impl SettingsForm {
    fn of(s: &store::Settings) -> Self {
        let on = |b: bool| b.then(|| "on".to_string());
        Self {
            online_enabled: on(s.online_enabled),
            order_payment: on(s.order_payment),
            collection_payment: on(s.collection_payment),
            deposit_topup: on(s.deposit_topup),
            status_unpaid: on(ButtonRule::parse_statuses(&s.button_statuses).contains(&OrderStatus::Unpaid)),
            min_amount: s.button_min_fen.map(yuan).unwrap_or_default(),
            max_amount: s.button_max_fen.map(yuan).unwrap_or_default(),
            group: s.button_group.clone().unwrap_or_default(),
        }
    }
    fn on(&self, field: &str) -> bool {
        checked(match field {
            "online_enabled" => &self.online_enabled,
            "order_payment" => &self.order_payment,
            "collection_payment" => &self.collection_payment,
            "deposit_topup" => &self.deposit_topup,
            _ => &self.status_unpaid,
        })
    }
}

#[derive(Template)]
#[template(path = "sales/settings.html")]
struct SettingsPage {
    ctx: PageCtx,
    tenant: Tenant,
    form: SettingsForm,
    errors: FormErrors,
    refused: Option<String>,
}

pub async fn settings_page(
    ctx: PageCtx,
    current: CurrentTenant,
    wallet: web::Data<Wallet>,
) -> Result<HttpResponse, AppError> {
    let s = wallet.pay_settings(&current.tenant.id).await.map_err(internal)?;
    ok(&SettingsPage {
        ctx,
        tenant: current.tenant,
        form: SettingsForm::of(&s),
        errors: FormErrors::default(),
        refused: None,
    })
}

pub async fn save_settings(
    ctx: PageCtx,
    current: CurrentTenant,
    wallet: web::Data<Wallet>,
    session: TypedSession,
    form: web::Form<SettingsForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let mut errors = FormErrors::default();
    let amount = |field: &str, text: &str, errors: &mut FormErrors| {
        if text.trim().is_empty() {
            return None;
        }
        let v = rules::parse_yuan(text);
        if v.is_none() {
            errors.add(field, ctx.t("sales.err.amount"));
        }
        v
    };
    let min_fen = amount("min_amount", &form.min_amount, &mut errors);
    let max_fen = amount("max_amount", &form.max_amount, &mut errors);
    if let (Some(a), Some(b)) = (min_fen, max_fen)
        && a > b
    {
        errors.add("max_amount", ctx.t("sales.err.range"));
    }
    let group = form.group.trim().to_string();
    if group.chars().count() > 40 {
        errors.add("group", ctx.t("sales.err.group"));
    }
    if !errors.is_empty() {
        let page = SettingsPage { ctx, tenant: current.tenant, form, errors, refused: None };
        return render(actix_web::http::StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    let input = SettingsInput {
        online_enabled: form.on("online_enabled"),
        order_payment: form.on("order_payment"),
        collection_payment: form.on("collection_payment"),
        deposit_topup: form.on("deposit_topup"),
        rule: ButtonRule {
            statuses: if form.on("status_unpaid") { vec![OrderStatus::Unpaid] } else { vec![] },
            min_fen,
            max_fen,
            group: Some(group).filter(|g| !g.is_empty()),
        },
    };
    match wallet.save_pay_settings(&current.tenant.id, &current.actor(), input).await {
        Ok(()) => {
            session.flash("success", "sales.settings.saved");
            Ok(see_other(&format!("{}/settings", base(&current.tenant.id))))
        }
        Err(e) => {
            let refused = Some(refusal_text(&ctx, e)?);
            let page = SettingsPage { ctx, tenant: current.tenant, form, errors, refused };
            render(actix_web::http::StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
    }
}

// ---------------------------------------------------------------- buyers

#[derive(Debug, Default, Deserialize, Clone)]
pub struct BuyerForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    customer_group: String,
    #[serde(default)]
    openid: String,
}

pub struct BuyerView {
    pub id: String,
    pub name: String,
    pub group: String,
    pub openid: String,
    pub deposit: String,
}

#[derive(Template)]
#[template(path = "sales/buyers.html")]
struct BuyersPage {
    ctx: PageCtx,
    tenant: Tenant,
    buyers: Vec<BuyerView>,
    form: BuyerForm,
    errors: FormErrors,
}

async fn buyer_views(wallet: &Wallet, tenant_id: &str) -> Result<Vec<BuyerView>, AppError> {
    let tid = tenant_id.to_string();
    let rows = db::run(wallet.pool(), move |c| -> Result<_, AppError> { Ok(store::buyers_of(c, &tid)?) }).await?;
    Ok(rows.into_iter().map(BuyerView::from).collect())
}

impl From<store::Buyer> for BuyerView {
    fn from(b: store::Buyer) -> Self {
        BuyerView {
            id: b.id,
            name: b.name,
            group: b.customer_group,
            openid: b.openid.unwrap_or_default(),
            deposit: money(b.deposit_fen),
        }
    }
}

pub async fn buyers(ctx: PageCtx, current: CurrentTenant, wallet: web::Data<Wallet>) -> Result<HttpResponse, AppError> {
    let buyers = buyer_views(&wallet, &current.tenant.id).await?;
    ok(&BuyersPage { ctx, tenant: current.tenant, buyers, form: BuyerForm::default(), errors: FormErrors::default() })
}

pub async fn add_buyer(
    ctx: PageCtx,
    current: CurrentTenant,
    wallet: web::Data<Wallet>,
    session: TypedSession,
    form: web::Form<BuyerForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let mut errors = FormErrors::default();
    let name = form.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 80 {
        errors.add("name", ctx.t("sales.err.buyer_name"));
    }
    let group = form.customer_group.trim().to_string();
    if group.chars().count() > 40 {
        errors.add("customer_group", ctx.t("sales.err.group"));
    }
    let openid = form.openid.trim().to_string();
    if openid.chars().count() > 64 || !openid.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        errors.add("openid", ctx.t("sales.err.openid"));
    }
    if errors.is_empty() {
        let input = BuyerInput { name, customer_group: group, openid: Some(openid).filter(|o| !o.is_empty()) };
        match wallet.add_buyer(&current.tenant.id, &current.actor(), input).await {
            Ok(_) => {
                session.flash("success", "sales.buyers.added");
                return Ok(see_other(&format!("{}/buyers", base(&current.tenant.id))));
            }
            Err(e) => errors.add("name", refusal_text(&ctx, e)?),
        }
    }
    let buyers = buyer_views(&wallet, &current.tenant.id).await?;
    render(
        actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
        &BuyersPage { ctx, tenant: current.tenant, buyers, form, errors },
    )
}

#[derive(Deserialize)]
pub struct IdPath {
    #[allow(dead_code)]
    tenant_id: String,
    id: String,
}

pub struct LedgerView {
    pub at: i64,
    pub delta: String,
    pub balance: String,
    pub collection_id: String,
    pub refund: bool,
}

#[derive(Template)]
#[template(path = "sales/buyer.html")]
struct BuyerPage {
    ctx: PageCtx,
    tenant: Tenant,
    buyer: BuyerView,
    ledger: Vec<LedgerView>,
}

pub async fn buyer(
    ctx: PageCtx,
    current: CurrentTenant,
    wallet: web::Data<Wallet>,
    path: web::Path<IdPath>,
) -> Result<HttpResponse, AppError> {
    let (tid, id) = (current.tenant.id.clone(), path.id.clone());
    let found = db::run(wallet.pool(), move |c| -> Result<_, AppError> {
        let Some(b) = store::buyer(c, &tid, &id)? else { return Ok(None) };
        Ok(Some((b, store::ledger_of(c, &tid, &id)?)))
    })
    .await?;
    let (b, ledger) = found.ok_or(AppError::NotFound)?;
    let ledger = ledger
        .into_iter()
        .map(|e| LedgerView {
            at: e.at,
            delta: money(e.delta_fen),
            balance: money(e.balance_fen),
            collection_id: e.collection_id,
            refund: e.refund_id.is_some(),
        })
        .collect();
    let buyer = BuyerView::from(b);
    ok(&BuyerPage { ctx, tenant: current.tenant, buyer, ledger })
}

// ---------------------------------------------------------------- lists' filters

#[derive(Debug, Default, Deserialize, Clone)]
pub struct ListQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    min: String,
    #[serde(default)]
    max: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    page: Option<i64>,
}

/// "2026-12-07" as the Unix time of that day's start (UTC).
fn day_start(text: &str) -> Option<i64> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(text.trim(), &format).ok()?;
    Some(date.midnight().assume_utc().unix_timestamp())
}

impl ListQuery {
    fn filter(&self) -> ListFilter {
        ListFilter {
            status: self.status.clone(),
            channel: Channel::parse(&self.channel).map(|c| c.as_str().to_string()).unwrap_or_default(),
            purpose: Purpose::parse(&self.purpose).map(|p| p.as_str().to_string()).unwrap_or_default(),
            min_fen: rules::parse_yuan(&self.min),
            max_fen: rules::parse_yuan(&self.max),
            since: day_start(&self.from),
            until: day_start(&self.to).map(|t| t + 86_400),
        }
    }
    fn page(&self) -> i64 {
        self.page.unwrap_or(1).clamp(1, 10_000)
    }
    fn link(&self, path: &str, page: i64) -> String {
        let filters = [
            ("status", self.status.as_str()),
            ("channel", self.channel.as_str()),
            ("purpose", self.purpose.as_str()),
            ("min", self.min.as_str()),
            ("max", self.max.as_str()),
            ("from", self.from.as_str()),
            ("to", self.to.as_str()),
        ];
        crate::views::page_link(path, &filters, page)
    }
}

// ---------------------------------------------------------------- orders

pub struct OrderView {
    pub id: String,
    pub number: String,
    pub buyer: String,
    pub group: String,
    pub amount: String,
    pub paid: String,
    pub refunded: String,
    pub status: OrderStatus,
    pub online: bool,
    pub button: bool,
    pub created_at: i64,
}

fn order_view(settings: &store::Settings, (o, buyer, group): store::OrderRow) -> OrderView {
    OrderView {
        button: Wallet::button_shows(settings, &o, &group),
        id: o.id,
        number: o.number,
        buyer,
        group,
        amount: money(o.amount_fen),
        paid: money(o.paid_fen),
        refunded: money(o.refunded_fen),
        status: OrderStatus::parse(&o.status).unwrap_or(OrderStatus::Unpaid),
        online: o.payment_method == "online",
        created_at: o.created_at,
    }
}

#[derive(Template)]
#[template(path = "sales/orders.html")]
struct OrdersPage {
    ctx: PageCtx,
    tenant: Tenant,
    rows: Vec<OrderView>,
    q: ListQuery,
    statuses: [OrderStatus; 4],
    page: i64,
    has_next: bool,
}

impl OrdersPage {
    fn page_link(&self, page: i64) -> String {
        self.q.link(&format!("{}/orders", base(&self.tenant.id)), page)
    }
}

pub async fn orders(
    ctx: PageCtx,
    current: CurrentTenant,
    wallet: web::Data<Wallet>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let q = q.into_inner();
    let (tid, filter, page) = (current.tenant.id.clone(), q.filter(), q.page());
    let (settings, rows) = db::read(wallet.pool(), move |c| -> Result<_, AppError> {
        Ok((store::settings(c, &tid)?, store::orders(c, &tid, &filter, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE)?))
    })
    .await?;
    let has_next = rows.len() as i64 > PAGE_SIZE;
    let rows = rows.into_iter().take(PAGE_SIZE as usize).map(|r| order_view(&settings, r)).collect();
    ok(&OrdersPage { ctx, tenant: current.tenant, rows, q, statuses: OrderStatus::ALL, page, has_next })
}

#[derive(Debug, Default, Deserialize, Clone)]
pub struct OrderForm {
    #[serde(default)]
    buyer_id: String,
    #[serde(default)]
    payment_method: String,
    #[serde(flatten)]
    lines: BTreeMap<String, String>,
}

impl OrderForm {
    pub(super) fn line(&self, i: usize) -> LineInput {
        let get = |k: &str| self.lines.get(&format!("{k}_{i}")).cloned().unwrap_or_default();
        LineInput { product: get("product"), quantity: get("quantity"), unit_price: get("unit_price") }
    }
    fn value(&self, field: &str) -> String {
        self.lines.get(field).cloned().unwrap_or_default()
    }
}

#[derive(Template)]
#[template(path = "sales/order_new.html")]
struct NewOrderPage {
    ctx: PageCtx,
    tenant: Tenant,
    buyers: Vec<BuyerView>,
    form: OrderForm,
    errors: FormErrors,
    slots: Vec<usize>,
}

pub(super) const LINE_SLOTS: usize = 5;

pub async fn new_order(
    ctx: PageCtx,
    current: CurrentTenant,
    wallet: web::Data<Wallet>,
) -> Result<HttpResponse, AppError> {
    let buyers = buyer_views(&wallet, &current.tenant.id).await?;
    let form = OrderForm { payment_method: "online".into(), ..Default::default() };
    ok(&NewOrderPage {
        ctx,
        tenant: current.tenant,
        buyers,
        form,
        errors: FormErrors::default(),
        slots: (0..LINE_SLOTS).collect(),
    })
}

pub async fn create_order(
    ctx: PageCtx,
    current: CurrentTenant,
    wallet: web::Data<Wallet>,
    session: TypedSession,
    form: web::Form<OrderForm>,
) -> Result<HttpResponse, AppError> {
    let mut form = form.into_inner();
    form.lines.remove("csrf_token");
    let mut errors = FormErrors::default();
    if form.buyer_id.trim().is_empty() {
        errors.add("buyer_id", ctx.t("sales.err.buyer"));
    }
    if form.payment_method != "online" && form.payment_method != "offline" {
        errors.add("payment_method", ctx.t("sales.err.payment_method"));
    }
    let inputs: Vec<LineInput> = (0..LINE_SLOTS).map(|i| form.line(i)).collect();
    let lines = match rules::check_lines(&inputs) {
        Ok(lines) => Some(lines),
        Err(e) => {
            for (field, key) in e {
                errors.add(&field, ctx.t(key));
            }
            None
        }
    };
    if let (true, Some(lines)) = (errors.is_empty(), lines) {
        let online = form.payment_method == "online";
        match wallet.create_order(&current.tenant.id, &current.actor(), &form.buyer_id, online, lines).await {
            Ok(id) => {
                session.flash("success", "sales.orders.created");
                return Ok(see_other(&format!("{}/orders/{id}", base(&current.tenant.id))));
            }
            Err(e) => errors.add("buyer_id", refusal_text(&ctx, e)?),
        }
    }
    let buyers = buyer_views(&wallet, &current.tenant.id).await?;
    let page = NewOrderPage { ctx, tenant: current.tenant, buyers, form, errors, slots: (0..LINE_SLOTS).collect() };
    render(actix_web::http::StatusCode::UNPROCESSABLE_ENTITY, &page)
}

pub struct LineView {
    pub product: String,
    pub quantity: i64,
    pub unit: String,
    pub total: String,
}

pub struct CollectionView {
    pub id: String,
    pub number: String,
    pub buyer: String,
    pub order: Option<String>,
    pub purpose: Purpose,
    pub channel: Channel,
    pub amount: String,
    pub refunded: String,
    pub refundable_fen: i64,
    pub source: String,
    pub transaction_id: String,
    pub collected_at: i64,
}

fn collection_view((c, buyer, order): store::CollectionRow) -> CollectionView {
    CollectionView {
        number: c.id.chars().rev().take(10).collect::<String>().chars().rev().collect::<String>().to_uppercase(),
        id: c.id,
        buyer,
        order,
        purpose: Purpose::parse(&c.purpose).unwrap_or(Purpose::Other),
        channel: Channel::parse(&c.channel).unwrap_or(Channel::WechatPay),
        amount: money(c.amount_fen),
        refunded: money(c.refunded_fen),
        refundable_fen: c.amount_fen - c.refunded_fen,
        source: c.source,
        transaction_id: c.transaction_id.unwrap_or_default(),
        collected_at: c.collected_at,
    }
}

#[derive(Template)]
#[template(path = "sales/order.html")]
struct OrderPage {
    ctx: PageCtx,
    tenant: Tenant,
    o: OrderView,
    lines: Vec<LineView>,
    collections: Vec<CollectionView>,
    request: Option<RequestView>,
}

pub async fn order(
    ctx: PageCtx,
    current: CurrentTenant,
    wallet: web::Data<Wallet>,
    path: web::Path<IdPath>,
) -> Result<HttpResponse, AppError> {
    let (tid, id) = (current.tenant.id.clone(), path.id.clone());
    let now = crate::now();
    let found = db::read(wallet.pool(), move |c| -> Result<_, AppError> {
        let Some(row) = store::order(c, &tid, &id)? else { return Ok(None) };
        let settings = store::settings(c, &tid)?;
        let lines = store::lines_of(c, &id)?;
        let collections = store::collections_of_order(c, &tid, &id)?;
        let request = store::open_request_of_order(c, &tid, &id, now)?;
        Ok(Some((settings, row, lines, collections, request)))
    })
    .await?;
    let (settings, row, lines, collections, request) = found.ok_or(AppError::NotFound)?;
    let buyer = row.1.clone();
    let number = row.0.number.clone();
    let o = order_view(&settings, row);
    let lines = lines
        .into_iter()
        .map(|l| LineView {
            total: money(l.quantity * l.unit_fen),
            product: l.product,
            quantity: l.quantity,
            unit: money(l.unit_fen),
        })
        .collect();
    let collections =
        collections.into_iter().map(|c| collection_view((c, buyer.clone(), Some(number.clone())))).collect();
    let request = match request {
        Some(r) => Some(request_view(&wallet, r, buyer.clone()).await?),
        None => None,
    };
    ok(&OrderPage { ctx, tenant: current.tenant, o, lines, collections, request })
}

/// 404 unless the order is this tenant's (the query filters on the tenant).
async fn own_order(wallet: &Wallet, tenant_id: &str, id: &str) -> Result<(), AppError> {
    let (tid, id) = (tenant_id.to_string(), id.to_string());
    let found =
        db::run(wallet.pool(), move |c| -> Result<_, AppError> { Ok(store::order(c, &tid, &id)?.is_some()) }).await?;
    if found { Ok(()) } else { Err(AppError::NotFound) }
}

/// "Online Payment" on an order: the buyer's link (and its QR codes) on the order's page.
pub async fn pay_order(
    current: CurrentTenant,
    wallet: web::Data<Wallet>,
    session: TypedSession,
    path: web::Path<IdPath>,
) -> Result<HttpResponse, AppError> {
    own_order(&wallet, &current.tenant.id, &path.id).await?;
    let to = format!("{}/orders/{}", base(&current.tenant.id), path.id);
    match wallet.request_for_order(&current.tenant.id, &current.actor(), &path.id).await {
        Ok(_) => session.flash("success", "sales.request.ready"),
        Err(e) => session.flash("error", refusal_key(e)?),
    }
    Ok(see_other(&format!("{to}#pay")))
}

pub async fn cancel_order(
    current: CurrentTenant,
    wallet: web::Data<Wallet>,
    session: TypedSession,
    path: web::Path<IdPath>,
) -> Result<HttpResponse, AppError> {
    own_order(&wallet, &current.tenant.id, &path.id).await?;
    match wallet.cancel_order(&current.tenant.id, &current.actor(), &path.id).await {
        Ok(()) => session.flash("success", "sales.orders.cancelled"),
        Err(e) => session.flash("error", refusal_key(e)?),
    }
    Ok(see_other(&format!("{}/orders/{}", base(&current.tenant.id), path.id)))
}

// ---------------------------------------------------------------- pay requests

pub struct RequestView {
    pub id: String,
    pub purpose: Purpose,
    pub buyer: String,
    pub amount: String,
    pub description: String,
    pub state: String,
    pub link: String,
    pub link_qr: String,
    pub expires_at: i64,
    pub attempts: Vec<AttemptView>,
}

pub struct AttemptView {
    pub channel: Channel,
    pub state: String,
    pub out_trade_no: String,
    pub qr: String,
    pub error: String,
    pub created_at: i64,
}

async fn request_view(wallet: &Wallet, r: store::PayRequest, buyer: String) -> Result<RequestView, AppError> {
    let attempts = wallet.attempts(&r.id).await.map_err(internal)?;
    let link = wallet.pay_link(&r);
    Ok(RequestView {
        link_qr: qr_svg(&link),
        link,
        id: r.id,
        purpose: Purpose::parse(&r.purpose).unwrap_or(Purpose::Other),
        buyer,
        amount: money(r.amount_fen),
        description: r.description,
        state: r.state.clone(),
        expires_at: r.expires_at,
        attempts: attempts
            .into_iter()
            .map(|p| AttemptView {
                channel: Channel::parse(&p.channel).unwrap_or(Channel::WechatPay),
                qr: match (&p.code_url, p.state.as_str(), r.state.as_str()) {
                    (Some(code), "created", "open") if !code.starts_with("wx") => qr_svg(code),
                    _ => String::new(),
                },
                state: p.state,
                out_trade_no: p.out_trade_no,
                error: p.error.unwrap_or_default(),
                created_at: p.created_at,
            })
            .collect(),
    })
}

#[derive(Template)]
#[template(path = "sales/request.html")]
struct RequestPage {
    ctx: PageCtx,
    tenant: Tenant,
    r: RequestView,
}

#[derive(Template)]
#[template(path = "sales/_request.html")]
struct RequestFragment {
    ctx: PageCtx,
    tenant: Tenant,
    r: RequestView,
}

pub async fn request(
    ctx: PageCtx,
    current: CurrentTenant,
    wallet: web::Data<Wallet>,
    path: web::Path<IdPath>,
    htmx: Htmx,
) -> Result<HttpResponse, AppError> {
    let (tid, id) = (current.tenant.id.clone(), path.id.clone());
    let found = db::read(wallet.pool(), move |c| -> Result<_, AppError> {
        let Some(r) = store::request(c, &tid, &id)? else { return Ok(None) };
        let buyer = store::buyer(c, &tid, &r.buyer_id)?.map(|b| b.name).unwrap_or_default();
        Ok(Some((r, buyer)))
    })
    .await?;
    let (r, buyer) = found.ok_or(AppError::NotFound)?;
    let r = request_view(&wallet, r, buyer).await?;
    if htmx.wants_fragment() {
        return ok(&RequestFragment { ctx, tenant: current.tenant, r });
    }
    ok(&RequestPage { ctx, tenant: current.tenant, r })
}

#[derive(Deserialize)]
pub struct ChannelForm {
    #[serde(default)]
    channel: String,
}

/// "QR Code Payment": a QR code of the request on one channel, shown at once on the
/// tenant's screen for the buyer to scan.
pub async fn request_qr(
    current: CurrentTenant,
    wallet: web::Data<Wallet>,
    session: TypedSession,
    path: web::Path<IdPath>,
    form: web::Form<ChannelForm>,
) -> Result<HttpResponse, AppError> {
    let (tid, id) = (current.tenant.id.clone(), path.id.clone());
    let mine =
        db::run(wallet.pool(), move |c| -> Result<_, AppError> { Ok(store::request(c, &tid, &id)?.is_some()) }).await?;
    if !mine {
        return Err(AppError::NotFound);
    }
    let channel =
        Channel::parse(&form.channel).ok_or_else(|| AppError::BadRequest("unknown payment channel".into()))?;
    match wallet.start_attempt(&path.id, channel, Surface::Web, None).await {
        Ok(_) => {}
        Err(e) => session.flash("error", refusal_key(e)?),
    }
    Ok(see_other(&format!("{}/requests/{}", base(&current.tenant.id), path.id)))
}

// ---------------------------------------------------------------- collections

#[derive(Template)]
#[template(path = "sales/collections.html")]
struct CollectionsPage {
    ctx: PageCtx,
    tenant: Tenant,
    rows: Vec<CollectionView>,
    open: Vec<(store::PayRequest, String)>,
    q: ListQuery,
    page: i64,
    has_next: bool,
}

impl CollectionsPage {
    fn page_link(&self, page: i64) -> String {
        self.q.link(&format!("{}/collections", base(&self.tenant.id)), page)
    }
    fn money(&self, fen: &i64) -> String {
        money(*fen)
    }
    fn purpose_key(&self, p: &str) -> &'static str {
        Purpose::parse(p).unwrap_or(Purpose::Other).label_key()
    }
}

pub async fn collections(
    ctx: PageCtx,
    current: CurrentTenant,
    wallet: web::Data<Wallet>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let q = q.into_inner();
    let (tid, filter, page) = (current.tenant.id.clone(), q.filter(), q.page());
    let (rows, open) = db::read(wallet.pool(), move |c| -> Result<_, AppError> {
        Ok((
            store::collections(c, &tid, &filter, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE)?,
            if page == 1 { store::open_requests(c, &tid, 20)? } else { vec![] },
        ))
    })
    .await?;
    let has_next = rows.len() as i64 > PAGE_SIZE;
    let rows = rows.into_iter().take(PAGE_SIZE as usize).map(collection_view).collect();
    ok(&CollectionsPage { ctx, tenant: current.tenant, rows, open, q, page, has_next })
}

#[derive(Debug, Default, Deserialize, Clone)]
pub struct CollectionForm {
    #[serde(default)]
    buyer_id: String,
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    note: String,
    /// "online" (send the link) or "qr" (show a QR code now).
    #[serde(default)]
    action: String,
    #[serde(default)]
    channel: String,
}

#[derive(Template)]
#[template(path = "sales/collection_new.html")]
struct NewCollectionPage {
    ctx: PageCtx,
    tenant: Tenant,
    buyers: Vec<BuyerView>,
    form: CollectionForm,
    errors: FormErrors,
    refused: Option<String>,
}

#[derive(Deserialize)]
pub struct NewCollectionQuery {
    #[serde(default)]
    purpose: String,
}

pub async fn new_collection(
    ctx: PageCtx,
    current: CurrentTenant,
    wallet: web::Data<Wallet>,
    q: web::Query<NewCollectionQuery>,
) -> Result<HttpResponse, AppError> {
    let buyers = buyer_views(&wallet, &current.tenant.id).await?;
    let purpose = Purpose::parse(&q.purpose).filter(|p| *p != Purpose::Order).unwrap_or(Purpose::Other);
    let form = CollectionForm { purpose: purpose.as_str().into(), channel: "wechatpay".into(), ..Default::default() };
    ok(&NewCollectionPage { ctx, tenant: current.tenant, buyers, form, errors: FormErrors::default(), refused: None })
}

pub async fn create_collection(
    ctx: PageCtx,
    current: CurrentTenant,
    wallet: web::Data<Wallet>,
    session: TypedSession,
    form: web::Form<CollectionForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    // The two buttons of the form; anything else was not sent by it.
    if form.action != "online" && form.action != "qr" {
        return Err(AppError::BadRequest("unknown action".into()));
    }
    let mut errors = FormErrors::default();
    if form.buyer_id.trim().is_empty() {
        errors.add("buyer_id", ctx.t("sales.err.buyer"));
    }
    let purpose = Purpose::parse(&form.purpose).filter(|p| *p != Purpose::Order);
    if purpose.is_none() {
        errors.add("purpose", ctx.t("sales.err.purpose"));
    }
    let amount = rules::parse_yuan(&form.amount).filter(|f| *f > 0);
    if amount.is_none() {
        errors.add("amount", ctx.t("sales.err.amount"));
    }
    if form.note.chars().count() > 60 {
        errors.add("note", ctx.t("sales.err.note"));
    }
    let channel = Channel::parse(&form.channel);
    if form.action == "qr" && channel.is_none() {
        errors.add("channel", ctx.t("sales.err.channel"));
    }
    let mut refused = None;
    if let (true, Some(purpose), Some(amount)) = (errors.is_empty(), purpose, amount) {
        match wallet
            .request_collection(&current.tenant.id, &current.actor(), &form.buyer_id, purpose, amount, form.note.trim())
            .await
        {
            Ok(r) => {
                // The request exists now: a QR code the channel refused is said on its page,
                // where another channel or the link can be tried (sending this form again
                // would make a second request).
                if form.action == "qr"
                    && let Some(channel) = channel
                    && let Err(e) = wallet.start_attempt(&r.id, channel, Surface::Web, None).await
                {
                    session.flash("error", refusal_key(e)?);
                }
                return Ok(see_other(&format!("{}/requests/{}", base(&current.tenant.id), r.id)));
            }
            // A buyer that is not the tenant's is named beside the buyer field.
            Err(CheckoutError::Refused(r)) if r.key == "sales.err.buyer" => errors.add("buyer_id", ctx.t(r.key)),
            Err(e) => refused = Some(refusal_text(&ctx, e)?),
        }
    }
    let buyers = buyer_views(&wallet, &current.tenant.id).await?;
    let page = NewCollectionPage { ctx, tenant: current.tenant, buyers, form, errors, refused };
    render(actix_web::http::StatusCode::UNPROCESSABLE_ENTITY, &page)
}

pub struct RefundView {
    pub amount: String,
    pub reason: String,
    pub state: String,
    pub error: String,
    pub created_at: i64,
}

pub struct RecordView {
    pub kind: String,
    pub amount: String,
    pub reference: String,
    pub at: i64,
}

#[derive(Debug, Default, Deserialize, Clone)]
pub struct RefundForm {
    #[serde(default)]
    amount: String,
    #[serde(default)]
    reason: String,
}

#[derive(Template)]
#[template(path = "sales/collection.html")]
struct CollectionPage {
    ctx: PageCtx,
    tenant: Tenant,
    c: CollectionView,
    refunds: Vec<RefundView>,
    records: Vec<RecordView>,
    form: RefundForm,
    errors: FormErrors,
}

async fn render_collection(
    ctx: PageCtx,
    tenant: Tenant,
    wallet: &Wallet,
    id: &str,
    form: RefundForm,
    errors: FormErrors,
    status: actix_web::http::StatusCode,
) -> Result<HttpResponse, AppError> {
    let (tid, id) = (tenant.id.clone(), id.to_string());
    let found = db::read(wallet.pool(), move |c| -> Result<_, AppError> {
        let Some(row) = store::collection(c, &tid, &id)? else { return Ok(None) };
        let refunds = store::refunds_of(c, &id)?;
        let records = store::records_of(c, &tid, &id)?;
        Ok(Some((row, refunds, records)))
    })
    .await?;
    let (row, refunds, records) = found.ok_or(AppError::NotFound)?;
    let pending: i64 = refunds.iter().filter(|r| r.state != "failed").map(|r| r.amount_fen).sum();
    let amount_fen = row.0.amount_fen;
    let mut c = collection_view(row);
    // Refunds under way count too: what is left to refund.
    c.refundable_fen = (amount_fen - pending).max(0);
    let refunds = refunds
        .into_iter()
        .map(|r| RefundView {
            amount: money(r.amount_fen),
            reason: r.reason,
            state: r.state,
            error: r.error.unwrap_or_default(),
            created_at: r.created_at,
        })
        .collect();
    let records = records
        .into_iter()
        .map(|r| RecordView { kind: r.kind, amount: money(r.amount_fen), reference: r.reference, at: r.at })
        .collect();
    let form = RefundForm { amount: if form.amount.is_empty() { yuan(c.refundable_fen) } else { form.amount }, ..form };
    render(status, &CollectionPage { ctx, tenant, c, refunds, records, form, errors })
}

pub async fn collection(
    ctx: PageCtx,
    current: CurrentTenant,
    wallet: web::Data<Wallet>,
    path: web::Path<IdPath>,
) -> Result<HttpResponse, AppError> {
    let status = actix_web::http::StatusCode::OK;
    render_collection(ctx, current.tenant, &wallet, &path.id, RefundForm::default(), FormErrors::default(), status)
        .await
}

pub async fn refund(
    ctx: PageCtx,
    current: CurrentTenant,
    wallet: web::Data<Wallet>,
    session: TypedSession,
    path: web::Path<IdPath>,
    form: web::Form<RefundForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let mut errors = FormErrors::default();
    let amount = rules::parse_yuan(&form.amount).filter(|f| *f > 0);
    if amount.is_none() {
        errors.add("amount", ctx.t("sales.err.amount"));
    }
    if form.reason.chars().count() > 80 {
        errors.add("reason", ctx.t("sales.err.reason"));
    }
    if let (true, Some(amount)) = (errors.is_empty(), amount) {
        match wallet.refund_collection(&current.tenant.id, &current.actor(), &path.id, amount, &form.reason).await {
            Ok(()) => {
                session.flash("success", "sales.refund.requested");
                return Ok(see_other(&format!("{}/collections/{}", base(&current.tenant.id), path.id)));
            }
            Err(CheckoutError::Refused(r)) if r.key == "sales.err.no_collection" => return Err(AppError::NotFound),
            Err(e) => errors.add("amount", refusal_text(&ctx, e)?),
        }
    }
    let status = actix_web::http::StatusCode::UNPROCESSABLE_ENTITY;
    render_collection(ctx, current.tenant, &wallet, &path.id, form, errors, status).await
}
