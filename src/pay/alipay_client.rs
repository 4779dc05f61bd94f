//! The outgoing Alipay gateway: form-encoded RSA2-signed requests, answers verified with the
//! Alipay public key before they are believed. The gateway URL is configuration (the
//! sandbox or openapi.alipay.com).

use std::collections::BTreeMap;

use serde_json::Value;

use super::alipay::{self, ResponseError};
use super::keys::{PrivateKey, PublicKey};

/// An enterprise application's credentials, decrypted for one call. `Debug` hides the key.
#[derive(Clone)]
pub struct App {
    pub app_id: String,
    pub key: PrivateKey,
    pub alipay_public_key: PublicKey,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App").field("app_id", &self.app_id).finish()
    }
}

/// What can go wrong talking to Alipay.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AlipayError {
    #[error("could not reach Alipay: {0}")]
    Transport(String),
    /// The answer did not verify with the Alipay public key (or was not signed).
    #[error("Alipay's answer could not be verified: {0}")]
    Unverified(ResponseError),
    /// Alipay answered with a code other than 10000.
    #[error("Alipay answered {code} {sub_code}: {sub_msg}")]
    Refused { code: String, msg: String, sub_code: String, sub_msg: String },
    #[error("unexpected answer from Alipay: {0}")]
    Decode(String),
}

impl AlipayError {
    pub fn sub_code(&self) -> Option<&str> {
        match self {
            Self::Refused { sub_code, .. } => Some(sub_code),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct AlipayClient {
    http: reqwest::Client,
    gateway: String,
}

fn refused(node: &Value) -> AlipayError {
    let s = |k: &str| node.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    AlipayError::Refused { code: s("code"), msg: s("msg"), sub_code: s("sub_code"), sub_msg: s("sub_msg") }
}

impl AlipayClient {
    pub fn new(gateway: &str) -> Self {
        let http = super::http_client();
        Self { http, gateway: gateway.to_string() }
    }

    /// Calls `method` with `biz_content`; the verified answer node when its code is 10000.
    /// Counted in `/metrics` by method and Alipay's sub_code (`0` for success).
    pub async fn call(
        &self,
        app: &App,
        method: &str,
        biz: &Value,
        notify_url: Option<&str>,
    ) -> Result<Value, AlipayError> {
        let started = std::time::Instant::now();
        let result = self.call_once(app, method, biz, notify_url).await;
        let code = match &result {
            Ok(_) => "0".to_string(),
            Err(AlipayError::Refused { sub_code, code, .. }) => {
                if sub_code.is_empty() {
                    code.clone()
                } else {
                    sub_code.clone()
                }
            }
            Err(AlipayError::Transport(_)) => "transport".into(),
            Err(AlipayError::Unverified(_)) => "unverified".into(),
            Err(AlipayError::Decode(_)) => "decode".into(),
        };
        crate::observe::outgoing_call("alipay", method, &code, started.elapsed());
        result
    }

    async fn call_once(
        &self,
        app: &App,
        method: &str,
        biz: &Value,
        notify_url: Option<&str>,
    ) -> Result<Value, AlipayError> {
        let mut params: BTreeMap<String, String> = [
            ("app_id", app.app_id.as_str()),
            ("method", method),
            ("format", "JSON"),
            ("charset", "utf-8"),
            ("sign_type", "RSA2"),
            ("version", "1.0"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        params.insert("timestamp".into(), alipay::timestamp(crate::now()));
        params.insert("biz_content".into(), biz.to_string());
        if let Some(url) = notify_url {
            params.insert("notify_url".into(), url.to_string());
        }
        alipay::sign_request(&mut params, &app.key);
        let response = self
            .http
            .post(&self.gateway)
            .header("Content-Type", "application/x-www-form-urlencoded;charset=utf-8")
            .body(serde_urlencoded::to_string(&params).map_err(|e| AlipayError::Decode(e.to_string()))?)
            .send()
            .await
            .map_err(|e| AlipayError::Transport(if e.is_timeout() { "timed out".into() } else { e.to_string() }))?;
        let status = response.status();
        let body = response.text().await.map_err(|e| AlipayError::Transport(e.to_string()))?;
        if !status.is_success() {
            return Err(AlipayError::Transport(format!("HTTP {status}")));
        }
        let node = match alipay::verify_response(method, &body, &app.alipay_public_key) {
            Ok(node) => node,
            // An unsigned answer is Alipay refusing before it knew the app: read why.
            Err(ResponseError::Unsigned) => {
                let parsed: Value = serde_json::from_str(&body).map_err(|e| AlipayError::Decode(e.to_string()))?;
                let node = parsed
                    .get(alipay::response_node(method))
                    .or_else(|| parsed.get("error_response"))
                    .cloned()
                    .unwrap_or(Value::Null);
                if node.get("code").and_then(Value::as_str).is_some_and(|c| c != "10000") {
                    return Err(refused(&node));
                }
                return Err(AlipayError::Unverified(ResponseError::Unsigned));
            }
            Err(e) => {
                tracing::warn!(alipay.method = method, error = %e, "Alipay answer failed verification");
                return Err(AlipayError::Unverified(e));
            }
        };
        if node.get("code").and_then(Value::as_str) == Some("10000") {
            Ok(node)
        } else {
            let e = refused(&node);
            tracing::info!(alipay.method = method, error = %e, "Alipay refused the request");
            Err(e)
        }
    }
}
