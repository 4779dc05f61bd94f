//! One message to the SMTP server, step by step on lettre's connection, so that the moment
//! the message's data is handed over is known. A failure before it (no connection, TLS,
//! login, a refused sender or recipient) means nothing left and the message may be tried
//! again; after it, only the server's answer to the data says whether it left, and a
//! connection lost before that answer makes the attempt `Lost` (the message is then
//! "uncertain", never sent again by itself). lettre's `AsyncSmtpTransport::send` does the
//! same steps but reports both kinds of failure alike.

use std::fmt;
use std::time::Duration;

use lettre::Message;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::Error as SmtpError;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};

use crate::domain::email::Attempt;

/// How the connection to the SMTP server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain text (`smtp://host:port`): for a relay on the same machine or network.
    None,
    /// STARTTLS after connecting (`smtp://host:587?tls=required`); with `opportunistic`,
    /// only when the server offers it.
    StartTls { required: bool },
    /// TLS from the first byte (`smtps://host:465`).
    Implicit,
}

/// Where and how to send, from `MINIHOST_SMTP_URL` in lettre's URL form:
/// `smtp://host:port`, `smtp://host:587?tls=required` (or `opportunistic`),
/// `smtps://host:465`; `user:password@` before the host logs in (percent-encoded);
/// a path names this machine in EHLO (`smtp://host/console.example.com`).
/// Its `Debug` and [`SmtpTarget::describe`] never show the password.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpTarget {
    host: String,
    port: u16,
    tls: TlsMode,
    credentials: Option<(String, String)>,
    hello: Option<String>,
}

/// Why `MINIHOST_SMTP_URL` cannot be used. The message never quotes the URL, which may
/// hold a password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("MINIHOST_SMTP_URL {0}")]
pub struct BadSmtpUrl(String);

impl SmtpTarget {
    pub fn parse(raw: &str) -> Result<Self, BadSmtpUrl> {
        let bad = |why: &str| BadSmtpUrl(why.to_string());
        let url = url::Url::parse(raw.trim())
            .map_err(|e| BadSmtpUrl(format!("is not a URL ({e}); write smtp://host:port or smtps://host:465")))?;
        let host = url.host_str().filter(|h| !h.is_empty()).ok_or_else(|| bad("has no host"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
        let tls_param = url.query_pairs().find(|(k, _)| k == "tls").map(|(_, v)| v.into_owned());
        let (tls, default_port) = match (url.scheme(), tls_param.as_deref()) {
            ("smtp", None) => (TlsMode::None, 25),
            ("smtp", Some("required")) => (TlsMode::StartTls { required: true }, 587),
            ("smtp", Some("opportunistic")) => (TlsMode::StartTls { required: false }, 587),
            ("smtp", Some(_)) => return Err(bad("has a tls= value other than required or opportunistic")),
            ("smtps", _) => (TlsMode::Implicit, 465),
            _ => return Err(bad("must start with smtp:// or smtps://")),
        };
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| bad("has a user name or password that is not UTF-8 once decoded"))
        };
        let credentials = match url.password() {
            Some(password) => Some((decode(url.username())?, decode(password)?)),
            None if !url.username().is_empty() => return Err(bad("names a user but no password (user:password@host)")),
            None => None,
        };
        let path = url.path().trim_matches('/');
        Ok(Self {
            host,
            port: url.port().unwrap_or(default_port),
            tls,
            credentials,
            hello: (!path.is_empty()).then(|| path.to_string()),
        })
    }

    /// Where it sends, for the operator and the logs: host, port, TLS and the user, never
    /// the password.
    pub fn describe(&self) -> String {
        let tls = match self.tls {
            TlsMode::None => "no TLS",
            TlsMode::StartTls { required: true } => "STARTTLS",
            TlsMode::StartTls { required: false } => "STARTTLS if offered",
            TlsMode::Implicit => "TLS",
        };
        let user = self.credentials.as_ref().map(|(u, _)| format!(", user {u}")).unwrap_or_default();
        format!("{}:{} ({tls}{user})", self.host, self.port)
    }

    /// What the operator's page shows of it: no password.
    pub fn summary(&self) -> SmtpSummary {
        SmtpSummary {
            address: format!("{}:{}", self.host, self.port),
            tls: match self.tls {
                TlsMode::None => "none",
                TlsMode::StartTls { required: true } => "starttls",
                TlsMode::StartTls { required: false } => "starttls_if_offered",
                TlsMode::Implicit => "tls",
            },
            user: self.credentials.as_ref().map(|(u, _)| u.clone()),
        }
    }
}

/// Where e-mail goes, for the operator: `host:port`, the TLS mode's name (`none`,
/// `starttls`, `starttls_if_offered`, `tls`) and the user it logs in as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpSummary {
    pub address: String,
    pub tls: &'static str,
    pub user: Option<String>,
}

impl fmt::Debug for SmtpTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SmtpTarget({})", self.describe())
    }
}

/// A message to hand over.
pub struct Outgoing<'a> {
    /// The outbox id: the Message-ID is made from it, so a copy sent again carries the
    /// same one and a receiving system can tell it is the same message.
    pub id: &'a str,
    pub from: &'a Mailbox,
    pub to: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub html: Option<&'a str>,
}

/// Builds the MIME message: multipart/alternative with the text and the HTML part (or the
/// text alone for a message without HTML).
pub fn build(m: &Outgoing<'_>) -> Result<Message, String> {
    let to: Mailbox = m.to.trim().parse().map_err(|e| format!("the address {:?} cannot be used: {e}", m.to))?;
    let domain = m.from.email.domain().to_string();
    let builder = Message::builder()
        .from(m.from.clone())
        .to(to)
        .subject(m.subject)
        .message_id(Some(format!("<{}@{domain}>", m.id)));
    let built = match m.html {
        Some(html) => builder.multipart(MultiPart::alternative_plain_html(m.text.to_string(), html.to_string())),
        None => builder.singlepart(SinglePart::plain(m.text.to_string())),
    };
    built.map_err(|e| format!("the message cannot be written: {e}"))
}

/// One attempt: connects, logs in, hands the message over and reads the answer, all within
/// `timeout`.
pub async fn deliver(target: &SmtpTarget, timeout: Duration, m: &Outgoing<'_>) -> Attempt {
    let message = match build(m) {
        Ok(message) => message,
        Err(why) => return Attempt::Permanent(why),
    };
    let mut handed_over = false;
    match tokio::time::timeout(timeout, hand_over(target, timeout, &message, &mut handed_over)).await {
        Ok(attempt) => attempt,
        Err(_) => {
            let why = format!("no answer from the SMTP server within {} s", timeout.as_secs());
            if handed_over { Attempt::Lost(why) } else { Attempt::Temporary(why) }
        }
    }
}

/// The SMTP conversation. `handed_over` turns true once the message's data starts to go out.
async fn hand_over(target: &SmtpTarget, timeout: Duration, message: &Message, handed_over: &mut bool) -> Attempt {
    let mut conn = match connect(target, timeout).await {
        Ok(conn) => conn,
        Err(e) => return refused_before_data(&e),
    };
    let envelope = message.envelope();
    let body = message.formatted();
    let mut options = Vec::new();
    let non_ascii_address =
        envelope.from().into_iter().chain(envelope.to()).any(|a| !AsRef::<str>::as_ref(a).is_ascii());
    if non_ascii_address {
        if !conn.server_info().supports_feature(Extension::SmtpUtfEight) {
            conn.abort().await;
            return Attempt::Permanent("the address is not ASCII and the SMTP server does not offer SMTPUTF8".into());
        }
        options.push(MailParameter::SmtpUtfEight);
    }
    if !body.is_ascii() {
        if !conn.server_info().supports_feature(Extension::EightBitMime) {
            conn.abort().await;
            return Attempt::Permanent("the message is not ASCII and the SMTP server does not offer 8BITMIME".into());
        }
        options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    let before_data: Result<(), SmtpError> = async {
        conn.command(Mail::new(envelope.from().cloned(), options)).await?;
        for to in envelope.to() {
            conn.command(Rcpt::new(to.clone(), Vec::new())).await?;
        }
        conn.command(Data).await?;
        Ok(())
    }
    .await;
    if let Err(e) = before_data {
        conn.abort().await;
        return refused_before_data(&e);
    }
    *handed_over = true;
    let answer = conn.message(&body).await;
    let attempt = match &answer {
        Ok(_) => Attempt::Accepted,
        Err(e) if e.is_transient() => Attempt::Temporary(e.to_string()),
        Err(e) if e.is_permanent() => Attempt::Permanent(e.to_string()),
        // The data went out and no answer came back: it may have been accepted.
        Err(e) => Attempt::Lost(e.to_string()),
    };
    match answer {
        Ok(_) => {
            let _ = conn.quit().await;
        }
        Err(_) => conn.abort().await,
    }
    attempt
}

async fn connect(target: &SmtpTarget, timeout: Duration) -> Result<AsyncSmtpConnection, SmtpError> {
    let hello = target.hello.clone().map(ClientId::Domain).unwrap_or_default();
    let tls = || TlsParameters::new(target.host.clone());
    let implicit = match target.tls {
        TlsMode::Implicit => Some(tls()?),
        _ => None,
    };
    let mut conn =
        AsyncSmtpConnection::connect_tokio1((target.host.as_str(), target.port), Some(timeout), &hello, implicit, None)
            .await?;
    match target.tls {
        TlsMode::StartTls { required: true } => conn.starttls(tls()?, &hello).await?,
        TlsMode::StartTls { required: false } if conn.can_starttls() => conn.starttls(tls()?, &hello).await?,
        _ => {}
    }
    if let Some((user, password)) = &target.credentials {
        let credentials = Credentials::new(user.clone(), password.clone());
        if let Err(e) = conn.auth(&[Mechanism::Plain, Mechanism::Login], &credentials).await {
            conn.abort().await;
            return Err(e);
        }
    }
    Ok(conn)
}

/// A failure before the message's data went out: nothing left. A 5xx answer is final;
/// anything else (4xx, no connection, TLS) may pass.
fn refused_before_data(e: &SmtpError) -> Attempt {
    if e.is_permanent() { Attempt::Permanent(e.to_string()) } else { Attempt::Temporary(e.to_string()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_gives_host_port_tls_and_login() {
        let plain = SmtpTarget::parse("smtp://127.0.0.1:2525").unwrap();
        assert_eq!((plain.host.as_str(), plain.port, plain.tls), ("127.0.0.1", 2525, TlsMode::None));
        assert_eq!(plain.credentials, None);

        let starttls = SmtpTarget::parse("smtp://mailer:p%40ss%3Aword@smtp.example.com?tls=required").unwrap();
        assert_eq!(starttls.port, 587);
        assert_eq!(starttls.tls, TlsMode::StartTls { required: true });
        assert_eq!(starttls.credentials, Some(("mailer".into(), "p@ss:word".into())));

        let implicit = SmtpTarget::parse("smtps://smtp.example.com/console.example.com").unwrap();
        assert_eq!((implicit.port, implicit.tls), (465, TlsMode::Implicit));
        assert_eq!(implicit.hello.as_deref(), Some("console.example.com"));

        let opportunistic = SmtpTarget::parse("smtp://relay:2587?tls=opportunistic").unwrap();
        assert_eq!(opportunistic.tls, TlsMode::StartTls { required: false });
    }

    #[test]
    fn a_bad_url_is_refused_without_repeating_it() {
        for url in ["http://smtp.example.com", "smtp://host?tls=always", "smtp://user@host", "not a url s3cret"] {
            let e = SmtpTarget::parse(url).unwrap_err().to_string();
            assert!(e.starts_with("MINIHOST_SMTP_URL"), "{e}");
            assert!(!e.contains("s3cret") && !e.contains("smtp.example.com"), "{e}");
        }
    }

    #[test]
    fn the_password_is_never_shown() {
        let t = SmtpTarget::parse("smtp://mailer:hunter2secret@smtp.example.com:587?tls=required").unwrap();
        assert_eq!(t.describe(), "smtp.example.com:587 (STARTTLS, user mailer)");
        assert_eq!(
            t.summary(),
            SmtpSummary { address: "smtp.example.com:587".into(), tls: "starttls", user: Some("mailer".into()) }
        );
        assert!(!format!("{t:?}").contains("hunter2secret"));
    }

    #[test]
    fn the_message_is_multipart_alternative_with_a_message_id_from_the_outbox() {
        let from: Mailbox = "minihost <noreply@console.example>".parse().unwrap();
        let m = Outgoing {
            id: "0190-abc",
            from: &from,
            to: "founder@acme.example",
            subject: "您为 Acme 提交的工作空间申请已通过",
            text: "好消息",
            html: Some("<p>好消息</p>"),
        };
        let raw = String::from_utf8(build(&m).unwrap().formatted()).unwrap();
        assert!(raw.is_ascii(), "encoded for any server: {raw}");
        assert!(raw.contains("Message-ID: <0190-abc@console.example>"), "{raw}");
        assert!(raw.contains("multipart/alternative"), "{raw}");
        assert!(raw.contains("text/plain") && raw.contains("text/html"), "{raw}");
        let bad = Outgoing { to: "not an address", ..m };
        assert!(build(&bad).unwrap_err().contains("cannot be used"));
    }
}
