//! `gateway.do` (reference §8.1–8.3): the common parameters from the query string and/or an
//! URL-encoded form body, their checks in Alipay's order with its error nodes, the RSA2
//! signature checked with the application's public key, then the method
//! ([`super::trades`]). Answers are `{"<method>_response": {...}, "sign": "..."}` signed with
//! the gateway key once the application is known; before that (an unknown `app_id`) the
//! node is answered unsigned.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value};

use super::rules::{self, Refusal};
use super::store;
use super::trades::{self, Call, Failure};
use crate::db;
use crate::pay::alipay::{parse_timestamp, request_content, response_node, signed_response, verify_request};
use crate::pay::keys::{PrivateKey, PublicKey};
use crate::sandbox::pay::ALIPAY_GATEWAY_KEY_PEM;
use crate::sandbox::{Sandbox, with_conn};

static GATEWAY_KEY: LazyLock<Option<PrivateKey>> = LazyLock::new(|| PrivateKey::parse(ALIPAY_GATEWAY_KEY_PEM).ok());

/// The node unknown and missing methods are answered in.
const ERROR_METHOD: &str = "error";

/// The request's parameters: the query string's, then the form body's.
pub fn parameters(query: &str, body: &[u8], form: bool) -> Result<BTreeMap<String, String>, Refusal> {
    let mut params: BTreeMap<String, String> = BTreeMap::new();
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query).map_err(|_| Refusal::invalid("isv.invalid-parameter", "参数无效"))?;
    params.extend(pairs);
    if form && !body.is_empty() {
        let text = std::str::from_utf8(body).map_err(|_| Refusal::invalid("isv.invalid-charset", "字符集错误"))?;
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(text).map_err(|_| Refusal::invalid("isv.invalid-parameter", "参数无效"))?;
        params.extend(pairs);
    }
    Ok(params)
}

/// What the common parameters say before the method runs.
#[derive(Debug, PartialEq)]
pub enum Checked {
    /// Answer this refusal, signed when the app is known, in this method's node.
    Refused { method: String, refusal: Refusal, signed: bool },
    /// The call may proceed.
    Proceed { method: String, biz: Map<String, Value> },
}

/// The checks of the common parameters, in Alipay's order, given the app's uploaded public
/// key (`None`: no such app) and the gateway's clock.
pub fn check(params: &BTreeMap<String, String>, app_key: Option<&str>, now: i64) -> Checked {
    let get = |k: &str| params.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let known_method = get("method").filter(|m| trades::method(m).is_some());
    let node_method = known_method.unwrap_or(ERROR_METHOD).to_string();
    let refuse = |refusal: Refusal, signed: bool| Checked::Refused { method: node_method.clone(), refusal, signed };
    let Some(app_key) = app_key else {
        return refuse(Refusal::invalid_app_id(), false);
    };
    let Some(method) = get("method") else {
        return refuse(Refusal::invalid("isv.missing-method", "缺少方法名参数"), true);
    };
    if known_method.is_none() {
        return refuse(Refusal::invalid("isv.invalid-method", "不存在的方法名"), true);
    }
    if get("charset").is_some_and(|c| !c.eq_ignore_ascii_case("utf-8") && !c.eq_ignore_ascii_case("utf8")) {
        return refuse(Refusal::invalid("isv.invalid-charset", "字符集错误"), true);
    }
    match get("sign_type") {
        None => return refuse(Refusal::invalid("isv.missing-signature-type", "缺少签名类型参数"), true),
        Some("RSA2") => {}
        Some(_) => return refuse(Refusal::invalid("isv.invalid-signature-type", "无效的签名类型"), true),
    }
    if get("sign").is_none() {
        return refuse(Refusal::invalid("isv.missing-signature", "缺少签名参数"), true);
    }
    let verifies = PublicKey::parse(app_key).is_ok_and(|key| verify_request(params, &key));
    if !verifies {
        let sub_msg = format!(
            "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为：{}",
            request_content(params)
        );
        return refuse(Refusal::invalid("isv.invalid-signature", sub_msg), true);
    }
    let fresh =
        get("timestamp").and_then(parse_timestamp).is_some_and(|t| (t - now).abs() <= rules::TIMESTAMP_SKEW_SECS);
    if !fresh {
        return refuse(Refusal::invalid("isv.invalid-timestamp", "非法的时间戳参数"), true);
    }
    match get("version") {
        None => return refuse(Refusal::invalid("isv.missing-version", "缺少版本参数"), true),
        Some("1.0") => {}
        Some(_) => return refuse(Refusal::invalid("isv.invalid-version", "版本号错误"), true),
    }
    if get("format").is_some_and(|f| !f.eq_ignore_ascii_case("json")) {
        return refuse(Refusal::invalid("isv.invalid-format", "无效的数据格式"), true);
    }
    if get("app_auth_token").is_some() {
        // No merchant has authorized any application here (ISV mode is not simulated).
        let refusal = Refusal {
            code: "20001",
            msg: "Insufficient Token Permissions",
            sub_code: "aop.invalid-app-auth-token",
            sub_msg: "无效的应用授权令牌".into(),
        };
        return refuse(refusal, true);
    }
    if get("notify_url").is_some_and(|u| !(u.starts_with("http://") || u.starts_with("https://"))) {
        return refuse(Refusal::bad("notify_url"), true);
    }
    let biz = match get("biz_content").map(serde_json::from_str::<Value>) {
        None => return refuse(Refusal::missing("biz_content"), true),
        Some(Ok(Value::Object(m))) => m,
        Some(_) => return refuse(Refusal::bad("biz_content"), true),
    };
    Checked::Proceed { method: method.to_string(), biz }
}

/// The answer body: signed with the gateway key, or the bare node.
fn answer(method: &str, node: &Value, signed: bool) -> HttpResponse {
    let body = match (signed, GATEWAY_KEY.as_ref()) {
        (true, Some(key)) => signed_response(method, node, key),
        _ => format!(r#"{{"{}":{node}}}"#, response_node(method)),
    };
    HttpResponse::Ok().content_type("text/html;charset=utf-8").body(body)
}

fn internal(method: &str) -> HttpResponse {
    let node = Refusal {
        code: "20000",
        msg: "Service Currently Unavailable",
        sub_code: "isp.unknow-error",
        sub_msg: "系统繁忙".into(),
    }
    .node();
    answer(method, &node, true)
}

/// `GET|POST /sandbox/alipay/gateway.do`.
pub async fn gateway(sb: web::Data<Sandbox>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let form = req.headers().get("content-type").and_then(|v| v.to_str().ok()).is_none_or(|ct| {
        ct.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
    });
    let params = match parameters(req.query_string(), &body, form) {
        Ok(p) => p,
        Err(refusal) => return answer(ERROR_METHOD, &refusal.node(), false),
    };
    let app_id = params.get("app_id").map(|a| a.trim().to_string()).unwrap_or_default();
    let lookup = app_id.clone();
    let app = match with_conn(&sb.pool, move |c| store::find_app(c, &lookup)).await {
        Ok(Ok(app)) => app,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "sandbox alipay: cannot read the application");
            return internal(ERROR_METHOD);
        }
        Err(_) => return internal(ERROR_METHOD),
    };
    let now = crate::now();
    let (method, biz) = match check(&params, app.as_ref().map(|a| a.app_public_key.as_str()), now) {
        Checked::Refused { method, refusal, signed } => {
            tracing::info!(%app_id, method = params.get("method").map(String::as_str).unwrap_or(""), sub_code = refusal.sub_code, "sandbox alipay: gateway refused a call");
            return answer(&method, &refusal.node(), signed);
        }
        Checked::Proceed { method, biz } => (method, biz),
    };
    let (Some(app), Some(run)) = (app, trades::method(&method)) else {
        return internal(&method);
    };
    let notify_url = params.get("notify_url").map(|u| u.trim().to_string()).filter(|u| !u.is_empty());
    let done = with_conn(&sb.pool, move |c| {
        db::write_tx(c, |c| run(c, &Call { app: &app, biz: &biz, notify_url: notify_url.as_deref(), now }))
    })
    .await;
    match done {
        Ok(Ok(node)) => answer(&method, &node, true),
        Ok(Err(Failure::Refused(refusal))) => {
            tracing::info!(%app_id, %method, sub_code = refusal.sub_code, "sandbox alipay: business failure");
            answer(&method, &refusal.node(), true)
        }
        Ok(Err(Failure::Db(e))) => {
            tracing::error!(error = %e, %method, "sandbox alipay: a method failed");
            internal(&method)
        }
        Err(_) => internal(&method),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pay::alipay::{sign_request, timestamp};
    use crate::sandbox::pay::{ALIPAY_DEMO_APP_KEY_PEM, ALIPAY_DEMO_APP_PUBLIC_KEY_PEM};

    fn signed(now: i64, extra: &[(&str, &str)]) -> BTreeMap<String, String> {
        let mut p: BTreeMap<String, String> = [
            ("app_id", "2021000100000001"),
            ("method", "alipay.trade.query"),
            ("format", "JSON"),
            ("charset", "utf-8"),
            ("sign_type", "RSA2"),
            ("version", "1.0"),
            ("biz_content", r#"{"out_trade_no":"o1"}"#),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        p.insert("timestamp".into(), timestamp(now));
        for (k, v) in extra {
            p.insert((*k).into(), (*v).into());
        }
        sign_request(&mut p, &PrivateKey::parse(ALIPAY_DEMO_APP_KEY_PEM).expect("key"));
        p
    }

    fn sub_code(c: &Checked) -> &str {
        match c {
            Checked::Refused { refusal, .. } => refusal.sub_code,
            Checked::Proceed { .. } => "proceed",
        }
    }

    #[test]
    fn the_common_parameters_are_checked_in_order() {
        let key = Some(ALIPAY_DEMO_APP_PUBLIC_KEY_PEM);
        let now = 1_800_000_000;
        let ok = signed(now, &[]);
        assert_eq!(sub_code(&check(&ok, key, now)), "proceed");
        match check(&ok, None, now) {
            Checked::Refused { method, signed, .. } => {
                assert_eq!((method.as_str(), signed), ("alipay.trade.query", false))
            }
            other => panic!("{other:?}"),
        }
        let mut tampered = ok.clone();
        tampered.insert("biz_content".into(), r#"{"out_trade_no":"o2"}"#.into());
        let refused = check(&tampered, key, now);
        assert_eq!(sub_code(&refused), "isv.invalid-signature");
        if let Checked::Refused { refusal, .. } = refused {
            assert!(refusal.sub_msg.ends_with(&request_content(&tampered)), "{}", refusal.sub_msg);
        }
        assert_eq!(sub_code(&check(&ok, key, now + 16 * 60)), "isv.invalid-timestamp");
        assert_eq!(sub_code(&check(&ok, key, now - 14 * 60)), "proceed");
        let mut rsa = ok.clone();
        rsa.insert("sign_type".into(), "RSA".into());
        assert_eq!(sub_code(&check(&rsa, key, now)), "isv.invalid-signature-type");
        let mut unsigned = ok.clone();
        unsigned.remove("sign");
        assert_eq!(sub_code(&check(&unsigned, key, now)), "isv.missing-signature");
        let unknown = signed(now, &[("method", "alipay.trade.nothing")]);
        match check(&unknown, key, now) {
            Checked::Refused { method, refusal, signed } => {
                assert_eq!((method.as_str(), refusal.sub_code, signed), ("error", "isv.invalid-method", true))
            }
            other => panic!("{other:?}"),
        }
        let not_json = signed(now, &[("biz_content", "out_trade_no=1")]);
        assert_eq!(sub_code(&check(&not_json, key, now)), "isv.invalid-parameter");
    }

    #[test]
    fn parameters_merge_the_query_and_the_form() {
        let p = parameters("app_id=1&method=m", b"biz_content=%7B%22a%22%3A1%7D&charset=utf-8", true).expect("parsed");
        assert_eq!(p["app_id"], "1");
        assert_eq!(p["biz_content"], r#"{"a":1}"#);
        assert!(parameters("", b"\xff=1", true).is_err());
    }
}
