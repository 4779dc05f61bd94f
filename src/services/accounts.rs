//! Accounts (SPEC §3.9): signing up and in, "Forgot password?", changing the password,
//! the sessions of a user, and the second factor (TOTP with recovery codes).
//!
//! Each change is one transaction with its audit row; e-mails are queued in the same
//! transaction. Refusals a person can act on are outcomes, not errors.

use serde_json::json;

use crate::auth::{password, token, totp};
use crate::db::{self, DbConn, audit, models::User, sessions::NewSession};
use crate::domain::credentials::{self, LinkState, RECOVERY_CODES, RESET_TTL_SECS};
use crate::domain::session::Timeouts;
use crate::domain::throttle::{self, Counted, Limits};
use crate::secrets::Sealer;

type Db<T> = Result<T, diesel::result::Error>;

/// Why an account workflow failed (never a refusal a person can act on).
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("database")]
    Db(#[from] diesel::result::Error),
    #[error(transparent)]
    Pool(#[from] db::DbError),
    /// A sealed second-factor secret did not open (the master key changed).
    #[error(transparent)]
    Sealed(#[from] crate::secrets::OpenError),
    #[error("the stored second-factor secret is not usable")]
    BadSecret,
}

/// Where a login comes from, recorded on its session and used for rate limits.
#[derive(Debug, Clone, Default)]
pub struct Client {
    pub ip: String,
    pub user_agent: String,
}

fn audit_user(conn: &mut DbConn, user: &User, action: &str, after: Option<&serde_json::Value>, now: i64) -> Db<()> {
    audit::write(
        conn,
        audit::Record::<(), _> {
            actor: &audit::Actor::user(&user.id, &user.email),
            tenant_id: None,
            action,
            subject: &format!("user:{}", user.id),
            before: None,
            after,
        },
        now,
    )
}

/// Signs `user` in on a new session row, inside the caller's transaction: the last step of
/// every way in. `via` says which ("password", "totp", "recovery_code", "sign_up",
/// "invitation") in the audit row. Returns the session id for the cookie.
pub fn open_session(
    conn: &mut DbConn,
    user: &User,
    client: &Client,
    timeouts: &Timeouts,
    via: &str,
    now: i64,
) -> Db<String> {
    let id = crate::new_id();
    db::sessions::insert(
        conn,
        &NewSession { id: &id, user_id: &user.id, user_agent: &client.user_agent, ip: &client.ip },
        timeouts,
        now,
    )?;
    audit_user(conn, user, "user.logged_in", Some(&json!({ "via": via, "ip": client.ip })), now)?;
    Ok(id)
}

// ------------------------------------------------------------------ sign-up

/// What a sign-up came to.
pub enum SignUp {
    /// The account exists and `session_id` signs it in.
    Created {
        user: User,
        session_id: String,
    },
    EmailTaken,
    /// Too many accounts from this address lately: try again at `until`.
    Limited {
        until: i64,
    },
}

/// The fields of a new account (already validated; the password already hashed).
pub struct NewAccount<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub password_hash: &'a str,
}

/// Creates an account and signs it in, inside the caller's transaction, counted against the
/// sign-up limit of the client's address.
pub fn create_account(
    conn: &mut DbConn,
    account: &NewAccount<'_>,
    client: &Client,
    timeouts: &Timeouts,
    limits: &Limits,
    now: i64,
) -> Db<SignUp> {
    let limit = limits.signup_per_address;
    let recent = db::rate::times_since(conn, Counted::SignupAddress, &client.ip, now - limit.window_secs)?;
    if let Some(until) = limit.blocked_until(&recent, now) {
        return Ok(SignUp::Limited { until });
    }
    if db::users::find_by_email(conn, account.email)?.is_some() {
        return Ok(SignUp::EmailTaken);
    }
    let id = crate::new_id();
    db::users::insert(
        conn,
        &db::models::NewUser {
            id: &id,
            email: account.email,
            name: account.name,
            password_hash: account.password_hash,
            is_operator: false,
            created_at: now,
        },
    )?;
    let user = db::users::find(conn, &id)?.ok_or(diesel::result::Error::NotFound)?;
    db::rate::record(conn, Counted::SignupAddress, &client.ip, now)?;
    audit_user(conn, &user, "user.signed_up", Some(&json!({ "email": user.email, "name": user.name })), now)?;
    let session_id = open_session(conn, &user, client, timeouts, "sign_up", now)?;
    Ok(SignUp::Created { user, session_id })
}

/// Signs up in one transaction (a race for one address is lost on the unique e-mail).
pub fn sign_up(
    conn: &mut DbConn,
    account: &NewAccount<'_>,
    client: &Client,
    timeouts: &Timeouts,
    limits: &Limits,
    now: i64,
) -> Db<SignUp> {
    match db::write_tx(conn, |conn| create_account(conn, account, client, timeouts, limits, now)) {
        Err(e) if db::is_unique_violation(&e) => Ok(SignUp::EmailTaken),
        other => other,
    }
}

// ------------------------------------------------------------------ forgot password

/// What a "Forgot password?" request came to. The person asking sees the same answer for
/// each: whether an account exists is not theirs to learn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetRequest {
    Sent,
    NoAccount,
    /// Over the limit for this address or e-mail: nothing sent.
    Limited,
}

/// Records the request against the limits and, for an existing account within them, queues
/// the e-mail with a link valid for an hour.
pub fn request_reset(
    conn: &mut DbConn,
    email: &str,
    ip: &str,
    limits: &Limits,
    public_url: &str,
    now: i64,
) -> Db<ResetRequest> {
    db::write_tx(conn, |conn| {
        let (account, address) = (limits.reset_per_account, limits.reset_per_address);
        let by_account = db::rate::times_since(conn, Counted::ResetAccount, email, now - account.window_secs)?;
        let by_address = db::rate::times_since(conn, Counted::ResetAddress, ip, now - address.window_secs)?;
        if throttle::later(account.blocked_until(&by_account, now), address.blocked_until(&by_address, now)).is_some() {
            return Ok(ResetRequest::Limited);
        }
        db::rate::record(conn, Counted::ResetAccount, email, now)?;
        db::rate::record(conn, Counted::ResetAddress, ip, now)?;
        let Some(user) = db::users::find_by_email(conn, email)? else {
            return Ok(ResetRequest::NoAccount);
        };
        let token = token::new_token();
        let expires_at = now + RESET_TTL_SECS;
        db::password_resets::insert(conn, &user.id, &token::hash(&token), now, expires_at)?;
        let link = format!("{public_url}/password/reset/{token}");
        let minutes = (RESET_TTL_SECS / 60).to_string();
        db::outbox::to_address(
            conn,
            &user.email,
            "email.password_reset",
            &[("name", &user.name), ("link", &link), ("minutes", &minutes)],
            now,
        )?;
        audit_user(conn, &user, "user.password_reset_requested", Some(&json!({ "expires_at": expires_at })), now)?;
        Ok(ResetRequest::Sent)
    })
}

/// Why a reset link does not work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRefused {
    Unknown,
    Expired,
    Used,
}

/// The account a reset link is for, when the link still works.
pub fn check_reset(conn: &mut DbConn, token: &str, now: i64) -> Db<Result<User, LinkRefused>> {
    let Some(reset) = db::password_resets::find_by_hash(conn, &token::hash(token))? else {
        return Ok(Err(LinkRefused::Unknown));
    };
    match credentials::link_state(reset.used_at, reset.expires_at, now) {
        LinkState::Used => return Ok(Err(LinkRefused::Used)),
        LinkState::Expired => return Ok(Err(LinkRefused::Expired)),
        LinkState::Valid => {}
    }
    Ok(db::users::find(conn, &reset.user_id)?.ok_or(LinkRefused::Unknown))
}

/// Sets a new password through a reset link: the link is used up, every other open link of
/// the user closed, every session of the user ended, and a notice e-mailed.
pub fn complete_reset(
    conn: &mut DbConn,
    token: &str,
    new_hash: &str,
    public_url: &str,
    now: i64,
) -> Db<Result<User, LinkRefused>> {
    db::write_tx(conn, |conn| {
        let user = match check_reset(conn, token, now)? {
            Ok(user) => user,
            Err(refused) => return Ok(Err(refused)),
        };
        let Some(reset) = db::password_resets::find_by_hash(conn, &token::hash(token))? else {
            return Ok(Err(LinkRefused::Unknown));
        };
        if db::password_resets::mark_used(conn, &reset.id, now)? != 1 {
            return Ok(Err(LinkRefused::Used));
        }
        db::users::set_password(conn, &user.id, new_hash)?;
        db::password_resets::close_all_for_user(conn, &user.id, now)?;
        let ended = db::sessions::delete_all_for_user(conn, &user.id)?;
        db::throttle::clear_for_email(conn, &user.email)?;
        password_changed_notice(conn, &user, public_url, now)?;
        audit_user(conn, &user, "user.password_reset", Some(&json!({ "sessions_ended": ended })), now)?;
        Ok(Ok(user))
    })
}

fn password_changed_notice(conn: &mut DbConn, user: &User, public_url: &str, now: i64) -> Db<()> {
    let url = format!("{public_url}/password/forgot");
    db::outbox::to_address(conn, &user.email, "email.password_changed", &[("name", &user.name), ("url", &url)], now)
}

// ------------------------------------------------------------------ change password and sessions

/// What "Change password" came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordChange {
    Changed {
        sessions_ended: usize,
    },
    WrongCurrent,
    /// Too many wrong passwords for this account lately (the login's lock).
    Locked {
        until: i64,
    },
}

/// Changes the password of a signed-in user who gave the current one: every other session
/// ends, this one stays. Wrong current passwords count as failed logins.
#[expect(clippy::too_many_arguments, reason = "the workflow's inputs, each a plain value")]
pub fn change_password(
    conn: &mut DbConn,
    user_id: &str,
    this_session: &str,
    current: &str,
    new_hash: &str,
    ip: &str,
    public_url: &str,
    now: i64,
) -> Db<PasswordChange> {
    let user = db::users::find(conn, user_id)?.ok_or(diesel::result::Error::NotFound)?;
    let recent = db::throttle::recent_failures(conn, &user.email, ip, now - throttle::WINDOW_SECS)?;
    if let Some(until) = throttle::locked_until(&recent.by_email, &recent.by_ip, now) {
        return Ok(PasswordChange::Locked { until });
    }
    if !password::verify(current, &user.password_hash) {
        db::write_tx(conn, |conn| db::throttle::record_failure(conn, &user.email, ip, now))?;
        return Ok(PasswordChange::WrongCurrent);
    }
    db::write_tx(conn, |conn| {
        db::users::set_password(conn, &user.id, new_hash)?;
        let ended = db::sessions::delete_others(conn, &user.id, this_session)?;
        db::password_resets::close_all_for_user(conn, &user.id, now)?;
        db::throttle::clear_for_email(conn, &user.email)?;
        password_changed_notice(conn, &user, public_url, now)?;
        audit_user(conn, &user, "user.password_changed", Some(&json!({ "sessions_ended": ended })), now)?;
        Ok(PasswordChange::Changed { sessions_ended: ended })
    })
}

/// Ends one of the user's sessions by its public id; `None` when the user has no such
/// session. Returns whether it was the session asking.
pub fn end_session(conn: &mut DbConn, user: &User, public_id: &str, this_session: &str, now: i64) -> Db<Option<bool>> {
    db::write_tx(conn, |conn| {
        let Some(row) = db::sessions::find_for_user(conn, &user.id, public_id)? else {
            return Ok(None);
        };
        db::sessions::delete_for_user(conn, &user.id, public_id)?;
        let after = json!({ "session": public_id, "ip": row.ip, "created_at": row.created_at });
        audit_user(conn, user, "user.session_ended", Some(&after), now)?;
        Ok(Some(row.session_id == this_session))
    })
}

/// Ends every session of the user but this one.
pub fn end_other_sessions(conn: &mut DbConn, user: &User, this_session: &str, now: i64) -> Db<usize> {
    db::write_tx(conn, |conn| {
        let ended = db::sessions::delete_others(conn, &user.id, this_session)?;
        audit_user(conn, user, "user.other_sessions_ended", Some(&json!({ "sessions_ended": ended })), now)?;
        Ok(ended)
    })
}

// ------------------------------------------------------------------ the second factor

/// Where a user's second factor stands.
pub enum TwoFactor {
    Off,
    /// Set up but not confirmed by a first code yet: what to scan or type.
    Enrolling {
        otpauth_url: String,
        secret: String,
    },
    On {
        since: i64,
        recovery_codes_left: i64,
    },
}

fn generator(sealer: &Sealer, sealed: &str, account: &str) -> Result<totp::Totp, AccountError> {
    let secret = sealer.open(sealed)?;
    totp::Totp::new(&secret, account).ok_or(AccountError::BadSecret)
}

pub fn two_factor(conn: &mut DbConn, sealer: &Sealer, user: &User) -> Result<TwoFactor, AccountError> {
    let Some(row) = db::two_factor::find(conn, &user.id)? else {
        return Ok(TwoFactor::Off);
    };
    match row.confirmed_at {
        Some(since) => {
            Ok(TwoFactor::On { since, recovery_codes_left: db::two_factor::recovery_codes_left(conn, &user.id)? })
        }
        None => {
            let generator = generator(sealer, &row.secret_enc, &user.email)?;
            Ok(TwoFactor::Enrolling { otpauth_url: generator.otpauth_url(), secret: generator.secret_for_typing() })
        }
    }
}

/// Starts (or starts over) setting up a second factor: a new secret, sealed. Refused (false)
/// when one is already on.
pub fn start_enrolment(conn: &mut DbConn, sealer: &Sealer, user: &User, now: i64) -> Db<bool> {
    db::write_tx(conn, |conn| {
        if db::two_factor::is_on(conn, &user.id)? {
            return Ok(false);
        }
        db::two_factor::replace_unconfirmed(conn, &user.id, &sealer.seal(&totp::new_secret()), now)?;
        audit_user(conn, user, "user.two_factor_setup_started", None, now)?;
        Ok(true)
    })
}

/// What confirming the set-up came to.
pub enum Confirmation {
    /// On: the recovery codes, shown this once.
    Confirmed {
        recovery_codes: Vec<String>,
    },
    WrongCode,
    NotEnrolling,
}

/// Confirms the set-up with a first code from the app; on success the second factor is on
/// and ten recovery codes are made (only their hashes are kept).
pub fn confirm_enrolment(
    conn: &mut DbConn,
    sealer: &Sealer,
    user: &User,
    code: &str,
    now: i64,
) -> Result<Confirmation, AccountError> {
    db::write_tx(conn, |conn| {
        let Some(row) = db::two_factor::find(conn, &user.id)?.filter(|r| r.confirmed_at.is_none()) else {
            return Ok(Confirmation::NotEnrolling);
        };
        let generator = generator(sealer, &row.secret_enc, &user.email)?;
        let Some(step) = credentials::normalize_totp(code).and_then(|c| generator.verify(&c, now, 0)) else {
            return Ok(Confirmation::WrongCode);
        };
        db::two_factor::confirm(conn, &user.id, step, now)?;
        let codes = new_recovery_codes(conn, &user.id, now)?;
        audit_user(conn, user, "user.two_factor_enabled", None, now)?;
        Ok(Confirmation::Confirmed { recovery_codes: codes })
    })
}

fn new_recovery_codes(conn: &mut DbConn, user_id: &str, now: i64) -> Db<Vec<String>> {
    let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| token::new_recovery_code()).collect();
    let hashes: Vec<String> = codes.iter().map(|c| token::hash(c)).collect();
    db::two_factor::replace_recovery_codes(conn, user_id, &hashes, now)?;
    Ok(codes.iter().map(|c| credentials::format_recovery(c)).collect())
}

/// Which proof a second-factor code was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    Totp,
    RecoveryCode,
    Wrong,
}

/// Checks and uses up a code (the app's six digits, or a recovery code) inside the caller's
/// transaction: a TOTP code's time step or a recovery code works once.
pub fn use_second_factor(
    conn: &mut DbConn,
    sealer: &Sealer,
    user: &User,
    typed: &str,
    now: i64,
) -> Result<Proof, AccountError> {
    let Some(row) = db::two_factor::find(conn, &user.id)?.filter(|r| r.confirmed_at.is_some()) else {
        return Ok(Proof::Wrong);
    };
    if let Some(code) = credentials::normalize_totp(typed) {
        let generator = generator(sealer, &row.secret_enc, &user.email)?;
        return Ok(match generator.verify(&code, now, row.last_step) {
            Some(step) if db::two_factor::use_step(conn, &user.id, step)? == 1 => Proof::Totp,
            _ => Proof::Wrong,
        });
    }
    if let Some(code) = credentials::normalize_recovery(typed)
        && db::two_factor::use_recovery_code(conn, &user.id, &token::hash(&code), now)? == 1
    {
        return Ok(Proof::RecoveryCode);
    }
    Ok(Proof::Wrong)
}

/// What the second step of a login came to.
pub enum CodeStep {
    SignedIn {
        user: User,
        session_id: String,
        via: Proof,
    },
    Wrong,
    Locked {
        until: i64,
    },
    /// The account is gone or has no second factor any more: start over.
    NoLogin,
}

/// The second step of a login: the code after the password. Wrong codes count as failed
/// logins of the account (five lock it for a while, like wrong passwords).
pub fn finish_login(
    conn: &mut DbConn,
    sealer: &Sealer,
    user_id: &str,
    typed: &str,
    client: &Client,
    timeouts: &Timeouts,
    now: i64,
) -> Result<CodeStep, AccountError> {
    let Some(user) = db::users::find(conn, user_id)? else {
        return Ok(CodeStep::NoLogin);
    };
    let recent = db::throttle::recent_failures(conn, &user.email, &client.ip, now - throttle::WINDOW_SECS)?;
    if let Some(until) = throttle::locked_until(&recent.by_email, &recent.by_ip, now) {
        return Ok(CodeStep::Locked { until });
    }
    if !db::two_factor::is_on(conn, &user.id)? {
        return Ok(CodeStep::NoLogin);
    }
    let step = db::write_tx(conn, |conn| -> Result<CodeStep, AccountError> {
        let via = use_second_factor(conn, sealer, &user, typed, now)?;
        if via == Proof::Wrong {
            return Ok(CodeStep::Wrong);
        }
        db::throttle::clear_for_email(conn, &user.email)?;
        let how = if via == Proof::Totp { "totp" } else { "recovery_code" };
        let session_id = open_session(conn, &user, client, timeouts, how, now)?;
        Ok(CodeStep::SignedIn { user: user.clone(), session_id, via })
    })?;
    if matches!(step, CodeStep::Wrong) {
        db::write_tx(conn, |conn| db::throttle::record_failure(conn, &user.email, &client.ip, now))?;
    }
    Ok(step)
}

/// What turning the second factor off came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disable {
    Disabled,
    WrongPassword,
    WrongCode,
    NotOn,
}

/// Turns the second factor off: needs the password and a code (the app's or a recovery code).
pub fn disable_two_factor(
    conn: &mut DbConn,
    sealer: &Sealer,
    user_id: &str,
    password_typed: &str,
    code: &str,
    now: i64,
) -> Result<Disable, AccountError> {
    let user = db::users::find(conn, user_id)?.ok_or(diesel::result::Error::NotFound)?;
    if !db::two_factor::is_on(conn, &user.id)? {
        return Ok(Disable::NotOn);
    }
    if !password::verify(password_typed, &user.password_hash) {
        return Ok(Disable::WrongPassword);
    }
    db::write_tx(conn, |conn| {
        if use_second_factor(conn, sealer, &user, code, now)? == Proof::Wrong {
            return Ok(Disable::WrongCode);
        }
        db::two_factor::delete(conn, &user.id)?;
        audit_user(conn, &user, "user.two_factor_disabled", None, now)?;
        Ok(Disable::Disabled)
    })
}
