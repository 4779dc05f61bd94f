DROP INDEX wechat_events_authorizer;
