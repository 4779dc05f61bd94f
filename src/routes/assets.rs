//! Static files, compiled into the binary so `minihost serve` works from any directory.

use actix_web::{HttpResponse, http::header, web};

use crate::error::AppError;

const FILES: [(&str, &str, &[u8]); 4] = [
    ("htmx.min.js", "text/javascript; charset=utf-8", include_bytes!("../../static/htmx.min.js")),
    ("app.css", "text/css; charset=utf-8", include_bytes!("../../static/app.css")),
    ("app.js", "text/javascript; charset=utf-8", include_bytes!("../../static/app.js")),
    // The picture sent with the location API application (domain::requirements).
    ("location-purpose.png", "image/png", include_bytes!("../../static/location-purpose.png")),
];

pub async fn serve(file: web::Path<String>) -> Result<HttpResponse, AppError> {
    let (_, mime, body) = FILES.iter().find(|(name, _, _)| *name == file.as_str()).ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok()
        .content_type(*mime)
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(*body))
}
