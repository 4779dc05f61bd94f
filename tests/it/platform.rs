//! The WeChat protocol core against the real sandbox over HTTP: authorization end to end,
//! one token refresh across processes, faults, and refresh-token recovery.

use std::time::Duration;

use minihost::db::platform as store;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Browser, Page, TestApp};

/// The sandbox's verified mini program (legal subject Acme Trading Co., Ltd.).
const VERIFIED: &str = "wx5b1c0a3e7d2f4a01";
const ALL_SETS: [i64; 7] = [17, 18, 19, 25, 30, 31, 40];

/// Waits (bounded) until the sandbox's first ticket push has been stored.
pub async fn wait_for_ticket(app: &TestApp) {
    for _ in 0..200 {
        if app.db(|c| store::credential(c, store::TICKET).unwrap()).is_some() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the sandbox's component_verify_ticket never arrived");
}

pub async fn sandbox_calls(app: &TestApp, endpoint: &str) -> i64 {
    let v: Value = reqwest::get(format!("{}/sandbox/dev/calls?endpoint={endpoint}", app.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["count"].as_i64().unwrap()
}

pub async fn add_fault(app: &TestApp, endpoint: &str, kind: &str, value: i64, count: i64) {
    let resp = reqwest::Client::new()
        .post(format!("{}/sandbox/dev/faults", app.base))
        .json(&json!({ "endpoint": endpoint, "kind": kind, "value": value, "count": count }))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "fault added");
}

/// The authorization link on the page the console shows.
pub fn authorization_link(page: &Page) -> String {
    let re = regex::Regex::new(r#"href="([^"]*componentloginpage[^"]*)""#).unwrap();
    let href =
        re.captures(&page.body).unwrap_or_else(|| panic!("no authorization link in:\n{}", page.body))[1].to_string();
    href.replace("&amp;", "&").replace("&#38;", "&")
}

pub fn query_param(url: &str, name: &str) -> String {
    let url = reqwest::Url::parse(url).unwrap();
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned()).unwrap_or_default()
}

/// The mini program's administrator confirms on WeChat's page; returns the redirect URL.
pub async fn administrator_authorizes(app: &TestApp, link: &str, appid: &str) -> String {
    let resp: Value = reqwest::Client::new()
        .post(format!("{}/sandbox/dev/authorize", app.base))
        .json(&json!({
            "pre_auth_code": query_param(link, "pre_auth_code"),
            "appid": appid,
            "func_ids": ALL_SETS,
            "redirect_uri": query_param(link, "redirect_uri"),
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    resp["redirect"].as_str().unwrap_or_else(|| panic!("no redirect: {resp}")).to_string()
}

fn path_of(url: &str) -> String {
    let u = reqwest::Url::parse(url).unwrap();
    format!("{}?{}", u.path(), u.query().unwrap_or_default())
}

async fn authorize_verified(app: &TestApp, op: &Browser) {
    let page = op.post("/operator/platform/authorize", &[]).await;
    let link = authorization_link(&page);
    let redirect = administrator_authorizes(app, &link, VERIFIED).await;
    op.get(&path_of(&redirect)).await.assert_contains("Authorization complete");
}

#[tokio::test]
async fn ticket_to_authorizer_info_over_http_and_a_restart_loses_nothing() {
    let app = TestApp::spawn().await;
    wait_for_ticket(&app).await;
    let op = app.operator().await;
    let page = op.post("/operator/platform/authorize", &[]).await;
    let link = authorization_link(&page);
    assert!(link.starts_with(&format!("{}/sandbox/mp/cgi-bin/componentloginpage?", app.base)), "{link}");
    assert!(!query_param(&link, "pre_auth_code").is_empty(), "{link}");

    // The administrator sees WeChat's page with the accounts they administer.
    let html = reqwest::get(&link).await.unwrap().text().await.unwrap();
    assert!(html.contains("Acme Mall"), "{html}");

    // The console restarts while the administrator is on WeChat's page.
    let app = app.restart().await;
    let op = op.moved_to(&app.base);

    let redirect = administrator_authorizes(&app, &link, VERIFIED).await;
    let done = op.get(&path_of(&redirect)).await;
    done.assert_contains("Authorization complete");
    done.assert_contains("Acme Mall");

    let a = app.db(|c| store::authorizer(c, VERIFIED).unwrap()).expect("authorizer stored");
    assert_eq!(a.status, "authorized");
    assert_eq!(a.nick_name, "Acme Mall");
    assert_eq!(a.principal_name, "Acme Trading Co., Ltd.");
    assert!(a.is_mini_program && a.is_verified());
    assert!(a.func_id_list().contains(&18));
    let refresh = a.refresh_token_enc.expect("refresh token kept");
    assert!(refresh.starts_with("v1:"), "encrypted at rest");

    // The state is single-use.
    op.get(&path_of(&redirect)).await.assert_contains("This authorization link cannot be used");
    // Another login cannot use a state it did not start.
    let other = app.operator().await;
    other.get(&path_of(&redirect)).await.assert_contains("This authorization link cannot be used");
}

#[tokio::test]
async fn two_instances_refresh_an_expired_token_exactly_once() {
    let a = TestApp::spawn().await;
    wait_for_ticket(&a).await;
    let b = a.second_instance().await;
    let (op_a, op_b) = (a.operator().await, b.operator().await);
    op_a.post("/operator/platform/authorize", &[]).await.assert_contains("Open the authorization page");
    let before = sandbox_calls(&a, "/cgi-bin/component/api_component_token").await;

    // The stored token expires; many requests on both instances need it at once.
    a.db(|c| store::put_credential_expiry(c, store::COMPONENT_TOKEN, 0).unwrap());
    let requests = (0..12).map(|i| {
        let op = if i % 2 == 0 { &op_a } else { &op_b };
        op.post("/operator/platform/authorize", &[])
    });
    for page in futures_util::future::join_all(requests).await {
        page.assert_contains("Open the authorization page");
    }
    let after = sandbox_calls(&a, "/cgi-bin/component/api_component_token").await;
    assert_eq!(after - before, 1, "exactly one refresh for one expiry");
}

#[tokio::test]
async fn busy_is_retried_an_invalid_token_refreshes_once_and_a_dropped_connection_is_explained() {
    let app = TestApp::spawn().await;
    wait_for_ticket(&app).await;
    let op = app.operator().await;
    op.post("/operator/platform/authorize", &[]).await.assert_contains("Open the authorization page");
    let preauth = "/cgi-bin/component/api_create_preauthcode";

    // errcode -1 ("system busy") once: retried, and the person never notices.
    let n0 = sandbox_calls(&app, preauth).await;
    add_fault(&app, preauth, "errcode", -1, 1).await;
    op.post("/operator/platform/authorize", &[]).await.assert_contains("Open the authorization page");
    assert_eq!(sandbox_calls(&app, preauth).await - n0, 2);

    // 40001 once: one token refresh, one retry.
    let t0 = sandbox_calls(&app, "/cgi-bin/component/api_component_token").await;
    add_fault(&app, preauth, "errcode", 40001, 1).await;
    op.post("/operator/platform/authorize", &[]).await.assert_contains("Open the authorization page");
    assert_eq!(sandbox_calls(&app, "/cgi-bin/component/api_component_token").await - t0, 1);

    // Dropped connections on every retry: a clear sentence, and nothing changed.
    let states = |app: &TestApp| app.db(|c| store::count_auth_states(c).unwrap());
    let s0 = states(&app);
    add_fault(&app, preauth, "drop", 0, 3).await;
    let page = op.post("/operator/platform/authorize", &[]).await;
    assert_eq!(page.status(), StatusCode::OK);
    page.assert_contains("WeChat could not be reached");
    page.assert_lacks("componentloginpage");
    assert_eq!(states(&app), s0);
}

#[tokio::test]
async fn a_lost_refresh_token_is_recovered_and_a_revoked_account_is_left_alone() {
    let app = TestApp::spawn().await;
    wait_for_ticket(&app).await;
    let op = app.operator().await;
    authorize_verified(&app, &op).await;

    // Lose the refresh token and let the access token expire.
    app.db(|c| {
        use diesel::prelude::*;
        use minihost::db::schema::authorizers::dsl::*;
        diesel::update(authorizers.find(VERIFIED))
            .set((refresh_token_enc.eq(None::<String>), access_expires_at.eq(0)))
            .execute(c)
            .unwrap();
    });
    let lists = sandbox_calls(&app, "/cgi-bin/component/api_get_authorizer_list").await;
    let token = app.platform.authorizer_token(VERIFIED).await.expect("recovered without re-authorization");
    assert!(!token.is_empty());
    assert_eq!(sandbox_calls(&app, "/cgi-bin/component/api_get_authorizer_list").await - lists, 1);
    assert!(app.db(|c| store::authorizer(c, VERIFIED).unwrap()).unwrap().refresh_token_enc.is_some());

    // The administrator revokes on WeChat's side: the unauthorized push arrives.
    reqwest::Client::new()
        .post(format!("{}/sandbox/dev/revoke", app.base))
        .json(&json!({ "appid": VERIFIED }))
        .send()
        .await
        .unwrap();
    let mut revoked = false;
    for _ in 0..200 {
        if app.db(|c| store::authorizer(c, VERIFIED).unwrap()).unwrap().is_revoked() {
            revoked = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(revoked, "the unauthorized push revoked the authorizer");
    let calls = sandbox_calls(&app, "/cgi-bin/component/api_authorizer_token").await;
    let err = app.platform.authorizer_token(VERIFIED).await.unwrap_err();
    assert_eq!(err.failure(), minihost::domain::failure::Failure::Revoked, "{err}");
    let text = minihost::views::failure_text(minihost::i18n::Locale::En, err.failure());
    assert!(text.contains("revoked its authorization"), "{text}");
    assert_eq!(
        sandbox_calls(&app, "/cgi-bin/component/api_authorizer_token").await,
        calls,
        "no call for a revoked account"
    );
}

#[tokio::test]
async fn jobs_are_durable_and_a_dead_workers_job_is_taken_over() {
    let app = TestApp::spawn().await;
    wait_for_ticket(&app).await;
    // A refresh that a crashed process had claimed: its lock has expired.
    app.db(|c| {
        use diesel::prelude::*;
        use minihost::db::schema::jobs::dsl as j;
        diesel::insert_into(j::jobs)
            .values((
                j::id.eq("crashed-job"),
                j::kind.eq(<minihost::db::jobs::RefreshComponentToken as minihost::db::jobs::JobKind>::NAME),
                j::payload.eq("{}"),
                j::status.eq("running"),
                j::run_at.eq(0i64),
                j::attempts.eq(1),
                j::max_attempts.eq(5),
                j::locked_by.eq("worker-that-died"),
                j::locked_until.eq(1i64),
                j::created_at.eq(0i64),
                j::updated_at.eq(0i64),
            ))
            .execute(c)
            .unwrap();
    });
    let mut done = false;
    for _ in 0..200 {
        let status: String = app.db(|c| {
            use diesel::prelude::*;
            use minihost::db::schema::jobs::dsl as j;
            j::jobs.find("crashed-job").select(j::status).first(c).unwrap()
        });
        if status == "done" {
            done = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(done, "the job was reclaimed and run");
    assert!(
        app.db(|c| store::credential(c, store::COMPONENT_TOKEN).unwrap())
            .is_some_and(|t| t.expires_at > minihost::now())
    );
}
