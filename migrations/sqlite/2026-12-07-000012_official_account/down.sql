DELETE FROM auth_states WHERE purpose = 'official_account';
CREATE TABLE auth_states_old (
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
    result TEXT CHECK (result IN (
    'bound', 'bound_subject_differs', 'not_mini_program', 'unverified', 'missing_sets',
    'different_appid', 'other_tenant', 'other_application', 'authorized', 'failed')),
    result_sets TEXT,
    result_failure TEXT CHECK (result_failure IN (
        'errcode', 'transport', 'http', 'decode', 'no_ticket', 'revoked', 'lease_timeout', 'database')),
    result_code BIGINT
);
INSERT INTO auth_states_old SELECT state, purpose, tenant_id, user_id, session_id, pre_auth_code, biz_appid,
    created_at, expires_at, used_at, result_appid, result, result_sets, result_failure, result_code FROM auth_states;
DROP TABLE auth_states;
ALTER TABLE auth_states_old RENAME TO auth_states;
CREATE INDEX auth_states_pre_auth ON auth_states(pre_auth_code);
DROP TABLE oa_link_requests;
DROP TABLE official_accounts;
