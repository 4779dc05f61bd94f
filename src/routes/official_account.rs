//! Store Settings → Official Account tab (SPEC §3.5; seed 000 §1; seed 002): authorize the
//! tenant's official account (`auth_type=1`), reauthorize (pinned with `biz_appid`), unbind,
//! and the link with the dedicated mini program (state in words, Link with its options,
//! Unlink, pending states re-checked in place, the limits with what is used).

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::{CurrentTenant, TypedSession};
use crate::config::AppConfig;
use crate::db::{self, DbConn, DbPool, bindings, models::Tenant, official_accounts as oa_store, platform as store};
use crate::domain::binding::{self as binding_rules, AuthOutcome, AuthPurpose, BindingStatus};
use crate::domain::official_account::{self as rules, LinkLimits, LinkState, OaOutcome};
use crate::error::AppError;
use crate::htmx::Htmx;
use crate::services::official_account::{self as service, LinkRequest};
use crate::services::platform::Platform;
use crate::views::{PageCtx, TenantLoader, TenantPage, ok, see_other};
use crate::wechat::urls::AuthType;

use super::authorize_page;
use super::mini_program::SetView;

pub fn tab_path(tenant_id: &str) -> String {
    format!("/w/{tenant_id}/store/official-account")
}

/// What the tab reads in one trip.
pub struct TabData {
    official: Option<oa_store::OfficialAccount>,
    oa: Option<store::Authorizer>,
    mini_program: Option<store::Authorizer>,
    required: Vec<i64>,
    limits: LinkLimits,
    this_month: i64,
}

impl TenantLoader for TabData {
    type Params = ();

    fn load(c: &mut DbConn, tenant: &Tenant, (): ()) -> Result<Self, AppError> {
        let [required, limits] = bindings::settings(c, &[oa_store::REQUIRED_SETS, oa_store::LINK_LIMITS])?;
        let official = oa_store::latest_for_tenant(c, &tenant.id)?;
        let oa = match &official {
            Some(o) => store::authorizer(c, &o.appid)?,
            None => None,
        };
        let mini_program = match bindings::active_for_tenant(c, &tenant.id)? {
            Some(b) => store::authorizer(c, &b.appid)?,
            None => None,
        };
        let this_month = match &official {
            Some(o) => oa_store::link_requests_since(c, &o.appid, rules::month_start(crate::now()))?,
            None => 0,
        };
        Ok(TabData {
            official,
            oa,
            mini_program,
            required: binding_rules::parse_ids(&required),
            limits: LinkLimits::parse(&limits),
            this_month,
        })
    }
}

impl TabData {
    fn active_oa(&self) -> Option<&store::Authorizer> {
        self.official.as_ref().filter(|o| o.status == BindingStatus::Active).and(self.oa.as_ref())
    }
}

/// The link section, ready for the template (also the polled fragment).
pub struct LinkView {
    pub base: String,
    pub mini_program_tab: String,
    /// No dedicated mini program is bound: nothing to link yet.
    pub no_mini_program: bool,
    pub mini_program_name: String,
    pub mini_program_appid: String,
    pub state: Option<LinkState>,
    pub state_text: String,
    pub shown_on_profile: bool,
    pub subject_differs: bool,
    pub linked: i64,
    pub linked_limit: i64,
    pub this_month: i64,
    pub limits: LinkLimits,
    /// Reading the state or the last action failed: the sentence.
    pub error: Option<String>,
}

impl LinkView {
    fn pending(&self) -> bool {
        self.state.is_some_and(LinkState::is_pending)
    }
    fn can_link(&self) -> bool {
        self.state.is_some_and(LinkState::can_link)
    }
    fn can_unlink(&self) -> bool {
        self.state.is_some_and(LinkState::can_unlink)
    }
    fn month_full(&self) -> bool {
        self.this_month >= self.limits.per_month
    }
}

/// Reads the link state from WeChat (when both accounts are there) and builds the view.
async fn link_view(
    ctx: &PageCtx,
    platform: &Platform,
    tenant_id: &str,
    data: &TabData,
    error: Option<String>,
) -> Option<LinkView> {
    let oa = data.active_oa()?;
    let base = tab_path(tenant_id);
    let mut view = LinkView {
        base,
        mini_program_tab: super::mini_program::tab_path(tenant_id),
        no_mini_program: data.mini_program.is_none(),
        mini_program_name: String::new(),
        mini_program_appid: String::new(),
        state: None,
        state_text: String::new(),
        shown_on_profile: false,
        subject_differs: false,
        linked: 0,
        linked_limit: data.limits.same_subject + data.limits.different_subject,
        this_month: data.this_month,
        limits: data.limits,
        error,
    };
    let Some(mp) = &data.mini_program else { return Some(view) };
    view.mini_program_name = mp.nick_name.clone();
    view.mini_program_appid = mp.appid.clone();
    view.subject_differs = rules::subjects_differ(Some(&mp.principal_name), Some(&oa.principal_name));
    match service::link_status(platform, &oa.appid, &mp.appid).await {
        Ok(s) => {
            view.state = Some(s.state);
            view.state_text = ctx.t(s.state.key());
            view.shown_on_profile = s.item.is_some_and(|i| i.selected == 1);
            view.linked = s.linked;
        }
        Err(e) => {
            tracing::warn!(tenant.id = %tenant_id, error = %e, "reading the official account's links failed");
            if view.error.is_none() {
                view.error = Some(ctx.failure(&e.failure()));
            }
        }
    }
    Some(view)
}

#[derive(Template)]
#[template(path = "official_account/tab.html")]
struct TabPage {
    ctx: PageCtx,
    tenant: Tenant,
    official: Option<oa_store::OfficialAccount>,
    oa: Option<store::Authorizer>,
    granted: Vec<SetView>,
    missing: Vec<SetView>,
    link: Option<LinkView>,
}

impl TabPage {
    fn active(&self) -> bool {
        self.official.as_ref().is_some_and(|o| o.status == BindingStatus::Active)
    }
    fn ended(&self) -> Option<(&oa_store::OfficialAccount, bool)> {
        self.official.as_ref().and_then(|o| match o.status {
            BindingStatus::Active => None,
            BindingStatus::Revoked => Some((o, true)),
            BindingStatus::Unbound => Some((o, false)),
        })
    }
    fn base(&self) -> String {
        tab_path(&self.tenant.id)
    }
    fn is_service(&self) -> bool {
        self.oa.as_ref().is_some_and(|a| a.service_type == rules::SERVICE_ACCOUNT)
    }
}

#[derive(Template)]
#[template(path = "official_account/_link.html")]
struct LinkFragment {
    ctx: PageCtx,
    link: LinkView,
}

fn set_views(ctx: &PageCtx, ids: &[i64]) -> Vec<SetView> {
    ids.iter().map(|id| SetView { id: *id, name: ctx.t(&binding_rules::set_name_key(*id)) }).collect()
}

async fn render_tab(
    ctx: PageCtx,
    current: CurrentTenant,
    platform: &Platform,
    data: TabData,
    error: Option<String>,
) -> Result<HttpResponse, AppError> {
    let link = link_view(&ctx, platform, &current.tenant.id, &data, error).await;
    let granted_ids = data.oa.as_ref().map(store::Authorizer::func_id_list).unwrap_or_default();
    let missing_ids: Vec<i64> = data.required.iter().copied().filter(|id| !granted_ids.contains(id)).collect();
    let (granted, missing) = (set_views(&ctx, &granted_ids), set_views(&ctx, &missing_ids));
    ok(&TabPage { ctx, tenant: current.tenant, official: data.official, oa: data.oa, granted, missing, link })
}

pub async fn tab(page: TenantPage<TabData>, platform: web::Data<Platform>) -> Result<HttpResponse, AppError> {
    let TenantPage { ctx, current, data } = page;
    render_tab(ctx, current, &platform, data, None).await
}

/// The link section alone: what the page polls while a request is waiting.
pub async fn link_state(
    page: TenantPage<TabData>,
    platform: web::Data<Platform>,
    htmx: Htmx,
) -> Result<HttpResponse, AppError> {
    let TenantPage { ctx, current, data } = page;
    if !htmx.wants_fragment() {
        return render_tab(ctx, current, &platform, data, None).await;
    }
    match link_view(&ctx, &platform, &current.tenant.id, &data, None).await {
        Some(link) => ok(&LinkFragment { ctx, link }),
        None => Err(AppError::NotFound),
    }
}

#[derive(Deserialize)]
pub struct LinkForm {
    #[serde(default)]
    notify_users: Option<String>,
    #[serde(default)]
    show_profile: Option<String>,
}

/// After a link action: the fragment for HTMX, else back to the tab (with WeChat's refusal
/// shown in the link section).
async fn after_action(
    page: TenantPage<TabData>,
    platform: &Platform,
    htmx: &Htmx,
    error: Option<String>,
) -> Result<HttpResponse, AppError> {
    let TenantPage { ctx, current, data } = page;
    if htmx.wants_fragment()
        && let Some(link) = link_view(&ctx, platform, &current.tenant.id, &data, error.clone()).await
    {
        return ok(&LinkFragment { ctx, link });
    }
    match error {
        None => Ok(see_other(&tab_path(&current.tenant.id))),
        Some(e) => render_tab(ctx, current, platform, data, Some(e)).await,
    }
}

/// "Link": `wxamplink` with the options to notify followers and show on the profile.
pub async fn link(
    page: TenantPage<TabData>,
    platform: web::Data<Platform>,
    htmx: Htmx,
    form: web::Form<LinkForm>,
) -> Result<HttpResponse, AppError> {
    let (Some(oa), Some(mp)) = (page.data.active_oa().map(|a| a.appid.clone()), page.data.mini_program.clone()) else {
        return Ok(see_other(&tab_path(&page.current.tenant.id)));
    };
    let request = LinkRequest {
        tenant_id: &page.current.tenant.id,
        actor: page.current.actor(),
        oa_appid: &oa,
        mp_appid: &mp.appid,
    };
    let result = service::link(&platform, request, form.notify_users.is_some(), form.show_profile.is_some()).await;
    let error = match result {
        Ok(()) => None,
        Err(e) => Some(page.ctx.failure(&e.into_refusal().map_err(|e| AppError::Internal(e.into()))?)),
    };
    // The month's count changed: read it again.
    let tenant = page.current.tenant.clone();
    let data = db::read(platform.pool(), move |c| TabData::load(c, &tenant, ())).await?;
    after_action(TenantPage { data, ..page }, &platform, &htmx, error).await
}

/// "Unlink": `wxampunlink` (also withdraws a request still waiting).
pub async fn unlink(
    page: TenantPage<TabData>,
    platform: web::Data<Platform>,
    htmx: Htmx,
) -> Result<HttpResponse, AppError> {
    let (Some(oa), Some(mp)) = (page.data.active_oa().map(|a| a.appid.clone()), page.data.mini_program.clone()) else {
        return Ok(see_other(&tab_path(&page.current.tenant.id)));
    };
    let request = LinkRequest {
        tenant_id: &page.current.tenant.id,
        actor: page.current.actor(),
        oa_appid: &oa,
        mp_appid: &mp.appid,
    };
    let error = match service::unlink(&platform, request).await {
        Ok(()) => None,
        Err(e) => Some(page.ctx.failure(&e.into_refusal().map_err(|e| AppError::Internal(e.into()))?)),
    };
    after_action(page, &platform, &htmx, error).await
}

// ---- authorization ----

/// The official account as `authorize_page` starts its authorization.
const AUTHORIZE: authorize_page::Target = authorize_page::Target {
    section: "store/official-account",
    purpose: AuthPurpose::OfficialAccount,
    // Official accounts only; a re-authorization is pinned to the bound AppID.
    auth_type: AuthType::OfficialAccount,
    tab_title: "official_account.title",
    title: "official_account.authorize_title",
    scan_heading: "official_account.scan_heading",
    notes: &["official_account.note_admin", "official_account.need_sets", "official_account.need_service"],
    same_appid_note: "official_account.note_same_appid",
    question: "official_account.authorized_question",
    question_hint: None,
    bound_appid: |c, tenant_id| Ok(oa_store::active_for_tenant(c, tenant_id)?.map(|o| o.appid)),
};

pub async fn authorize(
    ctx: PageCtx,
    current: CurrentTenant,
    session: TypedSession,
    platform: web::Data<Platform>,
    config: web::Data<AppConfig>,
) -> Result<HttpResponse, AppError> {
    authorize_page::start(&AUTHORIZE, ctx, current, session, &platform, &config, false).await
}

pub async fn reauthorize(
    ctx: PageCtx,
    current: CurrentTenant,
    session: TypedSession,
    platform: web::Data<Platform>,
    config: web::Data<AppConfig>,
) -> Result<HttpResponse, AppError> {
    authorize_page::start(&AUTHORIZE, ctx, current, session, &platform, &config, true).await
}

/// The result of an official account authorization, for the result page and its poll.
pub struct OutcomeView {
    pub tab: String,
    pub poll: String,
    pub pending: bool,
    pub ok: bool,
    pub text: String,
    pub warning: Option<String>,
    pub sets: Vec<String>,
}

impl OutcomeView {
    pub fn new(ctx: &PageCtx, tenant_id: &str, state: &str, outcome: Option<&AuthOutcome>) -> Self {
        let tab = tab_path(tenant_id);
        let mut v = Self {
            poll: format!("{tab}/authorizations/{state}"),
            tab,
            pending: false,
            ok: false,
            text: String::new(),
            warning: None,
            sets: Vec::new(),
        };
        let key = match outcome {
            None => {
                v.pending = true;
                "outcome.pending"
            }
            Some(AuthOutcome::Official(o)) => match o {
                OaOutcome::Bound { subject_differs } => {
                    v.ok = true;
                    if *subject_differs {
                        v.warning = Some(ctx.t("official_account.subject_warning"));
                    }
                    "official_account.outcome.bound"
                }
                OaOutcome::NotOfficialAccount => "official_account.outcome.not_official_account",
                OaOutcome::NotServiceAccount => "official_account.outcome.not_service",
                OaOutcome::Unverified => "official_account.outcome.unverified",
                OaOutcome::MissingSets(ids) => {
                    v.sets =
                        ids.iter().map(|id| format!("{} ({id})", ctx.t(&binding_rules::set_name_key(*id)))).collect();
                    "official_account.outcome.missing"
                }
                OaOutcome::DifferentAppid => "official_account.outcome.different_appid",
                OaOutcome::BoundToAnotherTenant => "official_account.outcome.other_tenant",
            },
            Some(AuthOutcome::Failed(f)) => {
                v.text = ctx.failure(f);
                return v;
            }
            Some(_) => "authorized.bad_state",
        };
        v.text = ctx.t(key);
        v
    }
}

#[derive(Template)]
#[template(path = "official_account/outcome.html")]
pub struct OutcomePage {
    pub ctx: PageCtx,
    pub o: OutcomeView,
}

#[derive(Template)]
#[template(path = "official_account/_outcome_body.html")]
struct OutcomeFragment {
    ctx: PageCtx,
    o: OutcomeView,
}

/// Where the authorization stands (whole page, or the fragment the pages poll).
pub async fn status(
    ctx: PageCtx,
    current: CurrentTenant,
    session: TypedSession,
    pool: web::Data<DbPool>,
    path: web::Path<(String, String)>,
    htmx: Htmx,
) -> Result<HttpResponse, AppError> {
    let (_, state) = path.into_inner();
    let found = authorize_page::own_state(&AUTHORIZE, &pool, &current, &session, &state).await?;
    let o = OutcomeView::new(&ctx, &current.tenant.id, &state, found.outcome.as_ref());
    if htmx.wants_fragment() {
        return ok(&OutcomeFragment { ctx, o });
    }
    ok(&OutcomePage { ctx, o })
}

pub async fn unbind(
    current: CurrentTenant,
    session: TypedSession,
    pool: web::Data<DbPool>,
) -> Result<HttpResponse, AppError> {
    let (tid, actor) = (current.tenant.id.clone(), current.actor());
    let ended = db::run(&pool, move |c| -> Result<_, AppError> {
        let now = crate::now();
        db::write_tx(c, |c| {
            let Some(before) = oa_store::active_for_tenant(c, &tid)? else { return Ok(false) };
            oa_store::end_for_tenant(c, &tid, BindingStatus::Unbound, now)?;
            db::audit::write(
                c,
                db::audit::Record {
                    actor: &actor,
                    tenant_id: Some(&tid),
                    action: "official_account.unbound",
                    subject: &format!("tenant:{tid}:official_account"),
                    before: Some(&serde_json::json!({ "appid": before.appid, "status": "active" })),
                    after: Some(&serde_json::json!({ "appid": before.appid, "status": "unbound" })),
                },
                now,
            )?;
            Ok::<_, AppError>(true)
        })
    })
    .await?;
    if ended {
        session.flash("success", "official_account.unbound_flash");
    }
    Ok(see_other(&tab_path(&current.tenant.id)))
}

// ---- "Why are notifications not received?" (seed 000 §5) ----

/// One of the four causes, checked: green or red, why, and how to fix it.
pub struct Cause {
    pub number: u8,
    pub title: String,
    pub ok: bool,
    pub reason: String,
    pub fix: Option<String>,
    pub details: Vec<String>,
    /// The missing templates can be added from here.
    pub add_templates: bool,
}

#[derive(Template)]
#[template(path = "official_account/notifications.html")]
struct NotificationsPage {
    ctx: PageCtx,
    tenant: Tenant,
    oa_name: String,
    causes: Vec<Cause>,
    error: Option<String>,
}

/// What the troubleshooting page reads: the tab's data and the needed templates.
pub struct NotificationsData {
    tab: TabData,
    needed: Vec<rules::NeededTemplate>,
}

impl TenantLoader for NotificationsData {
    type Params = ();

    fn load(c: &mut DbConn, tenant: &Tenant, (): ()) -> Result<Self, AppError> {
        let tab = TabData::load(c, tenant, ())?;
        let needed = rules::parse_needed_templates(&bindings::setting(c, oa_store::NOTIFICATION_TEMPLATES)?);
        Ok(Self { tab, needed })
    }
}

fn account_templates(list: &[crate::wechat::official::PrivateTemplate]) -> Vec<rules::AccountTemplate> {
    list.iter()
        .map(|t| rules::AccountTemplate {
            title: t.title.clone(),
            fields: crate::wechat::official::template_fields(&t.content),
        })
        .collect()
}

fn causes(
    ctx: &PageCtx,
    tenant_id: &str,
    mp: Option<&store::Authorizer>,
    needed: &[rules::NeededTemplate],
    d: &service::Diagnosis,
) -> Vec<Cause> {
    let title = |n: u8| ctx.t(&format!("notifications.cause_{n}"));
    let failed = |n: u8, f: &crate::domain::failure::Failure| Cause {
        number: n,
        title: title(n),
        ok: false,
        reason: ctx.failure(f),
        fix: None,
        details: Vec::new(),
        add_templates: false,
    };
    let mut out = Vec::new();
    // (1) The menu has an entry opening the store's mini program.
    out.push(match (&d.menu, mp) {
        (Err(f), _) => failed(1, f),
        (Ok(menu), mp) => {
            let entries = menu.entries();
            let details: Vec<String> = entries
                .iter()
                .map(|(parent, b)| {
                    let name = match parent {
                        Some(p) => format!("{p} › {}", b.name),
                        None => b.name.clone(),
                    };
                    if b.kind == "miniprogram" {
                        ctx.t_with("notifications.menu_entry_mini_program", &[("name", &name), ("appid", &b.appid)])
                    } else {
                        name
                    }
                })
                .collect();
            let found = mp.is_some_and(|m| entries.iter().any(|(_, b)| b.kind == "miniprogram" && b.appid == m.appid));
            let (ok, reason) = match (found, mp) {
                (true, _) => (true, ctx.t("notifications.menu_ok")),
                (false, None) => (false, ctx.t("notifications.no_mini_program")),
                (false, Some(_)) => (false, ctx.t("notifications.menu_missing")),
            };
            let fix = (!ok).then(|| match mp {
                Some(m) => ctx.t_with("notifications.menu_fix", &[("name", &m.nick_name), ("appid", &m.appid)]),
                None => ctx.t("notifications.bind_first"),
            });
            Cause { number: 1, title: title(1), ok, reason, fix, details, add_templates: false }
        }
    });
    // (2) The templates the platform needs are on the official account.
    let account = d.templates.as_ref().map(|t| account_templates(t));
    out.push(match &account {
        Err(f) => failed(2, f),
        Ok(account) => {
            let missing = rules::missing_templates(needed, account);
            let details = needed
                .iter()
                .map(|n| {
                    let there = !missing.iter().any(|m| m.short_id == n.short_id);
                    let mark = if there { ctx.t("notifications.present") } else { ctx.t("notifications.absent") };
                    format!("{} ({}): {mark}", n.title, n.short_id)
                })
                .collect();
            Cause {
                number: 2,
                title: title(2),
                ok: missing.is_empty(),
                reason: if missing.is_empty() {
                    ctx.t("notifications.templates_ok")
                } else {
                    ctx.t("notifications.templates_missing")
                },
                fix: (!missing.is_empty()).then(|| ctx.t("notifications.templates_fix")),
                details,
                add_templates: !missing.is_empty(),
            }
        }
    });
    // (3) Each template's fields match what the platform sends.
    out.push(match &account {
        Err(f) => failed(3, f),
        Ok(account) => {
            let missing = rules::missing_templates(needed, account);
            let mismatches = rules::field_mismatches(needed, account);
            let details = mismatches
                .iter()
                .map(|(t, fields)| {
                    ctx.t_with("notifications.fields_lacking", &[("title", t), ("fields", &fields.join(", "))])
                })
                .collect();
            let (ok, reason, fix) = if !missing.is_empty() {
                (false, ctx.t("notifications.fields_after_templates"), None)
            } else if mismatches.is_empty() {
                (true, ctx.t("notifications.fields_ok"), None)
            } else {
                (false, ctx.t("notifications.fields_mismatch"), Some(ctx.t("notifications.fields_fix")))
            };
            Cause { number: 3, title: title(3), ok, reason, fix, details, add_templates: false }
        }
    });
    // (4) The mini program is linked to the official account.
    out.push(match &d.link {
        None => Cause {
            number: 4,
            title: title(4),
            ok: false,
            reason: ctx.t("notifications.no_mini_program"),
            fix: Some(ctx.t("notifications.bind_first")),
            details: Vec::new(),
            add_templates: false,
        },
        Some(Err(f)) => failed(4, f),
        Some(Ok(s)) => {
            let ok = s.state == LinkState::Linked;
            Cause {
                number: 4,
                title: title(4),
                ok,
                reason: ctx.t_with("notifications.link_state", &[("state", &ctx.t(s.state.key()))]),
                fix: (!ok).then(|| ctx.t_with("notifications.link_fix", &[("tab", &tab_path(tenant_id))])),
                details: Vec::new(),
                add_templates: false,
            }
        }
    });
    out
}

async fn render_notifications(
    ctx: PageCtx,
    current: CurrentTenant,
    platform: &Platform,
    data: NotificationsData,
    error: Option<String>,
) -> Result<HttpResponse, AppError> {
    let Some(oa) = data.tab.active_oa().cloned() else {
        return Ok(see_other(&tab_path(&current.tenant.id)));
    };
    let mp = data.tab.mini_program.clone();
    let diagnosis = service::diagnose(platform, &oa.appid, mp.as_ref().map(|m| m.appid.as_str()))
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    let causes = causes(&ctx, &current.tenant.id, mp.as_ref(), &data.needed, &diagnosis);
    ok(&NotificationsPage { ctx, tenant: current.tenant, oa_name: oa.nick_name, causes, error })
}

pub async fn notifications(
    page: TenantPage<NotificationsData>,
    platform: web::Data<Platform>,
) -> Result<HttpResponse, AppError> {
    let TenantPage { ctx, current, data } = page;
    render_notifications(ctx, current, &platform, data, None).await
}

/// "Add the missing templates" (cause 2): `api_add_template` for each one the account lacks.
pub async fn add_templates(
    page: TenantPage<NotificationsData>,
    platform: web::Data<Platform>,
) -> Result<HttpResponse, AppError> {
    let TenantPage { ctx, current, data } = page;
    let Some(oa) = data.tab.active_oa().map(|a| a.appid.clone()) else {
        return Ok(see_other(&tab_path(&current.tenant.id)));
    };
    let listed = platform
        .get_authorizer::<crate::wechat::official::PrivateTemplates>(
            &oa,
            crate::wechat::official::GET_ALL_PRIVATE_TEMPLATE,
        )
        .await;
    let result = match listed {
        Ok(list) => {
            let account = account_templates(&list.template_list);
            let missing: Vec<String> =
                rules::missing_templates(&data.needed, &account).iter().map(|n| n.short_id.clone()).collect();
            service::add_missing_templates(&platform, &current.tenant.id, current.actor(), &oa, &missing).await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Ok(see_other(&format!("{}/notifications", tab_path(&current.tenant.id)))),
        Err(e) => {
            let error = Some(ctx.failure(&e.into_refusal().map_err(|e| AppError::Internal(e.into()))?));
            render_notifications(ctx, current, &platform, data, error).await
        }
    }
}

// ---- From the trial store to your own (seed 002) ----

#[derive(Template)]
#[template(path = "official_account/guide.html")]
struct GuidePage {
    ctx: PageCtx,
    tenant: Tenant,
}

/// The bilingual guide: what to register on WeChat, in which order, and why.
pub async fn guide(ctx: PageCtx, current: CurrentTenant) -> Result<HttpResponse, AppError> {
    ok(&GuidePage { ctx, tenant: current.tenant })
}
