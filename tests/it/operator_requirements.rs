//! The operator's template requirements (errors beside fields, saved with an audit row,
//! every tenant re-evaluated, defaults restored) and the tenants page's requirements
//! columns, its "blocked" filter and its paging.

use minihost::db::{audit, requirements as store};
use minihost::domain::requirements::{Config, Item, State};
use reqwest::StatusCode;

use crate::helpers::TestApp;
use crate::mini_program::{ALL_SETS, VERIFIED, bind, eventually, ready};
use crate::requirements::{state, states};

const NEEDS: &str = "/operator/platform/requirements";

fn item_count(app: &TestApp, tenant: &str) -> usize {
    states(app, tenant).len()
}

/// The form as the page posts it for `config`.
fn fields(config: &Config) -> Vec<(String, String)> {
    let mut f = Vec::new();
    let mut push = |k: String, v: &str| f.push((k, v.to_string()));
    for (i, p) in config.plugins.iter().enumerate() {
        push(format!("plugin_appid_{i}"), &p.appid);
        push(format!("plugin_name_{i}"), &p.name);
    }
    for (i, c) in config.categories.iter().enumerate() {
        push(format!("category_first_{i}"), &c.first.to_string());
        push(format!("category_second_{i}"), &c.second.to_string());
        push(format!("category_name_{i}"), &c.name);
        push(format!("category_match_{i}"), if c.any_under_first { "any" } else { "exact" });
    }
    push("domains".into(), &config.domains.join("\n"));
    for (i, a) in config.privacy_apis.iter().enumerate() {
        push(format!("api_name_{i}"), &a.api_name);
        push(format!("api_reason_{i}"), &a.reason);
        push(format!("api_pictures_{i}"), &a.pictures.join("\n"));
    }
    for (i, g) in config.privacy_guide.items.iter().enumerate() {
        push(format!("guide_key_{i}"), &g.privacy_key);
        push(format!("guide_text_{i}"), &g.privacy_text);
    }
    push("notice_method".into(), &config.privacy_guide.notice_method);
    push("store_expire".into(), &config.privacy_guide.store_expire);
    push("review_warning_days".into(), &config.review_warning_days.to_string());
    f
}

fn pairs(f: &[(String, String)]) -> Vec<(&str, &str)> {
    f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

#[tokio::test]
async fn operators_set_the_template_requirements_and_every_tenant_is_re_evaluated() {
    let app = TestApp::spawn().await;
    let (b, t) = ready("needs@acme.example", "Acme Trading", &app).await;
    bind(&app, &b, &t, VERIFIED, &ALL_SETS).await;
    eventually("the first check after binding", || item_count(&app, &t) == 7).await;
    assert_eq!(state(&app, &t, Item::Plugins), Some(State::DueNow));
    let op = app.operator().await;

    let page = op.get("/operator/platform").await;
    page.assert_contains("Edit template requirements");
    let page = op.get(NEEDS).await;
    assert_eq!(page.status(), StatusCode::OK);
    page.assert_contains(r#"value="wx069ba97219f66d99""#);
    page.assert_contains("WeChat real-time translation");
    page.assert_contains("https://apis.map.qq.com");
    page.assert_contains("Saving re-evaluates the checklist of every tenant checked so far (1)");

    // Wrong fields: each error beside its field, the input kept, nothing saved.
    let mut wrong = fields(&Config::default());
    wrong.retain(|(k, _)| !k.starts_with("plugin_") && k != "domains" && k != "review_warning_days");
    wrong.extend([
        ("plugin_appid_0".to_string(), "wx123".to_string()),
        ("plugin_name_0".to_string(), "Translation".to_string()),
        ("domains".to_string(), "https://ok.example.com\nhttp://insecure.example.com".to_string()),
        ("review_warning_days".to_string(), "400".to_string()),
    ]);
    let bad = op.post(NEEDS, &pairs(&wrong)).await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    bad.assert_contains("Some fields need attention. Nothing was saved.");
    bad.assert_contains("Enter the plugin&#39;s AppID");
    bad.assert_contains("Each line must be https:// and a host name");
    bad.assert_contains("Enter a number of days from 0 to 365.");
    bad.assert_contains(r#"value="wx123""#);
    bad.assert_contains("http://insecure.example.com");
    assert_eq!(app.db(|c| store::config(c).unwrap()), Config::default(), "nothing saved");

    // The template no longer needs a plugin: saved, audited, every tenant re-evaluated.
    let mut without_plugin = Config::default();
    without_plugin.plugins.clear();
    let saved = op.post(NEEDS, &pairs(&fields(&without_plugin))).await;
    assert_eq!(saved.url().path(), NEEDS);
    saved.assert_contains("Template requirements saved.");
    saved.assert_lacks("wx069ba97219f66d99");
    assert_eq!(app.db(|c| store::config(c).unwrap()), without_plugin);
    let audited = app.db(|c| {
        let f = audit::AuditFilter { action: Some("platform.requirements_config".into()), ..Default::default() };
        audit::list(c, &f, 10, 0).unwrap()
    });
    assert_eq!(audited.len(), 1, "one audit row for the save");
    eventually("the plugin item re-evaluated as done", || state(&app, &t, Item::Plugins) == Some(State::Done)).await;
    b.get(&format!("/w/{t}/store/requirements")).await.assert_lacks("WeChat real-time translation");

    // Restoring the defaults brings the plugin back, due now again.
    let restored = op.post(&format!("{NEEDS}/defaults"), &[]).await;
    restored.assert_contains("The default requirements are back.");
    assert_eq!(app.db(|c| store::config(c).unwrap()), Config::default());
    eventually("the plugin due again", || state(&app, &t, Item::Plugins) == Some(State::DueNow)).await;

    // Only operators.
    assert_eq!(b.get(NEEDS).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(b.post(NEEDS, &pairs(&fields(&without_plugin))).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(b.post(&format!("{NEEDS}/defaults"), &[]).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.db(|c| store::config(c).unwrap()), Config::default(), "a tenant changed nothing");
}

#[tokio::test]
async fn the_tenants_page_shows_what_blocks_each_tenant_and_pages_through_many() {
    let app = TestApp::spawn().await;
    let (b, t) = ready("blocked@acme.example", "Acme Trading", &app).await;
    bind(&app, &b, &t, VERIFIED, &ALL_SETS).await;
    eventually("the first check after binding", || item_count(&app, &t) == 7).await;
    let due = {
        let t = t.clone();
        app.db(move |c| store::summary(c, &t).unwrap().due_now)
    };
    assert!(due > 0, "a fresh sandbox mini program has items due now");
    app.db(|c| minihost::demo::load(c, 60, "demo-password-xyz").unwrap());
    let op = app.operator().await;

    let all = op.get("/operator/tenants").await;
    all.assert_contains("Items due now");
    all.assert_contains("Earliest deadline");
    all.assert_contains("Blocked by requirements");
    assert_eq!(all.body.matches("/operator/audit?tenant=").count(), 50, "fifty to a page");
    all.assert_contains("Older →");
    let second = op.get("/operator/tenants?page=2").await;
    assert_eq!(second.body.matches("/operator/audit?tenant=").count(), 11, "61 tenants in all");
    second.assert_contains("Acme Trading");
    second.assert_contains("← Newer");

    let blocked = op.get("/operator/tenants?blocked=1").await;
    blocked.assert_contains("Acme Trading");
    blocked.assert_contains(&format!(r#"<span class="badge badge-req-due_now">{due}</span>"#));
    blocked.assert_lacks("Demo Company");
    blocked.assert_contains(r#"name="blocked" value="1" checked"#);
    op.get("/operator/tenants?blocked=1&q=acme").await.assert_contains("Acme Trading");
    op.get("/operator/tenants?q=%25").await.assert_contains("No tenants match.");
    op.get(&format!("/operator/tenants?mode=dedicated&q={}", minihost::demo::appid(3)))
        .await
        .assert_contains("Demo Company 3<");
}
