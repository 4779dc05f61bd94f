//! Live selling at work (SPEC §3.7): reading where a tenant's dedicated mini program
//! stands with the custom trade component (or its WeChat Shop link), and the calls that
//! move each step of seed 003 on. Every action is refused before WeChat is called when
//! it cannot succeed (no binding, a retired sign-up, a step out of order); WeChat's own
//! refusals come back as [`Failure`]s. Each change is one transaction with its audit row.

use serde_json::{Value, json};

use crate::db::live_selling::{self as store, NewItem, World};
use crate::db::{self, DbConn, audit, bindings};
use crate::domain::failure::Failure;
use crate::domain::live_selling::{CapabilityStatus, ItemKind, ItemStatus, OrderStage, Reading, Step, may_apply_scene};
use crate::domain::live_selling::{
    PeopleRefusal, may_bind_promoter, may_bind_sharer, may_unbind_promoter, may_unbind_sharer,
};
use crate::services::platform::{Platform, PlatformError};
use crate::wechat::shop::{self as api, AuditId, AuditResult, Data};

/// An open ID the console's test orders are made for (the sandbox does not check it).
const TEST_OPENID: &str = "o_minihost_live_selling_test";

/// What the tenant asked for.
#[derive(Debug, Clone)]
pub enum Action {
    Check,
    /// A new sign-up to the component: refused unless the register says it is current.
    Apply,
    Brand {
        wording: String,
    },
    Category {
        third_cat_id: i64,
    },
    Product {
        title: String,
        third_cat_id: i64,
    },
    /// A rejected product, corrected and sent for review again.
    Resubmit {
        item: String,
        title: String,
    },
    /// A test order (part 2) or, once the scene is approved, an order in the Channels scene (part 4).
    Order {
        scene: bool,
    },
    /// The next call an order needs (payment parameters, payment, delivery, receipt, after-sale).
    Advance {
        item: String,
        delivery_id: Option<String>,
    },
    Finish {
        step: Step,
    },
    Scene,
    /// Invites a sharer (`/shop/sharer/bind`); the person accepts in WeChat.
    SharerBind {
        openid: String,
        name: String,
    },
    SharerUnbind {
        item: String,
    },
    /// Records a promoter set in the mini program's admin (WeChat has no API for it).
    PromoterAdd {
        openid: String,
        name: String,
    },
    PromoterRemove {
        item: String,
    },
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Check => "check",
            Self::Apply => "apply",
            Self::Brand { .. } => "brand",
            Self::Category { .. } => "category",
            Self::Product { .. } => "product",
            Self::Resubmit { .. } => "resubmit",
            Self::Order { .. } => "order",
            Self::Advance { .. } => "advance",
            Self::Finish { .. } => "finish",
            Self::Scene => "scene",
            Self::SharerBind { .. } => "sharer_bind",
            Self::SharerUnbind { .. } => "sharer_unbind",
            Self::PromoterAdd { .. } => "promoter_add",
            Self::PromoterRemove { .. } => "promoter_remove",
        }
    }
}

/// Why an action did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error("no active binding")]
    NotBound,
    /// Refused before calling WeChat: a catalog key saying why.
    #[error("refused: {0}")]
    Rule(&'static str),
    /// A sharer or promoter rule refused it before WeChat was asked.
    #[error("refused: {0:?}")]
    People(PeopleRefusal),
    /// WeChat refused a sharer invitation with this reason code.
    #[error("WeChat refused the invitation: reason {0}")]
    Invitation(i64),
    /// WeChat refused (or could not be reached); nothing was recorded as done.
    #[error("WeChat: {0:?}")]
    Refused(Failure),
    #[error(transparent)]
    Platform(#[from] PlatformError),
}

impl From<db::DbError> for ActionError {
    fn from(e: db::DbError) -> Self {
        Self::Platform(PlatformError::Database(e))
    }
}

impl From<diesel::result::Error> for ActionError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Platform(e.into())
    }
}

fn refused(e: PlatformError) -> ActionError {
    e.into_refusal().map_or_else(ActionError::Platform, ActionError::Refused)
}

/// The tenant's active binding, its snapshot, submissions and the trade component's status.
struct Context {
    appid: String,
    snapshot: Option<store::Snapshot>,
    items: Vec<store::Item>,
    trade_component: CapabilityStatus,
}

async fn context(platform: &Platform, tenant_id: &str) -> Result<Context, ActionError> {
    let tid = tenant_id.to_string();
    db::read(platform.pool(), move |c| -> Result<_, ActionError> {
        let Some(b) = bindings::active_for_tenant(c, &tid)? else { return Err(ActionError::NotBound) };
        let snapshot = store::snapshot(c, &tid)?.filter(|s| s.appid == b.appid);
        let items = store::items(c, &tid, &b.appid)?;
        let trade_component = store::capability(c, crate::domain::live_selling::Capability::TradeComponent)?
            .map_or(CapabilityStatus::Legacy, |r| r.status);
        Ok(Context { appid: b.appid, snapshot, items, trade_component })
    })
    .await
}

/// Does `action` for the tenant, then reads WeChat again. Returns the audit action name.
pub async fn act(
    platform: &Platform,
    tenant_id: &str,
    actor: &audit::Actor,
    action: Action,
) -> Result<(), ActionError> {
    let ctx = context(platform, tenant_id).await?;
    if matches!(action, Action::Check) {
        return check(platform, tenant_id, &ctx).await;
    }
    let legacy = ctx.snapshot.as_ref().is_some_and(|s| s.world == World::Legacy);
    let appid = ctx.appid.clone();
    let record = match &action {
        Action::Apply => {
            if !ctx.trade_component.accepts_sign_ups() {
                // WeChat answers 1400007 to every new sign-up: do not send one.
                return Err(ActionError::Refused(Failure::Errcode(1_400_007)));
            }
            call(platform, &appid, api::REGISTER_APPLY, &json!({})).await?;
            Record::None
        }
        _ if !legacy => return Err(ActionError::Rule("live.error.not_legacy")),
        Action::Brand { wording } => {
            let body = json!({ "audit_req": { "license": [], "brand_info": {
                "brand_audit_type": 1, "trademark_type": "29", "brand_management_type": 1,
                "commodity_origin_type": 2, "brand_wording": wording, "sale_authorization": [],
                "trademark_registration_certificate": [], "trademark_change_certificate": [],
                "trademark_registrant": "", "trademark_registrant_nu": "", "trademark_authorization_period": "",
                "trademark_registration_application": [], "trademark_applicant": "",
                "trademark_application_time": "", "imported_goods_form": [] } } });
            let a: AuditId = typed(platform, &appid, api::AUDIT_BRAND, &body).await?;
            Record::New(ItemKind::Brand, a.audit_id, wording.clone(), None, false)
        }
        Action::Category { third_cat_id } => {
            let reading = ctx.snapshot.as_ref().map(|s| s.reading.clone()).unwrap_or_default();
            let cat = reading
                .categories
                .iter()
                .find(|c| c.third_cat_id == *third_cat_id)
                .ok_or(ActionError::Rule("live.error.category"))?
                .clone();
            let body = json!({ "audit_req": { "license": [], "category_info": {
                "level1": cat.first_cat_id, "level2": cat.second_cat_id, "level3": cat.third_cat_id, "certificate": [] } } });
            let a: AuditId = typed(platform, &appid, api::AUDIT_CATEGORY, &body).await?;
            Record::New(ItemKind::Category, a.audit_id, cat.name(), None, false)
        }
        Action::Product { title, third_cat_id } => {
            let out_product_id =
                format!("mh-{}", crate::new_id().replace('-', "").chars().rev().take(12).collect::<String>());
            let v = call(platform, &appid, api::SPU_ADD, &spu_body(&out_product_id, title, *third_cat_id)).await?;
            let product_id = api::id_text(&v["data"]["product_id"]);
            let label = format!("{title} · {out_product_id}");
            Record::New(ItemKind::Product, product_id, label, None, false)
        }
        Action::Resubmit { item, title } => {
            let it = find(&ctx, item, ItemKind::Product)?;
            if it.status != ItemStatus::Failed {
                return Err(ActionError::Rule("live.error.not_rejected"));
            }
            let (out_product_id, third) = product_ref(platform, &appid, &it.wx_id).await?;
            let mut body = spu_body(&out_product_id, title, third);
            body["product_id"] = json!(it.wx_id.parse::<i64>().unwrap_or_default());
            call(platform, &appid, api::SPU_UPDATE, &body).await?;
            Record::Status(it.id.clone(), ItemStatus::InProgress, format!("{title} · {out_product_id}"))
        }
        Action::Order { scene } => {
            let reading = ctx.snapshot.as_ref().map(|s| s.reading.clone()).unwrap_or_default();
            let scene_ready = crate::domain::live_selling::track(&reading, &[])
                .iter()
                .any(|(s, st)| *s == Step::SceneAccess && *st == crate::domain::live_selling::StepState::Done);
            if *scene && !scene_ready {
                return Err(ActionError::Rule("live.error.scene_first"));
            }
            let Some(product) = ctx.items.iter().find(|i| i.kind == ItemKind::Product && i.status == ItemStatus::Done)
            else {
                return Err(ActionError::Rule("live.error.product_first"));
            };
            let (out_product_id, _) = product_ref(platform, &appid, &product.wx_id).await?;
            let out_order_id = format!("mh{}", crate::now());
            let out_order_id = format!("{out_order_id}{}", ctx.items.len());
            let body = json!({
                "create_time": crate::domain::day_of(crate::now()), "out_order_id": out_order_id,
                "openid": TEST_OPENID, "path": "pages/order/index", "out_user_id": "minihost-test",
                "scene": if *scene { api::CHANNELS_SCENE } else { 1001 },
                "order_detail": {
                    "product_infos": [{ "out_product_id": out_product_id, "out_sku_id": format!("{out_product_id}-1"),
                        "product_cnt": 1, "sale_price": 1, "real_price": 1, "path": "pages/product/index",
                        "title": "test", "head_img": PLACEHOLDER_IMG }],
                    "pay_info": { "pay_method": "微信支付", "prepay_id": "", "prepay_time": "" },
                    "price_info": { "order_price": 1, "freight": 0, "discounted_price": 0 }
                },
                "delivery_detail": { "delivery_type": 1 },
                "address_info": { "receiver_name": "测试", "detailed_address": "测试地址", "tel_number": "13800000000" }
            });
            let v = call(platform, &appid, api::ORDER_ADD, &body).await?;
            let label = format!("{out_order_id} · {}", api::id_text(&v["data"]["order_id"]));
            Record::New(ItemKind::Order, out_order_id, label, Some(OrderStage::Created), *scene)
        }
        Action::Advance { item, delivery_id } => {
            let it = find(&ctx, item, ItemKind::Order)?;
            let stage = it.stage.unwrap_or(OrderStage::Created);
            let oid = it.wx_id.clone();
            let next = match stage {
                OrderStage::Created if it.scene => {
                    call(
                        platform,
                        &appid,
                        api::ORDER_PAYMENT_PARAMS,
                        &json!({ "out_order_id": oid, "openid": TEST_OPENID }),
                    )
                    .await?;
                    OrderStage::PaymentParams
                }
                OrderStage::Created | OrderStage::PaymentParams => {
                    let body = json!({ "out_order_id": oid, "openid": TEST_OPENID, "action_type": 1,
                        "transaction_id": format!("42000{}", crate::now()), "pay_time": crate::domain::day_of(crate::now()) });
                    call(platform, &appid, api::ORDER_PAY, &body).await?;
                    OrderStage::Paid
                }
                OrderStage::Paid => {
                    let reading = ctx.snapshot.as_ref().map(|s| s.reading.clone()).unwrap_or_default();
                    let company = delivery_id
                        .as_ref()
                        .filter(|d| reading.companies.iter().any(|(id, _)| id == *d))
                        .ok_or(ActionError::Rule("live.error.company"))?;
                    let body = json!({ "out_order_id": oid, "openid": TEST_OPENID, "finish_all_delivery": 1,
                        "delivery_list": [{ "delivery_id": company, "waybill_id": format!("SF{}", crate::now()) }] });
                    call(platform, &appid, api::DELIVERY_SEND, &body).await?;
                    OrderStage::Shipped
                }
                OrderStage::Shipped => {
                    call(
                        platform,
                        &appid,
                        api::DELIVERY_RECEIVE,
                        &json!({ "out_order_id": oid, "openid": TEST_OPENID }),
                    )
                    .await?;
                    OrderStage::Received
                }
                OrderStage::Received => {
                    let body = json!({ "out_order_id": oid, "out_aftersale_id": format!("{oid}-as"), "openid": TEST_OPENID,
                        "type": 1, "orderamt": 1, "refund_reason": "测试售后", "refund_reason_type": 12,
                        "product_info": { "out_product_id": "", "out_sku_id": "", "product_cnt": 1 } });
                    call(platform, &appid, api::AFTERSALE_ADD, &body).await?;
                    OrderStage::AfterSale
                }
                OrderStage::AfterSale => return Err(ActionError::Rule("live.error.order_done")),
            };
            Record::Stage(it.id.clone(), next)
        }
        Action::Finish { step } => {
            let Some(item) = step.finish_item() else { return Err(ActionError::Rule("live.error.no_finish")) };
            call(platform, &appid, api::FINISH_ACCESS_INFO, &json!({ "access_info_item": item })).await?;
            Record::None
        }
        Action::Scene => {
            let reading = ctx.snapshot.as_ref().map(|s| s.reading.clone()).unwrap_or_default();
            if !may_apply_scene(&reading) {
                return Err(ActionError::Rule("live.error.scene_tasks"));
            }
            call(platform, &appid, api::APPLY_SCENE, &json!({ "scene_group_id": api::CHANNELS_SCENE_GROUP })).await?;
            Record::None
        }
        Action::SharerBind { openid, name } => {
            let (tid, a, o) = (tenant_id.to_string(), appid.clone(), openid.clone());
            let (active, elsewhere, already) = db::read(platform.pool(), move |c| -> Result<_, ActionError> {
                let existing = store::person_by_openid(c, &tid, &a, "sharer", &o)?;
                Ok((
                    store::count_people(c, &tid, &a, "sharer", &["inviting", "bound"])?,
                    store::sharer_elsewhere(c, &o, &a)?,
                    existing.is_some_and(|p| matches!(p.status.as_str(), "inviting" | "bound")),
                ))
            })
            .await?;
            may_bind_sharer(active, elsewhere, already).map_err(ActionError::People)?;
            let v = call(platform, &appid, api::SHARER_BIND, &json!({ "openids": [openid] })).await?;
            let r = v["result_list"].as_array().and_then(|l| l.first()).cloned().unwrap_or_default();
            if r["result_code"].as_i64() != Some(0) {
                return Err(ActionError::Invitation(r["reason_code"].as_i64().unwrap_or_default()));
            }
            Record::Person(PersonChange::Put("sharer", openid.clone(), name.clone(), "inviting"))
        }
        Action::SharerUnbind { item } => {
            let p = person(platform, tenant_id, item, "sharer").await?;
            if !matches!(p.status.as_str(), "inviting" | "bound") {
                return Err(ActionError::Rule("live.error.no_item"));
            }
            may_unbind_sharer(p.bound_at, crate::now()).map_err(ActionError::People)?;
            call(platform, &appid, api::SHARER_UNBIND, &json!({ "openids": [p.openid] })).await?;
            let mut changes = p.changes.clone();
            changes.push(crate::now());
            Record::Person(PersonChange::Set(p.id, "unbound", None, changes))
        }
        Action::PromoterAdd { openid, name } => {
            let (tid, a, o) = (tenant_id.to_string(), appid.clone(), openid.clone());
            let (bound, existing) = db::read(platform.pool(), move |c| -> Result<_, ActionError> {
                Ok((
                    store::count_people(c, &tid, &a, "promoter", &["bound"])?,
                    store::person_by_openid(c, &tid, &a, "promoter", &o)?,
                ))
            })
            .await?;
            let changes = existing.as_ref().map(|p| p.changes.clone()).unwrap_or_default();
            let already = existing.is_some_and(|p| p.status == "bound");
            may_bind_promoter(bound, &changes, already, crate::now()).map_err(ActionError::People)?;
            Record::Person(PersonChange::Put("promoter", openid.clone(), name.clone(), "bound"))
        }
        Action::PromoterRemove { item } => {
            let p = person(platform, tenant_id, item, "promoter").await?;
            if p.status != "bound" {
                return Err(ActionError::Rule("live.error.no_item"));
            }
            may_unbind_promoter(&p.changes, crate::now()).map_err(ActionError::People)?;
            let mut changes = p.changes.clone();
            changes.push(crate::now());
            Record::Person(PersonChange::Set(p.id, "unbound", None, changes))
        }
        Action::Check => Record::None,
    };
    let (tid, actor_c, name, appid_c) = (tenant_id.to_string(), actor.clone(), action.name(), appid.clone());
    let detail = format!("{action:?}");
    db::run(platform.pool(), move |c| -> Result<_, ActionError> {
        db::write_tx(c, |c| {
            let now = crate::now();
            match &record {
                Record::New(kind, wx_id, label, stage, scene) => {
                    let new = NewItem {
                        tenant_id: &tid,
                        appid: &appid_c,
                        kind: *kind,
                        wx_id,
                        label,
                        status: ItemStatus::InProgress,
                        stage: *stage,
                        scene: *scene,
                    };
                    store::insert_item(c, &new, now)?;
                }
                Record::Status(id, status, label) => {
                    store::set_status(c, &tid, id, *status, "", now)?;
                    store::set_label(c, &tid, id, label)?;
                }
                Record::Stage(id, stage) => {
                    store::set_stage(c, &tid, id, *stage, now)?;
                }
                Record::Person(PersonChange::Put(role, openid, name, status)) => {
                    store::put_person(c, &tid, &appid_c, role, openid, name, status, now)?;
                }
                Record::Person(PersonChange::Set(id, status, bound_at, changes)) => {
                    store::set_person(c, &tid, id, status, *bound_at, changes, "", now)?;
                }
                Record::None => {}
            }
            write_audit(c, &actor_c, &tid, name, &appid_c, &json!({ "action": detail }), now)?;
            Ok(())
        })
    })
    .await?;
    let ctx = context(platform, tenant_id).await?;
    check(platform, tenant_id, &ctx).await
}

/// What an action leaves to store.
enum Record {
    None,
    New(ItemKind, String, String, Option<OrderStage>, bool),
    Status(String, ItemStatus, String),
    Stage(String, OrderStage),
    Person(PersonChange),
}

/// A sharer or promoter written.
enum PersonChange {
    /// role, openid, name, status
    Put(&'static str, String, String, &'static str),
    /// id, status, bound_at, changes
    Set(String, &'static str, Option<i64>, Vec<i64>),
}

/// One of the tenant's sharers or promoters.
async fn person(
    platform: &Platform,
    tenant_id: &str,
    id: &str,
    role: &'static str,
) -> Result<store::Person, ActionError> {
    let (tid, id) = (tenant_id.to_string(), id.to_string());
    let p = db::read(platform.pool(), move |c| -> Result<_, ActionError> { Ok(store::person(c, &tid, &id)?) }).await?;
    p.filter(|p| p.role == role).ok_or(ActionError::Rule("live.error.no_item"))
}

const PLACEHOLDER_IMG: &str = "https://mmbiz.qpic.cn/mmbiz_png/minihost/placeholder.png";

fn spu_body(out_product_id: &str, title: &str, third_cat_id: i64) -> Value {
    json!({
        "out_product_id": out_product_id, "title": title, "path": format!("pages/product/index?id={out_product_id}"),
        "head_img": [PLACEHOLDER_IMG], "qualification_pics": [], "desc_info": { "desc": title, "imgs": [] },
        "third_cat_id": third_cat_id, "brand_id": 2_100_000_000_i64, "info_version": crate::now().to_string(),
        "skus": [{ "out_product_id": out_product_id, "out_sku_id": format!("{out_product_id}-1"),
            "thumb_img": PLACEHOLDER_IMG, "sale_price": 1, "market_price": 1, "stock_num": 100,
            "barcode": "", "sku_code": "", "sku_attrs": [] }],
        "scene_group_list": [],
    })
}

/// A product's `out_product_id` and category, read back from WeChat.
async fn product_ref(platform: &Platform, appid: &str, product_id: &str) -> Result<(String, i64), ActionError> {
    let body = json!({ "product_id": product_id.parse::<i64>().unwrap_or_default(), "need_edit_spu": 0 });
    let v = call(platform, appid, api::SPU_GET, &body).await?;
    let spu = &v["data"]["spu"];
    Ok((
        spu["out_product_id"].as_str().unwrap_or_default().to_string(),
        spu["third_cat_id"].as_i64().unwrap_or_default(),
    ))
}

fn find<'a>(ctx: &'a Context, id: &str, kind: ItemKind) -> Result<&'a store::Item, ActionError> {
    ctx.items.iter().find(|i| i.id == id && i.kind == kind).ok_or(ActionError::Rule("live.error.no_item"))
}

async fn call(platform: &Platform, appid: &str, path: &str, body: &Value) -> Result<Value, ActionError> {
    platform.call_authorizer::<Value>(appid, path, body).await.map_err(refused)
}

async fn typed<T: serde::de::DeserializeOwned>(
    platform: &Platform,
    appid: &str,
    path: &str,
    body: &Value,
) -> Result<T, ActionError> {
    platform.call_authorizer::<T>(appid, path, body).await.map_err(refused)
}

fn write_audit(
    c: &mut DbConn,
    actor: &audit::Actor,
    tenant_id: &str,
    name: &str,
    appid: &str,
    after: &Value,
    now: i64,
) -> diesel::QueryResult<()> {
    let action = format!("live_selling.{name}");
    let subject = format!("mp:{appid}");
    audit::write(
        c,
        audit::Record {
            actor,
            tenant_id: Some(tenant_id),
            action: &action,
            subject: &subject,
            before: None::<&Value>,
            after: Some(after),
        },
        now,
    )
}

/// Reads where the tenant stands and stores it: register/check (with the express
/// companies and categories, and the results of reviews whose push may have been lost),
/// or for a mini program not on the component, its WeChat Shop links.
async fn check(platform: &Platform, tenant_id: &str, ctx: &Context) -> Result<(), ActionError> {
    let appid = ctx.appid.clone();
    let mut sharers: Vec<(String, i64)> = Vec::new();
    let (world, reading, failure, updates) =
        match platform.call_authorizer::<Data>(&appid, api::REGISTER_CHECK, &json!({})).await {
            Ok(d) => {
                let mut reading = Reading::from_check(&d.data);
                if let Ok(v) = platform.call_authorizer::<Value>(&appid, api::DELIVERY_COMPANIES, &json!({})).await {
                    reading.companies = api::companies(&v);
                }
                if let Ok(v) = platform.call_authorizer::<Value>(&appid, api::CAT_GET, &json!({})).await {
                    reading.categories = api::categories(&v);
                }
                let updates = reconcile(platform, &appid, &ctx.items).await;
                let body = json!({ "page": 1, "page_size": 100 });
                if let Ok(v) = platform.call_authorizer::<Value>(&appid, api::SHARER_LIST, &body).await {
                    sharers = api::sharers(&v);
                }
                (World::Legacy, reading, None, updates)
            }
            Err(e) if e.code() == Some(api::NOT_CONNECTED) => {
                let mut reading = Reading::default();
                let failure = match platform.call_authorizer::<Value>(&appid, api::SHOP_LIST, &json!({})).await {
                    Ok(v) => {
                        reading.shops = api::shops(&v);
                        None
                    }
                    Err(e) if e.code() == Some(api::NO_SHOP_LINK) => None,
                    Err(e) => match refused(e) {
                        ActionError::Refused(f) => Some(f),
                        other => return Err(other),
                    },
                };
                (World::Shop, reading, failure, Vec::new())
            }
            Err(e) => match refused(e) {
                ActionError::Refused(f) => (World::Unknown, Reading::default(), Some(f), Vec::new()),
                other => return Err(other),
            },
        };
    let tid = tenant_id.to_string();
    db::run(platform.pool(), move |c| -> Result<_, ActionError> {
        db::write_tx(c, |c| {
            // The binding may have ended while WeChat was asked: then nothing is stored.
            if bindings::active_for_tenant(c, &tid)?.is_none_or(|b| b.appid != appid) {
                return Ok(());
            }
            let now = crate::now();
            store::put_snapshot(c, &tid, &appid, world, &reading, failure, now)?;
            sync_sharers(c, &tid, &appid, &sharers, now)?;
            for (id, status, reason) in &updates {
                if store::set_status(c, &tid, id, *status, reason, now)? {
                    let after = json!({ "item": id, "status": status.as_str(), "reason": reason, "source": "poll" });
                    write_audit(c, &audit::Actor::system(), &tid, "review_result", &appid, &after, now)?;
                }
            }
            Ok(())
        })
    })
    .await
}

/// Reviews still waiting, asked again (a push is not guaranteed): qualifications by
/// `audit/result`, products by `spu/get`'s `edit_status`.
async fn reconcile(platform: &Platform, appid: &str, items: &[store::Item]) -> Vec<(String, ItemStatus, String)> {
    let mut out = Vec::new();
    for it in items.iter().filter(|i| i.status == ItemStatus::InProgress) {
        match it.kind {
            ItemKind::Brand | ItemKind::Category => {
                let body = json!({ "audit_id": it.wx_id });
                if let Ok(d) = platform.call_authorizer::<Data>(appid, api::AUDIT_RESULT, &body).await {
                    let r: AuditResult = serde_json::from_value(d.data).unwrap_or_default();
                    match r.status {
                        1 => out.push((it.id.clone(), ItemStatus::Done, String::new())),
                        9 => out.push((it.id.clone(), ItemStatus::Failed, r.reject_reason)),
                        _ => {}
                    }
                }
            }
            ItemKind::Product => {
                let body = json!({ "product_id": it.wx_id.parse::<i64>().unwrap_or_default(), "need_edit_spu": 1 });
                if let Ok(v) = platform.call_authorizer::<Value>(appid, api::SPU_GET, &body).await {
                    let spu = &v["data"]["spu"];
                    let reason = spu["audit_info"]["reject_reason"].as_str().unwrap_or_default().to_string();
                    match spu["edit_status"].as_i64() {
                        Some(4) => out.push((it.id.clone(), ItemStatus::Done, String::new())),
                        Some(3) => out.push((it.id.clone(), ItemStatus::Failed, reason)),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// A trade component push (wave-2 notes §1.5) applied to the tenant that has `appid`
/// bound, in the inbox's transaction. Idempotent: the same result twice changes nothing
/// the second time. Returns the event's status and what happened.
pub fn apply_push(
    conn: &mut DbConn,
    appid: &str,
    event: &str,
    fields: &[(String, String)],
    now: i64,
) -> diesel::QueryResult<(crate::db::platform::EventStatus, String)> {
    use crate::db::platform::EventStatus;
    use crate::domain::live_selling::{SceneExt, SceneGroup};
    use crate::wechat::crypto::parse_flat_xml;

    let Some(binding) = bindings::active_for_appid(conn, appid)? else {
        return Ok((EventStatus::Ignored, format!("no tenant has {appid} bound")));
    };
    let tid = binding.tenant_id;
    let inner = |name: &str| -> Vec<(String, String)> {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| parse_flat_xml(&format!("<xml>{v}</xml>")).ok())
            .unwrap_or_default()
    };
    let get = |f: &[(String, String)], name: &str| -> String {
        f.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default()
    };
    let (kind, body) = match event {
        "open_product_account_register" => {
            let status = get(&inner("OpenProductAccountRegister"), "status");
            let world = match status.as_str() {
                "2" => World::Legacy,
                "10" => World::Shop,
                _ => return Ok((EventStatus::Ignored, format!("account status {status} is not handled"))),
            };
            if !store::set_world(conn, &tid, appid, world, now)? {
                return Ok((EventStatus::Processed, "already applied".into()));
            }
            let after = json!({ "world": world.as_str(), "status": status });
            write_audit(conn, &audit::Actor::system(), &tid, "account_register", appid, &after, now)?;
            return Ok((EventStatus::Processed, format!("the mini program is now {}", world.as_str())));
        }
        "open_product_brand_audit" => (ItemKind::Brand, inner("QualificationAuditResult")),
        "open_product_category_audit" => (ItemKind::Category, inner("QualificationAuditResult")),
        "open_product_spu_audit" => (ItemKind::Product, inner("OpenProductSpuAudit")),
        "open_product_scene_group_audit" => {
            let body = inner("SceneGroupAudit");
            let exts: Vec<SceneExt> = body
                .iter()
                .filter(|(k, _)| k == "scene_group_ext_list")
                .filter_map(|(_, v)| parse_flat_xml(&format!("<xml>{v}</xml>")).ok())
                .map(|e| SceneExt {
                    ext_id: get(&e, "ext_id").parse().unwrap_or_default(),
                    status: get(&e, "status").parse().unwrap_or_default(),
                })
                .collect();
            let status = if exts.iter().any(|e| e.status == 2) {
                2
            } else if !exts.is_empty() && exts.iter().all(|e| e.status == 1) {
                1
            } else {
                0
            };
            let group = SceneGroup {
                group_id: get(&body, "group_id").parse().unwrap_or_default(),
                name: get(&body, "name"),
                reason: get(&body, "reason"),
                status,
                scene_group_ext_list: exts,
            };
            let after = json!({ "scene_group": group.group_id, "status": status, "reason": group.reason });
            if !store::set_scene_groups(conn, &tid, vec![group])? {
                return Ok((EventStatus::Ignored, "the tenant was never checked".into()));
            }
            write_audit(conn, &audit::Actor::system(), &tid, "scene_result", appid, &after, now)?;
            return Ok((EventStatus::Processed, format!("scene group status {status}")));
        }
        other => return Ok((EventStatus::Ignored, format!("no handler for trade component event {other}"))),
    };
    let (id_field, passed, rejected) = match kind {
        ItemKind::Product => ("product_id", "4", "3"),
        _ => ("audit_id", "1", "9"),
    };
    let wx_id = get(&body, id_field);
    let Some(item) = store::item_by_wx(conn, &tid, kind, &wx_id)? else {
        return Ok((EventStatus::Ignored, format!("no {} {wx_id} was submitted by this console", kind.as_str())));
    };
    let status = get(&body, "status");
    let (new_status, reason) = if status == passed {
        (ItemStatus::Done, String::new())
    } else if status == rejected {
        (ItemStatus::Failed, get(&body, "reject_reason"))
    } else {
        return Ok((EventStatus::Ignored, format!("status {status} is not a result")));
    };
    if !store::set_status(conn, &tid, &item.id, new_status, &reason, now)? {
        return Ok((EventStatus::Processed, "already applied".into()));
    }
    let after = json!({ "item": item.id, "status": new_status.as_str(), "reason": reason, "source": "push" });
    write_audit(conn, &audit::Actor::system(), &tid, "review_result", appid, &after, now)?;
    Ok((EventStatus::Processed, format!("{} {wx_id} is now {}", kind.as_str(), new_status.as_str())))
}

/// The sharers' `bind_status` from `get_sharer_list` (1 bound, 2 refused, 3 inviting, 4
/// invite expired) applied to the tenant's invited and bound sharers.
fn sync_sharers(c: &mut DbConn, tid: &str, appid: &str, listed: &[(String, i64)], now: i64) -> diesel::QueryResult<()> {
    for p in store::people(c, tid, appid)?.into_iter().filter(|p| p.role == "sharer") {
        if !matches!(p.status.as_str(), "inviting" | "bound") {
            continue;
        }
        let Some((_, bind)) = listed.iter().find(|(o, _)| *o == p.openid) else { continue };
        let status = match bind {
            1 => "bound",
            2 => "refused",
            4 => "expired",
            _ => "inviting",
        };
        if status != p.status {
            let bound_at = if status == "bound" { p.bound_at.or(Some(now)) } else { None };
            store::set_person(c, tid, &p.id, status, bound_at, &p.changes, "", now)?;
        }
    }
    Ok(())
}
