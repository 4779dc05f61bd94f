//! A workspace's team: invitations accepted by signing up or logging in, revoked or sent
//! again; removing members, leaving, roles; the last admin kept; other tenants' ids refused.

use reqwest::StatusCode;

use crate::helpers::{Browser, PASSWORD, TestApp};

/// The invitation link in the newest e-mail to `to`.
fn invitation_link(app: &TestApp, to: &str) -> String {
    app.link_in_email(to, "/invitations/")
}

async fn invite(admin: &Browser, tenant: &str, email: &str, role: &str) {
    let page = admin.post(&format!("/w/{tenant}/members/invite"), &[("email", email), ("role", role)]).await;
    assert_eq!(page.url().path(), format!("/w/{tenant}/members"), "{}", page.body);
    page.assert_contains("The invitation is sent.");
}

fn audit_actions(app: &TestApp, tenant: &str) -> Vec<String> {
    app.db(|c| {
        let filter = minihost::db::audit::AuditFilter {
            action: Some("team.".into()),
            tenant_id: Some(tenant.to_string()),
            ..Default::default()
        };
        minihost::db::audit::list(c, &filter, 100, 0).unwrap().into_iter().map(|e| e.action).collect()
    })
}

fn member_id(app: &TestApp, email: &str) -> String {
    app.db(|c| minihost::db::users::find_by_email(c, email).unwrap().unwrap().id)
}

#[tokio::test]
async fn an_invited_colleague_signs_up_and_joins() {
    let app = TestApp::spawn().await;
    let (admin, tenant) = app.approved_tenant("boss@alpha.example", "Alpha Ltd").await;
    let members = admin.get(&format!("/w/{tenant}/members")).await;
    members.assert_contains("Invite a colleague");
    members.assert_contains("boss@alpha.example");
    members.assert_contains("Administrator");
    // Linked from the navigation and from the home page's members card.
    let home = admin.get(&format!("/w/{tenant}")).await;
    home.assert_contains(&format!(r#"href="/w/{tenant}/members""#));
    home.assert_contains("Manage members");

    invite(&admin, &tenant, "New.Colleague@alpha.example", "member").await;
    let pending = admin.get(&format!("/w/{tenant}/members")).await;
    pending.assert_contains("new.colleague@alpha.example");
    pending.assert_contains("Send again");
    pending.assert_contains("Revoke");
    let mails = app.emails_to("new.colleague@alpha.example");
    assert_eq!(mails.len(), 1);
    assert!(mails[0].subject.contains("Alpha Ltd"));
    assert!(mails[0].body_text.contains("seven") || mails[0].body_text.contains("7 days"));
    let link = invitation_link(&app, "new.colleague@alpha.example");

    let colleague = app.browser();
    let page = colleague.get(&link).await;
    assert_eq!(page.status(), StatusCode::OK);
    page.assert_contains("Join Alpha Ltd");
    page.assert_contains(r#"value="new.colleague@alpha.example""#);
    page.assert_contains("readonly");
    // The address is the invitation's whatever the form says.
    let joined = colleague
        .post(
            &format!("{link}/signup"),
            &[
                ("email", "someone.else@evil.example"),
                ("name", "New Colleague"),
                ("password", PASSWORD),
                ("accept_terms", "on"),
            ],
        )
        .await;
    assert_eq!(joined.url().path(), format!("/w/{tenant}"), "{}", joined.body);
    joined.assert_contains("You joined the workspace.");
    assert!(app.db(|c| minihost::db::users::find_by_email(c, "someone.else@evil.example").unwrap()).is_none());
    let list = colleague.get(&format!("/w/{tenant}/members")).await;
    list.assert_contains("New Colleague");
    list.assert_contains("Member");
    list.assert_contains("Ask an administrator to invite colleagues.");
    list.assert_lacks("Send invitation");
    // The link worked once.
    let again = app.browser().get(&link).await;
    assert_eq!(again.status(), StatusCode::GONE);
    again.assert_contains("This invitation does not work any more");
    let actions = audit_actions(&app, &tenant);
    assert!(actions.contains(&"team.invited".to_string()));
    assert!(actions.contains(&"team.invitation_accepted".to_string()));
}

#[tokio::test]
async fn an_invited_colleague_with_an_account_logs_in_and_joins() {
    let app = TestApp::spawn().await;
    let (admin, tenant) = app.approved_tenant("boss@beta.example", "Beta Ltd").await;
    app.browser().sign_up("has.account@beta.example", "Has Account").await;
    invite(&admin, &tenant, "has.account@beta.example", "admin").await;
    let link = invitation_link(&app, "has.account@beta.example");

    let b = app.browser();
    b.get(&link).await.assert_contains("Log in to join");
    let login = b.get("/login").await;
    login.assert_contains("Log in to accept your invitation to the workspace.");
    let landed = b.log_in("has.account@beta.example", PASSWORD).await;
    assert_eq!(landed.url().path(), format!("/w/{tenant}"), "{}", landed.body);
    landed.assert_contains("You joined the workspace.");
    // Invited as admin: manages the team.
    b.get(&format!("/w/{tenant}/members")).await.assert_contains("Invite a colleague");
    // Signing up with that address from the invitation page is refused with a way to log in.
    invite(&admin, &tenant, "third@beta.example", "member").await;
    app.browser().sign_up("third@beta.example", "Third").await;
    let link3 = invitation_link(&app, "third@beta.example");
    let taken = app
        .browser()
        .post(&format!("{link3}/signup"), &[("name", "Third"), ("password", PASSWORD), ("accept_terms", "on")])
        .await;
    assert_eq!(taken.status(), StatusCode::UNPROCESSABLE_ENTITY);
    taken.assert_contains("log in to accept the invitation");
}

#[tokio::test]
async fn a_signed_in_user_joins_at_once_and_another_address_is_refused() {
    let app = TestApp::spawn().await;
    let (admin, tenant) = app.approved_tenant("boss@gamma.example", "Gamma Ltd").await;
    let invitee = app.browser();
    invitee.sign_up("invitee@gamma.example", "Invitee").await;
    let other = app.browser();
    other.sign_up("other@gamma.example", "Other").await;
    invite(&admin, &tenant, "invitee@gamma.example", "member").await;
    let link = invitation_link(&app, "invitee@gamma.example");

    let refused = other.get(&link).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    refused.assert_contains("This invitation is for someone else");
    refused.assert_contains("invitee@gamma.example");
    assert_eq!(other.get(&format!("/w/{tenant}")).await.status(), StatusCode::NOT_FOUND);

    let joined = invitee.get(&link).await;
    assert_eq!(joined.url().path(), format!("/w/{tenant}"));
    joined.assert_contains("Gamma Ltd");
}

#[tokio::test]
async fn a_revoked_invitation_stops_working_and_send_again_makes_a_new_link() {
    let app = TestApp::spawn().await;
    let (admin, tenant) = app.approved_tenant("boss@delta.example", "Delta Ltd").await;
    invite(&admin, &tenant, "maybe@delta.example", "member").await;
    let first = invitation_link(&app, "maybe@delta.example");
    // A second invitation to the same address is refused beside the field.
    let dup = admin
        .post(&format!("/w/{tenant}/members/invite"), &[("email", "maybe@delta.example"), ("role", "member")])
        .await;
    assert_eq!(dup.status(), StatusCode::UNPROCESSABLE_ENTITY);
    dup.assert_contains("already has a pending invitation");
    dup.assert_contains(r#"value="maybe@delta.example""#);
    // An existing member cannot be invited.
    let member = admin
        .post(&format!("/w/{tenant}/members/invite"), &[("email", "boss@delta.example"), ("role", "member")])
        .await;
    member.assert_contains("already belongs to a member");
    let bad = admin.post(&format!("/w/{tenant}/members/invite"), &[("email", "nope"), ("role", "member")]).await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    bad.assert_contains("Enter an e-mail address");

    let id: String = app.db(|c| minihost::db::invitations::list_open(c, &tenant).unwrap()[0].id.clone());
    let sent = admin.post(&format!("/w/{tenant}/members/invitations/{id}/resend"), &[]).await;
    sent.assert_contains("sent again with a new link");
    let second = invitation_link(&app, "maybe@delta.example");
    assert_ne!(first, second);
    assert_eq!(app.browser().get(&first).await.status(), StatusCode::GONE);
    assert_eq!(app.browser().get(&second).await.status(), StatusCode::OK);

    let revoked = admin.post(&format!("/w/{tenant}/members/invitations/{id}/revoke"), &[]).await;
    revoked.assert_contains("The invitation is revoked");
    assert_eq!(app.browser().get(&second).await.status(), StatusCode::GONE);
    admin.get(&format!("/w/{tenant}/members")).await.assert_contains("No invitations are waiting.");
    let actions = audit_actions(&app, &tenant);
    for action in ["team.invited", "team.invitation_sent_again", "team.invitation_revoked"] {
        assert!(actions.contains(&action.to_string()), "{action} in {actions:?}");
    }
}

#[tokio::test]
async fn an_invitation_expires_after_seven_days() {
    let app = TestApp::spawn().await;
    let (admin, tenant) = app.approved_tenant("boss@eps.example", "Eps Ltd").await;
    invite(&admin, &tenant, "slow@eps.example", "member").await;
    let link = invitation_link(&app, "slow@eps.example");
    let (created, expires): (i64, i64) = app.db(|c| {
        let i = &minihost::db::invitations::list_open(c, &tenant).unwrap()[0];
        (i.created_at, i.expires_at)
    });
    assert_eq!(expires - created, 7 * 86400);
    app.db(|c| {
        use diesel::prelude::*;
        use minihost::db::schema::invitations as i;
        diesel::update(i::table).set(i::expires_at.eq(minihost::now())).execute(c).unwrap();
    });
    assert_eq!(app.browser().get(&link).await.status(), StatusCode::GONE);
    admin.get(&format!("/w/{tenant}/members")).await.assert_contains("Expired");
    // An expired invitation may be replaced by a new one.
    invite(&admin, &tenant, "slow@eps.example", "member").await;
}

#[tokio::test]
async fn admins_remove_members_and_members_cannot_manage_the_team() {
    let app = TestApp::spawn().await;
    let (admin, tenant) = app.approved_tenant("boss@zeta.example", "Zeta Ltd").await;
    invite(&admin, &tenant, "worker@zeta.example", "member").await;
    let worker = app.browser();
    worker
        .post(
            &format!("{}/signup", invitation_link(&app, "worker@zeta.example")),
            &[("name", "Worker"), ("password", PASSWORD), ("accept_terms", "on")],
        )
        .await;
    let (boss_id, worker_id) = (member_id(&app, "boss@zeta.example"), member_id(&app, "worker@zeta.example"));
    // A member cannot invite, remove, change roles or handle invitations.
    let forbidden = [
        (format!("/w/{tenant}/members/invite"), vec![("email", "x@zeta.example"), ("role", "member")]),
        (format!("/w/{tenant}/members/{boss_id}/remove"), vec![]),
        (format!("/w/{tenant}/members/{worker_id}/role"), vec![("role", "admin")]),
    ];
    for (path, fields) in forbidden {
        assert_eq!(worker.post(&path, &fields).await.status(), StatusCode::FORBIDDEN, "{path}");
    }
    worker.get(&format!("/w/{tenant}/members")).await.assert_lacks("Remove</button>");

    let removed = admin.post(&format!("/w/{tenant}/members/{worker_id}/remove"), &[]).await;
    removed.assert_contains("The member is removed from the workspace.");
    removed.assert_lacks("worker@zeta.example");
    assert_eq!(worker.get(&format!("/w/{tenant}")).await.status(), StatusCode::NOT_FOUND);
    // Removing again: no such member.
    assert_eq!(
        admin.post(&format!("/w/{tenant}/members/{worker_id}/remove"), &[]).await.status(),
        StatusCode::NOT_FOUND
    );
    assert!(audit_actions(&app, &tenant).contains(&"team.member_removed".to_string()));
}

#[tokio::test]
async fn the_last_admin_can_neither_leave_nor_be_demoted_and_others_may_leave() {
    let app = TestApp::spawn().await;
    let (admin, tenant) = app.approved_tenant("only@eta.example", "Eta Ltd").await;
    let me = member_id(&app, "only@eta.example");
    let page = admin.get(&format!("/w/{tenant}/members")).await;
    page.assert_contains("You are the only administrator");
    page.assert_lacks("Leave workspace</button>");

    let leave = admin.post(&format!("/w/{tenant}/members/leave"), &[]).await;
    assert_eq!(leave.status(), StatusCode::CONFLICT);
    leave.assert_contains("The workspace needs at least one administrator");
    let demote = admin.post(&format!("/w/{tenant}/members/{me}/role"), &[("role", "member")]).await;
    assert_eq!(demote.status(), StatusCode::CONFLICT);
    demote.assert_contains("The workspace needs at least one administrator");
    let self_remove = admin.post(&format!("/w/{tenant}/members/{me}/remove"), &[]).await;
    assert_eq!(self_remove.status(), StatusCode::CONFLICT);
    assert_eq!(admin.get(&format!("/w/{tenant}")).await.status(), StatusCode::OK, "still a member");

    // A member leaves freely; once another admin exists, the first may leave too.
    invite(&admin, &tenant, "second@eta.example", "member").await;
    let second = app.browser();
    second
        .post(
            &format!("{}/signup", invitation_link(&app, "second@eta.example")),
            &[("name", "Second"), ("password", PASSWORD), ("accept_terms", "on")],
        )
        .await;
    let second_id = member_id(&app, "second@eta.example");
    let promoted = admin.post(&format!("/w/{tenant}/members/{second_id}/role"), &[("role", "admin")]).await;
    promoted.assert_contains("The role is changed.");
    let left = admin.post(&format!("/w/{tenant}/members/leave"), &[]).await;
    left.assert_contains("You left the workspace.");
    assert_eq!(admin.get(&format!("/w/{tenant}")).await.status(), StatusCode::NOT_FOUND);
    // Now the second is the last admin.
    let stuck = second.post(&format!("/w/{tenant}/members/leave"), &[]).await;
    assert_eq!(stuck.status(), StatusCode::CONFLICT);
    let actions = audit_actions(&app, &tenant);
    assert!(actions.contains(&"team.role_changed".to_string()));
    assert!(actions.contains(&"team.member_left".to_string()));
}

#[tokio::test]
async fn another_tenants_members_and_invitations_are_not_found() {
    let app = TestApp::spawn().await;
    let (alice, tenant_a) = app.approved_tenant("alice@a.example", "Alpha Team").await;
    let (bob, tenant_b) = app.approved_tenant("bob@b.example", "Beta Team").await;
    invite(&bob, &tenant_b, "b-invitee@b.example", "member").await;
    let b_invitation: String = app.db(|c| minihost::db::invitations::list_open(c, &tenant_b).unwrap()[0].id.clone());
    let bob_id = member_id(&app, "bob@b.example");

    // Through Alpha's own URL, Beta's ids are not found.
    for path in [
        format!("/w/{tenant_a}/members/{bob_id}/remove"),
        format!("/w/{tenant_a}/members/{bob_id}/role"),
        format!("/w/{tenant_a}/members/invitations/{b_invitation}/revoke"),
        format!("/w/{tenant_a}/members/invitations/{b_invitation}/resend"),
    ] {
        let page = alice.post(&path, &[("role", "member")]).await;
        assert_eq!(page.status(), StatusCode::NOT_FOUND, "{path}");
        page.assert_lacks("Beta Team");
    }
    // Beta's members page and actions through Beta's URL: not found either.
    assert_eq!(alice.get(&format!("/w/{tenant_b}/members")).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        alice.post(&format!("/w/{tenant_b}/members/{bob_id}/remove"), &[]).await.status(),
        StatusCode::NOT_FOUND
    );
    // Nothing changed at Beta.
    assert_eq!(bob.get(&format!("/w/{tenant_b}")).await.status(), StatusCode::OK);
    assert_eq!(app.db(|c| minihost::db::invitations::list_open(c, &tenant_b).unwrap()).len(), 1);
}
