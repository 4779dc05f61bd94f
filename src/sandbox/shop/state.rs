//! The sandbox's trade component tables.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Integer, Nullable, Text};
use serde_json::{Map, Value};

use crate::db::DbConn;
use crate::sandbox::schema::{sandbox_shop_accounts, sandbox_shop_objects};

/// The access flags of `register/check`, in WeChat's order.
pub const ACCESS_FLAGS: [&str; 11] = [
    "spu_audit_success",
    "ec_order_success",
    "send_delivery_success",
    "ec_after_sale_success",
    "spu_audit_finished",
    "ec_order_finished",
    "send_delivery_finished",
    "ec_after_sale_finished",
    "test_api_finished",
    "deploy_wxa_finished",
    "open_product_task_finished",
];

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sandbox_shop_accounts)]
pub struct ShopAccount {
    pub appid: String,
    pub legacy: bool,
    pub access_info: String,
    pub scene_status: i32,
    pub scene_reason: String,
    pub shop_appid: Option<String>,
    pub link_status: i32,
    pub updated_at: i64,
}

impl ShopAccount {
    pub fn none(appid: &str) -> Self {
        Self {
            appid: appid.into(),
            legacy: false,
            access_info: "{}".into(),
            scene_status: -1,
            scene_reason: String::new(),
            shop_appid: None,
            link_status: 0,
            updated_at: 0,
        }
    }

    /// Every flag, 0 when unset.
    pub fn flags(&self) -> Map<String, Value> {
        let stored: Map<String, Value> = serde_json::from_str(&self.access_info).unwrap_or_default();
        ACCESS_FLAGS
            .iter()
            .map(|k| (k.to_string(), Value::from(stored.get(*k).and_then(Value::as_i64).unwrap_or(0))))
            .collect()
    }

    pub fn flag(&self, key: &str) -> bool {
        self.flags().get(key).and_then(Value::as_i64) == Some(1)
    }
}

pub fn account(conn: &mut DbConn, appid: &str) -> QueryResult<ShopAccount> {
    Ok(sandbox_shop_accounts::table
        .find(appid)
        .select(ShopAccount::as_select())
        .first(conn)
        .optional()?
        .unwrap_or_else(|| ShopAccount::none(appid)))
}

pub fn accounts(conn: &mut DbConn) -> QueryResult<Vec<ShopAccount>> {
    sandbox_shop_accounts::table.order(sandbox_shop_accounts::appid).select(ShopAccount::as_select()).load(conn)
}

/// Creates or replaces the row of `appid`.
pub fn save_account(conn: &mut DbConn, a: &ShopAccount, now: i64) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO sandbox_shop_accounts (appid, legacy, access_info, scene_status, scene_reason, shop_appid, link_status, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (appid) DO UPDATE SET legacy = excluded.legacy, \
         access_info = excluded.access_info, scene_status = excluded.scene_status, scene_reason = excluded.scene_reason, \
         shop_appid = excluded.shop_appid, link_status = excluded.link_status, updated_at = excluded.updated_at",
    )
    .bind::<Text, _>(&a.appid)
    .bind::<Bool, _>(a.legacy)
    .bind::<Text, _>(&a.access_info)
    .bind::<Integer, _>(a.scene_status)
    .bind::<Text, _>(&a.scene_reason)
    .bind::<Nullable<Text>, _>(a.shop_appid.as_deref())
    .bind::<Integer, _>(a.link_status)
    .bind::<BigInt, _>(now)
    .execute(conn)?;
    Ok(())
}

/// Sets one access flag to 1.
pub fn set_flag(conn: &mut DbConn, appid: &str, key: &str, now: i64) -> QueryResult<()> {
    let mut a = account(conn, appid)?;
    let mut flags = a.flags();
    flags.insert(key.to_string(), Value::from(1));
    let finished = ACCESS_FLAGS[4..10].iter().all(|k| flags.get(*k).and_then(Value::as_i64) == Some(1));
    if finished {
        flags.insert("open_product_task_finished".into(), Value::from(1));
    }
    a.access_info = Value::Object(flags).to_string();
    save_account(conn, &a, now)
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = sandbox_shop_objects)]
pub struct Object {
    pub id: String,
    pub appid: String,
    pub kind: String,
    pub wx_id: String,
    pub out_id: String,
    pub status: i32,
    pub reason: String,
    pub data: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Object {
    pub fn data(&self) -> Value {
        serde_json::from_str(&self.data).unwrap_or(Value::Null)
    }
}

pub const BRAND: &str = "brand";
pub const CATEGORY: &str = "category";
pub const SPU: &str = "spu";
pub const ORDER: &str = "order";
pub const AFTERSALE: &str = "aftersale";
/// A sharer of the mini program: `wx_id` is its openid; status is `bind_status` (1 bound,
/// 2 refused, 3 inviting, 4 invite expired) or 0 after an unbind.
pub const SHARER: &str = "sharer";

/// A new numeric id of `kind`: `base` plus how many exist.
pub fn next_number(conn: &mut DbConn, kind: &str, base: i64) -> QueryResult<i64> {
    let n: i64 = sandbox_shop_objects::table.filter(sandbox_shop_objects::kind.eq(kind)).count().get_result(conn)?;
    Ok(base + n + 1)
}

#[allow(clippy::too_many_arguments)]
pub fn insert_object(
    conn: &mut DbConn,
    appid: &str,
    kind: &str,
    wx_id: &str,
    out_id: &str,
    status: i32,
    data: &Value,
    now: i64,
) -> QueryResult<()> {
    diesel::insert_into(sandbox_shop_objects::table)
        .values((
            sandbox_shop_objects::id.eq(crate::new_id()),
            sandbox_shop_objects::appid.eq(appid),
            sandbox_shop_objects::kind.eq(kind),
            sandbox_shop_objects::wx_id.eq(wx_id),
            sandbox_shop_objects::out_id.eq(out_id),
            sandbox_shop_objects::status.eq(status),
            sandbox_shop_objects::reason.eq(""),
            sandbox_shop_objects::data.eq(data.to_string()),
            sandbox_shop_objects::created_at.eq(now),
            sandbox_shop_objects::updated_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn find(conn: &mut DbConn, appid: &str, kind: &str, wx_id: &str) -> QueryResult<Option<Object>> {
    sandbox_shop_objects::table
        .filter(sandbox_shop_objects::appid.eq(appid))
        .filter(sandbox_shop_objects::kind.eq(kind))
        .filter(sandbox_shop_objects::wx_id.eq(wx_id))
        .select(Object::as_select())
        .first(conn)
        .optional()
}

pub fn find_out(conn: &mut DbConn, appid: &str, kind: &str, out_id: &str) -> QueryResult<Option<Object>> {
    sandbox_shop_objects::table
        .filter(sandbox_shop_objects::appid.eq(appid))
        .filter(sandbox_shop_objects::kind.eq(kind))
        .filter(sandbox_shop_objects::out_id.eq(out_id))
        .select(Object::as_select())
        .first(conn)
        .optional()
}

pub fn update(conn: &mut DbConn, id: &str, status: i32, reason: &str, data: &Value, now: i64) -> QueryResult<()> {
    diesel::update(sandbox_shop_objects::table.find(id))
        .set((
            sandbox_shop_objects::status.eq(status),
            sandbox_shop_objects::reason.eq(reason),
            sandbox_shop_objects::data.eq(data.to_string()),
            sandbox_shop_objects::updated_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn objects(conn: &mut DbConn, appid: Option<&str>) -> QueryResult<Vec<Object>> {
    let mut q = sandbox_shop_objects::table.select(Object::as_select()).into_boxed();
    if let Some(a) = appid {
        q = q.filter(sandbox_shop_objects::appid.eq(a.to_string()));
    }
    q.order((sandbox_shop_objects::created_at.desc(), sandbox_shop_objects::id.desc())).limit(200).load(conn)
}

/// Whether `appid` has an approved category audit for `third_cat_id`.
pub fn category_approved(conn: &mut DbConn, appid: &str, third_cat_id: i64) -> QueryResult<bool> {
    let approved: Vec<Object> = sandbox_shop_objects::table
        .filter(sandbox_shop_objects::appid.eq(appid))
        .filter(sandbox_shop_objects::kind.eq(CATEGORY))
        .filter(sandbox_shop_objects::status.eq(1))
        .select(Object::as_select())
        .load(conn)?;
    Ok(approved.iter().any(|o| o.data()["level3"].as_i64() == Some(third_cat_id)))
}
