//! The sandbox WeChat Pay's rules as pure functions: the application (进件) states and the
//! reviewer's and super administrator's transitions, the required fields of an application,
//! the checks of an order's fields and of an uploaded image, the shapes of WeChat Pay's
//! identifiers and times.

use rand::RngExt as _;
use serde_json::Value;

/// The states of a sub-merchant application, as WeChat Pay names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Editting,
    Auditing,
    Rejected,
    ToBeConfirmed,
    ToBeSigned,
    Signing,
    Finished,
    Canceled,
}

impl State {
    pub const ALL: [State; 8] = [
        State::Editting,
        State::Auditing,
        State::Rejected,
        State::ToBeConfirmed,
        State::ToBeSigned,
        State::Signing,
        State::Finished,
        State::Canceled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Editting => "APPLYMENT_STATE_EDITTING",
            State::Auditing => "APPLYMENT_STATE_AUDITING",
            State::Rejected => "APPLYMENT_STATE_REJECTED",
            State::ToBeConfirmed => "APPLYMENT_STATE_TO_BE_CONFIRMED",
            State::ToBeSigned => "APPLYMENT_STATE_TO_BE_SIGNED",
            State::Signing => "APPLYMENT_STATE_SIGNING",
            State::Finished => "APPLYMENT_STATE_FINISHED",
            State::Canceled => "APPLYMENT_STATE_CANCELED",
        }
    }

    /// `applyment_state_msg`, as WeChat Pay writes it.
    pub fn msg(self) -> &'static str {
        match self {
            State::Editting => "编辑中",
            State::Auditing => "审核中",
            State::Rejected => "已驳回",
            State::ToBeConfirmed => "待账户验证",
            State::ToBeSigned => "待签约",
            State::Signing => "开通权限中",
            State::Finished => "已完成",
            State::Canceled => "已作废",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|st| st.as_str() == s)
    }

    pub fn is_final(self) -> bool {
        matches!(self, State::Finished | State::Canceled)
    }

    /// Whether a new submission under the same business code replaces this application.
    pub fn resubmittable(self) -> bool {
        matches!(self, State::Rejected | State::Editting | State::Canceled)
    }
}

/// What the reviewer or the super administrator does to an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The reviewer requires account verification (AUDITING → TO_BE_CONFIRMED).
    ConfirmAccount,
    /// The reviewer approves (AUDITING → TO_BE_SIGNED).
    Approve,
    /// The reviewer rejects with audit details (AUDITING → REJECTED).
    Reject,
    /// Anyone cancels a non-final application (→ CANCELED).
    Cancel,
    /// The super administrator verified the account (TO_BE_CONFIRMED → AUDITING).
    VerifyAccount,
    /// The super administrator signs the agreement (TO_BE_SIGNED → SIGNING).
    Sign,
}

impl Decision {
    pub fn parse(s: &str) -> Option<Decision> {
        Some(match s {
            "confirm_account" => Decision::ConfirmAccount,
            "approve" => Decision::Approve,
            "reject" => Decision::Reject,
            "cancel" => Decision::Cancel,
            "verify_account" => Decision::VerifyAccount,
            "sign" => Decision::Sign,
            _ => return None,
        })
    }
}

/// The state a decision leads to, or `None` when it is not allowed from `from`.
pub fn transition(from: State, decision: Decision) -> Option<State> {
    match (from, decision) {
        (State::Auditing, Decision::ConfirmAccount) => Some(State::ToBeConfirmed),
        (State::Auditing, Decision::Approve) => Some(State::ToBeSigned),
        (State::Auditing, Decision::Reject) => Some(State::Rejected),
        (State::ToBeConfirmed, Decision::VerifyAccount) => Some(State::Auditing),
        (State::ToBeSigned, Decision::Sign) => Some(State::Signing),
        (s, Decision::Cancel) if !s.is_final() => Some(State::Canceled),
        _ => None,
    }
}

/// The fields of an application that must be present and not empty, as JSON paths.
pub const REQUIRED: &[&str] = &[
    "business_code",
    "contact_info.contact_name",
    "contact_info.mobile_phone",
    "contact_info.contact_email",
    "subject_info.subject_type",
    "subject_info.business_license_info.license_copy",
    "subject_info.business_license_info.license_number",
    "subject_info.business_license_info.merchant_name",
    "subject_info.business_license_info.legal_person",
    "subject_info.identity_info.id_doc_type",
    "subject_info.identity_info.id_card_info.id_card_copy",
    "subject_info.identity_info.id_card_info.id_card_national",
    "subject_info.identity_info.id_card_info.id_card_name",
    "subject_info.identity_info.id_card_info.id_card_number",
    "subject_info.identity_info.id_card_info.card_period_begin",
    "subject_info.identity_info.id_card_info.card_period_end",
    "business_info.merchant_shortname",
    "business_info.service_phone",
    "business_info.sales_info.sales_scenes_type",
    "settlement_info.settlement_id",
    "settlement_info.qualification_type",
    "bank_account_info.bank_account_type",
    "bank_account_info.account_name",
    "bank_account_info.account_bank",
    "bank_account_info.bank_address_code",
    "bank_account_info.account_number",
];

/// The encrypted fields (RSA-OAEP under the platform key).
pub const ENCRYPTED: &[&str] = &[
    "contact_info.contact_name",
    "contact_info.mobile_phone",
    "contact_info.contact_email",
    "subject_info.identity_info.id_card_info.id_card_name",
    "subject_info.identity_info.id_card_info.id_card_number",
    "bank_account_info.account_name",
    "bank_account_info.account_number",
];

/// The fields holding a `media_id`.
pub const MEDIA: &[&str] = &[
    "subject_info.business_license_info.license_copy",
    "subject_info.identity_info.id_card_info.id_card_copy",
    "subject_info.identity_info.id_card_info.id_card_national",
];

/// The value at a dotted path.
pub fn at<'a>(body: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(body, |v, k| v.get(k))
}

/// The string at a dotted path, `""` when absent or not a string.
pub fn text<'a>(body: &'a Value, path: &str) -> &'a str {
    at(body, path).and_then(Value::as_str).unwrap_or("")
}

fn blank(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        Some(Value::Object(o)) => o.is_empty(),
        Some(_) => false,
    }
}

/// Checks an application's shape: the first empty required field (`"<path> 不能为空"`) or
/// a value outside its enumeration.
pub fn check_applyment(body: &Value) -> Result<(), String> {
    if !body.is_object() {
        return Err("请求体必须是JSON对象".into());
    }
    if let Some(path) = REQUIRED.iter().find(|p| blank(at(body, p))) {
        return Err(format!("{path} 不能为空"));
    }
    let one_of = |path: &str, allowed: &[&str]| -> Result<(), String> {
        let v = text(body, path);
        if allowed.contains(&v) { Ok(()) } else { Err(format!("{path} 取值无效：{v}")) }
    };
    one_of("subject_info.subject_type", &["SUBJECT_TYPE_ENTERPRISE", "SUBJECT_TYPE_INDIVIDUAL"])?;
    one_of("subject_info.identity_info.id_doc_type", &["IDENTIFICATION_TYPE_IDCARD"])?;
    one_of("bank_account_info.bank_account_type", &["BANK_ACCOUNT_TYPE_CORPORATE", "BANK_ACCOUNT_TYPE_PERSONAL"])?;
    let scenes = at(body, "business_info.sales_info.sales_scenes_type").and_then(Value::as_array);
    let known = ["SALES_SCENES_STORE", "SALES_SCENES_MP", "SALES_SCENES_MINI_PROGRAM", "SALES_SCENES_WEB"];
    let known = [&known[..], &["SALES_SCENES_APP", "SALES_SCENES_WEWORK"]].concat();
    match scenes {
        Some(list) if list.iter().all(|s| s.as_str().is_some_and(|s| known.contains(&s))) => {}
        _ => return Err("business_info.sales_info.sales_scenes_type 取值无效".into()),
    }
    let code = text(body, "business_code");
    if code.chars().count() > 124 {
        return Err("business_code 长度不能超过124".into());
    }
    Ok(())
}

/// `out_trade_no` / `out_refund_no`: 6 to 32 characters of `[0-9A-Za-z_-|*]`.
pub fn check_out_no(name: &str, v: &str) -> Result<(), String> {
    let ok_chars = v.chars().all(|c| c.is_ascii_alphanumeric() || "_-|*".contains(c));
    if (6..=32).contains(&v.len()) && ok_chars {
        Ok(())
    } else {
        Err(format!("{name} 长度需为6-32位，只能是数字、大小写字母_-|*"))
    }
}

/// `description`: 1 to 127 characters.
pub fn check_description(v: &str) -> Result<(), String> {
    let n = v.chars().count();
    if (1..=127).contains(&n) { Ok(()) } else { Err("description 长度需为1-127个字符".into()) }
}

/// `notify_url`: an http(s) URL with a host and no query string.
pub fn check_notify_url(v: &str) -> Result<(), String> {
    let rest = v.strip_prefix("https://").or_else(|| v.strip_prefix("http://"));
    match rest {
        Some(r) if !r.is_empty() && !r.starts_with('/') && !v.contains('?') && !v.contains(char::is_whitespace) => {
            Ok(())
        }
        _ => Err("notify_url 格式错误：须为http(s)地址，且不能携带参数".into()),
    }
}

/// Largest image `/v3/merchant/media/upload` takes.
pub const MEDIA_MAX_BYTES: usize = 2 * 1024 * 1024;

/// Checks an uploaded image: its extension, size and the `sha256` its meta gave.
pub fn check_media(filename: &str, claimed_sha256: &str, actual_sha256: &str, size: usize) -> Result<(), String> {
    let ext = filename.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    if !["jpg", "jpeg", "png", "bmp"].contains(&ext.as_str()) {
        return Err("图片格式只支持JPG、BMP、PNG".into());
    }
    if size == 0 {
        return Err("file 不能为空".into());
    }
    if size > MEDIA_MAX_BYTES {
        return Err("图片大小不能超过2M".into());
    }
    if !claimed_sha256.eq_ignore_ascii_case(actual_sha256) {
        return Err("文件sha256与meta中的sha256不一致".into());
    }
    Ok(())
}

fn digits(n: usize) -> String {
    let mut rng = rand::rng();
    (0..n).map(|_| char::from(b'0' + rng.random_range(0..10u8))).collect()
}

fn alnum(n: usize) -> String {
    const CHARS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::rng();
    (0..n).map(|_| CHARS[rng.random_range(0..CHARS.len())] as char).collect()
}

/// A 12-character nonce for AEAD_AES_256_GCM.
pub fn nonce12() -> String {
    alnum(12)
}

/// A sub-merchant id: "16" and 8 digits.
pub fn new_sub_mchid() -> String {
    format!("16{}", digits(8))
}

/// The China-time date and time as `YYYYMMDDhhmmss`.
fn compact_time(now: i64) -> String {
    let fmt = time::macros::format_description!("[year][month][day][hour][minute][second]");
    china(now).format(&fmt).unwrap_or_else(|_| "20250101080000".into())
}

fn china(secs: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .to_offset(time::macros::offset!(+8))
}

/// RFC 3339 in China time, as WeChat Pay writes times: `2025-01-01T08:00:00+08:00`.
pub fn rfc3339(secs: i64) -> String {
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second][offset_hour sign:mandatory]:[offset_minute]"
    );
    china(secs).format(&fmt).unwrap_or_default()
}

/// A transaction id: 28 digits starting 4200.
pub fn new_transaction_id(now: i64) -> String {
    format!("4200{}{}", &compact_time(now)[..8], digits(16))
}

/// A refund id: 29 digits starting 50.
pub fn new_refund_id(now: i64) -> String {
    format!("50{}{}", &compact_time(now)[..8], digits(19))
}

/// A prepay id: "wx", the time and 20 characters.
pub fn new_prepay_id(now: i64) -> String {
    format!("wx{}{}", compact_time(now), alnum(20).to_ascii_lowercase())
}

/// The token of a `code_url` (`weixin://wxpay/bizpayurl?pr=<token>`).
pub fn new_code_token() -> String {
    alnum(11)
}

pub const CODE_URL_PREFIX: &str = "weixin://wxpay/bizpayurl?pr=";

/// A notification id.
pub fn new_event_id() -> String {
    format!("EV-{}", digits(20))
}

/// Fen as yuan with two decimals.
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let f = fen.unsigned_abs();
    format!("{sign}{}.{:02}", f / 100, f % 100)
}

/// A sensitive value as the page shows it: its first and last characters.
pub fn mask(v: &str) -> String {
    let chars: Vec<char> = v.chars().collect();
    match chars.len() {
        0 => String::new(),
        1..=2 => "*".repeat(chars.len()),
        n => {
            let keep = if n > 6 { 2 } else { 1 };
            let head: String = chars[..keep].iter().collect();
            let tail: String = chars[n - keep..].iter().collect();
            format!("{head}{}{tail}", "*".repeat(n - 2 * keep))
        }
    }
}

/// `trade_state_desc` for a trade state.
pub fn trade_state_desc(state: &str) -> &'static str {
    match state {
        "SUCCESS" => "支付成功",
        "REFUND" => "转入退款",
        "CLOSED" => "已关闭",
        _ => "订单未支付",
    }
}

/// The retry delay before attempt `attempts + 1` (after `attempts` failures), in
/// milliseconds: WeChat Pay's schedule divided by `divisor`; `None` after the last retry.
pub fn retry_delay_ms(attempts: usize, divisor: u32) -> Option<i64> {
    let secs = crate::sandbox::pay::WECHATPAY_RETRY_SECS.get(attempts.checked_sub(1)?)?;
    let ms = secs.saturating_mul(1000) / u64::from(divisor.max(1));
    Some(i64::try_from(ms).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_reviewer_and_the_super_administrator_move_an_application() {
        use Decision::*;
        use State::*;
        assert_eq!(transition(Auditing, ConfirmAccount), Some(ToBeConfirmed));
        assert_eq!(transition(Auditing, Approve), Some(ToBeSigned));
        assert_eq!(transition(Auditing, Reject), Some(Rejected));
        assert_eq!(transition(ToBeConfirmed, VerifyAccount), Some(Auditing));
        assert_eq!(transition(ToBeSigned, Sign), Some(Signing));
        for s in [Editting, Auditing, Rejected, ToBeConfirmed, ToBeSigned, Signing] {
            assert_eq!(transition(s, Cancel), Some(Canceled), "{s:?}");
        }
        assert_eq!(transition(Finished, Cancel), None);
        assert_eq!(transition(Canceled, Cancel), None);
        assert_eq!(transition(ToBeSigned, Approve), None);
        assert_eq!(transition(Auditing, Sign), None);
        assert_eq!(transition(Rejected, Approve), None);
        assert_eq!(transition(Signing, Sign), None);
        assert_eq!(transition(ToBeConfirmed, Approve), None);
        assert!(Rejected.resubmittable() && Canceled.resubmittable() && !Auditing.resubmittable());
        for s in State::ALL {
            assert_eq!(State::parse(s.as_str()), Some(s));
        }
        assert_eq!(Decision::parse("sign"), Some(Sign));
        assert_eq!(Decision::parse("nope"), None);
    }

    fn application() -> Value {
        json!({
            "business_code": "BC1",
            "contact_info": {"contact_name": "x", "mobile_phone": "x", "contact_email": "x"},
            "subject_info": {
                "subject_type": "SUBJECT_TYPE_ENTERPRISE",
                "business_license_info": {"license_copy": "m", "license_number": "n", "merchant_name": "A", "legal_person": "L"},
                "identity_info": {"id_doc_type": "IDENTIFICATION_TYPE_IDCARD", "id_card_info": {
                    "id_card_copy": "m", "id_card_national": "m", "id_card_name": "x", "id_card_number": "x",
                    "card_period_begin": "2020-01-01", "card_period_end": "长期"}}
            },
            "business_info": {"merchant_shortname": "A", "service_phone": "1", "sales_info": {"sales_scenes_type": ["SALES_SCENES_MINI_PROGRAM"]}},
            "settlement_info": {"settlement_id": "716", "qualification_type": "餐饮"},
            "bank_account_info": {"bank_account_type": "BANK_ACCOUNT_TYPE_CORPORATE", "account_name": "x",
                "account_bank": "工商银行", "bank_address_code": "110000", "account_number": "x"}
        })
    }

    #[test]
    fn an_application_needs_every_required_field_and_known_values() {
        assert_eq!(check_applyment(&application()), Ok(()));
        let mut b = application();
        b["contact_info"]["mobile_phone"] = json!("");
        assert_eq!(check_applyment(&b), Err("contact_info.mobile_phone 不能为空".into()));
        let mut b = application();
        b["business_info"]["sales_info"]["sales_scenes_type"] = json!([]);
        assert_eq!(check_applyment(&b), Err("business_info.sales_info.sales_scenes_type 不能为空".into()));
        let mut b = application();
        b["subject_info"]["subject_type"] = json!("SUBJECT_TYPE_OTHER");
        assert!(check_applyment(&b).unwrap_err().starts_with("subject_info.subject_type"));
        let mut b = application();
        b["business_info"]["sales_info"]["sales_scenes_type"] = json!(["SALES_SCENES_MOON"]);
        assert!(check_applyment(&b).is_err());
        assert!(check_applyment(&json!([])).is_err());
        assert_eq!(text(&application(), "subject_info.business_license_info.merchant_name"), "A");
    }

    #[test]
    fn order_fields_are_checked_as_wechat_pay_does() {
        assert!(check_out_no("out_trade_no", "ORDER_1|*-").is_ok());
        assert!(check_out_no("out_trade_no", "short").is_err());
        assert!(check_out_no("out_trade_no", &"x".repeat(33)).is_err());
        assert!(check_out_no("out_trade_no", "订单号123456").is_err());
        assert!(check_description("a").is_ok());
        assert!(check_description("").is_err());
        assert!(check_description(&"字".repeat(128)).is_err());
        assert!(check_notify_url("https://example.com/pay/notify").is_ok());
        assert!(check_notify_url("http://127.0.0.1:8080/wechatpay/notify").is_ok());
        assert!(check_notify_url("https://example.com/n?x=1").is_err());
        assert!(check_notify_url("ftp://example.com/n").is_err());
        assert!(check_notify_url("https://").is_err());
    }

    #[test]
    fn an_image_needs_a_known_extension_a_size_and_its_own_digest() {
        assert!(check_media("a.JPG", "AB", "ab", 10).is_ok());
        assert!(check_media("a.gif", "ab", "ab", 10).is_err());
        assert!(check_media("a.png", "ab", "ab", MEDIA_MAX_BYTES + 1).is_err());
        assert!(check_media("a.png", "ab", "cd", 10).is_err());
        assert!(check_media("a.png", "ab", "ab", 0).is_err());
    }

    #[test]
    fn identifiers_and_times_have_wechat_pays_shapes() {
        let t = new_transaction_id(1_735_689_600);
        assert_eq!((t.len(), &t[..4]), (28, "4200"));
        assert!(t.chars().all(|c| c.is_ascii_digit()));
        let s = new_sub_mchid();
        assert_eq!((s.len(), &s[..2]), (10, "16"));
        assert_eq!(new_refund_id(0).len(), 29);
        assert!(new_prepay_id(0).starts_with("wx19700101080000"));
        assert_eq!(nonce12().len(), 12);
        assert_eq!(rfc3339(1_735_689_600), "2025-01-01T08:00:00+08:00");
        assert_eq!((yuan(1), yuan(12345), yuan(0)), ("0.01".into(), "123.45".into(), "0.00".into()));
        assert_eq!(mask("6222021234567890"), "62************90");
        assert_eq!(mask("张三"), "**");
        assert_eq!(mask("张三丰"), "张*丰");
    }

    #[test]
    fn retries_follow_the_schedule_divided() {
        assert_eq!(retry_delay_ms(1, 1), Some(15_000));
        assert_eq!(retry_delay_ms(1, 1000), Some(15));
        assert_eq!(retry_delay_ms(4, 60), Some(3_000));
        assert_eq!(retry_delay_ms(15, 1), Some(21_600_000));
        assert_eq!(retry_delay_ms(16, 1), None);
        assert_eq!(retry_delay_ms(0, 1), None);
    }
}
