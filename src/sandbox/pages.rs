//! The human sandbox page `/sandbox/`: the platform's credentials and ticket, the
//! simulated accounts (edit, revoke, change permission sets), fault injection, and the
//! recent API calls and pushes. Its forms carry the sandbox's own CSRF token
//! ([`CheckedForm`]).

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::authpage::FuncChoice;
use super::page::{CheckedForm, SandboxCtx, SandboxError};
use super::{Sandbox, SandboxConfig, api, dev, run_sim, sim, store, with_conn};

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
    ctx: SandboxCtx,
    config: SandboxConfig,
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
pub async fn home(ctx: SandboxCtx, sb: web::Data<Sandbox>, req: HttpRequest) -> Result<HttpResponse, SandboxError> {
    let query = api::query_map(&req);
    let notice =
        query.get("notice").filter(|n| NOTICES.contains(&n.as_str())).map(|n| ctx.t(&format!("sandbox.notice.{n}")));
    let error = query.get("error").filter(|e| ERRORS.contains(&e.as_str())).map(|e| ctx.t(&format!("sandbox.err.{e}")));
    let loaded = with_conn(&sb.pool, |c| {
        Ok::<_, diesel::result::Error>((
            store::last_ticket(c)?,
            store::list_accounts(c)?,
            store::list_authorizations(c)?,
            store::list_faults(c)?,
            store::list_calls(c, None, 30)?,
            store::list_pushes(c, 20)?,
        ))
    })
    .await;
    let (ticket, accounts, auths, faults, calls, pushes) = match loaded {
        Ok(Ok(state)) => state,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "sandbox: cannot load the page");
            return Err(ctx.internal());
        }
        Err(_) => return Err(ctx.internal()),
    };
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
    let secs = sb.config.ticket_interval_secs.to_string();
    let interval_text = ctx.t_with("sandbox.ticket_interval", &[("secs", &secs)]);
    let reply = ctx.reply(true);
    reply.ok(&SandboxHome {
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

/// Back to the page (303), with a notice or error and the section to scroll to.
fn back(query: &str, anchor: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header(("Location", format!("/sandbox/?{query}#{anchor}"))).finish()
}

fn refused(e: &sim::SimError, anchor: &str) -> HttpResponse {
    let key = e.key().strip_prefix("sandbox.err.").unwrap_or("internal");
    back(&format!("error={key}"), anchor)
}

/// "Push a ticket now".
pub async fn push_ticket(sb: web::Data<Sandbox>, _form: CheckedForm) -> HttpResponse {
    let appid = sb.config.component_appid.clone();
    match run_sim(&sb.pool, move |c, now| sim::new_ticket(c, &appid, now, true)).await {
        Ok((_, push_id)) => {
            sb.pusher.deliver(Some(push_id)).await;
            back("notice=ticket", "ticket")
        }
        Err(e) => refused(&e, "ticket"),
    }
}

/// Edits an account's name, logo URL, verification, legal subject and categories.
pub async fn edit_account(sb: web::Data<Sandbox>, path: web::Path<String>, form: CheckedForm) -> HttpResponse {
    let appid = path.into_inner();
    let anchor = format!("account-{appid}");
    let name = form.field("nick_name").unwrap_or_default().to_string();
    if name.is_empty() || name.chars().count() > 60 {
        return back("error=name_required", &anchor);
    }
    let categories = match store::parse_categories_text(form.field("categories").unwrap_or_default()) {
        Ok(c) => c,
        Err(_) => return back("error=categories_invalid", &anchor),
    };
    let edit = store::AccountEdit {
        nick_name: Some(name),
        head_img: Some(form.field("head_img").unwrap_or_default().to_string()),
        verified: Some(form.field("verified").is_some()),
        principal_name: form.field("principal_name").map(str::to_string),
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
pub async fn revoke(sb: web::Data<Sandbox>, path: web::Path<String>, _form: CheckedForm) -> HttpResponse {
    let appid = path.into_inner();
    let anchor = format!("account-{appid}");
    let component = sb.config.component_appid.clone();
    match run_sim(&sb.pool, move |c, now| sim::revoke(c, &component, &appid, now)).await {
        Ok(()) => {
            sb.pusher.wake();
            back("notice=revoked", &anchor)
        }
        Err(e) => refused(&e, &anchor),
    }
}

/// Changes the granted permission sets: pushes `updateauthorized` when they change.
pub async fn permissions(sb: web::Data<Sandbox>, path: web::Path<String>, form: CheckedForm) -> HttpResponse {
    let appid = path.into_inner();
    let anchor = format!("account-{appid}");
    let ids: Vec<i64> = form.all("func_id").filter_map(|v| v.parse().ok()).collect();
    let component = sb.config.component_appid.clone();
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
pub async fn add_fault(sb: web::Data<Sandbox>, form: CheckedForm) -> HttpResponse {
    let endpoint = form.field("endpoint").unwrap_or_default();
    let kind = form.field("kind").unwrap_or_default().to_string();
    let value = form.field("value").filter(|v| !v.is_empty()).unwrap_or("0").parse::<i64>();
    let count = form.field("count").filter(|v| !v.is_empty()).unwrap_or("1").parse::<i32>();
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

pub async fn clear_faults(sb: web::Data<Sandbox>, _form: CheckedForm) -> HttpResponse {
    match run_sim(&sb.pool, |c, _| Ok(store::clear_faults(c)?)).await {
        Ok(_) => back("notice=faults_cleared", "faults"),
        Err(e) => refused(&e, "faults"),
    }
}
