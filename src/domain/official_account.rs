//! The tenant's official account (SPEC §3.5; seed 000 §1, §5; seed 002): deciding an
//! authorization that comes back, where the link with the dedicated mini program stands,
//! and the limits WeChat applies to links.

/// What the console knows about the account that came back from an official account
/// authorization (`auth_type=1`).
pub struct Returned<'a> {
    pub appid: &'a str,
    pub is_mini_program: bool,
    /// `service_type_info.id`: 0 and 1 subscription accounts, 2 service account.
    pub service_type: i32,
    pub verified: bool,
    pub principal_name: &'a str,
    pub granted: &'a [i64],
}

pub struct Context<'a> {
    /// The permission sets the platform needs of an official account (configuration; 33).
    pub required: &'a [i64],
    /// For a re-authorization: the AppID it is pinned to.
    pub pinned_appid: Option<&'a str>,
    /// The tenant holding this AppID as its active official account, if any.
    pub existing_tenant: Option<&'a str>,
    pub tenant_id: &'a str,
    /// The legal subject of the tenant's dedicated mini program, when one is bound.
    pub mini_program_subject: Option<&'a str>,
}

/// `service_type_info.id` of a service account (reference §1.9).
pub const SERVICE_ACCOUNT: i32 = 2;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OaOutcome {
    /// A mini program was picked.
    NotOfficialAccount,
    /// A subscription account: e-commerce needs a service account (seed 002).
    NotServiceAccount,
    /// Not verified on WeChat.
    Unverified,
    /// Some permission sets were not granted (33 is what linking needs).
    MissingSets(Vec<i64>),
    /// A re-authorization came back with another AppID.
    DifferentAppid,
    /// The official account is another tenant's.
    BoundToAnotherTenant,
    /// Bound; `subject_differs` warns that the mini program and the official account cannot
    /// jump to each other or share data.
    Bound { subject_differs: bool },
}

impl OaOutcome {
    /// The stored kind (CHECKed in SQL, `auth_states.result`).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NotOfficialAccount => "oa_not_official_account",
            Self::NotServiceAccount => "oa_not_service",
            Self::Unverified => "oa_unverified",
            Self::MissingSets(_) => "oa_missing_sets",
            Self::DifferentAppid => "oa_different_appid",
            Self::BoundToAnotherTenant => "oa_other_tenant",
            Self::Bound { subject_differs: false } => "oa_bound",
            Self::Bound { subject_differs: true } => "oa_bound_subject_differs",
        }
    }

    pub fn from_kind(kind: &str, sets: &[i64]) -> Option<Self> {
        Some(match kind {
            "oa_not_official_account" => Self::NotOfficialAccount,
            "oa_not_service" => Self::NotServiceAccount,
            "oa_unverified" => Self::Unverified,
            "oa_missing_sets" => Self::MissingSets(sets.to_vec()),
            "oa_different_appid" => Self::DifferentAppid,
            "oa_other_tenant" => Self::BoundToAnotherTenant,
            "oa_bound" => Self::Bound { subject_differs: false },
            "oa_bound_subject_differs" => Self::Bound { subject_differs: true },
            _ => return None,
        })
    }
}

/// Whether two legal subjects differ (either unknown: no warning).
pub fn subjects_differ(a: Option<&str>, b: Option<&str>) -> bool {
    match (a.map(str::trim), b.map(str::trim)) {
        (Some(a), Some(b)) if !a.is_empty() && !b.is_empty() => a != b,
        _ => false,
    }
}

pub fn decide(r: &Returned<'_>, c: &Context<'_>) -> OaOutcome {
    if let Some(pinned) = c.pinned_appid
        && pinned != r.appid
    {
        return OaOutcome::DifferentAppid;
    }
    if r.is_mini_program {
        return OaOutcome::NotOfficialAccount;
    }
    if r.service_type != SERVICE_ACCOUNT {
        return OaOutcome::NotServiceAccount;
    }
    if !r.verified {
        return OaOutcome::Unverified;
    }
    let missing: Vec<i64> = c.required.iter().copied().filter(|id| !r.granted.contains(id)).collect();
    if !missing.is_empty() {
        return OaOutcome::MissingSets(missing);
    }
    if c.existing_tenant.is_some_and(|t| t != c.tenant_id) {
        return OaOutcome::BoundToAnotherTenant;
    }
    OaOutcome::Bound { subject_differs: subjects_differ(c.mini_program_subject, Some(r.principal_name)) }
}

/// Where the link between the dedicated mini program and the official account stands,
/// from `wxamplinkget`'s `status` (1 linked, 2 waiting for the mini program's
/// administrator, 3 refused by them, 12 waiting for the official account's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    NotLinked,
    WaitingForOfficialAccount,
    WaitingForMiniProgram,
    Refused,
    Linked,
}

impl LinkState {
    pub fn from_status(status: Option<i64>) -> Self {
        match status {
            Some(1) => Self::Linked,
            Some(2) => Self::WaitingForMiniProgram,
            Some(3) => Self::Refused,
            Some(12) => Self::WaitingForOfficialAccount,
            _ => Self::NotLinked,
        }
    }

    /// Still moving: the page re-checks it in place.
    pub fn is_pending(self) -> bool {
        matches!(self, Self::WaitingForOfficialAccount | Self::WaitingForMiniProgram)
    }

    /// "Link" can be asked for (again).
    pub fn can_link(self) -> bool {
        matches!(self, Self::NotLinked | Self::Refused)
    }

    /// "Unlink" ends the link or withdraws the request.
    pub fn can_unlink(self) -> bool {
        matches!(self, Self::Linked | Self::WaitingForOfficialAccount | Self::WaitingForMiniProgram)
    }

    /// Catalog key of the state in words.
    pub fn key(self) -> &'static str {
        match self {
            Self::NotLinked => "official_account.link_state.not_linked",
            Self::WaitingForOfficialAccount => "official_account.link_state.waiting_oa",
            Self::WaitingForMiniProgram => "official_account.link_state.waiting_mp",
            Self::Refused => "official_account.link_state.refused",
            Self::Linked => "official_account.link_state.linked",
        }
    }
}

/// The limits WeChat applies to an official account's links. WeChat publishes them only
/// informally (community and press: 10 same-subject, 3 different-subject, 13 new links a
/// month), so they are configuration: `"same,different,per_month"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkLimits {
    pub same_subject: i64,
    pub different_subject: i64,
    pub per_month: i64,
}

impl LinkLimits {
    pub const DEFAULT: Self = Self { same_subject: 10, different_subject: 3, per_month: 13 };

    /// Parses `"10,3,13"`; anything else is the default.
    pub fn parse(s: &str) -> Self {
        let n: Vec<i64> = s.split(',').filter_map(|p| p.trim().parse().ok()).filter(|v| *v >= 0).collect();
        match n.as_slice() {
            [same, different, month] => Self { same_subject: *same, different_subject: *different, per_month: *month },
            _ => Self::DEFAULT,
        }
    }
}

/// The first second of the calendar month (UTC) containing `now`.
pub fn month_start(now: i64) -> i64 {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp(now) else { return 0 };
    t.replace_day(1)
        .map(|d| d.replace_time(time::Time::MIDNIGHT))
        .map(time::OffsetDateTime::unix_timestamp)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn returned<'a>(service_type: i32, verified: bool, granted: &'a [i64]) -> Returned<'a> {
        Returned {
            appid: "wxoa",
            is_mini_program: false,
            service_type,
            verified,
            principal_name: "Acme Trading Co., Ltd.",
            granted,
        }
    }

    fn ctx<'a>(existing: Option<&'a str>, mp: Option<&'a str>) -> Context<'a> {
        Context {
            required: &[33],
            pinned_appid: None,
            existing_tenant: existing,
            tenant_id: "t1",
            mini_program_subject: mp,
        }
    }

    #[test]
    fn each_refusal_and_the_subject_warning() {
        let all = [33];
        assert_eq!(decide(&returned(0, true, &all), &ctx(None, None)), OaOutcome::NotServiceAccount);
        assert_eq!(decide(&returned(2, false, &all), &ctx(None, None)), OaOutcome::Unverified);
        assert_eq!(decide(&returned(2, true, &[]), &ctx(None, None)), OaOutcome::MissingSets(vec![33]));
        assert_eq!(decide(&returned(2, true, &all), &ctx(Some("t2"), None)), OaOutcome::BoundToAnotherTenant);
        assert_eq!(
            decide(&returned(2, true, &all), &ctx(Some("t1"), Some("Acme Trading Co., Ltd."))),
            OaOutcome::Bound { subject_differs: false }
        );
        assert_eq!(
            decide(&returned(2, true, &all), &ctx(None, Some("Bright Harbor"))),
            OaOutcome::Bound { subject_differs: true }
        );
        let mut mp = returned(0, true, &all);
        mp.is_mini_program = true;
        assert_eq!(decide(&mp, &ctx(None, None)), OaOutcome::NotOfficialAccount);
        let pinned = Context { pinned_appid: Some("other"), ..ctx(None, None) };
        assert_eq!(decide(&returned(2, true, &all), &pinned), OaOutcome::DifferentAppid);
    }

    #[test]
    fn outcomes_round_trip_through_their_kind() {
        for o in [
            OaOutcome::NotOfficialAccount,
            OaOutcome::NotServiceAccount,
            OaOutcome::Unverified,
            OaOutcome::MissingSets(vec![33]),
            OaOutcome::DifferentAppid,
            OaOutcome::BoundToAnotherTenant,
            OaOutcome::Bound { subject_differs: false },
            OaOutcome::Bound { subject_differs: true },
        ] {
            assert_eq!(OaOutcome::from_kind(o.kind(), &[33]), Some(o));
        }
    }

    #[test]
    fn link_states_from_wechat_statuses() {
        assert_eq!(LinkState::from_status(Some(12)), LinkState::WaitingForOfficialAccount);
        assert!(LinkState::from_status(Some(2)).is_pending());
        assert!(LinkState::from_status(Some(3)).can_link());
        assert!(!LinkState::from_status(Some(1)).can_link());
        assert_eq!(LinkState::from_status(None), LinkState::NotLinked);
    }

    #[test]
    fn limits_are_parsed_with_a_default() {
        assert_eq!(LinkLimits::parse("5, 2, 7"), LinkLimits { same_subject: 5, different_subject: 2, per_month: 7 });
        assert_eq!(LinkLimits::parse("nonsense"), LinkLimits::DEFAULT);
        // 2026-12-07 01:40 UTC is in the month that began 2026-12-01 00:00 UTC.
        assert_eq!(month_start(1_796_607_600), 1_796_083_200);
    }
}

// ---- "Why are notifications not received?" (seed 000 §5) ----

/// A notification template the store application sends (operator configuration): the
/// library's short id (to add it), its title, and the fields the platform fills.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NeededTemplate {
    pub short_id: String,
    pub title: String,
    pub fields: Vec<String>,
}

/// The default needed templates: payment received and order shipped.
pub fn default_needed_templates() -> Vec<NeededTemplate> {
    let t = |short: &str, title: &str, fields: &[&str]| NeededTemplate {
        short_id: short.into(),
        title: title.into(),
        fields: fields.iter().map(|f| (*f).to_string()).collect(),
    };
    vec![
        t("TM00015", "订单支付成功", &["first", "orderMoneySum", "orderProductName", "Remark"]),
        t("OPENTM200565259", "订单发货提醒", &["first", "keyword1", "keyword2", "keyword3", "remark"]),
    ]
}

/// Parses the operator's JSON list; anything unreadable is the default.
pub fn parse_needed_templates(json: &str) -> Vec<NeededTemplate> {
    serde_json::from_str::<Vec<NeededTemplate>>(json)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(default_needed_templates)
}

/// A template on the official account: its title and the fields of its content.
pub struct AccountTemplate {
    pub title: String,
    pub fields: Vec<String>,
}

/// The needed templates the account lacks (by title).
pub fn missing_templates<'a>(needed: &'a [NeededTemplate], account: &[AccountTemplate]) -> Vec<&'a NeededTemplate> {
    needed.iter().filter(|n| !account.iter().any(|a| a.title == n.title)).collect()
}

/// For each needed template the account has, the fields the platform sends that the
/// account's template lacks: (title, missing fields), only where some are missing.
pub fn field_mismatches(needed: &[NeededTemplate], account: &[AccountTemplate]) -> Vec<(String, Vec<String>)> {
    needed
        .iter()
        .filter_map(|n| {
            let a = account.iter().find(|a| a.title == n.title)?;
            let lacking: Vec<String> = n.fields.iter().filter(|f| !a.fields.contains(f)).cloned().collect();
            (!lacking.is_empty()).then(|| (n.title.clone(), lacking))
        })
        .collect()
}

#[cfg(test)]
mod notification_tests {
    use super::*;

    #[test]
    fn templates_missing_and_fields_not_matching() {
        let needed = default_needed_templates();
        let account = vec![AccountTemplate {
            title: "订单发货提醒".into(),
            fields: vec!["first".into(), "keyword1".into(), "remark".into()],
        }];
        let missing: Vec<&str> = missing_templates(&needed, &account).iter().map(|n| n.short_id.as_str()).collect();
        assert_eq!(missing, ["TM00015"]);
        assert_eq!(
            field_mismatches(&needed, &account),
            [("订单发货提醒".to_string(), vec!["keyword2".to_string(), "keyword3".to_string()])]
        );
        assert_eq!(parse_needed_templates("not json"), needed);
    }
}
