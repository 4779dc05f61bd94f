//! WeChat Open Platform `errcode` table (reference §6.3, with per-code detail from
//! §3–§5) mapped to a handling class and a catalog key for the sentence shown to
//! operations staff: what happened, and what to do.
//!
//! This is the protocol layer: it does not translate. The sentences live in the
//! message catalog, `locales/errcode.yml`, in English and Simplified Chinese, under
//! `errcode.<code>` (`errcode.minus_1` for -1) and `errcode.generic` for codes not in
//! the table; the view layer translates [`ErrInfo::message_key`].
//!
//! Source notes: codes inside the ranges of §6.3 that the reference does not spell
//! out were filled from the public SDK error tables (WxJava `WxOpenErrorMsgEnum` and
//! similar); where even those are silent, the entry gives the range-level meaning.
//! 89247–89255 sit inside the §6.3 "plugin" range but are the fast-registration
//! codes in the SDK tables, so they are described that way.

use ErrClass::{Busy, PlatformConfig, QuotaBackoff, Reauthorize, RefreshAndRetry, RequestBug, UserFix, WaitAndPoll};

/// How the console should react to an errcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrClass {
    /// Token rejected: refresh the token and retry once (class R).
    RefreshAndRetry,
    /// The tenant must authorize the platform again (class A).
    Reauthorize,
    /// A quota or rate limit was hit: back off (class Q).
    QuotaBackoff,
    /// The tenant or an operator must change something; show the message (class U).
    UserFix,
    /// The platform's own configuration must be fixed by the operator (class P).
    PlatformConfig,
    /// Something is still in progress on WeChat's side: wait and poll (class W).
    WaitAndPoll,
    /// Our request was wrong: a console bug, or an unknown code (class X).
    RequestBug,
    /// WeChat is busy: retry later.
    Busy,
}

/// One errcode and its handling class; the sentence is in the catalog under
/// [`ErrInfo::message_key`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrInfo {
    pub code: i64,
    pub class: ErrClass,
}

/// Catalog key of the sentence for codes that are not in the table.
pub const GENERIC_KEY: &str = "errcode.generic";

impl ErrInfo {
    /// Catalog key of the sentence for this code: `errcode.<code>` (`errcode.minus_<n>`
    /// for negative codes) when the code is in the table, [`GENERIC_KEY`] otherwise.
    pub fn message_key(&self) -> String {
        if known(self.code).is_none() {
            GENERIC_KEY.to_owned()
        } else if self.code < 0 {
            format!("errcode.minus_{}", self.code.unsigned_abs())
        } else {
            format!("errcode.{}", self.code)
        }
    }
}

/// Looks up a code. Unknown codes give class [`ErrClass::RequestBug`] and the
/// [`GENERIC_KEY`] sentence.
pub fn lookup(code: i64) -> ErrInfo {
    ErrInfo { code, class: known(code).unwrap_or(RequestBug) }
}

/// True for the codes after which the cached token should be dropped and the call
/// retried once: 40001, 40014, 42001, 42006.
pub fn is_token_error(code: i64) -> bool {
    matches!(code, 40001 | 40014 | 42001 | 42006)
}

/// Every code in the table, in table order.
pub fn known_codes() -> impl Iterator<Item = i64> {
    TABLE.iter().map(|&(code, _)| code)
}

fn known(code: i64) -> Option<ErrClass> {
    TABLE.iter().find(|&&(c, _)| c == code).map(|&(_, class)| class)
}

/// The known codes and their classes. Each has a sentence `errcode.<code>` in
/// `locales/errcode.yml`.
const TABLE: &[(i64, ErrClass)] = &[
    // general
    (-1, Busy),
    (40001, RefreshAndRetry),
    (40007, UserFix),
    (40013, RequestBug),
    (40014, RefreshAndRetry),
    (40097, RequestBug),
    (40125, PlatformConfig),
    (41001, RequestBug),
    (41004, RequestBug),
    (42001, RefreshAndRetry),
    (42006, RefreshAndRetry),
    (43002, RequestBug),
    (45009, QuotaBackoff),
    (45011, QuotaBackoff),
    (47001, RequestBug),
    (48001, Reauthorize),
    (48006, QuotaBackoff),
    // name rules (§3.8)
    (53010, UserFix),
    (53011, UserFix),
    (53012, UserFix),
    (53013, UserFix),
    (53014, UserFix),
    (53015, UserFix),
    (53016, UserFix),
    (53017, UserFix),
    (53018, UserFix),
    (53019, UserFix),
    // introduction / avatar (§3.8)
    (53200, UserFix),
    (53201, UserFix),
    (53202, UserFix),
    (53203, UserFix),
    (53204, UserFix),
    // service categories (§3.5)
    (53300, UserFix),
    (53301, UserFix),
    (53302, UserFix),
    (53303, UserFix),
    (53304, UserFix),
    (53305, UserFix),
    (53306, UserFix),
    (53307, UserFix),
    (53308, UserFix),
    (53309, UserFix),
    (53310, UserFix),
    (53311, UserFix),
    // authorization / component
    (61003, Reauthorize),
    (61004, PlatformConfig),
    (61005, WaitAndPoll),
    (61006, WaitAndPoll),
    (61007, Reauthorize),
    (61011, PlatformConfig),
    (61023, Reauthorize),
    (61024, RequestBug),
    (61028, PlatformConfig),
    // privacy APIs (§3.6)
    (61031, UserFix),
    (61032, UserFix),
    (61033, UserFix),
    (61034, UserFix),
    (61035, UserFix),
    (61036, UserFix),
    (61037, UserFix),
    (61039, WaitAndPoll),
    (61040, UserFix),
    // quota query
    (76003, RequestBug),
    (76021, RequestBug),
    (76022, RequestBug),
    // testers
    (85001, UserFix),
    (85002, UserFix),
    (85003, UserFix),
    (85004, UserFix),
    // review submission (§4.4)
    (85006, UserFix),
    (85007, UserFix),
    (85008, UserFix),
    (85009, WaitAndPoll),
    (85010, UserFix),
    (85011, UserFix),
    (85012, RequestBug),
    (85013, RequestBug),
    (85014, RequestBug),
    (85015, UserFix),
    // domains (§3.1)
    (85016, UserFix),
    (85017, UserFix),
    (85018, PlatformConfig),
    // release (§4.7)
    (85019, WaitAndPoll),
    (85020, WaitAndPoll),
    (85021, RequestBug),
    (85022, RequestBug),
    (85023, UserFix),
    // template / ext_json (§4.2)
    (85043, RequestBug),
    (85044, RequestBug),
    (85045, RequestBug),
    (85046, RequestBug),
    (85047, RequestBug),
    (85048, RequestBug),
    (85051, UserFix),
    (85052, UserFix),
    (85064, PlatformConfig),
    (85065, PlatformConfig),
    (85077, UserFix),
    // phased release (§4.7)
    (85079, UserFix),
    (85080, UserFix),
    (85081, RequestBug),
    (85082, UserFix),
    // search status
    (85083, UserFix),
    (85084, UserFix),
    (85091, UserFix),
    // more review submission
    (85085, QuotaBackoff),
    (85086, RequestBug),
    (85087, RequestBug),
    (85088, PlatformConfig),
    (85092, RequestBug),
    (85093, RequestBug),
    (85094, UserFix),
    (85301, UserFix),
    // code submission state
    (86000, RequestBug),
    (86001, RequestBug),
    (86002, UserFix),
    (86007, UserFix),
    (86008, PlatformConfig),
    (86009, PlatformConfig),
    (86010, PlatformConfig),
    (86069, UserFix),
    (86070, UserFix),
    (86071, RequestBug),
    (86072, UserFix),
    (86073, UserFix),
    (86074, UserFix),
    (87006, UserFix),
    (87011, UserFix),
    (87012, UserFix),
    (87013, QuotaBackoff),
    // open-platform account binding
    (89000, UserFix),
    (89001, UserFix),
    (89002, UserFix),
    (89003, PlatformConfig),
    (89004, UserFix),
    // official account <-> mini program linking (§5)
    (89005, UserFix),
    (89006, UserFix),
    (89007, UserFix),
    (89008, UserFix),
    (89009, UserFix),
    (89010, WaitAndPoll),
    (89011, UserFix),
    (89012, UserFix),
    (89013, UserFix),
    (89014, UserFix),
    (89015, UserFix),
    (89016, UserFix),
    (89017, UserFix),
    (89018, WaitAndPoll),
    // official account links, wave-2 notes §3: the newer different-subject cap and the
    // administrators' own limits
    (89407, UserFix),
    (1003, UserFix),
    (1005, UserFix),
    // official account notification templates
    (40037, RequestBug),
    (45026, UserFix),
    // business (web-view) domains (§3.2)
    (89019, UserFix),
    (89020, PlatformConfig),
    (89021, PlatformConfig),
    (89022, UserFix),
    (89029, UserFix),
    (89231, UserFix),
    // plugins (§3.4)
    (89044, UserFix),
    (89244, UserFix),
    (89236, UserFix),
    (89237, UserFix),
    (89238, UserFix),
    (89239, UserFix),
    (89243, UserFix),
    (89247, Busy),
    (89248, UserFix),
    (89249, WaitAndPoll),
    (89250, UserFix),
    (89251, WaitAndPoll),
    (89252, WaitAndPoll),
    (89253, UserFix),
    (89254, PlatformConfig),
    (89255, UserFix),
    (89257, UserFix),
    (89258, UserFix),
    (89240, UserFix),
    (89241, UserFix),
    (89242, UserFix),
    (89245, UserFix),
    (89246, UserFix),
    (89256, UserFix),
    (89259, UserFix),
    // expedited review (§4.6)
    (89401, Busy),
    (89402, UserFix),
    (89403, UserFix),
    (89404, UserFix),
    (89405, QuotaBackoff),
    // renaming (§3.8)
    (91001, UserFix),
    (91002, UserFix),
    (91003, UserFix),
    (91004, UserFix),
    (91005, UserFix),
    (91006, UserFix),
    (91007, UserFix),
    (91008, UserFix),
    (91009, UserFix),
    (91010, UserFix),
    (91012, UserFix),
    (91011, UserFix),
    (91013, UserFix),
    (91014, UserFix),
    (91017, UserFix),
    (91015, UserFix),
    (91016, UserFix),
    (91018, UserFix),
    (91019, WaitAndPoll),
    // observed
    (9_402_203, RequestBug),
    // custom trade component /shop/* (wave-2 notes §1.6); 1400007 and 1040058 say "retired"
    (1_400_007, UserFix),
    (1_040_058, UserFix),
    (1_040_003, UserFix),
    (1_040_041, UserFix),
    (1_000_005, UserFix),
    (1_000_000, RequestBug),
    (1_070_001, RequestBug),
];

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::i18n::Locale;

    /// Every code of reference §6.3, ranges expanded.
    fn section_6_3_codes() -> Vec<i64> {
        let mut v: Vec<i64> = vec![
            -1, 40001, 40013, 40014, 40125, 41001, 41004, 42001, 42006, 40007, 43002, 45009, 45011, 47001, 48001,
            48006, 61003, 61004, 61005, 61006, 61007, 61011, 61023, 61024, 61028, 61039, 61040, 76003, 76021, 76022,
            85023, 85008, 85009, 85012, 85015, 85016, 85017, 85018, 85019, 85020, 85021, 85022, 85064, 85065, 85077,
            85083, 85084, 85091, 85085, 85086, 85087, 85092, 85093, 85094, 85301, 86000, 86001, 86002, 86007, 86008,
            86009, 86010, 87006, 87011, 87012, 87013, 89029, 89231, 9_402_203,
        ];
        let ranges: &[(i64, i64)] = &[
            (53200, 53204),
            (53300, 53311),
            (61031, 61035),
            (85001, 85004),
            (85006, 85011),
            (85013, 85014),
            (85043, 85048),
            (85079, 85082),
            (89000, 89004),
            (89005, 89018),
            (89019, 89022),
            (89236, 89259),
            (89401, 89405),
            (91001, 91019),
        ];
        for &(lo, hi) in ranges {
            v.extend(lo..=hi);
        }
        v
    }

    fn en(key: &str) -> String {
        Locale::En.t(key)
    }

    /// The catalog text of `key` in English and Chinese; fails if either is missing
    /// (rust-i18n then answers with the key, `<locale>.<key>`, or the English fallback).
    fn both(key: &str) -> (String, String) {
        let en = Locale::En.t(key);
        let zh = Locale::ZhCn.t(key);
        assert!(!en.ends_with(key), "missing English for {key}");
        assert!(!zh.ends_with(key), "missing Chinese for {key}");
        assert_ne!(en, zh, "untranslated {key}");
        (en, zh)
    }

    #[test]
    fn every_listed_code_is_specific() {
        for code in section_6_3_codes() {
            let info = lookup(code);
            assert_eq!(info.code, code);
            assert_ne!(info.message_key(), GENERIC_KEY, "code {code} is generic");
            let message = en(&info.message_key());
            assert!(message.ends_with('.'), "code {code}");
            // "What happened" + "what to do": at least two sentences.
            assert!(message.matches(". ").count() >= 1, "code {code} needs a second sentence: {message}");
            assert!(!message.contains("  "), "code {code} has double spaces");
        }
    }

    #[test]
    fn extra_detail_codes_are_specific() {
        for code in (53010..=53019).chain([85051, 85052, 85088, 86072, 86074, 89044, 89407, 1003, 1005, 45026]) {
            assert_ne!(lookup(code).message_key(), GENERIC_KEY, "code {code}");
        }
    }

    #[test]
    fn classes() {
        assert_eq!(lookup(-1).class, ErrClass::Busy);
        for c in [40001, 40014, 42001, 42006] {
            assert_eq!(lookup(c).class, ErrClass::RefreshAndRetry);
        }
        for c in [61003, 61023, 61007] {
            assert_eq!(lookup(c).class, ErrClass::Reauthorize);
        }
        for c in [45009, 45011, 85085, 87013, 89405] {
            assert_eq!(lookup(c).class, ErrClass::QuotaBackoff);
        }
        for c in [61004, 40125, 85018, 86008] {
            assert_eq!(lookup(c).class, ErrClass::PlatformConfig);
        }
        for c in [61039, 85009, 85019] {
            assert_eq!(lookup(c).class, ErrClass::WaitAndPoll);
        }
        assert_eq!(lookup(86002).class, ErrClass::UserFix);
        assert_eq!(lookup(47001).class, ErrClass::RequestBug);
        assert!(en(&lookup(85085).message_key()).contains("monthly review quota"));
    }

    #[test]
    fn unknown_code_is_generic() {
        for code in [0, 1, 12345, 85005, 89260, 99999, i64::MAX, i64::MIN] {
            let info = lookup(code);
            assert_eq!(info.code, code);
            assert_eq!(info.message_key(), GENERIC_KEY);
            assert_eq!(info.class, ErrClass::RequestBug);
        }
    }

    #[test]
    fn keys() {
        assert_eq!(lookup(-1).message_key(), "errcode.minus_1");
        assert_eq!(lookup(40001).message_key(), "errcode.40001");
        assert_eq!(lookup(9_402_203).message_key(), "errcode.9402203");
    }

    #[test]
    fn table_has_no_duplicates() {
        let codes: Vec<i64> = known_codes().collect();
        let unique: std::collections::BTreeSet<i64> = codes.iter().copied().collect();
        assert_eq!(codes.len(), unique.len());
        for code in section_6_3_codes() {
            assert!(codes.contains(&code), "code {code} not in the table");
        }
    }

    #[test]
    fn every_known_code_is_in_the_catalog_in_both_languages() {
        for code in known_codes() {
            let (en, zh) = both(&lookup(code).message_key());
            assert!(!en.contains("  "), "code {code}: {en}");
            assert!(zh.ends_with('。'), "code {code}: {zh}");
        }
        let (en, _) = both(GENERIC_KEY);
        assert!(en.contains("does not recognise"));
    }

    #[test]
    fn wechat_client_errors_are_in_the_catalog_in_both_languages() {
        for (key, placeholders) in [
            ("wechat_error.transport", &[][..]),
            ("wechat_error.http", &["%{status}"][..]),
            ("wechat_error.decode", &[][..]),
            ("wechat_error.no_ticket", &[][..]),
            ("wechat_error.revoked", &["%{appid}"][..]),
            ("wechat_error.lease_timeout", &[][..]),
            ("wechat_error.database", &[][..]),
            ("wechat_error.with_code", &["%{message}", "%{code}"][..]),
        ] {
            let (en, zh) = both(key);
            for p in placeholders {
                assert!(en.contains(p) && zh.contains(p), "{key} lacks {p}");
            }
        }
        assert_eq!(
            Locale::ZhCn.t_with("wechat_error.with_code", &[("message", "x"), ("code", "40001")]),
            "x（微信错误码 40001）"
        );
    }

    #[test]
    fn token_errors() {
        for c in [40001, 40014, 42001, 42006] {
            assert!(is_token_error(c));
        }
        for c in [-1, 0, 40013, 41001, 61023, 42002] {
            assert!(!is_token_error(c));
        }
    }
}
