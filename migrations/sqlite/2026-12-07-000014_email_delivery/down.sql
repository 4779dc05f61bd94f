ALTER TABLE users DROP COLUMN locale;

CREATE TABLE outbox_emails_old (
    id TEXT PRIMARY KEY NOT NULL,
    to_address TEXT NOT NULL,
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    created_at BIGINT NOT NULL,
    sent_at BIGINT
);
INSERT INTO outbox_emails_old (id, to_address, subject, body_text, status, created_at, sent_at)
    SELECT id, to_address, subject, body_text,
           CASE WHEN status IN ('pending', 'sent', 'failed') THEN status ELSE 'failed' END,
           created_at, sent_at
    FROM outbox_emails;
DROP TABLE outbox_emails;
ALTER TABLE outbox_emails_old RENAME TO outbox_emails;
CREATE INDEX outbox_emails_created ON outbox_emails(created_at);
