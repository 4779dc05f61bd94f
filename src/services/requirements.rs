//! The requirements checklist at work: checking a tenant's mini program live (the seven
//! reads run concurrently), fixing an item with WeChat's write APIs, re-evaluating every
//! tenant when the operator's configuration changes, and the background re-check.

use std::time::Duration;

use serde_json::json;

use crate::db::{self, DbConn, audit, bindings, jobs, requirements as store};
use crate::domain::failure::Failure;
use crate::domain::requirements::{self as rules, Config, Evaluation, Item, Snapshot};
use crate::services::platform::{Platform, PlatformError};
use crate::wechat::manage::{self as api, AuditId, Empty};

/// What a check found.
#[derive(Debug)]
pub struct Checked {
    pub appid: String,
    pub evaluations: Vec<Evaluation>,
}

/// Asks WeChat about the tenant's dedicated mini program and stores what it found. None
/// when the tenant has no active binding. A failed read makes that item Unknown; only a
/// database failure is an error.
pub async fn check(platform: &Platform, tenant_id: &str) -> Result<Option<Checked>, PlatformError> {
    let tid = tenant_id.to_string();
    let found = db::run(platform.pool(), move |c| -> Result<_, PlatformError> {
        let binding = bindings::active_for_tenant(c, &tid)?;
        Ok(match binding {
            Some(b) => Some((b.appid, store::config(c)?)),
            None => None,
        })
    })
    .await?;
    let Some((appid, config)) = found else {
        return Ok(None);
    };
    let snapshot = read_all(platform, &appid).await;
    let now = crate::now();
    let evaluations = rules::evaluate(&config, &snapshot, now);
    let (tid, appid_s, body) = (tenant_id.to_string(), appid.clone(), snapshot.to_json());
    let saved = evaluations.clone();
    db::run(platform.pool(), move |c| -> Result<_, PlatformError> {
        db::write_tx(c, |c| {
            // The binding may have ended while WeChat was asked: then nothing is stored.
            if bindings::active_for_tenant(c, &tid)?.is_none_or(|b| b.appid != appid_s) {
                return Ok(());
            }
            store::put_snapshot(c, &tid, &appid_s, &body, now)?;
            store::save(c, &tid, &saved, now)?;
            Ok(())
        })
    })
    .await?;
    Ok(Some(Checked { appid, evaluations }))
}

/// The seven reads, concurrently.
async fn read_all(platform: &Platform, appid: &str) -> Snapshot {
    fn seen<T>(r: Result<T, PlatformError>) -> Result<T, Failure> {
        r.map_err(|e| e.failure())
    }
    let (empty, list, get, dev_version) =
        (json!({}), json!({ "action": "list" }), json!({ "action": "get" }), json!({ "privacy_ver": 2 }));
    let (basic, plugins, interfaces, categories, domains, guide, icp) = tokio::join!(
        platform.call_authorizer(appid, api::GET_ACCOUNT_BASIC_INFO, &empty),
        platform.call_authorizer(appid, api::PLUGIN, &list),
        platform.get_authorizer(appid, api::GET_PRIVACY_INTERFACE),
        platform.get_authorizer(appid, api::GET_CATEGORY),
        platform.call_authorizer(appid, api::MODIFY_DOMAIN, &get),
        platform.call_authorizer(appid, api::GET_PRIVACY_SETTING, &dev_version),
        platform.get_authorizer(appid, api::GET_ICP_ENTRANCE_INFO),
    );
    Snapshot {
        basic: seen(basic),
        plugins: seen(plugins),
        interfaces: seen(interfaces),
        categories: seen(categories),
        domains: seen(domains),
        guide: seen(guide),
        icp: seen(icp),
    }
}

/// Why a fix did not happen.
#[derive(Debug, thiserror::Error)]
pub enum FixError {
    /// The tenant has no active dedicated mini program.
    #[error("no active binding")]
    NotBound,
    /// WeChat offers no write API for this item: it is done by hand.
    #[error("not fixable here")]
    ByHand,
    /// WeChat refused or could not be reached; nothing was recorded as done.
    #[error("WeChat: {0:?}")]
    Refused(Failure),
    #[error(transparent)]
    Platform(#[from] PlatformError),
}

impl From<db::DbError> for FixError {
    fn from(e: db::DbError) -> Self {
        Self::Platform(PlatformError::Database(e))
    }
}

impl From<diesel::result::Error> for FixError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Platform(e.into())
    }
}

/// Refusals are WeChat's answers; the rest stay errors.
fn refused(e: PlatformError) -> FixError {
    e.into_refusal().map_or_else(FixError::Platform, FixError::Refused)
}

/// Fixes one item with WeChat's write API, records who did it, then checks again.
/// Returns what was sent (for the audit log's "after").
///
/// `public_url` resolves configured pictures given as paths (`/static/…`): WeChat fetches
/// them from the console.
pub async fn fix(
    platform: &Platform,
    tenant_id: &str,
    item: Item,
    actor: audit::Actor,
    public_url: &str,
) -> Result<Option<Checked>, FixError> {
    let tid = tenant_id.to_string();
    let (appid, config, contact) = db::run(platform.pool(), move |c| -> Result<_, FixError> {
        let binding = bindings::active_for_tenant(c, &tid)?.ok_or(FixError::NotBound)?;
        let contact = crate::db::tenants::contact(c, &tid)?;
        Ok((binding.appid, store::config(c)?, contact))
    })
    .await?;
    let sent = match item {
        Item::BasicInfo | Item::Standing => return Err(FixError::ByHand),
        Item::Plugins => fix_plugins(platform, &appid, &config).await?,
        Item::Categories => fix_categories(platform, &appid, &config).await?,
        Item::PrivacyApi => fix_privacy_apis(platform, &appid, &config, public_url).await?,
        Item::Domains => fix_domains(platform, &appid, &config).await?,
        Item::PrivacyGuide => {
            let mut contact = contact;
            // A workspace whose application gave no contact: the admin fixing it is one.
            if contact.email.trim().is_empty() && contact.phone.trim().is_empty() && actor.user_id.is_some() {
                contact.email = actor.label.clone();
            }
            let body = rules::privacy_setting_body(&config, &contact);
            let _: Empty = platform.call_authorizer(&appid, api::SET_PRIVACY_SETTING, &body).await.map_err(refused)?;
            json!({ "privacy_guide": "set" })
        }
    };
    let (tid, appid_s) = (tenant_id.to_string(), appid.clone());
    db::run(platform.pool(), move |c| -> Result<_, FixError> {
        Ok(db::write_tx(c, |c| {
            audit::write(
                c,
                audit::Record {
                    actor: &actor,
                    tenant_id: Some(&tid),
                    action: "requirements.fix",
                    subject: &format!("{appid_s}:{}", item.as_str()),
                    before: None::<&()>,
                    after: Some(&sent),
                },
                crate::now(),
            )
        })?)
    })
    .await?;
    tracing::info!(tenant.id = tenant_id, authorizer.appid = %appid, item = item.as_str(), "fixed a requirement");
    Ok(check(platform, tenant_id).await?)
}

async fn fix_plugins(platform: &Platform, appid: &str, config: &Config) -> Result<serde_json::Value, FixError> {
    let list: api::PluginList =
        platform.call_authorizer(appid, api::PLUGIN, &json!({ "action": "list" })).await.map_err(refused)?;
    let mut applied = Vec::new();
    for need in rules::plugins_to_apply(config, &list) {
        let body = json!({ "action": "apply", "plugin_appid": need.appid, "reason": format!("The store template uses {}", need.name) });
        let _: Empty = platform.call_authorizer(appid, api::PLUGIN, &body).await.map_err(refused)?;
        applied.push(need.appid.clone());
    }
    Ok(json!({ "plugins_applied": applied }))
}

async fn fix_categories(platform: &Platform, appid: &str, config: &Config) -> Result<serde_json::Value, FixError> {
    let set: api::Categories = platform.get_authorizer(appid, api::GET_CATEGORY).await.map_err(refused)?;
    let add: Vec<_> = rules::categories_to_add(config, &set)
        .into_iter()
        .map(|n| json!({ "first": n.first, "second": n.second, "certicates": [] }))
        .collect();
    if !add.is_empty() {
        let _: Empty =
            platform.call_authorizer(appid, api::ADD_CATEGORY, &json!({ "categories": add })).await.map_err(refused)?;
    }
    Ok(json!({ "categories_added": add }))
}

async fn fix_privacy_apis(
    platform: &Platform,
    appid: &str,
    config: &Config,
    public_url: &str,
) -> Result<serde_json::Value, FixError> {
    let list: api::PrivacyInterfaces =
        platform.get_authorizer(appid, api::GET_PRIVACY_INTERFACE).await.map_err(refused)?;
    let mut applied = Vec::new();
    for need in rules::apis_to_apply(config, &list) {
        let mut body = json!({ "api_name": need.api_name, "content": need.reason });
        if !need.pictures.is_empty() {
            let pictures: Vec<String> = need
                .pictures
                .iter()
                .map(
                    |p| if p.starts_with('/') { format!("{}{p}", public_url.trim_end_matches('/')) } else { p.clone() },
                )
                .collect();
            body["pic_list"] = json!(pictures);
        }
        let got: AuditId =
            platform.call_authorizer(appid, api::APPLY_PRIVACY_INTERFACE, &body).await.map_err(refused)?;
        applied.push(json!({ "api_name": need.api_name, "audit_id": got.audit_id }));
    }
    Ok(json!({ "privacy_apis_applied": applied }))
}

/// Adds the missing request domains. WeChat answers 85017 (or 85018) when a domain is not
/// yet on the platform's own server-domain list (reference §3.1, §3.3): the hosts are
/// registered there first, then the mini program's list is tried once more.
async fn fix_domains(platform: &Platform, appid: &str, config: &Config) -> Result<serde_json::Value, FixError> {
    let set: api::Domains =
        platform.call_authorizer(appid, api::MODIFY_DOMAIN, &json!({ "action": "get" })).await.map_err(refused)?;
    let add: Vec<&str> = rules::domains_to_add(config, &set);
    if add.is_empty() {
        return Ok(json!({ "domains_added": [] }));
    }
    let body = json!({ "action": "add", "requestdomain": add });
    let mut registered = Vec::new();
    match platform.call_authorizer::<api::Domains>(appid, api::MODIFY_DOMAIN, &body).await {
        Ok(_) => {}
        Err(e) if matches!(e.code(), Some(85017 | 85018)) => {
            let hosts: Vec<&str> = add.iter().map(|d| api::host_of(d)).collect();
            let platform_body = json!({
                "action": "add",
                "wxa_server_domain": hosts.join(";"),
                "is_modify_published_together": true,
            });
            let _: serde_json::Value =
                platform.call_component(api::MODIFY_WXA_SERVER_DOMAIN, &platform_body).await.map_err(refused)?;
            tracing::info!(domains = %hosts.join(";"), "registered request domains on the platform");
            registered = hosts.iter().map(|h| h.to_string()).collect();
            let _: api::Domains = platform.call_authorizer(appid, api::MODIFY_DOMAIN, &body).await.map_err(refused)?;
        }
        Err(e) => return Err(refused(e)),
    }
    Ok(json!({ "domains_added": add, "registered_on_platform": registered }))
}

/// Re-evaluates every stored snapshot against the current configuration (after the
/// operator changed it), in batches, without asking WeChat. Returns how many tenants.
pub fn reevaluate_all(conn: &mut DbConn, now: i64) -> diesel::QueryResult<usize> {
    let config = store::config(conn)?;
    let mut after = String::new();
    let mut count = 0;
    loop {
        let batch = store::snapshot_batch(conn, &after, 500)?;
        let Some((last, _)) = batch.last() else { break };
        after = last.clone();
        db::write_tx(conn, |conn| {
            for (tenant_id, body) in &batch {
                if let Some(snapshot) = Snapshot::from_json(body) {
                    store::save(conn, tenant_id, &rules::evaluate(&config, &snapshot, now), now)?;
                }
            }
            Ok::<_, diesel::result::Error>(())
        })?;
        count += batch.len();
    }
    Ok(count)
}

/// The background re-check's pace (configuration).
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    /// A tenant is re-checked when its last check is older than this.
    pub every: Duration,
    /// At most this many WeChat API calls per minute for background checks.
    pub calls_per_minute: u32,
}

/// WeChat calls one check may make: the seven reads and, when the authorizer's access
/// token has expired, one refresh. Pacing counts the refresh too, so the rate holds even
/// when every token is stale (as after a restart or a fresh load).
pub const CALLS_PER_CHECK: u32 = 8;

/// How far apart the sweep's jobs run, and how many fit in one sweep of `window`.
///
/// One check's worth of calls is held back: job times are whole seconds and rounds meet
/// at window boundaries, so a 60-second span can hold one check more than the spacing
/// alone gives; with the headroom even that span stays within the rate.
pub fn spacing(pace: Pace, window: Duration) -> (Duration, usize) {
    let checks_per_minute = (pace.calls_per_minute / CALLS_PER_CHECK).saturating_sub(1).max(1);
    let gap = Duration::from_secs_f64(60.0 / f64::from(checks_per_minute));
    let fit = (window.as_secs_f64() / gap.as_secs_f64()).floor() as usize;
    (gap, fit.max(1))
}

/// One round of the background re-check: queues the stalest tenants' checks, spread
/// evenly over what is left of the round's window so the call rate stays under the
/// configured pace, and queues the next round at the next window. Checks already queued
/// are not queued twice.
pub fn sweep(conn: &mut DbConn, pace: Pace, window: Duration, now: i64) -> diesel::QueryResult<usize> {
    let (gap, fit) = spacing(pace, window);
    let gap_ms = (gap.as_millis() as i64).max(1);
    // A round that starts late (the first after a start, or a busy worker) only fills the
    // rest of its window, so it never overlaps the next round's checks.
    let round_end = round_start(now, window) + window.as_secs() as i64;
    let left_ms = (round_end - now) * 1000;
    let count = (fit as i64).min((left_ms + gap_ms - 1) / gap_ms).max(1);
    let stale_before = now - pace.every.as_secs() as i64;
    db::write_tx(conn, |conn| {
        let due = store::stalest(conn, stale_before, count)?;
        let mut queued = 0;
        for (i, tenant_id) in due.iter().enumerate() {
            // Job times are whole seconds, rounded down: never later than the spacing, and
            // the headroom in `spacing` absorbs the rounding.
            let at = now + i as i64 * gap_ms / 1000;
            if jobs::enqueue(conn, &jobs::CheckRequirements { tenant_id: tenant_id.clone() }, Some(tenant_id), at, now)?
            {
                queued += 1;
            }
        }
        // The next round's key names its window. The running round still holds its own key
        // (keys are freed when a job completes), so a fixed key would refuse the next round
        // and end the chain; a key per window lets it through, and two chains (two
        // instances started at once) meet on the same key and merge.
        let next = round_start(now, window) + window.as_secs() as i64;
        jobs::enqueue(conn, &jobs::SweepRequirements, Some(&round_key(next)), next, now)?;
        Ok(queued)
    })
}

/// Queues the first round of the background re-check unless a round is already queued or
/// running (another instance's, or one left from before a restart).
pub fn start_sweeping(conn: &mut DbConn, window: Duration, now: i64) -> diesel::QueryResult<bool> {
    db::write_tx(conn, |conn| {
        if jobs::pending_of_kind(conn, <jobs::SweepRequirements as jobs::JobKind>::NAME)? > 0 {
            return Ok(false);
        }
        jobs::enqueue(conn, &jobs::SweepRequirements, Some(&round_key(round_start(now, window))), now, now)
    })
}

/// The start of the window `now` falls in (windows are aligned to the Unix epoch).
fn round_start(now: i64, window: Duration) -> i64 {
    let w = (window.as_secs() as i64).max(1);
    now.div_euclid(w) * w
}

fn round_key(start: i64) -> String {
    format!("round:{start}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sweep_spaces_checks_to_stay_under_the_rate() {
        let pace = Pace { every: Duration::from_secs(86_400), calls_per_minute: 88 };
        let (gap, fit) = spacing(pace, Duration::from_secs(60));
        assert_eq!(gap, Duration::from_secs(6));
        assert_eq!(fit, 10);
        let fit_calls = fit as u32 * CALLS_PER_CHECK;
        assert!(fit_calls <= pace.calls_per_minute);
        assert!(fit_calls + CALLS_PER_CHECK <= pace.calls_per_minute, "room for one check across a boundary");
    }

    #[test]
    fn a_pace_below_one_check_a_minute_still_checks_one() {
        let pace = Pace { every: Duration::from_secs(3600), calls_per_minute: 3 };
        let (gap, fit) = spacing(pace, Duration::from_secs(60));
        assert_eq!((gap, fit), (Duration::from_secs(60), 1));
    }
}
