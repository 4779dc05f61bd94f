//! `minihost demo-data`: many approved tenants, each with a bound, verified dedicated mini
//! program, so that pages can be measured at a realistic size (the page benchmark,
//! `scripts/bench-page.sh`). By default the AppIDs are fictitious and nothing calls
//! WeChat for them; with [`Accounts::Sandbox`] each is an account of the sandbox whose
//! refresh token the console keeps, so checks reach it (`scripts/bench-requirements.sh`).

use diesel::prelude::*;

use crate::auth::password;
use crate::db::{
    self, DbConn,
    audit::{self, Actor},
    bindings,
    models::NewUser,
    platform::{self as store, Details, Grant},
    schema::{applications, tenant_members, tenants},
};
use crate::domain::{application::ROLE_TECHNICAL_MERCHANT, avatar};
use crate::secrets::Sealer;

pub const DEFAULT_PASSWORD: &str = "demo-password-1";
/// Every permission set the platform requires by default, so no tenant shows a missing one.
pub const PERMISSION_SETS: &str = "17,18,19,25,30,31,40";

/// The login e-mail of demo tenant `i` (1-based).
pub fn email(i: usize) -> String {
    format!("admin-{i:05}@demo.example")
}

/// The fictitious AppID of demo tenant `i`: `wxdemo` and 12 hex digits, as long as a real one.
pub fn appid(i: usize) -> String {
    format!("wxdemo{i:012x}")
}

/// A demo tenant's mini program, as [`Accounts::Sandbox`] is asked to create it.
pub struct DemoMp<'a> {
    pub index: usize,
    pub appid: &'a str,
    pub nick_name: &'a str,
    pub user_name: &'a str,
    pub principal_name: &'a str,
}

/// Where the demo mini programs live.
pub enum Accounts<'a> {
    /// Fictitious AppIDs: nothing calls WeChat for them (the page benchmark).
    Fictitious,
    /// Accounts created by `create` (in the sandbox), which answers their refresh token;
    /// the console keeps it sealed, as after a real authorization.
    Sandbox { sealer: &'a Sealer, create: &'a dyn Fn(&mut DbConn, &DemoMp) -> QueryResult<String> },
}

#[derive(Debug, PartialEq, Eq)]
pub enum Loaded {
    /// `admin-00001@demo.example` exists: nothing was written.
    AlreadyThere,
    Created {
        tenants: usize,
        first_email: String,
    },
}

/// Creates `count` demo tenants in one write transaction on a migrated database, or nothing
/// when the demo data is already there (`admin-00001@demo.example` exists).
pub fn load(conn: &mut DbConn, count: usize, demo_password: &str) -> anyhow::Result<Loaded> {
    load_with(conn, count, demo_password, &Accounts::Fictitious)
}

/// [`load`], with the mini programs where `accounts` says.
pub fn load_with(conn: &mut DbConn, count: usize, demo_password: &str, accounts: &Accounts) -> anyhow::Result<Loaded> {
    anyhow::ensure!(count > 0, "--tenants must be at least 1");
    anyhow::ensure!(!demo_password.is_empty(), "the demo password must not be empty");
    if db::users::find_by_email(conn, &email(1))?.is_some() {
        return Ok(Loaded::AlreadyThere);
    }
    // argon2 is deliberately slow: one hash, shared by every demo account.
    let hash = password::hash(demo_password)?;
    let now = crate::now();
    db::write_tx(conn, |conn| -> anyhow::Result<Loaded> {
        // Checked again inside the transaction: a concurrent loader may have won.
        if db::users::find_by_email(conn, &email(1))?.is_some() {
            return Ok(Loaded::AlreadyThere);
        }
        for i in 1..=count {
            tenant(conn, i, &hash, accounts, now)?;
        }
        audit::write(
            conn,
            audit::Record::<(), _> {
                actor: &Actor::system(),
                tenant_id: None,
                action: "demo.loaded",
                subject: "demo",
                before: None,
                after: Some(&serde_json::json!({
                    "tenants": count,
                    "first_email": email(1),
                    "appids": format!("{}…{}", appid(1), appid(count.max(1))),
                })),
            },
            now,
        )?;
        Ok(Loaded::Created { tenants: count, first_email: email(1) })
    })
}

/// One tenant: its admin, the approved application, the workspace and membership, the
/// authorized mini program and its active binding.
fn tenant(conn: &mut DbConn, i: usize, password_hash: &str, accounts: &Accounts, now: i64) -> QueryResult<()> {
    let (user_id, application_id, tenant_id) = (crate::new_id(), crate::new_id(), crate::new_id());
    let (email, appid) = (email(i), appid(i));
    let company = format!("Demo Company {i}");
    let color = avatar::pick_color(i as u32);
    let website = format!("https://company-{i:05}.demo.example");
    let phone = format!("+86 10 {i:08}");
    db::users::insert(
        conn,
        &NewUser {
            id: &user_id,
            email: &email,
            name: &format!("Demo Admin {i}"),
            password_hash,
            is_operator: false,
            created_at: now,
        },
    )?;
    diesel::insert_into(applications::table)
        .values((
            applications::id.eq(&application_id),
            applications::user_id.eq(&user_id),
            applications::status.eq("approved"),
            applications::step.eq(3),
            applications::role.eq(ROLE_TECHNICAL_MERCHANT),
            applications::company_name.eq(&company),
            applications::website.eq(&website),
            applications::contact_phone.eq(&phone),
            applications::contact_email.eq(&email),
            applications::avatar_color.eq(color),
            applications::tenant_id.eq(&tenant_id),
            applications::submitted_at.eq(now),
            applications::decided_at.eq(now),
            applications::created_at.eq(now),
            applications::updated_at.eq(now),
        ))
        .execute(conn)?;
    diesel::insert_into(tenants::table)
        .values((
            tenants::id.eq(&tenant_id),
            tenants::name.eq(&company),
            tenants::avatar_color.eq(color),
            tenants::website.eq(&website),
            tenants::contact_phone.eq(&phone),
            tenants::contact_email.eq(&email),
            tenants::application_id.eq(&application_id),
            tenants::created_at.eq(now),
        ))
        .execute(conn)?;
    diesel::insert_into(tenant_members::table)
        .values((
            tenant_members::tenant_id.eq(&tenant_id),
            tenant_members::user_id.eq(&user_id),
            tenant_members::role.eq("admin"),
            tenant_members::created_at.eq(now),
        ))
        .execute(conn)?;
    let (nick_name, user_name, principal_name) =
        (format!("Demo Store {i}"), format!("gh_demo{i:06x}"), format!("{company} Co., Ltd."));
    // Fictitious: no tokens (the tab only reads the row, and nothing refreshes an account
    // without one). In the sandbox: its refresh token, sealed; the access token is
    // obtained on the first call.
    let refresh_token_enc = match accounts {
        Accounts::Fictitious => None,
        Accounts::Sandbox { sealer, create } => {
            let mp = DemoMp {
                index: i,
                appid: &appid,
                nick_name: &nick_name,
                user_name: &user_name,
                principal_name: &principal_name,
            };
            Some(sealer.seal(&create(conn, &mp)?))
        }
    };
    store::upsert_grant(
        conn,
        &Grant {
            appid: &appid,
            refresh_token_enc: refresh_token_enc.as_deref(),
            access_token_enc: None,
            access_expires_at: 0,
            func_ids: None,
        },
        now,
    )?;
    store::update_details(
        conn,
        &appid,
        &Details {
            nick_name: &nick_name,
            head_img: "",
            user_name: &user_name,
            principal_name: &principal_name,
            service_type: 0,
            verify_type: 0,
            is_mini_program: true,
            info_json: "{}",
            func_ids: PERMISSION_SETS,
        },
        now,
    )?;
    bindings::insert_active(conn, &crate::new_id(), &tenant_id, &appid, false, &user_id, now)
}
