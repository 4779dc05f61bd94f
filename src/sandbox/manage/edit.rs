//! Setting a mini program's management state by hand, as the sandbox's administrator:
//! the JSON of `POST /sandbox/dev/accounts/{appid}/settings` and the human page's form
//! both become one [`MpEdit`], applied in one transaction by [`apply`]. A state that
//! waits for the reviewer (plugin 1, category 1, interface 3, a name under review) gets
//! a pending review; a state set otherwise replaces the pending one.

use serde_json::{Map, Value};

use super::catalog;
use super::review::{self, CATEGORY, NICKNAME, PLUGIN, PRIVACY_INTERFACE};
use super::rules::{self, DomainList, PrivacySetting};
use super::state::{self, InterfaceChange, SettingsChange};
use crate::db::DbConn;
use crate::sandbox::store::{self, AccountEdit};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginEdit {
    pub appid: String,
    pub status: i32,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryEdit {
    pub first: i64,
    pub second: i64,
    pub audit_status: i32,
    pub audit_reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceEdit {
    pub api_name: String,
    pub status: i32,
    pub fail_reason: String,
}

/// What to change; `None` leaves a part as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MpEdit {
    pub nickname: Option<String>,
    pub principal_name: Option<String>,
    pub signature: Option<String>,
    pub head_image_url: Option<String>,
    pub nickname_under_review: Option<Option<String>>,
    pub verified: Option<bool>,
    pub annual_review_end_time: Option<Option<i64>>,
    pub icp_status: Option<i32>,
    pub plugins: Option<Vec<PluginEdit>>,
    pub categories: Option<Vec<CategoryEdit>>,
    pub requestdomain: Option<Vec<String>>,
    pub privacy_interfaces: Option<Vec<InterfaceEdit>>,
    pub privacy_setting: Option<Option<PrivacySetting>>,
}

/// How long before the deadline the annual-review window opens.
const ANNUAL_REVIEW_WINDOW_SECS: i64 = 90 * 86400;

fn plugin_appid_ok(appid: &str) -> bool {
    appid.len() == 18 && appid.starts_with("wx") && appid[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

fn name_ok(name: &str) -> bool {
    let n = name.chars().count();
    (1..=60).contains(&n)
}

fn url_ok(url: &str) -> bool {
    url.is_empty() || ((url.starts_with("https://") || url.starts_with("http://")) && url.len() <= 500)
}

/// The plugin edit, checked.
pub fn plugin_edit(appid: &str, status: i64, reason: &str) -> Result<PluginEdit, String> {
    if !plugin_appid_ok(appid) {
        return Err(format!("plugins: {appid:?} is not a plugin AppID (wx and 16 hexadecimal digits)"));
    }
    let status = i32::try_from(status).ok().filter(|s| (1..=4).contains(s));
    let status = status.ok_or_else(|| format!("plugins: the status of {appid} must be 1, 2, 3 or 4"))?;
    Ok(PluginEdit { appid: appid.to_string(), status, reason: reason.trim().to_string() })
}

/// The category edit, checked against the catalogue.
pub fn category_edit(first: i64, second: i64, audit_status: i64, reason: &str) -> Result<CategoryEdit, String> {
    if catalog::category(first, second).is_none() {
        return Err(format!("categories: {first} > {second} is not in the sandbox's category tree"));
    }
    let status = i32::try_from(audit_status).ok().filter(|s| (1..=3).contains(s));
    let status = status.ok_or_else(|| format!("categories: audit_status of {first}:{second} must be 1, 2 or 3"))?;
    Ok(CategoryEdit { first, second, audit_status: status, audit_reason: reason.trim().to_string() })
}

/// The interface edit, checked against the catalogue.
pub fn interface_edit(api_name: &str, status: i64, fail_reason: &str) -> Result<InterfaceEdit, String> {
    if catalog::privacy_api(api_name).is_none() {
        return Err(format!("privacy_interfaces: {api_name:?} is not an interface that needs applying"));
    }
    let status = i32::try_from(status).ok().filter(|s| (1..=5).contains(s));
    let status = status.ok_or_else(|| format!("privacy_interfaces: the status of {api_name} must be 1 to 5"))?;
    Ok(InterfaceEdit { api_name: api_name.to_string(), status, fail_reason: fail_reason.trim().to_string() })
}

pub fn icp_ok(status: i64) -> Option<i32> {
    i32::try_from(status).ok().filter(|s| catalog::ICP_STATUSES.contains(s))
}

/// Reads the JSON of `POST /sandbox/dev/accounts/{appid}/settings`; every field is
/// optional and unknown fields are refused. `Err` is the 400 answer's message.
pub fn parse_json(body: &Map<String, Value>, now: i64) -> Result<MpEdit, String> {
    fn string(v: &Value, field: &str) -> Result<String, String> {
        v.as_str().map(|s| s.trim().to_string()).ok_or_else(|| format!("{field} must be a string"))
    }
    fn int(v: &Value, field: &str) -> Result<i64, String> {
        v.as_i64().ok_or_else(|| format!("{field} must be a whole number"))
    }
    fn array<'a>(v: &'a Value, field: &str) -> Result<&'a Vec<Value>, String> {
        v.as_array().ok_or_else(|| format!("{field} must be an array"))
    }
    fn opt_str<'a>(item: &'a Value, key: &str) -> &'a str {
        item.get(key).and_then(Value::as_str).unwrap_or_default()
    }
    let mut edit = MpEdit::default();
    for (key, v) in body {
        match key.as_str() {
            "nickname" => {
                let name = string(v, key)?;
                if !name_ok(&name) {
                    return Err("nickname must have 1 to 60 characters".into());
                }
                edit.nickname = Some(name);
            }
            "signature" => {
                let s = string(v, key)?;
                if s.chars().count() > 120 {
                    return Err("signature must have at most 120 characters".into());
                }
                edit.signature = Some(s);
            }
            "head_image_url" => {
                let url = string(v, key)?;
                if !url_ok(&url) {
                    return Err("head_image_url must be empty or an http(s) URL".into());
                }
                edit.head_image_url = Some(url);
            }
            "nickname_under_review" => {
                edit.nickname_under_review = Some(match v {
                    Value::Null => None,
                    _ => {
                        let name = string(v, key)?;
                        if !name_ok(&name) {
                            return Err("nickname_under_review must have 1 to 60 characters".into());
                        }
                        Some(name)
                    }
                });
            }
            "verified" => edit.verified = Some(v.as_bool().ok_or("verified must be true or false")?),
            "annual_review_end_time" => {
                edit.annual_review_end_time = Some(match v {
                    Value::Null => None,
                    _ => Some(int(v, key)?),
                });
            }
            "icp_status" => {
                let s = int(v, key)?;
                edit.icp_status = Some(icp_ok(s).ok_or_else(|| format!("icp_status {s} is not a WeChat ICP status"))?);
            }
            "plugins" => {
                let mut out = Vec::new();
                for item in array(v, key)? {
                    let status = item.get("status").map(|s| int(s, "plugins[].status")).transpose()?.unwrap_or(0);
                    out.push(plugin_edit(opt_str(item, "appid"), status, opt_str(item, "reason"))?);
                }
                edit.plugins = Some(out);
            }
            "categories" => {
                let mut out = Vec::new();
                for item in array(v, key)? {
                    let field = |k: &str| item.get(k).map(|x| int(x, &format!("categories[].{k}"))).transpose();
                    let (first, second) = (field("first")?.unwrap_or(0), field("second")?.unwrap_or(0));
                    let status = field("audit_status")?.unwrap_or(0);
                    out.push(category_edit(first, second, status, opt_str(item, "audit_reason"))?);
                }
                edit.categories = Some(out);
            }
            "requestdomain" => {
                let mut out: Vec<String> = Vec::new();
                for item in array(v, key)? {
                    let entry = string(item, "requestdomain[]")?;
                    let (stored, _) = rules::server_domain(DomainList::Request, &entry)
                        .map_err(|_| format!("requestdomain: {entry:?} is not an https:// domain WeChat accepts"))?;
                    if !out.contains(&stored) {
                        out.push(stored);
                    }
                }
                if out.len() > rules::MAX_DOMAINS_PER_LIST {
                    return Err("requestdomain: at most 200 domains".into());
                }
                edit.requestdomain = Some(out);
            }
            "privacy_interfaces" => {
                let mut out = Vec::new();
                for item in array(v, key)? {
                    let status =
                        item.get("status").map(|s| int(s, "privacy_interfaces[].status")).transpose()?.unwrap_or(0);
                    out.push(interface_edit(opt_str(item, "api_name"), status, opt_str(item, "fail_reason"))?);
                }
                edit.privacy_interfaces = Some(out);
            }
            "privacy_setting" => {
                edit.privacy_setting = Some(match v {
                    Value::Null => None,
                    Value::Object(o) => Some(
                        rules::privacy_setting(o, now)
                            .map_err(|code| format!("privacy_setting: refused as setprivacysetting would ({code})"))?,
                    ),
                    _ => return Err("privacy_setting must be null or a setprivacysetting body".into()),
                });
            }
            other => return Err(format!("unknown field {other:?}")),
        }
    }
    Ok(edit)
}

/// Reads the page's text lines `first / second` with an optional `: audit_status` and
/// `: reason` (names in Chinese or English, or ids; status 3 when omitted).
pub fn parse_categories_text(text: &str) -> Result<Vec<CategoryEdit>, String> {
    let mut out: Vec<CategoryEdit> = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let mut parts = line.splitn(3, [':', '：']);
        let pair = parts.next().unwrap_or_default();
        let status = parts.next().map(str::trim).filter(|s| !s.is_empty()).unwrap_or("3");
        let reason = parts.next().unwrap_or_default();
        let (first, second) = pair.split_once('/').or_else(|| pair.split_once('>')).ok_or_else(|| line.to_string())?;
        let (f, s) = catalog::category_by_name(first, second).ok_or_else(|| line.to_string())?;
        let status: i64 = status.parse().map_err(|_| line.to_string())?;
        let edit = category_edit(f.id, s.id, status, reason).map_err(|_| line.to_string())?;
        out.retain(|c| (c.first, c.second) != (edit.first, edit.second));
        out.push(edit);
    }
    Ok(out)
}

/// The page's text of the categories, one `first / second : status` per line.
pub fn categories_text(categories: &[state::CategoryRow]) -> String {
    categories
        .iter()
        .map(|c| {
            let (f, s) = c.names();
            if c.audit_reason.is_empty() {
                format!("{f} / {s} : {}", c.audit_status)
            } else {
                format!("{f} / {s} : {} : {}", c.audit_status, c.audit_reason)
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Reads the page's text lines `appid` with an optional `: status` and `: reason`
/// (status 2 when omitted).
pub fn parse_plugins_text(text: &str) -> Result<Vec<PluginEdit>, String> {
    let mut out: Vec<PluginEdit> = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let mut parts = line.splitn(3, [':', '：']);
        let appid = parts.next().unwrap_or_default().trim();
        let status = parts.next().map(str::trim).filter(|s| !s.is_empty()).unwrap_or("2");
        let status: i64 = status.parse().map_err(|_| line.to_string())?;
        let edit = plugin_edit(appid, status, parts.next().unwrap_or_default()).map_err(|_| line.to_string())?;
        out.retain(|p| p.appid != edit.appid);
        out.push(edit);
    }
    Ok(out)
}

pub fn plugins_text(plugins: &[state::PluginRow]) -> String {
    plugins
        .iter()
        .map(|p| {
            if p.reason.is_empty() {
                format!("{} : {}", p.plugin_appid, p.status)
            } else {
                format!("{} : {} : {}", p.plugin_appid, p.status, p.reason)
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Reads request domains, one per line.
pub fn parse_domains_text(text: &str) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (stored, _) = rules::server_domain(DomainList::Request, line).map_err(|_| line.to_string())?;
        if !out.contains(&stored) {
            out.push(stored);
        }
    }
    if out.len() > rules::MAX_DOMAINS_PER_LIST {
        return Err("200".into());
    }
    Ok(out)
}

/// Why an edit could not be applied.
#[derive(Debug)]
pub enum EditError {
    /// No such mini program.
    NotFound,
    Db(diesel::result::Error),
}

impl From<diesel::result::Error> for EditError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Db(e)
    }
}

/// Applies an edit. Call inside one write transaction.
pub fn apply(conn: &mut DbConn, appid: &str, edit: &MpEdit, now: i64) -> Result<(), EditError> {
    let account =
        store::find_account(conn, appid)?.filter(store::Account::is_mini_program).ok_or(EditError::NotFound)?;
    let account_edit = AccountEdit {
        nick_name: edit.nickname.clone(),
        head_img: edit.head_image_url.clone(),
        verified: edit.verified,
        principal_name: edit.principal_name.clone(),
        signature: edit.signature.clone(),
        account_status: None,
    };
    store::update_account(conn, appid, &account_edit, now)?;

    let mut change = SettingsChange { icp_status: edit.icp_status, ..Default::default() };
    if let Some(end) = edit.annual_review_end_time {
        change.annual_review_end = Some(end);
        change.annual_review_begin = Some(end.map(|e| e - ANNUAL_REVIEW_WINDOW_SECS));
    }
    if let Some(setting) = &edit.privacy_setting {
        change.privacy_setting = Some(state::privacy_json(setting.as_ref()));
    }
    state::update_settings(conn, appid, &change, now)?;

    if let Some(pending) = &edit.nickname_under_review {
        set_pending_nickname(conn, appid, pending.as_deref(), now)?;
    }
    if let Some(plugins) = &edit.plugins {
        let previous = state::plugins(conn, appid)?;
        for old in &previous {
            if !plugins.iter().any(|p| p.appid == old.plugin_appid) {
                state::drop_pending(conn, appid, PLUGIN, Some(&old.plugin_appid))?;
            }
        }
        state::delete_all_plugins(conn, appid)?;
        for p in plugins {
            // A plugin kept in its state keeps its application time.
            let kept = previous.iter().find(|o| o.plugin_appid == p.appid && o.status == p.status);
            let apply_time = kept.map_or(now, |o| o.apply_time);
            state::put_plugin(conn, appid, &p.appid, p.status, &p.reason, Some(apply_time), now)?;
            follow_queue(conn, appid, PLUGIN, &p.appid, p.status == 1, now)?;
        }
    }
    if let Some(categories) = &edit.categories {
        for old in state::categories(conn, appid)? {
            if !categories.iter().any(|c| (c.first, c.second) == (old.first, old.second)) {
                state::drop_pending(conn, appid, CATEGORY, Some(&old.subject()))?;
            }
        }
        let previous = state::categories(conn, appid)?;
        state::delete_all_categories(conn, appid)?;
        for c in categories {
            let kept = previous.iter().find(|p| (p.first, p.second) == (c.first, c.second));
            let certicates = kept.map_or_else(|| "[]".to_string(), |p| p.certicates.clone());
            let created_at = kept.map_or(now, |p| p.created_at);
            let new = state::NewCategory {
                first: c.first,
                second: c.second,
                audit_status: c.audit_status,
                audit_reason: &c.audit_reason,
                certicates: &certicates,
            };
            state::insert_category(conn, appid, &new, created_at)?;
            let subject = state::category_subject(c.first, c.second);
            follow_queue(conn, appid, CATEGORY, &subject, c.audit_status == 1, now)?;
        }
        state::follow_categories(conn, appid, now)?;
    }
    if let Some(entries) = &edit.requestdomain {
        state::set_domains(conn, &account, &[(DomainList::Request, entries.clone())], now)?;
    }
    if let Some(interfaces) = &edit.privacy_interfaces {
        let categories = state::categories(conn, appid)?;
        let current = state::interfaces(conn, appid, &categories)?;
        for i in interfaces {
            // The same status without a new reason keeps the interface as it is.
            let same = current.iter().any(|c| c.api.api_name == i.api_name && c.status == i.status);
            if same && i.fail_reason.is_empty() {
                continue;
            }
            let fail_reason = match (i.status, i.fail_reason.is_empty()) {
                (2, true) => catalog::NO_CATEGORY_REASON,
                (2 | 4, false) => i.fail_reason.as_str(),
                _ => "",
            };
            let pending = state::has_pending(conn, appid, PRIVACY_INTERFACE, &i.api_name)?;
            if i.status == 3 && !pending {
                let audit_id = review::new_audit_id();
                let change = InterfaceChange { status: 3, fail_reason: "", application: Some((now, audit_id, "")) };
                state::put_interface(conn, appid, &i.api_name, &change, now)?;
                review::queue(conn, PRIVACY_INTERFACE, appid, &i.api_name, Some(audit_id), now)?;
            } else {
                let change = InterfaceChange { status: i.status, fail_reason, application: None };
                state::put_interface(conn, appid, &i.api_name, &change, now)?;
                if i.status != 3 {
                    state::drop_pending(conn, appid, PRIVACY_INTERFACE, Some(&i.api_name))?;
                }
            }
        }
    }
    Ok(())
}

/// Keeps one pending review for a subject that waits for the reviewer, none otherwise.
fn follow_queue(
    conn: &mut DbConn,
    appid: &str,
    kind: &str,
    subject: &str,
    waits: bool,
    now: i64,
) -> diesel::QueryResult<()> {
    if !waits {
        state::drop_pending(conn, appid, kind, Some(subject))?;
    } else if !state::has_pending(conn, appid, kind, subject)? {
        review::queue(conn, kind, appid, subject, None, now)?;
    }
    Ok(())
}

/// Puts a name under review (queued for the reviewer), or withdraws it.
pub fn set_pending_nickname(conn: &mut DbConn, appid: &str, name: Option<&str>, now: i64) -> diesel::QueryResult<()> {
    let current = state::settings(conn, appid)?.nickname_pending;
    if current.as_deref() == name {
        match name {
            None => return Ok(()),
            Some(n) if state::has_pending(conn, appid, NICKNAME, n)? => return Ok(()),
            Some(_) => {}
        }
    }
    state::drop_pending(conn, appid, NICKNAME, None)?;
    let change = SettingsChange { nickname_pending: Some(name.map(str::to_string)), ..Default::default() };
    state::update_settings(conn, appid, &change, now)?;
    if let Some(n) = name {
        review::queue(conn, NICKNAME, appid, n, None, now)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(v: Value) -> Result<MpEdit, String> {
        parse_json(v.as_object().unwrap(), 100)
    }

    #[test]
    fn the_dev_json_is_checked_field_by_field() {
        let e = parse(json!({
            "nickname": "Acme", "nickname_under_review": null, "annual_review_end_time": 5, "icp_status": 1024,
            "plugins": [{ "appid": "wx069ba97219f66d99", "status": 2 }],
            "categories": [{ "first": 7, "second": 70, "audit_status": 3 }],
            "requestdomain": ["https://A.example.com", "https://a.example.com"],
            "privacy_interfaces": [{ "api_name": "wx.getLocation", "status": 5 }],
            "privacy_setting": null,
        }))
        .unwrap();
        assert_eq!(e.nickname_under_review, Some(None));
        assert_eq!(e.annual_review_end_time, Some(Some(5)));
        assert_eq!(e.requestdomain, Some(vec!["https://a.example.com".to_string()]));
        assert_eq!(e.privacy_setting, Some(None));
        assert_eq!(parse(json!({})).unwrap(), MpEdit::default());
        for bad in [
            json!({ "nick_name": "x" }),
            json!({ "nickname": "" }),
            json!({ "icp_status": 7 }),
            json!({ "plugins": [{ "appid": "nope", "status": 2 }] }),
            json!({ "plugins": [{ "appid": "wx069ba97219f66d99", "status": 9 }] }),
            json!({ "categories": [{ "first": 7, "second": 305, "audit_status": 3 }] }),
            json!({ "requestdomain": ["http://a.example.com"] }),
            json!({ "privacy_interfaces": [{ "api_name": "wx.request", "status": 1 }] }),
            json!({ "privacy_setting": { "owner_setting": {} } }),
            json!({ "verified": "yes" }),
        ] {
            assert!(parse(bad.clone()).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_page_text_lists_round_trip() {
        let cats = parse_categories_text(
            "IT科技 / 软件服务提供商\nMerchant Self-operated > Food : 1\n商家自营/食品 : 2 : 资质不清晰",
        )
        .unwrap();
        assert_eq!(cats.len(), 2);
        assert_eq!((cats[0].first, cats[0].second, cats[0].audit_status), (7, 70, 3));
        assert_eq!((cats[1].second, cats[1].audit_status, cats[1].audit_reason.as_str()), (307, 2, "资质不清晰"));
        assert!(parse_categories_text("Nowhere / Nothing").is_err());
        let plugins = parse_plugins_text("wx069ba97219f66d99\nwx76a9a06e5b4e693e : 3 : 不符合").unwrap();
        assert_eq!((plugins[0].status, plugins[1].status, plugins[1].reason.as_str()), (2, 3, "不符合"));
        assert!(parse_plugins_text("wx1 : 2").is_err());
        assert_eq!(parse_domains_text("https://a.example.com\n\nhttps://b.example.com").unwrap().len(), 2);
        assert!(parse_domains_text("a.example.com").is_err());
    }
}
