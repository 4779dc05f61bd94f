//! The WeChat Open Platform protocol: message crypto and the errcode table.

pub mod binding;
pub mod client;
pub mod crypto;
pub mod errcode;
pub mod events;
pub mod platform;
