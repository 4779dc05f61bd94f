//! Authorizing an account to the platform: starting it (a fresh pre_auth_code and a
//! single-use `state` bound to who asked), and completing it when WeChat sends the
//! administrator back (or pushes `authorized` first). For a tenant, the binding rules of
//! `domain::binding` decide; the outcome is typed and stored on the state.

use std::time::Duration;

use super::platform::{Platform, PlatformError};
use crate::db::{self, DbConn, audit, bindings, platform as store};
use crate::domain::binding::{self as rules, AuthOutcome, AuthPurpose, BindingStatus, Outcome};
use crate::wechat::urls::{self, AuthType};

/// How long an authorization link stays usable (WeChat's pre_auth_code lives 1800 s).
pub const STATE_TTL_SECS: i64 = 1800;

/// Who starts an authorization and for what; the state is bound to all of it.
pub struct Starter {
    pub purpose: AuthPurpose,
    pub tenant_id: Option<String>,
    pub user_id: String,
    pub session_id: String,
    /// Pins the authorization to this AppID (re-authorization); else `auth_type` applies.
    pub biz_appid: Option<String>,
}

/// A started authorization: the state and WeChat's page with its mobile form.
pub struct Started {
    pub state: String,
    pub link: String,
    pub mobile_link: String,
}

/// Where WeChat sends the administrator back (CONTRACT: `GET /wechat/authorized`).
pub fn redirect_uri(public_url: &str, state: &str) -> String {
    format!("{public_url}/wechat/authorized?state={state}")
}

/// Creates a fresh pre_auth_code and a single-use state for it.
pub async fn begin(
    platform: &Platform,
    public_url: &str,
    mp_base: &str,
    starter: Starter,
    auth_type: AuthType,
) -> Result<Started, PlatformError> {
    let pre_auth_code = platform.create_preauth_code().await?;
    let state = crate::new_id().replace('-', "");
    let link = urls::authorization_url(
        mp_base,
        platform.client().component_appid(),
        &pre_auth_code,
        &redirect_uri(public_url, &state),
        auth_type,
        starter.biz_appid.as_deref(),
    );
    let s = state.clone();
    db::run(platform.pool(), move |c| -> Result<(), PlatformError> {
        let now = crate::now();
        store::insert_auth_state(
            c,
            &store::NewAuthState {
                state: &s,
                purpose: starter.purpose,
                tenant_id: starter.tenant_id.as_deref(),
                user_id: &starter.user_id,
                session_id: &starter.session_id,
                pre_auth_code: &pre_auth_code,
                biz_appid: starter.biz_appid.as_deref(),
                created_at: now,
                expires_at: now + STATE_TTL_SECS,
            },
        )?;
        Ok(())
    })
    .await?;
    let mobile_link = urls::mobile_url(mp_base, &link);
    Ok(Started { state, link, mobile_link })
}

/// What the administrator's return to the console comes to.
pub enum Returned {
    /// The state is missing, used, expired, or belongs to another login.
    BadState,
    /// A tenant's authorization (None while the push's background completion runs).
    Tenant { tenant_id: String, state: String, outcome: Option<AuthOutcome> },
    /// A tenant's official account authorization, likewise.
    OfficialAccount { tenant_id: String, state: String, outcome: Option<AuthOutcome> },
    /// An operator's authorization of an account to the platform.
    Platform(Box<Result<store::Authorizer, PlatformError>>),
}

/// Handles WeChat's redirect: takes the state (single use), then completes.
pub async fn handle_return(
    platform: &Platform,
    user: &crate::db::models::User,
    session_id: &str,
    state: &str,
    auth_code: &str,
) -> Result<Returned, PlatformError> {
    let (uid, sid, st) = (user.id.clone(), session_id.to_string(), state.to_string());
    let (taken, existing) = db::run(platform.pool(), move |c| -> Result<_, PlatformError> {
        let taken = store::take_auth_state(c, &st, &sid, crate::now())?.filter(|s| s.user_id == uid);
        // Used already, but by the `authorized` push for this same login: show its outcome.
        let existing = match &taken {
            Some(_) => None,
            None => {
                store::auth_state(c, &st)?.filter(|s| s.session_id == sid && s.user_id == uid && s.used_at.is_some())
            }
        };
        Ok((taken, existing))
    })
    .await?;
    let actor = audit::Actor::user(&user.id, &user.email);
    if let Some(done) = existing
        && let Some(tenant_id) = done.tenant_id.clone()
    {
        let outcome = match done.outcome {
            Some(o) => Some(o),
            None => wait_for_outcome(platform, &done.state).await?,
        };
        if done.purpose == AuthPurpose::OfficialAccount {
            return Ok(Returned::OfficialAccount { tenant_id, state: done.state, outcome });
        }
        return Ok(Returned::Tenant { tenant_id, state: done.state, outcome });
    }
    let Some(state) = taken else {
        tracing::warn!(user.id = %user.id, "authorization callback with a missing, used, expired or foreign state");
        return Ok(Returned::BadState);
    };
    match state.purpose {
        AuthPurpose::Tenant => {
            let outcome = complete_for_tenant(platform, &state, auth_code, actor).await;
            let tenant_id = state.tenant_id.clone().unwrap_or_default();
            Ok(Returned::Tenant { tenant_id, state: state.state, outcome: Some(outcome) })
        }
        AuthPurpose::OfficialAccount => {
            let outcome = complete_for_tenant(platform, &state, auth_code, actor).await;
            let tenant_id = state.tenant_id.clone().unwrap_or_default();
            Ok(Returned::OfficialAccount { tenant_id, state: state.state, outcome: Some(outcome) })
        }
        AuthPurpose::Platform => {
            let result = platform.complete_authorization(auth_code, actor).await;
            let (outcome, appid) = match &result {
                Ok(a) => (AuthOutcome::PlatformAuthorized, Some(a.appid.clone())),
                Err(e) => (AuthOutcome::Failed(e.failure()), None),
            };
            let s = state.state.clone();
            db::run(platform.pool(), move |c| -> Result<_, PlatformError> {
                Ok(store::finish_auth_state(c, &s, appid.as_deref(), &outcome)?)
            })
            .await?;
            Ok(Returned::Platform(Box::new(result)))
        }
    }
}

/// The push's background completion (a job) may still be running when the administrator
/// is back: wait for its outcome a little (bounded); the page polls for the rest.
async fn wait_for_outcome(platform: &Platform, state: &str) -> Result<Option<AuthOutcome>, PlatformError> {
    for _ in 0..80 {
        let s = state.to_string();
        let outcome = db::run(platform.pool(), move |c| -> Result<_, PlatformError> {
            Ok(store::auth_state(c, &s)?.and_then(|s| s.outcome))
        })
        .await?;
        if outcome.is_some() {
            return Ok(outcome);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(None)
}

/// Exchanges the code and binds (or refuses) for the tenant that started `state`, and
/// stores the outcome on the state. The state must already be taken (single use).
pub async fn complete_for_tenant(
    platform: &Platform,
    state: &store::AuthState,
    auth_code: &str,
    actor: audit::Actor,
) -> AuthOutcome {
    let tenant_id = state.tenant_id.clone().unwrap_or_default();
    let result: Result<AuthOutcome, PlatformError> = async {
        let authorizer = platform.complete_authorization(auth_code, actor.clone()).await?;
        let (pinned, tenant) = (state.biz_appid.clone(), tenant_id.clone());
        let official = state.purpose == AuthPurpose::OfficialAccount;
        db::run(platform.pool(), move |c| -> Result<_, PlatformError> {
            let now = crate::now();
            if official {
                let decided =
                    super::official_account::decide_and_bind(c, &authorizer, pinned.as_deref(), &tenant, &actor, now)?;
                return Ok(AuthOutcome::Official(decided));
            }
            Ok(AuthOutcome::Decided(decide_and_bind(c, &authorizer, pinned.as_deref(), &tenant, &actor, now)?))
        })
        .await
    }
    .await;
    let outcome = match result {
        Ok(decided) => decided,
        Err(e) => {
            tracing::warn!(tenant.id = %tenant_id, error = %e, "completing a tenant authorization failed");
            AuthOutcome::Failed(e.failure())
        }
    };
    let (s, stored) = (state.state.clone(), outcome.clone());
    let saved = db::run(platform.pool(), move |c| -> Result<_, PlatformError> {
        Ok(store::finish_auth_state(c, &s, None, &stored)?)
    })
    .await;
    if let Err(e) = saved {
        tracing::error!(tenant.id = %tenant_id, error = ?e, "could not record an authorization's outcome");
    }
    outcome
}

/// Applies the rules in one transaction. Two tenants racing for one AppID: the unique
/// index lets one insert win; the other gets the refusal.
pub fn decide_and_bind(
    conn: &mut DbConn,
    a: &store::Authorizer,
    pinned: Option<&str>,
    tenant_id: &str,
    actor: &audit::Actor,
    now: i64,
) -> Result<Outcome, diesel::result::Error> {
    let required = rules::parse_ids(&bindings::setting(conn, bindings::REQUIRED_SETS)?);
    let granted = a.func_id_list();
    let linked_oa = crate::db::tenants::linked_oa_subject(conn, tenant_id)?;
    let result = db::write_tx(conn, |conn| -> Result<Outcome, diesel::result::Error> {
        let existing = bindings::active_for_appid(conn, &a.appid)?;
        let outcome = rules::decide(
            &rules::Returned {
                appid: &a.appid,
                is_mini_program: a.is_mini_program,
                verified: a.is_verified(),
                principal_name: &a.principal_name,
                granted: &granted,
            },
            &rules::Context {
                required: &required,
                pinned_appid: pinned,
                existing: existing.as_ref().map(|b| (b.tenant_id.as_str(), b.application.as_str())),
                tenant_id,
                linked_oa_subject: linked_oa.as_deref(),
            },
        );
        if let Outcome::Bound { subject_differs } = outcome {
            let before = bindings::active_for_tenant(conn, tenant_id)?;
            let action = match &before {
                Some(b) if b.appid == a.appid => {
                    bindings::mark_reauthorized(conn, &b.id, tenant_id, subject_differs, now)?;
                    "mini_program.reauthorized"
                }
                Some(_) => return Ok(Outcome::DifferentAppid),
                None => {
                    bindings::insert_active(
                        conn,
                        &crate::new_id(),
                        tenant_id,
                        &a.appid,
                        subject_differs,
                        &actor.label,
                        now,
                    )?;
                    "mini_program.bound"
                }
            };
            // The checklist is read at once for the newly bound mini program.
            crate::db::requirements::queue_check(conn, tenant_id, now)?;
            audit::write(
                conn,
                audit::Record {
                    actor,
                    tenant_id: Some(tenant_id),
                    action,
                    subject: &format!("tenant:{tenant_id}:mini_program"),
                    before: before
                        .as_ref()
                        .map(|b| serde_json::json!({ "appid": b.appid, "status": b.status.as_str() }))
                        .as_ref(),
                    after: Some(&serde_json::json!({
                        "appid": a.appid, "status": BindingStatus::Active.as_str(), "name": a.nick_name,
                        "subject_differs": subject_differs, "func_ids": a.func_ids,
                    })),
                },
                now,
            )?;
        }
        Ok(outcome)
    });
    match result {
        Err(e) if db::is_unique_violation(&e) => Ok(Outcome::BoundToAnotherTenant),
        other => other,
    }
}
