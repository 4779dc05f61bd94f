//! The second factor: time-based one-time passwords (RFC 6238: SHA-1, six digits, 30 s),
//! as every authenticator app reads them from an `otpauth://` QR code.
//!
//! The secret is sealed at rest (`crate::secrets::Sealer`) and never logged: `Totp` has no
//! `Debug`.

use totp_rs::{Algorithm, TOTP};

const DIGITS: usize = 6;
const STEP_SECS: u64 = 30;
/// A code of the previous or the next step is accepted too (clocks drift).
const SKEW_STEPS: i64 = 1;
/// The name the authenticator app shows above the account.
pub const ISSUER: &str = "minihost";

/// A new random secret (160 bits, as RFC 4226 recommends), base 32 without padding.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 20];
    rand::fill(&mut bytes);
    totp_rs::Secret::Raw(bytes.to_vec()).to_encoded().to_string()
}

pub struct Totp(TOTP);

impl Totp {
    /// The generator for a stored base-32 secret and the account it belongs to.
    pub fn new(secret_base32: &str, account: &str) -> Option<Self> {
        let bytes = totp_rs::Secret::Encoded(secret_base32.to_string()).to_bytes().ok()?;
        // The otpauth label may not contain ':'.
        let account = account.replace(':', "");
        TOTP::new(Algorithm::SHA1, DIGITS, 1, STEP_SECS, bytes, Some(ISSUER.to_string()), account).ok().map(Self)
    }

    /// The `otpauth://totp/...` URL an authenticator app reads from the QR code.
    pub fn otpauth_url(&self) -> String {
        self.0.get_url()
    }

    /// The secret in base 32, grouped by four for typing it by hand.
    pub fn secret_for_typing(&self) -> String {
        let plain = self.0.get_secret_base32();
        plain.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(" ")
    }

    /// The code of the step `now` falls in (tests and the enrolment preview).
    pub fn code_at(&self, now: i64) -> String {
        self.0.generate(u64::try_from(now).unwrap_or_default())
    }

    /// The time step `code` belongs to, when it is right for `now` (give or take a step)
    /// and later than `after_step`, the step of the last code used: a code works once.
    pub fn verify(&self, code: &str, now: i64, after_step: i64) -> Option<i64> {
        let current = now.div_euclid(STEP_SECS as i64);
        (-SKEW_STEPS..=SKEW_STEPS).map(|d| current + d).filter(|step| *step > after_step).find(|step| {
            let at = u64::try_from(step * STEP_SECS as i64).unwrap_or_default();
            constant_time_eq(self.0.generate(at).as_bytes(), code.as_bytes())
        })
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_test_vector() {
        // RFC 6238 appendix B, SHA-1: the secret "12345678901234567890", 59 s → 94287082 (8
        // digits); the last six digits are the six-digit code.
        let secret = totp_rs::Secret::Raw(b"12345678901234567890".to_vec()).to_encoded().to_string();
        let totp = Totp::new(&secret, "ops@example.com").unwrap();
        assert_eq!(totp.code_at(59), "287082");
        assert_eq!(totp.code_at(1111111109), "081804");
    }

    #[test]
    fn a_code_is_accepted_once_and_within_a_step_of_now() {
        let totp = Totp::new(&new_secret(), "a@b.example").unwrap();
        let now = 1_700_000_000;
        let code = totp.code_at(now);
        let step = totp.verify(&code, now, 0).expect("right now");
        assert_eq!(totp.verify(&code, now, step), None, "not twice");
        assert!(totp.verify(&code, now + 30, 0).is_some(), "a step late is fine");
        assert_eq!(totp.verify(&code, now + 90, 0), None, "three steps late is not");
        assert_eq!(totp.verify("000000", now, 0).is_some(), code == "000000");
    }

    #[test]
    fn the_url_names_the_issuer_and_the_account() {
        let totp = Totp::new(&new_secret(), "ops@example.com").unwrap();
        let url = totp.otpauth_url();
        assert!(url.starts_with("otpauth://totp/minihost:ops%40example.com?secret="), "{url}");
        assert!(url.contains("issuer=minihost"));
        assert_eq!(totp.secret_for_typing().replace(' ', "").len(), 32);
    }
}
