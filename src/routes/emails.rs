//! The operator's "E-mail" page: the outbox by status, with the SMTP server's answer for
//! a refused message, the uncertain ones explained, and "Send again".

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::{Operator, TypedSession};
use crate::config::AppConfig;
use crate::db::outbox::{Counts, SendAgain};
use crate::db::{self, DbPool, audit::Actor, models::OutboxEmail};
use crate::domain::email::EmailStatus;
use crate::error::AppError;
use crate::i18n::Locale;
use crate::views::{PageCtx, format_time, ok, see_other};

const PAGE_SIZE: i64 = 50;

/// The operator's notice of e-mails that need a look, on the platform page and the review
/// queue (`operator/_email_alert.html`).
#[derive(Debug, Default, Clone, Copy)]
pub struct EmailAlert {
    pub failed: i64,
    pub uncertain: i64,
}

impl EmailAlert {
    pub fn of(counts: &Counts) -> Self {
        Self { failed: counts.failed, uncertain: counts.uncertain }
    }
}

#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    page: Option<i64>,
}

/// One message as the page shows it: the words are ready, in the page's language.
pub struct EmailRow {
    pub id: String,
    pub to: String,
    pub subject: String,
    pub status: &'static str,
    pub created_at: i64,
    /// Where it stands: when it is tried next, when it left, why it is uncertain.
    pub detail: String,
    /// The SMTP server's answer (or what failed on the way), as it was given.
    pub answer: Option<String>,
    pub can_send_again: bool,
}

impl EmailRow {
    fn of(m: OutboxEmail, locale: Locale, max_attempts: i32) -> Self {
        let n = |v: i64| v.to_string();
        let detail = match m.status {
            EmailStatus::Pending if m.attempts == 0 => {
                locale.t_with("emails.detail_first", &[("at", &format_time(m.next_attempt_at))])
            }
            EmailStatus::Pending => locale.t_with(
                "emails.detail_retry",
                &[
                    ("attempts", &n(m.attempts.into())),
                    ("max", &n(max_attempts.into())),
                    ("at", &format_time(m.next_attempt_at)),
                ],
            ),
            EmailStatus::Sending => {
                locale.t_with("emails.detail_sending", &[("at", &format_time(m.claimed_at.unwrap_or(m.created_at)))])
            }
            EmailStatus::Sent => locale.t_with(
                "emails.detail_sent",
                &[("at", &format_time(m.sent_at.unwrap_or(m.created_at))), ("attempts", &n(m.attempts.into()))],
            ),
            EmailStatus::Failed => locale.t_with("emails.detail_failed", &[("attempts", &n(m.attempts.into()))]),
            EmailStatus::Uncertain => locale.t_with(
                "emails.detail_uncertain",
                &[("at", &format_time(m.claimed_at.or(m.last_attempt_at).unwrap_or(m.created_at)))],
            ),
        };
        Self {
            can_send_again: m.status.can_send_again(),
            status: m.status.as_str(),
            answer: m.last_error.filter(|a| !a.is_empty()),
            detail,
            id: m.id,
            to: m.to_address,
            subject: m.subject,
            created_at: m.created_at,
        }
    }
}

#[derive(Template)]
#[template(path = "operator/emails.html")]
struct EmailsPage {
    ctx: PageCtx,
    /// The status shown (empty: all).
    status: String,
    tabs: Vec<(&'static str, i64)>,
    total: i64,
    rows: Vec<EmailRow>,
    smtp: Option<String>,
    from: String,
    page: i64,
    has_next: bool,
}

impl EmailsPage {
    fn page_link(&self, page: i64) -> String {
        crate::views::page_link("/operator/emails", &[("status", self.status.as_str())], page)
    }
}

pub async fn list(
    ctx: PageCtx,
    _op: Operator,
    pool: web::Data<DbPool>,
    config: web::Data<AppConfig>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.into_inner();
    let status = q.status.as_deref().and_then(EmailStatus::parse);
    let page = q.page.unwrap_or(1).clamp(1, 100_000);
    let (counts, mut messages) = db::read(&pool, move |c| -> Result<_, AppError> {
        Ok((db::outbox::counts(c)?, db::outbox::list(c, status, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE)?))
    })
    .await?;
    let has_next = messages.len() as i64 > PAGE_SIZE;
    messages.truncate(PAGE_SIZE as usize);
    let max_attempts = config.mail_max_attempts;
    let rows = messages.into_iter().map(|m| EmailRow::of(m, ctx.locale, max_attempts)).collect();
    ok(&EmailsPage {
        tabs: EmailStatus::ALL.iter().map(|s| (s.as_str(), counts.of(*s))).collect(),
        total: counts.total(),
        status: status.map(|s| s.as_str().to_string()).unwrap_or_default(),
        smtp: config.smtp.as_ref().map(|s| {
            let mut how = ctx.t(&format!("emails.tls.{}", s.tls));
            if let Some(user) = &s.user {
                how = ctx.t_with("emails.tls_with_user", &[("tls", &how), ("user", user)]);
            }
            format!("{} ({how})", s.address)
        }),
        from: config.mail_from.clone().unwrap_or_default(),
        ctx,
        rows,
        page,
        has_next,
    })
}

#[derive(Deserialize)]
pub struct SendAgainForm {
    /// The list's filter, to go back to.
    #[serde(default)]
    status: String,
}

/// "Send again" for a failed or uncertain message: back in the queue, one transaction
/// with its audit row.
pub async fn send_again(
    op: Operator,
    session: TypedSession,
    pool: web::Data<DbPool>,
    config: web::Data<AppConfig>,
    path: web::Path<String>,
    form: web::Form<SendAgainForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let actor = Actor::user(&op.0.id, &op.0.email);
    let outcome =
        db::run(&pool, move |c| Ok::<_, AppError>(db::outbox::send_again(c, &actor, &id, crate::now())?)).await?;
    match outcome.ok_or(AppError::NotFound)? {
        SendAgain::Queued if config.smtp.is_some() => session.flash("success", "emails.sent_again_flash"),
        SendAgain::Queued => session.flash("success", "emails.sent_again_no_smtp_flash"),
        SendAgain::NotAllowed(_) => session.flash("error", "emails.not_sendable_flash"),
    }
    let back = match EmailStatus::parse(&form.status) {
        Some(s) => format!("/operator/emails?status={}", s.as_str()),
        None => "/operator/emails".to_string(),
    };
    Ok(see_other(&back))
}
