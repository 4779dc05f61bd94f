//! The Company Wallet (SPEC §3.6): the platform's WeChat Pay service provider checked live
//! on save, each tenant's sub-merchant application through WeChat Pay's onboarding and its
//! background re-check, the Alipay account verified by a signed call, the AppID–merchant
//! binding read back by a real prepay, payment readiness as one verified state, the 0.01
//! self-test, and the payment notifications that prove it.
//!
//! Nothing here trusts a stored "ok": every check that readiness shows asks the other side
//! again. Secrets are unsealed only for the call that needs them.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::db::{self, DbError, DbPool, audit, wallet as store};
use crate::domain::wallet::{Detail, Outcome};
use crate::pay::alipay_client::AlipayClient;
use crate::pay::keys::{Certificate, KeyError, PrivateKey, PublicKey, normalise_serial};
use crate::pay::wechatpay::PlatformVerifier;
use crate::pay::wechatpay_client::{Merchant, PayError, WechatPayClient};
use crate::secrets::Sealer;
use crate::services::platform::Platform;

mod checkout;
mod merchant;
mod notify;
mod readiness;

pub use checkout::{Attempt, BuyerInput, CheckoutError, PaidFacts, Refusal, SettingsInput};
pub use merchant::{ApplicationView, BindingView, SubmitOutcome};
pub use notify::{
    AlipayNotice, NotifyRefusal, SELF_TEST_FEN, SelfTestStart, WechatNotice, decode_wechat_notification,
    open_wechat_notification, read_alipay_notification,
};
pub use readiness::Readiness;

/// What can go wrong that is ours, not the other side's refusal.
#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    #[error(transparent)]
    Database(#[from] DbError),
    /// A stored secret could not be unsealed (the secret key changed?).
    #[error("a stored payment secret could not be decrypted")]
    Sealed,
}

impl From<diesel::result::Error> for WalletError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Database(DbError::Query(e))
    }
}

/// A problem to show beside a form field: the field, the locale key of the sentence, and
/// a detail in the other side's words or a value (`%{detail}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    pub field: &'static str,
    pub key: &'static str,
    pub detail: String,
}

impl FieldProblem {
    fn new(field: &'static str, key: &'static str, detail: impl Into<String>) -> Self {
        Self { field, key, detail: detail.into() }
    }
}

/// The platform-side payment service.
pub struct Wallet {
    pool: DbPool,
    sealer: Sealer,
    platform: Arc<Platform>,
    wxpay: WechatPayClient,
    alipay: AlipayClient,
    public_url: String,
    sandbox: bool,
    /// Base interval of the background re-check of an application WeChat Pay works on.
    poll_secs: i64,
    /// WeChat Pay error codes that mean "this AppID is not bound to this merchant"
    /// (reference §7.2 item 5: the exact v3 names are unconfirmed, so configuration).
    mismatch_codes: Vec<String>,
    checkout: CheckoutConfig,
}

/// Online payment's settings: the payment window, the buyer links' lifetime and the key
/// that signs them.
#[derive(Clone)]
pub struct CheckoutConfig {
    pub window_secs: i64,
    pub link_ttl_secs: i64,
    pub link_key: [u8; 32],
}

/// The answers `GET /pay/wechat/notify` gives, so the readiness check can tell that the
/// notification URL reaches this console and not something else.
pub const NOTIFY_PROBE_TEXT: &str = "minihost payment notifications";

/// What the platform's service provider looks like on the operator's form.
#[derive(Debug, Clone, Default)]
pub struct ProviderInput {
    pub sp_mchid: String,
    pub sp_appid: String,
    /// Empty keeps the stored one.
    pub api_v3_key: String,
    /// Empty keeps the stored one.
    pub private_key: String,
    pub cert_serial: String,
    pub cert_pem: String,
    pub verify_mode: String,
    pub platform_pem: String,
    pub public_key_id: String,
}

/// The provider as the operator's page shows it: nothing secret.
#[derive(Debug, Clone)]
pub struct ProviderView {
    pub sp_mchid: String,
    pub sp_appid: String,
    pub cert_serial: String,
    pub cert_not_after: Option<i64>,
    pub verify_mode: String,
    pub platform_serial: String,
    pub platform_not_after: Option<i64>,
    pub key_hint: String,
    pub checked_at: Option<i64>,
    pub check_error: Option<String>,
    pub updated_at: i64,
    pub updated_by: String,
}

/// A fingerprint hint of a public key: the last 8 hex digits of SHA-256 over its modulus
/// text, enough to recognise a key without showing it.
pub fn key_hint(key: &PublicKey) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("{key:?}").as_bytes());
    digest.iter().skip(28).map(|b| format!("{b:02x}")).collect()
}

impl Wallet {
    pub fn new(
        pool: DbPool,
        sealer: Sealer,
        platform: Arc<Platform>,
        config: &crate::config::AppConfig,
        poll_secs: i64,
        mismatch_codes: Vec<String>,
        checkout: CheckoutConfig,
    ) -> Self {
        Self {
            pool,
            sealer,
            platform,
            wxpay: WechatPayClient::new(&config.wechatpay_api_base),
            alipay: AlipayClient::new(&config.alipay_gateway),
            public_url: config.public_url.clone(),
            sandbox: config.sandbox,
            poll_secs: poll_secs.max(1),
            mismatch_codes,
            checkout,
        }
    }

    pub fn pool(&self) -> &DbPool {
        &self.pool
    }

    /// The base interval of the background re-check of an application.
    pub fn poll_secs(&self) -> i64 {
        self.poll_secs
    }

    pub fn sandbox(&self) -> bool {
        self.sandbox
    }

    pub fn wechat_notify_url(&self) -> String {
        format!("{}/pay/wechat/notify", self.public_url)
    }

    pub fn alipay_notify_url(&self) -> String {
        format!("{}/pay/alipay/notify", self.public_url)
    }

    async fn db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut db::DbConn) -> Result<T, WalletError> + Send + 'static,
    ) -> Result<T, WalletError> {
        db::run(&self.pool, f).await
    }

    fn unseal(&self, sealed: &str) -> Result<String, WalletError> {
        self.sealer.open(sealed).map_err(|_| WalletError::Sealed)
    }

    // ---------------------------------------------------------------- the service provider

    pub async fn provider_view(&self) -> Result<Option<ProviderView>, WalletError> {
        let stored = self.db(|c| Ok(store::provider(c)?)).await?;
        let Some(p) = stored else { return Ok(None) };
        let key_hint = PrivateKey::parse(&self.unseal(&p.private_key_sealed)?)
            .map(|k| key_hint(&k.public_key()))
            .unwrap_or_default();
        Ok(Some(ProviderView {
            sp_mchid: p.sp_mchid,
            sp_appid: p.sp_appid,
            cert_serial: p.cert_serial,
            cert_not_after: p.cert_not_after,
            verify_mode: p.verify_mode,
            platform_serial: p.platform_serial,
            platform_not_after: p.platform_not_after,
            key_hint,
            checked_at: p.checked_at,
            check_error: p.check_error,
            updated_at: p.updated_at,
            updated_by: p.updated_by,
        }))
    }

    /// The provider's credentials for a call, or `None` when the operator has not set them.
    pub async fn merchant(&self) -> Result<Option<Merchant>, WalletError> {
        let stored = self.db(|c| Ok(store::provider(c)?)).await?;
        stored.map(|p| self.merchant_of(&p)).transpose()
    }

    fn merchant_of(&self, p: &store::Provider) -> Result<Merchant, WalletError> {
        let key = PrivateKey::parse(&self.unseal(&p.private_key_sealed)?).map_err(|_| WalletError::Sealed)?;
        let platform_key = platform_public_key(&p.verify_mode, &p.platform_pem).map_err(|_| WalletError::Sealed)?;
        Ok(Merchant {
            sp_mchid: p.sp_mchid.clone(),
            sp_appid: p.sp_appid.clone(),
            serial: p.cert_serial.clone(),
            key,
            api_v3_key: self.unseal(&p.api_v3_key_sealed)?,
            platform: PlatformVerifier { serial: p.platform_serial.clone(), key: platform_key },
        })
    }

    /// Checks the operator's form locally (PEM parsing, serial, expiry, that the key belongs
    /// to its certificate), then live (`GET /v3/certificates`, which proves the key and
    /// serial, the platform key and the APIv3 key at once), and saves it sealed.
    pub async fn save_provider(
        &self,
        input: ProviderInput,
        actor: &audit::Actor,
    ) -> Result<Result<(), Vec<FieldProblem>>, WalletError> {
        let now = crate::now();
        let stored = self.db(|c| Ok(store::provider(c)?)).await?;
        let mut problems = Vec::new();
        if !(8..=10).contains(&input.sp_mchid.len()) || !input.sp_mchid.chars().all(|c| c.is_ascii_digit()) {
            problems.push(FieldProblem::new("sp_mchid", "pay.provider.err.mchid", ""));
        }
        if input.sp_appid.len() != 18 || !input.sp_appid.starts_with("wx") {
            problems.push(FieldProblem::new("sp_appid", "pay.provider.err.appid", ""));
        }
        let api_v3_key = match (input.api_v3_key.is_empty(), &stored) {
            (true, Some(p)) => self.unseal(&p.api_v3_key_sealed)?,
            _ => input.api_v3_key.clone(),
        };
        if api_v3_key.len() != 32 {
            problems.push(FieldProblem::new("api_v3_key", "pay.provider.err.api_v3_key", ""));
        }
        let key_text = match (input.private_key.is_empty(), &stored) {
            (true, Some(p)) => self.unseal(&p.private_key_sealed)?,
            _ => input.private_key.clone(),
        };
        let key = match PrivateKey::parse(&key_text) {
            Ok(k) => Some(k),
            Err(e) => {
                problems.push(FieldProblem::new("private_key", e.message_key(), ""));
                None
            }
        };
        let serial = normalise_serial(&input.cert_serial);
        if serial.is_empty() || !serial.chars().all(|c| c.is_ascii_hexdigit()) {
            problems.push(FieldProblem::new("cert_serial", "pay.provider.err.serial", ""));
        }
        let mut cert_not_after = None;
        if !input.cert_pem.trim().is_empty() {
            match Certificate::parse(&input.cert_pem) {
                Err(e) => problems.push(FieldProblem::new("cert_pem", e.message_key(), "")),
                Ok(cert) => {
                    cert_not_after = Some(cert.not_after);
                    if cert.not_after <= now {
                        problems.push(FieldProblem::new(
                            "cert_pem",
                            "pay.provider.err.cert_expired",
                            crate::domain::day_of(cert.not_after),
                        ));
                    } else if cert.serial != serial {
                        problems.push(FieldProblem::new(
                            "cert_serial",
                            "pay.provider.err.serial_mismatch",
                            cert.serial.clone(),
                        ));
                    } else if key.as_ref().is_some_and(|k| !cert.belongs_to(k)) {
                        problems.push(FieldProblem::new(
                            "private_key",
                            "pay.provider.err.key_not_cert",
                            cert.serial.clone(),
                        ));
                    }
                }
            }
        }
        let (platform_serial, platform_not_after) = match input.verify_mode.as_str() {
            "certificate" => match Certificate::parse(&input.platform_pem) {
                Err(e) => {
                    problems.push(FieldProblem::new("platform_pem", e.message_key(), ""));
                    (String::new(), None)
                }
                Ok(cert) if cert.not_after <= now => {
                    problems.push(FieldProblem::new(
                        "platform_pem",
                        "pay.provider.err.cert_expired",
                        crate::domain::day_of(cert.not_after),
                    ));
                    (cert.serial, Some(cert.not_after))
                }
                Ok(cert) => (cert.serial, Some(cert.not_after)),
            },
            "public_key" => {
                if let Err(e) = PublicKey::parse(&input.platform_pem) {
                    problems.push(FieldProblem::new("platform_pem", e.message_key(), ""));
                }
                let id = input.public_key_id.trim().to_string();
                if !id.starts_with("PUB_KEY_ID_") || id.len() < 12 {
                    problems.push(FieldProblem::new("public_key_id", "pay.provider.err.public_key_id", ""));
                }
                (id, None)
            }
            _ => {
                problems.push(FieldProblem::new("verify_mode", "pay.provider.err.verify_mode", ""));
                (String::new(), None)
            }
        };
        if !problems.is_empty() {
            return Ok(Err(problems));
        }
        let (Some(key), Ok(platform_key)) = (key, platform_public_key(&input.verify_mode, &input.platform_pem)) else {
            return Ok(Err(vec![FieldProblem::new("platform_pem", "pay.key.malformed", "")]));
        };
        let merchant = Merchant {
            sp_mchid: input.sp_mchid.clone(),
            sp_appid: input.sp_appid.clone(),
            serial: serial.clone(),
            key: key.clone(),
            api_v3_key: api_v3_key.clone(),
            platform: PlatformVerifier { serial: platform_serial.clone(), key: platform_key },
        };
        if let Err(e) = self.wxpay.certificates(&merchant).await {
            return Ok(Err(vec![provider_check_problem(&e, &serial)]));
        }
        let row = store::Provider {
            id: store::PROVIDER_ID.into(),
            sp_mchid: input.sp_mchid.clone(),
            sp_appid: input.sp_appid.clone(),
            api_v3_key_sealed: self.sealer.seal(&api_v3_key),
            private_key_sealed: self.sealer.seal(&key_text),
            cert_serial: serial.clone(),
            cert_pem: Some(input.cert_pem.trim().to_string()).filter(|s| !s.is_empty()),
            cert_not_after,
            verify_mode: input.verify_mode.clone(),
            platform_serial: platform_serial.clone(),
            platform_pem: input.platform_pem.trim().to_string(),
            platform_not_after,
            checked_at: Some(now),
            check_error: None,
            updated_by: actor.label.clone(),
            updated_at: now,
        };
        let before = stored.as_ref().map(provider_audit);
        let after = provider_audit(&row);
        let actor = actor.clone();
        self.db(move |c| {
            db::write_tx(c, |c| {
                store::put_provider(c, &row)?;
                audit::write(
                    c,
                    audit::Record {
                        actor: &actor,
                        tenant_id: None,
                        action: "wechatpay.provider_saved",
                        subject: &row.sp_mchid,
                        before: before.as_ref(),
                        after: Some(&after),
                    },
                    now,
                )?;
                Ok(())
            })
        })
        .await?;
        Ok(Ok(()))
    }

    /// Re-checks the stored provider live; the problem in words, or `None` when it is good.
    pub async fn check_provider(&self) -> Result<Option<Outcome>, WalletError> {
        let stored = self.db(|c| Ok(store::provider(c)?)).await?;
        let Some(p) = stored else {
            return Ok(Some(Outcome::Fail {
                problem: "ready.provider_keys.missing",
                fix: "ready.provider_keys.missing_fix",
                detail: None,
            }));
        };
        let now = crate::now();
        for not_after in [p.cert_not_after, p.platform_not_after].into_iter().flatten() {
            if not_after <= now {
                return Ok(Some(Outcome::Fail {
                    problem: "ready.provider_keys.expired",
                    fix: "ready.provider_keys.fix",
                    detail: Some(Detail::Words(crate::domain::day_of(not_after))),
                }));
            }
        }
        let merchant = self.merchant_of(&p)?;
        let result = self.wxpay.certificates(&merchant).await;
        let error = result.as_ref().err().map(ToString::to_string);
        let stored_error = error.clone();
        self.db(move |c| Ok(store::provider_checked(c, stored_error.as_deref(), now)?)).await?;
        Ok(error.map(|e| Outcome::Fail {
            problem: "ready.provider_keys.refused",
            fix: "ready.provider_keys.fix",
            detail: Some(Detail::Words(e)),
        }))
    }
}

fn platform_public_key(mode: &str, pem: &str) -> Result<PublicKey, KeyError> {
    if mode == "certificate" { Certificate::parse(pem).map(|c| c.public_key) } else { PublicKey::parse(pem) }
}

fn provider_audit(p: &store::Provider) -> Value {
    json!({
        "sp_mchid": p.sp_mchid, "sp_appid": p.sp_appid, "cert_serial": p.cert_serial,
        "verify_mode": p.verify_mode, "platform_serial": p.platform_serial,
    })
}

/// What a failed live check of the provider's keys means, on the field to fix.
fn provider_check_problem(e: &PayError, serial: &str) -> FieldProblem {
    use crate::pay::wechatpay::VerifyError;
    match e {
        PayError::Api { status: 401, code, message } => FieldProblem::new(
            "private_key",
            "pay.provider.err.signature_refused",
            format!("{serial}: {code} {message}"),
        ),
        PayError::Api { code, message, .. } => {
            FieldProblem::new("sp_mchid", "pay.provider.err.refused", format!("{code} {message}"))
        }
        PayError::Unverified(VerifyError::UnknownSerial(s)) => {
            FieldProblem::new("platform_pem", "pay.provider.err.platform_serial", s.clone())
        }
        PayError::Unverified(e) => FieldProblem::new("platform_pem", "pay.provider.err.platform_verify", e.to_string()),
        PayError::Decode(d) => FieldProblem::new("api_v3_key", "pay.provider.err.api_v3_decrypt", d.clone()),
        PayError::Transport(t) => FieldProblem::new("sp_mchid", "pay.provider.err.unreachable", t.clone()),
    }
}
