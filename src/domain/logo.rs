//! Logo uploads are checked by their content, never by file name or declared type.

/// The largest logo accepted.
pub const MAX_LOGO_BYTES: usize = 2 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogoKind {
    Png,
    Jpeg,
    Webp,
}

impl LogoKind {
    pub fn mime(self) -> &'static str {
        match self {
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
            Self::Webp => "image/webp",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogoError {
    Empty,
    TooLarge,
    NotAnImage,
}

impl LogoError {
    /// Message-catalog key for the error shown beside the field.
    pub fn message_key(self) -> &'static str {
        match self {
            Self::Empty => "apply.logo_empty",
            Self::TooLarge => "apply.logo_too_large",
            Self::NotAnImage => "apply.logo_not_image",
        }
    }
}

/// Accepts PNG, JPEG and WebP whose header parses with sane dimensions.
pub fn check(bytes: &[u8]) -> Result<LogoKind, LogoError> {
    if bytes.is_empty() {
        return Err(LogoError::Empty);
    }
    if bytes.len() > MAX_LOGO_BYTES {
        return Err(LogoError::TooLarge);
    }
    let kind = match imagesize::image_type(bytes) {
        Ok(imagesize::ImageType::Png) => LogoKind::Png,
        Ok(imagesize::ImageType::Jpeg) => LogoKind::Jpeg,
        Ok(imagesize::ImageType::Webp) => LogoKind::Webp,
        _ => return Err(LogoError::NotAnImage),
    };
    match imagesize::blob_size(bytes) {
        Ok(size) if size.width > 0 && size.height > 0 && size.width <= 10_000 && size.height <= 10_000 => Ok(kind),
        _ => Err(LogoError::NotAnImage),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A valid 1×1 PNG.
    pub const TINY_PNG: &[u8] = &[
        0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00,
        0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4, 0x89, 0x00, 0x00, 0x00,
        0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0xF8, 0xCF, 0xC0, 0xF0, 0x1F, 0x00, 0x05, 0x00, 0x01, 0xFF,
        0x89, 0x99, 0x3D, 0x1D, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
    ];

    #[test]
    fn accepts_a_real_png() {
        assert_eq!(check(TINY_PNG), Ok(LogoKind::Png));
    }

    #[test]
    fn refuses_text_renamed_to_png() {
        assert_eq!(check(b"<svg xmlns='http://www.w3.org/2000/svg'></svg>"), Err(LogoError::NotAnImage));
        assert_eq!(check(b"GIF89a\x01\x00\x01\x00"), Err(LogoError::NotAnImage));
    }

    #[test]
    fn refuses_empty_and_oversized() {
        assert_eq!(check(b""), Err(LogoError::Empty));
        let mut big = TINY_PNG.to_vec();
        big.resize(MAX_LOGO_BYTES + 1, 0);
        assert_eq!(check(&big), Err(LogoError::TooLarge));
    }

    #[test]
    fn refuses_a_truncated_header() {
        assert_eq!(check(&TINY_PNG[..12]), Err(LogoError::NotAnImage));
    }
}
