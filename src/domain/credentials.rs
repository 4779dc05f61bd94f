//! Rules of credentials besides the password itself: password-reset links and recovery codes.

/// How long a "Forgot password?" link works.
pub const RESET_TTL_SECS: i64 = 3600;

/// How many recovery codes a second factor comes with.
pub const RECOVERY_CODES: usize = 10;
/// The alphabet of recovery codes (Crockford's base 32: no i, l, o, u).
pub const RECOVERY_ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
/// Characters of a recovery code (12 × 5 bits = 60 random bits).
pub const RECOVERY_LEN: usize = 12;

/// Where a reset link stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    Valid,
    Expired,
    Used,
}

pub fn link_state(used_at: Option<i64>, expires_at: i64, now: i64) -> LinkState {
    match used_at {
        Some(_) => LinkState::Used,
        None if expires_at <= now => LinkState::Expired,
        None => LinkState::Valid,
    }
}

/// Shows a recovery code in groups of four: `abcd-efgh-jkmn`.
pub fn format_recovery(code: &str) -> String {
    let chars: Vec<char> = code.chars().collect();
    chars.chunks(4).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join("-")
}

/// A recovery code as typed (any case, spaces or dashes, the look-alikes of Crockford's
/// alphabet) in its stored form, or `None` when it cannot be one.
pub fn normalize_recovery(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_lowercase() {
            'i' | 'l' => '1',
            'o' => '0',
            other => other,
        })
        .collect();
    (code.len() == RECOVERY_LEN && code.bytes().all(|b| RECOVERY_ALPHABET.contains(&b))).then_some(code)
}

/// A TOTP code as typed (spaces allowed), when it is six digits.
pub fn normalize_totp(typed: &str) -> Option<String> {
    let code: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    (code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())).then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reset_link_works_once_within_the_hour() {
        assert_eq!(link_state(None, 100 + RESET_TTL_SECS, 100), LinkState::Valid);
        assert_eq!(link_state(None, 100 + RESET_TTL_SECS, 100 + RESET_TTL_SECS), LinkState::Expired);
        assert_eq!(link_state(Some(120), 100 + RESET_TTL_SECS, 130), LinkState::Used);
    }

    #[test]
    fn recovery_codes_are_read_forgivingly() {
        assert_eq!(format_recovery("abcdefghjkmn"), "abcd-efgh-jkmn");
        assert_eq!(normalize_recovery(" ABCD-efgh-JKMN ").as_deref(), Some("abcdefghjkmn"));
        assert_eq!(normalize_recovery("abcd efgh jkm0").as_deref(), Some("abcdefghjkm0"));
        assert_eq!(normalize_recovery("abcd-efgh-jkmO").as_deref(), Some("abcdefghjkm0"), "O reads as zero");
        assert_eq!(normalize_recovery("abcd-efgh-jkmu"), None, "u is not in the alphabet");
        assert_eq!(normalize_recovery("abcd-efgh"), None);
        assert_eq!(normalize_totp(" 123 456 ").as_deref(), Some("123456"));
        assert_eq!(normalize_totp("12345a"), None);
    }
}
