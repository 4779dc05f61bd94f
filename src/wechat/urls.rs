//! WeChat's authorization page URLs (reference §1.6): the PC page with its QR code and
//! the mobile link. Pure string building; the bases come from configuration.

/// Which accounts the authorization page offers (`auth_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthType {
    /// Official accounts only.
    OfficialAccount = 1,
    /// Mini programs only.
    MiniProgram = 2,
    /// Both.
    Any = 3,
}

/// The PC authorization page (`componentloginpage`). A re-authorization is pinned to the
/// bound AppID with `biz_appid`, which takes the place of `auth_type`.
pub fn authorization_url(
    mp_base: &str,
    component_appid: &str,
    pre_auth_code: &str,
    redirect_uri: &str,
    auth_type: AuthType,
    biz_appid: Option<&str>,
) -> String {
    let auth_type = (auth_type as u8).to_string();
    let mut pairs =
        vec![("component_appid", component_appid), ("pre_auth_code", pre_auth_code), ("redirect_uri", redirect_uri)];
    match biz_appid {
        Some(appid) => pairs.push(("biz_appid", appid)),
        None => pairs.push(("auth_type", auth_type.as_str())),
    }
    let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    format!("{mp_base}/cgi-bin/componentloginpage?{query}")
}

/// The mobile form of the same link (`safe/bindcomponent`), opened inside WeChat.
pub fn mobile_url(mp_base: &str, pc_url: &str) -> String {
    let query = pc_url.split_once('?').map(|(_, q)| q).unwrap_or_default();
    format!("{mp_base}/safe/bindcomponent?action=bindcomponent&no_scan=1&{query}#wechat_redirect")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pinned_reauthorization_carries_biz_appid_instead_of_auth_type() {
        let url =
            authorization_url("https://mp", "wxC", "pre@@@1", "https://c/cb?state=s", AuthType::MiniProgram, None);
        assert!(
            url.starts_with("https://mp/cgi-bin/componentloginpage?component_appid=wxC&pre_auth_code=pre%40%40%401")
        );
        assert!(url.contains("redirect_uri=https%3A%2F%2Fc%2Fcb%3Fstate%3Ds") && url.ends_with("auth_type=2"));
        let pinned = authorization_url("https://mp", "wxC", "p", "r", AuthType::MiniProgram, Some("wxA"));
        assert!(pinned.ends_with("biz_appid=wxA") && !pinned.contains("auth_type"));
        let mobile = mobile_url("https://mp", &pinned);
        assert!(mobile.starts_with("https://mp/safe/bindcomponent?action=bindcomponent&no_scan=1&component_appid=wxC"));
        assert!(mobile.ends_with("#wechat_redirect"));
    }
}
