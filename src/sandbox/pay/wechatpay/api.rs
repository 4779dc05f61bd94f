//! What every `/v3` request of the sandbox WeChat Pay goes through (reference §7.6–7.7):
//! the `Authorization` header is checked as WeChat Pay checks it (401 `SIGN_ERROR` saying
//! why), the operation runs in one write transaction, and the answer (error bodies too,
//! except 401) carries `Wechatpay-*` headers signed with the platform key and a
//! `Request-ID`. Also the two endpoints with no state of their own:
//! `GET /v3/certificates` and `POST /v3/merchant/media/upload`.

use std::sync::LazyLock;

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use serde_json::{Value, json};
use sha2::Digest as _;

use super::{notify, rules, state};
use crate::db::{self, DbConn};
use crate::pay::keys::{Certificate, PrivateKey, normalise_serial};
use crate::pay::wechatpay::{Authorization, ErrorBody, Resource, SignedHeaders};
use crate::sandbox::pay::{PLATFORM_CERT_PEM, PLATFORM_CERT_SERIAL, PLATFORM_KEY_PEM, PLATFORM_PUBLIC_KEY_ID};
use crate::sandbox::{Sandbox, with_conn};

/// Where the API is mounted; the signed canonical URL is the path after it.
pub const BASE_PATH: &str = "/sandbox/wechatpay";
/// How far a request's timestamp may be from the sandbox's clock.
pub const TIMESTAMP_WINDOW_SECS: i64 = 300;

static PLATFORM_KEY: LazyLock<Option<PrivateKey>> = LazyLock::new(|| PrivateKey::parse(PLATFORM_KEY_PEM).ok());

/// The platform's private key (signs answers and notifications, decrypts fields).
pub fn platform_key() -> Option<&'static PrivateKey> {
    PLATFORM_KEY.as_ref()
}

/// A refusal as WeChat Pay writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WxError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

impl WxError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into() }
    }
    pub fn param(message: impl Into<String>) -> Self {
        Self::new(400, "PARAM_ERROR", message)
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(400, "INVALID_REQUEST", message)
    }
    pub fn sign(message: impl Into<String>) -> Self {
        Self::new(401, "SIGN_ERROR", message)
    }
    pub fn body(&self) -> ErrorBody {
        ErrorBody { code: self.code.to_string(), message: self.message.clone() }
    }
}

impl From<diesel::result::Error> for WxError {
    fn from(e: diesel::result::Error) -> Self {
        tracing::error!(error = %e, "sandbox wechatpay: database error");
        Self::new(500, "SYSTEM_ERROR", "系统错误")
    }
}

/// What an operation answers: an HTTP status and a JSON body (none for 204).
pub type Outcome = Result<(u16, Option<Value>), WxError>;

pub fn ok(v: Value) -> Outcome {
    Ok((200, Some(v)))
}

/// The canonical URL a client signed: the path after [`BASE_PATH`], and `?query` if any.
pub fn canonical_url(req: &HttpRequest) -> String {
    let path = req.path().strip_prefix(BASE_PATH).unwrap_or(req.path());
    match req.query_string() {
        "" => path.to_string(),
        q => format!("{path}?{q}"),
    }
}

/// Checks a request's `Authorization` against the merchant it names.
pub fn verify(
    c: &mut DbConn,
    header: Option<&str>,
    method: &str,
    url: &str,
    body: &str,
    now: i64,
) -> Result<state::Merchant, WxError> {
    let auth = header.and_then(Authorization::parse).ok_or_else(|| {
        WxError::sign("Authorization 请求头缺失或格式错误 (missing or malformed Authorization header)")
    })?;
    let merchant = state::find_merchant(c, &auth.mchid)?
        .ok_or_else(|| WxError::sign(format!("商户号 {} 不存在 (unknown mchid)", auth.mchid)))?;
    if normalise_serial(&auth.serial_no) != normalise_serial(&merchant.cert_serial) {
        return Err(WxError::sign(format!(
            "serial_no {} 不是商户 {} 的API证书序列号 (not the merchant's certificate serial)",
            auth.serial_no, merchant.mchid
        )));
    }
    if (now - auth.timestamp).abs() > TIMESTAMP_WINDOW_SECS {
        return Err(WxError::sign("timestamp 与当前时间相差超过5分钟 (timestamp more than 300 s away)"));
    }
    let cert = Certificate::parse(&merchant.cert_pem).map_err(|_| WxError::sign("商户证书无效"))?;
    if !auth.verifies(&cert.public_key, method, url, body) {
        return Err(WxError::sign("错误的签名，验签失败 (the signature does not verify)"));
    }
    Ok(merchant)
}

/// The serial WeChat Pay's signature names for a merchant's verify mode.
pub fn platform_serial(verify_mode: &str) -> &'static str {
    if verify_mode == "public_key" { PLATFORM_PUBLIC_KEY_ID } else { PLATFORM_CERT_SERIAL }
}

/// A signed answer (unsigned for 401, which comes before WeChat Pay knows the caller).
pub fn respond(verify_mode: Option<&str>, status: u16, body: Option<&Value>) -> HttpResponse {
    let text = body.map(Value::to_string).unwrap_or_default();
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = HttpResponse::build(code);
    resp.insert_header(("Request-ID", crate::new_id()));
    if let (Some(mode), Some(key)) = (verify_mode, platform_key())
        && status != 401
    {
        let signed = SignedHeaders::sign(key, platform_serial(mode), &text, crate::now());
        for (k, v) in signed.pairs() {
            resp.insert_header((k, v.to_string()));
        }
    }
    if body.is_some() { resp.content_type("application/json; charset=utf-8").body(text) } else { resp.finish() }
}

fn error_response(verify_mode: Option<&str>, e: &WxError) -> HttpResponse {
    respond(verify_mode, e.status, serde_json::to_value(e.body()).ok().as_ref())
}

/// Verifies the request, runs `op` in one write transaction and answers signed. `body` is
/// the text the signature covers (the meta JSON for an upload).
pub async fn serve<F>(sb: &web::Data<Sandbox>, req: &HttpRequest, body: String, op: F) -> HttpResponse
where
    F: FnOnce(&mut DbConn, &state::Merchant, i64) -> Outcome + Send + 'static,
{
    let header = req.headers().get("Authorization").and_then(|v| v.to_str().ok()).map(str::to_string);
    let method = req.method().as_str().to_string();
    let url = canonical_url(req);
    let path = url.clone();
    let ran = with_conn(&sb.pool, move |c| {
        let now = crate::now();
        let merchant = verify(c, header.as_deref(), &method, &url, &body, now)?;
        let mode = merchant.verify_mode.clone();
        let outcome = db::write_tx(c, |c| op(c, &merchant, now));
        Ok::<_, WxError>((mode, outcome))
    })
    .await;
    match ran {
        Err(_) => error_response(None, &WxError::new(500, "SYSTEM_ERROR", "系统错误")),
        Ok(Err(refused)) => {
            tracing::warn!(path = %path, code = refused.code, reason = %refused.message, "sandbox wechatpay: refused a request");
            error_response(None, &refused)
        }
        Ok(Ok((mode, Err(e)))) => {
            tracing::info!(path = %path, code = e.code, message = %e.message, "sandbox wechatpay: answered an error");
            error_response(Some(&mode), &e)
        }
        Ok(Ok((mode, Ok((status, value))))) => {
            notify::wake(sb);
            respond(Some(&mode), status, value.as_ref())
        }
    }
}

/// The request body as text (what the signature covers).
pub fn body_text(bytes: &web::Bytes) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The JSON object of a body, or 400 PARAM_ERROR.
pub fn json_body(text: &str) -> Result<Value, WxError> {
    match serde_json::from_str::<Value>(text) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err(WxError::param("请求体不是合法的JSON对象")),
    }
}

/// `GET /v3/certificates`: the platform certificate sealed with the caller's APIv3 key.
pub async fn certificates(sb: web::Data<Sandbox>, req: HttpRequest, bytes: web::Bytes) -> HttpResponse {
    serve(&sb, &req, body_text(&bytes), |_c, m, _now| {
        let nonce = rules::nonce12();
        let sealed = Resource::seal(&m.api_v3_key, &nonce, "certificate", "certificate", PLATFORM_CERT_PEM)
            .map_err(|_| WxError::new(500, "SYSTEM_ERROR", "商户APIv3密钥无效"))?;
        ok(json!({"data": [{
            "serial_no": PLATFORM_CERT_SERIAL,
            "effective_time": "2025-01-01T08:00:00+08:00",
            "expire_time": "2035-01-01T08:00:00+08:00",
            "encrypt_certificate": {
                "algorithm": sealed.algorithm,
                "nonce": sealed.nonce,
                "associated_data": sealed.associated_data,
                "ciphertext": sealed.ciphertext,
            }
        }]}))
    })
    .await
}

/// The parts of an image upload.
#[derive(Default)]
struct Upload {
    meta: Option<String>,
    file: Option<Vec<u8>>,
    too_large: bool,
}

async fn read_upload(mut form: crate::multipart::Parts) -> Result<Upload, String> {
    let mut up = Upload::default();
    while let Some(field) = form.next_field().await {
        let mut field = field.map_err(|e| format!("multipart 格式错误: {e}"))?;
        let name = field.name().unwrap_or_default().to_string();
        let mut data = Vec::new();
        while let Some(chunk) = form.next_chunk(&mut field).await {
            let chunk = chunk.map_err(|e| format!("multipart 格式错误: {e}"))?;
            if data.len() + chunk.len() > rules::MEDIA_MAX_BYTES + 1 {
                up.too_large = true;
                continue;
            }
            data.extend_from_slice(&chunk);
        }
        match name.as_str() {
            "meta" => up.meta = Some(String::from_utf8_lossy(&data).into_owned()),
            "file" => up.file = Some(data),
            _ => {}
        }
    }
    Ok(up)
}

/// `POST /v3/merchant/media/upload` (multipart `meta` + `file`); the signature covers `meta`.
pub async fn media_upload(sb: web::Data<Sandbox>, req: HttpRequest, form: crate::multipart::Parts) -> HttpResponse {
    let up = match read_upload(form).await {
        Ok(up) => up,
        Err(msg) => return error_response(None, &WxError::param(msg)),
    };
    let meta_text = up.meta.clone().unwrap_or_default();
    serve(&sb, &req, meta_text.clone(), move |c, m, now| {
        let meta = json_body(&meta_text).map_err(|_| WxError::param("meta 不能为空或不是合法的JSON"))?;
        let filename = meta.get("filename").and_then(Value::as_str).unwrap_or_default().to_string();
        let claimed = meta.get("sha256").and_then(Value::as_str).unwrap_or_default().to_string();
        if filename.is_empty() {
            return Err(WxError::param("meta.filename 不能为空"));
        }
        if claimed.is_empty() {
            return Err(WxError::param("meta.sha256 不能为空"));
        }
        let file = up.file.unwrap_or_default();
        let size = if up.too_large { rules::MEDIA_MAX_BYTES + 1 } else { file.len() };
        let actual: String = sha2::Sha256::digest(&file).iter().map(|b| format!("{b:02x}")).collect();
        rules::check_media(&filename, &claimed, &actual, size).map_err(WxError::param)?;
        let media = state::Media {
            media_id: format!("V1_sandbox_{}", crate::new_id().replace('-', "")),
            mchid: m.mchid.clone(),
            filename,
            sha256: actual,
            size: i64::try_from(size).unwrap_or(0),
            created_at: now,
        };
        state::insert_media(c, &media)?;
        ok(json!({ "media_id": media.media_id }))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn the_canonical_url_is_the_path_after_the_base_with_its_query() {
        let req = TestRequest::get()
            .uri("/sandbox/wechatpay/v3/pay/partner/transactions/out-trade-no/T1?sp_mchid=1&sub_mchid=2")
            .to_http_request();
        assert_eq!(canonical_url(&req), "/v3/pay/partner/transactions/out-trade-no/T1?sp_mchid=1&sub_mchid=2");
        let req = TestRequest::get().uri("/sandbox/wechatpay/v3/certificates").to_http_request();
        assert_eq!(canonical_url(&req), "/v3/certificates");
    }

    #[test]
    fn answers_name_the_key_of_the_merchants_verify_mode() {
        assert_eq!(platform_serial("certificate"), PLATFORM_CERT_SERIAL);
        assert_eq!(platform_serial("public_key"), PLATFORM_PUBLIC_KEY_ID);
        assert!(platform_key().is_some());
    }
}
