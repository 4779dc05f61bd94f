//! The trade component's endpoints under `/sandbox/wechat`, same paths and bodies as on
//! api.weixin.qq.com (wave-2 notes §1.3), each with the mini program's authorizer token.
//! All are POST (43002 otherwise) with a JSON body.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::state::{self, AFTERSALE, BRAND, CATEGORY, ORDER, SPU, ShopAccount};
use crate::db::{self, DbConn};
use crate::sandbox::api::{ApiError, Body, answer, check_authorizer_token, query_map};
use crate::sandbox::{Sandbox, store};

/// The permission set `/wxa/vip/shop/list/get` needs.
pub const SET_SHOP_LINK: i64 = 185;

/// The categories `cat/get` offers: (first, second, third ids; their names).
pub const CATEGORIES: [(i64, i64, i64, &str, &str, &str); 3] = [
    (1001, 1101, 1201, "食品饮料", "休闲食品", "坚果炒货"),
    (1001, 1102, 1202, "食品饮料", "粮油调味", "食用油"),
    (2001, 2101, 2201, "家居日用", "收纳整理", "收纳箱"),
];

/// The express companies `delivery/get_company_list` answers.
pub const COMPANIES: [(&str, &str); 3] = [("SF", "顺丰速运"), ("ZTO", "中通快递"), ("YD", "韵达快递")];

fn wx(code: i64) -> ApiError {
    ApiError::Wx(code)
}

fn ok(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.insert("errcode".into(), json!(0));
        o.insert("errmsg".into(), json!("ok"));
    }
    v
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    use crate::sandbox::api::write;
    write(cfg, "/shop/register/apply", register_apply);
    write(cfg, "/shop/register/check", register_check);
    write(cfg, "/shop/register/finish_access_info", finish_access_info);
    write(cfg, "/shop/register/apply_scene", apply_scene);
    write(cfg, "/shop/cat/get", cat_get);
    write(cfg, "/shop/audit/audit_brand", audit_brand);
    write(cfg, "/shop/audit/audit_category", audit_category);
    write(cfg, "/shop/audit/result", audit_result);
    write(cfg, "/shop/spu/add", spu_add);
    write(cfg, "/shop/spu/update", spu_update);
    write(cfg, "/shop/spu/get", spu_get);
    write(cfg, "/shop/order/add", order_add);
    write(cfg, "/shop/order/getpaymentparams", order_payment_params);
    write(cfg, "/shop/order/pay", order_pay);
    write(cfg, "/shop/delivery/get_company_list", delivery_companies);
    write(cfg, "/shop/delivery/send", delivery_send);
    write(cfg, "/shop/delivery/recieve", delivery_receive);
    write(cfg, "/shop/ecaftersale/add", aftersale_add);
    write(cfg, "/shop/sharer/bind", sharer_bind);
    write(cfg, "/shop/sharer/unbind", sharer_unbind);
    write(cfg, "/shop/sharer/get_sharer_list", sharer_list);
    write(cfg, "/wxa/vip/shop/list/get", shop_list);
}

/// The mini program behind the token (any mini program; the set for `/shop/*` is unconfirmed).
fn mini_program(conn: &mut DbConn, query: &HashMap<String, String>, now: i64) -> Result<String, ApiError> {
    let appid = check_authorizer_token(conn, query.get("access_token").map(String::as_str), now).map_err(wx)?;
    store::find_account(conn, &appid)?.filter(store::Account::is_mini_program).ok_or(wx(1_040_003))?;
    Ok(appid)
}

/// A mini program on the component: 1040003 otherwise.
fn connected(conn: &mut DbConn, query: &HashMap<String, String>, now: i64) -> Result<ShopAccount, ApiError> {
    let appid = mini_program(conn, query, now)?;
    let a = state::account(conn, &appid)?;
    if a.legacy { Ok(a) } else { Err(wx(1_040_003)) }
}

type Handler = fn(&mut DbConn, ShopAccount, Body, i64) -> Result<Value, ApiError>;

/// Runs `f` for a connected mini program in one write transaction.
async fn shop(sb: web::Data<Sandbox>, req: HttpRequest, bytes: web::Bytes, f: Handler) -> HttpResponse {
    let query = query_map(&req);
    let woke = sb.pusher.clone();
    let resp = answer(&sb, move |c, now| {
        db::write_tx(c, |c| {
            let a = connected(c, &query, now)?;
            let body = Body::parse_or_empty(&bytes)?;
            f(c, a, body, now)
        })
    })
    .await;
    woke.wake();
    resp
}

macro_rules! endpoint {
    ($name:ident, $f:path) => {
        pub async fn $name(sb: web::Data<Sandbox>, req: HttpRequest, bytes: web::Bytes) -> HttpResponse {
            shop(sb, req, bytes, $f).await
        }
    };
}

/// `register/apply`: new sign-ups are closed.
pub async fn register_apply(sb: web::Data<Sandbox>, req: HttpRequest) -> HttpResponse {
    let query = query_map(&req);
    answer(&sb, move |c, now| {
        mini_program(c, &query, now)?;
        Err(wx(1_400_007))
    })
    .await
}

/// `register/check`: 1040003 when not on the component.
pub async fn register_check(sb: web::Data<Sandbox>, req: HttpRequest) -> HttpResponse {
    let query = query_map(&req);
    answer(&sb, move |c, now| {
        let a = connected(c, &query, now)?;
        Ok(ok(json!({ "data": {
            "status": 2,
            "access_info": a.flags(),
            "scene_group_list": scene_groups(&a),
        } })))
    })
    .await
}

fn ext_status(scene_status: i32) -> i32 {
    scene_status.max(0)
}

pub fn scene_groups(a: &ShopAccount) -> Value {
    if a.scene_status < 0 {
        return json!([]);
    }
    let s = ext_status(a.scene_status);
    json!([{ "group_id": 1, "name": "视频号、公众号场景", "reason": a.scene_reason, "status": s,
        "scene_group_ext_list": [{ "ext_id": 1, "status": s }, { "ext_id": 2, "status": s }] }])
}

/// `access_info_item` → (the flag it sets, the success flag it needs).
fn finish_flag(item: i64) -> Option<(&'static str, Option<&'static str>)> {
    Some(match item {
        6 => ("spu_audit_finished", Some("spu_audit_success")),
        7 | 19 => ("ec_order_finished", Some("ec_order_success")),
        8 => ("send_delivery_finished", Some("send_delivery_success")),
        9 | 20 => ("ec_after_sale_finished", Some("ec_after_sale_success")),
        10 => ("test_api_finished", None),
        11 => ("deploy_wxa_finished", None),
        _ => return None,
    })
}

fn finish(c: &mut DbConn, a: ShopAccount, body: Body, now: i64) -> Result<Value, ApiError> {
    let item = body.int("access_info_item")?.ok_or(wx(47001))?;
    let (flag, needs) = finish_flag(item).ok_or(wx(40097))?;
    if needs.is_some_and(|n| !a.flag(n)) {
        return Err(wx(1_040_041));
    }
    state::set_flag(c, &a.appid, flag, now)?;
    Ok(ok(json!({})))
}
endpoint!(finish_access_info, finish);

/// `register/apply_scene`: 1400007 for a mini program not on the component.
pub async fn apply_scene(sb: web::Data<Sandbox>, req: HttpRequest, bytes: web::Bytes) -> HttpResponse {
    let query = query_map(&req);
    answer(&sb, move |c, now| {
        db::write_tx(c, |c| {
            let appid = mini_program(c, &query, now)?;
            let mut a = state::account(c, &appid)?;
            if !a.legacy {
                return Err(wx(1_400_007));
            }
            let body = Body::parse_or_empty(&bytes)?;
            let group = body.int("scene_group_id")?.or(body.int("scene_group")?).ok_or(wx(47001))?;
            if group != 1 {
                return Err(wx(40097));
            }
            if !a.flag("open_product_task_finished") {
                return Err(wx(1_040_041));
            }
            a.scene_status = 0;
            a.scene_reason = String::new();
            state::save_account(c, &a, now)?;
            Ok(ok(json!({})))
        })
    })
    .await
}

fn cats(_c: &mut DbConn, _a: ShopAccount, _b: Body, _now: i64) -> Result<Value, ApiError> {
    let list: Vec<Value> = CATEGORIES
        .iter()
        .map(|(f, s, t, fname, sname, tname)| {
            json!({ "first_cat_id": f, "second_cat_id": s, "third_cat_id": t, "first_cat_name": fname,
                "second_cat_name": sname, "third_cat_name": tname, "qualification": "", "qualification_type": 1,
                "product_qualification": "", "product_qualification_type": 0 })
        })
        .collect();
    Ok(ok(json!({ "third_cat_list": list })))
}
endpoint!(cat_get, cats);

fn new_audit(c: &mut DbConn, a: &ShopAccount, kind: &str, data: Value, now: i64) -> Result<Value, ApiError> {
    let audit_id = format!("RQAAA{}", store::random_token("", 16));
    state::insert_object(c, &a.appid, kind, &audit_id, "", 0, &data, now)?;
    Ok(ok(json!({ "audit_id": audit_id })))
}

fn brand(c: &mut DbConn, a: ShopAccount, body: Body, now: i64) -> Result<Value, ApiError> {
    let req = body.map().get("audit_req").ok_or(wx(47001))?;
    let wording = req["brand_info"]["brand_wording"].as_str().unwrap_or_default().trim().to_string();
    if wording.is_empty() {
        return Err(wx(47001));
    }
    new_audit(c, &a, BRAND, json!({ "brand_wording": wording }), now)
}
endpoint!(audit_brand, brand);

fn category(c: &mut DbConn, a: ShopAccount, body: Body, now: i64) -> Result<Value, ApiError> {
    let info = &body.map().get("audit_req").ok_or(wx(47001))?["category_info"];
    let level3 = info["level3"].as_i64().ok_or(wx(47001))?;
    if !CATEGORIES.iter().any(|c| c.2 == level3) {
        return Err(wx(40097));
    }
    new_audit(c, &a, CATEGORY, json!({ "level1": info["level1"], "level2": info["level2"], "level3": level3 }), now)
}
endpoint!(audit_category, category);

fn result(c: &mut DbConn, a: ShopAccount, body: Body, _now: i64) -> Result<Value, ApiError> {
    let id = body.str("audit_id").ok_or(wx(47001))?;
    let o = match state::find(c, &a.appid, BRAND, &id)? {
        Some(o) => o,
        None => state::find(c, &a.appid, CATEGORY, &id)?.ok_or(wx(40097))?,
    };
    let mut data = json!({ "status": o.status, "reject_reason": o.reason });
    if o.kind == BRAND && o.status == 1 {
        data["brand_id"] = json!(o.data()["brand_id"]);
    }
    Ok(ok(json!({ "data": data })))
}
endpoint!(audit_result, result);

fn spu_fields(body: &Body) -> Result<(String, String, i64), ApiError> {
    let out = body.str("out_product_id").ok_or(wx(47001))?;
    let title = body.str("title").ok_or(wx(47001))?;
    let cat = body.int("third_cat_id")?.ok_or(wx(47001))?;
    Ok((out, title, cat))
}

fn spu_json(o: &state::Object) -> Value {
    let d = o.data();
    json!({
        "product_id": o.wx_id.parse::<i64>().unwrap_or_default(), "out_product_id": o.out_id,
        "title": d["title"], "third_cat_id": d["third_cat_id"], "status": d["status"].as_i64().unwrap_or(0),
        "edit_status": o.status, "audit_info": { "reject_reason": o.reason, "audit_time": "" },
        "create_time": o.created_at, "update_time": o.updated_at,
    })
}

fn add_spu(c: &mut DbConn, a: ShopAccount, body: Body, now: i64) -> Result<Value, ApiError> {
    let (out, title, cat) = spu_fields(&body)?;
    if state::find_out(c, &a.appid, SPU, &out)?.is_some() {
        return Err(wx(1_000_000));
    }
    if !state::category_approved(c, &a.appid, cat)? {
        return Err(wx(1_000_005));
    }
    let id = state::next_number(c, SPU, 30_000_000_000)?;
    let data = json!({ "title": title, "third_cat_id": cat, "status": 0, "info_version": body.str("info_version") });
    state::insert_object(c, &a.appid, SPU, &id.to_string(), &out, 2, &data, now)?;
    Ok(ok(json!({ "data": { "product_id": id, "out_product_id": out, "create_time": now, "skus": [] } })))
}
endpoint!(spu_add, add_spu);

fn find_spu(c: &mut DbConn, a: &ShopAccount, body: &Body) -> Result<state::Object, ApiError> {
    let found = match body.int("product_id")? {
        Some(id) if id != 0 => state::find(c, &a.appid, SPU, &id.to_string())?,
        _ => match body.str("out_product_id") {
            Some(out) => state::find_out(c, &a.appid, SPU, &out)?,
            None => return Err(wx(47001)),
        },
    };
    found.ok_or(wx(1_000_035))
}

fn update_spu(c: &mut DbConn, a: ShopAccount, body: Body, now: i64) -> Result<Value, ApiError> {
    let o = find_spu(c, &a, &body)?;
    let (_, title, cat) = spu_fields(&body)?;
    if !state::category_approved(c, &a.appid, cat)? {
        return Err(wx(1_000_005));
    }
    let mut data = o.data();
    data["title"] = json!(title);
    data["third_cat_id"] = json!(cat);
    state::update(c, &o.id, 2, "", &data, now)?;
    Ok(ok(
        json!({ "data": { "product_id": o.wx_id.parse::<i64>().unwrap_or_default(), "out_product_id": o.out_id, "update_time": now } }),
    ))
}
endpoint!(spu_update, update_spu);

fn get_spu(c: &mut DbConn, a: ShopAccount, body: Body, _now: i64) -> Result<Value, ApiError> {
    let o = find_spu(c, &a, &body)?;
    Ok(ok(json!({ "data": { "spu": spu_json(&o) } })))
}
endpoint!(spu_get, get_spu);

fn find_order(c: &mut DbConn, a: &ShopAccount, body: &Body) -> Result<state::Object, ApiError> {
    let found = match body.str("out_order_id") {
        Some(out) => state::find_out(c, &a.appid, ORDER, &out)?,
        None => state::find(c, &a.appid, ORDER, &body.str("order_id").ok_or(wx(47001))?)?,
    };
    found.ok_or(wx(1_000_000))
}

fn add_order(c: &mut DbConn, a: ShopAccount, body: Body, now: i64) -> Result<Value, ApiError> {
    let out = body.str("out_order_id").ok_or(wx(47001))?;
    body.str("openid").ok_or(wx(47001))?;
    let detail = body.map().get("order_detail").ok_or(wx(1_010_005))?;
    if detail.get("price_info").is_none() {
        return Err(wx(1_010_005));
    }
    if let Some(existing) = state::find_out(c, &a.appid, ORDER, &out)? {
        return Ok(ok(
            json!({ "data": { "order_id": existing.wx_id.parse::<i64>().unwrap_or_default(), "out_order_id": out, "ticket": "", "ticket_expire_time": "", "final_price": 1 } }),
        ));
    }
    let id = state::next_number(c, ORDER, 3_000_000_000_000_000)?;
    let data = json!({ "scene": body.int("scene")?.unwrap_or(0) });
    state::insert_object(c, &a.appid, ORDER, &id.to_string(), &out, 10, &data, now)?;
    Ok(ok(
        json!({ "data": { "order_id": id, "out_order_id": out, "ticket": store::random_token("", 24), "ticket_expire_time": "", "final_price": 1 } }),
    ))
}
endpoint!(order_add, add_order);

fn payment_params(c: &mut DbConn, a: ShopAccount, body: Body, _now: i64) -> Result<Value, ApiError> {
    let o = find_order(c, &a, &body)?;
    if o.status != 10 {
        return Err(wx(1_000_000));
    }
    Ok(ok(json!({ "payment_params": { "timeStamp": o.created_at.to_string(), "nonceStr": store::random_token("", 16),
        "package": format!("prepay_id=wx{}", o.wx_id), "signType": "RSA", "paySign": store::random_token("", 32) } })))
}
endpoint!(order_payment_params, payment_params);

fn move_order(c: &mut DbConn, o: &state::Object, from: i32, to: i32, now: i64) -> Result<(), ApiError> {
    if o.status != from {
        return Err(wx(1_000_000));
    }
    state::update(c, &o.id, to, "", &o.data(), now)?;
    Ok(())
}

fn pay(c: &mut DbConn, a: ShopAccount, body: Body, now: i64) -> Result<Value, ApiError> {
    let o = find_order(c, &a, &body)?;
    match body.int("action_type")? {
        Some(1) => {
            if body.str("transaction_id").is_none() || body.str("pay_time").is_none() {
                return Err(wx(47001));
            }
            move_order(c, &o, 10, 20, now)?;
            state::set_flag(c, &a.appid, "ec_order_success", now)?;
        }
        Some(2..=5) => move_order(c, &o, 10, 181, now)?,
        _ => return Err(wx(40097)),
    }
    Ok(ok(json!({})))
}
endpoint!(order_pay, pay);

fn companies(_c: &mut DbConn, _a: ShopAccount, _b: Body, _now: i64) -> Result<Value, ApiError> {
    let list: Vec<Value> =
        COMPANIES.iter().map(|(id, name)| json!({ "delivery_id": id, "delivery_name": name })).collect();
    Ok(ok(json!({ "company_list": list })))
}
endpoint!(delivery_companies, companies);

fn send(c: &mut DbConn, a: ShopAccount, body: Body, now: i64) -> Result<Value, ApiError> {
    let o = find_order(c, &a, &body)?;
    let list = body.map().get("delivery_list").and_then(Value::as_array).cloned().unwrap_or_default();
    if list.is_empty() {
        return Err(wx(47001));
    }
    for d in &list {
        let id = d["delivery_id"].as_str().unwrap_or_default();
        if !COMPANIES.iter().any(|(c, _)| *c == id) || d["waybill_id"].as_str().unwrap_or_default().is_empty() {
            return Err(wx(40097));
        }
    }
    move_order(c, &o, 20, 30, now)?;
    state::set_flag(c, &a.appid, "send_delivery_success", now)?;
    Ok(ok(json!({})))
}
endpoint!(delivery_send, send);

fn receive(c: &mut DbConn, a: ShopAccount, body: Body, now: i64) -> Result<Value, ApiError> {
    let o = find_order(c, &a, &body)?;
    move_order(c, &o, 30, 100, now)?;
    Ok(ok(json!({})))
}
endpoint!(delivery_receive, receive);

fn aftersale(c: &mut DbConn, a: ShopAccount, body: Body, now: i64) -> Result<Value, ApiError> {
    let o = find_order(c, &a, &body)?;
    let out = body.str("out_aftersale_id").ok_or(wx(47001))?;
    if !matches!(o.status, 20 | 30 | 100) {
        return Err(wx(1_000_000));
    }
    if let Some(existing) = state::find_out(c, &a.appid, AFTERSALE, &out)? {
        return Ok(ok(json!({ "aftersale_id": existing.wx_id.parse::<i64>().unwrap_or_default() })));
    }
    let id = state::next_number(c, AFTERSALE, 4_000_000_000_000_000)?;
    state::insert_object(c, &a.appid, AFTERSALE, &id.to_string(), &out, 1, &json!({ "order": o.wx_id }), now)?;
    state::set_flag(c, &a.appid, "ec_after_sale_success", now)?;
    Ok(ok(json!({ "aftersale_id": id })))
}
endpoint!(aftersale_add, aftersale);

/// `/wxa/vip/shop/list/get`: permission set 185; errcode 2 without a bound link.
pub async fn shop_list(sb: web::Data<Sandbox>, req: HttpRequest) -> HttpResponse {
    let query = query_map(&req);
    answer(&sb, move |c, now| {
        let appid = mini_program(c, &query, now)?;
        let granted = store::find_authorization(c, &appid)?.filter(|a| a.active).map(|a| a.func_ids());
        if !granted.unwrap_or_default().contains(&SET_SHOP_LINK) {
            return Err(wx(61007));
        }
        let a = state::account(c, &appid)?;
        match a.shop_appid {
            Some(shop) if a.link_status == 1 => Ok(ok(json!({ "list": [{ "shop_appid": shop }] }))),
            _ => Err(wx(2)),
        }
    })
    .await
}

/// Sharers a mini program may have (reason code 200 beyond).
pub const SHARER_LIMIT: usize = 10_000;

fn openids(body: &Body) -> Result<Vec<String>, ApiError> {
    let list = body.map().get("openids").and_then(Value::as_array).ok_or(wx(47001))?;
    let ids: Vec<String> =
        list.iter().filter_map(Value::as_str).map(str::to_string).filter(|s| !s.is_empty()).collect();
    if ids.is_empty() { Err(wx(47001)) } else { Ok(ids) }
}

/// `sharer/bind`: each openid invited (`bind_status` 3) unless the mini program has
/// [`SHARER_LIMIT`] sharers (refused, reason 200) or the person was invited in the last
/// 10 minutes or 3 times today (failed, reason 204).
fn bind_sharers(c: &mut DbConn, a: ShopAccount, body: Body, now: i64) -> Result<Value, ApiError> {
    let ids = openids(&body)?;
    let mut active = state::objects(c, Some(&a.appid))?
        .iter()
        .filter(|o| o.kind == state::SHARER && matches!(o.status, 1 | 3))
        .count();
    let (mut success, mut fail, mut refuse, mut results) = (vec![], vec![], vec![], vec![]);
    for openid in ids {
        let existing = state::find(c, &a.appid, state::SHARER, &openid)?;
        let invites: Vec<i64> = existing
            .as_ref()
            .and_then(|o| serde_json::from_value(o.data()["invites"].clone()).ok())
            .unwrap_or_default();
        let (code, reason) = if active >= SHARER_LIMIT {
            (2, 200)
        } else if invites.iter().any(|t| *t > now - 600) || invites.iter().filter(|t| **t > now - 86_400).count() >= 3 {
            (1, 204)
        } else {
            (0, 0)
        };
        match code {
            0 => {
                let mut all = invites.clone();
                all.push(now);
                let data = json!({ "invites": all });
                match existing {
                    Some(o) => state::update(c, &o.id, 3, "", &data, now)?,
                    None => state::insert_object(c, &a.appid, state::SHARER, &openid, &openid, 3, &data, now)?,
                }
                active += 1;
                success.push(openid.clone());
            }
            1 => fail.push(openid.clone()),
            _ => refuse.push(openid.clone()),
        }
        results.push(json!({ "openid": openid, "result_code": code, "reason_code": reason }));
    }
    Ok(ok(json!({ "success_list": success, "fail_list": fail, "refuse_list": refuse, "result_list": results })))
}
endpoint!(sharer_bind, bind_sharers);

fn unbind_sharers(c: &mut DbConn, a: ShopAccount, body: Body, now: i64) -> Result<Value, ApiError> {
    let mut success = vec![];
    for openid in openids(&body)? {
        if let Some(o) = state::find(c, &a.appid, state::SHARER, &openid)?.filter(|o| matches!(o.status, 1 | 3)) {
            state::update(c, &o.id, 0, "", &o.data(), now)?;
            success.push(openid);
        }
    }
    Ok(ok(json!({ "success_list": success })))
}
endpoint!(sharer_unbind, unbind_sharers);

fn list_sharers(c: &mut DbConn, a: ShopAccount, body: Body, _now: i64) -> Result<Value, ApiError> {
    let size = body.int("page_size")?.unwrap_or(10).clamp(1, 100);
    let page = body.int("page")?.unwrap_or(1).max(1);
    let all: Vec<Value> = state::objects(c, Some(&a.appid))?
        .iter()
        .filter(|o| o.kind == state::SHARER && o.status != 0)
        .map(|o| json!({ "openid": o.wx_id, "nickname": "", "bind_time": o.updated_at, "bind_status": o.status }))
        .collect();
    let total = all.len();
    let start = usize::try_from((page - 1) * size).unwrap_or(usize::MAX);
    let list: Vec<Value> = all.into_iter().skip(start).take(usize::try_from(size).unwrap_or(100)).collect();
    Ok(ok(json!({ "sharer_info_list": list, "total_num": total })))
}
endpoint!(sharer_list, list_sharers);
