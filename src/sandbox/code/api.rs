//! The code-management APIs under `/sandbox/wechat`, same paths, methods and bodies as on
//! api.weixin.qq.com (reference §4, wave-2 notes §2). The gate in front applies faults,
//! per-path call limits and the call log to each.
//!
//! * Template library, with the component token (`?access_token=` or
//!   `?component_access_token=`): `gettemplatedraftlist`, `addtotemplate`,
//!   `gettemplatelist`, `deletetemplate`.
//! * Per mini program, with its authorizer token and permission set 18 (61007 without;
//!   85015 for an official account): `commit`, `get_page`, `get_category`,
//!   `security/get_code_privacy_info`, `submit_audit`, `get_auditstatus`,
//!   `get_latest_auditstatus`, `undocodeaudit`, `speedupaudit`, `release`,
//!   `revertcoderelease`, `getversioninfo`.
//! * `queryquota` with any authorizer's token (the quota is the platform's), and
//!   `cgi-bin/material/get_material` for the reviewer's screenshots.
//!
//! Reads answer GET and POST alike; calls that take a body or change state answer POST
//! only (43002), except `undocodeaudit` and `revertcoderelease`, which WeChat documents
//! as GET (POST is answered too).

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::rules::{self, TEMPLATE_LIMIT};
use super::state::{self, CODE, Trial};
use crate::db::{self, DbConn};
use crate::sandbox::api::{
    ApiError, ApiResult, Body, answer, check_authorizer_token, check_component_token, error_response, query_map,
};
use crate::sandbox::manage::{catalog, review, state as mp_state};
use crate::sandbox::{Sandbox, store, with_conn};

/// Development management: code, audits and releases.
const SET_DEVELOPMENT: i64 = 18;

/// Where the platform's drafts come from (its bound development mini program).
pub const DEV_MINIPROGRAM_APPID: &str = "wx5b1c0a3e7d2f4aff";
pub const DEV_MINIPROGRAM_NAME: &str = "Sandbox Dev Mini Program";
pub const DEVELOPER: &str = "sandbox-developer";

/// The image every screenshot media id answers with (a small PNG).
pub const SCREENSHOT_PNG: &[u8] = include_bytes!("screenshot.png");

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

/// The API paths this module serves.
pub fn routes(cfg: &mut web::ServiceConfig) {
    use crate::sandbox::api::{read, write};
    read(cfg, "/wxa/gettemplatedraftlist", get_template_draft_list);
    write(cfg, "/wxa/addtotemplate", add_to_template);
    read(cfg, "/wxa/gettemplatelist", get_template_list);
    write(cfg, "/wxa/deletetemplate", delete_template);
    write(cfg, "/wxa/commit", commit);
    read(cfg, "/wxa/get_page", get_page);
    read(cfg, "/wxa/get_category", get_category);
    read(cfg, "/wxa/security/get_code_privacy_info", get_code_privacy_info);
    write(cfg, "/wxa/submit_audit", submit_audit);
    write(cfg, "/wxa/get_auditstatus", get_auditstatus);
    read(cfg, "/wxa/get_latest_auditstatus", get_latest_auditstatus);
    read(cfg, "/wxa/undocodeaudit", undo_code_audit);
    write(cfg, "/wxa/speedupaudit", speedup_audit);
    write(cfg, "/wxa/release", release);
    read(cfg, "/wxa/revertcoderelease", revert_code_release);
    write(cfg, "/wxa/getversioninfo", get_version_info);
    read(cfg, "/wxa/queryquota", query_quota);
    write(cfg, "/cgi-bin/material/get_material", get_material);
}

// ---- tokens ----

fn component(conn: &mut DbConn, query: &HashMap<String, String>, now: i64) -> Result<(), ApiError> {
    let token = query.get("access_token").or_else(|| query.get("component_access_token")).map(String::as_str);
    check_component_token(conn, token, now).map(|_| ()).map_err(wx)
}

/// The mini program behind `access_token`, which must have granted set 18.
fn mini_program(conn: &mut DbConn, query: &HashMap<String, String>, now: i64) -> Result<store::Account, ApiError> {
    let appid = check_authorizer_token(conn, query.get("access_token").map(String::as_str), now).map_err(wx)?;
    let granted = store::find_authorization(conn, &appid)?.filter(|a| a.active).map(|a| a.func_ids());
    if !granted.unwrap_or_default().contains(&SET_DEVELOPMENT) {
        return Err(wx(61007));
    }
    store::find_account(conn, &appid)?.filter(store::Account::is_mini_program).ok_or(wx(85015))
}

fn trial(conn: &mut DbConn, appid: &str) -> Result<Trial, ApiError> {
    state::find_trial(conn, appid)?.ok_or(wx(86001))
}

/// A `{}` body: 44002 when empty, 47001 when not a JSON object.
fn empty_object(bytes: &[u8]) -> Result<Body, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(wx(44002));
    }
    Body::parse(bytes)
}

/// After a submission: the pusher applies due automatic decisions.
fn wake_reviewer(sb: &Sandbox) {
    if sb.config.review_delay_secs.is_some() {
        sb.pusher.wake();
    }
}

// ---- the template library (component token) ----

/// `GET /wxa/gettemplatedraftlist`: every draft uploaded (the sandbox keeps them all).
pub async fn get_template_draft_list(sb: web::Data<Sandbox>, req: HttpRequest) -> HttpResponse {
    let query = query_map(&req);
    answer(&sb, move |c, now| {
        component(c, &query, now)?;
        let list: Vec<Value> = state::list_drafts(c)?
            .iter()
            .map(|d| {
                json!({
                    "create_time": d.create_time, "user_version": d.user_version,
                    "user_desc": d.user_desc, "draft_id": d.draft_id,
                })
            })
            .collect();
        Ok(ok(json!({ "draft_list": list })))
    })
    .await
}

/// `POST /wxa/addtotemplate {"draft_id", "template_type"}`: 85064 no such draft, 85065
/// the library is full ([`TEMPLATE_LIMIT`]), 40097 a `template_type` other than 0 or 1.
pub async fn add_to_template(sb: web::Data<Sandbox>, req: HttpRequest, bytes: web::Bytes) -> HttpResponse {
    let query = query_map(&req);
    answer(&sb, move |c, now| {
        component(c, &query, now)?;
        let body = Body::parse(&bytes)?;
        let draft_id = body.int("draft_id").ok().flatten().ok_or(wx(85064))?;
        let template_type = match body.int("template_type")? {
            None => 0,
            Some(t @ (0 | 1)) => i32::try_from(t).unwrap_or(0),
            Some(_) => return Err(wx(40097)),
        };
        db::write_tx(c, |c| {
            let draft = state::find_draft(c, draft_id)?.ok_or(wx(85064))?;
            if state::count_templates(c)? >= TEMPLATE_LIMIT {
                return Err(wx(85065));
            }
            state::insert_template(c, &draft, template_type, now)?;
            Ok(ok(json!({})))
        })
    })
    .await
}

fn template_json(t: &state::Template) -> Value {
    json!({
        "create_time": t.create_time,
        "user_version": t.user_version,
        "user_desc": t.user_desc,
        "template_id": t.template_id,
        "draft_id": t.draft_id,
        "source_miniprogram_appid": DEV_MINIPROGRAM_APPID,
        "source_miniprogram": DEV_MINIPROGRAM_NAME,
        "developer": DEVELOPER,
        "template_type": t.template_type,
        "category_list": [],
        "audit_scene": 0,
        "audit_status": 0,
        "reason": "",
    })
}

/// `GET /wxa/gettemplatelist[?template_type=]` (POST, deprecated, still answered; its
/// body may carry `template_type` too).
pub async fn get_template_list(sb: web::Data<Sandbox>, req: HttpRequest, bytes: web::Bytes) -> HttpResponse {
    let query = query_map(&req);
    answer(&sb, move |c, now| {
        component(c, &query, now)?;
        let from_body = Body::parse_or_empty(&bytes).ok().and_then(|b| b.int("template_type").ok().flatten());
        let given = match query.get("template_type").filter(|t| !t.trim().is_empty()) {
            Some(t) => Some(t.trim().parse::<i64>().map_err(|_| wx(40097))?),
            None => from_body,
        };
        let filter = given.map(|t| i32::try_from(t).map_err(|_| wx(40097))).transpose()?;
        let list: Vec<Value> = state::list_templates(c, filter)?.iter().map(template_json).collect();
        Ok(ok(json!({ "template_list": list })))
    })
    .await
}

/// `POST /wxa/deletetemplate {"template_id"}`: 85064 when not in the library.
pub async fn delete_template(sb: web::Data<Sandbox>, req: HttpRequest, bytes: web::Bytes) -> HttpResponse {
    let query = query_map(&req);
    answer(&sb, move |c, now| {
        component(c, &query, now)?;
        let body = Body::parse(&bytes)?;
        let id = body.int("template_id").ok().flatten().ok_or(wx(85064))?;
        if db::write_tx(c, |c| state::delete_template(c, id))? == 0 {
            return Err(wx(85064));
        }
        Ok(ok(json!({})))
    })
    .await
}

// ---- the trial version ----

/// `POST /wxa/commit {"template_id", "ext_json", "user_version", "user_desc"}`: 85014
/// unknown template, then [`rules::ext_json`] (47001, 85048, 85013), then
/// [`rules::commit_version`] (40097, 85013). Replaces the trial version and restarts the
/// privacy scan, which finishes `privacy_scan_secs` later.
pub async fn commit(sb: web::Data<Sandbox>, req: HttpRequest, bytes: web::Bytes) -> HttpResponse {
    let query = query_map(&req);
    let scan_secs = i64::try_from(sb.config.privacy_scan_secs).unwrap_or(i64::MAX);
    answer(&sb, move |c, now| {
        let account = mini_program(c, &query, now)?;
        let body = Body::parse(&bytes)?;
        let template_id = body.int("template_id").ok().flatten().ok_or(wx(85014))?;
        let template = state::find_template(c, template_id)?.ok_or(wx(85014))?;
        rules::ext_json(body.map().get("ext_json"), &account.appid).map_err(wx)?;
        let user_version = rules::commit_version(body.str("user_version").as_deref()).map_err(wx)?;
        let ext_json = body.map().get("ext_json").and_then(Value::as_str).unwrap_or("{}").to_string();
        let t = Trial {
            appid: account.appid,
            template_id: template.template_id,
            user_version,
            user_desc: body.str("user_desc").unwrap_or_default(),
            ext_json,
            privacy_apis: template.privacy_apis,
            commit_id: crate::new_id(),
            committed_at: now,
            scan_done_at: now.saturating_add(scan_secs),
        };
        db::write_tx(c, |c| state::put_trial(c, &t))?;
        Ok(ok(json!({})))
    })
    .await
}

/// `GET /wxa/get_page`: the committed code's pages; 86001 before a commit.
pub async fn get_page(sb: web::Data<Sandbox>, req: HttpRequest) -> HttpResponse {
    let query = query_map(&req);
    answer(&sb, move |c, now| {
        let account = mini_program(c, &query, now)?;
        trial(c, &account.appid)?;
        Ok(ok(json!({ "page_list": rules::PAGES })))
    })
    .await
}

/// The account's approved categories as `(first, second)` ids.
fn approved_categories(conn: &mut DbConn, appid: &str) -> diesel::QueryResult<Vec<mp_state::CategoryRow>> {
    Ok(mp_state::categories(conn, appid)?.into_iter().filter(|c| c.audit_status == 3).collect())
}

/// `GET /wxa/get_category`: the approved categories, for `submit_audit`'s `item_list`.
pub async fn get_category(sb: web::Data<Sandbox>, req: HttpRequest) -> HttpResponse {
    let query = query_map(&req);
    answer(&sb, move |c, now| {
        let account = mini_program(c, &query, now)?;
        let list: Vec<Value> = approved_categories(c, &account.appid)?
            .iter()
            .map(|cat| {
                let (first, second) = cat.names();
                json!({
                    "first_class": first, "second_class": second, "third_class": "",
                    "first_id": cat.first, "second_id": cat.second, "third_id": 0,
                })
            })
            .collect();
        Ok(ok(json!({ "category_list": list })))
    })
    .await
}

/// What the finished scan of the trial version reports.
fn scan(conn: &mut DbConn, appid: &str, t: &Trial) -> diesel::QueryResult<rules::Findings> {
    let categories = mp_state::categories(conn, appid)?;
    let interfaces = mp_state::interfaces(conn, appid, &categories)?;
    let enabled = |api: &str| {
        // An interface outside the catalogue needs no application.
        catalog::privacy_api(api).is_none() || interfaces.iter().any(|i| i.api.api_name == api && i.status == 5)
    };
    let declared = rules::ext_json(Some(&Value::String(t.ext_json.clone())), appid).unwrap_or_default();
    Ok(rules::findings(&state::parse_apis(&t.privacy_apis), &enabled, &declared.required_private_infos))
}

/// `GET /wxa/security/get_code_privacy_info`: 86001 before a commit, 61039 until the scan
/// finishes, then `without_auth_list` and `without_conf_list`.
pub async fn get_code_privacy_info(sb: web::Data<Sandbox>, req: HttpRequest) -> HttpResponse {
    let query = query_map(&req);
    answer(&sb, move |c, now| {
        let account = mini_program(c, &query, now)?;
        let t = trial(c, &account.appid)?;
        if now < t.scan_done_at {
            return Err(wx(61039));
        }
        let f = scan(c, &account.appid, &t)?;
        Ok(ok(json!({ "without_auth_list": f.without_auth_list, "without_conf_list": f.without_conf_list })))
    })
    .await
}

// ---- audits ----

/// `POST /wxa/submit_audit`, checked in this order: 86002 no name, icon or introduction;
/// 85086 nothing committed, or the committed code was already submitted and released;
/// 61039 the scan is not finished; 61040 it found something and `privacy_api_not_use`
/// is not true; 85009 a submission is under review or delayed; [`rules::audit_items`]
/// (85023, 85010, 85008, 85007, 85011, 85006); 85085 the platform's monthly quota is used
/// up. Success takes one from the quota and queues the audit for the reviewer.
pub async fn submit_audit(sb: web::Data<Sandbox>, req: HttpRequest, bytes: web::Bytes) -> HttpResponse {
    let query = query_map(&req);
    let resp = answer(&sb, move |c, now| {
        let account = mini_program(c, &query, now)?;
        let body = Body::parse(&bytes)?;
        let appid = account.appid.clone();
        db::write_tx(c, |c| {
            if [&account.nick_name, &account.head_img, &account.signature].iter().any(|f| f.trim().is_empty()) {
                return Err(wx(86002));
            }
            let t = state::find_trial(c, &appid)?.ok_or(wx(85086))?;
            let audits = state::list_audits(c, &appid)?;
            let released = audits.iter().any(|a| a.commit_id == t.commit_id && a.released_at.is_some());
            if released {
                return Err(wx(85086));
            }
            if now < t.scan_done_at {
                return Err(wx(61039));
            }
            let not_used = matches!(body.map().get("privacy_api_not_use"), Some(Value::Bool(true)));
            if !not_used && !scan(c, &appid, &t)?.is_clean() {
                return Err(wx(61040));
            }
            if audits.iter().any(|a| rules::in_review(a.status)) {
                return Err(wx(85009));
            }
            let approved: Vec<(i64, i64)> =
                approved_categories(c, &appid)?.iter().map(|cat| (cat.first, cat.second)).collect();
            rules::audit_items(body.map().get("item_list"), &approved, &rules::PAGES).map_err(wx)?;
            let mut quota = state::quota(c, now)?;
            if quota.audit_rest <= 0 {
                return Err(wx(85085));
            }
            quota.audit_rest -= 1;
            state::set_quota(c, &quota)?;
            let mut auditid = review::new_audit_id();
            while state::find_audit(c, auditid)?.is_some() {
                auditid = review::new_audit_id();
            }
            let items = body.map().get("item_list").map(Value::to_string).unwrap_or_else(|| "[]".into());
            state::insert_audit(c, &t, auditid, &items, now)?;
            review::queue(c, CODE, &appid, &t.user_version, Some(auditid), now)?;
            Ok(ok(json!({ "auditid": auditid })))
        })
    })
    .await;
    wake_reviewer(&sb);
    resp
}

/// `POST /wxa/get_auditstatus {"auditid"}`: 85012 unless it is this mini program's.
pub async fn get_auditstatus(sb: web::Data<Sandbox>, req: HttpRequest, bytes: web::Bytes) -> HttpResponse {
    let query = query_map(&req);
    answer(&sb, move |c, now| {
        let account = mini_program(c, &query, now)?;
        let body = Body::parse(&bytes)?;
        let id = body.int("auditid").ok().flatten().ok_or(wx(85012))?;
        let a = state::find_audit(c, id)?.filter(|a| a.appid == account.appid).ok_or(wx(85012))?;
        Ok(ok(json!({ "status": a.status, "reason": a.reason, "screenshot": a.screenshot })))
    })
    .await
}

/// `GET /wxa/get_latest_auditstatus`: the newest submission, `ScreenShot` capitalised as
/// in WeChat's sample. 86001 before a commit; 85012 committed but never submitted (the
/// errcode of that case is not confirmed).
pub async fn get_latest_auditstatus(sb: web::Data<Sandbox>, req: HttpRequest) -> HttpResponse {
    let query = query_map(&req);
    answer(&sb, move |c, now| {
        let account = mini_program(c, &query, now)?;
        trial(c, &account.appid)?;
        let a = state::latest_audit(c, &account.appid)?.ok_or(wx(85012))?;
        Ok(ok(json!({
            "auditid": a.auditid,
            "status": a.status,
            "reason": a.reason,
            "ScreenShot": a.screenshot,
            "user_version": a.user_version,
            "user_desc": a.user_desc,
            "submit_audit_time": a.submit_audit_time,
        })))
    })
    .await
}

/// `GET /wxa/undocodeaudit`: withdraws the submission under review or delayed (status 3;
/// the quota is not given back). 85020 when none is (not confirmed); 87013 after 5
/// withdrawals this China-time day or 10 this month.
pub async fn undo_code_audit(sb: web::Data<Sandbox>, req: HttpRequest) -> HttpResponse {
    let query = query_map(&req);
    answer(&sb, move |c, now| {
        let account = mini_program(c, &query, now)?;
        let appid = account.appid;
        db::write_tx(c, |c| {
            let a = state::audit_in_review(c, &appid)?.ok_or(wx(85020))?;
            let today = state::count_undos_since(c, &appid, rules::china_day_start(now))?;
            let month = state::count_undos_since(c, &appid, rules::china_month_start(now))?;
            if today >= rules::UNDOS_PER_DAY || month >= rules::UNDOS_PER_MONTH {
                return Err(wx(87013));
            }
            state::set_audit_status(c, a.auditid, rules::WITHDRAWN, "", "", now)?;
            if let Some(r) = state::pending_review_of(c, a.auditid)? {
                mp_state::claim_decision(c, &r.id, "withdrawn", "", now)?;
            }
            state::insert_undo(c, &appid, a.auditid, now)?;
            Ok(ok(json!({})))
        })
    })
    .await
}

/// `POST /wxa/speedupaudit {"auditid"}`: 85012 not this mini program's, 89402 not under
/// review, 89404 already expedited, 89405 the platform's speed-ups are used up. The
/// sandbox records the speed-up; the reviewer's timing does not change.
pub async fn speedup_audit(sb: web::Data<Sandbox>, req: HttpRequest, bytes: web::Bytes) -> HttpResponse {
    let query = query_map(&req);
    answer(&sb, move |c, now| {
        let account = mini_program(c, &query, now)?;
        let body = Body::parse(&bytes)?;
        let id = body.int("auditid").ok().flatten().ok_or(wx(85012))?;
        db::write_tx(c, |c| {
            let a = state::find_audit(c, id)?.filter(|a| a.appid == account.appid).ok_or(wx(85012))?;
            if !rules::in_review(a.status) {
                return Err(wx(89402));
            }
            if a.expedited {
                return Err(wx(89404));
            }
            let mut quota = state::quota(c, now)?;
            if quota.speedup_rest <= 0 {
                return Err(wx(89405));
            }
            quota.speedup_rest -= 1;
            state::set_quota(c, &quota)?;
            state::set_expedited(c, a.auditid)?;
            Ok(ok(json!({})))
        })
    })
    .await
}

// ---- releases ----

/// `POST /wxa/release {}`: makes the newest submission live once approved. 85019 when
/// the newest submission is not approved (or there is none), 85052 when it is live
/// already; 44002 an empty body.
pub async fn release(sb: web::Data<Sandbox>, req: HttpRequest, bytes: web::Bytes) -> HttpResponse {
    let query = query_map(&req);
    answer(&sb, move |c, now| {
        let account = mini_program(c, &query, now)?;
        empty_object(&bytes)?;
        let appid = account.appid;
        db::write_tx(c, |c| {
            let a = state::latest_audit(c, &appid)?.filter(|a| a.status == rules::APPROVED).ok_or(wx(85019))?;
            if a.released_at.is_some() {
                return Err(wx(85052));
            }
            state::set_released(c, a.auditid, now)?;
            let r = state::NewRelease {
                kind: state::RELEASE,
                app_version: None,
                auditid: Some(a.auditid),
                template_id: a.template_id,
                user_version: &a.user_version,
                user_desc: &a.user_desc,
                commit_time: a.committed_at,
            };
            state::insert_release(c, &appid, &r, now)?;
            Ok(ok(json!({})))
        })
    })
    .await
}

/// `GET /wxa/revertcoderelease[?app_version=N]`: back to the previous live version (or
/// version N); 87012 when there is none, N is not kept, or the last operation was a
/// rollback. `?action=get_history_version` lists what a rollback may reach.
pub async fn revert_code_release(sb: web::Data<Sandbox>, req: HttpRequest) -> HttpResponse {
    let query = query_map(&req);
    answer(&sb, move |c, now| {
        let account = mini_program(c, &query, now)?;
        let appid = account.appid;
        if query.get("action").is_some_and(|a| a == "get_history_version") {
            let history = state::history(c, &appid)?;
            let entries: Vec<rules::HistoryEntry> = history.iter().map(state::Release::entry).collect();
            let list: Vec<Value> = rules::rollback_candidates(&entries)
                .into_iter()
                .map(|i| {
                    let r = &history[i];
                    json!({
                        "app_version": r.app_version, "user_version": r.user_version,
                        "user_desc": r.user_desc, "commit_time": r.commit_time,
                    })
                })
                .collect();
            return Ok(ok(json!({ "version_list": list })));
        }
        let wanted = match query.get("app_version").map(|v| v.trim()).filter(|v| !v.is_empty()) {
            Some(v) => Some(v.parse::<i64>().map_err(|_| wx(40097))?),
            None => None,
        };
        db::write_tx(c, |c| {
            let history = state::history(c, &appid)?;
            let entries: Vec<rules::HistoryEntry> = history.iter().map(state::Release::entry).collect();
            let target = &history[rules::rollback_target(&entries, wanted).map_err(wx)?];
            let r = state::NewRelease {
                kind: state::ROLLBACK,
                app_version: Some(target.app_version),
                auditid: target.auditid,
                template_id: target.template_id,
                user_version: &target.user_version,
                user_desc: &target.user_desc,
                commit_time: target.commit_time,
            };
            state::insert_release(c, &appid, &r, now)?;
            Ok(ok(json!({})))
        })
    })
    .await
}

/// `POST /wxa/getversioninfo {}`: `exp_info` (the trial version) and `release_info` (the
/// live one), each only when it exists.
pub async fn get_version_info(sb: web::Data<Sandbox>, req: HttpRequest, bytes: web::Bytes) -> HttpResponse {
    let query = query_map(&req);
    answer(&sb, move |c, now| {
        let account = mini_program(c, &query, now)?;
        empty_object(&bytes)?;
        let mut v = json!({});
        if let Some(t) = state::find_trial(c, &account.appid)? {
            v["exp_info"] =
                json!({ "exp_time": t.committed_at, "exp_version": t.user_version, "exp_desc": t.user_desc });
        }
        if let Some(r) = state::history(c, &account.appid)?.into_iter().next() {
            v["release_info"] = json!({
                "release_time": r.release_time, "release_version": r.user_version, "release_desc": r.user_desc,
            });
        }
        Ok(ok(v))
    })
    .await
}

// ---- the platform's quota and the screenshots ----

/// `GET /wxa/queryquota`: the platform's monthly quota, with any authorizer's token (no
/// permission set is checked).
pub async fn query_quota(sb: web::Data<Sandbox>, req: HttpRequest) -> HttpResponse {
    let query = query_map(&req);
    answer(&sb, move |c, now| {
        check_authorizer_token(c, query.get("access_token").map(String::as_str), now).map_err(wx)?;
        let q = db::write_tx(c, |c| state::quota(c, now))?;
        Ok(ok(json!({
            "rest": q.audit_rest, "limit": q.audit_limit,
            "speedup_rest": q.speedup_rest, "speedup_limit": q.speedup_limit,
        })))
    })
    .await
}

/// `POST /cgi-bin/material/get_material {"media_id"}` with the authorizer's token: a
/// screenshot of one of its audits as a PNG; 40007 for any other media id.
pub async fn get_material(sb: web::Data<Sandbox>, req: HttpRequest, bytes: web::Bytes) -> HttpResponse {
    let query = query_map(&req);
    let found = with_conn(&sb.pool, move |c| -> ApiResult {
        let now = crate::now();
        let appid = check_authorizer_token(c, query.get("access_token").map(String::as_str), now).map_err(wx)?;
        let body = Body::parse(&bytes)?;
        let media_id = body.str("media_id").ok_or(wx(40007))?;
        if !state::media_exists(c, &appid, &media_id)? {
            return Err(wx(40007));
        }
        Ok(Value::Null)
    })
    .await;
    match found {
        Ok(Ok(_)) => HttpResponse::Ok().content_type("image/png").body(SCREENSHOT_PNG),
        Ok(Err(ApiError::Wx(code))) => error_response(code),
        Ok(Err(ApiError::Db(e))) => {
            tracing::error!(error = %e, "sandbox: database error");
            error_response(-1)
        }
        Err(_) => error_response(-1),
    }
}
