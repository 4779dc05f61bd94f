//! Alipay's open gateway under `/sandbox/alipay` (to be built).

use actix_web::web;

pub fn configure(_cfg: &mut web::ServiceConfig) {}
