//! Writing the console's e-mails: a subject, a plain-text part and an HTML part, in the
//! recipient's language first and the other language below it. `db::outbox` stores what
//! this writes; `mailer` sends it as multipart/alternative.
//!
//! The HTML part is an askama template (`templates/email/message.html`), so every value is
//! escaped. It has inline styles: e-mail clients ignore style sheets, and the console's
//! Content-Security-Policy does not apply to e-mail.

use askama::Template;

use crate::i18n::Locale;

/// A message ready to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composed {
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The language written first; `None`: English then Chinese, the reader unknown.
    pub locale: Option<Locale>,
}

/// The languages in the order the reader meets them.
pub fn reading_order(first: Option<Locale>) -> [Locale; 2] {
    match first {
        Some(Locale::ZhCn) => [Locale::ZhCn, Locale::En],
        Some(Locale::En) | None => [Locale::En, Locale::ZhCn],
    }
}

/// The catalog's `{key}_subject` and `{key}_body` with `args` (`%{name}` placeholders),
/// in `first`'s language and then the other. A known reader gets the subject in their
/// language; an unknown one gets both ("English / 中文"), as the body has both.
pub fn from_catalog(first: Option<Locale>, key: &str, args: &[(&str, &str)]) -> Composed {
    let (subject_key, body_key) = (format!("{key}_subject"), format!("{key}_body"));
    let parts: Vec<Part> = reading_order(first)
        .into_iter()
        .map(|l| Part { locale: Some(l), subject: l.t_with(&subject_key, args), body: l.t_with(&body_key, args) })
        .collect();
    let subject = match first {
        Some(_) => parts[0].subject.clone(),
        None => format!("{} / {}", parts[0].subject, parts[1].subject),
    };
    compose(subject, first, &parts)
}

/// A message whose words the caller wrote (`db::outbox::enqueue`): the text as given,
/// and the same text as HTML.
pub fn from_text(subject: &str, body: &str) -> Composed {
    let parts = [Part { locale: None, subject: subject.to_string(), body: body.to_string() }];
    compose(subject.to_string(), None, &parts)
}

/// One language's part of a message.
struct Part {
    locale: Option<Locale>,
    subject: String,
    body: String,
}

/// Between two languages in the plain-text part.
const TEXT_SEPARATOR: &str = "\n\n---\n\n";

fn compose(subject: String, locale: Option<Locale>, parts: &[Part]) -> Composed {
    let text = parts.iter().map(|p| p.body.trim_end()).collect::<Vec<_>>().join(TEXT_SEPARATOR);
    let page = HtmlMessage {
        lang: locale.or(parts[0].locale).map(Locale::code),
        subject: &subject,
        parts: parts
            .iter()
            .map(|p| HtmlPart {
                lang: p.locale.map(Locale::code),
                heading: if parts.len() > 1 { Some(p.subject.clone()) } else { None },
                paragraphs: paragraphs(&p.body),
            })
            .collect(),
    };
    // Rendering only writes strings into a String; should it ever fail, the message still
    // goes out with its text part, and the HTML part says what the text says.
    let html = page.render().unwrap_or_else(|_| format!("<pre>{}</pre>", escape(&text)));
    Composed { subject, text, html, locale }
}

#[derive(Template)]
#[template(path = "email/message.html")]
struct HtmlMessage<'a> {
    lang: Option<&'static str>,
    subject: &'a str,
    parts: Vec<HtmlPart>,
}

struct HtmlPart {
    lang: Option<&'static str>,
    heading: Option<String>,
    /// Paragraphs, of lines, of pieces.
    paragraphs: Vec<Vec<Vec<Piece>>>,
}

/// Text, or a web address made a link.
#[derive(Debug, PartialEq, Eq)]
struct Piece {
    text: String,
    href: Option<String>,
}

/// Blank lines part paragraphs; single line breaks stay line breaks.
fn paragraphs(body: &str) -> Vec<Vec<Vec<Piece>>> {
    body.split("\n\n").map(str::trim).filter(|p| !p.is_empty()).map(|p| p.lines().map(linked).collect()).collect()
}

/// Splits a line into text and `http(s)://` addresses. An address ends at a space, at a
/// character outside ASCII (a Chinese comma follows one directly in the catalog) or at a
/// quote or angle bracket; a full stop, comma or bracket at its end is the sentence's.
fn linked(line: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut rest = line;
    while let Some(start) = rest.find("https://").or_else(|| rest.find("http://")) {
        let (before, from) = rest.split_at(start);
        let len = from
            .char_indices()
            .find(|(_, c)| c.is_whitespace() || !c.is_ascii() || matches!(c, '"' | '\'' | '<' | '>'))
            .map_or(from.len(), |(i, _)| i);
        let url = from[..len].trim_end_matches(['.', ',', ')', ';', ':', '!', '?']);
        if !before.is_empty() {
            pieces.push(Piece { text: before.to_string(), href: None });
        }
        pieces.push(Piece { text: url.to_string(), href: Some(url.to_string()) });
        rest = &from[url.len()..];
    }
    if !rest.is_empty() {
        pieces.push(Piece { text: rest.to_string(), href: None });
    }
    pieces
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_reader_gets_their_language_first_and_the_other_below() {
        let args = [("company", "Acme <Trading>"), ("reason", "No website"), ("url", "https://console.example")];
        let zh = from_catalog(Some(Locale::ZhCn), "email.rejected", &args);
        assert!(zh.subject.contains("工作空间申请需要修改"), "{}", zh.subject);
        assert!(!zh.subject.contains("needs changes"));
        let (chinese, english) = zh.text.split_once("\n\n---\n\n").unwrap();
        assert!(chinese.contains("原因：No website"), "{chinese}");
        assert!(english.contains("was not approved"), "{english}");
        assert!(zh.html.find("lang=\"zh-CN\"").unwrap() < zh.html.find("lang=\"en\"").unwrap());
        // Escaped, and the address is a link (ending before the Chinese comma).
        assert!(zh.html.contains("Acme &#60;Trading&#62;") || zh.html.contains("Acme &lt;Trading&gt;"), "{}", zh.html);
        assert!(zh.html.contains(r#"<a href="https://console.example/login""#), "{}", zh.html);

        let en = from_catalog(Some(Locale::En), "email.rejected", &args);
        assert!(en.subject.starts_with("Your workspace application"));
        assert!(en.text.starts_with("The workspace application for Acme <Trading> was not approved."));
    }

    #[test]
    fn an_unknown_reader_gets_english_then_chinese_with_both_subjects() {
        let m = from_catalog(None, "email.revoked", &[("appid", "wx123"), ("tenant", "Acme")]);
        assert!(m.subject.contains(" / "));
        assert!(m.subject.starts_with("The mini program wx123"));
        assert!(m.text.starts_with("WeChat told us"));
        assert!(m.text.contains("微信通知我们"));
        assert_eq!(m.locale, None);
    }

    #[test]
    fn addresses_become_links_without_the_sentence_around_them() {
        let pieces = linked("Log in at https://x.example/login, then go.");
        assert_eq!(
            pieces[1],
            Piece { text: "https://x.example/login".into(), href: Some("https://x.example/login".into()) }
        );
        assert_eq!(pieces[2].text, ", then go.");
        let zh = linked("请登录 http://x.example/login，修改");
        assert_eq!(zh[1].href.as_deref(), Some("http://x.example/login"));
        assert_eq!(zh[2].text, "，修改");
        assert_eq!(linked("no link"), vec![Piece { text: "no link".into(), href: None }]);
    }

    #[test]
    fn written_text_keeps_its_words_in_both_parts() {
        let m = from_text("Hello", "Line one\nline two\n\n<b>Second</b> paragraph");
        assert_eq!(m.text, "Line one\nline two\n\n<b>Second</b> paragraph");
        assert!(m.html.contains("Line one<br>line two"), "{}", m.html);
        assert!(m.html.contains("&#60;b&#62;Second") || m.html.contains("&lt;b&gt;Second"), "{}", m.html);
    }
}
