//! Sub-merchant applications (特约商户进件, `/v3/applyment4sub/applyment/`): submission with
//! WeChat Pay's checks (required fields, sensitive fields decrypted with the platform key,
//! known media ids, one business code per service provider unless resubmitting a rejected
//! one), the two queries, the reviewer's and super administrator's decisions, and the
//! opening of the sub-merchant `pay_step_secs` after signing (with the AppID relation when
//! the application named a mini program of the same subject).

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::api::{self, Outcome, WxError, ok};
use super::rules::{self, Decision, State};
use super::state::{self, Applyment};
use crate::db::DbConn;
use crate::pay::wechatpay::decrypt_field;
use crate::sandbox::pay::{PLATFORM_CERT_SERIAL, PLATFORM_PUBLIC_KEY_ID};
use crate::sandbox::{Sandbox, store};

/// Refused when the AppID's subject is not the sub-merchant's.
pub const SUBJECT_MISMATCH: &str = "该APPID认证主体与特约商户主体不一致";

/// The query answer of an application.
pub fn query_json(a: &Applyment, public_url: &str) -> Value {
    let st = State::parse(&a.state).unwrap_or(State::Auditing);
    let mut v = json!({
        "business_code": a.business_code,
        "applyment_id": a.applyment_id,
        "sign_url": format!("{public_url}/sandbox/wechatpay/sign/{}", a.applyment_id),
        "applyment_state": st.as_str(),
        "applyment_state_msg": st.msg(),
    });
    if st == State::Finished
        && let Some(s) = &a.sub_mchid
    {
        v["sub_mchid"] = json!(s);
    }
    if st == State::Rejected {
        v["audit_detail"] = serde_json::from_str(&a.audit_detail).unwrap_or_else(|_| json!([]));
    }
    v
}

/// Checks and stores a submission; its `applyment_id`.
fn submit(c: &mut DbConn, m: &state::Merchant, serial: Option<&str>, text: &str, now: i64) -> Outcome {
    let body = api::json_body(text)?;
    match serial {
        Some(s) if s == PLATFORM_CERT_SERIAL || s == PLATFORM_PUBLIC_KEY_ID => {}
        Some(s) => {
            return Err(WxError::param(format!("Wechatpay-Serial {s} 不是微信支付平台证书序列号或公钥ID")));
        }
        None => return Err(WxError::param("请求头 Wechatpay-Serial 不能为空（敏感信息加密所用的平台证书序列号）")),
    }
    rules::check_applyment(&body).map_err(WxError::param)?;
    let key = api::platform_key().ok_or_else(|| WxError::new(500, "SYSTEM_ERROR", "系统错误"))?;
    let mut plain = std::collections::HashMap::new();
    for path in rules::ENCRYPTED {
        let v = decrypt_field(key, rules::text(&body, path))
            .ok_or_else(|| WxError::param(format!("{path} 解密失败，请使用微信支付平台公钥加密")))?;
        plain.insert(*path, v);
    }
    for path in rules::MEDIA {
        let id = rules::text(&body, path);
        if !state::media_exists(c, &m.mchid, id)? {
            return Err(WxError::param(format!("{path} 的media_id无效：{id}")));
        }
    }
    let code = rules::text(&body, "business_code").to_string();
    let existing = state::find_applyment_by_code(c, &m.mchid, &code)?;
    let applyment_id = match &existing {
        Some(a) if State::parse(&a.state).is_some_and(State::resubmittable) => a.applyment_id,
        Some(_) => return Err(WxError::param("业务申请编号已存在")),
        None => state::next_applyment_id(c)?,
    };
    let get = |p: &str| plain.get(p).cloned().unwrap_or_default();
    let sub_appid = rules::text(&body, "business_info.sales_info.mini_program_info.mini_program_sub_appid");
    let a = Applyment {
        applyment_id,
        sp_mchid: m.mchid.clone(),
        business_code: code,
        state: State::Auditing.as_str().into(),
        subject_type: rules::text(&body, "subject_info.subject_type").into(),
        merchant_name: rules::text(&body, "subject_info.business_license_info.merchant_name").into(),
        merchant_shortname: rules::text(&body, "business_info.merchant_shortname").into(),
        contact_name: get("contact_info.contact_name"),
        mobile_phone: get("contact_info.mobile_phone"),
        contact_email: get("contact_info.contact_email"),
        id_card_name: get("subject_info.identity_info.id_card_info.id_card_name"),
        id_card_number: get("subject_info.identity_info.id_card_info.id_card_number"),
        account_name: get("bank_account_info.account_name"),
        account_number: get("bank_account_info.account_number"),
        mini_program_sub_appid: (!sub_appid.is_empty()).then(|| sub_appid.to_string()),
        body: text.to_string(),
        audit_detail: "[]".into(),
        sub_mchid: None,
        signed_at: None,
        created_at: existing.as_ref().map_or(now, |a| a.created_at),
        updated_at: now,
    };
    if existing.is_some() {
        state::save_applyment(c, &a)?;
        tracing::info!(applyment_id, "sandbox wechatpay: application resubmitted");
    } else {
        state::insert_applyment(c, &a)?;
        tracing::info!(applyment_id, "sandbox wechatpay: application submitted");
    }
    ok(json!({ "applyment_id": applyment_id }))
}

/// `POST /v3/applyment4sub/applyment/`.
pub async fn create(sb: web::Data<Sandbox>, req: HttpRequest, bytes: web::Bytes) -> HttpResponse {
    let serial = req.headers().get("Wechatpay-Serial").and_then(|v| v.to_str().ok()).map(str::to_string);
    let text = api::body_text(&bytes);
    api::serve(&sb, &req, text.clone(), move |c, m, now| submit(c, m, serial.as_deref(), &text, now)).await
}

fn not_found() -> WxError {
    WxError::new(404, "RESOURCE_NOT_EXISTS", "申请单不存在")
}

/// The two queries: by business code or by id, only the submitting service provider's.
async fn query(sb: web::Data<Sandbox>, req: HttpRequest, by: Result<String, i64>) -> HttpResponse {
    let public_url = sb.config.public_url.clone();
    let step = step_secs(&sb);
    api::serve(&sb, &req, String::new(), move |c, m, now| {
        finish_due(c, step, now)?;
        let found = match &by {
            Ok(code) => state::find_applyment_by_code(c, &m.mchid, code)?,
            Err(id) => state::find_applyment(c, *id)?.filter(|a| a.sp_mchid == m.mchid),
        };
        ok(query_json(&found.ok_or_else(not_found)?, &public_url))
    })
    .await
}

/// `GET /v3/applyment4sub/applyment/business_code/{business_code}`.
pub async fn by_code(sb: web::Data<Sandbox>, req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    query(sb, req, Ok(path.into_inner())).await
}

/// `GET /v3/applyment4sub/applyment/applyment_id/{applyment_id}`.
pub async fn by_id(sb: web::Data<Sandbox>, req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let id = path.into_inner().parse::<i64>().unwrap_or(-1);
    query(sb, req, Err(id)).await
}

pub fn step_secs(sb: &Sandbox) -> i64 {
    i64::try_from(sb.config.pay_step_secs).unwrap_or(i64::MAX)
}

/// Why a decision was not applied.
#[derive(Debug, PartialEq, Eq)]
pub enum DecideError {
    NotFound,
    /// Not allowed from the current state (its name).
    NotAllowed(String),
    /// A rejection needs at least one field and reason.
    NoReason,
    Db(String),
}

impl From<diesel::result::Error> for DecideError {
    fn from(e: diesel::result::Error) -> Self {
        DecideError::Db(e.to_string())
    }
}

/// One rejected field.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
pub struct AuditItem {
    #[serde(default)]
    pub field: String,
    #[serde(default)]
    pub field_name: String,
    #[serde(default)]
    pub reject_reason: String,
}

/// Applies a decision of the reviewer or the super administrator (one transaction).
pub fn decide(
    c: &mut DbConn,
    applyment_id: i64,
    decision: Decision,
    audit: &[AuditItem],
    now: i64,
) -> Result<Applyment, DecideError> {
    let mut a = state::find_applyment(c, applyment_id)?.ok_or(DecideError::NotFound)?;
    let from = State::parse(&a.state).unwrap_or(State::Auditing);
    let to = rules::transition(from, decision).ok_or_else(|| DecideError::NotAllowed(a.state.clone()))?;
    if decision == Decision::Reject {
        let items: Vec<&AuditItem> = audit.iter().filter(|i| !i.reject_reason.trim().is_empty()).collect();
        if items.is_empty() {
            return Err(DecideError::NoReason);
        }
        a.audit_detail = serde_json::to_string(&items).unwrap_or_else(|_| "[]".into());
    }
    if decision == Decision::Sign {
        a.signed_at = Some(now);
    }
    a.state = to.as_str().into();
    a.updated_at = now;
    state::save_applyment(c, &a)?;
    tracing::info!(applyment_id, state = %a.state, "sandbox wechatpay: application decided");
    Ok(a)
}

/// Opens the sub-merchants of applications signed at least `step` seconds ago: a new
/// `sub_mchid`, the sub-merchant, and the relation with the mini program the application
/// named when its subject is the merchant's. Returns how many were finished.
pub fn finish_due(c: &mut DbConn, step: i64, now: i64) -> diesel::QueryResult<usize> {
    let due = state::signing_due(c, now.saturating_sub(step))?;
    for mut a in due.iter().cloned() {
        let mut sub_mchid = rules::new_sub_mchid();
        while state::find_sub_merchant(c, &sub_mchid)?.is_some() {
            sub_mchid = rules::new_sub_mchid();
        }
        state::insert_sub_merchant(
            c,
            &state::SubMerchant {
                sub_mchid: sub_mchid.clone(),
                sp_mchid: a.sp_mchid.clone(),
                name: a.merchant_name.clone(),
                applyment_id: Some(a.applyment_id),
                created_at: now,
            },
        )?;
        if let Some(appid) = a.mini_program_sub_appid.clone() {
            let (bound, note) = subject_check(c, &appid, &a.merchant_name)?;
            state::put_binding(
                c,
                &state::Binding {
                    sub_mchid: sub_mchid.clone(),
                    appid,
                    state: if bound { "bound" } else { "refused" }.into(),
                    method: "onboarding".into(),
                    note,
                    updated_at: now,
                },
            )?;
        }
        a.state = State::Finished.as_str().into();
        a.sub_mchid = Some(sub_mchid.clone());
        a.updated_at = now;
        state::save_applyment(c, &a)?;
        tracing::info!(applyment_id = a.applyment_id, %sub_mchid, "sandbox wechatpay: sub-merchant opened");
    }
    Ok(due.len())
}

/// Whether an AppID may be bound to a merchant named `name`: a sandbox account whose
/// principal is that name; otherwise why not.
pub fn subject_check(c: &mut DbConn, appid: &str, name: &str) -> diesel::QueryResult<(bool, String)> {
    Ok(match store::find_account(c, appid)? {
        Some(acc) if acc.principal_name == name => (true, String::new()),
        Some(_) => (false, SUBJECT_MISMATCH.into()),
        None => (false, format!("AppID {appid} 不存在")),
    })
}
