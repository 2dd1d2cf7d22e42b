//! Inspecting one field photo: refuse what cannot be kept as evidence, describe the rest.

use serde::Serialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{PhotoError, jpeg, metadata};

/// What `inspect` accepts. Both limits protect the server: the size bounds the upload and the hash,
/// the pixel count bounds whoever decodes the photo later (a small JPEG can claim 65535 × 65535).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhotoLimits {
    pub max_bytes: usize,
    pub max_pixels: u64,
}

impl PhotoLimits {
    /// 25 MiB: a 50 Mpx phone photo at high quality is about 15 MB.
    pub const DEFAULT_MAX_BYTES: usize = 25 * 1024 * 1024;
    /// 100 Mpx: above the largest phone and compact-camera sensors.
    pub const DEFAULT_MAX_PIXELS: u64 = 100_000_000;
}

impl Default for PhotoLimits {
    fn default() -> Self {
        PhotoLimits {
            max_bytes: Self::DEFAULT_MAX_BYTES,
            max_pixels: Self::DEFAULT_MAX_PIXELS,
        }
    }
}

/// An accepted photo: the file's facts, what its EXIF says, and what a reviewer should know.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhotoInfo {
    /// Size in pixels as stored, before the EXIF `orientation` is applied.
    pub width: u32,
    pub height: u32,
    /// SHA-256 of the file's bytes, lower-case hex: what ties a stored photo to this inspection.
    pub sha256: String,
    /// When the photo was taken (RFC 3339), from EXIF `DateTimeOriginal` (else `DateTimeDigitized`),
    /// with its sub-seconds and `OffsetTimeOriginal` when present. Cameras without an offset record
    /// local time; it is then read as Vietnam time (UTC+7), `taken_at_offset_assumed` is set and a
    /// `time_offset_assumed` warning says so.
    pub taken_at: Option<String>,
    pub taken_at_offset_assumed: bool,
    /// Where the photo was taken, when the EXIF GPS position is usable (see `gps_invalid`).
    pub gps: Option<Gps>,
    /// EXIF `Make` and `Model`, e.g. `"samsung SM-A546E"` (the make is not repeated when the model
    /// already starts with it).
    pub camera: Option<String>,
    /// EXIF orientation, 1–8 (1: as stored; 6: rotate 90° clockwise to display).
    pub orientation: Option<u16>,
    /// Why this photo is weaker evidence; the photo is kept either way. Codes are the `PhotoWarning`
    /// constants.
    pub warnings: Vec<PhotoWarning>,
}

/// A GPS position from EXIF, WGS 84 degrees (south and west negative).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gps {
    pub lon: f64,
    pub lat: f64,
    /// Metres above sea level (negative below), from `GPSAltitude` and `GPSAltitudeRef`.
    pub altitude_m: Option<f64>,
    /// Horizontal error radius in metres, from `GPSHPositioningError` (phones write it; most
    /// cameras do not).
    pub accuracy_m: Option<f64>,
    /// The GPS fix time (RFC 3339, UTC) from `GPSDateStamp` and `GPSTimeStamp`. Independent of the
    /// camera clock, but it can be minutes old when the phone reused a cached fix.
    pub time_utc: Option<String>,
}

/// Something that makes a photo weaker evidence, with a stable code and an English message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PhotoWarning {
    pub code: &'static str,
    pub message: String,
}

impl PhotoInfo {
    /// Where the photo has no usable EXIF position, takes the device's (`lon`, `lat`, its error
    /// radius) in its place, with a `gps_from_device` warning instead of `no_gps`/`no_exif`'s
    /// silence on position. A photo with its own position keeps it. Returns whether it was used.
    pub fn use_device_position(&mut self, lon: f64, lat: f64, accuracy_m: Option<f64>) -> bool {
        if self.gps.is_some() {
            return false;
        }
        self.warnings
            .retain(|w| w.code != PhotoWarning::NO_GPS && w.code != PhotoWarning::GPS_INVALID);
        self.gps = Some(Gps {
            lon,
            lat,
            altitude_m: None,
            accuracy_m,
            time_utc: None,
        });
        self.warnings.push(PhotoWarning::new(
            PhotoWarning::GPS_FROM_DEVICE,
            "the photo had no GPS position; the phone's position when it was recorded is used",
        ));
        true
    }
}

impl PhotoWarning {
    /// No EXIF block, or one that cannot be read, so no time, GPS or camera; raised alone, without
    /// `no_gps` and `no_time` beside it. Messaging apps strip EXIF.
    pub const NO_EXIF: &'static str = "no_exif";
    /// EXIF without a GPS position.
    pub const NO_GPS: &'static str = "no_gps";
    /// A GPS position that cannot be used: out of range, 0, 0, a missing N/S or E/W reference, a
    /// void fix.
    pub const GPS_INVALID: &'static str = "gps_invalid";
    /// EXIF without a capture time, or with one that is not a date (camera clock never set).
    pub const NO_TIME: &'static str = "no_time";
    /// The capture time had no UTC offset; Vietnam time (UTC+7) was assumed.
    pub const TIME_OFFSET_ASSUMED: &'static str = "time_offset_assumed";
    /// Taken farther from the plot than allowed ([`check_location`](super::check_location)).
    pub const FAR_FROM_PLOT: &'static str = "far_from_plot";
    /// The GPS error radius is larger than the allowed distance, so the position proves little.
    pub const GPS_IMPRECISE: &'static str = "gps_imprecise";
    /// Taken after the upload ([`check_time`](super::check_time)): a wrong camera clock.
    pub const TIME_IN_FUTURE: &'static str = "time_in_future";
    /// Taken before the survey flight that found the plot, so it cannot show what the team found.
    pub const TAKEN_BEFORE_FLIGHT: &'static str = "taken_before_flight";
    /// The photo carried no usable position; the phone's own GPS fix, sent with it by the field
    /// app, stands in ([`PhotoInfo::use_device_position`]): it says where the phone was when the
    /// photo went into the outbox, not what the photo itself records.
    pub const GPS_FROM_DEVICE: &'static str = "gps_from_device";

    pub(crate) fn new(code: &'static str, message: impl Into<String>) -> PhotoWarning {
        PhotoWarning {
            code,
            message: message.into(),
        }
    }
}

impl PhotoInfo {
    /// Whether a warning with this code was raised.
    pub fn has_warning(&self, code: &str) -> bool {
        self.warnings.iter().any(|w| w.code == code)
    }

    /// `taken_at` as a time value.
    pub fn taken_at_time(&self) -> Option<OffsetDateTime> {
        OffsetDateTime::parse(self.taken_at.as_deref()?, &Rfc3339).ok()
    }

    /// Replaces the warnings with these codes by `new`, so running a check again (say against an
    /// edited plot) leaves only its latest outcome.
    pub(crate) fn replace_warnings(&mut self, codes: &[&str], new: Vec<PhotoWarning>) {
        self.warnings.retain(|w| !codes.contains(&w.code));
        self.warnings.extend(new);
    }
}

/// Checks that `bytes` are a whole JPEG within `limits` and reads what its EXIF says.
///
/// Refused: over `max_bytes` (`too_large`), not an image or not a JPEG (`not_an_image`,
/// `unsupported_format`), a broken or truncated JPEG (`corrupt`), over `max_pixels`
/// (`too_many_pixels`). Pixels are never decoded: the size comes from the frame header and the
/// walk to the end-of-image marker catches truncation. Everything else, EXIF problems included,
/// is a warning.
///
/// ```
/// use vigil::evidence::{PhotoLimits, inspect};
/// let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
/// let err = inspect(png, &PhotoLimits::default()).unwrap_err();
/// assert_eq!(err.code(), "unsupported_format");
/// assert_eq!(err.to_string(), "field photos must be JPEG, this is PNG");
/// ```
pub fn inspect(bytes: &[u8], limits: &PhotoLimits) -> Result<PhotoInfo, PhotoError> {
    if bytes.len() > limits.max_bytes {
        return Err(PhotoError::TooLarge {
            size: bytes.len(),
            max: limits.max_bytes,
        });
    }
    jpeg::sniff(bytes)?;
    let jpeg = jpeg::read(bytes, limits.max_pixels)?;
    let meta = metadata::read(jpeg.exif);
    Ok(PhotoInfo {
        width: jpeg.width,
        height: jpeg.height,
        sha256: hex::encode(Sha256::digest(bytes)),
        taken_at: meta.taken_at,
        taken_at_offset_assumed: meta.taken_at_offset_assumed,
        gps: meta.gps,
        camera: meta.camera,
        orientation: meta.orientation,
        warnings: meta.warnings,
    })
}
