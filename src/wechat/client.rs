//! The outgoing WeChat Open Platform API: typed calls, errcodes mapped to typed errors,
//! retries with backoff and jitter for "system busy", timeouts and dropped connections.
//! The base URL comes from configuration (the sandbox or api.weixin.qq.com).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, de::DeserializeOwned};
use serde_json::{Value, json};

use super::errcode::{self, ErrInfo};
use crate::config::{AppConfig, Secret};

/// What can go wrong talking to WeChat.
#[derive(Debug, thiserror::Error)]
pub enum WechatError {
    /// WeChat answered with a non-zero errcode.
    #[error("WeChat errcode {code}: {errmsg}")]
    Api { code: i64, errmsg: String, info: ErrInfo },
    /// The connection failed, timed out or was dropped.
    #[error("could not reach WeChat: {0}")]
    Transport(String),
    /// WeChat answered with an HTTP error status.
    #[error("WeChat answered HTTP {0}")]
    Http(u16),
    /// The answer was not what the API documents.
    #[error("unexpected answer from WeChat: {0}")]
    Decode(String),
}

impl WechatError {
    pub fn code(&self) -> Option<i64> {
        match self {
            Self::Api { code, .. } => Some(*code),
            _ => None,
        }
    }

    fn retryable(&self) -> bool {
        match self {
            Self::Api { code, .. } => *code == -1,
            Self::Transport(_) => true,
            Self::Http(status) => *status >= 500,
            Self::Decode(_) => false,
        }
    }
}

/// Spaces WeChat calls out: a release campaign's call rate cap. Whoever implements it
/// decides how (the campaign's pacer takes slots from the database, so that every
/// instance shares one rate).
pub trait Pacer: Send + Sync {
    /// Returns when the next call may be made.
    fn wait(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

tokio::task_local! {
    static PACER: Arc<dyn Pacer>;
}

/// Runs `work` with every WeChat call it makes (retries and token refreshes included)
/// waiting for `pacer` first. A task-local rather than a parameter: the calls are made
/// deep inside services (the requirements check, the token refresh) that need not know
/// whom they are working for. Calls made from tasks `work` spawns are not paced.
pub async fn paced<F: Future>(pacer: Arc<dyn Pacer>, work: F) -> F::Output {
    PACER.scope(pacer, work).await
}

async fn pace() {
    if let Ok(pacer) = PACER.try_with(Arc::clone) {
        pacer.wait().await;
    }
}

/// Retries: up to this many attempts in all for retryable failures.
const MAX_ATTEMPTS: u32 = 3;

#[derive(Clone)]
pub struct WechatClient {
    http: reqwest::Client,
    base: String,
    appid: String,
    secret: Secret,
    backoff_base: Duration,
}

impl std::fmt::Debug for WechatClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WechatClient").field("base", &self.base).field("appid", &self.appid).finish()
    }
}

/// `api_component_token`.
#[derive(Debug, Deserialize)]
pub struct ComponentToken {
    pub component_access_token: String,
    pub expires_in: i64,
}

#[derive(Debug, Deserialize)]
pub struct PreAuthCode {
    pub pre_auth_code: String,
    pub expires_in: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct FuncScope {
    pub id: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct FuncInfo {
    pub funcscope_category: FuncScope,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AuthorizationInfo {
    pub authorizer_appid: String,
    #[serde(default)]
    pub authorizer_access_token: Option<String>,
    #[serde(default)]
    pub expires_in: Option<i64>,
    #[serde(default)]
    pub authorizer_refresh_token: Option<String>,
    #[serde(default)]
    pub func_info: Vec<FuncInfo>,
}

impl AuthorizationInfo {
    pub fn func_ids(&self) -> Vec<i64> {
        self.func_info.iter().map(|f| f.funcscope_category.id).collect()
    }
}

#[derive(Debug, Deserialize)]
pub struct QueryAuth {
    pub authorization_info: AuthorizationInfo,
}

#[derive(Debug, Deserialize)]
pub struct AuthorizerToken {
    pub authorizer_access_token: String,
    pub expires_in: i64,
    #[serde(default)]
    pub authorizer_refresh_token: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct IdInfo {
    pub id: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AuthorizerDetails {
    #[serde(default)]
    pub nick_name: String,
    #[serde(default)]
    pub head_img: String,
    #[serde(default)]
    pub user_name: String,
    #[serde(default)]
    pub principal_name: String,
    pub service_type_info: Option<IdInfo>,
    pub verify_type_info: Option<IdInfo>,
    #[serde(rename = "MiniProgramInfo", default)]
    pub mini_program_info: Option<Value>,
}

#[derive(Debug, Deserialize)]
pub struct AuthorizerInfo {
    pub authorizer_info: AuthorizerDetails,
    pub authorization_info: AuthorizationInfo,
    /// The whole answer, kept for pages that show more fields later.
    #[serde(skip)]
    pub raw: Value,
}

#[derive(Debug, Deserialize)]
pub struct AuthorizerListItem {
    pub authorizer_appid: String,
    #[serde(default)]
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub auth_time: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub struct AuthorizerList {
    pub total_count: i64,
    #[serde(default)]
    pub list: Vec<AuthorizerListItem>,
}

impl WechatClient {
    pub fn new(config: &AppConfig) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("minihost/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Self {
            http,
            base: config.wechat_api_base.clone(),
            appid: config.component.appid.clone(),
            secret: config.component.secret.clone(),
            backoff_base: Duration::from_millis(200),
        }
    }

    pub fn component_appid(&self) -> &str {
        &self.appid
    }

    /// POSTs JSON to `path` with an optional token query parameter, retrying what is
    /// worth retrying, and maps a non-zero errcode to [`WechatError::Api`].
    pub async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        token: Option<(&str, &str)>,
        body: &Value,
    ) -> Result<T, WechatError> {
        self.call(path, token, Some(body)).await
    }

    /// GETs `path` (the APIs WeChat documents as GET, such as `getcategory`), as `post` does.
    pub async fn get<T: DeserializeOwned>(&self, path: &str, token: Option<(&str, &str)>) -> Result<T, WechatError> {
        self.call(path, token, None).await
    }

    async fn call<T: DeserializeOwned>(
        &self,
        path: &str,
        token: Option<(&str, &str)>,
        body: Option<&Value>,
    ) -> Result<T, WechatError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.call_once(path, token, body).await {
                Ok(value) => {
                    return serde_json::from_value::<T>(value.clone())
                        .map_err(|e| WechatError::Decode(format!("{path}: {e}")));
                }
                Err(e) if e.retryable() && attempt < MAX_ATTEMPTS => {
                    let wait = self.backoff(attempt);
                    tracing::warn!(wechat.path = path, attempt, error = %e, wait_ms = wait.as_millis() as u64, "retrying WeChat call");
                    tokio::time::sleep(wait).await;
                }
                Err(e) => {
                    tracing::warn!(wechat.path = path, attempt, error = %e, "WeChat call failed");
                    return Err(e);
                }
            }
        }
    }

    /// POSTs JSON to an API that answers a file (`get_material`): the content type and
    /// the bytes. A JSON answer is WeChat's error (or an unexpected non-file answer).
    pub async fn post_media(
        &self,
        path: &str,
        token: Option<(&str, &str)>,
        body: &Value,
    ) -> Result<(String, Vec<u8>), WechatError> {
        pace().await;
        let started = std::time::Instant::now();
        let result = self.media_once(path, token, body).await;
        crate::observe::outgoing_call("wechat", path, &errcode_label(&result), started.elapsed());
        result
    }

    async fn media_once(
        &self,
        path: &str,
        token: Option<(&str, &str)>,
        body: &Value,
    ) -> Result<(String, Vec<u8>), WechatError> {
        let mut request = self.http.post(format!("{}{path}", self.base)).json(body);
        if let Some((name, value)) = token {
            request = request.query(&[(name, value)]);
        }
        let response = request.send().await.map_err(|e| WechatError::Transport(transport_reason(&e)))?;
        let status = response.status();
        if !status.is_success() {
            return Err(WechatError::Http(status.as_u16()));
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let bytes = response.bytes().await.map_err(|e| WechatError::Transport(transport_reason(&e)))?;
        if content_type.starts_with("image/") || content_type.starts_with("video/") {
            return Ok((content_type, bytes.to_vec()));
        }
        let value: Value = serde_json::from_slice(&bytes).map_err(|e| WechatError::Decode(format!("{path}: {e}")))?;
        let code = value.get("errcode").and_then(Value::as_i64).unwrap_or(0);
        let errmsg = value.get("errmsg").and_then(Value::as_str).unwrap_or_default().to_string();
        if code == 0 {
            return Err(WechatError::Decode(format!("{path}: expected a file, got JSON")));
        }
        Err(WechatError::Api { code, errmsg, info: errcode::lookup(code) })
    }

    /// Exponential backoff with full jitter on top of the base step.
    fn backoff(&self, attempt: u32) -> Duration {
        let step = self.backoff_base * 2u32.saturating_pow(attempt.saturating_sub(1));
        let jitter = rand::random::<u64>() % (self.backoff_base.as_millis() as u64 + 1);
        step + Duration::from_millis(jitter)
    }

    /// One attempt, counted in `/metrics` by path (never the query string: it holds the
    /// token) and errcode.
    async fn call_once(
        &self,
        path: &str,
        token: Option<(&str, &str)>,
        body: Option<&Value>,
    ) -> Result<Value, WechatError> {
        pace().await;
        let started = std::time::Instant::now();
        let result = self.request_once(path, token, body).await;
        crate::observe::outgoing_call("wechat", path, &errcode_label(&result), started.elapsed());
        result
    }

    async fn request_once(
        &self,
        path: &str,
        token: Option<(&str, &str)>,
        body: Option<&Value>,
    ) -> Result<Value, WechatError> {
        let url = format!("{}{path}", self.base);
        let mut request = match body {
            Some(body) => self.http.post(url).json(body),
            None => self.http.get(url),
        };
        if let Some((name, value)) = token {
            request = request.query(&[(name, value)]);
        }
        let response = request.send().await.map_err(|e| WechatError::Transport(transport_reason(&e)))?;
        let status = response.status();
        if !status.is_success() {
            return Err(WechatError::Http(status.as_u16()));
        }
        let bytes = response.bytes().await.map_err(|e| WechatError::Transport(transport_reason(&e)))?;
        let value: Value = serde_json::from_slice(&bytes).map_err(|e| WechatError::Decode(format!("{path}: {e}")))?;
        match value.get("errcode").and_then(Value::as_i64) {
            Some(code) if code != 0 => {
                let errmsg = value.get("errmsg").and_then(Value::as_str).unwrap_or_default().to_string();
                // The rid at the end of errmsg is what WeChat support asks for.
                tracing::info!(wechat.path = path, wechat.errcode = code, wechat.errmsg = %errmsg, "WeChat returned an error");
                Err(WechatError::Api { code, errmsg, info: errcode::lookup(code) })
            }
            _ => Ok(value),
        }
    }

    pub async fn component_token(&self, ticket: &str) -> Result<ComponentToken, WechatError> {
        let body = json!({
            "component_appid": self.appid,
            "component_appsecret": self.secret.expose(),
            "component_verify_ticket": ticket,
        });
        self.post("/cgi-bin/component/api_component_token", None, &body).await
    }

    pub async fn create_preauth_code(&self, token: &str) -> Result<PreAuthCode, WechatError> {
        let body = json!({ "component_appid": self.appid });
        self.post("/cgi-bin/component/api_create_preauthcode", Some(("component_access_token", token)), &body).await
    }

    pub async fn query_auth(&self, token: &str, auth_code: &str) -> Result<QueryAuth, WechatError> {
        let body = json!({ "component_appid": self.appid, "authorization_code": auth_code });
        self.post("/cgi-bin/component/api_query_auth", Some(("component_access_token", token)), &body).await
    }

    pub async fn authorizer_token(
        &self,
        token: &str,
        appid: &str,
        refresh_token: &str,
    ) -> Result<AuthorizerToken, WechatError> {
        let body = json!({
            "component_appid": self.appid,
            "authorizer_appid": appid,
            "authorizer_refresh_token": refresh_token,
        });
        self.post("/cgi-bin/component/api_authorizer_token", Some(("component_access_token", token)), &body).await
    }

    pub async fn authorizer_info(&self, token: &str, appid: &str) -> Result<AuthorizerInfo, WechatError> {
        let body = json!({ "component_appid": self.appid, "authorizer_appid": appid });
        let raw: Value = self
            .post("/cgi-bin/component/api_get_authorizer_info", Some(("component_access_token", token)), &body)
            .await?;
        let mut info: AuthorizerInfo = serde_json::from_value(raw.clone())
            .map_err(|e| WechatError::Decode(format!("api_get_authorizer_info: {e}")))?;
        info.raw = raw;
        Ok(info)
    }

    pub async fn authorizer_list(&self, token: &str, offset: i64, count: i64) -> Result<AuthorizerList, WechatError> {
        let body = json!({ "component_appid": self.appid, "offset": offset, "count": count });
        self.post("/cgi-bin/component/api_get_authorizer_list", Some(("component_access_token", token)), &body).await
    }
}

/// The `errcode` label of one call: `0`, WeChat's errcode, or what else went wrong.
fn errcode_label<T>(result: &Result<T, WechatError>) -> String {
    match result {
        Ok(_) => "0".into(),
        Err(WechatError::Api { code, .. }) => code.to_string(),
        Err(WechatError::Transport(_)) => "transport".into(),
        Err(WechatError::Http(status)) => format!("http_{status}"),
        Err(WechatError::Decode(_)) => "decode".into(),
    }
}

fn transport_reason(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "connection refused or failed".into()
    } else if e.is_body() || e.is_decode() {
        "the connection dropped before the answer was complete".into()
    } else {
        "the request failed".into()
    }
}
