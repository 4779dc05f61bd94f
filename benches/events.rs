//! Load generator for `POST /wechat/component/events`: how many pushes per second the
//! console verifies, decrypts, stores and acknowledges over loopback.
//!
//! cargo bench --bench events                                   # SQLite
//! MINIHOST_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!   cargo bench --features postgres --bench events             # PostgreSQL
//!
//! MINIHOST_BENCH_EVENTS (default 5000) and MINIHOST_BENCH_CONCURRENCY (default 32) tune it.

use std::sync::Arc;
use std::time::Instant;

use minihost::config::{SANDBOX_COMPONENT_AES_KEY, SANDBOX_COMPONENT_APPID, SANDBOX_COMPONENT_TOKEN, Settings};
use minihost::startup::Application;
use minihost::wechat::crypto::{MsgCrypt, build_flat_xml};

fn env_num(key: &str, default: usize) -> usize {
    std::env::var(key).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let total = env_num("MINIHOST_BENCH_EVENTS", 5000);
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
    let env = std::collections::HashMap::from([
        ("MINIHOST_BIND", "127.0.0.1:0".to_string()),
        ("DATABASE_URL", database_url),
        ("MINIHOST_DATA_DIR", dir.path().display().to_string()),
        ("MINIHOST_SANDBOX", "off".to_string()),
        ("MINIHOST_WECHAT_API_BASE", "http://127.0.0.1:9".to_string()),
        ("MINIHOST_OPERATOR_EMAIL", "bench@example.com".to_string()),
        ("MINIHOST_OPERATOR_PASSWORD", "bench-password-1".to_string()),
        ("RUST_LOG", "warn".to_string()),
    ]);
    let settings = Settings::from_lookup(|k| env.get(k).cloned())?;
    let app = Application::build(settings).await?;
    let pool = app.pool().clone();
    let url = format!("http://127.0.0.1:{}/wechat/component/events", app.port());
    tokio::spawn(app.run_until_stopped());

    // Pre-encrypt every push so the generator measures the server, not itself.
    let crypt = MsgCrypt::new(SANDBOX_COMPONENT_TOKEN, SANDBOX_COMPONENT_AES_KEY, SANDBOX_COMPONENT_APPID)?;
    let ts = minihost::now().to_string();
    let requests: Vec<(String, String)> = (0..total)
        .map(|i| {
            let nonce = format!("bench{i}");
            let xml = build_flat_xml(&[
                ("AppId", SANDBOX_COMPONENT_APPID),
                ("CreateTime", &ts),
                ("InfoType", "unknown_bench_event"),
                ("Seq", &i.to_string()),
            ]);
            let (body, sig) = crypt.seal_envelope(&xml, &ts, &nonce, None);
            (format!("{url}?timestamp={ts}&nonce={nonce}&encrypt_type=aes&msg_signature={sig}"), body)
        })
        .collect();
    let requests = Arc::new(tokio::sync::Mutex::new(requests.into_iter()));
    let client = reqwest::Client::new();
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (requests, client) = (requests.clone(), client.clone());
        workers.push(tokio::spawn(async move {
            let mut ok = 0usize;
            loop {
                let next = requests.lock().await.next();
                let Some((url, body)) = next else { break };
                if let Ok(resp) = client.post(url).body(body).send().await
                    && resp.status().is_success()
                    && resp.text().await.is_ok_and(|t| t == "success")
                {
                    ok += 1;
                }
            }
            ok
        }));
    }
    let mut ok = 0;
    for w in workers {
        ok += w.await?;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "backend={backend} events={total} acknowledged={ok} concurrency={concurrency} seconds={secs:.2} events_per_second={:.0}",
        ok as f64 / secs
    );
    // `success` means stored: every acknowledged push is a row, and was handled.
    let stored = tokio::task::spawn_blocking(move || -> anyhow::Result<(i64, i64)> {
        let mut c = pool.get()?;
        Ok((minihost::db::platform::count_events(&mut c)?, minihost::db::platform::count_events_handled(&mut c)?))
    })
    .await??;
    println!("stored events={} processed or ignored={}", stored.0, stored.1);
    if let Some((admin, name)) = cleanup {
        pg(&admin, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
    }
    anyhow::ensure!(ok == total, "only {ok} of {total} pushes were acknowledged");
    anyhow::ensure!(stored == (ok as i64, ok as i64), "{ok} pushes acknowledged but {stored:?} stored and handled");
    Ok(())
}

#[cfg(feature = "postgres")]
fn pg(admin: &str, sql: &str) -> anyhow::Result<()> {
    use diesel::{Connection, RunQueryDsl};
    let mut c = diesel::PgConnection::establish(admin)?;
    diesel::sql_query(sql).execute(&mut c)?;
    Ok(())
}

#[cfg(not(feature = "postgres"))]
fn pg(_: &str, _: &str) -> anyhow::Result<()> {
    anyhow::bail!("build with --features postgres to benchmark PostgreSQL")
}
