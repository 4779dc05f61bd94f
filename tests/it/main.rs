#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test here

//! One integration binary: the real app over HTTP, a fresh database per test.

mod helpers;

mod access;
mod account;
mod application;
mod bad_input;
mod browser;
mod campaigns;
mod cli;
mod crash;
mod demo;
mod demo_ready;
mod email;
mod events;
mod i18n;
mod interop;
mod mini_program;
mod observability;
mod official_account;
mod online_payment;
mod operator_requirements;
mod platform;
mod releases;
mod requirements;
mod sandbox;
mod sandbox_alipay;
mod sandbox_code;
mod sandbox_manage;
mod sandbox_official;
mod sandbox_wechatpay;
mod team;
mod two_factor;
mod wallet;
mod worker;
// live selling (issue 13)
mod live_selling;
mod sandbox_shop;
