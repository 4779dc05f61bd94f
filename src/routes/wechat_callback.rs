//! `GET /wechat/authorized` (CONTRACT): WeChat's redirect after an administrator
//! authorizes. A tenant's authorization shows the Mini Program outcome page; an
//! operator's shows the account that was added.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::{CurrentUser, TypedSession};
use crate::db::platform as store;
use crate::error::AppError;
use crate::services::authorization::{self, Returned};
use crate::services::platform::Platform;
use crate::views::{PageCtx, ok};

use super::mini_program::{OutcomePage, OutcomeView};

#[derive(Deserialize)]
pub struct AuthorizedQuery {
    #[serde(default)]
    auth_code: Option<String>,
    #[serde(default)]
    state: Option<String>,
}

#[derive(Template)]
#[template(path = "wechat/authorized.html")]
struct AuthorizedPage {
    ctx: PageCtx,
    ok: bool,
    title_key: &'static str,
    message: String,
    authorizer: Option<store::Authorizer>,
    back: &'static str,
}

impl AuthorizedPage {
    fn refused(ctx: PageCtx, key: &str) -> Self {
        let message = ctx.t(key);
        Self { ctx, ok: false, title_key: "authorized.refused", message, authorizer: None, back: "/" }
    }
}

pub async fn authorized(
    ctx: PageCtx,
    user: CurrentUser,
    session: TypedSession,
    platform: web::Data<Platform>,
    query: web::Query<AuthorizedQuery>,
) -> Result<HttpResponse, AppError> {
    let (Some(state), Some(auth_code)) = (query.state.as_deref(), query.auth_code.as_deref()) else {
        return ok(&AuthorizedPage::refused(ctx, "authorized.missing"));
    };
    let session_id = session.session_id().unwrap_or_default();
    let returned = authorization::handle_return(&platform, &user.0, &session_id, state, auth_code)
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    match returned {
        Returned::BadState => ok(&AuthorizedPage::refused(ctx, "authorized.bad_state")),
        Returned::Tenant { tenant_id, state, outcome } => {
            let o = OutcomeView::new(&ctx, &tenant_id, &state, outcome.as_ref());
            ok(&OutcomePage { ctx, o })
        }
        Returned::OfficialAccount { tenant_id, state, outcome } => {
            let o = super::official_account::OutcomeView::new(&ctx, &tenant_id, &state, outcome.as_ref());
            ok(&super::official_account::OutcomePage { ctx, o })
        }
        Returned::Platform(result) => platform_outcome(ctx, *result),
    }
}

fn platform_outcome(
    ctx: PageCtx,
    result: Result<store::Authorizer, crate::services::platform::PlatformError>,
) -> Result<HttpResponse, AppError> {
    match result {
        Ok(authorizer) => {
            let message = ctx.t_with("authorized.platform_done", &[("name", &authorizer.nick_name)]);
            ok(&AuthorizedPage {
                ctx,
                ok: true,
                title_key: "authorized.done",
                message,
                authorizer: Some(authorizer),
                back: "/operator/platform",
            })
        }
        Err(e) => {
            let message = ctx.failure(&e.failure());
            ok(&AuthorizedPage {
                ctx,
                ok: false,
                title_key: "authorized.failed",
                message,
                authorizer: None,
                back: "/operator/platform",
            })
        }
    }
}
