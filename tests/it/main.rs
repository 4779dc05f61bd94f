//! One integration binary: the real app over HTTP, a fresh database per test.

mod helpers;

mod access;
mod account;
mod application;
mod cli;
mod i18n;
