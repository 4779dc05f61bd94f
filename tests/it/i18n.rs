//! English and Simplified Chinese.

use crate::helpers::TestApp;

#[tokio::test]
async fn the_language_follows_accept_language() {
    let app = TestApp::spawn().await;
    let zh = app.browser_with_language("zh-CN,zh;q=0.9,en;q=0.5").get("/signup").await;
    zh.assert_contains(r#"<html lang="zh-CN">"#);
    zh.assert_contains("创建账号");
    let en = app.browser_with_language("en-US,en;q=0.9").get("/signup").await;
    en.assert_contains("Create your account");
    en.assert_contains("Sign Up");
}

#[tokio::test]
async fn the_header_switch_is_remembered() {
    let app = TestApp::spawn().await;
    let b = app.browser_with_language("en");
    b.get("/login").await;
    let switched = b.post("/locale", &[("lang", "zh-CN"), ("return_to", "/signup")]).await;
    assert_eq!(switched.url().path(), "/signup");
    switched.assert_contains("创建账号");
    // Still Chinese on the next page, although the browser asks for English.
    b.get("/login").await.assert_contains("登录");
    // An outside return address is not followed.
    let back = b.post("/locale", &[("lang", "en"), ("return_to", "https://evil.example/")]).await;
    assert_eq!(back.url().host_str(), Some("127.0.0.1"));
    back.assert_contains("Log in");
}

#[tokio::test]
async fn the_status_page_speaks_chinese_too() {
    let app = TestApp::spawn().await;
    let b = app.browser_with_language("zh-CN");
    b.sign_up("zh@example.com", "张三").await.assert_contains("选择角色");
    b.post("/apply/role", &[("role", "technical_merchant")]).await;
    b.post_details(&[("company_name", "上海测试有限公司")], None).await.assert_contains("提交申请");
    b.post("/apply/submit", &[]).await.assert_contains("您的申请正在审核中");
}
