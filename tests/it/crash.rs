//! Crash safety: the real binary on a SQLite file takes a stream of signed WeChat pushes
//! while jobs are queued beside it, and is killed (`kill -9`) at random moments, then
//! started again on the same database, several times. A push whose answer was lost is
//! sent again as WeChat would (same nonce, same body) until it gets one. In the end every
//! push that was answered `success` (or refused as a replay of one that got through) is
//! stored once and processed exactly once, and every queued job finished, none of them
//! twice.
//!
//! The moments come from a seeded generator; the seed is printed, and
//! `MINIHOST_CRASH_SEED=<seed>` runs the same schedule again. It runs the binary, so it is
//! an ignored test with its own CI lane: `cargo test --test it -- --ignored crash_`.

use std::collections::{BTreeMap, HashMap};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use minihost::config::{SANDBOX_COMPONENT_AES_KEY, SANDBOX_COMPONENT_APPID, SANDBOX_COMPONENT_TOKEN};
use minihost::db::jobs::{self, JobKind};
use minihost::wechat::crypto::{MsgCrypt, build_flat_xml, parse_flat_xml};

/// A small, seedable generator (xorshift64*), so a failing schedule can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// One push, kept exactly as first sent so that a retry is the same request.
#[derive(Clone)]
struct Push {
    seq: usize,
    url_query: String,
    body: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Success,
    /// 409: the nonce was seen; the first attempt got in (or was lost: checked at the end).
    Replay,
}

const PUSHERS: usize = 4;
const KILLS: usize = 6;

fn crypt() -> MsgCrypt {
    MsgCrypt::new(SANDBOX_COMPONENT_TOKEN, SANDBOX_COMPONENT_AES_KEY, SANDBOX_COMPONENT_APPID).unwrap()
}

/// The pushes: tickets older than the sandbox's own (stored or ignored; a first ticket
/// queues a token job), withdrawals by unknown accounts, and kinds with no handler.
fn pushes(count: usize, started: i64) -> Vec<Push> {
    let c = crypt();
    (0..count)
        .map(|seq| {
            let seq_text = seq.to_string();
            let created = (1000 + seq).to_string();
            let fields: Vec<(&str, &str)> = match seq % 3 {
                0 => vec![
                    ("AppId", SANDBOX_COMPONENT_APPID),
                    ("CreateTime", &created),
                    ("InfoType", "component_verify_ticket"),
                    ("ComponentVerifyTicket", "ticket@@@crash-test"),
                    ("Seq", &seq_text),
                ],
                1 => vec![
                    ("AppId", SANDBOX_COMPONENT_APPID),
                    ("CreateTime", &created),
                    ("InfoType", "unauthorized"),
                    ("AuthorizerAppid", "wx00000000000crash"),
                    ("Seq", &seq_text),
                ],
                _ => vec![
                    ("AppId", SANDBOX_COMPONENT_APPID),
                    ("CreateTime", &created),
                    ("InfoType", "crash_test_event"),
                    ("Seq", &seq_text),
                ],
            };
            let xml = build_flat_xml(&fields);
            let ts = started.to_string();
            let nonce = format!("crash{seq}");
            let (body, sig) = c.seal_envelope(&xml, &ts, &nonce, None);
            let url_query = format!("timestamp={ts}&nonce={nonce}&encrypt_type=aes&msg_signature={sig}");
            Push { seq, url_query, body }
        })
        .collect()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn start(dir: &std::path::Path, db_url: &str, port: u16, run: usize) -> Child {
    let log = std::fs::File::create(dir.join(format!("run-{run}.log"))).unwrap();
    Command::new(env!("CARGO_BIN_EXE_minihost"))
        .arg("serve")
        .env_remove("DATABASE_URL")
        .env("DATABASE_URL", db_url)
        .env("MINIHOST_DATA_DIR", dir.join("data"))
        .env("MINIHOST_BIND", format!("127.0.0.1:{port}"))
        .env("MINIHOST_OPERATOR_EMAIL", "ops@example.com")
        .env("MINIHOST_OPERATOR_PASSWORD", "operator-password-1")
        .env("MINIHOST_JOB_POLL_MS", "20")
        .env("MINIHOST_JOB_LEASE_SECS", "2")
        .env("RUST_LOG", "warn,minihost::worker=info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::from(log.try_clone().unwrap()))
        .stderr(Stdio::from(log))
        .spawn()
        .expect("the binary starts")
}

async fn wait_healthy(client: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if client.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the restarted server did not answer /healthz within a minute");
}

/// Sends pushes from the shared queue until it is empty or the server stops answering; a
/// push without a definite answer goes back to the queue.
async fn pusher(
    client: reqwest::Client,
    base: String,
    queue: Arc<Mutex<Vec<Push>>>,
    answers: Arc<Mutex<BTreeMap<usize, Answer>>>,
) {
    loop {
        let Some(push) = queue.lock().unwrap().pop() else { return };
        let url = format!("{base}/wechat/component/events?{}", push.url_query);
        let answer = match client.post(&url).body(push.body.clone()).send().await {
            Ok(resp) => {
                let status = resp.status();
                let text = resp.text().await.unwrap_or_default();
                match status.as_u16() {
                    200 if text == "success" => Some(Answer::Success),
                    409 => Some(Answer::Replay),
                    200 => None, // the body was cut off by the kill
                    other => panic!("push {} was refused with {other}: {text}", push.seq),
                }
            }
            Err(_) => None,
        };
        match answer {
            Some(a) => {
                answers.lock().unwrap().insert(push.seq, a);
            }
            None => {
                // Down: give the push back (it is sent again after the restart) and stop.
                queue.lock().unwrap().push(push);
                return;
            }
        }
    }
}

/// Queues `n` jobs beside the pushes: token refreshes (a call to the sandbox) and checklist
/// re-evaluations (database only), without unique keys, so each is its own job.
fn queue_jobs(pool: &minihost::db::DbPool, n: usize, rng: &mut Rng) {
    let mut c = pool.get().unwrap();
    let now = minihost::now();
    for _ in 0..n {
        if rng.below(2) == 0 {
            jobs::enqueue(&mut c, &jobs::RefreshComponentToken { force: true }, None, now, now).unwrap();
        } else {
            jobs::enqueue(&mut c, &jobs::ReevaluateRequirements, None, now, now).unwrap();
        }
    }
}

/// `job.id=…` of every "job done" line in the logs, counted.
fn done_lines(dir: &std::path::Path, runs: usize) -> HashMap<String, usize> {
    let mut done = HashMap::new();
    for run in 0..runs {
        let text = std::fs::read_to_string(dir.join(format!("run-{run}.log"))).unwrap_or_default();
        for line in text.lines().filter(|l| l.ends_with("job done")) {
            if let Some(id) = line.split("job.id=").nth(1).and_then(|r| r.split([' ', '}']).next()) {
                *done.entry(id.to_string()).or_insert(0) += 1;
            }
        }
    }
    done
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "runs the binary and kills it; CI runs it in the crash-safety lane"]
async fn crash_kill_9_during_pushes_and_jobs_loses_and_repeats_nothing() {
    let seed = std::env::var("MINIHOST_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
    });
    println!("crash-safety seed: {seed} (MINIHOST_CRASH_SEED={seed} repeats this schedule)");
    let mut rng = Rng(seed | 1);

    let dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}", dir.path().join("minihost.db").display());
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();

    let total = 3000;
    let mut all = pushes(total, minihost::now());
    all.reverse(); // popped from the end: sent in order
    let queue = Arc::new(Mutex::new(all));
    let answers = Arc::new(Mutex::new(BTreeMap::new()));
    let mut queued_jobs = 0;
    let mut runs = 0;

    for kill in 0..=KILLS {
        let mut child = start(dir.path(), &db_url, port, runs);
        runs += 1;
        wait_healthy(&client, &base).await;
        let pool = minihost::db::connect(&db_url).unwrap();
        let pushers: Vec<_> = (0..PUSHERS)
            .map(|_| tokio::spawn(pusher(client.clone(), base.clone(), queue.clone(), answers.clone())))
            .collect();
        if kill < KILLS {
            // Jobs keep coming while the pushes do; the kill lands somewhere in the middle.
            let until = Instant::now() + Duration::from_millis(100 + rng.below(1500));
            while Instant::now() < until {
                let n = 1 + rng.below(5) as usize;
                queue_jobs(&pool, n, &mut rng);
                queued_jobs += n;
                tokio::time::sleep(Duration::from_millis(rng.below(60))).await;
            }
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            for p in pushers {
                p.await.unwrap();
            }
        } else {
            // The last run: everything is delivered and every job ends.
            for p in pushers {
                p.await.unwrap();
            }
            assert!(queue.lock().unwrap().is_empty(), "the last run delivered every push");
            let deadline = Instant::now() + Duration::from_secs(120);
            loop {
                let mut c = pool.get().unwrap();
                // Every job that is due has ended (the platform's planned token refresh and the
                // periodic rounds wait for their time, and are not this test's).
                let now = minihost::now();
                let due_open = jobs::recent(&mut c, 100_000)
                    .unwrap()
                    .into_iter()
                    .filter(|j| (j.status == "queued" || j.status == "running") && j.run_at <= now)
                    .count();
                if due_open == 0 {
                    break;
                }
                if Instant::now() > deadline {
                    let open: Vec<String> = jobs::recent(&mut c, 1000)
                        .unwrap()
                        .into_iter()
                        .filter(|j| (j.status == "queued" || j.status == "running") && j.run_at <= minihost::now())
                        .map(|j| {
                            format!(
                                "{} {} attempts {} due in {}s: {:?}",
                                j.kind,
                                j.status,
                                j.attempts,
                                j.run_at - minihost::now(),
                                j.last_error
                            )
                        })
                        .collect();
                    panic!(
                        "seed {seed}: {} jobs still open two minutes after the last restart:\n{}",
                        open.len(),
                        open.join("\n")
                    );
                }
                drop(c);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    // Every push has its answer, and each answered one is stored once and processed once.
    let answers = answers.lock().unwrap().clone();
    assert_eq!(answers.len(), total, "every push got a definite answer");
    let pool = minihost::db::connect(&db_url).unwrap();
    let mut c = pool.get().unwrap();
    let events = minihost::db::platform::recent_events(&mut c, 100_000).unwrap();
    let mut by_seq: BTreeMap<usize, Vec<&minihost::db::platform::Event>> = BTreeMap::new();
    for e in &events {
        let fields = parse_flat_xml(&e.decoded).unwrap_or_default();
        if let Some(seq) = fields.iter().find(|(k, _)| k == "Seq").and_then(|(_, v)| v.parse().ok()) {
            by_seq.entry(seq).or_default().push(e);
        }
    }
    let mut problems = Vec::new();
    for (seq, answer) in &answers {
        match by_seq.get(seq).map(Vec::as_slice) {
            None | Some([]) => problems.push(format!("push {seq} was answered {answer:?} but is not stored")),
            Some([e]) => {
                if e.status == minihost::db::platform::EventStatus::Received {
                    problems.push(format!("push {seq} is stored but was never processed"));
                }
                if e.attempts != 1 {
                    problems.push(format!("push {seq} was processed {} times", e.attempts));
                }
            }
            Some(many) => problems.push(format!("push {seq} is stored {} times", many.len())),
        }
    }

    // Every queued job finished; none was recorded done twice.
    let all_jobs = jobs::recent(&mut c, 100_000).unwrap();
    let ours: Vec<&jobs::Job> = all_jobs
        .iter()
        .filter(|j| [jobs::RefreshComponentToken::NAME, jobs::ReevaluateRequirements::NAME].contains(&j.kind.as_str()))
        .filter(|j| j.status != "queued" || j.run_at <= minihost::now())
        .collect();
    assert!(ours.len() >= queued_jobs, "{queued_jobs} jobs were queued, {} are in the table", ours.len());
    for job in &all_jobs {
        if job.status == "failed"
            || ((job.status == "queued" || job.status == "running") && job.run_at <= minihost::now())
        {
            problems.push(format!("job {} ({}) ended {}: {:?}", job.id, job.kind, job.status, job.last_error));
        }
    }
    let done = done_lines(dir.path(), runs);
    for (id, n) in &done {
        if *n > 1 {
            problems.push(format!("job {id} ran to completion {n} times"));
        }
    }
    let replays = answers.values().filter(|a| **a == Answer::Replay).count();
    println!(
        "crash-safety: {runs} runs, {KILLS} kills, {total} pushes ({replays} answered as replays after a lost answer), \
         {} jobs ({} seen done in the logs)",
        ours.len(),
        done.len()
    );
    if !problems.is_empty() {
        let kept = dir.keep();
        println!("the database and the servers' logs are kept in {}", kept.display());
    }
    assert!(problems.is_empty(), "seed {seed}: {} problems:\n{}", problems.len(), problems.join("\n"));
}
