ALTER TABLE tenants DROP COLUMN linked_oa_subject;
DROP TABLE mp_bindings;
DROP TABLE platform_settings;
