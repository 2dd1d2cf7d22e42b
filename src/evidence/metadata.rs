//! What a photo's EXIF says about itself: capture time, GPS position, camera, orientation.
//!
//! kamadak-exif parses the TIFF structure (either byte order, IFD chains, the EXIF and GPS sub-IFDs)
//! and keeps going past broken entries; this file turns the fields into checked values. Anything
//! missing or nonsensical becomes a warning, never an error: a photo without GPS is still a photo.

use exif::{Exif, In, Reader, Tag, Value};
use time::format_description::well_known::Rfc3339;
use time::macros::offset;
use time::{Date, Month, PrimitiveDateTime, Time, UtcOffset};

use super::{Gps, PhotoWarning};

/// Vietnam's offset, assumed for cameras that record local time without one.
const VIETNAM: UtcOffset = offset!(+7);

/// Longest camera name kept; EXIF strings can be up to 64 KB of anything.
const MAX_CAMERA_CHARS: usize = 100;

/// The EXIF part of a `PhotoInfo`.
#[derive(Debug, Default)]
pub(crate) struct Metadata {
    pub taken_at: Option<String>,
    pub taken_at_offset_assumed: bool,
    pub gps: Option<Gps>,
    pub camera: Option<String>,
    pub orientation: Option<u16>,
    pub warnings: Vec<PhotoWarning>,
}

/// Reads the TIFF-structured EXIF data of an APP1 segment (`None`: the photo has none).
pub(crate) fn read(tiff: Option<&[u8]>) -> Metadata {
    let mut m = Metadata::default();
    let Some(tiff) = tiff else {
        m.warnings.push(PhotoWarning::new(
            PhotoWarning::NO_EXIF,
            "the photo has no EXIF metadata, so when and where it was taken is unknown \
             (messaging apps and editors often remove it; send the original file)",
        ));
        return m;
    };
    // A partial result (some entries broken) keeps what could be read, and the warnings below say
    // what is missing; one with no fields at all is as good as no EXIF.
    let mut first_error = None;
    let read = Reader::new()
        .continue_on_error(true)
        .read_raw(tiff.to_vec())
        .or_else(|e| e.distill_partial_result(|errors| first_error = errors.into_iter().next()));
    let read = match (read, first_error) {
        (Ok(exif), Some(e)) if exif.fields().len() == 0 => Err(e),
        (read, _) => read,
    };
    let exif = match read {
        Ok(exif) => exif,
        Err(e) => {
            m.warnings.push(PhotoWarning::new(
                PhotoWarning::NO_EXIF,
                format!(
                    "the photo's EXIF metadata cannot be read ({e}), so when and where it was \
                     taken is unknown"
                ),
            ));
            return m;
        }
    };
    read_time(&exif, &mut m);
    read_gps(&exif, &mut m);
    m.camera = camera(&exif);
    m.orientation = exif
        .get_field(Tag::Orientation, In::PRIMARY)
        .and_then(|f| f.value.get_uint(0))
        .filter(|o| (1..=8).contains(o))
        .and_then(|o| u16::try_from(o).ok());
    m
}

fn read_time(exif: &Exif, m: &mut Metadata) {
    let sources = [
        (
            Tag::DateTimeOriginal,
            Tag::SubSecTimeOriginal,
            Tag::OffsetTimeOriginal,
        ),
        (
            Tag::DateTimeDigitized,
            Tag::SubSecTimeDigitized,
            Tag::OffsetTimeDigitized,
        ),
    ];
    let Some((raw, tag, subsec, offset_tag)) = sources
        .into_iter()
        .find_map(|(t, s, o)| ascii(exif, t).map(|raw| (raw, t, s, o)))
    else {
        m.warnings.push(PhotoWarning::new(
            PhotoWarning::NO_TIME,
            "the photo's EXIF has no capture time (DateTimeOriginal), so when it was taken is \
             unknown",
        ));
        return;
    };
    let nanos = ascii(exif, subsec)
        .and_then(|s| subsec_nanos(&s))
        .unwrap_or(0);
    let Some(local) = parse_datetime(&raw, nanos) else {
        m.warnings.push(PhotoWarning::new(
            PhotoWarning::NO_TIME,
            format!(
                "the photo's EXIF {tag} {raw:?} is not a date and time (camera clock not set?)"
            ),
        ));
        return;
    };
    let offset = ascii(exif, offset_tag).and_then(|s| parse_offset(&s));
    m.taken_at = local
        .assume_offset(offset.unwrap_or(VIETNAM))
        .format(&Rfc3339)
        .ok();
    if m.taken_at.is_some() && offset.is_none() {
        m.taken_at_offset_assumed = true;
        m.warnings.push(PhotoWarning::new(
            PhotoWarning::TIME_OFFSET_ASSUMED,
            "the camera recorded local time without a UTC offset; Vietnam time (UTC+7) is assumed",
        ));
    }
}

fn read_gps(exif: &Exif, m: &mut Metadata) {
    let field = |tag| exif.get_field(tag, In::PRIMARY);
    if field(Tag::GPSLatitude).is_none() && field(Tag::GPSLongitude).is_none() {
        m.warnings.push(PhotoWarning::new(
            PhotoWarning::NO_GPS,
            "the photo has no GPS position (location was off on the camera or phone), so where it \
             was taken is unknown",
        ));
        return;
    }
    let (lon, lat) = match position(exif) {
        Ok(p) => p,
        Err(problem) => {
            m.warnings.push(PhotoWarning::new(
                PhotoWarning::GPS_INVALID,
                format!("the photo's GPS position cannot be used: {problem}"),
            ));
            return;
        }
    };
    let first = |tag| {
        field(tag)
            .and_then(|f| numbers(&f.value))
            .and_then(|v| v.first().copied())
            .filter(|x| x.is_finite())
    };
    // EXIF 3.0: 1 below sea level, 3 below the ellipsoid.
    let below = field(Tag::GPSAltitudeRef)
        .and_then(|f| f.value.get_uint(0))
        .is_some_and(|r| r == 1 || r == 3);
    m.gps = Some(Gps {
        lon,
        lat,
        altitude_m: first(Tag::GPSAltitude).map(|a| if below { -a.abs() } else { a }),
        accuracy_m: first(Tag::GPSHPositioningError).filter(|a| *a >= 0.0),
        time_utc: gps_time(exif),
    });
}

/// Longitude and latitude in degrees, or why they cannot be used.
fn position(exif: &Exif) -> Result<(f64, f64), String> {
    if ascii(exif, Tag::GPSStatus).is_some_and(|s| s.eq_ignore_ascii_case("V")) {
        return Err("GPSStatus is V (void: the receiver had no fix)".to_string());
    }
    let lat = coordinate(
        exif,
        Tag::GPSLatitude,
        Tag::GPSLatitudeRef,
        ('N', 'S'),
        90.0,
    )?;
    let lon = coordinate(
        exif,
        Tag::GPSLongitude,
        Tag::GPSLongitudeRef,
        ('E', 'W'),
        180.0,
    )?;
    if lat == 0.0 && lon == 0.0 {
        return Err("it is 0, 0 (written by a receiver without a fix)".to_string());
    }
    Ok((lon, lat))
}

/// One coordinate from degrees, minutes and seconds (each a rational) and its hemisphere reference.
fn coordinate(
    exif: &Exif,
    tag: Tag,
    ref_tag: Tag,
    (positive, negative): (char, char),
    max: f64,
) -> Result<f64, String> {
    let field = exif
        .get_field(tag, In::PRIMARY)
        .ok_or_else(|| format!("{tag} is missing"))?;
    let dms = numbers(&field.value)
        .filter(|v| (1..=3).contains(&v.len()) && v.iter().all(|x| x.is_finite() && *x >= 0.0))
        .ok_or_else(|| format!("{tag} is not degrees, minutes and seconds"))?;
    let degrees = dms
        .iter()
        .zip([1.0, 60.0, 3600.0])
        .map(|(x, d)| x / d)
        .sum::<f64>();
    if degrees > max {
        return Err(format!("{tag} {degrees:.6}° is out of range"));
    }
    let hemisphere = ascii(exif, ref_tag).and_then(|s| s.chars().next());
    match hemisphere.map(|c| c.to_ascii_uppercase()) {
        Some(c) if c == positive => Ok(degrees),
        Some(c) if c == negative => Ok(-degrees),
        Some(c) => Err(format!("{ref_tag} is {c:?}, not {positive} or {negative}")),
        None => Err(format!(
            "{ref_tag} is missing, so the hemisphere is unknown"
        )),
    }
}

/// `GPSDateStamp` + `GPSTimeStamp` as RFC 3339 UTC.
fn gps_time(exif: &Exif) -> Option<String> {
    let date = parse_date(&ascii(exif, Tag::GPSDateStamp)?)?;
    let hms = numbers(&exif.get_field(Tag::GPSTimeStamp, In::PRIMARY)?.value)?;
    let &[h, m, s] = hms.as_slice() else {
        return None;
    };
    if ![h, m, s].iter().all(|x| x.is_finite() && *x >= 0.0) || h >= 24.0 || m >= 60.0 || s >= 60.0
    {
        return None;
    }
    let nanos = ((s.fract() * 1e9).round() as u32).min(999_999_999);
    let time = Time::from_hms_nano(h as u8, m as u8, s as u8, nanos).ok()?;
    PrimitiveDateTime::new(date, time)
        .assume_utc()
        .format(&Rfc3339)
        .ok()
}

/// `Make Model`, without repeating the make when the model starts with it (`Canon Canon EOS R6`).
fn camera(exif: &Exif) -> Option<String> {
    let clean = |tag| {
        ascii(exif, tag).map(|s| {
            s.chars()
                .filter(|c| !c.is_control())
                .collect::<String>()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
    };
    let name = match (clean(Tag::Make), clean(Tag::Model)) {
        (Some(make), Some(model)) if model.to_lowercase().starts_with(&make.to_lowercase()) => {
            model
        }
        (Some(make), Some(model)) => format!("{make} {model}"),
        (make, model) => make.or(model)?,
    };
    let name: String = name.chars().take(MAX_CAMERA_CHARS).collect();
    (!name.is_empty()).then_some(name)
}

/// The first string of an ASCII field, trimmed; `None` when missing or blank (EXIF writes unknown
/// values as spaces, or as `    :  :     :  :  ` for times).
fn ascii(exif: &Exif, tag: Tag) -> Option<String> {
    let Value::Ascii(strings) = &exif.get_field(tag, In::PRIMARY)?.value else {
        return None;
    };
    let s = String::from_utf8_lossy(strings.first()?);
    let s = s.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    s.chars()
        .any(|c| c.is_alphanumeric())
        .then(|| s.to_string())
}

/// A numeric field as `f64`s; rationals with a zero denominator become infinite or NaN.
fn numbers(value: &Value) -> Option<Vec<f64>> {
    Some(match value {
        Value::Rational(v) => v.iter().map(|r| r.to_f64()).collect(),
        Value::SRational(v) => v.iter().map(|r| r.to_f64()).collect(),
        Value::Double(v) => v.clone(),
        Value::Float(v) => v.iter().map(|&x| f64::from(x)).collect(),
        Value::Short(v) => v.iter().map(|&x| f64::from(x)).collect(),
        Value::Long(v) => v.iter().map(|&x| f64::from(x)).collect(),
        _ => return None,
    })
}

/// `YYYY:MM:DD HH:MM:SS` (EXIF), also with `-` in the date or `T` before the time.
fn parse_datetime(s: &str, nanos: u32) -> Option<PrimitiveDateTime> {
    let date = parse_date(s.get(..10)?)?;
    let b = s.as_bytes();
    if !matches!(b.get(10), Some(b' ' | b'T'))
        || b.get(13) != Some(&b':')
        || b.get(16) != Some(&b':')
    {
        return None;
    }
    let time = Time::from_hms_nano(
        two_digits(s, 11)?,
        two_digits(s, 14)?,
        two_digits(s, 17)?,
        nanos,
    )
    .ok()?;
    Some(PrimitiveDateTime::new(date, time))
}

/// `YYYY:MM:DD` (EXIF) or `YYYY-MM-DD`.
fn parse_date(s: &str) -> Option<Date> {
    let b = s.as_bytes();
    let sep = *b.get(4)?;
    if !matches!(sep, b':' | b'-') || b.get(7) != Some(&sep) || s.len() != 10 {
        return None;
    }
    let year = s
        .get(..4)
        .filter(|y| y.bytes().all(|c| c.is_ascii_digit()))?;
    let month = Month::try_from(two_digits(s, 5)?).ok()?;
    Date::from_calendar_date(year.parse().ok()?, month, two_digits(s, 8)?).ok()
}

fn two_digits(s: &str, at: usize) -> Option<u8> {
    s.get(at..at + 2)
        .filter(|d| d.bytes().all(|c| c.is_ascii_digit()))?
        .parse()
        .ok()
}

/// `SubSecTime…` digits as nanoseconds (`"5"` is half a second).
fn subsec_nanos(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let digits: String = s.chars().chain(std::iter::repeat('0')).take(9).collect();
    digits.parse().ok()
}

/// `±HH:MM` (EXIF `OffsetTime…`), or `Z`.
fn parse_offset(s: &str) -> Option<UtcOffset> {
    if s == "Z" {
        return Some(UtcOffset::UTC);
    }
    let sign = match s.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    if s.len() != 6 || s.as_bytes().get(3) != Some(&b':') {
        return None;
    }
    let (h, m) = (two_digits(s, 1)?, two_digits(s, 4)?);
    if h > 14 || m > 59 {
        return None;
    }
    UtcOffset::from_hms(sign * h as i8, sign * m as i8, 0).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exif_dates_and_offsets() {
        let t = parse_datetime("2025:03:01 09:15:30", 0).expect("valid");
        assert_eq!(t.to_string(), "2025-03-01 9:15:30.0");
        assert!(parse_datetime("2025-03-01T09:15:30", 0).is_some());
        for bad in [
            "0000:00:00 00:00:00",
            "    :  :     :  :  ",
            "2025:13:01 09:15:30",
            "2025:02:30 09:15:30",
            "2025:03:01 24:00:00",
            "2025:03:01",
            "2025:03:01 9:15:30",
            "２０２５:03:01 09:15:30",
        ] {
            assert_eq!(parse_datetime(bad, 0), None, "{bad:?}");
        }
        assert_eq!(parse_offset("+07:00"), Some(offset!(+7)));
        assert_eq!(parse_offset("-05:30"), Some(offset!(-5:30)));
        assert_eq!(parse_offset("Z"), Some(UtcOffset::UTC));
        for bad in [
            "07:00",
            "+7:00",
            "+07:60",
            "+15:00",
            "   :  ",
            "+0700",
            "+07:00:00",
        ] {
            assert_eq!(parse_offset(bad), None, "{bad:?}");
        }
        assert_eq!(subsec_nanos("5"), Some(500_000_000));
        assert_eq!(subsec_nanos("123"), Some(123_000_000));
        assert_eq!(subsec_nanos("1234567891234"), Some(123_456_789));
        assert_eq!(subsec_nanos("12a"), None);
    }

    #[test]
    fn garbage_exif_is_a_warning() {
        for tiff in [
            &b""[..],
            b"II*\0",
            b"II*\0\xff\xff\xff\xff",
            b"MM\0*\0\0\0\x08\xff\xff",
        ] {
            let m = read(Some(tiff));
            assert_eq!(m.warnings.len(), 1, "{tiff:?}");
            assert_eq!(m.warnings[0].code, PhotoWarning::NO_EXIF);
            assert!(m.gps.is_none() && m.taken_at.is_none());
        }
    }
}
