//! Code and release management on behalf of an authorizer, and the platform's template
//! library (reference §4, corrected by the wave-2 notes §2): paths and answers. Types
//! only; the calls go through `services::platform::Platform`.
//!
//! Answer types are lenient (`#[serde(default)]`), as in [`super::manage`].

use serde::{Deserialize, Serialize};

use crate::domain::release::AuditItem;

// Template library (component token).
pub const GET_TEMPLATE_DRAFT_LIST: &str = "/wxa/gettemplatedraftlist";
pub const ADD_TO_TEMPLATE: &str = "/wxa/addtotemplate";
pub const GET_TEMPLATE_LIST: &str = "/wxa/gettemplatelist";
pub const DELETE_TEMPLATE: &str = "/wxa/deletetemplate";

// Per mini program (authorizer token, permission set 18).
pub const COMMIT: &str = "/wxa/commit";
pub const GET_PAGE: &str = "/wxa/get_page";
pub const GET_CATEGORY: &str = "/wxa/get_category";
pub const GET_CODE_PRIVACY_INFO: &str = "/wxa/security/get_code_privacy_info";
pub const SUBMIT_AUDIT: &str = "/wxa/submit_audit";
pub const GET_AUDIT_STATUS: &str = "/wxa/get_auditstatus";
pub const GET_LATEST_AUDIT_STATUS: &str = "/wxa/get_latest_auditstatus";
pub const UNDO_CODE_AUDIT: &str = "/wxa/undocodeaudit";
pub const SPEEDUP_AUDIT: &str = "/wxa/speedupaudit";
pub const RELEASE: &str = "/wxa/release";
pub const REVERT_CODE_RELEASE: &str = "/wxa/revertcoderelease";
pub const GET_VERSION_INFO: &str = "/wxa/getversioninfo";
/// The platform's audit quota: shared by all its mini programs, called with any
/// authorizer's token (the component token alone fails; wave-2 notes §2).
pub const QUERY_QUOTA: &str = "/wxa/queryquota";
/// Permanent material: the rejection screenshots' media ids are fetched here.
pub const GET_MATERIAL: &str = "/cgi-bin/material/get_material";

/// The standard template library depends on the retired trade component, so templates
/// are always added as normal templates (wave-2 notes §2).
pub const TEMPLATE_TYPE_NORMAL: i64 = 0;
/// WeChat's template library holds at most this many templates (85065 beyond).
pub const TEMPLATE_LIMIT: usize = 200;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DraftList {
    pub draft_list: Vec<Draft>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Draft {
    pub draft_id: i64,
    pub user_version: String,
    pub user_desc: String,
    pub create_time: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TemplateList {
    pub template_list: Vec<Template>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Template {
    pub template_id: i64,
    pub draft_id: i64,
    pub user_version: String,
    pub user_desc: String,
    pub create_time: i64,
    pub template_type: i64,
    pub source_miniprogram: String,
    pub source_miniprogram_appid: String,
    pub developer: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PageList {
    pub page_list: Vec<String>,
}

/// `GET /wxa/get_category`: the categories the mini program may submit under.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Categories {
    pub category_list: Vec<AuditItem>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CodePrivacyInfo {
    pub without_auth_list: Vec<String>,
    pub without_conf_list: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Submitted {
    pub auditid: i64,
}

/// `get_latest_auditstatus` (and `get_auditstatus`, which lacks the version fields). The
/// documentation's table says `screenshot`, its sample `ScreenShot`: both are read.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AuditStatus {
    pub auditid: i64,
    pub status: i64,
    pub reason: String,
    #[serde(alias = "ScreenShot", alias = "Screenshot", alias = "screenShot")]
    pub screenshot: String,
    pub user_version: String,
    pub user_desc: String,
    pub submit_audit_time: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Quota {
    pub rest: i64,
    pub limit: i64,
    pub speedup_rest: i64,
    pub speedup_limit: i64,
}

/// Any answer whose only content is `errcode` 0.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Done {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_screenshot_key_is_read_whatever_its_case() {
        for key in ["screenshot", "ScreenShot"] {
            let body = format!(r#"{{"errcode":0,"auditid":7,"status":1,"reason":"r","{key}":"a|b"}}"#);
            let s: AuditStatus = serde_json::from_str(&body).unwrap();
            assert_eq!((s.auditid, s.status, s.screenshot.as_str()), (7, 1, "a|b"));
        }
    }
}
