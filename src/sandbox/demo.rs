//! Demo mini programs in the sandbox, for `minihost demo-data --sandbox`: each is a
//! verified mini program authorized to the platform with every permission set, so the
//! console's requirement checks (and anything else) reach a real simulated account. Its
//! refresh token is returned for the console to keep, as after an authorization.
//!
//! A ready account ([`DemoAccount::ready`], [`make_ready`]) also has what the seed
//! template needs (seed 000 §2, the console's default template requirements) added and
//! approved, so nothing is due and a version can be submitted for review at once.

use diesel::prelude::*;

use super::manage::edit::{self, CategoryEdit, EditError, MpEdit, PluginEdit};
use super::manage::review;
use super::manage::rules::{self, DomainList, OwnerSetting, PrivacyItem, PrivacySetting};
use super::manage::state::{self, InterfaceChange};
use super::schema::{sandbox_accounts, sandbox_mp_settings};
use super::{sim, store};
use crate::db::DbConn;

/// A demo mini program as the console's demo data names it.
pub struct DemoAccount<'a> {
    pub appid: &'a str,
    pub nick_name: &'a str,
    pub user_name: &'a str,
    pub principal_name: &'a str,
    /// Where it is listed on `/sandbox/` (after the seeded accounts).
    pub position: i32,
    /// Whether it already has what the seed template needs ([`make_ready`]); otherwise it
    /// is freshly bound, with nothing configured.
    pub ready: bool,
}

const EMPTY_NETWORK: &str =
    r#"{"RequestDomain":[],"WsRequestDomain":[],"UploadDomain":[],"DownloadDomain":[],"BizDomain":[],"UDPDomain":[]}"#;

/// Creates the account (verified, filed with the ICP, its annual review due in about 300
/// days, nothing else configured: a freshly bound mini program; unless `a.ready`, then
/// [`make_ready`]) and its authorization; returns the refresh token.
pub fn create_account(conn: &mut DbConn, a: &DemoAccount, now: i64) -> QueryResult<String> {
    diesel::insert_into(sandbox_accounts::table)
        .values((
            sandbox_accounts::appid.eq(a.appid),
            sandbox_accounts::kind.eq("mp"),
            sandbox_accounts::nick_name.eq(a.nick_name),
            sandbox_accounts::head_img.eq(format!("https://wx.qlogo.cn/mmhead/sandbox/{}/0", a.appid)),
            sandbox_accounts::user_name.eq(a.user_name),
            sandbox_accounts::principal_name.eq(a.principal_name),
            sandbox_accounts::verified.eq(true),
            sandbox_accounts::alias.eq(""),
            sandbox_accounts::signature.eq(format!("{} online store.", a.nick_name)),
            sandbox_accounts::qrcode_url.eq(format!("https://mp.weixin.qq.com/sandbox/qrcode/{}", a.appid)),
            sandbox_accounts::service_type.eq(0),
            sandbox_accounts::account_status.eq(1),
            sandbox_accounts::categories.eq("[]"),
            sandbox_accounts::network.eq(EMPTY_NETWORK),
            sandbox_accounts::business_info
                .eq(r#"{"open_pay":0,"open_shake":0,"open_scan":0,"open_card":0,"open_store":0}"#),
            sandbox_accounts::position.eq(a.position),
            sandbox_accounts::updated_at.eq(now),
        ))
        .execute(conn)?;
    diesel::insert_into(sandbox_mp_settings::table)
        .values((
            sandbox_mp_settings::appid.eq(a.appid),
            sandbox_mp_settings::annual_review_begin.eq(Some(now + 210 * 86_400)),
            sandbox_mp_settings::annual_review_end.eq(Some(now + 300 * 86_400)),
            sandbox_mp_settings::icp_status.eq(6),
            sandbox_mp_settings::updated_at.eq(now),
        ))
        .execute(conn)?;
    if a.ready {
        make_ready(conn, a.appid, now)?;
    }
    store::save_authorization(conn, a.appid, &sim::MP_FUNC_IDS, now)
}

/// The seed template's plugin: 微信同声传译 (WeChat real-time translation).
pub const READY_PLUGIN: &str = "wx069ba97219f66d99";
/// The seed template's service categories as `(first, second)` ids of the sandbox's tree:
/// IT & Technology > Software Service Provider, Merchant Self-operated > Apparel & Underwear.
pub const READY_CATEGORIES: [(i64, i64); 2] = [(7, 70), (304, 305)];
/// The seed template's request domains.
pub const READY_DOMAINS: [&str; 10] = [
    "https://a9.fspage.com",
    "https://ale.fxiaoke.com",
    "https://apis.map.qq.com",
    "https://hwcloud.fxiaoke.com",
    "https://img.ceshi112.com",
    "https://img.fxiaoke.com",
    "https://pay.fxiaoke.com",
    "https://restapi.amap.com",
    "https://www.ceshi112.com",
    "https://www.fxiaoke.com",
];
/// The seed template's privacy-sensitive interface, and the reason it was applied with.
pub const READY_INTERFACE: (&str, &str) = (
    "wx.getLocation",
    "This feature involves collecting delivery addresses and requires user location information. Please approve.",
);
/// The seed template's privacy guide: what it collects and why.
pub const READY_PRIVACY_ITEMS: [(&str, &str); 4] = [
    ("UserInfo", "show your name and avatar on your orders"),
    ("Location", "fill in delivery addresses and find the nearest store"),
    ("PhoneNumber", "contact you about your orders and deliveries"),
    ("Address", "deliver the goods you order"),
];

/// Gives an existing mini program what the seed template needs, as if each had been
/// applied for and approved: the plugin added (status 2), both service categories
/// approved (3), the request domains set, `wx.getLocation` enabled (5, with its
/// application) and the development version's privacy guide set. Basic info, the
/// verification and the ICP filing are left as they are. No review is queued and nothing
/// is pushed. Call inside one write transaction.
pub fn make_ready(conn: &mut DbConn, appid: &str, now: i64) -> QueryResult<()> {
    let requestdomain = READY_DOMAINS
        .iter()
        .map(|d| rules::server_domain(DomainList::Request, d).map(|(stored, _)| stored))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|code| invalid(&format!("a ready request domain is refused ({code})")))?;
    let privacy_setting = PrivacySetting {
        setting_list: READY_PRIVACY_ITEMS
            .iter()
            .map(|(key, text)| PrivacyItem { privacy_key: (*key).into(), privacy_text: (*text).into() })
            .collect(),
        owner_setting: OwnerSetting {
            contact_email: format!("privacy@{}.demo.example", appid.to_ascii_lowercase()),
            notice_method: "Pop-up message".into(),
            store_expire_timestamp: "365 days".into(),
            ..Default::default()
        },
        update_time: now,
    };
    let change = MpEdit {
        plugins: Some(vec![PluginEdit { appid: READY_PLUGIN.into(), status: 2, reason: String::new() }]),
        categories: Some(
            READY_CATEGORIES
                .iter()
                .map(|&(first, second)| CategoryEdit { first, second, audit_status: 3, audit_reason: String::new() })
                .collect(),
        ),
        requestdomain: Some(requestdomain),
        privacy_setting: Some(Some(privacy_setting)),
        ..Default::default()
    };
    edit::apply(conn, appid, &change, now).map_err(|e| match e {
        EditError::NotFound => diesel::result::Error::NotFound,
        EditError::Db(e) => e,
    })?;
    // Enabled after an application, as the reviewer leaves it (`edit` would set the status
    // alone, without the application's time and audit id).
    let (api_name, reason) = READY_INTERFACE;
    let change =
        InterfaceChange { status: 5, fail_reason: "", application: Some((now, review::new_audit_id(), reason)) };
    state::put_interface(conn, appid, api_name, &change, now)
}

fn invalid(message: &str) -> diesel::result::Error {
    diesel::result::Error::QueryBuilderError(message.into())
}
