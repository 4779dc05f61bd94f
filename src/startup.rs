//! Building and running the server; `main.rs` and the integration tests both use this.

use std::net::TcpListener;

use actix_session::{SessionMiddleware, config::CookieContentSecurity, storage::CookieSessionStore};
use actix_web::{App, HttpServer, cookie::SameSite, dev::Server, middleware, web};
use anyhow::Context;
use tracing_actix_web::TracingLogger;

use crate::auth::{csrf, password};
use crate::config::{AppConfig, MetricsAccess, Settings};
use crate::db::{self, DbPool, audit::Actor, models::NewUser};
use crate::routes;

pub struct Application {
    port: u16,
    config: AppConfig,
    pool: DbPool,
    platform: std::sync::Arc<crate::services::platform::Platform>,
    server: Server,
    worker: crate::worker::WorkerHandle,
    /// The e-mail delivery, when SMTP is configured; it stops with the worker.
    mailer: Option<tokio::task::JoinHandle<()>>,
    #[cfg(feature = "sandbox")]
    sandbox: Option<crate::sandbox::SandboxHandle>,
}

impl Application {
    /// Opens the database, applies migrations, makes sure an operator exists, binds the
    /// listener and builds the server (not yet running).
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let master = settings.load_secret_key()?;
        let pool = prepare_database(&settings.database_url, settings.sandbox)?;
        prune_accounts(&pool, &settings)?;
        bootstrap_operator(&pool, &settings)?;
        let listener =
            TcpListener::bind(&settings.bind).with_context(|| format!("cannot listen on {}", settings.bind))?;
        let addr = listener.local_addr()?;
        // The metrics-only listener (MINIHOST_METRICS_BIND): the same server, told apart by
        // the address a request came in on (`telemetry::requests`).
        let metrics_listener = match &settings.metrics_bind {
            Some(bind) => Some(
                TcpListener::bind(bind).with_context(|| format!("MINIHOST_METRICS_BIND: cannot listen on {bind}"))?,
            ),
            None => None,
        };
        let metrics_addr = metrics_listener.as_ref().map(TcpListener::local_addr).transpose()?;
        let access = MetricsAccess { token: settings.metrics_token.clone(), listener: metrics_addr };
        if access.enabled() {
            crate::observe::install();
        }
        let config = AppConfig::resolve(&settings, addr);
        let response_headers = web::Data::new(crate::telemetry::ResponseHeaders {
            content_security_policy: content_security_policy(&config, &settings.csp_img_src),
        });
        let heartbeat = std::sync::Arc::new(crate::worker::Heartbeat::new(settings.job_poll_interval));
        let cookie_key = crate::secrets::cookie_key(&master);
        let sealer = crate::secrets::Sealer::new(&master);
        let crypt = crate::wechat::crypto::MsgCrypt::new(
            config.component.token.expose(),
            config.component.aes_key.expose(),
            &config.component.appid,
        )
        .map_err(|e| anyhow::anyhow!("MINIHOST_COMPONENT_AES_KEY / _TOKEN are not usable: {e}"))?;
        let platform = std::sync::Arc::new(crate::services::platform::Platform::new(
            pool.clone(),
            crate::wechat::client::WechatClient::new(&config),
            sealer.clone(),
        ));
        let wallet = std::sync::Arc::new(crate::services::wallet::Wallet::new(
            pool.clone(),
            sealer.clone(),
            platform.clone(),
            &config,
            settings.wallet_poll_secs,
            settings.wechatpay_mismatch_codes.clone(),
            crate::services::wallet::CheckoutConfig {
                window_secs: settings.pay_window_secs,
                link_ttl_secs: settings.pay_link_ttl_secs,
                link_key: crate::secrets::derive(&master, "pay-link"),
            },
        ));
        let wallet_data = web::Data::from(wallet.clone());
        let (pool_data, config_data) = (web::Data::new(pool.clone()), web::Data::new(config.clone()));
        let writer_data =
            web::Data::new(crate::services::event_writer::EventWriter::start(pool.clone(), sealer.clone()));
        let (sealer_data, crypt_data) = (web::Data::new(sealer), web::Data::new(crypt));
        let platform_data = web::Data::from(platform.clone());
        let heartbeat_data = web::Data::from(heartbeat.clone());
        let access_data = web::Data::new(access);
        let metrics_listener_data = metrics_addr.map(|a| web::Data::new(crate::telemetry::MetricsListener(a)));
        // The WeChat simulator and its background pusher, when sandbox mode is on.
        #[cfg(feature = "sandbox")]
        let sandbox = config.sandbox.then(|| crate::sandbox::start(pool.clone(), sandbox_config(&config)));
        #[cfg(feature = "sandbox")]
        let sandbox_routes = sandbox.clone();
        let dev_tools = config.sandbox;
        let cookie_secure = config.cookie_secure;
        let mut server = HttpServer::new(move || {
            let session = SessionMiddleware::builder(CookieSessionStore::default(), cookie_key.clone())
                .cookie_name("minihost_session".into())
                .cookie_secure(cookie_secure)
                .cookie_http_only(true)
                .cookie_same_site(SameSite::Lax)
                .cookie_content_security(CookieContentSecurity::Private)
                .build();
            // The console: its own scope, the only one with the session and CSRF middleware.
            // It matches every path, so it is registered last.
            let console = web::scope("")
                .wrap(middleware::from_fn(crate::htmx::errors_as_toasts))
                .wrap(middleware::from_fn(csrf::middleware))
                .wrap(session)
                .app_data(pool_data.clone())
                .app_data(config_data.clone())
                .app_data(sealer_data.clone())
                .app_data(crypt_data.clone())
                .app_data(writer_data.clone())
                .app_data(platform_data.clone())
                .app_data(wallet_data.clone())
                .app_data(heartbeat_data.clone())
                .app_data(
                    web::FormConfig::default()
                        .limit(256 * 1024)
                        .error_handler(|err, _| crate::error::AppError::BadRequest(err.to_string()).into()),
                )
                .app_data(
                    web::QueryConfig::default()
                        .error_handler(|err, _| crate::error::AppError::BadRequest(err.to_string()).into()),
                )
                .configure(routes::configure)
                .configure(|cfg| {
                    if dev_tools {
                        routes::configure_sandbox_dev(cfg);
                    }
                })
                .default_service(web::to(routes::not_found));
            App::new()
                // The request id at hand, the security headers on every answer (escaped
                // errors too), metrics; inside the root span that carries the id.
                .wrap(middleware::from_fn(crate::telemetry::requests))
                .wrap(TracingLogger::<crate::telemetry::RequestSpan>::new())
                .app_data(response_headers.clone())
                .configure(|cfg| {
                    if let Some(data) = &metrics_listener_data {
                        cfg.app_data(data.clone());
                    }
                    routes::configure_ops(cfg, pool_data.clone(), access_data.clone());
                })
                // The simulator of WeChat first: its own scopes and resources under /sandbox,
                // outside the console's session and CSRF middleware.
                .configure(|_cfg| {
                    #[cfg(feature = "sandbox")]
                    if let Some(handle) = &sandbox_routes {
                        crate::sandbox::configure(_cfg, handle);
                    }
                })
                .service(console)
        })
        .keep_alive(actix_web::http::KeepAlive::Timeout(settings.keep_alive))
        .listen(listener)?;
        if let Some(metrics_listener) = metrics_listener {
            server = server.listen(metrics_listener)?;
        }
        let server = server
            // A blocking thread is only useful while it holds a database connection; more
            // just wait on the pool, each keeping its own allocator heap (`db::BLOCKING_THREADS`).
            .worker_max_blocking_threads(crate::db::BLOCKING_THREADS)
            // Signals are ours (see `run_until_stopped`): the worker must hear them too.
            .disable_signals()
            .run();
        let worker = crate::worker::start(
            pool.clone(),
            platform.clone(),
            wallet,
            crate::worker::WorkerSettings {
                idle: settings.job_poll_interval,
                grace: settings.job_shutdown_grace,
                slots: settings.job_slots,
                lease_secs: settings.job_lease_secs,
            },
            crate::services::requirements::Pace {
                every: settings.requirements_recheck_every,
                calls_per_minute: settings.requirements_calls_per_minute,
            },
            settings.review_timing,
            heartbeat,
        );
        // Beside the job worker, not one of its jobs: see `mailer`'s module documentation.
        let mailer = match (&settings.smtp, &settings.mail_from) {
            (Some(target), Some(from)) => Some(crate::mailer::start(
                pool.clone(),
                crate::mailer::MailerSettings {
                    target: target.clone(),
                    from: from.clone(),
                    retry: settings.mail_retry,
                    poll: settings.mail_poll_interval,
                    timeout: settings.smtp_timeout,
                },
                worker.stopper().subscribe(),
            )),
            _ => {
                tracing::info!("MINIHOST_SMTP_URL is not set: e-mails stay in the outbox");
                None
            }
        };
        tracing::info!(url = %config.public_url, sandbox = config.sandbox, "minihost is listening on {addr}");
        if let Some(metrics_addr) = metrics_addr {
            tracing::info!("metrics are served on {metrics_addr}/metrics");
        }
        Ok(Self {
            port: addr.port(),
            config,
            pool,
            platform,
            server,
            worker,
            mailer,
            #[cfg(feature = "sandbox")]
            sandbox,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn config(&self) -> &AppConfig {
        &self.config
    }

    pub fn pool(&self) -> &DbPool {
        &self.pool
    }

    /// The platform service (tokens, WeChat calls) this instance uses.
    pub fn platform(&self) -> std::sync::Arc<crate::services::platform::Platform> {
        self.platform.clone()
    }

    /// Stops this instance from outside (tests; `run_until_stopped` also stops on SIGTERM/SIGINT).
    pub fn stopper(&self) -> Stopper {
        Stopper { server: self.server.handle(), worker: self.worker.stopper() }
    }

    /// Serves until stopped (SIGTERM or SIGINT, or a [`Stopper`]). The job worker stops
    /// together with the server: a running job finishes within the grace period or goes
    /// back to the queue, so nothing is left claimed. The e-mail delivery finishes the
    /// message it is handing over. The sandbox's pusher stops too.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let stopper = self.stopper();
        let signals = tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("stopping: finishing requests and the running job");
            stopper.stop().await;
        });
        let result = self.server.await;
        signals.abort();
        self.worker.shutdown().await;
        if let Some(mailer) = self.mailer
            && let Err(e) = mailer.await
        {
            tracing::error!(error = %e, "the e-mail delivery ended abnormally");
        }
        #[cfg(feature = "sandbox")]
        if let Some(sandbox) = &self.sandbox {
            sandbox.stop();
        }
        result
    }
}

/// Stops the server and the job worker at the same time, so a job waiting on a request
/// that the stopping server still serves cannot hold the shutdown up.
#[derive(Clone)]
pub struct Stopper {
    server: actix_web::dev::ServerHandle,
    worker: std::sync::Arc<tokio::sync::watch::Sender<bool>>,
}

impl Stopper {
    /// Asks both to stop and waits for the server to finish its requests.
    pub async fn stop(&self) {
        let _ = self.worker.send(true);
        self.server.stop(true).await;
    }

    /// Stops the job worker alone (the server goes on answering, `/readyz` with 503).
    pub fn stop_worker(&self) {
        let _ = self.worker.send(true);
    }
}

/// The Content-Security-Policy of every response, console and sandbox alike: nothing
/// inline (no script, no style attribute or element), images from here and WeChat's
/// image hosts (account head images, icons) plus `MINIHOST_CSP_IMG_SRC`, forms posted only
/// here, no framing. Violations are reported to `/csp-report` (logged and counted).
pub fn content_security_policy(config: &AppConfig, extra_img: &[String]) -> String {
    let mut img = vec!["'self'", "data:", "blob:", "*.qlogo.cn", "*.qpic.cn"];
    img.extend(extra_img.iter().map(String::as_str));
    // A redirect after a form lands on the public URL, which may not be the address the
    // browser posted to (behind a proxy): allow it by name.
    let public = origin(&config.public_url).map(|o| format!(" {o}")).unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src {}; connect-src 'self'; \
         font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'{public}; \
         report-uri /csp-report",
        img.join(" ")
    )
}

/// `scheme://host[:port]` of a URL, when it is plain enough to put in a header.
fn origin(url: &str) -> Option<&str> {
    let (scheme, rest) = url.split_once("://")?;
    let end = rest.find('/').unwrap_or(rest.len());
    let origin = &url[..scheme.len() + 3 + end];
    let plain = !rest[..end].is_empty()
        && origin.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.:/[]".contains(&b))
        && matches!(scheme, "http" | "https");
    plain.then_some(origin)
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Connects and applies migrations (`minihost migrate` stops after this): the console's,
/// then, when the sandbox is on, the sandbox's own set.
pub fn prepare_database(database_url: &str, sandbox: bool) -> anyhow::Result<DbPool> {
    let pool = db::connect(database_url)?;
    let mut conn = pool.get().context("cannot get a database connection")?;
    db::migrate(&mut conn)?;
    #[cfg(feature = "sandbox")]
    if sandbox {
        crate::sandbox::migrate(&mut conn)?;
    }
    #[cfg(not(feature = "sandbox"))]
    debug_assert!(!sandbox, "config refuses the sandbox in a build without it");
    db::throttle::prune(&mut conn, crate::now() - crate::domain::throttle::WINDOW_SECS)?;
    Ok(pool)
}

/// Drops sessions that no longer sign anyone in under the configured timeouts, and rate
/// events older than every limit's window.
fn prune_accounts(pool: &DbPool, settings: &Settings) -> anyhow::Result<()> {
    let mut conn = pool.get().context("cannot get a database connection")?;
    let now = crate::now();
    db::sessions::delete_ended(&mut conn, now, &settings.session_timeouts)?;
    db::rate::prune(&mut conn, now - settings.rate_limits.longest_window())?;
    Ok(())
}

/// What the sandbox needs from the console's configuration.
#[cfg(feature = "sandbox")]
fn sandbox_config(config: &AppConfig) -> crate::sandbox::SandboxConfig {
    let c = &config.component;
    crate::sandbox::SandboxConfig {
        public_url: config.public_url.clone(),
        component_appid: c.appid.clone(),
        component_secret: c.secret.expose().to_string(),
        component_token: c.token.expose().to_string(),
        component_aes_key: c.aes_key.expose().to_string(),
        ticket_interval_secs: config.sandbox_ticket_interval_secs,
        token_ttl_secs: config.sandbox_token_ttl_secs,
        api_base: config.wechat_api_base.clone(),
        mp_base: config.wechat_mp_base.clone(),
        review_delay_secs: config.sandbox_review_delay_secs,
        review_reject_percent: config.sandbox_review_reject_percent,
        review_delay_percent: config.sandbox_review_delay_percent,
        privacy_scan_secs: config.sandbox_privacy_scan_secs,
        wechatpay_api_base: config.wechatpay_api_base.clone(),
        alipay_gateway: config.alipay_gateway.clone(),
        pay_retry_divisor: config.sandbox_pay_retry_divisor,
        pay_step_secs: config.sandbox_pay_step_secs,
    }
}

/// At first start, when no operator exists, creates one (CONTRACT.md).
fn bootstrap_operator(pool: &DbPool, settings: &Settings) -> anyhow::Result<()> {
    let mut conn = pool.get()?;
    if db::users::any_operator(&mut conn)? {
        return Ok(());
    }
    let email = settings.operator_email.clone().unwrap_or_else(|| "operator@localhost".to_string());
    let (password, generated) = match &settings.operator_password {
        Some(p) => (p.expose().to_string(), false),
        None => (random_password(), true),
    };
    create_operator(&mut conn, &email, &password)?;
    if generated {
        // Printed once, as CONTRACT.md says; it is never stored in clear anywhere.
        tracing::warn!("created operator {email} with password {password} (shown once; change it after login)");
    } else {
        tracing::info!("created operator {email} from MINIHOST_OPERATOR_EMAIL / MINIHOST_OPERATOR_PASSWORD");
    }
    Ok(())
}

/// Creates an operator, or promotes and resets the password of an existing account.
pub fn create_operator(conn: &mut db::DbConn, email: &str, password: &str) -> anyhow::Result<()> {
    let email = email.trim().to_lowercase();
    if !validator::ValidateEmail::validate_email(&email) && !email.ends_with("@localhost") {
        anyhow::bail!("{email:?} is not an e-mail address");
    }
    if password.chars().count() < 10 {
        anyhow::bail!("the operator password must have at least 10 characters");
    }
    let hash = password::hash(password)?;
    let now = crate::now();
    db::write_tx(conn, |conn| {
        let actor = Actor::system();
        let (id, action) = match db::users::find_by_email(conn, &email)? {
            Some(existing) => {
                db::users::set_password(conn, &existing.id, &hash)?;
                db::users::make_operator(conn, &existing.id)?;
                (existing.id, "operator.promoted")
            }
            None => {
                let id = crate::new_id();
                db::users::insert(
                    conn,
                    &NewUser {
                        id: &id,
                        email: &email,
                        name: "Operator",
                        password_hash: &hash,
                        is_operator: true,
                        created_at: now,
                    },
                )?;
                (id, "operator.created")
            }
        };
        db::audit::write(
            conn,
            db::audit::Record::<(), _> {
                actor: &actor,
                tenant_id: None,
                action,
                subject: &format!("user:{id}"),
                before: None,
                after: Some(&serde_json::json!({ "email": email, "is_operator": true })),
            },
            now,
        )
    })?;
    Ok(())
}

fn random_password() -> String {
    use rand::RngExt;
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..20).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_nothing_inline_and_names_the_public_origin() {
        let settings = Settings::from_lookup(|k| match k {
            "MINIHOST_PUBLIC_URL" => Some("https://console.example.com/".into()),
            _ => None,
        })
        .unwrap();
        let config = AppConfig::resolve(&settings, "127.0.0.1:8080".parse().unwrap());
        let csp = content_security_policy(&config, &["https://cdn.example.com".into()]);
        assert!(!csp.contains("unsafe"), "{csp}");
        assert!(csp.contains("script-src 'self';") && csp.contains("style-src 'self';"), "{csp}");
        assert!(csp.contains("img-src 'self' data: blob: *.qlogo.cn *.qpic.cn https://cdn.example.com;"), "{csp}");
        assert!(csp.contains("form-action 'self' https://console.example.com;"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("base-uri 'none'"), "{csp}");
        assert!(!csp.contains('\n') && !csp.contains("  "), "{csp}");
        assert_eq!(origin("http://127.0.0.1:8080/x"), Some("http://127.0.0.1:8080"));
        assert_eq!(origin("http://bad host"), None);
        assert_eq!(origin("javascript:1"), None);
    }
}
