//! The Company Wallet's rules, without I/O: the states of a sub-merchant application and
//! what each asks of the tenant, certificate expiry as due later / past due, the legal
//! subject comparison, and payment readiness as one verdict from its checks.

/// A sub-merchant application's state: `Draft` until WeChat Pay accepted it, then WeChat
/// Pay's `applyment_state` (reference: `APPLYMENT_STATE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplicationState {
    Draft,
    /// WeChat Pay could not take it (编辑中): submit again.
    Editing,
    Auditing,
    Rejected,
    /// The super administrator must verify the settlement account (待账户验证).
    ToBeConfirmed,
    /// The super administrator must sign (待签约).
    ToBeSigned,
    /// WeChat Pay is opening the merchant's permissions (开通权限中).
    Signing,
    Finished,
    Canceled,
}

impl ApplicationState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Editing => "editing",
            Self::Auditing => "auditing",
            Self::Rejected => "rejected",
            Self::ToBeConfirmed => "to_be_confirmed",
            Self::ToBeSigned => "to_be_signed",
            Self::Signing => "signing",
            Self::Finished => "finished",
            Self::Canceled => "canceled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "draft" => Self::Draft,
            "editing" => Self::Editing,
            "auditing" => Self::Auditing,
            "rejected" => Self::Rejected,
            "to_be_confirmed" => Self::ToBeConfirmed,
            "to_be_signed" => Self::ToBeSigned,
            "signing" => Self::Signing,
            "finished" => Self::Finished,
            "canceled" => Self::Canceled,
            _ => return None,
        })
    }

    /// WeChat Pay's `applyment_state` as the query answers it.
    pub fn from_wechatpay(s: &str) -> Option<Self> {
        Some(match s {
            "APPLYMENT_STATE_EDITTING" => Self::Editing,
            "APPLYMENT_STATE_AUDITING" => Self::Auditing,
            "APPLYMENT_STATE_REJECTED" => Self::Rejected,
            "APPLYMENT_STATE_TO_BE_CONFIRMED" => Self::ToBeConfirmed,
            "APPLYMENT_STATE_TO_BE_SIGNED" => Self::ToBeSigned,
            "APPLYMENT_STATE_SIGNING" => Self::Signing,
            "APPLYMENT_STATE_FINISHED" => Self::Finished,
            "APPLYMENT_STATE_CANCELED" => Self::Canceled,
            _ => return None,
        })
    }

    /// Whether the tenant can (re)submit the form in this state: a draft, WeChat Pay's
    /// 编辑中, a rejection (same business code: WeChat Pay replaces the application).
    pub fn editable(self) -> bool {
        matches!(self, Self::Draft | Self::Editing | Self::Rejected)
    }

    /// Whether WeChat Pay is still working on it: the console polls it in the background.
    pub fn in_progress(self) -> bool {
        matches!(self, Self::Auditing | Self::ToBeConfirmed | Self::ToBeSigned | Self::Signing)
    }

    /// Whether the super administrator must open the sign link (account check or signing).
    pub fn needs_sign_link(self) -> bool {
        matches!(self, Self::ToBeConfirmed | Self::ToBeSigned)
    }

    /// The locale key of its name and of what to do.
    pub fn label_key(self) -> &'static str {
        match self {
            Self::Draft => "wallet.state.draft",
            Self::Editing => "wallet.state.editing",
            Self::Auditing => "wallet.state.auditing",
            Self::Rejected => "wallet.state.rejected",
            Self::ToBeConfirmed => "wallet.state.to_be_confirmed",
            Self::ToBeSigned => "wallet.state.to_be_signed",
            Self::Signing => "wallet.state.signing",
            Self::Finished => "wallet.state.finished",
            Self::Canceled => "wallet.state.canceled",
        }
    }

    pub fn advice_key(self) -> &'static str {
        match self {
            Self::Draft => "wallet.advice.draft",
            Self::Editing => "wallet.advice.editing",
            Self::Auditing => "wallet.advice.auditing",
            Self::Rejected => "wallet.advice.rejected",
            Self::ToBeConfirmed => "wallet.advice.to_be_confirmed",
            Self::ToBeSigned => "wallet.advice.to_be_signed",
            Self::Signing => "wallet.advice.signing",
            Self::Finished => "wallet.advice.finished",
            Self::Canceled => "wallet.advice.canceled",
        }
    }
}

/// How soon the background check looks again at an application WeChat Pay is working on:
/// soon while a person is expected to act (sign, verify), less often while it audits.
pub fn next_poll_secs(state: ApplicationState, base_secs: i64) -> Option<i64> {
    match state {
        ApplicationState::Signing => Some(base_secs.max(1)),
        ApplicationState::ToBeConfirmed | ApplicationState::ToBeSigned => Some(base_secs.max(1)),
        ApplicationState::Auditing => Some((base_secs * 2).max(1)),
        _ => None,
    }
}

/// A certificate's expiry as the Requirements page shows a deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// More than the warning window away.
    Valid { days_left: i64 },
    /// Within the warning window: renew it now.
    DueSoon { days_left: i64 },
    /// Past: WeChat Pay refuses it.
    Expired { days_ago: i64 },
}

/// Days before expiry from which a certificate is shown as due.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

pub fn expiry(not_after: i64, now: i64) -> Expiry {
    const DAY: i64 = 86_400;
    if not_after <= now {
        Expiry::Expired { days_ago: (now - not_after) / DAY }
    } else {
        let days_left = (not_after - now) / DAY;
        if days_left < EXPIRY_WARNING_DAYS { Expiry::DueSoon { days_left } } else { Expiry::Valid { days_left } }
    }
}

/// Compares two legal subject names as WeChat writes them: ignoring surrounding and inner
/// whitespace and the difference between full-width and half-width brackets, which are
/// the same registered name.
pub fn same_subject(a: &str, b: &str) -> bool {
    fn norm(s: &str) -> String {
        s.chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| match c {
                '（' => '(',
                '）' => ')',
                other => other,
            })
            .collect()
    }
    let (a, b) = (norm(a), norm(b));
    !a.is_empty() && a == b
}

/// One readiness check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// The platform's WeChat Pay service-provider keys are configured, valid and not expired.
    ProviderKeys,
    /// The console's payment notification URL answers from the outside.
    NotifyUrl,
    /// A WeChat Pay sub-merchant is open (the application finished).
    Merchant,
    /// The dedicated mini program is bound and a version is released.
    MiniProgram,
    /// The mini program's legal subject is the merchant's.
    Subject,
    /// WeChat Pay accepts an order naming the mini program and the merchant.
    Binding,
    /// The Alipay account's keys verify with a signed call.
    Alipay,
}

impl Check {
    pub const ALL: [Check; 7] = [
        Check::ProviderKeys,
        Check::NotifyUrl,
        Check::Merchant,
        Check::MiniProgram,
        Check::Subject,
        Check::Binding,
        Check::Alipay,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Check::ProviderKeys => "provider_keys",
            Check::NotifyUrl => "notify_url",
            Check::Merchant => "merchant",
            Check::MiniProgram => "mini_program",
            Check::Subject => "subject",
            Check::Binding => "binding",
            Check::Alipay => "alipay",
        }
    }

    /// Whether it is needed only for payments inside the mini program (seed 001 §2: QR code
    /// and Web payments do not need the dedicated mini program).
    pub fn mini_program_only(self) -> bool {
        matches!(self, Check::MiniProgram | Check::Subject | Check::Binding)
    }
}

/// More about a failed check: the other side's own words (an errcode sentence, names), or
/// the locale key of one of ours (the state an application is in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detail {
    Words(String),
    Key(&'static str),
}

/// A check's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    /// Failed: the locale key of what is wrong and of the fix, and a detail when there is one.
    Fail {
        problem: &'static str,
        fix: &'static str,
        detail: Option<Detail>,
    },
    /// Cannot be checked until an earlier check passes.
    Blocked {
        by: Check,
    },
}

impl Outcome {
    pub fn passed(&self) -> bool {
        matches!(self, Outcome::Pass)
    }
}

/// The verdict over all checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// Everything for WeChat Pay inside the mini program passes.
    pub mini_program_payments: bool,
    /// WeChat Pay QR code and Web payments can be taken.
    pub wechatpay_web: bool,
    /// Alipay on the Web can be taken.
    pub alipay_web: bool,
}

pub fn verdict(results: &[(Check, Outcome)]) -> Verdict {
    let ok = |c: Check| results.iter().any(|(k, o)| *k == c && o.passed());
    let web = ok(Check::ProviderKeys) && ok(Check::NotifyUrl) && ok(Check::Merchant);
    Verdict {
        mini_program_payments: web && ok(Check::MiniProgram) && ok(Check::Subject) && ok(Check::Binding),
        wechatpay_web: web,
        alipay_web: ok(Check::NotifyUrl) && ok(Check::Alipay),
    }
}

/// A business code (业务申请编号) for a tenant's application: unique per service provider,
/// 1–124 characters. Time-ordered so WeChat Pay's lists read in order.
pub fn business_code(application_id: &str) -> String {
    let compact: String = application_id.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    format!("MH{compact}")
}

/// A payment's `out_trade_no`: 6–32 characters of `[0-9A-Za-z_-]`, unique per merchant.
pub fn out_trade_no(prefix: &str, payment_id: &str) -> String {
    let compact: String = payment_id.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    let mut s = format!("{prefix}{compact}");
    s.truncate(32);
    s
}

/// Fen as yuan with two decimals: 1 → "0.01".
pub fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wechat_pay_states_map_and_say_what_comes_next() {
        assert_eq!(
            ApplicationState::from_wechatpay("APPLYMENT_STATE_TO_BE_SIGNED"),
            Some(ApplicationState::ToBeSigned)
        );
        assert_eq!(ApplicationState::from_wechatpay("APPLYMENT_STATE_EDITTING"), Some(ApplicationState::Editing));
        assert_eq!(ApplicationState::from_wechatpay("SOMETHING_NEW"), None);
        for s in [
            "draft",
            "editing",
            "auditing",
            "rejected",
            "to_be_confirmed",
            "to_be_signed",
            "signing",
            "finished",
            "canceled",
        ] {
            assert_eq!(ApplicationState::parse(s).map(ApplicationState::as_str), Some(s));
        }
        assert!(ApplicationState::Rejected.editable());
        assert!(!ApplicationState::Auditing.editable());
        assert!(ApplicationState::ToBeSigned.needs_sign_link());
        assert_eq!(next_poll_secs(ApplicationState::Finished, 30), None);
        assert_eq!(next_poll_secs(ApplicationState::Auditing, 30), Some(60));
    }

    #[test]
    fn certificates_are_valid_then_due_then_expired() {
        let day = 86_400;
        assert_eq!(expiry(100 * day, 0), Expiry::Valid { days_left: 100 });
        assert_eq!(expiry(29 * day + 5, 0), Expiry::DueSoon { days_left: 29 });
        assert_eq!(expiry(10, 10), Expiry::Expired { days_ago: 0 });
        assert_eq!(expiry(0, 3 * day), Expiry::Expired { days_ago: 3 });
    }

    #[test]
    fn subjects_match_across_bracket_widths_and_spaces() {
        assert!(same_subject("深圳市某某科技有限公司", " 深圳市某某科技有限公司"));
        assert!(same_subject("某某（深圳）有限公司", "某某(深圳)有限公司"));
        assert!(!same_subject("某某科技有限公司", "某某贸易有限公司"));
        assert!(!same_subject("", ""));
    }

    #[test]
    fn the_verdict_separates_mini_program_from_web_payments() {
        let pass = |c| (c, Outcome::Pass);
        let fail = |c| (c, Outcome::Fail { problem: "p", fix: "f", detail: None });
        let mut results =
            vec![pass(Check::ProviderKeys), pass(Check::NotifyUrl), pass(Check::Merchant), fail(Check::MiniProgram)];
        results.push((Check::Subject, Outcome::Blocked { by: Check::MiniProgram }));
        results.push((Check::Binding, Outcome::Blocked { by: Check::MiniProgram }));
        results.push(fail(Check::Alipay));
        let v = verdict(&results);
        assert!(v.wechatpay_web && !v.mini_program_payments && !v.alipay_web);
        let all: Vec<_> = Check::ALL.iter().map(|c| pass(*c)).collect();
        assert_eq!(verdict(&all), Verdict { mini_program_payments: true, wechatpay_web: true, alipay_web: true });
    }

    #[test]
    fn codes_and_amounts_are_in_wechat_pay_form() {
        assert_eq!(out_trade_no("ST", "0193-abcd"), "ST0193abcd");
        assert_eq!(out_trade_no("ST", &"a".repeat(40)).len(), 32);
        assert_eq!(yuan(1), "0.01");
        assert_eq!(yuan(12345), "123.45");
        assert!(business_code("0193f-aa").starts_with("MH0193faa"));
    }
}
