//! The binary: start-up failures say one clear line; `operator create` reads stdin.

use std::io::Write;
use std::process::{Command, Stdio};

fn minihost() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_minihost"));
    cmd.env_remove("DATABASE_URL").env("RUST_LOG", "error");
    cmd
}

#[test]
fn an_unknown_database_scheme_stops_start_up_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = minihost()
        .args(["serve"])
        .env("DATABASE_URL", "mysql://localhost/minihost")
        .env("MINIHOST_DATA_DIR", dir.path())
        .env("MINIHOST_BIND", "127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains("\"mysql\" is not supported"), "{stderr}");
    assert!(!stderr.contains("panicked"));
}

#[test]
fn an_unreachable_database_stops_start_up_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = minihost()
        .args(["migrate"])
        .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
        .env("MINIHOST_DATA_DIR", dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    if cfg!(feature = "postgres") {
        assert!(stderr.contains("cannot open the postgres database"), "{stderr}");
    } else {
        assert!(stderr.contains("cargo build --features postgres"), "{stderr}");
    }
}

#[test]
fn operator_create_reads_the_password_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("m.db").display());
    let mut child = minihost()
        .args(["operator", "create", "--email", "second@example.com"])
        .env("DATABASE_URL", &db)
        .env("MINIHOST_DATA_DIR", dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"a-long-operator-password\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("operator second@example.com is ready"));

    let mut short = minihost()
        .args(["operator", "create", "--email", "third@example.com"])
        .env("DATABASE_URL", &db)
        .env("MINIHOST_DATA_DIR", dir.path())
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    short.stdin.take().unwrap().write_all(b"short\n").unwrap();
    let out = short.wait_with_output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 10 characters"));
}

#[tokio::test]
async fn backup_copies_the_sqlite_database_while_the_server_writes() {
    use diesel::prelude::*;
    use minihost::db::schema::users;
    use std::sync::atomic::{AtomicBool, Ordering};

    let app = crate::helpers::TestApp::spawn().await;
    let env = app.process_env();
    let url = env["DATABASE_URL"].clone();
    let data_dir = env["MINIHOST_DATA_DIR"].clone();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("copy.db");
    let backup = |target: std::path::PathBuf| {
        let (url, data_dir) = (url.clone(), data_dir.clone());
        move || {
            minihost()
                .arg("backup")
                .arg(&target)
                .env("DATABASE_URL", url)
                .env("MINIHOST_DATA_DIR", data_dir)
                .output()
                .unwrap()
        }
    };
    if url.starts_with("postgres") {
        let out = backup(target)();
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
        assert!(stderr.contains("pg_dump -Fc") && stderr.contains("README"), "{stderr}");
        return;
    }
    let accounts = || app.db(|c| users::table.count().get_result::<i64>(c).unwrap());

    // Accounts are signed up over HTTP all the while the copy is made.
    let done = AtomicBool::new(false);
    let writer = async {
        let mut n = 0;
        while !done.load(Ordering::Relaxed) {
            app.browser().sign_up(&format!("writer-{n}@example.com"), "Writer").await;
            n += 1;
        }
        n
    };
    let copy = async {
        crate::mini_program::eventually("a few accounts are written", || accounts() >= 4).await;
        let before = accounts();
        let out = tokio::task::spawn_blocking(backup(target.clone())).await.unwrap();
        let after = accounts();
        done.store(true, Ordering::Relaxed);
        (before, out, after)
    };
    let (written, (before, out, after)) = tokio::join!(writer, copy);
    assert!(written >= 3);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains(&format!("backed up the database to {}", target.display())), "{stdout}");
    assert!(stdout.contains("secret key"), "{stdout}");
    let size = std::fs::metadata(&target).unwrap().len();
    assert!(stdout.contains(&format!("({size} bytes)")), "{stdout}");

    // The copy opens, is whole, and has the rows written before it was made.
    let mut copy = diesel::SqliteConnection::establish(target.to_str().unwrap()).unwrap();
    #[derive(QueryableByName)]
    struct Check {
        #[diesel(sql_type = diesel::sql_types::Text)]
        integrity_check: String,
    }
    let check: Check = diesel::sql_query("PRAGMA integrity_check").get_result(&mut copy).unwrap();
    assert_eq!(check.integrity_check, "ok");
    let copied = users::table.count().get_result::<i64>(&mut copy).unwrap();
    assert!((before..=after).contains(&copied), "{before} <= {copied} <= {after}");
    let operator: i64 = users::table.filter(users::is_operator.eq(true)).count().get_result(&mut copy).unwrap();
    assert_eq!(operator, 1);

    // It never overwrites.
    let again = backup(target.clone())();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    assert_eq!(std::fs::metadata(&target).unwrap().len(), size);
}
