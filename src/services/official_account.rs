//! The tenant's official account (SPEC §3.5): binding it when its authorization comes back,
//! and the link with the dedicated mini program through WeChat (`wxamplinkget`,
//! `wxamplink`, `wxampunlink`, reference §5 and wave-2 notes §3).

use serde_json::json;

use super::platform::{Platform, PlatformError};
use crate::db::{self, DbConn, audit, bindings, official_accounts as oa_store, platform as store};
use crate::domain::binding::{BindingStatus, parse_ids};
use crate::domain::official_account::{self as rules, LinkState, OaOutcome};
use crate::wechat::official as api;

/// Applies the rules in one transaction; a race for one AppID is lost on the unique index.
pub fn decide_and_bind(
    conn: &mut DbConn,
    a: &store::Authorizer,
    pinned: Option<&str>,
    tenant_id: &str,
    actor: &audit::Actor,
    now: i64,
) -> Result<OaOutcome, diesel::result::Error> {
    let required = parse_ids(&bindings::setting(conn, oa_store::REQUIRED_SETS)?);
    let granted = a.func_id_list();
    let mp_subject = match bindings::active_for_tenant(conn, tenant_id)? {
        Some(b) => store::authorizer(conn, &b.appid)?.map(|m| m.principal_name),
        None => None,
    };
    let result = db::write_tx(conn, |conn| -> Result<OaOutcome, diesel::result::Error> {
        let existing = oa_store::active_for_appid(conn, &a.appid)?;
        let outcome = rules::decide(
            &rules::Returned {
                appid: &a.appid,
                is_mini_program: a.is_mini_program,
                service_type: a.service_type,
                verified: a.is_verified(),
                principal_name: &a.principal_name,
                granted: &granted,
            },
            &rules::Context {
                required: &required,
                pinned_appid: pinned,
                existing_tenant: existing.as_ref().map(|o| o.tenant_id.as_str()),
                tenant_id,
                mini_program_subject: mp_subject.as_deref(),
            },
        );
        if !matches!(outcome, OaOutcome::Bound { .. }) {
            return Ok(outcome);
        }
        let before = oa_store::active_for_tenant(conn, tenant_id)?;
        let action = match &before {
            Some(b) if b.appid == a.appid => {
                oa_store::mark_reauthorized(conn, &b.id, tenant_id, now)?;
                "official_account.reauthorized"
            }
            Some(_) => return Ok(OaOutcome::DifferentAppid),
            None => {
                oa_store::insert_active(conn, &crate::new_id(), tenant_id, &a.appid, &actor.label, now)?;
                "official_account.bound"
            }
        };
        audit::write(
            conn,
            audit::Record {
                actor,
                tenant_id: Some(tenant_id),
                action,
                subject: &format!("tenant:{tenant_id}:official_account"),
                before: before.as_ref().map(|b| json!({ "appid": b.appid, "status": b.status.as_str() })).as_ref(),
                after: Some(&json!({
                    "appid": a.appid, "status": BindingStatus::Active.as_str(), "name": a.nick_name,
                    "principal_name": a.principal_name, "func_ids": a.func_ids,
                })),
            },
            now,
        )?;
        Ok(outcome)
    });
    match result {
        Err(e) if db::is_unique_violation(&e) => Ok(OaOutcome::BoundToAnotherTenant),
        other => other,
    }
}

/// The link between the official account and one mini program, as `wxamplinkget` says.
pub struct LinkStatus {
    pub state: LinkState,
    /// The mini program's entry, when the official account lists it.
    pub item: Option<api::LinkItem>,
    /// Every mini program linked or waiting (what counts against the limits).
    pub linked: i64,
}

pub async fn link_status(platform: &Platform, oa_appid: &str, mp_appid: &str) -> Result<LinkStatus, PlatformError> {
    let answer: api::LinkGet = platform.call_authorizer(oa_appid, api::WXAMPLINKGET, &json!({})).await?;
    let items = answer.wxopens.items;
    let linked = items.iter().filter(|i| i.status != 3).count();
    let item = items.into_iter().find(|i| i.appid == mp_appid);
    Ok(LinkStatus {
        state: LinkState::from_status(item.as_ref().map(|i| i.status)),
        item,
        linked: i64::try_from(linked).unwrap_or(i64::MAX),
    })
}

/// Who asks for a link change, and between which accounts.
pub struct LinkRequest<'a> {
    pub tenant_id: &'a str,
    pub actor: audit::Actor,
    pub oa_appid: &'a str,
    pub mp_appid: &'a str,
}

/// `wxamplink`; an accepted request is recorded (the month's count) and audited.
pub async fn link(
    platform: &Platform,
    r: LinkRequest<'_>,
    notify_users: bool,
    show_profile: bool,
) -> Result<(), PlatformError> {
    let body = json!({
        "appid": r.mp_appid,
        "notify_users": i32::from(notify_users),
        "show_profile": i32::from(show_profile),
    });
    platform.call_authorizer::<serde_json::Value>(r.oa_appid, api::WXAMPLINK, &body).await?;
    let (tid, oa, mp, actor) = (r.tenant_id.to_string(), r.oa_appid.to_string(), r.mp_appid.to_string(), r.actor);
    db::run(platform.pool(), move |c| -> Result<(), PlatformError> {
        let now = crate::now();
        db::write_tx(c, |c| {
            oa_store::record_link_request(c, &tid, &oa, &mp, notify_users, show_profile, now)?;
            audit::write(
                c,
                audit::Record {
                    actor: &actor,
                    tenant_id: Some(&tid),
                    action: "official_account.link_requested",
                    subject: &format!("tenant:{tid}:official_account"),
                    before: None::<&serde_json::Value>,
                    after: Some(&json!({
                        "official_account": oa, "mini_program": mp,
                        "notify_users": notify_users, "show_profile": show_profile,
                    })),
                },
                now,
            )?;
            Ok(())
        })
    })
    .await
}

/// `wxampunlink`, audited.
pub async fn unlink(platform: &Platform, r: LinkRequest<'_>) -> Result<(), PlatformError> {
    platform
        .call_authorizer::<serde_json::Value>(r.oa_appid, api::WXAMPUNLINK, &json!({ "appid": r.mp_appid }))
        .await?;
    let (tid, oa, mp, actor) = (r.tenant_id.to_string(), r.oa_appid.to_string(), r.mp_appid.to_string(), r.actor);
    db::run(platform.pool(), move |c| -> Result<(), PlatformError> {
        let now = crate::now();
        db::write_tx(c, |c| {
            audit::write(
                c,
                audit::Record {
                    actor: &actor,
                    tenant_id: Some(&tid),
                    action: "official_account.unlinked",
                    subject: &format!("tenant:{tid}:official_account"),
                    before: Some(&json!({ "official_account": oa, "mini_program": mp })),
                    after: None::<&serde_json::Value>,
                },
                now,
            )?;
            Ok(())
        })
    })
    .await
}

// ---- "Why are notifications not received?" ----

/// What the troubleshooting page reads from WeChat, each part on its own (one failing
/// does not hide the others).
pub struct Diagnosis {
    pub menu: Result<api::CurrentMenu, crate::domain::failure::Failure>,
    pub templates: Result<Vec<api::PrivateTemplate>, crate::domain::failure::Failure>,
    /// None when no dedicated mini program is bound.
    pub link: Option<Result<LinkStatus, crate::domain::failure::Failure>>,
}

fn refusal<T>(r: Result<T, PlatformError>) -> Result<Result<T, crate::domain::failure::Failure>, PlatformError> {
    match r {
        Ok(v) => Ok(Ok(v)),
        Err(e) => e.into_refusal().map(Err),
    }
}

pub async fn diagnose(platform: &Platform, oa_appid: &str, mp_appid: Option<&str>) -> Result<Diagnosis, PlatformError> {
    let menu = refusal(platform.get_authorizer::<api::CurrentMenu>(oa_appid, api::GET_CURRENT_SELFMENU_INFO).await)?;
    let templates = refusal(
        platform
            .get_authorizer::<api::PrivateTemplates>(oa_appid, api::GET_ALL_PRIVATE_TEMPLATE)
            .await
            .map(|t| t.template_list),
    )?;
    let link = match mp_appid {
        Some(mp) => Some(refusal(link_status(platform, oa_appid, mp).await)?),
        None => None,
    };
    Ok(Diagnosis { menu, templates, link })
}

/// Adds the needed templates the account lacks (`api_add_template`), audited; stops at
/// WeChat's first refusal.
pub async fn add_missing_templates(
    platform: &Platform,
    tenant_id: &str,
    actor: audit::Actor,
    oa_appid: &str,
    short_ids: &[String],
) -> Result<(), PlatformError> {
    for short in short_ids {
        let added: api::AddedTemplate =
            platform.call_authorizer(oa_appid, api::API_ADD_TEMPLATE, &json!({ "template_id_short": short })).await?;
        let (tid, oa, short, actor) = (tenant_id.to_string(), oa_appid.to_string(), short.clone(), actor.clone());
        db::run(platform.pool(), move |c| -> Result<(), PlatformError> {
            let now = crate::now();
            db::write_tx(c, |c| {
                audit::write(
                    c,
                    audit::Record {
                        actor: &actor,
                        tenant_id: Some(&tid),
                        action: "official_account.template_added",
                        subject: &format!("tenant:{tid}:official_account"),
                        before: None::<&serde_json::Value>,
                        after: Some(
                            &json!({ "official_account": oa, "short_id": short, "template_id": added.template_id }),
                        ),
                    },
                    now,
                )?;
                Ok(())
            })
        })
        .await?;
    }
    Ok(())
}
