//! The WeChat sandbox: a simulator of WeChat's Open Platform for a third-party platform,
//! mounted under `/sandbox` when sandbox mode is on. Compiled only with the cargo feature
//! `sandbox` (on by default).
//!
//! The console reaches it only over HTTP through its configured base URLs; nothing in the
//! console calls this module, and this module uses none of the console's code beyond the
//! shared infrastructure (the connection layer `crate::db::{DbConn, DbPool, write_tx,
//! run}`, `crate::now`, `crate::new_id`, `crate::i18n`) and the wire-level protocol
//! (`crate::wechat::crypto`). Its pages have their own layout, context ([`page::SandboxCtx`]),
//! error page ([`page::SandboxError`]) and CSRF protection ([`page::CheckedForm`]); they
//! never read the console's session. Its state lives in its own `sandbox_*` tables,
//! created by its own migration set (`migrations/sandbox/`, [`migrate`]), so it survives
//! restarts and is shared by every process on the database.
//!
//! * [`api`]: `api.weixin.qq.com` under `/sandbox/wechat` (component endpoints, fault
//!   injection, call log, token checks).
//! * [`manage`]: the mini program management APIs (basic info, plugins, categories,
//!   privacy interfaces and guide, server domains, ICP), WeChat's reviewer, and their
//!   dev endpoints.
//! * [`code`]: code management (template library, commit, privacy scan, audits,
//!   releases, the platform's audit quota), WeChat's reviewer of code, their dev endpoints.
//! * [`limits`]: per-path call limits of the gate (45009).
//! * [`authpage`]: WeChat's authorization page under `/sandbox/mp`.
//! * [`push`]: encrypted pushes to `{public_url}/wechat/component/events` and, for an
//!   authorizer's message events, `{public_url}/wechat/mp/{appid}/events`.
//! * [`official`]: official accounts (links to mini programs, menu, templates).
//! * [`pages`]: the human page `/sandbox/`; [`dev`]: JSON endpoints for tests.

use std::sync::Arc;

use actix_web::{middleware, web};
use diesel_migrations::embed_migrations;

use crate::db::{DbConn, DbPool};

pub mod api;
pub mod authpage;
pub mod code;
pub mod demo;
pub mod dev;
pub mod limits;
pub mod manage;
pub mod official;
pub mod page;
pub mod pages;
pub mod pay;
pub mod push;
pub mod schema;
// the trade component and WeChat Shop links (issue 13)
pub mod shop;
pub mod sim;
pub mod store;

pub use api::check_authorizer_token;

/// What the sandbox needs to know, built by `startup` from the console's configuration.
#[derive(Clone)]
pub struct SandboxConfig {
    /// The console's public URL: pushes go to `{public_url}/wechat/component/events`, and
    /// redirect URIs must be on its host.
    pub public_url: String,
    /// The simulated third-party platform's credentials.
    pub component_appid: String,
    pub component_secret: String,
    pub component_token: String,
    pub component_aes_key: String,
    /// How often a `component_verify_ticket` is pushed.
    pub ticket_interval_secs: u64,
    /// Lifetime of the tokens it issues.
    pub token_ttl_secs: i64,
    /// The base URLs the console uses for it, shown on its page.
    pub api_base: String,
    pub mp_base: String,
    /// When set, the sandbox's reviewer approves a pending review by itself this many
    /// seconds after it was queued; when `None`, reviews wait for a decision by hand.
    pub review_delay_secs: Option<u64>,
    /// Of the code audits the reviewer decides by itself, the share it rejects and the
    /// share it delays (0 to 100 each; a delayed audit is decided again after another
    /// delay, and never delayed twice).
    pub review_reject_percent: u8,
    pub review_delay_percent: u8,
    /// How long the code privacy scan after a `commit` takes.
    pub privacy_scan_secs: u64,
    /// The base URLs the console uses for WeChat Pay and Alipay, shown on their pages.
    pub wechatpay_api_base: String,
    pub alipay_gateway: String,
    /// Notifications are retried on WeChat Pay's and Alipay's schedules divided by this.
    pub pay_retry_divisor: u32,
    /// How long WeChat Pay takes for a step it does by itself (opening a signed
    /// sub-merchant, settling a refund).
    pub pay_step_secs: u64,
}

impl SandboxConfig {
    /// Whether browsers reach it over HTTPS (its cookies are then `Secure`).
    pub fn https(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

/// What the sandbox's handlers share.
pub struct Sandbox {
    pub pool: DbPool,
    pub config: SandboxConfig,
    pub pusher: Arc<push::Pusher>,
}

/// Keeps the background pusher; stopping it is part of stopping the server.
#[derive(Clone)]
pub struct SandboxHandle {
    data: web::Data<Sandbox>,
    alipay: pay::alipay::Handle,
    wechatpay: pay::wechatpay::Handle,
}

impl SandboxHandle {
    pub fn data(&self) -> web::Data<Sandbox> {
        self.data.clone()
    }

    pub fn stop(&self) {
        self.data.pusher.stop();
        self.alipay.stop();
        self.wechatpay.stop();
    }
}

/// The sandbox's own migration set (`migrations/sandbox/`).
const MIGRATIONS: crate::db::MigrationSet = crate::db::MigrationSet {
    name: "sandbox",
    #[cfg(feature = "sqlite")]
    sqlite: embed_migrations!("migrations/sandbox/sqlite"),
    #[cfg(feature = "postgres")]
    postgres: embed_migrations!("migrations/sandbox/postgres"),
};

/// Creates the sandbox's tables and seeded accounts when missing (its own migration set;
/// `startup` calls it after the console's migrations, only when the sandbox is on).
pub fn migrate(conn: &mut DbConn) -> anyhow::Result<()> {
    crate::db::apply(conn, MIGRATIONS)
}

/// Creates the sandbox's state and spawns its pusher (needs a Tokio runtime).
pub fn start(pool: DbPool, config: SandboxConfig) -> SandboxHandle {
    let pusher = Arc::new(push::Pusher::new(pool.clone(), config.clone()));
    tokio::spawn(pusher.clone().run());
    let data = web::Data::new(Sandbox { pool, config, pusher });
    let alipay = pay::alipay::spawn(&data);
    let wechatpay = pay::wechatpay::spawn(&data);
    SandboxHandle { data, alipay, wechatpay }
}

/// The API paths (after `/sandbox/wechat`) and their handlers.
fn api_routes(cfg: &mut web::ServiceConfig) {
    api::write(cfg, "/cgi-bin/component/api_component_token", api::component_token);
    api::write(cfg, "/cgi-bin/component/api_create_preauthcode", api::create_preauthcode);
    api::write(cfg, "/cgi-bin/component/api_query_auth", api::query_auth);
    api::write(cfg, "/cgi-bin/component/api_authorizer_token", api::authorizer_token);
    api::write(cfg, "/cgi-bin/component/api_get_authorizer_info", api::get_authorizer_info);
    api::write(cfg, "/cgi-bin/component/api_get_authorizer_list", api::get_authorizer_list);
    api::write(cfg, "/cgi-bin/component/api_start_push_ticket", api::start_push_ticket);
    manage::api::routes(cfg);
    code::api::routes(cfg);
    official::routes(cfg);
    shop::api::routes(cfg);
}

/// Mounts every sandbox route. `startup` registers them before the console's scope: each
/// is its own scope or resource, so paths they do not claim (the console's dev mailbox at
/// `/sandbox/mailbox`) still reach the console. None of them passes through the
/// console's session or CSRF middleware; the human forms check [`page::CheckedForm`].
pub fn configure(cfg: &mut web::ServiceConfig, handle: &SandboxHandle) {
    let form = || web::FormConfig::default().limit(64 * 1024).error_handler(page::bad_form);
    cfg.app_data(handle.data())
        // Before the `/sandbox/dev` scope, which would otherwise claim `/sandbox/dev/alipay/…`.
        .configure(pay::wechatpay::configure)
        .configure(pay::alipay::configure)
        // Before `/sandbox/dev`, which would otherwise claim `/sandbox/dev/shop/…` (issue 13).
        .configure(shop::pages::configure)
        .service(
            web::scope("/sandbox/wechat")
                .wrap(middleware::from_fn(api::gate))
                .configure(api_routes)
                .default_service(web::to(api::unknown_api)),
        )
        .service(
            web::scope("/sandbox/mp")
                .app_data(form())
                .route("/cgi-bin/componentloginpage", web::get().to(authpage::show))
                .route("/cgi-bin/componentloginpage", web::post().to(authpage::confirm))
                .route("/safe/bindcomponent", web::get().to(authpage::show))
                .route("/safe/bindcomponent", web::post().to(authpage::confirm))
                .default_service(web::to(page::not_found)),
        )
        .service(
            web::scope("/sandbox/dev")
                .route("/ticket", web::get().to(dev::ticket))
                .route("/push-ticket", web::post().to(dev::push_ticket))
                .route("/faults", web::get().to(dev::list_faults))
                .route("/faults", web::post().to(dev::add_fault))
                .route("/faults", web::delete().to(dev::clear_faults))
                .route("/calls", web::get().to(dev::calls))
                .route("/pushes", web::get().to(dev::pushes))
                .route("/accounts", web::get().to(dev::accounts))
                .route("/accounts/{appid}", web::post().to(dev::edit_account))
                .route("/accounts/{appid}/settings", web::get().to(manage::dev::get_settings))
                .route("/accounts/{appid}/settings", web::post().to(manage::dev::set_settings))
                .route("/reviews", web::get().to(manage::dev::reviews))
                .route("/reviews/{id}", web::post().to(code::dev::decide_review))
                .route("/drafts", web::get().to(code::dev::list_drafts))
                .route("/drafts", web::post().to(code::dev::add_draft))
                .route("/code/{appid}", web::get().to(code::dev::get_code))
                .route("/code/{appid}/decide", web::post().to(code::dev::decide_code))
                .route("/quota", web::get().to(code::dev::get_quota))
                .route("/quota", web::post().to(code::dev::set_quota))
                .route("/limits", web::get().to(limits::list_limits))
                .route("/limits", web::post().to(limits::set_limit))
                .route("/limits", web::delete().to(limits::clear_limits))
                .route("/platform-domains", web::get().to(manage::dev::platform_domains))
                .route("/platform-domains", web::post().to(manage::dev::set_platform_domains))
                .route("/authorize", web::post().to(dev::authorize))
                .route("/revoke", web::post().to(dev::revoke))
                .route("/update-permissions", web::post().to(dev::update_permissions))
                .route("/expire-tokens", web::post().to(dev::expire_tokens))
                .route("/expire-codes", web::post().to(dev::expire_codes))
                .route("/expire-tickets", web::post().to(dev::expire_tickets))
                // official accounts
                .route("/oa-links", web::get().to(official::dev_links))
                .route("/oa-links", web::post().to(official::dev_add_link))
                .route("/oa-links/decide", web::post().to(official::dev_decide))
                .route("/accounts/{appid}/menu", web::post().to(official::dev_set_menu))
                .route("/accounts/{appid}/templates", web::post().to(official::dev_set_templates))
                .default_service(web::to(dev::not_found)),
        )
        .service(web::resource("/sandbox/static/sandbox.css").route(web::get().to(stylesheet)))
        .service(web::resource("/sandbox").route(web::get().to(pages::home)))
        .service(web::resource("/sandbox/").route(web::get().to(pages::home)))
        .service(web::resource("/sandbox/push-ticket").app_data(form()).route(web::post().to(pages::push_ticket)))
        .service(web::resource("/sandbox/accounts/{appid}").app_data(form()).route(web::post().to(pages::edit_account)))
        .service(
            web::resource("/sandbox/accounts/{appid}/revoke").app_data(form()).route(web::post().to(pages::revoke)),
        )
        .service(
            web::resource("/sandbox/accounts/{appid}/permissions")
                .app_data(form())
                .route(web::post().to(pages::permissions)),
        )
        .service(web::resource("/sandbox/reviews/{id}").app_data(form()).route(web::post().to(pages::decide_review)))
        .service(web::resource("/sandbox/drafts").app_data(form()).route(web::post().to(pages::upload_draft)))
        .service(web::resource("/sandbox/quota").app_data(form()).route(web::post().to(pages::set_quota)))
        .service(
            web::resource("/sandbox/platform-domains").app_data(form()).route(web::post().to(pages::platform_domains)),
        )
        .service(web::resource("/sandbox/faults").app_data(form()).route(web::post().to(pages::add_fault)))
        // official accounts: the two administrators' decisions on link requests
        .service(web::resource("/sandbox/official-accounts").route(web::get().to(official::page)))
        .service(
            web::resource("/sandbox/official-accounts/decide")
                .app_data(form())
                .route(web::post().to(official::page_decide)),
        )
        .service(
            web::resource("/sandbox/official-accounts/{appid}/menu-entry")
                .app_data(form())
                .route(web::post().to(official::page_add_menu_entry)),
        )
        .service(web::resource("/sandbox/faults/clear").app_data(form()).route(web::post().to(pages::clear_faults)));
}

/// The sandbox pages' own stylesheet (a file, as the Content-Security-Policy allows no
/// inline style), compiled in like the console's.
async fn stylesheet() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((actix_web::http::header::CACHE_CONTROL, "public, max-age=3600"))
        .body(&include_bytes!("../../static/sandbox.css")[..])
}

/// The database could not be reached (already logged).
#[derive(Debug)]
pub struct Unavailable;

/// Runs `f` on a pooled connection on the blocking thread pool. The one place the
/// sandbox calls `crate::db::run`; `f` returns its own result (a diesel result, an
/// [`api::ApiError`], a [`sim::SimError`]).
pub(crate) async fn with_conn<T, F>(pool: &DbPool, f: F) -> Result<T, Unavailable>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConn) -> T + Send + 'static,
{
    match crate::db::run(pool, move |c| Ok::<_, crate::db::DbError>(f(c))).await {
        Ok(v) => Ok(v),
        Err(e) => {
            tracing::error!(error = ?e, "sandbox: the database is unavailable");
            Err(Unavailable)
        }
    }
}

/// Runs a simulated action in one write transaction on the blocking pool.
pub(crate) async fn run_sim<T, F>(pool: &DbPool, f: F) -> Result<T, sim::SimError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConn, i64) -> Result<T, sim::SimError> + Send + 'static,
{
    match with_conn(pool, move |c| crate::db::write_tx(c, |c| f(c, crate::now()))).await {
        Ok(r) => r,
        Err(Unavailable) => Err(sim::SimError::Refused("sandbox.err.internal")),
    }
}
