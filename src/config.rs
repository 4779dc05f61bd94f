//! Configuration, read once at start-up from the environment (and `.env`).

use std::{fmt, path::PathBuf};

use anyhow::{Context, bail};
use base64::Engine;
use lettre::message::Mailbox;

use crate::domain::email::RetryPolicy;
use crate::mailer::smtp::SmtpTarget;

/// Sandbox credentials of the simulated third-party platform. Printed in README.md
/// on purpose: anyone may encrypt an event for the sandbox by hand.
pub const SANDBOX_COMPONENT_APPID: &str = "wx3f1a2b3c4d5e6f70";
pub const SANDBOX_COMPONENT_SECRET: &str = "sandboxcomponentsecret0123456789";
pub const SANDBOX_COMPONENT_TOKEN: &str = "minihostsandboxtoken";
pub const SANDBOX_COMPONENT_AES_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

/// A secret value whose `Debug` never prints it.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The credentials of the third-party platform (component).
#[derive(Clone, Debug)]
pub struct ComponentCredentials {
    pub appid: String,
    pub secret: Secret,
    pub token: Secret,
    pub aes_key: Secret,
}

/// Settings as given. Addresses that depend on the bound port are resolved by
/// [`crate::startup::Application::build`] into [`AppConfig`].
#[derive(Clone, Debug)]
pub struct Settings {
    pub bind: String,
    pub public_url: Option<String>,
    pub database_url: String,
    pub data_dir: PathBuf,
    pub secret_key: Option<Secret>,
    pub sandbox: bool,
    pub wechat_api_base: Option<String>,
    pub wechat_mp_base: Option<String>,
    pub wechatpay_api_base: Option<String>,
    pub alipay_gateway: Option<String>,
    pub component: ComponentCredentials,
    pub operator_email: Option<String>,
    pub operator_password: Option<Secret>,
    /// How often the sandbox pushes a `component_verify_ticket` (WeChat: about 10 minutes).
    pub sandbox_ticket_interval_secs: u64,
    /// Lifetime of the tokens the sandbox issues (WeChat: 7200 s).
    pub sandbox_token_ttl_secs: i64,
    /// When set, the sandbox's reviewer approves pending reviews by itself after this many
    /// seconds (`MINIHOST_SANDBOX_REVIEW_DELAY_SECS`); unset, they wait for a person.
    pub sandbox_review_delay_secs: Option<u64>,
    /// Of the code audits the reviewer decides by itself, the percentage it rejects
    /// (`MINIHOST_SANDBOX_REVIEW_REJECT_PERCENT`) and delays (`..._DELAY_PERCENT`).
    pub sandbox_review_reject_percent: u8,
    pub sandbox_review_delay_percent: u8,
    /// How long the sandbox's code privacy scan takes after a commit
    /// (`MINIHOST_SANDBOX_PRIVACY_SCAN_SECS`).
    pub sandbox_privacy_scan_secs: u64,
    /// The sandbox's WeChat Pay and Alipay retry their notifications on the real schedules
    /// divided by this (`MINIHOST_SANDBOX_PAY_RETRY_DIVISOR`, default 60: WeChat Pay's first
    /// retry after 15 s comes after 0.25 s).
    pub sandbox_pay_retry_divisor: u32,
    /// How long the sandbox's WeChat Pay takes for a step it does by itself: opening a signed
    /// sub-merchant's permissions, settling a refund (`MINIHOST_SANDBOX_PAY_STEP_SECS`).
    pub sandbox_pay_step_secs: u64,
    /// How often the background check asks WeChat Pay about a sub-merchant application it
    /// is working on (`MINIHOST_WALLET_POLL_SECS`, default 60; auditing is asked half as often).
    pub wallet_poll_secs: i64,
    /// How long a buyer has to pay a QR code or mini program payment before the console asks
    /// WeChat Pay or Alipay about it and closes it when unpaid (`MINIHOST_PAY_WINDOW_SECS`,
    /// default 1800): a lost notification is found by that query.
    pub pay_window_secs: i64,
    /// How long a buyer's payment link works (`MINIHOST_PAY_LINK_TTL_SECS`, default 7 days).
    pub pay_link_ttl_secs: i64,
    /// WeChat Pay error codes that mean "this AppID is not bound to this merchant"
    /// (`MINIHOST_WECHATPAY_MISMATCH_CODES`, comma-separated; WeChat Pay does not document
    /// the v3 name, reference §7.2 item 5).
    pub wechatpay_mismatch_codes: Vec<String>,
    /// `MINIHOST_METRICS_TOKEN`: when set, `GET /metrics` answers only with
    /// `Authorization: Bearer <token>`.
    pub metrics_token: Option<Secret>,
    /// `MINIHOST_METRICS_BIND`: a second listener (e.g. `127.0.0.1:9100`) that serves only
    /// `/metrics`; the public listener then does not serve it at all.
    pub metrics_bind: Option<String>,
    /// `MINIHOST_CSP_IMG_SRC`: more image sources for the Content-Security-Policy (space
    /// separated), for example the host of the shared mini program's icon.
    pub csp_img_src: Vec<String>,
    /// `MINIHOST_KEEP_ALIVE_SECS` (default 75): how long an idle HTTP connection is kept
    /// open. Behind a load balancer it must be longer than the balancer's idle timeout, or
    /// the console closes a connection just as the balancer sends on it (a 502 for a user).
    pub keep_alive: std::time::Duration,
    /// How long the job worker waits when nothing is due.
    pub job_poll_interval: std::time::Duration,
    /// How long a running job may take to finish when the server stops (then it is released).
    pub job_shutdown_grace: std::time::Duration,
    /// How many jobs one instance's worker runs at once.
    pub job_slots: usize,
    /// How long a claimed job stays locked without a heartbeat (a running job renews it;
    /// a dead instance's job is taken over when it runs out).
    pub job_lease_secs: i64,
    /// The background re-check of requirements: a tenant is checked again when its last
    /// check is older than this.
    pub requirements_recheck_every: std::time::Duration,
    /// At most this many WeChat calls per minute for the background re-check (0: off).
    pub requirements_calls_per_minute: u32,
    /// Timings of the review pipeline: when an overdue review is asked about, how soon
    /// the code privacy scan is asked about again after 61039.
    pub review_timing: crate::domain::release::Timing,
    /// How long a login lasts: the idle timeout (`MINIHOST_SESSION_IDLE_MINUTES`, default
    /// 120) and the absolute one (`MINIHOST_SESSION_ABSOLUTE_HOURS`, default 12).
    pub session_timeouts: crate::domain::session::Timeouts,
    /// Rate limits of sign-up and password reset (`MINIHOST_SIGNUPS_PER_IP_PER_HOUR`, default
    /// 5; `MINIHOST_RESETS_PER_EMAIL_PER_HOUR`, 3; `MINIHOST_RESETS_PER_IP_PER_HOUR`, 10).
    pub rate_limits: crate::domain::throttle::Limits,
    /// Where e-mail is sent (`MINIHOST_SMTP_URL`, lettre's URL form; its password is never
    /// shown); none: messages stay in the outbox (and the sandbox's dev mailbox).
    pub smtp: Option<SmtpTarget>,
    /// The sender of every e-mail (`MINIHOST_MAIL_FROM`), required with `MINIHOST_SMTP_URL`.
    pub mail_from: Option<Mailbox>,
    /// How often a message refused for now is tried, and how long it waits
    /// (`MINIHOST_MAIL_MAX_ATTEMPTS`, `MINIHOST_MAIL_RETRY_BASE_SECS`).
    pub mail_retry: RetryPolicy,
    /// How long the delivery waits when nothing is due (`MINIHOST_MAIL_POLL_MS`).
    pub mail_poll_interval: std::time::Duration,
    /// The longest one attempt at the SMTP server may take (`MINIHOST_SMTP_TIMEOUT_SECS`).
    pub smtp_timeout: std::time::Duration,
}

impl Settings {
    /// Reads the process environment (after loading `.env` if present).
    pub fn from_env() -> anyhow::Result<Self> {
        let _ = dotenvy::dotenv();
        Self::from_lookup(|key| std::env::var(key).ok().filter(|v| !v.is_empty()))
    }

    /// Builds settings from any key lookup; tests pass a map.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let wechat_api_base = get("MINIHOST_WECHAT_API_BASE");
        let sandbox =
            sandbox_mode(get("MINIHOST_SANDBOX").as_deref(), wechat_api_base.is_some(), cfg!(feature = "sandbox"))?;
        let component = ComponentCredentials {
            appid: get("MINIHOST_COMPONENT_APPID").unwrap_or_else(|| SANDBOX_COMPONENT_APPID.into()),
            secret: Secret::new(get("MINIHOST_COMPONENT_SECRET").unwrap_or_else(|| SANDBOX_COMPONENT_SECRET.into())),
            token: Secret::new(get("MINIHOST_COMPONENT_TOKEN").unwrap_or_else(|| SANDBOX_COMPONENT_TOKEN.into())),
            aes_key: Secret::new(get("MINIHOST_COMPONENT_AES_KEY").unwrap_or_else(|| SANDBOX_COMPONENT_AES_KEY.into())),
        };
        let smtp = get("MINIHOST_SMTP_URL").map(|url| SmtpTarget::parse(&url)).transpose()?;
        let mail_from = get("MINIHOST_MAIL_FROM").map(|from| parse_mail_from(&from)).transpose()?;
        if smtp.is_some() && mail_from.is_none() {
            bail!(
                "MINIHOST_SMTP_URL is set but MINIHOST_MAIL_FROM is not: set the sender, e.g. MINIHOST_MAIL_FROM=\"minihost <noreply@example.com>\""
            );
        }
        let mail_retry = RetryPolicy {
            max_attempts: parse_number::<i32>(&get, "MINIHOST_MAIL_MAX_ATTEMPTS", RetryPolicy::default().max_attempts)?
                .max(1),
            base_secs: parse_number::<i64>(&get, "MINIHOST_MAIL_RETRY_BASE_SECS", RetryPolicy::default().base_secs)?
                .max(1),
        };
        Ok(Self {
            smtp,
            mail_from,
            mail_retry,
            mail_poll_interval: std::time::Duration::from_millis(
                parse_number::<u64>(&get, "MINIHOST_MAIL_POLL_MS", 1000)?.max(10),
            ),
            smtp_timeout: std::time::Duration::from_secs(
                parse_number::<u64>(&get, "MINIHOST_SMTP_TIMEOUT_SECS", 60)?.max(1),
            ),
            bind: get("MINIHOST_BIND").unwrap_or_else(|| "127.0.0.1:8080".into()),
            public_url: get("MINIHOST_PUBLIC_URL").map(|u| u.trim_end_matches('/').to_string()),
            database_url: get("DATABASE_URL").unwrap_or_else(|| "sqlite://data/minihost.db".into()),
            data_dir: get("MINIHOST_DATA_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("data")),
            secret_key: get("MINIHOST_SECRET_KEY").map(Secret::new),
            sandbox,
            wechat_api_base,
            wechat_mp_base: get("MINIHOST_WECHAT_MP_BASE"),
            wechatpay_api_base: get("MINIHOST_WECHATPAY_API_BASE"),
            alipay_gateway: get("MINIHOST_ALIPAY_GATEWAY"),
            component,
            operator_email: get("MINIHOST_OPERATOR_EMAIL"),
            operator_password: get("MINIHOST_OPERATOR_PASSWORD").map(Secret::new),
            sandbox_ticket_interval_secs: parse_number(&get, "MINIHOST_SANDBOX_TICKET_INTERVAL", 600)?,
            sandbox_token_ttl_secs: parse_number(&get, "MINIHOST_SANDBOX_TOKEN_TTL", 7200)?,
            sandbox_review_delay_secs: get("MINIHOST_SANDBOX_REVIEW_DELAY_SECS")
                .map(|_| parse_number(&get, "MINIHOST_SANDBOX_REVIEW_DELAY_SECS", 0))
                .transpose()?,
            sandbox_review_reject_percent: parse_percent(&get, "MINIHOST_SANDBOX_REVIEW_REJECT_PERCENT")?,
            sandbox_review_delay_percent: parse_percent(&get, "MINIHOST_SANDBOX_REVIEW_DELAY_PERCENT")?,
            sandbox_privacy_scan_secs: parse_number(&get, "MINIHOST_SANDBOX_PRIVACY_SCAN_SECS", 3)?,
            sandbox_pay_retry_divisor: parse_number::<u32>(&get, "MINIHOST_SANDBOX_PAY_RETRY_DIVISOR", 60)?.max(1),
            sandbox_pay_step_secs: parse_number(&get, "MINIHOST_SANDBOX_PAY_STEP_SECS", 2)?,
            wallet_poll_secs: parse_number(&get, "MINIHOST_WALLET_POLL_SECS", 60)?,
            pay_window_secs: parse_number::<i64>(&get, "MINIHOST_PAY_WINDOW_SECS", 1800)?.max(1),
            pay_link_ttl_secs: parse_number::<i64>(&get, "MINIHOST_PAY_LINK_TTL_SECS", 7 * 86400)?.max(60),
            wechatpay_mismatch_codes: get("MINIHOST_WECHATPAY_MISMATCH_CODES")
                .unwrap_or_else(|| "APPID_MCHID_NOT_MATCH".into())
                .split(',')
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
                .collect(),
            metrics_token: get("MINIHOST_METRICS_TOKEN").map(Secret::new),
            metrics_bind: get("MINIHOST_METRICS_BIND"),
            csp_img_src: csp_sources(get("MINIHOST_CSP_IMG_SRC").as_deref().unwrap_or(""))?,
            keep_alive: std::time::Duration::from_secs(parse_number(&get, "MINIHOST_KEEP_ALIVE_SECS", 75u64)?.max(1)),
            job_poll_interval: std::time::Duration::from_millis(parse_number(&get, "MINIHOST_JOB_POLL_MS", 1000)?),
            job_shutdown_grace: std::time::Duration::from_secs(parse_number(&get, "MINIHOST_JOB_SHUTDOWN_GRACE", 10)?),
            job_slots: parse_number(&get, "MINIHOST_JOB_SLOTS", 8)?,
            job_lease_secs: parse_number(&get, "MINIHOST_JOB_LEASE_SECS", 60)?,
            requirements_recheck_every: std::time::Duration::from_secs(
                60 * parse_number(&get, "MINIHOST_REQUIREMENTS_RECHECK_MINUTES", 24 * 60)?,
            ),
            requirements_calls_per_minute: parse_number(&get, "MINIHOST_REQUIREMENTS_CALLS_PER_MINUTE", 300)?,
            review_timing: {
                let d = crate::domain::release::Timing::default();
                crate::domain::release::Timing {
                    reconcile_after_secs: parse_number(
                        &get,
                        "MINIHOST_REVIEW_RECONCILE_AFTER_SECS",
                        d.reconcile_after_secs,
                    )?,
                    reconcile_every_secs: parse_number(
                        &get,
                        "MINIHOST_REVIEW_RECONCILE_EVERY_SECS",
                        d.reconcile_every_secs,
                    )?,
                    scan_retry_secs: parse_number(&get, "MINIHOST_PRIVACY_SCAN_RETRY_SECS", d.scan_retry_secs)?,
                    scan_max_attempts: parse_number(&get, "MINIHOST_PRIVACY_SCAN_MAX_ATTEMPTS", d.scan_max_attempts)?,
                    campaign_hold_secs: parse_number(&get, "MINIHOST_CAMPAIGN_HOLD_SECS", d.campaign_hold_secs)?,
                    campaign_settle_secs: parse_number(&get, "MINIHOST_CAMPAIGN_SETTLE_SECS", d.campaign_settle_secs)?,
                    quota_recheck_secs: parse_number(
                        &get,
                        "MINIHOST_CAMPAIGN_QUOTA_RECHECK_SECS",
                        d.quota_recheck_secs,
                    )?,
                }
            },
            session_timeouts: crate::domain::session::Timeouts {
                idle_secs: 60 * parse_number::<i64>(&get, "MINIHOST_SESSION_IDLE_MINUTES", 120)?.max(1),
                absolute_secs: 3600 * parse_number::<i64>(&get, "MINIHOST_SESSION_ABSOLUTE_HOURS", 12)?.max(1),
            },
            rate_limits: {
                use crate::domain::throttle::{Limit, Limits};
                let d = Limits::default();
                Limits {
                    signup_per_address: Limit::per_hour(parse_number(
                        &get,
                        "MINIHOST_SIGNUPS_PER_IP_PER_HOUR",
                        d.signup_per_address.max,
                    )?),
                    reset_per_account: Limit::per_hour(parse_number(
                        &get,
                        "MINIHOST_RESETS_PER_EMAIL_PER_HOUR",
                        d.reset_per_account.max,
                    )?),
                    reset_per_address: Limit::per_hour(parse_number(
                        &get,
                        "MINIHOST_RESETS_PER_IP_PER_HOUR",
                        d.reset_per_address.max,
                    )?),
                }
            },
        })
    }

    /// The master key: from `MINIHOST_SECRET_KEY`, or generated once into `data/secret.key`.
    pub fn load_secret_key(&self) -> anyhow::Result<Vec<u8>> {
        let engine = base64::engine::general_purpose::STANDARD;
        let encoded = match &self.secret_key {
            Some(s) => s.expose().trim().to_string(),
            None => {
                let path = self.data_dir.join("secret.key");
                match std::fs::read_to_string(&path) {
                    Ok(s) => s.trim().to_string(),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        std::fs::create_dir_all(&self.data_dir)
                            .with_context(|| format!("cannot create {}", self.data_dir.display()))?;
                        let mut key = [0u8; 64];
                        rand::fill(&mut key);
                        let encoded = engine.encode(key);
                        write_private(&path, &encoded)?;
                        tracing::info!(path = %path.display(), "generated a new secret key");
                        encoded
                    }
                    Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
                }
            }
        };
        let key = engine
            .decode(encoded.as_bytes())
            .context("MINIHOST_SECRET_KEY (or data/secret.key) is not valid base64")?;
        if key.len() < 64 {
            bail!("MINIHOST_SECRET_KEY must decode to at least 64 bytes, it has {}", key.len());
        }
        Ok(key)
    }
}

/// Whether the sandbox is mounted, from `MINIHOST_SANDBOX` (as given), whether
/// `MINIHOST_WECHAT_API_BASE` is set, and whether this build has the sandbox compiled in
/// (the `sandbox` cargo feature). A build without it refuses `on`, and refuses to start
/// with neither setting, since there would be nothing to talk to.
pub fn sandbox_mode(flag: Option<&str>, api_base_set: bool, compiled: bool) -> anyhow::Result<bool> {
    let wanted = match flag {
        None => !api_base_set,
        Some("on" | "true" | "1" | "yes") => true,
        Some("off" | "false" | "0" | "no") => false,
        Some(other) => bail!("MINIHOST_SANDBOX must be on or off, not {other:?}"),
    };
    if wanted && !compiled {
        if flag.is_some() {
            bail!(
                "this build has no sandbox; rebuild with `cargo build --features sandbox` or set MINIHOST_SANDBOX=off and MINIHOST_WECHAT_API_BASE to WeChat's API (https://api.weixin.qq.com)"
            );
        }
        bail!(
            "this build has no sandbox, so set the WeChat base URLs: MINIHOST_WECHAT_API_BASE (https://api.weixin.qq.com) and MINIHOST_WECHAT_MP_BASE (https://mp.weixin.qq.com), or rebuild with `cargo build --features sandbox`"
        );
    }
    Ok(wanted)
}

/// Sources for a CSP directive: host or scheme sources only (no quotes, separators or
/// wildcards beyond a leading `*.`), so the header cannot be bent by configuration.
fn csp_sources(value: &str) -> anyhow::Result<Vec<String>> {
    value
        .split_whitespace()
        .map(|s| {
            let ok = s.chars().all(|c| c.is_ascii_alphanumeric() || "-._:/*".contains(c))
                && !s[1..].contains('*')
                && s != "*";
            if ok { Ok(s.to_string()) } else { bail!("MINIHOST_CSP_IMG_SRC: {s:?} is not a host source") }
        })
        .collect()
}

fn parse_number<T: std::str::FromStr>(
    get: &impl Fn(&str) -> Option<String>,
    key: &str,
    default: T,
) -> anyhow::Result<T> {
    match get(key) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|_| anyhow::anyhow!("{key} must be a whole number, not {v:?}")),
    }
}

/// The sender: `noreply@example.com` or `minihost <noreply@example.com>`.
fn parse_mail_from(value: &str) -> anyhow::Result<Mailbox> {
    value.trim().parse::<Mailbox>().map_err(|e| {
        anyhow::anyhow!(
            "MINIHOST_MAIL_FROM {value:?} is not a sender address ({e}); write noreply@example.com or \"minihost <noreply@example.com>\""
        )
    })
}

/// A percentage from 0 to 100 (0 when unset).
fn parse_percent(get: &impl Fn(&str) -> Option<String>, key: &str) -> anyhow::Result<u8> {
    let v: u64 = parse_number(get, key, 0)?;
    u8::try_from(v).ok().filter(|p| *p <= 100).ok_or_else(|| anyhow::anyhow!("{key} must be from 0 to 100, not {v}"))
}

fn write_private(path: &std::path::Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(contents.as_bytes())?;
    Ok(())
}

/// Who may read `GET /metrics`, and on which listener (README "Metrics").
#[derive(Clone, Debug, Default)]
pub struct MetricsAccess {
    /// `MINIHOST_METRICS_TOKEN`: the bearer token a scrape must present.
    pub token: Option<Secret>,
    /// The metrics-only listener's bound address (`MINIHOST_METRICS_BIND`).
    pub listener: Option<std::net::SocketAddr>,
}

impl MetricsAccess {
    /// Metrics are recorded and served only when one of the two is configured.
    pub fn enabled(&self) -> bool {
        self.token.is_some() || self.listener.is_some()
    }

    /// Whether `/metrics` is served to a request that came in on the metrics listener
    /// (`on_listener`) or on the public one.
    pub fn served(&self, on_listener: bool) -> bool {
        match self.listener {
            Some(_) => on_listener,
            None => self.token.is_some(),
        }
    }
}

/// Settings resolved against the bound address: what the running app uses.
#[derive(Clone, Debug)]
pub struct AppConfig {
    pub public_url: String,
    pub sandbox: bool,
    pub wechat_api_base: String,
    pub wechat_mp_base: String,
    pub wechatpay_api_base: String,
    pub alipay_gateway: String,
    pub component: ComponentCredentials,
    pub cookie_secure: bool,
    pub sandbox_ticket_interval_secs: u64,
    pub sandbox_token_ttl_secs: i64,
    pub sandbox_review_delay_secs: Option<u64>,
    pub sandbox_review_reject_percent: u8,
    pub sandbox_review_delay_percent: u8,
    pub sandbox_privacy_scan_secs: u64,
    pub sandbox_pay_retry_divisor: u32,
    pub sandbox_pay_step_secs: u64,
    pub session_timeouts: crate::domain::session::Timeouts,
    pub rate_limits: crate::domain::throttle::Limits,
    /// Where e-mail goes (no password), when it is sent at all.
    pub smtp: Option<crate::mailer::smtp::SmtpSummary>,
    /// The sender of every e-mail, as configured.
    pub mail_from: Option<String>,
    /// Attempts a message refused for now is given (`RetryPolicy::max_attempts`).
    pub mail_max_attempts: i32,
}

impl AppConfig {
    pub fn resolve(settings: &Settings, bound: std::net::SocketAddr) -> Self {
        let public_url = settings.public_url.clone().unwrap_or_else(|| format!("http://{bound}"));
        let or_sandbox = |given: &Option<String>, sandbox_path: &str, real: &str| match given {
            Some(url) => url.trim_end_matches('/').to_string(),
            None if settings.sandbox => format!("{public_url}{sandbox_path}"),
            None => real.to_string(),
        };
        Self {
            wechat_api_base: or_sandbox(&settings.wechat_api_base, "/sandbox/wechat", "https://api.weixin.qq.com"),
            wechat_mp_base: or_sandbox(&settings.wechat_mp_base, "/sandbox/mp", "https://mp.weixin.qq.com"),
            wechatpay_api_base: or_sandbox(
                &settings.wechatpay_api_base,
                "/sandbox/wechatpay",
                "https://api.mch.weixin.qq.com",
            ),
            alipay_gateway: or_sandbox(
                &settings.alipay_gateway,
                "/sandbox/alipay/gateway.do",
                "https://openapi.alipay.com/gateway.do",
            ),
            cookie_secure: public_url.starts_with("https://"),
            sandbox_ticket_interval_secs: settings.sandbox_ticket_interval_secs,
            sandbox_token_ttl_secs: settings.sandbox_token_ttl_secs,
            sandbox_review_delay_secs: settings.sandbox_review_delay_secs,
            sandbox_review_reject_percent: settings.sandbox_review_reject_percent,
            sandbox_review_delay_percent: settings.sandbox_review_delay_percent,
            sandbox_privacy_scan_secs: settings.sandbox_privacy_scan_secs,
            sandbox_pay_retry_divisor: settings.sandbox_pay_retry_divisor,
            sandbox_pay_step_secs: settings.sandbox_pay_step_secs,
            session_timeouts: settings.session_timeouts,
            rate_limits: settings.rate_limits,
            sandbox: settings.sandbox,
            component: settings.component.clone(),
            smtp: settings.smtp.as_ref().map(SmtpTarget::summary),
            mail_from: settings.mail_from.as_ref().map(ToString::to_string),
            mail_max_attempts: settings.mail_retry.max_attempts,
            public_url,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sandbox_is_on_unless_a_real_api_base_is_given() {
        assert!(sandbox_mode(None, false, true).unwrap());
        assert!(!sandbox_mode(None, true, true).unwrap());
        assert!(sandbox_mode(Some("on"), true, true).unwrap());
        assert!(!sandbox_mode(Some("off"), false, true).unwrap());
        assert!(sandbox_mode(Some("maybe"), false, true).is_err());
    }

    fn settings(pairs: &[(&str, &str)]) -> anyhow::Result<Settings> {
        let mut map: std::collections::HashMap<String, String> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        // Any build: with the real API named, no sandbox is needed.
        map.insert("MINIHOST_WECHAT_API_BASE".into(), "https://api.weixin.qq.com".into());
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn smtp_needs_a_valid_sender_and_keeps_its_password_out_of_sight() {
        let none = settings(&[]).unwrap();
        assert!(none.smtp.is_none() && none.mail_from.is_none());
        let url = ("MINIHOST_SMTP_URL", "smtp://mailer:topsecret@smtp.example.com:587?tls=required");
        let missing = settings(&[url]).unwrap_err().to_string();
        assert!(missing.contains("MINIHOST_MAIL_FROM"), "{missing}");
        let bad = settings(&[url, ("MINIHOST_MAIL_FROM", "not an address")]).unwrap_err().to_string();
        assert!(bad.contains("MINIHOST_MAIL_FROM") && !bad.contains("topsecret"), "{bad}");
        let ok = settings(&[url, ("MINIHOST_MAIL_FROM", "minihost <noreply@console.example>")]).unwrap();
        assert_eq!(ok.mail_from.as_ref().map(|m| m.email.to_string()).as_deref(), Some("noreply@console.example"));
        assert!(!format!("{ok:?}").contains("topsecret"));
        let config = AppConfig::resolve(&ok, "127.0.0.1:8080".parse().unwrap());
        assert!(!format!("{config:?}").contains("topsecret"));
        assert_eq!(config.smtp.map(|s| (s.address, s.tls)), Some(("smtp.example.com:587".into(), "starttls")));
        let wrong = settings(&[("MINIHOST_SMTP_URL", "smtp://u:topsecret@h?tls=sometimes")]).unwrap_err().to_string();
        assert!(!wrong.contains("topsecret"), "{wrong}");
    }

    #[test]
    fn a_build_without_the_sandbox_refuses_to_mount_it() {
        let on = sandbox_mode(Some("on"), false, false).unwrap_err().to_string();
        assert!(on.contains("this build has no sandbox") && on.contains("--features sandbox"), "{on}");
        let unset = sandbox_mode(None, false, false).unwrap_err().to_string();
        assert!(unset.contains("MINIHOST_WECHAT_API_BASE") && unset.contains("MINIHOST_WECHAT_MP_BASE"), "{unset}");
        assert!(!unset.contains('\n'));
        assert!(!sandbox_mode(None, true, false).unwrap());
        assert!(!sandbox_mode(Some("off"), false, false).unwrap());
    }
}
