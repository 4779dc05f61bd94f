//! Bad input everywhere: every form of the console, submitted by someone allowed to use it,
//! with each field missing, oversized (100 KB), wrongly typed (letters, a huge number, a
//! negative one), carrying a script, or carrying bytes that are not UTF-8. Never a 5xx;
//! refused with a 4xx (a 422 shows the error beside the field and keeps the typed text,
//! escaped) and nothing stored; or, where free text is allowed, saved and shown escaped.
//!
//! To cover a new form, add one line to `FORMS`: who may use it, its path (with the
//! placeholders `Ctx::fill` knows), a submission the form accepts, and its fields' kinds.

use std::collections::BTreeMap;

use reqwest::StatusCode;

use crate::helpers::{Browser, OPERATOR_EMAIL, PASSWORD, Page, TestApp};

/// Who can reach a form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    /// Nobody logged in (a new browser for each submission).
    Anonymous,
    /// A signed-up applicant whose application is at the details step.
    Applicant,
    /// The admin of an approved workspace whose wallet is ready (`online_payment::ready_tenant`).
    Tenant,
    /// The platform's operator.
    Operator,
    /// A signed-up user of their own (no workspace), setting up the second factor: the
    /// account forms that change the password run as this user, apart from the others.
    Account,
    /// A signed-in user whose second factor is on.
    TwoFactor,
    /// Between the password and the code of a login with the second factor on (a new
    /// browser for each submission, logged in with the password first).
    SecondStep,
    /// The admin of an approved workspace filling in the WeChat Pay application.
    Merchant,
}

/// What a field takes, which decides what must be refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Required free text: any characters may be saved (shown escaped); missing or 100 KB is refused.
    Text,
    /// Optional free text: may also be left out.
    Optional,
    /// Required, with a format (a number, an amount, a choice, an id, an address, a date,
    /// JSON): anything that is not of the format is refused.
    Strict,
    /// Optional, with a format when present.
    OptionalStrict,
    /// Required free text never shown again (a password, a private key).
    Secret,
    /// A secret that, left out, keeps the one stored before (the page never shows it).
    StoredSecret,
    /// An optional code (an openid, an id of letters, digits, `-` and `_`): letters, digits and
    /// a minus are fine; a script, stray bytes or 100 KB are refused.
    OptionalCode,
    /// Any value or none is taken: a checkbox (ticked or not), a return path (anything that
    /// is not a local path falls back to the home page).
    Lenient,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Urlencoded,
    /// `multipart/form-data`, the CSRF token in the query string as the page's form sends it.
    Multipart,
}

struct Form {
    name: &'static str,
    who: Who,
    path: &'static str,
    encoding: Encoding,
    /// An inline check (HTMX): it answers 200 with the field and its error, and stores nothing.
    inline: bool,
    /// Whether the valid submission is tried first (not when it would use up the state the
    /// other submissions need, like deciding an application).
    baseline: bool,
    /// A submission the form accepts in the state the role's setup leaves.
    valid: &'static [(&'static str, &'static str)],
    fields: &'static [(&'static str, Kind)],
}

const fn form(
    name: &'static str,
    who: Who,
    path: &'static str,
    valid: &'static [(&'static str, &'static str)],
    fields: &'static [(&'static str, Kind)],
) -> Form {
    Form { name, who, path, encoding: Encoding::Urlencoded, inline: false, baseline: true, valid, fields }
}

use Kind::*;
use Who::*;

const ALIPAY_APP_ID: &str = minihost::sandbox::pay::ALIPAY_DEMO_APP_ID;

/// Every form of the console that takes fields. Placeholders: `{t}` the tenant, `{buyer}` a
/// buyer, `{order}` an unpaid online order, `{request}` its payment request, `{token}` the
/// buyer's checkout link, `{app}` a submitted application, `{template}` a template in the
/// library, `{reset}` a password-reset link's token, `{invitation}` an open invitation's
/// token (one per submission), `{member}` a member of the workspace, `{collection}` a paid
/// collection, `{email}` an e-mail in the outbox, `{second_step}` a user with the second
/// factor on (taking turns), `{n}` a number unique to the submission.
///
/// Forms without fields (a button and the CSRF token) have no line: "Fix" and "Check" of the
/// requirements, the official account's "Add templates", the campaigns' actions, the
/// wallet's "Replace application", "Check" and binding, the team's resend, revoke, remove
/// and leave, the sessions' "End", the second factor's "Set up".
const FORMS: &[Form] = &[
    // Public.
    form(
        "sign-up",
        Anonymous,
        "/signup",
        &[
            ("email", "new{n}@example.com"),
            ("name", "Ann Lee"),
            ("password", "a-long-password-1"),
            ("accept_terms", "on"),
        ],
        &[("email", Strict), ("name", Text), ("password", Secret), ("accept_terms", Strict)],
    ),
    Form {
        inline: true,
        ..form(
            "sign-up e-mail check",
            Anonymous,
            "/signup/check-email",
            &[("email", "check{n}@example.com")],
            &[("email", Strict)],
        )
    },
    form(
        "log in",
        Anonymous,
        "/login",
        &[("email", OPERATOR_EMAIL), ("password", crate::helpers::OPERATOR_PASSWORD)],
        &[("email", Strict), ("password", Secret)],
    ),
    form(
        "language",
        Anonymous,
        "/locale",
        &[("lang", "zh-CN"), ("return_to", "/login")],
        &[("lang", Strict), ("return_to", Lenient)],
    ),
    form("checkout", Anonymous, "/checkout/{token}", &[("channel", "alipay")], &[("channel", Strict)]),
    // Accounts. "Forgot password?" gives one answer whatever the address (no account here).
    form("forgot password", Anonymous, "/password/forgot", &[("email", "forgot{n}@example.com")], &[("email", Strict)]),
    // One link of one account: a valid new password uses it up (and closes the account's
    // other links), so no valid submission first; once a bad value that is a valid
    // password (26 digits) has used it, the later ones are refused as a used link (410).
    Form {
        baseline: false,
        ..form(
            "reset password",
            Anonymous,
            "/password/reset/{reset}",
            &[("password", "a-new-password-1")],
            &[("password", Secret)],
        )
    },
    // A fresh invitation for each submission (`{invitation}` is a list); the address is the
    // invitation's whatever the form says, so it is not a field here.
    form(
        "sign up from an invitation",
        Anonymous,
        "/invitations/{invitation}/signup",
        &[("name", "Colleague {n}"), ("password", "a-long-password-1"), ("accept_terms", "on")],
        &[("name", Text), ("password", Secret), ("accept_terms", Strict)],
    ),
    // The application.
    form("application role", Applicant, "/apply/role", &[("role", "technical_merchant")], &[("role", Strict)]),
    Form {
        name: "business details",
        who: Applicant,
        path: "/apply/details",
        encoding: Encoding::Multipart,
        inline: false,
        baseline: true,
        valid: &[
            ("company_name", "Acme Trading"),
            ("website", "https://acme.example"),
            ("contact_phone", "+86 10 1234 5678"),
            ("contact_email", "ops@acme.example"),
        ],
        fields: &[
            ("company_name", Text),
            ("website", OptionalStrict),
            ("contact_phone", OptionalStrict),
            ("contact_email", OptionalStrict),
        ],
    },
    form("application step back", Applicant, "/apply/previous", &[("from", "2")], &[("from", Strict)]),
    // The workspace.
    form(
        "payment settings",
        Tenant,
        "/w/{t}/sales/settings",
        &[
            ("online_enabled", "on"),
            ("order_payment", "on"),
            ("collection_payment", "on"),
            ("deposit_topup", "on"),
            ("status_unpaid", "on"),
            ("min_amount", "0.01"),
            ("max_amount", "50000.00"),
            ("group", ""),
        ],
        &[
            ("online_enabled", Lenient),
            ("min_amount", OptionalStrict),
            ("max_amount", OptionalStrict),
            ("group", Optional),
        ],
    ),
    form(
        "add buyer",
        Tenant,
        "/w/{t}/sales/buyers",
        &[("name", "Buyer {n}"), ("customer_group", "Silver"), ("openid", "oBuyer{n}")],
        &[("name", Text), ("customer_group", Optional), ("openid", OptionalCode)],
    ),
    form(
        "new sales order",
        Tenant,
        "/w/{t}/sales/orders",
        &[
            ("buyer_id", "{buyer}"),
            ("payment_method", "online"),
            ("product_0", "Oolong tea"),
            ("quantity_0", "2"),
            ("unit_price_0", "12.50"),
        ],
        &[
            ("buyer_id", Strict),
            ("payment_method", Strict),
            ("product_0", Text),
            ("quantity_0", Strict),
            ("unit_price_0", Strict),
        ],
    ),
    form(
        "new payment collection",
        Tenant,
        "/w/{t}/sales/collections",
        &[
            ("buyer_id", "{buyer}"),
            ("purpose", "deposit"),
            ("amount", "100.00"),
            ("note", "Top-up"),
            ("action", "qr"),
            ("channel", "alipay"),
        ],
        &[
            ("buyer_id", Strict),
            ("purpose", Strict),
            ("amount", Strict),
            ("note", Optional),
            ("action", Strict),
            ("channel", Strict),
        ],
    ),
    form(
        "QR code payment",
        Tenant,
        "/w/{t}/sales/requests/{request}/qr",
        &[("channel", "alipay")],
        &[("channel", Strict)],
    ),
    form(
        "Alipay account",
        Tenant,
        "/w/{t}/wallet/alipay",
        &[
            ("app_id", ALIPAY_APP_ID),
            ("private_key", minihost::sandbox::pay::ALIPAY_DEMO_APP_KEY_PEM),
            ("alipay_public_key", minihost::sandbox::pay::ALIPAY_PUBLIC_KEY_PEM),
        ],
        &[("app_id", Strict), ("private_key", Secret), ("alipay_public_key", Strict)],
    ),
    form("payment self-test", Tenant, "/w/{t}/wallet/self-test", &[("channel", "alipay")], &[("channel", Strict)]),
    // The team.
    form(
        "invite a colleague",
        Tenant,
        "/w/{t}/members/invite",
        &[("email", "colleague{n}@example.com"), ("role", "member")],
        &[("email", Strict), ("role", Strict)],
    ),
    form("change a member's role", Tenant, "/w/{t}/members/{member}/role", &[("role", "member")], &[("role", Strict)]),
    // A paid collection of 10.00, refunded a cent at a time.
    form(
        "refund",
        Tenant,
        "/w/{t}/sales/collections/{collection}/refund",
        &[("amount", "0.01"), ("reason", "Returned")],
        &[("amount", Strict), ("reason", Optional)],
    ),
    // "1" confirms, anything else withdraws. ("Fix" and "Check" take no fields.)
    form(
        "confirm a requirement by hand",
        Tenant,
        "/w/{t}/store/requirements/plugins/confirm",
        &[("confirmed", "1")],
        &[("confirmed", Lenient)],
    ),
    // The official account is authorized in the setup; two checkboxes.
    form(
        "link the official account",
        Tenant,
        "/w/{t}/store/official-account/link",
        &[("notify_users", "on"), ("show_profile", "on")],
        &[("notify_users", Lenient), ("show_profile", Lenient)],
    ),
    // Live selling, the mini program on the legacy trade component and checked in the setup.
    form(
        "live selling: brand",
        Tenant,
        "/w/{t}/live-selling/brand",
        &[("brand_wording", "Acme {n}")],
        &[("brand_wording", Text)],
    ),
    form(
        "live selling: category",
        Tenant,
        "/w/{t}/live-selling/category",
        &[("third_cat_id", "1201")],
        &[("third_cat_id", Strict)],
    ),
    // The category is not approved yet: WeChat refuses the product (409) whatever the title,
    // so no valid submission first; each bad value must still be refused before WeChat.
    Form {
        baseline: false,
        ..form(
            "live selling: product",
            Tenant,
            "/w/{t}/live-selling/product",
            &[("title", "Walnuts"), ("third_cat_id", "1201")],
            &[("title", Text), ("third_cat_id", Strict)],
        )
    },
    // No rejected product to resubmit, no order to ship, no step ready to finish: refused
    // by the rules (409) when the fields pass, so no valid submission first.
    Form {
        baseline: false,
        ..form(
            "live selling: resubmit a product",
            Tenant,
            "/w/{t}/live-selling/resubmit",
            &[("item", "none"), ("title", "Roasted walnuts")],
            &[("title", Text), ("item", Lenient)],
        )
    },
    Form {
        baseline: false,
        ..form(
            "live selling: ship a test order",
            Tenant,
            "/w/{t}/live-selling/advance",
            &[("item", "none"), ("delivery_id", "SF")],
            &[("delivery_id", Optional), ("item", Lenient)],
        )
    },
    Form {
        baseline: false,
        ..form(
            "live selling: finish a step",
            Tenant,
            "/w/{t}/live-selling/finish",
            &[("step", "products")],
            &[("step", Strict)],
        )
    },
    Form {
        baseline: false,
        ..form(
            "live selling: test order",
            Tenant,
            "/w/{t}/live-selling/order",
            &[("scene", "0")],
            &[("scene", Lenient)],
        )
    },
    form(
        "live selling: invite a sharer",
        Tenant,
        "/w/{t}/live-selling/sharer_bind",
        &[("openid", "o_sharer{n}"), ("name", "Sharer {n}")],
        &[("openid", OptionalCode), ("name", Text)],
    ),
    form(
        "live selling: add a promoter",
        Tenant,
        "/w/{t}/live-selling/promoter_add",
        &[("openid", "o_promoter{n}"), ("name", "Promoter {n}")],
        &[("openid", OptionalCode), ("name", Text)],
    ),
    // The operator console.
    Form {
        baseline: false,
        ..form(
            "reject application",
            Operator,
            "/operator/applications/{app}/reject",
            &[("reason", "The website does not load.")],
            &[("reason", Text)],
        )
    },
    form(
        "shared mini program",
        Operator,
        "/operator/platform/settings",
        &[("name", "Acme Shared Store"), ("short_name", "Acme"), ("icon", ""), ("required", "17,18,19,25,30,31,40")],
        &[("name", Text), ("short_name", Text), ("icon", OptionalStrict), ("required", Strict)],
    ),
    // Releasing uses up the template (its form goes away), so no valid submission first.
    Form {
        baseline: false,
        ..form(
            "release a template",
            Operator,
            "/operator/templates/{template}/release",
            &[("version", "9.{n}.0"), ("notes", "Faster checkout")],
            &[("version", Strict), ("notes", Optional)],
        )
    },
    // No tenant is pending a version in this setup, so the form is never valid as a whole:
    // each bad value must still be named beside its own field.
    Form {
        baseline: false,
        ..form(
            "start a campaign",
            Operator,
            "/operator/campaigns",
            &[
                ("target", "all"),
                ("list", ""),
                ("canary", "1"),
                ("after_canary", "wait"),
                ("concurrency", "2"),
                ("calls_per_minute", "10"),
            ],
            &[("canary", Strict), ("concurrency", Strict), ("calls_per_minute", Strict), ("list", Optional)],
        )
    },
    form(
        "official account settings",
        Operator,
        "/operator/official-accounts",
        &[
            ("required", "7,33"),
            ("same_subject", "5"),
            ("different_subject", "2"),
            ("per_month", "7"),
            ("templates", r#"[{"short_id":"TM00015","title":"Paid","fields":["first"]}]"#),
        ],
        &[
            ("required", Strict),
            ("same_subject", Strict),
            ("different_subject", Strict),
            ("per_month", Strict),
            ("templates", Strict),
        ],
    ),
    form(
        "capability status",
        Operator,
        "/operator/capabilities/wechat_shop",
        &[("status", "legacy"), ("since", "2026-12-01"), ("note", "Retired by WeChat")],
        &[("status", Strict), ("since", Strict), ("note", Text)],
    ),
    form(
        "WeChat Pay service provider",
        Operator,
        "/operator/payments",
        &[
            ("sp_mchid", minihost::sandbox::pay::SP_MCHID),
            ("sp_appid", minihost::sandbox::pay::SP_APPID),
            ("api_v3_key", minihost::sandbox::pay::SP_API_V3_KEY),
            ("private_key", minihost::sandbox::pay::SP_KEY_PEM),
            ("cert_serial", minihost::sandbox::pay::SP_CERT_SERIAL),
            ("cert_pem", minihost::sandbox::pay::SP_CERT_PEM),
            ("verify_mode", "certificate"),
            ("platform_pem", minihost::sandbox::pay::PLATFORM_CERT_PEM),
        ],
        &[
            ("sp_mchid", Strict),
            ("sp_appid", Strict),
            ("api_v3_key", StoredSecret),
            ("cert_serial", Strict),
            ("verify_mode", Strict),
        ],
    ),
    form(
        "template requirements",
        Operator,
        "/operator/platform/requirements",
        &[
            ("plugin_appid_0", "wx2b03c6e691cd7370"),
            ("plugin_name_0", "Live player"),
            ("category_first_0", "304"),
            ("category_second_0", "305"),
            ("category_name_0", "Food"),
            ("category_match_0", "exact"),
            ("domains", "https://api.acme.example"),
            ("api_name_0", "wx.chooseAddress"),
            ("api_reason_0", "Delivery address"),
            ("api_pictures_0", "/static/address.png"),
            ("guide_key_0", "Address"),
            ("guide_text_0", "To deliver your order"),
            ("notice_method", "A pop-up"),
            ("store_expire", "30"),
            ("review_warning_days", "14"),
        ],
        &[
            ("plugin_appid_0", Strict),
            ("plugin_name_0", Text),
            ("category_first_0", Strict),
            ("category_second_0", Strict),
            ("category_name_0", Text),
            ("category_match_0", OptionalStrict),
            ("domains", OptionalStrict),
            ("api_name_0", Strict),
            ("api_reason_0", Text),
            ("api_pictures_0", OptionalStrict),
            ("guide_key_0", Strict),
            ("guide_text_0", Text),
            ("notice_method", Text),
            ("store_expire", OptionalStrict),
            ("review_warning_days", Strict),
        ],
    ),
    // The list's filter to go back to (anything else: the whole list).
    form(
        "send an e-mail again",
        Operator,
        "/operator/emails/{email}/send-again",
        &[("status", "failed")],
        &[("status", Lenient)],
    ),
    // The account page. The new password is the same one, so the valid submission changes
    // nothing the later ones need; a bad current password counts as a failed login, so
    // after five the account is locked for a while (429) and the new-password values that
    // are valid passwords are refused too rather than stored.
    form(
        "change password",
        Account,
        "/account/password",
        &[("current_password", PASSWORD), ("new_password", PASSWORD)],
        &[("current_password", Secret), ("new_password", Secret)],
    ),
    // The right code depends on the time, and would turn the second factor on: only wrong
    // ones are tried.
    Form {
        baseline: false,
        ..form("confirm two-factor", Account, "/account/two-factor/confirm", &[("code", "000000")], &[("code", Strict)])
    },
    Form {
        baseline: false,
        ..form(
            "turn two-factor off",
            TwoFactor,
            "/account/two-factor/disable",
            &[("password", PASSWORD), ("code", "000000")],
            &[("password", Secret), ("code", Strict)],
        )
    },
    // A right code would log in: only wrong ones; the users take turns (`{second_step}` is a
    // list) so that none reaches the five failures that lock an account.
    Form {
        baseline: false,
        ..form("login code", SecondStep, "/login/code", &[("code", "000000")], &[("code", Strict)])
    },
    // The WeChat Pay application. The table sends text fields only, so the three images are
    // always missing and no submission is complete (nor submitted to WeChat Pay, which would
    // lock the form): each one must be refused with the errors beside the fields, the typed
    // text kept (the sensitive fields are shown masked, never echoed), nothing stored but the
    // draft, and never a 5xx.
    Form {
        name: "WeChat Pay application",
        who: Merchant,
        path: "/w/{t}/wallet/wechatpay/apply",
        encoding: Encoding::Multipart,
        inline: false,
        baseline: false,
        valid: &[
            ("subject_type", "enterprise"),
            ("merchant_name", "Acme Trading Co., Ltd."),
            ("license_number", "91440300MA5FXXXX1X"),
            ("legal_person", "Zhang San"),
            ("id_card_name", "Zhang San"),
            ("id_card_number", "11010519491231002X"),
            ("card_period_begin", "2019-06-01"),
            ("card_period_end", "2039-06-01"),
            ("merchant_shortname", "Acme"),
            ("service_phone", "0755-8888888"),
            ("scene_web", "on"),
            ("settlement_id", "716"),
            ("qualification_type", "Retail"),
            ("bank_account_type", "corporate"),
            ("account_name", "Acme Trading Co., Ltd."),
            ("account_bank", "China Merchants Bank"),
            ("bank_address_code", "440300"),
            ("account_number", "755912345678901"),
            ("contact_name", "Li Si"),
            ("mobile_phone", "13800138000"),
            ("contact_email", "finance@acme.example"),
        ],
        fields: &[
            ("subject_type", Strict),
            ("merchant_name", Text),
            ("license_number", Strict),
            ("legal_person", Text),
            ("id_card_name", StoredSecret),
            ("id_card_number", StoredSecret),
            ("card_period_begin", Strict),
            ("card_period_end", Strict),
            ("merchant_shortname", Text),
            ("service_phone", Strict),
            ("scene_web", Lenient),
            ("settlement_id", Strict),
            ("qualification_type", Text),
            ("bank_account_type", Strict),
            ("account_name", StoredSecret),
            ("account_bank", Text),
            ("bank_address_code", Strict),
            ("account_number", StoredSecret),
            ("contact_name", StoredSecret),
            ("mobile_phone", StoredSecret),
            ("contact_email", StoredSecret),
        ],
    },
];

/// The bad values, each tried on every field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bad {
    Missing,
    Oversized,
    Letters,
    Huge,
    Negative,
    Script,
    AttributeBreak,
    NotUtf8,
}

const BAD: [Bad; 8] = [
    Bad::Missing,
    Bad::Oversized,
    Bad::Letters,
    Bad::Huge,
    Bad::Negative,
    Bad::Script,
    Bad::AttributeBreak,
    Bad::NotUtf8,
];

const SCRIPT: &str = "<script>alert(1)</script>";
const ATTRIBUTE_BREAK: &str = "\"><img src=x onerror=alert(1)>";

impl Bad {
    /// The value as bytes (None: the field is left out).
    fn bytes(self) -> Option<Vec<u8>> {
        Some(match self {
            Bad::Missing => return None,
            Bad::Oversized => vec![b'x'; 100 * 1024],
            Bad::Letters => b"abc".to_vec(),
            Bad::Huge => b"99999999999999999999999999".to_vec(),
            Bad::Negative => b"-5".to_vec(),
            Bad::Script => SCRIPT.as_bytes().to_vec(),
            Bad::AttributeBreak => ATTRIBUTE_BREAK.as_bytes().to_vec(),
            Bad::NotUtf8 => b"\xFF\xFEok".to_vec(),
        })
    }

    /// Whether a field of `kind` must refuse this value.
    fn must_refuse(self, kind: Kind) -> bool {
        match (self, kind) {
            (_, Lenient) => false,
            (Bad::Oversized, _) => true,
            (Bad::Letters | Bad::Huge | Bad::Negative | Bad::Missing, OptionalCode) => false,
            (Bad::Missing, Text | Strict | Secret) => true,
            (Bad::Missing, _) => false,
            (_, Strict | OptionalStrict) => true,
            _ => false,
        }
    }
}

/// What a page shows of text the user typed (askama's HTML escaping).
fn escaped(text: &str) -> String {
    text.replace('&', "&#38;").replace('<', "&#60;").replace('>', "&#62;").replace('"', "&#34;").replace('\'', "&#39;")
}

/// Values the role's setup made, for the placeholders.
#[derive(Default)]
struct Ctx {
    values: BTreeMap<&'static str, String>,
    /// Placeholders with a value per submission (a link used up by a valid one): the
    /// submission numbered `n` gets the `n % len`-th, so consecutive submissions (one
    /// form's) each get their own as long as the list is longer than the form's tries.
    lists: BTreeMap<&'static str, Vec<String>>,
}

impl Ctx {
    fn fill(&self, text: &str, n: usize) -> String {
        let mut out = text.replace("{n}", &n.to_string());
        for (k, v) in &self.values {
            out = out.replace(&format!("{{{k}}}"), v);
        }
        for (k, list) in &self.lists {
            out = out.replace(&format!("{{{k}}}"), &list[n % list.len()]);
        }
        out
    }
}

/// How many rows each table holds, apart from the bookkeeping that changes on its own
/// (sessions, the login throttle, pushes and jobs of the background worker, the sandbox's
/// own tables).
fn row_counts(app: &TestApp) -> BTreeMap<String, i64> {
    use diesel::RunQueryDsl;
    use diesel::sql_types::{BigInt, Text};
    #[derive(diesel::QueryableByName)]
    struct Name {
        #[diesel(sql_type = Text)]
        name: String,
    }
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    const MOVING: [&str; 13] = [
        "user_sessions",
        "login_failures",
        "wechat_events",
        "event_nonces",
        "jobs",
        "leases",
        "platform_credentials",
        "call_pacers",
        "requirement_snapshots",
        "requirement_history",
        "requirements",
        "authorizers",
        "__diesel_schema_migrations",
    ];
    app.db(|c| {
        let list = match c {
            #[cfg(feature = "postgres")]
            minihost::db::DbConn::Postgres(_) => {
                "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public'"
            }
            #[allow(unreachable_patterns)]
            _ => "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        };
        let names: Vec<Name> = diesel::sql_query(list).load(c).unwrap();
        names
            .into_iter()
            .map(|t| t.name)
            .filter(|t| !t.starts_with("sandbox_") && !MOVING.contains(&t.as_str()))
            .map(|t| {
                let count: Count =
                    diesel::sql_query(format!("SELECT COUNT(*) AS n FROM \"{t}\"")).get_result(c).unwrap();
                (t, count.n)
            })
            .collect()
    })
}

fn urlencode(pairs: &[(String, Vec<u8>)]) -> String {
    let enc = |b: &[u8]| -> String {
        b.iter()
            .map(|&c| {
                if c.is_ascii_alphanumeric() || b"-_.*".contains(&c) {
                    (c as char).to_string()
                } else if c == b' ' {
                    "+".to_string()
                } else {
                    format!("%{c:02X}")
                }
            })
            .collect()
    };
    pairs.iter().map(|(k, v)| format!("{}={}", enc(k.as_bytes()), enc(v))).collect::<Vec<_>>().join("&")
}

/// Posts a submission as the form's page would, with the browser's CSRF token.
async fn submit(b: &Browser, form: &Form, path: &str, pairs: &[(String, Vec<u8>)]) -> Page {
    let token = b.csrf().await;
    let resp = match form.encoding {
        Encoding::Urlencoded => {
            let mut all = pairs.to_vec();
            all.push(("csrf_token".into(), token.into_bytes()));
            b.client
                .post(b.url(path))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(urlencode(&all))
                .send()
                .await
                .unwrap()
        }
        Encoding::Multipart => {
            let mut parts = reqwest::multipart::Form::new();
            for (k, v) in pairs {
                parts = parts.part(k.clone(), reqwest::multipart::Part::bytes(v.clone()));
            }
            b.client.post(b.url(&format!("{path}?csrf_token={token}"))).multipart(parts).send().await.unwrap()
        }
    };
    b.read_response(resp).await
}

/// A new browser for one submission: nobody logged in, or (`SecondStep`) a user with the
/// second factor on who has just given the password.
async fn fresh_browser(app: &TestApp, who: Who, ctx: &Ctx, n: usize) -> Browser {
    let b = app.browser();
    if who == SecondStep {
        let page = b.log_in(&ctx.fill("{second_step}", n), PASSWORD).await;
        assert_eq!(page.url().path(), "/login/code", "the password step passes: {}", page.body);
    }
    b
}

/// Tries every bad value on every field of the forms `who` can reach; returns what broke.
async fn try_forms(app: &TestApp, who: Who, b: Option<&Browser>, ctx: &Ctx) -> Vec<String> {
    let mut problems = Vec::new();
    let mut n = 0;
    for form in FORMS.iter().filter(|f| f.who == who) {
        if form.baseline {
            n += 1;
            let fresh = fresh_browser(app, who, ctx, n).await;
            let b = b.unwrap_or(&fresh);
            let pairs: Vec<(String, Vec<u8>)> =
                form.valid.iter().map(|(k, v)| (k.to_string(), ctx.fill(v, n).into_bytes())).collect();
            let page = submit(b, form, &ctx.fill(form.path, n), &pairs).await;
            if !page.status().is_success() || page.body.contains("field-error") {
                let shown: Vec<String> = ["field-error", "bad-text", "refused"]
                    .iter()
                    .flat_map(|class| page.body.match_indices(class).map(|(i, _)| i))
                    .map(|i| page.body[i..].chars().take(300).collect())
                    .collect();
                let shown = shown.join("\n");
                problems.push(format!(
                    "{}: the valid submission got {}: fix the table\n{shown}",
                    form.name,
                    page.status()
                ));
                continue;
            }
        }
        for &(field, kind) in form.fields {
            for bad in BAD {
                n += 1;
                let fresh;
                let b = match b {
                    Some(b) => b,
                    None => {
                        fresh = fresh_browser(app, who, ctx, n).await;
                        &fresh
                    }
                };
                let path = ctx.fill(form.path, n);
                let mut pairs: Vec<(String, Vec<u8>)> = form
                    .valid
                    .iter()
                    .filter(|(k, _)| *k != field)
                    .map(|(k, v)| (k.to_string(), ctx.fill(v, n).into_bytes()))
                    .collect();
                if let Some(value) = bad.bytes() {
                    pairs.push((field.to_string(), value));
                }
                let before = row_counts(app);
                let page = submit(b, form, &path, &pairs).await;
                let what = format!("{} ({path}): {field} {bad:?} → {}", form.name, page.status());
                let status = page.status();
                if status.is_server_error() {
                    problems.push(format!("{what}: a server error"));
                    continue;
                }
                for raw in [SCRIPT, "<img src=x onerror=alert(1)>"] {
                    if page.body.contains(raw) {
                        problems.push(format!("{what}: the page shows {raw:?} unescaped"));
                    }
                }
                if form.inline {
                    if status != StatusCode::OK {
                        problems.push(format!("{what}: an inline check answers 200"));
                    }
                    if bad.must_refuse(kind) && !page.body.contains("field-error") {
                        problems.push(format!("{what}: the inline check shows no error"));
                    }
                    if row_counts(app) != before {
                        problems.push(format!("{what}: an inline check stored rows"));
                    }
                } else if status.is_client_error() {
                    let after = row_counts(app);
                    if after != before {
                        let changed: Vec<_> =
                            after.iter().filter(|(t, n)| before.get(*t) != Some(n)).map(|(t, _)| t.as_str()).collect();
                        problems.push(format!("{what}: refused, yet rows were stored in {changed:?}"));
                    }
                    if status == StatusCode::UNPROCESSABLE_ENTITY {
                        if !page.body.contains("field-error") {
                            problems.push(format!("{what}: a 422 without an error beside a field"));
                        }
                        let typed = matches!(bad, Bad::Script | Bad::AttributeBreak | Bad::Letters);
                        if typed
                            && matches!(kind, Text | Optional)
                            && let Some(value) = bad.bytes()
                            && !page.body.contains(&escaped(&String::from_utf8_lossy(&value)))
                        {
                            problems.push(format!("{what}: the typed text is not kept"));
                        }
                    }
                } else if bad.must_refuse(kind) {
                    problems.push(format!("{what}: accepted ({})", page.url().path()));
                } else if page.url().path() == "/login" && who != Anonymous {
                    problems.push(format!("{what}: the session was lost"));
                }
            }
        }
    }
    problems
}

#[track_caller]
fn assert_none(problems: Vec<String>) {
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
}

#[tokio::test]
async fn public_and_application_forms_refuse_bad_input_without_storing_it() {
    let app = TestApp::spawn_with(crate::wallet::FAST).await;
    let (b, t, buyer) = crate::online_payment::ready_tenant(&app, "bad-public@acme.example").await;
    let order = crate::online_payment::create_order(&b, &t, &buyer, &[("Tea", "1", "10")]).await;
    let token = crate::online_payment::online_payment(&b, &t, &order).await;
    let mut ctx = Ctx::default();
    ctx.values.insert("token", token);
    // A reset link of an account of its own.
    app.browser().sign_up("bad-reset@acme.example", "Reset").await;
    let forgot = app.browser().post("/password/forgot", &[("email", "bad-reset@acme.example")]).await;
    assert_eq!(forgot.status(), StatusCode::OK, "{}", forgot.body);
    let reset = app.link_in_email("bad-reset@acme.example", "/password/reset/");
    ctx.values.insert("reset", reset.trim_start_matches("/password/reset/").to_string());
    // Open invitations to the workspace, more than the form's submissions.
    let mut invitations = Vec::new();
    for i in 0..30 {
        let to = format!("bad-invitee{i}@acme.example");
        let sent = b.post(&format!("/w/{t}/members/invite"), &[("email", &to), ("role", "member")]).await;
        assert_eq!(sent.status(), StatusCode::OK, "{}", sent.body);
        let link = app.link_in_email(&to, "/invitations/");
        invitations.push(link.trim_start_matches("/invitations/").to_string());
    }
    ctx.lists.insert("invitation", invitations);
    let mut problems = try_forms(&app, Anonymous, None, &ctx).await;

    let applicant = app.browser();
    applicant.sign_up("bad-applicant@acme.example", "Applicant").await;
    applicant.post("/apply/role", &[("role", "technical_merchant")]).await;
    problems.extend(try_forms(&app, Applicant, Some(&applicant), &ctx).await);
    assert_none(problems);
}

#[tokio::test]
async fn workspace_forms_refuse_bad_input_without_storing_it() {
    let app = TestApp::spawn_with(crate::wallet::FAST).await;
    let (b, t, buyer) = crate::online_payment::ready_tenant(&app, "bad-tenant@acme.example").await;
    let order = crate::online_payment::create_order(&b, &t, &buyer, &[("Tea", "1", "10")]).await;
    let token = crate::online_payment::online_payment(&b, &t, &order).await;
    let request = token.split('.').next().unwrap().to_string();
    // A member to change the role of.
    let invited =
        b.post(&format!("/w/{t}/members/invite"), &[("email", "bad-member@acme.example"), ("role", "member")]).await;
    assert_eq!(invited.status(), StatusCode::OK, "{}", invited.body);
    let link = app.link_in_email("bad-member@acme.example", "/invitations/");
    let joined = app
        .browser()
        .post(&format!("{link}/signup"), &[("name", "Member"), ("password", PASSWORD), ("accept_terms", "on")])
        .await;
    assert_eq!(joined.status(), StatusCode::OK, "{}", joined.body);
    let member = app.db(|c| minihost::db::users::find_by_email(c, "bad-member@acme.example").unwrap().unwrap().id);
    // A second order, paid with Alipay: a collection to refund.
    let paid = crate::online_payment::create_order(&b, &t, &buyer, &[("Tea", "1", "10")]).await;
    let paid_token = crate::online_payment::online_payment(&b, &t, &paid).await;
    app.browser().post(&format!("/checkout/{paid_token}"), &[("channel", "alipay")]).await;
    let attempt = crate::online_payment::attempts(&app, &paid_token).remove(0);
    let qr = attempt.code_url.clone().unwrap();
    crate::mini_program::sandbox_post(&app, "/sandbox/dev/alipay/pay", serde_json::json!({ "qr_code": qr })).await;
    crate::mini_program::eventually("the order is paid", || {
        crate::online_payment::order_status(&app, &t, &paid) == "paid"
    })
    .await;
    let collection = app
        .db(move |c| minihost::db::commerce::collection_of_payment(c, &attempt.id).unwrap())
        .expect("a collection")
        .id;
    // The official account authorized; the mini program on the legacy trade component.
    crate::official_account::authorize_oa(&app, &b, &t, crate::official_account::ACME_OA).await;
    crate::mini_program::sandbox_post(
        &app,
        &format!("/sandbox/dev/shop/{}", crate::mini_program::VERIFIED),
        serde_json::json!({ "legacy": true }),
    )
    .await;
    let checked = b.post(&format!("/w/{t}/live-selling/check"), &[]).await;
    assert_eq!(checked.status(), StatusCode::OK, "{}", checked.body);
    let mut ctx = Ctx::default();
    ctx.values.extend([
        ("t", t),
        ("buyer", buyer),
        ("order", order),
        ("request", request),
        ("member", member),
        ("collection", collection),
    ]);
    assert_none(try_forms(&app, Tenant, Some(&b), &ctx).await);
}

#[tokio::test]
async fn operator_forms_refuse_bad_input_without_storing_it() {
    let app = TestApp::spawn_with(crate::wallet::FAST).await;
    app.submitted_applicant("bad-op@acme.example", "Acme Trading").await;
    let mut ctx = Ctx::default();
    ctx.values.insert("app", app.application_id_of("bad-op@acme.example"));
    let op = app.operator().await;
    // A template in the library, not released yet (the form to release it is on the page).
    let draft = crate::mini_program::sandbox_post(
        &app,
        "/sandbox/dev/drafts",
        serde_json::json!({ "user_version": "2.0.0", "user_desc": "bad input" }),
    )
    .await;
    let draft_id = draft["draft_id"].as_i64().unwrap();
    op.post(&format!("/operator/templates/drafts/{draft_id}/add"), &[]).await.assert_contains("was added");
    let template = crate::releases::dev_templates(&app)
        .await
        .iter()
        .filter(|t| t["draft_id"].as_i64() == Some(draft_id))
        .filter_map(|t| t["template_id"].as_i64())
        .max()
        .unwrap();
    ctx.values.insert("template", template.to_string());
    // An e-mail in the outbox: a reset link the applicant asked for.
    app.browser().post("/password/forgot", &[("email", "bad-op@acme.example")]).await;
    let email = app.emails_to("bad-op@acme.example").first().expect("an e-mail to the applicant").id.clone();
    ctx.values.insert("email", email);
    assert_none(try_forms(&app, Operator, Some(&op), &ctx).await);
}

#[tokio::test]
async fn account_forms_refuse_bad_input_without_storing_it() {
    let app = TestApp::spawn().await;
    let ctx_users: Vec<String> = (0..3).map(|i| format!("bad-2fa{i}@acme.example")).collect();
    let mut two_factor = Vec::new();
    for email in &ctx_users {
        let b = app.browser();
        b.sign_up(email, "Second Factor").await;
        crate::two_factor::enrol(&b).await;
        two_factor.push(b);
    }
    let mut ctx = Ctx::default();
    ctx.lists.insert("second_step", ctx_users);

    let account = app.browser();
    account.sign_up("bad-account@acme.example", "Account").await;
    let scan = account.post("/account/two-factor/setup", &[]).await;
    scan.assert_contains("Scan the code with your authenticator app");
    let mut problems = try_forms(&app, Account, Some(&account), &ctx).await;
    problems.extend(try_forms(&app, TwoFactor, Some(&two_factor[0]), &ctx).await);
    problems.extend(try_forms(&app, SecondStep, None, &ctx).await);
    assert_none(problems);
}

#[tokio::test]
async fn the_wechat_pay_application_refuses_bad_input_without_storing_it() {
    let app = TestApp::spawn().await;
    let (b, t) = app.approved_tenant("bad-merchant@acme.example", "Acme Trading").await;
    // A first draft, so that the refusals below only ever update it.
    let draft = b.post_multipart(&format!("/w/{t}/wallet/wechatpay/apply"), &[("merchant_name", "Acme")], &[]).await;
    assert_eq!(draft.status(), StatusCode::UNPROCESSABLE_ENTITY, "{}", draft.body);
    let mut ctx = Ctx::default();
    ctx.values.insert("t", t);
    assert_none(try_forms(&app, Merchant, Some(&b), &ctx).await);
}
