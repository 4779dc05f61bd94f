-- Live selling (SPEC §3.7, seed 003, wave-2 notes §1): the operator's capability register,
-- each tenant's last reading of WeChat's trade component access state (or of its WeChat
-- Shop link), and the things the console submitted to the component (qualifications,
-- products, test orders, after-sales) with their review results.

-- What WeChat currently offers, maintained by the operator (WeChat keeps changing it).
CREATE TABLE capabilities (
    key TEXT PRIMARY KEY NOT NULL CHECK (key IN ('trade_component', 'wechat_shop')),
    status TEXT NOT NULL CHECK (status IN ('current', 'legacy', 'retired')),
    since TEXT NOT NULL,
    note TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

INSERT INTO capabilities (key, status, since, note, updated_by, updated_at) VALUES
('trade_component', 'legacy', '2023-03-22', 'New sign-ups answer 1400007 ("interface offline") since March 2023; only mini programs already on the component keep working.', 'system', 0),
('wechat_shop', 'current', '2024-01-01', 'Channels selling goes through a WeChat Shop that invites the mini program to link to it.', 'system', 0);

-- The tenant's last check: which world it is in and what WeChat said.
CREATE TABLE live_selling (
    tenant_id TEXT PRIMARY KEY NOT NULL REFERENCES tenants(id),
    appid TEXT NOT NULL,
    world TEXT NOT NULL CHECK (world IN ('legacy', 'shop', 'unknown')),
    -- What WeChat answered, as JSON: register/check's access_info and scene_group_list,
    -- the express companies, or the WeChat Shop links.
    reading TEXT NOT NULL DEFAULT '{}',
    failure_kind TEXT,
    failure_code BIGINT,
    checked_at BIGINT NOT NULL
);

-- What the console submitted to the component and where it stands.
CREATE TABLE live_selling_items (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    appid TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('brand', 'category', 'product', 'order', 'aftersale')),
    wx_id TEXT NOT NULL,
    label TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('in_progress', 'done', 'failed')),
    stage TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    scene BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (tenant_id, kind, wx_id)
);
CREATE INDEX live_selling_items_appid ON live_selling_items(appid, kind, wx_id);

-- Sharers (/shop/sharer/*, invited through WeChat) and promoters (set in the mini program's
-- admin: WeChat offers third parties no API for them) of each tenant's mini program.
CREATE TABLE live_selling_people (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    appid TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('sharer', 'promoter')),
    openid TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('inviting', 'bound', 'refused', 'expired', 'unbound')),
    bound_at BIGINT,
    -- Unix times of every bind and unbind (JSON array), for the yearly limit.
    changes TEXT NOT NULL DEFAULT '[]',
    reason TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (tenant_id, appid, role, openid)
);
