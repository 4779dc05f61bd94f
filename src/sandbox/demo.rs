//! Demo mini programs in the sandbox, for `minihost demo-data --sandbox`: each is a
//! verified mini program authorized to the platform with every permission set, so the
//! console's requirement checks (and anything else) reach a real simulated account. Its
//! refresh token is returned for the console to keep, as after an authorization.

use diesel::prelude::*;

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
}

const EMPTY_NETWORK: &str =
    r#"{"RequestDomain":[],"WsRequestDomain":[],"UploadDomain":[],"DownloadDomain":[],"BizDomain":[],"UDPDomain":[]}"#;

/// Creates the account (verified, filed with the ICP, its annual review due in about 300
/// days, nothing else configured: a freshly bound mini program) and its authorization;
/// returns the refresh token.
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
    store::save_authorization(conn, a.appid, &sim::MP_FUNC_IDS, now)
}
