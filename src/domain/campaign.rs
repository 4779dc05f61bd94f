//! Release campaigns (SPEC §3.4, "The fleet"): one version submitted to many tenants, a
//! canary cohort first, within a concurrency cap and a call rate cap, optionally
//! published on approval. The rules here are pure: the form, the canary's size, what a
//! targeted tenant's outcome is, what the campaign does next, and the audit-quota
//! forecast. The work itself is `services::campaigns`.

use std::collections::BTreeMap;

use super::release::Stage;

/// Where a campaign stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Admitting tenants, or waiting for the results of those admitted.
    Running,
    /// The canary is settled; the rest waits for the operator's go.
    AwaitingGo,
    /// By the operator, or by itself when WeChat's audit quota ran out (85085).
    Paused,
    Cancelled,
    Finished,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::AwaitingGo => "awaiting_go",
            Self::Paused => "paused",
            Self::Cancelled => "cancelled",
            Self::Finished => "finished",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Running, Self::AwaitingGo, Self::Paused, Self::Cancelled, Self::Finished]
            .into_iter()
            .find(|v| v.as_str() == s)
    }

    /// Not over yet: it holds its tenants and its share of the audit quota.
    pub fn is_active(self) -> bool {
        !matches!(self, Self::Cancelled | Self::Finished)
    }
}

/// Why a campaign is paused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PauseReason {
    Operator,
    /// WeChat answered 85085: the platform's audit quota is used up.
    Quota,
}

impl PauseReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Operator => "operator",
            Self::Quota => "quota",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "operator" => Some(Self::Operator),
            "quota" => Some(Self::Quota),
            _ => None,
        }
    }
}

/// Which tenants the campaign admits now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Canary,
    Rest,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Canary => "canary",
            Self::Rest => "rest",
        }
    }

    pub fn parse(s: &str) -> Self {
        if s == "canary" { Self::Canary } else { Self::Rest }
    }
}

/// A targeted tenant's cohort.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cohort {
    Canary,
    Rest,
}

impl Cohort {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Canary => "canary",
            Self::Rest => "rest",
        }
    }

    pub fn parse(s: &str) -> Self {
        if s == "canary" { Self::Canary } else { Self::Rest }
    }
}

/// How a targeted tenant fares: the campaign's own bookkeeping (waiting, skipped,
/// cancelled) or, once started, its release row's stage for the campaign's version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outcome {
    Waiting,
    Submitting,
    NotSubmitted,
    UnderReview,
    Delayed,
    Approved,
    Rejected,
    Withdrawn,
    PublishFailed,
    Released,
    /// Not submitted by the campaign: no longer bound, already on its way, or up to date.
    Skipped,
    Cancelled,
    /// The tenant has moved on to another version since.
    Superseded,
}

/// The outcome groups the per-tenant table filters by, and the progress bar's segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Waiting,
    InProgress,
    Succeeded,
    Failed,
    Other,
}

impl Group {
    pub const ALL: [Group; 5] = [Group::Waiting, Group::InProgress, Group::Succeeded, Group::Failed, Group::Other];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::InProgress => "in_progress",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_str() == s)
    }

    pub fn outcomes(self) -> Vec<Outcome> {
        Outcome::ALL.into_iter().filter(|o| o.group() == self).collect()
    }
}

impl Outcome {
    pub const ALL: [Outcome; 13] = [
        Outcome::Waiting,
        Outcome::Submitting,
        Outcome::NotSubmitted,
        Outcome::UnderReview,
        Outcome::Delayed,
        Outcome::Approved,
        Outcome::Rejected,
        Outcome::Withdrawn,
        Outcome::PublishFailed,
        Outcome::Released,
        Outcome::Skipped,
        Outcome::Cancelled,
        Outcome::Superseded,
    ];

    /// From the campaign's bookkeeping state and, for a started tenant, the stage of its
    /// release row when that row is for the campaign's version (None otherwise).
    pub fn of(state: &str, stage: Option<&str>) -> Self {
        match state {
            "waiting" => Self::Waiting,
            "skipped" => Self::Skipped,
            "cancelled" => Self::Cancelled,
            _ => match stage.and_then(Stage::parse) {
                None => Self::Superseded,
                Some(Stage::Submitting) => Self::Submitting,
                Some(Stage::SubmitFailed) => Self::NotSubmitted,
                Some(Stage::UnderReview) => Self::UnderReview,
                Some(Stage::Delayed) => Self::Delayed,
                Some(Stage::Approved) => Self::Approved,
                Some(Stage::Rejected) => Self::Rejected,
                Some(Stage::Withdrawn) => Self::Withdrawn,
                Some(Stage::PublishFailed) => Self::PublishFailed,
                Some(Stage::Released) => Self::Released,
            },
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Submitting => "submitting",
            Self::NotSubmitted => "not_submitted",
            Self::UnderReview => "under_review",
            Self::Delayed => "delayed",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Withdrawn => "withdrawn",
            Self::PublishFailed => "publish_failed",
            Self::Released => "released",
            Self::Skipped => "skipped",
            Self::Cancelled => "cancelled",
            Self::Superseded => "superseded",
        }
    }

    pub fn group(self) -> Group {
        match self {
            Self::Waiting => Group::Waiting,
            Self::Submitting | Self::UnderReview | Self::Delayed => Group::InProgress,
            Self::Approved | Self::Released => Group::Succeeded,
            Self::NotSubmitted | Self::Rejected | Self::Withdrawn | Self::PublishFailed => Group::Failed,
            Self::Skipped | Self::Cancelled | Self::Superseded => Group::Other,
        }
    }

    /// "Retry failed" takes these back: a submission that stopped before review (it waits
    /// to be submitted again) and a release that failed (it is released again). A
    /// rejection is not retried by the campaign: its reason is usually the tenant's to fix
    /// (then "Resubmit" on the tenant's card, which the campaign follows).
    pub fn retryable(self) -> bool {
        matches!(self, Self::NotSubmitted | Self::PublishFailed)
    }

    /// The review passed: what a canary has to reach.
    pub fn passed_review(self) -> bool {
        matches!(self, Self::Approved | Self::Released)
    }
}

/// How many targeted tenants have each outcome, per cohort.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts(pub BTreeMap<(Cohort, Outcome), i64>);

impl Counts {
    pub fn add(&mut self, cohort: Cohort, outcome: Outcome, n: i64) {
        *self.0.entry((cohort, outcome)).or_default() += n;
    }

    pub fn of(&self, outcome: Outcome) -> i64 {
        self.0.iter().filter(|((_, o), _)| *o == outcome).map(|(_, n)| n).sum()
    }

    pub fn in_cohort(&self, cohort: Cohort, pick: impl Fn(Outcome) -> bool) -> i64 {
        self.0.iter().filter(|((c, o), _)| *c == cohort && pick(*o)).map(|(_, n)| n).sum()
    }

    pub fn total(&self) -> i64 {
        self.0.values().sum()
    }

    pub fn group(&self, group: Group) -> i64 {
        self.0.iter().filter(|((_, o), _)| o.group() == group).map(|(_, n)| n).sum()
    }

    /// Each outcome with its count, in the order of [`Outcome::ALL`], zeros left out.
    pub fn by_outcome(&self) -> Vec<(Outcome, i64)> {
        Outcome::ALL.into_iter().map(|o| (o, self.of(o))).filter(|(_, n)| *n > 0).collect()
    }

    /// Not yet submitted to WeChat's review: what the campaign still needs of the quota.
    pub fn still_to_submit(&self) -> i64 {
        self.of(Outcome::Waiting) + self.of(Outcome::Submitting)
    }
}

/// What the campaign's driver does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    /// Start up to this many more tenants of the cohorts the phase admits.
    Admit(i64),
    /// Nothing to start now: wait for the ones on their way.
    Wait,
    /// The canary is settled and passed: go on with the rest by itself.
    GoRest,
    /// The canary is settled: the rest waits for the operator (who chose to decide, or
    /// because a canary tenant did not pass).
    AwaitGo,
    /// Every targeted tenant is settled.
    Finish,
}

/// The settings that shape the driver's decision.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub phase: Phase,
    pub auto_after_canary: bool,
    pub auto_publish: bool,
    pub concurrency: i64,
}

/// Decides the next move from the counts. A tenant is settled for the campaign when it
/// is no longer waiting, being submitted or in review, and, with auto-publish, no longer
/// approved and waiting to be published.
pub fn next_move(plan: Plan, counts: &Counts) -> Move {
    let unsettled = |o: Outcome| {
        matches!(o, Outcome::Waiting | Outcome::Submitting | Outcome::UnderReview | Outcome::Delayed)
            || (plan.auto_publish && o == Outcome::Approved)
    };
    let in_flight = counts.of(Outcome::Submitting);
    let free = (plan.concurrency - in_flight).max(0);
    match plan.phase {
        Phase::Canary => {
            if counts.in_cohort(Cohort::Canary, |o| o == Outcome::Waiting) > 0 {
                return if free > 0 { Move::Admit(free) } else { Move::Wait };
            }
            if counts.in_cohort(Cohort::Canary, unsettled) > 0 {
                return Move::Wait;
            }
            let failed = counts.in_cohort(Cohort::Canary, |o| o.group() == Group::Failed);
            if plan.auto_after_canary && failed == 0 { Move::GoRest } else { Move::AwaitGo }
        }
        Phase::Rest => {
            if counts.of(Outcome::Waiting) > 0 {
                return if free > 0 { Move::Admit(free) } else { Move::Wait };
            }
            if counts.0.iter().any(|((_, o), n)| *n > 0 && unsettled(*o)) { Move::Wait } else { Move::Finish }
        }
    }
}

/// The canary's size from the operator's input: empty or 0 (no canary), a number of
/// tenants, or a share ("5%", rounded up so a share of a few tenants is at least one).
pub fn canary_size(input: &str, total: usize) -> Result<usize, &'static str> {
    let input = input.trim();
    if input.is_empty() {
        return Ok(0);
    }
    if let Some(share) = input.strip_suffix('%') {
        let share: f64 = share.trim().parse().map_err(|_| "canary_format")?;
        if !(0.0..=100.0).contains(&share) || share.is_nan() {
            return Err("canary_share_range");
        }
        return Ok(((total as f64) * share / 100.0).ceil() as usize);
    }
    let n: usize = input.parse().map_err(|_| "canary_format")?;
    if n > total {
        return Err("canary_too_many");
    }
    Ok(n)
}

/// Limits of the form's numbers.
pub const CONCURRENCY_MAX: i64 = 500;
pub const CALLS_PER_MINUTE_MAX: i64 = 60_000;

/// The operator's "Start campaign" form.
#[derive(Debug, Clone, Default)]
pub struct Form {
    /// "all" (every pending tenant) or "list".
    pub target: String,
    /// AppIDs or tenant ids, one per line (or separated by commas or spaces).
    pub list: String,
    pub canary: String,
    /// "wait" or "auto".
    pub after_canary: String,
    pub concurrency: String,
    pub calls_per_minute: String,
    pub auto_publish: bool,
}

/// The form, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// None: every pending tenant; Some: only the listed ones.
    pub list: Option<Vec<String>>,
    pub canary: String,
    pub auto_after_canary: bool,
    pub concurrency: i64,
    pub calls_per_minute: i64,
    pub auto_publish: bool,
}

fn number(input: &str, max: i64) -> Result<i64, &'static str> {
    let n: i64 = input.trim().parse().map_err(|_| "number_format")?;
    if n < 1 || n > max { Err("number_range") } else { Ok(n) }
}

/// The entries of the tenant list: AppIDs or tenant ids, deduplicated, in order.
pub fn list_entries(list: &str) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    list.split(|c: char| c.is_whitespace() || c == ',' || c == ';')
        .filter(|e| !e.is_empty())
        .filter(|e| seen.insert(e.to_string()))
        .map(str::to_string)
        .collect()
}

/// Checks the form's own fields (the list's entries and the canary against the targets
/// are checked by the service, which knows the tenants). Errors are (field, message key
/// under `campaigns.error.`).
pub fn check_form(form: &Form) -> Result<Checked, Vec<(&'static str, &'static str)>> {
    let mut errors = Vec::new();
    let list = match form.target.as_str() {
        "all" => None,
        "list" => {
            let entries = list_entries(&form.list);
            if entries.is_empty() {
                errors.push(("list", "list_empty"));
            }
            Some(entries)
        }
        _ => {
            errors.push(("target", "target_required"));
            None
        }
    };
    let auto_after_canary = match form.after_canary.as_str() {
        "auto" => true,
        "wait" | "" => false,
        _ => {
            errors.push(("after_canary", "after_canary_invalid"));
            false
        }
    };
    let concurrency = number(&form.concurrency, CONCURRENCY_MAX).unwrap_or_else(|e| {
        errors.push(("concurrency", if e == "number_range" { "concurrency_range" } else { "number_format" }));
        0
    });
    let calls_per_minute = number(&form.calls_per_minute, CALLS_PER_MINUTE_MAX).unwrap_or_else(|e| {
        errors.push(("calls_per_minute", if e == "number_range" { "rate_range" } else { "number_format" }));
        0
    });
    // The canary's syntax now; its size against the targets when they are known.
    if let Err(e) = canary_size(&form.canary, usize::MAX / 2) {
        errors.push(("canary", e));
    }
    if errors.is_empty() {
        Ok(Checked {
            list,
            canary: form.canary.trim().to_string(),
            auto_after_canary,
            concurrency,
            calls_per_minute,
            auto_publish: form.auto_publish,
        })
    } else {
        Err(errors)
    }
}

/// The audit quota against what a campaign needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forecast {
    /// Submissions the campaign still has to make.
    pub needed: i64,
    /// What WeChat said is left this month.
    pub rest: i64,
    /// How many of them the quota covers.
    pub covered: i64,
}

impl Forecast {
    pub fn new(needed: i64, rest: i64) -> Self {
        Self { needed, rest, covered: needed.min(rest.max(0)) }
    }

    /// The quota runs out before the campaign is through: it will pause after `covered`.
    pub fn runs_out(&self) -> bool {
        self.covered < self.needed
    }
}

/// The gap between two paced calls at `calls_per_minute`, in microseconds.
pub fn call_interval_us(calls_per_minute: i64) -> i64 {
    60_000_000 / calls_per_minute.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(entries: &[(Cohort, Outcome, i64)]) -> Counts {
        let mut c = Counts::default();
        for (cohort, outcome, n) in entries {
            c.add(*cohort, *outcome, *n);
        }
        c
    }

    const PLAN: Plan = Plan { phase: Phase::Canary, auto_after_canary: true, auto_publish: false, concurrency: 3 };

    #[test]
    fn the_canary_is_a_number_or_a_share_rounded_up() {
        assert_eq!(canary_size("", 10), Ok(0));
        assert_eq!(canary_size("0", 10), Ok(0));
        assert_eq!(canary_size(" 3 ", 10), Ok(3));
        assert_eq!(canary_size("5%", 10), Ok(1));
        assert_eq!(canary_size("50 %", 10), Ok(5));
        assert_eq!(canary_size("100%", 7), Ok(7));
        assert_eq!(canary_size("11", 10), Err("canary_too_many"));
        assert_eq!(canary_size("150%", 10), Err("canary_share_range"));
        assert_eq!(canary_size("a few", 10), Err("canary_format"));
        assert_eq!(canary_size("-1", 10), Err("canary_format"));
    }

    #[test]
    fn the_canary_is_admitted_within_the_concurrency_cap_then_waits_for_its_results() {
        let c = counts(&[(Cohort::Canary, Outcome::Waiting, 5), (Cohort::Canary, Outcome::Submitting, 1)]);
        assert_eq!(next_move(PLAN, &c), Move::Admit(2));
        let full = counts(&[(Cohort::Canary, Outcome::Waiting, 5), (Cohort::Canary, Outcome::Submitting, 3)]);
        assert_eq!(next_move(PLAN, &full), Move::Wait);
        // The rest never starts during the canary.
        let reviewing = counts(&[(Cohort::Canary, Outcome::UnderReview, 2), (Cohort::Rest, Outcome::Waiting, 50)]);
        assert_eq!(next_move(PLAN, &reviewing), Move::Wait);
    }

    #[test]
    fn a_passed_canary_goes_on_by_itself_or_waits_for_the_operator() {
        let passed = counts(&[
            (Cohort::Canary, Outcome::Approved, 1),
            (Cohort::Canary, Outcome::Released, 1),
            (Cohort::Canary, Outcome::Skipped, 1),
            (Cohort::Rest, Outcome::Waiting, 9),
        ]);
        assert_eq!(next_move(PLAN, &passed), Move::GoRest);
        assert_eq!(next_move(Plan { auto_after_canary: false, ..PLAN }, &passed), Move::AwaitGo);
        let rejected = counts(&[(Cohort::Canary, Outcome::Approved, 1), (Cohort::Canary, Outcome::Rejected, 1)]);
        assert_eq!(next_move(PLAN, &rejected), Move::AwaitGo);
        // With auto-publish, an approved canary is settled once it is released.
        let publishing = Plan { auto_publish: true, ..PLAN };
        assert_eq!(next_move(publishing, &counts(&[(Cohort::Canary, Outcome::Approved, 1)])), Move::Wait);
    }

    #[test]
    fn the_rest_is_admitted_then_the_campaign_finishes_when_everyone_is_settled() {
        let plan = Plan { phase: Phase::Rest, ..PLAN };
        let c = counts(&[(Cohort::Rest, Outcome::Waiting, 10), (Cohort::Canary, Outcome::Released, 2)]);
        assert_eq!(next_move(plan, &c), Move::Admit(3));
        let reviewing = counts(&[(Cohort::Rest, Outcome::Delayed, 1), (Cohort::Rest, Outcome::Released, 9)]);
        assert_eq!(next_move(plan, &reviewing), Move::Wait);
        let done = counts(&[(Cohort::Rest, Outcome::Rejected, 1), (Cohort::Rest, Outcome::Approved, 9)]);
        assert_eq!(next_move(plan, &done), Move::Finish);
        assert_eq!(next_move(Plan { auto_publish: true, ..plan }, &done), Move::Wait);
    }

    #[test]
    fn outcomes_come_from_the_bookkeeping_or_the_release_stage() {
        assert_eq!(Outcome::of("waiting", None), Outcome::Waiting);
        assert_eq!(Outcome::of("started", Some("under_review")), Outcome::UnderReview);
        assert_eq!(Outcome::of("started", Some("submit_failed")), Outcome::NotSubmitted);
        assert_eq!(Outcome::of("started", None), Outcome::Superseded);
        assert_eq!(Outcome::of("skipped", Some("released")), Outcome::Skipped);
        assert!(Outcome::NotSubmitted.retryable() && !Outcome::Rejected.retryable());
        assert_eq!(
            Group::Failed.outcomes(),
            vec![Outcome::NotSubmitted, Outcome::Rejected, Outcome::Withdrawn, Outcome::PublishFailed]
        );
    }

    #[test]
    fn the_form_names_each_wrong_field() {
        let form = Form {
            target: "list".into(),
            list: " \n ".into(),
            canary: "ten".into(),
            after_canary: "auto".into(),
            concurrency: "0".into(),
            calls_per_minute: "lots".into(),
            auto_publish: false,
        };
        let errors = check_form(&form).unwrap_err();
        assert_eq!(
            errors,
            vec![
                ("list", "list_empty"),
                ("concurrency", "concurrency_range"),
                ("calls_per_minute", "number_format"),
                ("canary", "canary_format"),
            ]
        );
        let ok = Form {
            target: "list".into(),
            list: "wx1, wx2\nwx1 t3".into(),
            canary: "10%".into(),
            after_canary: "wait".into(),
            concurrency: "20".into(),
            calls_per_minute: "600".into(),
            auto_publish: true,
        };
        let checked = check_form(&ok).unwrap();
        assert_eq!(checked.list, Some(vec!["wx1".into(), "wx2".into(), "t3".into()]));
        assert!(!checked.auto_after_canary && checked.auto_publish);
    }

    #[test]
    fn the_forecast_says_where_the_quota_runs_out() {
        let f = Forecast::new(300, 120);
        assert!(f.runs_out());
        assert_eq!(f.covered, 120);
        assert!(!Forecast::new(10, 120).runs_out());
        assert_eq!(Forecast::new(10, -1).covered, 0);
        assert_eq!(call_interval_us(600), 100_000);
    }
}
