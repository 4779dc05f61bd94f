//! Pure rules: no actix, diesel, reqwest or askama in here (CI greps for it).
//! Time is passed in as an argument so tests control it.

pub mod application;
pub mod avatar;
pub mod binding;
pub mod failure;
pub mod logo;
pub mod throttle;
