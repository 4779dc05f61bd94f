//! Binding a tenant's dedicated mini program: what happens after WeChat sends the
//! administrator back (or pushes `authorized` first), decided by `domain::binding`.

use super::client::WechatError;
use super::platform::Platform;
use crate::db::{self, DbConn, audit, bindings, platform as store};
use crate::domain::binding::{self as rules, Outcome};

/// The outcome stored on the authorization state and shown on the result page.
pub fn outcome_code(o: &Outcome) -> String {
    match o {
        Outcome::NotMiniProgram => "not_mini_program".into(),
        Outcome::Unverified => "unverified".into(),
        Outcome::MissingSets(ids) => format!("missing:{}", super::platform::join_ids(ids)),
        Outcome::DifferentAppid => "different_appid".into(),
        Outcome::BoundToAnotherTenant => "other_tenant".into(),
        Outcome::BoundToAnotherApplication => "other_application".into(),
        Outcome::Bound { subject_differs: false } => "bound".into(),
        Outcome::Bound { subject_differs: true } => "bound_subject_differs".into(),
    }
}

/// Exchanges the code and binds (or refuses) for the tenant that started `state`.
/// The state must already be taken (single use) by the caller.
pub async fn complete(platform: &Platform, state: &store::AuthState, auth_code: &str, actor: audit::Actor) -> String {
    let tenant_id = state.tenant_id.clone().unwrap_or_default();
    let result: Result<String, WechatError> = async {
        let authorizer = platform.complete_authorization(auth_code, actor.clone()).await?;
        let (pool, pinned, tenant, actor) =
            (platform.pool().clone(), state.biz_appid.clone(), tenant_id.clone(), actor);
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().map_err(|e| WechatError::Database(e.to_string()))?;
            decide_and_bind(&mut conn, &authorizer, pinned.as_deref(), &tenant, &actor, crate::now())
                .map_err(|e| WechatError::Database(e.to_string()))
        })
        .await
        .map_err(|e| WechatError::Database(e.to_string()))?
    }
    .await;
    let code = match result {
        Ok(code) => code,
        Err(e) => {
            tracing::warn!(tenant.id = %tenant_id, error = %e, "completing a tenant authorization failed");
            format!("error:{}", e.user_message())
        }
    };
    let (pool, s, c, appid) = (platform.pool().clone(), state.state.clone(), code.clone(), None::<String>);
    let _ = tokio::task::spawn_blocking(move || {
        let mut conn = pool.get().ok()?;
        store::finish_auth_state(&mut conn, &s, appid.as_deref(), &c).ok()
    })
    .await;
    code
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
) -> Result<String, diesel::result::Error> {
    let required = rules::parse_ids(&bindings::setting(conn, bindings::REQUIRED_SETS)?);
    let granted = a.func_id_list();
    let linked_oa: Option<String> = {
        use crate::db::schema::tenants;
        use diesel::prelude::*;
        tenants::table
            .find(tenant_id)
            .select(tenants::linked_oa_subject)
            .first::<Option<String>>(conn)
            .optional()?
            .flatten()
    };
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
            audit::write(
                conn,
                audit::Record {
                    actor,
                    tenant_id: Some(tenant_id),
                    action,
                    subject: &format!("tenant:{tenant_id}:mini_program"),
                    before: before
                        .as_ref()
                        .map(|b| serde_json::json!({ "appid": b.appid, "status": b.status }))
                        .as_ref(),
                    after: Some(&serde_json::json!({
                        "appid": a.appid, "status": "active", "name": a.nick_name, "subject_differs": subject_differs,
                        "func_ids": a.func_ids,
                    })),
                },
                now,
            )?;
        }
        Ok(outcome)
    });
    match result {
        Ok(outcome) => Ok(outcome_code(&outcome)),
        Err(e) if db::is_unique_violation(&e) => Ok(outcome_code(&Outcome::BoundToAnotherTenant)),
        Err(e) => Err(e),
    }
}
