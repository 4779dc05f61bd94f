//! The WeChat Open Platform protocol and nothing more: the typed API client and its wire
//! types, message crypto, the errcode table, inbound push verification, URL builders.
//! No database, no jobs, no product rules: those are `services`.

pub mod client;
pub mod code;
pub mod crypto;
pub mod errcode;
pub mod manage;
pub mod official;
pub mod push;
pub mod shop;
pub mod urls;
