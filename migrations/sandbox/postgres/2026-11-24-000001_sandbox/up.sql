-- The WeChat sandbox: its own state, never read by the console's queries. Applied only
-- when the sandbox is on (crate::sandbox::migrate). Databases created before this set
-- existed already have these tables and rows (main migration 2026-11-22-000003), hence
-- IF NOT EXISTS and ON CONFLICT DO NOTHING.

CREATE TABLE IF NOT EXISTS sandbox_accounts (
    appid TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('mp', 'oa')),
    nick_name TEXT NOT NULL,
    head_img TEXT NOT NULL,
    user_name TEXT NOT NULL,
    principal_name TEXT NOT NULL,
    verified BOOLEAN NOT NULL,
    alias TEXT NOT NULL DEFAULT '',
    signature TEXT NOT NULL DEFAULT '',
    qrcode_url TEXT NOT NULL DEFAULT '',
    service_type INTEGER NOT NULL DEFAULT 0,
    account_status INTEGER NOT NULL DEFAULT 1,
    categories TEXT NOT NULL DEFAULT '[]',
    network TEXT NOT NULL DEFAULT '{}',
    business_info TEXT NOT NULL DEFAULT '{}',
    position INTEGER NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS sandbox_tickets (
    id TEXT PRIMARY KEY NOT NULL,
    ticket TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS sandbox_tickets_created ON sandbox_tickets(created_at);

CREATE TABLE IF NOT EXISTS sandbox_tokens (
    token TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('component', 'authorizer')),
    appid TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX IF NOT EXISTS sandbox_tokens_appid ON sandbox_tokens(appid);

CREATE TABLE IF NOT EXISTS sandbox_pre_auth_codes (
    code TEXT PRIMARY KEY NOT NULL,
    component_appid TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);

CREATE TABLE IF NOT EXISTS sandbox_auth_codes (
    code TEXT PRIMARY KEY NOT NULL,
    authorizer_appid TEXT NOT NULL,
    func_ids TEXT NOT NULL,
    pre_auth_code TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);

CREATE TABLE IF NOT EXISTS sandbox_authorizations (
    authorizer_appid TEXT PRIMARY KEY NOT NULL,
    active BOOLEAN NOT NULL,
    func_ids TEXT NOT NULL,
    refresh_token TEXT NOT NULL,
    auth_time BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS sandbox_faults (
    id TEXT PRIMARY KEY NOT NULL,
    endpoint TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('latency', 'errcode', 'http', 'drop')),
    value BIGINT NOT NULL,
    remaining INTEGER NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS sandbox_calls (
    id TEXT PRIMARY KEY NOT NULL,
    endpoint TEXT NOT NULL,
    at BIGINT NOT NULL,
    errcode BIGINT,
    http_status INTEGER NOT NULL,
    fault TEXT
);
CREATE INDEX IF NOT EXISTS sandbox_calls_endpoint ON sandbox_calls(endpoint, at);

CREATE TABLE IF NOT EXISTS sandbox_pushes (
    id TEXT PRIMARY KEY NOT NULL,
    info_type TEXT NOT NULL,
    authorizer_appid TEXT,
    payload TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    http_status INTEGER,
    error TEXT,
    created_at BIGINT NOT NULL,
    last_attempt_at BIGINT
);
CREATE INDEX IF NOT EXISTS sandbox_pushes_due ON sandbox_pushes(status, next_attempt_at);

-- The simulated accounts the sandbox's "administrator" manages.
INSERT INTO sandbox_accounts (appid, kind, nick_name, head_img, user_name, principal_name, verified, alias, signature, qrcode_url, service_type, account_status, categories, network, business_info, position, updated_at) VALUES
('wx5b1c0a3e7d2f4a01', 'mp', 'Acme Mall', 'https://wx.qlogo.cn/mmhead/sandbox/acme-mall/0', 'gh_5b1c0a3e7d01', 'Acme Trading Co., Ltd.', TRUE, '', 'Wholesale ordering for Acme distributors.', 'https://mp.weixin.qq.com/sandbox/qrcode/wx5b1c0a3e7d2f4a01', 0, 1, '[{"first":"商家自营","second":"百货"}]', '{"RequestDomain":[],"WsRequestDomain":[],"UploadDomain":[],"DownloadDomain":[],"BizDomain":[],"UDPDomain":[]}', '{"open_pay":1,"open_shake":0,"open_scan":0,"open_card":0,"open_store":0}', 1, 0),
('wx5b1c0a3e7d2f4a02', 'mp', 'Acme Trial Shop', 'https://wx.qlogo.cn/mmhead/sandbox/acme-trial/0', 'gh_5b1c0a3e7d02', 'Acme Trading Co., Ltd.', FALSE, '', '', 'https://mp.weixin.qq.com/sandbox/qrcode/wx5b1c0a3e7d2f4a02', 0, 1, '[]', '{"RequestDomain":[],"WsRequestDomain":[],"UploadDomain":[],"DownloadDomain":[],"BizDomain":[],"UDPDomain":[]}', '{"open_pay":0,"open_shake":0,"open_scan":0,"open_card":0,"open_store":0}', 2, 0),
('wx5b1c0a3e7d2f4a03', 'mp', 'Bright Harbor Foods', 'https://wx.qlogo.cn/mmhead/sandbox/bright-harbor/0', 'gh_5b1c0a3e7d03', 'Bright Harbor Food Supply Co., Ltd.', TRUE, '', 'Fresh food ordering for restaurants.', 'https://mp.weixin.qq.com/sandbox/qrcode/wx5b1c0a3e7d2f4a03', 0, 1, '[{"first":"餐饮服务","second":"餐饮供应链"}]', '{"RequestDomain":[],"WsRequestDomain":[],"UploadDomain":[],"DownloadDomain":[],"BizDomain":[],"UDPDomain":[]}', '{"open_pay":1,"open_shake":0,"open_scan":0,"open_card":0,"open_store":0}', 3, 0),
('wx5b1c0a3e7d2f4a04', 'oa', 'Acme Trading', 'https://wx.qlogo.cn/mmhead/sandbox/acme-oa/0', 'gh_5b1c0a3e7d04', 'Acme Trading Co., Ltd.', TRUE, 'acme_trading', 'News and offers from Acme Trading.', 'https://mp.weixin.qq.com/sandbox/qrcode/wx5b1c0a3e7d2f4a04', 2, 1, '[]', '{}', '{"open_pay":1,"open_shake":0,"open_scan":0,"open_card":0,"open_store":0}', 4, 0)
ON CONFLICT (appid) DO NOTHING;
