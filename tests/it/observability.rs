//! What an operator running minihost sees of it: `/metrics` (behind its token or on its own
//! listener), the request id in the response header, the error page, the toast and the
//! JSON log lines, `/readyz`, and the security headers on every kind of answer.

use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;

use crate::helpers::TestApp;

const TOKEN: &str = "scrape-token-0123456789";

async fn scrape(app: &TestApp, token: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(format!("{}/metrics", app.base));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

/// The lines of a series whose labels include all of `labels`.
fn series<'a>(text: &'a str, name: &str, labels: &[&str]) -> Vec<&'a str> {
    text.lines().filter(|l| l.starts_with(&format!("{name}{{")) && labels.iter().all(|want| l.contains(want))).collect()
}

/// A push whose signature is wrong: refused with 401 (reason `bad_signature`).
async fn bad_push(base: &str, request_id: Option<&str>) -> reqwest::Response {
    let ts = minihost::now();
    let mut request = reqwest::Client::new()
        .post(format!("{base}/wechat/component/events?timestamp={ts}&nonce=n-bad&msg_signature={}", "0".repeat(40)))
        .body("<xml><ToUserName><![CDATA[x]]></ToUserName><Encrypt><![CDATA[AAAA]]></Encrypt></xml>");
    if let Some(id) = request_id {
        request = request.header("X-Request-Id", id);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn metrics_need_the_token_and_count_requests_by_route_and_refused_events_by_reason() {
    let app = TestApp::spawn_with(&[("MINIHOST_METRICS_TOKEN", TOKEN)]).await;

    let anonymous = scrape(&app, None).await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert!(anonymous.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
    assert_eq!(scrape(&app, Some("scrape-token-wrong-456789")).await.status(), StatusCode::UNAUTHORIZED);

    // A page, a page of a tenant (its id must not become a label) and a refused push.
    let b = app.browser();
    assert_eq!(b.get("/login").await.status(), StatusCode::OK);
    let tenant_id = "0198a0a0-0000-7000-8000-00000000abcd";
    b.get(&format!("/w/{tenant_id}/wallet")).await;
    assert_eq!(bad_push(&app.base, None).await.status(), StatusCode::UNAUTHORIZED);

    let answer = scrape(&app, Some(TOKEN)).await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert!(answer.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = answer.text().await.unwrap();
    assert!(text.contains("# TYPE minihost_http_requests_total counter"), "{text}");
    assert!(
        !series(&text, "minihost_http_requests_total", &[r#"route="/login""#, r#"status="200""#]).is_empty(),
        "{text}"
    );
    assert!(!series(&text, "minihost_http_requests_total", &[r#"route="/w/{tenant_id}/wallet""#]).is_empty(), "{text}");
    assert!(
        !series(&text, "minihost_http_request_duration_seconds_bucket", &[r#"route="/login""#]).is_empty(),
        "latency histograms: {text}"
    );
    assert!(!text.contains(tenant_id), "ids never become labels");
    assert!(
        !series(
            &text,
            "minihost_wechat_events_refused_total",
            &[r#"endpoint="component""#, r#"reason="bad_signature""#]
        )
        .is_empty(),
        "{text}"
    );
    assert!(!series(&text, "minihost_wechat_events_received_total", &[r#"endpoint="component""#]).is_empty());
    // Sampled at the scrape: the queue and the (absent) campaign.
    assert!(text.contains("minihost_jobs_queue_age_seconds "), "{text}");
    assert!(text.contains("minihost_campaign_active 0"), "{text}");
    assert!(text.contains("# HELP minihost_emails_total"), "the mail delivery's series is described: {text}");

    // The sandbox pushes a ticket at start: the token refresh job runs and calls WeChat.
    let mut last = String::new();
    for _ in 0..200 {
        last = scrape(&app, Some(TOKEN)).await.text().await.unwrap();
        if !series(&last, "minihost_jobs_total", &[r#"kind="refresh_component_token""#]).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!series(&last, "minihost_jobs_total", &[r#"kind="refresh_component_token""#]).is_empty(), "{last}");
    assert!(
        !series(&last, "minihost_token_refreshes_total", &[r#"token="component""#, r#"outcome="ok""#]).is_empty(),
        "{last}"
    );
    assert!(
        !series(
            &last,
            "minihost_outgoing_calls_total",
            &[r#"service="wechat""#, r#"endpoint="/cgi-bin/component/api_component_token""#, r#"errcode="0""#]
        )
        .is_empty(),
        "{last}"
    );
    assert!(!last.contains("access_token="), "no query string, no token, in a label");
}

#[tokio::test]
async fn without_configuration_metrics_are_not_served() {
    let app = TestApp::spawn().await;
    let page = app.browser().get("/metrics").await;
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    page.assert_contains("Page not found");
}

#[tokio::test]
async fn a_metrics_listener_serves_metrics_and_nothing_else() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let bind = format!("127.0.0.1:{port}");
    let app = TestApp::spawn_with(&[("MINIHOST_METRICS_BIND", bind.as_str())]).await;
    let client = reqwest::Client::new();
    // The public listener does not serve it.
    assert_eq!(app.browser().get("/metrics").await.status(), StatusCode::NOT_FOUND);
    let metrics = client.get(format!("http://{bind}/metrics")).send().await.unwrap();
    assert_eq!(metrics.status(), StatusCode::OK);
    assert!(metrics.text().await.unwrap().contains("minihost_"));
    for path in ["/login", "/healthz", "/sandbox/"] {
        let other = client.get(format!("http://{bind}{path}")).send().await.unwrap();
        assert_eq!(other.status(), StatusCode::NOT_FOUND, "{path} on the metrics listener");
    }
}

#[tokio::test]
async fn the_request_id_is_echoed_and_the_error_page_asks_to_quote_it() {
    let app = TestApp::spawn().await;
    let client = reqwest::Client::new();

    let given =
        client.get(format!("{}/nowhere", app.base)).header("X-Request-Id", "support-42.a").send().await.unwrap();
    assert_eq!(given.status(), StatusCode::NOT_FOUND);
    assert_eq!(given.headers()["x-request-id"], "support-42.a");
    let body = given.text().await.unwrap();
    assert!(body.contains("Quote this id to support: support-42.a"), "{body}");
    assert!(body.contains("联系支持时请提供此编号：support-42.a"), "{body}");

    // Without one (or with one that is not plain), the console makes one and shows it.
    for incoming in [None, Some("<b>not plain</b>")] {
        let mut request = client.get(format!("{}/nowhere", app.base));
        if let Some(id) = incoming {
            request = request.header("X-Request-Id", id);
        }
        let answer = request.send().await.unwrap();
        let id = answer.headers()["x-request-id"].to_str().unwrap().to_string();
        assert_eq!(id.len(), 36, "a uuid: {id}");
        let body = answer.text().await.unwrap();
        assert!(body.contains(&format!("Quote this id to support: {id}")), "{body}");
        assert!(!body.contains("not plain"));
    }

    // An error escaping the handlers (the CSRF check) is a page with the id too.
    let forged = client.post(format!("{}/logout", app.base)).header("X-Request-Id", "csrf-1").send().await.unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(forged.headers()["x-request-id"], "csrf-1");
    assert!(forged.text().await.unwrap().contains("Quote this id to support: csrf-1"));

    // A fragment request that fails gets a toast with the id.
    let b = app.browser();
    b.sign_up("toast@example.com", "Toast").await;
    let toast = b
        .client
        .get(b.url("/w/0198a0a0-0000-7000-8000-00000000beef/store/mini-program"))
        .header("HX-Request", "true")
        .header("X-Request-Id", "toast-7")
        .send()
        .await
        .unwrap();
    assert_eq!(toast.status(), StatusCode::NOT_FOUND);
    assert_eq!(toast.headers()["hx-retarget"], "#toasts");
    let body = toast.text().await.unwrap();
    assert!(body.contains("toast-error") && body.contains("Quote this id to support: toast-7"), "{body}");
}

#[tokio::test]
async fn readyz_answers_while_the_worker_runs_and_says_why_not_when_it_stopped() {
    let app = TestApp::spawn().await;
    let client = reqwest::Client::new();
    let ready = client.get(format!("{}/readyz", app.base)).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    assert_eq!(ready.text().await.unwrap(), "ready");

    app.stop_worker();
    let url = format!("{}/readyz", app.base);
    let mut answer = (StatusCode::OK, String::new());
    for _ in 0..200 {
        let r = client.get(&url).send().await.unwrap();
        answer = (r.status(), r.text().await.unwrap());
        if answer.0 == StatusCode::SERVICE_UNAVAILABLE {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(answer, (StatusCode::SERVICE_UNAVAILABLE, "the job worker has stopped".to_string()));
    // The health check is about the database only (CONTRACT.md).
    let health = client.get(format!("{}/healthz", app.base)).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(health.text().await.unwrap(), "ok");
}

#[track_caller]
fn assert_security_headers(what: &str, headers: &reqwest::header::HeaderMap) {
    let csp = headers.get("content-security-policy").map(|v| v.to_str().unwrap().to_string());
    let csp = csp.unwrap_or_else(|| panic!("{what}: no Content-Security-Policy"));
    for directive in [
        "default-src 'self';",
        "script-src 'self';",
        "style-src 'self';",
        "frame-ancestors 'none';",
        "base-uri 'none';",
        "object-src 'none';",
        "form-action 'self'",
        "img-src 'self' data:",
    ] {
        assert!(csp.contains(directive), "{what}: {directive} in {csp}");
    }
    assert!(!csp.contains("unsafe-"), "{what}: {csp}");
    assert_eq!(headers["x-frame-options"], "DENY", "{what}");
    assert_eq!(headers["x-content-type-options"], "nosniff", "{what}");
    assert_eq!(headers["referrer-policy"], "same-origin", "{what}");
    assert!(!headers["x-request-id"].is_empty(), "{what}");
}

/// No inline script or style: what the policy would refuse.
#[track_caller]
fn assert_nothing_inline(what: &str, html: &str) {
    assert!(!html.contains(" style=\""), "{what} has a style attribute");
    assert!(!html.contains("<style"), "{what} has a style element");
    for script in html.split("<script").skip(1) {
        let tag = script.split('>').next().unwrap_or_default();
        assert!(tag.contains(" src=\""), "{what} has an inline script");
    }
    assert!(!html.contains(" onclick=") && !html.contains(" hx-on"), "{what} has an inline handler");
}

#[tokio::test]
async fn every_kind_of_answer_carries_the_security_headers() {
    let app = TestApp::spawn().await;
    let client = reqwest::Client::new();
    let get = |path: &str| client.get(format!("{}{path}", app.base)).send();

    for path in [
        "/login",
        "/signup",
        "/nowhere",
        "/static/app.css",
        "/healthz",
        "/readyz",
        "/sandbox/",
        "/sandbox/static/sandbox.css",
        "/sandbox/mp/nowhere",
        "/sandbox/dev/ticket",
    ] {
        let answer = get(path).await.unwrap();
        assert_security_headers(path, answer.headers());
        let html = answer.headers()["content-type"].to_str().unwrap().starts_with("text/html");
        let body = answer.text().await.unwrap();
        if html {
            assert_nothing_inline(path, &body);
        }
    }
    let refused = bad_push(&app.base, None).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_security_headers("a refused push", refused.headers());
    let forged = client.post(format!("{}/logout", app.base)).send().await.unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_security_headers("a refused form", forged.headers());

    // The pages of a workspace and of the operator, with the default logo's colour.
    let (b, tenant_id) = app.approved_tenant("headers@example.com", "Headers Ltd").await;
    let op = app.operator().await;
    for (who, path) in [
        (&b, format!("/w/{tenant_id}")),
        (&b, format!("/w/{tenant_id}/store/mini-program")),
        (&b, format!("/w/{tenant_id}/wallet")),
        (&op, "/operator/applications".to_string()),
        (&op, "/operator/tenants".to_string()),
        (&op, "/operator/campaigns".to_string()),
    ] {
        let answer = who.client.get(who.url(&path)).send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::OK, "{path}");
        assert_security_headers(&path, answer.headers());
        assert_nothing_inline(&path, &answer.text().await.unwrap());
    }
}

#[tokio::test]
async fn json_logs_are_one_object_a_line_with_the_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_minihost"))
        .arg("serve")
        .env("DATABASE_URL", format!("sqlite://{}", dir.path().join("m.db").display()))
        .env("MINIHOST_DATA_DIR", dir.path())
        .env("MINIHOST_BIND", "127.0.0.1:0")
        .env("MINIHOST_OPERATOR_EMAIL", "ops@example.com")
        .env("MINIHOST_OPERATOR_PASSWORD", "operator-password-1")
        .env("MINIHOST_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The log is on standard output (standard error is for a failed command's reason).
    let (tx, lines) = std::sync::mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen: Vec<serde_json::Value> = Vec::new();
    let next = |seen: &mut Vec<serde_json::Value>| {
        let line = lines.recv_timeout(Duration::from_secs(30)).expect("a log line");
        let value: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("not one JSON object: {line:?}: {e}"));
        seen.push(value.clone());
        value
    };
    let base = loop {
        let v = next(&mut seen);
        let message = v["fields"]["message"].as_str().unwrap_or_default();
        if let Some(addr) = message.strip_prefix("minihost is listening on ") {
            break format!("http://{addr}");
        }
    };
    assert_eq!(bad_push(&base, Some("json-log-1")).await.status(), StatusCode::UNAUTHORIZED);
    let found = loop {
        let v = next(&mut seen);
        let in_request =
            v["spans"].as_array().is_some_and(|spans| spans.iter().any(|s| s["request_id"] == "json-log-1"));
        if in_request {
            break v;
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(found["level"], "WARN", "{found}");
    assert_eq!(found["fields"]["message"], "refused a WeChat push", "{found}");
    assert!(found["timestamp"].is_string(), "{found}");
    let span = &found["spans"][0];
    assert_eq!(span["http.route"], "/wechat/component/events", "{found}");
    assert!(!found.to_string().contains("msg_signature"), "no query string in the log: {found}");
}
