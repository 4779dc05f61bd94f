-- The code management the sandbox simulates (reference §4): the platform's drafts and
-- template library, each mini program's trial version, its audits, releases and
-- withdrawals, the reviewer's screenshots, the platform's audit quota, and per-path call
-- limits of the gate. Code audits join the reviewer's queue as kind 'code'.
-- Twin of migrations/sandbox/sqlite/2026-11-25-000003_code (SQLite cannot change a
-- CHECK constraint, so it rebuilds sandbox_reviews; here it is altered).

-- The last draft and template ids handed out (ids are never reused).
CREATE TABLE sandbox_code_counters (
    name TEXT PRIMARY KEY NOT NULL,
    value BIGINT NOT NULL
);
INSERT INTO sandbox_code_counters (name, value) VALUES ('draft', 0), ('template', 0);

-- Uploads from WeChat DevTools by the platform's development mini program.
CREATE TABLE sandbox_code_drafts (
    draft_id BIGINT PRIMARY KEY NOT NULL,
    user_version TEXT NOT NULL,
    user_desc TEXT NOT NULL DEFAULT '',
    -- The privacy-sensitive interfaces the code calls, as a JSON array ("wx.getLocation").
    privacy_apis TEXT NOT NULL DEFAULT '[]',
    create_time BIGINT NOT NULL
);

-- The platform's template library (at most code::TEMPLATE_LIMIT rows).
CREATE TABLE sandbox_code_templates (
    template_id BIGINT PRIMARY KEY NOT NULL,
    draft_id BIGINT NOT NULL,
    user_version TEXT NOT NULL,
    user_desc TEXT NOT NULL DEFAULT '',
    privacy_apis TEXT NOT NULL DEFAULT '[]',
    template_type INTEGER NOT NULL CHECK (template_type IN (0, 1)),
    create_time BIGINT NOT NULL
);

-- A mini program's trial (体验) version: the last commit.
CREATE TABLE sandbox_code_trials (
    appid TEXT PRIMARY KEY NOT NULL,
    template_id BIGINT NOT NULL,
    user_version TEXT NOT NULL,
    user_desc TEXT NOT NULL DEFAULT '',
    ext_json TEXT NOT NULL,
    privacy_apis TEXT NOT NULL DEFAULT '[]',
    -- A new id per commit (two commits may share a second).
    commit_id TEXT NOT NULL,
    committed_at BIGINT NOT NULL,
    -- When the code privacy scan of this commit finishes.
    scan_done_at BIGINT NOT NULL
);

-- Submissions for review; seq orders one mini program's submissions.
CREATE TABLE sandbox_code_audits (
    auditid BIGINT PRIMARY KEY NOT NULL,
    appid TEXT NOT NULL,
    seq BIGINT NOT NULL,
    template_id BIGINT NOT NULL,
    user_version TEXT NOT NULL,
    user_desc TEXT NOT NULL DEFAULT '',
    -- The commit submitted (sandbox_code_trials.commit_id at the time).
    commit_id TEXT NOT NULL,
    committed_at BIGINT NOT NULL,
    item_list TEXT NOT NULL DEFAULT '[]',
    status INTEGER NOT NULL CHECK (status IN (0, 1, 2, 3, 4)),
    reason TEXT NOT NULL DEFAULT '',
    -- Pipe-joined media ids of the reviewer's screenshots.
    screenshot TEXT NOT NULL DEFAULT '',
    expedited BOOLEAN NOT NULL DEFAULT FALSE,
    submit_audit_time BIGINT NOT NULL,
    decided_at BIGINT,
    released_at BIGINT
);
CREATE UNIQUE INDEX sandbox_code_audits_seq ON sandbox_code_audits(appid, seq);

-- The live version's history: releases and rollbacks, the newest five kept.
CREATE TABLE sandbox_code_releases (
    id TEXT PRIMARY KEY NOT NULL,
    appid TEXT NOT NULL,
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('release', 'rollback')),
    app_version BIGINT NOT NULL,
    auditid BIGINT,
    template_id BIGINT NOT NULL,
    user_version TEXT NOT NULL,
    user_desc TEXT NOT NULL DEFAULT '',
    commit_time BIGINT NOT NULL,
    release_time BIGINT NOT NULL
);
CREATE UNIQUE INDEX sandbox_code_releases_seq ON sandbox_code_releases(appid, seq);

-- Withdrawals (undocodeaudit), counted per day and month in China time.
CREATE TABLE sandbox_code_undos (
    id TEXT PRIMARY KEY NOT NULL,
    appid TEXT NOT NULL,
    auditid BIGINT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX sandbox_code_undos_appid ON sandbox_code_undos(appid, at);

-- The reviewer's screenshots, served by get_material.
CREATE TABLE sandbox_code_media (
    media_id TEXT PRIMARY KEY NOT NULL,
    appid TEXT NOT NULL,
    auditid BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

-- The platform's monthly audit and speed-up quota (queryquota), one row.
CREATE TABLE sandbox_code_quota (
    id TEXT PRIMARY KEY NOT NULL,
    audit_rest INTEGER NOT NULL,
    audit_limit INTEGER NOT NULL,
    speedup_rest INTEGER NOT NULL,
    speedup_limit INTEGER NOT NULL,
    -- The YYYY-MM month (China time) the rests belong to; another month starts afresh.
    period TEXT NOT NULL
);
INSERT INTO sandbox_code_quota (id, audit_rest, audit_limit, speedup_rest, speedup_limit, period)
VALUES ('platform', 20, 20, 5, 5, '');

-- Per-path call limits of the gate (45009 beyond max_calls within window_secs).
CREATE TABLE sandbox_call_limits (
    path TEXT PRIMARY KEY NOT NULL,
    max_calls INTEGER NOT NULL,
    window_secs BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

-- The reviewer's queue: code audits ('code'), closed without a decision when withdrawn
-- ('withdrawn'), and when a delayed review was delayed (it stays pending).
ALTER TABLE sandbox_reviews DROP CONSTRAINT IF EXISTS sandbox_reviews_kind_check;
ALTER TABLE sandbox_reviews ADD CONSTRAINT sandbox_reviews_kind_check
    CHECK (kind IN ('plugin', 'privacy_interface', 'category', 'nickname', 'code'));
ALTER TABLE sandbox_reviews DROP CONSTRAINT IF EXISTS sandbox_reviews_status_check;
ALTER TABLE sandbox_reviews ADD CONSTRAINT sandbox_reviews_status_check
    CHECK (status IN ('pending', 'approved', 'rejected', 'withdrawn'));
ALTER TABLE sandbox_reviews ADD COLUMN delayed_at BIGINT;
