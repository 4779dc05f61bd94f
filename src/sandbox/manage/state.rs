//! Every query of a mini program's management state and of the reviewer's queue (the
//! tables of `migrations/sandbox/*/2026-11-24-000002_manage`). Functions take
//! `&mut DbConn`; callers wrap state changes in [`crate::db::write_tx`].
//!
//! Name, icon, introduction, verification and the server domains stay in
//! `sandbox_accounts` (`nick_name`, `head_img`, `signature`, `verified`, `network`);
//! everything else has its own table here.

use diesel::prelude::*;
use serde::Serialize;
use serde_json::{Map, Value};

use super::catalog;
use super::rules::{DomainList, PrivacySetting};
use crate::db::DbConn;
use crate::sandbox::schema::*;
use crate::sandbox::store::{self, Account};

// ---- per-account settings ----

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sandbox_mp_settings)]
pub struct Settings {
    pub appid: String,
    pub nickname_pending: Option<String>,
    pub nickname_used: i32,
    pub signature_used: i32,
    pub head_image_used: i32,
    pub annual_review_begin: Option<i64>,
    pub annual_review_end: Option<i64>,
    pub icp_status: i32,
    pub category_period: String,
    pub category_adds: i32,
    pub privacy_setting: Option<String>,
    pub updated_at: i64,
}

impl Settings {
    fn default_for(appid: &str) -> Self {
        Self {
            appid: appid.to_string(),
            nickname_pending: None,
            nickname_used: 0,
            signature_used: 0,
            head_image_used: 0,
            annual_review_begin: None,
            annual_review_end: None,
            icp_status: 1024,
            category_period: String::new(),
            category_adds: 0,
            privacy_setting: None,
            updated_at: 0,
        }
    }

    pub fn privacy(&self) -> Option<PrivacySetting> {
        self.privacy_setting.as_deref().and_then(|s| serde_json::from_str(s).ok())
    }

    /// Categories added in the change period `period` (a `YYYY-MM` month).
    pub fn category_adds_in(&self, period: &str) -> i32 {
        if self.category_period == period { self.category_adds } else { 0 }
    }
}

/// The account's settings (defaults when it never had any).
pub fn settings(conn: &mut DbConn, appid: &str) -> QueryResult<Settings> {
    let found = sandbox_mp_settings::table.find(appid).select(Settings::as_select()).first(conn).optional()?;
    Ok(found.unwrap_or_else(|| Settings::default_for(appid)))
}

/// Creates the settings row with defaults when it is missing.
fn ensure_settings(conn: &mut DbConn, appid: &str, now: i64) -> QueryResult<()> {
    let exists = sandbox_mp_settings::table.find(appid).count().get_result::<i64>(conn)? > 0;
    if !exists {
        diesel::insert_into(sandbox_mp_settings::table)
            .values((
                sandbox_mp_settings::appid.eq(appid),
                sandbox_mp_settings::icp_status.eq(1024),
                sandbox_mp_settings::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Changes to the settings; `None` leaves a field as it is (`Some(None)` clears a
/// nullable one).
#[derive(Debug, Default, Clone, AsChangeset)]
#[diesel(table_name = sandbox_mp_settings)]
pub struct SettingsChange {
    pub nickname_pending: Option<Option<String>>,
    pub nickname_used: Option<i32>,
    pub signature_used: Option<i32>,
    pub head_image_used: Option<i32>,
    pub annual_review_begin: Option<Option<i64>>,
    pub annual_review_end: Option<Option<i64>>,
    pub icp_status: Option<i32>,
    pub category_period: Option<String>,
    pub category_adds: Option<i32>,
    pub privacy_setting: Option<Option<String>>,
}

pub fn update_settings(conn: &mut DbConn, appid: &str, change: &SettingsChange, now: i64) -> QueryResult<()> {
    ensure_settings(conn, appid, now)?;
    diesel::update(sandbox_mp_settings::table.find(appid))
        .set((change, sandbox_mp_settings::updated_at.eq(now)))
        .execute(conn)
        .map(|_| ())
}

pub fn privacy_json(setting: Option<&PrivacySetting>) -> Option<String> {
    setting.and_then(|s| serde_json::to_string(s).ok())
}

// ---- server domains (sandbox_accounts.network) ----

/// The six `modify_domain` lists as the account holds them.
pub fn domains(account: &Account) -> Vec<(DomainList, Vec<String>)> {
    let network = serde_json::from_str::<Map<String, Value>>(&account.network).unwrap_or_default();
    DomainList::ALL
        .iter()
        .map(|&list| {
            let entries = network
                .get(list.network_key())
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
                .unwrap_or_default();
            (list, entries)
        })
        .collect()
}

/// Replaces the six lists, keeping the rest of `network` (the business domains).
pub fn set_domains(
    conn: &mut DbConn,
    account: &Account,
    lists: &[(DomainList, Vec<String>)],
    now: i64,
) -> QueryResult<()> {
    let mut network = serde_json::from_str::<Map<String, Value>>(&account.network).unwrap_or_default();
    for (list, entries) in lists {
        network.insert(list.network_key().to_string(), Value::from(entries.clone()));
    }
    network.entry("BizDomain").or_insert_with(|| Value::Array(Vec::new()));
    let json = Value::Object(network).to_string();
    diesel::update(sandbox_accounts::table.find(&account.appid))
        .set((sandbox_accounts::network.eq(json), sandbox_accounts::updated_at.eq(now)))
        .execute(conn)
        .map(|_| ())
}

// ---- plugins ----

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = sandbox_mp_plugins)]
pub struct PluginRow {
    #[serde(skip)]
    pub appid: String,
    pub plugin_appid: String,
    pub status: i32,
    pub reason: String,
    pub apply_time: i64,
    pub updated_at: i64,
}

pub fn plugins(conn: &mut DbConn, appid: &str) -> QueryResult<Vec<PluginRow>> {
    sandbox_mp_plugins::table
        .filter(sandbox_mp_plugins::appid.eq(appid))
        .select(PluginRow::as_select())
        .order((sandbox_mp_plugins::apply_time.asc(), sandbox_mp_plugins::plugin_appid.asc()))
        .load(conn)
}

pub fn plugin(conn: &mut DbConn, appid: &str, plugin_appid: &str) -> QueryResult<Option<PluginRow>> {
    sandbox_mp_plugins::table.find((appid, plugin_appid)).select(PluginRow::as_select()).first(conn).optional()
}

/// Records a plugin's state (a new application when `apply_time` is given).
pub fn put_plugin(
    conn: &mut DbConn,
    appid: &str,
    plugin_appid: &str,
    status: i32,
    reason: &str,
    apply_time: Option<i64>,
    now: i64,
) -> QueryResult<()> {
    let updated = match apply_time {
        Some(t) => diesel::update(sandbox_mp_plugins::table.find((appid, plugin_appid)))
            .set((
                sandbox_mp_plugins::status.eq(status),
                sandbox_mp_plugins::reason.eq(reason),
                sandbox_mp_plugins::apply_time.eq(t),
                sandbox_mp_plugins::updated_at.eq(now),
            ))
            .execute(conn)?,
        None => diesel::update(sandbox_mp_plugins::table.find((appid, plugin_appid)))
            .set((
                sandbox_mp_plugins::status.eq(status),
                sandbox_mp_plugins::reason.eq(reason),
                sandbox_mp_plugins::updated_at.eq(now),
            ))
            .execute(conn)?,
    };
    if updated == 0 {
        diesel::insert_into(sandbox_mp_plugins::table)
            .values((
                sandbox_mp_plugins::appid.eq(appid),
                sandbox_mp_plugins::plugin_appid.eq(plugin_appid),
                sandbox_mp_plugins::status.eq(status),
                sandbox_mp_plugins::reason.eq(reason),
                sandbox_mp_plugins::apply_time.eq(apply_time.unwrap_or(now)),
                sandbox_mp_plugins::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn delete_plugin(conn: &mut DbConn, appid: &str, plugin_appid: &str) -> QueryResult<usize> {
    diesel::delete(sandbox_mp_plugins::table.find((appid, plugin_appid))).execute(conn)
}

pub fn delete_all_plugins(conn: &mut DbConn, appid: &str) -> QueryResult<usize> {
    diesel::delete(sandbox_mp_plugins::table.filter(sandbox_mp_plugins::appid.eq(appid))).execute(conn)
}

// ---- service categories ----

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sandbox_mp_categories)]
pub struct CategoryRow {
    pub appid: String,
    pub first: i64,
    pub second: i64,
    pub audit_status: i32,
    pub audit_reason: String,
    pub certicates: String,
    pub created_at: i64,
}

impl CategoryRow {
    pub fn subject(&self) -> String {
        category_subject(self.first, self.second)
    }

    /// Names from the catalogue (the ids when it does not know them).
    pub fn names(&self) -> (String, String) {
        match catalog::category(self.first, self.second) {
            Some((f, s)) => (f.name.to_string(), s.name.to_string()),
            None => (self.first.to_string(), self.second.to_string()),
        }
    }
}

/// The review subject of a category: `first:second`.
pub fn category_subject(first: i64, second: i64) -> String {
    format!("{first}:{second}")
}

pub fn parse_category_subject(subject: &str) -> Option<(i64, i64)> {
    let (a, b) = subject.split_once(':')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

pub fn categories(conn: &mut DbConn, appid: &str) -> QueryResult<Vec<CategoryRow>> {
    sandbox_mp_categories::table
        .filter(sandbox_mp_categories::appid.eq(appid))
        .select(CategoryRow::as_select())
        .order((
            sandbox_mp_categories::created_at.asc(),
            sandbox_mp_categories::first.asc(),
            sandbox_mp_categories::second.asc(),
        ))
        .load(conn)
}

pub fn category(conn: &mut DbConn, appid: &str, first: i64, second: i64) -> QueryResult<Option<CategoryRow>> {
    sandbox_mp_categories::table.find((appid, first, second)).select(CategoryRow::as_select()).first(conn).optional()
}

/// A category as it is added.
pub struct NewCategory<'a> {
    pub first: i64,
    pub second: i64,
    pub audit_status: i32,
    pub audit_reason: &'a str,
    /// The `certicates` given, as JSON.
    pub certicates: &'a str,
}

/// Adds a category, as added at `created_at`.
pub fn insert_category(conn: &mut DbConn, appid: &str, c: &NewCategory<'_>, created_at: i64) -> QueryResult<()> {
    diesel::insert_into(sandbox_mp_categories::table)
        .values((
            sandbox_mp_categories::appid.eq(appid),
            sandbox_mp_categories::first.eq(c.first),
            sandbox_mp_categories::second.eq(c.second),
            sandbox_mp_categories::audit_status.eq(c.audit_status),
            sandbox_mp_categories::audit_reason.eq(c.audit_reason),
            sandbox_mp_categories::certicates.eq(c.certicates),
            sandbox_mp_categories::created_at.eq(created_at),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn set_category_status(
    conn: &mut DbConn,
    appid: &str,
    first: i64,
    second: i64,
    audit_status: i32,
    audit_reason: &str,
) -> QueryResult<usize> {
    diesel::update(sandbox_mp_categories::table.find((appid, first, second)))
        .set((
            sandbox_mp_categories::audit_status.eq(audit_status),
            sandbox_mp_categories::audit_reason.eq(audit_reason),
        ))
        .execute(conn)
}

pub fn delete_category(conn: &mut DbConn, appid: &str, first: i64, second: i64) -> QueryResult<usize> {
    diesel::delete(sandbox_mp_categories::table.find((appid, first, second))).execute(conn)
}

pub fn delete_all_categories(conn: &mut DbConn, appid: &str) -> QueryResult<usize> {
    diesel::delete(sandbox_mp_categories::table.filter(sandbox_mp_categories::appid.eq(appid))).execute(conn)
}

/// Whether an approved category lets the account apply for the location interfaces.
pub fn location_allowed(categories: &[CategoryRow]) -> bool {
    categories
        .iter()
        .any(|c| c.audit_status == 3 && catalog::category(c.first, c.second).is_some_and(|(_, s)| s.allows_location))
}

// ---- privacy interfaces ----

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sandbox_mp_privacy_interfaces)]
pub struct InterfaceRow {
    pub appid: String,
    pub api_name: String,
    pub status: i32,
    pub fail_reason: String,
    pub apply_time: Option<i64>,
    pub audit_id: Option<i64>,
    pub content: String,
    pub updated_at: i64,
}

/// An interface as `get_privacy_interface` shows it.
#[derive(Debug, Clone)]
pub struct Interface {
    pub api: &'static catalog::PrivacyApi,
    pub status: i32,
    pub fail_reason: String,
    pub apply_time: Option<i64>,
    pub audit_id: Option<i64>,
}

/// Every interface of the catalogue for the account. An interface that was never set
/// follows the categories: 1 (may apply) with an approved category that allows it, 2
/// (no permission) without.
pub fn interfaces(conn: &mut DbConn, appid: &str, categories: &[CategoryRow]) -> QueryResult<Vec<Interface>> {
    let rows: Vec<InterfaceRow> = sandbox_mp_privacy_interfaces::table
        .filter(sandbox_mp_privacy_interfaces::appid.eq(appid))
        .select(InterfaceRow::as_select())
        .load(conn)?;
    let allowed = location_allowed(categories);
    Ok(catalog::PRIVACY_APIS
        .iter()
        .map(|api| match rows.iter().find(|r| r.api_name == api.api_name) {
            Some(r) => Interface {
                api,
                status: r.status,
                fail_reason: r.fail_reason.clone(),
                apply_time: r.apply_time,
                audit_id: r.audit_id,
            },
            None if allowed => {
                Interface { api, status: 1, fail_reason: String::new(), apply_time: None, audit_id: None }
            }
            None => Interface {
                api,
                status: 2,
                fail_reason: catalog::NO_CATEGORY_REASON.to_string(),
                apply_time: None,
                audit_id: None,
            },
        })
        .collect())
}

/// A change to one interface's row.
pub struct InterfaceChange<'a> {
    pub status: i32,
    pub fail_reason: &'a str,
    /// `Some` starts a new application (with its time, audit id and reason text).
    pub application: Option<(i64, i64, &'a str)>,
}

pub fn put_interface(
    conn: &mut DbConn,
    appid: &str,
    api_name: &str,
    change: &InterfaceChange<'_>,
    now: i64,
) -> QueryResult<()> {
    let t = sandbox_mp_privacy_interfaces::table.find((appid, api_name));
    let updated = match change.application {
        Some((apply_time, audit_id, content)) => diesel::update(t)
            .set((
                sandbox_mp_privacy_interfaces::status.eq(change.status),
                sandbox_mp_privacy_interfaces::fail_reason.eq(change.fail_reason),
                sandbox_mp_privacy_interfaces::apply_time.eq(Some(apply_time)),
                sandbox_mp_privacy_interfaces::audit_id.eq(Some(audit_id)),
                sandbox_mp_privacy_interfaces::content.eq(content),
                sandbox_mp_privacy_interfaces::updated_at.eq(now),
            ))
            .execute(conn)?,
        None => diesel::update(t)
            .set((
                sandbox_mp_privacy_interfaces::status.eq(change.status),
                sandbox_mp_privacy_interfaces::fail_reason.eq(change.fail_reason),
                sandbox_mp_privacy_interfaces::updated_at.eq(now),
            ))
            .execute(conn)?,
    };
    if updated == 0 {
        let (apply_time, audit_id, content) = match change.application {
            Some((t, id, c)) => (Some(t), Some(id), c),
            None => (None, None, ""),
        };
        diesel::insert_into(sandbox_mp_privacy_interfaces::table)
            .values((
                sandbox_mp_privacy_interfaces::appid.eq(appid),
                sandbox_mp_privacy_interfaces::api_name.eq(api_name),
                sandbox_mp_privacy_interfaces::status.eq(change.status),
                sandbox_mp_privacy_interfaces::fail_reason.eq(change.fail_reason),
                sandbox_mp_privacy_interfaces::apply_time.eq(apply_time),
                sandbox_mp_privacy_interfaces::audit_id.eq(audit_id),
                sandbox_mp_privacy_interfaces::content.eq(content),
                sandbox_mp_privacy_interfaces::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// After the categories changed: interfaces without permission (2) become available (1)
/// when an approved category now allows them, and available ones lose it when none does.
/// Interfaces under review, rejected or enabled keep their state.
pub fn follow_categories(conn: &mut DbConn, appid: &str, now: i64) -> QueryResult<()> {
    let allowed = location_allowed(&categories(conn, appid)?);
    let (from, to, reason) = if allowed { (2, 1, "") } else { (1, 2, catalog::NO_CATEGORY_REASON) };
    diesel::update(
        sandbox_mp_privacy_interfaces::table
            .filter(sandbox_mp_privacy_interfaces::appid.eq(appid))
            .filter(sandbox_mp_privacy_interfaces::status.eq(from)),
    )
    .set((
        sandbox_mp_privacy_interfaces::status.eq(to),
        sandbox_mp_privacy_interfaces::fail_reason.eq(reason),
        sandbox_mp_privacy_interfaces::updated_at.eq(now),
    ))
    .execute(conn)
    .map(|_| ())
}

// ---- the reviewer's queue ----

pub const KINDS: [&str; 5] = ["plugin", "privacy_interface", "category", "nickname", "code"];

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = sandbox_reviews)]
pub struct Review {
    pub id: String,
    pub kind: String,
    pub appid: String,
    pub subject: String,
    pub status: String,
    pub reason: String,
    pub audit_id: Option<i64>,
    pub created_at: i64,
    pub decided_at: Option<i64>,
    /// When a code review was delayed: it stays pending, and an automatic decision is due
    /// a delay after this instead of after `created_at`.
    pub delayed_at: Option<i64>,
}

impl Review {
    /// From when the reviewer's automatic delay counts.
    pub fn waiting_since(&self) -> i64 {
        self.delayed_at.unwrap_or(self.created_at)
    }
}

pub fn insert_review(
    conn: &mut DbConn,
    kind: &str,
    appid: &str,
    subject: &str,
    audit_id: Option<i64>,
    now: i64,
) -> QueryResult<Review> {
    let review = Review {
        id: crate::new_id(),
        kind: kind.to_string(),
        appid: appid.to_string(),
        subject: subject.to_string(),
        status: "pending".into(),
        reason: String::new(),
        audit_id,
        created_at: now,
        decided_at: None,
        delayed_at: None,
    };
    diesel::insert_into(sandbox_reviews::table)
        .values((
            sandbox_reviews::id.eq(&review.id),
            sandbox_reviews::kind.eq(kind),
            sandbox_reviews::appid.eq(appid),
            sandbox_reviews::subject.eq(subject),
            sandbox_reviews::status.eq("pending"),
            sandbox_reviews::reason.eq(""),
            sandbox_reviews::audit_id.eq(audit_id),
            sandbox_reviews::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(review)
}

pub fn review(conn: &mut DbConn, id: &str) -> QueryResult<Option<Review>> {
    sandbox_reviews::table.find(id).select(Review::as_select()).first(conn).optional()
}

/// The newest reviews first.
pub fn reviews(conn: &mut DbConn, limit: i64) -> QueryResult<Vec<Review>> {
    sandbox_reviews::table
        .select(Review::as_select())
        .order((sandbox_reviews::created_at.desc(), sandbox_reviews::id.desc()))
        .limit(limit)
        .load(conn)
}

/// Pending reviews waiting since `created_by` or earlier (created, or for a delayed code
/// review delayed, then), oldest first.
pub fn pending_reviews(conn: &mut DbConn, created_by: i64, limit: i64) -> QueryResult<Vec<Review>> {
    let waiting = sandbox_reviews::delayed_at
        .is_null()
        .and(sandbox_reviews::created_at.le(created_by))
        .or(sandbox_reviews::delayed_at.le(created_by));
    sandbox_reviews::table
        .filter(sandbox_reviews::status.eq("pending"))
        .filter(waiting)
        .select(Review::as_select())
        .order((sandbox_reviews::created_at.asc(), sandbox_reviews::id.asc()))
        .limit(limit)
        .load(conn)
}

/// Since when the longest-waiting pending review waits (see [`Review::waiting_since`]).
pub fn oldest_pending_at(conn: &mut DbConn) -> QueryResult<Option<i64>> {
    let created: Option<i64> = sandbox_reviews::table
        .filter(sandbox_reviews::status.eq("pending"))
        .filter(sandbox_reviews::delayed_at.is_null())
        .select(diesel::dsl::min(sandbox_reviews::created_at))
        .first(conn)?;
    let delayed: Option<i64> = sandbox_reviews::table
        .filter(sandbox_reviews::status.eq("pending"))
        .select(diesel::dsl::min(sandbox_reviews::delayed_at))
        .first(conn)?;
    Ok(created.into_iter().chain(delayed).min())
}

/// Removes the pending reviews of one subject (a state set by hand replaces them).
pub fn drop_pending(conn: &mut DbConn, appid: &str, kind: &str, subject: Option<&str>) -> QueryResult<usize> {
    let mut q = diesel::delete(sandbox_reviews::table)
        .filter(sandbox_reviews::appid.eq(appid.to_string()))
        .filter(sandbox_reviews::kind.eq(kind.to_string()))
        .filter(sandbox_reviews::status.eq("pending"))
        .into_boxed();
    if let Some(s) = subject {
        q = q.filter(sandbox_reviews::subject.eq(s.to_string()));
    }
    q.execute(conn)
}

pub fn has_pending(conn: &mut DbConn, appid: &str, kind: &str, subject: &str) -> QueryResult<bool> {
    let n: i64 = sandbox_reviews::table
        .filter(sandbox_reviews::appid.eq(appid))
        .filter(sandbox_reviews::kind.eq(kind))
        .filter(sandbox_reviews::subject.eq(subject))
        .filter(sandbox_reviews::status.eq("pending"))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Records a decision if the review is still pending; false when it was decided already.
pub fn claim_decision(conn: &mut DbConn, id: &str, status: &str, reason: &str, now: i64) -> QueryResult<bool> {
    let n = diesel::update(sandbox_reviews::table.find(id).filter(sandbox_reviews::status.eq("pending")))
        .set((
            sandbox_reviews::status.eq(status),
            sandbox_reviews::reason.eq(reason),
            sandbox_reviews::decided_at.eq(Some(now)),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

// ---- the platform's registered server domains ----

pub const TESTING: &str = "testing";
pub const PUBLISHED: &str = "published";

pub fn platform_domains(conn: &mut DbConn, list: &str) -> QueryResult<Vec<String>> {
    sandbox_platform_domains::table
        .filter(sandbox_platform_domains::list.eq(list))
        .select(sandbox_platform_domains::domain)
        .order(sandbox_platform_domains::domain.asc())
        .load(conn)
}

pub fn set_platform_domains(conn: &mut DbConn, list: &str, domains: &[String]) -> QueryResult<()> {
    diesel::delete(sandbox_platform_domains::table.filter(sandbox_platform_domains::list.eq(list))).execute(conn)?;
    let mut seen: Vec<&String> = Vec::new();
    for d in domains {
        if seen.contains(&d) {
            continue;
        }
        seen.push(d);
        diesel::insert_into(sandbox_platform_domains::table)
            .values((sandbox_platform_domains::list.eq(list), sandbox_platform_domains::domain.eq(d)))
            .execute(conn)?;
    }
    Ok(())
}

/// Every host on either list: the sandbox's mini programs count as the platform's test
/// accounts, to which the testing list applies, and the published list applies to all.
pub fn registered_hosts(conn: &mut DbConn) -> QueryResult<Vec<String>> {
    let mut all: Vec<String> = sandbox_platform_domains::table.select(sandbox_platform_domains::domain).load(conn)?;
    all.sort();
    all.dedup();
    Ok(all)
}

// ---- a whole account ----

/// A mini program's whole management state.
pub struct MpState {
    pub account: Account,
    pub settings: Settings,
    pub plugins: Vec<PluginRow>,
    pub categories: Vec<CategoryRow>,
    pub interfaces: Vec<Interface>,
    pub domains: Vec<(DomainList, Vec<String>)>,
}

impl MpState {
    pub fn domain_list(&self, list: DomainList) -> &[String] {
        self.domains.iter().find(|(l, _)| *l == list).map(|(_, d)| d.as_slice()).unwrap_or_default()
    }
}

/// The management state of a mini program; `None` for an unknown AppID or an official account.
pub fn load(conn: &mut DbConn, appid: &str) -> QueryResult<Option<MpState>> {
    let Some(account) = store::find_account(conn, appid)?.filter(Account::is_mini_program) else {
        return Ok(None);
    };
    let settings = settings(conn, appid)?;
    let plugins = plugins(conn, appid)?;
    let categories = categories(conn, appid)?;
    let interfaces = interfaces(conn, appid, &categories)?;
    let domains = domains(&account);
    Ok(Some(MpState { account, settings, plugins, categories, interfaces, domains }))
}
