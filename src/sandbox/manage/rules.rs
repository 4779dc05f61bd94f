//! WeChat's validation rules for the management APIs, as pure functions: server-domain
//! formats (`modify_domain`, `modify_wxa_server_domain`), privacy-interface applications
//! and the privacy guide. Each refusal is the errcode WeChat answers.

use serde_json::{Map, Value};

use super::catalog;

/// The six lists of `modify_domain` (reference §3.1), in WeChat's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DomainList {
    Request,
    WsRequest,
    Upload,
    Download,
    Udp,
    Tcp,
}

impl DomainList {
    pub const ALL: [Self; 6] = [Self::Request, Self::WsRequest, Self::Upload, Self::Download, Self::Udp, Self::Tcp];

    /// The field name in `modify_domain` bodies and answers.
    pub fn field(self) -> &'static str {
        match self {
            Self::Request => "requestdomain",
            Self::WsRequest => "wsrequestdomain",
            Self::Upload => "uploaddomain",
            Self::Download => "downloaddomain",
            Self::Udp => "udpdomain",
            Self::Tcp => "tcpdomain",
        }
    }

    /// The key in `MiniProgramInfo.network` (`api_get_authorizer_info`).
    pub fn network_key(self) -> &'static str {
        match self {
            Self::Request => "RequestDomain",
            Self::WsRequest => "WsRequestDomain",
            Self::Upload => "UploadDomain",
            Self::Download => "DownloadDomain",
            Self::Udp => "UDPDomain",
            Self::Tcp => "TCPDomain",
        }
    }

    pub fn scheme(self) -> &'static str {
        match self {
            Self::Request | Self::Upload | Self::Download => "https",
            Self::WsRequest => "wss",
            Self::Udp => "udp",
            Self::Tcp => "tcp",
        }
    }
}

/// Entries per list (reference §3.1).
pub const MAX_DOMAINS_PER_LIST: usize = 200;
/// Entries on each of the platform's lists (reference §3.3).
pub const MAX_PLATFORM_DOMAINS: usize = 1000;

/// A host name WeChat accepts: letters, digits and hyphens in dot-separated labels, at
/// least two labels, a top-level label that is not numeric, no IP address, and not
/// `api.weixin.qq.com`. Returns it in lower case.
pub fn valid_host(host: &str) -> Option<String> {
    let host = host.to_ascii_lowercase();
    if host.is_empty() || host.len() > 253 || host == "api.weixin.qq.com" {
        return None;
    }
    let labels: Vec<&str> = host.split('.').collect();
    if labels.len() < 2 {
        return None;
    }
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    if !labels.iter().all(label_ok) {
        return None;
    }
    // An IPv4 address (and any numeric top-level label) is refused.
    if labels.last().is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    Some(host)
}

/// One entry of a `modify_domain` list: `scheme://host[:port]` with the list's scheme
/// (an optional trailing `/` is dropped). `Err(85301)` when it breaks the rules.
/// Returns the entry as stored and its host.
pub fn server_domain(list: DomainList, entry: &str) -> Result<(String, String), i64> {
    let entry = entry.trim();
    let prefix = format!("{}://", list.scheme());
    let rest = match entry.get(..prefix.len()) {
        Some(p) if p.eq_ignore_ascii_case(&prefix) => &entry[prefix.len()..],
        _ => return Err(85301),
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.is_empty() || rest.contains(['/', '?', '#', '@', '[', ']', ' ']) {
        return Err(85301);
    }
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) => {
            let port: u16 = p.parse().map_err(|_| 85301)?;
            if port == 0 {
                return Err(85301);
            }
            (h, Some(port))
        }
        None => (rest, None),
    };
    let host = valid_host(host).ok_or(85301)?;
    let stored = match port {
        Some(p) => format!("{}{host}:{p}", prefix),
        None => format!("{}{host}", prefix),
    };
    Ok((stored, host))
}

/// The host of a stored `modify_domain` entry.
pub fn host_of(entry: &str) -> &str {
    let rest = entry.split_once("://").map_or(entry, |(_, r)| r);
    rest.rsplit_once(':').map_or(rest, |(h, _)| h)
}

/// One entry of the platform's list (`wxa_server_domain`): a bare host such as
/// `www.qq.com`, with no scheme, port or path.
pub fn platform_domain(entry: &str) -> Option<String> {
    let entry = entry.trim();
    if entry.contains(['/', ':', '?', '#', '@', ' ']) {
        return None;
    }
    valid_host(entry)
}

/// The entries of a `;`-separated `wxa_server_domain` (empty pieces are skipped).
pub fn split_domains(list: &str) -> Vec<&str> {
    list.split(';').map(str::trim).filter(|d| !d.is_empty()).collect()
}

/// An `apply_privacy_interface` request as WeChat reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Application {
    pub api_name: String,
    pub content: String,
    pub url_list: Vec<String>,
    pub pic_list: Vec<String>,
    pub video_list: Vec<String>,
}

/// Longest `content` (reason) accepted.
pub const MAX_APPLY_CONTENT: usize = 300;

/// Reads and checks an application's own fields, before the account's state is looked at.
/// 61034: a required field is missing (the API name, the reason, or all three of the
/// supporting materials); 61035: the interface needs no application (unknown names
/// included: WeChat compares exactly); 61032: the video is not an mp4; 61037: the reason
/// is not valid UTF-8 text; 40097 (not confirmed): a field of the wrong type, a reason
/// over 300 characters, more than 10 pictures or more than one video.
pub fn application(body: &Map<String, Value>) -> Result<Application, i64> {
    let text = |key: &str| -> Result<String, i64> {
        match body.get(key) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.trim().to_string()),
            Some(_) => Err(40097),
        }
    };
    let list = |key: &str| -> Result<Vec<String>, i64> {
        match body.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().map(|s| s.trim().to_string()).ok_or(40097))
                .filter(|r| r.as_ref().map_or(true, |s| !s.is_empty()))
                .collect(),
            Some(_) => Err(40097),
        }
    };
    let app = Application {
        api_name: text("api_name")?,
        content: text("content")?,
        url_list: list("url_list")?,
        pic_list: list("pic_list")?,
        video_list: list("video_list")?,
    };
    if app.api_name.is_empty() || app.content.is_empty() {
        return Err(61034);
    }
    if app.url_list.is_empty() && app.pic_list.is_empty() && app.video_list.is_empty() {
        return Err(61034);
    }
    if catalog::privacy_api(&app.api_name).is_none() {
        return Err(61035);
    }
    if app.content.contains('\u{FFFD}') {
        return Err(61037);
    }
    if app.content.chars().count() > MAX_APPLY_CONTENT || app.pic_list.len() > 10 || app.video_list.len() > 1 {
        return Err(40097);
    }
    let is_mp4 = |url: &str| {
        let path = url.split(['?', '#']).next().unwrap_or(url);
        path.to_ascii_lowercase().ends_with(".mp4")
    };
    if app.video_list.iter().any(|v| !is_mp4(v)) {
        return Err(61032);
    }
    Ok(app)
}

/// The privacy guide's `owner_setting` (reference §3.7).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OwnerSetting {
    pub contact_email: String,
    pub contact_phone: String,
    pub contact_qq: String,
    pub contact_weixin: String,
    pub notice_method: String,
    pub store_expire_timestamp: String,
    pub ext_file_media_id: String,
}

/// One `setting_list` entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PrivacyItem {
    pub privacy_key: String,
    pub privacy_text: String,
}

/// The development version of an account's privacy guide as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PrivacySetting {
    pub setting_list: Vec<PrivacyItem>,
    pub owner_setting: OwnerSetting,
    pub update_time: i64,
}

/// `privacy_ver` of a get/setprivacysetting body: 2 when absent; 86071 unless 1 or 2.
pub fn privacy_ver(body: &Map<String, Value>) -> Result<i64, i64> {
    match body.get("privacy_ver") {
        None | Some(Value::Null) => Ok(2),
        Some(Value::Number(n)) => n.as_i64().filter(|v| *v == 1 || *v == 2).ok_or(86071),
        Some(Value::String(s)) => s.trim().parse::<i64>().ok().filter(|v| *v == 1 || *v == 2).ok_or(86071),
        Some(_) => Err(86071),
    }
}

/// Whether a retention period reads as WeChat accepts it: a number of days, written as
/// digits, optionally followed by 天 / 日 / days. Empty means not stated.
pub fn store_expire_ok(text: &str) -> bool {
    let t = text.trim();
    if t.is_empty() {
        return true;
    }
    let digits = t.trim_end_matches(['天', '日']).trim_end_matches("days").trim_end_matches("day").trim();
    !digits.is_empty() && digits.len() <= 6 && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Checks a `setprivacysetting` body for the development version (`privacy_ver` 2):
/// 86069 `owner_setting` missing or without any contact, 86070 no `notice_method`,
/// 86072 a malformed `store_expire_timestamp`, 86073 an `ext_file_media_id` (the sandbox
/// has no uploaded guide files, so none is valid); 40097 (not confirmed) `setting_list`
/// missing or empty, an unknown `privacy_key`, an empty `privacy_text`, or a field of the
/// wrong type.
pub fn privacy_setting(body: &Map<String, Value>, now: i64) -> Result<PrivacySetting, i64> {
    let owner = match body.get("owner_setting") {
        Some(Value::Object(o)) => o,
        Some(Value::Null) | None => return Err(86069),
        Some(_) => return Err(40097),
    };
    let field = |key: &str| -> Result<String, i64> {
        match owner.get(key) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.trim().to_string()),
            Some(Value::Number(n)) => Ok(n.to_string()),
            Some(_) => Err(40097),
        }
    };
    let owner_setting = OwnerSetting {
        contact_email: field("contact_email")?,
        contact_phone: field("contact_phone")?,
        contact_qq: field("contact_qq")?,
        contact_weixin: field("contact_weixin")?,
        notice_method: field("notice_method")?,
        store_expire_timestamp: field("store_expire_timestamp")?,
        ext_file_media_id: field("ext_file_media_id")?,
    };
    let o = &owner_setting;
    if [&o.contact_email, &o.contact_phone, &o.contact_qq, &o.contact_weixin].iter().all(|c| c.is_empty()) {
        return Err(86069);
    }
    if o.notice_method.is_empty() {
        return Err(86070);
    }
    if !store_expire_ok(&o.store_expire_timestamp) {
        return Err(86072);
    }
    if !o.ext_file_media_id.is_empty() {
        return Err(86073);
    }
    let items = match body.get("setting_list") {
        Some(Value::Array(items)) if !items.is_empty() => items,
        _ => return Err(40097),
    };
    let mut setting_list: Vec<PrivacyItem> = Vec::with_capacity(items.len());
    for item in items {
        let key = item.get("privacy_key").and_then(Value::as_str).map(str::trim).unwrap_or_default();
        let text = item.get("privacy_text").and_then(Value::as_str).map(str::trim).unwrap_or_default();
        if !catalog::is_privacy_key(key) || text.is_empty() {
            return Err(40097);
        }
        // A key given twice keeps its last text.
        setting_list.retain(|i| i.privacy_key != key);
        setting_list.push(PrivacyItem { privacy_key: key.to_string(), privacy_text: text.to_string() });
    }
    Ok(PrivacySetting { setting_list, owner_setting, update_time: now })
}

/// `YYYY-MM-DD` (UTC midnight) as Unix seconds.
pub fn date_to_unix(date: &str) -> Option<i64> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let d = time::Date::parse(date.trim(), &fmt).ok()?;
    Some(d.midnight().assume_utc().unix_timestamp())
}

/// Unix seconds as a `YYYY-MM-DD` UTC date.
pub fn unix_to_date(at: i64) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    time::OffsetDateTime::from_unix_timestamp(at).ok().and_then(|t| t.format(&fmt).ok()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn server_domains_need_the_scheme_and_a_host_name() {
        assert_eq!(
            server_domain(DomainList::Request, "https://Api.Example.com/"),
            Ok(("https://api.example.com".into(), "api.example.com".into()))
        );
        assert_eq!(
            server_domain(DomainList::Request, "HTTPS://a.example.com:8443"),
            Ok(("https://a.example.com:8443".into(), "a.example.com".into()))
        );
        assert_eq!(
            server_domain(DomainList::WsRequest, "wss://ws.example.com").map(|d| d.1),
            Ok("ws.example.com".into())
        );
        for bad in [
            "a.example.com",
            "http://a.example.com",
            "https://",
            "https://a.example.com/path",
            "https://a.example.com?x=1",
            "https://1.2.3.4",
            "https://[::1]",
            "https://localhost",
            "https://api.weixin.qq.com",
            "https://a.example.com:0",
            "https://a.example.com:99999",
            "https://user@a.example.com",
            "https://-a.example.com",
            "https://a_b.example.com",
        ] {
            assert_eq!(server_domain(DomainList::Request, bad), Err(85301), "{bad}");
        }
        assert_eq!(server_domain(DomainList::WsRequest, "https://a.example.com"), Err(85301));
        assert_eq!(
            server_domain(DomainList::Udp, "udp://u.example.com").map(|d| d.0),
            Ok("udp://u.example.com".into())
        );
        assert_eq!(host_of("https://a.example.com:8443"), "a.example.com");
        assert_eq!(host_of("wss://b.example.com"), "b.example.com");
    }

    #[test]
    fn platform_domains_are_bare_hosts() {
        assert_eq!(platform_domain(" WWW.qq.com "), Some("www.qq.com".into()));
        for bad in ["https://qq.com", "qq.com/path", "qq.com:443", "10.0.0.1", "qq", ""] {
            assert_eq!(platform_domain(bad), None, "{bad}");
        }
        assert_eq!(split_domains("a.com; b.com;;"), vec!["a.com", "b.com"]);
    }

    #[test]
    fn applications_are_checked_like_wechat() {
        let ok = json!({ "api_name": "wx.getLocation", "content": "配送需要定位", "pic_list": ["https://x/1.png"] });
        assert!(application(&map(ok)).is_ok());
        let cases = [
            (json!({ "content": "c", "url_list": ["u"] }), 61034),
            (json!({ "api_name": "wx.getLocation", "url_list": ["u"] }), 61034),
            (json!({ "api_name": "wx.getLocation", "content": "c" }), 61034),
            (json!({ "api_name": "wx.getLocation", "content": "c", "url_list": [] }), 61034),
            (json!({ "api_name": "wx.request", "content": "c", "url_list": ["u"] }), 61035),
            (json!({ "api_name": "wx.getlocation", "content": "c", "url_list": ["u"] }), 61035),
            (json!({ "api_name": "wx.getLocation", "content": "c", "video_list": ["https://v/a.mov"] }), 61032),
            (json!({ "api_name": "wx.getLocation", "content": "c", "video_list": ["https://v/a.MP4?sign=1"] }), 0),
            (json!({ "api_name": "wx.getLocation", "content": "c", "video_list": ["a.mp4", "b.mp4"] }), 40097),
            (json!({ "api_name": "wx.getLocation", "content": "x".repeat(301), "url_list": ["u"] }), 40097),
            (json!({ "api_name": "wx.getLocation", "content": "字".repeat(300), "url_list": ["u"] }), 0),
            (json!({ "api_name": "wx.getLocation", "content": "c", "pic_list": vec!["p"; 11] }), 40097),
            (json!({ "api_name": "wx.getLocation", "content": "c", "url_list": "u" }), 40097),
            (json!({ "api_name": "wx.getLocation", "content": "bad \u{FFFD}", "url_list": ["u"] }), 61037),
        ];
        for (body, code) in cases {
            let got = application(&map(body.clone())).err().unwrap_or(0);
            assert_eq!(got, code, "{body}");
        }
    }

    #[test]
    fn the_privacy_guide_needs_a_contact_a_notice_method_and_known_keys() {
        let good = json!({
            "privacy_ver": 2,
            "owner_setting": { "contact_email": "dpo@example.com", "notice_method": "弹窗", "store_expire_timestamp": "30天" },
            "setting_list": [{ "privacy_key": "Location", "privacy_text": "配送" }, { "privacy_key": "Location", "privacy_text": "配送上门" }],
        });
        let s = privacy_setting(&map(good.clone()), 7).unwrap();
        assert_eq!(
            s.setting_list,
            vec![PrivacyItem { privacy_key: "Location".into(), privacy_text: "配送上门".into() }]
        );
        assert_eq!(s.update_time, 7);
        let with = |path: &str, value: Value| {
            let mut b = good.clone();
            let mut target = &mut b;
            let parts: Vec<&str> = path.split('.').collect();
            for p in &parts[..parts.len() - 1] {
                target = &mut target[*p];
            }
            target[parts[parts.len() - 1]] = value;
            map(b)
        };
        assert_eq!(privacy_setting(&with("owner_setting", Value::Null), 0), Err(86069));
        assert_eq!(privacy_setting(&with("owner_setting.contact_email", json!("")), 0), Err(86069));
        assert_eq!(privacy_setting(&with("owner_setting.notice_method", json!(" ")), 0), Err(86070));
        assert_eq!(privacy_setting(&with("owner_setting.store_expire_timestamp", json!("forever")), 0), Err(86072));
        assert_eq!(privacy_setting(&with("owner_setting.ext_file_media_id", json!("m1")), 0), Err(86073));
        assert_eq!(privacy_setting(&with("setting_list", json!([])), 0), Err(40097));
        let unknown = json!([{ "privacy_key": "Telepathy", "privacy_text": "x" }]);
        assert_eq!(privacy_setting(&with("setting_list", unknown), 0), Err(40097));
        assert_eq!(privacy_ver(&map(json!({}))), Ok(2));
        assert_eq!(privacy_ver(&map(json!({ "privacy_ver": "1" }))), Ok(1));
        assert_eq!(privacy_ver(&map(json!({ "privacy_ver": 3 }))), Err(86071));
        assert!(store_expire_ok("") && store_expire_ok("180") && store_expire_ok("7 days") && !store_expire_ok("天"));
    }

    #[test]
    fn dates_round_trip() {
        let at = date_to_unix("2027-09-20").unwrap();
        assert_eq!(unix_to_date(at), "2027-09-20");
        assert_eq!(date_to_unix("2027-13-01"), None);
    }
}
