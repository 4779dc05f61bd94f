//! Mini program management on behalf of an authorizer (reference §3): the paths and the
//! answers of the APIs the requirements checklist reads and writes. Types only; the
//! calls go through `services::platform::Platform::{call_authorizer, get_authorizer}`.
//!
//! Every answer type is lenient (`#[serde(default)]`): WeChat adds fields and leaves
//! empty lists out, and a missing list means "none", not a broken answer.

use serde::{Deserialize, Serialize};

pub const GET_ACCOUNT_BASIC_INFO: &str = "/cgi-bin/account/getaccountbasicinfo";
pub const PLUGIN: &str = "/wxa/plugin";
pub const GET_PRIVACY_INTERFACE: &str = "/wxa/security/get_privacy_interface";
pub const APPLY_PRIVACY_INTERFACE: &str = "/wxa/security/apply_privacy_interface";
pub const GET_CATEGORY: &str = "/cgi-bin/wxopen/getcategory";
pub const ADD_CATEGORY: &str = "/cgi-bin/wxopen/addcategory";
pub const MODIFY_DOMAIN: &str = "/wxa/modify_domain";
pub const GET_PRIVACY_SETTING: &str = "/cgi-bin/component/getprivacysetting";
pub const SET_PRIVACY_SETTING: &str = "/cgi-bin/component/setprivacysetting";
pub const GET_ICP_ENTRANCE_INFO: &str = "/wxa/icp/get_icp_entrance_info";
/// The platform's own server-domain list (component token, reference §3.3).
pub const MODIFY_WXA_SERVER_DOMAIN: &str = "/cgi-bin/component/modify_wxa_server_domain";

/// `getaccountbasicinfo` (reference §3.8).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct BasicInfo {
    pub appid: String,
    pub nickname: String,
    pub realname_status: i64,
    pub principal_name: String,
    pub wx_verify_info: VerifyInfo,
    pub signature_info: SignatureInfo,
    pub head_image_info: HeadImageInfo,
    pub nickname_info: NicknameInfo,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct VerifyInfo {
    pub qualification_verify: bool,
    pub naming_verify: bool,
    pub annual_review: Option<bool>,
    pub annual_review_begin_time: Option<i64>,
    pub annual_review_end_time: Option<i64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SignatureInfo {
    pub signature: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct HeadImageInfo {
    pub head_image_url: String,
}

/// WeChat documents no review state here. `audit_stat` (1 = a new name is under review)
/// and `pending_nickname` are read when present (the sandbox sends them); otherwise a
/// name review is known only from the `wxa_nickname_audit` push.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NicknameInfo {
    pub nickname: String,
    pub audit_stat: Option<i64>,
    pub pending_nickname: Option<String>,
}

/// `POST /wxa/plugin {"action": "list"}` (reference §3.4).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PluginList {
    pub plugin_list: Vec<Plugin>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Plugin {
    pub appid: String,
    /// 1 applying, 2 approved, 3 rejected, 4 timed out.
    pub status: i64,
    pub nickname: String,
    /// The rejection reason, when WeChat gives one.
    pub reason: Option<String>,
}

pub mod plugin_status {
    pub const APPLYING: i64 = 1;
    pub const APPROVED: i64 = 2;
    pub const REJECTED: i64 = 3;
    pub const TIMED_OUT: i64 = 4;
}

/// `get_privacy_interface` (reference §3.6).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PrivacyInterfaces {
    pub interface_list: Vec<PrivacyInterface>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PrivacyInterface {
    pub api_name: String,
    pub api_ch_name: String,
    /// 1 not applied, 2 no permission (the category does not allow it), 3 under review,
    /// 4 rejected, 5 enabled.
    pub status: i64,
    pub apply_time: Option<i64>,
    pub audit_id: Option<i64>,
    pub fail_reason: Option<String>,
}

pub mod interface_status {
    pub const NOT_APPLIED: i64 = 1;
    pub const NO_PERMISSION: i64 = 2;
    pub const REVIEWING: i64 = 3;
    pub const REJECTED: i64 = 4;
    pub const ENABLED: i64 = 5;
}

/// `getcategory` (reference §3.5).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Categories {
    pub categories: Vec<Category>,
    pub limit: Option<i64>,
    pub quota: Option<i64>,
    pub category_limit: Option<i64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Category {
    pub first: i64,
    pub first_name: String,
    pub second: i64,
    pub second_name: String,
    /// 1 under review, 2 rejected, 3 approved.
    pub audit_status: i64,
    pub audit_reason: Option<String>,
}

pub mod category_status {
    pub const REVIEWING: i64 = 1;
    pub const REJECTED: i64 = 2;
    pub const APPROVED: i64 = 3;
}

/// `modify_domain` (any action) answers with the six lists (reference §3.1).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Domains {
    pub requestdomain: Vec<String>,
    pub wsrequestdomain: Vec<String>,
    pub uploaddomain: Vec<String>,
    pub downloaddomain: Vec<String>,
    pub invalid_requestdomain: Vec<String>,
}

/// `getprivacysetting` (reference §3.7).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PrivacySetting {
    pub code_exist: Option<i64>,
    pub privacy_list: Vec<String>,
    pub setting_list: Vec<PrivacyItem>,
    pub update_time: Option<i64>,
    pub owner_setting: OwnerSetting,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PrivacyItem {
    pub privacy_key: String,
    pub privacy_text: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct OwnerSetting {
    pub contact_email: String,
    pub contact_phone: String,
    pub contact_qq: String,
    pub contact_weixin: String,
    pub notice_method: String,
    pub store_expire_timestamp: String,
}

impl OwnerSetting {
    pub fn has_contact(&self) -> bool {
        [&self.contact_email, &self.contact_phone, &self.contact_qq, &self.contact_weixin]
            .iter()
            .any(|c| !c.trim().is_empty())
    }
}

/// `get_icp_entrance_info`: the mini program's ICP filing.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct IcpEntrance {
    pub info: IcpInfo,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct IcpInfo {
    /// 2 platform reviewing, 3 platform rejected, 4 authority reviewing, 5 authority
    /// rejected, 6 filed, 1024–1031 not filed (with what is missing before one can file).
    pub status: i64,
    pub audit_data: Vec<IcpAuditData>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct IcpAuditData {
    pub key_name: String,
    pub error: String,
    pub suggest: String,
}

/// `apply_privacy_interface` answers with the review's id.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct AuditId {
    pub audit_id: Option<i64>,
}

/// An answer whose only content is `errcode: 0`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Empty {}

/// The privacy-sensitive interfaces a mini program applies for with
/// `apply_privacy_interface` (reference §3.6).
pub const PRIVACY_INTERFACES: &[&str] = &[
    "wx.getLocation",
    "wx.getFuzzyLocation",
    "wx.chooseLocation",
    "wx.choosePoi",
    "wx.chooseAddress",
    "wx.onLocationChange",
    "wx.startLocationUpdate",
    "wx.startLocationUpdateBackground",
];

/// The privacy guide's information types (`privacy_key`, reference §3.7) and what each
/// means, in English.
pub const PRIVACY_KEYS: &[(&str, &str)] = &[
    ("UserInfo", "User info (nickname, avatar)"),
    ("Location", "Location"),
    ("Address", "Address"),
    ("Invoice", "Invoice details"),
    ("RunData", "WeRun data"),
    ("Record", "Microphone"),
    ("Album", "Chosen photos or videos"),
    ("Camera", "Camera"),
    ("PhoneNumber", "Phone number"),
    ("Contact", "Contacts (write only)"),
    ("DeviceInfo", "Device info"),
    ("EXIDNumber", "ID card number"),
    ("EXOrderInfo", "Order details"),
    ("EXUserPublishContent", "Published content"),
    ("EXUserFollowAcct", "Followed accounts"),
    ("EXUserOpLog", "Activity log"),
    ("AlbumWriteOnly", "Album (write only)"),
    ("LicensePlate", "Licence plate"),
    ("BlueTooth", "Bluetooth"),
    ("CalendarWriteOnly", "Calendar (write only)"),
    ("Email", "E-mail"),
    ("MessageFile", "Chosen files"),
    ("ChooseLocation", "Chosen location"),
    ("Accelerometer", "Accelerometer"),
    ("Compass", "Compass"),
    ("DeviceMotion", "Device orientation"),
    ("Gyroscope", "Gyroscope"),
    ("Clipboard", "Clipboard"),
];

/// The host of an `https://host[:port]` origin, as the platform's server-domain list
/// names it (no scheme, no path).
pub fn host_of(origin: &str) -> &str {
    let rest = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    let host = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    host.split(':').next().unwrap_or(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_lose_scheme_port_and_path() {
        assert_eq!(host_of("https://img.fxiaoke.com"), "img.fxiaoke.com");
        assert_eq!(host_of("https://a.example.com:8443/x"), "a.example.com");
        assert_eq!(host_of("b.example.com"), "b.example.com");
    }

    #[test]
    fn missing_lists_read_as_empty() {
        let p: PluginList = serde_json::from_str(r#"{"errcode":0,"errmsg":"ok"}"#).unwrap();
        assert!(p.plugin_list.is_empty());
        let c: Categories = serde_json::from_str(r#"{"errcode":0,"categories":[{"first":1,"second":2}]}"#).unwrap();
        assert_eq!(c.categories[0].audit_status, 0);
    }
}
