//! Payment readiness: every condition for taking payments, each asked of the other side
//! now, with what is wrong and how to fix it (SPEC §3.6, seed 000 §4, seed 001 §2).

use std::time::Duration;

use super::{NOTIFY_PROBE_TEXT, Wallet, WalletError};
use crate::db::{audit, bindings, releases, wallet as store};
use crate::domain::wallet::{self as rules, ApplicationState, Check, Detail, Outcome, Verdict};

/// The checks' results, in the order shown.
#[derive(Debug, Clone)]
pub struct Readiness {
    pub results: Vec<(Check, Outcome)>,
    pub verdict: Verdict,
    pub checked_at: i64,
}

fn fail(problem: &'static str, fix: &'static str, detail: Option<String>) -> Outcome {
    Outcome::Fail { problem, fix, detail: detail.map(Detail::Words) }
}

impl Wallet {
    /// Runs every check live (concurrently where they do not depend on each other).
    pub async fn readiness(&self, tenant_id: &str) -> Result<Readiness, WalletError> {
        let (provider, notify, alipay, merchant) = tokio::join!(
            self.check_provider(),
            self.check_notify_url(),
            self.check_alipay(tenant_id),
            self.check_merchant(tenant_id),
        );
        let provider = provider?.unwrap_or(Outcome::Pass);
        let (merchant, sub_mchid, merchant_name) = merchant?;
        let (mini_program, appid) = self.check_mini_program(tenant_id).await?;
        let mut results = vec![
            (Check::ProviderKeys, provider.clone()),
            (Check::NotifyUrl, notify),
            (Check::Merchant, merchant.clone()),
            (Check::MiniProgram, mini_program),
        ];
        let blocked = |by| Outcome::Blocked { by };
        let (subject, binding) = match (&appid, &sub_mchid) {
            (None, _) => (blocked(Check::MiniProgram), blocked(Check::MiniProgram)),
            (Some(_), None) => (blocked(Check::Merchant), blocked(Check::Merchant)),
            (Some(appid), Some(sub)) => {
                let subject = self.check_subject(appid, &merchant_name).await;
                let binding = if provider.passed() {
                    let _ = (appid, sub);
                    self.check_binding(tenant_id).await?
                } else {
                    blocked(Check::ProviderKeys)
                };
                (subject, binding)
            }
        };
        results.push((Check::Subject, subject));
        results.push((Check::Binding, binding));
        results.push((Check::Alipay, alipay?));
        Ok(Readiness { verdict: rules::verdict(&results), results, checked_at: crate::now() })
    }

    /// The notification URL answers from the outside, over HTTPS in production.
    async fn check_notify_url(&self) -> Outcome {
        let url = self.wechat_notify_url();
        if !self.sandbox && !url.starts_with("https://") {
            return fail("ready.notify_url.not_https", "ready.notify_url.fix_https", Some(url));
        }
        let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap_or_default();
        match client.get(&url).send().await {
            Ok(r) if r.status().is_success() => match r.text().await {
                Ok(body) if body.contains(NOTIFY_PROBE_TEXT) => Outcome::Pass,
                _ => fail("ready.notify_url.not_us", "ready.notify_url.fix", Some(url)),
            },
            Ok(r) => fail(
                "ready.notify_url.status",
                "ready.notify_url.fix",
                Some(format!("{url}: HTTP {}", r.status().as_u16())),
            ),
            Err(e) => fail("ready.notify_url.unreachable", "ready.notify_url.fix", Some(format!("{url}: {e}"))),
        }
    }

    /// A sub-merchant is open: the application finished (asked again when in progress).
    async fn check_merchant(&self, tenant_id: &str) -> Result<(Outcome, Option<String>, String), WalletError> {
        let state = self.refresh_application(tenant_id).await?;
        let tid = tenant_id.to_string();
        let current = self.db(move |c| Ok(store::current_application(c, &tid)?)).await?;
        Ok(match (state, current) {
            (Some(ApplicationState::Finished), Some(a)) if a.sub_mchid.is_some() => {
                (Outcome::Pass, a.sub_mchid, a.merchant_name)
            }
            (Some(state), Some(a)) => (
                Outcome::Fail {
                    problem: "ready.merchant.not_finished",
                    fix: state.advice_key(),
                    detail: Some(Detail::Key(state.label_key())),
                },
                None,
                a.merchant_name,
            ),
            _ => (fail("ready.merchant.missing", "ready.merchant.missing_fix", None), None, String::new()),
        })
    }

    /// The dedicated mini program is bound and a version is live.
    async fn check_mini_program(&self, tenant_id: &str) -> Result<(Outcome, Option<String>), WalletError> {
        let tid = tenant_id.to_string();
        let (binding, released) = self
            .db(move |c| {
                let b = bindings::active_for_tenant(c, &tid)?;
                let released = match &b {
                    Some(b) => releases::for_tenant(c, &tid, &b.appid)?.and_then(|r| r.released_version),
                    None => None,
                };
                Ok((b.map(|b| b.appid), released))
            })
            .await?;
        Ok(match (binding, released) {
            (None, _) => (fail("ready.mini_program.not_bound", "ready.mini_program.not_bound_fix", None), None),
            (Some(appid), None) => (
                fail("ready.mini_program.not_released", "ready.mini_program.not_released_fix", Some(appid.clone())),
                Some(appid),
            ),
            (Some(appid), Some(_)) => (Outcome::Pass, Some(appid)),
        })
    }

    /// The mini program's legal subject, as WeChat says now, is the merchant's.
    async fn check_subject(&self, appid: &str, merchant_name: &str) -> Outcome {
        match self.platform.sync_authorizer(appid).await {
            Ok(a) if rules::same_subject(&a.principal_name, merchant_name) => Outcome::Pass,
            Ok(a) => fail(
                "ready.subject.mismatch",
                "ready.subject.fix",
                Some(format!("{} ≠ {merchant_name}", a.principal_name)),
            ),
            Err(e) => fail("ready.subject.unreadable", "ready.subject.unreadable_fix", Some(e.to_string())),
        }
    }

    async fn check_binding(&self, tenant_id: &str) -> Result<Outcome, WalletError> {
        let view = self.verify_binding(tenant_id, &audit::Actor::system()).await?;
        Ok(match view {
            Some(b) if b.state == "bound" => Outcome::Pass,
            Some(b) if b.state == "not_bound" => fail("ready.binding.not_bound", "ready.binding.fix", b.detail),
            Some(b) => fail("ready.binding.unknown", "ready.binding.unknown_fix", b.detail),
            None => fail("ready.binding.unknown", "ready.binding.unknown_fix", None),
        })
    }

    /// The Alipay account's keys still work, by a signed call.
    async fn check_alipay(&self, tenant_id: &str) -> Result<Outcome, WalletError> {
        let Some((account, app)) = self.alipay_app(tenant_id).await? else {
            return Ok(fail("ready.alipay.missing", "ready.alipay.missing_fix", None));
        };
        let result = self.probe_alipay(&app).await;
        let now = crate::now();
        let error = result.as_ref().err().map(ToString::to_string);
        let (tid, id, stored) = (tenant_id.to_string(), account.id.clone(), error.clone());
        self.db(move |c| Ok(store::alipay_checked(c, &tid, &id, stored.as_deref(), now)?)).await?;
        Ok(match error {
            None => Outcome::Pass,
            Some(e) => fail("ready.alipay.refused", "ready.alipay.fix", Some(e)),
        })
    }
}
