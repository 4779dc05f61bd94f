//! Store Settings → Mini Program tab (seed 000 §1, §3): the shared platform mini
//! program, the upgrade to a dedicated one, and the bound mini program's actions.

use actix_web::{HttpResponse, web};
use askama::Template;

use crate::auth::{CurrentTenant, TypedSession};
use crate::config::AppConfig;
use crate::db::{self, DbConn, DbPool, bindings, models::Tenant, platform as store};
use crate::domain::binding::{self as rules, AuthOutcome, AuthPurpose, BindingStatus, Outcome};
use crate::error::AppError;
use crate::htmx::Htmx;
use crate::services::platform::Platform;
use crate::views::{PageCtx, TenantLoader, TenantPage, ok, see_other};
use crate::wechat::urls::AuthType;

use super::authorize_page;
use super::version_card::{VersionCard, VersionData};

/// The platform mini program every store starts on (operator configuration).
pub struct SharedProgram {
    pub name: String,
    pub short_name: String,
    pub icon: String,
}

pub struct SetView {
    pub id: i64,
    pub name: String,
}

#[derive(Template)]
#[template(path = "mini_program/tab.html")]
struct TabPage {
    ctx: PageCtx,
    tenant: Tenant,
    shared: SharedProgram,
    binding: Option<bindings::Binding>,
    authorizer: Option<store::Authorizer>,
    granted: Vec<SetView>,
    missing: Vec<SetView>,
    /// The Version card, when a dedicated mini program is bound.
    card: Option<VersionCard>,
}

impl TabPage {
    fn active(&self) -> bool {
        self.binding.as_ref().is_some_and(|b| b.status == BindingStatus::Active)
    }
    /// The binding that ended, and how (revoked by WeChat, or unbound here).
    fn ended(&self) -> Option<(&bindings::Binding, bool)> {
        self.binding.as_ref().and_then(|b| match b.status {
            BindingStatus::Active => None,
            BindingStatus::Revoked => Some((b, true)),
            BindingStatus::Unbound => Some((b, false)),
        })
    }
    fn base(&self) -> String {
        tab_path(&self.tenant.id)
    }
}

pub fn tab_path(tenant_id: &str) -> String {
    format!("/w/{tenant_id}/store/mini-program")
}

fn set_views(ctx: &PageCtx, ids: &[i64]) -> Vec<SetView> {
    ids.iter().map(|id| SetView { id: *id, name: ctx.t(&rules::set_name_key(*id)) }).collect()
}

/// What the tab reads: the shared program's settings, the latest binding and its authorizer.
pub struct TabData {
    settings: [String; 4],
    binding: Option<bindings::Binding>,
    authorizer: Option<store::Authorizer>,
    version: Option<VersionData>,
}

impl TenantLoader for TabData {
    type Params = ();

    fn load(c: &mut DbConn, tenant: &Tenant, (): ()) -> Result<Self, AppError> {
        let settings = bindings::settings(
            c,
            &[bindings::SHARED_NAME, bindings::SHARED_SHORT_NAME, bindings::SHARED_ICON, bindings::REQUIRED_SETS],
        )?;
        let binding = bindings::latest_for_tenant(c, &tenant.id)?;
        let authorizer = match &binding {
            Some(b) => store::authorizer(c, &b.appid)?,
            None => None,
        };
        let version = VersionData::load(c, &tenant.id)?;
        Ok(TabData { settings, binding, authorizer, version })
    }
}

pub async fn tab(page: TenantPage<TabData>) -> Result<HttpResponse, AppError> {
    let TenantPage { ctx, current, data } = page;
    render_tab(ctx, current, data, None)
}

/// The tab, with WeChat's refusal of a Version card action shown on the card.
pub fn render_tab(
    ctx: PageCtx,
    current: CurrentTenant,
    data: TabData,
    card_error: Option<String>,
) -> Result<HttpResponse, AppError> {
    let TabData { settings, binding, authorizer, version } = data;
    let [name, short_name, icon, required] = settings;
    let shared = SharedProgram { name, short_name, icon };
    let required = rules::parse_ids(&required);
    let granted_ids = authorizer.as_ref().map(|a| a.func_id_list()).unwrap_or_default();
    let missing_ids: Vec<i64> = required.iter().copied().filter(|id| !granted_ids.contains(id)).collect();
    let (granted, missing) = (set_views(&ctx, &granted_ids), set_views(&ctx, &missing_ids));
    let card = version.as_ref().map(|v| VersionCard::new(&ctx, tab_path(&current.tenant.id), v, card_error));
    ok(&TabPage { ctx, tenant: current.tenant, shared, binding, authorizer, granted, missing, card })
}

/// The mini program as `authorize_page` starts its authorization.
const AUTHORIZE: authorize_page::Target = authorize_page::Target {
    section: "store/mini-program",
    purpose: AuthPurpose::Tenant,
    // Mini programs only; a re-authorization is pinned to the bound AppID.
    auth_type: AuthType::MiniProgram,
    tab_title: "mini_program.title",
    title: "mini_program.authorize_title",
    scan_heading: "mini_program.scan_heading",
    notes: &["mini_program.note_admin", "mini_program.note_keep_all", "mini_program.note_one_application"],
    same_appid_note: "mini_program.note_same_appid",
    question: "words.authorized_question",
    question_hint: Some("mini_program.question_zh_hint"),
    bound_appid: |c, tenant_id| Ok(bindings::active_for_tenant(c, tenant_id)?.map(|b| b.appid)),
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

/// Where a tenant's authorization stands, ready for the result page and the polled fragment.
pub struct OutcomeView {
    pub tab: String,
    /// The address the pending page polls.
    pub poll: String,
    pub state: OutcomeState,
}

/// What the result page says, decided in Rust so the template only shows it.
pub enum OutcomeState {
    /// WeChat has not sent the administrator back (or the push is still being completed).
    Pending,
    Bound {
        subject_differs: bool,
    },
    /// Refused by a rule: the sentence and, for missing permission sets, their names.
    Refused {
        text: String,
        sets: Vec<String>,
    },
    /// Talking to WeChat failed: what happened and what to do.
    Failed {
        text: String,
    },
}

impl OutcomeView {
    pub fn new(ctx: &PageCtx, tenant_id: &str, state: &str, outcome: Option<&AuthOutcome>) -> Self {
        let refused = |key: &str| OutcomeState::Refused { text: ctx.t(key), sets: Vec::new() };
        let state_view = match outcome {
            None => OutcomeState::Pending,
            Some(AuthOutcome::Decided(Outcome::Bound { subject_differs })) => {
                OutcomeState::Bound { subject_differs: *subject_differs }
            }
            Some(AuthOutcome::Decided(Outcome::MissingSets(ids))) => OutcomeState::Refused {
                text: ctx.t("outcome.missing"),
                sets: ids.iter().map(|id| format!("{} ({id})", ctx.t(&rules::set_name_key(*id)))).collect(),
            },
            Some(AuthOutcome::Decided(Outcome::NotMiniProgram)) => refused("outcome.not_mini_program"),
            Some(AuthOutcome::Decided(Outcome::Unverified)) => refused("outcome.unverified"),
            Some(AuthOutcome::Decided(Outcome::DifferentAppid)) => refused("outcome.different_appid"),
            Some(AuthOutcome::Decided(Outcome::BoundToAnotherTenant)) => refused("outcome.other_tenant"),
            Some(AuthOutcome::Decided(Outcome::BoundToAnotherApplication)) => refused("outcome.other_application"),
            Some(AuthOutcome::Failed(f)) => OutcomeState::Failed { text: ctx.failure(f) },
            // An operator's authorization (or an official account's) is never shown here.
            Some(AuthOutcome::PlatformAuthorized | AuthOutcome::Official(_)) => {
                OutcomeState::Failed { text: ctx.t("authorized.bad_state") }
            }
        };
        let tab = tab_path(tenant_id);
        Self { poll: format!("{tab}/authorizations/{state}"), tab, state: state_view }
    }

    fn pending(&self) -> bool {
        matches!(self.state, OutcomeState::Pending)
    }
}

#[derive(Template)]
#[template(path = "mini_program/outcome.html")]
pub struct OutcomePage {
    pub ctx: PageCtx,
    pub o: OutcomeView,
}

#[derive(Template)]
#[template(path = "mini_program/_outcome_body.html")]
struct OutcomeFragment {
    ctx: PageCtx,
    o: OutcomeView,
}

/// "Authorized": where the authorization stands, as a whole page; the authorization page
/// polls the same address and swaps in just the fragment.
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
            let Some(before) = bindings::active_for_tenant(c, &tid)? else { return Ok(false) };
            bindings::end_for_tenant(c, &tid, BindingStatus::Unbound, now)?;
            db::requirements::clear(c, &tid)?;
            db::audit::write(
                c,
                db::audit::Record {
                    actor: &actor,
                    tenant_id: Some(&tid),
                    action: "mini_program.unbound",
                    subject: &format!("tenant:{tid}:mini_program"),
                    before: Some(
                        &serde_json::json!({ "appid": before.appid, "status": BindingStatus::Active.as_str() }),
                    ),
                    after: Some(
                        &serde_json::json!({ "appid": before.appid, "status": BindingStatus::Unbound.as_str() }),
                    ),
                },
                now,
            )?;
            Ok::<_, AppError>(true)
        })
    })
    .await?;
    if ended {
        session.flash("success", "mini_program.unbound_flash");
    }
    Ok(see_other(&tab_path(&current.tenant.id)))
}

/// Fetches the bound mini program's details again from WeChat.
pub async fn refresh(
    current: CurrentTenant,
    session: TypedSession,
    platform: web::Data<Platform>,
) -> Result<HttpResponse, AppError> {
    let tid = current.tenant.id.clone();
    let active =
        db::run(platform.pool(), move |c| -> Result<_, AppError> { Ok(bindings::active_for_tenant(c, &tid)?) }).await?;
    if let Some(b) = active {
        match platform.sync_authorizer(&b.appid).await {
            Ok(_) => session.flash("success", "mini_program.refreshed"),
            Err(e) => {
                tracing::warn!(tenant.id = %current.tenant.id, error = %e, "refreshing the mini program failed");
                session.flash("error", "mini_program.refresh_failed");
            }
        }
    }
    Ok(see_other(&tab_path(&current.tenant.id)))
}
