//! The custom trade component (`/shop/*`) and the mini program's WeChat Shop link list
//! (wave-2 notes §1.3, §1.8): paths and the few answer shapes the console reads. All are
//! `POST …?access_token=<authorizer_access_token>` with a JSON body.

use serde::Deserialize;
use serde_json::Value;

pub const REGISTER_APPLY: &str = "/shop/register/apply";
pub const REGISTER_CHECK: &str = "/shop/register/check";
pub const FINISH_ACCESS_INFO: &str = "/shop/register/finish_access_info";
pub const APPLY_SCENE: &str = "/shop/register/apply_scene";
pub const AUDIT_BRAND: &str = "/shop/audit/audit_brand";
pub const AUDIT_CATEGORY: &str = "/shop/audit/audit_category";
pub const AUDIT_RESULT: &str = "/shop/audit/result";
pub const CAT_GET: &str = "/shop/cat/get";
pub const SPU_ADD: &str = "/shop/spu/add";
pub const SPU_UPDATE: &str = "/shop/spu/update";
pub const SPU_GET: &str = "/shop/spu/get";
pub const ORDER_ADD: &str = "/shop/order/add";
pub const ORDER_PAYMENT_PARAMS: &str = "/shop/order/getpaymentparams";
pub const ORDER_PAY: &str = "/shop/order/pay";
pub const DELIVERY_COMPANIES: &str = "/shop/delivery/get_company_list";
pub const DELIVERY_SEND: &str = "/shop/delivery/send";
/// Spelled so by WeChat.
pub const DELIVERY_RECEIVE: &str = "/shop/delivery/recieve";
pub const AFTERSALE_ADD: &str = "/shop/ecaftersale/add";
pub const SHARER_BIND: &str = "/shop/sharer/bind";
pub const SHARER_UNBIND: &str = "/shop/sharer/unbind";
pub const SHARER_LIST: &str = "/shop/sharer/get_sharer_list";
/// The WeChat Shops a mini program is linked to (permission set 185).
pub const SHOP_LIST: &str = "/wxa/vip/shop/list/get";

/// The permission set `/wxa/vip/shop/list/get` needs.
pub const SHOP_LIST_SET: i64 = 185;
/// register/check's "not on the component".
pub const NOT_CONNECTED: i64 = 1_040_003;
/// shop/list/get's "no link".
pub const NO_SHOP_LINK: i64 = 2;
/// The Channels scene (live streams) an order made there carries.
pub const CHANNELS_SCENE: i64 = 1177;
/// The scene group of Channels and official accounts.
pub const CHANNELS_SCENE_GROUP: i64 = 1;

/// `{ "data": {…} }`, kept as JSON.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Data {
    #[serde(default)]
    pub data: Value,
}

/// `audit_brand` / `audit_category`.
#[derive(Debug, Clone, Deserialize)]
pub struct AuditId {
    pub audit_id: String,
}

/// `audit/result`'s `data`: 0 reviewing, 1 approved, 9 rejected.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuditResult {
    #[serde(default)]
    pub status: i64,
    #[serde(default)]
    pub reject_reason: String,
}

/// A number WeChat sends as a number or a string (`product_id`, `order_id`).
pub fn id_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

/// `delivery/get_company_list`'s `company_list` (top level, not under `data`).
pub fn companies(answer: &Value) -> Vec<(String, String)> {
    answer
        .get("company_list")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|c| (id_text(&c["delivery_id"]), c["delivery_name"].as_str().unwrap_or_default().to_string()))
                .filter(|(id, _)| !id.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// `shop/list/get`'s linked shops.
pub fn shops(answer: &Value) -> Vec<String> {
    answer
        .get("list")
        .and_then(Value::as_array)
        .map(|list| list.iter().map(|s| id_text(&s["shop_appid"])).filter(|s| !s.is_empty()).collect())
        .unwrap_or_default()
}

/// `cat/get`'s `third_cat_list`.
pub fn categories(answer: &Value) -> Vec<crate::domain::live_selling::CategoryOption> {
    answer
        .get("third_cat_list")
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(|c| serde_json::from_value(c.clone()).ok()).collect())
        .unwrap_or_default()
}

/// `sharer/get_sharer_list`'s (openid, bind_status) pairs.
pub fn sharers(answer: &Value) -> Vec<(String, i64)> {
    answer
        .get("sharer_info_list")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|s| (s["openid"].as_str().unwrap_or_default().to_string(), s["bind_status"].as_i64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default()
}
