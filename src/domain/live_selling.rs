//! Live selling (SPEC §3.7, seed 003, wave-2 notes §1) as pure rules: the capability
//! register's statuses and its form, the four parts and seventeen steps of the custom
//! trade component access with the state of each derived from what WeChat said and what
//! the console submitted, and which finish confirmation (`access_info_item`) completes
//! which step.
//!
//! Seed 003 has four parts: 1 apply (1.1), 2 interfaces (2.1a–2.7a, with 2.2a split in
//! two: qualifications, then products), 3 scene access (3.1, 3.2) and 4 selling in the
//! scene (4.1–4.6, one step per call an order made in a Channels scene needs). That is
//! 1 + 8 + 2 + 6 = 17 steps.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A capability whose platform status the operator maintains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    TradeComponent,
    WechatShop,
}

impl Capability {
    pub const ALL: [Capability; 2] = [Capability::TradeComponent, Capability::WechatShop];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::TradeComponent => "trade_component",
            Self::WechatShop => "wechat_shop",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// Where WeChat stands on a capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CapabilityStatus {
    /// Offered to everyone.
    Current,
    /// Retired for new sign-ups; those already on it keep it.
    Legacy,
    /// Switched off for everyone.
    Retired,
}

impl CapabilityStatus {
    pub const ALL: [CapabilityStatus; 3] = [Self::Current, Self::Legacy, Self::Retired];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Current => "current",
            Self::Legacy => "legacy",
            Self::Retired => "retired",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Whether a new sign-up may be attempted at all.
    pub fn accepts_sign_ups(self) -> bool {
        self == Self::Current
    }
}

/// The errcodes that mean "WeChat has retired this" (wave-2 notes §1.6): 1400007
/// interface offline, 1040058 "use the newest interface".
pub fn means_retired(code: i64) -> bool {
    matches!(code, 1_400_007 | 1_040_058)
}

/// The operator's edit of one capability, as typed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CapabilityForm {
    pub status: String,
    pub since: String,
    pub note: String,
}

/// A valid edit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CapabilityEdit {
    pub status: CapabilityStatus,
    pub since: String,
    pub note: String,
}

/// Longest note kept.
pub const NOTE_MAX: usize = 500;

impl CapabilityForm {
    /// The edit, or each invalid field with its message key.
    pub fn validate(&self) -> Result<CapabilityEdit, Vec<(&'static str, &'static str)>> {
        let mut errors = Vec::new();
        let status = CapabilityStatus::parse(self.status.trim());
        if status.is_none() {
            errors.push(("status", "capability.error.status"));
        }
        let since = self.since.trim();
        if !valid_date(since) {
            errors.push(("since", "capability.error.since"));
        }
        let note = self.note.trim();
        if note.is_empty() {
            errors.push(("note", "capability.error.note_empty"));
        } else if note.chars().count() > NOTE_MAX {
            errors.push(("note", "capability.error.note_long"));
        }
        match status {
            Some(status) if errors.is_empty() => {
                Ok(CapabilityEdit { status, since: since.to_string(), note: note.to_string() })
            }
            _ => Err(errors),
        }
    }
}

/// A calendar date `YYYY-MM-DD` that exists.
fn valid_date(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let [y, m, d] = parts.as_slice() else { return false };
    if s.len() != 10 || !s.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
        return false;
    }
    match (y.parse::<i32>(), m.parse::<u8>(), d.parse::<u8>()) {
        (Ok(y), Ok(m), Ok(d)) => {
            time::Month::try_from(m).is_ok_and(|m| time::Date::from_calendar_date(y, m, d).is_ok())
        }
        _ => false,
    }
}

/// Who does a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    Developer,
    Operations,
    Wechat,
}

impl Actor {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Developer => "developer",
            Self::Operations => "operations",
            Self::Wechat => "wechat",
        }
    }
}

/// The seventeen steps of seed 003, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Apply,
    Develop,
    Qualifications,
    Products,
    Orders,
    Delivery,
    AfterSales,
    Tested,
    Released,
    SceneApply,
    SceneAccess,
    SceneOrder,
    ScenePaymentParams,
    ScenePaySync,
    SceneShip,
    SceneReceive,
    SceneAfterSale,
}

impl Step {
    pub const ALL: [Step; 17] = [
        Step::Apply,
        Step::Develop,
        Step::Qualifications,
        Step::Products,
        Step::Orders,
        Step::Delivery,
        Step::AfterSales,
        Step::Tested,
        Step::Released,
        Step::SceneApply,
        Step::SceneAccess,
        Step::SceneOrder,
        Step::ScenePaymentParams,
        Step::ScenePaySync,
        Step::SceneShip,
        Step::SceneReceive,
        Step::SceneAfterSale,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Apply => "apply",
            Self::Develop => "develop",
            Self::Qualifications => "qualifications",
            Self::Products => "products",
            Self::Orders => "orders",
            Self::Delivery => "delivery",
            Self::AfterSales => "after_sales",
            Self::Tested => "tested",
            Self::Released => "released",
            Self::SceneApply => "scene_apply",
            Self::SceneAccess => "scene_access",
            Self::SceneOrder => "scene_order",
            Self::ScenePaymentParams => "scene_payment_params",
            Self::ScenePaySync => "scene_pay_sync",
            Self::SceneShip => "scene_ship",
            Self::SceneReceive => "scene_receive",
            Self::SceneAfterSale => "scene_after_sale",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The part of seed 003 (1 to 4).
    pub fn part(self) -> u8 {
        match self {
            Self::Apply => 1,
            Self::SceneApply | Self::SceneAccess => 3,
            Self::SceneOrder
            | Self::ScenePaymentParams
            | Self::ScenePaySync
            | Self::SceneShip
            | Self::SceneReceive
            | Self::SceneAfterSale => 4,
            _ => 2,
        }
    }

    /// The seed's number of the step.
    pub fn number(self) -> &'static str {
        match self {
            Self::Apply => "1.1",
            Self::Develop => "2.1a",
            Self::Qualifications => "2.2a (1)",
            Self::Products => "2.2a (2)",
            Self::Orders => "2.3a",
            Self::Delivery => "2.4a",
            Self::AfterSales => "2.5a",
            Self::Tested => "2.6a",
            Self::Released => "2.7a",
            Self::SceneApply => "3.1",
            Self::SceneAccess => "3.2",
            Self::SceneOrder => "4.1",
            Self::ScenePaymentParams => "4.2",
            Self::ScenePaySync => "4.3",
            Self::SceneShip => "4.4",
            Self::SceneReceive => "4.5",
            Self::SceneAfterSale => "4.6",
        }
    }

    pub fn actor(self) -> Actor {
        match self {
            Self::Apply | Self::SceneApply => Actor::Wechat,
            Self::Qualifications | Self::Tested => Actor::Operations,
            _ => Actor::Developer,
        }
    }

    /// The API call (or push) that completes or checks the step.
    pub fn api(self) -> &'static str {
        match self {
            Self::Apply => "/shop/register/check",
            Self::Develop => "/shop/register/check (access_info *_success)",
            Self::Qualifications => "/shop/audit/audit_brand, /shop/audit/audit_category, /shop/audit/result",
            Self::Products => "/shop/spu/add, open_product_spu_audit, /shop/spu/get, finish_access_info 6",
            Self::Orders => "/shop/order/add, /shop/order/pay, finish_access_info 7",
            Self::Delivery => "/shop/delivery/get_company_list, /shop/delivery/send, finish_access_info 8",
            Self::AfterSales => "/shop/ecaftersale/add, finish_access_info 9",
            Self::Tested => "/shop/register/finish_access_info 10",
            Self::Released => "/shop/register/finish_access_info 11",
            Self::SceneApply => "/shop/register/apply_scene, open_product_scene_group_audit",
            Self::SceneAccess => "/shop/register/check (scene_group_list.scene_group_ext_list)",
            Self::SceneOrder => "/shop/order/add (scene 1177)",
            Self::ScenePaymentParams => "/shop/order/getpaymentparams",
            Self::ScenePaySync => "/shop/order/pay",
            Self::SceneShip => "/shop/delivery/send",
            Self::SceneReceive => "/shop/delivery/recieve",
            Self::SceneAfterSale => "/shop/ecaftersale/add",
        }
    }

    /// The `access_info_item` of `finish_access_info` that confirms the step.
    pub fn finish_item(self) -> Option<i64> {
        match self {
            Self::Products => Some(6),
            Self::Orders => Some(7),
            Self::Delivery => Some(8),
            Self::AfterSales => Some(9),
            Self::Tested => Some(10),
            Self::Released => Some(11),
            _ => None,
        }
    }

    /// Whether seed 003 has a note for this step (catalog `live.step.<step>.note`).
    pub fn has_note(self) -> bool {
        matches!(self, Self::Apply | Self::Develop | Self::Qualifications | Self::Products | Self::SceneAccess)
    }
}

/// What a step's card holds besides its state: the forms and lists of the calls it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    None,
    Qualifications,
    Products,
    TestOrders,
    SceneApply,
    SceneOrders,
}

impl Section {
    pub fn of(step: Step) -> Self {
        match step {
            Step::Qualifications => Self::Qualifications,
            Step::Products => Self::Products,
            Step::Orders => Self::TestOrders,
            Step::SceneApply => Self::SceneApply,
            Step::SceneOrder => Self::SceneOrders,
            _ => Self::None,
        }
    }

    /// Whether a submission is listed in this section.
    pub fn shows(self, kind: ItemKind, scene: bool) -> bool {
        match self {
            Self::Qualifications => matches!(kind, ItemKind::Brand | ItemKind::Category),
            Self::Products => kind == ItemKind::Product,
            Self::TestOrders => kind == ItemKind::Order && !scene,
            Self::SceneOrders => kind == ItemKind::Order && scene,
            Self::None | Self::SceneApply => false,
        }
    }
}

/// The state of a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepState {
    NotStarted,
    InProgress,
    Done,
    Failed(String),
}

impl StepState {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::NotStarted => "not_started",
            Self::InProgress => "in_progress",
            Self::Done => "done",
            Self::Failed(_) => "failed",
        }
    }
}

/// register/check's `access_info` (0/1 each).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccessInfo {
    pub spu_audit_success: i64,
    pub ec_order_success: i64,
    pub send_delivery_success: i64,
    pub ec_after_sale_success: i64,
    pub spu_audit_finished: i64,
    pub ec_order_finished: i64,
    pub send_delivery_finished: i64,
    pub ec_after_sale_finished: i64,
    pub test_api_finished: i64,
    pub deploy_wxa_finished: i64,
    pub open_product_task_finished: i64,
}

/// One entry of `scene_group_ext_list`: 0 reviewing, 1 approved, 2 rejected, 3 not reviewed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SceneExt {
    pub ext_id: i64,
    pub status: i64,
}

/// One entry of `scene_group_list`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SceneGroup {
    pub group_id: i64,
    pub name: String,
    pub reason: String,
    pub status: i64,
    pub scene_group_ext_list: Vec<SceneExt>,
}

/// A third-level category of `cat/get`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CategoryOption {
    pub first_cat_id: i64,
    pub second_cat_id: i64,
    pub third_cat_id: i64,
    pub first_cat_name: String,
    pub second_cat_name: String,
    pub third_cat_name: String,
}

impl CategoryOption {
    /// "first > second > third".
    pub fn name(&self) -> String {
        format!("{} > {} > {}", self.first_cat_name, self.second_cat_name, self.third_cat_name)
    }
}

/// What the console last read from WeChat for a tenant on the component.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Reading {
    pub access_info: AccessInfo,
    pub scene_group_list: Vec<SceneGroup>,
    /// `delivery/get_company_list`: (delivery_id, delivery_name).
    pub companies: Vec<(String, String)>,
    /// `cat/get`: the categories a qualification can be submitted for.
    pub categories: Vec<CategoryOption>,
    /// `/wxa/vip/shop/list/get`: the linked WeChat Shops' AppIDs.
    pub shops: Vec<String>,
}

impl Reading {
    pub fn from_json(s: &str) -> Self {
        serde_json::from_str(s).unwrap_or_default()
    }

    /// register/check's `data` object read into access_info and scene groups.
    pub fn from_check(data: &Value) -> Self {
        let access_info = data.get("access_info").cloned().map(serde_json::from_value).and_then(Result::ok);
        let scenes = data.get("scene_group_list").cloned().map(serde_json::from_value).and_then(Result::ok);
        Self {
            access_info: access_info.unwrap_or_default(),
            scene_group_list: scenes.unwrap_or_default(),
            ..Self::default()
        }
    }
}

/// What kind of thing the console submitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    Brand,
    Category,
    Product,
    Order,
    AfterSale,
}

impl ItemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Brand => "brand",
            Self::Category => "category",
            Self::Product => "product",
            Self::Order => "order",
            Self::AfterSale => "aftersale",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Brand, Self::Category, Self::Product, Self::Order, Self::AfterSale].into_iter().find(|k| k.as_str() == s)
    }
}

/// Where a submitted thing stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemStatus {
    InProgress,
    Done,
    Failed,
}

impl ItemStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InProgress => "in_progress",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::InProgress, Self::Done, Self::Failed].into_iter().find(|k| k.as_str() == s)
    }
}

/// How far an order went, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum OrderStage {
    Created,
    PaymentParams,
    Paid,
    Shipped,
    Received,
    AfterSale,
}

impl OrderStage {
    pub const ALL: [OrderStage; 6] =
        [Self::Created, Self::PaymentParams, Self::Paid, Self::Shipped, Self::Received, Self::AfterSale];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::PaymentParams => "payment_params",
            Self::Paid => "paid",
            Self::Shipped => "shipped",
            Self::Received => "received",
            Self::AfterSale => "aftersale",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A submitted thing as the tracker needs it (oldest first).
#[derive(Debug, Clone)]
pub struct Submitted {
    pub kind: ItemKind,
    pub status: ItemStatus,
    pub stage: Option<OrderStage>,
    pub reason: String,
    pub scene: bool,
}

/// The state of review-type submissions (qualifications, products): a review waiting is
/// in progress; otherwise the newest decision counts, so a rejection fixed and approved
/// is done, and an approval followed by a rejection shows the rejection.
fn reviewed(items: &[&Submitted]) -> StepState {
    if items.is_empty() {
        return StepState::NotStarted;
    }
    if items.iter().any(|i| i.status == ItemStatus::InProgress) {
        return StepState::InProgress;
    }
    match items.last() {
        Some(last) if last.status == ItemStatus::Failed => StepState::Failed(last.reason.clone()),
        _ => StepState::Done,
    }
}

/// A confirmed step: done when confirmed, in progress when its API succeeded or
/// something was submitted for it.
fn confirmed(finished: i64, started: bool) -> StepState {
    if finished == 1 {
        StepState::Done
    } else if started {
        StepState::InProgress
    } else {
        StepState::NotStarted
    }
}

/// The state of every step, in order, for a tenant on the component.
pub fn track(reading: &Reading, items: &[Submitted]) -> Vec<(Step, StepState)> {
    let a = &reading.access_info;
    let of = |kinds: &[ItemKind]| -> Vec<&Submitted> { items.iter().filter(|i| kinds.contains(&i.kind)).collect() };
    let test_orders: Vec<&Submitted> = items.iter().filter(|i| i.kind == ItemKind::Order && !i.scene).collect();
    let reached = |stage: OrderStage| test_orders.iter().any(|o| o.stage.is_some_and(|s| s >= stage));
    let scene_reached = |stage: OrderStage| {
        items.iter().any(|o| o.kind == ItemKind::Order && o.scene && o.stage.is_some_and(|s| s >= stage))
    };
    let successes = [a.spu_audit_success, a.ec_order_success, a.send_delivery_success, a.ec_after_sale_success];
    let develop = if successes.iter().all(|s| *s == 1) {
        StepState::Done
    } else if successes.contains(&1) || !items.is_empty() {
        StepState::InProgress
    } else {
        StepState::NotStarted
    };
    let products = match (a.spu_audit_finished, reviewed(&of(&[ItemKind::Product]))) {
        (1, _) => StepState::Done,
        (_, StepState::Done) => StepState::InProgress,
        (_, other) => other,
    };
    let group = reading.scene_group_list.first();
    let scene_apply = match group {
        None => StepState::NotStarted,
        Some(g) if g.status == 2 || g.scene_group_ext_list.iter().any(|e| e.status == 2) => {
            StepState::Failed(g.reason.clone())
        }
        Some(_) => StepState::Done,
    };
    let scene_access = match group {
        None => StepState::NotStarted,
        Some(g) if g.scene_group_ext_list.iter().any(|e| e.status == 2) => StepState::Failed(g.reason.clone()),
        Some(g) if !g.scene_group_ext_list.is_empty() && g.scene_group_ext_list.iter().all(|e| e.status == 1) => {
            StepState::Done
        }
        Some(_) => StepState::InProgress,
    };
    let scene_ready = scene_access == StepState::Done;
    let scene_step = |stage: OrderStage| {
        if scene_reached(stage) {
            StepState::Done
        } else if scene_ready && (stage == OrderStage::Created || scene_reached(OrderStage::Created)) {
            StepState::InProgress
        } else {
            StepState::NotStarted
        }
    };
    vec![
        (Step::Apply, StepState::Done),
        (Step::Develop, develop),
        (Step::Qualifications, reviewed(&of(&[ItemKind::Brand, ItemKind::Category]))),
        (Step::Products, products),
        (Step::Orders, confirmed(a.ec_order_finished, a.ec_order_success == 1 || reached(OrderStage::Created))),
        (
            Step::Delivery,
            confirmed(a.send_delivery_finished, a.send_delivery_success == 1 || reached(OrderStage::Shipped)),
        ),
        (
            Step::AfterSales,
            confirmed(a.ec_after_sale_finished, a.ec_after_sale_success == 1 || reached(OrderStage::AfterSale)),
        ),
        (Step::Tested, confirmed(a.test_api_finished, false)),
        (Step::Released, confirmed(a.deploy_wxa_finished, false)),
        (Step::SceneApply, scene_apply),
        (Step::SceneAccess, scene_access),
        (Step::SceneOrder, scene_step(OrderStage::Created)),
        (Step::ScenePaymentParams, scene_step(OrderStage::PaymentParams)),
        (Step::ScenePaySync, scene_step(OrderStage::Paid)),
        (Step::SceneShip, scene_step(OrderStage::Shipped)),
        (Step::SceneReceive, scene_step(OrderStage::Received)),
        (Step::SceneAfterSale, scene_step(OrderStage::AfterSale)),
    ]
}

/// Whether the scene group may be applied for: every task of part 2 confirmed.
pub fn may_apply_scene(reading: &Reading) -> bool {
    reading.access_info.open_product_task_finished == 1 && reading.scene_group_list.is_empty()
}

// ---- sharers and promoters (seed 003 note 8, wave-2 notes §1.7) ----

/// A mini program has at most this many promoters.
pub const PROMOTER_LIMIT: i64 = 1_000;
/// A promoter is bound or unbound at most this many times a year.
pub const PROMOTER_CHANGES_PER_YEAR: usize = 2;
/// A mini program has at most this many sharers (WeChat's reason code 200).
pub const SHARER_LIMIT: i64 = 10_000;
/// A sharer is bound to at most this many mini programs.
pub const SHARER_MINI_PROGRAMS: i64 = 5;
/// Days between binding a sharer and unbinding it.
pub const SHARER_UNBIND_DAYS: i64 = 30;
const DAY: i64 = 86_400;
const YEAR: i64 = 365 * DAY;

/// Why a sharer or promoter change is refused before WeChat is asked (catalog keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeopleRefusal {
    PromoterLimit,
    PromoterChanges { next: i64 },
    SharerLimit,
    SharerMiniPrograms,
    SharerTooSoon { from: i64 },
    Duplicate,
}

impl PeopleRefusal {
    pub fn key(&self) -> &'static str {
        match self {
            Self::PromoterLimit => "live.people.refused.promoter_limit",
            Self::PromoterChanges { .. } => "live.people.refused.promoter_changes",
            Self::SharerLimit => "live.people.refused.sharer_limit",
            Self::SharerMiniPrograms => "live.people.refused.sharer_mini_programs",
            Self::SharerTooSoon { .. } => "live.people.refused.sharer_too_soon",
            Self::Duplicate => "live.people.refused.duplicate",
        }
    }

    /// The date the refusal names, if any (when a change becomes possible).
    pub fn date(&self) -> Option<i64> {
        match self {
            Self::PromoterChanges { next } => Some(*next),
            Self::SharerTooSoon { from } => Some(*from),
            _ => None,
        }
    }
}

/// The changes of the last year, oldest first; when the limit is reached, the time the
/// oldest of them leaves the year.
fn yearly(changes: &[i64], now: i64) -> Result<(), PeopleRefusal> {
    let mut recent: Vec<i64> = changes.iter().copied().filter(|t| *t > now - YEAR).collect();
    recent.sort_unstable();
    if recent.len() >= PROMOTER_CHANGES_PER_YEAR {
        return Err(PeopleRefusal::PromoterChanges { next: recent[recent.len() - PROMOTER_CHANGES_PER_YEAR] + YEAR });
    }
    Ok(())
}

/// Binding a promoter: at most [`PROMOTER_LIMIT`] bound, each changed at most twice a year.
/// `changes` are that person's earlier binds and unbinds (empty for someone new).
pub fn may_bind_promoter(bound: i64, changes: &[i64], already_bound: bool, now: i64) -> Result<(), PeopleRefusal> {
    if already_bound {
        return Err(PeopleRefusal::Duplicate);
    }
    if bound >= PROMOTER_LIMIT {
        return Err(PeopleRefusal::PromoterLimit);
    }
    yearly(changes, now)
}

/// Unbinding a promoter counts as a change too.
pub fn may_unbind_promoter(changes: &[i64], now: i64) -> Result<(), PeopleRefusal> {
    yearly(changes, now)
}

/// Inviting a sharer: at most [`SHARER_LIMIT`] per mini program (bound or invited), and
/// the same person on at most [`SHARER_MINI_PROGRAMS`] mini programs of this platform.
pub fn may_bind_sharer(active: i64, other_mini_programs: i64, already: bool) -> Result<(), PeopleRefusal> {
    if already {
        return Err(PeopleRefusal::Duplicate);
    }
    if active >= SHARER_LIMIT {
        return Err(PeopleRefusal::SharerLimit);
    }
    if other_mini_programs >= SHARER_MINI_PROGRAMS {
        return Err(PeopleRefusal::SharerMiniPrograms);
    }
    Ok(())
}

/// Unbinding a sharer: not before [`SHARER_UNBIND_DAYS`] after it was bound.
pub fn may_unbind_sharer(bound_at: Option<i64>, now: i64) -> Result<(), PeopleRefusal> {
    match bound_at {
        Some(at) if now < at + SHARER_UNBIND_DAYS * DAY => {
            Err(PeopleRefusal::SharerTooSoon { from: at + SHARER_UNBIND_DAYS * DAY })
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod people_tests {
    use super::*;

    #[test]
    fn promoter_limits() {
        assert_eq!(may_bind_promoter(999, &[], false, 0), Ok(()));
        assert_eq!(may_bind_promoter(1_000, &[], false, 0), Err(PeopleRefusal::PromoterLimit));
        let now = 400 * DAY;
        let twice = [now - 10 * DAY, now - 5 * DAY];
        assert_eq!(
            may_bind_promoter(1, &twice, false, now),
            Err(PeopleRefusal::PromoterChanges { next: now - 10 * DAY + YEAR })
        );
        assert_eq!(may_unbind_promoter(&[now - 10 * DAY], now), Ok(()));
        assert_eq!(may_unbind_promoter(&[now - YEAR - 1, now - 5 * DAY], now), Ok(()), "older than a year");
    }

    #[test]
    fn sharer_limits() {
        assert_eq!(may_bind_sharer(9_999, 4, false), Ok(()));
        assert_eq!(may_bind_sharer(10_000, 0, false), Err(PeopleRefusal::SharerLimit));
        assert_eq!(may_bind_sharer(0, 5, false), Err(PeopleRefusal::SharerMiniPrograms));
        assert_eq!(may_bind_sharer(0, 0, true), Err(PeopleRefusal::Duplicate));
        assert_eq!(may_unbind_sharer(Some(0), 29 * DAY), Err(PeopleRefusal::SharerTooSoon { from: 30 * DAY }));
        assert_eq!(may_unbind_sharer(Some(0), 30 * DAY), Ok(()));
        assert_eq!(may_unbind_sharer(None, 0), Ok(()), "never bound: an invitation can be withdrawn");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(kind: ItemKind, status: ItemStatus, reason: &str) -> Submitted {
        Submitted { kind, status, stage: None, reason: reason.into(), scene: false }
    }

    fn state(steps: &[(Step, StepState)], step: Step) -> StepState {
        steps.iter().find(|(s, _)| *s == step).map(|(_, s)| s.clone()).unwrap()
    }

    #[test]
    fn seventeen_steps_in_four_parts() {
        assert_eq!(Step::ALL.len(), 17);
        let parts: Vec<usize> = (1..=4).map(|p| Step::ALL.iter().filter(|s| s.part() == p).count()).collect();
        assert_eq!(parts, vec![1, 8, 2, 6]);
        assert!(Step::ALL.iter().all(|s| Step::parse(s.as_str()) == Some(*s)));
    }

    #[test]
    fn a_fresh_tenant_on_the_component_has_applied_and_nothing_else() {
        let steps = track(&Reading::default(), &[]);
        assert_eq!(state(&steps, Step::Apply), StepState::Done);
        assert!(steps.iter().skip(1).all(|(_, s)| *s == StepState::NotStarted), "{steps:?}");
    }

    #[test]
    fn a_rejected_qualification_fails_with_its_reason_until_a_resubmission_passes() {
        let rejected = item(ItemKind::Brand, ItemStatus::Failed, "商标证书不清晰");
        let steps = track(&Reading::default(), std::slice::from_ref(&rejected));
        assert_eq!(state(&steps, Step::Qualifications), StepState::Failed("商标证书不清晰".into()));
        let again = item(ItemKind::Brand, ItemStatus::InProgress, "");
        let steps = track(&Reading::default(), &[rejected.clone(), again]);
        assert_eq!(state(&steps, Step::Qualifications), StepState::InProgress);
        let passed = item(ItemKind::Brand, ItemStatus::Done, "");
        let steps = track(&Reading::default(), &[rejected, passed]);
        assert_eq!(state(&steps, Step::Qualifications), StepState::Done);
    }

    #[test]
    fn products_are_done_only_once_confirmed() {
        let approved = item(ItemKind::Product, ItemStatus::Done, "");
        let mut reading = Reading::default();
        assert_eq!(state(&track(&reading, std::slice::from_ref(&approved)), Step::Products), StepState::InProgress);
        reading.access_info.spu_audit_finished = 1;
        assert_eq!(state(&track(&reading, &[approved]), Step::Products), StepState::Done);
    }

    #[test]
    fn scene_steps_follow_the_scene_order() {
        let mut reading = Reading {
            scene_group_list: vec![SceneGroup {
                group_id: 1,
                scene_group_ext_list: vec![SceneExt { ext_id: 1, status: 1 }, SceneExt { ext_id: 2, status: 0 }],
                ..SceneGroup::default()
            }],
            ..Reading::default()
        };
        let steps = track(&reading, &[]);
        assert_eq!(state(&steps, Step::SceneApply), StepState::Done);
        assert_eq!(state(&steps, Step::SceneAccess), StepState::InProgress);
        assert_eq!(state(&steps, Step::SceneOrder), StepState::NotStarted);
        reading.scene_group_list[0].scene_group_ext_list[1].status = 1;
        let order = Submitted {
            kind: ItemKind::Order,
            status: ItemStatus::InProgress,
            stage: Some(OrderStage::Shipped),
            reason: String::new(),
            scene: true,
        };
        let steps = track(&reading, &[order]);
        assert_eq!(state(&steps, Step::SceneShip), StepState::Done);
        assert_eq!(state(&steps, Step::SceneReceive), StepState::InProgress);
        reading.scene_group_list[0].scene_group_ext_list[1].status = 2;
        reading.scene_group_list[0].reason = "客服能力不足".into();
        assert_eq!(state(&track(&reading, &[]), Step::SceneAccess), StepState::Failed("客服能力不足".into()));
    }

    #[test]
    fn the_capability_form_checks_each_field() {
        let ok = CapabilityForm { status: "legacy".into(), since: "2023-03-22".into(), note: " n ".into() };
        assert_eq!(ok.validate().unwrap().note, "n");
        let bad = CapabilityForm { status: "gone".into(), since: "2023-02-30".into(), note: String::new() };
        let errors = bad.validate().unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, vec!["status", "since", "note"]);
        assert!(means_retired(1_400_007) && means_retired(1_040_058) && !means_retired(1_040_003));
    }
}
