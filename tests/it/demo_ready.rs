//! `minihost demo-data --sandbox --ready`: a ready demo mini program meets the default
//! template requirements, so the console's live check finds nothing due now and a
//! submission could proceed; a freshly bound one (without `--ready`) is blocked.

use minihost::domain::requirements::{Evaluation, Item, State};
use minihost::sandbox::demo::{DemoAccount, create_account};
use minihost::wechat::code::{Categories, GET_CATEGORY};

use crate::helpers::TestApp;
use crate::platform::wait_for_ticket;

/// The tenant bound to demo tenant `i`'s mini program.
fn tenant_of(app: &TestApp, i: usize) -> String {
    let appid = minihost::demo::appid(i);
    app.db(move |c| minihost::db::bindings::active_for_appid(c, &appid).unwrap().unwrap().tenant_id)
}

/// The console's live check, until no item is unknown (the first token may be on its way).
async fn checked(app: &TestApp, tenant: &str) -> Vec<Evaluation> {
    let mut last = Vec::new();
    for _ in 0..100 {
        let found = minihost::services::requirements::check(&app.platform, tenant).await.unwrap();
        last = found.expect("the tenant is bound").evaluations;
        if last.len() == Item::ALL.len() && last.iter().all(|e| e.state != State::Unknown) {
            return last;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the check kept finding unknown items: {last:?}");
}

/// `n` demo tenants (`minihost demo-data --sandbox`) whose mini programs are sandbox
/// accounts, tenant `i` ready for review (`--ready`) when `ready(i)`; once the sandbox's
/// first ticket has arrived, so their calls can get tokens.
pub(crate) async fn sandbox_demo_tenants(app: &TestApp, n: usize, ready: fn(usize) -> bool) {
    wait_for_ticket(app).await;
    let sealer = app.platform.sealer().clone();
    app.db(move |c| {
        let create = |c: &mut minihost::db::DbConn, mp: &minihost::demo::DemoMp| {
            let account = DemoAccount {
                appid: mp.appid,
                nick_name: mp.nick_name,
                user_name: mp.user_name,
                principal_name: mp.principal_name,
                position: 1000 + i32::try_from(mp.index).unwrap(),
                ready: ready(mp.index),
            };
            create_account(c, &account, minihost::now())
        };
        let accounts = minihost::demo::Accounts::Sandbox { sealer: &sealer, create: &create };
        minihost::demo::load_with(c, n, minihost::demo::DEFAULT_PASSWORD, &accounts).unwrap();
    });
}

#[tokio::test]
async fn ready_demo_mini_programs_meet_the_default_requirements_and_fresh_ones_do_not() {
    let app = TestApp::spawn().await;
    // Tenant 1 ready (as `--ready`), tenant 2 freshly bound (as `--sandbox` alone).
    sandbox_demo_tenants(&app, 2, |i| i == 1).await;

    let ready = checked(&app, &tenant_of(&app, 1)).await;
    let blocking: Vec<_> = ready.iter().filter(|e| e.state.blocks_submission()).collect();
    assert!(blocking.is_empty(), "a ready account has nothing due now: {blocking:?}");
    for e in &ready {
        assert!(matches!(e.state, State::Done | State::DueLater), "{:?} is {:?}: {:?}", e.item, e.state, e.problems);
    }
    // submit_audit's item_list comes from the approved categories.
    let categories: Categories = app.platform.get_authorizer(&minihost::demo::appid(1), GET_CATEGORY).await.unwrap();
    assert_eq!(categories.category_list.len(), 2, "{categories:?}");

    let fresh = checked(&app, &tenant_of(&app, 2)).await;
    let blocking: Vec<Item> = fresh.iter().filter(|e| e.state.blocks_submission()).map(|e| e.item).collect();
    for item in [Item::Categories, Item::Plugins, Item::PrivacyApi, Item::Domains, Item::PrivacyGuide] {
        assert!(blocking.contains(&item), "{item:?} blocks a fresh account: {blocking:?}");
    }
    let fresh: Categories = app.platform.get_authorizer(&minihost::demo::appid(2), GET_CATEGORY).await.unwrap();
    assert!(fresh.category_list.is_empty(), "{fresh:?}");
}
