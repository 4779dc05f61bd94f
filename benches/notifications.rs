//! Load generator for `POST /pay/wechat/notify`: how many verified WeChat Pay payment
//! notifications per second the console verifies (signature, timestamp), decrypts (AEAD),
//! stores and turns into payment collections, with each notification also delivered a
//! second time (WeChat Pay's retries) and every payment collected exactly once.
//!
//! cargo bench --bench notifications                                   # SQLite
//! MINIHOST_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!   cargo bench --features postgres --bench notifications             # PostgreSQL
//!
//! MINIHOST_BENCH_PAYMENTS (default 3000) and MINIHOST_BENCH_CONCURRENCY (default 32) tune it.
//! The notifications are built as WeChat Pay documents them (reference §7.7–7.8) and signed
//! with the sandbox's published platform key, before the clock starts.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use diesel::prelude::*;
use minihost::config::Settings;
use minihost::db::{commerce, wallet};
use minihost::pay::keys::PrivateKey;
use minihost::pay::wechatpay::{Resource, SignedHeaders};
use minihost::sandbox::pay as sandbox;
use minihost::startup::Application;
use serde_json::json;

fn env_num(key: &str, default: usize) -> usize {
    std::env::var(key).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

const SUB_MCHID: &str = "1900000109";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let total = env_num("MINIHOST_BENCH_PAYMENTS", 3000);
    let concurrency = env_num("MINIHOST_BENCH_CONCURRENCY", 32);
    let dir = tempfile::tempdir()?;
    let (database_url, backend, cleanup) = match std::env::var("MINIHOST_BENCH_DATABASE_URL").ok() {
        Some(admin) => {
            let name = format!("minihost_bench_{}", uuid::Uuid::new_v4().simple());
            pg(&admin, &format!("CREATE DATABASE {name}"))?;
            let base = admin.rsplit_once('/').map(|(b, _)| b.to_string()).unwrap_or(admin.clone());
            (format!("{base}/{name}"), "postgres", Some((admin, name)))
        }
        None => (format!("sqlite://{}", dir.path().join("bench.db").display()), "sqlite", None),
    };
    let master = [7u8; 64];
    let env = std::collections::HashMap::from([
        ("MINIHOST_BIND", "127.0.0.1:0".to_string()),
        ("DATABASE_URL", database_url),
        ("MINIHOST_DATA_DIR", dir.path().display().to_string()),
        ("MINIHOST_SECRET_KEY", base64::engine::general_purpose::STANDARD.encode(master)),
        ("MINIHOST_SANDBOX", "off".to_string()),
        ("MINIHOST_WECHAT_API_BASE", "http://127.0.0.1:9".to_string()),
        ("MINIHOST_WECHATPAY_API_BASE", "http://127.0.0.1:9".to_string()),
        ("MINIHOST_OPERATOR_EMAIL", "bench@example.com".to_string()),
        ("MINIHOST_OPERATOR_PASSWORD", "bench-password-1".to_string()),
        // The reconciliation jobs stay out of the measurement.
        ("MINIHOST_PAY_WINDOW_SECS", "86400".to_string()),
        ("RUST_LOG", "warn".to_string()),
    ]);
    let settings = Settings::from_lookup(|k| env.get(k).cloned())?;
    let app = Application::build(settings).await?;
    let url = format!("http://127.0.0.1:{}/pay/wechat/notify", app.port());
    let pool = app.pool().clone();
    tokio::spawn(app.run_until_stopped());

    // The platform's provider (the sandbox's published keys, sealed as the console seals
    // them), one tenant with one buyer, and `total` payments waiting for their notification.
    let sealer = minihost::secrets::Sealer::new(&master);
    let now = minihost::now();
    let out_trade_nos = tokio::task::spawn_blocking(move || -> anyhow::Result<(String, Vec<String>)> {
        let mut c = pool.get()?;
        minihost::demo::load(&mut c, 1, "bench-password-1")?;
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
                updated_by: "bench".into(),
                updated_at: now,
            },
        )?;
        let buyer = commerce::Buyer {
            id: minihost::new_id(),
            tenant_id: tenant_id.clone(),
            name: "Bench Buyer".into(),
            customer_group: String::new(),
            openid: None,
            deposit_fen: 0,
            created_at: now,
        };
        commerce::insert_buyer(&mut c, &buyer)?;
        let mut nos = Vec::with_capacity(total);
        c.transaction(|c| -> anyhow::Result<()> {
            for i in 0..total {
                let request = commerce::PayRequest {
                    id: minihost::new_id(),
                    tenant_id: tenant_id.clone(),
                    purpose: "deposit".into(),
                    order_id: None,
                    buyer_id: buyer.id.clone(),
                    amount_fen: 100,
                    description: format!("bench {i}"),
                    state: "open".into(),
                    expires_at: now + 86400,
                    created_by: "bench".into(),
                    created_at: now,
                    updated_at: now,
                };
                commerce::insert_request(c, &request)?;
                let id = minihost::new_id();
                let out_trade_no = minihost::domain::wallet::out_trade_no("MH", &id);
                wallet::insert_payment(
                    c,
                    &wallet::Payment {
                        id,
                        tenant_id: tenant_id.clone(),
                        purpose: "checkout".into(),
                        channel: "wechatpay".into(),
                        out_trade_no: out_trade_no.clone(),
                        merchant: SUB_MCHID.into(),
                        amount_fen: 100,
                        description: request.description.clone(),
                        state: "created".into(),
                        code_url: Some("weixin://wxpay/bizpayurl?pr=bench".into()),
                        transaction_id: None,
                        paid_at: None,
                        out_refund_no: None,
                        refunded_at: None,
                        error: None,
                        created_by: "bench".into(),
                        created_at: now,
                        updated_at: now,
                        request_id: Some(request.id.clone()),
                    },
                )?;
                nos.push(out_trade_no);
            }
            Ok(())
        })?;
        Ok((tenant_id, nos))
    })
    .await??;
    let (tenant_id, out_trade_nos) = out_trade_nos;

    // Every notification built and signed before the clock starts; each is sent twice.
    let key = PrivateKey::parse(sandbox::PLATFORM_KEY_PEM)?;
    let ts = minihost::now();
    let mut requests = Vec::with_capacity(total * 2);
    for (i, no) in out_trade_nos.iter().enumerate() {
        let plain = json!({
            "sp_mchid": sandbox::SP_MCHID, "sub_mchid": SUB_MCHID, "out_trade_no": no,
            "transaction_id": format!("42000000{i:020}"), "trade_type": "NATIVE", "trade_state": "SUCCESS",
            "trade_state_desc": "支付成功", "success_time": "2026-12-07T10:00:00+08:00",
            "amount": {"total": 100, "payer_total": 100, "currency": "CNY", "payer_currency": "CNY"},
        })
        .to_string();
        let nonce = format!("{:012}", i % 1_000_000_000_000);
        let r = Resource::seal(sandbox::SP_API_V3_KEY, &nonce, "transaction", "transaction", &plain)?;
        let body = json!({"id": format!("EV-{i}"), "create_time": "2026-12-07T10:00:00+08:00",
            "resource_type": "encrypt-resource", "event_type": "TRANSACTION.SUCCESS", "summary": "支付成功",
            "resource": {"original_type": "transaction", "algorithm": r.algorithm, "ciphertext": r.ciphertext,
                "associated_data": r.associated_data, "nonce": r.nonce}})
        .to_string();
        let headers = SignedHeaders::sign(&key, sandbox::PLATFORM_CERT_SERIAL, &body, ts);
        let pairs: Vec<(String, String)> =
            headers.pairs().iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        requests.push((body, pairs));
    }
    let duplicates = requests.clone();
    requests.extend(duplicates);
    let sent = requests.len();

    let queue = Arc::new(tokio::sync::Mutex::new(requests.into_iter()));
    let client = reqwest::Client::new();
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (queue, client, url) = (queue.clone(), client.clone(), url.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut ok = 0usize;
            loop {
                let next = queue.lock().await.next();
                let Some((body, headers)) = next else { break };
                let t0 = Instant::now();
                let mut req = client.post(&url).header("Content-Type", "application/json").body(body);
                for (k, v) in headers {
                    req = req.header(k, v);
                }
                if let Ok(resp) = req.send().await
                    && resp.status().is_success()
                {
                    ok += 1;
                }
                latencies.push(t0.elapsed());
            }
            (ok, latencies)
        }));
    }
    let mut ok = 0;
    let mut latencies: Vec<Duration> = Vec::new();
    for w in workers {
        let (n, l) = w.await?;
        ok += n;
        latencies.extend(l);
    }
    let secs = started.elapsed().as_secs_f64();
    latencies.sort();
    let pct =
        |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)].as_secs_f64() * 1000.0;

    let pool = minihost::db::connect(&env["DATABASE_URL"])?;
    let tid = tenant_id.clone();
    let collected = tokio::task::spawn_blocking(move || -> anyhow::Result<i64> {
        let mut c = pool.get()?;
        Ok(commerce::collection_count(&mut c, &tid)?)
    })
    .await??;
    println!(
        "backend={backend} payments={total} notifications_sent={sent} accepted={ok} concurrency={concurrency} seconds={secs:.2} \
         notifications_per_second={:.0} p50_ms={:.1} p99_ms={:.1} collections={collected}",
        ok as f64 / secs,
        pct(0.50),
        pct(0.99)
    );
    if let Some((admin, name)) = cleanup {
        pg(&admin, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
    }
    anyhow::ensure!(ok == sent, "only {ok} of {sent} notifications were accepted");
    anyhow::ensure!(collected == total as i64, "{collected} collections for {total} payments: not exactly once");
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
    anyhow::bail!("build with --features postgres to benchmark PostgreSQL")
}
