//! JSON endpoints of the Alipay simulator for tests and scripts (no session, no CSRF token):
//!
//! * `POST /sandbox/dev/alipay/apps {"name", "app_public_key", "app_id"?}`: registers an
//!   application → 200 `{"app_id", "alipay_public_key"}`; 400 `{"error"}` (name missing or
//!   over 128 characters, a key that is not an RSA public key of 2048 bits or more, an app_id
//!   that is not 16 digits), 409 app_id taken. `GET` lists them `{"apps": [...]}`.
//! * `POST /sandbox/dev/alipay/pay {"qr_code"}` or `{"app_id", "out_trade_no"}`: the buyer
//!   pays → 200 the trade; 404 no such trade; 409 `{"error", "trade_status"}` not payable.
//! * `GET /sandbox/dev/alipay/notifications`: the newest 100 with their attempts.
//! * `POST /sandbox/dev/alipay/notifications/{id}/resend`: sends once more now → 200 the
//!   attempt `{"notification_id", "attempt", "http_status", "delivered", "status"}`; 404
//!   unknown; 409 being sent.

use actix_web::{HttpResponse, http::StatusCode, web};
use serde_json::{Value, json};

use super::store::{self, App};
use super::trades::{self, PayError};
use super::{notify, qr_token};
use crate::db::{self, DbConn};
use crate::pay::keys::PublicKey;
use crate::sandbox::pay::ALIPAY_PUBLIC_KEY_PEM;
use crate::sandbox::{Sandbox, with_conn};

fn error(status: StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "error": message }))
}

fn internal(e: impl std::fmt::Debug) -> HttpResponse {
    tracing::error!(error = ?e, "sandbox alipay: dev endpoint failed");
    error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
}

/// Why an application could not be registered.
#[derive(Debug, PartialEq, Eq)]
pub enum RegisterError {
    NameRequired,
    NameTooLong,
    BadKey,
    BadAppId,
    Taken,
    Internal,
}

impl RegisterError {
    pub fn message(&self) -> &'static str {
        match self {
            Self::NameRequired => "the company name is required",
            Self::NameTooLong => "the company name is longer than 128 characters",
            Self::BadKey => "the application public key is not an RSA public key of 2048 bits or more (PEM or base64)",
            Self::BadAppId => "app_id must be 16 digits",
            Self::Taken => "this app_id is already registered",
            Self::Internal => "internal error",
        }
    }
}

/// Checks an application's registration (pure).
pub fn check_registration(name: &str, key: &str, app_id: Option<&str>) -> Result<(), RegisterError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(RegisterError::NameRequired);
    }
    if name.chars().count() > 128 {
        return Err(RegisterError::NameTooLong);
    }
    if PublicKey::parse(key.trim()).is_err() {
        return Err(RegisterError::BadKey);
    }
    if app_id.is_some_and(|a| a.len() != 16 || !a.bytes().all(|b| b.is_ascii_digit())) {
        return Err(RegisterError::BadAppId);
    }
    Ok(())
}

/// Registers an application (the dev endpoint and the page's form); a new app id
/// `2021` + 12 digits unless given.
pub fn register(
    conn: &mut DbConn,
    name: &str,
    key: &str,
    app_id: Option<&str>,
    now: i64,
) -> Result<App, RegisterError> {
    check_registration(name, key, app_id)?;
    let app_id = match app_id {
        Some(a) => a.to_string(),
        None => {
            use rand::RngExt as _;
            format!("2021{:012}", rand::rng().random_range(0..1_000_000_000_000u64))
        }
    };
    let app = App { app_id, name: name.trim().to_string(), app_public_key: key.trim().to_string(), created_at: now };
    let inserted = db::write_tx(conn, |c| {
        if store::find_app(c, &app.app_id)?.is_some() {
            return Ok(false);
        }
        store::insert_app(c, &app).map(|_| true)
    });
    match inserted {
        Ok(true) => Ok(app),
        Ok(false) => Err(RegisterError::Taken),
        Err(e) => {
            let e: diesel::result::Error = e;
            tracing::error!(error = %e, "sandbox alipay: cannot register an application");
            Err(RegisterError::Internal)
        }
    }
}

pub fn app_json(a: &App) -> Value {
    json!({ "app_id": a.app_id, "name": a.name, "app_public_key": a.app_public_key, "created_at": a.created_at })
}

/// `POST /sandbox/dev/alipay/apps`.
pub async fn create_app(sb: web::Data<Sandbox>, body: web::Json<Value>) -> HttpResponse {
    let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
    let (name, key, app_id) =
        (text("name").unwrap_or_default(), text("app_public_key").unwrap_or_default(), text("app_id"));
    let done = with_conn(&sb.pool, move |c| register(c, &name, &key, app_id.as_deref(), crate::now())).await;
    match done {
        Ok(Ok(app)) => {
            HttpResponse::Ok().json(json!({ "app_id": app.app_id, "alipay_public_key": ALIPAY_PUBLIC_KEY_PEM }))
        }
        Ok(Err(RegisterError::Taken)) => error(StatusCode::CONFLICT, RegisterError::Taken.message()),
        Ok(Err(RegisterError::Internal)) => internal("register"),
        Ok(Err(e)) => error(StatusCode::BAD_REQUEST, e.message()),
        Err(e) => internal(e),
    }
}

/// `GET /sandbox/dev/alipay/apps`.
pub async fn list_apps(sb: web::Data<Sandbox>) -> HttpResponse {
    match with_conn(&sb.pool, store::list_apps).await {
        Ok(Ok(apps)) => HttpResponse::Ok().json(json!({ "apps": apps.iter().map(app_json).collect::<Vec<_>>() })),
        Ok(Err(e)) => internal(e),
        Err(e) => internal(e),
    }
}

/// Pays a trade in one transaction and sends its notification right away.
pub async fn pay_trade(sb: &web::Data<Sandbox>, trade_id: String) -> Result<store::Trade, PayError> {
    let done = with_conn(&sb.pool, move |c| db::write_tx(c, |c| trades::pay(c, &trade_id, crate::now()))).await;
    match done {
        Ok(Ok((trade, queued))) => {
            if let Some(id) = queued {
                notify::send_soon(sb.clone(), id);
            }
            Ok(trade)
        }
        Ok(Err(e)) => Err(e),
        Err(_) => Err(PayError::Db(diesel::result::Error::BrokenTransactionManager)),
    }
}

/// `POST /sandbox/dev/alipay/pay`.
pub async fn pay(sb: web::Data<Sandbox>, body: web::Json<Value>) -> HttpResponse {
    let text = |k: &str| body.get(k).and_then(Value::as_str).map(|s| s.trim().to_string());
    let (qr, app_id, out) = (text("qr_code"), text("app_id"), text("out_trade_no"));
    let found = with_conn(&sb.pool, move |c| match (qr, app_id, out) {
        (Some(qr), _, _) => store::find_by_qr_token(c, qr_token(&qr)),
        (None, Some(app), Some(out)) => store::find_by_out_trade_no(c, &app, &out),
        _ => Ok(None),
    })
    .await;
    let trade = match found {
        Ok(Ok(Some(t))) => t,
        Ok(Ok(None)) => {
            return error(StatusCode::NOT_FOUND, "no such trade (give qr_code, or app_id and out_trade_no)");
        }
        Ok(Err(e)) => return internal(e),
        Err(e) => return internal(e),
    };
    match pay_trade(&sb, trade.id).await {
        Ok(t) => HttpResponse::Ok().json(trades::trade_json(&t)),
        Err(PayError::NotPayable(status)) => {
            HttpResponse::Conflict().json(json!({ "error": "the trade cannot be paid", "trade_status": status }))
        }
        Err(PayError::NotFound) => error(StatusCode::NOT_FOUND, "no such trade"),
        Err(PayError::Db(e)) => internal(e),
    }
}

/// A notification with its attempts.
pub fn notification_json(n: &store::Notification, attempts: &[store::Attempt]) -> Value {
    let fields: Value = serde_json::from_str(&n.params).unwrap_or(Value::Null);
    json!({
        "id": n.id,
        "app_id": n.app_id,
        "notify_url": n.notify_url,
        "notify_id": n.notify_id,
        "status": n.status,
        "attempts": n.attempts,
        "fields": fields,
        "created_at": n.created_at,
        "tries": attempts.iter().filter(|a| a.notification_id == n.id).map(|a| json!({
            "at_ms": a.at_ms, "http_status": a.http_status, "body": a.body, "outcome": a.outcome,
        })).collect::<Vec<_>>(),
    })
}

/// The newest notifications and their attempts.
pub fn load_notifications(
    conn: &mut DbConn,
    limit: i64,
) -> diesel::QueryResult<(Vec<store::Notification>, Vec<store::Attempt>)> {
    let notes = store::list_notifications(conn, limit)?;
    let ids: Vec<String> = notes.iter().map(|n| n.id.clone()).collect();
    let attempts = store::attempts_of(conn, &ids)?;
    Ok((notes, attempts))
}

/// `GET /sandbox/dev/alipay/notifications`.
pub async fn notifications(sb: web::Data<Sandbox>) -> HttpResponse {
    match with_conn(&sb.pool, |c| load_notifications(c, 100)).await {
        Ok(Ok((notes, attempts))) => HttpResponse::Ok().json(json!({
            "notifications": notes.iter().map(|n| notification_json(n, &attempts)).collect::<Vec<_>>()
        })),
        Ok(Err(e)) => internal(e),
        Err(e) => internal(e),
    }
}

/// `POST /sandbox/dev/alipay/notifications/{id}/resend`.
pub async fn resend(sb: web::Data<Sandbox>, path: web::Path<String>) -> HttpResponse {
    let id = path.into_inner();
    let lookup = id.clone();
    match with_conn(&sb.pool, move |c| store::find_notification(c, &lookup)).await {
        Ok(Ok(Some(_))) => {}
        Ok(Ok(None)) => return error(StatusCode::NOT_FOUND, "no such notification"),
        Ok(Err(e)) => return internal(e),
        Err(e) => return internal(e),
    }
    match notify::resend(&sb, &id).await {
        Ok(Some(sent)) => HttpResponse::Ok().json(sent),
        Ok(None) => error(StatusCode::CONFLICT, "the notification is being sent"),
        Err(e) => internal(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::pay::ALIPAY_DEMO_APP_PUBLIC_KEY_PEM;

    #[test]
    fn registrations_are_checked() {
        let key = ALIPAY_DEMO_APP_PUBLIC_KEY_PEM;
        assert_eq!(check_registration("Acme", key, None), Ok(()));
        assert_eq!(check_registration("Acme", key, Some("2021000100000009")), Ok(()));
        let bare: String = key.lines().filter(|l| !l.starts_with("-----")).collect();
        assert_eq!(check_registration("Acme", &bare, None), Ok(()));
        assert_eq!(check_registration(" ", key, None), Err(RegisterError::NameRequired));
        assert_eq!(check_registration(&"x".repeat(129), key, None), Err(RegisterError::NameTooLong));
        assert_eq!(check_registration("Acme", "not a key", None), Err(RegisterError::BadKey));
        assert_eq!(check_registration("Acme", key, Some("2021")), Err(RegisterError::BadAppId));
    }
}
