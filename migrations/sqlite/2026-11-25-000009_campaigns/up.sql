-- Release campaigns (SPEC §3.4): one version submitted across the fleet, a canary
-- cohort first, within a concurrency cap and a WeChat call rate cap.

CREATE TABLE campaigns (
    id TEXT PRIMARY KEY NOT NULL,
    version_id TEXT NOT NULL REFERENCES template_versions(id),
    version TEXT NOT NULL,
    -- running: admitting tenants; awaiting_go: the canary is settled and the rest waits
    -- for the operator; paused: by the operator or by WeChat's 85085 (pause_reason);
    -- cancelled and finished are final.
    state TEXT NOT NULL CHECK (state IN ('running', 'awaiting_go', 'paused', 'cancelled', 'finished')),
    -- 'active' while not cancelled or finished, NULL after: one active campaign at a time.
    active_key TEXT UNIQUE,
    pause_reason TEXT CHECK (pause_reason IN ('operator', 'quota')),
    phase TEXT NOT NULL CHECK (phase IN ('canary', 'rest')),
    -- After the canary: wait for the operator's go, or go once every canary is approved.
    after_canary TEXT NOT NULL CHECK (after_canary IN ('wait', 'auto')),
    -- What the operator chose: every pending tenant, or the ones listed (as entered).
    target TEXT NOT NULL CHECK (target IN ('all', 'list')),
    target_list TEXT NOT NULL DEFAULT '',
    canary TEXT NOT NULL DEFAULT '',
    canary_size INTEGER NOT NULL,
    concurrency INTEGER NOT NULL,
    calls_per_minute INTEGER NOT NULL,
    auto_publish BOOLEAN NOT NULL,
    total INTEGER NOT NULL,
    -- The audit quota WeChat reported when the campaign started (NULL: not known).
    quota_rest_at_start BIGINT,
    quota_checked_at BIGINT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX campaigns_state ON campaigns(state, created_at);

-- The tenants a campaign targets, in the order it admits them. `state` is the
-- campaign's own bookkeeping; how a started tenant fares is its release row's stage
-- for the campaign's version.
CREATE TABLE campaign_tenants (
    campaign_id TEXT NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    appid TEXT NOT NULL,
    position INTEGER NOT NULL,
    cohort TEXT NOT NULL CHECK (cohort IN ('canary', 'rest')),
    state TEXT NOT NULL CHECK (state IN ('waiting', 'started', 'skipped', 'cancelled')),
    -- Why it was skipped: not_bound, busy, up_to_date.
    note TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    started_at BIGINT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (campaign_id, tenant_id)
);
CREATE INDEX campaign_tenants_queue ON campaign_tenants(campaign_id, state, cohort, position);
CREATE INDEX campaign_tenants_tenant ON campaign_tenants(tenant_id);

-- Call pacing shared by every instance: the next free moment (microseconds since the
-- epoch) at which a paced caller may call WeChat. Each call takes the next slot.
CREATE TABLE call_pacers (
    key TEXT PRIMARY KEY NOT NULL,
    next_at_us BIGINT NOT NULL
);
