//! The second factor: enrolment with a QR code and a first code, the login's second step
//! with a code or a recovery code (each once), turning it off, and the operators' reminder.
//! Codes are computed here with the totp-rs crate from the key the page shows.

use reqwest::StatusCode;

use crate::helpers::{Browser, OPERATOR_EMAIL, OPERATOR_PASSWORD, Page, TestApp};

const REMINDER: &str = "Your operator account has no second factor yet.";

/// A six-digit code for the key shown on the page, `ahead` steps of 30 s from now.
pub fn code(secret: &str, ahead: i64) -> String {
    let bytes = totp_rs::Secret::Encoded(secret.replace(' ', "")).to_bytes().unwrap();
    let totp = totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes, None, String::new()).unwrap();
    totp.generate(u64::try_from(minihost::now() + 30 * ahead).unwrap())
}

fn secret_on(page: &Page) -> String {
    let re = regex::Regex::new(r#"id="totp-secret">([A-Z2-7 ]+)<"#).unwrap();
    re.captures(&page.body).unwrap_or_else(|| panic!("a key on the page:\n{}", page.body))[1].to_string()
}

fn recovery_codes_on(page: &Page) -> Vec<String> {
    let re = regex::Regex::new(r"<li><code>([0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4})</code></li>").unwrap();
    re.captures_iter(&page.body).map(|c| c[1].to_string()).collect()
}

/// Turns the second factor on for the signed-in browser; returns the key and the recovery codes.
pub async fn enrol(b: &Browser) -> (String, Vec<String>) {
    let page = b.get("/account/two-factor").await;
    page.assert_contains("Set up two-factor authentication");
    let scan = b.post("/account/two-factor/setup", &[]).await;
    scan.assert_contains("Scan the code with your authenticator app");
    scan.assert_contains("<svg");
    let secret = secret_on(&scan);
    let done = b.post("/account/two-factor/confirm", &[("code", &code(&secret, 0))]).await;
    assert_eq!(done.status(), StatusCode::OK, "{}", done.body);
    done.assert_contains("Your recovery codes");
    let codes = recovery_codes_on(&done);
    (secret, codes)
}

#[tokio::test]
async fn an_operator_is_reminded_on_every_page_until_the_second_factor_is_on() {
    let app = TestApp::spawn().await;
    let op = app.operator().await;
    for path in ["/operator/applications", "/operator/tenants", "/account"] {
        let page = op.get(path).await;
        page.assert_contains(REMINDER);
        page.assert_contains(r#"href="/account/two-factor""#);
    }
    // Tenant users may enrol, and are not reminded.
    let (tenant_admin, tenant) = app.approved_tenant("plain@a.example", "Plain Ltd").await;
    tenant_admin.get(&format!("/w/{tenant}")).await.assert_lacks(REMINDER);
    tenant_admin.get("/account/two-factor").await.assert_contains("Set up two-factor authentication");

    let (_, codes) = enrol(&op).await;
    assert_eq!(codes.len(), 10);
    for path in ["/operator/applications", "/operator/tenants", "/account"] {
        op.get(path).await.assert_lacks(REMINDER);
    }
    op.get("/account").await.assert_contains("Two-factor authentication</dt>");
}

#[tokio::test]
async fn enrolment_needs_a_right_code_and_keeps_the_key_sealed() {
    let app = TestApp::spawn().await;
    let op = app.operator().await;
    let scan = op.post("/account/two-factor/setup", &[]).await;
    let secret = secret_on(&scan);
    let wrong = op.post("/account/two-factor/confirm", &[("code", "000000")]).await;
    if code(&secret, 0) != "000000" {
        assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
        wrong.assert_contains("This code is not right");
        wrong.assert_contains("Scan the code with your authenticator app");
    }
    op.get("/operator/applications").await.assert_contains(REMINDER);
    // The key is sealed at rest.
    let stored: String = app.db(|c| {
        use diesel::prelude::*;
        use minihost::db::schema::user_totp as t;
        t::table.select(t::secret_enc).first(c).unwrap()
    });
    assert!(stored.starts_with("v1:"));
    assert!(!stored.contains(&secret.replace(' ', "")));
    let done = op.post("/account/two-factor/confirm", &[("code", &code(&secret, 0))]).await;
    done.assert_contains("Two-factor authentication is on");
    // The recovery codes are stored hashed, shown once.
    let codes = recovery_codes_on(&done);
    let hashes: Vec<String> = app.db(|c| {
        use diesel::prelude::*;
        use minihost::db::schema::recovery_codes as r;
        r::table.select(r::code_hash).load(c).unwrap()
    });
    assert_eq!(hashes.len(), 10);
    for code in &codes {
        assert!(hashes.iter().all(|h| !h.contains(&code.replace('-', ""))));
    }
    let later = op.get("/account/two-factor").await;
    later.assert_contains("Recovery codes left: 10.");
    for code in &codes {
        later.assert_lacks(code);
    }
}

#[tokio::test]
async fn a_login_with_the_second_factor_needs_a_code_each_used_once() {
    let app = TestApp::spawn().await;
    let op = app.operator().await;
    let (secret, recovery) = enrol(&op).await;

    // The password alone does not sign in.
    let b = app.browser();
    let step = b.log_in(OPERATOR_EMAIL, OPERATOR_PASSWORD).await;
    assert_eq!(step.url().path(), "/login/code");
    step.assert_contains("Enter your code");
    assert_eq!(b.get("/operator/applications").await.url().path(), "/login");
    // Back on the code page (the pending login is still there).
    assert_eq!(b.get("/login/code").await.status(), StatusCode::OK);
    let wrong = b.post("/login/code", &[("code", "12345")]).await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    wrong.assert_contains("This code is not right");
    // The enrolment used this step's code: the next step's code passes (a step of drift is allowed).
    let next = code(&secret, 1);
    let inside = b.post("/login/code", &[("code", &next)]).await;
    assert_eq!(inside.url().path(), "/operator/applications", "{}", inside.body);
    let audit = app.db(|c| {
        let filter = minihost::db::audit::AuditFilter { action: Some("user.logged_in".into()), ..Default::default() };
        minihost::db::audit::list(c, &filter, 10, 0).unwrap()
    });
    assert!(audit[0].after_state.as_deref().unwrap_or_default().contains("totp"));

    // The same code again, in another login: refused.
    let c = app.browser();
    c.log_in(OPERATOR_EMAIL, OPERATOR_PASSWORD).await;
    let replay = c.post("/login/code", &[("code", &next)]).await;
    assert_eq!(replay.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // A recovery code works, once.
    let rescued = c.post("/login/code", &[("code", &recovery[0].to_uppercase())]).await;
    assert_eq!(rescued.url().path(), "/operator/applications");
    rescued.assert_contains("You logged in with a recovery code");
    let d = app.browser();
    d.log_in(OPERATOR_EMAIL, OPERATOR_PASSWORD).await;
    let twice = d.post("/login/code", &[("code", &recovery[0])]).await;
    assert_eq!(twice.status(), StatusCode::UNPROCESSABLE_ENTITY);
    op.get("/account/two-factor").await.assert_contains("Recovery codes left: 9.");
}

#[tokio::test]
async fn wrong_codes_send_the_login_back_to_the_password_and_lock_the_account() {
    let app = TestApp::spawn().await;
    let op = app.operator().await;
    let (secret, _) = enrol(&op).await;
    let b = app.browser();
    b.log_in(OPERATOR_EMAIL, OPERATOR_PASSWORD).await;
    let right = code(&secret, 1);
    let wrong = if right == "111111" { "222222" } else { "111111" };
    for _ in 0..4 {
        assert_eq!(b.post("/login/code", &[("code", wrong)]).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    let fifth = b.post("/login/code", &[("code", wrong)]).await;
    assert_eq!(fifth.url().path(), "/login");
    fifth.assert_contains("Log in again");
    assert_eq!(b.get("/login/code").await.url().path(), "/login");
    // Five wrong codes count as five failed logins: the account is locked for a while,
    // even with the right password (and the cookie of a pending login cannot be replayed).
    let locked = app.browser().log_in(OPERATOR_EMAIL, OPERATOR_PASSWORD).await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    locked.assert_contains("Too many failed attempts");
}

#[tokio::test]
async fn turning_the_second_factor_off_needs_the_password_and_a_code() {
    let app = TestApp::spawn().await;
    let (admin, _) = app.approved_tenant("twofa@a.example", "Twofa Ltd").await;
    let (secret, recovery) = enrol(&admin).await;
    let wrong_password =
        admin.post("/account/two-factor/disable", &[("password", "not-it-at-all"), ("code", &recovery[1])]).await;
    assert_eq!(wrong_password.status(), StatusCode::UNPROCESSABLE_ENTITY);
    wrong_password.assert_contains("This is not your current password.");
    let wrong_code = admin
        .post("/account/two-factor/disable", &[("password", crate::helpers::PASSWORD), ("code", "abcd-efgh-jkmn")])
        .await;
    assert_eq!(wrong_code.status(), StatusCode::UNPROCESSABLE_ENTITY);
    wrong_code.assert_contains("This code is not right");
    let off = admin
        .post("/account/two-factor/disable", &[("password", crate::helpers::PASSWORD), ("code", &code(&secret, 1))])
        .await;
    off.assert_contains("Two-factor authentication is off.");
    // The next login needs the password only.
    let b = app.browser();
    let page = b.log_in("twofa@a.example", crate::helpers::PASSWORD).await;
    assert!(page.url().path().starts_with("/w/"), "{}", page.url());
}
