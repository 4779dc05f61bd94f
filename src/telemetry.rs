//! Logging and the request id.
//!
//! Logs: `RUST_LOG` (default `info`) on standard output, human-readable lines, or one
//! JSON object per line with `MINIHOST_LOG_FORMAT=json`. (Standard error is kept for the
//! one-line reason a command fails.)
//!
//! Every request has an id: a sane incoming `X-Request-Id` is kept, otherwise one is made.
//! It is the `request_id` of the request's root span (so every log line of the request
//! carries it), it is echoed in the `X-Request-Id` response header, and the error page and
//! the HTMX error toast show it, for the reader to quote to support.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpResponse};
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RootSpanBuilder};
use tracing_subscriber::{EnvFilter, fmt};

/// The header a request id comes in and goes out with.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// How log lines are written (`MINIHOST_LOG_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl LogFormat {
    pub fn parse(value: Option<&str>) -> anyhow::Result<Self> {
        match value.map(str::trim) {
            None | Some("" | "text") => Ok(Self::Text),
            Some("json") => Ok(Self::Json),
            Some(other) => anyhow::bail!("MINIHOST_LOG_FORMAT must be text or json, not {other:?}"),
        }
    }
}

/// Sets up logging from `RUST_LOG` and `MINIHOST_LOG_FORMAT` (read after `.env`).
pub fn init() -> anyhow::Result<()> {
    let _ = dotenvy::dotenv();
    let format = LogFormat::parse(std::env::var("MINIHOST_LOG_FORMAT").ok().as_deref())?;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = match format {
        LogFormat::Text => fmt().with_env_filter(filter).with_target(false).try_init(),
        // Each line: timestamp, level, fields, and the spans it happened in (the request's
        // root span first, with its request_id).
        LogFormat::Json => fmt()
            .json()
            .with_env_filter(filter)
            .with_target(false)
            .with_current_span(false)
            .with_span_list(true)
            .try_init(),
    };
    Ok(())
}

/// The id of the request being handled, in its extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

tokio::task_local! {
    static CURRENT: String;
}

/// The id of the request this code runs for, if it runs for one (the error page and the
/// toast read it; they are rendered inside the request's task).
pub fn current_request_id() -> Option<String> {
    CURRENT.try_with(Clone::clone).ok()
}

/// An incoming id is kept when it is short and plain (so it cannot forge log lines or
/// headers); otherwise a new one is made.
fn sane(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

/// The root span of each request (for `tracing_actix_web::TracingLogger`): the default's
/// fields, with `request_id` the request's own id rather than a second one.
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let incoming = request.headers().get(REQUEST_ID_HEADER).and_then(|v| v.to_str().ok()).filter(|v| sane(v));
        let id = match incoming {
            Some(id) => id.to_string(),
            None => request
                .extensions()
                .get::<tracing_actix_web::RequestId>()
                .map(ToString::to_string)
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
        };
        request.extensions_mut().insert(RequestId(id.clone()));
        let route = request.match_pattern().unwrap_or_else(|| "unmatched".into());
        request.extensions_mut().insert(Route(route.clone()));
        // The path only: query strings carry signatures and one-time codes.
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = %route,
            http.target = %request.path(),
            http.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
            request_id = %id,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

/// The matched route pattern, found once per request by [`RequestSpan`].
#[derive(Debug, Clone)]
struct Route(String);

/// Marks a request that came in on the metrics-only listener (`MINIHOST_METRICS_BIND`).
#[derive(Debug, Clone, Copy)]
pub struct OnMetricsListener;

/// The listener that serves only `/metrics`, when there is one (app data).
#[derive(Debug, Clone, Copy)]
pub struct MetricsListener(pub std::net::SocketAddr);

/// The headers every response carries (app data): the Content-Security-Policy built from
/// the configuration (`startup::content_security_policy`) and the fixed ones.
#[derive(Debug, Clone)]
pub struct ResponseHeaders {
    pub content_security_policy: String,
}

impl ResponseHeaders {
    /// Adds each header the response does not set itself.
    fn apply(&self, headers: &mut actix_web::http::header::HeaderMap, request_id: &str) {
        let fixed = [
            ("content-security-policy", self.content_security_policy.as_str()),
            ("x-content-type-options", "nosniff"),
            ("x-frame-options", "DENY"),
            ("referrer-policy", "same-origin"),
        ];
        for (name, value) in fixed {
            let name = HeaderName::from_static(name);
            if !headers.contains_key(&name)
                && let Ok(value) = HeaderValue::from_str(value)
            {
                headers.insert(name, value);
            }
        }
        if let Ok(value) = HeaderValue::from_str(request_id) {
            headers.insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
        }
    }
}

/// Middleware inside `TracingLogger`, around everything else: runs the request with its id
/// at hand (the error page and the toast read it), adds the security headers and
/// `X-Request-Id` to every answer (an error that escaped the handlers too: its page is
/// rendered here, within the id's scope), and records the request's metrics. On the
/// metrics listener, anything but `/metrics` is not found.
pub async fn requests(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let started = Instant::now();
    let id = req.extensions().get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default();
    let route = req.extensions().get::<Route>().map(|r| r.0.clone()).unwrap_or_else(|| "unmatched".into());
    let method = req.method().as_str().to_string();
    let headers = req.app_data::<actix_web::web::Data<ResponseHeaders>>().cloned();
    let apply = |map: &mut actix_web::http::header::HeaderMap| {
        if let Some(h) = &headers {
            h.apply(map, &id);
        }
    };
    if let Some(listener) = req.app_data::<actix_web::web::Data<MetricsListener>>()
        && req.app_config().local_addr() == listener.0
    {
        if req.path() != "/metrics" {
            let (http_req, _) = req.into_parts();
            let mut res = ServiceResponse::new(http_req, HttpResponse::NotFound().body("not found"));
            apply(res.headers_mut());
            return Ok(res);
        }
        req.extensions_mut().insert(OnMetricsListener);
    }
    // No clone of the request may be held here: routing needs it unshared.
    match CURRENT.scope(id.clone(), next.call(req)).await {
        Ok(res) => {
            let mut res = res.map_into_boxed_body();
            apply(res.headers_mut());
            crate::observe::http_request(&method, &route, res.status().as_u16(), started.elapsed());
            Ok(res)
        }
        // An error that no handler turned into an answer: its page, made now (with the id)
        // and carried by the error to whoever writes the response.
        Err(e) => {
            let mut page = CURRENT.sync_scope(id.clone(), || e.error_response());
            apply(page.headers_mut());
            crate::observe::http_request(&method, &route, page.status().as_u16(), started.elapsed());
            Err(actix_web::error::InternalError::from_response(e, page).into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_short_ids_are_kept_and_others_replaced() {
        assert!(sane("4bf92f3577b34da6a3ce929d0e0e4736"));
        assert!(sane("req-1.2:3_x"));
        assert!(!sane(""));
        assert!(!sane(&"a".repeat(65)));
        assert!(!sane("bad id"));
        assert!(!sane("x\ny"));
        assert!(!sane("<script>"));
    }

    #[test]
    fn the_log_format_is_text_or_json() {
        assert_eq!(LogFormat::parse(None).unwrap(), LogFormat::Text);
        assert_eq!(LogFormat::parse(Some("json")).unwrap(), LogFormat::Json);
        assert!(LogFormat::parse(Some("xml")).is_err());
    }
}
