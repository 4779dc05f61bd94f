//! Platform credentials and authorizer tokens, and every call made with them: read from the database, refreshed before
//! expiry by exactly one process at a time (a lease row), never by every request that
//! finds a token old. Within one process a mutex per credential makes waiting tasks share
//! one refresh; across processes the lease decides who calls WeChat.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::db::{self, DbConn, DbError, DbPool, audit, jobs, platform as store};
use crate::domain::binding::join_ids;
use crate::domain::failure::Failure;
use crate::secrets::Sealer;
use crate::wechat::client::{AuthorizerInfo, WechatClient, WechatError};
use crate::wechat::errcode;

/// What can go wrong getting credentials or calling WeChat for the platform.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    #[error(transparent)]
    Wechat(#[from] WechatError),
    /// No component_verify_ticket has been received yet, so no component token can be had.
    #[error("no component_verify_ticket has been received from WeChat yet")]
    NoTicket,
    /// The account revoked its authorization; nothing is called for it any more.
    #[error("the account {0} has revoked its authorization")]
    Revoked(String),
    /// Another process is refreshing the token and did not finish in time.
    #[error("the token refresh by another process did not finish in time")]
    LeaseTimeout,
    /// A stored credential could not be decrypted (the secret key changed?).
    #[error("a stored credential could not be decrypted")]
    Sealed,
    #[error(transparent)]
    Database(#[from] DbError),
}

impl From<diesel::result::Error> for PlatformError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Database(DbError::Query(e))
    }
}

impl PlatformError {
    /// WeChat's errcode, when the failure is one.
    pub fn code(&self) -> Option<i64> {
        match self {
            Self::Wechat(e) => e.code(),
            _ => None,
        }
    }

    /// WeChat's refusal (or an unreachable WeChat) as the failure a page explains; our own
    /// database and sealed credentials stay errors.
    pub fn into_refusal(self) -> Result<Failure, PlatformError> {
        match self {
            Self::Database(_) | Self::Sealed => Err(self),
            other => Ok(other.failure()),
        }
    }

    /// The failure in the terms a page explains (put into words in the reader's language).
    pub fn failure(&self) -> Failure {
        match self {
            Self::Wechat(WechatError::Api { code, .. }) => Failure::Errcode(*code),
            Self::Wechat(WechatError::Transport(_)) => Failure::Transport,
            Self::Wechat(WechatError::Http(status)) => Failure::Http(*status),
            Self::Wechat(WechatError::Decode(_)) => Failure::Decode,
            Self::NoTicket => Failure::NoTicket,
            Self::Revoked(_) => Failure::Revoked,
            Self::LeaseTimeout => Failure::LeaseTimeout,
            Self::Sealed | Self::Database(_) => Failure::Database,
        }
    }
}

/// A token with less than this left is refreshed before use.
pub const REFRESH_MARGIN_SECS: i64 = 300;
/// A refresh that takes longer than this frees the lease for another process.
const LEASE_SECS: i64 = 30;
/// The ticket lives 12 hours (reference §1.2).
pub const TICKET_TTL_SECS: i64 = 12 * 3600;
/// Error codes that mean "this token is not (or no longer) valid".
const TOKEN_INVALID: [i64; 4] = [40001, 40014, 42001, 42006];

pub struct Platform {
    pool: DbPool,
    client: WechatClient,
    sealer: Sealer,
    /// Identifies this process as a lease owner.
    instance: String,
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Platform {
    pub fn new(pool: DbPool, client: WechatClient, sealer: Sealer) -> Self {
        Self { pool, client, sealer, instance: crate::new_id(), locks: Mutex::new(HashMap::new()) }
    }

    pub fn pool(&self) -> &DbPool {
        &self.pool
    }

    pub fn client(&self) -> &WechatClient {
        &self.client
    }

    pub fn sealer(&self) -> &Sealer {
        &self.sealer
    }

    /// Runs database work off the async threads (the one `db::run` helper).
    async fn db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut DbConn) -> Result<T, PlatformError> + Send + 'static,
    ) -> Result<T, PlatformError> {
        db::run(&self.pool, f).await
    }

    fn lock_for(&self, name: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        locks.entry(name.to_string()).or_default().clone()
    }

    // ---- the ticket ----

    /// Keeps the newest ticket (an older push arriving late does not replace a newer one).
    pub fn store_ticket(conn: &mut DbConn, sealer: &Sealer, ticket: &str, created: i64) -> diesel::QueryResult<bool> {
        if let Some(current) = store::credential(conn, store::TICKET)?
            && current.obtained_at > created
        {
            return Ok(false);
        }
        store::put_credential(conn, store::TICKET, &sealer.seal(ticket), created, created + TICKET_TTL_SECS)?;
        Ok(true)
    }

    async fn ticket(&self) -> Result<String, PlatformError> {
        let sealer = self.sealer.clone();
        self.db(move |c| {
            let now = crate::now();
            match store::credential(c, store::TICKET)? {
                Some(t) if t.expires_at > now => sealer.open(&t.value_enc).map_err(|_| PlatformError::Sealed),
                _ => Err(PlatformError::NoTicket),
            }
        })
        .await
    }

    // ---- the component token ----

    async fn fresh_credential(&self, name: &'static str) -> Result<Option<String>, PlatformError> {
        let sealer = self.sealer.clone();
        self.db(move |c| {
            let now = crate::now();
            Ok(match store::credential(c, name)? {
                Some(t) if t.expires_at - now > REFRESH_MARGIN_SECS => sealer.open(&t.value_enc).ok(),
                _ => None,
            })
        })
        .await
    }

    /// A valid component_access_token, refreshing it (once, platform-wide) if needed.
    pub async fn component_token(&self) -> Result<String, PlatformError> {
        if let Some(token) = self.fresh_credential(store::COMPONENT_TOKEN).await? {
            return Ok(token);
        }
        self.refresh_under_lease(
            "component_token",
            || self.fresh_credential(store::COMPONENT_TOKEN),
            || async {
                let refreshed = self.refresh_component_token_under_lease().await;
                crate::observe::token_refresh("component", refreshed.is_ok());
                refreshed
            },
        )
        .await
    }

    /// The refresh itself, run by the lease holder: ticket → token, stored with its next
    /// planned refresh.
    async fn refresh_component_token_under_lease(&self) -> Result<String, PlatformError> {
        let ticket = self.ticket().await?;
        let got = self.client.component_token(&ticket).await?;
        let sealed = self.sealer.seal(&got.component_access_token);
        let expires_in = got.expires_in;
        self.db(move |c| {
            let now = crate::now();
            db::write_tx(c, |c| {
                store::put_credential(c, store::COMPONENT_TOKEN, &sealed, now, now + expires_in)?;
                // The next refresh is planned well before expiry (see `jobs`); the key
                // names this token's generation, so each generation plans one refresh.
                jobs::enqueue(
                    c,
                    &jobs::RefreshComponentToken { force: true },
                    Some(&format!("generation:{}", now + expires_in)),
                    now + expires_in - 2 * REFRESH_MARGIN_SECS,
                    now,
                )?;
                Ok::<_, diesel::result::Error>(())
            })?;
            Ok(())
        })
        .await?;
        tracing::info!(expires_in, "refreshed the component_access_token");
        Ok(got.component_access_token)
    }

    /// Refreshes now, whatever the stored token's age (used by the scheduled job).
    pub async fn refresh_component_token_now(&self) -> Result<(), PlatformError> {
        self.db(|c| Ok(store::put_credential_expiry(c, store::COMPONENT_TOKEN, 0)?)).await?;
        self.component_token().await.map(|_| ())
    }

    /// The shared pattern: one task per process, one process per platform, and everyone
    /// else waits for the stored result.
    async fn refresh_under_lease<R, RF, F, FF>(&self, lease: &str, read: R, refresh: F) -> Result<String, PlatformError>
    where
        R: Fn() -> RF,
        RF: Future<Output = Result<Option<String>, PlatformError>>,
        F: FnOnce() -> FF,
        FF: Future<Output = Result<String, PlatformError>>,
    {
        let lock = self.lock_for(lease);
        let _guard = lock.lock().await;
        if let Some(token) = read().await? {
            return Ok(token);
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(LEASE_SECS as u64 + 5);
        loop {
            let (name, owner) = (lease.to_string(), self.instance.clone());
            let acquired = self.db(move |c| Ok(store::try_lease(c, &name, &owner, crate::now(), LEASE_SECS)?)).await?;
            if acquired {
                // Another process may have finished just before we took the lease.
                let result = match read().await? {
                    Some(token) => Ok(token),
                    None => refresh().await,
                };
                let (name, owner) = (lease.to_string(), self.instance.clone());
                self.db(move |c| Ok(store::release_lease(c, &name, &owner)?)).await?;
                return result;
            }
            // Someone else is refreshing: wait for their result (bounded).
            tokio::time::sleep(Duration::from_millis(50)).await;
            if let Some(token) = read().await? {
                return Ok(token);
            }
            if tokio::time::Instant::now() > deadline {
                return Err(PlatformError::LeaseTimeout);
            }
        }
    }

    /// Runs a component call with the component token; an invalid-token answer makes
    /// one forced refresh and one retry. Every component call goes through here.
    async fn with_component_token<T, F, Fut>(&self, call: F) -> Result<T, PlatformError>
    where
        F: Fn(String) -> Fut,
        Fut: Future<Output = Result<T, WechatError>>,
    {
        let token = self.component_token().await?;
        match call(token.clone()).await {
            Err(e) if e.code().is_some_and(|c| TOKEN_INVALID.contains(&c)) => {
                self.invalidate_component_token(&token).await?;
                Ok(call(self.component_token().await?).await?)
            }
            other => Ok(other?),
        }
    }

    /// Calls any component API by path (for calls without a typed method).
    pub async fn call_component<T: DeserializeOwned>(&self, path: &str, body: &Value) -> Result<T, PlatformError> {
        self.with_component_token(|token| async move {
            self.client.post(path, Some(("component_access_token", &token)), body).await
        })
        .await
    }

    /// The template library's POST APIs (`/wxa/addtotemplate`, `/wxa/deletetemplate`): the
    /// component token goes in `access_token`, as their documentation has it.
    pub async fn call_component_wxa<T: DeserializeOwned>(&self, path: &str, body: &Value) -> Result<T, PlatformError> {
        self.with_component_token(
            |token| async move { self.client.post(path, Some(("access_token", &token)), body).await },
        )
        .await
    }

    /// As [`Self::call_component_wxa`], for the ones WeChat documents as GET.
    pub async fn get_component<T: DeserializeOwned>(&self, path: &str) -> Result<T, PlatformError> {
        self.with_component_token(|token| async move { self.client.get(path, Some(("access_token", &token))).await })
            .await
    }

    async fn invalidate_component_token(&self, failed: &str) -> Result<(), PlatformError> {
        let (sealer, failed) = (self.sealer.clone(), failed.to_string());
        self.db(move |c| {
            if let Some(t) = store::credential(c, store::COMPONENT_TOKEN)?
                && sealer.open(&t.value_enc).ok().as_deref() == Some(failed.as_str())
            {
                store::put_credential_expiry(c, store::COMPONENT_TOKEN, 0)?;
            }
            Ok(())
        })
        .await
    }

    pub async fn create_preauth_code(&self) -> Result<String, PlatformError> {
        self.with_component_token(|token| async move { self.client.create_preauth_code(&token).await })
            .await
            .map(|c| c.pre_auth_code)
    }

    // ---- authorizers ----

    async fn fresh_authorizer_token(&self, appid: &str) -> Result<Option<String>, PlatformError> {
        let (sealer, appid) = (self.sealer.clone(), appid.to_string());
        self.db(move |c| {
            let now = crate::now();
            match store::authorizer(c, &appid)? {
                Some(a) if a.is_revoked() => Err(PlatformError::Revoked(appid)),
                Some(a) if a.access_expires_at - now > REFRESH_MARGIN_SECS => {
                    Ok(a.access_token_enc.and_then(|t| sealer.open(&t).ok()))
                }
                _ => Ok(None),
            }
        })
        .await
    }

    /// A valid access token for an authorizer, refreshed once platform-wide when needed.
    pub async fn authorizer_token(&self, appid: &str) -> Result<String, PlatformError> {
        if let Some(token) = self.fresh_authorizer_token(appid).await? {
            return Ok(token);
        }
        let lease = format!("authorizer:{appid}");
        self.refresh_under_lease(
            &lease,
            || self.fresh_authorizer_token(appid),
            || async {
                let refreshed = self.refresh_authorizer(appid).await;
                crate::observe::token_refresh("authorizer", refreshed.is_ok());
                refreshed
            },
        )
        .await
    }

    async fn stored_refresh_token(&self, appid: &str) -> Result<Option<String>, PlatformError> {
        let (sealer, appid) = (self.sealer.clone(), appid.to_string());
        self.db(move |c| {
            Ok(store::authorizer(c, &appid)?.and_then(|a| a.refresh_token_enc).and_then(|t| sealer.open(&t).ok()))
        })
        .await
    }

    async fn refresh_authorizer(&self, appid: &str) -> Result<String, PlatformError> {
        let refresh = match self.stored_refresh_token(appid).await? {
            Some(r) => r,
            None => self.recover_refresh_token(appid).await?,
        };
        let exchange = |refresh: String| {
            self.with_component_token(move |token| {
                let refresh = refresh.clone();
                async move { self.client.authorizer_token(&token, appid, &refresh).await }
            })
        };
        let got = match exchange(refresh.clone()).await {
            // The refresh token was lost or replaced: the authorizer list has the current one.
            Err(e) if e.code() == Some(61023) => {
                let recovered = self.recover_refresh_token(appid).await?;
                if recovered == refresh {
                    return Err(e);
                }
                exchange(recovered).await?
            }
            other => other?,
        };
        let access = self.sealer.seal(&got.authorizer_access_token);
        let new_refresh = got.authorizer_refresh_token.as_deref().map(|r| self.sealer.seal(r));
        let (appid_s, expires_in) = (appid.to_string(), got.expires_in);
        self.db(move |c| {
            let now = crate::now();
            store::set_access_token(c, &appid_s, &access, now + expires_in, new_refresh.as_deref(), now)?;
            Ok(())
        })
        .await?;
        tracing::info!(authorizer.appid = appid, "refreshed an authorizer access token");
        Ok(got.authorizer_access_token)
    }

    /// Finds the authorizer's refresh token in `api_get_authorizer_list` and stores it,
    /// before anyone is asked to authorize again.
    pub async fn recover_refresh_token(&self, appid: &str) -> Result<String, PlatformError> {
        let mut offset = 0;
        loop {
            let page = self
                .with_component_token(|token| async move { self.client.authorizer_list(&token, offset, 500).await })
                .await?;
            if let Some(item) = page.list.iter().find(|i| i.authorizer_appid == appid)
                && let Some(refresh) = &item.refresh_token
            {
                let sealed = self.sealer.seal(refresh);
                let appid_s = appid.to_string();
                self.db(move |c| Ok(store::set_refresh_token(c, &appid_s, &sealed, crate::now())?)).await?;
                tracing::info!(
                    authorizer.appid = appid,
                    "recovered an authorizer refresh token from the authorizer list"
                );
                return Ok(refresh.clone());
            }
            offset += page.list.len() as i64;
            if page.list.is_empty() || offset >= page.total_count {
                return Err(PlatformError::Wechat(WechatError::Api {
                    code: 61023,
                    errmsg: "not in the authorizer list".into(),
                    info: errcode::lookup(61023),
                }));
            }
        }
    }

    /// Calls an API for an authorizer (`access_token=`), with one refresh-and-retry on an
    /// invalid-token answer. Later features (domains, code, releases) go through here.
    pub async fn call_authorizer<T: DeserializeOwned>(
        &self,
        appid: &str,
        path: &str,
        body: &Value,
    ) -> Result<T, PlatformError> {
        self.authorizer_call(appid, path, Some(body)).await
    }

    /// As [`Self::call_authorizer`], for the APIs WeChat documents as GET.
    pub async fn get_authorizer<T: DeserializeOwned>(&self, appid: &str, path: &str) -> Result<T, PlatformError> {
        self.authorizer_call(appid, path, None).await
    }

    async fn authorizer_call<T: DeserializeOwned>(
        &self,
        appid: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<T, PlatformError> {
        self.with_authorizer_token(appid, |token| async move {
            let token = Some(("access_token", token.as_str()));
            match body {
                Some(body) => self.client.post(path, token, body).await,
                None => self.client.get(path, token).await,
            }
        })
        .await
    }

    /// Fetches a file for an authorizer (`get_material`): its content type and bytes.
    pub async fn authorizer_media(
        &self,
        appid: &str,
        path: &str,
        body: &Value,
    ) -> Result<(String, Vec<u8>), PlatformError> {
        self.with_authorizer_token(appid, |token| async move {
            self.client.post_media(path, Some(("access_token", token.as_str())), body).await
        })
        .await
    }

    /// Runs a call with the authorizer's token; an invalid-token answer expires the stored
    /// token and makes one refresh and one retry. Every authorizer call goes through here.
    async fn with_authorizer_token<T, F, Fut>(&self, appid: &str, call: F) -> Result<T, PlatformError>
    where
        F: Fn(String) -> Fut,
        Fut: Future<Output = Result<T, WechatError>>,
    {
        let token = self.authorizer_token(appid).await?;
        match call(token).await {
            Err(e) if e.code().is_some_and(|c| TOKEN_INVALID.contains(&c)) => {
                let appid_s = appid.to_string();
                self.db(move |c| Ok(store::expire_access_token(c, &appid_s)?)).await?;
                let token = self.authorizer_token(appid).await?;
                Ok(call(token).await?)
            }
            other => Ok(other?),
        }
    }

    /// Exchanges an auth_code (api_query_auth), stores the tokens and the account's details.
    pub async fn complete_authorization(
        &self,
        auth_code: &str,
        actor: audit::Actor,
    ) -> Result<store::Authorizer, PlatformError> {
        let got = self
            .with_component_token(|token| async move { self.client.query_auth(&token, auth_code).await })
            .await?
            .authorization_info;
        let appid = got.authorizer_appid.clone();
        let refresh = got.authorizer_refresh_token.as_deref().map(|t| self.sealer.seal(t));
        let access = got.authorizer_access_token.as_deref().map(|t| self.sealer.seal(t));
        let func_ids = join_ids(&got.func_ids());
        let expires_in = got.expires_in.unwrap_or(0);
        let appid_s = appid.clone();
        self.db(move |c| {
            let now = crate::now();
            db::write_tx(c, |c| {
                let before = store::authorizer(c, &appid_s)?.map(|a| a.status);
                store::upsert_grant(
                    c,
                    &store::Grant {
                        appid: &appid_s,
                        refresh_token_enc: refresh.as_deref(),
                        access_token_enc: access.as_deref(),
                        access_expires_at: now + expires_in,
                        func_ids: Some(&func_ids),
                    },
                    now,
                )?;
                db::audit::write(
                    c,
                    audit::Record {
                        actor: &actor,
                        tenant_id: None,
                        action: "authorizer.authorized",
                        subject: &format!("authorizer:{appid_s}"),
                        before: before.as_ref().map(|s| serde_json::json!({ "status": s })).as_ref(),
                        after: Some(&serde_json::json!({ "status": "authorized", "func_ids": func_ids })),
                    },
                    now,
                )
            })?;
            Ok(())
        })
        .await?;
        self.sync_authorizer(&appid).await
    }

    /// Refreshes the stored details and permission sets from api_get_authorizer_info.
    pub async fn sync_authorizer(&self, appid: &str) -> Result<store::Authorizer, PlatformError> {
        if self.stored_refresh_token(appid).await?.is_none() {
            self.recover_refresh_token(appid).await?;
        }
        let parsed: AuthorizerInfo =
            self.with_component_token(|token| async move { self.client.authorizer_info(&token, appid).await }).await?;
        let func_ids = join_ids(&parsed.authorization_info.func_ids());
        let info_json = parsed.raw.get("authorizer_info").map(Value::to_string).unwrap_or_default();
        let d = parsed.authorizer_info;
        let appid_s = appid.to_string();
        self.db(move |c| {
            store::update_details(
                c,
                &appid_s,
                &store::Details {
                    nick_name: &d.nick_name,
                    head_img: &d.head_img,
                    user_name: &d.user_name,
                    principal_name: &d.principal_name,
                    service_type: d.service_type_info.map(|i| i.id as i32).unwrap_or(0),
                    verify_type: d.verify_type_info.map(|i| i.id as i32).unwrap_or(-1),
                    is_mini_program: d.mini_program_info.is_some(),
                    info_json: &info_json,
                    func_ids: &func_ids,
                },
                crate::now(),
            )?;
            Ok(store::authorizer(c, &appid_s)?.ok_or(diesel::result::Error::NotFound)?)
        })
        .await
    }
}
