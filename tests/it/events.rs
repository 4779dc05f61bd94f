//! WeChat pushes to the console: verified, stored once, processed idempotently; forged,
//! replayed, stale and oversized pushes are refused and nothing is stored.

use minihost::config::{SANDBOX_COMPONENT_AES_KEY, SANDBOX_COMPONENT_APPID, SANDBOX_COMPONENT_TOKEN};
use minihost::wechat::crypto::{MsgCrypt, build_flat_xml};
use reqwest::StatusCode;

use crate::helpers::TestApp;

fn crypt() -> MsgCrypt {
    MsgCrypt::new(SANDBOX_COMPONENT_TOKEN, SANDBOX_COMPONENT_AES_KEY, SANDBOX_COMPONENT_APPID).unwrap()
}

fn ticket_xml(ticket: &str, created: i64) -> String {
    build_flat_xml(&[
        ("AppId", SANDBOX_COMPONENT_APPID),
        ("CreateTime", &created.to_string()),
        ("InfoType", "component_verify_ticket"),
        ("ComponentVerifyTicket", ticket),
    ])
}

/// Posts an encrypted push as WeChat would; returns status and body.
pub async fn push(app: &TestApp, path: &str, xml: &str, timestamp: i64, nonce: &str) -> (StatusCode, String) {
    let c = crypt();
    let ts = timestamp.to_string();
    let (body, sig) = c.seal_envelope(xml, &ts, nonce, None);
    let url = format!(
        "{}{path}?signature={}&timestamp={ts}&nonce={nonce}&encrypt_type=aes&msg_signature={sig}",
        app.base,
        c.plain_signature(&ts, nonce)
    );
    let resp = reqwest::Client::new().post(url).body(body).send().await.unwrap();
    (resp.status(), resp.text().await.unwrap())
}

fn events_count(app: &TestApp) -> i64 {
    app.db(|c| minihost::db::platform::count_events(c).unwrap())
}

fn stored_ticket(app: &TestApp) -> Option<i64> {
    app.db(|c| minihost::db::platform::credential(c, minihost::db::platform::TICKET).unwrap()).map(|t| t.obtained_at)
}

fn now() -> i64 {
    minihost::now()
}

#[tokio::test]
async fn a_ticket_push_is_verified_stored_and_answered_success() {
    let app =
        TestApp::spawn_with(&[("MINIHOST_SANDBOX", "off"), ("MINIHOST_WECHAT_API_BASE", "http://127.0.0.1:9")]).await;
    let created = now();
    let (status, body) =
        push(&app, "/wechat/component/events", &ticket_xml("ticket@@@one", created), now(), "n-1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "success");
    assert_eq!(events_count(&app), 1);
    assert_eq!(stored_ticket(&app), Some(created));
    // The ticket is encrypted at rest.
    let raw = app.db(|c| minihost::db::platform::credential(c, minihost::db::platform::TICKET).unwrap()).unwrap();
    assert!(!raw.value_enc.contains("ticket@@@one"));
    let event = app.db(|c| minihost::db::platform::recent_events(c, 1).unwrap()).remove(0);
    assert_eq!(event.status, minihost::db::platform::EventStatus::Processed);
    assert_eq!(event.info_type, "component_verify_ticket");
}

#[tokio::test]
async fn the_same_event_delivered_twice_has_one_effect() {
    let app =
        TestApp::spawn_with(&[("MINIHOST_SANDBOX", "off"), ("MINIHOST_WECHAT_API_BASE", "http://127.0.0.1:9")]).await;
    let xml = ticket_xml("ticket-dup", now());
    let first = push(&app, "/wechat/component/events", &xml, now(), "n-a").await;
    // WeChat retries with a new nonce: accepted, but not stored or applied again.
    let second = push(&app, "/wechat/component/events", &xml, now(), "n-b").await;
    assert_eq!(first, (StatusCode::OK, "success".into()));
    assert_eq!(second, (StatusCode::OK, "success".into()));
    assert_eq!(events_count(&app), 1);
}

#[tokio::test]
async fn forged_replayed_stale_and_oversized_pushes_are_refused_and_not_stored() {
    let app =
        TestApp::spawn_with(&[("MINIHOST_SANDBOX", "off"), ("MINIHOST_WECHAT_API_BASE", "http://127.0.0.1:9")]).await;
    let client = reqwest::Client::new();
    let c = crypt();
    let ts = now().to_string();
    let (body, sig) = c.seal_envelope(&ticket_xml("forged", now()), &ts, "n-f", None);

    // Forged: a signature that does not match.
    let forged = client
        .post(format!("{}/wechat/component/events?timestamp={ts}&nonce=n-f&msg_signature={}", app.base, "0".repeat(40)))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);

    // Encrypted with another key: the signature is right for its own token only.
    let other =
        MsgCrypt::new("othertoken", "zyxwvutsrqponmlkjihgfedcba9876543210ABCDEFG", SANDBOX_COMPONENT_APPID).unwrap();
    let (obody, osig) = other.seal_envelope(&ticket_xml("other", now()), &ts, "n-o", None);
    let wrong_key = client
        .post(format!("{}/wechat/component/events?timestamp={ts}&nonce=n-o&msg_signature={osig}", app.base))
        .body(obody)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_key.status(), StatusCode::UNAUTHORIZED);

    // Stale: ten minutes old.
    let old = (now() - 600).to_string();
    let (sbody, ssig) = c.seal_envelope(&ticket_xml("stale", now()), &old, "n-s", None);
    let stale = client
        .post(format!("{}/wechat/component/events?timestamp={old}&nonce=n-s&msg_signature={ssig}", app.base))
        .body(sbody)
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::UNAUTHORIZED);

    // Missing parameters.
    let bare = client.post(format!("{}/wechat/component/events", app.base)).body(body.clone()).send().await.unwrap();
    assert_eq!(bare.status(), StatusCode::BAD_REQUEST);

    // Oversized: refused from its Content-Length, before the body is read. The server may
    // close the connection before the client has finished sending; either way it is refused.
    let huge = client
        .post(format!("{}/wechat/component/events?timestamp={ts}&nonce=n-h&msg_signature={sig}", app.base))
        .body("x".repeat(100 * 1024))
        .send()
        .await;
    if let Ok(resp) = huge {
        assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }

    assert_eq!(events_count(&app), 0, "nothing stored");
    assert_eq!(stored_ticket(&app), None);

    // Replayed: the same signed request twice.
    let url = format!("{}/wechat/component/events?timestamp={ts}&nonce=n-f&msg_signature={sig}", app.base);
    let first = client.post(&url).body(body.clone()).send().await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let replay = client.post(&url).body(body).send().await.unwrap();
    assert_eq!(replay.status(), StatusCode::CONFLICT);
    assert_eq!(events_count(&app), 1);
}

#[tokio::test]
async fn mini_program_pushes_are_stored_under_their_appid() {
    let app =
        TestApp::spawn_with(&[("MINIHOST_SANDBOX", "off"), ("MINIHOST_WECHAT_API_BASE", "http://127.0.0.1:9")]).await;
    let xml = build_flat_xml(&[
        ("ToUserName", "gh_abc"),
        ("FromUserName", "o_x"),
        ("CreateTime", &now().to_string()),
        ("MsgType", "event"),
        ("Event", "weapp_audit_success"),
    ]);
    let (status, body) = push(&app, "/wechat/mp/wx5a1b000000000001/events", &xml, now(), "n-mp").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "success"));
    let event = app.db(|c| minihost::db::platform::recent_events(c, 1).unwrap()).remove(0);
    assert_eq!(event.endpoint, "mp");
    assert_eq!(event.authorizer_appid.as_deref(), Some("wx5a1b000000000001"));
    assert_eq!(event.info_type, "weapp_audit_success");
}

#[tokio::test]
async fn an_operator_sees_the_event_and_can_replay_it_without_a_second_effect() {
    let app =
        TestApp::spawn_with(&[("MINIHOST_SANDBOX", "off"), ("MINIHOST_WECHAT_API_BASE", "http://127.0.0.1:9")]).await;
    let xml = build_flat_xml(&[
        ("AppId", SANDBOX_COMPONENT_APPID),
        ("CreateTime", &now().to_string()),
        ("InfoType", "unauthorized"),
        ("AuthorizerAppid", "wx5a1b000000000009"),
    ]);
    push(&app, "/wechat/component/events", &xml, now(), "n-u").await;
    let op = app.operator().await;
    let page = op.get("/operator/platform").await;
    page.assert_contains("unauthorized");
    page.assert_contains("wx5a1b000000000009");
    let event = app.db(|c| minihost::db::platform::recent_events(c, 1).unwrap()).remove(0);
    let replayed = op.post(&format!("/operator/platform/events/{}/replay", event.id), &[]).await;
    replayed.assert_contains("The event was processed again");
    let after = app.db(|c| minihost::db::platform::event(c, &event.id).unwrap()).unwrap();
    assert_eq!(after.attempts, 2);
    assert_eq!(events_count(&app), 1);
    // Tenant admins cannot see the platform page.
    let (tenant, _) = app.approved_tenant("t@example.com", "T Ltd").await;
    assert_eq!(tenant.get("/operator/platform").await.status(), StatusCode::FORBIDDEN);
    assert_eq!(tenant.get(&format!("/operator/platform/events/{}", event.id)).await.status(), StatusCode::FORBIDDEN);
}

/// Pushes that arrive together are written together (one transaction per batch, see
/// `services::event_writer`): each must still get its own answer, redeliveries of one
/// event must be stored once, and of several pushes with one nonce only one goes in.
#[tokio::test]
async fn pushes_arriving_together_are_each_stored_once_and_answered_after_storing() {
    let app =
        TestApp::spawn_with(&[("MINIHOST_SANDBOX", "off"), ("MINIHOST_WECHAT_API_BASE", "http://127.0.0.1:9")]).await;
    let ts = now();
    let event = |i: usize| {
        build_flat_xml(&[
            ("AppId", SANDBOX_COMPONENT_APPID),
            ("CreateTime", &ts.to_string()),
            ("InfoType", "notify_third_fasteregister"),
            ("Seq", &i.to_string()),
        ])
    };
    let mut sends = Vec::new();
    // 20 events, each delivered twice with different nonces (WeChat's retries).
    for i in 0..20 {
        for copy in 0..2 {
            sends.push((event(i), format!("n-{i}-{copy}")));
        }
    }
    // One more event sent five times with the same nonce: one is taken, four are replays.
    for _ in 0..5 {
        sends.push((event(99), "n-same".to_string()));
    }
    let app = std::sync::Arc::new(app);
    let answers = futures_util::future::join_all(sends.into_iter().map(|(xml, nonce)| {
        let app = app.clone();
        async move { push(&app, "/wechat/component/events", &xml, ts, &nonce).await }
    }))
    .await;
    let ok = answers.iter().filter(|a| **a == (StatusCode::OK, "success".to_string())).count();
    let replays = answers.iter().filter(|(s, _)| *s == StatusCode::CONFLICT).count();
    assert_eq!((ok, replays), (41, 4), "{answers:?}");
    let events = app.db(|c| minihost::db::platform::recent_events(c, 100).unwrap());
    assert_eq!(events.len(), 21);
    assert!(events.iter().all(|e| e.status != minihost::db::platform::EventStatus::Received && e.attempts == 1));
}
