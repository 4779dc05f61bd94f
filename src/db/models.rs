//! Row structs (read) and insert forms (write). Ids are UUIDv7 strings made in Rust,
//! times are Unix seconds: the portable subset both backends share.

use diesel::prelude::*;
use serde::Serialize;

use super::schema::*;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: String,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub is_operator: bool,
    pub created_at: i64,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub id: &'a str,
    pub email: &'a str,
    pub name: &'a str,
    pub password_hash: &'a str,
    pub is_operator: bool,
    pub created_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = applications)]
pub struct Application {
    pub id: String,
    pub user_id: String,
    pub status: String,
    pub step: i32,
    pub role: Option<String>,
    pub company_name: String,
    pub website: String,
    pub contact_phone: String,
    pub contact_email: String,
    #[serde(skip)]
    pub logo: Option<Vec<u8>>,
    pub logo_mime: Option<String>,
    pub avatar_color: String,
    pub rejection_reason: Option<String>,
    pub tenant_id: Option<String>,
    pub submitted_at: Option<i64>,
    pub decided_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The application without its logo bytes, for lists.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = applications)]
pub struct ApplicationSummary {
    pub id: String,
    pub user_id: String,
    pub status: String,
    pub company_name: String,
    pub website: String,
    pub contact_phone: String,
    pub contact_email: String,
    pub avatar_color: String,
    pub submitted_at: Option<i64>,
    pub decided_at: Option<i64>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = application_history)]
pub struct ApplicationHistory {
    pub id: String,
    pub application_id: String,
    pub kind: String,
    pub actor_user_id: Option<String>,
    pub reason: Option<String>,
    pub snapshot: String,
    pub at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = tenants)]
pub struct Tenant {
    pub id: String,
    pub name: String,
    pub logo_mime: Option<String>,
    pub avatar_color: String,
    pub website: String,
    pub contact_phone: String,
    pub contact_email: String,
    pub application_id: String,
    pub created_at: i64,
    pub linked_oa_subject: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
pub struct AuditEntry {
    pub id: String,
    pub at: i64,
    pub actor_user_id: Option<String>,
    pub actor_label: String,
    pub tenant_id: Option<String>,
    pub action: String,
    pub subject: String,
    pub before_state: Option<String>,
    pub after_state: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox_emails)]
pub struct OutboxEmail {
    pub id: String,
    pub to_address: String,
    pub subject: String,
    pub body_text: String,
    #[diesel(deserialize_as = String)]
    pub status: crate::domain::email::EmailStatus,
    pub created_at: i64,
    pub sent_at: Option<i64>,
    /// The HTML part (multipart/alternative with `body_text`); older rows have none.
    pub body_html: Option<String>,
    /// The recipient's language it was written in first; none: English, then Chinese.
    pub locale: Option<String>,
    /// Attempts made so far.
    pub attempts: i32,
    /// When a pending message is tried (again).
    pub next_attempt_at: i64,
    pub last_attempt_at: Option<i64>,
    /// The SMTP server's last refusal (code and text), or what went wrong on the way.
    pub last_error: Option<String>,
    /// The instance sending it now (or, for an uncertain one, the one that was).
    pub claimed_by: Option<String>,
    pub claimed_at: Option<i64>,
}
