-- The mini program management state the sandbox simulates (account basic info, plugins,
-- service categories, privacy interfaces, privacy guide, ICP filing), the reviewer's
-- queue, the platform's registered server domains, and where a push goes.
-- Twin of migrations/sandbox/sqlite/2026-11-24-000002_manage (only the clock differs).

-- Per mini program: what sandbox_accounts does not hold already (name, icon,
-- introduction, verification and the server domains stay there).
CREATE TABLE sandbox_mp_settings (
    appid TEXT PRIMARY KEY NOT NULL,
    nickname_pending TEXT,
    nickname_used INTEGER NOT NULL DEFAULT 0,
    signature_used INTEGER NOT NULL DEFAULT 0,
    head_image_used INTEGER NOT NULL DEFAULT 0,
    annual_review_begin BIGINT,
    annual_review_end BIGINT,
    icp_status INTEGER NOT NULL DEFAULT 1024,
    category_period TEXT NOT NULL DEFAULT '',
    category_adds INTEGER NOT NULL DEFAULT 0,
    privacy_setting TEXT,
    updated_at BIGINT NOT NULL
);

CREATE TABLE sandbox_mp_plugins (
    appid TEXT NOT NULL,
    plugin_appid TEXT NOT NULL,
    status INTEGER NOT NULL CHECK (status IN (1, 2, 3, 4)),
    reason TEXT NOT NULL DEFAULT '',
    apply_time BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (appid, plugin_appid)
);

CREATE TABLE sandbox_mp_categories (
    appid TEXT NOT NULL,
    first BIGINT NOT NULL,
    second BIGINT NOT NULL,
    audit_status INTEGER NOT NULL CHECK (audit_status IN (1, 2, 3)),
    audit_reason TEXT NOT NULL DEFAULT '',
    certicates TEXT NOT NULL DEFAULT '[]',
    created_at BIGINT NOT NULL,
    PRIMARY KEY (appid, first, second)
);

-- Only interfaces whose state was ever set have a row; the others follow the categories.
CREATE TABLE sandbox_mp_privacy_interfaces (
    appid TEXT NOT NULL,
    api_name TEXT NOT NULL,
    status INTEGER NOT NULL CHECK (status IN (1, 2, 3, 4, 5)),
    fail_reason TEXT NOT NULL DEFAULT '',
    apply_time BIGINT,
    audit_id BIGINT,
    content TEXT NOT NULL DEFAULT '',
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (appid, api_name)
);

CREATE TABLE sandbox_reviews (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('plugin', 'privacy_interface', 'category', 'nickname')),
    appid TEXT NOT NULL,
    subject TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    reason TEXT NOT NULL DEFAULT '',
    audit_id BIGINT,
    created_at BIGINT NOT NULL,
    decided_at BIGINT
);
CREATE INDEX sandbox_reviews_status ON sandbox_reviews(status, created_at);
CREATE INDEX sandbox_reviews_subject ON sandbox_reviews(appid, kind, subject);

-- The platform's 小程序服务器域名 lists (modify_wxa_server_domain), empty at first.
CREATE TABLE sandbox_platform_domains (
    list TEXT NOT NULL CHECK (list IN ('testing', 'published')),
    domain TEXT NOT NULL,
    PRIMARY KEY (list, domain)
);

-- Pushes to the mini program's message URL ({public_url}/wechat/mp/{appid}/events).
ALTER TABLE sandbox_pushes ADD COLUMN target TEXT NOT NULL DEFAULT 'component';

-- Categories now live in sandbox_mp_categories; a freshly bound mini program has none.
UPDATE sandbox_accounts SET categories = '[]' WHERE kind = 'mp';
UPDATE sandbox_accounts SET
    network = '{"RequestDomain":[],"WsRequestDomain":[],"UploadDomain":[],"DownloadDomain":[],"BizDomain":[],"UDPDomain":[],"TCPDomain":[]}'
WHERE kind = 'mp';

-- Verified mini programs: the annual review is due in about 300 days (its window opens
-- 90 days before); filed with the ICP. The unverified trial shop is not filed (1031:
-- not verified, introduction and categories missing).
INSERT INTO sandbox_mp_settings (appid, annual_review_begin, annual_review_end, icp_status, updated_at)
SELECT appid,
       CAST(EXTRACT(EPOCH FROM now()) AS BIGINT) + 210 * 86400,
       CAST(EXTRACT(EPOCH FROM now()) AS BIGINT) + 300 * 86400,
       6,
       0
FROM sandbox_accounts WHERE kind = 'mp' AND verified;
INSERT INTO sandbox_mp_settings (appid, icp_status, updated_at)
SELECT appid, 1031, 0 FROM sandbox_accounts WHERE kind = 'mp' AND NOT verified;
