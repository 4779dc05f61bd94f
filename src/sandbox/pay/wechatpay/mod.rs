//! WeChat Pay APIv3 in partner mode under `/sandbox/wechatpay` (to be built).

use actix_web::web;

pub fn configure(_cfg: &mut web::ServiceConfig) {}
