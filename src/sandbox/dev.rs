//! JSON endpoints for tests and scripts under `/sandbox/dev/` (no session, no CSRF token:
//! they take JSON bodies, which a cross-site form cannot send). They do exactly what the
//! human page's buttons do.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::manage::{self, catalog, state};
use super::{Sandbox, api, run_sim, sim, store, with_conn};

fn error(status: StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "error": message }))
}

fn refused(e: &sim::SimError) -> HttpResponse {
    let status = match e {
        sim::SimError::Refused("sandbox.err.no_account") => StatusCode::NOT_FOUND,
        sim::SimError::Refused("sandbox.err.internal") | sim::SimError::Db(_) => StatusCode::INTERNAL_SERVER_ERROR,
        sim::SimError::Refused("sandbox.err.not_authorized") => StatusCode::CONFLICT,
        _ => StatusCode::BAD_REQUEST,
    };
    let key = e.key();
    error(status, key.strip_prefix("sandbox.err.").unwrap_or(key))
}

fn parse<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, Box<HttpResponse>> {
    serde_json::from_slice(bytes)
        .map_err(|e| Box::new(error(StatusCode::BAD_REQUEST, &format!("invalid JSON body: {e}"))))
}

fn internal(e: impl std::fmt::Debug) -> HttpResponse {
    tracing::error!(error = ?e, "sandbox dev endpoint failed");
    error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
}

/// Reads with [`with_conn`]; `Err` is the 500 answer.
async fn read<T, F>(sb: &Sandbox, f: F) -> Result<T, HttpResponse>
where
    T: Send + 'static,
    F: FnOnce(&mut crate::db::DbConn) -> diesel::QueryResult<T> + Send + 'static,
{
    match with_conn(&sb.pool, f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(internal(e)),
        Err(e) => Err(internal(e)),
    }
}

/// Any other path or method under `/sandbox/dev`.
pub async fn not_found() -> HttpResponse {
    error(StatusCode::NOT_FOUND, "no such dev endpoint")
}

/// `GET /sandbox/dev/ticket`: the last ticket pushed, 404 before the first.
pub async fn ticket(sb: web::Data<Sandbox>) -> HttpResponse {
    match read(&sb, store::last_ticket).await {
        Ok(Some(t)) => HttpResponse::Ok().json(json!({ "ticket": t.ticket, "created_at": t.created_at })),
        Ok(None) => error(StatusCode::NOT_FOUND, "no ticket pushed yet"),
        Err(resp) => resp,
    }
}

/// `POST /sandbox/dev/push-ticket`: mints and pushes a ticket now; answers it with the
/// console's HTTP status (null when it could not be reached).
pub async fn push_ticket(sb: web::Data<Sandbox>) -> HttpResponse {
    let appid = sb.config.component_appid.clone();
    match run_sim(&sb.pool, move |c, now| sim::new_ticket(c, &appid, now, true)).await {
        Ok((ticket, push_id)) => {
            let attempt = sb.pusher.deliver(Some(push_id)).await;
            HttpResponse::Ok().json(json!({
                "ticket": ticket.ticket,
                "created_at": ticket.created_at,
                "http_status": attempt.as_ref().and_then(|a| a.http_status),
                "delivered": attempt.is_some_and(|a| a.delivered),
            }))
        }
        Err(e) => refused(&e),
    }
}

#[derive(Deserialize)]
pub struct NewFault {
    endpoint: String,
    kind: String,
    #[serde(default)]
    value: i64,
    #[serde(default = "one")]
    count: i32,
}

fn one() -> i32 {
    1
}

/// Checks a fault as the page's form does; returns the endpoint as stored.
pub fn validate_fault(endpoint: &str, kind: &str, value: i64, count: i32) -> Result<String, &'static str> {
    let endpoint = endpoint.trim();
    let endpoint = endpoint.strip_prefix("/sandbox/wechat").unwrap_or(endpoint);
    if endpoint != "*" && (!endpoint.starts_with('/') || endpoint.len() > 200) {
        return Err("fault_endpoint");
    }
    if !store::FAULT_KINDS.contains(&kind) {
        return Err("fault_kind");
    }
    let value_ok = match kind {
        "http" => (100..=599).contains(&value),
        "latency" => (0..=120_000).contains(&value),
        _ => true,
    };
    if !value_ok {
        return Err("fault_value");
    }
    if !(1..=10_000).contains(&count) {
        return Err("fault_count");
    }
    Ok(endpoint.to_string())
}

/// `POST /sandbox/dev/faults` `{"endpoint", "kind", "value", "count"}`.
pub async fn add_fault(sb: web::Data<Sandbox>, bytes: web::Bytes) -> HttpResponse {
    let f: NewFault = match parse(&bytes) {
        Ok(f) => f,
        Err(resp) => return *resp,
    };
    let endpoint = match validate_fault(&f.endpoint, &f.kind, f.value, f.count) {
        Ok(e) => e,
        Err(key) => return error(StatusCode::BAD_REQUEST, key),
    };
    let result =
        run_sim(&sb.pool, move |c, now| Ok(store::insert_fault(c, &endpoint, &f.kind, f.value, f.count, now)?)).await;
    match result {
        Ok(id) => HttpResponse::Created().json(json!({ "id": id })),
        Err(e) => refused(&e),
    }
}

pub async fn list_faults(sb: web::Data<Sandbox>) -> HttpResponse {
    match read(&sb, store::list_faults).await {
        Ok(faults) => HttpResponse::Ok().json(json!({ "faults": faults })),
        Err(resp) => resp,
    }
}

/// `DELETE /sandbox/dev/faults`.
pub async fn clear_faults(sb: web::Data<Sandbox>) -> HttpResponse {
    match run_sim(&sb.pool, |c, _| Ok(store::clear_faults(c)?)).await {
        Ok(n) => HttpResponse::Ok().json(json!({ "cleared": n })),
        Err(e) => refused(&e),
    }
}

/// `GET /sandbox/dev/calls?endpoint=…&since=…&limit=…`: the call log, oldest first (the
/// newest `limit`, 1000 unless asked; `since` in Unix seconds).
pub async fn calls(sb: web::Data<Sandbox>, req: HttpRequest) -> HttpResponse {
    let mut query = api::query_map(&req);
    let endpoint = query.remove("endpoint").map(|e| e.strip_prefix("/sandbox/wechat").map(str::to_string).unwrap_or(e));
    let since = query.remove("since").and_then(|s| s.parse::<i64>().ok());
    let limit = query.remove("limit").and_then(|s| s.parse::<i64>().ok()).unwrap_or(1000).clamp(1, 100_000);
    match read(&sb, move |c| store::list_calls_since(c, endpoint.as_deref(), since, limit)).await {
        Ok(calls) => HttpResponse::Ok().json(json!({ "count": calls.len(), "calls": calls })),
        Err(resp) => resp,
    }
}

/// `GET /sandbox/dev/pushes`: the push log, newest first (last 200), with each decrypted payload.
pub async fn pushes(sb: web::Data<Sandbox>) -> HttpResponse {
    match read(&sb, |c| store::list_pushes(c, 200)).await {
        Ok(pushes) => HttpResponse::Ok().json(json!({ "count": pushes.len(), "pushes": pushes })),
        Err(resp) => resp,
    }
}

/// `GET /sandbox/dev/accounts`: the simulated accounts with their authorization and
/// approved service categories (by name).
pub async fn accounts(sb: web::Data<Sandbox>) -> HttpResponse {
    let loaded = read(&sb, |c| {
        let accounts = store::list_accounts(c)?;
        let mut categories = Vec::with_capacity(accounts.len());
        for a in &accounts {
            let approved: Vec<Value> = state::categories(c, &a.appid)?
                .iter()
                .filter(|x| x.audit_status == 3)
                .map(|x| {
                    let (first, second) = x.names();
                    json!({ "first": first, "second": second })
                })
                .collect();
            categories.push(approved);
        }
        Ok((accounts, categories, store::list_authorizations(c)?))
    })
    .await;
    match loaded {
        Ok((accounts, categories, auths)) => {
            let list: Vec<Value> = accounts
                .into_iter()
                .zip(categories)
                .map(|(a, categories)| {
                    let auth = auths.iter().find(|x| x.authorizer_appid == a.appid);
                    json!({
                        "appid": a.appid,
                        "kind": a.kind,
                        "nick_name": a.nick_name,
                        "principal_name": a.principal_name,
                        "verified": a.verified,
                        "categories": categories,
                        "authorized": auth.is_some_and(|x| x.active),
                        "func_ids": auth.filter(|x| x.active).map(|x| x.func_ids()).unwrap_or_default(),
                    })
                })
                .collect();
            HttpResponse::Ok().json(json!({ "accounts": list }))
        }
        Err(resp) => resp,
    }
}

/// The body of `POST /sandbox/dev/accounts/{appid}`.
#[derive(Deserialize)]
pub struct AccountEditRequest {
    #[serde(flatten)]
    edit: store::AccountEdit,
    /// A mini program's service categories by name (`{first, second}`), all approved;
    /// they replace its categories.
    categories: Option<Vec<CategoryName>>,
}

#[derive(Deserialize)]
pub struct CategoryName {
    first: String,
    second: String,
}

/// `POST /sandbox/dev/accounts/{appid}`: edits fields (see [`store::AccountEdit`]).
pub async fn edit_account(sb: web::Data<Sandbox>, path: web::Path<String>, bytes: web::Bytes) -> HttpResponse {
    let AccountEditRequest { edit, categories } = match parse(&bytes) {
        Ok(e) => e,
        Err(resp) => return *resp,
    };
    let categories = match categories {
        None => None,
        Some(names) => {
            let found: Option<Vec<_>> = names
                .iter()
                .map(|n| {
                    catalog::category_by_name(&n.first, &n.second)
                        .and_then(|(f, s)| manage::edit::category_edit(f.id, s.id, 3, "").ok())
                })
                .collect();
            match found {
                Some(c) => Some(c),
                None => return error(StatusCode::BAD_REQUEST, "categories_invalid"),
            }
        }
    };
    let appid = path.into_inner();
    let result = run_sim(&sb.pool, move |c, now| {
        if store::update_account(c, &appid, &edit, now)? == 0 {
            return Err(sim::SimError::Refused("sandbox.err.no_account"));
        }
        if let Some(categories) = categories {
            let change = manage::edit::MpEdit { categories: Some(categories), ..Default::default() };
            manage::edit::apply(c, &appid, &change, now).map_err(|e| match e {
                manage::edit::EditError::NotFound => sim::SimError::Refused("sandbox.err.categories_invalid"),
                manage::edit::EditError::Db(e) => sim::SimError::Db(e),
            })?;
        }
        Ok(())
    })
    .await;
    match result {
        Ok(()) => HttpResponse::Ok().json(json!({ "ok": true })),
        Err(e) => refused(&e),
    }
}

#[derive(Deserialize)]
pub struct AuthorizeRequest {
    pre_auth_code: String,
    appid: String,
    func_ids: Vec<i64>,
    redirect_uri: String,
}

/// `POST /sandbox/dev/authorize`: what the page's Authorize button does.
pub async fn authorize(sb: web::Data<Sandbox>, bytes: web::Bytes) -> HttpResponse {
    let r: AuthorizeRequest = match parse(&bytes) {
        Ok(r) => r,
        Err(resp) => return *resp,
    };
    let (component, public) = (sb.config.component_appid.clone(), sb.config.public_url.clone());
    let result = run_sim(&sb.pool, move |c, now| {
        let request = sim::AuthorizeInput {
            pre_auth_code: &r.pre_auth_code,
            appid: &r.appid,
            func_ids: &r.func_ids,
            redirect_uri: &r.redirect_uri,
        };
        sim::authorize(c, &component, &public, &request, now)
    })
    .await;
    match result {
        Ok(done) => {
            sb.pusher.wake();
            HttpResponse::Ok().json(json!({
                "redirect": done.redirect,
                "auth_code": done.auth_code.code,
                "expires_in": store::AUTH_CODE_TTL_SECS,
                "push": done.info_type,
            }))
        }
        Err(e) => refused(&e),
    }
}

#[derive(Deserialize)]
pub struct AppidRequest {
    appid: String,
}

/// `POST /sandbox/dev/revoke` `{"appid"}`: the administrator cancels the authorization.
pub async fn revoke(sb: web::Data<Sandbox>, bytes: web::Bytes) -> HttpResponse {
    let r: AppidRequest = match parse(&bytes) {
        Ok(r) => r,
        Err(resp) => return *resp,
    };
    let component = sb.config.component_appid.clone();
    match run_sim(&sb.pool, move |c, now| sim::revoke(c, &component, &r.appid, now)).await {
        Ok(()) => {
            sb.pusher.wake();
            HttpResponse::Ok().json(json!({ "ok": true }))
        }
        Err(e) => refused(&e),
    }
}

#[derive(Deserialize)]
pub struct PermissionsRequest {
    appid: String,
    func_ids: Vec<i64>,
}

/// `POST /sandbox/dev/update-permissions` `{"appid", "func_ids"}`.
pub async fn update_permissions(sb: web::Data<Sandbox>, bytes: web::Bytes) -> HttpResponse {
    let r: PermissionsRequest = match parse(&bytes) {
        Ok(r) => r,
        Err(resp) => return *resp,
    };
    let component = sb.config.component_appid.clone();
    let result =
        run_sim(&sb.pool, move |c, now| sim::update_permissions(c, &component, &r.appid, &r.func_ids, now)).await;
    match result {
        Ok(changed) => {
            sb.pusher.wake();
            HttpResponse::Ok().json(json!({ "changed": changed }))
        }
        Err(e) => refused(&e),
    }
}

/// `POST /sandbox/dev/expire-tokens`: every issued token is expired from now on.
pub async fn expire_tokens(sb: web::Data<Sandbox>) -> HttpResponse {
    match run_sim(&sb.pool, |c, now| Ok(store::expire_all_tokens(c, now)?)).await {
        Ok(n) => HttpResponse::Ok().json(json!({ "expired": n })),
        Err(e) => refused(&e),
    }
}

/// `POST /sandbox/dev/expire-codes`: every pre_auth_code and auth_code is expired.
pub async fn expire_codes(sb: web::Data<Sandbox>) -> HttpResponse {
    match run_sim(&sb.pool, |c, now| Ok(store::expire_all_codes(c, now)?)).await {
        Ok(n) => HttpResponse::Ok().json(json!({ "expired": n })),
        Err(e) => refused(&e),
    }
}

/// `POST /sandbox/dev/expire-tickets`: every ticket becomes older than 12 hours.
pub async fn expire_tickets(sb: web::Data<Sandbox>) -> HttpResponse {
    match run_sim(&sb.pool, |c, _| Ok(store::age_all_tickets(c)?)).await {
        Ok(n) => HttpResponse::Ok().json(json!({ "expired": n })),
        Err(e) => refused(&e),
    }
}
