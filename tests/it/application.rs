//! The workspace application and the operator's review, end to end.

use minihost::db::audit::AuditFilter;
use reqwest::StatusCode;

use crate::helpers::{OPERATOR_EMAIL, PASSWORD, TINY_PNG, TestApp};

#[tokio::test]
async fn apply_reject_with_reason_resubmit_approve_and_land_in_the_workspace() {
    let app = TestApp::spawn().await;
    let applicant = app.browser();
    applicant.sign_up("founder@acme.example", "Founder").await;

    // Step 1: role.
    let details = applicant.post("/apply/role", &[("role", "technical_merchant")]).await;
    assert_eq!(details.url().path(), "/apply/details");
    details.assert_contains("Company Name");

    // Step 2: business details, with a logo.
    let review = applicant
        .post_details(
            &[
                ("company_name", "Acme Trading"),
                ("website", "https://acme.example"),
                ("contact_phone", "+86 10 1234 5678"),
                ("contact_email", "ops@acme.example"),
            ],
            Some(("logo.png", TINY_PNG)),
        )
        .await;
    assert_eq!(review.url().path(), "/apply/review");
    review.assert_contains("Acme Trading");
    review.assert_contains("https://acme.example");
    review.assert_contains(r#"src="/apply/logo""#);
    let logo = applicant.client.get(applicant.url("/apply/logo")).send().await.unwrap();
    assert_eq!(logo.headers()["content-type"], "image/png");
    assert_eq!(logo.bytes().await.unwrap().as_ref(), TINY_PNG);

    // Step 3: submit; step 4: under review.
    let status = applicant.post("/apply/submit", &[]).await;
    assert_eq!(status.url().path(), "/apply/status");
    status.assert_contains("Your application is under review");

    // The operator sees it in the queue and must give a reason to reject.
    let op = app.operator().await;
    let queue = op.get("/operator/applications").await;
    queue.assert_contains("Acme Trading");
    let app_id = app.application_id_of("founder@acme.example");
    let no_reason = op.post(&format!("/operator/applications/{app_id}/reject"), &[("reason", "   ")]).await;
    assert_eq!(no_reason.status(), StatusCode::UNPROCESSABLE_ENTITY);
    no_reason.assert_contains("Write the reason so the applicant knows what to fix.");
    let rejected =
        op.post(&format!("/operator/applications/{app_id}/reject"), &[("reason", "The website does not load.")]).await;
    assert_eq!(rejected.status(), StatusCode::OK);
    rejected.assert_contains("Rejected. The applicant has been notified");

    // The applicant is told by e-mail (dev mailbox) and on the status page after logging in again.
    let mailbox = app.browser().get("/sandbox/mailbox").await;
    mailbox.assert_contains("founder@acme.example");
    mailbox.assert_contains("needs changes");
    applicant.log_out().await;
    let back = applicant.log_in("founder@acme.example", PASSWORD).await;
    assert_eq!(back.url().path(), "/apply/status");
    back.assert_contains("Your application was not approved");
    back.assert_contains("The website does not load.");

    // Edit and resubmit: the form comes back filled in.
    let edit = applicant.get("/apply/details").await;
    edit.assert_contains(r#"value="Acme Trading""#);
    edit.assert_contains("You are editing an application that was returned to you");
    let review = applicant
        .post_details(
            &[
                ("company_name", "Acme Trading Co."),
                ("website", "https://www.acme.example"),
                ("contact_phone", ""),
                ("contact_email", ""),
            ],
            None,
        )
        .await;
    assert_eq!(review.url().path(), "/apply/review");
    let status = applicant.post("/apply/submit", &[]).await;
    status.assert_contains("Your application is under review");

    // Approve: the workspace exists, the applicant is its admin and lands on its home.
    let approved = op.post(&format!("/operator/applications/{app_id}/approve"), &[]).await;
    approved.assert_contains("Approved. The workspace exists");
    let home = applicant.get("/").await;
    assert!(home.url().path().starts_with("/w/"), "lands in the workspace: {}", home.url());
    home.assert_contains("Acme Trading Co.");
    home.assert_contains("Administrator");
    home.assert_contains("founder@acme.example");
    let mailbox = app.browser().get("/sandbox/mailbox").await;
    mailbox.assert_contains("was approved");

    // The history of submissions and decisions is kept.
    let history = app.db(|c| minihost::db::applications::history_of(c, &app_id).unwrap());
    let kinds: Vec<&str> = history.iter().map(|h| h.kind.as_str()).collect();
    assert_eq!(kinds, ["submitted", "rejected", "submitted", "approved"]);
    assert_eq!(history[1].reason.as_deref(), Some("The website does not load."));
    let op_view = op.get(&format!("/operator/applications/{app_id}")).await;
    op_view.assert_contains("The website does not load.");

    // Every change wrote an audit row, and the operator can browse them.
    let audit = app.db(|c| minihost::db::audit::list(c, &AuditFilter::default(), 500, 0).unwrap());
    for action in [
        "user.signed_up",
        "application.created",
        "application.role_selected",
        "application.logo_uploaded",
        "application.details_saved",
        "application.submitted",
        "application.rejected",
        "application.approved",
        "tenant.created",
    ] {
        assert!(audit.iter().any(|r| r.action == action), "audit row for {action}");
    }
    let rejected_row = audit.iter().find(|r| r.action == "application.rejected").unwrap();
    assert_eq!(rejected_row.actor_label, OPERATOR_EMAIL);
    assert!(rejected_row.before_state.as_deref().unwrap().contains("\"submitted\""));
    assert!(rejected_row.after_state.as_deref().unwrap().contains("The website does not load."));
    let page = op.get("/operator/audit?action=application.").await;
    page.assert_contains("application.approved");
    page.assert_lacks("<code>user.signed_up</code>");
}

#[tokio::test]
async fn previous_step_goes_back_and_leaving_resumes_where_it_stands() {
    let app = TestApp::spawn().await;
    let b = app.browser();
    b.sign_up("resume@example.com", "Resume").await;
    b.post("/apply/role", &[("role", "technical_merchant")]).await;
    // Back from details to role.
    let role = b.post("/apply/previous", &[("from", "2")]).await;
    assert_eq!(role.url().path(), "/apply/role");
    b.post("/apply/role", &[("role", "technical_merchant")]).await;
    b.post_details(&[("company_name", "Resume Ltd")], None).await;
    // Back from review keeps the details.
    let details = b.post("/apply/previous", &[("from", "3")]).await;
    assert_eq!(details.url().path(), "/apply/details");
    details.assert_contains(r#"value="Resume Ltd""#);
    // Leave and log in again: back on the details step.
    b.log_out().await;
    let again = b.log_in("resume@example.com", PASSWORD).await;
    assert_eq!(again.url().path(), "/apply/details");
    again.assert_contains(r#"value="Resume Ltd""#);
}

#[tokio::test]
async fn details_errors_show_beside_fields_and_keep_the_input() {
    let app = TestApp::spawn().await;
    let b = app.browser();
    b.sign_up("details@example.com", "D").await;
    b.post("/apply/role", &[("role", "technical_merchant")]).await;
    let page = b
        .post_details(
            &[
                ("company_name", "X"),
                ("website", "acme dot com"),
                ("contact_phone", "call me"),
                ("contact_email", "ops@"),
            ],
            None,
        )
        .await;
    assert_eq!(page.status(), StatusCode::UNPROCESSABLE_ENTITY);
    page.assert_contains("Enter the company name (2 to 100 characters).");
    page.assert_contains("Enter a full web address starting with http:// or https://.");
    page.assert_contains("Enter a phone number with digits only");
    page.assert_contains("Enter an e-mail address such as name@example.com.");
    page.assert_contains(r#"value="acme dot com""#);
    page.assert_contains(r#"value="call me""#);
    // Not saved.
    let step = app.db(|c| {
        let u = minihost::db::users::find_by_email(c, "details@example.com").unwrap().unwrap();
        minihost::db::applications::find_for_user(c, &u.id).unwrap().unwrap().step
    });
    assert_eq!(step, 2);
}

#[tokio::test]
async fn logos_are_checked_by_content_not_by_name() {
    let app = TestApp::spawn().await;
    let b = app.browser();
    b.sign_up("logo@example.com", "L").await;
    b.post("/apply/role", &[("role", "technical_merchant")]).await;
    let fake = b.post_details(&[("company_name", "Logo Ltd")], Some(("logo.png", b"<script>alert(1)</script>"))).await;
    assert_eq!(fake.status(), StatusCode::UNPROCESSABLE_ENTITY);
    fake.assert_contains("This file is not a PNG, JPEG or WebP image");
    fake.assert_contains(r#"value="Logo Ltd""#);
    let mut big = TINY_PNG.to_vec();
    big.resize(2 * 1024 * 1024 + 10, 0);
    let too_big = b.post_details(&[("company_name", "Logo Ltd")], Some(("big.png", &big))).await;
    assert_eq!(too_big.status(), StatusCode::UNPROCESSABLE_ENTITY);
    too_big.assert_contains("The logo is larger than 2 MB.");
    // A real PNG named .txt is accepted: the name does not matter.
    let ok = b.post_details(&[("company_name", "Logo Ltd")], Some(("logo.txt", TINY_PNG))).await;
    assert_eq!(ok.url().path(), "/apply/review");
}

#[tokio::test]
async fn an_upload_cut_short_inside_a_part_is_refused_at_once_and_nothing_is_kept() {
    // The fuzzer's finding: a body that ends inside a part, with fewer bytes left than a
    // boundary, used to leave the handler waiting for ever (actix-multipart answers Pending).
    let app = TestApp::spawn().await;
    let b = app.browser();
    b.sign_up("cut@example.com", "C").await;
    b.post("/apply/role", &[("role", "technical_merchant")]).await;
    let token = b.csrf().await;
    let body = "--cutboundary\r\nContent-Disposition: form-data; name=\"company_name\"\r\n\r\nCut Short Ltd\r\n--cut";
    let sent = b
        .client
        .post(b.url(&format!("/apply/details?csrf_token={token}")))
        .header("Content-Type", "multipart/form-data; boundary=cutboundary")
        .body(body)
        // Not a wait for something to happen: only a bound on a hang, far above the answer's time.
        .timeout(std::time::Duration::from_secs(30))
        .send()
        .await
        .expect("an answer, not a request held open");
    let page = b.read_response(sent).await;
    assert_eq!(page.status(), StatusCode::BAD_REQUEST);
    page.assert_contains("The form could not be read.");
    let (step, company) = app.db(|c| {
        let u = minihost::db::users::find_by_email(c, "cut@example.com").unwrap().unwrap();
        let a = minihost::db::applications::find_for_user(c, &u.id).unwrap().unwrap();
        (a.step, a.company_name)
    });
    assert_eq!(step, 2, "still on the details step");
    assert_ne!(company, "Cut Short Ltd", "nothing from the cut body is kept");
    // The same form, whole, goes through.
    let ok = b.post_details(&[("company_name", "Cut Short Ltd")], None).await;
    assert_eq!(ok.url().path(), "/apply/review");
}

#[tokio::test]
async fn without_a_logo_the_workspace_shows_the_first_character_on_a_kept_colour() {
    let app = TestApp::spawn().await;
    let (browser, tenant_id) = app.approved_tenant("cn@example.com", "北京示例科技有限公司").await;
    let home = browser.get(&format!("/w/{tenant_id}")).await;
    let color = app.db(|c| {
        let u = minihost::db::users::find_by_email(c, "cn@example.com").unwrap().unwrap();
        minihost::db::applications::find_for_user(c, &u.id).unwrap().unwrap().avatar_color
    });
    assert!(color.starts_with('#'));
    // The colour is painted by its class (no inline style under the Content-Security-Policy).
    let class = minihost::domain::avatar::color_class(&color);
    assert_ne!(class, "avatar-grey");
    home.assert_contains(&format!(r#"<span class="avatar huge {class}" aria-hidden="true">北</span>"#));
    // The colour does not change between visits.
    let again = browser.get(&format!("/w/{tenant_id}")).await;
    again.assert_contains(&format!("avatar huge {class}"));
    assert_eq!(browser.get(&format!("/w/{tenant_id}/logo")).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_submitted_application_cannot_be_edited_or_decided_twice() {
    let app = TestApp::spawn().await;
    let b = app.submitted_applicant("twice@example.com", "Twice Ltd").await;
    // The form steps show the status instead.
    let details = b.get("/apply/details").await;
    assert_eq!(details.url().path(), "/apply/status");
    let edit = b.post_details(&[("company_name", "Changed")], None).await;
    assert_eq!(edit.url().path(), "/apply/status");
    let name = app.db(|c| {
        let u = minihost::db::users::find_by_email(c, "twice@example.com").unwrap().unwrap();
        minihost::db::applications::find_for_user(c, &u.id).unwrap().unwrap().company_name
    });
    assert_eq!(name, "Twice Ltd");
    let app_id = app.application_id_of("twice@example.com");
    let op = app.operator().await;
    op.post(&format!("/operator/applications/{app_id}/approve"), &[]).await;
    let again = op.post(&format!("/operator/applications/{app_id}/reject"), &[("reason", "late")]).await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    again.assert_contains("already been decided");
    let tenants = app.db(|c| {
        use diesel::prelude::*;
        minihost::db::schema::tenants::table.count().get_result::<i64>(c).unwrap()
    });
    assert_eq!(tenants, 1, "one workspace, not two");
}
