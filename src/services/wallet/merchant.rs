//! A tenant's WeChat Pay sub-merchant application (进件), its Alipay account and the
//! AppID–merchant binding.

use serde_json::{Value, json};

use super::{FieldProblem, Wallet, WalletError};
use crate::db::{self, audit, bindings, jobs, wallet as store};
use crate::domain::merchant_form::{MerchantForm, Sensitive, mask};
use crate::domain::wallet::{self as rules, ApplicationState};
use crate::pay::alipay_client::{AlipayError, App};
use crate::pay::keys::{PrivateKey, PublicKey};
use crate::pay::wechatpay::encrypt_field;
use crate::pay::wechatpay_client::{AuditDetail, Merchant, PayError};

/// The tenant's application as the wallet page shows it.
#[derive(Debug, Clone)]
pub struct ApplicationView {
    pub id: String,
    pub state: ApplicationState,
    pub state_msg: String,
    pub business_code: String,
    pub applyment_id: Option<i64>,
    pub sub_mchid: Option<String>,
    pub sign_url: Option<String>,
    pub audit_detail: Vec<AuditDetail>,
    pub merchant_name: String,
    pub sub_appid: Option<String>,
    pub form: MerchantForm,
    /// The sensitive fields masked (never in full).
    pub masked: Sensitive,
    pub last_error: Option<String>,
    pub submitted_at: Option<i64>,
    pub checked_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub created_at: i64,
    pub replaced_at: Option<i64>,
}

/// What "Submit application" came to.
#[derive(Debug, Clone)]
pub enum SubmitOutcome {
    /// WeChat Pay took it; its state now.
    Submitted(ApplicationState),
    /// The form has problems (nothing was sent).
    Invalid(Vec<(&'static str, &'static str)>),
    /// WeChat Pay refused it: its words.
    Refused(String),
    /// The platform has no WeChat Pay service provider configured.
    NoProvider,
    /// The application is with WeChat Pay (or done): it cannot be changed now.
    Locked,
}

/// The binding of the tenant's mini program to its merchant, as last read back.
#[derive(Debug, Clone)]
pub struct BindingView {
    pub appid: String,
    pub sub_mchid: String,
    pub state: String,
    pub method: String,
    pub detail: Option<String>,
    pub checked_at: Option<i64>,
}

fn seal_sensitive(w: &Wallet, s: &Sensitive) -> String {
    w.sealer.seal(&serde_json::to_string(s).unwrap_or_default())
}

impl Wallet {
    fn view_of(&self, a: store::Application) -> Result<ApplicationView, WalletError> {
        let mut form: MerchantForm = serde_json::from_str(&a.form).unwrap_or_default();
        let sensitive: Sensitive = serde_json::from_str(&self.unseal(&a.sensitive_sealed)?).unwrap_or_default();
        form.sensitive = Sensitive::default();
        let masked = Sensitive {
            id_card_name: mask(&sensitive.id_card_name),
            id_card_number: mask(&sensitive.id_card_number),
            account_name: sensitive.account_name.clone(),
            account_number: mask(&sensitive.account_number),
            contact_name: sensitive.contact_name.clone(),
            mobile_phone: mask(&sensitive.mobile_phone),
            contact_email: sensitive.contact_email.clone(),
        };
        Ok(ApplicationView {
            state: ApplicationState::parse(&a.state).unwrap_or(ApplicationState::Draft),
            audit_detail: serde_json::from_str(&a.audit_detail).unwrap_or_default(),
            id: a.id,
            state_msg: a.state_msg,
            business_code: a.business_code,
            applyment_id: a.applyment_id,
            sub_mchid: a.sub_mchid,
            sign_url: a.sign_url,
            merchant_name: a.merchant_name,
            sub_appid: a.sub_appid,
            form,
            masked,
            last_error: a.last_error,
            submitted_at: a.submitted_at,
            checked_at: a.checked_at,
            finished_at: a.finished_at,
            created_at: a.created_at,
            replaced_at: a.replaced_at,
        })
    }

    /// The tenant's current application and its replaced ones.
    pub async fn applications(
        &self,
        tenant_id: &str,
    ) -> Result<(Option<ApplicationView>, Vec<ApplicationView>), WalletError> {
        let tid = tenant_id.to_string();
        let (current, past) =
            self.db(move |c| Ok((store::current_application(c, &tid)?, store::past_applications(c, &tid)?))).await?;
        let current = current.map(|a| self.view_of(a)).transpose()?;
        let past = past.into_iter().map(|a| self.view_of(a)).collect::<Result<_, _>>()?;
        Ok((current, past))
    }

    /// The sensitive fields as stored for the tenant's editable application (to keep what
    /// the tenant left blank when correcting it).
    async fn stored_sensitive(&self, tenant_id: &str) -> Result<Option<(store::Application, Sensitive)>, WalletError> {
        let tid = tenant_id.to_string();
        let current = self.db(move |c| Ok(store::current_application(c, &tid)?)).await?;
        match current {
            Some(a) => {
                let s = serde_json::from_str(&self.unseal(&a.sensitive_sealed)?).unwrap_or_default();
                Ok(Some((a, s)))
            }
            None => Ok(None),
        }
    }

    /// Fills the sensitive fields the tenant left blank from the stored application, and the
    /// images not chosen again from it.
    pub async fn merge_stored(&self, tenant_id: &str, form: &mut MerchantForm) -> Result<(), WalletError> {
        let Some((a, stored)) = self.stored_sensitive(tenant_id).await? else { return Ok(()) };
        let before: MerchantForm = serde_json::from_str(&a.form).unwrap_or_default();
        let s = &mut form.sensitive;
        for (mine, theirs) in [
            (&mut s.id_card_name, stored.id_card_name),
            (&mut s.id_card_number, stored.id_card_number),
            (&mut s.account_name, stored.account_name),
            (&mut s.account_number, stored.account_number),
            (&mut s.contact_name, stored.contact_name),
            (&mut s.mobile_phone, stored.mobile_phone),
            (&mut s.contact_email, stored.contact_email),
        ] {
            if mine.is_empty() {
                *mine = theirs;
            }
        }
        for (mine, file, theirs, their_file) in [
            (&mut form.license_media, &mut form.license_file, before.license_media, before.license_file),
            (&mut form.id_front_media, &mut form.id_front_file, before.id_front_media, before.id_front_file),
            (&mut form.id_back_media, &mut form.id_back_file, before.id_back_media, before.id_back_file),
        ] {
            if mine.is_empty() {
                *mine = theirs;
                *file = their_file;
            }
        }
        Ok(())
    }

    /// Uploads an application image to WeChat Pay: its media id, or WeChat Pay's refusal.
    pub async fn upload_image(&self, filename: &str, bytes: Vec<u8>) -> Result<Result<String, String>, WalletError> {
        let Some(m) = self.merchant().await? else { return Ok(Err(String::new())) };
        Ok(self.wxpay.upload_image(&m, filename, bytes).await.map_err(|e| e.to_string()))
    }

    /// Keeps the form as typed (a draft, or a rejected application being corrected), so
    /// uploaded images and entries survive a validation error.
    pub async fn save_form(
        &self,
        tenant_id: &str,
        actor: &audit::Actor,
        form: &MerchantForm,
    ) -> Result<bool, WalletError> {
        let now = crate::now();
        let tid = tenant_id.to_string();
        let sealed = seal_sensitive(self, &form.sensitive);
        let form_json = serde_json::to_string(form).unwrap_or_default();
        let name = form.merchant_name.clone();
        let actor_label = actor.label.clone();
        let sub_appid_wanted = form.scene_mini_program;
        self.db(move |c| {
            db::write_tx(c, |c| {
                let sub_appid =
                    if sub_appid_wanted { bindings::active_for_tenant(c, &tid)?.map(|b| b.appid) } else { None };
                match store::current_application(c, &tid)? {
                    Some(a) if ApplicationState::parse(&a.state).is_some_and(ApplicationState::editable) => {
                        let typed = store::TypedForm {
                            merchant_name: &name,
                            sub_appid: sub_appid.as_deref(),
                            form: &form_json,
                            sensitive_sealed: &sealed,
                        };
                        store::save_form(c, &tid, &a.id, &typed, now)?;
                        Ok(true)
                    }
                    Some(_) => Ok(false),
                    None => {
                        let id = crate::new_id();
                        store::insert_application(
                            c,
                            &store::Application {
                                business_code: rules::business_code(&id),
                                id,
                                tenant_id: tid.clone(),
                                current_key: Some(tid.clone()),
                                state: ApplicationState::Draft.as_str().into(),
                                state_msg: String::new(),
                                applyment_id: None,
                                sub_mchid: None,
                                sign_url: None,
                                audit_detail: "[]".into(),
                                merchant_name: name.clone(),
                                sub_appid,
                                form: form_json.clone(),
                                sensitive_sealed: sealed.clone(),
                                last_error: None,
                                submitted_at: None,
                                checked_at: None,
                                next_check_at: None,
                                finished_at: None,
                                replaced_at: None,
                                created_by: actor_label.clone(),
                                created_at: now,
                                updated_at: now,
                            },
                        )?;
                        Ok(true)
                    }
                }
            })
        })
        .await
    }

    /// Checks the form, keeps it, and submits it to WeChat Pay (the same business code again
    /// after a rejection: WeChat Pay replaces the application).
    pub async fn submit_application(
        &self,
        tenant_id: &str,
        actor: &audit::Actor,
        form: &MerchantForm,
    ) -> Result<SubmitOutcome, WalletError> {
        if !self.save_form(tenant_id, actor, form).await? {
            return Ok(SubmitOutcome::Locked);
        }
        let problems = crate::domain::merchant_form::check(form);
        if !problems.is_empty() {
            return Ok(SubmitOutcome::Invalid(problems));
        }
        let Some(m) = self.merchant().await? else { return Ok(SubmitOutcome::NoProvider) };
        let Some((a, _)) = self.stored_sensitive(tenant_id).await? else { return Ok(SubmitOutcome::Locked) };
        let body = applyment_body(&m, &a.business_code, a.sub_appid.as_deref(), form);
        let now = crate::now();
        let tid = tenant_id.to_string();
        match self.wxpay.submit_applyment(&m, &body).await {
            Err(e) => {
                let text = pay_error_text(&e);
                let (tid, id, stored) = (tid.clone(), a.id.clone(), text.clone());
                self.db(move |c| Ok(store::application_error(c, &tid, &id, &stored, now)?)).await?;
                Ok(SubmitOutcome::Refused(text))
            }
            Ok(applyment_id) => {
                let actor = actor.clone();
                let (id, code) = (a.id.clone(), a.business_code.clone());
                let state = ApplicationState::Auditing;
                self.db(move |c| {
                    db::write_tx(c, |c| {
                        store::update_state(
                            c,
                            &tid,
                            &id,
                            &store::StateUpdate {
                                state: state.as_str(),
                                state_msg: "",
                                applyment_id: Some(applyment_id),
                                sub_mchid: None,
                                sign_url: None,
                                audit_detail: "[]",
                                last_error: None,
                                submitted_at: Some(now),
                                next_check_at: Some(now),
                                finished_at: None,
                            },
                            now,
                        )?;
                        jobs::enqueue(c, &jobs::PollApplication { tenant_id: tid.clone() }, Some(&tid), now, now)?;
                        audit::write(
                            c,
                            audit::Record {
                                actor: &actor,
                                tenant_id: Some(&tid),
                                action: "wechatpay.application_submitted",
                                subject: &code,
                                before: Some(&json!({"state": a.state})),
                                after: Some(&json!({"state": state.as_str(), "applyment_id": applyment_id})),
                            },
                            now,
                        )?;
                        Ok(())
                    })
                })
                .await?;
                // Ask at once, so the page shows WeChat Pay's state (and sign link) rather than ours.
                let now_state = self.refresh_application(tenant_id).await?.unwrap_or(state);
                Ok(SubmitOutcome::Submitted(now_state))
            }
        }
    }

    /// Asks WeChat Pay where the tenant's application is and stores it (one transaction with
    /// its audit row when the state changed). The state, or `None` when there is nothing to ask.
    pub async fn refresh_application(&self, tenant_id: &str) -> Result<Option<ApplicationState>, WalletError> {
        let tid = tenant_id.to_string();
        let current = self.db(move |c| Ok(store::current_application(c, &tid)?)).await?;
        let Some(a) = current else { return Ok(None) };
        let before = ApplicationState::parse(&a.state).unwrap_or(ApplicationState::Draft);
        if a.applyment_id.is_none() || before == ApplicationState::Draft {
            return Ok(Some(before));
        }
        let Some(m) = self.merchant().await? else { return Ok(Some(before)) };
        let now = crate::now();
        let tid = tenant_id.to_string();
        let status = match self.wxpay.applyment(&m, &a.business_code).await {
            Ok(s) => s,
            Err(e) => {
                let text = pay_error_text(&e);
                let id = a.id.clone();
                self.db(move |c| Ok(store::application_error(c, &tid, &id, &text, now)?)).await?;
                return Ok(Some(before));
            }
        };
        let Some(state) = ApplicationState::from_wechatpay(&status.applyment_state) else {
            tracing::warn!(state = %status.applyment_state, "WeChat Pay answered an application state the console does not know");
            return Ok(Some(before));
        };
        let next_check_at = rules::next_poll_secs(state, self.poll_secs).map(|s| now + s);
        let detail = serde_json::to_string(&status.audit_detail).unwrap_or_else(|_| "[]".into());
        let finished_at = (state == ApplicationState::Finished).then_some(a.finished_at.unwrap_or(now));
        self.db(move |c| {
            db::write_tx(c, |c| {
                store::update_state(
                    c,
                    &tid,
                    &a.id,
                    &store::StateUpdate {
                        state: state.as_str(),
                        state_msg: &status.applyment_state_msg,
                        applyment_id: a.applyment_id.or(Some(status.applyment_id)),
                        sub_mchid: status.sub_mchid.as_deref(),
                        sign_url: status.sign_url.as_deref(),
                        audit_detail: &detail,
                        last_error: None,
                        submitted_at: a.submitted_at,
                        next_check_at,
                        finished_at,
                    },
                    now,
                )?;
                // While WeChat Pay works on it, a background check is queued (a no-op when one
                // is, such as the job running this very check).
                if let Some(at) = next_check_at {
                    jobs::enqueue(c, &jobs::PollApplication { tenant_id: tid.clone() }, Some(&tid), at, now)?;
                }
                if state != before {
                    if let (ApplicationState::Finished, Some(sub), Some(appid)) =
                        (state, status.sub_mchid.as_deref(), a.sub_appid.as_deref())
                        && store::binding(c, &tid, sub, appid)?.is_none()
                    {
                        store::put_binding(
                            c,
                            &store::Binding {
                                tenant_id: tid.clone(),
                                sub_mchid: sub.into(),
                                appid: appid.into(),
                                state: "unknown".into(),
                                method: "onboarding".into(),
                                detail: None,
                                checked_at: None,
                            },
                        )?;
                    }
                    audit::write(
                        c,
                        audit::Record {
                            actor: &audit::Actor::system(),
                            tenant_id: Some(&tid),
                            action: "wechatpay.application_state",
                            subject: &a.business_code,
                            before: Some(&json!({"state": before.as_str()})),
                            after: Some(&json!({"state": state.as_str(), "sub_mchid": status.sub_mchid})),
                        },
                        now,
                    )?;
                }
                Ok(())
            })
        })
        .await?;
        Ok(Some(state))
    }

    /// Starts over with a new application; the current one stays in the history. Refused
    /// while WeChat Pay is working on it.
    pub async fn replace_application(&self, tenant_id: &str, actor: &audit::Actor) -> Result<bool, WalletError> {
        let tid = tenant_id.to_string();
        let actor = actor.clone();
        self.db(move |c| {
            db::write_tx(c, |c| {
                let Some(a) = store::current_application(c, &tid)? else { return Ok(false) };
                let state = ApplicationState::parse(&a.state).unwrap_or(ApplicationState::Draft);
                if state.in_progress() {
                    return Ok(false);
                }
                let now = crate::now();
                store::replace_application(c, &tid, now)?;
                audit::write(
                    c,
                    audit::Record {
                        actor: &actor,
                        tenant_id: Some(&tid),
                        action: "wechatpay.application_replaced",
                        subject: &a.business_code,
                        before: Some(&json!({"state": a.state, "sub_mchid": a.sub_mchid})),
                        after: None::<&Value>,
                    },
                    now,
                )?;
                Ok(true)
            })
        })
        .await
    }

    // ---------------------------------------------------------------- Alipay

    /// The tenant's Alipay app, unsealed for a call.
    pub(super) async fn alipay_app(&self, tenant_id: &str) -> Result<Option<(store::AlipayAccount, App)>, WalletError> {
        let tid = tenant_id.to_string();
        let current = self.db(move |c| Ok(store::current_alipay(c, &tid)?)).await?;
        let Some(a) = current else { return Ok(None) };
        let key = PrivateKey::parse(&self.unseal(&a.private_key_sealed)?).map_err(|_| WalletError::Sealed)?;
        let public = PublicKey::parse(&self.unseal(&a.alipay_public_key_sealed)?).map_err(|_| WalletError::Sealed)?;
        let app = App { app_id: a.app_id.clone(), key, alipay_public_key: public };
        Ok(Some((a, app)))
    }

    /// A signed call that only succeeds with the right app id, private key and Alipay public
    /// key: a query for a trade that does not exist ("trade does not exist" is the pass).
    pub(super) async fn probe_alipay(&self, app: &App) -> Result<(), AlipayError> {
        let probe = format!("MHKEYCHECK{}", crate::now());
        match self.alipay.call(app, "alipay.trade.query", &json!({"out_trade_no": probe}), None).await {
            Ok(_) => Ok(()),
            Err(AlipayError::Refused { sub_code, .. }) if sub_code == "ACQ.TRADE_NOT_EXIST" => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Verifies the credentials with a real signed call, then saves them sealed as the
    /// tenant's Alipay account (the one before stays in the history).
    pub async fn save_alipay(
        &self,
        tenant_id: &str,
        actor: &audit::Actor,
        app_id: &str,
        private_key: &str,
        alipay_public_key: &str,
    ) -> Result<Result<(), Vec<FieldProblem>>, WalletError> {
        let mut problems = Vec::new();
        if !(16..=20).contains(&app_id.len()) || !app_id.chars().all(|c| c.is_ascii_digit()) {
            problems.push(FieldProblem::new("app_id", "alipay.err.app_id", ""));
        }
        let key = PrivateKey::parse(private_key)
            .map_err(|e| problems.push(FieldProblem::new("private_key", e.message_key(), "")))
            .ok();
        let public = PublicKey::parse(alipay_public_key)
            .map_err(|e| problems.push(FieldProblem::new("alipay_public_key", e.message_key(), "")))
            .ok();
        if let (Some(k), Some(p)) = (&key, &public)
            && k.public_key() == *p
        {
            problems.push(FieldProblem::new("alipay_public_key", "alipay.err.own_public_key", ""));
        }
        let (Some(key), Some(public), true) = (key, public, problems.is_empty()) else {
            return Ok(Err(problems));
        };
        let app = App { app_id: app_id.to_string(), key: key.clone(), alipay_public_key: public.clone() };
        if let Err(e) = self.probe_alipay(&app).await {
            return Ok(Err(vec![alipay_problem(&e)]));
        }
        let now = crate::now();
        let row = store::AlipayAccount {
            id: crate::new_id(),
            tenant_id: tenant_id.to_string(),
            current_key: Some(tenant_id.to_string()),
            app_id: app_id.to_string(),
            private_key_sealed: self.sealer.seal(private_key.trim()),
            alipay_public_key_sealed: self.sealer.seal(alipay_public_key.trim()),
            key_hint: super::key_hint(&key.public_key()),
            verified_at: now,
            checked_at: Some(now),
            check_error: None,
            replaced_at: None,
            created_by: actor.label.clone(),
            created_at: now,
        };
        let actor = actor.clone();
        self.db(move |c| {
            db::write_tx(c, |c| {
                let before =
                    store::current_alipay(c, &row.tenant_id)?.map(|a| json!({"app_id": a.app_id, "key": a.key_hint}));
                store::put_alipay(c, &row, now)?;
                audit::write(
                    c,
                    audit::Record {
                        actor: &actor,
                        tenant_id: Some(&row.tenant_id),
                        action: "alipay.account_saved",
                        subject: &row.app_id,
                        before: before.as_ref(),
                        after: Some(&json!({"app_id": row.app_id, "key": row.key_hint})),
                    },
                    now,
                )?;
                Ok(())
            })
        })
        .await?;
        Ok(Ok(()))
    }

    // ---------------------------------------------------------------- the AppID–merchant binding

    pub async fn binding_view(&self, tenant_id: &str) -> Result<Option<BindingView>, WalletError> {
        let tid = tenant_id.to_string();
        self.db(move |c| {
            let Some(a) = store::current_application(c, &tid)? else { return Ok(None) };
            let (Some(sub), Some(mp)) = (a.sub_mchid, bindings::active_for_tenant(c, &tid)?) else { return Ok(None) };
            let b = store::binding(c, &tid, &sub, &mp.appid)?;
            let onboarding = a.sub_appid.as_deref() == Some(mp.appid.as_str());
            Ok(Some(match b {
                Some(b) => BindingView {
                    appid: b.appid,
                    sub_mchid: b.sub_mchid,
                    state: b.state,
                    method: b.method,
                    detail: b.detail,
                    checked_at: b.checked_at,
                },
                None => BindingView {
                    appid: mp.appid,
                    sub_mchid: sub,
                    state: "unknown".into(),
                    method: if onboarding { "onboarding" } else { "merchant" }.into(),
                    detail: None,
                    checked_at: None,
                },
            }))
        })
        .await
    }

    /// Reads the binding back from WeChat Pay: a 0.01 QR code order naming the mini program
    /// and the merchant, closed at once. Only a bound pair gets an order. Stores what it found.
    pub async fn verify_binding(
        &self,
        tenant_id: &str,
        actor: &audit::Actor,
    ) -> Result<Option<BindingView>, WalletError> {
        let Some(view) = self.binding_view(tenant_id).await? else { return Ok(None) };
        let Some(m) = self.merchant().await? else { return Ok(Some(view)) };
        let (state, detail) = self.probe_binding(&m, &view.sub_mchid, &view.appid).await;
        let now = crate::now();
        let row = store::Binding {
            tenant_id: tenant_id.to_string(),
            sub_mchid: view.sub_mchid.clone(),
            appid: view.appid.clone(),
            state: state.to_string(),
            method: view.method.clone(),
            detail: detail.clone(),
            checked_at: Some(now),
        };
        let actor = actor.clone();
        let before = view.state.clone();
        self.db(move |c| {
            db::write_tx(c, |c| {
                store::put_binding(c, &row)?;
                if before != row.state {
                    audit::write(
                        c,
                        audit::Record {
                            actor: &actor,
                            tenant_id: Some(&row.tenant_id),
                            action: "wechatpay.binding_checked",
                            subject: &format!("{}/{}", row.appid, row.sub_mchid),
                            before: Some(&json!({"state": before})),
                            after: Some(&json!({"state": row.state})),
                        },
                        now,
                    )?;
                }
                Ok(())
            })
        })
        .await?;
        self.binding_view(tenant_id).await
    }

    /// `bound`, `not_bound`, or `unknown` with WeChat Pay's words.
    pub(super) async fn probe_binding(
        &self,
        m: &Merchant,
        sub_mchid: &str,
        appid: &str,
    ) -> (&'static str, Option<String>) {
        let out_trade_no = rules::out_trade_no("BC", &crate::new_id());
        let body = json!({
            "sp_appid": m.sp_appid, "sp_mchid": m.sp_mchid, "sub_appid": appid, "sub_mchid": sub_mchid,
            "description": "minihost AppID binding check", "out_trade_no": out_trade_no,
            "notify_url": self.wechat_notify_url(), "amount": {"total": 1, "currency": "CNY"},
        });
        match self.wxpay.prepay_native(m, &body).await {
            Ok(_) => {
                if let Err(e) = self.wxpay.close_order(m, sub_mchid, &out_trade_no).await {
                    tracing::warn!(error = %e, "could not close the binding check order");
                }
                ("bound", None)
            }
            Err(PayError::Api { code, message, .. }) if self.mismatch_codes.contains(&code) => {
                ("not_bound", Some(format!("{code}: {message}")))
            }
            Err(e) => ("unknown", Some(pay_error_text(&e))),
        }
    }
}

/// WeChat Pay's refusal in its own words, with the code.
pub(super) fn pay_error_text(e: &PayError) -> String {
    match e {
        PayError::Api { code, message, .. } => format!("{message} ({code})"),
        other => other.to_string(),
    }
}

fn alipay_problem(e: &AlipayError) -> FieldProblem {
    use crate::pay::alipay::ResponseError;
    match e {
        AlipayError::Refused { sub_code, sub_msg, .. } => match sub_code.as_str() {
            "isv.invalid-app-id" => FieldProblem::new("app_id", "alipay.err.unknown_app", sub_msg.clone()),
            "isv.invalid-signature" => FieldProblem::new("private_key", "alipay.err.signature", sub_msg.clone()),
            _ => FieldProblem::new("app_id", "alipay.err.refused", format!("{sub_code}: {sub_msg}")),
        },
        AlipayError::Unverified(ResponseError::BadSignature | ResponseError::Unsigned) => {
            FieldProblem::new("alipay_public_key", "alipay.err.public_key", "")
        }
        AlipayError::Unverified(e) => FieldProblem::new("alipay_public_key", "alipay.err.public_key", e.to_string()),
        AlipayError::Transport(t) | AlipayError::Decode(t) => {
            FieldProblem::new("app_id", "alipay.err.unreachable", t.clone())
        }
    }
}

/// The `applyment4sub` body (reference: WeChat Pay's 特约商户进件), sensitive fields
/// encrypted with the platform's public key.
fn applyment_body(m: &Merchant, business_code: &str, sub_appid: Option<&str>, f: &MerchantForm) -> Value {
    let enc = |s: &str| encrypt_field(&m.platform.key, s);
    let s = &f.sensitive;
    let mut scenes = Vec::new();
    if f.scene_mini_program {
        scenes.push("SALES_SCENES_MINI_PROGRAM");
    }
    if f.scene_web {
        scenes.push("SALES_SCENES_WEB");
    }
    let mut sales = json!({ "sales_scenes_type": scenes });
    if f.scene_mini_program {
        let mut info = json!({ "mini_program_appid": m.sp_appid });
        if let Some(appid) = sub_appid {
            info["mini_program_sub_appid"] = json!(appid);
        }
        sales["mini_program_info"] = info;
    }
    json!({
        "business_code": business_code,
        "contact_info": {
            "contact_type": "LEGAL",
            "contact_name": enc(&s.contact_name),
            "mobile_phone": enc(&s.mobile_phone),
            "contact_email": enc(&s.contact_email),
        },
        "subject_info": {
            "subject_type": if f.subject_type == "individual" { "SUBJECT_TYPE_INDIVIDUAL" } else { "SUBJECT_TYPE_ENTERPRISE" },
            "business_license_info": {
                "license_copy": f.license_media,
                "license_number": f.license_number,
                "merchant_name": f.merchant_name,
                "legal_person": f.legal_person,
            },
            "identity_info": {
                "id_doc_type": "IDENTIFICATION_TYPE_IDCARD",
                "id_card_info": {
                    "id_card_copy": f.id_front_media,
                    "id_card_national": f.id_back_media,
                    "id_card_name": enc(&s.id_card_name),
                    "id_card_number": enc(&s.id_card_number),
                    "card_period_begin": f.card_period_begin,
                    "card_period_end": if f.forever() { "长期".to_string() } else { f.card_period_end.clone() },
                },
            },
        },
        "business_info": {
            "merchant_shortname": f.merchant_shortname,
            "service_phone": f.service_phone,
            "sales_info": sales,
        },
        "settlement_info": {
            "settlement_id": f.settlement_id,
            "qualification_type": f.qualification_type,
        },
        "bank_account_info": {
            "bank_account_type": if f.bank_account_type == "personal" { "BANK_ACCOUNT_TYPE_PERSONAL" } else { "BANK_ACCOUNT_TYPE_CORPORATE" },
            "account_name": enc(&s.account_name),
            "account_bank": f.account_bank,
            "bank_address_code": f.bank_address_code,
            "account_number": enc(&s.account_number),
        },
    })
}
