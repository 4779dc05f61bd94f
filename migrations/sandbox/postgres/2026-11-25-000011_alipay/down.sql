DROP TABLE sandbox_alipay_attempts;
DROP TABLE sandbox_alipay_notifications;
DROP TABLE sandbox_alipay_refunds;
DROP TABLE sandbox_alipay_trades;
DROP TABLE sandbox_alipay_apps;
