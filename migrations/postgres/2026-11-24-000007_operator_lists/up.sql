-- The operator's tenants page reads each AppID's last WeChat event.
CREATE INDEX wechat_events_authorizer ON wechat_events(authorizer_appid, received_at);
