//! What the sandbox's human pages share, apart from the console: their language, their
//! own CSRF protection, their error page and their rendering. Nothing here reads the
//! console's session; everything comes from the request.
//!
//! * Language: a `lang` query parameter (the switch in the layout; remembered in the
//!   `sandbox_lang` cookie), else that cookie, else `Accept-Language`, else English.
//! * CSRF (double submit): a random token in the `sandbox_csrf` cookie (HttpOnly,
//!   SameSite=Strict, path `/sandbox`) and the same token in each form's hidden
//!   `csrf_token` field. Every human POST handler takes a [`CheckedForm`], which refuses
//!   a request without a match with 403 and the sandbox's error page. The authorization
//!   page does not use it: its one-time field is the `pre_auth_code`.

use std::fmt;
use std::future::{Future, Ready, ready};
use std::pin::Pin;

use actix_web::{
    FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError,
    cookie::{Cookie, SameSite},
    dev::Payload,
    error::UrlencodedError,
    http::{Method, StatusCode, header},
    web,
};
use askama::Template;
use base64::Engine;
use subtle::ConstantTimeEq;

use crate::i18n::Locale;

use super::Sandbox;

pub const CSRF_COOKIE: &str = "sandbox_csrf";
pub const CSRF_FIELD: &str = "csrf_token";
pub const LANG_COOKIE: &str = "sandbox_lang";
const COOKIE_PATH: &str = "/sandbox";
/// 32 random bytes, base64url without padding.
const TOKEN_LEN: usize = 43;

/// The context of a sandbox page (the console's pages use `crate::views::PageCtx`).
pub struct SandboxCtx {
    pub locale: Locale,
    /// The token the page's forms carry in their `csrf_token` field.
    pub csrf: String,
    /// The same page in the other language (GET pages only).
    pub switch_href: Option<String>,
    new_csrf: bool,
    remember_lang: bool,
    secure: bool,
}

impl SandboxCtx {
    /// Reads everything from the request: language, the CSRF cookie (or a new token).
    pub fn of(req: &HttpRequest) -> Self {
        let query = query_pairs(req.query_string());
        let asked = query.iter().find(|(k, _)| k == "lang").and_then(|(_, v)| Locale::parse(v));
        let locale = asked.unwrap_or_else(|| locale_of(req));
        let existing = req.cookie(CSRF_COOKIE).map(|c| c.value().to_string()).filter(|t| well_formed(t));
        let (csrf, new_csrf) = match existing {
            Some(token) => (token, false),
            None => (new_token(), true),
        };
        let switch_href = (req.method() == Method::GET).then(|| {
            let other = if locale == Locale::ZhCn { Locale::En } else { Locale::ZhCn };
            let mut pairs: Vec<(String, String)> = query.into_iter().filter(|(k, _)| k != "lang").collect();
            pairs.push(("lang".into(), other.code().into()));
            format!("{}?{}", req.path(), serde_urlencoded::to_string(&pairs).unwrap_or_default())
        });
        Self {
            locale,
            csrf,
            switch_href,
            new_csrf,
            remember_lang: asked.is_some(),
            secure: req.app_data::<web::Data<Sandbox>>().is_some_and(|sb| sb.config.https()),
        }
    }

    /// A context with only a language (the error page).
    pub fn bare(locale: Locale) -> Self {
        Self { locale, csrf: String::new(), switch_href: None, new_csrf: false, remember_lang: false, secure: false }
    }

    /// Translates a catalog key in the page's language.
    pub fn t(&self, key: &str) -> String {
        self.locale.t(key)
    }

    /// Translates `group.name`, for names that come from data (fault kinds, push states).
    pub fn t_in(&self, group: &str, name: impl AsRef<str>) -> String {
        self.locale.t(&format!("{group}.{}", name.as_ref()))
    }

    pub fn t_with(&self, key: &str, args: &[(&str, &str)]) -> String {
        self.locale.t_with(key, args)
    }

    pub fn lang(&self) -> &'static str {
        self.locale.code()
    }

    pub fn is_zh(&self) -> bool {
        self.locale == Locale::ZhCn
    }

    /// Formats Unix seconds as UTC date and time.
    pub fn when(&self, at: impl Seconds) -> String {
        let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
        time::OffsetDateTime::from_unix_timestamp(at.secs()).ok().and_then(|t| t.format(&fmt).ok()).unwrap_or_default()
    }

    /// How to answer this request: the page's language, and the cookies to set (the
    /// remembered language; the CSRF cookie when `with_forms` and the token is new).
    pub fn reply(&self, with_forms: bool) -> Reply {
        let mut cookies = Vec::new();
        if self.remember_lang {
            cookies.push(self.cookie(LANG_COOKIE, self.locale.code().to_string(), SameSite::Lax));
        }
        if with_forms && self.new_csrf {
            cookies.push(self.cookie(CSRF_COOKIE, self.csrf.clone(), SameSite::Strict));
        }
        Reply { locale: self.locale, cookies }
    }

    fn cookie(&self, name: &'static str, value: String, same_site: SameSite) -> Cookie<'static> {
        Cookie::build(name, value).path(COOKIE_PATH).http_only(true).same_site(same_site).secure(self.secure).finish()
    }

    /// The refusal for a database that cannot be reached, in the page's language.
    pub fn internal(&self) -> SandboxError {
        SandboxError::Internal(self.locale)
    }
}

impl FromRequest for SandboxCtx {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(Self::of(req)))
    }
}

/// How a page is answered: see [`SandboxCtx::reply`].
pub struct Reply {
    locale: Locale,
    cookies: Vec<Cookie<'static>>,
}

impl Reply {
    /// Renders a template as an HTML answer.
    pub fn html(self, status: StatusCode, template: &impl Template) -> Result<HttpResponse, SandboxError> {
        let body = template.render().map_err(|e| {
            tracing::error!(error = %e, "sandbox: a template failed to render");
            SandboxError::Internal(self.locale)
        })?;
        let mut resp = HttpResponse::build(status);
        resp.content_type("text/html; charset=utf-8").insert_header((header::CACHE_CONTROL, "no-store"));
        for c in self.cookies {
            resp.cookie(c);
        }
        Ok(resp.body(body))
    }

    pub fn ok(self, template: &impl Template) -> Result<HttpResponse, SandboxError> {
        self.html(StatusCode::OK, template)
    }
}

/// Unix seconds however deeply a template borrowed them.
pub trait Seconds {
    fn secs(&self) -> i64;
}

impl Seconds for i64 {
    fn secs(&self) -> i64 {
        *self
    }
}

impl<T: Seconds + ?Sized> Seconds for &T {
    fn secs(&self) -> i64 {
        (**self).secs()
    }
}

/// The page's language without a `lang` parameter: the remembered switch, then
/// `Accept-Language`, then English.
fn locale_of(req: &HttpRequest) -> Locale {
    req.cookie(LANG_COOKIE)
        .and_then(|c| Locale::parse(c.value()))
        .or_else(|| {
            req.headers()
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Locale::from_accept_language)
        })
        .unwrap_or(Locale::En)
}

fn query_pairs(query: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str(query).unwrap_or_default()
}

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn well_formed(token: &str) -> bool {
    token.len() == TOKEN_LEN && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The fields of a human form whose `csrf_token` matched the `sandbox_csrf` cookie.
pub struct CheckedForm(pub Vec<(String, String)>);

impl CheckedForm {
    /// A field's trimmed value.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim())
    }

    /// Every value of a repeated field.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0.iter().filter(move |(k, _)| k == name).map(|(_, v)| v.trim())
    }
}

impl FromRequest for CheckedForm {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, actix_web::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let locale = locale_of(req);
        let path = req.path().to_string();
        let expected = req.cookie(CSRF_COOKIE).map(|c| c.value().to_string()).filter(|t| well_formed(t));
        // Only an URL-encoded form can carry the field; anything else is refused unread.
        let form = req
            .content_type()
            .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            .then(|| web::Form::<Vec<(String, String)>>::from_request(req, payload));
        Box::pin(async move {
            let pairs = match form {
                Some(form) => form.await?.into_inner(),
                None => Vec::new(),
            };
            let presented = pairs.iter().find(|(k, _)| k == CSRF_FIELD).map(|(_, v)| v.as_bytes());
            let matches = match (&expected, presented) {
                (Some(e), Some(p)) => bool::from(e.as_bytes().ct_eq(p)),
                _ => false,
            };
            if !matches {
                tracing::warn!(%path, has_cookie = expected.is_some(), has_field = presented.is_some(), "sandbox: refused a form without a matching CSRF token");
                return Err(SandboxError::Forbidden(locale).into());
            }
            Ok(CheckedForm(pairs))
        })
    }
}

/// Any other path under `/sandbox/mp`.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    SandboxError::NotFound(locale_of(&req)).error_response()
}

/// The error handler of the sandbox's `FormConfig`: an unreadable form.
pub fn bad_form(err: UrlencodedError, req: &HttpRequest) -> actix_web::Error {
    tracing::info!(error = %err, path = %req.path(), "sandbox: unreadable form");
    SandboxError::BadRequest(locale_of(req)).into()
}

/// Why a human sandbox page refused a request; answered with the sandbox's own plain
/// error page in the request's language.
#[derive(Debug, Clone, Copy)]
pub enum SandboxError {
    /// The form could not be read (400).
    BadRequest(Locale),
    /// A form without the page's CSRF token (403).
    Forbidden(Locale),
    /// A path under one of the sandbox's prefixes that it does not serve (404).
    NotFound(Locale),
    /// The sandbox's database could not be reached (500).
    Internal(Locale),
}

impl fmt::Display for SandboxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BadRequest(_) => "sandbox: unreadable request",
            Self::Forbidden(_) => "sandbox: form without a matching CSRF token",
            Self::NotFound(_) => "sandbox: no such page",
            Self::Internal(_) => "sandbox: internal error",
        })
    }
}

#[derive(Template)]
#[template(path = "sandbox/error.html")]
struct ErrorPage {
    ctx: SandboxCtx,
    status: u16,
    message: String,
}

impl ResponseError for SandboxError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (locale, key) = match *self {
            Self::BadRequest(l) => (l, "sandbox.error.bad_request"),
            Self::Forbidden(l) => (l, "sandbox.error.forbidden"),
            Self::NotFound(l) => (l, "sandbox.error.not_found"),
            Self::Internal(l) => (l, "sandbox.err.internal"),
        };
        let status = self.status_code();
        let page = ErrorPage { ctx: SandboxCtx::bare(locale), status: status.as_u16(), message: locale.t(key) };
        let body = page.render().unwrap_or_else(|_| format!("{} {}", status.as_u16(), page.message));
        HttpResponse::build(status).content_type("text/html; charset=utf-8").body(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn the_language_comes_from_the_parameter_then_the_cookie_then_the_browser() {
        let zh =
            TestRequest::get().uri("/sandbox/").insert_header((header::ACCEPT_LANGUAGE, "zh-CN")).to_http_request();
        assert_eq!(SandboxCtx::of(&zh).locale, Locale::ZhCn);
        let asked = TestRequest::get()
            .uri("/sandbox/mp/x?a=1&lang=en")
            .insert_header((header::ACCEPT_LANGUAGE, "zh-CN"))
            .to_http_request();
        let ctx = SandboxCtx::of(&asked);
        assert_eq!(ctx.locale, Locale::En);
        assert_eq!(ctx.switch_href.as_deref(), Some("/sandbox/mp/x?a=1&lang=zh-CN"));
        assert_eq!(ctx.reply(false).cookies.len(), 1, "the switch is remembered");
        let remembered = TestRequest::get()
            .uri("/sandbox/")
            .cookie(Cookie::new(LANG_COOKIE, "zh-CN"))
            .insert_header((header::ACCEPT_LANGUAGE, "en"))
            .to_http_request();
        assert_eq!(SandboxCtx::of(&remembered).locale, Locale::ZhCn);
    }

    #[test]
    fn the_csrf_cookie_is_kept_or_minted_strict_and_http_only() {
        let fresh = SandboxCtx::of(&TestRequest::get().uri("/sandbox/").to_http_request());
        assert!(well_formed(&fresh.csrf));
        let cookies = fresh.reply(true).cookies;
        let c = cookies.iter().find(|c| c.name() == CSRF_COOKIE).expect("a new token is set");
        assert_eq!((c.http_only(), c.same_site(), c.path()), (Some(true), Some(SameSite::Strict), Some("/sandbox")));
        let again = TestRequest::get().uri("/sandbox/").cookie(Cookie::new(CSRF_COOKIE, fresh.csrf.clone()));
        let again = SandboxCtx::of(&again.to_http_request());
        assert_eq!(again.csrf, fresh.csrf);
        assert!(again.reply(true).cookies.is_empty());
        let forged = TestRequest::get().uri("/sandbox/").cookie(Cookie::new(CSRF_COOKIE, "short")).to_http_request();
        assert_ne!(SandboxCtx::of(&forged).csrf, "short");
    }
}
