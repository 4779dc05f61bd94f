-- The sandbox's WeChat Pay (APIv3, partner mode): service providers, uploaded media,
-- sub-merchant applications (进件), sub-merchants and their AppID relations, orders,
-- refunds, and notifications with every delivery attempt. Same text for SQLite and
-- PostgreSQL (twin of the other backend's 2026-11-25-100010_wechatpay). Its version is not
-- 20261125000010: diesel keeps one table of applied versions for both migration sets,
-- and the console's 2026-11-25-000010_wallet has that one.

-- Service providers (普通服务商); the published one is seeded.
CREATE TABLE sandbox_wxpay_merchants (
    mchid TEXT PRIMARY KEY NOT NULL,
    appid TEXT NOT NULL,
    api_v3_key TEXT NOT NULL,
    -- The merchant API certificate (PEM) whose key signs its requests, and its serial.
    cert_pem TEXT NOT NULL,
    cert_serial TEXT NOT NULL,
    -- How it verifies WeChat Pay: 'certificate' (platform certificate serial) or 'public_key'.
    verify_mode TEXT NOT NULL CHECK (verify_mode IN ('certificate', 'public_key')),
    created_at BIGINT NOT NULL
);
INSERT INTO sandbox_wxpay_merchants (mchid, appid, api_v3_key, cert_pem, cert_serial, verify_mode, created_at) VALUES
('1900000100', 'wxd0c1e5a1b2c3d4e5', 'minihostsandboxapiv3key012345678', '-----BEGIN CERTIFICATE-----
MIIDMjCCAhqgAwIBAgIUN3W2pFrNWIgm0V5YOpX13Sxc46UwDQYJKoZIhvcNAQEL
BQAwXDELMAkGA1UEBhMCQ04xJjAkBgNVBAoMHVRlbnBheS5jb20gKG1pbmlob3N0
IHNhbmRib3gpMSUwIwYDVQQDDBxUZW5wYXkuY29tIFJvb3QgQ0EgKHNhbmRib3gp
MB4XDTI1MDYwMTAwMDAwMFoXDTMwMDYwMTAwMDAwMFowSjELMAkGA1UEBhMCQ04x
JjAkBgNVBAoMHVRlbnBheS5jb20gKG1pbmlob3N0IHNhbmRib3gpMRMwEQYDVQQD
DAoxOTAwMDAwMTAwMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAwuSs
PRBnAL810fddGgRHAAaM9XySylTndi8lhoBH25bfbFSQeZiLUEWHJ6welzcu7+NV
DgeHGj7aZEtQVf790DSJcDh1vp/QA3V3wFWGT4lgtLjEN4jsuwKMMVFKftrTtwc4
5KSOjF6WKg7GijGb3T27mG21Jf5fG+JjPsKmMu99iEMO6/YGxXyWqWr+yAt9O1IX
V+hGgAWGznX3jOmbAtFB4wGLdcDulHFgUANKze5s7VlZLDDfIZJa3wlzUkBaWB+g
rou62uGlLVdyxXOholJH0jnEwG2HWZ4Sz9oDFeAscAALzbXlPmGktvfSN7vHCSkY
ftUZQb4ETX162p5bgQIDAQABMA0GCSqGSIb3DQEBCwUAA4IBAQCutazftogk2ONs
LUObu+ZbIUDd3RL4OiAGTc6kvECYC3xiUpAKvTJQg/Hi0ACH2oFTpIDJreeK7Khx
iJL7hJCdWlulFuQg577ctVJHTqNWrbCyU6mqR68n5wqCLKQIZn2xo6hPxLDINvLy
vcYCHDViNs61JXl+ak6OGMDgnf+PtqLMW5SUj4P0z47SwP33Q8xjk4+AZQ9D8nyP
sSG4L1pGL0v8MnwUOGL4cywdSiXjxxDSPMhNk6M/kYf8xoO+uhlOOWyqUbKh/EAi
y8NCYplC5eMwvp6r4je2BdBhY0/RY2nkGs3M1olQunHAigGBFtn3pWEUHT/ku0a5
MZSRQva4
-----END CERTIFICATE-----
', '3775B6A45ACD588826D15E583A95F5DD2C5CE3A5', 'certificate', 0)
ON CONFLICT (mchid) DO NOTHING;

-- Images uploaded with /v3/merchant/media/upload (their bytes are not kept).
CREATE TABLE sandbox_wxpay_media (
    media_id TEXT PRIMARY KEY NOT NULL,
    mchid TEXT NOT NULL,
    filename TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Sub-merchant applications; the decrypted sensitive fields are sandbox data.
CREATE TABLE sandbox_wxpay_applyments (
    applyment_id BIGINT PRIMARY KEY NOT NULL,
    sp_mchid TEXT NOT NULL,
    business_code TEXT NOT NULL,
    state TEXT NOT NULL,
    subject_type TEXT NOT NULL,
    merchant_name TEXT NOT NULL,
    merchant_shortname TEXT NOT NULL,
    contact_name TEXT NOT NULL,
    mobile_phone TEXT NOT NULL,
    contact_email TEXT NOT NULL,
    id_card_name TEXT NOT NULL,
    id_card_number TEXT NOT NULL,
    account_name TEXT NOT NULL,
    account_number TEXT NOT NULL,
    mini_program_sub_appid TEXT,
    -- The request as submitted, its ciphertexts left as they were.
    body TEXT NOT NULL,
    -- JSON array of {field, field_name, reject_reason} (REJECTED only).
    audit_detail TEXT NOT NULL DEFAULT '[]',
    sub_mchid TEXT,
    signed_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (sp_mchid, business_code)
);

-- Sub-merchants (特约商户) opened by a finished application (or registered by a test).
CREATE TABLE sandbox_wxpay_sub_merchants (
    sub_mchid TEXT PRIMARY KEY NOT NULL,
    sp_mchid TEXT NOT NULL,
    name TEXT NOT NULL,
    applyment_id BIGINT,
    created_at BIGINT NOT NULL
);

-- AppID relations of sub-merchants: 'pending' (associated, awaiting the AppID's
-- administrator), 'bound', or 'refused' (note says why).
CREATE TABLE sandbox_wxpay_bindings (
    sub_mchid TEXT NOT NULL,
    appid TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'bound', 'refused')),
    method TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (sub_mchid, appid)
);

-- Orders (prepay), their payment and refunded amount.
CREATE TABLE sandbox_wxpay_orders (
    id TEXT PRIMARY KEY NOT NULL,
    sp_mchid TEXT NOT NULL,
    sp_appid TEXT NOT NULL,
    sub_mchid TEXT NOT NULL,
    sub_appid TEXT,
    out_trade_no TEXT NOT NULL,
    trade_type TEXT NOT NULL,
    description TEXT NOT NULL,
    total BIGINT NOT NULL,
    currency TEXT NOT NULL,
    notify_url TEXT NOT NULL,
    attach TEXT,
    sp_openid TEXT,
    sub_openid TEXT,
    -- What identifies the same prepay request (a repeat with other values is refused).
    fingerprint TEXT NOT NULL,
    -- The code_url's token (NATIVE) or the prepay_id (JSAPI).
    prepay TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL CHECK (state IN ('NOTPAY', 'SUCCESS', 'CLOSED', 'REFUND')),
    transaction_id TEXT UNIQUE,
    success_time BIGINT,
    refunded BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (sp_mchid, sub_mchid, out_trade_no)
);

CREATE TABLE sandbox_wxpay_refunds (
    refund_id TEXT PRIMARY KEY NOT NULL,
    order_id TEXT NOT NULL,
    sp_mchid TEXT NOT NULL,
    sub_mchid TEXT NOT NULL,
    out_refund_no TEXT NOT NULL,
    reason TEXT,
    notify_url TEXT,
    refund BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('PROCESSING', 'SUCCESS')),
    -- When it settles by itself (pay_step_secs after it was asked).
    settle_at BIGINT NOT NULL,
    success_time BIGINT,
    created_at BIGINT NOT NULL,
    UNIQUE (sub_mchid, out_refund_no)
);

-- Notifications to a notify_url: the envelope as sent (signed anew on each attempt).
CREATE TABLE sandbox_wxpay_notifications (
    id TEXT PRIMARY KEY NOT NULL,
    sp_mchid TEXT NOT NULL,
    url TEXT NOT NULL,
    event_type TEXT NOT NULL,
    out_trade_no TEXT NOT NULL,
    out_refund_no TEXT,
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_status INTEGER,
    last_error TEXT,
    delivered BOOLEAN NOT NULL DEFAULT FALSE,
    -- When the next attempt is due, in Unix milliseconds (NULL: delivered or given up).
    next_attempt_ms BIGINT,
    -- A process sending it holds it until then (milliseconds).
    claimed_until_ms BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX sandbox_wxpay_notifications_due ON sandbox_wxpay_notifications (next_attempt_ms);

CREATE TABLE sandbox_wxpay_attempts (
    id TEXT PRIMARY KEY NOT NULL,
    notification_id TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    http_status INTEGER,
    error TEXT,
    delivered BOOLEAN NOT NULL
);
CREATE INDEX sandbox_wxpay_attempts_notification ON sandbox_wxpay_attempts (notification_id);
