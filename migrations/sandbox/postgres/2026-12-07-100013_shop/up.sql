-- The sandbox's custom trade component (/shop/*) and WeChat Shop links (wave-2 notes §1).
-- A mini program without a row is not on the component and has no WeChat Shop link.

CREATE TABLE IF NOT EXISTS sandbox_shop_accounts (
    appid TEXT PRIMARY KEY NOT NULL,
    -- "On the legacy trade component": connected before WeChat stopped new sign-ups.
    legacy BOOLEAN NOT NULL,
    -- register/check's access_info flags (JSON object of 0/1).
    access_info TEXT NOT NULL DEFAULT '{}',
    -- The Channels scene group: -1 not applied, 0 reviewing, 1 approved, 2 rejected.
    scene_status INTEGER NOT NULL DEFAULT -1,
    scene_reason TEXT NOT NULL DEFAULT '',
    -- The WeChat Shop that invited this mini program, and the link's status (notes §1.8:
    -- 4 inviting, 1 bound, 3 refused, 5 timed out, 6 failed, 7 cancelled by shop, 2 unbound).
    shop_appid TEXT,
    link_status INTEGER NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL
);

-- Qualification audits, products, orders and after-sales of each mini program.
CREATE TABLE IF NOT EXISTS sandbox_shop_objects (
    id TEXT PRIMARY KEY NOT NULL,
    appid TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('brand', 'category', 'spu', 'order', 'aftersale', 'sharer')),
    wx_id TEXT NOT NULL,
    out_id TEXT NOT NULL DEFAULT '',
    -- brand/category: 0 reviewing, 1 approved, 9 rejected; spu: edit_status 2/3/4;
    -- order: 10/20/30/100; aftersale: 1; sharer: bind_status.
    status INTEGER NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    data TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (appid, kind, wx_id)
);

INSERT INTO sandbox_shop_accounts (appid, legacy, access_info, scene_status, scene_reason, shop_appid, link_status, updated_at) VALUES
('wx5b1c0a3e7d2f4a01', FALSE, '{}', -1, '', 'wxshop5b1c0a3e7d01', 1, 0),
('wx5b1c0a3e7d2f4a03', TRUE, '{}', -1, '', NULL, 0, 0)
ON CONFLICT (appid) DO NOTHING;
