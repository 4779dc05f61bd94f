//! Alipay's open gateway on the wire (reference §8.2–8.4, notes §4.3): the RSA2 content string
//! of a request and of a notification, and the signed `*_response` node of an answer.
//! Shared by the console's client and the sandbox gateway.

use std::collections::BTreeMap;

use super::keys::{PrivateKey, PublicKey};

/// The content a request signs: every parameter but `sign`, empty values dropped, sorted by
/// key, joined `k=v` with `&`, values raw (not URL-encoded). `sign_type` is included.
pub fn request_content(params: &BTreeMap<String, String>) -> String {
    join(params.iter().filter(|(k, v)| k.as_str() != "sign" && !v.is_empty()))
}

/// The content a notification signs: as a request's, but without `sign_type` either.
pub fn notification_content(params: &BTreeMap<String, String>) -> String {
    join(params.iter().filter(|(k, v)| k.as_str() != "sign" && k.as_str() != "sign_type" && !v.is_empty()))
}

fn join<'a>(pairs: impl Iterator<Item = (&'a String, &'a String)>) -> String {
    pairs.map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

/// Signs a request's parameters in place (`sign_type` must already be `RSA2`).
pub fn sign_request(params: &mut BTreeMap<String, String>, key: &PrivateKey) {
    let sign = key.sign(request_content(params).as_bytes());
    params.insert("sign".into(), sign);
}

/// Whether a request's `sign` verifies under `key`.
pub fn verify_request(params: &BTreeMap<String, String>, key: &PublicKey) -> bool {
    params.get("sign").is_some_and(|sign| key.verify(request_content(params).as_bytes(), sign))
}

/// Whether a notification's `sign` verifies under the Alipay public key.
pub fn verify_notification(params: &BTreeMap<String, String>, key: &PublicKey) -> bool {
    params.get("sign").is_some_and(|sign| key.verify(notification_content(params).as_bytes(), sign))
}

/// Signs a notification's parameters in place (the sandbox does this with the gateway key).
pub fn sign_notification(params: &mut BTreeMap<String, String>, key: &PrivateKey) {
    let sign = key.sign(notification_content(params).as_bytes());
    params.insert("sign".into(), sign);
}

/// The node an answer to `method` carries: `alipay.trade.query` → `alipay_trade_query_response`.
pub fn response_node(method: &str) -> String {
    format!("{}_response", method.replace('.', "_"))
}

/// An answer body: `{"<node>": <response>, "sign": "<Base64 over the node's raw JSON>"}`.
/// The node's JSON is written first and signed as written, so the bytes a client verifies are
/// exactly the bytes signed.
pub fn signed_response(method: &str, response: &serde_json::Value, key: &PrivateKey) -> String {
    let node_json = response.to_string();
    let sign = key.sign(node_json.as_bytes());
    format!(r#"{{"{}":{node_json},"sign":"{sign}"}}"#, response_node(method))
}

/// Why an answer was not accepted as the gateway's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    #[error("the answer has no {0} node")]
    MissingNode(String),
    #[error("the answer is not signed")]
    Unsigned,
    #[error("the answer's signature does not verify with the Alipay public key")]
    BadSignature,
}

/// Finds the raw JSON text of `"<node>":` in `body` (the object as sent, byte for byte).
fn raw_node<'a>(body: &'a str, node: &str) -> Option<&'a str> {
    let start = body.find(&format!("\"{node}\""))? + node.len() + 2;
    let rest = body[start..].trim_start().strip_prefix(':')?.trim_start();
    let offset = body.len() - rest.len();
    if !rest.starts_with('{') {
        return None;
    }
    // Walk to the matching brace, skipping strings.
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (i, ch) in rest.char_indices() {
        if in_string {
            match (escaped, ch) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match ch {
            '"' => in_string = true,
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(&body[offset..offset + i + 1]);
                }
            }
            _ => {}
        }
    }
    None
}

/// Verifies an answer to `method` and returns its node. An error answer (`code` other than
/// 10000) is still signed and returned: the caller reads `code`/`sub_code`. Alipay leaves the
/// answer unsigned only when it could not identify the app (`isv.invalid-app-id` and the like).
pub fn verify_response(method: &str, body: &str, key: &PublicKey) -> Result<serde_json::Value, ResponseError> {
    let node = response_node(method);
    let parsed: serde_json::Value = serde_json::from_str(body).map_err(|_| ResponseError::MissingNode(node.clone()))?;
    let value = parsed.get(&node).cloned().ok_or_else(|| ResponseError::MissingNode(node.clone()))?;
    let raw = raw_node(body, &node).ok_or_else(|| ResponseError::MissingNode(node.clone()))?;
    match parsed.get("sign").and_then(|s| s.as_str()) {
        None | Some("") => Err(ResponseError::Unsigned),
        Some(sign) if key.verify(raw.as_bytes(), sign) => Ok(value),
        Some(_) => Err(ResponseError::BadSignature),
    }
}

/// The gateway's timestamp format, in China Standard Time: `yyyy-MM-dd HH:mm:ss`.
pub fn timestamp(unix: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(unix + 8 * 3600).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Reads a gateway timestamp back to Unix seconds.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let t = time::PrimitiveDateTime::parse(text.trim(), fmt).ok()?;
    Some(t.assume_utc().unix_timestamp() - 8 * 3600)
}

#[cfg(test)]
mod tests {
    use super::*;

    const APP_KEY: &str = include_str!("../sandbox/pay/keys/alipay_app_key.pem");
    const GATEWAY_KEY: &str = include_str!("../sandbox/pay/keys/alipay_gateway_key.pem");

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn the_content_string_sorts_drops_empties_and_sign() {
        let p = params(&[
            ("method", "alipay.trade.query"),
            ("app_id", "2021"),
            ("sign", "x"),
            ("notify_url", ""),
            ("sign_type", "RSA2"),
        ]);
        assert_eq!(request_content(&p), "app_id=2021&method=alipay.trade.query&sign_type=RSA2");
        assert_eq!(notification_content(&p), "app_id=2021&method=alipay.trade.query");
    }

    #[test]
    fn requests_and_notifications_verify_under_their_keys_only() {
        let app = PrivateKey::parse(APP_KEY).expect("app key");
        let gateway = PrivateKey::parse(GATEWAY_KEY).expect("gateway key");
        let mut p =
            params(&[("app_id", "2021"), ("biz_content", r#"{"out_trade_no":"a=b&c"}"#), ("sign_type", "RSA2")]);
        sign_request(&mut p, &app);
        assert!(verify_request(&p, &app.public_key()));
        assert!(!verify_request(&p, &gateway.public_key()));
        p.insert("biz_content".into(), "{}".into());
        assert!(!verify_request(&p, &app.public_key()));

        let mut n = params(&[("notify_id", "n1"), ("trade_status", "TRADE_SUCCESS"), ("sign_type", "RSA2")]);
        sign_notification(&mut n, &gateway);
        assert!(verify_notification(&n, &gateway.public_key()));
        n.insert("total_amount".into(), "100.00".into());
        assert!(!verify_notification(&n, &gateway.public_key()));
    }

    #[test]
    fn a_signed_answer_verifies_byte_for_byte() {
        let gateway = PrivateKey::parse(GATEWAY_KEY).expect("gateway key");
        let node = serde_json::json!({"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.TRADE_NOT_EXIST", "sub_msg": "交易不存在 {\"x\"}"});
        let body = signed_response("alipay.trade.query", &node, &gateway);
        let got = verify_response("alipay.trade.query", &body, &gateway.public_key()).expect("verifies");
        assert_eq!(got["sub_code"], "ACQ.TRADE_NOT_EXIST");
        let app = PrivateKey::parse(APP_KEY).expect("app key");
        assert_eq!(verify_response("alipay.trade.query", &body, &app.public_key()), Err(ResponseError::BadSignature));
        let tampered = body.replace("40004", "10000");
        assert_eq!(
            verify_response("alipay.trade.query", &tampered, &gateway.public_key()),
            Err(ResponseError::BadSignature)
        );
    }

    #[test]
    fn timestamps_are_china_standard_time() {
        assert_eq!(timestamp(0), "1970-01-01 08:00:00");
        assert_eq!(parse_timestamp("1970-01-01 08:00:00"), Some(0));
    }
}
