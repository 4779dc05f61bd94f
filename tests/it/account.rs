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

// ---------------------------------------------------------------- forgot password

fn set_reset_expiry(app: &TestApp, email: &str, expires_at: i64) {
    use diesel::prelude::*;
    use minihost::db::schema::{password_resets as r, users as u};
    app.db(|c| {
        let user_id: String = u::table.filter(u::email.eq(email)).select(u::id).first(c).unwrap();
        diesel::update(r::table.filter(r::user_id.eq(user_id))).set(r::expires_at.eq(expires_at)).execute(c).unwrap();
    });
}

#[tokio::test]
async fn forgot_password_answers_the_same_for_known_and_unknown_addresses() {
    let app = TestApp::spawn().await;
    app.browser().sign_up("known@example.com", "Known").await;
    let b = app.browser();
    let login = b.get("/login").await;
    login.assert_contains(r#"href="/password/forgot""#);
    login.assert_contains("Forgot password?");
    let form = b.get("/password/forgot").await;
    form.assert_contains("Reset your password");
    let known = b.post("/password/forgot", &[("email", "Known@Example.com")]).await;
    let unknown = b.post("/password/forgot", &[("email", "nobody@example.com")]).await;
    assert_eq!(known.status(), StatusCode::OK);
    assert_eq!(unknown.status(), StatusCode::OK);
    known.assert_contains("If an account exists for that address, we sent a link to it.");
    assert_eq!(
        known.body.replace("known@example.com", "X"),
        unknown.body.replace("nobody@example.com", "X"),
        "the two answers are the same page"
    );
    // Only the known address got an e-mail, in both languages, with a link valid for an hour.
    assert!(app.emails_to("nobody@example.com").is_empty());
    let mails = app.emails_to("known@example.com");
    assert_eq!(mails.len(), 1);
    // The subject is in the language the account last used; the body has both languages.
    assert_eq!(mails[0].subject, "Reset your minihost password");
    assert!(mails[0].body_text.contains("Set a new one here") && mails[0].body_text.contains("重置"));
    assert!(mails[0].body_text.contains("60 minutes"));
    // Only the token's hash is stored.
    let link = app.link_in_email("known@example.com", "/password/reset/");
    let token = link.trim_start_matches("/password/reset/").to_string();
    let stored: Vec<(String, i64, i64)> = app.db(|c| {
        use diesel::prelude::*;
        use minihost::db::schema::password_resets as r;
        r::table.select((r::token_hash, r::created_at, r::expires_at)).load(c).unwrap()
    });
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0].0, token);
    assert!(!stored[0].0.contains(&token));
    assert_eq!(stored[0].2 - stored[0].1, 3600, "valid for one hour");
    // A malformed address is a form error beside the field, the input kept.
    let bad = b.post("/password/forgot", &[("email", "not-an-email")]).await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    bad.assert_contains("Enter an e-mail address");
    bad.assert_contains(r#"value="not-an-email""#);
}

#[tokio::test]
async fn a_reset_link_sets_a_new_password_once_and_ends_every_session() {
    let app = TestApp::spawn().await;
    let signed_in = app.browser();
    signed_in.sign_up("reset@example.com", "Reset").await;
    app.browser().post("/password/forgot", &[("email", "reset@example.com")]).await;
    let link = app.link_in_email("reset@example.com", "/password/reset/");

    let b = app.browser();
    let form = b.get(&link).await;
    assert_eq!(form.status(), StatusCode::OK);
    form.assert_contains("Set a new password");
    form.assert_contains("reset@example.com");
    // Opening the link twice uses nothing up; a short password is refused beside the field.
    assert_eq!(b.get(&link).await.status(), StatusCode::OK);
    let short = b.post(&link, &[("password", "short")]).await;
    assert_eq!(short.status(), StatusCode::UNPROCESSABLE_ENTITY);
    short.assert_contains("The password needs 10 to 128 characters.");

    let done = b.post(&link, &[("password", "brand-new-password-1")]).await;
    assert_eq!(done.url().path(), "/login");
    done.assert_contains("Your password is changed");
    // The session that was signed in before has ended.
    assert_eq!(signed_in.get("/apply").await.url().path(), "/login");
    // The new password works, the old one does not.
    assert_eq!(app.browser().log_in("reset@example.com", PASSWORD).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.browser().log_in("reset@example.com", "brand-new-password-1").await.status(), StatusCode::OK);
    // The link works once.
    let again = app.browser().get(&link).await;
    assert_eq!(again.status(), StatusCode::GONE);
    again.assert_contains("The link was already used");
    let reuse = app.browser().post(&link, &[("password", "another-password-2")]).await;
    assert_eq!(reuse.status(), StatusCode::GONE);
    assert_eq!(
        app.browser().log_in("reset@example.com", "another-password-2").await.status(),
        StatusCode::UNAUTHORIZED
    );
    // A notice went to the owner.
    assert!(app.emails_to("reset@example.com").iter().any(|m| m.subject.contains("password was changed")));
    // An unknown token is not found.
    assert_eq!(app.browser().get("/password/reset/not-a-token").await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_reset_link_does_not_work_after_an_hour() {
    let app = TestApp::spawn().await;
    app.browser().sign_up("late@example.com", "Late").await;
    app.browser().post("/password/forgot", &[("email", "late@example.com")]).await;
    let link = app.link_in_email("late@example.com", "/password/reset/");
    // An hour later (the row's expiry moved to now: it is issued for now + 3600).
    set_reset_expiry(&app, "late@example.com", minihost::now());
    let page = app.browser().get(&link).await;
    assert_eq!(page.status(), StatusCode::GONE);
    page.assert_contains("The link has expired");
    page.assert_contains("Ask for a new link");
    let post = app.browser().post(&link, &[("password", "too-late-password-1")]).await;
    assert_eq!(post.status(), StatusCode::GONE);
    assert_eq!(app.browser().log_in("late@example.com", PASSWORD).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn reset_requests_are_limited_per_address_and_per_account_with_the_same_answer() {
    let app = TestApp::spawn_with(&[("MINIHOST_RESETS_PER_IP_PER_HOUR", "4")]).await;
    app.browser().sign_up("often@example.com", "Often").await;
    app.browser().sign_up("other@example.com", "Other").await;
    let b = app.browser();
    // Three per hour for one account.
    for _ in 0..4 {
        let page = b.post("/password/forgot", &[("email", "often@example.com")]).await;
        assert_eq!(page.status(), StatusCode::OK);
        page.assert_contains("If an account exists for that address, we sent a link to it.");
    }
    assert_eq!(app.emails_to("often@example.com").len(), 3, "the fourth request sent nothing");
    // Four per hour from one address (three counted so far: a refused request counts
    // nothing): one more for another account, then none.
    b.post("/password/forgot", &[("email", "other@example.com")]).await;
    let over = b.post("/password/forgot", &[("email", "other@example.com")]).await;
    over.assert_contains("If an account exists for that address, we sent a link to it.");
    assert_eq!(app.emails_to("other@example.com").len(), 1);
}

#[tokio::test]
async fn sign_ups_from_one_address_are_limited_and_the_refusal_says_when_to_try_again() {
    let app = TestApp::spawn_with(&[("MINIHOST_SIGNUPS_PER_IP_PER_HOUR", "2")]).await;
    app.browser().sign_up("one@example.com", "One").await;
    app.browser().sign_up("two@example.com", "Two").await;
    let b = app.browser();
    let page = b
        .post(
            "/signup",
            &[("email", "three@example.com"), ("name", "Three"), ("password", PASSWORD), ("accept_terms", "on")],
        )
        .await;
    assert_eq!(page.status(), StatusCode::TOO_MANY_REQUESTS);
    page.assert_contains("Too many accounts were created from your network address lately. Try again in 60 minutes.");
    page.assert_contains(r#"value="three@example.com""#);
    page.assert_contains(r#"value="Three""#);
    assert!(app.db(|c| minihost::db::users::find_by_email(c, "three@example.com").unwrap()).is_none());
    // A refused form counts nothing: a typo does not use up the limit.
    let app = TestApp::spawn_with(&[("MINIHOST_SIGNUPS_PER_IP_PER_HOUR", "1")]).await;
    let typo = app.browser().post("/signup", &[("email", "nope"), ("name", "N"), ("password", PASSWORD)]).await;
    assert_eq!(typo.status(), StatusCode::UNPROCESSABLE_ENTITY);
    app.browser().sign_up("fine@example.com", "Fine").await;
}

// ---------------------------------------------------------------- the account page

/// The public ids of the sessions listed on the account page, and which is this one.
fn listed_sessions(page: &crate::helpers::Page) -> Vec<(String, bool)> {
    let re =
        regex::Regex::new(r#"<tr( class="current-session")?>\s*<td>(?s:.*?)action="/account/sessions/([^/"]+)/end""#)
            .unwrap();
    re.captures_iter(&page.body).map(|c| (c[2].to_string(), c.get(1).is_some())).collect()
}

#[tokio::test]
async fn the_account_page_lists_the_sessions_with_browser_and_address() {
    let app = TestApp::spawn().await;
    let laptop = app.browser_with_agent("Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0");
    laptop.sign_up("me@example.com", "Me Myself").await;
    let phone = app.browser_with_agent("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Safari/604.1");
    phone.log_in("me@example.com", PASSWORD).await;

    let page = laptop.get("/account").await;
    assert_eq!(page.status(), StatusCode::OK);
    page.assert_contains("Your account");
    page.assert_contains("Me Myself");
    page.assert_contains("me@example.com");
    page.assert_contains("Firefox · Linux");
    page.assert_contains("Safari · iOS");
    page.assert_contains("127.0.0.1");
    page.assert_contains("This session");
    let sessions = listed_sessions(&page);
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    assert_eq!(sessions.iter().filter(|(_, current)| *current).count(), 1);
    // The header links every signed-in user to the page.
    page.assert_contains(r#"<a class="who" href="/account""#);
    // The session ids themselves never leave the encrypted cookie.
    let ids: Vec<String> = app.db(|c| {
        use diesel::prelude::*;
        use minihost::db::schema::user_sessions as s;
        s::table.select(s::id).load(c).unwrap()
    });
    for id in ids {
        page.assert_lacks(&id);
    }
}

#[tokio::test]
async fn ending_a_session_from_the_list_signs_that_browser_out() {
    let app = TestApp::spawn().await;
    let laptop = app.browser();
    laptop.sign_up("two-devices@example.com", "Two").await;
    let phone = app.browser();
    phone.log_in("two-devices@example.com", PASSWORD).await;
    let stranger = app.browser();
    stranger.sign_up("stranger@example.com", "Stranger").await;

    let page = laptop.get("/account").await;
    let (phone_id, _) = listed_sessions(&page).into_iter().find(|(_, current)| !current).unwrap();
    // Another user cannot end it: their lookup is of their own sessions.
    let foreign = stranger.post(&format!("/account/sessions/{phone_id}/end"), &[]).await;
    assert_eq!(foreign.status(), StatusCode::NOT_FOUND);
    assert_eq!(phone.get("/account").await.status(), StatusCode::OK);

    let ended = laptop.post(&format!("/account/sessions/{phone_id}/end"), &[]).await;
    assert_eq!(ended.url().path(), "/account");
    ended.assert_contains("The session ended.");
    assert_eq!(phone.get("/account").await.url().path(), "/login");
    assert_eq!(listed_sessions(&laptop.get("/account").await).len(), 1);
    // Ending this session is a logout.
    let (this_id, _) = listed_sessions(&laptop.get("/account").await).into_iter().next().unwrap();
    let out = laptop.post(&format!("/account/sessions/{this_id}/end"), &[]).await;
    assert_eq!(out.url().path(), "/login");
    assert_eq!(laptop.get("/account").await.url().path(), "/login");
    let audit = app.db(|c| {
        let filter =
            minihost::db::audit::AuditFilter { action: Some("user.session_ended".into()), ..Default::default() };
        minihost::db::audit::list(c, &filter, 10, 0).unwrap()
    });
    assert_eq!(audit.len(), 2);
}

#[tokio::test]
async fn end_all_other_sessions_keeps_this_one() {
    let app = TestApp::spawn().await;
    let a = app.browser();
    a.sign_up("many@example.com", "Many").await;
    let (b, c) = (app.browser(), app.browser());
    b.log_in("many@example.com", PASSWORD).await;
    c.log_in("many@example.com", PASSWORD).await;
    let page = a.post("/account/sessions/end-others", &[]).await;
    page.assert_contains("Every other session ended.");
    assert_eq!(b.get("/account").await.url().path(), "/login");
    assert_eq!(c.get("/account").await.url().path(), "/login");
    assert_eq!(a.get("/account").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn changing_the_password_ends_the_other_sessions_and_keeps_this_one() {
    let app = TestApp::spawn().await;
    let here = app.browser();
    here.sign_up("change@example.com", "Change").await;
    let elsewhere = app.browser();
    elsewhere.log_in("change@example.com", PASSWORD).await;
    let stolen = elsewhere.session_cookie().unwrap();

    // The current password is checked, and the error shows beside its field.
    let wrong = here
        .post("/account/password", &[("current_password", "not-my-password"), ("new_password", "changed-password-1")])
        .await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    wrong.assert_contains("This is not your current password.");
    let short = here.post("/account/password", &[("current_password", PASSWORD), ("new_password", "short")]).await;
    assert_eq!(short.status(), StatusCode::UNPROCESSABLE_ENTITY);
    short.assert_contains("The password needs 10 to 128 characters.");
    assert_eq!(elsewhere.get("/account").await.status(), StatusCode::OK, "nothing changed yet");

    let done =
        here.post("/account/password", &[("current_password", PASSWORD), ("new_password", "changed-password-1")]).await;
    assert_eq!(done.url().path(), "/account");
    done.assert_contains("Your password is changed. Your other sessions ended; this one stays.");
    // This session stays, the other one is gone (its cookie too, replayed elsewhere).
    assert_eq!(here.get("/account").await.status(), StatusCode::OK);
    assert_eq!(elsewhere.get("/account").await.url().path(), "/login");
    let replay =
        reqwest::Client::new().get(here.url("/account")).header(reqwest::header::COOKIE, &stolen).send().await.unwrap();
    assert_eq!(replay.url().path(), "/login");
    assert_eq!(app.browser().log_in("change@example.com", PASSWORD).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.browser().log_in("change@example.com", "changed-password-1").await.status(), StatusCode::OK);
    assert!(app.emails_to("change@example.com").iter().any(|m| m.subject.contains("password was changed")));
}

// ---------------------------------------------------------------- session timeouts

fn shift_sessions(app: &TestApp, email: &str, created_ago: i64, seen_ago: i64) {
    use diesel::prelude::*;
    use minihost::db::schema::{user_sessions as s, users as u};
    let now = minihost::now();
    app.db(|c| {
        let user_id: String = u::table.filter(u::email.eq(email)).select(u::id).first(c).unwrap();
        diesel::update(s::table.filter(s::user_id.eq(user_id)))
            .set((s::created_at.eq(now - created_ago), s::last_seen_at.eq(now - seen_ago)))
            .execute(c)
            .unwrap();
    });
}

fn last_seen(app: &TestApp, email: &str) -> i64 {
    use diesel::prelude::*;
    use minihost::db::schema::{user_sessions as s, users as u};
    app.db(|c| s::table.inner_join(u::table).filter(u::email.eq(email)).select(s::last_seen_at).first(c).unwrap())
}

#[tokio::test]
async fn an_idle_session_ends_after_the_idle_timeout() {
    let app = TestApp::spawn().await;
    let b = app.browser();
    b.sign_up("idle@example.com", "Idle").await;
    // Seen 119 minutes ago (default idle timeout 120): still signed in, and seen now.
    shift_sessions(&app, "idle@example.com", 119 * 60, 119 * 60);
    assert_eq!(b.get("/account").await.status(), StatusCode::OK);
    assert!(minihost::now() - last_seen(&app, "idle@example.com") < 5, "the activity was recorded");
    // Seen 30 s ago: not written again (at most once a minute).
    shift_sessions(&app, "idle@example.com", 60, 30);
    let before = last_seen(&app, "idle@example.com");
    b.get("/account").await;
    assert_eq!(last_seen(&app, "idle@example.com"), before);
    // Seen 121 minutes ago: signed out.
    shift_sessions(&app, "idle@example.com", 121 * 60, 121 * 60);
    assert_eq!(b.get("/account").await.url().path(), "/login");
}

#[tokio::test]
async fn a_session_ends_at_its_absolute_timeout_whatever_the_activity() {
    let app = TestApp::spawn().await;
    let b = app.browser();
    b.sign_up("busy@example.com", "Busy").await;
    shift_sessions(&app, "busy@example.com", 12 * 3600 - 60, 10);
    assert_eq!(b.get("/account").await.status(), StatusCode::OK);
    shift_sessions(&app, "busy@example.com", 12 * 3600 + 1, 10);
    assert_eq!(b.get("/account").await.url().path(), "/login");
}

#[tokio::test]
async fn the_timeouts_are_configuration() {
    let app =
        TestApp::spawn_with(&[("MINIHOST_SESSION_IDLE_MINUTES", "5"), ("MINIHOST_SESSION_ABSOLUTE_HOURS", "1")]).await;
    let b = app.browser();
    b.sign_up("short@example.com", "Short").await;
    shift_sessions(&app, "short@example.com", 4 * 60, 4 * 60);
    assert_eq!(b.get("/account").await.status(), StatusCode::OK);
    shift_sessions(&app, "short@example.com", 6 * 60, 6 * 60);
    assert_eq!(b.get("/account").await.url().path(), "/login");
    let c = app.browser();
    c.log_in("short@example.com", PASSWORD).await;
    shift_sessions(&app, "short@example.com", 3601, 1);
    assert_eq!(c.get("/account").await.url().path(), "/login");
}
