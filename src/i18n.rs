//! Languages: English and Simplified Chinese. Every visible string comes from the
//! catalog in `locales/` (`app.yml` the console's, `sandbox.yml` the sandbox's) through `rust-i18n`.

use actix_web::HttpRequest;

/// The cookie that remembers the language picked in the header switch.
pub const LANG_COOKIE: &str = "minihost_lang";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    En,
    ZhCn,
}

impl Locale {
    pub fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::ZhCn => "zh-CN",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().to_ascii_lowercase();
        if s == "en" || s.starts_with("en-") {
            Some(Self::En)
        } else if s == "zh" || s.starts_with("zh-cn") || s.starts_with("zh-hans") || s == "zh-sg" {
            Some(Self::ZhCn)
        } else {
            None
        }
    }

    /// Language for a request: the remembered switch first, then Accept-Language, then English.
    pub fn from_request(req: &HttpRequest) -> Self {
        if let Some(locale) = req.cookie(LANG_COOKIE).and_then(|c| Self::parse(c.value())) {
            return locale;
        }
        req.headers()
            .get(actix_web::http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(Self::from_accept_language)
            .unwrap_or(Self::En)
    }

    /// Picks the supported language with the highest q-value.
    pub fn from_accept_language(header: &str) -> Option<Self> {
        let mut best: Option<(f32, Self)> = None;
        for part in header.split(',') {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or_default();
            let q = pieces.find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.parse::<f32>().ok())).unwrap_or(1.0);
            if let Some(locale) = Self::parse(tag)
                && q > 0.0
                && best.is_none_or(|(bq, _)| q > bq)
            {
                best = Some((q, locale));
            }
        }
        best.map(|(_, l)| l)
    }

    /// Translates a catalog key.
    pub fn t(self, key: &str) -> String {
        rust_i18n::t!(key, locale = self.code()).into_owned()
    }

    /// Translates a key with `%{name}` placeholders.
    pub fn t_with(self, key: &str, args: &[(&str, &str)]) -> String {
        let mut s = self.t(key);
        for (name, value) in args {
            s = s.replace(&format!("%{{{name}}}"), value);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_prefers_the_highest_q() {
        assert_eq!(Locale::from_accept_language("zh-CN,zh;q=0.9,en;q=0.8"), Some(Locale::ZhCn));
        assert_eq!(Locale::from_accept_language("en-US,en;q=0.9,zh-CN;q=0.8"), Some(Locale::En));
        assert_eq!(Locale::from_accept_language("fr-FR, zh;q=0.5"), Some(Locale::ZhCn));
        assert_eq!(Locale::from_accept_language("fr-FR"), None);
        assert_eq!(Locale::from_accept_language("zh-TW"), None);
    }

    #[test]
    fn every_key_has_both_languages() {
        for key in ["nav.login", "signup.title", "apply.step_role", "error.not_found"] {
            let en = Locale::En.t(key);
            let zh = Locale::ZhCn.t(key);
            assert_ne!(en, key, "missing English for {key}");
            assert_ne!(zh, key, "missing Chinese for {key}");
            assert_ne!(en, zh, "untranslated {key}");
        }
    }
}
