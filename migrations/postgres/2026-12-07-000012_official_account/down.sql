DELETE FROM auth_states WHERE purpose = 'official_account';
ALTER TABLE auth_states DROP CONSTRAINT auth_states_result_check;
ALTER TABLE auth_states ADD CONSTRAINT auth_states_result_check CHECK (result IN (
    'bound', 'bound_subject_differs', 'not_mini_program', 'unverified', 'missing_sets',
    'different_appid', 'other_tenant', 'other_application', 'authorized', 'failed'));
ALTER TABLE auth_states DROP CONSTRAINT auth_states_purpose_check;
ALTER TABLE auth_states ADD CONSTRAINT auth_states_purpose_check CHECK (purpose IN ('platform', 'tenant'));
DROP TABLE oa_link_requests;
DROP TABLE official_accounts;
