//! What the human page `/sandbox/` shows of code management and reads from its forms:
//! the drafts and the template library, the "Developer upload" form (its input kept and
//! its errors beside the fields when refused), the platform's audit quota, each mini
//! program's versions, and the code reviews' decisions in the reviewer's queue. The
//! handlers are in `sandbox::pages`, which renders the whole page.

use diesel::QueryResult;

use super::dev::QuotaEdit;
use super::review::Verdict;
use super::rules::{self, Upload, UploadError};
use super::state;
use crate::db::DbConn;
use crate::sandbox::manage::catalog;
use crate::sandbox::manage::review::DecideError;
use crate::sandbox::page::CheckedForm;
use crate::sandbox::store;

pub struct DraftView {
    pub draft_id: i64,
    pub user_version: String,
    pub user_desc: String,
    pub privacy_apis_text: String,
    pub create_time: i64,
}

pub struct TemplateView {
    pub template_id: i64,
    pub draft_id: i64,
    pub user_version: String,
    pub user_desc: String,
    pub template_type: i32,
    pub create_time: i64,
}

/// One mini program's versions: the trial, the newest submission and the live one.
pub struct AppView {
    pub appid: String,
    pub nick_name: String,
    pub trial: Option<(String, i64)>,
    pub audit: Option<(i64, i32)>,
    pub live: Option<(String, i64)>,
}

/// Everything the page shows of code management.
pub struct CodeView {
    pub drafts: Vec<DraftView>,
    pub templates: Vec<TemplateView>,
    pub quota: state::Quota,
    pub apps: Vec<AppView>,
    pub template_limit: i64,
}

/// Loads the page's code management view (on the page's one connection).
pub fn load(conn: &mut DbConn, now: i64) -> QueryResult<CodeView> {
    let drafts = state::list_drafts(conn)?
        .into_iter()
        .map(|d| DraftView {
            privacy_apis_text: state::parse_apis(&d.privacy_apis).join(", "),
            draft_id: d.draft_id,
            user_version: d.user_version,
            user_desc: d.user_desc,
            create_time: d.create_time,
        })
        .collect();
    let templates = state::list_templates(conn, None)?
        .into_iter()
        .map(|t| TemplateView {
            template_id: t.template_id,
            draft_id: t.draft_id,
            user_version: t.user_version,
            user_desc: t.user_desc,
            template_type: t.template_type,
            create_time: t.create_time,
        })
        .collect();
    let mut apps = Vec::new();
    for a in store::list_accounts(conn)?.into_iter().filter(store::Account::is_mini_program) {
        let trial = state::find_trial(conn, &a.appid)?.map(|t| (t.user_version, t.committed_at));
        let audit = state::latest_audit(conn, &a.appid)?.map(|x| (x.auditid, x.status));
        let live = state::history(conn, &a.appid)?.into_iter().next().map(|r| (r.user_version, r.release_time));
        apps.push(AppView { appid: a.appid, nick_name: a.nick_name, trial, audit, live });
    }
    Ok(CodeView { drafts, templates, quota: state::quota(conn, now)?, apps, template_limit: rules::TEMPLATE_LIMIT })
}

/// A form field and the catalog key of its error.
pub type FieldError = (&'static str, &'static str);

/// A privacy interface as a checkbox of the upload form.
pub struct ApiChoice {
    pub name: &'static str,
    pub label: &'static str,
    pub checked: bool,
}

/// The upload form as given, and the errors to show beside its fields.
#[derive(Debug, Default, Clone)]
pub struct UploadForm {
    pub user_version: String,
    pub user_desc: String,
    pub create_time: String,
    pub privacy_apis: Vec<String>,
    /// The field and its message, in the page's language.
    pub errors: Vec<(&'static str, String)>,
}

impl UploadForm {
    pub fn of(form: &CheckedForm) -> Self {
        Self {
            user_version: form.field("user_version").unwrap_or_default().to_string(),
            user_desc: form.field("user_desc").unwrap_or_default().to_string(),
            create_time: form.field("create_time").unwrap_or_default().to_string(),
            privacy_apis: form.all("privacy_api").map(str::to_string).collect(),
            errors: Vec::new(),
        }
    }

    /// The message to show beside `field`, if any.
    pub fn error(&self, field: &str) -> Option<&str> {
        self.errors.iter().find(|(f, _)| *f == field).map(|(_, m)| m.as_str())
    }

    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    pub fn choices(&self) -> Vec<ApiChoice> {
        catalog::PRIVACY_APIS
            .iter()
            .map(|a| ApiChoice {
                name: a.api_name,
                label: a.api_ch_name,
                checked: self.privacy_apis.iter().any(|p| p == a.api_name),
            })
            .collect()
    }

    /// The upload and its time, or each field and its error key (under `sandbox.err.`).
    pub fn check(&self) -> Result<(Upload, Option<i64>), Vec<FieldError>> {
        let mut errors = Vec::new();
        let create_time = match self.create_time.trim() {
            "" => None,
            t => {
                let parsed = parse_utc(t);
                if parsed.is_none() {
                    errors.push(("create_time", "create_time_invalid"));
                }
                parsed
            }
        };
        // Each field on its own, so that every field with a problem says so.
        let version = rules::upload(&self.user_version, "", []).err();
        let desc = rules::upload("v", &self.user_desc, []).err();
        let apis = rules::upload("v", "", self.privacy_apis.iter().map(String::as_str)).err();
        for e in [version, desc, apis].into_iter().flatten() {
            errors.push((e.field(), e.key()));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let upload = rules::upload(&self.user_version, &self.user_desc, self.privacy_apis.iter().map(String::as_str))
            .map_err(|e: UploadError| vec![(e.field(), e.key())])?;
        Ok((upload, create_time))
    }
}

/// A `datetime-local` value (`YYYY-MM-DDTHH:MM`, seconds optional) read as UTC.
pub fn parse_utc(text: &str) -> Option<i64> {
    let long = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let short = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]");
    let t =
        time::PrimitiveDateTime::parse(text, &long).or_else(|_| time::PrimitiveDateTime::parse(text, &short)).ok()?;
    Some(t.assume_utc().unix_timestamp()).filter(|s| *s > 0)
}

/// The quota form's change; `Err` when a field is not a whole number from 0 to 100000.
pub fn quota_edit(form: &CheckedForm) -> Result<QuotaEdit, &'static str> {
    let field = |k: &'static str| -> Result<Option<i32>, &'static str> {
        match form.field(k).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => QuotaEdit::value(k, Some(v.parse::<i64>().map_err(|_| k)?)),
        }
    };
    Ok(QuotaEdit {
        rest: field("rest")?,
        limit: field("limit")?,
        speedup_rest: field("speedup_rest")?,
        speedup_limit: field("speedup_limit")?,
    })
}

/// A decision of the reviewer's queue as the page's forms post it (`decision`, `reason`,
/// `screenshots`, `lose`).
pub fn verdict(form: &CheckedForm) -> Result<Verdict, DecideError> {
    let screenshots = match form.field("screenshots").filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => Some(v.parse::<i64>().map_err(|_| DecideError::BadScreenshots)?),
    };
    Verdict::parse(
        form.field("decision").unwrap_or_default(),
        form.field("reason"),
        screenshots,
        form.field("lose").is_some(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> CheckedForm {
        CheckedForm(pairs.iter().map(|(k, v)| ((*k).to_string(), (*v).to_string())).collect())
    }

    #[test]
    fn the_upload_form_reports_every_bad_field() {
        let f = UploadForm::of(&form(&[
            ("user_version", ""),
            ("user_desc", &"d".repeat(201)),
            ("create_time", "yesterday"),
            ("privacy_api", "wx.getLocation"),
        ]));
        let errors = f.check().unwrap_err();
        assert_eq!(
            errors,
            vec![
                ("create_time", "create_time_invalid"),
                ("user_version", "version_required"),
                ("user_desc", "desc_too_long")
            ]
        );
        assert!(f.choices().iter().any(|c| c.name == "wx.getLocation" && c.checked));
        let ok = UploadForm::of(&form(&[("user_version", "1.2.0"), ("create_time", "2026-11-25T08:30")]));
        let (upload, at) = ok.check().unwrap();
        assert_eq!((upload.user_version.as_str(), at), ("1.2.0", Some(1_795_595_400)));
    }

    #[test]
    fn page_decisions_read_the_screenshots_and_the_lost_push() {
        let v =
            verdict(&form(&[("decision", "reject"), ("reason", "r"), ("screenshots", "2"), ("lose", "on")])).unwrap();
        assert_eq!((v.screenshots, v.lose), (2, true));
        assert!(verdict(&form(&[("decision", "reject"), ("reason", "r"), ("screenshots", "x")])).is_err());
        assert_eq!(
            quota_edit(&form(&[("rest", "0"), ("limit", "")])),
            Ok(QuotaEdit { rest: Some(0), ..Default::default() })
        );
        assert_eq!(quota_edit(&form(&[("rest", "-1")])), Err("rest"));
    }
}
