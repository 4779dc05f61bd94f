//! The workflows: what the console does, built from the protocol (`wechat`), the
//! queries (`db`) and the rules (`domain`). Routes and the job runner call these;
//! nothing here knows about HTTP requests or pages.
//!
//! * [`platform`]: platform credentials and authorizer tokens (leases, refresh, recovery)
//!   and every call made with them.
//! * [`authorization`]: starting and completing an authorization, binding a tenant's
//!   dedicated mini program.
//! * [`inbox`]: storing and applying WeChat's pushes; [`event_writer`] batches them into
//!   one transaction under load (group commit).
//! * [`accounts`] and [`team`]: sign-up and login steps, password reset and change, sessions,
//!   the second factor; a workspace's members and invitations.
//! * [`wallet`]: the Company Wallet: WeChat Pay's service provider and sub-merchants, Alipay,
//!   the AppID–merchant binding, payment readiness, the self-test and payment notifications.

pub mod accounts;
pub mod authorization;
pub mod campaigns;
pub mod event_writer;
pub mod inbox;
pub mod official_account;
pub mod pacing;
pub mod platform;
pub mod releases;
pub mod requirements;
pub mod team;
pub mod wallet;
// live selling (issue 13)
pub mod live_selling;
