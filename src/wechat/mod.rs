//! The WeChat Open Platform protocol: message crypto and the errcode table.

pub mod crypto;
pub mod errcode;
