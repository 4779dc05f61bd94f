-- Versions, review and release (SPEC §3.4).

-- The versions of the vendor's template mini program that the operator released to
-- tenants: a WeChat template (template_id) with the version number and notes tenants
-- see. `sort_key` orders version numbers numerically; the greatest is "latest".
CREATE TABLE template_versions (
    id TEXT PRIMARY KEY NOT NULL,
    template_id BIGINT NOT NULL,
    version TEXT NOT NULL UNIQUE,
    sort_key TEXT NOT NULL UNIQUE,
    notes TEXT NOT NULL,
    user_version TEXT NOT NULL,
    published_by TEXT NOT NULL,
    published_at BIGINT NOT NULL
);

-- Each tenant's dedicated mini program on its way through commit, review and release:
-- one row per tenant and AppID, its stage, what is being submitted, and what is live.
CREATE TABLE releases (
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    appid TEXT NOT NULL,
    stage TEXT NOT NULL CHECK (stage IN ('submitting', 'submit_failed', 'under_review', 'delayed', 'approved',
                                         'rejected', 'withdrawn', 'publish_failed', 'released')),
    -- While submitting: preflight, commit, privacy_scan, submit.
    step TEXT,
    version_id TEXT REFERENCES template_versions(id),
    version TEXT,
    auditid BIGINT,
    submitted_at BIGINT,
    expedited BOOLEAN NOT NULL DEFAULT FALSE,
    -- WeChat's rejection or delay reason (its HTML, made safe when shown) and screenshots.
    reason TEXT NOT NULL DEFAULT '',
    screenshots TEXT NOT NULL DEFAULT '',
    -- Why a submission stopped before WeChat review (JSON: message keys and arguments).
    blockers TEXT NOT NULL DEFAULT '[]',
    failure_kind TEXT,
    failure_code BIGINT,
    scan_attempts INTEGER NOT NULL DEFAULT 0,
    polled_at BIGINT,
    released_version_id TEXT REFERENCES template_versions(id),
    released_version TEXT,
    released_at BIGINT,
    campaign_id TEXT,
    stage_changed_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, appid)
);
CREATE INDEX releases_stage ON releases(stage, submitted_at);
CREATE INDEX releases_appid ON releases(appid);

-- Releases and roll-backs, in order: what "Roll back" returns to, and whether the last
-- step was already a roll-back (WeChat refuses two in a row).
CREATE TABLE release_history (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    appid TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('release', 'rollback')),
    version_id TEXT,
    version TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX release_history_tenant ON release_history(tenant_id, appid, at);

-- Withdrawn submissions per mini program: WeChat allows 5 a day and 10 a month and does
-- not say how many are left, so they are counted here.
CREATE TABLE review_withdrawals (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    appid TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX review_withdrawals_appid ON review_withdrawals(appid, at);
