//! Online payment's rules (seed 001 §3–4), pure: order statuses, the Online Payment button's
//! display conditions, the channel rule, the money rules a collection and a refund obey, and
//! the forms' checks. Nothing here knows about HTTP, the database or WeChat.

use std::collections::BTreeMap;

/// A sales order's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    /// Waiting for payment.
    Unpaid,
    /// Paid in full (some of it may have been refunded since).
    Paid,
    /// Everything paid was refunded.
    Refunded,
    /// Cancelled by the tenant before payment.
    Cancelled,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 4] =
        [OrderStatus::Unpaid, OrderStatus::Paid, OrderStatus::Refunded, OrderStatus::Cancelled];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Unpaid => "unpaid",
            OrderStatus::Paid => "paid",
            OrderStatus::Refunded => "refunded",
            OrderStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }

    pub fn label_key(self) -> &'static str {
        match self {
            OrderStatus::Unpaid => "sales.status.unpaid",
            OrderStatus::Paid => "sales.status.paid",
            OrderStatus::Refunded => "sales.status.refunded",
            OrderStatus::Cancelled => "sales.status.cancelled",
        }
    }
}

/// What a collection was for (seed 001 §4: the purpose "Prepaid Deposit" credits the buyer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Pays a sales order.
    Order,
    /// Tops up the buyer's prepaid deposit.
    Deposit,
    /// Any other collection the tenant asks for.
    Other,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Order => "order",
            Purpose::Deposit => "deposit",
            Purpose::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Purpose::Order, Purpose::Deposit, Purpose::Other].into_iter().find(|p| p.as_str() == s)
    }

    pub fn label_key(self) -> &'static str {
        match self {
            Purpose::Order => "sales.purpose.order",
            Purpose::Deposit => "sales.purpose.deposit",
            Purpose::Other => "sales.purpose.other",
        }
    }
}

/// A payment channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    WechatPay,
    Alipay,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::WechatPay => "wechatpay",
            Channel::Alipay => "alipay",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "wechatpay" => Some(Channel::WechatPay),
            "alipay" => Some(Channel::Alipay),
            _ => None,
        }
    }

    pub fn label_key(self) -> &'static str {
        match self {
            Channel::WechatPay => "sales.channel.wechatpay",
            Channel::Alipay => "sales.channel.alipay",
        }
    }
}

/// Where the buyer pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// A browser: the payment page of a link.
    Web,
    /// Inside the tenant's WeChat mini program.
    MiniProgram,
}

/// The channel rule (seed 001 §3.2, reference §8.6): inside the WeChat mini program only
/// WeChat Pay; on the Web both. `None` means allowed; otherwise the locale key of why not.
pub fn channel_refusal(surface: Surface, channel: Channel) -> Option<&'static str> {
    match (surface, channel) {
        (Surface::MiniProgram, Channel::Alipay) => Some("checkout.rule.mini_program_wechat_only"),
        _ => None,
    }
}

/// The Online Payment button's display conditions (seed 001 §3.1.2), as the tenant set them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ButtonRule {
    /// The order statuses that show the button (empty: none).
    pub statuses: Vec<OrderStatus>,
    pub min_fen: Option<i64>,
    pub max_fen: Option<i64>,
    /// Only orders of buyers in this customer group (None: every group).
    pub group: Option<String>,
}

impl Default for ButtonRule {
    fn default() -> Self {
        Self { statuses: vec![OrderStatus::Unpaid], min_fen: None, max_fen: None, group: None }
    }
}

/// What the button looks at in an order.
#[derive(Debug, Clone, Copy)]
pub struct OrderFacts<'a> {
    pub status: OrderStatus,
    pub amount_fen: i64,
    pub group: &'a str,
    pub online: bool,
}

impl ButtonRule {
    /// Whether the Online Payment button shows for this order. An order that is not unpaid
    /// or not paid online never can be paid, whatever the conditions say.
    pub fn shows(&self, o: &OrderFacts) -> bool {
        o.online
            && o.status == OrderStatus::Unpaid
            && self.statuses.contains(&o.status)
            && self.min_fen.is_none_or(|m| o.amount_fen >= m)
            && self.max_fen.is_none_or(|m| o.amount_fen <= m)
            && self.group.as_deref().is_none_or(|g| g == o.group)
    }

    pub fn statuses_text(&self) -> String {
        self.statuses.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",")
    }

    pub fn parse_statuses(text: &str) -> Vec<OrderStatus> {
        text.split(',').filter_map(|s| OrderStatus::parse(s.trim())).collect()
    }
}

/// "12.34", "12.3", "12" or "¥12.34" as fen; None for anything else (negative, more than
/// two decimals, not a number, over 10 million yuan).
pub fn parse_yuan(text: &str) -> Option<i64> {
    let s = text.trim().trim_start_matches(['¥', '￥']).trim();
    if s.is_empty() || s.starts_with('-') || s.starts_with('+') {
        return None;
    }
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || whole.len() > 8 {
        return None;
    }
    if frac.len() > 2 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac = format!("{frac:0<2}");
    let fen = whole.parse::<i64>().ok()? * 100 + frac.parse::<i64>().ok()?;
    (fen <= 1_000_000_000).then_some(fen)
}

/// A refund's refusal (the locale key), or None when `amount` may be refunded from a
/// collection of `paid` of which `refunded` (settled or under way) is already refunded, and
/// which credited a deposit whose balance is now `deposit_balance` (None: not a top-up).
pub fn refund_refusal(amount: i64, paid: i64, refunded: i64, deposit_balance: Option<i64>) -> Option<&'static str> {
    if amount <= 0 {
        return Some("sales.refund.err.amount");
    }
    if amount > paid - refunded {
        return Some("sales.refund.err.too_much");
    }
    if deposit_balance.is_some_and(|b| amount > b) {
        return Some("sales.refund.err.deposit_spent");
    }
    None
}

/// Whether a verified payment's facts are the ones ordered: same merchant, same amount,
/// CNY. Anything else is not collected (it is flagged for the operator).
pub fn payment_matches(
    ordered_merchant: &str,
    ordered_fen: i64,
    paid_merchant: &str,
    paid_fen: Option<i64>,
    currency: Option<&str>,
) -> bool {
    ordered_merchant == paid_merchant && paid_fen == Some(ordered_fen) && currency.is_none_or(|c| c == "CNY")
}

/// One line of a new order as typed.
#[derive(Debug, Clone, Default)]
pub struct LineInput {
    pub product: String,
    pub quantity: String,
    pub unit_price: String,
}

/// A checked order line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub product: String,
    pub quantity: i64,
    pub unit_fen: i64,
}

/// The most lines one order takes.
pub const MAX_LINES: usize = 20;

/// Checks the lines of a new order: blank lines are skipped; the errors are keyed by field
/// name (`product_0`, `quantity_0`, `unit_price_0`, …; `lines` when there is none).
pub fn check_lines(inputs: &[LineInput]) -> Result<Vec<Line>, BTreeMap<String, &'static str>> {
    let mut errors = BTreeMap::new();
    let mut lines = Vec::new();
    for (i, l) in inputs.iter().enumerate().take(MAX_LINES) {
        if l.product.trim().is_empty() && l.quantity.trim().is_empty() && l.unit_price.trim().is_empty() {
            continue;
        }
        let product = l.product.trim();
        if product.is_empty() || product.chars().count() > 100 {
            errors.insert(format!("product_{i}"), "sales.err.product");
        }
        let quantity = l.quantity.trim().parse::<i64>().ok().filter(|q| (1..=100_000).contains(q));
        if quantity.is_none() {
            errors.insert(format!("quantity_{i}"), "sales.err.quantity");
        }
        let unit = parse_yuan(&l.unit_price).filter(|f| *f > 0);
        if unit.is_none() {
            errors.insert(format!("unit_price_{i}"), "sales.err.price");
        }
        if let (Some(quantity), Some(unit_fen)) = (quantity, unit) {
            lines.push(Line { product: product.to_string(), quantity, unit_fen });
        }
    }
    if errors.is_empty() && lines.is_empty() {
        errors.insert("lines".into(), "sales.err.no_lines");
    }
    let total: i64 = lines.iter().map(|l| l.quantity.saturating_mul(l.unit_fen)).sum();
    if errors.is_empty() && total > 1_000_000_000 {
        errors.insert("lines".into(), "sales.err.total");
    }
    if errors.is_empty() { Ok(lines) } else { Err(errors) }
}

pub fn total_fen(lines: &[Line]) -> i64 {
    lines.iter().map(|l| l.quantity * l.unit_fen).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_is_read_strictly() {
        assert_eq!(parse_yuan("0.01"), Some(1));
        assert_eq!(parse_yuan("12.5"), Some(1250));
        assert_eq!(parse_yuan(" ¥3 "), Some(300));
        for bad in ["", "-1", "+1", "1.234", "x", "1e3", ".5", "99999999999"] {
            assert_eq!(parse_yuan(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_button_follows_the_conditions_and_never_shows_for_a_paid_order() {
        let rule = ButtonRule {
            statuses: vec![OrderStatus::Unpaid],
            min_fen: Some(100),
            max_fen: Some(10_000),
            group: Some("Gold".into()),
        };
        let order = OrderFacts { status: OrderStatus::Unpaid, amount_fen: 500, group: "Gold", online: true };
        assert!(rule.shows(&order));
        assert!(!rule.shows(&OrderFacts { amount_fen: 50, ..order }));
        assert!(!rule.shows(&OrderFacts { amount_fen: 20_000, ..order }));
        assert!(!rule.shows(&OrderFacts { group: "Silver", ..order }));
        assert!(!rule.shows(&OrderFacts { online: false, ..order }));
        assert!(!rule.shows(&OrderFacts { status: OrderStatus::Paid, ..order }));
        let none = ButtonRule { statuses: vec![], ..ButtonRule::default() };
        assert!(!none.shows(&order));
    }

    #[test]
    fn only_wechat_pay_inside_the_mini_program() {
        assert!(channel_refusal(Surface::MiniProgram, Channel::Alipay).is_some());
        assert!(channel_refusal(Surface::MiniProgram, Channel::WechatPay).is_none());
        assert!(channel_refusal(Surface::Web, Channel::Alipay).is_none());
    }

    #[test]
    fn a_refund_never_exceeds_what_was_paid_nor_a_spent_deposit() {
        assert_eq!(refund_refusal(100, 100, 0, None), None);
        assert_eq!(refund_refusal(101, 100, 0, None), Some("sales.refund.err.too_much"));
        assert_eq!(refund_refusal(60, 100, 50, None), Some("sales.refund.err.too_much"));
        assert_eq!(refund_refusal(0, 100, 0, None), Some("sales.refund.err.amount"));
        assert_eq!(refund_refusal(80, 100, 0, Some(50)), Some("sales.refund.err.deposit_spent"));
    }

    #[test]
    fn a_payment_is_collected_only_when_it_is_what_was_ordered() {
        assert!(payment_matches("1900", 100, "1900", Some(100), Some("CNY")));
        assert!(!payment_matches("1900", 100, "1901", Some(100), Some("CNY")));
        assert!(!payment_matches("1900", 100, "1900", Some(99), Some("CNY")));
        assert!(!payment_matches("1900", 100, "1900", Some(100), Some("USD")));
    }

    #[test]
    fn order_lines_are_checked_field_by_field() {
        let lines = vec![
            LineInput { product: "Tea".into(), quantity: "2".into(), unit_price: "12.50".into() },
            LineInput::default(),
        ];
        assert_eq!(total_fen(&check_lines(&lines).unwrap()), 2500);
        let bad = vec![LineInput { product: "".into(), quantity: "0".into(), unit_price: "abc".into() }];
        let errors = check_lines(&bad).unwrap_err();
        assert!(
            errors.contains_key("product_0")
                && errors.contains_key("quantity_0")
                && errors.contains_key("unit_price_0")
        );
        assert!(check_lines(&[LineInput::default()]).unwrap_err().contains_key("lines"));
    }
}
