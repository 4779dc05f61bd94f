DROP TABLE IF EXISTS sandbox_shop_objects;
DROP TABLE IF EXISTS sandbox_shop_accounts;
