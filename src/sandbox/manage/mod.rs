//! Mini program management as WeChat keeps it for each authorizer: basic info, plugins,
//! service categories, privacy interfaces, the privacy guide, server domains and the ICP
//! filing, with WeChat's reviewer deciding what needs reviewing. This is what the
//! console's requirements checklist checks and fixes.
//!
//! * [`catalog`]: what WeChat knows up front (category tree, plugins, interfaces, keys).
//! * [`rules`]: WeChat's validation rules as pure functions.
//! * [`state`]: the queries of the management tables and the reviewer's queue.
//! * [`review`]: the reviewer's decisions, their effects and pushes.
//! * [`edit`]: the administrator's changes by hand (dev JSON and the human page).
//! * [`api`]: the WeChat endpoints; [`dev`]: the JSON endpoints for tests.

pub mod api;
pub mod catalog;
pub mod dev;
pub mod edit;
pub mod review;
pub mod rules;
pub mod state;
