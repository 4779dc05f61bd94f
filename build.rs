//! Rebuilds the crate when the message catalog changes: `rust_i18n::i18n!` reads
//! `locales/` at compile time, and cargo does not otherwise know about those files.

fn main() {
    println!("cargo:rerun-if-changed=locales");
}
