//! Tenant isolation and the operator boundary, route by route.

use reqwest::StatusCode;

use crate::helpers::TestApp;

#[tokio::test]
async fn a_tenant_admin_cannot_reach_another_tenant_or_operator_pages() {
    let app = TestApp::spawn().await;
    let (alice, tenant_a) = app.approved_tenant("alice@a.example", "Alpha Ltd").await;
    let (_bob, tenant_b) = app.approved_tenant("bob@b.example", "Beta Ltd").await;
    let app_b = app.application_id_of("bob@b.example");

    assert_eq!(alice.get(&format!("/w/{tenant_a}")).await.status(), StatusCode::OK);
    let b_pages = [
        "",
        "/logo",
        "/store/mini-program",
        "/store/mini-program/upgrade",
        "/store/mini-program/authorizations/some-state",
        "/store/requirements",
        "/store/mini-program/version",
        "/store/mini-program/screenshots/some-media",
        "/wallet",
        "/wallet/readiness",
        "/wallet/wechatpay/apply",
        "/wallet/self-test/some-payment",
        "/sales/settings",
        "/sales/buyers",
        "/sales/buyers/some-buyer",
        "/sales/orders",
        "/sales/orders/new",
        "/sales/orders/some-order",
        "/sales/collections",
        "/sales/collections/new",
        "/sales/collections/some-collection",
        "/sales/requests/some-request",
        // official account (issue 12)
        "/store/official-account",
        "/store/official-account/link",
        "/store/official-account/authorizations/some-state",
        "/store/official-account/notifications",
        "/store/guide",
        // live selling (issue 13)
        "/live-selling",
        // the team (issue 14)
        "/members",
    ];
    let b_actions = [
        "/store/mini-program/authorize",
        "/store/mini-program/reauthorize",
        "/store/mini-program/unbind",
        "/store/mini-program/refresh",
        "/store/requirements/check",
        "/store/requirements/plugins/fix",
        "/store/requirements/plugins/confirm",
        "/store/mini-program/submit",
        "/store/mini-program/publish",
        "/store/mini-program/withdraw",
        "/store/mini-program/expedite",
        "/store/mini-program/roll-back",
        "/store/mini-program/check-review",
        "/wallet/wechatpay/check",
        "/wallet/wechatpay/replace",
        "/wallet/wechatpay/binding",
        "/wallet/alipay",
        "/wallet/self-test",
        "/sales/settings",
        "/sales/buyers",
        "/sales/orders",
        "/sales/orders/some-order/pay",
        "/sales/orders/some-order/cancel",
        "/sales/collections",
        "/sales/collections/some-collection/refund",
        "/sales/requests/some-request/qr",
        // official account (issue 12)
        "/store/official-account/authorize",
        "/store/official-account/reauthorize",
        "/store/official-account/unbind",
        "/store/official-account/link",
        "/store/official-account/unlink",
        "/store/official-account/notifications/templates",
        // live selling (issue 13)
        "/live-selling/check",
        "/live-selling/apply",
        "/live-selling/brand",
        "/live-selling/category",
        "/live-selling/product",
        "/live-selling/resubmit",
        "/live-selling/order",
        "/live-selling/advance",
        "/live-selling/finish",
        "/live-selling/scene",
        "/live-selling/sharer_bind",
        "/live-selling/sharer_unbind",
        "/live-selling/promoter_add",
        "/live-selling/promoter_remove",
        // the team (issue 14)
        "/members/invite",
        "/members/leave",
        "/members/invitations/some-invitation/resend",
        "/members/invitations/some-invitation/revoke",
        "/members/some-user/remove",
        "/members/some-user/role",
    ];
    for path in b_pages.iter().map(|p| format!("/w/{tenant_b}{p}")).chain(["/w/does-not-exist".to_string()]) {
        let page = alice.get(&path).await;
        assert_eq!(page.status(), StatusCode::NOT_FOUND, "{path}");
        page.assert_lacks("Beta Ltd");
    }
    for path in b_actions.iter().map(|p| format!("/w/{tenant_b}{p}")) {
        let page = alice.post(&path, &[("confirmed", "1"), ("appid_hint", "")]).await;
        assert_eq!(page.status(), StatusCode::NOT_FOUND, "{path}");
        page.assert_lacks("Beta Ltd");
    }
    for path in [
        "/operator".to_string(),
        "/operator/applications".to_string(),
        format!("/operator/applications/{app_b}"),
        format!("/operator/applications/{app_b}/logo"),
        "/operator/audit".to_string(),
        "/operator/tenants".to_string(),
        "/operator/platform".to_string(),
        "/operator/platform/requirements".to_string(),
        "/operator/templates".to_string(),
        "/operator/campaigns".to_string(),
        "/operator/campaigns/some-campaign".to_string(),
        "/operator/campaigns/some-campaign/progress".to_string(),
        "/operator/payments".to_string(),
        "/operator/official-accounts".to_string(),
        "/operator/capabilities".to_string(),
    ] {
        let page = alice.get(&path).await;
        assert_eq!(page.status(), StatusCode::FORBIDDEN, "{path}");
        page.assert_lacks("Beta Ltd");
    }
    for path in [
        format!("/operator/applications/{app_b}/approve"),
        format!("/operator/applications/{app_b}/reject"),
        "/operator/platform/settings".to_string(),
        "/operator/platform/requirements".to_string(),
        "/operator/platform/requirements/defaults".to_string(),
        "/operator/platform/refresh-token".to_string(),
        "/operator/platform/authorize".to_string(),
        "/operator/templates/1/release".to_string(),
        "/operator/templates/1/delete".to_string(),
        "/operator/templates/drafts/1/add".to_string(),
        "/operator/campaigns".to_string(),
        "/operator/campaigns/some-campaign/pause".to_string(),
        "/operator/campaigns/some-campaign/resume".to_string(),
        "/operator/campaigns/some-campaign/cancel".to_string(),
        "/operator/campaigns/some-campaign/go".to_string(),
        "/operator/campaigns/some-campaign/retry".to_string(),
        "/operator/payments".to_string(),
        "/operator/payments/check".to_string(),
        "/operator/official-accounts".to_string(),
        "/operator/capabilities/trade_component".to_string(),
    ] {
        let page = alice.post(&path, &[("reason", "x")]).await;
        assert_eq!(page.status(), StatusCode::FORBIDDEN, "{path}");
    }
    // The applicant pages only ever show the caller's own application.
    let own = alice.get("/apply/logo").await;
    assert_eq!(own.status(), StatusCode::NOT_FOUND, "Alpha uploaded no logo; Beta's is not served");
}

#[tokio::test]
async fn signed_out_visitors_are_sent_to_the_login() {
    let app = TestApp::spawn().await;
    let (_, tenant) = app.approved_tenant("carol@c.example", "Gamma Ltd").await;
    let b = app.browser();
    let official_account = format!("/w/{tenant}/store/official-account");
    for path in [
        format!("/w/{tenant}"),
        "/apply".into(),
        "/apply/status".into(),
        "/operator/applications".into(),
        official_account.clone(),
        format!("{official_account}/link"),
        format!("/w/{tenant}/live-selling"),
        "/operator/capabilities".into(),
        // accounts and the team (issue 14)
        format!("/w/{tenant}/members"),
        "/account".into(),
        "/account/two-factor".into(),
    ] {
        let page = b.get(&path).await;
        assert_eq!(page.url().path(), "/login", "{path}");
        page.assert_lacks("Gamma Ltd");
    }
}

#[tokio::test]
async fn operators_have_no_application_and_applicants_no_queue() {
    let app = TestApp::spawn().await;
    let op = app.operator().await;
    assert_eq!(op.get("/apply/role").await.status(), StatusCode::FORBIDDEN);
    let applicant = app.submitted_applicant("dave@d.example", "Delta Ltd").await;
    assert_eq!(applicant.get("/operator/applications").await.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn signed_out_posts_to_account_and_team_actions_change_nothing() {
    let app = TestApp::spawn().await;
    let (_, tenant) = app.approved_tenant("erin@e.example", "Epsilon Ltd").await;
    let b = app.browser();
    for path in [
        "/account/password".to_string(),
        "/account/sessions/end-others".to_string(),
        "/account/sessions/some-session/end".to_string(),
        "/account/two-factor/setup".to_string(),
        "/account/two-factor/confirm".to_string(),
        "/account/two-factor/disable".to_string(),
        format!("/w/{tenant}/members/invite"),
        format!("/w/{tenant}/members/leave"),
    ] {
        let page = b.post(&path, &[("email", "x@e.example"), ("role", "member")]).await;
        assert_eq!(page.url().path(), "/login", "{path}");
    }
    assert!(app.db(|c| minihost::db::invitations::list_open(c, &tenant).unwrap()).is_empty());
}
