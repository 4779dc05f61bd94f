-- Platform credentials: the last good component_verify_ticket and the component token.
-- Values are encrypted at rest (AES-256-GCM, key derived from MINIHOST_SECRET_KEY).
CREATE TABLE platform_credentials (
    name TEXT PRIMARY KEY NOT NULL CHECK (name IN ('component_verify_ticket', 'component_access_token')),
    value_enc TEXT NOT NULL,
    obtained_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- Accounts (mini programs, official accounts) that authorized the platform.
CREATE TABLE authorizers (
    appid TEXT PRIMARY KEY NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('authorized', 'revoked')),
    refresh_token_enc TEXT,
    access_token_enc TEXT,
    access_expires_at BIGINT NOT NULL DEFAULT 0,
    func_ids TEXT NOT NULL DEFAULT '',
    nick_name TEXT NOT NULL DEFAULT '',
    head_img TEXT NOT NULL DEFAULT '',
    user_name TEXT NOT NULL DEFAULT '',
    principal_name TEXT NOT NULL DEFAULT '',
    service_type INTEGER NOT NULL DEFAULT 0,
    verify_type INTEGER NOT NULL DEFAULT -1,
    is_mini_program BOOLEAN NOT NULL DEFAULT FALSE,
    info_json TEXT NOT NULL DEFAULT '{}',
    authorized_at BIGINT NOT NULL,
    revoked_at BIGINT,
    updated_at BIGINT NOT NULL
);

-- One refresh at a time across processes: whoever holds the lease refreshes.
CREATE TABLE leases (
    name TEXT PRIMARY KEY NOT NULL,
    owner TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- Every event WeChat pushed, verified and decrypted, with its processing outcome.
CREATE TABLE wechat_events (
    id TEXT PRIMARY KEY NOT NULL,
    endpoint TEXT NOT NULL CHECK (endpoint IN ('component', 'mp')),
    path_appid TEXT,
    received_at BIGINT NOT NULL,
    msg_timestamp BIGINT NOT NULL,
    nonce TEXT NOT NULL,
    raw_body TEXT NOT NULL,
    decoded TEXT NOT NULL,
    info_type TEXT NOT NULL,
    authorizer_appid TEXT,
    dedupe_key TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL CHECK (status IN ('received', 'processed', 'failed', 'ignored')),
    outcome TEXT NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 0,
    processed_at BIGINT
);
CREATE INDEX wechat_events_received ON wechat_events(received_at);

-- Nonces seen inside the timestamp window, so a replayed push is refused.
CREATE TABLE event_nonces (
    nonce TEXT NOT NULL,
    msg_timestamp BIGINT NOT NULL,
    seen_at BIGINT NOT NULL,
    PRIMARY KEY (nonce, msg_timestamp)
);

-- Durable jobs: survive restarts; claimed by one worker at a time.
CREATE TABLE jobs (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL DEFAULT '{}',
    unique_key TEXT UNIQUE,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    run_at BIGINT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 5,
    locked_by TEXT,
    locked_until BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs(status, run_at);

-- The single-use `state` of an authorization redirect, bound to who started it.
CREATE TABLE auth_states (
    state TEXT PRIMARY KEY NOT NULL,
    purpose TEXT NOT NULL CHECK (purpose IN ('platform', 'tenant')),
    tenant_id TEXT,
    user_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    pre_auth_code TEXT NOT NULL,
    biz_appid TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    result_appid TEXT,
    outcome TEXT
);
CREATE INDEX auth_states_pre_auth ON auth_states(pre_auth_code);
