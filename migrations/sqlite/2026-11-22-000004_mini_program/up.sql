-- Operator configuration of the platform (the shared mini program, required permission sets).
CREATE TABLE platform_settings (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- A tenant's dedicated mini program. History is kept: a binding is never deleted,
-- it becomes 'unbound' or 'revoked'.
CREATE TABLE mp_bindings (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    appid TEXT NOT NULL,
    application TEXT NOT NULL DEFAULT 'store' CHECK (application IN ('store', 'marketing', 'service')),
    status TEXT NOT NULL CHECK (status IN ('active', 'unbound', 'revoked')),
    subject_warning BOOLEAN NOT NULL DEFAULT FALSE,
    bound_by TEXT,
    bound_at BIGINT NOT NULL,
    reauthorized_at BIGINT,
    ended_at BIGINT
);
-- At most one active binding per AppID across the whole platform, and one per tenant
-- and application: enforced by the database, not only checked.
CREATE UNIQUE INDEX mp_bindings_one_active_appid ON mp_bindings(appid) WHERE status = 'active';
CREATE UNIQUE INDEX mp_bindings_one_active_per_tenant ON mp_bindings(tenant_id, application) WHERE status = 'active';
CREATE INDEX mp_bindings_tenant ON mp_bindings(tenant_id, bound_at);

-- The legal subject of the tenant's linked official account, when one is linked.
ALTER TABLE tenants ADD COLUMN linked_oa_subject TEXT;
