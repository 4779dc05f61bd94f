//! The simulation's state changes, shared by the authorization page, the human page and
//! the dev endpoints. Each function expects to run inside one write transaction and
//! queues the push it causes in that same transaction (delivered by [`super::push`]).

use crate::db::DbConn;
use crate::wechat::crypto::build_flat_xml;

use super::store::{self, AuthCode, Ticket};

/// Permission sets a mini program can grant (reference §1.12).
pub const MP_FUNC_IDS: [i64; 8] = [17, 18, 19, 25, 30, 31, 40, 185];
/// Permission sets an official account can grant here.
pub const OA_FUNC_IDS: [i64; 1] = [33];

pub fn allowed_func_ids(kind: &str) -> &'static [i64] {
    if kind == "oa" { &OA_FUNC_IDS } else { &MP_FUNC_IDS }
}

/// Keeps the ids valid for the account kind, sorted and without repeats.
pub fn normalize_func_ids(kind: &str, ids: &[i64]) -> Vec<i64> {
    let allowed = allowed_func_ids(kind);
    let mut out: Vec<i64> = ids.iter().copied().filter(|id| allowed.contains(id)).collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Why a simulated action was refused.
#[derive(Debug)]
pub enum SimError {
    /// A refusal a person can read; the string is a catalog key under `sandbox.err.`.
    Refused(&'static str),
    Db(diesel::result::Error),
}

impl From<diesel::result::Error> for SimError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Db(e)
    }
}

impl SimError {
    /// The catalog key of the refusal (`sandbox.err.internal` for database errors).
    pub fn key(&self) -> &'static str {
        match self {
            Self::Refused(k) => k,
            Self::Db(_) => "sandbox.err.internal",
        }
    }
}

/// Checks a `pre_auth_code` as the authorization page does, without using it up.
pub fn check_pre_auth_code(
    conn: &mut DbConn,
    component_appid: &str,
    code: &str,
    now: i64,
) -> Result<store::PreAuthCode, SimError> {
    let pre = store::find_pre_auth_code(conn, code)?.ok_or(SimError::Refused("sandbox.err.code_invalid"))?;
    if pre.component_appid != component_appid {
        return Err(SimError::Refused("sandbox.err.component_invalid"));
    }
    if pre.used_at.is_some() {
        return Err(SimError::Refused("sandbox.err.code_used"));
    }
    if pre.expires_at <= now {
        return Err(SimError::Refused("sandbox.err.code_expired"));
    }
    Ok(pre)
}

/// The `redirect_uri` must be an http(s) URL on the console's own host (WeChat requires
/// the 授权发起页域名); anything else would make the page an open redirect.
pub fn check_redirect_uri(public_url: &str, redirect_uri: &str) -> Result<(), SimError> {
    let refused = SimError::Refused("sandbox.err.redirect_invalid");
    let authority = |url: &str| -> Option<String> {
        let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"))?;
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let host = &rest[..end];
        (!host.is_empty() && !host.contains('@')).then(|| host.to_ascii_lowercase())
    };
    match (authority(public_url), authority(redirect_uri)) {
        (Some(ours), Some(theirs)) if ours == theirs => Ok(()),
        _ => Err(refused),
    }
}

/// `redirect_uri` with `auth_code` and `expires_in` appended (before any fragment).
pub fn redirect_with_code(redirect_uri: &str, auth_code: &str) -> String {
    let (base, fragment) = match redirect_uri.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (redirect_uri, None),
    };
    let params =
        serde_urlencoded::to_string([("auth_code", auth_code), ("expires_in", &store::AUTH_CODE_TTL_SECS.to_string())])
            .unwrap_or_default();
    let sep = if !base.contains('?') {
        "?"
    } else if base.ends_with('?') || base.ends_with('&') {
        ""
    } else {
        "&"
    };
    match fragment {
        Some(f) => format!("{base}{sep}{params}#{f}"),
        None => format!("{base}{sep}{params}"),
    }
}

/// What the administrator chose on the authorization page.
pub struct AuthorizeInput<'a> {
    pub pre_auth_code: &'a str,
    pub appid: &'a str,
    pub func_ids: &'a [i64],
    pub redirect_uri: &'a str,
}

pub struct Authorized {
    pub auth_code: AuthCode,
    pub redirect: String,
    pub info_type: Option<&'static str>,
}

/// What the Authorize button does: uses up the pre-auth code, records the authorization
/// (a new refresh token), creates an auth code, queues `authorized` / `updateauthorized`.
pub fn authorize(
    conn: &mut DbConn,
    component_appid: &str,
    public_url: &str,
    input: &AuthorizeInput<'_>,
    now: i64,
) -> Result<Authorized, SimError> {
    let AuthorizeInput { pre_auth_code, appid, func_ids, redirect_uri } = *input;
    check_pre_auth_code(conn, component_appid, pre_auth_code, now)?;
    check_redirect_uri(public_url, redirect_uri)?;
    let account = store::find_account(conn, appid)?.ok_or(SimError::Refused("sandbox.err.no_account"))?;
    let funcs = normalize_func_ids(&account.kind, func_ids);
    if funcs.is_empty() {
        return Err(SimError::Refused("sandbox.err.no_permissions"));
    }
    if !store::claim_pre_auth_code(conn, pre_auth_code, now)? {
        return Err(SimError::Refused("sandbox.err.code_used"));
    }
    let previous = store::find_authorization(conn, appid)?;
    store::save_authorization(conn, appid, &funcs, now)?;
    let code = store::insert_auth_code(conn, appid, &funcs, pre_auth_code, now)?;
    let info_type = match &previous {
        Some(p) if p.active && p.func_ids() == funcs => None,
        Some(p) if p.active => Some("updateauthorized"),
        _ => Some("authorized"),
    };
    if let Some(info_type) = info_type {
        let payload = authorization_xml(component_appid, info_type, appid, Some(&code), now);
        store::enqueue_push(conn, info_type, Some(appid), &payload, now)?;
    }
    let redirect = redirect_with_code(redirect_uri, &code.code);
    Ok(Authorized { auth_code: code, redirect, info_type })
}

/// The administrator cancels the authorization on mp.weixin.qq.com.
pub fn revoke(conn: &mut DbConn, component_appid: &str, appid: &str, now: i64) -> Result<(), SimError> {
    if store::revoke_authorization(conn, appid, now)? == 0 {
        return Err(SimError::Refused("sandbox.err.not_authorized"));
    }
    store::revoke_authorizer_tokens(conn, appid)?;
    let payload = authorization_xml(component_appid, "unauthorized", appid, None, now);
    store::enqueue_push(conn, "unauthorized", Some(appid), &payload, now)?;
    Ok(())
}

/// The administrator changes the granted permission sets; `updateauthorized` is pushed
/// only when they actually change (reference §1.11). Returns whether they changed.
pub fn update_permissions(
    conn: &mut DbConn,
    component_appid: &str,
    appid: &str,
    func_ids: &[i64],
    now: i64,
) -> Result<bool, SimError> {
    let account = store::find_account(conn, appid)?.ok_or(SimError::Refused("sandbox.err.no_account"))?;
    let current = store::find_authorization(conn, appid)?
        .filter(|a| a.active)
        .ok_or(SimError::Refused("sandbox.err.not_authorized"))?;
    let funcs = normalize_func_ids(&account.kind, func_ids);
    if funcs.is_empty() {
        return Err(SimError::Refused("sandbox.err.no_permissions"));
    }
    if current.func_ids() == funcs {
        return Ok(false);
    }
    store::set_func_ids(conn, appid, &funcs, now)?;
    let code = store::insert_auth_code(conn, appid, &funcs, "", now)?;
    let payload = authorization_xml(component_appid, "updateauthorized", appid, Some(&code), now);
    store::enqueue_push(conn, "updateauthorized", Some(appid), &payload, now)?;
    Ok(true)
}

/// How long the background task leaves a push alone that its caller sends at once.
pub const INLINE_GRACE_SECS: i64 = 30;

/// Mints a new `component_verify_ticket` and queues its push; returns the ticket and the
/// push id. With `inline`, the caller sends the push itself right away.
pub fn new_ticket(
    conn: &mut DbConn,
    component_appid: &str,
    now: i64,
    inline: bool,
) -> Result<(Ticket, String), SimError> {
    let ticket = store::insert_ticket(conn, now)?;
    let now_s = now.to_string();
    let payload = build_flat_xml(&[
        ("AppId", component_appid),
        ("CreateTime", &now_s),
        ("InfoType", "component_verify_ticket"),
        ("ComponentVerifyTicket", &ticket.ticket),
    ]);
    let due = if inline { now + INLINE_GRACE_SECS } else { now };
    let push_id = store::enqueue_push_at(conn, "component_verify_ticket", None, &payload, now, due)?;
    Ok((ticket, push_id))
}

/// The decrypted XML of `authorized` / `updateauthorized` / `unauthorized` (reference §1.11).
/// `AuthorizationCodeExpiredTime` is the Unix time at which the code expires.
fn authorization_xml(component_appid: &str, info_type: &str, appid: &str, code: Option<&AuthCode>, now: i64) -> String {
    let now_s = now.to_string();
    let mut fields: Vec<(&str, &str)> =
        vec![("AppId", component_appid), ("CreateTime", &now_s), ("InfoType", info_type), ("AuthorizerAppid", appid)];
    let expires;
    if let Some(code) = code {
        expires = code.expires_at.to_string();
        fields.push(("AuthorizationCode", &code.code));
        fields.push(("AuthorizationCodeExpiredTime", &expires));
        fields.push(("PreAuthCode", &code.pre_auth_code));
    }
    build_flat_xml(&fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_code_is_appended_to_the_redirect() {
        assert_eq!(redirect_with_code("http://h/cb", "c@1"), "http://h/cb?auth_code=c%401&expires_in=600");
        assert_eq!(redirect_with_code("http://h/cb?state=x", "c"), "http://h/cb?state=x&auth_code=c&expires_in=600");
        assert_eq!(redirect_with_code("http://h/cb?", "c"), "http://h/cb?auth_code=c&expires_in=600");
        assert_eq!(redirect_with_code("http://h/cb#top", "c"), "http://h/cb?auth_code=c&expires_in=600#top");
    }

    #[test]
    fn redirects_stay_on_the_console_host() {
        let ours = "http://127.0.0.1:8080";
        assert!(check_redirect_uri(ours, "http://127.0.0.1:8080/wechat/authorized?state=1").is_ok());
        assert!(check_redirect_uri(ours, "http://127.0.0.1:8080").is_ok());
        assert!(check_redirect_uri(ours, "http://evil.example/").is_err());
        assert!(check_redirect_uri(ours, "http://127.0.0.1:8080@evil.example/").is_err());
        assert!(check_redirect_uri(ours, "javascript:alert(1)").is_err());
        assert!(check_redirect_uri(ours, "").is_err());
    }

    #[test]
    fn permission_sets_follow_the_account_kind() {
        assert_eq!(normalize_func_ids("mp", &[40, 17, 33, 17, 999]), vec![17, 40]);
        assert_eq!(normalize_func_ids("oa", &[17, 33]), vec![33]);
    }
}
