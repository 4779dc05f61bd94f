DROP TABLE IF EXISTS sandbox_platform_domains;
DROP TABLE IF EXISTS sandbox_reviews;
DROP TABLE IF EXISTS sandbox_mp_privacy_interfaces;
DROP TABLE IF EXISTS sandbox_mp_categories;
DROP TABLE IF EXISTS sandbox_mp_plugins;
DROP TABLE IF EXISTS sandbox_mp_settings;
ALTER TABLE sandbox_pushes DROP COLUMN target;
