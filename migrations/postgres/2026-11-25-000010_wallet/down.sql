DROP TABLE payment_notifications;
DROP TABLE payments;
DROP TABLE wechatpay_bindings;
DROP TABLE alipay_accounts;
DROP TABLE wechatpay_applications;
DROP TABLE wechatpay_provider;
