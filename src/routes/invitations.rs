//! An invitation link (`/invitations/{token}`): a signed-in user with the invited address
//! joins at once; signed out, the page offers to sign up (the address fixed) or to log in,
//! and the invitation is accepted right after either. Another address is refused plainly.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;

use super::account::{SignupForm, client, signup_limited_text, validate_signup};
use crate::auth::{MaybeUser, TypedSession, password};
use crate::config::AppConfig;
use crate::db::{self, DbPool};
use crate::error::AppError;
use crate::services::team::{self, Accepted, InvitedSignUp};
use crate::views::{FormErrors, PageCtx, render, see_other};

/// What the invitation page shows.
pub enum View {
    /// Signed out: sign up with the invited address, or log in.
    Open { tenant_name: String, email: String, role: String },
    /// Signed in with another address.
    OtherAddress { invited: String, signed_in_as: String },
    /// Expired, revoked, used, or no such link.
    Gone,
}

#[derive(Template)]
#[template(path = "team/invitation.html")]
struct InvitationPage {
    ctx: PageCtx,
    token: String,
    view: View,
    form: SignupForm,
    errors: FormErrors,
}

fn gone(ctx: PageCtx, token: String) -> Result<HttpResponse, AppError> {
    let page =
        InvitationPage { ctx, token, view: View::Gone, form: SignupForm::default(), errors: FormErrors::default() };
    render(StatusCode::GONE, &page)
}

pub async fn show(
    ctx: PageCtx,
    user: MaybeUser,
    session: TypedSession,
    pool: web::Data<DbPool>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let token = path.into_inner();
    if let Some(user) = user.0 {
        session.forget_invitation();
        let (t, u) = (token.clone(), user.clone());
        let accepted = db::run(&pool, move |conn| Ok::<_, AppError>(team::accept(conn, &t, &u, crate::now())?)).await?;
        return match accepted {
            Accepted::Joined { tenant_id, .. } => {
                tracing::info!(tenant.id = %tenant_id, "invitation accepted by a signed-in user");
                session.flash("success", "team.joined");
                Ok(see_other(&format!("/w/{tenant_id}")))
            }
            Accepted::AlreadyMember { tenant_id } => Ok(see_other(&format!("/w/{tenant_id}"))),
            Accepted::OtherAddress { invited } => {
                tracing::warn!("invitation refused: opened by another account than the invited address");
                let view = View::OtherAddress { invited, signed_in_as: user.email };
                let page =
                    InvitationPage { ctx, token, view, form: SignupForm::default(), errors: FormErrors::default() };
                render(StatusCode::FORBIDDEN, &page)
            }
            Accepted::Gone => gone(ctx, token),
        };
    }
    let t = token.clone();
    let open = db::run(&pool, move |conn| Ok::<_, AppError>(team::look_up(conn, &t, crate::now())?)).await?;
    let Some(open) = open else {
        session.forget_invitation();
        return gone(ctx, token);
    };
    // Remembered for the login, which comes back here once it passes.
    session.remember_invitation(&token)?;
    let form = SignupForm { email: open.invitation.email.clone(), ..SignupForm::default() };
    let view = View::Open { tenant_name: open.tenant_name, email: open.invitation.email, role: open.invitation.role };
    render(StatusCode::OK, &InvitationPage { ctx, token, view, form, errors: FormErrors::default() })
}

/// Signing up from the invitation page: the account of the invited address, which joins at once.
#[expect(clippy::too_many_arguments, reason = "actix extractors")]
pub async fn sign_up(
    ctx: PageCtx,
    req: HttpRequest,
    user: MaybeUser,
    session: TypedSession,
    pool: web::Data<DbPool>,
    config: web::Data<AppConfig>,
    path: web::Path<String>,
    form: web::Form<SignupForm>,
) -> Result<HttpResponse, AppError> {
    let token = path.into_inner();
    if user.0.is_some() {
        return Ok(see_other(&format!("/invitations/{token}")));
    }
    let t = token.clone();
    let open = db::run(&pool, move |conn| Ok::<_, AppError>(team::look_up(conn, &t, crate::now())?)).await?;
    let Some(open) = open else {
        return gone(ctx, token);
    };
    // The address is the invitation's, whatever the form says.
    let mut form = SignupForm { email: open.invitation.email.clone(), ..form.into_inner() }.normalized();
    let view = View::Open {
        tenant_name: open.tenant_name.clone(),
        email: open.invitation.email.clone(),
        role: open.invitation.role.clone(),
    };
    let errors = validate_signup(&form, ctx.locale);
    if !errors.is_empty() {
        form.password.clear();
        return render(StatusCode::UNPROCESSABLE_ENTITY, &InvitationPage { ctx, token, view, form, errors });
    }
    let hash = password::hash(&form.password)?;
    let (name, client, t) = (form.name.clone(), client(&req), token.clone());
    let (timeouts, limits) = (config.session_timeouts, config.rate_limits);
    let outcome = db::run(&pool, move |conn| {
        Ok::<_, AppError>(team::sign_up_and_accept(conn, &t, &name, &hash, &client, &timeouts, &limits, crate::now())?)
    })
    .await?;
    form.password.clear();
    let mut errors = FormErrors::default();
    match outcome {
        InvitedSignUp::Joined { session_id, tenant_id, .. } => {
            tracing::info!(tenant.id = %tenant_id, "invitation accepted by signing up");
            session.forget_invitation();
            session.begin_login(&session_id)?;
            session.flash("success", "team.joined");
            Ok(see_other(&format!("/w/{tenant_id}")))
        }
        InvitedSignUp::EmailTaken => {
            errors.add("email", ctx.t("team.invitation_log_in_instead"));
            render(StatusCode::UNPROCESSABLE_ENTITY, &InvitationPage { ctx, token, view, form, errors })
        }
        InvitedSignUp::Limited { until } => {
            tracing::warn!("sign-up refused: too many accounts from one address");
            errors.add("form", signup_limited_text(&ctx, until));
            render(StatusCode::TOO_MANY_REQUESTS, &InvitationPage { ctx, token, view, form, errors })
        }
        InvitedSignUp::Gone => gone(ctx, token),
    }
}
