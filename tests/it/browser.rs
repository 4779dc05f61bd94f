//! A real browser (headless Chromium through chromedriver) signs up and applies for a
//! workspace, finding fields by their visible labels and buttons by their words.
//! Needs Debian's `chromium` and `chromium-driver`; `.ci/run` runs it with `--ignored`.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};

use crate::helpers::TestApp;

struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_chromedriver() -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let bin = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
    let mut driver = Driver {
        child: Command::new(bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is installed (apt-get install chromium-driver)"),
        url: String::new(),
    };
    driver.url = format!("http://127.0.0.1:{port}");
    // Wait until it answers its status endpoint (bounded: 100 × 100 ms).
    for _ in 0..100 {
        if let Ok(resp) = reqwest::get(format!("{}/status", driver.url)).await
            && resp.status().is_success()
        {
            return driver;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not start");
}

async fn open_browser(driver: &Driver) -> Client {
    let profile = tempfile::tempdir().unwrap().keep();
    let caps = serde_json::json!({
        "goog:chromeOptions": {
            "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1280,1000", "--lang=en-US",
                format!("--user-data-dir={}", profile.display()),
            ],
            "prefs": { "intl.accept_languages": "en-US,en" }
        }
    });
    let serde_json::Value::Object(caps) = caps else { unreachable!() };
    ClientBuilder::rustls().unwrap().capabilities(caps).connect(&driver.url).await.expect("a browser session")
}

fn artifacts() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("test-artifacts/browser");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    std::fs::write(artifacts().join(format!("{name}.png")), png).unwrap();
}

/// Types into the input whose visible label is `label`.
async fn fill(c: &Client, label: &str, value: &str) {
    let label_el = c.find(Locator::XPath(&format!("//label[normalize-space()={}]", xpath_str(label)))).await.unwrap();
    let id = label_el.attr("for").await.unwrap().expect("the label names its field");
    c.find(Locator::Id(&id)).await.unwrap().send_keys(value).await.unwrap();
}

async fn click_label(c: &Client, label: &str) {
    c.find(Locator::XPath(&format!("//label[normalize-space()={}]", xpath_str(label))))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

async fn click_button(c: &Client, text: &str) {
    c.find(Locator::XPath(&format!("//button[normalize-space()={}]", xpath_str(text))))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Waits (at most 10 s) for a page heading with these words.
async fn wait_for_heading(c: &Client, text: &str) {
    let xpath = format!("//*[self::h1 or self::h2][normalize-space()={}]", xpath_str(text));
    if let Err(e) = c.wait().at_most(Duration::from_secs(10)).for_element(Locator::XPath(&xpath)).await {
        screenshot(c, "failure").await;
        let source = c.source().await.unwrap_or_default();
        panic!("{text:?} did not appear: {e}\n{source}");
    }
}

fn xpath_str(s: &str) -> String {
    format!("'{}'", s.replace('\'', ""))
}

#[tokio::test]
#[ignore = "needs chromium and chromedriver; .ci/run runs it in the browser lane"]
async fn browser_signs_up_and_submits_a_workspace_application() {
    let app = TestApp::spawn().await;
    let driver = start_chromedriver().await;
    let c = open_browser(&driver).await;

    c.goto(&format!("{}/signup", app.base)).await.unwrap();
    wait_for_heading(&c, "Create your account").await;
    fill(&c, "E-mail", "browser@example.com").await;
    fill(&c, "Your name", "Browser Tester").await;
    fill(&c, "Password", "browser-password-1").await;
    click_label(&c, "I have read and agree to the Terms of Service").await;
    screenshot(&c, "01-signup").await;
    click_button(&c, "Sign Up").await;

    wait_for_heading(&c, "Select your role").await;
    screenshot(&c, "02-role").await;
    click_button(&c, "Select").await;

    wait_for_heading(&c, "Business details").await;
    fill(&c, "Company Name", "Browser Test Co.").await;
    fill(&c, "Website (optional)", "https://browser.example").await;
    screenshot(&c, "03-details").await;
    click_button(&c, "Next Step").await;

    wait_for_heading(&c, "Review and submit the application").await;
    screenshot(&c, "04-review").await;
    click_button(&c, "Submit Application").await;

    wait_for_heading(&c, "Your application is under review").await;
    screenshot(&c, "05-status").await;
    let source = c.source().await.unwrap();
    assert!(source.contains("Browser Test Co."));
    c.close().await.unwrap();

    // What the browser did reached the database.
    let status = app.db(|conn| {
        let u = minihost::db::users::find_by_email(conn, "browser@example.com").unwrap().unwrap();
        minihost::db::applications::find_for_user(conn, &u.id).unwrap().unwrap().status
    });
    assert_eq!(status, "submitted");
}
