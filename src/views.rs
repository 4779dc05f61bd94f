//! What every page shares: language, CSRF token, who is signed in, the workspace in
//! the header, flash messages, and the sandbox banner.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, HttpResponse, dev::Payload, http::StatusCode, web};
use askama::Template;

use crate::auth::session::{self, ContextKey, Resolved};
use crate::auth::{CurrentTenant, TypedSession};
use crate::config::AppConfig;
use crate::db::{self, DbConn, models::Tenant};
use crate::domain::avatar;
use crate::domain::failure::Failure;
use crate::error::AppError;
use crate::i18n::Locale;

pub struct UserBadge {
    pub id: String,
    pub name: String,
    pub email: String,
    pub is_operator: bool,
}

/// The workspace shown in the header.
pub struct WorkspaceBadge {
    pub id: String,
    pub name: String,
    pub initial: String,
    pub color: String,
    pub has_logo: bool,
}

impl WorkspaceBadge {
    pub fn of(t: &Tenant) -> Self {
        Self {
            id: t.id.clone(),
            name: t.name.clone(),
            initial: avatar::initial(&t.name),
            color: t.avatar_color.clone(),
            has_logo: t.logo_mime.is_some(),
        }
    }
}

pub struct FlashView {
    pub kind: String,
    pub text: String,
}

pub struct PageCtx {
    pub locale: Locale,
    pub csrf: String,
    pub user: Option<UserBadge>,
    pub workspace: Option<WorkspaceBadge>,
    pub flash: Vec<FlashView>,
    pub sandbox: bool,
    pub path: String,
    /// An operator without a second factor: the banner asking to set one up.
    pub remind_two_factor: bool,
}

impl PageCtx {
    /// Translates a catalog key in the page's language.
    pub fn t(&self, key: &str) -> String {
        self.locale.t(key)
    }

    /// Translates `group.name`, for names that come from data (statuses, roles).
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

    pub fn is_operator(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.is_operator)
    }

    /// True when `prefix` is the current section (for `aria-current`).
    pub fn active(&self, prefix: &str) -> bool {
        self.path == prefix || self.path.starts_with(&format!("{prefix}/"))
    }

    /// Formats Unix seconds as UTC date and time.
    pub fn when(&self, at: impl UnixTime) -> String {
        format_time(at.secs())
    }

    /// A failure talking to WeChat, in words: what happened and what to do.
    pub fn failure(&self, f: &Failure) -> String {
        failure_text(self.locale, *f)
    }

    /// The default logo's character for a name.
    pub fn initial(&self, name: &str) -> String {
        avatar::initial(name)
    }

    /// The class that paints a default logo's stored colour.
    pub fn avatar_class(&self, color: &str) -> &'static str {
        avatar::color_class(color)
    }
}

/// A failure talking to WeChat in the reader's language, with WeChat's errcode when there is one.
pub fn failure_text(locale: Locale, f: Failure) -> String {
    match f {
        Failure::Errcode(code) => {
            let message = locale.t(&crate::wechat::errcode::lookup(code).message_key());
            locale.t_with("wechat_error.with_code", &[("message", &message), ("code", &code.to_string())])
        }
        Failure::Http(status) => locale.t_with("wechat_error.http", &[("status", &status.to_string())]),
        Failure::Transport => locale.t("wechat_error.transport"),
        Failure::Decode => locale.t("wechat_error.decode"),
        Failure::NoTicket => locale.t("wechat_error.no_ticket"),
        Failure::Revoked => locale.t("wechat_error.revoked_any"),
        Failure::LeaseTimeout => locale.t("wechat_error.lease_timeout"),
        Failure::Database => locale.t("wechat_error.database"),
    }
}

/// Unix seconds however deeply a template borrowed them.
pub trait UnixTime {
    fn secs(&self) -> i64;
}

impl UnixTime for i64 {
    fn secs(&self) -> i64 {
        *self
    }
}

impl<T: UnixTime + ?Sized> UnixTime for &T {
    fn secs(&self) -> i64 {
        (**self).secs()
    }
}

pub fn format_time(at: i64) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp(at).ok().and_then(|t| t.format(&fmt).ok()).unwrap_or_default()
}

impl PageCtx {
    /// The page context from the request and who is asking. Takes the session's flash
    /// messages (they are shown once).
    pub fn build(req: &HttpRequest, resolved: &Resolved) -> Result<Self, AppError> {
        let session = TypedSession(actix_session::SessionExt::get_session(req));
        let locale = Locale::from_request(req);
        let csrf = session.csrf_token()?;
        let flash =
            session.take_flash().into_iter().map(|f| FlashView { text: locale.t(&f.key), kind: f.kind }).collect();
        let sandbox = req.app_data::<web::Data<AppConfig>>().is_some_and(|c| c.sandbox);
        Ok(PageCtx {
            locale,
            csrf,
            user: resolved.user.as_ref().map(|u| UserBadge {
                id: u.id.clone(),
                name: u.name.clone(),
                email: u.email.clone(),
                is_operator: u.is_operator,
            }),
            workspace: resolved.badge.as_ref().map(WorkspaceBadge::of),
            flash,
            sandbox,
            remind_two_factor: resolved.user.as_ref().is_some_and(|u| u.is_operator) && !resolved.two_factor,
            path: req.path().to_string(),
        })
    }
}

impl FromRequest for PageCtx {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            // The same trip the user and tenant extractors share (see `auth::session::resolve`).
            let resolved = crate::auth::session::resolve(&req).await?;
            PageCtx::build(&req, &resolved)
        })
    }
}

/// A tenant page's own data, read in the same trip to the database as who is asking.
///
/// The pattern is a route loader (Remix, SvelteKit): the page names what it reads, and the
/// [`TenantPage`] extractor runs that read right after the session, user and membership
/// reads on the same pooled connection, in one blocking task. A page then costs one
/// hand-off to the blocking pool, as the bare baseline page does, instead of two.
pub trait TenantLoader: Sized + Send + 'static {
    /// What the read needs from the request besides the tenant, extracted before the trip:
    /// `()`, or actix extractors such as `web::Path<…>` and `web::Query<…>`.
    type Params: FromRequest + Send + 'static;

    /// Reads the page's data inside one read transaction. The tenant is one the signed-in
    /// user is a member of; every query filters on its id.
    fn load(conn: &mut DbConn, tenant: &Tenant, params: Self::Params) -> Result<Self, AppError>;
}

/// A tenant page: the page context, the URL's tenant with its signed-in member, and the
/// page's data `T`, in one trip. Signed out → the login page; not a member → 404, and
/// then `T` is never read.
pub struct TenantPage<T> {
    pub ctx: PageCtx,
    pub current: CurrentTenant,
    pub data: T,
}

impl<T: TenantLoader> FromRequest for TenantPage<T> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let params = T::Params::from_request(&req, payload);
        Box::pin(async move {
            let params =
                params.await.map_err(|e| AppError::BadRequest(Into::<actix_web::Error>::into(e).to_string()))?;
            let pool = session::pool(&req)?;
            let (resolved, current, data) = match session::resolved(&req) {
                // Another extractor of this handler already read the context.
                Some(resolved) => {
                    let current = CurrentTenant::of(&resolved)?;
                    let tenant = current.tenant.clone();
                    let data = db::read(&pool, move |c| T::load(c, &tenant, params)).await?;
                    (resolved, current, data)
                }
                None => {
                    let key = ContextKey::of(&req);
                    // One read transaction for both: one snapshot, and on SQLite one read
                    // lock for all the statements instead of one per statement.
                    let (resolved, data) = db::run(&pool, move |c| -> Result<_, AppError> {
                        let (resolved, data) = db::read_tx(c, |c| {
                            let resolved = key.read(c)?;
                            let data = match &resolved.url_tenant {
                                Some(tenant) if resolved.user.is_some() => Some(T::load(c, tenant, params)?),
                                _ => None,
                            };
                            Ok::<_, AppError>((resolved, data))
                        })?;
                        session::touch_if_due(c, &resolved);
                        Ok((resolved, data))
                    })
                    .await?;
                    let resolved = session::keep(&req, resolved);
                    let current = CurrentTenant::of(&resolved)?;
                    (resolved, current, data.ok_or(AppError::NotFound)?)
                }
            };
            Ok(TenantPage { ctx: PageCtx::build(&req, &resolved)?, current, data })
        })
    }
}

/// Validation messages by field name, already translated.
#[derive(Default, Debug)]
pub struct FormErrors(pub HashMap<String, String>);

impl FormErrors {
    pub fn from_validation(errors: &validator::ValidationErrors, locale: Locale) -> Self {
        let mut map = HashMap::new();
        for (field, errs) in errors.field_errors() {
            if let Some(first) = errs.first() {
                let key = first.message.as_deref().unwrap_or("form.invalid");
                map.insert(field.to_string(), locale.t(key));
            }
        }
        Self(map)
    }

    pub fn add(&mut self, field: &str, text: String) {
        self.0.insert(field.to_string(), text);
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Renders a template with a status code.
pub fn render(status: StatusCode, template: &impl Template) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::build(status).content_type("text/html; charset=utf-8").body(template.render()?))
}

pub fn ok(template: &impl Template) -> Result<HttpResponse, AppError> {
    render(StatusCode::OK, template)
}

/// A 303 redirect that HTMX follows as a full navigation too.
/// A list page's link to page `page`, keeping the filters that are set (`path?k=v&…&page=N`).
pub fn page_link(path: &str, filters: &[(&str, &str)], page: i64) -> String {
    let set: Vec<_> = filters.iter().filter(|(_, v)| !v.is_empty()).collect();
    let mut query = serde_urlencoded::to_string(set).unwrap_or_default();
    if !query.is_empty() {
        query.push('&');
    }
    format!("{path}?{query}page={page}")
}

pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header(("Location", location)).finish()
}

/// A QR code of `data` as inline SVG (empty when the data does not fit in one).
pub fn qr_svg(data: &str) -> String {
    match qrcode::QrCode::new(data.as_bytes()) {
        Ok(code) => code.render::<qrcode::render::svg::Color<'_>>().min_dimensions(220, 220).quiet_zone(true).build(),
        Err(_) => String::new(),
    }
}
