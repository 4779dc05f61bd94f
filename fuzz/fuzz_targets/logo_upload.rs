//! The business-details upload: arbitrary bytes as a `multipart/form-data` body (fixed
//! boundary), fed in chunks whose size the first byte picks, read through
//! `multipart::Parts` by `routes::upload::read` with the details form's limits (a body cut
//! short must be an error, not a wait: the executor panics on a future that never
//! settles), then the logo checked as the handler checks it (`domain::logo::check`, by
//! content). The raw bytes are checked as a logo too.
#![no_main]

use actix_web::error::PayloadError;
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::web::Bytes;
use libfuzzer_sys::fuzz_target;
use minihost::domain::logo;
use minihost::multipart::Parts;
use minihost::routes::{DETAILS_LIMITS, upload};
use minihost_fuzz::{BOUNDARY, block_on};

fuzz_target!(|data: &[u8]| {
    let _ = logo::check(data);
    let Some((&first, body)) = data.split_first() else { return };
    let chunk = usize::from(first).max(1);
    let chunks: Vec<Result<Bytes, PayloadError>> =
        body.chunks(chunk).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
    let mut headers = HeaderMap::new();
    let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_str(&content_type).expect("a header value"));
    let payload = Parts::new(&headers, futures_util::stream::iter(chunks));
    if let Ok(up) = block_on(upload::read(payload, DETAILS_LIMITS)) {
        for (name, _, bytes) in &up.files {
            assert!(bytes.len() <= DETAILS_LIMITS.file_bytes && !bytes.is_empty(), "{name} kept outside its limit");
        }
        if let Some(bytes) = up.file("logo") {
            let _ = logo::check(bytes);
        }
    }
});
