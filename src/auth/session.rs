//! The cookie session (signed and encrypted by actix-session) and typed access to it.
//!
//! The cookie holds the id of a `user_sessions` row, the CSRF token, flash messages,
//! and, between the password and the code of a login with a second factor, a pending-login
//! marker (the user, when the password passed, wrong codes so far); an invitation link
//! opened while signed out is remembered there until the login. Authentication always goes
//! back to the row.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use actix_session::{Session, SessionExt};
use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, web};
use serde::{Deserialize, Serialize};

use crate::db::{
    self, DbPool,
    models::{Tenant, User},
};
use crate::domain::session::{Timeouts, needs_touch};
use crate::error::AppError;

use super::token;

const SID: &str = "sid";
const CSRF: &str = "csrf";
const FLASH: &str = "flash";
const PENDING_LOGIN: &str = "pending_login";
const INVITATION: &str = "invitation";

/// A login whose password passed and that waits for its second-factor code. The session is
/// not signed in until the code passes; wrong codes are also counted on the server (the
/// failed-login throttle), since an old cookie could be sent again.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingLogin {
    pub user_id: String,
    pub started_at: i64,
    pub attempts: u32,
}

/// A message shown once on the next page.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flash {
    /// "success", "info" or "error".
    pub kind: String,
    /// Message-catalog key.
    pub key: String,
}

pub struct TypedSession(pub Session);

impl TypedSession {
    pub fn session_id(&self) -> Option<String> {
        self.0.get::<String>(SID).ok().flatten()
    }

    /// Starts a login: a new cookie (rotated id), a new CSRF token and the session row id.
    /// Flash messages and a remembered invitation are kept.
    pub fn begin_login(&self, session_id: &str) -> Result<(), AppError> {
        self.start_over()?;
        self.insert(SID, session_id)
    }

    /// The password passed and the second factor is next: a new cookie that signs nobody in
    /// yet, holding the pending login.
    pub fn begin_second_factor(&self, user_id: &str, now: i64) -> Result<(), AppError> {
        self.start_over()?;
        self.insert(PENDING_LOGIN, PendingLogin { user_id: user_id.to_string(), started_at: now, attempts: 0 })
    }

    /// A fresh cookie (rotated id, new CSRF token) keeping flash messages and the invitation.
    fn start_over(&self) -> Result<(), AppError> {
        let flash = self.peek_flash();
        let invitation = self.invitation();
        self.0.renew();
        self.0.clear();
        self.insert(CSRF, token::new_token())?;
        if let Some(invitation) = invitation {
            self.insert(INVITATION, invitation)?;
        }
        self.insert(FLASH, flash)
    }

    pub fn pending_login(&self) -> Option<PendingLogin> {
        self.0.get::<PendingLogin>(PENDING_LOGIN).ok().flatten()
    }

    pub fn set_pending_login(&self, pending: &PendingLogin) -> Result<(), AppError> {
        self.insert(PENDING_LOGIN, pending)
    }

    pub fn clear_pending_login(&self) {
        self.0.remove(PENDING_LOGIN);
    }

    /// Remembers the token of an invitation opened while signed out, for after the login.
    pub fn remember_invitation(&self, token: &str) -> Result<(), AppError> {
        self.insert(INVITATION, token)
    }

    pub fn invitation(&self) -> Option<String> {
        self.0.get::<String>(INVITATION).ok().flatten()
    }

    pub fn forget_invitation(&self) {
        self.0.remove(INVITATION);
    }

    pub fn end(&self) {
        self.0.purge();
    }

    /// The CSRF token of this session, created on first use.
    pub fn csrf_token(&self) -> Result<String, AppError> {
        if let Some(token) = self.0.get::<String>(CSRF).ok().flatten() {
            return Ok(token);
        }
        let token = token::new_token();
        self.insert(CSRF, &token)?;
        Ok(token)
    }

    pub fn existing_csrf_token(&self) -> Option<String> {
        self.0.get::<String>(CSRF).ok().flatten()
    }

    pub fn flash(&self, kind: &str, key: &str) {
        let mut all = self.peek_flash();
        all.push(Flash { kind: kind.into(), key: key.into() });
        let _ = self.insert(FLASH, all);
    }

    fn peek_flash(&self) -> Vec<Flash> {
        self.0.get::<Vec<Flash>>(FLASH).ok().flatten().unwrap_or_default()
    }

    pub fn take_flash(&self) -> Vec<Flash> {
        let all = self.peek_flash();
        if !all.is_empty() {
            self.0.remove(FLASH);
        }
        all
    }

    fn insert(&self, key: &str, value: impl Serialize) -> Result<(), AppError> {
        self.0.insert(key, value).map_err(|e| AppError::Internal(anyhow::anyhow!("session: {e}")))
    }
}

impl FromRequest for TypedSession {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Ok(Self(req.get_session())))
    }
}

/// The signed-in user, looked up from the session row.
#[derive(Debug, Clone)]
pub struct CurrentUser(pub User);

/// The signed-in user if there is one.
pub struct MaybeUser(pub Option<User>);

/// A signed-in operator; anyone else gets 403.
pub struct Operator(pub User);

/// The tenant named in the URL (`/w/{tenant_id}/…`) and the signed-in user, who is one
/// of its members. Anyone else gets 404, the same answer as for a tenant that does not
/// exist, so ids cannot be probed. The membership is checked in SQL, not after loading.
pub struct CurrentTenant {
    pub tenant: Tenant,
    pub user: User,
}

impl CurrentTenant {
    pub fn id(&self) -> &str {
        &self.tenant.id
    }

    /// The URL's tenant and its member from a resolved context: signed out → log in,
    /// not a member (or no such tenant) → 404.
    pub fn of(resolved: &Resolved) -> Result<Self, AppError> {
        let user = resolved.user.clone().ok_or(AppError::LoginRequired)?;
        let tenant = resolved.url_tenant.clone().ok_or(AppError::NotFound)?;
        Ok(CurrentTenant { tenant, user })
    }

    /// The audit-log actor for changes this user makes.
    pub fn actor(&self) -> crate::db::audit::Actor {
        crate::db::audit::Actor::user(&self.user.id, &self.user.email)
    }
}

/// Who is asking, resolved once per request in one blocking trip to the database:
/// session row → user → membership of the tenant in the URL → the header's workspace.
#[derive(Debug, Default)]
pub struct Resolved {
    pub user: Option<User>,
    /// The signed-in session (with `user`).
    pub session: Option<SessionMeta>,
    /// The signed-in user has a confirmed second factor.
    pub two_factor: bool,
    /// The URL's tenant, when the user is one of its members.
    pub url_tenant: Option<Tenant>,
    /// The workspace shown in the header (tenant members only, not operators).
    pub badge: Option<Tenant>,
}

/// The signed-in session as the request sees it.
#[derive(Debug, Clone)]
pub struct SessionMeta {
    pub id: String,
    /// The handle the account page uses for it.
    pub public_id: String,
    pub last_seen_at: i64,
}

/// The shared, lazily filled context of one request: every extractor awaits the same
/// cell, so however many of them a handler takes, the database is asked once.
type Cell = Rc<tokio::sync::OnceCell<Rc<Resolved>>>;

/// The request's context cell, created on first use.
fn cell(req: &HttpRequest) -> Cell {
    let mut ext = req.extensions_mut();
    match ext.get::<Cell>() {
        Some(cell) => cell.clone(),
        None => {
            let cell = Cell::default();
            ext.insert(cell.clone());
            cell
        }
    }
}

/// The request's resolved context (one trip on first use, then cached).
pub async fn resolve(req: &HttpRequest) -> Result<Rc<Resolved>, AppError> {
    cell(req).get_or_try_init(|| load(req)).await.cloned()
}

/// The context if an earlier extractor of this request already read it.
pub fn resolved(req: &HttpRequest) -> Option<Rc<Resolved>> {
    cell(req).get().cloned()
}

/// Keeps a context read together with a page's own data (see `views::TenantPage`), so the
/// request's other extractors use it instead of asking the database again.
pub fn keep(req: &HttpRequest, resolved: Resolved) -> Rc<Resolved> {
    let resolved = Rc::new(resolved);
    // Set unless another extractor got there first; both read the same rows.
    let _ = cell(req).set(resolved.clone());
    resolved
}

/// What the context read needs from the request, taken before the trip: the session row
/// id (none: nobody is signed in) and the tenant id in the URL.
pub struct ContextKey {
    sid: Option<String>,
    url_tenant: Option<String>,
    now: i64,
    timeouts: Timeouts,
}

impl ContextKey {
    pub fn of(req: &HttpRequest) -> Self {
        Self {
            sid: req.get_session().get::<String>(SID).ok().flatten(),
            url_tenant: req.match_info().get("tenant_id").map(str::to_string),
            now: crate::now(),
            timeouts: req
                .app_data::<web::Data<crate::config::AppConfig>>()
                .map(|c| c.session_timeouts)
                .unwrap_or_default(),
        }
    }

    /// Reads who is asking on a connection the caller holds. Alone (the `resolve` path)
    /// these run as plain statements: each is a cached, indexed single-row read, and
    /// BEGIN/COMMIT for two reads cost more than they save. Together with a page's own
    /// data (`views::TenantPage`) they share that page's read transaction: one snapshot,
    /// one SQLite read lock (both measured with scripts/bench-page.sh).
    pub fn read(self, conn: &mut db::DbConn) -> Result<Resolved, AppError> {
        let Some(sid) = self.sid else {
            return Ok(Resolved::default());
        };
        let Some(live) = db::sessions::find_live(conn, &sid, self.now, &self.timeouts)? else {
            return Ok(Resolved::default());
        };
        let db::sessions::LiveSession { user, public_id, last_seen_at, two_factor } = live;
        let session = Some(SessionMeta { id: sid, public_id, last_seen_at });
        let url_tenant = match self.url_tenant {
            Some(tid) => db::tenants::find_for_member(conn, &tid, &user.id)?,
            None => None,
        };
        let badge = match (&url_tenant, user.is_operator) {
            (_, true) => None,
            (Some(t), false) => Some(t.clone()),
            (None, false) => db::tenants::first_for_member(conn, &user.id)?,
        };
        Ok(Resolved { user: Some(user), session, two_factor, url_tenant, badge })
    }
}

/// Records the session's activity when its last record is a minute old or more: a write
/// once a minute per session, not one per request. Called after the context read, outside
/// its read transaction. A failure only loses this record, so it is logged, not raised.
pub fn touch_if_due(conn: &mut db::DbConn, resolved: &Resolved) {
    let now = crate::now();
    if let Some(s) = &resolved.session
        && needs_touch(s.last_seen_at, now)
        && let Err(e) = db::sessions::touch(conn, &s.id, now)
    {
        tracing::warn!(error = %e, "could not record the session's activity");
    }
}

async fn load(req: &HttpRequest) -> Result<Rc<Resolved>, AppError> {
    let key = ContextKey::of(req);
    if key.sid.is_none() {
        return Ok(Rc::default());
    }
    let pool = pool(req)?;
    Ok(Rc::new(
        db::run(&pool, move |conn| {
            let resolved = key.read(conn)?;
            touch_if_due(conn, &resolved);
            Ok::<_, AppError>(resolved)
        })
        .await?,
    ))
}

/// The console's database pool.
pub fn pool(req: &HttpRequest) -> Result<web::Data<DbPool>, AppError> {
    req.app_data::<web::Data<DbPool>>().cloned().ok_or_else(|| AppError::Internal(anyhow::anyhow!("no pool")))
}

type BoxFut<T> = Pin<Box<dyn Future<Output = Result<T, AppError>>>>;

impl FromRequest for MaybeUser {
    type Error = AppError;
    type Future = BoxFut<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { Ok(MaybeUser(resolve(&req).await?.user.clone())) })
    }
}

impl FromRequest for CurrentUser {
    type Error = AppError;
    type Future = BoxFut<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { resolve(&req).await?.user.clone().map(CurrentUser).ok_or(AppError::LoginRequired) })
    }
}

impl FromRequest for Operator {
    type Error = AppError;
    type Future = BoxFut<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let user = resolve(&req).await?.user.clone().ok_or(AppError::LoginRequired)?;
            if user.is_operator { Ok(Operator(user)) } else { Err(AppError::Forbidden) }
        })
    }
}

impl FromRequest for CurrentTenant {
    type Error = AppError;
    type Future = BoxFut<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { CurrentTenant::of(&*resolve(&req).await?) })
    }
}
