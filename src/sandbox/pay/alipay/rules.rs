//! The gateway's pure decisions: the error nodes Alipay writes (`code`/`msg`/`sub_code`/
//! `sub_msg`), the formats of business fields (amounts, `out_trade_no`, `timeout_express`),
//! the identifiers Alipay hands out (`trade_no`, `buyer_id`, `seller_id`), and the trade's
//! state transitions (precreate again, pay, close, refund).

use rand::RngExt as _;
use serde_json::{Value, json};

/// Trade states on the wire (reference §8.4).
pub const WAIT_BUYER_PAY: &str = "WAIT_BUYER_PAY";
pub const TRADE_SUCCESS: &str = "TRADE_SUCCESS";
pub const TRADE_CLOSED: &str = "TRADE_CLOSED";
pub const TRADE_FINISHED: &str = "TRADE_FINISHED";

/// The largest `total_amount`, in fen: 100000000.00 yuan.
pub const MAX_CENTS: i64 = 10_000_000_000;
/// An unpaid trade without `timeout_express` closes after this long.
pub const DEFAULT_TIMEOUT_SECS: i64 = 2 * 3600;
/// How far a request's `timestamp` may be from the gateway's clock.
pub const TIMESTAMP_SKEW_SECS: i64 = 15 * 60;

/// An answer other than success: the node Alipay writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: &'static str,
    pub msg: &'static str,
    pub sub_code: &'static str,
    pub sub_msg: String,
}

impl Refusal {
    /// `40002 Invalid Arguments`: the request itself is wrong.
    pub fn invalid(sub_code: &'static str, sub_msg: impl Into<String>) -> Self {
        Self { code: "40002", msg: "Invalid Arguments", sub_code, sub_msg: sub_msg.into() }
    }

    /// `40004 Business Failed` with an `ACQ.*` sub code.
    pub fn business(sub_code: &'static str, sub_msg: impl Into<String>) -> Self {
        Self { code: "40004", msg: "Business Failed", sub_code, sub_msg: sub_msg.into() }
    }

    pub fn invalid_app_id() -> Self {
        Self::invalid("isv.invalid-app-id", "无效的AppID参数")
    }

    pub fn missing(field: &str) -> Self {
        Self::invalid("isv.missing-parameter", format!("缺少必选参数:{field}"))
    }

    pub fn bad(field: &str) -> Self {
        Self::invalid("isv.invalid-parameter", format!("参数无效:{field}"))
    }

    pub fn not_exist() -> Self {
        Self::business("ACQ.TRADE_NOT_EXIST", "交易不存在")
    }

    pub fn status_error() -> Self {
        Self::business("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
    }

    /// The node as JSON.
    pub fn node(&self) -> Value {
        json!({ "code": self.code, "msg": self.msg, "sub_code": self.sub_code, "sub_msg": self.sub_msg })
    }
}

/// Parses a yuan amount (`"88.8"`, `"0.01"`, `"100"`; at most 2 decimals) into fen.
pub fn parse_amount(text: &str) -> Option<i64> {
    let (whole, frac) = match text.split_once('.') {
        Some((w, f)) => (w, f),
        None => (text, ""),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || whole.len() > 9 || !digits(whole) || frac.len() > 2 || !digits(frac) {
        return None;
    }
    if text.contains('.') && frac.is_empty() {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let frac: i64 = if frac.is_empty() { 0 } else { format!("{frac:0<2}").parse().ok()? };
    Some(whole * 100 + frac)
}

/// A business amount in range (0.01 to 100000000.00 yuan), in fen.
pub fn trade_amount(text: &str) -> Option<i64> {
    parse_amount(text).filter(|c| (1..=MAX_CENTS).contains(c))
}

/// Fen as Alipay writes yuan: `"88.80"`.
pub fn yuan(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// `out_trade_no` (and `out_request_no`): 1 to 64 of `[A-Za-z0-9_]`.
pub fn valid_out_no(text: &str) -> bool {
    !text.is_empty() && text.len() <= 64 && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `subject`: 1 to 256 characters without `/`, `=` or `&`.
pub fn valid_subject(text: &str) -> bool {
    let n = text.chars().count();
    (1..=256).contains(&n) && !text.contains(['/', '=', '&'])
}

/// `timeout_express`: `1m` to `15d` (`m`, `h`, `d`), or `1c` (the end of the day in China),
/// as seconds from `now`.
pub fn timeout_secs(text: &str, now: i64) -> Option<i64> {
    if text == "1c" {
        let day = 86_400;
        let local = now + 8 * 3600;
        return Some(day - local.rem_euclid(day));
    }
    let unit = match text.chars().last()? {
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return None,
    };
    let n: i64 = text[..text.len() - 1].parse().ok().filter(|n: &i64| *n >= 1)?;
    let secs = n.checked_mul(unit)?;
    (secs <= 15 * 86_400).then_some(secs)
}

fn digits(n: usize) -> String {
    let mut rng = rand::rng();
    (0..n).map(|_| char::from(b'0' + rng.random_range(0..10u8))).collect()
}

/// A new `trade_no`: 28 digits, the date in China, `22`, then 18 digits.
pub fn new_trade_no(now: i64) -> String {
    let date: String = crate::pay::alipay::timestamp(now).chars().take(10).filter(char::is_ascii_digit).collect();
    format!("{date}22{}", digits(18))
}

/// A new buyer: `buyer_id` (`2088` and 12 digits) and a masked `buyer_logon_id`.
pub fn new_buyer() -> (String, String) {
    let id = format!("2088{}", digits(12));
    let logon = format!("{}***{}@sandbox.example", &id[4..5], &id[14..16]);
    (id, logon)
}

/// The seller's `2088…` user id of an application (stable: derived from the app id).
pub fn seller_id(app_id: &str) -> String {
    let tail: String = app_id.chars().filter(char::is_ascii_digit).collect();
    let tail = format!("{tail:0>12}");
    format!("2088{}", &tail[tail.len() - 12..])
}

/// A trade's state as of `now`: an unpaid trade past its time is closed.
pub fn effective_status(status: &str, expires_at: i64, now: i64) -> &str {
    if status == WAIT_BUYER_PAY && expires_at <= now { TRADE_CLOSED } else { status }
}

/// Precreate with an `out_trade_no` the app used before: the same QR code while unpaid and
/// for the same amount.
pub fn precreate_again(status: &str, total_cents: i64, asked_cents: i64) -> Result<(), Refusal> {
    match status {
        TRADE_SUCCESS | TRADE_FINISHED => Err(Refusal::business("ACQ.TRADE_HAS_SUCCESS", "交易已被支付")),
        TRADE_CLOSED => Err(Refusal::business("ACQ.TRADE_HAS_CLOSE", "交易已经关闭")),
        _ if total_cents != asked_cents => {
            Err(Refusal::business("ACQ.INVALID_PARAMETER", "参数无效:同一笔交易的金额不一致"))
        }
        _ => Ok(()),
    }
}

/// Whether the buyer can pay a trade in this (effective) state.
pub fn payable(status: &str) -> bool {
    status == WAIT_BUYER_PAY
}

/// `alipay.trade.close`: only an unpaid trade closes.
pub fn close(status: &str) -> Result<(), Refusal> {
    if status == WAIT_BUYER_PAY { Ok(()) } else { Err(Refusal::status_error()) }
}

/// A new refund of `amount` on a trade: the total refunded afterwards and the trade's new
/// state (closed once everything is refunded).
pub fn refund(status: &str, total: i64, refunded: i64, amount: i64) -> Result<(i64, &'static str), Refusal> {
    if status != TRADE_SUCCESS {
        return Err(Refusal::status_error());
    }
    let after = refunded + amount;
    if after > total {
        return Err(Refusal::business("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限"));
    }
    Ok((after, if after == total { TRADE_CLOSED } else { TRADE_SUCCESS }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_yuan_with_at_most_two_decimals() {
        assert_eq!(parse_amount("0.01"), Some(1));
        assert_eq!(parse_amount("88.8"), Some(8880));
        assert_eq!(parse_amount("100"), Some(10_000));
        assert_eq!(parse_amount("100000000.00"), Some(MAX_CENTS));
        for bad in ["", ".5", "1.", "1.234", "-1", "1e3", " 1", "1,00", "abc", "1234567890"] {
            assert_eq!(parse_amount(bad), None, "{bad}");
        }
        assert_eq!(trade_amount("0.00"), None);
        assert_eq!(trade_amount("100000000.01"), None);
        assert_eq!(trade_amount("0.01"), Some(1));
        assert_eq!(yuan(8880), "88.80");
        assert_eq!(yuan(1), "0.01");
    }

    #[test]
    fn out_trade_no_and_subject() {
        assert!(valid_out_no("order_2026_0001"));
        assert!(valid_out_no(&"a".repeat(64)));
        assert!(!valid_out_no(&"a".repeat(65)));
        assert!(!valid_out_no(""));
        assert!(!valid_out_no("order-1"));
        assert!(!valid_out_no("订单1"));
        assert!(valid_subject("Acme 会员 1 month"));
        assert!(!valid_subject(""));
        assert!(!valid_subject("a&b"));
        assert!(!valid_subject(&"字".repeat(257)));
    }

    #[test]
    fn timeout_express() {
        assert_eq!(timeout_secs("90m", 0), Some(5400));
        assert_eq!(timeout_secs("2h", 0), Some(7200));
        assert_eq!(timeout_secs("15d", 0), Some(15 * 86_400));
        assert_eq!(timeout_secs("16d", 0), None);
        assert_eq!(timeout_secs("0m", 0), None);
        assert_eq!(timeout_secs("5s", 0), None);
        // 1970-01-01 08:00 in China: 16 hours to midnight.
        assert_eq!(timeout_secs("1c", 0), Some(16 * 3600));
    }

    #[test]
    fn identifiers_look_like_alipay_s() {
        let no = new_trade_no(0);
        assert_eq!(no.len(), 28);
        assert!(no.starts_with("1970010122"), "{no}");
        assert!(no.bytes().all(|b| b.is_ascii_digit()));
        let (buyer, logon) = new_buyer();
        assert_eq!(buyer.len(), 16);
        assert!(buyer.starts_with("2088"));
        assert!(logon.contains("***"));
        assert_eq!(seller_id("2021000100000001"), "2088000100000001");
        assert_eq!(seller_id("2021000100000001").len(), 16);
    }

    #[test]
    fn trade_transitions() {
        assert_eq!(effective_status(WAIT_BUYER_PAY, 10, 10), TRADE_CLOSED);
        assert_eq!(effective_status(WAIT_BUYER_PAY, 11, 10), WAIT_BUYER_PAY);
        assert_eq!(effective_status(TRADE_SUCCESS, 0, 10), TRADE_SUCCESS);

        assert_eq!(precreate_again(WAIT_BUYER_PAY, 100, 100), Ok(()));
        assert_eq!(precreate_again(WAIT_BUYER_PAY, 100, 101).unwrap_err().sub_code, "ACQ.INVALID_PARAMETER");
        assert_eq!(precreate_again(TRADE_SUCCESS, 100, 100).unwrap_err().sub_code, "ACQ.TRADE_HAS_SUCCESS");
        assert_eq!(precreate_again(TRADE_CLOSED, 100, 100).unwrap_err().sub_code, "ACQ.TRADE_HAS_CLOSE");

        assert!(payable(WAIT_BUYER_PAY));
        assert!(!payable(TRADE_CLOSED));
        assert!(close(WAIT_BUYER_PAY).is_ok());
        assert_eq!(close(TRADE_SUCCESS).unwrap_err().sub_code, "ACQ.TRADE_STATUS_ERROR");
        assert_eq!(close(TRADE_CLOSED).unwrap_err().sub_code, "ACQ.TRADE_STATUS_ERROR");

        assert_eq!(refund(TRADE_SUCCESS, 1000, 0, 300), Ok((300, TRADE_SUCCESS)));
        assert_eq!(refund(TRADE_SUCCESS, 1000, 300, 700), Ok((1000, TRADE_CLOSED)));
        assert_eq!(refund(TRADE_SUCCESS, 1000, 300, 701).unwrap_err().sub_code, "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL");
        assert_eq!(refund(WAIT_BUYER_PAY, 1000, 0, 1).unwrap_err().sub_code, "ACQ.TRADE_STATUS_ERROR");
        assert_eq!(refund(TRADE_CLOSED, 1000, 1000, 1).unwrap_err().sub_code, "ACQ.TRADE_STATUS_ERROR");
    }

    #[test]
    fn error_nodes() {
        let n = Refusal::invalid_app_id().node();
        assert_eq!(n["code"], "40002");
        assert_eq!(n["msg"], "Invalid Arguments");
        assert_eq!(n["sub_code"], "isv.invalid-app-id");
        assert_eq!(n["sub_msg"], "无效的AppID参数");
        assert_eq!(Refusal::not_exist().node()["msg"], "Business Failed");
    }
}
