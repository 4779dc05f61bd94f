//! E-mail delivery against a real SMTP server started by the test (mailin-embedded, in
//! this process on port 0), whose answers the test chooses per recipient: 4xx, 5xx, or a
//! confirmation that comes too late.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mail_parser::MimeHeaders;
use mailin_embedded::{Response, Server, response};
use minihost::db::outbox::{self, Letter};
use minihost::domain::email::EmailStatus;
use reqwest::StatusCode;

use crate::helpers::{PASSWORD, TestApp};
use crate::mini_program::eventually;

pub const MAIL_FROM: &str = "minihost <noreply@console.example>";

/// One message as the SMTP server received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub envelope_from: String,
    pub envelope_to: Vec<String>,
    pub data: Vec<u8>,
}

impl Received {
    pub fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default().parse(&self.data).expect("a MIME message")
    }
}

#[derive(Default)]
struct ServerState {
    received: Vec<Received>,
    /// Answers to RCPT TO for a recipient, used up one per attempt; then 250.
    answers: HashMap<String, VecDeque<(u16, String)>>,
    /// Recipients whose message is confirmed only after this wait.
    slow: HashMap<String, Duration>,
}

/// A real SMTP server on 127.0.0.1, in a thread of this test process.
#[derive(Clone)]
pub struct SmtpServer {
    pub port: u16,
    state: Arc<Mutex<ServerState>>,
}

impl SmtpServer {
    pub fn start() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(ServerState::default()));
        let handler = Session { state: state.clone(), from: String::new(), to: Vec::new(), data: Vec::new() };
        std::thread::spawn(move || {
            let mut server = Server::new(handler);
            server.with_name("smtp.test").with_tcp_listener(listener);
            // It serves until the test process ends.
            let _ = server.serve();
        });
        Self { port, state }
    }

    /// The settings of an instance that sends through this server.
    pub fn settings(&self) -> Vec<(String, String)> {
        vec![
            ("MINIHOST_SMTP_URL".into(), format!("smtp://127.0.0.1:{}", self.port)),
            ("MINIHOST_MAIL_FROM".into(), MAIL_FROM.into()),
            ("MINIHOST_MAIL_POLL_MS".into(), "50".into()),
            ("MINIHOST_MAIL_RETRY_BASE_SECS".into(), "1".into()),
            ("MINIHOST_SMTP_TIMEOUT_SECS".into(), "3".into()),
        ]
    }

    /// The next attempts to `to` are answered these (code, text) at RCPT TO.
    pub fn answer(&self, to: &str, answers: &[(u16, &str)]) {
        self.state
            .lock()
            .unwrap()
            .answers
            .insert(to.into(), answers.iter().map(|(c, t)| (*c, t.to_string())).collect());
    }

    /// The message to `to` is confirmed only after `wait`.
    pub fn confirm_late(&self, to: &str, wait: Duration) {
        self.state.lock().unwrap().slow.insert(to.into(), wait);
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    pub fn received_by(&self, to: &str) -> Vec<Received> {
        self.received().into_iter().filter(|r| r.envelope_to.iter().any(|t| t == to)).collect()
    }
}

/// mailin's handler: one clone per connection.
#[derive(Clone)]
struct Session {
    state: Arc<Mutex<ServerState>>,
    from: String,
    to: Vec<String>,
    data: Vec<u8>,
}

fn bare(address: &str) -> String {
    address.trim().trim_start_matches('<').trim_end_matches('>').to_string()
}

impl mailin_embedded::Handler for Session {
    fn mail(&mut self, _ip: IpAddr, _domain: &str, from: &str) -> Response {
        (self.from, self.to, self.data) = (bare(from), Vec::new(), Vec::new());
        response::OK
    }

    fn rcpt(&mut self, to: &str) -> Response {
        let to = bare(to);
        let scripted = self.state.lock().unwrap().answers.get_mut(&to).and_then(VecDeque::pop_front);
        match scripted {
            Some((code, text)) => Response::custom(code, text),
            None => {
                self.to.push(to);
                response::OK
            }
        }
    }

    fn data(&mut self, buf: &[u8]) -> io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let slow = self.to.iter().find_map(|t| self.state.lock().unwrap().slow.get(t).copied());
        if let Some(wait) = slow {
            std::thread::sleep(wait);
        }
        let received = Received {
            envelope_from: self.from.clone(),
            envelope_to: self.to.clone(),
            data: std::mem::take(&mut self.data),
        };
        self.state.lock().unwrap().received.push(received);
        response::OK
    }
}

pub async fn spawn_with_smtp(smtp: &SmtpServer, more: &[(&str, &str)]) -> TestApp {
    let settings = smtp.settings();
    let mut all: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    all.extend_from_slice(more);
    TestApp::spawn_with(&all).await
}

pub fn email_row(app: &TestApp, to: &str) -> minihost::db::models::OutboxEmail {
    let to = to.to_string();
    app.db(move |c| outbox::list_recent(c, 500).unwrap())
        .into_iter()
        .find(|m| m.to_address == to)
        .unwrap_or_else(|| panic!("an e-mail to {to} is queued"))
}

pub async fn eventually_status(app: &TestApp, to: &str, status: EmailStatus) {
    eventually(&format!("the e-mail to {to} is {}", status.as_str()), || email_row(app, to).status == status).await;
}

/// An applicant's application, rejected by the operator: the decision e-mail is queued.
async fn reject_applicant(app: &TestApp, email: &str, language: &str) {
    let applicant = app.browser_with_language(language);
    applicant.sign_up(email, "Applicant").await;
    applicant.post("/apply/role", &[("role", "technical_merchant")]).await;
    applicant.post_details(&[("company_name", "Acme Trading")], None).await;
    applicant.post("/apply/submit", &[]).await;
    let id = app.application_id_of(email);
    let op = app.operator().await;
    let page =
        op.post(&format!("/operator/applications/{id}/reject"), &[("reason", "The website does not load.")]).await;
    assert_eq!(page.status(), StatusCode::OK);
}

fn part_types(m: &mail_parser::Message<'_>) -> Vec<String> {
    m.parts
        .iter()
        .filter_map(|p| p.content_type())
        .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or_default()))
        .collect()
}

#[tokio::test]
async fn a_decision_email_arrives_in_the_applicants_language_with_text_and_html() {
    let smtp = SmtpServer::start();
    let app = spawn_with_smtp(&smtp, &[]).await;

    // Signed up in Chinese: the rejection is written in Chinese first.
    reject_applicant(&app, "zh@acme.example", "zh-CN").await;
    eventually("the e-mail arrives", || smtp.received_by("zh@acme.example").len() == 1).await;
    let got = smtp.received_by("zh@acme.example").remove(0);
    assert_eq!(got.envelope_from, "noreply@console.example");
    let m = got.parsed();
    assert_eq!(m.from().and_then(|f| f.first()).and_then(|a| a.address()), Some("noreply@console.example"));
    assert_eq!(m.from().and_then(|f| f.first()).and_then(|a| a.name()), Some("minihost"));
    assert_eq!(m.to().and_then(|t| t.first()).and_then(|a| a.address()), Some("zh@acme.example"));
    assert_eq!(m.subject(), Some("您为 Acme Trading 提交的工作空间申请需要修改"));
    let top = m.content_type().unwrap();
    assert_eq!((top.ctype(), top.subtype()), ("multipart", Some("alternative")));
    let types = part_types(&m);
    assert!(types.contains(&"text/plain".to_string()) && types.contains(&"text/html".to_string()), "{types:?}");
    let text = m.body_text(0).unwrap().into_owned();
    let (chinese, english) = text.split_once("---").expect("both languages");
    assert!(
        chinese.contains("Acme Trading 的工作空间申请未通过") && chinese.contains("原因：The website does not load.")
    );
    assert!(english.contains("was not approved"), "{text}");
    let html = m.body_html(0).unwrap().into_owned();
    assert!(html.find(r#"lang="zh-CN""#).unwrap() < html.find(r#"lang="en""#).unwrap(), "{html}");
    assert!(html.contains(&format!(r#"<a href="{}/login""#, app.base)), "{html}");
    // Kept for a person to look at (test-artifacts/email/).
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("test-artifacts/email");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("rejected-zh-CN.html"), html.as_bytes()).unwrap();
    std::fs::write(dir.join("rejected-zh-CN.eml"), &got.data).unwrap();
    eventually_status(&app, "zh@acme.example", EmailStatus::Sent).await;

    // Signed up in English, then switched to Chinese in the header: the switch counts.
    let en = app.browser_with_language("en");
    en.sign_up("en@acme.example", "Applicant").await;
    let row = app.db(|c| minihost::db::users::locale_by_email(c, "en@acme.example").unwrap());
    assert_eq!(row.as_deref(), Some("en"));
    en.post("/locale", &[("lang", "zh-CN"), ("return_to", "/apply")]).await;
    let row = app.db(|c| minihost::db::users::locale_by_email(c, "en@acme.example").unwrap());
    assert_eq!(row.as_deref(), Some("zh-CN"));
    // An address without an account: English, then Chinese, both in the subject.
    app.db(|c| {
        outbox::enqueue_letter(
            c,
            &Letter::new("stranger@example.org", "email.revoked").arg("appid", "wx1").arg("tenant", "Acme"),
            minihost::now(),
        )
        .unwrap()
    });
    eventually("the stranger's e-mail arrives", || smtp.received_by("stranger@example.org").len() == 1).await;
    let stranger = smtp.received_by("stranger@example.org").remove(0);
    let m = stranger.parsed();
    let subject = m.subject().unwrap();
    assert!(
        subject.starts_with("The mini program wx1 withdrew") && subject.contains("小程序 wx1 已取消授权"),
        "{subject}"
    );
    assert!(m.body_text(0).unwrap().starts_with("WeChat told us"));

    // The operator's page lists what was sent.
    let op = app.operator().await;
    let page = op.get("/operator/emails?status=sent").await;
    page.assert_contains("zh@acme.example");
    page.assert_contains("Accepted by the mail server");
    page.assert_contains("127.0.0.1");
}

#[tokio::test]
async fn a_refusal_for_now_is_tried_again_later_and_delivered_once() {
    let smtp = SmtpServer::start();
    smtp.answer("busy@acme.example", &[(451, "4.3.0 Mailbox busy, try again later")]);
    let app = spawn_with_smtp(&smtp, &[]).await;
    reject_applicant(&app, "busy@acme.example", "en").await;

    // The first attempt is refused and recorded with the server's answer; the message
    // stays pending for a later attempt.
    eventually("the first attempt is refused", || {
        let m = email_row(&app, "busy@acme.example");
        m.attempts >= 1 && m.last_error.is_some() || m.status == EmailStatus::Sent
    })
    .await;
    eventually_status(&app, "busy@acme.example", EmailStatus::Sent).await;
    let m = email_row(&app, "busy@acme.example");
    assert_eq!(m.attempts, 2, "refused once, then accepted");
    assert_eq!(m.last_error, None);
    assert_eq!(smtp.received_by("busy@acme.example").len(), 1, "delivered once");
    let audit = app.db(|c| minihost::db::audit::list(c, &Default::default(), 500, 0).unwrap());
    assert!(audit.iter().all(|a| !a.action.starts_with("email.")), "no operator action was needed");
}

#[tokio::test]
async fn a_permanent_refusal_is_shown_with_the_servers_answer_and_send_again_delivers_it() {
    let smtp = SmtpServer::start();
    smtp.answer("gone@acme.example", &[(550, "5.1.1 <gone@acme.example>: Recipient address rejected: User unknown")]);
    let app = spawn_with_smtp(&smtp, &[]).await;
    reject_applicant(&app, "gone@acme.example", "en").await;
    eventually_status(&app, "gone@acme.example", EmailStatus::Failed).await;
    let m = email_row(&app, "gone@acme.example");
    assert_eq!(m.attempts, 1, "a permanent refusal is not tried again");
    assert!(m.last_error.as_deref().unwrap_or_default().contains("550"), "{:?}", m.last_error);
    assert!(smtp.received_by("gone@acme.example").is_empty());

    // The operator is told on the review queue and the platform page, and sees the answer.
    let op = app.operator().await;
    for path in ["/operator/applications", "/operator/platform"] {
        let page = op.get(path).await;
        page.assert_contains("E-mails not delivered: 1.");
        page.assert_contains(r#"href="/operator/emails?status=failed""#);
    }
    let page = op.get("/operator/emails?status=failed").await;
    page.assert_contains("gone@acme.example");
    page.assert_contains("Recipient address rejected: User unknown");
    page.assert_contains("Failed (1)");
    page.assert_contains("Send again");

    // Send again needs the CSRF token; with it the message is queued once more, audited,
    // and delivered once the mailbox exists.
    let id = m.id.clone();
    let refused = op.post_without_csrf(&format!("/operator/emails/{id}/send-again"), &[]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let again = op.post(&format!("/operator/emails/{id}/send-again"), &[("status", "failed")]).await;
    assert_eq!(again.url().path(), "/operator/emails");
    again.assert_contains("queued again");
    eventually_status(&app, "gone@acme.example", EmailStatus::Sent).await;
    assert_eq!(smtp.received_by("gone@acme.example").len(), 1);
    let audit = app.db(|c| minihost::db::audit::list(c, &Default::default(), 500, 0).unwrap());
    let row = audit.iter().find(|a| a.action == "email.sent_again").expect("an audit row");
    assert_eq!(row.subject, format!("email:{id}"));
    assert!(row.before_state.as_deref().unwrap_or_default().contains("User unknown"));
    // A second press finds nothing to do.
    let twice = op.post(&format!("/operator/emails/{id}/send-again"), &[]).await;
    twice.assert_contains("no longer failed or uncertain");
    assert_eq!(smtp.received_by("gone@acme.example").len(), 1);
    // A stranger to the operator console cannot press it.
    let applicant = app.browser();
    applicant.log_in("gone@acme.example", PASSWORD).await;
    let forbidden = applicant.post(&format!("/operator/emails/{id}/send-again"), &[]).await;
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn two_instances_on_one_database_deliver_each_message_exactly_once() {
    let smtp = SmtpServer::start();
    let first = spawn_with_smtp(&smtp, &[]).await;
    let second = first.second_instance().await;
    const N: usize = 40;
    let now = minihost::now();
    first.db(|c| {
        for i in 0..N {
            let letter =
                Letter::new(format!("user{i}@acme.example"), "email.revoked").arg("appid", "wx1").arg("tenant", "Acme");
            outbox::enqueue_letter(c, &letter, now).unwrap();
        }
    });
    eventually("every message is sent", || first.db(|c| outbox::counts(c).unwrap()).sent == N as i64).await;
    let received = smtp.received();
    assert_eq!(received.len(), N, "each message once");
    let mut ids: Vec<String> =
        received.iter().map(|r| r.parsed().message_id().unwrap_or_default().to_string()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), N, "no message twice");
    let mut by_sender: HashMap<String, usize> = HashMap::new();
    for m in first.db(|c| outbox::list_recent(c, 100).unwrap()) {
        *by_sender.entry(m.claimed_by.expect("who sent it")).or_default() += 1;
    }
    assert!(!by_sender.is_empty() && by_sender.len() <= 2, "{by_sender:?}");
    eprintln!("messages sent by each instance: {:?}", by_sender.values().collect::<Vec<_>>());
    drop(second);
}

/// A row as a crashed instance leaves it: claimed an hour ago, never finished.
fn leave_sending(app: &TestApp, to: &str) -> String {
    let id = email_row(app, to).id;
    let id2 = id.clone();
    app.db(move |c| {
        use diesel::prelude::*;
        use minihost::db::schema::outbox_emails as o;
        diesel::update(o::table.find(&id2))
            .set((
                o::status.eq("sending"),
                o::claimed_by.eq("mailer-crashed"),
                o::claimed_at.eq(minihost::now() - 3600),
                o::attempts.eq(1),
            ))
            .execute(c)
            .unwrap();
    });
    id
}

#[tokio::test]
async fn a_message_left_sending_by_a_crash_is_not_sent_again_but_shown_as_uncertain() {
    let smtp = SmtpServer::start();
    // Queued by an instance without SMTP, and left "sending" as by a crash mid-send.
    let app = TestApp::spawn().await;
    reject_applicant(&app, "crash@acme.example", "en").await;
    let id = leave_sending(&app, "crash@acme.example");
    // The delivery starts (an instance with SMTP on the same database).
    let settings = smtp.settings();
    let with_smtp: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let sender = app.second_instance_with(&with_smtp).await;
    eventually_status(&sender, "crash@acme.example", EmailStatus::Uncertain).await;
    // Something else still goes out, and the uncertain one does not.
    sender.db(|c| outbox::enqueue(c, "other@acme.example", "Hello", "Body", minihost::now()).unwrap());
    eventually("the other message arrives", || smtp.received_by("other@acme.example").len() == 1).await;
    assert!(smtp.received_by("crash@acme.example").is_empty(), "an uncertain message is never resent by itself");
    let audit = sender.db(|c| minihost::db::audit::list(c, &Default::default(), 500, 0).unwrap());
    assert!(audit.iter().any(|a| a.action == "email.uncertain" && a.subject == format!("email:{id}")));

    let op = sender.operator().await;
    sender_alert(&op).await;
    let page = op.get("/operator/emails?status=uncertain").await;
    page.assert_contains("crash@acme.example");
    page.assert_contains("we do not know whether these messages arrived");
    page.assert_contains("Perhaps delivered");
    let again = op.post(&format!("/operator/emails/{id}/send-again"), &[("status", "uncertain")]).await;
    again.assert_contains("queued again");
    eventually("it is sent once the operator asks", || smtp.received_by("crash@acme.example").len() == 1).await;
    eventually_status(&sender, "crash@acme.example", EmailStatus::Sent).await;
}

async fn sender_alert(op: &crate::helpers::Browser) {
    let page = op.get("/operator/platform").await;
    page.assert_contains("E-mails perhaps not delivered (uncertain): 1.");
}

#[tokio::test]
async fn a_message_whose_confirmation_never_comes_is_uncertain_and_not_resent() {
    let smtp = SmtpServer::start();
    // The server takes the message but answers after the console stopped waiting (3 s).
    smtp.confirm_late("slow@acme.example", Duration::from_secs(5));
    let app = spawn_with_smtp(&smtp, &[]).await;
    app.db(|c| outbox::enqueue(c, "slow@acme.example", "Hello", "Body", minihost::now()).unwrap());
    eventually_status(&app, "slow@acme.example", EmailStatus::Uncertain).await;
    let m = email_row(&app, "slow@acme.example");
    assert!(m.last_error.as_deref().unwrap_or_default().contains("no answer"), "{:?}", m.last_error);
    // The server did get it: sending it again by itself would have made a duplicate.
    eventually("the server stored it", || smtp.received_by("slow@acme.example").len() == 1).await;
    app.db(|c| outbox::enqueue(c, "later@acme.example", "Hello", "Body", minihost::now()).unwrap());
    eventually("a later message arrives", || smtp.received_by("later@acme.example").len() == 1).await;
    assert_eq!(smtp.received_by("slow@acme.example").len(), 1);
    assert_eq!(email_row(&app, "slow@acme.example").status, EmailStatus::Uncertain);
}

#[tokio::test]
async fn without_smtp_messages_stay_in_the_outbox_and_the_dev_mailbox_shows_them() {
    let app = TestApp::spawn().await;
    reject_applicant(&app, "nosmtp@acme.example", "en").await;
    let m = email_row(&app, "nosmtp@acme.example");
    assert_eq!(m.status, EmailStatus::Pending);
    assert!(m.body_html.as_deref().unwrap_or_default().contains("was not approved"));
    let op = app.operator().await;
    let page = op.get("/operator/emails").await;
    page.assert_contains("E-mail delivery is off");
    page.assert_contains("nosmtp@acme.example");
    page.assert_contains("Pending (1)");
    let mailbox = app.browser().get("/sandbox/mailbox").await;
    mailbox.assert_contains("nosmtp@acme.example");
    mailbox.assert_contains("needs changes");
    // The page in Chinese.
    op.post("/locale", &[("lang", "zh-CN"), ("return_to", "/operator/emails")]).await.assert_contains("邮件发送未开启");
}
