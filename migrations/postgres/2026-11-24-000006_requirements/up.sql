-- The pre-configuration checklist of each tenant's dedicated mini program (SPEC §3.3).

-- What WeChat last answered for the tenant's mini program, all seven checks at one time.
-- The states below are evaluated from it, so a change of the operator's configuration is
-- re-evaluated without asking WeChat again.
CREATE TABLE requirement_snapshots (
    tenant_id TEXT PRIMARY KEY NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    appid TEXT NOT NULL,
    body TEXT NOT NULL,
    checked_at BIGINT NOT NULL
);
CREATE INDEX requirement_snapshots_checked ON requirement_snapshots(checked_at);

-- Each item's state, with the problems behind it (JSON: message keys and arguments).
CREATE TABLE requirements (
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    item TEXT NOT NULL CHECK (item IN ('basic_info', 'categories', 'plugins', 'privacy_api', 'domains', 'privacy_guide', 'standing')),
    state TEXT NOT NULL CHECK (state IN ('due_now', 'unknown', 'pending', 'due_later', 'done')),
    problems TEXT NOT NULL,
    deadline BIGINT,
    failure_kind TEXT,
    failure_code BIGINT,
    -- What the console can do: none, fix, after:<item>, by_hand, reauthorize:<set id>.
    remedy TEXT NOT NULL,
    changed_at BIGINT NOT NULL,
    evaluated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, item)
);
CREATE INDEX requirements_state ON requirements(state, tenant_id);

-- Every change of an item's state, with its time.
CREATE TABLE requirement_history (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    item TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX requirement_history_tenant ON requirement_history(tenant_id, item, at);

-- Before authorization: the items a tenant's admin confirmed as done by hand.
CREATE TABLE requirement_confirmations (
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    item TEXT NOT NULL,
    confirmed_by TEXT NOT NULL,
    confirmed_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, item)
);
