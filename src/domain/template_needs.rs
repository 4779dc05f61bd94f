//! The operator's "Template requirements" form: what the vendor's template needs of every
//! dedicated mini program ([`Config`]), as rows of fields an operator edits, read back and
//! checked field by field so each error shows beside its field with the input kept.
//!
//! Lists are rows with an index in the field name (`plugin_appid_0`, `plugin_name_0`, …),
//! with one blank row to add another; a row left blank is dropped. This works without
//! JavaScript and keeps each error beside the field it belongs to, which a one-line-per-
//! entry text area could not (its error would name a line number).

use std::collections::HashMap;

use super::requirements::{CategoryNeed, Config, GuideNeed, PluginNeed, PrivacyApiNeed};
use crate::wechat::manage::{PRIVACY_INTERFACES, PRIVACY_KEYS, PrivacyItem};

/// At most this many rows of one list are read (a form is never longer).
pub const MAX_ROWS: usize = 30;
/// WeChat's limit on one domain list (85016 beyond).
pub const MAX_DOMAINS: usize = 200;
/// WeChat's limit on an application's reason (`apply_privacy_interface`).
pub const MAX_REASON_CHARS: usize = 300;
/// WeChat's limit on an application's supporting pictures.
pub const MAX_PICTURES: usize = 10;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PluginRow {
    pub appid: String,
    pub name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CategoryRow {
    pub first: String,
    pub second: String,
    pub name: String,
    /// "exact" or "any" (any approved category under the first level).
    pub matching: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiRow {
    pub api_name: String,
    pub reason: String,
    /// One picture per line.
    pub pictures: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuideRow {
    pub key: String,
    pub text: String,
}

/// The form as typed: strings, so a refused form is shown again exactly as it was sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NeedsForm {
    pub plugins: Vec<PluginRow>,
    pub categories: Vec<CategoryRow>,
    /// One `https://` origin per line.
    pub domains: String,
    pub apis: Vec<ApiRow>,
    pub guide: Vec<GuideRow>,
    pub notice_method: String,
    pub store_expire: String,
    pub review_warning_days: String,
}

/// A field's error: the field's name in the form and a message key with its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub key: &'static str,
}

impl FieldError {
    fn new(field: impl Into<String>, key: &'static str) -> Self {
        Self { field: field.into(), key }
    }
}

fn rows<T>(fields: &HashMap<String, String>, prefix: &str, read: impl Fn(&dyn Fn(&str) -> String) -> T) -> Vec<T> {
    // Rows are read in index order; an index past the last one present ends the list.
    let last = fields
        .keys()
        .filter_map(|k| k.strip_prefix(prefix))
        .filter_map(|rest| rest.rsplit_once('_').and_then(|(_, i)| i.parse::<usize>().ok()))
        .filter(|i| *i < MAX_ROWS)
        .max();
    let Some(last) = last else { return Vec::new() };
    (0..=last)
        .map(|i| read(&|name: &str| fields.get(&format!("{prefix}{name}_{i}")).cloned().unwrap_or_default()))
        .collect()
}

impl NeedsForm {
    /// Reads the posted fields (unknown ones are ignored).
    pub fn from_fields(fields: &HashMap<String, String>) -> Self {
        let get = |k: &str| fields.get(k).cloned().unwrap_or_default();
        Self {
            plugins: rows(fields, "plugin_", |f| PluginRow { appid: f("appid"), name: f("name") }),
            categories: rows(fields, "category_", |f| CategoryRow {
                first: f("first"),
                second: f("second"),
                name: f("name"),
                matching: f("match"),
            }),
            domains: get("domains"),
            apis: rows(fields, "api_", |f| ApiRow {
                api_name: f("name"),
                reason: f("reason"),
                pictures: f("pictures"),
            }),
            guide: rows(fields, "guide_", |f| GuideRow { key: f("key"), text: f("text") }),
            notice_method: get("notice_method"),
            store_expire: get("store_expire"),
            review_warning_days: get("review_warning_days"),
        }
    }

    /// The form showing a saved configuration.
    pub fn from_config(c: &Config) -> Self {
        Self {
            plugins: c.plugins.iter().map(|p| PluginRow { appid: p.appid.clone(), name: p.name.clone() }).collect(),
            categories: c
                .categories
                .iter()
                .map(|k| CategoryRow {
                    first: k.first.to_string(),
                    second: k.second.to_string(),
                    name: k.name.clone(),
                    matching: if k.any_under_first { "any" } else { "exact" }.into(),
                })
                .collect(),
            domains: c.domains.join("\n"),
            apis: c
                .privacy_apis
                .iter()
                .map(|a| ApiRow {
                    api_name: a.api_name.clone(),
                    reason: a.reason.clone(),
                    pictures: a.pictures.join("\n"),
                })
                .collect(),
            guide: c
                .privacy_guide
                .items
                .iter()
                .map(|i| GuideRow { key: i.privacy_key.clone(), text: i.privacy_text.clone() })
                .collect(),
            notice_method: c.privacy_guide.notice_method.clone(),
            store_expire: c.privacy_guide.store_expire.clone(),
            review_warning_days: c.review_warning_days.to_string(),
        }
    }

    /// The rows to show: the entries plus one blank row to add another.
    pub fn with_blank_rows(mut self) -> Self {
        if !self.plugins.last().is_some_and(PluginRow::is_blank) {
            self.plugins.push(PluginRow::default());
        }
        if !self.categories.last().is_some_and(CategoryRow::is_blank) {
            self.categories.push(CategoryRow { matching: "exact".into(), ..CategoryRow::default() });
        }
        if !self.apis.last().is_some_and(ApiRow::is_blank) {
            self.apis.push(ApiRow::default());
        }
        if !self.guide.last().is_some_and(GuideRow::is_blank) {
            self.guide.push(GuideRow::default());
        }
        self
    }

    /// The configuration, or every field that is wrong.
    pub fn validate(&self) -> Result<Config, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut config = Config {
            plugins: Vec::new(),
            categories: Vec::new(),
            domains: Vec::new(),
            privacy_apis: Vec::new(),
            privacy_guide: GuideNeed { items: Vec::new(), notice_method: String::new(), store_expire: String::new() },
            review_warning_days: 0,
        };

        for (i, row) in self.plugins.iter().enumerate() {
            if row.is_blank() {
                continue;
            }
            let (appid, name) = (row.appid.trim().to_ascii_lowercase(), row.name.trim());
            if !is_appid(&appid) {
                errors.push(FieldError::new(format!("plugin_appid_{i}"), "needs.plugin_appid_invalid"));
            } else if config.plugins.iter().any(|p| p.appid == appid) {
                errors.push(FieldError::new(format!("plugin_appid_{i}"), "needs.duplicate"));
            }
            if name.is_empty() || name.chars().count() > 60 {
                errors.push(FieldError::new(format!("plugin_name_{i}"), "needs.plugin_name_invalid"));
            }
            config.plugins.push(PluginNeed { appid, name: name.to_string() });
        }

        for (i, row) in self.categories.iter().enumerate() {
            if row.is_blank() {
                continue;
            }
            let first = positive(&row.first);
            let second = positive(&row.second);
            if first.is_none() {
                errors.push(FieldError::new(format!("category_first_{i}"), "needs.category_id_invalid"));
            }
            if second.is_none() {
                errors.push(FieldError::new(format!("category_second_{i}"), "needs.category_id_invalid"));
            }
            let name = row.name.trim();
            if name.is_empty() || name.chars().count() > 120 {
                errors.push(FieldError::new(format!("category_name_{i}"), "needs.category_name_invalid"));
            }
            let any_under_first = match row.matching.as_str() {
                "any" => true,
                "exact" | "" => false,
                _ => {
                    errors.push(FieldError::new(format!("category_match_{i}"), "needs.category_match_invalid"));
                    false
                }
            };
            if let (Some(first), Some(second)) = (first, second) {
                if config.categories.iter().any(|c| c.first == first && c.second == second) {
                    errors.push(FieldError::new(format!("category_second_{i}"), "needs.duplicate"));
                }
                config.categories.push(CategoryNeed { first, second, name: name.to_string(), any_under_first });
            }
        }

        for line in self.domains.lines().map(str::trim).filter(|l| !l.is_empty()) {
            match origin(line) {
                Some(o) if !config.domains.contains(&o) => config.domains.push(o),
                Some(_) => {}
                None => {
                    errors.push(FieldError::new("domains", "needs.domain_invalid"));
                    break;
                }
            }
        }
        if config.domains.len() > MAX_DOMAINS {
            errors.push(FieldError::new("domains", "needs.domains_too_many"));
        }

        for (i, row) in self.apis.iter().enumerate() {
            if row.is_blank() {
                continue;
            }
            let api_name = row.api_name.trim();
            if !PRIVACY_INTERFACES.contains(&api_name) {
                errors.push(FieldError::new(format!("api_name_{i}"), "needs.api_name_invalid"));
            } else if config.privacy_apis.iter().any(|a| a.api_name == api_name) {
                errors.push(FieldError::new(format!("api_name_{i}"), "needs.duplicate"));
            }
            let reason = row.reason.trim();
            if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
                errors.push(FieldError::new(format!("api_reason_{i}"), "needs.api_reason_invalid"));
            }
            let pictures: Vec<String> =
                row.pictures.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect();
            if pictures.len() > MAX_PICTURES || !pictures.iter().all(|p| is_picture(p)) {
                errors.push(FieldError::new(format!("api_pictures_{i}"), "needs.api_pictures_invalid"));
            }
            config.privacy_apis.push(PrivacyApiNeed {
                api_name: api_name.to_string(),
                reason: reason.to_string(),
                pictures,
            });
        }

        for (i, row) in self.guide.iter().enumerate() {
            if row.is_blank() {
                continue;
            }
            let key = row.key.trim();
            if !PRIVACY_KEYS.iter().any(|(k, _)| *k == key) {
                errors.push(FieldError::new(format!("guide_key_{i}"), "needs.guide_key_invalid"));
            } else if config.privacy_guide.items.iter().any(|g| g.privacy_key == key) {
                errors.push(FieldError::new(format!("guide_key_{i}"), "needs.duplicate"));
            }
            let text = row.text.trim();
            if text.is_empty() || text.chars().count() > 200 {
                errors.push(FieldError::new(format!("guide_text_{i}"), "needs.guide_text_invalid"));
            }
            config
                .privacy_guide
                .items
                .push(PrivacyItem { privacy_key: key.to_string(), privacy_text: text.to_string() });
        }
        let notice = self.notice_method.trim();
        if notice.chars().count() > 200 || (notice.is_empty() && !config.privacy_guide.items.is_empty()) {
            errors.push(FieldError::new("notice_method", "needs.notice_method_invalid"));
        }
        config.privacy_guide.notice_method = notice.to_string();
        let expire = self.store_expire.trim();
        if !retention_ok(expire) {
            errors.push(FieldError::new("store_expire", "needs.store_expire_invalid"));
        }
        config.privacy_guide.store_expire = expire.to_string();

        match self.review_warning_days.trim().parse::<i64>() {
            Ok(d) if (0..=365).contains(&d) => config.review_warning_days = d,
            _ => errors.push(FieldError::new("review_warning_days", "needs.warning_days_invalid")),
        }

        if errors.is_empty() { Ok(config) } else { Err(errors) }
    }
}

impl PluginRow {
    fn is_blank(&self) -> bool {
        self.appid.trim().is_empty() && self.name.trim().is_empty()
    }
}

impl CategoryRow {
    fn is_blank(&self) -> bool {
        self.first.trim().is_empty() && self.second.trim().is_empty() && self.name.trim().is_empty()
    }
}

impl ApiRow {
    fn is_blank(&self) -> bool {
        self.api_name.trim().is_empty() && self.reason.trim().is_empty() && self.pictures.trim().is_empty()
    }
}

impl GuideRow {
    fn is_blank(&self) -> bool {
        self.key.trim().is_empty() && self.text.trim().is_empty()
    }
}

/// A mini program or plugin AppID: `wx` and 16 hexadecimal digits.
fn is_appid(s: &str) -> bool {
    s.len() == 18 && s.starts_with("wx") && s[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

fn positive(s: &str) -> Option<i64> {
    s.trim().parse::<i64>().ok().filter(|v| *v > 0)
}

/// An `https://host[:port]` origin as WeChat's domain lists take it (lower case, no path),
/// or None.
pub fn origin(s: &str) -> Option<String> {
    let lower = s.trim().trim_end_matches('/').to_ascii_lowercase();
    let rest = lower.strip_prefix("https://")?;
    let (host, port) = match rest.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (rest, None),
    };
    let host_ok = host.len() <= 253
        && host.contains('.')
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|n| n > 0));
    (host_ok && port_ok).then_some(lower)
}

/// A supporting picture: an `https://` address, or a path served by the console.
fn is_picture(s: &str) -> bool {
    let path_ok = s.starts_with('/') && !s.starts_with("//") && !s.contains(['\\', ' ', '"', '<', '>']);
    let url_ok = s.starts_with("https://") && s.len() <= 500 && !s.contains([' ', '"', '<', '>']);
    path_ok || url_ok
}

/// How long data is kept, as WeChat's privacy guide takes it: a number of days, written
/// as digits and optionally followed by "days", 天 or 日. Empty means not stated.
pub fn retention_ok(text: &str) -> bool {
    let t = text.trim();
    if t.is_empty() {
        return true;
    }
    let digits = t.trim_end_matches(['天', '日']).trim_end_matches("days").trim_end_matches("day").trim();
    !digits.is_empty() && digits.len() <= 6 && digits.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn the_defaults_survive_a_round_trip_through_the_form() {
        let config = Config::default();
        let form = NeedsForm::from_config(&config).with_blank_rows();
        assert_eq!(form.validate(), Ok(config));
    }

    #[test]
    fn blank_rows_are_dropped_and_rows_are_read_in_order() {
        let f = fields(&[
            ("plugin_appid_0", ""),
            ("plugin_name_0", ""),
            ("plugin_appid_1", "WX069BA97219F66D99"),
            ("plugin_name_1", " Translation "),
            ("category_first_0", "7"),
            ("category_second_0", "70"),
            ("category_name_0", "IT"),
            ("category_match_0", "exact"),
            ("domains", "https://A.example.com/\n\nhttps://a.example.com\nhttps://b.example.com:8443"),
            ("notice_method", ""),
            ("store_expire", ""),
            ("review_warning_days", "14"),
        ]);
        let config = NeedsForm::from_fields(&f).validate().unwrap();
        assert_eq!(config.plugins, vec![PluginNeed { appid: "wx069ba97219f66d99".into(), name: "Translation".into() }]);
        assert_eq!(config.categories.len(), 1);
        assert_eq!(config.domains, vec!["https://a.example.com", "https://b.example.com:8443"]);
        assert!(config.privacy_apis.is_empty() && config.privacy_guide.items.is_empty());
        assert_eq!(config.review_warning_days, 14);
    }

    #[test]
    fn each_wrong_field_is_named() {
        let f = fields(&[
            ("plugin_appid_0", "wx123"),
            ("plugin_name_0", ""),
            ("category_first_0", "x"),
            ("category_second_0", "70"),
            ("category_name_0", "IT"),
            ("category_match_0", "sometimes"),
            ("domains", "http://insecure.example.com"),
            ("api_name_0", "wx.getSecrets"),
            ("api_reason_0", &"x".repeat(301)),
            ("api_pictures_0", "javascript:alert(1)"),
            ("guide_key_0", "location"),
            ("guide_text_0", ""),
            ("notice_method", ""),
            ("store_expire", "a year"),
            ("review_warning_days", "400"),
        ]);
        let errors = NeedsForm::from_fields(&f).validate().unwrap_err();
        let named: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        for field in [
            "plugin_appid_0",
            "plugin_name_0",
            "category_first_0",
            "category_match_0",
            "domains",
            "api_name_0",
            "api_reason_0",
            "api_pictures_0",
            "guide_key_0",
            "guide_text_0",
            "notice_method",
            "store_expire",
            "review_warning_days",
        ] {
            assert!(named.contains(&field), "{field} not named in {named:?}");
        }
    }

    #[test]
    fn duplicates_are_refused_beside_the_second() {
        let f = fields(&[
            ("plugin_appid_0", "wx069ba97219f66d99"),
            ("plugin_name_0", "A"),
            ("plugin_appid_1", "wx069ba97219f66d99"),
            ("plugin_name_1", "B"),
            ("review_warning_days", "30"),
        ]);
        let errors = NeedsForm::from_fields(&f).validate().unwrap_err();
        assert_eq!(errors, vec![FieldError::new("plugin_appid_1", "needs.duplicate")]);
    }

    #[test]
    fn origins_are_https_hosts_without_paths() {
        assert_eq!(origin("https://Img.Example.com/"), Some("https://img.example.com".into()));
        assert_eq!(origin("https://a.example.com/path"), None);
        assert_eq!(origin("https://localhost"), None);
        assert_eq!(origin("https://a.example.com:0"), None);
        assert_eq!(origin("ftp://a.example.com"), None);
        assert!(retention_ok("365 days") && retention_ok("30天") && retention_ok("") && !retention_ok("forever"));
    }

    #[test]
    fn a_blank_row_is_offered_once() {
        let form = NeedsForm::default().with_blank_rows().with_blank_rows();
        assert_eq!((form.plugins.len(), form.categories.len(), form.apis.len(), form.guide.len()), (1, 1, 1, 1));
    }
}
