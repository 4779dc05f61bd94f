-- E-mail delivery over SMTP. A message is claimed ('sending', by whom and when) in a
-- transaction before the console talks to the SMTP server, then marked 'sent'; a temporary
-- failure puts it back to 'pending' with a later `next_attempt_at`; a permanent one is
-- 'failed' with the server's answer. A message found 'sending' long after its claim (the
-- instance died mid-send) becomes 'uncertain': it may have left, so it is never sent again
-- without an operator's "Send again".
ALTER TABLE outbox_emails DROP CONSTRAINT outbox_emails_status_check;
ALTER TABLE outbox_emails ADD CONSTRAINT outbox_emails_status_check
    CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'uncertain'));
ALTER TABLE outbox_emails ADD COLUMN body_html TEXT;
ALTER TABLE outbox_emails ADD COLUMN locale TEXT CHECK (locale IN ('en', 'zh-CN'));
ALTER TABLE outbox_emails ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox_emails ADD COLUMN next_attempt_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE outbox_emails ADD COLUMN last_attempt_at BIGINT;
ALTER TABLE outbox_emails ADD COLUMN last_error TEXT;
ALTER TABLE outbox_emails ADD COLUMN claimed_by TEXT;
ALTER TABLE outbox_emails ADD COLUMN claimed_at BIGINT;
UPDATE outbox_emails SET next_attempt_at = created_at;
CREATE INDEX outbox_emails_due ON outbox_emails(status, next_attempt_at);

-- The language a user reads: set by the header's switch and at sign-up and login.
ALTER TABLE users ADD COLUMN locale TEXT CHECK (locale IN ('en', 'zh-CN'));
