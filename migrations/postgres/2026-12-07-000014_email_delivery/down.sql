ALTER TABLE users DROP COLUMN locale;

DROP INDEX outbox_emails_due;
UPDATE outbox_emails SET status = 'failed' WHERE status NOT IN ('pending', 'sent', 'failed');
ALTER TABLE outbox_emails DROP CONSTRAINT outbox_emails_status_check;
ALTER TABLE outbox_emails ADD CONSTRAINT outbox_emails_status_check CHECK (status IN ('pending', 'sent', 'failed'));
ALTER TABLE outbox_emails DROP COLUMN body_html;
ALTER TABLE outbox_emails DROP COLUMN locale;
ALTER TABLE outbox_emails DROP COLUMN attempts;
ALTER TABLE outbox_emails DROP COLUMN next_attempt_at;
ALTER TABLE outbox_emails DROP COLUMN last_attempt_at;
ALTER TABLE outbox_emails DROP COLUMN last_error;
ALTER TABLE outbox_emails DROP COLUMN claimed_by;
ALTER TABLE outbox_emails DROP COLUMN claimed_at;
