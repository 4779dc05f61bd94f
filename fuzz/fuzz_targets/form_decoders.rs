//! Every URL-encoded form of the console: arbitrary bytes decoded into each form struct as
//! `web::Form` decodes them, then the checks the handlers run before the database
//! (`routes::decode_forms`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = minihost::routes::decode_forms(data);
});
