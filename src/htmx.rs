//! HTMX, done in one place: telling a request that swaps a fragment into part of a page
//! from a boosted navigation (which wants the whole page), redirects and triggers that
//! HTMX understands, and errors that a fragment request gets as a toast instead of an
//! error page swapped into a box (kanidm's `HtmxError` does the same).

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, FromRequest, HttpRequest, HttpResponse};

use crate::error::AppError;
use crate::i18n::Locale;

const HX_REQUEST: &str = "HX-Request";
const HX_BOOSTED: &str = "HX-Boosted";
const HX_TARGET: &str = "HX-Target";

/// What HTMX says about a request.
#[derive(Debug, Clone, Default)]
pub struct Htmx {
    /// Sent by HTMX (a fragment swap or a boosted navigation).
    pub request: bool,
    /// A boosted link or form: a navigation that wants the whole page.
    pub boosted: bool,
    /// The id of the element the answer will be swapped into, if any.
    pub target: Option<String>,
}

impl Htmx {
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let flag = |name| headers.get(name).is_some_and(|v| v.as_bytes() == b"true");
        Self {
            request: flag(HX_REQUEST),
            boosted: flag(HX_BOOSTED),
            target: headers.get(HX_TARGET).and_then(|v| v.to_str().ok()).map(str::to_string),
        }
    }

    /// True when the answer is swapped into part of a page: give it the fragment only.
    /// A boosted navigation also carries `HX-Request`, but wants the page around it.
    pub fn wants_fragment(&self) -> bool {
        self.request && !self.boosted
    }
}

impl FromRequest for Htmx {
    type Error = std::convert::Infallible;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Ok(Self::from_headers(req.headers())))
    }
}

/// Sends the browser to `location`: `HX-Redirect` for a fragment request (a 303 would be
/// followed inside the fragment), a 303 See Other otherwise.
pub fn redirect(htmx: &Htmx, location: &str) -> HttpResponse {
    if htmx.wants_fragment() {
        HttpResponse::Ok().insert_header(("HX-Redirect", location)).finish()
    } else {
        HttpResponse::SeeOther().insert_header(("Location", location)).finish()
    }
}

/// Adds an `HX-Trigger` event to a response (for example to refresh another part of the page).
pub fn trigger(mut response: HttpResponse, event: &str) -> HttpResponse {
    if let Ok(value) = HeaderValue::from_str(event) {
        response.headers_mut().insert(HeaderName::from_static("hx-trigger"), value);
    }
    response
}

/// Middleware: an error answered to a fragment request becomes a short toast in the
/// page's `#toasts` area (`HX-Retarget` / `HX-Reswap`), in the reader's language, instead
/// of an error page inside the box that asked. Navigations keep the full error page.
pub async fn errors_as_toasts(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    // Navigations (most requests) pass straight through, without reading the language.
    if !Htmx::from_headers(req.headers()).wants_fragment() {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    }
    let locale = Locale::from_request(req.request());
    let res = next.call(req).await?.map_into_boxed_body();
    if !(res.status().is_client_error() || res.status().is_server_error()) {
        return Ok(res);
    }
    let Some(key) = res.response().error().and_then(|e| e.as_error::<AppError>()).map(AppError::message_key) else {
        return Ok(res);
    };
    let status = res.status();
    let quote = crate::telemetry::current_request_id().map(|id| locale.t_with("error.request_id", &[("id", &id)]));
    let toast = Toast { text: locale.t(&key), quote };
    let body = askama::Template::render(&toast).unwrap_or_default();
    Ok(res.into_response(
        HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .insert_header(("HX-Retarget", "#toasts"))
            .insert_header(("HX-Reswap", "beforeend"))
            .body(body),
    ))
}

#[derive(askama::Template)]
#[template(path = "partials/_error_toast.html")]
struct Toast {
    text: String,
    /// "Quote this id to support: …", when the request has an id.
    quote: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn htmx(headers: &[(&str, &str)]) -> Htmx {
        let mut req = TestRequest::default();
        for (k, v) in headers {
            req = req.insert_header((*k, *v));
        }
        Htmx::from_headers(req.to_http_request().headers())
    }

    #[test]
    fn a_boosted_navigation_wants_the_whole_page_and_a_swap_wants_the_fragment() {
        assert!(!htmx(&[]).wants_fragment());
        assert!(!htmx(&[("HX-Request", "true"), ("HX-Boosted", "true")]).wants_fragment());
        let swap = htmx(&[("HX-Request", "true"), ("HX-Target", "authorization-status")]);
        assert!(swap.wants_fragment());
        assert_eq!(swap.target.as_deref(), Some("authorization-status"));
    }

    #[test]
    fn redirects_are_a_header_for_fragments_and_a_303_for_navigations() {
        let fragment = redirect(&htmx(&[("HX-Request", "true")]), "/x");
        assert_eq!(fragment.headers().get("HX-Redirect").unwrap(), "/x");
        let page = redirect(&htmx(&[("HX-Request", "true"), ("HX-Boosted", "true")]), "/x");
        assert_eq!(page.status(), actix_web::http::StatusCode::SEE_OTHER);
        assert_eq!(page.headers().get("Location").unwrap(), "/x");
    }

    #[test]
    fn a_trigger_is_an_hx_trigger_header() {
        let response = trigger(HttpResponse::Ok().finish(), "mini-program-changed");
        assert_eq!(response.headers().get("HX-Trigger").unwrap(), "mini-program-changed");
    }
}
