//! Load test: a mix of what a running console serves, over loopback, for a fixed time at a
//! fixed number of connections: logged-in pages (a tenant admin's workspace and store pages,
//! the operator's lists), WeChat event pushes (each encrypted and signed afresh with a new
//! nonce), and WeChat Pay and Alipay payment notifications (signed with the sandbox's
//! published keys before the clock starts; each payment is notified once, then again as
//! the payers' retries). Reports requests/s, p50 and p99 per kind and every error; exits
//! non-zero when any request got an answer other than the one expected.
//!
//! scripts/load.sh [sqlite|postgres]     # 60 s at 64 connections
//!
//! MINIHOST_LOAD_SECONDS (default 60), MINIHOST_LOAD_CONNECTIONS (default 64) and
//! MINIHOST_BENCH_DATABASE_URL (a PostgreSQL server to make a fresh database on) tune it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use diesel::prelude::*;
use minihost::config::{SANDBOX_COMPONENT_AES_KEY, SANDBOX_COMPONENT_APPID, SANDBOX_COMPONENT_TOKEN, Settings};
use minihost::db::{commerce, wallet};
use minihost::pay::alipay;
use minihost::pay::keys::PrivateKey;
use minihost::pay::wechatpay::{Resource, SignedHeaders};
use minihost::sandbox::pay as sandbox;
use minihost::startup::Application;
use minihost::wechat::crypto::{MsgCrypt, build_flat_xml};
use serde_json::json;

const SUB_MCHID: &str = "1900000109";
const PASSWORD: &str = "load-password-1";
const OPERATOR: &str = "load-operator@example.com";

/// A client that lets an idle connection go well before the console would
/// (`MINIHOST_KEEP_ALIVE_SECS`, 75 s), as a load balancer in front of it must be set up;
/// otherwise the two can close and reuse the same connection at once.
fn client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder().pool_idle_timeout(Duration::from_secs(30))
}

fn env_num(key: &str, default: usize) -> usize {
    std::env::var(key).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    TenantPage,
    OperatorPage,
    Event,
    WechatPay,
    Alipay,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::TenantPage => "tenant pages",
            Kind::OperatorPage => "operator pages",
            Kind::Event => "event pushes",
            Kind::WechatPay => "WeChat Pay notifications",
            Kind::Alipay => "Alipay notifications",
        }
    }

    /// The mix, in twentieths: pages 8, pushes 6, notifications 3 + 3.
    fn pick(n: usize) -> Kind {
        match n % 20 {
            0..=5 => Kind::TenantPage,
            6..=7 => Kind::OperatorPage,
            8..=13 => Kind::Event,
            14..=16 => Kind::WechatPay,
            _ => Kind::Alipay,
        }
    }
}

#[derive(Default)]
struct Stats {
    latencies_us: Vec<u32>,
    errors: Vec<String>,
}

/// Everything a connection needs to make any kind of request.
struct Load {
    base: String,
    tenant: reqwest::Client,
    operator: reqwest::Client,
    anonymous: reqwest::Client,
    tenant_pages: Vec<String>,
    operator_pages: Vec<String>,
    crypt: MsgCrypt,
    pushes: AtomicUsize,
    wechatpay: Vec<(String, Vec<(String, String)>)>,
    alipay: Vec<String>,
    sent_wechatpay: AtomicUsize,
    sent_alipay: AtomicUsize,
}

impl Load {
    /// One request of `kind`; Err says what was wrong with the answer.
    async fn one(&self, kind: Kind, n: usize) -> Result<(), String> {
        let answer = |r: Result<reqwest::Response, reqwest::Error>| async move {
            // `{:#}` names the causes too ("error sending request" alone says nothing).
            let r = r.map_err(|e| format!("no answer: {:#}", anyhow::Error::from(e)))?;
            let status = r.status().as_u16();
            let text = r.text().await.map_err(|e| format!("{status}, body cut: {e}"))?;
            Ok::<_, String>((status, text))
        };
        match kind {
            Kind::TenantPage | Kind::OperatorPage => {
                let (client, pages) = if kind == Kind::TenantPage {
                    (&self.tenant, &self.tenant_pages)
                } else {
                    (&self.operator, &self.operator_pages)
                };
                let path = &pages[n % pages.len()];
                let (status, text) = answer(client.get(format!("{}{path}", self.base)).send().await).await?;
                if status != 200 || !text.contains("</html>") {
                    return Err(format!("GET {path}: {status}"));
                }
            }
            Kind::Event => {
                let i = self.pushes.fetch_add(1, Ordering::Relaxed);
                let ts = minihost::now().to_string();
                let nonce = format!("load{i}");
                let xml = build_flat_xml(&[
                    ("AppId", SANDBOX_COMPONENT_APPID),
                    ("CreateTime", &ts),
                    ("InfoType", "load_test_event"),
                    ("Seq", &i.to_string()),
                ]);
                let (body, sig) = self.crypt.seal_envelope(&xml, &ts, &nonce, None);
                let url = format!(
                    "{}/wechat/component/events?timestamp={ts}&nonce={nonce}&encrypt_type=aes&msg_signature={sig}",
                    self.base
                );
                let (status, text) = answer(self.anonymous.post(url).body(body).send().await).await?;
                if status != 200 || text != "success" {
                    return Err(format!("push: {status} {text}"));
                }
            }
            Kind::WechatPay => {
                let i = self.sent_wechatpay.fetch_add(1, Ordering::Relaxed);
                let (body, headers) = &self.wechatpay[i % self.wechatpay.len()];
                let mut req = self
                    .anonymous
                    .post(format!("{}/pay/wechat/notify", self.base))
                    .header("Content-Type", "application/json")
                    .body(body.clone());
                for (k, v) in headers {
                    req = req.header(k, v);
                }
                let (status, text) = answer(req.send().await).await?;
                if status != 204 && status != 200 {
                    return Err(format!("WeChat Pay notification: {status} {text}"));
                }
            }
            Kind::Alipay => {
                let i = self.sent_alipay.fetch_add(1, Ordering::Relaxed);
                let body = &self.alipay[i % self.alipay.len()];
                let req = self
                    .anonymous
                    .post(format!("{}/pay/alipay/notify", self.base))
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .body(body.clone());
                let (status, text) = answer(req.send().await).await?;
                if status != 200 || text != "success" {
                    return Err(format!("Alipay notification: {status} {text}"));
                }
            }
        }
        Ok(())
    }
}

/// Logs in as a browser does (the form's CSRF token, the session cookie).
async fn logged_in(base: &str, email: &str, password: &str) -> anyhow::Result<reqwest::Client> {
    let client = client_builder().cookie_store(true).build()?;
    let page = client.get(format!("{base}/login")).send().await?.text().await?;
    let token = page
        .split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .ok_or_else(|| anyhow::anyhow!("no CSRF token on the login page"))?
        .to_string();
    let resp = client
        .post(format!("{base}/login"))
        .form(&[("email", email), ("password", password), ("csrf_token", token.as_str())])
        .send()
        .await?;
    anyhow::ensure!(resp.status().is_success(), "log in as {email}: {}", resp.status());
    anyhow::ensure!(!resp.url().path().starts_with("/login"), "log in as {email} was refused");
    Ok(client)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let seconds = env_num("MINIHOST_LOAD_SECONDS", 60);
    let connections = env_num("MINIHOST_LOAD_CONNECTIONS", 64);
    let payments = env_num("MINIHOST_LOAD_PAYMENTS", 2000);
    let dir = tempfile::tempdir()?;
    let (database_url, backend, cleanup) = match std::env::var("MINIHOST_BENCH_DATABASE_URL").ok() {
        Some(admin) => {
            let name = format!("minihost_load_{}", uuid::Uuid::new_v4().simple());
            pg(&admin, &format!("CREATE DATABASE {name}"))?;
            let base = admin.rsplit_once('/').map(|(b, _)| b.to_string()).unwrap_or(admin.clone());
            (format!("{base}/{name}"), "postgres", Some((admin, name)))
        }
        None => (format!("sqlite://{}", dir.path().join("load.db").display()), "sqlite", None),
    };
    let master = [9u8; 64];
    let env = std::collections::HashMap::from([
        ("MINIHOST_BIND", "127.0.0.1:0".to_string()),
        ("DATABASE_URL", database_url.clone()),
        ("MINIHOST_DATA_DIR", dir.path().display().to_string()),
        ("MINIHOST_SECRET_KEY", base64::engine::general_purpose::STANDARD.encode(master)),
        ("MINIHOST_SANDBOX", "off".to_string()),
        ("MINIHOST_WECHAT_API_BASE", "http://127.0.0.1:9".to_string()),
        ("MINIHOST_WECHATPAY_API_BASE", "http://127.0.0.1:9".to_string()),
        ("MINIHOST_ALIPAY_GATEWAY", "http://127.0.0.1:9/gateway.do".to_string()),
        ("MINIHOST_OPERATOR_EMAIL", OPERATOR.to_string()),
        ("MINIHOST_OPERATOR_PASSWORD", PASSWORD.to_string()),
        // The reconciliation jobs stay out of the measurement.
        ("MINIHOST_PAY_WINDOW_SECS", "86400".to_string()),
        ("RUST_LOG", "error".to_string()),
    ]);
    let settings = Settings::from_lookup(|k| env.get(k).cloned())?;
    let app = Application::build(settings).await?;
    let base = format!("http://127.0.0.1:{}", app.port());
    let pool = app.pool().clone();
    tokio::spawn(app.run_until_stopped());

    // One demo workspace with WeChat Pay (the platform's provider) and Alipay, a buyer, and
    // `payments` payments on each channel waiting for their notification.
    let sealer = minihost::secrets::Sealer::new(&master);
    let now = minihost::now();
    let setup_pool = pool.clone();
    let (tenant_id, wx_nos, ali_nos) =
        tokio::task::spawn_blocking(move || -> anyhow::Result<(String, Vec<String>, Vec<String>)> {
            let mut c = setup_pool.get()?;
            minihost::demo::load(&mut c, 1, PASSWORD)?;
            let tenant_id: String =
                minihost::db::schema::tenants::table.select(minihost::db::schema::tenants::id).first(&mut c)?;
            wallet::put_provider(
                &mut c,
                &wallet::Provider {
                    id: wallet::PROVIDER_ID.into(),
                    sp_mchid: sandbox::SP_MCHID.into(),
                    sp_appid: sandbox::SP_APPID.into(),
                    api_v3_key_sealed: sealer.seal(sandbox::SP_API_V3_KEY),
                    private_key_sealed: sealer.seal(sandbox::SP_KEY_PEM),
                    cert_serial: sandbox::SP_CERT_SERIAL.into(),
                    cert_pem: Some(sandbox::SP_CERT_PEM.into()),
                    cert_not_after: None,
                    verify_mode: "certificate".into(),
                    platform_serial: sandbox::PLATFORM_CERT_SERIAL.into(),
                    platform_pem: sandbox::PLATFORM_CERT_PEM.into(),
                    platform_not_after: None,
                    checked_at: Some(now),
                    check_error: None,
                    updated_by: "load".into(),
                    updated_at: now,
                },
            )?;
            wallet::put_alipay(
                &mut c,
                &wallet::AlipayAccount {
                    id: minihost::new_id(),
                    tenant_id: tenant_id.clone(),
                    current_key: Some(tenant_id.clone()),
                    app_id: sandbox::ALIPAY_DEMO_APP_ID.into(),
                    private_key_sealed: sealer.seal(sandbox::ALIPAY_DEMO_APP_KEY_PEM),
                    alipay_public_key_sealed: sealer.seal(sandbox::ALIPAY_PUBLIC_KEY_PEM),
                    key_hint: "load".into(),
                    verified_at: now,
                    checked_at: Some(now),
                    check_error: None,
                    replaced_at: None,
                    created_by: "load".into(),
                    created_at: now,
                },
                now,
            )?;
            let buyer = commerce::Buyer {
                id: minihost::new_id(),
                tenant_id: tenant_id.clone(),
                name: "Load Buyer".into(),
                customer_group: String::new(),
                openid: None,
                deposit_fen: 0,
                created_at: now,
            };
            commerce::insert_buyer(&mut c, &buyer)?;
            let mut nos: [Vec<String>; 2] = [Vec::new(), Vec::new()];
            c.transaction(|c| -> anyhow::Result<()> {
                for (ch, channel) in ["wechatpay", "alipay"].into_iter().enumerate() {
                    for i in 0..payments {
                        let request = commerce::PayRequest {
                            id: minihost::new_id(),
                            tenant_id: tenant_id.clone(),
                            purpose: "deposit".into(),
                            order_id: None,
                            buyer_id: buyer.id.clone(),
                            amount_fen: 100,
                            description: format!("load {channel} {i}"),
                            state: "open".into(),
                            expires_at: now + 86400,
                            created_by: "load".into(),
                            created_at: now,
                            updated_at: now,
                        };
                        commerce::insert_request(c, &request)?;
                        let id = minihost::new_id();
                        let out_trade_no = minihost::domain::wallet::out_trade_no("MH", &id);
                        let merchant = if ch == 0 { SUB_MCHID } else { sandbox::ALIPAY_DEMO_APP_ID };
                        wallet::insert_payment(
                            c,
                            &wallet::Payment {
                                id,
                                tenant_id: tenant_id.clone(),
                                purpose: "checkout".into(),
                                channel: channel.into(),
                                out_trade_no: out_trade_no.clone(),
                                merchant: merchant.into(),
                                amount_fen: 100,
                                description: request.description.clone(),
                                state: "created".into(),
                                code_url: Some("https://qr.example/load".into()),
                                transaction_id: None,
                                paid_at: None,
                                out_refund_no: None,
                                refunded_at: None,
                                error: None,
                                created_by: "load".into(),
                                created_at: now,
                                updated_at: now,
                                request_id: Some(request.id.clone()),
                            },
                        )?;
                        nos[ch].push(out_trade_no);
                    }
                }
                Ok(())
            })?;
            let [wx, ali] = nos;
            Ok((tenant_id, wx, ali))
        })
        .await??;

    // Every notification signed before the clock starts (RSA signing is the payer's work).
    let ts = minihost::now();
    let wx_key = PrivateKey::parse(sandbox::PLATFORM_KEY_PEM)?;
    let wechatpay: Vec<(String, Vec<(String, String)>)> = wx_nos
        .iter()
        .enumerate()
        .map(|(i, no)| {
            let plain = json!({
                "sp_mchid": sandbox::SP_MCHID, "sub_mchid": SUB_MCHID, "out_trade_no": no,
                "transaction_id": format!("42000000{i:020}"), "trade_type": "NATIVE", "trade_state": "SUCCESS",
                "trade_state_desc": "支付成功", "success_time": "2026-12-07T10:00:00+08:00",
                "amount": {"total": 100, "payer_total": 100, "currency": "CNY", "payer_currency": "CNY"},
            })
            .to_string();
            let nonce = format!("{:012}", i % 1_000_000_000_000);
            let r = Resource::seal(sandbox::SP_API_V3_KEY, &nonce, "transaction", "transaction", &plain)
                .expect("the sandbox APIv3 key seals");
            let body = json!({"id": format!("EV-LOAD-{i}"), "create_time": "2026-12-07T10:00:00+08:00",
                "resource_type": "encrypt-resource", "event_type": "TRANSACTION.SUCCESS", "summary": "支付成功",
                "resource": r})
            .to_string();
            let headers = SignedHeaders::sign(&wx_key, sandbox::PLATFORM_CERT_SERIAL, &body, ts);
            let pairs = headers.pairs().iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            (body, pairs)
        })
        .collect();
    let ali_key = PrivateKey::parse(sandbox::ALIPAY_GATEWAY_KEY_PEM)?;
    let notify_time = alipay::timestamp(ts);
    let alipay_bodies: Vec<String> = ali_nos
        .iter()
        .enumerate()
        .map(|(i, no)| {
            let mut params: BTreeMap<String, String> = [
                ("app_id", sandbox::ALIPAY_DEMO_APP_ID.to_string()),
                ("notify_id", format!("load-notify-{i}")),
                ("notify_time", notify_time.clone()),
                ("notify_type", "trade_status_sync".into()),
                ("charset", "utf-8".into()),
                ("version", "1.0".into()),
                ("sign_type", "RSA2".into()),
                ("out_trade_no", no.clone()),
                ("trade_no", format!("2026120722001400{i:012}")),
                ("trade_status", "TRADE_SUCCESS".into()),
                ("total_amount", "1.00".into()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
            alipay::sign_notification(&mut params, &ali_key);
            serde_urlencoded::to_string(&params).expect("a form")
        })
        .collect();

    let tenant = logged_in(&base, &minihost::demo::email(1), PASSWORD).await?;
    let operator = logged_in(&base, OPERATOR, PASSWORD).await?;
    let t = &tenant_id;
    let load = Arc::new(Load {
        tenant_pages: vec![
            format!("/w/{t}"),
            format!("/w/{t}/store/mini-program"),
            format!("/w/{t}/sales/orders"),
            format!("/w/{t}/wallet"),
        ],
        operator_pages: vec!["/operator/applications".into(), "/operator/tenants".into(), "/operator/audit".into()],
        base: base.clone(),
        tenant,
        operator,
        anonymous: client_builder().build()?,
        crypt: MsgCrypt::new(SANDBOX_COMPONENT_TOKEN, SANDBOX_COMPONENT_AES_KEY, SANDBOX_COMPONENT_APPID)?,
        pushes: AtomicUsize::new(0),
        wechatpay,
        alipay: alipay_bodies,
        sent_wechatpay: AtomicUsize::new(0),
        sent_alipay: AtomicUsize::new(0),
    });

    println!("load: {backend}, {connections} connections for {seconds}s on {base}; load average before: {}", loadavg());
    let started = Instant::now();
    let until = started + Duration::from_secs(seconds as u64);
    let mut tasks = Vec::new();
    for conn in 0..connections {
        let load = load.clone();
        tasks.push(tokio::spawn(async move {
            let mut stats: BTreeMap<Kind, Stats> = BTreeMap::new();
            let mut n = conn * 7;
            while Instant::now() < until {
                let kind = Kind::pick(n);
                let t0 = Instant::now();
                let result = load.one(kind, n).await;
                let entry = stats.entry(kind).or_default();
                entry.latencies_us.push(u32::try_from(t0.elapsed().as_micros()).unwrap_or(u32::MAX));
                if let Err(e) = result {
                    entry.errors.push(e);
                }
                n += 1;
            }
            stats
        }));
    }
    let mut all: BTreeMap<Kind, Stats> = BTreeMap::new();
    for task in tasks {
        for (kind, s) in task.await? {
            let entry = all.entry(kind).or_default();
            entry.latencies_us.extend(s.latencies_us);
            entry.errors.extend(s.errors);
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!("load average after: {}", loadavg());
    println!("{:<26} {:>9} {:>9} {:>9} {:>9} {:>7}", "kind", "requests", "req/s", "p50 ms", "p99 ms", "errors");
    let mut errors = 0;
    let mut total = 0;
    for (kind, s) in &mut all {
        s.latencies_us.sort_unstable();
        let pct = |p: f64| {
            let l = &s.latencies_us;
            l.get(((l.len() as f64 * p) as usize).min(l.len().saturating_sub(1))).copied().unwrap_or(0) as f64 / 1000.0
        };
        println!(
            "{:<26} {:>9} {:>9.0} {:>9.1} {:>9.1} {:>7}",
            kind.name(),
            s.latencies_us.len(),
            s.latencies_us.len() as f64 / secs,
            pct(0.50),
            pct(0.99),
            s.errors.len()
        );
        errors += s.errors.len();
        total += s.latencies_us.len();
        for e in s.errors.iter().take(5) {
            println!("    error: {e}");
        }
    }
    println!("{:<26} {:>9} {:>9.0}   over {secs:.1}s", "all", total, total as f64 / secs);
    let unique_wx = load.sent_wechatpay.load(Ordering::Relaxed).min(load.wechatpay.len());
    let unique_ali = load.sent_alipay.load(Ordering::Relaxed).min(load.alipay.len());
    println!(
        "notifications: {unique_wx} of {} WeChat Pay and {unique_ali} of {} Alipay payments notified (the rest of the \
         notifications were retries of those)",
        load.wechatpay.len(),
        load.alipay.len()
    );
    let tid = tenant_id.clone();
    let collected = tokio::task::spawn_blocking(move || -> anyhow::Result<i64> {
        let mut c = pool.get()?;
        Ok(commerce::collection_count(&mut c, &tid)?)
    })
    .await??;
    println!("payment collections: {collected} (one per notified payment)");
    if let Some((admin, name)) = cleanup {
        pg(&admin, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
    }
    anyhow::ensure!(errors == 0, "{errors} of {total} requests got an unexpected answer");
    anyhow::ensure!(
        collected == (unique_wx + unique_ali) as i64,
        "{collected} collections for {} notified payments: not exactly once",
        unique_wx + unique_ali
    );
    Ok(())
}

#[cfg(feature = "postgres")]
fn pg(admin: &str, sql: &str) -> anyhow::Result<()> {
    let mut c = diesel::PgConnection::establish(admin)?;
    diesel::sql_query(sql).execute(&mut c)?;
    Ok(())
}

#[cfg(not(feature = "postgres"))]
fn pg(_: &str, _: &str) -> anyhow::Result<()> {
    anyhow::bail!("build with --features postgres to load-test PostgreSQL")
}
