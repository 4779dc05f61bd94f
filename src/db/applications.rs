//! Workspace applications. Every function that an applicant reaches filters on the
//! applicant's user id in SQL; operator functions are only mounted behind the operator guard.

use diesel::prelude::*;
use serde::Serialize;

use super::DbConn;
use super::audit::{self, Actor, Record};
use super::models::{Application, ApplicationHistory, ApplicationSummary};
use super::schema::{application_history, applications, tenant_members, tenants};
use crate::domain::application::{self as rules, Decision, Status, TransitionError};
use crate::error::AppError;

pub fn find_for_user(conn: &mut DbConn, user_id: &str) -> QueryResult<Option<Application>> {
    applications::table
        .filter(applications::user_id.eq(user_id))
        .select(Application::as_select())
        .get_result(conn)
        .optional()
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<Application>> {
    applications::table.find(id).select(Application::as_select()).get_result(conn).optional()
}

/// The state of an application as recorded in the audit log and the history.
#[derive(Serialize)]
pub struct Snapshot<'a> {
    pub status: &'a str,
    pub step: i32,
    pub role: Option<&'a str>,
    pub company_name: &'a str,
    pub website: &'a str,
    pub contact_phone: &'a str,
    pub contact_email: &'a str,
    pub has_logo: bool,
}

impl Application {
    pub fn snapshot(&self) -> Snapshot<'_> {
        Snapshot {
            status: &self.status,
            step: self.step,
            role: self.role.as_deref(),
            company_name: &self.company_name,
            website: &self.website,
            contact_phone: &self.contact_phone,
            contact_email: &self.contact_email,
            has_logo: self.logo.is_some(),
        }
    }

    pub fn status(&self) -> Status {
        Status::parse(&self.status).unwrap_or(Status::Draft)
    }
}

/// Returns the applicant's application, creating an empty draft on first visit.
pub fn find_or_create(
    conn: &mut DbConn,
    actor: &Actor,
    user_id: &str,
    color: &str,
    now: i64,
) -> Result<Application, AppError> {
    if let Some(app) = find_for_user(conn, user_id)? {
        return Ok(app);
    }
    super::write_tx(conn, |conn| {
        // A second tab may have created it meanwhile; the unique user_id decides.
        if let Some(app) = find_for_user(conn, user_id)? {
            return Ok(app);
        }
        let id = crate::new_id();
        diesel::insert_into(applications::table)
            .values((
                applications::id.eq(&id),
                applications::user_id.eq(user_id),
                applications::status.eq(Status::Draft.as_str()),
                applications::step.eq(1),
                applications::avatar_color.eq(color),
                applications::created_at.eq(now),
                applications::updated_at.eq(now),
            ))
            .execute(conn)?;
        let app = find_for_user(conn, user_id)?.ok_or(AppError::NotFound)?;
        audit::write(
            conn,
            Record::<(), _> {
                actor,
                tenant_id: None,
                action: "application.created",
                subject: &subject(&id),
                before: None,
                after: Some(&app.snapshot()),
            },
            now,
        )?;
        Ok(app)
    })
}

pub fn subject(application_id: &str) -> String {
    format!("application:{application_id}")
}

/// The applicant's edits; each is one transaction with its audit row.
pub enum Edit<'a> {
    Role { role: &'a str },
    Details { company_name: &'a str, website: &'a str, contact_phone: &'a str, contact_email: &'a str },
    Logo { bytes: &'a [u8], mime: &'a str },
    RemoveLogo,
    Step { step: i32 },
}

/// Applies an edit to the applicant's own application, if it is editable.
pub fn edit(
    conn: &mut DbConn,
    actor: &Actor,
    user_id: &str,
    change: Edit<'_>,
    now: i64,
) -> Result<Application, AppError> {
    super::write_tx(conn, |conn| {
        let before = find_for_user(conn, user_id)?.ok_or(AppError::NotFound)?;
        if !before.status().editable() {
            return Err(AppError::Conflict("apply.not_editable".into()));
        }
        let mine = applications::table.filter(applications::user_id.eq(user_id));
        let (action, rows) = match change {
            Edit::Role { role } => (
                "application.role_selected",
                diesel::update(mine)
                    .set((applications::role.eq(role), applications::step.eq(2), applications::updated_at.eq(now)))
                    .execute(conn)?,
            ),
            Edit::Details { company_name, website, contact_phone, contact_email } => (
                "application.details_saved",
                diesel::update(mine)
                    .set((
                        applications::company_name.eq(company_name),
                        applications::website.eq(website),
                        applications::contact_phone.eq(contact_phone),
                        applications::contact_email.eq(contact_email),
                        applications::step.eq(3),
                        applications::updated_at.eq(now),
                    ))
                    .execute(conn)?,
            ),
            Edit::Logo { bytes, mime } => (
                "application.logo_uploaded",
                diesel::update(mine)
                    .set((
                        applications::logo.eq(Some(bytes)),
                        applications::logo_mime.eq(Some(mime)),
                        applications::updated_at.eq(now),
                    ))
                    .execute(conn)?,
            ),
            Edit::RemoveLogo => (
                "application.logo_removed",
                diesel::update(mine)
                    .set((
                        applications::logo.eq(None::<Vec<u8>>),
                        applications::logo_mime.eq(None::<String>),
                        applications::updated_at.eq(now),
                    ))
                    .execute(conn)?,
            ),
            Edit::Step { step } => (
                "application.step_changed",
                diesel::update(mine)
                    .set((applications::step.eq(step), applications::updated_at.eq(now)))
                    .execute(conn)?,
            ),
        };
        if rows != 1 {
            return Err(AppError::NotFound);
        }
        let after = find_for_user(conn, user_id)?.ok_or(AppError::NotFound)?;
        audit::write(
            conn,
            Record {
                actor,
                tenant_id: None,
                action,
                subject: &subject(&after.id),
                before: Some(&before.snapshot()),
                after: Some(&after.snapshot()),
            },
            now,
        )?;
        Ok(after)
    })
}

fn transition_error(e: TransitionError) -> AppError {
    match e {
        TransitionError::Incomplete(_) => AppError::Conflict("apply.incomplete".into()),
        TransitionError::ReasonRequired => AppError::Conflict("operator.reason_required".into()),
        TransitionError::NotAllowed { .. } => AppError::Conflict("apply.not_editable".into()),
    }
}

fn history(
    conn: &mut DbConn,
    app: &Application,
    kind: &str,
    actor: &Actor,
    reason: Option<&str>,
    now: i64,
) -> QueryResult<()> {
    diesel::insert_into(application_history::table)
        .values((
            application_history::id.eq(crate::new_id()),
            application_history::application_id.eq(&app.id),
            application_history::kind.eq(kind),
            application_history::actor_user_id.eq(actor.user_id.as_deref()),
            application_history::reason.eq(reason),
            application_history::snapshot.eq(serde_json::to_string(&app.snapshot()).unwrap_or_default()),
            application_history::at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Draft/Rejected → Submitted.
pub fn submit(conn: &mut DbConn, actor: &Actor, user_id: &str, now: i64) -> Result<Application, AppError> {
    super::write_tx(conn, |conn| {
        let before = find_for_user(conn, user_id)?.ok_or(AppError::NotFound)?;
        let next = rules::submit(
            before.status(),
            &rules::Filled { role: before.role.as_deref(), company_name: &before.company_name },
        )
        .map_err(transition_error)?;
        diesel::update(applications::table.filter(applications::user_id.eq(user_id)))
            .set((
                applications::status.eq(next.as_str()),
                applications::rejection_reason.eq(None::<String>),
                applications::submitted_at.eq(Some(now)),
                applications::updated_at.eq(now),
            ))
            .execute(conn)?;
        let after = find_for_user(conn, user_id)?.ok_or(AppError::NotFound)?;
        history(conn, &after, "submitted", actor, None, now)?;
        audit::write(
            conn,
            Record {
                actor,
                tenant_id: None,
                action: "application.submitted",
                subject: &subject(&after.id),
                before: Some(&before.snapshot()),
                after: Some(&after.snapshot()),
            },
            now,
        )?;
        Ok(after)
    })
}

/// The operator's decision, with everything it causes, in one transaction: the status,
/// the history row, the workspace and membership (on approval), the e-mail and the audit rows.
/// Returns the application after the decision.
pub fn decide(
    conn: &mut DbConn,
    actor: &Actor,
    application_id: &str,
    decision: &Decision<'_>,
    applicant_email: impl Fn(&Application) -> Option<super::outbox::Letter>,
    now: i64,
) -> Result<Application, AppError> {
    super::write_tx(conn, |conn| {
        let before = find(conn, application_id)?.ok_or(AppError::NotFound)?;
        let next = rules::decide(before.status(), decision).map_err(|e| match e {
            TransitionError::NotAllowed { .. } => AppError::Conflict("operator.already_decided".into()),
            other => transition_error(other),
        })?;
        let (reason, tenant_id) = match decision {
            Decision::Reject { reason } => (Some(reason.trim()), None),
            Decision::Approve => (None, Some(crate::new_id())),
        };
        // The status condition makes a concurrent second decision update nothing.
        let updated = diesel::update(
            applications::table
                .filter(applications::id.eq(application_id))
                .filter(applications::status.eq(Status::Submitted.as_str())),
        )
        .set((
            applications::status.eq(next.as_str()),
            applications::rejection_reason.eq(reason),
            applications::tenant_id.eq(tenant_id.as_deref()),
            applications::decided_at.eq(Some(now)),
            applications::updated_at.eq(now),
        ))
        .execute(conn)?;
        if updated != 1 {
            return Err(AppError::Conflict("operator.already_decided".into()));
        }
        if let Some(tenant_id) = &tenant_id {
            diesel::insert_into(tenants::table)
                .values((
                    tenants::id.eq(tenant_id),
                    tenants::name.eq(before.company_name.trim()),
                    tenants::logo.eq(before.logo.as_deref()),
                    tenants::logo_mime.eq(before.logo_mime.as_deref()),
                    tenants::avatar_color.eq(&before.avatar_color),
                    tenants::website.eq(&before.website),
                    tenants::contact_phone.eq(&before.contact_phone),
                    tenants::contact_email.eq(&before.contact_email),
                    tenants::application_id.eq(&before.id),
                    tenants::created_at.eq(now),
                ))
                .execute(conn)?;
            diesel::insert_into(tenant_members::table)
                .values((
                    tenant_members::tenant_id.eq(tenant_id),
                    tenant_members::user_id.eq(&before.user_id),
                    tenant_members::role.eq("admin"),
                    tenant_members::created_at.eq(now),
                ))
                .execute(conn)?;
            audit::write(
                conn,
                Record::<(), _> {
                    actor,
                    tenant_id: Some(tenant_id),
                    action: "tenant.created",
                    subject: &format!("tenant:{tenant_id}"),
                    before: None,
                    after: Some(&serde_json::json!({
                        "name": before.company_name.trim(),
                        "admin_user_id": before.user_id,
                    })),
                },
                now,
            )?;
        }
        let after = find(conn, application_id)?.ok_or(AppError::NotFound)?;
        let kind = if tenant_id.is_some() { "approved" } else { "rejected" };
        history(conn, &after, kind, actor, reason, now)?;
        audit::write(
            conn,
            Record {
                actor,
                tenant_id: tenant_id.as_deref(),
                action: &format!("application.{kind}"),
                subject: &subject(&after.id),
                before: Some(&before.snapshot()),
                after: Some(&serde_json::json!({ "status": after.status, "reason": reason })),
            },
            now,
        )?;
        if let Some(letter) = applicant_email(&after) {
            super::outbox::enqueue_letter(conn, &letter, now)?;
        }
        Ok(after)
    })
}

/// The operator's queue and lists.
pub fn list_by_status(conn: &mut DbConn, status: Status) -> QueryResult<Vec<ApplicationSummary>> {
    applications::table
        .filter(applications::status.eq(status.as_str()))
        .select(ApplicationSummary::as_select())
        .order((applications::submitted_at.asc(), applications::id.asc()))
        .load(conn)
}

pub fn history_of(conn: &mut DbConn, application_id: &str) -> QueryResult<Vec<ApplicationHistory>> {
    application_history::table
        .filter(application_history::application_id.eq(application_id))
        .select(ApplicationHistory::as_select())
        .order((application_history::at.asc(), application_history::id.asc()))
        .load(conn)
}

/// The logo bytes of the applicant's own application.
pub fn logo_for_user(conn: &mut DbConn, user_id: &str) -> QueryResult<Option<(Vec<u8>, String)>> {
    let row: Option<(Option<Vec<u8>>, Option<String>)> = applications::table
        .filter(applications::user_id.eq(user_id))
        .select((applications::logo, applications::logo_mime))
        .get_result(conn)
        .optional()?;
    Ok(row.and_then(|(logo, mime)| Some((logo?, mime?))))
}

/// The logo of any application, for the operator's review page.
pub fn logo_of(conn: &mut DbConn, application_id: &str) -> QueryResult<Option<(Vec<u8>, String)>> {
    let row: Option<(Option<Vec<u8>>, Option<String>)> = applications::table
        .find(application_id)
        .select((applications::logo, applications::logo_mime))
        .get_result(conn)
        .optional()?;
    Ok(row.and_then(|(logo, mime)| Some((logo?, mime?))))
}
