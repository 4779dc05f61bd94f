//! The WeChat sandbox: a simulator of WeChat's Open Platform for a third-party platform,
//! mounted under `/sandbox` when sandbox mode is on.
//!
//! The console reaches it only over HTTP through its configured base URLs; nothing in the
//! console calls this module, and this module uses none of the console's queries. Its
//! state lives in its own `sandbox_*` tables, so it survives restarts and is shared by
//! every process on the database.
//!
//! * [`api`]: `api.weixin.qq.com` under `/sandbox/wechat` (component endpoints, fault
//!   injection, call log, token checks).
//! * [`authpage`]: WeChat's authorization page under `/sandbox/mp`.
//! * [`push`]: encrypted pushes to `{public_url}/wechat/component/events`.
//! * [`pages`]: the human page `/sandbox/`; [`dev`]: JSON endpoints for tests.

use std::sync::Arc;

use actix_web::{middleware, web};

use crate::config::AppConfig;
use crate::db::DbPool;

pub mod api;
pub mod authpage;
pub mod dev;
pub mod pages;
pub mod push;
pub mod schema;
pub mod sim;
pub mod store;

pub use api::check_authorizer_token;

/// What the sandbox's handlers share.
pub struct Sandbox {
    pub pool: DbPool,
    pub config: AppConfig,
    pub pusher: Arc<push::Pusher>,
}

/// Keeps the background pusher; stopping it is part of stopping the server.
#[derive(Clone)]
pub struct SandboxHandle {
    data: web::Data<Sandbox>,
}

impl SandboxHandle {
    pub fn data(&self) -> web::Data<Sandbox> {
        self.data.clone()
    }

    pub fn stop(&self) {
        self.data.pusher.stop();
    }
}

/// Creates the sandbox's state and spawns its pusher (needs a Tokio runtime).
pub fn start(pool: DbPool, config: AppConfig) -> SandboxHandle {
    let pusher = Arc::new(push::Pusher::new(pool.clone(), config.clone()));
    tokio::spawn(pusher.clone().run());
    SandboxHandle { data: web::Data::new(Sandbox { pool, config, pusher }) }
}

/// The API paths (after `/sandbox/wechat`) and their handlers.
fn api_routes(cfg: &mut web::ServiceConfig) {
    macro_rules! post {
        ($path:literal, $handler:path) => {
            cfg.service(
                web::resource($path).route(web::post().to($handler)).default_service(web::to(api::require_post)),
            );
        };
    }
    post!("/cgi-bin/component/api_component_token", api::component_token);
    post!("/cgi-bin/component/api_create_preauthcode", api::create_preauthcode);
    post!("/cgi-bin/component/api_query_auth", api::query_auth);
    post!("/cgi-bin/component/api_authorizer_token", api::authorizer_token);
    post!("/cgi-bin/component/api_get_authorizer_info", api::get_authorizer_info);
    post!("/cgi-bin/component/api_get_authorizer_list", api::get_authorizer_list);
    post!("/cgi-bin/component/api_start_push_ticket", api::start_push_ticket);
}

/// Mounts every sandbox route (the dev mailbox stays in `routes::configure_sandbox_dev`).
pub fn configure(cfg: &mut web::ServiceConfig, handle: &SandboxHandle) {
    cfg.app_data(handle.data())
        .service(
            web::scope("/sandbox/wechat")
                .wrap(middleware::from_fn(api::gate))
                .configure(api_routes)
                .default_service(web::to(api::unknown_api)),
        )
        .service(
            web::scope("/sandbox/mp")
                .route("/cgi-bin/componentloginpage", web::get().to(authpage::show))
                .route("/cgi-bin/componentloginpage", web::post().to(authpage::confirm))
                .route("/safe/bindcomponent", web::get().to(authpage::show))
                .route("/safe/bindcomponent", web::post().to(authpage::confirm)),
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
                .route("/authorize", web::post().to(dev::authorize))
                .route("/revoke", web::post().to(dev::revoke))
                .route("/update-permissions", web::post().to(dev::update_permissions))
                .route("/expire-tokens", web::post().to(dev::expire_tokens))
                .route("/expire-codes", web::post().to(dev::expire_codes))
                .route("/expire-tickets", web::post().to(dev::expire_tickets)),
        )
        .route("/sandbox", web::get().to(pages::home))
        .route("/sandbox/", web::get().to(pages::home))
        .route("/sandbox/push-ticket", web::post().to(pages::push_ticket))
        .route("/sandbox/accounts/{appid}", web::post().to(pages::edit_account))
        .route("/sandbox/accounts/{appid}/revoke", web::post().to(pages::revoke))
        .route("/sandbox/accounts/{appid}/permissions", web::post().to(pages::permissions))
        .route("/sandbox/faults", web::post().to(pages::add_fault))
        .route("/sandbox/faults/clear", web::post().to(pages::clear_faults));
}

/// Runs a simulated action in one write transaction on the blocking pool.
pub(crate) async fn run_sim<T, F>(pool: &DbPool, f: F) -> Result<T, sim::SimError>
where
    T: Send + 'static,
    F: FnOnce(&mut crate::db::DbConn, i64) -> Result<T, sim::SimError> + Send + 'static,
{
    let result =
        crate::db::run(pool, move |c| Ok::<_, crate::db::DbError>(crate::db::write_tx(c, |c| f(c, crate::now()))))
            .await;
    match result {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = ?e, "sandbox: database error");
            Err(sim::SimError::Refused("sandbox.err.internal"))
        }
    }
}
