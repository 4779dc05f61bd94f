//! Sign-up, login, logout, throttling and CSRF.

use reqwest::StatusCode;

use crate::helpers::{PASSWORD, TestApp};

#[tokio::test]
async fn healthz_answers_ok_when_the_database_answers() {
    let app = TestApp::spawn().await;
    let page = app.browser().get("/healthz").await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.body, "ok");
}

#[tokio::test]
async fn sign_up_signs_in_and_lands_on_the_workspace_application() {
    let app = TestApp::spawn().await;
    let b = app.browser();
    let page = b.sign_up("Ada@Example.com", "Ada Lovelace").await;
    assert_eq!(page.url().path(), "/apply/role");
    page.assert_contains("Your account is ready and you are signed in");
    page.assert_contains("Technical Merchant");
    page.assert_contains("Ada Lovelace");
    // The e-mail is stored normalised, so logging in with any case works.
    b.log_out().await;
    let again = b.log_in("ada@example.com", PASSWORD).await;
    assert_eq!(again.url().path(), "/apply/role");
}

#[tokio::test]
async fn sign_up_errors_show_beside_their_fields_and_keep_the_input() {
    let app = TestApp::spawn().await;
    let b = app.browser();
    let page = b.post("/signup", &[("email", "not-an-email"), ("name", "Grace Hopper"), ("password", "short")]).await;
    assert_eq!(page.status(), StatusCode::UNPROCESSABLE_ENTITY);
    page.assert_contains("Enter an e-mail address such as name@example.com.");
    page.assert_contains("The password needs 10 to 128 characters.");
    page.assert_contains("Please accept the Terms of Service to continue.");
    page.assert_contains(r#"value="not-an-email""#);
    page.assert_contains(r#"value="Grace Hopper""#);
    // Nothing was created.
    assert!(app.db(|c| minihost::db::users::find_by_email(c, "not-an-email").unwrap()).is_none());
}

#[tokio::test]
async fn a_taken_email_is_refused_beside_the_field() {
    let app = TestApp::spawn().await;
    app.browser().sign_up("taken@example.com", "First").await;
    let b = app.browser();
    let page = b
        .post(
            "/signup",
            &[("email", "taken@example.com"), ("name", "Second"), ("password", PASSWORD), ("accept_terms", "on")],
        )
        .await;
    assert_eq!(page.status(), StatusCode::UNPROCESSABLE_ENTITY);
    page.assert_contains("An account with this e-mail already exists");
    page.assert_contains(r#"value="Second""#);
}

#[tokio::test]
async fn the_inline_email_check_answers_with_the_field_fragment() {
    let app = TestApp::spawn().await;
    app.browser().sign_up("inline@example.com", "Inline").await;
    let b = app.browser();
    let taken = b.post("/signup/check-email", &[("email", "inline@example.com")]).await;
    assert_eq!(taken.status(), StatusCode::OK);
    taken.assert_contains(r#"id="field-email""#);
    taken.assert_contains("already exists");
    taken.assert_lacks("<html");
    let bad = b.post("/signup/check-email", &[("email", "nope")]).await;
    bad.assert_contains("Enter an e-mail address");
    let free = b.post("/signup/check-email", &[("email", "free@example.com")]).await;
    free.assert_lacks("field-error");
}

#[tokio::test]
async fn a_wrong_password_does_not_say_which_field_was_wrong() {
    let app = TestApp::spawn().await;
    app.browser().sign_up("who@example.com", "Who").await;
    let b = app.browser();
    let wrong_password = b.log_in("who@example.com", "wrong-password-x").await;
    let unknown_email = b.log_in("nobody@example.com", PASSWORD).await;
    assert_eq!(wrong_password.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unknown_email.status(), StatusCode::UNAUTHORIZED);
    wrong_password.assert_contains("The e-mail or password is not correct.");
    unknown_email.assert_contains("The e-mail or password is not correct.");
    wrong_password.assert_contains(r#"value="who@example.com""#);
}

#[tokio::test]
async fn repeated_failures_for_one_account_are_slowed_down() {
    let app = TestApp::spawn().await;
    app.browser().sign_up("target@example.com", "Target").await;
    let attacker = app.browser();
    for _ in 0..5 {
        let page = attacker.log_in("target@example.com", "guess-guess-guess").await;
        assert_eq!(page.status(), StatusCode::UNAUTHORIZED);
    }
    // Even the right password is refused while the account is locked.
    let locked = attacker.log_in("target@example.com", PASSWORD).await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    locked.assert_contains("Too many failed attempts");
    let owner = app.browser().log_in("target@example.com", PASSWORD).await;
    assert_eq!(owner.status(), StatusCode::TOO_MANY_REQUESTS, "the lock is per account, not per browser");
    // Another account is not affected by this account's lock (fewer than 20 failures from the address).
    app.browser().sign_up("other@example.com", "Other").await;
    let other = app.browser().log_in("other@example.com", PASSWORD).await;
    assert_eq!(other.status(), StatusCode::OK);
}

#[tokio::test]
async fn many_accounts_guessed_from_one_address_lock_the_address() {
    let app = TestApp::spawn().await;
    app.browser().sign_up("victim@example.com", "Victim").await;
    let b = app.browser();
    for i in 0..20 {
        b.log_in(&format!("spray{i}@example.com"), "guess-guess-guess").await;
    }
    let page = b.log_in("victim@example.com", PASSWORD).await;
    assert_eq!(page.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn logout_ends_the_session_even_for_a_copied_cookie() {
    let app = TestApp::spawn().await;
    let b = app.browser();
    b.sign_up("copy@example.com", "Copy").await;
    let stolen = b.session_cookie().expect("a session cookie");
    b.log_out().await;
    // Replay the cookie captured while signed in.
    let replay =
        reqwest::Client::new().get(b.url("/apply")).header(reqwest::header::COOKIE, &stolen).send().await.unwrap();
    assert_eq!(replay.url().path(), "/login", "the old cookie no longer signs anyone in");
}

#[tokio::test]
async fn the_session_cookie_is_http_only_and_same_site_lax() {
    let app = TestApp::spawn().await;
    let resp = reqwest::Client::new().get(format!("{}/login", app.base)).send().await.unwrap();
    let cookie = resp.headers().get_all(reqwest::header::SET_COOKIE).iter().find_map(|v| {
        let v = v.to_str().ok()?;
        v.starts_with("minihost_session=").then(|| v.to_string())
    });
    let cookie = cookie.expect("a session cookie is set with the form's CSRF token");
    assert!(cookie.contains("HttpOnly"));
    assert!(cookie.contains("SameSite=Lax"));
    assert!(!cookie.contains("Secure"), "plain http here; Secure only with an https public URL");
}

#[tokio::test]
async fn posts_without_a_csrf_token_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let b = app.browser();
    b.get("/signup").await;
    let forged = b
        .post_without_csrf(
            "/signup",
            &[("email", "forged@example.com"), ("name", "F"), ("password", PASSWORD), ("accept_terms", "on")],
        )
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    forged.assert_contains("nothing was changed");
    assert!(app.db(|c| minihost::db::users::find_by_email(c, "forged@example.com").unwrap()).is_none());

    let wrong = b
        .post_without_csrf(
            "/signup",
            &[
                ("email", "forged@example.com"),
                ("name", "F"),
                ("password", PASSWORD),
                ("accept_terms", "on"),
                ("csrf_token", "guess"),
            ],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    assert!(app.db(|c| minihost::db::users::find_by_email(c, "forged@example.com").unwrap()).is_none());
}

#[tokio::test]
async fn a_signed_in_form_without_csrf_is_refused_too() {
    let app = TestApp::spawn().await;
    let b = app.browser();
    b.sign_up("csrf2@example.com", "C").await;
    let page = b.post_without_csrf("/apply/role", &[("role", "technical_merchant")]).await;
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
    let step = app.db(|c| {
        let u = minihost::db::users::find_by_email(c, "csrf2@example.com").unwrap().unwrap();
        minihost::db::applications::find_for_user(c, &u.id).unwrap().map(|a| a.step)
    });
    assert_ne!(step, Some(2), "the role was not saved");
    // A multipart upload without the token in its URL is refused as well.
    let form = reqwest::multipart::Form::new().text("company_name", "Sneaky Ltd");
    let resp = b.client.post(b.url("/apply/details")).multipart(form).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn unknown_pages_get_the_not_found_page() {
    let app = TestApp::spawn().await;
    let page = app.browser().get("/no/such/page").await;
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    page.assert_contains("Page not found");
    page.assert_contains("页面不存在");
}
