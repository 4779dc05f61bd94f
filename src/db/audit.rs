//! The audit log: one row per change of state, written in the same transaction.

use diesel::prelude::*;
use serde::Serialize;

use super::DbConn;
use super::models::AuditEntry;
use super::schema::audit_log;

/// Who did it: a signed-in user, or the system itself.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Option<String>,
    pub label: String,
}

impl Actor {
    pub fn user(id: &str, email: &str) -> Self {
        Self { user_id: Some(id.to_string()), label: email.to_string() }
    }
    pub fn system() -> Self {
        Self { user_id: None, label: "system".to_string() }
    }
}

/// One audit record; `before`/`after` are serialised to JSON.
pub struct Record<'a, B: Serialize, A: Serialize> {
    pub actor: &'a Actor,
    pub tenant_id: Option<&'a str>,
    pub action: &'a str,
    pub subject: &'a str,
    pub before: Option<&'a B>,
    pub after: Option<&'a A>,
}

pub fn write<B: Serialize, A: Serialize>(conn: &mut DbConn, rec: Record<'_, B, A>, now: i64) -> QueryResult<()> {
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::id.eq(crate::new_id()),
            audit_log::at.eq(now),
            audit_log::actor_user_id.eq(rec.actor.user_id.as_deref()),
            audit_log::actor_label.eq(&rec.actor.label),
            audit_log::tenant_id.eq(rec.tenant_id),
            audit_log::action.eq(rec.action),
            audit_log::subject.eq(rec.subject),
            audit_log::before_state.eq(rec.before.map(to_json)),
            audit_log::after_state.eq(rec.after.map(to_json)),
        ))
        .execute(conn)
        .map(|_| ())
}

fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_string())
}

/// Filters for the operator's audit log page.
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub action: Option<String>,
    pub tenant_id: Option<String>,
    pub actor: Option<String>,
}

pub fn list(conn: &mut DbConn, filter: &AuditFilter, limit: i64, offset: i64) -> QueryResult<Vec<AuditEntry>> {
    let mut query = audit_log::table.select(AuditEntry::as_select()).into_boxed();
    if let Some(action) = &filter.action {
        query = query.filter(audit_log::action.like(format!("{}%", escape_like(action))).escape('\\'));
    }
    if let Some(tenant) = &filter.tenant_id {
        query = query.filter(audit_log::tenant_id.eq(tenant.clone()));
    }
    if let Some(actor) = &filter.actor {
        query = query.filter(audit_log::actor_label.like(format!("%{}%", escape_like(actor))).escape('\\'));
    }
    query.order((audit_log::at.desc(), audit_log::id.desc())).limit(limit).offset(offset).load(conn)
}

/// Rows for one subject (e.g. an application), oldest first.
pub fn list_for_subject(conn: &mut DbConn, subject: &str) -> QueryResult<Vec<AuditEntry>> {
    audit_log::table
        .filter(audit_log::subject.eq(subject))
        .select(AuditEntry::as_select())
        .order((audit_log::at.asc(), audit_log::id.asc()))
        .load(conn)
}

pub fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}
