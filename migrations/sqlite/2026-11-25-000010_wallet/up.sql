-- The Company Wallet (SPEC §3.6): the platform's WeChat Pay service-provider merchant,
-- each tenant's sub-merchant application, Alipay account and AppID–merchant binding,
-- payments (the 0.01 self-test first) and the payment notifications received.
-- Secrets are sealed (AES-256-GCM under a key derived from MINIHOST_SECRET_KEY): columns
-- named *_sealed never hold plaintext.

-- The platform's service-provider merchant: one row, id 'current'.
CREATE TABLE wechatpay_provider (
    id TEXT PRIMARY KEY NOT NULL,
    sp_mchid TEXT NOT NULL,
    sp_appid TEXT NOT NULL,
    api_v3_key_sealed TEXT NOT NULL,
    private_key_sealed TEXT NOT NULL,
    cert_serial TEXT NOT NULL,
    -- The merchant API certificate (public): its validity is watched.
    cert_pem TEXT,
    cert_not_after BIGINT,
    -- How WeChat Pay's answers are verified: 'certificate' (platform certificate and its
    -- serial) or 'public_key' (WeChat Pay public key and its PUB_KEY_ID_…).
    verify_mode TEXT NOT NULL CHECK (verify_mode IN ('certificate', 'public_key')),
    platform_serial TEXT NOT NULL,
    platform_pem TEXT NOT NULL,
    platform_not_after BIGINT,
    checked_at BIGINT,
    check_error TEXT,
    updated_by TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- A tenant's sub-merchant applications (进件), newest current; replaced ones are kept.
CREATE TABLE wechatpay_applications (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    -- The tenant id while this is the tenant's merchant, NULL once replaced: one at a time.
    current_key TEXT UNIQUE,
    business_code TEXT NOT NULL UNIQUE,
    -- draft: not yet accepted by WeChat Pay; then WeChat Pay's states.
    state TEXT NOT NULL CHECK (state IN ('draft', 'editing', 'auditing', 'rejected', 'to_be_confirmed',
        'to_be_signed', 'signing', 'finished', 'canceled')),
    state_msg TEXT NOT NULL DEFAULT '',
    applyment_id BIGINT,
    sub_mchid TEXT,
    sign_url TEXT,
    -- JSON array of {field, field_name, reject_reason} when rejected.
    audit_detail TEXT NOT NULL DEFAULT '[]',
    -- The company's registered name as applied (the merchant's legal subject).
    merchant_name TEXT NOT NULL,
    -- The dedicated mini program named at onboarding (mini_program_sub_appid), if any.
    sub_appid TEXT,
    -- The form as entered, without its sensitive fields (JSON), and those sealed (JSON).
    form TEXT NOT NULL,
    sensitive_sealed TEXT NOT NULL,
    -- Why the last submission or status check failed, in WeChat Pay's words.
    last_error TEXT,
    submitted_at BIGINT,
    checked_at BIGINT,
    next_check_at BIGINT,
    finished_at BIGINT,
    replaced_at BIGINT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX wechatpay_applications_tenant ON wechatpay_applications(tenant_id, created_at);

-- A tenant's Alipay enterprise applications; replaced ones are kept.
CREATE TABLE alipay_accounts (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    current_key TEXT UNIQUE,
    app_id TEXT NOT NULL,
    private_key_sealed TEXT NOT NULL,
    alipay_public_key_sealed TEXT NOT NULL,
    -- Last characters of the keys' fingerprints, to recognise them without showing them.
    key_hint TEXT NOT NULL,
    verified_at BIGINT NOT NULL,
    checked_at BIGINT,
    check_error TEXT,
    replaced_at BIGINT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX alipay_accounts_tenant ON alipay_accounts(tenant_id, created_at);

-- The AppID–merchant binding as last read back from WeChat Pay.
CREATE TABLE wechatpay_bindings (
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    sub_mchid TEXT NOT NULL,
    appid TEXT NOT NULL,
    -- bound / not_bound as WeChat Pay answered a prepay naming both; unknown before.
    state TEXT NOT NULL CHECK (state IN ('unknown', 'bound', 'not_bound')),
    -- How it was (to be) bound: 'onboarding' (method 1, at 进件) or 'merchant' (method 2).
    method TEXT NOT NULL CHECK (method IN ('onboarding', 'merchant')),
    detail TEXT,
    checked_at BIGINT,
    PRIMARY KEY (tenant_id, sub_mchid, appid)
);

-- Payments the console asked WeChat Pay or Alipay for. The 0.01 self-test is one purpose.
CREATE TABLE payments (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    purpose TEXT NOT NULL CHECK (purpose IN ('self_test', 'checkout')),
    channel TEXT NOT NULL CHECK (channel IN ('wechatpay', 'alipay')),
    out_trade_no TEXT NOT NULL UNIQUE,
    merchant TEXT NOT NULL,
    amount_fen BIGINT NOT NULL,
    description TEXT NOT NULL,
    -- created (QR shown) → paid → refunding → refunded; closed; failed.
    state TEXT NOT NULL CHECK (state IN ('created', 'paid', 'refunding', 'refunded', 'closed', 'failed')),
    code_url TEXT,
    transaction_id TEXT,
    paid_at BIGINT,
    out_refund_no TEXT,
    refunded_at BIGINT,
    error TEXT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX payments_tenant ON payments(tenant_id, created_at);

-- Every payment notification received and verified, once per notification id (WeChat
-- Pay's event id, Alipay's notify_id): a retried notification finds its row.
CREATE TABLE payment_notifications (
    id TEXT PRIMARY KEY NOT NULL,
    channel TEXT NOT NULL CHECK (channel IN ('wechatpay', 'alipay')),
    notify_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    out_trade_no TEXT,
    payment_id TEXT REFERENCES payments(id) ON DELETE SET NULL,
    -- The decrypted resource or the form fields (JSON; no secrets in them).
    body TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    times_received INTEGER NOT NULL DEFAULT 1,
    UNIQUE (channel, notify_id)
);
