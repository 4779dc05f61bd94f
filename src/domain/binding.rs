//! Deciding what happens when an authorization comes back for a tenant (SPEC §3.2).

use super::failure::Failure;

/// What the console knows about the account that came back.
pub struct Returned<'a> {
    pub appid: &'a str,
    pub is_mini_program: bool,
    pub verified: bool,
    pub principal_name: &'a str,
    pub granted: &'a [i64],
}

/// What already exists.
pub struct Context<'a> {
    /// The permission sets the platform needs (operator configuration).
    pub required: &'a [i64],
    /// For a re-authorization: the AppID it is pinned to.
    pub pinned_appid: Option<&'a str>,
    /// The active binding of this AppID, if any: (tenant id, application).
    pub existing: Option<(&'a str, &'a str)>,
    pub tenant_id: &'a str,
    /// The legal subject of the tenant's linked official account, if one is linked.
    pub linked_oa_subject: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// An official account was picked instead of a mini program.
    NotMiniProgram,
    /// The mini program is not verified on WeChat.
    Unverified,
    /// Some permission sets the platform needs were not granted.
    MissingSets(Vec<i64>),
    /// A re-authorization came back with another AppID.
    DifferentAppid,
    /// The AppID is bound to another tenant.
    BoundToAnotherTenant,
    /// The AppID is bound to another application of the platform.
    BoundToAnotherApplication,
    /// Bound (or still bound, on re-authorization); `subject_differs` warns that the
    /// mini program and the linked official account cannot jump to each other.
    Bound { subject_differs: bool },
}

impl Outcome {
    pub fn is_bound(&self) -> bool {
        matches!(self, Self::Bound { .. })
    }
}

/// How an authorization that came back ended: stored on its single-use `state` and
/// shown on the result page (and in the polled fragment while it is still pending).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthOutcome {
    /// A tenant's authorization, decided by [`decide`].
    Decided(Outcome),
    /// An operator added an account to the platform (not tied to a tenant).
    PlatformAuthorized,
    /// Talking to WeChat (or saving the result) failed.
    Failed(Failure),
    /// A tenant's official account authorization, decided by `official_account::decide`.
    Official(super::official_account::OaOutcome),
}

impl AuthOutcome {
    /// The stored discriminant; the set is CHECKed in SQL (`auth_states.result`).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Decided(Outcome::NotMiniProgram) => "not_mini_program",
            Self::Decided(Outcome::Unverified) => "unverified",
            Self::Decided(Outcome::MissingSets(_)) => "missing_sets",
            Self::Decided(Outcome::DifferentAppid) => "different_appid",
            Self::Decided(Outcome::BoundToAnotherTenant) => "other_tenant",
            Self::Decided(Outcome::BoundToAnotherApplication) => "other_application",
            Self::Decided(Outcome::Bound { subject_differs: false }) => "bound",
            Self::Decided(Outcome::Bound { subject_differs: true }) => "bound_subject_differs",
            Self::PlatformAuthorized => "authorized",
            Self::Failed(_) => "failed",
            Self::Official(o) => o.kind(),
        }
    }

    /// Rebuilds an outcome from its stored parts; None for a kind this version does not know.
    pub fn from_parts(kind: &str, sets: &[i64], failure: Option<Failure>) -> Option<Self> {
        Some(match kind {
            "not_mini_program" => Self::Decided(Outcome::NotMiniProgram),
            "unverified" => Self::Decided(Outcome::Unverified),
            "missing_sets" => Self::Decided(Outcome::MissingSets(sets.to_vec())),
            "different_appid" => Self::Decided(Outcome::DifferentAppid),
            "other_tenant" => Self::Decided(Outcome::BoundToAnotherTenant),
            "other_application" => Self::Decided(Outcome::BoundToAnotherApplication),
            "bound" => Self::Decided(Outcome::Bound { subject_differs: false }),
            "bound_subject_differs" => Self::Decided(Outcome::Bound { subject_differs: true }),
            "authorized" => Self::PlatformAuthorized,
            "failed" => Self::Failed(failure.unwrap_or(Failure::Database)),
            other => Self::Official(super::official_account::OaOutcome::from_kind(other, sets)?),
        })
    }
}

/// Who an authorization link was made for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthPurpose {
    /// An operator adds an account to the platform.
    Platform,
    /// A tenant binds its dedicated mini program.
    Tenant,
    /// A tenant authorizes its official account (`auth_type=1`).
    OfficialAccount,
}

impl AuthPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Platform => "platform",
            Self::Tenant => "tenant",
            Self::OfficialAccount => "official_account",
        }
    }
}

impl TryFrom<String> for AuthPurpose {
    type Error = UnknownValue;
    fn try_from(s: String) -> Result<Self, UnknownValue> {
        match s.as_str() {
            "platform" => Ok(Self::Platform),
            "tenant" => Ok(Self::Tenant),
            "official_account" => Ok(Self::OfficialAccount),
            _ => Err(UnknownValue(s)),
        }
    }
}

/// Where a tenant's binding stands. A binding is never deleted: it ends as unbound or revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindingStatus {
    Active,
    /// The tenant unbound it in the console.
    Unbound,
    /// WeChat said the administrator withdrew the authorization.
    Revoked,
}

impl BindingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Unbound => "unbound",
            Self::Revoked => "revoked",
        }
    }
}

impl TryFrom<String> for BindingStatus {
    type Error = UnknownValue;
    fn try_from(s: String) -> Result<Self, UnknownValue> {
        Ok(match s.as_str() {
            "active" => Self::Active,
            "unbound" => Self::Unbound,
            "revoked" => Self::Revoked,
            _ => return Err(UnknownValue(s)),
        })
    }
}

/// A stored value outside the set this version knows (the CHECK constraints keep these out).
#[derive(Debug, thiserror::Error)]
#[error("unknown stored value {0:?}")]
pub struct UnknownValue(pub String);

/// The store application of the platform (seed 000: ShareOrder).
pub const APPLICATION: &str = "store";

pub fn decide(r: &Returned<'_>, c: &Context<'_>) -> Outcome {
    if let Some(pinned) = c.pinned_appid
        && pinned != r.appid
    {
        return Outcome::DifferentAppid;
    }
    if !r.is_mini_program {
        return Outcome::NotMiniProgram;
    }
    if !r.verified {
        return Outcome::Unverified;
    }
    let missing: Vec<i64> = c.required.iter().copied().filter(|id| !r.granted.contains(id)).collect();
    if !missing.is_empty() {
        return Outcome::MissingSets(missing);
    }
    match c.existing {
        Some((tenant, _)) if tenant != c.tenant_id => return Outcome::BoundToAnotherTenant,
        Some((_, application)) if application != APPLICATION => return Outcome::BoundToAnotherApplication,
        _ => {}
    }
    let subject_differs =
        c.linked_oa_subject.is_some_and(|s| !s.trim().is_empty() && s.trim() != r.principal_name.trim());
    Outcome::Bound { subject_differs }
}

/// Names of the mini program permission sets (reference §1.12), as catalog keys.
pub fn set_name_key(id: i64) -> String {
    format!("permission.set_{id}")
}

/// The stored form of a list of set ids: "17,18,19".
pub fn join_ids(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

/// Parses the operator's "17,18,…" list, ignoring anything that is not a number.
pub fn parse_ids(s: &str) -> Vec<i64> {
    let mut ids: Vec<i64> = s.split([',', ' ', '|']).filter_map(|p| p.trim().parse().ok()).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [i64; 7] = [17, 18, 19, 25, 30, 31, 40];

    fn mp(granted: &[i64]) -> Returned<'_> {
        Returned { appid: "wxA", is_mini_program: true, verified: true, principal_name: "Acme", granted }
    }

    fn ctx<'a>() -> Context<'a> {
        Context { required: &ALL, pinned_appid: None, existing: None, tenant_id: "t1", linked_oa_subject: None }
    }

    #[test]
    fn a_verified_mini_program_with_every_set_is_bound() {
        assert_eq!(decide(&mp(&ALL), &ctx()), Outcome::Bound { subject_differs: false });
    }

    #[test]
    fn official_accounts_and_unverified_mini_programs_are_refused() {
        let oa = Returned { is_mini_program: false, ..mp(&ALL) };
        assert_eq!(decide(&oa, &ctx()), Outcome::NotMiniProgram);
        let unverified = Returned { verified: false, ..mp(&ALL) };
        assert_eq!(decide(&unverified, &ctx()), Outcome::Unverified);
    }

    #[test]
    fn missing_sets_are_named() {
        assert_eq!(decide(&mp(&[17, 18, 19, 25, 31]), &ctx()), Outcome::MissingSets(vec![30, 40]));
    }

    #[test]
    fn an_appid_bound_elsewhere_is_refused() {
        let other_tenant = Context { existing: Some(("t2", APPLICATION)), ..ctx() };
        assert_eq!(decide(&mp(&ALL), &other_tenant), Outcome::BoundToAnotherTenant);
        let other_app = Context { existing: Some(("t1", "marketing")), ..ctx() };
        assert_eq!(decide(&mp(&ALL), &other_app), Outcome::BoundToAnotherApplication);
        let same = Context { existing: Some(("t1", APPLICATION)), ..ctx() };
        assert!(decide(&mp(&ALL), &same).is_bound());
    }

    #[test]
    fn reauthorization_must_return_the_pinned_appid() {
        let pinned = Context { pinned_appid: Some("wxB"), ..ctx() };
        assert_eq!(decide(&mp(&ALL), &pinned), Outcome::DifferentAppid);
    }

    #[test]
    fn a_different_subject_from_the_linked_official_account_binds_with_a_warning() {
        let linked = Context { linked_oa_subject: Some("Other Ltd"), ..ctx() };
        assert_eq!(decide(&mp(&ALL), &linked), Outcome::Bound { subject_differs: true });
        let same = Context { linked_oa_subject: Some("Acme"), ..ctx() };
        assert_eq!(decide(&mp(&ALL), &same), Outcome::Bound { subject_differs: false });
    }

    #[test]
    fn every_outcome_survives_the_round_trip_through_its_stored_form() {
        let all = [
            AuthOutcome::Decided(Outcome::NotMiniProgram),
            AuthOutcome::Decided(Outcome::Unverified),
            AuthOutcome::Decided(Outcome::MissingSets(vec![30, 40])),
            AuthOutcome::Decided(Outcome::DifferentAppid),
            AuthOutcome::Decided(Outcome::BoundToAnotherTenant),
            AuthOutcome::Decided(Outcome::BoundToAnotherApplication),
            AuthOutcome::Decided(Outcome::Bound { subject_differs: false }),
            AuthOutcome::Decided(Outcome::Bound { subject_differs: true }),
            AuthOutcome::PlatformAuthorized,
            AuthOutcome::Failed(Failure::Errcode(61010)),
        ];
        for o in all {
            let sets = match &o {
                AuthOutcome::Decided(Outcome::MissingSets(s)) => s.clone(),
                _ => vec![],
            };
            let failure = match &o {
                AuthOutcome::Failed(f) => Some(*f),
                _ => None,
            };
            assert_eq!(AuthOutcome::from_parts(o.kind(), &sets, failure), Some(o));
        }
        assert_eq!(AuthOutcome::from_parts("error: old text", &[], None), None);
    }

    #[test]
    fn id_lists_parse_leniently() {
        assert_eq!(parse_ids("18, 17,x,18|40"), vec![17, 18, 40]);
    }
}
