-- Official accounts as WeChat keeps them for the platform (reference §5, wave-2 notes §3):
-- the links to mini programs (wxamplink / wxamplinkget / wxampunlink), the current custom
-- menu (get_current_selfmenu_info) and the private notification templates
-- (template/get_all_private_template, api_add_template). Two more seeded official accounts:
-- an unverified subscription account and a service account of another legal subject.
-- Twin of migrations/sandbox/sqlite/2026-12-07-100012_official_accounts.

-- status: 1 linked, 2 waiting for the mini program's administrator, 3 refused by the
-- mini program's administrator, 12 waiting for the official account's administrator.
CREATE TABLE sandbox_oa_links (
    oa_appid TEXT NOT NULL,
    mp_appid TEXT NOT NULL,
    status INTEGER NOT NULL CHECK (status IN (1, 2, 3, 12)),
    nickname TEXT NOT NULL DEFAULT '',
    username TEXT NOT NULL DEFAULT '',
    same_subject BOOLEAN NOT NULL,
    notify_users BOOLEAN NOT NULL DEFAULT FALSE,
    show_profile BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (oa_appid, mp_appid)
);

-- The official account's current menu: the JSON array `selfmenu_info.button`.
CREATE TABLE sandbox_oa_menus (
    appid TEXT PRIMARY KEY NOT NULL,
    buttons TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE sandbox_oa_templates (
    appid TEXT NOT NULL,
    template_id TEXT NOT NULL,
    title TEXT NOT NULL,
    content TEXT NOT NULL,
    example TEXT NOT NULL DEFAULT '',
    primary_industry TEXT NOT NULL DEFAULT '',
    deputy_industry TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    PRIMARY KEY (appid, template_id)
);

INSERT INTO sandbox_accounts (appid, kind, nick_name, head_img, user_name, principal_name, verified, alias, signature, qrcode_url, service_type, account_status, categories, network, business_info, position, updated_at) VALUES
('wx5b1c0a3e7d2f4a05', 'oa', 'Acme Notes', 'https://wx.qlogo.cn/mmhead/sandbox/acme-notes/0', 'gh_5b1c0a3e7d05', 'Acme Trading Co., Ltd.', FALSE, 'acme_notes', 'Notes from the Acme team.', 'https://mp.weixin.qq.com/sandbox/qrcode/wx5b1c0a3e7d2f4a05', 0, 1, '[]', '{}', '{"open_pay":0,"open_shake":0,"open_scan":0,"open_card":0,"open_store":0}', 5, 0),
('wx5b1c0a3e7d2f4a06', 'oa', 'Bright Harbor Service', 'https://wx.qlogo.cn/mmhead/sandbox/bright-harbor-oa/0', 'gh_5b1c0a3e7d06', 'Bright Harbor Food Supply Co., Ltd.', TRUE, 'bright_harbor', 'Orders and delivery news from Bright Harbor.', 'https://mp.weixin.qq.com/sandbox/qrcode/wx5b1c0a3e7d2f4a06', 2, 1, '[]', '{}', '{"open_pay":1,"open_shake":0,"open_scan":0,"open_card":0,"open_store":0}', 6, 0)
ON CONFLICT (appid) DO NOTHING;

-- Acme Trading's menu has no store entry yet.
INSERT INTO sandbox_oa_menus (appid, buttons, updated_at) VALUES
('wx5b1c0a3e7d2f4a04', '[{"type":"view","name":"Latest news","url":"https://acme.example/news"},{"name":"About us","sub_button":{"list":[{"type":"view","name":"Contact","url":"https://acme.example/contact"}]}}]', 0),
('wx5b1c0a3e7d2f4a06', '[{"type":"view","name":"Menu","url":"https://bright-harbor.example/menu"}]', 0);
