-- Official accounts authorized by tenants, and their link requests (issue 12).
-- Twin of migrations/postgres/2026-12-07-000012_official_account.

-- A tenant's official account, authorized to the platform (SPEC §3.5). History is kept
-- like mp_bindings: a row is never deleted, it ends as 'unbound' or 'revoked'.
CREATE TABLE official_accounts (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    appid TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'unbound', 'revoked')),
    bound_by TEXT,
    bound_at BIGINT NOT NULL,
    reauthorized_at BIGINT,
    ended_at BIGINT
);
-- One active official account per AppID across the platform, and one per tenant.
CREATE UNIQUE INDEX official_accounts_one_active_appid ON official_accounts(appid) WHERE status = 'active';
CREATE UNIQUE INDEX official_accounts_one_active_per_tenant ON official_accounts(tenant_id) WHERE status = 'active';
CREATE INDEX official_accounts_tenant ON official_accounts(tenant_id, bound_at);

-- Link requests WeChat accepted (wxamplink answered 0): what "links this month" counts.
CREATE TABLE oa_link_requests (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    oa_appid TEXT NOT NULL,
    mp_appid TEXT NOT NULL,
    notify_users BOOLEAN NOT NULL,
    show_profile BOOLEAN NOT NULL,
    requested_at BIGINT NOT NULL
);
CREATE INDEX oa_link_requests_oa ON oa_link_requests(oa_appid, requested_at);

-- Authorization states get a third purpose and the official account's outcomes. SQLite
-- cannot change a CHECK in place: the table is rebuilt (nothing references it).
CREATE TABLE auth_states_new (
    state TEXT PRIMARY KEY NOT NULL,
    purpose TEXT NOT NULL CHECK (purpose IN ('platform', 'tenant', 'official_account')),
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
    'different_appid', 'other_tenant', 'other_application', 'authorized', 'failed',
    'oa_bound', 'oa_bound_subject_differs', 'oa_not_official_account', 'oa_not_service', 'oa_unverified',
    'oa_missing_sets', 'oa_different_appid', 'oa_other_tenant')),
    result_sets TEXT,
    result_failure TEXT CHECK (result_failure IN (
        'errcode', 'transport', 'http', 'decode', 'no_ticket', 'revoked', 'lease_timeout', 'database')),
    result_code BIGINT
);
INSERT INTO auth_states_new (state, purpose, tenant_id, user_id, session_id, pre_auth_code, biz_appid, created_at,
    expires_at, used_at, result_appid, result, result_sets, result_failure, result_code)
SELECT state, purpose, tenant_id, user_id, session_id, pre_auth_code, biz_appid, created_at,
    expires_at, used_at, result_appid, result, result_sets, result_failure, result_code FROM auth_states;
DROP TABLE auth_states;
ALTER TABLE auth_states_new RENAME TO auth_states;
CREATE INDEX auth_states_pre_auth ON auth_states(pre_auth_code);
