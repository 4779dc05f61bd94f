//! `GET /metrics` (Prometheus text, not public by default) and `POST /csp-report` (the
//! browsers' Content-Security-Policy violation reports). Both are mounted outside the
//! console's session and CSRF middleware (README "Metrics", "Security headers").

use actix_web::{HttpMessage, HttpRequest, HttpResponse, http::header, web};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::config::MetricsAccess;
use crate::db::{self, DbError, DbPool, campaigns, jobs};
use crate::domain::campaign::Outcome;
use crate::observe;
use crate::telemetry::OnMetricsListener;

/// The largest CSP report read.
pub const MAX_REPORT_BYTES: usize = 16 * 1024;

/// `GET /metrics`: 404 where it is not served (neither `MINIHOST_METRICS_TOKEN` nor
/// `MINIHOST_METRICS_BIND`, or the public listener while a metrics listener exists), 401
/// without the configured bearer token, else the exposition, with the queue and the
/// active campaign sampled now.
pub async fn metrics(req: HttpRequest, access: web::Data<MetricsAccess>, pool: web::Data<DbPool>) -> HttpResponse {
    let on_listener = req.extensions().get::<OnMetricsListener>().is_some();
    if !access.served(on_listener) {
        return super::not_found(req).await;
    }
    if let Some(token) = &access.token
        && !bearer_matches(&req, token.expose())
    {
        tracing::warn!("refused a metrics scrape without the right bearer token");
        return HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"minihost metrics\""))
            .content_type("text/plain; charset=utf-8")
            .body("a bearer token is required (MINIHOST_METRICS_TOKEN)");
    }
    sample(&pool).await;
    match observe::render() {
        Some(body) => HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(body),
        None => HttpResponse::ServiceUnavailable().content_type("text/plain; charset=utf-8").body("metrics are off"),
    }
}

fn bearer_matches(req: &HttpRequest, token: &str) -> bool {
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or_default();
    presented.len() == token.len() && bool::from(presented.as_bytes().ct_eq(token.as_bytes()))
}

/// The gauges read from the database at scrape time: the job queue and the campaign.
async fn sample(pool: &DbPool) {
    let sampled = db::run(pool, |c| -> Result<_, DbError> {
        let now = crate::now();
        let (due, oldest) = jobs::due_summary(c, now)?;
        let counts = match campaigns::active(c)? {
            Some(campaign) => Some(campaigns::counts(c, &campaign)?),
            None => None,
        };
        Ok((due, oldest.map_or(0, |at| now - at), counts))
    })
    .await;
    match sampled {
        Ok((due, age, counts)) => {
            observe::set_queue(due, age);
            let states: Vec<(&'static str, i64)> =
                Outcome::ALL.into_iter().map(|o| (o.as_str(), counts.as_ref().map_or(0, |c| c.of(o)))).collect();
            observe::set_campaign(counts.is_some(), &states);
        }
        Err(e) => tracing::warn!(error = %e, "metrics: could not sample the job queue and campaign"),
    }
}

/// A browser's report (`report-uri`): `{"csp-report": {...}}`.
#[derive(Deserialize)]
struct Report {
    #[serde(rename = "csp-report")]
    report: Violation,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Violation {
    #[serde(rename = "effective-directive")]
    effective_directive: String,
    #[serde(rename = "violated-directive")]
    violated_directive: String,
    #[serde(rename = "blocked-uri")]
    blocked_uri: String,
    #[serde(rename = "document-uri")]
    document_uri: String,
}

/// The directives a report may name; anything else counts as `other`, so a forged report
/// cannot add series.
const DIRECTIVES: [&str; 20] = [
    "default-src",
    "script-src",
    "script-src-elem",
    "script-src-attr",
    "style-src",
    "style-src-elem",
    "style-src-attr",
    "img-src",
    "connect-src",
    "font-src",
    "media-src",
    "object-src",
    "frame-src",
    "child-src",
    "worker-src",
    "manifest-src",
    "frame-ancestors",
    "form-action",
    "base-uri",
    "eval",
];

fn directive_label(v: &Violation) -> &'static str {
    let named = if v.effective_directive.is_empty() {
        v.violated_directive.split_whitespace().next().unwrap_or_default()
    } else {
        v.effective_directive.as_str()
    };
    DIRECTIVES.into_iter().find(|d| *d == named).unwrap_or("other")
}

/// Without query string or fragment: they may carry tokens.
fn without_query(uri: &str) -> &str {
    uri.split(['?', '#']).next().unwrap_or_default()
}

/// `POST /csp-report`: logs the violation (directive, what was blocked, on which page) and
/// counts it; 204.
pub async fn csp_report(body: web::Bytes) -> HttpResponse {
    let Ok(Report { report: v }) = serde_json::from_slice::<Report>(&body) else {
        return HttpResponse::BadRequest().content_type("text/plain; charset=utf-8").body("not a CSP report");
    };
    let directive = directive_label(&v);
    tracing::warn!(
        directive,
        blocked = %without_query(&v.blocked_uri).chars().take(200).collect::<String>(),
        page = %without_query(&v.document_uri).chars().take(200).collect::<String>(),
        "a browser reported a Content-Security-Policy violation"
    );
    observe::csp_violation(directive);
    HttpResponse::NoContent().finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_is_counted_under_a_known_directive_or_other() {
        let v = |effective: &str, violated: &str| Violation {
            effective_directive: effective.into(),
            violated_directive: violated.into(),
            ..Violation::default()
        };
        assert_eq!(directive_label(&v("style-src-attr", "")), "style-src-attr");
        assert_eq!(directive_label(&v("", "script-src 'self'")), "script-src");
        assert_eq!(directive_label(&v("made-up", "")), "other");
        assert_eq!(without_query("http://h/p?token=x#f"), "http://h/p");
    }
}
