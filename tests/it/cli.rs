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
