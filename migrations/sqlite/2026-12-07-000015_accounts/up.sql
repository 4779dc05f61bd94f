-- Accounts a team expects (issue 14): sessions with their browser, address and last
-- activity; rate limits; password resets; invitations and member roles; the second factor.
-- Twin of migrations/postgres/2026-12-07-000015_accounts.

-- What the account page lists of a login: when it was last seen (the idle timeout), the
-- browser and the address it logged in from, and a handle for "End session" that is not
-- the session's own id (which only ever travels inside the encrypted cookie).
ALTER TABLE user_sessions ADD COLUMN last_seen_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE user_sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
ALTER TABLE user_sessions ADD COLUMN ip TEXT NOT NULL DEFAULT '';
ALTER TABLE user_sessions ADD COLUMN public_id TEXT NOT NULL DEFAULT '';
UPDATE user_sessions SET last_seen_at = created_at, public_id = lower(hex(randomblob(16)));
CREATE UNIQUE INDEX user_sessions_public_id ON user_sessions(public_id);

-- Counted actions for rate limits (sign-ups per address, reset requests per address and
-- per e-mail): kind, the key counted (an IP address or an e-mail), when.
CREATE TABLE rate_events (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX rate_events_kind_key ON rate_events(kind, key, at);
CREATE INDEX rate_events_at ON rate_events(at);

-- "Forgot password?" links: only the SHA-256 of the token is kept; single use.
CREATE TABLE password_resets (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX password_resets_user ON password_resets(user_id);

-- Members are admins or members. SQLite cannot change a CHECK in place: the table is
-- rebuilt (nothing references it). Existing members stay admins.
CREATE TABLE tenant_members_new (
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
);
INSERT INTO tenant_members_new (tenant_id, user_id, role, created_at)
SELECT tenant_id, user_id, role, created_at FROM tenant_members;
DROP TABLE tenant_members;
ALTER TABLE tenant_members_new RENAME TO tenant_members;
CREATE INDEX tenant_members_user ON tenant_members(user_id);

-- Invitations to a workspace: only the SHA-256 of the token is kept; single use, 7 days.
-- One open invitation (neither accepted nor revoked) per address and workspace.
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

-- The second factor (TOTP): the secret sealed with the master key; confirmed once the
-- first code was right; the last time step used, so a code works once.
CREATE TABLE user_totp (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    secret_enc TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    confirmed_at BIGINT,
    last_step BIGINT NOT NULL DEFAULT 0
);

-- Recovery codes: the SHA-256 of each (60 random bits), single use.
CREATE TABLE recovery_codes (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX recovery_codes_user ON recovery_codes(user_id, code_hash);
