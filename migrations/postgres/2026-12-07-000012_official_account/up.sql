-- Official accounts authorized by tenants, and their link requests (issue 12).
-- Twin of migrations/sqlite/2026-12-07-000012_official_account.

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

-- Authorization states get a third purpose and the official account's outcomes.
ALTER TABLE auth_states DROP CONSTRAINT auth_states_purpose_check;
ALTER TABLE auth_states ADD CONSTRAINT auth_states_purpose_check
    CHECK (purpose IN ('platform', 'tenant', 'official_account'));
ALTER TABLE auth_states DROP CONSTRAINT auth_states_result_check;
ALTER TABLE auth_states ADD CONSTRAINT auth_states_result_check CHECK (result IN (
    'bound', 'bound_subject_differs', 'not_mini_program', 'unverified', 'missing_sets',
    'different_appid', 'other_tenant', 'other_application', 'authorized', 'failed',
    'oa_bound', 'oa_bound_subject_differs', 'oa_not_official_account', 'oa_not_service', 'oa_unverified',
    'oa_missing_sets', 'oa_different_appid', 'oa_other_tenant'));
