//! WeChat's code-management rules as pure functions: the upload (draft) fields, `commit`'s
//! `ext_json`, `submit_audit`'s `item_list`, what the privacy scan finds, which version a
//! rollback reaches, the reviewer's automatic choice, and China-time days and months (the
//! withdrawal and quota periods reset at 00:00 UTC+8). Errors are WeChat's errcodes.

use serde_json::{Map, Value};

use crate::sandbox::manage::catalog;

/// Templates the platform's library holds at most (85065 beyond; reference §4.1).
pub const TEMPLATE_LIMIT: i64 = 200;
/// Withdrawals (`undocodeaudit`) a mini program may make per day and per month (87013).
pub const UNDOS_PER_DAY: i64 = 5;
pub const UNDOS_PER_MONTH: i64 = 10;
/// Releases and rollbacks kept in a mini program's history (reference §4.7).
pub const HISTORY_KEPT: i64 = 5;
/// The pages every template's code has (`get_page`, `item_list.address`).
pub const PAGES: [&str; 5] =
    ["pages/index/index", "pages/goods/list", "pages/goods/detail", "pages/order/list", "pages/mine/index"];
/// Longest `user_version` (reference §4.2) and upload description.
pub const MAX_VERSION_CHARS: usize = 64;
pub const MAX_DESC_CHARS: usize = 200;

/// Audit statuses (`get_auditstatus`).
pub const APPROVED: i32 = 0;
pub const REJECTED: i32 = 1;
pub const UNDER_REVIEW: i32 = 2;
pub const WITHDRAWN: i32 = 3;
pub const DELAYED: i32 = 4;

/// Whether a submission in this status still waits for the reviewer (85009, undo, speed-up).
pub fn in_review(status: i32) -> bool {
    status == UNDER_REVIEW || status == DELAYED
}

// ---- China time ----

const CHINA_OFFSET: i64 = 8 * 3600;
const DAY: i64 = 86_400;

/// When the China-time (UTC+8) day of `at` began, in Unix seconds.
pub fn china_day_start(at: i64) -> i64 {
    (at + CHINA_OFFSET).div_euclid(DAY) * DAY - CHINA_OFFSET
}

/// When the China-time month of `at` began, in Unix seconds.
pub fn china_month_start(at: i64) -> i64 {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp(at + CHINA_OFFSET) else { return china_day_start(at) };
    let first = t.date().replace_day(1).unwrap_or(t.date());
    first.midnight().assume_utc().unix_timestamp() - CHINA_OFFSET
}

/// The China-time month of `at` as `YYYY-MM` (the quota's period).
pub fn china_month(at: i64) -> String {
    let fmt = time::macros::format_description!("[year]-[month]");
    time::OffsetDateTime::from_unix_timestamp(at + CHINA_OFFSET)
        .ok()
        .and_then(|t| t.format(&fmt).ok())
        .unwrap_or_default()
}

// ---- drafts ----

/// A draft as the developers upload it from WeChat DevTools.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub user_version: String,
    pub user_desc: String,
    /// Privacy-sensitive interfaces the code calls, as `wx.getLocation`.
    pub privacy_apis: Vec<String>,
}

/// Why an upload was refused (the catalog key under `sandbox.err.`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadError {
    VersionRequired,
    VersionTooLong,
    DescTooLong,
    UnknownApi,
}

impl UploadError {
    pub fn key(self) -> &'static str {
        match self {
            Self::VersionRequired => "version_required",
            Self::VersionTooLong => "version_too_long",
            Self::DescTooLong => "desc_too_long",
            Self::UnknownApi => "privacy_api_unknown",
        }
    }

    /// The form field the error belongs beside.
    pub fn field(self) -> &'static str {
        match self {
            Self::VersionRequired | Self::VersionTooLong => "user_version",
            Self::DescTooLong => "user_desc",
            Self::UnknownApi => "privacy_apis",
        }
    }
}

/// A privacy interface by its name with or without `wx.`, as the catalogue spells it.
pub fn privacy_api(name: &str) -> Option<&'static str> {
    let name = name.trim();
    let bare = name.strip_prefix("wx.").unwrap_or(name);
    catalog::PRIVACY_APIS.iter().map(|a| a.api_name).find(|a| a.strip_prefix("wx.") == Some(bare))
}

/// Checks an upload: a version of 1 to 64 characters, a description of at most 200, and
/// only interfaces of the catalogue (duplicates dropped).
pub fn upload<'a>(
    user_version: &str,
    user_desc: &str,
    privacy_apis: impl IntoIterator<Item = &'a str>,
) -> Result<Upload, UploadError> {
    let user_version = user_version.trim();
    if user_version.is_empty() {
        return Err(UploadError::VersionRequired);
    }
    if user_version.chars().count() > MAX_VERSION_CHARS {
        return Err(UploadError::VersionTooLong);
    }
    let user_desc = user_desc.trim();
    if user_desc.chars().count() > MAX_DESC_CHARS {
        return Err(UploadError::DescTooLong);
    }
    let mut apis: Vec<String> = Vec::new();
    for name in privacy_apis.into_iter().map(str::trim).filter(|n| !n.is_empty()) {
        let api = privacy_api(name).ok_or(UploadError::UnknownApi)?;
        if !apis.iter().any(|a| a == api) {
            apis.push(api.to_string());
        }
    }
    Ok(Upload { user_version: user_version.to_string(), user_desc: user_desc.to_string(), privacy_apis: apis })
}

// ---- commit ----

/// What the sandbox reads of a committed `ext_json`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExtJson {
    /// `requiredPrivateInfos`, as given (`getLocation`, without `wx.`).
    pub required_private_infos: Vec<String>,
}

/// `commit`'s `ext_json`: a string (47001 when absent or not a string) holding a JSON
/// object (85048 otherwise) whose `extAppid`, when present, is the authorizer's AppID and
/// whose `requiredPrivateInfos`, when present, is a list of names (85013 otherwise).
pub fn ext_json(given: Option<&Value>, appid: &str) -> Result<ExtJson, i64> {
    let Some(Value::String(text)) = given else { return Err(47001) };
    let parsed: Map<String, Value> = match serde_json::from_str(text) {
        Ok(Value::Object(m)) => m,
        _ => return Err(85048),
    };
    match parsed.get("extAppid") {
        None | Some(Value::Null) => {}
        Some(Value::String(a)) if a.trim() == appid => {}
        Some(_) => return Err(85013),
    }
    let required_private_infos = match parsed.get("requiredPrivateInfos") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => {
            items.iter().map(|v| v.as_str().map(|s| s.trim().to_string())).collect::<Option<Vec<_>>>().ok_or(85013)?
        }
        Some(_) => return Err(85013),
    };
    Ok(ExtJson { required_private_infos })
}

/// `commit`'s `user_version`: required (40097 without), at most 64 characters (85013).
pub fn commit_version(given: Option<&str>) -> Result<String, i64> {
    let v = given.map(str::trim).filter(|v| !v.is_empty()).ok_or(40097)?;
    if v.chars().count() > MAX_VERSION_CHARS {
        return Err(85013);
    }
    Ok(v.to_string())
}

// ---- the privacy scan ----

/// What `get_code_privacy_info` reports of the committed code.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Findings {
    /// Interfaces the code calls whose privacy interface is not enabled (status 5).
    pub without_auth_list: Vec<String>,
    /// Interfaces the code calls that `ext_json`'s `requiredPrivateInfos` does not declare.
    pub without_conf_list: Vec<String>,
}

impl Findings {
    pub fn is_clean(&self) -> bool {
        self.without_auth_list.is_empty() && self.without_conf_list.is_empty()
    }
}

/// The scan of code calling `used`, given which interfaces are enabled and what
/// `requiredPrivateInfos` declares (compared without the `wx.` prefix).
pub fn findings(used: &[String], enabled: &dyn Fn(&str) -> bool, declared: &[String]) -> Findings {
    let bare = |s: &str| s.trim().strip_prefix("wx.").unwrap_or(s.trim()).to_string();
    let declared: Vec<String> = declared.iter().map(|d| bare(d)).collect();
    let mut f = Findings::default();
    for api in used {
        if !enabled(api) {
            f.without_auth_list.push(api.clone());
        }
        if !declared.contains(&bare(api)) {
            f.without_conf_list.push(api.clone());
        }
    }
    f
}

// ---- submit_audit ----

fn int_of(item: &Map<String, Value>, key: &str) -> Option<i64> {
    match item.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// `submit_audit`'s `item_list`: 1 to 5 items (85023); each an object with `first_id`
/// and `second_id` (85010) of an approved category of the account (85008), an
/// `address` among the code's pages (85007, its query string ignored), a `title` of at
/// most 32 characters (85011) and at most 10 space-separated `tag`s of at most 20
/// characters each (85006). Checked item by item, in that order.
pub fn audit_items(items: Option<&Value>, approved: &[(i64, i64)], pages: &[&str]) -> Result<(), i64> {
    let items = match items {
        Some(Value::Array(items)) if (1..=5).contains(&items.len()) => items,
        _ => return Err(85023),
    };
    for item in items {
        let item = item.as_object().ok_or(85010)?;
        let first = int_of(item, "first_id").filter(|id| *id > 0).ok_or(85010)?;
        let second = int_of(item, "second_id").filter(|id| *id > 0).ok_or(85010)?;
        if !approved.contains(&(first, second)) {
            return Err(85008);
        }
        if let Some(address) = item.get("address").and_then(Value::as_str).map(str::trim).filter(|a| !a.is_empty()) {
            let path = address.split('?').next().unwrap_or(address).trim_start_matches('/');
            if !pages.contains(&path) {
                return Err(85007);
            }
        }
        if item.get("title").and_then(Value::as_str).is_some_and(|t| t.chars().count() > 32) {
            return Err(85011);
        }
        if let Some(tag) = item.get("tag").and_then(Value::as_str) {
            let tags: Vec<&str> = tag.split_whitespace().collect();
            if tags.len() > 10 || tags.iter().any(|t| t.chars().count() > 20) {
                return Err(85006);
            }
        }
    }
    Ok(())
}

// ---- rollback ----

/// One entry of the live version's history, newest first: whether it was a rollback,
/// and the version it made live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryEntry {
    pub rollback: bool,
    pub app_version: i64,
}

/// The entries a rollback may reach: each earlier version once (its newest entry), not
/// the live one.
pub fn rollback_candidates(history: &[HistoryEntry]) -> Vec<usize> {
    let Some(live) = history.first() else { return Vec::new() };
    let mut seen = vec![live.app_version];
    let mut out = Vec::new();
    for (i, e) in history.iter().enumerate().skip(1) {
        if !seen.contains(&e.app_version) {
            seen.push(e.app_version);
            out.push(i);
        }
    }
    out
}

/// Which entry `revertcoderelease` makes live: the previous version, or `app_version`
/// when given. 87012 when nothing is live, the last operation was already a rollback
/// (never twice in a row), or no such earlier version is kept.
pub fn rollback_target(history: &[HistoryEntry], wanted: Option<i64>) -> Result<usize, i64> {
    let live = history.first().ok_or(87012)?;
    if live.rollback {
        return Err(87012);
    }
    let candidates = rollback_candidates(history);
    match wanted {
        None => candidates.first().copied().ok_or(87012),
        Some(v) => candidates.into_iter().find(|&i| history[i].app_version == v).ok_or(87012),
    }
}

// ---- the reviewer by itself ----

/// What the reviewer decides by itself when a code review is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoOutcome {
    Approve,
    Reject,
    Delay,
}

/// The automatic decision for a roll in `0..100`: rejected below `reject_percent`, then
/// delayed within the next `delay_percent` (never a review delayed before), else approved.
pub fn auto_outcome(roll: u32, reject_percent: u8, delay_percent: u8, delayed_before: bool) -> AutoOutcome {
    let reject = u32::from(reject_percent);
    if roll < reject {
        AutoOutcome::Reject
    } else if !delayed_before && roll < reject + u32::from(delay_percent) {
        AutoOutcome::Delay
    } else {
        AutoOutcome::Approve
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn china_days_and_months_start_at_midnight_utc_plus_8() {
        // 2026-11-30 15:59:59 UTC is 23:59:59 in China; a second later it is December there.
        let before = 1_796_054_399;
        assert_eq!(china_month(before), "2026-11");
        assert_eq!(china_month(before + 1), "2026-12");
        assert_eq!(china_day_start(before + 1), before + 1);
        assert_eq!(china_day_start(before), before + 1 - DAY);
        assert_eq!(china_month_start(before + 1), before + 1);
        assert_eq!(china_month_start(before), before + 1 - 30 * DAY);
        assert_eq!(china_month_start(before + 5 * DAY), before + 1);
    }

    #[test]
    fn uploads_need_a_version_and_known_interfaces() {
        let ok = upload(" 1.0.0 ", "first", ["getLocation", "wx.getLocation", "wx.chooseLocation"]).unwrap();
        assert_eq!(ok.user_version, "1.0.0");
        assert_eq!(ok.privacy_apis, vec!["wx.getLocation", "wx.chooseLocation"]);
        assert_eq!(upload("  ", "", []), Err(UploadError::VersionRequired));
        assert_eq!(upload(&"v".repeat(65), "", []), Err(UploadError::VersionTooLong));
        assert!(upload(&"版".repeat(64), "", []).is_ok());
        assert_eq!(upload("1", &"d".repeat(201), []), Err(UploadError::DescTooLong));
        assert_eq!(upload("1", "", ["wx.getUserProfile"]), Err(UploadError::UnknownApi));
        assert_eq!(UploadError::UnknownApi.field(), "privacy_apis");
    }

    #[test]
    fn ext_json_is_a_string_of_a_json_object_for_this_appid() {
        assert_eq!(ext_json(None, "wx1"), Err(47001));
        assert_eq!(ext_json(Some(&json!({ "extAppid": "wx1" })), "wx1"), Err(47001));
        assert_eq!(ext_json(Some(&json!("{not json")), "wx1"), Err(85048));
        assert_eq!(ext_json(Some(&json!("[1]")), "wx1"), Err(85048));
        assert_eq!(ext_json(Some(&json!(r#"{"extAppid":"wx2"}"#)), "wx1"), Err(85013));
        assert_eq!(ext_json(Some(&json!(r#"{"requiredPrivateInfos":"getLocation"}"#)), "wx1"), Err(85013));
        let ok = ext_json(Some(&json!(r#"{"extAppid":"wx1","requiredPrivateInfos":["getLocation"]}"#)), "wx1");
        assert_eq!(ok.unwrap().required_private_infos, vec!["getLocation"]);
        assert_eq!(ext_json(Some(&json!("{}")), "wx1"), Ok(ExtJson::default()));
        assert_eq!(commit_version(None), Err(40097));
        assert_eq!(commit_version(Some(&"1".repeat(65))), Err(85013));
        assert_eq!(commit_version(Some(" 1.0 ")), Ok("1.0".into()));
    }

    #[test]
    fn the_scan_compares_interfaces_without_the_wx_prefix() {
        let used = vec!["wx.getLocation".to_string(), "wx.chooseLocation".to_string()];
        let enabled = |api: &str| api == "wx.getLocation";
        let f = findings(&used, &enabled, &["getLocation".to_string()]);
        assert_eq!(f.without_auth_list, vec!["wx.chooseLocation"]);
        assert_eq!(f.without_conf_list, vec!["wx.chooseLocation"]);
        assert!(!f.is_clean());
        assert!(findings(&[], &enabled, &[]).is_clean());
    }

    #[test]
    fn audit_items_are_checked_in_order() {
        let approved = [(7, 70)];
        let item = |extra: Value| {
            let mut v =
                json!({ "first_id": 7, "second_id": 70, "first_class": "IT科技", "second_class": "软件服务提供商" });
            for (k, x) in extra.as_object().unwrap() {
                v[k] = x.clone();
            }
            v
        };
        let check = |items: Value| audit_items(Some(&items), &approved, &PAGES);
        assert_eq!(audit_items(None, &approved, &PAGES), Err(85023));
        assert_eq!(check(json!([])), Err(85023));
        assert_eq!(check(Value::Array(vec![item(json!({})); 6])), Err(85023));
        assert_eq!(check(json!([{ "first_id": 7 }])), Err(85010));
        assert_eq!(check(json!(["x"])), Err(85010));
        assert_eq!(check(json!([item(json!({ "second_id": 71 }))])), Err(85008));
        assert_eq!(check(json!([item(json!({ "address": "pages/nowhere/index" }))])), Err(85007));
        assert_eq!(check(json!([item(json!({ "title": "t".repeat(33) }))])), Err(85011));
        assert_eq!(check(json!([item(json!({ "tag": "a b c d e f g h i j k" }))])), Err(85006));
        assert_eq!(check(json!([item(json!({ "tag": "x".repeat(21) }))])), Err(85006));
        let good = item(
            json!({ "address": "pages/goods/list?cat=1", "title": "商品", "tag": "电商 商品", "second_id": "70" }),
        );
        assert_eq!(check(json!([good.clone(), good])), Ok(()));
    }

    #[test]
    fn a_rollback_reaches_the_previous_version_and_never_twice_in_a_row() {
        let e = |rollback, app_version| HistoryEntry { rollback, app_version };
        assert_eq!(rollback_target(&[], None), Err(87012));
        assert_eq!(rollback_target(&[e(false, 1)], None), Err(87012));
        let h = [e(false, 3), e(true, 1), e(false, 2), e(false, 1)];
        assert_eq!(rollback_candidates(&h), vec![1, 2]);
        assert_eq!(rollback_target(&h, None), Ok(1));
        assert_eq!(rollback_target(&h, Some(2)), Ok(2));
        assert_eq!(rollback_target(&h, Some(3)), Err(87012));
        assert_eq!(rollback_target(&[e(true, 1), e(false, 2), e(false, 1)], None), Err(87012));
    }

    #[test]
    fn the_reviewer_delays_a_review_at_most_once() {
        assert_eq!(auto_outcome(5, 10, 20, false), AutoOutcome::Reject);
        assert_eq!(auto_outcome(15, 10, 20, false), AutoOutcome::Delay);
        assert_eq!(auto_outcome(15, 10, 20, true), AutoOutcome::Approve);
        assert_eq!(auto_outcome(30, 10, 20, false), AutoOutcome::Approve);
        assert_eq!(auto_outcome(99, 0, 0, false), AutoOutcome::Approve);
        assert_eq!(auto_outcome(99, 100, 0, true), AutoOutcome::Reject);
    }
}
