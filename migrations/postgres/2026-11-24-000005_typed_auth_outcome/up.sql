-- The outcome of an authorization, typed: a kind from a fixed set, the missing permission
-- sets when that is the kind, and for a failure its kind and code. It replaces the free
-- text `outcome` ("missing:30,40", "error: …") that pages used to parse back.
ALTER TABLE auth_states ADD COLUMN result TEXT CHECK (result IN (
    'bound', 'bound_subject_differs', 'not_mini_program', 'unverified', 'missing_sets',
    'different_appid', 'other_tenant', 'other_application', 'authorized', 'failed'));
ALTER TABLE auth_states ADD COLUMN result_sets TEXT;
ALTER TABLE auth_states ADD COLUMN result_failure TEXT CHECK (result_failure IN (
    'errcode', 'transport', 'http', 'decode', 'no_ticket', 'revoked', 'lease_timeout', 'database'));
ALTER TABLE auth_states ADD COLUMN result_code BIGINT;

UPDATE auth_states SET result = outcome WHERE outcome IN (
    'bound', 'bound_subject_differs', 'not_mini_program', 'unverified', 'different_appid',
    'other_tenant', 'other_application', 'authorized');
UPDATE auth_states SET result = 'missing_sets', result_sets = substr(outcome, 9) WHERE outcome LIKE 'missing:%';
-- The old error sentences were English text only; what they said cannot be typed back.
UPDATE auth_states SET result = 'failed', result_failure = 'decode' WHERE outcome LIKE 'error%';

ALTER TABLE auth_states DROP COLUMN outcome;
