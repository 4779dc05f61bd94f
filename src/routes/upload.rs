//! Reading the multipart forms the console owns (the application's logo, the WeChat Pay
//! application's images): text fields and files, each within its limit. An oversized field
//! is drained, not kept, and named in `too_large`, so the page says so beside it (rather
//! than taking the form as if the field had been left empty).

use std::collections::HashMap;

use crate::error::AppError;
use crate::multipart::Parts;

/// What a multipart form carried.
#[derive(Debug, Default)]
pub struct Upload {
    /// Text fields, trimmed; bytes that are not UTF-8 are replaced (U+FFFD). A later field
    /// of the same name replaces an earlier one.
    pub fields: HashMap<String, String>,
    /// Non-empty files within the limit: (field name, file name as sent, bytes), in order.
    pub files: Vec<(String, String, Vec<u8>)>,
    /// Fields (files or text) that went over their limit; they are in neither list above.
    pub too_large: Vec<String>,
}

impl Upload {
    /// The last file sent in `field`.
    pub fn file(&self, field: &str) -> Option<&[u8]> {
        self.files.iter().rev().find(|(name, _, _)| name == field).map(|(_, _, bytes)| bytes.as_slice())
    }

    /// Whether `field` went over its limit.
    pub fn too_large(&self, field: &str) -> bool {
        self.too_large.iter().any(|f| f == field)
    }
}

/// Which fields are files, and how large a file and a text field may be.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub file_fields: &'static [&'static str],
    pub file_bytes: usize,
    pub text_bytes: usize,
}

/// Reads the whole form; a body cut short is a 400, at once (see `crate::multipart`).
/// Public so the fuzz targets (`fuzz/`) run it on arbitrary bodies.
pub async fn read(mut payload: Parts, limits: Limits) -> Result<Upload, AppError> {
    let mut up = Upload::default();
    while let Some(field) = payload.next_field().await {
        let mut field = field.map_err(super::bad_form)?;
        let name = field.name().unwrap_or_default().to_string();
        let filename = field.content_disposition().and_then(|d| d.get_filename()).unwrap_or_default().to_string();
        let is_file = limits.file_fields.contains(&name.as_str());
        let limit = if is_file { limits.file_bytes } else { limits.text_bytes };
        let (mut data, mut too_large) = (Vec::new(), false);
        while let Some(chunk) = payload.next_chunk(&mut field).await {
            let chunk = chunk.map_err(super::bad_form)?;
            if too_large || data.len() + chunk.len() > limit {
                too_large = true;
                continue; // drain the rest of the field without keeping it
            }
            data.extend_from_slice(&chunk);
        }
        if too_large {
            up.too_large.push(name);
        } else if is_file {
            if !data.is_empty() {
                up.files.push((name, filename, data));
            }
        } else {
            up.fields.insert(name, String::from_utf8_lossy(&data).trim().to_string());
        }
    }
    Ok(up)
}
