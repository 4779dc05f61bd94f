//! Official account APIs on behalf of an authorizer (reference §5, wave-2 notes §3): the
//! link with a mini program, the current menu and the private notification templates.
//! Types only; the calls go through `services::platform::Platform::call_authorizer`.

use serde::{Deserialize, Serialize};

/// `POST`, empty body (permission set 33).
pub const WXAMPLINKGET: &str = "/cgi-bin/wxopen/wxamplinkget";
/// `POST {appid, notify_users, show_profile}`, the flags as numbers (set 33).
pub const WXAMPLINK: &str = "/cgi-bin/wxopen/wxamplink";
/// `POST {appid}` (set 33).
pub const WXAMPUNLINK: &str = "/cgi-bin/wxopen/wxampunlink";
/// `GET`: the menu as it is now, however it was set.
pub const GET_CURRENT_SELFMENU_INFO: &str = "/cgi-bin/get_current_selfmenu_info";
/// `GET`: the account's private templates.
pub const GET_ALL_PRIVATE_TEMPLATE: &str = "/cgi-bin/template/get_all_private_template";
/// `POST {template_id_short}` → `template_id`.
pub const API_ADD_TEMPLATE: &str = "/cgi-bin/template/api_add_template";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LinkGet {
    pub wxopens: LinkItems,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LinkItems {
    pub items: Vec<LinkItem>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LinkItem {
    /// 1 linked, 2 waiting for the mini program's administrator, 3 refused, 12 waiting for
    /// the official account's administrator.
    pub status: i64,
    pub appid: String,
    pub username: String,
    pub nickname: String,
    pub headimg_url: String,
    /// Shown on the official account's profile.
    pub selected: i64,
}

/// `get_current_selfmenu_info`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CurrentMenu {
    pub is_menu_open: i64,
    pub selfmenu_info: MenuInfo,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MenuInfo {
    pub button: Vec<MenuButton>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MenuButton {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub url: String,
    pub appid: String,
    pub pagepath: String,
    pub sub_button: SubButtons,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SubButtons {
    pub list: Vec<MenuButton>,
}

impl CurrentMenu {
    /// Every entry, top-level and in sub-menus, with the name of the menu it is in.
    pub fn entries(&self) -> Vec<(Option<&str>, &MenuButton)> {
        let mut out = Vec::new();
        for b in &self.selfmenu_info.button {
            if b.sub_button.list.is_empty() {
                out.push((None, b));
            }
            for s in &b.sub_button.list {
                out.push((Some(b.name.as_str()), s));
            }
        }
        out
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PrivateTemplates {
    pub template_list: Vec<PrivateTemplate>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PrivateTemplate {
    pub template_id: String,
    pub title: String,
    pub content: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AddedTemplate {
    pub template_id: String,
}

/// The `{{name.DATA}}` fields of a template's content, in order.
pub fn template_fields(content: &str) -> Vec<String> {
    content
        .split("{{")
        .skip(1)
        .filter_map(|part| part.split_once(".DATA}}").map(|(name, _)| name.trim().to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn template_fields_are_read_from_the_content() {
        let c = "{{first.DATA}}\n订单编号：{{keyword1.DATA}}\n{{remark.DATA}}";
        assert_eq!(super::template_fields(c), ["first", "keyword1", "remark"]);
    }
}
