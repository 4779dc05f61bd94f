//! The outgoing WeChat Pay APIv3 (partner mode): every request signed with the service
//! provider's merchant key, every answer's signature checked with the configured platform
//! certificate or public key before it is believed. The base URL is configuration (the
//! sandbox or api.mch.weixin.qq.com).

use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::Value;

use super::keys::PrivateKey;
use super::wechatpay::{Authorization, ErrorBody, PlatformVerifier, Resource, SignedHeaders, VerifyError, nonce};

/// How far an answer's timestamp may be from our clock.
pub const ANSWER_WINDOW_SECS: i64 = 300;

/// The service provider's credentials, decrypted for one call. `Debug` hides the secrets.
#[derive(Clone)]
pub struct Merchant {
    pub sp_mchid: String,
    pub sp_appid: String,
    pub serial: String,
    pub key: PrivateKey,
    pub api_v3_key: String,
    pub platform: PlatformVerifier,
}

impl std::fmt::Debug for Merchant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Merchant").field("sp_mchid", &self.sp_mchid).field("serial", &self.serial).finish()
    }
}

/// What can go wrong talking to WeChat Pay.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PayError {
    /// WeChat Pay refused the request: its HTTP status and `{code, message}`.
    #[error("WeChat Pay answered HTTP {status} {code}: {message}")]
    Api { status: u16, code: String, message: String },
    /// The connection failed or timed out.
    #[error("could not reach WeChat Pay: {0}")]
    Transport(String),
    /// The answer's signature did not verify: it is not believed.
    #[error("WeChat Pay's answer could not be verified: {0}")]
    Unverified(VerifyError),
    /// The answer was not what the API documents.
    #[error("unexpected answer from WeChat Pay: {0}")]
    Decode(String),
}

impl PayError {
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Api { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// One platform certificate from `GET /v3/certificates`, decrypted.
#[derive(Debug, Clone)]
pub struct PlatformCertificate {
    pub serial_no: String,
    pub expire_time: String,
    pub pem: String,
}

/// The state of a sub-merchant application (`applyment4sub` query).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct ApplymentStatus {
    #[serde(default)]
    pub business_code: String,
    #[serde(default)]
    pub applyment_id: i64,
    #[serde(default)]
    pub sub_mchid: Option<String>,
    #[serde(default)]
    pub sign_url: Option<String>,
    pub applyment_state: String,
    #[serde(default)]
    pub applyment_state_msg: String,
    #[serde(default)]
    pub audit_detail: Vec<AuditDetail>,
}

/// One field WeChat Pay rejected and why.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct AuditDetail {
    #[serde(default)]
    pub field: String,
    #[serde(default)]
    pub field_name: String,
    #[serde(default)]
    pub reject_reason: String,
}

/// A partner transaction (query answer and decrypted notification).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct Transaction {
    #[serde(default)]
    pub sp_mchid: String,
    #[serde(default)]
    pub sub_mchid: String,
    #[serde(default)]
    pub sub_appid: Option<String>,
    pub out_trade_no: String,
    #[serde(default)]
    pub transaction_id: Option<String>,
    #[serde(default)]
    pub trade_type: Option<String>,
    pub trade_state: String,
    #[serde(default)]
    pub trade_state_desc: Option<String>,
    #[serde(default)]
    pub success_time: Option<String>,
    #[serde(default)]
    pub attach: Option<String>,
    #[serde(default)]
    pub amount: Option<Amount>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct Amount {
    #[serde(default)]
    pub total: i64,
    #[serde(default)]
    pub payer_total: Option<i64>,
    #[serde(default)]
    pub currency: Option<String>,
}

/// A refund (answer and decrypted `REFUND.*` notification).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct Refund {
    #[serde(default)]
    pub refund_id: String,
    pub out_refund_no: String,
    #[serde(default)]
    pub out_trade_no: String,
    #[serde(default)]
    pub transaction_id: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub refund_status: Option<String>,
}

impl Refund {
    /// The state, whichever field carried it (`status` in answers, `refund_status` in notifications).
    pub fn state(&self) -> &str {
        self.status.as_deref().or(self.refund_status.as_deref()).unwrap_or("")
    }
}

#[derive(Clone, Debug)]
pub struct WechatPayClient {
    http: reqwest::Client,
    base: String,
}

fn transport(e: &reqwest::Error) -> PayError {
    PayError::Transport(if e.is_timeout() { "timed out".into() } else { e.to_string() })
}

impl WechatPayClient {
    pub fn new(base: &str) -> Self {
        let http = super::http_client();
        Self { http, base: base.trim_end_matches('/').to_string() }
    }

    /// Sends one signed request and returns the verified answer's status and body. `body`
    /// is the exact text signed and sent (`""` for GET); `meta` replaces it in the signature
    /// for a multipart upload.
    async fn send(
        &self,
        m: &Merchant,
        method: reqwest::Method,
        path_and_query: &str,
        body: Option<String>,
        extra: &[(&str, &str)],
    ) -> Result<(u16, String), PayError> {
        let text = body.clone().unwrap_or_default();
        let auth = Authorization::sign(
            &m.sp_mchid,
            &m.serial,
            &m.key,
            method.as_str(),
            path_and_query,
            &text,
            crate::now(),
            &nonce(),
        );
        let mut request = self
            .http
            .request(method, format!("{}{path_and_query}", self.base))
            .header("Authorization", auth)
            .header("Accept", "application/json");
        for (k, v) in extra {
            request = request.header(*k, *v);
        }
        if let Some(body) = body {
            request = request.header("Content-Type", "application/json").body(body);
        }
        let started = std::time::Instant::now();
        let result = match request.send().await {
            Ok(response) => self.read(m, response, path_and_query).await,
            Err(e) => Err(transport(&e)),
        };
        record(path_and_query, &result, started);
        result
    }

    async fn read(&self, m: &Merchant, response: reqwest::Response, path: &str) -> Result<(u16, String), PayError> {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().await.map_err(|e| transport(&e))?;
        let signed = SignedHeaders::read(|name| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string));
        // A refused signature (401) is answered before WeChat Pay knows whose key to use.
        if status == 401 {
            return Err(api_error(status, &body));
        }
        let signed = signed.ok_or(PayError::Unverified(VerifyError::MissingHeaders))?;
        if let Err(e) = m.platform.verify(&signed, &body, crate::now(), ANSWER_WINDOW_SECS) {
            tracing::warn!(wechatpay.path = path, status, error = %e, "WeChat Pay answer failed verification");
            return Err(PayError::Unverified(e));
        }
        if !(200..300).contains(&status) {
            let e = api_error(status, &body);
            tracing::info!(wechatpay.path = path, error = %e, "WeChat Pay refused the request");
            return Err(e);
        }
        Ok((status, body))
    }

    async fn json<T: DeserializeOwned>(
        &self,
        m: &Merchant,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        extra: &[(&str, &str)],
    ) -> Result<T, PayError> {
        let (_, text) = self.send(m, method, path, body.map(Value::to_string), extra).await?;
        serde_json::from_str(&text).map_err(|e| PayError::Decode(format!("{path}: {e}")))
    }

    /// `GET /v3/certificates`: WeChat Pay's platform certificates, decrypted with the APIv3
    /// key. One call proves the private key and serial (else 401), the platform key (the
    /// answer verifies) and the APIv3 key (the certificates decrypt).
    pub async fn certificates(&self, m: &Merchant) -> Result<Vec<PlatformCertificate>, PayError> {
        #[derive(Deserialize)]
        struct Item {
            serial_no: String,
            #[serde(default)]
            expire_time: String,
            encrypt_certificate: Resource,
        }
        #[derive(Deserialize)]
        struct List {
            data: Vec<Item>,
        }
        let list: List = self.json(m, reqwest::Method::GET, "/v3/certificates", None, &[]).await?;
        list.data
            .into_iter()
            .map(|item| {
                let pem = item
                    .encrypt_certificate
                    .open(&m.api_v3_key)
                    .map_err(|e| PayError::Decode(format!("certificate {}: {e}", item.serial_no)))?;
                Ok(PlatformCertificate { serial_no: item.serial_no, expire_time: item.expire_time, pem })
            })
            .collect()
    }

    /// `POST /v3/merchant/media/upload`: an image for an application; its `media_id`.
    pub async fn upload_image(&self, m: &Merchant, filename: &str, bytes: Vec<u8>) -> Result<String, PayError> {
        use sha2::Digest;
        let sha256: String = sha2::Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
        let meta = serde_json::json!({"filename": filename, "sha256": sha256}).to_string();
        let path = "/v3/merchant/media/upload";
        let auth = Authorization::sign(&m.sp_mchid, &m.serial, &m.key, "POST", path, &meta, crate::now(), &nonce());
        let mime = if filename.ends_with(".png") { "image/png" } else { "image/jpeg" };
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name(filename.to_string())
            .mime_str(mime)
            .map_err(|e| PayError::Decode(e.to_string()))?;
        let meta_part = reqwest::multipart::Part::text(meta)
            .mime_str("application/json")
            .map_err(|e| PayError::Decode(e.to_string()))?;
        let form = reqwest::multipart::Form::new().part("meta", meta_part).part("file", part);
        let started = std::time::Instant::now();
        let sent = self
            .http
            .post(format!("{}{path}", self.base))
            .header("Authorization", auth)
            .header("Accept", "application/json")
            .multipart(form)
            .send()
            .await;
        let result = match sent {
            Ok(response) => self.read(m, response, path).await,
            Err(e) => Err(transport(&e)),
        };
        record(path, &result, started);
        let (_, text) = result?;
        #[derive(Deserialize)]
        struct Media {
            media_id: String,
        }
        serde_json::from_str::<Media>(&text).map(|m| m.media_id).map_err(|e| PayError::Decode(format!("{path}: {e}")))
    }

    /// `POST /v3/applyment4sub/applyment/`: submits (or, after a rejection, resubmits under
    /// the same business code) a sub-merchant application; its `applyment_id`.
    pub async fn submit_applyment(&self, m: &Merchant, body: &Value) -> Result<i64, PayError> {
        #[derive(Deserialize)]
        struct Created {
            applyment_id: i64,
        }
        let created: Created = self
            .json(
                m,
                reqwest::Method::POST,
                "/v3/applyment4sub/applyment/",
                Some(body),
                &[("Wechatpay-Serial", m.platform.serial.as_str())],
            )
            .await?;
        Ok(created.applyment_id)
    }

    /// `GET /v3/applyment4sub/applyment/business_code/{code}`.
    pub async fn applyment(&self, m: &Merchant, business_code: &str) -> Result<ApplymentStatus, PayError> {
        let path = format!("/v3/applyment4sub/applyment/business_code/{business_code}");
        self.json(m, reqwest::Method::GET, &path, None, &[]).await
    }

    /// `POST /v3/pay/partner/transactions/native`: a QR code order; its `code_url`.
    pub async fn prepay_native(&self, m: &Merchant, body: &Value) -> Result<String, PayError> {
        #[derive(Deserialize)]
        struct Native {
            code_url: String,
        }
        let answer: Native =
            self.json(m, reqwest::Method::POST, "/v3/pay/partner/transactions/native", Some(body), &[]).await?;
        Ok(answer.code_url)
    }

    /// `POST /v3/pay/partner/transactions/jsapi`: a mini program order; its `prepay_id`.
    pub async fn prepay_jsapi(&self, m: &Merchant, body: &Value) -> Result<String, PayError> {
        #[derive(Deserialize)]
        struct Jsapi {
            prepay_id: String,
        }
        let answer: Jsapi =
            self.json(m, reqwest::Method::POST, "/v3/pay/partner/transactions/jsapi", Some(body), &[]).await?;
        Ok(answer.prepay_id)
    }

    /// `GET /v3/pay/partner/transactions/out-trade-no/{no}`.
    pub async fn query_order(
        &self,
        m: &Merchant,
        sub_mchid: &str,
        out_trade_no: &str,
    ) -> Result<Transaction, PayError> {
        let path = format!(
            "/v3/pay/partner/transactions/out-trade-no/{out_trade_no}?sp_mchid={}&sub_mchid={sub_mchid}",
            m.sp_mchid
        );
        self.json(m, reqwest::Method::GET, &path, None, &[]).await
    }

    /// `POST /v3/pay/partner/transactions/out-trade-no/{no}/close` (204).
    pub async fn close_order(&self, m: &Merchant, sub_mchid: &str, out_trade_no: &str) -> Result<(), PayError> {
        let path = format!("/v3/pay/partner/transactions/out-trade-no/{out_trade_no}/close");
        let body = serde_json::json!({"sp_mchid": m.sp_mchid, "sub_mchid": sub_mchid});
        self.send(m, reqwest::Method::POST, &path, Some(body.to_string()), &[]).await.map(|_| ())
    }

    /// `POST /v3/refund/domestic/refunds`.
    pub async fn refund(&self, m: &Merchant, body: &Value) -> Result<Refund, PayError> {
        self.json(m, reqwest::Method::POST, "/v3/refund/domestic/refunds", Some(body), &[]).await
    }
}

/// Counts one call in `/metrics`: the endpoint with its ids replaced by their names and
/// without the query string, and WeChat Pay's code (`0` for success).
fn record<T>(path_and_query: &str, result: &Result<T, PayError>, started: std::time::Instant) {
    let code = match result {
        Ok(_) => "0".to_string(),
        Err(PayError::Api { code, .. }) if !code.is_empty() => code.clone(),
        Err(PayError::Api { status, .. }) => format!("http_{status}"),
        Err(PayError::Transport(_)) => "transport".into(),
        Err(PayError::Unverified(_)) => "unverified".into(),
        Err(PayError::Decode(_)) => "decode".into(),
    };
    crate::observe::outgoing_call("wechatpay", &endpoint(path_and_query), &code, started.elapsed());
}

/// The API a path calls, its ids named: `/v3/pay/partner/transactions/out-trade-no/{out-trade-no}/close`.
fn endpoint(path_and_query: &str) -> String {
    const ID_AFTER: [&str; 5] = ["business_code", "out-trade-no", "out-refund-no", "id", "sub_mchid"];
    let path = path_and_query.split('?').next().unwrap_or_default();
    let mut previous = "";
    path.split('/')
        .map(|segment| {
            let named = if ID_AFTER.contains(&previous) && !segment.is_empty() {
                format!("{{{previous}}}")
            } else {
                segment.to_string()
            };
            previous = segment;
            named
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn api_error(status: u16, body: &str) -> PayError {
    match serde_json::from_str::<ErrorBody>(body) {
        Ok(e) => PayError::Api { status, code: e.code, message: e.message },
        Err(_) => PayError::Api { status, code: String::new(), message: body.chars().take(200).collect() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoint_names_its_ids_and_drops_the_query() {
        assert_eq!(
            endpoint("/v3/pay/partner/transactions/out-trade-no/T123/close"),
            "/v3/pay/partner/transactions/out-trade-no/{out-trade-no}/close"
        );
        assert_eq!(
            endpoint("/v3/pay/partner/transactions/out-trade-no/T1?sp_mchid=1&sub_mchid=2"),
            "/v3/pay/partner/transactions/out-trade-no/{out-trade-no}"
        );
        assert_eq!(
            endpoint("/v3/applyment4sub/applyment/business_code/B9"),
            "/v3/applyment4sub/applyment/business_code/{business_code}"
        );
        assert_eq!(endpoint("/v3/applyment4sub/applyment/"), "/v3/applyment4sub/applyment/");
        assert_eq!(endpoint("/v3/certificates"), "/v3/certificates");
    }
}
