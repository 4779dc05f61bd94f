//! Operator → Release campaigns (SPEC §3.4, "The fleet"): start a campaign for the latest
//! version (every pending tenant or a list, a canary first, a concurrency cap and a call
//! rate cap, auto-publish), watch it (a progress bar updated in place by HTMX, counts
//! per outcome, every tenant with its outcome and WeChat's sentence), and pause, resume,
//! cancel, go on after the canary, or retry the failed tenants.

use actix_web::{HttpResponse, http::StatusCode, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::{Operator, TypedSession};
use crate::db::campaigns::{self as store, Campaign, TenantRow};
use crate::db::{self, audit};
use crate::domain::campaign::{Counts, Forecast, Form, Group, Outcome, PauseReason, State};
use crate::domain::failure::Failure;
use crate::domain::release::{Blocker, reason_lines};
use crate::error::AppError;
use crate::htmx::Htmx;
use crate::routes::version_card::blocker_texts;
use crate::services::campaigns::{self as service, Acted, FieldError, Outlook, StartError};
use crate::services::platform::Platform;
use crate::services::releases as release_service;
use crate::views::{FormErrors, PageCtx, render, see_other};
use crate::wechat::code::Quota;

const PATH: &str = "/operator/campaigns";
const PAGE_SIZE: i64 = 50;

/// The form's fields as sent (a checkbox that is not ticked is not sent at all).
#[derive(Debug, Default, Deserialize)]
pub struct StartForm {
    #[serde(default)]
    target: String,
    #[serde(default)]
    list: String,
    #[serde(default)]
    canary: String,
    #[serde(default)]
    after_canary: String,
    #[serde(default)]
    concurrency: String,
    #[serde(default)]
    calls_per_minute: String,
    #[serde(default)]
    auto_publish: Option<String>,
}

impl StartForm {
    fn defaults() -> Self {
        Self {
            target: "all".into(),
            canary: "5%".into(),
            after_canary: "wait".into(),
            concurrency: "20".into(),
            calls_per_minute: "600".into(),
            ..Self::default()
        }
    }

    fn to_form(&self) -> Form {
        Form {
            target: self.target.clone(),
            list: self.list.clone(),
            canary: self.canary.clone(),
            after_canary: self.after_canary.clone(),
            concurrency: self.concurrency.clone(),
            calls_per_minute: self.calls_per_minute.clone(),
            auto_publish: self.auto_publish.is_some(),
        }
    }
}

#[derive(Template)]
#[template(path = "operator/campaigns.html")]
struct ListPage {
    ctx: PageCtx,
    campaigns: Vec<Campaign>,
    outlook: Outlook,
    quota: Option<Quota>,
    forecast: Option<Forecast>,
    form: StartForm,
    errors: FormErrors,
}

impl ListPage {
    fn state_label(&self, c: &Campaign) -> String {
        state_label(&self.ctx, c)
    }
}

fn state_label(ctx: &PageCtx, c: &Campaign) -> String {
    match (c.state(), c.pause_reason()) {
        (State::Paused, Some(PauseReason::Quota)) => ctx.t("campaigns.state.paused_quota"),
        (state, _) => ctx.t_in("campaigns.state", state.as_str()),
    }
}

async fn list_page(
    ctx: PageCtx,
    platform: &Platform,
    form: StartForm,
    errors: FormErrors,
) -> Result<ListPage, AppError> {
    let (campaigns, outlook) =
        db::run(platform.pool(), |c| -> Result<_, AppError> { Ok((store::recent(c, 20)?, service::outlook(c)?)) })
            .await?;
    let quota = release_service::quota(platform).await.ok().flatten();
    let forecast = quota.as_ref().map(|q| Forecast::new(outlook.pending as i64, q.rest));
    Ok(ListPage { ctx, campaigns, outlook, quota, forecast, form, errors })
}

pub async fn list(ctx: PageCtx, _op: Operator, platform: web::Data<Platform>) -> Result<HttpResponse, AppError> {
    render(StatusCode::OK, &list_page(ctx, &platform, StartForm::defaults(), FormErrors::default()).await?)
}

fn error_text(ctx: &PageCtx, e: &FieldError) -> String {
    let key = format!("campaigns.error.{}", e.key);
    match &e.arg {
        Some(arg) => ctx.t_with(&key, &[("value", arg)]),
        None => ctx.t(&key),
    }
}

/// "Start campaign".
pub async fn start(
    ctx: PageCtx,
    op: Operator,
    session: TypedSession,
    platform: web::Data<Platform>,
    form: web::Form<StartForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let quota = release_service::quota(&platform).await.ok().flatten().map(|q| q.rest);
    let actor = audit::Actor::user(&op.0.id, &op.0.email);
    let checked = form.to_form();
    let started = db::run(platform.pool(), move |c| -> Result<_, AppError> {
        match service::start(c, &checked, quota, &actor, crate::now()) {
            Ok(id) => Ok(Ok(id)),
            Err(StartError::Form(errors)) => Ok(Err(errors)),
            Err(StartError::Database(e)) => Err(e.into()),
        }
    })
    .await?;
    match started {
        Ok(id) => {
            session.flash("success", "campaigns.started");
            Ok(see_other(&format!("{PATH}/{id}")))
        }
        Err(errors) => {
            let mut shown = FormErrors::default();
            for e in &errors {
                shown.add(e.field, error_text(&ctx, e));
            }
            render(StatusCode::UNPROCESSABLE_ENTITY, &list_page(ctx, &platform, form, shown).await?)
        }
    }
}

/// A targeted tenant as the table shows it.
pub struct RowView {
    pub row: TenantRow,
    pub outcome: Outcome,
    /// What happened, in words: WeChat's sentence, the blockers, the rejection's first
    /// line, why it was skipped, or the step it is at.
    pub detail: Option<String>,
}

fn row_view(ctx: &PageCtx, row: TenantRow) -> RowView {
    let outcome = row.outcome();
    let failure =
        || row.failure_kind.as_deref().and_then(|k| Failure::from_parts(k, row.failure_code)).map(|f| ctx.failure(&f));
    let detail = match outcome {
        Outcome::NotSubmitted => {
            let blockers = Blocker::from_stored(row.blockers.as_deref().unwrap_or("[]"));
            let mut parts = blocker_texts(ctx, &blockers);
            parts.extend(failure());
            Some(parts.join(" ")).filter(|s| !s.is_empty())
        }
        Outcome::PublishFailed => failure(),
        Outcome::Rejected | Outcome::Delayed => reason_lines(row.reason.as_deref().unwrap_or("")).into_iter().next(),
        Outcome::Skipped => row.note.as_deref().map(|n| ctx.t_in("campaigns.skip", n)),
        Outcome::Submitting => row.step.as_deref().map(|s| ctx.t_in("release.step", s)),
        _ => None,
    };
    RowView { row, outcome, detail }
}

/// The progress: counts per outcome group and per outcome.
pub struct Progress {
    pub counts: Counts,
    pub total: i64,
}

/// One group's stretch of the progress bar.
pub struct Segment {
    pub group: &'static str,
    pub x: i64,
    pub width: i64,
}

impl Progress {
    pub fn group(&self, g: &str) -> i64 {
        Group::parse(g).map_or(0, |g| self.counts.group(g))
    }

    /// Settled for the campaign (neither waiting nor on its way), in percent.
    pub fn percent(&self) -> i64 {
        if self.total == 0 {
            return 100;
        }
        let open = self.counts.group(Group::Waiting) + self.counts.group(Group::InProgress);
        (self.total - open) * 100 / self.total
    }

    pub fn by_outcome(&self) -> Vec<(Outcome, i64)> {
        self.counts.by_outcome()
    }

    /// The progress bar's segments, left to right, in units of one tenant (the bar is an
    /// SVG scaled to the total: no inline style for the Content-Security-Policy to refuse).
    pub fn segments(&self) -> Vec<Segment> {
        const ORDER: [Group; 5] = [Group::Succeeded, Group::Failed, Group::Other, Group::InProgress, Group::Waiting];
        let mut x = 0;
        ORDER
            .into_iter()
            .filter_map(|g| {
                let width = self.counts.group(g);
                (width > 0).then(|| {
                    let s = Segment { group: g.as_str(), x, width };
                    x += width;
                    s
                })
            })
            .collect()
    }

    /// The bar's length: every segment fits (at least 1, so an empty campaign draws).
    pub fn bar_length(&self) -> i64 {
        self.segments().iter().map(|s| s.width).sum::<i64>().max(1)
    }

    pub fn retryable(&self) -> i64 {
        Outcome::ALL.into_iter().filter(|o| o.retryable()).map(|o| self.counts.of(o)).sum()
    }
}

#[derive(Template)]
#[template(path = "operator/_campaign_progress.html")]
struct ProgressFragment {
    ctx: PageCtx,
    c: Campaign,
    p: Progress,
}

impl ProgressFragment {
    fn state_label(&self) -> String {
        state_label(&self.ctx, &self.c)
    }
}

#[derive(Template)]
#[template(path = "operator/campaign.html")]
struct DetailPage {
    ctx: PageCtx,
    c: Campaign,
    p: Progress,
    rows: Vec<RowView>,
    group: String,
    page: i64,
    has_next: bool,
    quota: Option<Quota>,
    forecast: Option<Forecast>,
}

impl DetailPage {
    fn state_label(&self) -> String {
        state_label(&self.ctx, &self.c)
    }

    fn page_link(&self, page: i64) -> String {
        crate::views::page_link(&format!("{PATH}/{}", self.c.id), &[("group", self.group.as_str())], page)
    }

    fn group_link(&self, group: &str) -> String {
        crate::views::page_link(&format!("{PATH}/{}", self.c.id), &[("group", group)], 1)
    }
}

#[derive(Debug, Deserialize)]
pub struct DetailQuery {
    group: Option<String>,
    page: Option<i64>,
}

async fn load_progress(platform: &Platform, id: String) -> Result<(Campaign, Progress), AppError> {
    let found = db::run(platform.pool(), move |c| -> Result<_, AppError> {
        let Some(campaign) = store::get(c, &id)? else { return Ok(None) };
        let counts = store::counts(c, &campaign)?;
        Ok(Some((campaign, counts)))
    })
    .await?;
    let Some((c, counts)) = found else { return Err(AppError::NotFound) };
    let total = counts.total();
    Ok((c, Progress { counts, total }))
}

pub async fn detail(
    ctx: PageCtx,
    _op: Operator,
    platform: web::Data<Platform>,
    path: web::Path<String>,
    query: web::Query<DetailQuery>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let q = query.into_inner();
    let group = q.group.as_deref().and_then(Group::parse);
    let page = q.page.unwrap_or(1).clamp(1, 100_000);
    let (c, p) = load_progress(&platform, id).await?;
    let campaign = c.clone();
    let mut rows = db::run(platform.pool(), move |conn| -> Result<_, AppError> {
        Ok(store::tenant_rows(conn, &campaign, group, (page - 1) * PAGE_SIZE, PAGE_SIZE + 1)?)
    })
    .await?;
    let has_next = rows.len() as i64 > PAGE_SIZE;
    rows.truncate(PAGE_SIZE as usize);
    let quota = if c.state().is_active() { release_service::quota(&platform).await.ok().flatten() } else { None };
    let forecast = quota.as_ref().map(|q| Forecast::new(p.counts.still_to_submit(), q.rest));
    let rows = rows.into_iter().map(|r| row_view(&ctx, r)).collect();
    render(
        StatusCode::OK,
        &DetailPage {
            ctx,
            c,
            p,
            rows,
            group: group.map(|g| g.as_str().to_string()).unwrap_or_default(),
            page,
            has_next,
            quota,
            forecast,
        },
    )
}

/// The progress fragment HTMX polls while the campaign is active.
pub async fn progress(
    ctx: PageCtx,
    _op: Operator,
    platform: web::Data<Platform>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (c, p) = load_progress(&platform, path.into_inner()).await?;
    render(StatusCode::OK, &ProgressFragment { ctx, c, p })
}

/// Pause, resume, cancel, go, retry: each one transaction with its audit row; the page
/// says what happened (or that the campaign had moved on).
pub async fn act(
    op: Operator,
    session: TypedSession,
    htmx: Htmx,
    platform: web::Data<Platform>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, action) = path.into_inner();
    let run = match action.as_str() {
        "pause" => service::pause,
        "resume" => service::resume,
        "cancel" => service::cancel,
        "go" => service::go,
        "retry" => service::retry,
        _ => return Err(AppError::NotFound),
    };
    let actor = audit::Actor::user(&op.0.id, &op.0.email);
    let cid = id.clone();
    let acted = db::run(platform.pool(), move |c| -> Result<_, AppError> {
        if store::get(c, &cid)?.is_none() {
            return Ok(None);
        }
        Ok(Some(run(c, &cid, &actor, crate::now())?))
    })
    .await?;
    match acted {
        None => return Err(AppError::NotFound),
        Some(Acted::Done) => session.flash("success", &format!("campaigns.done.{action}")),
        Some(Acted::NotNow) => session.flash("error", "campaigns.not_now"),
        Some(Acted::OtherActive) => session.flash("error", "campaigns.other_active"),
    }
    let to = format!("{PATH}/{id}");
    Ok(crate::htmx::redirect(&htmx, &to))
}
