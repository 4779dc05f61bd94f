DROP TABLE IF EXISTS sandbox_oa_templates;
DROP TABLE IF EXISTS sandbox_oa_menus;
DROP TABLE IF EXISTS sandbox_oa_links;
DELETE FROM sandbox_accounts WHERE appid IN ('wx5b1c0a3e7d2f4a05', 'wx5b1c0a3e7d2f4a06');
