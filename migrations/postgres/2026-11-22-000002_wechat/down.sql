DROP TABLE auth_states;
DROP TABLE jobs;
DROP TABLE event_nonces;
DROP TABLE wechat_events;
DROP TABLE leases;
DROP TABLE authorizers;
DROP TABLE platform_credentials;
