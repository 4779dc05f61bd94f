-- Accounts a team expects (issue 14): sessions with their browser, address and last
-- activity; rate limits; password resets; invitations and member roles; the second factor.
-- Twin of migrations/sqlite/2026-12-07-000015_accounts.

ALTER TABLE user_sessions ADD COLUMN last_seen_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE user_sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
ALTER TABLE user_sessions ADD COLUMN ip TEXT NOT NULL DEFAULT '';
ALTER TABLE user_sessions ADD COLUMN public_id TEXT NOT NULL DEFAULT '';
UPDATE user_sessions SET last_seen_at = created_at, public_id = md5(random()::text || id);
CREATE UNIQUE INDEX user_sessions_public_id ON user_sessions(public_id);

CREATE TABLE rate_events (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX rate_events_kind_key ON rate_events(kind, key, at);
CREATE INDEX rate_events_at ON rate_events(at);

CREATE TABLE password_resets (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX password_resets_user ON password_resets(user_id);

-- Members are admins or members; existing members stay admins.
ALTER TABLE tenant_members DROP CONSTRAINT tenant_members_role_check;
ALTER TABLE tenant_members ADD CONSTRAINT tenant_members_role_check CHECK (role IN ('admin', 'member'));

CREATE TABLE invitations (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    token_hash TEXT NOT NULL UNIQUE,
    invited_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    sent_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    accepted_at BIGINT,
    accepted_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    revoked_at BIGINT
);
CREATE UNIQUE INDEX invitations_one_open ON invitations(tenant_id, email)
    WHERE accepted_at IS NULL AND revoked_at IS NULL;
CREATE INDEX invitations_tenant ON invitations(tenant_id, created_at);

CREATE TABLE user_totp (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    secret_enc TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    confirmed_at BIGINT,
    last_step BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE recovery_codes (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX recovery_codes_user ON recovery_codes(user_id, code_hash);
