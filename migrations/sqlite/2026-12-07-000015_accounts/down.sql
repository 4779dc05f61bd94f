DROP TABLE recovery_codes;
DROP TABLE user_totp;
DROP TABLE invitations;
DELETE FROM tenant_members WHERE role = 'member';
CREATE TABLE tenant_members_old (
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('admin')),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
);
INSERT INTO tenant_members_old SELECT tenant_id, user_id, role, created_at FROM tenant_members;
DROP TABLE tenant_members;
ALTER TABLE tenant_members_old RENAME TO tenant_members;
CREATE INDEX tenant_members_user ON tenant_members(user_id);
DROP TABLE password_resets;
DROP TABLE rate_events;
DROP INDEX user_sessions_public_id;
ALTER TABLE user_sessions DROP COLUMN public_id;
ALTER TABLE user_sessions DROP COLUMN ip;
ALTER TABLE user_sessions DROP COLUMN user_agent;
ALTER TABLE user_sessions DROP COLUMN last_seen_at;
