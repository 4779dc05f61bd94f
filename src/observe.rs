//! Metrics: every series minihost records, named `minihost_*` in one place, and the
//! Prometheus exporter that `GET /metrics` renders (README "Metrics").
//!
//! Recording goes through the `metrics` facade, so code that records needs no handle and
//! costs nothing while no recorder is installed (metrics are off unless
//! `MINIHOST_METRICS_TOKEN` or `MINIHOST_METRICS_BIND` is set). The recorder is global to
//! the process and installed once, however many applications one process starts (the
//! tests start many): [`install`] keeps its handle in a `OnceLock`.
//!
//! Labels are bounded sets: route patterns (never raw paths), reasons and outcomes from
//! enums, API paths without their query string (which carries tokens).

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub const HTTP_REQUESTS: &str = "minihost_http_requests_total";
pub const HTTP_DURATION: &str = "minihost_http_request_duration_seconds";
pub const WECHAT_EVENTS_RECEIVED: &str = "minihost_wechat_events_received_total";
pub const WECHAT_EVENTS_REFUSED: &str = "minihost_wechat_events_refused_total";
pub const PAY_NOTIFICATIONS_RECEIVED: &str = "minihost_payment_notifications_received_total";
pub const PAY_NOTIFICATIONS_REFUSED: &str = "minihost_payment_notifications_refused_total";
pub const JOBS: &str = "minihost_jobs_total";
pub const JOB_DURATION: &str = "minihost_job_duration_seconds";
pub const JOBS_DUE: &str = "minihost_jobs_due";
pub const JOBS_QUEUE_AGE: &str = "minihost_jobs_queue_age_seconds";
pub const TOKEN_REFRESHES: &str = "minihost_token_refreshes_total";
pub const OUTGOING_CALLS: &str = "minihost_outgoing_calls_total";
pub const OUTGOING_DURATION: &str = "minihost_outgoing_call_duration_seconds";
pub const CAMPAIGN_ACTIVE: &str = "minihost_campaign_active";
pub const CAMPAIGN_TENANTS: &str = "minihost_campaign_tenants";
/// Recorded by the mail delivery (`outcome`: delivered, failed, retried); described here.
pub const EMAILS: &str = "minihost_emails_total";
pub const CSP_VIOLATIONS: &str = "minihost_csp_violations_total";

/// Buckets for every `_seconds` histogram: from a fast page to a slow WeChat call.
const BUCKETS: [f64; 13] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process's recorder (once; later calls return the same handle) and
/// describes every series. A thread drains histogram samples every few seconds, so memory
/// stays bounded between scrapes.
pub fn install() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new();
        let builder = match builder.set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &BUCKETS) {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "metrics: histogram buckets refused; latencies are summaries");
                PrometheusBuilder::new()
            }
        };
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("metrics: another recorder is installed; /metrics shows nothing recorded");
        }
        describe();
        // Known series start at 0, so a rate over them is defined before the first event.
        for outcome in ["delivered", "failed"] {
            counter!(EMAILS, "outcome" => outcome).increment(0);
        }
        let upkeep = handle.clone();
        let spawned = std::thread::Builder::new().name("metrics-upkeep".into()).spawn(move || {
            loop {
                std::thread::sleep(Duration::from_secs(5));
                upkeep.run_upkeep();
            }
        });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "metrics: no upkeep thread; histograms are drained at scrapes only");
        }
        handle
    })
}

/// Whether a recorder is installed (metrics are on in this process).
pub fn enabled() -> bool {
    HANDLE.get().is_some()
}

/// The Prometheus text exposition of everything recorded, when metrics are on.
pub fn render() -> Option<String> {
    HANDLE.get().map(PrometheusHandle::render)
}

fn describe() {
    describe_counter!(HTTP_REQUESTS, "HTTP requests answered, by method, route pattern and status");
    describe_histogram!(HTTP_DURATION, Unit::Seconds, "Time to answer an HTTP request, by method and route pattern");
    describe_counter!(WECHAT_EVENTS_RECEIVED, "WeChat pushes received, by endpoint (component, mini_program)");
    describe_counter!(WECHAT_EVENTS_REFUSED, "WeChat pushes refused, by endpoint and reason");
    describe_counter!(PAY_NOTIFICATIONS_RECEIVED, "Payment notifications received, by provider (wechatpay, alipay)");
    describe_counter!(PAY_NOTIFICATIONS_REFUSED, "Payment notifications refused, by provider and reason");
    describe_counter!(JOBS, "Background jobs run, by kind and outcome (done, again, failed, released)");
    describe_histogram!(JOB_DURATION, Unit::Seconds, "Time a background job ran, by kind");
    describe_gauge!(JOBS_DUE, "Queued jobs that are due now (sampled at scrape time)");
    describe_gauge!(JOBS_QUEUE_AGE, Unit::Seconds, "How long the oldest due job has waited (sampled at scrape time)");
    describe_counter!(TOKEN_REFRESHES, "Token refreshes with WeChat, by token (component, authorizer) and outcome");
    describe_counter!(OUTGOING_CALLS, "Calls to WeChat, WeChat Pay and Alipay, by service, endpoint and errcode");
    describe_histogram!(OUTGOING_DURATION, Unit::Seconds, "Time of an outgoing API call, by service and endpoint");
    describe_gauge!(CAMPAIGN_ACTIVE, "1 while a release campaign is active (sampled at scrape time)");
    describe_gauge!(CAMPAIGN_TENANTS, "The active campaign's tenants by state (sampled at scrape time)");
    describe_counter!(EMAILS, "E-mails handed to the SMTP server, by outcome (delivered, failed)");
    describe_counter!(CSP_VIOLATIONS, "Content-Security-Policy violations browsers reported, by directive");
}

/// One answered HTTP request. `route` is the matched pattern (`/w/{tenant_id}/wallet`),
/// never the path.
pub fn http_request(method: &str, route: &str, status: u16, elapsed: Duration) {
    if !enabled() {
        return;
    }
    let method = method_label(method);
    let route = route.to_string();
    counter!(HTTP_REQUESTS, "method" => method, "route" => route.clone(), "status" => status.to_string()).increment(1);
    histogram!(HTTP_DURATION, "method" => method, "route" => route).record(elapsed.as_secs_f64());
}

fn method_label(method: &str) -> &'static str {
    const KNOWN: [&str; 7] = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];
    KNOWN.into_iter().find(|m| *m == method).unwrap_or("other")
}

/// A WeChat push reached an event endpoint (`component` or `mini_program`).
pub fn wechat_event_received(endpoint: &'static str) {
    counter!(WECHAT_EVENTS_RECEIVED, "endpoint" => endpoint).increment(1);
}

/// A WeChat push was refused: `reason` is the refusal's label.
pub fn wechat_event_refused(endpoint: &'static str, reason: &'static str) {
    counter!(WECHAT_EVENTS_REFUSED, "endpoint" => endpoint, "reason" => reason).increment(1);
}

/// A payment notification reached `/pay/{provider}/notify`.
pub fn payment_notification_received(provider: &'static str) {
    counter!(PAY_NOTIFICATIONS_RECEIVED, "provider" => provider).increment(1);
}

pub fn payment_notification_refused(provider: &'static str, reason: &'static str) {
    counter!(PAY_NOTIFICATIONS_REFUSED, "provider" => provider, "reason" => reason).increment(1);
}

/// A job ended one run: `outcome` is done, again (rescheduled), failed or released.
pub fn job_ran(kind: &str, outcome: &'static str, elapsed: Duration) {
    if !enabled() {
        return;
    }
    counter!(JOBS, "kind" => kind.to_string(), "outcome" => outcome).increment(1);
    histogram!(JOB_DURATION, "kind" => kind.to_string()).record(elapsed.as_secs_f64());
}

/// The queue as sampled: jobs due now and how long the oldest of them has waited.
pub fn set_queue(due: i64, oldest_age_secs: i64) {
    gauge!(JOBS_DUE).set(due as f64);
    gauge!(JOBS_QUEUE_AGE).set(oldest_age_secs.max(0) as f64);
}

/// A refresh of the component token or an authorizer token with WeChat.
pub fn token_refresh(token: &'static str, ok: bool) {
    counter!(TOKEN_REFRESHES, "token" => token, "outcome" => if ok { "ok" } else { "error" }).increment(1);
}

/// One outgoing API call (each attempt of a retried call counts). `endpoint` is the API
/// path or method without a query string; `errcode` is `0` for success, the service's
/// code, or `transport` / `http_<status>` / `decode`.
pub fn outgoing_call(service: &'static str, endpoint: &str, errcode: &str, elapsed: Duration) {
    if !enabled() {
        return;
    }
    let endpoint = endpoint.split('?').next().unwrap_or_default().to_string();
    counter!(OUTGOING_CALLS, "service" => service, "endpoint" => endpoint.clone(), "errcode" => errcode.to_string())
        .increment(1);
    histogram!(OUTGOING_DURATION, "service" => service, "endpoint" => endpoint).record(elapsed.as_secs_f64());
}

/// Whether a campaign is active and its tenants per state: every state, zeros included
/// (all zero without a campaign), so a state that empties reads 0 rather than its last value.
pub fn set_campaign(active: bool, states: &[(&'static str, i64)]) {
    gauge!(CAMPAIGN_ACTIVE).set(if active { 1.0 } else { 0.0 });
    for (state, n) in states {
        gauge!(CAMPAIGN_TENANTS, "state" => *state).set(*n as f64);
    }
}

/// A browser reported a Content-Security-Policy violation.
pub fn csp_violation(directive: &'static str) {
    counter!(CSP_VIOLATIONS, "directive" => directive).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_methods_share_one_label() {
        assert_eq!(method_label("GET"), "GET");
        assert_eq!(method_label("BREW"), "other");
    }
}
