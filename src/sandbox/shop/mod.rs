//! The custom trade component (`/shop/*`) and the mini program's WeChat Shop links, as
//! the sandbox simulates them (wave-2 notes §1, issue 13).
//!
//! * [`state`]: its tables (`sandbox_shop_accounts`, `sandbox_shop_objects`).
//! * [`api`]: the WeChat endpoints under `/sandbox/wechat`.
//! * [`review`]: WeChat's reviewer of qualifications, products and the scene group, and
//!   the pushes its decisions send to `/wechat/mp/{appid}/events`.
//! * [`pages`]: the human page `/sandbox/shop/` and the JSON dev endpoints
//!   `/sandbox/dev/shop/…`.
//!
//! How the simulation behaves, and where it guesses (marked *unconfirmed*):
//!
//! * A mini program is "on the legacy trade component" when its row says so (seeded for
//!   Bright Harbor Foods; editable on the page and by the dev endpoint). Every other mini
//!   program gets 1040003 from `register/check` and every `/shop/*` call.
//! * New sign-ups are closed: `register/apply` answers 1400007 to everyone, and
//!   `apply_scene` answers 1400007 to a mini program not on the component.
//! * No permission set is required for `/shop/*` (the set id is *unconfirmed*);
//!   `/wxa/vip/shop/list/get` requires set 185 (61007 without) and answers errcode 2
//!   when the mini program has no bound WeChat Shop link.
//! * `finish_access_info` 6–9 (19, 20 as 7, 9) answer 1040041 until the matching
//!   interface succeeded once (approved product, paid order, shipped order, after-sale);
//!   10 and 11 are accepted any time (*unconfirmed*). `apply_scene` answers 1040041 until
//!   all six are finished.
//! * `spu/add` answers 1000005 for a third-level category without an approved category
//!   audit (*unconfirmed*: WeChat also lets categories without qualification through).
//! * Orders go 10 (created) → 20 (paid, `order/pay` action 1) → 30 (shipped) → 100
//!   (received); anything else is 1000000. After-sales need a paid order.
//! * Setting or clearing the legacy flag pushes `open_product_account_register` (status 2
//!   opened, 10 access cancelled).
//! * The reviewer decides by hand only (page or dev endpoint); each decision pushes
//!   `open_product_brand_audit`, `open_product_category_audit`, `open_product_spu_audit`
//!   or `open_product_scene_group_audit`.

pub mod api;
pub mod pages;
pub mod review;
pub mod state;
