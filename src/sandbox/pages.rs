//! The human sandbox page `/sandbox/`: the platform's credentials and ticket, the
//! simulated accounts (edit, revoke, change permission sets), fault injection, and the
//! recent API calls and pushes. Its forms go through the console's CSRF check.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::config::AppConfig;
use crate::db;
use crate::error::AppError;
use crate::views::{PageCtx, ok, see_other};

use super::authpage::FuncChoice;
use super::{Sandbox, api, dev, run_sim, sim, store};

pub struct AccountView {
    pub a: store::Account,
    pub authorized: bool,
    pub revoked: bool,
    pub auth_time: Option<i64>,
    pub funcs: Vec<FuncChoice>,
    pub categories_text: String,
}

#[derive(Template)]
#[template(path = "sandbox/index.html")]
struct SandboxHome {
    ctx: PageCtx,
    config: AppConfig,
    ticket: Option<store::Ticket>,
    accounts: Vec<AccountView>,
    faults: Vec<store::Fault>,
    calls: Vec<store::Call>,
    pushes: Vec<store::Push>,
    notice: Option<String>,
    error: Option<String>,
    fault_kinds: Vec<&'static str>,
    interval_text: String,
}

const NOTICES: [&str; 7] = ["saved", "revoked", "permissions", "unchanged", "ticket", "fault_added", "faults_cleared"];
const ERRORS: [&str; 10] = [
    "not_authorized",
    "no_permissions",
    "no_account",
    "internal",
    "fault_endpoint",
    "fault_kind",
    "fault_value",
    "fault_count",
    "categories_invalid",
    "name_required",
];

/// `GET /sandbox/`.
pub async fn home(ctx: PageCtx, sb: web::Data<Sandbox>, req: HttpRequest) -> Result<HttpResponse, AppError> {
    let query = api::query_map(&req);
    let notice =
        query.get("notice").filter(|n| NOTICES.contains(&n.as_str())).map(|n| ctx.t(&format!("sandbox.notice.{n}")));
    let error = query.get("error").filter(|e| ERRORS.contains(&e.as_str())).map(|e| ctx.t(&format!("sandbox.err.{e}")));
    let (ticket, accounts, auths, faults, calls, pushes) = db::run(&sb.pool, |c| -> Result<_, crate::db::DbError> {
        Ok((
            store::last_ticket(c)?,
            store::list_accounts(c)?,
            store::list_authorizations(c)?,
            store::list_faults(c)?,
            store::list_calls(c, None, 30)?,
            store::list_pushes(c, 20)?,
        ))
    })
    .await?;
    let accounts = accounts
        .into_iter()
        .map(|a| {
            let auth = auths.iter().find(|x| x.authorizer_appid == a.appid);
            let granted = auth.filter(|x| x.active).map(|x| x.func_ids()).unwrap_or_default();
            let funcs = sim::allowed_func_ids(&a.kind)
                .iter()
                .map(|&id| FuncChoice {
                    id,
                    name: ctx.t(&format!("sandbox.func.{id}")),
                    checked: granted.contains(&id),
                })
                .collect();
            AccountView {
                authorized: auth.is_some_and(|x| x.active),
                revoked: auth.is_some_and(|x| !x.active),
                auth_time: auth.map(|x| x.auth_time),
                funcs,
                categories_text: a.categories_text(),
                a,
            }
        })
        .collect();
    let mut calls = calls;
    calls.reverse();
    let secs = sb.config.sandbox_ticket_interval_secs.to_string();
    let interval_text = ctx.t_with("sandbox.ticket_interval", &[("secs", &secs)]);
    ok(&SandboxHome {
        interval_text,
        ctx,
        config: sb.config.clone(),
        ticket,
        accounts,
        faults,
        calls,
        pushes,
        notice,
        error,
        fault_kinds: store::FAULT_KINDS.to_vec(),
    })
}

fn back(query: &str, anchor: &str) -> HttpResponse {
    see_other(&format!("/sandbox/?{query}#{anchor}"))
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim())
}

fn func_ids(form: &[(String, String)]) -> Vec<i64> {
    form.iter().filter(|(k, _)| k == "func_id").filter_map(|(_, v)| v.trim().parse().ok()).collect()
}

fn refused(e: &sim::SimError, anchor: &str) -> HttpResponse {
    let key = e.key().strip_prefix("sandbox.err.").unwrap_or("internal");
    back(&format!("error={key}"), anchor)
}

/// "Push a ticket now".
pub async fn push_ticket(sb: web::Data<Sandbox>) -> HttpResponse {
    let appid = sb.config.component.appid.clone();
    match run_sim(&sb.pool, move |c, now| sim::new_ticket(c, &appid, now, true)).await {
        Ok((_, push_id)) => {
            sb.pusher.deliver(Some(push_id)).await;
            back("notice=ticket", "ticket")
        }
        Err(e) => refused(&e, "ticket"),
    }
}

/// Edits an account's name, logo URL, verification, legal subject and categories.
pub async fn edit_account(
    sb: web::Data<Sandbox>,
    path: web::Path<String>,
    form: web::Form<Vec<(String, String)>>,
) -> HttpResponse {
    let appid = path.into_inner();
    let anchor = format!("account-{appid}");
    let form = form.into_inner();
    let name = field(&form, "nick_name").unwrap_or_default().to_string();
    if name.is_empty() || name.chars().count() > 60 {
        return back("error=name_required", &anchor);
    }
    let categories = match store::parse_categories_text(field(&form, "categories").unwrap_or_default()) {
        Ok(c) => c,
        Err(_) => return back("error=categories_invalid", &anchor),
    };
    let edit = store::AccountEdit {
        nick_name: Some(name),
        head_img: Some(field(&form, "head_img").unwrap_or_default().to_string()),
        verified: Some(field(&form, "verified").is_some()),
        principal_name: field(&form, "principal_name").map(str::to_string),
        categories: Some(categories),
        ..Default::default()
    };
    let result = run_sim(&sb.pool, move |c, now| {
        if store::update_account(c, &appid, &edit, now)? == 0 {
            return Err(sim::SimError::Refused("sandbox.err.no_account"));
        }
        Ok(())
    })
    .await;
    match result {
        Ok(()) => back("notice=saved", &anchor),
        Err(e) => refused(&e, &anchor),
    }
}

/// "Revoke authorization": pushes `unauthorized`.
pub async fn revoke(sb: web::Data<Sandbox>, path: web::Path<String>) -> HttpResponse {
    let appid = path.into_inner();
    let anchor = format!("account-{appid}");
    let component = sb.config.component.appid.clone();
    match run_sim(&sb.pool, move |c, now| sim::revoke(c, &component, &appid, now)).await {
        Ok(()) => {
            sb.pusher.wake();
            back("notice=revoked", &anchor)
        }
        Err(e) => refused(&e, &anchor),
    }
}

/// Changes the granted permission sets: pushes `updateauthorized` when they change.
pub async fn permissions(
    sb: web::Data<Sandbox>,
    path: web::Path<String>,
    form: web::Form<Vec<(String, String)>>,
) -> HttpResponse {
    let appid = path.into_inner();
    let anchor = format!("account-{appid}");
    let ids = func_ids(&form);
    let component = sb.config.component.appid.clone();
    match run_sim(&sb.pool, move |c, now| sim::update_permissions(c, &component, &appid, &ids, now)).await {
        Ok(true) => {
            sb.pusher.wake();
            back("notice=permissions", &anchor)
        }
        Ok(false) => back("notice=unchanged", &anchor),
        Err(e) => refused(&e, &anchor),
    }
}

/// Adds a fault from the page's form.
pub async fn add_fault(sb: web::Data<Sandbox>, form: web::Form<Vec<(String, String)>>) -> HttpResponse {
    let form = form.into_inner();
    let endpoint = field(&form, "endpoint").unwrap_or_default();
    let kind = field(&form, "kind").unwrap_or_default().to_string();
    let value = field(&form, "value").filter(|v| !v.is_empty()).unwrap_or("0").parse::<i64>();
    let count = field(&form, "count").filter(|v| !v.is_empty()).unwrap_or("1").parse::<i32>();
    let (Ok(value), Ok(count)) = (value, count) else {
        return back("error=fault_value", "faults");
    };
    let endpoint = match dev::validate_fault(endpoint, &kind, value, count) {
        Ok(e) => e,
        Err(key) => return back(&format!("error={key}"), "faults"),
    };
    match run_sim(&sb.pool, move |c, now| Ok(store::insert_fault(c, &endpoint, &kind, value, count, now)?)).await {
        Ok(_) => back("notice=fault_added", "faults"),
        Err(e) => refused(&e, "faults"),
    }
}

pub async fn clear_faults(sb: web::Data<Sandbox>) -> HttpResponse {
    match run_sim(&sb.pool, |c, _| Ok(store::clear_faults(c)?)).await {
        Ok(_) => back("notice=faults_cleared", "faults"),
        Err(e) => refused(&e, "faults"),
    }
}
