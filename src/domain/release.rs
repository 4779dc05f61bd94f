//! Versions, review and release (SPEC §3.4, seed 000 §3.1 and §3.5): version numbers,
//! the stages a tenant's mini program goes through on its way from "Pending Update" to
//! released, what the Version card offers in each, and the rules that read WeChat's
//! answers. Pure: no database, no HTTP; the workflow is `services::releases`.

use serde::{Deserialize, Serialize};

/// Where a tenant's mini program stands with its newest submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The console is committing the template and submitting it (a durable job).
    Submitting,
    /// The submission stopped before WeChat's review: the blockers or WeChat's refusal say why.
    SubmitFailed,
    UnderReview,
    /// WeChat delayed the review (its `weapp_audit_delay`); a final result still follows.
    Delayed,
    /// Approved: "Publish Update" releases it.
    Approved,
    Rejected,
    /// The submission was withdrawn (`undocodeaudit`).
    Withdrawn,
    /// The release call failed: "Resubmit" tries the release again.
    PublishFailed,
    Released,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submitting => "submitting",
            Self::SubmitFailed => "submit_failed",
            Self::UnderReview => "under_review",
            Self::Delayed => "delayed",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Withdrawn => "withdrawn",
            Self::PublishFailed => "publish_failed",
            Self::Released => "released",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "submitting" => Self::Submitting,
            "submit_failed" => Self::SubmitFailed,
            "under_review" => Self::UnderReview,
            "delayed" => Self::Delayed,
            "approved" => Self::Approved,
            "rejected" => Self::Rejected,
            "withdrawn" => Self::Withdrawn,
            "publish_failed" => Self::PublishFailed,
            "released" => Self::Released,
            _ => return None,
        })
    }

    /// WeChat is reviewing a submission (one under review blocks another: 85009).
    pub fn in_review(self) -> bool {
        matches!(self, Self::UnderReview | Self::Delayed)
    }

    /// A new submission may start: nothing is being submitted, reviewed or waiting to be
    /// published.
    pub fn may_submit(self) -> bool {
        matches!(self, Self::SubmitFailed | Self::Rejected | Self::Withdrawn | Self::Released)
    }
}

/// The steps of "Submit Update", in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Nothing due now in Requirements, the audit quota not used up: spends no quota.
    Preflight,
    /// `commit` of the template with the tenant's `ext_json`.
    Commit,
    /// Waiting for WeChat's code privacy scan (`get_code_privacy_info`).
    PrivacyScan,
    /// `submit_audit` with the item list from the categories set.
    Submit,
}

impl Step {
    pub const ALL: [Step; 4] = [Step::Preflight, Step::Commit, Step::PrivacyScan, Step::Submit];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Preflight => "preflight",
            Self::Commit => "commit",
            Self::PrivacyScan => "privacy_scan",
            Self::Submit => "submit",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|step| step.as_str() == s)
    }
}

/// Timings of the review pipeline (configuration: `MINIHOST_REVIEW_*`).
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// A submission still in review this long after it was made is asked about.
    pub reconcile_after_secs: i64,
    /// How often the reconciliation round runs, and how soon the same submission is
    /// asked about again.
    pub reconcile_every_secs: i64,
    /// The first wait after WeChat's 61039 (the code privacy scan is not finished); it
    /// doubles per attempt.
    pub scan_retry_secs: i64,
    /// 61039s after which the scan is reported as stuck.
    pub scan_max_attempts: i32,
    /// A paused campaign's submissions look again this often (resuming wakes them at once).
    pub campaign_hold_secs: i64,
    /// How often a campaign with nothing to admit looks at its tenants' results (a result
    /// of one of its tenants wakes it at once).
    pub campaign_settle_secs: i64,
    /// A campaign paused by 85085 asks WeChat this often whether the quota was renewed.
    pub quota_recheck_secs: i64,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            reconcile_after_secs: 6 * 3600,
            reconcile_every_secs: 600,
            scan_retry_secs: 30,
            scan_max_attempts: 10,
            campaign_hold_secs: 60,
            campaign_settle_secs: 30,
            quota_recheck_secs: 600,
        }
    }
}

/// A version number the operator gives a template: one to four dot-separated numbers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(Vec<u32>);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionError {
    Empty,
    /// Not like "1.4" or "2.0.3".
    Format,
}

impl Version {
    pub fn parse(s: &str) -> Result<Self, VersionError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(VersionError::Empty);
        }
        let parts: Vec<u32> = s
            .split('.')
            .map(|p| if p.is_empty() || p.len() > 9 { None } else { p.parse().ok() })
            .collect::<Option<_>>()
            .ok_or(VersionError::Format)?;
        if parts.len() > 4 || !s.chars().all(|c| c.is_ascii_digit() || c == '.') {
            return Err(VersionError::Format);
        }
        Ok(Self(parts))
    }

    /// A text that sorts like the version (each part zero-padded, missing parts as 0), so
    /// the database orders versions numerically: 1.10 after 1.9, and 1.2 equal to 1.2.0.
    pub fn sort_key(&self) -> String {
        (0..4).map(|i| format!("{:09}", self.0.get(i).copied().unwrap_or(0))).collect::<Vec<_>>().join(".")
    }
}

/// Notes shown to tenants: required, at most this many characters.
pub const NOTES_MAX: usize = 500;

/// The operator's "Release to tenants" form, checked: the version and the notes, or the
/// errors by field (message keys under `templates.error.`).
pub fn check_release(
    version: &str,
    notes: &str,
    latest: Option<&str>,
) -> Result<(Version, String), Vec<(&'static str, &'static str)>> {
    let mut errors = Vec::new();
    let parsed = match Version::parse(version) {
        Ok(v) => match latest.map(Version::parse) {
            Some(Ok(l)) if v.sort_key() <= l.sort_key() => {
                errors.push(("version", "version_not_newer"));
                None
            }
            _ => Some(v),
        },
        Err(VersionError::Empty) => {
            errors.push(("version", "version_required"));
            None
        }
        Err(VersionError::Format) => {
            errors.push(("version", "version_format"));
            None
        }
    };
    let notes = notes.trim();
    if notes.is_empty() {
        errors.push(("notes", "notes_required"));
    } else if notes.chars().count() > NOTES_MAX {
        errors.push(("notes", "notes_too_long"));
    }
    match parsed {
        Some(v) if errors.is_empty() => Ok((v, notes.to_string())),
        _ => Err(errors),
    }
}

/// True when `released` is older than `latest` (unparseable counts as older).
pub fn is_older(released: &str, latest: &str) -> bool {
    match (Version::parse(released), Version::parse(latest)) {
        (Ok(r), Ok(l)) => r.sort_key() < l.sort_key(),
        _ => released != latest,
    }
}

/// WeChat's review status (`get_auditstatus`, `get_latest_auditstatus`; reference §4.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditResult {
    Approved,
    /// With WeChat's reason (HTML) and the screenshots' media ids.
    Rejected {
        reason: String,
        screenshots: Vec<String>,
    },
    UnderReview,
    Withdrawn,
    Delayed {
        reason: String,
    },
}

impl AuditResult {
    /// From a status number, its reason and its pipe-joined screenshots; None for a
    /// status WeChat does not document.
    pub fn from_status(status: i64, reason: &str, screenshots: &str) -> Option<Self> {
        Some(match status {
            0 => Self::Approved,
            1 => Self::Rejected { reason: reason.to_string(), screenshots: split_media_ids(screenshots) },
            2 => Self::UnderReview,
            3 => Self::Withdrawn,
            4 => Self::Delayed { reason: reason.to_string() },
            _ => return None,
        })
    }

    /// From a `weapp_audit_*` push's event name and fields.
    pub fn from_event(event: &str, reason: &str, screenshots: &str) -> Option<Self> {
        Some(match event {
            "weapp_audit_success" => Self::Approved,
            "weapp_audit_fail" => {
                Self::Rejected { reason: reason.to_string(), screenshots: split_media_ids(screenshots) }
            }
            "weapp_audit_delay" => Self::Delayed { reason: reason.to_string() },
            _ => return None,
        })
    }

    /// The stage this result leads to from `current`; None when nothing changes (the
    /// mini program was not waiting on a review, or WeChat still reviews it). The same
    /// events also report privacy-guide reviews, so a result with nothing in review is
    /// not an error.
    pub fn next_stage(&self, current: Stage) -> Option<Stage> {
        if !current.in_review() {
            return None;
        }
        let next = match self {
            Self::Approved => Stage::Approved,
            Self::Rejected { .. } => Stage::Rejected,
            Self::Withdrawn => Stage::Withdrawn,
            Self::Delayed { .. } => Stage::Delayed,
            Self::UnderReview => return None,
        };
        (next != current).then_some(next)
    }
}

/// The media ids in WeChat's pipe-joined `ScreenShot` field.
pub fn split_media_ids(joined: &str) -> Vec<String> {
    joined.split('|').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

/// WeChat's rejection reason is HTML (`<br>` between points): the lines of its text,
/// with every tag dropped and the common entities decoded. The page escapes them again,
/// so nothing of WeChat's markup reaches the browser as markup.
pub fn reason_lines(html: &str) -> Vec<String> {
    let mut text = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        text.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('>') else {
            rest = &rest[start..];
            break;
        };
        let tag = rest[start + 1..start + end].trim().to_ascii_lowercase();
        let name = tag.trim_start_matches('/').split(|c: char| c.is_whitespace() || c == '/').next().unwrap_or("");
        if matches!(name, "br" | "p" | "div" | "li") {
            text.push('\n');
        }
        rest = &rest[start + end + 1..];
    }
    text.push_str(rest);
    let decoded = text
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    decoded.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect()
}

/// WeChat allows 5 withdrawals a day and 10 a month per mini program (reference §4.6),
/// reset at 00:00 China time, and does not say how many are left: we count.
pub const WITHDRAW_PER_DAY: usize = 5;
pub const WITHDRAW_PER_MONTH: usize = 10;

/// China Standard Time, where WeChat's days and months begin.
const CHINA_OFFSET_SECS: i64 = 8 * 3600;

fn china_date(at: i64) -> Option<time::Date> {
    time::OffsetDateTime::from_unix_timestamp(at + CHINA_OFFSET_SECS).ok().map(|t| t.date())
}

/// The start of the China-time month that holds `now`, in Unix seconds (what to count
/// withdrawals from).
pub fn china_month_start(now: i64) -> i64 {
    let Some(date) = china_date(now) else { return now };
    let first = date.replace_day(1).unwrap_or(date);
    first.midnight().assume_utc().unix_timestamp() - CHINA_OFFSET_SECS
}

/// Withdrawals left today and this month, from the times of this month's withdrawals.
pub fn withdrawals_left(times: &[i64], now: i64) -> (usize, usize) {
    let (Some(today), month_start) = (china_date(now), china_month_start(now)) else { return (0, 0) };
    let this_month = times.iter().filter(|&&t| t >= month_start && t <= now).count();
    let today_count = times.iter().filter(|&&t| t <= now && china_date(t) == Some(today)).count();
    let month_left = WITHDRAW_PER_MONTH.saturating_sub(this_month);
    (WITHDRAW_PER_DAY.saturating_sub(today_count).min(month_left), month_left)
}

/// A service category as `get_category` reports it: what an `item_list` entry names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuditItem {
    pub first_class: String,
    pub second_class: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub third_class: String,
    pub first_id: i64,
    pub second_id: i64,
    #[serde(skip_serializing_if = "is_zero")]
    pub third_id: i64,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// `submit_audit` takes one to five items.
pub const MAX_AUDIT_ITEMS: usize = 5;

/// The `item_list` for `submit_audit`: the categories actually set on the mini program
/// (never the template's wishes, which WeChat would refuse with 85008), at most five,
/// each once.
pub fn item_list(categories: &[AuditItem]) -> Vec<AuditItem> {
    let mut items: Vec<AuditItem> = Vec::new();
    for c in categories {
        let seen = items.iter().any(|i| (i.first_id, i.second_id, i.third_id) == (c.first_id, c.second_id, c.third_id));
        if c.first_id > 0 && c.second_id > 0 && !seen {
            items.push(c.clone());
        }
        if items.len() == MAX_AUDIT_ITEMS {
            break;
        }
    }
    items
}

/// Privacy-sensitive APIs that the code must declare in `requiredPrivateInfos` (the
/// location family; WeChat's mini program framework docs).
pub const DECLARED_PRIVATE_INFOS: &[&str] = &[
    "getFuzzyLocation",
    "getLocation",
    "onLocationChange",
    "startLocationUpdate",
    "startLocationUpdateBackground",
    "chooseLocation",
    "choosePoi",
    "chooseAddress",
];

/// The `requiredPrivateInfos` to declare for the template's privacy-sensitive APIs
/// (given as `wx.getLocation` or `getLocation`).
pub fn required_private_infos(apis: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for api in apis {
        let name = api.trim().trim_start_matches("wx.");
        if DECLARED_PRIVATE_INFOS.contains(&name) && !out.iter().any(|o| o == name) {
            out.push(name.to_string());
        }
    }
    out
}

/// What the template reads at run time for one tenant (`wx.getExtConfigSync()`).
#[derive(Debug, Clone, Serialize)]
pub struct ExtConfig<'a> {
    pub tenant_id: &'a str,
    pub store_name: &'a str,
}

/// The `ext_json` string for `commit` (reference §4.2): it is JSON sent as a string.
pub fn ext_json(appid: &str, ext: &ExtConfig<'_>, required_private: &[String]) -> String {
    let mut v = serde_json::json!({
        "extEnable": true,
        "extAppid": appid,
        "directCommit": false,
        "ext": ext,
    });
    if !required_private.is_empty() {
        v["requiredPrivateInfos"] = serde_json::json!(required_private);
    }
    v.to_string()
}

/// Why a submission stopped before WeChat's review: a message key under
/// `release.blocker.` and its arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blocker {
    pub key: String,
    #[serde(default)]
    pub args: Vec<(String, String)>,
}

impl Blocker {
    pub fn new(key: &str, args: &[(&str, &str)]) -> Self {
        Self { key: key.to_string(), args: args.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() }
    }

    pub fn to_stored(list: &[Blocker]) -> String {
        serde_json::to_string(list).unwrap_or_else(|_| "[]".into())
    }

    pub fn from_stored(s: &str) -> Vec<Blocker> {
        serde_json::from_str(s).unwrap_or_default()
    }
}

/// What the code privacy scan found (`get_code_privacy_info`), as blockers: an API used
/// without authorization is applied for in Requirements; one used without being
/// declared needs the operator's template requirements to list it.
pub fn scan_blockers(without_auth: &[String], without_conf: &[String]) -> Vec<Blocker> {
    let auth = without_auth.iter().map(|api| Blocker::new("api_not_authorized", &[("api", api)]));
    let conf = without_conf.iter().map(|api| Blocker::new("api_not_declared", &[("api", api)]));
    auth.chain(conf).collect()
}

/// When to ask about the privacy scan again after WeChat's 61039 ("not finished, retry
/// in about a minute"): `base` seconds doubling per attempt up to ten minutes; None once
/// `max_attempts` have been spent (the scan is then reported as stuck).
pub fn scan_retry_after(attempt: i32, base: i64, max_attempts: i32) -> Option<i64> {
    if attempt >= max_attempts {
        return None;
    }
    let shift = u32::try_from(attempt.clamp(0, 16)).unwrap_or(0);
    Some(base.max(1).saturating_mul(1i64 << shift).min(600))
}

/// What the Version card says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Badge {
    /// The operator has released no version yet: nothing to submit.
    NoVersionYet,
    PendingUpdate,
    UpToDate,
    Submitting,
    SubmitFailed,
    UnderReview,
    Delayed,
    Approved,
    Rejected,
    Withdrawn,
    PublishFailed,
}

impl Badge {
    /// The catalog key under `release.badge.`.
    pub fn key(self) -> &'static str {
        match self {
            Self::NoVersionYet => "no_version",
            Self::PendingUpdate => "pending_update",
            Self::UpToDate => "up_to_date",
            Self::Submitting => "submitting",
            Self::SubmitFailed => "submit_failed",
            Self::UnderReview => "under_review",
            Self::Delayed => "delayed",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Withdrawn => "withdrawn",
            Self::PublishFailed => "publish_failed",
        }
    }
}

/// What the Version card offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    SubmitUpdate,
    /// After a refusal or rejection: submit again.
    Resubmit,
    PublishUpdate,
    /// After a failed release: release again (the seed's "Resubmit").
    RetryPublish,
    Withdraw,
    Expedite,
    CheckStatus,
    RollBack,
}

/// What the card needs to know.
#[derive(Debug, Clone, Copy)]
pub struct CardInput<'a> {
    pub stage: Option<Stage>,
    pub released_version: Option<&'a str>,
    pub latest: Option<&'a str>,
    pub expedited: bool,
    /// A previous release exists to go back to, and the last step was not a roll-back.
    pub can_roll_back: bool,
}

/// The badge and the actions, in the order the card shows them.
pub fn card(input: &CardInput<'_>) -> (Badge, Vec<Action>) {
    let pending = match (input.released_version, input.latest) {
        (_, None) => false,
        (None, Some(_)) => true,
        (Some(released), Some(latest)) => is_older(released, latest),
    };
    let mut actions = Vec::new();
    let badge = match input.stage {
        None | Some(Stage::Released) | Some(Stage::Withdrawn) => {
            if input.latest.is_none() {
                Badge::NoVersionYet
            } else if pending {
                actions.push(Action::SubmitUpdate);
                if input.stage == Some(Stage::Withdrawn) { Badge::Withdrawn } else { Badge::PendingUpdate }
            } else {
                Badge::UpToDate
            }
        }
        Some(Stage::Submitting) => Badge::Submitting,
        Some(Stage::SubmitFailed) => {
            actions.push(Action::Resubmit);
            Badge::SubmitFailed
        }
        Some(Stage::UnderReview) => {
            actions.push(Action::Withdraw);
            if !input.expedited {
                actions.push(Action::Expedite);
            }
            actions.push(Action::CheckStatus);
            Badge::UnderReview
        }
        Some(Stage::Delayed) => {
            actions.extend([Action::Withdraw, Action::CheckStatus]);
            Badge::Delayed
        }
        Some(Stage::Approved) => {
            actions.push(Action::PublishUpdate);
            Badge::Approved
        }
        Some(Stage::Rejected) => {
            actions.push(Action::Resubmit);
            Badge::Rejected
        }
        Some(Stage::PublishFailed) => {
            actions.push(Action::RetryPublish);
            Badge::PublishFailed
        }
    };
    if input.can_roll_back && !matches!(input.stage, Some(Stage::Submitting)) {
        actions.push(Action::RollBack);
    }
    (badge, actions)
}

/// Where "Roll back" goes: the index in `actions` (the release history's `release` /
/// `rollback` steps, oldest first) of the release before the live one. None when WeChat
/// would refuse: no earlier release, or the last step was already a roll-back.
pub fn roll_back_target(actions: &[&str]) -> Option<usize> {
    if actions.last() != Some(&"release") {
        return None;
    }
    let releases: Vec<usize> = actions.iter().enumerate().filter(|(_, a)| **a == "release").map(|(i, _)| i).collect();
    releases.len().checked_sub(2).map(|i| releases[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_sort_numerically() {
        let key = |s: &str| Version::parse(s).unwrap().sort_key();
        assert!(key("1.10") > key("1.9"));
        assert_eq!(key("1.2"), key("1.2.0"));
        assert!(key("2") > key("1.99.99.99"));
        assert_eq!(Version::parse(" "), Err(VersionError::Empty));
        for bad in ["v1", "1..2", "1.2.3.4.5", "1.-2", "1.2a", "1234567890"] {
            assert_eq!(Version::parse(bad), Err(VersionError::Format), "{bad}");
        }
        assert!(is_older("1.9", "1.10"));
        assert!(!is_older("1.10", "1.10.0"));
    }

    #[test]
    fn a_released_version_must_be_newer_and_have_notes() {
        assert!(check_release("1.2", "Faster checkout", Some("1.1.9")).is_ok());
        assert_eq!(check_release("1.1", "x", Some("1.1.0")).unwrap_err(), vec![("version", "version_not_newer")]);
        assert_eq!(
            check_release("", " ", None).unwrap_err(),
            vec![("version", "version_required"), ("notes", "notes_required")]
        );
        assert_eq!(
            check_release("v2", &"n".repeat(501), None).unwrap_err(),
            vec![("version", "version_format"), ("notes", "notes_too_long")]
        );
    }

    #[test]
    fn a_first_bind_must_submit_and_an_older_release_is_pending() {
        let input = |stage, released, latest| CardInput {
            stage,
            released_version: released,
            latest,
            expedited: false,
            can_roll_back: false,
        };
        assert_eq!(card(&input(None, None, Some("1.0"))), (Badge::PendingUpdate, vec![Action::SubmitUpdate]));
        assert_eq!(card(&input(None, None, None)), (Badge::NoVersionYet, vec![]));
        assert_eq!(
            card(&input(Some(Stage::Released), Some("1.0"), Some("1.1"))),
            (Badge::PendingUpdate, vec![Action::SubmitUpdate])
        );
        assert_eq!(card(&input(Some(Stage::Released), Some("1.1"), Some("1.1"))), (Badge::UpToDate, vec![]));
        assert_eq!(card(&input(Some(Stage::Approved), None, Some("1.1"))).1, vec![Action::PublishUpdate]);
        assert_eq!(card(&input(Some(Stage::Rejected), None, Some("1.1"))).1, vec![Action::Resubmit]);
        assert_eq!(card(&input(Some(Stage::PublishFailed), None, Some("1.1"))).1, vec![Action::RetryPublish]);
        assert_eq!(
            card(&input(Some(Stage::UnderReview), None, Some("1.1"))).1,
            vec![Action::Withdraw, Action::Expedite, Action::CheckStatus]
        );
        let expedited = CardInput { expedited: true, ..input(Some(Stage::UnderReview), None, Some("1.1")) };
        assert!(!card(&expedited).1.contains(&Action::Expedite));
        let rollback = CardInput { can_roll_back: true, ..input(Some(Stage::Released), Some("1.1"), Some("1.1")) };
        assert_eq!(card(&rollback), (Badge::UpToDate, vec![Action::RollBack]));
    }

    #[test]
    fn review_results_move_only_a_mini_program_in_review() {
        let rejected = AuditResult::from_event("weapp_audit_fail", "blurry", "m1|m2").unwrap();
        assert_eq!(
            rejected,
            AuditResult::Rejected { reason: "blurry".into(), screenshots: vec!["m1".into(), "m2".into()] }
        );
        assert_eq!(rejected.next_stage(Stage::UnderReview), Some(Stage::Rejected));
        assert_eq!(rejected.next_stage(Stage::Delayed), Some(Stage::Rejected));
        assert_eq!(rejected.next_stage(Stage::Released), None, "a privacy-guide result changes nothing here");
        let delayed = AuditResult::from_status(4, "busy", "").unwrap();
        assert_eq!(delayed.next_stage(Stage::UnderReview), Some(Stage::Delayed));
        assert_eq!(delayed.next_stage(Stage::Delayed), None);
        assert_eq!(AuditResult::from_status(2, "", "").unwrap().next_stage(Stage::UnderReview), None);
        assert_eq!(AuditResult::from_status(0, "", "").unwrap().next_stage(Stage::Delayed), Some(Stage::Approved));
        assert_eq!(AuditResult::from_status(9, "", ""), None);
        assert_eq!(AuditResult::from_event("weapp_audit_other", "", ""), None);
    }

    #[test]
    fn the_reason_loses_its_markup_but_keeps_its_lines() {
        let html = "1. The page <b>crashes</b><br>2. Use &lt;real&gt; data<br/><script>alert(1)</script>";
        assert_eq!(reason_lines(html), vec!["1. The page crashes", "2. Use <real> data", "alert(1)"]);
        assert_eq!(reason_lines("plain"), vec!["plain"]);
        assert_eq!(reason_lines("a < b"), vec!["a < b"]);
    }

    #[test]
    fn withdrawals_are_counted_by_china_day_and_month() {
        // 2026-11-24 16:30 UTC is 2026-11-25 00:30 in China: a new day there.
        let now = 1_795_538_600;
        let before_midnight = now - 3600;
        assert_eq!(withdrawals_left(&[before_midnight; 5], now), (5, 5));
        assert_eq!(withdrawals_left(&[now - 60; 5], now), (0, 5));
        assert_eq!(withdrawals_left(&[now - 60, now - 120], now), (3, 8));
        let last_month = china_month_start(now) - 10;
        assert_eq!(withdrawals_left(&[last_month; 10], now), (5, 10));
        let this_month: Vec<i64> = (1..=9).map(|d| china_month_start(now) + d * 3600).collect();
        assert_eq!(withdrawals_left(&this_month, now).1, 1);
        assert_eq!(withdrawals_left(&this_month, now).0, 1, "the month caps the day");
    }

    #[test]
    fn the_item_list_names_the_categories_set_at_most_five() {
        let cat = |f: i64, s: i64| AuditItem { first_id: f, second_id: s, ..Default::default() };
        let cats: Vec<_> = (1..=7).map(|i| cat(i, i * 10)).chain([cat(1, 10), cat(0, 3)]).collect();
        let items = item_list(&cats);
        assert_eq!(items.len(), 5);
        assert_eq!(items[0], cat(1, 10));
        assert!(item_list(&[cat(1, 10), cat(1, 10)]).len() == 1);
    }

    #[test]
    fn ext_json_is_a_string_naming_the_tenant_and_declaring_location_apis() {
        let apis = vec!["wx.getLocation".to_string(), "wx.chooseImage".into(), "getLocation".into()];
        let declared = required_private_infos(&apis);
        assert_eq!(declared, vec!["getLocation"]);
        let ext = ExtConfig { tenant_id: "t1", store_name: "Acme" };
        let v: serde_json::Value = serde_json::from_str(&ext_json("wx1", &ext, &declared)).unwrap();
        assert_eq!(v["extAppid"], "wx1");
        assert_eq!(v["ext"]["tenant_id"], "t1");
        assert_eq!(v["requiredPrivateInfos"][0], "getLocation");
        let none: serde_json::Value = serde_json::from_str(&ext_json("wx1", &ext, &[])).unwrap();
        assert!(none.get("requiredPrivateInfos").is_none());
    }

    #[test]
    fn the_privacy_scan_is_asked_again_with_backoff_then_given_up() {
        assert_eq!(scan_retry_after(0, 5, 8), Some(5));
        assert_eq!(scan_retry_after(3, 5, 8), Some(40));
        assert_eq!(scan_retry_after(7, 100, 8), Some(600));
        assert_eq!(scan_retry_after(8, 5, 8), None);
        let b = scan_blockers(&["wx.getLocation".into()], &["wx.chooseAddress".into()]);
        assert_eq!(b[0].key, "api_not_authorized");
        assert_eq!(b[1].args, vec![("api".to_string(), "wx.chooseAddress".to_string())]);
        assert_eq!(Blocker::from_stored(&Blocker::to_stored(&b)), b);
    }

    #[test]
    fn roll_back_needs_an_earlier_release_and_not_two_in_a_row() {
        assert_eq!(roll_back_target(&["release"]), None);
        assert_eq!(roll_back_target(&["release", "release"]), Some(0));
        assert_eq!(roll_back_target(&["release", "release", "rollback"]), None);
        assert_eq!(roll_back_target(&["release", "release", "rollback", "release"]), Some(1));
    }

    #[test]
    fn stages_read_back_what_they_store() {
        for s in [
            "submitting",
            "submit_failed",
            "under_review",
            "delayed",
            "approved",
            "rejected",
            "withdrawn",
            "publish_failed",
            "released",
        ] {
            assert_eq!(Stage::parse(s).map(Stage::as_str), Some(s));
        }
        for step in Step::ALL {
            assert_eq!(Step::parse(step.as_str()), Some(step));
        }
    }
}
