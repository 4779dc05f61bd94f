//! The one route table, used by the server and by the tests.

use actix_web::{HttpRequest, HttpResponse, web};

use crate::error::{AppError, ErrorPage};

pub use apply::DETAILS_LIMITS;

mod account;
mod account_page;
mod apply;
mod assets;
mod authorize_page;
mod campaigns;
mod checkout;
mod emails;
mod health;
mod home;
mod invitations;
// live selling (issue 13)
mod live_selling;
mod mailbox;
mod mini_program;
mod oa_settings;
mod observability;
mod official_account;
mod operator;
mod password;
mod pay_notify;
mod payments;
mod platform;
mod releases;
mod requirements;
mod sales;
mod team;
mod template_needs;
mod templates;
mod tenants;
mod two_factor;
pub mod upload;
mod version_card;
mod wallet;
mod wechat_callback;
mod wechat_events;
mod workspace;

/// Registers every console route. The sandbox (when on) is mounted separately.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route("/static/{file}", web::get().to(assets::serve))
        .route("/", web::get().to(home::index))
        .route("/locale", web::post().to(account::set_locale))
        .route("/signup", web::get().to(account::signup_form))
        .route("/signup", web::post().to(account::signup))
        .route("/signup/check-email", web::post().to(account::check_email))
        .route("/login", web::get().to(account::login_form))
        .route("/login", web::post().to(account::login))
        .route("/logout", web::post().to(account::logout))
        // Accounts (issue 14): the login's second step, "Forgot password?", the account page,
        // the second factor, invitations.
        .route("/login/code", web::get().to(two_factor::login_code_form))
        .route("/login/code", web::post().to(two_factor::login_code))
        .route("/password/forgot", web::get().to(password::forgot_form))
        .route("/password/forgot", web::post().to(password::forgot))
        .route("/password/reset/{token}", web::get().to(password::reset_form))
        .route("/password/reset/{token}", web::post().to(password::reset))
        .route("/account", web::get().to(account_page::page))
        .route("/account/password", web::post().to(account_page::change_password))
        .route("/account/sessions/end-others", web::post().to(account_page::end_other_sessions))
        .route("/account/sessions/{public_id}/end", web::post().to(account_page::end_session))
        .route("/account/two-factor", web::get().to(two_factor::page))
        .route("/account/two-factor/setup", web::post().to(two_factor::setup))
        .route("/account/two-factor/confirm", web::post().to(two_factor::confirm))
        .route("/account/two-factor/disable", web::post().to(two_factor::disable))
        .route("/invitations/{token}", web::get().to(invitations::show))
        .route("/invitations/{token}/signup", web::post().to(invitations::sign_up))
        .route("/wechat/authorized", web::get().to(wechat_callback::authorized))
        .service(
            web::scope("/wechat")
                .app_data(web::PayloadConfig::new(crate::wechat::push::MAX_BODY_BYTES))
                .app_data(web::QueryConfig::default().error_handler(|err, _| {
                    actix_web::error::InternalError::from_response(
                        err,
                        actix_web::HttpResponse::BadRequest().body("bad query string"),
                    )
                    .into()
                }))
                .route("/component/events", web::post().to(wechat_events::component))
                .route("/mp/{appid}/events", web::post().to(wechat_events::mini_program)),
        )
        .service(
            web::scope("/pay")
                .app_data(web::PayloadConfig::new(pay_notify::MAX_BODY_BYTES))
                .route("/wechat/notify", web::post().to(pay_notify::wechat))
                .route("/wechat/notify", web::get().to(pay_notify::probe))
                .route("/alipay/notify", web::post().to(pay_notify::alipay))
                .route("/alipay/notify", web::get().to(pay_notify::probe))
                .route("/mp/{token}", web::post().to(checkout::mini_program)),
        )
        .route("/checkout/{token}", web::get().to(checkout::page))
        .route("/checkout/{token}", web::post().to(checkout::pay))
        // Live selling (issue 13): before the `/w/{tenant_id}` and `/operator` scopes, which
        // would otherwise claim these paths.
        .service(
            web::scope("/w/{tenant_id}/live-selling")
                .route("", web::get().to(live_selling::page))
                .route("/{action}", web::post().to(live_selling::act)),
        )
        .service(
            web::scope("/operator/capabilities")
                .route("", web::get().to(live_selling::register))
                .route("/{key}", web::post().to(live_selling::save_capability)),
        )
        .service(
            web::scope("/apply")
                .route("", web::get().to(apply::resume))
                .route("/role", web::get().to(apply::role_form))
                .route("/role", web::post().to(apply::choose_role))
                .route("/details", web::get().to(apply::details_form))
                .route("/details", web::post().to(apply::save_details))
                .route("/review", web::get().to(apply::review))
                .route("/submit", web::post().to(apply::submit))
                .route("/previous", web::post().to(apply::previous))
                .route("/status", web::get().to(apply::status))
                .route("/logo", web::get().to(apply::logo)),
        )
        .service(
            web::scope("/w/{tenant_id}")
                .route("", web::get().to(workspace::home))
                .route("/logo", web::get().to(workspace::logo))
                // The team (issue 14)
                .route("/members", web::get().to(team::page))
                .route("/members/invite", web::post().to(team::invite))
                .route("/members/leave", web::post().to(team::leave))
                .route("/members/invitations/{id}/{action}", web::post().to(team::invitation_action))
                .route("/members/{user_id}/{action}", web::post().to(team::member_action))
                .route("/store/mini-program", web::get().to(mini_program::tab))
                .route("/store/mini-program/authorize", web::post().to(mini_program::authorize))
                .route("/store/mini-program/reauthorize", web::post().to(mini_program::reauthorize))
                .route("/store/mini-program/authorizations/{state}", web::get().to(mini_program::status))
                .route("/store/mini-program/unbind", web::post().to(mini_program::unbind))
                .route("/store/mini-program/refresh", web::post().to(mini_program::refresh))
                .route("/store/mini-program/upgrade", web::get().to(requirements::upgrade))
                .route("/store/mini-program/version", web::get().to(releases::card))
                .route("/store/mini-program/submit", web::post().to(releases::submit))
                .route("/store/mini-program/publish", web::post().to(releases::publish))
                .route("/store/mini-program/withdraw", web::post().to(releases::withdraw))
                .route("/store/mini-program/expedite", web::post().to(releases::expedite))
                .route("/store/mini-program/roll-back", web::post().to(releases::roll_back))
                .route("/store/mini-program/check-review", web::post().to(releases::check))
                .route("/store/mini-program/screenshots/{media_id}", web::get().to(releases::screenshot))
                .route("/wallet", web::get().to(wallet::page))
                .route("/wallet/readiness", web::get().to(wallet::readiness))
                .route("/wallet/wechatpay/apply", web::get().to(wallet::apply_form))
                .route("/wallet/wechatpay/apply", web::post().to(wallet::apply))
                .route("/wallet/wechatpay/check", web::post().to(wallet::check_application))
                .route("/wallet/wechatpay/replace", web::post().to(wallet::replace_application))
                .route("/wallet/wechatpay/binding", web::post().to(wallet::verify_binding))
                .route("/wallet/alipay", web::post().to(wallet::save_alipay))
                .route("/wallet/self-test", web::post().to(wallet::start_self_test))
                .route("/wallet/self-test/{payment_id}", web::get().to(wallet::self_test))
                .route("/sales/settings", web::get().to(sales::settings_page))
                .route("/sales/settings", web::post().to(sales::save_settings))
                .route("/sales/buyers", web::get().to(sales::buyers))
                .route("/sales/buyers", web::post().to(sales::add_buyer))
                .route("/sales/buyers/{id}", web::get().to(sales::buyer))
                .route("/sales/orders", web::get().to(sales::orders))
                .route("/sales/orders", web::post().to(sales::create_order))
                .route("/sales/orders/new", web::get().to(sales::new_order))
                .route("/sales/orders/{id}", web::get().to(sales::order))
                .route("/sales/orders/{id}/pay", web::post().to(sales::pay_order))
                .route("/sales/orders/{id}/cancel", web::post().to(sales::cancel_order))
                .route("/sales/collections", web::get().to(sales::collections))
                .route("/sales/collections", web::post().to(sales::create_collection))
                .route("/sales/collections/new", web::get().to(sales::new_collection))
                .route("/sales/collections/{id}", web::get().to(sales::collection))
                .route("/sales/collections/{id}/refund", web::post().to(sales::refund))
                .route("/sales/requests/{id}", web::get().to(sales::request))
                .route("/sales/requests/{id}/qr", web::post().to(sales::request_qr))
                .route("/store/requirements", web::get().to(requirements::page))
                .route("/store/requirements/check", web::post().to(requirements::check))
                .route("/store/requirements/{item}/fix", web::post().to(requirements::fix))
                .route("/store/requirements/{item}/confirm", web::post().to(requirements::confirm))
                // Official account tab (issue 12)
                .route("/store/official-account", web::get().to(official_account::tab))
                .route("/store/official-account/authorize", web::post().to(official_account::authorize))
                .route("/store/official-account/reauthorize", web::post().to(official_account::reauthorize))
                .route("/store/official-account/authorizations/{state}", web::get().to(official_account::status))
                .route("/store/official-account/unbind", web::post().to(official_account::unbind))
                .route("/store/official-account/link", web::get().to(official_account::link_state))
                .route("/store/official-account/link", web::post().to(official_account::link))
                .route("/store/official-account/unlink", web::post().to(official_account::unlink))
                .route("/store/official-account/notifications", web::get().to(official_account::notifications))
                .route(
                    "/store/official-account/notifications/templates",
                    web::post().to(official_account::add_templates),
                )
                .route("/store/guide", web::get().to(official_account::guide)),
        )
        .service(
            web::scope("/operator")
                .route("", web::get().to(operator::index))
                .route("/applications", web::get().to(operator::queue))
                .route("/applications/{id}", web::get().to(operator::application))
                .route("/applications/{id}/logo", web::get().to(operator::logo))
                .route("/applications/{id}/approve", web::post().to(operator::approve))
                .route("/applications/{id}/reject", web::post().to(operator::reject))
                .route("/audit", web::get().to(operator::audit))
                .route("/emails", web::get().to(emails::list))
                .route("/emails/{id}/send-again", web::post().to(emails::send_again))
                .route("/tenants", web::get().to(tenants::list))
                .route("/platform", web::get().to(platform::page))
                .route("/platform/settings", web::post().to(platform::save_settings))
                .route("/platform/requirements", web::get().to(template_needs::page))
                .route("/platform/requirements", web::post().to(template_needs::save))
                .route("/platform/requirements/defaults", web::post().to(template_needs::restore_defaults))
                .route("/templates", web::get().to(templates::page))
                .route("/templates/drafts/{draft_id}/add", web::post().to(templates::add))
                .route("/templates/{template_id}/release", web::post().to(templates::release))
                .route("/templates/{template_id}/delete", web::post().to(templates::delete))
                .route("/campaigns", web::get().to(campaigns::list))
                .route("/campaigns", web::post().to(campaigns::start))
                .route("/campaigns/{id}", web::get().to(campaigns::detail))
                .route("/campaigns/{id}/progress", web::get().to(campaigns::progress))
                .route("/campaigns/{id}/{action}", web::post().to(campaigns::act))
                .route("/payments", web::get().to(payments::page))
                .route("/payments", web::post().to(payments::save))
                .route("/payments/check", web::post().to(payments::check))
                .route("/platform/refresh-token", web::post().to(platform::refresh_token))
                .route("/platform/authorize", web::post().to(platform::authorize))
                .route("/platform/events/{id}", web::get().to(platform::event))
                .route("/platform/events/{id}/replay", web::post().to(platform::replay))
                // official account settings (issue 12)
                .route("/official-accounts", web::get().to(oa_settings::page))
                .route("/official-accounts", web::post().to(oa_settings::save)),
        );
}

/// The operations endpoints, mounted before the sandbox and the console (outside their
/// session and CSRF middleware): `/metrics` and `/csp-report`.
pub fn configure_ops(
    cfg: &mut web::ServiceConfig,
    pool: web::Data<crate::db::DbPool>,
    access: web::Data<crate::config::MetricsAccess>,
) {
    cfg.service(web::resource("/metrics").app_data(pool).app_data(access).route(web::get().to(observability::metrics)))
        .service(
            web::resource("/csp-report")
                .app_data(web::PayloadConfig::new(observability::MAX_REPORT_BYTES))
                .route(web::post().to(observability::csp_report)),
        );
}

/// Dev tools mounted only in sandbox mode (the sandbox itself is `crate::sandbox`).
pub fn configure_sandbox_dev(cfg: &mut web::ServiceConfig) {
    cfg.route("/sandbox/mailbox", web::get().to(mailbox::list))
        .route("/sandbox/mailbox/{id}", web::get().to(mailbox::show));
}

/// Any path nothing else answered.
pub async fn not_found(_req: HttpRequest) -> HttpResponse {
    let status = actix_web::http::StatusCode::NOT_FOUND;
    ErrorPage::new(status, "error.not_found_title", "error.not_found").respond(status)
}

/// A local path to return to, never another site.
pub(crate) fn safe_return_path(candidate: Option<&str>) -> String {
    match candidate {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') => p.to_string(),
        _ => "/".to_string(),
    }
}

pub(crate) fn bad_form(e: impl std::fmt::Display) -> AppError {
    AppError::BadRequest(e.to_string())
}

/// Decodes `body` as each URL-encoded form of the console, the way `web::Form` does
/// (serde_urlencoded), and runs the checks the handlers run on the decoded values before
/// any database work. Public for the fuzz targets (`fuzz/`), which feed it arbitrary bytes;
/// nothing here may panic. Returns how many of the forms decoded.
pub fn decode_forms(body: &[u8]) -> usize {
    use std::collections::HashMap;
    use validator::Validate;

    fn decode<T: serde::de::DeserializeOwned>(body: &[u8]) -> Option<T> {
        serde_urlencoded::from_bytes(body).ok()
    }
    let mut decoded = 0;
    let mut seen = |ok: bool| decoded += usize::from(ok);
    if let Some(f) = decode::<account::SignupForm>(body) {
        let _ = f.normalized().validate();
        seen(true);
    }
    seen(decode::<account::LoginForm>(body).is_some());
    if let Some(f) = decode::<account::LocaleForm>(body) {
        let _ = crate::i18n::Locale::parse(&f.lang);
        let _ = safe_return_path(f.return_to.as_deref());
        seen(true);
    }
    seen(decode::<apply::RoleForm>(body).is_some());
    seen(decode::<apply::PreviousForm>(body).is_some());
    seen(decode::<sales::SettingsForm>(body).is_some());
    seen(decode::<sales::BuyerForm>(body).is_some());
    if let Some(f) = decode::<sales::OrderForm>(body) {
        let inputs: Vec<_> = (0..sales::LINE_SLOTS).map(|i| f.line(i)).collect();
        let _ = crate::domain::commerce::check_lines(&inputs);
        seen(true);
    }
    seen(decode::<sales::ChannelForm>(body).is_some());
    seen(decode::<sales::CollectionForm>(body).is_some());
    seen(decode::<sales::RefundForm>(body).is_some());
    seen(decode::<templates::ReleaseForm>(body).is_some());
    seen(decode::<payments::ProviderForm>(body).is_some());
    seen(decode::<campaigns::StartForm>(body).is_some());
    seen(decode::<checkout::PayForm>(body).is_some());
    seen(decode::<live_selling::CapabilityFields>(body).is_some());
    seen(decode::<official_account::LinkForm>(body).is_some());
    seen(decode::<oa_settings::SettingsForm>(body).is_some());
    seen(decode::<operator::RejectForm>(body).is_some());
    seen(decode::<platform::SettingsForm>(body).is_some());
    seen(decode::<wallet::AlipayForm>(body).is_some());
    seen(decode::<wallet::SelfTestForm>(body).is_some());
    seen(decode::<requirements::ConfirmForm>(body).is_some());
    if let Some(f) = decode::<password::ForgotForm>(body) {
        let _ = f.validate();
        seen(true);
    }
    if let Some(f) = decode::<password::ResetForm>(body) {
        let _ = f.validate();
        seen(true);
    }
    if let Some(f) = decode::<account_page::PasswordForm>(body) {
        let _ = f.validate();
        seen(true);
    }
    if let Some(f) = decode::<two_factor::CodeForm>(body) {
        let _ = crate::domain::credentials::normalize_totp(&f.code);
        seen(true);
    }
    seen(decode::<two_factor::DisableForm>(body).is_some());
    if let Some(f) = decode::<team::InviteForm>(body) {
        let _ = f.validate();
        let _ = crate::domain::team::Role::parse(&f.role);
        seen(true);
    }
    if let Some(f) = decode::<team::RoleForm>(body) {
        let _ = crate::domain::team::Role::parse(&f.role);
        seen(true);
    }
    seen(decode::<emails::SendAgainForm>(body).is_some());
    if let Some(fields) = decode::<HashMap<String, String>>(body) {
        let _ = crate::domain::template_needs::NeedsForm::from_fields(&fields).validate();
        let merchant =
            crate::domain::merchant_form::MerchantForm::from_fields(|k| fields.get(k).cloned().unwrap_or_default());
        let _ = crate::domain::merchant_form::check(&merchant);
        for value in fields.values() {
            let _ = crate::domain::commerce::parse_yuan(value);
            let _ = crate::domain::binding::parse_ids(value);
            let _ = crate::domain::official_account::parse_needed_templates(value);
        }
        seen(true);
    }
    decoded
}

impl From<crate::services::accounts::AccountError> for AppError {
    fn from(e: crate::services::accounts::AccountError) -> Self {
        use crate::services::accounts::AccountError;
        match e {
            AccountError::Db(e) => e.into(),
            AccountError::Pool(e) => e.into(),
            other => AppError::Internal(anyhow::Error::new(other)),
        }
    }
}
