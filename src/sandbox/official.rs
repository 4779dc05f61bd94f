//! Official accounts as WeChat keeps them for a third-party platform (reference §5,
//! wave-2 notes §3): linking a mini program (`wxamplink`, confirmed first by the official
//! account's administrator, then by the mini program's; `wxamplinkget`; `wxampunlink`),
//! the current custom menu (`get_current_selfmenu_info`) and the private notification
//! templates (`template/get_all_private_template`, `template/api_add_template`).
//!
//! All on `/sandbox/wechat` behind the official account's authorizer `access_token`; the
//! link APIs need permission set 33 (61007 without it). The two administrators'
//! confirmations and refusals are actions on `/sandbox/official-accounts` and the dev
//! endpoint `POST /sandbox/dev/oa-links/decide`.
//!
//! Limits (community figures, unconfirmed by WeChat's API pages): an official account links
//! at most [`SAME_SUBJECT_LIMIT`] mini programs of its own legal subject (89016) and
//! [`DIFFERENT_SUBJECT_LIMIT`] of other subjects (89407, the newer code for the
//! different-subject cap); 89015 already linked; 89010 a request is already waiting.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use diesel::prelude::*;
use serde::Deserialize;
use serde_json::{Value, json};

use super::api::{ApiError, Body, answer, check_authorizer_token, query_map};
use super::page::{CheckedForm, SandboxCtx, SandboxError};
use super::schema::{sandbox_oa_links as links, sandbox_oa_menus as menus, sandbox_oa_templates as templates};
use super::{Sandbox, store, with_conn};
use crate::db::{self, DbConn};

/// Mini program management, granted by an official account.
pub const SET_MINI_PROGRAM_MANAGEMENT: i64 = 33;
/// Same-subject mini programs an official account can link.
pub const SAME_SUBJECT_LIMIT: i64 = 10;
/// Different-subject mini programs an official account can link.
pub const DIFFERENT_SUBJECT_LIMIT: i64 = 3;
/// Private templates an official account can hold (45026 beyond).
pub const TEMPLATE_LIMIT: i64 = 25;

pub const LINKED: i32 = 1;
pub const WAITING_MP: i32 = 2;
pub const REFUSED: i32 = 3;
pub const WAITING_OA: i32 = 12;

/// The templates of WeChat's library an official account can add by short id (a small
/// sandbox catalog): (short id, title, content).
pub const LIBRARY: [(&str, &str, &str); 3] = [
    (
        "TM00015",
        "订单支付成功",
        "{{first.DATA}}\n支付金额：{{orderMoneySum.DATA}}\n商品信息：{{orderProductName.DATA}}\n{{Remark.DATA}}",
    ),
    (
        "OPENTM200565259",
        "订单发货提醒",
        "{{first.DATA}}\n订单编号：{{keyword1.DATA}}\n物流公司：{{keyword2.DATA}}\n物流单号：{{keyword3.DATA}}\n{{remark.DATA}}",
    ),
    (
        "OPENTM207791277",
        "订单状态更新",
        "{{first.DATA}}\n订单号：{{keyword1.DATA}}\n订单状态：{{keyword2.DATA}}\n{{remark.DATA}}",
    ),
];

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

// ---- queries ----

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = links)]
pub struct Link {
    pub oa_appid: String,
    pub mp_appid: String,
    pub status: i32,
    pub nickname: String,
    pub username: String,
    pub same_subject: bool,
    pub notify_users: bool,
    pub show_profile: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

pub fn links_of(conn: &mut DbConn, oa: &str) -> QueryResult<Vec<Link>> {
    links::table.filter(links::oa_appid.eq(oa)).order(links::created_at.asc()).select(Link::as_select()).load(conn)
}

pub fn all_links(conn: &mut DbConn) -> QueryResult<Vec<Link>> {
    links::table.order((links::oa_appid.asc(), links::created_at.asc())).select(Link::as_select()).load(conn)
}

fn link(conn: &mut DbConn, oa: &str, mp: &str) -> QueryResult<Option<Link>> {
    links::table.find((oa, mp)).select(Link::as_select()).first(conn).optional()
}

fn put_link(conn: &mut DbConn, l: &Link) -> QueryResult<()> {
    diesel::delete(links::table.find((&l.oa_appid, &l.mp_appid))).execute(conn)?;
    diesel::insert_into(links::table)
        .values((
            links::oa_appid.eq(&l.oa_appid),
            links::mp_appid.eq(&l.mp_appid),
            links::status.eq(l.status),
            links::nickname.eq(&l.nickname),
            links::username.eq(&l.username),
            links::same_subject.eq(l.same_subject),
            links::notify_users.eq(l.notify_users),
            links::show_profile.eq(l.show_profile),
            links::created_at.eq(l.created_at),
            links::updated_at.eq(l.updated_at),
        ))
        .execute(conn)?;
    Ok(())
}

fn set_status(conn: &mut DbConn, oa: &str, mp: &str, status: i32, now: i64) -> QueryResult<usize> {
    diesel::update(links::table.find((oa, mp))).set((links::status.eq(status), links::updated_at.eq(now))).execute(conn)
}

fn delete_link(conn: &mut DbConn, oa: &str, mp: &str) -> QueryResult<usize> {
    diesel::delete(links::table.find((oa, mp))).execute(conn)
}

pub fn menu(conn: &mut DbConn, appid: &str) -> QueryResult<Option<String>> {
    menus::table.find(appid).select(menus::buttons).first(conn).optional()
}

fn put_menu(conn: &mut DbConn, appid: &str, buttons: &str, now: i64) -> QueryResult<()> {
    diesel::delete(menus::table.find(appid)).execute(conn)?;
    diesel::insert_into(menus::table)
        .values((menus::appid.eq(appid), menus::buttons.eq(buttons), menus::updated_at.eq(now)))
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = templates)]
pub struct PrivateTemplate {
    pub template_id: String,
    pub title: String,
    pub content: String,
    pub example: String,
    pub primary_industry: String,
    pub deputy_industry: String,
}

pub fn templates_of(conn: &mut DbConn, appid: &str) -> QueryResult<Vec<PrivateTemplate>> {
    templates::table
        .filter(templates::appid.eq(appid))
        .order((templates::created_at.asc(), templates::template_id.asc()))
        .select(PrivateTemplate::as_select())
        .load(conn)
}

fn insert_template(conn: &mut DbConn, appid: &str, t: &PrivateTemplate, now: i64) -> QueryResult<()> {
    diesel::insert_into(templates::table)
        .values((
            templates::appid.eq(appid),
            templates::template_id.eq(&t.template_id),
            templates::title.eq(&t.title),
            templates::content.eq(&t.content),
            templates::example.eq(&t.example),
            templates::primary_industry.eq(&t.primary_industry),
            templates::deputy_industry.eq(&t.deputy_industry),
            templates::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

fn new_template(title: &str, content: &str) -> PrivateTemplate {
    PrivateTemplate {
        template_id: store::random_token("", 43),
        title: title.to_string(),
        content: content.to_string(),
        example: String::new(),
        primary_industry: "IT科技".into(),
        deputy_industry: "互联网|电子商务".into(),
    }
}

// ---- the WeChat endpoints ----

/// The official account behind `access_token`; with `set`, that set must be granted.
fn official_account(
    conn: &mut DbConn,
    query: &std::collections::HashMap<String, String>,
    set: Option<i64>,
    now: i64,
) -> Result<store::Account, ApiError> {
    let appid = check_authorizer_token(conn, query.get("access_token").map(String::as_str), now).map_err(wx)?;
    if let Some(set) = set {
        let granted = store::find_authorization(conn, &appid)?.filter(|a| a.active).map(|a| a.func_ids());
        if !granted.unwrap_or_default().contains(&set) {
            return Err(wx(61007));
        }
    }
    store::find_account(conn, &appid)?.filter(|a| !a.is_mini_program()).ok_or(wx(48001))
}

/// The API paths this module serves.
pub fn routes(cfg: &mut web::ServiceConfig) {
    use super::api::{read, write};
    write(cfg, "/cgi-bin/wxopen/wxamplinkget", link_get);
    write(cfg, "/cgi-bin/wxopen/wxamplink", link_mp);
    write(cfg, "/cgi-bin/wxopen/wxampunlink", unlink_mp);
    read(cfg, "/cgi-bin/get_current_selfmenu_info", current_menu);
    read(cfg, "/cgi-bin/template/get_all_private_template", private_templates);
    write(cfg, "/cgi-bin/template/api_add_template", add_template);
}

/// `POST /cgi-bin/wxopen/wxamplinkget` (set 33): the linked and pending mini programs.
pub async fn link_get(sb: web::Data<Sandbox>, req: HttpRequest, bytes: web::Bytes) -> HttpResponse {
    let query = query_map(&req);
    answer(&sb, move |c, now| {
        let oa = official_account(c, &query, Some(SET_MINI_PROGRAM_MANAGEMENT), now)?;
        Body::parse_or_empty(&bytes)?;
        let mut items = Vec::new();
        for l in links_of(c, &oa.appid)? {
            let mp = store::find_account(c, &l.mp_appid)?;
            let (verified, pay, head) = match &mp {
                Some(a) => (a.verified, a.business_info.contains("\"open_pay\":1"), a.head_img.clone()),
                None => (true, false, String::new()),
            };
            items.push(json!({
                "status": l.status,
                "username": l.username,
                "appid": l.mp_appid,
                "nickname": l.nickname,
                "headimg_url": head,
                "selected": i32::from(l.show_profile),
                "nearby_display_status": 0,
                "released": 1,
                "func_infos": [
                    { "id": 1, "status": i32::from(verified), "name": "微信认证" },
                    { "id": 2, "status": i32::from(pay), "name": "微信支付" },
                ],
                "email": "",
                "source": "SOURCE_NORMAL",
                "copy_verify_status": 0,
            }));
        }
        Ok(ok(json!({ "wxopens": { "items": items } })))
    })
    .await
}

/// A 0/1 flag given as a number or a string (the doc's sample sends strings).
fn flag(body: &Body, key: &str) -> Result<bool, ApiError> {
    match body.int(key)? {
        None | Some(0) => Ok(false),
        Some(1) => Ok(true),
        Some(_) => Err(wx(40097)),
    }
}

/// `POST /cgi-bin/wxopen/wxamplink` (set 33) `{appid, notify_users, show_profile}`: asks
/// both administrators to confirm (status 12, then 2, then 1).
pub async fn link_mp(sb: web::Data<Sandbox>, req: HttpRequest, bytes: web::Bytes) -> HttpResponse {
    let query = query_map(&req);
    answer(&sb, move |c, now| {
        let oa = official_account(c, &query, Some(SET_MINI_PROGRAM_MANAGEMENT), now)?;
        let body = Body::parse(&bytes)?;
        let mp_appid = body.str("appid").ok_or(wx(40097))?;
        let (notify_users, show_profile) = (flag(&body, "notify_users")?, flag(&body, "show_profile")?);
        let mp = store::find_account(c, &mp_appid)?.filter(store::Account::is_mini_program).ok_or(wx(40013))?;
        if mp.account_status != 1 {
            return Err(wx(89013));
        }
        db::write_tx(c, |c| {
            match link(c, &oa.appid, &mp.appid)?.map(|l| l.status) {
                Some(LINKED) => return Err(wx(89015)),
                Some(WAITING_MP | WAITING_OA) => return Err(wx(89010)),
                _ => {}
            }
            let same_subject = oa.principal_name.trim() == mp.principal_name.trim();
            let counted = links_of(c, &oa.appid)?
                .iter()
                .filter(|l| l.status != REFUSED && l.mp_appid != mp.appid && l.same_subject == same_subject)
                .count();
            let counted = i64::try_from(counted).unwrap_or(i64::MAX);
            if same_subject && counted >= SAME_SUBJECT_LIMIT {
                return Err(wx(89016));
            }
            if !same_subject && counted >= DIFFERENT_SUBJECT_LIMIT {
                return Err(wx(89407));
            }
            put_link(
                c,
                &Link {
                    oa_appid: oa.appid.clone(),
                    mp_appid: mp.appid.clone(),
                    status: WAITING_OA,
                    nickname: mp.nick_name.clone(),
                    username: mp.user_name.clone(),
                    same_subject,
                    notify_users,
                    show_profile,
                    created_at: now,
                    updated_at: now,
                },
            )?;
            Ok(ok(json!({})))
        })
    })
    .await
}

/// `POST /cgi-bin/wxopen/wxampunlink` (set 33) `{appid}`: ends a link (or withdraws a
/// request still waiting); 40097 when there is none.
pub async fn unlink_mp(sb: web::Data<Sandbox>, req: HttpRequest, bytes: web::Bytes) -> HttpResponse {
    let query = query_map(&req);
    answer(&sb, move |c, now| {
        let oa = official_account(c, &query, Some(SET_MINI_PROGRAM_MANAGEMENT), now)?;
        let body = Body::parse(&bytes)?;
        let mp_appid = body.str("appid").ok_or(wx(40097))?;
        db::write_tx(c, |c| {
            if delete_link(c, &oa.appid, &mp_appid)? == 0 {
                return Err(wx(40097));
            }
            Ok(ok(json!({})))
        })
    })
    .await
}

/// `GET /cgi-bin/get_current_selfmenu_info`: the menu as it is now (sub-menus as
/// `sub_button.list`), `is_menu_open` 0 without one.
pub async fn current_menu(sb: web::Data<Sandbox>, req: HttpRequest) -> HttpResponse {
    let query = query_map(&req);
    answer(&sb, move |c, now| {
        let oa = official_account(c, &query, None, now)?;
        let buttons = menu(c, &oa.appid)?.and_then(|m| serde_json::from_str::<Value>(&m).ok());
        let open = buttons.as_ref().and_then(Value::as_array).is_some_and(|b| !b.is_empty());
        Ok(json!({
            "is_menu_open": i32::from(open),
            "selfmenu_info": { "button": buttons.unwrap_or_else(|| json!([])) },
        }))
    })
    .await
}

/// `GET /cgi-bin/template/get_all_private_template`.
pub async fn private_templates(sb: web::Data<Sandbox>, req: HttpRequest) -> HttpResponse {
    let query = query_map(&req);
    answer(&sb, move |c, now| {
        let oa = official_account(c, &query, None, now)?;
        Ok(json!({ "template_list": templates_of(c, &oa.appid)? }))
    })
    .await
}

/// `POST /cgi-bin/template/api_add_template {template_id_short}` → `template_id`; 40037
/// unknown short id, 45026 over the account's limit.
pub async fn add_template(sb: web::Data<Sandbox>, req: HttpRequest, bytes: web::Bytes) -> HttpResponse {
    let query = query_map(&req);
    answer(&sb, move |c, now| {
        let oa = official_account(c, &query, None, now)?;
        let body = Body::parse(&bytes)?;
        let short = body.str("template_id_short").ok_or(wx(40037))?;
        let (_, title, content) = LIBRARY.iter().find(|(id, _, _)| *id == short).ok_or(wx(40037))?;
        db::write_tx(c, |c| {
            if i64::try_from(templates_of(c, &oa.appid)?.len()).unwrap_or(i64::MAX) >= TEMPLATE_LIMIT {
                return Err(wx(45026));
            }
            let t = new_template(title, content);
            insert_template(c, &oa.appid, &t, now)?;
            Ok(json!({ "errcode": 0, "errmsg": "ok", "template_id": t.template_id }))
        })
    })
    .await
}

// ---- the administrators' decisions (human page and dev endpoint) ----

/// Which administrator decides.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The official account's administrator (a link waiting at 12).
    Oa,
    /// The mini program's administrator (a link waiting at 2).
    Mp,
}

#[derive(Debug)]
pub enum DecideError {
    NoLink,
    NotWaiting,
    Db(diesel::result::Error),
}

impl From<diesel::result::Error> for DecideError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Db(e)
    }
}

/// Confirms or refuses: the official account's administrator moves 12 → 2 (a refusal
/// drops the request); the mini program's moves 2 → 1 (a refusal leaves it at 3).
pub fn decide(conn: &mut DbConn, oa: &str, mp: &str, side: Side, confirm: bool, now: i64) -> Result<i32, DecideError> {
    db::write_tx(conn, |c| {
        let l = link(c, oa, mp)?.ok_or(DecideError::NoLink)?;
        let next = match (side, l.status, confirm) {
            (Side::Oa, WAITING_OA, true) => WAITING_MP,
            (Side::Oa, WAITING_OA, false) => {
                delete_link(c, oa, mp)?;
                return Ok(0);
            }
            (Side::Mp, WAITING_MP, true) => LINKED,
            (Side::Mp, WAITING_MP, false) => REFUSED,
            _ => return Err(DecideError::NotWaiting),
        };
        set_status(c, oa, mp, next, now)?;
        Ok(next)
    })
}

fn dev_error(status: StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "error": message }))
}

fn dev_internal(e: impl std::fmt::Debug) -> HttpResponse {
    tracing::error!(error = ?e, "sandbox dev endpoint failed");
    dev_error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
}

#[derive(Deserialize)]
pub struct DecideBody {
    oa_appid: String,
    mp_appid: String,
    side: Side,
    decision: String,
}

/// `POST /sandbox/dev/oa-links/decide {oa_appid, mp_appid, side: oa|mp, decision:
/// confirm|refuse}` → `{status}` (0 when the request was dropped); 404 no such link, 409
/// not waiting for that administrator, 400 bad decision.
pub async fn dev_decide(sb: web::Data<Sandbox>, body: web::Json<DecideBody>) -> HttpResponse {
    let b = body.into_inner();
    let confirm = match b.decision.as_str() {
        "confirm" => true,
        "refuse" => false,
        _ => return dev_error(StatusCode::BAD_REQUEST, "decision must be confirm or refuse"),
    };
    let r = with_conn(&sb.pool, move |c| decide(c, &b.oa_appid, &b.mp_appid, b.side, confirm, crate::now())).await;
    match r {
        Ok(Ok(status)) => HttpResponse::Ok().json(json!({ "status": status })),
        Ok(Err(DecideError::NoLink)) => dev_error(StatusCode::NOT_FOUND, "no such link"),
        Ok(Err(DecideError::NotWaiting)) => dev_error(StatusCode::CONFLICT, "not waiting for this administrator"),
        Ok(Err(DecideError::Db(e))) => dev_internal(e),
        Err(e) => dev_internal(e),
    }
}

#[derive(Deserialize)]
pub struct LinkBody {
    oa_appid: String,
    mp_appid: String,
    #[serde(default = "linked")]
    status: i32,
    #[serde(default)]
    nickname: String,
    #[serde(default = "yes")]
    same_subject: bool,
}

fn linked() -> i32 {
    LINKED
}

fn yes() -> bool {
    true
}

/// `GET /sandbox/dev/oa-links`: every link.
pub async fn dev_links(sb: web::Data<Sandbox>) -> HttpResponse {
    match with_conn(&sb.pool, all_links).await {
        Ok(Ok(l)) => HttpResponse::Ok().json(json!({ "links": l })),
        Ok(Err(e)) => dev_internal(e),
        Err(e) => dev_internal(e),
    }
}

/// `POST /sandbox/dev/oa-links {oa_appid, mp_appid, status?, nickname?, same_subject?}`:
/// records a link as WeChat would have it (any mini program AppID, e.g. to fill an official
/// account up to its limits).
pub async fn dev_add_link(sb: web::Data<Sandbox>, body: web::Json<LinkBody>) -> HttpResponse {
    let b = body.into_inner();
    if ![LINKED, WAITING_MP, REFUSED, WAITING_OA].contains(&b.status) {
        return dev_error(StatusCode::BAD_REQUEST, "status must be 1, 2, 3 or 12");
    }
    let r = with_conn(&sb.pool, move |c| {
        let now = crate::now();
        db::write_tx(c, |c| {
            put_link(
                c,
                &Link {
                    oa_appid: b.oa_appid,
                    username: format!("gh_{}", b.mp_appid.get(2..14).unwrap_or("sandbox")),
                    nickname: if b.nickname.is_empty() { b.mp_appid.clone() } else { b.nickname },
                    mp_appid: b.mp_appid,
                    status: b.status,
                    same_subject: b.same_subject,
                    notify_users: false,
                    show_profile: false,
                    created_at: now,
                    updated_at: now,
                },
            )
        })
    })
    .await;
    match r {
        Ok(Ok(())) => HttpResponse::Ok().json(json!({ "ok": true })),
        Ok(Err(e)) => dev_internal(e),
        Err(e) => dev_internal(e),
    }
}

/// `POST /sandbox/dev/accounts/{appid}/menu {button: [...]}`: the administrator edits the
/// official account's menu by hand (as in WeChat's admin site); `button` as
/// `get_current_selfmenu_info` answers it.
pub async fn dev_set_menu(sb: web::Data<Sandbox>, path: web::Path<String>, body: web::Json<Value>) -> HttpResponse {
    let appid = path.into_inner();
    let Some(buttons) = body.get("button").filter(|b| b.is_array()).map(Value::to_string) else {
        return dev_error(StatusCode::BAD_REQUEST, "button must be an array");
    };
    match with_conn(&sb.pool, move |c| put_menu(c, &appid, &buttons, crate::now())).await {
        Ok(Ok(())) => HttpResponse::Ok().json(json!({ "ok": true })),
        Ok(Err(e)) => dev_internal(e),
        Err(e) => dev_internal(e),
    }
}

#[derive(Deserialize)]
pub struct TemplateInput {
    title: String,
    content: String,
}

/// `POST /sandbox/dev/accounts/{appid}/templates {templates: [{title, content}]}`: replaces
/// the official account's private templates (as edited in WeChat's admin site).
pub async fn dev_set_templates(sb: web::Data<Sandbox>, path: web::Path<String>, body: web::Bytes) -> HttpResponse {
    #[derive(Deserialize)]
    struct Input {
        templates: Vec<TemplateInput>,
    }
    let appid = path.into_inner();
    let Ok(input) = serde_json::from_slice::<Input>(&body) else {
        return dev_error(StatusCode::BAD_REQUEST, "templates must be a list of {title, content}");
    };
    let r = with_conn(&sb.pool, move |c| {
        let now = crate::now();
        db::write_tx(c, |c| {
            diesel::delete(templates::table.filter(templates::appid.eq(&appid))).execute(c)?;
            for t in &input.templates {
                insert_template(c, &appid, &new_template(&t.title, &t.content), now)?;
            }
            Ok::<_, diesel::result::Error>(())
        })
    })
    .await;
    match r {
        Ok(Ok(())) => HttpResponse::Ok().json(json!({ "ok": true })),
        Ok(Err(e)) => dev_internal(e),
        Err(e) => dev_internal(e),
    }
}

// ---- the human page ----

pub struct LinkView {
    pub l: Link,
    pub oa_name: String,
    pub status_text: String,
    pub waiting_oa: bool,
    pub waiting_mp: bool,
}

/// An official account's menu as the page shows it.
pub struct MenuView {
    pub appid: String,
    pub name: String,
    pub entries: Vec<String>,
}

#[derive(Template)]
#[template(path = "sandbox/official.html")]
struct OfficialPage {
    ctx: SandboxCtx,
    links: Vec<LinkView>,
    menus: Vec<MenuView>,
    mini_programs: Vec<store::Account>,
    notice: Option<String>,
}

/// The entries of a menu (`selfmenu_info.button`), sub-menus as "parent › entry".
fn menu_entries(buttons: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for b in buttons.as_array().into_iter().flatten() {
        let name = b["name"].as_str().unwrap_or_default();
        match b["sub_button"]["list"].as_array() {
            Some(list) if !list.is_empty() => {
                for s in list {
                    out.push(format!("{name} › {}", s["name"].as_str().unwrap_or_default()));
                }
            }
            _ => match b["appid"].as_str() {
                Some(appid) if b["type"] == "miniprogram" => out.push(format!("{name} (miniprogram {appid})")),
                _ => out.push(name.to_string()),
            },
        }
    }
    out
}

/// `GET /sandbox/official-accounts`: every link and request, with the two administrators'
/// Confirm and Refuse buttons.
pub async fn page(ctx: SandboxCtx, sb: web::Data<Sandbox>, req: HttpRequest) -> Result<HttpResponse, SandboxError> {
    let query = query_map(&req);
    let notice = query
        .get("notice")
        .filter(|n| ["decided", "menu_saved", "menu_full"].contains(&n.as_str()))
        .map(|n| ctx.t(&format!("sandbox.oa.{n}")));
    let loaded = with_conn(&sb.pool, |c| {
        let accounts = store::list_accounts(c)?;
        let mut menus = Vec::new();
        for a in accounts.iter().filter(|a| !a.is_mini_program()) {
            let buttons = menu(c, &a.appid)?.and_then(|m| serde_json::from_str::<Value>(&m).ok()).unwrap_or(json!([]));
            menus.push(MenuView { appid: a.appid.clone(), name: a.nick_name.clone(), entries: menu_entries(&buttons) });
        }
        Ok::<_, diesel::result::Error>((all_links(c)?, accounts, menus))
    })
    .await;
    let (links, accounts, menus) = match loaded {
        Ok(Ok(v)) => v,
        _ => return Err(ctx.internal()),
    };
    let mini_programs: Vec<store::Account> = accounts.iter().filter(|a| a.is_mini_program()).cloned().collect();
    let links = links
        .into_iter()
        .map(|l| LinkView {
            oa_name: accounts.iter().find(|a| a.appid == l.oa_appid).map(|a| a.nick_name.clone()).unwrap_or_default(),
            status_text: ctx.t(&format!("sandbox.oa.status_{}", l.status)),
            waiting_oa: l.status == WAITING_OA,
            waiting_mp: l.status == WAITING_MP,
            l,
        })
        .collect();
    ctx.reply(true).ok(&OfficialPage { ctx, links, menus, mini_programs, notice })
}

/// WeChat's menu takes at most three top-level entries.
const MENU_TOP_LEVEL: usize = 3;

/// `POST /sandbox/official-accounts/{appid}/menu-entry` (mp_appid, name): the official
/// account's administrator adds a mini program entry to the menu, as in WeChat's admin site.
pub async fn page_add_menu_entry(
    ctx: SandboxCtx,
    sb: web::Data<Sandbox>,
    path: web::Path<String>,
    form: CheckedForm,
) -> Result<HttpResponse, SandboxError> {
    let appid = path.into_inner();
    let mp = form.field("mp_appid").unwrap_or_default().to_string();
    let name = form.field("name").map(str::trim).filter(|n| !n.is_empty()).unwrap_or("Store").to_string();
    let saved = with_conn(&sb.pool, move |c| {
        db::write_tx(c, |c| {
            let mut buttons =
                menu(c, &appid)?.and_then(|m| serde_json::from_str::<Vec<Value>>(&m).ok()).unwrap_or_default();
            if buttons.len() >= MENU_TOP_LEVEL {
                return Ok(false);
            }
            buttons.push(json!({
                "type": "miniprogram", "name": name, "url": "https://mp.weixin.qq.com",
                "appid": mp, "pagepath": "pages/index/index",
            }));
            put_menu(c, &appid, &Value::Array(buttons).to_string(), crate::now())?;
            Ok::<_, diesel::result::Error>(true)
        })
    })
    .await;
    let notice = match saved {
        Ok(Ok(true)) => "menu_saved",
        Ok(Ok(false)) => "menu_full",
        _ => return Err(ctx.internal()),
    };
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", format!("/sandbox/official-accounts?notice={notice}#menus")))
        .finish())
}

/// `POST /sandbox/official-accounts/decide` (oa_appid, mp_appid, side, decision).
pub async fn page_decide(
    ctx: SandboxCtx,
    sb: web::Data<Sandbox>,
    form: CheckedForm,
) -> Result<HttpResponse, SandboxError> {
    let field = |n: &str| form.field(n).unwrap_or_default().to_string();
    let (oa, mp) = (field("oa_appid"), field("mp_appid"));
    let side = if field("side") == "mp" { Side::Mp } else { Side::Oa };
    let confirm = field("decision") == "confirm";
    match with_conn(&sb.pool, move |c| decide(c, &oa, &mp, side, confirm, crate::now())).await {
        Ok(Ok(_) | Err(DecideError::NoLink | DecideError::NotWaiting)) => Ok(HttpResponse::SeeOther()
            .insert_header(("Location", "/sandbox/official-accounts?notice=decided"))
            .finish()),
        _ => Err(ctx.internal()),
    }
}
