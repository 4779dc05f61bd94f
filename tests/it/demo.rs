//! `minihost demo-data`: the loaded tenants log in, see their bound mini program, and
//! only their own; a second load writes nothing.

use minihost::demo::{self, Loaded};
use reqwest::StatusCode;

use crate::helpers::TestApp;

const DEMO_PASSWORD: &str = "password-xyz-demo";

fn tenant_of(app: &TestApp, email: &str) -> String {
    app.db(|c| {
        let user = minihost::db::users::find_by_email(c, email).unwrap().unwrap();
        minihost::db::tenants::list_for_member(c, &user.id).unwrap().remove(0).id
    })
}

#[tokio::test]
async fn demo_tenants_see_their_bound_mini_program_and_only_theirs() {
    let app = TestApp::spawn().await;
    let loaded = app.db(|c| demo::load(c, 3, DEMO_PASSWORD).unwrap());
    assert_eq!(loaded, Loaded::Created { tenants: 3, first_email: "admin-00001@demo.example".into() });

    let b = app.browser();
    let home = b.log_in("admin-00002@demo.example", DEMO_PASSWORD).await;
    assert_eq!(home.status(), StatusCode::OK);
    let own = tenant_of(&app, "admin-00002@demo.example");
    assert_eq!(home.url().path(), format!("/w/{own}"), "the admin lands in the workspace");
    home.assert_contains("Demo Company 2");

    let tab = b.get(&format!("/w/{own}/store/mini-program")).await;
    assert_eq!(tab.status(), StatusCode::OK);
    tab.assert_contains(&demo::appid(2));
    tab.assert_contains("Reauthorize");
    tab.assert_contains("Demo Store 2");
    tab.assert_lacks(&demo::appid(1));
    tab.assert_lacks("no longer granted");
    tab.assert_contains("Verified on WeChat");

    let other = tenant_of(&app, "admin-00001@demo.example");
    assert_ne!(other, own);
    let foreign = b.get(&format!("/w/{other}/store/mini-program")).await;
    assert_eq!(foreign.status(), StatusCode::NOT_FOUND, "tenant 1's tab is not tenant 2's admin's");
    foreign.assert_lacks(&demo::appid(1));

    let again = app.db(|c| demo::load(c, 3, DEMO_PASSWORD).unwrap());
    assert_eq!(again, Loaded::AlreadyThere);
    let (users, bound, audits) = app.db(|c| {
        use diesel::prelude::*;
        use minihost::db::schema::{audit_log, mp_bindings, users};
        let users: i64 = users::table.filter(users::email.like("%@demo.example")).count().get_result(c).unwrap();
        let bound: i64 = mp_bindings::table.filter(mp_bindings::status.eq("active")).count().get_result(c).unwrap();
        let audits: i64 = audit_log::table.filter(audit_log::action.eq("demo.loaded")).count().get_result(c).unwrap();
        (users, bound, audits)
    });
    assert_eq!((users, bound, audits), (3, 3, 1), "the second load wrote nothing");
}
