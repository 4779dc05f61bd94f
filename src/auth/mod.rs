//! Who is asking: passwords, the cookie session, CSRF, and the extractors handlers use.

pub mod csrf;
pub mod password;
pub mod session;

pub use session::{CurrentTenant, CurrentUser, MaybeUser, Operator, TypedSession};
