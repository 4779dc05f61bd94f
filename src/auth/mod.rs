//! Who is asking: passwords, the second factor, the cookie session, CSRF, the random
//! tokens of e-mailed links, and the extractors handlers use.

pub mod csrf;
pub mod password;
pub mod session;
pub mod token;
pub mod totp;

pub use session::{CurrentTenant, CurrentUser, MaybeUser, Operator, TypedSession};
