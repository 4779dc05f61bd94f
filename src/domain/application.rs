//! The workspace application: its states and the moves between them.

use std::fmt;

/// Where an application stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Being filled in, not yet sent.
    Draft,
    /// Waiting for an operator.
    Submitted,
    /// Sent back with a reason; the applicant edits and resubmits.
    Rejected,
    /// The workspace exists.
    Approved,
}

impl Status {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "draft" => Self::Draft,
            "submitted" => Self::Submitted,
            "rejected" => Self::Rejected,
            "approved" => Self::Approved,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Submitted => "submitted",
            Self::Rejected => "rejected",
            Self::Approved => "approved",
        }
    }

    /// The applicant may change the details.
    pub fn editable(self) -> bool {
        matches!(self, Self::Draft | Self::Rejected)
    }
}

/// The three form steps; the fourth "step" is the status page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Role = 1,
    Details = 2,
    Review = 3,
}

impl Step {
    pub fn from_i32(n: i32) -> Self {
        match n {
            i32::MIN..=1 => Self::Role,
            2 => Self::Details,
            _ => Self::Review,
        }
    }

    pub fn previous(self) -> Self {
        match self {
            Self::Role | Self::Details => Self::Role,
            Self::Review => Self::Details,
        }
    }
}

/// The only role offered today (seed 004: the Technical Merchant card).
pub const ROLE_TECHNICAL_MERCHANT: &str = "technical_merchant";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransitionError {
    /// The move is not allowed from this state.
    NotAllowed { from: Status, action: &'static str },
    /// Required details are missing.
    Incomplete(&'static str),
    /// A rejection needs a reason.
    ReasonRequired,
}

impl fmt::Display for TransitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotAllowed { from, action } => write!(f, "cannot {action} an application that is {}", from.as_str()),
            Self::Incomplete(what) => write!(f, "the application is missing {what}"),
            Self::ReasonRequired => f.write_str("a rejection needs a reason"),
        }
    }
}

/// What the applicant has filled in, as far as the rules care.
pub struct Filled<'a> {
    pub role: Option<&'a str>,
    pub company_name: &'a str,
}

/// Draft or Rejected → Submitted, when the role and company name are there.
pub fn submit(from: Status, filled: &Filled<'_>) -> Result<Status, TransitionError> {
    if !from.editable() {
        return Err(TransitionError::NotAllowed { from, action: "submit" });
    }
    if filled.role.is_none() {
        return Err(TransitionError::Incomplete("role"));
    }
    if filled.company_name.trim().is_empty() {
        return Err(TransitionError::Incomplete("company name"));
    }
    Ok(Status::Submitted)
}

/// An operator's decision.
pub enum Decision<'a> {
    Approve,
    Reject { reason: &'a str },
}

/// Submitted → Approved or Rejected.
pub fn decide(from: Status, decision: &Decision<'_>) -> Result<Status, TransitionError> {
    if from != Status::Submitted {
        return Err(TransitionError::NotAllowed { from, action: "decide on" });
    }
    match decision {
        Decision::Approve => Ok(Status::Approved),
        Decision::Reject { reason } if reason.trim().is_empty() => Err(TransitionError::ReasonRequired),
        Decision::Reject { .. } => Ok(Status::Rejected),
    }
}

/// Where a returning applicant lands.
#[derive(Debug, PartialEq, Eq)]
pub enum Landing {
    Step(Step),
    StatusPage,
    Workspace,
}

pub fn resume(status: Status, step: i32) -> Landing {
    match status {
        Status::Draft => Landing::Step(Step::from_i32(step)),
        Status::Submitted | Status::Rejected => Landing::StatusPage,
        Status::Approved => Landing::Workspace,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILLED: Filled<'static> = Filled { role: Some(ROLE_TECHNICAL_MERCHANT), company_name: "Acme" };

    #[test]
    fn draft_and_rejected_can_be_submitted() {
        assert_eq!(submit(Status::Draft, &FILLED), Ok(Status::Submitted));
        assert_eq!(submit(Status::Rejected, &FILLED), Ok(Status::Submitted));
    }

    #[test]
    fn submitted_and_approved_cannot_be_submitted_again() {
        for from in [Status::Submitted, Status::Approved] {
            assert!(matches!(submit(from, &FILLED), Err(TransitionError::NotAllowed { .. })));
        }
    }

    #[test]
    fn submit_needs_role_and_name() {
        let no_role = Filled { role: None, company_name: "Acme" };
        assert_eq!(submit(Status::Draft, &no_role), Err(TransitionError::Incomplete("role")));
        let no_name = Filled { role: Some(ROLE_TECHNICAL_MERCHANT), company_name: "  " };
        assert_eq!(submit(Status::Draft, &no_name), Err(TransitionError::Incomplete("company name")));
    }

    #[test]
    fn only_submitted_applications_are_decided() {
        assert_eq!(decide(Status::Submitted, &Decision::Approve), Ok(Status::Approved));
        assert_eq!(decide(Status::Submitted, &Decision::Reject { reason: "logo unclear" }), Ok(Status::Rejected));
        for from in [Status::Draft, Status::Rejected, Status::Approved] {
            assert!(decide(from, &Decision::Approve).is_err());
        }
    }

    #[test]
    fn rejection_needs_a_reason() {
        assert_eq!(decide(Status::Submitted, &Decision::Reject { reason: " " }), Err(TransitionError::ReasonRequired));
    }

    #[test]
    fn resume_lands_where_the_application_stands() {
        assert_eq!(resume(Status::Draft, 1), Landing::Step(Step::Role));
        assert_eq!(resume(Status::Draft, 2), Landing::Step(Step::Details));
        assert_eq!(resume(Status::Draft, 3), Landing::Step(Step::Review));
        assert_eq!(resume(Status::Submitted, 3), Landing::StatusPage);
        assert_eq!(resume(Status::Rejected, 2), Landing::StatusPage);
        assert_eq!(resume(Status::Approved, 3), Landing::Workspace);
    }

    #[test]
    fn status_round_trips() {
        for s in [Status::Draft, Status::Submitted, Status::Rejected, Status::Approved] {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        assert_eq!(Status::parse("bogus"), None);
    }
}
