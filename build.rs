//! Rebuilds the crate when files read at compile time change: `rust_i18n::i18n!` reads
//! `locales/` and `embed_migrations!` reads `migrations/`, and cargo does not otherwise
//! notice a new file in those folders.

fn main() {
    println!("cargo:rerun-if-changed=locales");
    println!("cargo:rerun-if-changed=migrations");
}
