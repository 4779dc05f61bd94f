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

use crate::helpers::{Browser, OPERATOR_EMAIL, Page, TestApp};

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
/// library, `{n}` a number unique to the submission.
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
}

impl Ctx {
    fn fill(&self, text: &str, n: usize) -> String {
        let mut out = text.replace("{n}", &n.to_string());
        for (k, v) in &self.values {
            out = out.replace(&format!("{{{k}}}"), v);
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

/// Tries every bad value on every field of the forms `who` can reach; returns what broke.
async fn try_forms(app: &TestApp, who: Who, b: Option<&Browser>, ctx: &Ctx) -> Vec<String> {
    let mut problems = Vec::new();
    let mut n = 0;
    for form in FORMS.iter().filter(|f| f.who == who) {
        if form.baseline {
            n += 1;
            let fresh = app.browser();
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
                        fresh = app.browser();
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
    let mut ctx = Ctx::default();
    ctx.values.extend([("t", t), ("buyer", buyer), ("order", order), ("request", request)]);
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
    assert_none(try_forms(&app, Operator, Some(&op), &ctx).await);
}
