//! The dev mailbox (sandbox mode only): the e-mails the console queued, as the
//! recipient would read them.

use actix_web::{HttpResponse, web};
use askama::Template;

use crate::db::{self, DbPool, models::OutboxEmail};
use crate::error::AppError;
use crate::views::{PageCtx, ok};

#[derive(Template)]
#[template(path = "mailbox.html")]
struct MailboxPage {
    ctx: PageCtx,
    emails: Vec<OutboxEmail>,
    open: Option<OutboxEmail>,
}

pub async fn list(ctx: PageCtx, pool: web::Data<DbPool>) -> Result<HttpResponse, AppError> {
    let emails = db::run(&pool, |c| Ok::<_, AppError>(db::outbox::list_recent(c, 200)?)).await?;
    ok(&MailboxPage { ctx, emails, open: None })
}

pub async fn show(ctx: PageCtx, pool: web::Data<DbPool>, path: web::Path<String>) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let (emails, open) = db::run(&pool, move |c| -> Result<_, AppError> {
        let open = db::outbox::find(c, &id)?.ok_or(AppError::NotFound)?;
        Ok((db::outbox::list_recent(c, 200)?, open))
    })
    .await?;
    ok(&MailboxPage { ctx, emails, open: Some(open) })
}
