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

/// The field whose visible label is `label` (the first with it).
async fn field(c: &Client, label: &str) -> fantoccini::elements::Element {
    let label_el = c.find(Locator::XPath(&format!("//label[normalize-space()={}]", xpath_str(label)))).await.unwrap();
    let id = label_el.attr("for").await.unwrap().expect("the label names its field");
    c.find(Locator::Id(&id)).await.unwrap()
}

/// Types into the input whose visible label is `label`.
async fn fill(c: &Client, label: &str, value: &str) {
    field(c, label).await.send_keys(value).await.unwrap();
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

/// Logs in on the login page by its labels.
async fn log_in(c: &Client, app: &TestApp, email: &str, password: &str) {
    c.goto(&format!("{}/login", app.base)).await.unwrap();
    fill(c, "E-mail", email).await;
    fill(c, "Password", password).await;
    click_button(c, "Log in").await;
}

/// Scrolls the element with this id into view (for the screenshot that follows).
async fn scroll_to(c: &Client, id: &str) {
    c.execute(&format!("document.getElementById({}).scrollIntoView()", xpath_str(id)), vec![]).await.unwrap();
}

/// Clicks the link whose visible text is `text`.
async fn click_link(c: &Client, text: &str) {
    c.find(Locator::XPath(&format!("//a[normalize-space()={}]", xpath_str(text))))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

#[tokio::test]
#[ignore = "needs chromium and chromedriver; .ci/run runs it in the browser lane"]
async fn browser_upgrades_to_a_dedicated_mini_program_and_unbinds_it() {
    let app = TestApp::spawn().await;
    crate::platform::wait_for_ticket(&app).await;
    app.approved_tenant("mp-browser@example.com", "Browser Mall Co.").await;
    let driver = start_chromedriver().await;
    let c = open_browser(&driver).await;

    c.goto(&format!("{}/login", app.base)).await.unwrap();
    fill(&c, "E-mail", "mp-browser@example.com").await;
    fill(&c, "Password", crate::helpers::PASSWORD).await;
    click_button(&c, "Log in").await;
    wait_for_heading(&c, "Browser Mall Co.").await;
    screenshot(&c, "mp-00-workspace-home").await;
    click_link(&c, "Store Settings").await;
    wait_for_heading(&c, "Platform mini program in use").await;
    screenshot(&c, "mp-01-tab-unbound").await;
    // The button leads through the checklist as a guide, each item confirmed and saved.
    click_link(&c, "Upgrade to Company Dedicated Mini Program").await;
    wait_for_heading(&c, "Plugins the template uses").await;
    click_in(&c, "guide-plugins", "Mark as done").await;
    wait_for_text(&c, "1 of 7 items marked done").await;
    screenshot(&c, "mp-01b-upgrade-guide").await;
    click_button(&c, "Upgrade to Company Dedicated Mini Program").await;
    wait_for_heading(&c, "Has the WeChat mini program been successfully authorized?").await;
    screenshot(&c, "mp-02-authorization-qr").await;

    // The administrator opens the link (on another device in real life; here a new tab).
    let link = c
        .find(Locator::XPath("//a[normalize-space()='Open the authorization page']"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    let console = c.window().await.unwrap();
    let admin = c.new_window(true).await.unwrap();
    c.switch_to_window(admin.handle).await.unwrap();
    c.goto(&link).await.unwrap();
    c.find(Locator::XPath("//label[.//strong[normalize-space()='Acme Mall']]")).await.unwrap().click().await.unwrap();
    screenshot(&c, "mp-03-wechat-authorization-page").await;
    click_button(&c, "Authorize").await;
    wait_for_heading(&c, "The mini program is bound").await;
    c.close_window().await.unwrap();
    c.switch_to_window(console).await.unwrap();

    // Back in the console: "Authorized" shows the outcome, then the tab shows the mini program.
    click_link(&c, "Authorized").await;
    wait_for_heading(&c, "The mini program is bound").await;
    screenshot(&c, "mp-04-authorized").await;
    // "Authorized" is a boosted navigation: the outcome comes inside the whole page, with
    // the console's header, navigation and styles, not as a bare fragment.
    assert!(c.current_url().await.unwrap().path().contains("/store/mini-program/authorizations/"));
    c.find(Locator::XPath("//header[contains(@class,'topbar')]//nav//a[normalize-space()='Store Settings']"))
        .await
        .expect("the console's header and navigation are around the outcome");
    c.find(Locator::XPath("//button[normalize-space()='Log out']")).await.expect("the header's log-out button");
    let header_display =
        c.execute("return getComputedStyle(document.querySelector('header.topbar')).display", vec![]).await.unwrap();
    assert_eq!(header_display.as_str(), Some("flex"), "the console's stylesheet applies");
    click_link(&c, "Open the Mini Program tab").await;
    wait_for_heading(&c, "Acme Mall").await;
    screenshot(&c, "mp-05-tab-bound").await;

    click_button(&c, "Unbind").await;
    let mut accepted = false;
    for _ in 0..50 {
        if c.accept_alert().await.is_ok() {
            accepted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(accepted, "the unbind confirmation was shown");
    wait_for_heading(&c, "Platform mini program in use").await;
    screenshot(&c, "mp-06-unbound").await;
    let source = c.source().await.unwrap();
    assert!(source.contains("Second step, on WeChat"));
    c.close().await.unwrap();
}

/// Clicks the button with these words inside the element with id `container`.
/// Waits (at most 10 s) for the button to appear: HTMX may still be swapping it in.
async fn click_in(c: &Client, container: &str, text: &str) {
    let xpath = format!("//*[@id={}]//button[normalize-space()={}]", xpath_str(container), xpath_str(text));
    let button = c.wait().at_most(Duration::from_secs(10)).for_element(Locator::XPath(&xpath)).await;
    button.unwrap_or_else(|e| panic!("{text} in #{container}: {e}")).click().await.unwrap();
}

/// Waits (at most 10 s) until the page shows these words.
async fn wait_for_text(c: &Client, text: &str) {
    let xpath = format!("//*[contains(normalize-space(), {})]", xpath_str(text));
    if let Err(e) = c.wait().at_most(Duration::from_secs(10)).for_element(Locator::XPath(&xpath)).await {
        screenshot(c, "failure").await;
        panic!("{text:?} did not appear: {e}");
    }
}

/// Waits (polling, at most 10 s) until exactly `n` elements match `xpath`.
async fn wait_for_count(c: &Client, xpath: &str, n: usize) {
    for _ in 0..100 {
        if c.find_all(Locator::XPath(xpath)).await.map(|v| v.len()).unwrap_or(usize::MAX) == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    screenshot(c, "failure").await;
    panic!("{xpath} never matched {n} elements");
}

/// Waits until the item `id` shows the state badge `state`.
async fn wait_for_state(c: &Client, id: &str, state: &str) {
    let xpath =
        format!("//*[@id={}]//span[contains(@class,'badge')][normalize-space()={}]", xpath_str(id), xpath_str(state));
    if let Err(e) = c.wait().at_most(Duration::from_secs(10)).for_element(Locator::XPath(&xpath)).await {
        screenshot(c, "failure").await;
        panic!("#{id} did not become {state}: {e}");
    }
}

#[tokio::test]
#[ignore = "needs chromium and chromedriver; .ci/run runs it in the browser lane"]
async fn browser_fixes_the_requirements_of_a_freshly_bound_mini_program() {
    use crate::mini_program::{ALL_SETS, VERIFIED, bind, eventually};
    let app = TestApp::spawn().await;
    crate::platform::wait_for_ticket(&app).await;
    let (http, t) = app.approved_tenant("req-browser@example.com", "Browser Mall Co.").await;
    bind(&app, &http, &t, VERIFIED, &ALL_SETS).await;
    let tid = t.clone();
    eventually("the first check", || {
        let tid = tid.clone();
        app.db(move |c| minihost::db::requirements::for_tenant(c, &tid).unwrap().0.len()) == 7
    })
    .await;

    let driver = start_chromedriver().await;
    let c = open_browser(&driver).await;
    c.goto(&format!("{}/login", app.base)).await.unwrap();
    fill(&c, "E-mail", "req-browser@example.com").await;
    fill(&c, "Password", crate::helpers::PASSWORD).await;
    click_button(&c, "Log in").await;
    wait_for_heading(&c, "Set up your dedicated mini program").await;
    wait_for_text(&c, "5 item(s) due now").await;
    screenshot(&c, "req-00-home-setup-guide").await;

    click_link(&c, "Fix what is due").await;
    wait_for_heading(&c, "Due now (5)").await;
    screenshot(&c, "req-01-due-now").await;

    // Each "Fix" swaps its item in place.
    for (id, state) in
        [("req-categories", "Done"), ("req-plugins", "Pending"), ("req-domains", "Done"), ("req-privacy_guide", "Done")]
    {
        click_in(&c, id, "Fix").await;
        wait_for_state(&c, id, state).await;
    }
    // The location API could not be applied for before a category: "Check again" offers it now.
    click_button(&c, "Check again").await;
    click_in(&c, "req-privacy_api", "Fix").await;
    wait_for_state(&c, "req-privacy_api", "Pending").await;
    screenshot(&c, "req-02-fixed-and-pending").await;

    // WeChat's reviewer (the sandbox's page) approves both applications.
    let console = c.window().await.unwrap();
    let reviewer = c.new_window(true).await.unwrap();
    c.switch_to_window(reviewer.handle).await.unwrap();
    c.goto(&format!("{}/sandbox/#reviews", app.base)).await.unwrap();
    let approve = "//button[normalize-space()='Approve']";
    for left in [1, 0] {
        click_button(&c, "Approve").await;
        wait_for_count(&c, approve, left).await;
    }
    screenshot(&c, "req-03-sandbox-reviewer").await;
    c.close_window().await.unwrap();
    c.switch_to_window(console).await.unwrap();

    click_button(&c, "Check again").await;
    wait_for_text(&c, "Nothing is due now").await;
    wait_for_state(&c, "req-privacy_api", "Done").await;
    wait_for_state(&c, "req-plugins", "Done").await;
    screenshot(&c, "req-04-all-done").await;
    click_link(&c, "Home").await;
    wait_for_text(&c, "4 of 6 steps done").await;
    screenshot(&c, "req-05-home-complete").await;
    c.close().await.unwrap();
}

/// Empties the field whose visible label is `label` (the first with it) and types `value`.
async fn replace_text(c: &Client, label: &str, value: &str) {
    let field = field(c, label).await;
    field.clear().await.unwrap();
    if !value.is_empty() {
        field.send_keys(value).await.unwrap();
    }
}

#[tokio::test]
#[ignore = "needs chromium and chromedriver; .ci/run runs it in the browser lane"]
async fn browser_operator_sets_the_template_requirements_and_sees_who_is_blocked() {
    use crate::mini_program::{ALL_SETS, VERIFIED, bind, eventually};
    use minihost::domain::requirements::State;
    let app = TestApp::spawn().await;
    crate::platform::wait_for_ticket(&app).await;
    let (http, t) = app.approved_tenant("needs-browser@example.com", "Blocked Goods Co.").await;
    bind(&app, &http, &t, VERIFIED, &ALL_SETS).await;
    let due_now = |app: &TestApp| {
        let tid = t.clone();
        app.db(move |c| {
            let items = minihost::db::requirements::for_tenant(c, &tid).unwrap().0;
            (items.len(), items.iter().filter(|i| i.state == State::DueNow).count())
        })
    };
    eventually("the first check", || due_now(&app) == (7, 5)).await;

    let driver = start_chromedriver().await;
    let c = open_browser(&driver).await;
    c.goto(&format!("{}/login", app.base)).await.unwrap();
    fill(&c, "E-mail", crate::helpers::OPERATOR_EMAIL).await;
    fill(&c, "Password", crate::helpers::OPERATOR_PASSWORD).await;
    click_button(&c, "Log in").await;
    wait_for_heading(&c, "Workspace applications").await;
    click_link(&c, "Tenants").await;
    wait_for_heading(&c, "Tenants").await;
    click_label(&c, "Blocked by requirements").await;
    click_button(&c, "Filter").await;
    wait_for_text(&c, "Blocked Goods Co.").await;
    screenshot(&c, "needs-01-tenants-blocked").await;

    click_link(&c, "Platform").await;
    wait_for_text(&c, "Edit template requirements").await;
    click_link(&c, "Edit template requirements").await;
    wait_for_heading(&c, "Template requirements").await;
    screenshot(&c, "needs-02-form").await;

    // A domain WeChat would refuse: the error beside the field, the input kept.
    fill(&c, "Domains, one per line", "\nhttp://cdn.example.com").await;
    click_button(&c, "Save requirements").await;
    wait_for_text(&c, "Each line must be https:// and a host name").await;
    screenshot(&c, "needs-03-domain-refused").await;
    // The summary on top leads to the field, where the same sentence stands beside it.
    c.find(Locator::Css(".error-summary a")).await.unwrap().click().await.unwrap();
    let beside = "//div[contains(@class,'has-error')][.//textarea[@id='domains']]//p[@class='field-error']";
    c.find(Locator::XPath(beside)).await.expect("the error beside the domains field");
    screenshot(&c, "needs-03b-domain-field").await;

    // The template no longer needs the translation plugin.
    replace_text(&c, "Domains, one per line", &minihost::domain::requirements::SEED_DOMAINS.join("\n")).await;
    replace_text(&c, "Plugin AppID", "").await;
    replace_text(&c, "Plugin name", "").await;
    click_button(&c, "Save requirements").await;
    wait_for_text(&c, "Template requirements saved.").await;
    screenshot(&c, "needs-04-saved").await;
    eventually("the re-evaluation", || due_now(&app) == (7, 4)).await;

    click_link(&c, "Tenants").await;
    wait_for_heading(&c, "Tenants").await;
    wait_for_text(&c, "Items due now").await;
    let badge = c.find(Locator::Css(".badge-req-due_now")).await.unwrap().text().await.unwrap();
    assert_eq!(badge, "4", "the tenants page counts what is due after the change");
    screenshot(&c, "needs-05-tenants-after").await;
    c.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs chromium and chromedriver; .ci/run runs it in the browser lane"]
async fn browser_releases_a_version_a_tenant_publishes_it_and_a_campaign_ships_it_to_the_rest() {
    use crate::mini_program::{eventually, sandbox_post};
    use serde_json::json;
    let mut settings = crate::releases::FAST.to_vec();
    settings.extend([("MINIHOST_CAMPAIGN_SETTLE_SECS", "1"), ("MINIHOST_JOB_SLOTS", "4")]);
    let app = TestApp::spawn_with(&settings).await;
    let appids = crate::campaigns::ready_tenants(&app, 3).await;
    // The vendor's developers upload a draft with their tools.
    sandbox_post(&app, "/sandbox/dev/drafts", json!({ "user_version": "2.4.0", "user_desc": "store template" })).await;

    let driver = start_chromedriver().await;
    let c = open_browser(&driver).await;
    log_in(&c, &app, crate::helpers::OPERATOR_EMAIL, crate::helpers::OPERATOR_PASSWORD).await;
    wait_for_heading(&c, "Workspace applications").await;
    click_link(&c, "Template library").await;
    wait_for_heading(&c, "Template library").await;
    click_button(&c, "Add 2.4.0 to templates").await;
    wait_for_text(&c, "The draft was added to the template library.").await;
    fill(&c, "Version number", "2.4").await;
    fill(&c, "Notes shown to tenants", "Faster checkout").await;
    screenshot(&c, "rel-01-operator-releases-a-version").await;
    click_button(&c, "Release to tenants").await;
    wait_for_text(&c, "The version was released").await;
    screenshot(&c, "rel-02-version-released").await;
    click_button(&c, "Log out").await;
    wait_for_text(&c, "Log in").await;

    // The first tenant sees Pending Update and submits it.
    log_in(&c, &app, &minihost::demo::email(1), minihost::demo::DEFAULT_PASSWORD).await;
    wait_for_text(&c, "Store Settings").await;
    click_link(&c, "Store Settings").await;
    wait_for_heading(&c, "Store Settings").await;
    wait_for_state(&c, "version-card", "Pending Update").await;
    scroll_to(&c, "version-card").await;
    screenshot(&c, "rel-03-tenant-pending-update").await;
    click_in(&c, "version-card", "Submit Update").await;
    wait_for_state(&c, "version-card", "Under Review").await;
    scroll_to(&c, "version-card").await;
    screenshot(&c, "rel-04-tenant-under-review").await;

    // WeChat's reviewer (the sandbox) approves; the card polls every 15 s while in
    // review, so the tenant looks again rather than wait.
    let decided =
        sandbox_post(&app, &format!("/sandbox/dev/code/{}/decide", appids[0]), json!({ "decision": "approve" })).await;
    assert!(decided.get("error").is_none(), "{decided}");
    let tenant_id = app.db(|c| minihost::db::bindings::active_for_appid(c, &appids[0]).unwrap().unwrap().tenant_id);
    eventually("the approval arrives", || {
        let (tid, appid) = (tenant_id.clone(), appids[0].clone());
        app.db(move |c| minihost::db::releases::for_tenant(c, &tid, &appid).unwrap())
            .is_some_and(|r| r.stage() == minihost::domain::release::Stage::Approved)
    })
    .await;
    c.refresh().await.unwrap();
    wait_for_state(&c, "version-card", "Approved").await;
    scroll_to(&c, "version-card").await;
    screenshot(&c, "rel-05-tenant-approved").await;
    click_in(&c, "version-card", "Publish Update").await;
    wait_for_state(&c, "version-card", "Up to date").await;
    wait_for_text(&c, "2.4").await;
    scroll_to(&c, "version-card").await;
    screenshot(&c, "rel-06-tenant-published").await;
    click_button(&c, "Log out").await;
    wait_for_text(&c, "Log in").await;

    // The operator ships it to the other two: one canary, then the rest by itself.
    log_in(&c, &app, crate::helpers::OPERATOR_EMAIL, crate::helpers::OPERATOR_PASSWORD).await;
    wait_for_heading(&c, "Workspace applications").await;
    click_link(&c, "Release campaigns").await;
    wait_for_heading(&c, "Start a campaign").await;
    wait_for_text(&c, "Tenants pending it: 2").await;
    replace_text(&c, "Canary cohort", "1").await;
    click_label(&c, "Go on by itself once every canary tenant is approved").await;
    replace_text(&c, "WeChat calls per minute", "6000").await;
    // "Publish each tenant's update as soon as WeChat approves it" (an apostrophe XPath
    // strings here do not carry): the box by its id.
    c.find(Locator::Id("auto_publish")).await.unwrap().click().await.unwrap();
    screenshot(&c, "rel-07-campaign-form").await;
    click_button(&c, "Start campaign").await;
    wait_for_text(&c, "The campaign started.").await;
    let under_review = |n: usize| {
        let app = &app;
        move || {
            let c = app.db(|c| minihost::db::campaigns::recent(c, 1).unwrap()).remove(0);
            app.db(move |conn| minihost::db::campaigns::counts(conn, &c).unwrap())
                .of(minihost::domain::campaign::Outcome::UnderReview) as usize
                == n
        }
    };
    eventually("the canary is in review", under_review(1)).await;
    wait_for_text(&c, "Under Review 1").await;
    screenshot(&c, "rel-08-campaign-canary-in-review").await;
    let in_review = |appid: &str| {
        let appid = appid.to_string();
        app.db(move |c| {
            let tid = minihost::db::bindings::active_for_appid(c, &appid).unwrap().unwrap().tenant_id;
            minihost::db::releases::for_tenant(c, &tid, &appid).unwrap()
        })
        .is_some_and(|r| r.stage() == minihost::domain::release::Stage::UnderReview)
    };
    for appid in &appids[1..] {
        eventually("the submission reaches review", || in_review(appid)).await;
        sandbox_post(&app, &format!("/sandbox/dev/code/{appid}/decide"), json!({ "decision": "approve" })).await;
    }
    wait_for_state(&c, "campaign-progress", "Finished").await;
    wait_for_text(&c, "100% settled").await;
    screenshot(&c, "rel-09-campaign-finished").await;
    c.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs chromium and chromedriver; .ci/run runs it in the browser lane"]
async fn browser_sets_up_the_company_wallet_from_empty_to_ready() {
    use crate::mini_program::{eventually, sandbox_post};
    use minihost::domain::release::Stage;
    use serde_json::json;
    let mut settings = crate::wallet::FAST.to_vec();
    settings.extend_from_slice(crate::releases::FAST);
    let app = TestApp::spawn_with(&settings).await;
    // A tenant whose dedicated mini program meets the requirements and has a live version.
    let (b, t) = crate::releases::compliant(&app, "wallet@acme.example").await;
    let op = app.operator().await;
    crate::releases::release_version(&app, &op, "1.0.0", "1.0").await;
    b.post(&format!("/w/{t}/store/mini-program/submit"), &[]).await;
    crate::releases::stage_becomes(&app, &t, Stage::UnderReview).await;
    crate::releases::reviewer(&app, json!({ "decision": "approve" })).await;
    crate::releases::stage_becomes(&app, &t, Stage::Approved).await;
    b.post(&format!("/w/{t}/store/mini-program/publish"), &[]).await;
    let image = std::env::temp_dir().join(format!("minihost-license-{}.png", std::process::id()));
    std::fs::write(&image, crate::helpers::TINY_PNG).unwrap();
    let image = image.display().to_string();

    let driver = start_chromedriver().await;
    let c = open_browser(&driver).await;
    // The operator fills in the platform's WeChat Pay service provider.
    log_in(&c, &app, crate::helpers::OPERATOR_EMAIL, crate::helpers::OPERATOR_PASSWORD).await;
    wait_for_heading(&c, "Workspace applications").await;
    click_link(&c, "WeChat Pay").await;
    wait_for_heading(&c, "WeChat Pay service provider").await;
    // "Fill in the sandbox's values" (an apostrophe XPath strings here do not carry).
    c.find(Locator::Css("a[href*='sandbox=1']")).await.unwrap().click().await.unwrap();
    wait_for_text(&c, "The form is filled with the sandbox").await;
    screenshot(&c, "pay-01-operator-fills-the-service-provider").await;
    click_button(&c, "Verify and save").await;
    wait_for_text(&c, "WeChat Pay accepted the keys").await;
    screenshot(&c, "pay-02-service-provider-saved").await;
    click_button(&c, "Log out").await;
    wait_for_text(&c, "Log in").await;

    // The tenant: an empty wallet, readiness says what is missing.
    log_in(&c, &app, "wallet@acme.example", crate::helpers::PASSWORD).await;
    wait_for_text(&c, "Company Wallet").await;
    click_link(&c, "Company Wallet").await;
    wait_for_heading(&c, "Company Wallet").await;
    wait_for_text(&c, "WeChat Pay payments are not possible yet").await;
    screenshot(&c, "pay-03-empty-wallet").await;
    click_link(&c, "Apply for a merchant number").await;
    wait_for_heading(&c, "Apply for a WeChat Pay merchant number").await;
    replace_text(&c, "Merchant name", "Acme Trading Co., Ltd.").await;
    fill(&c, "Unified social credit code", "91440300MA5FXXXX1X").await;
    fill(&c, "Legal representative", "张三").await;
    fill(&c, "Business license photo", &image).await;
    fill(&c, "Name on the ID card", "张三").await;
    fill(&c, "ID card number", "11010519491231002X").await;
    fill(&c, "ID card, portrait side", &image).await;
    fill(&c, "ID card, national emblem side", &image).await;
    c.execute("document.getElementById('card_period_begin').value = '2019-06-01'", vec![]).await.unwrap();
    click_label(&c, "Long-term").await;
    fill(&c, "Merchant short name", "Acme").await;
    fill(&c, "Customer service phone", "0755-8888888").await;
    fill(&c, "Industry", "零售批发").await;
    fill(&c, "Account name", "Acme Trading Co., Ltd.").await;
    fill(&c, "Bank", "招商银行").await;
    fill(&c, "Bank location code", "440300").await;
    fill(&c, "Account number", "755912345678901").await;
    fill(&c, "Name", "李四").await;
    fill(&c, "Mobile phone", "13800138000").await;
    fill(&c, "E-mail", "finance@acme.example").await;
    screenshot(&c, "pay-04-application-form").await;
    click_button(&c, "Submit application").await;
    wait_for_text(&c, "Application submitted to WeChat Pay").await;
    wait_for_text(&c, "审核中").await;
    scroll_to(&c, "wechatpay").await;
    screenshot(&c, "pay-05-application-auditing").await;

    // WeChat Pay approves; the console notices by itself; the super administrator signs.
    let applyment = app.db({
        let t = t.clone();
        move |conn| minihost::db::wallet::current_application(conn, &t).unwrap().unwrap()
    });
    let id = applyment.applyment_id.unwrap();
    sandbox_post(&app, &format!("/sandbox/dev/wechatpay/applyments/{id}"), json!({"decision": "approve"})).await;
    eventually("the console sees the approval", || crate::wallet::application(&app, &t).state == "to_be_signed").await;
    c.refresh().await.unwrap();
    wait_for_text(&c, "Waiting for signing").await;
    scroll_to(&c, "wechatpay").await;
    screenshot(&c, "pay-06-waiting-for-signing").await;
    let sign_url = crate::wallet::application(&app, &t).sign_url.unwrap();
    c.goto(&sign_url).await.unwrap();
    click_button(&c, "Sign").await;
    wait_for_count(&c, "//button[normalize-space()='Sign']", 0).await;
    screenshot(&c, "pay-07-super-administrator-signed").await;
    eventually("the merchant is open", || crate::wallet::application(&app, &t).state == "finished").await;
    c.goto(&format!("{}/w/{t}/wallet", app.base)).await.unwrap();
    wait_for_text(&c, "Finished").await;

    // The AppID–merchant binding, read back from WeChat Pay.
    click_button(&c, "Verify binding").await;
    wait_for_text(&c, "Bound: WeChat Pay accepts payments").await;
    scroll_to(&c, "binding").await;
    screenshot(&c, "pay-08-binding-verified").await;

    // The Alipay account, verified by a signed call.
    fill(&c, "APPID", minihost::sandbox::pay::ALIPAY_DEMO_APP_ID).await;
    fill(&c, "Application private key", minihost::sandbox::pay::ALIPAY_DEMO_APP_KEY_PEM).await;
    fill(&c, "Alipay public key", minihost::sandbox::pay::ALIPAY_PUBLIC_KEY_PEM).await;
    click_button(&c, "Verify and save").await;
    wait_for_text(&c, "Alipay accepted the keys").await;
    scroll_to(&c, "alipay").await;
    screenshot(&c, "pay-09-alipay-saved").await;

    // The 0.01 self-test: scanned and paid in the sandbox, seen through the notification,
    // refunded.
    click_button(&c, "Pay 0.01 with WeChat Pay").await;
    wait_for_text(&c, "Scan the QR code and pay").await;
    scroll_to(&c, "self-test").await;
    screenshot(&c, "pay-10-self-test-qr").await;
    c.goto(&format!("{}/sandbox/wechatpay/buyer", app.base)).await.unwrap();
    wait_for_heading(&c, "Scan with WeChat").await;
    c.find(Locator::XPath("//a[contains(normalize-space(), 'minihost self-test')]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    screenshot(&c, "pay-11-buyer-scans").await;
    click_button(&c, "Pay ¥0.01").await;
    // Paid: the buyer's page shows WeChat Pay's transaction id (the payment went through
    // before the browser leaves the page).
    wait_for_text(&c, "transaction_id").await;
    c.goto(&format!("{}/w/{t}/wallet#self-test", app.base)).await.unwrap();
    wait_for_text(&c, "Passed: the payment was notified").await;
    scroll_to(&c, "self-test").await;
    screenshot(&c, "pay-12-self-test-refunded").await;

    // Everything checked live: ready.
    scroll_to(&c, "readiness").await;
    wait_for_text(&c, "Ready: WeChat Pay payments work in the mini program").await;
    screenshot(&c, "pay-13-ready").await;
    c.close().await.unwrap();
}

// ---- live selling (issue 13) ----

#[tokio::test]
#[ignore = "needs chromium and chromedriver; .ci/run runs it in the browser lane"]
async fn browser_walks_the_live_selling_tracker() {
    use crate::mini_program::{ALL_SETS, VERIFIED, bind, sandbox_post};
    let app = TestApp::spawn().await;
    crate::platform::wait_for_ticket(&app).await;
    sandbox_post(&app, &format!("/sandbox/dev/shop/{VERIFIED}"), serde_json::json!({ "legacy": true })).await;
    let (http, t) = app.approved_tenant("live-browser@example.com", "Browser Mall Co.").await;
    bind(&app, &http, &t, VERIFIED, &ALL_SETS).await;

    let driver = start_chromedriver().await;
    let c = open_browser(&driver).await;
    log_in(&c, &app, "live-browser@example.com", crate::helpers::PASSWORD).await;
    wait_for_heading(&c, "Set up your dedicated mini program").await;
    click_link(&c, "Live selling").await;
    wait_for_heading(&c, "Live selling in WeChat Channels").await;
    screenshot(&c, "live-01-before-check").await;
    click_button(&c, "Check with WeChat now").await;
    wait_for_text(&c, "1 of 17 steps done.").await;
    screenshot(&c, "live-02-tracker").await;

    // A brand qualification, rejected by WeChat's reviewer on the sandbox's page.
    fill(&c, "Brand name", "Acme").await;
    click_button(&c, "Submit brand qualification").await;
    wait_for_text(&c, "Brand qualification submitted").await;
    let console = c.window().await.unwrap();
    let reviewer = c.new_window(true).await.unwrap();
    c.switch_to_window(reviewer.handle).await.unwrap();
    c.goto(&format!("{}/sandbox/shop/", app.base)).await.unwrap();
    wait_for_heading(&c, "Trade component and WeChat Shop").await;
    fill(&c, "Reason (needed to reject)", "商标注册证不清晰").await;
    screenshot(&c, "live-03-sandbox-reviewer").await;
    click_button(&c, "Reject").await;
    wait_for_text(&c, "Nothing is waiting.").await;
    c.switch_to_window(console.clone()).await.unwrap();
    let tid = t.clone();
    crate::mini_program::eventually("the rejection push", || {
        let tid = tid.clone();
        app.db(move |c| minihost::db::live_selling::items(c, &tid, VERIFIED).unwrap())
            .iter()
            .any(|i| i.status == minihost::domain::live_selling::ItemStatus::Failed)
    })
    .await;
    c.refresh().await.unwrap();
    wait_for_state(&c, "step-qualifications", "Failed").await;
    scroll_to(&c, "step-qualifications").await;
    screenshot(&c, "live-04-rejected-qualification").await;

    // Resubmitted and approved; then the category.
    fill(&c, "Brand name", "Acme").await;
    click_button(&c, "Submit brand qualification").await;
    wait_for_state(&c, "step-qualifications", "In progress").await;
    c.switch_to_window(reviewer_window(&c, &console).await).await.unwrap();
    c.refresh().await.unwrap();
    click_button(&c, "Approve").await;
    wait_for_text(&c, "Nothing is waiting.").await;
    c.switch_to_window(console.clone()).await.unwrap();
    let tid = t.clone();
    crate::mini_program::eventually("the approval push", || {
        let tid = tid.clone();
        app.db(move |c| minihost::db::live_selling::items(c, &tid, VERIFIED).unwrap())
            .iter()
            .any(|i| i.status == minihost::domain::live_selling::ItemStatus::Done)
    })
    .await;
    c.refresh().await.unwrap();
    wait_for_state(&c, "step-qualifications", "Done").await;
    scroll_to(&c, "step-qualifications").await;
    screenshot(&c, "live-05-qualification-done").await;

    // A sharer invited, accepted in WeChat (the sandbox's page), not unbindable for 30 days.
    let sharer_openid = c.find(Locator::Id("sharer_openid")).await.unwrap();
    sharer_openid.send_keys("o_browser").await.unwrap();
    c.find(Locator::Id("sharer_name")).await.unwrap().send_keys("Browser Sharer").await.unwrap();
    click_button(&c, "Invite sharer").await;
    wait_for_text(&c, "Invitation sent").await;
    c.switch_to_window(reviewer_window(&c, &console).await).await.unwrap();
    c.refresh().await.unwrap();
    click_button(&c, "Accept").await;
    wait_for_text(&c, "No invitation is waiting.").await;
    c.switch_to_window(console.clone()).await.unwrap();
    click_button(&c, "Check with WeChat now").await;
    wait_for_state(&c, "sharer-o_browser", "Bound").await;
    click_in(&c, "sharer-o_browser", "Unbind").await;
    wait_for_text(&c, "only 30 days after binding").await;
    screenshot(&c, "live-06-sharer-refused").await;
    scroll_to(&c, "people").await;
    screenshot(&c, "live-07-sharers-and-promoters").await;
    c.close().await.unwrap();
}

/// The other window than `console`.
async fn reviewer_window(c: &Client, console: &fantoccini::wd::WindowHandle) -> fantoccini::wd::WindowHandle {
    c.windows().await.unwrap().into_iter().find(|w| w != console).unwrap()
}

#[tokio::test]
#[ignore = "needs chromium and chromedriver; .ci/run runs it in the browser lane"]
async fn browser_enables_online_payment_and_a_buyer_pays_an_order() {
    let app = TestApp::spawn_with(crate::wallet::FAST).await;
    // A ready wallet (WeChat Pay merchant open, Alipay verified) and one buyer, made over HTTP.
    let (_b, t, _buyer) = crate::online_payment::ready_wallet(&app, "sales@acme.example").await;

    let driver = start_chromedriver().await;
    let c = open_browser(&driver).await;
    log_in(&c, &app, "sales@acme.example", crate::helpers::PASSWORD).await;
    wait_for_text(&c, "Sales").await;
    click_link(&c, "Sales").await;
    wait_for_heading(&c, "Sales orders").await;
    click_link(&c, "Payment Settings").await;
    wait_for_heading(&c, "Payment Settings").await;
    click_label(&c, "Enable Online Payment").await;
    click_label(&c, "Show the Online Payment button on sales orders").await;
    click_label(&c, "Online Payment and QR Code Payment on payment collections").await;
    click_label(&c, "Online top-up of the prepaid deposit").await;
    click_button(&c, "Save settings").await;
    wait_for_text(&c, "Payment settings saved.").await;
    screenshot(&c, "sales-01-online-payment-enabled").await;

    // An order for the buyer, paid online.
    click_link(&c, "Sales orders").await;
    wait_for_heading(&c, "Sales orders").await;
    click_link(&c, "New sales order").await;
    wait_for_heading(&c, "New sales order").await;
    fill(&c, "Buyer", "Harbor Foods").await;
    fill(&c, "Product 1", "Oolong tea").await;
    fill(&c, "Quantity 1", "2").await;
    fill(&c, "Unit price (yuan) 1", "12.50").await;
    fill(&c, "Product 2", "Teapot").await;
    fill(&c, "Quantity 2", "1").await;
    fill(&c, "Unit price (yuan) 2", "30").await;
    screenshot(&c, "sales-02-new-order").await;
    click_button(&c, "Create order").await;
    wait_for_text(&c, "The sales order is created.").await;
    click_button(&c, "Online Payment").await;
    wait_for_text(&c, "The payment link is ready").await;
    scroll_to(&c, "pay").await;
    screenshot(&c, "sales-03-payment-link").await;
    let link = c
        .find(Locator::Css("input.wide[readonly]"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .expect("the payment link");

    // The buyer opens the link, picks WeChat Pay, and pays on the sandbox's phone.
    c.goto(&link).await.unwrap();
    wait_for_text(&c, "Choose how to pay").await;
    screenshot(&c, "sales-04-buyer-page").await;
    click_button(&c, "Pay with WeChat Pay").await;
    wait_for_text(&c, "scan this code with the app to pay").await;
    screenshot(&c, "sales-05-buyer-scans").await;
    let phone =
        c.find(Locator::Css("a[href*='/sandbox/wechatpay/buyer']")).await.unwrap().attr("href").await.unwrap().unwrap();
    c.goto(&format!("{}{phone}", app.base)).await.unwrap();
    click_button(&c, "Pay ¥55.00").await;
    wait_for_text(&c, "transaction_id").await;
    c.goto(&link).await.unwrap();
    wait_for_text(&c, "Paid. Thank you!").await;
    screenshot(&c, "sales-06-buyer-paid").await;

    // The tenant sees the order paid and its payment collection.
    c.goto(&format!("{}/w/{t}/sales/orders", app.base)).await.unwrap();
    wait_for_heading(&c, "Sales orders").await;
    click_link(&c, "SO-00001").await;
    wait_for_text(&c, "Paid").await;
    screenshot(&c, "sales-07-order-paid").await;
    click_link(&c, "Payment collections").await;
    wait_for_heading(&c, "Payment collections").await;
    wait_for_text(&c, "Harbor Foods").await;
    screenshot(&c, "sales-08-collections").await;
}

/// Issue 12: the tenant authorizes its official account, links it with the dedicated mini
/// program, both administrators confirm in the sandbox, and the tab shows it linked.
#[tokio::test]
#[ignore = "needs chromium and chromedriver; .ci/run runs it in the browser lane"]
async fn browser_authorizes_the_official_account_and_links_it() {
    let app = TestApp::spawn().await;
    let (b, t) = crate::mini_program::ready("oa-browser@example.com", "Browser Trading Co.", &app).await;
    let bound = crate::mini_program::bind(&app, &b, &t, crate::mini_program::VERIFIED, &crate::mini_program::ALL_SETS);
    bound.await.assert_contains("The mini program is bound");
    let driver = start_chromedriver().await;
    let c = open_browser(&driver).await;

    log_in(&c, &app, "oa-browser@example.com", crate::helpers::PASSWORD).await;
    wait_for_heading(&c, "Browser Trading Co.").await;
    click_link(&c, "Store Settings").await;
    wait_for_heading(&c, "Acme Mall").await;
    click_link(&c, "Official Account").await;
    wait_for_heading(&c, "Authorize your official account").await;
    screenshot(&c, "oa-01-tab-none").await;
    click_button(&c, "Authorize the official account").await;
    wait_for_heading(&c, "Has the official account been successfully authorized?").await;
    screenshot(&c, "oa-02-authorization-qr").await;

    // The official account's administrator authorizes on WeChat's page (a new tab here).
    let link = c
        .find(Locator::XPath("//a[normalize-space()='Open the authorization page']"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    let console = c.window().await.unwrap();
    let admin = c.new_window(true).await.unwrap();
    c.switch_to_window(admin.handle.clone()).await.unwrap();
    c.goto(&link).await.unwrap();
    c.find(Locator::XPath("//label[.//strong[normalize-space()='Acme Trading']]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    screenshot(&c, "oa-03-wechat-authorization-page").await;
    click_button(&c, "Authorize").await;
    wait_for_heading(&c, "The official account is authorized").await;
    c.switch_to_window(console.clone()).await.unwrap();

    click_link(&c, "Authorized").await;
    wait_for_heading(&c, "The official account is authorized").await;
    screenshot(&c, "oa-04-authorized").await;
    click_link(&c, "Open the Official Account tab").await;
    wait_for_heading(&c, "Link with the mini program").await;
    scroll_to(&c, "official-account-link").await;
    screenshot(&c, "oa-05-not-linked").await;

    click_button(&c, "Link").await;
    wait_for_text(&c, "Waiting for the official account").await;
    scroll_to(&c, "official-account-link").await;
    screenshot(&c, "oa-06-waiting-for-official-account").await;

    // Both administrators confirm (WeChat's template message, then the mini program's).
    c.switch_to_window(admin.handle.clone()).await.unwrap();
    c.goto(&format!("{}/sandbox/official-accounts", app.base)).await.unwrap();
    wait_for_heading(&c, "Official account links").await;
    screenshot(&c, "oa-07-sandbox-request").await;
    click_button(&c, "Official account administrator: Confirm").await;
    wait_for_text(&c, "waiting for the mini program").await;
    c.switch_to_window(console.clone()).await.unwrap();
    wait_for_text(&c, "Waiting for the mini program").await;
    screenshot(&c, "oa-08-waiting-for-mini-program").await;
    c.switch_to_window(admin.handle).await.unwrap();
    click_button(&c, "Mini program administrator: Confirm").await;
    wait_for_text(&c, "linked").await;
    c.close_window().await.unwrap();
    c.switch_to_window(console).await.unwrap();

    // The page re-checks in place until the link settles.
    let linked = "//strong[@data-link-state][normalize-space()='Linked']";
    if let Err(e) = c.wait().at_most(Duration::from_secs(15)).for_element(Locator::XPath(linked)).await {
        screenshot(&c, "failure").await;
        panic!("never linked: {e}");
    }
    scroll_to(&c, "official-account-link").await;
    screenshot(&c, "oa-09-linked").await;
    click_link(&c, "Why are notifications not received?").await;
    wait_for_heading(&c, "Why are notifications not received?").await;
    screenshot(&c, "oa-10-notifications").await;
    c.goto(&format!("{}/w/{t}/store/guide", app.base)).await.unwrap();
    wait_for_heading(&c, "From the trial store to your own store").await;
    screenshot(&c, "oa-11-trial-store-guide").await;
    c.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs chromium and chromedriver; .ci/run runs it in the browser lane"]
async fn browser_team_invites_a_colleague_who_signs_up() {
    let app = TestApp::spawn().await;
    app.approved_tenant("team-admin@example.com", "Browser Team Co.").await;
    let driver = start_chromedriver().await;
    let c = open_browser(&driver).await;

    log_in(&c, &app, "team-admin@example.com", crate::helpers::PASSWORD).await;
    wait_for_heading(&c, "Browser Team Co.").await;
    click_link(&c, "Manage members").await;
    wait_for_heading(&c, "Members").await;
    wait_for_heading(&c, "Invite a colleague").await;
    fill(&c, "Colleague’s e-mail", "new-colleague@example.com").await;
    screenshot(&c, "team-01-invite").await;
    click_button(&c, "Send invitation").await;
    wait_for_text(&c, "The invitation is sent.").await;
    wait_for_heading(&c, "Pending invitations").await;
    wait_for_text(&c, "new-colleague@example.com").await;
    c.find(Locator::XPath("//button[normalize-space()='Send again']")).await.expect("Send again");
    c.find(Locator::XPath("//button[normalize-space()='Revoke']")).await.expect("Revoke");
    screenshot(&c, "team-02-pending").await;
    click_button(&c, "Log out").await;
    wait_for_heading(&c, "Log in").await;

    // The colleague opens the e-mailed link.
    let link = app.link_in_email("new-colleague@example.com", "/invitations/");
    c.goto(&format!("{}{link}", app.base)).await.unwrap();
    wait_for_heading(&c, "Join Browser Team Co.").await;
    let email = field(&c, "E-mail").await;
    assert_eq!(email.prop("value").await.unwrap().as_deref(), Some("new-colleague@example.com"));
    assert_eq!(email.attr("readonly").await.unwrap().as_deref(), Some("true"));
    fill(&c, "Your name", "New Colleague").await;
    fill(&c, "Password", "colleague-password-1").await;
    click_label(&c, "I have read and agree to the Terms of Service").await;
    screenshot(&c, "team-03-invitation").await;
    click_button(&c, "Sign up and join").await;
    wait_for_heading(&c, "Browser Team Co.").await;
    wait_for_text(&c, "You joined the workspace.").await;
    screenshot(&c, "team-04-joined").await;
    click_link(&c, "Members").await;
    wait_for_heading(&c, "Members (2)").await;
    wait_for_text(&c, "New Colleague").await;
    wait_for_text(&c, "Ask an administrator to invite colleagues.").await;
    screenshot(&c, "team-05-members").await;
    c.close().await.unwrap();

    let joined = app.db(|conn| {
        let tenant = minihost::db::users::find_by_email(conn, "team-admin@example.com").unwrap().unwrap();
        let tenant = minihost::db::tenants::first_for_member(conn, &tenant.id).unwrap().unwrap();
        minihost::db::tenants::member_rows(conn, &tenant.id).unwrap()
    });
    assert!(joined.iter().any(|m| m.email == "new-colleague@example.com" && m.role == "member"));
}

#[tokio::test]
#[ignore = "needs chromium and chromedriver; .ci/run runs it in the browser lane"]
async fn browser_operator_turns_on_two_factor_and_logs_in_with_a_code() {
    use crate::helpers::{OPERATOR_EMAIL, OPERATOR_PASSWORD};
    let app = TestApp::spawn().await;
    let driver = start_chromedriver().await;
    let c = open_browser(&driver).await;

    log_in(&c, &app, OPERATOR_EMAIL, OPERATOR_PASSWORD).await;
    wait_for_heading(&c, "Workspace applications").await;
    wait_for_text(&c, "Your operator account has no second factor yet.").await;
    screenshot(&c, "2fa-01-reminder").await;
    click_link(&c, "Set it up now").await;
    wait_for_heading(&c, "Two-factor authentication is off").await;
    click_button(&c, "Set up two-factor authentication").await;
    wait_for_heading(&c, "Scan the code with your authenticator app").await;
    c.find(Locator::Css(".qr-code svg")).await.expect("the QR code");
    screenshot(&c, "2fa-02-scan").await;
    let secret = c.find(Locator::Id("totp-secret")).await.unwrap().text().await.unwrap();
    fill(&c, "Code from the app", &crate::two_factor::code(&secret, 0)).await;
    click_button(&c, "Confirm and turn on").await;
    wait_for_heading(&c, "Your recovery codes").await;
    let codes = c.find_all(Locator::Css("ul.recovery-codes li")).await.unwrap();
    assert_eq!(codes.len(), 10);
    assert!(!c.source().await.unwrap().contains("Your operator account has no second factor yet."));
    screenshot(&c, "2fa-03-recovery-codes").await;

    click_button(&c, "Log out").await;
    wait_for_heading(&c, "Log in").await;
    log_in(&c, &app, OPERATOR_EMAIL, OPERATOR_PASSWORD).await;
    wait_for_heading(&c, "Enter your code").await;
    screenshot(&c, "2fa-04-code").await;
    fill(&c, "Authentication code", &crate::two_factor::code(&secret, 1)).await;
    click_button(&c, "Verify").await;
    wait_for_heading(&c, "Workspace applications").await;
    assert!(!c.source().await.unwrap().contains("Your operator account has no second factor yet."));
    click_link(&c, "Operator").await;
    wait_for_heading(&c, "Your account").await;
    wait_for_text(&c, "This session").await;
    screenshot(&c, "2fa-05-account").await;
    c.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs chromium and chromedriver; .ci/run runs it in the browser lane"]
async fn browser_operator_sees_failed_email_and_sends_again() {
    use crate::email::{SmtpServer, eventually_status, spawn_with_smtp};
    use minihost::domain::email::EmailStatus;
    let smtp = SmtpServer::start();
    let to = "bounced@example.com";
    smtp.answer(
        to,
        &[(550, "5.1.1 <bounced@example.com>: Recipient address rejected: User unknown in virtual mailbox table")],
    );
    let app = spawn_with_smtp(&smtp, &[]).await;
    // A real flow queues the e-mail: the operator rejects an application.
    app.submitted_applicant(to, "Bounce Trading").await;
    let app_id = app.application_id_of(to);
    let op = app.operator().await;
    op.post(&format!("/operator/applications/{app_id}/reject"), &[("reason", "The licence is unreadable.")]).await;
    eventually_status(&app, to, EmailStatus::Failed).await;

    let driver = start_chromedriver().await;
    let c = open_browser(&driver).await;
    log_in(&c, &app, crate::helpers::OPERATOR_EMAIL, crate::helpers::OPERATOR_PASSWORD).await;
    wait_for_heading(&c, "Workspace applications").await;
    wait_for_text(&c, "E-mails not delivered: 1.").await;
    screenshot(&c, "email-01-queue-notice").await;

    click_link(&c, "Open the E-mail page").await;
    wait_for_heading(&c, "E-mail").await;
    wait_for_text(&c, "Recipient address rejected: User unknown in virtual mailbox table").await;
    wait_for_text(&c, "the mail server refused these messages for good").await;
    screenshot(&c, "email-02-failed-with-answer").await;

    // The mailbox exists now: send it again.
    click_button(&c, "Send again").await;
    wait_for_text(&c, "The e-mail is queued again").await;
    screenshot(&c, "email-03-queued-again").await;
    eventually_status(&app, to, EmailStatus::Sent).await;
    assert_eq!(smtp.received_by(to).len(), 1);

    click_link(&c, "E-mail").await;
    wait_for_heading(&c, "E-mail").await;
    wait_for_text(&c, "Accepted by the mail server").await;
    screenshot(&c, "email-04-sent").await;
    let page = c.source().await.unwrap();
    assert!(!page.contains("E-mails not delivered"), "nothing failed any more");

    // The same page in Chinese.
    click_button(&c, "简体中文").await;
    wait_for_heading(&c, "邮件").await;
    wait_for_text(&c, "邮件服务器已于").await;
    screenshot(&c, "email-05-sent-zh").await;
    c.close().await.unwrap();
}

/// The browser's Content-Security-Policy reports counted in `/metrics`, by directive.
async fn csp_violations(app: &TestApp, token: &str) -> Vec<(String, f64)> {
    let text = reqwest::Client::new()
        .get(format!("{}/metrics", app.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter_map(|l| l.strip_prefix("minihost_csp_violations_total{directive=\""))
        .filter_map(|rest| {
            let (directive, value) = rest.split_once("\"} ")?;
            Some((directive.to_string(), value.trim().parse().ok()?))
        })
        .collect()
}

/// Opens `path` and waits until its words are there.
async fn visit(c: &Client, app: &TestApp, path: &str, words: &str) {
    c.goto(&format!("{}{path}", app.base)).await.unwrap();
    wait_for_text(c, words).await;
}

#[tokio::test]
#[ignore = "needs chromium and chromedriver; .ci/run runs it in the browser lane"]
async fn browser_pages_load_under_the_content_security_policy() {
    const TOKEN: &str = "csp-walk-metrics-token-0123";
    let mut settings = crate::releases::FAST.to_vec();
    settings.extend([("MINIHOST_METRICS_TOKEN", TOKEN), ("MINIHOST_CAMPAIGN_SETTLE_SECS", "1")]);
    let app = TestApp::spawn_with(&settings).await;
    // Two tenants with bound sandbox mini programs (head images on WeChat's image host)
    // and a campaign on its way, so the pages show avatars and a progress bar.
    let appids = crate::campaigns::ready_tenants(&app, 2).await;
    let op = app.operator().await;
    crate::releases::release_version(&app, &op, "3.1.0", "3.1").await;
    let started = op
        .post(
            "/operator/campaigns",
            &[
                ("target", "all"),
                ("canary", "1"),
                ("after_canary", "wait"),
                ("concurrency", "2"),
                ("calls_per_minute", "6000"),
            ],
        )
        .await;
    started.assert_contains("The campaign started.");
    let campaign_path = started.url().path().to_string();
    let tenant_id = app.db(|c| minihost::db::bindings::active_for_appid(c, &appids[0]).unwrap().unwrap().tenant_id);

    let driver = start_chromedriver().await;
    let c = open_browser(&driver).await;

    // Signed out: sign-up, then the business details with a logo previewed (a blob: image).
    visit(&c, &app, "/signup", "Create your account").await;
    fill(&c, "E-mail", "csp@example.com").await;
    fill(&c, "Your name", "CSP Tester").await;
    fill(&c, "Password", "browser-password-1").await;
    click_label(&c, "I have read and agree to the Terms of Service").await;
    click_button(&c, "Sign Up").await;
    wait_for_heading(&c, "Select your role").await;
    click_button(&c, "Select").await;
    wait_for_heading(&c, "Business details").await;
    let logo = tempfile::Builder::new().suffix(".png").tempfile().unwrap();
    std::fs::write(logo.path(), crate::helpers::TINY_PNG).unwrap();
    c.find(Locator::Id("logo")).await.unwrap().send_keys(&logo.path().display().to_string()).await.unwrap();
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("img#logo-preview"))
        .await
        .expect("the chosen logo is previewed");
    screenshot(&c, "csp-01-details-logo-preview").await;
    fill(&c, "Company Name", "Policy Test Co.").await;
    click_button(&c, "Next Step").await;
    wait_for_heading(&c, "Review and submit the application").await;
    click_button(&c, "Submit Application").await;
    wait_for_heading(&c, "Your application is under review").await;
    visit(&c, &app, "/nowhere", "Quote this id to support").await;
    screenshot(&c, "csp-02-error-page-with-request-id").await;
    visit(&c, &app, "/apply/status", "Your application is under review").await;
    click_button(&c, "Log out").await;

    // A tenant's pages.
    log_in(&c, &app, &minihost::demo::email(1), minihost::demo::DEFAULT_PASSWORD).await;
    wait_for_text(&c, "Store Settings").await;
    screenshot(&c, "csp-03-workspace-home").await;
    for (path, words) in [
        (format!("/w/{tenant_id}/store/mini-program"), "Store Settings"),
        (format!("/w/{tenant_id}/store/requirements"), "Store Settings"),
        (format!("/w/{tenant_id}/store/official-account"), "Store Settings"),
        (format!("/w/{tenant_id}/wallet"), "Wallet"),
        (format!("/w/{tenant_id}/sales/orders"), "Sales"),
        (format!("/w/{tenant_id}/live-selling"), "Live selling"),
    ] {
        visit(&c, &app, &path, words).await;
    }
    visit(&c, &app, &format!("/w/{tenant_id}/store/mini-program"), "Store Settings").await;
    screenshot(&c, "csp-04-mini-program-tab").await;
    click_button(&c, "Log out").await;

    // The operator's pages, the campaign's progress bar among them.
    log_in(&c, &app, crate::helpers::OPERATOR_EMAIL, crate::helpers::OPERATOR_PASSWORD).await;
    wait_for_heading(&c, "Workspace applications").await;
    screenshot(&c, "csp-05-operator-queue").await;
    for (path, words) in [
        ("/operator/tenants", "Tenants"),
        ("/operator/platform", "Platform"),
        ("/operator/templates", "Template library"),
        ("/operator/payments", "WeChat Pay"),
        ("/operator/capabilities", "Capabilities"),
        ("/operator/audit", "Audit log"),
        ("/operator/campaigns", "Release campaigns"),
    ] {
        visit(&c, &app, path, words).await;
    }
    visit(&c, &app, &campaign_path, "settled").await;
    scroll_to(&c, "campaign-progress").await;
    screenshot(&c, "csp-06-campaign-progress-bar").await;

    // The sandbox's pages have the same policy.
    visit(&c, &app, "/sandbox/", "WeChat sandbox").await;
    screenshot(&c, "csp-07-sandbox").await;
    visit(&c, &app, "/sandbox/official-accounts", "WeChat sandbox").await;

    // Nothing was reported so far.
    let walked = csp_violations(&app, TOKEN).await;
    // Then a control: an inline script the policy must refuse, which the browser reports.
    c.execute(
        "var s = document.createElement('script'); s.textContent = 'window.inlineRan = true'; document.body.appendChild(s);",
        vec![],
    )
    .await
    .unwrap();
    let mut reported = Vec::new();
    for _ in 0..100 {
        reported = csp_violations(&app, TOKEN).await;
        if !reported.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ran = c.execute("return window.inlineRan === true", vec![]).await.unwrap();
    c.close().await.unwrap();
    assert_eq!(ran, serde_json::Value::Bool(false), "the inline script was refused");
    assert_eq!(reported, vec![("script-src-elem".to_string(), 1.0)], "the control, and only it, was reported");
    assert!(walked.is_empty(), "violations while walking the pages: {walked:?}");
}
