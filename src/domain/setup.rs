//! The workspace home's setup guide (SPEC §3.9; Shopify's setup guide is the model): the
//! steps from the shared mini program to a dedicated one that can run the template, each
//! done or not, and the next thing to do, up to online payment switched on.

use super::requirements::Item;

/// Where a workspace stands, as the home page reads it.
#[derive(Debug, Clone, Default)]
pub struct Standing {
    /// Items of the upgrade guide the tenant marked as done by hand.
    pub confirmed: usize,
    /// An active dedicated mini program.
    pub bound: bool,
    /// The checklist was read from WeChat at least once.
    pub checked: bool,
    /// Items due now, and the first of them in checklist order.
    pub due_now: usize,
    pub first_due: Option<Item>,
    /// The earliest deadline of an item due later.
    pub earliest_deadline: Option<i64>,
    /// A WeChat Pay sub-merchant is open (the application finished).
    pub merchant_open: bool,
    /// A 0.01 self-test was paid and refunded.
    pub self_tested: bool,
    /// "Enable Online Payment" is on (seed 001 §3).
    pub online_enabled: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The workspace application was approved (always done on the home page).
    Approved,
    /// The mini program prepared on WeChat by hand (the upgrade guide).
    Prepare,
    /// "Upgrade to Company Dedicated Mini Program": authorized and bound.
    Authorize,
    /// Nothing of the requirements checklist due now.
    Requirements,
    /// Payments: a WeChat Pay merchant open and proved by the 0.01 self-test.
    Payments,
    /// Online payment switched on for the tenant's buyers.
    OnlinePayment,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approved => "approved",
            Self::Prepare => "prepare",
            Self::Authorize => "authorize",
            Self::Requirements => "requirements",
            Self::Payments => "payments",
            Self::OnlinePayment => "online_payment",
        }
    }
}

/// The steps in order, each with whether it is done.
pub fn steps(s: &Standing) -> Vec<(Step, bool)> {
    vec![
        (Step::Approved, true),
        (Step::Prepare, s.bound || s.confirmed >= Item::ALL.len()),
        (Step::Authorize, s.bound),
        (Step::Requirements, s.bound && s.checked && s.due_now == 0),
        (Step::Payments, s.merchant_open && s.self_tested),
        (Step::OnlinePayment, s.online_enabled),
    ]
}

/// The first step not done, if any.
pub fn next(s: &Standing) -> Option<Step> {
    steps(s).into_iter().find(|(_, done)| !done).map(|(step, _)| step)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_workspace_prepares_first_then_authorizes_then_meets_the_requirements() {
        let mut s = Standing::default();
        assert_eq!(next(&s), Some(Step::Prepare));
        s.confirmed = 7;
        assert_eq!(next(&s), Some(Step::Authorize));
        s.bound = true;
        assert_eq!(next(&s), Some(Step::Requirements));
        s.checked = true;
        s.due_now = 2;
        assert_eq!(next(&s), Some(Step::Requirements));
        s.due_now = 0;
        assert_eq!(next(&s), Some(Step::Payments));
        s.merchant_open = true;
        assert_eq!(next(&s), Some(Step::Payments));
        s.self_tested = true;
        assert_eq!(next(&s), Some(Step::OnlinePayment));
        s.online_enabled = true;
        assert_eq!(next(&s), None);
    }

    #[test]
    fn binding_without_the_guide_counts_the_preparation_as_done() {
        let s = Standing { bound: true, checked: true, ..Default::default() };
        assert_eq!(steps(&s).iter().filter(|(_, done)| *done).count(), 4);
    }
}
