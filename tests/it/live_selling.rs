//! Live selling through the sandbox over HTTP: a tenant on the legacy trade component
//! walked through all seventeen steps (a rejected qualification and a rejected product
//! fixed and resubmitted on the way, results arriving as WeChat's pushes); a tenant not on
//! it sees the WeChat Shop path and can never apply; the operator's capability register.

use minihost::db::{audit, live_selling as store};
use minihost::domain::live_selling::{ItemKind, ItemStatus};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Browser, Page, TestApp};
use crate::mini_program::{ALL_SETS, VERIFIED, bind, eventually, ready, sandbox_post};

fn page(tenant: &str) -> String {
    format!("/w/{tenant}/live-selling")
}

async fn act(b: &Browser, tenant: &str, action: &str, fields: &[(&str, &str)]) -> Page {
    b.post(&format!("{}/{action}", page(tenant)), fields).await
}

/// Acts and expects the redirect back with the success flash.
async fn act_ok(b: &Browser, tenant: &str, action: &str, fields: &[(&str, &str)]) -> Page {
    let p = act(b, tenant, action, fields).await;
    assert_eq!(p.status(), StatusCode::OK, "{action} {fields:?}: {}", p.body);
    assert!(p.url().path().ends_with("/live-selling"), "{action}: {}", p.url());
    p.assert_lacks("flash-error");
    p
}

fn items(app: &TestApp, tenant: &str) -> Vec<store::Item> {
    let tenant = tenant.to_string();
    app.db(move |c| store::items(c, &tenant, VERIFIED).unwrap())
}

fn newest(app: &TestApp, tenant: &str, kind: ItemKind) -> store::Item {
    items(app, tenant).into_iter().rev().find(|i| i.kind == kind).unwrap()
}

async fn wait_status(app: &TestApp, tenant: &str, id: &str, status: ItemStatus) {
    eventually(&format!("{id} becoming {}", status.as_str()), || {
        items(app, tenant).iter().any(|i| i.id == id && i.status == status)
    })
    .await;
}

/// WeChat's reviewer decides; its push reaches the console.
async fn review(app: &TestApp, kind: &str, id: &str, decision: &str, reason: &str) {
    let v = sandbox_post(
        app,
        &format!("/sandbox/dev/shop/{VERIFIED}/decide"),
        json!({ "kind": kind, "id": id, "decision": decision, "reason": reason }),
    )
    .await;
    assert_eq!(v["decided"], json!(true), "{v}");
}

async fn on_component(app: &TestApp, appid: &str, legacy: bool) {
    let v = sandbox_post(app, &format!("/sandbox/dev/shop/{appid}"), json!({ "legacy": legacy })).await;
    assert_eq!(v["legacy"], json!(legacy), "{v}");
}

async fn advance(b: &Browser, t: &str, order: &str, steps: usize) {
    for _ in 0..steps {
        act_ok(b, t, "advance", &[("item", order), ("delivery_id", "SF")]).await;
    }
}

#[tokio::test]
async fn a_tenant_on_the_legacy_component_walks_every_step_to_done() {
    let app = TestApp::spawn().await;
    on_component(&app, VERIFIED, true).await;
    let (b, t) = ready("live@acme.example", "Acme Trading", &app).await;
    bind(&app, &b, &t, VERIFIED, &ALL_SETS).await;

    let first = b.get(&page(&t)).await;
    first.assert_contains("Custom trade component");
    first.assert_contains("Retired for new sign-ups (legacy)");
    first.assert_contains("since 2023-03-22");
    first.assert_contains("Not read from WeChat yet");
    let checked = act_ok(&b, &t, "check", &[]).await;
    checked.assert_contains("already on the custom trade component");
    checked.assert_contains("1 of 17 steps done.");
    for text in
        ["Part 1: open the custom trade component", "2.2a (1)", "4.6", "/shop/register/check", "1–2 business days"]
    {
        checked.assert_contains(text);
    }
    checked.assert_lacks("Apply for the Channels scene");

    // 2.2a (1): a brand rejected, then resubmitted and approved; a category approved.
    act_ok(&b, &t, "brand", &[("brand_wording", "Acme")]).await;
    let brand = newest(&app, &t, ItemKind::Brand);
    review(&app, "brand", &brand.wx_id, "reject", "商标注册证不清晰").await;
    wait_status(&app, &t, &brand.id, ItemStatus::Failed).await;
    let rejected = b.get(&page(&t)).await;
    rejected.assert_contains("商标注册证不清晰");
    assert!(rejected.body.contains(r#"step step-failed" id="step-qualifications""#), "qualifications failed");
    let empty = act(&b, &t, "brand", &[("brand_wording", " ")]).await;
    assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);
    empty.assert_contains("Enter the brand name");
    act_ok(&b, &t, "brand", &[("brand_wording", "Acme")]).await;
    let brand2 = newest(&app, &t, ItemKind::Brand);
    review(&app, "brand", &brand2.wx_id, "approve", "").await;
    wait_status(&app, &t, &brand2.id, ItemStatus::Done).await;
    // A product in a category not approved yet: WeChat's 1000005, as a sentence.
    let early = act(&b, &t, "product", &[("title", "Walnuts"), ("third_cat_id", "1201")]).await;
    assert_eq!(early.status(), StatusCode::CONFLICT);
    early.assert_contains("has not been approved for this mini program");
    early.assert_contains("1000005");
    act_ok(&b, &t, "category", &[("third_cat_id", "1201")]).await;
    let cat = newest(&app, &t, ItemKind::Category);
    review(&app, "category", &cat.wx_id, "approve", "").await;
    wait_status(&app, &t, &cat.id, ItemStatus::Done).await;

    // 2.2a (2): a product rejected, corrected, resubmitted, approved; then confirmed.
    act_ok(&b, &t, "product", &[("title", "Walnuts"), ("third_cat_id", "1201")]).await;
    let product = newest(&app, &t, ItemKind::Product);
    review(&app, "spu", &product.wx_id, "reject", "主图不清晰").await;
    wait_status(&app, &t, &product.id, ItemStatus::Failed).await;
    b.get(&page(&t)).await.assert_contains("主图不清晰");
    // A title too long: the error beside the rejected product's title, what was typed kept.
    let long = format!("Roasted walnuts {}", "x".repeat(60));
    let refused = act(&b, &t, "resubmit", &[("item", &product.id), ("title", &long)]).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    refused.assert_contains("Enter a product title (at most 60 characters).");
    refused.assert_contains(&format!(r#"name="title" type="text" value="{long}""#));
    // For an item that is no rejected product, refused as such (no form would show the error).
    let other = act(&b, &t, "resubmit", &[("item", "none"), ("title", "")]).await;
    assert_eq!(other.status(), StatusCode::CONFLICT);
    other.assert_contains("That submission is not one of yours.");
    act_ok(&b, &t, "resubmit", &[("item", &product.id), ("title", "Roasted walnuts")]).await;
    wait_status(&app, &t, &product.id, ItemStatus::InProgress).await;
    review(&app, "spu", &product.wx_id, "approve", "").await;
    wait_status(&app, &t, &product.id, ItemStatus::Done).await;
    act_ok(&b, &t, "check", &[]).await;
    act_ok(&b, &t, "finish", &[("step", "products")]).await;

    // 2.3a–2.5a: a test order paid, shipped with a listed company, received, after-sale.
    let too_early = act(&b, &t, "finish", &[("step", "orders")]).await;
    assert_eq!(too_early.status(), StatusCode::CONFLICT);
    too_early.assert_contains("1040041");
    act_ok(&b, &t, "order", &[]).await;
    let order = newest(&app, &t, ItemKind::Order);
    advance(&b, &t, &order.id, 1).await;
    b.get(&page(&t)).await.assert_contains("顺丰速运");
    advance(&b, &t, &order.id, 3).await;
    for step in ["orders", "delivery", "after_sales", "tested", "released"] {
        act_ok(&b, &t, "finish", &[("step", step)]).await;
    }
    let part2 = b.get(&page(&t)).await;
    part2.assert_contains("9 of 17 steps done.");
    part2.assert_contains("Apply for the Channels scene");

    // Part 3: the scene applied for and approved by WeChat's push.
    act_ok(&b, &t, "scene", &[]).await;
    review(&app, "scene", "1", "approve", "").await;
    eventually("the scene approval push", || {
        let tenant = t.clone();
        app.db(move |c| store::snapshot(c, &tenant).unwrap())
            .is_some_and(|s| s.reading.scene_group_list.first().is_some_and(|g| g.status == 1))
    })
    .await;

    // Part 4: an order in the Channels scene through every call.
    act_ok(&b, &t, "order", &[("scene", "1")]).await;
    let scene_order = newest(&app, &t, ItemKind::Order);
    assert!(scene_order.scene);
    advance(&b, &t, &scene_order.id, 5).await;
    let done = b.get(&page(&t)).await;
    done.assert_contains("17 of 17 steps done.");
    done.assert_lacks("step-failed");

    // Every visible string is in the catalog in both languages.
    for body in [&done.body, &b.post("/locale", &[("lang", "zh-CN"), ("return_to", &page(&t))]).await.body] {
        for raw in ["live.", "capability.", "permission.set_"] {
            assert!(
                !body.contains(&format!(">{raw}")) && !body.contains(&format!(" {raw}")),
                "an untranslated {raw} key"
            );
        }
    }
    let zh = b.get(&page(&t)).await;
    zh.assert_contains("自定义版交易组件接入：四个部分，十七个步骤");
    zh.assert_contains("已完成 17/17 个步骤。");

    let filter = audit::AuditFilter { action: Some("live_selling.finish".into()), ..Default::default() };
    assert_eq!(app.db(move |c| audit::list(c, &filter, 100, 0).unwrap()).len(), 6, "one audit row per confirmation");
}

#[tokio::test]
async fn a_tenant_not_on_it_sees_the_wechat_shop_path_and_cannot_apply() {
    let app = TestApp::spawn().await;
    let (b, t) = ready("shop@acme.example", "Acme Trading", &app).await;
    bind(&app, &b, &t, VERIFIED, &ALL_SETS).await;

    let p = act_ok(&b, &t, "check", &[]).await;
    p.assert_contains("WeChat Shop (微信小店)");
    p.assert_contains("The shop invites your mini program to link to it");
    p.assert_contains("permission set 185 (WeChat Shop link (mini program side))");
    p.assert_contains("&#60;store-product&#62;");
    p.assert_lacks("Custom trade component access: four parts");
    p.assert_lacks("/live-selling/apply");
    p.assert_lacks("Apply for");

    // A direct POST to the apply route: refused with the retired sentence, WeChat not called.
    let refused = act(&b, &t, "apply", &[]).await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    refused.assert_contains("WeChat has retired this capability");
    refused.assert_contains("1400007");
    let calls = crate::requirements::dev_get(&app, "/calls").await;
    assert!(!calls.to_string().contains("/shop/register/apply"), "no sign-up reached WeChat: {calls}");
    // A step of the tracker is refused before WeChat too.
    let brand = act(&b, &t, "brand", &[("brand_wording", "Acme")]).await;
    assert_eq!(brand.status(), StatusCode::CONFLICT);
    brand.assert_contains("is not on the custom trade component");

    // With permission set 185 the link is read from WeChat.
    let mut sets = ALL_SETS.to_vec();
    sets.push(185);
    let v = sandbox_post(&app, "/sandbox/dev/update-permissions", json!({ "appid": VERIFIED, "func_ids": sets })).await;
    assert!(v.get("error").is_none(), "{v}");
    let linked = act_ok(&b, &t, "check", &[]).await;
    linked.assert_contains("Linked to WeChat Shop wxshop5b1c0a3e7d01.");
    sandbox_post(&app, &format!("/sandbox/dev/shop/{VERIFIED}"), json!({ "link_status": 4 })).await;
    act_ok(&b, &t, "check", &[]).await.assert_contains("Not linked to any WeChat Shop yet");

    // Even if an operator marks the component current, WeChat's own 1400007 is the same sentence.
    let op = app.operator().await;
    let saved = op
        .post(
            "/operator/capabilities/trade_component",
            &[("status", "current"), ("since", "2021-03-01"), ("note", "x")],
        )
        .await;
    saved.assert_contains("Capability status saved");
    let again = act(&b, &t, "apply", &[]).await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    again.assert_contains("WeChat has retired this capability");
    let calls: Value = crate::requirements::dev_get(&app, "/calls").await;
    assert!(calls.to_string().contains("/shop/register/apply"), "this time WeChat answered: {calls}");
}

#[tokio::test]
async fn capability_status_edited_by_the_operator_shows_at_once() {
    let app = TestApp::spawn().await;
    let (b, t) = app.approved_tenant("cap@acme.example", "Acme Trading").await;
    let op = app.operator().await;
    let register = op.get("/operator/capabilities").await;
    register.assert_contains("Capability register");
    register.assert_contains("WeChat Shop");

    let bad = op
        .post(
            "/operator/capabilities/wechat_shop",
            &[("status", "gone"), ("since", "2024-02-30"), ("note", "kept text")],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    bad.assert_contains("Choose one of the statuses.");
    bad.assert_contains("Enter a real date as YYYY-MM-DD");
    bad.assert_contains("2024-02-30");
    bad.assert_contains("kept text");
    let empty = op
        .post("/operator/capabilities/wechat_shop", &[("status", "legacy"), ("since", "2026-12-01"), ("note", "")])
        .await;
    empty.assert_contains("Write a note");
    assert_eq!(op.post("/operator/capabilities/nothing", &[]).await.status(), StatusCode::NOT_FOUND);

    let note = "WeChat stopped new shop links on 2026-12-01.";
    let ok = op
        .post("/operator/capabilities/wechat_shop", &[("status", "legacy"), ("since", "2026-12-01"), ("note", note)])
        .await;
    ok.assert_contains("Capability status saved");
    let tenant_page = b.get(&page(&t)).await;
    tenant_page.assert_contains(note);
    tenant_page.assert_contains("WeChat no longer accepts new WeChat Shop links");
    tenant_page.assert_contains("since 2026-12-01");
    tenant_page.assert_contains("No dedicated mini program yet");

    let filter = audit::AuditFilter { action: Some("platform.capability".into()), ..Default::default() };
    let rows = app.db(move |c| audit::list(c, &filter, 10, 0).unwrap());
    assert_eq!(rows.len(), 1);
    assert!(rows[0].after_state.as_deref().unwrap_or_default().contains("legacy"));
}

/// `n` bound people of `role`, inserted 500 rows a statement (fast on both backends).
fn many(app: &TestApp, tenant: &str, role: &'static str, n: usize) {
    use diesel::RunQueryDsl;
    let tenant = tenant.to_string();
    app.db(move |c| {
        for chunk in (0..n).collect::<Vec<_>>().chunks(500) {
            let rows: Vec<String> = chunk
                .iter()
                .map(|i| format!("('{role}-{i}', '{tenant}', '{VERIFIED}', '{role}', 'o_{role}_{i}', 'x', 'bound', 1, '[1]', '', 1, 1)"))
                .collect();
            let sql = format!(
                "INSERT INTO live_selling_people (id, tenant_id, appid, role, openid, name, status, bound_at, changes, reason, created_at, updated_at) VALUES {}",
                rows.join(", ")
            );
            diesel::sql_query(sql).execute(c).unwrap();
        }
    });
}

async fn calls_to(app: &TestApp, path: &str) -> usize {
    let v = crate::requirements::dev_get(app, &format!("/calls?endpoint={path}")).await;
    v["count"].as_u64().unwrap() as usize
}

#[tokio::test]
async fn sharer_and_promoter_rules_are_enforced_before_wechat_is_called() {
    let app = TestApp::spawn().await;
    on_component(&app, VERIFIED, true).await;
    let (b, t) = ready("people@acme.example", "Acme Trading", &app).await;
    bind(&app, &b, &t, VERIFIED, &ALL_SETS).await;
    let p = act_ok(&b, &t, "check", &[]).await;
    for rule in [
        "At most 10,000 sharers per mini program.",
        "at most 5 mini programs",
        "At least 30 days",
        "at most twice a year",
        "At most 1,000 promoters",
    ] {
        p.assert_contains(rule);
    }

    // A sharer invited, accepted in WeChat, then not unbindable for 30 days.
    act_ok(&b, &t, "sharer_bind", &[("openid", "o_alice"), ("name", "Alice")]).await.assert_contains("Invited");
    let dup = act(&b, &t, "sharer_bind", &[("openid", "o_alice"), ("name", "Alice")]).await;
    assert_eq!(dup.status(), StatusCode::CONFLICT);
    dup.assert_contains("already on the list");
    let accepted = sandbox_post(
        &app,
        &format!("/sandbox/dev/shop/{VERIFIED}/sharer"),
        json!({ "openid": "o_alice", "bind_status": 1 }),
    )
    .await;
    assert_eq!(accepted["answered"], json!(true), "{accepted}");
    act_ok(&b, &t, "check", &[]).await.assert_contains("Bound");
    let alice = {
        let tenant = t.clone();
        app.db(move |c| store::person_by_openid(c, &tenant, VERIFIED, "sharer", "o_alice").unwrap().unwrap())
    };
    let early = act(&b, &t, "sharer_unbind", &[("item", &alice.id)]).await;
    assert_eq!(early.status(), StatusCode::CONFLICT);
    early.assert_contains("only 30 days after binding");
    assert_eq!(calls_to(&app, "/shop/sharer/unbind").await, 0);

    // WeChat's own invitation limit (reason 204) as a sentence.
    act_ok(&b, &t, "sharer_bind", &[("openid", "o_carol"), ("name", "Carol")]).await;
    let carol = {
        let tenant = t.clone();
        app.db(move |c| store::person_by_openid(c, &tenant, VERIFIED, "sharer", "o_carol").unwrap().unwrap())
    };
    act_ok(&b, &t, "sharer_unbind", &[("item", &carol.id)]).await;
    let again = act(&b, &t, "sharer_bind", &[("openid", "o_carol"), ("name", "Carol")]).await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    again.assert_contains("at most 3 times a day and once every 10 minutes (reason code 204)");

    // Five other mini programs, and 10,000 sharers: refused without a call.
    let binds = calls_to(&app, "/shop/sharer/bind").await;
    let tenant = t.clone();
    app.db(move |c| {
        for i in 0..5 {
            store::put_person(c, &tenant, &format!("wxother{i}"), "sharer", "o_bob", "Bob", "bound", 1).unwrap();
        }
    });
    let five = act(&b, &t, "sharer_bind", &[("openid", "o_bob"), ("name", "Bob")]).await;
    five.assert_contains("already a sharer of 5 mini programs");
    many(&app, &t, "sharer", 10_000);
    let full = act(&b, &t, "sharer_bind", &[("openid", "o_dave"), ("name", "Dave")]).await;
    assert_eq!(full.status(), StatusCode::CONFLICT);
    full.assert_contains("already has 10,000 sharers");
    assert_eq!(calls_to(&app, "/shop/sharer/bind").await, binds, "no call for refused invitations");

    // Promoters: recorded, removed, then a third change in a year refused; the 1,000 limit.
    let bad = act(&b, &t, "promoter_add", &[("openid", "bad id!"), ("name", "")]).await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    bad.assert_contains("Enter the person&#39;s Open ID");
    bad.assert_contains("Enter a name");
    act_ok(&b, &t, "promoter_add", &[("openid", "o_erin"), ("name", "Erin")]).await;
    let erin = {
        let tenant = t.clone();
        app.db(move |c| store::person_by_openid(c, &tenant, VERIFIED, "promoter", "o_erin").unwrap().unwrap())
    };
    act_ok(&b, &t, "promoter_remove", &[("item", &erin.id)]).await;
    let third = act(&b, &t, "promoter_add", &[("openid", "o_erin"), ("name", "Erin")]).await;
    assert_eq!(third.status(), StatusCode::CONFLICT);
    third.assert_contains("already bound or unbound twice in the last year");
    many(&app, &t, "promoter", 1_000);
    let limit = act(&b, &t, "promoter_add", &[("openid", "o_frank"), ("name", "Frank")]).await;
    limit.assert_contains("already has 1,000 promoters");
}

#[tokio::test]
async fn a_review_push_replayed_from_the_event_inbox_changes_nothing_twice() {
    let app = TestApp::spawn().await;
    on_component(&app, VERIFIED, true).await;
    let (b, t) = ready("replay@acme.example", "Acme Trading", &app).await;
    bind(&app, &b, &t, VERIFIED, &ALL_SETS).await;
    act_ok(&b, &t, "check", &[]).await;
    act_ok(&b, &t, "brand", &[("brand_wording", "Acme")]).await;
    let brand = newest(&app, &t, ItemKind::Brand);
    review(&app, "brand", &brand.wx_id, "reject", "商标注册证不清晰").await;
    wait_status(&app, &t, &brand.id, ItemStatus::Failed).await;

    let event = app
        .db(|c| minihost::db::platform::recent_events(c, 50).unwrap())
        .into_iter()
        .find(|e| e.info_type == "open_product_brand_audit")
        .unwrap();
    assert_eq!(event.status, minihost::db::platform::EventStatus::Processed, "{}", event.outcome);
    let results = || {
        let filter = audit::AuditFilter { action: Some("live_selling.review_result".into()), ..Default::default() };
        app.db(move |c| audit::list(c, &filter, 10, 0).unwrap()).len()
    };
    assert_eq!(results(), 1);
    let op = app.operator().await;
    let replayed = op.post(&format!("/operator/platform/events/{}/replay", event.id), &[]).await;
    assert_eq!(replayed.status(), StatusCode::OK);
    let again = app.db(move |c| minihost::db::platform::event(c, &event.id).unwrap().unwrap());
    assert_eq!(again.outcome, "already applied");
    assert_eq!(results(), 1, "no second audit row");
    assert_eq!(newest(&app, &t, ItemKind::Brand).reason, "商标注册证不清晰");
}

#[tokio::test]
async fn a_mini_program_put_on_the_component_by_wechat_gets_the_tracker_from_the_push() {
    let app = TestApp::spawn().await;
    let (b, t) = ready("register@acme.example", "Acme Trading", &app).await;
    bind(&app, &b, &t, VERIFIED, &ALL_SETS).await;
    act_ok(&b, &t, "check", &[]).await.assert_contains("WeChat Shop (微信小店)");
    // WeChat opens the component for it (open_product_account_register, status 2).
    on_component(&app, VERIFIED, true).await;
    let world = |app: &TestApp| {
        let tenant = t.clone();
        app.db(move |c| store::snapshot(c, &tenant).unwrap()).map(|s| s.world)
    };
    eventually("the account_register push", || world(&app) == Some(store::World::Legacy)).await;
    b.get(&page(&t)).await.assert_contains("Custom trade component access: four parts, seventeen steps");
    // And cancels it again (status 10).
    on_component(&app, VERIFIED, false).await;
    eventually("the cancellation push", || world(&app) == Some(store::World::Shop)).await;
    b.get(&page(&t)).await.assert_lacks("four parts, seventeen steps");
}
