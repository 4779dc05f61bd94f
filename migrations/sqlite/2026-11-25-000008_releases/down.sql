DROP TABLE review_withdrawals;
DROP TABLE release_history;
DROP TABLE releases;
DROP TABLE template_versions;
