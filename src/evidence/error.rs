//! Why a field photo is refused.

/// A photo that cannot be kept as evidence. Each variant has a stable [`code`](PhotoError::code) for
/// the API and a message that names the problem and the limit it broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhotoError {
    #[error(
        "the photo is {} ({size} bytes); at most {} ({max} bytes) is accepted",
        mib(*.size),
        mib(*.max)
    )]
    TooLarge { size: usize, max: usize },
    /// Not an image at all (empty, a PDF, a video, unknown bytes).
    #[error("not an image: {what}")]
    NotAnImage { what: String },
    /// An image, but not a JPEG. `hint` says how to get a JPEG from the usual source (may be empty).
    #[error("field photos must be JPEG, this is {format}{hint}")]
    UnsupportedFormat {
        format: &'static str,
        hint: &'static str,
    },
    /// Starts like a JPEG but its structure is broken or it stops early.
    #[error("the JPEG is corrupt: {reason}")]
    Corrupt { reason: String },
    #[error(
        "the photo is {width} × {height} pixels ({}); at most {} is accepted",
        mpx(u64::from(*.width) * u64::from(*.height)),
        mpx(*.max)
    )]
    TooManyPixels { width: u32, height: u32, max: u64 },
}

impl PhotoError {
    /// The stable code used in the API and the logs.
    pub fn code(&self) -> &'static str {
        match self {
            PhotoError::TooLarge { .. } => "too_large",
            PhotoError::NotAnImage { .. } => "not_an_image",
            PhotoError::UnsupportedFormat { .. } => "unsupported_format",
            PhotoError::Corrupt { .. } => "corrupt",
            PhotoError::TooManyPixels { .. } => "too_many_pixels",
        }
    }

    pub(crate) fn corrupt(reason: impl Into<String>) -> PhotoError {
        PhotoError::Corrupt {
            reason: reason.into(),
        }
    }
}

fn mib(bytes: usize) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn mpx(pixels: u64) -> String {
    format!("{:.1} Mpx", pixels as f64 / 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_limit() {
        let e = PhotoError::TooLarge {
            size: 30 * 1024 * 1024,
            max: 25 * 1024 * 1024,
        };
        assert_eq!(e.code(), "too_large");
        assert_eq!(
            e.to_string(),
            "the photo is 30.0 MiB (31457280 bytes); at most 25.0 MiB (26214400 bytes) is accepted"
        );
        let e = PhotoError::TooManyPixels {
            width: 20_000,
            height: 10_000,
            max: 100_000_000,
        };
        assert_eq!(
            e.to_string(),
            "the photo is 20000 × 10000 pixels (200.0 Mpx); at most 100.0 Mpx is accepted"
        );
        let e = PhotoError::UnsupportedFormat {
            format: "PNG",
            hint: "",
        };
        assert_eq!(e.to_string(), "field photos must be JPEG, this is PNG");
    }
}
