//! The mini program management APIs under `/sandbox/wechat` (same paths as on
//! api.weixin.qq.com): account basic info, plugins, privacy interfaces, service
//! categories, server domains (the mini program's and the platform's), the privacy
//! guide and the ICP filing (reference §3.1, §3.3–§3.8).
//!
//! Every call but the platform's domain list takes the authorizer's `access_token`
//! (checked like the other simulated endpoints: 41001, 40001, 42001, 61003) and the
//! permission set the API belongs to (61007 without it): 18 for domains, privacy
//! interfaces, the privacy guide and the ICP query (18 for the ICP query is not
//! confirmed), 30 for categories and basic info, 40 for plugins. The gate in front of
//! `/sandbox/wechat` applies faults and logs every call. Answers always carry
//! `errcode` and `errmsg`.
//!
//! Read-only calls answer GET and POST alike (SDKs use either); calls that change state
//! answer POST only (43002 otherwise).

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

use super::rules::{self, DomainList};
use super::state::{self, MpState};
use super::{catalog, review};
use crate::db::{self, DbConn};
use crate::sandbox::Sandbox;
use crate::sandbox::api::{
    ApiError, ApiResult, Body, answer, check_authorizer_token, check_component_token, query_map,
};
use crate::sandbox::store;

/// Development management (domains, privacy interfaces and guide, ICP).
const SET_DEVELOPMENT: i64 = 18;
/// Basic information (categories, account basic info).
const SET_BASIC_INFO: i64 = 30;
/// Plugin management.
const SET_PLUGINS: i64 = 40;

/// Category additions allowed per change period (a calendar month) and categories an
/// account may have: `getcategory`'s `limit` and `category_limit`.
pub const CATEGORY_CHANGES_PER_PERIOD: i32 = 20;
pub const CATEGORY_LIMIT: usize = 5;

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

/// The authorizer behind `access_token`, which must have granted permission set `set`.
fn authorizer(conn: &mut DbConn, query: &HashMap<String, String>, set: i64, now: i64) -> Result<String, ApiError> {
    let appid = check_authorizer_token(conn, query.get("access_token").map(String::as_str), now).map_err(wx)?;
    let granted = store::find_authorization(conn, &appid)?.filter(|a| a.active).map(|a| a.func_ids());
    if !granted.unwrap_or_default().contains(&set) {
        return Err(wx(61007));
    }
    Ok(appid)
}

/// The mini program's state (85015 for an account that is not a mini program).
fn mini_program(conn: &mut DbConn, appid: &str) -> Result<MpState, ApiError> {
    state::load(conn, appid)?.ok_or(wx(85015))
}

/// After a change that may have queued a review: the pusher applies due decisions.
fn wake_reviewer(sb: &Sandbox) {
    if sb.config.review_delay_secs.is_some() {
        sb.pusher.wake();
    }
}

/// The API paths this module serves.
pub fn routes(cfg: &mut web::ServiceConfig) {
    use crate::sandbox::api::{read, write};
    read(cfg, "/cgi-bin/account/getaccountbasicinfo", account_basic_info);
    write(cfg, "/wxa/plugin", plugin);
    read(cfg, "/wxa/security/get_privacy_interface", get_privacy_interface);
    write(cfg, "/wxa/security/apply_privacy_interface", apply_privacy_interface);
    read(cfg, "/cgi-bin/wxopen/getallcategories", get_all_categories);
    read(cfg, "/cgi-bin/wxopen/getcategory", get_category);
    write(cfg, "/cgi-bin/wxopen/addcategory", add_category);
    write(cfg, "/cgi-bin/wxopen/deletecategory", delete_category);
    write(cfg, "/wxa/modify_domain", modify_domain);
    write(cfg, "/cgi-bin/component/modify_wxa_server_domain", modify_wxa_server_domain);
    write(cfg, "/cgi-bin/component/getprivacysetting", get_privacy_setting);
    write(cfg, "/cgi-bin/component/setprivacysetting", set_privacy_setting);
    read(cfg, "/wxa/icp/get_icp_entrance_info", get_icp_entrance_info);
}

// ---- account basic info (§3.8) ----

/// `GET|POST /cgi-bin/account/getaccountbasicinfo` (set 30).
pub async fn account_basic_info(sb: web::Data<Sandbox>, req: HttpRequest) -> HttpResponse {
    let query = query_map(&req);
    answer(&sb, move |c, now| {
        let appid = authorizer(c, &query, SET_BASIC_INFO, now)?;
        Ok(basic_info(&mini_program(c, &appid)?))
    })
    .await
}

/// The basic info answer. When a new name is under review, `nickname_info` also carries
/// `audit_stat: 1` and `pending_nickname`: a sandbox extension that WeChat does not
/// document (it reports a review only through `setnickname`'s `audit_id` and
/// `api_wxa_querynickname`); the console reads these fields only when present.
pub fn basic_info(st: &MpState) -> Value {
    let (a, s) = (&st.account, &st.settings);
    let end = s.annual_review_end.filter(|_| a.verified);
    let mut nickname_info = json!({ "nickname": a.nick_name, "modify_used_count": s.nickname_used, "modify_quota": 2 });
    if let (Some(pending), Some(info)) = (&s.nickname_pending, nickname_info.as_object_mut()) {
        info.insert("audit_stat".into(), json!(1));
        info.insert("pending_nickname".into(), json!(pending));
    }
    ok(json!({
        "appid": a.appid,
        "account_type": 3,
        "principal_type": 1,
        "principal_name": a.principal_name,
        "credential": format!("91{}", a.appid.get(2..).unwrap_or_default().to_ascii_uppercase()),
        "realname_status": 1,
        "wx_verify_info": {
            "qualification_verify": a.verified,
            "naming_verify": a.verified,
            "annual_review": end.is_some(),
            "annual_review_begin_time": s.annual_review_begin.filter(|_| end.is_some()).unwrap_or(0),
            "annual_review_end_time": end.unwrap_or(0),
        },
        "signature_info": { "signature": a.signature, "modify_used_count": s.signature_used, "modify_quota": 5 },
        "head_image_info": { "head_image_url": a.head_img, "modify_used_count": s.head_image_used, "modify_quota": 5 },
        "nickname": a.nick_name,
        "nickname_info": nickname_info,
        "registered_country": 1,
        "customer_type": i32::from(a.verified),
    }))
}

// ---- plugins (§3.4) ----

/// `POST /wxa/plugin` (set 40): `apply`, `list`, `unbind`, `update`.
pub async fn plugin(sb: web::Data<Sandbox>, req: HttpRequest, bytes: web::Bytes) -> HttpResponse {
    let query = query_map(&req);
    let resp = answer(&sb, move |c, now| {
        let appid = authorizer(c, &query, SET_PLUGINS, now)?;
        let body = Body::parse(&bytes)?;
        mini_program(c, &appid)?;
        match body.str("action").as_deref() {
            Some("list") => Ok(ok(json!({ "plugin_list": plugin_list(&state::plugins(c, &appid)?) }))),
            Some("apply") => {
                let plugin_appid = body.str("plugin_appid").ok_or(wx(40097))?;
                body.str("reason").ok_or(wx(40097))?;
                db::write_tx(c, |c| apply_plugin(c, &appid, &plugin_appid, now))
            }
            Some("unbind") => {
                let plugin_appid = body.str("plugin_appid").ok_or(wx(40097))?;
                db::write_tx(c, |c| {
                    match state::plugin(c, &appid, &plugin_appid)? {
                        None => return Err(wx(89044)),
                        Some(p) if p.status == 1 => return Err(wx(89243)),
                        Some(_) => state::delete_plugin(c, &appid, &plugin_appid)?,
                    };
                    Ok(ok(json!({})))
                })
            }
            Some("update") => {
                let plugin_appid = body.str("plugin_appid").ok_or(wx(40097))?;
                body.str("user_version").ok_or(wx(40097))?;
                match state::plugin(c, &appid, &plugin_appid)? {
                    Some(p) if p.status == 2 => Err(wx(89257)),
                    _ => Err(wx(89044)),
                }
            }
            _ => Err(wx(40097)),
        }
    })
    .await;
    wake_reviewer(&sb);
    resp
}

fn plugin_list(rows: &[state::PluginRow]) -> Vec<Value> {
    rows.iter()
        .map(|p| {
            let known = catalog::plugin(&p.plugin_appid);
            json!({
                "appid": p.plugin_appid,
                "status": p.status,
                "nickname": known.map_or(p.plugin_appid.as_str(), |k| k.nickname),
                "headimgurl": known.map(catalog::Plugin::headimgurl).unwrap_or_default(),
            })
        })
        .collect()
}

/// An application: 89239 unknown plugin, 89236 not open to applications, 89237 already
/// applied for or added, 89238 too many; otherwise status 1 and a review.
fn apply_plugin(conn: &mut DbConn, appid: &str, plugin_appid: &str, now: i64) -> ApiResult {
    let known = catalog::plugin(plugin_appid).ok_or(wx(89239))?;
    if !known.open {
        return Err(wx(89236));
    }
    let rows = state::plugins(conn, appid)?;
    if rows.iter().any(|p| p.plugin_appid == plugin_appid && (p.status == 1 || p.status == 2)) {
        return Err(wx(89237));
    }
    if rows.iter().filter(|p| p.status == 1 || p.status == 2).count() >= catalog::PLUGIN_LIMIT {
        return Err(wx(89238));
    }
    state::put_plugin(conn, appid, plugin_appid, 1, "", Some(now), now)?;
    state::drop_pending(conn, appid, review::PLUGIN, Some(plugin_appid))?;
    review::queue(conn, review::PLUGIN, appid, plugin_appid, None, now)?;
    Ok(ok(json!({})))
}

// ---- privacy interfaces (§3.6) ----

/// `GET /wxa/security/get_privacy_interface` (set 18).
pub async fn get_privacy_interface(sb: web::Data<Sandbox>, req: HttpRequest) -> HttpResponse {
    let query = query_map(&req);
    answer(&sb, move |c, now| {
        let appid = authorizer(c, &query, SET_DEVELOPMENT, now)?;
        let st = mini_program(c, &appid)?;
        Ok(ok(json!({ "interface_list": interface_list(&st.interfaces) })))
    })
    .await
}

pub fn interface_list(interfaces: &[state::Interface]) -> Vec<Value> {
    interfaces
        .iter()
        .map(|i| {
            let mut v = json!({
                "api_name": i.api.api_name,
                "api_ch_name": i.api.api_ch_name,
                "api_desc": i.api.api_desc,
                "api_link": i.api.api_link,
                "group_name": i.api.group_name,
                "status": i.status,
            });
            if let Some(o) = v.as_object_mut() {
                if let Some(t) = i.apply_time {
                    o.insert("apply_time".into(), json!(t));
                }
                if let Some(id) = i.audit_id {
                    o.insert("audit_id".into(), json!(id));
                }
                if !i.fail_reason.is_empty() {
                    o.insert("fail_reason".into(), json!(i.fail_reason));
                }
            }
            v
        })
        .collect()
}

/// `POST /wxa/security/apply_privacy_interface` (set 18). Besides the checks of
/// [`rules::application`]: 61031 already under review, 61035 already enabled, 61036 no
/// approved category allows it (status 2). Success: status 3, `{"audit_id": N}`, a review.
pub async fn apply_privacy_interface(sb: web::Data<Sandbox>, req: HttpRequest, bytes: web::Bytes) -> HttpResponse {
    let query = query_map(&req);
    let resp = answer(&sb, move |c, now| {
        let appid = authorizer(c, &query, SET_DEVELOPMENT, now)?;
        let body = Body::parse(&bytes)?;
        let application = rules::application(body.map()).map_err(wx)?;
        db::write_tx(c, |c| {
            let st = mini_program(c, &appid)?;
            let current = st.interfaces.iter().find(|i| i.api.api_name == application.api_name).ok_or(wx(61035))?;
            match current.status {
                3 => return Err(wx(61031)),
                5 => return Err(wx(61035)),
                2 => return Err(wx(61036)),
                _ => {}
            }
            let audit_id = review::new_audit_id();
            let change = state::InterfaceChange {
                status: 3,
                fail_reason: "",
                application: Some((now, audit_id, application.content.as_str())),
            };
            state::put_interface(c, &appid, &application.api_name, &change, now)?;
            state::drop_pending(c, &appid, review::PRIVACY_INTERFACE, Some(&application.api_name))?;
            review::queue(c, review::PRIVACY_INTERFACE, &appid, &application.api_name, Some(audit_id), now)?;
            Ok(ok(json!({ "audit_id": audit_id })))
        })
    })
    .await;
    wake_reviewer(&sb);
    resp
}

// ---- service categories (§3.5) ----

/// `GET /cgi-bin/wxopen/getallcategories` (set 30): the tree, node 0 its root.
pub async fn get_all_categories(sb: web::Data<Sandbox>, req: HttpRequest) -> HttpResponse {
    let query = query_map(&req);
    answer(&sb, move |c, now| {
        authorizer(c, &query, SET_BASIC_INFO, now)?;
        Ok(ok(json!({ "categories_list": { "categories": category_tree() } })))
    })
    .await
}

fn category_tree() -> Vec<Value> {
    let no_qualify = || json!({ "exter_list": [], "remark": "" });
    let mut nodes = vec![json!({
        "id": 0, "name": "", "level": 0, "father": 0,
        "children": catalog::CATEGORIES.iter().map(|f| f.id).collect::<Vec<_>>(),
        "sensitive_type": 0, "qualify": no_qualify(),
    })];
    for f in catalog::CATEGORIES {
        nodes.push(json!({
            "id": f.id, "name": f.name, "level": 1, "father": 0,
            "children": f.children.iter().map(|s| s.id).collect::<Vec<_>>(),
            "sensitive_type": 0, "qualify": no_qualify(),
        }));
        for s in f.children {
            let qualify = match s.qualification {
                Some(q) => {
                    json!({ "exter_list": [{ "inner_list": [{ "name": q.name, "url": "" }] }], "remark": q.remark })
                }
                None => no_qualify(),
            };
            nodes.push(json!({
                "id": s.id, "name": s.name, "level": 2, "father": f.id, "children": [],
                "sensitive_type": s.sensitive_type(), "qualify": qualify,
            }));
        }
    }
    nodes
}

/// The change period of `now`: its UTC month.
fn period(now: i64) -> String {
    rules::unix_to_date(now).get(..7).unwrap_or_default().to_string()
}

/// `GET /cgi-bin/wxopen/getcategory` (set 30).
pub async fn get_category(sb: web::Data<Sandbox>, req: HttpRequest) -> HttpResponse {
    let query = query_map(&req);
    answer(&sb, move |c, now| {
        let appid = authorizer(c, &query, SET_BASIC_INFO, now)?;
        let st = mini_program(c, &appid)?;
        let used = st.settings.category_adds_in(&period(now));
        Ok(ok(json!({
            "categories": category_list(&st.categories),
            "limit": CATEGORY_CHANGES_PER_PERIOD,
            "quota": (CATEGORY_CHANGES_PER_PERIOD - used).max(0),
            "category_limit": CATEGORY_LIMIT,
        })))
    })
    .await
}

pub fn category_list(rows: &[state::CategoryRow]) -> Vec<Value> {
    rows.iter()
        .map(|c| {
            let (first_name, second_name) = c.names();
            json!({
                "first": c.first, "first_name": first_name, "second": c.second, "second_name": second_name,
                "audit_status": c.audit_status, "audit_reason": c.audit_reason,
            })
        })
        .collect()
}

/// A whole number of a JSON object (numbers or numeric strings).
fn int_of(v: &Map<String, Value>, key: &str) -> Option<i64> {
    match v.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// `POST /cgi-bin/wxopen/addcategory` (set 30): 53303 bad or unknown categories, 53304
/// one already set (or given twice), 53311 qualifications missing, 53301 over
/// [`CATEGORY_LIMIT`], 53300 over the period's additions. Categories without
/// qualifications are approved at once (3); the others wait for the reviewer (1).
pub async fn add_category(sb: web::Data<Sandbox>, req: HttpRequest, bytes: web::Bytes) -> HttpResponse {
    let query = query_map(&req);
    let resp = answer(&sb, move |c, now| {
        let appid = authorizer(c, &query, SET_BASIC_INFO, now)?;
        let body = Body::parse(&bytes)?;
        let items = match body.map().get("categories") {
            Some(Value::Array(items)) if !items.is_empty() => items.clone(),
            _ => return Err(wx(53303)),
        };
        let mut wanted: Vec<(i64, i64, bool, String)> = Vec::new();
        for item in &items {
            let item = item.as_object().ok_or(wx(53303))?;
            let (first, second) = (int_of(item, "first").ok_or(wx(53303))?, int_of(item, "second").ok_or(wx(53303))?);
            let (_, known) = catalog::category(first, second).ok_or(wx(53303))?;
            let certicates = match item.get("certicates") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(list)) => list.clone(),
                Some(_) => return Err(wx(53303)),
            };
            let complete = |c: &Value| {
                ["key", "value"].iter().all(|k| c.get(k).and_then(Value::as_str).is_some_and(|s| !s.trim().is_empty()))
            };
            if !certicates.iter().all(complete) {
                return Err(wx(53303));
            }
            if known.qualification.is_some() && certicates.is_empty() {
                return Err(wx(53311));
            }
            if wanted.iter().any(|w| (w.0, w.1) == (first, second)) {
                return Err(wx(53304));
            }
            let sensitive = known.qualification.is_some();
            wanted.push((first, second, sensitive, Value::Array(certicates).to_string()));
        }
        let resp = db::write_tx(c, |c| {
            let st = mini_program(c, &appid)?;
            if wanted.iter().any(|w| st.categories.iter().any(|c| (c.first, c.second) == (w.0, w.1))) {
                return Err(wx(53304));
            }
            if st.categories.len() + wanted.len() > CATEGORY_LIMIT {
                return Err(wx(53301));
            }
            let this_period = period(now);
            let used = st.settings.category_adds_in(&this_period);
            let added = i32::try_from(wanted.len()).unwrap_or(i32::MAX);
            if used.saturating_add(added) > CATEGORY_CHANGES_PER_PERIOD {
                return Err(wx(53300));
            }
            for (first, second, sensitive, certicates) in &wanted {
                let status = if *sensitive { 1 } else { 3 };
                let new = state::NewCategory {
                    first: *first,
                    second: *second,
                    audit_status: status,
                    audit_reason: "",
                    certicates,
                };
                state::insert_category(c, &appid, &new, now)?;
                if *sensitive {
                    let subject = state::category_subject(*first, *second);
                    review::queue(c, review::CATEGORY, &appid, &subject, None, now)?;
                }
            }
            let change = state::SettingsChange {
                category_period: Some(this_period),
                category_adds: Some(used.saturating_add(added)),
                ..Default::default()
            };
            state::update_settings(c, &appid, &change, now)?;
            state::follow_categories(c, &appid, now)?;
            Ok(ok(json!({})))
        })?;
        Ok(resp)
    })
    .await;
    wake_reviewer(&sb);
    resp
}

/// `POST /cgi-bin/wxopen/deletecategory` (set 30) `{"first", "second"}`: 53303 when the
/// account does not have it, 53308 while it is under review.
pub async fn delete_category(sb: web::Data<Sandbox>, req: HttpRequest, bytes: web::Bytes) -> HttpResponse {
    let query = query_map(&req);
    answer(&sb, move |c, now| {
        let appid = authorizer(c, &query, SET_BASIC_INFO, now)?;
        let body = Body::parse(&bytes)?;
        let first = int_of(body.map(), "first").ok_or(wx(53303))?;
        let second = int_of(body.map(), "second").ok_or(wx(53303))?;
        db::write_tx(c, |c| {
            mini_program(c, &appid)?;
            match state::category(c, &appid, first, second)? {
                None => return Err(wx(53303)),
                Some(row) if row.audit_status == 1 => return Err(wx(53308)),
                Some(_) => state::delete_category(c, &appid, first, second)?,
            };
            state::follow_categories(c, &appid, now)?;
            Ok(ok(json!({})))
        })
    })
    .await
}

// ---- server domains (§3.1, §3.3) ----

/// A `modify_domain` list of the body: absent is empty; 40097 when not an array of strings.
fn domain_entries(body: &Body, list: DomainList) -> Result<Vec<String>, ApiError> {
    match body.map().get(list.field()) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items.iter().map(|v| v.as_str().map(str::to_string).ok_or(wx(40097))).collect(),
        Some(_) => Err(wx(40097)),
    }
}

/// `POST /wxa/modify_domain` (set 18), `action` get / add / delete / set. Entries need
/// their list's scheme and a host name (85301); added or set hosts must be on the
/// platform's registered list (85017, compared by host); an `add` with nothing new is
/// 85017 too; more than 200 in a list is 85016. `set` replaces all six lists. The answer
/// echoes the six lists.
pub async fn modify_domain(sb: web::Data<Sandbox>, req: HttpRequest, bytes: web::Bytes) -> HttpResponse {
    let query = query_map(&req);
    answer(&sb, move |c, now| {
        let appid = authorizer(c, &query, SET_DEVELOPMENT, now)?;
        let body = Body::parse(&bytes)?;
        let action = body.str("action").ok_or(wx(40097))?;
        if !["get", "add", "delete", "set"].contains(&action.as_str()) {
            return Err(wx(40097));
        }
        let mut given: Vec<(DomainList, Vec<(String, String)>)> = Vec::new();
        for list in DomainList::ALL {
            let entries = if action == "get" { Vec::new() } else { domain_entries(&body, list)? };
            if entries.len() > rules::MAX_DOMAINS_PER_LIST {
                return Err(wx(85016));
            }
            let parsed = entries.iter().map(|e| rules::server_domain(list, e)).collect::<Result<Vec<_>, _>>();
            given.push((list, parsed.map_err(wx)?));
        }
        db::write_tx(c, |c| {
            let st = mini_program(c, &appid)?;
            if action == "get" {
                return Ok(domains_answer(&st.domains));
            }
            if action != "delete" {
                let registered = state::registered_hosts(c)?;
                if given.iter().flat_map(|(_, g)| g).any(|(_, host)| !registered.contains(host)) {
                    return Err(wx(85017));
                }
            }
            let mut changed = false;
            let mut lists: Vec<(DomainList, Vec<String>)> = Vec::new();
            for (list, entries) in &given {
                let current = st.domain_list(*list).to_vec();
                let next: Vec<String> = match action.as_str() {
                    "add" => {
                        let mut next = current.clone();
                        for (e, _) in entries {
                            if !next.contains(e) {
                                next.push(e.clone());
                                changed = true;
                            }
                        }
                        next
                    }
                    "delete" => current.iter().filter(|d| !entries.iter().any(|(e, _)| e == *d)).cloned().collect(),
                    _ => {
                        let mut next: Vec<String> = Vec::new();
                        for (e, _) in entries {
                            if !next.contains(e) {
                                next.push(e.clone());
                            }
                        }
                        next
                    }
                };
                if next.len() > rules::MAX_DOMAINS_PER_LIST {
                    return Err(wx(85016));
                }
                lists.push((*list, next));
            }
            if action == "add" && !changed {
                return Err(wx(85017));
            }
            state::set_domains(c, &st.account, &lists, now)?;
            Ok(domains_answer(&lists))
        })
    })
    .await
}

fn domains_answer(lists: &[(DomainList, Vec<String>)]) -> Value {
    let mut v = Map::new();
    for (list, entries) in lists {
        v.insert(list.field().into(), json!(entries));
    }
    ok(Value::Object(v))
}

/// `POST /cgi-bin/component/modify_wxa_server_domain?component_access_token=…`: the
/// platform's 小程序服务器域名, `action` add / delete / set / get, `wxa_server_domain`
/// `"a.com;b.com"` (bare hosts; others are answered in `invalid_wxa_server_domain` and
/// left out), `is_modify_published_together` (false: the testing list only). The
/// sandbox platform starts with both lists empty. More than 1000 is 85016 (the code for
/// this limit is not confirmed).
pub async fn modify_wxa_server_domain(sb: web::Data<Sandbox>, req: HttpRequest, bytes: web::Bytes) -> HttpResponse {
    let query = query_map(&req);
    answer(&sb, move |c, now| {
        let token = query.get("component_access_token").or_else(|| query.get("access_token")).map(String::as_str);
        check_component_token(c, token, now).map_err(wx)?;
        let body = Body::parse(&bytes)?;
        let action = body.str("action").ok_or(wx(40097))?;
        if !["get", "add", "delete", "set"].contains(&action.as_str()) {
            return Err(wx(40097));
        }
        let together = match body.map().get("is_modify_published_together") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(Value::Number(n)) => n.as_i64().is_some_and(|n| n != 0),
            Some(Value::String(s)) => s == "true" || s == "1",
            Some(_) => return Err(wx(40097)),
        };
        let text = match body.map().get("wxa_server_domain") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(_) => return Err(wx(40097)),
        };
        let mut valid: Vec<String> = Vec::new();
        let mut invalid: Vec<String> = Vec::new();
        for entry in rules::split_domains(&text) {
            match rules::platform_domain(entry) {
                Some(d) if !valid.contains(&d) => valid.push(d),
                Some(_) => {}
                None => invalid.push(entry.to_string()),
            }
        }
        db::write_tx(c, |c| {
            let lists: &[&str] = if together { &[state::TESTING, state::PUBLISHED] } else { &[state::TESTING] };
            if action != "get" {
                for list in lists {
                    let current = state::platform_domains(c, list)?;
                    let next: Vec<String> = match action.as_str() {
                        "add" => current.iter().chain(valid.iter()).cloned().collect(),
                        "delete" => current.into_iter().filter(|d| !valid.contains(d)).collect(),
                        _ => valid.clone(),
                    };
                    let mut unique = next.clone();
                    unique.sort();
                    unique.dedup();
                    if unique.len() > rules::MAX_PLATFORM_DOMAINS {
                        return Err(wx(85016));
                    }
                    state::set_platform_domains(c, list, &unique)?;
                }
            }
            Ok(ok(json!({
                "published_wxa_server_domain": state::platform_domains(c, state::PUBLISHED)?.join(";"),
                "testing_wxa_server_domain": state::platform_domains(c, state::TESTING)?.join(";"),
                "invalid_wxa_server_domain": invalid.join(";"),
            })))
        })
    })
    .await
}

// ---- the privacy guide (§3.7) ----

/// `POST /cgi-bin/component/getprivacysetting` (set 18) `{"privacy_ver": 2}`. No code is
/// ever uploaded in the sandbox, so `code_exist` is 0 and `privacy_list` empty; the live
/// version (1) never exists and reads as never set, like an account that never set one.
pub async fn get_privacy_setting(sb: web::Data<Sandbox>, req: HttpRequest, bytes: web::Bytes) -> HttpResponse {
    let query = query_map(&req);
    answer(&sb, move |c, now| {
        let appid = authorizer(c, &query, SET_DEVELOPMENT, now)?;
        let body = Body::parse_or_empty(&bytes)?;
        let ver = rules::privacy_ver(body.map()).map_err(wx)?;
        let st = mini_program(c, &appid)?;
        let setting = if ver == 2 { st.settings.privacy() } else { None };
        Ok(privacy_answer(setting.as_ref()))
    })
    .await
}

pub fn privacy_answer(setting: Option<&rules::PrivacySetting>) -> Value {
    let owner = setting.map(|s| s.owner_setting.clone()).unwrap_or_default();
    let setting_list: Vec<Value> = setting
        .map(|s| {
            s.setting_list
                .iter()
                .map(|i| json!({ "privacy_key": i.privacy_key, "privacy_text": i.privacy_text, "privacy_label": "" }))
                .collect()
        })
        .unwrap_or_default();
    let desc: Vec<Value> =
        catalog::PRIVACY_KEYS.iter().map(|(k, d)| json!({ "privacy_key": k, "privacy_desc": d })).collect();
    ok(json!({
        "code_exist": 0,
        "privacy_list": [],
        "setting_list": setting_list,
        "update_time": setting.map_or(0, |s| s.update_time),
        "owner_setting": {
            "contact_email": owner.contact_email,
            "contact_phone": owner.contact_phone,
            "contact_qq": owner.contact_qq,
            "contact_weixin": owner.contact_weixin,
            "ext_file_media_id": owner.ext_file_media_id,
            "notice_method": owner.notice_method,
            "store_expire_timestamp": owner.store_expire_timestamp,
        },
        "privacy_desc": { "privacy_desc_list": desc },
        "sdk_privacy_info_list": [],
    }))
}

/// `POST /cgi-bin/component/setprivacysetting` (set 18): the checks of
/// [`rules::privacy_setting`]; 86071 a `privacy_ver` other than 1 or 2; 86074 for 1, as
/// the sandbox never has a live version.
pub async fn set_privacy_setting(sb: web::Data<Sandbox>, req: HttpRequest, bytes: web::Bytes) -> HttpResponse {
    let query = query_map(&req);
    answer(&sb, move |c, now| {
        let appid = authorizer(c, &query, SET_DEVELOPMENT, now)?;
        let body = Body::parse(&bytes)?;
        if rules::privacy_ver(body.map()).map_err(wx)? == 1 {
            return Err(wx(86074));
        }
        let setting = rules::privacy_setting(body.map(), now).map_err(wx)?;
        db::write_tx(c, |c| {
            mini_program(c, &appid)?;
            let change = state::SettingsChange {
                privacy_setting: Some(state::privacy_json(Some(&setting))),
                ..Default::default()
            };
            state::update_settings(c, &appid, &change, now)?;
            Ok(ok(json!({})))
        })
    })
    .await
}

// ---- ICP filing ----

/// `GET /wxa/icp/get_icp_entrance_info` (set 18, not confirmed): `info.status`,
/// `is_canceling`, and for a rejected filing (3, 5) the findings in `audit_data`.
pub async fn get_icp_entrance_info(sb: web::Data<Sandbox>, req: HttpRequest) -> HttpResponse {
    let query = query_map(&req);
    answer(&sb, move |c, now| {
        let appid = authorizer(c, &query, SET_DEVELOPMENT, now)?;
        let st = mini_program(c, &appid)?;
        let status = st.settings.icp_status;
        let audit_data: Vec<Value> = if status == 3 || status == 5 {
            catalog::ICP_AUDIT_DATA
                .iter()
                .map(|(key_name, error, suggest)| json!({ "key_name": key_name, "error": error, "suggest": suggest }))
                .collect()
        } else {
            Vec::new()
        };
        Ok(ok(json!({ "info": { "status": status, "is_canceling": false, "audit_data": audit_data } })))
    })
    .await
}
