-- Alipay's open platform as the sandbox simulates it (reference §8, notes §4.3): the
-- registered applications, the trades made through gateway.do, their refunds, and the
-- asynchronous notifications with every delivery attempt.
-- Twin of migrations/sandbox/sqlite/2026-11-25-000011_alipay (same tables and types).

-- Applications registered on the open platform console: the company's registered name and
-- the application public key as its owner uploaded it (PEM or bare base64).
CREATE TABLE sandbox_alipay_apps (
    app_id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    app_public_key TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Trades; out_trade_no is unique per application. trade_no, buyer and gmt_payment are set
-- when the buyer pays. Amounts are in fen (cents); the wire writes yuan with 2 decimals.
CREATE TABLE sandbox_alipay_trades (
    id TEXT PRIMARY KEY NOT NULL,
    app_id TEXT NOT NULL,
    out_trade_no TEXT NOT NULL,
    trade_no TEXT UNIQUE,
    -- The token of qr_code https://qr.alipay.com/<qr_token>.
    qr_token TEXT NOT NULL UNIQUE,
    subject TEXT NOT NULL,
    body TEXT NOT NULL DEFAULT '',
    total_cents BIGINT NOT NULL,
    refunded_cents BIGINT NOT NULL DEFAULT 0,
    status TEXT NOT NULL CHECK (status IN ('WAIT_BUYER_PAY', 'TRADE_SUCCESS', 'TRADE_CLOSED', 'TRADE_FINISHED')),
    notify_url TEXT,
    buyer_id TEXT,
    buyer_logon_id TEXT,
    created_at BIGINT NOT NULL,
    -- An unpaid trade closes by itself at this time (timeout_express).
    expires_at BIGINT NOT NULL,
    paid_at BIGINT,
    closed_at BIGINT,
    UNIQUE (app_id, out_trade_no)
);

-- Refunds (synchronous); out_request_no is unique per trade.
CREATE TABLE sandbox_alipay_refunds (
    id TEXT PRIMARY KEY NOT NULL,
    trade_id TEXT NOT NULL,
    out_request_no TEXT NOT NULL,
    refund_cents BIGINT NOT NULL,
    -- The trade's total refunded after this refund.
    refund_fee_cents BIGINT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    UNIQUE (trade_id, out_request_no)
);

-- Asynchronous notifications to a trade's notify_url; params is the JSON object of the
-- form's fields except notify_time and sign, which every attempt sets anew.
CREATE TABLE sandbox_alipay_notifications (
    id TEXT PRIMARY KEY NOT NULL,
    trade_id TEXT NOT NULL,
    app_id TEXT NOT NULL,
    notify_url TEXT NOT NULL,
    notify_id TEXT NOT NULL,
    params TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    -- Milliseconds since the epoch (retries divided by pay_retry_divisor are short).
    due_ms BIGINT NOT NULL,
    last_attempt_ms BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX sandbox_alipay_notifications_due ON sandbox_alipay_notifications(status, due_ms);

-- Every delivery attempt: when, the HTTP status (none on a transport error or timeout), the
-- start of the answer or the error, and whether it counted as delivered.
CREATE TABLE sandbox_alipay_attempts (
    id TEXT PRIMARY KEY NOT NULL,
    notification_id TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    http_status INTEGER,
    body TEXT NOT NULL DEFAULT '',
    outcome TEXT NOT NULL CHECK (outcome IN ('delivered', 'refused', 'error'))
);
CREATE INDEX sandbox_alipay_attempts_of ON sandbox_alipay_attempts(notification_id, at_ms);

-- The demo application (ALIPAY_DEMO_APP_ID, ALIPAY_DEMO_APP_PUBLIC_KEY_PEM), registered by
-- the company behind the seeded verified mini program wx5b1c0a3e7d2f4a01 (Acme Mall).
INSERT INTO sandbox_alipay_apps (app_id, name, app_public_key, created_at) VALUES
('2021000100000001', 'Acme Trading Co., Ltd.', '-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAo6PDv8U//9YGsUFiqoMs
TkXeu+5lj/+45byCzyv4OKEKCOKiJg5zFlh4WjeyrDW1CUan6Ik3+CsIMPvs3Uk4
UvCKXgf1aPRcqaDPqzSnbxrS16pW3basdu5JgkZuVpMJHTInrlzhuyPq1OXpUQhG
TOs902ksnbP7oB2H16JDVw/cB2jWuUwg6hnlv+JUiMszJCbWl+3QApYPGFC0e3xh
iW09lNgR19AKo+gvS19cwHB70O2G4l855cmhA3ZbbSW2f2IRjmR41PJrOPZmjDkX
q+d8diz9J8rZ68v6lifCjyK0v2lIDtNMZZMSQNWAsWI2P2fzaFg6FGrof90BJ3s2
RwIDAQAB
-----END PUBLIC KEY-----', 0);
