ALTER TABLE auth_states ADD COLUMN outcome TEXT;
UPDATE auth_states SET outcome = result WHERE result IS NOT NULL AND result NOT IN ('missing_sets', 'failed');
UPDATE auth_states SET outcome = 'missing:' || result_sets WHERE result = 'missing_sets';
UPDATE auth_states SET outcome = 'error: ' || result_failure WHERE result = 'failed';
ALTER TABLE auth_states DROP COLUMN result_code;
ALTER TABLE auth_states DROP COLUMN result_failure;
ALTER TABLE auth_states DROP COLUMN result_sets;
ALTER TABLE auth_states DROP COLUMN result;
