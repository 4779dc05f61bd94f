//! The sandbox's trade component (`/shop/*`) and WeChat Shop link list over real HTTP, as
//! an independent WeChat client calls them: sign-ups closed with 1400007, the legacy flag,
//! statuses and errcodes of wave-2 notes §1, the reviewer with its encrypted pushes, and
//! the human page.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::mini_program::sandbox_post;
use crate::requirements::dev_get;
use crate::sandbox_manage::authorized_tokens;

const ACME_MP: &str = "wx5b1c0a3e7d2f4a01";
const HARBOR_MP: &str = "wx5b1c0a3e7d2f4a03";
const ALL_SETS: &[i64] = &[17, 18, 19, 25, 30, 31, 40];

struct Mp {
    base: String,
    token: String,
}

impl Mp {
    async fn authorize(app: &TestApp, appid: &str, funcs: &[i64]) -> Self {
        let (_, token) = authorized_tokens(app, appid, funcs).await;
        Self { base: app.base.clone(), token }
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let url = format!("{}/sandbox/wechat{path}?access_token={}", self.base, self.token);
        let resp = reqwest::Client::new().post(url).body(body.to_string()).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        resp.json().await.unwrap()
    }
}

#[track_caller]
fn errcode(v: &Value) -> i64 {
    v["errcode"].as_i64().unwrap_or(-99)
}

#[tokio::test]
async fn sign_ups_are_closed_and_only_legacy_mini_programs_are_connected() {
    let app = TestApp::spawn().await;
    let acme = Mp::authorize(&app, ACME_MP, ALL_SETS).await;
    let harbor = Mp::authorize(&app, HARBOR_MP, ALL_SETS).await;
    for mp in [&acme, &harbor] {
        assert_eq!(errcode(&mp.post("/shop/register/apply", json!({})).await), 1_400_007);
    }
    assert_eq!(errcode(&acme.post("/shop/register/check", json!({})).await), 1_040_003);
    assert_eq!(errcode(&acme.post("/shop/register/apply_scene", json!({ "scene_group_id": 1 })).await), 1_400_007);
    assert_eq!(errcode(&acme.post("/shop/cat/get", json!({})).await), 1_040_003);
    let check = harbor.post("/shop/register/check", json!({})).await;
    assert_eq!(errcode(&check), 0, "{check}");
    assert_eq!(check["data"]["access_info"]["spu_audit_success"], json!(0));
    assert_eq!(check["data"]["scene_group_list"], json!([]));
    // The flag is the sandbox's to change.
    let v = sandbox_post(&app, &format!("/sandbox/dev/shop/{ACME_MP}"), json!({ "legacy": true })).await;
    assert_eq!(v["legacy"], json!(true));
    assert_eq!(errcode(&acme.post("/shop/register/check", json!({})).await), 0);
    // The WeChat Shop link list needs permission set 185.
    assert_eq!(errcode(&acme.post("/wxa/vip/shop/list/get", json!({})).await), 61007);
    let acme185 = Mp::authorize(&app, ACME_MP, &[18, 185]).await;
    let list = acme185.post("/wxa/vip/shop/list/get", json!({})).await;
    assert_eq!(list["list"][0]["shop_appid"], json!("wxshop5b1c0a3e7d01"), "{list}");
    let harbor185 = Mp::authorize(&app, HARBOR_MP, &[18, 185]).await;
    assert_eq!(errcode(&harbor185.post("/wxa/vip/shop/list/get", json!({})).await), 2, "no link");
}

#[tokio::test]
async fn the_access_tasks_follow_the_notes_statuses_and_errcodes() {
    let app = TestApp::spawn().await;
    let mp = Mp::authorize(&app, HARBOR_MP, ALL_SETS).await;
    assert_eq!(
        errcode(&mp.post("/shop/register/finish_access_info", json!({ "access_info_item": 6 })).await),
        1_040_041
    );
    let spu = json!({ "out_product_id": "p1", "title": "Walnuts", "third_cat_id": 1201, "skus": [] });
    assert_eq!(errcode(&mp.post("/shop/spu/add", spu.clone()).await), 1_000_005, "category not approved");

    let cat = mp
        .post(
            "/shop/audit/audit_category",
            json!({ "audit_req": { "category_info": { "level1": 1001, "level2": 1101, "level3": 1201 } } }),
        )
        .await;
    let audit_id = cat["audit_id"].as_str().unwrap().to_string();
    let result = mp.post("/shop/audit/result", json!({ "audit_id": audit_id })).await;
    assert_eq!(result["data"]["status"], json!(0), "reviewing");
    let refused = sandbox_post(
        &app,
        &format!("/sandbox/dev/shop/{HARBOR_MP}/decide"),
        json!({ "kind": "category", "id": audit_id, "decision": "reject" }),
    )
    .await;
    assert!(refused["error"].as_str().unwrap().contains("reason"), "{refused}");
    sandbox_post(
        &app,
        &format!("/sandbox/dev/shop/{HARBOR_MP}/decide"),
        json!({ "kind": "category", "id": audit_id, "decision": "approve" }),
    )
    .await;
    assert_eq!(mp.post("/shop/audit/result", json!({ "audit_id": audit_id })).await["data"]["status"], json!(1));

    let added = mp.post("/shop/spu/add", spu).await;
    let product_id = added["data"]["product_id"].as_i64().expect("product_id is a number");
    let got = mp.post("/shop/spu/get", json!({ "product_id": product_id })).await;
    assert_eq!(got["data"]["spu"]["edit_status"], json!(2), "under review");
    sandbox_post(
        &app,
        &format!("/sandbox/dev/shop/{HARBOR_MP}/decide"),
        json!({ "kind": "spu", "id": product_id.to_string(), "decision": "reject", "reason": "主图不清晰" }),
    )
    .await;
    let got = mp.post("/shop/spu/get", json!({ "out_product_id": "p1" })).await;
    assert_eq!(
        (got["data"]["spu"]["edit_status"].clone(), got["data"]["spu"]["audit_info"]["reject_reason"].clone()),
        (json!(3), json!("主图不清晰"))
    );
    // The push went to the console's message URL, encrypted, with WeChat's body element.
    let pushes = dev_get(&app, "/pushes").await;
    let spu_push = pushes["pushes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["info_type"] == "open_product_spu_audit")
        .cloned()
        .unwrap();
    assert!(spu_push["payload"].as_str().unwrap().contains("<OpenProductSpuAudit>"), "{spu_push}");

    // Orders: created → paid → shipped → received; out of order is 1000000.
    let order = json!({ "out_order_id": "o1", "openid": "x", "order_detail": { "price_info": { "order_price": 1 } } });
    mp.post("/shop/order/add", order).await;
    assert_eq!(
        errcode(
            &mp.post(
                "/shop/delivery/send",
                json!({ "out_order_id": "o1", "delivery_list": [{ "delivery_id": "SF", "waybill_id": "1" }] })
            )
            .await
        ),
        1_000_000
    );
    assert_eq!(errcode(&mp.post("/shop/order/pay", json!({ "out_order_id": "o1", "action_type": 1, "transaction_id": "t", "pay_time": "2026-12-07 10:00:00" })).await), 0);
    let companies = mp.post("/shop/delivery/get_company_list", json!({})).await;
    assert!(companies["company_list"].as_array().unwrap().iter().any(|c| c["delivery_id"] == "SF"));
    assert_eq!(
        errcode(
            &mp.post(
                "/shop/delivery/send",
                json!({ "out_order_id": "o1", "delivery_list": [{ "delivery_id": "NOPE", "waybill_id": "1" }] })
            )
            .await
        ),
        40097
    );
    assert_eq!(
        errcode(
            &mp.post(
                "/shop/delivery/send",
                json!({ "out_order_id": "o1", "delivery_list": [{ "delivery_id": "SF", "waybill_id": "1" }] })
            )
            .await
        ),
        0
    );
    assert_eq!(errcode(&mp.post("/shop/delivery/recieve", json!({ "out_order_id": "o1" })).await), 0);
    assert_eq!(
        errcode(&mp.post("/shop/ecaftersale/add", json!({ "out_order_id": "o1", "out_aftersale_id": "a1" })).await),
        0
    );
    for item in [7, 8, 9, 10, 11] {
        assert_eq!(
            errcode(&mp.post("/shop/register/finish_access_info", json!({ "access_info_item": item })).await),
            0,
            "{item}"
        );
    }
    assert_eq!(
        errcode(&mp.post("/shop/register/apply_scene", json!({ "scene_group_id": 1 })).await),
        1_040_041,
        "products not finished"
    );
    let check = mp.post("/shop/register/check", json!({})).await;
    assert_eq!(check["data"]["access_info"]["ec_order_finished"], json!(1));
    assert_eq!(check["data"]["access_info"]["open_product_task_finished"], json!(0));
}

#[tokio::test]
async fn the_human_page_edits_the_flag_and_lists_reviews() {
    let app = TestApp::spawn().await;
    let resp = reqwest::get(format!("{}/sandbox/shop/", app.base)).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body = resp.text().await.unwrap();
    assert!(body.contains("On the legacy trade component"), "{body}");
    assert!(body.contains("Bright Harbor Foods"));
    let home = reqwest::get(format!("{}/sandbox/", app.base)).await.unwrap().text().await.unwrap();
    assert!(home.contains("/sandbox/shop/"), "linked from /sandbox/");
    assert!(home.contains(&format!("action=\"/sandbox/shop/legacy/{HARBOR_MP}\"")), "the flag on the account's card");
    assert!(home.contains("On the legacy custom trade component"));
    let state = dev_get(&app, &format!("/shop/{HARBOR_MP}")).await;
    assert_eq!(state["legacy"], json!(true));

    // The flag from the account's card on /sandbox/, with the sandbox's CSRF token.
    let b = app.browser();
    b.get("/sandbox/").await;
    let forged = b.post_without_csrf(&format!("/sandbox/shop/legacy/{ACME_MP}"), &[("legacy", "1")]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let saved = b.post(&format!("/sandbox/shop/legacy/{ACME_MP}"), &[("legacy", "1")]).await;
    saved.assert_contains("The account was saved.");
    assert_eq!(dev_get(&app, &format!("/shop/{ACME_MP}")).await["legacy"], json!(true));
    assert_eq!(
        dev_get(&app, &format!("/shop/{ACME_MP}")).await["shop_appid"],
        json!("wxshop5b1c0a3e7d01"),
        "the link is kept"
    );

    // The reviewer's forms: a rejection needs a reason.
    let mp = Mp::authorize(&app, HARBOR_MP, ALL_SETS).await;
    let brand = mp
        .post("/shop/audit/audit_brand", json!({ "audit_req": { "brand_info": { "brand_wording": "Harbor" } } }))
        .await;
    let audit_id = brand["audit_id"].as_str().unwrap().to_string();
    let shop_page = b.get("/sandbox/shop/").await;
    shop_page.assert_contains(&audit_id);
    let fields = [("kind", "brand"), ("id", audit_id.as_str()), ("decision", "reject"), ("reason", "")];
    b.post(&format!("/sandbox/shop/decide/{HARBOR_MP}"), &fields).await.assert_contains("A rejection needs a reason");
    let fields = [("kind", "brand"), ("id", audit_id.as_str()), ("decision", "reject"), ("reason", "模糊")];
    b.post(&format!("/sandbox/shop/decide/{HARBOR_MP}"), &fields).await.assert_contains("The review was decided.");
    let result = mp.post("/shop/audit/result", json!({ "audit_id": audit_id })).await;
    assert_eq!((result["data"]["status"].clone(), result["data"]["reject_reason"].clone()), (json!(9), json!("模糊")));
}
