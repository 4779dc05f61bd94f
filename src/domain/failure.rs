//! Why a step that talks to WeChat failed, in terms a page can explain. Stored with the
//! step's outcome (as a kind plus a code, see `as_parts`) and put into words only when a
//! page is rendered, in the reader's language.

/// A failure a person can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// WeChat answered with this errcode (its sentence comes from the errcode table).
    Errcode(i64),
    /// WeChat could not be reached (connection failed, timed out or dropped).
    Transport,
    /// WeChat answered with an HTTP error status.
    Http(u16),
    /// WeChat's answer was not what its documentation says.
    Decode,
    /// No component_verify_ticket has arrived yet, so no component token can be had.
    NoTicket,
    /// The account has revoked its authorization.
    Revoked,
    /// Another server is refreshing the same credential and did not finish in time.
    LeaseTimeout,
    /// The console's own database failed.
    Database,
}

impl Failure {
    /// The stored form: a kind (one of a fixed set, CHECKed in SQL) and an optional number.
    pub fn as_parts(self) -> (&'static str, Option<i64>) {
        match self {
            Self::Errcode(code) => ("errcode", Some(code)),
            Self::Transport => ("transport", None),
            Self::Http(status) => ("http", Some(i64::from(status))),
            Self::Decode => ("decode", None),
            Self::NoTicket => ("no_ticket", None),
            Self::Revoked => ("revoked", None),
            Self::LeaseTimeout => ("lease_timeout", None),
            Self::Database => ("database", None),
        }
    }

    /// The inverse of [`Failure::as_parts`]; None for a kind this version does not know.
    pub fn from_parts(kind: &str, code: Option<i64>) -> Option<Self> {
        Some(match (kind, code) {
            ("errcode", Some(code)) => Self::Errcode(code),
            ("transport", _) => Self::Transport,
            ("http", Some(status)) => Self::Http(u16::try_from(status).ok()?),
            ("decode", _) => Self::Decode,
            ("no_ticket", _) => Self::NoTicket,
            ("revoked", _) => Self::Revoked,
            ("lease_timeout", _) => Self::LeaseTimeout,
            ("database", _) => Self::Database,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_failure_survives_the_round_trip_through_its_stored_form() {
        for f in [
            Failure::Errcode(61010),
            Failure::Errcode(-1),
            Failure::Transport,
            Failure::Http(502),
            Failure::Decode,
            Failure::NoTicket,
            Failure::Revoked,
            Failure::LeaseTimeout,
            Failure::Database,
        ] {
            let (kind, code) = f.as_parts();
            assert_eq!(Failure::from_parts(kind, code), Some(f));
        }
        assert_eq!(Failure::from_parts("errcode", None), None);
        assert_eq!(Failure::from_parts("something-new", None), None);
    }
}
