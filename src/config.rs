//! Configuration, read once at start-up from the environment (and `.env`).

use std::{fmt, path::PathBuf};

use anyhow::{Context, bail};
use base64::Engine;

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
        Ok(Self {
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
            sandbox: settings.sandbox,
            component: settings.component.clone(),
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
