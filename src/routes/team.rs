//! The workspace's Members page (`/w/{tenant}/members`): members with their roles, "Invite a
//! colleague", pending invitations with "Send again" and "Revoke", "Remove", "Change role"
//! and "Leave workspace". Every id in a URL is looked up within the URL's tenant, in SQL.

use actix_web::{HttpResponse, http::StatusCode, web};
use askama::Template;
use serde::Deserialize;
use validator::Validate;

use crate::auth::{CurrentTenant, TypedSession};
use crate::config::AppConfig;
use crate::db::{self, DbConn, DbPool, invitations::Invitation, models::Tenant, tenants::MemberRow};
use crate::domain::team::{InvitationState, Refusal, Role};
use crate::error::AppError;
use crate::services::team::{self as service, TeamCtx, TeamRefusal};
use crate::views::{FormErrors, PageCtx, TenantLoader, TenantPage, render, see_other};

/// The page's own data, read with the session in one trip.
pub struct MembersData {
    members: Vec<MemberRow>,
    invitations: Vec<Invitation>,
}

impl TenantLoader for MembersData {
    type Params = ();

    fn load(c: &mut DbConn, tenant: &Tenant, (): ()) -> Result<Self, AppError> {
        Ok(MembersData {
            members: db::tenants::member_rows(c, &tenant.id)?,
            invitations: db::invitations::list_open(c, &tenant.id)?,
        })
    }
}

#[derive(Debug, Default, Deserialize, Validate)]
pub struct InviteForm {
    #[serde(default)]
    #[validate(email(message = "form.email_invalid"), length(max = 254, message = "form.email_invalid"))]
    email: String,
    #[serde(default)]
    pub(super) role: String,
}

#[derive(Template)]
#[template(path = "team/members.html")]
struct MembersPage {
    ctx: PageCtx,
    tenant: Tenant,
    me: String,
    members: Vec<MemberRow>,
    invitations: Vec<Invitation>,
    form: InviteForm,
    errors: FormErrors,
    /// A refusal said beside the button that asked: (member id or "leave", text).
    refused: Option<(String, String)>,
    now: i64,
}

impl MembersPage {
    fn my_role(&self) -> Option<Role> {
        self.members.iter().find(|m| m.user_id == self.me).and_then(|m| Role::parse(&m.role))
    }

    fn is_admin(&self) -> bool {
        self.my_role() == Some(Role::Admin)
    }

    fn admins(&self) -> usize {
        self.members.iter().filter(|m| m.role == "admin").count()
    }

    /// The signed-in user is the workspace's only admin.
    fn last_admin(&self) -> bool {
        self.is_admin() && self.admins() <= 1
    }

    fn is_me(&self, m: &MemberRow) -> bool {
        m.user_id == self.me
    }

    fn refused_for(&self, what: &str) -> Option<&str> {
        self.refused.as_ref().filter(|(k, _)| k == what).map(|(_, t)| t.as_str())
    }

    fn state(&self, i: &Invitation) -> &'static str {
        InvitationState::of(i.accepted_at, i.revoked_at, i.expires_at, self.now).as_str()
    }

    fn roles(&self) -> [Role; 2] {
        Role::ALL
    }

    fn invite_role(&self) -> &str {
        if self.form.role.is_empty() { "member" } else { &self.form.role }
    }

    fn base(&self) -> String {
        format!("/w/{}/members", self.tenant.id)
    }
}

pub async fn page(page: TenantPage<MembersData>) -> Result<HttpResponse, AppError> {
    let TenantPage { ctx, current, data } = page;
    render(StatusCode::OK, &members_page(ctx, current, data, InviteForm::default(), FormErrors::default(), None))
}

fn members_page(
    ctx: PageCtx,
    current: CurrentTenant,
    data: MembersData,
    form: InviteForm,
    errors: FormErrors,
    refused: Option<(String, String)>,
) -> MembersPage {
    MembersPage {
        ctx,
        me: current.user.id,
        tenant: current.tenant,
        members: data.members,
        invitations: data.invitations,
        form,
        errors,
        refused,
        now: crate::now(),
    }
}

/// Renders the page again after a refusal, with what was typed and the refusal in place.
async fn again(
    ctx: PageCtx,
    current: CurrentTenant,
    pool: &DbPool,
    status: StatusCode,
    form: InviteForm,
    errors: FormErrors,
    refused: Option<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let tenant = current.tenant.clone();
    let data = db::read(pool, move |c| MembersData::load(c, &tenant, ())).await?;
    render(status, &members_page(ctx, current, data, form, errors, refused))
}

fn ctx_of<'a>(current: &'a CurrentTenant, config: &'a AppConfig) -> TeamCtx<'a> {
    TeamCtx {
        tenant_id: &current.tenant.id,
        tenant_name: &current.tenant.name,
        actor: &current.user,
        public_url: &config.public_url,
    }
}

/// Runs a team change on the blocking pool.
async fn change<T: Send + 'static>(
    pool: &DbPool,
    current: &CurrentTenant,
    config: &AppConfig,
    f: impl FnOnce(&TeamCtx<'_>, &mut DbConn) -> Result<Result<T, TeamRefusal>, diesel::result::Error> + Send + 'static,
) -> Result<Result<T, TeamRefusal>, AppError> {
    let (tenant, user, config) = (current.tenant.clone(), current.user.clone(), config.clone());
    db::run(pool, move |conn| {
        let current = CurrentTenant { tenant, user };
        Ok::<_, AppError>(f(&ctx_of(&current, &config), conn)?)
    })
    .await
}

/// A refusal the page says beside the button (the last admin), or the error page.
fn refusal_text(ctx: &PageCtx, refused: TeamRefusal) -> Result<String, AppError> {
    match refused {
        TeamRefusal::Rule(Refusal::LastAdmin) => Ok(ctx.t("team.last_admin")),
        TeamRefusal::Rule(Refusal::NotAdmin) => Err(AppError::Forbidden),
        TeamRefusal::NotFound => Err(AppError::NotFound),
        TeamRefusal::AlreadyMember => Ok(ctx.t("team.already_member")),
        TeamRefusal::AlreadyInvited => Ok(ctx.t("team.already_invited")),
    }
}

pub async fn invite(
    ctx: PageCtx,
    current: CurrentTenant,
    pool: web::Data<DbPool>,
    config: web::Data<AppConfig>,
    session: TypedSession,
    form: web::Form<InviteForm>,
) -> Result<HttpResponse, AppError> {
    let mut form = form.into_inner();
    form.email = form.email.trim().to_lowercase();
    let mut errors = match form.validate() {
        Ok(()) => FormErrors::default(),
        Err(e) => FormErrors::from_validation(&e, ctx.locale),
    };
    let role = Role::parse(&form.role);
    if role.is_none() {
        errors.add("role", ctx.t("team.role_required"));
    }
    let (Some(role), true) = (role, errors.is_empty()) else {
        return again(ctx, current, &pool, StatusCode::UNPROCESSABLE_ENTITY, form, errors, None).await;
    };
    let email = form.email.clone();
    let outcome =
        change(&pool, &current, &config, move |t, c| service::invite(t, c, &email, role, crate::now())).await?;
    match outcome {
        Ok(()) => {
            tracing::info!(tenant.id = %current.tenant.id, "invitation sent");
            session.flash("success", "team.invited");
            Ok(see_other(&format!("/w/{}/members", current.tenant.id)))
        }
        Err(refused) => {
            errors.add("email", refusal_text(&ctx, refused)?);
            again(ctx, current, &pool, StatusCode::UNPROCESSABLE_ENTITY, form, errors, None).await
        }
    }
}

/// "Send again" and "Revoke" of a pending invitation.
pub async fn invitation_action(
    current: CurrentTenant,
    pool: web::Data<DbPool>,
    config: web::Data<AppConfig>,
    session: TypedSession,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, AppError> {
    let (_, id, action) = path.into_inner();
    let outcome = match action.as_str() {
        "resend" => change(&pool, &current, &config, move |t, c| service::resend(t, c, &id, crate::now())).await?,
        "revoke" => change(&pool, &current, &config, move |t, c| service::revoke(t, c, &id, crate::now())).await?,
        _ => return Err(AppError::NotFound),
    };
    match outcome {
        Ok(()) => {
            session.flash("success", if action == "resend" { "team.sent_again" } else { "team.revoked" });
            Ok(see_other(&format!("/w/{}/members", current.tenant.id)))
        }
        Err(TeamRefusal::Rule(Refusal::NotAdmin)) => Err(AppError::Forbidden),
        Err(_) => Err(AppError::NotFound),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    pub(super) role: String,
}

/// "Remove" and "Change role" of a member.
pub async fn member_action(
    ctx: PageCtx,
    current: CurrentTenant,
    pool: web::Data<DbPool>,
    config: web::Data<AppConfig>,
    session: TypedSession,
    path: web::Path<(String, String, String)>,
    form: web::Form<RoleForm>,
) -> Result<HttpResponse, AppError> {
    let (_, user_id, action) = path.into_inner();
    let target = user_id.clone();
    let leaving = user_id == current.user.id;
    let outcome = match action.as_str() {
        "remove" => {
            change(&pool, &current, &config, move |t, c| {
                service::remove(t, c, &target, crate::now()).map(|r| r.map(|_| ()))
            })
            .await?
        }
        "role" => {
            let role = Role::parse(&form.role).ok_or_else(|| AppError::BadRequest("unknown role".into()))?;
            change(&pool, &current, &config, move |t, c| service::set_role(t, c, &target, role, crate::now())).await?
        }
        _ => return Err(AppError::NotFound),
    };
    match outcome {
        Ok(()) if leaving && action == "remove" => {
            session.flash("success", "team.left");
            Ok(see_other("/"))
        }
        Ok(()) => {
            session.flash("success", if action == "remove" { "team.removed" } else { "team.role_changed" });
            Ok(see_other(&format!("/w/{}/members", current.tenant.id)))
        }
        Err(refused) => {
            let text = refusal_text(&ctx, refused)?;
            let refused = Some((user_id, text));
            again(ctx, current, &pool, StatusCode::CONFLICT, InviteForm::default(), FormErrors::default(), refused)
                .await
        }
    }
}

/// "Leave workspace".
pub async fn leave(
    ctx: PageCtx,
    current: CurrentTenant,
    pool: web::Data<DbPool>,
    config: web::Data<AppConfig>,
    session: TypedSession,
) -> Result<HttpResponse, AppError> {
    match change(&pool, &current, &config, |t, c| service::leave(t, c, crate::now())).await? {
        Ok(()) => {
            tracing::info!(tenant.id = %current.tenant.id, "a member left the workspace");
            session.flash("success", "team.left");
            Ok(see_other("/"))
        }
        Err(refused) => {
            let refused = Some(("leave".to_string(), refusal_text(&ctx, refused)?));
            again(ctx, current, &pool, StatusCode::CONFLICT, InviteForm::default(), FormErrors::default(), refused)
                .await
        }
    }
}
