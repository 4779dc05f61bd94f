-- E-mail delivery over SMTP. A message is claimed ('sending', by whom and when) in a
-- transaction before the console talks to the SMTP server, then marked 'sent'; a temporary
-- failure puts it back to 'pending' with a later `next_attempt_at`; a permanent one is
-- 'failed' with the server's answer. A message found 'sending' long after its claim (the
-- instance died mid-send) becomes 'uncertain': it may have left, so it is never sent again
-- without an operator's "Send again".
-- SQLite cannot change a CHECK constraint in place: the table is rebuilt.
CREATE TABLE outbox_emails_new (
    id TEXT PRIMARY KEY NOT NULL,
    to_address TEXT NOT NULL,
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'uncertain')),
    created_at BIGINT NOT NULL,
    sent_at BIGINT,
    body_html TEXT,
    locale TEXT CHECK (locale IN ('en', 'zh-CN')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL DEFAULT 0,
    last_attempt_at BIGINT,
    last_error TEXT,
    claimed_by TEXT,
    claimed_at BIGINT
);
INSERT INTO outbox_emails_new (id, to_address, subject, body_text, status, created_at, sent_at, next_attempt_at)
    SELECT id, to_address, subject, body_text, status, created_at, sent_at, created_at FROM outbox_emails;
DROP TABLE outbox_emails;
ALTER TABLE outbox_emails_new RENAME TO outbox_emails;
CREATE INDEX outbox_emails_created ON outbox_emails(created_at);
CREATE INDEX outbox_emails_due ON outbox_emails(status, next_attempt_at);

-- The language a user reads: set by the header's switch and at sign-up and login.
ALTER TABLE users ADD COLUMN locale TEXT CHECK (locale IN ('en', 'zh-CN'));
