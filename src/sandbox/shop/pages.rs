//! The human page `/sandbox/shop/` (which mini programs are on the legacy trade component,
//! their WeChat Shop links, WeChat's reviewer of qualifications, products and the scene
//! group) and the dev endpoints `/sandbox/dev/shop/…` that tests use for the same.

use actix_web::{HttpResponse, http::header, web};
use askama::Template;
use serde::Deserialize;
use serde_json::{Value, json};

use super::review::{self, Subject};
use super::state::{self, ShopAccount};
use crate::db;
use crate::sandbox::page::{CheckedForm, SandboxCtx, SandboxError};
use crate::sandbox::{Sandbox, store, with_conn};

pub fn configure(cfg: &mut web::ServiceConfig) {
    let form = || web::FormConfig::default().limit(64 * 1024).error_handler(crate::sandbox::page::bad_form);
    cfg.service(
        web::scope("/sandbox/dev/shop")
            .route("/{appid}", web::get().to(dev_get))
            .route("/{appid}", web::post().to(dev_set))
            .route("/{appid}/decide", web::post().to(dev_decide))
            .route("/{appid}/sharer", web::post().to(dev_sharer))
            .default_service(web::to(crate::sandbox::dev::not_found)),
    )
    .service(
        web::scope("/sandbox/shop")
            .app_data(form())
            .route("", web::get().to(home))
            .route("/", web::get().to(home))
            .route("/accounts/{appid}", web::post().to(edit))
            .route("/legacy/{appid}", web::post().to(edit_legacy))
            .route("/decide/{appid}", web::post().to(decide))
            .route("/sharer/{appid}", web::post().to(answer_invitation)),
    );
}

/// Inline English and Chinese, like the sandbox's payment pages.
pub struct L {
    zh: bool,
}

impl L {
    pub fn t<'a>(&self, en: &'a str, zh: &'a str) -> &'a str {
        if self.zh { zh } else { en }
    }
}

pub struct Row {
    pub appid: String,
    pub name: String,
    pub legacy: bool,
    pub shop_appid: String,
    pub link_status: i32,
    pub scene_status: i32,
    pub flags: Vec<(String, bool)>,
}

pub struct Pending {
    pub appid: String,
    pub kind: &'static str,
    pub id: String,
    pub what: String,
}

#[derive(Template)]
#[template(path = "sandbox/shop.html")]
struct ShopPage {
    ctx: SandboxCtx,
    l: L,
    rows: Vec<Row>,
    pending: Vec<Pending>,
    objects: Vec<state::Object>,
    invitations: Vec<(String, String)>,
    notice: Option<String>,
    error: Option<String>,
    link_statuses: [(i32, &'static str); 8],
}

const LINK_STATUSES: [(i32, &str); 8] = [
    (0, "no link"),
    (4, "4 inviting"),
    (1, "1 bound"),
    (3, "3 refused"),
    (5, "5 timed out"),
    (6, "6 failed"),
    (7, "7 cancelled by shop"),
    (2, "2 unbound"),
];

fn back(notice: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, format!("/sandbox/shop/?notice={notice}"))).finish()
}

/// `GET /sandbox/shop/`.
pub async fn home(
    ctx: SandboxCtx,
    sb: web::Data<Sandbox>,
    req: actix_web::HttpRequest,
) -> Result<HttpResponse, SandboxError> {
    let notice = crate::sandbox::api::query_map(&req).get("notice").cloned();
    let loaded = with_conn(&sb.pool, |c| {
        Ok::<_, diesel::result::Error>((store::list_accounts(c)?, state::accounts(c)?, state::objects(c, None)?))
    })
    .await;
    let Ok(Ok((accounts, shops, objects))) = loaded else { return Err(ctx.internal()) };
    let rows: Vec<Row> = accounts
        .iter()
        .filter(|a| a.is_mini_program())
        .map(|a| {
            let s = shops.iter().find(|s| s.appid == a.appid).cloned().unwrap_or_else(|| ShopAccount::none(&a.appid));
            Row {
                appid: a.appid.clone(),
                name: a.nick_name.clone(),
                legacy: s.legacy,
                shop_appid: s.shop_appid.clone().unwrap_or_default(),
                link_status: s.link_status,
                scene_status: s.scene_status,
                flags: s.flags().into_iter().map(|(k, v)| (k, v.as_i64() == Some(1))).collect(),
            }
        })
        .collect();
    let mut pending: Vec<Pending> = objects
        .iter()
        .filter(|o| matches!((o.kind.as_str(), o.status), ("brand" | "category", 0) | ("spu", 2)))
        .map(|o| {
            let d = o.data();
            let what = match o.kind.as_str() {
                "brand" => d["brand_wording"].as_str().unwrap_or_default().to_string(),
                "category" => d["level3"].to_string(),
                _ => format!("{} · {}", d["title"].as_str().unwrap_or_default(), o.out_id),
            };
            let kind = match o.kind.as_str() {
                "brand" => "brand",
                "category" => "category",
                _ => "spu",
            };
            Pending { appid: o.appid.clone(), kind, id: o.wx_id.clone(), what }
        })
        .collect();
    pending.extend(shops.iter().filter(|s| s.scene_status == 0).map(|s| Pending {
        appid: s.appid.clone(),
        kind: "scene",
        id: "1".into(),
        what: "视频号、公众号场景".into(),
    }));
    let invitations: Vec<(String, String)> = objects
        .iter()
        .filter(|o| o.kind == state::SHARER && o.status == 3)
        .map(|o| (o.appid.clone(), o.wx_id.clone()))
        .collect();
    let (notice, error) = match notice.as_deref() {
        Some("saved") => (Some(ctx.t("sandbox.notice.saved")), None),
        Some("decided") => (Some(ctx.t("sandbox.notice.decided")), None),
        Some("reason_required") => (None, Some(ctx.t("sandbox.shop.reason_required"))),
        Some(_) => (None, Some(ctx.t("sandbox.err.internal"))),
        None => (None, None),
    };
    let reply = ctx.reply(true);
    let l = L { zh: ctx.is_zh() };
    reply.html(
        actix_web::http::StatusCode::OK,
        &ShopPage { ctx, l, rows, pending, objects, invitations, notice, error, link_statuses: LINK_STATUSES },
    )
}

/// The row of `appid` with the flag and the link changed.
fn edited(
    mut a: ShopAccount,
    legacy: Option<bool>,
    shop_appid: Option<String>,
    link_status: Option<i32>,
) -> ShopAccount {
    if let Some(l) = legacy {
        a.legacy = l;
    }
    if let Some(s) = shop_appid {
        a.shop_appid = Some(s).filter(|s| !s.trim().is_empty()).map(|s| s.trim().to_string());
    }
    if let Some(s) = link_status {
        a.link_status = s;
    }
    a
}

async fn save(
    sb: &Sandbox,
    appid: String,
    legacy: Option<bool>,
    shop: Option<String>,
    link: Option<i32>,
) -> Result<Value, ()> {
    let r = with_conn(&sb.pool, move |c| {
        db::write_tx(c, |c| {
            if store::find_account(c, &appid)?.filter(store::Account::is_mini_program).is_none() {
                return Ok(None);
            }
            let before = state::account(c, &appid)?;
            let was_legacy = before.legacy;
            let a = edited(before, legacy, shop, link);
            let now = crate::now();
            state::save_account(c, &a, now)?;
            if a.legacy != was_legacy {
                review::account_register_push(c, &appid, a.legacy, now)?;
            }
            Ok::<_, diesel::result::Error>(Some(account_json(&state::account(c, &appid)?)))
        })
    })
    .await;
    sb.pusher.wake();
    match r {
        Ok(Ok(Some(v))) => Ok(v),
        _ => Err(()),
    }
}

fn account_json(a: &ShopAccount) -> Value {
    json!({ "appid": a.appid, "legacy": a.legacy, "access_info": a.flags(), "scene_status": a.scene_status,
        "scene_reason": a.scene_reason, "shop_appid": a.shop_appid, "link_status": a.link_status })
}

/// `POST /sandbox/shop/accounts/{appid}`: the legacy flag and the WeChat Shop link.
pub async fn edit(sb: web::Data<Sandbox>, path: web::Path<String>, form: CheckedForm) -> HttpResponse {
    let legacy = Some(form.field("legacy") == Some("1"));
    let shop = Some(form.field("shop_appid").unwrap_or_default().to_string());
    let link = form.field("link_status").and_then(|s| s.parse().ok());
    match save(&sb, path.into_inner(), legacy, shop, link).await {
        Ok(_) => back("saved"),
        Err(()) => back("error"),
    }
}

/// `POST /sandbox/shop/legacy/{appid}`: only the flag, from the account's card on `/sandbox/`.
pub async fn edit_legacy(sb: web::Data<Sandbox>, path: web::Path<String>, form: CheckedForm) -> HttpResponse {
    let appid = path.into_inner();
    let legacy = Some(form.field("legacy") == Some("1"));
    let query = match save(&sb, appid.clone(), legacy, None, None).await {
        Ok(_) => "notice=saved",
        Err(()) => "error=internal",
    };
    HttpResponse::SeeOther().insert_header((header::LOCATION, format!("/sandbox/?{query}#account-{appid}"))).finish()
}

async fn decide_now(
    sb: &Sandbox,
    appid: String,
    kind: &str,
    id: String,
    approve: bool,
    reason: String,
) -> Result<(), String> {
    let subject = Subject::parse(kind).ok_or_else(|| "unknown kind".to_string())?;
    let r = with_conn(&sb.pool, move |c| {
        db::write_tx(c, |c| review::decide(c, &appid, subject, &id, approve, &reason, crate::now()))
    })
    .await;
    sb.pusher.wake();
    match r {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("database unavailable".into()),
    }
}

/// `POST /sandbox/shop/decide/{appid}`: the reviewer's approve or reject.
pub async fn decide(sb: web::Data<Sandbox>, path: web::Path<String>, form: CheckedForm) -> HttpResponse {
    let kind = form.field("kind").unwrap_or_default().to_string();
    let id = form.field("id").unwrap_or_default().to_string();
    let approve = form.field("decision") == Some("approve");
    let reason = form.field("reason").unwrap_or_default().to_string();
    match decide_now(&sb, path.into_inner(), &kind, id, approve, reason).await {
        Ok(()) => back("decided"),
        Err(e) if e.contains("reason") => back("reason_required"),
        Err(_) => back("error"),
    }
}

/// `GET /sandbox/dev/shop/{appid}`: the row and every object of the mini program.
pub async fn dev_get(sb: web::Data<Sandbox>, path: web::Path<String>) -> HttpResponse {
    let appid = path.into_inner();
    let r = with_conn(&sb.pool, move |c| {
        Ok::<_, diesel::result::Error>((state::account(c, &appid)?, state::objects(c, Some(&appid))?))
    })
    .await;
    match r {
        Ok(Ok((a, objects))) => {
            let mut v = account_json(&a);
            v["objects"] = json!(objects);
            HttpResponse::Ok().json(v)
        }
        _ => HttpResponse::InternalServerError().json(json!({ "error": "database" })),
    }
}

#[derive(Deserialize)]
pub struct DevSet {
    legacy: Option<bool>,
    shop_appid: Option<String>,
    link_status: Option<i32>,
}

/// `POST /sandbox/dev/shop/{appid}` `{"legacy", "shop_appid", "link_status"}` (each optional).
pub async fn dev_set(sb: web::Data<Sandbox>, path: web::Path<String>, body: web::Json<DevSet>) -> HttpResponse {
    let b = body.into_inner();
    match save(&sb, path.into_inner(), b.legacy, b.shop_appid, b.link_status).await {
        Ok(v) => HttpResponse::Ok().json(v),
        Err(()) => HttpResponse::NotFound().json(json!({ "error": "no such mini program" })),
    }
}

#[derive(Deserialize)]
pub struct DevDecide {
    kind: String,
    #[serde(default)]
    id: String,
    decision: String,
    #[serde(default)]
    reason: String,
}

/// `POST /sandbox/dev/shop/{appid}/decide` `{"kind": brand|category|spu|scene, "id", "decision": approve|reject, "reason"}`.
pub async fn dev_decide(sb: web::Data<Sandbox>, path: web::Path<String>, body: web::Json<DevDecide>) -> HttpResponse {
    let b = body.into_inner();
    let approve = b.decision == "approve";
    match decide_now(&sb, path.into_inner(), &b.kind, b.id, approve, b.reason).await {
        Ok(()) => HttpResponse::Ok().json(json!({ "decided": true })),
        Err(e) => HttpResponse::Conflict().json(json!({ "error": e })),
    }
}

/// `POST /sandbox/shop/sharer/{appid}`: the invited person accepts or refuses in WeChat.
pub async fn answer_invitation(sb: web::Data<Sandbox>, path: web::Path<String>, form: CheckedForm) -> HttpResponse {
    let openid = form.field("openid").unwrap_or_default().to_string();
    let status = if form.field("answer") == Some("accept") { 1 } else { 2 };
    match set_sharer(&sb, path.into_inner(), openid, status).await {
        Ok(true) => back("decided"),
        _ => back("error"),
    }
}

async fn set_sharer(sb: &Sandbox, appid: String, openid: String, status: i32) -> Result<bool, ()> {
    let r = with_conn(&sb.pool, move |c| {
        db::write_tx(c, |c| {
            let Some(o) = state::find(c, &appid, state::SHARER, &openid)?.filter(|o| o.status == 3) else {
                return Ok::<_, diesel::result::Error>(false);
            };
            state::update(c, &o.id, status, "", &o.data(), crate::now())?;
            Ok(true)
        })
    })
    .await;
    match r {
        Ok(Ok(answered)) => Ok(answered),
        _ => Err(()),
    }
}

#[derive(Deserialize)]
pub struct DevSharer {
    openid: String,
    /// 1 bound (accepted), 2 refused, 4 invite expired.
    bind_status: i32,
}

/// `POST /sandbox/dev/shop/{appid}/sharer` `{"openid", "bind_status"}`: the invited person
/// answers in WeChat.
pub async fn dev_sharer(sb: web::Data<Sandbox>, path: web::Path<String>, body: web::Json<DevSharer>) -> HttpResponse {
    let (appid, b) = (path.into_inner(), body.into_inner());
    if !matches!(b.bind_status, 1 | 2 | 4) {
        return HttpResponse::BadRequest().json(json!({ "error": "bind_status is 1, 2 or 4" }));
    }
    match set_sharer(&sb, appid, b.openid, b.bind_status).await {
        Ok(true) => HttpResponse::Ok().json(json!({ "answered": true })),
        Ok(false) => HttpResponse::Conflict().json(json!({ "error": "no invitation is waiting" })),
        Err(()) => HttpResponse::InternalServerError().json(json!({ "error": "database" })),
    }
}
