//! One error type for request handling, rendered as a page (or a redirect to the login).

use actix_web::{HttpResponse, ResponseError, http::StatusCode};
use askama::Template;

use crate::i18n::Locale;

#[derive(thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    /// A state-changing request without a valid CSRF token.
    #[error("missing or invalid CSRF token")]
    Csrf,
    /// Not signed in: send to the login page.
    #[error("login required")]
    LoginRequired,
    /// The request conflicts with the current state; the string is a message-catalog key.
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl std::fmt::Debug for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self}")?;
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            write!(f, "\n  caused by: {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        match e {
            diesel::result::Error::NotFound => Self::NotFound,
            other => Self::Internal(anyhow::Error::new(other).context("database")),
        }
    }
}

impl From<crate::db::DbError> for AppError {
    fn from(e: crate::db::DbError) -> Self {
        match e {
            crate::db::DbError::Query(q) => q.into(),
            other => Self::Internal(anyhow::Error::new(other)),
        }
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        Self::Internal(anyhow::Error::new(e).context("template"))
    }
}

/// The error page: both languages, since an error may happen before the locale is known.
#[derive(Template)]
#[template(path = "errors/error.html")]
pub struct ErrorPage {
    pub status: u16,
    pub en_title: String,
    pub en_message: String,
    pub zh_title: String,
    pub zh_message: String,
    /// The request's id, for the reader to quote to support (`telemetry`).
    pub request_id: Option<String>,
}

impl ErrorPage {
    pub fn new(status: StatusCode, title_key: &str, message_key: &str) -> Self {
        let en = Locale::En;
        let zh = Locale::ZhCn;
        Self {
            status: status.as_u16(),
            en_title: en.t(title_key),
            en_message: en.t(message_key),
            zh_title: zh.t(title_key),
            zh_message: zh.t(message_key),
            request_id: crate::telemetry::current_request_id(),
        }
    }

    /// "Quote this id to support: …" in `locale`, when the request has an id.
    pub fn quote_id(&self, locale: &str) -> String {
        let locale = if locale == "zh-CN" { Locale::ZhCn } else { Locale::En };
        self.request_id.as_deref().map(|id| locale.t_with("error.request_id", &[("id", id)])).unwrap_or_default()
    }

    pub fn respond(&self, status: StatusCode) -> HttpResponse {
        let body = self.render().unwrap_or_else(|_| format!("{} {}", self.status, self.en_title));
        HttpResponse::build(status).content_type("text/html; charset=utf-8").body(body)
    }
}

impl AppError {
    /// The catalog key of the short message a reader gets (a toast, or the error page's text).
    pub fn message_key(&self) -> String {
        match self {
            Self::NotFound => "error.not_found".into(),
            Self::Forbidden => "error.forbidden".into(),
            Self::Csrf => "error.csrf".into(),
            Self::LoginRequired => "error.login_required".into(),
            Self::Conflict(key) => key.clone(),
            Self::BadRequest(_) => "error.bad_request".into(),
            Self::Internal(_) => "error.internal".into(),
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Forbidden | Self::Csrf => StatusCode::FORBIDDEN,
            Self::LoginRequired => StatusCode::SEE_OTHER,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let page = match self {
            Self::LoginRequired => {
                return HttpResponse::SeeOther()
                    .insert_header(("Location", "/login"))
                    .insert_header(("HX-Redirect", "/login"))
                    .finish();
            }
            Self::NotFound => ErrorPage::new(status, "error.not_found_title", "error.not_found"),
            Self::Forbidden => ErrorPage::new(status, "error.forbidden_title", "error.forbidden"),
            Self::Csrf => ErrorPage::new(status, "error.forbidden_title", "error.csrf"),
            Self::Conflict(key) => ErrorPage::new(status, "error.conflict_title", key),
            Self::BadRequest(_) => ErrorPage::new(status, "error.bad_request_title", "error.bad_request"),
            Self::Internal(e) => {
                tracing::error!(error = ?e, "request failed");
                ErrorPage::new(status, "error.internal_title", "error.internal")
            }
        };
        page.respond(status)
    }
}
