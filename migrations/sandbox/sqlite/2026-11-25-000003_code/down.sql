DELETE FROM sandbox_reviews WHERE kind = 'code' OR status = 'withdrawn';
CREATE TABLE sandbox_reviews_old (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('plugin', 'privacy_interface', 'category', 'nickname')),
    appid TEXT NOT NULL,
    subject TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    reason TEXT NOT NULL DEFAULT '',
    audit_id BIGINT,
    created_at BIGINT NOT NULL,
    decided_at BIGINT
);
INSERT INTO sandbox_reviews_old (id, kind, appid, subject, status, reason, audit_id, created_at, decided_at)
SELECT id, kind, appid, subject, status, reason, audit_id, created_at, decided_at FROM sandbox_reviews;
DROP TABLE sandbox_reviews;
ALTER TABLE sandbox_reviews_old RENAME TO sandbox_reviews;
CREATE INDEX sandbox_reviews_status ON sandbox_reviews(status, created_at);
CREATE INDEX sandbox_reviews_subject ON sandbox_reviews(appid, kind, subject);
DROP TABLE IF EXISTS sandbox_call_limits;
DROP TABLE IF EXISTS sandbox_code_quota;
DROP TABLE IF EXISTS sandbox_code_media;
DROP TABLE IF EXISTS sandbox_code_undos;
DROP TABLE IF EXISTS sandbox_code_releases;
DROP TABLE IF EXISTS sandbox_code_audits;
DROP TABLE IF EXISTS sandbox_code_trials;
DROP TABLE IF EXISTS sandbox_code_templates;
DROP TABLE IF EXISTS sandbox_code_drafts;
DROP TABLE IF EXISTS sandbox_code_counters;
