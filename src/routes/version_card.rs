//! The Version card's data and view (shared by the Mini Program tab, which shows it, and
//! `routes::releases`, which polls it and acts on it).

use crate::db::{DbConn, bindings, releases as store};
use crate::domain::release::{self as rules, Action, Badge, Blocker, CardInput, Stage, Step};
use crate::views::PageCtx;

/// What the card reads, in the tab's own read transaction.
pub struct VersionData {
    pub release: Option<store::Release>,
    pub latest: Option<store::TemplateVersion>,
    pub history: Vec<store::HistoryEntry>,
    pub withdrawals: Vec<i64>,
}

impl VersionData {
    /// The card's data for the tenant's active mini program; None when none is bound.
    pub fn load(c: &mut DbConn, tenant_id: &str) -> Result<Option<Self>, diesel::result::Error> {
        let Some(b) = bindings::active_for_tenant(c, tenant_id)? else { return Ok(None) };
        let now = crate::now();
        Ok(Some(Self {
            release: store::for_tenant(c, tenant_id, &b.appid)?,
            latest: store::latest_version(c)?,
            history: store::history(c, tenant_id, &b.appid)?,
            withdrawals: store::withdrawals_since(c, tenant_id, &b.appid, rules::china_month_start(now))?,
        }))
    }
}

/// One step of "Submit Update" as the progress list shows it.
pub struct StepView {
    pub label: String,
    /// done, current, or waiting.
    pub state: &'static str,
}

/// The card, decided in Rust so the template only shows it.
pub struct VersionCard {
    pub base: String,
    pub badge: Badge,
    pub actions: Vec<Action>,
    pub stage: Option<Stage>,
    pub version: Option<String>,
    pub released_version: Option<String>,
    pub released_at: Option<i64>,
    pub latest: Option<String>,
    pub latest_notes: String,
    pub submitted_at: Option<i64>,
    pub steps: Vec<StepView>,
    pub reason: Vec<String>,
    pub screenshots: Vec<String>,
    pub blockers: Vec<String>,
    pub failure: Option<String>,
    pub expedited: bool,
    pub withdraw_left_today: usize,
    pub withdraw_left_month: usize,
    pub roll_back_to: Option<String>,
    /// WeChat's refusal of the action just tried.
    pub error: Option<String>,
    /// Seconds between polls of the card while something is under way.
    pub poll: Option<u32>,
}

impl VersionCard {
    pub fn new(ctx: &PageCtx, base: String, d: &VersionData, error: Option<String>) -> Self {
        let r = d.release.as_ref();
        let stage = r.map(store::Release::stage);
        let actions: Vec<&str> = d.history.iter().map(|h| h.action.as_str()).collect();
        let roll_back_to = rules::roll_back_target(&actions).map(|i| d.history[i].version.clone());
        let can_roll_back = roll_back_to.is_some();
        let released_version = r.and_then(|r| r.released_version.clone());
        let expedited = r.is_some_and(|r| r.expedited);
        let (badge, actions) = rules::card(&CardInput {
            stage,
            released_version: released_version.as_deref(),
            latest: d.latest.as_ref().map(|v| v.version.as_str()),
            expedited,
            can_roll_back,
        });
        let current = r.and_then(store::Release::step);
        let steps = match (stage, current) {
            (Some(Stage::Submitting), Some(now)) => {
                let at = Step::ALL.iter().position(|s| *s == now).unwrap_or(0);
                Step::ALL
                    .iter()
                    .enumerate()
                    .map(|(i, s)| StepView {
                        label: ctx.t(&format!("release.step.{}", s.as_str())),
                        state: if i < at {
                            "done"
                        } else if i == at {
                            "current"
                        } else {
                            "waiting"
                        },
                    })
                    .collect()
            }
            _ => Vec::new(),
        };
        let blockers = r.map(|r| blocker_texts(ctx, &r.blockers())).unwrap_or_default();
        let (withdraw_left_today, withdraw_left_month) = rules::withdrawals_left(&d.withdrawals, crate::now());
        Self {
            screenshots: r
                .map(|r| r.screenshot_ids().iter().map(|id| format!("{base}/screenshots/{id}")).collect())
                .unwrap_or_default(),
            reason: r.map(|r| rules::reason_lines(&r.reason)).unwrap_or_default(),
            failure: r.and_then(store::Release::failure).map(|f| ctx.failure(&f)),
            version: r.and_then(|r| r.version.clone()),
            released_at: r.and_then(|r| r.released_at),
            submitted_at: r.and_then(|r| r.submitted_at),
            latest: d.latest.as_ref().map(|v| v.version.clone()),
            latest_notes: d.latest.as_ref().map(|v| v.notes.clone()).unwrap_or_default(),
            poll: match stage {
                Some(Stage::Submitting) => Some(2),
                Some(Stage::UnderReview | Stage::Delayed) => Some(15),
                _ => None,
            },
            base,
            badge,
            actions,
            stage,
            released_version,
            steps,
            blockers,
            expedited,
            withdraw_left_today,
            withdraw_left_month,
            roll_back_to,
            error,
        }
    }

    pub fn has(&self, action: &str) -> bool {
        self.actions.iter().any(|a| action_name(*a) == action)
    }

    pub fn badge_key(&self) -> String {
        format!("release.badge.{}", self.badge.key())
    }

    /// The badge's colour: good news, waiting, or something to fix.
    pub fn badge_class(&self) -> &'static str {
        match self.badge {
            Badge::UpToDate | Badge::Approved => "badge badge-authorized",
            Badge::SubmitFailed | Badge::Rejected | Badge::PublishFailed => "badge badge-rejected",
            _ => "badge badge-submitted",
        }
    }

    pub fn explain_key(&self) -> String {
        format!("release.explain.{}", self.badge.key())
    }

    /// A submission is on its way or was turned down: its version is shown.
    pub fn shows_submission(&self) -> bool {
        self.stage.is_some() && !matches!(self.badge, Badge::UpToDate | Badge::PendingUpdate | Badge::NoVersionYet)
    }

    pub fn failed(&self) -> bool {
        matches!(self.badge, Badge::SubmitFailed | Badge::PublishFailed)
    }

    pub fn delayed(&self) -> bool {
        self.badge == Badge::Delayed
    }

    pub fn in_review(&self) -> bool {
        self.stage.is_some_and(Stage::in_review)
    }
}

fn action_name(a: Action) -> &'static str {
    match a {
        Action::SubmitUpdate => "submit",
        Action::Resubmit => "resubmit",
        Action::PublishUpdate => "publish",
        Action::RetryPublish => "retry_publish",
        Action::Withdraw => "withdraw",
        Action::Expedite => "expedite",
        Action::CheckStatus => "check",
        Action::RollBack => "roll_back",
    }
}

/// Why a submission stopped before review, in words (an item is named by its title).
pub fn blocker_texts(ctx: &PageCtx, blockers: &[Blocker]) -> Vec<String> {
    blockers
        .iter()
        .map(|b| {
            let args: Vec<(&str, String)> = b
                .args
                .iter()
                .map(|(k, v)| {
                    let v = if k == "item" { ctx.t(&format!("requirements.item.{v}.title")) } else { v.clone() };
                    (k.as_str(), v)
                })
                .collect();
            let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
            ctx.t_with(&format!("release.blocker.{}", b.key), &args)
        })
        .collect()
}
