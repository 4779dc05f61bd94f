//! A workspace's team (SPEC §3.9): inviting colleagues by e-mail, accepting an invitation
//! by signing up or logging in, roles, removing members and leaving, with the rule that a
//! workspace always keeps an admin (`domain::team`).
//!
//! Every change is one transaction that first locks the tenant's team (`db::tenants::lock_team`),
//! reads the asker's role in SQL, decides, changes, and writes its audit row.

use serde_json::json;

use super::accounts::{self, Client, NewAccount, SignUp};
use crate::auth::token;
use crate::db::{self, DbConn, audit, invitations::Invitation, models::User};
use crate::domain::session::Timeouts;
use crate::domain::team::{self, Change, INVITATION_TTL_SECS, InvitationState, Refusal, Role};
use crate::domain::throttle::Limits;

type Db<T> = Result<T, diesel::result::Error>;

/// Why a team change is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TeamRefusal {
    /// The rule of `domain::team`.
    Rule(Refusal),
    /// No such member or open invitation in this workspace.
    NotFound,
    /// The address already belongs to a member.
    AlreadyMember,
    /// The address already has an invitation that has not expired.
    AlreadyInvited,
}

/// The workspace a change is made in, and who makes it.
pub struct TeamCtx<'a> {
    pub tenant_id: &'a str,
    pub tenant_name: &'a str,
    pub actor: &'a User,
    pub public_url: &'a str,
}

impl TeamCtx<'_> {
    fn audit_actor(&self) -> audit::Actor {
        audit::Actor::user(&self.actor.id, &self.actor.email)
    }

    fn audit(
        &self,
        conn: &mut DbConn,
        action: &str,
        subject: &str,
        before: Option<&serde_json::Value>,
        after: Option<&serde_json::Value>,
        now: i64,
    ) -> Db<()> {
        audit::write(
            conn,
            audit::Record {
                actor: &self.audit_actor(),
                tenant_id: Some(self.tenant_id),
                action,
                subject,
                before,
                after,
            },
            now,
        )
    }

    /// Locks the team, then decides the change by the asker's role and the admins left.
    fn decide(&self, conn: &mut DbConn, change: Change) -> Db<Result<(), TeamRefusal>> {
        db::tenants::lock_team(conn, self.tenant_id)?;
        let Some(actor) = db::tenants::role_of(conn, self.tenant_id, &self.actor.id)?.and_then(|r| Role::parse(&r))
        else {
            return Ok(Err(TeamRefusal::NotFound));
        };
        let admins = usize::try_from(db::tenants::admin_count(conn, self.tenant_id)?).unwrap_or(0);
        Ok(team::check(change, actor, admins).map_err(TeamRefusal::Rule))
    }

    fn send_invitation(&self, conn: &mut DbConn, email: &str, role: Role, token: &str, now: i64) -> Db<()> {
        let link = format!("{}/invitations/{token}", self.public_url);
        let days = (INVITATION_TTL_SECS / 86400).to_string();
        let role_key = format!("role.{}", role.as_str());
        let (role_en, role_zh) = (crate::i18n::Locale::En.t(&role_key), crate::i18n::Locale::ZhCn.t(&role_key));
        db::outbox::to_address(
            conn,
            email,
            "email.invitation",
            &[
                ("inviter", &self.actor.name),
                ("tenant", self.tenant_name),
                ("link", &link),
                ("days", &days),
                ("role_en", &role_en),
                ("role_zh", &role_zh),
            ],
            now,
        )
    }
}

/// Invites `email` with `role`: an e-mail with a link valid for seven days. An expired
/// invitation of the same address is replaced.
pub fn invite(ctx: &TeamCtx<'_>, conn: &mut DbConn, email: &str, role: Role, now: i64) -> Db<Result<(), TeamRefusal>> {
    db::write_tx(conn, |conn| {
        if let Err(refused) = ctx.decide(conn, Change::Invitations)? {
            return Ok(Err(refused));
        }
        if db::tenants::role_of_email(conn, ctx.tenant_id, email)?.is_some() {
            return Ok(Err(TeamRefusal::AlreadyMember));
        }
        if let Some(open) = db::invitations::find_open_for_email(conn, ctx.tenant_id, email)? {
            if open.expires_at > now {
                return Ok(Err(TeamRefusal::AlreadyInvited));
            }
            db::invitations::revoke(conn, ctx.tenant_id, &open.id, now)?;
        }
        let (id, token) = (crate::new_id(), token::new_token());
        db::invitations::insert(
            conn,
            &db::invitations::NewInvitation {
                id: &id,
                tenant_id: ctx.tenant_id,
                email,
                role: role.as_str(),
                token_hash: &token::hash(&token),
                invited_by: &ctx.actor.id,
                expires_at: now + INVITATION_TTL_SECS,
            },
            now,
        )?;
        ctx.send_invitation(conn, email, role, &token, now)?;
        let after = json!({ "email": email, "role": role.as_str() });
        ctx.audit(conn, "team.invited", &format!("invitation:{id}"), None, Some(&after), now)?;
        Ok(Ok(()))
    })
}

/// "Send again": a new link (the old one stops working) and a new week.
pub fn resend(ctx: &TeamCtx<'_>, conn: &mut DbConn, invitation_id: &str, now: i64) -> Db<Result<(), TeamRefusal>> {
    db::write_tx(conn, |conn| {
        if let Err(refused) = ctx.decide(conn, Change::Invitations)? {
            return Ok(Err(refused));
        }
        let Some(open) = db::invitations::find_open(conn, ctx.tenant_id, invitation_id)? else {
            return Ok(Err(TeamRefusal::NotFound));
        };
        let token = token::new_token();
        db::invitations::renew(conn, ctx.tenant_id, &open.id, &token::hash(&token), now, now + INVITATION_TTL_SECS)?;
        let role = Role::parse(&open.role).unwrap_or(Role::Member);
        ctx.send_invitation(conn, &open.email, role, &token, now)?;
        let before = json!({ "expires_at": open.expires_at });
        let after = json!({ "email": open.email, "expires_at": now + INVITATION_TTL_SECS });
        ctx.audit(
            conn,
            "team.invitation_sent_again",
            &format!("invitation:{}", open.id),
            Some(&before),
            Some(&after),
            now,
        )?;
        Ok(Ok(()))
    })
}

pub fn revoke(ctx: &TeamCtx<'_>, conn: &mut DbConn, invitation_id: &str, now: i64) -> Db<Result<(), TeamRefusal>> {
    db::write_tx(conn, |conn| {
        if let Err(refused) = ctx.decide(conn, Change::Invitations)? {
            return Ok(Err(refused));
        }
        let Some(open) = db::invitations::find_open(conn, ctx.tenant_id, invitation_id)? else {
            return Ok(Err(TeamRefusal::NotFound));
        };
        db::invitations::revoke(conn, ctx.tenant_id, &open.id, now)?;
        let before = json!({ "email": open.email, "role": open.role });
        ctx.audit(conn, "team.invitation_revoked", &format!("invitation:{}", open.id), Some(&before), None, now)?;
        Ok(Ok(()))
    })
}

/// Removes another member (admins only; never the last admin).
pub fn remove(ctx: &TeamCtx<'_>, conn: &mut DbConn, user_id: &str, now: i64) -> Db<Result<String, TeamRefusal>> {
    db::write_tx(conn, |conn| {
        let target = db::tenants::role_of(conn, ctx.tenant_id, user_id)?.and_then(|r| Role::parse(&r));
        let Some(target) = target else {
            return Ok(Err(TeamRefusal::NotFound));
        };
        let change = if user_id == ctx.actor.id { Change::Leave } else { Change::Remove { target } };
        if let Err(refused) = ctx.decide(conn, change)? {
            return Ok(Err(refused));
        }
        let email = db::users::find(conn, user_id)?.map(|u| u.email).unwrap_or_default();
        db::tenants::remove_member(conn, ctx.tenant_id, user_id)?;
        let before = json!({ "email": email, "role": target.as_str() });
        ctx.audit(conn, "team.member_removed", &format!("user:{user_id}"), Some(&before), None, now)?;
        Ok(Ok(email))
    })
}

/// Leaves the workspace (never as its last admin).
pub fn leave(ctx: &TeamCtx<'_>, conn: &mut DbConn, now: i64) -> Db<Result<(), TeamRefusal>> {
    db::write_tx(conn, |conn| {
        if let Err(refused) = ctx.decide(conn, Change::Leave)? {
            return Ok(Err(refused));
        }
        let role = db::tenants::role_of(conn, ctx.tenant_id, &ctx.actor.id)?.unwrap_or_default();
        db::tenants::remove_member(conn, ctx.tenant_id, &ctx.actor.id)?;
        let before = json!({ "email": ctx.actor.email, "role": role });
        ctx.audit(conn, "team.member_left", &format!("user:{}", ctx.actor.id), Some(&before), None, now)?;
        Ok(Ok(()))
    })
}

/// Gives a member another role (admins only; the last admin keeps theirs).
pub fn set_role(
    ctx: &TeamCtx<'_>,
    conn: &mut DbConn,
    user_id: &str,
    to: Role,
    now: i64,
) -> Db<Result<(), TeamRefusal>> {
    db::write_tx(conn, |conn| {
        let target = db::tenants::role_of(conn, ctx.tenant_id, user_id)?.and_then(|r| Role::parse(&r));
        let Some(target) = target else {
            return Ok(Err(TeamRefusal::NotFound));
        };
        if let Err(refused) = ctx.decide(conn, Change::SetRole { target, to })? {
            return Ok(Err(refused));
        }
        if target == to {
            return Ok(Ok(()));
        }
        db::tenants::set_role(conn, ctx.tenant_id, user_id, to.as_str())?;
        let (before, after) = (json!({ "role": target.as_str() }), json!({ "role": to.as_str() }));
        ctx.audit(conn, "team.role_changed", &format!("user:{user_id}"), Some(&before), Some(&after), now)?;
        Ok(Ok(()))
    })
}

// ------------------------------------------------------------------ accepting

/// An invitation link as its page shows it.
pub struct OpenInvitation {
    pub invitation: Invitation,
    pub tenant_name: String,
}

/// The invitation behind a link, when it can still be accepted.
pub fn look_up(conn: &mut DbConn, token: &str, now: i64) -> Db<Option<OpenInvitation>> {
    let found = db::invitations::find_by_hash(conn, &token::hash(token))?;
    Ok(found.and_then(|(invitation, tenant_name)| {
        let state = InvitationState::of(invitation.accepted_at, invitation.revoked_at, invitation.expires_at, now);
        (state == InvitationState::Pending).then_some(OpenInvitation { invitation, tenant_name })
    }))
}

/// What accepting an invitation came to.
pub enum Accepted {
    Joined {
        tenant_id: String,
        tenant_name: String,
    },
    /// The signed-in user is already a member: nothing changes.
    AlreadyMember {
        tenant_id: String,
    },
    /// The invitation is for another address than the signed-in user's.
    OtherAddress {
        invited: String,
    },
    /// Expired, revoked, already accepted, or no such link.
    Gone,
}

fn join(conn: &mut DbConn, open: &OpenInvitation, user: &User, now: i64) -> Db<Accepted> {
    let inv = &open.invitation;
    if db::invitations::accept(conn, &inv.id, &user.id, now)? != 1 {
        return Ok(Accepted::Gone);
    }
    let role = Role::parse(&inv.role).unwrap_or(Role::Member);
    db::tenants::add_member(conn, &inv.tenant_id, &user.id, role.as_str(), now)?;
    audit::write(
        conn,
        audit::Record::<(), _> {
            actor: &audit::Actor::user(&user.id, &user.email),
            tenant_id: Some(&inv.tenant_id),
            action: "team.invitation_accepted",
            subject: &format!("invitation:{}", inv.id),
            before: None,
            after: Some(&json!({ "user": user.id, "email": user.email, "role": role.as_str() })),
        },
        now,
    )?;
    Ok(Accepted::Joined { tenant_id: inv.tenant_id.clone(), tenant_name: open.tenant_name.clone() })
}

/// Accepts an invitation as the signed-in `user`, whose address must be the invited one.
pub fn accept(conn: &mut DbConn, token: &str, user: &User, now: i64) -> Db<Accepted> {
    db::write_tx(conn, |conn| {
        let Some(open) = look_up(conn, token, now)? else {
            return Ok(Accepted::Gone);
        };
        if !open.invitation.email.eq_ignore_ascii_case(&user.email) {
            return Ok(Accepted::OtherAddress { invited: open.invitation.email });
        }
        if db::tenants::role_of(conn, &open.invitation.tenant_id, &user.id)?.is_some() {
            return Ok(Accepted::AlreadyMember { tenant_id: open.invitation.tenant_id });
        }
        join(conn, &open, user, now)
    })
}

/// What signing up through an invitation came to.
pub enum InvitedSignUp {
    Joined { session_id: String, tenant_id: String, tenant_name: String },
    EmailTaken,
    Limited { until: i64 },
    Gone,
}

/// Creates the account of the invited address and accepts the invitation, in one transaction.
#[expect(clippy::too_many_arguments, reason = "the workflow's inputs, each a plain value")]
pub fn sign_up_and_accept(
    conn: &mut DbConn,
    token: &str,
    name: &str,
    password_hash: &str,
    client: &Client,
    timeouts: &Timeouts,
    limits: &Limits,
    now: i64,
) -> Db<InvitedSignUp> {
    let result = db::write_tx(conn, |conn| {
        let Some(open) = look_up(conn, token, now)? else {
            return Ok(InvitedSignUp::Gone);
        };
        let email = open.invitation.email.clone();
        let account = NewAccount { email: &email, name, password_hash };
        let (user, session_id) = match accounts::create_account(conn, &account, client, timeouts, limits, now)? {
            SignUp::Created { user, session_id } => (user, session_id),
            SignUp::EmailTaken => return Ok(InvitedSignUp::EmailTaken),
            SignUp::Limited { until } => return Ok(InvitedSignUp::Limited { until }),
        };
        match join(conn, &open, &user, now)? {
            Accepted::Joined { tenant_id, tenant_name } => {
                Ok(InvitedSignUp::Joined { session_id, tenant_id, tenant_name })
            }
            _ => Err(diesel::result::Error::RollbackTransaction),
        }
    });
    match result {
        Err(diesel::result::Error::RollbackTransaction) => Ok(InvitedSignUp::Gone),
        Err(e) if db::is_unique_violation(&e) => Ok(InvitedSignUp::EmailTaken),
        other => other,
    }
}
