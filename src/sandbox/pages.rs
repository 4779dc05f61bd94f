//! The human sandbox page `/sandbox/`: the platform's credentials, ticket and registered
//! server domains, the simulated accounts (edit, including a mini program's management
//! state; revoke; change permission sets), code management (developer uploads, the
//! template library, the platform's audit quota, each mini program's versions), WeChat's
//! reviewer (approve or reject; for code audits also delay, screenshots and a lost push),
//! fault injection, and the recent API calls and pushes. Its forms carry the sandbox's
//! own CSRF token ([`CheckedForm`]); the upload form is shown again with its input and
//! its errors beside the fields (422) when refused.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;

use super::authpage::FuncChoice;
use super::code::pages::{self as code_pages, CodeView, UploadForm};
use super::manage::{self, catalog, edit, rules, state};
use super::page::{CheckedForm, SandboxCtx, SandboxError};
use super::{Sandbox, SandboxConfig, api, code, dev, run_sim, sim, store, with_conn};

pub struct AccountView {
    pub a: store::Account,
    pub authorized: bool,
    pub revoked: bool,
    pub auth_time: Option<i64>,
    pub funcs: Vec<FuncChoice>,
    /// A mini program's management state.
    pub mp: Option<MpView>,
    /// A mini program's "on the legacy trade component" flag (issue 13).
    pub legacy_trade: Option<bool>,
}

/// A mini program's management state as the page's form shows it.
pub struct MpView {
    pub nickname_pending: String,
    pub annual_review_end: String,
    pub icp_options: Vec<Choice>,
    pub plugins_text: String,
    pub categories_text: String,
    pub domains_text: String,
    pub interfaces: Vec<InterfaceView>,
}

/// An option of a select.
pub struct Choice {
    pub value: i32,
    pub label: String,
    pub selected: bool,
}

pub struct InterfaceView {
    pub api_name: &'static str,
    pub api_ch_name: &'static str,
    pub status: i32,
    pub options: Vec<Choice>,
    pub fail_reason: String,
}

fn choices(ctx: &SandboxCtx, group: &str, values: &[i32], current: i32) -> Vec<Choice> {
    values
        .iter()
        .map(|&value| Choice {
            value,
            label: format!("{value} · {}", ctx.t_in(group, value.to_string())),
            selected: value == current,
        })
        .collect()
}

impl MpView {
    fn of(st: &state::MpState, ctx: &SandboxCtx) -> Self {
        Self {
            nickname_pending: st.settings.nickname_pending.clone().unwrap_or_default(),
            annual_review_end: st.settings.annual_review_end.map(rules::unix_to_date).unwrap_or_default(),
            icp_options: choices(ctx, "sandbox.icp", catalog::ICP_STATUSES, st.settings.icp_status),
            plugins_text: edit::plugins_text(&st.plugins),
            categories_text: edit::categories_text(&st.categories),
            domains_text: st.domain_list(rules::DomainList::Request).join("\n"),
            interfaces: st
                .interfaces
                .iter()
                .map(|i| InterfaceView {
                    api_name: i.api.api_name,
                    api_ch_name: i.api.api_ch_name,
                    status: i.status,
                    options: choices(ctx, "sandbox.iface_status", &[1, 2, 3, 4, 5], i.status),
                    fail_reason: i.fail_reason.clone(),
                })
                .collect(),
        }
    }
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
    reviews: Vec<state::Review>,
    platform_domains_text: String,
    code: CodeView,
    upload: UploadForm,
    upload_choices: Vec<code_pages::ApiChoice>,
}

const NOTICES: [&str; 11] = [
    "draft_uploaded",
    "quota_saved",
    "saved",
    "revoked",
    "permissions",
    "unchanged",
    "ticket",
    "fault_added",
    "faults_cleared",
    "decided",
    "platform_domains",
];
const ERRORS: [&str; 26] = [
    "upload_invalid",
    "quota_invalid",
    "bad_screenshots",
    "delay_not_code",
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
    "plugins_invalid",
    "domains_invalid",
    "date_invalid",
    "icp_invalid",
    "signature_invalid",
    "status_invalid",
    "reason_required",
    "reason_too_long",
    "already_decided",
    "no_review",
    "bad_decision",
    "platform_domains_invalid",
];

/// `GET /sandbox/`.
pub async fn home(ctx: SandboxCtx, sb: web::Data<Sandbox>, req: HttpRequest) -> Result<HttpResponse, SandboxError> {
    let query = api::query_map(&req);
    let notice =
        query.get("notice").filter(|n| NOTICES.contains(&n.as_str())).map(|n| ctx.t(&format!("sandbox.notice.{n}")));
    let error = query.get("error").filter(|e| ERRORS.contains(&e.as_str())).map(|e| ctx.t(&format!("sandbox.err.{e}")));
    render(ctx, &sb, notice, error, UploadForm::default(), StatusCode::OK).await
}

/// The whole page, with the upload form as given.
async fn render(
    ctx: SandboxCtx,
    sb: &Sandbox,
    notice: Option<String>,
    error: Option<String>,
    upload: UploadForm,
    status: StatusCode,
) -> Result<HttpResponse, SandboxError> {
    let loaded = with_conn(&sb.pool, |c| {
        let now = crate::now();
        Ok::<_, diesel::result::Error>((
            code_pages::load(c, now)?,
            store::last_ticket(c)?,
            store::list_accounts(c)?,
            store::list_authorizations(c)?,
            store::list_faults(c)?,
            store::list_calls(c, None, 30)?,
            store::list_pushes(c, 20)?,
            state::reviews(c, 100)?,
            state::registered_hosts(c)?,
        ))
    })
    .await;
    let (code, ticket, accounts, auths, faults, calls, pushes, reviews, platform_domains) = match loaded {
        Ok(Ok(state)) => state,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "sandbox: cannot load the page");
            return Err(ctx.internal());
        }
        Err(_) => return Err(ctx.internal()),
    };
    let appids: Vec<String> = accounts.iter().filter(|a| a.is_mini_program()).map(|a| a.appid.clone()).collect();
    let states = with_conn(&sb.pool, move |c| {
        appids.iter().map(|id| state::load(c, id)).collect::<Result<Vec<_>, diesel::result::Error>>()
    })
    .await;
    let states: Vec<state::MpState> = match states {
        Ok(Ok(s)) => s.into_iter().flatten().collect(),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "sandbox: cannot load the page");
            return Err(ctx.internal());
        }
        Err(_) => return Err(ctx.internal()),
    };
    // The trade component flag of each mini program (issue 13).
    let shops = with_conn(&sb.pool, super::shop::state::accounts).await.ok().and_then(Result::ok).unwrap_or_default();
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
                mp: states.iter().find(|st| st.account.appid == a.appid).map(|st| MpView::of(st, &ctx)),
                legacy_trade: a.is_mini_program().then(|| shops.iter().any(|s| s.appid == a.appid && s.legacy)),
                a,
            }
        })
        .collect();
    let mut calls = calls;
    calls.reverse();
    let secs = sb.config.ticket_interval_secs.to_string();
    let interval_text = ctx.t_with("sandbox.ticket_interval", &[("secs", &secs)]);
    let reply = ctx.reply(true);
    reply.html(
        status,
        &SandboxHome {
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
            reviews,
            platform_domains_text: platform_domains.join("\n"),
            code,
            upload_choices: upload.choices(),
            upload,
        },
    )
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

/// Edits an account's name, logo URL, verification and legal subject, and for a mini
/// program its management state (the fields its form has), in one transaction.
pub async fn edit_account(sb: web::Data<Sandbox>, path: web::Path<String>, form: CheckedForm) -> HttpResponse {
    let appid = path.into_inner();
    let anchor = format!("account-{appid}");
    let name = form.field("nick_name").unwrap_or_default().to_string();
    if name.is_empty() || name.chars().count() > 60 {
        return back("error=name_required", &anchor);
    }
    let account = store::AccountEdit {
        nick_name: Some(name),
        head_img: Some(form.field("head_img").unwrap_or_default().to_string()),
        verified: Some(form.field("verified").is_some()),
        principal_name: form.field("principal_name").map(str::to_string),
        ..Default::default()
    };
    let mp = match mp_edit(&form) {
        Ok(e) => e,
        Err(key) => return back(&format!("error={key}"), &anchor),
    };
    let result = run_sim(&sb.pool, move |c, now| {
        if store::update_account(c, &appid, &account, now)? == 0 {
            return Err(sim::SimError::Refused("sandbox.err.no_account"));
        }
        if mp != edit::MpEdit::default() {
            edit::apply(c, &appid, &mp, now).map_err(|e| match e {
                edit::EditError::NotFound => sim::SimError::Refused("sandbox.err.no_account"),
                edit::EditError::Db(e) => sim::SimError::Db(e),
            })?;
        }
        Ok(())
    })
    .await;
    match result {
        Ok(()) => {
            sb.pusher.wake();
            back("notice=saved", &anchor)
        }
        Err(e) => refused(&e, &anchor),
    }
}

/// The management fields of a mini program's form; a field the form does not have is
/// left as it is. `Err` is the error key.
fn mp_edit(form: &CheckedForm) -> Result<edit::MpEdit, &'static str> {
    let mut e = edit::MpEdit::default();
    if let Some(s) = form.field("signature") {
        if s.chars().count() > 120 {
            return Err("signature_invalid");
        }
        e.signature = Some(s.to_string());
    }
    if let Some(n) = form.field("nickname_pending") {
        if n.chars().count() > 60 {
            return Err("name_required");
        }
        e.nickname_under_review = Some((!n.is_empty()).then(|| n.to_string()));
    }
    if let Some(d) = form.field("annual_review_end") {
        e.annual_review_end_time =
            Some(if d.is_empty() { None } else { Some(rules::date_to_unix(d).ok_or("date_invalid")?) });
    }
    if let Some(icp) = form.field("icp_status") {
        e.icp_status = Some(icp.parse().ok().and_then(edit::icp_ok).ok_or("icp_invalid")?);
    }
    if let Some(text) = form.field("plugins") {
        e.plugins = Some(edit::parse_plugins_text(text).map_err(|_| "plugins_invalid")?);
    }
    if let Some(text) = form.field("categories") {
        e.categories = Some(edit::parse_categories_text(text).map_err(|_| "categories_invalid")?);
    }
    if let Some(text) = form.field("requestdomain") {
        e.requestdomain = Some(edit::parse_domains_text(text).map_err(|_| "domains_invalid")?);
    }
    // Only the interfaces whose select was changed: the others follow the categories.
    let mut interfaces = Vec::new();
    for (key, value) in &form.0 {
        if let Some(api_name) = key.strip_prefix("iface:") {
            let was = form.field(&format!("iface_was:{api_name}"));
            if was == Some(value.trim()) {
                continue;
            }
            let status: i64 = value.trim().parse().map_err(|_| "status_invalid")?;
            interfaces.push(edit::interface_edit(api_name, status, "").map_err(|_| "status_invalid")?);
        }
    }
    if !interfaces.is_empty() {
        e.privacy_interfaces = Some(interfaces);
    }
    Ok(e)
}

/// Approve, or reject with a reason, a review of WeChat's reviewer; a code audit may also
/// be delayed, rejected with screenshots, and decided with its push lost.
pub async fn decide_review(sb: web::Data<Sandbox>, path: web::Path<String>, form: CheckedForm) -> HttpResponse {
    let verdict = match code_pages::verdict(&form) {
        Ok(v) => v,
        Err(e) => return back(&format!("error={}", e.key()), "reviews"),
    };
    match code::dev::decide_now(&sb, path.into_inner(), verdict).await {
        Ok(_) => back("notice=decided", "reviews"),
        Err(e) => back(&format!("error={}", e.key()), "reviews"),
    }
}

/// Replaces the platform's registered server domains (one host per line).
pub async fn platform_domains(sb: web::Data<Sandbox>, form: CheckedForm) -> HttpResponse {
    let text = form.field("domains").unwrap_or_default();
    let entries = text.split(['\n', ';']).map(str::trim).filter(|d| !d.is_empty());
    let domains = match manage::dev::parse_platform_domains(entries) {
        Ok(d) => d,
        Err(_) => return back("error=platform_domains_invalid", "platform-domains"),
    };
    match with_conn(&sb.pool, move |c| manage::dev::replace_platform_domains(c, &domains)).await {
        Ok(Ok(())) => back("notice=platform_domains", "platform-domains"),
        _ => back("error=internal", "platform-domains"),
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

/// "Developer upload": a new draft, as if uploaded from WeChat DevTools. Refused, the page
/// is shown again (422) with the input kept and each error beside its field.
pub async fn upload_draft(
    ctx: SandboxCtx,
    sb: web::Data<Sandbox>,
    form: CheckedForm,
) -> Result<HttpResponse, SandboxError> {
    let mut upload = UploadForm::of(&form);
    match upload.check() {
        Ok((draft, create_time)) => match code::dev::create_draft(&sb, draft, create_time).await {
            Ok(_) => Ok(back("notice=draft_uploaded", "code-drafts")),
            Err(_) => Err(ctx.internal()),
        },
        Err(errors) => {
            upload.errors =
                errors.into_iter().map(|(field, key)| (field, ctx.t(&format!("sandbox.err.{key}")))).collect();
            let error = Some(ctx.t("sandbox.err.upload_invalid"));
            render(ctx, &sb, None, error, upload, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

/// Changes the platform's audit quota for this month.
pub async fn set_quota(sb: web::Data<Sandbox>, form: CheckedForm) -> HttpResponse {
    let edit = match code_pages::quota_edit(&form) {
        Ok(e) => e,
        Err(_) => return back("error=quota_invalid", "code-quota"),
    };
    match with_conn(&sb.pool, move |c| edit.apply(c, crate::now())).await {
        Ok(Ok(_)) => back("notice=quota_saved", "code-quota"),
        _ => back("error=internal", "code-quota"),
    }
}
