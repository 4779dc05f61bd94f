DELETE FROM sandbox_reviews WHERE kind = 'code' OR status = 'withdrawn';
ALTER TABLE sandbox_reviews DROP COLUMN delayed_at;
ALTER TABLE sandbox_reviews DROP CONSTRAINT IF EXISTS sandbox_reviews_kind_check;
ALTER TABLE sandbox_reviews ADD CONSTRAINT sandbox_reviews_kind_check
    CHECK (kind IN ('plugin', 'privacy_interface', 'category', 'nickname'));
ALTER TABLE sandbox_reviews DROP CONSTRAINT IF EXISTS sandbox_reviews_status_check;
ALTER TABLE sandbox_reviews ADD CONSTRAINT sandbox_reviews_status_check
    CHECK (status IN ('pending', 'approved', 'rejected'));
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
