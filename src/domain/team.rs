//! A workspace's team (SPEC §3.9): admins and members, invitations, and the rule that a
//! workspace always keeps an admin.

/// What a member may do: admins manage the team; members use the workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    Member,
}

impl Role {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Self::Admin),
            "member" => Some(Self::Member),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Member => "member",
        }
    }

    pub const ALL: [Role; 2] = [Role::Admin, Role::Member];
}

/// How long an invitation link works.
pub const INVITATION_TTL_SECS: i64 = 7 * 86400;

/// A change to the team that someone asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Invite, send again or revoke an invitation.
    Invitations,
    /// Remove another member.
    Remove { target: Role },
    /// Leave the workspace oneself.
    Leave,
    /// Give a member (possibly oneself) another role.
    SetRole { target: Role, to: Role },
}

/// Why a change is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Only admins manage the team.
    NotAdmin,
    /// The workspace would be left without an admin.
    LastAdmin,
}

/// Decides a change asked by a member with role `actor` in a workspace with `admins` admins.
pub fn check(change: Change, actor: Role, admins: usize) -> Result<(), Refusal> {
    let would_lose_an_admin = match change {
        Change::Invitations => false,
        Change::Remove { target } => target == Role::Admin,
        Change::Leave => actor == Role::Admin,
        Change::SetRole { target, to } => target == Role::Admin && to == Role::Member,
    };
    let needs_admin = !matches!(change, Change::Leave);
    if needs_admin && actor != Role::Admin {
        return Err(Refusal::NotAdmin);
    }
    if would_lose_an_admin && admins <= 1 {
        return Err(Refusal::LastAdmin);
    }
    Ok(())
}

/// Where an invitation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationState {
    Pending,
    Expired,
    Accepted,
    Revoked,
}

impl InvitationState {
    pub fn of(accepted_at: Option<i64>, revoked_at: Option<i64>, expires_at: i64, now: i64) -> Self {
        match (accepted_at, revoked_at) {
            (Some(_), _) => Self::Accepted,
            (None, Some(_)) => Self::Revoked,
            (None, None) if expires_at <= now => Self::Expired,
            (None, None) => Self::Pending,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Expired => "expired",
            Self::Accepted => "accepted",
            Self::Revoked => "revoked",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Role::{Admin, Member};

    #[test]
    fn only_admins_manage_the_team() {
        assert_eq!(check(Change::Invitations, Member, 1), Err(Refusal::NotAdmin));
        assert_eq!(check(Change::Remove { target: Member }, Member, 1), Err(Refusal::NotAdmin));
        assert_eq!(
            check(Change::SetRole { target: Member, to: Admin }, Member, 1),
            Err(Refusal::NotAdmin),
            "a member cannot make themselves admin"
        );
        assert_eq!(check(Change::Invitations, Admin, 1), Ok(()));
        assert_eq!(check(Change::Remove { target: Member }, Admin, 1), Ok(()));
    }

    #[test]
    fn the_last_admin_stays() {
        assert_eq!(check(Change::Leave, Admin, 1), Err(Refusal::LastAdmin));
        assert_eq!(check(Change::Leave, Admin, 2), Ok(()));
        assert_eq!(check(Change::Leave, Member, 1), Ok(()), "a member may always leave");
        assert_eq!(check(Change::Remove { target: Admin }, Admin, 1), Err(Refusal::LastAdmin));
        assert_eq!(check(Change::Remove { target: Admin }, Admin, 2), Ok(()));
        let demote_self = Change::SetRole { target: Admin, to: Member };
        assert_eq!(check(demote_self, Admin, 1), Err(Refusal::LastAdmin));
        assert_eq!(check(demote_self, Admin, 2), Ok(()));
        assert_eq!(check(Change::SetRole { target: Member, to: Admin }, Admin, 1), Ok(()));
    }

    #[test]
    fn invitations_expire_and_end_once() {
        assert_eq!(InvitationState::of(None, None, 100, 99), InvitationState::Pending);
        assert_eq!(InvitationState::of(None, None, 100, 100), InvitationState::Expired);
        assert_eq!(InvitationState::of(Some(50), None, 100, 200), InvitationState::Accepted);
        assert_eq!(InvitationState::of(None, Some(50), 100, 60), InvitationState::Revoked);
    }
}
